//! The simulated sockets: connecting, driver ping loops, admin receivers, and the table of
//! pings in flight that matches admin broadcasts back to the ping that caused them.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rodando_sio_client::{ClientError, ClientOptions, ConnectError, SioClient, connect};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use rand::Rng as _;
use rodando_toolkit::rng;
use rodando_toolkit::stats::{Latencies, Samples};

use crate::geo::{self, Walker};

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Sockets are pinging, nothing is counted.
    Warmup,
    /// Everything is counted.
    Measure,
    /// Stop pinging (drivers) or receiving (admins).
    Stop,
}

/// Error counts by kind.
pub type Errors = BTreeMap<String, u64>;

/// Adds one error of `kind`.
pub fn count(errors: &mut Errors, kind: impl Into<String>) {
    *errors.entry(kind.into()).or_default() += 1;
}

/// A ping whose admin broadcast has not been seen by every admin yet.
#[derive(Debug)]
struct Flight {
    driver_id: Arc<str>,
    sent: Instant,
    measured: bool,
    receipts: usize,
}

/// What the admins saw, shared by every socket task.
#[derive(Debug, Default)]
struct Table {
    flights: HashMap<u64, Flight>,
    first_admin: Samples,
    seen_measured: u64,
    unmatched: u64,
}

/// State shared by all socket tasks.
#[derive(Debug)]
pub struct Shared {
    next_marker: AtomicU64,
    table: Mutex<Table>,
    /// Admin sockets admitted: a flight leaves the table once that many saw it.
    admins: usize,
    ack_timeout: Duration,
    /// Ack latency of every measured ping, all drivers together (one histogram, not one each).
    acks: Latencies,
}

/// First-admin latencies and how many measured pings some admin saw.
#[derive(Debug)]
pub struct FirstAdmin {
    /// Latency of each measured ping to its first admin receipt.
    pub samples: Samples,
    /// Measured pings seen by at least one admin.
    pub seen_measured: u64,
    /// Admin location updates that matched no ping in flight.
    pub unmatched: u64,
}

impl Shared {
    /// State for `admins` admin sockets.
    pub fn new(admins: usize, ack_timeout: Duration) -> Self {
        Self {
            next_marker: AtomicU64::new(0),
            table: Mutex::new(Table::default()),
            admins,
            ack_timeout,
            acks: Latencies::default(),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a ping about to be sent; returns its marker.
    fn launch(&self, driver_id: &Arc<str>, measured: bool) -> u64 {
        let marker = self.next_marker.fetch_add(1, Ordering::Relaxed) % geo::MARKER_SPACE;
        if self.admins > 0 {
            self.table().flights.insert(
                marker,
                Flight {
                    driver_id: Arc::clone(driver_id),
                    sent: Instant::now(),
                    measured,
                    receipts: 0,
                },
            );
        }
        marker
    }

    /// A ping the server refused: no broadcast will come.
    fn abort(&self, marker: u64) {
        self.table().flights.remove(&marker);
    }

    /// An admin received the broadcast of `marker` from `driver_id` at `at`; returns the latency
    /// when the ping was sent in the measured window.
    fn receipt(&self, marker: u64, driver_id: &str, at: Instant) -> Option<Duration> {
        let mut table = self.table();
        let Some(flight) = table.flights.get_mut(&marker) else {
            table.unmatched += 1;
            return None;
        };
        if &*flight.driver_id != driver_id {
            table.unmatched += 1;
            return None;
        }
        let latency = at.saturating_duration_since(flight.sent);
        flight.receipts += 1;
        let (measured, first, done) = (
            flight.measured,
            flight.receipts == 1,
            flight.receipts >= self.admins,
        );
        if done {
            table.flights.remove(&marker);
        }
        if measured && first {
            table.first_admin.record(latency);
            table.seen_measured += 1;
        }
        measured.then_some(latency)
    }

    /// Forgets flights older than `max_age` (never seen by every admin).
    pub fn purge(&self, max_age: Duration) {
        let now = Instant::now();
        self.table()
            .flights
            .retain(|_, f| now.saturating_duration_since(f.sent) < max_age);
    }

    /// Takes the ack latencies of every driver.
    pub fn take_acks(&self) -> Samples {
        self.acks.take()
    }

    /// Takes the first-admin results.
    pub fn take_first_admin(&self) -> FirstAdmin {
        let mut table = self.table();
        FirstAdmin {
            samples: std::mem::take(&mut table.first_admin),
            seen_measured: table.seen_measured,
            unmatched: table.unmatched,
        }
    }
}

/// An admitted socket.
pub struct Opened {
    /// The connection.
    pub client: SioClient,
    /// `userId` from `hello`.
    pub user_id: Arc<str>,
    /// Connect start to `hello`.
    pub handshake: Duration,
}

/// Opens `namespace` with `token` and waits for `hello`; the error is its kind for the report.
///
/// # Errors
/// `connect_refused:<code>`, `connect_timeout`, `connect_transport`, `connect_protocol`,
/// `no_hello`, each with a human detail.
pub async fn open(
    base: &str,
    namespace: &str,
    token: &str,
    timeout: Duration,
    local_address: Option<IpAddr>,
) -> Result<Opened, (String, String)> {
    let started = Instant::now();
    let options = ClientOptions {
        auth: Some(json!({ "token": token })),
        headers: Vec::new(),
        connect_timeout: timeout,
        local_address,
    };
    let mut client = connect(base, namespace, options)
        .await
        .map_err(|e| match e {
            ConnectError::Refused { message, .. } => {
                (format!("connect_refused:{message}"), message)
            }
            ConnectError::Timeout => ("connect_timeout".to_owned(), e.to_string()),
            ConnectError::Transport(d) => ("connect_transport".to_owned(), d),
            ConnectError::Protocol(d) => ("connect_protocol".to_owned(), d),
        })?;
    let left = timeout.saturating_sub(started.elapsed());
    let hello = client
        .expect_event("hello", left)
        .await
        .map_err(|e| ("no_hello".to_owned(), e.to_string()))?;
    let handshake = started.elapsed();
    let user_id: Arc<str> = Arc::from(hello["userId"].as_str().unwrap_or_default());
    Ok(Opened {
        client,
        user_id,
        handshake,
    })
}

/// What one driver socket did.
pub struct DriverOutcome {
    /// The socket, for the next step or to be closed by the caller.
    pub opened: Opened,
    /// Measured pings sent.
    pub sent: u64,
    /// Measured pings acked `ok:true`.
    pub acked: u64,
    /// Events received by this socket in the measured window (its driver room's broadcasts).
    pub room_events: u64,
    /// Errors by kind.
    pub errors: Errors,
}

/// Goes AVAILABLE (when `announce`: the first step only, so later steps start without a burst
/// of status updates), then pings its position every `period` (the first ping after a random
/// part of a period) until the phase is [`Phase::Stop`].
pub async fn drive(
    mut opened: Opened,
    seed: u64,
    period: Duration,
    announce: bool,
    shared: Arc<Shared>,
    phase: watch::Receiver<Phase>,
) -> DriverOutcome {
    let client = &mut opened.client;
    let mut sent = 0;
    let mut acked = 0;
    let mut room_events = 0;
    let mut errors = Errors::new();

    if announce {
        match go_available(client, shared.ack_timeout).await {
            Ok(ack) if ack["ok"] == true => {}
            Ok(ack) => count(&mut errors, format!("status_error:{}", error_code(&ack))),
            Err(e) => count(&mut errors, format!("status_{}", client_error_kind(&e))),
        }
    }

    let mut walker = Walker::new(seed);
    let jitter = period.mul_f64(rng::stream(seed, 1).random());
    let mut ticks = tokio::time::interval_at(Instant::now() + jitter, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut stop = phase.clone();
    loop {
        // Between pings, consume the driver room's broadcasts as they come, so a room shared by
        // many sockets (one identity) buffers nothing and a disconnect is seen at once.
        tokio::select! {
            biased;
            _ = stop.wait_for(|p| *p == Phase::Stop) => break,
            _ = ticks.tick() => {}
            event = client.next_event(Duration::from_secs(3600)) => {
                match event {
                    Ok(_) => {
                        if *phase.borrow() == Phase::Measure {
                            room_events += 1;
                        }
                    }
                    Err(ClientError::Timeout) => {}
                    Err(e) => {
                        count(&mut errors, format!("driver_{}", client_error_kind(&e)));
                        break;
                    }
                }
                continue;
            }
        }
        let measured = *phase.borrow() == Phase::Measure;
        // Events that arrived while the previous ack was awaited.
        let drained = client.drain_events().len() as u64;
        if measured {
            room_events += drained;
        }
        let (lat, lon) = walker.step(period.as_secs_f64());
        let marker = shared.launch(&opened.user_id, measured);
        let (latitude, longitude) = geo::marked(lat, lon, marker);
        let started = Instant::now();
        let result = ping_with_ack(client, (latitude, longitude), shared.ack_timeout).await;
        let elapsed = started.elapsed();
        if measured {
            sent += 1;
        }
        match result {
            Ok(ack) if ack["ok"] == true => {
                if measured {
                    acked += 1;
                    shared.acks.record(elapsed);
                }
            }
            Ok(ack) => {
                shared.abort(marker);
                count(&mut errors, format!("ack_error:{}", error_code(&ack)));
            }
            Err(ClientError::Timeout) => count(&mut errors, "ack_timeout"),
            Err(e) => {
                shared.abort(marker);
                count(&mut errors, format!("driver_{}", client_error_kind(&e)));
                break;
            }
        }
    }
    DriverOutcome {
        opened,
        sent,
        acked,
        room_events,
        errors,
    }
}

/// What one admin socket saw.
pub struct AdminOutcome {
    /// The socket, for the next step or to be closed by the caller.
    pub opened: Opened,
    /// Latency of every measured ping this admin saw.
    pub deliveries: Samples,
    /// `driver:location:update` received in the measured window.
    pub location_updates: u64,
    /// Errors by kind.
    pub errors: Errors,
}

/// Receives broadcasts until the phase is [`Phase::Stop`], matching location updates to pings.
pub async fn watch_fleet(
    mut opened: Opened,
    shared: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
) -> AdminOutcome {
    let client = &mut opened.client;
    let mut deliveries = Samples::default();
    let mut location_updates = 0;
    let mut errors = Errors::new();
    loop {
        let event = tokio::select! {
            event = client.next_event(Duration::from_secs(1)) => event,
            _ = phase.wait_for(|p| *p == Phase::Stop) => break,
        };
        let at = Instant::now();
        match event {
            Ok(event) if event.name == "driver:location:update" => {
                let data = event.data();
                let driver_id = data["driverId"].as_str().unwrap_or_default();
                let coordinates = &data["lastLocation"]["coordinates"];
                let (Some(lon), Some(lat)) = (coordinates[0].as_f64(), coordinates[1].as_f64())
                else {
                    count(&mut errors, "admin_bad_location_update");
                    continue;
                };
                if let Some(latency) = shared.receipt(geo::marker_of(lat, lon), driver_id, at) {
                    deliveries.record(latency);
                }
                if *phase.borrow() == Phase::Measure {
                    location_updates += 1;
                }
            }
            Ok(_) | Err(ClientError::Timeout) => {}
            Err(e) => {
                count(&mut errors, format!("admin_{}", client_error_kind(&e)));
                break;
            }
        }
    }
    AdminOutcome {
        opened,
        deliveries,
        location_updates,
        errors,
    }
}

/// `error.code` of a failed ack.
fn error_code(ack: &Value) -> String {
    ack["error"]["code"]
        .as_str()
        .map_or_else(|| "malformed_ack".to_owned(), str::to_owned)
}

/// The error counter a client error is tallied under.
pub(crate) fn client_error_kind(e: &ClientError) -> &'static str {
    match e {
        ClientError::Timeout => "timeout",
        ClientError::Closed => "disconnected",
        ClientError::Transport(_) => "transport_error",
        ClientError::Protocol(_) => "protocol_error",
    }
}

/// `driver:status:update` AVAILABLE, the ack awaited for `timeout`: how every simulated driver
/// announces itself.
pub(crate) async fn go_available(
    client: &SioClient,
    timeout: Duration,
) -> Result<Value, ClientError> {
    let available = json!({ "availabilityStatus": "AVAILABLE" });
    client
        .emit_with_ack("driver:status:update", available, timeout)
        .await
}

/// `driver:location:ping` at `(latitude, longitude)`, the ack awaited for `timeout`.
pub(crate) async fn ping_with_ack(
    client: &SioClient,
    (latitude, longitude): (f64, f64),
    timeout: Duration,
) -> Result<Value, ClientError> {
    let position = json!({ "latitude": latitude, "longitude": longitude });
    client
        .emit_with_ack("driver:location:ping", position, timeout)
        .await
}
