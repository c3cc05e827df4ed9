//! The B-side recommended set (issue 8): the fewest merchants to enrol so that every community in
//! reach gets its `k` signed merchants of each essential category within its 10-minute circle
//! (the coverage goal of [`crate::coverage::community`]).
//!
//! # The problem
//!
//! The elements are the *demands* `(community i, category c)`: `need = max(0, k_c − have)`,
//! `have` the merchants of category c already signed (as the caller's `is_signed` says) within
//! the community's circle, i.e. within the straight-line radius `reach_walking_m / detour` of its
//! point, exactly as [`crate::coverage::community_coverage`] counts them. A candidate of category
//! c adds one unit to every demand `(i, c)` whose circle holds it. A demand with fewer candidates
//! in reach than it needs (`possible < need`) is reported as [`Uncoverable`] and asks only for
//! `min(need, possible)`; every other demand is met in full by the plan.
//!
//! This is a *constrained set multicover* (each candidate is enrolled at most once, an element
//! needs `need` distinct candidates); a candidate has one category, so it splits into one
//! independent problem per category, and each of those into its connected components
//! (candidates that share no demand never interact). Each component is solved as follows.
//!
//! 1. **Greedy**: enrol the candidate that adds the most units to unmet demands; ties go to the
//!    higher caller-supplied priority, then the lower slot. Greedy enrols at most
//!    `H(Δ) · OPT` merchants, `Δ` the most demands one candidate helps and `H` the harmonic
//!    number (`H(Δ) ≤ ln Δ + 1`): the dual-fitting bound for constrained set multicover
//!    (Vazirani, *Approximation Algorithms*, ch. 13; Rajagopalan & Vazirani 1993), whose argument
//!    charges each candidate at most `H(|its demands|)`.
//! 2. **Reverse delete**: drop, last first, any pick whose demands stay met without it; the
//!    result is irredundant and never larger than greedy's.
//! 3. **Lower bound** (`lower_bound`, `lagrangian`): candidates forced because a
//!    demand needs every candidate it has, plus the best of three feasible solutions of the LP
//!    dual of the rest — a *packing* (demands no candidate shares need disjoint sets of
//!    candidates, so their needs add up), the *fractional* bound `Σ need_i / Δ_i` (`Δ_i` the most
//!    demands a candidate reaching `i` helps), and a *Lagrangian* bound climbed from the latter
//!    by subgradient ascent (200 steps at most). By weak duality every feasible plan has at
//!    least that many picks. The Lagrangian's dual weights also drive a second greedy (by dual
//!    weight covered), kept when it needs fewer picks.
//! 4. **Exact**: unless the best so far already meets the bound, a depth-first branch and bound
//!    (include/exclude the best candidate of the tightest demand, pruned by
//!    `max(max need, ⌈Σ need / best gain⌉)`) searches for a smaller set: to the end for components
//!    of at most [`EXACT_MAX_CANDIDATES`] candidates, within [`SEARCH_WORK`] set-membership scans
//!    (about 10 ms) above that. A finished search proves the minimum; an unfinished one's best is
//!    reverse-deleted again.
//!
//! The plan says `optimal: true` when every component's answer is proven minimal (by the search,
//! or by meeting its lower bound); otherwise `picks ≤ guarantee · OPT` and
//! `OPT ≥ lower_bound`, so the answer is within `within = picks / lower_bound` of the optimum.
//!
//! [`check`] recomputes everything from a plain scan of the merchants (no index) and says what,
//! if anything, the plan gets wrong.

use crate::index::MerchantRef;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::coverage::{is_signed, straight_m, CoverageParams, DISTANCE_MODEL};
use crate::index::SpatialIndex;

/// Components with at most this many candidates are always solved to a proven minimum (the
/// search visits at most `2^(n+1)` nodes, about two million).
pub const EXACT_MAX_CANDIDATES: usize = 20;

/// What "covered" means for the plan: `k` signed merchants of each essential category within
/// `reach_walking_m` (searched as the straight line `reach_walking_m / detour_factor`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverGoal {
    /// `(category code, k)`; a category listed twice counts once (its first `k`).
    pub essential: Vec<(String, u32)>,
    pub reach_walking_m: f64,
    pub detour_factor: f64,
}

impl CoverGoal {
    /// The coverage goal of the coverage parameters: their essential categories and the
    /// community circle (10 minutes, 500 m walking by default).
    pub fn from_params(params: &CoverageParams, detour_factor: f64) -> Self {
        Self {
            essential: params.essential.clone(),
            reach_walking_m: params.community_circle_m,
            detour_factor,
        }
    }

    /// The straight-line radius searched around each community (0 for a bad walking distance).
    pub fn reach_m(&self) -> f64 {
        let r = straight_m(self.reach_walking_m, self.detour_factor);
        if r.is_finite() {
            r.max(0.0)
        } else {
            0.0
        }
    }

    fn essentials(&self) -> Vec<(String, u32)> {
        let mut out: Vec<(String, u32)> = Vec::with_capacity(self.essential.len());
        for (c, k) in &self.essential {
            if !out.iter().any(|(o, _)| o == c) {
                out.push((c.clone(), *k));
            }
        }
        out
    }
}

/// The caller's rules: which merchants count as already signed (scope applied by the caller),
/// which candidates may be proposed, and the priority that breaks greedy's ties (higher first;
/// NaN counts as lowest).
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    pub is_signed: &'a dyn Fn(MerchantRef<'_>) -> bool,
    pub keep: &'a dyn Fn(MerchantRef<'_>) -> bool,
    pub priority: &'a dyn Fn(u32) -> f64,
}

fn keep_all(_: MerchantRef<'_>) -> bool {
    true
}

fn no_priority(_: u32) -> f64 {
    0.0
}

impl Default for Rules<'_> {
    /// Signed means [`crate::coverage::is_signed`]; every candidate is kept; no priority.
    fn default() -> Self {
        Self {
            is_signed: &is_signed,
            keep: &keep_all,
            priority: &no_priority,
        }
    }
}

/// A merchant to enrol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pick {
    /// Merchant slot in `index.merchants`.
    pub slot: u32,
    pub merchant_id: String,
    pub name: String,
    pub category: String,
    /// 1-based: enrol in this order (each next pick adds the most still-missing units).
    pub order: u32,
    /// Units of still-missing demand this pick adds when enrolled in `order`.
    pub gain: u32,
    /// The demands `(community slot, category)` it helps: every short demand whose circle holds
    /// it, in the order of the communities given.
    pub covers: Vec<(u32, String)>,
}

/// A demand that the candidates cannot meet: fewer of them in reach than it needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Uncoverable {
    pub community_slot: u32,
    pub community_id: String,
    pub category: String,
    /// `k − have`.
    pub need: u32,
    /// Candidates of the category within reach (all of them are in the plan).
    pub possible: u32,
}

/// The plan for one essential category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryPlan {
    pub category: String,
    pub k: u32,
    /// One per community.
    pub demands: usize,
    pub met_before: usize,
    pub met_after: usize,
    /// Σ need, and Σ min(need, possible).
    pub units_needed: u64,
    pub units_coverable: u64,
    pub uncoverable: usize,
    pub candidates: usize,
    pub picks: usize,
    pub lower_bound: usize,
    pub optimal: bool,
    pub guarantee: f64,
    /// Independent sub-problems (candidates linked through shared demands).
    pub components: usize,
}

/// The recommended set and what it achieves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverPlan {
    /// Always [`DISTANCE_MODEL`].
    pub distance: &'static str,
    pub reach_m: f64,
    pub reach_walking_m: f64,
    /// Distinct valid community slots planned for.
    pub communities: usize,
    /// Distinct candidates kept (in range, passing `keep`, not signed, of an essential category).
    pub candidates: usize,
    /// In enrolment order.
    pub picks: Vec<Pick>,
    /// `communities × essential categories`.
    pub demands_total: usize,
    /// Met by signed merchants alone.
    pub demands_met_before: usize,
    /// Met once the picks are enrolled: every demand but the uncoverable ones.
    pub demands_met_after: usize,
    pub units_needed: u64,
    pub units_coverable: u64,
    /// Community order, then category order.
    pub uncoverable: Vec<Uncoverable>,
    /// No plan meeting the same demands has fewer picks.
    pub lower_bound: usize,
    /// `picks.len()` is the proven minimum.
    pub optimal: bool,
    /// `picks.len() ≤ guarantee × minimum`: 1 when optimal, else the largest `H(Δ)` of a
    /// component not proven optimal.
    pub guarantee: f64,
    /// `picks.len() / lower_bound` (1 when both are 0): how far from the optimum at worst.
    pub within: f64,
    pub by_category: Vec<CategoryPlan>,
}

// ---------------------------------------------------------------------------------------------
// The abstract problem: constrained set multicover.

/// Element `i` needs `demand[i]` distinct sets containing it; set `j` is `sets[j]` (element
/// indices, no repeats); each set can be taken once. `priority[j]` breaks greedy's ties.
#[derive(Debug, Clone)]
struct Instance {
    demand: Vec<u32>,
    sets: Vec<Vec<u32>>,
    priority: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
struct Solution {
    /// Set indices, by component, each component's in the order greedy took them.
    picks: Vec<usize>,
    lower_bound: usize,
    optimal: bool,
    guarantee: f64,
    components: usize,
}

/// `H(n) = 1 + 1/2 + … + 1/n`, `H(0) = 1` (nothing to approximate).
fn harmonic(n: usize) -> f64 {
    if n == 0 {
        return 1.0;
    }
    (1..=n).map(|k| 1.0 / k as f64).sum()
}

/// Greedy's preference: more gain, then higher priority, then the lower index.
fn prefer(a: (u32, f64, usize), b: (u32, f64, usize)) -> Ordering {
    b.0.cmp(&a.0)
        .then_with(|| b.1.total_cmp(&a.1))
        .then_with(|| a.2.cmp(&b.2))
}

fn clean_priority(p: f64) -> f64 {
    if p.is_nan() {
        f64::NEG_INFINITY
    } else {
        p
    }
}

impl Instance {
    /// Sets containing each element.
    fn containing(&self) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); self.demand.len()];
        for (j, s) in self.sets.iter().enumerate() {
            for &i in s {
                if let Some(c) = out.get_mut(i as usize) {
                    c.push(j as u32);
                }
            }
        }
        out
    }

    /// Demands capped at the number of sets containing the element (what can be met).
    fn capped(&self) -> Vec<u32> {
        let mut deg = vec![0u32; self.demand.len()];
        for s in &self.sets {
            for &i in s {
                if let Some(d) = deg.get_mut(i as usize) {
                    *d += 1;
                }
            }
        }
        self.demand
            .iter()
            .zip(deg)
            .map(|(&d, g)| d.min(g))
            .collect()
    }

    fn priority(&self, j: usize) -> f64 {
        self.priority
            .get(j)
            .copied()
            .map_or(f64::NEG_INFINITY, clean_priority)
    }
}

/// Greedy: repeatedly the set adding most units to unmet (capped) demand; returns the sets in
/// the order taken. Meets every capped demand.
fn greedy(inst: &Instance, demand: &[u32]) -> Vec<usize> {
    let containing = inst.containing();
    let mut r = demand.to_vec();
    let mut gain: Vec<u32> = inst
        .sets
        .iter()
        .map(|s| s.iter().filter(|&&i| r[i as usize] > 0).count() as u32)
        .collect();
    let mut taken = vec![false; inst.sets.len()];
    let mut out = Vec::new();
    loop {
        let best = (0..inst.sets.len())
            .filter(|&j| !taken[j] && gain[j] > 0)
            .min_by(|&a, &b| {
                prefer(
                    (gain[a], inst.priority(a), a),
                    (gain[b], inst.priority(b), b),
                )
            });
        let Some(j) = best else {
            break;
        };
        taken[j] = true;
        out.push(j);
        for &i in &inst.sets[j] {
            let i = i as usize;
            if r[i] > 0 {
                r[i] -= 1;
                if r[i] == 0 {
                    for &j2 in &containing[i] {
                        gain[j2 as usize] -= 1;
                    }
                }
            }
        }
    }
    out
}

/// Drops, last first, every set whose elements keep their demand without it; keeps the order.
fn reverse_delete(inst: &Instance, demand: &[u32], picks: &[usize]) -> Vec<usize> {
    let mut count = vec![0u32; demand.len()];
    for &j in picks {
        for &i in &inst.sets[j] {
            count[i as usize] += 1;
        }
    }
    let mut keep = vec![true; picks.len()];
    for (p, &j) in picks.iter().enumerate().rev() {
        if inst.sets[j]
            .iter()
            .all(|&i| count[i as usize] > demand[i as usize])
        {
            keep[p] = false;
            for &i in &inst.sets[j] {
                count[i as usize] -= 1;
            }
        }
    }
    picks
        .iter()
        .zip(keep)
        .filter_map(|(&j, k)| k.then_some(j))
        .collect()
}

/// A lower bound on the fewest sets meeting `demand` (capped: `demand[i] ≤` sets containing i).
///
/// 1. Forced sets: an element that needs every set it has forces them all in; their units are
///    taken off and this repeats until no element is tight. Every feasible answer holds them.
/// 2. On the rest, two feasible solutions `y` of the LP dual
///    `max Σ need_i y_i − Σ z_j  s.t.  Σ_{i∈S_j} y_i − z_j ≤ 1, y, z ≥ 0` (with `z = 0`):
///    *packing*, `y_i = 1` on elements no two of which share a set (picked by need, largest
///    first), worth `Σ need_i` over them; *fractional*, `y_i = 1 / Δ_i`, `Δ_i` the largest number
///    of still-needy elements of a set containing i (so each set sums to at most 1), worth
///    `Σ need_i / Δ_i`. Weak duality makes either a bound on the LP, hence on the integer
///    optimum, which is an integer: the bound is rounded up.
fn lower_bound(inst: &Instance, demand: &[u32]) -> usize {
    let mut e = demand.to_vec();
    let containing = inst.containing();
    let mut alive = vec![true; inst.sets.len()];
    let mut forced = 0usize;
    loop {
        let tight = (0..e.len()).find(|&i| {
            e[i] > 0 && {
                let deg = containing[i].iter().filter(|&&j| alive[j as usize]).count() as u32;
                deg <= e[i]
            }
        });
        let Some(i) = tight else {
            break;
        };
        let mut any = false;
        for &j in &containing[i] {
            let j = j as usize;
            if alive[j] {
                alive[j] = false;
                forced += 1;
                any = true;
                for &i2 in &inst.sets[j] {
                    let v = &mut e[i2 as usize];
                    *v = v.saturating_sub(1);
                }
            }
        }
        if !any {
            // Needs more than there are (not capped): nothing more to learn from it.
            e[i] = 0;
        }
    }
    let size: Vec<usize> = inst
        .sets
        .iter()
        .enumerate()
        .map(|(j, s)| {
            if alive[j] {
                s.iter().filter(|&&i| e[i as usize] > 0).count()
            } else {
                0
            }
        })
        .collect();
    let mut fractional = 0.0f64;
    for (i, &need) in e.iter().enumerate() {
        if need == 0 {
            continue;
        }
        let delta = containing[i]
            .iter()
            .filter(|&&j| alive[j as usize])
            .map(|&j| size[j as usize])
            .max()
            .unwrap_or(0);
        if delta > 0 {
            fractional += f64::from(need) / delta as f64;
        }
    }
    let mut order: Vec<usize> = (0..e.len()).filter(|&i| e[i] > 0).collect();
    order.sort_by(|&a, &b| e[b].cmp(&e[a]).then(a.cmp(&b)));
    let mut used = vec![false; inst.sets.len()];
    let mut packing = 0usize;
    for i in order {
        let sets = || {
            containing[i]
                .iter()
                .map(|&j| j as usize)
                .filter(|&j| alive[j])
        };
        if sets().any(|j| used[j]) {
            continue;
        }
        for j in sets() {
            used[j] = true;
        }
        packing += e[i] as usize;
    }
    // A hair below an integer is rounding, not a fraction (n / n summed).
    let fractional = (fractional - 1e-9).ceil().max(0.0) as usize;
    forced + packing.max(fractional)
}

/// Depth-first branch and bound for a set multicover smaller than `incumbent` sets.
struct Search<'a> {
    inst: &'a Instance,
    containing: Vec<Vec<u32>>,
    /// Remaining demand per element.
    r: Vec<u32>,
    /// Undecided sets containing each element.
    avail: Vec<u32>,
    /// 0 undecided, 1 taken, 2 left out.
    state: Vec<u8>,
    chosen: Vec<usize>,
    best: usize,
    best_sets: Option<Vec<usize>>,
    floor: usize,
    nodes: u64,
    budget: Option<u64>,
    aborted: bool,
}

impl Search<'_> {
    fn run(&mut self) {
        if self.aborted || self.best <= self.floor {
            return;
        }
        self.nodes += 1;
        if self.budget.is_some_and(|b| self.nodes > b) {
            self.aborted = true;
            return;
        }
        // The tightest element: least slack (undecided sets beyond its remaining need).
        let mut tightest: Option<(usize, u32)> = None;
        let (mut sum_r, mut max_r) = (0u64, 0u32);
        for (i, &r) in self.r.iter().enumerate() {
            if r == 0 {
                continue;
            }
            if self.avail[i] < r {
                return; // cannot be met any more
            }
            sum_r += u64::from(r);
            max_r = max_r.max(r);
            let slack = self.avail[i] - r;
            if tightest.is_none_or(|(_, s)| slack < s) {
                tightest = Some((i, slack));
            }
        }
        let Some((el, _)) = tightest else {
            if self.chosen.len() < self.best {
                self.best = self.chosen.len();
                self.best_sets = Some(self.chosen.clone());
            }
            return;
        };
        let gain = |j: usize| {
            self.inst.sets[j]
                .iter()
                .filter(|&&i| self.r[i as usize] > 0)
                .count() as u32
        };
        let max_gain = (0..self.inst.sets.len())
            .filter(|&j| self.state[j] == 0)
            .map(gain)
            .max()
            .unwrap_or(0);
        if max_gain == 0 {
            return;
        }
        let lb = (max_r as usize).max(sum_r.div_ceil(u64::from(max_gain)) as usize);
        if self.chosen.len() + lb >= self.best {
            return;
        }
        let branch = self.containing[el]
            .iter()
            .map(|&j| j as usize)
            .filter(|&j| self.state[j] == 0)
            .min_by(|&a, &b| {
                prefer(
                    (gain(a), self.inst.priority(a), a),
                    (gain(b), self.inst.priority(b), b),
                )
            });
        let Some(j) = branch else {
            return;
        };
        let inst = self.inst;
        let set = &inst.sets[j];
        // Take j.
        self.state[j] = 1;
        self.chosen.push(j);
        let mut lowered: Vec<u32> = Vec::with_capacity(set.len());
        for &i in set {
            self.avail[i as usize] -= 1;
            if self.r[i as usize] > 0 {
                self.r[i as usize] -= 1;
                lowered.push(i);
            }
        }
        self.run();
        for &i in &lowered {
            self.r[i as usize] += 1;
        }
        self.chosen.pop();
        // Leave j out.
        self.state[j] = 2;
        self.run();
        for &i in set {
            self.avail[i as usize] += 1;
        }
        self.state[j] = 0;
    }
}

/// Looks for fewer than `incumbent` sets; returns them if found, and whether the search ended
/// (so that the answer, found or not, is the minimum).
fn branch_and_bound(
    inst: &Instance,
    demand: &[u32],
    incumbent: usize,
    floor: usize,
    budget: Option<u64>,
) -> (Option<Vec<usize>>, bool) {
    let containing = inst.containing();
    let avail = containing.iter().map(|c| c.len() as u32).collect();
    let mut s = Search {
        inst,
        containing,
        r: demand.to_vec(),
        avail,
        state: vec![0; inst.sets.len()],
        chosen: Vec::new(),
        best: incumbent,
        best_sets: None,
        floor,
        nodes: 0,
        budget,
        aborted: false,
    };
    s.run();
    (s.best_sets, !s.aborted)
}

/// Dual-weighted greedy (the Lagrangian heuristic): the set whose still-needy elements carry
/// the most dual weight `w` (plus a hair per element, so that weightless elements still count),
/// ties as [`greedy`]'s.
fn greedy_weighted(inst: &Instance, demand: &[u32], w: &[f64]) -> Vec<usize> {
    let mut r = demand.to_vec();
    let mut taken = vec![false; inst.sets.len()];
    let mut out = Vec::new();
    loop {
        let mut best: Option<(f64, u32, f64, usize)> = None;
        for (j, s) in inst.sets.iter().enumerate() {
            if taken[j] {
                continue;
            }
            let (mut weight, mut count) = (0.0, 0u32);
            for &i in s {
                if r[i as usize] > 0 {
                    weight += w[i as usize] + 1e-6;
                    count += 1;
                }
            }
            if count == 0 {
                continue;
            }
            let cand = (weight, count, inst.priority(j), j);
            let better = best.is_none_or(|b| {
                cand.0
                    .total_cmp(&b.0)
                    .then(cand.1.cmp(&b.1))
                    .then(cand.2.total_cmp(&b.2))
                    .then(b.3.cmp(&cand.3))
                    .is_gt()
            });
            if better {
                best = Some(cand);
            }
        }
        let Some((_, _, _, j)) = best else {
            break;
        };
        taken[j] = true;
        out.push(j);
        for &i in &inst.sets[j] {
            let v = &mut r[i as usize];
            *v = v.saturating_sub(1);
        }
    }
    out
}

/// Subgradient steps of the Lagrangian bound.
const LAGRANGE_STEPS: usize = 200;

/// The Lagrangian bound: for any `u ≥ 0`,
/// `L(u) = Σ_i need_i u_i + Σ_j min(0, 1 − Σ_{i∈S_j} u_i)` is the value of a feasible solution
/// of the LP dual (`y = u`, `z_j = max(0, Σ_{i∈S_j} u_i − 1)`), hence at most the optimum.
/// Subgradient ascent from `u_i = 1/Δ_i` (the fractional bound) climbs towards the LP bound;
/// every 25 steps the dual-weighted greedy, reverse-deleted, is tried as a better solution.
/// Returns the bound (rounded up) and such a solution if it beats `incumbent`.
fn lagrangian(inst: &Instance, demand: &[u32], incumbent: &[usize]) -> (usize, Option<Vec<usize>>) {
    let n = demand.len();
    let active: Vec<usize> = (0..n).filter(|&i| demand[i] > 0).collect();
    if active.is_empty() {
        return (0, None);
    }
    let containing = inst.containing();
    let size: Vec<usize> = inst
        .sets
        .iter()
        .map(|s| s.iter().filter(|&&i| demand[i as usize] > 0).count())
        .collect();
    let mut u: Vec<f64> = (0..n)
        .map(|i| {
            let delta = containing[i]
                .iter()
                .map(|&j| size[j as usize])
                .max()
                .unwrap_or(0);
            if demand[i] > 0 && delta > 0 {
                1.0 / delta as f64
            } else {
                0.0
            }
        })
        .collect();
    let rounded = |l: f64| (l - 1e-6).ceil().max(0.0) as usize;
    let mut ub = incumbent.len();
    let mut best_sol: Option<Vec<usize>> = None;
    let mut best_l = 0.0f64;
    let (mut lambda, mut stale) = (2.0f64, 0);
    let mut x = vec![false; inst.sets.len()];
    for step in 0..LAGRANGE_STEPS {
        let mut l: f64 = active.iter().map(|&i| u[i] * f64::from(demand[i])).sum();
        for (j, s) in inst.sets.iter().enumerate() {
            let reduced = 1.0 - s.iter().map(|&i| u[i as usize]).sum::<f64>();
            x[j] = reduced < 0.0;
            if reduced < 0.0 {
                l += reduced;
            }
        }
        if l > best_l + 1e-9 {
            best_l = l;
            stale = 0;
        } else {
            stale += 1;
            if stale >= 15 {
                lambda /= 2.0;
                stale = 0;
            }
        }
        if step % 25 == 24 {
            let sol = reverse_delete(inst, demand, &greedy_weighted(inst, demand, &u));
            if sol.len() < ub {
                ub = sol.len();
                best_sol = Some(sol);
            }
        }
        if rounded(best_l) >= ub || lambda < 1e-4 {
            break;
        }
        let mut norm = 0.0;
        let g: Vec<f64> = active
            .iter()
            .map(|&i| {
                let covered = containing[i].iter().filter(|&&j| x[j as usize]).count();
                let g = f64::from(demand[i]) - covered as f64;
                norm += g * g;
                g
            })
            .collect();
        if norm == 0.0 {
            break; // u and x are complementary: L(u) is the LP optimum
        }
        let t = lambda * (ub as f64 - l).max(0.1) / norm;
        for (&i, g) in active.iter().zip(g) {
            u[i] = (u[i] + t * g).max(0.0);
        }
    }
    (rounded(best_l).min(ub), best_sol)
}

/// Work (set memberships scanned) the search of one large component may spend: ~10 ms.
pub const SEARCH_WORK: u64 = 10_000_000;

/// One connected component: greedy and reverse delete, the bounds (combinatorial and
/// Lagrangian, with its heuristic), and, if they still differ, the search. Returns the picks,
/// a lower bound, whether optimal and the guarantee.
fn solve_component(inst: &Instance, demand: &[u32]) -> (Vec<usize>, usize, bool, f64) {
    let mut picks = reverse_delete(inst, demand, &greedy(inst, demand));
    let mut lb = lower_bound(inst, demand);
    if picks.len() > lb {
        let (l, better) = lagrangian(inst, demand, &picks);
        lb = lb.max(l);
        if let Some(b) = better {
            picks = b;
        }
    }
    if picks.len() <= lb {
        return (picks.clone(), picks.len(), true, 1.0);
    }
    let work_per_node = inst.sets.iter().map(|s| s.len() as u64 + 1).sum::<u64>() + 1;
    let budget =
        (inst.sets.len() > EXACT_MAX_CANDIDATES).then(|| (SEARCH_WORK / work_per_node).max(1_000));
    let (found, complete) = branch_and_bound(inst, demand, picks.len(), lb, budget);
    if let Some(mut f) = found {
        f.sort_unstable();
        // A search cut short may end on a set that later ones made redundant.
        picks = reverse_delete(inst, demand, &f);
    }
    if complete {
        let n = picks.len();
        return (picks, n, true, 1.0);
    }
    let delta = inst
        .sets
        .iter()
        .map(|s| s.iter().filter(|&&i| demand[i as usize] > 0).count())
        .max()
        .unwrap_or(0);
    (picks, lb, false, harmonic(delta))
}

/// Solves the whole instance, component by component (demands capped first).
fn solve(inst: &Instance) -> Solution {
    let demand = inst.capped();
    let n = demand.len();
    // Union-find over the needy elements, joined through the sets.
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let needy = |s: &Vec<u32>| -> Vec<usize> {
        s.iter()
            .map(|&i| i as usize)
            .filter(|&i| i < n && demand[i] > 0)
            .collect()
    };
    for s in &inst.sets {
        let els = needy(s);
        if let Some((&first, rest)) = els.split_first() {
            for &i in rest {
                let (a, b) = (root(&mut parent, first), root(&mut parent, i));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    // Components in order of their first set.
    let mut comp_of_root: HashMap<usize, usize> = HashMap::new();
    let mut comps: Vec<Vec<usize>> = Vec::new();
    for (j, s) in inst.sets.iter().enumerate() {
        let Some(&first) = needy(s).first() else {
            continue;
        };
        let r = root(&mut parent, first);
        let c = *comp_of_root.entry(r).or_insert_with(|| {
            comps.push(Vec::new());
            comps.len() - 1
        });
        comps[c].push(j);
    }
    let mut out = Solution {
        picks: Vec::new(),
        lower_bound: 0,
        optimal: true,
        guarantee: 1.0,
        components: comps.len(),
    };
    for sets in comps {
        // Local numbering of the component's elements.
        let mut local: HashMap<usize, u32> = HashMap::new();
        let mut sub_demand: Vec<u32> = Vec::new();
        let sub_sets: Vec<Vec<u32>> = sets
            .iter()
            .map(|&j| {
                needy(&inst.sets[j])
                    .into_iter()
                    .map(|i| {
                        *local.entry(i).or_insert_with(|| {
                            sub_demand.push(demand[i]);
                            (sub_demand.len() - 1) as u32
                        })
                    })
                    .collect()
            })
            .collect();
        let sub = Instance {
            demand: sub_demand,
            priority: sets.iter().map(|&j| inst.priority(j)).collect(),
            sets: sub_sets,
        };
        let (picks, lb, optimal, guarantee) = solve_component(&sub, &sub.demand);
        out.picks.extend(picks.into_iter().map(|p| sets[p]));
        out.lower_bound += lb;
        out.optimal &= optimal;
        out.guarantee = out.guarantee.max(guarantee);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The plan over the index.

/// One demand `(community, category)` as the scans found it.
struct Demand {
    have: u32,
    need: u32,
    /// Local indices (within the category's candidates) of the candidates in reach, ascending.
    near: Vec<u32>,
}

/// Plans the fewest enrolments from `candidates` (merchant slots; those out of range, repeated,
/// failing `rules.keep`, signed, or of no essential category are ignored) so that each of
/// `communities` (community slots; out-of-range and repeated ones ignored) gets `k` signed
/// merchants of each essential category of `goal` within its circle, as far as the candidates
/// in reach allow.
pub fn plan(
    index: &SpatialIndex,
    communities: &[u32],
    candidates: &[u32],
    goal: &CoverGoal,
    rules: &Rules<'_>,
) -> CoverPlan {
    let reach = goal.reach_m();
    let essentials = goal.essentials();
    let n_ess = essentials.len();
    let layer = &index.merchants;
    let essential_of: Vec<Option<usize>> = layer
        .groups()
        .iter()
        .map(|g| essentials.iter().position(|(c, _)| c == g))
        .collect();

    let mut seen = HashSet::new();
    let comms: Vec<u32> = communities
        .iter()
        .copied()
        .filter(|&s| (s as usize) < index.communities.len() && seen.insert(s))
        .collect();

    let mut sorted: Vec<u32> = candidates
        .iter()
        .copied()
        .filter(|&s| (s as usize) < layer.len())
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut cands: Vec<Vec<u32>> = vec![Vec::new(); n_ess];
    let mut cand_of: HashMap<u32, (usize, u32)> = HashMap::new();
    for s in sorted {
        let m = layer.item(s);
        if (rules.is_signed)(m) || !(rules.keep)(m) {
            continue;
        }
        let Some(e) = essentials.iter().position(|(c, _)| *c == m.category()) else {
            continue;
        };
        cand_of.insert(s, (e, cands[e].len() as u32));
        cands[e].push(s);
    }

    // demands[e][ci]
    let mut demands: Vec<Vec<Demand>> = (0..n_ess)
        .map(|_| Vec::with_capacity(comms.len()))
        .collect();
    let mut have = vec![0u32; n_ess];
    let mut near: Vec<Vec<u32>> = vec![Vec::new(); n_ess];
    for &c_slot in &comms {
        have.iter_mut().for_each(|h| *h = 0);
        near.iter_mut().for_each(Vec::clear);
        let at = index.communities.item(c_slot).location;
        layer.for_each_within_radius_grouped(at, reach, |m_slot, group, _| {
            let Some(Some(e)) = essential_of.get(group as usize) else {
                return;
            };
            if let Some(&(ce, local)) = cand_of.get(&m_slot) {
                near[ce].push(local);
            } else if (rules.is_signed)(layer.item(m_slot)) {
                have[*e] += 1;
            }
        });
        for (e, (_, k)) in essentials.iter().enumerate() {
            let mut n = std::mem::take(&mut near[e]);
            n.sort_unstable();
            demands[e].push(Demand {
                have: have[e],
                need: k.saturating_sub(have[e]),
                near: n,
            });
        }
    }

    // One instance per category; its elements are the demands with something to cover.
    let mut picked: Vec<Vec<bool>> = cands.iter().map(|c| vec![false; c.len()]).collect();
    let mut by_category: Vec<CategoryPlan> = Vec::with_capacity(n_ess);
    // Per category: element → community index, and set → element list.
    let mut elements: Vec<Vec<usize>> = Vec::with_capacity(n_ess);
    let mut sets_of: Vec<Vec<Vec<u32>>> = Vec::with_capacity(n_ess);
    for (e, (cat, k)) in essentials.iter().enumerate() {
        let mut el_comm: Vec<usize> = Vec::new();
        let mut demand: Vec<u32> = Vec::new();
        let mut sets: Vec<Vec<u32>> = vec![Vec::new(); cands[e].len()];
        for (ci, d) in demands[e].iter().enumerate() {
            let coverable = d.need.min(d.near.len() as u32);
            if coverable == 0 {
                continue;
            }
            let el = el_comm.len() as u32;
            el_comm.push(ci);
            demand.push(coverable);
            for &j in &d.near {
                sets[j as usize].push(el);
            }
        }
        let inst = Instance {
            demand,
            priority: cands[e].iter().map(|&s| (rules.priority)(s)).collect(),
            sets,
        };
        let sol = solve(&inst);
        for &j in &sol.picks {
            picked[e][j] = true;
        }
        let row = &demands[e];
        let met_after = row
            .iter()
            .filter(|d| {
                let added = d.near.iter().filter(|&&j| picked[e][j as usize]).count() as u32;
                d.have + added >= *k
            })
            .count();
        by_category.push(CategoryPlan {
            category: cat.clone(),
            k: *k,
            demands: row.len(),
            met_before: row.iter().filter(|d| d.need == 0).count(),
            met_after,
            units_needed: row.iter().map(|d| u64::from(d.need)).sum(),
            units_coverable: inst.demand.iter().map(|&u| u64::from(u)).sum(),
            uncoverable: row
                .iter()
                .filter(|d| d.need as usize > d.near.len())
                .count(),
            candidates: cands[e].len(),
            picks: sol.picks.len(),
            lower_bound: sol.lower_bound,
            optimal: sol.optimal,
            guarantee: sol.guarantee,
            components: sol.components,
        });
        elements.push(el_comm);
        sets_of.push(inst.sets);
    }

    let mut uncoverable = Vec::new();
    for (ci, &c_slot) in comms.iter().enumerate() {
        for (e, (cat, _)) in essentials.iter().enumerate() {
            let d = &demands[e][ci];
            if d.need as usize > d.near.len() {
                uncoverable.push(Uncoverable {
                    community_slot: c_slot,
                    community_id: index.communities.item(c_slot).id.clone(),
                    category: cat.clone(),
                    need: d.need,
                    possible: d.near.len() as u32,
                });
            }
        }
    }

    // Enrolment order over all categories: most still-missing units first.
    let mut remaining: Vec<Vec<u32>> = (0..n_ess)
        .map(|e| {
            elements[e]
                .iter()
                .map(|&ci| {
                    let d = &demands[e][ci];
                    d.need.min(d.near.len() as u32)
                })
                .collect()
        })
        .collect();
    let mut todo: Vec<(usize, usize)> = (0..n_ess)
        .flat_map(|e| {
            picked[e]
                .iter()
                .enumerate()
                .filter(|(_, &p)| p)
                .map(move |(j, _)| (e, j))
        })
        .collect();
    let mut picks: Vec<Pick> = Vec::with_capacity(todo.len());
    while !todo.is_empty() {
        let gain = |&(e, j): &(usize, usize), remaining: &[Vec<u32>]| -> u32 {
            sets_of[e][j]
                .iter()
                .filter(|&&el| remaining[e][el as usize] > 0)
                .count() as u32
        };
        let key = |t: &(usize, usize)| {
            let slot = cands[t.0][t.1];
            (
                gain(t, &remaining),
                clean_priority((rules.priority)(slot)),
                slot as usize,
            )
        };
        let Some(best) = (0..todo.len()).min_by(|&a, &b| prefer(key(&todo[a]), key(&todo[b])))
        else {
            break;
        };
        let (e, j) = todo.swap_remove(best);
        let g = gain(&(e, j), &remaining);
        for &el in &sets_of[e][j] {
            let r = &mut remaining[e][el as usize];
            *r = r.saturating_sub(1);
        }
        let slot = cands[e][j];
        let m = layer.item(slot);
        picks.push(Pick {
            slot,
            merchant_id: m.id().to_string(),
            name: m.name().to_string(),
            category: m.category().to_string(),
            order: picks.len() as u32 + 1,
            gain: g,
            covers: sets_of[e][j]
                .iter()
                .map(|&el| (comms[elements[e][el as usize]], essentials[e].0.clone()))
                .collect(),
        });
    }

    let lower_bound: usize = by_category.iter().map(|c| c.lower_bound).sum();
    let optimal = by_category.iter().all(|c| c.optimal);
    let guarantee = by_category
        .iter()
        .map(|c| c.guarantee)
        .fold(1.0f64, f64::max);
    let within = if lower_bound == 0 {
        1.0
    } else {
        picks.len() as f64 / lower_bound as f64
    };
    CoverPlan {
        distance: DISTANCE_MODEL,
        reach_m: reach,
        reach_walking_m: goal.reach_walking_m,
        communities: comms.len(),
        candidates: cands.iter().map(Vec::len).sum(),
        demands_total: comms.len() * n_ess,
        demands_met_before: by_category.iter().map(|c| c.met_before).sum(),
        demands_met_after: by_category.iter().map(|c| c.met_after).sum(),
        units_needed: by_category.iter().map(|c| c.units_needed).sum(),
        units_coverable: by_category.iter().map(|c| c.units_coverable).sum(),
        picks,
        uncoverable,
        lower_bound,
        optimal,
        guarantee,
        within,
        by_category,
    }
}

/// Verifies a plan from scratch, with a plain scan of every merchant (haversine, no index):
/// the picks are distinct kept, unsigned candidates of an essential category; after enrolling
/// them every demand has `min(k, have + candidates in reach)` merchants, i.e. it is met unless
/// listed as uncoverable (and then all its candidates are picked); no pick is redundant; each
/// pick's `covers` lists exactly the short demands within its reach; the counts add up; and
/// `lower_bound ≤ picks` (equal when `optimal`). Returns what is wrong, if anything.
pub fn check(
    index: &SpatialIndex,
    communities: &[u32],
    candidates: &[u32],
    goal: &CoverGoal,
    rules: &Rules<'_>,
    plan: &CoverPlan,
) -> Result<(), Vec<String>> {
    let mut errors: Vec<String> = Vec::new();
    let reach = goal.reach_m();
    let essentials = goal.essentials();
    let merchants = index.merchants.table();
    let cand_set: HashSet<u32> = candidates.iter().copied().collect();
    let is_candidate = |s: u32| {
        merchants.try_get(s).is_some_and(|m| {
            cand_set.contains(&s)
                && !(rules.is_signed)(m)
                && (rules.keep)(m)
                && essentials.iter().any(|(c, _)| *c == m.category())
        })
    };
    let mut pick_slots = HashSet::new();
    for p in &plan.picks {
        if !pick_slots.insert(p.slot) {
            errors.push(format!("merchant slot {} is picked twice", p.slot));
        }
        if !is_candidate(p.slot) {
            errors.push(format!("pick {} is not an eligible candidate", p.slot));
        } else if merchants.get(p.slot).category() != p.category {
            errors.push(format!("pick {} has the wrong category", p.slot));
        }
    }
    let mut seen = HashSet::new();
    let comms: Vec<u32> = communities
        .iter()
        .copied()
        .filter(|&s| (s as usize) < index.communities.len() && seen.insert(s))
        .collect();
    // (community, category) → (have, possible, picked, k)
    let mut met_before = 0;
    let mut met_after = 0;
    let mut unc: Vec<(u32, String)> = Vec::new();
    let mut short: HashSet<(u32, &str)> = HashSet::new();
    let mut counts: HashMap<(u32, &str), (u32, u32, u32, u32)> = HashMap::new();
    for &c in &comms {
        let at = index.communities.item(c).location;
        for (cat, k) in &essentials {
            let (mut have, mut possible, mut added) = (0u32, 0u32, 0u32);
            for (s, m) in index.merchants.iter() {
                if m.category() != *cat || m.location().distance_m(&at) > reach {
                    continue;
                }
                if is_candidate(s) {
                    possible += 1;
                    if pick_slots.contains(&s) {
                        added += 1;
                    }
                } else if (rules.is_signed)(m) {
                    have += 1;
                }
            }
            let need = k.saturating_sub(have);
            if need == 0 {
                met_before += 1;
            } else {
                short.insert((c, cat.as_str()));
            }
            if have + added >= *k {
                met_after += 1;
            }
            if need > possible {
                unc.push((c, cat.clone()));
            }
            if have + added < (*k).min(have + possible) {
                errors.push(format!(
                    "community slot {c}, {cat}: {} of {k} after the plan, {possible} candidates in reach",
                    have + added
                ));
            }
            counts.insert((c, cat.as_str()), (have, possible, added, *k));
        }
    }
    let listed: Vec<(u32, String)> = plan
        .uncoverable
        .iter()
        .map(|u| (u.community_slot, u.category.clone()))
        .collect();
    if listed != unc {
        errors.push(format!(
            "uncoverable demands listed {listed:?}, found {unc:?}"
        ));
    }
    for p in &plan.picks {
        let Some(m) = merchants.try_get(p.slot) else {
            continue;
        };
        let mut expect: Vec<(u32, String)> = Vec::new();
        let mut needed = false;
        for &c in &comms {
            let at = index.communities.item(c).location;
            if m.location().distance_m(&at) > reach || !short.contains(&(c, m.category())) {
                continue;
            }
            expect.push((c, m.category().to_string()));
            if let Some(&(have, possible, added, k)) = counts.get(&(c, m.category())) {
                if have + added <= k.min(have + possible) {
                    needed = true;
                }
            }
        }
        if p.covers != expect {
            errors.push(format!(
                "pick {} claims {:?}, covers {expect:?}",
                p.slot, p.covers
            ));
        }
        if !needed {
            errors.push(format!("pick {} is redundant", p.slot));
        }
    }
    if plan.demands_total != comms.len() * essentials.len() {
        errors.push(format!("demands_total {} is wrong", plan.demands_total));
    }
    if plan.demands_met_before != met_before {
        errors.push(format!(
            "demands_met_before {} but {met_before} found",
            plan.demands_met_before
        ));
    }
    if plan.demands_met_after != met_after {
        errors.push(format!(
            "demands_met_after {} but {met_after} found",
            plan.demands_met_after
        ));
    }
    if plan.lower_bound > plan.picks.len() || (plan.optimal && plan.lower_bound != plan.picks.len())
    {
        errors.push(format!(
            "lower bound {} against {} picks (optimal: {})",
            plan.lower_bound,
            plan.picks.len(),
            plan.optimal
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests;
