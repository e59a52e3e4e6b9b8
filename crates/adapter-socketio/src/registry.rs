//! Sockets per user on this node, for `MAX_CONNECTIONS_PER_USER`.
//!
//! A slot is taken atomically in the handshake (so ten simultaneous handshakes cannot all see
//! "four open") and given back exactly once, on disconnect or when the socket is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dashmap::DashMap;
use rodando_domain::admission::{Refusal, check_connection_count};
use rodando_domain::ids::UserId;

/// Open sockets per user.
#[derive(Debug, Default, Clone)]
pub struct ConnectionRegistry {
    open: Arc<DashMap<UserId, usize>>,
}

impl ConnectionRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a slot for `user` if it holds fewer than `max` sockets.
    ///
    /// # Errors
    /// [`Refusal::TooManyConnections`] when the user is at the limit.
    pub fn acquire(&self, user: UserId, max: usize) -> Result<ConnectionSlot, Refusal> {
        let mut open = self.open.entry(user).or_insert(0);
        check_connection_count(*open, max)?;
        *open += 1;
        Ok(ConnectionSlot {
            registry: self.clone(),
            user,
            released: AtomicBool::new(false),
        })
    }

    /// Sockets `user` holds on this node.
    pub fn open_for(&self, user: UserId) -> usize {
        self.open.get(&user).map_or(0, |n| *n)
    }

    /// Sockets held on this node, all users.
    pub fn total(&self) -> usize {
        self.open.iter().map(|e| *e.value()).sum()
    }

    fn release(&self, user: UserId) {
        self.open.remove_if_mut(&user, |_, n| {
            *n = n.saturating_sub(1);
            *n == 0
        });
    }
}

/// One socket's place in the registry.
#[derive(Debug)]
pub struct ConnectionSlot {
    registry: ConnectionRegistry,
    user: UserId,
    released: AtomicBool,
}

impl ConnectionSlot {
    /// Gives the slot back; later calls do nothing.
    pub fn release(&self) {
        if !self.released.swap(true, Ordering::AcqRel) {
            self.registry.release(self.user);
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn slots_are_counted_and_released_once() {
        let r = ConnectionRegistry::new();
        let u = UserId::from_uuid(Uuid::from_u128(1));
        let a = r.acquire(u, 2).unwrap();
        let b = r.acquire(u, 2).unwrap();
        assert_eq!(r.acquire(u, 2).unwrap_err(), Refusal::TooManyConnections);
        a.release();
        a.release();
        assert_eq!(r.open_for(u), 1);
        drop(a);
        assert_eq!(r.open_for(u), 1);
        drop(b);
        assert_eq!(r.open_for(u), 0);
        assert_eq!(r.total(), 0);
    }
}
