//! The dispatch scheduler over the real memory store with a trip store that can be made to fail
//! its offer writes: a trip whose dispatch failed is offered once the store heals, with nobody
//! acting on it, and a trip nobody takes ends `no_drivers_found` (`timeout`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use rodando_adapter_memory::MemoryStore;
use rodando_application::availability::AvailabilityService;
use rodando_application::clock::ManualClock;
use rodando_application::dispatch::UNATTENDED_AFTER;
use rodando_application::trips::TripService;
use rodando_domain::dispatch::DispatchPolicy;
use rodando_domain::ids::{DriverId, OfferId, PassengerId, TripId};
use rodando_domain::offer::Offer;
use rodando_domain::trip::{Trip, TripStatus};
use rodando_domain::trip_list::TripListQuery;
use rodando_ports::Unexpected;
use rodando_ports::trips::{
    Applied, CreateTripError, DispatchConflict, DispatchWrite, Idempotency, TripRepository,
    UnattendedQuery, UnattendedTrip,
};
use support::{NOW, memory_availability, memory_trips, trip_request};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The memory store, whose offer writes fail while `failing` is set (as a PostgreSQL with a
/// broken constraint or a dropped connection would).
struct FlakyTrips {
    store: Arc<MemoryStore>,
    failing: AtomicBool,
}

#[async_trait]
impl TripRepository for FlakyTrips {
    async fn create(
        &self,
        trip: &Trip,
        idempotency: Option<Idempotency>,
    ) -> Result<Trip, CreateTripError> {
        self.store.create(trip, idempotency).await
    }
    async fn find(&self, id: TripId) -> Result<Option<Trip>, Unexpected> {
        self.store.find(id).await
    }
    async fn active_for_passenger(
        &self,
        passenger: PassengerId,
    ) -> Result<Option<Trip>, Unexpected> {
        self.store.active_for_passenger(passenger).await
    }
    async fn list(&self, query: &TripListQuery) -> Result<Vec<Trip>, Unexpected> {
        self.store.list(query).await
    }
    async fn find_offer(&self, id: OfferId) -> Result<Option<Offer>, Unexpected> {
        self.store.find_offer(id).await
    }
    async fn offers_for_trip(&self, trip: TripId) -> Result<Vec<Offer>, Unexpected> {
        self.store.offers_for_trip(trip).await
    }
    async fn open_offer_of(&self, driver: DriverId) -> Result<Option<Offer>, Unexpected> {
        self.store.open_offer_of(driver).await
    }
    async fn unattended(&self, query: &UnattendedQuery) -> Result<Vec<UnattendedTrip>, Unexpected> {
        self.store.unattended(query).await
    }
    async fn now(&self) -> Result<OffsetDateTime, Unexpected> {
        self.store.now().await
    }
    async fn due_offers(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Offer>, Unexpected> {
        self.store.due_offers(now, limit).await
    }
    async fn apply(&self, write: &DispatchWrite) -> Result<Applied, DispatchConflict> {
        if write.new_offer.is_some() && self.failing.load(Ordering::SeqCst) {
            return Err(Unexpected::msg("offer insert failed").into());
        }
        self.store.apply(write).await
    }
}

struct World {
    store: Arc<MemoryStore>,
    flaky: Arc<FlakyTrips>,
    clock: Arc<ManualClock>,
    trips: TripService,
    availability: AvailabilityService,
}

fn world() -> World {
    let clock = Arc::new(ManualClock::new(NOW));
    let store = Arc::new(MemoryStore::with_clock(clock.clone()));
    let flaky = Arc::new(FlakyTrips {
        store: store.clone(),
        failing: AtomicBool::new(false),
    });
    let trips = memory_trips(
        flaky.clone(),
        &store,
        clock.clone(),
        DispatchPolicy::default(),
    );
    let availability = memory_availability(&store, clock.clone());
    World {
        store,
        flaky,
        clock,
        trips,
        availability,
    }
}

/// A new passenger's trip request; returns the trip as requested.
async fn requested(w: &World) -> Trip {
    let passenger = PassengerId::from_uuid(Uuid::new_v4());
    w.trips
        .request(passenger, trip_request(), None)
        .await
        .unwrap()
}

async fn driver_near_pickup(w: &World) -> DriverId {
    let d = DriverId::from_uuid(Uuid::new_v4());
    support::online_driver_at(&w.availability, d, 23.101, -82.36).await;
    d
}

async fn status_of(w: &World, trip: TripId) -> TripStatus {
    w.store.find(trip).await.unwrap().unwrap().status()
}

#[tokio::test]
async fn a_trip_whose_offer_write_failed_is_offered_once_the_store_heals() {
    let w = world();
    let driver = driver_near_pickup(&w).await;
    w.flaky.failing.store(true, Ordering::SeqCst);
    let trip = requested(&w).await;
    assert_eq!(status_of(&w, trip.id()).await, TripStatus::Pending);

    // Quiet long enough, but the store still fails: nothing is made, nothing is lost.
    w.clock.advance(UNATTENDED_AFTER);
    assert_eq!(w.trips.attend_unattended(10).await.unwrap(), 1);
    assert_eq!(w.store.open_offer_of(driver).await.unwrap(), None);

    w.flaky.failing.store(false, Ordering::SeqCst);
    assert_eq!(w.trips.attend_unattended(10).await.unwrap(), 1);
    let offer = w
        .store
        .open_offer_of(driver)
        .await
        .unwrap()
        .expect("offered");
    assert_eq!(offer.trip_id(), trip.id());
    assert_eq!(status_of(&w, trip.id()).await, TripStatus::Assigning);
    assert_eq!(
        w.trips.attend_unattended(10).await.unwrap(),
        0,
        "an open offer is someone acting"
    );
}

#[tokio::test]
async fn a_trip_nobody_takes_ends_no_drivers_found_with_reason_timeout() {
    let w = world();
    let driver = driver_near_pickup(&w).await;
    let trip = requested(&w).await;
    let open = w
        .store
        .open_offer_of(driver)
        .await
        .unwrap()
        .expect("offered");

    w.clock.advance(Duration::seconds(119));
    w.trips.attend_unattended(10).await.unwrap();
    assert_eq!(status_of(&w, trip.id()).await, TripStatus::Assigning);

    w.clock.advance(Duration::seconds(1));
    assert_eq!(w.trips.attend_unattended(10).await.unwrap(), 1);
    let ended = w.store.find(trip.id()).await.unwrap().unwrap();
    assert_eq!(ended.status(), TripStatus::NoDriversFound);
    assert_eq!(ended.end_reason(), Some("timeout"));
    let withdrawn = w.store.find_offer(open.id()).await.unwrap().unwrap();
    assert!(!withdrawn.is_open(), "the open offer is withdrawn");
    assert_eq!(w.store.open_offer_of(driver).await.unwrap(), None);
}
