//! Offers through their life: the accept write, withdrawal when a trip ends, the offers of a trip,
//! due offers, and one winner among concurrent accepts and offers.

use rodando_domain::availability::TripStanding;
use rodando_domain::offer::OfferStatus;
use rodando_domain::trip::{Actor, TripStatus};
use rodando_ports::availability::Versioned;
use rodando_ports::trips::{DispatchConflict, DispatchWrite};
use time::Duration;
use tokio::task::JoinSet;

use super::*;
use crate::Ports;
use crate::fixtures::{T0, at, available_driver_at, free_driver, havana, ok};

/// The accept write stores the offer accepted, the trip arriving with its driver and the driver
/// ON_TRIP holding it (next version), all at once; no open offer is left to withdraw.
pub async fn an_accept_writes_the_offer_the_trip_and_the_driver_together(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    let accept = accept_write(&ports, &assigning, &open, at(2)).await;

    let withdrawn = write(&ports, accept.clone()).await;

    assert!(withdrawn.is_empty(), "{withdrawn:?}");
    let (Some(t), Some(o), Some(a)) = (accept.trip, accept.offer, accept.availability) else {
        panic!("incomplete accept write");
    };
    assert_eq!(trip_of(&ports, trip.id()).await, t.next);
    assert_eq!(t.next.status(), TripStatus::Arriving);
    assert_eq!(t.next.driver_id(), Some(driver));
    assert_eq!(offer_of(&ports, open.id()).await, o);
    assert_eq!(o.status(), OfferStatus::Accepted);
    assert_eq!(
        availability_of(&ports, driver).await,
        Versioned {
            state: a.next,
            version: a.expected_version + 1
        }
    );
    assert_eq!(ok(ports.trips.open_offer_of(driver).await), None);
    assert!(ok(ports.trips.due_offers(at(1_000), 10).await).is_empty());
    assert_eq!(
        ok(ports.standings.standing(trip.id()).await),
        TripStanding::Dispatched {
            assigned_to: Some(driver),
            active: true
        }
    );
}

/// Ending a trip with `withdraw_open_offers_at` closes its open offer as cancelled at that time
/// and returns it; open offers of other trips stay open; a later withdrawal finds nothing.
pub async fn ending_a_trip_withdraws_its_open_offer_and_returns_it(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let other_trip = stored_trip(&ports).await;
    let (driver, other_driver) = (free_driver(&ports).await, free_driver(&ports).await);
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    let (_, other_open) = offered(&ports, &other_trip, other_driver, 1).await;
    let cancelled = ok(assigning.cancel(
        Actor::Passenger(trip.passenger_id()),
        Some("ya no lo necesito".to_owned()),
        at(5),
    ));

    let withdrawn = write(
        &ports,
        DispatchWrite {
            trip: transition(&assigning, cancelled.clone()),
            withdraw_open_offers_at: Some(at(5) + Duration::microseconds(1)),
            ..DispatchWrite::default()
        },
    )
    .await;

    let expected = open.withdraw(at(5) + Duration::microseconds(1));
    assert_eq!(withdrawn, expected.into_iter().collect::<Vec<_>>());
    assert_eq!(
        withdrawn.first().map(|o| o.status()),
        Some(OfferStatus::Cancelled)
    );
    assert_eq!(ok(ports.trips.offers_for_trip(trip.id()).await), withdrawn);
    assert_eq!(trip_of(&ports, trip.id()).await, cancelled);
    assert_eq!(offer_of(&ports, other_open.id()).await, other_open);
    assert_eq!(ok(ports.trips.open_offer_of(driver).await), None);
    assert_eq!(
        ok(ports.trips.open_offer_of(other_driver).await),
        Some(other_open.clone())
    );

    let noted = edited(&cancelled, |r| {
        r.end_reason = Some("nota del operador".to_owned())
    });
    let again = write(
        &ports,
        DispatchWrite {
            trip: transition(&cancelled, noted),
            withdraw_open_offers_at: Some(at(6)),
            ..DispatchWrite::default()
        },
    )
    .await;
    assert!(again.is_empty(), "{again:?}");
}

/// Every offer made for a trip, open or closed, oldest first; none of another trip.
pub async fn offers_for_trip_lists_every_offer_oldest_first(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let other_trip = stored_trip(&ports).await;
    let drivers = [
        free_driver(&ports).await,
        free_driver(&ports).await,
        free_driver(&ports).await,
    ];
    let (assigning, first) = offered(&ports, &trip, drivers[0], 1).await;
    let first = close(&ports, ok(first.reject(drivers[0], None, at(2)))).await;
    let second = offer(&assigning, drivers[1], 3);
    write(&ports, making(&second)).await;
    let second = close(&ports, ok(second.expire(at(23)).ok_or("not due"))).await;
    let third = offer(&assigning, drivers[2], 24);
    write(&ports, making(&third)).await;
    offered(&ports, &other_trip, drivers[0], 0).await;

    assert_eq!(
        ok(ports.trips.offers_for_trip(trip.id()).await),
        vec![first, second, third]
    );
}

/// Open offers whose deadline is at or before `now`, earliest deadline first, cut at the limit;
/// closed offers and offers still running are not due.
pub async fn due_offers_are_the_open_ones_past_their_deadline_earliest_first(ports: Ports) {
    // (offered at, closed?) — deadlines are 20 s later.
    let plan = [(10, false), (5, false), (20, false), (7, true), (30, false)];
    let mut made = Vec::new();
    for (seconds, closed) in plan {
        let trip = stored_trip(&ports).await;
        let driver = free_driver(&ports).await;
        let (_, open) = offered(&ports, &trip, driver, seconds).await;
        if closed {
            close(&ports, ok(open.reject(driver, None, at(seconds + 1)))).await;
        }
        made.push(open);
    }
    let [at_30, at_25, at_40, _closed, at_50] = made.as_slice() else {
        panic!("five offers expected");
    };
    let now = at(40);

    let due = ok(ports.trips.due_offers(now, 10).await);
    assert_eq!(due, vec![at_25.clone(), at_30.clone(), at_40.clone()]);
    assert_eq!(
        ok(ports.trips.due_offers(now, 2).await),
        vec![at_25.clone(), at_30.clone()]
    );
    assert!(ok(ports.trips.due_offers(now, 0).await).is_empty());
    assert!(ok(ports.trips.due_offers(at(24), 10).await).is_empty());
    assert_eq!(
        ok(ports.trips.due_offers(at(60), usize::MAX).await).len(),
        4
    );
    assert!(at_50.expires_at() > now);
}

/// Fifty simultaneous applications of one accept write: exactly one succeeds, the others find
/// the trip changed, and the stored state is the winner's.
pub async fn of_fifty_concurrent_accepts_of_one_offer_exactly_one_wins(ports: Ports) {
    let trip = stored_trip(&ports).await;
    let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    let accept = accept_write(&ports, &assigning, &open, at(2)).await;

    let mut racers = JoinSet::new();
    for _ in 0..50 {
        let ports = ports.clone();
        let accept = accept.clone();
        racers.spawn(async move { ports.trips.apply(&accept).await });
    }
    let mut won = 0;
    while let Some(joined) = racers.join_next().await {
        match ok(joined) {
            Ok(_) => won += 1,
            Err(DispatchConflict::TripChanged) => {}
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }

    assert_eq!(won, 1);
    let (Some(t), Some(o), Some(a)) = (accept.trip, accept.offer, accept.availability) else {
        panic!("incomplete accept write");
    };
    assert_eq!(trip_of(&ports, trip.id()).await, t.next);
    assert_eq!(offer_of(&ports, open.id()).await, o);
    assert_eq!(
        availability_of(&ports, driver).await.version,
        a.expected_version + 1
    );
}

/// Twenty simultaneous offers of one trip to twenty drivers: exactly one is made, the others
/// are `TripHasOpenOffer`.
pub async fn of_concurrent_offers_for_one_trip_exactly_one_is_made(ports: Ports) {
    let pending = stored_trip(&ports).await;
    let trip = ok(pending.start_assigning());
    write(&ports, moving(&pending, trip.clone())).await;
    let mut racers = JoinSet::new();
    for i in 0..20 {
        let ports = ports.clone();
        let driver = free_driver(&ports).await;
        let proposal = offer(&trip, driver, i);
        racers.spawn(async move {
            let write = making(&proposal);
            (proposal, ports.trips.apply(&write).await)
        });
    }
    let mut made = Vec::new();
    while let Some(joined) = racers.join_next().await {
        match ok(joined) {
            (proposal, Ok(_)) => made.push(proposal),
            (_, Err(DispatchConflict::TripHasOpenOffer)) => {}
            (_, Err(e)) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(ok(ports.trips.offers_for_trip(trip.id()).await), made);
}
