-- Trips and their offers ("assignments"): the state of `rodando_domain::trip::Trip` and
-- `rodando_domain::offer::Offer`. Dispatch changes them only through guarded statements
-- (`WHERE status = expected`, `WHERE status = 'offered'`) inside one transaction per step; the
-- rules that must hold whatever the concurrency are the partial unique indexes below, whose
-- names the store maps to typed errors.
CREATE TABLE trips (
    id                      uuid                   NOT NULL,
    passenger_id            uuid                   NOT NULL,
    driver_id               uuid                   NULL,
    status                  text                   NOT NULL,
    pickup                  geography(Point, 4326) NOT NULL,
    pickup_address          text                   NULL,
    dropoff                 geography(Point, 4326) NOT NULL,
    dropoff_address         text                   NULL,
    payment_method          text                   NOT NULL,
    fare_estimate_cents     bigint                 NOT NULL,
    fare_total_cents        bigint                 NULL,
    currency                char(3)                NOT NULL,
    requested_at            timestamptz            NOT NULL,
    accepted_at             timestamptz            NULL,
    arrived_pickup_at       timestamptz            NULL,
    started_at              timestamptz            NULL,
    completed_at            timestamptz            NULL,
    cancelled_at            timestamptz            NULL,
    cancelled_by            text                   NULL,
    end_reason              text                   NULL,
    idempotency_key         text                   NULL,
    idempotency_fingerprint text                   NULL,
    CONSTRAINT trips_pkey PRIMARY KEY (id),
    CONSTRAINT trips_passenger_id_fkey FOREIGN KEY (passenger_id) REFERENCES users (id),
    CONSTRAINT trips_driver_id_fkey FOREIGN KEY (driver_id) REFERENCES users (id),
    CONSTRAINT trips_status_check CHECK (status IN ('pending', 'assigning', 'accepted',
        'arriving', 'in_progress', 'completed', 'cancelled', 'no_drivers_found')),
    CONSTRAINT trips_payment_method_check CHECK (payment_method IN ('cash', 'card')),
    CONSTRAINT trips_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT trips_cancelled_by_check
        CHECK (cancelled_by IN ('passenger', 'driver', 'admin', 'system')),
    -- A key is always stored with the fingerprint of the request that used it first.
    CONSTRAINT trips_idempotency_check
        CHECK ((idempotency_key IS NULL) = (idempotency_fingerprint IS NULL))
);

-- A passenger has at most one active trip (mapped to CreateTripError::ActiveTripExists). The
-- list is `TripStatus::is_active`.
CREATE UNIQUE INDEX trips_one_active_per_passenger ON trips (passenger_id)
    WHERE status IN ('pending', 'assigning', 'accepted', 'arriving', 'in_progress');

-- `Idempotency-Key` of `POST /api/trips`, per passenger: the arbiter of the request's
-- `INSERT … ON CONFLICT DO NOTHING`.
CREATE UNIQUE INDEX trips_idempotency_key ON trips (passenger_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- A passenger's and a driver's trips, newest first (history, the foreign keys' checks).
CREATE INDEX trips_passenger_id_idx ON trips (passenger_id, requested_at);
CREATE INDEX trips_driver_id_idx ON trips (driver_id, requested_at) WHERE driver_id IS NOT NULL;

CREATE TABLE trip_offers (
    id                   uuid             NOT NULL,
    trip_id              uuid             NOT NULL,
    driver_id            uuid             NOT NULL,
    status               text             NOT NULL,
    distance_to_pickup_m double precision NOT NULL,
    offered_at           timestamptz      NOT NULL,
    expires_at           timestamptz      NOT NULL,
    closed_at            timestamptz      NULL,
    reason               text             NULL,
    CONSTRAINT trip_offers_pkey PRIMARY KEY (id),
    CONSTRAINT trip_offers_trip_id_fkey FOREIGN KEY (trip_id) REFERENCES trips (id),
    CONSTRAINT trip_offers_driver_id_fkey FOREIGN KEY (driver_id) REFERENCES users (id),
    CONSTRAINT trip_offers_status_check
        CHECK (status IN ('offered', 'accepted', 'rejected', 'expired', 'cancelled'))
);

-- One open offer per trip and one per driver (DispatchConflict::TripHasOpenOffer and
-- ::DriverHasOpenOffer). Created in this order on purpose: PostgreSQL checks unique indexes in
-- creation (OID) order, so an offer breaking both is reported as the trip's first, as the port
-- orders its guards.
CREATE UNIQUE INDEX trip_offers_one_open_per_trip ON trip_offers (trip_id)
    WHERE status = 'offered';
CREATE UNIQUE INDEX trip_offers_one_open_per_driver ON trip_offers (driver_id)
    WHERE status = 'offered';

-- Every offer of a trip, oldest first.
CREATE INDEX trip_offers_trip_id_idx ON trip_offers (trip_id, offered_at);

-- The expiry scanner: open offers, earliest deadline first.
CREATE INDEX trip_offers_due_idx ON trip_offers (expires_at) WHERE status = 'offered';
