//! Every route the REST transport serves, listed once. [`crate::router`] is built from this
//! table, and a test checks the OpenAPI document describes each entry (and nothing else), so
//! a route added here without its `#[utoipa::path]` fails the tests.

use axum::handler::Handler;
use axum::routing::{self, MethodRouter};

use crate::{HttpState, auth, health, openapi, trip_lists, trips, users};

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
}

impl Verb {
    /// The method's name, lowercase as OpenAPI path items name it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Patch => "patch",
        }
    }
}

/// One route: method, path (axum syntax, `{id}` for a parameter, as OpenAPI writes it too)
/// and handler.
pub(crate) struct Route {
    pub(crate) verb: Verb,
    pub(crate) path: &'static str,
    pub(crate) handler: MethodRouter<HttpState>,
}

fn get<H: Handler<T, HttpState>, T: 'static>(path: &'static str, handler: H) -> Route {
    Route {
        verb: Verb::Get,
        path,
        handler: routing::get(handler),
    }
}

fn post<H: Handler<T, HttpState>, T: 'static>(path: &'static str, handler: H) -> Route {
    Route {
        verb: Verb::Post,
        path,
        handler: routing::post(handler),
    }
}

fn patch<H: Handler<T, HttpState>, T: 'static>(path: &'static str, handler: H) -> Route {
    Route {
        verb: Verb::Patch,
        path,
        handler: routing::patch(handler),
    }
}

/// The table: one entry per method and path.
pub(crate) fn table() -> Vec<Route> {
    vec![
        post("/api/auth/login", auth::login),
        post("/api/auth/refresh", auth::refresh),
        post("/api/auth/logout", auth::logout),
        post("/api/trips", trips::request),
        get("/api/trips", trip_lists::list),
        get("/api/trips/{id}", trips::get),
        post("/api/trips/{id}/cancel", trips::cancel),
        post("/api/trips/{id}/arrived", trips::arrived),
        post("/api/trips/{id}/start", trips::start),
        post("/api/trips/{id}/complete", trips::complete),
        get("/api/drivers/available", trips::available_drivers),
        patch("/api/users/{id}", users::set_status),
        get("/api/openapi.json", openapi::serve),
        get("/health", health::health),
        get("/ready", health::ready),
    ]
}

/// `(method, path)` of every route the router serves.
pub fn served() -> Vec<(Verb, &'static str)> {
    table().into_iter().map(|r| (r.verb, r.path)).collect()
}
