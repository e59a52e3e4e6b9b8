//! Realtime push to connected clients (Socket.IO in production).

use async_trait::async_trait;
use rodando_domain::availability::DriverAvailability;
use rodando_domain::ids::SessionId;
use rodando_domain::session::RevokeReason;
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

    /// `notification` to the session's sockets.
    ///
    /// # Errors
    /// [`Unexpected`] when the push could not be handed to the transport.
    async fn notify(
        &self,
        session: SessionId,
        notification: &Notification,
    ) -> Result<(), Unexpected>;
}
