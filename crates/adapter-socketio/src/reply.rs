//! Answers to inbound events (PROTOCOL §5): the ack `{ok, data | error}` and, on failure, the
//! `exception` event so clients that sent no ack still learn of it.

use rodando_application::Principal;
use rodando_application::availability::AvailabilityError;
use rodando_application::trips::TripCommandError;
use rodando_domain::validation::FieldErrors;
use rodando_wire::ack::{AckFailure, AckSuccess, Exception, echoed};
use rodando_wire::error::{ErrorBody, ErrorCode};
use rodando_wire::events as names;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef};

use crate::events::Answer;

/// A failed event, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventError(pub(crate) ErrorBody);

impl EventError {
    pub(crate) fn validation(errors: &FieldErrors) -> Self {
        Self(ErrorBody::validation(errors))
    }

    pub(crate) fn unknown_event(event: &str) -> Self {
        Self(ErrorBody::new(
            ErrorCode::UnknownEvent,
            format!("no such event on this namespace: {}", echoed(event)),
        ))
    }

    pub(crate) fn rate_limited() -> Self {
        Self(ErrorBody::new(
            ErrorCode::RateLimited,
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

    /// `body`, the wire crate's answer to `cause`; an `internal` one is logged here, where
    /// the caller and event are known.
    fn answer(
        principal: &Principal,
        event: &str,
        body: ErrorBody,
        cause: &dyn std::fmt::Debug,
    ) -> Self {
        if body.is_internal() {
            return Self::internal(principal, event, cause);
        }
        Self(body)
    }

    /// An availability failure, as `rodando_wire::error` maps it for every transport.
    pub(crate) fn from_availability(
        principal: &Principal,
        event: &str,
        e: AvailabilityError,
    ) -> Self {
        Self::answer(principal, event, ErrorBody::from(&e), &e)
    }

    /// A trip failure, as `rodando_wire::error` maps it for every transport (REST too).
    pub(crate) fn from_trip(principal: &Principal, event: &str, e: TripCommandError) -> Self {
        Self::answer(principal, event, ErrorBody::from(&e), &e)
    }
}

/// The payload of an event that needs one: `None` means the JSON could not be read at all
/// (an overflowing number such as `1e309`, a binary attachment, no argument).
pub(crate) fn readable<T>(payload: Option<&T>) -> Result<&T, EventError> {
    payload.ok_or_else(EventError::unreadable_payload)
}

/// The payload read by the wire's `parse`: unreadable, or every bad field in one
/// `validation_failed`.
pub(crate) fn parsed<P, T>(
    payload: Option<&P>,
    parse: impl FnOnce(&P) -> Result<T, FieldErrors>,
) -> Result<T, EventError> {
    parse(readable(payload)?).map_err(|e| EventError::validation(&e))
}

/// Sends the ack (if the client asked for one) and, on failure, `exception`.
pub(crate) fn send<A: Adapter>(
    socket: &SocketRef<A>,
    ack: AckSender<A>,
    event: &str,
    result: Result<Answer, EventError>,
) {
    let sent = match result {
        Ok(data) => ack.send(&AckSuccess::new(data)),
        Err(EventError(error)) => {
            crate::metrics::emitted(names::EXCEPTION);
            if let Err(e) = socket.emit(names::EXCEPTION, &Exception::new(event, &error)) {
                tracing::debug!(sid = %socket.id, error = %e, "could not send exception");
            }
            ack.send(&AckFailure::new(&error))
        }
    };
    if let Err(e) = sent {
        tracing::debug!(sid = %socket.id, error = %e, "could not send ack");
    }
}
