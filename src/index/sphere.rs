//! Geometry on the unit sphere: the 3-D points the R-tree holds and the conversions between
//! great-circle metres and chord lengths.
//!
//! Why 3-D: distances between unit vectors (chords) grow monotonically with great-circle
//! distance everywhere, so a Euclidean R-tree answers spherical radius and nearest queries
//! without the longitude squeeze of a lon/lat tree (a degree of longitude is 111 km at the
//! equator and 65 km at 54°N) and without special cases at the poles.

use crate::domain::Location;

/// The scalar the R-tree stores. Measured on 1M merchants (benches/index.rs): `f32` shrinks a
/// tree node from 80 to 48 bytes, but its rounding (up to 0.33 m) forces an exact haversine
/// check, with a cache miss on the item, for every point within 0.64 m of the radius, and
/// 500 m counts came out slower (64 µs against 55 µs); `f64` reports distances exact to
/// micrometres and needs such checks only in a 6 mm band. `f32` remains a one-line switch.
pub(crate) type Coord = f64;

/// The mean Earth radius in metres, as `geo::Haversine` (and so `Location::distance_m`) uses.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A bound on the disagreement, in unit-sphere chord length, between the chord from a stored
/// point to an exact (`f64`) query vector and the chord of the exact haversine distance. `f32`
/// rounds each coordinate (all below 1) by at most 2⁻²⁵ ≈ 3e-8, so a point moves by at most
/// √3·3e-8 ≈ 5.2e-8 (0.33 m); 1e-7 (0.64 m) keeps a margin of two. `f64` rounding is around
/// 1e-16, far below 1e-9 (6 mm).
pub(crate) const CHORD_EPS: f64 = if std::mem::size_of::<Coord>() == 4 {
    1e-7
} else {
    1e-9
};

/// The same bound for distances rstar computes itself (nearest neighbours): both points are
/// rounded and the arithmetic is in `Coord`, which for `f32` adds up to ~3e-7 at the largest
/// chords; 1e-6 is ample and costs only a few extra candidates.
pub(crate) const TREE_CHORD_EPS: f64 = if std::mem::size_of::<Coord>() == 4 {
    1e-6
} else {
    1e-9
};

/// The unit vector of a location, in `f64`.
pub(crate) fn unit_vector(loc: Location) -> [f64; 3] {
    let (lat, lon) = (loc.lat().to_radians(), loc.lon().to_radians());
    let (sin_lat, cos_lat) = lat.sin_cos();
    let (sin_lon, cos_lon) = lon.sin_cos();
    [cos_lat * cos_lon, cos_lat * sin_lon, sin_lat]
}

/// The stored (rounded) point of a location.
pub(crate) fn tree_point(loc: Location) -> [Coord; 3] {
    let [x, y, z] = unit_vector(loc);
    // Rounding to the storage precision is intended; CHORD_EPS accounts for it.
    [x as Coord, y as Coord, z as Coord]
}

/// The chord length on the unit sphere of a great-circle distance in metres, capped at the
/// diameter (a radius of half the circumference or more covers the whole sphere).
pub(crate) fn chord_of_m(distance_m: f64) -> f64 {
    let half_angle = distance_m / (2.0 * EARTH_RADIUS_M);
    if half_angle >= std::f64::consts::FRAC_PI_2 {
        2.0
    } else {
        2.0 * half_angle.sin()
    }
}

/// Great-circle metres of a squared chord length: `2R·asin(chord/2)`, the haversine formula
/// itself since `chord² / 4` is the haversine's `a`.
#[inline]
pub(crate) fn m_of_chord2(chord2: f64) -> f64 {
    let x = chord2.max(0.0).sqrt() * 0.5;
    // Below x = 0.01 (about 127 km) four terms of the Taylor series of asin are exact to f64
    // precision (the next term is 3e-18 of x). Plain arithmetic, unlike the libm call, lets
    // the compiler drop the computation entirely when a caller ignores the distance, as
    // category counts do.
    let asin = if x < 0.01 {
        let x2 = x * x;
        x * (1.0 + x2 * (1.0 / 6.0 + x2 * (3.0 / 40.0 + x2 * (5.0 / 112.0))))
    } else {
        x.min(1.0).asin()
    };
    2.0 * EARTH_RADIUS_M * asin
}

/// A stored coordinate in `f64`: the identity while [`Coord`] is `f64`, a widening with `f32`.
#[inline]
#[allow(clippy::useless_conversion)]
pub(crate) fn wide(c: Coord) -> f64 {
    f64::from(c)
}

/// Squared Euclidean distance from a stored point to a widened one, in `f64` so that the only
/// rounding is the storage's.
#[inline]
pub(crate) fn dist2(a: &[Coord; 3], b: &[f64; 3]) -> f64 {
    let dx = wide(a[0]) - b[0];
    let dy = wide(a[1]) - b[1];
    let dz = wide(a[2]) - b[2];
    dx * dx + dy * dy + dz * dz
}

/// The 3-D axis-aligned box enclosing the spherical patch of a lon/lat box (degrees, with
/// `min_lon <= max_lon`, `min_lat <= max_lat`), padded for rounding.
///
/// On the patch x = cos(lat)·cos(lon), y = cos(lat)·sin(lon), z = sin(lat). Latitude and
/// longitude vary independently, so each of x and y is a product of two independent ranges
/// and its extremes are among the products of the ranges' ends; z is monotonic in latitude.
pub(crate) fn patch_aabb(
    min_lon: f64,
    min_lat: f64,
    max_lon: f64,
    max_lat: f64,
) -> ([Coord; 3], [Coord; 3]) {
    let (lat0, lat1) = (min_lat.to_radians(), max_lat.to_radians());
    let (lon0, lon1) = (min_lon.to_radians(), max_lon.to_radians());
    let (cos_lat0, cos_lat1) = (lat0.cos(), lat1.cos());
    // cos(lat) peaks at the equator when the box straddles it, else at the end nearer to it.
    let cos_lat_max = if lat0 <= 0.0 && lat1 >= 0.0 {
        1.0
    } else {
        cos_lat0.max(cos_lat1)
    };
    let cos_lat_min = cos_lat0.min(cos_lat1);
    let contains = |angle: f64| lon0 <= angle && angle <= lon1;
    let (cos0, cos1) = (lon0.cos(), lon1.cos());
    let (sin0, sin1) = (lon0.sin(), lon1.sin());
    // cos(lon) peaks at 0; its minimum -1 at ±180° is an end of any valid box, so ends suffice.
    let cos_lon = (
        cos0.min(cos1),
        if contains(0.0) { 1.0 } else { cos0.max(cos1) },
    );
    let half_pi = std::f64::consts::FRAC_PI_2;
    let sin_lon = (
        if contains(-half_pi) {
            -1.0
        } else {
            sin0.min(sin1)
        },
        if contains(half_pi) {
            1.0
        } else {
            sin0.max(sin1)
        },
    );
    let product_range = |(lo, hi): (f64, f64)| {
        let p = [
            cos_lat_min * lo,
            cos_lat_min * hi,
            cos_lat_max * lo,
            cos_lat_max * hi,
        ];
        (
            p.iter().copied().fold(f64::INFINITY, f64::min),
            p.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    let x = product_range(cos_lon);
    let y = product_range(sin_lon);
    let z = (lat0.sin(), lat1.sin());
    // Padding by CHORD_EPS covers the trigonometric rounding here and the rounding of the
    // stored points, so no point of the patch falls outside.
    let lower = |v: f64| (v - CHORD_EPS) as Coord;
    let upper = |v: f64| (v + CHORD_EPS) as Coord;
    (
        [lower(x.0), lower(y.0), lower(z.0)],
        [upper(x.1), upper(y.1), upper(z.1)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(lon: f64, lat: f64) -> Location {
        Location::new(lon, lat).unwrap()
    }

    #[test]
    fn chord_distance_agrees_with_haversine_to_within_the_storage_rounding() {
        let a = loc(103.761, 29.569);
        for (lon, lat) in [
            (103.766, 29.571),
            (104.5, 30.9),
            (126.6, 45.7),
            (121.0, 53.9),
        ] {
            let b = loc(lon, lat);
            let by_chord = m_of_chord2(dist2(&tree_point(a), &unit_vector(b)));
            let exact = a.distance_m(&b);
            // CHORD_EPS in metres bounds the difference.
            assert!(
                (by_chord - exact).abs() < CHORD_EPS * EARTH_RADIUS_M,
                "{by_chord} vs {exact}"
            );
            let exact_chord = (dist2_f64(a, b)).sqrt();
            assert!((exact_chord - chord_of_m(exact)).abs() < 1e-12);
        }
    }

    fn dist2_f64(a: Location, b: Location) -> f64 {
        let (p, q) = (unit_vector(a), unit_vector(b));
        (0..3).map(|i| (p[i] - q[i]).powi(2)).sum()
    }

    #[test]
    fn a_radius_of_half_the_circumference_covers_the_sphere() {
        assert_eq!(chord_of_m(EARTH_RADIUS_M * std::f64::consts::PI), 2.0);
        assert_eq!(chord_of_m(1e12), 2.0);
    }

    #[test]
    fn patch_box_holds_every_point_of_the_patch() {
        let (lo, hi) = patch_aabb(-100.0, -10.0, 120.0, 54.0);
        for lon in (-100..=120).step_by(5) {
            for lat in (-10..=54).step_by(2) {
                let p = tree_point(loc(f64::from(lon), f64::from(lat)));
                for i in 0..3 {
                    assert!(lo[i] <= p[i] && p[i] <= hi[i], "{lon},{lat}");
                }
            }
        }
    }
}
