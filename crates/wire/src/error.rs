//! The error body shared by acks, `exception` events and HTTP responses.

use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::{Value, json};

/// `{code, message, details?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorBody {
    /// Stable snake_case code clients branch on.
    pub code: &'static str,
    /// Human text; never internals.
    pub message: String,
    /// Structured extra information, e.g. each bad field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
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
