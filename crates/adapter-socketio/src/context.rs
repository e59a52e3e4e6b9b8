//! What a socket carries once admitted: who it is, its rate limiter, its connection slot.

use std::sync::atomic::{AtomicI64, Ordering};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rodando_application::Principal;
use time::OffsetDateTime;

use crate::config::RealtimeConfig;
use crate::registry::ConnectionSlot;

/// Stored in the socket's extensions by the handshake, read by every handler.
pub(crate) struct SocketContext {
    /// The authenticated identity.
    pub(crate) principal: Principal,
    /// Inbound events allowed for this socket (a token bucket; governor's GCRA).
    pub(crate) limiter: DefaultDirectRateLimiter,
    /// Released on disconnect.
    pub(crate) slot: ConnectionSlot,
    /// When the socket's access token expires (unix seconds); `auth:refresh` moves it.
    token_expires_at: AtomicI64,
}

impl SocketContext {
    pub(crate) fn new(principal: Principal, slot: ConnectionSlot, config: &RealtimeConfig) -> Self {
        let quota =
            Quota::per_second(config.rate_limit_per_sec).allow_burst(config.rate_limit_burst);
        Self {
            token_expires_at: AtomicI64::new(principal.token_expires_at.unix_timestamp()),
            principal,
            limiter: RateLimiter::direct(quota),
            slot,
        }
    }

    /// When the socket's current access token expires.
    pub(crate) fn token_expires_at(&self) -> OffsetDateTime {
        let secs = self.token_expires_at.load(Ordering::Acquire);
        OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// A fresher token of the same session extends the socket's life (never shortens it).
    pub(crate) fn extend_token(&self, expires_at: OffsetDateTime) {
        self.token_expires_at
            .fetch_max(expires_at.unix_timestamp(), Ordering::AcqRel);
    }
}
