//! Live tracking: the pings of a trip's driver become `trip:driver_en_route` for the trip's
//! passenger and watching admins, at most one per trip per window, the latest never lost.
//!
//! # Why here, and what a ping costs
//!
//! The ping use case already loads the driver's availability, and that record carries
//! `current_trip_id` (set in the same store write that accepts the trip, cleared in the one
//! that completes or cancels it). So a driver without a trip costs nothing here: no lookup,
//! no map entry. A driver holding a trip goes through a per-trip throttle in this node's
//! memory (the same trailing-edge rule as the admin location coalescer of the socket adapter):
//! the first ping of a window goes out at once, later ones only replace the held one, which
//! goes out when the window closes.
//!
//! Each send reads the trip from the store (status, driver, pickup, dropoff) and derives
//! phase, distance and ETA with [`rodando_domain::en_route::progress`]. That read is at most
//! one per trip per window, and it is what makes tracking right on any node without a cache to
//! invalidate: the driver's socket may live on node B while the trip was accepted, started and
//! completed through REST on node A; B reads what A committed. A held position whose trip ended
//! meanwhile is dropped at its send, so nothing goes out after `completed`/`cancelled` (save a
//! send already past its read when the trip ends, a race of one store round trip).
//!
//! The throttle lives here rather than in the socket adapter because it is what bounds the
//! reads, not only the emits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rodando_domain::availability::Position;
use rodando_domain::en_route::{self, EtaModel, StraightLine};
use rodando_domain::ids::{DriverId, TripId};
use rodando_ports::notifier::{EnRoute, Notifier, TripAudience};
use rodando_ports::trips::TripRepository;
use tokio::time::Instant;

/// At most one `trip:driver_en_route` per trip per this window (PROTOCOL §8).
pub const EN_ROUTE_WINDOW: Duration = Duration::from_secs(1);

/// One ping of a driver on a trip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackedPing {
    /// The driver.
    pub driver: DriverId,
    /// Its trip (the availability record's `current_trip_id`).
    pub trip: TripId,
    /// The position stored for the ping.
    pub position: Position,
    /// Heading in degrees, if reported.
    pub heading_deg: Option<f64>,
    /// Speed in km/h, if reported.
    pub speed_kph: Option<f64>,
}

/// Per-trip throttle with trailing delivery, feeding [`Notifier::driver_en_route`].
#[derive(Clone)]
pub struct EnRouteTracker {
    inner: Arc<Inner>,
}

struct Inner {
    trips: Arc<dyn TripRepository>,
    notifier: Arc<dyn Notifier>,
    model: Arc<dyn EtaModel>,
    window: Duration,
    slots: Mutex<HashMap<TripId, Slot>>,
}

struct Slot {
    last_sent: Instant,
    pending: Option<TrackedPing>,
}

enum Decision {
    SendNow,
    FlushAt(Instant),
    Merged,
}

impl EnRouteTracker {
    /// Tracks with the straight-line model at the dispatch speed and [`EN_ROUTE_WINDOW`].
    pub fn new(trips: Arc<dyn TripRepository>, notifier: Arc<dyn Notifier>) -> Self {
        Self::with(
            trips,
            notifier,
            Arc::new(StraightLine::PICKUP),
            EN_ROUTE_WINDOW,
        )
    }

    /// Tracks with `model` (a routing ETA, say) and `window`.
    pub fn with(
        trips: Arc<dyn TripRepository>,
        notifier: Arc<dyn Notifier>,
        model: Arc<dyn EtaModel>,
        window: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                trips,
                notifier,
                model,
                window,
                slots: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Takes a ping of a driver holding a trip. Never waits on I/O: sends run on the runtime.
    pub fn track(&self, ping: TrackedPing) {
        match self.inner.offer(ping, Instant::now()) {
            Decision::SendNow => {
                let inner = Arc::clone(&self.inner);
                tokio::spawn(async move { inner.send(ping).await });
            }
            Decision::FlushAt(at) => {
                let inner = Arc::clone(&self.inner);
                tokio::spawn(async move {
                    tokio::time::sleep_until(at).await;
                    if let Some(ping) = inner.flush(ping.trip, Instant::now()) {
                        inner.send(ping).await;
                    }
                });
            }
            Decision::Merged => {}
        }
    }
}

impl Inner {
    fn offer(&self, ping: TrackedPing, now: Instant) -> Decision {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get_mut(&ping.trip) {
            if now < slot.last_sent + self.window {
                return if slot.pending.replace(ping).is_some() {
                    Decision::Merged
                } else {
                    Decision::FlushAt(slot.last_sent + self.window)
                };
            }
            slot.last_sent = now;
            slot.pending = None;
            return Decision::SendNow;
        }
        // A new trip: a good moment to forget the ones gone quiet.
        self.forget_idle(&mut slots, now);
        slots.insert(
            ping.trip,
            Slot {
                last_sent: now,
                pending: None,
            },
        );
        Decision::SendNow
    }

    fn flush(&self, trip: TripId, now: Instant) -> Option<TrackedPing> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let pending = slots.get_mut(&trip).and_then(|slot| {
            let pending = slot.pending.take();
            if pending.is_some() {
                slot.last_sent = now;
            }
            pending
        });
        self.forget_idle(&mut slots, now);
        pending
    }

    /// Trips with nothing held and nothing sent for four windows leave the map, so it only
    /// holds trips whose driver is pinging.
    fn forget_idle(&self, slots: &mut HashMap<TripId, Slot>, now: Instant) {
        let window = self.window;
        slots.retain(|_, s| s.pending.is_some() || now < s.last_sent + window * 4);
    }

    async fn send(&self, ping: TrackedPing) {
        let trip = match self.trips.find(ping.trip).await {
            Ok(Some(trip)) => trip,
            // A trip handled elsewhere (`driver:trip:set` with a foreign id): nothing to track.
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(trip_id = %ping.trip, driver_id = %ping.driver, error = %e, "en-route position not sent: trip unreadable");
                return;
            }
        };
        let Some(progress) = en_route::progress(
            &trip,
            ping.driver,
            &ping.position.point,
            self.model.as_ref(),
        ) else {
            // Not (or no longer) arriving / in progress, or another driver's.
            return;
        };
        let update = EnRoute {
            driver_id: ping.driver,
            position: ping.position.point,
            heading_deg: ping.heading_deg,
            speed_kph: ping.speed_kph,
            progress,
            at: ping.position.at,
        };
        if let Err(e) = self
            .notifier
            .driver_en_route(TripAudience::from(&trip), &update)
            .await
        {
            tracing::debug!(trip_id = %ping.trip, driver_id = %ping.driver, error = %e, "en-route position not pushed");
        }
    }
}
