//! Error answers of the REST transport. Codes, messages and details come from
//! `rodando_wire::error` (the mapping Socket.IO uses too) and the status from the code, so
//! nothing here decides either.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rodando_application::auth::{LoginError, LogoutError, RefreshError};
use rodando_application::trips::TripCommandError;
use rodando_application::user_status::SetStatusError;
use rodando_domain::validation::FieldErrors;
use rodando_wire::error::{ErrorBody, ErrorCode, ErrorResponse};

/// An error answer: `{"error": body}` with the status of its code.
#[derive(Debug)]
pub struct ApiError {
    body: ErrorBody,
    /// Sent as `Retry-After` (whole seconds, rounded up).
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    /// Any code, with no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::from(ErrorBody::new(code, message))
    }

    /// 400 `validation_failed` naming every field.
    pub fn validation(errors: &FieldErrors) -> Self {
        Self::from(ErrorBody::validation(errors))
    }

    /// 500 `internal`, logging the cause (never sent).
    pub fn internal(cause: &dyn std::fmt::Debug) -> Self {
        tracing::error!(error = ?cause, "request failed");
        Self::from(ErrorBody::internal())
    }

    /// The wire crate's answer to `cause`; an `internal` one is logged with the cause.
    fn answer(body: ErrorBody, cause: &dyn std::fmt::Debug) -> Self {
        if body.is_internal() {
            return Self::internal(cause);
        }
        Self::from(body)
    }

    /// Adds `Retry-After`.
    #[must_use]
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// The `Retry-After` sent, if any.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    /// The status sent: the code's, from the one table in `rodando_wire::codes`.
    pub fn status(&self) -> StatusCode {
        self.body.code.http_status()
    }

    /// The body sent inside `{"error": …}`.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }
}

impl From<ErrorBody> for ApiError {
    fn from(body: ErrorBody) -> Self {
        Self {
            body,
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status(), Json(ErrorResponse { error: self.body })).into_response();
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds.max(1)),
            );
        }
        response
    }
}

/// Each use case's error answers with its own body (from the wire's one table) and is logged
/// by `ApiError::answer` when it is a server fault.
macro_rules! answered {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for ApiError {
            fn from(e: $error) -> Self {
                Self::answer(ErrorBody::from(&e), &e)
            }
        }
    )*};
}

answered!(
    LoginError,
    RefreshError,
    LogoutError,
    TripCommandError,
    SetStatusError
);

/// Unknown route.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

/// Known route, wrong method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept that method",
    )
}

#[cfg(test)]
mod tests {
    use rodando_domain::offer::OfferError;
    use rodando_domain::trip::TripStatus;
    use serde_json::json;

    use super::*;

    /// What a REST client receives: `(status, {"error": …})`.
    fn sent(error: ApiError) -> (u16, serde_json::Value) {
        let status = error.status().as_u16();
        let body = serde_json::to_value(ErrorResponse {
            error: error.body().clone(),
        })
        .unwrap();
        (status, body)
    }

    #[test]
    fn statuses_come_from_the_codes() {
        for (error, status, code) in [
            (TripCommandError::NotFound, 404, "not_found"),
            (TripCommandError::Forbidden, 403, "forbidden"),
            (
                TripCommandError::Offer(OfferError::NotYours),
                403,
                "forbidden",
            ),
            (
                TripCommandError::ActiveTripExists,
                409,
                "active_trip_exists",
            ),
            (
                TripCommandError::IdempotencyMismatch,
                422,
                "idempotency_key_reused",
            ),
            (TripCommandError::DriverBusy, 409, "conflict"),
        ] {
            let (sent_status, body) = sent(ApiError::from(error));
            assert_eq!(
                (sent_status, body["error"]["code"].as_str()),
                (status, Some(code))
            );
        }
        assert_eq!(sent(ApiError::from(LoginError::InvalidCredentials)).0, 401);
        assert_eq!(sent(ApiError::from(RefreshError::UserInactive)).0, 403);
    }

    #[test]
    fn rest_keeps_the_details_of_a_failure() {
        let (status, body) = sent(ApiError::from(TripCommandError::InvalidTransition {
            from: TripStatus::Arriving,
            to: TripStatus::Completed,
        }));
        assert_eq!(status, 409);
        assert_eq!(body["error"]["code"], "invalid_trip_transition");
        assert_eq!(
            body["error"]["details"],
            json!({"from": "arriving", "to": "completed"})
        );
        let (status, body) = sent(ApiError::from(TripCommandError::Offer(OfferError::Expired)));
        assert_eq!(status, 409);
        assert_eq!(body["error"]["details"], json!({"reason": "offer_expired"}));
    }

    #[test]
    fn an_unexpected_failure_is_a_bare_500() {
        let cause = rodando_ports::Unexpected::msg("store down at 10.0.0.7");
        let (status, body) = sent(ApiError::from(TripCommandError::Unexpected(cause)));
        assert_eq!(status, 500);
        assert_eq!(
            body,
            json!({"error": {"code": "internal", "message": "internal error; it has been logged"}})
        );
    }
}
