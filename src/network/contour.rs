//! Polygons of "within `r` metres of these lines": a distance field sampled on a square grid
//! in the local plane, contoured at `r` by marching squares with linear interpolation.
//!
//! The distance to a set of segments is 1-Lipschitz and, near the contour, a union of cones
//! and planes; interpolating it linearly along grid edges misplaces the contour by at most
//! about `cell² / (8 r)` where it curves (0.4 m for 10 m cells and `r` = 30 m) and not at all
//! along straight stretches. Each edge crossing is one polygon point. Rings are oriented with
//! the inside on the left: counter-clockwise outer rings, clockwise holes.

use geo::{Contains, Coord, LineString, MultiPolygon, Point, Polygon};

/// A square grid of distances over a box of the local plane; every grid vertex on the border
/// lies farther than the level from every stamped line (the box is padded), so every ring
/// closes inside the grid.
pub(crate) struct Field {
    x0: f64,
    y0: f64,
    cell: f64,
    /// Cells per row and per column; vertices are `(nx + 1) × (ny + 1)`.
    nx: usize,
    ny: usize,
    f: Vec<f64>,
    cap: f64,
}

impl Field {
    /// A grid over `[min, max]` padded by `pad` metres plus two cells, with cells of `cell`
    /// metres (made coarser if the grid would exceed ~4 million vertices), every distance
    /// starting at `cap` (more than the level).
    pub(crate) fn new(min: [f64; 2], max: [f64; 2], pad: f64, cell: f64, cap: f64) -> Self {
        let (w, h) = (max[0] - min[0] + 2.0 * pad, max[1] - min[1] + 2.0 * pad);
        let cell = cell.max((w * h / 4.0e6).sqrt()).max(0.1);
        let nx = (w / cell).ceil() as usize + 4;
        let ny = (h / cell).ceil() as usize + 4;
        Self {
            x0: min[0] - pad - 2.0 * cell,
            y0: min[1] - pad - 2.0 * cell,
            cell,
            nx,
            ny,
            f: vec![cap; (nx + 1) * (ny + 1)],
            cap,
        }
    }

    /// Forgets every stamped line.
    pub(crate) fn clear(&mut self) {
        let cap = self.cap;
        self.f.iter_mut().for_each(|v| *v = cap);
    }

    /// Lowers the distances within `r` of the segment `p`–`q` to the distance to it.
    pub(crate) fn stamp(&mut self, p: [f64; 2], q: [f64; 2], r: f64) {
        let c = self.cell;
        let i0 = (((p[0].min(q[0]) - r - self.x0) / c).floor().max(0.0)) as usize;
        let i1 = (((p[0].max(q[0]) + r - self.x0) / c).ceil().max(0.0) as usize).min(self.nx);
        let j0 = (((p[1].min(q[1]) - r - self.y0) / c).floor().max(0.0)) as usize;
        let j1 = (((p[1].max(q[1]) + r - self.y0) / c).ceil().max(0.0) as usize).min(self.ny);
        let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
        let l2 = dx * dx + dy * dy;
        let row = self.nx + 1;
        for j in j0..=j1 {
            let y = self.y0 + j as f64 * c;
            for i in i0..=i1 {
                let x = self.x0 + i as f64 * c;
                let t = if l2 > 0.0 {
                    (((x - p[0]) * dx + (y - p[1]) * dy) / l2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (ex, ey) = (x - p[0] - t * dx, y - p[1] - t * dy);
                let d = (ex * ex + ey * ey).sqrt();
                let slot = &mut self.f[j * row + i];
                if d < *slot {
                    *slot = d;
                }
            }
        }
    }

    fn val(&self, i: usize, j: usize) -> f64 {
        self.f[j * (self.nx + 1) + i]
    }

    /// The crossing of the level on edge `key` (see `h`/`v` numbering in `polygons`).
    fn crossing(&self, key: usize, level: f64) -> [f64; 2] {
        let hcount = self.nx * (self.ny + 1);
        let (a, b) = if key < hcount {
            let (i, j) = (key % self.nx, key / self.nx);
            ((i, j), (i + 1, j))
        } else {
            let k = key - hcount;
            let (i, j) = (k % (self.nx + 1), k / (self.nx + 1));
            ((i, j), (i, j + 1))
        };
        let (fa, fb) = (self.val(a.0, a.1), self.val(b.0, b.1));
        let t = if fb != fa {
            ((level - fa) / (fb - fa)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        let (xa, ya) = (
            self.x0 + a.0 as f64 * self.cell,
            self.y0 + a.1 as f64 * self.cell,
        );
        let (xb, yb) = (
            self.x0 + b.0 as f64 * self.cell,
            self.y0 + b.1 as f64 * self.cell,
        );
        [xa + (xb - xa) * t, ya + (yb - ya) * t]
    }

    /// The region where the distance is below `level`, as polygons of the local plane; holes
    /// smaller than `fill_holes_m2` are filled.
    pub(crate) fn polygons(&self, level: f64, fill_holes_m2: f64) -> MultiPolygon<f64> {
        let (nx, ny) = (self.nx, self.ny);
        let hcount = nx * (ny + 1);
        let h = |i: usize, j: usize| j * nx + i;
        let v = |i: usize, j: usize| hcount + j * (nx + 1) + i;
        let mut next = vec![u32::MAX; hcount + (nx + 1) * ny];
        for j in 0..ny {
            for i in 0..nx {
                // Corners counter-clockwise from bottom-left, and the edges between them.
                let inside = [
                    self.val(i, j) < level,
                    self.val(i + 1, j) < level,
                    self.val(i + 1, j + 1) < level,
                    self.val(i, j + 1) < level,
                ];
                if inside.iter().all(|&b| b) || inside.iter().all(|&b| !b) {
                    continue;
                }
                let edges = [h(i, j), v(i + 1, j), h(i, j + 1), v(i, j)];
                // Walking round the cell counter-clockwise: where it leaves and where it
                // enters the region.
                let mut exits = [0usize; 2];
                let mut entries = [0usize; 2];
                let (mut ne, mut nn) = (0, 0);
                let mut order = [(0usize, false); 4];
                let mut no = 0;
                for k in 0..4 {
                    let (a, b) = (inside[k], inside[(k + 1) % 4]);
                    if a && !b {
                        exits[ne] = edges[k];
                        ne += 1;
                        order[no] = (edges[k], true);
                        no += 1;
                    } else if !a && b {
                        entries[nn] = edges[k];
                        nn += 1;
                        order[no] = (edges[k], false);
                        no += 1;
                    }
                }
                if no == 2 {
                    next[exits[0]] = entries[0] as u32;
                    continue;
                }
                // A saddle: the centre decides whether the two inside corners connect.
                let centre = (self.val(i, j)
                    + self.val(i + 1, j)
                    + self.val(i + 1, j + 1)
                    + self.val(i, j + 1))
                    / 4.0;
                let connected = centre < level;
                for k in 0..4 {
                    let (key, is_exit) = order[k];
                    if !is_exit {
                        continue;
                    }
                    // Connected: to the next entry counter-clockwise; apart: the previous.
                    let to = if connected {
                        order[(k + 1) % 4].0
                    } else {
                        order[(k + 3) % 4].0
                    };
                    next[key] = to as u32;
                }
            }
        }
        // Trace the rings.
        let mut seen = vec![false; next.len()];
        let mut outers: Vec<(LineString<f64>, f64)> = Vec::new();
        let mut holes: Vec<(LineString<f64>, f64)> = Vec::new();
        let mut filled: Vec<Polygon<f64>> = Vec::new();
        for start in 0..next.len() {
            if next[start] == u32::MAX || seen[start] {
                continue;
            }
            let mut ring: Vec<Coord<f64>> = Vec::new();
            let mut k = start;
            while !seen[k] {
                seen[k] = true;
                let p = self.crossing(k, level);
                ring.push(Coord { x: p[0], y: p[1] });
                let n = next[k];
                if n == u32::MAX {
                    break;
                }
                k = n as usize;
            }
            if ring.len() < 3 {
                continue;
            }
            ring.push(ring[0]);
            let area2: f64 = ring
                .windows(2)
                .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
                .sum();
            let ls = LineString::new(ring);
            if area2 > 0.0 {
                outers.push((ls, area2 / 2.0));
            } else if -area2 / 2.0 >= fill_holes_m2 {
                holes.push((ls, -area2 / 2.0));
            } else {
                filled.push(Polygon::new(ls, vec![]));
            }
        }
        // An island inside a filled hole is part of the filled area already.
        if !filled.is_empty() {
            outers.retain(|(ls, _)| {
                let probe = Point(ls.0[0]);
                !filled.iter().any(|f| f.contains(&probe))
            });
        }
        // Each kept hole goes to the smallest outer ring around it.
        outers.sort_by(|a, b| a.1.total_cmp(&b.1));
        let shells: Vec<Polygon<f64>> = outers
            .iter()
            .map(|(ls, _)| Polygon::new(ls.clone(), vec![]))
            .collect();
        let mut interiors: Vec<Vec<LineString<f64>>> = vec![Vec::new(); shells.len()];
        for (hole, _) in holes {
            let probe = Point(hole.0[0]);
            if let Some(k) = shells.iter().position(|s| s.contains(&probe)) {
                interiors[k].push(hole);
            }
        }
        MultiPolygon::new(
            outers
                .into_iter()
                .zip(interiors)
                .map(|((ls, _), hs)| Polygon::new(ls, hs))
                .collect(),
        )
    }
}
