-- Trip lists (GET /api/trips, admin:trips:snapshot): newest request first, keyset-paged on
-- (requested_at, id). Each list walks one of these indexes backwards from the page boundary and
-- stops at the limit, whatever the history holds.

-- Everyone's trips (admins), any status or finished ones.
CREATE INDEX trips_requested_idx ON trips (requested_at, id);

-- Everyone's trips in flight (admin:trips:snapshot, status=active): a small set at any moment.
-- The predicate is `TripStatus::is_active`, as in trips_one_active_per_passenger.
CREATE INDEX trips_active_requested_idx ON trips (requested_at, id)
    WHERE status IN ('pending', 'assigning', 'accepted', 'arriving', 'in_progress');

-- A passenger's and a driver's own trips. They replace the (…, requested_at) indexes of 0005,
-- which they cover (the foreign keys' checks included) and which cannot break ties by id.
CREATE INDEX trips_passenger_requested_idx ON trips (passenger_id, requested_at, id);
CREATE INDEX trips_driver_requested_idx ON trips (driver_id, requested_at, id)
    WHERE driver_id IS NOT NULL;
DROP INDEX trips_passenger_id_idx;
DROP INDEX trips_driver_id_idx;
