//! [`TripRepository`](rodando_ports::trips::TripRepository): trips and offers stored to the
//! microsecond, one active trip per passenger, idempotent requests, and dispatch's
//! all-or-nothing writes — every guard in the port's order, nothing written when one fails,
//! one winner among concurrent writers. Also the
//! [`TripStandingLookup`](rodando_ports::trips::TripStandingLookup) the availability rules use.
//!
//! The cases, by concern: [`requests`] (what is stored and read back, the active-trip and
//! idempotency rules, standings), [`conflicts`] (every guard of a dispatch write, nothing written
//! when one fails) and [`offers`] (accepting, withdrawing, listing, due offers, races). This file
//! holds the builders they (and [`crate::guards`]) share.

use rodando_domain::availability::TripStanding;
use rodando_domain::fare::{Cents, Currency};
use rodando_domain::ids::{DriverId, OfferId, PassengerId, TripId};
use rodando_domain::offer::Offer;
use rodando_domain::trip::{PaymentMethod, Place, Trip, TripError, TripRecord};
use rodando_ports::availability::Versioned;
use rodando_ports::trips::{
    Applied, AvailabilityChange, DispatchConflict, DispatchWrite, TripTransition,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A write that must fail with the given [`DispatchConflict`] pattern.
macro_rules! assert_refused {
    ($ports:expr, $write:expr, $conflict:pat) => {{
        let conflict = $crate::trips::refused($ports, $write).await;
        assert!(matches!(conflict, $conflict), "{conflict:?}");
    }};
}

mod conflicts;
mod offers;
mod requests;
mod seq;

pub use conflicts::*;
pub use offers::*;
pub use requests::*;
pub use seq::*;

use crate::Ports;
use crate::fixtures::{T0, at, havana, new_passenger, ok, point};

/// A way a trip ends early (cancelled, abandoned).
type Ending = fn(&Trip) -> Result<Trip, TripError>;

/// How long a driver has to answer, in these cases.
const TTL: Duration = Duration::seconds(20);

/// `trip` with `change` made to its record: a trip the transitions would not produce (another
/// id, a note on a cancelled trip), still one a store may hold.
pub(crate) fn edited(trip: &Trip, change: impl FnOnce(&mut TripRecord)) -> Trip {
    let mut record = trip.to_record();
    change(&mut record);
    match Trip::restore(record) {
        Ok(t) => t,
        Err(e) => panic!("the edited trip is impossible: {e}"),
    }
}

/// A pending trip of `passenger` requested at `now`, from Parque Central to Hotel Nacional.
pub(crate) fn requested(passenger: PassengerId, now: OffsetDateTime) -> Trip {
    Trip::request(
        TripId::from_uuid(Uuid::new_v4()),
        passenger,
        place(havana::PARQUE_CENTRAL, Some("Paseo del Prado y San Rafael")),
        place(havana::HOTEL_NACIONAL, None),
        PaymentMethod::Cash,
        Cents(1_234),
        currency("CUP"),
        now,
    )
}

fn place(at: (f64, f64), address: Option<&str>) -> Place {
    ok(Place::new(point(at), address))
}

fn currency(code: &str) -> Currency {
    ok(Currency::parse(code))
}

/// A new passenger's trip, stored.
pub(crate) async fn stored_trip(ports: &Ports) -> Trip {
    let passenger = new_passenger(ports).await;
    let trip = requested(passenger, T0);
    ok(ports.trips.create(&trip, None).await)
}

/// An open offer of `trip` to `driver`, made `seconds` after `T0`.
pub(crate) fn offer(trip: &Trip, driver: DriverId, seconds: i64) -> Offer {
    Offer::new(
        OfferId::from_uuid(Uuid::new_v4()),
        trip.id(),
        driver,
        812.5,
        at(seconds),
        TTL,
    )
}

/// A trip change guarded by its current status.
pub(crate) fn transition(current: &Trip, next: Trip) -> Option<TripTransition> {
    Some(TripTransition {
        expected: current.status(),
        next,
    })
}

/// Dispatch's first step: the pending trip becomes assigning and is offered to `driver`.
/// Returns the trip and the offer as stored.
pub(crate) async fn offered(
    ports: &Ports,
    trip: &Trip,
    driver: DriverId,
    seconds: i64,
) -> (Trip, Offer) {
    let next = ok(trip.start_assigning());
    let offer = offer(trip, driver, seconds);
    write(
        ports,
        DispatchWrite {
            trip: transition(trip, next.clone()),
            new_offer: Some(offer.clone()),
            ..DispatchWrite::default()
        },
    )
    .await;
    (next, offer)
}

/// A write of nothing but a trip change guarded by `current`'s status.
pub(crate) fn moving(current: &Trip, next: Trip) -> DispatchWrite {
    DispatchWrite {
        trip: transition(current, next),
        ..DispatchWrite::default()
    }
}

/// A write of nothing but a new open offer.
pub(crate) fn making(offer: &Offer) -> DispatchWrite {
    DispatchWrite {
        new_offer: Some(offer.clone()),
        ..DispatchWrite::default()
    }
}

/// A write of nothing but a change to an existing offer.
pub(crate) fn closing(offer: Option<Offer>) -> DispatchWrite {
    DispatchWrite {
        offer,
        ..DispatchWrite::default()
    }
}

/// Stores `offer`, closed by the caller, in a write of its own.
pub(crate) async fn close(ports: &Ports, offer: Offer) -> Offer {
    write(ports, closing(Some(offer.clone()))).await;
    offer
}

/// A write that must succeed; returns the withdrawn offers.
pub(crate) async fn write(ports: &Ports, write: DispatchWrite) -> Vec<Offer> {
    applied(ports, write).await.withdrawn
}

/// A write that must succeed; returns what it did.
pub(crate) async fn applied(ports: &Ports, write: DispatchWrite) -> Applied {
    match ports.trips.apply(&write).await {
        Ok(applied) => applied,
        Err(e) => panic!("dispatch write failed: {e:?}"),
    }
}

/// Dispatch's first step (as [`offered`] writes it) for the pending `trip` and `driver`, which
/// must be refused; returns why, having asserted that nothing of it landed (the trip still
/// pending, no offer of it).
pub(crate) async fn first_offer_refused(
    ports: &Ports,
    trip: &Trip,
    driver: DriverId,
    seconds: i64,
) -> DispatchConflict {
    let write = DispatchWrite {
        trip: transition(trip, ok(trip.start_assigning())),
        new_offer: Some(offer(trip, driver, seconds)),
        ..DispatchWrite::default()
    };
    let conflict = refused(ports, write).await;
    let status = trip_of(ports, trip.id()).await.status();
    assert_eq!(
        status,
        rodando_domain::trip::TripStatus::Pending,
        "{conflict:?}"
    );
    assert!(ok(ports.trips.offers_for_trip(trip.id()).await).is_empty());
    conflict
}

/// A write that must fail; returns why.
pub(crate) async fn refused(ports: &Ports, write: DispatchWrite) -> DispatchConflict {
    match ports.trips.apply(&write).await {
        Ok(applied) => panic!("dispatch write succeeded ({applied:?})"),
        Err(e) => e,
    }
}

pub(crate) async fn trip_of(ports: &Ports, id: TripId) -> Trip {
    match ok(ports.trips.find(id).await) {
        Some(t) => t,
        None => panic!("trip {id} is gone"),
    }
}

async fn offer_of(ports: &Ports, id: OfferId) -> Offer {
    match ok(ports.trips.find_offer(id).await) {
        Some(o) => o,
        None => panic!("offer {id} is gone"),
    }
}

async fn availability_of(ports: &Ports, driver: DriverId) -> Versioned {
    match ok(ports.availability.find(driver).await) {
        Some(v) => v,
        None => panic!("no availability for {driver}"),
    }
}

/// Everything the application writes when `offer`'s driver accepts it at `now`: the offer
/// accepted, the trip accepted then arriving, the driver holding the trip, other open offers
/// withdrawn. Shared with the user-status cases, which accept the same way.
pub(crate) async fn accept_write(
    ports: &Ports,
    trip: &Trip,
    offer: &Offer,
    now: OffsetDateTime,
) -> DispatchWrite {
    let driver = offer.driver_id();
    let accepted = ok(offer.accept(driver, now));
    let arriving = ok(ok(trip.accept(driver, now)).begin_arriving());
    let row = ok(ports.availability.load_or_create(driver, now).await);
    let mine = TripStanding::Dispatched {
        assigned_to: Some(driver),
        active: true,
    };
    let on_trip = ok(row
        .state
        .set_trip(trip.id(), mine, TripStanding::External, now));
    DispatchWrite {
        trip: transition(trip, arriving),
        offer: Some(accepted),
        availability: Some(AvailabilityChange {
            expected_version: row.version,
            next: on_trip,
        }),
        withdraw_open_offers_at: Some(now),
        ..DispatchWrite::default()
    }
}
