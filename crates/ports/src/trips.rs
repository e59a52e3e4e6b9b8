//! What the availability rules need to know about trips dispatched here.

use async_trait::async_trait;
use rodando_domain::availability::TripStanding;
use rodando_domain::ids::TripId;

use crate::Unexpected;

/// Answers "was this trip dispatched by this server, to whom, and is it still active?".
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TripStandingLookup: Send + Sync {
    /// [`TripStanding::External`] for an id this server never dispatched.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn standing(&self, trip: TripId) -> Result<TripStanding, Unexpected>;
}
