//! Coalescing of `driver:location:update` for `admin:drivers`: at most one per driver per
//! window, and the latest position is never lost.
//!
//! A driver pinging faster than the window gets its first ping through at once; later ones
//! inside the window only replace a pending update, which one timer sends when the window
//! ends. Dashboards watching thousands of drivers then get a bounded stream, while each
//! driver's own room still gets every ping.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rodando_domain::ids::DriverId;
use tokio::time::Instant;

/// Per-driver throttle with trailing delivery.
pub(crate) struct Coalescer<T> {
    window: Duration,
    slots: Mutex<HashMap<DriverId, Slot<T>>>,
}

struct Slot<T> {
    last_sent: Instant,
    pending: Option<T>,
}

/// What [`Coalescer::offer`] decided.
pub(crate) enum Decision<T> {
    /// Send this now.
    SendNow(T),
    /// Kept as pending; the caller must call [`Coalescer::flush`] at this instant.
    FlushAt(Instant),
    /// Replaced an already pending update; a flush is already scheduled.
    Merged,
}

impl<T> Coalescer<T> {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Decides what to do with a new update for `driver` at `now`.
    pub(crate) fn offer(&self, driver: DriverId, update: T, now: Instant) -> Decision<T> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        match slots.get_mut(&driver) {
            Some(slot) if now < slot.last_sent + self.window => {
                if slot.pending.replace(update).is_some() {
                    Decision::Merged
                } else {
                    Decision::FlushAt(slot.last_sent + self.window)
                }
            }
            Some(slot) => {
                slot.last_sent = now;
                slot.pending = None;
                Decision::SendNow(update)
            }
            None => {
                slots.insert(
                    driver,
                    Slot {
                        last_sent: now,
                        pending: None,
                    },
                );
                Decision::SendNow(update)
            }
        }
    }

    /// Takes the pending update of `driver` (if any), marking it sent at `now`. Drivers idle
    /// for a whole window are forgotten so the map only holds active drivers.
    pub(crate) fn flush(&self, driver: DriverId, now: Instant) -> Option<T> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let pending = slots.get_mut(&driver).and_then(|slot| {
            let pending = slot.pending.take();
            if pending.is_some() {
                slot.last_sent = now;
            }
            pending
        });
        let window = self.window;
        slots.retain(|_, s| s.pending.is_some() || now < s.last_sent + window * 4);
        pending
    }
}

/// Runs `offer` and schedules the trailing flush on the runtime, calling `send` for every
/// update that must go out.
pub(crate) fn publish<T, F, Fut>(
    coalescer: &Arc<Coalescer<T>>,
    driver: DriverId,
    update: T,
    send: F,
) where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    match coalescer.offer(driver, update, Instant::now()) {
        Decision::SendNow(update) => {
            tokio::spawn(send(update));
        }
        Decision::FlushAt(at) => {
            let coalescer = Arc::clone(coalescer);
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                if let Some(update) = coalescer.flush(driver, Instant::now()) {
                    send(update).await;
                }
            });
        }
        Decision::Merged => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn d(n: u128) -> DriverId {
        DriverId::from_uuid(Uuid::from_u128(n))
    }

    #[test]
    fn the_first_update_goes_now_and_the_latest_of_a_burst_goes_at_the_window_end() {
        let c = Coalescer::new(Duration::from_millis(500));
        let t0 = Instant::now();
        assert!(matches!(c.offer(d(1), 1, t0), Decision::SendNow(1)));
        let at = match c.offer(d(1), 2, t0 + Duration::from_millis(100)) {
            Decision::FlushAt(at) => at,
            _ => panic!("expected a scheduled flush"),
        };
        assert_eq!(at, t0 + Duration::from_millis(500));
        assert!(matches!(
            c.offer(d(1), 3, t0 + Duration::from_millis(200)),
            Decision::Merged
        ));
        // Another driver is not throttled by the first.
        assert!(matches!(
            c.offer(d(2), 9, t0 + Duration::from_millis(200)),
            Decision::SendNow(9)
        ));
        assert_eq!(c.flush(d(1), at), Some(3), "the latest pending update wins");
        assert_eq!(c.flush(d(1), at), None);
        // The window restarts at the flush.
        assert!(matches!(
            c.offer(d(1), 4, at + Duration::from_millis(100)),
            Decision::FlushAt(_)
        ));
        assert!(matches!(
            c.offer(d(1), 5, at + Duration::from_millis(600)),
            Decision::SendNow(5)
        ));
    }
}
