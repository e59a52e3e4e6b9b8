//! A user's status as dispatch sees it: once [`UserRepository::set_status`] stores `inactive`
//! or `banned`, the driver is no longer among the nearest, cannot be offered a trip and cannot
//! accept one; once `active` again, it can.
//!
//! [`UserRepository::set_status`]: rodando_ports::users::UserRepository::set_status

use rodando_domain::ids::DriverId;
use rodando_domain::offer::OfferStatus;
use rodando_domain::trip::TripStatus;
use rodando_domain::user::UserStatus;
use rodando_ports::trips::{DispatchConflict, DispatchWrite};

use crate::Ports;
use crate::fixtures::{T0, at, available_driver_at, havana, ok};
use crate::nearest::nearest_ids;
use crate::trips::{accept_write, first_offer_refused, offered, refused, stored_trip, trip_of};

async fn set(ports: &Ports, driver: DriverId, status: UserStatus) {
    assert!(
        ok(ports.users.set_status(driver.user_id(), status).await),
        "{driver}"
    );
}

async fn nearest(ports: &Ports) -> Vec<DriverId> {
    nearest_ids(ports, 5_000.0, 10).await
}

/// Inactive and banned drivers are skipped by the nearest-driver query at once, whatever their
/// availability says; active again, they are found again, in distance order.
pub async fn nearest_available_skips_drivers_that_are_not_active(ports: Ports) {
    let capitolio = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let morro = available_driver_at(&ports, havana::MORRO, T0).await;
    let nacional = available_driver_at(&ports, havana::HOTEL_NACIONAL, T0).await;
    assert_eq!(nearest(&ports).await, vec![capitolio, morro, nacional]);

    set(&ports, capitolio, UserStatus::Banned).await;
    set(&ports, nacional, UserStatus::Inactive).await;
    assert_eq!(nearest(&ports).await, vec![morro]);

    set(&ports, capitolio, UserStatus::Active).await;
    set(&ports, nacional, UserStatus::Active).await;
    assert_eq!(nearest(&ports).await, vec![capitolio, morro, nacional]);
}

/// A driver banned or deactivated after dispatch read it is not offered the trip:
/// `DriverNotMatchable`, and nothing of the write lands.
pub async fn a_new_offer_is_refused_once_its_driver_is_not_active(ports: Ports) {
    for status in [UserStatus::Banned, UserStatus::Inactive] {
        let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
        set(&ports, driver, status).await;
        let trip = stored_trip(&ports).await;
        let conflict = first_offer_refused(&ports, &trip, driver, 1).await;
        assert!(
            matches!(conflict, DispatchConflict::DriverNotMatchable),
            "{status:?}: {conflict:?}"
        );

        // Active again: offered.
        set(&ports, driver, UserStatus::Active).await;
        offered(&ports, &trip, driver, 2).await;
    }
}

/// An offer made before its driver was banned cannot be accepted after: `DriverInactive`, and
/// nothing is written (the offer stays open for the release that follows a ban, the trip
/// assigning, the driver free). Rejecting it still works.
pub async fn an_accept_is_refused_once_its_driver_is_not_active(ports: Ports) {
    let driver = available_driver_at(&ports, havana::CAPITOLIO, T0).await;
    let trip = stored_trip(&ports).await;
    let (assigning, open) = offered(&ports, &trip, driver, 1).await;
    set(&ports, driver, UserStatus::Banned).await;

    let accept = accept_write(&ports, &assigning, &open, at(2)).await;
    let conflict = refused(&ports, accept).await;

    assert!(
        matches!(conflict, DispatchConflict::DriverInactive),
        "{conflict:?}"
    );
    assert_eq!(
        trip_of(&ports, trip.id()).await.status(),
        TripStatus::Assigning
    );
    let still = ok(ports.trips.find_offer(open.id()).await);
    assert_eq!(still.map(|o| o.status()), Some(OfferStatus::Offered));
    let row = ok(ports.availability.find(driver).await);
    assert_eq!(row.and_then(|r| r.state.current_trip_id), None);

    let rejected = ok(open.reject(driver, Some("driver_unavailable".into()), at(3)));
    let closed = ports
        .trips
        .apply(&DispatchWrite {
            offer: Some(rejected),
            ..DispatchWrite::default()
        })
        .await;
    assert!(closed.is_ok(), "{closed:?}");
    assert_eq!(ok(ports.trips.open_offer_of(driver).await), None);
}
