//! Realtime push to connected clients (Socket.IO in production).

use async_trait::async_trait;
use rodando_domain::availability::DriverAvailability;
use rodando_domain::en_route::Progress;
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::SessionId;
use rodando_domain::ids::{DriverId, PassengerId, TripId};
use rodando_domain::offer::Offer;
use rodando_domain::session::RevokeReason;
use rodando_domain::trip::Trip;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Unexpected;

/// A user-facing notification sent to every socket of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Unique id, for client-side de-duplication.
    pub id: Uuid,
    /// Machine-readable kind, e.g. `trip_update`.
    pub kind: String,
    /// Short title.
    pub title: String,
    /// Body text.
    pub body: String,
    /// Extra structured data.
    pub data: Option<serde_json::Value>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// Who a trip event may concern: its passenger, its driver (once assigned), the admins
/// watching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TripAudience {
    /// The trip.
    pub trip_id: TripId,
    /// Its passenger.
    pub passenger_id: PassengerId,
    /// Its assigned driver, if any.
    pub driver_id: Option<DriverId>,
}

impl From<&Trip> for TripAudience {
    fn from(t: &Trip) -> Self {
        Self {
            trip_id: t.id(),
            passenger_id: t.passenger_id(),
            driver_id: t.driver_id(),
        }
    }
}

/// A step of a trip's life, as pushed to clients (PROTOCOL §8).
#[derive(Debug, Clone, PartialEq)]
pub enum TripEvent {
    /// `trip:requested`.
    Requested(Trip),
    /// `trip:assigning_started`.
    AssigningStarted {
        /// When.
        at: OffsetDateTime,
    },
    /// `trip:assignment:offered`, to the offered driver only.
    Offered {
        /// The offer.
        offer: Offer,
        /// The trip offered.
        trip: Trip,
    },
    /// `trip:assignment:accepted`.
    OfferAccepted(Offer),
    /// `trip:assignment:rejected`.
    OfferRejected(Offer),
    /// `trip:assignment:expired` (the driver gets its own expiries too).
    OfferExpired(Offer),
    /// The offered driver's open offer was withdrawn because the trip ended: `trip:cancelled`
    /// to that driver only.
    OfferWithdrawn(Offer),
    /// `trip:no_drivers_found`.
    NoDriversFound {
        /// Why.
        reason: String,
    },
    /// `trip:driver_assigned`.
    DriverAssigned {
        /// The trip, now accepted.
        trip: Trip,
        /// The driver who holds it.
        driver_id: DriverId,
        /// The driver's display name.
        driver_name: String,
    },
    /// `trip:arriving_started`.
    ArrivingStarted {
        /// The driver.
        driver_id: DriverId,
        /// Seconds to the pickup.
        eta_sec: u32,
        /// Where the driver is.
        driver_position: Option<GeoPoint>,
    },
    /// `trip:driver_arrived_pickup`.
    DriverArrived(Trip),
    /// `trip:started`.
    Started(Trip),
    /// `trip:completed`.
    Completed(Trip),
    /// `trip:cancelled`.
    Cancelled(Trip),
}

/// Where a trip's driver is, for `trip:driver_en_route` (PROTOCOL §8): a position stream,
/// not a step of the trip's life.
#[derive(Debug, Clone, PartialEq)]
pub struct EnRoute {
    /// The driver.
    pub driver_id: DriverId,
    /// Its last position.
    pub position: GeoPoint,
    /// Heading in degrees, if the ping reported one.
    pub heading_deg: Option<f64>,
    /// Speed in km/h, if the ping reported one.
    pub speed_kph: Option<f64>,
    /// Where it is heading, how far and how long.
    pub progress: Progress,
    /// When the ping was taken.
    pub at: OffsetDateTime,
}

/// Pushes changes to the sockets that must see them, on whatever node holds them. Called only
/// after the change is stored. A failure is logged by the caller and never undoes the change.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync {
    /// `driver:availability:update` (full snapshot) to the driver's room and `admin:drivers`.
    ///
    /// # Errors
    /// [`Unexpected`] when the push could not be handed to the transport.
    async fn driver_availability_changed(
        &self,
        snapshot: &DriverAvailability,
    ) -> Result<(), Unexpected>;

    /// `driver:location:update` to the driver's room, and to `admin:drivers` (which may be
    /// coalesced, never losing the latest position).
    ///
    /// # Errors
    /// [`Unexpected`] when the push could not be handed to the transport.
    async fn driver_location_changed(
        &self,
        snapshot: &DriverAvailability,
    ) -> Result<(), Unexpected>;

    /// `driver:trip:update` to the driver's room and `admin:drivers`.
    ///
    /// # Errors
    /// [`Unexpected`] when the push could not be handed to the transport.
    async fn driver_trip_changed(&self, snapshot: &DriverAvailability) -> Result<(), Unexpected>;

    /// `auth:session_revoked` to the session's sockets, then disconnects them all at once.
    ///
    /// # Errors
    /// [`Unexpected`] when the push or the disconnect could not be handed to the transport.
    async fn session_revoked(
        &self,
        session: SessionId,
        reason: RevokeReason,
    ) -> Result<(), Unexpected>;

    /// `auth:session_refreshed` to the session's sockets.
    ///
    /// # Errors
    /// [`Unexpected`] when the push could not be handed to the transport.
    async fn session_refreshed(
        &self,
        session: SessionId,
        access_expires_at: OffsetDateTime,
    ) -> Result<(), Unexpected>;

    /// A trip event to everyone it concerns: the passenger's and the trip's rooms, the
    /// driver's room when the driver is assigned or the event is about its offer, and the
    /// admins watching the trip. The passenger's and the assigned driver's sockets join the
    /// trip room here. `seq` is the event's place in the trip's stream ([`Trip::seq`]), sent
    /// with it.
    ///
    /// # Errors
    /// [`Unexpected`] when the push could not be handed to the transport.
    async fn trip_event(
        &self,
        audience: TripAudience,
        seq: u64,
        event: &TripEvent,
    ) -> Result<(), Unexpected>;

    /// `notification` to the session's sockets.
    ///
    /// # Errors
    /// [`Unexpected`] when the push could not be handed to the transport.
    async fn notify(
        &self,
        session: SessionId,
        notification: &Notification,
    ) -> Result<(), Unexpected>;

    /// `trip:driver_en_route` to the trip's passenger and the admins watching the trip, nobody
    /// else. Callers already send at most one per trip per window (the latest position).
    ///
    /// # Errors
    /// [`Unexpected`] when the push could not be handed to the transport.
    async fn driver_en_route(
        &self,
        audience: TripAudience,
        update: &EnRoute,
    ) -> Result<(), Unexpected>;
}
