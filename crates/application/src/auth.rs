//! Login, refresh (rotation with theft detection) and logout.

use std::sync::Arc;

use rodando_domain::ids::{SessionId, UserId};
use rodando_domain::session::{DeviceInfo, RefreshRefusal, RevokeReason, Session, SessionType};
use rodando_domain::user::PasswordHash;
use rodando_domain::user::{AppAudience, Email, PhoneNumber, User, UserType};
use rodando_ports::Unexpected;
use rodando_ports::clock::Clock;
use rodando_ports::notifier::Notifier;
use rodando_ports::passwords::PasswordHasher;
use rodando_ports::sessions::{RotateOutcome, Rotation, SessionRepository};
use rodando_ports::tokens::{AccessGrant, RefreshGrant, SignedToken, TokenError, TokenService};
use rodando_ports::users::UserRepository;
use uuid::Uuid;

/// How a user identifies at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginIdentifier {
    /// By e-mail.
    Email(Email),
    /// By phone number.
    Phone(PhoneNumber),
}

/// A validated login request.
#[derive(Debug, Clone)]
pub struct LoginRequest {
    /// Who.
    pub identifier: LoginIdentifier,
    /// The plaintext password as typed (never logged).
    pub password: String,
    /// The app logging in; must fit the user's type.
    pub audience: AppAudience,
    /// Kind of client.
    pub session_type: SessionType,
    /// Client-reported device description.
    pub device_info: Option<DeviceInfo>,
}

/// The user as login and refresh describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    /// Id.
    pub id: UserId,
    /// Type.
    pub user_type: UserType,
    /// Display name.
    pub name: String,
}

/// A fresh token pair for a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTokens {
    /// The access token and its expiry.
    pub access: SignedToken,
    /// The refresh token and its expiry.
    pub refresh: SignedToken,
    /// The session both belong to.
    pub session_id: SessionId,
    /// Kind of client.
    pub session_type: SessionType,
    /// Who.
    pub user: UserSummary,
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown user or wrong password (deliberately indistinguishable).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The user is inactive or banned.
    #[error("user inactive")]
    UserInactive,
    /// The app does not fit the user's type.
    #[error("audience does not fit the user type")]
    AudienceMismatch,
    /// Too many password checks are waiting already, or this one waited too long: nothing
    /// was checked; retry later.
    #[error("password checks saturated")]
    Busy,
    /// A port failed.
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Not a valid refresh token of ours.
    #[error("invalid refresh token")]
    InvalidToken,
    /// The refresh token expired.
    #[error("refresh token expired")]
    TokenExpired,
    /// The session was revoked or no longer exists.
    #[error("session revoked")]
    SessionRevoked,
    /// The session's refresh expiry passed.
    #[error("session expired")]
    SessionExpired,
    /// The refresh token had already been used: the session is now revoked.
    #[error("refresh token reused; session revoked")]
    Reused,
    /// The user is no longer active.
    #[error("user inactive")]
    UserInactive,
    /// A port failed.
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

/// Why a logout failed.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// Not a valid access token of ours.
    #[error("invalid access token")]
    InvalidToken,
    /// The access token expired.
    #[error("access token expired")]
    TokenExpired,
    /// A port failed.
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

/// A token that did not verify: expired, or not one of ours. Refresh and logout answer it alike.
macro_rules! token_refused {
    ($($error:ty),*) => {$(
        impl From<TokenError> for $error {
            fn from(e: TokenError) -> Self {
                match e {
                    TokenError::Expired => Self::TokenExpired,
                    TokenError::Invalid(_) => Self::InvalidToken,
                }
            }
        }
    )*};
}

token_refused!(RefreshError, LogoutError);

/// The ports authentication needs.
#[derive(Clone)]
pub struct AuthService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    tokens: Arc<dyn TokenService>,
    passwords: Arc<dyn PasswordHasher>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    /// Password checks running at once. Each argon2 verification takes ~19 MiB and a core's
    /// worth of CPU for tens of milliseconds: a login flood waits here instead of exhausting
    /// memory and starving the sockets.
    hashing: Arc<tokio::sync::Semaphore>,
    /// How many checks may wait for a permit, and for how long, before `Busy`: a flood
    /// gets quick 503s instead of a queue that grows without end in front of real logins.
    hashing_queue: HashingQueue,
    /// Checks waiting now.
    hashing_waiting: Arc<std::sync::atomic::AtomicUsize>,
    /// How long after a rotation the refresh token it replaced still answers (a retry whose
    /// answer was lost) instead of revoking the session.
    refresh_reuse_grace: time::Duration,
}

/// The bound of the password-check queue ([`AuthService::with_hashing_queue`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingQueue {
    /// Checks that may wait for a free core; one more answers [`LoginError::Busy`] at once.
    pub max_waiting: usize,
    /// Longest wait for a free core before [`LoginError::Busy`].
    pub max_wait: std::time::Duration,
}

impl HashingQueue {
    /// 16 waiting per core, at most 2 s each: about what the cores verify in that time
    /// (~40 ms per check in release), so a check that gets in is served within the wait.
    pub fn for_cores(cores: usize) -> Self {
        Self {
            max_waiting: cores.saturating_mul(16),
            max_wait: std::time::Duration::from_secs(2),
        }
    }
}

/// Default of [`AuthService::with_refresh_reuse_grace`] (`JWT_REFRESH_REUSE_GRACE`).
pub const DEFAULT_REFRESH_REUSE_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

impl AuthService {
    /// Wires the service.
    pub fn new(
        users: Arc<dyn UserRepository>,
        sessions: Arc<dyn SessionRepository>,
        tokens: Arc<dyn TokenService>,
        passwords: Arc<dyn PasswordHasher>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            users,
            sessions,
            tokens,
            passwords,
            notifier,
            clock,
            hashing: Arc::new(tokio::sync::Semaphore::new(cores)),
            hashing_queue: HashingQueue::for_cores(cores),
            hashing_waiting: Arc::default(),
            refresh_reuse_grace: time::Duration::seconds(10),
        }
    }

    /// Password checks run on `cores` blocking threads at most, with `queue` bounding those
    /// waiting (default: the machine's cores, [`HashingQueue::for_cores`]).
    #[must_use]
    pub fn with_hashing_queue(mut self, cores: usize, queue: HashingQueue) -> Self {
        self.hashing = Arc::new(tokio::sync::Semaphore::new(cores.max(1)));
        self.hashing_queue = queue;
        self
    }

    /// Presenting the refresh token a rotation replaced, within `grace` of that rotation,
    /// answers the pair that rotation issued instead of revoking the session; zero turns the
    /// grace off.
    #[must_use]
    pub fn with_refresh_reuse_grace(mut self, grace: std::time::Duration) -> Self {
        self.refresh_reuse_grace = time::Duration::try_from(grace).unwrap_or(time::Duration::MAX);
        self
    }

    /// Checks the credentials and opens a session.
    ///
    /// # Errors
    /// See [`LoginError`]. The password is checked before the user's status and audience, so
    /// those answers never reveal anything to someone without the password.
    pub async fn login(&self, request: LoginRequest) -> Result<SessionTokens, LoginError> {
        let user = match &request.identifier {
            LoginIdentifier::Email(email) => self.users.find_by_email(email).await?,
            LoginIdentifier::Phone(phone) => self.users.find_by_phone(phone).await?,
        };
        // Unknown users still cost one verification, so timing does not tell who exists.
        let hash = user
            .as_ref()
            .map_or_else(|| self.passwords.dummy_hash(), |u| u.password_hash.clone());
        let matches = self
            .verify_password(request.password, hash)
            .await?
            .ok_or_else(|| {
                tracing::warn!("password checks saturated: login answered busy");
                LoginError::Busy
            })?;
        let user = match user {
            Some(user) if matches => user,
            _ => return Err(LoginError::InvalidCredentials),
        };
        if !user.is_active() {
            return Err(LoginError::UserInactive);
        }
        if !request.audience.fits(user.user_type) {
            return Err(LoginError::AudienceMismatch);
        }

        let now = self.clock.now();
        let session_id = SessionId::from_uuid(Uuid::now_v7());
        let jti = Uuid::new_v4();
        let (access, refresh) = self.issue_pair(&user, session_id, request.audience, jti, now)?;
        let session = Session {
            id: session_id,
            user_id: user.id,
            session_type: request.session_type,
            app_audience: request.audience,
            access_expires_at: access.expires_at,
            refresh_expires_at: refresh.expires_at,
            refresh_jti: jti,
            revoked_at: None,
            revoke_reason: None,
            last_activity_at: now,
            device_info: request.device_info,
            created_at: now,
        };
        self.sessions.insert(&session).await?;
        tracing::info!(user_id = %user.id, session_id = %session_id, audience = request.audience.as_str(), "login");
        Ok(SessionTokens {
            access,
            refresh,
            session_id,
            session_type: session.session_type,
            user: summary(&user),
        })
    }

    /// Exchanges a refresh token for a new pair; the presented one stops working at once.
    /// Presenting an already-used refresh token revokes the whole session and disconnects
    /// its sockets (the token was probably stolen), except the one the latest rotation
    /// replaced, within the reuse grace of it: a client retrying a refresh whose answer was
    /// lost, or two refreshes racing. That answers the pair the rotation issued, re-signed
    /// byte for byte (same `jti`, `iat`, `exp`), and rotates nothing: every retry, and every
    /// racer, holds the same live refresh token, so none of them later presents one that a
    /// further rotation replaced. (A fresh rotation would leave the first answer, which the
    /// client may have received after all, one rotation behind: the next refresh from it would
    /// look like theft once the grace is over.)
    ///
    /// # Errors
    /// See [`RefreshError`].
    pub async fn refresh(&self, refresh_token: &str) -> Result<SessionTokens, RefreshError> {
        let now = self.clock.now();
        let claims = self.tokens.verify_refresh(refresh_token, now)?;
        let session = self
            .sessions
            .find(claims.session_id)
            .await?
            .ok_or(RefreshError::SessionRevoked)?;
        if session.user_id != claims.user_id {
            return Err(RefreshError::InvalidToken);
        }
        match session.check_refresh(claims.jti, now) {
            // A used token: the store tells whether the latest rotation replaced it (below).
            Ok(()) | Err(RefreshRefusal::Reused) => {}
            Err(RefreshRefusal::Revoked) => return Err(RefreshError::SessionRevoked),
            Err(RefreshRefusal::Expired) => return Err(RefreshError::SessionExpired),
        }
        let user = self
            .users
            .find_by_id(session.user_id)
            .await?
            .filter(User::is_active)
            .ok_or(RefreshError::UserInactive)?;

        let new_jti = Uuid::new_v4();
        let (access, refresh) =
            self.issue_pair(&user, session.id, session.app_audience, new_jti, now)?;
        let rotation = Rotation {
            new_refresh_jti: new_jti,
            access_expires_at: access.expires_at,
            refresh_expires_at: refresh.expires_at,
            at: now,
        };
        match self
            .sessions
            .rotate(session.id, claims.jti, &rotation)
            .await?
        {
            RotateOutcome::Rotated => {}
            RotateOutcome::Superseded {
                current_jti,
                rotated_at,
            } => {
                // Used already, by the latest rotation: a retry or the loser of a race while
                // the grace lasts, a copy nobody should hold after it.
                let elapsed = now - rotated_at;
                if elapsed > self.refresh_reuse_grace {
                    self.revoke_for_reuse(session.id, session.user_id).await?;
                    return Err(RefreshError::Reused);
                }
                let (access, refresh) = self.issue_pair(
                    &user,
                    session.id,
                    session.app_audience,
                    current_jti,
                    rotated_at,
                )?;
                tracing::info!(user_id = %user.id, session_id = %session.id, after_ms = elapsed.whole_milliseconds(), "refresh retried within the reuse grace: the same pair answered again");
                return Ok(SessionTokens {
                    access,
                    refresh,
                    session_id: session.id,
                    session_type: session.session_type,
                    user: summary(&user),
                });
            }
            RotateOutcome::Stale => {
                // Used before the latest rotation, or the session ended meanwhile.
                self.revoke_for_reuse(session.id, session.user_id).await?;
                return Err(RefreshError::Reused);
            }
        }
        if let Err(e) = self
            .notifier
            .session_refreshed(session.id, access.expires_at)
            .await
        {
            tracing::warn!(session_id = %session.id, error = %e, "could not announce session refresh");
        }
        tracing::info!(user_id = %user.id, session_id = %session.id, "session refreshed");
        Ok(SessionTokens {
            access,
            refresh,
            session_id: session.id,
            session_type: session.session_type,
            user: summary(&user),
        })
    }

    /// Revokes the access token's session and disconnects its sockets. Idempotent.
    ///
    /// # Errors
    /// See [`LogoutError`].
    pub async fn logout(&self, access_token: &str) -> Result<(), LogoutError> {
        let now = self.clock.now();
        let claims = self.tokens.verify_access(access_token, now)?;
        let session = self.sessions.find(claims.grant.session_id).await?;
        if session.is_none_or(|s| s.user_id != claims.grant.user_id) {
            return Err(LogoutError::InvalidToken);
        }
        self.end_session(claims.grant.session_id, RevokeReason::Logout)
            .await?;
        tracing::info!(user_id = %claims.grant.user_id, session_id = %claims.grant.session_id, "logout");
        Ok(())
    }

    /// The token pair of `user`'s session `session_id` in app `audience`, issued `at`; the
    /// refresh token has id `jti`.
    fn issue_pair(
        &self,
        user: &User,
        session_id: SessionId,
        audience: AppAudience,
        jti: Uuid,
        at: time::OffsetDateTime,
    ) -> Result<(SignedToken, SignedToken), Unexpected> {
        let access = self
            .tokens
            .issue_access(&grant(user, session_id, audience), at)?;
        let refresh = RefreshGrant {
            user_id: user.id,
            session_id,
            jti,
        };
        Ok((access, self.tokens.issue_refresh(&refresh, at)?))
    }

    /// Revokes a session (if live) and disconnects its sockets wherever they are.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails. A failed push is logged, not returned: the session
    /// is revoked either way and its sockets are refused at their next check.
    pub async fn end_session(
        &self,
        session: SessionId,
        reason: RevokeReason,
    ) -> Result<(), Unexpected> {
        self.sessions
            .revoke(session, reason, self.clock.now())
            .await?;
        // Announce even when already revoked: a socket admitted just before the revocation
        // must still be kicked.
        if let Err(e) = self.notifier.session_revoked(session, reason).await {
            tracing::error!(session_id = %session, error = %e, "could not disconnect a revoked session's sockets");
        }
        Ok(())
    }

    async fn revoke_for_reuse(&self, session: SessionId, user: UserId) -> Result<(), Unexpected> {
        tracing::warn!(user_id = %user, session_id = %session, "refresh token reused: revoking the session");
        self.end_session(session, RevokeReason::RefreshTokenReuse)
            .await
    }

    /// Whether `password` matches `hash`; `None` when the queue is full or the wait too long.
    async fn verify_password(
        &self,
        password: String,
        hash: PasswordHash,
    ) -> Result<Option<bool>, Unexpected> {
        use std::sync::atomic::Ordering;
        let permit = match Arc::clone(&self.hashing).try_acquire_owned() {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::Closed) => {
                return Err(Unexpected::msg("password hashing limiter closed"));
            }
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                let waiting = self.hashing_waiting.fetch_add(1, Ordering::AcqRel);
                let _leave = Waiting(&self.hashing_waiting);
                if waiting >= self.hashing_queue.max_waiting {
                    return Ok(None);
                }
                match tokio::time::timeout(
                    self.hashing_queue.max_wait,
                    Arc::clone(&self.hashing).acquire_owned(),
                )
                .await
                {
                    Ok(Ok(permit)) => permit,
                    Ok(Err(e)) => {
                        return Err(Unexpected::new("password hashing limiter closed", e));
                    }
                    Err(_) => return Ok(None),
                }
            }
        };
        let hasher = Arc::clone(&self.passwords);
        // The permit moves into the blocking task: a caller that gives up (a client that
        // disconnects) does not free the core before the check really ends.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hasher.verify(&password, &hash)
        })
        .await
        .map(Some)
        .map_err(|e| Unexpected::new("password verification task failed", e))
    }
}

/// Leaves the password-check queue when dropped.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

fn grant(user: &User, session_id: SessionId, audience: AppAudience) -> AccessGrant {
    AccessGrant {
        user_id: user.id,
        session_id,
        user_type: user.user_type,
        audience,
        email: Some(user.email.as_str().to_owned()),
        phone_number: user.phone.as_ref().map(|p| p.as_str().to_owned()),
    }
}

fn summary(user: &User) -> UserSummary {
    UserSummary {
        id: user.id,
        user_type: user.user_type,
        name: user.name.as_str().to_owned(),
    }
}
