//! Live token expiry (PROTOCOL §3): a socket outliving its access token is sent
//! `auth:token_expired` and disconnected, unless `auth:refresh` gave it a newer token first.
//!
//! One timer per node, not one task per socket: every admitted socket registers its expiry in a
//! shared [`DelayQueue`] served by a single task (started by [`crate::attach`]). An entry holds
//! only the socket's namespace, id and a weak reference to its context (~100 bytes, against the
//! ~1 KB of a spawned task with its sleep), so a socket that closes leaves nothing alive: its
//! entry is dropped when it falls due and the context is gone.

use std::sync::{Arc, Mutex, Weak};

use rodando_application::Principal;
use rodando_domain::admission::Namespace;
use rodando_domain::session::CLOCK_LEEWAY;
use rodando_wire::timestamp;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::socket::Sid;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::time::DelayQueue;

use crate::Realtime;
use crate::context::SocketContext;
use crate::reply::EventError;

/// A socket's token deadline, as registered.
struct Watch {
    namespace: Namespace,
    sid: Sid,
    ctx: Weak<SocketContext>,
    /// The expiry this entry was scheduled for; a later one in the context means refreshed.
    expires_at: OffsetDateTime,
}

/// The node's token-expiry timer: sockets register here; one task disconnects the expired.
pub struct ExpiryTimer {
    tx: mpsc::UnboundedSender<Watch>,
    /// Taken by the task when [`ExpiryTimer::start`] runs.
    rx: Mutex<Option<mpsc::UnboundedReceiver<Watch>>>,
}

impl Default for ExpiryTimer {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl ExpiryTimer {
    /// Watches one admitted socket's token until it expires or the socket closes.
    pub(crate) fn watch(&self, sid: Sid, ctx: &Arc<SocketContext>) {
        let watch = Watch {
            namespace: ctx.principal.namespace,
            sid,
            ctx: Arc::downgrade(ctx),
            expires_at: ctx.token_expires_at(),
        };
        // Fails only once the task is gone, that is when the runtime shuts down.
        let _ = self.tx.send(watch);
    }

    /// Starts the timer's task over `io` (once; later calls do nothing).
    pub(crate) fn start<A: Adapter>(&self, io: SocketIo<A>) {
        let rx = self.rx.lock().map(|mut rx| rx.take()).unwrap_or(None);
        if let Some(rx) = rx {
            tokio::spawn(run(io, rx));
        }
    }
}

/// The timer's task: schedules registrations, and on each due entry either reschedules it (the
/// token was refreshed), forgets it (the socket closed) or disconnects the socket.
async fn run<A: Adapter>(io: SocketIo<A>, mut rx: mpsc::UnboundedReceiver<Watch>) {
    let mut queue: DelayQueue<Watch> = DelayQueue::new();
    loop {
        tokio::select! {
            watch = rx.recv() => match watch {
                Some(watch) => schedule(&mut queue, watch),
                None => return,
            },
            Some(due) = std::future::poll_fn(|cx| queue.poll_expired(cx)) => {
                expire(&io, &mut queue, due.into_inner());
            }
        }
    }
}

fn schedule(queue: &mut DelayQueue<Watch>, watch: Watch) {
    let left = watch.expires_at + CLOCK_LEEWAY - OffsetDateTime::now_utc();
    queue.insert(
        watch,
        std::time::Duration::try_from(left).unwrap_or_default(),
    );
}

fn expire<A: Adapter>(io: &SocketIo<A>, queue: &mut DelayQueue<Watch>, mut watch: Watch) {
    let Some(ctx) = watch.ctx.upgrade() else {
        return; // the socket closed
    };
    let current = ctx.token_expires_at();
    if current > watch.expires_at {
        watch.expires_at = current; // refreshed meanwhile
        schedule(queue, watch);
        return;
    }
    let Some(socket) = io
        .of(watch.namespace.path())
        .and_then(|ns| ns.get_socket(watch.sid))
    else {
        return; // closing: its context outlived it for a moment
    };
    let p = &ctx.principal;
    tracing::info!(user_id = %p.user_id, session_id = %p.session_id, ns = p.namespace.path(), sid = %watch.sid, "access token expired: disconnecting");
    // A socket whose buffer is full cannot take the notice or the DISCONNECT now; it is
    // made inert and closed as soon as it can be, like a revoked session's.
    crate::kick::kick(socket, crate::kick::expired_notice(p.session_id));
}

/// `auth:refresh {accessToken}`: a valid access token of the same user and session extends
/// the socket's life. Returns the new expiry.
pub(crate) async fn refresh(
    realtime: &Realtime,
    ctx: &SocketContext,
    payload: Option<&Value>,
) -> Result<OffsetDateTime, EventError> {
    let p: &Principal = &ctx.principal;
    let token = rodando_wire::auth::parse_socket_refresh(crate::reply::readable(payload)?)
        .map_err(|e| EventError::validation(&e))?;
    let fresh = realtime
        .handshake
        .authenticate(Some(&token), p.namespace)
        .await
        .map_err(|refused| {
            EventError(rodando_wire::error::ErrorBody::new(
                refused.refusal.into(),
                "that access token cannot extend this socket",
            ))
        })?;
    if fresh.user_id != p.user_id || fresh.session_id != p.session_id {
        return Err(EventError(rodando_wire::error::ErrorBody::new(
            rodando_wire::error::ErrorCode::Forbidden,
            "the token belongs to another user or session",
        )));
    }
    ctx.extend_token(fresh.token_expires_at);
    tracing::debug!(user_id = %p.user_id, session_id = %p.session_id, expires_at = %timestamp::format(fresh.token_expires_at), "socket token extended");
    Ok(ctx.token_expires_at())
}
