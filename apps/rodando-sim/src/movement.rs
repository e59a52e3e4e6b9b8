//! Simulated time and driving: a [`SimClock`] maps real time to simulated time (`--speed`), and a
//! [`Leg`] is one straight drive at constant speed, whose position is a pure function of the
//! simulated time.

use std::time::Duration;

use tokio::time::Instant;

use crate::geo::Point;

/// Simulated time: `speed` simulated seconds pass per real second, from `start`.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    start: Instant,
    speed: f64,
}

impl SimClock {
    /// A clock starting now.
    #[must_use]
    pub fn new(speed: f64) -> Self {
        Self::starting_at(Instant::now(), speed)
    }

    /// A clock that started at `start`.
    #[must_use]
    pub fn starting_at(start: Instant, speed: f64) -> Self {
        Self { start, speed }
    }

    /// The speed factor.
    #[must_use]
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Simulated seconds elapsed at real instant `at`.
    #[must_use]
    pub fn sim_at(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.start).as_secs_f64() * self.speed
    }

    /// Simulated seconds elapsed now.
    #[must_use]
    pub fn now(&self) -> f64 {
        self.sim_at(Instant::now())
    }

    /// The real duration of `sim_seconds` simulated seconds (zero for negative or NaN input).
    #[must_use]
    pub fn real(&self, sim_seconds: f64) -> Duration {
        let real = sim_seconds / self.speed;
        if real.is_finite() && real > 0.0 {
            Duration::try_from_secs_f64(real).unwrap_or(Duration::MAX)
        } else {
            Duration::ZERO
        }
    }

    /// The real instant at which `sim_seconds` of simulated time will have elapsed.
    #[must_use]
    pub fn instant_of(&self, sim_seconds: f64) -> Instant {
        self.start + self.real(sim_seconds)
    }
}

/// One straight drive from `from` to `to` at `speed_mps`, started at simulated second `start`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leg {
    /// Where it starts.
    pub from: Point,
    /// Where it ends.
    pub to: Point,
    /// Simulated second it starts.
    pub start: f64,
    /// Metres per simulated second (positive).
    pub speed_mps: f64,
    length_m: f64,
}

impl Leg {
    /// A leg; a non-positive or non-finite speed is taken as 1 m/s so the leg still ends.
    #[must_use]
    pub fn new(from: Point, to: Point, start: f64, speed_mps: f64) -> Self {
        let speed_mps = if speed_mps.is_finite() && speed_mps > 0.0 {
            speed_mps
        } else {
            1.0
        };
        Self {
            from,
            to,
            start,
            speed_mps,
            length_m: from.distance_m(to),
        }
    }

    /// Length, metres.
    #[must_use]
    pub fn length_m(&self) -> f64 {
        self.length_m
    }

    /// Simulated second it ends.
    #[must_use]
    pub fn end(&self) -> f64 {
        self.start + self.length_m / self.speed_mps
    }

    /// Where the driver is at simulated second `t` (the start before it, the end after it).
    #[must_use]
    pub fn position_at(&self, t: f64) -> Point {
        if self.length_m <= f64::EPSILON {
            return self.to;
        }
        let travelled = (t - self.start).max(0.0) * self.speed_mps;
        self.from.lerp(self.to, travelled / self.length_m)
    }

    /// Whether the leg is over at simulated second `t`.
    #[must_use]
    pub fn arrived(&self, t: f64) -> bool {
        t >= self.end()
    }

    /// Heading along the leg, degrees from north.
    #[must_use]
    pub fn heading(&self) -> f64 {
        self.from.bearing_to(self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Point = Point {
        lat: 23.10,
        lon: -82.40,
    };
    const B: Point = Point {
        lat: 23.11,
        lon: -82.40,
    };

    #[test]
    fn a_leg_moves_linearly_from_start_to_end_and_stays_there() {
        // About 1112 m north at 10 m/s: about 111 s.
        let leg = Leg::new(A, B, 100.0, 10.0);
        assert!((leg.length_m() - 1112.0).abs() < 1.0);
        assert!((leg.end() - 211.2).abs() < 0.1);
        assert_eq!(
            leg.position_at(50.0),
            A,
            "before the start it has not moved"
        );
        let half = leg.position_at(100.0 + leg.length_m() / 20.0);
        assert!((half.lat - 23.105).abs() < 1e-9 && (half.lon + 82.40).abs() < 1e-9);
        assert!(!leg.arrived(200.0));
        assert!(leg.arrived(212.0));
        assert_eq!(leg.position_at(10_000.0), B);
        assert!(leg.heading().abs() < 1e-6);
    }

    #[test]
    fn degenerate_legs_end_at_once_and_bad_speeds_still_end() {
        let still = Leg::new(A, A, 5.0, 10.0);
        assert!(still.arrived(5.0));
        assert_eq!(still.position_at(0.0), A);
        let stalled = Leg::new(A, B, 0.0, 0.0);
        assert!(stalled.end().is_finite());
        let nan = Leg::new(A, B, 0.0, f64::NAN);
        assert!(nan.end().is_finite());
    }

    #[test]
    fn the_clock_scales_real_time_by_the_speed() {
        let start = Instant::now();
        let clock = SimClock::starting_at(start, 5.0);
        assert!((clock.sim_at(start + Duration::from_secs(2)) - 10.0).abs() < 1e-9);
        assert_eq!(clock.real(600.0), Duration::from_secs(120));
        assert_eq!(clock.real(-1.0), Duration::ZERO);
        assert_eq!(clock.real(f64::NAN), Duration::ZERO);
        assert_eq!(clock.instant_of(10.0), start + Duration::from_secs(2));
        assert!(clock.sim_at(start - Duration::from_secs(1)).abs() < 1e-9);
    }
}
