//! The guards of a dispatch write, in the port's order: each failure names its conflict and
//! leaves nothing of the write stored.

use rodando_domain::availability::TripStanding;
use rodando_domain::ids::TripId;
use rodando_domain::trip::{Trip, TripStatus};
use rodando_ports::trips::{AvailabilityChange, DispatchConflict, DispatchWrite, TripTransition};
use uuid::Uuid;

use super::*;
use crate::Ports;
use crate::fixtures::{T0, apply, at, available_driver_at, fix, free_driver, havana, ok};

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
    assert_eq!(trip_of(&ports, trip.id()).await, trip);
}

/// A trip no longer in the expected status (or unknown) fails the whole write with
/// `TripChanged`: the new offer in it is not stored and the driver's availability is unchanged.
pub async fn a_trip_in_another_status_fails_the_write_and_nothing_is_written(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let before = availability_of(&ports, driver).await;
    let proposal = offer(&trip, driver, 1);
    let on_trip = ok(before.state.set_trip(
        trip.id(),
        TripStanding::External,
        TripStanding::External,
        at(1),
    ));
    // Accepted while the store still holds it pending.
    let stale = ok(ok(trip.start_assigning()).accept(driver, at(1)));
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

    assert_refused!(
        &ports,
        guarded(TripStatus::Assigning, stale.clone()),
        DispatchConflict::TripChanged
    );

    let unknown = edited(&stale, |r| r.id = TripId::from_uuid(Uuid::new_v4()));
    assert_refused!(
        &ports,
        guarded(TripStatus::Pending, unknown),
        DispatchConflict::TripChanged
    );

    assert_eq!(trip_of(&ports, trip.id()).await, trip);
    assert_eq!(ok(ports.trips.find_offer(proposal.id()).await), None);
    assert!(ok(ports.trips.offers_for_trip(trip.id()).await).is_empty());
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
    assert_eq!(offer_of(&ports, open.id()).await, rejected);

    let taken = ok(assigning.accept(driver, at(3)));
    let late_accept = DispatchWrite {
        trip: transition(&assigning, taken.clone()),
        offer: Some(ok(open.accept(driver, at(3)))),
        withdraw_open_offers_at: Some(at(3)),
        ..DispatchWrite::default()
    };
    assert_refused!(&ports, late_accept, DispatchConflict::OfferNotOpen);

    let never_made = offer(&assigning, driver, 3);
    assert_refused!(
        &ports,
        closing(never_made.expire(at(30))),
        DispatchConflict::OfferNotOpen
    );

    assert_eq!(trip_of(&ports, trip.id()).await, assigning);
    assert_eq!(offer_of(&ports, open.id()).await, rejected);
    assert_eq!(ok(ports.trips.find_offer(never_made.id()).await), None);
}

/// A second open offer for a trip is `TripHasOpenOffer` and nothing of the write is stored;
/// once the first is closed, the next one can be made.
pub async fn a_trip_has_at_most_one_open_offer(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let (first_driver, second_driver) = (free_driver(&ports).await, free_driver(&ports).await);
    let (assigning, first) = offered(&ports, &trip, first_driver, 1).await;

    let second = offer(&assigning, second_driver, 2);
    let touched = edited(&assigning, |r| {
        r.end_reason = Some("should not be stored".to_owned());
    });
    assert_refused!(
        &ports,
        DispatchWrite {
            trip: transition(&assigning, touched),
            new_offer: Some(second.clone()),
            ..DispatchWrite::default()
        },
        DispatchConflict::TripHasOpenOffer
    );
    assert_eq!(trip_of(&ports, trip.id()).await, assigning);
    assert_eq!(ok(ports.trips.find_offer(second.id()).await), None);
    assert_eq!(
        ok(ports.trips.open_offer_of(first_driver).await),
        Some(first.clone())
    );
    assert_eq!(ok(ports.trips.open_offer_of(second_driver).await), None);

    let expired = close(
        &ports,
        ok(first.expire(first.expires_at()).ok_or("not due")),
    )
    .await;
    let second = offer(&assigning, second_driver, 30);
    write(&ports, making(&second)).await;
    assert_eq!(
        ok(ports.trips.offers_for_trip(trip.id()).await),
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
    assert_refused!(
        &ports,
        DispatchWrite {
            trip: transition(&second_trip, ok(second_trip.start_assigning())),
            new_offer: Some(second.clone()),
            ..DispatchWrite::default()
        },
        DispatchConflict::DriverHasOpenOffer
    );
    assert_eq!(trip_of(&ports, second_trip.id()).await, second_trip);
    assert_eq!(ok(ports.trips.find_offer(second.id()).await), None);

    close(&ports, ok(first.reject(driver, None, at(3)))).await;
    let (_, second) = offered(&ports, &second_trip, driver, 4).await;
    assert_eq!(offer_of(&ports, second.id()).await, second);
    assert_eq!(ok(ports.trips.open_offer_of(driver).await), Some(second));
}

/// A new offer for a trip with an open offer, to a driver with an open offer, is refused for the
/// trip: the port checks the trip's rule first.
pub async fn an_offer_breaking_both_rules_is_refused_for_the_trip_first(ports: Ports) {
    let driver = free_driver(&ports).await;
    let trip = stored_trip(&ports).await;
    let (assigning, _) = offered(&ports, &trip, driver, 1).await;

    let again = offer(&assigning, driver, 2);
    assert_refused!(&ports, making(&again), DispatchConflict::TripHasOpenOffer);
    assert_eq!(ok(ports.trips.find_offer(again.id()).await), None);
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

    assert_refused!(&ports, accept, DispatchConflict::DriverChanged);
    assert_eq!(trip_of(&ports, trip.id()).await, assigning);
    assert_eq!(offer_of(&ports, open.id()).await, open);
    assert_eq!(availability_of(&ports, driver).await, moved);
}

/// Taking a trip another driver holds is `TripHeldByAnother`: nothing of the write is stored.
pub async fn a_trip_held_by_another_driver_fails_the_write_and_nothing_is_written(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let holder = available_driver_at(&ports, havana::MORRO, T0).await;
    apply(&ports, holder, at(1), |s| {
        ok(s.set_trip(
            trip.id(),
            TripStanding::External,
            TripStanding::External,
            at(1),
        ))
    })
    .await;
    let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let (assigning, open) = offered(&ports, &trip, driver, 2).await;
    let before = availability_of(&ports, driver).await;

    assert_refused!(
        &ports,
        accept_write(&ports, &assigning, &open, at(3)).await,
        DispatchConflict::TripHeldByAnother
    );
    assert_eq!(trip_of(&ports, trip.id()).await, assigning);
    assert_eq!(offer_of(&ports, open.id()).await, open);
    assert_eq!(availability_of(&ports, driver).await, before);
    assert_eq!(
        availability_of(&ports, holder).await.state.current_trip_id,
        Some(trip.id())
    );
}
