//! [`TripRepository`](rodando_ports::trips::TripRepository): trips and offers stored to the
//! microsecond, one active trip per passenger, idempotent requests, and dispatch's
//! all-or-nothing writes — every guard in the port's order, nothing written when one fails,
//! one winner among concurrent writers. Also the
//! [`TripStandingLookup`](rodando_ports::trips::TripStandingLookup) the availability rules use.

use rodando_domain::availability::TripStanding;
use rodando_domain::fare::{Cents, Currency};
use rodando_domain::ids::{DriverId, OfferId, TripId, UserId};
use rodando_domain::offer::{Offer, OfferStatus};
use rodando_domain::trip::{Actor, PaymentMethod, Place, Trip, TripError, TripStatus};
use rodando_ports::availability::Versioned;
use rodando_ports::trips::{
    AvailabilityChange, CreateTripError, DispatchConflict, DispatchWrite, Idempotency,
    TripTransition,
};
use time::{Duration, OffsetDateTime};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::Ports;
use crate::fixtures::{
    T0, apply, at, available_driver_at, fix, free_driver, havana, new_passenger, ok, point,
};

/// A way a trip ends early (cancelled, abandoned).
type Ending = fn(&Trip) -> Result<Trip, TripError>;

/// How long a driver has to answer, in these cases.
const TTL: Duration = Duration::seconds(20);

/// A pending trip of `passenger` requested at `now`, from Parque Central to Hotel Nacional.
pub(crate) fn requested(passenger: UserId, now: OffsetDateTime) -> Trip {
    Trip::request(
        TripId::from_uuid(Uuid::new_v4()),
        passenger,
        place(havana::PARQUE_CENTRAL, Some("Paseo del Prado y San Rafael")),
        place(havana::HOTEL_NACIONAL, None),
        PaymentMethod::Cash,
        Cents(1_234),
        currency("CUP"),
        now,
    )
}

fn place(at: (f64, f64), address: Option<&str>) -> Place {
    ok(Place::new(point(at), address))
}

fn currency(code: &str) -> Currency {
    ok(Currency::parse(code))
}

/// A new passenger's trip, stored.
pub(crate) async fn stored_trip(ports: &Ports) -> Trip {
    let passenger = new_passenger(ports).await;
    let trip = requested(passenger, T0);
    ok(ports.trips.create(&trip, None).await)
}

/// An open offer of `trip` to `driver`, made `seconds` after `T0`.
pub(crate) fn offer(trip: &Trip, driver: DriverId, seconds: i64) -> Offer {
    Offer::new(
        OfferId::from_uuid(Uuid::new_v4()),
        trip.id,
        driver,
        812.5,
        at(seconds),
        TTL,
    )
}

/// A trip change guarded by its current status.
pub(crate) fn transition(current: &Trip, next: Trip) -> Option<TripTransition> {
    Some(TripTransition {
        expected: current.status,
        next,
    })
}

/// Dispatch's first step: the pending trip becomes assigning and is offered to `driver`.
/// Returns the trip and the offer as stored.
pub(crate) async fn offered(
    ports: &Ports,
    trip: &Trip,
    driver: DriverId,
    seconds: i64,
) -> (Trip, Offer) {
    let next = ok(trip.start_assigning());
    let offer = offer(trip, driver, seconds);
    write(
        ports,
        DispatchWrite {
            trip: transition(trip, next.clone()),
            new_offer: Some(offer.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    (next, offer)
}

/// Stores `offer`, closed by the caller, in a write of its own.
pub(crate) async fn close(ports: &Ports, offer: Offer) -> Offer {
    write(
        ports,
        DispatchWrite {
            offer: Some(offer.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    offer
}

/// A write that must succeed; returns the withdrawn offers.
pub(crate) async fn write(ports: &Ports, write: DispatchWrite) -> Vec<Offer> {
    match ports.trips.apply(&write).await {
        Ok(withdrawn) => withdrawn,
        Err(e) => panic!("dispatch write failed: {e:?}"),
    }
}

/// A write that must fail; returns why.
pub(crate) async fn refused(ports: &Ports, write: DispatchWrite) -> DispatchConflict {
    match ports.trips.apply(&write).await {
        Ok(withdrawn) => panic!("dispatch write succeeded (withdrew {withdrawn:?})"),
        Err(e) => e,
    }
}

pub(crate) async fn trip_of(ports: &Ports, id: TripId) -> Trip {
    match ok(ports.trips.find(id).await) {
        Some(t) => t,
        None => panic!("trip {id} is gone"),
    }
}

async fn offer_of(ports: &Ports, id: OfferId) -> Offer {
    match ok(ports.trips.find_offer(id).await) {
        Some(o) => o,
        None => panic!("offer {id} is gone"),
    }
}

async fn availability_of(ports: &Ports, driver: DriverId) -> Versioned {
    match ok(ports.availability.find(driver).await) {
        Some(v) => v,
        None => panic!("no availability for {driver}"),
    }
}

/// Everything the application writes when `offer`'s driver accepts it at `now`: the offer
/// accepted, the trip accepted then arriving, the driver holding the trip, other open offers
/// withdrawn.
async fn accept_write(
    ports: &Ports,
    trip: &Trip,
    offer: &Offer,
    now: OffsetDateTime,
) -> DispatchWrite {
    let driver = offer.driver_id;
    let accepted = ok(offer.accept(driver, now));
    let arriving = ok(ok(trip.accept(driver, now)).begin_arriving());
    let row = ok(ports.availability.load_or_create(driver, now).await);
    let mine = TripStanding::Dispatched {
        assigned_to: Some(driver),
        active: true,
    };
    let on_trip = ok(row
        .state
        .set_trip(trip.id, mine, TripStanding::External, now));
    DispatchWrite {
        trip: transition(trip, arriving),
        offer: Some(accepted),
        availability: Some(AvailabilityChange {
            expected_version: row.version,
            next: on_trip,
        }),
        withdraw_open_offers_at: Some(now),
        ..DispatchWrite::default()
    }
}

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
    assert_eq!(trip_of(&ports, trip.id).await, trip);

    let assigning = ok(trip.start_assigning());
    let arriving = ok(ok(assigning.accept(driver, T0 + us(2))).begin_arriving());
    let arrived = ok(arriving.arrive(Actor::Driver(driver), T0 + us(999_999)));
    let started = ok(arrived.start(Actor::Driver(driver), at(60) + us(3)));
    let completed = ok(started.complete(Actor::Driver(driver), Cents(123_456), at(3_600) + us(4)));
    let mut current = trip;
    for next in [assigning, arriving, arrived, started, completed] {
        write(
            &ports,
            DispatchWrite {
                trip: transition(&current, next.clone()),
                ..DispatchWrite::default()
            },
        )
        .await;
        assert_eq!(trip_of(&ports, next.id).await, next);
        current = next;
    }
    assert_eq!(ok(ports.trips.active_for_passenger(passenger).await), None);

    let second = ok(ports
        .trips
        .create(&requested(passenger, at(4_000)), None)
        .await);
    let reason = Some("cambio de planes: llueve \u{1F327}".to_owned());
    let cancelled = ok(second.cancel(Actor::Passenger(passenger), reason, at(4_001) + us(5)));
    write(
        &ports,
        DispatchWrite {
            trip: transition(&second, cancelled.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert_eq!(trip_of(&ports, second.id).await, cancelled);
    assert_eq!(cancelled.cancelled_by, Some("passenger"));

    let third = ok(ports
        .trips
        .create(&requested(passenger, at(5_000)), None)
        .await);
    let abandoned = ok(third.give_up("max_offers_reached", at(5_100) + us(6)));
    write(
        &ports,
        DispatchWrite {
            trip: transition(&third, abandoned.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert_eq!(trip_of(&ports, third.id).await, abandoned);

    let admin_cancelled = ok(ports
        .trips
        .create(&requested(passenger, at(6_000)), None)
        .await);
    let by_admin = ok(admin_cancelled.cancel(Actor::Admin(passenger), None, at(6_001)));
    write(
        &ports,
        DispatchWrite {
            trip: transition(&admin_cancelled, by_admin.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert_eq!(trip_of(&ports, by_admin.id).await, by_admin);
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
            current.status.as_str()
        );
        assert_eq!(ok(ports.trips.find(second.id).await), None);
        assert_eq!(
            ok(ports.trips.active_for_passenger(passenger).await),
            Some(current.clone())
        );
        write(
            &ports,
            DispatchWrite {
                trip: transition(&current, next.clone()),
                ..DispatchWrite::default()
            },
        )
        .await;
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
        write(
            &ports,
            DispatchWrite {
                trip: transition(&next, ok(end(&next))),
                ..DispatchWrite::default()
            },
        )
        .await;
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
    assert_eq!(ok(ports.trips.find(replay.id).await), None);

    let changed = requested(passenger, at(2));
    let mismatch = ports.trips.create(&changed, key("sha256:bbb")).await;
    assert!(
        matches!(mismatch, Err(CreateTripError::IdempotencyMismatch)),
        "{mismatch:?}"
    );
    assert_eq!(ok(ports.trips.find(changed.id).await), None);

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
    write(
        &ports,
        DispatchWrite {
            trip: transition(&first, cancelled.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
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
            candidates.push(trip.id);
            returned.push(ok(created));
        }
        let Some(stored) = ok(ports.trips.active_for_passenger(passenger).await) else {
            panic!("no trip stored");
        };
        assert!(returned.iter().all(|t| *t == stored), "{returned:?}");
        for id in candidates.into_iter().filter(|id| *id != stored.id) {
            assert_eq!(ok(ports.trips.find(id).await), None);
        }
    }
}

/// A write with nothing in it succeeds and withdraws nothing.
pub async fn an_empty_write_changes_nothing(ports: Ports) {
    assert!(write(&ports, DispatchWrite::default()).await.is_empty());
    let trip = stored_trip(&ports).await;
    let withdrawn = write(
        &ports,
        DispatchWrite {
            withdraw_open_offers_at: Some(at(1)),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert!(withdrawn.is_empty());
    assert_eq!(trip_of(&ports, trip.id).await, trip);
}

/// A trip no longer in the expected status (or unknown) fails the whole write with
/// `TripChanged`: the new offer in it is not stored and the driver's availability is unchanged.
pub async fn a_trip_in_another_status_fails_the_write_and_nothing_is_written(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let before = availability_of(&ports, driver).await;
    let proposal = offer(&trip, driver, 1);
    let on_trip = ok(before.state.set_trip(
        trip.id,
        TripStanding::External,
        TripStanding::External,
        at(1),
    ));
    let mut stale = ok(trip.start_assigning());
    stale.status = TripStatus::Accepted;
    let guarded = |expected: TripStatus, next: Trip| DispatchWrite {
        trip: Some(TripTransition { expected, next }),
        new_offer: Some(proposal.clone()),
        availability: Some(AvailabilityChange {
            expected_version: before.version,
            next: on_trip.clone(),
        }),
        withdraw_open_offers_at: Some(at(1)),
        ..DispatchWrite::default()
    };

    let conflict = refused(&ports, guarded(TripStatus::Assigning, stale.clone())).await;
    assert!(
        matches!(conflict, DispatchConflict::TripChanged),
        "{conflict:?}"
    );

    let mut unknown = stale;
    unknown.id = TripId::from_uuid(Uuid::new_v4());
    let conflict = refused(&ports, guarded(TripStatus::Pending, unknown)).await;
    assert!(
        matches!(conflict, DispatchConflict::TripChanged),
        "{conflict:?}"
    );

    assert_eq!(trip_of(&ports, trip.id).await, trip);
    assert_eq!(ok(ports.trips.find_offer(proposal.id).await), None);
    assert!(ok(ports.trips.offers_for_trip(trip.id).await).is_empty());
    assert_eq!(ok(ports.trips.open_offer_of(driver).await), None);
    assert_eq!(availability_of(&ports, driver).await, before);
}

/// A change to an offer that was answered, expired, withdrawn, or never made is `OfferNotOpen`,
/// and the trip change in the same write is not stored.
pub async fn an_offer_no_longer_open_fails_the_write_and_nothing_is_written(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let driver = free_driver(&ports).await;
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    let rejected = close(
        &ports,
        ok(open.reject(driver, Some("muy lejos".to_owned()), at(2))),
    )
    .await;
    assert_eq!(offer_of(&ports, open.id).await, rejected);

    let taken = ok(assigning.accept(driver, at(3)));
    let late_accept = DispatchWrite {
        trip: transition(&assigning, taken.clone()),
        offer: Some(ok(open.accept(driver, at(3)))),
        withdraw_open_offers_at: Some(at(3)),
        ..DispatchWrite::default()
    };
    let conflict = refused(&ports, late_accept).await;
    assert!(
        matches!(conflict, DispatchConflict::OfferNotOpen),
        "{conflict:?}"
    );

    let never_made = offer(&assigning, driver, 3);
    let conflict = refused(
        &ports,
        DispatchWrite {
            offer: never_made.expire(at(30)),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert!(
        matches!(conflict, DispatchConflict::OfferNotOpen),
        "{conflict:?}"
    );

    assert_eq!(trip_of(&ports, trip.id).await, assigning);
    assert_eq!(offer_of(&ports, open.id).await, rejected);
    assert_eq!(ok(ports.trips.find_offer(never_made.id).await), None);
}

/// A second open offer for a trip is `TripHasOpenOffer` and nothing of the write is stored;
/// once the first is closed, the next one can be made.
pub async fn a_trip_has_at_most_one_open_offer(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let (first_driver, second_driver) = (free_driver(&ports).await, free_driver(&ports).await);
    let (assigning, first) = offered(&ports, &trip, first_driver, 1).await;

    let second = offer(&assigning, second_driver, 2);
    let mut touched = assigning.clone();
    touched.end_reason = Some("should not be stored".to_owned());
    let conflict = refused(
        &ports,
        DispatchWrite {
            trip: transition(&assigning, touched),
            new_offer: Some(second.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert!(
        matches!(conflict, DispatchConflict::TripHasOpenOffer),
        "{conflict:?}"
    );
    assert_eq!(trip_of(&ports, trip.id).await, assigning);
    assert_eq!(ok(ports.trips.find_offer(second.id).await), None);
    assert_eq!(
        ok(ports.trips.open_offer_of(first_driver).await),
        Some(first.clone())
    );
    assert_eq!(ok(ports.trips.open_offer_of(second_driver).await), None);

    let expired = close(&ports, ok(first.expire(first.expires_at).ok_or("not due"))).await;
    let second = offer(&assigning, second_driver, 30);
    write(
        &ports,
        DispatchWrite {
            new_offer: Some(second.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert_eq!(
        ok(ports.trips.offers_for_trip(trip.id).await),
        vec![expired, second]
    );
}

/// An open offer for a driver who already holds one (for another trip) is
/// `DriverHasOpenOffer` and nothing of the write is stored; once it is closed, the driver can be
/// offered the other trip.
pub async fn a_driver_has_at_most_one_open_offer(ports: Ports) {
    let driver = free_driver(&ports).await;
    let (first_trip, second_trip) = (stored_trip(&ports).await, stored_trip(&ports).await);
    let (_, first) = offered(&ports, &first_trip, driver, 1).await;

    let second = offer(&second_trip, driver, 2);
    let conflict = refused(
        &ports,
        DispatchWrite {
            trip: transition(&second_trip, ok(second_trip.start_assigning())),
            new_offer: Some(second.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert!(
        matches!(conflict, DispatchConflict::DriverHasOpenOffer),
        "{conflict:?}"
    );
    assert_eq!(trip_of(&ports, second_trip.id).await, second_trip);
    assert_eq!(ok(ports.trips.find_offer(second.id).await), None);

    close(&ports, ok(first.reject(driver, None, at(3)))).await;
    let (_, second) = offered(&ports, &second_trip, driver, 4).await;
    assert_eq!(offer_of(&ports, second.id).await, second);
    assert_eq!(ok(ports.trips.open_offer_of(driver).await), Some(second));
}

/// A new offer for a trip with an open offer, to a driver with an open offer, is refused for the
/// trip: the port checks the trip's rule first.
pub async fn an_offer_breaking_both_rules_is_refused_for_the_trip_first(ports: Ports) {
    let driver = free_driver(&ports).await;
    let trip = stored_trip(&ports).await;
    let (assigning, _) = offered(&ports, &trip, driver, 1).await;

    let again = offer(&assigning, driver, 2);
    let conflict = refused(
        &ports,
        DispatchWrite {
            new_offer: Some(again.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert!(
        matches!(conflict, DispatchConflict::TripHasOpenOffer),
        "{conflict:?}"
    );
    assert_eq!(ok(ports.trips.find_offer(again.id).await), None);
}

/// An accept whose availability was read at an old version is `DriverChanged`: the offer stays
/// open, the trip assigning and the driver free.
pub async fn a_stale_availability_fails_the_write_and_nothing_is_written(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    let accept = accept_write(&ports, &assigning, &open, at(2)).await;
    // The driver pings between the read and the write.
    let moved = apply(&ports, driver, at(2), |s| {
        s.record_location(&fix(havana::MORRO), at(2))
    })
    .await;

    let conflict = refused(&ports, accept).await;

    assert!(
        matches!(conflict, DispatchConflict::DriverChanged),
        "{conflict:?}"
    );
    assert_eq!(trip_of(&ports, trip.id).await, assigning);
    assert_eq!(offer_of(&ports, open.id).await, open);
    assert_eq!(availability_of(&ports, driver).await, moved);
}

/// Taking a trip another driver holds is `TripHeldByAnother`: nothing of the write is stored.
pub async fn a_trip_held_by_another_driver_fails_the_write_and_nothing_is_written(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let holder = available_driver_at(&ports, havana::MORRO, T0).await;
    apply(&ports, holder, at(1), |s| {
        ok(s.set_trip(
            trip.id,
            TripStanding::External,
            TripStanding::External,
            at(1),
        ))
    })
    .await;
    let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let (assigning, open) = offered(&ports, &trip, driver, 2).await;
    let before = availability_of(&ports, driver).await;

    let conflict = refused(&ports, accept_write(&ports, &assigning, &open, at(3)).await).await;

    assert!(
        matches!(conflict, DispatchConflict::TripHeldByAnother),
        "{conflict:?}"
    );
    assert_eq!(trip_of(&ports, trip.id).await, assigning);
    assert_eq!(offer_of(&ports, open.id).await, open);
    assert_eq!(availability_of(&ports, driver).await, before);
    assert_eq!(
        availability_of(&ports, holder).await.state.current_trip_id,
        Some(trip.id)
    );
}

/// The accept write stores the offer accepted, the trip arriving with its driver and the driver
/// ON_TRIP holding it (next version), all at once; no open offer is left to withdraw.
pub async fn an_accept_writes_the_offer_the_trip_and_the_driver_together(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    let accept = accept_write(&ports, &assigning, &open, at(2)).await;

    let withdrawn = write(&ports, accept.clone()).await;

    assert!(withdrawn.is_empty(), "{withdrawn:?}");
    let (Some(t), Some(o), Some(a)) = (accept.trip, accept.offer, accept.availability) else {
        panic!("incomplete accept write");
    };
    assert_eq!(trip_of(&ports, trip.id).await, t.next);
    assert_eq!(t.next.status, TripStatus::Arriving);
    assert_eq!(t.next.driver_id, Some(driver));
    assert_eq!(offer_of(&ports, open.id).await, o);
    assert_eq!(o.status, OfferStatus::Accepted);
    assert_eq!(
        availability_of(&ports, driver).await,
        Versioned {
            state: a.next,
            version: a.expected_version + 1
        }
    );
    assert_eq!(ok(ports.trips.open_offer_of(driver).await), None);
    assert!(ok(ports.trips.due_offers(at(1_000), 10).await).is_empty());
    assert_eq!(
        ok(ports.standings.standing(trip.id).await),
        TripStanding::Dispatched {
            assigned_to: Some(driver),
            active: true
        }
    );
}

/// Ending a trip with `withdraw_open_offers_at` closes its open offer as cancelled at that time
/// and returns it; open offers of other trips stay open; a later withdrawal finds nothing.
pub async fn ending_a_trip_withdraws_its_open_offer_and_returns_it(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let other_trip = stored_trip(&ports).await;
    let (driver, other_driver) = (free_driver(&ports).await, free_driver(&ports).await);
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    let (_, other_open) = offered(&ports, &other_trip, other_driver, 1).await;
    let cancelled = ok(assigning.cancel(
        Actor::Passenger(trip.passenger_id),
        Some("ya no lo necesito".to_owned()),
        at(5),
    ));

    let withdrawn = write(
        &ports,
        DispatchWrite {
            trip: transition(&assigning, cancelled.clone()),
            withdraw_open_offers_at: Some(at(5) + Duration::microseconds(1)),
            ..DispatchWrite::default()
        },
    )
    .await;

    let expected = open.withdraw(at(5) + Duration::microseconds(1));
    assert_eq!(withdrawn, expected.into_iter().collect::<Vec<_>>());
    assert_eq!(
        withdrawn.first().map(|o| o.status),
        Some(OfferStatus::Cancelled)
    );
    assert_eq!(ok(ports.trips.offers_for_trip(trip.id).await), withdrawn);
    assert_eq!(trip_of(&ports, trip.id).await, cancelled);
    assert_eq!(offer_of(&ports, other_open.id).await, other_open);
    assert_eq!(ok(ports.trips.open_offer_of(driver).await), None);
    assert_eq!(
        ok(ports.trips.open_offer_of(other_driver).await),
        Some(other_open.clone())
    );

    let mut noted = cancelled.clone();
    noted.end_reason = Some("nota del operador".to_owned());
    let again = write(
        &ports,
        DispatchWrite {
            trip: transition(&cancelled, noted),
            withdraw_open_offers_at: Some(at(6)),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert!(again.is_empty(), "{again:?}");
}

/// Every offer made for a trip, open or closed, oldest first; none of another trip.
pub async fn offers_for_trip_lists_every_offer_oldest_first(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let other_trip = stored_trip(&ports).await;
    let drivers = [
        free_driver(&ports).await,
        free_driver(&ports).await,
        free_driver(&ports).await,
    ];
    let (assigning, first) = offered(&ports, &trip, drivers[0], 1).await;
    let first = close(&ports, ok(first.reject(drivers[0], None, at(2)))).await;
    let second = offer(&assigning, drivers[1], 3);
    write(
        &ports,
        DispatchWrite {
            new_offer: Some(second.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    let second = close(&ports, ok(second.expire(at(23)).ok_or("not due"))).await;
    let third = offer(&assigning, drivers[2], 24);
    write(
        &ports,
        DispatchWrite {
            new_offer: Some(third.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    offered(&ports, &other_trip, drivers[0], 0).await;

    assert_eq!(
        ok(ports.trips.offers_for_trip(trip.id).await),
        vec![first, second, third]
    );
}

/// Open offers whose deadline is at or before `now`, earliest deadline first, cut at the limit;
/// closed offers and offers still running are not due.
pub async fn due_offers_are_the_open_ones_past_their_deadline_earliest_first(ports: Ports) {
    // (offered at, closed?) — deadlines are 20 s later.
    let plan = [(10, false), (5, false), (20, false), (7, true), (30, false)];
    let mut made = Vec::new();
    for (seconds, closed) in plan {
        let trip = stored_trip(&ports).await;
        let driver = free_driver(&ports).await;
        let (_, open) = offered(&ports, &trip, driver, seconds).await;
        if closed {
            close(&ports, ok(open.reject(driver, None, at(seconds + 1)))).await;
        }
        made.push(open);
    }
    let [at_30, at_25, at_40, _closed, at_50] = made.as_slice() else {
        panic!("five offers expected");
    };
    let now = at(40);

    let due = ok(ports.trips.due_offers(now, 10).await);
    assert_eq!(due, vec![at_25.clone(), at_30.clone(), at_40.clone()]);
    assert_eq!(
        ok(ports.trips.due_offers(now, 2).await),
        vec![at_25.clone(), at_30.clone()]
    );
    assert!(ok(ports.trips.due_offers(now, 0).await).is_empty());
    assert!(ok(ports.trips.due_offers(at(24), 10).await).is_empty());
    assert_eq!(
        ok(ports.trips.due_offers(at(60), usize::MAX).await).len(),
        4
    );
    assert!(at_50.expires_at > now);
}

/// Fifty simultaneous applications of one accept write: exactly one succeeds, the others find
/// the trip changed, and the stored state is the winner's.
pub async fn of_fifty_concurrent_accepts_of_one_offer_exactly_one_wins(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    let accept = accept_write(&ports, &assigning, &open, at(2)).await;

    let mut racers = JoinSet::new();
    for _ in 0..50 {
        let ports = ports.clone();
        let accept = accept.clone();
        racers.spawn(async move { ports.trips.apply(&accept).await });
    }
    let mut won = 0;
    while let Some(joined) = racers.join_next().await {
        match ok(joined) {
            Ok(_) => won += 1,
            Err(DispatchConflict::TripChanged) => {}
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }

    assert_eq!(won, 1);
    let (Some(t), Some(o), Some(a)) = (accept.trip, accept.offer, accept.availability) else {
        panic!("incomplete accept write");
    };
    assert_eq!(trip_of(&ports, trip.id).await, t.next);
    assert_eq!(offer_of(&ports, open.id).await, o);
    assert_eq!(
        availability_of(&ports, driver).await.version,
        a.expected_version + 1
    );
}

/// Twenty simultaneous offers of one trip to twenty drivers: exactly one is made, the others
/// are `TripHasOpenOffer`.
pub async fn of_concurrent_offers_for_one_trip_exactly_one_is_made(ports: Ports) {
    let pending = stored_trip(&ports).await;
    let trip = ok(pending.start_assigning());
    write(
        &ports,
        DispatchWrite {
            trip: transition(&pending, trip.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    let mut racers = JoinSet::new();
    for i in 0..20 {
        let ports = ports.clone();
        let driver = free_driver(&ports).await;
        let proposal = offer(&trip, driver, i);
        racers.spawn(async move {
            let write = DispatchWrite {
                new_offer: Some(proposal.clone()),
                ..DispatchWrite::default()
            };
            (proposal, ports.trips.apply(&write).await)
        });
    }
    let mut made = Vec::new();
    while let Some(joined) = racers.join_next().await {
        match ok(joined) {
            (proposal, Ok(_)) => made.push(proposal),
            (_, Err(DispatchConflict::TripHasOpenOffer)) => {}
            (_, Err(e)) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(ok(ports.trips.offers_for_trip(trip.id).await), made);
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
        ok(ports.standings.standing(trip.id).await),
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
    write(
        &ports,
        DispatchWrite {
            trip: transition(&arriving, started.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert_eq!(
        ok(ports.standings.standing(trip.id).await),
        TripStanding::Dispatched {
            assigned_to: Some(driver),
            active: true
        }
    );

    let completed = ok(started.complete(Actor::Driver(driver), Cents(700), at(4)));
    write(
        &ports,
        DispatchWrite {
            trip: transition(&started, completed),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert_eq!(
        ok(ports.standings.standing(trip.id).await),
        TripStanding::Dispatched {
            assigned_to: Some(driver),
            active: false
        }
    );

    let abandoned_trip = stored_trip(&ports).await;
    let abandoned = ok(abandoned_trip.give_up("no_candidates", at(5)));
    write(
        &ports,
        DispatchWrite {
            trip: transition(&abandoned_trip, abandoned),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert_eq!(
        ok(ports.standings.standing(abandoned_trip.id).await),
        TripStanding::Dispatched {
            assigned_to: None,
            active: false
        }
    );
    // The availability rules read it: a driver cannot be given a finished dispatched trip.
    let late = available_driver_at(&ports, havana::MORRO, at(6)).await;
    let state = availability_of(&ports, late).await.state;
    let standing = ok(ports.standings.standing(abandoned_trip.id).await);
    assert!(
        state
            .set_trip(abandoned_trip.id, standing, TripStanding::External, at(7))
            .is_err()
    );
}
