//! Login sessions: one per login, rotated on every refresh, revoked on logout or token theft.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{SessionId, UserId};
use crate::user::{AppAudience, UnknownVariant};

/// The kind of client that opened the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SessionType {
    /// A browser.
    Web,
    /// A phone app (the default).
    #[default]
    MobileApp,
    /// A server-side client.
    ApiClient,
}

impl SessionType {
    /// Wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::MobileApp => "mobile_app",
            Self::ApiClient => "api_client",
        }
    }

    /// Parses the wire name.
    ///
    /// # Errors
    /// [`UnknownVariant`] for an unknown session type.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        match s {
            "web" => Ok(Self::Web),
            "mobile_app" => Ok(Self::MobileApp),
            "api_client" => Ok(Self::ApiClient),
            _ => Err(UnknownVariant),
        }
    }
}

/// Why a session was ended before its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevokeReason {
    /// The user logged out.
    Logout,
    /// A refresh token that had already been rotated was presented again: the token was
    /// probably stolen, so the whole session ends.
    RefreshTokenReuse,
    /// An operator ended it.
    Admin,
}

impl RevokeReason {
    /// Wire name, the `reason` of `auth:session_revoked`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::Admin => "admin",
        }
    }

    /// Parses the storage name.
    ///
    /// # Errors
    /// [`UnknownVariant`] for an unknown reason.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        match s {
            "logout" => Ok(Self::Logout),
            "refresh_token_reuse" => Ok(Self::RefreshTokenReuse),
            "admin" => Ok(Self::Admin),
            _ => Err(UnknownVariant),
        }
    }
}

/// Free-form description of the device, as the client reported it (bounded, printable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo(String);

impl DeviceInfo {
    /// At most this many characters are kept; device info is for operators, not for logic.
    pub const MAX_CHARS: usize = 512;

    /// Keeps the first [`Self::MAX_CHARS`] printable characters; `None` when nothing is left.
    pub fn sanitize(raw: &str) -> Option<Self> {
        let s: String = raw
            .chars()
            .filter(|c| !c.is_control())
            .take(Self::MAX_CHARS)
            .collect();
        let s = s.trim();
        (!s.is_empty()).then(|| Self(s.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A login session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Identity, the `sid` claim of its tokens.
    pub id: SessionId,
    /// Owner.
    pub user_id: UserId,
    /// Kind of client.
    pub session_type: SessionType,
    /// The app it was opened for.
    pub app_audience: AppAudience,
    /// Expiry of the newest access token issued for it.
    pub access_expires_at: OffsetDateTime,
    /// Expiry of the newest refresh token; the session ends then.
    pub refresh_expires_at: OffsetDateTime,
    /// `jti` of the only refresh token that may be used next.
    pub refresh_jti: Uuid,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// Why it was revoked, if it was.
    pub revoke_reason: Option<RevokeReason>,
    /// Last login, refresh or connection.
    pub last_activity_at: OffsetDateTime,
    /// Client-reported device description.
    pub device_info: Option<DeviceInfo>,
    /// When it was opened.
    pub created_at: OffsetDateTime,
}

/// Clock skew tolerated on every expiry check (token `exp`/`nbf` and the session's access
/// expiry), so a token is never refused by one check and admitted by the other. PROTOCOL §3
/// allows at most 5 s.
pub const CLOCK_LEEWAY: time::Duration = time::Duration::seconds(2);

/// Why a session does not allow an access token to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionAccessRefusal {
    /// Revoked, or not the token owner's session.
    #[error("session revoked")]
    Revoked,
    /// Its access expiry has passed.
    #[error("session expired")]
    Expired,
}

/// Why a refresh token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshRefusal {
    /// The session was revoked.
    #[error("session revoked")]
    Revoked,
    /// The session's refresh expiry has passed.
    #[error("session expired")]
    Expired,
    /// The token was already rotated away: a replay, treated as theft.
    #[error("refresh token already used")]
    Reused,
}

impl Session {
    /// Whether the session has been revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    /// Whether an access token of `user` may be used with this session at `now`.
    ///
    /// # Errors
    /// [`SessionAccessRefusal::Revoked`] when revoked or owned by another user,
    /// [`SessionAccessRefusal::Expired`] when the access expiry has passed by more than
    /// [`CLOCK_LEEWAY`] (the same tolerance the token's own `exp` gets).
    pub fn check_access(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<(), SessionAccessRefusal> {
        if self.is_revoked() || self.user_id != user {
            Err(SessionAccessRefusal::Revoked)
        } else if self.access_expires_at + CLOCK_LEEWAY <= now {
            Err(SessionAccessRefusal::Expired)
        } else {
            Ok(())
        }
    }

    /// Whether the refresh token `jti` may be exchanged at `now`. Revocation is checked first, so
    /// a replay after theft detection reports `Revoked`, not `Reused` again.
    ///
    /// # Errors
    /// See [`RefreshRefusal`].
    pub fn check_refresh(&self, jti: Uuid, now: OffsetDateTime) -> Result<(), RefreshRefusal> {
        if self.is_revoked() {
            Err(RefreshRefusal::Revoked)
        } else if self.refresh_jti != jti {
            Err(RefreshRefusal::Reused)
        } else if self.refresh_expires_at <= now {
            Err(RefreshRefusal::Expired)
        } else {
            Ok(())
        }
    }
}

/// A live session for tests.
#[cfg(test)]
pub(crate) mod testing {
    use time::{Duration, OffsetDateTime};
    use uuid::Uuid;

    use super::{Session, SessionType};
    use crate::ids::{SessionId, UserId};
    use crate::user::AppAudience;

    /// A live mobile driver session opened at `now`: 15 minutes of access, 7 days of refresh.
    pub(crate) fn session(now: OffsetDateTime) -> Session {
        Session {
            id: SessionId::from_uuid(Uuid::from_u128(1)),
            user_id: UserId::from_uuid(Uuid::from_u128(2)),
            session_type: SessionType::MobileApp,
            app_audience: AppAudience::DriverApp,
            access_expires_at: now + Duration::minutes(15),
            refresh_expires_at: now + Duration::days(7),
            refresh_jti: Uuid::from_u128(3),
            revoked_at: None,
            revoke_reason: None,
            last_activity_at: now,
            device_info: None,
            created_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::session;
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

    #[test]
    fn a_live_session_admits_its_owner_only() {
        let s = session(NOW);
        assert_eq!(s.check_access(s.user_id, NOW), Ok(()));
        let stranger = UserId::from_uuid(Uuid::from_u128(99));
        assert_eq!(
            s.check_access(stranger, NOW),
            Err(SessionAccessRefusal::Revoked)
        );
    }

    #[test]
    fn revoked_comes_before_expired() {
        let mut s = session(NOW);
        s.revoked_at = Some(NOW);
        let later = NOW + Duration::days(30);
        assert_eq!(
            s.check_access(s.user_id, later),
            Err(SessionAccessRefusal::Revoked)
        );
        assert_eq!(
            s.check_refresh(s.refresh_jti, later),
            Err(RefreshRefusal::Revoked)
        );
    }

    #[test]
    fn access_expiry_gets_the_same_leeway_as_the_token() {
        let s = session(NOW);
        assert_eq!(
            s.check_access(s.user_id, s.access_expires_at + Duration::seconds(1)),
            Ok(())
        );
        assert_eq!(
            s.check_access(s.user_id, s.access_expires_at + CLOCK_LEEWAY),
            Err(SessionAccessRefusal::Expired)
        );
    }

    #[test]
    fn only_the_current_refresh_token_may_be_used() {
        let s = session(NOW);
        assert_eq!(s.check_refresh(s.refresh_jti, NOW), Ok(()));
        assert_eq!(
            s.check_refresh(Uuid::from_u128(4), NOW),
            Err(RefreshRefusal::Reused)
        );
        assert_eq!(
            s.check_refresh(s.refresh_jti, s.refresh_expires_at),
            Err(RefreshRefusal::Expired)
        );
    }

    #[test]
    fn device_info_is_bounded_and_printable() {
        assert_eq!(DeviceInfo::sanitize(" \u{7} "), None);
        let long = DeviceInfo::sanitize(&"a".repeat(2000)).unwrap();
        assert_eq!(long.as_str().len(), DeviceInfo::MAX_CHARS);
        assert_eq!(DeviceInfo::sanitize("Pixel\n8").unwrap().as_str(), "Pixel8");
    }
}
