DROP INDEX drivers_availability_matchable_gist;
CREATE INDEX drivers_availability_matchable_gist
    ON drivers_availability USING gist (last_location)
    WHERE is_online AND is_available_for_trips
      AND availability_reason IS NULL AND current_trip_id IS NULL;
ALTER TABLE drivers_availability DROP COLUMN is_connected;
