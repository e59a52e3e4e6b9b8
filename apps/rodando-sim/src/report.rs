//! What a run shows: the live [`Progress`] (a refreshing line, or JSON lines) and the final
//! [`Report`] (text, or JSON with `--json`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::stats::{Stats, Summary};

/// Trip counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TripCounts {
    /// Requests the server accepted.
    pub requested: u64,
    /// Trips that got a driver.
    pub assigned: u64,
    /// Trips completed.
    pub completed: u64,
    /// Trips that found no driver.
    pub no_driver: u64,
    /// Trips cancelled during the run (a stuck trip is cancelled by its passenger).
    pub cancelled: u64,
    /// Trips still under way at the end of the run (cancelled then).
    pub unfinished_at_end: u64,
    /// Requests not made: every passenger already had a trip.
    pub skipped_no_free_passenger: u64,
}

/// Offer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferCounts {
    /// Offers received.
    pub received: u64,
    /// Accepted (acknowledged).
    pub accepted: u64,
    /// Rejected.
    pub rejected: u64,
    /// Left to expire on purpose.
    pub ignored: u64,
    /// Accepts the server refused.
    pub accepts_refused: u64,
}

impl TripCounts {
    /// From the run's counters.
    #[must_use]
    pub fn of(stats: &Stats) -> Self {
        Self {
            requested: stats.trips_requested.get(),
            assigned: stats.trips_assigned.get(),
            completed: stats.trips_completed.get(),
            no_driver: stats.trips_no_driver.get(),
            cancelled: stats.trips_cancelled.get(),
            unfinished_at_end: stats.trips_unfinished.get(),
            skipped_no_free_passenger: stats.requests_skipped.get(),
        }
    }
}

impl OfferCounts {
    /// From the run's counters.
    #[must_use]
    pub fn of(stats: &Stats) -> Self {
        Self {
            received: stats.offers_received.get(),
            accepted: stats.offers_accepted.get(),
            rejected: stats.offers_rejected.get(),
            ignored: stats.offers_ignored.get(),
            accepts_refused: stats.accepts_refused.get(),
        }
    }
}

/// The state of a run at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Simulated seconds elapsed.
    pub simulated_secs: f64,
    /// Simulated seconds of the whole run.
    pub total_secs: f64,
    /// Drivers online now.
    pub drivers_online: u64,
    /// Drivers holding a trip now.
    pub drivers_on_trip: u64,
    /// Online drivers free for trips now (`driversOnline - driversOnTrip`).
    pub drivers_available: u64,
    /// Passengers with a trip under way.
    pub passengers_riding: u64,
    /// Trips so far.
    pub trips: TripCounts,
    /// Offer received → accepted, median so far, milliseconds.
    pub offer_to_accept_p50_ms: Option<f64>,
    /// Errors so far.
    pub errors: u64,
}

impl Progress {
    /// The run's state now.
    #[must_use]
    pub fn of(stats: &Stats, simulated_secs: f64, total_secs: f64) -> Self {
        let online = stats.drivers_online.get();
        let on_trip = stats.drivers_on_trip.get();
        Self {
            simulated_secs,
            total_secs,
            drivers_online: online,
            drivers_on_trip: on_trip,
            drivers_available: online.saturating_sub(on_trip),
            passengers_riding: stats.passengers_riding.get(),
            trips: TripCounts::of(stats),
            offer_to_accept_p50_ms: stats.offer_to_accept.summary().p50_ms,
            errors: stats.errors().0,
        }
    }

    /// One line: a bar, simulated time, drivers, trips, latency.
    #[must_use]
    pub fn line(&self) -> String {
        const WIDTH: usize = 20;
        let share = if self.total_secs > 0.0 {
            (self.simulated_secs / self.total_secs).clamp(0.0, 1.0)
        } else {
            1.0
        };
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let filled = (share * WIDTH as f64).round() as usize;
        let bar: String = "#".repeat(filled) + &"-".repeat(WIDTH - filled);
        let latency = self
            .offer_to_accept_p50_ms
            .map_or_else(|| "-".to_owned(), |ms| format!("{:.1}s", ms / 1000.0));
        let t = &self.trips;
        let mut line = format!(
            "[{bar}] {:>3.0}% sim {}/{} | drivers {} online, {} on trip | trips {} req, {} asg, {} done, {} no-driver | offer→accept p50 {latency}",
            share * 100.0,
            clock(self.simulated_secs),
            clock(self.total_secs),
            self.drivers_online,
            self.drivers_on_trip,
            t.requested,
            t.assigned,
            t.completed,
            t.no_driver,
        );
        if self.errors > 0 {
            let _ = write!(line, " | {} errors", self.errors);
        }
        line
    }
}

/// `mm:ss` (or `h:mm:ss`) of a number of seconds.
#[must_use]
pub fn clock(secs: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let total = secs.max(0.0).round() as u64;
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// Counts of one kind of actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Actors {
    /// Asked for.
    pub requested: usize,
    /// Logged in and connected.
    pub connected: usize,
}

/// Latencies of the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Latencies {
    /// Offer received → accept acknowledged (includes the simulated think time).
    pub offer_to_accept: Summary,
    /// Trip request acknowledged → driver assigned, at the passenger.
    pub request_to_assigned: Summary,
    /// Location ping → ack.
    pub ping_ack: Summary,
}

/// Errors of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Errors {
    /// How many.
    pub count: u64,
    /// The first few messages.
    pub first: Vec<String>,
}

/// The final report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The server.
    pub url: String,
    /// The seed of the run.
    pub seed: u64,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Simulated seconds run.
    pub simulated_secs: f64,
    /// Real seconds run (after connecting).
    pub real_secs: f64,
    /// Real seconds spent logging in and connecting before the run.
    pub setup_secs: f64,
    /// Whether the run was interrupted (Ctrl-C) before its end.
    pub interrupted: bool,
    /// Drivers.
    pub drivers: Actors,
    /// Passengers.
    pub passengers: Actors,
    /// Most drivers online at once.
    pub peak_drivers_online: u64,
    /// Trips.
    pub trips: TripCounts,
    /// Offers.
    pub offers: OfferCounts,
    /// Location pings acknowledged.
    pub pings: u64,
    /// Latencies.
    pub latency_ms: Latencies,
    /// Errors.
    pub errors: Errors,
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}

fn summary_row(name: &str, s: &Summary) -> String {
    format!(
        "  {name:<22} {:>7} {:>9} {:>9} {:>9} {:>9}\n",
        s.count,
        ms(s.p50_ms),
        ms(s.p90_ms),
        ms(s.p99_ms),
        ms(s.max_ms)
    )
}

impl Report {
    /// The report as text, for people.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "rodando-sim report — {} (seed {}){}",
            self.url,
            self.seed,
            if self.interrupted {
                ", interrupted"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "  simulated {} at x{} in {:.1} s real (setup {:.1} s)",
            clock(self.simulated_secs),
            self.speed,
            self.real_secs,
            self.setup_secs
        );
        let _ = writeln!(
            out,
            "  drivers    {}/{} connected, peak {} online · passengers {}/{} connected",
            self.drivers.connected,
            self.drivers.requested,
            self.peak_drivers_online,
            self.passengers.connected,
            self.passengers.requested
        );
        let t = &self.trips;
        let _ = writeln!(
            out,
            "  trips      {} requested · {} assigned · {} completed · {} no driver · {} cancelled · {} under way at the end (then cancelled)",
            t.requested, t.assigned, t.completed, t.no_driver, t.cancelled, t.unfinished_at_end,
        );
        let _ = writeln!(
            out,
            "             {} not requested (every passenger had a trip)",
            t.skipped_no_free_passenger
        );
        let o = &self.offers;
        let _ = writeln!(
            out,
            "  offers     {} received · {} accepted · {} rejected · {} left to expire · {} accepts refused",
            o.received, o.accepted, o.rejected, o.ignored, o.accepts_refused
        );
        let _ = writeln!(out, "  pings      {} acknowledged", self.pings);
        let _ = writeln!(
            out,
            "  latency (ms)           {:>7} {:>9} {:>9} {:>9} {:>9}",
            "count", "p50", "p90", "p99", "max"
        );
        out.push_str(&summary_row(
            "offer → accept",
            &self.latency_ms.offer_to_accept,
        ));
        out.push_str(&summary_row(
            "request → assigned",
            &self.latency_ms.request_to_assigned,
        ));
        out.push_str(&summary_row("ping → ack", &self.latency_ms.ping_ack));
        let _ = writeln!(out, "  errors     {}", self.errors.count);
        for e in &self.errors.first {
            let _ = writeln!(out, "    - {e}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_line_shows_a_bar_time_drivers_and_trips() {
        let stats = Stats::default();
        for _ in 0..3 {
            stats.drivers_online.up();
        }
        stats.drivers_on_trip.up();
        stats.trips_requested.incr();
        let p = Progress::of(&stats, 150.0, 600.0);
        assert_eq!(p.drivers_available, 2);
        let line = p.line();
        assert!(
            line.starts_with("[#####---------------]  25% sim 02:30/10:00"),
            "{line}"
        );
        assert!(line.contains("drivers 3 online, 1 on trip"), "{line}");
        assert!(
            line.contains("trips 1 req, 0 asg, 0 done, 0 no-driver"),
            "{line}"
        );
        assert!(line.contains("p50 -"), "{line}");
        assert!(!line.contains("errors"));
        stats.error("boom");
        assert!(
            Progress::of(&stats, 700.0, 600.0)
                .line()
                .contains("[####################] 100%")
        );
        assert!(
            Progress::of(&stats, 0.0, 600.0)
                .line()
                .contains("| 1 errors")
        );
    }

    #[test]
    fn clocks_read_as_minutes_and_hours() {
        assert_eq!(clock(0.0), "00:00");
        assert_eq!(clock(599.6), "10:00");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(clock(-5.0), "00:00");
    }
}
