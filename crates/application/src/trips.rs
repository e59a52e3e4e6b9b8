//! Trip use cases: request, read, and the driver's and passenger's steps through the trip.
//! Offers and dispatch live in [`crate::dispatch`], on the same service.

use std::sync::Arc;

use rodando_domain::availability::{DriverAvailability, TripStanding};
use rodando_domain::dispatch::DispatchPolicy;
use rodando_domain::fare::FareConfig;
use rodando_domain::ids::{DriverId, PassengerId, TripId};
use rodando_domain::offer::{Offer, OfferError};
use rodando_domain::trip::{Actor, PaymentMethod, Place, Trip, TripError, TripStatus};
use rodando_ports::Unexpected;
use rodando_ports::availability::{AvailabilityRepository, NearestQuery};
use rodando_ports::clock::Clock;
use rodando_ports::notifier::{Notifier, TripAudience, TripEvent};
use rodando_ports::trips::{
    AvailabilityChange, CreateTripError, DispatchConflict, DispatchWrite, Idempotency,
    TripRepository, TripTransition,
};
use rodando_ports::users::UserRepository;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Attempts before a step that keeps losing races to concurrent writers gives up.
pub(crate) const MAX_ATTEMPTS: usize = 8;

/// A validated trip request.
#[derive(Debug, Clone, PartialEq)]
pub struct TripRequest {
    /// Start.
    pub pickup: Place,
    /// End.
    pub dropoff: Place,
    /// How it is paid.
    pub payment_method: PaymentMethod,
}

/// Measured figures a driver may send when completing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TripActuals {
    /// Kilometres driven.
    pub distance_km: Option<f64>,
    /// Minutes driven.
    pub duration_min: Option<f64>,
}

/// Why a trip command failed.
#[derive(Debug, thiserror::Error)]
pub enum TripCommandError {
    /// No such trip or offer visible to the caller.
    #[error("not found")]
    NotFound,
    /// The caller may not do this.
    #[error("not allowed")]
    Forbidden,
    /// The passenger already has an active trip.
    #[error("the passenger already has an active trip")]
    ActiveTripExists,
    /// Same idempotency key, different body.
    #[error("idempotency key reused with a different request")]
    IdempotencyMismatch,
    /// The trip is not in a state this step can leave from.
    #[error("a {} trip cannot become {}", from.as_str(), to.as_str())]
    InvalidTransition {
        /// Current status.
        from: TripStatus,
        /// Wanted status.
        to: TripStatus,
    },
    /// The offer is no longer open, or expired.
    #[error("{0}")]
    Offer(OfferError),
    /// The driver cannot take a trip now (holding another one).
    #[error("the driver is on another trip")]
    DriverBusy,
    /// The caller's account is no longer active (banned or deactivated meanwhile).
    #[error("the account is not active")]
    UserInactive,
    /// The trip or offer changed while this command ran; the client may retry.
    #[error("the trip changed meanwhile; retry")]
    Changed,
    /// A port failed; nothing was changed by this command.
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

impl From<TripError> for TripCommandError {
    fn from(e: TripError) -> Self {
        match e {
            TripError::Forbidden => Self::Forbidden,
            TripError::InvalidTransition { from, to } => Self::InvalidTransition { from, to },
        }
    }
}

impl From<CreateTripError> for TripCommandError {
    fn from(e: CreateTripError) -> Self {
        match e {
            CreateTripError::ActiveTripExists => Self::ActiveTripExists,
            CreateTripError::IdempotencyMismatch => Self::IdempotencyMismatch,
            CreateTripError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

service! {
    /// Trips and dispatch.
    pub struct TripService {
        pub(crate) trips: Arc<dyn TripRepository>,
        pub(crate) availability: Arc<dyn AvailabilityRepository>,
        pub(crate) users: Arc<dyn UserRepository>,
        pub(crate) notifier: Arc<dyn Notifier>,
        pub(crate) clock: Arc<dyn Clock>,
        pub(crate) policy: DispatchPolicy,
        pub(crate) fares: FareConfig,
        pub(crate) presence_ttl: Duration,
    }
}

impl TripService {
    /// A passenger requests a trip; dispatch starts at once. A replay of the same
    /// idempotency key and body returns the trip created then, and dispatches nothing.
    ///
    /// # Errors
    /// [`TripCommandError::ActiveTripExists`], [`TripCommandError::IdempotencyMismatch`], or
    /// [`TripCommandError::Unexpected`].
    pub async fn request(
        &self,
        passenger: PassengerId,
        request: TripRequest,
        idempotency: Option<Idempotency>,
    ) -> Result<Trip, TripCommandError> {
        let now = self.clock.now();
        let estimate = self
            .fares
            .estimate(&request.pickup.point, &request.dropoff.point);
        let trip = Trip::request(
            TripId::from_uuid(Uuid::now_v7()),
            passenger,
            request.pickup,
            request.dropoff,
            request.payment_method,
            estimate,
            self.fares.currency,
            now,
        );
        let stored = self.trips.create(&trip, idempotency).await?;
        if stored.id() != trip.id() {
            return Ok(stored);
        }
        tracing::info!(trip_id = %trip.id(), passenger_id = %passenger, "trip requested");
        self.announce(&stored, TripEvent::Requested(stored.clone()))
            .await;
        Ok(self.dispatch_or_retry(stored).await)
    }

    /// The trip, if `actor` may see it (its passenger, its driver, an admin).
    ///
    /// # Errors
    /// [`TripCommandError::NotFound`] when missing or not visible.
    pub async fn get(&self, actor: Actor, trip: TripId) -> Result<Trip, TripCommandError> {
        self.trips
            .find(trip)
            .await?
            .filter(|t| t.visible_to(actor))
            .ok_or(TripCommandError::NotFound)
    }

    /// The assigned driver is at the pickup.
    ///
    /// # Errors
    /// See [`TripCommandError`].
    pub async fn arrive(&self, actor: Actor, trip: TripId) -> Result<Trip, TripCommandError> {
        let current = self.get(actor, trip).await?;
        let mut next = current.arrive(actor, self.clock.now())?;
        if next == current {
            return Ok(next);
        }
        next.set_seq(self.write_trip(&current, &next).await?);
        self.announce(&next, TripEvent::DriverArrived(next.clone()))
            .await;
        Ok(next)
    }

    /// The passenger is on board.
    ///
    /// # Errors
    /// See [`TripCommandError`].
    pub async fn start(&self, actor: Actor, trip: TripId) -> Result<Trip, TripCommandError> {
        let current = self.get(actor, trip).await?;
        let mut next = current.start(actor, self.clock.now())?;
        next.set_seq(self.write_trip(&current, &next).await?);
        self.announce(&next, TripEvent::Started(next.clone())).await;
        Ok(next)
    }

    /// The trip is done: final fare from the actuals if given, else the estimate; the driver
    /// is free again.
    ///
    /// # Errors
    /// See [`TripCommandError`].
    pub async fn complete(
        &self,
        actor: Actor,
        trip: TripId,
        actuals: TripActuals,
    ) -> Result<Trip, TripCommandError> {
        let current = self.get(actor, trip).await?;
        let fare = match (actuals.distance_km, actuals.duration_min) {
            (None, None) => current.fare_estimate(),
            (km, min) => self.fares.fare(km.unwrap_or(0.0), min.unwrap_or(0.0)),
        };
        let now = self.clock.now();
        let next = current.complete(actor, fare, now)?;
        self.end_trip(&current, next, TripEvent::Completed).await
    }

    /// Cancels the trip (who may, and when, is the domain's rule) and frees its driver.
    ///
    /// # Errors
    /// See [`TripCommandError`].
    pub async fn cancel(
        &self,
        actor: Actor,
        trip: TripId,
        reason: Option<String>,
    ) -> Result<Trip, TripCommandError> {
        let current = self.get(actor, trip).await?;
        let next = current.cancel(actor, reason, self.clock.now())?;
        self.end_trip(&current, next, TripEvent::Cancelled).await
    }

    /// Available drivers near a point, nearest first (the admin's `GET /api/drivers/available`).
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    pub async fn available_near(
        &self,
        origin: rodando_domain::geo::GeoPoint,
        radius_m: f64,
        limit: usize,
    ) -> Result<Vec<rodando_domain::dispatch::Candidate>, Unexpected> {
        self.availability
            .nearest_available(&NearestQuery {
                origin,
                radius_m,
                limit,
                now: self.clock.now(),
                freshness: self.presence_ttl,
                exclude: Vec::new(),
            })
            .await
    }

    /// What the availability rules need to know of a trip.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    pub async fn standing(&self, trip: TripId) -> Result<TripStanding, Unexpected> {
        Ok(self
            .trips
            .find(trip)
            .await?
            .map_or(TripStanding::External, |t| t.standing()))
    }

    /// Stores a trip change guarded by its current status, announcing one event; returns the
    /// trip's seq after it.
    async fn write_trip(&self, current: &Trip, next: &Trip) -> Result<u64, TripCommandError> {
        let write = DispatchWrite {
            trip: Some(TripTransition {
                expected: current.status(),
                next: next.clone(),
            }),
            events: 1,
            ..DispatchWrite::default()
        };
        let applied = self.trips.apply(&write).await.map_err(conflict)?;
        Ok(applied.seq.unwrap_or(current.seq() + 1))
    }

    /// Completion or cancellation: the trip ends, open offers are withdrawn and the driver is
    /// released, all in one write (retried if the driver's row moved meanwhile).
    async fn end_trip(
        &self,
        current: &Trip,
        mut next: Trip,
        event: fn(Trip) -> TripEvent,
    ) -> Result<Trip, TripCommandError> {
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let release = match current.driver_id() {
                Some(driver) => self.release_driver(driver, current.id(), now).await?,
                None => None,
            };
            let write = DispatchWrite {
                trip: Some(TripTransition {
                    expected: current.status(),
                    next: next.clone(),
                }),
                availability: release.clone(),
                withdraw_open_offers_at: Some(now),
                events: 1,
                ..DispatchWrite::default()
            };
            match self.trips.apply(&write).await {
                Ok(applied) => {
                    next.set_seq(applied.seq.unwrap_or(current.seq() + 1));
                    let withdrawn = applied.withdrawn;
                    tracing::info!(trip_id = %next.id(), status = next.status().as_str(), seq = next.seq(), "trip ended");
                    self.announce(&next, event(next.clone())).await;
                    self.tell_withdrawn(&next, withdrawn).await;
                    if let Some(change) = release {
                        self.driver_trip_changed(&change.next).await;
                    }
                    return Ok(next);
                }
                Err(DispatchConflict::DriverChanged) => continue,
                Err(other) => return Err(conflict(other)),
            }
        }
        Err(TripCommandError::Changed)
    }

    /// The availability change freeing `driver` from `trip`, if it still holds it.
    async fn release_driver(
        &self,
        driver: DriverId,
        trip: TripId,
        now: OffsetDateTime,
    ) -> Result<Option<AvailabilityChange>, Unexpected> {
        let row = self.availability.load_or_create(driver, now).await?;
        Ok(row
            .state
            .finish_trip(trip, now)
            .map(|next| AvailabilityChange {
                expected_version: row.version,
                next,
            }))
    }

    /// Pushes a trip event as the trip's latest (its [`Trip::seq`]); a failed push is
    /// logged, never undoes the stored change.
    pub(crate) async fn announce(&self, trip: &Trip, event: TripEvent) {
        self.announce_to(TripAudience::from(trip), trip.seq(), event)
            .await;
    }

    pub(crate) async fn announce_to(&self, audience: TripAudience, seq: u64, event: TripEvent) {
        if let Err(e) = self.notifier.trip_event(audience, seq, &event).await {
            tracing::warn!(trip_id = %audience.trip_id, seq, error = %e, "trip event stored but not pushed");
        }
    }

    /// Drivers whose open offer was withdrawn learn the trip is gone: the `trip:cancelled` of
    /// the trip's latest event, told to them privately (same seq).
    pub(crate) async fn tell_withdrawn(&self, trip: &Trip, withdrawn: Vec<Offer>) {
        for offer in withdrawn {
            let audience = TripAudience {
                trip_id: trip.id(),
                passenger_id: trip.passenger_id(),
                driver_id: Some(offer.driver_id()),
            };
            self.announce_to(audience, trip.seq(), TripEvent::OfferWithdrawn(offer))
                .await;
        }
    }

    pub(crate) async fn driver_trip_changed(&self, snapshot: &DriverAvailability) {
        if let Err(e) = self.notifier.driver_trip_changed(snapshot).await {
            tracing::warn!(driver_id = %snapshot.driver_id, error = %e, "driver trip change not pushed");
        }
    }
}

/// Maps a lost guard to the error a caller sees.
pub(crate) fn conflict(e: DispatchConflict) -> TripCommandError {
    match e {
        DispatchConflict::Unexpected(e) => TripCommandError::Unexpected(e),
        DispatchConflict::OfferNotOpen => TripCommandError::Offer(OfferError::NotOpen),
        DispatchConflict::TripHeldByAnother => TripCommandError::DriverBusy,
        DispatchConflict::DriverInactive => TripCommandError::UserInactive,
        DispatchConflict::TripChanged
        | DispatchConflict::TripHasOpenOffer
        | DispatchConflict::DriverHasOpenOffer
        | DispatchConflict::DriverChanged
        | DispatchConflict::DriverNotMatchable => TripCommandError::Changed,
    }
}
