//! The memory store's spatial index: an R-tree over the positions of available drivers, so
//! dispatch's nearest-driver query looks only at drivers near the pickup, never at every driver.
//!
//! The tree holds plain (longitude, latitude) degrees, where distances are not metres. A query
//! therefore asks the tree for a longitude/latitude box that surely contains the whole circle of
//! the search radius (a slightly larger one), and the caller measures each candidate exactly with
//! [`GeoPoint::distance_m`].

use std::f64::consts::{FRAC_PI_2, PI};

use rodando_domain::availability::DriverAvailability;
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::DriverId;
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

/// A driver at (longitude, latitude).
type Entry = GeomWithData<[f64; 2], DriverId>;

/// Smaller than any radius of the Earth: dividing by it overestimates the angle a distance spans,
/// so the box is never too small whatever sphere the distances are measured on.
const EARTH_MIN_RADIUS_M: f64 = 6_356_000.0;

/// Widens the box a little beyond the exact bound, against rounding.
const MARGIN_DEG: f64 = 1e-9;

/// Available drivers with a known position. Changed only together with the table's rows.
#[derive(Default)]
pub(super) struct SpatialIndex {
    tree: RTree<Entry>,
}

/// Where `state` sits in the index: drivers that are available, connected and have a position.
/// Freshness changes with time alone, so it is checked at query time, not here.
pub(super) fn indexed_at(state: &DriverAvailability) -> Option<[f64; 2]> {
    if !state.is_available_for_trips || !state.is_connected {
        return None;
    }
    let point = state.last_location?.point;
    Some([point.longitude().degrees(), point.latitude().degrees()])
}

impl SpatialIndex {
    /// Moves `driver` from `before` to `after` (either may be absent).
    pub(super) fn relocate(
        &mut self,
        driver: DriverId,
        before: Option<[f64; 2]>,
        after: Option<[f64; 2]>,
    ) {
        if before == after {
            return;
        }
        if let Some(at) = before {
            self.tree.remove(&Entry::new(at, driver));
        }
        if let Some(at) = after {
            self.tree.insert(Entry::new(at, driver));
        }
    }

    /// Every indexed driver that may be within `radius_m` of `origin` (a superset: the caller
    /// measures each one).
    pub(super) fn candidates(
        &self,
        origin: GeoPoint,
        radius_m: f64,
    ) -> impl Iterator<Item = DriverId> + '_ {
        bounding_boxes(origin, radius_m)
            .into_iter()
            .flat_map(|b| self.tree.locate_in_envelope(&b))
            .map(|entry| entry.data)
    }

    /// How many drivers are indexed.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.tree.size()
    }
}

/// One box, or two when the circle crosses the antimeridian, covering every point within
/// `radius_m` of `origin`. None for a radius that is negative or not a number.
fn bounding_boxes(origin: GeoPoint, radius_m: f64) -> Vec<AABB<[f64; 2]>> {
    if radius_m.is_nan() || radius_m < 0.0 {
        return Vec::new();
    }
    let angle = radius_m / EARTH_MIN_RADIUS_M;
    let lat = origin.latitude().degrees().to_radians();
    let lon = origin.longitude().degrees();
    let lat_min = (lat - angle).to_degrees() - MARGIN_DEG;
    let lat_max = (lat + angle).to_degrees() + MARGIN_DEG;
    if lat + angle >= FRAC_PI_2 || lat - angle <= -FRAC_PI_2 || angle >= PI {
        // The circle holds a pole: every longitude.
        let corner = |lat: f64| lat.clamp(-90.0, 90.0);
        return vec![AABB::from_corners(
            [-180.0, corner(lat_min)],
            [180.0, corner(lat_max)],
        )];
    }
    // The widest longitude span of a circle that holds no pole (reached north of its centre in
    // the north, south of it in the south).
    let half_span = (angle.sin() / lat.cos()).min(1.0).asin().to_degrees() + MARGIN_DEG;
    let (west, east) = (lon - half_span, lon + half_span);
    let band = |w: f64, e: f64| AABB::from_corners([w, lat_min], [e, lat_max]);
    if west < -180.0 {
        vec![band(west + 360.0, 180.0), band(-180.0, east)]
    } else if east > 180.0 {
        vec![band(west, 180.0), band(-180.0, east - 360.0)]
    } else {
        vec![band(west, east)]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use uuid::Uuid;

    fn at(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint::from_degrees(lat, lon).unwrap()
    }

    fn index_of(points: &[GeoPoint]) -> SpatialIndex {
        let mut index = SpatialIndex::default();
        for (i, p) in points.iter().enumerate() {
            let id = DriverId::from_uuid(Uuid::from_u128(i as u128));
            index.relocate(
                id,
                None,
                Some([p.longitude().degrees(), p.latitude().degrees()]),
            );
        }
        index
    }

    /// The boxes never miss a point within the radius: compared with measuring every point, on
    /// a grid over the whole globe, near the poles and across the antimeridian.
    #[test]
    fn candidates_hold_every_point_within_the_radius() {
        let mut points = vec![at(90.0, 0.0), at(-90.0, 45.0), at(12.0, 180.0)];
        for lat in (-89..=89).step_by(2) {
            for lon in (-179..=179).step_by(2) {
                points.push(at(f64::from(lat) + 0.37, f64::from(lon) - 0.21));
            }
        }
        let index = index_of(&points);
        let origins = [
            at(23.1136, -82.3666),
            at(89.9, 10.0),
            at(-89.5, -170.0),
            at(10.0, 179.9),
            at(-45.0, -179.95),
            at(0.5, 0.5),
        ];
        for origin in origins {
            for radius in [
                0.0,
                1_000.0,
                150_000.0,
                800_000.0,
                3_000_000.0,
                25_000_000.0,
            ] {
                let mut got: Vec<DriverId> = index.candidates(origin, radius).collect();
                got.sort();
                for (i, p) in points.iter().enumerate() {
                    if origin.distance_m(p) <= radius {
                        let id = DriverId::from_uuid(Uuid::from_u128(i as u128));
                        assert!(
                            got.binary_search(&id).is_ok(),
                            "{origin:?} r={radius}: missed {p:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_small_radius_looks_at_few_drivers() {
        let points: Vec<GeoPoint> = (0..1000)
            .map(|i| at(20.0 + f64::from(i) * 0.01, -82.0))
            .collect();
        let index = index_of(&points);
        assert_eq!(index.len(), 1000);
        let near = index.candidates(at(23.0, -82.0), 3_000.0).count();
        assert!((1..=10).contains(&near), "{near}");
        assert_eq!(index.candidates(at(23.0, -82.0), -1.0).count(), 0);
        assert_eq!(index.candidates(at(23.0, -82.0), f64::NAN).count(), 0);
    }

    #[test]
    fn relocating_moves_and_removes_entries() {
        let mut index = SpatialIndex::default();
        let id = DriverId::from_uuid(Uuid::from_u128(7));
        index.relocate(id, None, Some([-82.0, 23.0]));
        index.relocate(id, Some([-82.0, 23.0]), Some([-81.0, 23.0]));
        assert_eq!(index.len(), 1);
        assert_eq!(index.candidates(at(23.0, -82.0), 1_000.0).count(), 0);
        assert_eq!(index.candidates(at(23.0, -81.0), 1_000.0).count(), 1);
        index.relocate(id, Some([-81.0, 23.0]), None);
        assert_eq!(index.len(), 0);
    }
}
