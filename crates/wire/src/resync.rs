//! What a client needs to get back in step after a drop or a gap (protocol.md, "State on
//! (re)connect" and "Gaps and `trip:sync`"): `hello.state` and the `trip:sync` ack.
//!
//! Nullable fields are `required`: they are always sent (as `null` when empty).

use rodando_application::resync::{ActiveTrip, OpenOffer, SessionState, TripDriver};
use rodando_domain::availability::Position;
use rodando_domain::trip::Trip;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::availability::AvailabilitySnapshot;
use crate::timestamp;
use crate::trips::{Sequenced, TripBody, TripOffered};

/// A driver's last known position.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LastPosition)]
pub struct LastPosition {
    /// Degrees north.
    latitude: f64,
    /// Degrees east.
    longitude: f64,
    /// When the driver was there.
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    at: OffsetDateTime,
}

impl From<&Position> for LastPosition {
    fn from(p: &Position) -> Self {
        Self {
            latitude: p.point.latitude().degrees(),
            longitude: p.point.longitude().degrees(),
            at: p.at,
        }
    }
}

/// The assigned driver of an active trip.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = TripDriverState)]
pub struct TripDriverBody {
    #[schema(format = "uuid")]
    id: String,
    /// Display name.
    name: String,
    /// Last known position; `null` when it has none.
    #[schema(required = true)]
    position: Option<LastPosition>,
}

impl From<&TripDriver> for TripDriverBody {
    fn from(d: &TripDriver) -> Self {
        Self {
            id: d.id.to_string(),
            name: d.name.clone(),
            position: d.position.as_ref().map(LastPosition::from),
        }
    }
}

/// A trip that is not finished: the REST trip, its latest `seq`, and its driver once assigned.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = ActiveTripState)]
pub struct ActiveTripBody {
    trip: TripBody,
    /// The seq of the trip's latest event: events with a seq at or below it are already in
    /// `trip`.
    seq: u64,
    /// The assigned driver; `null` until a driver accepted.
    #[schema(required = true)]
    driver: Option<TripDriverBody>,
}

impl From<&ActiveTrip> for ActiveTripBody {
    fn from(a: &ActiveTrip) -> Self {
        Self {
            trip: (&a.trip).into(),
            seq: a.trip.seq(),
            driver: a.driver.as_ref().map(TripDriverBody::from),
        }
    }
}

/// `hello.state`: everything a socket needs to render from scratch, read from the store.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SessionState)]
pub struct SessionStateBody {
    /// The driver's availability snapshot; `null` on `/passengers`.
    #[schema(required = true)]
    availability: Option<AvailabilitySnapshot>,
    /// The driver's open offers, each the `trip:assignment:offered` payload with `ttlSec` the
    /// seconds left; empty on `/passengers`.
    offers: Vec<TripOffered>,
    /// The driver's or passenger's trip that is not finished; `null` when none.
    #[schema(required = true)]
    active_trip: Option<ActiveTripBody>,
}

impl From<&SessionState> for SessionStateBody {
    fn from(s: &SessionState) -> Self {
        Self {
            availability: s.availability.as_ref().map(AvailabilitySnapshot::from),
            offers: s.offers.iter().map(offered).collect(),
            active_trip: s.active_trip.as_ref().map(ActiveTripBody::from),
        }
    }
}

/// An open offer as `trip:assignment:offered` has it, with the time left and the trip's seq.
fn offered(o: &OpenOffer) -> TripOffered {
    TripOffered::new(&o.offer, &o.trip)
        .with_remaining(o.remaining)
        .with_seq(o.trip.seq())
}

/// The `data` of the `trip:sync` ack: the trip as stored now and the seq of its latest event.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = TripSync)]
pub struct TripSyncBody {
    trip: TripBody,
    /// The seq of the trip's latest event: `trip` already holds every event up to it.
    seq: u64,
}

impl From<&Trip> for TripSyncBody {
    fn from(t: &Trip) -> Self {
        Self {
            trip: t.into(),
            seq: t.seq(),
        }
    }
}
