//! Messages from the other nodes: the subscriber connection's RESP3 pushes, routed to the
//! stream of the channel's subscriber (one per adapter channel, as socketioxide-redis expects).
//!
//! The routes live outside the connection, so a reconnected or rebuilt connection delivers to
//! the same streams.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use redis::{PushInfo, PushKind, Value};
use socketioxide_redis::drivers::ChanItem;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::metrics;
use crate::throttle::Throttle;

/// Channel name → the stream of its subscriber.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    senders: RwLock<HashMap<String, mpsc::Sender<ChanItem>>>,
    full_log: Throttle,
}

impl Routes {
    /// Messages on `channel` go to `sender` from now on.
    pub fn insert(&self, channel: String, sender: mpsc::Sender<ChanItem>) {
        self.senders
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(channel, sender);
    }

    /// Messages on `channel` are ignored from now on.
    pub fn remove(&self, channel: &str) {
        self.senders
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(channel);
    }

    /// Every routed channel, to subscribe a new connection to.
    pub fn channels(&self) -> Vec<String> {
        self.senders
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// Handles one push of the subscriber connection. Never waits: it runs on the connection's
    /// own task.
    pub fn push(&self, push: PushInfo) {
        match push.kind {
            PushKind::Message | PushKind::SMessage => {
                let Some((channel, payload)) = message(push.data) else {
                    tracing::debug!("redis: malformed pub/sub message ignored");
                    return;
                };
                self.deliver(channel, payload);
            }
            PushKind::Disconnection => {
                metrics::disconnected();
                tracing::debug!("redis: subscriber connection lost; reconnecting");
            }
            _ => {}
        }
    }

    fn deliver(&self, channel: String, payload: Vec<u8>) {
        let senders = self.senders.read().unwrap_or_else(PoisonError::into_inner);
        let Some(sender) = senders.get(&channel) else {
            tracing::debug!(channel, "redis: message on a channel nobody listens to");
            return;
        };
        match sender.try_send((channel, payload)) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full((channel, _))) => {
                metrics::receive_dropped();
                if let Some(suppressed) = self.full_log.check_now() {
                    tracing::warn!(
                        channel,
                        suppressed,
                        "redis: a message from another node was dropped, its stream is full"
                    );
                }
            }
        }
    }
}

/// The channel and payload of a `message` push: `[channel, payload]`.
fn message(data: Vec<Value>) -> Option<(String, Vec<u8>)> {
    let mut data = data.into_iter();
    let channel = String::from_utf8(bytes(data.next()?)?).ok()?;
    let payload = bytes(data.next()?)?;
    Some((channel, payload))
}

fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.into_bytes()),
        _ => None,
    }
}

/// The push sender of a subscriber connection, delivering to `routes`.
pub(crate) fn push_sender(
    routes: Arc<Routes>,
) -> impl Fn(PushInfo) -> Result<(), std::convert::Infallible> + Send + Sync + 'static {
    move |push| {
        routes.push(push);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(kind: PushKind, channel: &str, payload: &[u8]) -> PushInfo {
        PushInfo {
            kind,
            data: vec![
                Value::BulkString(channel.as_bytes().to_vec()),
                Value::BulkString(payload.to_vec()),
            ],
        }
    }

    /// Routes with one stream, of `capacity`, on channel `a`.
    fn routes_to_a(capacity: usize) -> (Routes, mpsc::Receiver<ChanItem>) {
        let routes = Routes::default();
        let (tx, rx) = mpsc::channel(capacity);
        routes.insert("a".into(), tx);
        (routes, rx)
    }

    #[test]
    fn a_message_reaches_the_stream_of_its_channel_only() {
        let routes = Routes::default();
        let (tx_a, mut rx_a) = mpsc::channel(4);
        let (tx_b, mut rx_b) = mpsc::channel(4);
        routes.insert("a".into(), tx_a);
        routes.insert("b".into(), tx_b);
        routes.push(push(PushKind::Message, "a", b"hello"));
        routes.push(push(PushKind::Message, "nobody", b"lost"));
        assert_eq!(
            rx_a.try_recv().unwrap(),
            ("a".to_owned(), b"hello".to_vec())
        );
        assert!(rx_a.try_recv().is_err());
        assert!(rx_b.try_recv().is_err());
        let mut channels = routes.channels();
        channels.sort();
        assert_eq!(channels, ["a", "b"]);
    }

    #[test]
    fn a_full_stream_drops_without_waiting_and_a_removed_route_hears_nothing() {
        let (routes, mut rx) = routes_to_a(1);
        routes.push(push(PushKind::Message, "a", b"1"));
        routes.push(push(PushKind::Message, "a", b"2"));
        assert_eq!(rx.try_recv().unwrap().1, b"1");
        assert!(rx.try_recv().is_err(), "the second was dropped");
        routes.remove("a");
        routes.push(push(PushKind::Message, "a", b"3"));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn other_pushes_and_malformed_messages_are_ignored() {
        let (routes, mut rx) = routes_to_a(4);
        routes.push(push(PushKind::Subscribe, "a", b"1"));
        routes.push(PushInfo {
            kind: PushKind::Message,
            data: vec![Value::BulkString(b"a".to_vec())],
        });
        routes.push(PushInfo {
            kind: PushKind::Disconnection,
            data: vec![],
        });
        assert!(rx.try_recv().is_err());
    }
}
