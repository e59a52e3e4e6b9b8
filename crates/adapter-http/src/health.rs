//! `/health` (liveness, no I/O) and `/ready` (every dependency answers).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::HttpState;

/// `GET /health`.
pub(crate) async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /ready`: 200 when every check answers, else 503 naming each failure.
pub(crate) async fn ready(State(state): State<HttpState>) -> (StatusCode, Json<Value>) {
    let mut failed = Vec::new();
    for check in &state.checks {
        if let Err(e) = check.check().await {
            tracing::warn!(dependency = check.name(), error = %e, "readiness check failed");
            failed.push(json!({"dependency": check.name(), "message": e.to_string()}));
        }
    }
    if failed.is_empty() {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": {
                "code": "not_ready",
                "message": "a dependency does not answer",
                "details": {"failed": failed},
            }})),
        )
    }
}
