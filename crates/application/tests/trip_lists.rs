//! Trip lists against a mocked store: each actor's scope, one more trip asked of the store to
//! know whether a next page exists, the limit clamped, the snapshot of trips in flight bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use rodando_application::trip_lists::{MAX_IN_FLIGHT, MAX_PAGE};
use rodando_application::trips::TripService;
use rodando_domain::fare::{Cents, FareConfig};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{AdminId, DriverId, PassengerId, TripId};
use rodando_domain::trip::{Actor, PaymentMethod, Place, Trip};
use rodando_domain::trip_list::{TripFilter, TripKey, TripListQuery, TripScope};
use rodando_ports::availability::MockAvailabilityRepository;
use rodando_ports::notifier::MockNotifier;
use rodando_ports::trips::MockTripRepository;
use rodando_ports::users::MockUserRepository;
use support::*;
use time::Duration;
use uuid::Uuid;

fn trips(n: usize) -> Vec<Trip> {
    let place = Place::new(GeoPoint::from_degrees(23.1, -82.36).unwrap(), None).unwrap();
    (0..n)
        .map(|i| {
            Trip::request(
                TripId::from_uuid(Uuid::from_u128(1_000 - i as u128)),
                passenger_id(),
                place.clone(),
                place.clone(),
                PaymentMethod::Cash,
                Cents(700),
                FareConfig::default().currency,
                NOW - Duration::seconds(i as i64),
            )
        })
        .collect()
}

/// A service whose store expects exactly `expected` and answers `answer` trips.
fn service(expected: TripListQuery, answer: usize) -> TripService {
    let mut store = MockTripRepository::new();
    store
        .expect_list()
        .withf(move |q| *q == expected)
        .times(1)
        .returning(move |q| Ok(trips(answer.min(q.limit))));
    mocked_trips(
        store,
        MockAvailabilityRepository::new(),
        MockUserRepository::new(),
        MockNotifier::new(),
    )
}

#[tokio::test]
async fn each_actor_lists_its_own_scope_and_a_full_page_points_at_the_next() {
    let me = Uuid::from_u128(0xabc);
    let (passenger, driver) = (PassengerId::from_uuid(me), DriverId::from_uuid(me));
    for (actor, scope) in [
        (Actor::Passenger(passenger), TripScope::Passenger(passenger)),
        (Actor::Driver(driver), TripScope::Driver(driver)),
        (Actor::Admin(AdminId::from_uuid(me)), TripScope::Everyone),
    ] {
        let query = |limit| TripListQuery {
            scope,
            filter: TripFilter::Active,
            after: None,
            limit,
        };
        // Three asked, four there: a next page starting after the third.
        let page = service(query(4), 10)
            .list(actor, TripFilter::Active, None, 3)
            .await
            .unwrap();
        assert_eq!(page.trips, trips(3));
        assert_eq!(page.next, Some(TripKey::of(&trips(3)[2])));
        // Three asked, three there: the last page.
        let page = service(query(4), 3)
            .list(actor, TripFilter::Active, None, 3)
            .await
            .unwrap();
        assert_eq!((page.trips.len(), page.next), (3, None));
    }
}

#[tokio::test]
async fn the_boundary_is_passed_on_and_the_limit_is_clamped() {
    let boundary = TripKey::of(&trips(1)[0]);
    let admin = Actor::Admin(admin_id());
    let query = |limit| TripListQuery {
        scope: TripScope::Everyone,
        filter: TripFilter::Finished,
        after: Some(boundary),
        limit,
    };
    let page = service(query(MAX_PAGE + 1), 0)
        .list(admin, TripFilter::Finished, Some(boundary), 10_000)
        .await
        .unwrap();
    assert!(page.trips.is_empty() && page.next.is_none());
    service(query(2), 0)
        .list(admin, TripFilter::Finished, Some(boundary), 0)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_snapshot_of_trips_in_flight_is_bounded_and_says_when_it_is_cut() {
    let query = TripListQuery {
        scope: TripScope::Everyone,
        filter: TripFilter::Active,
        after: None,
        limit: MAX_IN_FLIGHT + 1,
    };
    let (shown, truncated) = service(query, 2).in_flight().await.unwrap();
    assert_eq!((shown.len(), truncated), (2, false));
    let (shown, truncated) = service(query, MAX_IN_FLIGHT + 5).in_flight().await.unwrap();
    assert_eq!((shown.len(), truncated), (MAX_IN_FLIGHT, true));
}
