//! `rodando-sim`: the command line of the city simulator (see the library docs).

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use rodando_sim::config::{SimConfig, Users};
use rodando_sim::geo::BBox;
use rodando_sim::report::Progress;

/// City simulator for Rodando Realtime: simulated drivers and passengers over the public REST +
/// Socket.IO contract, with a live summary and a final report.
///
/// Users: by default it logs in as existing users — the embedded store's demo users
/// (driver1..3, passenger1..2; start the server with SEED_DEMO_DRIVERS=N for drivers 4..N+3 and
/// SEED_DEMO_PASSENGERS=M for passengers 3..M+2).
/// With --create-users (server on PostgreSQL, DATABASE_URL set here too) the users that cannot
/// log in are created first with `rodando-server users create`.
///
/// Time: --duration is simulated; --speed 5 runs 10 simulated minutes in 2 real ones. Driving,
/// pings, thinking and boarding follow simulated time; the server's offer TTL stays real.
#[derive(Debug, Parser)]
#[command(name = "rodando-sim", version, about, long_about)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Simulated drivers.
    #[arg(long, default_value_t = 20)]
    drivers: usize,
    /// Simulated passengers (one open trip each at most).
    #[arg(long, default_value_t = 2)]
    passengers: usize,
    /// Simulated duration, e.g. 10m.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// The city: south,west,north,east in degrees (default: Havana).
    #[arg(long, default_value_t = BBox::HAVANA, allow_hyphen_values = true)]
    bbox: BBox,
    /// Trips requested per simulated minute, over all passengers.
    #[arg(long, default_value_t = 6.0)]
    trip_rate: f64,
    /// Trip length range in km, MIN-MAX.
    #[arg(long, default_value = "1-6", value_parser = parse_km_range)]
    trip_km: (f64, f64),
    /// Driving speed, km/h.
    #[arg(long, default_value_t = 30.0)]
    driving_kph: f64,
    /// Simulated time between two location pings of a driver.
    #[arg(long, default_value = "4s", value_parser = humantime::parse_duration)]
    ping_interval: Duration,
    /// Probability that a driver accepts an offer.
    #[arg(long, default_value_t = 0.85)]
    accept: f64,
    /// Probability that a driver rejects an offer (the rest are left to expire).
    #[arg(long, default_value_t = 0.10)]
    reject: f64,
    /// Simulated time a driver thinks before answering an offer.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    think: Duration,
    /// Simulated time between arriving at the pickup and starting the ride.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    boarding: Duration,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Driver e-mails; {i} becomes 1..=--drivers.
    #[arg(long, default_value = "driver{i}@rodando.local")]
    driver_email: String,
    /// Passenger e-mails; {i} becomes 1..=--passengers.
    #[arg(long, default_value = "passenger{i}@rodando.local")]
    passenger_email: String,
    /// Password of every simulated user.
    #[arg(long, default_value = "rodando123")]
    password: String,
    /// Create the users that cannot log in (server on PostgreSQL; needs DATABASE_URL).
    #[arg(long)]
    create_users: bool,
    /// The rodando-server binary for --create-users (default: next to this one, else on PATH).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Logins and handshakes in flight at once.
    #[arg(long, default_value_t = 16)]
    connect_concurrency: usize,
    /// Wait this long for the server's /health before starting (e.g. 60s when starting both).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    wait_for_server: Duration,
    /// Live summary: a refreshing line on a terminal (`auto`), lines, JSON lines, or nothing.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// Print the final report as JSON (on stdout) instead of text.
    #[arg(long)]
    json: bool,
}

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProgressMode {
    /// A refreshing line on a terminal, else a line every 10 seconds.
    Auto,
    /// A line every second.
    Line,
    /// A JSON object every second (`{"type":"progress",...}`), on stderr.
    Json,
    /// Nothing.
    Off,
}

fn parse_km_range(s: &str) -> Result<(f64, f64), String> {
    let (min, max) = s
        .split_once('-')
        .ok_or_else(|| format!("expected MIN-MAX in km, got {s:?}"))?;
    let min: f64 = min.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    let max: f64 = max.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    Ok((min, max))
}

fn server_bin(explicit: Option<PathBuf>) -> PathBuf {
    explicit.unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("rodando-server")))
            .filter(|path| path.exists())
            .unwrap_or_else(|| PathBuf::from("rodando-server"))
    })
}

fn config(args: Args) -> (SimConfig, ProgressMode, bool, Duration) {
    let mut config = SimConfig::new(args.url);
    config.drivers = args.drivers;
    config.passengers = args.passengers;
    config.duration = args.duration;
    config.speed = args.speed;
    config.bbox = args.bbox;
    config.trip_rate_per_min = args.trip_rate;
    config.trip_min_m = args.trip_km.0 * 1000.0;
    config.trip_max_m = args.trip_km.1 * 1000.0;
    config.driving_kph = args.driving_kph;
    config.ping_interval = args.ping_interval;
    config.accept_probability = args.accept;
    config.reject_probability = args.reject;
    config.think_time = args.think;
    config.boarding_time = args.boarding;
    config.seed = args.seed;
    config.driver_email = args.driver_email;
    config.passenger_email = args.passenger_email;
    config.password = args.password;
    config.connect_concurrency = args.connect_concurrency;
    if args.create_users {
        config.users = Users::Create {
            server_bin: server_bin(args.server_bin),
        };
    }
    (config, args.progress, args.json, args.wait_for_server)
}

/// Polls `GET /health` until it answers 200 or `patience` has passed.
async fn wait_for_server(url: &str, patience: Duration) -> Result<(), String> {
    let health = format!("{}/health", url.trim_end_matches('/'));
    let deadline = tokio::time::Instant::now() + patience;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    loop {
        if let Ok(response) = http.get(&health).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("{health} did not answer within {patience:?}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Ctrl-C or SIGTERM: end the run early, still winding down cleanly.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Prints progress as chosen.
struct Printer {
    mode: ProgressMode,
    terminal: bool,
    ticks: u64,
}

impl Printer {
    fn print(&mut self, progress: &Progress) {
        let mut err = std::io::stderr().lock();
        self.ticks += 1;
        let _ = match (self.mode, self.terminal) {
            (ProgressMode::Off, _) => Ok(()),
            (ProgressMode::Json, _) => {
                let mut value = serde_json::to_value(progress).unwrap_or_default();
                value["type"] = "progress".into();
                writeln!(err, "{value}")
            }
            (ProgressMode::Auto, true) => write!(err, "\r\x1b[2K{}", progress.line()),
            (ProgressMode::Auto, false) if self.ticks % 10 != 1 => Ok(()),
            (ProgressMode::Auto | ProgressMode::Line, _) => writeln!(err, "{}", progress.line()),
        };
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.mode == ProgressMode::Auto && self.terminal {
            eprintln!();
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let (config, mode, json, wait) = config(Args::parse());
    if let Err(e) = config.validate() {
        eprintln!("rodando-sim: {e}");
        return ExitCode::from(2);
    }
    if !wait.is_zero()
        && let Err(e) = wait_for_server(&config.url, wait).await
    {
        eprintln!("rodando-sim: {e}");
        return ExitCode::from(2);
    }
    let mut printer = Printer {
        mode,
        terminal: std::io::stderr().is_terminal(),
        ticks: 0,
    };
    if mode != ProgressMode::Off && mode != ProgressMode::Json {
        eprintln!(
            "rodando-sim: {} drivers, {} passengers, {:?} simulated at x{} against {}",
            config.drivers, config.passengers, config.duration, config.speed, config.url
        );
    }
    let outcome = rodando_sim::run(config, |p| printer.print(p), interrupted()).await;
    printer.finish();
    match outcome {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                print!("{}", report.text());
            }
            if report.errors.count > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("rodando-sim: {e}");
            ExitCode::from(2)
        }
    }
}
