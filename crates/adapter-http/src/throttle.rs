//! Throttling of failed logins and refreshes, by (account, address) and by address.
//!
//! Only **failures** count: a wrong password, an unknown account, a bad or reused refresh
//! token. A real user who gets in is never slowed down, however many people log in from the
//! same address (a carrier's NAT, a load test). Once a key has used its budget, every attempt
//! under it is refused with 429 `rate_limited` and `Retry-After` before any password is
//! checked, until the budget refills.
//!
//! The keys are (account, address) and address, never the account alone: someone guessing
//! from one address locks that address out of that account (and, past the per-address budget,
//! out of everything), while the account's owner still logs in from anywhere else.
//!
//! Counting is local (governor's GCRA, one bucket per key) or, with Redis, shared by every
//! node ([`RedisFailures`]: fixed windows counted with one Lua script), so N nodes do not give
//! N budgets. When Redis does not answer, the node falls back to its local counters rather
//! than refusing every login or letting every guess through.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use governor::clock::DefaultClock;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use rodando_ports::Unexpected;

/// A budget of failures: `failures` per `per`, refilling evenly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Failures allowed in a row.
    pub failures: NonZeroU32,
    /// Time in which the whole budget refills.
    pub per: Duration,
}

impl Budget {
    /// `failures` per minute.
    pub const fn per_minute(failures: NonZeroU32) -> Self {
        Self {
            failures,
            per: Duration::from_secs(60),
        }
    }
}

/// The budgets of [`Throttle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failed logins to one account from one address: 5 a minute.
    pub login_per_account_and_address: Budget,
    /// Failed logins from one address, whatever the account: 30 a minute.
    pub login_per_address: Budget,
    /// Failed refreshes from one address: 30 a minute.
    pub refresh_per_address: Budget,
}

const fn n(v: u32) -> NonZeroU32 {
    match NonZeroU32::new(v) {
        Some(v) => v,
        None => panic!("zero budget"),
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            login_per_account_and_address: Budget::per_minute(n(5)),
            login_per_address: Budget::per_minute(n(30)),
            refresh_per_address: Budget::per_minute(n(30)),
        }
    }
}

/// One key and the budget it spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// e.g. `login:acct:driver1@rodando.local|203.0.113.7`.
    pub name: String,
    /// Its budget.
    pub budget: Budget,
}

/// Where failures are counted.
#[async_trait]
pub trait FailureCounter: Send + Sync {
    /// How long until every one of `keys` may be tried again; zero when none is blocked.
    ///
    /// # Errors
    /// [`Unexpected`] when the counter cannot be read.
    async fn blocked_for(&self, keys: &[Key]) -> Result<Duration, Unexpected>;

    /// Counts one failure under each of `keys`.
    ///
    /// # Errors
    /// [`Unexpected`] when the counter cannot be written.
    async fn record_failure(&self, keys: &[Key]) -> Result<(), Unexpected>;
}

/// What the handlers ask.
#[derive(Clone)]
pub struct Throttle {
    limits: Limits,
    counter: Arc<dyn FailureCounter>,
    /// Used when `counter` (Redis) fails.
    fallback: Arc<LocalFailures>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::local(Limits::default())
    }
}

impl Throttle {
    /// Counters in this process.
    pub fn local(limits: Limits) -> Self {
        let local = Arc::new(LocalFailures::default());
        Self {
            limits,
            counter: local.clone(),
            fallback: local,
        }
    }

    /// Counters in `counter` (shared by the nodes), this process's own while it fails.
    pub fn shared(limits: Limits, counter: Arc<dyn FailureCounter>) -> Self {
        Self {
            limits,
            counter,
            fallback: Arc::new(LocalFailures::default()),
        }
    }

    /// The keys of a login of `account` from `address`.
    pub fn login_keys(&self, account: &str, address: IpAddr) -> Vec<Key> {
        vec![
            Key {
                name: format!("login:acct:{}|{address}", account.to_lowercase()),
                budget: self.limits.login_per_account_and_address,
            },
            Key {
                name: format!("login:addr:{address}"),
                budget: self.limits.login_per_address,
            },
        ]
    }

    /// The keys of a refresh from `address`. A refresh token cannot be guessed (it is signed),
    /// so the address alone bounds what a client presenting garbage or stolen tokens costs.
    pub fn refresh_keys(&self, address: IpAddr) -> Vec<Key> {
        vec![Key {
            name: format!("refresh:addr:{address}"),
            budget: self.limits.refresh_per_address,
        }]
    }

    /// `Some(wait)` when an attempt under `keys` must be refused now.
    pub async fn check(&self, keys: &[Key]) -> Option<Duration> {
        let wait = match self.counter.blocked_for(keys).await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::warn!(error = %e, "shared throttle unreadable: counting on this node");
                self.fallback
                    .blocked_for(keys)
                    .await
                    .unwrap_or(Duration::ZERO)
            }
        };
        (!wait.is_zero()).then_some(wait)
    }

    /// Counts a failed attempt under `keys`.
    pub async fn failed(&self, keys: &[Key]) {
        if let Err(e) = self.counter.record_failure(keys).await {
            tracing::warn!(error = %e, "shared throttle unwritable: counting on this node");
            let _ = self.fallback.record_failure(keys).await;
        }
    }
}

/// Failures counted in this process: a governor bucket per key; a key whose bucket is empty
/// is blocked until it holds one failure again.
pub struct LocalFailures {
    state: Mutex<LocalState>,
}

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

#[derive(Default)]
struct LocalState {
    limiters: HashMap<Budget, Limiter>,
    blocked: HashMap<String, Instant>,
    since_cleanup: usize,
}

/// Keys forgotten after this many failures (their buckets refilled meanwhile).
const CLEANUP_EVERY: usize = 4096;

impl Default for LocalFailures {
    fn default() -> Self {
        Self {
            state: Mutex::new(LocalState::default()),
        }
    }
}

impl std::hash::Hash for Budget {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.failures.hash(state);
        self.per.hash(state);
    }
}

#[async_trait]
impl FailureCounter for LocalFailures {
    async fn blocked_for(&self, keys: &[Key]) -> Result<Duration, Unexpected> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut wait = Duration::ZERO;
        for key in keys {
            match state.blocked.get(&key.name) {
                Some(until) if *until > now => wait = wait.max(*until - now),
                Some(_) => {
                    state.blocked.remove(&key.name);
                }
                None => {}
            }
        }
        Ok(wait)
    }

    async fn record_failure(&self, keys: &[Key]) -> Result<(), Unexpected> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            let limiter = state.limiters.entry(key.budget).or_insert_with(|| {
                let period = key.budget.per / key.budget.failures.get();
                let quota = Quota::with_period(period.max(Duration::from_millis(1))).map_or_else(
                    || Quota::per_second(key.budget.failures),
                    |q| q.allow_burst(key.budget.failures),
                );
                RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>()
            });
            // The failure that empties the bucket blocks the key until one refills.
            let empty = match limiter.check_key(&key.name) {
                Ok(snapshot) if snapshot.remaining_burst_capacity() > 0 => None,
                Ok(snapshot) => Some(snapshot.quota().replenish_interval()),
                Err(not_until) => Some(not_until.quota().replenish_interval()),
            };
            if let Some(wait) = empty {
                state
                    .blocked
                    .insert(key.name.clone(), Instant::now() + wait);
            }
        }
        state.since_cleanup += 1;
        if state.since_cleanup >= CLEANUP_EVERY {
            state.since_cleanup = 0;
            let now = Instant::now();
            state.blocked.retain(|_, until| *until > now);
            for limiter in state.limiters.values() {
                limiter.retain_recent();
            }
        }
        Ok(())
    }
}

/// Failures counted in Redis, shared by every node with the same prefix: one fixed window per
/// key (`INCR`, and `PEXPIRE` when the window opens), both in one Lua script so a window can
/// never lose its expiry (a plain `INCR` then `EXPIRE` from a client that dies in between
/// would block the key for good). A fixed window lets at most twice the budget through across
/// a window boundary; that still bounds guesses per minute for the whole cluster, which is the
/// point, and costs one round trip per attempt (two on a failure).
pub struct RedisFailures {
    connection: redis::aio::ConnectionManager,
    prefix: String,
}

/// Longest wait for Redis before the node counts on its own.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

const CHECK: &str = r"
local wait = 0
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[i]) then
    local ttl = redis.call('PTTL', key)
    if ttl > wait then wait = ttl end
  end
end
return wait
";

const FAIL: &str = r"
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ARGV[i]) end
end
return 1
";

impl RedisFailures {
    /// Connects to `url`; keys are `{prefix}:throttle:…`.
    ///
    /// # Errors
    /// [`Unexpected`] when the URL is bad or Redis does not answer within 5 s.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, Unexpected> {
        let client = redis::Client::open(url)
            .map_err(|e| Unexpected::new("REDIS_URL for the login throttle", e))?;
        let connection = tokio::time::timeout(
            Duration::from_secs(5),
            redis::aio::ConnectionManager::new(client),
        )
        .await
        .map_err(|_| Unexpected::msg("redis did not answer within 5 s (login throttle)"))?
        .map_err(|e| Unexpected::new("connecting the login throttle to redis", e))?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
        })
    }

    async fn run(&self, script: &str, keys: &[Key], ms: bool) -> Result<u64, Unexpected> {
        // Plain EVAL: the scripts are a few hundred bytes, not worth EVALSHA's cache dance.
        let mut eval = redis::cmd("EVAL");
        eval.arg(script).arg(keys.len());
        for key in keys {
            eval.arg(format!("{}:throttle:{}", self.prefix, key.name));
        }
        for key in keys {
            if ms {
                let window = u64::try_from(key.budget.per.as_millis()).unwrap_or(u64::MAX);
                eval.arg(window.max(1));
            } else {
                eval.arg(key.budget.failures.get());
            }
        }
        let mut connection = self.connection.clone();
        tokio::time::timeout(REDIS_TIMEOUT, eval.query_async(&mut connection))
            .await
            .map_err(|_| Unexpected::msg("redis did not answer within 500 ms"))?
            .map_err(|e| Unexpected::new("login throttle script", e))
    }
}

#[async_trait]
impl FailureCounter for RedisFailures {
    async fn blocked_for(&self, keys: &[Key]) -> Result<Duration, Unexpected> {
        Ok(Duration::from_millis(self.run(CHECK, keys, false).await?))
    }

    async fn record_failure(&self, keys: &[Key]) -> Result<(), Unexpected> {
        self.run(FAIL, keys, true).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(failures: u32, per_ms: u64) -> Budget {
        Budget {
            failures: NonZeroU32::new(failures).unwrap(),
            per: Duration::from_millis(per_ms),
        }
    }

    #[tokio::test]
    async fn a_key_is_blocked_once_its_budget_is_spent_then_refills() {
        let local = LocalFailures::default();
        let key = [Key {
            name: "k".into(),
            budget: budget(3, 300),
        }];
        let other = [Key {
            name: "other".into(),
            budget: budget(3, 300),
        }];
        for _ in 0..2 {
            local.record_failure(&key).await.unwrap();
            assert_eq!(local.blocked_for(&key).await.unwrap(), Duration::ZERO);
        }
        local.record_failure(&key).await.unwrap();
        let wait = local.blocked_for(&key).await.unwrap();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert_eq!(local.blocked_for(&other).await.unwrap(), Duration::ZERO);
        tokio::time::sleep(wait + Duration::from_millis(5)).await;
        assert_eq!(local.blocked_for(&key).await.unwrap(), Duration::ZERO);
        // One failure back in the budget, not three.
        local.record_failure(&key).await.unwrap();
        assert!(local.blocked_for(&key).await.unwrap() > Duration::ZERO);
    }
}
