//! Access and refresh tokens.

use rodando_domain::ids::{SessionId, UserId};
use rodando_domain::user::{AppAudience, UserType};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Unexpected;

/// What an access token grants; becomes its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    /// `sub`.
    pub user_id: UserId,
    /// `sid`.
    pub session_id: SessionId,
    /// `userType` (informative: admission reads the stored user).
    pub user_type: UserType,
    /// `aud`.
    pub audience: AppAudience,
    /// `email`.
    pub email: Option<String>,
    /// `phoneNumber`.
    pub phone_number: Option<String>,
}

/// What a refresh token grants; becomes its claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshGrant {
    /// `sub`.
    pub user_id: UserId,
    /// `sid`.
    pub session_id: SessionId,
    /// `jti`: the id the session keeps as its current refresh token.
    pub jti: Uuid,
}

/// The verified claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// What was granted.
    pub grant: AccessGrant,
    /// `iat`.
    pub issued_at: OffsetDateTime,
    /// `exp`.
    pub expires_at: OffsetDateTime,
}

/// The verified claims of a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshClaims {
    /// `sub`.
    pub user_id: UserId,
    /// `sid`.
    pub session_id: SessionId,
    /// `jti`: compared with the session's current refresh id for rotation.
    pub jti: Uuid,
    /// `exp`.
    pub expires_at: OffsetDateTime,
}

/// A signed token and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedToken {
    /// The compact JWS.
    pub token: String,
    /// Its `exp`.
    pub expires_at: OffsetDateTime,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Well-formed and correctly signed, but `exp` has passed.
    #[error("token expired")]
    Expired,
    /// Anything else: malformed, bad signature or algorithm, wrong issuer, wrong kind of token,
    /// not yet valid. The text is for logs only.
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// Issues and verifies signed tokens. Pure CPU: synchronous.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait TokenService: Send + Sync {
    /// Signs an access token valid from `now` for the configured access TTL.
    ///
    /// # Errors
    /// [`Unexpected`] if signing fails.
    fn issue_access(
        &self,
        grant: &AccessGrant,
        now: OffsetDateTime,
    ) -> Result<SignedToken, Unexpected>;

    /// Signs a refresh token with id `jti`, valid from `now` for the configured refresh TTL.
    ///
    /// # Errors
    /// [`Unexpected`] if signing fails.
    fn issue_refresh(
        &self,
        grant: &RefreshGrant,
        now: OffsetDateTime,
    ) -> Result<SignedToken, Unexpected>;

    /// Verifies an access token at `now`.
    ///
    /// # Errors
    /// [`TokenError::Expired`] when only the expiry fails; [`TokenError::Invalid`] for every
    /// other defect, including a refresh token presented as an access token.
    fn verify_access(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError>;

    /// Verifies a refresh token at `now`.
    ///
    /// # Errors
    /// As [`TokenService::verify_access`], with an access token being [`TokenError::Invalid`].
    fn verify_refresh(&self, token: &str, now: OffsetDateTime)
    -> Result<RefreshClaims, TokenError>;
}
