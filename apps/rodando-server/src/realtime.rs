//! The Socket.IO server of this node, with its rooms adapter chosen at start (PROTOCOL §1
//! `REDIS_URL`): the local adapter for one node, or socketioxide-redis so that an emit to any
//! room and a disconnect of a session reach sockets on every node.
//!
//! The socket handlers are generic over the adapter; this module is the one place that names
//! the two concrete adapters, so the rest of the wiring works with either.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use redis::{IntoConnectionInfo, ProtocolVersion};
use rodando_adapter_socketio::{Realtime, RealtimeConfig, SocketNotifier};
use rodando_ports::Unexpected;
use rodando_ports::health::HealthCheck;
use rodando_ports::notifier::Notifier;
use secrecy::{ExposeSecret, SecretString};
use socketioxide::SocketIo;
use socketioxide::adapter::Emitter;
use socketioxide::layer::SocketIoLayer;
use socketioxide_redis::{RedisAdapter, RedisAdapterConfig, RedisAdapterCtr};

/// How long the start waits for Redis (connect, subscribe) before giving up with an error.
const REDIS_START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `/ready` waits for Redis to answer `PING`.
const REDIS_PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a request to the other nodes (e.g. a cross-node disconnect) may wait for answers.
const REDIS_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the nodes of one deployment meet.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `REDIS_URL`.
    pub url: SecretString,
    /// `REDIS_CHANNEL_PREFIX`: nodes share rooms only with nodes using the same prefix, so
    /// several deployments (or test runs) can use one Redis without hearing each other.
    pub channel_prefix: String,
}

/// The Socket.IO server of this node.
pub enum SocketServer {
    /// One node: rooms live in this process.
    Single(SocketIo),
    /// Many nodes: rooms are shared through Redis pub/sub.
    Cluster(SocketIo<RedisAdapter<Emitter>>),
}

/// The tower layer that serves Socket.IO on the app's router.
pub enum SocketLayer {
    /// See [`SocketServer::Single`].
    Single(SocketIoLayer),
    /// See [`SocketServer::Cluster`].
    Cluster(SocketIoLayer<RedisAdapter<Emitter>>),
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

/// Copies the request's URI and headers out of hyper's connection read buffer.
///
/// They are `Bytes` slices of that 16 KiB buffer, and engineioxide keeps the request parts for
/// the socket's whole life (`socket.req_parts()`), so without the copy every socket pins the
/// buffer: measured 31 KB of RSS per idle socket before, ~24 KB after (docs/benchmarks.md).
async fn detach_request_head(mut request: Request) -> Request {
    if !request.uri().path().starts_with("/socket.io") {
        return request;
    }
    if let Ok(uri) = Uri::try_from(request.uri().to_string()) {
        *request.uri_mut() = uri;
    }
    let mut headers = HeaderMap::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        let mut copy = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        headers.append(
            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or_else(|_| name.clone()),
            copy,
        );
    }
    *request.headers_mut() = headers;
    request
}

impl SocketServer {
    /// Builds the server; with `redis`, connects to it first so a wrong URL fails the start
    /// with a one-line reason instead of failing the first broadcast.
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
        let adapter_config = RedisAdapterConfig::new()
            .with_prefix(redis.channel_prefix.clone())
            .with_request_timeout(REDIS_REQUEST_TIMEOUT);
        let ctr = tokio::time::timeout(
            REDIS_START_TIMEOUT,
            RedisAdapterCtr::new_with_redis_config(&client, adapter_config),
        )
        .await
        .map_err(|_| {
            anyhow::anyhow!("REDIS_URL: Redis did not answer within {REDIS_START_TIMEOUT:?}")
        })?
        .context("REDIS_URL: cannot connect to Redis")?;
        let (layer, io) = builder
            .with_adapter::<RedisAdapter<Emitter>>(ctr)
            .build_layer();
        let health: Arc<dyn HealthCheck> = Arc::new(RedisHealth { client });
        Ok((Self::Cluster(io), SocketLayer::Cluster(layer), Some(health)))
    }

    /// The [`Notifier`] port over this server.
    pub fn notifier(&self, admin_location_window: Duration) -> Arc<dyn Notifier> {
        match self {
            Self::Single(io) => Arc::new(SocketNotifier::new(io.clone(), admin_location_window)),
            Self::Cluster(io) => Arc::new(SocketNotifier::new(io.clone(), admin_location_window)),
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
            Self::Cluster(io) => {
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

    /// Closes every socket of this node (clients reconnect, possibly to another node).
    pub async fn close(&self) {
        match self {
            Self::Single(io) => io.close().await,
            Self::Cluster(io) => io.close().await,
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

/// `/ready` asks Redis for `PING`.
struct RedisHealth {
    client: redis::Client,
}

#[async_trait]
impl HealthCheck for RedisHealth {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn check(&self) -> Result<(), Unexpected> {
        let ping = async {
            let mut conn = self.client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        match tokio::time::timeout(REDIS_PING_TIMEOUT, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Unexpected::msg(format!("redis: {e}"))),
            Err(_) => Err(Unexpected::msg("redis: no answer within 2 s")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_request_head_is_copied_unchanged() {
        let mut original = Request::new(axum::body::Body::empty());
        *original.uri_mut() = Uri::from_static("/socket.io/?EIO=4&transport=websocket");
        let mut secret = HeaderValue::from_static("Bearer abc");
        secret.set_sensitive(true);
        original.headers_mut().insert("authorization", secret);
        original
            .headers_mut()
            .append("x-many", HeaderValue::from_static("a"));
        original
            .headers_mut()
            .append("x-many", HeaderValue::from_static("b"));
        let expected_headers = original.headers().clone();

        let copied = detach_request_head(original).await;
        assert_eq!(copied.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(copied.headers(), &expected_headers);
        assert!(copied.headers()["authorization"].is_sensitive());
        let many: Vec<_> = copied.headers().get_all("x-many").iter().collect();
        assert_eq!(many, ["a", "b"]);
    }
}
