//! One simulated passenger: waits to be handed a trip by the run's arrival process, requests it
//! with `trip:request`, follows it to its end (PROTOCOL §7, §8), and is free again. At most one
//! trip at a time, as the server allows. A trip stuck for too long, or still open when the run
//! ends, is cancelled so the server is left clean.

use std::sync::Arc;
use std::time::Duration;

use rodando_sio_client::{ClientError, SioClient};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::api::Api;
use crate::geo::Point;
use crate::session::{ACK_TIMEOUT, TokenKeeper};
use crate::stats::Stats;

/// A trip to request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripRequest {
    /// Where to be picked up.
    pub pickup: Point,
    /// Where to go.
    pub dropoff: Point,
}

/// How a followed trip ended, as the passenger saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `trip:completed`.
    Completed,
    /// `trip:no_drivers_found`.
    NoDriver,
    /// `trip:cancelled`, or cancelled by the passenger as stuck.
    Cancelled,
    /// Still under way when the run ended; cancelled then, to leave the server clean.
    Unfinished,
}

/// The ending a trip event means, for events of the trip `trip_id`.
#[must_use]
pub fn ending_of(event: &str, data: &Value, trip_id: &str) -> Option<Ending> {
    if data["tripId"] != trip_id {
        return None;
    }
    match event {
        "trip:completed" => Some(Ending::Completed),
        "trip:no_drivers_found" => Some(Ending::NoDriver),
        "trip:cancelled" => Some(Ending::Cancelled),
        _ => None,
    }
}

/// The ending a trip status means, when final.
#[must_use]
pub fn ending_of_status(status: &str) -> Option<Ending> {
    match status {
        "completed" => Some(Ending::Completed),
        "no_drivers_found" => Some(Ending::NoDriver),
        "cancelled" => Some(Ending::Cancelled),
        _ => None,
    }
}

/// One passenger's task.
pub struct Passenger {
    /// Its index in the run (handed back to the idle queue).
    pub index: usize,
    /// REST.
    pub api: Api,
    /// Counters.
    pub stats: Arc<Stats>,
    /// Its tokens.
    pub tokens: TokenKeeper,
    /// After this long without an ending, a trip is cancelled as stuck.
    pub patience: Duration,
}

impl Passenger {
    /// Serves trip requests from `requests` until `stop` turns true, announcing itself on `idle`
    /// whenever it is free.
    ///
    /// # Errors
    /// A lost connection.
    pub async fn run(
        mut self,
        mut client: SioClient,
        mut requests: mpsc::Receiver<TripRequest>,
        idle: mpsc::Sender<usize>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), String> {
        let outcome = self
            .serve(&mut client, &mut requests, &idle, &mut stop)
            .await;
        client.close().await;
        outcome
    }

    async fn serve(
        &mut self,
        client: &mut SioClient,
        requests: &mut mpsc::Receiver<TripRequest>,
        idle: &mpsc::Sender<usize>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), String> {
        loop {
            if idle.send(self.index).await.is_err() {
                return Ok(());
            }
            // Idle: wait for a trip, keep the token fresh and the event buffer empty.
            let request = loop {
                let wait = self
                    .tokens
                    .due()
                    .map_or(Duration::from_secs(1), |at| {
                        at.saturating_duration_since(Instant::now())
                    })
                    .min(Duration::from_secs(1));
                tokio::select! {
                    biased;
                    () = crate::stop::stopped(stop) => return Ok(()),
                    request = requests.recv() => match request {
                        Some(request) => break request,
                        None => return Ok(()),
                    },
                    () = tokio::time::sleep(wait) => {
                        client.drain_events();
                        if !client.is_connected() {
                            return Err("passenger socket closed".to_owned());
                        }
                        let api = self.api.clone();
                        self.tokens.refresh_if_due(&api, client).await?;
                    }
                }
            };
            self.ride(client, request, stop).await?;
        }
    }

    /// Requests one trip and follows it to its end.
    async fn ride(
        &mut self,
        client: &mut SioClient,
        request: TripRequest,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), String> {
        let stats = Arc::clone(&self.stats);
        client.drain_events();
        let body = json!({
            "pickup": {"latitude": request.pickup.lat, "longitude": request.pickup.lon},
            "dropoff": {"latitude": request.dropoff.lat, "longitude": request.dropoff.lon},
            "paymentMethod": "cash",
        });
        let reply = client
            .emit_with_ack("trip:request", body, ACK_TIMEOUT)
            .await
            .map_err(|e| format!("trip:request: {e}"))?;
        if reply["ok"] != true {
            stats.error(format!("trip:request refused: {}", reply["error"]));
            return Ok(());
        }
        let Some(trip_id) = reply["data"]["id"].as_str().map(str::to_owned) else {
            stats.error(format!("trip:request answered without an id: {reply}"));
            return Ok(());
        };
        let requested = Instant::now();
        stats.trips_requested.incr();
        stats.passengers_riding.up();
        let status = reply["data"]["status"].as_str().unwrap_or("");
        let ending = match ending_of_status(status) {
            Some(ending) => ending,
            None => self.follow(client, &trip_id, requested, stop).await?,
        };
        stats.passengers_riding.down();
        match ending {
            Ending::Completed => stats.trips_completed.incr(),
            Ending::NoDriver => stats.trips_no_driver.incr(),
            Ending::Cancelled => stats.trips_cancelled.incr(),
            Ending::Unfinished => stats.trips_unfinished.incr(),
        }
        Ok(())
    }

    async fn follow(
        &mut self,
        client: &mut SioClient,
        trip_id: &str,
        requested: Instant,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Ending, String> {
        let deadline = requested + self.patience;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let event = tokio::select! {
                biased;
                () = crate::stop::stopped(stop) => {
                    let ending = self.cancel(client, trip_id, "simulation ended").await?;
                    return Ok(if ending == Ending::Cancelled { Ending::Unfinished } else { ending });
                }
                event = client.next_event(wait) => event,
            };
            match event {
                Ok(event) => {
                    let data = event.data();
                    if event.name == "trip:driver_assigned" && data["tripId"] == trip_id {
                        self.stats.trips_assigned.incr();
                        self.stats.request_to_assigned.record(requested.elapsed());
                    }
                    if let Some(ending) = ending_of(&event.name, data, trip_id) {
                        return Ok(ending);
                    }
                }
                Err(ClientError::Timeout) => {
                    self.stats.error(format!(
                        "trip {trip_id} had not ended after {:?}",
                        self.patience
                    ));
                    return self
                        .cancel(client, trip_id, "simulated passenger gave up")
                        .await;
                }
                Err(e) => return Err(format!("passenger socket: {e}")),
            }
        }
    }

    /// `trip:cancel`; if the trip ended meanwhile, the ending that came instead.
    async fn cancel(
        &mut self,
        client: &mut SioClient,
        trip_id: &str,
        reason: &str,
    ) -> Result<Ending, String> {
        let reply = client
            .emit_with_ack(
                "trip:cancel",
                json!({"tripId": trip_id, "reason": reason}),
                ACK_TIMEOUT,
            )
            .await
            .map_err(|e| format!("trip:cancel: {e}"))?;
        if reply["ok"] == true {
            return Ok(Ending::Cancelled);
        }
        // Refused: the trip reached a final state first; its event says which.
        for event in client.drain_events() {
            if let Some(ending) = ending_of(&event.name, event.data(), trip_id) {
                return Ok(ending);
            }
        }
        let status = reply["error"]["details"]["from"].as_str().unwrap_or("");
        Ok(ending_of_status(status).unwrap_or(Ending::Cancelled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_final_events_of_the_followed_trip_end_it() {
        let mine = json!({"tripId": "t1"});
        let other = json!({"tripId": "t2"});
        assert_eq!(
            ending_of("trip:completed", &mine, "t1"),
            Some(Ending::Completed)
        );
        assert_eq!(
            ending_of("trip:no_drivers_found", &mine, "t1"),
            Some(Ending::NoDriver)
        );
        assert_eq!(
            ending_of("trip:cancelled", &mine, "t1"),
            Some(Ending::Cancelled)
        );
        assert_eq!(ending_of("trip:completed", &other, "t1"), None);
        assert_eq!(ending_of("trip:started", &mine, "t1"), None);
        assert_eq!(ending_of_status("assigning"), None);
        assert_eq!(ending_of_status("no_drivers_found"), Some(Ending::NoDriver));
    }
}
