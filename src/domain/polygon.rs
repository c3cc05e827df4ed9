use geo::{Area as _, Centroid, Contains, InteriorPoint, Validation};
use serde::Serialize;

use super::{FieldError, Location};

/// A polygon in WGS-84 that geo considers valid (closed rings, no self-intersection), with
/// in-range coordinates and a non-zero area.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPolygon(geo::Polygon<f64>);

impl ValidPolygon {
    pub fn new(polygon: geo::Polygon<f64>) -> Result<Self, FieldError> {
        if polygon.exterior().0.len() < 4 {
            return Err(FieldError::new(
                "geometry",
                "a polygon ring needs at least 4 positions (3 corners and the closing one)",
            ));
        }
        for c in polygon
            .exterior()
            .coords()
            .chain(polygon.interiors().iter().flat_map(|r| r.coords()))
        {
            Location::new(c.x, c.y).map_err(|e| FieldError::new("geometry", e.to_string()))?;
        }
        if let Err(e) = polygon.check_validation() {
            return Err(FieldError::new("geometry", format!("invalid polygon: {e}")));
        }
        if polygon.unsigned_area() <= 0.0 {
            return Err(FieldError::new("geometry", "polygon has zero area"));
        }
        Ok(Self(polygon))
    }

    /// Builds from rings of `[lon, lat]` positions (GeoJSON order); the first ring is the shell.
    pub fn from_rings(rings: &[Vec<[f64; 2]>]) -> Result<Self, FieldError> {
        let Some((shell, holes)) = rings.split_first() else {
            return Err(FieldError::new("geometry", "polygon has no rings"));
        };
        let ring = |r: &Vec<[f64; 2]>| -> Result<geo::LineString<f64>, FieldError> {
            if r.len() < 4 {
                return Err(FieldError::new(
                    "geometry",
                    "a polygon ring needs at least 4 positions (3 corners and the closing one)",
                ));
            }
            if r.first() != r.last() {
                return Err(FieldError::new(
                    "geometry",
                    "polygon ring is not closed (first and last positions differ)",
                ));
            }
            Ok(geo::LineString::from(
                r.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>(),
            ))
        };
        let shell = ring(shell)?;
        let holes = holes.iter().map(ring).collect::<Result<Vec<_>, _>>()?;
        Self::new(geo::Polygon::new(shell, holes))
    }

    pub fn as_geo(&self) -> &geo::Polygon<f64> {
        &self.0
    }

    /// Rings as `[lon, lat]` positions, shell first.
    pub fn rings(&self) -> Vec<Vec<[f64; 2]>> {
        std::iter::once(self.0.exterior())
            .chain(self.0.interiors().iter())
            .map(|r| r.coords().map(|c| [c.x, c.y]).collect())
            .collect()
    }

    /// A point guaranteed inside the polygon (the centroid when it is inside).
    pub fn representative_point(&self) -> Location {
        let p = self
            .0
            .centroid()
            .filter(|c| self.0.contains(c))
            .or_else(|| self.0.interior_point())
            .map(|p| (p.x(), p.y()))
            .unwrap_or_else(|| {
                let c = self.0.exterior().0[0];
                (c.x, c.y)
            });
        // The point lies within the validated polygon's coordinates, so it is in range.
        Location::from_valid(p.0, p.1)
    }

    pub fn contains(&self, p: &Location) -> bool {
        self.0.contains(&geo::Point::new(p.lon(), p.lat()))
    }

    /// Applies a coordinate conversion to every vertex and validates the result.
    pub fn map_coords(
        &self,
        f: impl Fn(f64, f64) -> (f64, f64),
    ) -> Result<ValidPolygon, FieldError> {
        use geo::MapCoords;
        Self::new(self.0.map_coords(|c| {
            let (x, y) = f(c.x, c.y);
            geo::Coord { x, y }
        }))
    }

    pub fn bbox(&self) -> [f64; 4] {
        use geo::BoundingRect;
        match self.0.bounding_rect() {
            Some(r) => [r.min().x, r.min().y, r.max().x, r.max().y],
            None => [0.0; 4],
        }
    }
}

impl Serialize for ValidPolygon {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.rings().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Vec<Vec<[f64; 2]>> {
        vec![vec![
            [103.0, 29.0],
            [103.01, 29.0],
            [103.01, 29.01],
            [103.0, 29.01],
            [103.0, 29.0],
        ]]
    }

    #[test]
    fn accepts_a_square_and_finds_a_point_inside() {
        let p = ValidPolygon::from_rings(&square()).unwrap();
        let c = p.representative_point();
        assert!(p.contains(&c));
    }

    #[test]
    fn rejects_a_bow_tie() {
        let bow = vec![vec![
            [103.0, 29.0],
            [103.01, 29.01],
            [103.01, 29.0],
            [103.0, 29.01],
            [103.0, 29.0],
        ]];
        let e = ValidPolygon::from_rings(&bow).unwrap_err();
        assert!(e.reason.contains("invalid polygon"), "{e}");
    }

    #[test]
    fn rejects_unclosed_and_short_rings() {
        let mut open = square();
        open[0].pop();
        assert!(ValidPolygon::from_rings(&open)
            .unwrap_err()
            .reason
            .contains("closed"));
        let short = vec![vec![[103.0, 29.0], [103.01, 29.0], [103.0, 29.0]]];
        assert!(ValidPolygon::from_rings(&short).is_err());
    }
}
