//! Ending sockets whose session or token is over, on this node, including the ones that cannot
//! be told.
//!
//! socketioxide disconnects a socket by queueing a DISCONNECT packet and gives up — leaving the
//! socket connected — when that packet cannot be queued, i.e. when the socket's buffer is full
//! because its long-polling client stopped polling. Such a client may still POST events. A
//! socket of an ended session that cannot be disconnected is therefore made inert at once (out of
//! every room, its events dropped unread) and disconnected as soon as its buffer has room again
//! ([`linger`]). engine.io closes it anyway at its next heartbeat, whose ping cannot be queued
//! either.
//!
//! [`revalidate_local_sessions`] re-checks every socket of this node against the store, for
//! kicks that were published while this node could not hear them (a Redis outage).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rodando_application::handshake::Standing;
use rodando_domain::admission::{Namespace, Refusal};
use rodando_domain::ids::{SessionId, UserId};
use rodando_domain::session::RevokeReason;
use rodando_wire::error::ErrorCode;
use rodando_wire::events as names;
use rodando_wire::session::{SessionRef, SessionRevoked};
use serde::Serialize;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::{SendError, SocketError, SocketIo};

use crate::context::SocketContext;
use crate::delivery::Failure;
use crate::{Realtime, metrics};

/// How often a lingering socket is tried again.
const RETRY_EVERY: Duration = Duration::from_millis(500);
/// A safety net only: the retries end long before. While the buffer stays full, engine.io's
/// next heartbeat cannot queue its ping and closes the socket; once the buffer has room, the
/// next retry gets through.
const RETRY_FOR: Duration = Duration::from_secs(600);

/// Marks a socket made inert by [`linger`], so it is lingered once.
#[derive(Clone)]
struct Lingering;

/// The last event a socket that must close gets before its DISCONNECT. The payload is kept
/// serialized: a lingering socket may be sent it again and again.
#[derive(Debug)]
pub(crate) struct Notice {
    event: &'static str,
    payload: Value,
}

impl Notice {
    fn new(event: &'static str, payload: impl Serialize) -> Arc<Self> {
        // The wire structs hold strings only: this cannot fail, and `null` beats a panic.
        let payload = serde_json::to_value(payload).unwrap_or(Value::Null);
        Arc::new(Self { event, payload })
    }
}

/// `auth:session_revoked` (PROTOCOL §2).
pub(crate) fn revoked_notice(session: SessionId, reason: RevokeReason) -> Arc<Notice> {
    Notice::new(
        names::AUTH_SESSION_REVOKED,
        SessionRevoked::new(session, reason),
    )
}

/// `auth:token_expired` (PROTOCOL §3).
pub(crate) fn expired_notice(session: SessionId) -> Arc<Notice> {
    Notice::new(names::AUTH_TOKEN_EXPIRED, SessionRef::from(session))
}

impl Notice {
    /// The payload, for emits to many sockets at once.
    pub(crate) fn payload(&self) -> &Value {
        &self.payload
    }
}

/// Tells `socket` why it must close and disconnects it; a socket that cannot take either
/// packet now lingers inert until it can.
pub(crate) fn kick<A: Adapter>(socket: SocketRef<A>, notice: Arc<Notice>) {
    if !try_kick(&socket, &notice) {
        linger(socket, notice);
    }
}

/// Whether `socket` was told and disconnected (or is gone already).
fn try_kick<A: Adapter>(socket: &SocketRef<A>, notice: &Notice) -> bool {
    if !socket.connected() {
        return true;
    }
    metrics::emitted(notice.event);
    if let Err(SendError::Socket(SocketError::InternalChannelFull)) =
        socket.emit(notice.event, &notice.payload)
    {
        metrics::emit_failed(Failure::Full.as_str(), 1);
        return false;
    }
    match socket.clone().disconnect() {
        Ok(()) => true,
        Err(e) => {
            metrics::emit_failed(Failure::of_socket(&e).as_str(), 1);
            false
        }
    }
}

/// Makes `socket` (of an ended session, not disconnectable now) inert and keeps trying to tell
/// and disconnect it. The notice may then arrive twice if the first one got through but the
/// DISCONNECT did not: clients treat it as idempotent (PROTOCOL: "do not reconnect").
fn linger<A: Adapter>(socket: SocketRef<A>, notice: Arc<Notice>) {
    if socket.extensions.insert(Lingering).is_some() {
        return; // already lingering
    }
    socket.leave_all();
    let on_event = Arc::clone(&notice);
    // Replaces the handler of connection.rs (every event goes through the fallback): whatever
    // the client still sends is dropped, and taken as a sign it may be reading again.
    socket.on_fallback(move |socket: SocketRef<A>| {
        let notice = Arc::clone(&on_event);
        async move {
            let _ = try_kick(&socket, &notice);
        }
    });
    // Once per socket (the marker), so not rate limited.
    match socket.extensions.get::<Arc<SocketContext>>() {
        Some(ctx) => {
            let p = &ctx.principal;
            tracing::warn!(sid = %socket.id, ns = p.namespace.path(), user_id = %p.user_id, session_id = %p.session_id, "socket of an ended session cannot take its DISCONNECT (buffer full): inert until it can");
        }
        None => {
            tracing::warn!(sid = %socket.id, ns = socket.ns(), "socket of an ended session cannot take its DISCONNECT (buffer full): inert until it can");
        }
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RETRY_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let deadline = tokio::time::Instant::now() + RETRY_FOR;
        while tokio::time::Instant::now() < deadline {
            tick.tick().await;
            if !socket.connected() {
                return; // closed meanwhile (its heartbeat, or its client)
            }
            if try_kick(&socket, &notice) {
                tracing::info!(sid = %socket.id, ns = socket.ns(), "socket of an ended session disconnected once its buffer had room");
                return;
            }
        }
        tracing::warn!(sid = %socket.id, ns = socket.ns(), "socket of an ended session still cannot be disconnected; inert, left to the engine.io heartbeat");
    });
}

/// After a session kick: the local sockets of `room` in `namespace` still connected were not
/// disconnected — their buffers are full, or the adapter failed before it reached them. Each is
/// kicked directly (the latter then goes at once) or lingers inert until it can be.
pub(crate) fn kick_survivors<A: Adapter>(
    io: &SocketIo<A>,
    namespace: Namespace,
    room: &str,
    notice: &Arc<Notice>,
) {
    let Some(ops) = io.of(namespace.path()) else {
        return;
    };
    for socket in ops.to(room.to_owned()).sockets() {
        if socket.connected() {
            kick(socket, Arc::clone(notice));
        }
    }
}

/// Re-verifies the session of every socket on this node against the store, as the handshake
/// checks it (user active and fit for the namespace, session live), and kicks those that no
/// longer pass with `auth:session_revoked` (the stored reason, else `admin`). Returns how many
/// were kicked.
///
/// Meant for when cross-node delivery recovers: a logout or theft detection handled by another
/// node while Redis was down never reached this node's sockets. Each session is looked up once.
/// A session whose access expiry passed is left to the socket's expiry watch, which sends
/// `auth:token_expired` so the client refreshes instead of logging out. A store failure stops
/// the pass (the store is likely down; every lookup would wait for it): call it again later.
pub async fn revalidate_local_sessions<A: Adapter>(io: &SocketIo<A>, realtime: &Realtime) -> usize {
    let mut verdicts: HashMap<(SessionId, UserId, Namespace), Standing> = HashMap::new();
    let mut kicked = 0;
    let mut checked = 0;
    for namespace in Namespace::ALL {
        let Some(ops) = io.of(namespace.path()) else {
            continue;
        };
        for socket in ops.broadcast().sockets() {
            if !socket.connected() || socket.extensions.get::<Lingering>().is_some() {
                continue;
            }
            let Some(ctx) = socket.extensions.get::<Arc<SocketContext>>() else {
                continue;
            };
            let p = &ctx.principal;
            let key = (p.session_id, p.user_id, p.namespace);
            let standing = match verdicts.get(&key) {
                Some(standing) => *standing,
                None => match realtime.handshake.recheck(p).await {
                    Ok(standing) => {
                        checked += 1;
                        verdicts.insert(key, standing);
                        standing
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, checked, kicked, "session revalidation stopped: the store did not answer");
                        return kicked;
                    }
                },
            };
            let Standing::Lapsed { refusal, revoked } = standing else {
                continue;
            };
            if refusal == Refusal::SessionExpired {
                continue;
            }
            let reason = revoked.unwrap_or(RevokeReason::Admin);
            tracing::info!(sid = %socket.id, ns = namespace.path(), user_id = %p.user_id, session_id = %p.session_id, code = ErrorCode::from(refusal).as_str(), reason = reason.as_str(), "session no longer live: disconnecting");
            kick(socket, revoked_notice(p.session_id, reason));
            kicked += 1;
        }
    }
    tracing::info!(sessions = checked, kicked, "local sessions revalidated");
    kicked
}
