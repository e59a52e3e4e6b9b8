//! The two Redis connections of a node and how they are kept.
//!
//! Both are redis-rs `ConnectionManager`s: a lost connection is replaced in the background,
//! retrying with a backoff capped at [`Settings::reconnect_max_delay`] so that delivery resumes
//! within seconds of Redis coming back. The subscriber is a separate connection (a subscribed
//! RESP3 connection can still run commands, but a slow pipeline of publishes must not delay the
//! pushes), with automatic resubscription: redis-rs records the confirmed subscriptions and sends
//! them again on every new connection.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::subscriber::{Routes, push_sender};
use crate::{DriverError, Settings, Shared};

/// A connection that can be swapped for a new one while others use it.
pub(crate) struct Conn(RwLock<ConnectionManager>);

impl Conn {
    pub fn new(manager: ConnectionManager) -> Self {
        Self(RwLock::new(manager))
    }

    /// The current connection (a cheap handle on it).
    pub fn get(&self) -> ConnectionManager {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, manager: ConnectionManager) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = manager;
    }
}

/// Reconnects: at most `reconnect_max_delay` apart, a handful of tries; after those, the next
/// command (the keep-alive `PING` or the next publish) starts a new round of tries.
fn base_config(settings: &Settings) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_min_delay(Duration::from_millis(100))
        .set_max_delay(settings.reconnect_max_delay)
        .set_exponent_base(2.0)
        .set_number_of_retries(5)
        .set_connection_timeout(Some(settings.request_timeout))
        .set_response_timeout(Some(settings.send_timeout))
}

/// The publishing connection (publishes, `PUBSUB NUMSUB`).
pub(crate) async fn publisher(
    client: &redis::Client,
    settings: &Settings,
) -> Result<ConnectionManager, DriverError> {
    Ok(ConnectionManager::new_with_config(client.clone(), base_config(settings)).await?)
}

/// The subscribing connection, delivering to `routes`.
pub(crate) async fn subscriber(
    client: &redis::Client,
    settings: &Settings,
    routes: Arc<Routes>,
) -> Result<ConnectionManager, DriverError> {
    let config = base_config(settings)
        .set_push_sender(push_sender(routes))
        .set_automatic_resubscription();
    Ok(ConnectionManager::new_with_config(client.clone(), config).await?)
}

/// Replaces both connections with new ones, the subscriber subscribed to every routed channel
/// before it takes over; `true` when it did. Leaves the old ones in place when Redis cannot be
/// reached, or when `still_needed` says the old ones recovered meanwhile (two subscribed
/// connections would deliver each message twice until the old one is gone).
pub(crate) async fn rebuild(
    shared: &Shared,
    still_needed: impl Fn() -> bool,
) -> Result<bool, DriverError> {
    let limit = shared.settings.request_timeout * 3;
    let build = async {
        let publisher = publisher(&shared.client, &shared.settings).await?;
        let mut subscriber =
            subscriber(&shared.client, &shared.settings, Arc::clone(&shared.routes)).await?;
        let channels = shared.routes.channels();
        if !channels.is_empty() {
            subscriber.subscribe(&channels).await?;
        }
        Ok::<_, DriverError>((publisher, subscriber))
    };
    let (publisher, subscriber) = tokio::time::timeout(limit, build)
        .await
        .map_err(|_| DriverError::Timeout(limit))??;
    if !still_needed() {
        return Ok(false);
    }
    shared.publisher.replace(publisher);
    shared.subscriber.replace(subscriber);
    Ok(true)
}
