//! A campaign's plan, computed from its spec and the data of the moment: the target area, the
//! B side (merchants in the area by category, with status and priority, and the recommended set
//! to enrol, `cover`), the C side (communities in reach: households, residents, penetration,
//! coverage, seed communities), the calendar (`calendar`), the estimates (`estimate`) and the
//! cross-marketing suggestions (`cross`).
//!
//! **The target.** A stored area or a drawn polygon: its merchants are those inside; its
//! communities those inside or within a 10-minute walk of the outline (`community_circle_m`,
//! the same reach the coverage goal uses: a community whose own 10-minute circle reaches into
//! the street). An outlet's life circle (5/10/15 minutes): merchants and communities inside it.
//!
//! **Seed communities** (where a referral drive starts): communities in reach with bank
//! customers, ranked by `customers × (1 − penetration) × (1 if covered once the recommended
//! merchants are enrolled, else ½)` — seeds need existing users to invite, neighbours who are
//! not users yet, and merchants nearby where the offer can be used. The top three, unless the
//! team chose its own. Without any customer data, the three largest communities.

use crate::index::MerchantRef;
use std::collections::{BTreeMap, HashMap, HashSet};

use geo::orient::{Direction, Orient};
use geo::GeodesicArea;
use serde::Serialize;

use super::calendar::{self, MonthEdit, MonthPlan};
use super::cover::{self, CoverGoal, CoverPlan, Rules};
use super::cross::{self, CrossTable, Suggestion};
use super::estimate::{self, Assumptions, Budget, Defaults, Estimate, Population};
use super::spec::{CampaignSpec, Target};
use crate::coverage::survey::{in_reach, nearest_ours, outline_samples};
use crate::coverage::{is_signed, straight_m, CoverageParams, DISTANCE_MODEL};
use crate::domain::{Community, FieldError, ValidPolygon};
use crate::index::SpatialIndex;
use crate::scoring::{priority, MerchantStats, ScoringParams, Weights};

/// Most merchants listed on the B side (the counts cover all of them).
pub const MAX_LISTED: usize = 2_000;
/// Seed communities proposed.
pub const SEEDS: usize = 3;

/// What a plan is computed from, besides the spec.
pub struct PlanContext<'a> {
    pub index: &'a SpatialIndex,
    pub stats: &'a MerchantStats,
    pub scoring: &'a ScoringParams,
    pub weights: &'a Weights,
    pub coverage: &'a CoverageParams,
    pub defaults: &'a Defaults,
    pub cross: &'a CrossTable,
    /// Merchants the caller may see (scope).
    pub keep: &'a dyn Fn(MerchantRef<'_>) -> bool,
    pub keep_community: &'a dyn Fn(&Community) -> bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetView {
    pub kind: &'static str,
    /// The area's or outlet's id.
    pub id: Option<String>,
    pub name: String,
    /// The outline (WGS-84 rings; a 64-gon for a circle).
    pub outline: Vec<Vec<[f64; 2]>>,
    pub area_m2: f64,
    /// Walking metres within which communities are in reach of the outline (0 for a circle).
    pub reach_walking_m: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BMerchant {
    #[serde(skip)]
    pub slot: u32,
    pub id: String,
    pub name: String,
    pub category: String,
    pub status: &'static str,
    /// Priority score against the nearest of our outlets; `None` for merchants not to win
    /// (signed, active, rejected in cool-down).
    pub priority: Option<f64>,
    pub nearest_outlet_id: Option<String>,
    pub distance_m: Option<f64>,
    /// Its place in the recommended enrolment order.
    pub recommended: Option<u32>,
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BCategory {
    pub code: String,
    pub merchants: usize,
    pub signed: usize,
    pub prospects: usize,
    pub recommended: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BSide {
    pub merchants: usize,
    pub signed: usize,
    pub by_category: Vec<BCategory>,
    /// By category (most merchants first), then recommended order, then priority.
    pub list: Vec<BMerchant>,
    pub truncated: bool,
    pub cover: CoverPlan,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CCommunity {
    #[serde(skip)]
    pub slot: u32,
    pub id: String,
    pub name: String,
    pub households: u32,
    pub residents: f64,
    /// Residents estimated from households (no population figure).
    pub residents_estimated: bool,
    pub bank_customers: u32,
    /// `bank_customers / residents`.
    pub penetration: f64,
    /// `residents − bank_customers`.
    pub reachable: f64,
    /// Straight line to the target's outline (0 inside).
    pub distance_m: f64,
    pub covered_now: bool,
    pub covered_after: bool,
    pub seed: bool,
    pub seed_score: f64,
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CSide {
    pub communities: Vec<CCommunity>,
    pub households: u64,
    pub residents: f64,
    pub existing_users: f64,
    pub reachable: f64,
    pub penetration: f64,
    pub covered_households_now: u64,
    pub covered_households_after: u64,
    pub seeds: Vec<String>,
    /// Chosen by the team or proposed by the rule.
    pub seeds_chosen: bool,
    pub seed_rule_zh: &'static str,
    pub seed_rule_en: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignPlan {
    pub distance: &'static str,
    pub target: TargetView,
    pub b_side: BSide,
    pub c_side: CSide,
    pub calendar: Vec<MonthPlan>,
    pub assumptions: Assumptions,
    pub population: Population,
    pub budget: Budget,
    /// Low, base, high.
    pub estimates: Vec<Estimate>,
    pub cross: Vec<CrossPair>,
}

/// A suggested joint offer between two merchants (`cross::suggest`), with their positions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossPair {
    #[serde(flatten)]
    pub suggestion: Suggestion,
    pub a_lonlat: [f64; 2],
    pub b_lonlat: [f64; 2],
}

/// Most cross-marketing suggestions in a plan.
pub const CROSS_LIMIT: usize = 20;

/// A target's merchants (slots, kept), communities in reach (slot, distance, kept) and view.
type Resolved = (Vec<u32>, Vec<(u32, f64)>, TargetView);

fn resolve(ctx: &PlanContext<'_>, target: &Target) -> Result<Resolved, FieldError> {
    let index = ctx.index;
    let detour = ctx.scoring.detour_factor;
    let polygon_target = |polygon: &ValidPolygon, id: Option<String>, name: String| {
        let reach_walking_m = ctx.coverage.community_circle_m;
        let reach = straight_m(reach_walking_m, detour);
        let merchants: Vec<u32> = index
            .merchants
            .in_polygon(polygon)
            .into_iter()
            .filter(|&s| (ctx.keep)(index.merchants.item(s)))
            .collect();
        let samples = outline_samples(polygon, reach / 4.0);
        let communities: Vec<(u32, f64)> = in_reach(&index.communities, polygon, &samples, reach)
            .into_iter()
            .filter(|&(s, _)| (ctx.keep_community)(index.communities.item(s)))
            .collect();
        let view = TargetView {
            kind: "",
            id,
            name,
            outline: polygon.rings(),
            area_m2: polygon
                .as_geo()
                .orient(Direction::Default)
                .geodesic_area_unsigned(),
            reach_walking_m,
        };
        (merchants, communities, view)
    };
    let (m, c, mut view) = match target {
        Target::Area { area_id } => {
            let area = index
                .areas
                .iter()
                .find(|a| &a.id == area_id)
                .ok_or_else(|| FieldError::new("target.area_id", format!("no area {area_id:?}")))?;
            polygon_target(&area.polygon, Some(area.id.clone()), area.name.clone())
        }
        Target::Polygon { coordinates } => {
            let polygon = ValidPolygon::from_rings(coordinates)
                .map_err(|e| FieldError::new("target.coordinates", e.reason))?;
            polygon_target(&polygon, None, String::new())
        }
        Target::Outlet { outlet_id, minutes } => {
            let outlet = index.outlets.get(outlet_id).ok_or_else(|| {
                FieldError::new("target.outlet_id", format!("no outlet {outlet_id:?}"))
            })?;
            let circle = ctx
                .coverage
                .circles
                .iter()
                .find(|c| c.minutes == *minutes)
                .ok_or_else(|| {
                    FieldError::new("target.minutes", format!("no {minutes}-minute circle"))
                })?;
            let radius = circle.radius_m(detour);
            let mut merchants = Vec::new();
            index
                .merchants
                .for_each_within_radius(outlet.location, radius, |s, _| {
                    if (ctx.keep)(index.merchants.item(s)) {
                        merchants.push(s);
                    }
                });
            let mut communities = Vec::new();
            index
                .communities
                .for_each_within_radius(outlet.location, radius, |s, d| {
                    if (ctx.keep_community)(index.communities.item(s)) {
                        communities.push((s, d));
                    }
                });
            communities.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            merchants.sort_unstable();
            let view = TargetView {
                kind: "",
                id: Some(outlet.id.clone()),
                name: format!("{} {minutes}分钟生活圈", outlet.name),
                outline: vec![crate::geo::circle_ring(
                    [outlet.location.lon(), outlet.location.lat()],
                    radius,
                )],
                area_m2: std::f64::consts::PI * radius * radius,
                reach_walking_m: 0.0,
            };
            (merchants, communities, view)
        }
    };
    view.kind = target.kind();
    Ok((m, c, view))
}

/// Computes the plan of `spec` (validated by the caller).
pub fn build(ctx: &PlanContext<'_>, spec: &CampaignSpec) -> Result<CampaignPlan, FieldError> {
    let index = ctx.index;
    let (merchant_slots, community_hits, mut target) = resolve(ctx, &spec.target)?;
    if target.name.is_empty() {
        target.name = spec.name.clone();
    }
    let assumptions = spec.assumptions_over(&ctx.defaults.assumptions)?;

    // B side: every merchant in the target, scored against the nearest of our outlets.
    let mut listed: Vec<BMerchant> = merchant_slots
        .iter()
        .map(|&s| {
            let m = index.merchants.item(s);
            let near = nearest_ours(index, m.location());
            let d = near.map_or(f64::INFINITY, |(_, d)| d);
            let score =
                priority::score(index, ctx.stats, ctx.scoring, ctx.weights, s, d).map(|p| p.score);
            BMerchant {
                slot: s,
                id: m.id().to_string(),
                name: m.name().to_string(),
                category: m.category().to_string(),
                status: m.status().code(),
                priority: score,
                nearest_outlet_id: near.map(|(o, _)| index.outlets.item(o).id.clone()),
                distance_m: near.map(|(_, d)| d),
                recommended: None,
                lon: m.location().lon(),
                lat: m.location().lat(),
            }
        })
        .collect();
    let score_of: HashMap<u32, f64> = listed
        .iter()
        .filter_map(|b| b.priority.map(|p| (b.slot, p)))
        .collect();
    // Candidates to enrol: merchants in the target that are not signed and not excluded from
    // winning (rejected in cool-down).
    let candidates: Vec<u32> = merchant_slots
        .iter()
        .copied()
        .filter(|s| score_of.contains_key(s))
        .collect();
    let community_slots: Vec<u32> = community_hits.iter().map(|&(s, _)| s).collect();
    let goal = CoverGoal::from_params(ctx.coverage, ctx.scoring.detour_factor);
    let signed_in_scope = |m: MerchantRef<'_>| is_signed(m) && (ctx.keep)(m);
    let priority_of = |s: u32| score_of.get(&s).copied().unwrap_or(0.0);
    let rules = Rules {
        is_signed: &signed_in_scope,
        keep: ctx.keep,
        priority: &priority_of,
    };
    let cover_plan = cover::plan(index, &community_slots, &candidates, &goal, &rules);
    let order: HashMap<u32, u32> = cover_plan.picks.iter().map(|p| (p.slot, p.order)).collect();
    for b in &mut listed {
        b.recommended = order.get(&b.slot).copied();
    }
    let mut cats: BTreeMap<String, BCategory> = BTreeMap::new();
    let mut signed_total = 0;
    for b in &listed {
        let e = cats.entry(b.category.clone()).or_insert_with(|| BCategory {
            code: b.category.clone(),
            merchants: 0,
            signed: 0,
            prospects: 0,
            recommended: 0,
        });
        e.merchants += 1;
        if is_signed(index.merchants.item(b.slot)) {
            e.signed += 1;
            signed_total += 1;
        }
        if b.priority.is_some() {
            e.prospects += 1;
        }
        if b.recommended.is_some() {
            e.recommended += 1;
        }
    }
    let mut by_category: Vec<BCategory> = cats.into_values().collect();
    by_category.sort_by_key(|c| std::cmp::Reverse(c.merchants));
    let rank: HashMap<String, usize> = by_category
        .iter()
        .enumerate()
        .map(|(i, c)| (c.code.clone(), i))
        .collect();
    listed.sort_by(|a, b| {
        rank[&a.category]
            .cmp(&rank[&b.category])
            .then_with(|| {
                a.recommended
                    .unwrap_or(u32::MAX)
                    .cmp(&b.recommended.unwrap_or(u32::MAX))
            })
            .then_with(|| {
                b.priority
                    .unwrap_or(f64::NEG_INFINITY)
                    .total_cmp(&a.priority.unwrap_or(f64::NEG_INFINITY))
            })
            .then_with(|| a.id.cmp(&b.id))
    });
    let n_merchants = listed.len();
    let truncated = listed.len() > MAX_LISTED;
    listed.truncate(MAX_LISTED);

    // C side.
    let coverage_now = crate::coverage::community_coverage_of(
        index,
        ctx.coverage,
        ctx.scoring.detour_factor,
        ctx.keep,
        &community_slots,
    );
    let short_after: HashSet<u32> = cover_plan
        .uncoverable
        .iter()
        .map(|u| u.community_slot)
        .collect();
    let mut communities: Vec<CCommunity> = community_hits
        .iter()
        .zip(&coverage_now)
        .map(|(&(s, d), cov)| {
            let c = index.communities.item(s);
            let (residents, estimated) = match c.population {
                Some(p) if p > 0 => (f64::from(p), false),
                _ => (
                    f64::from(c.households) * assumptions.residents_per_household,
                    true,
                ),
            };
            let customers = c.bank_customers.unwrap_or(0);
            let users = f64::from(customers).min(residents);
            let penetration = if residents > 0.0 {
                users / residents
            } else {
                0.0
            };
            let covered_after = !short_after.contains(&s);
            CCommunity {
                slot: s,
                id: c.id.clone(),
                name: c.name.clone(),
                households: c.households,
                residents,
                residents_estimated: estimated,
                bank_customers: customers,
                penetration,
                reachable: residents - users,
                distance_m: d,
                covered_now: cov.covered,
                covered_after,
                seed: false,
                seed_score: users * (1.0 - penetration) * if covered_after { 1.0 } else { 0.5 },
                lon: c.location.lon(),
                lat: c.location.lat(),
            }
        })
        .collect();
    let seeds_chosen = spec.seed_communities.is_some();
    let seeds: Vec<String> = match &spec.seed_communities {
        Some(ids) => {
            for (i, id) in ids.iter().enumerate() {
                if !communities.iter().any(|c| &c.id == id) {
                    return Err(FieldError::new(
                        format!("seed_communities[{i}]"),
                        format!("{id:?} is not a community in reach of the target"),
                    ));
                }
            }
            ids.clone()
        }
        None => {
            let mut order: Vec<&CCommunity> = communities.iter().collect();
            let any_customers = communities.iter().any(|c| c.bank_customers > 0);
            order.sort_by(|a, b| {
                let (ka, kb) = if any_customers {
                    (a.seed_score, b.seed_score)
                } else {
                    (f64::from(a.households), f64::from(b.households))
                };
                kb.total_cmp(&ka).then_with(|| a.id.cmp(&b.id))
            });
            order
                .into_iter()
                .filter(|c| !any_customers || c.bank_customers > 0)
                .take(SEEDS)
                .map(|c| c.id.clone())
                .collect()
        }
    };
    for c in &mut communities {
        c.seed = seeds.contains(&c.id);
    }
    let households: u64 = communities.iter().map(|c| u64::from(c.households)).sum();
    let residents: f64 = communities.iter().map(|c| c.residents).sum();
    let existing: f64 = communities
        .iter()
        .map(|c| f64::from(c.bank_customers).min(c.residents))
        .sum();
    let seed_customers: f64 = communities
        .iter()
        .filter(|c| c.seed)
        .map(|c| f64::from(c.bank_customers))
        .sum();
    let c_side = CSide {
        households,
        residents,
        existing_users: existing,
        reachable: residents - existing,
        penetration: if residents > 0.0 { existing / residents } else { 0.0 },
        covered_households_now: communities
            .iter()
            .filter(|c| c.covered_now)
            .map(|c| u64::from(c.households))
            .sum(),
        covered_households_after: communities
            .iter()
            .filter(|c| c.covered_after)
            .map(|c| u64::from(c.households))
            .sum(),
        seeds,
        seeds_chosen,
        seed_rule_zh: "有我行客户的小区，按 客户数 × (1 − 渗透率) × (补齐商户后已覆盖 ? 1 : ½) 排序取前三",
        seed_rule_en: "communities with bank customers, ranked by customers × (1 − penetration) × (covered once the recommended merchants are enrolled ? 1 : ½), top three",
        communities,
    };

    // Calendar.
    let weekday = match &spec.member_weekday {
        None => None,
        Some(w) => Some(calendar::parse_weekday(w).ok_or_else(|| {
            FieldError::new("member_weekday", format!("{w:?}: use mon…sun or 周一…周日"))
        })?),
    };
    let months = spec.months() as usize;
    let mut cal = calendar::propose(spec.start, months, &spec.types, weekday)?;
    let edits: Vec<MonthEdit> = spec
        .calendar
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let month = e
                .first_day()
                .ok_or_else(|| FieldError::new(format!("calendar[{i}].month"), "use YYYY-MM"))?;
            Ok(MonthEdit {
                month,
                activity: e.activity,
                theme_zh: e.theme_zh.clone(),
                theme_en: e.theme_en.clone(),
                member_weekday: None,
            })
        })
        .collect::<Result<_, FieldError>>()?;
    calendar::apply_edits(&mut cal, &edits).map_err(|e| {
        // `edits[i].x` → `calendar[i].x`: the spec's own field names.
        FieldError::new(e.field.replacen("edits", "calendar", 1), e.reason)
    })?;

    // Estimates.
    let population = Population {
        households: households as f64,
        residents,
        existing_users: existing,
        seeds: spec
            .seed_users
            .unwrap_or_else(|| estimate::seed_users(&assumptions, seed_customers)),
    };
    let budget = Budget {
        months: spec.months(),
        subsidy_budget_cny: spec.budget.total_cny,
    };
    let estimates = estimate::cases(&population, &assumptions, ctx.defaults, &budget);

    // Cross-marketing among the target's merchants (signed ones and the ones to win).
    let pairs = cross::suggest(
        index,
        &merchant_slots,
        ctx.cross,
        ctx.cross.max_walking_m,
        ctx.scoring.detour_factor,
        CROSS_LIMIT,
    );
    let lonlat = |slot: u32| {
        let l = index.merchants.item(slot).location();
        [l.lon(), l.lat()]
    };
    let cross: Vec<CrossPair> = pairs
        .into_iter()
        .map(|s| CrossPair {
            a_lonlat: lonlat(s.a_slot),
            b_lonlat: lonlat(s.b_slot),
            suggestion: s,
        })
        .collect();

    Ok(CampaignPlan {
        distance: DISTANCE_MODEL,
        target,
        b_side: BSide {
            merchants: n_merchants,
            signed: signed_total,
            by_category,
            list: listed,
            truncated,
            cover: cover_plan,
        },
        c_side,
        calendar: cal,
        assumptions,
        population,
        budget,
        estimates,
        cross,
    })
}
