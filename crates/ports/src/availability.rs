//! The driver-availability store.

use async_trait::async_trait;
use rodando_domain::availability::DriverAvailability;
use rodando_domain::dispatch::Candidate;
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::DriverId;
use time::{Duration, OffsetDateTime};

use crate::Unexpected;

/// A driver's availability with the version it was stored at, for compare-and-set.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    /// The state.
    pub state: DriverAvailability,
    /// Increases by one on every successful write.
    pub version: u64,
}

/// Why a compare-and-set wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum CasError {
    /// The stored version is no longer the expected one: reload and apply again.
    #[error("stale version")]
    Stale,
    /// Another driver already holds the trip being set (two drivers never hold one trip).
    #[error("trip held by another driver")]
    TripHeldByAnother,
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

/// Driver availability, one row per driver.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AvailabilityRepository: Send + Sync {
    /// The driver's availability, created OFFLINE (version 0) on first use. Concurrent first
    /// calls for one driver create exactly one row and all return it.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn load_or_create(
        &self,
        driver: DriverId,
        now: OffsetDateTime,
    ) -> Result<Versioned, Unexpected>;

    /// The driver's availability, if it has ever been stored.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn find(&self, driver: DriverId) -> Result<Option<Versioned>, Unexpected>;

    /// Writes `next` if the stored version is still `expected_version`; returns the new version.
    ///
    /// # Errors
    /// [`CasError::Stale`] when another write came first (nothing written);
    /// [`CasError::TripHeldByAnother`] when `next` holds a trip another driver holds;
    /// [`CasError::Unexpected`] when the store fails.
    async fn compare_and_set(
        &self,
        expected_version: u64,
        next: &DriverAvailability,
    ) -> Result<u64, CasError>;

    /// Up to `limit` drivers the presence sweeper should take offline at `now`
    /// ([`DriverAvailability::is_stale`] with `ttl`), oldest presence first.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn list_stale(
        &self,
        now: OffsetDateTime,
        ttl: Duration,
        limit: usize,
    ) -> Result<Vec<Versioned>, Unexpected>;

    /// Up to `limit` drivers dispatch may offer a trip to, nearest first: available (hence
    /// online, no trip, no reason), presence and position fresher than `freshness` at `now`
    /// ([`DriverAvailability::is_matchable`]), within `radius_m` of `origin`, holding no open
    /// offer of any trip, and not in `exclude`; distances are great-circle metres. Answered
    /// from a spatial index, not a scan of every driver.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    #[allow(clippy::too_many_arguments)]
    async fn nearest_available(
        &self,
        origin: GeoPoint,
        radius_m: f64,
        limit: usize,
        now: OffsetDateTime,
        freshness: Duration,
        exclude: &[DriverId],
    ) -> Result<Vec<Candidate>, Unexpected>;

    /// Every online driver, for an admin's first paint.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn list_online(&self) -> Result<Vec<DriverAvailability>, Unexpected>;
}
