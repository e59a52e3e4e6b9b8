//! Short simulations against a real server (in-process, embedded store, its own port): trips
//! complete end to end over real sockets and HTTP, rejections lead to `no_drivers_found`, and the
//! run leaves no driver online behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rodando_adapter_memory::MemoryStore;
use rodando_server::stores::Stores;
use rodando_server::{Application, Config};
use rodando_sim::SimConfig;
use rodando_sim::geo::BBox;
use rodando_sio_client::{ClientOptions, connect};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A running server; stopped when dropped.
struct Server {
    base: String,
    shutdown: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts a server with the demo users plus `extra_drivers` demo drivers.
async fn server(extra_drivers: usize) -> Server {
    let extra = extra_drivers.to_string();
    let vars: HashMap<&str, &str> = HashMap::from([
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("SEED_DEMO_DRIVERS", extra.as_str()),
    ]);
    let config = Config::from_lookup(|k| vars.get(k).map(|v| (*v).to_owned())).unwrap();
    let stores = Stores::memory(Arc::new(MemoryStore::new()));
    let app = Application::build_with(
        config,
        stores,
        Arc::new(rodando_application::clock::SystemClock),
    )
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run_until_stopped());
    Server { base, shutdown }
}

/// A 2 km square in central Havana: every pickup is within the dispatch radius of every driver.
fn small_city() -> BBox {
    "23.120,-82.390,23.138,-82.370".parse().unwrap()
}

fn fast_run(base: &str, drivers: usize) -> SimConfig {
    let mut config = SimConfig::new(base);
    config.drivers = drivers;
    config.passengers = 2;
    config.bbox = small_city();
    config.speed = 20.0;
    config.duration = Duration::from_secs(6 * 60);
    config.trip_rate_per_min = 20.0;
    config.trip_min_m = 300.0;
    config.trip_max_m = 1_500.0;
    config.seed = 7;
    config
}

/// Every online driver, as an admin's dashboard would see them.
async fn online_drivers(base: &str) -> Vec<Value> {
    let login = rodando_sim::api::Api::new(base)
        .unwrap()
        .login("admin@rodando.local", "rodando123", "admin_panel")
        .await
        .unwrap();
    let options = ClientOptions {
        auth: Some(json!({"token": login.access})),
        ..ClientOptions::default()
    };
    let mut admin = connect(base, "/admin", options).await.unwrap();
    admin
        .expect_event("hello", Duration::from_secs(5))
        .await
        .unwrap();
    let reply = admin
        .emit_with_ack("admin:drivers:snapshot", json!({}), Duration::from_secs(5))
        .await
        .unwrap();
    admin.close().await;
    reply["data"]["drivers"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drivers_and_passengers_complete_trips_and_leave_the_server_clean() {
    let server = server(5).await;
    let mut config = fast_run(&server.base, 8);
    config.accept_probability = 1.0;
    config.reject_probability = 0.0;
    let mut seen_online = 0;
    let report = rodando_sim::run(
        config,
        |p| seen_online = seen_online.max(p.drivers_online),
        std::future::pending(),
    )
    .await
    .unwrap();

    assert_eq!(report.errors.count, 0, "{:?}", report.errors.first);
    assert_eq!(report.peak_drivers_online, 8);
    assert_eq!(seen_online, 8);
    assert!(!report.interrupted);
    assert!(
        (report.simulated_secs - 360.0).abs() < 1.0,
        "{}",
        report.simulated_secs
    );
    let trips = report.trips;
    assert!(trips.completed >= 2, "{trips:?}");
    assert!(trips.assigned >= trips.completed, "{trips:?}");
    assert_eq!(
        trips.requested,
        trips.completed + trips.no_driver + trips.cancelled + trips.unfinished_at_end,
        "every requested trip ended one way or another: {trips:?}"
    );
    assert_eq!(trips.no_driver, 0, "every offer was accepted: {trips:?}");
    assert_eq!(trips.cancelled, 0, "no trip got stuck: {trips:?}");
    assert_eq!(report.offers.accepted, trips.assigned);
    assert_eq!(report.offers.rejected + report.offers.ignored, 0);
    assert_eq!(
        report.latency_ms.offer_to_accept.count,
        report.offers.accepted
    );
    assert_eq!(report.latency_ms.request_to_assigned.count, trips.assigned);
    assert!(report.pings > 100, "{}", report.pings);

    // Passengers cancelled what was open, then drivers went offline: nobody is left online.
    assert_eq!(online_drivers(&server.base).await, Vec::<Value>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drivers_who_reject_every_offer_leave_trips_without_a_driver() {
    let server = server(0).await;
    let mut config = fast_run(&server.base, 3);
    config.duration = Duration::from_secs(120);
    config.accept_probability = 0.0;
    config.reject_probability = 1.0;
    let report = rodando_sim::run(config, |_| {}, std::future::pending())
        .await
        .unwrap();

    assert_eq!(report.errors.count, 0, "{:?}", report.errors.first);
    let trips = report.trips;
    assert!(trips.no_driver >= 1, "{trips:?}");
    assert_eq!((trips.assigned, trips.completed), (0, 0), "{trips:?}");
    assert!(
        report.offers.rejected >= trips.no_driver,
        "{:?}",
        report.offers
    );
    assert_eq!(report.offers.accepted, 0);
}

#[tokio::test]
async fn a_run_needing_more_users_than_the_server_has_stops_before_it_starts() {
    let server = server(0).await;
    let config = fast_run(&server.base, 4);
    let error = rodando_sim::run(config, |_| {}, std::future::pending())
        .await
        .unwrap_err();
    assert!(error.contains("driver4@rodando.local"), "{error}");
    assert!(error.contains("SEED_DEMO_DRIVERS"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_still_winds_down_and_says_so() {
    let server = server(0).await;
    let config = fast_run(&server.base, 3);
    let report = rodando_sim::run(config, |_| {}, tokio::time::sleep(Duration::from_secs(2)))
        .await
        .unwrap();
    assert!(report.interrupted);
    assert!(report.simulated_secs < 360.0);
    assert_eq!(report.errors.count, 0, "{:?}", report.errors.first);
    assert_eq!(online_drivers(&server.base).await, Vec::<Value>::new());
}
