//! What a run counts and times, shared by every simulated actor: atomic counters and gauges, and
//! latencies (the tool kit's HDR histograms) summarised into percentiles at the end (or for the
//! live line).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

pub use rodando_toolkit::stats::{Latencies, Summary};

/// How many error messages are kept for the report (the count covers all of them).
const KEPT_ERRORS: usize = 10;

/// Counters, gauges and latencies of one run.
#[derive(Debug, Default)]
pub struct Stats {
    /// Drivers connected and online now.
    pub drivers_online: Gauge,
    /// Drivers holding a trip now.
    pub drivers_on_trip: Gauge,
    /// Passengers with a trip under way now.
    pub passengers_riding: Gauge,
    /// Location pings acknowledged.
    pub pings: Counter,
    /// Trip requests the server accepted.
    pub trips_requested: Counter,
    /// Trips that got a driver (`trip:driver_assigned` at the passenger).
    pub trips_assigned: Counter,
    /// Trips completed.
    pub trips_completed: Counter,
    /// Trips that ended with `trip:no_drivers_found`.
    pub trips_no_driver: Counter,
    /// Trips cancelled (by the server's side, or by the simulated passenger as stuck).
    pub trips_cancelled: Counter,
    /// Trips still under way when the run ended (cancelled then).
    pub trips_unfinished: Counter,
    /// Requests not made because every passenger already had a trip.
    pub requests_skipped: Counter,
    /// Offers received by drivers.
    pub offers_received: Counter,
    /// Offers accepted (acknowledged by the server).
    pub offers_accepted: Counter,
    /// Offers rejected.
    pub offers_rejected: Counter,
    /// Offers left to expire on purpose.
    pub offers_ignored: Counter,
    /// Accepts the server refused (expired meanwhile, trip cancelled...).
    pub accepts_refused: Counter,
    /// Offer received → accept acknowledged, including the simulated think time.
    pub offer_to_accept: Latencies,
    /// Trip request acknowledged → `trip:driver_assigned` at the passenger.
    pub request_to_assigned: Latencies,
    /// `driver:location:ping` → its ack.
    pub ping_ack: Latencies,
    errors: Mutex<ErrorLog>,
}

#[derive(Debug, Default)]
struct ErrorLog {
    count: u64,
    first: Vec<String>,
}

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn incr(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A level that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Adds one.
    pub fn up(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Removes one.
    pub fn down(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    /// The current level (never below zero).
    pub fn get(&self) -> u64 {
        u64::try_from(self.0.load(Ordering::Relaxed)).unwrap_or(0)
    }
}

impl Stats {
    /// Records an error; the first few messages are kept for the report.
    pub fn error(&self, message: impl Into<String>) {
        let mut log = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        log.count += 1;
        if log.first.len() < KEPT_ERRORS {
            log.first.push(message.into());
        }
    }

    /// Errors so far, and the first few messages.
    pub fn errors(&self) -> (u64, Vec<String>) {
        let log = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        (log.count, log.first.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_gauges_and_errors() {
        let s = Stats::default();
        s.trips_requested.incr();
        s.trips_requested.incr();
        s.drivers_online.up();
        s.drivers_online.up();
        s.drivers_online.down();
        s.drivers_on_trip.down();
        assert_eq!(s.trips_requested.get(), 2);
        assert_eq!(s.drivers_online.get(), 1);
        assert_eq!(s.drivers_on_trip.get(), 0, "a gauge never reads below zero");
        for i in 0..15 {
            s.error(format!("e{i}"));
        }
        let (count, first) = s.errors();
        assert_eq!(count, 15);
        assert_eq!(first.len(), KEPT_ERRORS);
        assert_eq!(first[0], "e0");
    }
}
