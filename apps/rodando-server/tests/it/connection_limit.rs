//! `MAX_CONNECTIONS_PER_USER` across two server processes sharing one PostgreSQL and one Redis
//! (issue 16, item 4): counted in Redis, exact under races, slots given back on close, and a
//! SIGKILLed node's slots back once its heartbeat (`CLUSTER_NODE_TTL`) expired.

use std::time::{Duration, Instant};

use rodando_sio_client::{ClientOptions, ConnectError, SioClient, connect};
use serde_json::json;

use crate::cluster::Cluster;
use crate::helpers::refusal;

/// The heartbeat TTL the nodes run with here, so a crash is noticed quickly.
const NODE_TTL: Duration = Duration::from_secs(3);
const LIMIT: usize = 5;

/// Deletes the keys the nodes left under `prefix` (a SIGKILLed node's slots stay otherwise).
async fn clean(redis: &str, prefix: &str) {
    let mut conn = redis::Client::open(redis)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
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

/// Two nodes with the short node TTL and the per-user limit these tests count against.
async fn two_nodes() -> Cluster {
    let ttl = format!("{}s", NODE_TTL.as_secs());
    let limit = LIMIT.to_string();
    Cluster::start_with(&[
        ("CLUSTER_NODE_TTL", ttl.as_str()),
        ("MAX_CONNECTIONS_PER_USER", limit.as_str()),
    ])
    .await
}

async fn connect_to(base: &str, token: &str) -> Result<SioClient, ConnectError> {
    let options = ClientOptions {
        auth: Some(json!({ "token": token })),
        connect_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    };
    connect(base, "/drivers", options).await
}

/// Connects on `base` until one is admitted (a slot given back elsewhere may take a moment to
/// reach Redis), for at most `limit`.
async fn admitted_within(base: &str, token: &str, limit: Duration) -> SioClient {
    let deadline = Instant::now() + limit;
    loop {
        match connect_to(base, token).await {
            Ok(socket) => return socket,
            Err(ConnectError::Refused { message, .. }) if message == "too_many_connections" => {}
            Err(other) => panic!("expected admission or too_many_connections, got {other}"),
        }
        assert!(
            Instant::now() < deadline,
            "no slot came back within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_handshakes_of_one_user_over_two_nodes_admit_exactly_the_limit_and_slots_come_back()
{
    let Cluster {
        a,
        mut b,
        db,
        redis,
        prefix,
    } = two_nodes().await;
    let login = a.login("driver1@rodando.local").await;

    // 20 simultaneous handshakes, alternating between the nodes.
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..20 {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let token = login.access.clone();
        attempts.spawn(async move { connect_to(&base, &token).await });
    }
    let mut admitted = Vec::new();
    let mut refused = Vec::new();
    while let Some(attempt) = attempts.join_next().await {
        match attempt.unwrap() {
            Ok(socket) => admitted.push(socket),
            Err(ConnectError::Refused { message, .. }) => refused.push(message),
            Err(other) => panic!("a handshake failed otherwise: {other}"),
        }
    }
    assert_eq!(admitted.len(), LIMIT, "refused: {refused:?}");
    assert_eq!(refused.len(), 20 - LIMIT);
    assert!(
        refused.iter().all(|m| m == "too_many_connections"),
        "{refused:?}"
    );
    assert_eq!(
        refusal(connect_to(&b.base, &login.access).await),
        "too_many_connections"
    );

    // Closing frees the slots, for either node.
    for socket in admitted.drain(..) {
        socket.close().await;
    }
    for _ in 0..3 {
        admitted.push(admitted_within(&b.base, &login.access, Duration::from_secs(10)).await);
    }
    for _ in 0..2 {
        admitted.push(admitted_within(&a.base, &login.access, Duration::from_secs(10)).await);
    }
    assert_eq!(
        refusal(connect_to(&a.base, &login.access).await),
        "too_many_connections",
        "3 on B and 2 on A are the limit"
    );

    // Node B dies without a word (SIGKILL): its 3 slots count until its heartbeat expires.
    b.kill().await;
    let killed = Instant::now();
    for _ in 0..3 {
        admitted.push(
            admitted_within(&a.base, &login.access, NODE_TTL + Duration::from_secs(10)).await,
        );
    }
    let back_after = killed.elapsed();
    println!(
        "a SIGKILLed node's slots came back after {back_after:?} (CLUSTER_NODE_TTL {NODE_TTL:?})"
    );
    assert_eq!(
        refusal(connect_to(&a.base, &login.access).await),
        "too_many_connections",
        "5 on A are the limit"
    );
    drop(admitted);
    drop(a);
    db.drop_it().await;
    clean(&redis, &prefix).await;
}
