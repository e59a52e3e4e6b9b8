//! The [`Notifier`] port over Socket.IO rooms. With a Redis adapter the same emits reach
//! sockets on every node.
//!
//! Every notification runs all of its steps (emits, joins, leaves, disconnects) whatever
//! happens to one of them. A socket that cannot be reached (full buffer, closing) is no
//! failure of the notification: it is counted and logged ([`crate::delivery`]) and the others
//! still get the event. An adapter failure (e.g. Redis) is counted and logged too, the
//! remaining steps still run, and the first such failure is returned at the end: the use cases
//! only log it ("stored but not pushed") and never undo or retry the stored change, so the
//! error informs without ever costing another target its event.

use rodando_wire::events as names;
use std::sync::Arc;

use async_trait::async_trait;
use rodando_domain::admission::Namespace;
use rodando_domain::availability::DriverAvailability;
use rodando_domain::ids::SessionId;
use rodando_domain::session::RevokeReason;
use rodando_ports::Unexpected;
use rodando_ports::notifier::{Notification, Notifier, TripAudience, TripEvent};
use rodando_wire::availability::{AvailabilitySnapshot, LocationUpdate, TripUpdate};
use rodando_wire::session::{NotificationBody, SessionRefreshed};
use rodando_wire::trips::{
    ArrivingStarted, DriverAssigned, DriverStep, NoDriversFound, OfferClosed, Sequenced, TripAt,
    TripCancelled, TripCompleted, TripOffered, TripRequested,
};
use serde::Serialize;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide_core::adapter::{Room, RoomParam};
use time::OffsetDateTime;

use crate::coalesce::{self, Coalescer};
use crate::delivery::{self, Failure};
use crate::{kick, metrics, rooms};

/// The steps of one notification: all run; the first failure is reported at the end.
#[derive(Default)]
struct Steps(Option<Unexpected>);

impl Steps {
    fn record(&mut self, step: Result<(), Unexpected>) {
        if let Err(e) = step
            && self.0.is_none()
        {
            self.0 = Some(e);
        }
    }

    fn finish(self) -> Result<(), Unexpected> {
        self.0.map_or(Ok(()), Err)
    }
}

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
        room: impl Into<Room> + Send,
        event: &'static str,
        data: &T,
    ) -> Result<(), Unexpected> {
        emit_to_rooms(&self.io, namespace, room.into(), event, data).await
    }

    /// The same event to a session's sockets in every namespace.
    async fn emit_to_session<T: Serialize + ?Sized + Sync>(
        &self,
        session: SessionId,
        event: &'static str,
        data: &T,
    ) -> Result<(), Unexpected> {
        let mut steps = Steps::default();
        for ns in Namespace::ALL {
            steps.record(self.emit(ns, rooms::session(session), event, data).await);
        }
        steps.finish()
    }

    async fn to_driver_and_admins<T: Serialize + ?Sized + Sync>(
        &self,
        snapshot: &DriverAvailability,
        event: &'static str,
        data: &T,
    ) -> Result<(), Unexpected> {
        let mut steps = Steps::default();
        steps.record(
            self.emit(
                Namespace::Drivers,
                rooms::driver(snapshot.driver_id),
                event,
                data,
            )
            .await,
        );
        steps.record(
            self.emit(Namespace::Admin, rooms::ADMIN_DRIVERS, event, data)
                .await,
        );
        steps.finish()
    }
}

impl<A: Adapter> SocketNotifier<A> {
    /// Every socket in `members` (in `namespace`) joins `room`, on whatever node it lives.
    async fn join(
        &self,
        namespace: Namespace,
        members: String,
        room: &str,
    ) -> Result<(), Unexpected> {
        if let Some(ops) = self.io.of(namespace.path()) {
            ops.to(members)
                .join(room.to_owned())
                .await
                .map_err(|e| delivery::failed(Failure::Adapter, namespace, "join", &e))?;
        }
        Ok(())
    }

    /// Every socket in `room` (in `namespace`) leaves it, on whatever node it lives.
    async fn leave(&self, namespace: Namespace, room: &str) -> Result<(), Unexpected> {
        if let Some(ops) = self.io.of(namespace.path()) {
            ops.to(room.to_owned())
                .leave(room.to_owned())
                .await
                .map_err(|e| delivery::failed(Failure::Adapter, namespace, "leave", &e))?;
        }
        Ok(())
    }
}

/// The event name and payload of a trip event (PROTOCOL §8), as number `seq` of the trip's
/// stream. The payload is serialized once here, as it goes to several rooms and namespaces;
/// every shape is a typed struct of the wire crate.
fn trip_payload(audience: TripAudience, seq: u64, event: &TripEvent) -> (&'static str, Value) {
    match event {
        TripEvent::Requested(t) => (names::TRIP_REQUESTED, numbered(seq, TripRequested::from(t))),
        TripEvent::AssigningStarted { at } => (
            names::TRIP_ASSIGNING_STARTED,
            numbered(seq, TripAt::new(audience.trip_id, *at)),
        ),
        TripEvent::Offered { offer, trip } => (
            names::TRIP_ASSIGNMENT_OFFERED,
            numbered(seq, TripOffered::new(offer, trip)),
        ),
        TripEvent::OfferAccepted(o) => (
            names::TRIP_ASSIGNMENT_ACCEPTED,
            numbered(seq, OfferClosed::from(o)),
        ),
        TripEvent::OfferRejected(o) => (
            names::TRIP_ASSIGNMENT_REJECTED,
            numbered(seq, OfferClosed::from(o)),
        ),
        TripEvent::OfferExpired(o) => (
            names::TRIP_ASSIGNMENT_EXPIRED,
            numbered(seq, OfferClosed::from(o)),
        ),
        TripEvent::OfferWithdrawn(o) => (
            names::TRIP_CANCELLED,
            numbered(seq, TripCancelled::offer_withdrawn(o)),
        ),
        TripEvent::NoDriversFound { reason } => (
            names::TRIP_NO_DRIVERS_FOUND,
            numbered(seq, NoDriversFound::new(audience.trip_id, reason)),
        ),
        TripEvent::DriverAssigned {
            trip,
            driver_id,
            driver_name,
        } => (
            names::TRIP_DRIVER_ASSIGNED,
            numbered(seq, DriverAssigned::new(trip, *driver_id, driver_name)),
        ),
        TripEvent::ArrivingStarted {
            driver_id,
            eta_sec,
            driver_position,
        } => (
            names::TRIP_ARRIVING_STARTED,
            numbered(
                seq,
                ArrivingStarted::new(audience.trip_id, *driver_id, *eta_sec, *driver_position),
            ),
        ),
        TripEvent::DriverArrived(t) => (
            names::TRIP_DRIVER_ARRIVED_PICKUP,
            numbered(seq, DriverStep::arrived(t)),
        ),
        TripEvent::Started(t) => (names::TRIP_STARTED, numbered(seq, DriverStep::started(t))),
        TripEvent::Completed(t) => (names::TRIP_COMPLETED, numbered(seq, TripCompleted::from(t))),
        TripEvent::Cancelled(t) => (names::TRIP_CANCELLED, numbered(seq, TripCancelled::from(t))),
    }
}

/// A trip event's payload as JSON, carrying its `seq`.
fn numbered<T: Sequenced + Serialize>(seq: u64, data: T) -> Value {
    payload(data.with_seq(seq))
}

/// A wire struct as JSON. These structs hold strings, numbers, booleans and nested structs
/// only, so this cannot fail; `null` stands in rather than a panic if one ever did.
fn payload(data: impl Serialize) -> Value {
    serde_json::to_value(data).unwrap_or(Value::Null)
}

/// The dispatch step an event records, for the dispatch outcome counter.
fn dispatch_outcome(event: &TripEvent) -> Option<&'static str> {
    match event {
        TripEvent::Offered { .. } => Some("offered"),
        TripEvent::OfferAccepted(_) => Some("accepted"),
        TripEvent::OfferRejected(_) => Some("rejected"),
        TripEvent::OfferExpired(_) => Some("expired"),
        TripEvent::NoDriversFound { .. } => Some("no_drivers_found"),
        TripEvent::Cancelled(_) => Some("cancelled"),
        _ => None,
    }
}

/// One emit to one room or several (a `Room` or a `Vec<String>`) of a namespace: a socket in
/// more than one gets it once. Sockets that cannot take it do not keep it from the others and
/// are not an error (see [`delivery::absorb_emit`]); an adapter failure is. One room goes as a
/// `Room`, not in a `Vec`: a fixed room such as `admin:drivers` is then copied for nothing, a
/// driver's room once (its broadcast of every ping).
async fn emit_to_rooms<A: Adapter, T: Serialize + ?Sized, R: RoomParam + Clone>(
    io: &SocketIo<A>,
    namespace: Namespace,
    rooms: R,
    event: &'static str,
    data: &T,
) -> Result<(), Unexpected> {
    let Some(ns) = io.of(namespace.path()) else {
        return Ok(());
    };
    metrics::emitted(event);
    let result = ns.to(rooms.clone()).emit(event, data).await;
    delivery::absorb_emit(io, namespace, rooms, event, result)
}

#[async_trait]
impl<A: Adapter> Notifier for SocketNotifier<A> {
    async fn driver_availability_changed(
        &self,
        snapshot: &DriverAvailability,
    ) -> Result<(), Unexpected> {
        let data = AvailabilitySnapshot::from(snapshot);
        self.to_driver_and_admins(snapshot, names::DRIVER_AVAILABILITY_UPDATE, &data)
            .await
    }

    async fn driver_location_changed(
        &self,
        snapshot: &DriverAvailability,
    ) -> Result<(), Unexpected> {
        let update = LocationUpdate::from(snapshot);
        let to_driver = self
            .emit(
                Namespace::Drivers,
                rooms::driver(snapshot.driver_id),
                names::DRIVER_LOCATION_UPDATE,
                &update,
            )
            .await;
        let io = self.io.clone();
        coalesce::publish(
            &self.admin_locations,
            snapshot.driver_id,
            update,
            move |update| {
                let io = io.clone();
                async move {
                    if let Err(e) = emit_to_rooms(
                        &io,
                        Namespace::Admin,
                        Room::Borrowed(rooms::ADMIN_DRIVERS),
                        names::DRIVER_LOCATION_UPDATE,
                        &update,
                    )
                    .await
                    {
                        tracing::debug!(error = %e, "admin location update not broadcast");
                    }
                }
            },
        );
        to_driver
    }

    async fn driver_trip_changed(&self, snapshot: &DriverAvailability) -> Result<(), Unexpected> {
        let data = TripUpdate::from(snapshot);
        self.to_driver_and_admins(snapshot, names::DRIVER_TRIP_UPDATE, &data)
            .await
    }

    async fn session_revoked(
        &self,
        session: SessionId,
        reason: RevokeReason,
    ) -> Result<(), Unexpected> {
        let notice = kick::revoked_notice(session, reason);
        let mut steps = Steps::default();
        steps.record(
            self.emit_to_session(session, names::AUTH_SESSION_REVOKED, notice.payload())
                .await,
        );
        let room = rooms::session(session);
        for ns in Namespace::ALL {
            if let Some(ops) = self.io.of(ns.path()) {
                let result = ops.to(room.clone()).disconnect().await;
                steps.record(delivery::absorb_disconnect(ns, result));
            }
            // Whatever could not take the DISCONNECT here is still connected: kicked directly,
            // or made inert and disconnected once it can be (kick.rs). Remote nodes settle
            // their own sockets.
            kick::kick_survivors(&self.io, ns, &room, &notice);
        }
        steps.finish()
    }

    async fn session_refreshed(
        &self,
        session: SessionId,
        access_expires_at: OffsetDateTime,
    ) -> Result<(), Unexpected> {
        let data = SessionRefreshed::new(session, access_expires_at);
        self.emit_to_session(session, names::AUTH_SESSION_REFRESHED, &data)
            .await
    }

    async fn trip_event(
        &self,
        audience: TripAudience,
        seq: u64,
        event: &TripEvent,
    ) -> Result<(), Unexpected> {
        if let Some(outcome) = dispatch_outcome(event) {
            metrics::dispatch(outcome);
        }
        let (name, data) = trip_payload(audience, seq, event);
        let trip_room = rooms::trip(audience.trip_id);
        let mut steps = Steps::default();
        if let TripEvent::Offered { .. } | TripEvent::OfferWithdrawn(_) = event {
            if let Some(driver) = audience.driver_id {
                steps.record(
                    self.emit(Namespace::Drivers, rooms::driver(driver), name, &data)
                        .await,
                );
            }
            return steps.finish();
        }
        // Before the first emit, so the passenger's other devices are in the room too.
        if let TripEvent::Requested(_) = event {
            steps.record(
                self.join(
                    Namespace::Passengers,
                    rooms::passenger(audience.passenger_id),
                    &trip_room,
                )
                .await,
            );
        }
        if let TripEvent::DriverAssigned { .. } = event
            && let Some(driver) = audience.driver_id
        {
            steps.record(
                self.join(Namespace::Drivers, rooms::driver(driver), &trip_room)
                    .await,
            );
        }
        let to_passenger = vec![rooms::passenger(audience.passenger_id), trip_room.clone()];
        steps.record(
            emit_to_rooms(&self.io, Namespace::Passengers, to_passenger, name, &data).await,
        );
        if let Some(driver) = audience.driver_id {
            let to_driver = vec![rooms::driver(driver), trip_room.clone()];
            steps.record(emit_to_rooms(&self.io, Namespace::Drivers, to_driver, name, &data).await);
        }
        let mut to_admins = vec![trip_room.clone()];
        if let TripEvent::Requested(_) = event {
            to_admins.push(rooms::ADMIN_TRIPS.to_owned());
        }
        steps.record(emit_to_rooms(&self.io, Namespace::Admin, to_admins, name, &data).await);
        if let TripEvent::Completed(_)
        | TripEvent::Cancelled(_)
        | TripEvent::NoDriversFound { .. } = event
        {
            for ns in Namespace::ALL {
                steps.record(self.leave(ns, &trip_room).await);
            }
        }
        steps.finish()
    }

    async fn notify(
        &self,
        session: SessionId,
        notification: &Notification,
    ) -> Result<(), Unexpected> {
        let data = NotificationBody::new(
            notification.id,
            &notification.kind,
            &notification.title,
            &notification.body,
            notification.data.as_ref(),
            notification.created_at,
        );
        self.emit_to_session(session, names::NOTIFICATION, &data)
            .await
    }

    /// To the passenger (its room and the trip's) and the admins in the trip's room: the same
    /// audience as the trip's events, minus the driver. The caller's throttle already made it
    /// one per trip per window, so nothing is coalesced here.
    async fn driver_en_route(
        &self,
        audience: TripAudience,
        update: &rodando_ports::notifier::EnRoute,
    ) -> Result<(), Unexpected> {
        use rodando_wire::en_route::{DriverEnRoute, EnRoutePosition};
        let data = DriverEnRoute::new(
            audience.trip_id,
            update.driver_id,
            EnRoutePosition::new(update.position, update.heading_deg, update.speed_kph),
            &update.progress,
            update.at,
        );
        let name = names::TRIP_DRIVER_EN_ROUTE;
        let trip_room = rooms::trip(audience.trip_id);
        let to_passenger = vec![rooms::passenger(audience.passenger_id), trip_room.clone()];
        let mut steps = Steps::default();
        steps.record(
            emit_to_rooms(&self.io, Namespace::Passengers, to_passenger, name, &data).await,
        );
        steps.record(emit_to_rooms(&self.io, Namespace::Admin, vec![trip_room], name, &data).await);
        steps.finish()
    }
}
