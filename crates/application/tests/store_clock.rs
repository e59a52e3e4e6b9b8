//! Offer deadlines are set and judged on the store's clock (`TripRepository::now`), not the
//! node's: two nodes whose clocks are a minute apart agree on whether an offer is open.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use std::sync::Arc;

use rodando_adapter_memory::MemoryStore;
use rodando_application::clock::ManualClock;
use rodando_application::trips::TripService;
use rodando_domain::dispatch::DispatchPolicy;
use rodando_domain::ids::{DriverId, PassengerId};
use rodando_domain::offer::OfferStatus;
use rodando_domain::trip::TripStatus;
use rodando_ports::trips::TripRepository;
use support::NOW;
use time::Duration;
use uuid::Uuid;

/// A node: its own clock, `skew` away from the store's, over the shared store.
fn node(store: &Arc<MemoryStore>, store_clock: &ManualClock, skew: Duration) -> TripService {
    let clock = ManualClock::new(rodando_ports::clock::Clock::now(store_clock) + skew);
    support::memory_trips(
        store.clone(),
        store,
        Arc::new(clock),
        DispatchPolicy::default(),
    )
}

#[tokio::test]
async fn nodes_with_skewed_clocks_agree_on_an_offers_deadline() {
    let store_clock = Arc::new(ManualClock::new(NOW));
    let store = Arc::new(MemoryStore::with_clock(store_clock.clone()));
    let ahead = node(&store, &store_clock, Duration::seconds(60));
    let behind = node(&store, &store_clock, Duration::seconds(-60));

    let availability = support::memory_availability(&store, store_clock.clone());
    let free_driver = || async {
        let driver = DriverId::from_uuid(Uuid::new_v4());
        support::online_driver_at(&availability, driver, 23.101, -82.36).await;
        driver
    };
    let passenger = || PassengerId::from_uuid(Uuid::new_v4());

    // The node a minute ahead offers: the deadline is the store's now + 20 s.
    let taker = free_driver().await;
    let trip = ahead
        .request(passenger(), support::trip_request(), None)
        .await
        .unwrap();
    let offer = store.open_offer_of(taker).await.unwrap().expect("offered");
    assert_eq!(offer.offered_at(), NOW, "stamped by the store's clock");
    assert_eq!(offer.expires_at(), NOW + Duration::seconds(20));

    // 19 s later on the store (79 s on its own clock) it still neither expires nor refuses it.
    store_clock.advance(Duration::seconds(19));
    assert_eq!(ahead.expire_due_offers(10).await.unwrap(), 0);
    let taken = ahead.accept_offer(taker, offer.id()).await.unwrap();
    assert_eq!(taken.id(), trip.id());
    assert_eq!(taken.status(), TripStatus::Arriving);

    // The node a minute behind expires an offer once the store's clock passes its deadline,
    // though its own clock is 40 s short of it.
    let silent = free_driver().await;
    behind
        .request(passenger(), support::trip_request(), None)
        .await
        .unwrap();
    let unanswered = store.open_offer_of(silent).await.unwrap().expect("offered");
    store_clock.advance(Duration::seconds(19));
    assert_eq!(behind.expire_due_offers(10).await.unwrap(), 0);
    store_clock.advance(Duration::seconds(1));
    assert_eq!(behind.expire_due_offers(10).await.unwrap(), 1);
    let expired = store.find_offer(unanswered.id()).await.unwrap().unwrap();
    assert_eq!(expired.status(), OfferStatus::Expired);
}
