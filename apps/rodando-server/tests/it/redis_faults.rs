//! Two server processes over a Redis of their own, which the tests break (issue 13): pub/sub
//! connections killed, Redis killed and restarted empty. Local delivery never stops, `/ready`
//! says when cluster delivery is down, and cross-node delivery comes back by itself.
//!
//! The measured times are printed (`--no-capture` shows them); docs/operations.md quotes them.

use std::process::Stdio;
use std::time::{Duration, Instant};

use rodando_sio_client::SioClient;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::helpers::WAIT;
use crate::process::{ServerProcess, free_port};
use crate::scratch::Scratch;
use crate::trips::{ack, go_available};

/// Cross-node delivery must be back within this after the fault ends.
const RESUME_LIMIT: Duration = Duration::from_secs(10);
/// `/ready` must say 503 within this after Redis died.
const NOT_READY_LIMIT: Duration = Duration::from_secs(5);

/// A `redis-server` of this test alone, on a free port, keeping nothing on disk.
struct TestRedis {
    port: u16,
    child: Option<Child>,
}

impl TestRedis {
    async fn start() -> Self {
        let port = free_port();
        let mut redis = Self { port, child: None };
        redis.spawn().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server on this port (again) and waits until it answers `PING`.
    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("these tests run redis-server ({e}): apt-get install redis-server")
            });
        self.child = Some(child);
        let started = Instant::now();
        while self.command(&["PING"]).await.is_err() {
            assert!(
                started.elapsed() < WAIT,
                "redis-server on port {} did not answer within {WAIT:?}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no goodbye to the clients, as a crashed or fenced-off server.
    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("SIGKILL redis-server");
            child.wait().await.expect("redis-server exits");
        }
    }

    /// One command on a connection of its own.
    async fn command(&self, args: &[&str]) -> redis::RedisResult<redis::Value> {
        let client = redis::Client::open(self.url())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query_async(&mut conn).await
    }
}

/// Two nodes over one fresh database and one [`TestRedis`].
struct Nodes {
    a: ServerProcess,
    b: ServerProcess,
    redis: TestRedis,
    db: Scratch,
}

impl Nodes {
    async fn start() -> Self {
        let redis = TestRedis::start().await;
        let db = Scratch::seeded().await;
        let url = db.url();
        let redis_url = redis.url();
        let env = [
            ("DATABASE_URL", url.as_str()),
            ("REDIS_URL", redis_url.as_str()),
            ("REDIS_CHANNEL_PREFIX", "rodando-faults"),
        ];
        let (a, b) = tokio::join!(ServerProcess::start(&env), ServerProcess::start(&env));
        Self { a, b, redis, db }
    }

    async fn stop(self) {
        drop(self.a);
        drop(self.b);
        drop(self.redis);
        self.db.drop_it().await;
    }
}

/// `email`, a driver, online on `node`.
async fn online_driver(node: &ServerProcess, email: &str) -> SioClient {
    let (driver, _) = node.connected(email, "/drivers").await;
    go_available(&driver).await;
    driver
}

/// Sends a location ping from `driver` every 250 ms until `admin` hears one of those pings
/// (not an earlier one); how long that took, or `None` after `limit`.
async fn until_heard(
    driver: &SioClient,
    admin: &mut SioClient,
    limit: Duration,
    seq: &mut u32,
) -> Option<Duration> {
    let started = Instant::now();
    admin.drain_events();
    let mut sent = Vec::new();
    while started.elapsed() < limit {
        *seq += 1;
        let latitude = 23.1 + f64::from(*seq) * 1e-4;
        let ping = ack(
            driver,
            "driver:location:ping",
            json!({"latitude": latitude, "longitude": -82.36}),
        )
        .await;
        assert_eq!(
            ping["ok"], true,
            "pings are acked whatever Redis does: {ping}"
        );
        sent.push(latitude);
        let deadline = Instant::now() + Duration::from_millis(250);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(update) = admin.expect_event("driver:location:update", left).await else {
                break;
            };
            let heard = update["lastLocation"]["coordinates"][1].as_f64();
            if heard.is_some_and(|heard| sent.iter().any(|s| (s - heard).abs() < 1e-9)) {
                return Some(started.elapsed());
            }
        }
    }
    None
}

/// Where each fault starts: driver1 online on node A, and an admin on node B that hears its
/// pings. Returns the driver, the admin and the ping counter for [`until_heard`].
async fn delivering_across(nodes: &Nodes) -> (SioClient, SioClient, u32) {
    let (mut admin_b, _) = nodes.b.joined("admin@rodando.local").await;
    let driver = online_driver(&nodes.a, "driver1@rodando.local").await;
    let mut seq = 0;
    assert!(
        until_heard(&driver, &mut admin_b, WAIT, &mut seq)
            .await
            .is_some(),
        "cross-node delivery works before the fault"
    );
    (driver, admin_b, seq)
}

/// Polls `GET /ready` every 100 ms until it answers `status`; how long that took and the body.
async fn until_ready_is(
    node: &ServerProcess,
    status: u16,
    limit: Duration,
) -> Option<(Duration, serde_json::Value)> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let (got, body) = node.get("/ready").await;
        if got == status {
            return Some((started.elapsed(), body));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn pub_sub_connections_killed_cross_node_delivery_resumes_within_10_s() {
    let nodes = Nodes::start().await;
    let (driver, mut admin_b, mut seq) = delivering_across(&nodes).await;

    let killed = nodes
        .redis
        .command(&["CLIENT", "KILL", "TYPE", "pubsub"])
        .await
        .unwrap();
    assert!(
        matches!(killed, redis::Value::Int(n) if n >= 2),
        "both nodes' subscribers were killed: {killed:?}"
    );
    let resumed = until_heard(&driver, &mut admin_b, RESUME_LIMIT, &mut seq).await;
    let resumed = resumed.unwrap_or_else(|| {
        panic!("a ping on node A did not reach node B within {RESUME_LIMIT:?} of CLIENT KILL")
    });
    eprintln!("redis_faults: CLIENT KILL TYPE pubsub -> cross-node delivery back in {resumed:?}");
    assert_eq!(nodes.a.status_of("/ready").await, Some(200));
    nodes.stop().await;
}

#[tokio::test]
async fn redis_killed_local_delivery_goes_on_and_everything_resumes_after_a_restart() {
    let mut nodes = Nodes::start().await;
    let (mut admin_a, _) = nodes.a.joined("admin@rodando.local").await;
    let (driver, mut admin_b, mut seq) = delivering_across(&nodes).await;

    nodes.redis.kill().await;
    let killed_at = Instant::now();
    let local = until_heard(&driver, &mut admin_a, WAIT, &mut seq).await;
    let local = local.expect("with Redis dead, a ping on node A still reaches an admin on node A");
    eprintln!("redis_faults: Redis killed -> local delivery took {local:?}");
    let left = NOT_READY_LIMIT.saturating_sub(killed_at.elapsed());
    let (_, body) = until_ready_is(&nodes.a, 503, left)
        .await
        .unwrap_or_else(|| {
            panic!("/ready on node A still 200 {NOT_READY_LIMIT:?} after Redis died")
        });
    let not_ready = killed_at.elapsed();
    eprintln!("redis_faults: Redis killed -> /ready 503 after {not_ready:?}");
    let failed = &body["error"]["details"]["failed"];
    assert_eq!(failed[0]["dependency"], "redis", "{body}");
    assert!(
        until_heard(&driver, &mut admin_a, WAIT, &mut seq)
            .await
            .is_some(),
        "local delivery still works while /ready is 503"
    );

    // Long enough for the connections' own reconnection attempts to run out.
    tokio::time::sleep(Duration::from_secs(8).saturating_sub(killed_at.elapsed())).await;
    nodes.redis.spawn().await;
    let restarted_at = Instant::now();
    let resumed = until_heard(&driver, &mut admin_b, RESUME_LIMIT, &mut seq).await;
    let resumed = resumed.unwrap_or_else(|| {
        panic!("a ping on node A did not reach node B within {RESUME_LIMIT:?} of the restart")
    });
    eprintln!("redis_faults: Redis restarted empty -> cross-node delivery back in {resumed:?}");
    for node in [&nodes.a, &nodes.b] {
        let left = RESUME_LIMIT.saturating_sub(restarted_at.elapsed());
        let (_, body) = until_ready_is(node, 200, left)
            .await
            .unwrap_or_else(|| panic!("/ready not 200 within {RESUME_LIMIT:?} of the restart"));
        assert_eq!(body["status"], "ready");
    }
    eprintln!(
        "redis_faults: Redis restarted empty -> /ready 200 on both nodes after {:?}",
        restarted_at.elapsed()
    );

    let metrics = reqwest::get(format!("{}/metrics", nodes.a.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "rodando_cluster_healthy 1",
        "rodando_adapter_errors_total{op=\"publish\"}",
        "rodando_adapter_dropped_total{reason=\"send_failed\"}",
    ] {
        assert!(metrics.contains(line), "/metrics has {line}:\n{metrics}");
    }

    // The other way round too: B's subscriber and A's publisher came back as well.
    let driver_b = online_driver(&nodes.b, "driver2@rodando.local").await;
    assert!(
        until_heard(&driver_b, &mut admin_a, WAIT, &mut seq)
            .await
            .is_some(),
        "a ping on node B reaches an admin on node A after the restart"
    );
    nodes.stop().await;
}

/// A logout handled by node B while Redis is down cannot reach the session's socket on node A;
/// once cross-node delivery is back, node A re-checks its sockets' sessions and kicks it.
#[tokio::test]
async fn a_logout_lost_during_an_outage_reaches_the_other_node_once_redis_is_back() {
    let mut nodes = Nodes::start().await;
    let login = nodes.b.login("driver1@rodando.local").await;
    let mut on_a = nodes.a.socket_of(&login, "/drivers").await;

    nodes.redis.kill().await;
    until_ready_is(&nodes.b, 503, NOT_READY_LIMIT)
        .await
        .expect("node B sees Redis down");
    let (status, body) = nodes
        .b
        .post_with_bearer("/api/auth/logout", &login.access)
        .await;
    assert!(matches!(status, 200 | 204), "{status} {body}");
    // Longer than a queued publish may wait: the kick itself is dropped, not replayed.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        on_a.is_connected(),
        "the kick could not cross while Redis was down"
    );

    nodes.redis.spawn().await;
    let restarted = Instant::now();
    let revoked = on_a
        .expect_event("auth:session_revoked", RESUME_LIMIT)
        .await
        .unwrap_or_else(|e| panic!("no auth:session_revoked after the restart: {e}"));
    assert_eq!(revoked["sessionId"], login.session_id.as_str());
    assert_eq!(revoked["reason"], "logout");
    on_a.wait_disconnect(WAIT).await.unwrap();
    eprintln!(
        "redis_faults: logout during the outage -> socket on the other node kicked {:?} after the restart",
        restarted.elapsed()
    );
    nodes.stop().await;
}
