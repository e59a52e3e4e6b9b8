//! A `drivers_availability` row: the columns read back, the values written, and the conversion
//! to the domain through [`DriverAvailability::restore`] (invariants checked again).

use rodando_domain::availability::{
    AvailabilityReason, AvailabilityRecord, DriverAvailability, Position,
};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{DriverId, TripId, VehicleId};
use rodando_ports::Unexpected;
use rodando_ports::availability::Versioned;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::errors::corrupt;

/// The select list of a row: the position is read back as plain degrees, the reason as text.
macro_rules! availability_columns {
    () => {
        "driver_id, is_online, is_available_for_trips, \
         availability_reason::text AS availability_reason, \
         ST_Y(last_location::geometry) AS latitude, ST_X(last_location::geometry) AS longitude, \
         last_location_timestamp, current_trip_id, current_vehicle_id, last_online_timestamp, \
         last_presence_timestamp, is_connected, updated_at, version"
    };
}
pub(crate) use availability_columns;

/// The values of a state, as `$1..=$13` of [`bind_state`] expect them in SQL.
macro_rules! availability_values {
    () => {
        "$1, $2, $3, $4::availability_reason, \
         ST_SetSRID(ST_MakePoint($5, $6), 4326)::geography, \
         $7, $8, $9, $10, $11, $12, $13"
    };
}
pub(crate) use availability_values;

/// The columns [`availability_values`] fills, in the same order.
macro_rules! availability_targets {
    () => {
        "driver_id, is_online, is_available_for_trips, availability_reason, last_location, \
         last_location_timestamp, current_trip_id, current_vehicle_id, last_online_timestamp, \
         last_presence_timestamp, updated_at, is_connected"
    };
}
pub(crate) use availability_targets;

/// Binds `$1..=$13` of [`availability_values`] from a state, on any sqlx query type.
macro_rules! bind_state {
    ($query:expr, $state:expr) => {{
        let state: &rodando_domain::availability::AvailabilityRecord = $state;
        let point = state.last_location.map(|p| p.point);
        $query
            .bind(state.driver_id.as_uuid())
            .bind(state.is_online)
            .bind(state.is_available_for_trips)
            .bind(
                state
                    .availability_reason
                    .map(rodando_domain::availability::AvailabilityReason::as_str),
            )
            .bind(point.map(|p| p.longitude().degrees()))
            .bind(point.map(|p| p.latitude().degrees()))
            .bind(state.last_location.map(|p| p.at))
            .bind(state.current_trip_id.map(|t| t.as_uuid()))
            .bind(state.current_vehicle_id.map(|v| v.as_uuid()))
            .bind(state.last_online_at)
            .bind(state.last_presence_at)
            .bind(state.updated_at)
            .bind(state.is_connected)
    }};
}
pub(crate) use bind_state;

/// A row as [`availability_columns`] reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct AvailabilityRow {
    driver_id: Uuid,
    is_online: bool,
    is_available_for_trips: bool,
    availability_reason: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    last_location_timestamp: Option<OffsetDateTime>,
    current_trip_id: Option<Uuid>,
    current_vehicle_id: Option<Uuid>,
    last_online_timestamp: Option<OffsetDateTime>,
    last_presence_timestamp: Option<OffsetDateTime>,
    is_connected: bool,
    updated_at: OffsetDateTime,
    version: i64,
}

impl TryFrom<AvailabilityRow> for Versioned {
    type Error = Unexpected;

    fn try_from(row: AvailabilityRow) -> Result<Self, Unexpected> {
        let bad = |what: &str| corrupt("drivers_availability", row.driver_id, what);
        let last_location = match (row.latitude, row.longitude, row.last_location_timestamp) {
            (Some(lat), Some(lon), Some(at)) => Some(Position {
                point: GeoPoint::from_degrees(lat, lon).map_err(|_| bad("last_location"))?,
                at,
            }),
            (None, None, None) => None,
            _ => return Err(bad("last_location without its timestamp")),
        };
        let record = AvailabilityRecord {
            driver_id: DriverId::from_uuid(row.driver_id),
            is_online: row.is_online,
            is_available_for_trips: row.is_available_for_trips,
            availability_reason: row
                .availability_reason
                .as_deref()
                .map(AvailabilityReason::parse)
                .transpose()
                .map_err(|_| bad("availability_reason"))?,
            last_location,
            current_trip_id: row.current_trip_id.map(TripId::from_uuid),
            current_vehicle_id: row.current_vehicle_id.map(VehicleId::from_uuid),
            last_online_at: row.last_online_timestamp,
            last_presence_at: row.last_presence_timestamp,
            is_connected: row.is_connected,
            updated_at: row.updated_at,
        };
        let state = DriverAvailability::restore(record).map_err(|e| bad(&e.to_string()))?;
        let version = u64::try_from(row.version).map_err(|_| bad("negative version"))?;
        Ok(Versioned { state, version })
    }
}
