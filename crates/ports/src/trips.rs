//! The trip and offer store, with dispatch's atomic writes.
//!
//! Every change dispatch makes is one [`DispatchWrite`], applied all-or-nothing and guarded by
//! what the application last read (the trip's status, the offer being open, the driver's
//! availability version), so no interleaving of requests, accepts, rejects, expiries and
//! cancels, on one node or many, double-assigns a trip or a driver.

use async_trait::async_trait;
use rodando_domain::availability::{DriverAvailability, TripStanding};
use rodando_domain::ids::{DriverId, OfferId, PassengerId, TripId};
use rodando_domain::offer::Offer;
use rodando_domain::trip::{Trip, TripStatus};
use rodando_domain::trip_list::TripListQuery;
use time::OffsetDateTime;

use crate::Unexpected;

/// Answers "was this trip dispatched by this server, to whom, and is it still active?".
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TripStandingLookup: Send + Sync {
    /// [`TripStanding::External`] for an id this server never dispatched.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn standing(&self, trip: TripId) -> Result<TripStanding, Unexpected>;
}

/// The `Idempotency-Key` of a trip request and a fingerprint of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The client's key (bounded by the transport).
    pub key: String,
    /// A digest of the request body: the same key with another body is refused.
    pub fingerprint: String,
}

/// Why a trip could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateTripError {
    /// The passenger already has a trip that is not finished.
    #[error("the passenger already has an active trip")]
    ActiveTripExists,
    /// The idempotency key was used before with a different body.
    #[error("idempotency key reused with a different request")]
    IdempotencyMismatch,
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

/// A trip change guarded by the status it was read in.
#[derive(Debug, Clone, PartialEq)]
pub struct TripTransition {
    /// The status the trip must still have.
    pub expected: TripStatus,
    /// The trip to store.
    pub next: Trip,
}

/// An availability change guarded by the version it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct AvailabilityChange {
    /// The version the row must still have.
    pub expected_version: u64,
    /// The state to store.
    pub next: DriverAvailability,
}

/// Everything one dispatch step writes, atomically.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DispatchWrite {
    /// A guarded trip change.
    pub trip: Option<TripTransition>,
    /// A new open offer (one open offer per trip and per driver). Guarded in the same write:
    /// the trip must be `assigning` (after this write's `trip` change, if any) and the driver
    /// still available for trips and connected, and its user active, so a cancel, another trip
    /// taken or a ban between the candidate read and this write leaves no offer behind.
    pub new_offer: Option<Offer>,
    /// A change to an offer that must still be open (accept, reject, expire). An acceptance
    /// also needs the driver's user still active, so no trip goes to a driver banned or
    /// deactivated after it was offered.
    pub offer: Option<Offer>,
    /// A guarded availability change (taking or releasing a trip).
    pub availability: Option<AvailabilityChange>,
    /// Close every other open offer of the trip as cancelled, at this time.
    pub withdraw_open_offers_at: Option<OffsetDateTime>,
    /// How many events of the trip's stream this write announces: the trip's
    /// [`Trip::seq`] grows by this much in the same write (the trip is the one of `trip`,
    /// else of `new_offer`, else of `offer`). A private event (an offer to its driver) adds
    /// nothing.
    pub events: u32,
}

/// What a [`DispatchWrite`] did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Applied {
    /// The offers `withdraw_open_offers_at` closed (so their drivers can be told).
    pub withdrawn: Vec<Offer>,
    /// The trip's [`Trip::seq`] after the write; `None` when the write concerned no trip.
    pub seq: Option<u64>,
}

impl DispatchWrite {
    /// The trip whose stream this write numbers: that of `trip`, else `new_offer`, else `offer`.
    pub fn trip_id(&self) -> Option<TripId> {
        self.trip
            .as_ref()
            .map(|t| t.next.id())
            .or(self.new_offer.as_ref().map(|o| o.trip_id()))
            .or(self.offer.as_ref().map(|o| o.trip_id()))
    }
}

/// Why a [`DispatchWrite`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum DispatchConflict {
    /// The trip is no longer in the expected status.
    #[error("the trip changed meanwhile")]
    TripChanged,
    /// The offer is no longer open (answered, expired or withdrawn).
    #[error("the offer is no longer open")]
    OfferNotOpen,
    /// The trip already has an open offer.
    #[error("the trip already has an open offer")]
    TripHasOpenOffer,
    /// The driver already has an open offer.
    #[error("the driver already has an open offer")]
    DriverHasOpenOffer,
    /// The driver's availability changed meanwhile.
    #[error("the driver's availability changed meanwhile")]
    DriverChanged,
    /// Another driver holds the trip.
    #[error("another driver holds the trip")]
    TripHeldByAnother,
    /// The driver of a new offer is no longer available for trips, not connected, or its user
    /// is not active.
    #[error("the driver can no longer be offered a trip")]
    DriverNotMatchable,
    /// The driver accepting an offer is no longer an active user (banned or deactivated).
    #[error("the driver's account is not active")]
    DriverInactive,
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

/// What [`TripRepository::unattended`] asks for: up to `limit` trips still waiting for a
/// driver that nobody is acting on, oldest request first: `pending` or `assigning` with no
/// open offer, and quiet (no request, no offer closed) since `now - quiet`; and every waiting
/// trip requested at or before `now - timeout`, open offer or not, flagged
/// [`UnattendedTrip::timed_out`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnattendedQuery {
    /// The store's "now".
    pub now: OffsetDateTime,
    /// How long a trip may wait with nothing happening.
    pub quiet: time::Duration,
    /// How long a trip may wait at all (`DISPATCH_TIMEOUT_SEC`).
    pub timeout: time::Duration,
    /// How many trips at most.
    pub limit: usize,
}

/// A trip dispatch must act on (see [`TripRepository::unattended`]).
#[derive(Debug, Clone, PartialEq)]
pub struct UnattendedTrip {
    /// The trip, `pending` or `assigning`.
    pub trip: Trip,
    /// Requested at least the assignment timeout ago: give up rather than offer again.
    pub timed_out: bool,
}

/// Trips and offers.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TripRepository: Send + Sync {
    /// Stores a new pending trip. With an idempotency key already used by the same passenger
    /// and body, returns the trip stored then instead (no second trip).
    ///
    /// # Errors
    /// [`CreateTripError::ActiveTripExists`] when the passenger has an active trip;
    /// [`CreateTripError::IdempotencyMismatch`] when the key was used with another body;
    /// [`CreateTripError::Unexpected`] when the store fails.
    async fn create(
        &self,
        trip: &Trip,
        idempotency: Option<Idempotency>,
    ) -> Result<Trip, CreateTripError>;

    /// The trip, if any.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn find(&self, id: TripId) -> Result<Option<Trip>, Unexpected>;

    /// The passenger's trip that is not finished, if any.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn active_for_passenger(
        &self,
        passenger: PassengerId,
    ) -> Result<Option<Trip>, Unexpected>;

    /// Up to `query.limit` trips that [`TripListQuery::admits`], in list order (newest request
    /// first, the greater id first among equal times; see
    /// [`TripKey`](rodando_domain::trip_list::TripKey)). Keyset paging: trips
    /// stored after an earlier page was read never shift a page that starts at a key.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn list(&self, query: &TripListQuery) -> Result<Vec<Trip>, Unexpected>;

    /// The offer, if any.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn find_offer(&self, id: OfferId) -> Result<Option<Offer>, Unexpected>;

    /// Every offer made for the trip, oldest first.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn offers_for_trip(&self, trip: TripId) -> Result<Vec<Offer>, Unexpected>;

    /// The driver's open offer, if any (at most one).
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn open_offer_of(&self, driver: DriverId) -> Result<Option<Offer>, Unexpected>;

    /// The trips still waiting for a driver that nobody is acting on (see [`UnattendedQuery`]).
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn unattended(&self, query: &UnattendedQuery) -> Result<Vec<UnattendedTrip>, Unexpected>;

    /// The store's own clock (PostgreSQL `now()`; the memory store's clock), to microseconds.
    /// Every offer deadline is set from it and compared against it, so nodes whose clocks are
    /// skewed still agree on whether an offer is open.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn now(&self) -> Result<OffsetDateTime, Unexpected>;

    /// Up to `limit` open offers whose deadline is at or before `now` (read from
    /// [`TripRepository::now`]), oldest deadline first.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn due_offers(&self, now: OffsetDateTime, limit: usize)
    -> Result<Vec<Offer>, Unexpected>;

    /// Applies every part of `write` or none, and adds [`DispatchWrite::events`] to the trip's
    /// [`Trip::seq`] in the same write (the stored `seq` wins over the one `write.trip.next`
    /// holds). Returns the offers withdrawn by `withdraw_open_offers_at` (so their drivers can
    /// be told) and the trip's seq after the write.
    ///
    /// # Errors
    /// The first [`DispatchConflict`] found; nothing is written then.
    async fn apply(&self, write: &DispatchWrite) -> Result<Applied, DispatchConflict>;
}
