//! Admission of a Socket.IO connection: steps 1–6 of the handshake (PROTOCOL §3); the
//! transport counts sockets for step 7 with [`rodando_domain::admission::check_connection_count`].

use std::sync::Arc;

use rodando_domain::admission::{Namespace, Refusal, check_session, check_user};
use rodando_domain::session::RevokeReason;
use rodando_ports::clock::Clock;
use rodando_ports::sessions::SessionRepository;
use rodando_ports::tokens::{TokenError, TokenService};
use rodando_ports::users::UserRepository;

use crate::Principal;

/// Why a connection was refused, with the human reason for the log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{refusal}: {reason}")]
pub struct HandshakeRefused {
    /// The code sent to the client.
    pub refusal: Refusal,
    /// What exactly failed, for operators.
    pub reason: String,
}

impl HandshakeRefused {
    fn new(refusal: Refusal, reason: impl Into<String>) -> Self {
        Self {
            refusal,
            reason: reason.into(),
        }
    }
}

service! {
    /// Authenticates socket handshakes.
    pub struct HandshakeService {
        users: Arc<dyn UserRepository>,
        sessions: Arc<dyn SessionRepository>,
        tokens: Arc<dyn TokenService>,
        clock: Arc<dyn Clock>,
    }
}

impl HandshakeService {
    /// Runs checks 1–6 in order and returns the principal, or the first failure.
    ///
    /// # Errors
    /// [`HandshakeRefused`] naming the first failed check; store failures are
    /// [`Refusal::Internal`].
    pub async fn authenticate(
        &self,
        token: Option<&str>,
        namespace: Namespace,
    ) -> Result<Principal, HandshakeRefused> {
        self.admit(token, Some(namespace)).await
    }

    /// The same checks for a REST request: any user type, its principal placed in the
    /// namespace of its type.
    ///
    /// # Errors
    /// As [`HandshakeService::authenticate`], without [`Refusal::ForbiddenNamespace`].
    pub async fn authenticate_bearer(
        &self,
        token: Option<&str>,
    ) -> Result<Principal, HandshakeRefused> {
        self.admit(token, None).await
    }

    async fn admit(
        &self,
        token: Option<&str>,
        namespace: Option<Namespace>,
    ) -> Result<Principal, HandshakeRefused> {
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                HandshakeRefused::new(
                    Refusal::MissingToken,
                    "no token in auth.token nor Authorization",
                )
            })?;
        let now = self.clock.now();
        let claims = self.tokens.verify_access(token, now).map_err(|e| match e {
            TokenError::Expired => {
                HandshakeRefused::new(Refusal::TokenExpired, "access token expired")
            }
            TokenError::Invalid(why) => HandshakeRefused::new(Refusal::InvalidToken, why),
        })?;
        let grant = &claims.grant;

        let user = self
            .users
            .find_by_id(grant.user_id)
            .await
            .map_err(|e| internal("user lookup failed", &e))?;
        let namespace = namespace.unwrap_or_else(|| {
            user.as_ref().map_or(Namespace::Passengers, |u| {
                Namespace::for_user_type(u.user_type)
            })
        });
        let user = check_user(namespace, user.as_ref()).map_err(|r| {
            HandshakeRefused::new(
                r,
                format!("user {} may not enter {}", grant.user_id, namespace.path()),
            )
        })?;

        let session = self
            .sessions
            .find(grant.session_id)
            .await
            .map_err(|e| internal("session lookup failed", &e))?;
        check_session(session.as_ref(), user.id, now).map_err(|r| {
            HandshakeRefused::new(r, format!("session {} is not live", grant.session_id))
        })?;

        Ok(Principal {
            user_id: user.id,
            user_type: user.user_type,
            session_id: grant.session_id,
            namespace,
            name: user.name.as_str().to_owned(),
            token_expires_at: claims.expires_at,
        })
    }
}

/// What a re-check of an already admitted socket found ([`HandshakeService::recheck`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The user may still be in the namespace and the session is live.
    Live,
    /// A handshake of this principal would now be refused with `refusal`; `revoked` is the
    /// session's stored reason when it was revoked (none when it is missing, expired, or the
    /// user is the reason).
    Lapsed {
        /// The refusal a new handshake would get.
        refusal: Refusal,
        /// Why the session was revoked, as stored.
        revoked: Option<RevokeReason>,
    },
}

impl HandshakeService {
    /// Re-runs checks 4–6 for a socket admitted earlier, without its token: the token's
    /// signature was checked at admission and the transport watches its expiry. This finds
    /// sockets whose session was revoked (or whose user was deactivated) while their node could
    /// not hear about it, e.g. during a Redis outage.
    ///
    /// # Errors
    /// [`Refusal::Internal`] when a store cannot be read: nothing can be concluded then.
    pub async fn recheck(&self, principal: &Principal) -> Result<Standing, HandshakeRefused> {
        let user = self
            .users
            .find_by_id(principal.user_id)
            .await
            .map_err(|e| internal("user lookup failed", &e))?;
        if let Err(refusal) = check_user(principal.namespace, user.as_ref()) {
            return Ok(Standing::Lapsed {
                refusal,
                revoked: None,
            });
        }
        let session = self
            .sessions
            .find(principal.session_id)
            .await
            .map_err(|e| internal("session lookup failed", &e))?;
        Ok(
            match check_session(session.as_ref(), principal.user_id, self.clock.now()) {
                Ok(()) => Standing::Live,
                Err(refusal) => Standing::Lapsed {
                    refusal,
                    revoked: session.and_then(|s| s.revoke_reason),
                },
            },
        )
    }
}

fn internal(what: &str, error: &rodando_ports::Unexpected) -> HandshakeRefused {
    tracing::error!(error = ?error, "{what}");
    HandshakeRefused::new(Refusal::Internal, what)
}
