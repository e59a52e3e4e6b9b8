//! The trip and offer state machines (PROTOCOL §8): the table, who may do what, and a model of
//! dispatch under arbitrary command sequences.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

use std::collections::HashMap;

use proptest::prelude::*;
use rodando_domain::fare::{Cents, Currency};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{AdminId, DriverId, OfferId, PassengerId, TripId};
use rodando_domain::offer::{InvalidOffer, Offer, OfferError, OfferRecord, OfferStatus};
use rodando_domain::trip::{
    Actor, ActorKind, InvalidTrip, PaymentMethod, Place, Trip, TripError, TripRecord, TripStatus,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-07-01 18:00 UTC);

fn passenger(n: u128) -> PassengerId {
    PassengerId::from_uuid(Uuid::from_u128(0x9a00 + n))
}

fn admin(n: u128) -> AdminId {
    AdminId::from_uuid(Uuid::from_u128(0xad00 + n))
}

fn driver(n: u128) -> DriverId {
    DriverId::from_uuid(Uuid::from_u128(0xd000 + n))
}

fn place() -> Place {
    Place::new(
        GeoPoint::from_degrees(23.11, -82.36).unwrap(),
        Some("Malecón"),
    )
    .unwrap()
}

fn trip(n: u128, p: PassengerId) -> Trip {
    Trip::request(
        TripId::from_uuid(Uuid::from_u128(n)),
        p,
        place(),
        place(),
        PaymentMethod::Cash,
        Cents(500),
        Currency::parse("CUP").unwrap(),
        T0,
    )
}

fn accepted_by(d: DriverId) -> Trip {
    trip(1, passenger(1))
        .start_assigning()
        .unwrap()
        .accept(d, T0)
        .unwrap()
}

#[test]
fn the_transition_table_is_exactly_the_protocols() {
    use TripStatus::*;
    let allowed = [
        (Pending, Assigning),
        (Assigning, Accepted),
        (Accepted, Arriving),
        (Arriving, InProgress),
        (InProgress, Completed),
        (Pending, NoDriversFound),
        (Assigning, NoDriversFound),
        (Pending, Cancelled),
        (Assigning, Cancelled),
        (Accepted, Cancelled),
        (Arriving, Cancelled),
        (InProgress, Cancelled),
    ];
    for from in TripStatus::ALL {
        for to in TripStatus::ALL {
            assert_eq!(
                from.can_become(to),
                allowed.contains(&(from, to)),
                "{from:?} → {to:?}"
            );
        }
        assert_eq!(TripStatus::parse(from.as_str()), Ok(from));
    }
}

#[test]
fn a_trip_runs_its_happy_path_by_its_driver_only() {
    let d = driver(1);
    let t = accepted_by(d).begin_arriving().unwrap();
    assert_eq!(
        t.arrive(Actor::Driver(driver(2)), T0),
        Err(TripError::Forbidden)
    );
    assert_eq!(
        t.arrive(Actor::Passenger(passenger(1)), T0),
        Err(TripError::Forbidden)
    );
    let arrived = t.arrive(Actor::Driver(d), T0).unwrap();
    assert_eq!(arrived.status(), TripStatus::Arriving);
    assert_eq!(arrived.arrived_pickup_at(), Some(T0));
    let again = arrived
        .arrive(Actor::Driver(d), T0 + Duration::minutes(1))
        .unwrap();
    assert_eq!(
        again.arrived_pickup_at(),
        Some(T0),
        "the first arrival time is kept"
    );
    let started = arrived.start(Actor::Driver(d), T0).unwrap();
    assert_eq!(
        started.complete(Actor::Admin(admin(9)), Cents(1), T0),
        Err(TripError::Forbidden)
    );
    let done = started.complete(Actor::Driver(d), Cents(1234), T0).unwrap();
    assert_eq!(
        (done.status(), done.fare_total()),
        (TripStatus::Completed, Some(Cents(1234)))
    );
    assert_eq!(
        done.start(Actor::Driver(d), T0),
        Err(TripError::InvalidTransition {
            from: TripStatus::Completed,
            to: TripStatus::InProgress
        })
    );
}

#[test]
fn who_may_cancel_depends_on_who_and_when() {
    let d = driver(1);
    let arriving = accepted_by(d).begin_arriving().unwrap();
    let riding = arriving.start(Actor::Driver(d), T0).unwrap();
    assert!(
        arriving.cancel(Actor::Driver(d), None, T0).is_ok(),
        "driver before pickup"
    );
    assert_eq!(
        riding.cancel(Actor::Driver(d), None, T0),
        Err(TripError::InvalidTransition {
            from: TripStatus::InProgress,
            to: TripStatus::Cancelled
        })
    );
    assert!(
        riding
            .cancel(Actor::Passenger(passenger(1)), None, T0)
            .is_ok()
    );
    assert!(riding.cancel(Actor::Admin(admin(7)), None, T0).is_ok());
    assert_eq!(
        riding.cancel(Actor::Passenger(passenger(2)), None, T0),
        Err(TripError::Forbidden)
    );
    assert_eq!(
        arriving.cancel(Actor::Driver(driver(2)), None, T0),
        Err(TripError::Forbidden)
    );
    let cancelled = riding
        .cancel(
            Actor::Passenger(passenger(1)),
            Some("changed plans".into()),
            T0,
        )
        .unwrap();
    assert_eq!(cancelled.cancelled_by(), Some(ActorKind::Passenger));
    assert_eq!(cancelled.end_reason(), Some("changed plans"));
    let done = riding.complete(Actor::Driver(d), Cents(1), T0).unwrap();
    assert!(matches!(
        done.cancel(Actor::Admin(admin(7)), None, T0),
        Err(TripError::InvalidTransition { .. })
    ));
}

#[test]
fn visibility_is_passenger_driver_or_admin() {
    let t = accepted_by(driver(1));
    assert!(t.visible_to(Actor::Passenger(passenger(1))));
    assert!(t.visible_to(Actor::Driver(driver(1))));
    assert!(t.visible_to(Actor::Admin(admin(5))));
    assert!(!t.visible_to(Actor::Passenger(passenger(2))));
    assert!(!t.visible_to(Actor::Driver(driver(2))));
}

/// Offer 1 of trip 2 to driver 1, `distance_m` away, made at `T0` for 20 s.
fn offer_of_driver_1(distance_m: f64) -> Offer {
    Offer::new(
        OfferId::from_uuid(Uuid::from_u128(1)),
        TripId::from_uuid(Uuid::from_u128(2)),
        driver(1),
        distance_m,
        T0,
        Duration::seconds(20),
    )
}

#[test]
fn an_offer_is_answered_once_by_its_driver_before_the_deadline() {
    let o = offer_of_driver_1(800.0);
    assert_eq!(o.accept(driver(2), T0), Err(OfferError::NotYours));
    assert_eq!(
        o.accept(driver(1), T0 + Duration::seconds(20)),
        Err(OfferError::Expired)
    );
    let accepted = o.accept(driver(1), T0 + Duration::seconds(5)).unwrap();
    assert_eq!(accepted.status(), OfferStatus::Accepted);
    assert_eq!(accepted.accept(driver(1), T0), Err(OfferError::NotOpen));
    assert_eq!(accepted.expire(T0 + Duration::hours(1)), None);
    assert_eq!(accepted.withdraw(T0), None);
    let expired = o.expire(T0 + Duration::seconds(20)).unwrap();
    assert_eq!(expired.status(), OfferStatus::Expired);
    assert_eq!(o.expire(T0 + Duration::seconds(19)), None);
    let rejected = o.reject(driver(1), Some("too far".into()), T0).unwrap();
    assert_eq!(
        (rejected.status(), rejected.reason()),
        (OfferStatus::Rejected, Some("too far"))
    );
}

/// A model of a store running dispatch: guarded transitions plus the two constraints the real
/// stores enforce (one open offer per trip, one per driver).
#[derive(Default)]
struct World {
    trips: HashMap<usize, Trip>,
    offers: Vec<Offer>,
    holding: HashMap<DriverId, TripId>,
    now: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
enum Cmd {
    Request(usize),
    Offer(usize, u128),
    Accept(usize, u128),
    Reject(usize, u128),
    Tick(i64),
    Cancel(usize, u8),
    Arrive(usize, u128),
    Start(usize, u128),
    Complete(usize, u128),
    GiveUp(usize),
}

impl World {
    fn now(&self) -> OffsetDateTime {
        self.now.unwrap_or(T0)
    }

    /// Applies a guarded trip change; checks it is in the table.
    fn commit(&mut self, idx: usize, next: Trip) {
        let prev = &self.trips[&idx];
        assert!(
            prev.status() == next.status() || prev.status().can_become(next.status()),
            "{:?} → {:?}",
            prev.status(),
            next.status()
        );
        if !next.status().is_active() {
            let now = self.now();
            for o in self.offers.iter_mut().filter(|o| o.trip_id() == next.id()) {
                if let Some(w) = o.withdraw(now) {
                    *o = w;
                }
            }
            if let Some(d) = next.driver_id()
                && self.holding.get(&d) == Some(&next.id())
            {
                self.holding.remove(&d);
            }
        }
        self.trips.insert(idx, next);
    }

    fn apply(&mut self, cmd: Cmd) {
        let now = self.now();
        match cmd {
            Cmd::Request(i) => {
                self.trips
                    .entry(i)
                    .or_insert_with(|| trip(i as u128 + 1, passenger(i as u128)));
            }
            Cmd::Offer(i, d) => {
                let d = driver(d);
                let Some(t) = self.trips.get(&i).cloned() else {
                    return;
                };
                let trip_open = self
                    .offers
                    .iter()
                    .any(|o| o.trip_id() == t.id() && o.is_open());
                let driver_busy = self
                    .offers
                    .iter()
                    .any(|o| o.driver_id() == d && o.is_open())
                    || self.holding.contains_key(&d);
                if trip_open
                    || driver_busy
                    || !matches!(t.status(), TripStatus::Pending | TripStatus::Assigning)
                {
                    return;
                }
                if t.status() == TripStatus::Pending {
                    let next = t.start_assigning().unwrap();
                    self.commit(i, next);
                }
                let id = OfferId::from_uuid(Uuid::from_u128(self.offers.len() as u128 + 1));
                self.offers
                    .push(Offer::new(id, t.id(), d, 100.0, now, Duration::seconds(20)));
            }
            Cmd::Accept(o, d) => {
                let Some(offer) = self.offers.get(o).cloned() else {
                    return;
                };
                let Ok(accepted) = offer.accept(driver(d), now) else {
                    return;
                };
                let Some((&i, t)) = self.trips.iter().find(|(_, t)| t.id() == offer.trip_id())
                else {
                    return;
                };
                let t = t.clone();
                let Ok(next) = t.accept(offer.driver_id(), now) else {
                    return; // guarded: the trip moved on, nothing is written
                };
                assert!(
                    !self.holding.contains_key(&offer.driver_id()),
                    "a driver would hold two trips"
                );
                self.offers[o] = accepted;
                self.holding.insert(offer.driver_id(), t.id());
                let arriving = next.begin_arriving().unwrap();
                self.commit(i, next);
                self.commit(i, arriving);
            }
            Cmd::Reject(o, d) => {
                if let Some(offer) = self.offers.get(o).cloned()
                    && let Ok(r) = offer.reject(driver(d), None, now)
                {
                    self.offers[o] = r;
                }
            }
            Cmd::Tick(s) => {
                self.now = Some(now + Duration::seconds(s));
                let now = self.now();
                for o in &mut self.offers {
                    if let Some(e) = o.expire(now) {
                        *o = e;
                    }
                }
            }
            Cmd::Cancel(i, who) => {
                let Some(t) = self.trips.get(&i).cloned() else {
                    return;
                };
                let actor = match who % 4 {
                    0 => Actor::Passenger(t.passenger_id()),
                    1 => Actor::Admin(admin(99)),
                    2 => Actor::Driver(t.driver_id().unwrap_or(driver(0))),
                    _ => Actor::Passenger(passenger(98)),
                };
                if let Ok(next) = t.cancel(actor, None, now) {
                    self.commit(i, next);
                }
            }
            Cmd::Arrive(i, d) | Cmd::Start(i, d) | Cmd::Complete(i, d) => {
                let Some(t) = self.trips.get(&i).cloned() else {
                    return;
                };
                let a = Actor::Driver(driver(d));
                let next = match cmd {
                    Cmd::Arrive(..) => t.arrive(a, now),
                    Cmd::Start(..) => t.start(a, now),
                    _ => t.complete(a, Cents(700), now),
                };
                if let Ok(next) = next {
                    self.commit(i, next);
                }
            }
            Cmd::GiveUp(i) => {
                let Some(t) = self.trips.get(&i).cloned() else {
                    return;
                };
                if let Ok(next) = t.give_up("no_drivers_available", now) {
                    self.commit(i, next);
                }
            }
        }
    }

    fn check(&self) {
        for o in &self.offers {
            assert_eq!(
                Offer::restore(o.to_record()),
                Ok(o.clone()),
                "a reachable offer"
            );
        }
        for t in self.trips.values() {
            assert_eq!(
                Trip::restore(t.to_record()),
                Ok(t.clone()),
                "a reachable trip"
            );
            let accepted = self
                .offers
                .iter()
                .filter(|o| o.trip_id() == t.id() && o.status() == OfferStatus::Accepted)
                .count();
            assert!(accepted <= 1, "two accepted offers for one trip");
            let open = self
                .offers
                .iter()
                .filter(|o| o.trip_id() == t.id() && o.is_open())
                .count();
            assert!(open <= 1, "two open offers for one trip");
            if accepted == 1 {
                assert!(t.driver_id().is_some());
            }
            if matches!(
                t.status(),
                TripStatus::Accepted | TripStatus::Arriving | TripStatus::InProgress
            ) {
                let d = t.driver_id().expect("an assigned trip has a driver");
                assert_eq!(self.holding.get(&d), Some(&t.id()));
            }
        }
        let mut held: Vec<&TripId> = self.holding.values().collect();
        held.sort();
        held.dedup();
        assert_eq!(held.len(), self.holding.len(), "two drivers hold one trip");
        let mut open_by_driver: HashMap<DriverId, usize> = HashMap::new();
        for o in self.offers.iter().filter(|o| o.is_open()) {
            *open_by_driver.entry(o.driver_id()).or_default() += 1;
        }
        assert!(
            open_by_driver.values().all(|n| *n <= 1),
            "a driver with two open offers"
        );
    }
}

#[test]
fn a_store_cannot_hand_back_a_trip_the_transitions_would_not_make() {
    let accepted = accepted_by(driver(1));
    let cancelled = trip(2, passenger(1))
        .cancel(Actor::Passenger(passenger(1)), None, T0)
        .unwrap();
    type Case<'a> = (&'a Trip, fn(&mut TripRecord), &'static str);
    let cases: [Case; 6] = [
        (
            &accepted,
            |r| r.driver_id = None,
            "an accepted trip has no driver",
        ),
        (
            &accepted,
            |r| r.status = TripStatus::Pending,
            "an unassigned trip has a driver",
        ),
        (
            &accepted,
            |r| r.accepted_at = None,
            "a driver without acceptance time",
        ),
        (
            &accepted,
            |r| r.fare_total = Some(Cents(1)),
            "completed without its time and fare, or the other way round",
        ),
        (
            &cancelled,
            |r| r.cancelled_by = None,
            "cancelled_by does not match the status",
        ),
        (&cancelled, |r| r.seq = 0, "seq starts at 1"),
    ];
    for (trip, change, rule) in cases {
        let mut record = trip.to_record();
        change(&mut record);
        assert_eq!(Trip::restore(record), Err(InvalidTrip(rule)), "{rule}");
    }
}

#[test]
fn a_store_cannot_hand_back_an_offer_no_answer_would_make() {
    let open = offer_of_driver_1(100.0);
    type Case = (fn(&mut OfferRecord), &'static str);
    let cases: [Case; 4] = [
        (
            |r| r.closed_at = Some(T0),
            "closed_at does not match the status",
        ),
        (
            |r| r.expires_at = r.offered_at,
            "the deadline is not after the offer",
        ),
        (
            |r| r.reason = Some("busy".into()),
            "a reason on an offer that was not rejected",
        ),
        (
            |r| r.distance_to_pickup_m = f64::NAN,
            "the distance to the pickup is not a length",
        ),
    ];
    for (change, rule) in cases {
        let mut record = open.to_record();
        change(&mut record);
        assert_eq!(Offer::restore(record), Err(InvalidOffer(rule)), "{rule}");
    }
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        (0usize..3).prop_map(Cmd::Request),
        (0usize..3, 0u128..4).prop_map(|(t, d)| Cmd::Offer(t, d)),
        (0usize..8, 0u128..4).prop_map(|(o, d)| Cmd::Accept(o, d)),
        (0usize..8, 0u128..4).prop_map(|(o, d)| Cmd::Reject(o, d)),
        (0i64..30).prop_map(Cmd::Tick),
        (0usize..3, any::<u8>()).prop_map(|(t, w)| Cmd::Cancel(t, w)),
        (0usize..3, 0u128..4).prop_map(|(t, d)| Cmd::Arrive(t, d)),
        (0usize..3, 0u128..4).prop_map(|(t, d)| Cmd::Start(t, d)),
        (0usize..3, 0u128..4).prop_map(|(t, d)| Cmd::Complete(t, d)),
        (0usize..3).prop_map(Cmd::GiveUp),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// No sequence yields two accepted offers for one trip, a driver holding two trips, or a
    /// transition outside the table.
    #[test]
    fn dispatch_never_double_assigns(cmds in proptest::collection::vec(cmd(), 1..60)) {
        let mut w = World::default();
        for c in cmds {
            w.apply(c);
            w.check();
        }
    }
}
