//! China's three coordinate systems: WGS-84 (GPS, OSM), GCJ-02 (AMap, Tencent; the legal system
//! for published maps) and BD-09 (Baidu). ecomap stores WGS-84 and converts at the edges.
//!
//! The GCJ-02 obfuscation is a published, closed-form forward transform (the well-known
//! "eviltransform" constants); there is no crate on crates.io we trust for it, and it is thirty
//! lines, so it is written here. The inverse has no closed form: it is found by fixed-point
//! iteration until the forward transform of the estimate lands within 1e-9° (~0.1 mm) of the
//! input. BD-09 is a closed-form rotation/scaling of GCJ-02, with a closed-form inverse that
//! is only approximate, so it too is refined by iteration.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A coordinate reference system that an import or a response may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    #[default]
    Wgs84,
    Gcj02,
    Bd09,
}

impl Crs {
    pub fn code(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }

    /// GCJ-02 and BD-09 are only defined inside China; WGS-84 is global.
    pub fn is_china_only(self) -> bool {
        self != Crs::Wgs84
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown coordinate system {0:?}: use wgs84, gcj02 or bd09")]
pub struct UnknownCrs(pub String);

impl FromStr for Crs {
    type Err = UnknownCrs;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "wgs84" | "epsg4326" | "gps" => Ok(Crs::Wgs84),
            "gcj02" | "amap" | "gaode" | "tencent" | "mars" => Ok(Crs::Gcj02),
            "bd09" | "bd09ll" | "baidu" => Ok(Crs::Bd09),
            _ => Err(UnknownCrs(s.to_string())),
        }
    }
}

/// The rough box in which GCJ-02 is applied (the same one AMap's and Baidu's SDKs use).
/// Outside it the transforms are the identity.
pub fn in_china_extent(lon: f64, lat: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = PI * 3000.0 / 180.0;

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS-84 → GCJ-02 (closed form).
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china_extent(lon, lat) {
        return (lon, lat);
    }
    let d_lat = transform_lat(lon - 105.0, lat - 35.0);
    let d_lon = transform_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat = (d_lat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (A / sqrt_magic * rad_lat.cos() * PI);
    (lon + d_lon, lat + d_lat)
}

/// GCJ-02 → WGS-84 by fixed-point iteration; converges to < 1e-9° in a handful of steps.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china_extent(lon, lat) {
        return (lon, lat);
    }
    let (mut w_lon, mut w_lat) = (lon, lat);
    for _ in 0..30 {
        let (g_lon, g_lat) = wgs84_to_gcj02(w_lon, w_lat);
        let (e_lon, e_lat) = (g_lon - lon, g_lat - lat);
        w_lon -= e_lon;
        w_lat -= e_lat;
        if e_lon.abs() < 1e-10 && e_lat.abs() < 1e-10 {
            break;
        }
    }
    (w_lon, w_lat)
}

/// GCJ-02 → BD-09 (closed form, as Baidu publishes it).
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// BD-09 → GCJ-02: Baidu's approximate inverse, refined by iteration to < 1e-9°.
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    let approx = |lon: f64, lat: f64| {
        let x = lon - 0.0065;
        let y = lat - 0.006;
        let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
        let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
        (z * theta.cos(), z * theta.sin())
    };
    let (mut g_lon, mut g_lat) = approx(lon, lat);
    for _ in 0..30 {
        let (b_lon, b_lat) = gcj02_to_bd09(g_lon, g_lat);
        let (e_lon, e_lat) = (b_lon - lon, b_lat - lat);
        g_lon -= e_lon;
        g_lat -= e_lat;
        if e_lon.abs() < 1e-10 && e_lat.abs() < 1e-10 {
            break;
        }
    }
    (g_lon, g_lat)
}

/// Converts a position in `crs` to WGS-84.
pub fn to_wgs84(crs: Crs, lon: f64, lat: f64) -> (f64, f64) {
    match crs {
        Crs::Wgs84 => (lon, lat),
        Crs::Gcj02 => gcj02_to_wgs84(lon, lat),
        Crs::Bd09 => {
            if !in_china_extent(lon, lat) {
                return (lon, lat);
            }
            let (g_lon, g_lat) = bd09_to_gcj02(lon, lat);
            gcj02_to_wgs84(g_lon, g_lat)
        }
    }
}

/// Converts a WGS-84 position to `crs`.
pub fn from_wgs84(crs: Crs, lon: f64, lat: f64) -> (f64, f64) {
    match crs {
        Crs::Wgs84 => (lon, lat),
        Crs::Gcj02 => wgs84_to_gcj02(lon, lat),
        Crs::Bd09 => {
            if !in_china_extent(lon, lat) {
                return (lon, lat);
            }
            let (g_lon, g_lat) = wgs84_to_gcj02(lon, lat);
            gcj02_to_bd09(g_lon, g_lat)
        }
    }
}

/// Metres between two nearby positions (equirectangular; for accuracy checks in tests).
pub fn approx_distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let lat = ((a.1 + b.1) / 2.0).to_radians();
    let dx = (a.0 - b.0).to_radians() * lat.cos() * 6_371_008.8;
    let dy = (a.1 - b.1).to_radians() * 6_371_008.8;
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Reference values from independent implementations (coordtransform / eviltransform,
    // as published in their READMEs and test suites).
    #[test]
    fn wgs84_to_gcj02_matches_published_reference() {
        // Beijing, eviltransform's test case.
        let (lon, lat) = wgs84_to_gcj02(116.397_428, 39.909_23);
        assert!((lon - 116.403_671_2).abs() < 2e-6, "{lon}");
        assert!((lat - 39.910_632_3).abs() < 2e-6, "{lat}");
    }

    #[test]
    fn outside_china_is_identity() {
        assert_eq!(wgs84_to_gcj02(9.52, 47.14), (9.52, 47.14));
        assert_eq!(to_wgs84(Crs::Bd09, 2.35, 48.85), (2.35, 48.85));
    }

    #[test]
    fn parses_names() {
        assert_eq!("GCJ-02".parse::<Crs>().unwrap(), Crs::Gcj02);
        assert_eq!("bd09".parse::<Crs>().unwrap(), Crs::Bd09);
        assert!("utm".parse::<Crs>().is_err());
    }

    proptest! {
        #[test]
        fn gcj02_round_trip_is_within_a_centimetre(lon in 73.0f64..135.0, lat in 18.0f64..53.0) {
            let (g_lon, g_lat) = from_wgs84(Crs::Gcj02, lon, lat);
            let back = to_wgs84(Crs::Gcj02, g_lon, g_lat);
            prop_assert!(approx_distance_m(back, (lon, lat)) < 0.01);
        }

        #[test]
        fn bd09_round_trip_is_within_a_centimetre(lon in 73.0f64..135.0, lat in 18.0f64..53.0) {
            let (b_lon, b_lat) = from_wgs84(Crs::Bd09, lon, lat);
            let back = to_wgs84(Crs::Bd09, b_lon, b_lat);
            prop_assert!(approx_distance_m(back, (lon, lat)) < 0.01);
        }

        #[test]
        fn gcj02_offset_is_between_tens_and_hundreds_of_metres(lon in 73.0f64..135.0, lat in 18.0f64..53.0) {
            let g = wgs84_to_gcj02(lon, lat);
            let d = approx_distance_m(g, (lon, lat));
            prop_assert!(d > 1.0 && d < 1200.0, "{d}");
        }
    }
}
