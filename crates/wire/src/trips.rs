//! Trip payloads (PROTOCOL §2 trip routes, §7, §8), inbound and outbound.

use rodando_application::trips::{TripActuals, TripRequest};
use rodando_domain::geo::{GeoPoint, Latitude, Longitude};
use rodando_domain::ids::{DriverId, OfferId, TripId};
use rodando_domain::offer::Offer;
use rodando_domain::trip::{ActorKind, PaymentMethod, Place, Trip};
use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::availability::GeoJsonPoint;
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
    r.finish().into_value(trip).map(|trip| (trip, reason))
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
    r.finish().into_value(offer).map(|offer| (offer, reason))
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
    /// Free text, as the passenger gave it; `null` when none (always sent).
    #[schema(required = true)]
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

/// A trip as REST returns it and `trip:request` acks it. Its nullable fields are always sent
/// (as `null` until they apply), so they are `required` in the schema too.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Trip)]
pub struct TripBody {
    #[schema(format = "uuid")]
    id: String,
    #[schema(format = "uuid")]
    passenger_id: String,
    /// The assigned driver, once a driver accepted.
    #[schema(format = "uuid", required = true)]
    driver_id: Option<String>,
    #[schema(value_type = crate::schema::TripStatusName)]
    status: &'static str,
    pickup: PlaceBody,
    dropoff: PlaceBody,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    requested_at: OffsetDateTime,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    accepted_at: Option<OffsetDateTime>,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    arrived_pickup_at: Option<OffsetDateTime>,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    started_at: Option<OffsetDateTime>,
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    completed_at: Option<OffsetDateTime>,
    /// When it was cancelled, or when dispatch gave up (`no_drivers_found`).
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    cancelled_at: Option<OffsetDateTime>,
    /// Estimated at request: base + distance + duration, at least the minimum; two decimals.
    fare_estimate: f64,
    /// Charged at completion.
    #[schema(required = true)]
    fare_total: Option<f64>,
    /// ISO 4217 code of both amounts.
    currency: String,
    #[schema(value_type = crate::schema::PaymentMethodName)]
    payment_method: &'static str,
}

impl From<&Trip> for TripBody {
    fn from(t: &Trip) -> Self {
        Self {
            id: t.id().to_string(),
            passenger_id: t.passenger_id().to_string(),
            driver_id: t.driver_id().map(|d| d.to_string()),
            status: t.status().as_str(),
            pickup: t.pickup().into(),
            dropoff: t.dropoff().into(),
            requested_at: t.requested_at(),
            accepted_at: t.accepted_at(),
            arrived_pickup_at: t.arrived_pickup_at(),
            started_at: t.started_at(),
            completed_at: t.completed_at(),
            cancelled_at: t.cancelled_at(),
            fare_estimate: t.fare_estimate().units(),
            fare_total: t.fare_total().map(|c| c.units()),
            currency: t.currency().to_string(),
            payment_method: t.payment_method().as_str(),
        }
    }
}

/// A trip event that carries its number in the trip's stream (`seq`). A trait rather than an
/// inherent method so the notifier can number any of them in one place.
pub trait Sequenced {
    /// This event as number `seq` of its trip's stream.
    #[must_use]
    fn with_seq(self, seq: u64) -> Self;
}

/// An outbound event of a trip's stream: a camelCase payload with its schema, whose last field
/// is the `seq` the emitter sets ([`Sequenced`]); constructors leave it 0.
macro_rules! trip_event {
    ($(#[$meta:meta])* pub struct $name:ident { $($field:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        #[schema(as = $name)]
        pub struct $name {
            $($field)*
            /// The event's place in its trip's stream: one more than the trip's previous event
            /// (`trip:assignment:offered` carries the trip's current one; see protocol.md).
            seq: u64,
        }

        impl Sequenced for $name {
            fn with_seq(mut self, seq: u64) -> Self {
                self.seq = seq;
                self
            }
        }
    };
}

trip_event! {
    /// `trip:requested`: the new trip, to its passenger and to every admin.
    pub struct TripRequested {
        #[schema(format = "uuid")]
        trip_id: String,
        #[schema(format = "uuid")]
        passenger_id: String,
        pickup: PlaceBody,
        dropoff: PlaceBody,
        #[serde(serialize_with = "timestamp::serialize")]
        #[schema(value_type = String, format = DateTime)]
        requested_at: OffsetDateTime,
        fare_estimate: f64,
        currency: String,
        #[schema(value_type = crate::schema::TripStatusName)]
        status: &'static str,
    }
}

impl From<&Trip> for TripRequested {
    fn from(t: &Trip) -> Self {
        Self {
            trip_id: t.id().to_string(),
            passenger_id: t.passenger_id().to_string(),
            pickup: t.pickup().into(),
            dropoff: t.dropoff().into(),
            requested_at: t.requested_at(),
            fare_estimate: t.fare_estimate().units(),
            currency: t.currency().to_string(),
            status: t.status().as_str(),
            seq: 0,
        }
    }
}

trip_event! {
    /// `{tripId, at}`: `trip:assigning_started`.
    pub struct TripAt {
        #[schema(format = "uuid")]
        trip_id: String,
        #[serde(serialize_with = "timestamp::serialize")]
        #[schema(value_type = String, format = DateTime)]
        at: OffsetDateTime,
    }
}

impl TripAt {
    /// `trip` reached its step `at`.
    pub fn new(trip: TripId, at: OffsetDateTime) -> Self {
        Self {
            trip_id: trip.to_string(),
            at,
            seq: 0,
        }
    }
}

trip_event! {
    /// `trip:assignment:offered`: what the offered driver needs to decide, and its deadline.
    pub struct TripOffered {
        #[schema(format = "uuid")]
        assignment_id: String,
        #[schema(format = "uuid")]
        trip_id: String,
        pickup: PlaceBody,
        dropoff: PlaceBody,
        /// Whole metres, as measured when the offer was made.
        distance_to_pickup_m: f64,
        fare_estimate: f64,
        currency: String,
        /// Seconds the driver had to answer when offered (in `hello.state`, the seconds left
        /// then, on the store's clock); `expiresAt` is authoritative.
        ttl_sec: i64,
        #[serde(serialize_with = "timestamp::serialize")]
        #[schema(value_type = String, format = DateTime)]
        expires_at: OffsetDateTime,
    }
}

impl TripOffered {
    /// Offer `o` of trip `t`.
    pub fn new(o: &Offer, t: &Trip) -> Self {
        Self {
            assignment_id: o.id().to_string(),
            trip_id: t.id().to_string(),
            pickup: t.pickup().into(),
            dropoff: t.dropoff().into(),
            distance_to_pickup_m: o.distance_to_pickup_m().round(),
            fare_estimate: t.fare_estimate().units(),
            currency: t.currency().to_string(),
            ttl_sec: (o.expires_at() - o.offered_at()).whole_seconds(),
            expires_at: o.expires_at(),
            seq: 0,
        }
    }
}

trip_event! {
    /// `{assignmentId, tripId, driverId, reason, at}` of `trip:assignment:accepted`, `:rejected`
    /// and `:expired`.
    pub struct OfferClosed {
        #[schema(format = "uuid")]
        assignment_id: String,
        #[schema(format = "uuid")]
        trip_id: String,
        #[schema(format = "uuid")]
        driver_id: String,
        /// The rejection's reason (the driver's own, `driver_offline`, `driver_busy`,
        /// `driver_unavailable`); `null` for
        /// accepted and expired offers. Always sent, so the three events keep one shape.
        #[schema(required = true)]
        reason: Option<String>,
        /// When it closed (the offer time for an offer somehow still open).
        #[serde(serialize_with = "timestamp::serialize")]
        #[schema(value_type = String, format = DateTime)]
        at: OffsetDateTime,
    }
}

impl From<&Offer> for OfferClosed {
    fn from(o: &Offer) -> Self {
        Self {
            assignment_id: o.id().to_string(),
            trip_id: o.trip_id().to_string(),
            driver_id: o.driver_id().to_string(),
            reason: o.reason().map(str::to_owned),
            at: o.closed_at().unwrap_or(o.offered_at()),
            seq: 0,
        }
    }
}

/// The `data` of the `driver:offer:reject` ack: the closed offer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = OfferRejected)]
pub struct OfferRejected {
    #[schema(format = "uuid")]
    assignment_id: String,
    #[schema(format = "uuid")]
    trip_id: String,
    /// The offer's status after the command.
    #[schema(value_type = crate::schema::RejectedStatusName)]
    status: &'static str,
}

impl From<&Offer> for OfferRejected {
    fn from(o: &Offer) -> Self {
        Self {
            assignment_id: o.id().to_string(),
            trip_id: o.trip_id().to_string(),
            status: o.status().as_str(),
        }
    }
}

trip_event! {
    /// `trip:no_drivers_found`: dispatch gave up, and why.
    pub struct NoDriversFound {
        #[schema(format = "uuid")]
        trip_id: String,
        /// `no_drivers_available`, `max_offers_reached` or `timeout`.
        reason: String,
    }
}

impl NoDriversFound {
    /// Dispatch of `trip` ended for `reason`.
    pub fn new(trip: TripId, reason: &str) -> Self {
        Self {
            trip_id: trip.to_string(),
            reason: reason.to_owned(),
            seq: 0,
        }
    }
}

/// The driver of `trip:driver_assigned`, as the passenger's app shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = AssignedDriver)]
pub struct AssignedDriver {
    #[schema(format = "uuid")]
    id: String,
    /// Display name.
    name: String,
}

trip_event! {
    /// `trip:driver_assigned`.
    pub struct DriverAssigned {
        #[schema(format = "uuid")]
        trip_id: String,
        #[schema(format = "uuid")]
        driver_id: String,
        driver: AssignedDriver,
        /// When the driver accepted.
        #[serde(serialize_with = "timestamp::serialize")]
        #[schema(value_type = String, format = DateTime)]
        at: OffsetDateTime,
        #[schema(value_type = crate::schema::TripStatusName)]
        current_status: &'static str,
    }
}

impl DriverAssigned {
    /// `driver`, named `name`, holds trip `t`.
    pub fn new(t: &Trip, driver: DriverId, name: &str) -> Self {
        Self {
            trip_id: t.id().to_string(),
            driver_id: driver.to_string(),
            driver: AssignedDriver {
                id: driver.to_string(),
                name: name.to_owned(),
            },
            at: t.accepted_at().unwrap_or(t.requested_at()),
            current_status: t.status().as_str(),
            seq: 0,
        }
    }
}

trip_event! {
    /// `trip:arriving_started`: the driver is on the way, with an ETA.
    pub struct ArrivingStarted {
        #[schema(format = "uuid")]
        trip_id: String,
        #[schema(format = "uuid")]
        driver_id: String,
        eta_sec: u32,
        /// The driver's last known position; `null` when it has none (always sent).
        #[schema(required = true)]
        driver_position: Option<GeoJsonPoint>,
    }
}

impl ArrivingStarted {
    /// `driver` heads to the pickup of `trip`, `eta_sec` away, from `position`.
    pub fn new(trip: TripId, driver: DriverId, eta_sec: u32, position: Option<GeoPoint>) -> Self {
        Self {
            trip_id: trip.to_string(),
            driver_id: driver.to_string(),
            eta_sec,
            driver_position: position.map(GeoJsonPoint::from),
            seq: 0,
        }
    }
}

trip_event! {
    /// `{tripId, driverId, at}` of `trip:driver_arrived_pickup` and `trip:started`.
    pub struct DriverStep {
        #[schema(format = "uuid")]
        trip_id: String,
        #[schema(format = "uuid", required = true)]
        driver_id: Option<String>,
        #[serde(serialize_with = "timestamp::serialize")]
        #[schema(value_type = String, format = DateTime)]
        at: OffsetDateTime,
    }
}

impl DriverStep {
    /// `trip:driver_arrived_pickup` of `t`.
    pub fn arrived(t: &Trip) -> Self {
        Self::at(t, t.arrived_pickup_at())
    }

    /// `trip:started` of `t`.
    pub fn started(t: &Trip) -> Self {
        Self::at(t, t.started_at())
    }

    /// A step of `t` taken `at` (the request time when the trip has no such time).
    fn at(t: &Trip, at: Option<OffsetDateTime>) -> Self {
        Self {
            trip_id: t.id().to_string(),
            driver_id: t.driver_id().map(|d| d.to_string()),
            at: at.unwrap_or(t.requested_at()),
            seq: 0,
        }
    }
}

trip_event! {
    /// `trip:completed`, with the fare.
    pub struct TripCompleted {
        #[schema(format = "uuid")]
        trip_id: String,
        #[schema(format = "uuid", required = true)]
        driver_id: Option<String>,
        #[serde(serialize_with = "timestamp::serialize")]
        #[schema(value_type = String, format = DateTime)]
        at: OffsetDateTime,
        #[schema(required = true)]
        fare_total: Option<f64>,
        currency: String,
    }
}

impl From<&Trip> for TripCompleted {
    fn from(t: &Trip) -> Self {
        Self {
            trip_id: t.id().to_string(),
            driver_id: t.driver_id().map(|d| d.to_string()),
            at: t.completed_at().unwrap_or(t.requested_at()),
            fare_total: t.fare_total().map(|c| c.units()),
            currency: t.currency().to_string(),
            seq: 0,
        }
    }
}

trip_event! {
    /// `trip:cancelled`: to everyone the trip concerns, and to a driver whose open offer was
    /// withdrawn ([`TripCancelled::offer_withdrawn`]).
    pub struct TripCancelled {
        #[schema(format = "uuid")]
        trip_id: String,
        /// `null` for a withdrawn offer.
        #[schema(value_type = Option<crate::schema::CancellerName>, required = true)]
        cancelled_by: Option<&'static str>,
        /// The canceller's reason, or `offer_withdrawn`.
        #[schema(required = true)]
        reason: Option<String>,
        #[serde(serialize_with = "timestamp::serialize")]
        #[schema(value_type = String, format = DateTime)]
        at: OffsetDateTime,
    }
}

/// The `reason` a driver whose open offer was withdrawn is told.
pub const OFFER_WITHDRAWN: &str = "offer_withdrawn";

impl From<&Trip> for TripCancelled {
    fn from(t: &Trip) -> Self {
        Self {
            trip_id: t.id().to_string(),
            cancelled_by: t.cancelled_by().map(ActorKind::as_str),
            reason: t.end_reason().map(str::to_owned),
            at: t.cancelled_at().unwrap_or(t.requested_at()),
            seq: 0,
        }
    }
}

impl TripCancelled {
    /// To the driver of `o` only: its open offer was closed because the trip ended or was
    /// taken. Nobody cancelled it on the driver's behalf, hence `cancelledBy: null`.
    pub fn offer_withdrawn(o: &Offer) -> Self {
        Self {
            trip_id: o.trip_id().to_string(),
            cancelled_by: None,
            reason: Some(OFFER_WITHDRAWN.to_owned()),
            at: o.closed_at().unwrap_or(o.offered_at()),
            seq: 0,
        }
    }
}

impl TripOffered {
    /// The offer as its driver finds it on reconnect: `ttlSec` is the time `remaining`.
    #[must_use]
    pub fn with_remaining(mut self, remaining: time::Duration) -> Self {
        self.ttl_sec = remaining.whole_seconds().max(0);
        self
    }
}

/// The `data` of the `admin:trip:watch` / `admin:trip:unwatch` ack.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TripWatch)]
pub struct TripWatch {
    #[schema(format = "uuid")]
    trip_id: String,
    /// Whether the socket is now in the trip's room.
    watching: bool,
    trip: TripBody,
}

impl TripWatch {
    /// The socket now is (`watching`) or is not in the room of `trip`.
    pub fn new(trip: &Trip, watching: bool) -> Self {
        Self {
            trip_id: trip.id().to_string(),
            watching,
            trip: trip.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
