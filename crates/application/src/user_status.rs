//! Operators changing a user's status: ban, deactivate, re-activate (`PATCH /api/users/{id}`,
//! `rodando-server users set-status`).
//!
//! A user who is no longer active loses everything at once: the status is stored first (from
//! then on login, refresh and the handshake refuse the user, nearest-driver queries skip it and
//! dispatch writes refuse it), then every live session is ended through the logout path
//! ([`AuthService::end_session`], `auth:session_revoked` with `reason: "admin"` to the sockets of
//! every node), then a driver's open offer is released so the trip moves to the next driver.

use std::fmt;

use rodando_domain::ids::{SessionId, UserId};
use rodando_domain::session::RevokeReason;
use rodando_domain::user::{Email, User, UserStatus, UserType};
use rodando_ports::Unexpected;
use rodando_ports::clock::Clock;
use rodando_ports::sessions::SessionRepository;
use rodando_ports::users::UserRepository;
use std::sync::Arc;

use crate::Principal;
use crate::auth::AuthService;
use crate::trips::TripService;

/// The `reason` of the `trip:assignment:rejected` that closes the open offer of a driver who
/// was banned or deactivated.
pub const DRIVER_UNAVAILABLE: &str = "driver_unavailable";

/// Who asks for a status change, for the permission check and the audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    /// An authenticated caller of the REST API; must be an admin.
    User(Principal),
    /// The operator's command line on a server host (`rodando-server users set-status`).
    Cli,
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(p) => write!(f, "{}:{}", p.user_type.as_str(), p.user_id),
            Self::Cli => f.write_str("cli"),
        }
    }
}

/// The user whose status changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    /// By id (the REST route).
    Id(UserId),
    /// By login e-mail (the command line).
    Email(Email),
    /// A reference that names no user (an id that is not one): not found, once the operator
    /// is allowed to ask.
    Nobody,
}

/// Why a status change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SetStatusError {
    /// The operator is not an admin.
    #[error("only admins may change a user's status")]
    Forbidden,
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// A port failed. The status may be stored already; repeating the change is safe.
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

/// What a status change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChanged {
    /// The user, with its new status.
    pub user: User,
    /// Its status before.
    pub previous: UserStatus,
    /// Sessions ended (and their sockets disconnected) because of it.
    pub sessions_ended: usize,
    /// Whether a driver's open offer was released.
    pub offer_released: bool,
}

service! {
    /// Sets users' statuses and applies what follows: sessions end through `auth`, offers are
    /// released through `trips`.
    pub struct UserStatusService {
        users: Arc<dyn UserRepository>,
        sessions: Arc<dyn SessionRepository>,
        auth: AuthService,
        trips: TripService,
        clock: Arc<dyn Clock>,
    }
}

impl UserStatusService {
    /// Sets `target`'s status. Setting `inactive` or `banned` also ends every live session of
    /// the user (`auth:session_revoked`, `reason: "admin"`, on every node) and releases a
    /// driver's open offer ([`DRIVER_UNAVAILABLE`]); setting `active` lets the user log in
    /// again. Repeating a change is harmless (and ends any session opened meanwhile). Each
    /// change is logged with the operator.
    ///
    /// # Errors
    /// [`SetStatusError::Forbidden`] for an operator that is not an admin (checked before
    /// anything is read), [`SetStatusError::NotFound`], or [`SetStatusError::Unexpected`].
    pub async fn set_status(
        &self,
        operator: &Operator,
        target: &UserRef,
        status: UserStatus,
    ) -> Result<StatusChanged, SetStatusError> {
        let actor_session = authorize(operator)?;
        let user = match target {
            UserRef::Id(id) => self.users.find_by_id(*id).await?,
            UserRef::Email(email) => self.users.find_by_email(email).await?,
            UserRef::Nobody => None,
        }
        .ok_or(SetStatusError::NotFound)?;
        if !self.users.set_status(user.id, status).await? {
            return Err(SetStatusError::NotFound);
        }
        let previous = user.status;
        let user = User { status, ..user };
        let (sessions_ended, offer_released) = if status == UserStatus::Active {
            (0, false)
        } else {
            self.withdraw(&user).await?
        };
        match actor_session {
            Some(session) => {
                tracing::info!(actor = %operator, actor_session_id = %session, user_id = %user.id, user_type = user.user_type.as_str(), previous = previous.as_str(), status = status.as_str(), sessions_ended, offer_released, "audit: user status set");
            }
            None => {
                tracing::info!(actor = %operator, user_id = %user.id, user_type = user.user_type.as_str(), previous = previous.as_str(), status = status.as_str(), sessions_ended, offer_released, "audit: user status set");
            }
        }
        Ok(StatusChanged {
            user,
            previous,
            sessions_ended,
            offer_released,
        })
    }

    /// Ends the user's live sessions and releases a driver's open offer.
    async fn withdraw(&self, user: &User) -> Result<(usize, bool), Unexpected> {
        let live = self
            .sessions
            .live_sessions_of(user.id, self.clock.now())
            .await?;
        for session in &live {
            self.auth.end_session(*session, RevokeReason::Admin).await?;
        }
        let released = if let Some(driver) = user.role().driver() {
            // Nearest-driver queries skip the driver already; this frees the trip it was
            // offered instead of leaving the passenger to wait out the deadline.
            self.trips
                .release_open_offer(driver, DRIVER_UNAVAILABLE)
                .await?
                .is_some()
        } else {
            false
        };
        Ok((live.len(), released))
    }
}

/// Admins only; the command line is trusted (it runs on a server host with the store's
/// credentials). Returns the operator's session, for the audit line.
fn authorize(operator: &Operator) -> Result<Option<SessionId>, SetStatusError> {
    match operator {
        Operator::User(p) if p.user_type == UserType::Admin => Ok(Some(p.session_id)),
        Operator::User(_) => Err(SetStatusError::Forbidden),
        Operator::Cli => Ok(None),
    }
}
