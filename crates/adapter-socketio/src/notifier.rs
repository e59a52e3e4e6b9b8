//! The [`Notifier`] port over Socket.IO rooms. With a Redis adapter the same emits reach
//! sockets on every node.

use std::sync::Arc;

use async_trait::async_trait;
use rodando_domain::admission::Namespace;
use rodando_domain::availability::DriverAvailability;
use rodando_domain::ids::SessionId;
use rodando_domain::session::RevokeReason;
use rodando_ports::Unexpected;
use rodando_ports::notifier::{Notification, Notifier};
use rodando_wire::availability::{AvailabilitySnapshot, LocationUpdate, TripUpdate};
use rodando_wire::timestamp;
use serde::Serialize;
use serde_json::json;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use time::OffsetDateTime;

use crate::coalesce::{self, Coalescer};
use crate::rooms;

/// Emits domain changes to the rooms that must see them.
pub struct SocketNotifier<A: Adapter> {
    io: SocketIo<A>,
    admin_locations: Arc<Coalescer<LocationUpdate>>,
}

impl<A: Adapter> SocketNotifier<A> {
    /// Emits through `io`; admin location updates are coalesced over `admin_location_window`.
    pub fn new(io: SocketIo<A>, admin_location_window: std::time::Duration) -> Self {
        Self {
            io,
            admin_locations: Arc::new(Coalescer::new(admin_location_window)),
        }
    }

    async fn emit<T: Serialize + ?Sized + Sync>(
        &self,
        namespace: Namespace,
        room: String,
        event: &'static str,
        data: &T,
    ) -> Result<(), Unexpected> {
        emit_to(&self.io, namespace, room, event, data).await
    }

    /// The same event to a session's sockets in every namespace.
    async fn emit_to_session<T: Serialize + ?Sized + Sync>(
        &self,
        session: SessionId,
        event: &'static str,
        data: &T,
    ) -> Result<(), Unexpected> {
        for ns in Namespace::ALL {
            self.emit(ns, rooms::session(session), event, data).await?;
        }
        Ok(())
    }

    async fn to_driver_and_admins<T: Serialize + ?Sized + Sync>(
        &self,
        snapshot: &DriverAvailability,
        event: &'static str,
        data: &T,
    ) -> Result<(), Unexpected> {
        self.emit(
            Namespace::Drivers,
            rooms::driver(snapshot.driver_id),
            event,
            data,
        )
        .await?;
        self.emit(
            Namespace::Admin,
            rooms::ADMIN_DRIVERS.to_owned(),
            event,
            data,
        )
        .await
    }
}

async fn emit_to<A: Adapter, T: Serialize + ?Sized>(
    io: &SocketIo<A>,
    namespace: Namespace,
    room: String,
    event: &'static str,
    data: &T,
) -> Result<(), Unexpected> {
    let Some(ns) = io.of(namespace.path()) else {
        return Ok(());
    };
    ns.to(room)
        .emit(event, data)
        .await
        .map_err(|e| Unexpected::msg(format!("socket.io broadcast failed: {e}")))
}

#[async_trait]
impl<A: Adapter> Notifier for SocketNotifier<A> {
    async fn driver_availability_changed(
        &self,
        snapshot: &DriverAvailability,
    ) -> Result<(), Unexpected> {
        let data = AvailabilitySnapshot::from(snapshot);
        self.to_driver_and_admins(snapshot, "driver:availability:update", &data)
            .await
    }

    async fn driver_location_changed(
        &self,
        snapshot: &DriverAvailability,
    ) -> Result<(), Unexpected> {
        let update = LocationUpdate::from(snapshot);
        self.emit(
            Namespace::Drivers,
            rooms::driver(snapshot.driver_id),
            "driver:location:update",
            &update,
        )
        .await?;
        let io = self.io.clone();
        coalesce::publish(
            &self.admin_locations,
            snapshot.driver_id,
            update,
            move |update| {
                let io = io.clone();
                async move {
                    let room = rooms::ADMIN_DRIVERS.to_owned();
                    if let Err(e) = emit_to(
                        &io,
                        Namespace::Admin,
                        room,
                        "driver:location:update",
                        &update,
                    )
                    .await
                    {
                        tracing::warn!(error = %e, "admin location update not broadcast");
                    }
                }
            },
        );
        Ok(())
    }

    async fn driver_trip_changed(&self, snapshot: &DriverAvailability) -> Result<(), Unexpected> {
        let data = TripUpdate::from(snapshot);
        self.to_driver_and_admins(snapshot, "driver:trip:update", &data)
            .await
    }

    async fn session_revoked(
        &self,
        session: SessionId,
        reason: RevokeReason,
    ) -> Result<(), Unexpected> {
        let data = json!({"sessionId": session.to_string(), "reason": reason.as_str()});
        self.emit_to_session(session, "auth:session_revoked", &data)
            .await?;
        for ns in Namespace::ALL {
            if let Some(ops) = self.io.of(ns.path()) {
                ops.to(rooms::session(session))
                    .disconnect()
                    .await
                    .map_err(|e| Unexpected::msg(format!("socket.io disconnect failed: {e}")))?;
            }
        }
        Ok(())
    }

    async fn session_refreshed(
        &self,
        session: SessionId,
        access_expires_at: OffsetDateTime,
    ) -> Result<(), Unexpected> {
        let data = json!({
            "sessionId": session.to_string(),
            "accessTokenExpiresAt": timestamp::format(access_expires_at),
        });
        self.emit_to_session(session, "auth:session_refreshed", &data)
            .await
    }

    async fn notify(
        &self,
        session: SessionId,
        notification: &Notification,
    ) -> Result<(), Unexpected> {
        let data = json!({
            "id": notification.id.to_string(),
            "kind": notification.kind,
            "title": notification.title,
            "body": notification.body,
            "data": notification.data,
            "createdAt": timestamp::format(notification.created_at),
        });
        self.emit_to_session(session, "notification", &data).await
    }
}
