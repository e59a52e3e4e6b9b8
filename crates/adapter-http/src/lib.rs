//! # rodando-adapter-http
//!
//! The REST transport (PROTOCOL §2) on axum: `/api/auth/*`, `/health`, `/ready`. Every error is
//! `{"error": {code, message, details?}}` with a 4xx/5xx status, mapped in [`error`] only.

mod auth;
mod body;
mod error;
mod health;
mod principal;
mod trips;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use rodando_application::auth::AuthService;
use rodando_application::handshake::HandshakeService;
use rodando_application::trips::TripService;
use rodando_ports::health::HealthCheck;

pub use error::ApiError;

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
    /// Dependencies `/ready` checks.
    pub checks: Vec<Arc<dyn HealthCheck>>,
}

/// The REST routes, with JSON answers for unknown routes and methods.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/refresh", post(auth::refresh))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/trips", post(trips::request))
        .route("/api/trips/{id}", get(trips::get))
        .route("/api/trips/{id}/cancel", post(trips::cancel))
        .route("/api/trips/{id}/arrived", post(trips::arrived))
        .route("/api/trips/{id}/start", post(trips::start))
        .route("/api/trips/{id}/complete", post(trips::complete))
        .route("/api/drivers/available", get(trips::available_drivers))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
