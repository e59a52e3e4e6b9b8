//! Store latency for `GET /metrics` (PROTOCOL §2): a decorator that times every repository
//! call, whichever store is behind it, into the `rodando_store_duration_seconds` histogram
//! labelled by operation. Measuring at the port boundary keeps both stores uninstrumented and
//! measures exactly what the use cases wait for.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use async_trait::async_trait;
use metrics::Histogram;
use rodando_domain::availability::{DriverAvailability, LocationFix, TripStanding};
use rodando_domain::dispatch::Candidate;
use rodando_domain::ids::{DriverId, OfferId, PassengerId, SessionId, TripId, UserId};
use rodando_domain::offer::Offer;
use rodando_domain::session::{RevokeReason, Session};
use rodando_domain::trip::Trip;
use rodando_domain::trip_list::TripListQuery;
use rodando_domain::user::{Email, PhoneNumber, User, UserStatus};
use rodando_ports::Unexpected;
use rodando_ports::availability::{
    AvailabilityRepository, CasError, NearestQuery, Pinged, Versioned,
};
use rodando_ports::health::HealthCheck;
use rodando_ports::sessions::{RotateOutcome, Rotation, SessionRepository};
use rodando_ports::trips::{
    Applied, CreateTripError, DispatchConflict, DispatchWrite, Idempotency, TripRepository,
    TripStandingLookup, UnattendedQuery, UnattendedTrip,
};
use rodando_ports::users::{InsertUserError, UserRepository};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Seconds each store operation took, by operation.
pub const STORE_SECONDS: &str = "rodando_store_duration_seconds";

/// A store whose every call is timed.
pub struct Timed<S>(pub Arc<S>);

/// Awaits `call` and records how long it took into `series`.
async fn timed<T>(series: &Histogram, call: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = call.await;
    series.record(started.elapsed().as_secs_f64());
    out
}

/// The histogram of one operation. Each method registers its own once (a `static` in the
/// method): `histogram!` with a label builds and looks up a labelled key at every call, two
/// allocations per store call and so per ping. The recorder is installed first, so a store
/// used before the app is built (the demo seeding) does not keep a handle that records nowhere.
fn series(operation: &'static str) -> Histogram {
    crate::metrics::handle();
    metrics::histogram!(STORE_SECONDS, "operation" => operation)
}

/// `impl Port for Timed<S>` where every method awaits the inner store's method of the same name
/// under `timed`, recorded as operation `<group>.<method>`: one line per method, the signature as
/// the port has it.
macro_rules! timed_port {
    (
        $port:ident, $group:literal,
        $(fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*
    ) => {
        #[async_trait]
        impl<S: $port> $port for Timed<S> {
            $(
                async fn $method(&self $(, $arg: $ty)*) -> $ret {
                    static SERIES: OnceLock<Histogram> = OnceLock::new();
                    let operation = concat!($group, ".", stringify!($method));
                    let series = SERIES.get_or_init(|| series(operation));
                    timed(series, self.0.$method($($arg),*)).await
                }
            )*
        }
    };
}

timed_port! {
    UserRepository, "users",
    fn find_by_id(&self, id: UserId) -> Result<Option<User>, Unexpected>;
    fn find_by_email(&self, email: &Email) -> Result<Option<User>, Unexpected>;
    fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, Unexpected>;
    fn insert(&self, user: &User) -> Result<(), InsertUserError>;
    fn set_status(&self, id: UserId, status: UserStatus) -> Result<bool, Unexpected>;
}

timed_port! {
    SessionRepository, "sessions",
    fn insert(&self, session: &Session) -> Result<(), Unexpected>;
    fn find(&self, id: SessionId) -> Result<Option<Session>, Unexpected>;
    fn rotate(&self, id: SessionId, expected_jti: Uuid, rotation: &Rotation)
        -> Result<RotateOutcome, Unexpected>;
    fn revoke(&self, id: SessionId, reason: RevokeReason, at: OffsetDateTime)
        -> Result<bool, Unexpected>;
    fn extend_access(&self, id: SessionId, access_expires_at: OffsetDateTime, at: OffsetDateTime)
        -> Result<bool, Unexpected>;
    fn live_sessions_of(&self, user: UserId, now: OffsetDateTime)
        -> Result<Vec<SessionId>, Unexpected>;
}

timed_port! {
    AvailabilityRepository, "availability",
    fn load_or_create(&self, driver: DriverId, now: OffsetDateTime)
        -> Result<Versioned, Unexpected>;
    fn find(&self, driver: DriverId) -> Result<Option<Versioned>, Unexpected>;
    fn compare_and_set(&self, expected_version: u64, next: &DriverAvailability)
        -> Result<u64, CasError>;
    fn list_stale(&self, now: OffsetDateTime, ttl: Duration, limit: usize)
        -> Result<Vec<Versioned>, Unexpected>;
    fn nearest_available(&self, query: &NearestQuery) -> Result<Vec<Candidate>, Unexpected>;
    fn list_online(&self) -> Result<Vec<DriverAvailability>, Unexpected>;
    fn record_location(&self, driver: DriverId, fix: &LocationFix, now: OffsetDateTime)
        -> Result<Pinged, Unexpected>;
    fn flush(&self) -> Result<(), Unexpected>;
}

timed_port! {
    TripStandingLookup, "trips",
    fn standing(&self, trip: TripId) -> Result<TripStanding, Unexpected>;
}

timed_port! {
    TripRepository, "trips",
    fn create(&self, trip: &Trip, idempotency: Option<Idempotency>)
        -> Result<Trip, CreateTripError>;
    fn find(&self, id: TripId) -> Result<Option<Trip>, Unexpected>;
    fn active_for_passenger(&self, passenger: PassengerId) -> Result<Option<Trip>, Unexpected>;
    fn list(&self, query: &TripListQuery) -> Result<Vec<Trip>, Unexpected>;
    fn find_offer(&self, id: OfferId) -> Result<Option<Offer>, Unexpected>;
    fn offers_for_trip(&self, trip: TripId) -> Result<Vec<Offer>, Unexpected>;
    fn open_offer_of(&self, driver: DriverId) -> Result<Option<Offer>, Unexpected>;
    fn unattended(&self, query: &UnattendedQuery) -> Result<Vec<UnattendedTrip>, Unexpected>;
    fn now(&self) -> Result<OffsetDateTime, Unexpected>;
    fn due_offers(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Offer>, Unexpected>;
    fn apply(&self, write: &DispatchWrite) -> Result<Applied, DispatchConflict>;
}

#[async_trait]
impl<S: HealthCheck> HealthCheck for Timed<S> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    async fn check(&self) -> Result<(), Unexpected> {
        self.0.check().await
    }
}
