//! # rodando-loadgen
//!
//! Opens `--drivers` driver sockets on `/drivers` and `--admins` admin sockets on `/admin` in one
//! process, has every driver ping its position at `--rate` (or at each rate of `--steps` in
//! turn) with an ack, and measures handshake latency, ping→ack latency, ping→admin delivery
//! latency (each ping's coordinates carry a unique marker the server echoes in
//! `driver:location:update`), errors, and, given `--server-pid`, the server's RSS and CPU.
//! Bounded in sockets and time; loopback by default. See `docs/benchmarks.md`.

mod geo;
mod procfs;
mod ramp;
mod report;
mod run;
mod sources;
mod stats;
mod step;
mod tokens;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use jsonwebtoken::EncodingKey;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::ramp::RampReport;
use crate::report::{ProcessStats, Report};
use crate::run::{Errors, Opened, count};
use crate::stats::Samples;
use crate::step::{Fleet, StepConfig, StepResult, merge_errors};
use crate::tokens::{Identity, StoredToken, TokenFile};

/// Fewer admitted sockets than this share of those asked for fails the run.
const MIN_CONNECTED_SHARE: f64 = 0.95;
/// Driver logins in flight at once (`--driver-users`).
const LOGIN_CONCURRENCY: usize = 8;
/// File descriptors the process needs besides its sockets.
const SPARE_FDS: u64 = 64;

/// Load generator for Rodando Realtime.
///
/// Tokens come from one of two places. `--login` (the default): logs in through
/// `POST /api/auth/login` as `--driver-users` driver users (`--driver-email`) and one admin
/// (`--admin-email`) and spreads the sockets over them round-robin; the server must then run with
/// MAX_CONNECTIONS_PER_USER at least the number of sockets per user. `--tokens-file` keeps those
/// tokens for the next run against the same server. `--secret`: mints HS256 access tokens for
/// `--driver-users` random driver users (same round-robin) and one random admin per admin socket;
/// only a server that checks just the signature accepts them (the Node baseline) — rodando-server
/// refuses unknown users and sessions (`user_not_found`).
#[derive(Debug, Parser)]
#[command(name = "rodando-loadgen", version, about, long_about)]
#[allow(clippy::struct_excessive_bools)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Driver sockets (on /drivers).
    #[arg(long, default_value_t = 1000)]
    drivers: usize,
    /// Admin sockets (on /admin); they only receive.
    #[arg(long, default_value_t = 10)]
    admins: usize,
    /// Location pings per second per driver socket.
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Saturation search: run one step per listed rate (pings/s per driver, increasing, e.g.
    /// `1,2,4,8`) with the same sockets, stopping after the first step that does not keep up.
    #[arg(long, conflicts_with = "rate")]
    steps: Option<String>,
    /// For --steps: a step keeps up when ping→ack p99 is at most this many ms and ≥ 95 % of the
    /// offered pings were acked.
    #[arg(long, default_value_t = 20.0)]
    p99_bound_ms: f64,
    /// Measured window (of each step), seconds.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Pinging before the measured window (of each step), seconds (not counted).
    #[arg(long, default_value_t = 5.0)]
    warmup: f64,
    /// Handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 50)]
    connect_concurrency: usize,
    /// Deadline of one handshake (connect to `hello`), seconds.
    #[arg(long, default_value_t = 10.0)]
    connect_timeout: f64,
    /// Deadline of one ack, seconds.
    #[arg(long, default_value_t = 5.0)]
    ack_timeout: f64,
    /// Source IPs to spread the sockets over, round-robin: a comma list with last-octet ranges,
    /// e.g. `127.0.0.1-127.0.0.4`. One source IP has ~28k ports towards one server address.
    #[arg(long)]
    source_ips: Option<String>,
    /// The server's process id: adds its RSS, bytes per socket and CPU to the report.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Name of this run, printed in the report.
    #[arg(long, default_value = "rodando")]
    label: String,
    /// Log in through the REST API (the default; see above).
    #[arg(long, conflicts_with = "secret")]
    login: bool,
    /// --login: read the tokens from this file if it fits the run (same URL, enough users),
    /// else log in and write them there.
    #[arg(long, conflicts_with = "secret")]
    tokens_file: Option<PathBuf>,
    /// Driver e-mail for --login; `{i}` is replaced by 1..=--driver-users.
    #[arg(long, default_value = "driver{i}@rodando.local")]
    driver_email: String,
    /// Distinct driver users (logged in or minted), assigned to sockets round-robin (the demo
    /// store has 3; `SEED_DEMO_DRIVERS` adds more).
    #[arg(long, default_value_t = 1)]
    driver_users: usize,
    /// Admin e-mail for --login.
    #[arg(long, default_value = "admin@rodando.local")]
    admin_email: String,
    /// Password of the --login users.
    #[arg(long, default_value = "rodando123")]
    password: String,
    /// Mint tokens with this HS256 access secret instead of logging in (Node baseline only: the
    /// Rust server refuses users and sessions it does not know).
    #[arg(long, env = "LOADGEN_JWT_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// `iss` of minted tokens.
    #[arg(long, default_value = "rodando", requires = "secret")]
    issuer: String,
}

fn fail(message: &str) -> ExitCode {
    eprintln!("rodando-loadgen: {message}");
    ExitCode::from(2)
}

/// What the arguments resolve to before any network traffic.
struct Plan {
    rates: Vec<f64>,
    sources: Vec<IpAddr>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let plan = match validate(&args) {
        Ok(plan) => plan,
        Err(message) => return fail(&message),
    };
    let tokens = match tokens_for(&args).await {
        Ok(t) => t,
        Err(message) => return fail(&message),
    };
    let code = run(&args, &plan, tokens).await;
    code.unwrap_or_else(|message| fail(&message))
}

fn validate(args: &Args) -> Result<Plan, String> {
    if args.drivers == 0 {
        return Err("--drivers must be at least 1".into());
    }
    if !(args.rate > 0.0 && args.rate <= 1000.0) {
        return Err("--rate must be in (0, 1000]".into());
    }
    for (name, v) in [
        ("--duration", args.duration),
        ("--connect-timeout", args.connect_timeout),
        ("--ack-timeout", args.ack_timeout),
        ("--p99-bound-ms", args.p99_bound_ms),
    ] {
        if !(v > 0.0 && v <= 86_400.0) {
            return Err(format!("{name} must be in (0, 86400]"));
        }
    }
    if !(0.0..=86_400.0).contains(&args.warmup) {
        return Err("--warmup must be in [0, 86400] seconds".into());
    }
    if args.connect_concurrency == 0 {
        return Err("--connect-concurrency must be at least 1".into());
    }
    if args.driver_users == 0 {
        return Err("--driver-users must be at least 1".into());
    }
    if args.secret.is_none() && args.driver_users > 1 && !args.driver_email.contains("{i}") {
        return Err("--driver-users > 1 needs `{i}` in --driver-email".into());
    }
    let sockets = (args.drivers + args.admins) as u64;
    if let Some(limit) = procfs::open_files_limit()
        && sockets + SPARE_FDS > limit
    {
        return Err(format!(
            "{sockets} sockets need about {} open files but this process may open {limit}: raise `ulimit -n` (the server needs as many)",
            sockets + SPARE_FDS
        ));
    }
    let rates = match &args.steps {
        Some(list) => ramp::parse_steps(list)?,
        None => vec![args.rate],
    };
    let sources = match &args.source_ips {
        Some(list) => sources::parse(list)?,
        None => Vec::new(),
    };
    Ok(Plan { rates, sources })
}

/// The sockets' tokens and where they came from.
struct Tokens {
    drivers: Vec<Identity>,
    admins: Vec<Identity>,
    /// `login`, `login-cached` or `secret`.
    mode: &'static str,
    /// Distinct driver users.
    identities: usize,
}

/// `users` spread over `sockets` round-robin.
fn round_robin(users: &[Identity], sockets: usize) -> Vec<Identity> {
    (0..sockets)
        .filter_map(|i| users.get(i % users.len().max(1)).cloned())
        .collect()
}

async fn tokens_for(args: &Args) -> Result<Tokens, String> {
    if let Some(secret) = &args.secret {
        let key = EncodingKey::from_secret(secret.as_bytes());
        let ttl = Duration::from_secs_f64(args.warmup + args.duration) + Duration::from_secs(3600);
        let mint =
            |user_type| tokens::mint(&key, &args.issuer, user_type, ttl).map_err(|e| e.to_string());
        let users = (0..args.driver_users.min(args.drivers))
            .map(|_| mint("driver"))
            .collect::<Result<Vec<_>, _>>()?;
        let admins = (0..args.admins)
            .map(|_| mint("admin"))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Tokens {
            drivers: round_robin(&users, args.drivers),
            admins,
            mode: "secret",
            identities: users.len(),
        });
    }
    let cached = match &args.tokens_file {
        Some(path) => TokenFile::load(path).map_err(|e| e.to_string())?,
        None => None,
    };
    if let (Some(path), Some(file)) = (&args.tokens_file, cached) {
        match file.fits(&args.url, args.driver_users, args.admins > 0) {
            Ok(()) => {
                let users: Vec<Identity> = file
                    .drivers
                    .into_iter()
                    .take(args.driver_users)
                    .map(Identity::from)
                    .collect();
                let admin = file.admin.map(Identity::from);
                eprintln!(
                    "rodando-loadgen: {} driver tokens read from {}",
                    users.len(),
                    path.display()
                );
                return Ok(Tokens {
                    drivers: round_robin(&users, args.drivers),
                    admins: admin.map(|a| vec![a; args.admins]).unwrap_or_default(),
                    mode: "login-cached",
                    identities: users.len(),
                });
            }
            Err(why) => eprintln!(
                "rodando-loadgen: {} does not fit this run ({why}); logging in",
                path.display()
            ),
        }
    }
    let (users, admin) = login_all(args).await?;
    if let Some(path) = &args.tokens_file {
        let file = TokenFile {
            url: args.url.clone(),
            drivers: users.iter().map(StoredToken::from).collect(),
            admin: admin.as_ref().map(StoredToken::from),
        };
        file.save(path).map_err(|e| e.to_string())?;
    }
    Ok(Tokens {
        drivers: round_robin(&users, args.drivers),
        admins: admin.map(|a| vec![a; args.admins]).unwrap_or_default(),
        mode: "login",
        identities: users.len(),
    })
}

/// Logs every driver user in (a few at a time: each costs the server a password hash) and the
/// admin if admins are wanted.
async fn login_all(args: &Args) -> Result<(Vec<Identity>, Option<Identity>), String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let started = Instant::now();
    let limit = Arc::new(Semaphore::new(LOGIN_CONCURRENCY));
    let mut logins = JoinSet::new();
    for n in 1..=args.driver_users {
        let email = args.driver_email.replace("{i}", &n.to_string());
        let (http, url, password, limit) = (
            http.clone(),
            args.url.clone(),
            args.password.clone(),
            Arc::clone(&limit),
        );
        logins.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let identity = tokens::login(&http, &url, &email, &password, "driver_app").await;
            (n, identity)
        });
    }
    let mut users = Vec::with_capacity(args.driver_users);
    while let Some(joined) = logins.join_next().await {
        let (n, identity) = joined.map_err(|e| format!("login task failed: {e}"))?;
        users.push((n, identity.map_err(|e| e.to_string())?));
    }
    users.sort_by_key(|(n, _)| *n);
    let users: Vec<Identity> = users.into_iter().map(|(_, identity)| identity).collect();
    let admin = if args.admins == 0 {
        None
    } else {
        Some(
            tokens::login(
                &http,
                &args.url,
                &args.admin_email,
                &args.password,
                "admin_panel",
            )
            .await
            .map_err(|e| e.to_string())?,
        )
    };
    eprintln!(
        "rodando-loadgen: {} logins in {:.1} s",
        users.len() + usize::from(admin.is_some()),
        started.elapsed().as_secs_f64()
    );
    Ok((users, admin))
}

/// Warns when a token would expire before the run ends (the server then disconnects it).
fn check_expiry<'a>(identities: impl IntoIterator<Item = &'a Identity>, run_for: Duration) {
    let end = OffsetDateTime::now_utc() + run_for;
    if identities
        .into_iter()
        .any(|i| i.expires_at.is_some_and(|exp| exp < end))
    {
        eprintln!(
            "rodando-loadgen: warning: access tokens expire before the run ends; the server will \
             disconnect those sockets (raise JWT_ACCESS_TTL or shorten the run)"
        );
    }
}

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
    handshake: stats::Summary,
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
async fn run(args: &Args, plan: &Plan, tokens: Tokens) -> Result<ExitCode, String> {
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
    let drivers = connector
        .open_all("/drivers", &tokens.drivers, 0, &mut connect_errors)
        .await;
    let connect_phase = connect_started.elapsed();
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
    // Let the server settle (deferred frees, hello writes) before the memory reading.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let bytes_per_socket = |before: Option<u64>, after: Option<u64>| match (before, after) {
        #[allow(clippy::cast_precision_loss)]
        (Some(b), Some(a)) if sockets > 0 => Some((a as f64 - b as f64) * 1024.0 / sockets as f64),
        _ => None,
    };
    if let Some(s) = server.as_mut() {
        s.rss_connected_kb = procfs::read_rss_kb(pid);
        s.bytes_per_socket = bytes_per_socket(s.rss_before_kb, s.rss_connected_kb);
    }
    me.rss_connected_kb = procfs::read_rss_kb(None);
    me.bytes_per_socket = bytes_per_socket(me.rss_before_kb, me.rss_connected_kb);

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
