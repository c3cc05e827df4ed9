//! Building a network: from an OpenStreetMap PBF file (two passes: the ways and their tags,
//! then the coordinates of the nodes they use) or from ways of numbered nodes.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

use osmpbf::{Element, ElementReader};
use serde::Serialize;

use super::graph::{check_coord, to_dm, Edge, NetworkStats, StreetNetwork};
use super::rules::{FootDirection, Verdict, WalkRules};
use super::{haversine_m, NetworkError};

/// A way as a list of node numbers (indices into the node coordinates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Way {
    pub nodes: Vec<u32>,
    pub direction: FootDirection,
}

/// Which nodes become vertices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compress {
    /// Junctions (nodes on two ways, or twice on one) and way ends; the nodes between them are
    /// kept as edge geometry. The default: a quarter of the vertices on the Liechtenstein data,
    /// searches 2–3× faster (module doc).
    Chains,
    /// Every node is a vertex and every segment an edge.
    None,
}

/// What a PBF build read, used and skipped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildReport {
    /// All ways in the file.
    pub ways_read: u64,
    /// Ways with a `highway` tag.
    pub highway_ways: u64,
    /// Walkable ways with at least one segment whose two nodes are in the file.
    pub ways_used: u64,
    /// Ways with a `highway` tag that were not used, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Node references of walkable ways to nodes missing from the file (an extract's border
    /// cuts ways); the way is split there.
    pub missing_node_refs: u64,
    /// Distinct OSM nodes on the used ways.
    pub osm_nodes_used: u64,
    #[serde(flatten)]
    pub network: NetworkStats,
    /// Milliseconds spent reading the file (both passes) and assembling the graph.
    pub read_ms: f64,
    pub assemble_ms: f64,
}

impl StreetNetwork {
    /// The network of `nodes` (`[lon, lat]`) and `ways` (lists of node indices): consecutive
    /// repeated nodes are dropped, `FootDirection::Backward` ways are reversed into one-way
    /// edges, and nodes on no way are left out.
    pub fn from_ways(
        nodes: &[[f64; 2]],
        ways: &[Way],
        compress: Compress,
    ) -> Result<Self, NetworkError> {
        let n = nodes.len();
        let mut uses = vec![0u8; n];
        let mut end = vec![false; n];
        let mut clean: Vec<(Vec<u32>, bool)> = Vec::with_capacity(ways.len());
        for (i, w) in ways.iter().enumerate() {
            let mut list: Vec<u32> = Vec::with_capacity(w.nodes.len());
            for &v in &w.nodes {
                if v as usize >= n {
                    return Err(NetworkError::Invalid(format!(
                        "way {i} names node {v} of {n}"
                    )));
                }
                if list.last() != Some(&v) {
                    list.push(v);
                }
            }
            if list.len() < 2 {
                continue;
            }
            if w.direction == FootDirection::Backward {
                list.reverse();
            }
            for &v in &list {
                uses[v as usize] = uses[v as usize].saturating_add(1);
            }
            end[list[0] as usize] = true;
            end[list[list.len() - 1] as usize] = true;
            clean.push((list, w.direction != FootDirection::Both));
        }
        let mut vertex_of = vec![u32::MAX; n];
        let mut coords = Vec::new();
        for v in 0..n {
            let is_vertex = match compress {
                Compress::Chains => end[v] || uses[v] >= 2,
                Compress::None => uses[v] >= 1,
            };
            if is_vertex {
                vertex_of[v] = coords.len() as u32;
                coords.push(check_coord(nodes[v], &format!("node {v}"))?);
            }
        }
        let mut edges = Vec::new();
        let mut shape_start = vec![0u32];
        let mut shape: Vec<[f64; 2]> = Vec::new();
        for (list, oneway) in &clean {
            let mut from = vertex_of[list[0] as usize];
            let mut prev = coords[from as usize];
            let mut len = 0.0;
            let mut pending: Vec<[f64; 2]> = Vec::new();
            for &v in &list[1..] {
                let vx = vertex_of[v as usize];
                let p = if vx == u32::MAX {
                    check_coord(nodes[v as usize], &format!("node {v}"))?
                } else {
                    coords[vx as usize]
                };
                len += haversine_m(prev, p);
                prev = p;
                if vx == u32::MAX {
                    pending.push(p);
                    continue;
                }
                shape.append(&mut pending);
                if shape.len() >= u32::MAX as usize {
                    return Err(NetworkError::Invalid("too many geometry points".into()));
                }
                shape_start.push(shape.len() as u32);
                edges.push(Edge {
                    a: from,
                    b: vx,
                    len_dm: to_dm(len),
                    oneway: *oneway,
                });
                from = vx;
                len = 0.0;
            }
        }
        Ok(Self::assemble(coords, edges, shape_start, shape))
    }

    /// The walkable network of an OSM PBF file (see [`WalkRules`]), with its junctions as
    /// vertices (`Compress::Chains`).
    pub fn from_pbf(
        path: impl AsRef<Path>,
        rules: &WalkRules,
    ) -> Result<(Self, BuildReport), NetworkError> {
        let bytes = std::fs::read(path)?;
        Self::from_pbf_bytes(&bytes, rules, Compress::Chains)
    }

    /// [`StreetNetwork::from_pbf`] on the bytes of a PBF file.
    pub fn from_pbf_bytes(
        bytes: &[u8],
        rules: &WalkRules,
        compress: Compress,
    ) -> Result<(Self, BuildReport), NetworkError> {
        let t0 = Instant::now();
        let mut ways_read = 0u64;
        let mut highway_ways = 0u64;
        let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
        let mut walkable: Vec<(Vec<i64>, FootDirection)> = Vec::new();
        ElementReader::new(Cursor::new(bytes)).for_each(|el| {
            if let Element::Way(w) = el {
                ways_read += 1;
                match rules.classify(w.tags()) {
                    Verdict::NotHighway => {}
                    Verdict::Skipped(why) => {
                        highway_ways += 1;
                        *skipped.entry(why).or_default() += 1;
                    }
                    Verdict::Walkable(dir) => {
                        highway_ways += 1;
                        walkable.push((w.refs().collect(), dir));
                    }
                }
            }
        })?;
        let mut ids: Vec<i64> = walkable
            .iter()
            .flat_map(|(r, _)| r.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut located: Vec<Option<[f64; 2]>> = vec![None; ids.len()];
        let mut put = |id: i64, lon: f64, lat: f64| {
            if let Ok(i) = ids.binary_search(&id) {
                located[i] = Some([lon, lat]);
            }
        };
        ElementReader::new(Cursor::new(bytes)).for_each(|el| match el {
            Element::DenseNode(nd) => put(nd.id(), nd.lon(), nd.lat()),
            Element::Node(nd) => put(nd.id(), nd.lon(), nd.lat()),
            _ => {}
        })?;
        let read_ms = t0.elapsed().as_secs_f64() * 1e3;

        let t1 = Instant::now();
        let mut missing_node_refs = 0u64;
        let mut ways_used = 0u64;
        let mut ways = Vec::with_capacity(walkable.len());
        let mut used_node = vec![false; ids.len()];
        for (refs, dir) in &walkable {
            let mut run: Vec<u32> = Vec::new();
            let mut used = false;
            for id in refs {
                let slot = ids.binary_search(id).ok().filter(|&i| located[i].is_some());
                match slot {
                    Some(i) => run.push(i as u32),
                    None => {
                        missing_node_refs += 1;
                        if run.len() >= 2 {
                            used = true;
                            ways.push(Way {
                                nodes: std::mem::take(&mut run),
                                direction: *dir,
                            });
                        }
                        run.clear();
                    }
                }
            }
            if run.len() >= 2 {
                used = true;
                ways.push(Way {
                    nodes: run,
                    direction: *dir,
                });
            }
            if used {
                ways_used += 1;
            } else {
                *skipped
                    .entry("fewer than two of its nodes in the file".into())
                    .or_default() += 1;
            }
        }
        for w in &ways {
            for &v in &w.nodes {
                used_node[v as usize] = true;
            }
        }
        let nodes: Vec<[f64; 2]> = located.iter().map(|p| p.unwrap_or([0.0, 0.0])).collect();
        let net = Self::from_ways(&nodes, &ways, compress)?;
        let report = BuildReport {
            ways_read,
            highway_ways,
            ways_used,
            skipped,
            missing_node_refs,
            osm_nodes_used: used_node.iter().filter(|&&u| u).count() as u64,
            network: net.stats(),
            read_ms,
            assemble_ms: t1.elapsed().as_secs_f64() * 1e3,
        };
        Ok((net, report))
    }
}
