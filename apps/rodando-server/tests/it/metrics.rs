//! `GET /metrics` (PROTOCOL §2) counts what really happened: sockets by namespace, refused
//! handshakes by code, events in by name, emits out, ack and store latency, dispatch outcomes.
//! The recorder is process-wide, so every assertion compares before and after.

use rodando_sio_client::ClientOptions;
use serde_json::json;

use crate::helpers::{Api, Hears, TestApp, WAIT, refusal, spawn_app};
use crate::trips::{accept_next_offer, ack, driver_at, trip_request};

/// The value of the sample `name{labels…}` carrying every one of `labels`; 0 when absent.
pub(crate) fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(series, _)| {
            series
                .strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('{'))
        })
        .filter(|(series, _)| {
            labels
                .iter()
                .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|(_, value)| value.parse::<f64>().ok())
        .sum()
}

pub(crate) async fn scrape(api: &Api) -> String {
    let response = reqwest::get(format!("{}/metrics", api.base)).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_sockets_refusals_events_emits_and_latencies() {
    let app: TestApp = spawn_app().await;
    let before = scrape(&app).await;

    let (driver, _) = app.joined("driver1@rodando.local").await;
    assert_eq!(
        refusal(app.connect_with("/drivers", ClientOptions::default()).await),
        "missing_token"
    );
    let ping = json!({"latitude": 23.13, "longitude": -82.36});
    assert_eq!(ack(&driver, "driver:location:ping", ping).await["ok"], true);
    let bad = ack(&driver, "driver:location:ping", json!({"latitude": "x"})).await;
    assert_eq!(bad["error"]["code"], "validation_failed");
    let unknown = ack(&driver, &"no:such:event".repeat(50), json!({})).await;
    assert_eq!(unknown["error"]["code"], "unknown_event");

    let after = scrape(&app).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    assert_eq!(
        delta("rodando_socket_connections", &[("namespace", "/drivers")]),
        1.0,
        "{after}"
    );
    assert_eq!(
        delta(
            "rodando_handshakes_total",
            &[("namespace", "/drivers"), ("outcome", "missing_token")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "rodando_handshakes_total",
            &[("namespace", "/drivers"), ("outcome", "admitted")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "rodando_events_in_total",
            &[("namespace", "/drivers"), ("event", "driver:location:ping")]
        ),
        2.0
    );
    assert_eq!(
        delta("rodando_events_in_total", &[("event", "unknown")]),
        1.0,
        "a client's own event name never becomes a label"
    );
    assert!(!after.contains("no:such:event"));
    assert_eq!(
        delta(
            "rodando_event_errors_total",
            &[
                ("event", "driver:location:ping"),
                ("code", "validation_failed")
            ]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "rodando_ack_duration_seconds_count",
            &[("event", "driver:location:ping")]
        ),
        2.0
    );
    for (name, labels, at_least) in [
        (
            "rodando_ack_duration_seconds_bucket",
            &[("event", "driver:location:ping"), ("le", "+Inf")][..],
            2.0,
        ),
        ("rodando_emits_total", &[("event", "hello")], 1.0),
        (
            "rodando_emits_total",
            &[("event", "driver:location:update")],
            1.0,
        ),
        ("rodando_emits_total", &[("event", "exception")], 2.0),
        (
            "rodando_store_duration_seconds_count",
            &[("operation", "availability.compare_and_set")],
            1.0,
        ),
    ] {
        assert!(delta(name, labels) >= at_least, "{name} {labels:?}");
    }

    drop(driver);
    let mut gone = false;
    for _ in 0..30 {
        let now = scrape(&app).await;
        if sample(
            &now,
            "rodando_socket_connections",
            &[("namespace", "/drivers")],
        ) == sample(
            &before,
            "rodando_socket_connections",
            &[("namespace", "/drivers")],
        ) {
            gone = true;
            break;
        }
        tokio::time::sleep(WAIT / 30).await;
    }
    assert!(gone, "a closed socket leaves the connection gauge");
}

#[tokio::test]
async fn metrics_count_dispatch_outcomes() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let (mut driver, _) = driver_at(&app, "driver1@rodando.local", 0.003).await;
    let (passenger, _) = app.joined("passenger1@rodando.local").await;
    assert_eq!(
        ack(&passenger, "trip:request", trip_request()).await["ok"],
        true
    );
    accept_next_offer(&mut driver).await;

    let after = scrape(&app).await;
    for outcome in ["offered", "accepted"] {
        let labels = [("outcome", outcome)];
        assert_eq!(
            sample(&after, "rodando_dispatch_outcomes_total", &labels)
                - sample(&before, "rodando_dispatch_outcomes_total", &labels),
            1.0,
            "{outcome}: {after}"
        );
    }
}

/// The store round trips of one `POST /api/trips` that offers the trip to the one driver near,
/// counted by the `Timed` decorator around every store call. The dispatch scheduler's passes
/// (each: `now`, `due_offers`, `now`, `unattended`) and the presence sweeper's are taken out.
#[tokio::test]
async fn a_trip_request_costs_few_store_round_trips() {
    let app = spawn_app().await;
    let (mut driver, _) = driver_at(&app, "driver1@rodando.local", 0.002).await;
    let passenger = app.login("passenger1@rodando.local").await;
    tokio::time::sleep(crate::helpers::QUIET).await; // the admission's write has landed
    let before = scrape(&app).await;
    let (status, body) = app
        .post_json_with("/api/trips", &passenger.access, None, trip_request())
        .await;
    assert_eq!(status, 201, "{body}");
    driver.heard("trip:assignment:offered", WAIT).await;
    let after = scrape(&app).await;

    let calls = |operation: &str| {
        let labels = [("operation", operation)];
        sample(&after, "rodando_store_duration_seconds_count", &labels)
            - sample(&before, "rodando_store_duration_seconds_count", &labels)
    };
    let total = sample(&after, "rodando_store_duration_seconds_count", &[])
        - sample(&before, "rodando_store_duration_seconds_count", &[]);
    let scheduler = 2.0 * (calls("trips.due_offers") + calls("trips.unattended"));
    let request = total - scheduler - calls("availability.list_stale");
    let mut per_operation: Vec<String> = after
        .lines()
        .filter_map(|line| line.strip_prefix("rodando_store_duration_seconds_count{operation=\""))
        .filter_map(|rest| rest.split_once('"'))
        .map(|(operation, _)| (operation, calls(operation)))
        .filter(|(_, n)| *n > 0.0)
        .map(|(operation, n)| format!("{operation}={n}"))
        .collect();
    per_operation.sort();
    eprintln!(
        "a trip request: {request} store round trips ({})",
        per_operation.join(", ")
    );
    // 9 before the dispatch path was slimmed (the trip read thrice, the list of every driver
    // holding an offer), 7 since, with the store clock read that offer deadlines need.
    assert!(request <= 7.0, "{request}: {per_operation:?}");
}
