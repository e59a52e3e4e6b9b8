//! An admitted socket: rooms, `hello`, handlers, and the disconnect log line.

use rodando_wire::events as names;
use std::sync::Arc;

use rodando_application::Principal;
use rodando_domain::user::Role;
use rodando_wire::availability::LocationPing;
use rodando_wire::session::Hello;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::socket::DisconnectReason;
use time::OffsetDateTime;

use crate::context::SocketContext;
use crate::events::Arrived;
use crate::{Realtime, events, metrics, presence, resync, rooms};

/// Called once the handshake admitted the socket.
pub(crate) async fn on_connect<A: Adapter>(socket: SocketRef<A>, realtime: Arc<Realtime>) {
    let Some(ctx) = socket.extensions.get::<Arc<SocketContext>>() else {
        tracing::error!(sid = %socket.id, "admitted socket without context; disconnecting");
        let _ = socket.disconnect();
        return;
    };
    let p = &ctx.principal;
    socket.join(rooms_of(p));
    metrics::connected(p.namespace);
    realtime.expiry.watch(socket.id, &ctx);
    let on_close = Arc::clone(&realtime);
    socket.on_disconnect(move |socket: SocketRef<A>, reason: DisconnectReason| async move {
        if let Some(ctx) = socket.extensions.get::<Arc<SocketContext>>() {
            ctx.slot.release();
            let p = &ctx.principal;
            metrics::disconnected(p.namespace);
            tracing::info!(user_id = %p.user_id, session_id = %p.session_id, ns = p.namespace.path(), sid = %socket.id, %reason, "socket disconnected");
            if let Some(driver) = p.driver_id() {
                presence::driver_disconnected(&on_close, socket.clone(), driver);
            }
        }
    });
    let greeter = Arc::clone(&realtime);
    // The handler holds the context itself: no look-up in the socket's extensions (a lock and
    // a type map) per event. It lives as long as the socket's handlers, as the extensions do.
    let events_ctx = Arc::clone(&ctx);
    let events_realtime = Arc::clone(&realtime);
    socket.on_fallback(
        move |socket: SocketRef<A>,
              Event(event): Event,
              TryData(payload): TryData<Value>,
              ack: AckSender<A>| {
            let arrived = Arrived::Event(event, payload.ok());
            handled(&events_realtime, &events_ctx, socket, arrived, ack)
        },
    );
    if let Some(driver) = p.driver_id() {
        let pings_ctx = Arc::clone(&ctx);
        let pings_realtime = Arc::clone(&realtime);
        socket.on(
            names::DRIVER_LOCATION_PING,
            move |socket: SocketRef<A>, TryData(ping): TryData<LocationPing>, ack: AckSender<A>| {
                let arrived = Arrived::Ping(driver, ping.ok());
                handled(&pings_realtime, &pings_ctx, socket, arrived, ack)
            },
        );
    }

    if let Some(driver) = p.driver_id() {
        // Awaited before hello: a driver whose hello came can be dispatched to (recorded in
        // the background, a status update and a ping could be acked while dispatch still
        // skipped it as unable to hear offers). The disconnect handler is in place already;
        // a socket that closed meanwhile is recorded gone again after this write.
        presence::driver_connected(&greeter, driver).await;
        if !socket.connected() {
            presence::driver_disconnected(&greeter, socket.clone(), driver);
            return;
        }
    }
    // After the rooms are joined, so nothing that happens meanwhile is missed: an event may
    // then arrive before hello, and its seq tells the client which is newer.
    let state = resync::session_state(&greeter, p).await;
    let hello = Hello::new(p, OffsetDateTime::now_utc()).with_state(state);
    metrics::emitted(names::HELLO);
    if let Err(e) = socket.emit(names::HELLO, &hello) {
        tracing::debug!(sid = %socket.id, error = %e, "could not send hello");
    }
    tracing::info!(user_id = %p.user_id, session_id = %p.session_id, ns = p.namespace.path(), sid = %socket.id, transport = ?socket.transport_type(), "socket connected");
}

/// The handling of one event, tracked so a graceful shutdown waits for it.
fn handled<A: Adapter>(
    realtime: &Arc<Realtime>,
    ctx: &Arc<SocketContext>,
    socket: SocketRef<A>,
    arrived: Arrived,
    ack: AckSender<A>,
) -> impl Future<Output = ()> + Send + use<A> {
    let realtime = Arc::clone(realtime);
    let ctx = Arc::clone(ctx);
    realtime.in_flight.clone().track_future(async move {
        events::handle(socket, realtime, &ctx, arrived, ack).await;
    })
}

/// The rooms of PROTOCOL §4 a socket joins on admission.
fn rooms_of(p: &Principal) -> Vec<String> {
    let mut rooms = vec![rooms::session(p.session_id)];
    match p.role() {
        Role::Driver(driver) => rooms.push(rooms::driver(driver)),
        Role::Passenger(passenger) => rooms.push(rooms::passenger(passenger)),
        Role::Admin(_) => {
            rooms.push(rooms::ADMIN_DRIVERS.to_owned());
            rooms.push(rooms::ADMIN_TRIPS.to_owned());
        }
    }
    rooms
}
