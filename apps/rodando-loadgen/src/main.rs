//! # rodando-loadgen
//!
//! Opens `--drivers` driver sockets on `/drivers` and `--admins` admin sockets on `/admin` in one
//! process, has every driver ping its position at `--rate` (or at each rate of `--steps` in
//! turn) with an ack, and measures handshake latency, ping→ack latency, ping→admin delivery
//! latency (each ping's coordinates carry a unique marker the server echoes in
//! `driver:location:update`), errors, and, given `--server-pid`, the server's RSS and CPU.
//! Bounded in sockets and time; loopback by default. See `docs/benchmarks.md`.

mod campaign;
mod dispatch;
mod geo;
mod procfs;
mod ramp;
mod report;
mod run;
mod sources;
mod step;
mod tokens;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

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
    /// Dispatch benchmark instead of the ping load: this many passengers (`--passenger-email`)
    /// each request one trip over REST while the drivers accept every offer at once; reports
    /// request → first offer and request → assigned (see `dispatch.rs`). 0: the ping load.
    #[arg(long, default_value_t = 0)]
    trips: usize,
    /// --trips: requests per second (open loop).
    #[arg(long, default_value_t = 50.0)]
    trip_rate: f64,
    /// --trips: passenger e-mail; `{i}` is replaced by 1..=--trips (the demo store has 2;
    /// `SEED_DEMO_PASSENGERS` adds more).
    #[arg(long, default_value = "passenger{i}@rodando.local")]
    passenger_email: String,
    /// --trips: seconds between a driver's location pings (sent without an ack).
    #[arg(long, default_value_t = 4.0)]
    ping_every: f64,
    /// --trips: seconds between the last driver going AVAILABLE and the first request.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// --trips: seconds to wait after the last request for the trips still unassigned.
    #[arg(long, default_value_t = 10.0)]
    drain: f64,
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
    if args.trips > 0 {
        return dispatch::run(&args)
            .await
            .unwrap_or_else(|message| fail(&message));
    }
    let tokens = match tokens::tokens_for(&args).await {
        Ok(t) => t,
        Err(message) => return fail(&message),
    };
    let code = campaign::run(&args, &plan, tokens).await;
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
