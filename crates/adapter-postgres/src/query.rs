//! The two statement shapes most repository methods are: read one row by a key and map it to
//! its domain value, and update one row by its key and say whether it changed.

use rodando_ports::Unexpected;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Encode, FromRow, PgPool, Postgres, Type};

use crate::errors::failed;

/// The `R` row that `sql` finds with `key` as `$1`, as the domain value `T` (`None`: no such
/// row; a row the domain refuses is [`Unexpected`]). `what` names the read in errors.
pub(crate) async fn find_by<R, T, K>(
    pool: &PgPool,
    sql: &'static str,
    key: K,
    what: &'static str,
) -> Result<Option<T>, Unexpected>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<R, Error = Unexpected>,
    K: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send,
{
    sqlx::query_as::<_, R>(sql)
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(failed(what))?
        .map(T::try_from)
        .transpose()
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
