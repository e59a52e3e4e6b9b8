//! # rodando-loadgen
//!
//! Opens `--drivers` driver sockets on `/drivers` and `--admins` admin sockets on `/admin` in one
//! process, has every driver ping its position at `--rate` with an ack, and measures handshake
//! latency, ping→ack latency, ping→admin delivery latency (each ping's coordinates carry a unique
//! marker the server echoes in `driver:location:update`), errors, and, given `--server-pid`, the
//! server's RSS and CPU. Bounded in sockets and time; loopback by default. See
//! `docs/benchmarks.md`.

mod geo;
mod procfs;
mod report;
mod run;
mod stats;
mod tokens;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use jsonwebtoken::EncodingKey;
use time::OffsetDateTime;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::report::{ProcessStats, Report};
use crate::run::{Errors, Opened, Phase, Shared, count};
use crate::stats::Samples;
use crate::tokens::Identity;

/// Fewer admitted sockets than this share of those asked for fails the run.
const MIN_CONNECTED_SHARE: f64 = 0.95;
/// After the drivers stop, admins keep listening this long for trailing (coalesced) updates.
const DRAIN_GRACE: Duration = Duration::from_secs(1);
/// Driver logins in flight at once (`--driver-users`).
const LOGIN_CONCURRENCY: usize = 8;

/// Load generator for Rodando Realtime.
///
/// Tokens come from one of two places. `--login` (the default): logs in through
/// `POST /api/auth/login` as `--driver-email` (drivers) and `--admin-email` (admins) and reuses
/// those tokens for every socket; the server must then run with MAX_CONNECTIONS_PER_USER at least
/// the number of sockets per user (e.g. MAX_CONNECTIONS_PER_USER=100000). `--secret`: mints HS256
/// access tokens for a distinct random user and session per socket; only a server that checks just
/// the signature accepts them (the Node baseline) — rodando-server refuses unknown users and
/// sessions (`user_not_found`).
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
    /// Measured window, seconds.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Pinging before the measured window, seconds (not counted).
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
    /// Driver e-mail for --login; `{i}` is replaced by 1..=--driver-users.
    #[arg(long, default_value = "driver{i}@rodando.local")]
    driver_email: String,
    /// Distinct driver users for --login, assigned to sockets round-robin (the demo store has 3).
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

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(message) = validate(&args) {
        return fail(&message);
    }
    let (drivers, admins, mode, identities) = match tokens_for(&args).await {
        Ok(t) => t,
        Err(message) => return fail(&message),
    };
    let code = run(&args, &drivers, &admins, mode, identities).await;
    code.unwrap_or_else(|message| fail(&message))
}

fn validate(args: &Args) -> Result<(), String> {
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
    ] {
        if !(v > 0.0 && v <= 86_400.0) {
            return Err(format!("{name} must be in (0, 86400] seconds"));
        }
    }
    if !(0.0..=86_400.0).contains(&args.warmup) {
        return Err("--warmup must be in [0, 86400] seconds".into());
    }
    if args.connect_concurrency == 0 {
        return Err("--connect-concurrency must be at least 1".into());
    }
    if args.driver_users == 0 || (args.driver_users > 1 && !args.driver_email.contains("{i}")) {
        return Err("--driver-users > 1 needs `{i}` in --driver-email".into());
    }
    Ok(())
}

/// One token per driver socket and per admin socket, the mode's name, and the number of
/// distinct driver identities.
async fn tokens_for(
    args: &Args,
) -> Result<(Vec<Identity>, Vec<Identity>, &'static str, usize), String> {
    if let Some(secret) = &args.secret {
        let key = EncodingKey::from_secret(secret.as_bytes());
        let ttl = Duration::from_secs_f64(args.warmup + args.duration) + Duration::from_secs(3600);
        let mint =
            |user_type| tokens::mint(&key, &args.issuer, user_type, ttl).map_err(|e| e.to_string());
        let drivers = (0..args.drivers)
            .map(|_| mint("driver"))
            .collect::<Result<Vec<_>, _>>()?;
        let admins = (0..args.admins)
            .map(|_| mint("admin"))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok((drivers, admins, "secret", args.drivers));
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    // Logins cost the server a password hash each: a few at a time.
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
    let drivers = (0..args.drivers)
        .filter_map(|i| users.get(i % users.len()).cloned())
        .collect();
    let admins = if args.admins == 0 {
        Vec::new()
    } else {
        let admin = tokens::login(
            &http,
            &args.url,
            &args.admin_email,
            &args.password,
            "admin_panel",
        )
        .await
        .map_err(|e| e.to_string())?;
        vec![admin; args.admins]
    };
    Ok((drivers, admins, "login", args.driver_users))
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

/// Opens every socket of `namespace`, `concurrency` handshakes at a time, in index order
/// `first..first + tokens.len()`.
async fn open_all(
    url: &str,
    namespace: &'static str,
    tokens: &[Identity],
    first: usize,
    limit: &Arc<Semaphore>,
    timeout: Duration,
    errors: &mut Errors,
) -> Vec<(usize, Opened)> {
    let mut set = JoinSet::new();
    for (i, identity) in tokens.iter().enumerate() {
        let (url, token, limit) = (url.to_owned(), identity.token.clone(), Arc::clone(limit));
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (first + i, run::open(&url, namespace, &token, timeout).await)
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
    opened
}

#[allow(clippy::too_many_lines)]
async fn run(
    args: &Args,
    driver_tokens: &[Identity],
    admin_tokens: &[Identity],
    mode: &'static str,
    identities: usize,
) -> Result<ExitCode, String> {
    let period = Duration::from_secs_f64(1.0 / args.rate);
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

    let per_identity = args.drivers.div_ceil(identities);
    if mode == "login" {
        #[allow(clippy::cast_precision_loss)]
        let fanout = args.drivers as f64 * args.rate * per_identity as f64;
        eprintln!(
            "rodando-loadgen: --login: {} driver sockets share {identities} driver identit{} ({per_identity} sockets each) and {} admin sockets share one admin; \
             the server needs MAX_CONNECTIONS_PER_USER >= {}.",
            args.drivers,
            if identities == 1 { "y" } else { "ies" },
            args.admins,
            per_identity.max(args.admins),
        );
        if per_identity > 1 {
            eprintln!(
                "rodando-loadgen: note: every ping is echoed to every socket of its driver's room (~{fanout:.0} driver-room messages/s), \
                 and admins get at most 2 location updates/s per driver identity (coalescing), so most pings never reach an admin. \
                 Realistic fan-out needs distinct users (see docs/benchmarks.md)."
            );
        }
    }
    check_expiry(
        driver_tokens.iter().chain(admin_tokens),
        connect_timeout + warmup + duration + Duration::from_secs(30),
    );

    let mut errors = Errors::new();
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
        "rodando-loadgen: connecting {} admins and {} drivers to {} ({} at a time)",
        args.admins, args.drivers, args.url, args.connect_concurrency
    );
    let limit = Arc::new(Semaphore::new(args.connect_concurrency));
    let connect_started = Instant::now();
    let admins = open_all(
        &args.url,
        "/admin",
        admin_tokens,
        args.drivers,
        &limit,
        connect_timeout,
        &mut errors,
    )
    .await;
    let drivers = open_all(
        &args.url,
        "/drivers",
        driver_tokens,
        0,
        &limit,
        connect_timeout,
        &mut errors,
    )
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
    if let Some(refused) = errors.get("connect_refused:too_many_connections") {
        eprintln!(
            "rodando-loadgen: error: {refused} connections were refused with too_many_connections: \
             restart the server with MAX_CONNECTIONS_PER_USER={} or more (in --login mode every socket of a kind shares one user)",
            per_identity.max(args.admins)
        );
    }
    let (warmup, duration) = if drivers_connected == 0 {
        eprintln!("rodando-loadgen: no driver socket was admitted; skipping the ping phase");
        (Duration::ZERO, Duration::ZERO)
    } else {
        (warmup, duration)
    };
    if mode == "secret" && errors.contains_key("connect_refused:user_not_found") {
        eprintln!(
            "rodando-loadgen: error: the server does not know the minted users: rodando-server checks users and \
             sessions in its store, so --secret only works against a signature-only server (the Node baseline); use --login"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
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
    for (_, o) in &drivers {
        handshakes.record(o.handshake);
        driver_ids.insert(Arc::clone(&o.user_id));
    }

    // Run.
    let shared = Arc::new(Shared::new(admins_connected, ack_timeout));
    let (driver_phase, driver_rx) = watch::channel(Phase::Warmup);
    let (admin_phase, admin_rx) = watch::channel(Phase::Warmup);
    let mut admin_tasks = JoinSet::new();
    for (_, opened) in admins {
        admin_tasks.spawn(run::watch_fleet(
            opened,
            Arc::clone(&shared),
            admin_rx.clone(),
        ));
    }
    let mut driver_tasks = JoinSet::new();
    for (i, opened) in drivers {
        driver_tasks.spawn(run::drive(
            opened,
            i as u64,
            period,
            Arc::clone(&shared),
            driver_rx.clone(),
        ));
    }
    let purger = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                shared.purge(Duration::from_secs(10));
            }
        })
    };
    eprintln!(
        "rodando-loadgen: warmup {:.1} s, then measuring {:.1} s",
        warmup.as_secs_f64(),
        duration.as_secs_f64()
    );
    tokio::time::sleep(warmup).await;
    let cpu_before = (
        pid.and_then(|p| procfs::read_cpu_ticks(Some(p))),
        procfs::read_cpu_ticks(None),
    );
    let measure_started = Instant::now();
    driver_phase.send_replace(Phase::Measure);
    admin_phase.send_replace(Phase::Measure);
    tokio::time::sleep(duration).await;
    let measured_wall = measure_started.elapsed();
    let cpu_after = (
        pid.and_then(|p| procfs::read_cpu_ticks(Some(p))),
        procfs::read_cpu_ticks(None),
    );
    driver_phase.send_replace(Phase::Stop);

    // Stop: drivers finish their ping in flight, admins get a moment for trailing updates.
    let mut clients = Vec::with_capacity(sockets);
    let (mut sent, mut acked, mut room_events) = (0, 0, 0);
    let mut ack_latency = Samples::default();
    while let Some(joined) = driver_tasks.join_next().await {
        match joined {
            Ok(o) => {
                sent += o.sent;
                acked += o.acked;
                room_events += o.room_events;
                ack_latency.merge(o.acks);
                merge_errors(&mut errors, o.errors);
                clients.push((true, o.client));
            }
            Err(e) => count(&mut errors, format!("task_failed:{e}")),
        }
    }
    tokio::time::sleep(DRAIN_GRACE).await;
    admin_phase.send_replace(Phase::Stop);
    let mut deliveries = Samples::default();
    let mut location_updates = 0;
    while let Some(joined) = admin_tasks.join_next().await {
        match joined {
            Ok(o) => {
                location_updates += o.location_updates;
                deliveries.merge(o.deliveries);
                merge_errors(&mut errors, o.errors);
                clients.push((false, o.client));
            }
            Err(e) => count(&mut errors, format!("task_failed:{e}")),
        }
    }
    purger.abort();

    if let Some(s) = server.as_mut() {
        s.rss_end_kb = procfs::read_rss_kb(pid);
        s.cpu_percent = cpu_before
            .0
            .zip(cpu_after.0)
            .and_then(|(b, a)| procfs::cpu_percent(b, a, measured_wall));
    }
    me.rss_end_kb = procfs::read_rss_kb(None);
    me.cpu_percent = cpu_before
        .1
        .zip(cpu_after.1)
        .and_then(|(b, a)| procfs::cpu_percent(b, a, measured_wall));
    let drivers_held = clients
        .iter()
        .filter(|(d, c)| *d && c.is_connected())
        .count();
    let admins_held = clients
        .iter()
        .filter(|(d, c)| !*d && c.is_connected())
        .count();

    let mut closing = JoinSet::new();
    for (_, client) in clients {
        closing.spawn(client.close());
    }
    while closing.join_next().await.is_some() {}

    let first = shared.take_first_admin();
    let report = Report {
        label: args.label.clone(),
        url: args.url.clone(),
        token_mode: mode.to_owned(),
        driver_identities: driver_ids.len(),
        drivers_requested: args.drivers,
        admins_requested: args.admins,
        rate_per_driver: args.rate,
        warmup_s: args.warmup,
        duration_s: args.duration,
        drivers_connected,
        admins_connected,
        drivers_held_at_end: drivers_held,
        admins_held_at_end: admins_held,
        connect_phase_s: connect_phase.as_secs_f64(),
        handshake: handshakes.summary(),
        pings_sent: sent,
        pings_acked: acked,
        #[allow(clippy::cast_precision_loss)]
        acked_pings_per_s: if measured_wall.is_zero() {
            0.0
        } else {
            acked as f64 / measured_wall.as_secs_f64()
        },
        ack_latency: ack_latency.summary(),
        delivery_first_admin: first.samples.summary(),
        delivery_all_admins: deliveries.summary(),
        pings_never_seen_by_admin: (admins_connected > 0)
            .then(|| acked.saturating_sub(first.seen_measured)),
        admin_location_updates: location_updates,
        admin_unmatched_updates: first.unmatched,
        driver_room_events: room_events,
        errors,
        server,
        loadgen: me,
    };
    println!("{}", report.render());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
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

fn merge_errors(into: &mut Errors, from: Errors) {
    for (kind, n) in from {
        *into.entry(kind).or_default() += n;
    }
}
