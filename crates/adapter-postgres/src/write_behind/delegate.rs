//! The ports other than availability, passed to the [`PgStore`] unchanged, except that a
//! dispatch write changing a driver keeps the node's copy of that driver in step.

use async_trait::async_trait;
use rodando_domain::availability::TripStanding;
use rodando_domain::ids::{DriverId, OfferId, PassengerId, SessionId, TripId, UserId};
use rodando_domain::offer::Offer;
use rodando_domain::session::{RevokeReason, Session};
use rodando_domain::trip::Trip;
use rodando_domain::trip_list::TripListQuery;
use rodando_domain::user::{Email, PhoneNumber, User, UserStatus};
use rodando_ports::Unexpected;
use rodando_ports::health::HealthCheck;
use rodando_ports::sessions::{RotateOutcome, Rotation, SessionRepository};
use rodando_ports::trips::{
    Applied, CreateTripError, DispatchConflict, DispatchWrite, Idempotency, TripRepository,
    TripStandingLookup, UnattendedQuery, UnattendedTrip,
};
use rodando_ports::users::{InsertUserError, UserRepository};
use time::OffsetDateTime;
use uuid::Uuid;

use super::WriteBehindStore;

#[async_trait]
impl UserRepository for WriteBehindStore {
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, Unexpected> {
        UserRepository::find_by_id(&self.store, id).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, Unexpected> {
        UserRepository::find_by_email(&self.store, email).await
    }

    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, Unexpected> {
        UserRepository::find_by_phone(&self.store, phone).await
    }

    async fn insert(&self, user: &User) -> Result<(), InsertUserError> {
        UserRepository::insert(&self.store, user).await
    }

    async fn set_status(&self, id: UserId, status: UserStatus) -> Result<bool, Unexpected> {
        UserRepository::set_status(&self.store, id, status).await
    }
}

#[async_trait]
impl SessionRepository for WriteBehindStore {
    async fn insert(&self, session: &Session) -> Result<(), Unexpected> {
        SessionRepository::insert(&self.store, session).await
    }

    async fn find(&self, id: SessionId) -> Result<Option<Session>, Unexpected> {
        SessionRepository::find(&self.store, id).await
    }

    async fn rotate(
        &self,
        id: SessionId,
        expected_jti: Uuid,
        rotation: &Rotation,
    ) -> Result<RotateOutcome, Unexpected> {
        SessionRepository::rotate(&self.store, id, expected_jti, rotation).await
    }

    async fn revoke(
        &self,
        id: SessionId,
        reason: RevokeReason,
        at: OffsetDateTime,
    ) -> Result<bool, Unexpected> {
        SessionRepository::revoke(&self.store, id, reason, at).await
    }

    async fn extend_access(
        &self,
        id: SessionId,
        access_expires_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<bool, Unexpected> {
        SessionRepository::extend_access(&self.store, id, access_expires_at, at).await
    }

    async fn live_sessions_of(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, Unexpected> {
        SessionRepository::live_sessions_of(&self.store, user, now).await
    }
}

#[async_trait]
impl TripStandingLookup for WriteBehindStore {
    async fn standing(&self, trip: TripId) -> Result<TripStanding, Unexpected> {
        TripStandingLookup::standing(&self.store, trip).await
    }
}

#[async_trait]
impl TripRepository for WriteBehindStore {
    async fn create(
        &self,
        trip: &Trip,
        idempotency: Option<Idempotency>,
    ) -> Result<Trip, CreateTripError> {
        TripRepository::create(&self.store, trip, idempotency).await
    }

    async fn find(&self, id: TripId) -> Result<Option<Trip>, Unexpected> {
        TripRepository::find(&self.store, id).await
    }

    async fn active_for_passenger(
        &self,
        passenger: PassengerId,
    ) -> Result<Option<Trip>, Unexpected> {
        TripRepository::active_for_passenger(&self.store, passenger).await
    }

    async fn list(&self, query: &TripListQuery) -> Result<Vec<Trip>, Unexpected> {
        TripRepository::list(&self.store, query).await
    }

    async fn find_offer(&self, id: OfferId) -> Result<Option<Offer>, Unexpected> {
        TripRepository::find_offer(&self.store, id).await
    }

    async fn offers_for_trip(&self, trip: TripId) -> Result<Vec<Offer>, Unexpected> {
        TripRepository::offers_for_trip(&self.store, trip).await
    }

    async fn open_offer_of(&self, driver: DriverId) -> Result<Option<Offer>, Unexpected> {
        TripRepository::open_offer_of(&self.store, driver).await
    }

    async fn unattended(&self, query: &UnattendedQuery) -> Result<Vec<UnattendedTrip>, Unexpected> {
        TripRepository::unattended(&self.store, query).await
    }

    async fn now(&self) -> Result<OffsetDateTime, Unexpected> {
        TripRepository::now(&self.store).await
    }

    async fn due_offers(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Offer>, Unexpected> {
        TripRepository::due_offers(&self.store, now, limit).await
    }

    /// A dispatch write that changes a driver's availability keeps this node's copy of the
    /// driver in step (or drops it when the write found the driver changed).
    async fn apply(&self, write: &DispatchWrite) -> Result<Applied, DispatchConflict> {
        let result = TripRepository::apply(&self.store, write).await;
        if let Some(change) = &write.availability {
            match &result {
                Ok(_) => self
                    .buffer
                    .written(&change.next, change.expected_version.saturating_add(1)),
                Err(DispatchConflict::DriverChanged) => {
                    self.buffer.invalidate(change.next.driver_id);
                }
                Err(_) => {}
            }
        }
        result
    }
}

#[async_trait]
impl HealthCheck for WriteBehindStore {
    fn name(&self) -> &'static str {
        HealthCheck::name(&self.store)
    }

    async fn check(&self) -> Result<(), Unexpected> {
        HealthCheck::check(&self.store).await
    }
}
