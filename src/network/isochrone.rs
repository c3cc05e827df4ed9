//! Isochrones: the land reachable on foot within a walking budget, as polygons. The method and
//! its error are in the module doc of [`super`].

use geo::{Area, LineString, MapCoords, MultiPolygon, Polygon};

use super::contour::Field;
use super::graph::{to_dm, StreetNetwork};
use super::route::{Search, INF};
use super::rules::NetworkParams;
use super::snap::Snap;
use super::{haversine_m, LocalProj};

/// One isochrone: where a walk of `walking_m` metres (`minutes` at the walking speed) from the
/// origin reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct Isochrone {
    pub minutes: f64,
    pub walking_m: f64,
    /// `[lon, lat]` polygons (WGS-84).
    pub polygon: MultiPolygon<f64>,
    /// Area of the polygon, m².
    pub area_m2: f64,
    /// Network vertices (junctions) reached within the budget (0 for a straight-line circle).
    pub reached_vertices: usize,
    /// Metres of street reached within the budget (0 for a straight-line circle).
    pub reached_street_m: f64,
}

/// Appends the part of the polyline `pts` (local plane, with great-circle lengths `seg`) from
/// fraction `lo` to fraction `hi` of its length.
fn sub_line(pts: &[[f64; 2]], seg: &[f64], lo: f64, hi: f64, out: &mut Vec<Vec<[f64; 2]>>) {
    let total: f64 = seg.iter().sum();
    if pts.len() < 2 {
        return;
    }
    let (lo_m, hi_m) = (lo * total, hi * total);
    let at = |i: usize, s: f64| -> [f64; 2] {
        let t = if seg[i] > 0.0 {
            (s / seg[i]).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (p, q) = (pts[i], pts[i + 1]);
        [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t]
    };
    let mut line: Vec<[f64; 2]> = Vec::new();
    let mut start = 0.0;
    for i in 0..seg.len() {
        let end = start + seg[i];
        if end >= lo_m && start <= hi_m {
            if line.is_empty() {
                line.push(at(i, lo_m - start));
            }
            if end <= hi_m {
                line.push(pts[i + 1]);
            } else {
                line.push(at(i, hi_m - start));
                break;
            }
        }
        start = end;
    }
    if line.len() == 1 {
        line.push(line[0]);
    }
    if !line.is_empty() {
        out.push(line);
    }
}

/// One budget's reached street: (index of the budget, polylines in the local plane, decimetres).
type Reached = (usize, Vec<Vec<[f64; 2]>>, u64);

/// `[lo, hi]` decimetre intervals, merged where they overlap.
fn merge(mut iv: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    iv.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(iv.len());
    for (lo, hi) in iv {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

pub(crate) fn unproject(proj: &LocalProj, mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    mp.map_coords(|c| {
        let p = proj.lonlat([c.x, c.y]);
        geo::coord! { x: p[0], y: p[1] }
    })
}

impl StreetNetwork {
    /// Isochrones around the point `snap` was snapped from, one per walking budget (metres;
    /// `minutes[i]` labels `budgets_m[i]`), in ascending order of budget and nested: each
    /// polygon contains the smaller ones. The off-network walk to the snapped point counts
    /// against the budget. Land within `params.isochrone_buffer_m` of a reached street is
    /// reached (module doc of [`super`]).
    pub fn isochrones_snapped(
        &self,
        search: &mut Search,
        snap: &Snap,
        minutes: &[f64],
        budgets_m: &[f64],
        params: &NetworkParams,
    ) -> Vec<Isochrone> {
        let mut order: Vec<usize> = (0..budgets_m.len().min(minutes.len())).collect();
        order.sort_by(|&i, &j| budgets_m[i].total_cmp(&budgets_m[j]));
        let Some(&last) = order.last() else {
            return Vec::new();
        };
        let off_dm = to_dm(snap.offset_m);
        let bmax = to_dm(budgets_m[last].max(0.0));
        let seeds: Vec<(u32, u32)> = self
            .seeds_from(snap)
            .into_iter()
            .map(|(v, d)| (v, d.saturating_add(off_dm)))
            .collect();
        search.run(self, &seeds, bmax, None);
        // Every edge with a reached end, and the origin's own edge.
        let mut cand: Vec<u32> = Vec::new();
        for &v in &search.touched {
            let (s, t) = (
                self.first[v as usize] as usize,
                self.first[v as usize + 1] as usize,
            );
            cand.extend(self.arcs[s..t].iter().map(|a| a.edge));
        }
        cand.push(snap.edge);
        cand.sort_unstable();
        cand.dedup();
        // Geometry in a plane centred on the origin (true to the metre over an isochrone
        // wherever the origin lies in a large network), with each candidate's segment
        // lengths, once.
        let proj = LocalProj::new(snap.from[0], snap.from[1]);
        let geoms: Vec<(Vec<[f64; 2]>, Vec<f64>)> = cand
            .iter()
            .map(|&e| {
                let ll: Vec<[f64; 2]> = self.edge_points(e).collect();
                let seg = ll.windows(2).map(|w| haversine_m(w[0], w[1])).collect();
                (ll.iter().map(|p| proj.xy(*p)).collect(), seg)
            })
            .collect();
        let origin = proj.xy(snap.from);
        let on = proj.xy(snap.on);
        let se = self.edges[snap.edge as usize];

        // The reached pieces of street for each budget.
        let mut reached: Vec<Reached> = Vec::with_capacity(order.len());
        for &i in &order {
            let b = to_dm(budgets_m[i].max(0.0));
            let mut lines: Vec<Vec<[f64; 2]>> = Vec::new();
            let mut street_dm = 0u64;
            // The walk from the origin to the street, as far as the budget goes.
            let reach = if off_dm > 0 {
                (b as f64 / off_dm as f64).min(1.0)
            } else {
                1.0
            };
            lines.push(vec![
                origin,
                [
                    origin[0] + (on[0] - origin[0]) * reach,
                    origin[1] + (on[1] - origin[1]) * reach,
                ],
            ]);
            for (k, &e) in cand.iter().enumerate() {
                let edge = self.edges[e as usize];
                let len = edge.len_dm;
                let mut iv = Vec::with_capacity(3);
                let da = search.dist[edge.a as usize];
                if da != INF && da <= b {
                    iv.push((0, len.min(b - da)));
                }
                let db = search.dist[edge.b as usize];
                if db != INF && db <= b && !edge.oneway {
                    iv.push((len - len.min(b - db), len));
                }
                if e == snap.edge && off_dm <= b {
                    let r = b - off_dm;
                    let lo = if se.oneway {
                        snap.along_dm
                    } else {
                        snap.along_dm.saturating_sub(r)
                    };
                    iv.push((lo, snap.along_dm.saturating_add(r).min(len)));
                }
                for (lo, hi) in merge(iv) {
                    street_dm += (hi - lo) as u64;
                    let (f0, f1) = if len > 0 {
                        (lo as f64 / len as f64, hi as f64 / len as f64)
                    } else {
                        (0.0, 1.0)
                    };
                    sub_line(&geoms[k].0, &geoms[k].1, f0, f1, &mut lines);
                }
            }
            reached.push((i, lines, street_dm));
        }

        // One distance grid over the largest isochrone serves them all (so they nest).
        let r = params.isochrone_buffer_m;
        let (mut min, mut max) = (origin, origin);
        if let Some((_, lines, _)) = reached.last() {
            for p in lines.iter().flatten() {
                min = [min[0].min(p[0]), min[1].min(p[1])];
                max = [max[0].max(p[0]), max[1].max(p[1])];
            }
        }
        let cell = params.isochrone_cell_m;
        let stamp_r = r + 1.5 * cell;
        let mut field = Field::new(min, max, stamp_r, cell, stamp_r);
        let mut out = Vec::with_capacity(order.len());
        for (i, lines, street_dm) in reached {
            field.clear();
            for line in &lines {
                for w in line.windows(2) {
                    field.stamp(w[0], w[1], stamp_r);
                }
            }
            let poly = field.polygons(r, params.isochrone_fill_holes_m2);
            let b = to_dm(budgets_m[i].max(0.0));
            let reached_vertices = search
                .touched
                .iter()
                .filter(|&&v| search.dist[v as usize] <= b)
                .count();
            out.push(Isochrone {
                minutes: minutes[i],
                walking_m: budgets_m[i],
                area_m2: poly.unsigned_area(),
                polygon: unproject(&proj, &poly),
                reached_vertices,
                reached_street_m: street_dm as f64 / 10.0,
            });
        }
        out
    }
}

/// The straight-line stand-in for an isochrone: a circle of `radius_m` around `center`
/// (`[lon, lat]`), 64 chords in the local plane around it.
pub(crate) fn circle(center: [f64; 2], radius_m: f64) -> (MultiPolygon<f64>, f64) {
    let ring = crate::geo::circle_ring(center, radius_m);
    let mp = MultiPolygon::new(vec![Polygon::new(LineString::from(ring), vec![])]);
    (mp, crate::geo::circle_ring_area_m2(radius_m))
}
