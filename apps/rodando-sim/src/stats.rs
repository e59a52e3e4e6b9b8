//! What a run counts and times, shared by every simulated actor: atomic counters and gauges, and
//! latency samples summarised into percentiles at the end (or for the live line).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;

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

/// Latency samples, microseconds.
#[derive(Debug, Default)]
pub struct Latencies(Mutex<Vec<u64>>);

impl Latencies {
    /// Records one latency.
    pub fn record(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(us);
    }

    /// Count and percentiles so far.
    pub fn summary(&self) -> Summary {
        let mut samples = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Summary::of(&mut samples)
    }
}

/// Count and percentiles of a latency, milliseconds (`None` without samples).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_ms: Option<f64>,
    /// 90th percentile.
    pub p90_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// Largest.
    pub max_ms: Option<f64>,
}

impl Summary {
    /// Sorts `samples` (microseconds) and summarises them.
    pub fn of(samples: &mut [u64]) -> Summary {
        samples.sort_unstable();
        let ms = |p: f64| percentile(samples, p).map(micros_to_ms);
        Summary {
            count: samples.len() as u64,
            p50_ms: ms(50.0),
            p90_ms: ms(90.0),
            p99_ms: ms(99.0),
            max_ms: samples.last().copied().map(micros_to_ms),
        }
    }
}

#[allow(clippy::cast_precision_loss)] // microseconds far below 2^52
fn micros_to_ms(us: u64) -> f64 {
    (us as f64 / 1000.0 * 10.0).round() / 10.0
}

/// Nearest-rank percentile (`p` in (0, 100]) of an ascending slice; `None` when empty.
#[must_use]
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
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
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.1), Some(1));
        assert_eq!(percentile(&[7], 90.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn latencies_summarise_in_milliseconds() {
        let l = Latencies::default();
        for ms in [30, 10, 20, 40] {
            l.record(Duration::from_millis(ms));
        }
        l.record(Duration::from_micros(1234));
        let s = l.summary();
        assert_eq!(s.count, 5);
        assert_eq!(s.p50_ms, Some(20.0));
        assert_eq!(s.p99_ms, Some(40.0));
        assert_eq!(s.max_ms, Some(40.0));
        let empty = Latencies::default().summary();
        assert_eq!((empty.count, empty.p50_ms), (0, None));
        assert_eq!(Summary::of(&mut [1234]).p50_ms, Some(1.2));
    }

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
