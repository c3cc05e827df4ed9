//! The graph itself: vertices, undirected edges that keep their geometry and their length, the
//! CSR adjacency that searches walk, connected components and the R-tree of edge segments that
//! points snap onto.

use rstar::primitives::{GeomWithData, Line};
use rstar::RTree;
use serde::Serialize;

use super::{haversine_m, quantize, LocalProj, NetworkError};

/// An edge as given to [`StreetNetwork::from_edges`]: from vertex `a` to vertex `b` through the
/// intermediate points `shape` (`[lon, lat]`, WGS-84).
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeInput {
    pub a: u32,
    pub b: u32,
    pub shape: Vec<[f64; 2]>,
    /// Walking metres; `None`: the great-circle length of the geometry.
    pub length_m: Option<f64>,
    /// Walkable only from `a` to `b` (`oneway:foot=yes`).
    pub oneway: bool,
}

/// One edge of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub a: u32,
    pub b: u32,
    /// Length in decimetres (integers make searches exact and symmetric).
    pub len_dm: u32,
    pub oneway: bool,
}

/// One entry of the CSR adjacency: the edge `edge` leads to `to` and is `len_dm` long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arc {
    pub to: u32,
    pub len_dm: u32,
    pub edge: u32,
}

/// A segment of an edge's geometry in the snapping index: (edge, segment number).
pub(crate) type SegItem = GeomWithData<Line<[f64; 2]>, (u32, u32)>;

/// A walkable street network: what [`super::Walking`] measures distances and isochrones on.
///
/// Vertices are the street junctions and dead ends (with `Compress::Chains`, the default of the
/// PBF build) or every node; each edge keeps the points in between as geometry and its
/// great-circle length. The stored form ([`StreetNetwork::to_bytes`]) is the vertices, the
/// edges and their geometry; the adjacency, the components and the snapping index are derived
/// when it is built or loaded.
#[derive(Debug, Clone)]
pub struct StreetNetwork {
    /// `[lon, lat]` of each vertex, rounded to 1e-7° (the OSM precision, ~1 cm).
    pub(crate) coords: Vec<[f64; 2]>,
    pub(crate) edges: Vec<Edge>,
    /// Edge `e`'s intermediate points are `shape[shape_start[e]..shape_start[e + 1]]`.
    pub(crate) shape_start: Vec<u32>,
    pub(crate) shape: Vec<[f64; 2]>,
    /// CSR: the arcs leaving vertex `v` are `arcs[first[v]..first[v + 1]]`.
    pub(crate) first: Vec<u32>,
    pub(crate) arcs: Vec<Arc>,
    /// Connected component of each vertex (ignoring one-way restrictions), numbered by size:
    /// 0 is the largest.
    pub(crate) comp: Vec<u32>,
    /// Metres of street in each component.
    pub(crate) comp_len_m: Vec<f64>,
    pub(crate) comp_vertices: Vec<u32>,
    pub(crate) proj: LocalProj,
    pub(crate) tree: RTree<SegItem>,
    pub(crate) has_oneway: bool,
}

/// Sizes of a network, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NetworkStats {
    pub vertices: usize,
    pub edges: usize,
    /// Intermediate geometry points kept on edges.
    pub shape_points: usize,
    pub total_km: f64,
    pub components: usize,
    /// Share of the vertices in the largest component.
    pub largest_component_vertex_share: f64,
    /// Share of the street length in the component with the most street.
    pub largest_component_length_share: f64,
    /// Edges walkable one way only (`oneway:foot`).
    pub oneway_edges: usize,
}

pub(crate) fn check_coord(p: [f64; 2], what: &str) -> Result<[f64; 2], NetworkError> {
    let valid = p[0].is_finite()
        && p[1].is_finite()
        && (-180.0..=180.0).contains(&p[0])
        && (-90.0..=90.0).contains(&p[1]);
    if !valid {
        return Err(NetworkError::Invalid(format!(
            "{what} [{}, {}] is not a WGS-84 longitude/latitude",
            p[0], p[1]
        )));
    }
    Ok([quantize(p[0]), quantize(p[1])])
}

/// Metres to decimetres, rounded, saturating at `u32::MAX` (429 km).
pub(crate) fn to_dm(m: f64) -> u32 {
    let dm = (m * 10.0).round();
    if dm <= 0.0 {
        0
    } else if dm >= u32::MAX as f64 {
        u32::MAX
    } else {
        dm as u32
    }
}

impl StreetNetwork {
    /// A network from vertices (`[lon, lat]`) and edges between them: the form a stored network
    /// or a hand-made test graph comes in. Coordinates are rounded to 1e-7°.
    pub fn from_edges(
        vertices: Vec<[f64; 2]>,
        edges: Vec<EdgeInput>,
    ) -> Result<Self, NetworkError> {
        if vertices.len() >= u32::MAX as usize {
            return Err(NetworkError::Invalid("too many vertices".into()));
        }
        let coords = vertices
            .into_iter()
            .enumerate()
            .map(|(i, p)| check_coord(p, &format!("vertex {i}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out_edges = Vec::with_capacity(edges.len());
        let mut shape_start = Vec::with_capacity(edges.len() + 1);
        let mut shape = Vec::new();
        shape_start.push(0u32);
        for (i, e) in edges.into_iter().enumerate() {
            let n = coords.len() as u32;
            if e.a >= n || e.b >= n {
                return Err(NetworkError::Invalid(format!(
                    "edge {i} joins vertices {} and {} of {n}",
                    e.a, e.b
                )));
            }
            let pts = e
                .shape
                .iter()
                .map(|p| check_coord(*p, &format!("edge {i}'s geometry point")))
                .collect::<Result<Vec<_>, _>>()?;
            let len_m = match e.length_m {
                Some(l) if l.is_finite() && l >= 0.0 => l,
                Some(l) => return Err(NetworkError::Invalid(format!("edge {i} has length {l} m"))),
                None => {
                    let mut prev = coords[e.a as usize];
                    let mut sum = 0.0;
                    for p in pts.iter().chain(std::iter::once(&coords[e.b as usize])) {
                        sum += haversine_m(prev, *p);
                        prev = *p;
                    }
                    sum
                }
            };
            shape.extend(pts);
            if shape.len() >= u32::MAX as usize {
                return Err(NetworkError::Invalid("too many geometry points".into()));
            }
            shape_start.push(shape.len() as u32);
            out_edges.push(Edge {
                a: e.a,
                b: e.b,
                len_dm: to_dm(len_m),
                oneway: e.oneway,
            });
        }
        Ok(Self::assemble(coords, out_edges, shape_start, shape))
    }

    /// Derives the adjacency, the components and the snapping index. The inputs are valid.
    pub(crate) fn assemble(
        coords: Vec<[f64; 2]>,
        edges: Vec<Edge>,
        shape_start: Vec<u32>,
        shape: Vec<[f64; 2]>,
    ) -> Self {
        let n = coords.len();
        // CSR adjacency: both directions unless one-way.
        let mut degree = vec![0u32; n + 1];
        for e in &edges {
            degree[e.a as usize] += 1;
            if !e.oneway {
                degree[e.b as usize] += 1;
            }
        }
        let mut first = vec![0u32; n + 1];
        for v in 0..n {
            first[v + 1] = first[v] + degree[v];
        }
        let mut fill = first.clone();
        let mut arcs = vec![
            Arc {
                to: 0,
                len_dm: 0,
                edge: 0
            };
            first[n] as usize
        ];
        for (i, e) in edges.iter().enumerate() {
            let slot = &mut fill[e.a as usize];
            arcs[*slot as usize] = Arc {
                to: e.b,
                len_dm: e.len_dm,
                edge: i as u32,
            };
            *slot += 1;
            if !e.oneway {
                let slot = &mut fill[e.b as usize];
                arcs[*slot as usize] = Arc {
                    to: e.a,
                    len_dm: e.len_dm,
                    edge: i as u32,
                };
                *slot += 1;
            }
        }
        // Components by union-find, then numbered by vertex count (largest first, ties by the
        // smallest vertex) so that numbering does not depend on the input order of edges.
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn find(parent: &mut [u32], mut x: u32) -> u32 {
            while parent[x as usize] != x {
                let p = parent[x as usize];
                parent[x as usize] = parent[p as usize];
                x = p;
            }
            x
        }
        for e in &edges {
            let (ra, rb) = (find(&mut parent, e.a), find(&mut parent, e.b));
            if ra != rb {
                let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
                parent[hi as usize] = lo;
            }
        }
        let mut root_size = vec![0u32; n];
        let mut roots = Vec::new();
        let mut root_of = vec![0u32; n];
        for v in 0..n as u32 {
            let r = find(&mut parent, v);
            root_of[v as usize] = r;
            if root_size[r as usize] == 0 {
                roots.push(r);
            }
            root_size[r as usize] += 1;
        }
        roots.sort_by_key(|&r| (std::cmp::Reverse(root_size[r as usize]), r));
        let mut comp_of_root = vec![u32::MAX; n];
        for (i, &r) in roots.iter().enumerate() {
            comp_of_root[r as usize] = i as u32;
        }
        let comp: Vec<u32> = root_of.iter().map(|&r| comp_of_root[r as usize]).collect();
        let comp_vertices: Vec<u32> = roots.iter().map(|&r| root_size[r as usize]).collect();
        let mut comp_len_m = vec![0.0; roots.len()];
        for e in &edges {
            comp_len_m[comp[e.a as usize] as usize] += e.len_dm as f64 / 10.0;
        }
        // The local plane: centred on the bounding box of the vertices.
        let proj = if coords.is_empty() {
            LocalProj::new(0.0, 0.0)
        } else {
            let (mut x0, mut y0, mut x1, mut y1) = (180.0f64, 90.0f64, -180.0f64, -90.0f64);
            for p in &coords {
                x0 = x0.min(p[0]);
                x1 = x1.max(p[0]);
                y0 = y0.min(p[1]);
                y1 = y1.max(p[1]);
            }
            LocalProj::new((x0 + x1) / 2.0, (y0 + y1) / 2.0)
        };
        let mut net = Self {
            coords,
            edges,
            shape_start,
            shape,
            first,
            arcs,
            comp,
            comp_len_m,
            comp_vertices,
            proj,
            tree: RTree::new(),
            has_oneway: false,
        };
        net.has_oneway = net.edges.iter().any(|e| e.oneway);
        let mut segs = Vec::with_capacity(net.edges.len() + net.shape.len());
        for e in 0..net.edges.len() {
            let mut prev: Option<[f64; 2]> = None;
            for (k, p) in net.edge_points(e as u32).enumerate() {
                let xy = net.proj.xy(p);
                if let Some(q) = prev {
                    segs.push(GeomWithData::new(
                        Line::new(q, xy),
                        (e as u32, k as u32 - 1),
                    ));
                }
                prev = Some(xy);
            }
        }
        net.tree = RTree::bulk_load(segs);
        net
    }

    /// The points of edge `e` from `a` to `b`, its geometry included (`[lon, lat]`).
    pub fn edge_points(&self, e: u32) -> impl Iterator<Item = [f64; 2]> + '_ {
        let edge = self.edges[e as usize];
        let s = self.shape_start[e as usize] as usize;
        let t = self.shape_start[e as usize + 1] as usize;
        std::iter::once(self.coords[edge.a as usize])
            .chain(self.shape[s..t].iter().copied())
            .chain(std::iter::once(self.coords[edge.b as usize]))
    }

    pub fn vertex_count(&self) -> usize {
        self.coords.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// `[lon, lat]` of vertex `v`.
    pub fn vertex(&self, v: u32) -> [f64; 2] {
        self.coords[v as usize]
    }

    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The connected component of vertex `v` (0 is the largest).
    pub fn component(&self, v: u32) -> u32 {
        self.comp[v as usize]
    }

    /// Metres of street in component `c`.
    pub fn component_length_m(&self, c: u32) -> f64 {
        self.comp_len_m.get(c as usize).copied().unwrap_or(0.0)
    }

    /// Whether some edge is walkable one way only.
    pub fn has_oneway(&self) -> bool {
        self.has_oneway
    }

    /// The arcs leaving vertex `v`: `(neighbour, length in dm, edge)`.
    pub fn neighbours(&self, v: u32) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        let s = self.first[v as usize] as usize;
        let t = self.first[v as usize + 1] as usize;
        self.arcs[s..t].iter().map(|a| (a.to, a.len_dm, a.edge))
    }

    pub fn stats(&self) -> NetworkStats {
        let total_m: f64 = self.comp_len_m.iter().sum();
        let n = self.coords.len();
        NetworkStats {
            vertices: n,
            edges: self.edges.len(),
            shape_points: self.shape.len(),
            total_km: total_m / 1000.0,
            components: self.comp_vertices.len(),
            largest_component_vertex_share: match self.comp_vertices.first() {
                Some(&c) if n > 0 => c as f64 / n as f64,
                _ => 0.0,
            },
            largest_component_length_share: if total_m > 0.0 {
                self.comp_len_m.iter().cloned().fold(0.0, f64::max) / total_m
            } else {
                0.0
            },
            oneway_edges: self.edges.iter().filter(|e| e.oneway).count(),
        }
    }
}
