//! One layer of the index: the items of one kind in slots, found by id, by distance, by box and
//! by polygon.
//!
//! The R-tree holds small entries (a 3-D point, the slot and a group code), not the items, so
//! radius scans stream through compact memory and counting by group never touches the items.

use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;

use h3o::{CellIndex, LatLng};
use rstar::{ParentNode, PointDistance, RStarInsertionStrategy, RTree, RTreeNode, RTreeObject};
use rstar::{RTreeParams, AABB};

use super::ids::IdTable;
use super::merchant_table::{MerchantRef, MerchantTable};
use super::sphere::{self, Coord, CHORD_EPS, TREE_CHORD_EPS};
use super::{Located, INDEX_RESOLUTION};
use crate::domain::{BBox, Location, Merchant, ValidPolygon};

/// Where a layer keeps its items, slot by slot: a plain `Vec` for the kinds that come by the
/// thousand, [`MerchantTable`]'s columns for merchants.
pub trait Slots: Default + Sync {
    /// The owned item that goes in and comes out.
    type Item: Located + Sync;
    /// What reading a slot gives: `&Item` for a `Vec`, a column view for merchants.
    type Ref<'a>: Copy
    where
        Self: 'a;

    fn from_items(items: Vec<Self::Item>) -> Self;
    /// A store holding copies of the items, where it keeps them in another form anyway (see
    /// [`Layer::build`]); `None` (the default): the store takes the items themselves.
    fn copy_of(_items: &[Self::Item]) -> Option<Self> {
        None
    }
    fn into_items(self) -> Vec<Self::Item>;
    fn count(&self) -> usize;
    fn at(&self, slot: u32) -> Self::Ref<'_>;
    fn id_at(&self, slot: u32) -> &str;
    fn location_at(&self, slot: u32) -> Location;
    fn group_at(&self, slot: u32) -> &str;
    fn push_item(&mut self, item: Self::Item);
    fn set_item(&mut self, slot: u32, item: Self::Item);
    fn swap_remove_item(&mut self, slot: u32) -> Self::Item;
    /// Called before a layer is (re)built over these slots: a chance to reorder them. Returns
    /// whether any slot changed.
    fn settle(&mut self) -> bool {
        false
    }
}

impl<T: Located + Sync> Slots for Vec<T> {
    type Item = T;
    type Ref<'a>
        = &'a T
    where
        T: 'a;

    fn from_items(items: Vec<T>) -> Self {
        items
    }
    fn into_items(self) -> Vec<T> {
        self
    }
    fn count(&self) -> usize {
        self.len()
    }
    fn at(&self, slot: u32) -> &T {
        &self[slot as usize]
    }
    fn id_at(&self, slot: u32) -> &str {
        self[slot as usize].id()
    }
    fn location_at(&self, slot: u32) -> Location {
        self[slot as usize].location()
    }
    fn group_at(&self, slot: u32) -> &str {
        self[slot as usize].group()
    }
    fn push_item(&mut self, item: T) {
        self.push(item);
    }
    fn set_item(&mut self, slot: u32, item: T) {
        self[slot as usize] = item;
    }
    fn swap_remove_item(&mut self, slot: u32) -> T {
        self.swap_remove(slot as usize)
    }
}

impl Slots for MerchantTable {
    type Item = Merchant;
    type Ref<'a> = MerchantRef<'a>;

    fn from_items(items: Vec<Merchant>) -> Self {
        MerchantTable::from_merchants(items)
    }
    fn copy_of(items: &[Merchant]) -> Option<Self> {
        let mut t = MerchantTable::with_capacity(items.len());
        for m in items {
            t.push_fields(&crate::domain::MerchantFields::of(m));
        }
        Some(t)
    }
    fn into_items(self) -> Vec<Merchant> {
        self.to_vec()
    }
    fn count(&self) -> usize {
        self.len()
    }
    fn at(&self, slot: u32) -> MerchantRef<'_> {
        self.get(slot)
    }
    fn id_at(&self, slot: u32) -> &str {
        self.get(slot).id()
    }
    fn location_at(&self, slot: u32) -> Location {
        self.locations()[slot as usize]
    }
    fn group_at(&self, slot: u32) -> &str {
        self.get(slot).category()
    }
    fn push_item(&mut self, item: Merchant) {
        self.push(item);
    }
    fn set_item(&mut self, slot: u32, item: Merchant) {
        self.set(slot, item);
    }
    fn swap_remove_item(&mut self, slot: u32) -> Merchant {
        self.swap_remove(slot)
    }
    fn settle(&mut self) -> bool {
        self.sort_spatially()
    }
}

/// One result of a distance query: the item's slot in its layer and its great-circle distance
/// from the query point in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub slot: u32,
    pub distance_m: f64,
}

/// What the tree stores per item.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    point: [Coord; 3],
    slot: u32,
    /// The item's interned [`Located::group`], so counts by category need no item lookup.
    group: u32,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[Coord; 3]>;

    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.point)
    }
}

impl PointDistance for Entry {
    fn distance_2(&self, point: &[Coord; 3]) -> Coord {
        let d = [
            self.point[0] - point[0],
            self.point[1] - point[1],
            self.point[2] - point[2],
        ];
        d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    }
}

/// Tree node sizes. rstar's bulk load splits each node into k³ children for 3-D points, with
/// k = ⌊∛MAX_SIZE⌋, so a maximum that is not a cube leaves nodes underfull: with 16, a 1M tree
/// had 7 levels and leaves of ~4 points, and a 500 m count visited 2,400 nodes. 125 = 5³ gives
/// 3 levels of full nodes (86 nodes visited) and measured 3.5× faster than 16, 1.5× faster
/// than 64 and 216 (see benches/index.rs). Insertion into wide nodes costs more, but upserts
/// are one at a time and rare next to queries.
#[derive(Debug, Clone, Copy)]
struct Params;

impl RTreeParams for Params {
    const MIN_SIZE: usize = 40;
    const MAX_SIZE: usize = 125;
    const REINSERTION_COUNT: usize = 20;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

/// A radius query prepared for the tree: its point and squared chord thresholds.
struct RadiusQuery {
    point: [f64; 3],
    /// Entries up to here may be inside; beyond, they are certainly not.
    max2: f64,
    /// Entries up to here are certainly inside, whatever the rounding.
    inner2: f64,
}

impl RadiusQuery {
    /// `None` when nothing can match (a negative or NaN radius).
    fn new(center: Location, radius_m: f64) -> Option<Self> {
        if radius_m.is_nan() || radius_m < 0.0 {
            return None;
        }
        let chord = sphere::chord_of_m(radius_m);
        let inner = chord - CHORD_EPS;
        Some(Self {
            point: sphere::unit_vector(center),
            max2: (chord + CHORD_EPS).powi(2),
            inner2: if inner > 0.0 { inner * inner } else { -1.0 },
        })
    }
}

/// Squared distance from a point to a box (0 inside).
#[inline]
fn box_dist2(b: &AABB<[Coord; 3]>, p: &[f64; 3]) -> f64 {
    let (lo, hi) = (b.lower(), b.upper());
    let mut sum = 0.0;
    for i in 0..3 {
        let d = (sphere::wide(lo[i]) - p[i])
            .max(p[i] - sphere::wide(hi[i]))
            .max(0.0);
        sum += d * d;
    }
    sum
}

/// Calls `f` with every entry within `sqrt(max2)` of `p` and its squared distance.
///
/// A hand-written recursion rather than `locate_within_distance`: it passes the distance it
/// already computed on to the caller and needs no iterator stack.
fn visit_within<F: FnMut(&Entry, f64)>(
    node: &ParentNode<Entry>,
    p: &[f64; 3],
    max2: f64,
    f: &mut F,
) {
    for child in node.children() {
        match child {
            RTreeNode::Leaf(e) => {
                let d2 = sphere::dist2(&e.point, p);
                if d2 <= max2 {
                    f(e, d2);
                }
            }
            RTreeNode::Parent(inner) => {
                if box_dist2(&inner.envelope(), p) <= max2 {
                    visit_within(inner, p, max2, f);
                }
            }
        }
    }
}

fn cell_of(loc: Location) -> CellIndex {
    // A Location is always finite, the only thing LatLng::new checks, so the default is never
    // used; it only avoids a panic path.
    LatLng::new(loc.lat(), loc.lon())
        .unwrap_or_default()
        .to_cell(INDEX_RESOLUTION)
}

/// The items of one kind with their spatial index. Items live in slots (`0..len`); a slot stays
/// with its item through [`Layer::upsert`] and changes only when [`Layer::remove`] moves the
/// last item into a freed slot, or a rebuild reorders them (merchants are kept in Z-order).
#[derive(Clone)]
pub struct Layer<T, S = Vec<T>> {
    items: S,
    by_id: IdTable,
    tree: RTree<Entry, Params>,
    /// H3 cell per slot at [`INDEX_RESOLUTION`], computed eagerly (in parallel with the tree
    /// in `build`): 1M cells take about 0.4 s of one core, after which every coverage query is
    /// a plain read rather than a trigonometric projection per item.
    cells: Vec<CellIndex>,
    groups: Vec<String>,
    group_codes: hashbrown::HashMap<String, u32>,
    _item: std::marker::PhantomData<fn() -> T>,
}

impl<T, S: Slots> fmt::Debug for Layer<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The items can be a million; their count and groups say what matters.
        f.debug_struct("Layer")
            .field("len", &self.items.count())
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

impl<T: Located + Sync, S: Slots<Item = T>> Default for Layer<T, S> {
    fn default() -> Self {
        Self::from_slots(S::default())
    }
}

impl<T: Located> Layer<T, Vec<T>> {
    /// All items, indexed by slot.
    pub fn items(&self) -> &[T] {
        &self.items
    }
}

impl Layer<Merchant, MerchantTable> {
    /// The merchants' columns, for loops that read one field of every merchant.
    pub fn table(&self) -> &MerchantTable {
        &self.items
    }
}

// Slots are u32 to keep tree entries small; a layer of 2³² items would need terabytes, so the
// `as u32` conversions below cannot truncate in practice.
impl<T: Located + Sync, S: Slots<Item = T>> Layer<T, S> {
    /// Builds the layer in one go (R-tree bulk load). When ids repeat, the last item wins, as
    /// if the items had been upserted in order.
    pub fn build(items: Vec<T>) -> Self {
        // Where the store copies the items (merchants into columns), the items are dropped
        // only once the tree is built: freed first, their millions of small strings left holes
        // in the heap that the tree's nodes then filled, scattered, and radius scans over a 10M
        // layer built that way ran 35–60% slower than over one built from a stream. Such a
        // store reorders its slots, so its ids are found once, after the sort (a repeated id
        // sends the items back through `keep_last_of_each_id`).
        if let Some(mut store) = S::copy_of(&items) {
            store.settle();
            let built = Self::assemble(store, None);
            return match built {
                Ok(layer) => {
                    drop(items);
                    layer
                }
                Err(_) => Self::build(keep_last_of_each_id(items)),
            };
        }
        let mut by_id = IdTable::with_capacity(items.len());
        let repeated = (0..items.len() as u32)
            .any(|slot| by_id.insert_new(slot, |s| items[s as usize].id()).is_some());
        let items = if repeated {
            // Rare (the database keys by id), so the slower second pass is fine here.
            keep_last_of_each_id(items)
        } else {
            items
        };
        let mut store = S::from_items(items);
        let ids = (!store.settle() && !repeated).then_some(by_id);
        match Self::assemble(store, ids) {
            Ok(layer) => layer,
            Err(_) => unreachable!("ids were made unique above"),
        }
    }

    /// Builds the layer over items already in their store (as start-up streams them). The ids
    /// should not repeat (the database keys by id); if they do, one of each is kept.
    pub fn from_slots(mut store: S) -> Self {
        let t = std::time::Instant::now();
        store.settle();
        let settled = t.elapsed().as_secs_f64();
        match Self::assemble(store, None) {
            Ok(layer) => {
                tracing::debug!(
                    items = layer.len(),
                    settle_s = settled,
                    ids_tree_and_cells_s = t.elapsed().as_secs_f64() - settled,
                    "built a layer"
                );
                layer
            }
            Err(store) => Self::build(store.into_items()),
        }
    }

    /// The layer over these items with the ids given, or found here (`None`; then an id that
    /// repeats gives the items back).
    fn assemble(items: S, by_id: Option<IdTable>) -> Result<Self, S> {
        let n = items.count();
        // H3 cells take about 40% of a build of this layer alone and the id table 15%; they
        // depend only on the items, so a second thread computes them while this one builds the
        // tree (the longest part).
        let (cells_and_ids, (tree, groups, group_codes)) = std::thread::scope(|s| {
            let items = &items;
            let cells = s.spawn(move || {
                let cells = (0..n as u32)
                    .map(|slot| cell_of(items.location_at(slot)))
                    .collect::<Vec<_>>();
                let by_id = match by_id {
                    Some(ids) => Some(ids),
                    None => unique_ids(items),
                };
                by_id.map(|ids| (cells, ids))
            });
            let mut groups = Vec::new();
            let mut group_codes = hashbrown::HashMap::default();
            let entries: Vec<Entry> = (0..n as u32)
                .map(|slot| Entry {
                    point: sphere::tree_point(items.location_at(slot)),
                    slot,
                    group: intern(&mut groups, &mut group_codes, items.group_at(slot)),
                })
                .collect();
            let tree = RTree::bulk_load_with_params(entries);
            let cells = cells
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (cells, (tree, groups, group_codes))
        });
        let Some((cells, by_id)) = cells_and_ids else {
            return Err(items);
        };
        Ok(Self {
            items,
            by_id,
            tree,
            cells,
            groups,
            group_codes,
            _item: std::marker::PhantomData,
        })
    }

    pub fn len(&self) -> usize {
        self.items.count()
    }

    pub fn is_empty(&self) -> bool {
        self.items.count() == 0
    }

    /// The item in a slot. Panics if the slot is not one of this layer's (`slot >= len`).
    pub fn item(&self, slot: u32) -> S::Ref<'_> {
        self.items.at(slot)
    }

    /// Every slot with its item, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, S::Ref<'_>)> + '_ {
        (0..self.len() as u32).map(|slot| (slot, self.items.at(slot)))
    }

    /// The item's location (no other field read).
    pub fn location(&self, slot: u32) -> Location {
        self.items.location_at(slot)
    }

    /// The item's id.
    pub fn id(&self, slot: u32) -> &str {
        self.items.id_at(slot)
    }

    pub fn get(&self, id: &str) -> Option<S::Ref<'_>> {
        self.slot_of(id).map(|slot| self.item(slot))
    }

    pub fn slot_of(&self, id: &str) -> Option<u32> {
        self.by_id.get(id, |s| self.items.id_at(s))
    }

    /// The group names (see [`Located::group`]), indexed by the codes that
    /// [`Layer::for_each_within_radius_grouped`] reports.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The code of a group name, if any item has had it.
    pub fn group_code(&self, group: &str) -> Option<u32> {
        self.group_codes.get(group).copied()
    }

    /// The H3 cell of the item in a slot at [`INDEX_RESOLUTION`]; coarser cells via
    /// `CellIndex::parent`. Panics if the slot is not one of this layer's.
    pub fn cell(&self, slot: u32) -> CellIndex {
        self.cells[slot as usize]
    }

    /// Upserts many items: one at a time when they are few, else by rebuilding the layer in one
    /// bulk load (an R-tree insert costs microseconds each, so a million of them took over a
    /// minute, while a bulk load of a million takes under a second). Slots held from before are
    /// stale after a rebuild.
    pub fn upsert_many(&mut self, items: Vec<T>) {
        if items.len() < BULK_UPSERT {
            for item in items {
                self.upsert(item);
            }
            return;
        }
        let mut store = std::mem::take(&mut self.items);
        let mut by_id = std::mem::take(&mut self.by_id);
        for item in items {
            match by_id.get(item.id(), |s| store.id_at(s)) {
                Some(slot) => store.set_item(slot, item),
                None => {
                    let slot = store.count() as u32;
                    store.push_item(item);
                    by_id.insert_new(slot, |s| store.id_at(s));
                }
            }
        }
        drop(by_id);
        *self = Self::from_slots(store);
    }

    /// Adds the item, or replaces the one with the same id in its slot, moving its tree point
    /// and H3 cell when its location changed. Returns whether the id was new.
    pub fn upsert(&mut self, item: T) -> bool {
        let group = intern(&mut self.groups, &mut self.group_codes, item.group());
        let loc = item.location();
        let Some(slot) = self.slot_of(item.id()) else {
            let slot = self.items.count() as u32;
            self.tree.insert(Entry {
                point: sphere::tree_point(loc),
                slot,
                group,
            });
            self.cells.push(cell_of(loc));
            self.items.push_item(item);
            let items = &self.items;
            self.by_id.insert_new(slot, |s| items.id_at(s));
            return true;
        };
        let old_loc = self.items.location_at(slot);
        let old_group = self
            .group_codes
            .get(self.items.group_at(slot))
            .copied()
            .unwrap_or(0);
        if old_loc != loc || old_group != group {
            let removed = self.tree.remove(&Entry {
                point: sphere::tree_point(old_loc),
                slot,
                group: old_group,
            });
            debug_assert!(removed.is_some(), "tree entry of slot {slot} missing");
            self.tree.insert(Entry {
                point: sphere::tree_point(loc),
                slot,
                group,
            });
            self.cells[slot as usize] = cell_of(loc);
        }
        self.items.set_item(slot, item);
        false
    }

    /// Removes the item with this id and returns it. The last item moves into the freed slot,
    /// so slots held from before are stale afterwards.
    pub fn remove(&mut self, id: &str) -> Option<T> {
        let items = &self.items;
        let slot = self.by_id.remove(id, |s| items.id_at(s))?;
        let entry_of = |layer: &Self, slot: u32| Entry {
            point: sphere::tree_point(layer.items.location_at(slot)),
            slot,
            group: layer
                .group_codes
                .get(layer.items.group_at(slot))
                .copied()
                .unwrap_or(0),
        };
        let removed = self.tree.remove(&entry_of(self, slot));
        debug_assert!(removed.is_some(), "tree entry of slot {slot} missing");
        let last = (self.items.count() - 1) as u32;
        if slot != last {
            let moved = entry_of(self, last);
            self.tree.remove(&moved);
            self.tree.insert(Entry { slot, ..moved });
            let items = &self.items;
            self.by_id.moved(last, slot, |s| items.id_at(s));
        }
        self.cells.swap_remove(slot as usize);
        Some(self.items.swap_remove_item(slot))
    }

    /// Exactly the items whose great-circle distance from `center` (haversine, as
    /// [`Location::distance_m`] computes it) is at most `radius_m`, nearest first, ties by id.
    pub fn within_radius(&self, center: Location, radius_m: f64) -> Vec<Hit> {
        let mut hits = Vec::new();
        let Some(q) = RadiusQuery::new(center, radius_m) else {
            return hits;
        };
        visit_within(self.tree.root(), &q.point, q.max2, &mut |e, _| {
            let d = self.location(e.slot).distance_m(&center);
            if d <= radius_m {
                hits.push(Hit {
                    slot: e.slot,
                    distance_m: d,
                });
            }
        });
        self.sort_hits(&mut hits);
        hits
    }

    /// Calls `f(slot, distance_m)` for exactly the items [`Layer::within_radius`] returns, in
    /// no particular order and without allocating: for counts and sums.
    ///
    /// The distance comes from the stored point's chord (with `f64` points, within micrometres
    /// of [`Location::distance_m`]; see `sphere::Coord`) except within the rounding band of the
    /// radius, where membership is settled with the exact haversine distance, which is reported.
    pub fn for_each_within_radius(
        &self,
        center: Location,
        radius_m: f64,
        mut f: impl FnMut(u32, f64),
    ) {
        self.for_each_within_radius_grouped(center, radius_m, |slot, _, d| f(slot, d));
    }

    /// As [`Layer::for_each_within_radius`], calling `f(slot, group_code, distance_m)`; the
    /// group code indexes [`Layer::groups`], so counting by category needs only a small array
    /// and never reads the items themselves.
    pub fn for_each_within_radius_grouped(
        &self,
        center: Location,
        radius_m: f64,
        mut f: impl FnMut(u32, u32, f64),
    ) {
        let Some(q) = RadiusQuery::new(center, radius_m) else {
            return;
        };
        visit_within(self.tree.root(), &q.point, q.max2, &mut |e, d2| {
            if d2 <= q.inner2 {
                f(e.slot, e.group, sphere::m_of_chord2(d2));
            } else {
                // Within the rounding band of the radius: decide as within_radius does.
                let d = self.location(e.slot).distance_m(&center);
                if d <= radius_m {
                    f(e.slot, e.group, d);
                }
            }
        });
    }

    /// The `k` items nearest to `center` (haversine distance), nearest first, ties by id,
    /// optionally only those within `max_radius_m`.
    pub fn nearest(&self, center: Location, k: usize, max_radius_m: Option<f64>) -> Vec<Hit> {
        if k == 0 || max_radius_m.is_some_and(|r| r.is_nan() || r < 0.0) {
            return Vec::new();
        }
        let max_chord =
            max_radius_m.map_or(f64::INFINITY, |r| sphere::chord_of_m(r) + TREE_CHORD_EPS);
        let q = sphere::tree_point(center);
        // The tree orders by rounded chords; keep taking entries until the next one is farther,
        // by more than twice the rounding, than the k-th taken, so that no item that is as near
        // by the exact distance (a tie included) is left behind.
        let mut candidates: Vec<u32> = Vec::with_capacity(k);
        let mut kth_chord = f64::INFINITY;
        for (e, c2) in self.tree.nearest_neighbor_iter_with_distance_2(q) {
            let chord = sphere::wide(c2).max(0.0).sqrt();
            if chord > max_chord || chord > kth_chord + 2.0 * TREE_CHORD_EPS {
                break;
            }
            candidates.push(e.slot);
            if candidates.len() == k {
                kth_chord = chord;
            }
        }
        let mut hits: Vec<Hit> = candidates
            .into_iter()
            .map(|slot| Hit {
                slot,
                distance_m: self.location(slot).distance_m(&center),
            })
            .filter(|h| max_radius_m.is_none_or(|r| h.distance_m <= r))
            .collect();
        self.sort_hits(&mut hits);
        hits.truncate(k);
        hits
    }

    /// The slots of the items inside the box (edges included), sorted by id for stable paging.
    pub fn in_bbox(&self, bbox: &BBox) -> Vec<u32> {
        let b = [
            bbox.min.lon(),
            bbox.min.lat(),
            bbox.max.lon(),
            bbox.max.lat(),
        ];
        self.in_lon_lat_box(b, |loc| bbox.contains(&loc))
    }

    /// The slots of the items inside the polygon (as [`ValidPolygon::contains`] decides),
    /// sorted by id.
    pub fn in_polygon(&self, polygon: &ValidPolygon) -> Vec<u32> {
        self.in_lon_lat_box(polygon.bbox(), |loc| polygon.contains(&loc))
    }

    /// Candidates from the tree box around a lon/lat box, kept if `keep` says so of their
    /// location, sorted by id.
    fn in_lon_lat_box(
        &self,
        [x0, y0, x1, y1]: [f64; 4],
        keep: impl Fn(Location) -> bool,
    ) -> Vec<u32> {
        let (lo, hi) = sphere::patch_aabb(x0, y0, x1, y1);
        let mut slots = Vec::new();
        let _: ControlFlow<()> =
            self.tree
                .locate_in_envelope_int(AABB::from_corners(lo, hi), |e: &Entry| {
                    if keep(self.location(e.slot)) {
                        slots.push(e.slot);
                    }
                    ControlFlow::Continue(())
                });
        // Ids are unique within a layer, so an unstable sort is deterministic.
        slots.sort_unstable_by(|&a, &b| self.id(a).cmp(self.id(b)));
        slots
    }

    fn sort_hits(&self, hits: &mut [Hit]) {
        hits.sort_unstable_by(|a, b| {
            a.distance_m
                .total_cmp(&b.distance_m)
                .then_with(|| self.id(a.slot).cmp(self.id(b.slot)))
        });
    }
}

/// From this many items, [`Layer::upsert_many`] rebuilds the layer instead of inserting.
pub(crate) const BULK_UPSERT: usize = 10_000;

fn intern(
    groups: &mut Vec<String>,
    codes: &mut hashbrown::HashMap<String, u32>,
    group: &str,
) -> u32 {
    if let Some(&code) = codes.get(group) {
        return code;
    }
    let code = groups.len() as u32;
    groups.push(group.to_string());
    codes.insert(group.to_string(), code);
    code
}

/// The slots by id, or `None` if an id repeats.
fn unique_ids<S: Slots>(store: &S) -> Option<IdTable> {
    let mut by_id = IdTable::with_capacity(store.count());
    for slot in 0..store.count() as u32 {
        if by_id.insert_new(slot, |s| store.id_at(s)).is_some() {
            return None;
        }
    }
    Some(by_id)
}

/// Drops all but the last item of each id, keeping the order otherwise.
fn keep_last_of_each_id<T: Located>(items: Vec<T>) -> Vec<T> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        last.insert(item.id(), i);
    }
    if last.len() == items.len() {
        return items;
    }
    let keep: Vec<bool> = items
        .iter()
        .enumerate()
        .map(|(i, item)| last.get(item.id()) == Some(&i))
        .collect();
    drop(last);
    items
        .into_iter()
        .zip(keep)
        .filter_map(|(item, k)| k.then_some(item))
        .collect()
}
