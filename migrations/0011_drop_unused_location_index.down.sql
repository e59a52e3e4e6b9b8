CREATE INDEX drivers_availability_last_location_gist
    ON drivers_availability USING gist (last_location);
