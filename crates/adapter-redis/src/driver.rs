//! The [`Driver`] socketioxide-redis's adapter talks to.

use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::mpsc;
use tokio_util::sync::DropGuard;

use crate::throttle::Throttle;
use crate::{Shared, metrics};

/// Why a driver call failed. Publishing never does: it only queues.
///
/// The Redis error is part of the message and not exposed as the source: redis-rs already
/// repeats its I/O error in its own message, and an error chain printed in full (the start-up
/// line) would say "Connection refused" three times.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// Redis answered with an error, or the connection failed.
    #[error("redis: {0}")]
    Redis(redis::RedisError),
    /// Redis did not answer in time.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

impl From<redis::RedisError> for DriverError {
    fn from(error: redis::RedisError) -> Self {
        Self::Redis(error)
    }
}

/// A socketioxide-redis driver that survives Redis restarts. Clones share everything; the
/// background tasks stop with the last clone.
#[derive(Clone)]
pub struct ResilientDriver {
    shared: Arc<Shared>,
    num_serv_log: Arc<Throttle>,
    _stop: Arc<DropGuard>,
}

impl std::fmt::Debug for ResilientDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResilientDriver")
            .field("prefix", &self.shared.settings.channel_prefix)
            .finish_non_exhaustive()
    }
}

impl ResilientDriver {
    pub(crate) fn new(shared: Arc<Shared>, stop: DropGuard) -> Self {
        Self {
            shared,
            num_serv_log: Arc::new(Throttle::default()),
            _stop: Arc::new(stop),
        }
    }

    /// Routes `channel` to a new stream, then subscribes the subscriber connection to it (in
    /// this order, so no message between the confirmation and the route is lost).
    pub(crate) async fn subscribe_raw(
        &self,
        channel: String,
        size: usize,
    ) -> Result<mpsc::Receiver<ChanItem>, DriverError> {
        let (tx, rx) = mpsc::channel(size.max(1));
        self.shared.routes.insert(channel.clone(), tx);
        let mut subscriber = self.shared.subscriber.get();
        let limit = self.shared.settings.send_timeout;
        let outcome = tokio::time::timeout(limit, subscriber.subscribe(&channel)).await;
        let error = match outcome {
            Ok(Ok(())) => return Ok(rx),
            Ok(Err(e)) => DriverError::Redis(e),
            Err(_) => DriverError::Timeout(limit),
        };
        self.shared.routes.remove(&channel);
        metrics::error("subscribe");
        Err(error)
    }
}

impl Driver for ResilientDriver {
    type Error = DriverError;

    /// Queues the message and returns at once, whatever the state of Redis.
    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        self.shared.queue.offer(chan, val);
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        Ok(MessageStream::new(self.subscribe_raw(chan, size).await?))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        self.shared.routes.remove(&chan);
        let mut subscriber = self.shared.subscriber.get();
        let limit = self.shared.settings.request_timeout;
        match tokio::time::timeout(limit, subscriber.unsubscribe(&chan)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                metrics::error("unsubscribe");
                Err(e.into())
            }
            Err(_) => {
                metrics::error("unsubscribe");
                Err(DriverError::Timeout(limit))
            }
        }
    }

    /// The nodes subscribed to `chan` (the adapter's request channel), for the requests that
    /// wait for every node's answer (`fetch_sockets`, `rooms`, broadcasts with acks).
    ///
    /// When Redis does not answer this is 1, this node alone, rather than an error: the
    /// request was not delivered to the others anyway (publishing drops during an outage), so
    /// waiting for their answers would only time out, and an error would fail the local part
    /// too. The caller gets this node's answers at once, which is all that is reachable.
    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let mut publisher = self.shared.publisher.get();
        let limit = self.shared.settings.request_timeout;
        let mut numsub = redis::cmd("PUBSUB");
        numsub.arg("NUMSUB").arg(chan);
        let query = numsub.query_async::<Value>(&mut publisher);
        let error = match tokio::time::timeout(limit, query).await {
            Ok(Ok(reply)) => match numsub_count(&reply) {
                Some(count) => return Ok(count.max(1)),
                None => format!("unexpected PUBSUB NUMSUB reply {reply:?}"),
            },
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {limit:?}"),
        };
        metrics::error("num_serv");
        if let Some(suppressed) = self.num_serv_log.check_now() {
            tracing::warn!(
                error,
                suppressed,
                "redis: cannot count the nodes; answering for this node alone"
            );
        }
        Ok(1)
    }
}

/// The subscriber count in a `PUBSUB NUMSUB <channel>` reply: `[channel, count]` in RESP2, a
/// map `{channel: count}` in RESP3.
fn numsub_count(reply: &Value) -> Option<u16> {
    let count = match reply {
        Value::Array(items) => items.get(1)?,
        Value::Map(pairs) => &pairs.first()?.1,
        _ => return None,
    };
    match count {
        Value::Int(n) if *n >= 0 => Some(u16::try_from(*n).unwrap_or(u16::MAX)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numsub_replies_of_both_protocols_are_read() {
        let channel = Value::BulkString(b"rodando-request#/drivers#".to_vec());
        assert_eq!(
            numsub_count(&Value::Array(vec![channel.clone(), Value::Int(3)])),
            Some(3)
        );
        assert_eq!(
            numsub_count(&Value::Map(vec![(channel.clone(), Value::Int(2))])),
            Some(2)
        );
        assert_eq!(
            numsub_count(&Value::Array(vec![channel.clone(), Value::Int(1 << 20)])),
            Some(u16::MAX)
        );
        assert_eq!(
            numsub_count(&Value::Array(vec![channel, Value::Int(-1)])),
            None
        );
        assert_eq!(numsub_count(&Value::Nil), None);
    }
}
