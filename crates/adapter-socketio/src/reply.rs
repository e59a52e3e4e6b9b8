//! Answers to inbound events (PROTOCOL §5): the ack `{ok, data | error}` and, on failure, the
//! `exception` event so clients that sent no ack still learn of it.

use rodando_application::Principal;
use rodando_application::availability::AvailabilityError;
use rodando_application::trips::TripCommandError;
use rodando_domain::offer::OfferError;
use rodando_domain::validation::FieldErrors;
use rodando_wire::error::ErrorBody;
use rodando_wire::events as names;
use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef};

/// A failed event, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventError(pub(crate) ErrorBody);

impl EventError {
    pub(crate) fn validation(errors: &FieldErrors) -> Self {
        Self(ErrorBody::validation(errors))
    }

    pub(crate) fn unknown_event(event: &str) -> Self {
        Self(ErrorBody::new(
            "unknown_event",
            format!("no such event on this namespace: {}", shorten(event)),
        ))
    }

    pub(crate) fn rate_limited() -> Self {
        Self(ErrorBody::new(
            "rate_limited",
            "too many events; slow down and retry",
        ))
    }

    pub(crate) fn unreadable_payload() -> Self {
        let mut errors = FieldErrors::new();
        errors.add(
            "payload",
            "must be one JSON object (numbers finite, no binary attachments)",
        );
        Self::validation(&errors)
    }

    /// Logs the cause of an unexpected failure with who caused it; the client learns nothing.
    pub(crate) fn internal(
        principal: &Principal,
        event: &str,
        cause: &dyn std::fmt::Debug,
    ) -> Self {
        tracing::error!(user_id = %principal.user_id, session_id = %principal.session_id, event, error = ?cause, "event failed");
        Self(ErrorBody::internal())
    }

    /// The one mapping of availability failures to codes.
    pub(crate) fn from_availability(
        principal: &Principal,
        event: &str,
        e: AvailabilityError,
    ) -> Self {
        match e {
            AvailabilityError::Rule(v) => {
                let code = if v.is_forbidden() {
                    "forbidden"
                } else {
                    "conflict"
                };
                Self(
                    ErrorBody::new(code, v.to_string()).with_details(json!({"reason": v.reason()})),
                )
            }
            AvailabilityError::TripHeldByAnother => Self(
                ErrorBody::new("conflict", "another driver holds that trip")
                    .with_details(json!({"reason": "trip_held_by_another_driver"})),
            ),
            AvailabilityError::Unexpected(cause) => Self::internal(principal, event, &cause),
        }
    }
}

/// The payload of an event that needs one: `None` means the JSON could not be read at all
/// (an overflowing number such as `1e309`, a binary attachment, no argument).
pub(crate) fn readable(payload: Option<&Value>) -> Result<&Value, EventError> {
    payload.ok_or_else(EventError::unreadable_payload)
}

impl EventError {
    /// The one mapping of trip failures to codes.
    pub(crate) fn from_trip(principal: &Principal, event: &str, e: TripCommandError) -> Self {
        let conflict = |reason: &str, message: String| {
            Self(ErrorBody::new("conflict", message).with_details(json!({"reason": reason})))
        };
        match e {
            TripCommandError::NotFound => {
                Self(ErrorBody::new("not_found", "no such trip or offer"))
            }
            TripCommandError::Forbidden | TripCommandError::Offer(OfferError::NotYours) => {
                Self(ErrorBody::new("forbidden", e.to_string()))
            }
            TripCommandError::InvalidTransition { from, to } => Self(
                ErrorBody::new("invalid_transition", e.to_string())
                    .with_details(json!({"from": from.as_str(), "to": to.as_str()})),
            ),
            TripCommandError::ActiveTripExists => conflict("active_trip_exists", e.to_string()),
            TripCommandError::IdempotencyMismatch => {
                conflict("idempotency_key_reused", e.to_string())
            }
            TripCommandError::Offer(OfferError::NotOpen) => {
                conflict("offer_not_open", e.to_string())
            }
            TripCommandError::Offer(OfferError::Expired) => {
                conflict("offer_expired", e.to_string())
            }
            TripCommandError::DriverBusy => conflict("driver_busy", e.to_string()),
            TripCommandError::Changed => conflict("changed", e.to_string()),
            TripCommandError::Unexpected(cause) => Self::internal(principal, event, &cause),
        }
    }
}

/// Sends the ack (if the client asked for one) and, on failure, `exception`.
pub(crate) fn send<A: Adapter>(
    socket: &SocketRef<A>,
    ack: AckSender<A>,
    event: &str,
    result: Result<Value, EventError>,
) {
    let sent = match result {
        Ok(data) => ack.send(&json!({"ok": true, "data": data})),
        Err(EventError(error)) => {
            let exception = json!({
                "status": "error",
                "event": shorten(event),
                "code": error.code,
                "message": error.message,
                "details": error.details,
            });
            crate::metrics::emitted(names::EXCEPTION);
            if let Err(e) = socket.emit(names::EXCEPTION, &exception) {
                tracing::debug!(sid = %socket.id, error = %e, "could not send exception");
            }
            ack.send(&json!({"ok": false, "error": error}))
        }
    };
    if let Err(e) = sent {
        tracing::debug!(sid = %socket.id, error = %e, "could not send ack");
    }
}

/// Event names come from clients: echo at most 100 characters.
fn shorten(event: &str) -> String {
    event.chars().take(100).collect()
}
