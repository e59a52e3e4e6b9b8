//! Live token expiry (PROTOCOL §3): a socket outliving its access token is sent
//! `auth:token_expired` and disconnected, unless `auth:refresh` gave it a newer token first.

use std::sync::Arc;

use rodando_application::Principal;
use rodando_domain::session::CLOCK_LEEWAY;
use rodando_wire::timestamp;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use time::OffsetDateTime;

use crate::Realtime;
use crate::context::SocketContext;
use crate::reply::EventError;

/// Watches one socket's token until it expires or the socket closes.
pub(crate) fn watch<A: Adapter>(socket: SocketRef<A>, ctx: Arc<SocketContext>) {
    tokio::spawn(async move {
        loop {
            let expires_at = ctx.token_expires_at();
            let left = expires_at + CLOCK_LEEWAY - OffsetDateTime::now_utc();
            let wait = std::time::Duration::try_from(left).unwrap_or_default();
            tokio::select! {
                () = ctx.closed.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            if ctx.token_expires_at() > expires_at {
                continue; // refreshed meanwhile
            }
            let p = &ctx.principal;
            tracing::info!(user_id = %p.user_id, session_id = %p.session_id, ns = p.namespace.path(), sid = %socket.id, "access token expired: disconnecting");
            // A socket whose buffer is full cannot take the notice or the DISCONNECT now; it is
            // made inert and closed as soon as it can be, like a revoked session's.
            crate::kick::kick(socket.clone(), crate::kick::expired_notice(p.session_id));
            return;
        }
    });
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
