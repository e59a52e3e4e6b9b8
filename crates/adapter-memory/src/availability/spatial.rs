//! The memory store's spatial index: an R-tree over the positions of available drivers, walked
//! nearest first from the pickup, so dispatch's nearest-driver query looks at the few drivers
//! it returns (plus the unmatchable ones nearer than them), never at every driver in the radius.
//!
//! The tree holds each position as a point of the unit sphere in 3D (x, y, z). The straight-line
//! (chord) distance between two such points is `2 sin(θ / 2)` for the angle θ between them,
//! which grows with θ over the whole of `[0, π]`; the great-circle distance is `R θ`. So the
//! tree's own Euclidean nearest-neighbour order is exactly the great-circle order, with no box,
//! no pole and no antimeridian to special-case. The tree's distances only order and bound the
//! walk: each candidate's reported distance is [`GeoPoint::distance_m`] (haversine), measured by
//! the caller.

use std::cmp::Ordering;

use rodando_domain::availability::DriverAvailability;
use rodando_domain::dispatch::Candidate;
use rodando_domain::geo::GeoPoint;
use rodando_domain::ids::DriverId;
use rstar::RTree;
use rstar::primitives::GeomWithData;

/// A driver at a point of the unit sphere.
type Entry = GeomWithData<[f64; 3], DriverId>;

/// How far (metres) the great-circle distance derived from the tree's chord may be from the
/// haversine distance of the same two points, in floating point. Both are `R θ`; they differ by
/// rounding only, far below a millimetre except near antipodal points, where both `asin`s are
/// ill-conditioned and the difference reaches a few centimetres. The walk goes this much
/// further than strictly needed, so it never stops before a driver the haversine order would
/// have put first.
fn slack_m(distance_m: f64) -> f64 {
    1.0 + distance_m * 1e-9
}

/// Available drivers with a known position. Changed only together with the table's rows.
#[derive(Default)]
pub(super) struct SpatialIndex {
    tree: RTree<Entry>,
}

/// `point` on the unit sphere.
fn unit_vector(point: GeoPoint) -> [f64; 3] {
    let lat = point.latitude().degrees().to_radians();
    let lon = point.longitude().degrees().to_radians();
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// The radius of the sphere [`GeoPoint::distance_m`] measures on, from the domain itself (pole to
/// pole is half a great circle, and haversine is exact there: `asin(1)`).
fn earth_radius_m() -> f64 {
    match (
        GeoPoint::from_degrees(90.0, 0.0),
        GeoPoint::from_degrees(-90.0, 0.0),
    ) {
        (Ok(north), Ok(south)) => north.distance_m(&south) / std::f64::consts::PI,
        // Both are valid coordinates; a mean Earth radius keeps the walk sound regardless.
        _ => 6_371_008.8,
    }
}

/// Where `state` sits in the index: drivers that are available, connected and have a position.
/// Freshness changes with time alone, so it is checked at query time, not here.
pub(super) fn indexed_at(state: &DriverAvailability) -> Option<[f64; 3]> {
    if !state.is_available_for_trips || !state.is_connected {
        return None;
    }
    Some(unit_vector(state.last_location?.point))
}

impl SpatialIndex {
    /// Moves `driver` from `before` to `after` (either may be absent).
    pub(super) fn relocate(
        &mut self,
        driver: DriverId,
        before: Option<[f64; 3]>,
        after: Option<[f64; 3]>,
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

    /// The `limit` nearest indexed drivers within `radius_m` of `origin` that `measure` accepts,
    /// nearest first (ties by id). `measure` gives a matchable driver's haversine distance from
    /// `origin`, or `None` for a driver that cannot be offered a trip.
    ///
    /// The walk visits drivers nearest first and stops at the first one that is surely beyond
    /// the radius, or surely farther than the `limit`-th matchable driver found (by more than
    /// [`slack_m`], so near-ties are all measured and ordered by haversine, not by the tree).
    /// Unmatchable drivers are passed over without stopping it.
    pub(super) fn nearest(
        &self,
        origin: GeoPoint,
        radius_m: f64,
        limit: usize,
        mut measure: impl FnMut(DriverId) -> Option<f64>,
    ) -> Vec<Candidate> {
        if radius_m.is_nan() || radius_m < 0.0 || limit == 0 {
            return Vec::new();
        }
        let earth_radius_m = earth_radius_m();
        let mut found: Vec<Candidate> = Vec::new();
        // The farthest distance found so far: at least the `limit`-th nearest one once there
        // are `limit`.
        let mut farthest_m = 0.0_f64;
        for (entry, chord_2) in self
            .tree
            .nearest_neighbor_iter_with_distance_2(&unit_vector(origin))
        {
            let walked_m = 2.0 * earth_radius_m * (chord_2.sqrt() / 2.0).min(1.0).asin();
            let beyond_m = walked_m - slack_m(walked_m);
            if beyond_m > radius_m || (found.len() >= limit && beyond_m > farthest_m) {
                break;
            }
            let Some(distance_m) = measure(entry.data) else {
                continue;
            };
            if distance_m <= radius_m {
                farthest_m = farthest_m.max(distance_m);
                found.push(Candidate {
                    driver_id: entry.data,
                    distance_m,
                });
            }
        }
        found.sort_by(nearest_first);
        found.truncate(limit);
        found
    }

    /// How many drivers are indexed.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.tree.size()
    }
}

/// By distance, then by id (so equally distant drivers come in one stable order).
fn nearest_first(a: &Candidate, b: &Candidate) -> Ordering {
    a.distance_m
        .total_cmp(&b.distance_m)
        .then_with(|| a.driver_id.cmp(&b.driver_id))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;

    use super::*;
    use uuid::Uuid;

    fn at(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint::from_degrees(lat, lon).unwrap()
    }

    fn id(i: usize) -> DriverId {
        DriverId::from_uuid(Uuid::from_u128(i as u128))
    }

    fn index_of(points: &[GeoPoint]) -> SpatialIndex {
        let mut index = SpatialIndex::default();
        for (i, p) in points.iter().enumerate() {
            index.relocate(id(i), None, Some(unit_vector(*p)));
        }
        index
    }

    /// A small deterministic generator (xorshift), so the cases are the same on every run.
    struct Rng(u64);
    impl Rng {
        fn unit(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            #[allow(clippy::cast_precision_loss)]
            let v = (self.0 >> 11) as f64 / (1_u64 << 53) as f64;
            v
        }
        fn range(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * self.unit()
        }
    }

    /// What the query must return: every matchable point measured, within the radius, nearest
    /// first by haversine (ties by id), the first `limit`.
    fn brute_force(
        points: &[GeoPoint],
        matchable: &[bool],
        origin: GeoPoint,
        radius_m: f64,
        limit: usize,
    ) -> Vec<Candidate> {
        if radius_m.is_nan() || radius_m < 0.0 {
            return Vec::new();
        }
        let mut all: Vec<Candidate> = points
            .iter()
            .enumerate()
            .filter(|(i, _)| matchable[*i])
            .map(|(i, p)| Candidate {
                driver_id: id(i),
                distance_m: origin.distance_m(p),
            })
            .filter(|c| c.distance_m <= radius_m)
            .collect();
        all.sort_by(nearest_first);
        all.truncate(limit);
        all
    }

    fn walk(
        index: &SpatialIndex,
        points: &[GeoPoint],
        matchable: &[bool],
        origin: GeoPoint,
        radius_m: f64,
        limit: usize,
    ) -> (Vec<Candidate>, usize) {
        let by_id: HashMap<DriverId, usize> = (0..points.len()).map(|i| (id(i), i)).collect();
        let mut measured = 0;
        let found = index.nearest(origin, radius_m, limit, |driver| {
            measured += 1;
            let i = by_id[&driver];
            matchable[i].then(|| origin.distance_m(&points[i]))
        });
        (found, measured)
    }

    /// The walk returns exactly what measuring every driver would, on points over the whole
    /// globe (poles, antimeridian) and packed in one city, with many drivers sharing a position
    /// (ties broken by id), and most of the nearest drivers unmatchable.
    #[test]
    fn the_walk_finds_what_measuring_every_driver_finds() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut points = vec![at(90.0, 0.0), at(-90.0, 45.0), at(12.0, 180.0)];
        for lat in (-89..=89).step_by(4) {
            for lon in (-179..=179).step_by(4) {
                points.push(at(f64::from(lat) + 0.37, f64::from(lon) - 0.21));
            }
        }
        for _ in 0..3000 {
            points.push(at(rng.range(23.05, 23.16), rng.range(-82.45, -82.30)));
        }
        // Six places each shared by eight drivers.
        for _ in 0..6 {
            let shared = at(rng.range(23.10, 23.12), rng.range(-82.40, -82.38));
            points.extend(std::iter::repeat_n(shared, 8));
        }
        let index = index_of(&points);
        assert_eq!(index.len(), points.len());
        let origins = [
            at(23.1136, -82.3666),
            at(23.11, -82.39),
            at(89.9, 10.0),
            at(-89.5, -170.0),
            at(10.0, 179.9),
            at(-45.0, -179.95),
            at(0.5, 0.5),
        ];
        let radii = [
            0.0,
            300.0,
            5_000.0,
            150_000.0,
            3_000_000.0,
            25_000_000.0,
            f64::INFINITY,
        ];
        for share_matchable in [1.0, 0.5, 0.1] {
            let matchable: Vec<bool> = points
                .iter()
                .map(|_| rng.unit() < share_matchable)
                .collect();
            for origin in origins {
                for radius in radii {
                    for limit in [1, 3, 10, 50] {
                        let expected = brute_force(&points, &matchable, origin, radius, limit);
                        let (got, _) = walk(&index, &points, &matchable, origin, radius, limit);
                        assert_eq!(
                            got, expected,
                            "{origin:?} r={radius} limit={limit} share={share_matchable}"
                        );
                    }
                }
            }
            // Ties at a shared place: every limit cuts the tie in id order.
            let shared = points[points.len() - 1];
            for limit in 1..=8 {
                let expected = brute_force(&points, &matchable, shared, 5_000.0, limit);
                let (got, _) = walk(&index, &points, &matchable, shared, 5_000.0, limit);
                assert_eq!(got, expected, "at a shared place, limit={limit}");
            }
        }
    }

    /// Unmatchable drivers nearer than every matchable one are walked past: the matchable ones
    /// beyond them are still found.
    #[test]
    fn the_walk_passes_unmatchable_drivers_without_stopping() {
        let origin = at(23.1377, -82.3595);
        let mut points: Vec<GeoPoint> = (0..200)
            .map(|i| at(23.1377 + f64::from(i) * 1e-5, -82.3595))
            .collect();
        points.push(at(23.16, -82.3595));
        points.push(at(23.17, -82.3595));
        let matchable: Vec<bool> = (0..points.len()).map(|i| i >= 200).collect();
        let index = index_of(&points);
        let (got, _) = walk(&index, &points, &matchable, origin, 5_000.0, 2);
        let ids: Vec<DriverId> = got.iter().map(|c| c.driver_id).collect();
        assert_eq!(ids, vec![id(200), id(201)]);
    }

    /// With every driver matchable the walk measures about `limit` drivers, not the thousands
    /// within the radius.
    #[test]
    fn the_walk_measures_few_drivers_when_the_nearest_are_matchable() {
        let mut rng = Rng(42);
        let points: Vec<GeoPoint> = (0..20_000)
            .map(|_| at(rng.range(23.05, 23.16), rng.range(-82.45, -82.30)))
            .collect();
        let matchable = vec![true; points.len()];
        let index = index_of(&points);
        for _ in 0..50 {
            let origin = at(rng.range(23.05, 23.16), rng.range(-82.45, -82.30));
            let (got, measured) = walk(&index, &points, &matchable, origin, 5_000.0, 10);
            assert_eq!(got.len(), 10);
            assert!(measured <= 15, "{measured} drivers measured for 10");
        }
    }

    #[test]
    fn no_room_or_no_radius_finds_nobody() {
        let points = [at(23.0, -82.0)];
        let index = index_of(&points);
        let all = [true];
        for (radius, limit) in [(1_000.0, 0), (-1.0, 10), (f64::NAN, 10)] {
            let (got, measured) = walk(&index, &points, &all, at(23.0, -82.0), radius, limit);
            assert!(got.is_empty(), "r={radius} limit={limit}");
            assert_eq!(measured, 0);
        }
        let (got, _) = walk(&index, &points, &all, at(23.0, -82.0), f64::INFINITY, 10);
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn relocating_moves_and_removes_entries() {
        let mut index = SpatialIndex::default();
        let driver = id(7);
        let (a, b) = (at(23.0, -82.0), at(23.0, -81.0));
        let here = |index: &SpatialIndex, origin: GeoPoint| {
            index.nearest(origin, 1_000.0, 10, |_| Some(0.0)).len()
        };
        index.relocate(driver, None, Some(unit_vector(a)));
        index.relocate(driver, Some(unit_vector(a)), Some(unit_vector(b)));
        assert_eq!(index.len(), 1);
        assert_eq!(here(&index, a), 0);
        assert_eq!(here(&index, b), 1);
        index.relocate(driver, Some(unit_vector(b)), None);
        assert_eq!(index.len(), 0);
    }

    /// The radius the walk converts chords with is the domain's.
    #[test]
    fn the_earth_radius_is_the_domains() {
        let r = earth_radius_m();
        let quarter = at(0.0, 90.0).distance_m(&at(0.0, 1e-9));
        assert!(
            (r * std::f64::consts::FRAC_PI_2 - quarter).abs() < 1e-3,
            "{r}"
        );
    }
}
