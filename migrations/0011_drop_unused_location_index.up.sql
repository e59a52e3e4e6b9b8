-- Nothing reads the GiST index of every stored position: dispatch walks the partial index of
-- matchable drivers, the admin snapshot reads online drivers by id. Yet every written-behind
-- batch moves each driver's entry in it (a position change is never a HOT update), about a
-- fifth of the batch's cost per row (docs/benchmarks.md, "PostgreSQL store").
DROP INDEX drivers_availability_last_location_gist;
