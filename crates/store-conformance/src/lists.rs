//! [`TripRepository::list`](rodando_ports::trips::TripRepository::list): each scope holds
//! exactly its trips (a passenger's own, a driver's assigned ones, everyone's), the status
//! filters split them, the order is newest request first with the id breaking ties, and keyset
//! pages neither skip nor repeat a trip, even when trips are stored between two pages.

use rodando_domain::ids::{DriverId, PassengerId, TripId};
use rodando_domain::trip::{Actor, Trip};
use rodando_domain::trip_list::{TripFilter, TripKey, TripListQuery, TripScope};
use time::OffsetDateTime;

use crate::Ports;
use crate::fixtures::{at, new_driver, new_passenger, ok};
use crate::trips::{moving, requested, write};

/// The ids of a list, in order.
async fn listed(ports: &Ports, query: TripListQuery) -> Vec<TripId> {
    ok(ports.trips.list(&query).await)
        .iter()
        .map(|t| t.id())
        .collect()
}

fn everything(scope: TripScope, filter: TripFilter) -> TripListQuery {
    TripListQuery {
        scope,
        filter,
        after: None,
        limit: 1_000,
    }
}

/// A trip of `passenger` requested at `now`, stored pending.
async fn stored_at(ports: &Ports, passenger: PassengerId, now: OffsetDateTime) -> Trip {
    ok(ports.trips.create(&requested(passenger, now), None).await)
}

/// A trip `passenger` requested at `at(seconds)`, stored and [`moved`] on.
async fn requested_and_moved(
    ports: &Ports,
    passenger: PassengerId,
    seconds: i64,
    driver: Option<DriverId>,
    finish: bool,
) -> Trip {
    let trip = stored_at(ports, passenger, at(seconds)).await;
    moved(ports, trip, driver, finish).await
}

/// A stored trip moved on: assigning, then accepted by `driver` if given, then cancelled by its
/// passenger if `finish`.
async fn moved(ports: &Ports, trip: Trip, driver: Option<DriverId>, finish: bool) -> Trip {
    let mut current = trip;
    let assigning = ok(current.start_assigning());
    write(ports, moving(&current, assigning.clone())).await;
    current = assigning;
    if let Some(driver) = driver {
        let accepted = ok(current.accept(driver, current.requested_at()));
        write(ports, moving(&current, accepted.clone())).await;
        current = accepted;
    }
    if finish {
        let cancelled = ok(current.cancel(
            Actor::Passenger(current.passenger_id()),
            None,
            current.requested_at(),
        ));
        write(ports, moving(&current, cancelled.clone())).await;
        current = cancelled;
    }
    current
}

/// `trips` sorted as a list must be.
fn newest_first(trips: &[&Trip]) -> Vec<TripId> {
    let mut keys: Vec<TripKey> = trips.iter().map(|t| TripKey::of(t)).collect();
    keys.sort_by(TripKey::list_order);
    keys.into_iter().map(|k| k.id).collect()
}

pub async fn each_scope_lists_exactly_its_trips_newest_first_and_filters_split_them(ports: Ports) {
    let ana = new_passenger(&ports).await;
    let beto = new_passenger(&ports).await;
    let driver = new_driver(&ports).await;
    let other_driver = new_driver(&ports).await;
    // Ana: two finished trips (one driven by `driver`), then one in flight with `driver`.
    let a1 = requested_and_moved(&ports, ana, 0, Some(driver), true).await;
    let a2 = requested_and_moved(&ports, ana, 10, None, true).await;
    let a3 = requested_and_moved(&ports, ana, 20, Some(driver), false).await;
    // Beto: one finished with the other driver, one pending requested at the same instant as
    // Ana's last (the id breaks the tie).
    let b1 = requested_and_moved(&ports, beto, 5, Some(other_driver), true).await;
    let b2 = stored_at(&ports, beto, at(20)).await;

    let cases = [
        (
            TripScope::Passenger(ana),
            TripFilter::All,
            vec![&a1, &a2, &a3],
        ),
        (TripScope::Passenger(ana), TripFilter::Active, vec![&a3]),
        (
            TripScope::Passenger(ana),
            TripFilter::Finished,
            vec![&a1, &a2],
        ),
        (TripScope::Passenger(beto), TripFilter::All, vec![&b1, &b2]),
        (TripScope::Passenger(beto), TripFilter::Active, vec![&b2]),
        (TripScope::Driver(driver), TripFilter::All, vec![&a1, &a3]),
        (TripScope::Driver(driver), TripFilter::Active, vec![&a3]),
        (TripScope::Driver(driver), TripFilter::Finished, vec![&a1]),
        (TripScope::Driver(other_driver), TripFilter::All, vec![&b1]),
        // A passenger's identity asked for as a driver's drives nothing.
        (
            TripScope::Driver(DriverId::from_uuid(ana.as_uuid())),
            TripFilter::All,
            vec![],
        ),
        (
            TripScope::Everyone,
            TripFilter::All,
            vec![&a1, &a2, &a3, &b1, &b2],
        ),
        (TripScope::Everyone, TripFilter::Active, vec![&a3, &b2]),
        (
            TripScope::Everyone,
            TripFilter::Finished,
            vec![&a1, &a2, &b1],
        ),
    ];
    for (scope, filter, expected) in cases {
        assert_eq!(
            listed(&ports, everything(scope, filter)).await,
            newest_first(&expected),
            "{scope:?} {filter:?}"
        );
    }
    // The tie at 20 s is broken by the greater id first.
    let everyone = listed(&ports, everything(TripScope::Everyone, TripFilter::All)).await;
    let (first, second) = if a3.id() > b2.id() {
        (a3.id(), b2.id())
    } else {
        (b2.id(), a3.id())
    };
    assert_eq!(everyone[..2], [first, second]);
    // What is listed is the trip as stored, every field.
    let ana_trips = ok(ports
        .trips
        .list(&everything(TripScope::Passenger(ana), TripFilter::Active))
        .await);
    assert_eq!(ana_trips, [a3]);
}

pub async fn pages_neither_skip_nor_repeat_and_later_trips_do_not_shift_them(ports: Ports) {
    let passenger = new_passenger(&ports).await;
    let mut stored = Vec::new();
    // Seven finished trips, three of them at one instant.
    for seconds in [0, 10, 10, 10, 20, 30, 40] {
        let trip = stored_at(&ports, passenger, at(seconds)).await;
        stored.push(moved(&ports, trip, None, true).await);
    }
    let mut all = newest_first(&stored.iter().collect::<Vec<_>>());
    for (scope, later) in [
        (TripScope::Passenger(passenger), 50),
        (TripScope::Everyone, 60),
    ] {
        let page = |after: Option<TripKey>| TripListQuery {
            scope,
            filter: TripFilter::Finished,
            after,
            limit: 3,
        };
        let ids = |trips: &[Trip]| trips.iter().map(|t| t.id()).collect::<Vec<_>>();
        let boundary = |trips: &[Trip]| trips.last().map(TripKey::of);
        let first = ok(ports.trips.list(&page(None)).await);
        assert_eq!(ids(&first), all[..3], "{scope:?}");
        // A trip stored after the first page was read is on no later page, and the later pages
        // are exactly the rest, in order.
        let newer = requested_and_moved(&ports, passenger, later, None, true).await;
        let second = ok(ports.trips.list(&page(boundary(&first))).await);
        assert_eq!(ids(&second), all[3..6], "{scope:?}");
        let third = ok(ports.trips.list(&page(boundary(&second))).await);
        assert_eq!(ids(&third), all[6..], "{scope:?}");
        let past_the_end = ok(ports.trips.list(&page(boundary(&third))).await);
        assert!(past_the_end.is_empty(), "{scope:?}: {past_the_end:?}");
        // A new first page starts with it.
        assert_eq!(
            listed(&ports, page(None)).await[..1],
            [newer.id()],
            "{scope:?}"
        );
        all.insert(0, newer.id());
    }
    // Limits: zero lists nothing, one the newest, more than there are lists them all.
    for (limit, expected) in [(0, &all[..0]), (1, &all[..1]), (100, &all[..])] {
        let query = TripListQuery {
            scope: TripScope::Everyone,
            filter: TripFilter::All,
            after: None,
            limit,
        };
        assert_eq!(listed(&ports, query).await, expected, "limit {limit}");
    }
}
