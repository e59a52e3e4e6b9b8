//! `MAX_CONNECTIONS_PER_USER`: the in-process [`ConnectionSlots`] (one node, and the per-node
//! count under the Redis one), and each socket's [`ConnectionSlot`].
//!
//! A slot is taken atomically in the handshake (so ten simultaneous handshakes cannot all see
//! "four open") and given back exactly once, on disconnect or when the socket is dropped.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use dashmap::DashMap;
use rodando_domain::admission::check_connection_count;
use rodando_domain::ids::UserId;
use rodando_ports::connection_slots::{ConnectionSlots, SlotId};

/// Open sockets per user on this node.
#[derive(Debug, Default, Clone)]
pub struct LocalConnectionSlots {
    open: Arc<DashMap<UserId, HashSet<SlotId>>>,
}

impl LocalConnectionSlots {
    /// No slot taken.
    pub fn new() -> Self {
        Self::default()
    }

    /// Slots `user` holds on this node.
    pub fn open_for(&self, user: UserId) -> usize {
        self.open.get(&user).map_or(0, |s| s.len())
    }

    /// Slots held on this node, all users.
    pub fn total(&self) -> usize {
        self.open.iter().map(|e| e.value().len()).sum()
    }

    fn take(&self, user: UserId, slot: SlotId, max: usize) -> bool {
        let mut open = self.open.entry(user).or_default();
        if check_connection_count(open.len(), max).is_err() {
            return false;
        }
        open.insert(slot);
        true
    }
}

#[async_trait]
impl ConnectionSlots for LocalConnectionSlots {
    async fn acquire(&self, user: UserId, slot: SlotId, max: usize) -> bool {
        self.take(user, slot, max)
    }

    fn release(&self, user: UserId, slot: SlotId) {
        self.open.remove_if_mut(&user, |_, open| {
            open.remove(&slot);
            open.is_empty()
        });
    }
}

/// One socket's slot, given back once: by [`ConnectionSlot::release`] or when dropped.
pub(crate) struct ConnectionSlot {
    slots: Arc<dyn ConnectionSlots>,
    user: UserId,
    id: SlotId,
    released: AtomicBool,
}

impl ConnectionSlot {
    /// A slot `slots` granted.
    pub(crate) fn new(slots: Arc<dyn ConnectionSlots>, user: UserId, id: SlotId) -> Self {
        Self {
            slots,
            user,
            id,
            released: AtomicBool::new(false),
        }
    }

    /// Gives the slot back; later calls do nothing.
    pub(crate) fn release(&self) {
        if !self.released.swap(true, Ordering::AcqRel) {
            self.slots.release(self.user, self.id);
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

    #[tokio::test]
    async fn slots_are_counted_and_released_once() {
        let local = LocalConnectionSlots::new();
        let slots: Arc<dyn ConnectionSlots> = Arc::new(local.clone());
        let u = UserId::from_uuid(Uuid::from_u128(1));
        let take = |id| {
            let slots = Arc::clone(&slots);
            async move {
                slots
                    .acquire(u, id, 2)
                    .await
                    .then(|| ConnectionSlot::new(slots, u, id))
            }
        };
        let a = take(SlotId::new()).await.unwrap();
        let b = take(SlotId::new()).await.unwrap();
        assert!(take(SlotId::new()).await.is_none(), "at the limit");
        a.release();
        a.release();
        assert_eq!(local.open_for(u), 1);
        drop(a);
        assert_eq!(local.open_for(u), 1);
        // Releasing a slot never taken does nothing.
        slots.release(u, SlotId::new());
        assert_eq!(local.open_for(u), 1);
        drop(b);
        assert_eq!(local.open_for(u), 0);
        assert_eq!(local.total(), 0);
    }
}
