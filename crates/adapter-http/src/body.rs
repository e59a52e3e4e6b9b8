//! JSON bodies read as `serde_json::Value`, so field problems are reported by the wire
//! parsers (all at once) and transport problems get JSON errors too.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use rodando_domain::validation::FieldErrors;
use rodando_wire::error::ErrorCode;
use serde_json::Value;

use crate::error::ApiError;

/// A request body that is one JSON document; an empty body reads as `{}` (so optional bodies
/// such as a cancel's `{reason?}` may be left out).
pub(crate) struct JsonBody(pub(crate) Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("bodies are limited to {} bytes", crate::MAX_BODY_BYTES),
                )
            } else {
                // axum's other body rejection is a body that could not be read: 400.
                ApiError::new(ErrorCode::BadRequest, rejection.body_text())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Value::Object(serde_json::Map::new())));
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            let mut errors = FieldErrors::new();
            errors.add("body", format!("must be JSON: {e}"));
            ApiError::validation(&errors)
        })
    }
}
