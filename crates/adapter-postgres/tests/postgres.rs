//! What only the PostgreSQL store has: start-up errors, reversible migrations, invariants as
//! CHECK constraints and named unique indexes, corrupt rows refused when read, and a
//! nearest-driver query that walks the GiST index. The behaviour it
//! shares with the memory store is in `conformance.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration as StdDuration, Instant};

use rodando_adapter_postgres::{MIGRATOR, PgStartError, PgStore};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{DriverId, OfferId, PassengerId, TripId};
use rodando_ports::availability::{AvailabilityRepository, NearestQuery};
use rodando_ports::health::HealthCheck;
use rodando_ports::trips::{TripRepository, TripStandingLookup};
use sqlx::Row;
use support::{ScratchDatabase, with_fresh_store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00.123456 UTC);

/// Up to `limit` drivers within `radius_m` of Parque Central at `NOW`.
fn near_parque_central(radius_m: f64, limit: usize, freshness: Duration) -> NearestQuery {
    NearestQuery {
        origin: parque_central(),
        radius_m,
        limit,
        now: NOW,
        freshness,
        exclude: Vec::new(),
    }
}

fn parque_central() -> GeoPoint {
    GeoPoint::from_degrees(23.1377, -82.3595).unwrap()
}

#[tokio::test]
async fn an_unreachable_server_fails_fast_with_a_clear_message() {
    let started = Instant::now();

    let error = PgStore::connect("postgres://postgres@127.0.0.1:1/test", 2)
        .await
        .unwrap_err();

    let message = error.to_string();
    assert!(
        matches!(error, PgStartError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(
        message.starts_with("cannot reach PostgreSQL at 127.0.0.1:1 (")
            && message.ends_with("): is it running?"),
        "{message}"
    );
    assert!(!message.contains('\n'));
    assert!(started.elapsed() < StdDuration::from_secs(6));
}

#[tokio::test]
async fn a_refused_connection_and_a_bad_url_are_reported_as_such() {
    let db = ScratchDatabase::create().await;
    let missing = db.options().database("rodando_no_such_database");
    db.drop().await;

    let refused = PgStore::connect_with(missing, 2).await.unwrap_err();
    assert!(
        matches!(refused, PgStartError::Refused { .. }),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("does not exist"), "{refused}");

    let bad = PgStore::connect("postgres://postgres@localhost:not-a-port/x", 2)
        .await
        .unwrap_err();
    assert!(matches!(bad, PgStartError::InvalidUrl(_)), "{bad:?}");
}

#[test]
fn a_missing_postgis_names_the_package_for_the_server_version() {
    let message = PgStartError::PostgisMissing { major: 15 }.to_string();
    assert_eq!(
        message,
        "the PostGIS extension is not available in this PostgreSQL: install the Debian package \
         postgresql-15-postgis-3"
    );
}

#[tokio::test]
async fn migrations_are_reversible_and_connecting_again_is_harmless() {
    let db = ScratchDatabase::create().await;
    let store = db.store().await;
    let tables = "SELECT ARRAY[to_regclass('users') IS NOT NULL, \
                  to_regclass('sessions') IS NOT NULL, \
                  to_regclass('drivers_availability') IS NOT NULL, \
                  to_regclass('trips') IS NOT NULL, to_regclass('trip_offers') IS NOT NULL]";
    let present: Vec<bool> = sqlx::query_scalar(tables)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(present, [true; 5]);

    MIGRATOR.undo(store.pool(), 0).await.unwrap();
    let gone: Vec<bool> = sqlx::query_scalar(tables)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(gone, [false; 5]);
    store.close().await;

    let again = db.store().await;
    let back: Vec<bool> = sqlx::query_scalar(tables)
        .fetch_one(again.pool())
        .await
        .unwrap();
    assert_eq!(back, [true; 5]);
    let twice = db.store().await;
    twice.check().await.unwrap();
    again.close().await;
    twice.close().await;
    db.drop().await;
}

/// Each availability invariant is a named CHECK constraint: a row breaking exactly one of them
/// is refused with that name, whoever writes it.
#[tokio::test]
async fn rows_breaking_an_availability_invariant_cannot_be_stored() {
    with_fresh_store(|store| async move {
        let driver = driver_row(&store).await;
        let cases = [
            (
                "is_online = true, is_available_for_trips = true, availability_reason = 'UNAVAILABLE'",
                "drivers_availability_available_check",
            ),
            (
                "is_online = false, availability_reason = 'UNAVAILABLE'",
                "drivers_availability_offline_check",
            ),
            (
                "is_online = true, availability_reason = 'UNAVAILABLE', current_trip_id = gen_random_uuid()",
                "drivers_availability_trip_check",
            ),
            (
                "is_online = true, availability_reason = NULL",
                "drivers_availability_busy_check",
            ),
            (
                "last_location = ST_SetSRID(ST_MakePoint(-82.3, 23.1), 4326)::geography",
                "drivers_availability_location_check",
            ),
        ];
        for (set, constraint) in cases {
            let sql = format!("UPDATE drivers_availability SET {set} WHERE driver_id = $1");
            let error = sqlx::query(&sql)
                .bind(driver.as_uuid())
                .execute(store.pool())
                .await
                .unwrap_err();
            let db_error = error.as_database_error().unwrap();
            assert_eq!(db_error.constraint(), Some(constraint), "{set}: {error}");
        }
    })
    .await;
}

/// A row that breaks an invariant (possible only by hand) is an error when read, never a
/// domain value.
#[tokio::test]
async fn a_corrupt_row_is_refused_when_read() {
    with_fresh_store(|store| async move {
        let driver = driver_row(&store).await;
        sqlx::query(
            "ALTER TABLE drivers_availability DROP CONSTRAINT drivers_availability_busy_check",
        )
        .execute(store.pool())
        .await
        .unwrap();
        sqlx::query(
            "UPDATE drivers_availability SET is_online = true, availability_reason = NULL \
             WHERE driver_id = $1",
        )
        .bind(driver.as_uuid())
        .execute(store.pool())
        .await
        .unwrap();

        let error = AvailabilityRepository::find(&store, driver)
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("corrupt drivers_availability row"),
            "{error}"
        );
        assert!(store.list_online().await.is_err());
    })
    .await;
}

/// The trip and offer columns with a closed set of values are CHECK constraints, and the
/// one-active-trip and one-open-offer rules are the partial unique indexes the store maps to
/// typed errors (their names are part of the code).
#[tokio::test]
async fn trip_and_offer_rows_outside_the_domain_cannot_be_stored() {
    with_fresh_store(|store| async move {
        let (trip, driver) = trip_row(&store).await;
        let cases = [
            ("trips", "status = 'teleporting'", "trips_status_check"),
            ("trips", "payment_method = 'barter'", "trips_payment_method_check"),
            ("trips", "currency = 'cu1'", "trips_currency_check"),
            ("trips", "cancelled_by = 'robot'", "trips_cancelled_by_check"),
            ("trips", "idempotency_key = 'k'", "trips_idempotency_check"),
            ("trip_offers", "status = 'maybe'", "trip_offers_status_check"),
        ];
        for (table, set, constraint) in cases {
            let key = if table == "trips" { "id" } else { "trip_id" };
            let sql = format!("UPDATE {table} SET {set} WHERE {key} = $1");
            let error = sqlx::query(&sql)
                .bind(trip)
                .execute(store.pool())
                .await
                .unwrap_err();
            let db_error = error.as_database_error().unwrap();
            assert_eq!(db_error.constraint(), Some(constraint), "{set}: {error}");
        }

        let index_of = |sql: &'static str| {
            let pool = store.pool().clone();
            async move {
                let error = sqlx::query(sql)
                    .bind(trip)
                    .bind(driver)
                    .execute(&pool)
                    .await
                    .unwrap_err();
                error
                    .as_database_error()
                    .and_then(|e| e.constraint())
                    .map(str::to_owned)
            }
        };
        let second_trip = index_of(
            "INSERT INTO trips (id, passenger_id, status, pickup, dropoff, payment_method, \
               fare_estimate_cents, currency, requested_at) \
             SELECT gen_random_uuid(), passenger_id, 'in_progress', pickup, dropoff, \
               payment_method, fare_estimate_cents, currency, requested_at \
             FROM trips WHERE id = $1 AND $2::uuid IS NOT NULL",
        );
        assert_eq!(
            second_trip.await.as_deref(),
            Some("trips_one_active_per_passenger")
        );
        let second_offer = index_of(
            "INSERT INTO trip_offers (id, trip_id, driver_id, status, distance_to_pickup_m, \
               offered_at, expires_at) VALUES (gen_random_uuid(), $1, $2, 'offered', 1, now(), now())",
        );
        assert_eq!(
            second_offer.await.as_deref(),
            Some("trip_offers_one_open_per_trip")
        );
    })
    .await;
}

/// A trip or offer row the domain refuses (possible only by hand) is an error when read, never
/// a domain value.
#[tokio::test]
async fn a_corrupt_trip_or_offer_row_is_refused_when_read() {
    with_fresh_store(|store| async move {
        let (trip, _) = trip_row(&store).await;
        let trip_id = TripId::from_uuid(trip);
        let offer: Uuid = sqlx::query_scalar("SELECT id FROM trip_offers WHERE trip_id = $1")
            .bind(trip)
            .fetch_one(store.pool())
            .await
            .unwrap();
        for sql in [
            "ALTER TABLE trips DROP CONSTRAINT trips_status_check",
            "ALTER TABLE trip_offers DROP CONSTRAINT trip_offers_status_check",
            "UPDATE trips SET pickup_address = repeat('x', 301) WHERE id = $1",
            "UPDATE trip_offers SET status = 'pondering' WHERE trip_id = $1",
        ] {
            sqlx::query(sql)
                .bind(trip)
                .execute(store.pool())
                .await
                .unwrap();
        }

        let error = TripRepository::find(&store, trip_id).await.unwrap_err();
        assert!(error.to_string().contains("corrupt trips row"), "{error}");
        let error = store
            .find_offer(OfferId::from_uuid(offer))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("corrupt trip_offers row"),
            "{error}"
        );
        assert!(store.offers_for_trip(trip_id).await.is_err());

        sqlx::query("UPDATE trips SET pickup_address = NULL, status = 'lost' WHERE id = $1")
            .bind(trip)
            .execute(store.pool())
            .await
            .unwrap();
        assert!(store.standing(trip_id).await.is_err());
        assert!(TripRepository::find(&store, trip_id).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn the_health_check_fails_once_the_pool_is_closed() {
    with_fresh_store(|store| async move {
        store.check().await.unwrap();
        store.close().await;
        assert!(store.check().await.is_err());
    })
    .await;
}

/// Runs `statement`, a bulk insert of a fixture, with [`NOW`] as `$1`.
async fn at_now(store: &PgStore, statement: &str) {
    sqlx::query(statement)
        .bind(NOW)
        .execute(store.pool())
        .await
        .unwrap();
}

/// Refreshes the planner's statistics of `table` after a bulk insert, as autovacuum would.
async fn analyze(store: &PgStore, table: &str) {
    sqlx::query(&format!("ANALYZE {table}"))
        .execute(store.pool())
        .await
        .unwrap();
}

/// With 5,000 drivers around Havana, the nearest-driver query is an index scan of the partial
/// GiST index (KNN order, `ST_DWithin` as index condition), and its answer is exactly the one
/// haversine gives when measuring every driver.
#[tokio::test]
async fn the_nearest_query_walks_the_gist_index_and_agrees_with_haversine() {
    with_fresh_store(|store| async move {
        at_now(
            &store,
            "INSERT INTO users (id, email, name, user_type, password_hash, created_at) \
             SELECT gen_random_uuid(), 'd' || g || '@rodando.test', 'Driver ' || g, 'driver', \
                    'x', $1 FROM generate_series(1, 5000) AS g",
        )
        .await;
        // A third available, the others paused; one in seven without a socket (not matchable);
        // positions over a 90 km x 45 km box.
        at_now(
            &store,
            "INSERT INTO drivers_availability (driver_id, is_online, is_available_for_trips, \
               availability_reason, last_location, last_location_timestamp, \
               last_online_timestamp, last_presence_timestamp, updated_at, version, \
               is_connected) \
             SELECT id, true, n % 3 = 0, \
                    CASE WHEN n % 3 = 0 THEN NULL ELSE 'UNAVAILABLE'::availability_reason END, \
                    ST_SetSRID(ST_MakePoint(-82.8 + random() * 0.9, 22.9 + random() * 0.4), \
                               4326)::geography, \
                    $1, $1, $1, $1, 0, n % 7 <> 0 \
             FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users) AS u",
        )
        .await;
        analyze(&store, "drivers_availability").await;
        let freshness = Duration::seconds(120);
        let radius = 5_000.0;

        // The matchable GiST index is walked in distance order (KNN) and the scan stops at the
        // limit, whether few or many drivers are within the radius.
        for radius_m in [radius, 60_000.0] {
            let plan = store
                .explain_nearest_available(&near_parque_central(radius_m, 5, freshness))
                .await
                .unwrap();
            println!("EXPLAIN nearest_available within {radius_m} m:\n{plan}");
            assert!(
                plan.contains("Index Scan using drivers_availability_matchable_gist"),
                "{plan}"
            );
            assert!(plan.contains("Order By: (last_location <-> "), "{plan}");
            assert!(
                !plan.contains("Seq Scan") && !plan.contains("Sort"),
                "{plan}"
            );
        }

        let mut everyone: Vec<(f64, DriverId)> = sqlx::query(
            "SELECT driver_id, ST_Y(last_location::geometry), ST_X(last_location::geometry) \
             FROM drivers_availability WHERE is_available_for_trips AND is_connected",
        )
        .fetch_all(store.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            let at = GeoPoint::from_degrees(row.get(1), row.get(2)).unwrap();
            let id: Uuid = row.get(0);
            (parque_central().distance_m(&at), DriverId::from_uuid(id))
        })
        .filter(|(d, _)| *d <= radius)
        .collect();
        everyone.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(
            everyone.len() >= 8,
            "too few drivers near: {}",
            everyone.len()
        );
        let expected: Vec<DriverId> = everyone.iter().take(8).map(|(_, id)| *id).collect();

        let found = store
            .nearest_available(&near_parque_central(radius, 8, freshness))
            .await
            .unwrap();
        let ids: Vec<DriverId> = found.iter().map(|n| n.driver_id).collect();
        assert_eq!(ids, expected);
        for (n, (d, _)) in found.iter().zip(&everyone) {
            assert!((n.distance_m - d).abs() < 0.01, "{} vs {d}", n.distance_m);
        }
    })
    .await;
}

/// A pending trip of a new passenger with one open offer to a new driver: (trip id, driver id).
async fn trip_row(store: &PgStore) -> (Uuid, Uuid) {
    let passenger = Uuid::new_v4();
    let driver = Uuid::new_v4();
    for (id, kind) in [(passenger, "passenger"), (driver, "driver")] {
        sqlx::query(
            "INSERT INTO users (id, email, name, user_type, password_hash) \
             VALUES ($1, $1::text || '@rodando.test', 'Someone', $2, 'x')",
        )
        .bind(id)
        .bind(kind)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let trip = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO trips (id, passenger_id, status, pickup, dropoff, payment_method, \
           fare_estimate_cents, currency, requested_at) \
         VALUES ($1, $2, 'assigning', ST_SetSRID(ST_MakePoint(-82.3595, 23.1377), 4326)::geography, \
           ST_SetSRID(ST_MakePoint(-82.3814, 23.1429), 4326)::geography, 'cash', 500, 'CUP', $3)",
    )
    .bind(trip)
    .bind(passenger)
    .bind(NOW)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO trip_offers (id, trip_id, driver_id, status, distance_to_pickup_m, \
           offered_at, expires_at) VALUES (gen_random_uuid(), $1, $2, 'offered', 250, $3, $3)",
    )
    .bind(trip)
    .bind(driver)
    .bind(NOW)
    .execute(store.pool())
    .await
    .unwrap();
    (trip, driver)
}

/// A driver user with an OFFLINE availability row.
async fn driver_row(store: &PgStore) -> DriverId {
    let id = DriverId::from_uuid(Uuid::new_v4());
    sqlx::query(
        "INSERT INTO users (id, email, name, user_type, password_hash) \
         VALUES ($1, $1::text || '@rodando.test', 'Driver', 'driver', 'x')",
    )
    .bind(id.as_uuid())
    .execute(store.pool())
    .await
    .unwrap();
    store.load_or_create(id, NOW).await.unwrap();
    id
}

/// With 30,000 trips of 300 passengers and 100 drivers (a tenth in flight), every trip list —
/// each scope, each status filter, first page or later — walks an index backwards from its
/// boundary and stops at the limit: no sequential scan and no sort of the history.
#[tokio::test]
async fn every_trip_list_walks_an_index_from_its_boundary() {
    use rodando_domain::trip_list::{TripFilter, TripKey, TripListQuery, TripScope};

    with_fresh_store(|store| async move {
        at_now(
            &store,
            "INSERT INTO users (id, email, name, user_type, password_hash, created_at) \
             SELECT gen_random_uuid(), 'u' || g || '@rodando.test', 'User ' || g, \
                    CASE WHEN g <= 300 THEN 'passenger' ELSE 'driver' END, 'x', $1 \
             FROM generate_series(1, 400) AS g",
        )
        .await;
        // Trip n of passenger n % 300 (its latest one in flight for a tenth of them), driven by
        // driver n % 100 unless still waiting, with the step times its status implies (the
        // store reads trips back through Trip::restore).
        at_now(
            &store,
            "WITH p AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM users \
                        WHERE user_type = 'passenger'), \
                  d AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM users \
                        WHERE user_type = 'driver'), \
                  t AS (SELECT p.id AS passenger, \
                               CASE WHEN n % 300 < 10 AND n >= 29700 THEN NULL ELSE d.id END \
                                 AS driver, \
                               CASE WHEN n < 29700 THEN 'completed' \
                                    WHEN n % 300 < 10 THEN 'assigning' \
                                    WHEN n % 300 < 30 THEN 'in_progress' ELSE 'completed' END \
                                 AS status, \
                               $1 - make_interval(secs => 30000 - n) AS at \
                        FROM generate_series(0, 29999) AS n \
                        JOIN p ON p.i = n % 300 JOIN d ON d.i = n % 100) \
             INSERT INTO trips (id, passenger_id, driver_id, status, pickup, dropoff, \
                                payment_method, fare_estimate_cents, currency, requested_at, \
                                accepted_at, started_at, completed_at, fare_total_cents) \
             SELECT gen_random_uuid(), passenger, driver, status, \
                    ST_SetSRID(ST_MakePoint(-82.36, 23.13), 4326)::geography, \
                    ST_SetSRID(ST_MakePoint(-82.38, 23.14), 4326)::geography, \
                    'cash', 700, 'CUP', at, \
                    CASE WHEN driver IS NOT NULL THEN at END, \
                    CASE WHEN driver IS NOT NULL THEN at END, \
                    CASE WHEN status = 'completed' THEN at END, \
                    CASE WHEN status = 'completed' THEN 700 END \
             FROM t",
        )
        .await;
        analyze(&store, "trips").await;
        let someone: Uuid = sqlx::query_scalar(
            "SELECT passenger_id FROM trips WHERE status = 'in_progress' LIMIT 1",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        let a_driver: Uuid =
            sqlx::query_scalar("SELECT driver_id FROM trips WHERE driver_id IS NOT NULL LIMIT 1")
                .fetch_one(store.pool())
                .await
                .unwrap();
        let (someone, a_driver) = (
            PassengerId::from_uuid(someone),
            DriverId::from_uuid(a_driver),
        );
        let boundary = TripKey {
            requested_at: NOW - Duration::hours(2),
            id: TripId::from_uuid(Uuid::from_u128(u128::MAX / 2)),
        };

        for (scope, index) in [
            (
                TripScope::Passenger(someone),
                "trips_passenger_requested_idx",
            ),
            (TripScope::Driver(a_driver), "trips_driver_requested_idx"),
            (TripScope::Everyone, "trips_requested_idx"),
        ] {
            for filter in TripFilter::ALL {
                for after in [None, Some(boundary)] {
                    let query = TripListQuery {
                        scope,
                        filter,
                        after,
                        limit: 21,
                    };
                    let plan = store.explain_trip_list(&query).await.unwrap();
                    println!("EXPLAIN list {scope:?} {filter:?} after {after:?}:\n{plan}");
                    assert!(!plan.contains("Seq Scan"), "{plan}");
                    assert!(plan.starts_with("Limit"), "{plan}");
                    match (scope, filter) {
                        // Everyone's trips in flight: the partial index of active trips.
                        (TripScope::Everyone, TripFilter::Active) => assert!(
                            plan.contains("Index Scan Backward using trips_active_requested_idx"),
                            "{plan}"
                        ),
                        // A passenger's or a driver's trips in flight (one at most) may come
                        // from the one-active-trip-per-passenger index too, leaving a row or two
                        // to order.
                        (TripScope::Passenger(_) | TripScope::Driver(_), TripFilter::Active) => {
                            assert!(plan.contains("Index Scan"), "{plan}");
                        }
                        _ => {
                            assert!(
                                plan.contains(&format!("Index Scan Backward using {index}")),
                                "{plan}"
                            );
                            assert!(!plan.contains("Sort"), "{plan}");
                        }
                    }
                    let few = filter == TripFilter::Active && scope != TripScope::Everyone;
                    if after.is_some() && !few {
                        // The boundary is an index condition, not a filter over skipped rows.
                        assert!(
                            plan.contains("Index Cond:")
                                && plan.contains("ROW(requested_at, id) <"),
                            "{plan}"
                        );
                    }
                }
            }
        }

        // And the answers agree with the order: newest first, pages that follow each other.
        let first = store
            .list(&TripListQuery {
                scope: TripScope::Everyone,
                filter: TripFilter::All,
                after: None,
                limit: 50,
            })
            .await
            .unwrap();
        let second = store
            .list(&TripListQuery {
                scope: TripScope::Everyone,
                filter: TripFilter::All,
                after: first.last().map(TripKey::of),
                limit: 50,
            })
            .await
            .unwrap();
        let keys: Vec<TripKey> = first.iter().chain(&second).map(TripKey::of).collect();
        assert_eq!(keys.len(), 100);
        assert!(keys.windows(2).all(|w| w[1].is_after(&w[0])), "{keys:?}");
    })
    .await;
}
