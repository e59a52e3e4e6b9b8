//! # rodando-sio-client
//!
//! A minimal Socket.IO v4 client (engine.io protocol v4, socket.io protocol v5) over a WebSocket
//! only: no HTTP long-polling, no reconnection, one namespace per connection. It exists for
//! integration tests, the load generator (thousands of connections in one process) and
//! hostile-input tests ([`SioClient::send_raw`] writes any text frame).
//!
//! Each [`SioClient`] owns one background reader task that answers engine.io pings, resolves
//! acknowledgements and buffers server events; dropping the client stops that task and closes the
//! TCP connection.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use rodando_sio_client::{ClientOptions, connect};
//!
//! let options = ClientOptions {
//!     auth: Some(serde_json::json!({ "token": "..." })),
//!     ..ClientOptions::default()
//! };
//! let mut client = connect("http://127.0.0.1:3000", "/drivers", options).await?;
//! let reply = client
//!     .emit_with_ack("location", serde_json::json!({ "lat": 1.0 }), Duration::from_secs(2))
//!     .await?;
//! let offer = client.expect_event("ride_offer", Duration::from_secs(5)).await?;
//! client.close().await;
//! # let _ = (reply, offer);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod client;
mod handshake;
mod packet;
mod reader;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;
type WsSink = SplitSink<WsStream, Message>;
type WsSource = SplitStream<WsStream>;

/// How long closing steps (sending the close frame, waiting for the server's reply) may take.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// Per-connection read buffer: small, because the load generator holds thousands of connections.
const READ_BUFFER_SIZE: usize = 8 * 1024;

/// Options for [`connect`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The auth object sent in the namespace CONNECT packet (`40/ns,{...}`); `None` sends no JSON.
    pub auth: Option<Value>,
    /// Extra HTTP headers on the WebSocket upgrade request, e.g. `("Authorization", "Bearer ...")`.
    pub headers: Vec<(String, String)>,
    /// Deadline for the whole handshake: TCP, WebSocket upgrade, engine.io OPEN and the
    /// namespace CONNECT reply. Defaults to 5 seconds.
    pub connect_timeout: Duration,
    /// The local (source) IP address to bind before connecting; `None` lets the OS choose.
    /// One source address has only ~28 000 ephemeral ports towards one server address, so a
    /// load generator holding more connections spreads them over `127.0.0.2`, `127.0.0.3`, ...
    /// (every `127.x.y.z` is local on Linux). Plain `ws://` only.
    pub local_address: Option<IpAddr>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            auth: None,
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            local_address: None,
        }
    }
}

/// Why [`connect`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server answered CONNECT_ERROR; `message` is its "message" field (e.g. "invalid_token"),
    /// `data` the whole JSON payload.
    #[error("connection refused by the server: {message}")]
    Refused {
        /// The `message` field of the CONNECT_ERROR payload (empty if it had none).
        message: String,
        /// The whole CONNECT_ERROR payload (`Null` if it had none).
        data: Value,
    },
    /// The handshake did not finish within [`ClientOptions::connect_timeout`].
    #[error("connection timed out")]
    Timeout,
    /// The TCP connection or the WebSocket upgrade failed (including an HTTP error status on the
    /// upgrade, an invalid URL or header), or the server closed the connection during the handshake.
    #[error("transport error: {0}")]
    Transport(String),
    /// The server sent something that is not a valid engine.io / socket.io handshake.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// Why an operation on a connected [`SioClient`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing (no event, no ack) arrived within the given time.
    #[error("timed out")]
    Timeout,
    /// The connection is closed (by the server, the transport or [`SioClient::close`]).
    #[error("connection closed")]
    Closed,
    /// Writing to the WebSocket failed.
    #[error("transport error: {0}")]
    Transport(String),
    /// The server sent something invalid.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// A server EVENT (or BINARY_EVENT) received on the client's namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// The event name (the first element of the packet's JSON array).
    pub name: String,
    /// The arguments after the name. A binary attachment appears as a JSON array of byte numbers.
    pub args: Vec<Value>,
}

static NULL: Value = Value::Null;

impl ReceivedEvent {
    /// The first argument, or `Null` if the event had none.
    #[must_use]
    pub fn data(&self) -> &Value {
        self.args.first().unwrap_or(&NULL)
    }
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// The server sent a socket.io DISCONNECT (`41`) for the client's namespace.
    ByServer,
    /// The engine.io connection ended: engine CLOSE (`1`), a WebSocket close frame, end of
    /// stream, a transport error, or no message from the server for `pingInterval + pingTimeout`.
    EngineClosed,
}

/// Pending acknowledgements, shared by the client (inserts) and its reader task (resolves).
#[derive(Debug, Default)]
struct AckTable {
    next_id: u64,
    pending: HashMap<u64, oneshot::Sender<Vec<Value>>>,
    /// Set when the reader stops: no ack can arrive any more.
    closed: bool,
}

type SharedAcks = Arc<StdMutex<AckTable>>;

fn lock(acks: &SharedAcks) -> std::sync::MutexGuard<'_, AckTable> {
    acks.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes its ack id from the table when dropped, so a timed-out or cancelled
/// `emit_with_ack` leaves nothing behind.
struct PendingAck<'a> {
    acks: &'a SharedAcks,
    id: u64,
}

impl Drop for PendingAck<'_> {
    fn drop(&mut self) {
        lock(self.acks).pending.remove(&self.id);
    }
}

/// A Socket.IO connection to one namespace. Create it with [`connect`].
///
/// Dropping it aborts its reader task and closes the TCP connection without a goodbye; use
/// [`SioClient::close`] for a graceful disconnect.
#[derive(Debug)]
pub struct SioClient {
    sid: String,
    namespace: String,
    sink: Arc<Mutex<WsSink>>,
    acks: SharedAcks,
    events: mpsc::UnboundedReceiver<ReceivedEvent>,
    buffered: VecDeque<ReceivedEvent>,
    state: watch::Receiver<Option<Disconnect>>,
    reader: JoinHandle<()>,
}

/// Connects to `base_url` (e.g. `http://127.0.0.1:3000`; `http` becomes `ws`, and
/// `/socket.io/?EIO=4&transport=websocket` is appended) and joins `namespace` (`"/"` for the root
/// namespace; a missing leading `/` is added).
///
/// # Errors
/// [`ConnectError::Refused`] when the server answers CONNECT_ERROR, [`ConnectError::Timeout`] when
/// the handshake exceeds `options.connect_timeout`, [`ConnectError::Transport`] for network, URL,
/// header and upgrade failures, [`ConnectError::Protocol`] for an invalid handshake.
pub async fn connect(
    base_url: &str,
    namespace: &str,
    options: ClientOptions,
) -> Result<SioClient, ConnectError> {
    let namespace = packet::normalize_namespace(namespace);
    let url = packet::websocket_url(base_url).map_err(|e| ConnectError::Transport(e.0))?;
    let mut request = url
        .into_client_request()
        .map_err(|e| ConnectError::Transport(e.to_string()))?;
    for (name, value) in &options.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| ConnectError::Transport(format!("invalid header name {name:?}: {e}")))?;
        let value = HeaderValue::from_str(value).map_err(|e| {
            ConnectError::Transport(format!("invalid value for header {name}: {e}"))
        })?;
        request.headers_mut().append(name, value);
    }
    let handshake = handshake::handshake(
        request,
        namespace,
        options.auth.as_ref(),
        options.local_address,
    );
    tokio::time::timeout(options.connect_timeout, handshake)
        .await
        .unwrap_or(Err(ConnectError::Timeout))
}

/// At most 200 bytes of `text`, for logs and error messages.
fn truncate(text: &str) -> &str {
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn write_error(error: tungstenite::Error) -> ClientError {
    match error {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            ClientError::Closed
        }
        other => ClientError::Transport(other.to_string()),
    }
}
