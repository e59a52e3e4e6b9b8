//! `/passengers` events (PROTOCOL §7): request and cancel trips. The passenger is always the
//! socket's principal, never a field of the payload.

use rodando_application::Principal;
use rodando_domain::ids::PassengerId;
use rodando_domain::trip::Actor;
use rodando_wire::events as names;
use rodando_wire::trips::{TripBody, parse_trip_ref, parse_trip_request};
use serde_json::Value;

use crate::events::ack_data;
use crate::reply::{EventError, readable};
use crate::{Realtime, resync};

/// Routes one `/passengers` event; the answer is the trip.
pub(crate) async fn route(
    realtime: &Realtime,
    principal: &Principal,
    passenger: PassengerId,
    event: &str,
    payload: Option<&Value>,
) -> Result<Value, EventError> {
    let trips = &realtime.trips;
    let trip = match event {
        names::TRIP_REQUEST => {
            let request =
                parse_trip_request(readable(payload)?).map_err(|e| EventError::validation(&e))?;
            trips.request(passenger, request, None).await
        }
        names::TRIP_CANCEL => {
            let (trip, reason) =
                parse_trip_ref(readable(payload)?).map_err(|e| EventError::validation(&e))?;
            trips
                .cancel(Actor::Passenger(passenger), trip, reason)
                .await
        }
        names::TRIP_SYNC => return resync::trip_sync(realtime, principal, event, payload).await,
        _ => return Err(EventError::unknown_event(event)),
    };
    trip.map(|t| ack_data(TripBody::from(&t)))
        .map_err(|e| EventError::from_trip(principal, event, e))
}
