//! Benchmarks of the scoring models on a city of a million merchants, 2,000 outlets and 20,000
//! communities (the generator's seed 42, as benches/index.rs).
//!
//! `cargo bench --bench scoring` (about 2 minutes). Before the timed part it prints one
//! "recompute everything" run (estimate + territories + every merchant's score against its
//! territory outlet) timed end to end, and how many merchants a community's scan sees.

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ecomap::domain::Location;
use ecomap::gen::{generate, GenConfig};
use ecomap::index::SpatialIndex;
use ecomap::scoring::{
    assign, estimate, rank, score, MerchantStats, ScoringParams, Territories, TerritoryMethod,
};

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

/// (c): every merchant scored against the outlet that owns it; returns the sum of the scores
/// and how many were scored (the rest are signed, active or rejected).
fn score_all(
    index: &SpatialIndex,
    stats: &MerchantStats,
    params: &ScoringParams,
    t: &Territories,
) -> (f64, usize) {
    let mut sum = 0.0;
    let mut n = 0;
    for (slot, l) in index.merchants.table().locations().iter().enumerate() {
        let Some(o) = t.outlet_of[slot] else { continue };
        let d = l.distance_m(&index.outlets.item(o).location);
        if let Some(p) = score(index, stats, params, &params.weights, slot as u32, d) {
            sum += p.score;
            n += 1;
        }
    }
    (sum, n)
}

fn print_context(index: &SpatialIndex, params: &ScoringParams) {
    let t0 = Instant::now();
    let stats = estimate(
        index,
        params,
        &ecomap::network::Walking::straight(params.detour_factor),
    );
    let t1 = Instant::now();
    let t = assign(index, params, TerritoryMethod::Nearest, None);
    let t2 = Instant::now();
    let (sum, n) = score_all(index, &stats, params, &t);
    let t3 = Instant::now();
    eprintln!(
        "context: recompute everything once: estimate {:?} + assign(nearest) {:?} + {} scores {:?} = {:?} (mean score {:.3})",
        t1 - t0,
        t2 - t1,
        n,
        t3 - t2,
        t3 - t0,
        sum / n.max(1) as f64
    );
    let estimated = stats.estimated.iter().filter(|&&e| e).count();
    eprintln!(
        "context: {} merchants, {} with estimated footfall; {} communities; scan radius {} m",
        index.merchants.len(),
        estimated,
        index.communities.len(),
        params
            .categories
            .values()
            .map(|c| c.reach_m)
            .fold(0.0, f64::max)
    );
    let mut hits = 0u64;
    for c in index.communities.items().iter().step_by(20) {
        index
            .merchants
            .for_each_within_radius(c.location, 2_500.0, |_, _| hits += 1);
    }
    eprintln!(
        "context: a community's 2.5 km scan sees {:.0} merchants on average",
        hits as f64 / (index.communities.len() / 20) as f64
    );
    let balanced = Instant::now();
    let tb = assign(index, params, TerritoryMethod::Nearest, Some(1.5));
    let huff_t = Instant::now();
    let th = assign(index, params, TerritoryMethod::Huff, None);
    eprintln!(
        "context: assign(nearest, max_load 1.5) {:?} (max load {}); assign(huff) {:?} (max load {})",
        huff_t - balanced,
        tb.load.iter().max().unwrap_or(&0),
        huff_t.elapsed(),
        th.load.iter().max().unwrap_or(&0),
    );
}

fn benches(c: &mut Criterion) {
    let index = city();
    let params = match ScoringParams::builtin() {
        Ok(p) => p,
        Err(e) => panic!("builtin scoring parameters: {e}"),
    };
    print_context(&index, &params);
    let straight = ecomap::network::Walking::straight(params.detour_factor);

    let mut g = c.benchmark_group("recompute");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    g.bench_function("a_estimate_1m_merchants_20k_communities", |b| {
        b.iter(|| black_box(estimate(&index, &params, &straight)))
    });
    g.bench_function("b_assign_nearest_1m_merchants_1600_outlets", |b| {
        b.iter(|| black_box(assign(&index, &params, TerritoryMethod::Nearest, None)))
    });
    let stats = estimate(&index, &params, &straight);
    let territories = assign(&index, &params, TerritoryMethod::Nearest, None);
    g.bench_function("c_score_every_merchant_against_its_outlet", |b| {
        b.iter(|| black_box(score_all(&index, &stats, &params, &territories)))
    });
    g.finish();

    let ours: Vec<Location> = index
        .outlets
        .items()
        .iter()
        .filter(|o| o.is_ours())
        .map(|o| o.location)
        .collect();
    let next = Cell::new(0usize);
    let round_robin = || {
        let i = next.get();
        next.set((i + 1) % ours.len());
        ours[i]
    };
    let mut g = c.benchmark_group("warm");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.bench_function("d_rank_one_outlet_1km_top_50", |b| {
        b.iter(|| {
            black_box(rank(
                &index,
                &stats,
                &params,
                &params.weights,
                &straight,
                round_robin(),
                1_000.0,
                &|_| true,
                50,
            ))
        })
    });
    g.bench_function("d_rank_one_outlet_1km_all", |b| {
        b.iter(|| {
            black_box(rank(
                &index,
                &stats,
                &params,
                &params.weights,
                &straight,
                round_robin(),
                1_000.0,
                &|_| true,
                usize::MAX,
            ))
        })
    });
    g.finish();
}

criterion_group!(scoring, benches);
criterion_main!(scoring);
