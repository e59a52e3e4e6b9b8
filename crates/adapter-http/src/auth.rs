//! `/api/auth/*`.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use rodando_application::auth::{LoginError, LoginIdentifier, RefreshError};
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
        (status = 429, description = "`rate_limited`: too many failed logins to this account from this address (5 a minute), or from this address in all (30 a minute); `Retry-After` says when to try again. Other addresses are not affected.", body = ErrorResponse),
        (status = 503, description = "`busy`: too many password checks waiting; `Retry-After: 1`.", body = ErrorResponse),
    )
)]
pub(crate) async fn login(
    State(state): State<HttpState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody,
) -> Result<Json<SessionTokensBody>, ApiError> {
    let request = parse_login(&body).map_err(|e| ApiError::validation(&e))?;
    let account = match &request.identifier {
        LoginIdentifier::Email(email) => email.as_str().to_owned(),
        LoginIdentifier::Phone(phone) => phone.as_str().to_owned(),
    };
    let keys = state.throttle.login_keys(&account, address);
    if let Some(wait) = state.throttle.check(&keys).await {
        return Err(rate_limited(
            "too many failed logins; try again later",
            wait,
        ));
    }
    match state.auth.login(request).await {
        Ok(tokens) => Ok(Json(tokens.into())),
        Err(e @ LoginError::InvalidCredentials) => {
            state.throttle.failed(&keys).await;
            Err(e.into())
        }
        Err(e @ LoginError::Busy) => {
            Err(ApiError::from(e).with_retry_after(Duration::from_secs(1)))
        }
        Err(e) => Err(e.into()),
    }
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
        (status = 429, description = "`rate_limited`: too many failed refreshes from this address (30 a minute); `Retry-After` says when to try again.", body = ErrorResponse),
    )
)]
pub(crate) async fn refresh(
    State(state): State<HttpState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody,
) -> Result<Json<SessionTokensBody>, ApiError> {
    let token = parse_refresh(&body).map_err(|e| ApiError::validation(&e))?;
    let keys = state.throttle.refresh_keys(address);
    if let Some(wait) = state.throttle.check(&keys).await {
        return Err(rate_limited(
            "too many failed refreshes; try again later",
            wait,
        ));
    }
    match state.auth.refresh(&token).await {
        Ok(tokens) => Ok(Json(tokens.into())),
        Err(e @ (RefreshError::Unexpected(_) | RefreshError::UserInactive)) => Err(e.into()),
        Err(e) => {
            state.throttle.failed(&keys).await;
            Err(e.into())
        }
    }
}

fn rate_limited(message: &str, wait: Duration) -> ApiError {
    ApiError::new(ErrorCode::RateLimited, message).with_retry_after(wait)
}

/// The peer address of the connection (`0.0.0.0` when the server runs without connect info).
pub(crate) struct ClientAddress(pub(crate) IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
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
