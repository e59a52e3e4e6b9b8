//! The single entry point of every inbound event: rate limit, route by namespace, reply.

use rodando_wire::events as names;
use std::sync::Arc;
use std::time::Instant;

use rodando_application::Principal;
use rodando_domain::ids::DriverId;
use rodando_domain::user::Role;
use rodando_wire::ack::echoed;
use rodando_wire::availability::{AvailabilitySnapshot, DriversSnapshot, LocationPing};
use rodando_wire::resync::TripSyncBody;
use rodando_wire::session::AuthRefreshAck;
use rodando_wire::trip_lists::TripsSnapshot;
use rodando_wire::trips::{OfferRejected, TripBody, TripWatch};
use serde::Serialize;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef};
use tracing::Instrument;

use crate::context::SocketContext;
use crate::reply::{self, EventError};
use crate::{Realtime, admin, drivers, expiry, metrics, passengers};

/// One inbound event as the namespace routers see it: who sent it, its name and its payload
/// (`None`: the JSON could not be read).
#[derive(Clone, Copy)]
pub(crate) struct Inbound<'a> {
    pub(crate) realtime: &'a Realtime,
    pub(crate) principal: &'a Principal,
    pub(crate) event: &'a str,
    pub(crate) payload: Option<&'a Value>,
}

/// An inbound event as the socket's handlers received it.
pub(crate) enum Arrived {
    /// Any event, its payload read as JSON (`None`: unreadable).
    Event(String, Option<Value>),
    /// A driver's `driver:location:ping`, read straight into its struct (`None`: unreadable
    /// JSON). The hottest event gets its own handler, so no `serde_json::Value` tree and no
    /// copy of its name are built per ping.
    Ping(DriverId, Option<LocationPing>),
}

impl Arrived {
    fn event(&self) -> &str {
        match self {
            Self::Event(event, _) => event,
            Self::Ping(..) => names::DRIVER_LOCATION_PING,
        }
    }
}

/// Handles one event from an admitted socket.
pub(crate) async fn handle<A: Adapter>(
    socket: SocketRef<A>,
    realtime: Arc<Realtime>,
    ctx: &SocketContext,
    arrived: Arrived,
    ack: AckSender<A>,
) {
    let started = Instant::now();
    let p = &ctx.principal;
    let event = arrived.event();
    let label = metrics::inbound_label(p.namespace, event);
    let answered = |error: Option<&'static str>| {
        metrics::answered(p.namespace, label, started.elapsed(), error);
    };
    let span = tracing::debug_span!("event", event = %echoed(event), user_id = %p.user_id, session_id = %p.session_id, ns = p.namespace.path());
    if ctx.limiter.check().is_err() {
        tracing::debug!(parent: &span, "rate limited");
        let limited = EventError::rate_limited();
        answered(Some(limited.0.code.as_str()));
        reply::send(&socket, ack, event, Err(limited));
        return;
    }
    let payload = match &arrived {
        Arrived::Event(_, payload) => payload.as_ref(),
        Arrived::Ping(..) => None,
    };
    if event == names::AUTH_REFRESH {
        // Answered as PROTOCOL §3 has it: {ok, accessTokenExpiresAt} (and the usual data).
        match expiry::refresh(&realtime, ctx, payload).await {
            Ok(expires_at) => {
                let _ = ack.send(&AuthRefreshAck::new(expires_at));
                answered(None);
            }
            Err(e) => {
                answered(Some(e.0.code.as_str()));
                reply::send(&socket, ack, event, Err(e));
            }
        }
        return;
    }
    let result = async {
        let inbound = Inbound {
            realtime: &realtime,
            principal: p,
            event,
            payload,
        };
        if let Arrived::Ping(driver, ping) = &arrived {
            return drivers::ping(inbound, *driver, ping.as_ref()).await;
        }
        // Each namespace admits one user type, so the role names the namespace too.
        match p.role() {
            Role::Driver(driver) => drivers::route(inbound, driver).await,
            Role::Admin(admin) => admin::route(&socket, inbound, admin).await,
            Role::Passenger(passenger) => passengers::route(inbound, passenger).await,
        }
    }
    .instrument(span)
    .await;
    let error = result.as_ref().err().map(|e| e.0.code.as_str());
    reply::send(&socket, ack, event, result);
    answered(error);
}

/// Declares [`Answer`] with one variant per answer struct, and `Answer::from(answer)` for each.
macro_rules! answers {
    ($($variant:ident($ty:ty)),+ $(,)?) => {
        /// The `data` of a successful ack: one of the wire's answer structs, serialized by the
        /// reply module straight into `{ok: true, data}` (no `serde_json::Value` in between, so
        /// a ping's ack costs one serialization of its snapshot).
        #[derive(Debug, Serialize)]
        #[serde(untagged)]
        pub(crate) enum Answer {
            $($variant($ty),)+
        }

        $(impl From<$ty> for Answer {
            fn from(answer: $ty) -> Self {
                Self::$variant(answer)
            }
        })+
    };
}

answers!(
    Availability(AvailabilitySnapshot),
    Trip(TripBody),
    OfferRejected(OfferRejected),
    Drivers(DriversSnapshot),
    TripWatch(TripWatch),
    TripSync(TripSyncBody),
    Trips(TripsSnapshot),
);
