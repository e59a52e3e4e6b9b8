//! `/api/users/{id}`: operators ban, deactivate and re-activate users.

use axum::Json;
use axum::extract::{Path, State};
use rodando_application::user_status::{Operator, UserRef};
use rodando_domain::ids::UserId;
use rodando_wire::error::ErrorResponse;
use rodando_wire::users::{UserBody, parse_user_status_body};

use crate::HttpState;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::principal::Caller;

/// Set a user's status (admins). `inactive` or `banned` ends every session of the user at once
/// (its sockets on every node get `auth:session_revoked` with `reason: "admin"` and are
/// disconnected), makes a driver unmatchable and releases its open offer (the trip moves to the
/// next driver); its logins then answer 403 `user_inactive`. `active` lets it log in again.
/// Every change is written to the log with the admin and session that made it.
#[utoipa::path(
    patch,
    path = "/api/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, format = "uuid", description = "The user.")),
    request_body = rodando_wire::users::UserStatusBody,
    responses(
        (status = 200, description = "The user, with its new status.", body = UserBody),
        (status = 400, description = "`validation_failed`: `status` missing or not `active`, `inactive` or `banned`, or an unknown field.", body = ErrorResponse),
        (status = 401, description = "Bearer token refused.", body = ErrorResponse),
        (status = 403, description = "`forbidden`: not an admin.", body = ErrorResponse),
        (status = 404, description = "`not_found`: no such user.", body = ErrorResponse),
    )
)]
pub(crate) async fn set_status(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<UserBody>, ApiError> {
    let status = parse_user_status_body(&body).map_err(|e| ApiError::validation(&e))?;
    // An id that is not a UUID names no user; the use case still refuses a non-admin first,
    // so only admins learn whether a user exists.
    let target = UserId::parse(&id).map_or(UserRef::Nobody, UserRef::Id);
    let operator = Operator::User(caller.0);
    let changed = state
        .user_status
        .set_status(&operator, &target, status)
        .await?;
    Ok(Json(UserBody::from(&changed.user)))
}
