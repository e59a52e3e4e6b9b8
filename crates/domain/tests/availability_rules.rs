//! The rules table of PROTOCOL §6, one test per row, and property tests over command sequences.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

use proptest::prelude::*;
use rodando_domain::availability::*;
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{DriverId, TripId};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-01 08:00 UTC);

fn driver() -> DriverId {
    DriverId::from_uuid(Uuid::from_u128(0xd1))
}

fn other_driver() -> DriverId {
    DriverId::from_uuid(Uuid::from_u128(0xd2))
}

fn trip(n: u128) -> TripId {
    TripId::from_uuid(Uuid::from_u128(n))
}

fn fix(lat: f64, lon: f64, recorded_at: Option<OffsetDateTime>) -> LocationFix {
    LocationFix {
        point: GeoPoint::from_degrees(lat, lon).unwrap(),
        accuracy_m: None,
        heading_deg: None,
        speed_kph: None,
        recorded_at,
    }
}

fn mine(active: bool) -> TripStanding {
    TripStanding::Dispatched {
        assigned_to: Some(driver()),
        active,
    }
}

fn offline() -> DriverAvailability {
    DriverAvailability::new_offline(driver(), T0)
}

fn available(now: OffsetDateTime) -> DriverAvailability {
    offline()
        .set_status(StatusCommand::Available, TripStanding::External, now)
        .unwrap()
}

#[test]
fn a_new_driver_is_offline_with_reason_offline() {
    let d = offline();
    assert_eq!(d.status(), AvailabilityStatus::Offline);
    assert_eq!(d.availability_reason, Some(AvailabilityReason::Offline));
    assert!(DriverAvailability::restore(d.into_record()).is_ok());
}

#[test]
fn available_goes_online_with_no_reason_and_stamps_last_online() {
    let now = T0 + Duration::minutes(1);
    let d = available(now);
    assert_eq!(d.status(), AvailabilityStatus::Available);
    assert!(d.is_online && d.is_available_for_trips);
    assert_eq!(d.availability_reason, None);
    assert_eq!(d.last_online_at, Some(now));
    assert_eq!(d.last_presence_at, Some(now));
    // Already online: lastOnlineTimestamp is kept.
    let later = now + Duration::minutes(5);
    let again = d
        .set_status(StatusCommand::Available, TripStanding::External, later)
        .unwrap();
    assert_eq!(again.last_online_at, Some(now));
    assert_eq!(again.last_presence_at, Some(later));
}

#[test]
fn available_is_refused_while_holding_any_trip() {
    let d = available(T0)
        .set_trip(trip(1), TripStanding::External, TripStanding::External, T0)
        .unwrap();
    assert_eq!(
        d.set_status(StatusCommand::Available, TripStanding::External, T0),
        Err(RuleViolation::OnTrip)
    );
}

#[test]
fn busy_is_unavailable_or_on_trip() {
    let busy = available(T0)
        .set_status(StatusCommand::Busy, TripStanding::External, T0)
        .unwrap();
    assert_eq!(busy.status(), AvailabilityStatus::Busy);
    assert_eq!(
        busy.availability_reason,
        Some(AvailabilityReason::Unavailable)
    );
    let on_trip = available(T0)
        .set_trip(trip(1), TripStanding::External, TripStanding::External, T0)
        .unwrap()
        .set_status(StatusCommand::Busy, TripStanding::External, T0)
        .unwrap();
    assert_eq!(
        on_trip.availability_reason,
        Some(AvailabilityReason::OnTrip)
    );
}

/// An available driver that took trip 1, an active trip it was dispatched to, at `T0`.
fn on_dispatched_trip_1() -> DriverAvailability {
    available(T0)
        .set_trip(trip(1), mine(true), TripStanding::External, T0)
        .unwrap()
}

#[test]
fn offline_is_refused_during_an_active_dispatched_trip_only() {
    let d = on_dispatched_trip_1();
    assert_eq!(
        d.set_status(StatusCommand::Offline, mine(true), T0),
        Err(RuleViolation::OnTrip)
    );
    // Finished dispatched trip, or a trip handled elsewhere: the driver may go offline and the
    // trip is let go (an offline driver holds no trip).
    for standing in [mine(false), TripStanding::External] {
        let off = d.set_status(StatusCommand::Offline, standing, T0).unwrap();
        assert_eq!(off.status(), AvailabilityStatus::Offline);
        assert_eq!(off.current_trip_id, None);
        assert_eq!(off.availability_reason, Some(AvailabilityReason::Offline));
    }
}

#[test]
fn a_ping_keeps_status_and_trusts_device_time_within_30_seconds() {
    let now = T0 + Duration::hours(1);
    let d = available(now);
    let near = now - Duration::seconds(30);
    let pinged = d.record_location(&fix(23.1, -82.4, Some(near)), now);
    assert_eq!(pinged.status(), AvailabilityStatus::Available);
    assert_eq!(pinged.last_location.unwrap().at, near);
    let far = now - Duration::seconds(31);
    let pinged = d.record_location(&fix(23.1, -82.4, Some(far)), now);
    assert_eq!(pinged.last_location.unwrap().at, now);
    let future = now + Duration::minutes(10);
    let pinged = d.record_location(&fix(23.1, -82.4, Some(future)), now);
    assert_eq!(pinged.last_location.unwrap().at, now);
    // An offline driver's ping is stored too, and does not bring it online.
    let off = offline().record_location(&fix(23.1, -82.4, None), now);
    assert_eq!(off.status(), AvailabilityStatus::Offline);
    assert!(off.last_location.is_some());
}

#[test]
fn setting_a_trip_makes_the_driver_on_trip_even_from_offline() {
    let d = offline()
        .set_trip(trip(7), TripStanding::External, TripStanding::External, T0)
        .unwrap();
    assert!(d.is_online && !d.is_available_for_trips);
    assert_eq!(d.current_trip_id, Some(trip(7)));
    assert_eq!(d.availability_reason, Some(AvailabilityReason::OnTrip));
}

#[test]
fn a_trip_dispatched_to_someone_else_or_finished_is_refused() {
    let theirs = TripStanding::Dispatched {
        assigned_to: Some(other_driver()),
        active: true,
    };
    let unassigned = TripStanding::Dispatched {
        assigned_to: None,
        active: true,
    };
    let d = available(T0);
    for standing in [theirs, unassigned] {
        assert_eq!(
            d.set_trip(trip(1), standing, TripStanding::External, T0),
            Err(RuleViolation::TripNotAssigned)
        );
    }
    assert_eq!(
        d.set_trip(trip(1), mine(false), TripStanding::External, T0),
        Err(RuleViolation::TripFinished)
    );
    assert!(RuleViolation::TripNotAssigned.is_forbidden());
    assert!(!RuleViolation::ActiveTrip.is_forbidden());
}

#[test]
fn an_active_dispatched_trip_cannot_be_replaced_or_cleared() {
    let d = on_dispatched_trip_1();
    assert_eq!(
        d.set_trip(trip(2), TripStanding::External, mine(true), T0),
        Err(RuleViolation::ActiveTrip)
    );
    assert_eq!(d.clear_trip(mine(true), T0), Err(RuleViolation::ActiveTrip));
    // Setting the same trip again is idempotent.
    let same = d.set_trip(trip(1), mine(true), mine(true), T0).unwrap();
    assert_eq!(same, d);
}

#[test]
fn clearing_a_trip_returns_to_available_when_online() {
    let d = available(T0)
        .set_trip(trip(1), TripStanding::External, TripStanding::External, T0)
        .unwrap();
    let cleared = d.clear_trip(TripStanding::External, T0).unwrap();
    assert_eq!(cleared.status(), AvailabilityStatus::Available);
    assert_eq!(cleared.current_trip_id, None);
    let finished = d.finish_trip(trip(1), T0).unwrap();
    assert_eq!(finished.status(), AvailabilityStatus::Available);
    assert_eq!(d.finish_trip(trip(2), T0), None, "not the held trip");
}

#[test]
fn the_sweeper_takes_silent_free_drivers_offline_only() {
    let ttl = Duration::seconds(120);
    let d = available(T0);
    assert_eq!(d.sweep(T0 + Duration::seconds(119), ttl), None);
    let swept = d.sweep(T0 + ttl, ttl).unwrap();
    assert_eq!(swept.status(), AvailabilityStatus::Offline);
    let on_trip = d
        .set_trip(trip(1), TripStanding::External, TripStanding::External, T0)
        .unwrap();
    assert_eq!(on_trip.sweep(T0 + Duration::days(1), ttl), None);
    assert_eq!(offline().sweep(T0 + Duration::days(1), ttl), None);
}

#[test]
fn only_visible_fields_count_as_change() {
    let d = available(T0);
    let again = d
        .set_status(
            StatusCommand::Available,
            TripStanding::External,
            T0 + Duration::seconds(5),
        )
        .unwrap();
    assert!(!d.change_to(&again).any(), "presence alone is not news");
    let busy = d
        .set_status(StatusCommand::Busy, TripStanding::External, T0)
        .unwrap();
    assert_eq!(
        d.change_to(&busy),
        Change {
            status: true,
            location: false,
            trip: false
        }
    );
    let moved = d.record_location(&fix(23.1, -82.4, None), T0);
    assert!(d.change_to(&moved).location);
}

#[test]
fn restore_refuses_impossible_records() {
    let good = available(T0).into_record();
    let cases = [
        AvailabilityRecord {
            is_online: false,
            ..good.clone()
        },
        AvailabilityRecord {
            current_trip_id: Some(trip(1)),
            ..good.clone()
        },
        AvailabilityRecord {
            availability_reason: Some(AvailabilityReason::Unavailable),
            ..good.clone()
        },
        AvailabilityRecord {
            is_available_for_trips: false,
            ..good.clone()
        },
        AvailabilityRecord {
            is_online: false,
            is_available_for_trips: false,
            availability_reason: Some(AvailabilityReason::OnTrip),
            ..good.clone()
        },
    ];
    for bad in cases {
        assert!(DriverAvailability::restore(bad.clone()).is_err(), "{bad:?}");
    }
    assert!(DriverAvailability::restore(good).is_ok());
}

#[test]
fn matchable_needs_fresh_presence_and_position() {
    let ttl = Duration::seconds(120);
    let d = available(T0).connect(T0);
    assert!(!d.is_matchable(T0, ttl), "no position yet");
    let d = d.record_location(&fix(23.1, -82.4, None), T0);
    assert!(d.is_matchable(T0 + Duration::seconds(60), ttl));
    assert!(!d.is_matchable(T0 + ttl, ttl));
}

#[test]
fn a_driver_without_a_socket_is_online_but_not_matchable() {
    let ttl = Duration::seconds(120);
    let d = available(T0).record_location(&fix(23.1, -82.4, None), T0);
    assert!(!d.is_matchable(T0, ttl), "never connected");
    let connected = d.connect(T0);
    assert!(connected.is_matchable(T0, ttl));
    let gone = connected.disconnect(T0 + Duration::seconds(1));
    assert!(!gone.is_matchable(T0 + Duration::seconds(1), ttl));
    assert_eq!(gone.status(), AvailabilityStatus::Available, "status kept");
    assert_eq!(gone.change_to(&connected), Change::default(), "not news");
    let back = gone.connect(T0 + Duration::seconds(5));
    assert!(
        back.is_matchable(T0 + Duration::seconds(5), ttl),
        "no status change needed"
    );
    assert_eq!(
        connected.connect(T0),
        connected,
        "connecting twice changes nothing"
    );
}

#[derive(Debug, Clone)]
enum Cmd {
    Status(StatusCommand, TripStanding),
    Ping(f64, f64, i64),
    SetTrip(u8, TripStanding, TripStanding),
    ClearTrip(TripStanding),
    FinishTrip(u8),
    Sweep(i64),
}

fn standing() -> impl Strategy<Value = TripStanding> {
    prop_oneof![
        Just(TripStanding::External),
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(assigned, me, active)| {
            TripStanding::Dispatched {
                assigned_to: assigned.then(|| if me { driver() } else { other_driver() }),
                active,
            }
        }),
    ]
}

fn cmd() -> impl Strategy<Value = Cmd> {
    let status = prop_oneof![
        Just(StatusCommand::Available),
        Just(StatusCommand::Busy),
        Just(StatusCommand::Offline)
    ];
    prop_oneof![
        (status, standing()).prop_map(|(s, t)| Cmd::Status(s, t)),
        (-89.0f64..89.0, -179.0f64..179.0, -60i64..60)
            .prop_filter("null island", |(a, b, _)| *a != 0.0 || *b != 0.0)
            .prop_map(|(a, b, s)| Cmd::Ping(a, b, s)),
        (0u8..3, standing(), standing()).prop_map(|(t, s, c)| Cmd::SetTrip(t, s, c)),
        standing().prop_map(Cmd::ClearTrip),
        (0u8..3).prop_map(Cmd::FinishTrip),
        (0i64..600).prop_map(Cmd::Sweep),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever a client sends, in whatever order, the state keeps every invariant and the
    /// derived status agrees with the flags.
    #[test]
    fn no_sequence_of_commands_breaks_an_invariant(cmds in proptest::collection::vec(cmd(), 1..40)) {
        let mut state = offline();
        let mut now = T0;
        for c in cmds {
            now += Duration::seconds(7);
            let next = match c {
                Cmd::Status(s, t) => state.set_status(s, t, now).ok(),
                Cmd::Ping(lat, lon, skew) => Some(state.record_location(
                    &fix(lat, lon, Some(now + Duration::seconds(skew))), now)),
                Cmd::SetTrip(t, s, c) => state.set_trip(trip(u128::from(t)), s, c, now).ok(),
                Cmd::ClearTrip(c) => state.clear_trip(c, now).ok(),
                Cmd::FinishTrip(t) => state.finish_trip(trip(u128::from(t)), now),
                Cmd::Sweep(ttl) => state.sweep(now, Duration::seconds(ttl)),
            };
            if let Some(next) = next {
                prop_assert!(next.updated_at >= state.updated_at);
                state = next;
            }
            let restored = DriverAvailability::restore(state.clone().into_record());
            prop_assert_eq!(restored, Ok(state.clone()));
            let expected = match (state.is_online, state.is_available_for_trips) {
                (false, _) => AvailabilityStatus::Offline,
                (true, true) => AvailabilityStatus::Available,
                (true, false) => AvailabilityStatus::Busy,
            };
            prop_assert_eq!(state.status(), expected);
        }
    }
}
