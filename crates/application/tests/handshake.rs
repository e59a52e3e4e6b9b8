//! Handshake admission order against mocked ports.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use std::sync::Arc;

use rodando_application::handshake::HandshakeService;
use rodando_domain::admission::{Namespace, Refusal};
use rodando_domain::user::{UserStatus, UserType};
use rodando_ports::Unexpected;
use rodando_ports::sessions::MockSessionRepository;
use rodando_ports::tokens::{MockTokenService, TokenError};
use rodando_ports::users::MockUserRepository;
use support::*;
use time::Duration;
use uuid::Uuid;

fn service(
    users: MockUserRepository,
    sessions: MockSessionRepository,
    tokens: MockTokenService,
) -> HandshakeService {
    HandshakeService::new(
        Arc::new(users),
        Arc::new(sessions),
        Arc::new(tokens),
        Arc::new(clock()),
    )
}

/// A user store holding [`user_id`] as an active driver.
fn active_driver() -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(|_| Ok(Some(user(UserType::Driver, UserStatus::Active))));
    users
}

fn valid_token() -> MockTokenService {
    let mut t = MockTokenService::new();
    t.expect_verify_access()
        .returning(|_, _| Ok(access_claims()));
    t
}

#[tokio::test]
async fn no_token_is_refused_before_anything_is_read() {
    let mut tokens = MockTokenService::new();
    tokens.expect_verify_access().never();
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().never();
    let s = service(users, MockSessionRepository::new(), tokens);
    for token in [None, Some(""), Some("   ")] {
        let err = s.authenticate(token, Namespace::Drivers).await.unwrap_err();
        assert_eq!(err.refusal, Refusal::MissingToken);
    }
}

#[tokio::test]
async fn token_errors_stop_before_the_user_is_loaded() {
    for (error, refusal) in [
        (TokenError::Expired, Refusal::TokenExpired),
        (TokenError::Invalid("alg".into()), Refusal::InvalidToken),
    ] {
        let mut tokens = MockTokenService::new();
        tokens
            .expect_verify_access()
            .returning(move |_, _| Err(error.clone()));
        let mut users = MockUserRepository::new();
        users.expect_find_by_id().never();
        let err = service(users, MockSessionRepository::new(), tokens)
            .authenticate(Some("t"), Namespace::Drivers)
            .await
            .unwrap_err();
        assert_eq!(err.refusal, refusal);
    }
}

#[tokio::test]
async fn user_checks_come_before_the_session_is_loaded() {
    for (user, ns, refusal) in [
        (None, Namespace::Drivers, Refusal::UserNotFound),
        (
            Some(user(UserType::Driver, UserStatus::Banned)),
            Namespace::Drivers,
            Refusal::UserInactive,
        ),
        (
            Some(user(UserType::Driver, UserStatus::Active)),
            Namespace::Admin,
            Refusal::ForbiddenNamespace,
        ),
        (
            Some(user(UserType::Passenger, UserStatus::Active)),
            Namespace::Drivers,
            Refusal::ForbiddenNamespace,
        ),
    ] {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .returning(move |_| Ok(user.clone()));
        let mut sessions = MockSessionRepository::new();
        sessions.expect_find().never();
        let err = service(users, sessions, valid_token())
            .authenticate(Some("t"), ns)
            .await
            .unwrap_err();
        assert_eq!(err.refusal, refusal);
    }
}

#[tokio::test]
async fn a_live_session_admits_and_the_principal_comes_from_the_stored_user() {
    let users = active_driver();
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_find()
        .returning(|_| Ok(Some(session(Uuid::nil()))));
    let p = service(users, sessions, valid_token())
        .authenticate(Some("t"), Namespace::Drivers)
        .await
        .unwrap();
    assert_eq!(
        (p.user_id, p.session_id, p.user_type),
        (user_id(), session_id(), UserType::Driver)
    );
    assert_eq!(p.token_expires_at, NOW + Duration::minutes(15));
}

#[tokio::test]
async fn revoked_missing_or_expired_sessions_are_refused() {
    let mut revoked = session(Uuid::nil());
    revoked.revoked_at = Some(NOW);
    let mut expired = session(Uuid::nil());
    expired.access_expires_at = NOW - Duration::seconds(10);
    for (stored, refusal) in [
        (None, Refusal::SessionRevoked),
        (Some(revoked), Refusal::SessionRevoked),
        (Some(expired), Refusal::SessionExpired),
    ] {
        let users = active_driver();
        let mut sessions = MockSessionRepository::new();
        sessions
            .expect_find()
            .returning(move |_| Ok(stored.clone()));
        let err = service(users, sessions, valid_token())
            .authenticate(Some("t"), Namespace::Drivers)
            .await
            .unwrap_err();
        assert_eq!(err.refusal, refusal);
    }
}

#[tokio::test]
async fn a_store_failure_refuses_with_internal() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(|_| Err(Unexpected::msg("timeout")));
    let err = service(users, MockSessionRepository::new(), valid_token())
        .authenticate(Some("t"), Namespace::Drivers)
        .await
        .unwrap_err();
    assert_eq!(err.refusal, Refusal::Internal);
}
