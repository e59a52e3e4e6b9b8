//! Money, the fare function and the ETA rule (PROTOCOL §8).

use std::fmt;

use crate::geo::GeoPoint;

/// Assumed average speed of a trip, for the duration estimate.
pub const TRIP_SPEED_KMH: f64 = 30.0;
/// Assumed average speed of a driver going to a pickup, for the ETA.
pub const PICKUP_SPEED_KMH: f64 = 28.0;

/// An ISO 4217-like currency code: three uppercase ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

/// Not three ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be three letters, such as CUP or USD")]
pub struct InvalidCurrency;

impl Currency {
    /// Parses a code, uppercasing it.
    ///
    /// # Errors
    /// [`InvalidCurrency`] unless exactly three ASCII letters.
    pub fn parse(code: &str) -> Result<Self, InvalidCurrency> {
        let bytes = code.as_bytes();
        if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_alphabetic) {
            Ok(Self([
                bytes[0].to_ascii_uppercase(),
                bytes[1].to_ascii_uppercase(),
                bytes[2].to_ascii_uppercase(),
            ]))
        } else {
            Err(InvalidCurrency)
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount in hundredths of the currency unit; exact, unlike floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cents(pub i64);

impl Cents {
    /// Rounds an amount in units to the nearest cent (half away from zero).
    pub fn from_units(units: f64) -> Self {
        if units.is_finite() {
            // Saturating float-to-int conversion; fares are far from the i64 range.
            Self((units * 100.0).round() as i64)
        } else {
            Self(0)
        }
    }

    /// The amount in units with two decimals, for the wire.
    pub fn units(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

/// Fare settings (`FARE_BASE`, `FARE_PER_KM`, `FARE_PER_MIN`, `FARE_MINIMUM`, `FARE_CURRENCY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FareConfig {
    /// Flag fall.
    pub base: Cents,
    /// Per kilometre.
    pub per_km: Cents,
    /// Per minute.
    pub per_min: Cents,
    /// Lowest fare charged.
    pub minimum: Cents,
    /// Currency of all amounts.
    pub currency: Currency,
}

impl Default for FareConfig {
    fn default() -> Self {
        Self {
            base: Cents(200),
            per_km: Cents(120),
            per_min: Cents(25),
            minimum: Cents(500),
            currency: Currency(*b"CUP"),
        }
    }
}

impl FareConfig {
    /// The fare for a trip of `distance_km` lasting `duration_min`, never below the minimum.
    pub fn fare(&self, distance_km: f64, duration_min: f64) -> Cents {
        let distance_km = distance_km.max(0.0);
        let duration_min = duration_min.max(0.0);
        let units = self.base.units()
            + self.per_km.units() * distance_km
            + self.per_min.units() * duration_min;
        Cents::from_units(units).max(self.minimum)
    }

    /// The estimate stored at request: haversine distance, duration at [`TRIP_SPEED_KMH`].
    pub fn estimate(&self, pickup: &GeoPoint, dropoff: &GeoPoint) -> Cents {
        let km = pickup.distance_m(dropoff) / 1000.0;
        self.fare(km, km / TRIP_SPEED_KMH * 60.0)
    }
}

/// Seconds for a driver `distance_m` away to reach the pickup at [`PICKUP_SPEED_KMH`] (the
/// straight-line [`crate::en_route::EtaModel`]).
pub fn eta_sec(distance_m: f64) -> u32 {
    crate::en_route::StraightLine::PICKUP.eta_sec(distance_m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fare_adds_base_distance_and_time_and_respects_the_minimum() {
        let c = FareConfig::default();
        // 10 km in 20 min: 2.00 + 12.00 + 5.00
        assert_eq!(c.fare(10.0, 20.0), Cents(1900));
        assert_eq!(c.fare(0.1, 0.2), c.minimum);
        assert_eq!(c.fare(-5.0, f64::NAN.max(0.0)), c.minimum);
        assert_eq!(Cents(1234).units(), 12.34);
    }

    #[test]
    fn the_estimate_uses_haversine_at_30_kmh() {
        let c = FareConfig::default();
        let a = GeoPoint::from_degrees(23.1136, -82.3666).unwrap();
        let b = GeoPoint::from_degrees(23.1330, -82.3830).unwrap();
        let km = a.distance_m(&b) / 1000.0;
        assert_eq!(c.estimate(&a, &b), c.fare(km, km * 2.0));
    }

    #[test]
    fn eta_is_distance_at_28_kmh() {
        assert_eq!(eta_sec(0.0), 0);
        assert_eq!(eta_sec(7000.0), 900);
        assert_eq!(eta_sec(f64::INFINITY), u32::MAX);
    }

    #[test]
    fn currencies_are_three_letters() {
        assert_eq!(Currency::parse("cup").unwrap().as_str(), "CUP");
        for bad in ["", "US", "USDT", "U$D", "€€€"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}
