//! Location pings written behind to PostgreSQL (docs/positions.md), through the real binary: a
//! SIGTERMed node writes the pings it acked before it exits, a SIGKILLed one loses at most
//! the last interval, `/metrics` shows the buffer's work, and one driver pinging through two
//! nodes ends with its latest position stored whichever node writes last.

use std::process::Stdio;
use std::time::{Duration, Instant};

use rodando_sio_client::SioClient;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tokio::process::{Child, Command};

use crate::helpers::Api;
use crate::metrics::{sample, scrape};
use crate::process::free_port;
use crate::scratch::Scratch;

const WAIT: Duration = Duration::from_secs(5);

/// The server binary over `db`, writing pings behind every `flush`.
async fn start(db: &Scratch, flush: &str) -> (Child, Api) {
    start_with(db, flush, &[]).await
}

/// [`start`] with more environment.
async fn start_with(db: &Scratch, flush: &str, env: &[(&str, &str)]) -> (Child, Api) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_rodando-server"))
        .envs(env.iter().copied())
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

/// `socket`'s driver goes AVAILABLE (acked `{ok: true}`, with this file's longer wait); returns
/// the reply.
async fn go_available(socket: &SioClient) -> Value {
    ack(
        socket,
        "driver:status:update",
        json!({"availabilityStatus": "AVAILABLE"}),
    )
    .await
}

async fn ping(socket: &SioClient, i: u32) {
    ack(
        socket,
        "driver:location:ping",
        json!({"latitude": latitude(i), "longitude": -82.36}),
    )
    .await;
}

/// Which ping (by [`index_of`] its latitude) PostgreSQL holds for the driver, if any.
async fn stored_ping(db: &Scratch, driver: &str) -> Option<u32> {
    let mut conn = PgConnection::connect(&db.url()).await.unwrap();
    let latitude: Option<f64> = sqlx::query_scalar(
        "SELECT ST_Y(last_location::geometry) FROM drivers_availability WHERE driver_id = $1::uuid",
    )
    .bind(driver)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let _ = conn.close().await;
    latitude.map(index_of)
}

fn index_of(latitude: f64) -> u32 {
    ((latitude - 23.1) / 1e-5).round() as u32
}

#[tokio::test]
async fn a_sigtermed_node_writes_the_pings_it_acked_before_it_exits() {
    let db = Scratch::seeded().await;
    // Batches an hour apart: only the shutdown can write the pings.
    let (mut child, api) = start(&db, "1h").await;
    let (driver, login) = api.joined("driver1@rodando.local").await;
    go_available(&driver).await;
    for i in 1..=10 {
        ping(&driver, i).await;
    }
    // Acked from memory. (A durable write racing the first pings, the admission's
    // `is_connected`, may carry an early one with it.)
    let before = stored_ping(&db, &login.user_id).await;
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

    assert_eq!(
        stored_ping(&db, &login.user_id).await,
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
    let (driver, login) = api.joined("driver1@rodando.local").await;
    go_available(&driver).await;
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

    let stored = stored_ping(&db, &login.user_id)
        .await
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

/// Polls `/metrics` until `done` holds for a scrape; returns that scrape.
async fn metrics_until(api: &Api, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(api).await;
        if done(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "{what}, within 10 s:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn value(text: &str, name: &str) -> f64 {
    sample(text, name, &[])
}

async fn execute(db: &Scratch, sql: &str) {
    let mut conn = PgConnection::connect(&db.url()).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    let _ = conn.close().await;
}

#[tokio::test]
async fn metrics_show_batches_buffered_positions_a_full_buffer_and_failed_batches() {
    let db = Scratch::seeded().await;
    let (_child, api) = start_with(&db, "100ms", &[("DATABASE_POSITION_BUFFER", "2")]).await;
    // Every series is there from the start, at 0.
    let text = scrape(&api).await;
    for name in [
        "rodando_position_flushes_total",
        "rodando_position_rows_written_total",
        "rodando_position_flush_failures_total",
        "rodando_position_buffer_full_total",
        "rodando_position_buffer_drivers",
        "rodando_position_buffer_unwritten",
    ] {
        assert!(
            text.contains(&format!("\n{name} ")),
            "{name} missing:\n{text}"
        );
    }
    assert_eq!(value(&text, "rodando_position_flush_failures_total"), 0.0);

    let mut drivers = Vec::new();
    for email in ["driver1@rodando.local", "driver2@rodando.local"] {
        let (socket, login) = api.connected(email, "/drivers").await;
        go_available(&socket).await;
        for i in 1..=5 {
            ping(&socket, i).await;
        }
        drivers.push((socket, login));
    }
    let text = metrics_until(&api, "both drivers' pings written", |t| {
        value(t, "rodando_position_buffer_drivers") == 2.0
            && value(t, "rodando_position_buffer_unwritten") == 0.0
            && value(t, "rodando_position_rows_written_total") >= 1.0
    })
    .await;
    assert!(value(&text, "rodando_position_flushes_total") >= 1.0);
    assert!(value(&text, "rodando_position_flush_duration_seconds_count") >= 1.0);
    assert!(value(&text, "rodando_position_last_flush_duration_seconds") > 0.0);
    assert_eq!(value(&text, "rodando_position_buffer_full_total"), 0.0);
    for (_, login) in &drivers {
        assert_eq!(stored_ping(&db, &login.user_id).await, Some(5));
    }

    // A third driver does not fit (DATABASE_POSITION_BUFFER=2): written through, counted.
    let (third, login) = api.joined("driver3@rodando.local").await;
    ping(&third, 7).await;
    assert_eq!(stored_ping(&db, &login.user_id).await, Some(7));
    let text = scrape(&api).await;
    assert_eq!(value(&text, "rodando_position_buffer_full_total"), 1.0);

    // Batches that fail (every UPDATE of the table refused) are counted; the pings of known
    // drivers are still acked and stay buffered until a batch succeeds.
    execute(
        &db,
        "CREATE FUNCTION refuse_updates() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$; \
         CREATE TRIGGER refuse_updates BEFORE UPDATE ON drivers_availability \
           FOR EACH STATEMENT EXECUTE FUNCTION refuse_updates();",
    )
    .await;
    ping(&drivers[0].0, 9).await;
    metrics_until(
        &api,
        "a failed batch counted, the ping still buffered",
        |t| {
            value(t, "rodando_position_flush_failures_total") >= 1.0
                && value(t, "rodando_position_buffer_unwritten") == 1.0
        },
    )
    .await;
    assert_eq!(stored_ping(&db, &drivers[0].1.user_id).await, Some(5));
    execute(
        &db,
        "DROP TRIGGER refuse_updates ON drivers_availability; DROP FUNCTION refuse_updates();",
    )
    .await;
    metrics_until(&api, "the buffered ping written after the outage", |t| {
        value(t, "rodando_position_buffer_unwritten") == 0.0
    })
    .await;
    assert_eq!(stored_ping(&db, &drivers[0].1.user_id).await, Some(9));
    db.drop_it().await;
}

/// One driver with a socket on each of two nodes over one database, pinging through both in
/// turn. Each node's batch writes that node's latest ping, and the batches land in any order
/// (here node A every 100 ms, node B every second); the `last_location_timestamp` guard of the
/// batch keeps PostgreSQL at the latest ping by time: it never goes back while they ping, and
/// once both have written it is the last ping, although node B writes its older one after.
#[tokio::test]
async fn one_driver_pinging_through_two_nodes_keeps_the_latest_position() {
    let db = Scratch::seeded().await;
    let ((_a_child, a), (_b_child, b)) = tokio::join!(start(&db, "100ms"), start(&db, "1s"));
    let (on_a, login) = a.joined("driver1@rodando.local").await;
    let on_b = b.socket_of(&login, "/drivers").await;
    go_available(&on_a).await;

    // What PostgreSQL holds, sampled while the driver pings.
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let sampler = {
        let url = db.url();
        let driver = login.user_id.clone();
        tokio::spawn(async move {
            let mut conn = PgConnection::connect(&url).await.unwrap();
            let mut seen = Vec::new();
            loop {
                let latitude: Option<f64> = sqlx::query_scalar(
                    "SELECT ST_Y(last_location::geometry) FROM drivers_availability \
                     WHERE driver_id = $1::uuid",
                )
                .bind(&driver)
                .fetch_one(&mut conn)
                .await
                .unwrap();
                if let Some(latitude) = latitude {
                    let i = index_of(latitude);
                    if seen.last() != Some(&i) {
                        seen.push(i);
                    }
                }
                tokio::select! {
                    _ = &mut stopped => return seen,
                    () = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
            }
        })
    };

    // Odd pings through B, even ones through A; the last one (80) through A, so B still holds
    // 79 when A has written 80.
    const LAST: u32 = 80;
    for i in 1..=LAST {
        ping(if i % 2 == 1 { &on_b } else { &on_a }, i).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Both nodes have written everything, B at least once after the last ping.
    let b_flushes = value(&scrape(&b).await, "rodando_position_flushes_total");
    metrics_until(&b, "two batches of node B after the last ping", |t| {
        value(t, "rodando_position_flushes_total") >= b_flushes + 2.0
            && value(t, "rodando_position_buffer_unwritten") == 0.0
    })
    .await;
    metrics_until(&a, "node A's pings written", |t| {
        value(t, "rodando_position_buffer_unwritten") == 0.0
    })
    .await;
    let _ = stop.send(());
    let seen = sampler.await.unwrap();

    assert_eq!(
        stored_ping(&db, &login.user_id).await,
        Some(LAST),
        "PostgreSQL holds the last ping (positions seen: {seen:?})"
    );
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "the stored position went back: {seen:?}"
    );
    // Both nodes read the latest one too (their status acks carry the stored row).
    for socket in [&on_a, &on_b] {
        let reply = go_available(socket).await;
        let latitude = reply["data"]["lastLocation"]["coordinates"][1]
            .as_f64()
            .unwrap_or_else(|| panic!("no position in {reply}"));
        assert_eq!(index_of(latitude), LAST, "{reply}");
    }
    db.drop_it().await;
}
