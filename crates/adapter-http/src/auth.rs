//! `/api/auth/*`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use rodando_wire::auth::{SessionTokensBody, parse_login, parse_refresh};
use rodando_wire::error::{ErrorCode, ErrorResponse};

use crate::HttpState;
use crate::body::JsonBody;
use crate::error::ApiError;

/// Log in: checks the credentials and opens a session.
///
/// The answer to wrong credentials is the same whether the user exists or not.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    request_body = rodando_wire::schema::LoginBody,
    responses(
        (status = 200, description = "A new session and its token pair.", body = SessionTokensBody),
        (status = 400, description = "`validation_failed`: every bad or unknown field in `details.fields`.", body = ErrorResponse),
        (status = 401, description = "`invalid_credentials`.", body = ErrorResponse),
        (status = 403, description = "`user_inactive`, or `audience_mismatch` when `appAudience` does not fit the user's type.", body = ErrorResponse),
        (status = 413, description = "`payload_too_large`: bodies are limited to 64 KiB.", body = ErrorResponse),
    )
)]
pub(crate) async fn login(
    State(state): State<HttpState>,
    JsonBody(body): JsonBody,
) -> Result<Json<SessionTokensBody>, ApiError> {
    let request = parse_login(&body).map_err(|e| ApiError::validation(&e))?;
    let tokens = state.auth.login(request).await?;
    Ok(Json(tokens.into()))
}

/// Rotate the session's tokens.
///
/// The refresh token stops working at once. Presenting a used one again ends the whole session
/// (theft detection) and disconnects its sockets. The session's sockets get
/// `auth:session_refreshed`.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    request_body = rodando_wire::schema::RefreshBody,
    responses(
        (status = 200, description = "A new token pair of the same session.", body = SessionTokensBody),
        (status = 400, description = "`validation_failed`.", body = ErrorResponse),
        (status = 401, description = "`invalid_token`, `token_expired`, `session_revoked`, `session_expired` or `refresh_token_reused`: log in again.", body = ErrorResponse),
        (status = 403, description = "`user_inactive`.", body = ErrorResponse),
    )
)]
pub(crate) async fn refresh(
    State(state): State<HttpState>,
    JsonBody(body): JsonBody,
) -> Result<Json<SessionTokensBody>, ApiError> {
    let token = parse_refresh(&body).map_err(|e| ApiError::validation(&e))?;
    let tokens = state.auth.refresh(&token).await?;
    Ok(Json(tokens.into()))
}

/// Log out: ends the session of the bearer access token.
///
/// The session's sockets get `auth:session_revoked` `{sessionId, reason: "logout"}` and are
/// disconnected at once, on every node.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is revoked."),
        (status = 401, description = "`missing_token`, `invalid_token` or `token_expired`.", body = ErrorResponse),
    )
)]
pub(crate) async fn logout(
    State(state): State<HttpState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers).ok_or_else(|| {
        ApiError::new(
            ErrorCode::MissingToken,
            "send Authorization: Bearer <access token>",
        )
    })?;
    state.auth.logout(token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
