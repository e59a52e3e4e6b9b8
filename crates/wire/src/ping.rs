//! `driver:location:ping`, read by serde straight from the frame's text.
//!
//! The ping is most of what a server hears (every driver, every few seconds), so it does not go
//! through a `serde_json::Value` tree as the other payloads do: [`LocationPing`] keeps, for each
//! field it knows, the number (or timestamp) it held or the kind of JSON it was instead, and
//! ignores every other field, all without allocating. [`LocationPing::validate`] then names
//! every bad field at once, with the messages [`crate::fields::ObjectReader`] gives the other
//! payloads. Deserializing never fails on the payload's shape: a payload that is not an object
//! is recorded and refused by `validate`, so the only errors serde reports are unreadable JSON.

use std::fmt;

use rodando_domain::availability::LocationFix;
use rodando_domain::geo::{GeoPoint, Latitude, Longitude};
use rodando_domain::validation::FieldErrors;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use time::OffsetDateTime;

use crate::fields::{not_a_finite_number, not_an_object};
use crate::timestamp;

/// Parses `driver:location:ping` from a JSON value: `{latitude, longitude, accuracyMeters?,
/// heading?, speedKph?, recordedAt?}` or the aliases `{lat, lng}`. `recordedAt` is RFC 3339
/// or epoch milliseconds.
///
/// # Errors
/// Every bad field; `(0, 0)` is refused as a null-island fix.
pub fn parse_location_ping(payload: &Value) -> Result<LocationFix, FieldErrors> {
    match LocationPing::deserialize(payload) {
        Ok(ping) => ping.validate(),
        // Unreachable for a `Value` (every shape is recorded, numbers are finite); kept an
        // error rather than a panic.
        Err(e) => {
            let mut errors = FieldErrors::new();
            errors.add("payload", e);
            Err(errors)
        }
    }
}

/// A `driver:location:ping` payload as it arrived, not yet validated.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LocationPing {
    /// The kind of JSON the payload was when it was not an object.
    not_an_object: Option<&'static str>,
    latitude: Field,
    lat: Field,
    longitude: Field,
    lng: Field,
    accuracy_meters: Field,
    heading: Field,
    speed_kph: Field,
    recorded_at: Field,
}

/// One field of the payload.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
enum Field {
    /// Not in the payload.
    #[default]
    Absent,
    /// `null`: treated as absent, as the other payloads' fields are.
    Null,
    /// A number; `integer` when it was written as one that fits an `i64`.
    Number { value: f64, integer: Option<i64> },
    /// A string in a timestamp field, read as a timestamp (`None`: not one).
    Time(Option<OffsetDateTime>),
    /// Anything else, by its kind (`a string`, `an array`…).
    Other(&'static str),
}

impl Field {
    /// The field as [`crate::fields::ObjectReader::raw`] sees it: present and not null.
    fn present(self) -> Option<Self> {
        match self {
            Self::Absent | Self::Null => None,
            other => Some(other),
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Self::Absent | Self::Null => "null",
            Self::Number { .. } => "a number",
            Self::Time(_) => "a string",
            Self::Other(kind) => kind,
        }
    }
}

impl LocationPing {
    /// The fix this ping describes.
    ///
    /// # Errors
    /// Every bad field; `(0, 0)` is refused as a null-island fix.
    pub fn validate(&self) -> Result<LocationFix, FieldErrors> {
        let mut errors = FieldErrors::new();
        if let Some(kind) = self.not_an_object {
            errors.add("payload", not_an_object(kind));
            return Err(errors);
        }
        let latitude = required(&mut errors, ("latitude", self.latitude), ("lat", self.lat))
            .and_then(|v| checked(&mut errors, "latitude", Latitude::new(v)));
        let longitude = required(
            &mut errors,
            ("longitude", self.longitude),
            ("lng", self.lng),
        )
        .and_then(|v| checked(&mut errors, "longitude", Longitude::new(v)));
        let accuracy_m = bounded(
            &mut errors,
            "accuracyMeters",
            self.accuracy_meters,
            100_000.0,
        );
        let heading_deg = bounded(&mut errors, "heading", self.heading, 360.0);
        let speed_kph = bounded(&mut errors, "speedKph", self.speed_kph, 500.0);
        let recorded_at = recorded_at(&mut errors, self.recorded_at);
        let point = match (latitude, longitude) {
            (Some(lat), Some(lon)) => checked(&mut errors, "latitude", GeoPoint::new(lat, lon)),
            _ => None,
        };
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
}

/// The number under the field's name or else its alias; a bad value is reported under the
/// name it came in, a missing one under the field's own name.
fn required(
    errors: &mut FieldErrors,
    (name, field): (&str, Field),
    (alias, aliased): (&str, Field),
) -> Option<f64> {
    match (field.present(), aliased.present()) {
        (Some(found), _) => number(errors, name, found),
        (None, Some(found)) => number(errors, alias, found),
        (None, None) => {
            errors.add(name, "is required");
            None
        }
    }
}

fn number(errors: &mut FieldErrors, name: &str, field: Field) -> Option<f64> {
    match field {
        Field::Number { value, .. } if value.is_finite() => Some(value),
        other => {
            errors.add(name, not_a_finite_number(other.kind()));
            None
        }
    }
}

/// An optional number within `0..=max`.
fn bounded(errors: &mut FieldErrors, name: &str, field: Field, max: f64) -> Option<f64> {
    let v = number(errors, name, field.present()?)?;
    if (0.0..=max).contains(&v) {
        Some(v)
    } else {
        errors.add(name, format!("must be between 0 and {max}"));
        None
    }
}

fn recorded_at(errors: &mut FieldErrors, field: Field) -> Option<OffsetDateTime> {
    let parsed = match field.present()? {
        Field::Time(t) => t,
        Field::Number { integer, .. } => integer.and_then(timestamp::from_epoch_millis),
        _ => None,
    };
    if parsed.is_none() {
        errors.add(
            "recordedAt",
            "must be an RFC 3339 timestamp or epoch milliseconds",
        );
    }
    parsed
}

fn checked<T, E: fmt::Display>(
    errors: &mut FieldErrors,
    name: &str,
    result: Result<T, E>,
) -> Option<T> {
    result.map_err(|e| errors.add(name, e)).ok()
}

impl<'de> Deserialize<'de> for LocationPing {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PingVisitor)
    }
}

struct PingVisitor;

impl PingVisitor {
    fn not_an_object<E>(kind: &'static str) -> Result<LocationPing, E> {
        Ok(LocationPing {
            not_an_object: Some(kind),
            ..LocationPing::default()
        })
    }
}

impl<'de> Visitor<'de> for PingVisitor {
    type Value = LocationPing;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a location ping object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<LocationPing, M::Error> {
        let mut ping = LocationPing::default();
        while let Some(key) = map.next_key::<Key>()? {
            let slot = match key {
                Key::Latitude => &mut ping.latitude,
                Key::Lat => &mut ping.lat,
                Key::Longitude => &mut ping.longitude,
                Key::Lng => &mut ping.lng,
                Key::AccuracyMeters => &mut ping.accuracy_meters,
                Key::Heading => &mut ping.heading,
                Key::SpeedKph => &mut ping.speed_kph,
                Key::RecordedAt => {
                    ping.recorded_at = map.next_value_seed(FieldSeed { time: true })?;
                    continue;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            // A repeated key keeps its last value, as a `serde_json::Value` map does.
            *slot = map.next_value_seed(FieldSeed { time: false })?;
        }
        Ok(ping)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<LocationPing, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::not_an_object("an array")
    }

    fn visit_unit<E: de::Error>(self) -> Result<LocationPing, E> {
        Self::not_an_object("null")
    }

    fn visit_none<E: de::Error>(self) -> Result<LocationPing, E> {
        Self::not_an_object("null")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<LocationPing, E> {
        Self::not_an_object("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<LocationPing, E> {
        Self::not_an_object("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<LocationPing, E> {
        Self::not_an_object("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<LocationPing, E> {
        Self::not_an_object("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<LocationPing, E> {
        Self::not_an_object("a string")
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<LocationPing, E> {
        Self::not_an_object("binary data")
    }
}

/// The payload's keys the ping reads; any other is skipped unread.
enum Key {
    Latitude,
    Lat,
    Longitude,
    Lng,
    AccuracyMeters,
    Heading,
    SpeedKph,
    RecordedAt,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "latitude" => Key::Latitude,
            "lat" => Key::Lat,
            "longitude" => Key::Longitude,
            "lng" => Key::Lng,
            "accuracyMeters" => Key::AccuracyMeters,
            "heading" => Key::Heading,
            "speedKph" => Key::SpeedKph,
            "recordedAt" => Key::RecordedAt,
            _ => Key::Other,
        })
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<Key, E> {
        std::str::from_utf8(key).map_or(Ok(Key::Other), |key| self.visit_str(key))
    }
}

/// Reads one field's value; `time` reads a string as a timestamp.
#[derive(Clone, Copy)]
struct FieldSeed {
    time: bool,
}

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Field;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field, E> {
        Ok(Field::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field, E> {
        #[allow(clippy::cast_precision_loss)] // as serde_json's `Value::as_f64` reads it
        let value = v as f64;
        Ok(Field::Number {
            value,
            integer: Some(v),
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field, E> {
        #[allow(clippy::cast_precision_loss)] // as serde_json's `Value::as_f64` reads it
        let value = v as f64;
        Ok(Field::Number {
            value,
            integer: i64::try_from(v).ok(),
        })
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Field, E> {
        Ok(Field::Number {
            value,
            integer: None,
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(if self.time {
            Field::Time(timestamp::parse(v))
        } else {
            Field::Other("a string")
        })
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Field, E> {
        Ok(Field::Other("binary data"))
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Field, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Other("an array"))
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Field, M::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Other("an object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::testing::fields;
    use serde_json::json;

    /// The ping read from text, as the socket reads it.
    fn from_text(text: &str) -> Result<LocationFix, FieldErrors> {
        serde_json::from_str::<LocationPing>(text)
            .unwrap()
            .validate()
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
    fn text_and_value_read_every_payload_alike() {
        for payload in [
            json!({"latitude": 23.11, "longitude": -82.36}),
            json!({"lat": 23.11, "lng": -82.36, "accuracyMeters": 5, "heading": 90.5,
                   "speedKph": 30, "recordedAt": "2026-05-01T10:00:00Z", "battery": [1, {"x": 2}]}),
            json!({"latitude": null, "lat": 1, "longitude": 2, "recordedAt": 1_777_000_000_000_i64}),
            json!({"latitude": 91, "longitude": "x", "heading": 400}),
            json!({"latitude": true, "longitude": {"x": 1}, "speedKph": [1]}),
            json!({"latitude": 1, "longitude": 1, "recordedAt": "soon"}),
            json!({"latitude": 1, "longitude": 1, "recordedAt": 1.5}),
            json!({"latitude": 1, "longitude": 1, "recordedAt": u64::MAX}),
            json!({"latitude": 0, "longitude": 0}),
            json!({"lat": "", "lng": [0]}),
            json!({}),
            json!([1, 2]),
            json!(null),
            json!("23.1,-82.3"),
            json!(7),
            json!(false),
        ] {
            let text = payload.to_string();
            let value: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(from_text(&text), parse_location_ping(&value), "{payload}");
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_and_the_name_wins_over_its_alias() {
        let fix = from_text(r#"{"latitude": 5, "latitude": 6, "lat": 7, "longitude": 8}"#).unwrap();
        assert_eq!(fix.point.latitude().degrees(), 6.0);
    }

    #[test]
    fn every_bad_field_is_named_with_the_readers_messages() {
        let e = from_text(r#"{"latitude": "1", "heading": -1, "recordedAt": false}"#).unwrap_err();
        let messages: Vec<String> = e
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect();
        assert_eq!(
            messages,
            [
                "latitude: must be a finite number, not a string",
                "longitude: is required",
                "heading: must be between 0 and 360",
                "recordedAt: must be an RFC 3339 timestamp or epoch milliseconds",
            ]
        );
        assert_eq!(fields(from_text("[]").unwrap_err()), ["payload"]);
    }

    #[test]
    fn unreadable_json_is_an_error_of_serde() {
        assert!(serde_json::from_str::<LocationPing>(r#"{"latitude": 1e309}"#).is_err());
        assert!(serde_json::from_str::<LocationPing>(r#"{"latitude": 1"#).is_err());
    }
}
