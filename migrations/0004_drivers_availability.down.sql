DROP TABLE IF EXISTS drivers_availability;
DROP TYPE IF EXISTS availability_reason;
