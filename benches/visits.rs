//! Benchmark of the visit planner (issue 7) on the generated city (seed 42, the Leshan-sized
//! default configuration: 1,600 merchants, 6 + 4 outlets) with real priority scores.
//!
//! `cargo bench --bench visits` (about 10 minutes; `VISITS_LONG_S=60` sets the long runs'
//! seconds per instance, default 20). For each of our outlets with enough merchants around it
//! and two windows (09:30–13:00 over the lunch rush, 14:00–17:30), it plans:
//!
//! - 50 candidates (the outlet's top 50 by priority within 1.5 km), 3.5 hours, 1 staff;
//! - 200 candidates, 3.5 hours, 3 staff;
//!
//! with the default solver options, timed (median and worst of several runs), and compares the
//! total priority with the best found by a long run: the same solver restarted with new seeds
//! and 20× the iterations until the time is up.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use ecomap::gen::{generate, GenConfig};
use ecomap::index::SpatialIndex;
use ecomap::scoring::{estimate, rank, ScoringParams};
use ecomap::visits::params::VisitParams;
use ecomap::visits::plan::{plan, Candidate, PlanRequest, SolverOptions, StraightLine};

struct Case {
    name: String,
    req: PlanRequest,
}

fn main() {
    let long_s: u64 = std::env::var("VISITS_LONG_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    if std::env::var_os("VISITS_STALL").is_some() {
        stall_study(long_s);
        return;
    }
    let t0 = Instant::now();
    let index = SpatialIndex::build(generate(&GenConfig {
        seed: 42,
        ..Default::default()
    }));
    let sp = ScoringParams::builtin().expect("scoring params");
    let vp = VisitParams::builtin().expect("visit params");
    let straight = ecomap::network::Walking::straight(sp.detour_factor);
    let stats = estimate(&index, &sp, &straight);
    let walk = StraightLine {
        detour_factor: sp.detour_factor,
    };
    eprintln!(
        "city: {} merchants, {} outlets, built and scored in {:?}",
        index.merchants.len(),
        index.outlets.len(),
        t0.elapsed()
    );
    // A Wednesday.
    let date = NaiveDate::from_ymd_opt(2026, 3, 4).expect("date");

    let mut cases: Vec<(usize, Case)> = Vec::new();
    for o in index.outlets.items().iter().filter(|o| o.is_ours()) {
        let ranked = rank(
            &index,
            &stats,
            &sp,
            &sp.weights,
            &straight,
            o.location,
            vp.candidate_radius_m,
            &|_| true,
            200,
        );
        if ranked.len() < 200 {
            eprintln!("outlet {}: only {} candidates, skipped", o.id, ranked.len());
            continue;
        }
        let cands: Vec<Candidate> = ranked
            .iter()
            .map(|p| {
                Candidate::from_merchant(
                    p.merchant_slot,
                    index.merchants.item(p.merchant_slot),
                    p.score,
                )
            })
            .collect();
        for (ws, we) in [(9 * 60 + 30, 13 * 60), (14 * 60, 17 * 60 + 30)] {
            for (n, staff) in [(50usize, 1usize), (200, 3)] {
                let mut req = PlanRequest::new(&vp, o.location, date);
                req.window_start = ws;
                req.window_end = we;
                req.staff = staff;
                req.candidates = cands[..n].to_vec();
                let name = format!(
                    "{} {:02}:{:02}-{:02}:{:02} n={n} staff={staff}",
                    o.id,
                    ws / 60,
                    ws % 60,
                    we / 60,
                    we % 60
                );
                cases.push((n, Case { name, req }));
            }
        }
    }

    let opts = SolverOptions::default();
    println!(
        "default options: {} iterations, seed {}; long run: {long_s} s per instance",
        opts.iterations, opts.seed
    );
    println!(
        "| instance | stops | plan median | plan worst | total priority | long-run best | gap |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut worst_gap: [f64; 2] = [0.0, 0.0];
    let mut worst_time = [Duration::ZERO, Duration::ZERO];
    for (n, case) in &cases {
        let k = usize::from(*n == 200);
        let runs = if *n == 50 { 15 } else { 5 };
        let mut times = Vec::with_capacity(runs);
        let mut result = None;
        for _ in 0..runs {
            let t = Instant::now();
            let p = plan(&case.req, &walk, &opts).expect("plan");
            times.push(t.elapsed());
            result = Some(p);
        }
        let Some(p) = result else { continue };
        times.sort_unstable();
        let median = times[times.len() / 2];
        let worst = times[times.len() - 1];
        worst_time[k] = worst_time[k].max(worst);

        // The long run: restarts with new seeds and 20× the iterations until the time is up.
        let deadline = Instant::now() + Duration::from_secs(long_s);
        let mut best = p.total_priority;
        let mut seed = 1_000;
        while Instant::now() < deadline {
            let long = SolverOptions {
                seed,
                iterations: opts.iterations * 20,
                stall: u32::MAX,
                time_limit: Some(deadline.saturating_duration_since(Instant::now())),
            };
            let q = plan(&case.req, &walk, &long).expect("plan");
            best = best.max(q.total_priority);
            seed += 1;
        }
        let gap = 1.0 - p.total_priority / best;
        worst_gap[k] = worst_gap[k].max(gap);
        println!(
            "| {} | {} | {:.1} ms | {:.1} ms | {:.3} | {:.3} ({} runs) | {:.2}% |",
            case.name,
            p.slots().count(),
            median.as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3,
            p.total_priority,
            best,
            seed - 1_000,
            gap * 100.0
        );
    }
    println!(
        "50 candidates, 1 staff: worst plan time {:.1} ms (target ≤ 100 ms), worst gap to the long run {:.2}% (target ≤ 2%)",
        worst_time[0].as_secs_f64() * 1e3,
        worst_gap[0] * 100.0
    );
    println!(
        "200 candidates, 3 staff: worst plan time {:.1} ms (target ≤ 1 s), worst gap to the long run {:.2}%",
        worst_time[1].as_secs_f64() * 1e3,
        worst_gap[1] * 100.0
    );
}

/// `VISITS_STALL=1 cargo bench --bench visits`: the peer benchmark's route instances (40
/// candidates within 1.5 km, open all day, no rush, one walker, 14:00–17:30) around the first
/// 40 outlets of ours in a 100k-merchant generated city, planned with the default options and
/// with the solver stopped after k rounds without a better plan, against a long run's best.
fn stall_study(long_s: u64) {
    use ecomap::visits::hours::{OpeningHours, Rush};
    let index = SpatialIndex::build(generate(&GenConfig {
        seed: 42,
        merchants: 100_000,
        outlets_ours: 50,
        outlets_competitors: 10,
        communities: 3_000,
        ..Default::default()
    }));
    let sp = ScoringParams::builtin().expect("scoring params");
    let vp = VisitParams::builtin().expect("visit params");
    let straight = ecomap::network::Walking::straight(sp.detour_factor);
    let stats = estimate(&index, &sp, &straight);
    let walk = StraightLine {
        detour_factor: sp.detour_factor,
    };
    let date = NaiveDate::from_ymd_opt(2026, 3, 4).expect("date");
    let stalls = [u32::MAX, 150, 100, 60, 40];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); stalls.len()];
    let mut gaps: Vec<Vec<f64>> = vec![Vec::new(); stalls.len()];
    let long_each = Duration::from_millis(long_s * 1000 / 10);
    let mut instances: Vec<Vec<serde_json::Value>> = vec![Vec::new(); stalls.len()];
    for o in index
        .outlets
        .items()
        .iter()
        .filter(|o| o.is_ours())
        .take(40)
    {
        let ranked = rank(
            &index,
            &stats,
            &sp,
            &sp.weights,
            &straight,
            o.location,
            1500.0,
            &|_| true,
            40,
        );
        if ranked.len() < 40 {
            continue;
        }
        let mut req = PlanRequest::new(&vp, o.location, date);
        req.window_start = 14 * 60;
        req.window_end = 17 * 60 + 30;
        req.rush = Rush::none();
        req.candidates = ranked
            .iter()
            .map(|p| {
                let mut c = Candidate::from_merchant(
                    p.merchant_slot,
                    index.merchants.item(p.merchant_slot),
                    p.score,
                );
                c.hours = OpeningHours::always();
                c
            })
            .collect();
        let mut results = Vec::new();
        let m_per_min = vp.walking_kmh * 1000.0 / 60.0;
        let mut points = vec![o.location];
        points.extend(req.candidates.iter().map(|c| c.location));
        let walk_min: Vec<f64> = ecomap::visits::plan::WalkingDistances::matrix(&walk, &points)
            .into_iter()
            .map(|m| m / m_per_min)
            .collect();
        for &stall in &stalls {
            let opts = SolverOptions {
                stall,
                ..SolverOptions::default()
            };
            let mut t = Vec::new();
            let mut total = 0.0;
            let mut stops = Vec::new();
            for _ in 0..5 {
                let s = Instant::now();
                let p = plan(&req, &walk, &opts).expect("plan");
                t.push(s.elapsed().as_secs_f64() * 1e3);
                total = p.total_priority;
                stops = p.slots().collect::<Vec<_>>();
            }
            t.sort_by(f64::total_cmp);
            results.push((t[2], total));
            // The instance for the peers' route solvers (benches/peers/peers.py routes).
            instances[results.len() - 1].push(serde_json::json!({
                "outlet": o.id,
                "budget_min": f64::from(req.window_end - req.window_start),
                "priorities": req.candidates.iter().map(|c| c.priority).collect::<Vec<_>>(),
                "service_min": req.candidates.iter().map(|c| req.visit_minutes_for(&c.category)).collect::<Vec<_>>(),
                "slots": req.candidates.iter().map(|c| c.slot).collect::<Vec<_>>(),
                "walk_min": walk_min,
                "ecomap": { "ms": t[2], "total_priority": total, "stops": stops },
            }));
        }
        let deadline = Instant::now() + long_each;
        let mut best = results.iter().map(|r| r.1).fold(0.0, f64::max);
        let mut seed = 1_000;
        while Instant::now() < deadline {
            let long = SolverOptions {
                seed,
                iterations: 6_000,
                stall: u32::MAX,
                time_limit: Some(deadline.saturating_duration_since(Instant::now())),
            };
            best = best.max(plan(&req, &walk, &long).expect("plan").total_priority);
            seed += 1;
        }
        for (k, (ms, total)) in results.into_iter().enumerate() {
            times[k].push(ms);
            gaps[k].push(1.0 - total / best);
        }
    }
    if let Some(dir) = std::env::var_os("VISITS_STALL_OUT") {
        for (k, &stall) in stalls.iter().enumerate() {
            let d = std::path::Path::new(&dir).join(format!("stall-{stall}"));
            std::fs::create_dir_all(&d).expect("mkdir");
            std::fs::write(
                d.join("routes.json"),
                serde_json::to_vec(&serde_json::json!({ "instances": instances[k] }))
                    .expect("json"),
            )
            .expect("routes.json");
        }
    }
    println!("| stop after rounds without a better plan | instances | median time | worst time | mean gap to the long run | worst gap | instances with a gap |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (k, &stall) in stalls.iter().enumerate() {
        let mut t = times[k].clone();
        t.sort_by(f64::total_cmp);
        let g = &gaps[k];
        println!(
            "| {} | {} | {:.1} ms | {:.1} ms | {:.3}% | {:.3}% | {} |",
            if stall == u32::MAX {
                "never (300 rounds)".to_string()
            } else {
                stall.to_string()
            },
            t.len(),
            t[t.len() / 2],
            t[t.len() - 1],
            100.0 * g.iter().sum::<f64>() / g.len() as f64,
            100.0 * g.iter().copied().fold(0.0, f64::max),
            g.iter().filter(|&&x| x > 1e-9).count()
        );
    }
}
