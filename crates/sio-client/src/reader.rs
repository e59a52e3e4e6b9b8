//! The background task of a connection: answers engine.io pings, resolves acknowledgements,
//! reassembles binary packets and forwards server events to the client.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Mutex, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::packet::{self, EnginePacket, PacketType, SioPacket};
use crate::{CLOSE_GRACE, Disconnect, ReceivedEvent, SharedAcks, WsSink, WsSource, lock, truncate};

/// A binary packet waiting for its attachments.
pub(crate) struct Partial {
    packet: SioPacket,
    buffers: Vec<Vec<u8>>,
}

/// The state of a client's background task.
pub(crate) struct Reader {
    pub(crate) namespace: String,
    pub(crate) sink: Arc<Mutex<WsSink>>,
    pub(crate) acks: SharedAcks,
    pub(crate) events: mpsc::UnboundedSender<ReceivedEvent>,
    pub(crate) idle_timeout: Duration,
    pub(crate) partial: Option<Partial>,
}

impl Reader {
    /// Reads until the connection ends, then closes it and tells the client why.
    pub(crate) async fn run(
        mut self,
        mut source: WsSource,
        state: watch::Sender<Option<Disconnect>>,
    ) {
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
