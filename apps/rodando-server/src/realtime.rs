//! The Socket.IO server of this node, with its rooms adapter chosen at start (PROTOCOL §1
//! `REDIS_URL`): the local adapter for one node, or socketioxide-redis so that an emit to any
//! room and a disconnect of a session reach sockets on every node.
//!
//! The socket handlers are generic over the adapter; this module is the one place that names
//! the two concrete adapters, so the rest of the wiring works with either.
//!
//! With Redis, socketioxide-redis runs over our own driver (`rodando-adapter-redis`) rather than
//! its bundled one, which never reconnected: after a Redis restart every emit failed, even to
//! this node's own sockets. Ours queues publishes (local delivery never waits on Redis),
//! reconnects and resubscribes, and probes the pub/sub round trip for `/ready`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri, header};
use redis::{IntoConnectionInfo, ProtocolVersion};
use rodando_adapter_redis::{ClusterHealth, ResilientDriver};
use rodando_adapter_socketio::{Realtime, RealtimeConfig, SocketNotifier};
use rodando_ports::health::HealthCheck;
use rodando_ports::notifier::Notifier;
use secrecy::{ExposeSecret, SecretString};
use socketioxide::SocketIo;
use socketioxide::adapter::Emitter;
use socketioxide::layer::SocketIoLayer;
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};
use tokio::sync::watch;

/// How long the start waits for Redis (connect, subscribe, first probe round trip) before
/// giving up with an error.
const REDIS_START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request to the other nodes (e.g. a cross-node disconnect) may wait for answers.
const REDIS_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The rooms adapter of a multi-node deployment.
pub type ClusterAdapter = CustomRedisAdapter<Emitter, ResilientDriver>;

/// Where the nodes of one deployment meet.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `REDIS_URL`.
    pub url: SecretString,
    /// `REDIS_CHANNEL_PREFIX`: nodes share rooms only with nodes using the same prefix, so
    /// several deployments (or test runs) can use one Redis without hearing each other.
    pub channel_prefix: String,
    /// `CLUSTER_NODE_TTL`: a node's heartbeat for `MAX_CONNECTIONS_PER_USER` lives this long
    /// (refreshed every third of it), so a crashed node's sockets stop counting within it.
    pub node_ttl: Duration,
}

/// `MAX_CONNECTIONS_PER_USER` counting: on this node alone, or with `redis` across every node
/// of the deployment (and on this node alone while Redis cannot be reached).
///
/// # Errors
/// Redis is configured but cannot be reached.
pub async fn connection_slots(
    redis: Option<&RedisSettings>,
) -> anyhow::Result<Arc<dyn rodando_ports::connection_slots::ConnectionSlots>> {
    let local = Arc::new(rodando_adapter_socketio::LocalConnectionSlots::new());
    let Some(redis) = redis else {
        return Ok(local);
    };
    let settings = rodando_adapter_redis::connection_slots::Settings {
        node_ttl: redis.node_ttl,
        ..rodando_adapter_redis::connection_slots::Settings::new(redis.channel_prefix.clone())
    };
    let slots = rodando_adapter_redis::connection_slots::RedisConnectionSlots::start(
        redis_client(&redis.url)?,
        settings,
        local,
    )
    .await
    .context("REDIS_URL: cannot connect to Redis (connection slots)")?;
    tracing::info!(
        node = slots.node_id(),
        "MAX_CONNECTIONS_PER_USER is counted in Redis across the nodes"
    );
    Ok(Arc::new(slots))
}

/// The Socket.IO server of this node. Cheap to clone (handles to the same server).
#[derive(Clone)]
pub enum SocketServer {
    /// One node: rooms live in this process.
    Single(SocketIo),
    /// Many nodes: rooms are shared through Redis pub/sub.
    Cluster {
        /// The server.
        io: SocketIo<ClusterAdapter>,
        /// Whether messages reach the other nodes (the probe's view).
        health: ClusterHealth,
    },
}

/// The tower layer that serves Socket.IO on the app's router.
pub enum SocketLayer {
    /// See [`SocketServer::Single`].
    Single(SocketIoLayer),
    /// See [`SocketServer::Cluster`].
    Cluster(SocketIoLayer<ClusterAdapter>),
}

impl SocketLayer {
    /// Serves Socket.IO (`/socket.io/`) in front of `router`.
    pub fn wrap(self, router: Router) -> Router {
        let router = match self {
            Self::Single(layer) => router.layer(layer),
            Self::Cluster(layer) => router.layer(layer),
        };
        router.layer(axum::middleware::map_request(detach_request_head))
    }
}

/// The request headers a socket still reads after its handshake request: `Authorization`
/// (the token of every namespace the socket connects to later, PROTOCOL §2) and
/// `Sec-WebSocket-Key` (engineioxide answers the upgrade with it). Nothing else of the
/// handshake request is read again, so nothing else is kept.
const KEPT_HEADERS: [HeaderName; 2] = [header::AUTHORIZATION, header::SEC_WEBSOCKET_KEY];

/// Copies the URI and [`KEPT_HEADERS`] of a request that opens an engine.io session out of
/// hyper's connection read buffer, and drops its other headers.
///
/// engineioxide keeps the parts of that request for the socket's whole life
/// (`socket.req_parts()`). Its URI and headers are `Bytes` slices of hyper's 16 KiB read
/// buffer, so without the copy every socket pinned the buffer (31 KB of RSS per idle socket,
/// ~24 KB with it, docs/benchmarks.md); and a browser's dozen other headers (user agent,
/// cookies, languages) would be a kilobyte per socket that nothing reads. A request of an open
/// session (`sid=` in its query: a long-polling GET or POST, an upgrade) is left as it is:
/// its parts go when it is answered, and a POST's `Content-Type` tells its payload's encoding.
async fn detach_request_head(mut request: Request) -> Request {
    let uri = request.uri();
    let opens_session = uri.path().starts_with("/socket.io")
        && !uri
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("sid=")));
    if !opens_session {
        return request;
    }
    if let Ok(uri) = Uri::try_from(uri.to_string()) {
        *request.uri_mut() = uri;
    }
    let mut headers = HeaderMap::new();
    for name in KEPT_HEADERS {
        for value in request.headers().get_all(&name) {
            let mut copy =
                HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
            copy.set_sensitive(value.is_sensitive());
            headers.append(name.clone(), copy);
        }
    }
    *request.headers_mut() = headers;
    request
}

impl SocketServer {
    /// Builds the server; with `redis`, connects to it first and waits for the first pub/sub
    /// round trip, so a wrong URL fails the start with a one-line reason instead of failing the
    /// first broadcast. The health check returned with Redis is that round trip's.
    ///
    /// # Errors
    /// Redis is configured but cannot be reached.
    pub async fn build(
        config: &RealtimeConfig,
        redis: Option<&RedisSettings>,
    ) -> anyhow::Result<(Self, SocketLayer, Option<Arc<dyn HealthCheck>>)> {
        let builder = rodando_adapter_socketio::builder(config);
        let Some(redis) = redis else {
            let (layer, io) = builder.build_layer();
            return Ok((Self::Single(io), SocketLayer::Single(layer), None));
        };
        let client = redis_client(&redis.url)?;
        let settings = rodando_adapter_redis::Settings::new(redis.channel_prefix.clone());
        let start = async {
            let (driver, health) = rodando_adapter_redis::connect(client, settings)
                .await
                .context("REDIS_URL: cannot connect to Redis")?;
            health.wait_healthy().await;
            anyhow::Ok((driver, health))
        };
        let (driver, health) = tokio::time::timeout(REDIS_START_TIMEOUT, start)
            .await
            .map_err(|_| {
                anyhow::anyhow!("REDIS_URL: Redis did not answer within {REDIS_START_TIMEOUT:?}")
            })??;
        let adapter_config = RedisAdapterConfig::new()
            .with_prefix(redis.channel_prefix.clone())
            .with_request_timeout(REDIS_REQUEST_TIMEOUT);
        let ctr = RedisAdapterCtr::new_with_driver(driver, adapter_config);
        let (layer, io) = builder.with_adapter::<ClusterAdapter>(ctr).build_layer();
        let check: Arc<dyn HealthCheck> = Arc::new(health.clone());
        Ok((
            Self::Cluster { io, health },
            SocketLayer::Cluster(layer),
            Some(check),
        ))
    }

    /// With Redis, whether cluster delivery works: `true` while messages reach the other nodes,
    /// changing when they stop and when they reach them again (for example to re-check what a
    /// node may have missed meanwhile). `None` for a single node.
    pub fn cluster_health(&self) -> Option<watch::Receiver<bool>> {
        match self {
            Self::Single(_) => None,
            Self::Cluster { health, .. } => Some(health.watch()),
        }
    }

    /// The [`Notifier`] port over this server.
    pub fn notifier(&self, admin_location_window: Duration) -> Arc<dyn Notifier> {
        match self {
            Self::Single(io) => Arc::new(SocketNotifier::new(io.clone(), admin_location_window)),
            Self::Cluster { io, .. } => {
                Arc::new(SocketNotifier::new(io.clone(), admin_location_window))
            }
        }
    }

    /// Registers the namespaces; with Redis, waits until every namespace is subscribed so the
    /// node hears the others before it accepts its first socket.
    ///
    /// # Errors
    /// A Redis subscription failed or timed out.
    pub async fn attach(&self, realtime: Arc<Realtime>) -> anyhow::Result<()> {
        match self {
            Self::Single(io) => {
                rodando_adapter_socketio::attach(io, realtime);
            }
            Self::Cluster { io, .. } => {
                for init in rodando_adapter_socketio::attach(io, realtime) {
                    tokio::time::timeout(REDIS_START_TIMEOUT, init)
                        .await
                        .map_err(|_| anyhow::anyhow!("REDIS_URL: subscribing timed out"))?
                        .map_err(|e| anyhow::anyhow!("REDIS_URL: cannot subscribe: {e}"))?;
                }
            }
        }
        Ok(())
    }

    /// Re-checks the sessions of this node's sockets against the store now and kicks the
    /// ended ones; returns how many were kicked.
    pub async fn recheck_sessions(&self, realtime: &Realtime) -> usize {
        match self {
            Self::Single(io) => {
                rodando_adapter_socketio::revalidate_local_sessions(io, realtime).await
            }
            Self::Cluster { io, .. } => {
                rodando_adapter_socketio::revalidate_local_sessions(io, realtime).await
            }
        }
    }

    /// With Redis, a task that, each time cross-node delivery comes back after an outage,
    /// re-checks the sessions of this node's sockets against the store and kicks the ended
    /// ones: a logout or a stolen refresh token handled by another node while Redis was down
    /// never reached them. Runs until `shutdown`; `None` on one node (nothing can be missed).
    pub fn recheck_sessions_after_outages(
        &self,
        realtime: Arc<Realtime>,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let Self::Cluster { health, .. } = self else {
            return None;
        };
        let server = self.clone();
        let mut healthy = health.watch();
        Some(tokio::spawn(async move {
            let mut was_healthy = *healthy.borrow_and_update();
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    changed = healthy.changed() => {
                        if changed.is_err() {
                            break;
                        }
                    }
                }
                let now_healthy = *healthy.borrow_and_update();
                if now_healthy && !was_healthy {
                    let kicked = server.recheck_sessions(&realtime).await;
                    tracing::info!(kicked, "cross-node delivery is back; sessions re-checked");
                }
                was_healthy = now_healthy;
            }
        }))
    }

    /// Returns once every node has handled what this node published before the call (a kick,
    /// an emit), so a process about to exit does not drop them from its publish queue. One
    /// `fetch_sockets` round trip per namespace: the requests leave after everything queued
    /// before them, and each node answers after handling the earlier messages of that
    /// namespace. Immediate on one node.
    ///
    /// # Errors
    /// A node did not answer within the adapter's request timeout.
    pub async fn settle(&self) -> anyhow::Result<()> {
        let Self::Cluster { io, .. } = self else {
            return Ok(());
        };
        for namespace in rodando_domain::admission::Namespace::ALL {
            if let Some(ops) = io.of(namespace.path()) {
                ops.broadcast().fetch_sockets().await.map_err(|e| {
                    anyhow::anyhow!("{}: the other nodes did not answer: {e}", namespace.path())
                })?;
            }
        }
        Ok(())
    }

    /// Closes every socket of this node (clients reconnect, possibly to another node).
    pub async fn close(&self) {
        match self {
            Self::Single(io) => io.close().await,
            Self::Cluster { io, .. } => io.close().await,
        }
    }
}

/// A Redis client speaking RESP3, which the adapter's pub/sub needs (push messages), whatever
/// protocol the URL asks for.
fn redis_client(url: &SecretString) -> anyhow::Result<redis::Client> {
    let info = url
        .expose_secret()
        .into_connection_info()
        .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    redis::Client::open(info.set_redis_settings(settings)).context("REDIS_URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &'static str) -> Request {
        let mut request = Request::new(axum::body::Body::empty());
        *request.uri_mut() = Uri::from_static(uri);
        let mut secret = HeaderValue::from_static("Bearer abc");
        secret.set_sensitive(true);
        let headers = request.headers_mut();
        headers.insert("authorization", secret);
        headers.insert(
            "sec-websocket-key",
            HeaderValue::from_static("dGhlIHNhbXBsZQ=="),
        );
        headers.insert("user-agent", HeaderValue::from_static("Mozilla/5.0"));
        headers.append("cookie", HeaderValue::from_static("a=1"));
        headers.append("cookie", HeaderValue::from_static("b=2"));
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        request
    }

    #[tokio::test]
    async fn a_session_opening_request_keeps_its_uri_and_only_the_headers_a_socket_reads() {
        let copied = detach_request_head(request("/socket.io/?EIO=4&transport=websocket")).await;
        assert_eq!(copied.uri(), "/socket.io/?EIO=4&transport=websocket");
        let kept: Vec<_> = copied.headers().keys().map(HeaderName::as_str).collect();
        assert_eq!(kept, ["authorization", "sec-websocket-key"]);
        assert_eq!(copied.headers()["authorization"], "Bearer abc");
        assert!(copied.headers()["authorization"].is_sensitive());
        assert_eq!(copied.headers()["sec-websocket-key"], "dGhlIHNhbXBsZQ==");
    }

    #[tokio::test]
    async fn a_request_of_an_open_session_or_outside_socket_io_is_left_as_it_is() {
        for uri in [
            "/socket.io/?EIO=4&transport=polling&sid=abc",
            "/socket.io/?sid=abc&EIO=4&transport=websocket",
            "/api/v1/auth/login",
        ] {
            let original = request(uri);
            let expected = original.headers().clone();
            let passed = detach_request_head(original).await;
            assert_eq!(passed.headers(), &expected, "{uri}");
            let cookies: Vec<_> = passed.headers().get_all("cookie").iter().collect();
            assert_eq!(cookies, ["a=1", "b=2"], "{uri}");
        }
    }
}
