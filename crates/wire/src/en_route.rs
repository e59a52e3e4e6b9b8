//! `trip:driver_en_route` (PROTOCOL §8): the assigned driver's position, distance and ETA,
//! streamed to the trip's passenger and watching admins while the trip is `arriving` or
//! `in_progress`. A position stream: at most one per trip per second, no `seq`; a missed one is
//! replaced by the next.

use rodando_domain::en_route::{Phase, Progress};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{DriverId, TripId};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::timestamp;

/// Where the driver is: plain degrees (not GeoJSON), with the heading and speed its app
/// reported, if any (absent otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EnRoutePosition)]
pub struct EnRoutePosition {
    latitude: f64,
    longitude: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    heading: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    speed_kph: Option<f64>,
}

impl EnRoutePosition {
    /// `point`, with the ping's heading (degrees) and speed (km/h).
    pub fn new(point: GeoPoint, heading: Option<f64>, speed_kph: Option<f64>) -> Self {
        Self {
            latitude: point.latitude().degrees(),
            longitude: point.longitude().degrees(),
            heading: heading.filter(|h| h.is_finite()),
            speed_kph: speed_kph.filter(|s| s.is_finite()),
        }
    }
}

/// Where the driver is heading: `to_pickup` while `arriving`, `to_dropoff` while
/// `in_progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = EnRoutePhase)]
pub enum EnRoutePhase {
    /// To the pickup.
    ToPickup,
    /// To the dropoff.
    ToDropoff,
}

impl From<Phase> for EnRoutePhase {
    fn from(p: Phase) -> Self {
        match p {
            Phase::ToPickup => Self::ToPickup,
            Phase::ToDropoff => Self::ToDropoff,
        }
    }
}

/// `trip:driver_en_route`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DriverEnRoute)]
pub struct DriverEnRoute {
    #[schema(format = "uuid")]
    trip_id: String,
    #[schema(format = "uuid")]
    driver_id: String,
    driver_position: EnRoutePosition,
    /// Straight-line metres to the pickup (`to_pickup`) or the dropoff (`to_dropoff`).
    distance_m: f64,
    eta_sec: u32,
    phase: EnRoutePhase,
    /// When the position was taken.
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    at: OffsetDateTime,
}

impl DriverEnRoute {
    /// `driver` of `trip` at `position`, `progress` from its destination, as pinged `at`.
    pub fn new(
        trip: TripId,
        driver: DriverId,
        position: EnRoutePosition,
        progress: &Progress,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            trip_id: trip.to_string(),
            driver_id: driver.to_string(),
            driver_position: position,
            // Whole metres: GPS is no finer, and the payload stays short.
            distance_m: progress.estimate.distance_m.round(),
            eta_sec: progress.estimate.eta_sec,
            phase: progress.phase.into(),
            at,
        }
    }
}
