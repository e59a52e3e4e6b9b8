//! `/api/auth/*`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use rodando_wire::auth::{SessionTokensBody, parse_login, parse_refresh};

use crate::HttpState;
use crate::body::JsonBody;
use crate::error::ApiError;

/// `POST /api/auth/login`.
pub(crate) async fn login(
    State(state): State<HttpState>,
    JsonBody(body): JsonBody,
) -> Result<Json<SessionTokensBody>, ApiError> {
    let request = parse_login(&body).map_err(|e| ApiError::validation(&e))?;
    let tokens = state.auth.login(request).await?;
    Ok(Json(tokens.into()))
}

/// `POST /api/auth/refresh`.
pub(crate) async fn refresh(
    State(state): State<HttpState>,
    JsonBody(body): JsonBody,
) -> Result<Json<SessionTokensBody>, ApiError> {
    let token = parse_refresh(&body).map_err(|e| ApiError::validation(&e))?;
    let tokens = state.auth.refresh(&token).await?;
    Ok(Json(tokens.into()))
}

/// `POST /api/auth/logout` with `Authorization: Bearer <access token>`.
pub(crate) async fn logout(
    State(state): State<HttpState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
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
