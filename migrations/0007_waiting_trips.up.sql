-- The dispatch scheduler's scan (TripRepository::unattended): trips still waiting for a driver,
-- oldest request first. A small set at any moment, whatever the history.
CREATE INDEX trips_waiting_idx ON trips (requested_at, id)
    WHERE status IN ('pending', 'assigning');
