//! Territories: every merchant belongs to exactly one of our outlets, whose staff own its visit.
//!
//! - [`TerritoryMethod::Nearest`]: the nearest of our outlets (walking ≈ straight × detour, so
//!   the nearest by straight line).
//! - [`TerritoryMethod::Huff`]: the outlet with the highest Huff probability among our
//!   outlets, with the merchant's category's α and β. With equal attractiveness that is just
//!   the nearest, so an outlet's attractiveness is `1 + signed merchants (signed or active)
//!   within 500 m`: established outlets, with an ecosystem already around them, pull harder.
//! - `max_load = Some(f)`: no outlet takes more than ⌈f × mean load⌉ (f below 1 counts as 1,
//!   so that every merchant fits). Merchants are placed greedily, nearest to their first choice
//!   first (ties by merchant id); one whose first choice is full goes to the nearest outlet
//!   that still has room. Deterministic for the same data.
//!
//! Competitor outlets never own anything. With no outlet of ours, nothing is assigned.

use rstar::primitives::GeomWithData;
use rstar::RTree;
use serde::{Deserialize, Serialize};

use crate::domain::{Location, PipelineStatus};
use crate::index::{SpatialIndex, EARTH_RADIUS_M};

use super::params::ScoringParams;

/// How merchants are shared among our outlets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerritoryMethod {
    Nearest,
    Huff,
}

/// The assignment.
#[derive(Debug, Clone, Serialize)]
pub struct Territories {
    /// Merchant slot → slot in `index.outlets` (always one of ours); `None` only when we have
    /// no outlet.
    pub outlet_of: Vec<Option<u32>>,
    /// Per outlet slot (competitors' included, at 0): merchants assigned.
    pub load: Vec<usize>,
}

/// Radius within which signed merchants make an outlet attractive in Huff mode.
pub const ESTABLISHED_RADIUS_M: f64 = 500.0;

type OutletPoint = GeomWithData<[f64; 3], u32>;

fn unit(loc: Location) -> [f64; 3] {
    let (lat, lon) = (loc.lat().to_radians(), loc.lon().to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// Great-circle metres of a squared chord on the unit sphere.
fn metres(chord2: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * (chord2.max(0.0).sqrt() * 0.5).min(1.0).asin()
}

/// Each merchant to exactly one of our outlets; see the module documentation.
pub fn assign(
    index: &SpatialIndex,
    params: &ScoringParams,
    method: TerritoryMethod,
    max_load: Option<f64>,
) -> Territories {
    let n = index.merchants.len();
    let mut load = vec![0usize; index.outlets.len()];
    let ours: Vec<OutletPoint> = index
        .outlets
        .items()
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_ours())
        .map(|(slot, o)| GeomWithData::new(unit(o.location), slot as u32))
        .collect();
    if ours.is_empty() {
        return Territories {
            outlet_of: vec![None; n],
            load,
        };
    }
    let n_ours = ours.len();
    let tree = RTree::bulk_load(ours);

    let first = match method {
        TerritoryMethod::Nearest => first_nearest(index, &tree),
        TerritoryMethod::Huff => first_huff(index, params, &tree),
    };
    let Some(f) = max_load.filter(|f| f.is_finite()) else {
        let outlet_of = first
            .iter()
            .map(|c| {
                c.map(|(o, _)| {
                    load[o as usize] += 1;
                    o
                })
            })
            .collect();
        return Territories { outlet_of, load };
    };

    let cap = (f.max(1.0) * n as f64 / n_ours as f64).ceil().max(1.0) as usize;
    let mut order: Vec<u32> = (0..n as u32).collect();
    let merchants = index.merchants.table();
    let key = |s: u32| first[s as usize].map_or(f64::INFINITY, |(_, d)| d);
    order.sort_unstable_by(|&a, &b| {
        key(a)
            .total_cmp(&key(b))
            .then_with(|| merchants.get(a).id().cmp(merchants.get(b).id()))
    });
    let mut open = tree;
    let mut outlet_of = vec![None; n];
    for s in order {
        let Some((want, _)) = first[s as usize] else {
            continue;
        };
        let chosen = if load[want as usize] < cap {
            Some(want)
        } else {
            let p = unit(merchants.locations()[s as usize]);
            open.nearest_neighbor(p).map(|o| o.data)
        };
        let Some(o) = chosen else { continue };
        load[o as usize] += 1;
        outlet_of[s as usize] = Some(o);
        if load[o as usize] == cap {
            let at = index.outlets.item(o).location;
            open.remove(&GeomWithData::new(unit(at), o));
        }
    }
    Territories { outlet_of, load }
}

/// Runs `f` over the merchant slots on all cores, in order of slot.
fn per_merchant<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = if n < 10_000 {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .clamp(1, 8)
    };
    let per = n.div_ceil(threads.max(1));
    if threads == 1 {
        return (0..n).map(f).collect();
    }
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || (t * per..((t + 1) * per).min(n)).map(f).collect::<Vec<T>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The nearest of our outlets per merchant, with the straight distance in metres.
fn first_nearest(index: &SpatialIndex, tree: &RTree<OutletPoint>) -> Vec<Option<(u32, f64)>> {
    let merchants = index.merchants.table();
    per_merchant(merchants.len(), |s| {
        let p = unit(merchants.locations()[s]);
        tree.nearest_neighbor_iter_with_distance_2(p)
            .next()
            .map(|(o, d2)| (o.data, metres(d2)))
    })
}

/// The outlet of highest Huff probability per merchant, with its straight distance.
fn first_huff(
    index: &SpatialIndex,
    params: &ScoringParams,
    tree: &RTree<OutletPoint>,
) -> Vec<Option<(u32, f64)>> {
    // ln A per outlet slot (competitors never chosen, so left at 0).
    let ln_a: Vec<f64> = index
        .outlets
        .items()
        .iter()
        .map(|o| {
            if !o.is_ours() {
                return 0.0;
            }
            let mut signed = 0usize;
            index
                .merchants
                .for_each_within_radius(o.location, ESTABLISHED_RADIUS_M, |slot, _| {
                    if matches!(
                        index.merchants.item(slot).status(),
                        PipelineStatus::Signed | PipelineStatus::Active
                    ) {
                        signed += 1;
                    }
                });
            (1.0 + signed as f64).ln()
        })
        .collect();
    let max_ln_a = tree
        .iter()
        .map(|o| ln_a[o.data as usize])
        .fold(0.0, f64::max);
    let merchants = index.merchants.table();
    let detour = params.detour_factor;
    let min_d = params.min_distance_m;
    per_merchant(merchants.len(), |s| {
        let m = merchants.get(s as u32);
        let c = params.category(m.category());
        let p = unit(m.location());
        // ln of the Huff numerator A^α (d·detour)^−β; the denominator is the same for every
        // outlet, so the highest numerator has the highest probability. Outlets come nearest
        // first, so the bound α·max ln A − β ln d only falls: stop once it cannot beat the best
        // (a tie keeps the nearer outlet).
        let mut best: Option<(u32, f64, f64)> = None;
        for (o, d2) in tree.nearest_neighbor_iter_with_distance_2(p) {
            let d = metres(d2);
            let ln_d = (d * detour).max(min_d).ln();
            if let Some((_, _, b)) = best {
                if c.alpha * max_ln_a - c.beta * ln_d <= b {
                    break;
                }
            }
            let v = c.alpha * ln_a[o.data as usize] - c.beta * ln_d;
            if best.is_none_or(|(_, _, b)| v > b) {
                best = Some((o.data, d, v));
            }
        }
        best.map(|(o, d, _)| (o, d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::{generate, GenConfig};

    fn city(merchants: usize, ours: usize, competitors: usize) -> SpatialIndex {
        SpatialIndex::build(generate(&GenConfig {
            merchants,
            outlets_ours: ours,
            outlets_competitors: competitors,
            ..Default::default()
        }))
    }

    fn check_every_merchant_has_one_of_ours(index: &SpatialIndex, t: &Territories) {
        assert_eq!(t.outlet_of.len(), index.merchants.len());
        assert_eq!(t.load.len(), index.outlets.len());
        let mut count = vec![0usize; index.outlets.len()];
        for o in &t.outlet_of {
            let o = o.expect("every merchant assigned");
            assert!(index.outlets.item(o).is_ours());
            count[o as usize] += 1;
        }
        assert_eq!(count, t.load);
    }

    #[test]
    fn nearest_gives_every_merchant_its_nearest_outlet_of_ours() {
        let index = city(3_000, 6, 4);
        let p = ScoringParams::builtin().unwrap();
        let t = assign(&index, &p, TerritoryMethod::Nearest, None);
        check_every_merchant_has_one_of_ours(&index, &t);
        for (slot, m) in index.merchants.iter().map(|(s, m)| (s as usize, m)) {
            let got = t.outlet_of[slot].unwrap();
            let d = m.location().distance_m(&index.outlets.item(got).location);
            for o in index.outlets.items().iter().filter(|o| o.is_ours()) {
                assert!(d <= m.location().distance_m(&o.location) + 1e-6);
            }
        }
    }

    #[test]
    fn huff_assigns_to_ours_and_prefers_established_outlets() {
        let index = city(3_000, 6, 4);
        let p = ScoringParams::builtin().unwrap();
        let t = assign(&index, &p, TerritoryMethod::Huff, None);
        check_every_merchant_has_one_of_ours(&index, &t);
        let nearest = assign(&index, &p, TerritoryMethod::Nearest, None);
        // Brute force: the highest A^α d^−β over our outlets.
        let mut differs = 0;
        for (slot, m) in index.merchants.iter().map(|(s, m)| (s as usize, m)) {
            let c = p.category(m.category());
            let num = |o: u32| {
                let out = index.outlets.item(o);
                let mut signed = 0.0;
                for h in index
                    .merchants
                    .within_radius(out.location, ESTABLISHED_RADIUS_M)
                {
                    if matches!(
                        index.merchants.item(h.slot).status(),
                        PipelineStatus::Signed | PipelineStatus::Active
                    ) {
                        signed += 1.0;
                    }
                }
                let d = (m.location().distance_m(&out.location) * p.detour_factor)
                    .max(p.min_distance_m);
                (1.0f64 + signed).powf(c.alpha) * d.powf(-c.beta)
            };
            let got = t.outlet_of[slot].unwrap();
            let best = (0..index.outlets.len() as u32)
                .filter(|&o| index.outlets.item(o).is_ours())
                .map(num)
                .fold(0.0, f64::max);
            assert!(num(got) >= best * (1.0 - 1e-9), "{}", m.id());
            if Some(got) != nearest.outlet_of[slot] {
                differs += 1;
            }
        }
        assert!(differs > 0, "Huff should differ from nearest somewhere");
    }

    #[test]
    fn balanced_loads_respect_the_cap() {
        let index = city(3_000, 6, 4);
        let p = ScoringParams::builtin().unwrap();
        for method in [TerritoryMethod::Nearest, TerritoryMethod::Huff] {
            let free = assign(&index, &p, method, None);
            let mean = index.merchants.len() as f64 / 6.0;
            assert!(
                free.load.iter().any(|&l| l as f64 > 1.2 * mean),
                "{:?}",
                free.load
            );
            for f in [1.0, 1.2, 1.5, 0.5] {
                let t = assign(&index, &p, method, Some(f));
                check_every_merchant_has_one_of_ours(&index, &t);
                let cap = (f.max(1.0) * mean).ceil() as usize;
                assert!(
                    t.load.iter().all(|&l| l <= cap),
                    "{f}: {:?} cap {cap}",
                    t.load
                );
                // Deterministic.
                let again = assign(&index, &p, method, Some(f));
                assert_eq!(again.outlet_of, t.outlet_of);
            }
        }
    }

    #[test]
    fn no_outlet_of_ours_assigns_nothing() {
        let index = city(200, 0, 3);
        let p = ScoringParams::builtin().unwrap();
        let t = assign(&index, &p, TerritoryMethod::Nearest, Some(1.2));
        assert!(t.outlet_of.iter().all(Option::is_none));
        assert_eq!(t.load, vec![0; 3]);
    }
}
