//! Coalescing of `driver:location:update` for `admin:drivers`: at most one per driver per
//! window, and the latest position is never lost.
//!
//! A driver pinging faster than the window gets its first ping through at once; later ones
//! inside the window only replace a pending update, which one timer sends when the window
//! ends. Dashboards watching thousands of drivers then get a bounded stream, while each
//! driver's own room still gets every ping.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rodando_domain::ids::DriverId;
use tokio::time::Instant;

use crate::sync::lock;

/// Per-driver throttle with trailing delivery.
pub(crate) struct Coalescer<T> {
    window: Duration,
    slots: Mutex<Slots<T>>,
}

/// The drivers seen lately, and when idle ones were last forgotten.
struct Slots<T> {
    by_driver: HashMap<DriverId, Slot<T>>,
    pruned_at: Instant,
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
            slots: Mutex::new(Slots {
                by_driver: HashMap::new(),
                pruned_at: Instant::now(),
            }),
        }
    }

    /// Decides what to do with a new update for `driver` at `now`.
    pub(crate) fn offer(&self, driver: DriverId, update: T, now: Instant) -> Decision<T> {
        let mut slots = lock(&self.slots);
        match slots.by_driver.get_mut(&driver) {
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
                slots.by_driver.insert(
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

    /// Takes the pending update of `driver` (if any), marking it sent at `now`.
    ///
    /// Drivers idle for four windows are forgotten so the map only holds active drivers, but
    /// in one sweep at most once per four windows: a flush costs O(1) and the sweep, O(drivers
    /// seen lately), is shared by every flush of that period (amortized O(1) per update)
    /// rather than paid by each flush as it was (O(all drivers) per flush).
    pub(crate) fn flush(&self, driver: DriverId, now: Instant) -> Option<T> {
        let mut slots = lock(&self.slots);
        let pending = slots.by_driver.get_mut(&driver).and_then(|slot| {
            let pending = slot.pending.take();
            if pending.is_some() {
                slot.last_sent = now;
            }
            pending
        });
        let idle = self.window * 4;
        if now >= slots.pruned_at + idle {
            slots
                .by_driver
                .retain(|_, s| s.pending.is_some() || now < s.last_sent + idle);
            slots.pruned_at = now;
        }
        pending
    }

    /// How many drivers the coalescer remembers.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        lock(&self.slots).by_driver.len()
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

    #[test]
    fn idle_drivers_are_forgotten_in_one_sweep_per_four_windows_and_none_pending_is_lost() {
        let window = Duration::from_millis(500);
        let c = Coalescer::new(window);
        let t0 = Instant::now();
        for n in 0..1000 {
            assert!(matches!(c.offer(d(n), n, t0), Decision::SendNow(_)));
        }
        // Driver 0 keeps pinging; its flushes inside the first four windows sweep nothing.
        assert!(matches!(
            c.offer(d(0), 7, t0 + Duration::from_millis(100)),
            Decision::FlushAt(_)
        ));
        assert_eq!(c.flush(d(0), t0 + window), Some(7));
        assert_eq!(c.remembered(), 1000, "no sweep before four windows");
        // Past four windows one flush sweeps the idle ones; a pending update survives.
        let later = t0 + window * 5;
        assert!(matches!(c.offer(d(0), 8, later), Decision::SendNow(8)));
        assert!(matches!(
            c.offer(d(0), 9, later + Duration::from_millis(10)),
            Decision::FlushAt(_)
        ));
        assert!(matches!(
            c.offer(d(1), 10, later + Duration::from_millis(20)),
            Decision::SendNow(10)
        ));
        assert!(matches!(
            c.offer(d(1), 11, later + Duration::from_millis(30)),
            Decision::FlushAt(_)
        ));
        assert_eq!(c.flush(d(0), later + window), Some(9));
        assert_eq!(c.remembered(), 2, "only the two active drivers remain");
        assert_eq!(
            c.flush(d(1), later + window),
            Some(11),
            "driver 1's update kept"
        );
    }
}
