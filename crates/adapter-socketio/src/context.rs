//! What a socket carries once admitted: who it is, its rate limiter, its connection slot.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rodando_application::Principal;

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
}

impl SocketContext {
    pub(crate) fn new(principal: Principal, slot: ConnectionSlot, config: &RealtimeConfig) -> Self {
        let quota =
            Quota::per_second(config.rate_limit_per_sec).allow_burst(config.rate_limit_burst);
        Self {
            principal,
            limiter: RateLimiter::direct(quota),
            slot,
        }
    }
}
