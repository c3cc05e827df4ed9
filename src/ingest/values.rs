//! Cell values as people type them in spreadsheets: numbers with units or thousands separators,
//! yes/no in several languages, and coordinates that may be swapped or in the wrong system.
//! Every function here returns the reason text for a `RowError`; the caller names the field.

use crate::geo::crs::{in_china_extent, to_wgs84, Crs};

/// Parses a coordinate. Rust's `f64` parser accepts "NaN" and "inf", which are never coordinates.
pub(crate) fn parse_coord(value: Option<&str>) -> Result<f64, String> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Err("missing coordinate".into());
    };
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("bad coordinate {v:?}: expected a decimal number")),
    }
}

/// Which half of a coordinate pair a problem is about, so that a CSV error names its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    Lon,
    Lat,
}

impl Axis {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Axis::Lon => "lon",
            Axis::Lat => "lat",
        }
    }
}

/// Checks a position given in `crs` and converts it to WGS-84.
///
/// Swapped pairs are caught two ways: a "latitude" beyond ±90 whose longitude would be a valid
/// latitude (any system), and, for the China-only systems, a pair outside China's extent whose
/// swap is inside it. A GCJ-02/BD-09 position outside China is an error rather than a silent
/// identity conversion, because it means the data is in another system or simply wrong.
pub(crate) fn check_point(crs: Crs, lon: f64, lat: f64) -> Result<(f64, f64), (Axis, String)> {
    let swapped = || {
        (
            Axis::Lat,
            format!("latitude and longitude look swapped (lon {lon}, lat {lat})"),
        )
    };
    if !lon.is_finite() {
        return Err((Axis::Lon, "bad coordinate: not a finite number".into()));
    }
    if !lat.is_finite() {
        return Err((Axis::Lat, "bad coordinate: not a finite number".into()));
    }
    if lat.abs() > 90.0 && lon.abs() <= 90.0 {
        return Err(swapped());
    }
    if crs.is_china_only() && !in_china_extent(lon, lat) {
        if in_china_extent(lat, lon) {
            return Err(swapped());
        }
        return Err((
            Axis::Lon,
            format!("({lon}, {lat}) is outside China's extent for crs {crs}"),
        ));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err((Axis::Lon, format!("{lon} is outside -180..180")));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err((Axis::Lat, format!("{lat} is outside -90..90")));
    }
    Ok(to_wgs84(crs, lon, lat))
}

/// Units and currency signs that spreadsheets copied from AMap, Dianping or Lianjia carry.
const PREFIXES: &[&str] = &["¥", "￥"];
const SUFFIXES: &[&str] = &[
    "元/平方米",
    "元/平米",
    "元/㎡",
    "元/m²",
    "元/m2",
    "元",
    "户",
    "人次",
    "人",
    "分",
];

/// Parses an optional number: blank is `None`. Accepts `¥45`, `45元`, `12,800元/㎡` and `4.5分`;
/// commas are accepted only as thousands separators (`1,234`), never as decimal commas.
pub(crate) fn parse_number(value: Option<&str>) -> Result<Option<f64>, String> {
    let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let mut v = raw;
    for p in PREFIXES {
        v = v.strip_prefix(p).unwrap_or(v).trim_start();
    }
    for s in SUFFIXES {
        if let Some(rest) = v.strip_suffix(s) {
            v = rest.trim_end();
            break;
        }
    }
    let plain = if v.contains(',') {
        if !is_thousands_grouped(v) {
            return Err(format!("not a number: {raw:?}"));
        }
        v.replace(',', "")
    } else {
        v.to_string()
    };
    match plain.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(Some(x)),
        _ => Err(format!("not a number: {raw:?}")),
    }
}

/// `1,234` or `-12,345.5`: groups of exactly three digits after the first comma.
fn is_thousands_grouped(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    let int = v.split('.').next().unwrap_or(v);
    let mut groups = int.split(',');
    let first_ok = groups
        .next()
        .is_some_and(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()));
    first_ok && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
}

const TRUE_WORDS: &[&str] = &["是", "yes", "true", "1", "y", "支持", "有", "√", "✓"];
const FALSE_WORDS: &[&str] = &["否", "no", "false", "0", "n", "不支持", "无", "×", "-"];

/// Parses a yes/no cell; blank is `None` (callers decide what blank means).
pub(crate) fn parse_bool(value: Option<&str>) -> Result<Option<bool>, String> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let lower = v.to_lowercase();
    if TRUE_WORDS.contains(&lower.as_str()) {
        Ok(Some(true))
    } else if FALSE_WORDS.contains(&lower.as_str()) {
        Ok(Some(false))
    } else {
        Err(format!("expected 是/否 or yes/no, got {v:?}"))
    }
}

/// A free-text cell where "none" words mean absent (chain 品牌: "无" for an independent shop).
pub(crate) fn optional_text(value: Option<&str>) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    let lower = v.to_lowercase();
    if ["无", "否", "-", "none", "no", "n/a", "独立"].contains(&lower.as_str()) {
        return None;
    }
    Some(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_allow_spaces_but_not_blanks_words_or_nan() {
        assert_eq!(parse_coord(Some(" 103.76 ")), Ok(103.76));
        assert_eq!(parse_coord(Some("")), Err("missing coordinate".into()));
        assert_eq!(parse_coord(None), Err("missing coordinate".into()));
        assert!(parse_coord(Some("abc"))
            .unwrap_err()
            .contains("bad coordinate"));
        assert!(parse_coord(Some("NaN"))
            .unwrap_err()
            .contains("bad coordinate"));
        assert!(parse_coord(Some("inf"))
            .unwrap_err()
            .contains("bad coordinate"));
    }

    #[test]
    fn swapped_pairs_are_caught_in_china_and_beyond_ninety() {
        let (axis, reason) = check_point(Crs::Gcj02, 29.57, 103.76).unwrap_err();
        assert_eq!(axis, Axis::Lat);
        assert!(reason.contains("swapped"), "{reason}");
        let (_, reason) = check_point(Crs::Wgs84, 40.0, 116.0).unwrap_err();
        assert!(reason.contains("swapped"), "{reason}");
        // In WGS-84 a point in the Atlantic is legal, not swapped.
        assert!(check_point(Crs::Wgs84, -30.0, 29.57).is_ok());
    }

    #[test]
    fn china_systems_refuse_points_outside_china() {
        let (axis, reason) = check_point(Crs::Gcj02, 2.35, 48.85).unwrap_err();
        assert_eq!(axis, Axis::Lon);
        assert!(
            reason.contains("outside China's extent for crs gcj02"),
            "{reason}"
        );
        assert!(check_point(Crs::Wgs84, 2.35, 48.85).is_ok());
    }

    #[test]
    fn out_of_range_wgs84_is_named_by_axis() {
        assert_eq!(
            check_point(Crs::Wgs84, 181.0, 95.0).unwrap_err().0,
            Axis::Lon
        );
        assert_eq!(
            check_point(Crs::Wgs84, 200.0, 10.0).unwrap_err().0,
            Axis::Lon
        );
    }

    #[test]
    fn numbers_accept_units_currency_and_thousands_separators() {
        assert_eq!(parse_number(Some("¥45")), Ok(Some(45.0)));
        assert_eq!(parse_number(Some("45元")), Ok(Some(45.0)));
        assert_eq!(parse_number(Some("12,800元/㎡")), Ok(Some(12800.0)));
        assert_eq!(parse_number(Some("4.5分")), Ok(Some(4.5)));
        assert_eq!(parse_number(Some(" 1,234,567.5 ")), Ok(Some(1_234_567.5)));
        assert_eq!(parse_number(Some("  ")), Ok(None));
        assert!(parse_number(Some("1,5")).is_err());
        assert!(parse_number(Some("NaN")).is_err());
        assert!(parse_number(Some("many")).is_err());
    }

    #[test]
    fn booleans_in_chinese_and_english() {
        for t in ["是", "YES", "true", "1", "y", "支持"] {
            assert_eq!(parse_bool(Some(t)), Ok(Some(true)), "{t}");
        }
        for f in ["否", "no", "False", "0", "N", "不支持"] {
            assert_eq!(parse_bool(Some(f)), Ok(Some(false)), "{f}");
        }
        assert_eq!(parse_bool(Some("")), Ok(None));
        assert!(parse_bool(Some("maybe")).is_err());
    }
}

/// A calendar date as Excel users write it: 2026-03-15, 2026/3/15, 2026.3.15 or 2026年3月15日.
pub(crate) fn parse_date(v: &str) -> Option<chrono::NaiveDate> {
    let cleaned: String = v
        .trim()
        .trim_end_matches('日')
        .chars()
        .map(|c| {
            if matches!(c, '年' | '月' | '/' | '.') {
                '-'
            } else {
                c
            }
        })
        .collect();
    let mut parts = cleaned.split('-').map(str::trim);
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(y, m, d)
}

#[cfg(test)]
mod date_tests {
    use super::parse_date;

    #[test]
    fn dates_in_the_ways_excel_users_write_them() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 15);
        for v in [
            "2026-03-15",
            "2026/3/15",
            "2026.3.15",
            "2026年3月15日",
            " 2026-3-15 ",
        ] {
            assert_eq!(parse_date(v), d, "{v}");
        }
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("15/03/2026"), None);
    }
}
