//! Planner tests: feasibility of every plan, must-visits and their reasons, balance, the week,
//! and the solver against the exact optimum on many small random instances.

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::visits::hours::HoursSource;
use crate::visits::solve::{exact, solve as run_solver, Effort};

const DETOUR: f64 = 1.3;
const WALK: StraightLine = StraightLine {
    detour_factor: DETOUR,
};

fn params() -> VisitParams {
    VisitParams::builtin().unwrap()
}

fn outlet() -> Location {
    Location::new(103.7610, 29.5690).unwrap()
}

/// A point `east_m` / `north_m` metres from the outlet.
fn at(east_m: f64, north_m: f64) -> Location {
    let o = outlet();
    let dlat = north_m / 111_195.0;
    let dlon = east_m / (111_195.0 * o.lat().to_radians().cos());
    Location::new(o.lon() + dlon, o.lat() + dlat).unwrap()
}

fn cand(slot: u32, priority: f64, loc: Location, category: &str, hours: &str) -> Candidate {
    Candidate {
        slot,
        priority,
        location: loc,
        category: category.into(),
        hours: OpeningHours::from_text(Some(hours)),
    }
}

/// 2026-03-04, a Wednesday.
fn wednesday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 4).unwrap()
}

fn hm(h: u32, m: u32) -> u32 {
    h * 60 + m
}

/// Checks everything a plan promises, from the request alone (not the solver's internals).
fn check_plan(req: &PlanRequest, plan: &Plan) {
    const T: f64 = 1e-6;
    let by_slot: HashMap<u32, &Candidate> = req.candidates.iter().map(|c| (c.slot, c)).collect();
    let per_min = req.walking_kmh * 1000.0 / 60.0;
    let ws = f64::from(req.window_start);
    let we = f64::from(req.window_end);
    let mut seen = HashSet::new();
    assert_eq!(plan.routes.len(), req.staff);
    let mut total = 0.0;
    for route in &plan.routes {
        assert!(route.depart >= ws - T, "departs before the window");
        let mut t = route.depart;
        let mut from = req.start;
        let mut walking = 0.0;
        for s in &route.stops {
            assert!(seen.insert(s.slot), "slot {} visited twice", s.slot);
            let c = by_slot[&s.slot];
            let metres = from.distance_m(&c.location) * DETOUR;
            assert!((s.leg.metres - metres).abs() < 1e-6 * metres.max(1.0));
            assert!((s.leg.minutes - metres / per_min).abs() < T);
            assert!(
                (s.arrive - (t + s.leg.minutes)).abs() < T,
                "arrival adds up"
            );
            assert!(s.start >= s.arrive - T, "starts before arriving");
            let minutes = f64::from(req.visit_minutes_for(&c.category));
            assert!((s.leave - s.start - minutes).abs() < T, "visit length");
            let inside =
                c.hours.on(req.date).iter().any(|iv| {
                    f64::from(iv.start) <= s.start + T && s.leave <= f64::from(iv.end) + T
                });
            assert!(inside, "slot {} visited outside its hours", s.slot);
            for r in req.rush.windows_for(&c.category) {
                let overlap = s.start < f64::from(r.end) - T && f64::from(r.start) < s.leave - T;
                assert!(!overlap, "slot {} visited in the rush {r}", s.slot);
            }
            assert!(s.start >= ws - T && s.leave <= we + T);
            assert_eq!(s.must_visit, req.must_visit.contains(&s.slot));
            assert_eq!(s.hours_unknown, !c.hours.is_known());
            assert_eq!(s.priority, c.priority);
            walking += s.leg.metres;
            t = s.leave;
            from = c.location;
        }
        if let Some(last) = route.stops.last() {
            let back = from.distance_m(&req.start) * DETOUR;
            assert!((route.back.metres - back).abs() < 1e-6 * back.max(1.0));
            assert!((route.end - (last.leave + route.back.minutes)).abs() < T);
            assert!(route.end <= we + T, "back after the window");
            walking += back;
        }
        assert!((route.walking_m - walking).abs() < 1e-6 * walking.max(1.0));
        let p: f64 = route.stops.iter().map(|s| s.priority).sum();
        assert!((route.total_priority - p).abs() < 1e-9);
        total += p;
    }
    assert!((plan.total_priority - total).abs() < 1e-9);
    // Every must-visit is planned or explained, not both.
    let unplanned: HashSet<u32> = plan.unplanned_must.iter().map(|u| u.slot).collect();
    for m in &req.must_visit {
        assert!(
            seen.contains(m) != unplanned.contains(m),
            "must-visit {m} neither planned nor explained (or both)"
        );
    }
}

const HOURS: &[&str] = &[
    "09:00-21:00",
    "10:00-22:00",
    "06:30-14:00,17:00-21:00",
    "11:00-14:00,17:00-21:30",
    "17:00-02:00",
    "24/7",
    "Mo-Fr 15:00-21:00; Sa-Su 09:00-18:00",
    "14:00-16:00",
    "08:00-12:00",
    "营业中",
    "09:30-11:40",
];
const CATEGORIES: &[&str] = &[
    "dining",
    "dining",
    "tea_coffee",
    "beauty",
    "supermarket",
    "hotel",
];

/// A random request of `n` candidates within ~900 m of the outlet.
fn random_request(rng: &mut ChaCha8Rng, n: usize, staff: usize) -> PlanRequest {
    let date = wednesday() + chrono::Duration::days(rng.random_range(0..7));
    let mut req = PlanRequest::new(&params(), outlet(), date);
    let start = [
        hm(9, 0),
        hm(10, 0),
        hm(11, 0),
        hm(13, 0),
        hm(14, 0),
        hm(16, 0),
    ][rng.random_range(0..6)];
    let len = if staff == 1 {
        rng.random_range(90..=240)
    } else {
        rng.random_range(60..=150)
    };
    req.window_start = start;
    req.window_end = (start + len).min(DAY_MIN);
    req.staff = staff;
    for slot in 0..n as u32 {
        let loc = at(
            rng.random_range(-900.0..900.0),
            rng.random_range(-900.0..900.0),
        );
        let priority = (rng.random_range(0.05..1.0f64) * 1000.0).round() / 1000.0;
        req.candidates.push(cand(
            slot * 3 + 1,
            priority,
            loc,
            CATEGORIES[rng.random_range(0..CATEGORIES.len())],
            HOURS[rng.random_range(0..HOURS.len())],
        ));
    }
    if rng.random_bool(0.3) {
        for _ in 0..rng.random_range(1..=2) {
            let k = rng.random_range(0..n);
            req.must_visit.push(req.candidates[k].slot);
        }
    }
    req
}

fn day_of(req: &PlanRequest) -> Day {
    let (cands, must) = dedup(req);
    let mut points = vec![req.start];
    points.extend(cands.iter().map(|c| c.location));
    let metres = WALK.matrix(&points);
    let all: Vec<usize> = (0..cands.len()).collect();
    build_day(req, &cands, &must, &all, &metres, points.len())
}

/// (must-visits, priority) of an objective value with the day's must-visit bonus.
fn split(value: f64, bonus: f64) -> (u32, f64) {
    let k = ((value + 1e-9) / bonus).floor();
    (k as u32, value - k * bonus)
}

/// The solver against the exact optimum on random instances of ≤ 12 candidates.
fn compare_with_optimum(staff: usize, instances: u64, n: usize) -> (u64, f64) {
    let mut equal = 0;
    let mut worst: f64 = 1.0;
    for seed in 0..instances {
        let mut rng = ChaCha8Rng::seed_from_u64(1_000 * staff as u64 + seed);
        let req = random_request(&mut rng, n, staff);
        let day = day_of(&req);
        let p = &day.problem;
        let must_count = day.is_must.iter().filter(|&&m| m).count();
        let priorities: f64 = req.candidates.iter().map(|c| c.priority.max(0.0)).sum();
        let bonus = 1.0 + priorities;
        let opt = exact::optimum(p);
        let sol = run_solver(
            p,
            &Effort {
                seed: SolverOptions::default().seed,
                iterations: SolverOptions::default().iterations,
                stall: SolverOptions::default().stall,
                deadline: None,
            },
        );
        assert!(
            sol.value <= opt + 1e-6,
            "seed {seed}: better than the optimum?"
        );
        let (opt_must, opt_prio) = split(opt, bonus);
        let (got_must, got_prio) = split(sol.value, bonus);
        assert!(opt_must as usize <= must_count);
        assert_eq!(
            got_must, opt_must,
            "staff {staff} seed {seed}: must-visits {got_must} of a possible {opt_must}"
        );
        if got_prio >= opt_prio - 1e-6 {
            equal += 1;
        } else {
            let ratio = got_prio / opt_prio;
            worst = worst.min(ratio);
            eprintln!("staff {staff} seed {seed}: {got_prio:.3} of the optimum {opt_prio:.3} ({ratio:.4})");
        }
        // And the plan built from it keeps every promise.
        let plan = plan(&req, &WALK, &SolverOptions::default()).unwrap();
        check_plan(&req, &plan);
        assert!((plan.total_priority - got_prio).abs() < 1e-6 || must_count > 0);
    }
    eprintln!(
        "staff {staff}: optimum on {equal} of {instances} instances of {n} candidates; worst {worst:.4}"
    );
    (equal, worst)
}

#[test]
fn solver_matches_the_exact_optimum_one_staff() {
    // Observed: the optimum on 299 of 300; the one miss has 97.1% of the optimal priority
    // (with the same number of must-visits, as always).
    let (equal, worst) = compare_with_optimum(1, 300, 12);
    assert!(equal >= 299, "optimum on {equal} of 300");
    assert!(worst >= 0.97, "worst {worst}");
}

#[test]
fn solver_matches_the_exact_optimum_two_staff() {
    // Observed: the optimum on all 120.
    let (equal, worst) = compare_with_optimum(2, 120, 12);
    assert_eq!(equal, 120, "worst {worst}");
}

#[test]
fn solver_matches_the_exact_optimum_three_staff() {
    // Observed: the optimum on all 60.
    let (equal, worst) = compare_with_optimum(3, 60, 11);
    assert_eq!(equal, 60, "worst {worst}");
}

#[test]
fn exact_search_agrees_with_brute_force_on_tiny_instances() {
    // The DP itself checked against trying every order of every subset (n ≤ 6, one staff).
    fn best(p: &Problem, route: &mut Vec<usize>, used: &mut [bool]) -> f64 {
        let mut b: f64 = if p.end_time(route).is_some() {
            route.iter().map(|&i| p.value[i]).sum()
        } else {
            return f64::NEG_INFINITY;
        };
        for i in 1..=p.n {
            if !used[i] {
                used[i] = true;
                route.push(i);
                b = b.max(best(p, route, used));
                route.pop();
                used[i] = false;
            }
        }
        b
    }
    for seed in 0..40 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let req = random_request(&mut rng, 6, 1);
        let day = day_of(&req);
        let brute = best(&day.problem, &mut Vec::new(), &mut [false; 7]);
        assert!(
            (exact::optimum(&day.problem) - brute).abs() < 1e-9,
            "seed {seed}"
        );
    }
}

#[test]
fn opening_hours_rush_and_waiting_are_respected() {
    let mut req = PlanRequest::new(&params(), outlet(), wednesday());
    req.window_start = hm(10, 0);
    req.window_end = hm(15, 0);
    // A restaurant next door open all day: never 11:30–13:30.
    req.candidates
        .push(cand(1, 0.9, at(100.0, 0.0), "dining", "09:00-21:00"));
    // A shop that opens at 14:00: the walker waits or comes later.
    req.candidates
        .push(cand(2, 0.8, at(0.0, 150.0), "beauty", "14:00-22:00"));
    // A restaurant open only during the lunch rush: never visitable.
    req.candidates
        .push(cand(3, 1.0, at(-100.0, 0.0), "dining", "11:40-13:20"));
    // Unknown hours: planned, flagged.
    req.candidates
        .push(cand(4, 0.5, at(0.0, -120.0), "supermarket", "看情况"));
    let plan = plan(&req, &WALK, &SolverOptions::default()).unwrap();
    check_plan(&req, &plan);
    let slots: HashSet<u32> = plan.slots().collect();
    assert_eq!(slots, HashSet::from([1, 2, 4]));
    let stop4 = plan.routes[0].stops.iter().find(|s| s.slot == 4).unwrap();
    assert!(stop4.hours_unknown);
    let stop2 = plan.routes[0].stops.iter().find(|s| s.slot == 2).unwrap();
    assert!(stop2.start >= f64::from(hm(14, 0)));
}

#[test]
fn must_visits_come_first_and_say_why_when_they_cannot() {
    let mut req = PlanRequest::new(&params(), outlet(), wednesday());
    req.window_start = hm(14, 0);
    req.window_end = hm(16, 0);
    // Many good merchants close by…
    for k in 0..10u32 {
        req.candidates.push(cand(
            10 + k,
            0.9,
            at(50.0 * f64::from(k), 60.0),
            "beauty",
            "10:00-22:00",
        ));
    }
    // …and a poor one far away that must be visited (25 minutes' walk each way).
    req.candidates
        .push(cand(1, 0.01, at(1_400.0, 0.0), "retail", "10:00-22:00"));
    // Must-visits that cannot be: closed, only open in the rush, out of reach, not a candidate.
    req.candidates
        .push(cand(2, 0.5, at(0.0, 100.0), "beauty", "Mo-Tu 10:00-22:00"));
    req.candidates
        .push(cand(3, 0.5, at(0.0, 100.0), "dining", "17:00-18:00"));
    req.candidates
        .push(cand(4, 0.5, at(6_000.0, 0.0), "beauty", "24/7"));
    req.must_visit = vec![1, 2, 4, 99];
    let mut plan_ = plan(&req, &WALK, &SolverOptions::default()).unwrap();
    check_plan(&req, &plan_);
    assert!(plan_.slots().any(|s| s == 1));
    let reasons: Vec<(u32, Reason)> = plan_
        .unplanned_must
        .iter()
        .map(|u| (u.slot, u.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (2, Reason::Closed),
            (4, Reason::OutOfReach),
            (99, Reason::NotACandidate)
        ]
    );

    // Rush: a restaurant open only 11:40–13:20 in a window over lunch.
    req.window_start = hm(11, 0);
    req.window_end = hm(14, 0);
    req.candidates[11] = cand(2, 0.5, at(0.0, 100.0), "dining", "11:40-13:20");
    req.must_visit = vec![2];
    plan_ = plan(&req, &WALK, &SolverOptions::default()).unwrap();
    assert_eq!(plan_.unplanned_must[0].reason, Reason::Rush);

    // No room: two must-visits that each need the whole window, far apart.
    let mut req = PlanRequest::new(&params(), outlet(), wednesday());
    req.window_start = hm(14, 0);
    req.window_end = hm(15, 0);
    req.candidates
        .push(cand(1, 0.2, at(600.0, 0.0), "beauty", "10:00-22:00"));
    req.candidates
        .push(cand(2, 0.3, at(-600.0, 0.0), "beauty", "10:00-22:00"));
    req.must_visit = vec![1, 2];
    let p = plan(&req, &WALK, &SolverOptions::default()).unwrap();
    check_plan(&req, &p);
    assert_eq!(p.slots().count(), 1);
    assert_eq!(p.unplanned_must[0].reason, Reason::NoRoom);
    // With two staff both fit.
    req.staff = 2;
    let p = plan(&req, &WALK, &SolverOptions::default()).unwrap();
    check_plan(&req, &p);
    assert!(p.unplanned_must.is_empty());
    assert!(p.routes.iter().all(|r| r.stops.len() == 1));
}

#[test]
fn staff_get_balanced_routes_when_everything_fits() {
    let mut req = PlanRequest::new(&params(), outlet(), wednesday());
    req.window_start = hm(14, 0);
    req.window_end = hm(17, 30);
    req.staff = 3;
    for k in 0..6u32 {
        let angle = f64::from(k) * std::f64::consts::PI / 3.0;
        req.candidates.push(cand(
            k,
            0.5,
            at(300.0 * angle.cos(), 300.0 * angle.sin()),
            "beauty",
            "10:00-22:00",
        ));
    }
    let plan = plan(&req, &WALK, &SolverOptions::default()).unwrap();
    check_plan(&req, &plan);
    assert_eq!(plan.slots().count(), 6);
    let busy: Vec<f64> = plan.routes.iter().map(|r| r.end - r.depart).collect();
    let spread = busy.iter().copied().fold(f64::MIN, f64::max)
        - busy.iter().copied().fold(f64::MAX, f64::min);
    assert!(plan.routes.iter().all(|r| r.stops.len() == 2), "{:?}", busy);
    assert!(spread < 5.0, "spread {spread} min: {busy:?}");
}

#[test]
fn plans_are_deterministic_and_take_a_distance_closure() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut req = random_request(&mut rng, 40, 2);
    req.window_start = hm(14, 0);
    req.window_end = hm(17, 30);
    let a = plan(&req, &WALK, &SolverOptions::default()).unwrap();
    let b = plan(&req, &WALK, &SolverOptions::default()).unwrap();
    assert_eq!(a, b);
    check_plan(&req, &a);
    // A street network stand-in: twice the straight line. Fewer visits fit.
    let far = |x: Location, y: Location| x.distance_m(&y) * 2.0;
    let c = plan(&req, &far, &SolverOptions::default()).unwrap();
    assert!(c.total_priority <= a.total_priority + 1e-9);
    assert!(c.routes[0].stops.first().is_none_or(|s| {
        let d = outlet().distance_m(
            &req.candidates
                .iter()
                .find(|k| k.slot == s.slot)
                .unwrap()
                .location,
        );
        (s.leg.metres - 2.0 * d).abs() < 1e-6
    }));
}

#[test]
fn bad_requests_name_the_field() {
    let base = PlanRequest::new(&params(), outlet(), wednesday());
    let field = |f: &dyn Fn(&mut PlanRequest)| {
        let mut r = base.clone();
        f(&mut r);
        plan(&r, &WALK, &SolverOptions::default())
            .unwrap_err()
            .field
    };
    assert_eq!(field(&|r| r.staff = 0), "staff");
    assert_eq!(field(&|r| r.window_end = r.window_start), "window_end");
    assert_eq!(field(&|r| r.window_end = 1500), "window_end");
    assert_eq!(field(&|r| r.walking_kmh = f64::NAN), "walking_kmh");
    assert_eq!(
        field(&|r| {
            r.visit_minutes.insert("hotel".into(), 0);
        }),
        "visit_minutes.hotel"
    );
    assert_eq!(
        field(&|r| r.candidates.push(cand(1, f64::NAN, outlet(), "x", "24/7"))),
        "candidates"
    );
    struct Short;
    impl WalkingDistances for Short {
        fn matrix(&self, _: &[Location]) -> Vec<f64> {
            vec![0.0]
        }
    }
    let mut r = base.clone();
    r.candidates.push(cand(1, 0.5, outlet(), "beauty", "24/7"));
    assert_eq!(
        plan(&r, &Short, &SolverOptions::default())
            .unwrap_err()
            .field,
        "walking"
    );
    // An empty request is a valid, empty plan.
    let p = plan(&base, &WALK, &SolverOptions::default()).unwrap();
    assert_eq!(p.routes.len(), 1);
    assert!(p.routes[0].stops.is_empty());
    assert_eq!(p.total_priority, 0.0);
}

#[test]
fn week_spreads_visits_honours_follow_ups_and_territories() {
    let monday = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let days = workdays(monday - chrono::Duration::days(2), 5);
    assert_eq!(days[0], monday);
    assert_eq!(days[4], monday + chrono::Duration::days(4));
    let mut day = PlanRequest::new(&params(), outlet(), monday);
    day.window_start = hm(14, 0);
    day.window_end = hm(17, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for slot in 0..60u32 {
        day.candidates.push(cand(
            slot,
            rng.random_range(0.1..1.0),
            at(
                rng.random_range(-800.0..800.0),
                rng.random_range(-800.0..800.0),
            ),
            CATEGORIES[rng.random_range(0..CATEGORIES.len())],
            HOURS[rng.random_range(0..HOURS.len() - 2)],
        ));
    }
    // Slot 5: follow-up on Wednesday; slot 6: overdue; slot 7: after the week; slot 8: picked
    // by hand but another outlet's; slots ≥ 50 belong to another outlet.
    let wed = monday + chrono::Duration::days(2);
    day.candidates[5].priority = 0.001;
    day.candidates[5].hours = OpeningHours::always();
    day.candidates[6].hours = OpeningHours::always();
    day.candidates[6].priority = 0.001;
    day.candidates[9].hours = OpeningHours::parse("10:00-22:00");
    day.must_visit = vec![8, 9];
    let req = WeekRequest {
        day,
        days: days.clone(),
        follow_ups: vec![
            (5, wed),
            (6, monday - chrono::Duration::days(10)),
            (7, monday + chrono::Duration::days(9)),
        ],
    };
    let ours = |slot: u32| slot < 50 && slot != 8;
    let week = plan_week(&req, &ours, &WALK, &SolverOptions::default()).unwrap();
    assert_eq!(week.days.len(), 5);
    let mut seen = HashSet::new();
    for (d, plan) in week.days.iter().enumerate() {
        assert_eq!(plan.date, days[d]);
        let mut day_req = req.day.clone();
        day_req.date = days[d];
        day_req.must_visit = plan.slots().filter(|&s| [5, 6, 9].contains(&s)).collect();
        check_plan(&day_req, plan);
        for s in plan.slots() {
            assert!(seen.insert(s), "slot {s} planned twice in the week");
            assert!(ours(s), "slot {s} belongs to another outlet");
            assert_ne!(s, 7, "follow-up after the week planned");
            if s == 5 {
                assert_eq!(plan.date, wed, "follow-up not on its date");
            }
        }
    }
    let day_of = |slot: u32| week.days.iter().position(|p| p.slots().any(|s| s == slot));
    assert_eq!(day_of(6), Some(0), "the overdue follow-up comes first");
    assert_eq!(
        day_of(9),
        Some(0),
        "a hand-picked must-visit on the first day it fits"
    );
    assert_eq!(day_of(5), Some(2));
    let reasons: Vec<(u32, Reason)> = week.unplanned.iter().map(|u| (u.slot, u.reason)).collect();
    assert_eq!(
        reasons,
        [(7, Reason::FollowUpLater), (8, Reason::OtherOutlet)]
    );
    // Every day has visits, and the week's total adds up.
    assert!(week.days.iter().all(|p| p.slots().count() > 0));
    let sum: f64 = week.days.iter().map(|p| p.total_priority).sum();
    assert!((week.total_priority - sum).abs() < 1e-9);
    // Errors name the field.
    let mut bad = req.clone();
    bad.days.clear();
    assert_eq!(
        plan_week(&bad, &ours, &WALK, &SolverOptions::default())
            .unwrap_err()
            .field,
        "days"
    );
}

#[test]
fn plans_the_leshan_demo_with_real_priorities() {
    use crate::gen::{generate, GenConfig};
    use crate::index::SpatialIndex;
    use crate::scoring::{estimate, rank, ScoringParams};

    let index = SpatialIndex::build(generate(&GenConfig::default()));
    let sp = ScoringParams::builtin().unwrap();
    let walking = crate::network::Walking::straight(sp.detour_factor);
    let stats = estimate(&index, &sp, &walking);
    let o = index.outlets.items().iter().find(|o| o.is_ours()).unwrap();
    let vp = params();
    let ranked = rank(
        &index,
        &stats,
        &sp,
        &sp.weights,
        &walking,
        o.location,
        vp.candidate_radius_m,
        &|_| true,
        50,
    );
    assert_eq!(ranked.len(), 50);
    let mut req = PlanRequest::new(&vp, o.location, wednesday());
    req.candidates = ranked
        .iter()
        .map(|p| {
            Candidate::from_merchant(
                p.merchant_slot,
                index.merchants.item(p.merchant_slot),
                p.score,
            )
        })
        .collect();
    assert!(req
        .candidates
        .iter()
        .all(|c| c.hours.source == HoursSource::Parsed));
    let walk = StraightLine {
        detour_factor: sp.detour_factor,
    };
    let plan = plan(&req, &walk, &SolverOptions::default()).unwrap();
    check_plan(&req, &plan);
    assert!(plan.slots().count() >= 5, "{plan:?}");
}
