-- Whether the driver holds a socket on some node (domain `AvailabilityRecord::is_connected`).
-- Only a connected driver can hear an offer, so the matchable index is rebuilt with it. Rows
-- start disconnected: a driver's next admitted socket marks it connected.
ALTER TABLE drivers_availability ADD COLUMN is_connected boolean NOT NULL DEFAULT false;

DROP INDEX drivers_availability_matchable_gist;
CREATE INDEX drivers_availability_matchable_gist
    ON drivers_availability USING gist (last_location)
    WHERE is_online AND is_available_for_trips AND is_connected
      AND availability_reason IS NULL AND current_trip_id IS NULL;
