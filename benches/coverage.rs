//! Benchmarks of the coverage models on a city of a million merchants, 2,000 outlets and 20,000
//! communities (the generator's seed 42, as benches/index.rs and benches/scoring.rs).
//!
//! `cargo bench --bench coverage`. Before the timed part it prints how much a 1 km circle and a
//! 3 km area hold, the time of one full community_coverage run and of a compare() table.
//!
//! - a: an outlet's life circles (5/10/15 min) + its covered-household share (15-min circle),
//!   outlets round-robin (target ≤ 5 ms);
//! - b: the H3 grid at res 9 for a 3 km-radius area around an outlet, including the radius scans
//!   that pick the merchants and communities (target ≤ 10 ms);
//! - c: community_coverage for all 20,000 communities (reported);
//! - d: the survey of a food street (reported).

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ecomap::coverage::{
    community_coverage, compare, grid, life_circles, share_around, survey, CoverageParams,
};
use ecomap::domain::{AreaKind, Location};
use ecomap::gen::{generate, GenConfig};
use ecomap::index::SpatialIndex;
use ecomap::scoring::{estimate, MerchantStats, ScoringParams};

fn city() -> SpatialIndex {
    SpatialIndex::build(generate(&GenConfig {
        seed: 42,
        merchants: 1_000_000,
        outlets_ours: 1_600,
        outlets_competitors: 400,
        communities: 20_000,
        ..Default::default()
    }))
}

fn all(_: ecomap::index::MerchantRef<'_>) -> bool {
    true
}

fn every_community(_: &ecomap::domain::Community) -> bool {
    true
}

const AREA_M: f64 = 3_000.0;

/// The 3 km grid with its scans; returns the number of hexes.
fn grid_3km(
    index: &SpatialIndex,
    stats: &MerchantStats,
    prio: &[f64],
    params: &CoverageParams,
    at: Location,
    m_slots: &mut Vec<u32>,
    c_slots: &mut Vec<u32>,
) -> usize {
    m_slots.clear();
    c_slots.clear();
    index
        .merchants
        .for_each_within_radius(at, AREA_M, |s, _| m_slots.push(s));
    index
        .communities
        .for_each_within_radius(at, AREA_M, |s, _| c_slots.push(s));
    let priority_of = |s: u32| prio.get(s as usize).copied().unwrap_or(0.0);
    grid(
        index,
        stats,
        &priority_of,
        m_slots,
        c_slots,
        h3o::Resolution::Nine,
        params,
    )
    .len()
}

fn benches(c: &mut Criterion) {
    let index = city();
    let (scoring, params) = match (ScoringParams::builtin(), CoverageParams::builtin()) {
        (Ok(s), Ok(p)) => (s, p),
        (Err(e), _) => panic!("builtin scoring parameters: {e}"),
        (_, Err(e)) => panic!("builtin coverage parameters: {e}"),
    };
    let detour = scoring.detour_factor;
    let stats = estimate(
        &index,
        &scoring,
        &ecomap::network::Walking::straight(scoring.detour_factor),
    );
    // A stand-in for the priorities the HTTP layer passes: a per-slot lookup.
    let prio: Vec<f64> = stats.footfall.iter().map(|f| f / 1_000.0).collect();

    let t = Instant::now();
    let coverage = community_coverage(&index, &params, detour, &all);
    let covered = coverage.iter().filter(|c| c.covered).count();
    eprintln!(
        "context: community_coverage of {} communities once: {:?}; {} covered",
        coverage.len(),
        t.elapsed(),
        covered
    );

    let ours: Vec<u32> = (0..index.outlets.len() as u32)
        .filter(|&s| index.outlets.item(s).is_ours())
        .collect();
    let ours_at: Vec<Location> = ours
        .iter()
        .map(|&s| index.outlets.item(s).location)
        .collect();
    let (mut m_slots, mut c_slots) = (Vec::new(), Vec::new());
    let (mut in_1km, mut in_3km, mut hexes) = (0usize, 0usize, 0usize);
    for &at in ours_at.iter().step_by(16) {
        let circles = life_circles(&index, at, &params, detour, &all, &every_community);
        in_1km += circles.last().map_or(0, |c| c.merchants);
        hexes += grid_3km(
            &index,
            &stats,
            &prio,
            &params,
            at,
            &mut m_slots,
            &mut c_slots,
        );
        in_3km += m_slots.len();
    }
    let n = ours_at.iter().step_by(16).count().max(1);
    eprintln!(
        "context: around our outlets, the 15-minute circle holds {:.0} merchants on average; a {} m area {:.0} merchants in {:.0} res-9 hexes",
        in_1km as f64 / n as f64,
        AREA_M,
        in_3km as f64 / n as f64,
        hexes as f64 / n as f64
    );
    let t = Instant::now();
    let first_20: Vec<u32> = ours.iter().copied().take(20).collect();
    let rows = compare(
        &index,
        &stats,
        &coverage,
        &first_20,
        &params,
        detour,
        &all,
        &every_community,
    );
    eprintln!(
        "context: compare() of {} outlets: {:?}",
        rows.len(),
        t.elapsed()
    );

    let next = Cell::new(0usize);
    let round_robin = || {
        let i = next.get();
        next.set((i + 1) % ours_at.len());
        ours_at[i]
    };
    let outer_r = params.outer_circle().radius_m(detour);
    let mut g = c.benchmark_group("warm");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.bench_function("a_outlet_circles_and_coverage_share", |b| {
        b.iter(|| {
            let at = round_robin();
            let circles = life_circles(&index, at, &params, detour, &all, &every_community);
            let share = share_around(&index, &coverage, at, outer_r);
            black_box((circles, share))
        })
    });
    g.bench_function("b_h3_grid_res9_3km_area", |b| {
        b.iter(|| {
            black_box(grid_3km(
                &index,
                &stats,
                &prio,
                &params,
                round_robin(),
                &mut m_slots,
                &mut c_slots,
            ))
        })
    });
    if let Some(street) = index.areas.iter().find(|a| a.kind == AreaKind::FoodStreet) {
        g.bench_function("d_survey_of_a_food_street", |b| {
            b.iter(|| {
                black_box(survey(
                    &index,
                    &stats,
                    &scoring,
                    &scoring.weights,
                    &street.polygon,
                    Some(&street.name),
                    outer_r,
                    &all,
                    &every_community,
                ))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("batch");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    g.bench_function("c_community_coverage_20k_communities", |b| {
        b.iter(|| black_box(community_coverage(&index, &params, detour, &all)))
    });
    g.finish();
}

criterion_group!(coverage, benches);
criterion_main!(coverage);
