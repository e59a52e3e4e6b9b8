//! Availability use cases against mocked ports: store → notify, only when something changed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use std::sync::Arc;

use rodando_application::availability::{AvailabilityError, AvailabilityService};
use rodando_domain::availability::{
    DriverAvailability, LocationFix, RuleViolation, StatusCommand, TripStanding,
};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::TripId;
use rodando_ports::Unexpected;
use rodando_ports::availability::{CasError, MockAvailabilityRepository, Pinged, Versioned};
use rodando_ports::notifier::MockNotifier;
use rodando_ports::trips::MockTripStandingLookup;
use support::*;
use uuid::Uuid;

fn offline() -> Versioned {
    Versioned {
        state: DriverAvailability::new_offline(driver_id(), NOW),
        version: 3,
    }
}

fn available() -> Versioned {
    Versioned {
        state: offline()
            .state
            .set_status(StatusCommand::Available, TripStanding::External, NOW)
            .unwrap(),
        version: 4,
    }
}

fn service(
    repo: MockAvailabilityRepository,
    trips: MockTripStandingLookup,
    notifier: MockNotifier,
) -> AvailabilityService {
    AvailabilityService::new(
        Arc::new(repo),
        Arc::new(trips),
        Arc::new(notifier),
        Arc::new(clock()),
    )
}

fn fix() -> LocationFix {
    LocationFix {
        point: GeoPoint::from_degrees(23.1, -82.3).unwrap(),
        accuracy_m: None,
        heading_deg: None,
        speed_kph: None,
        recorded_at: None,
    }
}

#[tokio::test]
async fn a_status_change_is_stored_at_the_loaded_version_then_broadcast_once() {
    let mut repo = MockAvailabilityRepository::new();
    repo.expect_load_or_create().returning(|_, _| Ok(offline()));
    repo.expect_compare_and_set()
        .withf(|v, next| *v == 3 && next.is_available_for_trips)
        .times(1)
        .returning(|_, _| Ok(4));
    let mut notifier = MockNotifier::new();
    notifier
        .expect_driver_availability_changed()
        .withf(|s| s.is_online)
        .times(1)
        .returning(|_| Ok(()));
    let out = service(repo, MockTripStandingLookup::new(), notifier)
        .update_status(driver_id(), StatusCommand::Available)
        .await
        .unwrap();
    assert!(out.is_available_for_trips);
}

#[tokio::test]
async fn an_unchanged_state_writes_nothing_and_broadcasts_nothing() {
    let mut repo = MockAvailabilityRepository::new();
    repo.expect_load_or_create()
        .returning(|_, _| Ok(available()));
    repo.expect_compare_and_set().never();
    let mut notifier = MockNotifier::new();
    notifier.expect_driver_availability_changed().never();
    service(repo, MockTripStandingLookup::new(), notifier)
        .update_status(driver_id(), StatusCommand::Available)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_store_failure_is_internal_and_nothing_is_broadcast() {
    let mut repo = MockAvailabilityRepository::new();
    repo.expect_load_or_create().returning(|_, _| Ok(offline()));
    repo.expect_compare_and_set()
        .returning(|_, _| Err(CasError::Unexpected(Unexpected::msg("disk full"))));
    let mut notifier = MockNotifier::new();
    notifier.expect_driver_availability_changed().never();
    let err = service(repo, MockTripStandingLookup::new(), notifier)
        .update_status(driver_id(), StatusCommand::Busy)
        .await
        .unwrap_err();
    assert!(matches!(err, AvailabilityError::Unexpected(_)));
}

#[tokio::test]
async fn a_lost_race_reloads_and_applies_again() {
    let mut repo = MockAvailabilityRepository::new();
    let mut seq = mockall::Sequence::new();
    repo.expect_load_or_create()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(offline()));
    repo.expect_compare_and_set()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Err(CasError::Stale));
    repo.expect_load_or_create()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(available()));
    repo.expect_compare_and_set()
        .withf(|v, next| *v == 4 && next.availability_reason.is_some())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(5));
    let mut notifier = MockNotifier::new();
    notifier
        .expect_driver_availability_changed()
        .times(1)
        .returning(|_| Ok(()));
    let out = service(repo, MockTripStandingLookup::new(), notifier)
        .update_status(driver_id(), StatusCommand::Busy)
        .await
        .unwrap();
    assert!(
        out.is_online && !out.is_available_for_trips,
        "applied again to the reloaded state"
    );
}

/// A ping is handed to the store whole (it may write it behind); the use case broadcasts what
/// the store says changed.
#[tokio::test]
async fn a_ping_broadcasts_only_the_location() {
    let mut repo = MockAvailabilityRepository::new();
    repo.expect_record_location()
        .withf(|_, fix, now| *fix == self::fix() && *now == NOW)
        .times(1)
        .returning(|_, fix, now| {
            let before = available().state;
            let after = before.record_location(fix, now);
            Ok(Pinged { before, after })
        });
    repo.expect_load_or_create().never();
    repo.expect_compare_and_set().never();
    let mut notifier = MockNotifier::new();
    notifier
        .expect_driver_location_changed()
        .withf(|next| next.last_location.is_some() && next.is_available_for_trips)
        .times(1)
        .returning(|_| Ok(()));
    notifier.expect_driver_availability_changed().never();
    notifier.expect_driver_trip_changed().never();
    let out = service(repo, MockTripStandingLookup::new(), notifier)
        .ping_location(driver_id(), fix())
        .await
        .unwrap();
    assert!(out.last_location.is_some());
}

#[tokio::test]
async fn a_ping_the_store_cannot_accept_fails_and_nothing_is_broadcast() {
    let mut repo = MockAvailabilityRepository::new();
    repo.expect_record_location()
        .returning(|_, _, _| Err(Unexpected::msg("PostgreSQL down, driver never seen")));
    let mut notifier = MockNotifier::new();
    notifier.expect_driver_location_changed().never();
    let err = service(repo, MockTripStandingLookup::new(), notifier)
        .ping_location(driver_id(), fix())
        .await
        .unwrap_err();
    assert!(matches!(err, AvailabilityError::Unexpected(_)));
}

#[tokio::test]
async fn offline_during_an_active_dispatched_trip_is_refused_without_writing() {
    let trip = TripId::from_uuid(Uuid::from_u128(9));
    let on_trip = Versioned {
        state: available()
            .state
            .set_trip(trip, TripStanding::External, TripStanding::External, NOW)
            .unwrap(),
        version: 5,
    };
    let mut repo = MockAvailabilityRepository::new();
    repo.expect_load_or_create()
        .returning(move |_, _| Ok(on_trip.clone()));
    repo.expect_compare_and_set().never();
    let mut trips = MockTripStandingLookup::new();
    trips.expect_standing().returning(|_| {
        Ok(TripStanding::Dispatched {
            assigned_to: Some(driver_id()),
            active: true,
        })
    });
    let err = service(repo, trips, MockNotifier::new())
        .update_status(driver_id(), StatusCommand::Offline)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        AvailabilityError::Rule(RuleViolation::OnTrip)
    ));
}

#[tokio::test]
async fn a_trip_held_by_another_driver_is_a_conflict_not_a_broadcast() {
    let mut repo = MockAvailabilityRepository::new();
    repo.expect_load_or_create()
        .returning(|_, _| Ok(available()));
    repo.expect_compare_and_set()
        .returning(|_, _| Err(CasError::TripHeldByAnother));
    let mut trips = MockTripStandingLookup::new();
    trips
        .expect_standing()
        .returning(|_| Ok(TripStanding::External));
    let mut notifier = MockNotifier::new();
    notifier.expect_driver_trip_changed().never();
    let err = service(repo, trips, notifier)
        .set_trip(driver_id(), Some(TripId::from_uuid(Uuid::from_u128(1))))
        .await
        .unwrap_err();
    assert!(matches!(err, AvailabilityError::TripHeldByAnother));
}

#[tokio::test]
async fn setting_a_trip_broadcasts_a_trip_update() {
    let mut repo = MockAvailabilityRepository::new();
    repo.expect_load_or_create()
        .returning(|_, _| Ok(available()));
    repo.expect_compare_and_set().returning(|_, _| Ok(5));
    let mut trips = MockTripStandingLookup::new();
    trips
        .expect_standing()
        .returning(|_| Ok(TripStanding::External));
    let mut notifier = MockNotifier::new();
    notifier
        .expect_driver_trip_changed()
        .times(1)
        .returning(|_| Ok(()));
    let out = service(repo, trips, notifier)
        .set_trip(driver_id(), Some(TripId::from_uuid(Uuid::from_u128(1))))
        .await
        .unwrap();
    assert!(out.current_trip_id.is_some());
}
