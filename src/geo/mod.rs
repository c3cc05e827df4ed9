//! Coordinate systems and geometry helpers used at ecomap's edges.

pub mod crs;

/// Corners of the polygon that stands for a circle (life circles, outlet circles, the straight
/// line fallback of isochrones).
pub const CIRCLE_CORNERS: u32 = 64;

/// A circle of `radius_m` around `[lon, lat]` (WGS-84) as a closed ring of
/// [`CIRCLE_CORNERS`] + 1 `[lon, lat]` points, on a local equirectangular approximation
/// (metres per degree of latitude 111,195; of longitude that × cos(latitude)): well under
/// 0.1% off at the radii of walking circles.
pub fn circle_ring(center: [f64; 2], radius_m: f64) -> Vec<[f64; 2]> {
    let d_lat = radius_m / 111_195.0;
    let d_lon = d_lat / center[1].to_radians().cos();
    (0..=CIRCLE_CORNERS)
        .map(|i| {
            let a =
                f64::from(i % CIRCLE_CORNERS) / f64::from(CIRCLE_CORNERS) * std::f64::consts::TAU;
            [center[0] + d_lon * a.cos(), center[1] + d_lat * a.sin()]
        })
        .collect()
}

/// The area in m² of [`circle_ring`]'s polygon (a regular polygon inscribed in the circle).
pub fn circle_ring_area_m2(radius_m: f64) -> f64 {
    let n = f64::from(CIRCLE_CORNERS);
    0.5 * n * radius_m * radius_m * (std::f64::consts::TAU / n).sin()
}
