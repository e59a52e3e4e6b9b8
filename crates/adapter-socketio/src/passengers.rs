//! `/passengers` events (PROTOCOL §7): request and cancel trips. The passenger is always the
//! socket's principal, never a field of the payload.

use crate::events::{Answer, Inbound};
use crate::reply::{EventError, parsed};
use crate::resync;
use rodando_domain::ids::PassengerId;
use rodando_domain::trip::Actor;
use rodando_wire::events as names;
use rodando_wire::trips::{TripBody, parse_trip_ref, parse_trip_request};

/// Routes one `/passengers` event; the answer is the trip.
pub(crate) async fn route(
    inbound: Inbound<'_>,
    passenger: PassengerId,
) -> Result<Answer, EventError> {
    let trips = &inbound.realtime.trips;
    let trip = match inbound.event {
        names::TRIP_REQUEST => {
            let request = parsed(inbound.payload, parse_trip_request)?;
            trips.request(passenger, request, None).await
        }
        names::TRIP_CANCEL => {
            let (trip, reason) = parsed(inbound.payload, parse_trip_ref)?;
            trips
                .cancel(Actor::Passenger(passenger), trip, reason)
                .await
        }
        names::TRIP_SYNC => return resync::trip_sync(inbound).await,
        _ => return Err(EventError::unknown_event(inbound.event)),
    };
    trip.map(|t| TripBody::from(&t).into())
        .map_err(|e| EventError::from_trip(inbound.principal, inbound.event, e))
}
