//! One whole run: log everyone in, connect them, start the simulated clock, let drivers drive and
//! passengers ride while trips arrive as a Poisson process, report progress every second, and at
//! the end wind down in an order that leaves the server clean — passengers cancel their open
//! trips first, then drivers go OFFLINE and disconnect.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rodando_sio_client::SioClient;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::api::Api;
use crate::config::SimConfig;
use crate::driver::{self, Driver};
use crate::movement::SimClock;
use crate::passenger::{Passenger, TripRequest};
use crate::report::{Actors, Errors, Latencies, OfferCounts, Progress, Report, TripCounts};
use crate::rng::{self, StdRng};
use crate::session::{TokenKeeper, open};
use crate::stats::Stats;
use crate::users::{Identity, Role, log_in_all};
use rand_distr::Distribution as _;

/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// How long actors get to wind down (cancel trips, go offline) at the end.
const WIND_DOWN: Duration = Duration::from_secs(15);
/// The server's default time to answer an offer and offers per trip (PROTOCOL §1): the longest a
/// trip can wait for a driver, in real time.
const LONGEST_DISPATCH: Duration = Duration::from_secs(5 * 20);
/// The server's default dispatch radius, metres: the farthest a driver drives to a pickup.
const DISPATCH_RADIUS_M: f64 = 5_000.0;

/// Runs the simulation described by `config`, calling `on_progress` every second, until its
/// simulated duration has passed or `interrupt` completes.
///
/// # Errors
/// An invalid configuration, or a user that cannot log in or connect (nothing has run then).
/// Failures during the run are counted in the report's errors instead.
pub async fn run<F, I>(
    config: SimConfig,
    mut on_progress: F,
    interrupt: I,
) -> Result<Report, String>
where
    F: FnMut(&Progress),
    I: Future<Output = ()>,
{
    config.validate()?;
    let config = Arc::new(config);
    let api = Api::new(&config.url).map_err(|e| e.to_string())?;
    let setup = Instant::now();
    let (drivers, passengers) = tokio::try_join!(
        log_in_all(&api, &config, Role::Driver, config.drivers),
        log_in_all(&api, &config, Role::Passenger, config.passengers),
    )?;
    let (driver_sockets, passenger_sockets) = tokio::try_join!(
        connect_all(&api, &drivers, Role::Driver, config.connect_concurrency),
        connect_all(
            &api,
            &passengers,
            Role::Passenger,
            config.connect_concurrency
        ),
    )?;
    let setup_secs = setup.elapsed().as_secs_f64();

    let clock = SimClock::new(config.speed);
    let stats = Arc::new(Stats::default());
    let (stop_drivers, drivers_stopped) = watch::channel(false);
    let (stop_passengers, passengers_stopped) = watch::channel(false);

    let mut driver_tasks = JoinSet::new();
    let shared = driver::Shared {
        config: Arc::clone(&config),
        api: api.clone(),
        stats: Arc::clone(&stats),
    };
    for (n, (identity, socket)) in drivers.into_iter().zip(driver_sockets).enumerate() {
        let rng = rng::stream(config.seed, n as u64);
        let driver = Driver::new(
            shared.clone(),
            clock,
            rng,
            TokenKeeper::new(identity.tokens),
        );
        let stop = drivers_stopped.clone();
        let stats = Arc::clone(&stats);
        driver_tasks.spawn(async move {
            if let Err(e) = driver.run(socket, stop).await {
                stats.error(format!("{}: {e}", identity.email));
            }
        });
    }

    let patience = passenger_patience(&config, clock);
    let (idle_tx, idle_rx) = mpsc::channel(config.passengers.max(1));
    let mut inboxes = Vec::with_capacity(config.passengers);
    let mut passenger_tasks = JoinSet::new();
    for (index, (identity, socket)) in passengers.into_iter().zip(passenger_sockets).enumerate() {
        let (inbox, requests) = mpsc::channel(1);
        inboxes.push(inbox);
        let passenger = Passenger {
            index,
            api: api.clone(),
            stats: Arc::clone(&stats),
            tokens: TokenKeeper::new(identity.tokens),
            patience,
        };
        let (idle, stop, stats) = (
            idle_tx.clone(),
            passengers_stopped.clone(),
            Arc::clone(&stats),
        );
        passenger_tasks.spawn(async move {
            if let Err(e) = passenger.run(socket, requests, idle, stop).await {
                stats.error(format!("{}: {e}", identity.email));
            }
        });
    }
    drop(idle_tx);
    let arrivals = tokio::spawn(arrivals(
        Arc::clone(&config),
        clock,
        rng::stream(config.seed, u64::MAX),
        idle_rx,
        inboxes,
        Arc::clone(&stats),
        passengers_stopped.clone(),
    ));

    let total_secs = config.duration.as_secs_f64();
    let end = clock.instant_of(total_secs);
    let mut peak = 0;
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    tokio::pin!(interrupt);
    let interrupted = loop {
        tokio::select! {
            _ = ticker.tick() => {
                let progress = Progress::of(&stats, clock.now().min(total_secs), total_secs);
                peak = peak.max(progress.drivers_online);
                on_progress(&progress);
            }
            () = tokio::time::sleep_until(end) => break false,
            () = &mut interrupt => break true,
        }
    };
    let simulated_secs = clock.now().min(total_secs);
    let real_secs = clock.real(simulated_secs).as_secs_f64();

    // Passengers cancel what is still open, then drivers (freed by the cancellations) go offline.
    let _ = stop_passengers.send(true);
    let _ = arrivals.await;
    wind_down(&mut passenger_tasks, &stats, "passengers").await;
    let _ = stop_drivers.send(true);
    wind_down(&mut driver_tasks, &stats, "drivers").await;
    let progress = Progress::of(&stats, simulated_secs, total_secs);
    on_progress(&progress);

    let (count, first) = stats.errors();
    Ok(Report {
        url: config.url.clone(),
        seed: config.seed,
        speed: config.speed,
        simulated_secs: (simulated_secs * 10.0).round() / 10.0,
        real_secs: (real_secs * 10.0).round() / 10.0,
        setup_secs: (setup_secs * 10.0).round() / 10.0,
        interrupted,
        drivers: Actors {
            requested: config.drivers,
            connected: config.drivers,
        },
        passengers: Actors {
            requested: config.passengers,
            connected: config.passengers,
        },
        peak_drivers_online: peak,
        trips: TripCounts::of(&stats),
        offers: OfferCounts::of(&stats),
        pings: stats.pings.get(),
        latency_ms: Latencies {
            offer_to_accept: stats.offer_to_accept.summary(),
            request_to_assigned: stats.request_to_assigned.summary(),
            ping_ack: stats.ping_ack.summary(),
        },
        errors: Errors { count, first },
    })
}

/// Connects every identity, at most `concurrency` handshakes at once; sockets in input order.
async fn connect_all(
    api: &Api,
    identities: &[Identity],
    role: Role,
    concurrency: usize,
) -> Result<Vec<SioClient>, String> {
    let limit = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    for (n, identity) in identities.iter().cloned().enumerate() {
        let (api, limit) = (api.clone(), Arc::clone(&limit));
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.map_err(|e| e.to_string())?;
            open(&api, &identity, role).await.map(|socket| (n, socket))
        });
    }
    let mut sockets = Vec::with_capacity(identities.len());
    while let Some(joined) = tasks.join_next().await {
        sockets.push(joined.map_err(|e| format!("connect task failed: {e}"))??);
    }
    sockets.sort_by_key(|(n, _)| *n);
    Ok(sockets.into_iter().map(|(_, socket)| socket).collect())
}

/// The longest a passenger waits for a trip to end before cancelling it as stuck: the longest
/// dispatch, plus driving to the farthest pickup and the longest ride, boarding, and a margin.
fn passenger_patience(config: &SimConfig, clock: SimClock) -> Duration {
    let driving_sim = (DISPATCH_RADIUS_M + config.trip_max_m) / config.driving_mps();
    let sim = (driving_sim + config.boarding_time.as_secs_f64()) * 1.5 + 120.0;
    LONGEST_DISPATCH + clock.real(sim)
}

/// Trips arrive at `trip_rate_per_min` per simulated minute (exponential gaps); each goes to the
/// passenger free the longest, or is skipped when none is free.
async fn arrivals(
    config: Arc<SimConfig>,
    clock: SimClock,
    mut rng: StdRng,
    mut idle: mpsc::Receiver<usize>,
    inboxes: Vec<mpsc::Sender<TripRequest>>,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) {
    if config.trip_rate_per_min <= 0.0 || inboxes.is_empty() {
        crate::stop::stopped(&mut stop).await;
        return;
    }
    // Exponential gaps of mean 60 / rate simulated seconds (a Poisson process); rate > 0 here.
    let Ok(gaps) = rand_distr::Exp::new(config.trip_rate_per_min / 60.0) else {
        crate::stop::stopped(&mut stop).await;
        return;
    };
    let mut at: f64 = gaps.sample(&mut rng);
    loop {
        tokio::select! {
            biased;
            () = crate::stop::stopped(&mut stop) => return,
            () = tokio::time::sleep_until(clock.instant_of(at)) => {}
        }
        at += gaps.sample(&mut rng);
        let Ok(index) = idle.try_recv() else {
            stats.requests_skipped.incr();
            continue;
        };
        let pickup = config.bbox.random_point(&mut rng);
        let dropoff = config.bbox.random_point_between(
            &mut rng,
            pickup,
            config.trip_min_m,
            config.trip_max_m,
        );
        let sent = inboxes
            .get(index)
            .is_some_and(|inbox| inbox.try_send(TripRequest { pickup, dropoff }).is_ok());
        if !sent {
            stats.requests_skipped.incr();
        }
    }
}

/// Waits for the tasks to finish, at most [`WIND_DOWN`]; stragglers are aborted and counted.
async fn wind_down(tasks: &mut JoinSet<()>, stats: &Stats, what: &str) {
    let finished = tokio::time::timeout(WIND_DOWN, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        stats.error(format!(
            "{} {what} still busy after {WIND_DOWN:?}; stopped",
            tasks.len()
        ));
        tasks.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patience_covers_the_longest_dispatch_and_drive() {
        let mut config = SimConfig::new("http://x");
        config.speed = 5.0;
        let clock = SimClock::new(config.speed);
        // (5 km + 6 km) at 30 km/h = 1320 s, + 30 s boarding, x1.5, + 120 s = 2145 s simulated.
        let patience = passenger_patience(&config, clock);
        assert_eq!(
            patience,
            Duration::from_secs(100) + Duration::from_secs(429)
        );
    }
}
