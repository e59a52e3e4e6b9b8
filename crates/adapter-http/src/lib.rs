//! # rodando-adapter-http
//!
//! The REST transport (PROTOCOL §2) on axum: `/api/auth/*`, `/api/trips/*`,
//! `/api/drivers/available`, `/api/users/{id}`, `/health`, `/ready`, and the OpenAPI document
//! of them all at `/api/openapi.json`, generated from the handlers' annotations and the wire
//! types. Every error is `{"error": {code, message, details?}}` with a 4xx/5xx status, mapped
//! in [`error`] only.

mod auth;
mod body;
mod error;
mod health;
mod openapi;
mod principal;
mod routes;
pub mod throttle;
mod trip_lists;
mod trips;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use rodando_application::auth::AuthService;
use rodando_application::handshake::HandshakeService;
use rodando_application::trips::TripService;
use rodando_application::user_status::UserStatusService;
use rodando_ports::health::HealthCheck;

pub use error::ApiError;
pub use openapi::document as openapi_document;
pub use routes::{Verb, served as served_routes};

/// Largest accepted request body; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the routes need.
#[derive(Clone)]
pub struct HttpState {
    /// Login, refresh, logout.
    pub auth: AuthService,
    /// Bearer-token authentication of requests.
    pub handshake: HandshakeService,
    /// Trips and dispatch.
    pub trips: TripService,
    /// Operators setting users' statuses (`PATCH /api/users/{id}`).
    pub user_status: UserStatusService,
    /// Dependencies `/ready` checks.
    pub checks: Vec<Arc<dyn HealthCheck>>,
    /// Budgets of failed logins and refreshes.
    pub throttle: throttle::Throttle,
}

/// The REST routes of [`routes`], with JSON answers for unknown routes and methods.
pub fn router(state: HttpState) -> Router {
    routes::table()
        .into_iter()
        .fold(Router::new(), |router, route| {
            router.route(route.path, route.handler)
        })
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
