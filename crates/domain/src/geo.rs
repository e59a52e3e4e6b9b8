//! WGS84 coordinates and distances.

/// Why a coordinate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CoordinateError {
    /// NaN or infinite.
    #[error("must be a finite number")]
    NotFinite,
    /// Latitude outside [-90, 90].
    #[error("must be between -90 and 90")]
    LatitudeOutOfRange,
    /// Longitude outside [-180, 180].
    #[error("must be between -180 and 180")]
    LongitudeOutOfRange,
    /// Exactly (0, 0): the "null island" of an uninitialized GPS fix.
    #[error("(0, 0) is not a real position")]
    NullIsland,
}

/// `degrees` when finite and within ±`limit`, else `NotFinite` or `out_of_range`.
fn within(degrees: f64, limit: f64, out_of_range: CoordinateError) -> Result<f64, CoordinateError> {
    if !degrees.is_finite() {
        Err(CoordinateError::NotFinite)
    } else if !(-limit..=limit).contains(&degrees) {
        Err(out_of_range)
    } else {
        Ok(degrees)
    }
}

/// Degrees north, in [-90, 90].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Latitude(f64);

impl Latitude {
    /// # Errors
    /// [`CoordinateError::NotFinite`] or [`CoordinateError::LatitudeOutOfRange`].
    pub fn new(degrees: f64) -> Result<Self, CoordinateError> {
        within(degrees, 90.0, CoordinateError::LatitudeOutOfRange).map(Self)
    }

    /// Degrees.
    pub fn degrees(self) -> f64 {
        self.0
    }
}

/// Degrees east, in [-180, 180].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Longitude(f64);

impl Longitude {
    /// # Errors
    /// [`CoordinateError::NotFinite`] or [`CoordinateError::LongitudeOutOfRange`].
    pub fn new(degrees: f64) -> Result<Self, CoordinateError> {
        within(degrees, 180.0, CoordinateError::LongitudeOutOfRange).map(Self)
    }

    /// Degrees.
    pub fn degrees(self) -> f64 {
        self.0
    }
}

/// A real position on Earth (never exactly (0, 0)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    latitude: Latitude,
    longitude: Longitude,
}

/// Mean Earth radius used by [`GeoPoint::distance_m`].
const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl GeoPoint {
    /// # Errors
    /// [`CoordinateError::NullIsland`] for exactly (0, 0).
    pub fn new(latitude: Latitude, longitude: Longitude) -> Result<Self, CoordinateError> {
        if latitude.0 == 0.0 && longitude.0 == 0.0 {
            Err(CoordinateError::NullIsland)
        } else {
            Ok(Self {
                latitude,
                longitude,
            })
        }
    }

    /// Parses raw degrees, checking both.
    ///
    /// # Errors
    /// The first [`CoordinateError`] found, latitude first.
    pub fn from_degrees(latitude: f64, longitude: f64) -> Result<Self, CoordinateError> {
        Self::new(Latitude::new(latitude)?, Longitude::new(longitude)?)
    }

    /// Latitude.
    pub fn latitude(&self) -> Latitude {
        self.latitude
    }

    /// Longitude.
    pub fn longitude(&self) -> Longitude {
        self.longitude
    }

    /// Great-circle (haversine) distance in metres.
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        haversine_m(
            (self.latitude.0, self.longitude.0),
            (other.latitude.0, other.longitude.0),
        )
    }
}

/// Great-circle (haversine) distance in metres between two (latitude, longitude) pairs in
/// degrees, unchecked: for callers (the simulator) that hold raw degrees.
#[must_use]
pub fn haversine_m(from: (f64, f64), to: (f64, f64)) -> f64 {
    let (lat1, lat2) = (from.0.to_radians(), to.0.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (to.1 - from.1).to_radians();
    let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ranges_are_inclusive_and_non_finite_is_refused() {
        assert!(Latitude::new(90.0).is_ok());
        assert!(Latitude::new(-90.0).is_ok());
        assert_eq!(
            Latitude::new(90.0001),
            Err(CoordinateError::LatitudeOutOfRange)
        );
        assert_eq!(
            Longitude::new(-180.5),
            Err(CoordinateError::LongitudeOutOfRange)
        );
        assert_eq!(Latitude::new(f64::NAN), Err(CoordinateError::NotFinite));
        assert_eq!(
            Longitude::new(f64::INFINITY),
            Err(CoordinateError::NotFinite)
        );
        assert_eq!(
            GeoPoint::from_degrees(0.0, 0.0),
            Err(CoordinateError::NullIsland)
        );
        assert!(GeoPoint::from_degrees(0.0, 1.0).is_ok());
    }

    #[test]
    fn havana_to_varadero_is_about_115_km() {
        let havana = GeoPoint::from_degrees(23.1136, -82.3666).unwrap();
        let varadero = GeoPoint::from_degrees(23.1540, -81.2448).unwrap();
        let d = havana.distance_m(&varadero);
        assert!((114_000.0..116_000.0).contains(&d), "{d}");
    }

    proptest! {
        #[test]
        fn distance_is_symmetric_bounded_and_zero_to_itself(
            a in (-90.0f64..=90.0, -180.0f64..=180.0),
            b in (-90.0f64..=90.0, -180.0f64..=180.0),
        ) {
            prop_assume!(a != (0.0, 0.0) && b != (0.0, 0.0));
            let p = GeoPoint::from_degrees(a.0, a.1).unwrap();
            let q = GeoPoint::from_degrees(b.0, b.1).unwrap();
            let d = p.distance_m(&q);
            prop_assert!((d - q.distance_m(&p)).abs() < 1e-6);
            prop_assert!((0.0..=20_040_000.0).contains(&d));
            prop_assert_eq!(p.distance_m(&p), 0.0);
        }
    }
}
