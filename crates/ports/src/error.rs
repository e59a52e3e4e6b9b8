//! The one opaque failure shared by every port.

/// A failure the caller cannot act on (store unreachable, corrupt row, signing failure...).
/// Its cause chain is logged; clients only ever see `internal`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Unexpected(#[from] pub anyhow::Error);

impl Unexpected {
    /// Wraps any error with a line of context.
    pub fn new<E>(context: &'static str, error: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self(anyhow::Error::new(error).context(context))
    }

    /// An unexpected condition with no underlying error.
    pub fn msg(message: impl std::fmt::Display + std::fmt::Debug + Send + Sync + 'static) -> Self {
        Self(anyhow::Error::msg(message))
    }
}
