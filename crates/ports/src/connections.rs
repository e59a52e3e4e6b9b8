//! Who is connected right now, across every node (the realtime transport knows; stores do not).

use async_trait::async_trait;
use rodando_domain::ids::DriverId;

use crate::Unexpected;

/// Whether a driver still holds a socket somewhere, so dispatch only offers trips to drivers
/// who can hear them.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait DriverConnections: Send + Sync {
    /// Whether `driver` holds at least one socket on any node, not counting the socket being
    /// closed by the caller.
    ///
    /// # Errors
    /// [`Unexpected`] when the answer cannot be known (e.g. the other nodes cannot be asked);
    /// callers then leave the driver as it is.
    async fn is_connected(&self, driver: DriverId) -> Result<bool, Unexpected>;
}
