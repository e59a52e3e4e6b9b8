//! The one place HTTP statuses and error codes are decided.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rodando_application::auth::{LoginError, LogoutError, RefreshError};
use rodando_application::trips::TripCommandError;
use rodando_domain::offer::OfferError;
use rodando_domain::validation::FieldErrors;
use rodando_wire::error::{ErrorBody, ErrorResponse};
use serde_json::json;

/// An error answer: status and `{"error": body}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody::new(code, message),
        }
    }

    /// 400 `validation_failed` naming every field.
    pub fn validation(errors: &FieldErrors) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody::validation(errors),
        }
    }

    /// 500 `internal`, logging the cause (never sent).
    pub fn internal(cause: &dyn std::fmt::Debug) -> Self {
        tracing::error!(error = ?cause, "request failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: ErrorBody::internal(),
        }
    }

    fn unauthorized(code: &'static str, message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorResponse { error: self.body })).into_response()
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials => {
                Self::unauthorized("invalid_credentials", "wrong e-mail, phone or password")
            }
            LoginError::UserInactive => Self::new(
                StatusCode::FORBIDDEN,
                "user_inactive",
                "this account is not active",
            ),
            LoginError::AudienceMismatch => Self::new(
                StatusCode::FORBIDDEN,
                "audience_mismatch",
                "this account cannot use that app",
            ),
            LoginError::Unexpected(cause) => Self::internal(&cause),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::InvalidToken => {
                Self::unauthorized("invalid_token", "not a valid refresh token")
            }
            RefreshError::TokenExpired => {
                Self::unauthorized("token_expired", "the refresh token expired; log in again")
            }
            RefreshError::SessionRevoked => {
                Self::unauthorized("session_revoked", "the session was ended; log in again")
            }
            RefreshError::SessionExpired => {
                Self::unauthorized("session_expired", "the session expired; log in again")
            }
            RefreshError::Reused => Self::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; the session was ended for safety",
            ),
            RefreshError::UserInactive => Self::new(
                StatusCode::FORBIDDEN,
                "user_inactive",
                "this account is not active",
            ),
            RefreshError::Unexpected(cause) => Self::internal(&cause),
        }
    }
}

impl From<LogoutError> for ApiError {
    fn from(e: LogoutError) -> Self {
        match e {
            LogoutError::InvalidToken => {
                Self::unauthorized("invalid_token", "not a valid access token")
            }
            LogoutError::TokenExpired => {
                Self::unauthorized("token_expired", "the access token expired")
            }
            LogoutError::Unexpected(cause) => Self::internal(&cause),
        }
    }
}

impl From<TripCommandError> for ApiError {
    fn from(e: TripCommandError) -> Self {
        let message = e.to_string();
        match e {
            TripCommandError::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            TripCommandError::Forbidden | TripCommandError::Offer(OfferError::NotYours) => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", message)
            }
            TripCommandError::ActiveTripExists => {
                Self::new(StatusCode::CONFLICT, "active_trip_exists", message)
            }
            TripCommandError::IdempotencyMismatch => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                message,
            ),
            TripCommandError::InvalidTransition { from, to } => Self {
                status: StatusCode::CONFLICT,
                body: ErrorBody::new("invalid_trip_transition", message)
                    .with_details(json!({"from": from.as_str(), "to": to.as_str()})),
            },
            TripCommandError::Offer(_)
            | TripCommandError::DriverBusy
            | TripCommandError::Changed => Self::new(StatusCode::CONFLICT, "conflict", message),
            TripCommandError::Unexpected(cause) => Self::internal(&cause),
        }
    }
}

/// Unknown route.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// Known route, wrong method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}
