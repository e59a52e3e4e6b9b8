//! `/admin` events (PROTOCOL §7): the fleet snapshot and watching trips.

use rodando_domain::ids::AdminId;
use rodando_domain::trip::Actor;
use rodando_wire::availability::DriversSnapshot;
use rodando_wire::events as names;
use rodando_wire::trips::{TripWatch, parse_trip_ref};
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use crate::events::{Answer, Inbound};
use crate::reply::{EventError, parsed};
use crate::{resync, rooms, trips_snapshot};

/// Routes one `/admin` event.
pub(crate) async fn route<A: Adapter>(
    socket: &SocketRef<A>,
    inbound: Inbound<'_>,
    admin: AdminId,
) -> Result<Answer, EventError> {
    match inbound.event {
        names::ADMIN_DRIVERS_SNAPSHOT => {
            let drivers = inbound
                .realtime
                .availability
                .online_snapshot()
                .await
                .map_err(|e| EventError::internal(inbound.principal, inbound.event, &e))?;
            Ok(drivers.iter().collect::<DriversSnapshot>().into())
        }
        names::ADMIN_TRIPS_SNAPSHOT => trips_snapshot::trips_snapshot(socket, inbound).await,
        names::ADMIN_TRIP_WATCH | names::ADMIN_TRIP_UNWATCH => {
            let (trip_id, _) = parsed(inbound.payload, parse_trip_ref)?;
            let trip = inbound
                .realtime
                .trips
                .get(Actor::Admin(admin), trip_id)
                .await
                .map_err(|e| EventError::from_trip(inbound.principal, inbound.event, e))?;
            let watching = inbound.event == names::ADMIN_TRIP_WATCH;
            if watching {
                socket.join(rooms::trip(trip_id));
            } else {
                socket.leave(rooms::trip(trip_id));
            }
            Ok(TripWatch::new(&trip, watching).into())
        }
        names::TRIP_SYNC => resync::trip_sync(inbound).await,
        _ => Err(EventError::unknown_event(inbound.event)),
    }
}
