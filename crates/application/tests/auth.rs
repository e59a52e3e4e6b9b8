//! Login, refresh and logout against mocked ports.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

mod support;

use std::sync::Arc;

use mockall::predicate::eq;
use rodando_application::auth::{
    AuthService, LoginError, LoginIdentifier, LoginRequest, LogoutError, RefreshError,
    SessionTokens,
};
use rodando_domain::session::{RevokeReason, SessionType};
use rodando_domain::user::{AppAudience, Email, PasswordHash, UserStatus, UserType};
use rodando_ports::Unexpected;
use rodando_ports::notifier::MockNotifier;
use rodando_ports::passwords::MockPasswordHasher;
use rodando_ports::sessions::{MockSessionRepository, RotateOutcome};
use rodando_ports::tokens::{MockTokenService, RefreshClaims, SignedToken, TokenError};
use rodando_ports::users::MockUserRepository;
use support::*;
use time::Duration;
use uuid::Uuid;

struct Mocks {
    users: MockUserRepository,
    sessions: MockSessionRepository,
    tokens: MockTokenService,
    passwords: MockPasswordHasher,
    notifier: MockNotifier,
}

impl Mocks {
    fn new() -> Self {
        let mut tokens = MockTokenService::new();
        tokens.expect_issue_access().returning(|_, now| {
            Ok(SignedToken {
                token: "access".into(),
                expires_at: now + Duration::minutes(15),
            })
        });
        tokens.expect_issue_refresh().returning(|_, now| {
            Ok(SignedToken {
                token: "refresh".into(),
                expires_at: now + Duration::days(7),
            })
        });
        let mut passwords = MockPasswordHasher::new();
        passwords
            .expect_dummy_hash()
            .returning(|| PasswordHash::from_phc("dummy-hash".into()));
        Self {
            users: MockUserRepository::new(),
            sessions: MockSessionRepository::new(),
            tokens,
            passwords,
            notifier: MockNotifier::new(),
        }
    }

    /// A live session of an active driver whose current refresh id is `jti`, presented with
    /// a refresh token carrying that same `jti`.
    fn refreshable(jti: Uuid) -> Self {
        Self::presenting(jti, jti)
    }

    /// A live session of an active driver whose current refresh id is `current`, presented
    /// with a refresh token carrying `presented`: the start of every refresh case, the current
    /// one or an older one (reuse, retries).
    fn presenting(presented: Uuid, current: Uuid) -> Self {
        let mut m = Self::new();
        m.tokens
            .expect_verify_refresh()
            .returning(move |_, _| Ok(refresh_claims(presented)));
        m.sessions
            .expect_find()
            .returning(move |_| Ok(Some(session(current))));
        m.users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user(UserType::Driver, UserStatus::Active))));
        m
    }

    /// The session is revoked once and its sockets are told once: what every refused reuse
    /// of a refresh token must do.
    fn expect_revoked_once(&mut self) {
        self.sessions
            .expect_revoke()
            .times(1)
            .returning(|_, _, _| Ok(true));
        self.notifier
            .expect_session_revoked()
            .times(1)
            .returning(|_, _| Ok(()));
    }

    /// As [`Self::expect_revoked_once`], and both calls name this session, the reason
    /// `RefreshTokenReuse` and (for the store) [`NOW`].
    fn expect_revoked_for_reuse(&mut self) {
        self.sessions
            .expect_revoke()
            .with(
                eq(session_id()),
                eq(RevokeReason::RefreshTokenReuse),
                eq(NOW),
            )
            .times(1)
            .returning(|_, _, _| Ok(true));
        self.notifier
            .expect_session_revoked()
            .with(eq(session_id()), eq(RevokeReason::RefreshTokenReuse))
            .times(1)
            .returning(|_, _| Ok(()));
    }

    /// A login for `audience` through the service over these ports; returns what it answers.
    async fn login(self, audience: AppAudience) -> Result<SessionTokens, LoginError> {
        self.service().login(login_request(audience)).await
    }

    fn service(self) -> AuthService {
        AuthService::new(
            Arc::new(self.users),
            Arc::new(self.sessions),
            Arc::new(self.tokens),
            Arc::new(self.passwords),
            Arc::new(self.notifier),
            Arc::new(clock()),
        )
    }
}

fn login_request(audience: AppAudience) -> LoginRequest {
    LoginRequest {
        identifier: LoginIdentifier::Email(Email::parse("alice@rodando.local").unwrap()),
        password: "rodando123".into(),
        audience,
        session_type: SessionType::Web,
        device_info: None,
    }
}

fn refresh_claims(jti: Uuid) -> RefreshClaims {
    RefreshClaims {
        user_id: user_id(),
        session_id: session_id(),
        jti,
        expires_at: NOW + Duration::days(7),
    }
}

#[tokio::test]
async fn a_correct_password_opens_a_session_with_the_issued_expiries() {
    let mut m = Mocks::new();
    m.users
        .expect_find_by_email()
        .returning(|_| Ok(Some(user(UserType::Driver, UserStatus::Active))));
    m.passwords
        .expect_verify()
        .withf(|pw, hash| pw == "rodando123" && hash.as_str() == "real-hash")
        .return_const(true);
    m.sessions
        .expect_insert()
        .withf(|s| {
            s.user_id == user_id()
                && s.access_expires_at == NOW + Duration::minutes(15)
                && s.refresh_expires_at == NOW + Duration::days(7)
                && s.session_type == SessionType::Web
                && !s.is_revoked()
        })
        .times(1)
        .returning(|_| Ok(()));
    let tokens = m.login(AppAudience::DriverApp).await.unwrap();
    assert_eq!(tokens.access.token, "access");
    assert_eq!(tokens.refresh.token, "refresh");
    assert_eq!(tokens.user.id, user_id());
}

#[tokio::test]
async fn an_unknown_user_still_costs_a_verification_and_is_invalid_credentials() {
    let mut m = Mocks::new();
    m.users.expect_find_by_email().returning(|_| Ok(None));
    // Even if the dummy hash "matched", an unknown user never logs in.
    m.passwords
        .expect_verify()
        .withf(|_, hash| hash.as_str() == "dummy-hash")
        .times(1)
        .return_const(true);
    m.sessions.expect_insert().never();
    let err = m.login(AppAudience::DriverApp).await.unwrap_err();
    assert!(matches!(err, LoginError::InvalidCredentials));
}

#[tokio::test]
async fn status_and_audience_are_checked_only_after_the_password() {
    for (status, audience, wrong_password, expected) in [
        (
            UserStatus::Banned,
            AppAudience::DriverApp,
            false,
            "InvalidCredentials",
        ),
        (
            UserStatus::Banned,
            AppAudience::DriverApp,
            true,
            "UserInactive",
        ),
        (
            UserStatus::Inactive,
            AppAudience::DriverApp,
            true,
            "UserInactive",
        ),
        (
            UserStatus::Active,
            AppAudience::AdminPanel,
            true,
            "AudienceMismatch",
        ),
    ] {
        let mut m = Mocks::new();
        m.users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(user(UserType::Driver, status))));
        m.passwords.expect_verify().return_const(wrong_password);
        m.sessions.expect_insert().never();
        let err = m.login(audience).await.unwrap_err();
        assert_eq!(format!("{err:?}"), expected);
    }
}

#[tokio::test]
async fn a_store_failure_is_unexpected() {
    let mut m = Mocks::new();
    m.users
        .expect_find_by_email()
        .returning(|_| Err(Unexpected::msg("connection reset")));
    m.passwords.expect_verify().never();
    let err = m.login(AppAudience::DriverApp).await.unwrap_err();
    assert!(matches!(err, LoginError::Unexpected(_)));
}

#[tokio::test]
async fn refresh_rotates_against_the_presented_jti_and_announces_it() {
    let jti = Uuid::from_u128(1);
    let mut m = Mocks::refreshable(jti);
    m.sessions
        .expect_rotate()
        .withf(move |id, expected, rotation| {
            *id == session_id() && *expected == jti && rotation.new_refresh_jti != jti
        })
        .times(1)
        .returning(|_, _, _| Ok(RotateOutcome::Rotated));
    m.notifier
        .expect_session_refreshed()
        .with(eq(session_id()), eq(NOW + Duration::minutes(15)))
        .times(1)
        .returning(|_, _| Ok(()));
    let tokens = m.service().refresh("refresh-token").await.unwrap();
    assert_eq!(tokens.session_id, session_id());
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_session_and_kicks_its_sockets() {
    let old = Uuid::from_u128(1);
    let current = Uuid::from_u128(2);
    let mut m = Mocks::presenting(old, current);
    // The store judges: `old` is not the jti the latest rotation replaced.
    m.sessions
        .expect_rotate()
        .withf(move |_, expected, _| *expected == old)
        .times(1)
        .returning(|_, _, _| Ok(RotateOutcome::Stale));
    m.expect_revoked_for_reuse();
    assert!(matches!(
        m.service().refresh("t").await.unwrap_err(),
        RefreshError::Reused
    ));
}

/// A session whose latest rotation, `ago` before [`NOW`], replaced `old` with `current`.
fn superseded(old: Uuid, current: Uuid, ago: Duration) -> Mocks {
    let mut m = Mocks::presenting(old, current);
    m.sessions
        .expect_rotate()
        .withf(move |_, expected, _| *expected == old)
        .returning(move |_, _, _| {
            Ok(RotateOutcome::Superseded {
                current_jti: current,
                rotated_at: NOW - ago,
            })
        });
    m
}

#[tokio::test]
async fn a_retry_within_the_grace_answers_the_pair_the_rotation_issued() {
    let (old, current) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let mut m = superseded(old, current, Duration::seconds(9));
    // Re-signed as issued: the current jti, at the rotation's time (the first signing, at
    // NOW, is the rotation the store then refused).
    let refreshes = Arc::new(std::sync::Mutex::new(Vec::new()));
    m.tokens = MockTokenService::new();
    m.tokens
        .expect_verify_refresh()
        .returning(move |_, _| Ok(refresh_claims(old)));
    m.tokens.expect_issue_access().returning(|_, at| {
        Ok(SignedToken {
            token: format!("access@{at}"),
            expires_at: at + Duration::minutes(15),
        })
    });
    let seen = Arc::clone(&refreshes);
    m.tokens.expect_issue_refresh().returning(move |grant, at| {
        let jti = grant.jti;
        seen.lock().unwrap().push((jti, at));
        Ok(SignedToken {
            token: format!("refresh:{jti}@{at}"),
            expires_at: at + Duration::days(7),
        })
    });
    m.sessions.expect_revoke().never();
    m.notifier.expect_session_revoked().never();
    m.notifier.expect_session_refreshed().never();
    let tokens = m.service().refresh("t").await.unwrap();
    let rotated_at = NOW - Duration::seconds(9);
    assert_eq!(tokens.session_id, session_id());
    assert_eq!(
        tokens.refresh.token,
        format!("refresh:{current}@{rotated_at}")
    );
    assert_eq!(tokens.access.token, format!("access@{rotated_at}"));
    assert_eq!(
        refreshes.lock().unwrap().last(),
        Some(&(current, rotated_at))
    );
}

#[tokio::test]
async fn a_retry_after_the_grace_revokes_the_session() {
    let (old, current) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let mut m = superseded(old, current, Duration::seconds(11));
    m.expect_revoked_for_reuse();
    assert!(matches!(
        m.service().refresh("t").await.unwrap_err(),
        RefreshError::Reused
    ));
}

#[tokio::test]
async fn a_zero_grace_revokes_even_an_immediate_retry() {
    let (old, current) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let mut m = superseded(old, current, Duration::milliseconds(1));
    m.expect_revoked_once();
    let service = m
        .service()
        .with_refresh_reuse_grace(std::time::Duration::ZERO);
    assert!(matches!(
        service.refresh("t").await.unwrap_err(),
        RefreshError::Reused
    ));
}

#[tokio::test]
async fn losing_a_rotation_race_is_treated_as_reuse() {
    let jti = Uuid::from_u128(1);
    let mut m = Mocks::refreshable(jti);
    m.sessions
        .expect_rotate()
        .returning(|_, _, _| Ok(RotateOutcome::Stale));
    m.expect_revoked_once();
    m.notifier.expect_session_refreshed().never();
    assert!(matches!(
        m.service().refresh("t").await.unwrap_err(),
        RefreshError::Reused
    ));
}

#[tokio::test]
async fn refresh_token_defects_map_to_their_errors() {
    for (token_error, expected) in [
        (TokenError::Expired, "TokenExpired"),
        (TokenError::Invalid("bad".into()), "InvalidToken"),
    ] {
        let mut m = Mocks::new();
        m.tokens
            .expect_verify_refresh()
            .returning(move |_, _| Err(token_error.clone()));
        m.sessions.expect_find().never();
        assert_eq!(
            format!("{:?}", m.service().refresh("t").await.unwrap_err()),
            expected
        );
    }
}

#[tokio::test]
async fn logout_revokes_and_kicks_even_if_the_push_fails() {
    let mut m = Mocks::new();
    m.tokens
        .expect_verify_access()
        .returning(|_, _| Ok(access_claims()));
    m.sessions
        .expect_find()
        .returning(|_| Ok(Some(session(Uuid::nil()))));
    m.sessions
        .expect_revoke()
        .with(eq(session_id()), eq(RevokeReason::Logout), eq(NOW))
        .times(1)
        .returning(|_, _, _| Ok(true));
    m.notifier
        .expect_session_revoked()
        .times(1)
        .returning(|_, _| Err(Unexpected::msg("redis down")));
    m.service().logout("access").await.unwrap();
}

#[tokio::test]
async fn logout_with_a_bad_token_touches_nothing() {
    let mut m = Mocks::new();
    m.tokens
        .expect_verify_access()
        .returning(|_, _| Err(TokenError::Invalid("bad".into())));
    m.sessions.expect_revoke().never();
    assert!(matches!(
        m.service().logout("x").await.unwrap_err(),
        LogoutError::InvalidToken
    ));
}

/// Logins of one user whose password check takes 300 ms, four at once, on one core with room
/// for one waiter: how many are checked and how many answered `Busy`.
async fn four_logins_at_once(max_wait: std::time::Duration) -> (usize, usize) {
    use rodando_application::auth::HashingQueue;
    let mut m = Mocks::new();
    m.users
        .expect_find_by_email()
        .returning(|_| Ok(Some(user(UserType::Driver, UserStatus::Active))));
    m.passwords.expect_verify().returning(|_, _| {
        std::thread::sleep(std::time::Duration::from_millis(300));
        false
    });
    let auth = m.service().with_hashing_queue(
        1,
        HashingQueue {
            max_waiting: 1,
            max_wait,
        },
    );
    let login = || auth.login(login_request(AppAudience::DriverApp));
    let answers = tokio::join!(login(), login(), login(), login());
    let answers = [answers.0, answers.1, answers.2, answers.3];
    let checked = answers
        .iter()
        .filter(|a| matches!(a, Err(LoginError::InvalidCredentials)))
        .count();
    let busy = answers
        .iter()
        .filter(|a| matches!(a, Err(LoginError::Busy)))
        .count();
    (checked, busy)
}

#[tokio::test]
async fn the_password_check_queue_is_bounded_and_its_waits_time_out() {
    // One checked, one waits past its 50 ms and gives up, two find the queue full at once.
    assert_eq!(
        four_logins_at_once(std::time::Duration::from_millis(50)).await,
        (1, 3)
    );
    // With time to wait, the waiter is checked after the first; the queue is still bounded.
    assert_eq!(
        four_logins_at_once(std::time::Duration::from_secs(5)).await,
        (2, 2)
    );
}
