//! The caller of an authenticated route: the same checks as a socket handshake (token,
//! user, session), from `Authorization: Bearer`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rodando_application::Principal;
use rodando_domain::ids::PassengerId;
use rodando_domain::user::{Role, UserType};
use rodando_wire::error::ErrorCode;

use crate::HttpState;
use crate::auth::bearer;
use crate::error::ApiError;

/// An authenticated caller.
pub(crate) struct Caller(pub(crate) Principal);

impl FromRequestParts<HttpState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers);
        state
            .handshake
            .authenticate_bearer(token)
            .await
            .map(Caller)
            // The handshake's own code; its status comes from the one table of codes.
            .map_err(|refused| ApiError::new(ErrorCode::from(refused.refusal), refused.reason))
    }
}

impl Caller {
    /// Only users of `user_type` may use this route.
    pub(crate) fn require(&self, user_type: UserType) -> Result<&Principal, ApiError> {
        if self.0.user_type == user_type {
            Ok(&self.0)
        } else {
            Err(only(user_type))
        }
    }

    /// Only passengers may use this route: the caller's passenger id.
    pub(crate) fn passenger(&self) -> Result<PassengerId, ApiError> {
        match self.0.role() {
            Role::Passenger(id) => Ok(id),
            Role::Driver(_) | Role::Admin(_) => Err(only(UserType::Passenger)),
        }
    }
}

/// `forbidden`: the route is for users of `user_type` only.
fn only(user_type: UserType) -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        format!("only {} users may do this", user_type.as_str()),
    )
}
