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
pub struct Offer {
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
        Self {
            id,
            trip_id,
            driver_id,
            status: OfferStatus::Offered,
            distance_to_pickup_m,
            offered_at: now,
            expires_at: now + ttl,
            closed_at: None,
            reason: None,
        }
    }

    /// Whether it still waits for an answer.
    pub fn is_open(&self) -> bool {
        self.status == OfferStatus::Offered
    }

    fn answer(&self, driver: DriverId, now: OffsetDateTime) -> Result<(), OfferError> {
        if driver != self.driver_id {
            Err(OfferError::NotYours)
        } else if !self.is_open() {
            Err(OfferError::NotOpen)
        } else if now >= self.expires_at {
            Err(OfferError::Expired)
        } else {
            Ok(())
        }
    }

    fn close(&self, status: OfferStatus, now: OffsetDateTime) -> Self {
        let mut o = self.clone();
        o.status = status;
        o.closed_at = Some(now);
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
        o.reason = reason;
        Ok(o)
    }

    /// `Some(expired offer)` when open and past its deadline.
    pub fn expire(&self, now: OffsetDateTime) -> Option<Self> {
        (self.is_open() && now >= self.expires_at).then(|| self.close(OfferStatus::Expired, now))
    }

    /// `Some(cancelled offer)` when open (its trip ended or was taken).
    pub fn withdraw(&self, now: OffsetDateTime) -> Option<Self> {
        self.is_open()
            .then(|| self.close(OfferStatus::Cancelled, now))
    }
}
