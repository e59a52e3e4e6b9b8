//! The error body shared by acks, `exception` events and HTTP responses.

use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// Fields a `validation_failed` answer lists at most.
pub const MAX_LISTED_FIELDS: usize = 20;
/// Characters of a field name a `validation_failed` answer echoes at most.
pub const MAX_FIELD_NAME_CHARS: usize = 100;

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
        Self::new("validation_failed", format!("invalid input: {message}")).with_details(details)
    }

    /// `internal`, with nothing of the cause.
    pub fn internal() -> Self {
        Self::new("internal", "internal error; it has been logged")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
