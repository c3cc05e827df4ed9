//! Query-string parsing with messages a person can act on ("limit: 'abc' is not a whole number").

use std::collections::HashMap;

use crate::domain::BBox;
use crate::geo::crs::{to_wgs84, Crs};

use super::error::ApiError;

pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if map.insert(k.to_string(), v.to_string()).is_some() {
                return Err(ApiError::bad(&k, "given more than once"));
            }
        }
        Ok(Self(map))
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    /// Rejects parameters the endpoint does not know, so that a typo is not silently ignored.
    pub fn allow_only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        let mut unknown: Vec<&String> = self
            .0
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(k) => Err(ApiError::bad(
                k,
                format!(
                    "unknown parameter; this endpoint takes {}",
                    allowed.join(", ")
                ),
            )),
        }
    }

    pub fn crs(&self) -> Result<Crs, ApiError> {
        match self.str("crs") {
            None => Ok(Crs::Wgs84),
            Some(v) => v.parse().map_err(|e| ApiError::bad("crs", format!("{e}"))),
        }
    }

    pub fn usize_in(
        &self,
        key: &str,
        default: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, ApiError> {
        let Some(v) = self.str(key) else {
            return Ok(default);
        };
        let n: usize = v
            .parse()
            .map_err(|_| ApiError::bad(key, format!("{v:?} is not a whole number")))?;
        if n < min || n > max {
            return Err(ApiError::bad(
                key,
                format!("{n} is outside the allowed range {min}..={max}"),
            ));
        }
        Ok(n)
    }

    /// `limit` (default, at most `max`) and `offset`.
    pub fn page(&self, default: usize, max: usize) -> Result<Page, ApiError> {
        Ok(Page {
            limit: self.usize_in("limit", default, 1, max)?,
            offset: self.usize_in("offset", 0, 0, usize::MAX)?,
        })
    }

    pub fn f64_in(&self, key: &str, default: f64, min: f64, max: f64) -> Result<f64, ApiError> {
        let Some(v) = self.str(key) else {
            return Ok(default);
        };
        let n: f64 = v
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite())
            .ok_or_else(|| ApiError::bad(key, format!("{v:?} is not a number")))?;
        if n < min || n > max {
            return Err(ApiError::bad(
                key,
                format!("{n} is outside the allowed range {min}..={max}"),
            ));
        }
        Ok(n)
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.str(key) {
            None => Ok(None),
            Some("true" | "1" | "yes") => Ok(Some(true)),
            Some("false" | "0" | "no") => Ok(Some(false)),
            Some(v) => Err(ApiError::bad(key, format!("{v:?} is not true or false"))),
        }
    }

    /// `bbox=minlon,minlat,maxlon,maxlat` in the request's crs, returned in WGS-84.
    /// The corners are converted; the GCJ-02/BD-09 offsets vary by well under a metre across
    /// a city-sized box, so the converted box is the same box.
    pub fn bbox(&self, crs: Crs, max_deg: f64) -> Result<Option<BBox>, ApiError> {
        let Some(v) = self.str("bbox") else {
            return Ok(None);
        };
        let parts: Vec<&str> = v.split(',').map(str::trim).collect();
        if parts.len() != 4 {
            return Err(ApiError::bad(
                "bbox",
                "expected four numbers: minlon,minlat,maxlon,maxlat",
            ));
        }
        let mut n = [0.0; 4];
        for (slot, p) in n.iter_mut().zip(&parts) {
            *slot = p
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| ApiError::bad("bbox", format!("{p:?} is not a number")))?;
        }
        let (a_lon, a_lat) = to_wgs84(crs, n[0], n[1]);
        let (b_lon, b_lat) = to_wgs84(crs, n[2], n[3]);
        let bbox =
            BBox::new(a_lon, a_lat, b_lon, b_lat).map_err(|e| ApiError::bad("bbox", e.reason))?;
        if bbox.width_deg() > max_deg || bbox.height_deg() > max_deg {
            return Err(ApiError::bad(
                "bbox",
                format!(
                    "spans {:.2}° × {:.2}°; at most {max_deg}° each way (use tiles for larger views)",
                    bbox.width_deg(),
                    bbox.height_deg()
                ),
            ));
        }
        Ok(Some(bbox))
    }
}

/// One page of a list: the response carries `total` (all matches), `limit` and `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: usize,
    pub offset: usize,
}

impl Page {
    /// Shapes the page of `items` as a FeatureCollection with paging members plus `extra`.
    pub fn collection<T>(
        self,
        items: Vec<T>,
        crs: Crs,
        to_feature: impl Fn(T) -> geojson::Feature,
        mut extra: serde_json::Value,
    ) -> geojson::FeatureCollection {
        let total = items.len();
        let features = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .map(to_feature)
            .collect();
        extra["total"] = total.into();
        extra["limit"] = self.limit.into();
        extra["offset"] = self.offset.into();
        crate::features::collection(features, crs, extra)
    }
}

/// The slots of a layer inside `bbox` (sorted by id), or all of them in slot order.
pub fn slots_in<T: crate::index::Located + Sync, S: crate::index::Slots<Item = T>>(
    layer: &crate::index::Layer<T, S>,
    bbox: Option<&crate::domain::BBox>,
) -> Vec<u32> {
    match bbox {
        Some(b) => layer.in_bbox(b),
        None => (0..layer.len() as u32).collect(),
    }
}
