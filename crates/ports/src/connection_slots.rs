//! `MAX_CONNECTIONS_PER_USER`: how many sockets one user holds, on this node or on every node.

use async_trait::async_trait;
use rodando_domain::ids::UserId;
use uuid::Uuid;

/// One socket's place in its user's budget, named by the handshake that takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotId(Uuid);

impl SlotId {
    /// A fresh, unique slot id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// The id as a UUID (e.g. to name it in Redis).
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for SlotId {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts the sockets each user holds and admits one more only below a limit, atomically: of
/// many simultaneous handshakes of one user, exactly as many as fit are admitted.
///
/// An implementation shared by several nodes (Redis) counts every node's sockets; one that
/// cannot reach what it shares counts the sockets of this node instead (and says so in the
/// log) rather than refusing everyone, which is why [`ConnectionSlots::acquire`] has no error.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ConnectionSlots: Send + Sync {
    /// Takes `slot` for `user` when the user holds fewer than `max` slots; `true` when taken,
    /// `false` when the user is at the limit (nothing taken).
    async fn acquire(&self, user: UserId, slot: SlotId, max: usize) -> bool;

    /// Gives `slot` back (when the socket closes). Returns at once: an implementation that
    /// must reach a remote store does so in the background and retries. Releasing a slot that
    /// is not held does nothing.
    fn release(&self, user: UserId, slot: SlotId);
}
