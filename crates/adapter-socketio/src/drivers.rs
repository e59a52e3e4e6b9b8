//! `/drivers` events (PROTOCOL §6).

use rodando_application::Principal;
use rodando_domain::ids::DriverId;
use rodando_wire::availability::{
    AvailabilitySnapshot, parse_location_ping, parse_status_update, parse_trip_set,
};
use rodando_wire::events as names;
use rodando_wire::trips::{OfferRejected, TripBody, parse_offer_answer};
use serde_json::Value;

use crate::events::ack_data;
use crate::reply::{EventError, readable};
use crate::{Realtime, resync};

/// Routes one `/drivers` event; the answer is the driver's availability snapshot.
pub(crate) async fn route(
    realtime: &Realtime,
    principal: &Principal,
    driver: DriverId,
    event: &str,
    payload: Option<&Value>,
) -> Result<Value, EventError> {
    let service = &realtime.availability;
    let outcome = match event {
        names::DRIVER_STATUS_UPDATE => {
            let status =
                parse_status_update(readable(payload)?).map_err(|e| EventError::validation(&e))?;
            service.update_status(driver, status).await
        }
        names::DRIVER_LOCATION_PING => {
            let fix =
                parse_location_ping(readable(payload)?).map_err(|e| EventError::validation(&e))?;
            service.ping_location(driver, fix).await
        }
        names::DRIVER_TRIP_SET => {
            let trip =
                parse_trip_set(readable(payload)?).map_err(|e| EventError::validation(&e))?;
            service.set_trip(driver, trip).await
        }
        names::DRIVER_OFFER_ACCEPT => {
            let (offer, _) =
                parse_offer_answer(readable(payload)?).map_err(|e| EventError::validation(&e))?;
            let trip = realtime
                .trips
                .accept_offer(driver, offer)
                .await
                .map_err(|e| EventError::from_trip(principal, event, e))?;
            return Ok(ack_data(TripBody::from(&trip)));
        }
        names::DRIVER_OFFER_REJECT => {
            let (offer, reason) =
                parse_offer_answer(readable(payload)?).map_err(|e| EventError::validation(&e))?;
            let rejected = realtime
                .trips
                .reject_offer(driver, offer, reason)
                .await
                .map_err(|e| EventError::from_trip(principal, event, e))?;
            return Ok(ack_data(OfferRejected::from(&rejected)));
        }
        names::TRIP_SYNC => return resync::trip_sync(realtime, principal, event, payload).await,
        _ => return Err(EventError::unknown_event(event)),
    };
    let snapshot = outcome.map_err(|e| EventError::from_availability(principal, event, e))?;
    Ok(ack_data(AvailabilitySnapshot::from(&snapshot)))
}
