//! Tests of the B-side recommended set: the abstract solver against brute force and its
//! guarantees, hand-built layouts whose answers are known, and whole plans checked from scratch
//! on the Leshan demo and a generated city.

use crate::domain::Merchant;
use crate::index::MerchantRef;
use std::collections::HashMap;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::coverage::is_prospect;
use crate::domain::{
    AreaKind, Community, CommunityDraft, Dataset, Location, MerchantDraft, PipelineStatus,
};
use crate::gen::{generate, GenConfig};

const LON: f64 = 103.76;
const LAT: f64 = 29.50;
const DETOUR: f64 = 1.3;

fn at(east_m: f64, north_m: f64) -> (f64, f64) {
    let r = crate::index::EARTH_RADIUS_M;
    (
        LON + (east_m / (r * LAT.to_radians().cos())).to_degrees(),
        LAT + (north_m / r).to_degrees(),
    )
}

fn merchant(id: &str, category: &str, east: f64, north: f64, status: PipelineStatus) -> Merchant {
    let (lon, lat) = at(east, north);
    Merchant::try_from(MerchantDraft {
        id: id.into(),
        name: format!("shop {id}"),
        category: category.into(),
        lon,
        lat,
        status,
        ..Default::default()
    })
    .unwrap()
}

fn community(id: &str, east: f64, north: f64) -> Community {
    let (lon, lat) = at(east, north);
    Community::try_from(CommunityDraft {
        id: id.into(),
        name: format!("compound {id}"),
        lon: Some(lon),
        lat: Some(lat),
        households: 500.0,
        ..Default::default()
    })
    .unwrap()
}

fn index_of(merchants: Vec<Merchant>, communities: Vec<Community>) -> SpatialIndex {
    SpatialIndex::build(Dataset {
        merchants,
        communities,
        ..Default::default()
    })
}

fn goal(essential: &[(&str, u32)]) -> CoverGoal {
    CoverGoal {
        essential: essential.iter().map(|(c, k)| (c.to_string(), *k)).collect(),
        reach_walking_m: 500.0,
        detour_factor: DETOUR,
    }
}

fn all_slots(n: usize) -> Vec<u32> {
    (0..n as u32).collect()
}

fn slot(index: &SpatialIndex, id: &str) -> u32 {
    index.merchants.slot_of(id).unwrap()
}

fn picked_ids(plan: &CoverPlan) -> Vec<&str> {
    let mut ids: Vec<&str> = plan.picks.iter().map(|p| p.merchant_id.as_str()).collect();
    ids.sort_unstable();
    ids
}

// ---------------------------------------------------------------------------------------------
// The abstract solver.

fn feasible(inst: &Instance, demand: &[u32], picks: &[usize]) -> bool {
    let mut count = vec![0u32; demand.len()];
    for &j in picks {
        for &i in &inst.sets[j] {
            count[i as usize] += 1;
        }
    }
    count.iter().zip(demand).all(|(c, d)| c >= d)
}

/// The fewest sets meeting the capped demand, over all subsets.
fn brute_force(inst: &Instance) -> usize {
    let demand = inst.capped();
    let n = inst.sets.len();
    assert!(n <= 20);
    let masks: Vec<u32> = (0..demand.len())
        .map(|i| {
            inst.sets
                .iter()
                .enumerate()
                .filter(|(_, s)| s.contains(&(i as u32)))
                .fold(0u32, |m, (j, _)| m | (1 << j))
        })
        .collect();
    (0u32..(1u32 << n))
        .filter(|&sel| {
            masks
                .iter()
                .zip(&demand)
                .all(|(m, &d)| (m & sel).count_ones() >= d)
        })
        .map(|sel| sel.count_ones() as usize)
        .min()
        .unwrap_or(0)
}

fn random_instance(rng: &mut ChaCha8Rng, sets: usize, elements: usize, p: f64) -> Instance {
    let sets: Vec<Vec<u32>> = (0..sets)
        .map(|_| {
            (0..elements as u32)
                .filter(|_| rng.random_bool(p))
                .collect()
        })
        .collect();
    Instance {
        demand: (0..elements).map(|_| rng.random_range(0..=3)).collect(),
        priority: (0..sets.len())
            .map(|_| rng.random_range(0..4) as f64)
            .collect(),
        sets,
    }
}

#[test]
fn solver_matches_brute_force_on_small_random_instances() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut greedy_worse = 0;
    for round in 0..400 {
        let n = rng.random_range(1..=14);
        let m = rng.random_range(1..=12);
        let p = rng.random_range(0.1..0.6);
        let inst = random_instance(&mut rng, n, m, p);
        let demand = inst.capped();
        let opt = brute_force(&inst);
        let sol = solve(&inst);
        assert!(feasible(&inst, &demand, &sol.picks), "round {round}");
        assert!(
            sol.optimal,
            "round {round}: {n} sets must be solved exactly"
        );
        assert_eq!(sol.picks.len(), opt, "round {round}");
        assert_eq!(sol.lower_bound, opt, "round {round}");
        assert!(lower_bound(&inst, &demand) <= opt, "round {round}");
        let g = reverse_delete(&inst, &demand, &greedy(&inst, &demand));
        let (lagrange, better) = lagrangian(&inst, &demand, &g);
        assert!(
            lagrange <= opt,
            "round {round}: Lagrangian bound {lagrange} above {opt}"
        );
        if let Some(b) = better {
            assert!(feasible(&inst, &demand, &b) && b.len() < g.len() && b.len() >= opt);
        }
        assert!(feasible(&inst, &demand, &g), "round {round}");
        let delta = inst
            .sets
            .iter()
            .map(|s| s.iter().filter(|&&i| demand[i as usize] > 0).count())
            .max()
            .unwrap_or(0);
        assert!(
            g.len() as f64 <= harmonic(delta) * opt as f64 + 1e-9,
            "round {round}: greedy {} against H({delta}) × {opt}",
            g.len()
        );
        if g.len() > opt {
            greedy_worse += 1;
        }
    }
    // The exact search is not idle: greedy alone misses the minimum on some of them.
    assert!(greedy_worse > 0);
}

#[test]
fn greedy_and_reverse_delete_stay_within_the_harmonic_bound_on_larger_instances() {
    // A planted solution: two partitions of the elements into groups, each group a set, so
    // that the planted sets cover every element twice and OPT ≤ planted; random noise sets on
    // top. Greedy + reverse delete must stay within H(Δ) · OPT ≤ H(Δ) · planted.
    let mut rng = ChaCha8Rng::seed_from_u64(80);
    let mut not_proven = 0;
    for round in 0..60 {
        let m = rng.random_range(20..=60);
        let g = rng.random_range(3..=8);
        let mut sets: Vec<Vec<u32>> = Vec::new();
        for _ in 0..2 {
            let mut order: Vec<u32> = (0..m as u32).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.random_range(0..=i));
            }
            for chunk in order.chunks(g) {
                let mut s = chunk.to_vec();
                s.sort_unstable();
                sets.push(s);
            }
        }
        let planted = sets.len();
        for _ in 0..rng.random_range(10..=60) {
            let size = rng.random_range(1..=g + 3);
            let mut s: Vec<u32> = (0..size).map(|_| rng.random_range(0..m as u32)).collect();
            s.sort_unstable();
            s.dedup();
            sets.push(s);
        }
        for i in (1..sets.len()).rev() {
            sets.swap(i, rng.random_range(0..=i));
        }
        let inst = Instance {
            demand: (0..m).map(|_| rng.random_range(1..=2)).collect(),
            priority: vec![0.0; sets.len()],
            sets,
        };
        let demand = inst.capped();
        let greedy_picks = greedy(&inst, &demand);
        let rd = reverse_delete(&inst, &demand, &greedy_picks);
        assert!(feasible(&inst, &demand, &rd));
        assert!(rd.len() <= greedy_picks.len());
        // Irredundant: no pick can go.
        for skip in 0..rd.len() {
            let without: Vec<usize> = rd
                .iter()
                .enumerate()
                .filter(|&(p, _)| p != skip)
                .map(|(_, &j)| j)
                .collect();
            assert!(!feasible(&inst, &demand, &without), "round {round}");
        }
        let delta = inst.sets.iter().map(Vec::len).max().unwrap_or(0);
        assert!(rd.len() as f64 <= harmonic(delta) * planted as f64 + 1e-9);
        let lb = lower_bound(&inst, &demand);
        assert!(
            lb <= planted,
            "round {round}: bound {lb} above a solution of {planted}"
        );
        let (lagrange, _) = lagrangian(&inst, &demand, &rd);
        assert!(
            lagrange <= planted,
            "round {round}: bound {lagrange} above {planted}"
        );
        let sol = solve(&inst);
        assert!(feasible(&inst, &demand, &sol.picks));
        assert!(sol.picks.len() <= rd.len());
        assert!(sol.lower_bound <= sol.picks.len());
        assert!(sol.lower_bound <= planted);
        if sol.optimal {
            assert_eq!(sol.lower_bound, sol.picks.len());
        } else {
            not_proven += 1;
            assert!(sol.guarantee >= 1.0 && sol.guarantee <= harmonic(delta) + 1e-12);
        }
    }
    // Some are too large to prove within the search budget: the bound is then all there is.
    eprintln!("{not_proven} of 60 not proven optimal");
    assert!(not_proven > 0);
}

#[test]
fn exact_search_beats_greedy_where_greedy_is_fooled() {
    // Greedy takes S1 (4 elements), then S2 and S3; reverse delete keeps all three (each holds
    // an element no other pick has). A and B alone cover everything.
    let (a, b) = ([0u32, 1, 2, 3], [4u32, 5, 6, 7]);
    let inst = Instance {
        demand: vec![1; 8],
        sets: vec![
            vec![a[0], a[1], b[0], b[1]], // S1
            vec![a[2], b[2]],             // S2
            vec![a[3], b[3]],             // S3
            a.to_vec(),                   // A
            b.to_vec(),                   // B
        ],
        priority: vec![0.0; 5],
    };
    let demand = inst.capped();
    assert_eq!(
        reverse_delete(&inst, &demand, &greedy(&inst, &demand)),
        vec![0, 1, 2]
    );
    let sol = solve(&inst);
    assert_eq!(sol.picks, vec![3, 4]);
    assert!(sol.optimal);
    assert_eq!(sol.lower_bound, 2);
}

#[test]
fn the_bound_counts_forced_sets_and_demands_beyond_the_sets_are_capped() {
    // Element 0 needs 3 and only 2 sets have it: capped to 2, both forced; element 1 needs 1
    // from sets 2 or 3.
    let inst = Instance {
        demand: vec![3, 1],
        sets: vec![vec![0], vec![0], vec![1], vec![1]],
        priority: vec![0.0; 4],
    };
    assert_eq!(inst.capped(), vec![2, 1]);
    assert_eq!(lower_bound(&inst, &inst.capped()), 3);
    let sol = solve(&inst);
    assert_eq!(sol.picks.len(), 3);
    assert!(sol.optimal);
    assert_eq!(sol.components, 2);
}

// ---------------------------------------------------------------------------------------------
// Plans on hand-built layouts.

#[test]
fn k_two_dining_is_a_multicover() {
    // A needs two dining merchants, B (600 m north, one signed already) one more. M1 in the
    // middle reaches both, M2 only A, M3 only B: M1 + M2 is the minimum.
    use PipelineStatus::*;
    let index = index_of(
        vec![
            merchant("M1", "dining", 0.0, 300.0, Prospect),
            merchant("M2", "dining", 0.0, -100.0, Prospect),
            merchant("M3", "dining", 0.0, 700.0, Interested),
            merchant("S1", "dining", 0.0, 650.0, Signed),
            merchant("R1", "retail", 0.0, 0.0, Prospect),
        ],
        vec![community("A", 0.0, 0.0), community("B", 0.0, 600.0)],
    );
    let g = goal(&[("dining", 2)]);
    let cands = all_slots(5);
    let plan = plan(&index, &[0, 1], &cands, &g, &Rules::default());
    check(&index, &[0, 1], &cands, &g, &Rules::default(), &plan).unwrap();
    assert_eq!(picked_ids(&plan), vec!["M1", "M2"]);
    assert_eq!(plan.picks[0].merchant_id, "M1");
    assert_eq!(plan.picks[0].gain, 2);
    assert_eq!(
        plan.picks[0].covers,
        vec![(0, "dining".to_string()), (1, "dining".to_string())]
    );
    assert_eq!(
        plan.candidates, 3,
        "signed and retail merchants are no candidates"
    );
    assert_eq!((plan.demands_total, plan.demands_met_before), (2, 0));
    assert_eq!(plan.demands_met_after, 2);
    assert_eq!((plan.units_needed, plan.units_coverable), (3, 3));
    assert!(plan.optimal);
    assert_eq!(plan.lower_bound, 2);
    assert_eq!(plan.within, 1.0);
    assert!(plan.uncoverable.is_empty());
}

#[test]
fn demands_without_enough_candidates_are_reported_and_get_all_there_is() {
    use PipelineStatus::*;
    let index = index_of(
        vec![
            merchant("D1", "dining", 100.0, 0.0, Prospect),
            merchant("H1", "health", 100.0, 0.0, Prospect),
            merchant("FAR", "supermarket", 3000.0, 0.0, Prospect),
        ],
        vec![community("A", 0.0, 0.0)],
    );
    let g = goal(&[("supermarket", 1), ("dining", 2), ("health", 1)]);
    let cands = all_slots(3);
    let plan = plan(&index, &[0], &cands, &g, &Rules::default());
    check(&index, &[0], &cands, &g, &Rules::default(), &plan).unwrap();
    assert_eq!(picked_ids(&plan), vec!["D1", "H1"]);
    let unc: Vec<(&str, u32, u32)> = plan
        .uncoverable
        .iter()
        .map(|u| (u.category.as_str(), u.need, u.possible))
        .collect();
    assert_eq!(unc, vec![("supermarket", 1, 0), ("dining", 2, 1)]);
    assert_eq!(plan.uncoverable[0].community_id, "A");
    assert_eq!(plan.demands_met_after, 1, "only health is met");
    assert_eq!(
        plan.demands_met_after,
        plan.demands_total - plan.uncoverable.len()
    );
    assert_eq!((plan.units_needed, plan.units_coverable), (4, 2));
}

#[test]
fn signed_merchants_count_only_as_the_caller_says() {
    use PipelineStatus::*;
    let index = index_of(
        vec![
            merchant("S1", "supermarket", 50.0, 0.0, Signed),
            merchant("P1", "supermarket", -50.0, 0.0, Prospect),
        ],
        vec![community("A", 0.0, 0.0)],
    );
    let g = goal(&[("supermarket", 1)]);
    let cands = all_slots(2);
    let default = plan(&index, &[0], &cands, &g, &Rules::default());
    assert!(default.picks.is_empty());
    assert_eq!(default.demands_met_before, 1);
    // Out of the caller's scope, S1 does not count (and is no candidate either: it is signed).
    let s1 = slot(&index, "S1");
    let scoped = |m: MerchantRef<'_>| is_signed(m) && m.id() != "S1";
    let not_s1 = |m: MerchantRef<'_>| m.id() != "S1";
    let rules = Rules {
        is_signed: &scoped,
        keep: &not_s1,
        ..Rules::default()
    };
    let p = plan(&index, &[0], &cands, &g, &rules);
    check(&index, &[0], &cands, &g, &rules, &p).unwrap();
    assert_eq!(picked_ids(&p), vec!["P1"]);
    assert!(p.picks.iter().all(|p| p.slot != s1));
    // `keep` removes candidates.
    let none = |_: MerchantRef<'_>| false;
    let rules = Rules {
        is_signed: &scoped,
        keep: &none,
        ..Rules::default()
    };
    let p = plan(&index, &[0], &cands, &g, &rules);
    assert!(p.picks.is_empty());
    assert_eq!(p.uncoverable.len(), 1);
}

#[test]
fn priority_breaks_ties_and_the_plan_is_deterministic() {
    use PipelineStatus::*;
    let index = index_of(
        vec![
            merchant("P1", "health", 50.0, 0.0, Prospect),
            merchant("P2", "health", -50.0, 0.0, Prospect),
            merchant("P3", "health", 0.0, 50.0, Visited),
        ],
        vec![community("A", 0.0, 0.0)],
    );
    let g = goal(&[("health", 1)]);
    let p2 = slot(&index, "P2");
    let prio = move |s: u32| if s == p2 { 5.0 } else { 1.0 };
    let rules = Rules {
        priority: &prio,
        ..Rules::default()
    };
    let plan_a = plan(&index, &[0], &[0, 1, 2], &g, &rules);
    assert_eq!(picked_ids(&plan_a), vec!["P2"]);
    // Without priorities the lowest slot wins; the order of the inputs does not matter.
    let plain = plan(&index, &[0, 0], &[2, 1, 0, 2], &g, &Rules::default());
    assert_eq!(plain.picks[0].slot, 0);
    assert_eq!(plain.communities, 1);
    assert_eq!(plain, plan(&index, &[0], &[0, 1, 2], &g, &Rules::default()));
    // Slots out of range are ignored, not a panic.
    let odd = plan(&index, &[0, 99], &[0, 1, 2, 1000], &g, &Rules::default());
    assert_eq!(odd, plain);
}

/// A random layout: communities and merchants in a square, some signed.
fn random_layout(rng: &mut ChaCha8Rng, side: f64) -> SpatialIndex {
    let cats = ["supermarket", "dining", "health", "retail"];
    let n_comm = rng.random_range(1..=7);
    let n_merch = rng.random_range(3..=28);
    let mut pos = || (rng.random_range(0.0..side), rng.random_range(0.0..side));
    let communities: Vec<Community> = (0..n_comm)
        .map(|i| {
            let (e, n) = pos();
            community(&format!("C{i}"), e, n)
        })
        .collect();
    let mut merchants = Vec::new();
    for i in 0..n_merch {
        let (e, n) = pos();
        merchants.push((i, e, n));
    }
    let merchants = merchants
        .into_iter()
        .map(|(i, e, n)| {
            let cat = cats[rng.random_range(0..cats.len())];
            let status = match rng.random_range(0..10) {
                0..=1 => PipelineStatus::Signed,
                2 => PipelineStatus::Active,
                3 => PipelineStatus::Rejected,
                4 => PipelineStatus::Visited,
                _ => PipelineStatus::Prospect,
            };
            merchant(&format!("M{i:02}"), cat, e, n, status)
        })
        .collect();
    index_of(merchants, communities)
}

/// The fewest candidates per category meeting `min(k, have + possible)` everywhere, by
/// enumerating every subset of the category's candidates.
fn brute_force_plan(index: &SpatialIndex, g: &CoverGoal, cands: &[u32]) -> HashMap<String, usize> {
    let reach = g.reach_m();
    let mut out = HashMap::new();
    for (cat, k) in &g.essential {
        let mine: Vec<u32> = cands
            .iter()
            .copied()
            .filter(|&s| {
                let m = index.merchants.item(s);
                m.category() == *cat && !is_signed(m)
            })
            .collect();
        assert!(mine.len() <= 20);
        let mut rows = Vec::new(); // (have, mask of candidates in reach, target)
        for c in index.communities.items() {
            let have = index
                .merchants
                .iter()
                .map(|(_, m)| m)
                .filter(|&m| {
                    m.category() == *cat
                        && is_signed(m)
                        && m.location().distance_m(&c.location) <= reach
                })
                .count() as u32;
            let mask = mine.iter().enumerate().fold(0u32, |acc, (b, &s)| {
                if index.merchants.item(s).location().distance_m(&c.location) <= reach {
                    acc | (1 << b)
                } else {
                    acc
                }
            });
            rows.push((have, mask, (*k).min(have + mask.count_ones())));
        }
        let best = (0u32..(1u32 << mine.len()))
            .filter(|&sel| {
                rows.iter()
                    .all(|&(have, mask, target)| have + (mask & sel).count_ones() >= target)
            })
            .map(u32::count_ones)
            .min()
            .unwrap_or(0);
        out.insert(cat.clone(), best as usize);
    }
    out
}

#[test]
fn plans_on_random_layouts_are_minimal_and_cover_what_they_claim() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let g = goal(&[("supermarket", 1), ("dining", 2), ("health", 1)]);
    let mut total_picks = 0;
    for round in 0..150 {
        let side = rng.random_range(300.0..1500.0);
        let index = random_layout(&mut rng, side);
        let comms = all_slots(index.communities.len());
        let cands = all_slots(index.merchants.len());
        let rules = Rules::default();
        let p = plan(&index, &comms, &cands, &g, &rules);
        if let Err(e) = check(&index, &comms, &cands, &g, &rules, &p) {
            panic!("round {round}: {e:#?}");
        }
        let best = brute_force_plan(&index, &g, &cands);
        assert!(p.optimal, "round {round}");
        assert_eq!(p.picks.len(), best.values().sum::<usize>(), "round {round}");
        for row in &p.by_category {
            assert_eq!(
                row.picks, best[&row.category],
                "round {round} {}",
                row.category
            );
            assert!(row.lower_bound <= row.picks);
        }
        assert_eq!(
            p.demands_met_after,
            p.demands_total - p.uncoverable.len(),
            "round {round}"
        );
        let orders: Vec<u32> = p.picks.iter().map(|p| p.order).collect();
        assert_eq!(orders, (1..=p.picks.len() as u32).collect::<Vec<_>>());
        total_picks += p.picks.len();
    }
    assert!(
        total_picks > 100,
        "the layouts ask for something: {total_picks}"
    );
}

// ---------------------------------------------------------------------------------------------
// Whole plans on generated cities.

/// Communities within `radius_m` of `centre`, and the prospects that could reach them.
fn area_request(
    index: &SpatialIndex,
    centre: Location,
    radius_m: f64,
    g: &CoverGoal,
) -> (Vec<u32>, Vec<u32>) {
    let comms: Vec<u32> = index
        .communities
        .within_radius(centre, radius_m)
        .into_iter()
        .map(|h| h.slot)
        .collect();
    let cands: Vec<u32> = index
        .merchants
        .within_radius(centre, radius_m + g.reach_m())
        .into_iter()
        .map(|h| h.slot)
        .filter(|&s| is_prospect(index.merchants.item(s)))
        .collect();
    (comms, cands)
}

fn food_street_centre(index: &SpatialIndex) -> Location {
    index
        .areas
        .iter()
        .find(|a| a.kind == AreaKind::FoodStreet)
        .map(|a| a.polygon.representative_point())
        .unwrap()
}

fn report(label: &str, p: &CoverPlan) {
    eprintln!(
        "{label}: {} communities, {} candidates, {} demands ({} met before, {} after, {} uncoverable); \
         {} picks, lower bound {}, optimal {}, guarantee {:.3}, within {:.3}",
        p.communities,
        p.candidates,
        p.demands_total,
        p.demands_met_before,
        p.demands_met_after,
        p.uncoverable.len(),
        p.picks.len(),
        p.lower_bound,
        p.optimal,
        p.guarantee,
        p.within
    );
    for c in &p.by_category {
        eprintln!(
            "  {} k={}: met {}→{} of {}, {} candidates, {} picks ≥ {} (optimal {}, {} components)",
            c.category,
            c.k,
            c.met_before,
            c.met_after,
            c.demands,
            c.candidates,
            c.picks,
            c.lower_bound,
            c.optimal,
            c.components
        );
    }
}

#[test]
fn leshan_food_street_plan_covers_what_it_claims() {
    let index = SpatialIndex::build(generate(&GenConfig::default()));
    let params = CoverageParams::builtin().unwrap();
    let g = CoverGoal::from_params(&params, DETOUR);
    let (comms, cands) = area_request(&index, food_street_centre(&index), 1000.0, &g);
    assert!(comms.len() >= 5, "{} communities", comms.len());
    let rules = Rules::default();
    let p = plan(&index, &comms, &cands, &g, &rules);
    report("Leshan food street, 1 km", &p);
    check(&index, &comms, &cands, &g, &rules, &p).unwrap();
    assert!(!p.picks.is_empty());
    assert!(p.demands_met_after > p.demands_met_before);
    assert_eq!(p.demands_met_after, p.demands_total - p.uncoverable.len());
    assert!(p.lower_bound <= p.picks.len());
    assert!(p.within >= 1.0 && p.within <= p.guarantee + 1e-9);
    // After "enrolling" the picks, the coverage model agrees: every community is covered but
    // for its uncoverable demands.
    let picks: HashSet<u32> = p.picks.iter().map(|p| p.slot).collect();
    let mut enrolled = index.clone();
    let mut changed: Vec<Merchant> = Vec::new();
    for &s in &picks {
        let mut m = enrolled.merchants.item(s).to_merchant();
        m.status = PipelineStatus::Signed;
        changed.push(m);
    }
    for m in changed {
        enrolled.merchants.upsert(m);
    }
    let rows =
        crate::coverage::community_coverage_of(&enrolled, &params, DETOUR, &|_| true, &comms);
    for (row, &c) in rows.iter().zip(&comms) {
        let unc: Vec<&str> = p
            .uncoverable
            .iter()
            .filter(|u| u.community_slot == c)
            .map(|u| u.category.as_str())
            .collect();
        let missing: Vec<&str> = row.missing.iter().map(|(cat, _, _)| cat.as_str()).collect();
        assert_eq!(missing, unc, "community {}", row.community_id);
    }
    // Serialises.
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["distance"], "straight_line_x_detour");
    assert!(json["picks"][0]["covers"][0][1].is_string());
}

#[test]
fn generated_city_plan_covers_what_it_claims() {
    let cfg = GenConfig {
        seed: 7,
        merchants: 20_000,
        communities: 800,
        ..GenConfig::default()
    };
    let index = SpatialIndex::build(generate(&cfg));
    let params = CoverageParams::builtin().unwrap();
    let g = CoverGoal::from_params(&params, DETOUR);
    let centre = Location::new(cfg.center[0], cfg.center[1]).unwrap();
    for (i, radius) in [600.0, 1500.0].into_iter().enumerate() {
        let (comms, cands) = area_request(&index, centre, radius, &g);
        // Half the prospects in scope, priority from a hash of the slot: exercises both.
        let keep = |m: MerchantRef<'_>| !m.id().ends_with('7');
        let prio = |s: u32| f64::from(s.wrapping_mul(2_654_435_761) % 97);
        let rules = Rules {
            keep: &keep,
            priority: &prio,
            ..Rules::default()
        };
        let p = plan(&index, &comms, &cands, &g, &rules);
        report(&format!("generated city (20k), {radius} m"), &p);
        if let Err(e) = check(&index, &comms, &cands, &g, &rules, &p) {
            panic!("area {i}: {e:#?}");
        }
        assert!(!p.picks.is_empty());
        assert!(p.within <= p.guarantee + 1e-9);
    }
    // Nothing signed yet: every demand is open.
    let nothing = |_: MerchantRef<'_>| false;
    let rules = Rules {
        is_signed: &nothing,
        ..Rules::default()
    };
    let (comms, cands) = area_request(&index, centre, 1500.0, &g);
    let p = plan(&index, &comms, &cands, &g, &rules);
    report("generated city (20k), 1500 m, nothing signed", &p);
    check(&index, &comms, &cands, &g, &rules, &p).unwrap();
    assert_eq!(p.demands_met_before, 0);
    assert!(p.lower_bound <= p.picks.len());
    assert!(p.within >= 1.0 && p.within <= p.guarantee + 1e-9);
    assert_eq!(
        p.optimal,
        p.by_category.iter().all(|c| c.optimal),
        "optimal is the conjunction of the categories'"
    );
}

/// Timing for a 1 km area of a city of 100k merchants: `cargo test --release --lib
/// campaign::cover::tests::timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_of_a_one_km_area_in_a_city_of_100k_merchants() {
    let cfg = GenConfig {
        seed: 3,
        merchants: 100_000,
        communities: 4_000,
        outlets_ours: 60,
        outlets_competitors: 40,
        ..GenConfig::default()
    };
    let index = SpatialIndex::build(generate(&cfg));
    let params = CoverageParams::builtin().unwrap();
    let g = CoverGoal::from_params(&params, DETOUR);
    let centre = Location::new(cfg.center[0], cfg.center[1]).unwrap();
    let (comms, cands) = area_request(&index, centre, 1000.0, &g);
    let rules = Rules::default();
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let t = Instant::now();
        let p = plan(&index, &comms, &cands, &g, &rules);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        last = Some(p);
    }
    let p = last.unwrap();
    report("100k city, 1 km", &p);
    times.sort_by(f64::total_cmp);
    eprintln!("plan: median {:.2} ms, worst {:.2} ms", times[2], times[4]);
    let t = Instant::now();
    check(&index, &comms, &cands, &g, &rules, &p).unwrap();
    eprintln!(
        "check (brute force): {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    // Harder: nothing signed yet (every demand open), over 1 and 2 km.
    let nothing = |_: MerchantRef<'_>| false;
    let rules = Rules {
        is_signed: &nothing,
        ..Rules::default()
    };
    for radius in [1000.0, 2000.0] {
        let (comms, cands) = area_request(&index, centre, radius, &g);
        let t = Instant::now();
        let p = plan(&index, &comms, &cands, &g, &rules);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        report(&format!("100k city, {radius} m, nothing signed"), &p);
        eprintln!("plan: {ms:.1} ms");
        check(&index, &comms, &cands, &g, &rules, &p).unwrap();
    }
}
