//! `trips` and `trip_offers` rows: the columns read back, the values written, and the
//! conversion to the domain through its own constructors (`Place::new`, `Currency::parse`,
//! `TripStatus::parse`, `OfferStatus::parse`...), so a corrupt row is an error, never a value.

use rodando_domain::fare::{Cents, Currency};
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::{DriverId, OfferId, PassengerId, TripId};
use rodando_domain::offer::{InvalidOffer, Offer, OfferRecord, OfferStatus};
use rodando_domain::trip::{
    ActorKind, InvalidTrip, PaymentMethod, Place, Trip, TripRecord, TripStatus,
};
use rodando_ports::Unexpected;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::errors::corrupt;

/// `TripStatus::is_active` as SQL: the predicate of `trips_one_active_per_passenger`, repeated
/// literally in queries so the planner can use that index.
macro_rules! active_statuses {
    () => {
        "('pending', 'assigning', 'accepted', 'arriving', 'in_progress')"
    };
}
pub(crate) use active_statuses;

/// The select list of a trip: positions read back as plain degrees, the currency as text.
macro_rules! trip_columns {
    () => {
        "id, passenger_id, driver_id, status, \
         ST_Y(pickup::geometry) AS pickup_latitude, ST_X(pickup::geometry) AS pickup_longitude, \
         pickup_address, \
         ST_Y(dropoff::geometry) AS dropoff_latitude, \
         ST_X(dropoff::geometry) AS dropoff_longitude, \
         dropoff_address, payment_method, fare_estimate_cents, fare_total_cents, \
         currency::text AS currency, requested_at, accepted_at, arrived_pickup_at, started_at, \
         completed_at, cancelled_at, cancelled_by, end_reason, seq"
    };
}
pub(crate) use trip_columns;

/// The columns [`trip_values`] fills, in the same order.
macro_rules! trip_targets {
    () => {
        "id, passenger_id, driver_id, status, pickup, pickup_address, dropoff, dropoff_address, \
         payment_method, fare_estimate_cents, fare_total_cents, currency, requested_at, \
         accepted_at, arrived_pickup_at, started_at, completed_at, cancelled_at, cancelled_by, \
         end_reason"
    };
}
pub(crate) use trip_targets;

/// The values of a trip, as `$1..=$22` of [`bind_trip`] expect them in SQL.
macro_rules! trip_values {
    () => {
        "$1, $2, $3, $4, ST_SetSRID(ST_MakePoint($5, $6), 4326)::geography, $7, \
         ST_SetSRID(ST_MakePoint($8, $9), 4326)::geography, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $19, $20, $21, $22"
    };
}
pub(crate) use trip_values;

/// Binds `$1..=$22` of [`trip_values`] from a trip, on any sqlx query type.
macro_rules! bind_trip {
    ($query:expr, $trip:expr) => {{
        let trip: &rodando_domain::trip::Trip = $trip;
        $query
            .bind(trip.id().as_uuid())
            .bind(trip.passenger_id().as_uuid())
            .bind(trip.driver_id().map(|d| d.as_uuid()))
            .bind(trip.status().as_str())
            .bind(trip.pickup().point.longitude().degrees())
            .bind(trip.pickup().point.latitude().degrees())
            .bind(trip.pickup().address.as_deref())
            .bind(trip.dropoff().point.longitude().degrees())
            .bind(trip.dropoff().point.latitude().degrees())
            .bind(trip.dropoff().address.as_deref())
            .bind(trip.payment_method().as_str())
            .bind(trip.fare_estimate().0)
            .bind(trip.fare_total().map(|c| c.0))
            .bind(trip.currency().as_str())
            .bind(trip.requested_at())
            .bind(trip.accepted_at())
            .bind(trip.arrived_pickup_at())
            .bind(trip.started_at())
            .bind(trip.completed_at())
            .bind(trip.cancelled_at())
            .bind(
                trip.cancelled_by()
                    .map(rodando_domain::trip::ActorKind::as_str),
            )
            .bind(trip.end_reason())
    }};
}
pub(crate) use bind_trip;

/// The select list of an offer.
macro_rules! offer_columns {
    () => {
        "id, trip_id, driver_id, status, distance_to_pickup_m, offered_at, expires_at, \
         closed_at, reason"
    };
}
pub(crate) use offer_columns;

/// The values of an offer, as `$1..=$9` of [`bind_offer`] expect them, for [`offer_columns`].
macro_rules! offer_values {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9"
    };
}
pub(crate) use offer_values;

/// Binds `$1..=$9` of [`offer_values`] from an offer, on any sqlx query type.
macro_rules! bind_offer {
    ($query:expr, $offer:expr) => {{
        let offer: &rodando_domain::offer::Offer = $offer;
        $query
            .bind(offer.id().as_uuid())
            .bind(offer.trip_id().as_uuid())
            .bind(offer.driver_id().as_uuid())
            .bind(offer.status().as_str())
            .bind(offer.distance_to_pickup_m())
            .bind(offer.offered_at())
            .bind(offer.expires_at())
            .bind(offer.closed_at())
            .bind(offer.reason())
    }};
}
pub(crate) use bind_offer;

/// A trip as [`trip_columns`] reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct TripRow {
    id: Uuid,
    passenger_id: Uuid,
    driver_id: Option<Uuid>,
    status: String,
    pickup_latitude: f64,
    pickup_longitude: f64,
    pickup_address: Option<String>,
    dropoff_latitude: f64,
    dropoff_longitude: f64,
    dropoff_address: Option<String>,
    payment_method: String,
    fare_estimate_cents: i64,
    fare_total_cents: Option<i64>,
    currency: String,
    requested_at: OffsetDateTime,
    accepted_at: Option<OffsetDateTime>,
    arrived_pickup_at: Option<OffsetDateTime>,
    started_at: Option<OffsetDateTime>,
    completed_at: Option<OffsetDateTime>,
    cancelled_at: Option<OffsetDateTime>,
    cancelled_by: Option<String>,
    end_reason: Option<String>,
    seq: i64,
}

impl TryFrom<TripRow> for Trip {
    type Error = Unexpected;

    fn try_from(row: TripRow) -> Result<Self, Unexpected> {
        let bad = |what: &str| corrupt("trips", row.id, what);
        let place = |lat, lon, address: Option<&str>, what| {
            let point = GeoPoint::from_degrees(lat, lon).map_err(|_| bad(what))?;
            Place::new(point, address).map_err(|_| bad(what))
        };
        Trip::restore(TripRecord {
            id: TripId::from_uuid(row.id),
            passenger_id: PassengerId::from_uuid(row.passenger_id),
            driver_id: row.driver_id.map(DriverId::from_uuid),
            status: TripStatus::parse(&row.status).map_err(|_| bad("status"))?,
            pickup: place(
                row.pickup_latitude,
                row.pickup_longitude,
                row.pickup_address.as_deref(),
                "pickup",
            )?,
            dropoff: place(
                row.dropoff_latitude,
                row.dropoff_longitude,
                row.dropoff_address.as_deref(),
                "dropoff",
            )?,
            payment_method: PaymentMethod::parse(&row.payment_method)
                .map_err(|_| bad("payment_method"))?,
            fare_estimate: Cents(row.fare_estimate_cents),
            fare_total: row.fare_total_cents.map(Cents),
            currency: Currency::parse(&row.currency).map_err(|_| bad("currency"))?,
            requested_at: row.requested_at,
            accepted_at: row.accepted_at,
            arrived_pickup_at: row.arrived_pickup_at,
            started_at: row.started_at,
            completed_at: row.completed_at,
            cancelled_at: row.cancelled_at,
            cancelled_by: row
                .cancelled_by
                .as_deref()
                .map(|by| ActorKind::parse(by).map_err(|_| bad("cancelled_by")))
                .transpose()?,
            end_reason: row.end_reason,
            seq: u64::try_from(row.seq).map_err(|_| bad("seq"))?,
        })
        .map_err(|InvalidTrip(rule)| bad(rule))
    }
}

/// An offer as [`offer_columns`] reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct OfferRow {
    id: Uuid,
    trip_id: Uuid,
    driver_id: Uuid,
    status: String,
    distance_to_pickup_m: f64,
    offered_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    closed_at: Option<OffsetDateTime>,
    reason: Option<String>,
}

impl TryFrom<OfferRow> for Offer {
    type Error = Unexpected;

    fn try_from(row: OfferRow) -> Result<Self, Unexpected> {
        Offer::restore(OfferRecord {
            id: OfferId::from_uuid(row.id),
            trip_id: TripId::from_uuid(row.trip_id),
            driver_id: DriverId::from_uuid(row.driver_id),
            status: OfferStatus::parse(&row.status)
                .map_err(|_| corrupt("trip_offers", row.id, "status"))?,
            distance_to_pickup_m: row.distance_to_pickup_m,
            offered_at: row.offered_at,
            expires_at: row.expires_at,
            closed_at: row.closed_at,
            reason: row.reason,
        })
        .map_err(|InvalidOffer(rule)| corrupt("trip_offers", row.id, rule))
    }
}

#[cfg(test)]
mod tests {
    use rodando_domain::trip::{ActorKind, TripStatus};

    #[test]
    fn the_active_statuses_in_sql_are_the_domains() {
        let domain: Vec<String> = TripStatus::ALL
            .into_iter()
            .filter(|s| s.is_active())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(active_statuses!(), format!("({})", domain.join(", ")));
        let migration = include_str!("../../../../migrations/0005_trips.up.sql");
        assert!(
            migration.contains(&format!("WHERE status IN {}", active_statuses!())),
            "the index predicate differs from the query's"
        );
    }

    #[test]
    fn the_cancelled_by_check_allows_every_actor_kind() {
        let names: Vec<String> = ActorKind::ALL
            .into_iter()
            .map(|k| format!("'{}'", k.as_str()))
            .collect();
        let migration = include_str!("../../../../migrations/0005_trips.up.sql");
        assert!(
            migration.contains(&format!("CHECK (cancelled_by IN ({}))", names.join(", "))),
            "the CHECK of trips.cancelled_by differs from ActorKind::ALL"
        );
    }
}
