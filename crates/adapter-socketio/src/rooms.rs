//! Room names (PROTOCOL §4). Clients never name rooms; only the server builds these.

use rodando_domain::ids::{DriverId, PassengerId, SessionId, TripId};

/// Every `/admin` socket: the live fleet view.
pub(crate) const ADMIN_DRIVERS: &str = "admin:drivers";

/// Every `/admin` socket: hears `trip:requested` for every new trip, so a dashboard can decide
/// which trips to watch (`admin:trip:watch`) without polling.
pub(crate) const ADMIN_TRIPS: &str = "admin:trips";

/// Every socket of one driver (all its devices).
pub(crate) fn driver(id: DriverId) -> String {
    format!("driver:{id}")
}

/// Every socket of one passenger.
pub(crate) fn passenger(id: PassengerId) -> String {
    format!("passenger:{id}")
}

/// Every socket of one session, in any namespace.
pub(crate) fn session(id: SessionId) -> String {
    format!("session:{id}")
}

/// The trip's passenger, its assigned driver, and admins watching it.
pub(crate) fn trip(id: TripId) -> String {
    format!("trip:{id}")
}
