//! Publishing to the other nodes without ever holding up this node.
//!
//! socketioxide-redis publishes a broadcast to Redis *before* delivering it to this node's own
//! sockets, and gives up on the local delivery when the publish fails. So a publish here never
//! fails and never waits on Redis: it is put in a bounded queue (dropped and counted when the
//! queue is full) and one task sends the queue in order, a batch of `PUBLISH` commands per round
//! trip. What cannot be sent (Redis down, too old to matter) is dropped and counted, never
//! replayed: the other nodes' clients rebuild their state when they reconnect, and a location
//! or status replayed minutes late would be wrong anyway.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use crate::Conn;
use crate::metrics;
use crate::throttle::Throttle;

/// One message for the other nodes.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub channel: String,
    pub payload: Vec<u8>,
    pub queued_at: Instant,
}

/// The sending side of the publish queue, shared by every clone of the driver.
#[derive(Debug)]
pub(crate) struct Queue {
    tx: mpsc::Sender<Outgoing>,
    dropped_full: AtomicU64,
    full_log: Throttle,
}

/// Whether a message was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    Queued,
    Dropped,
}

impl Queue {
    /// A queue of `capacity` messages and its receiving end, for [`run`].
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let queue = Self {
            tx,
            dropped_full: AtomicU64::new(0),
            full_log: Throttle::default(),
        };
        (queue, rx)
    }

    /// Queues a message without waiting; when the queue is full (Redis slower than this node's
    /// emits, or down) the message is dropped and counted.
    pub fn offer(&self, channel: String, payload: Vec<u8>) -> Offer {
        let message = Outgoing {
            channel,
            payload,
            queued_at: Instant::now(),
        };
        match self.tx.try_send(message) {
            Ok(()) => Offer::Queued,
            Err(TrySendError::Full(_)) => {
                let dropped_total = self.dropped_full.fetch_add(1, Ordering::Relaxed) + 1;
                metrics::dropped("queue_full", 1);
                if let Some(suppressed) = self.full_log.check_now() {
                    tracing::warn!(
                        suppressed,
                        dropped_total,
                        capacity = self.tx.max_capacity(),
                        "redis: publish queue full, dropping messages for the other nodes"
                    );
                }
                Offer::Dropped
            }
            Err(TrySendError::Closed(_)) => {
                metrics::dropped("closed", 1);
                Offer::Dropped
            }
        }
    }

    /// Messages dropped because the queue was full, since the start.
    #[cfg(test)]
    pub fn dropped_full(&self) -> u64 {
        self.dropped_full.load(Ordering::Relaxed)
    }
}

/// How the sending task batches and gives up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendPolicy {
    /// At most this many messages per round trip.
    pub batch_max: usize,
    /// A message queued longer than this is dropped instead of sent.
    pub max_age: Duration,
    /// A batch not acknowledged by Redis within this is counted as failed.
    pub send_timeout: Duration,
}

/// Takes `first` and whatever else is queued (up to the batch size), without waiting, and
/// leaves out the messages older than `max_age` at `now`. Returns the batch and how many were
/// left out.
pub(crate) fn take_batch(
    first: Outgoing,
    rx: &mut mpsc::Receiver<Outgoing>,
    policy: SendPolicy,
    now: Instant,
) -> (Vec<Outgoing>, usize) {
    let mut batch = Vec::with_capacity(policy.batch_max.min(64));
    let mut stale = 0;
    let mut next = Some(first);
    while let Some(message) = next.take() {
        if now.saturating_duration_since(message.queued_at) > policy.max_age {
            stale += 1;
        } else {
            batch.push(message);
        }
        if batch.len() + stale >= policy.batch_max.max(1) {
            break;
        }
        next = rx.try_recv().ok();
    }
    (batch, stale)
}

/// Sends the queue until `stop`: one pipeline of `PUBLISH` per batch, in queue order.
pub(crate) async fn run(
    publisher: std::sync::Arc<Conn>,
    mut rx: mpsc::Receiver<Outgoing>,
    policy: SendPolicy,
    stop: CancellationToken,
) {
    let failure_log = Throttle::default();
    let mut failing = false;
    loop {
        let first = tokio::select! {
            () = stop.cancelled() => return,
            first = rx.recv() => match first {
                Some(first) => first,
                None => return,
            },
        };
        let (batch, stale) = take_batch(first, &mut rx, policy, Instant::now());
        metrics::queue_depth(rx.len());
        if stale > 0 {
            metrics::dropped("stale", stale);
        }
        if batch.is_empty() {
            continue;
        }
        let mut pipe = redis::pipe();
        for message in &batch {
            pipe.cmd("PUBLISH")
                .arg(&message.channel)
                .arg(&message.payload)
                .ignore();
        }
        let mut conn = publisher.get();
        let outcome = tokio::time::timeout(policy.send_timeout, pipe.exec_async(&mut conn)).await;
        let error = match outcome {
            Ok(Ok(())) => {
                metrics::published(batch.len());
                if failing {
                    failing = false;
                    tracing::info!("redis: publishing to the other nodes again");
                }
                continue;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {:?}", policy.send_timeout),
        };
        failing = true;
        metrics::error("publish");
        metrics::dropped("send_failed", batch.len());
        if let Some(suppressed) = failure_log.check_now() {
            tracing::warn!(
                error,
                dropped = batch.len(),
                suppressed,
                "redis: publish failed; messages for the other nodes are dropped until it is back"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(channel: &str, queued_at: Instant) -> Outgoing {
        Outgoing {
            channel: channel.to_owned(),
            payload: channel.as_bytes().to_vec(),
            queued_at,
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (queue, mut rx) = Queue::new(2);
        let offers: Vec<Offer> = (0..5)
            .map(|i| queue.offer(format!("c{i}"), vec![]))
            .collect();
        assert_eq!(
            offers,
            [
                Offer::Queued,
                Offer::Queued,
                Offer::Dropped,
                Offer::Dropped,
                Offer::Dropped
            ]
        );
        assert_eq!(queue.dropped_full(), 3);
        // The first ones stay queued, in order.
        assert_eq!(rx.try_recv().map(|m| m.channel).ok().as_deref(), Some("c0"));
        assert_eq!(queue.offer("c5".into(), vec![]), Offer::Queued);
        assert_eq!(rx.try_recv().map(|m| m.channel).ok().as_deref(), Some("c1"));
        assert_eq!(rx.try_recv().map(|m| m.channel).ok().as_deref(), Some("c5"));
    }

    #[test]
    fn a_queue_whose_sender_stopped_drops() {
        let (queue, rx) = Queue::new(4);
        drop(rx);
        assert_eq!(queue.offer("c".into(), vec![]), Offer::Dropped);
        assert_eq!(queue.dropped_full(), 0, "not counted as full");
    }

    #[test]
    fn a_batch_keeps_order_stops_at_the_limit_and_leaves_out_stale_messages() {
        let policy = SendPolicy {
            batch_max: 3,
            max_age: Duration::from_secs(5),
            send_timeout: Duration::from_secs(1),
        };
        let now = Instant::now() + Duration::from_secs(60);
        let (tx, mut rx) = mpsc::channel(16);
        for (name, age) in [("b", 1), ("old", 30), ("c", 0), ("d", 0)] {
            tx.try_send(message(name, now - Duration::from_secs(age)))
                .unwrap();
        }
        let (batch, stale) = take_batch(message("a", now), &mut rx, policy, now);
        let names: Vec<&str> = batch.iter().map(|m| m.channel.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(stale, 1, "the stale one counts towards the batch limit");
        let (batch, stale) = take_batch(rx.try_recv().unwrap(), &mut rx, policy, now);
        let names: Vec<&str> = batch.iter().map(|m| m.channel.as_str()).collect();
        assert_eq!((names, stale), (vec!["c", "d"], 0));
    }
}
