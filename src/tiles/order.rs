//! Merchants in Z-order: their Web-Mercator positions quantised to 2³¹ per axis and sorted by
//! the interleaved bits (a Morton key), with what a tile needs of each (owner, signed,
//! prospect) beside them. Every tile is then one contiguous run of this array, found by two
//! binary searches, and a cluster cell inside it a contiguous sub-run: tiles read memory in
//! order instead of chasing tree nodes.

use super::{mercator, Projector, TileId, EXTENT};
use crate::coverage::{is_prospect, is_signed};
use crate::domain::PipelineStatus;
use crate::geo::crs::{from_wgs84, Crs};
use crate::index::SpatialIndex;

/// Bits per axis of the quantised position.
pub const LEVEL: u32 = 31;
pub const SIGNED: u8 = 1;
pub const PROSPECT: u8 = 2;

/// One merchant, as tiles see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointEntry {
    pub key: u64,
    pub qx: u32,
    pub qy: u32,
    /// The merchant's slot in the index.
    pub slot: u32,
    /// Index into [`MerchantOrder::owners`].
    pub owner: u32,
    pub flags: u8,
    /// Pipeline status, as its position in `PipelineStatus::ALL`.
    pub status: u8,
    /// Index into [`MerchantOrder::categories`].
    pub category: u16,
    /// The id and then the name, at this offset of the text arena.
    pub text: u32,
    pub id_len: u16,
    pub name_len: u16,
}

/// The merchants of one index generation in Z-order.
#[derive(Debug, Default)]
pub struct MerchantOrder {
    pub generation: u64,
    entries: Vec<PointEntry>,
    owners: Vec<Option<String>>,
    categories: Vec<String>,
    /// Ids and names in Z-order: a detail tile reads them in sequence rather than chasing
    /// each merchant's strings across the heap.
    text: String,
    /// Position in `entries` of each slot.
    by_slot: Vec<u32>,
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The Morton key of a quantised position (x in the even bits, y in the odd).
pub fn morton(qx: u32, qy: u32) -> u64 {
    crate::index::interleave(qx, qy)
}

/// Web Mercator (0..1) → quantised position.
pub fn quantise(m: [f64; 2]) -> (u32, u32) {
    let n = f64::from(1u32 << LEVEL);
    let q = |v: f64| (v * n).floor().clamp(0.0, n - 1.0) as u32;
    (q(m[0]), q(m[1]))
}

/// A quantised position in a tile's units.
pub fn tile_point(t: TileId, qx: u32, qy: u32) -> [f64; 2] {
    let shift = LEVEL - u32::from(t.z);
    let per_unit = f64::from(EXTENT) / (1u64 << shift) as f64;
    let ox = u64::from(t.x) << shift;
    let oy = u64::from(t.y) << shift;
    [
        (u64::from(qx) as f64 - ox as f64) * per_unit,
        (u64::from(qy) as f64 - oy as f64) * per_unit,
    ]
}

/// The key range `[lo, hi)` of a tile.
fn key_range(t: TileId) -> (u64, u64) {
    let shift = LEVEL - u32::from(t.z.min(LEVEL as u8));
    let lo = morton(t.x, t.y) << (2 * shift);
    let hi = lo + (1u64 << (2 * shift));
    (lo, hi)
}

impl MerchantOrder {
    pub fn build(index: &SpatialIndex, generation: u64) -> Self {
        let merchants = &index.merchants;
        let mut owners: Vec<Option<String>> = Vec::new();
        let mut owner_code: std::collections::HashMap<Option<&str>, u32> =
            std::collections::HashMap::new();
        let mut categories: Vec<String> = Vec::new();
        let mut category_code: std::collections::HashMap<&str, u16> =
            std::collections::HashMap::new();
        let mut entries: Vec<PointEntry> = merchants
            .iter()
            .map(|(slot, m)| {
                let owner = *owner_code.entry(m.owner_org_id()).or_insert_with(|| {
                    owners.push(m.owner_org_id().map(str::to_string));
                    (owners.len() - 1) as u32
                });
                let category = *category_code.entry(m.category()).or_insert_with(|| {
                    categories.push(m.category().to_string());
                    (categories.len() - 1) as u16
                });
                let (qx, qy) = quantise(mercator(m.location().lon(), m.location().lat()));
                PointEntry {
                    status: PipelineStatus::ALL
                        .iter()
                        .position(|s| *s == m.status())
                        .unwrap_or(0) as u8,
                    category,
                    text: 0,
                    id_len: 0,
                    name_len: 0,
                    key: morton(qx, qy),
                    qx,
                    qy,
                    slot,
                    owner,
                    flags: if is_signed(m) { SIGNED } else { 0 }
                        | if is_prospect(m) { PROSPECT } else { 0 },
                }
            })
            .collect();
        entries.sort_unstable_by_key(|e| (e.key, e.slot));
        let mut by_slot = vec![0u32; entries.len()];
        let mut text = String::new();
        for (i, e) in entries.iter_mut().enumerate() {
            by_slot[e.slot as usize] = i as u32;
            let m = merchants.item(e.slot);
            // Ids and names are short (the import caps them far below these bounds); a longer
            // one is cut at a character boundary rather than overflowing.
            let id = cut(m.id(), u16::MAX as usize);
            let name = cut(m.name(), u16::MAX as usize);
            e.text = text.len() as u32;
            e.id_len = id.len() as u16;
            e.name_len = name.len() as u16;
            text.push_str(id);
            text.push_str(name);
        }
        Self {
            generation,
            entries,
            owners,
            categories,
            text,
            by_slot,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Owner org nodes, indexed by [`PointEntry::owner`].
    pub fn owners(&self) -> &[Option<String>] {
        &self.owners
    }

    pub fn id(&self, e: &PointEntry) -> &str {
        let a = e.text as usize;
        self.text.get(a..a + e.id_len as usize).unwrap_or("")
    }

    pub fn name(&self, e: &PointEntry) -> &str {
        let a = e.text as usize + e.id_len as usize;
        self.text.get(a..a + e.name_len as usize).unwrap_or("")
    }

    pub fn category(&self, e: &PointEntry) -> &str {
        self.categories
            .get(e.category as usize)
            .map_or("", String::as_str)
    }

    pub fn status(&self, e: &PointEntry) -> PipelineStatus {
        PipelineStatus::ALL
            .get(e.status as usize)
            .copied()
            .unwrap_or_default()
    }

    /// The merchants inside a tile (WGS-84 grid), in Z-order.
    pub fn range(&self, t: TileId) -> &[PointEntry] {
        let (lo, hi) = key_range(t);
        let a = self.entries.partition_point(|e| e.key < lo);
        let b = self.entries.partition_point(|e| e.key < hi);
        &self.entries[a..b]
    }

    /// The merchants inside a tile laid over another coordinate system (GCJ-02, BD-09): found
    /// through the index, converted, and put in Z-order of the shifted grid.
    pub fn reprojected(&self, index: &SpatialIndex, proj: &Projector, crs: Crs) -> Vec<PointEntry> {
        let Some(b) = proj.search_box(0.0) else {
            return Vec::new();
        };
        let (lo, hi) = key_range(proj.tile);
        let mut out: Vec<PointEntry> = index
            .merchants
            .in_bbox(&b)
            .into_iter()
            .filter_map(|slot| {
                let m = index.merchants.item(slot);
                let (lon, lat) = from_wgs84(crs, m.location().lon(), m.location().lat());
                let (qx, qy) = quantise(mercator(lon, lat));
                let key = morton(qx, qy);
                let base = self
                    .entries
                    .get(*self.by_slot.get(slot as usize)? as usize)?;
                (lo..hi).contains(&key).then_some(PointEntry {
                    key,
                    qx,
                    qy,
                    ..*base
                })
            })
            .collect();
        out.sort_unstable_by_key(|e| (e.key, e.slot));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn morton_keys_interleave_x_and_y() {
        assert_eq!(morton(0b1, 0), 0b01);
        assert_eq!(morton(0, 0b1), 0b10);
        assert_eq!(morton(0b11, 0b10), 0b1101);
        assert_eq!(morton(u32::MAX >> 1, u32::MAX >> 1), (1u64 << 62) - 1);
    }

    #[test]
    fn a_tiles_key_range_holds_exactly_the_points_inside_it() {
        let t = TileId::new(14, 13_148, 6_808, 22).unwrap();
        let (lo, hi) = key_range(t);
        let shift = LEVEL - 14;
        let x0 = 13_148u32 << shift;
        let y0 = 6_808u32 << shift;
        let w = 1u32 << shift;
        for (qx, qy, inside) in [
            (x0, y0, true),
            (x0 + w - 1, y0 + w - 1, true),
            (x0 + w, y0, false),
            (x0 - 1, y0, false),
            (x0, y0 + w, false),
        ] {
            assert_eq!((lo..hi).contains(&morton(qx, qy)), inside, "{qx},{qy}");
        }
        assert_eq!(tile_point(t, x0, y0), [0.0, 0.0]);
        assert_eq!(tile_point(t, x0 + w / 2, y0 + w), [2048.0, 4096.0]);
    }
}
