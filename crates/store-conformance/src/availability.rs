//! [`AvailabilityRepository`](rodando_ports::availability::AvailabilityRepository) writes and
//! listings: race-free creation, compare-and-set (no lost update, one holder per trip), the
//! presence sweeper's list and the admin's list. The nearest-driver query is in
//! [`crate::nearest`].

use rodando_domain::availability::{
    AvailabilityReason, AvailabilityRecord, DriverAvailability, Position, StatusCommand,
    TripStanding,
};
use rodando_domain::ids::{DriverId, TripId, VehicleId};
use rodando_ports::availability::{CasError, Versioned};
use time::Duration;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::Ports;
use crate::fixtures::{
    T0, apply, at, driver_in, fix, havana, is_stale, new_driver, ok, point, set_status, status,
};

async fn stored(ports: &Ports, driver: DriverId) -> Versioned {
    match ok(ports.availability.find(driver).await) {
        Some(v) => v,
        None => panic!("no availability for {driver}"),
    }
}

fn take_trip(
    trip: TripId,
    now: time::OffsetDateTime,
) -> impl FnOnce(&DriverAvailability) -> DriverAvailability {
    move |s| match s.set_trip(trip, TripStanding::External, TripStanding::External, now) {
        Ok(next) => next,
        Err(e) => panic!("set_trip refused: {e}"),
    }
}

/// A new driver holding a trip since `T0`.
async fn driver_on_a_trip(ports: &Ports) -> DriverId {
    let driver = new_driver(ports).await;
    let trip = TripId::from_uuid(Uuid::new_v4());
    apply(ports, driver, T0, take_trip(trip, T0)).await;
    driver
}

/// A new driver whose availability row exists and says offline.
async fn offline_driver(ports: &Ports) -> DriverId {
    let driver = new_driver(ports).await;
    ok(ports.availability.load_or_create(driver, T0).await);
    driver
}

fn restore(record: AvailabilityRecord) -> DriverAvailability {
    match DriverAvailability::restore(record) {
        Ok(state) => state,
        Err(e) => panic!("fixture breaks an invariant: {e}"),
    }
}

/// First use creates the driver OFFLINE at version 0; later calls return the stored row
/// unchanged, whatever their `now`.
pub async fn load_or_create_starts_offline_at_version_zero_and_is_idempotent(ports: Ports) {
    let driver = new_driver(&ports).await;

    let created = ok(ports.availability.load_or_create(driver, T0).await);
    assert_eq!(
        created,
        Versioned {
            state: DriverAvailability::new_offline(driver, T0),
            version: 0
        }
    );

    let again = ok(ports.availability.load_or_create(driver, at(5)).await);
    assert_eq!(again, created);
    assert_eq!(stored(&ports, driver).await, created);
}

/// Fifty first calls at once create one row: every call returns the same state at version 0.
pub async fn concurrent_first_loads_create_exactly_one_row(ports: Ports) {
    let driver = new_driver(&ports).await;
    let mut racers = JoinSet::new();
    for i in 0..50 {
        let ports = ports.clone();
        racers.spawn(async move { ports.availability.load_or_create(driver, at(i)).await });
    }
    let mut seen = Vec::new();
    while let Some(joined) = racers.join_next().await {
        seen.push(ok(ok(joined)));
    }
    let stored = stored(&ports, driver).await;
    assert_eq!(stored.version, 0);
    assert!(
        seen.iter().all(|v| *v == stored),
        "calls saw different rows"
    );
    assert_eq!(seen.len(), 50);
}

/// `find` answers `None` for a driver never stored.
pub async fn an_unknown_driver_is_not_found(ports: Ports) {
    let driver = new_driver(&ports).await;
    assert_eq!(ok(ports.availability.find(driver).await), None);
    assert!(ok(ports.availability.list_online().await).is_empty());
}

/// A compare-and-set at the stored version writes the state and returns the version plus one.
pub async fn compare_and_set_writes_and_increments_the_version(ports: Ports) {
    let driver = new_driver(&ports).await;
    let v0 = ok(ports.availability.load_or_create(driver, T0).await);

    let online = v0
        .state
        .set_status(StatusCommand::Available, TripStanding::External, at(1));
    let online = ok(online);
    let v1 = ok(ports.availability.compare_and_set(0, &online).await);
    assert_eq!(v1, 1);
    assert_eq!(
        stored(&ports, driver).await,
        Versioned {
            state: online.clone(),
            version: 1
        }
    );

    let pinged = online.record_location(&fix(havana::CAPITOLIO), at(2));
    assert_eq!(ok(ports.availability.compare_and_set(1, &pinged).await), 2);
    assert_eq!(
        stored(&ports, driver).await,
        Versioned {
            state: pinged,
            version: 2
        }
    );
}

/// A compare-and-set at an old (or future) version, or for a driver with no row, is `Stale` and
/// writes nothing.
pub async fn a_stale_compare_and_set_writes_nothing(ports: Ports) {
    let driver = new_driver(&ports).await;
    let first = apply(&ports, driver, T0, status(StatusCommand::Busy, at(1))).await;

    let late = first
        .state
        .set_status(StatusCommand::Offline, TripStanding::External, at(2));
    let late = ok(late);
    assert!(is_stale(
        &ports.availability.compare_and_set(0, &late).await
    ));
    assert!(is_stale(
        &ports.availability.compare_and_set(7, &late).await
    ));
    assert!(is_stale(
        &ports.availability.compare_and_set(u64::MAX, &late).await
    ));
    assert_eq!(stored(&ports, driver).await, first);

    let never_loaded = new_driver(&ports).await;
    let ghost = DriverAvailability::new_offline(never_loaded, T0);
    assert!(is_stale(
        &ports.availability.compare_and_set(0, &ghost).await
    ));
    assert_eq!(ok(ports.availability.find(never_loaded).await), None);
}

/// A second driver setting a held trip gets `TripHeldByAnother` and nothing is written; the
/// holder may write the same trip again.
pub async fn two_drivers_cannot_hold_one_trip(ports: Ports) {
    let trip = TripId::from_uuid(Uuid::new_v4());
    let holder = new_driver(&ports).await;
    let other = new_driver(&ports).await;
    set_status(&ports, holder, StatusCommand::Available, T0).await;
    apply(&ports, holder, at(1), take_trip(trip, at(1))).await;
    let before = set_status(&ports, other, StatusCommand::Available, T0).await;

    let stolen =
        ok(before
            .state
            .set_trip(trip, TripStanding::External, TripStanding::External, at(2)));
    let result = ports
        .availability
        .compare_and_set(before.version, &stolen)
        .await;

    assert!(
        matches!(result, Err(CasError::TripHeldByAnother)),
        "{result:?}"
    );
    assert_eq!(stored(&ports, other).await, before);
    let held = stored(&ports, holder).await;
    assert_eq!(held.state.current_trip_id, Some(trip));
    let ping = held.state.record_location(&fix(havana::MORRO), at(3));
    assert_eq!(
        ok(ports
            .availability
            .compare_and_set(held.version, &ping)
            .await),
        held.version + 1
    );
}

/// A trip cleared by its holder, or dropped when the holder goes OFFLINE, can be taken by another
/// driver.
pub async fn a_released_trip_can_be_taken_by_another_driver(ports: Ports) {
    let (a, b) = (new_driver(&ports).await, new_driver(&ports).await);
    let first_trip = TripId::from_uuid(Uuid::new_v4());
    let second_trip = TripId::from_uuid(Uuid::new_v4());
    set_status(&ports, a, StatusCommand::Available, T0).await;
    set_status(&ports, b, StatusCommand::Available, T0).await;

    apply(&ports, a, at(1), take_trip(first_trip, at(1))).await;
    apply(&ports, a, at(2), |s| {
        ok(s.clear_trip(TripStanding::External, at(2)))
    })
    .await;
    let taken = apply(&ports, b, at(3), take_trip(first_trip, at(3))).await;
    assert_eq!(taken.state.current_trip_id, Some(first_trip));

    apply(&ports, a, at(4), take_trip(second_trip, at(4))).await;
    let offline = set_status(&ports, a, StatusCommand::Offline, at(5)).await;
    assert_eq!(offline.state.current_trip_id, None);
    apply(&ports, b, at(6), |s| {
        ok(s.clear_trip(TripStanding::External, at(6)))
    })
    .await;
    let retaken = apply(&ports, b, at(7), take_trip(second_trip, at(7))).await;
    assert_eq!(retaken.state.current_trip_id, Some(second_trip));
}

/// Fifty writers each load, apply a distinct ping and compare-and-set, retrying when stale: every
/// write lands once, versions 2..=51 are each won by exactly one writer, and the last winner's
/// ping is what is stored.
pub async fn concurrent_read_apply_write_loops_lose_no_update(ports: Ports) {
    let driver = new_driver(&ports).await;
    let start = set_status(&ports, driver, StatusCommand::Available, T0).await;
    assert_eq!(start.version, 1);
    let mut writers = JoinSet::new();
    for i in 0..50_i64 {
        let ports = ports.clone();
        writers.spawn(async move {
            let lat = havana::PARQUE_CENTRAL.0 + 0.0001 * i as f64;
            let ping = fix((lat, havana::PARQUE_CENTRAL.1));
            loop {
                let current = ok(ports.availability.load_or_create(driver, T0).await);
                let next = current.state.record_location(&ping, at(10 + i));
                match ports
                    .availability
                    .compare_and_set(current.version, &next)
                    .await
                {
                    Ok(version) => return (version, next),
                    Err(CasError::Stale) => tokio::task::yield_now().await,
                    Err(e) => panic!("writer {i}: {e:?}"),
                }
            }
        });
    }
    let mut won = Vec::new();
    while let Some(joined) = writers.join_next().await {
        won.push(ok(joined));
    }
    won.sort_by_key(|(version, _)| *version);
    let versions: Vec<u64> = won.iter().map(|(v, _)| *v).collect();
    assert_eq!(versions, (2..=51).collect::<Vec<u64>>());
    let last = won
        .pop()
        .map(|(version, state)| Versioned { state, version });
    assert_eq!(Some(stored(&ports, driver).await), last);
}

/// Stale means online, holding no trip, and silent for at least the TTL (or never heard from);
/// the list is oldest presence first (unknown first) and cut at the limit.
pub async fn list_stale_follows_the_ttl_skips_trips_and_lists_oldest_first_within_the_limit(
    ports: Ports,
) {
    let ttl = Duration::seconds(110);
    let now = at(120);
    let busy_since = |seconds| status(StatusCommand::Busy, at(seconds));
    let oldest = new_driver(&ports).await;
    apply(&ports, oldest, T0, busy_since(0)).await;
    let at_ttl = new_driver(&ports).await;
    apply(&ports, at_ttl, T0, busy_since(10)).await;
    let fresh = new_driver(&ports).await;
    apply(&ports, fresh, T0, busy_since(11)).await;
    driver_on_a_trip(&ports).await;
    offline_driver(&ports).await;
    let never_heard = new_driver(&ports).await;
    let silent = restore(AvailabilityRecord {
        is_online: true,
        availability_reason: Some(AvailabilityReason::Unavailable),
        last_presence_at: None,
        ..DriverAvailability::new_offline(never_heard, T0).into_record()
    });
    ok(ports.availability.load_or_create(never_heard, T0).await);
    ok(ports.availability.compare_and_set(0, &silent).await);

    let stale = ok(ports.availability.list_stale(now, ttl, 10).await);
    let expected = vec![
        stored(&ports, never_heard).await,
        stored(&ports, oldest).await,
        stored(&ports, at_ttl).await,
    ];
    assert_eq!(stale, expected);

    let first_two = ok(ports.availability.list_stale(now, ttl, 2).await);
    assert_eq!(first_two.as_slice(), expected.get(..2).unwrap_or_default());
    assert!(ok(ports.availability.list_stale(now, ttl, 0).await).is_empty());
    let later = ok(ports.availability.list_stale(at(121), ttl, 10).await);
    assert_eq!(later.len(), 4, "a second later the fresh one is stale too");
}

/// Every online driver (available, busy or on a trip), ordered by driver id; offline ones are not
/// listed.
pub async fn list_online_lists_every_online_driver_by_id(ports: Ports) {
    let available = driver_in(&ports, StatusCommand::Available, T0).await;
    let busy = driver_in(&ports, StatusCommand::Busy, T0).await;
    let on_trip = driver_on_a_trip(&ports).await;
    offline_driver(&ports).await;
    let went_offline = driver_in(&ports, StatusCommand::Available, T0).await;
    set_status(&ports, went_offline, StatusCommand::Offline, at(1)).await;

    let mut ids = vec![available, busy, on_trip];
    ids.sort();
    let mut expected = Vec::new();
    for id in ids {
        expected.push(stored(&ports, id).await.state);
    }
    assert_eq!(ok(ports.availability.list_online().await), expected);
}

/// Every field, including the vehicle, the position to full precision and microsecond
/// timestamps, reads back exactly as written, from `find` and from the lists.
pub async fn availability_round_trips_every_field(ports: Ports) {
    let driver = new_driver(&ports).await;
    let full = restore(AvailabilityRecord {
        driver_id: driver,
        is_online: true,
        is_available_for_trips: false,
        availability_reason: Some(AvailabilityReason::OnTrip),
        last_location: Some(Position {
            point: point((23.113_612_345_678_9, -82.366_598_765_432_1)),
            at: T0 + Duration::microseconds(1),
        }),
        current_trip_id: Some(TripId::from_uuid(Uuid::new_v4())),
        current_vehicle_id: Some(VehicleId::from_uuid(Uuid::new_v4())),
        last_online_at: Some(T0 - Duration::hours(2) + Duration::microseconds(999_999)),
        last_presence_at: Some(T0 + Duration::microseconds(2)),
        is_connected: true,
        updated_at: T0 + Duration::microseconds(3),
    });
    ok(ports.availability.load_or_create(driver, T0).await);

    assert_eq!(ok(ports.availability.compare_and_set(0, &full).await), 1);

    assert_eq!(
        stored(&ports, driver).await,
        Versioned {
            state: full.clone(),
            version: 1
        }
    );
    assert_eq!(
        ok(ports.availability.list_online().await),
        vec![full.clone()]
    );

    let paused = restore(AvailabilityRecord {
        availability_reason: Some(AvailabilityReason::Unavailable),
        current_trip_id: None,
        last_presence_at: Some(T0 - Duration::days(1)),
        is_connected: false,
        ..full.into_record()
    });
    ok(ports.availability.compare_and_set(1, &paused).await);
    let stale = ok(ports
        .availability
        .list_stale(T0, Duration::hours(1), 5)
        .await);
    assert_eq!(
        stale,
        vec![Versioned {
            state: paused.clone(),
            version: 2
        }]
    );

    let available = restore(AvailabilityRecord {
        is_available_for_trips: true,
        availability_reason: None,
        ..paused.into_record()
    });
    ok(ports.availability.compare_and_set(2, &available).await);
    assert_eq!(
        stored(&ports, driver).await,
        Versioned {
            state: available,
            version: 3
        }
    );
}

/// A trip this server never dispatched is `External`.
pub async fn an_unknown_trip_is_external(ports: Ports) {
    let trip = TripId::from_uuid(Uuid::new_v4());
    assert_eq!(
        ok(ports.standings.standing(trip).await),
        TripStanding::External
    );
}

/// The store's readiness check answers, under the name `store`.
pub async fn the_health_check_answers(ports: Ports) {
    assert_eq!(ports.health.name(), "store");
    ok(ports.health.check().await);
}
