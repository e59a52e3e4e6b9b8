//! Is cluster delivery working? Asked of the path the adapter really uses, not of a side
//! connection: a nonce is published through the publish queue and connection, on a channel only
//! this node listens to, and must come back through the subscriber connection. A Redis that
//! answers `PING` but lost this node's subscriptions (killed pub/sub clients, failover to an
//! empty replica) fails this check, as it should.
//!
//! The keep-alive half `PING`s the subscriber connection, which otherwise sends nothing: redis-rs
//! reconnects a connection on the next command after its own retries were exhausted, so without
//! this a long outage would leave the subscriber dead for good.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rodando_ports::Unexpected;
use rodando_ports::health::HealthCheck;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::metrics;
use crate::throttle::Throttle;
use crate::{Shared, connections};

/// When the round trip last worked, shared by the probe and whoever asks.
#[derive(Debug)]
pub(crate) struct ProbeState {
    /// Time zero of the probe's timestamps.
    origin: Instant,
    /// Identifies this probe's messages (a restarted node gets another one).
    nonce: u64,
    /// 1 + the send time (ms after `origin`) of the newest nonce that came back; 0 for never.
    newest_back: AtomicU64,
    /// A round trip older than this means delivery is not working.
    stale_after: Duration,
    healthy: watch::Sender<bool>,
}

const PAYLOAD_LEN: usize = 16;

impl ProbeState {
    pub fn new(stale_after: Duration) -> Self {
        let nonce = uuid::Uuid::new_v4().as_u64_pair().0;
        Self {
            origin: Instant::now(),
            nonce,
            newest_back: AtomicU64::new(0),
            stale_after,
            healthy: watch::Sender::new(false),
        }
    }

    /// The payload of a probe sent at `now`: the nonce and the send time.
    pub fn payload(&self, now: Instant) -> Vec<u8> {
        let sent = millis(now.saturating_duration_since(self.origin));
        let mut payload = Vec::with_capacity(PAYLOAD_LEN);
        payload.extend_from_slice(&self.nonce.to_be_bytes());
        payload.extend_from_slice(&sent.to_be_bytes());
        payload
    }

    /// A probe came back: when it is one of ours, the newest round trip is at least the time
    /// it was sent. A probe delivered late therefore does not make a dead path look alive.
    pub fn came_back(&self, payload: &[u8]) {
        let Some((nonce, sent)) = payload
            .split_at_checked(8)
            .and_then(|(nonce, sent)| Some((nonce.try_into().ok()?, sent.try_into().ok()?)))
            .map(|(nonce, sent)| (u64::from_be_bytes(nonce), u64::from_be_bytes(sent)))
        else {
            return;
        };
        if nonce == self.nonce {
            self.newest_back
                .fetch_max(sent.saturating_add(1), Ordering::Relaxed);
        }
    }

    /// How long ago the newest probe that came back was sent; `None` if none came back yet.
    pub fn age(&self, now: Instant) -> Option<Duration> {
        let newest = self.newest_back.load(Ordering::Relaxed).checked_sub(1)?;
        let sent = self.origin + Duration::from_millis(newest);
        Some(now.saturating_duration_since(sent))
    }

    /// Whether a probe sent less than `stale_after` before `now` came back.
    pub fn healthy_at(&self, now: Instant) -> bool {
        self.age(now).is_some_and(|age| age < self.stale_after)
    }

    /// Publishes the state at `now` to the watchers; returns it and whether it changed.
    fn refresh(&self, now: Instant) -> (bool, bool) {
        let healthy = self.healthy_at(now);
        let changed = self.healthy.send_if_modified(|current| {
            let changed = *current != healthy;
            *current = healthy;
            changed
        });
        (healthy, changed)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Whether this node's cluster delivery works, as the probe last saw it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClusterHealth {
    state: Arc<ProbeState>,
}

impl ClusterHealth {
    pub(crate) fn new(state: Arc<ProbeState>) -> Self {
        Self { state }
    }

    /// `true` while cluster delivery works; changes when it stops and when it comes back (for
    /// example to re-check what may have been missed meanwhile).
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.state.healthy.subscribe()
    }

    /// Whether a probe round trip succeeded recently.
    pub fn is_healthy(&self) -> bool {
        self.state.healthy_at(Instant::now())
    }

    /// Waits until the first round trip succeeded (start-up: a node must hear the others
    /// before it accepts sockets).
    pub async fn wait_healthy(&self) {
        let mut watch = self.watch();
        let _ = watch.wait_for(|healthy| *healthy).await;
    }
}

#[async_trait]
impl HealthCheck for ClusterHealth {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn check(&self) -> Result<(), Unexpected> {
        let now = Instant::now();
        if self.state.healthy_at(now) {
            return Ok(());
        }
        Err(match self.state.age(now) {
            Some(age) => Unexpected::msg(format!(
                "redis: no pub/sub round trip for {} ms",
                age.as_millis()
            )),
            None => Unexpected::msg("redis: no pub/sub round trip yet"),
        })
    }
}

/// Sends a probe every `every` through the publish queue and reads them back from `back`,
/// until `stop`. Logs when delivery stops and when it resumes.
pub(crate) async fn run(
    shared: Arc<Shared>,
    state: Arc<ProbeState>,
    channel: String,
    mut back: mpsc::Receiver<socketioxide_redis::drivers::ChanItem>,
    every: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut down_since: Option<Instant> = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            item = back.recv() => match item {
                Some((_, payload)) => state.came_back(&payload),
                None => return,
            },
            _ = tick.tick() => {
                let now = Instant::now();
                shared.queue.offer(channel.clone(), state.payload(now));
            }
        }
        let now = Instant::now();
        let (healthy, changed) = state.refresh(now);
        if !changed {
            continue;
        }
        metrics::healthy(healthy);
        match (healthy, down_since) {
            (false, _) => {
                down_since = Some(now);
                tracing::warn!(
                    last_round_trip_ms = state.age(now).map(millis),
                    "redis: cluster delivery is down (probe did not come back); this node's sockets still get local emits"
                );
            }
            (true, Some(since)) => {
                down_since = None;
                tracing::info!(
                    down_ms = millis(now.saturating_duration_since(since)),
                    "redis: cluster delivery is back"
                );
            }
            (true, None) => tracing::debug!("redis: cluster delivery is up"),
        }
    }
}

/// Keeps the subscriber connection exercised, and rebuilds both connections when the round
/// trip stays broken although the subscriber's connection looks alive (answers, or hangs
/// instead of being refused) for `repair_after`: subscriptions lost without a disconnect, a
/// half-open TCP connection, or a resubscription that failed after a reconnect. A plain outage
/// (connections refused) is left to the connections' own reconnects, which the `PING`s trigger.
pub(crate) async fn keep_alive(
    shared: Arc<Shared>,
    state: Arc<ProbeState>,
    every: Duration,
    repair_after: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ping_log = Throttle::default();
    let mut suspect_since: Option<Instant> = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let mut subscriber = shared.subscriber.get();
        let command = redis::cmd("PING");
        let ping = command.query_async::<redis::Value>(&mut subscriber);
        let answered = match tokio::time::timeout(shared.settings.request_timeout, ping).await {
            Ok(Ok(_)) => Some(true),
            Ok(Err(e)) => {
                metrics::error("ping");
                if let Some(suppressed) = ping_log.check_now() {
                    tracing::debug!(error = %e, suppressed, "redis: subscriber PING failed");
                }
                None
            }
            Err(_) => {
                metrics::error("ping");
                Some(false)
            }
        };
        let now = Instant::now();
        if state.healthy_at(now) || answered.is_none() {
            suspect_since = None;
            continue;
        }
        let since = *suspect_since.get_or_insert(now);
        if now.saturating_duration_since(since) < repair_after {
            continue;
        }
        suspect_since = None;
        let still_needed = || !state.healthy_at(Instant::now());
        match connections::rebuild(&shared, still_needed).await {
            Ok(false) => tracing::debug!("redis: the connections recovered while being rebuilt"),
            Ok(true) => {
                metrics::repaired();
                tracing::warn!(
                    ping_answered = answered == Some(true),
                    "redis: pub/sub round trip broken while Redis is reachable; rebuilt both connections"
                );
            }
            Err(e) => {
                metrics::error("repair");
                tracing::debug!(error = %e, "redis: rebuilding the connections failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_only_while_a_recent_probe_came_back() {
        let state = ProbeState::new(Duration::from_secs(2));
        let t0 = state.origin;
        assert!(!state.healthy_at(t0), "not before the first round trip");
        state.came_back(&state.payload(t0 + Duration::from_secs(1)));
        assert!(state.healthy_at(t0 + Duration::from_millis(2_900)));
        assert!(!state.healthy_at(t0 + Duration::from_millis(3_100)));
        assert_eq!(
            state.age(t0 + Duration::from_secs(4)),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn a_late_probe_does_not_make_a_newer_round_trip_look_older() {
        let state = ProbeState::new(Duration::from_secs(2));
        let t0 = state.origin;
        let early = state.payload(t0);
        let later = state.payload(t0 + Duration::from_secs(5));
        state.came_back(&later);
        state.came_back(&early);
        assert!(state.healthy_at(t0 + Duration::from_secs(6)));
    }

    #[test]
    fn probes_of_another_node_or_garbage_are_ignored() {
        let state = ProbeState::new(Duration::from_secs(2));
        let other = ProbeState::new(Duration::from_secs(2));
        let now = state.origin + Duration::from_secs(1);
        state.came_back(&other.payload(now));
        state.came_back(b"short");
        state.came_back(&[0_u8; 40]);
        assert!(!state.healthy_at(now));
    }

    #[tokio::test]
    async fn watchers_hear_the_changes_only() {
        let state = Arc::new(ProbeState::new(Duration::from_secs(2)));
        let health = ClusterHealth::new(Arc::clone(&state));
        let mut watch = health.watch();
        let t0 = state.origin;
        assert_eq!(state.refresh(t0), (false, false));
        state.came_back(&state.payload(t0));
        assert_eq!(state.refresh(t0 + Duration::from_millis(10)), (true, true));
        assert!(watch.has_changed().unwrap());
        assert!(*watch.borrow_and_update());
        assert_eq!(state.refresh(t0 + Duration::from_millis(20)), (true, false));
        assert!(!watch.has_changed().unwrap());
        assert_eq!(state.refresh(t0 + Duration::from_secs(3)), (false, true));
        assert!(!*watch.borrow_and_update());
        assert!(
            health.check().await.is_ok(),
            "the probe of t0 is recent in real time"
        );
        let never = ClusterHealth::new(Arc::new(ProbeState::new(Duration::from_secs(2))));
        let refused = never.check().await.unwrap_err().to_string();
        assert!(
            refused.contains("redis") && refused.contains("yet"),
            "{refused}"
        );
    }
}
