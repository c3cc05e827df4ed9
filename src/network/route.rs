//! Shortest paths: a bounded, multi-source Dijkstra on the CSR adjacency with integer
//! decimetre lengths and a binary heap of packed `(distance, vertex)` keys, and the walking
//! distances between snapped points built on it. Why our own loop and not a crate's: the module
//! doc of [`super`] (measured in `benches/network.rs`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::graph::StreetNetwork;
use super::snap::Snap;

/// "Not reached" in a search.
pub(crate) const INF: u32 = u32::MAX;

/// A search's working memory, reused between searches on one network: distances (reset
/// through the list of touched vertices, so a small search costs only what it touches), the
/// heap and the target marks.
pub struct Search {
    pub(crate) dist: Vec<u32>,
    pub(crate) touched: Vec<u32>,
    heap: BinaryHeap<Reverse<u64>>,
    mark: Vec<u32>,
    stamp: u32,
    /// Vertices settled by the last search (popped with their final distance).
    pub settled: usize,
}

impl Search {
    /// Working memory for searches on `net`.
    pub fn new(net: &StreetNetwork) -> Self {
        let n = net.vertex_count();
        Self {
            dist: vec![INF; n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
            mark: vec![0; n],
            stamp: 0,
            settled: 0,
        }
    }

    fn reset(&mut self) {
        for &v in &self.touched {
            self.dist[v as usize] = INF;
        }
        self.touched.clear();
        self.heap.clear();
        self.settled = 0;
    }

    /// Decimetres from the seeds to `v` found by the last search (`INF`: not reached within
    /// its bound).
    pub fn dist_dm(&self, v: u32) -> u32 {
        self.dist[v as usize]
    }

    /// Dijkstra from `seeds` (`(vertex, starting decimetres)`) over the arcs of `net`, settling
    /// every vertex within `bound_dm`; with `targets`, it stops as soon as all of them are
    /// settled. Afterwards [`Search::dist_dm`] is exact for every settled vertex, and for
    /// every vertex within the bound when there were no targets.
    pub fn run(
        &mut self,
        net: &StreetNetwork,
        seeds: &[(u32, u32)],
        bound_dm: u32,
        targets: Option<&[u32]>,
    ) {
        self.reset();
        let mut remaining = 0usize;
        if let Some(t) = targets {
            self.stamp = self.stamp.wrapping_add(1);
            if self.stamp == 0 {
                self.mark.iter_mut().for_each(|m| *m = 0);
                self.stamp = 1;
            }
            for &v in t {
                if self.mark[v as usize] != self.stamp {
                    self.mark[v as usize] = self.stamp;
                    remaining += 1;
                }
            }
            if remaining == 0 {
                return;
            }
        }
        for &(v, d) in seeds {
            if d <= bound_dm && d < self.dist[v as usize] {
                if self.dist[v as usize] == INF {
                    self.touched.push(v);
                }
                self.dist[v as usize] = d;
                self.heap.push(Reverse(((d as u64) << 32) | v as u64));
            }
        }
        let first = &net.first;
        let arcs = &net.arcs;
        while let Some(Reverse(key)) = self.heap.pop() {
            let d = (key >> 32) as u32;
            let v = key as u32;
            if d > self.dist[v as usize] {
                continue;
            }
            self.settled += 1;
            if targets.is_some() && self.mark[v as usize] == self.stamp {
                remaining -= 1;
                if remaining == 0 {
                    break;
                }
            }
            let (s, t) = (first[v as usize] as usize, first[v as usize + 1] as usize);
            for arc in &arcs[s..t] {
                let nd = d.saturating_add(arc.len_dm);
                let w = arc.to as usize;
                if nd < self.dist[w] && nd <= bound_dm {
                    if self.dist[w] == INF {
                        self.touched.push(arc.to);
                    }
                    self.dist[w] = nd;
                    self.heap.push(Reverse(((nd as u64) << 32) | w as u64));
                }
            }
        }
    }
}

impl StreetNetwork {
    /// The seeds of a search leaving from a snapped point: its edge's ends, at the decimetres
    /// walked along the edge to them (only forward on a one-way edge). The off-network walk is
    /// not included.
    pub(crate) fn seeds_from(&self, s: &Snap) -> Vec<(u32, u32)> {
        let e = self.edges[s.edge as usize];
        let mut seeds = vec![(e.b, s.to_b_dm)];
        if !e.oneway {
            seeds.push((e.a, s.along_dm));
        }
        seeds
    }

    /// The vertices a search must settle to reach a snapped point.
    pub(crate) fn target_vertices(&self, s: &Snap) -> [u32; 2] {
        let e = self.edges[s.edge as usize];
        [e.a, e.b]
    }

    /// Whether a search from `a` can reach `b` at all (same connected part).
    pub(crate) fn same_component(&self, a: &Snap, b: &Snap) -> bool {
        let ea = self.edges[a.edge as usize];
        let eb = self.edges[b.edge as usize];
        self.comp[ea.a as usize] == self.comp[eb.a as usize]
    }

    /// Network decimetres from snapped point `from` to snapped point `to` after a search from
    /// `from`'s seeds (`None`: not reached): arriving through either end of `to`'s edge, or
    /// along the shared edge when both lie on one.
    pub(crate) fn arrive_dm(&self, search: &Search, from: &Snap, to: &Snap) -> Option<u32> {
        let e = self.edges[to.edge as usize];
        let mut best = INF;
        let da = search.dist[e.a as usize];
        if da != INF {
            best = best.min(da.saturating_add(to.along_dm));
        }
        let db = search.dist[e.b as usize];
        if db != INF && !e.oneway {
            best = best.min(db.saturating_add(to.to_b_dm));
        }
        if from.edge == to.edge {
            if to.along_dm >= from.along_dm {
                best = best.min(to.along_dm - from.along_dm);
            } else if !e.oneway {
                best = best.min(from.along_dm - to.along_dm);
            }
        }
        (best != INF).then_some(best)
    }

    /// Walking metres from snapped point `from` to each of `to` on the network, the off-network
    /// walks at both ends included; `None` where there is no way within `max_m` (another
    /// connected part, or too far). One search, stopped when every target is settled.
    pub fn walk_from(
        &self,
        search: &mut Search,
        from: &Snap,
        to: &[Snap],
        max_m: f64,
    ) -> Vec<Option<f64>> {
        let bound = super::graph::to_dm(max_m);
        let mut targets = Vec::with_capacity(to.len() * 2);
        for t in to {
            if self.same_component(from, t) {
                targets.extend_from_slice(&self.target_vertices(t));
            }
        }
        search.run(self, &self.seeds_from(from), bound, Some(&targets));
        to.iter()
            .map(|t| {
                if !self.same_component(from, t) && from.edge != t.edge {
                    return None;
                }
                self.arrive_dm(search, from, t)
                    .filter(|&dm| dm <= bound)
                    .map(|dm| dm as f64 / 10.0 + (from.offset_m + t.offset_m))
            })
            .collect()
    }
}

impl StreetNetwork {
    /// Network walking metres from `from` to each of `to`, the off-network walks at both ends
    /// included (one search); `None` where either point is not on the network (farther than
    /// `params.max_snap_m`) or there is no way within `params.max_search_m`.
    pub fn distances(
        &self,
        from: crate::domain::Location,
        to: &[crate::domain::Location],
        params: &super::NetworkParams,
    ) -> Vec<Option<f64>> {
        let snap = |p| self.snap(p, params.max_snap_m, params.snap_min_component_m);
        let Some(sf) = snap(from) else {
            return vec![None; to.len()];
        };
        let snaps: Vec<Option<Snap>> = to.iter().map(|p| snap(*p)).collect();
        let on: Vec<Snap> = snaps.iter().flatten().copied().collect();
        let mut search = Search::new(self);
        let mut found = self
            .walk_from(&mut search, &sf, &on, params.max_search_m)
            .into_iter();
        snaps
            .iter()
            .map(|s| s.and_then(|_| found.next().flatten()))
            .collect()
    }
}
