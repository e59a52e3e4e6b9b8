//! The run's results: a text table for people and JSON for tools.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use rodando_toolkit::stats::Summary;

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `--label`.
    pub label: String,
    /// Server base URL.
    pub url: String,
    /// `login` or `secret`.
    pub token_mode: String,
    /// Distinct driver identities the driver sockets used.
    pub driver_identities: usize,
    /// `--drivers`.
    pub drivers_requested: usize,
    /// `--admins`.
    pub admins_requested: usize,
    /// `--rate` (or this step's rate), pings per second per driver socket.
    pub rate_per_driver: f64,
    /// Drivers connected × rate: what the load generator tried to send per second.
    pub offered_pings_per_s: f64,
    /// Source IP addresses the sockets were spread over (0: the OS chose).
    pub source_addresses: usize,
    /// `--warmup` seconds (not counted).
    pub warmup_s: f64,
    /// `--duration` seconds (the measured window).
    pub duration_s: f64,
    /// Driver sockets admitted (hello received).
    pub drivers_connected: usize,
    /// Admin sockets admitted.
    pub admins_connected: usize,
    /// Driver sockets still connected when the run ended.
    pub drivers_held_at_end: usize,
    /// Admin sockets still connected when the run ended.
    pub admins_held_at_end: usize,
    /// Seconds it took to open every socket.
    pub connect_phase_s: f64,
    /// Driver handshakes: TCP connect start to `hello` received.
    pub handshake: Summary,
    /// Pings sent in the measured window.
    pub pings_sent: u64,
    /// Of those, acked with `ok:true`.
    pub pings_acked: u64,
    /// `pings_acked / duration`.
    pub acked_pings_per_s: f64,
    /// Ping emit to ack.
    pub ack_latency: Summary,
    /// Ping emit to its `driver:location:update` at the first admin socket that got it.
    pub delivery_first_admin: Summary,
    /// Ping emit to each admin socket's receipt.
    pub delivery_all_admins: Summary,
    /// Acked measured pings that no admin saw (coalesced away, or lost).
    pub pings_never_seen_by_admin: Option<u64>,
    /// `driver:location:update` received by admin sockets in the measured window.
    pub admin_location_updates: u64,
    /// Admin location updates that matched no ping in flight.
    pub admin_unmatched_updates: u64,
    /// Events the driver sockets received in the measured window (their own room's broadcasts).
    pub driver_room_events: u64,
    /// Errors by kind, e.g. `connect_refused:too_many_connections`, `ack_timeout`.
    pub errors: BTreeMap<String, u64>,
    /// The server process, with `--server-pid`.
    pub server: Option<ProcessStats>,
    /// This load generator.
    pub loadgen: ProcessStats,
}

/// Memory and CPU of one process.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessStats {
    /// Process id (`None` for the load generator itself).
    pub pid: Option<u32>,
    /// RSS before any socket was opened, KiB.
    pub rss_before_kb: Option<u64>,
    /// RSS once the admins and the first half of the drivers were open, KiB.
    pub rss_half_kb: Option<u64>,
    /// RSS once every socket was open, KiB.
    pub rss_connected_kb: Option<u64>,
    /// RSS at the end, sockets still open, KiB.
    pub rss_end_kb: Option<u64>,
    /// (RSS connected − RSS before) / sockets admitted, bytes. Memory the process freed before
    /// the sockets (a server's login buffers) and reuses for them makes this read low.
    pub bytes_per_socket: Option<f64>,
    /// (RSS connected − RSS at half) / sockets admitted in the second half, bytes: what one more
    /// socket costs once the process holds many.
    pub marginal_bytes_per_socket: Option<f64>,
    /// CPU over the measured window, percent of one core.
    pub cpu_percent: Option<f64>,
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

fn summary_row(out: &mut String, name: &str, s: &Summary) {
    let _ = writeln!(
        out,
        "  {name:<30} {:>9} {:>9} {:>9} {:>9}   (n={})",
        ms(s.p50_ms),
        ms(s.p90_ms),
        ms(s.p99_ms),
        ms(s.max_ms),
        s.count
    );
}

/// Bytes per socket between two RSS readings (KiB) taken `sockets` sockets apart.
pub fn bytes_per_socket(
    before_kb: Option<u64>,
    after_kb: Option<u64>,
    sockets: usize,
) -> Option<f64> {
    match (before_kb, after_kb) {
        #[allow(clippy::cast_precision_loss)]
        (Some(b), Some(a)) if sockets > 0 => Some((a as f64 - b as f64) * 1024.0 / sockets as f64),
        _ => None,
    }
}

fn kb(v: Option<u64>) -> String {
    #[allow(clippy::cast_precision_loss)]
    v.map_or_else(
        || "-".to_owned(),
        |kb| format!("{:.1} MiB", kb as f64 / 1024.0),
    )
}

fn process_rows(out: &mut String, name: &str, p: &ProcessStats) {
    let _ = writeln!(
        out,
        "  {:<30} before {} · connected {} · end {}",
        format!("{name} RSS"),
        kb(p.rss_before_kb),
        kb(p.rss_connected_kb),
        kb(p.rss_end_kb)
    );
    if let Some(b) = p.bytes_per_socket {
        let marginal = p.marginal_bytes_per_socket.map_or_else(String::new, |m| {
            format!(" (second half of the sockets: {m:.0} B each)")
        });
        let _ = writeln!(
            out,
            "  {:<30} {b:.0} B{marginal}",
            format!("{name} bytes/socket")
        );
    }
    let _ = writeln!(
        out,
        "  {:<30} {}",
        format!("{name} CPU (1 core = 100%)"),
        p.cpu_percent
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.1} %"))
    );
}

impl Report {
    /// The human-readable table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "== rodando-loadgen: {} ==", self.label);
        let _ = writeln!(
            out,
            "  {:<30} {} ({} tokens, {} driver identit{})",
            "server",
            self.url,
            self.token_mode,
            self.driver_identities,
            if self.driver_identities == 1 {
                "y"
            } else {
                "ies"
            }
        );
        let _ = writeln!(
            out,
            "  {:<30} {} drivers × {}/s, {} admins, warmup {} s, measured {} s",
            "load",
            self.drivers_requested,
            self.rate_per_driver,
            self.admins_requested,
            self.warmup_s,
            self.duration_s
        );
        let _ = writeln!(
            out,
            "  {:<30} drivers {}/{} (held at end {}), admins {}/{} (held at end {}), in {:.2} s",
            "sockets",
            self.drivers_connected,
            self.drivers_requested,
            self.drivers_held_at_end,
            self.admins_connected,
            self.admins_requested,
            self.admins_held_at_end,
            self.connect_phase_s
        );
        let _ = writeln!(
            out,
            "  {:<30} {} sent, {} acked, {:.1} acked/s (offered {:.1}/s)",
            "pings (measured window)",
            self.pings_sent,
            self.pings_acked,
            self.acked_pings_per_s,
            self.offered_pings_per_s
        );
        let _ = writeln!(
            out,
            "  {:<30} {:>9} {:>9} {:>9} {:>9}",
            "latency (ms)", "p50", "p90", "p99", "max"
        );
        summary_row(&mut out, "handshake (connect → hello)", &self.handshake);
        summary_row(&mut out, "ping → ack", &self.ack_latency);
        summary_row(&mut out, "ping → first admin", &self.delivery_first_admin);
        summary_row(&mut out, "ping → every admin", &self.delivery_all_admins);
        let never = self
            .pings_never_seen_by_admin
            .map_or_else(|| "- (no admins)".to_owned(), |n| n.to_string());
        let _ = writeln!(
            out,
            "  {:<30} {never} (coalescing: ≤ 1 update per driver identity per 500 ms)",
            "acked pings no admin saw"
        );
        let _ = writeln!(
            out,
            "  {:<30} {} location updates ({} unmatched); drivers got {} room events",
            "received (measured window)",
            self.admin_location_updates,
            self.admin_unmatched_updates,
            self.driver_room_events
        );
        if let Some(server) = &self.server {
            process_rows(&mut out, "server", server);
        }
        process_rows(&mut out, "loadgen", &self.loadgen);
        if self.errors.is_empty() {
            let _ = writeln!(out, "  {:<30} none", "errors");
        } else {
            let _ = writeln!(out, "  errors:");
            for (kind, n) in &self.errors {
                let _ = writeln!(out, "    {kind:<40} {n}");
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A report with only the throughput figures set, for verdict tests.
    pub(crate) fn report_with(offered: f64, acked_per_s: f64, ack_p99_ms: f64) -> Report {
        let none = Summary {
            count: 0,
            p50_ms: None,
            p90_ms: None,
            p99_ms: None,
            max_ms: None,
        };
        Report {
            label: "t".into(),
            url: "http://127.0.0.1:1".into(),
            token_mode: "secret".into(),
            driver_identities: 1,
            drivers_requested: 1,
            admins_requested: 0,
            rate_per_driver: 1.0,
            offered_pings_per_s: offered,
            source_addresses: 0,
            warmup_s: 0.0,
            duration_s: 1.0,
            drivers_connected: 1,
            admins_connected: 0,
            drivers_held_at_end: 1,
            admins_held_at_end: 0,
            connect_phase_s: 0.0,
            handshake: none,
            pings_sent: 0,
            pings_acked: 0,
            acked_pings_per_s: acked_per_s,
            ack_latency: Summary {
                count: 1,
                p99_ms: Some(ack_p99_ms),
                ..none
            },
            delivery_first_admin: none,
            delivery_all_admins: none,
            pings_never_seen_by_admin: None,
            admin_location_updates: 0,
            admin_unmatched_updates: 0,
            driver_room_events: 0,
            errors: BTreeMap::new(),
            server: None,
            loadgen: ProcessStats::default(),
        }
    }

    #[test]
    fn bytes_per_socket_divides_the_growth_between_two_readings() {
        assert_eq!(bytes_per_socket(Some(1000), Some(3000), 1024), Some(2000.0));
        assert_eq!(
            bytes_per_socket(Some(3000), Some(1000), 1024),
            Some(-2000.0)
        );
        assert_eq!(bytes_per_socket(Some(1000), Some(3000), 0), None);
        assert_eq!(bytes_per_socket(None, Some(3000), 10), None);
        assert_eq!(bytes_per_socket(Some(1000), None, 10), None);
    }

    #[test]
    fn the_table_shows_both_memory_figures_of_the_server() {
        let mut report = report_with(10.0, 10.0, 1.0);
        report.server = Some(ProcessStats {
            pid: Some(7),
            rss_before_kb: Some(80 * 1024),
            rss_half_kb: Some(240 * 1024),
            rss_connected_kb: Some(440 * 1024),
            rss_end_kb: Some(450 * 1024),
            bytes_per_socket: Some(18_904.0),
            marginal_bytes_per_socket: Some(21_004.0),
            cpu_percent: Some(30.0),
        });
        let text = report.render();
        assert!(
            text.contains(
                "server bytes/socket            18904 B (second half of the sockets: 21004 B each)"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_table_shows_offered_and_acked_rates() {
        let text = report_with(5000.0, 4990.0, 3.0).render();
        assert!(text.contains("4990.0 acked/s (offered 5000.0/s)"), "{text}");
        assert!(
            text.contains("errors                         none"),
            "{text}"
        );
    }
}
