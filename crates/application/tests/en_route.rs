//! Live tracking against mocked ports, on a paused clock: at most one `trip:driver_en_route` per
//! trip per window, the latest position never lost, nothing once the trip is no longer tracked.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rodando_application::en_route::{EN_ROUTE_WINDOW, EnRouteTracker, TrackedPing};
use rodando_domain::availability::Position;
use rodando_domain::en_route::Phase;
use rodando_domain::fare::{Cents, Currency};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{DriverId, PassengerId, TripId};
use rodando_domain::trip::{PaymentMethod, Place, Trip, TripStatus};
use rodando_ports::notifier::{EnRoute, MockNotifier};
use rodando_ports::trips::MockTripRepository;
use support::walked_to;
use time::macros::datetime;
use tokio::time::Instant;
use uuid::Uuid;

fn driver() -> DriverId {
    DriverId::from_uuid(Uuid::from_u128(0xd))
}

fn trip_id() -> TripId {
    TripId::from_uuid(Uuid::from_u128(0x7))
}

fn point(lat: f64, lon: f64) -> GeoPoint {
    GeoPoint::from_degrees(lat, lon).unwrap()
}

fn trip(status: TripStatus) -> Trip {
    let pending = Trip::request(
        trip_id(),
        PassengerId::from_uuid(Uuid::from_u128(0xb)),
        Place::new(point(23.1136, -82.3666), None).unwrap(),
        Place::new(point(23.1330, -82.3830), None).unwrap(),
        PaymentMethod::Cash,
        Cents::from_units(6.5),
        Currency::parse("CUP").unwrap(),
        datetime!(2026-06-01 09:00 UTC),
    );
    walked_to(pending, status, driver())
}

fn ping(n: u32) -> TrackedPing {
    TrackedPing {
        driver: driver(),
        trip: trip_id(),
        position: Position {
            point: point(23.10 + f64::from(n) * 0.0001, -82.35),
            at: datetime!(2026-06-01 09:00 UTC) + time::Duration::milliseconds(i64::from(n)),
        },
        heading_deg: Some(90.0),
        speed_kph: None,
    }
}

/// A tracker over a trip whose stored status the test moves, recording what it pushes.
struct World {
    tracker: EnRouteTracker,
    status: Arc<Mutex<TripStatus>>,
    sent: Arc<Mutex<Vec<(Instant, EnRoute)>>>,
    reads: Arc<Mutex<usize>>,
}

fn world(status: TripStatus) -> World {
    let status = Arc::new(Mutex::new(status));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let reads = Arc::new(Mutex::new(0));
    let mut trips = MockTripRepository::new();
    let (s, r) = (Arc::clone(&status), Arc::clone(&reads));
    trips.expect_find().returning(move |_| {
        *r.lock().unwrap() += 1;
        Ok(Some(trip(*s.lock().unwrap())))
    });
    let mut notifier = MockNotifier::new();
    let record = Arc::clone(&sent);
    notifier
        .expect_driver_en_route()
        .returning(move |audience, update| {
            assert_eq!(audience.trip_id, trip_id());
            record
                .lock()
                .unwrap()
                .push((Instant::now(), update.clone()));
            Ok(())
        });
    World {
        tracker: EnRouteTracker::new(Arc::new(trips), Arc::new(notifier)),
        status,
        sent,
        reads,
    }
}

#[tokio::test(start_paused = true)]
async fn pings_at_5_per_second_reach_the_passenger_at_most_once_a_second_ending_with_the_last() {
    let w = world(TripStatus::Arriving);
    let start = Instant::now();
    for n in 0..15 {
        w.tracker.track(ping(n));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(EN_ROUTE_WINDOW * 2).await;

    let sent = w.sent.lock().unwrap();
    assert!(
        (3..=4).contains(&sent.len()),
        "3 s of pings: {} sent",
        sent.len()
    );
    for pair in sent.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= EN_ROUTE_WINDOW, "one per window");
    }
    assert_eq!(sent[0].0, start, "the first ping goes at once");
    let last = &sent.last().unwrap().1;
    assert_eq!(
        last.position,
        ping(14).position.point,
        "the latest is never lost"
    );
    assert_eq!(last.at, ping(14).position.at);
    assert_eq!(last.heading_deg, Some(90.0));
    assert_eq!(last.progress.phase, Phase::ToPickup);
    let to_pickup = ping(14)
        .position
        .point
        .distance_m(&trip(TripStatus::Arriving).pickup().point);
    assert_eq!(last.progress.estimate.distance_m, to_pickup);
    assert_eq!(
        *w.reads.lock().unwrap(),
        sent.len(),
        "one trip read per send, none per held ping"
    );
}

#[tokio::test(start_paused = true)]
async fn an_in_progress_trip_is_tracked_to_the_dropoff() {
    let w = world(TripStatus::InProgress);
    w.tracker.track(ping(1));
    tokio::time::sleep(Duration::from_millis(10)).await;
    let sent = w.sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.progress.phase, Phase::ToDropoff);
}

#[tokio::test(start_paused = true)]
async fn a_held_position_is_dropped_when_the_trip_ends_before_its_window_closes() {
    let w = world(TripStatus::InProgress);
    w.tracker.track(ping(1));
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.tracker.track(ping(2));
    *w.status.lock().unwrap() = TripStatus::Completed;
    tokio::time::sleep(EN_ROUTE_WINDOW * 2).await;
    w.tracker.track(ping(3));
    tokio::time::sleep(EN_ROUTE_WINDOW * 2).await;
    let sent = w.sent.lock().unwrap();
    assert_eq!(sent.len(), 1, "nothing after the trip ended");
    assert_eq!(sent[0].1.position, ping(1).position.point);
}

#[tokio::test(start_paused = true)]
async fn nothing_goes_out_for_a_trip_that_is_not_yet_arriving() {
    for status in [TripStatus::Accepted, TripStatus::Cancelled] {
        let w = world(status);
        w.tracker.track(ping(1));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(w.sent.lock().unwrap().is_empty(), "{status:?}");
    }
}
