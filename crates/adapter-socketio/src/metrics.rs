//! What the transport counts for `GET /metrics` (PROTOCOL §2), through the `metrics` facade.
//! The app installs a Prometheus recorder; without one (unit tests) these calls do nothing.
//!
//! Every label value is a `&'static str` from a closed set (namespaces, refusal codes, the
//! event names of `rodando_wire::events`, error codes), never a client's string, so a client
//! cannot grow the series without bound.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Histogram};

use rodando_domain::admission::Namespace;
use rodando_wire::events as names;

/// Sockets open on this node, by namespace.
pub const SOCKETS: &str = "rodando_socket_connections";
/// Handshakes by namespace and outcome (`admitted` or the refusal code).
pub const HANDSHAKES: &str = "rodando_handshakes_total";
/// Inbound events by namespace and name (`unknown` for names outside the contract).
pub const EVENTS_IN: &str = "rodando_events_in_total";
/// Inbound events answered with an error, by code.
pub const EVENT_ERRORS: &str = "rodando_event_errors_total";
/// Time from an inbound event's arrival to its ack, by event.
pub const ACK_SECONDS: &str = "rodando_ack_duration_seconds";
/// Emits out by event name: one per emit call (a broadcast to a room counts once).
pub const EMITS_OUT: &str = "rodando_emits_total";
/// Dispatch outcomes: offered, accepted, rejected, expired, no_drivers_found, cancelled.
pub const DISPATCH: &str = "rodando_dispatch_outcomes_total";
/// Outbound emits (and disconnects) that did not get through, by reason: `full` (a socket's
/// packet buffer is full: a stalled client), `closed` (the socket was closing), `adapter` (the
/// rooms adapter, e.g. Redis, failed), `encode` (the payload could not be encoded). One per
/// socket for the first two, one per operation for the others.
pub const EMIT_FAILURES: &str = "rodando_emit_failures_total";

/// A socket entered `namespace`.
pub(crate) fn connected(namespace: Namespace) {
    metrics::gauge!(SOCKETS, "namespace" => namespace.path()).increment(1.0);
    metrics::counter!(HANDSHAKES, "namespace" => namespace.path(), "outcome" => "admitted")
        .increment(1);
}

/// A socket of `namespace` left.
pub(crate) fn disconnected(namespace: Namespace) {
    metrics::gauge!(SOCKETS, "namespace" => namespace.path()).decrement(1.0);
}

/// A handshake was refused with `code`.
pub(crate) fn refused(namespace: Namespace, code: &'static str) {
    metrics::counter!(HANDSHAKES, "namespace" => namespace.path(), "outcome" => code).increment(1);
}

/// The label of an inbound event name: the contract's own constant, or `unknown`.
pub(crate) fn inbound_label(namespace: Namespace, event: &str) -> &'static str {
    names::of(namespace)
        .inbound
        .iter()
        .copied()
        .find(|known| *known == event)
        .unwrap_or("unknown")
}

/// An inbound event was answered after `elapsed`, with `error` when it failed.
pub(crate) fn answered(
    namespace: Namespace,
    event: &'static str,
    elapsed: Duration,
    error: Option<&'static str>,
) {
    // `event` is an [`inbound_label`], so it is always there; the macros are only the way
    // round a panic.
    match handles().inbound.get(&(namespace, event)) {
        Some(series) => {
            series.events_in.increment(1);
            series.ack_seconds.record(elapsed.as_secs_f64());
        }
        None => {
            metrics::counter!(EVENTS_IN, "namespace" => namespace.path(), "event" => event)
                .increment(1);
            metrics::histogram!(ACK_SECONDS, "event" => event).record(elapsed.as_secs_f64());
        }
    }
    if let Some(code) = error {
        metrics::counter!(EVENT_ERRORS, "event" => event, "code" => code).increment(1);
    }
}

/// One emit of `event` left this node.
pub(crate) fn emitted(event: &'static str) {
    match handles().emits.get(event) {
        Some(counter) => counter.increment(1),
        None => metrics::counter!(EMITS_OUT, "event" => event).increment(1),
    }
}

/// The series of an inbound event: [`EVENTS_IN`] and [`ACK_SECONDS`].
struct InboundSeries {
    events_in: Counter,
    ack_seconds: Histogram,
}

/// The handles of the series every ping and every emit record to, registered once. Recording
/// through `counter!(name, labels…)` builds a labelled key (a `Vec` of labels) and looks it up
/// in the recorder's registry each time: three allocations and three look-ups per ping.
struct Handles {
    /// By namespace and [`inbound_label`] (`unknown` included).
    inbound: HashMap<(Namespace, &'static str), InboundSeries>,
    /// [`EMITS_OUT`] by the contract's outbound event names; another name is counted the slow
    /// way.
    emits: HashMap<&'static str, Counter>,
}

/// Registered on first use, which is after the app installed its recorder (the first event or
/// emit of a socket); without one (unit tests) the handles do nothing, as the macros would.
fn handles() -> &'static Handles {
    static HANDLES: OnceLock<Handles> = OnceLock::new();
    HANDLES.get_or_init(|| {
        let mut inbound = HashMap::new();
        for namespace in Namespace::ALL {
            let events = names::of(namespace).inbound.iter().copied();
            for event in events.chain(["unknown"]) {
                let series = InboundSeries {
                    events_in: metrics::counter!(EVENTS_IN, "namespace" => namespace.path(), "event" => event),
                    ack_seconds: metrics::histogram!(ACK_SECONDS, "event" => event),
                };
                inbound.insert((namespace, event), series);
            }
        }
        let emits = names::OUTBOUND
            .iter()
            .map(|&event| (event, metrics::counter!(EMITS_OUT, "event" => event)))
            .collect();
        Handles { inbound, emits }
    })
}

/// An outbound operation failed for `reason` (see [`EMIT_FAILURES`]), `count` times.
pub(crate) fn emit_failed(reason: &'static str, count: u64) {
    metrics::counter!(EMIT_FAILURES, "reason" => reason).increment(count);
}

/// A dispatch step happened.
pub(crate) fn dispatch(outcome: &'static str) {
    metrics::counter!(DISPATCH, "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_contracts_names_become_labels() {
        assert_eq!(
            inbound_label(Namespace::Drivers, "driver:location:ping"),
            names::DRIVER_LOCATION_PING
        );
        assert_eq!(
            inbound_label(Namespace::Passengers, "driver:location:ping"),
            "unknown",
            "another namespace's event is unknown here"
        );
        assert_eq!(
            inbound_label(Namespace::Admin, &"x".repeat(10_000)),
            "unknown"
        );
    }
}
