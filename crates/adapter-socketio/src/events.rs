//! The single entry point of every inbound event: rate limit, route by namespace, reply.

use std::sync::Arc;

use rodando_domain::admission::Namespace;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef};
use tracing::Instrument;

use crate::context::SocketContext;
use crate::reply::{self, EventError};
use crate::{Realtime, admin, drivers, expiry, passengers};

/// Handles one event from an admitted socket.
pub(crate) async fn handle<A: Adapter>(
    socket: SocketRef<A>,
    realtime: Arc<Realtime>,
    event: String,
    payload: Option<Value>,
    ack: AckSender<A>,
) {
    let Some(ctx) = socket.extensions.get::<Arc<SocketContext>>() else {
        // Only admitted sockets get handlers; this would be a bug, never a client's doing.
        tracing::error!(sid = %socket.id, "event on a socket without context");
        return;
    };
    let p = &ctx.principal;
    let span = tracing::debug_span!("event", event = %event.chars().take(100).collect::<String>(), user_id = %p.user_id, session_id = %p.session_id, ns = p.namespace.path());
    if ctx.limiter.check().is_err() {
        tracing::debug!(parent: &span, "rate limited");
        reply::send(&socket, ack, &event, Err(EventError::rate_limited()));
        return;
    }
    if event == "auth:refresh" {
        // Answered as PROTOCOL §3 has it: {ok, accessTokenExpiresAt} (and the usual data).
        match expiry::refresh(&realtime, &ctx, payload.as_ref()).await {
            Ok(expires_at) => {
                let at = rodando_wire::timestamp::format(expires_at);
                let _ = ack.send(&serde_json::json!({"ok": true, "accessTokenExpiresAt": at, "data": {"accessTokenExpiresAt": at}}));
            }
            Err(e) => reply::send(&socket, ack, &event, Err(e)),
        }
        return;
    }
    let result = async {
        let payload = payload.as_ref();
        match p.namespace {
            Namespace::Drivers => drivers::route(&realtime, p, &event, payload).await,
            Namespace::Admin => admin::route(&socket, &realtime, p, &event, payload).await,
            Namespace::Passengers => passengers::route(&realtime, p, &event, payload).await,
        }
    }
    .instrument(span)
    .await;
    reply::send(&socket, ack, &event, result);
}
