//! `MAX_CONNECTIONS_PER_USER` counted across every node sharing one Redis (one key prefix).
//!
//! In Redis:
//!
//! - `{prefix}:conn-slots:user:{user}`, a hash: one field per socket slot of the user, its value
//!   the id of the node holding the socket;
//! - `{prefix}:conn-slots:node:{node}`, each node's heartbeat: set with a TTL (`CLUSTER_NODE_TTL`,
//!   30 s by default) and refreshed every third of it, so it disappears within the TTL of a
//!   node crashing or losing Redis.
//!
//! Admission is one Lua script ([`ACQUIRE`]), atomic in Redis: it drops the slots of nodes
//! whose heartbeat is gone, counts the rest, and takes the new slot only below the limit. Of
//! 20 simultaneous handshakes of one user on any number of nodes, exactly `max` are admitted.
//! A crashed node's slots therefore come back at the user's next handshake once its heartbeat
//! expired; a user's hash expires [`Settings::user_ttl`] (24 h) after the user's last handshake,
//! so what a crashed node left for users who never return goes too. The script names heartbeat keys it computes (not all passed as `KEYS`): fine on a
//! single Redis or a replicated one, not on Redis Cluster.
//!
//! Every slot is also counted on this node (the `local` counter given at start), first: a user
//! at the limit on this node alone is refused without asking Redis. While Redis cannot be
//! reached (an error, or no answer within [`Settings::timeout`]) the node admits on that local
//! count only and logs it; slots taken meanwhile are not in Redis, so after an outage the
//! cluster count can be low by those until their sockets close. Releases that fail are kept and
//! retried with the heartbeat.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use rodando_domain::ids::UserId;
use rodando_ports::connection_slots::{ConnectionSlots, SlotId};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::DriverError;
use crate::throttle::Throttle;

/// The admission script. `KEYS[1]` the user's hash, `KEYS[2]` this node's heartbeat;
/// `ARGV`: heartbeat key prefix, slot id, limit, heartbeat TTL in ms, this node's id, the user
/// hash's TTL in ms. Returns 1 when the slot was taken, 0 at the limit.
///
/// The caller's own heartbeat is refreshed first: a node running the script is alive, so its
/// slots never count as dead even if its heartbeat task was late or Redis lost the key.
pub const ACQUIRE: &str = r"
redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
local all = redis.call('HGETALL', KEYS[1])
local alive = {}
local held = 0
for i = 1, #all, 2 do
  local node = all[i + 1]
  local live = alive[node]
  if live == nil then
    live = redis.call('EXISTS', ARGV[1] .. node) == 1
    alive[node] = live
  end
  if live then
    held = held + 1
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
if held >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
";

/// Failed releases kept for a retry at most; past this the oldest are dropped (their slots
/// then stay until this node's heartbeat expires, i.e. until it stops).
const MAX_PENDING_RELEASES: usize = 100_000;

/// How the slots are kept in Redis.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Key prefix of the deployment (`REDIS_CHANNEL_PREFIX`).
    pub prefix: String,
    /// A node's heartbeat lives this long (`CLUSTER_NODE_TTL`); it is refreshed every third of
    /// it. A crashed node's slots come back within about this.
    pub node_ttl: Duration,
    /// Longest wait for Redis on a handshake before counting on this node only.
    pub timeout: Duration,
    /// A user's hash expires this long after the user's last handshake, so the slots a crashed
    /// node left for a user who never comes back do not stay in Redis for good. A socket open
    /// longer than this with no other handshake of its user since stops counting.
    pub user_ttl: Duration,
}

impl Settings {
    /// A 30 s heartbeat, a 500 ms timeout and a 24 h user TTL under `prefix`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            node_ttl: Duration::from_secs(30),
            timeout: Duration::from_millis(500),
            user_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// [`ConnectionSlots`] shared through Redis. Cheap to clone; the heartbeat stops with the last
/// clone.
#[derive(Clone)]
pub struct RedisConnectionSlots {
    inner: Arc<Inner>,
    _stop: Arc<DropGuard>,
}

struct Inner {
    connection: ConnectionManager,
    settings: Settings,
    node: String,
    node_key: String,
    local: Arc<dyn ConnectionSlots>,
    pending: Mutex<VecDeque<(UserId, SlotId)>>,
    degraded: AtomicBool,
    log: Throttle,
}

impl RedisConnectionSlots {
    /// Connects, writes this node's first heartbeat, and starts the heartbeat task. `local`
    /// counts this node's slots (see the module documentation).
    ///
    /// # Errors
    /// Redis cannot be reached or refuses the connection.
    pub async fn start(
        client: redis::Client,
        settings: Settings,
        local: Arc<dyn ConnectionSlots>,
    ) -> Result<Self, DriverError> {
        let config = ConnectionManagerConfig::new()
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_secs(1))
            .set_number_of_retries(3)
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout));
        let connection = tokio::time::timeout(
            settings.timeout * 4,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| DriverError::Timeout(settings.timeout * 4))??;
        let node = uuid::Uuid::new_v4().simple().to_string();
        let node_key = format!("{}{node}", node_key_prefix(&settings.prefix));
        let inner = Arc::new(Inner {
            connection,
            settings,
            node,
            node_key,
            local,
            pending: Mutex::new(VecDeque::new()),
            degraded: AtomicBool::new(false),
            log: Throttle::default(),
        });
        inner.heartbeat().await?;
        let stop = CancellationToken::new();
        tokio::spawn(Arc::clone(&inner).beat(stop.child_token()));
        Ok(Self {
            inner,
            _stop: Arc::new(stop.drop_guard()),
        })
    }

    /// This node's id in Redis.
    pub fn node_id(&self) -> &str {
        &self.inner.node
    }
}

/// The key of `user`'s slots.
pub fn user_key(prefix: &str, user: UserId) -> String {
    format!("{prefix}:conn-slots:user:{}", user.as_uuid().simple())
}

/// What a node's heartbeat key starts with; the node id follows.
pub fn node_key_prefix(prefix: &str) -> String {
    format!("{prefix}:conn-slots:node:")
}

impl Inner {
    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.settings.node_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, DriverError> {
        let mut connection = self.connection.clone();
        tokio::time::timeout(self.settings.timeout, cmd.query_async(&mut connection))
            .await
            .map_err(|_| DriverError::Timeout(self.settings.timeout))?
            .map_err(DriverError::from)
    }

    async fn heartbeat(&self) -> Result<(), DriverError> {
        let mut set = redis::cmd("SET");
        set.arg(&self.node_key)
            .arg("1")
            .arg("PX")
            .arg(self.ttl_ms());
        self.query::<()>(&set).await
    }

    async fn acquire_in_redis(
        &self,
        user: UserId,
        slot: SlotId,
        max: usize,
    ) -> Result<bool, DriverError> {
        let mut eval = redis::cmd("EVAL");
        eval.arg(ACQUIRE)
            .arg(2)
            .arg(user_key(&self.settings.prefix, user))
            .arg(&self.node_key)
            .arg(node_key_prefix(&self.settings.prefix))
            .arg(slot.as_uuid().simple().to_string())
            .arg(max)
            .arg(self.ttl_ms())
            .arg(&self.node)
            .arg(
                u64::try_from(self.settings.user_ttl.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1),
            );
        Ok(self.query::<i64>(&eval).await? == 1)
    }

    async fn release_in_redis(&self, user: UserId, slot: SlotId) -> Result<(), DriverError> {
        let mut hdel = redis::cmd("HDEL");
        hdel.arg(user_key(&self.settings.prefix, user))
            .arg(slot.as_uuid().simple().to_string());
        self.query::<()>(&hdel).await
    }

    fn keep_for_retry(&self, user: UserId, slot: SlotId) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.len() >= MAX_PENDING_RELEASES {
            pending.pop_front();
        }
        pending.push_back((user, slot));
    }

    /// Redis answered again after failing.
    fn recovered(&self) {
        if self.degraded.swap(false, Ordering::AcqRel) {
            tracing::warn!(
                node = %self.node,
                "Redis answers again: MAX_CONNECTIONS_PER_USER is counted across the cluster again"
            );
        }
    }

    fn failed(&self, what: &'static str, error: &DriverError) {
        crate::metrics::error("slots");
        let first = !self.degraded.swap(true, Ordering::AcqRel);
        if first || self.log.check_now().is_some() {
            tracing::warn!(
                node = %self.node,
                %error,
                what,
                "Redis unreachable: MAX_CONNECTIONS_PER_USER is counted on this node only until it answers"
            );
        }
    }

    /// Refreshes the heartbeat every third of the TTL and retries failed releases.
    async fn beat(self: Arc<Self>, stop: CancellationToken) {
        let every = (self.settings.node_ttl / 3).max(Duration::from_millis(50));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            match self.heartbeat().await {
                Ok(()) => self.recovered(),
                Err(e) => {
                    self.failed("heartbeat", &e);
                    continue;
                }
            }
            let retry =
                std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
            let mut retry = retry.into_iter();
            while let Some((user, slot)) = retry.next() {
                if let Err(e) = self.release_in_redis(user, slot).await {
                    self.failed("release", &e);
                    self.keep_for_retry(user, slot);
                    for (user, slot) in retry.by_ref() {
                        self.keep_for_retry(user, slot);
                    }
                }
            }
        }
        // Leaving: this node's slots stop counting at once rather than after the TTL.
        let mut del = redis::cmd("DEL");
        del.arg(&self.node_key);
        let _ = self.query::<()>(&del).await;
    }
}

#[async_trait]
impl ConnectionSlots for RedisConnectionSlots {
    async fn acquire(&self, user: UserId, slot: SlotId, max: usize) -> bool {
        let inner = &self.inner;
        // Local first: a user at the limit on this node alone is at the limit everywhere.
        if !inner.local.acquire(user, slot, max).await {
            return false;
        }
        match inner.acquire_in_redis(user, slot, max).await {
            Ok(true) => {
                inner.recovered();
                true
            }
            Ok(false) => {
                inner.recovered();
                inner.local.release(user, slot);
                false
            }
            Err(e) => {
                // The script may have run (a timeout); the release removes it either way.
                inner.failed("acquire", &e);
                tracing::info!(user_id = %user, "connection admitted on this node's count only (Redis unreachable)");
                true
            }
        }
    }

    fn release(&self, user: UserId, slot: SlotId) {
        self.inner.local.release(user, slot);
        let inner = Arc::clone(&self.inner);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            inner.keep_for_retry(user, slot);
            return;
        };
        runtime.spawn(async move {
            if let Err(e) = inner.release_in_redis(user, slot).await {
                inner.failed("release", &e);
                inner.keep_for_retry(user, slot);
            }
        });
    }
}
