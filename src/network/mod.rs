//! The street network (issue 9): walking distances and isochrones on the walkable ways of an
//! OpenStreetMap file, with straight line × detour factor as the fallback. A plain model: no
//! HTTP, no SQL. "Straight lines lie: a merchant 300 m away across a river or a rail line is a
//! 20-minute walk."
//!
//! # What callers hold
//!
//! [`Walking`]: `Network(NetworkDistances)` when a network is loaded, `Straight { detour }`
//! otherwise ([`Walking::new`] picks). Its [`Walking::model`] is [`STREET_NETWORK`]
//! (`"street_network"`) or [`STRAIGHT_LINE_X_DETOUR`] (`"straight_line_x_detour"`, the
//! existing [`crate::coverage::DISTANCE_MODEL`]), and every single answer ([`Walk`],
//! [`DistanceMatrix`], [`IsochroneSet`]) carries the model that gave it, since a point off the
//! network falls back on its own. It gives:
//!
//! - [`Walking::distances`]: one origin to many points (one search): priority distance decay
//!   ([`crate::scoring::rank`]); [`NetworkDistances::distances_snapped`], the same with the
//!   caller's search memory and snaps and a bound: Huff distances ([`crate::scoring::estimate`],
//!   one search per community, each merchant snapped once);
//! - [`Walking::matrix_with_models`] and `impl WalkingDistances` ([`crate::visits::plan`]):
//!   the visit planner's matrix, usable as it is (`plan(&req, &walking, …)`);
//! - [`Walking::isochrones`] (minutes at a speed) and [`Walking::life_circles`] (the
//!   300/500/1000 m circles of `data/coverage.toml`): polygons, ascending and nested.
//!
//! # Building ([`StreetNetwork::from_pbf`], [`build`])
//!
//! Two passes over the PBF file: the ways and their tags ([`WalkRules`], `data/network.toml`,
//! each rule with its reason: footways, paths, steps, streets of every class up to primary,
//! tracks, cycleways and bridleways; not motorways, trunk roads, construction, `foot=no`, or
//! `access=no|private` without `foot=yes|designated|permissive`; areas are walked along their
//! outline), then the coordinates of the nodes they use. A way cut by missing nodes is split.
//! [`BuildReport`] counts ways used and skipped by reason, vertices, edges, km, components.
//!
//! Walking is undirected: `oneway` is for vehicles; only `oneway:foot=yes|-1` makes an edge
//! one-way. Lengths are great-circle (haversine) sums over every node of the way, stored per
//! edge in whole decimetres (`u32`), so searches add integers: exact, and exactly symmetric.
//!
//! Vertices are the junctions (nodes shared by ways, or twice on one) and way ends; the nodes in
//! between are kept as the edge's geometry (`Compress::Chains`). Measured: on Liechtenstein
//! 28,194 nodes give 4,155 vertices and 5,366 edges; on the synthetic city (below) 312,311 nodes
//! give 62,750 vertices, and a 15-minute isochrone takes 3.6 ms instead of 6.8 ms with every
//! node a vertex (`Compress::None`), a 50 × 50 matrix 6.0 ms instead of 31.7 ms. Distances are
//! the same either way (test `every_node_as_vertex_gives_the_same_distances_as_junctions`).
//!
//! The stored form ([`StreetNetwork::to_bytes`] / [`StreetNetwork::from_bytes`], module
//! [`store`]) is one checksummed blob for a database column: vertices, edges with their
//! decimetres and geometry (0.32 MB for Liechtenstein, 4.7 MB for the synthetic city); the
//! CSR adjacency, the components and the snapping R-tree are rebuilt on load (13.5 ms and
//! 121 ms). [`StreetNetwork::from_edges`] builds one from plain vertices and edges.
//!
//! # Snapping ([`snap`])
//!
//! A point meets the network at the nearest point of the nearest edge (an `rstar` R-tree of
//! edge segments in a local plane), within `max_snap_m` (200 m) and on a connected part with at
//! least `snap_min_component_m` (1 km) of street, so that an unlinked fragment (a mall's
//! internal footways, a path cut by the extract's border) never strands a point. The snap
//! distance is walked straight, off the network, at the start and the end of every walk.
//!
//! # Distances ([`route`], [`walking`])
//!
//! A walk between two snapped points: off-network leg + shortest path from either end of the
//! first point's edge to either end of the second's (or along a shared edge) + off-network leg.
//! Decisions:
//!
//! - a point farther than `max_snap_m` from the network: its pairs are straight line ×
//!   detour, and say so (`on_network[i] == false`, [`Walk::model`]): it is still planned;
//! - two points on the network with no way between them (another connected part, or farther
//!   than `max_search_m`, 12 km) are `f64::INFINITY` apart: "no way", as the planner's trait
//!   asks; a river with no bridge in the data is exactly that;
//! - two points closer to each other than either is to the street (two shops inside a mall
//!   whose corridors are not mapped) walk straight to each other, as their off-network legs do.
//!
//! The search is a Dijkstra on the CSR adjacency with a binary heap of packed
//! `(decimetres, vertex)` keys, bounded (nothing beyond `max_search_m` or the isochrone budget
//! is pushed), multi-source with starting costs (the two ends of a snapped edge) and stopped as
//! soon as every target is settled. A matrix runs one search per point; without one-way edges
//! it is symmetric and the search from point `i` looks only for the points after it.
//!
//! Why our own 60 lines and not a crate's (`cargo bench --bench network -- dijkstra`, the
//! synthetic city, one search settling the 3,714 vertices within 3 km): ours 52 µs;
//! `pathfinding` 4.16 `dijkstra_reach` stopped at 3 km, 225 µs (4×: hash maps of visited nodes
//! and parents); `petgraph` 0.8 `algo::dijkstra`, which has no bound, 4.4 ms (it settles the
//! whole graph into a `HashMap`). Neither takes several sources with starting costs (both would
//! need a virtual source node), and isochrones need the distances as an array over vertices.
//! At 4× the search cost the matrix on the every-node graph (32 ms) would miss its 50 ms
//! target. The loop is tested against Floyd–Warshall on random graphs, bounded and not, with
//! and without one-way edges, and against a plain Dijkstra on the real network.
//!
//! # Isochrones ([`isochrone`])
//!
//! The land reachable within a walking budget B from the origin: the search from the snapped
//! origin (its off-network leg counted against B) gives every reached vertex; each edge is
//! reached from its end `a` up to `B − d(a)`, from its end `b` likewise, and on the origin's own
//! edge both ways from the snapped point; those reached pieces of street (partial edges cut at
//! the exact point along their geometry) and the off-network leg, widened by
//! `isochrone_buffer_m` (30 m: the shops and entrances fronting the street), are the
//! isochrone. The polygon is drawn from a grid of distances to the reached pieces
//! (`isochrone_cell_m`, 10 m) contoured at 30 m by marching squares (module `contour`):
//! within ~0.4 m of the exact 30 m buffer. Holes smaller than `isochrone_fill_holes_m2` (2 ha:
//! block interiors more than 30 m from their streets) are filled; larger unreached land (a park
//! with no paths, water) stays a hole. The isochrones of one origin share one grid and their
//! reached pieces grow with the budget, so the distances only fall and the polygons nest
//! (5 ⊂ 10 ⊂ 15, tested).
//!
//! geo 0.32's `Buffer` + union (i_overlay) was tried first: 20 ms for the synthetic 15-minute
//! isochrone (92.7 km of reached street), 88 ms on the every-node graph, 131 ms on a 40 m grid;
//! its cost grows with the number of pieces, the grid's with the area. The grid takes 3.6 /
//! 6.8 / 9.4 ms.
//!
//! Error of the model, not of the drawing: land within 30 m of a reached street counts as
//! reached although reaching it takes up to 30 m more (24 s at 4.5 km/h); 30 m of land across a
//! barrier next to a reached street counts too (a canal narrower than 30 m); streets are
//! assumed walkable along their whole length (no pavement data), squares are walked along their
//! outlines and paths only, gates and barriers on nodes are not modelled, and slopes and steps
//! cost no extra time. Where there is no network, or the origin is not on it, isochrones are
//! circles of radius budget / detour, and say so.
//!
//! # Measured (`cargo bench --bench network`, one core of this machine)
//!
//! On [`synthetic::GridCity::default`], a SYNTHETIC 20 km × 20 km city of 80 m blocks with
//! OSM-like intermediate nodes every 27 m, diagonal paths and a river with bridges (312,311
//! nodes):
//!
//! | graph | vertices | build | 15-min isochrone (target ≤ 20 ms) | 5+10+15 | 50 × 50 matrix within 2 km (target ≤ 50 ms) |
//! | --- | --- | --- | --- | --- | --- |
//! | junctions (default) | 62,750 | 138 ms | 3.6 ms | 5.7 ms | 6.0 ms |
//! | every node a vertex | 312,311 | 169 ms | 6.8 ms | 9.6 ms | 31.7 ms |
//! | 40 m blocks, junctions | 250,500 | 274 ms | 9.4 ms | 14.3 ms | 27.0 ms |
//!
//! Liechtenstein (the real extract): built from the PBF in 74 ms, loaded from its blob in
//! 13.5 ms, a 15-minute isochrone in Vaduz in 0.58 ms.

pub mod build;
mod contour;
pub mod graph;
pub mod isochrone;
pub mod route;
pub mod rules;
pub mod snap;
pub mod store;
pub mod synthetic;
pub mod walking;

pub use build::{BuildReport, Compress, Way};
pub use graph::{Edge, EdgeInput, NetworkStats, StreetNetwork};
pub use isochrone::Isochrone;
pub use route::Search;
pub use rules::{FootDirection, NetworkParams, Verdict, WalkRules};
pub use snap::Snap;
pub use walking::{
    DistanceMatrix, IsochroneSet, NetworkDistances, Walk, Walking, STRAIGHT_LINE_X_DETOUR,
    STREET_NETWORK,
};

use crate::index::EARTH_RADIUS_M;

/// Why a network could not be built or loaded.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("cannot read the OSM file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the OSM PBF data cannot be read: {0}")]
    Pbf(#[from] osmpbf::Error),
    #[error("the walking rules are not valid: {0}")]
    Rules(String),
    #[error("the network is not valid: {0}")]
    Invalid(String),
    #[error("the stored network is damaged: {0}")]
    Corrupt(String),
}

/// Great-circle metres between two `[lon, lat]` points (haversine on the mean Earth radius,
/// as [`crate::domain::Location::distance_m`]).
pub fn haversine_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (la1, la2) = (a[1].to_radians(), b[1].to_radians());
    let dlat = la2 - la1;
    let dlon = (b[0] - a[0]).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// A coordinate rounded to 1e-7°, the precision of OSM and of the stored form.
pub(crate) fn quantize(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// A local plane in metres around a centre (equirectangular): snapping and isochrone
/// geometry work in it. Over a city (±20 km) its distances are within 0.1% of great-circle
/// ones; lengths are always great-circle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LocalProj {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl LocalProj {
    pub(crate) fn new(lon0: f64, lat0: f64) -> Self {
        let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        Self {
            lon0,
            lat0,
            kx: ky * lat0.to_radians().cos(),
            ky,
        }
    }

    pub(crate) fn xy(&self, p: [f64; 2]) -> [f64; 2] {
        [(p[0] - self.lon0) * self.kx, (p[1] - self.lat0) * self.ky]
    }

    pub(crate) fn lonlat(&self, xy: [f64; 2]) -> [f64; 2] {
        [self.lon0 + xy[0] / self.kx, self.lat0 + xy[1] / self.ky]
    }
}

#[cfg(test)]
mod tests;
