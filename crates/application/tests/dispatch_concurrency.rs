//! Dispatch under concurrency, over the real memory store (PROTOCOL §8): no double acceptance,
//! no driver with two open offers or two trips, every trip ends assigned or abandoned.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use rodando_adapter_memory::MemoryStore;
use rodando_application::availability::AvailabilityService;
use rodando_application::clock::SystemClock;
use rodando_application::trips::TripService;
use rodando_domain::dispatch::DispatchPolicy;
use rodando_domain::ids::{DriverId, PassengerId, TripId};
use rodando_domain::offer::Offer;
use rodando_domain::trip::TripStatus;
use rodando_ports::availability::AvailabilityRepository;
use rodando_ports::trips::TripRepository;
use support::{memory_availability, memory_trips, trip_request};
use uuid::Uuid;

struct World {
    store: Arc<MemoryStore>,
    trips: TripService,
    availability: AvailabilityService,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let policy = DispatchPolicy {
        radius_m: 50_000.0,
        ..DispatchPolicy::default()
    };
    let trips = memory_trips(store.clone(), &store, Arc::new(SystemClock), policy);
    let availability = memory_availability(&store, Arc::new(SystemClock));
    World {
        store,
        trips,
        availability,
    }
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

async fn driver_online(w: &World, n: u128) -> DriverId {
    let d = DriverId::from_uuid(id(0xd0_0000 + n));
    support::online_driver_at(&w.availability, d, 23.10 + n as f64 * 0.0001, -82.36).await;
    d
}

async fn open_offers(w: &World, trips: &[TripId]) -> Vec<Offer> {
    let mut open = Vec::new();
    for t in trips {
        open.extend(
            w.store
                .offers_for_trip(*t)
                .await
                .unwrap()
                .into_iter()
                .filter(Offer::is_open),
        );
    }
    open
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_fifty_concurrent_accepts_exactly_one_wins() {
    let w = world();
    let d = driver_online(&w, 1).await;
    let trip = w
        .trips
        .request(PassengerId::from_uuid(id(1)), trip_request(), None)
        .await
        .unwrap();
    let offer = open_offers(&w, &[trip.id()])
        .await
        .pop()
        .expect("an offer was made");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let trips = w.trips.clone();
        let offer_id = offer.id();
        tasks.push(tokio::spawn(async move {
            trips.accept_offer(d, offer_id).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
    let stored = TripRepository::find(&*w.store, trip.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.status(), stored.driver_id()),
        (TripStatus::Arriving, Some(d))
    );
    let row = AvailabilityRepository::find(&*w.store, d)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state.current_trip_id, Some(trip.id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_driver_raced_for_by_two_trips_holds_one_open_offer() {
    for round in 0..20 {
        let w = world();
        let d = driver_online(&w, 1).await;
        let (a, b) = tokio::join!(
            w.trips.request(
                PassengerId::from_uuid(id(round * 10 + 1)),
                trip_request(),
                None
            ),
            w.trips.request(
                PassengerId::from_uuid(id(round * 10 + 2)),
                trip_request(),
                None
            ),
        );
        let trips = [a.unwrap().id(), b.unwrap().id()];
        let open = open_offers(&w, &trips).await;
        assert_eq!(open.len(), 1, "round {round}: {open:?}");
        assert_eq!(open[0].driver_id(), d);
        let statuses: HashSet<TripStatus> = futures_statuses(&w, &trips).await;
        assert_eq!(
            statuses,
            HashSet::from([TripStatus::Assigning, TripStatus::NoDriversFound])
        );
    }
}

async fn futures_statuses(w: &World, trips: &[TripId]) -> HashSet<TripStatus> {
    let mut s = HashSet::new();
    for t in trips {
        s.insert(
            TripRepository::find(&*w.store, *t)
                .await
                .unwrap()
                .unwrap()
                .status(),
        );
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_trips_against_a_hundred_drivers_never_double_assign() {
    let w = world();
    let mut drivers = Vec::new();
    for n in 0..100 {
        drivers.push(driver_online(&w, n).await);
    }
    let mut tasks = Vec::new();
    for p in 0..200 {
        let trips = w.trips.clone();
        tasks.push(tokio::spawn(async move {
            trips
                .request(
                    PassengerId::from_uuid(id(0x9a_0000 + p)),
                    trip_request(),
                    None,
                )
                .await
        }));
    }
    let mut trip_ids = Vec::new();
    for t in tasks {
        trip_ids.push(t.await.unwrap().unwrap().id());
    }
    // Drivers accept whatever they are offered, concurrently, until no offer is open.
    loop {
        let open = open_offers(&w, &trip_ids).await;
        if open.is_empty() {
            break;
        }
        let mut accepts = Vec::new();
        for o in open {
            let trips = w.trips.clone();
            accepts.push(tokio::spawn(async move {
                trips.accept_offer(o.driver_id(), o.id()).await
            }));
        }
        for a in accepts {
            let _ = a.await.unwrap();
        }
    }
    let mut assigned = HashSet::new();
    let mut abandoned = 0;
    for t in &trip_ids {
        let trip = TripRepository::find(&*w.store, *t).await.unwrap().unwrap();
        match trip.status() {
            TripStatus::Arriving => {
                let d = trip.driver_id().unwrap();
                assert!(assigned.insert(d), "driver {d} assigned twice");
                let row = AvailabilityRepository::find(&*w.store, d)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(row.state.current_trip_id, Some(trip.id()));
            }
            TripStatus::NoDriversFound => abandoned += 1,
            other => panic!("trip left {other:?}"),
        }
    }
    assert_eq!(assigned.len() + abandoned, 200);
    assert!(
        assigned.len() >= 90,
        "only {} of 100 drivers were used",
        assigned.len()
    );
}
