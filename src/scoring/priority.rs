//! The visit priority of a merchant for an outlet's staff: a weighted sum of eight factors, each
//! normalised to 0..=1, explained factor by factor (see [`crate::scoring`] for the formula).
//!
//! # Walking distance
//!
//! The distance factor decays with the walking metres from the outlet. [`rank`] takes a
//! [`Walking`]: on the street network (one search from the outlet to every merchant in the
//! circle) when one is loaded, else straight line × detour factor; each [`Priority`] says which
//! measured its `walking_m` (`distance`: `"street_network"` or `"straight_line_x_detour"`, the
//! latter also for a merchant farther than `max_snap_m` from every street, which falls back on
//! its own). The circle itself is the straight `radius_m`, either way.
//!
//! A merchant the network has no way to (on another connected part of the streets, such as
//! across a river with no bridge in the data, or farther than `max_search_m`) is still a
//! merchant: it stays in the list, its `walking_m` is infinite — `null` in JSON — and its
//! distance factor is 0 (`exp(−∞) = 0`; nothing becomes NaN).
//!
//! [`score`] scores one merchant at a straight-line distance (× detour); [`score_walked`] at a
//! walking distance measured by the caller. Campaign plans, area surveys and coverage tiles
//! score with [`score`] (straight line), and say so.

use crate::index::MerchantRef;
use serde::{Serialize, Serializer};

use crate::domain::{AreaKind, Location, PipelineStatus};
use crate::index::SpatialIndex;
use crate::network::{Walk, Walking, STRAIGHT_LINE_X_DETOUR};

use super::footfall::MerchantStats;
use super::params::{ScoringParams, Weights};

/// One term of the score: what was measured, its 0..=1 value, its weight and their product.
#[derive(Debug, Clone, Serialize)]
pub struct Factor {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// In the factor's own unit: the category weight, visits/day, CNY, walking metres,
    /// 1/0.7/0 for the area, 1/0 for flags, households. Infinite walking metres (no way on the
    /// network) are `null` in JSON.
    #[serde(serialize_with = "finite_or_null")]
    pub raw: f64,
    pub normalised: f64,
    pub weight: f64,
    /// `weight × normalised`; the factors' contributions add up to the score.
    pub contribution: f64,
}

/// A scored merchant.
#[derive(Debug, Clone, Serialize)]
pub struct Priority {
    pub merchant_slot: u32,
    pub score: f64,
    /// Straight-line distance from the outlet (or the point ranked around).
    pub distance_m: f64,
    /// Walking metres from there: on the street network, or `distance_m × detour_factor`
    /// (`distance` says which). Infinite when the network has no way to the merchant (its
    /// distance factor is then 0); `null` in JSON.
    #[serde(serialize_with = "finite_or_null")]
    pub walking_m: f64,
    /// How `walking_m` was measured: `"street_network"` or `"straight_line_x_detour"`.
    pub distance: &'static str,
    /// `"observed"` or `"estimated"` (the Huff estimate of [`super::footfall::estimate`]).
    pub footfall_source: &'static str,
    pub factors: Vec<Factor>,
}

/// Code, Chinese and English names of the factors, in score order.
pub const FACTORS: [(&str, &str, &str); 8] = [
    ("category", "业态价值", "Category value"),
    ("footfall", "客流量", "Footfall"),
    ("avg_spend", "人均消费", "Average spend"),
    ("distance", "步行距离", "Walking distance"),
    (
        "agglomeration",
        "商圈集聚",
        "Food street / business district",
    ),
    ("ecny", "数字人民币", "Accepts e-CNY"),
    ("competitor_signed", "已签他行", "Signed with a competitor"),
    ("cside", "C端潜力", "Unbanked households in reach"),
];

/// Agglomeration factor of a merchant in a food street and in a business district.
pub const FOOD_STREET: f64 = 1.0;
pub const BUSINESS_DISTRICT: f64 = 0.7;

/// Whether the merchant is left off every list today: signed or active (already ours), or
/// rejected less than `cooldown_days` ago. A rejection without a date (`status_since`) counts
/// as recent: better to wait than to knock on a door that just closed. Churned merchants come
/// back as prospects worth winning back.
pub fn excluded(m: MerchantRef<'_>, params: &ScoringParams) -> bool {
    excluded_on(m, params.cooldown_days, crate::domain::today())
}

/// [`excluded`] on a given day.
pub fn excluded_on(m: MerchantRef<'_>, cooldown_days: u32, today: chrono::NaiveDate) -> bool {
    match m.status() {
        PipelineStatus::Signed | PipelineStatus::Active => true,
        PipelineStatus::Rejected => m
            .status_since()
            .is_none_or(|since| (today - since).num_days() < i64::from(cooldown_days)),
        _ => false,
    }
}

/// The raw and normalised values of the eight factors, in [`FACTORS`] order.
fn measure(
    m: MerchantRef<'_>,
    slot: usize,
    stats: &MerchantStats,
    params: &ScoringParams,
    walking_m: f64,
) -> [(f64, f64); 8] {
    let category = params.category(m.category()).weight;
    let footfall = stats.footfall[slot];
    let spend = m.avg_spend_cny().unwrap_or(0.0);
    let agglomeration = match stats.area[slot] {
        Some(AreaKind::FoodStreet) => FOOD_STREET,
        Some(AreaKind::BusinessDistrict) => BUSINESS_DISTRICT,
        None => 0.0,
    };
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let ecny = flag(m.accepts_ecny());
    let competitor = flag(m.competitor_signed().is_some());
    let cside = stats.cside[slot];
    [
        (category, category),
        (
            footfall,
            ((1.0 + footfall.max(0.0)).ln() / (1.0 + params.footfall_ref).ln()).min(1.0),
        ),
        (spend, (spend / params.spend_ref_cny).clamp(0.0, 1.0)),
        (walking_m, (-walking_m / params.distance_decay_m).exp()),
        (agglomeration, agglomeration),
        (ecny, ecny),
        (competitor, competitor),
        (cside, (cside / params.cside_ref_households).clamp(0.0, 1.0)),
    ]
}

/// The score as a plain number, with no factor list: Σ w·n in [`FACTORS`] order, the same
/// additions [`score`] makes, so both agree to the last bit.
fn value(w: &Weights, measured: &[(f64, f64); 8]) -> f64 {
    w.by_code()
        .iter()
        .zip(measured)
        .fold(0.0, |acc, (&(_, w), &(_, n))| acc + w * n)
}

/// The merchant in a slot if it can be scored: the slot exists in the index and the stats, the
/// distance is a number, and the merchant is not excluded.
fn scorable<'a>(
    index: &'a SpatialIndex,
    stats: &MerchantStats,
    params: &ScoringParams,
    merchant_slot: u32,
    distance_m: f64,
) -> Option<MerchantRef<'a>> {
    let slot = merchant_slot as usize;
    if slot >= index.merchants.len() || slot >= stats.len() || distance_m.is_nan() {
        return None;
    }
    let m = index.merchants.item(merchant_slot);
    (!excluded(m, params)).then_some(m)
}

/// A non-finite number (an infinite walk) as `null`, whatever the serializer does with it.
fn finite_or_null<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_none()
    }
}

/// Scores the merchant in `merchant_slot` at `distance_m` (straight line) from an outlet,
/// walking straight line × `detour_factor` ([`score_walked`] with that walk).
/// `None` when the merchant is excluded: signed, active, or rejected (rejections have no date
/// until visits exist, so a rejected merchant is treated as in cool-down); also for a slot
/// outside the index or the stats, or a NaN distance.
pub fn score(
    index: &SpatialIndex,
    stats: &MerchantStats,
    params: &ScoringParams,
    weights: &Weights,
    merchant_slot: u32,
    distance_m: f64,
) -> Option<Priority> {
    let walk = Walk {
        metres: distance_m.max(0.0) * params.detour_factor,
        model: STRAIGHT_LINE_X_DETOUR,
    };
    score_walked(
        index,
        stats,
        params,
        weights,
        merchant_slot,
        distance_m,
        walk,
    )
}

/// Scores the merchant in `merchant_slot` at `distance_m` (straight line) and `walk` (walking
/// metres and their model, e.g. from [`Walking::distance`]) from an outlet. `None` as for
/// [`score`], and for a NaN walk; an infinite walk (no way) has a distance factor of 0.
pub fn score_walked(
    index: &SpatialIndex,
    stats: &MerchantStats,
    params: &ScoringParams,
    weights: &Weights,
    merchant_slot: u32,
    distance_m: f64,
    walk: Walk,
) -> Option<Priority> {
    if walk.metres.is_nan() {
        return None;
    }
    let m = scorable(index, stats, params, merchant_slot, distance_m)?;
    let slot = merchant_slot as usize;
    let distance_m = distance_m.max(0.0);
    let walking_m = walk.metres.max(0.0);
    let measured = measure(m, slot, stats, params, walking_m);
    let factors: Vec<Factor> = FACTORS
        .iter()
        .zip(weights.by_code())
        .zip(measured)
        .map(
            |((&(code, zh, en), (_, weight)), (raw, normalised))| Factor {
                code,
                zh,
                en,
                raw,
                normalised,
                weight,
                contribution: weight * normalised,
            },
        )
        .collect();
    let score = factors.iter().fold(0.0, |acc, f| acc + f.contribution);
    Some(Priority {
        merchant_slot,
        score,
        distance_m,
        walking_m,
        distance: walk.model,
        footfall_source: if stats.estimated[slot] {
            "estimated"
        } else {
            "observed"
        },
        factors,
    })
}

/// An outlet's ranked list: merchants within `radius_m` (straight line) of `at` that pass
/// `keep`, scored with walking distances as `walking` walks them (one search from `at` on a
/// network), best first (ties by merchant id), at most `limit`.
#[allow(clippy::too_many_arguments)]
pub fn rank(
    index: &SpatialIndex,
    stats: &MerchantStats,
    params: &ScoringParams,
    weights: &Weights,
    walking: &Walking,
    at: Location,
    radius_m: f64,
    keep: &dyn Fn(MerchantRef<'_>) -> bool,
    limit: usize,
) -> Vec<Priority> {
    if limit == 0 {
        return Vec::new();
    }
    // Score everything in the circle as a bare number first; only the kept few get the
    // explained factor list. Entries: (value, slot, straight metres, index into `walks`).
    let valued = |m: MerchantRef<'_>, slot: u32, walking_m: f64| {
        value(
            weights,
            &measure(m, slot as usize, stats, params, walking_m.max(0.0)),
        )
    };
    let mut scored: Vec<(f64, u32, f64, u32)> = Vec::new();
    let mut walks: Vec<Walk> = Vec::new();
    match walking {
        // Straight line × detour: in the one pass over the circle, as the walk costs nothing.
        Walking::Straight { detour } => {
            index
                .merchants
                .for_each_within_radius(at, radius_m, |slot, d| {
                    let Some(m) = scorable(index, stats, params, slot, d) else {
                        return;
                    };
                    if !keep(m) {
                        return;
                    }
                    scored.push((valued(m, slot, d * detour), slot, d, 0));
                })
        }
        // On the network: the circle's merchants first, then one search to all of them.
        Walking::Network(_) => {
            let mut found: Vec<(u32, f64)> = Vec::new();
            index
                .merchants
                .for_each_within_radius(at, radius_m, |slot, d| {
                    if scorable(index, stats, params, slot, d).is_some_and(keep) {
                        found.push((slot, d));
                    }
                });
            let to: Vec<Location> = found
                .iter()
                .map(|&(slot, _)| index.merchants.item(slot).location())
                .collect();
            walks = walking.distances(at, &to);
            scored = found
                .iter()
                .zip(&walks)
                .enumerate()
                .filter(|(_, (_, w))| !w.metres.is_nan())
                .map(|(k, (&(slot, d), w))| {
                    let m = index.merchants.item(slot);
                    (valued(m, slot, w.metres), slot, d, k as u32)
                })
                .collect();
        }
    }
    let by_rank = |a: &(f64, u32, f64, u32), b: &(f64, u32, f64, u32)| {
        b.0.total_cmp(&a.0).then_with(|| {
            index
                .merchants
                .item(a.1)
                .id()
                .cmp(index.merchants.item(b.1).id())
        })
    };
    if scored.len() > limit {
        scored.select_nth_unstable_by(limit - 1, by_rank);
        scored.truncate(limit);
    }
    scored.sort_unstable_by(by_rank);
    scored
        .into_iter()
        .filter_map(|(_, slot, d, k)| {
            let walk = match walking {
                Walking::Straight { detour } => Walk {
                    metres: d * detour,
                    model: STRAIGHT_LINE_X_DETOUR,
                },
                Walking::Network(_) => *walks.get(k as usize)?,
            };
            score_walked(index, stats, params, weights, slot, d, walk)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Dataset, Merchant};
    use crate::gen::{generate, GenConfig};
    use crate::network::Walk;
    use crate::scoring::footfall::{estimate, tests::merchant};

    fn params() -> ScoringParams {
        ScoringParams::builtin().unwrap()
    }

    /// Straight line × the builtin detour factor: no street network.
    fn straight() -> Walking {
        Walking::straight(params().detour_factor)
    }

    fn leshan() -> (SpatialIndex, MerchantStats) {
        let index = SpatialIndex::build(generate(&GenConfig::default()));
        let stats = estimate(&index, &params(), &straight());
        (index, stats)
    }

    #[test]
    fn contributions_sum_to_the_score_and_rank_agrees_with_score() {
        let (index, stats) = leshan();
        let p = params();
        let out = index.outlets.get("OUT01").unwrap().location;
        let list = rank(
            &index,
            &stats,
            &p,
            &p.weights,
            &straight(),
            out,
            1000.0,
            &|_| true,
            50,
        );
        assert_eq!(list.len(), 50);
        for pr in &list {
            let sum = pr.factors.iter().fold(0.0, |a, f| a + f.contribution);
            assert_eq!(sum, pr.score);
            assert_eq!(pr.factors.len(), 8);
            for f in &pr.factors {
                assert_eq!(f.contribution, f.weight * f.normalised);
                assert!((0.0..=1.0).contains(&f.normalised), "{f:?}");
            }
            let again = score(
                &index,
                &stats,
                &p,
                &p.weights,
                pr.merchant_slot,
                pr.distance_m,
            )
            .unwrap();
            assert_eq!(again.score, pr.score);
            assert_eq!(pr.walking_m, pr.distance_m * p.detour_factor);
        }
        for w in list.windows(2) {
            assert!(w[0].score >= w[1].score);
            if w[0].score == w[1].score {
                assert!(
                    index.merchants.item(w[0].merchant_slot).id()
                        < index.merchants.item(w[1].merchant_slot).id()
                );
            }
        }
    }

    #[test]
    fn signed_active_and_recently_rejected_are_excluded() {
        let (index, stats) = leshan();
        let p = params();
        for status in PipelineStatus::ALL {
            for (slot, m) in index.merchants.iter().map(|(s, m)| (s as usize, m)) {
                if m.status() != status {
                    continue;
                }
                let s = score(&index, &stats, &p, &p.weights, slot as u32, 100.0);
                // Rejections depend on their date (see cooldown_tests); the rest do not.
                let out = match status {
                    PipelineStatus::Signed | PipelineStatus::Active => true,
                    PipelineStatus::Rejected => excluded(m, &p),
                    _ => false,
                };
                assert_eq!(s.is_none(), out, "{status:?} {}", m.id());
            }
        }
        assert!(score(&index, &stats, &p, &p.weights, u32::MAX, 100.0).is_none());
        let out = index.outlets.get("OUT01").unwrap().location;
        let list = rank(
            &index,
            &stats,
            &p,
            &p.weights,
            &straight(),
            out,
            2000.0,
            &|_| true,
            10_000,
        );
        assert!(!list.is_empty());
        assert!(list
            .iter()
            .all(|pr| !excluded(index.merchants.item(pr.merchant_slot), &p)));
    }

    #[test]
    fn closer_scores_a_higher_distance_factor() {
        let (index, stats) = leshan();
        let p = params();
        let slot = index
            .merchants
            .iter()
            .map(|(_, m)| m)
            .position(|m| !excluded(m, &p))
            .unwrap() as u32;
        let near = score(&index, &stats, &p, &p.weights, slot, 50.0).unwrap();
        let far = score(&index, &stats, &p, &p.weights, slot, 800.0).unwrap();
        let dist = |pr: &Priority| {
            pr.factors
                .iter()
                .find(|f| f.code == "distance")
                .unwrap()
                .normalised
        };
        assert!(dist(&near) > dist(&far));
        assert!(near.score > far.score);
        // exp(−280 × 1.3 / 400)… at 215 m straight (≈ 280 m walking) the factor is about ½.
        let half = score(
            &index,
            &stats,
            &p,
            &p.weights,
            slot,
            400.0 * 2f64.ln() / 1.3,
        )
        .unwrap();
        assert!((dist(&half) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_category_weight_reorders_the_list() {
        // Two prospects alike but for their category, at the same distance.
        let ds = Dataset {
            merchants: [merchant("A", "dining", 100.0), merchant("B", "auto", 100.0)]
                .into_iter()
                .map(|d| Merchant::try_from(d).unwrap())
                .collect(),
            ..Default::default()
        };
        let index = SpatialIndex::build(ds);
        let mut p = params();
        let stats = estimate(&index, &p, &straight());
        let at = crate::domain::Location::new(103.76, 29.50).unwrap();
        let ids = |p: &ScoringParams| -> Vec<String> {
            rank(
                &index,
                &stats,
                p,
                &p.weights,
                &straight(),
                at,
                500.0,
                &|_| true,
                10,
            )
            .iter()
            .map(|pr| index.merchants.item(pr.merchant_slot).id().to_string())
            .collect()
        };
        assert_eq!(ids(&p), ["A", "B"]);
        p.categories.get_mut("auto").unwrap().weight = 1.0;
        p.categories.get_mut("dining").unwrap().weight = 0.1;
        assert_eq!(ids(&p), ["B", "A"]);
        // With the category factor weighted 0 they tie and the id decides.
        let mut w = p.weights.clone();
        w.category = 0.0;
        let tied: Vec<String> = rank(
            &index,
            &stats,
            &p,
            &w,
            &straight(),
            at,
            500.0,
            &|_| true,
            10,
        )
        .iter()
        .map(|pr| index.merchants.item(pr.merchant_slot).id().to_string())
        .collect();
        assert_eq!(tied, ["A", "B"]);
        // keep and limit.
        let only_b = rank(
            &index,
            &stats,
            &p,
            &p.weights,
            &straight(),
            at,
            500.0,
            &|m| m.id() == "B",
            10,
        );
        assert_eq!(only_b.len(), 1);
        assert_eq!(
            rank(
                &index,
                &stats,
                &p,
                &p.weights,
                &straight(),
                at,
                500.0,
                &|_| true,
                1
            )
            .len(),
            1
        );
    }

    #[test]
    fn leshan_out01_top_ten_are_mostly_on_the_food_street() {
        let (index, stats) = leshan();
        let p = params();
        let out = index.outlets.get("OUT01").unwrap().location;
        let top = rank(
            &index,
            &stats,
            &p,
            &p.weights,
            &straight(),
            out,
            500.0,
            &|_| true,
            10,
        );
        assert_eq!(top.len(), 10);
        let on_street = top
            .iter()
            .filter(|pr| stats.area[pr.merchant_slot as usize] == Some(AreaKind::FoodStreet))
            .count();
        assert!(on_street >= 7, "{on_street} of 10 on the food street");
        assert!(top.iter().all(|pr| !matches!(
            index.merchants.item(pr.merchant_slot).status(),
            PipelineStatus::Signed | PipelineStatus::Active
        )));
    }

    /// Prospects on the river network of the footfall tests (`footfall::tests::river_network`),
    /// all alike but for where they are, ranked around an outlet at W0 (0, 0) on the west bank:
    ///
    /// - ACROSS at E0 (150, 0): 150 m away in a straight line, 2,150 m on the streets (300 +
    ///   700 north, 150 over the bridge, 1,000 back south);
    /// - ALONG at W1 (0, 300): 300 m either way;
    /// - OFF at (−400, 150): 400 m from every street, so off the network (straight × 1.3);
    /// - ISLAND at (600, 100): on a street connected to nothing, so no way at all.
    fn river_prospects() -> (SpatialIndex, MerchantStats, Location) {
        use crate::scoring::footfall::tests::xy;
        let at = |id: &str, p: Location| {
            Merchant::try_from(crate::domain::MerchantDraft {
                lon: p.lon(),
                lat: p.lat(),
                ..merchant(id, "dining", 0.0)
            })
            .unwrap()
        };
        let index = SpatialIndex::build(Dataset {
            merchants: vec![
                at("ACROSS", xy(150.0, 0.0)),
                at("ALONG", xy(0.0, 300.0)),
                at("OFF", xy(-400.0, 150.0)),
                at("ISLAND", xy(600.0, 100.0)),
            ],
            ..Default::default()
        });
        let stats = estimate(&index, &params(), &straight());
        (index, stats, xy(0.0, 0.0))
    }

    fn by_id<'a>(index: &SpatialIndex, list: &'a [Priority], id: &str) -> &'a Priority {
        list.iter()
            .find(|pr| index.merchants.item(pr.merchant_slot).id() == id)
            .unwrap()
    }

    fn distance_factor(pr: &Priority) -> &Factor {
        pr.factors.iter().find(|f| f.code == "distance").unwrap()
    }

    #[test]
    fn across_the_river_ranks_lower_on_the_streets_than_in_a_straight_line() {
        use crate::network::{NetworkParams, STREET_NETWORK};
        use crate::scoring::footfall::tests::{river_network, river_walking, xy};
        let (index, stats, outlet) = river_prospects();
        let p = params();
        let ids = |list: &[Priority]| -> Vec<String> {
            list.iter()
                .map(|pr| index.merchants.item(pr.merchant_slot).id().to_string())
                .collect()
        };
        let all = |w: &Walking| {
            rank(
                &index,
                &stats,
                &p,
                &p.weights,
                w,
                outlet,
                1_000.0,
                &|_| true,
                10,
            )
        };

        let flat = all(&straight());
        assert_eq!(ids(&flat), ["ACROSS", "ALONG", "OFF", "ISLAND"]);
        assert!(flat.iter().all(|pr| pr.distance == STRAIGHT_LINE_X_DETOUR));

        let walked = all(&river_walking());
        // ACROSS falls from first to third: behind ALONG, and behind OFF, whose 427 m × 1.3
        // (555 m) is still shorter than the walk round by the bridge.
        assert_eq!(ids(&walked), ["ALONG", "OFF", "ACROSS", "ISLAND"]);

        // Its walking metres are the network's: by hand from the edge lengths, and as the
        // network's own search gives them.
        let across = by_id(&index, &walked, "ACROSS");
        assert_eq!(across.distance, STREET_NETWORK);
        assert!(
            (across.walking_m - 2_150.0).abs() < 0.01,
            "{}",
            across.walking_m
        );
        let own = river_network().distances(outlet, &[xy(150.0, 0.0)], &NetworkParams::default());
        assert_eq!(Some(across.walking_m), own[0]);
        assert!((across.distance_m - 150.0).abs() < 0.01);
        let f = distance_factor(across);
        assert_eq!(f.raw, across.walking_m);
        assert_eq!(f.normalised, (-across.walking_m / p.distance_decay_m).exp());
        assert!(f.normalised < distance_factor(by_id(&index, &flat, "ACROSS")).normalised);

        let along = by_id(&index, &walked, "ALONG");
        assert_eq!(along.distance, STREET_NETWORK);
        assert!(
            (along.walking_m - 300.0).abs() < 0.01,
            "{}",
            along.walking_m
        );

        // Off the network: straight line × detour, and it says so.
        let off = by_id(&index, &walked, "OFF");
        assert_eq!(off.distance, STRAIGHT_LINE_X_DETOUR);
        // (The fallback measures the haversine itself; the index's distance agrees to ~1e-9 m.)
        assert!((off.walking_m - off.distance_m * p.detour_factor).abs() < 1e-6);
        assert!(off.distance_m > 400.0);

        // No way at all: still listed, distance factor 0, nothing NaN, null in JSON.
        let island = by_id(&index, &walked, "ISLAND");
        assert_eq!(island.distance, STREET_NETWORK);
        assert_eq!(island.walking_m, f64::INFINITY);
        let f = distance_factor(island);
        assert_eq!((f.normalised, f.contribution), (0.0, 0.0));
        assert!(island.score.is_finite());
        assert!(walked
            .iter()
            .all(|pr| pr.factors.iter().all(|f| !f.contribution.is_nan())));
        let json = serde_json::to_value(island).unwrap();
        assert!(json["walking_m"].is_null(), "{json}");
        assert_eq!(json["distance"], "street_network");
        let raw = json["factors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "distance")
            .unwrap()["raw"]
            .clone();
        assert!(raw.is_null());
        let json = serde_json::to_value(across).unwrap();
        assert_eq!(json["walking_m"].as_f64(), Some(across.walking_m));

        // One merchant scored on its own with the same walk gives the ranked score exactly.
        for pr in &walked {
            let again = score_walked(
                &index,
                &stats,
                &p,
                &p.weights,
                pr.merchant_slot,
                pr.distance_m,
                Walk {
                    metres: pr.walking_m,
                    model: pr.distance,
                },
            )
            .unwrap();
            assert_eq!(again.score, pr.score);
            assert_eq!(again.distance, pr.distance);
        }
        // A NaN walk is not a score.
        let nan = Walk {
            metres: f64::NAN,
            model: STREET_NETWORK,
        };
        assert!(score_walked(&index, &stats, &p, &p.weights, 0, 10.0, nan).is_none());
    }
}

#[cfg(test)]
mod cooldown_tests {
    use super::*;
    use crate::domain::{Merchant, MerchantDraft};

    fn one(m: Merchant) -> crate::index::MerchantTable {
        crate::index::MerchantTable::from_merchants(vec![m])
    }

    fn merchant(status: PipelineStatus, since: Option<chrono::NaiveDate>) -> Merchant {
        Merchant::try_from(MerchantDraft {
            id: "m".into(),
            name: "店".into(),
            category: "dining".into(),
            lon: 103.76,
            lat: 29.57,
            status,
            status_since: since,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn a_rejection_cools_down_for_the_configured_days() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let days_ago = |n: i64| Some(today - chrono::Duration::days(n));
        assert!(excluded_on(
            one(merchant(PipelineStatus::Rejected, days_ago(10))).get(0),
            90,
            today
        ));
        assert!(excluded_on(
            one(merchant(PipelineStatus::Rejected, days_ago(89))).get(0),
            90,
            today
        ));
        assert!(!excluded_on(
            one(merchant(PipelineStatus::Rejected, days_ago(90))).get(0),
            90,
            today
        ));
        assert!(!excluded_on(
            one(merchant(PipelineStatus::Rejected, days_ago(10))).get(0),
            7,
            today
        ));
        assert!(
            excluded_on(
                one(merchant(PipelineStatus::Rejected, None)).get(0),
                90,
                today
            ),
            "no date: wait"
        );
        assert!(excluded_on(
            one(merchant(PipelineStatus::Signed, None)).get(0),
            90,
            today
        ));
        assert!(!excluded_on(
            one(merchant(PipelineStatus::Churned, None)).get(0),
            90,
            today
        ));
    }
}
