//! Who may enter which Socket.IO namespace, and why a connection is refused.
//!
//! The handshake checks run in a fixed order and the first failure decides the code the client
//! sees (clients branch on it: `token_expired` means "refresh and retry"):
//!
//! 1. a token is present — [`Refusal::MissingToken`]
//! 2. it is a valid, unexpired HS256 token of our issuer — [`Refusal::InvalidToken`] / [`Refusal::TokenExpired`]
//! 3. it is an access token, not a refresh token — [`Refusal::InvalidToken`]
//! 4. its user exists and is active — [`check_user`]
//! 5. the *stored* user type fits the namespace — [`check_user`]
//! 6. its session is live — [`check_session`]
//! 7. the user holds fewer sockets than the limit — [`check_connection_count`]
//!
//! Steps 1–3 are the token service's; this module holds the rules of steps 4–7 as pure functions
//! over facts the application has loaded.

use time::OffsetDateTime;

use crate::ids::UserId;
use crate::session::{Session, SessionAccessRefusal};
use crate::user::{User, UserType};

/// The three Socket.IO namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// `/drivers`: driver apps.
    Drivers,
    /// `/passengers`: passenger apps.
    Passengers,
    /// `/admin`: the operations dashboard.
    Admin,
}

impl Namespace {
    /// Every namespace, for registration.
    pub const ALL: [Namespace; 3] = [Self::Drivers, Self::Passengers, Self::Admin];

    /// The namespace path.
    pub const fn path(self) -> &'static str {
        match self {
            Self::Drivers => "/drivers",
            Self::Passengers => "/passengers",
            Self::Admin => "/admin",
        }
    }

    /// The only user type admitted here.
    pub const fn user_type(self) -> UserType {
        match self {
            Self::Drivers => UserType::Driver,
            Self::Passengers => UserType::Passenger,
            Self::Admin => UserType::Admin,
        }
    }

    /// The namespace of a user type.
    pub const fn for_user_type(user_type: UserType) -> Self {
        match user_type {
            UserType::Driver => Self::Drivers,
            UserType::Passenger => Self::Passengers,
            UserType::Admin => Self::Admin,
        }
    }

    /// Whether a user of `user_type` may connect here.
    pub fn admits(self, user_type: UserType) -> bool {
        self.user_type() == user_type
    }
}

/// Why a connection was refused; its display is the code of the `connect_error` message
/// (the wire's `ErrorCode` maps from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Refusal {
    /// No token in `auth.token` nor in `Authorization`.
    #[error("missing_token")]
    MissingToken,
    /// Bad signature, algorithm, issuer, shape, or a refresh token.
    #[error("invalid_token")]
    InvalidToken,
    /// The token's `exp` has passed.
    #[error("token_expired")]
    TokenExpired,
    /// The token's user does not exist.
    #[error("user_not_found")]
    UserNotFound,
    /// The user is inactive or banned.
    #[error("user_inactive")]
    UserInactive,
    /// The stored user type does not fit the namespace.
    #[error("forbidden_namespace")]
    ForbiddenNamespace,
    /// The session does not exist, is not the user's, or was revoked.
    #[error("session_revoked")]
    SessionRevoked,
    /// The session's access expiry has passed.
    #[error("session_expired")]
    SessionExpired,
    /// The user already holds the maximum number of sockets.
    #[error("too_many_connections")]
    TooManyConnections,
    /// A store could not be read; the client may retry.
    #[error("internal")]
    Internal,
}

/// Steps 4 and 5: the user exists, is active, and its stored type fits `namespace`.
///
/// # Errors
/// [`Refusal::UserNotFound`], [`Refusal::UserInactive`] or [`Refusal::ForbiddenNamespace`], in
/// that order of precedence.
pub fn check_user(namespace: Namespace, user: Option<&User>) -> Result<&User, Refusal> {
    let user = user.ok_or(Refusal::UserNotFound)?;
    if !user.is_active() {
        return Err(Refusal::UserInactive);
    }
    if !namespace.admits(user.user_type) {
        return Err(Refusal::ForbiddenNamespace);
    }
    Ok(user)
}

/// Step 6: the token's session exists, belongs to `user`, is not revoked and not expired.
///
/// # Errors
/// [`Refusal::SessionRevoked`] (missing, foreign or revoked) or [`Refusal::SessionExpired`].
pub fn check_session(
    session: Option<&Session>,
    user: UserId,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let session = session.ok_or(Refusal::SessionRevoked)?;
    session.check_access(user, now).map_err(|e| match e {
        SessionAccessRefusal::Revoked => Refusal::SessionRevoked,
        SessionAccessRefusal::Expired => Refusal::SessionExpired,
    })
}

/// Step 7: one more socket is allowed while the user holds fewer than `max`.
///
/// # Errors
/// [`Refusal::TooManyConnections`] when `open >= max`.
pub fn check_connection_count(open: usize, max: usize) -> Result<(), Refusal> {
    if open < max {
        Ok(())
    } else {
        Err(Refusal::TooManyConnections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Session;
    use crate::user::{Email, PasswordHash, PersonName, UserStatus};
    use time::Duration;
    use time::macros::datetime;
    use uuid::Uuid;

    const NOW: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

    fn user(user_type: UserType, status: UserStatus) -> User {
        User {
            id: UserId::from_uuid(Uuid::from_u128(7)),
            email: Email::parse("a@b.cd").unwrap(),
            phone: None,
            name: PersonName::parse("A").unwrap(),
            user_type,
            status,
            password_hash: PasswordHash::from_phc(String::new()),
            created_at: NOW,
        }
    }

    #[test]
    fn each_namespace_admits_exactly_its_user_type() {
        for ns in Namespace::ALL {
            for ty in [UserType::Driver, UserType::Passenger, UserType::Admin] {
                let expected = matches!(
                    (ns, ty),
                    (Namespace::Drivers, UserType::Driver)
                        | (Namespace::Passengers, UserType::Passenger)
                        | (Namespace::Admin, UserType::Admin)
                );
                assert_eq!(ns.admits(ty), expected, "{ns:?} {ty:?}");
                let u = user(ty, UserStatus::Active);
                assert_eq!(check_user(ns, Some(&u)).is_ok(), expected);
            }
        }
    }

    #[test]
    fn inactive_is_reported_before_the_wrong_namespace() {
        let banned_passenger = user(UserType::Passenger, UserStatus::Banned);
        assert_eq!(
            check_user(Namespace::Admin, Some(&banned_passenger)).unwrap_err(),
            Refusal::UserInactive
        );
        assert_eq!(
            check_user(Namespace::Admin, None).unwrap_err(),
            Refusal::UserNotFound
        );
    }

    #[test]
    fn session_checks_map_to_their_codes() {
        let owner = UserId::from_uuid(Uuid::from_u128(7));
        let mut s = Session {
            user_id: owner,
            access_expires_at: NOW + Duration::minutes(1),
            ..crate::session::testing::session(NOW)
        };
        assert_eq!(check_session(Some(&s), owner, NOW), Ok(()));
        assert_eq!(
            check_session(None, owner, NOW),
            Err(Refusal::SessionRevoked)
        );
        assert_eq!(
            check_session(Some(&s), owner, NOW + Duration::minutes(2)),
            Err(Refusal::SessionExpired)
        );
        s.revoked_at = Some(NOW);
        assert_eq!(
            check_session(Some(&s), owner, NOW),
            Err(Refusal::SessionRevoked)
        );
    }

    #[test]
    fn the_limit_counts_sockets_already_open() {
        assert_eq!(check_connection_count(4, 5), Ok(()));
        assert_eq!(
            check_connection_count(5, 5),
            Err(Refusal::TooManyConnections)
        );
        assert_eq!(
            check_connection_count(0, 0),
            Err(Refusal::TooManyConnections)
        );
    }
}
