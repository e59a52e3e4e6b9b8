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

mod packet;

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Mutex, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::packet::{EnginePacket, PacketType, SioPacket};

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
    let handshake = handshake(
        request,
        namespace,
        options.auth.as_ref(),
        options.local_address,
    );
    tokio::time::timeout(options.connect_timeout, handshake)
        .await
        .unwrap_or(Err(ConnectError::Timeout))
}

async fn handshake(
    request: tungstenite::handshake::client::Request,
    namespace: String,
    auth: Option<&Value>,
    local_address: Option<IpAddr>,
) -> Result<SioClient, ConnectError> {
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
        .write_buffer_size(0);
    let upgrade = match local_address {
        None => tokio_tungstenite::connect_async_with_config(request, Some(config), true).await,
        Some(local) => {
            let stream = connect_from(&request, local).await?;
            tokio_tungstenite::client_async_with_config(
                request,
                MaybeTlsStream::Plain(stream),
                Some(config),
            )
            .await
        }
    };
    let (mut ws, _response) = upgrade.map_err(|e| ConnectError::Transport(e.to_string()))?;

    let open = loop {
        let text = next_handshake_text(&mut ws).await?;
        match packet::decode_engine(&text) {
            Ok(EnginePacket::Open(json)) => {
                break packet::decode_open(json).map_err(|e| ConnectError::Protocol(e.0))?;
            }
            Ok(EnginePacket::Noop) => {}
            _ => {
                return Err(ConnectError::Protocol(format!(
                    "expected engine.io OPEN, got {:?}",
                    truncate(&text)
                )));
            }
        }
    };
    tracing::debug!(engine_sid = %open.sid, namespace = %namespace, "engine.io open");

    ws.send(Message::text(packet::encode_connect(&namespace, auth)))
        .await
        .map_err(|e| ConnectError::Transport(e.to_string()))?;

    let sid = loop {
        let text = next_handshake_text(&mut ws).await?;
        match packet::decode_engine(&text) {
            Ok(EnginePacket::Ping(data)) => ws
                .send(Message::text(format!("3{data}")))
                .await
                .map_err(|e| ConnectError::Transport(e.to_string()))?,
            Ok(EnginePacket::Close) => {
                return Err(ConnectError::Transport(
                    "engine.io connection closed during the handshake".to_owned(),
                ));
            }
            Ok(EnginePacket::Message(sio)) => {
                let Ok(reply) = packet::decode_sio(sio) else {
                    tracing::debug!(frame = %truncate(&text), "ignoring invalid packet during handshake");
                    continue;
                };
                if reply.namespace != namespace {
                    continue;
                }
                match reply.kind {
                    PacketType::Connect => {
                        break packet::connect_sid(reply.payload.as_ref())
                            .map_err(|e| ConnectError::Protocol(e.0))?;
                    }
                    PacketType::ConnectError => {
                        let (message, data) = packet::connect_error(reply.payload);
                        return Err(ConnectError::Refused { message, data });
                    }
                    PacketType::Disconnect => {
                        return Err(ConnectError::Protocol(
                            "server disconnected the namespace during the handshake".to_owned(),
                        ));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    };

    let idle_timeout = open.ping_interval + open.ping_timeout;
    let (sink, source) = ws.split();
    let sink = Arc::new(Mutex::new(sink));
    let acks = SharedAcks::default();
    let (events_tx, events) = mpsc::unbounded_channel();
    let (state_tx, state) = watch::channel(None);
    let reader = Reader {
        namespace: namespace.clone(),
        sink: Arc::clone(&sink),
        acks: Arc::clone(&acks),
        events: events_tx,
        idle_timeout,
        partial: None,
    };
    let reader = tokio::spawn(reader.run(source, state_tx));
    Ok(SioClient {
        sid,
        namespace,
        sink,
        acks,
        events,
        buffered: VecDeque::new(),
        state,
        reader,
    })
}

/// A TCP connection to the request's `ws://` host, bound to `local` first (Nagle off, as
/// `connect_async` does).
async fn connect_from(
    request: &tungstenite::handshake::client::Request,
    local: IpAddr,
) -> Result<TcpStream, ConnectError> {
    let uri = request.uri();
    if uri.scheme_str() != Some("ws") {
        return Err(ConnectError::Transport(
            "a local address needs a plain ws:// (http://) URL".to_owned(),
        ));
    }
    let host = uri
        .host()
        .ok_or_else(|| ConnectError::Transport(format!("no host in {uri}")))?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let remote: SocketAddr = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| ConnectError::Transport(format!("cannot resolve {host}: {e}")))?
        .find(|addr| addr.is_ipv4() == local.is_ipv4())
        .ok_or_else(|| {
            ConnectError::Transport(format!("{host} has no address of the family of {local}"))
        })?;
    let socket = if local.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| ConnectError::Transport(e.to_string()))?;
    socket
        .bind(SocketAddr::new(local, 0))
        .map_err(|e| ConnectError::Transport(format!("cannot bind {local}: {e}")))?;
    let stream = socket
        .connect(remote)
        .await
        .map_err(|e| ConnectError::Transport(format!("connect to {remote} from {local}: {e}")))?;
    stream
        .set_nodelay(true)
        .map_err(|e| ConnectError::Transport(e.to_string()))?;
    Ok(stream)
}

/// The next text frame during the handshake, skipping WebSocket control and binary frames.
async fn next_handshake_text(ws: &mut WsStream) -> Result<String, ConnectError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(_))) | None => {
                return Err(ConnectError::Transport(
                    "connection closed during the handshake".to_owned(),
                ));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(ConnectError::Transport(e.to_string())),
        }
    }
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

/// A binary packet waiting for its attachments.
struct Partial {
    packet: SioPacket,
    buffers: Vec<Vec<u8>>,
}

/// The state of a client's background task.
struct Reader {
    namespace: String,
    sink: Arc<Mutex<WsSink>>,
    acks: SharedAcks,
    events: mpsc::UnboundedSender<ReceivedEvent>,
    idle_timeout: Duration,
    partial: Option<Partial>,
}

impl Reader {
    async fn run(mut self, mut source: WsSource, state: watch::Sender<Option<Disconnect>>) {
        let reason = self.read_loop(&mut source).await;
        tracing::debug!(namespace = %self.namespace, ?reason, "socket.io client disconnected");
        {
            let mut acks = lock(&self.acks);
            acks.closed = true;
            // Dropping the senders wakes every waiting `emit_with_ack` with `Closed`.
            acks.pending.clear();
        }
        state.send_replace(Some(reason));
        // Close the event channel now, so `next_event` reports `Closed` once the buffer is empty.
        let Self { sink, events, .. } = self;
        drop(events);
        // Finish the WebSocket close handshake, bounded in time.
        let _ = tokio::time::timeout(CLOSE_GRACE, async { sink.lock().await.close().await }).await;
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(_)) = source.next().await {}
        })
        .await;
    }

    async fn read_loop(&mut self, source: &mut WsSource) -> Disconnect {
        loop {
            let message = match tokio::time::timeout(self.idle_timeout, source.next()).await {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(e))) => {
                    tracing::debug!(error = %e, "websocket read error");
                    return Disconnect::EngineClosed;
                }
                Ok(None) => return Disconnect::EngineClosed,
                Err(_) => {
                    tracing::debug!("no message from the server within pingInterval + pingTimeout");
                    return Disconnect::EngineClosed;
                }
            };
            match message {
                Message::Text(text) => {
                    if let Some(reason) = self.on_text(text.as_str()).await {
                        return reason;
                    }
                }
                Message::Binary(bytes) => self.on_binary(&bytes),
                Message::Close(_) => return Disconnect::EngineClosed,
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Option<Disconnect> {
        if self.partial.take().is_some() {
            tracing::debug!(
                "text frame while waiting for binary attachments; dropping the partial packet"
            );
        }
        match packet::decode_engine(text) {
            Ok(EnginePacket::Ping(data)) => {
                let pong = Message::text(format!("3{data}"));
                if let Err(e) = self.sink.lock().await.send(pong).await {
                    tracing::debug!(error = %e, "could not answer ping");
                    return Some(Disconnect::EngineClosed);
                }
                None
            }
            Ok(EnginePacket::Close) => Some(Disconnect::EngineClosed),
            Ok(EnginePacket::Message(sio)) => self.on_sio(sio),
            Ok(
                EnginePacket::Open(_)
                | EnginePacket::Pong(_)
                | EnginePacket::Upgrade
                | EnginePacket::Noop,
            ) => None,
            Err(e) => {
                tracing::debug!(error = %e, frame = %truncate(text), "ignoring invalid engine.io frame");
                None
            }
        }
    }

    fn on_sio(&mut self, text: &str) -> Option<Disconnect> {
        let packet = match packet::decode_sio(text) {
            Ok(packet) => packet,
            Err(e) => {
                tracing::debug!(error = %e, frame = %truncate(text), "ignoring invalid socket.io packet");
                return None;
            }
        };
        if packet.namespace != self.namespace {
            tracing::debug!(namespace = %packet.namespace, "ignoring packet for another namespace");
            return None;
        }
        match packet.kind {
            PacketType::Disconnect => return Some(Disconnect::ByServer),
            PacketType::Event | PacketType::Ack => self.deliver(packet, &[]),
            PacketType::BinaryEvent | PacketType::BinaryAck => {
                if packet.attachments == 0 {
                    self.deliver(packet, &[]);
                } else {
                    let capacity = packet.attachments.min(16);
                    self.partial = Some(Partial {
                        packet,
                        buffers: Vec::with_capacity(capacity),
                    });
                }
            }
            PacketType::Connect | PacketType::ConnectError => {
                tracing::debug!(kind = ?packet.kind, "ignoring unexpected packet after connect");
            }
        }
        None
    }

    fn on_binary(&mut self, bytes: &[u8]) {
        let Some(partial) = self.partial.as_mut() else {
            tracing::debug!(len = bytes.len(), "ignoring unexpected binary frame");
            return;
        };
        partial.buffers.push(bytes.to_vec());
        if partial.buffers.len() < partial.packet.attachments {
            return;
        }
        if let Some(Partial { packet, buffers }) = self.partial.take() {
            self.deliver(packet, &buffers);
        }
    }

    /// Hands a complete EVENT / ACK (binary or not) to the client.
    fn deliver(&mut self, packet: SioPacket, attachments: &[Vec<u8>]) {
        let payload = match packet.payload {
            Some(payload) if packet.kind.is_binary() => {
                match packet::fill_placeholders(payload, attachments) {
                    Ok(filled) => Some(filled),
                    Err(e) => {
                        tracing::debug!(error = %e, "ignoring binary packet");
                        return;
                    }
                }
            }
            other => other,
        };
        match packet.kind {
            PacketType::Event | PacketType::BinaryEvent => match packet::split_event(payload) {
                Ok((name, args)) => {
                    if packet.ack_id.is_some() {
                        tracing::debug!(event = %name, "server asked for an ack; this client never acks");
                    }
                    // A send error means the client is gone; its drop aborts this task anyway.
                    let _ = self.events.send(ReceivedEvent { name, args });
                }
                Err(e) => tracing::debug!(error = %e, "ignoring invalid event"),
            },
            PacketType::Ack | PacketType::BinaryAck => {
                let Some(id) = packet.ack_id else {
                    tracing::debug!("ignoring ack without an id");
                    return;
                };
                match packet::ack_args(payload) {
                    Ok(args) => match lock(&self.acks).pending.remove(&id) {
                        Some(waiter) => {
                            let _ = waiter.send(args);
                        }
                        None => tracing::debug!(id, "ignoring ack for an unknown id"),
                    },
                    Err(e) => tracing::debug!(error = %e, "ignoring invalid ack"),
                }
            }
            _ => {}
        }
    }
}

impl SioClient {
    /// The socket.io sid from the server's CONNECT reply.
    #[must_use]
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Emits `event` with one argument, without asking for an ack.
    ///
    /// # Errors
    /// [`ClientError::Closed`] once disconnected, [`ClientError::Transport`] if the write fails.
    pub async fn emit(&self, event: &str, data: Value) -> Result<(), ClientError> {
        self.emit_args(event, vec![data]).await
    }

    /// Emits `event` with any number of arguments (possibly none), without asking for an ack.
    ///
    /// # Errors
    /// [`ClientError::Closed`] once disconnected, [`ClientError::Transport`] if the write fails.
    pub async fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), ClientError> {
        self.ensure_connected()?;
        let frame = packet::encode_event(&self.namespace, None, event, &args);
        self.send_frames([Message::text(frame)]).await
    }

    /// Emits `event` with one argument and waits for the server's ack; returns the ack's first
    /// argument (`Null` if the ack had none).
    ///
    /// # Errors
    /// [`ClientError::Timeout`] if no ack arrives within `timeout` (which covers the write too),
    /// [`ClientError::Closed`] if the connection is or gets closed, [`ClientError::Transport`] if the
    /// write fails.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: Value,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        let args = self.emit_args_with_ack(event, vec![data], timeout).await?;
        Ok(args.into_iter().next().unwrap_or(Value::Null))
    }

    /// Emits `event` with any number of arguments and waits for the server's ack; returns all the
    /// ack's arguments.
    ///
    /// # Errors
    /// As [`SioClient::emit_with_ack`].
    pub async fn emit_args_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Vec<Value>, ClientError> {
        self.ensure_connected()?;
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut acks = lock(&self.acks);
            if acks.closed {
                return Err(ClientError::Closed);
            }
            let id = acks.next_id;
            acks.next_id = acks.next_id.wrapping_add(1);
            acks.pending.insert(id, tx);
            id
        };
        let _pending = PendingAck {
            acks: &self.acks,
            id,
        };
        let frame = packet::encode_event(&self.namespace, Some(id), event, &args);
        let exchange = async {
            self.send_frames([Message::text(frame)]).await?;
            rx.await.map_err(|_| ClientError::Closed)
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(ClientError::Timeout))
    }

    /// Emits `event` with a single binary argument: the text frame
    /// `451-/ns,["event",{"_placeholder":true,"num":0}]` followed by one binary frame with `bytes`.
    ///
    /// # Errors
    /// [`ClientError::Closed`] once disconnected, [`ClientError::Transport`] if the write fails.
    pub async fn emit_binary(&self, event: &str, bytes: Vec<u8>) -> Result<(), ClientError> {
        self.ensure_connected()?;
        let header = packet::encode_binary_event(&self.namespace, None, event);
        self.send_frames([Message::text(header), Message::binary(bytes)])
            .await
    }

    /// Sends `frame` verbatim as one WebSocket text frame: a whole engine.io packet, e.g.
    /// `"42/drivers,[\"x\""` (malformed on purpose). Nothing is added or checked.
    ///
    /// # Errors
    /// [`ClientError::Closed`] once disconnected, [`ClientError::Transport`] if the write fails.
    pub async fn send_raw(&self, frame: String) -> Result<(), ClientError> {
        self.ensure_connected()?;
        self.send_frames([Message::text(frame)]).await
    }

    /// The next server event, in arrival order (buffered ones first).
    ///
    /// # Errors
    /// [`ClientError::Timeout`] if none arrives within `timeout`; [`ClientError::Closed`] if the
    /// connection is closed and no event is left.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<ReceivedEvent, ClientError> {
        if let Some(event) = self.buffered.pop_front() {
            return Ok(event);
        }
        match tokio::time::timeout(timeout, self.events.recv()).await {
            Ok(Some(event)) => Ok(event),
            Ok(None) => Err(ClientError::Closed),
            Err(_) => Err(ClientError::Timeout),
        }
    }

    /// Waits for the first event named `name` (buffered or new) and returns its first argument
    /// (`Null` if it had none). Events with other names stay buffered, in order, for later calls.
    ///
    /// # Errors
    /// [`ClientError::Timeout`] if no such event arrives within `timeout`; [`ClientError::Closed`]
    /// if the connection closes first.
    pub async fn expect_event(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        if let Some(event) = self.take_buffered(name) {
            return Ok(first_arg(event));
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                biased;
                event = self.events.recv() => match event {
                    Some(event) if event.name == name => return Ok(first_arg(event)),
                    Some(event) => self.buffered.push_back(event),
                    None => return Err(ClientError::Closed),
                },
                () = &mut deadline => return Err(ClientError::Timeout),
            }
        }
    }

    /// Checks that no event named `name` is buffered or arrives within `within`.
    ///
    /// Returns early with `Ok` if the connection closes (no event can arrive any more). Events
    /// with other names stay buffered.
    ///
    /// # Errors
    /// The offending event (removed from the buffer).
    pub async fn expect_no_event(
        &mut self,
        name: &str,
        within: Duration,
    ) -> Result<(), ReceivedEvent> {
        if let Some(event) = self.take_buffered(name) {
            return Err(event);
        }
        let deadline = tokio::time::sleep(within);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                biased;
                event = self.events.recv() => match event {
                    Some(event) if event.name == name => return Err(event),
                    Some(event) => self.buffered.push_back(event),
                    None => return Ok(()),
                },
                () = &mut deadline => return Ok(()),
            }
        }
    }

    /// Every event buffered or already arrived, in order, without waiting.
    pub fn drain_events(&mut self) -> Vec<ReceivedEvent> {
        let mut drained: Vec<ReceivedEvent> = self.buffered.drain(..).collect();
        while let Ok(event) = self.events.try_recv() {
            drained.push(event);
        }
        drained
    }

    /// Waits until the connection ends and says how. Events that arrive before the disconnect stay
    /// available to [`SioClient::next_event`] and friends.
    ///
    /// # Errors
    /// [`ClientError::Timeout`] if still connected after `timeout`.
    pub async fn wait_disconnect(&mut self, timeout: Duration) -> Result<Disconnect, ClientError> {
        match tokio::time::timeout(timeout, self.state.wait_for(Option::is_some)).await {
            Ok(Ok(reason)) => Ok(reason.clone().unwrap_or(Disconnect::EngineClosed)),
            // The reader is gone without recording a reason.
            Ok(Err(_)) => Ok(Disconnect::EngineClosed),
            Err(_) => Err(ClientError::Timeout),
        }
    }

    /// Whether the connection is still up (no disconnect seen yet).
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.state.borrow().is_none() && !self.reader.is_finished()
    }

    /// Disconnects gracefully: sends `41/ns,` (if still connected), closes the WebSocket and waits
    /// briefly for the server's close reply.
    pub async fn close(mut self) {
        if self.is_connected() {
            let frame = packet::encode_disconnect(&self.namespace);
            let sink = Arc::clone(&self.sink);
            let _ = tokio::time::timeout(CLOSE_GRACE, async move {
                let mut sink = sink.lock().await;
                if sink.send(Message::text(frame)).await.is_ok() {
                    let _ = sink.close().await;
                }
            })
            .await;
        }
        let _ = tokio::time::timeout(CLOSE_GRACE, &mut self.reader).await;
        // Dropping `self` aborts the reader if it is still running.
    }

    fn ensure_connected(&self) -> Result<(), ClientError> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(ClientError::Closed)
        }
    }

    /// Writes the frames back to back (no other writer can interleave) and flushes.
    async fn send_frames<const N: usize>(&self, frames: [Message; N]) -> Result<(), ClientError> {
        let mut sink = self.sink.lock().await;
        for frame in frames {
            sink.feed(frame).await.map_err(write_error)?;
        }
        sink.flush().await.map_err(write_error)
    }

    fn take_buffered(&mut self, name: &str) -> Option<ReceivedEvent> {
        let index = self.buffered.iter().position(|event| event.name == name)?;
        self.buffered.remove(index)
    }
}

impl Drop for SioClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn first_arg(event: ReceivedEvent) -> Value {
    event.args.into_iter().next().unwrap_or(Value::Null)
}
