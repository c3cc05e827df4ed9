//! Life circles (生活圈) around a point: the 5-, 10- and 15-minute walks of GB 50180-2018, with
//! what each holds. One radius scan per layer at the largest circle feeds every circle: each
//! item goes to the smallest circle that holds it, and the counts are summed outwards, so the
//! circles are cumulative (the 10-minute circle includes the 5-minute one).
//!
//! On a street network ([`life_circles_walked`] with [`Walking::Network`]) the circles are
//! isochrones: everything within the outer circle's walking metres in a straight line (walking
//! is never shorter) is measured on the streets in one search from the point, and goes to the
//! smallest circle whose walking metres it is within. A point off the network is measured as
//! straight line × detour on its own ([`crate::network`]); one with no way at all is in no
//! circle.

use crate::index::MerchantRef;
use std::collections::BTreeMap;

use serde::Serialize;

use super::params::CoverageParams;
use super::{is_signed, ratio, DISTANCE_MODEL};
use crate::domain::{Community, Location, PipelineStatus};
use crate::index::SpatialIndex;
use crate::network::{Walking, STREET_NETWORK};

/// Merchants of one category in a circle, and how many of them are signed (or active).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CategoryCount {
    pub total: usize,
    pub signed: usize,
}

/// What one life circle around a point holds (everything within it, inner circles included).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CircleSummary {
    pub minutes: u32,
    pub walking_m: f64,
    /// The straight-line radius searched: `walking_m / detour`; on a street network,
    /// `walking_m` (the isochrone lies within it).
    pub radius_m: f64,
    /// [`DISTANCE_MODEL`], or [`STREET_NETWORK`] when the circles were walked on the streets.
    pub distance: &'static str,
    /// Merchants that pass the caller's `keep`.
    pub merchants: usize,
    pub by_category: BTreeMap<String, CategoryCount>,
    /// Pipeline status code → merchants; every status appears, with 0 when none.
    pub by_status: BTreeMap<String, usize>,
    /// Signed or active.
    pub signed: usize,
    /// `signed / merchants`, 0 when there are none.
    pub signed_share: f64,
    /// Communities whose representative point lies inside.
    pub communities: usize,
    pub households: u64,
    /// Ids of competitors' outlets inside, nearest first.
    pub competitor_outlets: Vec<String>,
    /// Merchants signed with a competitor bank.
    pub competitor_signed_merchants: usize,
}

/// Below this gap (metres) between a reported distance and a circle's radius, the exact
/// haversine distance decides: the scan's chord distances agree with it to micrometres, so this
/// only guards against a point sitting on an inner circle's edge.
const EDGE_BAND_M: f64 = 1e-3;

/// The index of the smallest circle that holds distance `d` (`radii` ascending), or `None`.
/// `exact` recomputes the distance when `d` is within [`EDGE_BAND_M`] of a radius.
pub(crate) fn ring_of(radii: &[f64], d: f64, exact: impl Fn() -> f64) -> Option<usize> {
    let d = if radii.iter().any(|r| (d - r).abs() < EDGE_BAND_M) {
        exact()
    } else {
        d
    };
    radii.iter().position(|&r| d <= r)
}

fn status_index(s: PipelineStatus) -> usize {
    PipelineStatus::ALL
        .iter()
        .position(|&x| x == s)
        .unwrap_or(0)
}

#[derive(Clone, Default)]
struct Ring {
    merchants: usize,
    signed: usize,
    competitor_signed: usize,
    by_status: [usize; 7],
    /// By the merchant layer's group code: (total, signed).
    by_group: Vec<(usize, usize)>,
    communities: usize,
    households: u64,
}

/// The life circles of `params` around `at`, smallest first, counting the merchants that pass
/// `keep` (the caller's scope), the communities whose point is inside and that pass
/// `keep_community`, and the competitors' outlets. Walking metres become straight-line radii
/// through `detour` (see the module docs).
pub fn life_circles(
    index: &SpatialIndex,
    at: Location,
    params: &CoverageParams,
    detour: f64,
    keep: &dyn Fn(MerchantRef<'_>) -> bool,
    keep_community: &dyn Fn(&Community) -> bool,
) -> Vec<CircleSummary> {
    let radii: Vec<f64> = params.circles.iter().map(|c| c.radius_m(detour)).collect();
    let Some(&outer) = radii.last() else {
        return Vec::new();
    };
    let mut rings = Rings::new(index, radii.len());
    index
        .merchants
        .for_each_within_radius_grouped(at, outer, |slot, group, d| {
            let m = index.merchants.item(slot);
            if !keep(m) {
                return;
            }
            if let Some(i) = ring_of(&radii, d, || m.location().distance_m(&at)) {
                rings.merchant(i, m, group);
            }
        });
    index
        .communities
        .for_each_within_radius(at, outer, |slot, d| {
            let c = index.communities.item(slot);
            if !keep_community(c) {
                return;
            }
            if let Some(i) = ring_of(&radii, d, || c.location.distance_m(&at)) {
                rings.community(i, c);
            }
        });
    // Nearest first, so each circle's list is a prefix of the next one's.
    let competitors: Vec<(String, usize)> = index
        .outlets
        .within_radius(at, outer)
        .into_iter()
        .filter_map(|h| {
            let o = index.outlets.item(h.slot);
            let i = ring_of(&radii, h.distance_m, || o.location.distance_m(&at))?;
            (!o.is_ours()).then(|| (o.id.clone(), i))
        })
        .collect();
    rings.summaries(index, params, &radii, &competitors, DISTANCE_MODEL)
}

/// [`life_circles`] as `walking` measures: on a street network, walked from `at` on the
/// streets (see the module docs); otherwise exactly [`life_circles`].
pub fn life_circles_walked(
    index: &SpatialIndex,
    at: Location,
    params: &CoverageParams,
    walking: &Walking,
    keep: &dyn Fn(MerchantRef<'_>) -> bool,
    keep_community: &dyn Fn(&Community) -> bool,
) -> Vec<CircleSummary> {
    let Walking::Network(net) = walking else {
        return life_circles(index, at, params, walking.detour(), keep, keep_community);
    };
    let budgets: Vec<f64> = params.circles.iter().map(|c| c.walking_m).collect();
    let Some(&outer) = budgets.last() else {
        return Vec::new();
    };
    let mut merchants: Vec<(u32, u32)> = Vec::new();
    let mut locations: Vec<Location> = Vec::new();
    index
        .merchants
        .for_each_within_radius_grouped(at, outer, |slot, group, _| {
            let m = index.merchants.item(slot);
            if keep(m) {
                merchants.push((slot, group));
                locations.push(m.location());
            }
        });
    let mut communities: Vec<u32> = Vec::new();
    index
        .communities
        .for_each_within_radius(at, outer, |slot, _| {
            let c = index.communities.item(slot);
            if keep_community(c) {
                communities.push(slot);
                locations.push(c.location);
            }
        });
    let rivals: Vec<u32> = index
        .outlets
        .within_radius(at, outer)
        .into_iter()
        .map(|h| h.slot)
        .filter(|&s| !index.outlets.item(s).is_ours())
        .collect();
    locations.extend(rivals.iter().map(|&s| index.outlets.item(s).location));
    let walks = walking.distances(at, &locations);
    let model = if net.snap(at).is_some() {
        STREET_NETWORK
    } else {
        DISTANCE_MODEL
    };
    let ring = |k: usize| -> Option<usize> {
        let w = walks.get(k)?.metres;
        budgets.iter().position(|&b| w <= b)
    };
    let mut rings = Rings::new(index, budgets.len());
    for (k, &(slot, group)) in merchants.iter().enumerate() {
        if let Some(i) = ring(k) {
            rings.merchant(i, index.merchants.item(slot), group);
        }
    }
    let base = merchants.len();
    for (k, &slot) in communities.iter().enumerate() {
        if let Some(i) = ring(base + k) {
            rings.community(i, index.communities.item(slot));
        }
    }
    let base = base + communities.len();
    let mut competitors: Vec<(f64, String, usize)> = rivals
        .iter()
        .enumerate()
        .filter_map(|(k, &s)| {
            let i = ring(base + k)?;
            Some((walks[base + k].metres, index.outlets.item(s).id.clone(), i))
        })
        .collect();
    competitors.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let competitors: Vec<(String, usize)> =
        competitors.into_iter().map(|(_, id, i)| (id, i)).collect();
    rings.summaries(index, params, &budgets, &competitors, model)
}

/// Counts per circle (each item in the smallest circle that holds it), summed outwards at the
/// end.
struct Rings {
    rings: Vec<Ring>,
    groups: usize,
}

impl Rings {
    fn new(index: &SpatialIndex, n: usize) -> Self {
        let groups = index.merchants.groups().len();
        Self {
            rings: vec![
                Ring {
                    by_group: vec![(0, 0); groups],
                    ..Ring::default()
                };
                n
            ],
            groups,
        }
    }

    fn merchant(&mut self, i: usize, m: MerchantRef<'_>, group: u32) {
        let r = &mut self.rings[i];
        let signed = is_signed(m);
        r.merchants += 1;
        r.signed += usize::from(signed);
        r.competitor_signed += usize::from(m.competitor_signed().is_some());
        r.by_status[status_index(m.status())] += 1;
        if let Some(g) = r.by_group.get_mut(group as usize) {
            g.0 += 1;
            g.1 += usize::from(signed);
        }
    }

    fn community(&mut self, i: usize, c: &Community) {
        self.rings[i].communities += 1;
        self.rings[i].households += u64::from(c.households);
    }

    /// The cumulative summaries; `radii` are the straight radii searched, `competitors` the
    /// rival outlets nearest first with their circle.
    fn summaries(
        self,
        index: &SpatialIndex,
        params: &CoverageParams,
        radii: &[f64],
        competitors: &[(String, usize)],
        model: &'static str,
    ) -> Vec<CircleSummary> {
        let groups = index.merchants.groups();
        let mut acc = Ring {
            by_group: vec![(0, 0); self.groups],
            ..Ring::default()
        };
        params
            .circles
            .iter()
            .zip(radii)
            .zip(&self.rings)
            .enumerate()
            .map(|(i, ((circle, &radius_m), r))| {
                acc.merchants += r.merchants;
                acc.signed += r.signed;
                acc.competitor_signed += r.competitor_signed;
                acc.communities += r.communities;
                acc.households += r.households;
                for (a, b) in acc.by_status.iter_mut().zip(&r.by_status) {
                    *a += b;
                }
                for (a, b) in acc.by_group.iter_mut().zip(&r.by_group) {
                    a.0 += b.0;
                    a.1 += b.1;
                }
                CircleSummary {
                    minutes: circle.minutes,
                    walking_m: circle.walking_m,
                    radius_m,
                    distance: model,
                    merchants: acc.merchants,
                    by_category: groups
                        .iter()
                        .zip(&acc.by_group)
                        .filter(|(_, &(total, _))| total > 0)
                        .map(|(code, &(total, signed))| {
                            (code.clone(), CategoryCount { total, signed })
                        })
                        .collect(),
                    by_status: PipelineStatus::ALL
                        .iter()
                        .zip(&acc.by_status)
                        .map(|(s, &n)| (s.code().to_string(), n))
                        .collect(),
                    signed: acc.signed,
                    signed_share: ratio(acc.signed as f64, acc.merchants as f64),
                    communities: acc.communities,
                    households: acc.households,
                    competitor_outlets: competitors
                        .iter()
                        .filter(|(_, ci)| *ci <= i)
                        .map(|(id, _)| id.clone())
                        .collect(),
                    competitor_signed_merchants: acc.competitor_signed,
                }
            })
            .collect()
    }
}
