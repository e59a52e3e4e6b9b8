//! Location pings written behind to PostgreSQL (docs/positions.md), through the real binary: a
//! SIGTERMed node writes the pings it acked before it exits, and a SIGKILLed one loses at most
//! the last interval.

use std::process::Stdio;
use std::time::{Duration, Instant};

use rodando_sio_client::SioClient;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tokio::process::{Child, Command};

use crate::helpers::Api;
use crate::process::free_port;
use crate::scratch::Scratch;

const WAIT: Duration = Duration::from_secs(5);

/// The server binary over `db`, writing pings behind every `flush`.
async fn start(db: &Scratch, flush: &str) -> (Child, Api) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_rodando-server"))
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", db.url())
        .env("DATABASE_POSITION_FLUSH", flush)
        .env("RATE_LIMIT_EVENTS_PER_SEC", "1000")
        .env("RATE_LIMIT_BURST", "1000")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");
    let api = Api::new(format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    while api.status_of("/ready").await != Some(200) {
        assert!(started.elapsed() < Duration::from_secs(20), "not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, api)
}

fn latitude(i: u32) -> f64 {
    23.1 + f64::from(i) * 1e-5
}

async fn ack(socket: &SioClient, event: &str, payload: Value) -> Value {
    let ack = socket
        .emit_with_ack(event, payload, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{event} was not acked: {e}"));
    assert_eq!(ack["ok"], true, "{event}: {ack}");
    ack
}

async fn ping(socket: &SioClient, i: u32) {
    ack(
        socket,
        "driver:location:ping",
        json!({"latitude": latitude(i), "longitude": -82.36}),
    )
    .await;
}

/// The latitude PostgreSQL holds for the driver, if any.
async fn stored_latitude(db: &Scratch, driver: &str) -> Option<f64> {
    let mut conn = PgConnection::connect(&db.url()).await.unwrap();
    let latitude: Option<f64> = sqlx::query_scalar(
        "SELECT ST_Y(last_location::geometry) FROM drivers_availability WHERE driver_id = $1::uuid",
    )
    .bind(driver)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let _ = conn.close().await;
    latitude
}

fn index_of(latitude: f64) -> u32 {
    ((latitude - 23.1) / 1e-5).round() as u32
}

#[tokio::test]
async fn a_sigtermed_node_writes_the_pings_it_acked_before_it_exits() {
    let db = Scratch::seeded().await;
    // Batches an hour apart: only the shutdown can write the pings.
    let (mut child, api) = start(&db, "1h").await;
    let (driver, login) = api.connected("driver1@rodando.local", "/drivers").await;
    ack(
        &driver,
        "driver:status:update",
        json!({"availabilityStatus": "AVAILABLE"}),
    )
    .await;
    for i in 1..=10 {
        ping(&driver, i).await;
    }
    // Acked from memory. (A durable write racing the first pings, the admission's
    // `is_connected`, may carry an early one with it.)
    let before = stored_latitude(&db, &login.user_id).await.map(index_of);
    assert!(
        before.is_none_or(|i| i < 10),
        "written before the stop: {before:?}"
    );

    let pid = child.id().expect("running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exited within the grace period")
        .unwrap();
    assert!(status.success(), "{status}");

    let stored = stored_latitude(&db, &login.user_id).await;
    assert_eq!(
        stored.map(index_of),
        Some(10),
        "the last acked ping is stored"
    );
    db.drop_it().await;
}

#[tokio::test]
async fn a_killed_node_loses_at_most_one_interval_of_pings() {
    let db = Scratch::seeded().await;
    let interval = Duration::from_millis(200);
    let (mut child, api) = start(&db, "200ms").await;
    let (driver, login) = api.connected("driver1@rodando.local", "/drivers").await;
    ack(
        &driver,
        "driver:status:update",
        json!({"availabilityStatus": "AVAILABLE"}),
    )
    .await;
    // A ping every 20 ms for 1.5 s, each acked; then SIGKILL, no flush.
    let mut acked_at = Vec::new();
    for i in 1..=75 {
        ping(&driver, i).await;
        acked_at.push((i, Instant::now()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.start_kill().unwrap();
    let killed = Instant::now();
    let _ = child.wait().await;

    let stored = stored_latitude(&db, &login.user_id)
        .await
        .map(index_of)
        .expect("some position was written");
    // Everything acked more than an interval (plus a batch's time) before the kill is stored.
    let bound = interval + Duration::from_millis(100);
    let must_have = acked_at
        .iter()
        .filter(|(_, at)| killed.duration_since(*at) > bound)
        .map(|(i, _)| *i)
        .max()
        .unwrap_or(0);
    assert!(
        stored >= must_have,
        "stored ping {stored}, but {must_have} was acked more than {bound:?} before the kill"
    );
    assert!(stored <= 75);
    db.drop_it().await;
}
