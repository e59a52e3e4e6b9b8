//! What one run does, validated before anything connects: a bad value stops the simulator with a
//! sentence naming the option, never halfway through a run.

use std::path::PathBuf;
use std::time::Duration;

use crate::geo::BBox;

/// Most simulated drivers or passengers in one run.
pub const MAX_ACTORS: usize = 20_000;
/// Most simulated seconds per real second: faster, pings would hit the server's per-socket rate
/// limit (`RATE_LIMIT_EVENTS_PER_SEC`, 20 by default).
pub const MAX_SPEED: f64 = 60.0;
/// Longest run, real time.
pub const MAX_REAL_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Where users come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Users {
    /// Log in as existing users (the memory store's demo users: `SEED_DEMO_DRIVERS` adds drivers).
    Existing,
    /// Create the users that cannot log in, with `rodando-server users create` against the
    /// PostgreSQL store of `DATABASE_URL` (the binary at `server_bin`).
    Create {
        /// The rodando-server binary.
        server_bin: PathBuf,
    },
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Server base URL (REST and Socket.IO).
    pub url: String,
    /// Simulated drivers.
    pub drivers: usize,
    /// Simulated passengers (each holds at most one trip at a time).
    pub passengers: usize,
    /// Driver e-mail pattern; `{i}` becomes 1..=drivers.
    pub driver_email: String,
    /// Passenger e-mail pattern; `{i}` becomes 1..=passengers.
    pub passenger_email: String,
    /// Password of every simulated user.
    pub password: String,
    /// Where users come from.
    pub users: Users,
    /// Simulated duration.
    pub duration: Duration,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// The city.
    pub bbox: BBox,
    /// Trips requested per simulated minute, over all passengers.
    pub trip_rate_per_min: f64,
    /// Driving speed, km/h (simulated).
    pub driving_kph: f64,
    /// Simulated seconds between two location pings of a driver.
    pub ping_interval: Duration,
    /// Probability that a driver accepts an offer.
    pub accept_probability: f64,
    /// Probability that a driver rejects an offer (the rest are left to expire).
    pub reject_probability: f64,
    /// Simulated seconds a driver thinks before answering an offer.
    pub think_time: Duration,
    /// Simulated seconds between arriving at the pickup and starting the ride.
    pub boarding_time: Duration,
    /// Trip length range, metres.
    pub trip_min_m: f64,
    /// Trip length range, metres.
    pub trip_max_m: f64,
    /// Seed of every random draw.
    pub seed: u64,
    /// Logins and handshakes in flight at once.
    pub connect_concurrency: usize,
}

impl SimConfig {
    /// A configuration with the defaults of the command line, against `url`.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            drivers: 20,
            passengers: 2,
            driver_email: "driver{i}@rodando.local".to_owned(),
            passenger_email: "passenger{i}@rodando.local".to_owned(),
            password: "rodando123".to_owned(),
            users: Users::Existing,
            duration: Duration::from_secs(600),
            speed: 1.0,
            bbox: BBox::HAVANA,
            trip_rate_per_min: 6.0,
            driving_kph: 30.0,
            ping_interval: Duration::from_secs(4),
            accept_probability: 0.85,
            reject_probability: 0.10,
            think_time: Duration::from_secs(2),
            boarding_time: Duration::from_secs(30),
            trip_min_m: 1_000.0,
            trip_max_m: 6_000.0,
            seed: 1,
            connect_concurrency: 16,
        }
    }

    /// The real duration of the run.
    #[must_use]
    pub fn real_duration(&self) -> Duration {
        Duration::try_from_secs_f64(self.duration.as_secs_f64() / self.speed)
            .unwrap_or(Duration::MAX)
    }

    /// Driving speed, metres per simulated second.
    #[must_use]
    pub fn driving_mps(&self) -> f64 {
        self.driving_kph / 3.6
    }

    /// Checks every value; the error names each bad option.
    ///
    /// # Errors
    /// One sentence per bad option, joined by `; `.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            problems.push(format!(
                "--url must start with http:// or https://: {}",
                self.url
            ));
        }
        if self.drivers > MAX_ACTORS {
            problems.push(format!("--drivers must be at most {MAX_ACTORS}"));
        }
        if self.passengers > MAX_ACTORS {
            problems.push(format!("--passengers must be at most {MAX_ACTORS}"));
        }
        if self.drivers > 1 && !self.driver_email.contains("{i}") {
            problems.push("--driver-email needs {i} for more than one driver".to_owned());
        }
        if self.passengers > 1 && !self.passenger_email.contains("{i}") {
            problems.push("--passenger-email needs {i} for more than one passenger".to_owned());
        }
        if !(self.speed.is_finite() && self.speed > 0.0 && self.speed <= MAX_SPEED) {
            problems.push(format!("--speed must be in (0, {MAX_SPEED}]"));
        }
        if self.duration.is_zero() {
            problems.push("--duration must be positive".to_owned());
        } else if self.speed.is_finite()
            && self.speed > 0.0
            && self.real_duration() > MAX_REAL_DURATION
        {
            problems.push("--duration / --speed must be at most 24 hours of real time".to_owned());
        }
        if !(self.trip_rate_per_min.is_finite() && self.trip_rate_per_min >= 0.0) {
            problems.push("--trip-rate must be a non-negative number".to_owned());
        }
        if !(self.driving_kph.is_finite() && (1.0..=200.0).contains(&self.driving_kph)) {
            problems.push("--driving-kph must be in [1, 200]".to_owned());
        }
        if self.ping_interval < Duration::from_millis(100) {
            problems.push("--ping-interval must be at least 100ms".to_owned());
        }
        let (a, r) = (self.accept_probability, self.reject_probability);
        if !((0.0..=1.0).contains(&a) && (0.0..=1.0).contains(&r) && a + r <= 1.0 + 1e-9) {
            problems.push(
                "--accept and --reject are probabilities in [0, 1] whose sum is at most 1"
                    .to_owned(),
            );
        }
        if !(self.trip_min_m.is_finite()
            && self.trip_max_m.is_finite()
            && self.trip_min_m >= 0.0
            && self.trip_min_m <= self.trip_max_m)
        {
            problems.push("--trip-km must be MIN-MAX with 0 <= MIN <= MAX".to_owned());
        }
        if self.connect_concurrency == 0 {
            problems.push("--connect-concurrency must be positive".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// The `n`-th e-mail of a pattern (`{i}` replaced by `n`).
#[must_use]
pub fn email(pattern: &str, n: usize) -> String {
    pattern.replace("{i}", &n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_ten_minutes_at_five_take_two() {
        let mut c = SimConfig::new("http://127.0.0.1:3000");
        assert_eq!(c.validate(), Ok(()));
        c.speed = 5.0;
        assert_eq!(c.real_duration(), Duration::from_secs(120));
        assert!((c.driving_mps() - 8.333).abs() < 0.001);
    }

    #[test]
    fn every_bad_option_is_named() {
        let mut c = SimConfig::new("ftp://x");
        c.speed = 0.0;
        c.accept_probability = 0.8;
        c.reject_probability = 0.3;
        c.driver_email = "fixed@rodando.local".to_owned();
        c.trip_min_m = 5.0;
        c.trip_max_m = 1.0;
        let message = c.validate().unwrap_err();
        for option in [
            "--url",
            "--speed",
            "--accept",
            "--driver-email",
            "--trip-km",
        ] {
            assert!(message.contains(option), "{option} missing from {message}");
        }
        let mut c = SimConfig::new("http://x");
        c.speed = 0.001;
        c.duration = Duration::from_secs(3600);
        assert!(c.validate().unwrap_err().contains("24 hours"));
    }

    #[test]
    fn emails_number_their_users() {
        assert_eq!(
            email("driver{i}@rodando.local", 12),
            "driver12@rodando.local"
        );
        assert_eq!(email("solo@rodando.local", 3), "solo@rodando.local");
    }
}
