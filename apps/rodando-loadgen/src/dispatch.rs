//! `--trips N`: the dispatch latency benchmark. `--drivers` driver sockets go AVAILABLE and
//! ping a first position with an ack (`--connect-concurrency` drivers at a time), then keep pinging every `--ping-every` seconds (fire and forget,
//! so a socket is never busy waiting when an offer comes) and accept every
//! `trip:assignment:offered` at once with `driver:offer:accept`. Once every driver is ready and
//! `--settle` seconds have passed, `--trips` passengers each request one trip over REST
//! (`POST /api/trips`), open loop at `--trip-rate` per second (a slow answer delays no later
//! request), from a random pickup of the city to a random dropoff.
//!
//! Measured per trip, from just before its `POST` is sent: the `201` (request → created), the
//! first `trip:assignment:offered` any driver socket receives for it (request → first offer;
//! it may arrive before the `201`), and the ok ack of that driver's accept (request → assigned:
//! the assignment is committed when the accept is acked). All instants are this process's
//! monotonic clock.

use std::collections::{BTreeSet, HashMap};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand::Rng as _;
use rodando_sio_client::ClientError;
use rodando_toolkit::api::Api;
use rodando_toolkit::rng;
use rodando_toolkit::stats::{Samples, Summary};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::geo::{self, Walker};
use crate::run::{self, Errors, Opened, client_error_kind, count};
use crate::step::merge_errors;
use crate::tokens::{self, Identity};
use crate::{Args, procfs};

/// Passenger logins in flight at once (each costs the server a password hash).
const LOGIN_CONCURRENCY: usize = 8;
/// Deadline of one trip request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Fewer ready drivers than this share of those asked for fails the run.
const MIN_READY_SHARE: f64 = 0.95;

/// What happened to each trip, by trip id, as the sockets and requests saw it.
#[derive(Debug, Default)]
struct Trips {
    /// The POST of the trip was sent at this instant and answered `201` at the second.
    requested: HashMap<String, (Instant, Instant)>,
    /// The first offer of the trip received by a driver socket.
    first_offer: HashMap<String, Instant>,
    /// The accept of the trip's offer was acked `ok:true`.
    assigned: HashMap<String, Instant>,
    /// Offers received in all (a trip may be offered again after a failed accept).
    offers: u64,
}

/// State shared by every socket and request task.
#[derive(Debug)]
struct Shared {
    trips: Mutex<Trips>,
    /// Drivers that went AVAILABLE and had a first ping acked.
    ready: AtomicUsize,
    /// Drivers whose status update or first ping failed.
    gave_up: AtomicUsize,
    ack_timeout: Duration,
}

impl Shared {
    fn trips(&self) -> MutexGuard<'_, Trips> {
        self.trips.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The JSON (and text) report of one dispatch run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchReport {
    label: String,
    url: String,
    drivers_requested: usize,
    drivers_connected: usize,
    drivers_ready: usize,
    ping_every_s: f64,
    trips_requested: usize,
    trip_rate_per_s: f64,
    /// Requests answered `201`.
    trips_created: usize,
    /// Created trips some driver was offered.
    trips_offered: usize,
    /// Created trips whose offer was accepted (ack ok).
    trips_assigned: usize,
    offers_received: u64,
    /// The requests' schedule, first to last send (s).
    request_window_s: f64,
    login_s: f64,
    connect_s: f64,
    request_to_created: Summary,
    request_to_first_offer: Summary,
    request_to_assigned: Summary,
    /// Server CPU over the request window (and the drain after it), % of one core.
    server_cpu_percent: Option<f64>,
    loadgen_cpu_percent: Option<f64>,
    errors: Errors,
}

impl DispatchReport {
    fn render(&self) -> String {
        let line = |name: &str, s: &Summary| {
            let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
            format!(
                "  {name:<24} n={:<5} p50 {} ms  p90 {} ms  p99 {} ms  max {} ms\n",
                s.count,
                ms(s.p50_ms),
                ms(s.p90_ms),
                ms(s.p99_ms),
                ms(s.max_ms)
            )
        };
        let pct = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} %"));
        let mut out = format!(
            "== dispatch: {} ({}) ==\n\
             drivers: {} asked, {} connected, {} available with a position; a ping every {} s\n\
             trips: {} requested at {}/s over {:.1} s; {} created, {} offered, {} assigned ({} offers)\n\
             logins {:.1} s, connecting {:.1} s\n",
            self.label,
            self.url,
            self.drivers_requested,
            self.drivers_connected,
            self.drivers_ready,
            self.ping_every_s,
            self.trips_requested,
            self.trip_rate_per_s,
            self.request_window_s,
            self.trips_created,
            self.trips_offered,
            self.trips_assigned,
            self.offers_received,
            self.login_s,
            self.connect_s,
        );
        out += &line("request -> created (201)", &self.request_to_created);
        out += &line("request -> first offer", &self.request_to_first_offer);
        out += &line("request -> assigned", &self.request_to_assigned);
        out += &format!(
            "server CPU {}, loadgen CPU {} (request window)\n",
            pct(self.server_cpu_percent),
            pct(self.loadgen_cpu_percent)
        );
        if self.errors.is_empty() {
            out += "errors: none\n";
        } else {
            out += "errors:";
            for (kind, n) in &self.errors {
                out += &format!(" {kind}={n}");
            }
            out += "\n";
        }
        out
    }
}

/// Logs in `count` users of `email` (`{i}` = 1..=count) for `audience`, a few at a time.
async fn login_many(
    args: &Args,
    email: &str,
    count: usize,
    audience: &'static str,
) -> Result<Vec<Identity>, String> {
    let api = Api::with_timeout(&args.url, Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let limit = Arc::new(Semaphore::new(LOGIN_CONCURRENCY));
    let mut logins = JoinSet::new();
    for n in 1..=count {
        let email = email.replace("{i}", &n.to_string());
        let (api, password, limit) = (api.clone(), args.password.clone(), Arc::clone(&limit));
        logins.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let tokens = api.login(&email, &password, audience).await;
            (n, tokens.map(Identity::from))
        });
    }
    let mut users = Vec::with_capacity(count);
    while let Some(joined) = logins.join_next().await {
        let (n, identity) = joined.map_err(|e| format!("login task failed: {e}"))?;
        users.push((n, identity.map_err(|e| e.to_string())?));
    }
    users.sort_by_key(|(n, _)| *n);
    Ok(users.into_iter().map(|(_, identity)| identity).collect())
}

/// Opens every driver socket, `--connect-concurrency` at a time.
async fn open_drivers(args: &Args, tokens: &[Identity], errors: &mut Errors) -> Vec<Opened> {
    let limit = Arc::new(Semaphore::new(args.connect_concurrency));
    let sources = match &args.source_ips {
        Some(list) => crate::sources::parse(list).unwrap_or_default(),
        None => Vec::new(),
    };
    let timeout = Duration::from_secs_f64(args.connect_timeout);
    let mut set = JoinSet::new();
    for (i, identity) in tokens.iter().enumerate() {
        let (url, token, limit) = (args.url.clone(), identity.token.clone(), Arc::clone(&limit));
        let local = crate::sources::for_socket(&sources, i);
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            run::open(&url, "/drivers", &token, timeout, local).await
        });
    }
    let mut opened = Vec::with_capacity(tokens.len());
    let mut shown = BTreeSet::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(o)) => opened.push(o),
            Ok(Err((kind, detail))) => {
                if shown.insert(kind.clone()) {
                    eprintln!("rodando-loadgen: /drivers: {kind}: {detail}");
                }
                count(errors, kind);
            }
            Err(e) => count(errors, format!("task_failed:{e}")),
        }
    }
    opened
}

fn ack_failed(errors: &mut Errors, what: &str, result: &Result<Value, ClientError>) -> bool {
    match result {
        Ok(ack) if ack["ok"] == true => false,
        Ok(ack) => {
            let code = ack["error"]["code"].as_str().unwrap_or("malformed_ack");
            count(errors, format!("{what}_error:{code}"));
            true
        }
        Err(e) => {
            count(errors, format!("{what}_{}", client_error_kind(e)));
            true
        }
    }
}

/// What woke a driver's loop.
enum Woke {
    Tick,
    Event(
        Result<rodando_sio_client::ReceivedEvent, ClientError>,
        Instant,
    ),
}

/// One driver: AVAILABLE, a first ping acked, then pings without acks and accepts every offer
/// at once, until `stop`.
async fn drive(
    mut opened: Opened,
    seed: u64,
    ping_every: Duration,
    shared: Arc<Shared>,
    announcing: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) -> Errors {
    let mut errors = Errors::new();
    let client = &mut opened.client;
    // A bounded number of drivers announce at once, as they connected: 10k status updates in
    // the same instant would measure a thundering herd (on PostgreSQL they queue for the pool
    // past the ack deadline), not dispatch.
    let permit = announcing.acquire_owned().await;
    let status = run::go_available(client, shared.ack_timeout).await;
    if ack_failed(&mut errors, "status", &status) {
        shared.gave_up.fetch_add(1, Ordering::Relaxed);
        return errors;
    }
    let mut walker = Walker::new(seed);
    let (lat, lon) = walker.step(0.0);
    let first = run::ping_with_ack(client, (lat, lon), shared.ack_timeout).await;
    if ack_failed(&mut errors, "ping", &first) {
        shared.gave_up.fetch_add(1, Ordering::Relaxed);
        return errors;
    }
    drop(permit);
    shared.ready.fetch_add(1, Ordering::Relaxed);
    let jitter = ping_every.mul_f64(rng::stream(seed, 1).random());
    let mut ticks = tokio::time::interval_at(Instant::now() + jitter, ping_every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let woke = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            event = client.next_event(Duration::from_secs(3600)) => Woke::Event(event, Instant::now()),
            _ = ticks.tick() => Woke::Tick,
        };
        match woke {
            Woke::Tick => {
                let (lat, lon) = walker.step(ping_every.as_secs_f64());
                let ping = json!({ "latitude": lat, "longitude": lon });
                if let Err(e) = client.emit("driver:location:ping", ping).await {
                    count(&mut errors, format!("ping_{}", client_error_kind(&e)));
                    break;
                }
            }
            Woke::Event(Err(ClientError::Timeout), _) => {}
            Woke::Event(Err(e), _) => {
                count(&mut errors, format!("driver_{}", client_error_kind(&e)));
                break;
            }
            Woke::Event(Ok(event), at) => match event.name.as_str() {
                "trip:assignment:offered" => {
                    let data = event.data();
                    let trip = data["tripId"].as_str().unwrap_or_default().to_owned();
                    let assignment = data["assignmentId"].clone();
                    {
                        let mut trips = shared.trips();
                        trips.offers += 1;
                        trips.first_offer.entry(trip.clone()).or_insert(at);
                    }
                    let accept = client
                        .emit_with_ack(
                            "driver:offer:accept",
                            json!({ "assignmentId": assignment }),
                            shared.ack_timeout,
                        )
                        .await;
                    let acked = Instant::now();
                    if !ack_failed(&mut errors, "accept", &accept) {
                        shared.trips().assigned.entry(trip).or_insert(acked);
                    }
                }
                "exception" => {
                    let code = event.data()["code"].as_str().unwrap_or("?").to_owned();
                    count(&mut errors, format!("exception:{code}"));
                }
                _ => {}
            },
        }
    }
    errors
}

/// A random point of the city the drivers drive in.
fn city_point(rng: &mut rng::StdRng) -> Value {
    json!({
        "latitude": rng.random_range(geo::LAT_MIN..geo::LAT_MAX),
        "longitude": rng.random_range(geo::LON_MIN..geo::LON_MAX),
    })
}

/// `POST /api/trips` as `token`; the trip id of a `201`, else the error kind.
async fn request_trip(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> Result<String, String> {
    let response = http
        .post(format!("{}/api/trips", url.trim_end_matches('/')))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "request_timeout".to_owned()
            } else {
                "request_transport".to_owned()
            }
        })?;
    let status = response.status();
    let json: Value = response.json().await.unwrap_or(Value::Null);
    if status.as_u16() != 201 {
        let code = json["error"]["code"].as_str().unwrap_or("?");
        return Err(format!("request_http_{}:{code}", status.as_u16()));
    }
    json["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "request_no_trip_id".to_owned())
}

fn duration_between(from: Instant, to: Instant) -> Duration {
    to.saturating_duration_since(from)
}

/// The whole dispatch run; the exit code says whether it was complete.
pub async fn run(args: &Args) -> Result<ExitCode, String> {
    let trips = args.trips;
    if args.secret.is_some() {
        return Err("--trips needs --login: trips are requested by real passengers".into());
    }
    if !(args.trip_rate > 0.0 && args.trip_rate <= 10_000.0) {
        return Err("--trip-rate must be in (0, 10000]".into());
    }
    if !(args.ping_every > 0.0 && args.ping_every <= 3600.0) {
        return Err("--ping-every must be in (0, 3600] seconds".into());
    }
    let started = Instant::now();
    let tokens = tokens::tokens_for(args).await?;
    let passengers = login_many(args, &args.passenger_email, trips, "passenger_app").await?;
    let login_s = started.elapsed().as_secs_f64();
    eprintln!(
        "rodando-loadgen: {} driver and {} passenger logins in {login_s:.1} s",
        tokens.identities,
        passengers.len()
    );

    let mut errors = Errors::new();
    let connecting = Instant::now();
    let opened = open_drivers(args, &tokens.drivers, &mut errors).await;
    let connect_s = connecting.elapsed().as_secs_f64();
    let connected = opened.len();
    eprintln!(
        "rodando-loadgen: {connected} of {} driver sockets open in {connect_s:.1} s",
        args.drivers
    );

    let shared = Arc::new(Shared {
        trips: Mutex::new(Trips::default()),
        ready: AtomicUsize::new(0),
        gave_up: AtomicUsize::new(0),
        ack_timeout: Duration::from_secs_f64(args.ack_timeout),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let ping_every = Duration::from_secs_f64(args.ping_every);
    let announcing = Arc::new(Semaphore::new(args.connect_concurrency));
    let mut drivers = JoinSet::new();
    for (i, o) in opened.into_iter().enumerate() {
        let (shared, stop) = (Arc::clone(&shared), stop_rx.clone());
        let announcing = Arc::clone(&announcing);
        drivers.spawn(drive(
            o,
            1_000 + i as u64,
            ping_every,
            shared,
            announcing,
            stop,
        ));
    }
    // Every driver AVAILABLE with a position (or given up), then the settle time.
    let deadline = Instant::now() + Duration::from_secs(120);
    while shared.ready.load(Ordering::Relaxed) + shared.gave_up.load(Ordering::Relaxed) < connected
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = shared.ready.load(Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    if (ready as f64) < args.drivers as f64 * MIN_READY_SHARE {
        let _ = stop_tx.send(true);
        while let Some(joined) = drivers.join_next().await {
            if let Ok(e) = joined {
                merge_errors(&mut errors, e);
            }
        }
        return Err(format!(
            "only {ready} of {} drivers went AVAILABLE with a position; errors: {errors:?}",
            args.drivers
        ));
    }
    eprintln!(
        "rodando-loadgen: {ready} drivers available; settling {} s, then {trips} trips at {}/s",
        args.settle, args.trip_rate
    );
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;

    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let cpu_before = (
        args.server_pid
            .and_then(|p| procfs::read_cpu_ticks(Some(p))),
        procfs::read_cpu_ticks(None),
    );
    let window = Instant::now();
    let period = Duration::from_secs_f64(1.0 / args.trip_rate);
    let mut requests = JoinSet::new();
    let mut rng = rng::stream(args.drivers as u64, 99);
    let mut last_send = window;
    for (i, passenger) in passengers.into_iter().enumerate() {
        let due = window + period.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        last_send = Instant::now();
        let body = json!({
            "pickup": city_point(&mut rng),
            "dropoff": city_point(&mut rng),
            "paymentMethod": "cash",
        });
        let (http, url, shared) = (http.clone(), args.url.clone(), Arc::clone(&shared));
        requests.spawn(async move {
            let sent = Instant::now();
            let answer = request_trip(&http, &url, &passenger.token, &body).await;
            let answered = Instant::now();
            answer.map(|trip| {
                shared.trips().requested.insert(trip, (sent, answered));
            })
        });
    }
    let request_window_s = duration_between(window, last_send).as_secs_f64();
    while let Some(joined) = requests.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(kind)) => count(&mut errors, kind),
            Err(e) => count(&mut errors, format!("task_failed:{e}")),
        }
    }
    // Wait (at most `--drain` s) until every created trip is assigned.
    let drain_until = Instant::now() + Duration::from_secs_f64(args.drain);
    loop {
        let done = {
            let t = shared.trips();
            t.requested.keys().all(|trip| t.assigned.contains_key(trip))
        };
        if done || Instant::now() >= drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let wall = window.elapsed();
    let cpu_after = (
        args.server_pid
            .and_then(|p| procfs::read_cpu_ticks(Some(p))),
        procfs::read_cpu_ticks(None),
    );
    let _ = stop_tx.send(true);
    while let Some(joined) = drivers.join_next().await {
        match joined {
            Ok(e) => merge_errors(&mut errors, e),
            Err(e) => count(&mut errors, format!("task_failed:{e}")),
        }
    }

    let t = shared.trips();
    let (mut created, mut offered, mut assigned) =
        (Samples::default(), Samples::default(), Samples::default());
    for (trip, &(sent, answered)) in &t.requested {
        created.record(duration_between(sent, answered));
        if let Some(&at) = t.first_offer.get(trip) {
            offered.record(duration_between(sent, at));
        }
        if let Some(&at) = t.assigned.get(trip) {
            assigned.record(duration_between(sent, at));
        }
    }
    let unknown_offers = t
        .first_offer
        .keys()
        .filter(|trip| !t.requested.contains_key(*trip))
        .count();
    if unknown_offers > 0 {
        count(&mut errors, "offer_of_an_unknown_trip");
    }
    let cpu = |b: Option<u64>, a: Option<u64>| {
        b.zip(a).and_then(|(b, a)| procfs::cpu_percent(b, a, wall))
    };
    let report = DispatchReport {
        label: args.label.clone(),
        url: args.url.clone(),
        drivers_requested: args.drivers,
        drivers_connected: connected,
        drivers_ready: ready,
        ping_every_s: args.ping_every,
        trips_requested: trips,
        trip_rate_per_s: args.trip_rate,
        trips_created: t.requested.len(),
        trips_offered: usize::try_from(offered.len()).unwrap_or(usize::MAX),
        trips_assigned: usize::try_from(assigned.len()).unwrap_or(usize::MAX),
        offers_received: t.offers,
        request_window_s,
        login_s,
        connect_s,
        request_to_created: created.summary(),
        request_to_first_offer: offered.summary(),
        request_to_assigned: assigned.summary(),
        server_cpu_percent: cpu(cpu_before.0, cpu_after.0),
        loadgen_cpu_percent: cpu(cpu_before.1, cpu_after.1),
        errors,
    };
    drop(t);
    print!("{}", report.render());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    let complete = report.trips_assigned == trips;
    Ok(if complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
