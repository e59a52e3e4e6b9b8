//! Whether a driver can hear an offer: its sockets, on every node, decide (issue: offers only to
//! drivers who can hear them). Admission marks the driver connected; the close of its last
//! socket anywhere marks it disconnected, so dispatch skips it at once while its status (and any
//! open offer) survives a short drop.

use async_trait::async_trait;
use rodando_domain::ids::DriverId;
use rodando_ports::Unexpected;
use rodando_ports::connections::DriverConnections;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use crate::{Realtime, rooms};

/// Records that `driver` holds a socket. Called after the socket joined its rooms, so a
/// concurrent close elsewhere sees it. A store failure is logged and the socket stays; dispatch
/// then skips the driver until one of its sockets is admitted again.
pub(crate) async fn driver_connected(realtime: &Realtime, driver: DriverId) {
    if let Err(e) = realtime.availability.driver_connected(driver).await {
        tracing::warn!(driver_id = %driver, error = %e, "driver connection not recorded");
    }
}

/// Records, in the background, that `closed` (a socket of `driver`) is gone; the driver stops
/// being matchable when no other socket of it is left on any node.
pub(crate) fn driver_disconnected<A: Adapter>(
    realtime: &std::sync::Arc<Realtime>,
    closed: SocketRef<A>,
    driver: DriverId,
) {
    let service = realtime.availability.clone();
    realtime.in_flight.spawn(async move {
        let others = OtherSockets { closed };
        if let Err(e) = service.driver_disconnected(driver, &others).await {
            tracing::warn!(driver_id = %driver, error = %e, "driver disconnection not recorded");
        }
    });
}

/// The driver's sockets other than `closed`, asked of every node through the adapter.
struct OtherSockets<A: Adapter> {
    closed: SocketRef<A>,
}

#[async_trait]
impl<A: Adapter> DriverConnections for OtherSockets<A> {
    async fn is_connected(&self, driver: DriverId) -> Result<bool, Unexpected> {
        let sockets = self
            .closed
            .within(rooms::driver(driver))
            .fetch_sockets()
            .await
            .map_err(|e| Unexpected::msg(format!("cannot ask the nodes for sockets: {e}")))?;
        Ok(sockets.iter().any(|s| s.data().id != self.closed.id))
    }
}
