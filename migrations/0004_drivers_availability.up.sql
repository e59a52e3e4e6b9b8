-- One row per driver: the state of `rodando_domain::availability::DriverAvailability`.
-- Every change is a compare-and-set on `version`; the domain's invariants are CHECK constraints,
-- so no bug can store a state the rules forbid.
CREATE TYPE availability_reason AS ENUM ('OFFLINE', 'ON_TRIP', 'UNAVAILABLE');

CREATE TABLE drivers_availability (
    driver_id               uuid                   NOT NULL,
    is_online               boolean                NOT NULL DEFAULT false,
    is_available_for_trips  boolean                NOT NULL DEFAULT false,
    availability_reason     availability_reason    NULL DEFAULT 'OFFLINE',
    last_location           geography(Point, 4326) NULL,
    last_location_timestamp timestamptz            NULL,
    current_trip_id         uuid                   NULL,
    current_vehicle_id      uuid                   NULL,
    last_online_timestamp   timestamptz            NULL,
    last_presence_timestamp timestamptz            NULL,
    updated_at              timestamptz            NOT NULL DEFAULT now(),
    version                 bigint                 NOT NULL DEFAULT 0,
    CONSTRAINT drivers_availability_pkey PRIMARY KEY (driver_id),
    CONSTRAINT drivers_availability_driver_id_fkey
        FOREIGN KEY (driver_id) REFERENCES users (id) ON DELETE CASCADE,
    -- Two drivers never hold the same trip (mapped to CasError::TripHeldByAnother).
    CONSTRAINT drivers_availability_current_trip_id_key UNIQUE (current_trip_id),
    CONSTRAINT drivers_availability_version_check CHECK (version >= 0),
    -- A position always has its timestamp (domain `Position`).
    CONSTRAINT drivers_availability_location_check
        CHECK ((last_location IS NULL) = (last_location_timestamp IS NULL)),
    -- available ⇒ online ∧ no trip ∧ reason null
    CONSTRAINT drivers_availability_available_check CHECK (
        NOT is_available_for_trips
        OR (is_online AND current_trip_id IS NULL AND availability_reason IS NULL)
    ),
    -- offline ⇒ not available ∧ reason OFFLINE
    CONSTRAINT drivers_availability_offline_check CHECK (
        is_online
        OR (NOT is_available_for_trips AND availability_reason IS NOT DISTINCT FROM 'OFFLINE')
    ),
    -- trip set ⇒ online ∧ not available ∧ reason ON_TRIP
    CONSTRAINT drivers_availability_trip_check CHECK (
        current_trip_id IS NULL
        OR (is_online AND NOT is_available_for_trips
            AND availability_reason IS NOT DISTINCT FROM 'ON_TRIP')
    ),
    -- online ∧ not available ⇒ reason ∈ (ON_TRIP, UNAVAILABLE)
    CONSTRAINT drivers_availability_busy_check CHECK (
        NOT is_online OR is_available_for_trips
        OR (availability_reason IS NOT NULL AND availability_reason IN ('ON_TRIP', 'UNAVAILABLE'))
    )
);

-- Every stored position (admin map queries, ad-hoc spatial questions).
CREATE INDEX drivers_availability_last_location_gist
    ON drivers_availability USING gist (last_location);

-- The drivers dispatch may match: the nearest-driver query (ST_DWithin + KNN `<->`) walks only
-- this small index.
CREATE INDEX drivers_availability_matchable_gist
    ON drivers_availability USING gist (last_location)
    WHERE is_online AND is_available_for_trips
      AND availability_reason IS NULL AND current_trip_id IS NULL;

-- The presence sweeper: online drivers holding no trip, oldest presence first.
CREATE INDEX drivers_availability_sweepable_idx
    ON drivers_availability (last_presence_timestamp NULLS FIRST)
    WHERE is_online AND current_trip_id IS NULL;

-- An admin's first paint: every online driver.
CREATE INDEX drivers_availability_online_idx
    ON drivers_availability (driver_id)
    WHERE is_online;
