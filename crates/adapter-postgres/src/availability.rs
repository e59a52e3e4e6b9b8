//! [`AvailabilityRepository`] over `drivers_availability`.
//!
//! Every change is one statement: creation is `INSERT … ON CONFLICT DO NOTHING`, writes are a
//! compare-and-set on `version`, and the unique constraint on `current_trip_id` keeps one holder
//! per trip. Dispatch's nearest-driver query is one KNN scan of the partial GiST index of
//! matchable drivers.

pub(crate) mod row;

use async_trait::async_trait;
use rodando_domain::availability::DriverAvailability;
use rodando_domain::dispatch::Candidate;
use rodando_domain::ids::DriverId;
use rodando_ports::Unexpected;
use rodando_ports::availability::{AvailabilityRepository, CasError, NearestQuery, Versioned};
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use self::row::{
    AvailabilityRow, availability_columns, availability_targets, availability_values, bind_state,
};
use crate::PgStore;
use crate::errors::{failed, unique_violation};
use crate::query::all_of;

/// The unique constraint that keeps one driver per trip.
const ONE_HOLDER_PER_TRIP: &str = "drivers_availability_current_trip_id_key";

/// Far enough in the past to stand for "any time" when `now - ttl` underflows.
const EARLIEST: OffsetDateTime = datetime!(0001-01-01 0:00 UTC);

/// Creates the row from `$1..=$13` unless it exists, and returns the row either way. The second
/// branch reads the statement's snapshot: when a concurrent first call committed the row after
/// it was taken, neither branch returns it and the caller reads again.
const LOAD_OR_CREATE: &str = concat!(
    "WITH inserted AS (INSERT INTO drivers_availability (",
    availability_targets!(),
    ", version) VALUES (",
    availability_values!(),
    ", 0) ON CONFLICT (driver_id) DO NOTHING RETURNING *), ",
    "found AS ((SELECT * FROM inserted) ",
    "UNION ALL (SELECT * FROM drivers_availability WHERE driver_id = $1) LIMIT 1) ",
    "SELECT ",
    availability_columns!(),
    " FROM found"
);

const FIND: &str = concat!(
    "SELECT ",
    availability_columns!(),
    " FROM drivers_availability WHERE driver_id = $1"
);

const FIND_MANY: &str = concat!(
    "SELECT ",
    availability_columns!(),
    " FROM drivers_availability WHERE driver_id = ANY($1)"
);

/// Writes `$1..=$13` if the version is still `$14`.
const COMPARE_AND_SET: &str = concat!(
    "UPDATE drivers_availability SET (",
    availability_targets!(),
    ") = (",
    availability_values!(),
    "), version = version + 1 WHERE driver_id = $1 AND version = $14 RETURNING version"
);

/// [`DriverAvailability::is_stale`]: online, no trip, presence unknown or at least `ttl` old
/// (`$1` is `now - ttl`).
const LIST_STALE: &str = concat!(
    "SELECT ",
    availability_columns!(),
    " FROM drivers_availability \
     WHERE is_online AND current_trip_id IS NULL \
       AND (last_presence_timestamp IS NULL OR last_presence_timestamp <= $1) \
     ORDER BY last_presence_timestamp ASC NULLS FIRST, driver_id \
     LIMIT $2"
);

const LIST_ONLINE: &str = concat!(
    "SELECT ",
    availability_columns!(),
    " FROM drivers_availability WHERE is_online ORDER BY driver_id"
);

/// [`DriverAvailability::is_matchable`] within `$3` metres of (`$1` longitude, `$2` latitude),
/// nearest first, at most `$6`.
///
/// The inner query is a KNN scan (`ORDER BY <->`) of the partial GiST index of matchable drivers
/// (its filter repeats the index predicate so the planner can use it) that stops after `$6`
/// drivers; the radius is applied to those. Since they come nearest first, the ones within the
/// radius are exactly the nearest `$6` within it. The radius is deliberately not an inner
/// `ST_DWithin`: PostGIS estimates that filter so selective that the planner drops the KNN scan
/// for a bitmap scan of everything in the radius's box plus a sort, which reads every driver of
/// a busy city centre instead of `$6`.
///
/// The user's status is a scalar subquery, one primary-key probe per driver the scan reaches,
/// and deliberately not `NOT EXISTS`: the planner turns that into an anti join, and with a
/// users table it has no statistics for it picks a hash anti join over a scan of every user
/// plus a sort, losing the KNN scan and its early stop.
///
/// Distances are on the sphere (`use_spheroid => false`, the same sphere `<->` uses), whose
/// radius is the domain's haversine radius to 0.03 m, so they agree with
/// [`GeoPoint::distance_m`].
macro_rules! nearest_available_sql {
    () => {
        "SELECT driver_id, distance_m FROM ( \
           SELECT driver_id, \
                  ST_Distance(last_location, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, \
                              false) AS distance_m, \
                  last_location <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography AS knn \
           FROM drivers_availability \
           WHERE is_online AND is_available_for_trips AND is_connected \
             AND availability_reason IS NULL AND current_trip_id IS NULL \
             AND last_presence_timestamp > $4 AND last_location_timestamp > $4 \
             AND driver_id <> ALL($5) \
             AND NOT EXISTS (SELECT 1 FROM trip_offers o \
                             WHERE o.driver_id = drivers_availability.driver_id \
                               AND o.status = 'offered') \
             AND (SELECT u.status = 'active' FROM users u \
                  WHERE u.id = drivers_availability.driver_id) \
           ORDER BY last_location <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography \
           LIMIT $6 \
         ) AS nearest \
         WHERE distance_m <= $3 \
         ORDER BY knn"
    };
}
const NEAREST_AVAILABLE: &str = nearest_available_sql!();
const EXPLAIN_NEAREST_AVAILABLE: &str = concat!("EXPLAIN ", nearest_available_sql!());

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn cutoff(now: OffsetDateTime, ttl: Duration) -> OffsetDateTime {
    now.checked_sub(ttl).unwrap_or(EARLIEST).max(EARLIEST)
}

/// The nearest-driver query with its arguments bound; `None` when nothing can match.
fn nearest_query(
    q: &NearestQuery,
    sql: &'static str,
) -> Option<Query<'static, Postgres, PgArguments>> {
    // NaN, negative radius or no room: nothing is within reach (as in the memory store).
    if q.radius_m.is_nan() || q.radius_m < 0.0 || q.limit == 0 {
        return None;
    }
    let exclude: Vec<Uuid> = q.exclude.iter().map(DriverId::as_uuid).collect();
    Some(
        sqlx::query(sql)
            .bind(q.origin.longitude().degrees())
            .bind(q.origin.latitude().degrees())
            .bind(q.radius_m)
            .bind(cutoff(q.now, q.freshness))
            .bind(exclude)
            .bind(limit(q.limit)),
    )
}

/// The guarded write behind [`AvailabilityRepository::compare_and_set`], on any connection:
/// the pool, or the transaction of a dispatch write that changes the driver with its trip.
pub(crate) async fn compare_and_set_on<'c, E>(
    executor: E,
    expected_version: u64,
    next: &DriverAvailability,
) -> Result<u64, CasError>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    let Ok(expected) = i64::try_from(expected_version) else {
        return Err(CasError::Stale);
    };
    let written: Result<Option<i64>, sqlx::Error> =
        bind_state!(sqlx::query_scalar(COMPARE_AND_SET), next)
            .bind(expected)
            .fetch_optional(executor)
            .await;
    match written {
        Ok(Some(version)) => u64::try_from(version)
            .map_err(|_| Unexpected::msg("negative availability version").into()),
        Ok(None) => Err(CasError::Stale),
        Err(e) if unique_violation(&e) == Some(ONE_HOLDER_PER_TRIP) => {
            Err(CasError::TripHeldByAnother)
        }
        // A CHECK violation lands here too: the domain keeps the invariants, so one is a bug.
        Err(e) => Err(failed("writing a driver's availability")(e).into()),
    }
}

impl PgStore {
    /// The plan PostgreSQL chooses for [`AvailabilityRepository::nearest_available`] with these
    /// arguments (`EXPLAIN` text, one line per plan node): lets an operator, or a test, see that
    /// dispatch walks the spatial index rather than every driver.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    pub async fn explain_nearest_available(
        &self,
        query: &NearestQuery,
    ) -> Result<String, Unexpected> {
        let Some(query) = nearest_query(query, EXPLAIN_NEAREST_AVAILABLE) else {
            return Ok("no query: nothing can match".to_owned());
        };
        let lines: Vec<String> = query
            .try_map(|row: sqlx::postgres::PgRow| sqlx::Row::try_get::<String, _>(&row, 0))
            .fetch_all(&self.pool)
            .await
            .map_err(failed("explaining the nearest-driver query"))?;
        Ok(lines.join("\n"))
    }
}

impl PgStore {
    /// The rows of `drivers` that exist, in one statement (the write-behind buffer reads its
    /// old copies again this way, see `write_behind.rs`).
    pub(crate) async fn find_many(
        &self,
        drivers: &[DriverId],
    ) -> Result<Vec<Versioned>, Unexpected> {
        let ids: Vec<Uuid> = drivers.iter().map(|d| d.as_uuid()).collect();
        let query = sqlx::query_as::<_, AvailabilityRow>(FIND_MANY).bind(ids);
        all_of(query, &self.pool, "reading drivers' availability").await
    }
}

#[async_trait]
impl AvailabilityRepository for PgStore {
    async fn load_or_create(
        &self,
        driver: DriverId,
        now: OffsetDateTime,
    ) -> Result<Versioned, Unexpected> {
        let fresh = DriverAvailability::new_offline(driver, now);
        let row = bind_state!(sqlx::query_as::<_, AvailabilityRow>(LOAD_OR_CREATE), &fresh)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("creating a driver's availability"))?;
        match row {
            Some(row) => row.try_into(),
            // A concurrent first call created it after this statement's snapshot: read it now.
            None => self.find(driver).await?.ok_or_else(|| {
                Unexpected::msg(format!("availability of {driver} vanished while created"))
            }),
        }
    }

    async fn find(&self, driver: DriverId) -> Result<Option<Versioned>, Unexpected> {
        sqlx::query_as::<_, AvailabilityRow>(FIND)
            .bind(driver.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("reading a driver's availability"))?
            .map(Versioned::try_from)
            .transpose()
    }

    async fn compare_and_set(
        &self,
        expected_version: u64,
        next: &DriverAvailability,
    ) -> Result<u64, CasError> {
        compare_and_set_on(&self.pool, expected_version, next).await
    }

    async fn list_stale(
        &self,
        now: OffsetDateTime,
        ttl: Duration,
        limit_n: usize,
    ) -> Result<Vec<Versioned>, Unexpected> {
        let query = sqlx::query_as::<_, AvailabilityRow>(LIST_STALE)
            .bind(cutoff(now, ttl))
            .bind(limit(limit_n));
        all_of(query, &self.pool, "listing stale drivers").await
    }

    async fn nearest_available(&self, query: &NearestQuery) -> Result<Vec<Candidate>, Unexpected> {
        let Some(query) = nearest_query(query, NEAREST_AVAILABLE) else {
            return Ok(Vec::new());
        };
        let rows: Vec<(Uuid, f64)> = query
            .try_map(|row: sqlx::postgres::PgRow| {
                use sqlx::Row;
                Ok((row.try_get(0)?, row.try_get(1)?))
            })
            .fetch_all(&self.pool)
            .await
            .map_err(failed("finding the nearest available drivers"))?;
        Ok(rows
            .into_iter()
            .map(|(id, distance_m)| Candidate {
                driver_id: DriverId::from_uuid(id),
                distance_m,
            })
            .collect())
    }

    async fn list_online(&self) -> Result<Vec<DriverAvailability>, Unexpected> {
        sqlx::query_as::<_, AvailabilityRow>(LIST_ONLINE)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("listing online drivers"))?
            .into_iter()
            .map(|row| Versioned::try_from(row).map(|v| v.state))
            .collect()
    }
}
