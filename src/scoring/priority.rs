//! The visit priority of a merchant for an outlet's staff: a weighted sum of eight factors, each
//! normalised to 0..=1, explained factor by factor (see [`crate::scoring`] for the formula).

use serde::Serialize;

use crate::domain::{AreaKind, Location, Merchant, PipelineStatus};
use crate::index::SpatialIndex;

use super::footfall::MerchantStats;
use super::params::{ScoringParams, Weights};

/// One term of the score: what was measured, its 0..=1 value, its weight and their product.
#[derive(Debug, Clone, Serialize)]
pub struct Factor {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// In the factor's own unit: the category weight, visits/day, CNY, walking metres,
    /// 1/0.7/0 for the area, 1/0 for flags, households.
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
    /// `distance_m × detour_factor`.
    pub walking_m: f64,
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
pub fn excluded(m: &Merchant, params: &ScoringParams) -> bool {
    excluded_on(m, params.cooldown_days, crate::domain::today())
}

/// [`excluded`] on a given day.
pub fn excluded_on(m: &Merchant, cooldown_days: u32, today: chrono::NaiveDate) -> bool {
    match m.status {
        PipelineStatus::Signed | PipelineStatus::Active => true,
        PipelineStatus::Rejected => m
            .status_since
            .is_none_or(|since| (today - since).num_days() < i64::from(cooldown_days)),
        _ => false,
    }
}

/// The raw and normalised values of the eight factors, in [`FACTORS`] order.
fn measure(
    m: &Merchant,
    slot: usize,
    stats: &MerchantStats,
    params: &ScoringParams,
    walking_m: f64,
) -> [(f64, f64); 8] {
    let category = params.category(&m.category).weight;
    let footfall = stats.footfall[slot];
    let spend = m.avg_spend_cny.unwrap_or(0.0);
    let agglomeration = match stats.area[slot] {
        Some(AreaKind::FoodStreet) => FOOD_STREET,
        Some(AreaKind::BusinessDistrict) => BUSINESS_DISTRICT,
        None => 0.0,
    };
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let ecny = flag(m.accepts_ecny);
    let competitor = flag(m.competitor_signed.is_some());
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
) -> Option<&'a Merchant> {
    let slot = merchant_slot as usize;
    if slot >= index.merchants.len() || slot >= stats.len() || distance_m.is_nan() {
        return None;
    }
    let m = index.merchants.item(merchant_slot);
    (!excluded(m, params)).then_some(m)
}

/// Scores the merchant in `merchant_slot` at `distance_m` (straight line) from an outlet.
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
    let m = scorable(index, stats, params, merchant_slot, distance_m)?;
    let slot = merchant_slot as usize;
    let distance_m = distance_m.max(0.0);
    let walking_m = distance_m * params.detour_factor;
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
        footfall_source: if stats.estimated[slot] {
            "estimated"
        } else {
            "observed"
        },
        factors,
    })
}

/// An outlet's ranked list: merchants within `radius_m` of `at` that pass `keep`, scored, best
/// first (ties by merchant id), at most `limit`.
#[allow(clippy::too_many_arguments)]
pub fn rank(
    index: &SpatialIndex,
    stats: &MerchantStats,
    params: &ScoringParams,
    weights: &Weights,
    at: Location,
    radius_m: f64,
    keep: &dyn Fn(&Merchant) -> bool,
    limit: usize,
) -> Vec<Priority> {
    if limit == 0 {
        return Vec::new();
    }
    // Score everything in the circle as a bare number first; only the kept few get the
    // explained factor list.
    let mut scored: Vec<(f64, u32, f64)> = Vec::new();
    index
        .merchants
        .for_each_within_radius(at, radius_m, |slot, d| {
            let Some(m) = scorable(index, stats, params, slot, d) else {
                return;
            };
            if !keep(m) {
                return;
            }
            let walking_m = d * params.detour_factor;
            let v = value(
                weights,
                &measure(m, slot as usize, stats, params, walking_m),
            );
            scored.push((v, slot, d));
        });
    let by_rank = |a: &(f64, u32, f64), b: &(f64, u32, f64)| {
        b.0.total_cmp(&a.0).then_with(|| {
            index
                .merchants
                .item(a.1)
                .id
                .cmp(&index.merchants.item(b.1).id)
        })
    };
    if scored.len() > limit {
        scored.select_nth_unstable_by(limit - 1, by_rank);
        scored.truncate(limit);
    }
    scored.sort_unstable_by(by_rank);
    scored
        .into_iter()
        .filter_map(|(_, slot, d)| score(index, stats, params, weights, slot, d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Dataset, Merchant};
    use crate::gen::{generate, GenConfig};
    use crate::scoring::footfall::{estimate, tests::merchant};

    fn params() -> ScoringParams {
        ScoringParams::builtin().unwrap()
    }

    fn leshan() -> (SpatialIndex, MerchantStats) {
        let index = SpatialIndex::build(generate(&GenConfig::default()));
        let stats = estimate(&index, &params());
        (index, stats)
    }

    #[test]
    fn contributions_sum_to_the_score_and_rank_agrees_with_score() {
        let (index, stats) = leshan();
        let p = params();
        let out = index.outlets.get("OUT01").unwrap().location;
        let list = rank(&index, &stats, &p, &p.weights, out, 1000.0, &|_| true, 50);
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
                    index.merchants.item(w[0].merchant_slot).id
                        < index.merchants.item(w[1].merchant_slot).id
                );
            }
        }
    }

    #[test]
    fn signed_active_and_recently_rejected_are_excluded() {
        let (index, stats) = leshan();
        let p = params();
        for status in PipelineStatus::ALL {
            for (slot, m) in index.merchants.items().iter().enumerate() {
                if m.status != status {
                    continue;
                }
                let s = score(&index, &stats, &p, &p.weights, slot as u32, 100.0);
                // Rejections depend on their date (see cooldown_tests); the rest do not.
                let out = match status {
                    PipelineStatus::Signed | PipelineStatus::Active => true,
                    PipelineStatus::Rejected => excluded(m, &p),
                    _ => false,
                };
                assert_eq!(s.is_none(), out, "{status:?} {}", m.id);
            }
        }
        assert!(score(&index, &stats, &p, &p.weights, u32::MAX, 100.0).is_none());
        let out = index.outlets.get("OUT01").unwrap().location;
        let list = rank(
            &index,
            &stats,
            &p,
            &p.weights,
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
            .items()
            .iter()
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
        let stats = estimate(&index, &p);
        let at = crate::domain::Location::new(103.76, 29.50).unwrap();
        let ids = |p: &ScoringParams| -> Vec<String> {
            rank(&index, &stats, p, &p.weights, at, 500.0, &|_| true, 10)
                .iter()
                .map(|pr| index.merchants.item(pr.merchant_slot).id.clone())
                .collect()
        };
        assert_eq!(ids(&p), ["A", "B"]);
        p.categories.get_mut("auto").unwrap().weight = 1.0;
        p.categories.get_mut("dining").unwrap().weight = 0.1;
        assert_eq!(ids(&p), ["B", "A"]);
        // With the category factor weighted 0 they tie and the id decides.
        let mut w = p.weights.clone();
        w.category = 0.0;
        let tied: Vec<String> = rank(&index, &stats, &p, &w, at, 500.0, &|_| true, 10)
            .iter()
            .map(|pr| index.merchants.item(pr.merchant_slot).id.clone())
            .collect();
        assert_eq!(tied, ["A", "B"]);
        // keep and limit.
        let only_b = rank(
            &index,
            &stats,
            &p,
            &p.weights,
            at,
            500.0,
            &|m| m.id == "B",
            10,
        );
        assert_eq!(only_b.len(), 1);
        assert_eq!(
            rank(&index, &stats, &p, &p.weights, at, 500.0, &|_| true, 1).len(),
            1
        );
    }

    #[test]
    fn leshan_out01_top_ten_are_mostly_on_the_food_street() {
        let (index, stats) = leshan();
        let p = params();
        let out = index.outlets.get("OUT01").unwrap().location;
        let top = rank(&index, &stats, &p, &p.weights, out, 500.0, &|_| true, 10);
        assert_eq!(top.len(), 10);
        let on_street = top
            .iter()
            .filter(|pr| stats.area[pr.merchant_slot as usize] == Some(AreaKind::FoodStreet))
            .count();
        assert!(on_street >= 7, "{on_street} of 10 on the food street");
        assert!(top.iter().all(|pr| !matches!(
            index.merchants.item(pr.merchant_slot).status,
            PipelineStatus::Signed | PipelineStatus::Active
        )));
    }
}

#[cfg(test)]
mod cooldown_tests {
    use super::*;
    use crate::domain::MerchantDraft;

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
            &merchant(PipelineStatus::Rejected, days_ago(10)),
            90,
            today
        ));
        assert!(excluded_on(
            &merchant(PipelineStatus::Rejected, days_ago(89)),
            90,
            today
        ));
        assert!(!excluded_on(
            &merchant(PipelineStatus::Rejected, days_ago(90)),
            90,
            today
        ));
        assert!(!excluded_on(
            &merchant(PipelineStatus::Rejected, days_ago(10)),
            7,
            today
        ));
        assert!(
            excluded_on(&merchant(PipelineStatus::Rejected, None), 90, today),
            "no date: wait"
        );
        assert!(excluded_on(
            &merchant(PipelineStatus::Signed, None),
            90,
            today
        ));
        assert!(!excluded_on(
            &merchant(PipelineStatus::Churned, None),
            90,
            today
        ));
    }
}
