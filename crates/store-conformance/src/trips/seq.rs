//! A trip's `seq`, the number of its latest event: 1 when stored, then grown by each dispatch
//! write by exactly the events it announces ([`DispatchWrite::events`]), in that same write,
//! whatever `seq` the written trip holds; untouched by a refused write; never handed twice to
//! concurrent writers.

use std::collections::BTreeSet;

use rodando_domain::trip::{Actor, TripStatus};
use rodando_ports::trips::{DispatchConflict, DispatchWrite};
use tokio::task::JoinSet;

use super::*;
use crate::Ports;
use crate::fixtures::{at, free_driver, ok};

/// `write` announcing `events`.
fn announcing(events: u32, write: DispatchWrite) -> DispatchWrite {
    DispatchWrite { events, ..write }
}

/// The seq stored for the trip.
async fn seq_of(ports: &Ports, trip: &Trip) -> u64 {
    trip_of(ports, trip.id()).await.seq()
}

/// Through a whole life (offer, reject, offer, accept, arrive, start, complete), the seq the
/// write answers is the one stored, and it grows by the events each write announces: one per
/// public event, none for an offer (its driver's alone), three for an accept.
pub async fn a_trip_starts_at_seq_one_and_each_write_adds_the_events_it_announces(ports: Ports) {
    let trip = stored_trip(&ports).await;
    assert_eq!(trip.seq(), 1, "create answers the stored trip");
    assert_eq!(seq_of(&ports, &trip).await, 1);
    let (first, second) = (free_driver(&ports).await, free_driver(&ports).await);

    // pending → assigning with the first offer: `trip:assigning_started` (the offer adds none).
    let mut assigning = ok(trip.start_assigning());
    // The seq the application holds in `next` is not what the store numbers from.
    assigning.set_seq(999);
    let open = offer(&trip, first, 1);
    let done = applied(
        &ports,
        announcing(
            1,
            DispatchWrite {
                trip: transition(&trip, assigning.clone()),
                new_offer: Some(open.clone()),
                ..DispatchWrite::default()
            },
        ),
    )
    .await;
    assert_eq!(done.seq, Some(2));
    assert_eq!(seq_of(&ports, &trip).await, 2);

    // The rejection is one event; the next offer none.
    let rejected = ok(open.reject(first, None, at(2)));
    assert_eq!(
        applied(&ports, announcing(1, closing(Some(rejected))))
            .await
            .seq,
        Some(3)
    );
    let again = offer(&trip, second, 3);
    assert_eq!(applied(&ports, making(&again)).await.seq, Some(3));
    assert_eq!(seq_of(&ports, &trip).await, 3);

    // accepted, driver_assigned, arriving_started.
    let assigning = trip_of(&ports, trip.id()).await;
    let accept = accept_write(&ports, &assigning, &again, at(4)).await;
    let arriving = accept.trip.as_ref().map(|t| t.next.clone());
    assert_eq!(applied(&ports, announcing(3, accept)).await.seq, Some(6));
    let Some(arriving) = arriving else {
        panic!("the accept moves the trip");
    };
    let stored = trip_of(&ports, trip.id()).await;
    assert_eq!(stored.status(), TripStatus::Arriving);
    assert_eq!(stored.seq(), 6);

    let driver = Actor::Driver(second);
    let arrived = ok(arriving.arrive(driver, at(5)));
    let step = applied(&ports, announcing(1, moving(&arriving, arrived.clone()))).await;
    assert_eq!(step.seq, Some(7));
    let riding = ok(arrived.start(driver, at(6)));
    let step = applied(&ports, announcing(1, moving(&arrived, riding.clone()))).await;
    assert_eq!(step.seq, Some(8));
    let completed = ok(riding.complete(driver, riding.fare_estimate(), at(7)));
    let step = applied(&ports, announcing(1, moving(&riding, completed))).await;
    assert_eq!(step.seq, Some(9));
    assert_eq!(seq_of(&ports, &trip).await, 9);
    assert_eq!(
        trip_of(&ports, trip.id()).await.status(),
        TripStatus::Completed
    );
}

/// A write refused by any guard leaves the seq where it was, and a write about no trip
/// answers none.
pub async fn a_refused_write_adds_nothing_to_the_seq(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let driver = free_driver(&ports).await;
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    let before = seq_of(&ports, &trip).await;

    // The trip is no longer pending.
    let stale = ok(trip.start_assigning());
    assert_refused!(
        &ports,
        announcing(1, moving(&trip, stale)),
        DispatchConflict::TripChanged
    );
    // The offer was already closed.
    let rejected = ok(open.reject(driver, None, at(2)));
    applied(&ports, announcing(1, closing(Some(rejected.clone())))).await;
    assert_refused!(
        &ports,
        announcing(1, closing(Some(rejected))),
        DispatchConflict::OfferNotOpen
    );
    assert_eq!(seq_of(&ports, &assigning).await, before + 1);

    let nothing = applied(&ports, announcing(1, DispatchWrite::default())).await;
    assert_eq!(nothing.seq, None);
    assert_eq!(seq_of(&ports, &trip).await, before + 1);
}

/// Writers racing on one trip (reports of arrival, which keep its status, so every one passes
/// its guard) each get a seq of their own: the seqs answered are exactly the next ones, and the
/// stored seq counts every write.
pub async fn concurrent_writes_to_one_trip_each_get_their_own_seq(ports: Ports) {
    const WRITERS: u64 = 16;
    let trip = stored_trip(&ports).await;
    let driver = free_driver(&ports).await;
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    let accept = accept_write(&ports, &assigning, &open, at(2)).await;
    let Some(arriving) = accept.trip.as_ref().map(|t| t.next.clone()) else {
        panic!("the accept moves the trip");
    };
    write(&ports, accept).await;
    let start = seq_of(&ports, &trip).await;
    let arrived = ok(arriving.arrive(Actor::Driver(driver), at(3)));

    let mut racers = JoinSet::new();
    for _ in 0..WRITERS {
        let ports = ports.clone();
        let write = announcing(1, moving(&arriving, arrived.clone()));
        racers.spawn(async move { ports.trips.apply(&write).await });
    }
    let mut seqs = BTreeSet::new();
    while let Some(joined) = racers.join_next().await {
        let done = ok(ok(joined));
        let Some(seq) = done.seq else {
            panic!("a trip write answers its seq");
        };
        assert!(seqs.insert(seq), "seq {seq} handed out twice");
    }
    let expected: BTreeSet<u64> = (start + 1..=start + WRITERS).collect();
    assert_eq!(seqs, expected);
    assert_eq!(seq_of(&ports, &trip).await, start + WRITERS);
}
