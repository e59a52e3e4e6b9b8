//! [`AvailabilityRepository::nearest_available`](rodando_ports::availability::AvailabilityRepository::nearest_available):
//! dispatch's candidate list, with real places in Havana. Nearest first, within the radius,
//! matchable only (available, presence and position fresh), minus the excluded, at most `limit`;
//! distances are great-circle metres.

use rodando_domain::availability::{LocationFix, StatusCommand, TripStanding};
use rodando_domain::dispatch::Candidate;
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{DriverId, TripId};
use rodando_ports::availability::NearestQuery;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Ports;
use crate::fixtures::{
    T0, apply, at, available_driver_at, driver_in, fix, havana, new_driver, ok, point, set_status,
};

const ONE_HOUR: Duration = Duration::hours(1);

fn origin() -> GeoPoint {
    point(havana::PARQUE_CENTRAL)
}

async fn nearest(
    ports: &Ports,
    radius_m: f64,
    limit: usize,
    now: OffsetDateTime,
    freshness: Duration,
    exclude: &[DriverId],
) -> Vec<Candidate> {
    ok(ports
        .availability
        .nearest_available(&NearestQuery {
            origin: origin(),
            radius_m,
            limit,
            now,
            freshness,
            exclude: exclude.to_vec(),
        })
        .await)
}

/// The ids of up to `limit` drivers matchable at `at(10)` within `radius_m` of Parque Central.
pub(crate) async fn nearest_ids(ports: &Ports, radius_m: f64, limit: usize) -> Vec<DriverId> {
    ids(&nearest(ports, radius_m, limit, at(10), ONE_HOUR, &[]).await)
}

fn ids(found: &[Candidate]) -> Vec<DriverId> {
    found.iter().map(|n| n.driver_id).collect()
}

/// Drivers at Capitolio, Morro, Hotel Nacional, Plaza, the airport and Varadero.
async fn six_drivers(ports: &Ports) -> [DriverId; 6] {
    [
        available_driver_at(ports, havana::CAPITOLIO, T0).await,
        available_driver_at(ports, havana::MORRO, T0).await,
        available_driver_at(ports, havana::HOTEL_NACIONAL, T0).await,
        available_driver_at(ports, havana::PLAZA, T0).await,
        available_driver_at(ports, havana::AIRPORT, T0).await,
        available_driver_at(ports, havana::VARADERO, T0).await,
    ]
}

/// Within 5 km of Parque Central: Capitolio, Morro, Hotel Nacional, Plaza, in that order; the
/// airport joins at 20 km and Varadero at 200 km.
pub async fn nearest_available_lists_drivers_within_the_radius_nearest_first(ports: Ports) {
    let [capitolio, morro, nacional, plaza, airport, varadero] = six_drivers(&ports).await;

    assert_eq!(
        nearest_ids(&ports, 5_000.0, 10).await,
        vec![capitolio, morro, nacional, plaza]
    );
    assert_eq!(
        nearest_ids(&ports, 20_000.0, 10).await,
        vec![capitolio, morro, nacional, plaza, airport]
    );
    assert_eq!(
        nearest_ids(&ports, 200_000.0, 10).await,
        vec![capitolio, morro, nacional, plaza, airport, varadero]
    );
}

/// Each reported distance is the haversine distance from the origin (within 0.1%; the port
/// requires great-circle metres).
pub async fn distances_are_great_circle_metres(ports: Ports) {
    let drivers = six_drivers(&ports).await;
    let places = [
        havana::CAPITOLIO,
        havana::MORRO,
        havana::HOTEL_NACIONAL,
        havana::PLAZA,
        havana::AIRPORT,
        havana::VARADERO,
    ];

    let found = nearest(&ports, 200_000.0, 10, at(10), ONE_HOUR, &[]).await;

    assert_eq!(found.len(), 6);
    for (driver, place) in drivers.iter().zip(places) {
        let expected = origin().distance_m(&point(place));
        let Some(got) = found.iter().find(|n| n.driver_id == *driver) else {
            panic!("{driver} at {place:?} not found");
        };
        let error = (got.distance_m - expected).abs();
        assert!(
            error <= expected * 0.001 + 0.01,
            "{place:?}: {} m reported, {expected} m by haversine",
            got.distance_m
        );
    }
    let capitolio = found.first().map_or(0.0, |n| n.distance_m);
    assert!((250.0..310.0).contains(&capitolio), "{capitolio}");
}

/// A driver just inside the radius is found, one just outside is not; a driver exactly at the
/// origin is found with a radius of zero, at distance zero.
pub async fn the_radius_bounds_the_search_exactly(ports: Ports) {
    let plaza = available_driver_at(&ports, havana::PLAZA, T0).await;
    let distance = origin().distance_m(&point(havana::PLAZA));

    assert_eq!(
        nearest_ids(&ports, distance * (1.0 + 1e-6), 5).await,
        vec![plaza]
    );
    assert!(
        nearest_ids(&ports, distance * (1.0 - 1e-6), 5)
            .await
            .is_empty()
    );

    let here = available_driver_at(&ports, havana::PARQUE_CENTRAL, T0).await;
    let found = nearest(&ports, 0.0, 5, at(10), ONE_HOUR, &[]).await;
    assert_eq!(ids(&found), vec![here]);
    assert!(found.iter().all(|n| n.distance_m.abs() < 1e-6), "{found:?}");
}

/// Presence and position must both be younger than the freshness: exactly as old is too old.
pub async fn presence_and_position_must_be_fresher_than_the_freshness(ports: Ports) {
    let freshness = Duration::seconds(60);
    let now = at(70);
    // Pinged at 40: fresh.
    let fresh = available_driver_at(&ports, havana::CAPITOLIO, at(40)).await;
    // Position from 0, presence refreshed at 50.
    let old_position = available_driver_at(&ports, havana::MORRO, T0).await;
    set_status(&ports, old_position, StatusCommand::Available, at(50)).await;
    // Presence from 0, position stamped 30 by the device (within the tolerated skew).
    let old_presence = driver_in(&ports, StatusCommand::Available, T0).await;
    let ahead = LocationFix {
        recorded_at: Some(at(30)),
        ..fix(havana::HOTEL_NACIONAL)
    };
    apply(&ports, old_presence, T0, |s| s.record_location(&ahead, T0)).await;
    // Pinged at 10: exactly `freshness` old at 70.
    let boundary = available_driver_at(&ports, havana::PLAZA, at(10)).await;

    let found = nearest(&ports, 5_000.0, 10, now, freshness, &[]).await;
    assert_eq!(ids(&found), vec![fresh]);

    let just_before = now - Duration::microseconds(1);
    let found = nearest(&ports, 5_000.0, 10, just_before, freshness, &[]).await;
    assert_eq!(ids(&found), vec![fresh, boundary]);

    let found = nearest(&ports, 5_000.0, 10, now, Duration::seconds(100), &[]).await;
    assert_eq!(
        ids(&found),
        vec![fresh, old_position, old_presence, boundary]
    );
}

/// Excluded drivers (those already offered the trip) are skipped; at most `limit` are returned,
/// the nearest ones.
pub async fn excluded_drivers_are_skipped_and_the_limit_is_honoured(ports: Ports) {
    let [capitolio, morro, nacional, plaza, _, _] = six_drivers(&ports).await;
    let unknown = DriverId::from_uuid(Uuid::new_v4());

    let found = nearest(&ports, 5_000.0, 10, at(10), ONE_HOUR, &[morro, unknown]).await;
    assert_eq!(ids(&found), vec![capitolio, nacional, plaza]);

    let found = nearest(&ports, 5_000.0, 2, at(10), ONE_HOUR, &[]).await;
    assert_eq!(ids(&found), vec![capitolio, morro]);

    let found = nearest(&ports, 5_000.0, 1, at(10), ONE_HOUR, &[capitolio, morro]).await;
    assert_eq!(ids(&found), vec![nacional]);

    let everyone = [capitolio, morro, nacional, plaza];
    assert!(
        nearest(&ports, 5_000.0, 10, at(10), ONE_HOUR, &everyone)
            .await
            .is_empty()
    );
}

/// Busy, offline, on-trip and never-located drivers are not offered trips; each becomes a
/// candidate, moves, or stops being one as soon as its state is written.
pub async fn only_available_drivers_are_found_and_the_index_follows_every_change(ports: Ports) {
    let trip = TripId::from_uuid(Uuid::new_v4());
    let busy = driver_in(&ports, StatusCommand::Busy, T0).await;
    apply(&ports, busy, T0, |s| {
        s.record_location(&fix(havana::CAPITOLIO), T0)
    })
    .await;
    let offline = new_driver(&ports).await;
    apply(&ports, offline, T0, |s| {
        s.record_location(&fix(havana::MORRO), T0)
    })
    .await;
    let on_trip = available_driver_at(&ports, havana::PARQUE_CENTRAL, T0).await;
    apply(&ports, on_trip, T0, |s| {
        ok(s.set_trip(trip, TripStanding::External, TripStanding::External, T0))
    })
    .await;
    // Available but never located.
    driver_in(&ports, StatusCommand::Available, T0).await;
    let moving = available_driver_at(&ports, havana::HOTEL_NACIONAL, T0).await;

    assert_eq!(nearest_ids(&ports, 5_000.0, 10).await, vec![moving]);

    set_status(&ports, busy, StatusCommand::Available, at(1)).await;
    assert_eq!(nearest_ids(&ports, 5_000.0, 10).await, vec![busy, moving]);

    apply(&ports, moving, at(2), |s| {
        s.record_location(&fix(havana::VARADERO), at(2))
    })
    .await;
    assert_eq!(nearest_ids(&ports, 5_000.0, 10).await, vec![busy]);
    apply(&ports, moving, at(3), |s| {
        s.record_location(&fix(havana::MORRO), at(3))
    })
    .await;
    assert_eq!(nearest_ids(&ports, 5_000.0, 10).await, vec![busy, moving]);

    apply(&ports, on_trip, at(4), |s| {
        ok(s.clear_trip(TripStanding::External, at(4)))
    })
    .await;
    assert_eq!(
        nearest_ids(&ports, 5_000.0, 10).await,
        vec![on_trip, busy, moving]
    );

    set_status(&ports, busy, StatusCommand::Offline, at(5)).await;
    set_status(&ports, moving, StatusCommand::Busy, at(6)).await;
    assert_eq!(nearest_ids(&ports, 5_000.0, 10).await, vec![on_trip]);

    let swept = apply(&ports, on_trip, at(7), |s| {
        s.sweep(at(7) + Duration::hours(2), ONE_HOUR)
            .unwrap_or_else(|| panic!("not stale"))
    })
    .await;
    assert!(!swept.state.is_online);
    assert!(nearest_ids(&ports, 5_000.0, 10).await.is_empty());
}

/// No room (limit 0), or no radius (negative or not a number), finds nobody.
pub async fn nothing_is_found_with_no_room_or_no_radius(ports: Ports) {
    available_driver_at(&ports, havana::PARQUE_CENTRAL, T0).await;

    assert!(nearest_ids(&ports, 5_000.0, 0).await.is_empty());
    assert!(nearest_ids(&ports, -1.0, 10).await.is_empty());
    assert!(nearest_ids(&ports, f64::NAN, 10).await.is_empty());
    assert_eq!(nearest_ids(&ports, f64::INFINITY, 10).await.len(), 1);
}

/// A driver holding an open offer of any trip is no candidate for another one; once the offer
/// is answered it is again.
pub async fn drivers_holding_an_open_offer_are_skipped(ports: Ports) {
    let [capitolio, morro, ..] = six_drivers(&ports).await;
    let trip = crate::trips::stored_trip(&ports).await;
    let (_, open) = crate::trips::offered(&ports, &trip, capitolio, 1).await;
    let found = ids(&nearest(&ports, 5_000.0, 2, at(10), ONE_HOUR, &[]).await);
    assert!(!found.contains(&capitolio), "{found:?}");
    assert_eq!(found.first(), Some(&morro));

    crate::trips::close(&ports, ok(open.reject(capitolio, None, at(2)))).await;
    let found = ids(&nearest(&ports, 5_000.0, 2, at(10), ONE_HOUR, &[]).await);
    assert_eq!(found, vec![capitolio, morro]);
}

/// Unmatchable drivers of every kind nearer to the pickup than every matchable one (excluded,
/// holding an open offer, inactive or banned, with an old position, on a trip) do not hide the
/// matchable ones behind them: the query still returns the `limit` nearest matchable drivers,
/// so a store that stops looking after `limit` drivers of any kind fails here.
pub async fn unmatchable_drivers_nearer_than_the_matchable_ones_do_not_hide_them(ports: Ports) {
    use rodando_domain::user::UserStatus;

    let (lat, lon) = havana::PARQUE_CENTRAL;
    // Within 60 m of the origin, one every ~2 m going north; Capitolio is ~280 m south.
    let near = |i: u32| (lat + f64::from(i) * 2e-5, lon);
    let mut i = 0;
    let mut next_near = || {
        i += 1;
        near(i)
    };
    let mut excluded = Vec::new();
    for _ in 0..12 {
        excluded.push(available_driver_at(&ports, next_near(), T0).await);
    }
    for _ in 0..3 {
        let driver = available_driver_at(&ports, next_near(), T0).await;
        let trip = crate::trips::stored_trip(&ports).await;
        crate::trips::offered(&ports, &trip, driver, 1).await;
    }
    for status in [
        UserStatus::Inactive,
        UserStatus::Banned,
        UserStatus::Inactive,
    ] {
        let driver = available_driver_at(&ports, next_near(), T0).await;
        assert!(ok(ports.users.set_status(driver.user_id(), status).await));
    }
    // Pinged long before the query: their positions are older than the freshness.
    for _ in 0..3 {
        available_driver_at(&ports, next_near(), T0 - Duration::hours(2)).await;
    }
    for _ in 0..3 {
        let driver = available_driver_at(&ports, next_near(), T0).await;
        let trip = TripId::from_uuid(Uuid::new_v4());
        apply(&ports, driver, T0, |s| {
            ok(s.set_trip(trip, TripStanding::External, TripStanding::External, T0))
        })
        .await;
    }
    let [capitolio, morro, nacional, plaza, ..] = six_drivers(&ports).await;

    let found = nearest(&ports, 5_000.0, 2, at(10), ONE_HOUR, &excluded).await;
    assert_eq!(ids(&found), vec![capitolio, morro]);
    let found = nearest(&ports, 5_000.0, 10, at(10), ONE_HOUR, &excluded).await;
    assert_eq!(ids(&found), vec![capitolio, morro, nacional, plaza]);
    let mut also_capitolio = excluded.clone();
    also_capitolio.push(capitolio);
    let found = nearest(&ports, 5_000.0, 1, at(10), ONE_HOUR, &also_capitolio).await;
    assert_eq!(ids(&found), vec![morro]);
    // Without the exclusions, the excluded ones are the nearest.
    let found = nearest(&ports, 5_000.0, 3, at(10), ONE_HOUR, &[]).await;
    assert_eq!(ids(&found), excluded[..3].to_vec());
}
