//! What the Redis driver counts for `GET /metrics`, through the `metrics` facade (the app
//! installs the Prometheus recorder; without one these calls do nothing).
//!
//! Label values are `&'static str` from the closed sets below, never a channel name, so the
//! series stay few whatever the rooms are.

/// Redis operations that failed, by `op`: `publish` (one per failed batch), `num_serv`,
/// `subscribe`, `unsubscribe`, `ping` (the subscriber's keep-alive), `repair`, `slots`
/// (`MAX_CONNECTIONS_PER_USER` counted on the node only: see `connection_slots`).
pub const ERRORS: &str = "rodando_adapter_errors_total";
/// Messages to other nodes that were not sent, by `reason`: `queue_full`, `stale` (queued
/// longer than the age limit, e.g. during an outage), `send_failed` (their batch failed),
/// `closed` (the driver is shutting down).
pub const DROPPED: &str = "rodando_adapter_dropped_total";
/// Messages from other nodes not delivered to this node's adapter because its stream was full.
pub const RECEIVE_DROPPED: &str = "rodando_adapter_receive_dropped_total";
/// Messages published to Redis.
pub const PUBLISHED: &str = "rodando_adapter_published_total";
/// Messages waiting in the publish queue, sampled at each batch.
pub const QUEUE_DEPTH: &str = "rodando_adapter_queue_depth";
/// 1 while the probe's round trip through Redis comes back in time, else 0.
pub const CLUSTER_HEALTHY: &str = "rodando_cluster_healthy";
/// Times the subscriber connection reported it was lost (each is followed by a reconnect).
pub const DISCONNECTS: &str = "rodando_adapter_disconnects_total";
/// Times both connections were rebuilt because the round trip stayed broken while Redis
/// answered (see `probe::keep_alive`).
pub const REPAIRS: &str = "rodando_adapter_repairs_total";

pub(crate) fn error(op: &'static str) {
    metrics::counter!(ERRORS, "op" => op).increment(1);
}

pub(crate) fn dropped(reason: &'static str, count: usize) {
    metrics::counter!(DROPPED, "reason" => reason).increment(count as u64);
}

pub(crate) fn receive_dropped() {
    metrics::counter!(RECEIVE_DROPPED).increment(1);
}

pub(crate) fn published(count: usize) {
    metrics::counter!(PUBLISHED).increment(count as u64);
}

#[allow(clippy::cast_precision_loss)] // a queue depth is far below 2^52
pub(crate) fn queue_depth(depth: usize) {
    metrics::gauge!(QUEUE_DEPTH).set(depth as f64);
}

pub(crate) fn healthy(healthy: bool) {
    metrics::gauge!(CLUSTER_HEALTHY).set(if healthy { 1.0 } else { 0.0 });
}

pub(crate) fn disconnected() {
    metrics::counter!(DISCONNECTS).increment(1);
}

pub(crate) fn repaired() {
    metrics::counter!(REPAIRS).increment(1);
}
