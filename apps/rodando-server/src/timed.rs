//! Store latency for `GET /metrics` (PROTOCOL §2): a decorator that times every repository
//! call, whichever store is behind it, into the `rodando_store_duration_seconds` histogram
//! labelled by operation. Measuring at the port boundary keeps both stores uninstrumented and
//! measures exactly what the use cases wait for.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
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
    TripStandingLookup, UnattendedTrip,
};
use rodando_ports::users::{InsertUserError, UserRepository};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Seconds each store operation took, by operation.
pub const STORE_SECONDS: &str = "rodando_store_duration_seconds";

/// A store whose every call is timed.
pub struct Timed<S>(pub Arc<S>);

/// Awaits `call` and records how long it took under `operation`.
async fn timed<T>(operation: &'static str, call: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = call.await;
    metrics::histogram!(STORE_SECONDS, "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    out
}

#[async_trait]
impl<S: UserRepository> UserRepository for Timed<S> {
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, Unexpected> {
        timed("users.find_by_id", self.0.find_by_id(id)).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, Unexpected> {
        timed("users.find_by_email", self.0.find_by_email(email)).await
    }

    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, Unexpected> {
        timed("users.find_by_phone", self.0.find_by_phone(phone)).await
    }

    async fn insert(&self, user: &User) -> Result<(), InsertUserError> {
        timed("users.insert", self.0.insert(user)).await
    }

    async fn set_status(&self, id: UserId, status: UserStatus) -> Result<bool, Unexpected> {
        timed("users.set_status", self.0.set_status(id, status)).await
    }
}

#[async_trait]
impl<S: SessionRepository> SessionRepository for Timed<S> {
    async fn insert(&self, session: &Session) -> Result<(), Unexpected> {
        timed("sessions.insert", self.0.insert(session)).await
    }

    async fn find(&self, id: SessionId) -> Result<Option<Session>, Unexpected> {
        timed("sessions.find", self.0.find(id)).await
    }

    async fn rotate(
        &self,
        id: SessionId,
        expected_jti: Uuid,
        rotation: &Rotation,
    ) -> Result<RotateOutcome, Unexpected> {
        timed("sessions.rotate", self.0.rotate(id, expected_jti, rotation)).await
    }

    async fn revoke(
        &self,
        id: SessionId,
        reason: RevokeReason,
        at: OffsetDateTime,
    ) -> Result<bool, Unexpected> {
        timed("sessions.revoke", self.0.revoke(id, reason, at)).await
    }

    async fn extend_access(
        &self,
        id: SessionId,
        access_expires_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<bool, Unexpected> {
        timed(
            "sessions.extend_access",
            self.0.extend_access(id, access_expires_at, at),
        )
        .await
    }

    async fn live_sessions_of(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, Unexpected> {
        timed(
            "sessions.live_sessions_of",
            self.0.live_sessions_of(user, now),
        )
        .await
    }
}

#[async_trait]
impl<S: AvailabilityRepository> AvailabilityRepository for Timed<S> {
    async fn load_or_create(
        &self,
        driver: DriverId,
        now: OffsetDateTime,
    ) -> Result<Versioned, Unexpected> {
        timed(
            "availability.load_or_create",
            self.0.load_or_create(driver, now),
        )
        .await
    }

    async fn find(&self, driver: DriverId) -> Result<Option<Versioned>, Unexpected> {
        timed("availability.find", self.0.find(driver)).await
    }

    async fn compare_and_set(
        &self,
        expected_version: u64,
        next: &DriverAvailability,
    ) -> Result<u64, CasError> {
        timed(
            "availability.compare_and_set",
            self.0.compare_and_set(expected_version, next),
        )
        .await
    }

    async fn list_stale(
        &self,
        now: OffsetDateTime,
        ttl: Duration,
        limit: usize,
    ) -> Result<Vec<Versioned>, Unexpected> {
        timed(
            "availability.list_stale",
            self.0.list_stale(now, ttl, limit),
        )
        .await
    }

    async fn nearest_available(&self, query: &NearestQuery) -> Result<Vec<Candidate>, Unexpected> {
        timed(
            "availability.nearest_available",
            self.0.nearest_available(query),
        )
        .await
    }

    async fn list_online(&self) -> Result<Vec<DriverAvailability>, Unexpected> {
        timed("availability.list_online", self.0.list_online()).await
    }

    async fn record_location(
        &self,
        driver: DriverId,
        fix: &LocationFix,
        now: OffsetDateTime,
    ) -> Result<Pinged, Unexpected> {
        timed(
            "availability.record_location",
            self.0.record_location(driver, fix, now),
        )
        .await
    }

    async fn flush(&self) -> Result<(), Unexpected> {
        timed("availability.flush", self.0.flush()).await
    }
}

#[async_trait]
impl<S: TripStandingLookup> TripStandingLookup for Timed<S> {
    async fn standing(&self, trip: TripId) -> Result<TripStanding, Unexpected> {
        timed("trips.standing", self.0.standing(trip)).await
    }
}

#[async_trait]
impl<S: TripRepository> TripRepository for Timed<S> {
    async fn create(
        &self,
        trip: &Trip,
        idempotency: Option<Idempotency>,
    ) -> Result<Trip, CreateTripError> {
        timed("trips.create", self.0.create(trip, idempotency)).await
    }

    async fn find(&self, id: TripId) -> Result<Option<Trip>, Unexpected> {
        timed("trips.find", self.0.find(id)).await
    }

    async fn active_for_passenger(
        &self,
        passenger: PassengerId,
    ) -> Result<Option<Trip>, Unexpected> {
        timed(
            "trips.active_for_passenger",
            self.0.active_for_passenger(passenger),
        )
        .await
    }

    async fn list(&self, query: &TripListQuery) -> Result<Vec<Trip>, Unexpected> {
        timed("trips.list", self.0.list(query)).await
    }

    async fn find_offer(&self, id: OfferId) -> Result<Option<Offer>, Unexpected> {
        timed("trips.find_offer", self.0.find_offer(id)).await
    }

    async fn offers_for_trip(&self, trip: TripId) -> Result<Vec<Offer>, Unexpected> {
        timed("trips.offers_for_trip", self.0.offers_for_trip(trip)).await
    }

    async fn open_offer_of(&self, driver: DriverId) -> Result<Option<Offer>, Unexpected> {
        timed("trips.open_offer_of", self.0.open_offer_of(driver)).await
    }

    async fn unattended(
        &self,
        now: OffsetDateTime,
        quiet: time::Duration,
        timeout: time::Duration,
        limit: usize,
    ) -> Result<Vec<UnattendedTrip>, Unexpected> {
        timed(
            "trips.unattended",
            self.0.unattended(now, quiet, timeout, limit),
        )
        .await
    }

    async fn now(&self) -> Result<OffsetDateTime, Unexpected> {
        timed("trips.now", self.0.now()).await
    }

    async fn due_offers(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Offer>, Unexpected> {
        timed("trips.due_offers", self.0.due_offers(now, limit)).await
    }

    async fn apply(&self, write: &DispatchWrite) -> Result<Applied, DispatchConflict> {
        timed("trips.apply", self.0.apply(write)).await
    }
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
