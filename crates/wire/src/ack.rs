//! The answers to client events (PROTOCOL §5): the ack `{ok: true, data}` or
//! `{ok: false, error}`, and the `exception` event a refused event also gets. Typed, so the
//! socket adapter serializes them straight from the structs (no `serde_json::Value` built per
//! event, pings included) and the AsyncAPI check holds them to `docs/asyncapi.yaml`.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ErrorBody, ErrorCode};
use crate::schema::{AlwaysError, AlwaysFalse};

/// Characters of a client's event name echoed back (in `exception`, messages, logs) at most.
pub const MAX_ECHOED_EVENT_CHARS: usize = 100;

/// A client's event name as it may be echoed back: at most [`MAX_ECHOED_EVENT_CHARS`]
/// characters (the name is the client's, of any length the packet limit allows).
pub fn echoed(event: &str) -> String {
    event.chars().take(MAX_ECHOED_EVENT_CHARS).collect()
}

/// `{ok: true, data}`: the ack of an event that succeeded (`data` is the event's answer,
/// documented per event).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AckSuccess<T> {
    ok: bool,
    data: T,
}

impl<T: Serialize> AckSuccess<T> {
    /// The successful ack carrying `data`.
    pub fn new(data: T) -> Self {
        Self { ok: true, data }
    }
}

/// `{ok: false, error}`: the ack of a refused event.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = AckFailure)]
pub struct AckFailure<'a> {
    #[schema(value_type = AlwaysFalse)]
    ok: bool,
    #[schema(value_type = ErrorBody)]
    error: &'a ErrorBody,
}

impl<'a> AckFailure<'a> {
    /// The failed ack carrying `error`.
    pub fn new(error: &'a ErrorBody) -> Self {
        Self { ok: false, error }
    }
}

/// `exception`: the refused event's name and the error, flat, for clients that sent no ack.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = Exception)]
pub struct Exception<'a> {
    #[schema(value_type = AlwaysError)]
    status: &'static str,
    /// The refused event (at most [`MAX_ECHOED_EVENT_CHARS`] characters).
    event: String,
    #[schema(value_type = String)]
    code: ErrorCode,
    message: &'a str,
    /// As in [`ErrorBody`]; `null` when none.
    #[schema(value_type = Option<Value>, required = true)]
    details: Option<&'a Value>,
}

impl<'a> Exception<'a> {
    /// `error`, refusing the client's `event`.
    pub fn new(event: &str, error: &'a ErrorBody) -> Self {
        Self {
            status: "error",
            event: echoed(event),
            code: error.code,
            message: &error.message,
            details: error.details.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_answers_serialize_as_the_contract_has_them() {
        let error = ErrorBody::new(ErrorCode::UnknownEvent, "no such event");
        assert_eq!(
            serde_json::to_value(AckSuccess::new(json!({"a": 1}))).unwrap(),
            json!({"ok": true, "data": {"a": 1}})
        );
        assert_eq!(
            serde_json::to_value(AckFailure::new(&error)).unwrap(),
            json!({"ok": false, "error": {"code": "unknown_event", "message": "no such event"}})
        );
        let long = "x".repeat(300);
        assert_eq!(
            serde_json::to_value(Exception::new(&long, &error)).unwrap(),
            json!({"status": "error", "event": "x".repeat(100), "code": "unknown_event",
                   "message": "no such event", "details": null})
        );
        let detailed = error.with_details(json!({"reason": "r"}));
        assert_eq!(
            serde_json::to_value(Exception::new("e", &detailed)).unwrap()["details"],
            json!({"reason": "r"})
        );
    }
}
