//! The H3 coverage grid: merchants and communities aggregated into hexagons at resolution 8, 9
//! or 10 (any resolution works), with a white-space flag for hexes of high demand and no signed
//! merchant.
//!
//! Cells come from the index, which stores every item's res-9 cell: res 9 is a read; other
//! resolutions are computed from the item's location (never a res-9 cell's `parent`: H3 cells
//! do not nest exactly).
//! Only hexes holding at least one of the given merchants or communities are returned.

use std::collections::HashMap;

use h3o::{CellIndex, LatLng, Resolution};
use serde::Serialize;

use super::params::CoverageParams;
use super::{is_prospect, is_signed};
use crate::domain::Location;
use crate::index::{SpatialIndex, INDEX_RESOLUTION};
use crate::scoring::MerchantStats;

/// One hexagon of the grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hex {
    /// The H3 index as a lower-case hex string (e.g. `8940d...fff`).
    pub cell: String,
    pub resolution: u8,
    pub merchants: usize,
    /// Signed or active.
    pub signed: usize,
    /// Prospect, visited or interested.
    pub prospects: usize,
    /// Households of the communities whose representative point is in the hex.
    pub households: u64,
    /// Daily footfall of the hex's merchants (observed, else Huff-estimated).
    pub footfall: f64,
    /// Sum of the caller's priority over the hex's merchants.
    pub priority_sum: f64,
    /// No signed merchant, and households ≥ `whitespace_min_households` or footfall ≥
    /// `whitespace_min_footfall`.
    pub whitespace: bool,
    /// The hexagon's ring as `[lon, lat]` positions, closed (first = last).
    pub boundary: Vec<[f64; 2]>,
}

#[derive(Default)]
struct Acc {
    merchants: usize,
    signed: usize,
    prospects: usize,
    households: u64,
    footfall: f64,
    priority_sum: f64,
}

/// The cell holding an item at `res`: the stored res-9 cell at res 9, else from its location.
/// Not the stored cell's parent: H3 cells do not nest exactly (a child near its parent's edge
/// pokes out of it), so about 7% of points have a res-9 parent that is not the res-8 hexagon
/// they lie in — the PostGIS cross-check (tests/integration/postgis.rs) caught that.
fn cell_at(stored: CellIndex, loc: Location, res: Resolution) -> CellIndex {
    if res == INDEX_RESOLUTION {
        return stored;
    }
    LatLng::new(loc.lat(), loc.lon())
        .map(|ll| ll.to_cell(res))
        .unwrap_or(stored)
}

/// The closed `[lon, lat]` ring of a cell.
pub fn boundary_of(cell: CellIndex) -> Vec<[f64; 2]> {
    let b = cell.boundary();
    let mut ring: Vec<[f64; 2]> = b.iter().map(|ll| [ll.lng(), ll.lat()]).collect();
    if let Some(&first) = ring.first() {
        ring.push(first);
    }
    ring
}

/// Aggregates the merchants in `merchant_slots` and the communities in `community_slots` into
/// hexes at `resolution`, sorted by cell. The caller picks the slots (a circle, a polygon, a
/// bbox, a branch; its scope applied) and the priority of each merchant slot; slots outside the
/// layers or the stats are skipped (footfall counts 0 for slots beyond the stats).
pub fn grid(
    index: &SpatialIndex,
    stats: &MerchantStats,
    priority_of: &dyn Fn(u32) -> f64,
    merchant_slots: &[u32],
    community_slots: &[u32],
    resolution: Resolution,
    params: &CoverageParams,
) -> Vec<Hex> {
    let mut cells: HashMap<u64, Acc> = HashMap::new();
    let merchants = &index.merchants;
    for &slot in merchant_slots {
        if slot as usize >= merchants.len() {
            continue;
        }
        let m = merchants.item(slot);
        let cell = cell_at(merchants.cell(slot), m.location(), resolution);
        let a = cells.entry(u64::from(cell)).or_default();
        a.merchants += 1;
        a.signed += usize::from(is_signed(m));
        a.prospects += usize::from(is_prospect(m));
        a.footfall += stats.footfall.get(slot as usize).copied().unwrap_or(0.0);
        a.priority_sum += priority_of(slot);
    }
    let communities = &index.communities;
    for &slot in community_slots {
        if slot as usize >= communities.len() {
            continue;
        }
        let c = communities.item(slot);
        let cell = cell_at(communities.cell(slot), c.location, resolution);
        cells.entry(u64::from(cell)).or_default().households += u64::from(c.households);
    }
    let mut out: Vec<(u64, Acc)> = cells.into_iter().collect();
    out.sort_unstable_by_key(|&(cell, _)| cell);
    out.into_iter()
        .filter_map(|(raw, a)| {
            let cell = CellIndex::try_from(raw).ok()?;
            let whitespace = a.signed == 0
                && (a.households as f64 >= params.whitespace_min_households
                    || a.footfall >= params.whitespace_min_footfall);
            Some(Hex {
                cell: cell.to_string(),
                resolution: u8::from(cell.resolution()),
                merchants: a.merchants,
                signed: a.signed,
                prospects: a.prospects,
                households: a.households,
                footfall: a.footfall,
                priority_sum: a.priority_sum,
                whitespace,
                boundary: boundary_of(cell),
            })
        })
        .collect()
}
