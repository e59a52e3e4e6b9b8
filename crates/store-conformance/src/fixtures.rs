//! Values the cases build on: a fixed clock at microsecond precision (what PostgreSQL keeps),
//! fresh users and sessions, real places in Havana, and driver states reached through the
//! domain's own rules.

use rodando_domain::availability::{DriverAvailability, LocationFix, StatusCommand, TripStanding};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{DriverId, PassengerId, SessionId, UserId};
use rodando_domain::session::{DeviceInfo, Session, SessionType};
use rodando_domain::user::{
    AppAudience, Email, PasswordHash, PersonName, PhoneNumber, User, UserStatus, UserType,
};
use rodando_ports::availability::{CasError, Versioned};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Ports;

/// The cases' "now": microseconds, the precision a timestamp keeps in PostgreSQL.
pub const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00.123456 UTC);

/// `T0` plus whole seconds.
pub fn at(seconds: i64) -> OffsetDateTime {
    T0 + Duration::seconds(seconds)
}

/// A new user of `user_type` with a unique e-mail, a unique phone number and nothing in common
/// with any other user.
pub fn new_user(user_type: UserType) -> User {
    let id = Uuid::new_v4();
    let digits = id.as_u128() % 10_000_000_000;
    User {
        id: UserId::from_uuid(id),
        email: parse(Email::parse(&format!("u-{}@rodando.test", id.simple()))),
        phone: Some(parse(PhoneNumber::parse(&format!("+53{digits:010}")))),
        name: parse(PersonName::parse("Ana Pérez")),
        user_type,
        status: UserStatus::Active,
        password_hash: PasswordHash::from_phc(format!(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${id}"
        )),
        created_at: T0 - Duration::days(3) + Duration::microseconds(7),
    }
}

/// Inserts a new driver (availability rows belong to a user) and returns its id.
pub async fn new_driver(ports: &Ports) -> DriverId {
    let user = new_user(UserType::Driver);
    if let Err(e) = ports.users.insert(&user).await {
        panic!("inserting a driver failed: {e}");
    }
    DriverId::from_uuid(user.id.as_uuid())
}

/// Inserts a new passenger (trips belong to a user) and returns its id.
pub async fn new_passenger(ports: &Ports) -> PassengerId {
    let user = new_user(UserType::Passenger);
    if let Err(e) = ports.users.insert(&user).await {
        panic!("inserting a passenger failed: {e}");
    }
    PassengerId::from_uuid(user.id.as_uuid())
}

/// A live session of `user`, opened at `T0`.
pub fn new_session(user: impl Into<UserId>) -> Session {
    Session {
        id: SessionId::from_uuid(Uuid::new_v4()),
        user_id: user.into(),
        session_type: SessionType::MobileApp,
        app_audience: AppAudience::DriverApp,
        access_expires_at: at(15 * 60),
        refresh_expires_at: T0 + Duration::days(7),
        refresh_jti: Uuid::new_v4(),
        revoked_at: None,
        revoke_reason: None,
        last_activity_at: T0,
        device_info: DeviceInfo::sanitize("Pixel 8 / Android 15 / rodando-driver 1.4.2"),
        created_at: T0,
    }
}

/// Inserts a new passenger with one session and returns the session.
pub async fn new_stored_session(ports: &Ports) -> Session {
    let user = new_user(UserType::Passenger);
    if let Err(e) = ports.users.insert(&user).await {
        panic!("inserting a passenger failed: {e}");
    }
    let session = new_session(user.id);
    if let Err(e) = ports.sessions.insert(&session).await {
        panic!("inserting a session failed: {e}");
    }
    session
}

/// Places in Havana (and two further away), as (latitude, longitude).
pub mod havana {
    /// Parque Central: the search origin of the nearest-driver cases.
    pub const PARQUE_CENTRAL: (f64, f64) = (23.1377, -82.3595);
    /// El Capitolio, a few hundred metres away.
    pub const CAPITOLIO: (f64, f64) = (23.1352, -82.3597);
    /// Castillo del Morro, across the bay.
    pub const MORRO: (f64, f64) = (23.1503, -82.3563);
    /// Hotel Nacional, in Vedado.
    pub const HOTEL_NACIONAL: (f64, f64) = (23.1429, -82.3814);
    /// Plaza de la Revolución.
    pub const PLAZA: (f64, f64) = (23.1225, -82.3864);
    /// José Martí airport, some 17 km south.
    pub const AIRPORT: (f64, f64) = (22.9892, -82.4091);
    /// Varadero, some 115 km east.
    pub const VARADERO: (f64, f64) = (23.1540, -81.2448);
}

/// A point from (latitude, longitude).
pub fn point((lat, lon): (f64, f64)) -> GeoPoint {
    parse(GeoPoint::from_degrees(lat, lon))
}

/// A location fix at `place`, reported without a device time.
pub fn fix(place: (f64, f64)) -> LocationFix {
    LocationFix {
        point: point(place),
        accuracy_m: Some(5.0),
        heading_deg: None,
        speed_kph: None,
        recorded_at: None,
    }
}

/// Loads the driver's availability (creating it), applies `rule` and stores the result with a
/// compare-and-set that must succeed. Returns what was stored.
pub async fn apply(
    ports: &Ports,
    driver: DriverId,
    now: OffsetDateTime,
    rule: impl FnOnce(&DriverAvailability) -> DriverAvailability,
) -> Versioned {
    let current = ok(ports.availability.load_or_create(driver, now).await);
    let next = rule(&current.state);
    match ports
        .availability
        .compare_and_set(current.version, &next)
        .await
    {
        Ok(version) => Versioned {
            state: next,
            version,
        },
        Err(e) => panic!("compare-and-set of {driver} failed: {e:?}"),
    }
}

/// `driver:status:update` as a rule for [`apply`], sent over a socket (so the driver is also
/// connected, as the socket adapter records on admission).
pub fn status(
    command: StatusCommand,
    now: OffsetDateTime,
) -> impl FnOnce(&DriverAvailability) -> DriverAvailability {
    move |s| match s.set_status(command, TripStanding::External, now) {
        Ok(next) => next.connect(now),
        Err(e) => panic!("{command:?} refused: {e}"),
    }
}

/// `driver` sends `driver:status:update` `command` at `now` (the rule [`status`] through
/// [`apply`]); returns what was stored.
pub async fn set_status(
    ports: &Ports,
    driver: DriverId,
    command: StatusCommand,
    now: OffsetDateTime,
) -> Versioned {
    apply(ports, driver, now, status(command, now)).await
}

/// A new driver that sent `command` at `now`.
pub async fn driver_in(ports: &Ports, command: StatusCommand, now: OffsetDateTime) -> DriverId {
    let driver = new_driver(ports).await;
    set_status(ports, driver, command, now).await;
    driver
}

/// A driver that went AVAILABLE at `now` and pinged from `place`.
pub async fn available_driver_at(
    ports: &Ports,
    place: (f64, f64),
    now: OffsetDateTime,
) -> DriverId {
    let driver = driver_in(ports, StatusCommand::Available, now).await;
    apply(ports, driver, now, |s| s.record_location(&fix(place), now)).await;
    driver
}

/// A driver dispatch may offer a trip to: available, connected, located at the Capitolio at
/// `T0`.
pub async fn free_driver(ports: &Ports) -> DriverId {
    available_driver_at(ports, havana::CAPITOLIO, T0).await
}

/// Whether the port's answer is a compare-and-set conflict of the expected kind.
pub fn is_stale(result: &Result<u64, CasError>) -> bool {
    matches!(result, Err(CasError::Stale))
}

/// Unwraps a store call, naming what failed.
pub fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("store call failed: {e:?}"),
    }
}

fn parse<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("bad fixture: {e:?}"),
    }
}
