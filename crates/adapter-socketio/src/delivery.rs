//! What happens when an outbound emit does not get through.
//!
//! A broadcast to a room is tried on every socket of the room; socketioxide then reports the
//! sockets it could not reach (`BroadcastError::Socket`: a full packet buffer — a long-polling
//! client that stopped polling — or a socket already closing). Those are facts about single
//! sockets, not failures of the notification: they are counted in
//! [`metrics::EMIT_FAILURES`], logged (rate limited, see [`LogLimiter`]) and absorbed, so the
//! notification goes on to its other rooms and steps. Only a failure of the rooms adapter
//! itself (e.g. Redis) or of encoding is returned to the caller, after being counted and
//! logged the same way.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use rodando_domain::admission::Namespace;
use rodando_ports::Unexpected;
use serde::{Serialize, Serializer};
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;
use socketioxide::{BroadcastError, SendError, SocketError, SocketIo};
use socketioxide_core::adapter::RoomParam;
use tokio::time::Instant;

use crate::context::SocketContext;
use crate::metrics;
use crate::sync::lock;

/// Why an outbound operation did not get through: the `reason` label, a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The socket's packet buffer is full (its client stopped reading).
    Full,
    /// The socket is closed or closing.
    Closed,
    /// The rooms adapter failed (with Redis: the connection or a remote request).
    Adapter,
    /// The payload could not be encoded.
    Encode,
}

impl Failure {
    /// The label value.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Closed => "closed",
            Self::Adapter => "adapter",
            Self::Encode => "encode",
        }
    }

    /// The failure of one socket.
    pub(crate) const fn of_socket(error: &SocketError) -> Self {
        match error {
            SocketError::InternalChannelFull => Self::Full,
            SocketError::Closed => Self::Closed,
        }
    }
}

/// What a log line is about, for [`LogLimiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// One socket.
    Socket(Sid),
    /// Sockets of a namespace that failed but could not be named (see [`probe`]).
    Unnamed(Namespace),
    /// An adapter-level failure of one kind of operation.
    Adapter(&'static str),
    /// The search for the failing sockets of a namespace (see [`absorb_emit`]).
    Search(Namespace),
}

/// At most one log line per key per window.
///
/// Why: a stalled socket fails every emit addressed to it — each ping of its driver, every
/// update of the fleet room, hundreds a second — and one line per failure would bury the log
/// under one fact; the counter carries the volume, the log names the socket once a minute.
/// The map is bounded ([`LogLimiter::MAX_KEYS`]) and pruned of expired keys whenever it is
/// full, so a mass stall cannot grow it without bound; while it is full of fresh keys, new keys
/// are not logged (they are still counted).
pub(crate) struct LogLimiter {
    window: Duration,
    last: Mutex<HashMap<Key, Instant>>,
}

impl LogLimiter {
    /// Keys remembered at most.
    pub(crate) const MAX_KEYS: usize = 4096;

    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a line about `key` may be written at `now` (and if so, remembers it).
    pub(crate) fn allow(&self, key: Key, now: Instant) -> bool {
        let mut last = lock(&self.last);
        if let Some(at) = last.get_mut(&key) {
            if now.saturating_duration_since(*at) < self.window {
                return false;
            }
            *at = now;
            return true;
        }
        if last.len() >= Self::MAX_KEYS {
            let window = self.window;
            last.retain(|_, at| now.saturating_duration_since(*at) < window);
            if last.len() >= Self::MAX_KEYS {
                return false;
            }
        }
        last.insert(key, now);
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.last).len()
    }
}

/// Log lines about failing sockets and adapters: once per minute per socket or operation.
static LOGS: LazyLock<LogLimiter> = LazyLock::new(|| LogLimiter::new(Duration::from_secs(60)));

/// Searches for the sockets behind failures: once per second per namespace, because each search
/// looks at every local socket of the rooms; a socket that keeps failing is named by a later one.
static SEARCHES: LazyLock<LogLimiter> = LazyLock::new(|| LogLimiter::new(Duration::from_secs(1)));

/// Whether a line about `key` may be logged now.
pub(crate) fn may_log(key: Key) -> bool {
    LOGS.allow(key, Instant::now())
}

/// A payload that never encodes: emitting it tells whether a socket has room without sending
/// anything.
struct Probe;

impl Serialize for Probe {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(<S::Error as serde::ser::Error>::custom("delivery probe"))
    }
}

/// Whether `socket` can take a packet now: `None` when it can, else why not. socketioxide
/// reserves the buffer slot before encoding and releases it unused when encoding fails, so the
/// probe sends nothing. (Were that order ever reversed, every socket would look fine and the
/// failures would be logged unnamed: never a wrong name.)
pub(crate) fn probe<A: Adapter>(socket: &SocketRef<A>) -> Option<Failure> {
    match socket.emit("probe", &Probe) {
        Err(SendError::Socket(e)) => Some(Failure::of_socket(&e)),
        Err(SendError::Serialize(_)) | Ok(()) => None,
    }
}

/// Logs (rate limited) that `socket` could not be sent `what`.
pub(crate) fn log_socket<A: Adapter>(socket: &SocketRef<A>, what: &str, failure: Failure) {
    if !may_log(Key::Socket(socket.id)) {
        return;
    }
    match socket.extensions.get::<Arc<SocketContext>>() {
        Some(ctx) => {
            let p = &ctx.principal;
            tracing::warn!(sid = %socket.id, ns = p.namespace.path(), user_id = %p.user_id, session_id = %p.session_id, what, reason = failure.as_str(), "socket not reachable; the others still got it (logged once a minute per socket)");
        }
        None => {
            tracing::warn!(sid = %socket.id, ns = socket.ns(), what, reason = failure.as_str(), "socket not reachable; the others still got it (logged once a minute per socket)");
        }
    }
}

/// Counts and logs an adapter or encoding failure of `what` and turns it into the error the
/// notification reports once its other steps have run.
pub(crate) fn failed(
    failure: Failure,
    namespace: Namespace,
    what: &'static str,
    error: &dyn Display,
) -> Unexpected {
    metrics::emit_failed(failure.as_str(), 1);
    if may_log(Key::Adapter(what)) {
        tracing::warn!(ns = namespace.path(), what, reason = failure.as_str(), error = %error, "socket.io operation failed; the notification's other steps still run (logged once a minute per operation)");
    }
    Unexpected::msg(format!(
        "socket.io {what} failed in {}: {error}",
        namespace.path()
    ))
}

/// Settles the result of emitting `what` to `rooms` of `namespace`: unreachable sockets are
/// counted, named in the log (rate limited) and absorbed; an adapter or encoding failure is
/// returned.
pub(crate) fn absorb_emit<A: Adapter>(
    io: &SocketIo<A>,
    namespace: Namespace,
    rooms: impl RoomParam,
    what: &'static str,
    result: Result<(), BroadcastError>,
) -> Result<(), Unexpected> {
    settle(namespace, what, result, |errors| {
        name_failing(io, namespace, rooms, what, errors.len());
    })
}

/// Settles the result of a disconnect broadcast: sockets that could not be told to leave are
/// counted (the caller deals with them: they are still connected); an adapter failure is
/// returned.
pub(crate) fn absorb_disconnect(
    namespace: Namespace,
    result: Result<(), BroadcastError>,
) -> Result<(), Unexpected> {
    settle(namespace, "disconnect", result, |_| {})
}

/// Counts unreachable sockets and hands them to `unreachable` (the broadcast itself went out);
/// an adapter or encoding failure of `what` becomes the error.
fn settle(
    namespace: Namespace,
    what: &'static str,
    result: Result<(), BroadcastError>,
    unreachable: impl FnOnce(&[SocketError]),
) -> Result<(), Unexpected> {
    match result {
        Ok(()) => Ok(()),
        Err(BroadcastError::Socket(errors)) => {
            count_sockets(&errors);
            unreachable(&errors);
            Ok(())
        }
        Err(BroadcastError::Serialize(e)) => Err(failed(Failure::Encode, namespace, what, &e)),
        Err(BroadcastError::Adapter(e)) => Err(failed(Failure::Adapter, namespace, what, &e)),
    }
}

fn count_sockets(errors: &[SocketError]) {
    let full = errors
        .iter()
        .filter(|e| Failure::of_socket(e) == Failure::Full)
        .count();
    let closed = errors.len() - full;
    if full > 0 {
        metrics::emit_failed(Failure::Full.as_str(), full as u64);
    }
    if closed > 0 {
        metrics::emit_failed(Failure::Closed.as_str(), closed as u64);
    }
}

/// Names (in the log) the local sockets of `rooms` that cannot take a packet, since
/// socketioxide reports how many failed but not which.
fn name_failing<A: Adapter>(
    io: &SocketIo<A>,
    namespace: Namespace,
    rooms: impl RoomParam,
    what: &'static str,
    failures: usize,
) {
    if !SEARCHES.allow(Key::Search(namespace), Instant::now()) {
        return;
    }
    let mut named = 0;
    if let Some(ops) = io.of(namespace.path()) {
        for socket in ops.to(rooms).sockets() {
            if let Some(failure) = probe(&socket) {
                named += 1;
                log_socket(&socket, what, failure);
            }
        }
    }
    if named < failures && may_log(Key::Unnamed(namespace)) {
        tracing::warn!(
            ns = namespace.path(),
            what,
            failed = failures - named,
            "sockets not reachable (not found by name); the others still got it"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_logged_once_per_window() {
        let limiter = LogLimiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let a = Key::Adapter("emit");
        let b = Key::Adapter("join");
        assert!(limiter.allow(a, t0));
        assert!(!limiter.allow(a, t0 + Duration::from_secs(59)));
        assert!(
            limiter.allow(b, t0 + Duration::from_secs(59)),
            "other keys are not held back"
        );
        assert!(limiter.allow(a, t0 + Duration::from_secs(60)));
        assert!(!limiter.allow(a, t0 + Duration::from_secs(61)));
    }

    #[test]
    fn the_map_stays_bounded_and_expired_keys_make_room() {
        let limiter = LogLimiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..LogLimiter::MAX_KEYS {
            assert!(limiter.allow(Key::Socket(Sid::new()), t0));
        }
        assert_eq!(limiter.len(), LogLimiter::MAX_KEYS);
        assert!(
            !limiter.allow(Key::Socket(Sid::new()), t0 + Duration::from_secs(1)),
            "full of fresh keys: a new one is not logged"
        );
        assert_eq!(limiter.len(), LogLimiter::MAX_KEYS);
        assert!(
            limiter.allow(Key::Socket(Sid::new()), t0 + Duration::from_secs(60)),
            "once the window passed, the old keys are pruned"
        );
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn every_socket_error_has_a_reason() {
        assert_eq!(
            Failure::of_socket(&SocketError::InternalChannelFull).as_str(),
            "full"
        );
        assert_eq!(Failure::of_socket(&SocketError::Closed).as_str(), "closed");
    }
}
