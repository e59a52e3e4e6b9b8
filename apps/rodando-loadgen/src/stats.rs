//! Latency samples and their percentiles.

use std::time::Duration;

use serde::Serialize;

/// Latency samples in microseconds. Plain sorted vectors: a 1000-driver, 30 s run with 10 admins
/// holds about 300 000 samples (2.4 MB), so no histogram bucketing is needed.
#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<u64>);

impl Samples {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        self.0
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    /// Sorts and summarises.
    pub fn summary(mut self) -> Summary {
        self.0.sort_unstable();
        let sorted = &self.0;
        let ms = |p: f64| percentile(sorted, p).map(micros_to_ms);
        Summary {
            count: sorted.len() as u64,
            p50_ms: ms(50.0),
            p90_ms: ms(90.0),
            p99_ms: ms(99.0),
            max_ms: sorted.last().copied().map(micros_to_ms),
        }
    }
}

/// Count and percentiles of a latency, in milliseconds (`None` without samples).
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
    us as f64 / 1000.0
}

/// Nearest-rank percentile (`p` in (0, 100]) of an ascending slice; `None` when empty.
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
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted.get(index).copied()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.1), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        // 10 samples: p99 is the largest, p50 the 5th.
        let v: Vec<u64> = (1..=10).map(|x| x * 10).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(100));
    }

    #[test]
    fn summary_sorts_and_converts_to_ms() {
        let mut s = Samples::default();
        for us in [3000, 1000, 2000] {
            s.record(Duration::from_micros(us));
        }
        let mut t = Samples::default();
        t.record(Duration::from_micros(4500));
        s.merge(t);
        let sum = s.summary();
        assert_eq!(sum.count, 4);
        assert_eq!(sum.p50_ms, Some(2.0));
        assert_eq!(sum.p99_ms, Some(4.5));
        assert_eq!(sum.max_ms, Some(4.5));
        let empty = Samples::default().summary();
        assert_eq!(empty.count, 0);
        assert_eq!(empty.p50_ms, None);
    }
}
