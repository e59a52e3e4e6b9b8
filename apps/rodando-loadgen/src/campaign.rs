//! The run itself once the tokens are at hand: open every socket, step through the rates, and
//! report each step.

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::ramp::RampReport;
use crate::report::{ProcessStats, Report, bytes_per_socket};
use crate::run::{self, Errors, Opened, count};
use crate::step::{self, Fleet, StepConfig, StepResult, merge_errors};
use crate::tokens::{Identity, Tokens, check_expiry};
use crate::{Args, Plan, procfs, ramp, sources};
use rodando_toolkit::stats::{Samples, Summary};

/// Fewer admitted sockets than this share of those asked for fails the run.
const MIN_CONNECTED_SHARE: f64 = 0.95;
/// How long the processes settle (deferred frees, hello writes) before a memory reading.
const SETTLE: Duration = Duration::from_millis(1500);

/// Where and how to open sockets.
struct Connector<'a> {
    url: &'a str,
    limit: Arc<Semaphore>,
    timeout: Duration,
    sources: &'a [IpAddr],
}

impl Connector<'_> {
    /// Opens every socket of `namespace`, `limit` handshakes at a time; socket `first + i` gets
    /// `tokens[i]` and the source address of its index.
    async fn open_all(
        &self,
        namespace: &'static str,
        tokens: &[Identity],
        first: usize,
        errors: &mut Errors,
    ) -> Vec<Opened> {
        let mut set = JoinSet::new();
        for (i, identity) in tokens.iter().enumerate() {
            let (url, token, limit) = (
                self.url.to_owned(),
                identity.token.clone(),
                Arc::clone(&self.limit),
            );
            let (timeout, local) = (self.timeout, sources::for_socket(self.sources, first + i));
            set.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (
                    first + i,
                    run::open(&url, namespace, &token, timeout, local).await,
                )
            });
        }
        let mut opened = Vec::with_capacity(tokens.len());
        let mut shown = std::collections::BTreeSet::new();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((i, Ok(o))) => opened.push((i, o)),
                Ok((_, Err((kind, detail)))) => {
                    if shown.insert(kind.clone()) {
                        eprintln!("rodando-loadgen: {namespace}: {kind}: {detail}");
                    }
                    count(errors, kind);
                }
                Err(e) => count(errors, format!("task_failed:{e}")),
            }
        }
        opened.sort_by_key(|(i, _)| *i);
        opened.into_iter().map(|(_, o)| o).collect()
    }
}

/// What every step's report shares: the run's setup and the connect phase.
struct Setup {
    mode: &'static str,
    driver_identities: usize,
    source_addresses: usize,
    drivers_connected: usize,
    admins_connected: usize,
    connect_phase: Duration,
    handshake: Summary,
    server: Option<ProcessStats>,
    loadgen: ProcessStats,
}

fn step_report(
    args: &Args,
    setup: &Setup,
    rate: f64,
    step: StepResult,
    label: String,
    connect_errors: &Errors,
) -> Report {
    let mut errors = connect_errors.clone();
    merge_errors(&mut errors, step.errors);
    let mut server = setup.server.clone();
    if let Some(s) = server.as_mut() {
        s.rss_end_kb = procfs::read_rss_kb(s.pid);
        s.cpu_percent = step.server_cpu;
    }
    let mut loadgen = setup.loadgen.clone();
    loadgen.rss_end_kb = procfs::read_rss_kb(None);
    loadgen.cpu_percent = step.loadgen_cpu;
    let wall = step.measured_wall.as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    Report {
        label,
        url: args.url.clone(),
        token_mode: setup.mode.to_owned(),
        driver_identities: setup.driver_identities,
        drivers_requested: args.drivers,
        admins_requested: args.admins,
        rate_per_driver: rate,
        offered_pings_per_s: setup.drivers_connected as f64 * rate,
        source_addresses: setup.source_addresses,
        warmup_s: args.warmup,
        duration_s: args.duration,
        drivers_connected: setup.drivers_connected,
        admins_connected: setup.admins_connected,
        drivers_held_at_end: step.drivers_held,
        admins_held_at_end: step.admins_held,
        connect_phase_s: setup.connect_phase.as_secs_f64(),
        handshake: setup.handshake,
        pings_sent: step.sent,
        pings_acked: step.acked,
        acked_pings_per_s: if wall > 0.0 {
            step.acked as f64 / wall
        } else {
            0.0
        },
        ack_latency: step.ack_latency.summary(),
        delivery_first_admin: step.first.samples.summary(),
        delivery_all_admins: step.deliveries.summary(),
        pings_never_seen_by_admin: (setup.admins_connected > 0)
            .then(|| step.acked.saturating_sub(step.first.seen_measured)),
        admin_location_updates: step.location_updates,
        admin_unmatched_updates: step.first.unmatched,
        driver_room_events: step.room_events,
        errors,
        server,
        loadgen,
    }
}

/// Explains the identity layout in --login mode (fan-out and coalescing follow from it).
fn explain_identities(args: &Args, tokens: &Tokens, rates: &[f64]) {
    let per_identity = args.drivers.div_ceil(tokens.identities.max(1));
    eprintln!(
        "rodando-loadgen: {} driver sockets share {} driver identit{} ({per_identity} sockets each), {} admin sockets; \
         in --login mode the server needs MAX_CONNECTIONS_PER_USER >= {}.",
        args.drivers,
        tokens.identities,
        if tokens.identities == 1 { "y" } else { "ies" },
        args.admins,
        per_identity.max(args.admins),
    );
    #[allow(clippy::cast_precision_loss)]
    let identity_rate = per_identity as f64 * rates.last().copied().unwrap_or(args.rate);
    if per_identity > 1 || identity_rate > 2.0 {
        eprintln!(
            "rodando-loadgen: note: every ping is echoed to every socket of its driver's room ({per_identity} here), \
             and admins get at most 2 location updates/s per driver identity (coalescing; up to {identity_rate} pings/s per identity here), \
             so some pings never reach an admin and delivery latency includes the coalescing wait (see docs/benchmarks.md)."
        );
    }
}

#[allow(clippy::too_many_lines)]
/// Connects, runs every step, writes the reports; the exit code says whether enough sockets
/// connected.
pub async fn run(args: &Args, plan: &Plan, tokens: Tokens) -> Result<ExitCode, String> {
    let warmup = Duration::from_secs_f64(args.warmup);
    let duration = Duration::from_secs_f64(args.duration);
    let connect_timeout = Duration::from_secs_f64(args.connect_timeout);
    let ack_timeout = Duration::from_secs_f64(args.ack_timeout);
    let pid = args.server_pid;
    if let Some(pid) = pid
        && procfs::read_rss_kb(Some(pid)).is_none()
    {
        return Err(format!(
            "--server-pid {pid}: cannot read /proc/{pid}/status"
        ));
    }
    explain_identities(args, &tokens, &plan.rates);
    #[allow(clippy::cast_precision_loss)]
    let steps_time = (warmup + duration + Duration::from_secs(2)) * plan.rates.len() as u32;
    check_expiry(
        tokens.drivers.iter().chain(&tokens.admins),
        connect_timeout + steps_time + Duration::from_secs(30),
    );

    let mut connect_errors = Errors::new();
    let mut server = pid.map(|pid| ProcessStats {
        pid: Some(pid),
        rss_before_kb: procfs::read_rss_kb(Some(pid)),
        ..ProcessStats::default()
    });
    let mut me = ProcessStats {
        rss_before_kb: procfs::read_rss_kb(None),
        ..ProcessStats::default()
    };

    // Connect: admins first, so they see the drivers' first pings.
    eprintln!(
        "rodando-loadgen: connecting {} admins and {} drivers to {} ({} at a time, {} source address{})",
        args.admins,
        args.drivers,
        args.url,
        args.connect_concurrency,
        plan.sources.len().max(1),
        if plan.sources.len() > 1 { "es" } else { "" }
    );
    let connector = Connector {
        url: &args.url,
        limit: Arc::new(Semaphore::new(args.connect_concurrency)),
        timeout: connect_timeout,
        sources: &plan.sources,
    };
    let connect_started = Instant::now();
    let admins = connector
        .open_all("/admin", &tokens.admins, args.drivers, &mut connect_errors)
        .await;
    // The drivers in two halves, with a memory reading in between: what the second half adds
    // is what a socket costs, whatever freed memory (the logins' buffers) the process held
    // before the first socket and reused for the first half.
    let half = tokens.drivers.len() / 2;
    let mut drivers = connector
        .open_all("/drivers", &tokens.drivers[..half], 0, &mut connect_errors)
        .await;
    let mut connect_phase = connect_started.elapsed();
    let at_half = drivers.len() + admins.len();
    tokio::time::sleep(SETTLE).await;
    let rss_half = (
        pid.and_then(|pid| procfs::read_rss_kb(Some(pid))),
        procfs::read_rss_kb(None),
    );
    let second_started = Instant::now();
    drivers.extend(
        connector
            .open_all(
                "/drivers",
                &tokens.drivers[half..],
                half,
                &mut connect_errors,
            )
            .await,
    );
    connect_phase += second_started.elapsed();
    let (drivers_connected, admins_connected) = (drivers.len(), admins.len());
    let sockets = drivers_connected + admins_connected;
    eprintln!(
        "rodando-loadgen: {drivers_connected}/{} drivers and {admins_connected}/{} admins connected in {:.2} s",
        args.drivers,
        args.admins,
        connect_phase.as_secs_f64()
    );
    if let Some(refused) = connect_errors.get("connect_refused:too_many_connections") {
        eprintln!(
            "rodando-loadgen: error: {refused} connections were refused with too_many_connections: \
             restart the server with MAX_CONNECTIONS_PER_USER={} or more",
            args.drivers
                .div_ceil(tokens.identities.max(1))
                .max(args.admins)
        );
    }
    if tokens.mode == "secret" && connect_errors.contains_key("connect_refused:user_not_found") {
        eprintln!(
            "rodando-loadgen: error: the server does not know the minted users: rodando-server checks users and \
             sessions in its store, so --secret only works against a signature-only server (the Node baseline); use --login"
        );
    }
    tokio::time::sleep(SETTLE).await;
    let second_half = sockets - at_half;
    if let Some(s) = server.as_mut() {
        s.rss_half_kb = rss_half.0;
        s.rss_connected_kb = procfs::read_rss_kb(pid);
        s.bytes_per_socket = bytes_per_socket(s.rss_before_kb, s.rss_connected_kb, sockets);
        s.marginal_bytes_per_socket =
            bytes_per_socket(s.rss_half_kb, s.rss_connected_kb, second_half);
    }
    me.rss_half_kb = rss_half.1;
    me.rss_connected_kb = procfs::read_rss_kb(None);
    me.bytes_per_socket = bytes_per_socket(me.rss_before_kb, me.rss_connected_kb, sockets);
    me.marginal_bytes_per_socket =
        bytes_per_socket(me.rss_half_kb, me.rss_connected_kb, second_half);

    let mut handshakes = Samples::default();
    let mut driver_ids = std::collections::HashSet::new();
    for o in &drivers {
        handshakes.record(o.handshake);
        driver_ids.insert(Arc::clone(&o.user_id));
    }
    let setup = Setup {
        mode: tokens.mode,
        driver_identities: driver_ids.len(),
        source_addresses: plan.sources.len(),
        drivers_connected,
        admins_connected,
        connect_phase,
        handshake: handshakes.summary(),
        server,
        loadgen: me,
    };

    let mut fleet = Fleet { drivers, admins };
    let mut reports = Vec::with_capacity(plan.rates.len());
    for (n, &rate) in plan.rates.iter().enumerate() {
        let (warmup, duration) = if fleet.drivers.is_empty() {
            eprintln!("rodando-loadgen: no driver socket is connected; skipping the ping phase");
            (Duration::ZERO, Duration::ZERO)
        } else {
            (warmup, duration)
        };
        eprintln!(
            "rodando-loadgen: {} {rate}/s per driver: warmup {:.1} s, then measuring {:.1} s",
            if plan.rates.len() > 1 {
                format!("step {}/{}:", n + 1, plan.rates.len())
            } else {
                "ping".to_owned()
            },
            warmup.as_secs_f64(),
            duration.as_secs_f64()
        );
        let config = StepConfig {
            rate,
            warmup,
            duration,
            ack_timeout,
            server_pid: pid,
            seed: n as u64,
            announce: n == 0,
        };
        let (next, result) = step::run(fleet, config).await;
        fleet = next;
        let label = if plan.rates.len() > 1 {
            format!("{} @{rate}/s", args.label)
        } else {
            args.label.clone()
        };
        let report = step_report(args, &setup, rate, result, label, &connect_errors);
        println!("{}", report.render());
        let kept_up = ramp::sustained(&report, args.p99_bound_ms);
        reports.push(report);
        if plan.rates.len() > 1 && !kept_up {
            eprintln!("rodando-loadgen: step {rate}/s did not keep up; stopping the search");
            break;
        }
    }

    let mut closing = JoinSet::new();
    for o in fleet.drivers.into_iter().chain(fleet.admins) {
        closing.spawn(o.client.close());
    }
    while closing.join_next().await.is_some() {}

    let json = if plan.rates.len() > 1 {
        let ramp = RampReport::new(args.label.clone(), args.p99_bound_ms, reports);
        println!("{}", ramp.render());
        serde_json::to_string_pretty(&ramp)
    } else {
        match reports.first() {
            Some(report) => serde_json::to_string_pretty(report),
            None => return Err("no step ran".to_owned()),
        }
    };
    if let Some(path) = &args.json {
        let text = json.map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("rodando-loadgen: report written to {}", path.display());
    }

    let wanted = args.drivers + args.admins;
    #[allow(clippy::cast_precision_loss)]
    let share = sockets as f64 / wanted as f64;
    if share < MIN_CONNECTED_SHARE {
        eprintln!(
            "rodando-loadgen: FAILED: only {sockets} of {wanted} sockets connected ({:.1} %, need {:.0} %)",
            share * 100.0,
            MIN_CONNECTED_SHARE * 100.0
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
