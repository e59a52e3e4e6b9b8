//! Latency statistics: samples recorded into an HDR histogram (microseconds, three significant
//! digits, so at most 0.1 % off), summarised as count, p50, p90, p99 and max in milliseconds.
//! Memory stays a few tens of kilobytes however many samples a run records.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Significant digits kept.
const SIGNIFICANT_DIGITS: u8 = 3;

/// Latency samples of one task (see [`Latencies`] for one shared by many).
#[derive(Debug, Clone)]
pub struct Samples(Histogram<u64>);

impl Default for Samples {
    fn default() -> Self {
        // An auto-resizing histogram grows to the largest sample recorded.
        Self(Histogram::new(SIGNIFICANT_DIGITS).unwrap_or_else(|_| unreachable!("3 is valid")))
    }
}

impl Samples {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        // The histogram grows to fit; should it ever fail to, the largest trackable value counts.
        if self.0.record(us).is_err() {
            self.0.saturating_record(us);
        }
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Samples) {
        // Same precision, auto-resizing: adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// How many samples.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// Whether nothing was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Count and percentiles.
    #[must_use]
    pub fn summary(&self) -> Summary {
        let h = &self.0;
        let ms = |q: f64| (!h.is_empty()).then(|| micros_to_ms(h.value_at_quantile(q)));
        Summary {
            count: h.len(),
            p50_ms: ms(0.50),
            p90_ms: ms(0.90),
            p99_ms: ms(0.99),
            max_ms: (!h.is_empty()).then(|| micros_to_ms(h.max())),
        }
    }
}

/// Latency samples recorded by many tasks at once.
#[derive(Debug, Default)]
pub struct Latencies(Mutex<Samples>);

impl Latencies {
    /// Records one latency.
    pub fn record(&self, latency: Duration) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(latency);
    }

    /// Count and percentiles so far.
    pub fn summary(&self) -> Summary {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .summary()
    }

    /// Every sample so far, leaving none.
    pub fn take(&self) -> Samples {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Count and percentiles of a latency, milliseconds to 0.01 (`None` without samples).
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
    /// Largest sample.
    pub max_ms: Option<f64>,
}

#[allow(clippy::cast_precision_loss)] // microseconds far below 2^52
fn micros_to_ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_within_the_histograms_precision() {
        let mut s = Samples::default();
        for us in 1..=100 {
            s.record(Duration::from_micros(us * 10));
        }
        let sum = s.summary();
        assert_eq!(sum.count, 100);
        assert_eq!(sum.p50_ms, Some(0.5));
        assert_eq!(sum.p90_ms, Some(0.9));
        assert_eq!(sum.p99_ms, Some(0.99));
        assert_eq!(sum.max_ms, Some(1.0));
    }

    #[test]
    fn samples_merge_and_large_values_stay_within_a_tenth_of_a_percent() {
        let mut s = Samples::default();
        for ms in [30, 10, 20] {
            s.record(Duration::from_millis(ms));
        }
        let mut t = Samples::default();
        t.record(Duration::from_millis(40));
        s.merge(&t);
        let sum = s.summary();
        assert_eq!(sum.count, 4);
        let near = |v: Option<f64>, want: f64| (v.unwrap_or(0.0) - want).abs() <= want / 1000.0;
        assert!(near(sum.p50_ms, 20.0), "{sum:?}");
        assert!(near(sum.p99_ms, 40.0), "{sum:?}");
        assert!(near(sum.max_ms, 40.0), "{sum:?}");
        let empty = Samples::default().summary();
        assert_eq!((empty.count, empty.p50_ms, empty.max_ms), (0, None, None));
    }

    #[test]
    fn shared_latencies_summarise_and_take() {
        let l = Latencies::default();
        l.record(Duration::from_micros(1234));
        l.record(Duration::from_secs(3600));
        assert_eq!(l.summary().count, 2);
        assert_eq!(l.summary().p50_ms, Some(1.23));
        let taken = l.take();
        assert_eq!(taken.len(), 2);
        assert!(l.summary().count == 0 && Samples::default().is_empty());
    }
}
