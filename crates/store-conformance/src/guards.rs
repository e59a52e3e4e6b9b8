//! Dispatch's guards against what changes between reading candidates and writing an offer, and
//! the reads the dispatch scheduler relies on: a new offer is written only while its trip is
//! `assigning` and its driver still available and connected; the driver's open offer; the
//! waiting trips nobody is acting on; the store clock deadlines are judged by.

use rodando_domain::availability::{StatusCommand, TripStanding};
use rodando_domain::ids::TripId;
use rodando_domain::trip::{Actor, TripStatus};
use rodando_ports::trips::{DispatchConflict, DispatchWrite, UnattendedQuery};
use time::Duration;
use uuid::Uuid;

use crate::Ports;
use crate::fixtures::{apply, at, free_driver, new_passenger, ok, set_status};
use crate::trips::{
    close, first_offer_refused, offer, offered, refused, requested, stored_trip, transition,
    trip_of, write,
};

/// A trip cancelled (or otherwise moved on) after dispatch read it gets no offer: the write is
/// refused as `TripChanged` and nothing is written, so the driver is not blocked.
pub async fn a_new_offer_is_refused_once_its_trip_is_no_longer_assigning(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let first = free_driver(&ports).await;
    let (assigning, open) = offered(&ports, &trip, first, 0).await;
    close(&ports, ok(open.reject(first, None, at(1)))).await;
    let cancelled = ok(assigning.cancel(Actor::Passenger(trip.passenger_id()), None, at(2)));
    write(
        &ports,
        DispatchWrite {
            trip: transition(&assigning, cancelled),
            ..DispatchWrite::default()
        },
    )
    .await;

    let driver = free_driver(&ports).await;
    let late = offer(&trip, driver, 3);
    let conflict = refused(
        &ports,
        DispatchWrite {
            new_offer: Some(late.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert!(
        matches!(conflict, DispatchConflict::TripChanged),
        "{conflict:?}"
    );
    assert_eq!(ok(ports.trips.find_offer(late.id()).await), None);
    assert_eq!(ok(ports.trips.open_offer_of(driver).await), None);

    // A pending trip is offered only together with its move to assigning.
    let pending = stored_trip(&ports).await;
    let conflict = refused(
        &ports,
        DispatchWrite {
            new_offer: Some(offer(&pending, driver, 3)),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert!(
        matches!(conflict, DispatchConflict::TripChanged),
        "{conflict:?}"
    );
    assert_eq!(
        trip_of(&ports, pending.id()).await.status(),
        TripStatus::Pending
    );
}

/// A driver who took another trip, went busy or lost its last socket since dispatch read it is
/// not offered the trip: `DriverNotMatchable`, and nothing of the write lands (the trip stays
/// pending).
pub async fn a_new_offer_is_refused_once_its_driver_is_no_longer_matchable(ports: Ports) {
    let on_trip = free_driver(&ports).await;
    apply(&ports, on_trip, at(1), |s| {
        let elsewhere = TripId::from_uuid(Uuid::new_v4());
        ok(s.set_trip(
            elsewhere,
            TripStanding::External,
            TripStanding::External,
            at(1),
        ))
    })
    .await;
    let busy = free_driver(&ports).await;
    set_status(&ports, busy, StatusCommand::Busy, at(1)).await;
    let gone = free_driver(&ports).await;
    apply(&ports, gone, at(1), |s| s.disconnect(at(1))).await;

    for driver in [on_trip, busy, gone] {
        let trip = stored_trip(&ports).await;
        let conflict = first_offer_refused(&ports, &trip, driver, 2).await;
        assert!(
            matches!(conflict, DispatchConflict::DriverNotMatchable),
            "{driver}: {conflict:?}"
        );
    }

    // Connected again: offered.
    apply(&ports, gone, at(3), |s| s.connect(at(3))).await;
    let trip = stored_trip(&ports).await;
    offered(&ports, &trip, gone, 4).await;
}

/// A driver's open offer is found; an answered one is not.
pub async fn open_offer_of_is_the_drivers_open_offer_only(ports: Ports) {
    let driver = free_driver(&ports).await;
    assert_eq!(ok(ports.trips.open_offer_of(driver).await), None);
    let (_, open) = offered(&ports, &stored_trip(&ports).await, driver, 0).await;
    assert_eq!(
        ok(ports.trips.open_offer_of(driver).await),
        Some(open.clone())
    );
    close(&ports, ok(open.reject(driver, None, at(1)))).await;
    assert_eq!(ok(ports.trips.open_offer_of(driver).await), None);
}

/// Waiting trips with no open offer are listed once nothing happened to them for `quiet`
/// (request or last closed offer), oldest request first within the limit; a trip with an open
/// offer only once past the timeout, flagged; finished trips never.
pub async fn unattended_lists_quiet_waiting_trips_and_timed_out_ones(ports: Ports) {
    let quiet = Duration::seconds(3);
    let timeout = Duration::seconds(120);
    let store = |seconds: i64| {
        let ports = ports.clone();
        async move {
            let passenger = new_passenger(&ports).await;
            ok(ports
                .trips
                .create(&requested(passenger, at(seconds)), None)
                .await)
        }
    };
    // Requested at 0, never offered: unattended from 3 s.
    let never_offered = store(0).await;
    // Requested at 0, an offer closed at 10: unattended from 13 s.
    let after_reject = store(0).await;
    let driver = free_driver(&ports).await;
    let (_, open) = offered(&ports, &after_reject, driver, 5).await;
    close(&ports, ok(open.reject(driver, None, at(10)))).await;
    // Requested at 1, offer open: only once timed out (121 s).
    let with_open_offer = store(1).await;
    offered(&ports, &with_open_offer, free_driver(&ports).await, 2).await;
    // Requested at 2, cancelled: never.
    let finished = store(2).await;
    let cancelled = ok(finished.cancel(Actor::Passenger(finished.passenger_id()), None, at(2)));
    write(
        &ports,
        DispatchWrite {
            trip: transition(&finished, cancelled),
            ..DispatchWrite::default()
        },
    )
    .await;

    let ids = |found: Vec<rodando_ports::trips::UnattendedTrip>| {
        found
            .into_iter()
            .map(|u| (u.trip.id(), u.timed_out))
            .collect::<Vec<_>>()
    };
    let list = |seconds: i64, limit: usize| {
        let ports = ports.clone();
        async move {
            ok(ports
                .trips
                .unattended(&UnattendedQuery {
                    now: at(seconds),
                    quiet,
                    timeout,
                    limit,
                })
                .await)
        }
    };
    assert!(list(2, 10).await.is_empty(), "nothing is quiet yet");
    assert_eq!(ids(list(3, 10).await), vec![(never_offered.id(), false)]);
    assert_eq!(ids(list(12, 10).await), vec![(never_offered.id(), false)]);
    let mut both = vec![(never_offered.id(), false), (after_reject.id(), false)];
    both.sort_by_key(|(id, _)| *id);
    let mut found = ids(list(13, 10).await);
    found.sort_by_key(|(id, _)| *id);
    assert_eq!(found, both, "same request time: both, in id order");
    assert_eq!(list(13, 1).await.len(), 1);
    assert!(list(13, 0).await.is_empty());
    let late = ids(list(121, 10).await);
    assert_eq!(late.len(), 3, "{late:?}");
    assert!(late.contains(&(with_open_offer.id(), true)));
    assert!(late.iter().all(|(_, timed_out)| *timed_out));
    assert_eq!(
        late.last().map(|(id, _)| *id),
        Some(with_open_offer.id()),
        "oldest first"
    );
}

/// The store's clock, which offer deadlines are set from and judged by: microseconds, moving
/// forward.
pub async fn the_store_clock_is_microseconds_and_moves_forward(ports: Ports) {
    let first = ok(ports.trips.now().await);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = ok(ports.trips.now().await);
    assert!(second > first, "{first} then {second}");
    assert_eq!(second.nanosecond() % 1_000, 0, "{second}");
    assert!(second - first < Duration::seconds(5));
}
