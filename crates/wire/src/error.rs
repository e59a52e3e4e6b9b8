//! The error body shared by acks, `exception` events and HTTP responses, and the one mapping
//! of application failures to it.
//!
//! Both transports build their error answers here ([`ErrorBody::from`] a use case's error), so
//! a failure has one code, one message and one `details` whether it travels over REST or
//! Socket.IO; the REST status comes from the code ([`ErrorCode::http_status`]).

use rodando_application::auth::{LoginError, LogoutError, RefreshError};
use rodando_application::availability::AvailabilityError;
use rodando_application::trips::TripCommandError;
use rodando_domain::offer::OfferError;
use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

pub use crate::codes::ErrorCode;

/// Fields a `validation_failed` answer lists at most.
pub const MAX_LISTED_FIELDS: usize = 20;
/// Characters of a field name a `validation_failed` answer echoes at most.
pub const MAX_FIELD_NAME_CHARS: usize = 100;

/// `{code, message, details?}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code clients branch on (the table of docs/protocol.md §4).
    #[schema(value_type = String, example = "validation_failed")]
    pub code: ErrorCode,
    /// Human text; never internals.
    pub message: String,
    /// Structured extra information: `{fields: [{field, message}]}` for `validation_failed`,
    /// `{reason}` for `conflict` (and a driver rule's `forbidden`), `{from, to}` for
    /// `invalid_trip_transition`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// An HTTP error answer: `{"error": {code, message, details?}}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorBody,
}

impl ErrorBody {
    /// An error with no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// Adds details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// `conflict` with `details.reason`, the word clients branch on within it.
    pub fn conflict(reason: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message).with_details(json!({ "reason": reason }))
    }

    /// Whether this is `internal`: the transport then logs the cause with what it knows of
    /// the caller, since the body carries nothing of it.
    pub fn is_internal(&self) -> bool {
        self.code == ErrorCode::Internal
    }

    /// `validation_failed` naming the bad fields: `details.fields = [{field, message}]`.
    ///
    /// At most [`MAX_LISTED_FIELDS`] are listed (field names cut to [`MAX_FIELD_NAME_CHARS`])
    /// and `details.unlisted` counts the rest, so a payload with thousands of unknown fields
    /// cannot make the answer larger than the question.
    pub fn validation(errors: &FieldErrors) -> Self {
        let listed: Vec<(String, &str)> = errors
            .iter()
            .take(MAX_LISTED_FIELDS)
            .map(|e| {
                (
                    e.field.chars().take(MAX_FIELD_NAME_CHARS).collect(),
                    e.message.as_str(),
                )
            })
            .collect();
        let unlisted = errors.iter().count().saturating_sub(listed.len());
        let fields: Vec<Value> = listed
            .iter()
            .map(|(field, message)| json!({"field": field, "message": message}))
            .collect();
        let mut message = listed
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut details = json!({ "fields": fields });
        if unlisted > 0 {
            message.push_str(&format!("; and {unlisted} more"));
            details["unlisted"] = json!(unlisted);
        }
        Self::new(
            ErrorCode::ValidationFailed,
            format!("invalid input: {message}"),
        )
        .with_details(details)
    }

    /// `internal`, with nothing of the cause.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error; it has been logged")
    }
}

/// The one mapping of trip and offer failures, for `trip:*`, `driver:offer:*`,
/// `admin:trip:watch` and the `/api/trips` routes alike.
impl From<&TripCommandError> for ErrorBody {
    fn from(e: &TripCommandError) -> Self {
        let message = e.to_string();
        match e {
            TripCommandError::NotFound => Self::new(ErrorCode::NotFound, "no such trip or offer"),
            TripCommandError::Forbidden | TripCommandError::Offer(OfferError::NotYours) => {
                Self::new(ErrorCode::Forbidden, message)
            }
            TripCommandError::ActiveTripExists => Self::new(ErrorCode::ActiveTripExists, message),
            TripCommandError::IdempotencyMismatch => {
                Self::new(ErrorCode::IdempotencyKeyReused, message)
            }
            TripCommandError::InvalidTransition { from, to } => {
                Self::new(ErrorCode::InvalidTripTransition, message)
                    .with_details(json!({"from": from.as_str(), "to": to.as_str()}))
            }
            TripCommandError::Offer(OfferError::NotOpen) => {
                Self::conflict("offer_not_open", message)
            }
            TripCommandError::Offer(OfferError::Expired) => {
                Self::conflict("offer_expired", message)
            }
            TripCommandError::DriverBusy => Self::conflict("driver_busy", message),
            TripCommandError::UserInactive => {
                Self::new(ErrorCode::UserInactive, "this account is not active")
            }
            TripCommandError::Changed => Self::conflict("changed", message),
            TripCommandError::Unexpected(_) => Self::internal(),
        }
    }
}

/// The one mapping of driver availability failures (`driver:status:update`,
/// `driver:location:ping`, `driver:trip:set`).
impl From<&AvailabilityError> for ErrorBody {
    fn from(e: &AvailabilityError) -> Self {
        match e {
            AvailabilityError::Rule(v) => {
                let code = if v.is_forbidden() {
                    ErrorCode::Forbidden
                } else {
                    ErrorCode::Conflict
                };
                Self::new(code, v.to_string()).with_details(json!({"reason": v.reason()}))
            }
            AvailabilityError::TripHeldByAnother => {
                Self::conflict("trip_held_by_another_driver", e.to_string())
            }
            AvailabilityError::Unexpected(_) => Self::internal(),
        }
    }
}

/// `POST /api/auth/login`.
impl From<&LoginError> for ErrorBody {
    fn from(e: &LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials => Self::new(
                ErrorCode::InvalidCredentials,
                "wrong e-mail, phone or password",
            ),
            LoginError::UserInactive => {
                Self::new(ErrorCode::UserInactive, "this account is not active")
            }
            LoginError::AudienceMismatch => Self::new(
                ErrorCode::AudienceMismatch,
                "this account cannot use that app",
            ),
            LoginError::Busy => Self::new(
                ErrorCode::Busy,
                "too many logins are being checked; retry in a moment",
            ),
            LoginError::Unexpected(_) => Self::internal(),
        }
    }
}

/// `POST /api/auth/refresh`.
impl From<&RefreshError> for ErrorBody {
    fn from(e: &RefreshError) -> Self {
        match e {
            RefreshError::InvalidToken => {
                Self::new(ErrorCode::InvalidToken, "not a valid refresh token")
            }
            RefreshError::TokenExpired => Self::new(
                ErrorCode::TokenExpired,
                "the refresh token expired; log in again",
            ),
            RefreshError::SessionRevoked => Self::new(
                ErrorCode::SessionRevoked,
                "the session was ended; log in again",
            ),
            RefreshError::SessionExpired => Self::new(
                ErrorCode::SessionExpired,
                "the session expired; log in again",
            ),
            RefreshError::Reused => Self::new(
                ErrorCode::RefreshTokenReused,
                "this refresh token was already used; the session was ended for safety",
            ),
            RefreshError::UserInactive => {
                Self::new(ErrorCode::UserInactive, "this account is not active")
            }
            RefreshError::Unexpected(_) => Self::internal(),
        }
    }
}

/// `POST /api/auth/logout`.
impl From<&LogoutError> for ErrorBody {
    fn from(e: &LogoutError) -> Self {
        match e {
            LogoutError::InvalidToken => {
                Self::new(ErrorCode::InvalidToken, "not a valid access token")
            }
            LogoutError::TokenExpired => {
                Self::new(ErrorCode::TokenExpired, "the access token expired")
            }
            LogoutError::Unexpected(_) => Self::internal(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rodando_domain::availability::RuleViolation;
    use rodando_domain::trip::TripStatus;

    use super::*;

    /// `(code, details)` of an answer, as a client reads them.
    fn sent(body: &ErrorBody) -> (Value, Value) {
        let json = serde_json::to_value(body).unwrap();
        (json["code"].clone(), json["details"].clone())
    }

    #[test]
    fn every_trip_failure_has_one_code_and_its_details() {
        let cases = [
            (TripCommandError::NotFound, "not_found", Value::Null),
            (TripCommandError::Forbidden, "forbidden", Value::Null),
            (
                TripCommandError::Offer(OfferError::NotYours),
                "forbidden",
                Value::Null,
            ),
            (
                TripCommandError::ActiveTripExists,
                "active_trip_exists",
                Value::Null,
            ),
            (
                TripCommandError::IdempotencyMismatch,
                "idempotency_key_reused",
                Value::Null,
            ),
            (
                TripCommandError::InvalidTransition {
                    from: TripStatus::Cancelled,
                    to: TripStatus::Cancelled,
                },
                "invalid_trip_transition",
                json!({"from": "cancelled", "to": "cancelled"}),
            ),
            (
                TripCommandError::Offer(OfferError::NotOpen),
                "conflict",
                json!({"reason": "offer_not_open"}),
            ),
            (
                TripCommandError::Offer(OfferError::Expired),
                "conflict",
                json!({"reason": "offer_expired"}),
            ),
            (
                TripCommandError::DriverBusy,
                "conflict",
                json!({"reason": "driver_busy"}),
            ),
            (
                TripCommandError::Changed,
                "conflict",
                json!({"reason": "changed"}),
            ),
        ];
        for (error, code, details) in cases {
            assert_eq!(
                sent(&ErrorBody::from(&error)),
                (json!(code), details),
                "{error:?}"
            );
        }
    }

    #[test]
    fn availability_rules_name_their_reason() {
        for (violation, code) in [
            (RuleViolation::OnTrip, "conflict"),
            (RuleViolation::ActiveTrip, "conflict"),
            (RuleViolation::TripFinished, "conflict"),
            (RuleViolation::TripNotAssigned, "forbidden"),
        ] {
            let body = ErrorBody::from(&AvailabilityError::Rule(violation));
            assert_eq!(
                sent(&body),
                (json!(code), json!({"reason": violation.reason()}))
            );
        }
        assert_eq!(
            sent(&ErrorBody::from(&AvailabilityError::TripHeldByAnother)),
            (
                json!("conflict"),
                json!({"reason": "trip_held_by_another_driver"})
            )
        );
    }

    #[test]
    fn auth_failures_keep_their_codes() {
        let codes: Vec<ErrorCode> = [
            ErrorBody::from(&LoginError::InvalidCredentials),
            ErrorBody::from(&LoginError::UserInactive),
            ErrorBody::from(&LoginError::AudienceMismatch),
            ErrorBody::from(&RefreshError::InvalidToken),
            ErrorBody::from(&RefreshError::TokenExpired),
            ErrorBody::from(&RefreshError::SessionRevoked),
            ErrorBody::from(&RefreshError::SessionExpired),
            ErrorBody::from(&RefreshError::Reused),
            ErrorBody::from(&RefreshError::UserInactive),
            ErrorBody::from(&LogoutError::InvalidToken),
            ErrorBody::from(&LogoutError::TokenExpired),
        ]
        .iter()
        .map(|b| b.code)
        .collect();
        use ErrorCode as C;
        assert_eq!(
            codes,
            [
                C::InvalidCredentials,
                C::UserInactive,
                C::AudienceMismatch,
                C::InvalidToken,
                C::TokenExpired,
                C::SessionRevoked,
                C::SessionExpired,
                C::RefreshTokenReused,
                C::UserInactive,
                C::InvalidToken,
                C::TokenExpired,
            ]
        );
    }

    #[test]
    fn a_flood_of_bad_fields_gets_a_bounded_answer() {
        let mut errors = FieldErrors::new();
        for i in 0..5000 {
            errors.add(format!("{}{i}", "k".repeat(1000)), "is not a known field");
        }
        let body = ErrorBody::validation(&errors);
        let text = serde_json::to_string(&body).unwrap();
        assert!(text.len() < 10_000, "{} bytes", text.len());
        let details = body.details.unwrap();
        assert_eq!(
            details["fields"].as_array().unwrap().len(),
            MAX_LISTED_FIELDS
        );
        assert_eq!(details["unlisted"], 5000 - MAX_LISTED_FIELDS);
        assert!(
            body.message.ends_with("; and 4980 more"),
            "{}",
            body.message
        );
    }

    #[test]
    fn a_few_bad_fields_are_all_listed() {
        let mut errors = FieldErrors::new();
        errors.add("latitude", "is required");
        errors.add("longitude", "must be a number");
        let body = ErrorBody::validation(&errors);
        assert_eq!(
            body.message,
            "invalid input: latitude: is required; longitude: must be a number"
        );
        assert_eq!(
            body.details,
            Some(json!({"fields": [
                {"field": "latitude", "message": "is required"},
                {"field": "longitude", "message": "must be a number"}
            ]}))
        );
    }
}
