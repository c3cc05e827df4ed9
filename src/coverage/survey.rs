//! The survey of a business district or food street (商圈 / 好吃街 survey, 了解周边业态): the
//! business mix inside the polygon, signed or not, the best prospects, the communities and
//! households within reach, and the banks nearby — what a branch team takes to a meeting.
//!
//! "Within reach of the polygon" is measured without buffering geometry: an item is in reach when
//! it lies inside the polygon or within `reach_m` (straight line) of a point of its outline. The
//! outline is sampled at its vertices and along its edges every `reach_m / 4`, so the union of
//! the sample disks covers the true buffer to within 0.8% of `reach_m` (a disk of radius r around
//! samples s apart covers a band of half-width √(r² − s²/4) ≈ 0.992 r along the edge).

use crate::index::MerchantRef;
use std::collections::{BTreeMap, HashMap};

use geo::orient::{Direction, Orient};
use geo::GeodesicArea;
use serde::Serialize;

use super::{is_signed, ratio, DISTANCE_MODEL};
use crate::domain::{Community, Location, ValidPolygon};
use crate::index::{Layer, Located, SpatialIndex};
use crate::scoring::{priority, MerchantStats, ScoringParams, Weights};

/// A prospect's score, merchant slot and nearest outlet of ours (slot, distance).
type Scored = (f64, u32, Option<(u32, f64)>);

/// How many prospects a survey lists.
pub const TOP_PROSPECTS: usize = 15;

/// At most this many outline samples, however long the outline (then spaced more widely).
const MAX_SAMPLES: usize = 4_096;

/// One category of the business mix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixRow {
    pub code: String,
    pub count: usize,
    /// `count / merchants`.
    pub share: f64,
    pub signed: usize,
    /// `signed / count`.
    pub signed_share: f64,
}

/// A merchant worth visiting, with its score against the nearest of our outlets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prospect {
    pub id: String,
    pub name: String,
    pub category: String,
    pub status: &'static str,
    pub score: f64,
    /// `None` when we have no outlet at all (the distance factor is then 0).
    pub nearest_outlet_id: Option<String>,
    /// Straight line to that outlet.
    pub distance_m: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearbyCommunity {
    pub id: String,
    pub name: String,
    pub households: u32,
    /// Straight line to the nearest outline sample; 0 inside the polygon.
    pub distance_m: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearbyOutlet {
    pub id: String,
    pub name: String,
    /// The competitor's bank; `None` for ours.
    pub bank: Option<String>,
    /// Straight line to the nearest outline sample; 0 inside the polygon.
    pub distance_m: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Survey {
    pub area_name: Option<String>,
    /// Geodesic area of the polygon.
    pub area_m2: f64,
    /// Always [`DISTANCE_MODEL`].
    pub distance: &'static str,
    /// The reach asked for (straight line) and the walk it stands for (× detour factor).
    pub reach_m: f64,
    pub reach_walking_m: f64,
    /// Merchants inside that pass `keep`.
    pub merchants: usize,
    /// By category, most merchants first (ties by code).
    pub mix: Vec<MixRow>,
    pub signed: usize,
    pub signed_share: f64,
    /// Up to [`TOP_PROSPECTS`] merchants inside, not signed/active/rejected, best score first.
    pub top_prospects: Vec<Prospect>,
    /// Nearest first (inside the polygon = 0 m), ties by id.
    pub communities_in_reach: Vec<NearbyCommunity>,
    pub households_in_reach: u64,
    pub competitor_outlets: Vec<NearbyOutlet>,
    pub our_outlets: Vec<NearbyOutlet>,
}

/// Points of the polygon's outlines (shell and holes): the vertices and points along each
/// edge at most `spacing_m` apart (linear in lon/lat, which is fine at street scale).
pub(crate) fn outline_samples(polygon: &ValidPolygon, spacing_m: f64) -> Vec<Location> {
    let rings = polygon.rings();
    let mut edges: Vec<(Location, Location, f64)> = Vec::new();
    for ring in &rings {
        for w in ring.windows(2) {
            let (Ok(a), Ok(b)) = (
                Location::new(w[0][0], w[0][1]),
                Location::new(w[1][0], w[1][1]),
            ) else {
                continue;
            };
            edges.push((a, b, a.distance_m(&b)));
        }
    }
    let perimeter: f64 = edges.iter().map(|e| e.2).sum();
    let spacing = spacing_m.max(perimeter / MAX_SAMPLES as f64).max(1e-6);
    let mut out = Vec::new();
    for (a, b, len) in edges {
        let steps = (len / spacing).ceil().max(1.0) as usize;
        for i in 0..steps {
            let t = i as f64 / steps as f64;
            let lon = a.lon() + (b.lon() - a.lon()) * t;
            let lat = a.lat() + (b.lat() - a.lat()) * t;
            if let Ok(p) = Location::new(lon, lat) {
                out.push(p);
            }
        }
    }
    out
}

/// Slots of the layer's items inside the polygon or within `reach_m` of an outline sample, with
/// their distance (0 inside), nearest first, ties by id.
pub(crate) fn in_reach<T: Located + Sync, S: crate::index::Slots<Item = T>>(
    layer: &Layer<T, S>,
    polygon: &ValidPolygon,
    samples: &[Location],
    reach_m: f64,
) -> Vec<(u32, f64)> {
    let mut best: HashMap<u32, f64> = HashMap::new();
    for slot in layer.in_polygon(polygon) {
        best.insert(slot, 0.0);
    }
    for p in samples {
        layer.for_each_within_radius(*p, reach_m, |slot, d| {
            best.entry(slot).and_modify(|b| *b = b.min(d)).or_insert(d);
        });
    }
    let mut out: Vec<(u32, f64)> = best.into_iter().collect();
    out.sort_unstable_by(|a, b| {
        a.1.total_cmp(&b.1)
            .then_with(|| layer.id(a.0).cmp(layer.id(b.0)))
    });
    out
}

/// Our outlet nearest to `p`, by straight line: among the 16 nearest outlets, else a scan.
pub(crate) fn nearest_ours(index: &SpatialIndex, p: Location) -> Option<(u32, f64)> {
    let near = index.outlets.nearest(p, 16, None);
    if let Some(h) = near.iter().find(|h| index.outlets.item(h.slot).is_ours()) {
        return Some((h.slot, h.distance_m));
    }
    if near.len() < 16 {
        return None; // every outlet was looked at
    }
    index
        .outlets
        .items()
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_ours())
        .map(|(i, o)| (i as u32, o.location.distance_m(&p)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// Surveys the merchants inside `polygon` that pass `keep`, and what lies within `reach_m`
/// (straight line) of it: the communities that pass `keep_community`, and outlets.
#[allow(clippy::too_many_arguments)]
pub fn survey(
    index: &SpatialIndex,
    stats: &MerchantStats,
    scoring: &ScoringParams,
    weights: &Weights,
    polygon: &ValidPolygon,
    area_name: Option<&str>,
    reach_m: f64,
    keep: &dyn Fn(MerchantRef<'_>) -> bool,
    keep_community: &dyn Fn(&Community) -> bool,
) -> Survey {
    let reach_m = if reach_m.is_finite() {
        reach_m.max(0.0)
    } else {
        0.0
    };
    let inside: Vec<u32> = index
        .merchants
        .in_polygon(polygon)
        .into_iter()
        .filter(|&s| keep(index.merchants.item(s)))
        .collect();
    let n = inside.len();

    let mut by_cat: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut signed = 0;
    for &s in &inside {
        let m = index.merchants.item(s);
        let e = by_cat.entry(m.category()).or_default();
        e.0 += 1;
        if is_signed(m) {
            e.1 += 1;
            signed += 1;
        }
    }
    let mut mix: Vec<MixRow> = by_cat
        .into_iter()
        .map(|(code, (count, s))| MixRow {
            code: code.to_string(),
            count,
            share: ratio(count as f64, n as f64),
            signed: s,
            signed_share: ratio(s as f64, count as f64),
        })
        .collect();
    // Stable sort: ties keep the code order of the BTreeMap.
    mix.sort_by_key(|r| std::cmp::Reverse(r.count));

    let mut prospects: Vec<Scored> = inside
        .iter()
        .filter_map(|&s| {
            let m = index.merchants.item(s);
            if priority::excluded(m, scoring) {
                return None;
            }
            let near = nearest_ours(index, m.location());
            let d = near.map_or(f64::INFINITY, |(_, d)| d);
            let p = priority::score(index, stats, scoring, weights, s, d)?;
            Some((p.score, s, near))
        })
        .collect();
    prospects.sort_unstable_by(|a, b| {
        b.0.total_cmp(&a.0).then_with(|| {
            index
                .merchants
                .item(a.1)
                .id()
                .cmp(index.merchants.item(b.1).id())
        })
    });
    prospects.truncate(TOP_PROSPECTS);
    let top_prospects = prospects
        .into_iter()
        .map(|(score, s, near)| {
            let m = index.merchants.item(s);
            Prospect {
                id: m.id().to_string(),
                name: m.name().to_string(),
                category: m.category().to_string(),
                status: m.status().code(),
                score,
                nearest_outlet_id: near.map(|(o, _)| index.outlets.item(o).id.clone()),
                distance_m: near.map(|(_, d)| d),
            }
        })
        .collect();

    let samples = outline_samples(polygon, reach_m / 4.0);
    let communities_in_reach: Vec<NearbyCommunity> =
        in_reach(&index.communities, polygon, &samples, reach_m)
            .into_iter()
            .filter(|&(s, _)| keep_community(index.communities.item(s)))
            .map(|(s, d)| {
                let c = index.communities.item(s);
                NearbyCommunity {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    households: c.households,
                    distance_m: d,
                }
            })
            .collect();
    let households_in_reach = communities_in_reach
        .iter()
        .map(|c| u64::from(c.households))
        .sum();
    let (mut competitor_outlets, mut our_outlets) = (Vec::new(), Vec::new());
    for (s, d) in in_reach(&index.outlets, polygon, &samples, reach_m) {
        let o = index.outlets.item(s);
        let row = NearbyOutlet {
            id: o.id.clone(),
            name: o.name.clone(),
            bank: o.competitor_bank.clone(),
            distance_m: d,
        };
        if o.is_ours() {
            our_outlets.push(row);
        } else {
            competitor_outlets.push(row);
        }
    }

    Survey {
        area_name: area_name.map(str::to_string),
        // Geodesic area needs the shell counter-clockwise (else it measures the rest of the
        // Earth); stored polygons keep the orientation they were drawn in.
        area_m2: polygon
            .as_geo()
            .orient(Direction::Default)
            .geodesic_area_unsigned(),
        distance: DISTANCE_MODEL,
        reach_m,
        reach_walking_m: reach_m * scoring.detour_factor,
        merchants: n,
        mix,
        signed,
        signed_share: ratio(signed as f64, n as f64),
        top_prospects,
        communities_in_reach,
        households_in_reach,
        competitor_outlets,
        our_outlets,
    }
}
