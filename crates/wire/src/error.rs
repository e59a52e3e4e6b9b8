//! The error body shared by acks, `exception` events and HTTP responses.

use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// `{code, message, details?}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code clients branch on.
    #[schema(value_type = String, example = "validation_failed")]
    pub code: &'static str,
    /// Human text; never internals.
    pub message: String,
    /// Structured extra information: `{fields: [{field, message}]}` for `validation_failed`,
    /// `{from, to}` for `invalid_trip_transition`.
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
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
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

    /// `validation_failed` naming every bad field: `details.fields = [{field, message}]`.
    pub fn validation(errors: &FieldErrors) -> Self {
        let fields: Vec<Value> = errors
            .iter()
            .map(|e| json!({"field": e.field, "message": e.message}))
            .collect();
        Self::new("validation_failed", format!("invalid input: {errors}"))
            .with_details(json!({ "fields": fields }))
    }

    /// `internal`, with nothing of the cause.
    pub fn internal() -> Self {
        Self::new("internal", "internal error; it has been logged")
    }
}
