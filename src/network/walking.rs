//! What callers hold: [`Walking`], the street network when one is loaded, or straight line ×
//! detour factor otherwise, and every answer saying which model gave it.

use std::sync::Arc;

use serde::Serialize;

use crate::coverage::{Circle, DISTANCE_MODEL};
use crate::domain::Location;
use crate::visits::plan::WalkingDistances;

use super::graph::StreetNetwork;
use super::isochrone::{circle, Isochrone};
use super::route::Search;
use super::rules::NetworkParams;
use super::snap::Snap;

/// The model name of network distances, as outputs report it.
pub const STREET_NETWORK: &str = "street_network";
/// The model name of the fallback: [`crate::coverage::DISTANCE_MODEL`].
pub const STRAIGHT_LINE_X_DETOUR: &str = DISTANCE_MODEL;

/// A detour factor as [`crate::coverage::straight_m`] uses it: below 1 or not finite → 1.
fn clean_detour(d: f64) -> f64 {
    if d.is_finite() && d >= 1.0 {
        d
    } else {
        1.0
    }
}

/// One walking distance and the model that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Walk {
    /// Walking metres; `f64::INFINITY`: no way on the network within `max_search_m`.
    pub metres: f64,
    /// [`STREET_NETWORK`] or [`STRAIGHT_LINE_X_DETOUR`].
    pub model: &'static str,
}

/// A walking-distance matrix and how each point was measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistanceMatrix {
    /// Row-major `n × n` walking metres (as [`WalkingDistances::matrix`]).
    pub metres: Vec<f64>,
    /// Per point: whether it is on the network. A pair with a point off the network is
    /// measured as straight line × detour.
    pub on_network: Vec<bool>,
    /// [`STREET_NETWORK`] when some pair was measured on the network, else
    /// [`STRAIGHT_LINE_X_DETOUR`].
    pub model: &'static str,
}

/// The isochrones of one origin and the model that drew them.
#[derive(Debug, Clone, PartialEq)]
pub struct IsochroneSet {
    /// [`STREET_NETWORK`], or [`STRAIGHT_LINE_X_DETOUR`] (circles of radius budget / detour)
    /// when there is no network or the origin is not on it.
    pub model: &'static str,
    /// Where the origin met the network.
    pub snap: Option<Snap>,
    /// Ascending by budget, nested.
    pub isochrones: Vec<Isochrone>,
}

/// Walking distances on a street network, with straight line × detour for points off it.
#[derive(Debug, Clone)]
pub struct NetworkDistances {
    pub network: Arc<StreetNetwork>,
    pub params: NetworkParams,
    /// The fallback's detour factor (`ScoringParams::detour_factor`).
    pub detour: f64,
}

impl NetworkDistances {
    pub fn new(network: Arc<StreetNetwork>, params: NetworkParams, detour: f64) -> Self {
        Self {
            network,
            params,
            detour: clean_detour(detour),
        }
    }

    /// Where `p` meets the network, if it does.
    pub fn snap(&self, p: Location) -> Option<Snap> {
        self.network
            .snap(p, self.params.max_snap_m, self.params.snap_min_component_m)
    }

    fn straight(&self, a: Location, b: Location) -> Walk {
        Walk {
            metres: a.distance_m(&b) * self.detour,
            model: STRAIGHT_LINE_X_DETOUR,
        }
    }

    /// Network metres between two snapped points, or walking straight to each other when
    /// they are closer to each other than one of them is to the street (two shops inside one
    /// mall whose corridors are not mapped): the off-network walk is assumed straight either
    /// way.
    fn pair(&self, a: &Snap, b: &Snap, net_m: Option<f64>) -> f64 {
        let direct = super::haversine_m(a.from, b.from);
        let d = net_m.unwrap_or(f64::INFINITY);
        if direct <= a.offset_m.max(b.offset_m) {
            d.min(direct)
        } else {
            d
        }
    }

    /// Walking metres from `from` to each of `to`.
    pub fn distances(&self, from: Location, to: &[Location]) -> Vec<Walk> {
        let Some(sf) = self.snap(from) else {
            return to.iter().map(|t| self.straight(from, *t)).collect();
        };
        let snaps: Vec<Option<Snap>> = to.iter().map(|t| self.snap(*t)).collect();
        let mut search = Search::new(&self.network);
        self.walks(&mut search, from, &sf, to, &snaps, self.params.max_search_m)
    }

    /// [`NetworkDistances::distances`] for callers that walk from many origins to points they
    /// meet again and again (the Huff estimate: every community to the merchants in its reach):
    /// `snaps[i]` is `to[i]`'s [`NetworkDistances::snap`], computed once by the caller, and
    /// `search` is the caller's working memory ([`Search::new`] once per thread), reused.
    /// The search stops at `max_m` (at most `params.max_search_m`): every walk up to `max_m` is
    /// exact, a longer one on the network is either exact or `f64::INFINITY` (the bound is on
    /// the streets' part of the walk), so `max_m` should be the longest walk the caller keeps.
    /// Points off the network are straight line × detour, whatever their length.
    pub fn distances_snapped(
        &self,
        search: &mut Search,
        from: Location,
        to: &[Location],
        snaps: &[Option<Snap>],
        max_m: f64,
    ) -> Vec<Walk> {
        debug_assert_eq!(to.len(), snaps.len());
        let Some(sf) = self.snap(from) else {
            return to.iter().map(|t| self.straight(from, *t)).collect();
        };
        let max_m = if max_m.is_nan() {
            self.params.max_search_m
        } else {
            max_m.min(self.params.max_search_m)
        };
        self.walks(search, from, &sf, to, snaps, max_m)
    }

    /// One search from the snapped `from` to the snapped ones of `to`; the others straight.
    fn walks(
        &self,
        search: &mut Search,
        from: Location,
        sf: &Snap,
        to: &[Location],
        snaps: &[Option<Snap>],
        max_m: f64,
    ) -> Vec<Walk> {
        let on: Vec<Snap> = snaps.iter().flatten().copied().collect();
        let found = if on.is_empty() {
            Vec::new()
        } else {
            self.network.walk_from(search, sf, &on, max_m)
        };
        let mut k = 0;
        to.iter()
            .zip(snaps)
            .map(|(t, s)| match s {
                None => self.straight(from, *t),
                Some(st) => {
                    let d = found.get(k).copied().flatten();
                    k += 1;
                    Walk {
                        metres: self.pair(sf, st, d),
                        model: STREET_NETWORK,
                    }
                }
            })
            .collect()
    }

    /// The walking-distance matrix among `points`, with how each point was measured. One
    /// bounded search per point, stopped once the points it still needs are settled; without
    /// one-way edges the matrix is symmetric and each search looks only for the points after
    /// its own.
    pub fn matrix_with_models(&self, points: &[Location]) -> DistanceMatrix {
        let n = points.len();
        let snaps: Vec<Option<Snap>> = points.iter().map(|p| self.snap(*p)).collect();
        let mut metres = vec![0.0; n * n];
        let symmetric = !self.network.has_oneway();
        let mut search = Search::new(&self.network);
        for i in 0..n {
            let js: Vec<usize> = if symmetric {
                (i + 1..n).collect()
            } else {
                (0..n).filter(|&j| j != i).collect()
            };
            let Some(si) = snaps[i] else {
                for &j in &js {
                    let d = self.straight(points[i], points[j]).metres;
                    metres[i * n + j] = d;
                    if symmetric {
                        metres[j * n + i] = d;
                    }
                }
                continue;
            };
            let targets: Vec<Snap> = js.iter().filter_map(|&j| snaps[j]).collect();
            let found = if targets.is_empty() {
                Vec::new()
            } else {
                self.network
                    .walk_from(&mut search, &si, &targets, self.params.max_search_m)
            };
            let mut k = 0;
            for &j in &js {
                let d = match snaps[j] {
                    None => self.straight(points[i], points[j]).metres,
                    Some(sj) => {
                        k += 1;
                        self.pair(&si, &sj, found.get(k - 1).copied().flatten())
                    }
                };
                metres[i * n + j] = d;
                if symmetric {
                    metres[j * n + i] = d;
                }
            }
        }
        let on_network: Vec<bool> = snaps.iter().map(Option::is_some).collect();
        let model = if on_network.iter().filter(|&&b| b).count() >= 2 {
            STREET_NETWORK
        } else {
            STRAIGHT_LINE_X_DETOUR
        };
        DistanceMatrix {
            metres,
            on_network,
            model,
        }
    }

    /// Isochrones for walking budgets in metres (`minutes[i]` labels `budgets_m[i]`).
    pub fn isochrones_m(
        &self,
        origin: Location,
        minutes: &[f64],
        budgets_m: &[f64],
    ) -> IsochroneSet {
        match self.snap(origin) {
            None => straight_isochrones(origin, minutes, budgets_m, self.detour),
            Some(s) => {
                let mut search = Search::new(&self.network);
                IsochroneSet {
                    model: STREET_NETWORK,
                    snap: Some(s),
                    isochrones: self.network.isochrones_snapped(
                        &mut search,
                        &s,
                        minutes,
                        budgets_m,
                        &self.params,
                    ),
                }
            }
        }
    }
}

impl WalkingDistances for NetworkDistances {
    /// Network metres between points on the network (`f64::INFINITY`: no way within
    /// `max_search_m`), straight line × detour for pairs with a point off it.
    fn matrix(&self, points: &[Location]) -> Vec<f64> {
        self.matrix_with_models(points).metres
    }
}

fn straight_isochrones(
    origin: Location,
    minutes: &[f64],
    budgets_m: &[f64],
    detour: f64,
) -> IsochroneSet {
    let mut order: Vec<usize> = (0..budgets_m.len().min(minutes.len())).collect();
    order.sort_by(|&i, &j| budgets_m[i].total_cmp(&budgets_m[j]));
    let isochrones = order
        .into_iter()
        .map(|i| {
            let (polygon, area_m2) =
                circle([origin.lon(), origin.lat()], budgets_m[i].max(0.0) / detour);
            Isochrone {
                minutes: minutes[i],
                walking_m: budgets_m[i],
                polygon,
                area_m2,
                reached_vertices: 0,
                reached_street_m: 0.0,
            }
        })
        .collect();
    IsochroneSet {
        model: STRAIGHT_LINE_X_DETOUR,
        snap: None,
        isochrones,
    }
}

/// How callers walk: on a street network when one is loaded, else straight line × detour.
#[derive(Debug, Clone)]
pub enum Walking {
    Network(NetworkDistances),
    Straight { detour: f64 },
}

impl Walking {
    /// The network when there is one with at least one edge, else the straight line.
    pub fn new(network: Option<Arc<StreetNetwork>>, params: NetworkParams, detour: f64) -> Self {
        match network {
            Some(n) if !n.is_empty() => Self::Network(NetworkDistances::new(n, params, detour)),
            _ => Self::straight(detour),
        }
    }

    pub fn straight(detour: f64) -> Self {
        Self::Straight {
            detour: clean_detour(detour),
        }
    }

    /// The model for outputs to report: [`STREET_NETWORK`] or [`STRAIGHT_LINE_X_DETOUR`]
    /// (single answers carry their own, since a point off the network falls back).
    pub fn model(&self) -> &'static str {
        match self {
            Self::Network(_) => STREET_NETWORK,
            Self::Straight { .. } => STRAIGHT_LINE_X_DETOUR,
        }
    }

    /// The detour factor of the straight-line model (the fallback's, on a network).
    pub fn detour(&self) -> f64 {
        match self {
            Self::Network(n) => n.detour,
            Self::Straight { detour } => *detour,
        }
    }

    /// Walking metres from `a` to `b`.
    pub fn distance(&self, a: Location, b: Location) -> Walk {
        self.distances(a, &[b]).pop().unwrap_or(Walk {
            metres: f64::INFINITY,
            model: self.model(),
        })
    }

    /// Walking metres from `from` to each of `to` (one search on a network: Huff distances and
    /// distance decay from an outlet to its merchants).
    pub fn distances(&self, from: Location, to: &[Location]) -> Vec<Walk> {
        match self {
            Self::Network(n) => n.distances(from, to),
            Self::Straight { detour } => to
                .iter()
                .map(|t| Walk {
                    metres: from.distance_m(t) * detour,
                    model: STRAIGHT_LINE_X_DETOUR,
                })
                .collect(),
        }
    }

    /// The walking-distance matrix among `points` and how each point was measured.
    pub fn matrix_with_models(&self, points: &[Location]) -> DistanceMatrix {
        match self {
            Self::Network(n) => n.matrix_with_models(points),
            Self::Straight { detour } => DistanceMatrix {
                metres: crate::visits::plan::StraightLine {
                    detour_factor: *detour,
                }
                .matrix(points),
                on_network: vec![false; points.len()],
                model: STRAIGHT_LINE_X_DETOUR,
            },
        }
    }

    /// Isochrones of `minutes` at `walking_kmh` around `origin`.
    pub fn isochrones(&self, origin: Location, minutes: &[f64], walking_kmh: f64) -> IsochroneSet {
        let budgets: Vec<f64> = minutes
            .iter()
            .map(|m| m * walking_kmh * 1000.0 / 60.0)
            .collect();
        self.isochrones_m(origin, minutes, &budgets)
    }

    /// The life circles of `data/coverage.toml` (5/10/15 minutes = 300/500/1000 walking metres)
    /// as isochrones around `origin`.
    pub fn life_circles(&self, origin: Location, circles: &[Circle]) -> IsochroneSet {
        let minutes: Vec<f64> = circles.iter().map(|c| c.minutes as f64).collect();
        let budgets: Vec<f64> = circles.iter().map(|c| c.walking_m).collect();
        self.isochrones_m(origin, &minutes, &budgets)
    }

    /// Isochrones for walking budgets in metres (`minutes[i]` labels `budgets_m[i]`).
    pub fn isochrones_m(
        &self,
        origin: Location,
        minutes: &[f64],
        budgets_m: &[f64],
    ) -> IsochroneSet {
        match self {
            Self::Network(n) => n.isochrones_m(origin, minutes, budgets_m),
            Self::Straight { detour } => straight_isochrones(origin, minutes, budgets_m, *detour),
        }
    }
}

impl WalkingDistances for Walking {
    fn matrix(&self, points: &[Location]) -> Vec<f64> {
        self.matrix_with_models(points).metres
    }
}
