//! Geometries as they arrive, still in the file's coordinate system: a GeoJSON geometry (parsed
//! by the `geojson` crate) or a WKT text in a CSV cell, reduced to the point or single polygon
//! that ecomap's domain types hold.
//!
//! WKT is parsed by hand rather than with the `wkt` crate: we need only POINT, POLYGON and
//! MULTIPOLYGON, a hand parser is about a hundred lines, and it lets the error say where the
//! text went wrong in words a spreadsheet user understands, without adding a dependency (and
//! lock-file churn) for every other branch.

/// A point or a single polygon, `[lon, lat]` in the import's coordinate system.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawGeometry {
    Point([f64; 2]),
    /// Rings, shell first.
    Polygon(Vec<Vec<[f64; 2]>>),
}

/// A MultiPolygon of several parts is refused rather than reduced to its largest part: the
/// import is all-or-nothing with no warnings channel, so silently dropping a parcel would
/// distort coverage figures without anyone knowing. Users split it into separate features.
fn single_polygon(mut polys: Vec<Vec<Vec<[f64; 2]>>>) -> Result<RawGeometry, String> {
    match polys.len() {
        1 => Ok(RawGeometry::Polygon(polys.remove(0))),
        0 => Err("the MultiPolygon is empty".into()),
        n => Err(format!(
            "a MultiPolygon with {n} parts: ecomap holds one polygon per community or area; \
             split it into separate features or rows"
        )),
    }
}

fn position(p: &[f64]) -> Result<[f64; 2], String> {
    match p {
        [lon, lat, ..] => Ok([*lon, *lat]),
        _ => Err(format!(
            "a position needs longitude and latitude, got {} number(s)",
            p.len()
        )),
    }
}

fn rings(rings: &[Vec<Vec<f64>>]) -> Result<Vec<Vec<[f64; 2]>>, String> {
    rings
        .iter()
        .map(|r| r.iter().map(|p| position(p)).collect())
        .collect()
}

/// Reduces a GeoJSON geometry to what ecomap holds.
pub(crate) fn from_geojson(value: &::geojson::Value) -> Result<RawGeometry, String> {
    use ::geojson::Value;
    match value {
        Value::Point(p) => Ok(RawGeometry::Point(position(p)?)),
        Value::Polygon(r) => Ok(RawGeometry::Polygon(rings(r)?)),
        Value::MultiPolygon(polys) => {
            single_polygon(polys.iter().map(|r| rings(r)).collect::<Result<_, _>>()?)
        }
        Value::MultiPoint(_) => Err("a MultiPoint is not supported: give a Point".into()),
        Value::LineString(_) | Value::MultiLineString(_) => {
            Err("a line is not supported: give a Point or a Polygon".into())
        }
        Value::GeometryCollection(_) => {
            Err("a GeometryCollection is not supported: give a Point or a Polygon".into())
        }
    }
}

/// Parses a geometry cell: GeoJSON geometry text when it starts with `{`, WKT otherwise.
pub(crate) fn from_text(text: &str) -> Result<RawGeometry, String> {
    let t = text.trim();
    if t.starts_with('{') {
        let json: serde_json::Value =
            serde_json::from_str(t).map_err(|e| format!("not valid GeoJSON: {e}"))?;
        let g = ::geojson::Geometry::from_json_value(json)
            .map_err(|e| format!("not a valid GeoJSON geometry: {e}"))?;
        from_geojson(&g.value)
    } else {
        parse_wkt(t)
    }
}

/// A tiny WKT reader for `POINT`, `POLYGON` and `MULTIPOLYGON` (case-insensitive, an optional
/// EWKT `SRID=…;` prefix, `Z`/`M` ordinates ignored).
pub(crate) fn parse_wkt(text: &str) -> Result<RawGeometry, String> {
    let mut t = text.trim();
    if t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("srid=")) {
        t = t.split_once(';').map(|(_, rest)| rest.trim()).unwrap_or(t);
    }
    let mut p = Wkt { s: t, i: 0 };
    let tag = p.word().to_ascii_uppercase();
    // Dimension markers: "POLYGON Z ((…))"; extra ordinates are dropped by `coords`.
    let save = p.i;
    if !matches!(p.word().to_ascii_uppercase().as_str(), "Z" | "M" | "ZM") {
        p.i = save;
    }
    let save = p.i;
    if p.word().eq_ignore_ascii_case("EMPTY") {
        return Err(format!("{tag} EMPTY has no coordinates"));
    }
    p.i = save;
    let g = match tag.as_str() {
        "POINT" => {
            p.require('(')?;
            let c = p.coords()?;
            p.require(')')?;
            RawGeometry::Point(c)
        }
        "POLYGON" => RawGeometry::Polygon(p.polygon()?),
        "MULTIPOLYGON" => {
            p.require('(')?;
            let mut polys = vec![p.polygon()?];
            while p.eat(',') {
                polys.push(p.polygon()?);
            }
            p.require(')')?;
            single_polygon(polys)?
        }
        "" => return Err("expected WKT such as POLYGON((lon lat, …)) or GeoJSON".into()),
        other => {
            return Err(format!(
                "WKT {other} is not supported: give POINT, POLYGON or MULTIPOLYGON"
            ))
        }
    };
    p.skip_ws();
    if p.i < p.s.len() {
        return Err(format!(
            "unexpected text after the geometry at character {}",
            p.i + 1
        ));
    }
    Ok(g)
}

struct Wkt<'a> {
    s: &'a str,
    i: usize,
}

impl Wkt<'_> {
    fn rest(&self) -> &str {
        self.s.get(self.i..).unwrap_or("")
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.i += rest.len() - rest.trim_start().len();
    }

    fn word(&mut self) -> &str {
        self.skip_ws();
        let start = self.i;
        let n = self
            .rest()
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(self.rest().len());
        self.i += n;
        &self.s[start..self.i]
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.rest().starts_with(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn require(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected '{c}' at character {} of the WKT",
                self.i + 1
            ))
        }
    }

    fn number(&mut self) -> Result<f64, String> {
        self.skip_ws();
        let rest = self.rest();
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
            .unwrap_or(rest.len());
        let text = &rest[..n];
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                self.i += n;
                Ok(v)
            }
            _ => Err(format!(
                "expected a number at character {} of the WKT",
                self.i + 1
            )),
        }
    }

    /// `lon lat [z [m]]`
    fn coords(&mut self) -> Result<[f64; 2], String> {
        let lon = self.number()?;
        let lat = self.number()?;
        for _ in 0..2 {
            self.skip_ws();
            if self
                .rest()
                .starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
            {
                self.number()?;
            }
        }
        Ok([lon, lat])
    }

    fn ring(&mut self) -> Result<Vec<[f64; 2]>, String> {
        self.require('(')?;
        let mut ring = vec![self.coords()?];
        while self.eat(',') {
            ring.push(self.coords()?);
        }
        self.require(')')?;
        Ok(ring)
    }

    fn polygon(&mut self) -> Result<Vec<Vec<[f64; 2]>>, String> {
        self.require('(')?;
        let mut rings = vec![self.ring()?];
        while self.eat(',') {
            rings.push(self.ring()?);
        }
        self.require(')')?;
        Ok(rings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str =
        "POLYGON((103.76 29.57, 103.77 29.57, 103.77 29.58, 103.76 29.58, 103.76 29.57))";

    #[test]
    fn wkt_polygon_is_read_as_lon_lat_rings() {
        let RawGeometry::Polygon(r) = parse_wkt(SQUARE).unwrap() else {
            panic!("not a polygon")
        };
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].len(), 5);
        assert_eq!(r[0][1], [103.77, 29.57]);
    }

    #[test]
    fn wkt_accepts_lower_case_srid_z_and_holes() {
        let g = parse_wkt(
            "SRID=4326;polygon z ((0 0 1, 10 0 1, 10 10 1, 0 10 1, 0 0 1), (2 2, 3 2, 3 3, 2 2))",
        )
        .unwrap();
        let RawGeometry::Polygon(r) = g else {
            panic!("not a polygon")
        };
        assert_eq!(r.len(), 2);
        assert_eq!(
            parse_wkt("POINT (103.76 29.57)"),
            Ok(RawGeometry::Point([103.76, 29.57]))
        );
    }

    #[test]
    fn wkt_multipolygon_with_one_part_is_a_polygon_and_with_two_is_refused() {
        let one = "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))";
        assert!(matches!(parse_wkt(one), Ok(RawGeometry::Polygon(_))));
        let two = "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))";
        assert!(parse_wkt(two).unwrap_err().contains("2 parts"));
    }

    #[test]
    fn broken_wkt_says_where() {
        let e = parse_wkt("POLYGON((103.76 29.57, abc 29.58))").unwrap_err();
        assert!(e.contains("expected a number at character 24"), "{e}");
        assert!(parse_wkt("LINESTRING(0 0, 1 1)")
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_wkt("POLYGON EMPTY").unwrap_err().contains("EMPTY"));
        assert!(parse_wkt("POINT(1 2) junk")
            .unwrap_err()
            .contains("unexpected text"));
        assert!(parse_wkt("").is_err());
    }

    #[test]
    fn geojson_text_in_a_cell_is_accepted() {
        let g =
            from_text(r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}"#).unwrap();
        assert!(matches!(g, RawGeometry::Polygon(_)));
        assert!(
            from_text(r#"{"type":"LineString","coordinates":[[0,0],[1,1]]}"#)
                .unwrap_err()
                .contains("line")
        );
        assert!(from_text("{oops")
            .unwrap_err()
            .contains("not valid GeoJSON"));
    }
}
