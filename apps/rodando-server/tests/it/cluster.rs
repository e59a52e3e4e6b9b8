//! Two server processes sharing one PostgreSQL and one Redis behave as one (PROTOCOL §1
//! `REDIS_URL`, §4, §9): broadcasts, session kicks and trip events reach sockets on the other
//! node.

use crate::helpers::{Hears, QUIET, WAIT, expect_kicked};
use crate::process::ServerProcess;
use crate::scratch::Scratch;
use crate::trips::{
    accept_next_offer, ack_ok, driver_at, go_available, heard_at, ping, trip_request,
    until_matchable,
};

const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Two nodes over one fresh database, seeded with the demo users, and one Redis channel prefix
/// of their own (so parallel tests sharing the Redis server do not hear each other).
pub(crate) struct Cluster {
    pub(crate) a: ServerProcess,
    pub(crate) b: ServerProcess,
    pub(crate) db: Scratch,
    /// The Redis both nodes use, and their channel prefix there (for tests that look inside).
    pub(crate) redis: String,
    pub(crate) prefix: String,
}

impl Cluster {
    pub(crate) async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Both nodes with `extra` on top of the cluster's environment.
    pub(crate) async fn start_with(extra: &[(&str, &str)]) -> Self {
        let (db, redis, prefix) = cluster_store().await;
        let url = db.url();
        let env: Vec<(&str, &str)> = cluster_env(&url, &redis, &prefix)
            .into_iter()
            .chain(extra.iter().copied())
            .collect();
        let (a, b) = tokio::join!(ServerProcess::start(&env), ServerProcess::start(&env));
        Self {
            a,
            b,
            db,
            redis,
            prefix,
        }
    }

    pub(crate) async fn stop(self) {
        drop(self.a);
        drop(self.b);
        self.db.drop_it().await;
    }
}

/// What the nodes of a cluster share: a fresh seeded database, the Redis at REDIS_URL (checked
/// reachable first, so a missing Redis fails with how to start it rather than a server that
/// never comes up) and a channel prefix of their own. For tests that start nodes their own way.
pub(crate) async fn cluster_store() -> (Scratch, String, String) {
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
    let address = redis
        .trim_start_matches("redis://")
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_owned();
    if let Err(e) = tokio::net::TcpStream::connect(&address).await {
        panic!(
            "the multi-node tests need Redis at {redis} ({e}): start it (apt-get install redis-server; redis-server --daemonize yes) or set REDIS_URL"
        );
    }
    let db = Scratch::seeded().await;
    let prefix = format!("rodando-it-{}", uuid::Uuid::new_v4().simple());
    (db, redis, prefix)
}

/// The environment that makes a node one of the cluster over `cluster_store()`'s parts.
pub(crate) fn cluster_env<'a>(
    url: &'a str,
    redis: &'a str,
    prefix: &'a str,
) -> [(&'static str, &'a str); 3] {
    [
        ("DATABASE_URL", url),
        ("REDIS_URL", redis),
        ("REDIS_CHANNEL_PREFIX", prefix),
    ]
}

#[tokio::test]
async fn a_ping_on_node_a_reaches_an_admin_on_node_b() {
    let cluster = Cluster::start().await;
    let (mut admin, _) = cluster.b.joined("admin@rodando.local").await;
    let (driver, login) = cluster.a.joined("driver1@rodando.local").await;

    go_available(&driver).await;
    let status = admin.heard("driver:availability:update", WAIT).await;
    assert_eq!(status["driverId"], login.user_id.as_str());
    assert_eq!(status["availabilityStatus"], "AVAILABLE");

    ping(&driver, (23.1301, -82.3602)).await;
    heard_at(&mut admin, &login, (23.1301, -82.3602)).await;
    cluster.stop().await;
}

#[tokio::test]
async fn a_logout_on_node_b_disconnects_the_session_socket_on_node_a() {
    let cluster = Cluster::start().await;
    let (mut kicked, login) = cluster.a.joined("driver1@rodando.local").await;
    let (mut other_session, _) = cluster.a.joined("driver1@rodando.local").await;

    let (status, body) = cluster
        .b
        .post_with_bearer("/api/auth/logout", &login.access)
        .await;
    assert_eq!(status, 204, "{body}");

    expect_kicked(&mut kicked, &login.session_id, "logout", WAIT).await;
    assert!(
        other_session.wait_disconnect(QUIET).await.is_err(),
        "another session of the same driver stays connected"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn a_trip_event_raised_on_node_a_reaches_the_passenger_on_node_b() {
    let cluster = Cluster::start().await;
    let (mut driver, driver_login) = driver_at(&cluster.a, "driver1@rodando.local", 0.003).await;
    let (mut passenger, _) = cluster.b.joined("passenger1@rodando.local").await;
    let passenger_login = cluster.a.login("passenger1@rodando.local").await;

    // Requested over REST on node A: the passenger's socket on node B hears every step.
    let (status, trip) = cluster
        .a
        .post_json_with("/api/trips", &passenger_login.access, None, trip_request())
        .await;
    assert_eq!(status, 201, "{trip}");
    let trip_id = trip["id"].as_str().unwrap().to_owned();
    let requested = passenger.heard("trip:requested", WAIT).await;
    assert_eq!(requested["tripId"], trip_id.as_str());

    accept_next_offer(&mut driver).await;
    let assigned = passenger.heard("trip:driver_assigned", WAIT).await;
    assert_eq!(assigned["tripId"], trip_id.as_str());
    assert_eq!(assigned["driverId"], driver_login.user_id.as_str());

    // The passenger's socket on node B joined trip:{id} through Redis: later events reach it
    // through that room as well, once each.
    cluster
        .a
        .trip_step(&trip_id, "arrived", &driver_login)
        .await;
    passenger.heard("trip:driver_arrived_pickup", WAIT).await;
    // Each event arrives once.
    passenger
        .not_heard("trip:driver_arrived_pickup", QUIET)
        .await;
    cluster.stop().await;
}

/// Whether the store says `driver` holds a socket somewhere, polled until it says `expected`
/// (a close is recorded in the background) or `WAIT` passes.
async fn until_connected_is(db_url: &str, driver: &str, expected: bool) -> bool {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(db_url).await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let connected: bool = sqlx::query_scalar(
            "SELECT is_connected FROM drivers_availability WHERE driver_id = $1::uuid",
        )
        .bind(driver)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if connected == expected || std::time::Instant::now() > deadline {
            return connected;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A driver's socket on node B keeps it matchable when its socket on node A closes; once the
/// last one closes, on whichever node, it is not.
#[tokio::test]
async fn a_socket_on_the_other_node_keeps_the_driver_matchable() {
    let cluster = Cluster::start().await;
    let url = cluster.db.url();
    let (on_a, login) = driver_at(&cluster.a.api, "driver1@rodando.local", 0.002).await;
    until_matchable(&cluster.b.api, &login).await;
    let mut on_b = cluster.b.socket_of(&login, "/drivers").await;
    let (passenger, _) = cluster.b.joined("passenger1@rodando.local").await;

    on_a.close().await;
    tokio::time::sleep(QUIET).await;
    assert!(
        until_connected_is(&url, &login.user_id, true).await,
        "the socket on node B still counts"
    );
    let reply = ack_ok(&passenger, "trip:request", trip_request()).await;
    let offer = on_b.heard("trip:assignment:offered", WAIT).await;
    assert_eq!(offer["tripId"], reply["data"]["id"]);

    on_b.close().await;
    assert!(
        !until_connected_is(&url, &login.user_id, false).await,
        "no socket left on any node"
    );
    cluster.stop().await;
}
