//! One table of coverage figures for a set of outlets (a branch's), to sort and compare.
//!
//! Columns named `500m` are the 10-minute circle (`community_circle_m`, 500 m walking), columns
//! named `1km` the outermost circle (15 minutes, 1 km walking); both are searched as straight
//! lines of walking / detour (385 m and 769 m with the default 1.3).

use crate::index::MerchantRef;
use serde::Serialize;

use super::circles::life_circles;
use super::community::{share_around, CommunityCoverage};
use super::grid::grid;
use super::params::{straight_m, CoverageParams};
use super::{ratio, DISTANCE_MODEL};
use crate::domain::Community;
use crate::index::SpatialIndex;
use crate::scoring::MerchantStats;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutletRow {
    pub outlet_id: String,
    pub name: String,
    /// Always [`DISTANCE_MODEL`].
    pub distance: &'static str,
    pub merchants_500m: usize,
    pub signed_500m: usize,
    pub signed_share_500m: f64,
    pub merchants_1km: usize,
    pub signed_share_1km: f64,
    pub households_1km: u64,
    /// Covered households / households of the communities within the 1 km circle.
    pub covered_households_share: f64,
    /// White-space hexes (default resolution) among the hexes of the merchants and communities
    /// within the 1 km circle (a hex cut by the circle counts only its part inside).
    pub whitespace_hexes_1km: usize,
    pub competitor_outlets_1km: usize,
    /// Essential categories with no signed merchant within the 10-minute circle.
    pub gaps: Vec<String>,
}

/// One row per outlet slot of `outlets`, in the given order (slots outside the layer skipped).
/// The `1km` hexes' white space ignores priority (no scores are needed for the flag).
/// `coverage` is [`super::community_coverage`]'s result, or [`super::community_coverage_of`]'s
/// for the communities around these outlets.
#[allow(clippy::too_many_arguments)]
pub fn compare(
    index: &SpatialIndex,
    stats: &MerchantStats,
    coverage: &[CommunityCoverage],
    outlets: &[u32],
    params: &CoverageParams,
    detour: f64,
    keep: &dyn Fn(MerchantRef<'_>) -> bool,
    keep_community: &dyn Fn(&Community) -> bool,
) -> Vec<OutletRow> {
    // The circles this table needs: the 10-minute one and the outermost.
    let outer = params.outer_circle();
    let inner_walk = params.community_circle_m.min(outer.walking_m);
    let mut circles = vec![outer.clone()];
    if inner_walk < outer.walking_m {
        circles.insert(
            0,
            super::Circle {
                minutes: 10,
                walking_m: inner_walk,
            },
        );
    }
    let table_params = CoverageParams {
        circles,
        ..params.clone()
    };
    let outer_r = straight_m(outer.walking_m, detour);
    let resolution = params.default_resolution();

    outlets
        .iter()
        .filter(|&&s| (s as usize) < index.outlets.len())
        .filter_map(|&slot| {
            let o = index.outlets.item(slot);
            let at = o.location;
            let circles = life_circles(index, at, &table_params, detour, keep, keep_community);
            // Never empty: the table's parameters hold at least the outer circle.
            let (Some(inner), Some(outer_c)) = (circles.first(), circles.last()) else {
                return None;
            };
            let share = share_around(index, coverage, at, outer_r);
            let mut m_slots = Vec::new();
            index.merchants.for_each_within_radius(at, outer_r, |s, _| {
                if keep(index.merchants.item(s)) {
                    m_slots.push(s);
                }
            });
            let mut c_slots = Vec::new();
            index
                .communities
                .for_each_within_radius(at, outer_r, |s, _| {
                    if keep_community(index.communities.item(s)) {
                        c_slots.push(s);
                    }
                });
            let whitespace = grid(
                index,
                stats,
                &|_| 0.0,
                &m_slots,
                &c_slots,
                resolution,
                params,
            )
            .iter()
            .filter(|h| h.whitespace)
            .count();
            let gaps = params
                .essential
                .iter()
                .filter(|(cat, _)| inner.by_category.get(cat).is_none_or(|c| c.signed == 0))
                .map(|(cat, _)| cat.clone())
                .collect();
            Some(OutletRow {
                outlet_id: o.id.clone(),
                name: o.name.clone(),
                distance: DISTANCE_MODEL,
                merchants_500m: inner.merchants,
                signed_500m: inner.signed,
                signed_share_500m: ratio(inner.signed as f64, inner.merchants as f64),
                merchants_1km: outer_c.merchants,
                signed_share_1km: outer_c.signed_share,
                households_1km: outer_c.households,
                covered_households_share: share.share,
                whitespace_hexes_1km: whitespace,
                competitor_outlets_1km: outer_c.competitor_outlets.len(),
                gaps,
            })
        })
        .collect()
}
