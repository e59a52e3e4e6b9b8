//! [`TripRepository::list`](rodando_ports::trips::TripRepository::list): one keyset query per
//! scope and status filter, each walking a `(…, requested_at, id)` index of migration 0010
//! backwards from the page boundary and stopping at the limit, so a page costs the same on the
//! hundredth page as on the first and whatever the history holds.
//!
//! The boundary is a row comparison, `(requested_at, id) < ($2, $3)`, which PostgreSQL uses as an
//! index condition; the first page binds no boundary and compares with `'infinity'` instead, so
//! every page runs the same statement.

use rodando_domain::trip::Trip;
use rodando_domain::trip_list::{TripFilter, TripListQuery, TripScope};
use rodando_ports::Unexpected;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::{Postgres, Row};
use uuid::Uuid;

use super::row::{TripRow, active_statuses, trip_columns};
use crate::PgStore;
use crate::errors::failed;
use crate::query::all_of;

/// The greatest UUID: with `'infinity'`, the boundary of a first page.
const MAX_UUID: Uuid = Uuid::max();

/// A page of trips of `$who` with status `$status`: `$1` the passenger or driver (unused for
/// everyone), `$2`/`$3` the boundary (`NULL` for the first page), `$4` the limit.
macro_rules! page_sql {
    ($who:expr, $status:expr) => {
        concat!(
            "SELECT ",
            trip_columns!(),
            " FROM trips WHERE ",
            $who,
            $status,
            " AND (requested_at, id) < (COALESCE($2, 'infinity'::timestamptz), COALESCE($3, $5)) \
             ORDER BY requested_at DESC, id DESC LIMIT $4"
        )
    };
}

/// Who: a passenger (`trips_passenger_requested_idx`), a driver (`trips_driver_requested_idx`),
/// everyone (`trips_requested_idx`, or `trips_active_requested_idx` for active trips). `$1` is
/// referenced by every statement, so each binds the same arguments.
macro_rules! passenger {
    () => {
        "passenger_id = $1"
    };
}
macro_rules! driver {
    () => {
        "driver_id = $1"
    };
}
macro_rules! everyone {
    () => {
        "$1::uuid IS NULL"
    };
}

/// Statuses: the active predicate is `trips_active_requested_idx`'s, literally.
macro_rules! active {
    () => {
        concat!(" AND status IN ", active_statuses!())
    };
}
macro_rules! finished {
    () => {
        concat!(" AND status NOT IN ", active_statuses!())
    };
}
macro_rules! any_status {
    () => {
        ""
    };
}

/// The statement of a query: scope first, then filter.
fn statement(scope: &TripScope, filter: TripFilter) -> &'static str {
    match (scope, filter) {
        (TripScope::Passenger(_), TripFilter::Active) => page_sql!(passenger!(), active!()),
        (TripScope::Passenger(_), TripFilter::Finished) => page_sql!(passenger!(), finished!()),
        (TripScope::Passenger(_), TripFilter::All) => page_sql!(passenger!(), any_status!()),
        (TripScope::Driver(_), TripFilter::Active) => page_sql!(driver!(), active!()),
        (TripScope::Driver(_), TripFilter::Finished) => page_sql!(driver!(), finished!()),
        (TripScope::Driver(_), TripFilter::All) => page_sql!(driver!(), any_status!()),
        (TripScope::Everyone, TripFilter::Active) => page_sql!(everyone!(), active!()),
        (TripScope::Everyone, TripFilter::Finished) => page_sql!(everyone!(), finished!()),
        (TripScope::Everyone, TripFilter::All) => page_sql!(everyone!(), any_status!()),
    }
}

/// `sql` (a page statement, or `EXPLAIN` of one) with the query's arguments bound.
fn bound<'q, O>(sql: &'q str, query: &TripListQuery) -> QueryAs<'q, Postgres, O, PgArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let who = match query.scope {
        TripScope::Passenger(p) => Some(p.as_uuid()),
        TripScope::Driver(d) => Some(d.as_uuid()),
        TripScope::Everyone => None,
    };
    sqlx::query_as::<_, O>(sql)
        .bind(who)
        .bind(query.after.map(|k| k.requested_at))
        .bind(query.after.map(|k| k.id.as_uuid()))
        .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
        .bind(MAX_UUID)
}

pub(super) async fn list(store: &PgStore, query: &TripListQuery) -> Result<Vec<Trip>, Unexpected> {
    if query.limit == 0 {
        return Ok(Vec::new());
    }
    let rows = bound::<TripRow>(statement(&query.scope, query.filter), query);
    all_of(rows, &store.pool, "listing trips").await
}

/// One line of `EXPLAIN` output.
struct PlanLine(String);

impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for PlanLine {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        row.try_get(0).map(Self)
    }
}

impl PgStore {
    /// The plan PostgreSQL chooses for [`TripRepository::list`](rodando_ports::trips::TripRepository::list)
    /// with these arguments (`EXPLAIN` text, one line per plan node): lets an operator, or a
    /// test, see that a page walks an index and stops at the limit rather than sorting the
    /// history.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    pub async fn explain_trip_list(&self, query: &TripListQuery) -> Result<String, Unexpected> {
        let sql = format!("EXPLAIN {}", statement(&query.scope, query.filter));
        let lines: Vec<PlanLine> = bound::<PlanLine>(&sql, query)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("explaining the trip list query"))?;
        Ok(lines
            .into_iter()
            .map(|l| l.0)
            .collect::<Vec<_>>()
            .join("\n"))
    }
}
