//! Mapping sqlx failures to the ports' errors: named constraints become typed variants, anything
//! else is [`Unexpected`] with a line of context.

use rodando_ports::Unexpected;

/// The constraint a statement violated, when it failed on a unique constraint.
pub(crate) fn unique_violation(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(e) if e.is_unique_violation() => e.constraint(),
        _ => None,
    }
}

/// `map_err` adapter: a failed query, with what was being done.
pub(crate) fn failed(context: &'static str) -> impl FnOnce(sqlx::Error) -> Unexpected {
    move |e| Unexpected::new(context, e)
}

/// A stored value the domain refuses: only a bug or a manual edit can cause it.
pub(crate) fn corrupt(table: &str, key: impl std::fmt::Display, what: &str) -> Unexpected {
    Unexpected::msg(format!("corrupt {table} row {key}: {what}"))
}
