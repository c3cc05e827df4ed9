//! Snapping: where a point (an outlet, a merchant) meets the network: the nearest point of the
//! nearest edge, found in the R-tree of edge segments (in the network's local plane), within
//! `max_snap_m` and on a connected part with at least `snap_min_component_m` of street.

use serde::Serialize;

use crate::domain::Location;

use super::graph::StreetNetwork;
use super::haversine_m;

/// Where a point meets the network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Snap {
    /// The point that was snapped, `[lon, lat]`.
    pub from: [f64; 2],
    pub edge: u32,
    /// The nearest point of the edge, `[lon, lat]`.
    pub on: [f64; 2],
    /// Great-circle metres from the point to `on`: walked off the network, at the start or
    /// the end of a walk.
    pub offset_m: f64,
    /// Decimetres along the edge from its vertex `a` to `on`, and from `on` to its vertex `b`
    /// (they add up to the edge's length).
    pub along_dm: u32,
    pub to_b_dm: u32,
}

impl StreetNetwork {
    /// The nearest point of the network to `p` within `max_snap_m` metres, on a connected part
    /// with at least `min_component_m` metres of street; `None`: `p` is not on the network.
    pub fn snap(&self, p: Location, max_snap_m: f64, min_component_m: f64) -> Option<Snap> {
        let from = [p.lon(), p.lat()];
        let q = self.proj.xy(from);
        // The local plane is within a fraction of a percent of great-circle distances over a
        // city; the margin lets the great-circle check below decide at the limit.
        let reach = max_snap_m * 1.01 + 1.0;
        for (item, d2) in self.tree.nearest_neighbor_iter_with_distance_2(q) {
            if d2 > reach * reach {
                break;
            }
            let (e, k) = item.data;
            let edge = self.edges[e as usize];
            if self.comp_len_m[self.comp[edge.a as usize] as usize] < min_component_m {
                continue;
            }
            let foot = item.geom().nearest_point(&q);
            let on = self.proj.lonlat(foot);
            let offset_m = haversine_m(from, on);
            if offset_m > max_snap_m {
                continue;
            }
            // Fraction of the edge's geometry before `on`.
            let mut before = 0.0;
            let mut total = 0.0;
            let mut prev: Option<[f64; 2]> = None;
            for (i, pt) in self.edge_points(e).enumerate() {
                if let Some(pr) = prev {
                    let l = haversine_m(pr, pt);
                    if (i as u32) - 1 < k {
                        before += l;
                    } else if (i as u32) - 1 == k {
                        before += haversine_m(pr, on);
                    }
                    total += l;
                }
                prev = Some(pt);
            }
            let frac = if total > 0.0 {
                (before / total).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let along_dm = ((edge.len_dm as f64) * frac).round() as u32;
            let along_dm = along_dm.min(edge.len_dm);
            return Some(Snap {
                from,
                edge: e,
                on,
                offset_m,
                along_dm,
                to_b_dm: edge.len_dm - along_dm,
            });
        }
        None
    }
}
