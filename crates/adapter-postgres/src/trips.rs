//! [`TripRepository`] and [`TripStandingLookup`] over `trips` and `trip_offers`.
//!
//! The rules that must hold whatever the concurrency, on one node or many, are partial unique
//! indexes mapped to the ports' typed errors: one active trip per passenger, one idempotency key
//! per passenger, one open offer per trip and one per driver. A [`DispatchWrite`] is one
//! transaction of guarded statements, run in the order the port (and the memory store) checks
//! its guards — trip (`WHERE status = expected`), offer (`WHERE status = 'offered'`), new offer
//! (its trip locked while `assigning`, then the two unique indexes), availability
//! (compare-and-set on `version`), the new offer's driver (locked while matchable) — then the
//! withdrawal of the trip's open offers. The first guard that fails rolls everything back. Row locks make
//! concurrent writers wait and then re-evaluate their guard against the committed row, so of
//! fifty simultaneous accepts exactly one wins.

mod list;
mod row;

use async_trait::async_trait;
use rodando_domain::availability::TripStanding;
use rodando_domain::ids::{DriverId, OfferId, PassengerId, TripId};
use rodando_domain::offer::{Offer, OfferStatus};
use rodando_domain::trip::{Trip, TripStatus};
use rodando_domain::trip_list::TripListQuery;
use rodando_ports::Unexpected;
use rodando_ports::trips::{
    Applied, CreateTripError, DispatchConflict, DispatchWrite, Idempotency, TripRepository,
    TripStandingLookup, UnattendedQuery, UnattendedTrip,
};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use self::row::{
    OfferRow, TripRow, active_statuses, bind_offer, bind_trip, offer_columns, offer_values,
    trip_columns, trip_targets, trip_values,
};
use crate::PgStore;
use crate::availability::compare_and_set_on;
use crate::errors::{corrupt, failed, unique_violation};
use crate::query::{Read, find_by};

/// The partial unique index that keeps one active trip per passenger.
const ONE_ACTIVE_PER_PASSENGER: &str = "trips_one_active_per_passenger";
/// The partial unique index that keeps one open offer per trip.
const ONE_OPEN_PER_TRIP: &str = "trip_offers_one_open_per_trip";
/// The partial unique index that keeps one open offer per driver.
const ONE_OPEN_PER_DRIVER: &str = "trip_offers_one_open_per_driver";

/// Times a dispatch write is run again after PostgreSQL broke a deadlock by aborting it (the
/// statements' lock order makes that unlikely; a retry is always safe, nothing was written).
const DEADLOCK_RETRIES: usize = 3;

/// The trips (every column of [`TripRow`]) that match the condition `$cond`.
macro_rules! trips_where {
    ($($cond:tt)+) => {
        concat!("SELECT ", trip_columns!(), " FROM trips WHERE ", $($cond)+)
    };
}

/// The offers (every column of [`OfferRow`]) that match the condition `$cond`.
macro_rules! offers_where {
    ($cond:literal) => {
        concat!(
            "SELECT ",
            offer_columns!(),
            " FROM trip_offers WHERE ",
            $cond
        )
    };
}

/// Stores a new trip (`$1..=$22`) with its idempotency key and fingerprint (`$23`, `$24`); a key
/// already used by the passenger makes it a no-op that returns no row.
const CREATE: &str = concat!(
    "INSERT INTO trips (",
    trip_targets!(),
    ", idempotency_key, idempotency_fingerprint) VALUES (",
    trip_values!(),
    ", $23, $24) ON CONFLICT (passenger_id, idempotency_key) WHERE idempotency_key IS NOT NULL \
     DO NOTHING RETURNING id"
);

/// The trip the passenger (`$1`) stored under the idempotency key `$2`, and its fingerprint.
const FIND_BY_IDEMPOTENCY_KEY: &str = concat!(
    "SELECT ",
    trip_columns!(),
    ", idempotency_fingerprint FROM trips WHERE passenger_id = $1 AND idempotency_key = $2"
);

const FIND: Read = Read {
    sql: trips_where!("id = $1"),
    what: "reading a trip",
};

const ACTIVE_FOR_PASSENGER: Read = Read {
    sql: trips_where!("passenger_id = $1 AND status IN ", active_statuses!()),
    what: "reading a passenger's active trip",
};

const STANDING: &str = "SELECT driver_id, status FROM trips WHERE id = $1";

const FIND_OFFER: Read = Read {
    sql: offers_where!("id = $1"),
    what: "reading an offer",
};

const OFFERS_FOR_TRIP: &str = offers_where!("trip_id = $1 ORDER BY offered_at, id");

const OPEN_OFFER_OF: Read = Read {
    sql: offers_where!("driver_id = $1 AND status = 'offered'"),
    what: "reading a driver's open offer",
};

/// [`TripRepository::unattended`]: waiting trips (`$1` is `now - quiet`, `$2` `now - timeout`,
/// `$3` the limit) with no open offer and nothing closed since `$1`, or requested by `$2`.
const UNATTENDED: &str = concat!(
    "SELECT ",
    trip_columns!(),
    ", requested_at <= $2 AS timed_out FROM trips t \
     WHERE status IN ('pending', 'assigning') \
       AND (requested_at <= $2 \
            OR (requested_at <= $1 \
                AND NOT EXISTS (SELECT 1 FROM trip_offers o WHERE o.trip_id = t.id \
                                AND (o.status = 'offered' OR o.closed_at > $1)))) \
     ORDER BY requested_at, id LIMIT $3"
);

/// A row lock a dispatch write takes before it writes (`SELECT 1 … FOR UPDATE | FOR SHARE` of
/// the row keyed `$1`, held until commit), and the conflict when no row qualifies.
struct Guard {
    sql: &'static str,
    what: &'static str,
    conflict: DispatchConflict,
}

/// Locks trip `$1` if it is `assigning`: a new offer's guard. A concurrent cancel waits for this
/// write and then withdraws the offer it made.
const LOCK_ASSIGNING_TRIP: Guard = Guard {
    sql: "SELECT 1 FROM trips WHERE id = $1 AND status = 'assigning' FOR UPDATE",
    what: "checking the trip of a new offer",
    conflict: DispatchConflict::TripChanged,
};

/// Whether driver `$1` may get a new offer, locking its availability and user rows (a status
/// change waits for this write, or this write sees it): a new offer's guard.
const LOCK_MATCHABLE_DRIVER: Guard = Guard {
    sql: "SELECT 1 FROM drivers_availability d \
          JOIN users u ON u.id = d.driver_id \
          WHERE d.driver_id = $1 AND d.is_available_for_trips AND d.is_connected \
            AND u.status = 'active' FOR SHARE",
    what: "checking the driver of a new offer",
    conflict: DispatchConflict::DriverNotMatchable,
};

/// Whether user `$1` is active, locking its row: a ban either lands before this check or waits
/// for the write.
const LOCK_ACTIVE_USER: Guard = Guard {
    sql: "SELECT 1 FROM users WHERE id = $1 AND status = 'active' FOR SHARE",
    what: "checking the driver of an acceptance",
    conflict: DispatchConflict::DriverInactive,
};

/// Open offers whose deadline is at or before `$1`, earliest first, at most `$2`.
const DUE_OFFERS: &str =
    offers_where!("status = 'offered' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2");

/// Writes the trip (`$1..=$22`) if its status is still `$23`.
const UPDATE_TRIP: &str = concat!(
    "UPDATE trips SET (",
    trip_targets!(),
    ") = (",
    trip_values!(),
    ") WHERE id = $1 AND status = $23"
);

/// Adds `$2` events to trip `$1`'s stream, first in a write so the trip's row is the first
/// locked (as every trip write does), and returns its seq.
const NUMBER_EVENTS: &str = "UPDATE trips SET seq = seq + $2 WHERE id = $1 RETURNING seq";

/// The seq of trip `$1`, for a write that announces nothing on the trip's stream.
const CURRENT_SEQ: &str = "SELECT seq FROM trips WHERE id = $1";

/// Writes the offer (`$1..=$9`) if it is still open.
const UPDATE_OPEN_OFFER: &str = concat!(
    "UPDATE trip_offers SET (",
    offer_columns!(),
    ") = (",
    offer_values!(),
    ") WHERE id = $1 AND status = 'offered'"
);

const INSERT_OFFER: &str = concat!(
    "INSERT INTO trip_offers (",
    offer_columns!(),
    ") VALUES (",
    offer_values!(),
    ")"
);

/// Closes every open offer of trip `$1` as cancelled at `$2`, and returns them.
const WITHDRAW_OPEN_OFFERS: &str = concat!(
    "WITH withdrawn AS (UPDATE trip_offers SET status = 'cancelled', closed_at = $2 \
     WHERE trip_id = $1 AND status = 'offered' RETURNING *) SELECT ",
    offer_columns!(),
    " FROM withdrawn ORDER BY offered_at, id"
);

/// A trip row with the fingerprint of the request that created it.
#[derive(sqlx::FromRow)]
struct KeyedTripRow {
    #[sqlx(flatten)]
    trip: TripRow,
    idempotency_fingerprint: Option<String>,
}

/// A trip row with whether it is past the assignment timeout.
#[derive(sqlx::FromRow)]
struct UnattendedRow {
    #[sqlx(flatten)]
    trip: TripRow,
    timed_out: bool,
}

fn offers(rows: Vec<OfferRow>) -> Result<Vec<Offer>, Unexpected> {
    rows.into_iter().map(Offer::try_from).collect()
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Whether a failure is PostgreSQL aborting this transaction to break a deadlock.
fn is_deadlock(e: &Unexpected) -> bool {
    e.0.downcast_ref::<sqlx::Error>()
        .and_then(sqlx::Error::as_database_error)
        .and_then(|db| db.code())
        .is_some_and(|code| code == "40P01")
}

impl PgStore {
    /// The answer to a request whose idempotency key the passenger used before: that trip when
    /// the body is the same, a mismatch otherwise. `None` when the key was never used.
    async fn replay(
        &self,
        passenger: PassengerId,
        idempotency: &Idempotency,
    ) -> Result<Option<Result<Trip, CreateTripError>>, Unexpected> {
        let Some(row) = sqlx::query_as::<_, KeyedTripRow>(FIND_BY_IDEMPOTENCY_KEY)
            .bind(passenger.as_uuid())
            .bind(idempotency.key.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("reading a trip by its idempotency key"))?
        else {
            return Ok(None);
        };
        let same = row.idempotency_fingerprint.as_deref() == Some(idempotency.fingerprint.as_str());
        Ok(Some(if same {
            Trip::try_from(row.trip).map_err(CreateTripError::from)
        } else {
            Err(CreateTripError::IdempotencyMismatch)
        }))
    }
}

/// Takes the `lock` of the row keyed `key`; its conflict when no row qualifies.
async fn guard(conn: &mut PgConnection, lock: Guard, key: Uuid) -> Result<(), DispatchConflict> {
    let locked = sqlx::query(lock.sql)
        .bind(key)
        .fetch_optional(conn)
        .await
        .map_err(failed(lock.what))?;
    locked.map(|_| ()).ok_or(lock.conflict)
}

/// Runs every statement of `write` on `conn` (a transaction), stopping at the first guard that
/// fails; the caller commits or rolls back.
async fn apply_on(
    conn: &mut PgConnection,
    write: &DispatchWrite,
) -> Result<Applied, DispatchConflict> {
    let numbered = write.trip_id();
    let mut seq = None;
    if let Some(trip) = numbered
        && write.events > 0
    {
        let bumped: Option<i64> = sqlx::query_scalar(NUMBER_EVENTS)
            .bind(trip.as_uuid())
            .bind(i64::from(write.events))
            .fetch_optional(&mut *conn)
            .await
            .map_err(failed("numbering a trip's events"))?;
        seq = Some(bumped.ok_or(DispatchConflict::TripChanged)?);
    }
    if let Some(t) = &write.trip {
        let done = bind_trip!(sqlx::query(UPDATE_TRIP), &t.next)
            .bind(t.expected.as_str())
            .execute(&mut *conn)
            .await
            .map_err(failed("writing a trip"))?;
        if done.rows_affected() == 0 {
            return Err(DispatchConflict::TripChanged);
        }
    }
    if let Some(o) = &write.offer {
        let done = bind_offer!(sqlx::query(UPDATE_OPEN_OFFER), o)
            .execute(&mut *conn)
            .await
            .map_err(failed("writing an offer"))?;
        if done.rows_affected() == 0 {
            return Err(DispatchConflict::OfferNotOpen);
        }
        if o.status() == OfferStatus::Accepted {
            guard(conn, LOCK_ACTIVE_USER, o.driver_id().as_uuid()).await?;
        }
    }
    if let Some(o) = &write.new_offer {
        guard(conn, LOCK_ASSIGNING_TRIP, o.trip_id().as_uuid()).await?;
        let inserted = bind_offer!(sqlx::query(INSERT_OFFER), o)
            .execute(&mut *conn)
            .await;
        match inserted {
            Ok(_) => {}
            Err(e) if unique_violation(&e) == Some(ONE_OPEN_PER_TRIP) => {
                return Err(DispatchConflict::TripHasOpenOffer);
            }
            Err(e) if unique_violation(&e) == Some(ONE_OPEN_PER_DRIVER) => {
                return Err(DispatchConflict::DriverHasOpenOffer);
            }
            Err(e) => return Err(failed("inserting an offer")(e).into()),
        }
    }
    if let Some(change) = &write.availability {
        compare_and_set_on(&mut *conn, change.expected_version, &change.next).await?;
    }
    if let Some(o) = &write.new_offer {
        guard(conn, LOCK_MATCHABLE_DRIVER, o.driver_id().as_uuid()).await?;
    }
    if let (Some(trip), None) = (numbered, seq) {
        let current: Option<i64> = sqlx::query_scalar(CURRENT_SEQ)
            .bind(trip.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(failed("reading a trip's seq"))?;
        seq = current;
    }
    let seq = seq
        .map(|s| u64::try_from(s).map_err(|_| Unexpected::msg("a trip's seq is negative")))
        .transpose()?;
    let trip = write
        .trip
        .as_ref()
        .map(|t| t.next.id())
        .or(write.offer.as_ref().map(|o| o.trip_id()));
    let (Some(at), Some(trip)) = (write.withdraw_open_offers_at, trip) else {
        return Ok(Applied {
            withdrawn: Vec::new(),
            seq,
        });
    };
    let rows = sqlx::query_as::<_, OfferRow>(WITHDRAW_OPEN_OFFERS)
        .bind(trip.as_uuid())
        .bind(at)
        .fetch_all(&mut *conn)
        .await
        .map_err(failed("withdrawing a trip's open offers"))?;
    Ok(Applied {
        withdrawn: offers(rows)?,
        seq,
    })
}

#[async_trait]
impl TripRepository for PgStore {
    /// One `INSERT … ON CONFLICT DO NOTHING` on the idempotency index, then, when the key was
    /// taken, a read of the trip stored under it. Race-safe without a transaction: PostgreSQL
    /// reports a conflict (on either unique index) only once the other insert has committed, so
    /// the read, a new snapshot, sees the trip that won.
    async fn create(
        &self,
        trip: &Trip,
        idempotency: Option<Idempotency>,
    ) -> Result<Trip, CreateTripError> {
        let inserted = bind_trip!(sqlx::query_scalar::<_, Uuid>(CREATE), trip)
            .bind(idempotency.as_ref().map(|i| i.key.as_str()))
            .bind(idempotency.as_ref().map(|i| i.fingerprint.as_str()))
            .fetch_optional(&self.pool)
            .await;
        match (inserted, &idempotency) {
            (Ok(Some(_)), _) => Ok(trip.clone()),
            (Ok(None), Some(i)) => {
                self.replay(trip.passenger_id(), i)
                    .await?
                    .unwrap_or_else(|| {
                        Err(Unexpected::msg("idempotency key conflicts with no stored trip").into())
                    })
            }
            (Ok(None), None) => Err(Unexpected::msg("a trip without a key was not stored").into()),
            (Err(e), _) if unique_violation(&e) == Some(ONE_ACTIVE_PER_PASSENGER) => {
                // Two requests with one key may both pass the idempotency check before either
                // is stored; the loser then fails here, on the active-trip index, once the
                // winner has committed. It is a replay, not a second trip.
                match &idempotency {
                    Some(i) => match self.replay(trip.passenger_id(), i).await? {
                        Some(replayed) => replayed,
                        None => Err(CreateTripError::ActiveTripExists),
                    },
                    None => Err(CreateTripError::ActiveTripExists),
                }
            }
            (Err(e), _) => Err(failed("inserting a trip")(e).into()),
        }
    }

    async fn find(&self, id: TripId) -> Result<Option<Trip>, Unexpected> {
        find_by::<TripRow, _, _>(&self.pool, FIND, id.as_uuid()).await
    }

    async fn active_for_passenger(
        &self,
        passenger: PassengerId,
    ) -> Result<Option<Trip>, Unexpected> {
        find_by::<TripRow, _, _>(&self.pool, ACTIVE_FOR_PASSENGER, passenger.as_uuid()).await
    }

    async fn list(&self, query: &TripListQuery) -> Result<Vec<Trip>, Unexpected> {
        list::list(self, query).await
    }

    async fn find_offer(&self, id: OfferId) -> Result<Option<Offer>, Unexpected> {
        find_by::<OfferRow, _, _>(&self.pool, FIND_OFFER, id.as_uuid()).await
    }

    async fn offers_for_trip(&self, trip: TripId) -> Result<Vec<Offer>, Unexpected> {
        let rows = sqlx::query_as::<_, OfferRow>(OFFERS_FOR_TRIP)
            .bind(trip.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(failed("listing a trip's offers"))?;
        offers(rows)
    }

    async fn open_offer_of(&self, driver: DriverId) -> Result<Option<Offer>, Unexpected> {
        find_by::<OfferRow, _, _>(&self.pool, OPEN_OFFER_OF, driver.as_uuid()).await
    }

    async fn unattended(&self, q: &UnattendedQuery) -> Result<Vec<UnattendedTrip>, Unexpected> {
        let rows = sqlx::query_as::<_, UnattendedRow>(UNATTENDED)
            .bind(q.now - q.quiet)
            .bind(q.now - q.timeout)
            .bind(limit(q.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(failed("listing unattended trips"))?;
        rows.into_iter()
            .map(|row| {
                Ok(UnattendedTrip {
                    trip: Trip::try_from(row.trip)?,
                    timed_out: row.timed_out,
                })
            })
            .collect()
    }

    async fn now(&self) -> Result<OffsetDateTime, Unexpected> {
        sqlx::query_scalar("SELECT now()")
            .fetch_one(&self.pool)
            .await
            .map_err(failed("reading the store's clock"))
    }

    async fn due_offers(
        &self,
        now: OffsetDateTime,
        limit_n: usize,
    ) -> Result<Vec<Offer>, Unexpected> {
        let rows = sqlx::query_as::<_, OfferRow>(DUE_OFFERS)
            .bind(now)
            .bind(limit(limit_n))
            .fetch_all(&self.pool)
            .await
            .map_err(failed("listing due offers"))?;
        offers(rows)
    }

    async fn apply(&self, write: &DispatchWrite) -> Result<Applied, DispatchConflict> {
        let mut retries = 0;
        loop {
            let mut tx = self
                .pool
                .begin()
                .await
                .map_err(failed("starting a dispatch write"))?;
            let outcome = apply_on(&mut tx, write).await;
            match outcome {
                Ok(applied) => {
                    tx.commit()
                        .await
                        .map_err(failed("committing a dispatch write"))?;
                    return Ok(applied);
                }
                Err(conflict) => {
                    // A failed rollback leaves nothing to undo either: the server aborts an
                    // unfinished transaction when its connection closes.
                    let _ = tx.rollback().await;
                    match conflict {
                        DispatchConflict::Unexpected(e)
                            if is_deadlock(&e) && retries < DEADLOCK_RETRIES =>
                        {
                            retries += 1;
                        }
                        other => return Err(other),
                    }
                }
            }
        }
    }
}

#[async_trait]
impl TripStandingLookup for PgStore {
    /// [`TripStanding::External`] for an id not in `trips`.
    async fn standing(&self, trip: TripId) -> Result<TripStanding, Unexpected> {
        let row: Option<(Option<Uuid>, String)> = sqlx::query_as(STANDING)
            .bind(trip.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("reading a trip's standing"))?;
        let Some((driver, status)) = row else {
            return Ok(TripStanding::External);
        };
        let status = TripStatus::parse(&status).map_err(|_| corrupt("trips", trip, "status"))?;
        Ok(TripStanding::dispatched(
            driver.map(DriverId::from_uuid),
            status,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::error::Error as StdError;
    use std::fmt;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// A database error with only a SQLSTATE.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl fmt::Display for Coded {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl StdError for Coded {}

    impl DatabaseError for Coded {
        fn message(&self) -> &str {
            "test"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn database(code: &'static str) -> Unexpected {
        failed("writing")(sqlx::Error::Database(Box::new(Coded(code))))
    }

    #[test]
    fn a_deadlock_is_recognised_through_the_context() {
        assert!(is_deadlock(&database("40P01")));
        assert!(!is_deadlock(&database("23505")));
        assert!(!is_deadlock(&failed("writing")(sqlx::Error::PoolTimedOut)));
        assert!(!is_deadlock(&Unexpected::msg("no database involved")));
    }
}
