//! Driver availability use cases: status, location, trip, and the fleet snapshot.
//!
//! Each command runs: load (creating the row on first use) → apply the pure rule → if anything
//! changed, compare-and-set → notify what a client can see changed. A lost race reloads and
//! applies again, so concurrent pings and status changes never lose an update. A location ping
//! is handed to the store whole ([`AvailabilityRepository::record_location`]), which may accept
//! it in memory and write it behind.

use std::sync::Arc;

use rodando_domain::availability::{
    AvailabilityStatus, Change, DriverAvailability, LocationFix, RuleViolation, StatusCommand,
    TripStanding,
};
use rodando_domain::ids::{DriverId, TripId};
use rodando_ports::Unexpected;
use rodando_ports::availability::{AvailabilityRepository, CasError};
use rodando_ports::clock::Clock;
use rodando_ports::connections::DriverConnections;
use rodando_ports::notifier::Notifier;
use rodando_ports::trips::TripStandingLookup;
use time::OffsetDateTime;

use crate::en_route::{EnRouteTracker, TrackedPing};
use crate::trips::TripService;

/// Attempts before a command that keeps losing compare-and-set races gives up. Each loss means
/// another write for the same driver landed, so this is only reached under pathological load.
const MAX_ATTEMPTS: usize = 8;

/// Why an availability command failed.
#[derive(Debug, thiserror::Error)]
pub enum AvailabilityError {
    /// A rule of PROTOCOL §6 refused it.
    #[error(transparent)]
    Rule(#[from] RuleViolation),
    /// Another driver holds that trip.
    #[error("another driver holds that trip")]
    TripHeldByAnother,
    /// A port failed (or the row stayed contended): nothing was changed by this command.
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

/// A driver's command that goes through the rules and a compare-and-set. Pings do not: the
/// store applies them ([`AvailabilityRepository::record_location`]).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Command {
    Status(StatusCommand),
    SetTrip(Option<TripId>),
}

service! {
    /// Driver availability use cases.
    pub struct AvailabilityService {
        repo: Arc<dyn AvailabilityRepository>,
        trips: Arc<dyn TripStandingLookup>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
        ..
        /// Releases the open offer of a driver who goes OFFLINE or BUSY (see
        /// [`AvailabilityService::releasing_offers_with`]).
        offers: Option<TripService> = None,
        /// Turns the pings of drivers on a trip into `trip:driver_en_route` (see
        /// [`AvailabilityService::tracking_trips_with`]).
        tracker: Option<EnRouteTracker> = None,
    }
}

impl AvailabilityService {
    /// A driver who goes OFFLINE or BUSY while holding an open offer releases it at once
    /// through `trips` (closed as rejected, `driver_offline` / `driver_busy`; the trip moves to
    /// the next candidate) instead of leaving the passenger to wait out its deadline.
    #[must_use]
    pub fn releasing_offers_with(mut self, trips: TripService) -> Self {
        self.offers = Some(trips);
        self
    }

    /// The pings of a driver whose availability holds a trip (`currentTripId`) go to `tracker`,
    /// which sends them to the trip's passenger and watching admins while the trip is arriving
    /// or in progress. Drivers without a trip cost no extra work (see [`crate::en_route`]).
    #[must_use]
    pub fn tracking_trips_with(mut self, tracker: EnRouteTracker) -> Self {
        self.tracker = Some(tracker);
        self
    }

    /// `driver:status:update`.
    ///
    /// # Errors
    /// See [`AvailabilityError`].
    pub async fn update_status(
        &self,
        driver: DriverId,
        status: StatusCommand,
    ) -> Result<DriverAvailability, AvailabilityError> {
        let next = self.execute(driver, Command::Status(status)).await?;
        let reason = match next.status() {
            AvailabilityStatus::Offline => Some("driver_offline"),
            AvailabilityStatus::Busy if next.current_trip_id.is_none() => Some("driver_busy"),
            _ => None,
        };
        if let (Some(reason), Some(trips)) = (reason, &self.offers)
            && let Err(e) = trips.release_open_offer(driver, reason).await
        {
            // The offer then runs out its deadline, as before; the status change stands.
            tracing::warn!(driver_id = %driver, error = %e, "open offer not released");
        }
        Ok(next)
    }

    /// A socket of the driver was admitted (after it joined its rooms, so a concurrent
    /// [`AvailabilityService::driver_disconnected`] on another node sees it): the driver can
    /// hear offers again. Not news to clients.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails or the row stays contended.
    pub async fn driver_connected(&self, driver: DriverId) -> Result<(), Unexpected> {
        self.set_connected(driver, true, None).await
    }

    /// A socket of the driver closed. When `connections` says no other socket of the driver
    /// is left on any node, the driver stops being matchable (it stays online until the
    /// presence TTL; an open offer stays open until its deadline). Races with a reconnect are
    /// settled by the compare-and-set: a connect written after the check fails this write,
    /// which then checks again.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails or `connections` cannot tell.
    pub async fn driver_disconnected(
        &self,
        driver: DriverId,
        connections: &dyn DriverConnections,
    ) -> Result<(), Unexpected> {
        self.set_connected(driver, false, Some(connections)).await
    }

    async fn set_connected(
        &self,
        driver: DriverId,
        connected: bool,
        connections: Option<&dyn DriverConnections>,
    ) -> Result<(), Unexpected> {
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let current = self.repo.load_or_create(driver, now).await?;
            if current.state.is_connected == connected {
                return Ok(());
            }
            if let Some(connections) = connections
                && connections.is_connected(driver).await?
            {
                return Ok(());
            }
            let next = if connected {
                current.state.connect(now)
            } else {
                current.state.disconnect(now)
            };
            match self.repo.compare_and_set(current.version, &next).await {
                Ok(_) => return Ok(()),
                Err(e) => e.retry_if_stale("connection change")?,
            }
        }
        Err(CasError::contended(driver, MAX_ATTEMPTS))
    }

    /// `driver:location:ping`.
    ///
    /// # Errors
    /// See [`AvailabilityError`].
    pub async fn ping_location(
        &self,
        driver: DriverId,
        fix: LocationFix,
    ) -> Result<DriverAvailability, AvailabilityError> {
        // Accepted by the store (PostgreSQL writes positions behind, see
        // docs/positions.md); never a rule violation, never a trip change.
        let pinged = self
            .repo
            .record_location(driver, &fix, self.clock.now())
            .await?;
        if pinged.before.change_to(&pinged.after).location {
            self.broadcast(
                &pinged.after,
                self.notifier.driver_location_changed(&pinged.after),
            )
            .await;
        }
        if let (Some(tracker), Some(trip), Some(position)) = (
            &self.tracker,
            pinged.after.current_trip_id,
            pinged.after.last_location,
        ) {
            tracker.track(TrackedPing {
                driver,
                trip,
                position,
                heading_deg: fix.heading_deg,
                speed_kph: fix.speed_kph,
            });
        }
        Ok(pinged.after)
    }

    /// `driver:trip:set` (`None` clears the trip).
    ///
    /// # Errors
    /// See [`AvailabilityError`].
    pub async fn set_trip(
        &self,
        driver: DriverId,
        trip: Option<TripId>,
    ) -> Result<DriverAvailability, AvailabilityError> {
        self.execute(driver, Command::SetTrip(trip)).await
    }

    /// Every online driver's snapshot (`admin:drivers:snapshot`).
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    pub async fn online_snapshot(&self) -> Result<Vec<DriverAvailability>, Unexpected> {
        self.repo.list_online().await
    }

    /// The driver's current snapshot, created OFFLINE if never seen (for `hello`-time state).
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    pub async fn snapshot(&self, driver: DriverId) -> Result<DriverAvailability, Unexpected> {
        Ok(self
            .repo
            .load_or_create(driver, self.clock.now())
            .await?
            .state)
    }

    async fn execute(
        &self,
        driver: DriverId,
        command: Command,
    ) -> Result<DriverAvailability, AvailabilityError> {
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let current = self.repo.load_or_create(driver, now).await?;
            let next = self.apply(&current.state, command, now).await?;
            if next == current.state {
                return Ok(next);
            }
            match self.repo.compare_and_set(current.version, &next).await {
                Ok(_) => {
                    self.announce(command, current.state.change_to(&next), &next)
                        .await;
                    return Ok(next);
                }
                Err(CasError::Stale) => continue,
                Err(CasError::TripHeldByAnother) => {
                    return Err(AvailabilityError::TripHeldByAnother);
                }
                Err(CasError::Unexpected(e)) => return Err(e.into()),
            }
        }
        Err(CasError::contended(driver, MAX_ATTEMPTS).into())
    }

    async fn apply(
        &self,
        state: &DriverAvailability,
        command: Command,
        now: OffsetDateTime,
    ) -> Result<DriverAvailability, AvailabilityError> {
        Ok(match command {
            Command::Status(status) => {
                let held = self.standing_of(state.current_trip_id).await?;
                state.set_status(status, held, now)?
            }
            Command::SetTrip(Some(trip)) => {
                let target = self.trips.standing(trip).await?;
                let held = self.standing_of(state.current_trip_id).await?;
                state.set_trip(trip, target, held, now)?
            }
            Command::SetTrip(None) => {
                let held = self.standing_of(state.current_trip_id).await?;
                state.clear_trip(held, now)?
            }
        })
    }

    async fn standing_of(&self, trip: Option<TripId>) -> Result<TripStanding, Unexpected> {
        match trip {
            Some(trip) => self.trips.standing(trip).await,
            None => Ok(TripStanding::External),
        }
    }

    /// One event per command, and only when a client can see the difference.
    async fn announce(&self, command: Command, change: Change, next: &DriverAvailability) {
        match command {
            Command::Status(_) if change.status || change.trip => {
                self.broadcast(next, self.notifier.driver_availability_changed(next))
                    .await;
            }
            Command::SetTrip(_) if change.trip || change.status => {
                self.broadcast(next, self.notifier.driver_trip_changed(next))
                    .await;
            }
            _ => {}
        }
    }

    /// A broadcast of what the store already accepted: a failure is logged, never the
    /// command's (the client's ack stands; the admins' next snapshot repairs their view).
    async fn broadcast(
        &self,
        next: &DriverAvailability,
        sent: impl Future<Output = Result<(), Unexpected>>,
    ) {
        if let Err(e) = sent.await {
            tracing::warn!(driver_id = %next.driver_id, error = %e, "availability stored but not broadcast");
        }
    }
}
