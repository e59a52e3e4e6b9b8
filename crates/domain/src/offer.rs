//! Offers ("assignments" on the wire): a trip offered to one driver with a deadline.
//!
//! `offered → accepted | rejected | expired | cancelled`; only an open offer moves, and stores
//! apply each move guarded by `status = offered`, so of 50 simultaneous accepts (or an accept
//! racing the expiry scanner) exactly one wins.

use time::{Duration, OffsetDateTime};

use crate::ids::{DriverId, OfferId, TripId};
use crate::user::UnknownVariant;

/// Where an offer is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferStatus {
    /// Waiting for the driver.
    Offered,
    /// The driver took the trip.
    Accepted,
    /// The driver declined.
    Rejected,
    /// The deadline passed.
    Expired,
    /// The trip ended (cancelled or taken) before the driver answered.
    Cancelled,
}

impl OfferStatus {
    /// Storage name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the storage name.
    ///
    /// # Errors
    /// [`UnknownVariant`] for an unknown status.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        [
            Self::Offered,
            Self::Accepted,
            Self::Rejected,
            Self::Expired,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
        .ok_or(UnknownVariant)
    }
}

/// Why a driver's answer to an offer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// The offer was made to another driver.
    #[error("this offer was made to another driver")]
    NotYours,
    /// The offer was already answered, expired or withdrawn.
    #[error("this offer is no longer open")]
    NotOpen,
    /// The deadline has passed (the scanner has not closed it yet).
    #[error("this offer has expired")]
    Expired,
}

/// One offer of a trip to one driver.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer(OfferRecord);

/// An offer as a store keeps it: every field, public, for [`Offer::restore`] to check.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferRecord {
    /// Identity (`assignmentId`).
    pub id: OfferId,
    /// The trip offered.
    pub trip_id: TripId,
    /// The driver it is offered to.
    pub driver_id: DriverId,
    /// Where it is in its life.
    pub status: OfferStatus,
    /// Distance from the driver to the pickup when offered.
    pub distance_to_pickup_m: f64,
    /// When offered.
    pub offered_at: OffsetDateTime,
    /// Deadline for an answer.
    pub expires_at: OffsetDateTime,
    /// When it was answered or closed.
    pub closed_at: Option<OffsetDateTime>,
    /// The driver's reason for rejecting, if given.
    pub reason: Option<String>,
}

impl Offer {
    /// A new open offer valid for `ttl`.
    pub fn new(
        id: OfferId,
        trip_id: TripId,
        driver_id: DriverId,
        distance_to_pickup_m: f64,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Self {
        Self(OfferRecord {
            id,
            trip_id,
            driver_id,
            status: OfferStatus::Offered,
            distance_to_pickup_m,
            offered_at: now,
            expires_at: now + ttl,
            closed_at: None,
            reason: None,
        })
    }

    /// Whether it still waits for an answer.
    pub fn is_open(&self) -> bool {
        self.0.status == OfferStatus::Offered
    }

    fn answer(&self, driver: DriverId, now: OffsetDateTime) -> Result<(), OfferError> {
        if driver != self.0.driver_id {
            Err(OfferError::NotYours)
        } else if !self.is_open() {
            Err(OfferError::NotOpen)
        } else if now >= self.0.expires_at {
            Err(OfferError::Expired)
        } else {
            Ok(())
        }
    }

    fn close(&self, status: OfferStatus, now: OffsetDateTime) -> Self {
        let mut o = self.clone();
        o.0.status = status;
        o.0.closed_at = Some(now);
        o
    }

    /// The driver takes the trip, before the deadline.
    ///
    /// # Errors
    /// See [`OfferError`].
    pub fn accept(&self, driver: DriverId, now: OffsetDateTime) -> Result<Self, OfferError> {
        self.answer(driver, now)?;
        Ok(self.close(OfferStatus::Accepted, now))
    }

    /// The driver declines, before the deadline.
    ///
    /// # Errors
    /// See [`OfferError`].
    pub fn reject(
        &self,
        driver: DriverId,
        reason: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Self, OfferError> {
        self.answer(driver, now)?;
        let mut o = self.close(OfferStatus::Rejected, now);
        o.0.reason = reason;
        Ok(o)
    }

    /// `Some(expired offer)` when open and past its deadline.
    pub fn expire(&self, now: OffsetDateTime) -> Option<Self> {
        (self.is_open() && now >= self.0.expires_at).then(|| self.close(OfferStatus::Expired, now))
    }

    /// `Some(cancelled offer)` when open (its trip ended or was taken).
    pub fn withdraw(&self, now: OffsetDateTime) -> Option<Self> {
        self.is_open()
            .then(|| self.close(OfferStatus::Cancelled, now))
    }
}

/// Read access; the fields are private so only the answers change them.
impl Offer {
    /// Identity (`assignmentId`).
    pub const fn id(&self) -> OfferId {
        self.0.id
    }

    /// The trip offered.
    pub const fn trip_id(&self) -> TripId {
        self.0.trip_id
    }

    /// The driver it is offered to.
    pub const fn driver_id(&self) -> DriverId {
        self.0.driver_id
    }

    /// Where it is in its life.
    pub const fn status(&self) -> OfferStatus {
        self.0.status
    }

    /// Distance from the driver to the pickup when offered.
    pub const fn distance_to_pickup_m(&self) -> f64 {
        self.0.distance_to_pickup_m
    }

    /// When offered.
    pub const fn offered_at(&self) -> OffsetDateTime {
        self.0.offered_at
    }

    /// Deadline for an answer.
    pub const fn expires_at(&self) -> OffsetDateTime {
        self.0.expires_at
    }

    /// When it was answered or closed.
    pub const fn closed_at(&self) -> Option<OffsetDateTime> {
        self.0.closed_at
    }

    /// The driver's reason for rejecting, if given.
    pub fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
}

/// A stored offer that no answer could have produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("impossible offer record: {0}")]
pub struct InvalidOffer(pub &'static str);

impl Offer {
    /// Every field, for a store to keep (or a test to vary and [`Offer::restore`]).
    pub fn to_record(&self) -> OfferRecord {
        self.0.clone()
    }

    /// An offer read back from a store, checked: closed (with its time) exactly when no longer
    /// offered, a deadline after the offer, a reason only when rejected, a finite distance.
    ///
    /// # Errors
    /// [`InvalidOffer`] naming the first broken rule.
    pub fn restore(r: OfferRecord) -> Result<Self, InvalidOffer> {
        let check =
            |ok: bool, rule: &'static str| if ok { Ok(()) } else { Err(InvalidOffer(rule)) };
        check(
            r.closed_at.is_none() == (r.status == OfferStatus::Offered),
            "closed_at does not match the status",
        )?;
        check(
            r.expires_at > r.offered_at,
            "the deadline is not after the offer",
        )?;
        check(
            r.reason.is_none() || r.status == OfferStatus::Rejected,
            "a reason on an offer that was not rejected",
        )?;
        check(
            r.distance_to_pickup_m.is_finite() && r.distance_to_pickup_m >= 0.0,
            "the distance to the pickup is not a length",
        )?;
        Ok(Self(r))
    }
}
