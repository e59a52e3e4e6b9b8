//! `admin:trips:snapshot` (issue 15): every trip in flight for a dashboard's first paint, and
//! with `{watch: true}` the socket in each one's room, so their later events reach it without
//! one `admin:trip:watch` per trip (which the per-socket rate limit would refuse by the dozen).
//!
//! Watching without missing an event: the trips are read, their rooms joined, then read again.
//! A change committed before the second read is in the answer; its event, and every later one,
//! is emitted after its commit and so after the join, to the room. Trips new in the second read
//! are joined too (their `trip:requested` reaches every admin anyway).

use std::collections::HashSet;

use rodando_domain::ids::TripId;
use rodando_domain::trip::Trip;
use rodando_wire::trip_lists::{TripsSnapshot, parse_snapshot_request};
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use crate::events::{Answer, Inbound};
use crate::reply::EventError;
use crate::rooms;

/// Answers the snapshot; joins the rooms when asked to watch.
pub(crate) async fn trips_snapshot<A: Adapter>(
    socket: &SocketRef<A>,
    inbound: Inbound<'_>,
) -> Result<Answer, EventError> {
    let watch = parse_snapshot_request(inbound.payload).map_err(|e| EventError::validation(&e))?;
    let read = || async {
        inbound
            .realtime
            .trips
            .in_flight()
            .await
            .map_err(|e| EventError::internal(inbound.principal, inbound.event, &e))
    };
    let (mut trips, mut truncated) = read().await?;
    if watch {
        let joined = join(socket, &trips, &HashSet::new());
        (trips, truncated) = read().await?;
        join(socket, &trips, &joined);
    }
    tracing::debug!(
        user_id = %inbound.principal.user_id,
        session_id = %inbound.principal.session_id,
        trips = trips.len(),
        truncated,
        watch,
        "trips snapshot"
    );
    Ok(TripsSnapshot::new(&trips, truncated).into())
}

/// Joins the room of each trip not in `already`; returns every trip joined so far.
fn join<A: Adapter>(
    socket: &SocketRef<A>,
    trips: &[Trip],
    already: &HashSet<TripId>,
) -> HashSet<TripId> {
    let mut joined = already.clone();
    let rooms: Vec<String> = trips
        .iter()
        .filter(|t| joined.insert(t.id()))
        .map(|t| rooms::trip(t.id()))
        .collect();
    if !rooms.is_empty() {
        socket.join(rooms);
    }
    joined
}
