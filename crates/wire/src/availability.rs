//! `/drivers` availability payloads (PROTOCOL §6), inbound and outbound.

use rodando_domain::availability::{DriverAvailability, LocationFix, Position, StatusCommand};
use rodando_domain::geo::{GeoPoint, Latitude, Longitude};
use rodando_domain::ids::TripId;
use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::fields::ObjectReader;
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

/// Parses `driver:location:ping`: `{latitude, longitude, accuracyMeters?, heading?, speedKph?,
/// recordedAt?}` or the aliases `{lat, lng}`. `recordedAt` is RFC 3339 or epoch milliseconds.
///
/// # Errors
/// Every bad field; `(0, 0)` is refused as a null-island fix.
pub fn parse_location_ping(payload: &Value) -> Result<LocationFix, FieldErrors> {
    let mut r = ObjectReader::new(payload, "payload")?;
    let latitude = r
        .required_f64(&["latitude", "lat"])
        .and_then(|v| check(&mut r, "latitude", Latitude::new(v)));
    let longitude = r
        .required_f64(&["longitude", "lng"])
        .and_then(|v| check(&mut r, "longitude", Longitude::new(v)));
    let accuracy_m = bounded(&mut r, "accuracyMeters", 0.0, 100_000.0);
    let heading_deg = bounded(&mut r, "heading", 0.0, 360.0);
    let speed_kph = bounded(&mut r, "speedKph", 0.0, 500.0);
    let recorded_at = recorded_at(&mut r);
    let point = match (latitude, longitude) {
        (Some(lat), Some(lon)) => check(&mut r, "latitude", GeoPoint::new(lat, lon)),
        _ => None,
    };
    let errors = r.finish();
    match point {
        Some(point) if errors.is_empty() => Ok(LocationFix {
            point,
            accuracy_m,
            heading_deg,
            speed_kph,
            recorded_at,
        }),
        _ => Err(errors),
    }
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

fn check<T, E: std::fmt::Display>(
    r: &mut ObjectReader<'_>,
    field: &str,
    result: Result<T, E>,
) -> Option<T> {
    result.map_err(|e| r.error(field, e)).ok()
}

fn bounded(r: &mut ObjectReader<'_>, field: &str, min: f64, max: f64) -> Option<f64> {
    let v = r.optional_f64(&[field])?;
    if (min..=max).contains(&v) {
        Some(v)
    } else {
        r.error(field, format!("must be between {min} and {max}"));
        None
    }
}

fn recorded_at(r: &mut ObjectReader<'_>) -> Option<OffsetDateTime> {
    let (value, _) = r.raw(&["recordedAt"])?;
    let parsed = match value {
        Value::String(s) => timestamp::parse(s),
        Value::Number(n) => n.as_i64().and_then(timestamp::from_epoch_millis),
        _ => None,
    };
    if parsed.is_none() {
        r.error(
            "recordedAt",
            "must be an RFC 3339 timestamp or epoch milliseconds",
        );
    }
    parsed
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
    #[schema(format = "uuid")]
    driver_id: String,
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
    #[schema(format = "uuid", required = true)]
    current_trip_id: Option<String>,
    #[schema(format = "uuid", required = true)]
    current_vehicle_id: Option<String>,
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
            driver_id: d.driver_id.to_string(),
            is_online: d.is_online,
            is_available_for_trips: d.is_available_for_trips,
            availability_status: d.status().as_str(),
            availability_reason: d.availability_reason.map(|r| r.as_str()),
            last_location: d.last_location.map(|p| p.point.into()),
            last_location_timestamp: d.last_location.map(|p: Position| p.at),
            current_trip_id: d.current_trip_id.map(|t| t.to_string()),
            current_vehicle_id: d.current_vehicle_id.map(|v| v.to_string()),
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
    #[schema(format = "uuid")]
    driver_id: String,
    #[schema(required = true)]
    last_location: Option<GeoJsonPoint>,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    last_location_timestamp: Option<OffsetDateTime>,
}

impl From<&DriverAvailability> for LocationUpdate {
    fn from(d: &DriverAvailability) -> Self {
        Self {
            driver_id: d.driver_id.to_string(),
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
    #[schema(format = "uuid")]
    driver_id: String,
    #[schema(format = "uuid", required = true)]
    current_trip_id: Option<String>,
    #[schema(value_type = Option<crate::schema::AvailabilityReasonName>, required = true)]
    availability_reason: Option<&'static str>,
    is_available_for_trips: bool,
}

impl From<&DriverAvailability> for TripUpdate {
    fn from(d: &DriverAvailability) -> Self {
        Self {
            driver_id: d.driver_id.to_string(),
            current_trip_id: d.current_trip_id.map(|t| t.to_string()),
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
    fn a_ping_parses_with_aliases_and_optional_fields() {
        let fix = parse_location_ping(&json!({
            "lat": 23.11, "lng": -82.36, "accuracyMeters": 5, "heading": 90.5,
            "speedKph": 30, "recordedAt": "2026-05-01T10:00:00Z"
        }))
        .unwrap();
        assert_eq!(fix.point.latitude().degrees(), 23.11);
        assert_eq!(fix.point.longitude().degrees(), -82.36);
        assert_eq!(fix.accuracy_m, Some(5.0));
        assert!(fix.recorded_at.is_some());
        let ms = parse_location_ping(
            &json!({"latitude": 1, "longitude": 2, "recordedAt": 1_777_000_000_000_i64}),
        )
        .unwrap();
        assert!(ms.recorded_at.is_some());
    }

    #[test]
    fn bad_pings_name_every_bad_field() {
        let e = parse_location_ping(&json!({"latitude": 91, "longitude": "x", "heading": 400}))
            .unwrap_err();
        assert_eq!(fields(e), ["latitude", "longitude", "heading"]);
        let e = parse_location_ping(&json!({"latitude": 0, "longitude": 0})).unwrap_err();
        assert_eq!(fields(e), ["latitude"]);
        for payload in [
            json!({}),
            json!({"latitude": "NaN", "longitude": 1}),
            json!({"latitude": "Infinity", "longitude": 1}),
            json!({"latitude": 1e300, "longitude": 1}),
            json!({"latitude": [1], "longitude": {"x": 1}}),
            json!({"latitude": 1, "longitude": 1, "recordedAt": "soon"}),
            json!(null),
            json!("23.1,-82.3"),
        ] {
            assert!(parse_location_ping(&payload).is_err(), "{payload}");
        }
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
