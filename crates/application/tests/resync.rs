//! The reconnect read side against mocked ports: what `hello.state` holds for each kind of
//! socket, and who may `trip:sync` a trip.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use rodando_application::Principal;
use rodando_application::resync::SessionState;
use rodando_application::trips::{TripCommandError, TripService};
use rodando_domain::admission::Namespace;
use rodando_domain::availability::{DriverAvailability, LocationFix, StatusCommand, TripStanding};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{DriverId, PassengerId, TripId, UserId};
use rodando_domain::trip::{Actor, Trip, TripStatus};
use rodando_domain::user::{User, UserStatus, UserType};
use rodando_ports::availability::{MockAvailabilityRepository, Versioned};
use rodando_ports::notifier::MockNotifier;
use rodando_ports::trips::MockTripRepository;
use rodando_ports::users::MockUserRepository;
use support::*;
use time::Duration;
use uuid::Uuid;

fn driver() -> DriverId {
    DriverId::from_uuid(Uuid::from_u128(0xd1))
}

fn passenger() -> PassengerId {
    PassengerId::from_uuid(Uuid::from_u128(0xb0b))
}

fn principal(user_type: UserType, namespace: Namespace, id: impl Into<UserId>) -> Principal {
    Principal {
        user_id: id.into(),
        user_type,
        session_id: session_id(),
        namespace,
        name: "someone".into(),
        token_expires_at: NOW + Duration::minutes(15),
    }
}

/// Trip 7 of [`passenger`] in `status`, at event `seq` of its stream.
fn trip(status: TripStatus, seq: u64) -> Trip {
    let mut t = trip_7(passenger(), status, driver());
    t.set_seq(seq);
    t
}

/// The driver, named Dora.
fn dora() -> User {
    User {
        id: driver().user_id(),
        name: rodando_domain::user::PersonName::parse("Dora").unwrap(),
        ..user(UserType::Driver, UserStatus::Active)
    }
}

/// The driver online and available at a known position (or on trip 7 when `on_trip`).
fn driver_row(on_trip: bool) -> DriverAvailability {
    let fix = LocationFix {
        point: GeoPoint::from_degrees(23.11, -82.37).unwrap(),
        accuracy_m: None,
        heading_deg: None,
        speed_kph: None,
        recorded_at: None,
    };
    let available = DriverAvailability::new_offline(driver(), NOW)
        .set_status(StatusCommand::Available, TripStanding::External, NOW)
        .unwrap()
        .record_location(&fix, NOW);
    if on_trip {
        let t = trip(TripStatus::Arriving, 6);
        available
            .set_trip(t.id(), t.standing(), TripStanding::External, NOW)
            .unwrap()
    } else {
        available
    }
}

fn service(
    trips: MockTripRepository,
    availability: MockAvailabilityRepository,
    users: MockUserRepository,
) -> TripService {
    mocked_trips(trips, availability, users, MockNotifier::new())
}

/// Availability that loads the driver's row (`on_trip` or not) at `version`.
fn driver_row_at(on_trip: bool, version: u64) -> MockAvailabilityRepository {
    let mut availability = MockAvailabilityRepository::new();
    availability.expect_load_or_create().returning(move |_, _| {
        Ok(Versioned {
            state: driver_row(on_trip),
            version,
        })
    });
    availability
}

/// The reconnecting driver's session state over these stores; a driver always has one.
async fn driver_state(
    trips: MockTripRepository,
    availability: MockAvailabilityRepository,
    users: MockUserRepository,
) -> SessionState {
    service(trips, availability, users)
        .session_state(&principal(UserType::Driver, Namespace::Drivers, driver()))
        .await
        .unwrap()
        .expect("a driver has a state")
}

/// The reopening passenger's session state over these stores; a passenger always has one.
async fn passenger_state(
    trips: MockTripRepository,
    availability: MockAvailabilityRepository,
    users: MockUserRepository,
) -> SessionState {
    service(trips, availability, users)
        .session_state(&principal(
            UserType::Passenger,
            Namespace::Passengers,
            passenger(),
        ))
        .await
        .unwrap()
        .expect("a passenger has a state")
}

fn users_with_dora() -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().returning(|id| {
        assert_eq!(id, driver().user_id());
        Ok(Some(dora()))
    });
    users
}

#[tokio::test]
async fn a_reconnecting_driver_gets_its_open_offer_with_the_time_left_on_the_store_clock() {
    let mut trips = MockTripRepository::new();
    let offer = open_offer(1, TripId::from_uuid(Uuid::from_u128(0x7)), driver(), 250.0);
    let o = offer.clone();
    trips
        .expect_open_offer_of()
        .withf(|d| *d == driver())
        .returning(move |_| Ok(Some(o.clone())));
    // The store's clock is 5.5 s past the offer; the node's own clock (NOW) is not asked.
    trips
        .expect_now()
        .returning(|| Ok(NOW + Duration::milliseconds(5_500)));
    trips
        .expect_find()
        .returning(|_| Ok(Some(trip(TripStatus::Assigning, 2))));
    let state = driver_state(trips, driver_row_at(false, 4), MockUserRepository::new()).await;
    assert_eq!(state.availability, Some(driver_row(false)));
    assert_eq!(state.offers.len(), 1);
    assert_eq!(state.offers[0].offer, offer);
    assert_eq!(state.offers[0].remaining, Duration::milliseconds(14_500));
    assert_eq!(state.offers[0].trip.seq(), 2);
    assert_eq!(state.active_trip, None);
}

#[tokio::test]
async fn an_offer_already_past_its_deadline_is_left_out_of_the_state() {
    let mut trips = MockTripRepository::new();
    trips.expect_open_offer_of().returning(|_| {
        Ok(Some(open_offer(
            1,
            TripId::from_uuid(Uuid::from_u128(0x7)),
            driver(),
            250.0,
        )))
    });
    trips
        .expect_now()
        .returning(|| Ok(NOW + Duration::seconds(20)));
    trips.expect_find().never();
    let state = driver_state(trips, driver_row_at(false, 4), MockUserRepository::new()).await;
    assert!(state.offers.is_empty());
}

#[tokio::test]
async fn a_driver_on_a_trip_gets_that_trip_and_itself_as_its_driver() {
    let mut trips = MockTripRepository::new();
    trips.expect_open_offer_of().returning(|_| Ok(None));
    trips
        .expect_find()
        .withf(|id| *id == TripId::from_uuid(Uuid::from_u128(0x7)))
        .returning(|_| Ok(Some(trip(TripStatus::Arriving, 6))));
    let state = driver_state(trips, driver_row_at(true, 5), users_with_dora()).await;
    let active = state.active_trip.expect("the trip it holds");
    assert_eq!(active.trip.seq(), 6);
    let me = active.driver.expect("its driver");
    assert_eq!(me.id, driver());
    assert_eq!(me.name, "Dora");
    assert_eq!(me.position, driver_row(true).last_location);
}

#[tokio::test]
async fn a_passenger_mid_trip_gets_the_trip_and_its_driver_with_a_position() {
    let mut trips = MockTripRepository::new();
    trips
        .expect_active_for_passenger()
        .withf(|p| *p == passenger())
        .returning(|_| Ok(Some(trip(TripStatus::InProgress, 8))));
    trips.expect_open_offer_of().never();
    let mut availability = MockAvailabilityRepository::new();
    availability
        .expect_find()
        .withf(|d| *d == driver())
        .returning(|_| {
            Ok(Some(Versioned {
                state: driver_row(true),
                version: 5,
            }))
        });
    // A passenger's socket never creates a driver's row.
    availability.expect_load_or_create().never();
    let state = passenger_state(trips, availability, users_with_dora()).await;
    assert_eq!(state.availability, None);
    assert!(state.offers.is_empty());
    let active = state.active_trip.unwrap();
    assert_eq!(active.trip.status(), TripStatus::InProgress);
    assert_eq!(active.trip.seq(), 8);
    let d = active.driver.unwrap();
    assert_eq!((d.id, d.name.as_str()), (driver(), "Dora"));
    assert!(d.position.is_some());
}

#[tokio::test]
async fn a_passenger_whose_trip_has_no_driver_yet_gets_it_without_one() {
    let mut trips = MockTripRepository::new();
    trips
        .expect_active_for_passenger()
        .returning(|_| Ok(Some(trip(TripStatus::Assigning, 2))));
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().never();
    let state = passenger_state(trips, MockAvailabilityRepository::new(), users).await;
    assert_eq!(state.active_trip.unwrap().driver, None);
}

#[tokio::test]
async fn an_admin_gets_no_state_and_the_store_is_not_read() {
    let mut trips = MockTripRepository::new();
    trips.expect_find().never();
    trips.expect_active_for_passenger().never();
    trips.expect_open_offer_of().never();
    let state = service(
        trips,
        MockAvailabilityRepository::new(),
        MockUserRepository::new(),
    )
    .session_state(&principal(UserType::Admin, Namespace::Admin, user_id()))
    .await
    .unwrap();
    assert_eq!(state, None);
}

#[tokio::test]
async fn sync_answers_the_stored_trip_to_those_who_may_see_it_and_not_found_to_others() {
    let mut trips = MockTripRepository::new();
    trips
        .expect_find()
        .returning(|_| Ok(Some(trip(TripStatus::Arriving, 6))));
    let s = service(
        trips,
        MockAvailabilityRepository::new(),
        MockUserRepository::new(),
    );
    let id = TripId::from_uuid(Uuid::from_u128(0x7));
    for allowed in [
        Actor::Passenger(passenger()),
        Actor::Driver(driver()),
        Actor::Admin(admin_id()),
    ] {
        assert_eq!(s.sync(allowed, id).await.unwrap().seq(), 6, "{allowed:?}");
    }
    let stranger = Uuid::from_u128(0xbad);
    for refused in [
        Actor::Passenger(PassengerId::from_uuid(stranger)),
        Actor::Driver(DriverId::from_uuid(stranger)),
    ] {
        assert!(
            matches!(s.sync(refused, id).await, Err(TripCommandError::NotFound)),
            "{refused:?}"
        );
    }
}
