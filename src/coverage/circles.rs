//! Life circles (生活圈) around a point: the 5-, 10- and 15-minute walks of GB 50180-2018, with
//! what each holds. One radius scan per layer at the largest circle feeds every circle: each
//! item goes to the smallest circle that holds it, and the counts are summed outwards, so the
//! circles are cumulative (the 10-minute circle includes the 5-minute one).

use std::collections::BTreeMap;

use serde::Serialize;

use super::params::CoverageParams;
use super::{is_signed, ratio, DISTANCE_MODEL};
use crate::domain::{Community, Location, Merchant, PipelineStatus};
use crate::index::SpatialIndex;

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
    /// The straight-line radius searched: `walking_m / detour`.
    pub radius_m: f64,
    /// Always [`DISTANCE_MODEL`].
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
/// `keep_community`, and the competitors' outlets. Walking metres become straight-line radii through `detour` (see the module docs).
pub fn life_circles(
    index: &SpatialIndex,
    at: Location,
    params: &CoverageParams,
    detour: f64,
    keep: &dyn Fn(&Merchant) -> bool,
    keep_community: &dyn Fn(&Community) -> bool,
) -> Vec<CircleSummary> {
    let radii: Vec<f64> = params.circles.iter().map(|c| c.radius_m(detour)).collect();
    let Some(&outer) = radii.last() else {
        return Vec::new();
    };
    let groups = index.merchants.groups();
    let mut rings = vec![
        Ring {
            by_group: vec![(0, 0); groups.len()],
            ..Ring::default()
        };
        radii.len()
    ];

    index
        .merchants
        .for_each_within_radius_grouped(at, outer, |slot, group, d| {
            let m = index.merchants.item(slot);
            if !keep(m) {
                return;
            }
            let Some(i) = ring_of(&radii, d, || m.location.distance_m(&at)) else {
                return;
            };
            let r = &mut rings[i];
            let signed = is_signed(m);
            r.merchants += 1;
            r.signed += usize::from(signed);
            r.competitor_signed += usize::from(m.competitor_signed.is_some());
            r.by_status[status_index(m.status)] += 1;
            if let Some(g) = r.by_group.get_mut(group as usize) {
                g.0 += 1;
                g.1 += usize::from(signed);
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
                rings[i].communities += 1;
                rings[i].households += u64::from(c.households);
            }
        });

    // Nearest first, so each circle's list is a prefix of the next one's.
    let competitors: Vec<(String, f64)> = index
        .outlets
        .within_radius(at, outer)
        .into_iter()
        .filter_map(|h| {
            let o = index.outlets.item(h.slot);
            (!o.is_ours()).then(|| (o.id.clone(), h.distance_m))
        })
        .collect();

    let mut acc = Ring {
        by_group: vec![(0, 0); groups.len()],
        ..Ring::default()
    };
    params
        .circles
        .iter()
        .zip(&radii)
        .zip(&rings)
        .map(|((circle, &radius_m), r)| {
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
                distance: DISTANCE_MODEL,
                merchants: acc.merchants,
                by_category: groups
                    .iter()
                    .zip(&acc.by_group)
                    .filter(|(_, &(total, _))| total > 0)
                    .map(|(code, &(total, signed))| (code.clone(), CategoryCount { total, signed }))
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
                    .filter(|(_, d)| *d <= radius_m)
                    .map(|(id, _)| id.clone())
                    .collect(),
                competitor_signed_merchants: acc.competitor_signed,
            }
        })
        .collect()
}
