//! One measured step: every admitted driver pings at one rate through a warm-up and a measured
//! window while the admins listen; the sockets are handed back for the next step.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::procfs;
use crate::run::{self, Errors, FirstAdmin, Opened, Phase, Shared, count};
use rodando_toolkit::stats::Samples;

/// After the drivers stop, admins keep listening this long for trailing (coalesced) updates.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// The admitted sockets.
pub struct Fleet {
    /// Driver sockets, in index order.
    pub drivers: Vec<Opened>,
    /// Admin sockets.
    pub admins: Vec<Opened>,
}

/// How one step runs.
#[derive(Debug, Clone, Copy)]
pub struct StepConfig {
    /// Pings per second per driver.
    pub rate: f64,
    /// Not counted.
    pub warmup: Duration,
    /// Counted.
    pub duration: Duration,
    /// Deadline of one ack.
    pub ack_timeout: Duration,
    /// The server process, for its CPU.
    pub server_pid: Option<u32>,
    /// Seeds the drivers' walks and jitter (differs per step).
    pub seed: u64,
    /// Whether drivers first go AVAILABLE (the first step).
    pub announce: bool,
}

/// What one step measured.
pub struct StepResult {
    /// Measured pings sent.
    pub sent: u64,
    /// Of those, acked `ok:true`.
    pub acked: u64,
    /// Ping → ack.
    pub ack_latency: Samples,
    /// Ping → each admin.
    pub deliveries: Samples,
    /// Ping → first admin, and how many measured pings some admin saw.
    pub first: FirstAdmin,
    /// Admin location updates in the window.
    pub location_updates: u64,
    /// Driver-room events in the window.
    pub room_events: u64,
    /// Errors by kind.
    pub errors: Errors,
    /// Length of the measured window.
    pub measured_wall: Duration,
    /// Server CPU over the window, % of one core.
    pub server_cpu: Option<f64>,
    /// Own CPU over the window, % of one core.
    pub loadgen_cpu: Option<f64>,
    /// Driver sockets still connected at the end.
    pub drivers_held: usize,
    /// Admin sockets still connected at the end.
    pub admins_held: usize,
}

/// Runs one step with every socket of `fleet`; returns the sockets still connected.
pub async fn run(fleet: Fleet, config: StepConfig) -> (Fleet, StepResult) {
    let period = Duration::from_secs_f64(1.0 / config.rate);
    let pid = config.server_pid;
    let shared = Arc::new(Shared::new(fleet.admins.len(), config.ack_timeout));
    let (driver_phase, driver_rx) = watch::channel(Phase::Warmup);
    let (admin_phase, admin_rx) = watch::channel(Phase::Warmup);
    let mut admin_tasks = JoinSet::new();
    for opened in fleet.admins {
        admin_tasks.spawn(run::watch_fleet(
            opened,
            Arc::clone(&shared),
            admin_rx.clone(),
        ));
    }
    let mut driver_tasks = JoinSet::new();
    for (i, opened) in fleet.drivers.into_iter().enumerate() {
        driver_tasks.spawn(run::drive(
            opened,
            config.seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
            period,
            config.announce,
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
    tokio::time::sleep(config.warmup).await;
    let cpu_before = (
        pid.and_then(|p| procfs::read_cpu_ticks(Some(p))),
        procfs::read_cpu_ticks(None),
    );
    let measure_started = Instant::now();
    driver_phase.send_replace(Phase::Measure);
    admin_phase.send_replace(Phase::Measure);
    tokio::time::sleep(config.duration).await;
    let measured_wall = measure_started.elapsed();
    let cpu_after = (
        pid.and_then(|p| procfs::read_cpu_ticks(Some(p))),
        procfs::read_cpu_ticks(None),
    );
    driver_phase.send_replace(Phase::Stop);

    // Stop: drivers finish their ping in flight, admins get a moment for trailing updates.
    let mut errors = Errors::new();
    let mut drivers = Vec::new();
    let (mut sent, mut acked, mut room_events) = (0, 0, 0);
    while let Some(joined) = driver_tasks.join_next().await {
        match joined {
            Ok(o) => {
                sent += o.sent;
                acked += o.acked;
                room_events += o.room_events;
                merge_errors(&mut errors, o.errors);
                drivers.push(o.opened);
            }
            Err(e) => count(&mut errors, format!("task_failed:{e}")),
        }
    }
    tokio::time::sleep(DRAIN_GRACE).await;
    admin_phase.send_replace(Phase::Stop);
    let mut admins = Vec::new();
    let mut deliveries = Samples::default();
    let mut location_updates = 0;
    while let Some(joined) = admin_tasks.join_next().await {
        match joined {
            Ok(o) => {
                location_updates += o.location_updates;
                deliveries.merge(&o.deliveries);
                merge_errors(&mut errors, o.errors);
                admins.push(o.opened);
            }
            Err(e) => count(&mut errors, format!("task_failed:{e}")),
        }
    }
    purger.abort();
    // Disconnected sockets are dropped here; the next step runs with the rest.
    drivers.retain(|o| o.client.is_connected());
    admins.retain(|o| o.client.is_connected());
    let result = StepResult {
        sent,
        acked,
        ack_latency: shared.take_acks(),
        deliveries,
        first: shared.take_first_admin(),
        location_updates,
        room_events,
        errors,
        measured_wall,
        server_cpu: cpu_before
            .0
            .zip(cpu_after.0)
            .and_then(|(b, a)| procfs::cpu_percent(b, a, measured_wall)),
        loadgen_cpu: cpu_before
            .1
            .zip(cpu_after.1)
            .and_then(|(b, a)| procfs::cpu_percent(b, a, measured_wall)),
        drivers_held: drivers.len(),
        admins_held: admins.len(),
    };
    (Fleet { drivers, admins }, result)
}

/// Adds the counts of `from` to `into`.
pub fn merge_errors(into: &mut Errors, from: Errors) {
    for (kind, n) in from {
        *into.entry(kind).or_default() += n;
    }
}
