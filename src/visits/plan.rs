//! The visit planner: which merchants an outlet's staff visit on a day (or over a week), in
//! what order, at what times.
//!
//! # The problem
//!
//! A team orienteering problem with time windows: `staff` walkers leave the outlet no earlier
//! than the window's start and are back by its end; each visits merchants for a number of
//! minutes that depends on the category; a visit lies wholly inside the merchant's opening
//! hours on that date ([`super::hours`]) and, for restaurants, overlaps no rush window; waiting
//! for a shop to open is allowed; no merchant is visited twice. The objective is the total
//! priority score of the visited merchants (`crate::scoring`), with must-visits first: a plan
//! holds as many must-visits as can be fitted together, then as much priority as possible.
//! Candidates with a score ≤ 0 are only visited when they are must-visits.
//!
//! Walking distances come from a [`WalkingDistances`] matrix: straight line × the detour factor
//! of `data/scoring.toml` ([`StraightLine`]) until a street network (issue 9) replaces it.
//!
//! # The solver, and why this one
//!
//! An iterated local search (module `solve`, after Vansteenwegen et al. 2009, the standard
//! heuristic for this problem): greedy insertion by value² / time used, local search (2-opt,
//! or-opt, moving a stop to another staff member, swapping a visited merchant for a better
//! unvisited one) and a perturbation that removes a run of stops from each route; seeded
//! (ChaCha8), so the same request gives the same plan. Balance: among plans of equal value the
//! final step moves and exchanges stops between staff while that narrows the spread (longest −
//! shortest working time), after shortening each route; total priority always comes first.
//!
//! The maintained Rust VRP solver on crates.io, `vrp-core` (reinterpretcat, 1.25), builds on
//! Rust 1.95 and can express this problem (optional jobs with a value objective, several time
//! windows per job). It was not taken: it adds ~25 crates (rayon, rosomaxa, a second `rand`)
//! and 85 s to a release build; its population-based metaheuristic is made for seconds of
//! search on hundreds of jobs, and runs in parallel, so its result depends on thread timing,
//! whereas our plans have ten stops a route and must come back in ≤ 100 ms, the same for the
//! same request. The tests prove this solver against the exact optimum (dynamic programming
//! over subsets) and the benchmark against long runs; see docs/VISITS.md.

use crate::index::MerchantRef;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;

use crate::domain::{FieldError, Location};

use super::hours::{start_windows, Interval, OpeningHours, Rush, DAY_MIN};
use super::params::{VisitParams, MAX_VISIT_MINUTES};
use super::solve::{self, Effort, Problem};

/// Walking metres between points, so that a street network can replace straight lines.
pub trait WalkingDistances {
    /// Walking metres between every pair of `points`, row-major `n × n` (`out[i * n + j]` from
    /// `points[i]` to `points[j]`); `f64::INFINITY` where there is no way.
    fn matrix(&self, points: &[Location]) -> Vec<f64>;
}

/// Straight line × detour factor (`ScoringParams::detour_factor`).
#[derive(Debug, Clone, Copy)]
pub struct StraightLine {
    pub detour_factor: f64,
}

impl WalkingDistances for StraightLine {
    fn matrix(&self, points: &[Location]) -> Vec<f64> {
        let n = points.len();
        let mut out = vec![0.0; n * n];
        for i in 0..n {
            for j in i + 1..n {
                let d = points[i].distance_m(&points[j]) * self.detour_factor;
                out[i * n + j] = d;
                out[j * n + i] = d;
            }
        }
        out
    }
}

/// Any `Fn(from, to) -> walking metres` is a distance matrix too.
impl<F: Fn(Location, Location) -> f64> WalkingDistances for F {
    fn matrix(&self, points: &[Location]) -> Vec<f64> {
        let n = points.len();
        let mut out = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    out[i * n + j] = self(points[i], points[j]);
                }
            }
        }
        out
    }
}

/// A merchant the planner may choose.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Slot in `SpatialIndex::merchants` (the plan refers to merchants by slot).
    pub slot: u32,
    /// Its priority score for the outlet (`scoring::score` / `rank`).
    pub priority: f64,
    pub location: Location,
    /// Category code: minutes per visit and whether the rush applies.
    pub category: String,
    pub hours: OpeningHours,
}

impl Candidate {
    /// A candidate from a merchant, its slot and its priority score.
    pub fn from_merchant(slot: u32, m: MerchantRef<'_>, priority: f64) -> Self {
        Self {
            slot,
            priority,
            location: m.location(),
            category: m.category().to_string(),
            hours: OpeningHours::from_text(m.opening_hours()),
        }
    }
}

/// One day's planning request.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// Where staff leave from and come back to: the outlet.
    pub start: Location,
    pub date: NaiveDate,
    /// Minutes of the day: leave no earlier than `window_start`, back by `window_end` (≤ 1440).
    pub window_start: u32,
    pub window_end: u32,
    pub walking_kmh: f64,
    /// Staff going out, ≥ 1: one route each.
    pub staff: usize,
    /// Minutes per visit for a category without an entry in `visit_minutes`.
    pub default_visit_minutes: u32,
    /// Minutes per visit by category code.
    pub visit_minutes: HashMap<String, u32>,
    pub rush: Rush,
    /// Slots that must be visited when they fit (a follow-up that is due, one picked by hand);
    /// each must also be among `candidates`.
    pub must_visit: Vec<u32>,
    pub candidates: Vec<Candidate>,
}

impl PlanRequest {
    /// A request with the defaults of `params` (walking speed, minutes per visit, rush, the
    /// default window), one staff member, no must-visits and no candidates yet.
    pub fn new(params: &VisitParams, start: Location, date: NaiveDate) -> Self {
        Self {
            start,
            date,
            window_start: params.default_window.start,
            window_end: params.default_window.end,
            walking_kmh: params.walking_kmh,
            staff: 1,
            default_visit_minutes: params.default_visit_minutes,
            visit_minutes: params.visit_minutes.clone(),
            rush: params.rush.clone(),
            must_visit: Vec::new(),
            candidates: Vec::new(),
        }
    }

    /// Minutes a visit to a merchant of `category` takes.
    pub fn visit_minutes_for(&self, category: &str) -> u32 {
        self.visit_minutes
            .get(category)
            .copied()
            .unwrap_or(self.default_visit_minutes)
    }

    /// Checks the request; the error names the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.window_end > DAY_MIN {
            return Err(FieldError::new("window_end", "is after 24:00"));
        }
        if self.window_start >= self.window_end {
            return Err(FieldError::new("window_end", "must be after window_start"));
        }
        if !self.walking_kmh.is_finite() || !(0.5..=30.0).contains(&self.walking_kmh) {
            return Err(FieldError::new("walking_kmh", "must be 0.5..=30"));
        }
        if !(1..=MAX_STAFF).contains(&self.staff) {
            return Err(FieldError::new("staff", format!("must be 1..={MAX_STAFF}")));
        }
        let minutes = std::iter::once((
            "default_visit_minutes".to_string(),
            self.default_visit_minutes,
        ))
        .chain(
            self.visit_minutes
                .iter()
                .map(|(k, &v)| (format!("visit_minutes.{k}"), v)),
        );
        for (field, m) in minutes {
            if m == 0 || m > MAX_VISIT_MINUTES {
                return Err(FieldError::new(
                    field,
                    format!("must be 1..={MAX_VISIT_MINUTES}"),
                ));
            }
        }
        if let Some(c) = self.candidates.iter().find(|c| !c.priority.is_finite()) {
            return Err(FieldError::new(
                "candidates",
                format!(
                    "merchant slot {} has a priority that is not a number",
                    c.slot
                ),
            ));
        }
        if self.candidates.len() > MAX_CANDIDATES {
            return Err(FieldError::new(
                "candidates",
                format!("at most {MAX_CANDIDATES}"),
            ));
        }
        Ok(())
    }
}

/// Most staff in one plan.
pub const MAX_STAFF: usize = 20;
/// Most candidates in one plan.
pub const MAX_CANDIDATES: usize = 5_000;

/// Rounds without a better plan after which the solver stops (see [`SolverOptions::stall`]).
pub const STALL: u32 = u32::MAX;

/// How hard the solver searches. `Default` is what the benchmark measures (docs/VISITS.md).
#[derive(Debug, Clone, Copy)]
pub struct SolverOptions {
    pub seed: u64,
    /// Perturbation rounds of the iterated local search.
    pub iterations: u32,
    /// One walker: stop once this many rounds in a row found no better plan (`u32::MAX`, the
    /// default: never). Plans for several staff always run every round. Stopping after 100
    /// idle rounds halves the time of a 40-candidate plan without opening hours, but loses up
    /// to 7% of the priority where rush hours and opening hours cut the day
    /// (`VISITS_STALL=1 cargo bench --bench visits`, docs/VISITS.md), so it is off by default.
    pub stall: u32,
    /// Stop early at this wall-clock budget (the plan then depends on the machine's speed).
    pub time_limit: Option<Duration>,
}

impl Default for SolverOptions {
    fn default() -> Self {
        Self {
            seed: 7,
            iterations: 300,
            stall: STALL,
            time_limit: None,
        }
    }
}

/// A walk between two points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Leg {
    pub metres: f64,
    pub minutes: f64,
}

/// One visit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stop {
    pub slot: u32,
    pub priority: f64,
    pub must_visit: bool,
    /// The merchant's hours were assumed (missing or unreadable): call ahead.
    pub hours_unknown: bool,
    /// The walk here from the previous stop (or the outlet).
    pub leg: Leg,
    /// Minutes of the day: arrival, start of the visit (later if waiting for the shop to open
    /// or a rush to end) and leaving.
    pub arrive: f64,
    pub start: f64,
    pub leave: f64,
}

/// One staff member's route.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    /// 0-based staff number.
    pub staff: usize,
    /// Leaving the outlet: the window's start, or later so as not to wait at the first stop.
    pub depart: f64,
    pub stops: Vec<Stop>,
    /// The walk from the last stop back to the outlet (zero for an empty route).
    pub back: Leg,
    /// Back at the outlet.
    pub end: f64,
    pub total_priority: f64,
    pub walking_m: f64,
    pub walking_min: f64,
    pub visiting_min: f64,
    pub waiting_min: f64,
}

/// Why a must-visit is not in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The slot is not among the candidates.
    NotACandidate,
    /// Another outlet owns the merchant (weekly plan).
    OtherOutlet,
    /// Not open long enough for a visit within the window on that day.
    Closed,
    /// Open, but only while its rush is on (restaurants).
    Rush,
    /// Cannot walk there, visit and be back within the window.
    OutOfReach,
    /// Fits alone, but not together with the other must-visits.
    NoRoom,
    /// Weekly plan: its follow-up date is after the planned days.
    FollowUpLater,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotACandidate => "not_a_candidate",
            Self::OtherOutlet => "other_outlet",
            Self::Closed => "closed",
            Self::Rush => "rush",
            Self::OutOfReach => "out_of_reach",
            Self::NoRoom => "no_room",
            Self::FollowUpLater => "follow_up_later",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::NotACandidate => "不在候选商户中",
            Self::OtherOutlet => "属于其他网点",
            Self::Closed => "时段内未营业",
            Self::Rush => "仅在用餐高峰营业",
            Self::OutOfReach => "时段内往返不及",
            Self::NoRoom => "与其他必访商户时间冲突",
            Self::FollowUpLater => "回访日期在本周之后",
        }
    }
}

/// A must-visit that is not in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Unplanned {
    pub slot: u32,
    pub reason: Reason,
}

/// A day's plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub date: NaiveDate,
    pub window_start: u32,
    pub window_end: u32,
    /// One per staff member (some may be empty).
    pub routes: Vec<Route>,
    pub total_priority: f64,
    pub unplanned_must: Vec<Unplanned>,
    /// Candidates that could be visited at all that day (open, reachable, worth a visit).
    pub feasible_candidates: usize,
}

impl Plan {
    /// Every visited slot, route by route.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.routes
            .iter()
            .flat_map(|r| r.stops.iter().map(|s| s.slot))
    }
}

/// Plans one day; see the module documentation. Deterministic for the same request and
/// options (unless `time_limit` cuts the search short).
pub fn plan(
    req: &PlanRequest,
    walking: &dyn WalkingDistances,
    opts: &SolverOptions,
) -> Result<Plan, FieldError> {
    req.validate()?;
    let (cands, must) = dedup(req);
    let mut points = Vec::with_capacity(cands.len() + 1);
    points.push(req.start);
    points.extend(cands.iter().map(|c| c.location));
    let metres = walking.matrix(&points);
    if metres.len() != points.len() * points.len() {
        return Err(FieldError::new(
            "walking",
            "the distance matrix does not have one entry per pair of points",
        ));
    }
    let all: Vec<usize> = (0..cands.len()).collect();
    Ok(plan_day(
        req,
        &cands,
        &must,
        &all,
        &metres,
        points.len(),
        opts,
    ))
}

/// The candidates without repeated slots (the first wins), and the must-visit set.
fn dedup(req: &PlanRequest) -> (Vec<&Candidate>, HashSet<u32>) {
    let mut seen = HashSet::new();
    let cands: Vec<&Candidate> = req
        .candidates
        .iter()
        .filter(|c| seen.insert(c.slot))
        .collect();
    (cands, req.must_visit.iter().copied().collect())
}

/// Plans the day for the candidates `cands[k]` for `k` in `use_idx`; `metres` is the full
/// matrix over `[start] + cands` (side `side`).
fn plan_day(
    req: &PlanRequest,
    cands: &[&Candidate],
    must: &HashSet<u32>,
    use_idx: &[usize],
    metres: &[f64],
    side: usize,
    opts: &SolverOptions,
) -> Plan {
    let Day {
        problem,
        is_must,
        open_on,
    } = build_day(req, cands, must, use_idx, metres, side);
    let within = Interval {
        start: req.window_start,
        end: req.window_end,
    };
    let idx = |node: usize| if node == 0 { 0 } else { use_idx[node - 1] + 1 };
    let effort = Effort {
        seed: opts.seed,
        iterations: opts.iterations,
        stall: opts.stall,
        deadline: opts.time_limit.map(|d| Instant::now() + d),
    };
    let sol = solve::solve(&problem, &effort);
    let n = problem.n;
    let mut unplanned = Vec::new();

    // Must-visits that are not candidates, then those the solution leaves out, with why.
    let slots_here: HashSet<u32> = use_idx.iter().map(|&k| cands[k].slot).collect();
    let mut must_sorted: Vec<u32> = must.iter().copied().collect();
    must_sorted.sort_unstable();
    for &s in &must_sorted {
        if !slots_here.contains(&s) {
            unplanned.push(Unplanned {
                slot: s,
                reason: Reason::NotACandidate,
            });
        }
    }
    let routed: HashSet<usize> = sol.routes.iter().flatten().copied().collect();
    for node in 1..=n {
        if !is_must[node] || routed.contains(&node) {
            continue;
        }
        let c = cands[use_idx[node - 1]];
        let reason = if problem.starts[node].is_empty() {
            let minutes = problem.visit[node] as u32;
            if start_windows(&open_on[node], minutes, within, &[]).is_empty() {
                Reason::Closed
            } else {
                Reason::Rush
            }
        } else if !problem.reachable(node) {
            Reason::OutOfReach
        } else {
            Reason::NoRoom
        };
        unplanned.push(Unplanned {
            slot: c.slot,
            reason,
        });
    }
    unplanned.sort_by_key(|u| u.slot);

    let feasible_candidates = (1..=n)
        .filter(|&i| (problem.value[i] > 0.0) && problem.reachable(i))
        .count();
    let leg = |a: usize, b: usize| Leg {
        metres: metres[idx(a) * side + idx(b)],
        minutes: problem.tt(a, b),
    };
    let routes: Vec<Route> = sol
        .routes
        .iter()
        .enumerate()
        .map(|(staff, route)| {
            let (times, end) = solve::timeline(&problem, route);
            let mut stops = Vec::with_capacity(route.len());
            let mut prev = 0;
            for (&node, &(arrive, start, leave)) in route.iter().zip(&times) {
                let c = cands[use_idx[node - 1]];
                stops.push(Stop {
                    slot: c.slot,
                    priority: c.priority,
                    must_visit: is_must[node],
                    hours_unknown: !c.hours.is_known(),
                    leg: leg(prev, node),
                    arrive,
                    start,
                    leave,
                });
                prev = node;
            }
            let back = leg(prev, 0);
            let depart = stops
                .first()
                .map_or(problem.ws, |s| s.arrive - s.leg.minutes);
            let walking_m = stops.iter().map(|s| s.leg.metres).sum::<f64>() + back.metres;
            let walking_min = stops.iter().map(|s| s.leg.minutes).sum::<f64>() + back.minutes;
            Route {
                staff,
                depart,
                total_priority: stops.iter().map(|s| s.priority).sum(),
                visiting_min: stops.iter().map(|s| s.leave - s.start).sum(),
                waiting_min: stops.iter().map(|s| s.start - s.arrive).sum(),
                end: if stops.is_empty() { problem.ws } else { end },
                stops,
                back,
                walking_m,
                walking_min,
            }
        })
        .collect();
    Plan {
        date: req.date,
        window_start: req.window_start,
        window_end: req.window_end,
        total_priority: routes.iter().map(|r| r.total_priority).sum(),
        routes,
        unplanned_must: unplanned,
        feasible_candidates,
    }
}

/// A day's problem for the solver, and what the output needs besides.
pub(crate) struct Day {
    pub problem: Problem,
    /// By node.
    pub is_must: Vec<bool>,
    /// Opening hours on the date by node (to tell `Closed` from `Rush`).
    pub open_on: Vec<Vec<Interval>>,
}

/// Builds the solver's problem for the candidates `cands[k]`, `k` in `use_idx` (node `i + 1`
/// is `cands[use_idx[i]]`); `metres` is the matrix over `[start] + cands` (side `side`).
pub(crate) fn build_day(
    req: &PlanRequest,
    cands: &[&Candidate],
    must: &HashSet<u32>,
    use_idx: &[usize],
    metres: &[f64],
    side: usize,
) -> Day {
    let within = Interval {
        start: req.window_start,
        end: req.window_end,
    };
    let per_min = req.walking_kmh * 1000.0 / 60.0;
    // Bonus: one must-visit outweighs every priority together.
    let bonus = 1.0
        + use_idx
            .iter()
            .map(|&k| cands[k].priority.max(0.0))
            .sum::<f64>();
    let n = use_idx.len();
    let mut value = vec![0.0; n + 1];
    let mut visit = vec![0.0; n + 1];
    let mut starts = vec![Vec::new(); n + 1];
    let mut is_must = vec![false; n + 1];
    // Opening hours on the date, kept to tell Closed from Rush.
    let mut open_on = vec![Vec::new(); n + 1];
    for (i, &k) in use_idx.iter().enumerate() {
        let c = cands[k];
        let node = i + 1;
        let minutes = req.visit_minutes_for(&c.category);
        let open = c.hours.on(req.date);
        let sw = start_windows(&open, minutes, within, req.rush.windows_for(&c.category));
        starts[node] = sw
            .into_iter()
            .map(|(a, b)| (f64::from(a), f64::from(b)))
            .collect();
        open_on[node] = open;
        visit[node] = f64::from(minutes);
        is_must[node] = must.contains(&c.slot);
        let p = c.priority.max(0.0);
        value[node] = if is_must[node] { p + bonus } else { p };
    }
    let mut travel = vec![0.0; (n + 1) * (n + 1)];
    let idx = |node: usize| if node == 0 { 0 } else { use_idx[node - 1] + 1 };
    for a in 0..=n {
        for b in 0..=n {
            let m = metres[idx(a) * side + idx(b)];
            travel[a * (n + 1) + b] = if a == b { 0.0 } else { m / per_min };
        }
    }
    let problem = Problem {
        n,
        staff: req.staff,
        value,
        visit,
        starts,
        travel,
        ws: f64::from(req.window_start),
        we: f64::from(req.window_end),
    };
    Day {
        problem,
        is_must,
        open_on,
    }
}

// ---------------------------------------------------------------------------------------------
// The week.

/// A week's planning request: `day` is the template (start, window, staff, speeds, candidates);
/// its `date` is ignored and its `must_visit` are merchants picked by hand for the week, planned
/// on the first day they fit.
#[derive(Debug, Clone)]
pub struct WeekRequest {
    pub day: PlanRequest,
    /// The days to plan, in order (see [`workdays`]).
    pub days: Vec<NaiveDate>,
    /// Interested merchants to come back to: slot → follow-up date. Due on that date (on the
    /// next planned day if that date is not planned; from the first day if it is already past);
    /// not planned before it; left out if it is after the last day.
    pub follow_ups: Vec<(u32, NaiveDate)>,
}

/// A week's plans.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekPlan {
    pub days: Vec<Plan>,
    pub total_priority: f64,
    /// Must-visits and follow-ups never planned this week, with the last reason.
    pub unplanned: Vec<Unplanned>,
}

/// The first `n` workdays (Monday to Friday) from `from` on, `from` included if it is one.
pub fn workdays(from: NaiveDate, n: usize) -> Vec<NaiveDate> {
    from.iter_days()
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .take(n)
        .collect()
}

/// Plans a week day by day: each day gets the best plan of the merchants not planned on an
/// earlier day, so no merchant is planned twice; follow-ups are must-visits from their date
/// on, hand-picked must-visits from the first day; merchants for which `ours(slot)` is false
/// (another outlet's territory, `Territories::outlet_of`) are never planned. The distance matrix
/// is computed once for the week.
pub fn plan_week(
    req: &WeekRequest,
    ours: &dyn Fn(u32) -> bool,
    walking: &dyn WalkingDistances,
    opts: &SolverOptions,
) -> Result<WeekPlan, FieldError> {
    req.day.validate()?;
    if req.days.is_empty() {
        return Err(FieldError::new("days", "at least one day"));
    }
    if req.days.windows(2).any(|w| w[0] >= w[1]) {
        return Err(FieldError::new("days", "must be in ascending order"));
    }
    let (cands, hand_picked) = dedup(&req.day);
    let mut points = Vec::with_capacity(cands.len() + 1);
    points.push(req.day.start);
    points.extend(cands.iter().map(|c| c.location));
    let side = points.len();
    let metres = walking.matrix(&points);
    if metres.len() != side * side {
        return Err(FieldError::new(
            "walking",
            "the distance matrix does not have one entry per pair of points",
        ));
    }
    let last_day = req.days[req.days.len() - 1];
    let mut follow: HashMap<u32, NaiveDate> = HashMap::new();
    for &(slot, date) in &req.follow_ups {
        // The earliest date wins if a merchant is listed twice.
        let e = follow.entry(slot).or_insert(date);
        *e = (*e).min(date);
    }
    let candidate_slots: HashSet<u32> = cands.iter().map(|c| c.slot).collect();
    let mut last_reason: HashMap<u32, Reason> = HashMap::new();
    let mut wanted: Vec<u32> = hand_picked
        .iter()
        .copied()
        .chain(follow.keys().copied())
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    for &s in &wanted {
        if !ours(s) {
            last_reason.insert(s, Reason::OtherOutlet);
        } else if !candidate_slots.contains(&s) {
            last_reason.insert(s, Reason::NotACandidate);
        } else if follow.get(&s).is_some_and(|&d| d > last_day) {
            last_reason.insert(s, Reason::FollowUpLater);
        }
    }

    let mut planned: HashSet<u32> = HashSet::new();
    let mut days = Vec::with_capacity(req.days.len());
    for &date in &req.days {
        let use_idx: Vec<usize> = (0..cands.len())
            .filter(|&k| {
                let s = cands[k].slot;
                ours(s) && !planned.contains(&s) && follow.get(&s).is_none_or(|&d| d <= date)
            })
            .collect();
        let must: HashSet<u32> = use_idx
            .iter()
            .map(|&k| cands[k].slot)
            .filter(|s| hand_picked.contains(s) || follow.contains_key(s))
            .collect();
        let mut day_req = req.day.clone();
        day_req.date = date;
        let day = plan_day(&day_req, &cands, &must, &use_idx, &metres, side, opts);
        for s in day.slots() {
            planned.insert(s);
            last_reason.remove(&s);
        }
        for u in &day.unplanned_must {
            last_reason.insert(u.slot, u.reason);
        }
        days.push(day);
    }
    let mut unplanned: Vec<Unplanned> = last_reason
        .into_iter()
        .filter(|(s, _)| !planned.contains(s))
        .map(|(slot, reason)| Unplanned { slot, reason })
        .collect();
    unplanned.sort_by_key(|u| u.slot);
    Ok(WeekPlan {
        total_priority: days.iter().map(|d| d.total_priority).sum(),
        days,
        unplanned,
    })
}

#[cfg(test)]
mod tests;
