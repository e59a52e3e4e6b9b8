//! The driver-availability store.

use async_trait::async_trait;
use rodando_domain::availability::{DriverAvailability, LocationFix};
use rodando_domain::dispatch::Candidate;
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::DriverId;
use time::{Duration, OffsetDateTime};

use crate::Unexpected;
use crate::trips::DispatchConflict;

/// What dispatch asks the store for: up to `limit` drivers it may offer a trip to, nearest
/// first — available (hence online, no trip, no reason), presence and position fresher than
/// `freshness` at `now` ([`DriverAvailability::is_matchable`]), within `radius_m` of `origin`,
/// holding no open offer of any trip, whose user is not inactive or banned, and not in
/// `exclude`; distances are great-circle metres.
#[derive(Debug, Clone, PartialEq)]
pub struct NearestQuery {
    /// Where the trip starts.
    pub origin: GeoPoint,
    /// How far a driver may be, in metres.
    pub radius_m: f64,
    /// How many drivers at most.
    pub limit: usize,
    /// The store's "now" for freshness.
    pub now: OffsetDateTime,
    /// How old a presence or position may be.
    pub freshness: Duration,
    /// Drivers not to answer (already offered this trip).
    pub exclude: Vec<DriverId>,
}

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

impl CasError {
    /// For a write that never changes a driver's trip: `Ok` when only the version was stale
    /// (load again and retry), else what failed (`what` moving a trip would be a bug).
    ///
    /// # Errors
    /// The store's failure, or `what` moved a trip.
    pub fn retry_if_stale(self, what: &str) -> Result<(), Unexpected> {
        match self {
            Self::Stale => Ok(()),
            Self::TripHeldByAnother => Err(Unexpected::msg(format!("{what} moved a trip"))),
            Self::Unexpected(e) => Err(e),
        }
    }

    /// The failure of a compare-and-set loop on `driver`'s row that lost `attempts` times.
    pub fn contended(driver: DriverId, attempts: usize) -> Unexpected {
        Unexpected::msg(format!(
            "driver {driver}: availability row still contended after {attempts} attempts"
        ))
    }
}

/// The availability change of a dispatch write lost its compare-and-set: a stale version means
/// the driver changed meanwhile.
impl From<CasError> for DispatchConflict {
    fn from(e: CasError) -> Self {
        match e {
            CasError::Stale => Self::DriverChanged,
            CasError::TripHeldByAnother => Self::TripHeldByAnother,
            CasError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// What a location ping did to a driver's availability.
#[derive(Debug, Clone, PartialEq)]
pub struct Pinged {
    /// The state the ping was applied to.
    pub before: DriverAvailability,
    /// The state after it ([`DriverAvailability::record_location`] of `before`).
    pub after: DriverAvailability,
}

/// Attempts of the default [`AvailabilityRepository::record_location`] before it gives up on a
/// row that keeps changing under it.
const PING_ATTEMPTS: usize = 8;

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

    /// The drivers `query` asks for ([`NearestQuery`]), nearest first, answered from a spatial
    /// index, not a scan of every driver.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn nearest_available(&self, query: &NearestQuery) -> Result<Vec<Candidate>, Unexpected>;

    /// Applies a location ping ([`DriverAvailability::record_location`]: position and presence
    /// only, never status, trip or connection) to the driver's availability, created OFFLINE on
    /// first use, without losing a concurrent write. The ping is *accepted*: every read through
    /// this store sees it at once, but a store may write it behind, within its flush interval
    /// (see [`AvailabilityRepository::flush`]); the embedded store writes it at once. The
    /// default is a load → apply → compare-and-set loop.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails (or the row stays contended): nothing was accepted.
    async fn record_location(
        &self,
        driver: DriverId,
        fix: &LocationFix,
        now: OffsetDateTime,
    ) -> Result<Pinged, Unexpected> {
        for _ in 0..PING_ATTEMPTS {
            let current = self.load_or_create(driver, now).await?;
            let after = current.state.record_location(fix, now);
            if after == current.state {
                return Ok(Pinged {
                    before: current.state,
                    after,
                });
            }
            match self.compare_and_set(current.version, &after).await {
                Ok(_) => {
                    return Ok(Pinged {
                        before: current.state,
                        after,
                    });
                }
                Err(e) => e.retry_if_stale("a location ping")?,
            }
        }
        Err(CasError::contended(driver, PING_ATTEMPTS))
    }

    /// Writes out every ping accepted so far by [`AvailabilityRepository::record_location`] and
    /// returns once they are durable (a node calls it before it exits). A no-op for stores
    /// that write pings at once.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails; what could not be written stays accepted.
    async fn flush(&self) -> Result<(), Unexpected> {
        Ok(())
    }

    /// Every online driver, for an admin's first paint.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn list_online(&self) -> Result<Vec<DriverAvailability>, Unexpected>;
}
