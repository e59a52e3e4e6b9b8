//! `GET /api/trips`: the caller's trips, newest first, a page at a time (issue 15).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use rodando_wire::error::ErrorResponse;
use rodando_wire::trip_lists::{TripPageBody, parse_trip_list_query};

use crate::HttpState;
use crate::error::ApiError;
use crate::principal::Caller;

/// List trips: a passenger its own, a driver those it was assigned, an admin every trip.
///
/// Newest request first (`requestedAt`, then `id`, descending). Keyset pagination: pass the
/// answer's `nextCursor` as `cursor` for the next page; trips requested meanwhile never shift
/// later pages (they appear on a new first page). `limit` over 100 is refused (400), not
/// clamped.
#[utoipa::path(
    get,
    path = "/api/trips",
    tag = "trips",
    security(("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "`active` (pending to in_progress), `finished` (completed, cancelled, no_drivers_found) or `all` (default)."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Trips per page, 1 to 100 (default 20); more than 100 is 400 `validation_failed`."),
        ("cursor" = Option<String>, Query, description = "The `nextCursor` of the previous page (opaque)."),
    ),
    responses(
        (status = 200, description = "One page of trips.", body = TripPageBody),
        (status = 400, description = "`validation_failed`: `details.fields` names `status`, `limit` or `cursor`.", body = ErrorResponse),
        (status = 401, description = "Bearer token refused.", body = ErrorResponse),
    )
)]
pub(crate) async fn list(
    State(state): State<HttpState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<TripPageBody>, ApiError> {
    let params = parse_trip_list_query(&query).map_err(|e| ApiError::validation(&e))?;
    let page = state
        .trips
        .list(caller.0.actor(), params.filter, params.after, params.limit)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    tracing::debug!(
        user_id = %caller.0.user_id,
        session_id = %caller.0.session_id,
        status = params.filter.as_str(),
        listed = page.trips.len(),
        "trips listed"
    );
    Ok(Json(TripPageBody::from(&page)))
}
