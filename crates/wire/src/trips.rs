//! Trip payloads (PROTOCOL §2 trip routes, §7, §8), inbound and outbound.

use rodando_application::trips::{TripActuals, TripRequest};
use rodando_domain::geo::{GeoPoint, Latitude, Longitude};
use rodando_domain::ids::{DriverId, OfferId, TripId};
use rodando_domain::offer::Offer;
use rodando_domain::trip::{PaymentMethod, Place, Trip};
use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::fields::ObjectReader;
use crate::timestamp;

/// Longest free-text reason kept.
pub const MAX_REASON_CHARS: usize = 300;

/// The fields a trip request may hold.
pub const TRIP_REQUEST_FIELDS: &[&str] = &["pickup", "dropoff", "paymentMethod"];
/// The fields of a pickup or dropoff place.
pub const PLACE_FIELDS: &[&str] = &["latitude", "longitude", "address"];
/// The fields a REST cancel body may hold.
pub const CANCEL_FIELDS: &[&str] = &["reason"];
/// The fields a REST complete body may hold.
pub const COMPLETE_FIELDS: &[&str] = &["actualDistanceKm", "actualDurationMin"];
/// Largest `actualDistanceKm` accepted.
pub const MAX_ACTUAL_DISTANCE_KM: f64 = 2_000.0;
/// Largest `actualDurationMin` accepted (a day).
pub const MAX_ACTUAL_DURATION_MIN: f64 = 24.0 * 60.0;

/// Parses a trip request (`POST /api/trips` and `trip:request`): strict, every bad field named.
///
/// # Errors
/// Every bad or unknown field.
pub fn parse_trip_request(body: &Value) -> Result<TripRequest, FieldErrors> {
    let mut r = ObjectReader::new(body, "body")?;
    r.deny_unknown(TRIP_REQUEST_FIELDS);
    let pickup = place(&mut r, "pickup");
    let dropoff = place(&mut r, "dropoff");
    let payment_method = match r.optional_str(&["paymentMethod"]) {
        None => Some(PaymentMethod::default()),
        Some(p) => PaymentMethod::parse(p)
            .map_err(|_| r.error("paymentMethod", "must be cash or card"))
            .ok(),
    };
    let errors = r.finish();
    match (pickup, dropoff, payment_method) {
        (Some(pickup), Some(dropoff), Some(payment_method)) if errors.is_empty() => {
            Ok(TripRequest {
                pickup,
                dropoff,
                payment_method,
            })
        }
        _ => Err(errors),
    }
}

fn place(r: &mut ObjectReader<'_>, name: &str) -> Option<Place> {
    let mut p = r.nested(name)?;
    p.deny_unknown(PLACE_FIELDS);
    let lat = p
        .required_f64(&["latitude"])
        .and_then(|v| Latitude::new(v).map_err(|e| p.error("latitude", e)).ok());
    let lon = p
        .required_f64(&["longitude"])
        .and_then(|v| Longitude::new(v).map_err(|e| p.error("longitude", e)).ok());
    let address = p.optional_str(&["address"]);
    let point = match (lat, lon) {
        (Some(lat), Some(lon)) => GeoPoint::new(lat, lon)
            .map_err(|e| p.error("latitude", e))
            .ok(),
        _ => None,
    };
    let place = point.and_then(|point| {
        Place::new(point, address)
            .map_err(|e| p.error("address", e))
            .ok()
    });
    r.merge(p);
    place
}

/// Parses `{tripId, reason?}` (`trip:cancel`, `admin:trip:watch`).
///
/// # Errors
/// When `tripId` is missing or not a UUID, or the reason is not a short string.
pub fn parse_trip_ref(payload: &Value) -> Result<(TripId, Option<String>), FieldErrors> {
    let mut r = ObjectReader::new(payload, "payload")?;
    let trip = r
        .required_str(&["tripId"])
        .and_then(|s| TripId::parse(s).map_err(|e| r.error("tripId", e)).ok());
    let reason = reason(&mut r);
    let errors = r.finish();
    match trip {
        Some(trip) if errors.is_empty() => Ok((trip, reason)),
        _ => Err(errors),
    }
}

/// Parses `{assignmentId, reason?}` (`driver:offer:accept` / `driver:offer:reject`).
///
/// # Errors
/// When `assignmentId` is missing or not a UUID, or the reason is not a short string.
pub fn parse_offer_answer(payload: &Value) -> Result<(OfferId, Option<String>), FieldErrors> {
    let mut r = ObjectReader::new(payload, "payload")?;
    let offer = r.required_str(&["assignmentId"]).and_then(|s| {
        OfferId::parse(s)
            .map_err(|e| r.error("assignmentId", e))
            .ok()
    });
    let reason = reason(&mut r);
    let errors = r.finish();
    match offer {
        Some(offer) if errors.is_empty() => Ok((offer, reason)),
        _ => Err(errors),
    }
}

/// Parses a REST cancel body `{reason?}` (an empty body is `{}`).
///
/// # Errors
/// Unknown fields or a bad reason.
pub fn parse_cancel_body(body: &Value) -> Result<Option<String>, FieldErrors> {
    let mut r = ObjectReader::new(body, "body")?;
    r.deny_unknown(CANCEL_FIELDS);
    let reason = reason(&mut r);
    let errors = r.finish();
    errors.into_result(|| reason)
}

/// Parses a REST complete body `{actualDistanceKm?, actualDurationMin?}`.
///
/// # Errors
/// Unknown fields, or figures that are negative or absurd.
pub fn parse_complete_body(body: &Value) -> Result<TripActuals, FieldErrors> {
    let mut r = ObjectReader::new(body, "body")?;
    r.deny_unknown(COMPLETE_FIELDS);
    let mut bounded = |name: &str, max: f64| {
        r.optional_f64(&[name]).and_then(|v| {
            if (0.0..=max).contains(&v) {
                Some(v)
            } else {
                r.error(name, format!("must be between 0 and {max}"));
                None
            }
        })
    };
    let actuals = TripActuals {
        distance_km: bounded("actualDistanceKm", MAX_ACTUAL_DISTANCE_KM),
        duration_min: bounded("actualDurationMin", MAX_ACTUAL_DURATION_MIN),
    };
    r.finish().into_result(|| actuals)
}

fn reason(r: &mut ObjectReader<'_>) -> Option<String> {
    let reason = r.optional_str(&["reason"])?;
    if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
        r.error(
            "reason",
            format!("must be at most {MAX_REASON_CHARS} printable characters"),
        );
        None
    } else {
        Some(reason.trim().to_owned()).filter(|s| !s.is_empty())
    }
}

/// A place on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = Place)]
pub struct PlaceBody {
    /// Degrees north.
    latitude: f64,
    /// Degrees east.
    longitude: f64,
    /// Free text, as the passenger gave it.
    address: Option<String>,
}

impl From<&Place> for PlaceBody {
    fn from(p: &Place) -> Self {
        Self {
            latitude: p.point.latitude().degrees(),
            longitude: p.point.longitude().degrees(),
            address: p.address.clone(),
        }
    }
}

/// A trip as REST returns it and `trip:request` acks it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Trip)]
pub struct TripBody {
    #[schema(format = "uuid")]
    id: String,
    #[schema(format = "uuid")]
    passenger_id: String,
    /// The assigned driver, once a driver accepted.
    #[schema(format = "uuid")]
    driver_id: Option<String>,
    #[schema(value_type = crate::schema::TripStatusName)]
    status: &'static str,
    pickup: PlaceBody,
    dropoff: PlaceBody,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    requested_at: OffsetDateTime,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    accepted_at: Option<OffsetDateTime>,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    arrived_pickup_at: Option<OffsetDateTime>,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    started_at: Option<OffsetDateTime>,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    completed_at: Option<OffsetDateTime>,
    /// When it was cancelled, or when dispatch gave up (`no_drivers_found`).
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    cancelled_at: Option<OffsetDateTime>,
    /// Estimated at request: base + distance + duration, at least the minimum; two decimals.
    fare_estimate: f64,
    /// Charged at completion.
    fare_total: Option<f64>,
    /// ISO 4217 code of both amounts.
    currency: String,
    #[schema(value_type = crate::schema::PaymentMethodName)]
    payment_method: &'static str,
}

impl From<&Trip> for TripBody {
    fn from(t: &Trip) -> Self {
        Self {
            id: t.id.to_string(),
            passenger_id: t.passenger_id.to_string(),
            driver_id: t.driver_id.map(|d| d.to_string()),
            status: t.status.as_str(),
            pickup: (&t.pickup).into(),
            dropoff: (&t.dropoff).into(),
            requested_at: t.requested_at,
            accepted_at: t.accepted_at,
            arrived_pickup_at: t.arrived_pickup_at,
            started_at: t.started_at,
            completed_at: t.completed_at,
            cancelled_at: t.cancelled_at,
            fare_estimate: t.fare_estimate.units(),
            fare_total: t.fare_total.map(|c| c.units()),
            currency: t.currency.to_string(),
            payment_method: t.payment_method.as_str(),
        }
    }
}

/// The trip as JSON.
pub fn trip_json(t: &Trip) -> Value {
    serde_json::to_value(TripBody::from(t)).unwrap_or(Value::Null)
}

/// `{assignmentId, tripId, driverId, reason, at}` of accepted/rejected/expired offers (`reason`:
/// the rejection's, else null).
pub fn offer_closed_json(o: &Offer) -> Value {
    json!({
        "assignmentId": o.id.to_string(),
        "tripId": o.trip_id.to_string(),
        "driverId": o.driver_id.to_string(),
        "reason": o.reason,
        "at": timestamp::format(o.closed_at.unwrap_or(o.offered_at)),
    })
}

/// `trip:assignment:offered`.
pub fn offered_json(o: &Offer, t: &Trip) -> Value {
    let ttl = (o.expires_at - o.offered_at).whole_seconds();
    json!({
        "assignmentId": o.id.to_string(),
        "tripId": t.id.to_string(),
        "pickup": PlaceBody::from(&t.pickup),
        "dropoff": PlaceBody::from(&t.dropoff),
        "distanceToPickupM": o.distance_to_pickup_m.round(),
        "fareEstimate": t.fare_estimate.units(),
        "currency": t.currency.to_string(),
        "ttlSec": ttl,
        "expiresAt": timestamp::format(o.expires_at),
    })
}

/// `trip:requested`.
pub fn requested_json(t: &Trip) -> Value {
    json!({
        "tripId": t.id.to_string(),
        "passengerId": t.passenger_id.to_string(),
        "pickup": PlaceBody::from(&t.pickup),
        "dropoff": PlaceBody::from(&t.dropoff),
        "requestedAt": timestamp::format(t.requested_at),
        "fareEstimate": t.fare_estimate.units(),
        "currency": t.currency.to_string(),
        "status": t.status.as_str(),
    })
}

/// `trip:driver_assigned`.
pub fn driver_assigned_json(t: &Trip, driver: DriverId, name: &str) -> Value {
    json!({
        "tripId": t.id.to_string(),
        "driverId": driver.to_string(),
        "driver": {"id": driver.to_string(), "name": name},
        "at": timestamp::format(t.accepted_at.unwrap_or(t.requested_at)),
        "currentStatus": t.status.as_str(),
    })
}

/// `trip:arriving_started`.
pub fn arriving_json(
    trip: TripId,
    driver: DriverId,
    eta_sec: u32,
    position: Option<GeoPoint>,
) -> Value {
    json!({
        "tripId": trip.to_string(),
        "driverId": driver.to_string(),
        "etaSec": eta_sec,
        "driverPosition": position.map(crate::availability::GeoJsonPoint::from),
    })
}

/// `{tripId, driverId, at}` of arrived/started.
pub fn driver_step_json(t: &Trip, at: Option<OffsetDateTime>) -> Value {
    json!({
        "tripId": t.id.to_string(),
        "driverId": t.driver_id.map(|d| d.to_string()),
        "at": timestamp::format(at.unwrap_or(t.requested_at)),
    })
}

/// `trip:completed`.
pub fn completed_json(t: &Trip) -> Value {
    json!({
        "tripId": t.id.to_string(),
        "driverId": t.driver_id.map(|d| d.to_string()),
        "at": timestamp::format(t.completed_at.unwrap_or(t.requested_at)),
        "fareTotal": t.fare_total.map(|c| c.units()),
        "currency": t.currency.to_string(),
    })
}

/// `trip:cancelled`.
pub fn cancelled_json(t: &Trip) -> Value {
    json!({
        "tripId": t.id.to_string(),
        "cancelledBy": t.cancelled_by,
        "reason": t.end_reason,
        "at": timestamp::format(t.cancelled_at.unwrap_or(t.requested_at)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trip_request_parses_and_names_every_bad_field() {
        let ok = parse_trip_request(&json!({
            "pickup": {"latitude": 23.1136, "longitude": -82.3666, "address": "Parque Central"},
            "dropoff": {"latitude": 23.1330, "longitude": -82.3830},
            "paymentMethod": "card"
        }))
        .unwrap();
        assert_eq!(ok.pickup.address.as_deref(), Some("Parque Central"));
        assert_eq!(ok.payment_method, PaymentMethod::Card);
        let e = parse_trip_request(&json!({
            "pickup": {"latitude": 91, "longitude": -82.3},
            "dropoff": {"latitude": 23.1},
            "paymentMethod": "bitcoin",
            "tip": 5
        }))
        .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "tip",
                "pickup.latitude",
                "dropoff.longitude",
                "paymentMethod"
            ]
        );
        assert!(parse_trip_request(&json!({"pickup": null, "dropoff": []})).is_err());
    }

    #[test]
    fn references_take_uuids() {
        let id = "6f9619ff-8b86-4011-b42d-00c04fc964ff";
        assert_eq!(
            parse_trip_ref(&json!({"tripId": id, "reason": " late "}))
                .unwrap()
                .1
                .as_deref(),
            Some("late")
        );
        assert!(parse_trip_ref(&json!({"tripId": "x"})).is_err());
        assert!(parse_offer_answer(&json!({"assignmentId": id})).is_ok());
        assert!(
            parse_offer_answer(&json!({"assignmentId": id, "reason": "x".repeat(301)})).is_err()
        );
        assert!(parse_complete_body(&json!({"actualDistanceKm": -1})).is_err());
        assert_eq!(
            parse_complete_body(&json!({})).unwrap(),
            TripActuals::default()
        );
        assert_eq!(parse_cancel_body(&json!({})).unwrap(), None);
    }
}
