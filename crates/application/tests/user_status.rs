//! Banning, deactivating and re-activating users against mocked ports: only admins (and the
//! command line) may; a user no longer active has every live session ended through the logout
//! path (`auth:session_revoked`, reason `admin`) and, for a driver, its open offer released.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use std::sync::Arc;

use mockall::predicate::eq;
use rodando_application::Principal;
use rodando_application::auth::AuthService;
use rodando_application::trips::TripService;
use rodando_application::user_status::{
    DRIVER_UNAVAILABLE, Operator, SetStatusError, UserRef, UserStatusService,
};
use rodando_domain::admission::Namespace;
use rodando_domain::dispatch::DispatchPolicy;
use rodando_domain::fare::FareConfig;
use rodando_domain::ids::{SessionId, TripId, UserId};
use rodando_domain::offer::OfferStatus;
use rodando_domain::session::RevokeReason;
use rodando_domain::user::{Email, UserStatus, UserType};
use rodando_ports::availability::MockAvailabilityRepository;
use rodando_ports::notifier::MockNotifier;
use rodando_ports::passwords::MockPasswordHasher;
use rodando_ports::sessions::MockSessionRepository;
use rodando_ports::tokens::MockTokenService;
use rodando_ports::trips::{DispatchConflict, MockTripRepository};
use rodando_ports::users::MockUserRepository;
use support::{NOW, clock, driver_id, open_offer, user, user_id};
use time::Duration;
use uuid::Uuid;

/// The ports behind the service; expectations are set before [`Mocks::service`].
struct Mocks {
    users: MockUserRepository,
    sessions: MockSessionRepository,
    notifier: MockNotifier,
    trips: MockTripRepository,
}

impl Mocks {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            sessions: MockSessionRepository::new(),
            notifier: MockNotifier::new(),
            trips: MockTripRepository::new(),
        }
    }

    fn service(self) -> UserStatusService {
        let users = Arc::new(self.users);
        let sessions = Arc::new(self.sessions);
        let notifier = Arc::new(self.notifier);
        let clock = Arc::new(clock());
        let auth = AuthService::new(
            users.clone(),
            sessions.clone(),
            Arc::new(MockTokenService::new()),
            Arc::new(MockPasswordHasher::new()),
            notifier.clone(),
            clock.clone(),
        );
        let trips = TripService::new(
            Arc::new(self.trips),
            Arc::new(MockAvailabilityRepository::new()),
            users.clone(),
            notifier,
            clock.clone(),
            DispatchPolicy::default(),
            FareConfig::default(),
            Duration::minutes(2),
        );
        UserStatusService::new(users, sessions, auth, trips, clock)
    }

    /// `find_by_id` answers `target` (as stored before the change).
    fn with_user(&mut self, user_type: UserType, status: UserStatus) {
        let stored = user(user_type, status);
        self.users
            .expect_find_by_id()
            .with(eq(user_id()))
            .returning(move |_| Ok(Some(stored.clone())));
    }

    /// `set_status(target, status)` is called exactly once and finds the user.
    fn expect_stored(&mut self, status: UserStatus) {
        self.users
            .expect_set_status()
            .with(eq(user_id()), eq(status))
            .times(1)
            .returning(|_, _| Ok(true));
    }

    /// The user has these live sessions, each revoked and kicked with reason `admin` once.
    fn expect_sessions_ended(&mut self, live: Vec<SessionId>) {
        let listed = live.clone();
        self.sessions
            .expect_live_sessions_of()
            .with(eq(user_id()), eq(NOW))
            .times(1)
            .returning(move |_, _| Ok(listed.clone()));
        for session in live {
            self.sessions
                .expect_revoke()
                .with(eq(session), eq(RevokeReason::Admin), eq(NOW))
                .times(1)
                .returning(|_, _, _| Ok(true));
            self.notifier
                .expect_session_revoked()
                .with(eq(session), eq(RevokeReason::Admin))
                .times(1)
                .returning(|_, _| Ok(()));
        }
    }
}

fn admin() -> Operator {
    principal(UserType::Admin)
}

fn principal(user_type: UserType) -> Operator {
    Operator::User(Principal {
        user_id: UserId::from_uuid(Uuid::from_u128(0xad)),
        user_type,
        session_id: SessionId::from_uuid(Uuid::from_u128(0xad5e)),
        namespace: Namespace::Admin,
        name: "Ops".into(),
        token_expires_at: NOW + Duration::minutes(15),
    })
}

fn session(n: u128) -> SessionId {
    SessionId::from_uuid(Uuid::from_u128(0x5000 + n))
}

fn target() -> UserRef {
    UserRef::Id(user_id())
}

#[tokio::test]
async fn a_driver_or_passenger_may_not_change_anyone_and_nothing_is_read() {
    for user_type in [UserType::Driver, UserType::Passenger] {
        let mut m = Mocks::new();
        m.users.expect_find_by_id().never();
        m.users.expect_set_status().never();
        m.sessions.expect_live_sessions_of().never();

        let refused = m
            .service()
            .set_status(&principal(user_type), &target(), UserStatus::Banned)
            .await;

        assert!(
            matches!(refused, Err(SetStatusError::Forbidden)),
            "{user_type:?}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_non_admin_is_refused_even_for_a_user_that_does_not_exist() {
    let m = Mocks::new();
    let refused = m
        .service()
        .set_status(
            &principal(UserType::Driver),
            &UserRef::Nobody,
            UserStatus::Banned,
        )
        .await;
    assert!(
        matches!(refused, Err(SetStatusError::Forbidden)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn banning_a_driver_ends_every_session_and_releases_its_open_offer_as_unavailable() {
    let mut m = Mocks::new();
    m.with_user(UserType::Driver, UserStatus::Active);
    m.expect_stored(UserStatus::Banned);
    m.expect_sessions_ended(vec![session(1), session(2)]);
    let trip = TripId::from_uuid(Uuid::from_u128(0x7e1));
    let open = open_offer(0x0ff, trip, driver_id(), 300.0);
    m.trips
        .expect_open_offer_of()
        .with(eq(driver_id()))
        .times(1)
        .returning(move |_| Ok(Some(open.clone())));
    m.trips.expect_now().returning(|| Ok(NOW));
    m.trips
        .expect_apply()
        .withf(|w| {
            w.offer.as_ref().is_some_and(|o| {
                o.status() == OfferStatus::Rejected && o.reason() == Some(DRIVER_UNAVAILABLE)
            }) && w.new_offer.is_none()
                && w.availability.is_none()
        })
        .times(1)
        // The driver answered it meanwhile: nothing more to release (how a released offer
        // moves the trip on is dispatch's to test).
        .returning(|_| Err(DispatchConflict::OfferNotOpen));

    let changed = m
        .service()
        .set_status(&admin(), &target(), UserStatus::Banned)
        .await
        .unwrap();

    assert_eq!(changed.user.status, UserStatus::Banned);
    assert_eq!(changed.previous, UserStatus::Active);
    assert_eq!(changed.sessions_ended, 2);
    assert!(!changed.offer_released);
}

#[tokio::test]
async fn deactivating_a_passenger_from_the_command_line_ends_its_sessions_and_touches_no_offer() {
    let mut m = Mocks::new();
    let stored = user(UserType::Passenger, UserStatus::Active);
    let email = stored.email.clone();
    m.users
        .expect_find_by_email()
        .with(eq(email.clone()))
        .times(1)
        .returning(move |_| Ok(Some(stored.clone())));
    m.expect_stored(UserStatus::Inactive);
    m.expect_sessions_ended(vec![session(1)]);
    m.trips.expect_open_offer_of().never();

    let changed = m
        .service()
        .set_status(&Operator::Cli, &UserRef::Email(email), UserStatus::Inactive)
        .await
        .unwrap();

    assert_eq!(changed.user.status, UserStatus::Inactive);
    assert_eq!(changed.sessions_ended, 1);
    assert!(!changed.offer_released);
}

#[tokio::test]
async fn re_activating_stores_the_status_and_ends_nothing() {
    let mut m = Mocks::new();
    m.with_user(UserType::Driver, UserStatus::Banned);
    m.expect_stored(UserStatus::Active);
    m.sessions.expect_live_sessions_of().never();
    m.notifier.expect_session_revoked().never();
    m.trips.expect_open_offer_of().never();

    let changed = m
        .service()
        .set_status(&admin(), &target(), UserStatus::Active)
        .await
        .unwrap();

    assert_eq!(changed.user.status, UserStatus::Active);
    assert_eq!(changed.previous, UserStatus::Banned);
    assert_eq!(changed.sessions_ended, 0);
}

#[tokio::test]
async fn an_unknown_user_is_not_found_and_nothing_is_written() {
    let mut m = Mocks::new();
    m.users.expect_find_by_id().returning(|_| Ok(None));
    m.users.expect_find_by_email().returning(|_| Ok(None));
    m.users.expect_set_status().never();
    m.sessions.expect_live_sessions_of().never();
    let service = m.service();

    for target in [
        target(),
        UserRef::Email(Email::parse("nobody@rodando.local").unwrap()),
        UserRef::Nobody,
    ] {
        let refused = service
            .set_status(&admin(), &target, UserStatus::Banned)
            .await;
        assert!(
            matches!(refused, Err(SetStatusError::NotFound)),
            "{refused:?}"
        );
    }
}

#[tokio::test]
async fn a_session_that_cannot_be_revoked_fails_the_change_so_it_can_be_repeated() {
    let mut m = Mocks::new();
    m.with_user(UserType::Passenger, UserStatus::Active);
    m.expect_stored(UserStatus::Banned);
    m.sessions
        .expect_live_sessions_of()
        .returning(|_, _| Ok(vec![session(1)]));
    m.sessions
        .expect_revoke()
        .returning(|_, _, _| Err(rodando_ports::Unexpected::msg("store down")));
    m.notifier.expect_session_revoked().never();

    let failed = m
        .service()
        .set_status(&admin(), &target(), UserStatus::Banned)
        .await;

    assert!(
        matches!(failed, Err(SetStatusError::Unexpected(_))),
        "{failed:?}"
    );
}
