//! `RedisConnectionSlots` and its admission script against a real Redis: the machine's
//! (`REDIS_URL`, default `redis://127.0.0.1:6379`) under a key prefix of each test's own, and a
//! private `redis-server` for the outage case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rodando_adapter_redis::connection_slots::{
    RedisConnectionSlots, Settings, node_key_prefix, user_key,
};
use rodando_domain::ids::UserId;
use rodando_ports::connection_slots::{ConnectionSlots, SlotId};

/// This node's own count, as the server's in-process one.
#[derive(Default)]
struct Local(Mutex<HashMap<UserId, HashSet<SlotId>>>);

#[async_trait]
impl ConnectionSlots for Local {
    async fn acquire(&self, user: UserId, slot: SlotId, max: usize) -> bool {
        let mut open = self.0.lock().unwrap();
        let held = open.entry(user).or_default();
        held.len() < max && held.insert(slot)
    }

    fn release(&self, user: UserId, slot: SlotId) {
        if let Some(held) = self.0.lock().unwrap().get_mut(&user) {
            held.remove(&slot);
        }
    }
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn prefix() -> String {
    format!("rodando-slots-test-{}", uuid::Uuid::new_v4().simple())
}

fn user() -> UserId {
    UserId::from_uuid(uuid::Uuid::new_v4())
}

async fn node(url: &str, prefix: &str, ttl: Duration) -> RedisConnectionSlots {
    let settings = Settings {
        node_ttl: ttl,
        ..Settings::new(prefix)
    };
    RedisConnectionSlots::start(
        redis::Client::open(url).unwrap(),
        settings,
        Arc::new(Local::default()),
    )
    .await
    .expect("Redis answers (start it: redis-server --daemonize yes, or set REDIS_URL)")
}

async fn connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn held_in_redis(url: &str, prefix: &str, user: UserId) -> HashMap<String, String> {
    redis::cmd("HGETALL")
        .arg(user_key(prefix, user))
        .query_async(&mut connection(url).await)
        .await
        .unwrap()
}

/// Deletes every key under `prefix` (the shared Redis keeps no test's leftovers).
async fn clean(url: &str, prefix: &str) {
    let mut conn = connection(url).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

/// Polls `check` until it holds, for at most 10 s.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "not within 10 s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_simultaneous_acquires_over_two_nodes_admit_exactly_the_limit() {
    let (url, prefix) = (redis_url(), prefix());
    let a = node(&url, &prefix, Duration::from_secs(30)).await;
    let b = node(&url, &prefix, Duration::from_secs(30)).await;
    let u = user();
    let attempts = (0..20).map(|i| {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move {
            let slot = SlotId::new();
            node.acquire(u, slot, 5).await.then_some((i % 2, slot))
        })
    });
    let mut admitted = Vec::new();
    for attempt in attempts {
        admitted.extend(attempt.await.unwrap());
    }
    assert_eq!(admitted.len(), 5, "{admitted:?}");
    assert_eq!(held_in_redis(&url, &prefix, u).await.len(), 5);
    // Another user has a budget of its own.
    assert!(a.acquire(user(), SlotId::new(), 5).await);

    // Given back, the slots are free again for either node.
    for &(on, slot) in &admitted[..2] {
        if on == 0 {
            a.release(u, slot)
        } else {
            b.release(u, slot)
        }
    }
    eventually("two released slots leave Redis", async || {
        held_in_redis(&url, &prefix, u).await.len() == 3
    })
    .await;
    assert!(b.acquire(u, SlotId::new(), 5).await);
    assert!(a.acquire(u, SlotId::new(), 5).await);
    assert!(!a.acquire(u, SlotId::new(), 5).await);
    assert!(!b.acquire(u, SlotId::new(), 5).await);
    drop((a, b));
    clean(&url, &prefix).await;
}

#[tokio::test]
async fn slots_of_a_node_whose_heartbeat_is_gone_are_dropped_at_the_next_acquire() {
    let (url, prefix) = (redis_url(), prefix());
    let u = user();
    let mut conn = connection(&url).await;
    // A crashed node: three slots, its heartbeat expiring in 300 ms and never refreshed; and a
    // node with no heartbeat at all.
    let crashed = "crashednode";
    let _: () = redis::cmd("SET")
        .arg(format!("{}{crashed}", node_key_prefix(&prefix)))
        .arg("1")
        .arg("PX")
        .arg(300)
        .query_async(&mut conn)
        .await
        .unwrap();
    for slot in ["s1", "s2", "s3"] {
        let _: () = redis::cmd("HSET")
            .arg(user_key(&prefix, u))
            .arg(slot)
            .arg(crashed)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let _: () = redis::cmd("HSET")
        .arg(user_key(&prefix, u))
        .arg("s4")
        .arg("nonode")
        .query_async(&mut conn)
        .await
        .unwrap();

    let live = node(&url, &prefix, Duration::from_secs(30)).await;
    // While the crashed node's heartbeat lives its slots count: 3 + this one = the limit 4.
    assert!(live.acquire(u, SlotId::new(), 4).await);
    assert!(
        !live.acquire(u, SlotId::new(), 4).await,
        "3 live + 1 = the limit"
    );
    let held = held_in_redis(&url, &prefix, u).await;
    assert!(
        !held.contains_key("s4"),
        "the slot of a node with no heartbeat is dropped: {held:?}"
    );

    eventually(
        "the crashed node's heartbeat expires and its slots come back",
        async || live.acquire(u, SlotId::new(), 4).await,
    )
    .await;
    let held = held_in_redis(&url, &prefix, u).await;
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(held.values().all(|n| n == live.node_id()), "{held:?}");
    // The user's hash expires a day after the last handshake.
    let ttl: i64 = redis::cmd("PTTL")
        .arg(user_key(&prefix, u))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        ttl > 23 * 3600 * 1000 && ttl <= 24 * 3600 * 1000,
        "{ttl} ms"
    );
    drop(live);
    clean(&url, &prefix).await;
}

#[tokio::test]
async fn a_node_that_stops_takes_its_heartbeat_along() {
    let (url, prefix) = (redis_url(), prefix());
    let u = user();
    let a = node(&url, &prefix, Duration::from_secs(30)).await;
    let b = node(&url, &prefix, Duration::from_secs(30)).await;
    assert!(b.acquire(u, SlotId::new(), 1).await);
    assert!(!a.acquire(u, SlotId::new(), 1).await);
    drop(b);
    eventually("a stopped node's slot is free", async || {
        a.acquire(u, SlotId::new(), 1).await
    })
    .await;
    drop(a);
    clean(&url, &prefix).await;
}

#[tokio::test]
async fn while_redis_is_down_the_node_counts_its_own_slots_and_counts_in_redis_again_after() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let spawn = || {
        tokio::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("this test runs redis-server (apt-get install redis-server)")
    };
    let mut server = spawn();
    let deadline = Instant::now() + Duration::from_secs(10);
    let slots = loop {
        let settings = Settings::new("outage");
        if let Ok(slots) = RedisConnectionSlots::start(
            redis::Client::open(url.as_str()).unwrap(),
            settings,
            Arc::new(Local::default()),
        )
        .await
        {
            break slots;
        }
        assert!(Instant::now() < deadline, "redis-server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let u = user();
    // Another node holds one of the user's two slots.
    let _: () = redis::cmd("SET")
        .arg(format!("{}other", node_key_prefix("outage")))
        .arg("1")
        .query_async(&mut connection(&url).await)
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(user_key("outage", u))
        .arg("elsewhere")
        .arg("other")
        .query_async(&mut connection(&url).await)
        .await
        .unwrap();
    let first = SlotId::new();
    assert!(slots.acquire(u, first, 2).await);
    assert!(
        !slots.acquire(u, SlotId::new(), 2).await,
        "one here + one elsewhere"
    );

    server.start_kill().unwrap();
    server.wait().await.unwrap();
    // Redis gone: this node's own count decides, and answers within the timeout.
    let started = Instant::now();
    assert!(
        slots.acquire(u, SlotId::new(), 2).await,
        "1 held here, limit 2"
    );
    assert!(!slots.acquire(u, SlotId::new(), 2).await, "2 held here");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    slots.release(u, first);

    let _server = spawn();
    eventually("counted in Redis again", async || {
        // The restarted Redis is empty: an admission is written to it again once it answers
        // (until then the slot is admitted on this node's count; give it back and retry).
        let slot = SlotId::new();
        if !slots.acquire(u, slot, 2).await {
            return false;
        }
        let key = slot.as_uuid().simple().to_string();
        let written = held_in_redis_opt(&url, u)
            .await
            .is_some_and(|h| h.contains_key(&key));
        if !written {
            slots.release(u, slot);
        }
        written
    })
    .await;
}

async fn held_in_redis_opt(url: &str, u: UserId) -> Option<HashMap<String, String>> {
    let mut conn = redis::Client::open(url)
        .ok()?
        .get_multiplexed_async_connection()
        .await
        .ok()?;
    redis::cmd("HGETALL")
        .arg(user_key("outage", u))
        .query_async(&mut conn)
        .await
        .ok()
}
