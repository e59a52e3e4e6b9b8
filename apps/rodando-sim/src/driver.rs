//! One simulated driver: goes AVAILABLE, cruises the city along straight legs pinging its
//! position, answers offers (accept / reject / let expire, by configured probabilities, after a
//! short think), drives to the pickup, calls `arrived`, waits for boarding, `start`s, drives to
//! the dropoff and `complete`s — then cruises again (PROTOCOL §6, §8).
//!
//! The task is one loop over a single socket: it sleeps until the next event or the next timer
//! (ping, offer answer, end of boarding, token refresh), whichever comes first.

use std::sync::Arc;
use std::time::Duration;

use rodando_sio_client::{ClientError, ReceivedEvent, SioClient};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::Api;
use crate::config::SimConfig;
use crate::geo::Point;
use crate::movement::{Leg, SimClock};
use crate::rng::StdRng;
use crate::session::{ACK_TIMEOUT, TokenKeeper};
use crate::stats::Stats;

/// How a driver answers an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `driver:offer:accept`.
    Accept,
    /// `driver:offer:reject`.
    Reject,
    /// No answer: the offer expires.
    Ignore,
}

/// Draws a decision: accept with `accept`, reject with `reject`, otherwise ignore.
pub fn decide(rng: &mut StdRng, accept: f64, reject: f64) -> Decision {
    let u: f64 = rand::Rng::random(rng);
    if u < accept {
        Decision::Accept
    } else if u < accept + reject {
        Decision::Reject
    } else {
        Decision::Ignore
    }
}

/// How long to think before answering: the simulated think time in real time, but never more
/// than half the offer's (real-time) TTL, so an intended answer is never late.
#[must_use]
pub fn think_delay(think_real: Duration, ttl_sec: Option<u64>) -> Duration {
    match ttl_sec {
        Some(ttl) => think_real.min(Duration::from_secs(ttl) / 2),
        None => think_real,
    }
}

/// A trip as the driver needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct TripPlan {
    /// The trip id.
    pub id: String,
    /// Where the passenger waits.
    pub pickup: Point,
    /// Where the ride ends.
    pub dropoff: Point,
}

/// An offer as received (`trip:assignment:offered`).
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// Its id, to answer it.
    pub assignment_id: String,
    /// The trip.
    pub trip: TripPlan,
    /// Seconds the driver has to answer.
    pub ttl_sec: Option<u64>,
}

fn place(value: &Value) -> Option<Point> {
    Some(Point {
        lat: value["latitude"].as_f64()?,
        lon: value["longitude"].as_f64()?,
    })
}

impl Offer {
    /// Reads an offer payload; `None` when a field the driver needs is missing.
    #[must_use]
    pub fn parse(data: &Value) -> Option<Offer> {
        Some(Offer {
            assignment_id: data["assignmentId"].as_str()?.to_owned(),
            trip: TripPlan {
                id: data["tripId"].as_str()?.to_owned(),
                pickup: place(&data["pickup"])?,
                dropoff: place(&data["dropoff"])?,
            },
            ttl_sec: data["ttlSec"].as_u64(),
        })
    }
}

/// What the driver is doing.
#[derive(Debug, Clone, PartialEq)]
enum Job {
    /// Driving around, available.
    Cruising,
    /// Accepted a trip, driving to the pickup.
    ToPickup(TripPlan),
    /// At the pickup until simulated second `until`.
    Boarding { trip: TripPlan, until: f64 },
    /// Riding since simulated second `since`.
    ToDropoff { trip: TripPlan, since: f64 },
}

impl Job {
    fn trip_id(&self) -> Option<&str> {
        match self {
            Job::Cruising => None,
            Job::ToPickup(trip) | Job::Boarding { trip, .. } | Job::ToDropoff { trip, .. } => {
                Some(&trip.id)
            }
        }
    }
}

/// An offer being thought about.
#[derive(Debug)]
struct Pending {
    offer: Offer,
    decision: Decision,
    received: Instant,
    answer_at: Instant,
}

/// What every driver shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The run's configuration.
    pub config: Arc<SimConfig>,
    /// REST.
    pub api: Api,
    /// Counters.
    pub stats: Arc<Stats>,
}

/// One driver's state.
pub struct Driver {
    shared: Shared,
    clock: SimClock,
    rng: StdRng,
    tokens: TokenKeeper,
    position: Point,
    leg: Leg,
    job: Job,
    pending: Option<Pending>,
    next_ping: Instant,
}

impl Driver {
    /// A driver starting at a random point of the city, on the clock `clock`.
    #[must_use]
    pub fn new(shared: Shared, clock: SimClock, mut rng: StdRng, tokens: TokenKeeper) -> Self {
        let position = shared.config.bbox.random_point(&mut rng);
        let leg = Leg::new(position, position, clock.now(), shared.config.driving_mps());
        Self {
            shared,
            clock,
            rng,
            tokens,
            position,
            leg,
            job: Job::Cruising,
            pending: None,
            next_ping: Instant::now(),
        }
    }

    /// Goes AVAILABLE, then drives until `stop` turns true, then goes OFFLINE and closes the
    /// socket.
    ///
    /// # Errors
    /// A refused status change or a lost connection, with the reason.
    pub async fn run(
        mut self,
        mut client: SioClient,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), String> {
        let status = self
            .ack(
                &client,
                "driver:status:update",
                json!({"availabilityStatus": "AVAILABLE"}),
            )
            .await?;
        if status["ok"] != true {
            return Err(format!("could not go AVAILABLE: {status}"));
        }
        let stats = Arc::clone(&self.shared.stats);
        stats.drivers_online.up();
        self.new_cruise();
        let outcome = self.drive(&mut client, &mut stop).await;
        stats.drivers_online.down();
        if self.job != Job::Cruising {
            stats.drivers_on_trip.down();
        }
        // Even when this driver still believes it is on a trip: the wind-down cancelled every
        // open trip before stopping the drivers, and the cancellation may not have reached this
        // task yet. The server refuses OFFLINE only while the driver really holds a trip.
        if outcome.is_ok() {
            let _ = self
                .ack(
                    &client,
                    "driver:status:update",
                    json!({"availabilityStatus": "OFFLINE"}),
                )
                .await;
        }
        client.close().await;
        outcome
    }

    async fn drive(
        &mut self,
        client: &mut SioClient,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), String> {
        loop {
            let wait = self.next_wake().saturating_duration_since(Instant::now());
            tokio::select! {
                biased;
                () = crate::stop::stopped(stop) => return Ok(()),
                event = client.next_event(wait) => match event {
                    Ok(event) => self.on_event(client, event).await?,
                    Err(ClientError::Timeout) => {}
                    Err(e) => return Err(format!("driver socket: {e}")),
                },
            }
            self.on_timers(client).await?;
        }
    }

    fn next_wake(&self) -> Instant {
        let mut wake = self.next_ping;
        if let Some(p) = &self.pending {
            wake = wake.min(p.answer_at);
        }
        if let Job::Boarding { until, .. } = self.job {
            wake = wake.min(self.clock.instant_of(until));
        }
        if let Some(at) = self.tokens.due() {
            wake = wake.min(at);
        }
        wake
    }

    async fn on_event(&mut self, client: &SioClient, event: ReceivedEvent) -> Result<(), String> {
        let data = event.data();
        match event.name.as_str() {
            "trip:assignment:offered" => self.on_offer(client, data).await,
            "trip:assignment:expired" => {
                if self
                    .pending
                    .as_ref()
                    .is_some_and(|p| data["assignmentId"] == p.offer.assignment_id.as_str())
                {
                    self.pending = None;
                }
                Ok(())
            }
            "trip:cancelled" => {
                if self.job.trip_id().is_some_and(|id| data["tripId"] == id) {
                    self.shared.stats.drivers_on_trip.down();
                    self.job = Job::Cruising;
                    self.new_cruise();
                }
                Ok(())
            }
            "auth:token_expired" | "auth:session_revoked" => {
                Err(format!("{} ({data})", event.name))
            }
            _ => Ok(()),
        }
    }

    async fn on_offer(&mut self, client: &SioClient, data: &Value) -> Result<(), String> {
        let stats = &self.shared.stats;
        stats.offers_received.incr();
        let Some(offer) = Offer::parse(data) else {
            stats.error(format!("unreadable offer: {data}"));
            return Ok(());
        };
        if self.job != Job::Cruising || self.pending.is_some() {
            // Not expected (the server offers trips to available drivers only); decline at once.
            stats.offers_rejected.incr();
            let _ = self.answer(client, "driver:offer:reject", &offer).await;
            return Ok(());
        }
        let config = &self.shared.config;
        let decision = decide(
            &mut self.rng,
            config.accept_probability,
            config.reject_probability,
        );
        if decision == Decision::Ignore {
            stats.offers_ignored.incr();
            return Ok(());
        }
        let received = Instant::now();
        let delay = think_delay(
            self.clock.real(config.think_time.as_secs_f64()),
            offer.ttl_sec,
        );
        self.pending = Some(Pending {
            offer,
            decision,
            received,
            answer_at: received + delay,
        });
        Ok(())
    }

    async fn on_timers(&mut self, client: &SioClient) -> Result<(), String> {
        let now = Instant::now();
        if self.pending.as_ref().is_some_and(|p| now >= p.answer_at)
            && let Some(pending) = self.pending.take()
        {
            self.answer_offer(client, pending).await?;
        }
        if let Job::Boarding { trip, until } = &self.job
            && self.clock.now() >= *until
        {
            let trip = trip.clone();
            self.start_ride(trip).await;
        }
        if now >= self.next_ping {
            self.advance().await;
            self.ping(client).await?;
            let interval = self
                .clock
                .real(self.shared.config.ping_interval.as_secs_f64());
            self.next_ping = Instant::now() + interval;
        }
        let api = self.shared.api.clone();
        self.tokens.refresh_if_due(&api, client).await
    }

    async fn answer_offer(&mut self, client: &SioClient, pending: Pending) -> Result<(), String> {
        let stats = Arc::clone(&self.shared.stats);
        match pending.decision {
            Decision::Reject => {
                stats.offers_rejected.incr();
                self.answer(client, "driver:offer:reject", &pending.offer)
                    .await?;
            }
            Decision::Accept => {
                let reply = self
                    .answer(client, "driver:offer:accept", &pending.offer)
                    .await?;
                if reply["ok"] == true {
                    stats.offers_accepted.incr();
                    stats.offer_to_accept.record(pending.received.elapsed());
                    stats.drivers_on_trip.up();
                    let trip = pending.offer.trip;
                    self.leg = Leg::new(
                        self.position,
                        trip.pickup,
                        self.clock.now(),
                        self.shared.config.driving_mps(),
                    );
                    self.job = Job::ToPickup(trip);
                } else {
                    stats.accepts_refused.incr();
                }
            }
            Decision::Ignore => {}
        }
        Ok(())
    }

    async fn answer(
        &self,
        client: &SioClient,
        event: &str,
        offer: &Offer,
    ) -> Result<Value, String> {
        let mut body = json!({ "assignmentId": offer.assignment_id });
        if event == "driver:offer:reject" {
            body["reason"] = json!("simulated driver declined");
        }
        self.ack(client, event, body).await
    }

    /// Moves along the current leg to now; at its end, takes the next step of the job.
    async fn advance(&mut self) {
        let t = self.clock.now();
        self.position = self.leg.position_at(t);
        if !self.leg.arrived(t) {
            return;
        }
        match self.job.clone() {
            Job::Cruising => self.new_cruise(),
            Job::ToPickup(trip) => {
                if self.step(&trip.id, "arrived", json!({})).await {
                    let until = t + self.shared.config.boarding_time.as_secs_f64();
                    self.leg = Leg::new(self.position, self.position, t, 1.0);
                    self.job = Job::Boarding { trip, until };
                }
            }
            Job::Boarding { .. } => {}
            Job::ToDropoff { trip, since } => {
                let body = json!({
                    "actualDistanceKm": (trip.pickup.distance_m(trip.dropoff) / 1000.0 * 100.0).round() / 100.0,
                    "actualDurationMin": ((t - since) / 60.0 * 10.0).round() / 10.0,
                });
                if self.step(&trip.id, "complete", body).await {
                    self.shared.stats.drivers_on_trip.down();
                    self.job = Job::Cruising;
                    self.new_cruise();
                }
            }
        }
    }

    async fn start_ride(&mut self, trip: TripPlan) {
        if self.step(&trip.id, "start", json!({})).await {
            let t = self.clock.now();
            self.leg = Leg::new(
                self.position,
                trip.dropoff,
                t,
                self.shared.config.driving_mps(),
            );
            self.job = Job::ToDropoff { trip, since: t };
        }
    }

    /// A REST trip step; on refusal (the trip was cancelled meanwhile) the driver drops the trip.
    async fn step(&mut self, trip_id: &str, step: &str, body: Value) -> bool {
        let token = self.tokens.access().to_owned();
        match self
            .shared
            .api
            .trip_step(&token, trip_id, step, &body)
            .await
        {
            Ok(_) => true,
            Err(e) => {
                // A trip that moved on meanwhile (cancelled by its passenger) is not an error.
                if e.code.as_deref() != Some("invalid_trip_transition") {
                    self.shared.stats.error(e.to_string());
                }
                self.shared.stats.drivers_on_trip.down();
                self.job = Job::Cruising;
                self.new_cruise();
                false
            }
        }
    }

    fn new_cruise(&mut self) {
        let destination = self.shared.config.bbox.random_point(&mut self.rng);
        self.leg = Leg::new(
            self.position,
            destination,
            self.clock.now(),
            self.shared.config.driving_mps(),
        );
    }

    async fn ping(&self, client: &SioClient) -> Result<(), String> {
        let moving = self.leg.length_m() > 0.0 && !self.leg.arrived(self.clock.now());
        let body = json!({
            "latitude": self.position.lat,
            "longitude": self.position.lon,
            "heading": (self.leg.heading() * 10.0).round() / 10.0,
            "speedKph": if moving { self.shared.config.driving_kph } else { 0.0 },
            "accuracyMeters": 5.0,
        });
        let sent = Instant::now();
        let reply = self.ack(client, "driver:location:ping", body).await?;
        let stats = &self.shared.stats;
        if reply["ok"] == true {
            stats.pings.incr();
            stats.ping_ack.record(sent.elapsed());
        } else {
            stats.error(format!("ping refused: {reply}"));
        }
        Ok(())
    }

    async fn ack(&self, client: &SioClient, event: &str, body: Value) -> Result<Value, String> {
        client
            .emit_with_ack(event, body, ACK_TIMEOUT)
            .await
            .map_err(|e| format!("{event}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decisions_follow_the_configured_probabilities() {
        let mut rng = crate::rng::stream(9, 0);
        let (mut accept, mut reject, mut ignore) = (0u32, 0u32, 0u32);
        for _ in 0..10_000 {
            match decide(&mut rng, 0.7, 0.2) {
                Decision::Accept => accept += 1,
                Decision::Reject => reject += 1,
                Decision::Ignore => ignore += 1,
            }
        }
        assert!((6_700..7_300).contains(&accept), "{accept}");
        assert!((1_800..2_200).contains(&reject), "{reject}");
        assert!((800..1_200).contains(&ignore), "{ignore}");
        assert!((0..100).all(|_| decide(&mut rng, 1.0, 0.0) == Decision::Accept));
        assert!((0..100).all(|_| decide(&mut rng, 0.0, 0.0) == Decision::Ignore));
    }

    #[test]
    fn a_driver_never_thinks_past_half_the_offer_ttl() {
        let ten = Duration::from_secs(10);
        assert_eq!(think_delay(ten, Some(20)), ten);
        assert_eq!(think_delay(ten, Some(6)), Duration::from_secs(3));
        assert_eq!(think_delay(ten, None), ten);
    }

    #[test]
    fn offers_are_read_from_the_contract_payload() {
        let data = json!({
            "assignmentId": "a1", "tripId": "t1",
            "pickup": {"latitude": 23.1, "longitude": -82.4, "address": "x"},
            "dropoff": {"latitude": 23.12, "longitude": -82.38},
            "distanceToPickupM": 500, "ttlSec": 20
        });
        let offer = Offer::parse(&data).unwrap();
        assert_eq!(offer.assignment_id, "a1");
        assert_eq!(offer.trip.id, "t1");
        assert_eq!(
            offer.trip.pickup,
            Point {
                lat: 23.1,
                lon: -82.4
            }
        );
        assert_eq!(offer.ttl_sec, Some(20));
        assert!(Offer::parse(&json!({"assignmentId": "a1", "tripId": "t1"})).is_none());
    }
}
