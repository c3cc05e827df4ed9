use serde::Serialize;

use super::FieldError;

/// A point in WGS-84, the one coordinate system ecomap holds inside. Only finite, in-range
/// values can be built; conversion from GCJ-02 / BD-09 happens at the edges (`crate::geo::crs`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Location {
    lon: f64,
    lat: f64,
}

impl Location {
    pub fn new(lon: f64, lat: f64) -> Result<Self, FieldError> {
        if !lon.is_finite() {
            return Err(FieldError::new("lon", "is not a finite number"));
        }
        if !lat.is_finite() {
            return Err(FieldError::new("lat", "is not a finite number"));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(FieldError::new(
                "lon",
                format!("{lon} is outside -180..180"),
            ));
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(FieldError::new("lat", format!("{lat} is outside -90..90")));
        }
        Ok(Self { lon, lat })
    }

    /// For points derived from already validated coordinates (a polygon's interior point).
    pub(super) fn from_valid(lon: f64, lat: f64) -> Self {
        debug_assert!(Self::new(lon, lat).is_ok());
        Self { lon, lat }
    }

    pub fn lon(&self) -> f64 {
        self.lon
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// `[lon, lat]`, the GeoJSON order.
    pub fn to_array(&self) -> [f64; 2] {
        [self.lon, self.lat]
    }

    /// Great-circle distance in metres (haversine on the mean Earth radius, as geo does).
    pub fn distance_m(&self, other: &Location) -> f64 {
        use geo::{Distance, Haversine, Point};
        Haversine.distance(
            Point::new(self.lon, self.lat),
            Point::new(other.lon, other.lat),
        )
    }
}

/// A longitude/latitude box in WGS-84: `[min_lon, min_lat, max_lon, max_lat]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BBox {
    pub min: Location,
    pub max: Location,
}

impl BBox {
    pub fn new(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> Result<Self, FieldError> {
        let min = Location::new(min_lon, min_lat)?;
        let max = Location::new(max_lon, max_lat)?;
        if min_lon > max_lon {
            return Err(FieldError::new(
                "bbox",
                "min longitude is greater than max longitude",
            ));
        }
        if min_lat > max_lat {
            return Err(FieldError::new(
                "bbox",
                "min latitude is greater than max latitude",
            ));
        }
        Ok(Self { min, max })
    }

    pub fn contains(&self, p: &Location) -> bool {
        p.lon() >= self.min.lon()
            && p.lon() <= self.max.lon()
            && p.lat() >= self.min.lat()
            && p.lat() <= self.max.lat()
    }

    pub fn width_deg(&self) -> f64 {
        self.max.lon() - self.min.lon()
    }

    pub fn height_deg(&self) -> f64 {
        self.max.lat() - self.min.lat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_finite_and_out_of_range() {
        assert!(Location::new(f64::NAN, 0.0).is_err());
        assert!(Location::new(0.0, f64::INFINITY).is_err());
        assert_eq!(Location::new(181.0, 0.0).unwrap_err().field, "lon");
        assert_eq!(Location::new(0.0, -90.5).unwrap_err().field, "lat");
        assert!(Location::new(103.76, 29.57).is_ok());
    }

    #[test]
    fn distance_of_a_thousandth_degree_of_latitude_is_about_111_m() {
        let a = Location::new(103.76, 29.57).unwrap();
        let b = Location::new(103.76, 29.571).unwrap();
        let d = a.distance_m(&b);
        assert!((d - 111.2).abs() < 0.5, "{d}");
    }

    #[test]
    fn bbox_rejects_inverted_corners() {
        assert!(BBox::new(104.0, 29.0, 103.0, 30.0).is_err());
        let b = BBox::new(103.0, 29.0, 104.0, 30.0).unwrap();
        assert!(b.contains(&Location::new(103.5, 29.5).unwrap()));
    }
}
