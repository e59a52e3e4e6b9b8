//! `/health` (liveness, no I/O) and `/ready` (every dependency answers).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rodando_wire::error::{ErrorBody, ErrorCode, ErrorResponse};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::HttpState;

/// `{"status": "ok"}` or `{"status": "ready"}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Status {
    /// `ok` (liveness) or `ready` (readiness).
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// Liveness: the process answers. Does no I/O.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "`{\"status\": \"ok\"}`.", body = Status))
)]
pub(crate) async fn health() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Readiness: every dependency (the store, Redis when configured) answers.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`.", body = Status),
        (status = 503, description = "`not_ready`; `details.failed` names each dependency that did not answer (`[{\"dependency\": \"redis\"}]`); why is in the server's log only.", body = ErrorResponse),
    )
)]
pub(crate) async fn ready(State(state): State<HttpState>) -> Response {
    let mut failed = Vec::new();
    for check in &state.checks {
        if let Err(e) = check.check().await {
            // The error text (hosts, addresses, driver messages) goes to the log only: `/ready`
            // is open to anyone who can reach the port.
            tracing::warn!(dependency = check.name(), error = %e, "readiness check failed");
            failed.push(json!({ "dependency": check.name() }));
        }
    }
    if failed.is_empty() {
        (StatusCode::OK, Json(Status { status: "ready" })).into_response()
    } else {
        let error = ErrorBody::new(ErrorCode::NotReady, "a dependency does not answer")
            .with_details(json!({ "failed": failed }));
        (error.code.http_status(), Json(ErrorResponse { error })).into_response()
    }
}
