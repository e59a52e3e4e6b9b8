//! What a trip store keeps and gives back: every field to the microsecond, one active trip per
//! passenger, idempotent requests (also under races), and the standing the availability rules read.

use rodando_domain::availability::TripStanding;
use rodando_domain::fare::Cents;
use rodando_domain::ids::{AdminId, DriverId, OfferId, TripId};
use rodando_domain::trip::{Actor, ActorKind, PaymentMethod, Place, Trip};
use rodando_ports::trips::{CreateTripError, Idempotency};
use time::Duration;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::*;
use crate::Ports;
use crate::fixtures::{T0, at, available_driver_at, free_driver, havana, new_passenger, ok, point};

/// A trip reads back exactly as stored at each step of its life — places to full precision,
/// addresses, payment, fares, currency, driver and every microsecond timestamp — and so do
/// cancelled and abandoned trips with who and why.
pub async fn a_trip_round_trips_every_field_through_its_life(ports: Ports) {
    let passenger = new_passenger(&ports).await;
    let driver = free_driver(&ports).await;
    let us = Duration::microseconds;
    let trip = Trip::request(
        TripId::from_uuid(Uuid::new_v4()),
        passenger,
        ok(Place::new(
            point((23.113_612_345_678_9, -82.366_598_765_432_1)),
            Some("  Calle Obispo nº 152, Habana Vieja  "),
        )),
        place(havana::AIRPORT, Some("Terminal 3 — salidas")),
        PaymentMethod::Card,
        Cents(98_765),
        currency("usd"),
        T0 + us(1),
    );

    let created = ok(ports.trips.create(&trip, None).await);
    assert_eq!(created, trip);
    assert_eq!(trip_of(&ports, trip.id()).await, trip);

    let assigning = ok(trip.start_assigning());
    let arriving = ok(ok(assigning.accept(driver, T0 + us(2))).begin_arriving());
    let arrived = ok(arriving.arrive(Actor::Driver(driver), T0 + us(999_999)));
    let started = ok(arrived.start(Actor::Driver(driver), at(60) + us(3)));
    let completed = ok(started.complete(Actor::Driver(driver), Cents(123_456), at(3_600) + us(4)));
    let mut current = trip;
    for next in [assigning, arriving, arrived, started, completed] {
        write(&ports, moving(&current, next.clone())).await;
        assert_eq!(trip_of(&ports, next.id()).await, next);
        current = next;
    }
    assert_eq!(ok(ports.trips.active_for_passenger(passenger).await), None);

    let second = ok(ports
        .trips
        .create(&requested(passenger, at(4_000)), None)
        .await);
    let reason = Some("cambio de planes: llueve \u{1F327}".to_owned());
    let cancelled = ok(second.cancel(Actor::Passenger(passenger), reason, at(4_001) + us(5)));
    write(&ports, moving(&second, cancelled.clone())).await;
    assert_eq!(trip_of(&ports, second.id()).await, cancelled);
    assert_eq!(cancelled.cancelled_by(), Some(ActorKind::Passenger));

    let third = ok(ports
        .trips
        .create(&requested(passenger, at(5_000)), None)
        .await);
    let abandoned = ok(third.give_up("max_offers_reached", at(5_100) + us(6)));
    write(&ports, moving(&third, abandoned.clone())).await;
    assert_eq!(trip_of(&ports, third.id()).await, abandoned);

    let admin_cancelled = ok(ports
        .trips
        .create(&requested(passenger, at(6_000)), None)
        .await);
    let by_admin = ok(admin_cancelled.cancel(
        Actor::Admin(AdminId::from_uuid(Uuid::new_v4())),
        None,
        at(6_001),
    ));
    write(&ports, moving(&admin_cancelled, by_admin.clone())).await;
    assert_eq!(trip_of(&ports, by_admin.id()).await, by_admin);
}

/// Unknown ids: no trip, no offer, no offers of the trip, no active trip, nothing due, no
/// driver with an open offer.
pub async fn unknown_trips_and_offers_are_not_found(ports: Ports) {
    let passenger = new_passenger(&ports).await;
    let trip = TripId::from_uuid(Uuid::new_v4());
    assert_eq!(ok(ports.trips.find(trip).await), None);
    assert_eq!(
        ok(ports
            .trips
            .find_offer(OfferId::from_uuid(Uuid::new_v4()))
            .await),
        None
    );
    assert!(ok(ports.trips.offers_for_trip(trip).await).is_empty());
    assert_eq!(ok(ports.trips.active_for_passenger(passenger).await), None);
    assert!(ok(ports.trips.due_offers(at(1_000_000), 10).await).is_empty());
    let unknown_driver = DriverId::from_uuid(Uuid::new_v4());
    assert_eq!(ok(ports.trips.open_offer_of(unknown_driver).await), None);
}

/// While a passenger's trip is pending, assigning, accepted, arriving or in progress, a second
/// one is refused (`ActiveTripExists`) and not stored; a completed, cancelled or abandoned trip
/// does not count; other passengers are not affected.
pub async fn a_passenger_has_at_most_one_active_trip(ports: Ports) {
    let passenger = new_passenger(&ports).await;
    let driver = free_driver(&ports).await;
    let first = ok(ports.trips.create(&requested(passenger, T0), None).await);

    let assigning = ok(first.start_assigning());
    let accepted = ok(assigning.accept(driver, at(1)));
    let arriving = ok(accepted.begin_arriving());
    let started = ok(arriving.start(Actor::Driver(driver), at(2)));
    let completed = ok(started.complete(Actor::Driver(driver), Cents(900), at(3)));
    let mut current = first.clone();
    for next in [assigning, accepted, arriving, started, completed] {
        let second = requested(passenger, at(1));
        let refused = ports.trips.create(&second, None).await;
        assert!(
            matches!(refused, Err(CreateTripError::ActiveTripExists)),
            "while {}: {refused:?}",
            current.status().as_str()
        );
        assert_eq!(ok(ports.trips.find(second.id()).await), None);
        assert_eq!(
            ok(ports.trips.active_for_passenger(passenger).await),
            Some(current.clone())
        );
        write(&ports, moving(&current, next.clone())).await;
        current = next;
    }
    assert_eq!(ok(ports.trips.active_for_passenger(passenger).await), None);

    let other = new_passenger(&ports).await;
    let theirs = ok(ports.trips.create(&requested(other, at(4)), None).await);

    let ends: [Ending; 2] = [
        |t| t.cancel(Actor::System, None, at(6)),
        |t| t.give_up("no_candidates", at(6)),
    ];
    for end in ends {
        let next = ok(ports.trips.create(&requested(passenger, at(5)), None).await);
        assert_eq!(
            ok(ports.trips.active_for_passenger(passenger).await),
            Some(next.clone())
        );
        write(&ports, moving(&next, ok(end(&next)))).await;
        assert_eq!(ok(ports.trips.active_for_passenger(passenger).await), None);
    }
    assert_eq!(
        ok(ports.trips.active_for_passenger(other).await),
        Some(theirs)
    );
}

/// Twenty simultaneous requests of one passenger (no idempotency key): one is stored, the
/// others are `ActiveTripExists`.
pub async fn of_concurrent_requests_of_one_passenger_exactly_one_is_stored(ports: Ports) {
    let passenger = new_passenger(&ports).await;
    let mut racers = JoinSet::new();
    for i in 0..20 {
        let ports = ports.clone();
        racers.spawn(async move {
            let trip = requested(passenger, at(i));
            (trip.clone(), ports.trips.create(&trip, None).await)
        });
    }
    let mut stored = Vec::new();
    while let Some(joined) = racers.join_next().await {
        match ok(joined) {
            (trip, Ok(created)) => {
                assert_eq!(created, trip);
                stored.push(trip);
            }
            (_, Err(CreateTripError::ActiveTripExists)) => {}
            (_, Err(e)) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        ok(ports.trips.active_for_passenger(passenger).await),
        stored.pop()
    );
}

/// A request whose idempotency key the passenger used before returns the trip stored then (as
/// it is now) and stores nothing; the same key with another fingerprint is
/// `IdempotencyMismatch`; keys are per passenger; a new key still meets the active-trip rule.
pub async fn a_replayed_idempotency_key_returns_the_first_trip_and_another_body_is_refused(
    ports: Ports,
) {
    let passenger = new_passenger(&ports).await;
    let key = |fingerprint: &str| {
        Some(Idempotency {
            key: "4f8c1a2e-key".to_owned(),
            fingerprint: fingerprint.to_owned(),
        })
    };
    let first = requested(passenger, T0);
    assert_eq!(
        ok(ports.trips.create(&first, key("sha256:aaa")).await),
        first
    );

    let replay = requested(passenger, at(1));
    assert_eq!(
        ok(ports.trips.create(&replay, key("sha256:aaa")).await),
        first
    );
    assert_eq!(ok(ports.trips.find(replay.id()).await), None);

    let changed = requested(passenger, at(2));
    let mismatch = ports.trips.create(&changed, key("sha256:bbb")).await;
    assert!(
        matches!(mismatch, Err(CreateTripError::IdempotencyMismatch)),
        "{mismatch:?}"
    );
    assert_eq!(ok(ports.trips.find(changed.id()).await), None);

    let other_key = Some(Idempotency {
        key: "another-key".to_owned(),
        fingerprint: "sha256:aaa".to_owned(),
    });
    let busy = ports
        .trips
        .create(&requested(passenger, at(3)), other_key)
        .await;
    assert!(
        matches!(busy, Err(CreateTripError::ActiveTripExists)),
        "{busy:?}"
    );

    let other = new_passenger(&ports).await;
    let theirs = requested(other, at(4));
    assert_eq!(
        ok(ports.trips.create(&theirs, key("sha256:ccc")).await),
        theirs
    );

    // Once the first trip has ended, a replay returns it as it is now.
    let cancelled = ok(first.cancel(Actor::Passenger(passenger), None, at(5)));
    write(&ports, moving(&first, cancelled.clone())).await;
    assert_eq!(
        ok(ports
            .trips
            .create(&requested(passenger, at(6)), key("sha256:aaa"))
            .await),
        cancelled
    );
    assert_eq!(ok(ports.trips.active_for_passenger(passenger).await), None);
}

/// Simultaneous requests with one key and one body store one trip, and every one of them
/// returns it (50 rounds of 8 racers: the window where two requests both pass the key check
/// before either is stored is narrow, but real).
pub async fn concurrent_requests_with_one_idempotency_key_store_one_trip(ports: Ports) {
    for _ in 0..50 {
        let passenger = new_passenger(&ports).await;
        let mut racers = JoinSet::new();
        for i in 0..8 {
            let ports = ports.clone();
            racers.spawn(async move {
                let idempotency = Idempotency {
                    key: "double-tap".to_owned(),
                    fingerprint: "sha256:same-body".to_owned(),
                };
                let trip = requested(passenger, at(i));
                let created = ports.trips.create(&trip, Some(idempotency)).await;
                (trip, created)
            });
        }
        let mut returned = Vec::new();
        let mut candidates = Vec::new();
        while let Some(joined) = racers.join_next().await {
            let (trip, created) = ok(joined);
            candidates.push(trip.id());
            returned.push(ok(created));
        }
        let Some(stored) = ok(ports.trips.active_for_passenger(passenger).await) else {
            panic!("no trip stored");
        };
        assert!(returned.iter().all(|t| *t == stored), "{returned:?}");
        for id in candidates.into_iter().filter(|id| *id != stored.id()) {
            assert_eq!(ok(ports.trips.find(id).await), None);
        }
    }
}

/// A stored trip is `Dispatched`, with its driver once assigned, active until completed,
/// cancelled or abandoned; an unknown one is `External`.
pub async fn the_standing_of_a_trip_follows_its_driver_and_status(ports: Ports) {
    let unknown = TripId::from_uuid(Uuid::new_v4());
    assert_eq!(
        ok(ports.standings.standing(unknown).await),
        TripStanding::External
    );
    let trip = stored_trip(&ports).await;
    assert_eq!(
        ok(ports.standings.standing(trip.id()).await),
        TripStanding::Dispatched {
            assigned_to: None,
            active: true
        }
    );

    let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    let accept = accept_write(&ports, &assigning, &open, at(2)).await;
    write(&ports, accept.clone()).await;
    let Some(arriving) = accept.trip.map(|t| t.next) else {
        panic!("no trip in the accept write");
    };
    let started = ok(arriving.start(Actor::Driver(driver), at(3)));
    write(&ports, moving(&arriving, started.clone())).await;
    assert_eq!(
        ok(ports.standings.standing(trip.id()).await),
        TripStanding::Dispatched {
            assigned_to: Some(driver),
            active: true
        }
    );

    let completed = ok(started.complete(Actor::Driver(driver), Cents(700), at(4)));
    write(&ports, moving(&started, completed)).await;
    assert_eq!(
        ok(ports.standings.standing(trip.id()).await),
        TripStanding::Dispatched {
            assigned_to: Some(driver),
            active: false
        }
    );

    let abandoned_trip = stored_trip(&ports).await;
    let abandoned = ok(abandoned_trip.give_up("no_candidates", at(5)));
    write(&ports, moving(&abandoned_trip, abandoned)).await;
    assert_eq!(
        ok(ports.standings.standing(abandoned_trip.id()).await),
        TripStanding::Dispatched {
            assigned_to: None,
            active: false
        }
    );
    // The availability rules read it: a driver cannot be given a finished dispatched trip.
    let late = available_driver_at(&ports, havana::MORRO, at(6)).await;
    let state = availability_of(&ports, late).await.state;
    let standing = ok(ports.standings.standing(abandoned_trip.id()).await);
    assert!(
        state
            .set_trip(abandoned_trip.id(), standing, TripStanding::External, at(7))
            .is_err()
    );
}
