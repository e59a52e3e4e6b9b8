//! `GET /api/drivers/available` (PROTOCOL §2): the admin's query for the nearest available
//! drivers, and its answer. Query strings arrive as text, so every number is parsed here, with
//! every bad parameter named at once like any other input.

use std::collections::HashMap;

use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::DriverId;
use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use utoipa::ToSchema;

/// Search radius when `radiusM` is not given.
pub const DEFAULT_RADIUS_M: f64 = 5_000.0;
/// Largest accepted search radius.
pub const MAX_RADIUS_M: f64 = 100_000.0;
/// Drivers returned when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;
/// Most drivers one query returns.
pub const MAX_LIMIT: usize = 500;

/// A validated nearby-drivers query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearbyQuery {
    /// Where to search from.
    pub origin: GeoPoint,
    /// Metres, in `[1, MAX_RADIUS_M]`.
    pub radius_m: f64,
    /// How many drivers at most, in `[1, MAX_LIMIT]`.
    pub limit: usize,
}

/// Parses `latitude`, `longitude` (required), `radiusM` and `limit` (optional). Other
/// parameters are ignored (cache busters and the like).
///
/// # Errors
/// Every missing, non-numeric or out-of-range parameter.
pub fn parse_nearby_query(query: &HashMap<String, String>) -> Result<NearbyQuery, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut number = |name: &str, required: bool| -> Option<f64> {
        match query.get(name).map(|v| v.trim().parse::<f64>()) {
            Some(Ok(v)) if v.is_finite() => Some(v),
            None if !required => None,
            None => {
                errors.add(name, "is required");
                None
            }
            Some(_) => {
                errors.add(name, "must be a finite number");
                None
            }
        }
    };
    let latitude = number("latitude", true);
    let longitude = number("longitude", true);
    let radius = number("radiusM", false);
    let limit = number("limit", false);
    let given = |name: &str| query.contains_key(name);
    let origin = match (latitude, longitude) {
        (Some(lat), Some(lon)) => errors.check("latitude", GeoPoint::from_degrees(lat, lon)),
        _ => None,
    };
    let radius_m = match radius {
        None if !given("radiusM") => Some(DEFAULT_RADIUS_M),
        Some(r) if (1.0..=MAX_RADIUS_M).contains(&r) => Some(r),
        Some(_) => {
            errors.add("radiusM", format!("must be between 1 and {MAX_RADIUS_M}"));
            None
        }
        None => None,
    };
    let limit = match limit {
        None if !given("limit") => Some(DEFAULT_LIMIT),
        Some(l) if l.fract() == 0.0 && (1.0..=MAX_LIMIT as f64).contains(&l) => {
            // Whole and within 1..=500, so the conversion is exact.
            Some(l as usize)
        }
        Some(_) => {
            errors.add(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            );
            None
        }
        None => None,
    };
    match (origin, radius_m, limit) {
        (Some(origin), Some(radius_m), Some(limit)) if errors.is_empty() => Ok(NearbyQuery {
            origin,
            radius_m,
            limit,
        }),
        _ => Err(errors),
    }
}

/// One driver of the answer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NearbyDriver)]
pub struct NearbyDriverBody {
    /// The driver (UUID).
    #[schema(format = "uuid")]
    driver_id: String,
    /// Great-circle distance from the query's origin, whole metres.
    distance_m: f64,
}

impl NearbyDriverBody {
    /// A driver at `distance_m` from the origin (rounded to the metre).
    pub fn new(driver_id: DriverId, distance_m: f64) -> Self {
        Self {
            driver_id: driver_id.to_string(),
            distance_m: distance_m.round(),
        }
    }
}

/// The answer: nearest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = NearbyDrivers)]
pub struct NearbyDriversBody {
    /// Available drivers within the radius, nearest first.
    pub drivers: Vec<NearbyDriverBody>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::testing::{fields, query};

    #[test]
    fn a_query_takes_defaults_for_radius_and_limit() {
        let q = parse_nearby_query(&query(&[
            ("latitude", "23.11"),
            ("longitude", " -82.36"),
            ("_", "1"),
        ]))
        .unwrap();
        assert_eq!(q.origin.latitude().degrees(), 23.11);
        assert_eq!(q.radius_m, DEFAULT_RADIUS_M);
        assert_eq!(q.limit, DEFAULT_LIMIT);
        let q = parse_nearby_query(&query(&[
            ("latitude", "1"),
            ("longitude", "2"),
            ("radiusM", "250.5"),
            ("limit", "3"),
        ]))
        .unwrap();
        assert_eq!((q.radius_m, q.limit), (250.5, 3));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let e = parse_nearby_query(&query(&[
            ("latitude", "NaN"),
            ("radiusM", "0"),
            ("limit", "2.5"),
        ]))
        .unwrap_err();
        assert_eq!(fields(e), ["latitude", "longitude", "radiusM", "limit"]);
        let e = parse_nearby_query(&query(&[
            ("latitude", "0"),
            ("longitude", "0"),
            ("radiusM", ""),
            ("limit", "501"),
        ]))
        .unwrap_err();
        assert_eq!(fields(e), ["radiusM", "latitude", "limit"]);
    }
}
