//! Session-wide server → client payloads (PROTOCOL §2–§3, §8 notifications): `hello`, the
//! `auth:*` events, the `auth:refresh` ack and `notification`. Every socket of a session gets
//! them whatever its namespace, so they are built here once rather than by each emitter.
//!
//! Nullable fields are `required`: they are always sent (as `null` when empty), and the schema
//! says so, so the AsyncAPI check can hold every field of these structs to the contract.

use rodando_application::Principal;
use rodando_domain::ids::SessionId;
use rodando_domain::session::RevokeReason;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::resync::SessionStateBody;
use crate::timestamp;

/// `hello`: who the socket is, once, right after admission.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Hello)]
pub struct Hello {
    /// Always `true`: clients of the original server test it.
    #[schema(value_type = crate::schema::AlwaysTrue)]
    ok: bool,
    /// The namespace path.
    #[schema(value_type = crate::schema::NamespacePathName)]
    nsp: &'static str,
    #[schema(format = "uuid")]
    user_id: String,
    #[schema(value_type = crate::schema::UserTypeName)]
    user_type: &'static str,
    #[schema(format = "uuid")]
    session_id: String,
    /// The server's clock, so clients can tell their own drift.
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    server_time: OffsetDateTime,
    /// What the socket needs to render from scratch (drivers and passengers), read from the
    /// store; `null` on `/admin`, and when the store could not be read (then sync by REST or
    /// `trip:sync`).
    #[schema(required = true)]
    state: Option<SessionStateBody>,
}

impl Hello {
    /// The greeting of `principal`'s socket at `now`.
    pub fn new(principal: &Principal, now: OffsetDateTime) -> Self {
        Self {
            ok: true,
            nsp: principal.namespace.path(),
            user_id: principal.user_id.to_string(),
            user_type: principal.user_type.as_str(),
            session_id: principal.session_id.to_string(),
            server_time: now,
            state: None,
        }
    }

    /// The greeting carrying the socket's state.
    #[must_use]
    pub fn with_state(mut self, state: Option<SessionStateBody>) -> Self {
        self.state = state;
        self
    }
}

/// `auth:token_expired`: the session whose token ran out (the socket is disconnected next).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SessionRef)]
pub struct SessionRef {
    #[schema(format = "uuid")]
    session_id: String,
}

impl From<SessionId> for SessionRef {
    fn from(session: SessionId) -> Self {
        Self {
            session_id: session.to_string(),
        }
    }
}

/// `auth:session_revoked`: the session ended, and why.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SessionRevoked)]
pub struct SessionRevoked {
    #[schema(format = "uuid")]
    session_id: String,
    #[schema(value_type = crate::schema::RevokeReasonName)]
    reason: &'static str,
}

impl SessionRevoked {
    /// `session` was revoked for `reason`.
    pub fn new(session: SessionId, reason: RevokeReason) -> Self {
        Self {
            session_id: session.to_string(),
            reason: reason.as_str(),
        }
    }
}

/// `auth:session_refreshed`: `POST /api/auth/refresh` rotated the session's tokens.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SessionRefreshed)]
pub struct SessionRefreshed {
    #[schema(format = "uuid")]
    session_id: String,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    access_token_expires_at: OffsetDateTime,
}

impl SessionRefreshed {
    /// `session`'s new access token expires at `access_expires_at`.
    pub fn new(session: SessionId, access_expires_at: OffsetDateTime) -> Self {
        Self {
            session_id: session.to_string(),
            access_token_expires_at: access_expires_at,
        }
    }
}

/// The `data` of the `auth:refresh` ack.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AccessTokenExpiry)]
pub struct AccessTokenExpiry {
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    access_token_expires_at: OffsetDateTime,
}

/// The whole `auth:refresh` ack: PROTOCOL §3 has `{ok, accessTokenExpiresAt}` at the top, and
/// `data` repeats it for clients that read every ack's `data` (PROTOCOL §5). It is the one ack
/// built here whole rather than wrapped as `{ok, data}` by the socket adapter.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuthRefreshAck)]
pub struct AuthRefreshAck {
    /// Always `true`: a refused refresh is answered with the usual failure ack.
    #[schema(value_type = crate::schema::AlwaysTrue)]
    ok: bool,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    access_token_expires_at: OffsetDateTime,
    data: AccessTokenExpiry,
}

impl AuthRefreshAck {
    /// The socket now lives until `expires_at`.
    pub fn new(expires_at: OffsetDateTime) -> Self {
        Self {
            ok: true,
            access_token_expires_at: expires_at,
            data: AccessTokenExpiry {
                access_token_expires_at: expires_at,
            },
        }
    }
}

/// `notification`: a message of the server's own services to every socket of a session.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Notification)]
pub struct NotificationBody {
    /// For client-side de-duplication.
    #[schema(format = "uuid")]
    id: String,
    kind: String,
    title: String,
    body: String,
    /// Any JSON; `null` when the notification carries none (always sent).
    #[schema(value_type = Value, required = true)]
    data: Option<Value>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

impl NotificationBody {
    /// A notification from its parts. The socket adapter passes the fields of the ports'
    /// `Notification`: this crate sits below the ports and does not name their types.
    pub fn new(
        id: impl std::fmt::Display,
        kind: &str,
        title: &str,
        body: &str,
        data: Option<&Value>,
        created_at: OffsetDateTime,
    ) -> Self {
        Self {
            id: id.to_string(),
            kind: kind.to_owned(),
            title: title.to_owned(),
            body: body.to_owned(),
            data: data.cloned(),
            created_at,
        }
    }
}
