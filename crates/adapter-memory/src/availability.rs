//! [`AvailabilityRepository`] in memory: one table behind one mutex, so a compare-and-set, the
//! one-holder-per-trip index and the spatial index of available drivers always change together.

mod spatial;

use std::collections::HashMap;

use async_trait::async_trait;
use rodando_domain::availability::{DriverAvailability, LocationFix};
use rodando_domain::dispatch::Candidate;
use rodando_domain::ids::{DriverId, TripId};
use rodando_ports::Unexpected;
use rodando_ports::availability::{
    AvailabilityRepository, CasError, NearestQuery, Pinged, Versioned,
};
use time::{Duration, OffsetDateTime};

use crate::MemoryStore;
use crate::lock::lock;

#[derive(Default)]
pub(crate) struct AvailabilityTable {
    rows: HashMap<DriverId, Versioned>,
    /// Who holds each trip: the uniqueness constraint on `current_trip_id`.
    trip_holders: HashMap<TripId, DriverId>,
    /// Positions of available drivers, for [`AvailabilityRepository::nearest_available`].
    spatial: spatial::SpatialIndex,
}

impl AvailabilityTable {
    /// The driver's row, created OFFLINE at version 0 on first use.
    pub(crate) fn load_or_create(&mut self, driver: DriverId, now: OffsetDateTime) -> &Versioned {
        self.rows.entry(driver).or_insert_with(|| Versioned {
            state: DriverAvailability::new_offline(driver, now),
            version: 0,
        })
    }

    /// The driver's row, if it was ever stored.
    pub(crate) fn row(&self, driver: DriverId) -> Option<&Versioned> {
        self.rows.get(&driver)
    }

    /// The guarded write behind [`AvailabilityRepository::compare_and_set`]; also used by the
    /// dispatch table's atomic writes, with this table's lock held.
    pub(crate) fn compare_and_set(
        &mut self,
        expected_version: u64,
        next: &DriverAvailability,
    ) -> Result<u64, CasError> {
        self.check_cas(expected_version, next)?;
        let driver = next.driver_id;
        let before = self.rows.get(&driver);
        let current = before.and_then(|row| row.state.current_trip_id);
        let indexed = before.and_then(|row| spatial::indexed_at(&row.state));
        self.spatial
            .relocate(driver, indexed, spatial::indexed_at(next));
        if current != next.current_trip_id {
            if let Some(old) = current {
                self.trip_holders.remove(&old);
            }
            if let Some(new) = next.current_trip_id {
                self.trip_holders.insert(new, driver);
            }
        }
        let version = expected_version + 1;
        self.rows.insert(
            driver,
            Versioned {
                state: next.clone(),
                version,
            },
        );
        Ok(version)
    }

    /// Whether [`Self::compare_and_set`] would succeed, without writing.
    pub(crate) fn check_cas(
        &self,
        expected_version: u64,
        next: &DriverAvailability,
    ) -> Result<(), CasError> {
        let driver = next.driver_id;
        match self.rows.get(&driver) {
            Some(row) if row.version == expected_version => {}
            _ => return Err(CasError::Stale),
        }
        if let Some(trip) = next.current_trip_id
            && self
                .trip_holders
                .get(&trip)
                .is_some_and(|holder| *holder != driver)
        {
            return Err(CasError::TripHeldByAnother);
        }
        Ok(())
    }
}

#[async_trait]
impl AvailabilityRepository for MemoryStore {
    async fn load_or_create(
        &self,
        driver: DriverId,
        now: OffsetDateTime,
    ) -> Result<Versioned, Unexpected> {
        Ok(lock(&self.availability).load_or_create(driver, now).clone())
    }

    async fn find(&self, driver: DriverId) -> Result<Option<Versioned>, Unexpected> {
        Ok(lock(&self.availability).rows.get(&driver).cloned())
    }

    async fn compare_and_set(
        &self,
        expected_version: u64,
        next: &DriverAvailability,
    ) -> Result<u64, CasError> {
        lock(&self.availability).compare_and_set(expected_version, next)
    }

    /// Load, apply and write under one lock: nothing can come between them, and the ping is
    /// stored (and visible to dispatch) at once.
    async fn record_location(
        &self,
        driver: DriverId,
        fix: &LocationFix,
        now: OffsetDateTime,
    ) -> Result<Pinged, Unexpected> {
        let mut t = lock(&self.availability);
        let current = t.load_or_create(driver, now).clone();
        let after = current.state.record_location(fix, now);
        if after != current.state {
            t.compare_and_set(current.version, &after)
                .map_err(|e| Unexpected::msg(format!("a location ping was refused: {e}")))?;
        }
        Ok(Pinged {
            before: current.state,
            after,
        })
    }

    async fn list_stale(
        &self,
        now: OffsetDateTime,
        ttl: Duration,
        limit: usize,
    ) -> Result<Vec<Versioned>, Unexpected> {
        let t = lock(&self.availability);
        let mut stale: Vec<Versioned> = t
            .rows
            .values()
            .filter(|row| row.state.is_stale(now, ttl))
            .cloned()
            .collect();
        stale.sort_by_key(|row| row.state.last_presence_at);
        stale.truncate(limit);
        Ok(stale)
    }

    async fn nearest_available(&self, query: &NearestQuery) -> Result<Vec<Candidate>, Unexpected> {
        let NearestQuery {
            origin,
            radius_m,
            limit,
            now,
            freshness,
            ..
        } = *query;
        let exclude = query.exclude.as_slice();
        let t = lock(&self.availability);
        // After the availability lock, as dispatch writes take them.
        let offers = lock(&self.dispatch);
        // Last, as dispatch writes take it: a status change cannot land between this read and
        // the rows'.
        let users = crate::lock::read(&self.users);
        // Nearest first through the spatial index, passing over drivers that cannot be offered
        // a trip; it stops once `limit` are found (or the radius is passed).
        let found = t.spatial.nearest(origin, radius_m, limit, |driver| {
            if exclude.contains(&driver)
                || offers.holds_open_offer(driver)
                || users.is_inactive(driver)
            {
                return None;
            }
            let row = t.rows.get(&driver)?;
            if !row.state.is_matchable(now, freshness) {
                return None;
            }
            Some(origin.distance_m(&row.state.last_location?.point))
        });
        Ok(found)
    }

    async fn list_online(&self) -> Result<Vec<DriverAvailability>, Unexpected> {
        let t = lock(&self.availability);
        let mut online: Vec<DriverAvailability> = t
            .rows
            .values()
            .filter(|row| row.state.is_online)
            .map(|row| row.state.clone())
            .collect();
        online.sort_by_key(|d| d.driver_id);
        Ok(online)
    }
}
