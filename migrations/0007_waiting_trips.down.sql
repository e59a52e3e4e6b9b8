DROP INDEX trips_waiting_idx;
