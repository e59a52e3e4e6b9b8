//! Trip use cases against mocked ports: what is written, in one write, and what is pushed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use rodando_application::trips::{TripActuals, TripCommandError, TripRequest, TripService};
use rodando_domain::availability::{DriverAvailability, StatusCommand, TripStanding};
use rodando_domain::fare::Cents;
use rodando_domain::ids::{DriverId, OfferId, PassengerId, TripId};
use rodando_domain::offer::Offer;
use rodando_domain::trip::{Actor, PaymentMethod, Trip, TripStatus};
use rodando_ports::Unexpected;
use rodando_ports::availability::{MockAvailabilityRepository, Versioned};
use rodando_ports::notifier::{MockNotifier, TripEvent};
use rodando_ports::trips::{Applied, DispatchConflict, Idempotency, MockTripRepository};
use rodando_ports::users::MockUserRepository;
use support::*;
use uuid::Uuid;

fn driver() -> DriverId {
    DriverId::from_uuid(Uuid::from_u128(0xd1))
}

fn trip(status: TripStatus) -> Trip {
    trip_7(passenger_id(), status, driver())
}

fn service(
    trips: MockTripRepository,
    availability: MockAvailabilityRepository,
    notifier: MockNotifier,
) -> TripService {
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().returning(|_| Ok(None));
    mocked_trips(trips, availability, users, notifier)
}

/// The open offer 1 of `trip` to [`driver`], made at `NOW` for 20 s.
fn open_offer_of(trip: TripId) -> Offer {
    open_offer(1, trip, driver(), 100.0)
}

/// An availability store whose driver is AVAILABLE at `version`.
fn available_driver_at_version(version: u64) -> MockAvailabilityRepository {
    let mut availability = MockAvailabilityRepository::new();
    availability
        .expect_load_or_create()
        .returning(move |d, now| {
            let state = DriverAvailability::new_offline(d, now)
                .set_status(StatusCommand::Available, TripStanding::External, now)
                .unwrap();
            Ok(Versioned { state, version })
        });
    availability
}

/// A trip store at [`NOW`] that holds `offer` and `trip`: where every accept starts.
fn holding(offer: &Offer, trip: &Trip) -> MockTripRepository {
    let mut trips = MockTripRepository::new();
    trips.expect_now().returning(|| Ok(NOW));
    let o = offer.clone();
    trips
        .expect_find_offer()
        .returning(move |_| Ok(Some(o.clone())));
    let t = trip.clone();
    trips.expect_find().returning(move |_| Ok(Some(t.clone())));
    trips
}

#[tokio::test]
async fn a_replayed_idempotent_request_returns_the_first_trip_and_dispatches_nothing() {
    let mut trips = MockTripRepository::new();
    let first = trip(TripStatus::Assigning);
    let stored = first.clone();
    trips
        .expect_create()
        .withf(|_, key| key.as_ref().is_some_and(|k| k.key == "k"))
        .returning(move |_, _| Ok(stored.clone()));
    trips.expect_find().never();
    let mut notifier = MockNotifier::new();
    notifier.expect_trip_event().never();
    let request = TripRequest {
        pickup: place(23.1),
        dropoff: place(23.2),
        payment_method: PaymentMethod::Card,
    };
    let key = Idempotency {
        key: "k".into(),
        fingerprint: "{}".into(),
    };
    let got = service(trips, MockAvailabilityRepository::new(), notifier)
        .request(passenger_id(), request, Some(key))
        .await
        .unwrap();
    assert_eq!(got, first);
}

#[tokio::test]
async fn someone_elses_offer_is_forbidden_and_nothing_is_written() {
    let mut trips = MockTripRepository::new();
    trips.expect_now().returning(|| Ok(NOW));
    let offer = open_offer_of(trip(TripStatus::Assigning).id());
    trips
        .expect_find_offer()
        .returning(move |_| Ok(Some(offer.clone())));
    trips.expect_apply().never();
    let other = DriverId::from_uuid(Uuid::from_u128(0xd2));
    let err = service(
        trips,
        MockAvailabilityRepository::new(),
        MockNotifier::new(),
    )
    .accept_offer(other, OfferId::from_uuid(Uuid::from_u128(1)))
    .await
    .unwrap_err();
    assert!(matches!(err, TripCommandError::Forbidden));
}

#[tokio::test]
async fn accepting_writes_offer_trip_and_driver_in_one_write_then_announces() {
    let assigning = trip(TripStatus::Assigning);
    let offer = open_offer_of(assigning.id());
    let mut trips = holding(&offer, &assigning);
    trips
        .expect_apply()
        .withf(|w| {
            w.trip.as_ref().is_some_and(|t| {
                t.expected == TripStatus::Assigning && t.next.status() == TripStatus::Arriving
            }) && w.offer.as_ref().is_some_and(|o| !o.is_open())
                && w.availability
                    .as_ref()
                    .is_some_and(|a| a.expected_version == 9 && a.next.current_trip_id.is_some())
                && w.withdraw_open_offers_at.is_some()
                // accepted, driver_assigned, arriving_started: three events of the stream
                && w.events == 3
        })
        .times(1)
        .returning(|_| {
            Ok(Applied {
                withdrawn: Vec::new(),
                seq: Some(7),
            })
        });
    let availability = available_driver_at_version(9);
    let mut notifier = MockNotifier::new();
    let mut order = mockall::Sequence::new();
    for (seq, name) in [(5, "accepted"), (6, "assigned"), (7, "arriving")] {
        notifier
            .expect_trip_event()
            .withf(move |_, s, e| {
                *s == seq
                    && match name {
                        "accepted" => matches!(e, TripEvent::OfferAccepted(_)),
                        "assigned" => matches!(e, TripEvent::DriverAssigned { .. }),
                        _ => matches!(e, TripEvent::ArrivingStarted { .. }),
                    }
            })
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(()));
    }
    notifier
        .expect_driver_trip_changed()
        .times(1)
        .returning(|_| Ok(()));
    let got = service(trips, availability, notifier)
        .accept_offer(driver(), offer.id())
        .await
        .unwrap();
    assert_eq!(got.status(), TripStatus::Arriving);
    assert_eq!(got.driver_id(), Some(driver()));
    assert_eq!(got.seq(), 7, "the trip carries the seq the store numbered");
}

#[tokio::test]
async fn a_store_failure_on_accept_is_unexpected_and_announces_nothing() {
    let assigning = trip(TripStatus::Assigning);
    let offer = open_offer_of(assigning.id());
    let mut trips = holding(&offer, &assigning);
    trips.expect_apply().returning(|_| {
        Err(DispatchConflict::Unexpected(Unexpected::msg(
            "connection lost",
        )))
    });
    let availability = available_driver_at_version(1);
    let mut notifier = MockNotifier::new();
    notifier.expect_trip_event().never();
    let err = service(trips, availability, notifier)
        .accept_offer(driver(), offer.id())
        .await
        .unwrap_err();
    assert!(matches!(err, TripCommandError::Unexpected(_)));
}

#[tokio::test]
async fn completing_charges_the_actuals_and_frees_the_driver_in_the_same_write() {
    let riding = trip(TripStatus::InProgress);
    let mut trips = MockTripRepository::new();
    trips
        .expect_find()
        .returning(move |_| Ok(Some(riding.clone())));
    trips
        .expect_apply()
        .withf(|w| {
            w.trip.as_ref().is_some_and(|t| {
                t.next.status() == TripStatus::Completed && t.next.fare_total() == Some(Cents(1900))
            }) && w
                .availability
                .as_ref()
                .is_some_and(|a| a.next.current_trip_id.is_none() && a.next.is_available_for_trips)
                && w.events == 1
        })
        .times(1)
        .returning(|_| {
            Ok(Applied {
                withdrawn: Vec::new(),
                seq: Some(9),
            })
        });
    let mut availability = MockAvailabilityRepository::new();
    availability.expect_load_or_create().returning(|d, now| {
        let state = DriverAvailability::new_offline(d, now)
            .set_trip(
                TripId::from_uuid(Uuid::from_u128(0x7)),
                TripStanding::External,
                TripStanding::External,
                now,
            )
            .unwrap();
        Ok(Versioned { state, version: 3 })
    });
    let mut notifier = MockNotifier::new();
    notifier
        .expect_trip_event()
        .withf(|_, seq, e| *seq == 9 && matches!(e, TripEvent::Completed(_)))
        .times(1)
        .returning(|_, _, _| Ok(()));
    notifier
        .expect_driver_trip_changed()
        .times(1)
        .returning(|_| Ok(()));
    let actuals = TripActuals {
        distance_km: Some(10.0),
        duration_min: Some(20.0),
    };
    let done = service(trips, availability, notifier)
        .complete(
            Actor::Driver(driver()),
            TripId::from_uuid(Uuid::from_u128(0x7)),
            actuals,
        )
        .await
        .unwrap();
    assert_eq!(done.status(), TripStatus::Completed);
}

#[tokio::test]
async fn a_passenger_cannot_see_or_cancel_someone_elses_trip() {
    let mut trips = MockTripRepository::new();
    let t = trip(TripStatus::Assigning);
    trips.expect_find().returning(move |_| Ok(Some(t.clone())));
    trips.expect_apply().never();
    let stranger = Actor::Passenger(PassengerId::from_uuid(Uuid::from_u128(0xbad)));
    let s = service(
        trips,
        MockAvailabilityRepository::new(),
        MockNotifier::new(),
    );
    let id = TripId::from_uuid(Uuid::from_u128(0x7));
    assert!(matches!(
        s.get(stranger, id).await.unwrap_err(),
        TripCommandError::NotFound
    ));
    assert!(matches!(
        s.cancel(stranger, id, None).await.unwrap_err(),
        TripCommandError::NotFound
    ));
}
