//! The connect middleware: every check of PROTOCOL §3, in order, before the socket enters the
//! namespace. A refusal becomes a `connect_error` whose message is exactly the code.

use std::sync::Arc;

use http::HeaderMap;
use rodando_domain::admission::{Namespace, Refusal};
use rodando_ports::connection_slots::SlotId;
use rodando_wire::error::ErrorCode;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use crate::Realtime;
use crate::context::SocketContext;
use crate::registry::ConnectionSlot;

/// Largest handshake `auth` payload, as JSON. It carries one access token (about 400 bytes; the
/// token service refuses any over 8 KiB); a larger payload is refused as `invalid_token` before
/// anything is verified. The packet limit (`max_payload`, 64 KiB) bounds it first: no bigger
/// CONNECT packet is even read.
pub const MAX_AUTH_BYTES: usize = 10 * 1024;

/// Whether `value` serializes to at most `limit` bytes (counted, never buffered).
fn fits(value: &Value, limit: usize) -> bool {
    struct Count {
        n: usize,
        limit: usize,
    }
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.n += buf.len();
            if self.n > self.limit {
                return Err(std::io::Error::other("over the limit"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(&mut Count { n: 0, limit }, value).is_ok()
}

/// Runs the handshake for one connection attempt.
pub(crate) async fn authenticate<A: Adapter>(
    socket: SocketRef<A>,
    auth: Option<Value>,
    namespace: Namespace,
    realtime: Arc<Realtime>,
) -> Result<(), Refusal> {
    if auth.as_ref().is_some_and(|a| !fits(a, MAX_AUTH_BYTES)) {
        let refusal = Refusal::InvalidToken;
        crate::metrics::refused(namespace, ErrorCode::from(refusal).as_str());
        tracing::info!(ns = namespace.path(), sid = %socket.id, code = ErrorCode::from(refusal).as_str(), limit = MAX_AUTH_BYTES, "connection refused: auth payload too large");
        return Err(refusal);
    }
    let token = token_from(auth.as_ref(), &socket.req_parts().headers);
    let principal = realtime
        .handshake
        .authenticate(token.as_deref(), namespace)
        .await
        .inspect_err(|refused| {
            crate::metrics::refused(namespace, ErrorCode::from(refused.refusal).as_str());
            tracing::info!(ns = namespace.path(), sid = %socket.id, code = ErrorCode::from(refused.refusal).as_str(), reason = %refused.reason, "connection refused");
        })
        .map_err(|refused| refused.refusal)?;
    let id = SlotId::new();
    if !realtime
        .slots
        .acquire(
            principal.user_id,
            id,
            realtime.config.max_connections_per_user,
        )
        .await
    {
        let refusal = Refusal::TooManyConnections;
        crate::metrics::refused(namespace, ErrorCode::from(refusal).as_str());
        tracing::info!(ns = namespace.path(), sid = %socket.id, user_id = %principal.user_id, session_id = %principal.session_id, code = ErrorCode::from(refusal).as_str(), "connection refused: per-user limit reached");
        return Err(refusal);
    }
    let slot = ConnectionSlot::new(Arc::clone(&realtime.slots), principal.user_id, id);
    socket.extensions.insert(Arc::new(SocketContext::new(
        principal,
        slot,
        &realtime.config,
    )));
    Ok(())
}

/// `auth.token` (a `Bearer ` prefix tolerated), else `Authorization: Bearer <token>`.
fn token_from(auth: Option<&Value>, headers: &HeaderMap) -> Option<String> {
    let from_auth = auth
        .and_then(|a| a.get("token"))
        .and_then(Value::as_str)
        .map(strip_bearer)
        .filter(|t| !t.is_empty());
    from_auth
        .or_else(|| {
            headers
                .get(http::header::AUTHORIZATION)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| {
                    let (scheme, token) = h.trim().split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
                })
                .filter(|t| !t.is_empty())
        })
        .map(str::to_owned)
}

fn strip_bearer(token: &str) -> &str {
    let t = token.trim();
    if t.eq_ignore_ascii_case("bearer") {
        return ""; // the scheme with no token is no token
    }
    match t.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => t[7..].trim(),
        _ => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn the_auth_size_is_counted_as_json() {
        let token = json!({"token": "x".repeat(100)});
        assert!(fits(&token, 112));
        assert!(!fits(&token, 111));
        assert!(fits(
            &json!({"token": "x".repeat(8 * 1024)}),
            MAX_AUTH_BYTES
        ));
        assert!(!fits(
            &json!({"token": "x".repeat(11 * 1024)}),
            MAX_AUTH_BYTES
        ));
    }

    #[test]
    fn the_token_comes_from_auth_first_then_the_header() {
        let none = HeaderMap::new();
        assert_eq!(
            token_from(Some(&json!({"token": "a"})), &none).as_deref(),
            Some("a")
        );
        assert_eq!(
            token_from(Some(&json!({"token": "Bearer a"})), &none).as_deref(),
            Some("a")
        );
        assert_eq!(
            token_from(Some(&json!({"token": "a"})), &headers("Bearer b")).as_deref(),
            Some("a")
        );
        assert_eq!(token_from(None, &headers("bearer b")).as_deref(), Some("b"));
        assert_eq!(
            token_from(Some(&json!({"token": ""})), &headers("Bearer b")).as_deref(),
            Some("b")
        );
        assert_eq!(token_from(Some(&json!({"token": 5})), &none), None);
        assert_eq!(token_from(None, &headers("Basic b")), None);
        assert_eq!(token_from(None, &headers("Bearer ")), None);
        assert_eq!(token_from(Some(&json!({"token": "Bearer "})), &none), None);
        assert_eq!(token_from(Some(&json!({"token": " bearer"})), &none), None);
        assert_eq!(token_from(Some(&json!("token")), &none), None);
    }
}
