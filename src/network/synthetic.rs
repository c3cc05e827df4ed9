//! A SYNTHETIC street grid, for benchmarks and tests only: a square city of streets every
//! `block_m` metres, with OSM-like intermediate nodes along them, a few diagonal paths and an
//! optional river crossed by bridges only. Not real data.

use std::collections::HashMap;

use super::build::Way;
use super::rules::FootDirection;
use super::LocalProj;

/// The shape of a synthetic grid city.
#[derive(Debug, Clone, PartialEq)]
pub struct GridCity {
    /// `[lon, lat]` of the centre.
    pub center: [f64; 2],
    /// Side of the square, metres.
    pub size_m: f64,
    /// Street spacing, metres.
    pub block_m: f64,
    /// Segments per block side: `nodes_per_block − 1` intermediate nodes between junctions.
    pub nodes_per_block: u32,
    /// A diagonal path (both directions) through the junctions every this many blocks; 0: none.
    pub diagonal_every: u32,
    pub river: Option<River>,
}

/// A river two blocks wide, flowing north–south: the street in its middle is gone, and the
/// east–west streets cross it only at bridges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct River {
    /// The river lies between the north–south streets `column` and `column + 2` (0 = west edge).
    pub column: u32,
    /// An east–west street crosses it every this many blocks (≥ 1).
    pub bridge_every: u32,
}

impl Default for GridCity {
    /// The benchmark's city: 20 km × 20 km around Leshan's centre, 80 m blocks with two
    /// intermediate nodes each side (OSM maps a city street every ~25 m), diagonal paths every
    /// 2 km, and a river 2 km east of the centre with a bridge every 1.6 km: 312,311 nodes,
    /// 62,750 junctions.
    fn default() -> Self {
        Self {
            center: [103.76, 29.55],
            size_m: 20_000.0,
            block_m: 80.0,
            nodes_per_block: 3,
            diagonal_every: 25,
            river: Some(River {
                column: 150,
                bridge_every: 20,
            }),
        }
    }
}

impl GridCity {
    /// Junctions per side.
    pub fn blocks(&self) -> u32 {
        (self.size_m / self.block_m).round().max(1.0) as u32
    }

    /// `[lon, lat]` of the point `x_m` east and `y_m` north of the centre.
    pub fn at(&self, x_m: f64, y_m: f64) -> [f64; 2] {
        LocalProj::new(self.center[0], self.center[1]).lonlat([x_m, y_m])
    }

    /// The nodes (`[lon, lat]`) and ways of the grid, for [`super::StreetNetwork::from_ways`].
    pub fn ways(&self) -> (Vec<[f64; 2]>, Vec<Way>) {
        let blocks = self.blocks();
        let s = self.nodes_per_block.max(1);
        let g = blocks * s;
        let step = self.block_m / s as f64;
        let half = blocks as f64 * self.block_m / 2.0;
        let mut ids: HashMap<(u32, u32), u32> = HashMap::new();
        let mut nodes: Vec<[f64; 2]> = Vec::new();
        let mut node = |gx: u32, gy: u32| -> u32 {
            *ids.entry((gx, gy)).or_insert_with(|| {
                nodes.push(self.at(gx as f64 * step - half, gy as f64 * step - half));
                nodes.len() as u32 - 1
            })
        };
        // The river's band in grid units, open interval.
        let band = self.river.map(|r| (r.column * s, (r.column + 2) * s));
        let in_band = |gx: u32| band.is_some_and(|(lo, hi)| gx > lo && gx < hi);
        let mut ways = Vec::new();
        let push = |list: &mut Vec<u32>, ways: &mut Vec<Way>| {
            if list.len() >= 2 {
                ways.push(Way {
                    nodes: std::mem::take(list),
                    direction: FootDirection::Both,
                });
            }
            list.clear();
        };
        // East–west streets, cut by the river except at bridges.
        for r in 0..=blocks {
            let bridge = self.river.is_some_and(|rv| r % rv.bridge_every.max(1) == 0);
            let mut list = Vec::new();
            for gx in 0..=g {
                if in_band(gx) && !bridge {
                    push(&mut list, &mut ways);
                    continue;
                }
                list.push(node(gx, r * s));
            }
            push(&mut list, &mut ways);
        }
        // North–south streets, but none in the river.
        for c in 0..=blocks {
            if in_band(c * s) {
                continue;
            }
            let mut list: Vec<u32> = (0..=g).map(|gy| node(c * s, gy)).collect();
            push(&mut list, &mut ways);
        }
        // Diagonal paths through the junctions, cut by the river.
        if self.diagonal_every > 0 {
            let every = self.diagonal_every as i64;
            let b = blocks as i64;
            for k in (-b..=b).filter(|k| k.rem_euclid(every) == 0) {
                for rising in [true, false] {
                    let mut list = Vec::new();
                    for c in 0..=b {
                        let r = if rising { c - k } else { k + b - c };
                        let gx = (c as u32) * s;
                        // Off the map, or in the river: the path stops (at the bank).
                        if !(0..=b).contains(&r) || in_band(gx) {
                            push(&mut list, &mut ways);
                            continue;
                        }
                        list.push(node(gx, r as u32 * s));
                    }
                    push(&mut list, &mut ways);
                }
            }
        }
        (nodes, ways)
    }
}
