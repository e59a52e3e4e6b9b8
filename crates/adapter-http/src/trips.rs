//! `/api/trips` and `/api/drivers/available` (PROTOCOL §2, §8).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use rodando_application::trips::TripCommandError;
use rodando_domain::ids::TripId;
use rodando_domain::user::UserType;
use rodando_domain::validation::FieldErrors;
use rodando_ports::trips::Idempotency;
use rodando_wire::error::ErrorResponse;
use rodando_wire::nearby::{NearbyDriverBody, NearbyDriversBody, parse_nearby_query};
use rodando_wire::trips::{TripBody, parse_cancel_body, parse_complete_body, parse_trip_request};
use serde_json::Value;

use crate::HttpState;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::principal::Caller;

/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY: usize = 200;

/// Request a trip (passenger); dispatch starts at once.
///
/// One active trip per passenger. With an `Idempotency-Key`, a retry with the same key and body
/// returns the trip created the first time and dispatches nothing.
#[utoipa::path(
    post,
    path = "/api/trips",
    tag = "trips",
    security(("bearer" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 visible characters; the same key and body give the same trip, the same key with another body 422 `idempotency_key_reused`."),
    ),
    request_body = rodando_wire::schema::TripRequestBody,
    responses(
        (status = 201, description = "The trip, `pending`; its events follow on the passenger's sockets.", body = TripBody),
        (status = 400, description = "`validation_failed`.", body = ErrorResponse),
        (status = 401, description = "Bearer token refused: `missing_token`, `invalid_token`, `token_expired`, `session_revoked`, ...", body = ErrorResponse),
        (status = 403, description = "`forbidden`: not a passenger.", body = ErrorResponse),
        (status = 409, description = "`active_trip_exists`.", body = ErrorResponse),
        (status = 422, description = "`idempotency_key_reused`.", body = ErrorResponse),
    )
)]
pub(crate) async fn request(
    State(state): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<TripBody>), ApiError> {
    let passenger = caller.passenger()?;
    let request = parse_trip_request(&body).map_err(|e| ApiError::validation(&e))?;
    let idempotency = idempotency(&headers, &body)?;
    let trip = state.trips.request(passenger, request, idempotency).await?;
    Ok((StatusCode::CREATED, Json(TripBody::from(&trip))))
}

fn idempotency(headers: &HeaderMap, body: &Value) -> Result<Option<Idempotency>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = raw.to_str().ok().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
        let mut errors = FieldErrors::new();
        errors.add(
            "Idempotency-Key",
            format!("must be 1 to {MAX_IDEMPOTENCY_KEY} visible characters"),
        );
        return Err(ApiError::validation(&errors));
    }
    // serde_json maps keep keys sorted, so equal bodies serialize equally.
    Ok(Some(Idempotency {
        key: key.to_owned(),
        fingerprint: body.to_string(),
    }))
}

fn trip_id(raw: &str) -> Result<TripId, ApiError> {
    // An id that is not a UUID names no trip: the same answer as an unknown one.
    TripId::parse(raw).map_err(|_| ApiError::from(TripCommandError::NotFound))
}

/// Read a trip: its passenger, its driver, or an admin; anyone else gets 404.
#[utoipa::path(
    get,
    path = "/api/trips/{id}",
    tag = "trips",
    security(("bearer" = [])),
    params(("id" = String, Path, format = "uuid", description = "The trip.")),
    responses(
        (status = 200, description = "The trip.", body = TripBody),
        (status = 401, description = "Bearer token refused.", body = ErrorResponse),
        (status = 404, description = "`not_found`: no such trip, or not the caller's.", body = ErrorResponse),
    )
)]
pub(crate) async fn get(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TripBody>, ApiError> {
    let trip = state.trips.get(caller.0.actor(), trip_id(&id)?).await?;
    Ok(Json(TripBody::from(&trip)))
}

/// One trip transition, `POST /api/trips/{id}/<action>`: its handler and its OpenAPI entry.
///
/// The four transitions differ only in their words, the [`TripService`] method they call and
/// whether they read an optional body; the security, the path parameter and the answers (400
/// with a body, 401, 403, 404, 409) are the same, so they are written once here.
///
/// [`TripService`]: rodando_application::trips::TripService
macro_rules! transition {
    // No body: `method(actor, trip)`.
    (
        $(#[doc = $doc:literal])*
        $name:ident, $path:literal => $method:ident,
        ok: $ok:literal, forbidden: $forbidden:literal, conflict: $conflict:literal $(,)?
    ) => {
        transition!(@route [$($doc)*] $path, $ok, $forbidden, $conflict, [], [],
            pub(crate) async fn $name(
                State(state): State<HttpState>,
                caller: Caller,
                Path(id): Path<String>,
            ) -> Result<Json<TripBody>, ApiError> {
                let trip = state.trips.$method(caller.0.actor(), trip_id(&id)?).await?;
                Ok(Json(TripBody::from(&trip)))
            }
        );
    };
    // An optional body of `schema::$schema`, read by `$parse`: `method(actor, trip, parsed)`.
    (
        $(#[doc = $doc:literal])*
        $name:ident, $path:literal => $method:ident, body: $schema:ident by $parse:ident,
        ok: $ok:literal, forbidden: $forbidden:literal, conflict: $conflict:literal $(,)?
    ) => {
        transition!(@route [$($doc)*] $path, $ok, $forbidden, $conflict,
            [request_body(
                content = Option<rodando_wire::schema::$schema>,
                description = "May be left out.",
            ),],
            [(status = 400, description = "`validation_failed`.", body = ErrorResponse),],
            pub(crate) async fn $name(
                State(state): State<HttpState>,
                caller: Caller,
                Path(id): Path<String>,
                JsonBody(body): JsonBody,
            ) -> Result<Json<TripBody>, ApiError> {
                let input = $parse(&body).map_err(|e| ApiError::validation(&e))?;
                let trip = state.trips.$method(caller.0.actor(), trip_id(&id)?, input).await?;
                Ok(Json(TripBody::from(&trip)))
            }
        );
    };
    (
        @route [$($doc:literal)*] $path:literal, $ok:literal, $forbidden:literal,
        $conflict:literal, [$($request_body:tt)*], [$($bad_request:tt)*], $($handler:tt)*
    ) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            post,
            path = $path,
            tag = "trips",
            security(("bearer" = [])),
            params(("id" = String, Path, format = "uuid", description = "The trip.")),
            $($request_body)*
            responses(
                (status = 200, description = $ok, body = TripBody),
                $($bad_request)*
                (status = 401, description = "Bearer token refused.", body = ErrorResponse),
                (status = 403, description = $forbidden, body = ErrorResponse),
                (status = 404, description = "`not_found`.", body = ErrorResponse),
                (status = 409, description = $conflict, body = ErrorResponse),
            )
        )]
        $($handler)*
    };
}

transition! {
    /// Cancel a trip: its passenger or an admin before `completed`, its driver before
    /// `in_progress`. Open offers close and the driver is freed.
    cancel, "/api/trips/{id}/cancel" => cancel, body: CancelBody by parse_cancel_body,
    ok: "The trip, `cancelled`.",
    forbidden: "`forbidden`.",
    conflict: "`invalid_trip_transition` (`details: {from, to}`) or `conflict`.",
}

transition! {
    /// The assigned driver reached the pickup: sets `arrivedPickupAt` (status stays `arriving`).
    arrived, "/api/trips/{id}/arrived" => arrive,
    ok: "The trip.",
    forbidden: "`forbidden`: not the assigned driver.",
    conflict: "`invalid_trip_transition`.",
}

transition! {
    /// The assigned driver starts the ride: `arriving` → `in_progress`.
    start, "/api/trips/{id}/start" => start,
    ok: "The trip, `in_progress`.",
    forbidden: "`forbidden`: not the assigned driver.",
    conflict: "`invalid_trip_transition`.",
}

transition! {
    /// The assigned driver ends the ride: `in_progress` → `completed`, with the fare (from the
    /// measured figures when given, else from the estimate's).
    complete, "/api/trips/{id}/complete" => complete, body: CompleteBody by parse_complete_body,
    ok: "The trip, `completed`, with `fareTotal`.",
    forbidden: "`forbidden`: not the assigned driver.",
    conflict: "`invalid_trip_transition`.",
}

/// The nearest available drivers to a point (admin).
#[utoipa::path(
    get,
    path = "/api/drivers/available",
    tag = "drivers",
    security(("bearer" = [])),
    params(
        ("latitude" = f64, Query, description = "Degrees north, -90 to 90."),
        ("longitude" = f64, Query, description = "Degrees east, -180 to 180."),
        ("radiusM" = Option<f64>, Query, description = "Search radius in metres, 1 to 100000 (default 5000)."),
        ("limit" = Option<u32>, Query, description = "At most this many drivers, 1 to 500 (default 20)."),
    ),
    responses(
        (status = 200, description = "Available drivers within the radius, nearest first.", body = NearbyDriversBody),
        (status = 400, description = "`validation_failed`.", body = ErrorResponse),
        (status = 401, description = "Bearer token refused.", body = ErrorResponse),
        (status = 403, description = "`forbidden`: not an admin.", body = ErrorResponse),
    )
)]
pub(crate) async fn available_drivers(
    State(state): State<HttpState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<NearbyDriversBody>, ApiError> {
    caller.require(UserType::Admin)?;
    let q = parse_nearby_query(&query).map_err(|e| ApiError::validation(&e))?;
    let drivers = state
        .trips
        .available_near(q.origin, q.radius_m, q.limit)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(NearbyDriversBody {
        drivers: drivers
            .iter()
            .map(|d| NearbyDriverBody::new(d.driver_id, d.distance_m))
            .collect(),
    }))
}
