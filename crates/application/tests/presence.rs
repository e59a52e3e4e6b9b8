//! The presence sweeper over the real memory store with a hand-moved clock.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use rodando_adapter_memory::MemoryStore;
use rodando_application::availability::AvailabilityService;
use rodando_application::clock::ManualClock;
use rodando_application::presence::{PresenceSweeper, SweepConfig};
use rodando_domain::availability::{AvailabilityStatus, StatusCommand};
use rodando_domain::ids::{DriverId, TripId};
use rodando_ports::availability::AvailabilityRepository;
use rodando_ports::notifier::MockNotifier;
use support::NOW;
use time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn driver(n: u128) -> DriverId {
    DriverId::from_uuid(Uuid::from_u128(n))
}

struct World {
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    swept: Arc<Mutex<Vec<DriverId>>>,
    sweeper: PresenceSweeper,
    service: AvailabilityService,
}

/// Drivers 1 to `count` go AVAILABLE (through the use case, so each is heard from now).
async fn drivers_available(w: &World, count: u128) {
    for n in 1..=count {
        w.service
            .update_status(driver(n), StatusCommand::Available)
            .await
            .unwrap();
    }
}

fn world(batch: usize) -> World {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(NOW));
    let swept = Arc::new(Mutex::new(Vec::new()));
    let mut notifier = MockNotifier::new();
    let record = Arc::clone(&swept);
    notifier
        .expect_driver_availability_changed()
        .returning(move |s| {
            if !s.is_online {
                record.lock().unwrap().push(s.driver_id);
            }
            Ok(())
        });
    notifier.expect_driver_trip_changed().returning(|_| Ok(()));
    notifier
        .expect_driver_location_changed()
        .returning(|_| Ok(()));
    let notifier = Arc::new(notifier);
    let sweeper = PresenceSweeper::new(
        store.clone(),
        notifier.clone(),
        clock.clone(),
        SweepConfig {
            presence_ttl: Duration::seconds(2),
            interval: StdDuration::from_millis(20),
            batch,
        },
    );
    let service = AvailabilityService::new(store.clone(), store.clone(), notifier, clock.clone());
    World {
        store,
        clock,
        swept,
        sweeper,
        service,
    }
}

#[tokio::test]
async fn silent_drivers_go_offline_and_each_is_broadcast() {
    let w = world(1000);
    drivers_available(&w, 3).await;
    w.clock.advance(Duration::seconds(1));
    assert_eq!(
        w.sweeper.sweep().await.unwrap(),
        0,
        "not silent long enough"
    );

    w.clock.advance(Duration::seconds(1));
    assert_eq!(w.sweeper.sweep().await.unwrap(), 3);
    let mut swept = w.swept.lock().unwrap().clone();
    swept.sort();
    assert_eq!(swept, vec![driver(1), driver(2), driver(3)]);
    for n in 1..=3 {
        let row = w.store.find(driver(n)).await.unwrap().unwrap();
        assert_eq!(row.state.status(), AvailabilityStatus::Offline);
    }
}

#[tokio::test]
async fn drivers_on_a_trip_or_recently_heard_are_never_swept() {
    let w = world(1000);
    drivers_available(&w, 2).await;
    w.service
        .set_trip(driver(2), Some(TripId::from_uuid(Uuid::from_u128(77))))
        .await
        .unwrap();
    w.service
        .update_status(driver(3), StatusCommand::Busy)
        .await
        .unwrap();
    w.clock.advance(Duration::seconds(5));
    // Driver 3 pings just in time.
    w.service
        .ping_location(
            driver(3),
            rodando_domain::availability::LocationFix {
                point: rodando_domain::geo::GeoPoint::from_degrees(23.1, -82.3).unwrap(),
                accuracy_m: None,
                heading_deg: None,
                speed_kph: None,
                recorded_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(w.sweeper.sweep().await.unwrap(), 1);
    assert_eq!(*w.swept.lock().unwrap(), vec![driver(1)]);
    let on_trip = w.store.find(driver(2)).await.unwrap().unwrap();
    assert!(
        on_trip.state.is_online,
        "a driver on a trip stays online however silent"
    );
}

#[tokio::test]
async fn one_sweep_works_through_every_batch() {
    let w = world(2);
    drivers_available(&w, 5).await;
    w.clock.advance(Duration::seconds(3));
    assert_eq!(w.sweeper.sweep().await.unwrap(), 5);
    assert_eq!(w.swept.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn the_background_task_sweeps_on_its_interval_and_stops_on_shutdown() {
    let w = world(1000);
    drivers_available(&w, 1).await;
    w.clock.advance(Duration::seconds(3));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(w.sweeper.clone().run(shutdown.clone()));
    for _ in 0..100 {
        if !w.swept.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert_eq!(*w.swept.lock().unwrap(), vec![driver(1)]);
    shutdown.cancel();
    tokio::time::timeout(StdDuration::from_secs(1), task)
        .await
        .expect("the sweeper stops promptly")
        .unwrap();
}
