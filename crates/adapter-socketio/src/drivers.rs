//! `/drivers` events (PROTOCOL §6).

use crate::events::{Answer, Inbound};
use crate::reply::{EventError, parsed};
use crate::resync;
use rodando_application::availability::AvailabilityError;
use rodando_domain::availability::DriverAvailability;
use rodando_domain::ids::DriverId;
use rodando_wire::availability::{
    AvailabilitySnapshot, LocationPing, parse_status_update, parse_trip_set,
};
use rodando_wire::events as names;
use rodando_wire::trips::{OfferRejected, TripBody, parse_offer_answer};

/// Routes one `/drivers` event; the answer is the driver's availability snapshot.
pub(crate) async fn route(inbound: Inbound<'_>, driver: DriverId) -> Result<Answer, EventError> {
    let service = &inbound.realtime.availability;
    let outcome = match inbound.event {
        names::DRIVER_STATUS_UPDATE => {
            let status = parsed(inbound.payload, parse_status_update)?;
            service.update_status(driver, status).await
        }
        names::DRIVER_TRIP_SET => {
            let trip = parsed(inbound.payload, parse_trip_set)?;
            service.set_trip(driver, trip).await
        }
        names::DRIVER_OFFER_ACCEPT => {
            let (offer, _) = parsed(inbound.payload, parse_offer_answer)?;
            let trip = inbound
                .realtime
                .trips
                .accept_offer(driver, offer)
                .await
                .map_err(|e| EventError::from_trip(inbound.principal, inbound.event, e))?;
            return Ok(TripBody::from(&trip).into());
        }
        names::DRIVER_OFFER_REJECT => {
            let (offer, reason) = parsed(inbound.payload, parse_offer_answer)?;
            let rejected = inbound
                .realtime
                .trips
                .reject_offer(driver, offer, reason)
                .await
                .map_err(|e| EventError::from_trip(inbound.principal, inbound.event, e))?;
            return Ok(OfferRejected::from(&rejected).into());
        }
        names::TRIP_SYNC => return resync::trip_sync(inbound).await,
        _ => return Err(EventError::unknown_event(inbound.event)),
    };
    snapshot_of(inbound, outcome)
}

/// `driver:location:ping`, which arrives through its own handler already read
/// ([`crate::events::Arrived::Ping`]); `None` is JSON that could not be read.
pub(crate) async fn ping(
    inbound: Inbound<'_>,
    driver: DriverId,
    ping: Option<&LocationPing>,
) -> Result<Answer, EventError> {
    let fix = parsed(ping, LocationPing::validate)?;
    let outcome = inbound
        .realtime
        .availability
        .ping_location(driver, fix)
        .await;
    snapshot_of(inbound, outcome)
}

/// An availability command's answer: the driver's snapshot, or its failure as the wire maps it.
fn snapshot_of(
    inbound: Inbound<'_>,
    outcome: Result<DriverAvailability, AvailabilityError>,
) -> Result<Answer, EventError> {
    let snapshot =
        outcome.map_err(|e| EventError::from_availability(inbound.principal, inbound.event, e))?;
    Ok(AvailabilitySnapshot::from(&snapshot).into())
}
