//! Fixtures shared by the use-case tests.
#![allow(dead_code)]

use std::sync::Arc;

use rodando_domain::fare::{Cents, FareConfig};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{AdminId, DriverId, PassengerId, SessionId, TripId, UserId};
use rodando_domain::offer::Offer;
use rodando_domain::session::{Session, SessionType};
use rodando_domain::trip::{Actor, PaymentMethod, Place, Trip, TripStatus};
use rodando_domain::user::{
    AppAudience, Email, PasswordHash, PersonName, User, UserStatus, UserType,
};
use rodando_ports::clock::MockClock;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 UTC);

/// `pending` moved along the main path of the trip table (assigning, accepted by `driver`,
/// arriving, in progress, completed) until it is `status`; the way a stored trip got there.
pub fn walked_to(pending: Trip, status: TripStatus, driver: DriverId) -> Trip {
    let by = Actor::Driver(driver);
    let mut t = pending;
    while t.status() != status {
        t = match t.status() {
            TripStatus::Pending => t.start_assigning(),
            TripStatus::Assigning => t.accept(driver, NOW),
            TripStatus::Accepted => t.begin_arriving(),
            TripStatus::Arriving => t.start(by, NOW),
            TripStatus::InProgress => t.complete(by, Cents(700), NOW),
            s => panic!("{} is not on the way to {}", s.as_str(), status.as_str()),
        }
        .unwrap();
    }
    t
}

/// A place at latitude `lat` on the meridian -82.36 (Havana).
pub fn place(lat: f64) -> Place {
    Place::new(GeoPoint::from_degrees(lat, -82.36).unwrap(), None).unwrap()
}

/// Trip 7 of `passenger` (23.10 to 23.12, cash, 7.00), walked to `status` with `driver`.
pub fn trip_7(passenger: PassengerId, status: TripStatus, driver: DriverId) -> Trip {
    let pending = Trip::request(
        TripId::from_uuid(Uuid::from_u128(0x7)),
        passenger,
        place(23.10),
        place(23.12),
        PaymentMethod::Cash,
        Cents(700),
        FareConfig::default().currency,
        NOW,
    );
    walked_to(pending, status, driver)
}

/// A cash trip request from 23.10 to 23.12 on the meridian of [`place`].
pub fn trip_request() -> rodando_application::trips::TripRequest {
    rodando_application::trips::TripRequest {
        pickup: place(23.1),
        dropoff: place(23.12),
        payment_method: PaymentMethod::Cash,
    }
}

/// The open offer `n` of `trip` to `driver`, `distance_m` away, made at [`NOW`] for 20 s.
pub fn open_offer(n: u128, trip: TripId, driver: DriverId, distance_m: f64) -> Offer {
    Offer::new(
        rodando_domain::ids::OfferId::from_uuid(Uuid::from_u128(n)),
        trip,
        driver,
        distance_m,
        NOW,
        Duration::seconds(20),
    )
}

pub fn user_id() -> UserId {
    UserId::from_uuid(Uuid::from_u128(0xa11ce))
}

/// [`user_id`] as the driver it is in the availability tests.
pub fn driver_id() -> DriverId {
    DriverId::from_uuid(user_id().as_uuid())
}

/// [`user_id`] as a passenger.
pub fn passenger_id() -> PassengerId {
    PassengerId::from_uuid(user_id().as_uuid())
}

/// [`user_id`] as an operator.
pub fn admin_id() -> AdminId {
    AdminId::from_uuid(user_id().as_uuid())
}

pub fn session_id() -> SessionId {
    SessionId::from_uuid(Uuid::from_u128(0x5e55))
}

pub fn user(user_type: UserType, status: UserStatus) -> User {
    User {
        id: user_id(),
        email: Email::parse("alice@rodando.local").unwrap(),
        phone: None,
        name: PersonName::parse("Alice").unwrap(),
        user_type,
        status,
        password_hash: PasswordHash::from_phc("real-hash".into()),
        created_at: NOW,
    }
}

pub fn session(jti: Uuid) -> Session {
    Session {
        id: session_id(),
        user_id: user_id(),
        session_type: SessionType::MobileApp,
        app_audience: AppAudience::DriverApp,
        access_expires_at: NOW + Duration::minutes(15),
        refresh_expires_at: NOW + Duration::days(7),
        refresh_jti: jti,
        revoked_at: None,
        revoke_reason: None,
        last_activity_at: NOW,
        device_info: None,
        created_at: NOW,
    }
}

/// The claims of a valid access token of [`user_id`] (a driver) and [`session_id`].
pub fn access_claims() -> rodando_ports::tokens::AccessClaims {
    rodando_ports::tokens::AccessClaims {
        grant: rodando_ports::tokens::AccessGrant {
            user_id: user_id(),
            session_id: session_id(),
            user_type: UserType::Driver,
            audience: AppAudience::DriverApp,
            email: None,
            phone_number: None,
        },
        issued_at: NOW,
        expires_at: NOW + Duration::minutes(15),
    }
}

pub fn clock() -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(NOW);
    clock
}

/// A notifier that accepts everything (for tests about stored outcomes, not pushes).
pub struct NullNotifier;

#[async_trait::async_trait]
impl rodando_ports::notifier::Notifier for NullNotifier {
    async fn driver_availability_changed(
        &self,
        _: &rodando_domain::availability::DriverAvailability,
    ) -> Result<(), rodando_ports::Unexpected> {
        Ok(())
    }
    async fn driver_location_changed(
        &self,
        _: &rodando_domain::availability::DriverAvailability,
    ) -> Result<(), rodando_ports::Unexpected> {
        Ok(())
    }
    async fn driver_trip_changed(
        &self,
        _: &rodando_domain::availability::DriverAvailability,
    ) -> Result<(), rodando_ports::Unexpected> {
        Ok(())
    }
    async fn session_revoked(
        &self,
        _: SessionId,
        _: rodando_domain::session::RevokeReason,
    ) -> Result<(), rodando_ports::Unexpected> {
        Ok(())
    }
    async fn session_refreshed(
        &self,
        _: SessionId,
        _: OffsetDateTime,
    ) -> Result<(), rodando_ports::Unexpected> {
        Ok(())
    }
    async fn trip_event(
        &self,
        _: rodando_ports::notifier::TripAudience,
        _: u64,
        _: &rodando_ports::notifier::TripEvent,
    ) -> Result<(), rodando_ports::Unexpected> {
        Ok(())
    }
    async fn notify(
        &self,
        _: SessionId,
        _: &rodando_ports::notifier::Notification,
    ) -> Result<(), rodando_ports::Unexpected> {
        Ok(())
    }
    async fn driver_en_route(
        &self,
        _: rodando_ports::notifier::TripAudience,
        _: &rodando_ports::notifier::EnRoute,
    ) -> Result<(), rodando_ports::Unexpected> {
        Ok(())
    }
}

/// A trip service over mocked ports at [`NOW`], with the default dispatch policy and fares and a
/// two-minute presence TTL: what the mocked trip tests build.
pub fn mocked_trips(
    trips: rodando_ports::trips::MockTripRepository,
    availability: rodando_ports::availability::MockAvailabilityRepository,
    users: rodando_ports::users::MockUserRepository,
    notifier: rodando_ports::notifier::MockNotifier,
) -> rodando_application::trips::TripService {
    rodando_application::trips::TripService::new(
        Arc::new(trips),
        Arc::new(availability),
        Arc::new(users),
        Arc::new(notifier),
        Arc::new(clock()),
        rodando_domain::dispatch::DispatchPolicy::default(),
        FareConfig::default(),
        Duration::minutes(2),
    )
}

/// A node's trip service over the in-memory `store` (trips through `trips`: the store or a
/// wrapper of it), pushing nowhere, on `clock` with `policy`; default fares, two-minute TTL.
pub fn memory_trips(
    trips: Arc<dyn rodando_ports::trips::TripRepository>,
    store: &Arc<rodando_adapter_memory::MemoryStore>,
    clock: Arc<dyn rodando_ports::clock::Clock>,
    policy: rodando_domain::dispatch::DispatchPolicy,
) -> rodando_application::trips::TripService {
    rodando_application::trips::TripService::new(
        trips,
        store.clone(),
        store.clone(),
        Arc::new(NullNotifier),
        clock,
        policy,
        FareConfig::default(),
        Duration::minutes(2),
    )
}

/// The availability service over the in-memory `store`, pushing nowhere, on `clock`.
pub fn memory_availability(
    store: &Arc<rodando_adapter_memory::MemoryStore>,
    clock: Arc<dyn rodando_ports::clock::Clock>,
) -> rodando_application::availability::AvailabilityService {
    rodando_application::availability::AvailabilityService::new(
        store.clone(),
        store.clone(),
        Arc::new(NullNotifier),
        clock,
    )
}

/// Makes `driver` a candidate through the use cases, as its app would: a socket admitted,
/// AVAILABLE, one ping at (`latitude`, `longitude`).
pub async fn online_driver_at(
    availability: &rodando_application::availability::AvailabilityService,
    driver: rodando_domain::ids::DriverId,
    latitude: f64,
    longitude: f64,
) {
    availability.driver_connected(driver).await.unwrap();
    availability
        .update_status(
            driver,
            rodando_domain::availability::StatusCommand::Available,
        )
        .await
        .unwrap();
    let fix = rodando_domain::availability::LocationFix {
        point: rodando_domain::geo::GeoPoint::from_degrees(latitude, longitude).unwrap(),
        accuracy_m: None,
        heading_deg: None,
        speed_kph: None,
        recorded_at: None,
    };
    availability.ping_location(driver, fix).await.unwrap();
}
