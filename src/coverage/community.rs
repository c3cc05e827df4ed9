//! Community coverage: a community is covered when its own 10-minute circle
//! (`community_circle_m` walking, around its representative point) holds at least `k` signed
//! (signed or active) merchants of each essential category. Covered households over all
//! households, around an outlet or over a set of communities (a branch's territories), is the
//! C-side coverage figure.
//!
//! One radius scan per community; the scan's group codes pick out the essential categories and
//! a per-slot flag (signed, in scope) computed once decides, so the scans never read a merchant. Communities are shared out among threads in contiguous
//! chunks, each returning its own rows, concatenated in slot order.

use crate::index::MerchantRef;
use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::params::CoverageParams;
use super::{is_signed, ratio};
use crate::domain::Location;
use crate::index::SpatialIndex;
use crate::network::Walking;

/// One community's coverage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommunityCoverage {
    pub community_id: String,
    pub households: u32,
    /// Every essential category has its `k` signed merchants.
    pub covered: bool,
    /// `(category, have, need)` for each essential category short of its `k`, in the order of
    /// the parameters.
    pub missing: Vec<(String, u32, u32)>,
}

/// Households and communities, covered and all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CoverageShare {
    pub households: u64,
    pub covered_households: u64,
    /// `covered_households / households`, 0 when there are none.
    pub share: f64,
    pub communities: usize,
    pub covered_communities: usize,
}

impl CoverageShare {
    fn add(&mut self, c: &CommunityCoverage) {
        let h = u64::from(c.households);
        self.households += h;
        self.communities += 1;
        if c.covered {
            self.covered_households += h;
            self.covered_communities += 1;
        }
    }

    fn finish(mut self) -> Self {
        self.share = ratio(self.covered_households as f64, self.households as f64);
        self
    }
}

/// The coverage of every community, in community slot order (row `i` is slot `i`), counting
/// only the merchants that pass `keep`.
pub fn community_coverage(
    index: &SpatialIndex,
    params: &CoverageParams,
    detour: f64,
    keep: &dyn Fn(MerchantRef<'_>) -> bool,
) -> Vec<CommunityCoverage> {
    let radius = super::straight_m(params.community_circle_m, detour);
    let layer = &index.merchants;
    let essential_of = essential_codes(index, params);
    // `keep` need not be Sync, so it is asked once per merchant here, before the threads: which
    // slots are signed merchants of an essential category in scope (one pass over the items,
    // a few milliseconds for a million, after which the scans read one byte per hit).
    let counted: Vec<bool> = layer
        .iter()
        .map(|(_, m)| m)
        .map(|m| {
            is_signed(m) && params.essential.iter().any(|(c, _)| *c == m.category()) && keep(m)
        })
        .collect();
    let counted = &counted;
    let is_counted = |m_slot: u32| counted.get(m_slot as usize).copied().unwrap_or(false);
    let one = |slot: usize, counts: &mut Vec<u32>| -> CommunityCoverage {
        coverage_at(
            index,
            params,
            radius,
            &essential_of,
            &is_counted,
            slot as u32,
            counts,
        )
    };
    let communities = index.communities.items();
    let run = |range: std::ops::Range<usize>| -> Vec<CommunityCoverage> {
        let mut counts = vec![0u32; params.essential.len()];
        range.map(|slot| one(slot, &mut counts)).collect()
    };

    let n = communities.len();
    let threads = if n < 512 {
        1
    } else {
        std::thread::available_parallelism()
            .map(|t| t.get())
            .unwrap_or(1)
            .min(n / 256)
            .max(1)
    };
    if threads == 1 {
        return run(0..n);
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * chunk).min(n)..((t + 1) * chunk).min(n);
                s.spawn(move || run(range))
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for h in handles {
            out.extend(
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        out
    })
}

/// Group code → position in `params.essential`.
fn essential_codes(index: &SpatialIndex, params: &CoverageParams) -> Vec<Option<usize>> {
    index
        .merchants
        .groups()
        .iter()
        .map(|g| params.essential.iter().position(|(c, _)| c == g))
        .collect()
}

/// One community's coverage: its 10-minute circle's signed merchants of each essential category
/// (`is_counted` says which merchant slots count), against the k each needs.
fn coverage_at(
    index: &SpatialIndex,
    params: &CoverageParams,
    radius: f64,
    essential_of: &[Option<usize>],
    is_counted: &dyn Fn(u32) -> bool,
    slot: u32,
    counts: &mut [u32],
) -> CommunityCoverage {
    let c = index.communities.item(slot);
    counts.iter_mut().for_each(|n| *n = 0);
    index
        .merchants
        .for_each_within_radius_grouped(c.location, radius, |m_slot, group, _| {
            let Some(Some(e)) = essential_of.get(group as usize) else {
                return;
            };
            if is_counted(m_slot) {
                counts[*e] += 1;
            }
        });
    row(c, params, counts)
}

/// A community's row from its counts of signed merchants per essential category.
fn row(c: &crate::domain::Community, params: &CoverageParams, counts: &[u32]) -> CommunityCoverage {
    let missing: Vec<(String, u32, u32)> = params
        .essential
        .iter()
        .zip(counts.iter())
        .filter(|((_, k), have)| **have < *k)
        .map(|((cat, k), &have)| (cat.clone(), have, *k))
        .collect();
    CommunityCoverage {
        community_id: c.id.clone(),
        households: c.households,
        covered: missing.is_empty(),
        missing,
    }
}

/// The coverage of the given community slots only (e.g. those around one outlet), asking `keep`
/// only about the merchants met: for a request about one place, without a pass over the city.
pub fn community_coverage_of(
    index: &SpatialIndex,
    params: &CoverageParams,
    detour: f64,
    keep: &dyn Fn(MerchantRef<'_>) -> bool,
    slots: &[u32],
) -> Vec<CommunityCoverage> {
    let radius = super::straight_m(params.community_circle_m, detour);
    let essential_of = essential_codes(index, params);
    let is_counted = |m_slot: u32| {
        let m = index.merchants.item(m_slot);
        is_signed(m) && keep(m)
    };
    let mut counts = vec![0u32; params.essential.len()];
    slots
        .iter()
        .map(|&slot| {
            coverage_at(
                index,
                params,
                radius,
                &essential_of,
                &is_counted,
                slot,
                &mut counts,
            )
        })
        .collect()
}

/// [`community_coverage_of`] as `walking` measures: on a street network, each community's
/// circle is walked on the streets from its point (the essential signed merchants within
/// `community_circle_m` in a straight line, measured in one search, counted when their walk is
/// within it); otherwise exactly [`community_coverage_of`].
pub fn community_coverage_of_walked(
    index: &SpatialIndex,
    params: &CoverageParams,
    walking: &Walking,
    keep: &dyn Fn(MerchantRef<'_>) -> bool,
    slots: &[u32],
) -> Vec<CommunityCoverage> {
    if let Walking::Straight { detour } = walking {
        return community_coverage_of(index, params, *detour, keep, slots);
    }
    let reach = params.community_circle_m;
    let essential_of = essential_codes(index, params);
    let mut counts = vec![0u32; params.essential.len()];
    slots
        .iter()
        .map(|&slot| {
            let c = index.communities.item(slot);
            let mut found: Vec<(usize, Location)> = Vec::new();
            index.merchants.for_each_within_radius_grouped(
                c.location,
                reach,
                |m_slot, group, _| {
                    let Some(Some(e)) = essential_of.get(group as usize) else {
                        return;
                    };
                    let m = index.merchants.item(m_slot);
                    if is_signed(m) && keep(m) {
                        found.push((*e, m.location()));
                    }
                },
            );
            let at: Vec<Location> = found.iter().map(|(_, l)| *l).collect();
            let walks = walking.distances(c.location, &at);
            counts.iter_mut().for_each(|n| *n = 0);
            for ((e, _), w) in found.iter().zip(&walks) {
                if w.metres <= reach {
                    counts[*e] += 1;
                }
            }
            row(c, params, &counts)
        })
        .collect()
}

/// The row of a community slot, from `coverage` as [`community_coverage`] returned it; when
/// the index changed since (the id at that position differs), found by id instead.
fn row_of<'a>(
    index: &SpatialIndex,
    coverage: &'a [CommunityCoverage],
    by_id: &mut Option<HashMap<&'a str, usize>>,
    slot: u32,
) -> Option<&'a CommunityCoverage> {
    let id = &index.communities.item(slot).id;
    match coverage.get(slot as usize) {
        Some(row) if row.community_id == *id => Some(row),
        _ => {
            let map = by_id.get_or_insert_with(|| {
                coverage
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r.community_id.as_str(), i))
                    .collect()
            });
            map.get(id.as_str()).map(|&i| &coverage[i])
        }
    }
}

/// Coverage of the communities whose point lies within `radius_m` (straight line) of `at`; for
/// an outlet, pass the 15-minute circle's radius (`params.outer_circle().radius_m(detour)`).
/// Communities missing from `coverage` are left out.
pub fn share_around(
    index: &SpatialIndex,
    coverage: &[CommunityCoverage],
    at: Location,
    radius_m: f64,
) -> CoverageShare {
    let mut share = CoverageShare::default();
    let mut by_id = None;
    index
        .communities
        .for_each_within_radius(at, radius_m, |slot, _| {
            if let Some(row) = row_of(index, coverage, &mut by_id, slot) {
                share.add(row);
            }
        });
    share.finish()
}

/// Coverage of the communities with these ids (e.g. those in a branch's outlets' territories).
pub fn share_of(coverage: &[CommunityCoverage], community_ids: &HashSet<&str>) -> CoverageShare {
    let mut share = CoverageShare::default();
    for row in coverage {
        if community_ids.contains(row.community_id.as_str()) {
            share.add(row);
        }
    }
    share.finish()
}
