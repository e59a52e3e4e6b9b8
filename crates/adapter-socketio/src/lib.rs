//! # rodando-adapter-socketio
//!
//! The Socket.IO transport, on socketioxide. It registers `/drivers`, `/passengers` and
//! `/admin`, authenticates every connection in a connect middleware (PROTOCOL §3), joins the
//! rooms of §4, routes inbound events to the application with acks and `exception`s (§5), and
//! implements the [`rodando_ports::notifier::Notifier`] port by emitting to rooms.
//!
//! Everything is generic over the socketioxide [`Adapter`] so the same code runs on one node
//! (the local adapter) or on many sharing rooms through Redis.

mod admin;
mod coalesce;
mod config;
mod connection;
mod context;
mod delivery;
mod drivers;
mod events;
mod expiry;
mod handshake;
mod kick;
pub mod metrics;
mod notifier;
mod passengers;
mod presence;
mod registry;
mod reply;
mod resync;
mod rooms;
mod sync;
mod trips_snapshot;

use std::sync::Arc;

use rodando_application::availability::AvailabilityService;
use rodando_application::handshake::HandshakeService;
use rodando_application::trips::TripService;
use rodando_domain::admission::Namespace;
use socketioxide::adapter::Adapter;
use socketioxide::handler::ConnectHandler;
use socketioxide::{SocketIo, SocketIoBuilder};
use socketioxide_core::adapter::DefinedAdapter;
use tokio_util::task::TaskTracker;

pub use config::RealtimeConfig;
pub use expiry::ExpiryTimer;
pub use kick::revalidate_local_sessions;
pub use notifier::SocketNotifier;
pub use registry::LocalConnectionSlots;

/// What the socket handlers need: the use cases and the per-user connection slots.
pub struct Realtime {
    /// Admission of connections.
    pub handshake: HandshakeService,
    /// Driver availability commands.
    pub availability: AvailabilityService,
    /// Trips and dispatch.
    pub trips: TripService,
    /// Sockets per user (`MAX_CONNECTIONS_PER_USER`): [`LocalConnectionSlots`] on one node,
    /// counted in Redis across nodes with `REDIS_URL`.
    pub slots: Arc<dyn rodando_ports::connection_slots::ConnectionSlots>,
    /// Limits and timings.
    pub config: RealtimeConfig,
    /// Inbound events being handled, so a shutdown can let them finish and ack first.
    pub in_flight: TaskTracker,
    /// Every socket's token deadline, served by one task per node.
    pub expiry: ExpiryTimer,
}

impl Realtime {
    /// Waits (at most `limit`) until no inbound event is being handled; returns whether that
    /// happened in time. Called on shutdown before the sockets are closed, so a command the
    /// store already applied is acknowledged rather than left for the client to guess.
    pub async fn drain(&self, limit: std::time::Duration) -> bool {
        self.in_flight.close();
        tokio::time::timeout(limit, self.in_flight.wait())
            .await
            .is_ok()
    }
}

/// A socketioxide builder with the engine options of PROTOCOL §3.
pub fn builder(config: &RealtimeConfig) -> SocketIoBuilder {
    SocketIo::builder()
        .ping_interval(config.ping_interval)
        .ping_timeout(config.ping_timeout)
        .max_payload(config.max_payload_bytes)
        .ws_max_message_size(usize::try_from(config.max_payload_bytes).unwrap_or(usize::MAX))
        .ws_max_frame_size(usize::try_from(config.max_payload_bytes).unwrap_or(usize::MAX))
        .max_buffer_size(config.max_buffered_packets)
        .ws_read_buffer_size(config.ws_read_buffer_bytes)
}

/// Registers the three namespaces with their handshake middleware and handlers. Returns what
/// the adapter gives back for each namespace (a future to await for remote adapters such as
/// Redis, `()` for the local one).
pub fn attach<A: Adapter + DefinedAdapter>(
    io: &SocketIo<A>,
    realtime: Arc<Realtime>,
) -> Vec<A::InitRes> {
    realtime.expiry.start(io.clone());
    let mut inits = Vec::with_capacity(Namespace::ALL.len());
    for namespace in Namespace::ALL {
        let on_connect = {
            let realtime = Arc::clone(&realtime);
            move |socket: socketioxide::extract::SocketRef<A>| {
                let realtime = Arc::clone(&realtime);
                async move { connection::on_connect(socket, realtime).await }
            }
        };
        let authenticate = {
            let realtime = Arc::clone(&realtime);
            move |socket: socketioxide::extract::SocketRef<A>,
                  auth: socketioxide::extract::TryData<serde_json::Value>| {
                let realtime = Arc::clone(&realtime);
                async move { handshake::authenticate(socket, auth.0.ok(), namespace, realtime).await }
            }
        };
        inits.push(io.ns(namespace.path(), on_connect.with(authenticate)));
    }
    inits
}
