//! Readiness of the things the server depends on (store, Redis).

use async_trait::async_trait;

use crate::Unexpected;

/// One dependency `GET /ready` asks.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Short name shown when it fails, e.g. `store`.
    fn name(&self) -> &'static str;

    /// Answers when the dependency answers.
    ///
    /// # Errors
    /// [`Unexpected`] naming what failed.
    async fn check(&self) -> Result<(), Unexpected>;
}
