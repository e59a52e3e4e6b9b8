//! `/api/trips` and `/api/drivers/available` (PROTOCOL §2).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::TripId;
use rodando_domain::user::UserType;
use rodando_domain::validation::FieldErrors;
use rodando_ports::trips::Idempotency;
use rodando_wire::trips::{parse_cancel_body, parse_complete_body, parse_trip_request, trip_json};
use serde_json::{Value, json};
use std::collections::HashMap;

use crate::HttpState;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::principal::Caller;

/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY: usize = 200;

/// `POST /api/trips` (passenger), honouring `Idempotency-Key`.
pub(crate) async fn request(
    State(state): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let passenger = caller.require(UserType::Passenger)?;
    let request = parse_trip_request(&body).map_err(|e| ApiError::validation(&e))?;
    let idempotency = idempotency(&headers, &body)?;
    let trip = state
        .trips
        .request(passenger.user_id, request, idempotency)
        .await?;
    Ok((StatusCode::CREATED, Json(trip_json(&trip))))
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
    // An id that is not a UUID names no trip.
    TripId::parse(raw)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such trip"))
}

/// `GET /api/trips/{id}`: its passenger, its driver, or an admin; others get 404.
pub(crate) async fn get(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trip = state.trips.get(caller.0.actor(), trip_id(&id)?).await?;
    Ok(Json(trip_json(&trip)))
}

/// `POST /api/trips/{id}/cancel` `{reason?}`.
pub(crate) async fn cancel(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let reason = parse_cancel_body(&body).map_err(|e| ApiError::validation(&e))?;
    let trip = state
        .trips
        .cancel(caller.0.actor(), trip_id(&id)?, reason)
        .await?;
    Ok(Json(trip_json(&trip)))
}

/// `POST /api/trips/{id}/arrived` (the assigned driver).
pub(crate) async fn arrived(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trip = state.trips.arrive(caller.0.actor(), trip_id(&id)?).await?;
    Ok(Json(trip_json(&trip)))
}

/// `POST /api/trips/{id}/start` (the assigned driver).
pub(crate) async fn start(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trip = state.trips.start(caller.0.actor(), trip_id(&id)?).await?;
    Ok(Json(trip_json(&trip)))
}

/// `POST /api/trips/{id}/complete` `{actualDistanceKm?, actualDurationMin?}` (the assigned driver).
pub(crate) async fn complete(
    State(state): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let actuals = parse_complete_body(&body).map_err(|e| ApiError::validation(&e))?;
    let trip = state
        .trips
        .complete(caller.0.actor(), trip_id(&id)?, actuals)
        .await?;
    Ok(Json(trip_json(&trip)))
}

/// `GET /api/drivers/available?latitude=&longitude=&radiusM=&limit=` (admin).
pub(crate) async fn available_drivers(
    State(state): State<HttpState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(UserType::Admin)?;
    let mut errors = FieldErrors::new();
    let mut number = |name: &str, default: Option<f64>| -> Option<f64> {
        match query.get(name).map(|v| v.parse::<f64>()) {
            Some(Ok(v)) if v.is_finite() => Some(v),
            None if default.is_some() => default,
            None => {
                errors.add(name, "is required");
                None
            }
            Some(_) => {
                errors.add(name, "must be a number");
                None
            }
        }
    };
    let lat = number("latitude", None);
    let lon = number("longitude", None);
    let radius = number("radiusM", Some(5000.0));
    let limit = number("limit", Some(20.0));
    let origin = match (lat, lon) {
        (Some(lat), Some(lon)) => errors.check("latitude", GeoPoint::from_degrees(lat, lon)),
        _ => None,
    };
    if radius.is_some_and(|r| !(1.0..=100_000.0).contains(&r)) {
        errors.add("radiusM", "must be between 1 and 100000");
    }
    if limit.is_some_and(|l| !(1.0..=500.0).contains(&l)) {
        errors.add("limit", "must be between 1 and 500");
    }
    let (Some(origin), Some(radius), Some(limit)) = (origin, radius, limit) else {
        return Err(ApiError::validation(&errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(&errors));
    }
    let drivers = state
        .trips
        .available_near(origin, radius, limit as usize)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let drivers: Vec<Value> = drivers
        .iter()
        .map(|d| json!({"driverId": d.driver_id.to_string(), "distanceM": d.distance_m.round()}))
        .collect();
    Ok(Json(json!({ "drivers": drivers })))
}
