//! Points and the city's bounding box. At city scale straight segments in latitude/longitude
//! are straight enough, and distances use the haversine formula the server's fares use too.

use std::fmt;
use std::str::FromStr;

use rand::Rng as _;
use rodando_domain::geo::haversine_m;

use crate::rng::StdRng;

/// A WGS84 position in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
}

impl Point {
    /// Great-circle distance to `other`, metres (the domain's haversine, as the fares use).
    #[must_use]
    pub fn distance_m(self, other: Point) -> f64 {
        haversine_m((self.lat, self.lon), (other.lat, other.lon))
    }

    /// Initial bearing towards `other`, degrees clockwise from north in [0, 360).
    #[must_use]
    pub fn bearing_to(self, other: Point) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dl = (other.lon - self.lon).to_radians();
        let y = dl.sin() * p2.cos();
        let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
        y.atan2(x).to_degrees().rem_euclid(360.0)
    }

    /// The point a fraction `t` (clamped to [0, 1]) of the way to `other`.
    #[must_use]
    pub fn lerp(self, other: Point, t: f64) -> Point {
        let t = t.clamp(0.0, 1.0);
        Point {
            lat: self.lat + (other.lat - self.lat) * t,
            lon: self.lon + (other.lon - self.lon) * t,
        }
    }
}

/// A latitude/longitude rectangle: `south,west,north,east` on the command line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// Southern edge, degrees.
    pub south: f64,
    /// Western edge, degrees.
    pub west: f64,
    /// Northern edge, degrees.
    pub north: f64,
    /// Eastern edge, degrees.
    pub east: f64,
}

impl BBox {
    /// Central Havana, 23.05–23.16 N, 82.45–82.30 W: the default city.
    pub const HAVANA: BBox = BBox {
        south: 23.05,
        west: -82.45,
        north: 23.16,
        east: -82.30,
    };

    /// A uniformly random point inside.
    pub fn random_point(&self, rng: &mut StdRng) -> Point {
        Point {
            lat: rng.random_range(self.south..self.north),
            lon: rng.random_range(self.west..self.east),
        }
    }

    /// A random point inside whose distance from `from` is within `[min_m, max_m]` when such a
    /// point can be found in a few draws; otherwise the farthest of the draws that stays under
    /// `max_m`, so a small box still gets trips.
    pub fn random_point_between(
        &self,
        rng: &mut StdRng,
        from: Point,
        min_m: f64,
        max_m: f64,
    ) -> Point {
        let mut best: Option<(f64, Point)> = None;
        for _ in 0..32 {
            let p = self.random_point(rng);
            let d = from.distance_m(p);
            if (min_m..=max_m).contains(&d) {
                return p;
            }
            if d <= max_m && best.is_none_or(|(bd, _)| d > bd) {
                best = Some((d, p));
            }
        }
        best.map_or_else(|| from.lerp(self.random_point(rng), 0.5), |(_, p)| p)
    }

    /// The centre.
    #[must_use]
    pub fn centre(&self) -> Point {
        Point {
            lat: (self.south + self.north) / 2.0,
            lon: (self.west + self.east) / 2.0,
        }
    }
}

impl fmt::Display for BBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{}",
            self.south, self.west, self.north, self.east
        )
    }
}

/// Why a `--bbox` value was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("expected south,west,north,east in degrees with south < north and west < east: {0}")]
pub struct BBoxError(String);

impl FromStr for BBox {
    type Err = BBoxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| BBoxError(format!("{s:?} ({e})")))?;
        let [south, west, north, east] = parts[..] else {
            return Err(BBoxError(format!("{s:?} has {} numbers", parts.len())));
        };
        let valid = [south, west, north, east].iter().all(|v| v.is_finite())
            && (-90.0..=90.0).contains(&south)
            && (-90.0..=90.0).contains(&north)
            && (-180.0..=180.0).contains(&west)
            && (-180.0..=180.0).contains(&east)
            && south < north
            && west < east;
        if valid {
            Ok(BBox {
                south,
                west,
                north,
                east,
            })
        } else {
            Err(BBoxError(s.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(lat: f64, lon: f64) -> Point {
        Point { lat, lon }
    }

    #[test]
    fn haversine_matches_a_known_distance() {
        // One degree of latitude is about 111.2 km.
        let a = at(23.0, -82.0);
        let b = at(24.0, -82.0);
        assert!((a.distance_m(b) - 111_195.0).abs() < 50.0);
        assert!(a.distance_m(a).abs() < 1e-9);
    }

    #[test]
    fn bearings_point_the_right_way() {
        let o = at(23.1, -82.4);
        let north = at(23.2, -82.4);
        let east = at(23.1, -82.3);
        assert!(o.bearing_to(north).abs() < 1e-6);
        assert!((o.bearing_to(east) - 90.0).abs() < 0.1);
        assert!((north.bearing_to(o) - 180.0).abs() < 1e-6);
    }

    #[test]
    fn bboxes_parse_strictly() {
        let b: BBox = "23.05,-82.45,23.16,-82.30".parse().unwrap();
        assert_eq!(b, BBox::HAVANA);
        assert_eq!(b.to_string().parse::<BBox>().unwrap(), b);
        for bad in [
            "",
            "1,2,3",
            "1,2,3,4,5",
            "23.16,-82.45,23.05,-82.30",
            "23.05,-82.30,23.16,-82.45",
            "a,b,c,d",
            "NaN,1,2,3",
            "-91,0,0,1",
        ] {
            assert!(bad.parse::<BBox>().is_err(), "{bad}");
        }
    }

    #[test]
    fn random_points_fall_inside_and_trips_respect_their_length() {
        let mut rng = crate::rng::stream(3, 0);
        let b = BBox::HAVANA;
        for _ in 0..1000 {
            let p = b.random_point(&mut rng);
            assert!((b.south..b.north).contains(&p.lat) && (b.west..b.east).contains(&p.lon));
            let q = b.random_point_between(&mut rng, p, 1000.0, 6000.0);
            assert!((b.south..=b.north).contains(&q.lat) && (b.west..=b.east).contains(&q.lon));
            assert!(p.distance_m(q) <= 6000.0 + 1e-6);
        }
        // In a box smaller than the minimum, the trip is still made, just shorter.
        let tiny: BBox = "23.10,-82.40,23.101,-82.399".parse().unwrap();
        let p = tiny.centre();
        let q = tiny.random_point_between(&mut rng, p, 1000.0, 6000.0);
        assert!(p.distance_m(q) < 200.0);
    }
}
