//! Vector tiles: what each layer shows in one Web-Mercator tile `z/x/y`, as features in tile
//! units, written either as a Mapbox Vector Tile ([`mvt`]) or as GeoJSON — the same features
//! either way.
//!
//! Per zoom:
//! - **merchants**: single points from `detail_zoom` (14) on, as long as a tile holds no more
//!   than `max_points`; otherwise clusters, one per 1/64 of the tile (a cell of zoom z+6), with
//!   their count, signed and prospect counts at the members' mean position. Merchants are read
//!   from [`MerchantOrder`], a copy of their positions sorted along a Z-order curve, so any
//!   tile is one contiguous run of memory (a z10 tile over a million merchants is a sequential
//!   scan, not a million pointer chases).
//! - **outlets**: points, ours first, at most `max_points`.
//! - **communities**: from `community_min_zoom`; polygons simplified to the tile's resolution
//!   (Douglas–Peucker at half a screen pixel), a point where a polygon collapses; the largest
//!   (households) first, at most `max_polygons`.
//! - **areas**: polygons, simplified the same way.
//! - **coverage**: the H3 coverage grid (`coverage::grid`) from `coverage_min_zoom`, at
//!   resolution 8 (z ≤ 11), 9 (z12–13) or 10 (z ≥ 14); every hex that touches the tile, with its
//!   counts over the whole hex.
//!
//! Points belong to the tile they fall in (MapLibre does not clip circles and symbols at tile
//! edges); polygons go to every tile they touch, unclipped (the renderer clips them).
//!
//! Tiles may be asked for in another coordinate system (`crs`, for a GCJ-02 base map): the
//! tile grid is then laid over that system's coordinates, and features are converted before
//! they are projected.

pub mod cache;
pub mod mvt;
mod order;

use geo::Simplify;
use h3o::Resolution;

pub use mvt::{Prop, TileFeature, TileGeom, EXTENT};
pub use order::{MerchantOrder, PointEntry};

use crate::auth::Scope;
use crate::coverage::{self, CoverageParams};
use crate::domain::{BBox, CommunityShape, Location, ValidPolygon};
use crate::geo::crs::{from_wgs84, to_wgs84, Crs};
use crate::index::SpatialIndex;
use crate::scoring::footfall::MerchantStats;

/// The layers served as tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileLayer {
    Merchants,
    Outlets,
    Communities,
    Areas,
    Coverage,
}

impl TileLayer {
    pub const ALL: [TileLayer; 5] = [
        TileLayer::Merchants,
        TileLayer::Outlets,
        TileLayer::Communities,
        TileLayer::Areas,
        TileLayer::Coverage,
    ];

    pub fn code(self) -> &'static str {
        match self {
            TileLayer::Merchants => "merchants",
            TileLayer::Outlets => "outlets",
            TileLayer::Communities => "communities",
            TileLayer::Areas => "areas",
            TileLayer::Coverage => "coverage",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            TileLayer::Merchants => "商户",
            TileLayer::Outlets => "网点",
            TileLayer::Communities => "小区",
            TileLayer::Areas => "商圈",
            TileLayer::Coverage => "覆盖网格",
        }
    }

    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == v)
    }

    /// The lowest zoom at which the layer has features.
    pub fn min_zoom(self, p: &TileParams) -> u8 {
        match self {
            TileLayer::Communities => p.community_min_zoom,
            TileLayer::Coverage => p.coverage_min_zoom,
            _ => 0,
        }
    }

    /// The properties a feature of this layer carries, and their types (for TileJSON).
    pub fn fields(self) -> &'static [(&'static str, &'static str)] {
        match self {
            TileLayer::Merchants => &[
                ("id", "String: merchant id (single points)"),
                ("name", "String"),
                ("category", "String: category code"),
                ("status", "String: pipeline status code"),
                (
                    "signed",
                    "Number: 1 if signed (single) / signed count (cluster)",
                ),
                (
                    "cluster",
                    "Number: 1 for a cluster, 0 for a single merchant",
                ),
                ("count", "Number: merchants in the cluster"),
                ("prospects", "Number: prospects in the cluster"),
            ],
            TileLayer::Outlets => &[
                ("id", "String"),
                ("name", "String"),
                ("is_ours", "Number: 1 ours, 0 a competitor's"),
                ("bank", "String: competitor bank, empty for ours"),
                ("kind", "String: outlet kind code"),
            ],
            TileLayer::Communities => &[
                ("id", "String"),
                ("name", "String"),
                ("households", "Number"),
            ],
            TileLayer::Areas => &[
                ("id", "String"),
                ("name", "String"),
                ("kind", "String: area kind code"),
            ],
            TileLayer::Coverage => &[
                ("cell", "String: H3 cell"),
                ("resolution", "Number"),
                ("merchants", "Number"),
                ("signed", "Number"),
                ("prospects", "Number"),
                ("households", "Number"),
                ("footfall", "Number: estimated daily visits"),
                ("priority_sum", "Number"),
                (
                    "whitespace",
                    "Number: 1 for white space (demand, nothing signed)",
                ),
            ],
        }
    }
}

/// Per-zoom rules: where single merchants start, how many features a tile may hold, how far
/// outlines are simplified.
#[derive(Debug, Clone)]
pub struct TileParams {
    pub max_zoom: u8,
    pub detail_zoom: u8,
    /// Single points per tile before the tile falls back to clusters.
    pub max_points: usize,
    pub max_polygons: usize,
    /// Clusters are cells of zoom z + this (6: 64 × 64 per tile, 8 screen pixels each).
    pub cluster_bits: u8,
    pub community_min_zoom: u8,
    pub coverage_min_zoom: u8,
    /// Douglas–Peucker tolerance in tile units (4 = half a pixel of a 512-pixel tile).
    pub simplify_units: f64,
}

impl Default for TileParams {
    fn default() -> Self {
        Self {
            max_zoom: 22,
            detail_zoom: 14,
            max_points: 4_000,
            max_polygons: 3_000,
            cluster_bits: 6,
            community_min_zoom: 12,
            coverage_min_zoom: 10,
            simplify_units: 4.0,
        }
    }
}

/// A tile address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// Web Mercator latitude limit.
const MAX_LAT: f64 = 85.051_128_779_806_6;

/// `[lon, lat]` → Web Mercator in 0..1 (x east, y south).
pub fn mercator(lon: f64, lat: f64) -> [f64; 2] {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    [x, y]
}

/// Web Mercator in 0..1 → `[lon, lat]`.
pub fn unmercator(x: f64, y: f64) -> [f64; 2] {
    let lon = x * 360.0 - 180.0;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * y))
        .sinh()
        .atan()
        .to_degrees();
    [lon, lat]
}

impl TileId {
    pub fn new(z: u8, x: u32, y: u32, max_zoom: u8) -> Result<Self, String> {
        if z > max_zoom {
            return Err(format!("zoom {z} is above the highest, {max_zoom}"));
        }
        let n = 1u64 << z;
        if u64::from(x) >= n || u64::from(y) >= n {
            return Err(format!("at zoom {z}, x and y run from 0 to {}", n - 1));
        }
        Ok(Self { z, x, y })
    }

    fn scale(&self) -> f64 {
        (1u64 << self.z) as f64
    }

    /// Web Mercator (0..1) → tile units.
    pub fn to_tile(&self, m: [f64; 2]) -> [f64; 2] {
        let s = self.scale();
        [
            (m[0] * s - f64::from(self.x)) * f64::from(EXTENT),
            (m[1] * s - f64::from(self.y)) * f64::from(EXTENT),
        ]
    }

    /// Tile units → `[lon, lat]` (in the coordinate system the tile was asked in).
    pub fn to_lon_lat(&self, t: [i32; 2]) -> [f64; 2] {
        let s = self.scale();
        let e = f64::from(EXTENT);
        unmercator(
            (f64::from(self.x) + f64::from(t[0]) / e) / s,
            (f64::from(self.y) + f64::from(t[1]) / e) / s,
        )
    }

    /// `[min_lon, min_lat, max_lon, max_lat]` of the tile.
    pub fn bounds(&self) -> [f64; 4] {
        let e = EXTENT as i32;
        let [w, n] = self.to_lon_lat([0, 0]);
        let [east, s] = self.to_lon_lat([e, e]);
        [w, s, east, n]
    }
}

/// Projects WGS-84 locations into one tile, through the requested coordinate system.
pub struct Projector {
    pub tile: TileId,
    pub crs: Crs,
}

impl Projector {
    pub fn new(tile: TileId, crs: Crs) -> Self {
        Self { tile, crs }
    }

    pub fn project(&self, lon: f64, lat: f64) -> [f64; 2] {
        let (a, b) = from_wgs84(self.crs, lon, lat);
        self.tile.to_tile(mercator(a, b))
    }

    fn point(&self, l: &Location) -> [f64; 2] {
        self.project(l.lon(), l.lat())
    }

    /// The WGS-84 box to search for features of this tile: its bounds, back from the
    /// requested system (a shift of up to ~700 m), widened by `margin_deg`.
    pub fn search_box(&self, margin_deg: f64) -> Option<BBox> {
        let [w, s, e, n] = self.tile.bounds();
        let corners = [(w, s), (w, n), (e, s), (e, n)].map(|(x, y)| to_wgs84(self.crs, x, y));
        let pad = margin_deg
            + match self.crs {
                Crs::Wgs84 => 0.0,
                _ => 0.02,
            };
        let min_lon = corners.iter().map(|c| c.0).fold(f64::MAX, f64::min) - pad;
        let max_lon = corners.iter().map(|c| c.0).fold(f64::MIN, f64::max) + pad;
        let min_lat = corners.iter().map(|c| c.1).fold(f64::MAX, f64::min) - pad;
        let max_lat = corners.iter().map(|c| c.1).fold(f64::MIN, f64::max) + pad;
        BBox::new(
            min_lon.max(-180.0),
            min_lat.max(-90.0),
            max_lon.min(180.0),
            max_lat.min(90.0),
        )
        .ok()
    }
}

fn inside(t: [f64; 2]) -> bool {
    let e = f64::from(EXTENT);
    (0.0..e).contains(&t[0]) && (0.0..e).contains(&t[1])
}

fn round(t: [f64; 2]) -> [i32; 2] {
    // Far outside the tile only for huge polygons at high zoom; clamp to stay in i32.
    let c = |v: f64| v.round().clamp(-1.0e9, 1.0e9) as i32;
    [c(t[0]), c(t[1])]
}

/// A stable feature id from a string id (FNV-1a, kept below 2⁵³ so JavaScript holds it).
pub fn feature_id(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h & ((1 << 53) - 1)
}

/// A polygon in tile units, simplified to the tile's resolution; `None` when it collapses or
/// lies wholly outside the tile.
fn polygon(proj: &Projector, poly: &ValidPolygon, eps: f64) -> Option<Vec<Vec<[i32; 2]>>> {
    let mut rings = Vec::new();
    let (mut x0, mut y0, mut x1, mut y1) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
    for (i, ring) in poly.rings().iter().enumerate() {
        let ls: geo::LineString<f64> = ring
            .iter()
            .map(|[lon, lat]| {
                let [x, y] = proj.project(*lon, *lat);
                geo::coord! { x: x, y: y }
            })
            .collect();
        let simple = ls.simplify(eps);
        let mut pts: Vec<[i32; 2]> = Vec::with_capacity(simple.0.len());
        for c in simple.0 {
            let p = round([c.x, c.y]);
            if pts.last() != Some(&p) {
                pts.push(p);
            }
        }
        if pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        if pts.len() < 3 {
            if i == 0 {
                return None;
            }
            continue;
        }
        if i == 0 {
            for p in &pts {
                x0 = x0.min(p[0]);
                y0 = y0.min(p[1]);
                x1 = x1.max(p[0]);
                y1 = y1.max(p[1]);
            }
        }
        rings.push(pts);
    }
    let e = EXTENT as i32;
    if rings.is_empty() || x1 < 0 || y1 < 0 || x0 > e || y0 > e {
        return None;
    }
    Some(rings)
}

/// Which merchants the caller sees, by owner code of a [`MerchantOrder`]; `None`: all.
pub fn visible_owners(order: &MerchantOrder, scope: &Scope) -> Option<Vec<bool>> {
    if scope.is_all() {
        return None;
    }
    Some(
        order
            .owners()
            .iter()
            .map(|o| scope.contains(o.as_deref()))
            .collect(),
    )
}

/// The merchants layer of one tile.
pub fn merchants<'a>(
    index: &SpatialIndex,
    order: &'a MerchantOrder,
    proj: &Projector,
    visible: Option<&[bool]>,
    p: &TileParams,
) -> Vec<TileFeature<'a>> {
    let t = proj.tile;
    let shifted;
    let entries: &[PointEntry] = match proj.crs {
        Crs::Wgs84 => order.range(t),
        crs => {
            shifted = order.reprojected(index, proj, crs);
            &shifted
        }
    };
    let sees = |e: &PointEntry| visible.is_none_or(|v| v[e.owner as usize]);
    let detail = t.z >= p.detail_zoom && {
        let mut n = 0usize;
        for e in entries {
            n += usize::from(sees(e));
            if n > p.max_points {
                break;
            }
        }
        n <= p.max_points
    };
    let mut out = Vec::new();
    if detail {
        out.reserve(entries.len());
        for e in entries.iter().filter(|e| sees(e)) {
            let id = order.id(e);
            out.push(TileFeature {
                id: feature_id(id),
                geom: TileGeom::Point(round(order::tile_point(t, e.qx, e.qy))),
                props: vec![
                    ("id", Prop::Unique(id)),
                    ("name", Prop::Unique(order.name(e))),
                    ("category", Prop::Str(order.category(e))),
                    ("status", Prop::Str(order.status(e).code())),
                    ("signed", Prop::Int(i64::from(e.flags & order::SIGNED != 0))),
                    ("cluster", Prop::Int(0)),
                ],
            });
        }
        return out;
    }
    let level = (u32::from(t.z) + u32::from(p.cluster_bits)).min(order::LEVEL);
    let shift = 2 * (order::LEVEL - level);
    let mut i = 0;
    while i < entries.len() {
        let group = entries[i].key >> shift;
        let (mut count, mut signed, mut prospects, mut sx, mut sy) = (0u64, 0i64, 0i64, 0u64, 0u64);
        while i < entries.len() && entries[i].key >> shift == group {
            let e = &entries[i];
            i += 1;
            if !sees(e) {
                continue;
            }
            count += 1;
            signed += i64::from(e.flags & order::SIGNED != 0);
            prospects += i64::from(e.flags & order::PROSPECT != 0);
            sx += u64::from(e.qx);
            sy += u64::from(e.qy);
        }
        if count == 0 {
            continue;
        }
        let q = |s: u64| (s / count) as u32;
        out.push(TileFeature {
            id: group,
            geom: TileGeom::Point(round(order::tile_point(t, q(sx), q(sy)))),
            props: vec![
                ("cluster", Prop::Int(1)),
                ("count", Prop::Int(count as i64)),
                ("signed", Prop::Int(signed)),
                ("prospects", Prop::Int(prospects)),
            ],
        });
    }
    out
}

/// The outlets layer: competitors' everywhere, ours in the caller's scope.
pub fn outlets<'a>(
    index: &'a SpatialIndex,
    proj: &Projector,
    scope: &Scope,
    p: &TileParams,
) -> Vec<TileFeature<'a>> {
    let Some(b) = proj.search_box(0.0) else {
        return Vec::new();
    };
    let mut found: Vec<_> = index
        .outlets
        .in_bbox(&b)
        .into_iter()
        .map(|s| index.outlets.item(s))
        .filter(|o| scope.sees_outlet(o))
        .filter_map(|o| {
            let t = proj.point(&o.location);
            inside(t).then_some((o, t))
        })
        .collect();
    found.sort_by(|a, b| b.0.is_ours().cmp(&a.0.is_ours()).then(a.0.id.cmp(&b.0.id)));
    found.truncate(p.max_points);
    found
        .into_iter()
        .map(|(o, t)| TileFeature {
            id: feature_id(&o.id),
            geom: TileGeom::Point(round(t)),
            props: vec![
                ("id", Prop::Str(&o.id)),
                ("name", Prop::Str(&o.name)),
                ("is_ours", Prop::Int(i64::from(o.is_ours()))),
                (
                    "bank",
                    Prop::Str(o.competitor_bank.as_deref().unwrap_or("")),
                ),
                ("kind", Prop::Str(o.kind.code())),
            ],
        })
        .collect()
}

/// Communities are at most this far (degrees) from their representative point.
const COMMUNITY_REACH_DEG: f64 = 0.02;

/// The communities layer.
pub fn communities<'a>(
    index: &'a SpatialIndex,
    proj: &Projector,
    scope: &Scope,
    p: &TileParams,
) -> Vec<TileFeature<'a>> {
    if proj.tile.z < p.community_min_zoom {
        return Vec::new();
    }
    let Some(b) = proj.search_box(COMMUNITY_REACH_DEG) else {
        return Vec::new();
    };
    let mut found: Vec<_> = index
        .communities
        .in_bbox(&b)
        .into_iter()
        .map(|s| index.communities.item(s))
        .filter(|c| scope.sees_shared(c.owner_org_id.as_deref()))
        .filter_map(|c| {
            let geom = match &c.shape {
                CommunityShape::Polygon(poly) => {
                    polygon(proj, poly, p.simplify_units).map(TileGeom::Polygon)
                }
                CommunityShape::Point(_) => None,
            };
            let geom = geom.or_else(|| {
                let t = proj.point(&c.location);
                inside(t).then(|| TileGeom::Point(round(t)))
            })?;
            Some((c, geom))
        })
        .collect();
    found.sort_by(|a, b| {
        b.0.households
            .cmp(&a.0.households)
            .then(a.0.id.cmp(&b.0.id))
    });
    found.truncate(p.max_polygons);
    found
        .into_iter()
        .map(|(c, geom)| TileFeature {
            id: feature_id(&c.id),
            geom,
            props: vec![
                ("id", Prop::Str(&c.id)),
                ("name", Prop::Str(&c.name)),
                ("households", Prop::Int(i64::from(c.households))),
            ],
        })
        .collect()
}

/// The areas layer (business districts, food streets).
pub fn areas<'a>(
    index: &'a SpatialIndex,
    proj: &Projector,
    scope: &Scope,
    p: &TileParams,
) -> Vec<TileFeature<'a>> {
    let Some(b) = proj.search_box(0.0) else {
        return Vec::new();
    };
    let mut out: Vec<TileFeature<'a>> = index
        .areas
        .iter()
        .filter(|a| scope.sees_shared(a.owner_org_id.as_deref()))
        .filter(|a| {
            // Skip far-away areas before projecting them.
            let [w, s, e, n] = a.polygon.bbox();
            w <= b.max.lon() && e >= b.min.lon() && s <= b.max.lat() && n >= b.min.lat()
        })
        .filter_map(|a| {
            let rings = polygon(proj, &a.polygon, p.simplify_units)?;
            Some(TileFeature {
                id: feature_id(&a.id),
                geom: TileGeom::Polygon(rings),
                props: vec![
                    ("id", Prop::Str(&a.id)),
                    ("name", Prop::Str(&a.name)),
                    ("kind", Prop::Str(a.kind.code())),
                ],
            })
        })
        .collect();
    out.truncate(p.max_polygons);
    out
}

/// The H3 resolution of the coverage grid at a zoom.
pub fn coverage_resolution(z: u8) -> Resolution {
    match z {
        0..=11 => Resolution::Eight,
        12..=13 => Resolution::Nine,
        _ => Resolution::Ten,
    }
}

/// What the coverage layer needs from the scoring models.
pub struct CoverageInputs<'a> {
    pub stats: &'a MerchantStats,
    pub priority_of: &'a dyn Fn(u32) -> f64,
    pub params: &'a CoverageParams,
}

/// The coverage grid layer: every hex touching the tile, counted over the whole hex.
pub fn coverage_grid<'a>(
    index: &SpatialIndex,
    proj: &Projector,
    scope: &Scope,
    inputs: &CoverageInputs<'_>,
    p: &TileParams,
) -> Vec<TileFeature<'a>> {
    if proj.tile.z < p.coverage_min_zoom {
        return Vec::new();
    }
    let res = coverage_resolution(proj.tile.z);
    // A hex touching the tile lies within one diameter (2 edges) of it; search twice that.
    let margin_deg = 4.0 * res.edge_length_m() / 111_000.0;
    let Some(b) = proj.search_box(margin_deg) else {
        return Vec::new();
    };
    let merchants: Vec<u32> = index
        .merchants
        .in_bbox(&b)
        .into_iter()
        .filter(|&s| scope.contains(index.merchants.item(s).owner_org_id()))
        .collect();
    let communities: Vec<u32> = index
        .communities
        .in_bbox(&b)
        .into_iter()
        .filter(|&s| scope.sees_shared(index.communities.item(s).owner_org_id.as_deref()))
        .collect();
    let hexes = coverage::grid(
        index,
        inputs.stats,
        inputs.priority_of,
        &merchants,
        &communities,
        res,
        inputs.params,
    );
    let e = EXTENT as i32;
    hexes
        .into_iter()
        .filter_map(|h| {
            let ring: Vec<[i32; 2]> = h.boundary[..h.boundary.len().saturating_sub(1)]
                .iter()
                .map(|[lon, lat]| round(proj.project(*lon, *lat)))
                .collect();
            let (x0, x1) = minmax(ring.iter().map(|p| p[0]));
            let (y0, y1) = minmax(ring.iter().map(|p| p[1]));
            (x1 >= 0 && y1 >= 0 && x0 <= e && y0 <= e).then(|| TileFeature {
                id: feature_id(&h.cell),
                geom: TileGeom::Polygon(vec![ring]),
                props: vec![
                    ("cell", Prop::Text(h.cell.clone())),
                    ("resolution", Prop::Int(i64::from(h.resolution))),
                    ("merchants", Prop::Int(h.merchants as i64)),
                    ("signed", Prop::Int(h.signed as i64)),
                    ("prospects", Prop::Int(h.prospects as i64)),
                    ("households", Prop::Int(h.households as i64)),
                    ("footfall", Prop::Double((h.footfall * 10.0).round() / 10.0)),
                    (
                        "priority_sum",
                        Prop::Double((h.priority_sum * 100.0).round() / 100.0),
                    ),
                    ("whitespace", Prop::Int(i64::from(h.whitespace))),
                ],
            })
        })
        .collect()
}

fn minmax(it: impl Iterator<Item = i32>) -> (i32, i32) {
    it.fold((i32::MAX, i32::MIN), |(a, b), v| (a.min(v), b.max(v)))
}

/// Encodes one layer's features as a Mapbox Vector Tile.
pub fn encode_mvt(layer: TileLayer, features: &[TileFeature<'_>]) -> Vec<u8> {
    let mut w = mvt::LayerWriter::new(layer.code());
    for f in features {
        w.add(f);
    }
    mvt::encode_tile(vec![w])
}

/// Writes features as a GeoJSON FeatureCollection (coordinates in the tile's system, rounded
/// to 7 decimals: the tile's own precision is coarser).
pub fn to_geojson(layer: TileLayer, t: TileId, crs: Crs, features: &[TileFeature<'_>]) -> String {
    use serde_json::{json, Map, Value};
    let pos = |p: [i32; 2]| {
        let [lon, lat] = t.to_lon_lat(p);
        let r = |v: f64| (v * 1e7).round() / 1e7;
        json!([r(lon), r(lat)])
    };
    let feats: Vec<Value> = features
        .iter()
        .map(|f| {
            let geometry = match &f.geom {
                TileGeom::Point(p) => json!({"type": "Point", "coordinates": pos(*p)}),
                TileGeom::Polygon(rings) => {
                    let rings: Vec<Value> = rings
                        .iter()
                        .map(|r| {
                            let mut v: Vec<Value> = r.iter().map(|p| pos(*p)).collect();
                            if let Some(first) = v.first().cloned() {
                                v.push(first);
                            }
                            Value::Array(v)
                        })
                        .collect();
                    json!({"type": "Polygon", "coordinates": rings})
                }
            };
            let mut props = Map::new();
            for (k, v) in &f.props {
                props.insert(
                    (*k).to_string(),
                    match v {
                        Prop::Str(s) | Prop::Unique(s) => json!(s),
                        Prop::Text(s) => json!(s),
                        Prop::Int(i) => json!(i),
                        Prop::Double(d) => json!(d),
                    },
                );
            }
            json!({"type": "Feature", "id": f.id, "geometry": geometry, "properties": props})
        })
        .collect();
    json!({
        "type": "FeatureCollection",
        "crs_code": crs.code(),
        "layer": layer.code(),
        "tile": {"z": t.z, "x": t.x, "y": t.y},
        "features": feats,
    })
    .to_string()
}

#[cfg(test)]
mod tests;
