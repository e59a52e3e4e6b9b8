//! `/drivers` availability payloads (PROTOCOL §6), inbound and outbound.

use rodando_domain::availability::{DriverAvailability, Position, StatusCommand};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::TripId;
use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::fields::ObjectReader;
pub use crate::ping::{LocationPing, parse_location_ping};
use crate::timestamp;

/// Parses `driver:status:update`: `{availabilityStatus}` or the original clients'
/// `{isOnline, isAvailableForTrips}`.
///
/// # Errors
/// Every bad field.
pub fn parse_status_update(payload: &Value) -> Result<StatusCommand, FieldErrors> {
    let mut r = ObjectReader::new(payload, "payload")?;
    let command = if r.has(&["availabilityStatus"]) {
        match r.required_str(&["availabilityStatus"]) {
            Some("AVAILABLE") => Some(StatusCommand::Available),
            Some("BUSY") => Some(StatusCommand::Busy),
            Some("OFFLINE") => Some(StatusCommand::Offline),
            Some(_) => {
                r.error(
                    "availabilityStatus",
                    "must be one of AVAILABLE, BUSY, OFFLINE",
                );
                None
            }
            None => None,
        }
    } else if r.has(&["isOnline"]) {
        match r.required_bool(&["isOnline"]) {
            Some(false) => Some(StatusCommand::Offline),
            Some(true) => r.required_bool(&["isAvailableForTrips"]).map(|available| {
                if available {
                    StatusCommand::Available
                } else {
                    StatusCommand::Busy
                }
            }),
            None => None,
        }
    } else {
        r.error(
            "availabilityStatus",
            "is required (AVAILABLE, BUSY or OFFLINE)",
        );
        None
    };
    r.finish().into_value(command)
}

/// Parses `driver:trip:set`: `{tripId: uuid | null}` or the alias `{currentTripId}`.
///
/// # Errors
/// When the field is missing or neither a UUID nor null.
pub fn parse_trip_set(payload: &Value) -> Result<Option<TripId>, FieldErrors> {
    let mut r = ObjectReader::new(payload, "payload")?;
    if !r.has(&["tripId", "currentTripId"]) {
        r.error("tripId", "is required (a trip UUID, or null to clear)");
        return Err(r.finish());
    }
    let trip = match r.optional_str(&["tripId", "currentTripId"]) {
        None => None,
        Some(s) => match TripId::parse(s) {
            Ok(id) => Some(id),
            Err(e) => {
                r.error("tripId", e);
                None
            }
        },
    };
    let errors = r.finish();
    if errors.is_empty() {
        Ok(trip)
    } else {
        Err(errors)
    }
}

/// A GeoJSON point: `{"type": "Point", "coordinates": [longitude, latitude]}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
#[schema(as = GeoJsonPoint)]
pub struct GeoJsonPoint {
    /// Always `Point`.
    #[serde(rename = "type")]
    #[schema(value_type = crate::schema::GeoJsonTypeName)]
    pub kind: &'static str,
    /// `[longitude, latitude]`, GeoJSON order.
    pub coordinates: [f64; 2],
}

impl From<GeoPoint> for GeoJsonPoint {
    fn from(p: GeoPoint) -> Self {
        Self {
            kind: "Point",
            coordinates: [p.longitude().degrees(), p.latitude().degrees()],
        }
    }
}

/// The availability snapshot: the `data` of every `/drivers` availability ack and
/// `driver:availability:update`. Its nullable fields are always sent (as `null`), hence
/// `required` in the schema.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AvailabilitySnapshot)]
pub struct AvailabilitySnapshot {
    #[schema(value_type = String, format = "uuid")]
    driver_id: Uuid,
    is_online: bool,
    is_available_for_trips: bool,
    #[schema(value_type = crate::schema::AvailabilityStatusName)]
    availability_status: &'static str,
    #[schema(value_type = Option<crate::schema::AvailabilityReasonName>, required = true)]
    availability_reason: Option<&'static str>,
    #[schema(required = true)]
    last_location: Option<GeoJsonPoint>,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    last_location_timestamp: Option<OffsetDateTime>,
    #[schema(value_type = Option<String>, format = "uuid", required = true)]
    current_trip_id: Option<Uuid>,
    #[schema(value_type = Option<String>, format = "uuid", required = true)]
    current_vehicle_id: Option<Uuid>,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    last_online_timestamp: Option<OffsetDateTime>,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    last_presence_timestamp: Option<OffsetDateTime>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
}

impl From<&DriverAvailability> for AvailabilitySnapshot {
    fn from(d: &DriverAvailability) -> Self {
        Self {
            driver_id: d.driver_id.as_uuid(),
            is_online: d.is_online,
            is_available_for_trips: d.is_available_for_trips,
            availability_status: d.status().as_str(),
            availability_reason: d.availability_reason.map(|r| r.as_str()),
            last_location: d.last_location.map(|p| p.point.into()),
            last_location_timestamp: d.last_location.map(|p: Position| p.at),
            current_trip_id: d.current_trip_id.map(|t| t.as_uuid()),
            current_vehicle_id: d.current_vehicle_id.map(|v| v.as_uuid()),
            last_online_timestamp: d.last_online_at,
            last_presence_timestamp: d.last_presence_at,
            updated_at: d.updated_at,
        }
    }
}

/// `driver:location:update`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LocationUpdate)]
pub struct LocationUpdate {
    #[schema(value_type = String, format = "uuid")]
    driver_id: Uuid,
    #[schema(required = true)]
    last_location: Option<GeoJsonPoint>,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    last_location_timestamp: Option<OffsetDateTime>,
}

impl From<&DriverAvailability> for LocationUpdate {
    fn from(d: &DriverAvailability) -> Self {
        Self {
            driver_id: d.driver_id.as_uuid(),
            last_location: d.last_location.map(|p| p.point.into()),
            last_location_timestamp: d.last_location.map(|p| p.at),
        }
    }
}

/// `driver:trip:update`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DriverTripUpdate)]
pub struct TripUpdate {
    #[schema(value_type = String, format = "uuid")]
    driver_id: Uuid,
    #[schema(value_type = Option<String>, format = "uuid", required = true)]
    current_trip_id: Option<Uuid>,
    #[schema(value_type = Option<crate::schema::AvailabilityReasonName>, required = true)]
    availability_reason: Option<&'static str>,
    is_available_for_trips: bool,
}

impl From<&DriverAvailability> for TripUpdate {
    fn from(d: &DriverAvailability) -> Self {
        Self {
            driver_id: d.driver_id.as_uuid(),
            current_trip_id: d.current_trip_id.map(|t| t.as_uuid()),
            availability_reason: d.availability_reason.map(|r| r.as_str()),
            is_available_for_trips: d.is_available_for_trips,
        }
    }
}

/// The `data` of the `admin:drivers:snapshot` ack: every online driver.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = DriversSnapshot)]
pub struct DriversSnapshot {
    drivers: Vec<AvailabilitySnapshot>,
}

impl<'a> FromIterator<&'a DriverAvailability> for DriversSnapshot {
    fn from_iter<I: IntoIterator<Item = &'a DriverAvailability>>(drivers: I) -> Self {
        Self {
            drivers: drivers.into_iter().map(Into::into).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::testing::fields;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn status_accepts_the_contract_and_the_original_aliases() {
        for (payload, expected) in [
            (
                json!({"availabilityStatus": "AVAILABLE"}),
                StatusCommand::Available,
            ),
            (json!({"availabilityStatus": "BUSY"}), StatusCommand::Busy),
            (
                json!({"availabilityStatus": "OFFLINE"}),
                StatusCommand::Offline,
            ),
            (
                json!({"isOnline": true, "isAvailableForTrips": true}),
                StatusCommand::Available,
            ),
            (
                json!({"isOnline": true, "isAvailableForTrips": false}),
                StatusCommand::Busy,
            ),
            (json!({"isOnline": false}), StatusCommand::Offline),
            (
                json!({"isOnline": false, "isAvailableForTrips": true}),
                StatusCommand::Offline,
            ),
        ] {
            assert_eq!(parse_status_update(&payload), Ok(expected), "{payload}");
        }
    }

    #[test]
    fn bad_statuses_name_the_field() {
        for payload in [
            json!({}),
            json!({"availabilityStatus": "available"}),
            json!({"availabilityStatus": 1}),
            json!({"availabilityStatus": null}),
            json!({"isOnline": "yes"}),
            json!({"isOnline": true}),
        ] {
            assert!(parse_status_update(&payload).is_err(), "{payload}");
        }
        assert_eq!(
            fields(parse_status_update(&json!([])).unwrap_err()),
            ["payload"]
        );
    }

    #[test]
    fn trip_set_takes_a_uuid_or_null() {
        let id = "6f9619ff-8b86-4011-b42d-00c04fc964ff";
        assert_eq!(
            parse_trip_set(&json!({"tripId": id}))
                .unwrap()
                .unwrap()
                .to_string(),
            id
        );
        assert_eq!(
            parse_trip_set(&json!({"currentTripId": id}))
                .unwrap()
                .unwrap()
                .to_string(),
            id
        );
        assert_eq!(parse_trip_set(&json!({"tripId": null})), Ok(None));
        for payload in [
            json!({}),
            json!({"tripId": "abc"}),
            json!({"tripId": 5}),
            json!({"tripId": [id]}),
        ] {
            assert!(parse_trip_set(&payload).is_err(), "{payload}");
        }
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            any::<i64>().prop_map(|i| json!(i)),
            ".{0,20}".prop_map(Value::String),
            Just(json!("AVAILABLE")),
            Just(json!("6f9619ff-8b86-4011-b42d-00c04fc964ff")),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("latitude".to_owned()),
                        Just("longitude".to_owned()),
                        Just("lat".to_owned()),
                        Just("lng".to_owned()),
                        Just("availabilityStatus".to_owned()),
                        Just("isOnline".to_owned()),
                        Just("isAvailableForTrips".to_owned()),
                        Just("tripId".to_owned()),
                        Just("recordedAt".to_owned()),
                        Just("heading".to_owned()),
                        ".{0,8}"
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// No payload panics a parser, and whatever parses is valid by construction.
        #[test]
        fn parsers_never_panic(v in arbitrary_json()) {
            let _ = parse_status_update(&v);
            if let Ok(fix) = parse_location_ping(&v) {
                prop_assert!(fix.point.latitude().degrees().abs() <= 90.0);
            }
            let _ = parse_trip_set(&v);
        }
    }
}
