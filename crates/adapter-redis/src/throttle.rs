//! A log line at a bounded rate.
//!
//! During a Redis outage every emit of the node fails the same way, hundreds of times a second;
//! logging each would drown the logs (and cost more than the emit). One line per period, saying
//! how many were left out, tells the operator the same thing.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often a repeated warning is written by default.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(10);

/// Lets one event through per period and counts the others.
#[derive(Debug)]
pub struct Throttle {
    period: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    /// One event per `period`.
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            state: Mutex::new(State::default()),
        }
    }

    /// An event happened at `now`: `Some(n)` when it should be logged, `n` being how many were
    /// held back since the last one logged; `None` when it is held back (and counted).
    pub fn check(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let due = state
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.period);
        if due {
            state.last = Some(now);
            Some(std::mem::take(&mut state.suppressed))
        } else {
            state.suppressed += 1;
            None
        }
    }

    /// As [`Throttle::check`] at the current time.
    pub fn check_now(&self) -> Option<u64> {
        self.check(Instant::now())
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new(DEFAULT_PERIOD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_event_is_logged_then_one_per_period_with_the_count_held_back() {
        let throttle = Throttle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(throttle.check(t0), Some(0));
        for ms in [1, 500, 9_999] {
            assert_eq!(throttle.check(t0 + Duration::from_millis(ms)), None);
        }
        assert_eq!(throttle.check(t0 + Duration::from_secs(10)), Some(3));
        assert_eq!(throttle.check(t0 + Duration::from_secs(11)), None);
        assert_eq!(throttle.check(t0 + Duration::from_secs(25)), Some(1));
    }

    #[test]
    fn a_clock_going_backwards_holds_the_event_back() {
        let throttle = Throttle::new(Duration::from_secs(10));
        let t0 = Instant::now() + Duration::from_secs(60);
        assert_eq!(throttle.check(t0), Some(0));
        assert_eq!(throttle.check(t0 - Duration::from_secs(30)), None);
    }
}
