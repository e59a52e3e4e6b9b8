//! The statement shapes most repository methods are: read one row by a key, or every row of a
//! query, and map them to domain values; update one row by its key and say whether it changed.

use rodando_ports::Unexpected;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{Query, QueryAs};
use sqlx::{Encode, FromRow, PgPool, Postgres, Type};

use crate::errors::failed;

/// A read of one row by a key (`$1`), and what it does, for errors.
pub(crate) struct Read {
    pub(crate) sql: &'static str,
    pub(crate) what: &'static str,
}

/// The `R` row that `read` finds with `key`, as the domain value `T` (`None`: no such row; a
/// row the domain refuses is [`Unexpected`]).
pub(crate) async fn find_by<R, T, K>(
    pool: &PgPool,
    read: Read,
    key: K,
) -> Result<Option<T>, Unexpected>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<R, Error = Unexpected>,
    K: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send,
{
    sqlx::query_as::<_, R>(read.sql)
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(failed(read.what))?
        .map(T::try_from)
        .transpose()
}

/// Every `R` row `query` returns, as domain values `T` (a row the domain refuses is
/// [`Unexpected`]); `what` names the read in errors.
pub(crate) async fn all_of<R, T>(
    query: QueryAs<'_, Postgres, R, PgArguments>,
    pool: &PgPool,
    what: &'static str,
) -> Result<Vec<T>, Unexpected>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<R, Error = Unexpected>,
{
    query
        .fetch_all(pool)
        .await
        .map_err(failed(what))?
        .into_iter()
        .map(T::try_from)
        .collect()
}

/// Runs `update`, a guarded `UPDATE` of one row by its key: whether it changed the row.
pub(crate) async fn updated_one(
    update: Query<'_, Postgres, PgArguments>,
    pool: &PgPool,
    what: &'static str,
) -> Result<bool, Unexpected> {
    let done = update.execute(pool).await.map_err(failed(what))?;
    Ok(done.rows_affected() == 1)
}
