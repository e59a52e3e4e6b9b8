//! Simulated driver positions inside Havana, each ping carrying a unique marker in the
//! coordinates' last digits so its admin broadcast can be matched back to it.
//!
//! A coordinate is an integer number of 1e-7 degree units (about 1 cm). The position is snapped
//! to a 1e-3 degree cell (about 110 m) and the marker fills the cell: its low four decimal digits
//! go into the latitude's last four units, the next four into the longitude's. The server stores
//! and re-emits the `f64` untouched (JSON numbers round-trip exactly), so [`marker_of`] recovers
//! the marker from `lastLocation.coordinates` of `driver:location:update`.

use rand::Rng as _;
use rodando_toolkit::rng::{self, StdRng};

/// The box the simulated fleet drives in (Havana): latitude north, longitude east (negative = west).
pub const LAT_MIN: f64 = 23.05;
/// Northern edge.
pub const LAT_MAX: f64 = 23.16;
/// Western edge.
pub const LON_MIN: f64 = -82.45;
/// Eastern edge.
pub const LON_MAX: f64 = -82.30;

/// Degrees per coordinate unit.
const UNITS_PER_DEGREE: f64 = 1e7;
/// Units per marker cell (1e-3 degree); the marker digits live below it.
const CELL: i64 = 10_000;
/// Distinct markers: pings further apart than this many share a marker (harmless: by then the
/// earlier one is long gone from the in-flight table).
pub const MARKER_SPACE: u64 = (CELL as u64) * (CELL as u64);

/// Typical city speed, about 30 km/h, in degrees per second (1 degree ≈ 111 km).
const SPEED_DEG_PER_S: f64 = 30.0 / 3600.0 / 111.0;

/// One driver's moving position: straight lines at city speed, turning now and then and
/// bouncing off the box's edges.
#[derive(Debug, Clone)]
pub struct Walker {
    lat: f64,
    lon: f64,
    heading: f64,
    rng: StdRng,
}

impl Walker {
    /// A driver starting somewhere in the box.
    pub fn new(seed: u64) -> Self {
        let mut rng = rng::stream(seed, 0);
        Self {
            lat: rng.random_range(LAT_MIN..LAT_MAX),
            lon: rng.random_range(LON_MIN..LON_MAX),
            heading: rng.random_range(0.0..std::f64::consts::TAU),
            rng,
        }
    }

    /// Moves for `dt_s` seconds and returns the new (latitude, longitude), inside the box.
    pub fn step(&mut self, dt_s: f64) -> (f64, f64) {
        if self.rng.random::<f64>() < 0.1 {
            self.heading += self.rng.random_range(-1.0..1.0);
        }
        let d = SPEED_DEG_PER_S * dt_s.clamp(0.0, 60.0);
        let mut lat = self.lat + d * self.heading.cos();
        let mut lon = self.lon + d * self.heading.sin();
        if !(LAT_MIN..LAT_MAX).contains(&lat) {
            self.heading = std::f64::consts::PI - self.heading;
            lat = lat.clamp(LAT_MIN, LAT_MAX);
        }
        if !(LON_MIN..LON_MAX).contains(&lon) {
            self.heading = -self.heading;
            lon = lon.clamp(LON_MIN, LON_MAX);
        }
        self.lat = lat;
        self.lon = lon;
        (lat, lon)
    }
}

#[allow(clippy::cast_possible_truncation)] // degrees in the box are far inside i64 units
fn to_units(degrees: f64) -> i64 {
    (degrees * UNITS_PER_DEGREE).round() as i64
}

#[allow(clippy::cast_precision_loss)] // |units| < 2^31
fn to_degrees(units: i64) -> f64 {
    units as f64 / UNITS_PER_DEGREE
}

/// Snaps (lat, lon) to its cell and writes `marker` (mod [`MARKER_SPACE`]) into the last digits.
/// The result stays inside the box, so it is never (0, 0).
pub fn marked(lat: f64, lon: f64, marker: u64) -> (f64, f64) {
    let marker = marker % MARKER_SPACE;
    #[allow(clippy::cast_possible_wrap)] // < CELL
    let (low, high) = ((marker % CELL as u64) as i64, (marker / CELL as u64) as i64);
    // Cells whose whole span lies inside the box.
    let lat_cell = to_units(lat)
        .div_euclid(CELL)
        .clamp(to_units(LAT_MIN) / CELL, to_units(LAT_MAX) / CELL - 1);
    let lon_cell = to_units(lon).div_euclid(CELL).clamp(
        to_units(LON_MIN).div_euclid(CELL),
        to_units(LON_MAX).div_euclid(CELL) - 1,
    );
    (
        to_degrees(lat_cell * CELL + low),
        to_degrees(lon_cell * CELL + high),
    )
}

/// The marker [`marked`] wrote into (lat, lon).
pub fn marker_of(lat: f64, lon: f64) -> u64 {
    let low = to_units(lat).rem_euclid(CELL);
    let high = to_units(lon).rem_euclid(CELL);
    #[allow(clippy::cast_sign_loss)] // rem_euclid is non-negative
    let marker = (high * CELL + low) as u64;
    marker
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(lat: f64, lon: f64) -> bool {
        (LAT_MIN..=LAT_MAX).contains(&lat) && (LON_MIN..=LON_MAX).contains(&lon)
    }

    #[test]
    fn walkers_stay_in_the_box_and_never_hit_null_island() {
        for seed in 0..200 {
            let mut w = Walker::new(seed);
            for i in 0..2_000u64 {
                // Long steps too, so edges are hit often.
                let dt = if i % 7 == 0 { 60.0 } else { 1.0 };
                let (lat, lon) = w.step(dt);
                assert!(inside(lat, lon), "seed {seed} step {i}: ({lat}, {lon})");
                let marker = seed * 1_000_003 + i * 7_919;
                let (mlat, mlon) = marked(lat, lon, marker);
                assert!(inside(mlat, mlon), "marked ({mlat}, {mlon})");
                assert!(mlat != 0.0 && mlon != 0.0);
                assert_eq!(marker_of(mlat, mlon), marker % MARKER_SPACE);
                // The marker moves the point by less than a cell (~110 m) plus clamping.
                assert!((mlat - lat).abs() < 2e-3 && (mlon - lon).abs() < 2e-3);
            }
        }
    }

    #[test]
    fn corners_and_extreme_markers_stay_inside() {
        for (lat, lon) in [
            (LAT_MIN, LON_MIN),
            (LAT_MAX, LON_MAX),
            (LAT_MIN, LON_MAX),
            (LAT_MAX, LON_MIN),
            (0.0, 0.0),
            (90.0, 180.0),
        ] {
            for marker in [
                0,
                1,
                CELL as u64 - 1,
                MARKER_SPACE - 1,
                MARKER_SPACE,
                u64::MAX,
            ] {
                let (mlat, mlon) = marked(lat, lon, marker);
                assert!(
                    inside(mlat, mlon),
                    "({lat},{lon}) #{marker} -> ({mlat},{mlon})"
                );
                assert_eq!(marker_of(mlat, mlon), marker % MARKER_SPACE);
            }
        }
    }

    #[test]
    fn markers_survive_a_json_round_trip() {
        let (lat, lon) = marked(23.1136, -82.3666, 12_345_678);
        let text = serde_json::json!({ "coordinates": [lon, lat] }).to_string();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let lon2 = back["coordinates"][0].as_f64().unwrap_or_default();
        let lat2 = back["coordinates"][1].as_f64().unwrap_or_default();
        assert_eq!(marker_of(lat2, lon2), 12_345_678);
    }
}
