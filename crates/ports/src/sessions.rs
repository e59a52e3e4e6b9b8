//! The session store.

use async_trait::async_trait;
use rodando_domain::ids::{SessionId, UserId};
use rodando_domain::session::{RevokeReason, Session};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Unexpected;

/// The new state of a session after a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// `jti` of the new refresh token.
    pub new_refresh_jti: Uuid,
    /// Expiry of the new access token.
    pub access_expires_at: OffsetDateTime,
    /// Expiry of the new refresh token.
    pub refresh_expires_at: OffsetDateTime,
    /// When it happened (becomes `last_activity_at`).
    pub at: OffsetDateTime,
}

/// Result of a compare-and-set rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The session was live with the expected `jti` and now holds the new one.
    Rotated,
    /// `expected_jti` is the one the session's latest rotation replaced (a retry of a refresh
    /// whose answer was lost, or the loser of a race between two): nothing was written. The
    /// caller decides from `rotated_at` whether this is still a retry or a stolen token.
    Superseded {
        /// The session's current refresh `jti` (the one that rotation issued).
        current_jti: Uuid,
        /// When that rotation happened ([`Rotation::at`]).
        rotated_at: OffsetDateTime,
    },
    /// The session is missing, revoked, or its `jti` is neither the expected one nor its
    /// immediate successor: nothing was written.
    Stale,
}

/// Sessions by id.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails or the id exists.
    async fn insert(&self, session: &Session) -> Result<(), Unexpected>;

    /// The session with this id, if any.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn find(&self, id: SessionId) -> Result<Option<Session>, Unexpected>;

    /// Atomically replaces the refresh `jti` and expiries if, and only if, the session is not
    /// revoked and still holds `expected_jti`. Two concurrent refreshes with the same token:
    /// exactly one gets [`RotateOutcome::Rotated`], the other [`RotateOutcome::Superseded`].
    /// The store remembers the `jti` each rotation replaced, and when, until the next one.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn rotate(
        &self,
        id: SessionId,
        expected_jti: Uuid,
        rotation: &Rotation,
    ) -> Result<RotateOutcome, Unexpected>;

    /// Revokes the session if it is not already revoked. Returns `true` if this call revoked it.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn revoke(
        &self,
        id: SessionId,
        reason: RevokeReason,
        at: OffsetDateTime,
    ) -> Result<bool, Unexpected>;

    /// Moves the access expiry of a live session forward (a socket presented a newer access
    /// token of the same session). Returns whether a live session was updated.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn extend_access(
        &self,
        id: SessionId,
        access_expires_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<bool, Unexpected>;

    /// Ids of the live sessions of a user (for operators ending them all).
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn live_sessions_of(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, Unexpected>;
}
