//! Saturation search (`--steps`): the same sockets ping at each listed rate in turn, and the
//! highest acknowledged throughput whose ping→ack p99 stays within a bound is the figure two
//! servers are compared by ("acked pings/s at equal p99").

use std::fmt::Write as _;

use serde::Serialize;

use crate::report::Report;

/// A step counts as sustained when at least this share of the offered pings were acked.
pub const SUSTAINED_SHARE: f64 = 0.95;

/// Parses `--steps`: comma-separated per-driver rates, each in (0, 1000], strictly increasing.
///
/// # Errors
/// A human message naming the bad item.
pub fn parse_steps(list: &str) -> Result<Vec<f64>, String> {
    let mut rates: Vec<f64> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let rate: f64 = item
            .parse()
            .map_err(|_| format!("--steps: {item:?} is not a number"))?;
        if !(rate > 0.0 && rate <= 1000.0) {
            return Err(format!("--steps: {item} must be in (0, 1000]"));
        }
        if rates.last().is_some_and(|&last| rate <= last) {
            return Err("--steps: rates must increase".to_owned());
        }
        rates.push(rate);
    }
    if rates.is_empty() {
        return Err("--steps: no rate given".to_owned());
    }
    Ok(rates)
}

/// Whether a step kept up: ≥ [`SUSTAINED_SHARE`] of the offered pings acked, and ping→ack p99
/// within `p99_bound_ms`.
pub fn sustained(step: &Report, p99_bound_ms: f64) -> bool {
    let offered = step.offered_pings_per_s;
    let kept_up = offered > 0.0 && step.acked_pings_per_s >= SUSTAINED_SHARE * offered;
    kept_up
        && step
            .ack_latency
            .p99_ms
            .is_some_and(|p99| p99 <= p99_bound_ms)
}

/// Every step of a saturation search and its verdict.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RampReport {
    /// `--label`.
    pub label: String,
    /// The ping→ack p99 bound, ms.
    pub p99_bound_ms: f64,
    /// The steps run, in order (the search stops after the first step that did not keep up).
    pub steps: Vec<Report>,
    /// Index in `steps` of the sustained step with the most acked pings/s.
    pub best_step: Option<usize>,
    /// Its acked pings/s: the figure to compare.
    pub max_sustained_acked_pings_per_s: Option<f64>,
    /// False when even the last step kept up: the figure is then a lower bound.
    pub saturated: bool,
}

impl RampReport {
    /// Judges `steps` against `p99_bound_ms`.
    pub fn new(label: String, p99_bound_ms: f64, steps: Vec<Report>) -> Self {
        let best_step = steps
            .iter()
            .enumerate()
            .filter(|(_, s)| sustained(s, p99_bound_ms))
            .max_by(|(_, a), (_, b)| a.acked_pings_per_s.total_cmp(&b.acked_pings_per_s))
            .map(|(i, _)| i);
        let saturated = steps.last().is_some_and(|s| !sustained(s, p99_bound_ms));
        Self {
            max_sustained_acked_pings_per_s: best_step
                .and_then(|i| steps.get(i))
                .map(|s| s.acked_pings_per_s),
            label,
            p99_bound_ms,
            steps,
            best_step,
            saturated,
        }
    }

    /// One line per step and the verdict.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "== rodando-loadgen saturation: {} (ping→ack p99 ≤ {} ms, ≥ {:.0} % acked) ==",
            self.label,
            self.p99_bound_ms,
            SUSTAINED_SHARE * 100.0
        );
        let _ = writeln!(
            out,
            "  {:>8} {:>10} {:>10} {:>9} {:>9} {:>11} {:>9} {:>8}",
            "rate/s",
            "offered/s",
            "acked/s",
            "ack p50",
            "ack p99",
            "admin p99",
            "srv CPU",
            "kept up"
        );
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
        for step in &self.steps {
            let _ = writeln!(
                out,
                "  {:>8} {:>10.0} {:>10.1} {:>9} {:>9} {:>11} {:>9} {:>8}",
                step.rate_per_driver,
                step.offered_pings_per_s,
                step.acked_pings_per_s,
                ms(step.ack_latency.p50_ms),
                ms(step.ack_latency.p99_ms),
                ms(step.delivery_first_admin.p99_ms),
                step.server
                    .as_ref()
                    .and_then(|s| s.cpu_percent)
                    .map_or_else(|| "-".to_owned(), |c| format!("{c:.0} %")),
                if sustained(step, self.p99_bound_ms) {
                    "yes"
                } else {
                    "no"
                },
            );
        }
        match self.max_sustained_acked_pings_per_s {
            Some(best) if self.saturated => {
                let _ = writeln!(out, "  max sustained: {best:.1} acked pings/s");
            }
            Some(best) => {
                let _ = writeln!(
                    out,
                    "  max sustained: ≥ {best:.1} acked pings/s (every step kept up: not saturated)"
                );
            }
            None => {
                let _ = writeln!(out, "  no step kept up");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::report::tests::report_with;

    #[test]
    fn steps_parse_and_must_increase() {
        assert_eq!(parse_steps("0.5, 1,2").unwrap(), vec![0.5, 1.0, 2.0]);
        for bad in ["", "1,1", "2,1", "0", "-1", "x", "1001"] {
            assert!(parse_steps(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_best_sustained_step_wins_and_saturation_is_said() {
        // offered, acked, ack p99
        let steps = vec![
            report_with(1000.0, 999.0, 2.0),
            report_with(2000.0, 1990.0, 8.0),
            report_with(4000.0, 3950.0, 25.0), // p99 over the bound
            report_with(8000.0, 5000.0, 9.0),  // did not keep up
        ];
        let ramp = RampReport::new("x".into(), 20.0, steps);
        assert_eq!(ramp.best_step, Some(1));
        assert_eq!(ramp.max_sustained_acked_pings_per_s, Some(1990.0));
        assert!(ramp.saturated);
        assert!(ramp.render().contains("max sustained: 1990.0"));

        let unsaturated = RampReport::new("y".into(), 20.0, vec![report_with(10.0, 10.0, 1.0)]);
        assert!(!unsaturated.saturated);
        assert!(unsaturated.render().contains("not saturated"));

        let none = RampReport::new("z".into(), 1.0, vec![report_with(10.0, 10.0, 5.0)]);
        assert_eq!(none.best_step, None);
        assert!(none.render().contains("no step kept up"));
    }
}
