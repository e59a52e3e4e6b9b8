//! Live tracking of a trip's driver (`trip:driver_en_route`, PROTOCOL §8): where the driver is
//! heading in each phase of the trip, how far it still is, and when it gets there.
//!
//! The estimate is an [`EtaModel`]. Today it is [`StraightLine`]: haversine distance at a fixed
//! speed (the dispatch ETA's [`PICKUP_SPEED_KMH`]). A routing model (road distance, traffic)
//! replaces it by implementing the same trait; nothing else changes.

use crate::fare::PICKUP_SPEED_KMH;
use crate::geo::GeoPoint;
use crate::ids::DriverId;
use crate::trip::{Trip, TripStatus};

/// How far a driver is from a destination and how long it needs to reach it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Metres still to go (never negative).
    pub distance_m: f64,
    /// Seconds still to go.
    pub eta_sec: u32,
}

/// Estimates the way from a driver's position to a destination.
pub trait EtaModel: Send + Sync {
    /// The estimate from `from` to `to`.
    fn estimate(&self, from: &GeoPoint, to: &GeoPoint) -> Estimate;
}

/// Straight line (haversine) at a constant speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StraightLine {
    speed_kmh: f64,
}

impl StraightLine {
    /// At the dispatch ETA's speed, [`PICKUP_SPEED_KMH`].
    pub const PICKUP: Self = Self {
        speed_kmh: PICKUP_SPEED_KMH,
    };

    /// At `speed_kmh`; a speed that is not a positive finite number falls back to
    /// [`PICKUP_SPEED_KMH`], so an estimate is always finite.
    pub fn at(speed_kmh: f64) -> Self {
        if speed_kmh.is_finite() && speed_kmh > 0.0 {
            Self { speed_kmh }
        } else {
            Self::PICKUP
        }
    }

    /// Seconds to cover `distance_m` at this speed, rounded, saturating at `u32::MAX`.
    pub fn eta_sec(&self, distance_m: f64) -> u32 {
        let secs = distance_m.max(0.0) / (self.speed_kmh * 1000.0 / 3600.0);
        // Bounded: no destination is farther than half the planet.
        secs.round().min(f64::from(u32::MAX)) as u32
    }
}

impl Default for StraightLine {
    fn default() -> Self {
        Self::PICKUP
    }
}

impl EtaModel for StraightLine {
    fn estimate(&self, from: &GeoPoint, to: &GeoPoint) -> Estimate {
        let distance_m = from.distance_m(to).max(0.0);
        Estimate {
            distance_m,
            eta_sec: self.eta_sec(distance_m),
        }
    }
}

/// Where the driver is heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// `arriving`: to the pickup.
    ToPickup,
    /// `in_progress`: to the dropoff, passenger on board.
    ToDropoff,
}

impl Phase {
    /// The phase of a trip in `status`, if its driver is tracked in it (`arriving` or
    /// `in_progress` only).
    pub const fn of(status: TripStatus) -> Option<Self> {
        match status {
            TripStatus::Arriving => Some(Self::ToPickup),
            TripStatus::InProgress => Some(Self::ToDropoff),
            _ => None,
        }
    }

    /// Wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ToPickup => "to_pickup",
            Self::ToDropoff => "to_dropoff",
        }
    }
}

/// The tracked driver's progress on its trip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Where it is heading.
    pub phase: Phase,
    /// How far and how long to get there.
    pub estimate: Estimate,
}

/// The progress of `driver` at `position` on `trip`, or `None` when the trip is not tracked:
/// not `arriving`/`in_progress`, or driven by someone else.
pub fn progress(
    trip: &Trip,
    driver: DriverId,
    position: &GeoPoint,
    model: &dyn EtaModel,
) -> Option<Progress> {
    if trip.driver_id() != Some(driver) {
        return None;
    }
    let phase = Phase::of(trip.status())?;
    let target = match phase {
        Phase::ToPickup => &trip.pickup().point,
        Phase::ToDropoff => &trip.dropoff().point,
    };
    Some(Progress {
        phase,
        estimate: model.estimate(position, target),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fare::{Cents, Currency};
    use crate::ids::{PassengerId, TripId};
    use crate::trip::{Actor, PaymentMethod, Place};
    use time::macros::datetime;
    use uuid::Uuid;

    fn point(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint::from_degrees(lat, lon).unwrap()
    }

    fn driver(n: u128) -> DriverId {
        DriverId::from_uuid(Uuid::from_u128(n))
    }

    /// A trip in `status`, driven by `driver` from its acceptance on.
    fn trip(status: TripStatus, driver: DriverId) -> Trip {
        let at = datetime!(2026-01-01 00:05 UTC);
        let by = Actor::Driver(driver);
        let mut t = Trip::request(
            TripId::from_uuid(Uuid::from_u128(1)),
            PassengerId::from_uuid(Uuid::from_u128(2)),
            Place::new(point(23.1136, -82.3666), None).unwrap(),
            Place::new(point(23.1330, -82.3830), None).unwrap(),
            PaymentMethod::Cash,
            Cents::from_units(5.0),
            Currency::parse("CUP").unwrap(),
            datetime!(2026-01-01 00:00 UTC),
        );
        while t.status() != status {
            t = match (t.status(), status) {
                (TripStatus::Pending, TripStatus::Cancelled) => t.cancel(Actor::System, None, at),
                (TripStatus::Pending, TripStatus::NoDriversFound) => t.give_up("none", at),
                (TripStatus::Pending, _) => t.start_assigning(),
                (TripStatus::Assigning, _) => t.accept(driver, at),
                (TripStatus::Accepted, _) => t.begin_arriving(),
                (TripStatus::Arriving, _) => t.start(by, at),
                _ => t.complete(by, Cents(500), at),
            }
            .unwrap();
        }
        t
    }

    #[test]
    fn a_straight_line_at_28_kmh_covers_7_km_in_15_minutes() {
        assert_eq!(StraightLine::PICKUP.eta_sec(7000.0), 900);
        assert_eq!(StraightLine::PICKUP.eta_sec(0.0), 0);
        assert_eq!(StraightLine::PICKUP.eta_sec(-5.0), 0);
        assert_eq!(StraightLine::PICKUP.eta_sec(f64::INFINITY), u32::MAX);
        assert_eq!(StraightLine::at(56.0).eta_sec(7000.0), 450);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(StraightLine::at(bad), StraightLine::PICKUP, "{bad}");
        }
    }

    #[test]
    fn the_estimate_is_the_haversine_distance_at_the_speed() {
        let a = point(23.1136, -82.3666);
        let b = point(23.1330, -82.3830);
        let e = StraightLine::PICKUP.estimate(&a, &b);
        assert_eq!(e.distance_m, a.distance_m(&b));
        assert_eq!(e.eta_sec, StraightLine::PICKUP.eta_sec(a.distance_m(&b)));
        assert_eq!(StraightLine::PICKUP.estimate(&a, &a).eta_sec, 0);
    }

    #[test]
    fn an_arriving_driver_heads_to_the_pickup_and_an_in_progress_one_to_the_dropoff() {
        let d = driver(9);
        let here = point(23.12, -82.37);
        for (status, phase) in [
            (TripStatus::Arriving, Phase::ToPickup),
            (TripStatus::InProgress, Phase::ToDropoff),
        ] {
            let t = trip(status, d);
            let target = match phase {
                Phase::ToPickup => t.pickup(),
                Phase::ToDropoff => t.dropoff(),
            };
            let p = progress(&t, d, &here, &StraightLine::PICKUP).unwrap();
            assert_eq!(p.phase, phase);
            assert_eq!(p.estimate.distance_m, here.distance_m(&target.point));
        }
        assert_eq!(Phase::ToPickup.as_str(), "to_pickup");
        assert_eq!(Phase::ToDropoff.as_str(), "to_dropoff");
    }

    #[test]
    fn only_the_assigned_driver_of_an_arriving_or_in_progress_trip_is_tracked() {
        let d = driver(9);
        let here = point(23.12, -82.37);
        for status in TripStatus::ALL {
            let tracked = progress(&trip(status, d), d, &here, &StraightLine::PICKUP);
            assert_eq!(
                tracked.is_some(),
                matches!(status, TripStatus::Arriving | TripStatus::InProgress),
                "{status:?}"
            );
        }
        let other = trip(TripStatus::Arriving, driver(8));
        assert_eq!(progress(&other, d, &here, &StraightLine::PICKUP), None);
    }

    /// A model is a plain trait object: a routing ETA slots in where the straight line is.
    #[test]
    fn another_model_replaces_the_straight_line() {
        struct Fixed;
        impl EtaModel for Fixed {
            fn estimate(&self, _: &GeoPoint, _: &GeoPoint) -> Estimate {
                Estimate {
                    distance_m: 1.0,
                    eta_sec: 42,
                }
            }
        }
        let d = driver(9);
        let p = progress(&trip(TripStatus::Arriving, d), d, &point(1.0, 1.0), &Fixed);
        assert_eq!(p.unwrap().estimate.eta_sec, 42);
    }
}
