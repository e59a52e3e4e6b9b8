//! Fan-out isolation (issue 13): a socket that stops reading — a long-polling client that never
//! polls again, so its packet buffer fills — costs nobody else an event, a kick or a fleet
//! update; and sockets of sessions ended while a node was deaf are found again.
//!
//! The stalled socket is spoken to in raw engine.io v4 long-polling (the test client only does
//! WebSocket): one handshake `GET`, the namespace CONNECT `POST`ed, a few `GET`s until `hello`,
//! then no `GET` until the test wants to look at what piled up.

use std::time::{Duration, Instant};

use rodando_domain::ids::SessionId;
use rodando_domain::session::RevokeReason;
use rodando_sio_client::{Disconnect, SioClient};
use serde_json::{Value, json};

use crate::helpers::{Api, Hears, QUIET, TestApp, WAIT, expect_kicked, spawn_app_with};
use crate::trips::{go_available, ping};

/// `max_buffered_packets` of the transport (crates/adapter-socketio/src/config.rs).
const BUFFER: usize = 1024;
/// Location updates sent to the stalled socket's room: more than its buffer holds.
const FLOOD: usize = BUFFER + 64;

/// No heartbeat during a test (a ping that cannot be queued closes the stalled socket, which
/// would hide what the server does about it), and no rate limit on the flood.
const OVERRIDES: &[(&str, &str)] = &[
    ("WS_PING_INTERVAL", "120s"),
    ("WS_PING_TIMEOUT", "60s"),
    ("RATE_LIMIT_EVENTS_PER_SEC", "1000000"),
    ("RATE_LIMIT_BURST", "1000000"),
];

/// A raw engine.io v4 long-polling connection, polled only when the test says so.
struct Polling {
    http: reqwest::Client,
    url: String,
}

impl Polling {
    /// Opens the engine.io session, enters `namespace` with `token` and reads up to `hello`.
    async fn open(base: &str, namespace: &str, token: &str) -> Self {
        let http = reqwest::Client::new();
        let open = http
            .get(format!("{base}/socket.io/?EIO=4&transport=polling"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let handshake: Value =
            serde_json::from_str(open.strip_prefix('0').expect("an engine.io OPEN packet"))
                .unwrap();
        let sid = handshake["sid"].as_str().expect("an engine.io sid");
        let polling = Self {
            http,
            url: format!("{base}/socket.io/?EIO=4&transport=polling&sid={sid}"),
        };
        polling
            .post(&format!("40{namespace},{}", json!({ "token": token })))
            .await;
        let hello = format!("42{namespace},[\"hello\"");
        let deadline = Instant::now() + WAIT;
        let mut seen: Vec<String> = Vec::new();
        while !seen.iter().any(|p| p.starts_with(&hello)) {
            assert!(Instant::now() < deadline, "no hello over polling: {seen:?}");
            seen.extend(polling.poll().await);
            assert!(
                !seen
                    .iter()
                    .any(|p| p.starts_with(&format!("44{namespace}"))),
                "refused: {seen:?}"
            );
        }
        polling
    }

    /// Sends engine.io payload `packet` (one packet).
    async fn post(&self, packet: &str) {
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(packet.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "POST {packet}");
    }

    /// One `GET`: every packet the server had buffered (or the next one to come).
    async fn poll(&self) -> Vec<String> {
        let response = tokio::time::timeout(WAIT, self.http.get(&self.url).send())
            .await
            .expect("a poll is answered")
            .unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        text.split('\x1e').map(str::to_owned).collect()
    }
}

/// Pings from `socket` `count` times, each at a new position so each one is broadcast to the
/// driver's room, and waits for every ack (the broadcast happened before the ack).
async fn flood(socket: &SioClient, count: usize) {
    for i in 0..count {
        let latitude = 23.0 + (i as f64) * 0.0001;
        ping(socket, (latitude, -82.36)).await;
    }
}

async fn scrape(api: &Api) -> String {
    reqwest::get(format!("{}/metrics", api.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The sum of the samples of `rodando_emit_failures_total{reason}`.
fn emit_failures(text: &str, reason: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with("rodando_emit_failures_total{"))
        .filter(|line| line.contains(&format!("reason=\"{reason}\"")))
        .filter_map(|line| line.rsplit_once(' '))
        .filter_map(|(_, value)| value.parse::<f64>().ok())
        .sum()
}

/// Floods the stalled socket's room from `live` and checks, in `/metrics`, that emits to it
/// failed because its buffer was full.
async fn fill_the_stalled_buffer(app: &TestApp, live: &SioClient) {
    let before = emit_failures(&scrape(app).await, "full");
    flood(live, FLOOD).await;
    let after = emit_failures(&scrape(app).await, "full");
    assert!(
        after - before >= (FLOOD - BUFFER) as f64 / 2.0,
        "the stalled socket's buffer never filled: rodando_emit_failures_total{{reason=\"full\"}} went from {before} to {after}"
    );
}

#[tokio::test]
async fn logout_disconnects_the_sessions_live_socket_at_once_though_another_is_stalled() {
    let app = spawn_app_with(OVERRIDES).await;
    let (mut live, login) = app.joined("driver1@rodando.local").await;
    let stalled = Polling::open(&app.base, "/drivers", &login.access).await;
    let (mut admin, _) = app.joined("admin@rodando.local").await;
    fill_the_stalled_buffer(&app, &live).await;

    let started = Instant::now();
    assert_eq!(
        app.post_with_bearer("/api/auth/logout", &login.access)
            .await
            .0,
        204
    );
    let revoked = live
        .expect_event("auth:session_revoked", Duration::from_secs(1))
        .await
        .expect("the live socket is told");
    assert_eq!(
        revoked,
        json!({"sessionId": login.session_id, "reason": "logout"})
    );
    let left = Duration::from_secs(1).saturating_sub(started.elapsed());
    assert_eq!(
        live.wait_disconnect(left)
            .await
            .expect("disconnected within 1 s of the logout"),
        Disconnect::ByServer
    );

    // The stalled socket could be neither told nor disconnected (no room for either packet),
    // but it can no longer act: what it sends is dropped.
    admin.drain_events();
    stalled
        .post(r#"42/drivers,["driver:status:update",{"availabilityStatus":"AVAILABLE"}]"#)
        .await;
    // An event of a revoked session's socket is not acted on.
    admin.not_heard("driver:availability:update", QUIET).await;

    // Its buffer really was full: it holds exactly a buffer of location updates (a poll
    // returns some of them, the next poll the next ones)... and once it has room again it is
    // told and disconnected.
    let deadline = Instant::now() + WAIT;
    let mut piled: Vec<String> = Vec::new();
    while !piled.iter().any(|p| p == "41/drivers,") {
        assert!(
            Instant::now() < deadline,
            "never disconnected: {:?}",
            piled.last()
        );
        piled.extend(stalled.poll().await);
    }
    // engine.io's first ping (`2`, sent at once on connection) may sit among them.
    let (queued, rest): (Vec<String>, Vec<String>) = piled
        .into_iter()
        .partition(|p| p == "2" || p.starts_with("42/drivers,[\"driver:location:update\""));
    assert_eq!(queued.len(), BUFFER, "then: {rest:?}");
    let told: Vec<Value> = rest
        .iter()
        .filter_map(|p| p.strip_prefix("42/drivers,"))
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    assert_eq!(
        told,
        [json!(["auth:session_revoked", {"sessionId": login.session_id, "reason": "logout"}])],
        "{rest:?}"
    );
}

#[tokio::test]
async fn a_stalled_socket_in_a_drivers_room_keeps_none_of_that_drivers_updates_from_admins() {
    let app = spawn_app_with(OVERRIDES).await;
    let (mut admin, _) = app.joined("admin@rodando.local").await;
    let (live, login) = app.joined("driver2@rodando.local").await;
    let _stalled = Polling::open(&app.base, "/drivers", &login.access).await;
    fill_the_stalled_buffer(&app, &live).await;
    admin.drain_events();

    go_available(&live).await;
    let update = admin
        .expect_event("driver:availability:update", WAIT)
        .await
        .expect("admins hear the driver's status");
    assert_eq!(update["driverId"], login.user_id.as_str());
    assert_eq!(update["availabilityStatus"], "AVAILABLE");

    ping(&live, (24.5, -82.0)).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let location = admin
            .expect_event("driver:location:update", left)
            .await
            .expect("admins hear the driver's latest position");
        if location["lastLocation"]["coordinates"] == json!([-82.0, 24.5]) {
            assert_eq!(location["driverId"], login.user_id.as_str());
            break;
        }
    }
}

#[tokio::test]
async fn revalidation_kicks_the_sockets_of_sessions_revoked_behind_the_nodes_back() {
    let app = spawn_app_with(&[]).await;
    let revoked = app.login("driver1@rodando.local").await;
    let mut phone = app.socket_of(&revoked, "/drivers").await;
    let mut tablet = app.socket_of(&revoked, "/drivers").await;
    let live = app.login("driver2@rodando.local").await;
    let mut bystander = app.socket_of(&live, "/drivers").await;

    assert_eq!(app.session_recheck.run().await, 0, "every session is live");
    assert!(phone.is_connected() && tablet.is_connected() && bystander.is_connected());

    // Revoked in the store only, as another node would while this one cannot hear it.
    let session = SessionId::parse(&revoked.session_id).unwrap();
    assert!(
        app.stores
            .sessions
            .revoke(
                session,
                RevokeReason::RefreshTokenReuse,
                time::OffsetDateTime::now_utc()
            )
            .await
            .unwrap()
    );
    // Nobody told this node.
    phone.not_heard("auth:session_revoked", QUIET).await;

    assert_eq!(app.session_recheck.run().await, 2);
    for socket in [&mut phone, &mut tablet] {
        expect_kicked(socket, &revoked.session_id, "refresh_token_reuse", WAIT).await;
    }
    bystander.not_heard("auth:session_revoked", QUIET).await;
    assert!(bystander.is_connected(), "a live session's socket stays");
}
