CREATE INDEX trips_passenger_id_idx ON trips (passenger_id, requested_at);
CREATE INDEX trips_driver_id_idx ON trips (driver_id, requested_at) WHERE driver_id IS NOT NULL;
DROP INDEX trips_driver_requested_idx;
DROP INDEX trips_passenger_requested_idx;
DROP INDEX trips_active_requested_idx;
DROP INDEX trips_requested_idx;
