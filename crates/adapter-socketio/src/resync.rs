//! Getting a client back in step: `hello.state` on admission and `trip:sync` in every
//! namespace (protocol.md, "State on (re)connect", "Gaps and `trip:sync`").

use rodando_application::Principal;
use rodando_wire::resync::{SessionStateBody, TripSyncBody};
use rodando_wire::trips::parse_trip_ref;

use crate::Realtime;
use crate::events::{Answer, Inbound};
use crate::reply::{EventError, parsed};

/// The `state` of `principal`'s `hello`, read from the store. A store failure is logged and
/// sends `null`: the socket is admitted all the same, and the client syncs by `trip:sync` or
/// REST.
pub(crate) async fn session_state(
    realtime: &Realtime,
    principal: &Principal,
) -> Option<SessionStateBody> {
    match realtime.trips.session_state(principal).await {
        Ok(state) => state.as_ref().map(SessionStateBody::from),
        Err(e) => {
            tracing::warn!(user_id = %principal.user_id, session_id = %principal.session_id, ns = principal.namespace.path(), error = %e, "hello sent without state");
            None
        }
    }
}

/// `trip:sync {tripId}`: the trip as stored now and its latest seq, for its passenger, its
/// assigned driver or an admin (anyone else: `not_found`, as `GET /api/trips/{id}`).
pub(crate) async fn trip_sync(inbound: Inbound<'_>) -> Result<Answer, EventError> {
    let (trip_id, _) = parsed(inbound.payload, parse_trip_ref)?;
    let trip = inbound
        .realtime
        .trips
        .sync(inbound.principal.actor(), trip_id)
        .await
        .map_err(|e| EventError::from_trip(inbound.principal, inbound.event, e))?;
    tracing::debug!(user_id = %inbound.principal.user_id, trip_id = %trip_id, seq = trip.seq(), "trip synced");
    Ok(TripSyncBody::from(&trip).into())
}
