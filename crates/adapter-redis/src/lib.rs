//! The Redis side of a multi-node deployment (PROTOCOL §1 `REDIS_URL`): a
//! [`socketioxide_redis::drivers::Driver`] that keeps working through Redis restarts, pub/sub
//! connection kills and failovers, and tells when cluster delivery works.
//!
//! Why not socketioxide-redis's bundled driver: it holds one connection that never reconnects,
//! and its adapter publishes a broadcast before delivering it locally and gives up on the local
//! part when the publish fails. After one Redis blip every emit of the node failed, even to its
//! own sockets, until the process restarted. Here:
//!
//! - a publish never fails and never waits: it is queued for a background sender
//!   ([`publisher`]); what cannot be sent is dropped and counted, not replayed;
//! - the publisher and the subscriber are two reconnecting connections ([`connections`]); the
//!   subscriber resubscribes after a reconnect;
//! - a probe sends a nonce through that very path and must get it back ([`probe`]);
//!   [`ClusterHealth`] says whether it does, for `/ready` and for whoever wants to react when
//!   delivery comes back.

pub mod connection_slots;
mod connections;
mod driver;
pub mod metrics;
mod probe;
mod publisher;
mod subscriber;
pub mod throttle;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use driver::{DriverError, ResilientDriver};
pub use probe::ClusterHealth;

use connections::Conn;
use probe::ProbeState;
use publisher::{Queue, SendPolicy};
use subscriber::Routes;

/// How the driver queues, times out and probes. The defaults fit a node emitting thousands of
/// messages a second and recovering within a few seconds of Redis coming back.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Channel prefix of the deployment (`REDIS_CHANNEL_PREFIX`); the probe's channel uses it.
    pub channel_prefix: String,
    /// Messages waiting to be published at most; further ones are dropped.
    pub queue_capacity: usize,
    /// Messages per pipeline.
    pub batch_max: usize,
    /// A message that waited this long is dropped rather than delivered late.
    pub max_age: Duration,
    /// A pipeline of publishes not acknowledged within this failed (also the connections'
    /// response timeout).
    pub send_timeout: Duration,
    /// Limit for a connection attempt, a `PING`, a subscription or `PUBSUB NUMSUB`.
    pub request_timeout: Duration,
    /// Longest wait between two reconnection attempts.
    pub reconnect_max_delay: Duration,
    /// A probe is sent this often.
    pub probe_every: Duration,
    /// Cluster delivery is unhealthy when no probe sent within this came back.
    pub stale_after: Duration,
    /// The connections are rebuilt when the probe failed this long while Redis answered.
    pub repair_after: Duration,
    /// Buffer of the probe's own stream.
    pub probe_buffer: usize,
}

impl Settings {
    /// The defaults with the deployment's channel prefix.
    pub fn new(channel_prefix: impl Into<String>) -> Self {
        Self {
            channel_prefix: channel_prefix.into(),
            queue_capacity: 8192,
            batch_max: 256,
            max_age: Duration::from_secs(5),
            send_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(1),
            reconnect_max_delay: Duration::from_secs(1),
            probe_every: Duration::from_millis(500),
            stale_after: Duration::from_millis(2500),
            repair_after: Duration::from_secs(8),
            probe_buffer: 64,
        }
    }
}

/// What the driver's clones and its background tasks share.
pub(crate) struct Shared {
    client: redis::Client,
    settings: Settings,
    publisher: Arc<Conn>,
    subscriber: Arc<Conn>,
    routes: Arc<Routes>,
    queue: Queue,
}

/// Connects both connections and starts the publisher, the probe and the keep-alive. The tasks
/// stop when the last clone of the driver is dropped.
///
/// The connections are up when this returns; the first probe round trip may not be yet (see
/// [`ClusterHealth::wait_healthy`]).
///
/// # Errors
/// Redis cannot be reached or refuses the connection.
pub async fn connect(
    client: redis::Client,
    settings: Settings,
) -> Result<(ResilientDriver, ClusterHealth), DriverError> {
    let routes = Arc::new(Routes::default());
    let publisher = connections::publisher(&client, &settings).await?;
    let subscriber = connections::subscriber(&client, &settings, Arc::clone(&routes)).await?;
    let (queue, outgoing) = Queue::new(settings.queue_capacity);
    let shared = Arc::new(Shared {
        client,
        settings: settings.clone(),
        publisher: Arc::new(Conn::new(publisher)),
        subscriber: Arc::new(Conn::new(subscriber)),
        routes,
        queue,
    });
    let stop = CancellationToken::new();
    let driver = ResilientDriver::new(Arc::clone(&shared), stop.clone().drop_guard());

    tokio::spawn(publisher::run(
        Arc::clone(&shared.publisher),
        outgoing,
        SendPolicy {
            batch_max: settings.batch_max,
            max_age: settings.max_age,
            send_timeout: settings.send_timeout,
        },
        stop.child_token(),
    ));

    let state = Arc::new(ProbeState::new(settings.stale_after));
    let channel = format!(
        "{}-probe#{}#",
        settings.channel_prefix,
        uuid::Uuid::new_v4().simple()
    );
    let back = driver
        .subscribe_raw(channel.clone(), settings.probe_buffer)
        .await?;
    tokio::spawn(probe::run(
        Arc::clone(&shared),
        Arc::clone(&state),
        channel,
        back,
        settings.probe_every,
        stop.child_token(),
    ));
    tokio::spawn(probe::keep_alive(
        shared,
        Arc::clone(&state),
        settings.probe_every,
        settings.repair_after,
        stop.child_token(),
    ));
    Ok((driver, ClusterHealth::new(state)))
}
