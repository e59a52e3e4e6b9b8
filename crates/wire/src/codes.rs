//! Every error code of the contract, with its HTTP status, listed once.
//!
//! Both transports answer a failure with an [`ErrorCode`]: REST derives the response status
//! from it ([`ErrorCode::http_status`]) and Socket.IO sends it in the ack and `exception`, so
//! the same failure cannot get two names or two statuses. The table of `docs/protocol.md` is
//! generated from [`ErrorCode::ALL`] (see `tests/error_codes.rs`), so it cannot drift either.

use std::fmt;

use http::StatusCode;
use rodando_domain::admission::Refusal;
use serde::{Serialize, Serializer};

/// A stable snake_case code clients branch on; serialized as that string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// A payload, body, query or header is malformed or breaks a rule.
    ValidationFailed,
    /// The HTTP body could not be read at all.
    BadRequest,
    /// No access token.
    MissingToken,
    /// A token that is not one of ours, or not of the right kind.
    InvalidToken,
    /// The token's `exp` has passed.
    TokenExpired,
    /// Login with an unknown user or a wrong password.
    InvalidCredentials,
    /// The token's user no longer exists.
    UserNotFound,
    /// The session was ended.
    SessionRevoked,
    /// The session's lifetime has passed.
    SessionExpired,
    /// A refresh token was presented a second time.
    RefreshTokenReused,
    /// The user is inactive or banned.
    UserInactive,
    /// The account does not fit the app it logs in to.
    AudienceMismatch,
    /// The account does not fit the namespace.
    ForbiddenNamespace,
    /// The caller may not do this.
    Forbidden,
    /// No such trip, offer or route visible to the caller.
    NotFound,
    /// Socket.IO: the namespace handles no event of that name.
    UnknownEvent,
    /// REST: the route does not take that method.
    MethodNotAllowed,
    /// The passenger already has an active trip.
    ActiveTripExists,
    /// The trip is not in a state this step can leave from.
    InvalidTripTransition,
    /// The state of a driver, trip or offer does not allow it now; `details.reason` says why.
    Conflict,
    /// The HTTP body is over the limit.
    PayloadTooLarge,
    /// An `Idempotency-Key` reused with another body.
    IdempotencyKeyReused,
    /// Too many events on this socket, or too many failed logins or refreshes.
    RateLimited,
    /// The user holds the maximum number of sockets.
    TooManyConnections,
    /// Something failed on our side; the cause is logged, never sent.
    Internal,
    /// A dependency of the server does not answer.
    NotReady,
    /// The server is saturated (password checks queued beyond their bound or their wait).
    Busy,
}

impl ErrorCode {
    /// Every code, in the order of the documented table (by HTTP status).
    pub const ALL: [Self; 27] = [
        Self::ValidationFailed,
        Self::BadRequest,
        Self::MissingToken,
        Self::InvalidToken,
        Self::TokenExpired,
        Self::InvalidCredentials,
        Self::UserNotFound,
        Self::SessionRevoked,
        Self::SessionExpired,
        Self::RefreshTokenReused,
        Self::UserInactive,
        Self::AudienceMismatch,
        Self::ForbiddenNamespace,
        Self::Forbidden,
        Self::NotFound,
        Self::UnknownEvent,
        Self::MethodNotAllowed,
        Self::ActiveTripExists,
        Self::InvalidTripTransition,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::IdempotencyKeyReused,
        Self::RateLimited,
        Self::TooManyConnections,
        Self::Internal,
        Self::NotReady,
        Self::Busy,
    ];

    /// The code on the wire: `error.code`, `exception.code`, and for handshake refusals the
    /// `connect_error` message.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ValidationFailed => "validation_failed",
            Self::BadRequest => "bad_request",
            Self::MissingToken => "missing_token",
            Self::InvalidToken => "invalid_token",
            Self::TokenExpired => "token_expired",
            Self::InvalidCredentials => "invalid_credentials",
            Self::UserNotFound => "user_not_found",
            Self::SessionRevoked => "session_revoked",
            Self::SessionExpired => "session_expired",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::UserInactive => "user_inactive",
            Self::AudienceMismatch => "audience_mismatch",
            Self::ForbiddenNamespace => "forbidden_namespace",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::UnknownEvent => "unknown_event",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::ActiveTripExists => "active_trip_exists",
            Self::InvalidTripTransition => "invalid_trip_transition",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::RateLimited => "rate_limited",
            Self::TooManyConnections => "too_many_connections",
            Self::Internal => "internal",
            Self::NotReady => "not_ready",
            Self::Busy => "busy",
        }
    }

    /// The status of a REST answer with this code. Codes only Socket.IO sends
    /// (`unknown_event`, `rate_limited`, `too_many_connections`) have one too, so the table
    /// is total and a code never needs a second, transport-specific mapping.
    pub const fn http_status(self) -> StatusCode {
        match self {
            Self::ValidationFailed | Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::MissingToken
            | Self::InvalidToken
            | Self::TokenExpired
            | Self::InvalidCredentials
            | Self::UserNotFound
            | Self::SessionRevoked
            | Self::SessionExpired
            | Self::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            Self::UserInactive
            | Self::AudienceMismatch
            | Self::ForbiddenNamespace
            | Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound | Self::UnknownEvent => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::ActiveTripExists | Self::InvalidTripTransition | Self::Conflict => {
                StatusCode::CONFLICT
            }
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited | Self::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotReady | Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// When a client gets it, for the documented table (markdown).
    pub const fn when(self) -> &'static str {
        match self {
            Self::ValidationFailed => {
                "a payload, body, query or header is malformed or breaks a rule; \
                 `details.fields: [{field, message}]` names each bad field (at most 20, \
                 `details.unlisted` counts the rest)"
            }
            Self::BadRequest => {
                "REST: the body could not be read (not its JSON: that is `validation_failed`)"
            }
            Self::MissingToken => "no access token (handshake, Bearer routes)",
            Self::InvalidToken => {
                "the token is not ours: signature, algorithm, issuer, kind (handshake, Bearer \
                 routes, `/api/auth/refresh`, `auth:refresh`)"
            }
            Self::TokenExpired => {
                "the token's `exp` has passed: refresh (handshake, Bearer routes, `/api/auth/refresh`)"
            }
            Self::InvalidCredentials => {
                "`POST /api/auth/login`: unknown user or wrong password (indistinguishable)"
            }
            Self::UserNotFound => "the token's user no longer exists (handshake, Bearer routes)",
            Self::SessionRevoked => {
                "the session was ended (logout, refresh-token reuse, an operator): log in"
            }
            Self::SessionExpired => "the session's lifetime has passed: log in",
            Self::RefreshTokenReused => {
                "a refresh token was used twice; the session is now revoked"
            }
            Self::UserInactive => "the account is inactive or banned",
            Self::AudienceMismatch => {
                "`POST /api/auth/login`: the account cannot use that `appAudience`"
            }
            Self::ForbiddenNamespace => {
                "handshake, `auth:refresh`: the account does not fit the namespace"
            }
            Self::Forbidden => {
                "the caller may not do this: not its trip or offer, wrong user type, another \
                 session's token in `auth:refresh`; `details.reason` when a driver rule refused \
                 it (`trip_not_assigned`)"
            }
            Self::NotFound => "no such trip, offer or route, or not one the caller may see",
            Self::UnknownEvent => "Socket.IO: the namespace handles no event of that name",
            Self::MethodNotAllowed => "REST: the route does not take that method",
            Self::ActiveTripExists => {
                "`trip:request`, `POST /api/trips`: the passenger already has an active trip"
            }
            Self::InvalidTripTransition => {
                "a trip step from a state it cannot leave (`arrived`, `start`, `complete`, \
                 cancel); `details: {from, to}`"
            }
            Self::Conflict => {
                "the state of the driver, trip or offer does not allow it now; \
                 `details.reason`: `on_trip`, `active_trip`, `trip_finished`, \
                 `trip_held_by_another_driver`, `offer_not_open`, `offer_expired`, \
                 `driver_busy`, `changed` (retry)"
            }
            Self::PayloadTooLarge => "REST: the body is over 64 KiB",
            Self::IdempotencyKeyReused => {
                "`POST /api/trips`: the `Idempotency-Key` was used with another body"
            }
            Self::RateLimited => {
                "Socket.IO: more than 20 events/s sustained (bursts of 40) on this socket; \
                 `/api/auth/login`, `/api/auth/refresh`: too many failures from this address \
                 (for this account, or in all), with `Retry-After` in seconds"
            }
            Self::TooManyConnections => {
                "handshake: the user already holds `MAX_CONNECTIONS_PER_USER` sockets"
            }
            Self::Internal => "our failure, logged; nothing of the cause is sent; retry later",
            Self::NotReady => {
                "`GET /ready`: a dependency does not answer; `details.failed` names each"
            }
            Self::Busy => {
                "`POST /api/auth/login`: too many password checks waiting; retry after \
                 `Retry-After` seconds"
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A refused handshake (or Bearer check) answers with the refusal's own code, so
/// `connect_error` messages and REST/ack codes are one vocabulary.
impl From<Refusal> for ErrorCode {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::MissingToken => Self::MissingToken,
            Refusal::InvalidToken => Self::InvalidToken,
            Refusal::TokenExpired => Self::TokenExpired,
            Refusal::UserNotFound => Self::UserNotFound,
            Refusal::UserInactive => Self::UserInactive,
            Refusal::ForbiddenNamespace => Self::ForbiddenNamespace,
            Refusal::SessionRevoked => Self::SessionRevoked,
            Refusal::SessionExpired => Self::SessionExpired,
            Refusal::TooManyConnections => Self::TooManyConnections,
            Refusal::Internal => Self::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_all_listed() {
        let names: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len(), "a code is listed twice");
        for name in names {
            assert!(
                !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    && !name.starts_with('_')
                    && !name.ends_with('_'),
                "{name} is not snake_case"
            );
        }
        let variants: BTreeSet<ErrorCode> = ErrorCode::ALL.into_iter().collect();
        assert_eq!(variants.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn the_table_is_ordered_by_status() {
        let statuses: Vec<u16> = ErrorCode::ALL
            .iter()
            .map(|c| c.http_status().as_u16())
            .collect();
        let mut sorted = statuses.clone();
        sorted.sort_unstable();
        assert_eq!(statuses, sorted);
        assert!(statuses.iter().all(|s| (400..600).contains(s)));
    }

    #[test]
    fn a_code_serializes_as_its_name() {
        assert_eq!(
            serde_json::to_value(ErrorCode::InvalidTripTransition).unwrap(),
            serde_json::json!("invalid_trip_transition")
        );
    }

    #[test]
    fn every_refusal_keeps_the_code_of_its_connect_error() {
        for refusal in [
            Refusal::MissingToken,
            Refusal::InvalidToken,
            Refusal::TokenExpired,
            Refusal::UserNotFound,
            Refusal::UserInactive,
            Refusal::ForbiddenNamespace,
            Refusal::SessionRevoked,
            Refusal::SessionExpired,
            Refusal::TooManyConnections,
            Refusal::Internal,
        ] {
            assert_eq!(ErrorCode::from(refusal).as_str(), refusal.to_string());
        }
    }
}
