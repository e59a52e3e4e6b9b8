//! The opening of a connection: the WebSocket upgrade (from a chosen local address if asked),
//! engine.io OPEN, the namespace CONNECT and its answer; then the reader task is started.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Mutex, mpsc, watch};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::packet::{self, EnginePacket, PacketType};
use crate::reader::Reader;
use crate::{ConnectError, READ_BUFFER_SIZE, SharedAcks, SioClient, WsStream, truncate};

/// Upgrades, opens engine.io and joins `namespace`.
pub(crate) async fn handshake(
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
