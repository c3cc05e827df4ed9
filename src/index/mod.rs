//! The in-memory spatial index: built from the database's [`Dataset`] at start and kept in
//! step with every write, it answers the map's questions (what lies within 500 m of this
//! outlet, the 20 nearest merchants, what is in this box or this business district) without
//! touching the database.
//!
//! Each kind of located item has a [`Layer`]: the items in slots, a map from id to slot, an
//! R-tree over their points on the unit sphere (see `sphere`) and an H3 cell per item for
//! coverage maps. Radius and nearest queries return exactly what a brute-force scan with
//! [`Location::distance_m`] would: the tree narrows the candidates with a margin for rounding
//! and the haversine distance decides.

mod ids;
mod layer;
mod merchant_table;
mod sphere;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

#[cfg(test)]
use layer::BULK_UPSERT;
pub use layer::{Hit, Layer, Slots};
pub(crate) use merchant_table::interleave;
pub use merchant_table::{MerchantRef, MerchantTable};
pub use sphere::EARTH_RADIUS_M;

use crate::domain::{Area, Community, Dataset, Location, Merchant, OrgUnit, Outlet};

/// The H3 resolution of [`Layer::cell`]: 9, whose hexagons average 0.105 km² with edges of
/// about 174 m — the scale of a five-minute walk, the "life circle" (生活圈) that coverage
/// maps aggregate at; a 500 m radius spans about seven of them. Other resolutions are computed
/// from the location: H3 cells do not nest exactly, so a res-9 cell's parent is not always the
/// res-8 hexagon the point lies in.
pub const INDEX_RESOLUTION: h3o::Resolution = h3o::Resolution::Nine;

/// The merchants' layer: their columns ([`MerchantTable`]) with the tree, ids and cells.
pub type MerchantLayer = Layer<Merchant, MerchantTable>;

/// What a layer needs of its items.
pub trait Located {
    fn id(&self) -> &str;
    fn location(&self) -> Location;
    /// A small label that radius scans can count by without reading the item (see
    /// [`Layer::for_each_within_radius_grouped`]); `""` when the kind has none.
    fn group(&self) -> &str {
        ""
    }
}

impl Located for Outlet {
    fn id(&self) -> &str {
        &self.id
    }

    fn location(&self) -> Location {
        self.location
    }

    /// The competitor's bank, `""` for our own outlets: competition counts around a point.
    fn group(&self) -> &str {
        self.competitor_bank.as_deref().unwrap_or("")
    }
}

impl Located for Merchant {
    fn id(&self) -> &str {
        &self.id
    }

    fn location(&self) -> Location {
        self.location
    }

    /// The category code (业态).
    fn group(&self) -> &str {
        &self.category
    }
}

impl Located for Community {
    fn id(&self) -> &str {
        &self.id
    }

    /// The community's representative point (inside its polygon when it has one).
    fn location(&self) -> Location {
        self.location
    }
}

/// Everything ecomap serves, indexed. Write paths update the database first and then the
/// matching layer here (`upsert`, `remove`), so reads never wait on the database.
#[derive(Debug, Clone, Default)]
pub struct SpatialIndex {
    pub outlets: Layer<Outlet>,
    pub merchants: MerchantLayer,
    pub communities: Layer<Community>,
    /// Business districts and food streets: few (tens), so a list; change them through
    /// [`SpatialIndex::upsert_area`] / [`SpatialIndex::remove_area`] to keep the id lookup
    /// current ([`SpatialIndex::area`] still falls back to a scan if they were edited directly).
    pub areas: Vec<Area>,
    pub org_units: Vec<OrgUnit>,
    area_by_id: HashMap<String, usize>,
}

impl SpatialIndex {
    pub fn build(ds: Dataset) -> Self {
        Self::build_with_merchants(ds, None)
    }

    /// As [`SpatialIndex::build`], with the merchants already in columns (start-up streams them
    /// there, never holding them all as `Merchant` values) in place of `ds.merchants`, which
    /// must then be empty. The merchant layer is built on a second thread beside the others.
    pub fn build_with_merchants(ds: Dataset, table: Option<MerchantTable>) -> Self {
        let Dataset {
            org_units,
            outlets,
            merchants,
            communities,
            areas,
        } = ds;
        let merchants = match table {
            Some(t) => {
                debug_assert!(merchants.is_empty(), "merchants given twice");
                Layer::from_slots(t)
            }
            None => Layer::build(merchants),
        };
        let mut index = Self {
            outlets: Layer::build(outlets),
            merchants,
            communities: Layer::build(communities),
            areas: Vec::with_capacity(areas.len()),
            org_units,
            area_by_id: HashMap::new(),
        };
        // Through upsert so that a repeated id keeps its last version, as in the layers.
        for a in areas {
            index.upsert_area(a);
        }
        index
    }

    pub fn area(&self, id: &str) -> Option<&Area> {
        match self.area_by_id.get(id).and_then(|&i| self.areas.get(i)) {
            Some(a) if a.id == id => Some(a),
            _ => self.areas.iter().find(|a| a.id == id),
        }
    }

    /// Adds the area or replaces the one with the same id.
    pub fn upsert_area(&mut self, a: Area) {
        self.reindex_areas_if_stale();
        match self.area_by_id.get(&a.id) {
            Some(&i) => self.areas[i] = a,
            None => {
                self.area_by_id.insert(a.id.clone(), self.areas.len());
                self.areas.push(a);
            }
        }
    }

    /// Removes the area with this id and returns it.
    pub fn remove_area(&mut self, id: &str) -> Option<Area> {
        self.reindex_areas_if_stale();
        let i = self.area_by_id.remove(id)?;
        let removed = self.areas.remove(i);
        // Areas are few; renumbering them all is simpler than tracking the shift.
        self.reindex_areas();
        Some(removed)
    }

    /// `areas` is public, so it may have been edited without the map; rebuild it if so.
    fn reindex_areas_if_stale(&mut self) {
        let stale = self.area_by_id.len() != self.areas.len()
            || self
                .areas
                .iter()
                .enumerate()
                .any(|(i, a)| self.area_by_id.get(&a.id) != Some(&i));
        if stale {
            self.reindex_areas();
        }
    }

    fn reindex_areas(&mut self) {
        self.area_by_id = self
            .areas
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
    }
}
