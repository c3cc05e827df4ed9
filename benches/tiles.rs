//! Vector tiles on a city of a million merchants (the generator's seed 42, as the other
//! benches): the work of one uncached tile — pick the features, encode the MVT — without HTTP.
//!
//! `cargo bench --bench tiles`. Before the timed part it prints the Z-order build time and, for
//! the z14 tiles around every outlet and for every z10 tile with merchants, p50/p90/p99/max of
//! one tile's time, its merchants and bytes; then the other layers at z14.
//!
//! Targets (issue 6): one z14 tile p50 ≤ 1 ms, one z10 tile ≤ 10 ms.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use ecomap::auth::Scope;
use ecomap::coverage::CoverageParams;
use ecomap::gen::{generate, GenConfig};
use ecomap::geo::crs::Crs;
use ecomap::index::SpatialIndex;
use ecomap::scoring::{estimate, ScoringParams};
use ecomap::tiles::{
    self, encode_mvt, mercator, MerchantOrder, Projector, TileId, TileLayer, TileParams,
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

fn tile_at(z: u8, lon: f64, lat: f64) -> TileId {
    let [x, y] = mercator(lon, lat);
    let n = f64::from(1u32 << z);
    TileId::new(z, (x * n) as u32, (y * n) as u32, 22).expect("in range")
}

fn merchant_tile(index: &SpatialIndex, order: &MerchantOrder, t: TileId, p: &TileParams) -> usize {
    let f = tiles::merchants(index, order, &Projector::new(t, Crs::Wgs84), None, p);
    encode_mvt(TileLayer::Merchants, &f).len()
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn report(label: &str, index: &SpatialIndex, order: &MerchantOrder, ts: &[TileId], p: &TileParams) {
    let mut ms = Vec::new();
    let mut bytes = 0usize;
    let mut inside = 0usize;
    for &t in ts {
        let start = Instant::now();
        bytes += black_box(merchant_tile(index, order, t, p));
        ms.push(start.elapsed().as_secs_f64() * 1e3);
        inside += order.range(t).len();
    }
    let n = ts.len();
    println!(
        "{label}: {n} tiles, {:.0} merchants and {:.1} KiB per tile on average; p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        inside as f64 / n as f64,
        bytes as f64 / n as f64 / 1024.0,
        pct(&mut ms, 0.5),
        pct(&mut ms, 0.9),
        pct(&mut ms, 0.99),
        pct(&mut ms, 1.0),
    );
}

fn bench(c: &mut Criterion) {
    let index = city();
    let start = Instant::now();
    let order = MerchantOrder::build(&index, 1);
    println!(
        "Z-order copy of {} merchants: {:.0} ms",
        order.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    let p = TileParams::default();
    let mut z14: Vec<TileId> = index
        .outlets
        .items()
        .iter()
        .map(|o| tile_at(14, o.location.lon(), o.location.lat()))
        .collect();
    z14.sort_by_key(|t| (t.x, t.y));
    z14.dedup();
    let densest = *z14
        .iter()
        .max_by_key(|t| order.range(**t).len())
        .expect("outlets");
    let mut z10: Vec<TileId> = z14
        .iter()
        .map(|t| TileId::new(10, t.x >> 4, t.y >> 4, 22).expect("parent"))
        .collect();
    z10.sort_by_key(|t| (t.x, t.y));
    z10.dedup();
    report("z14 tiles around the outlets", &index, &order, &z14, &p);
    report("z10 tiles of the city", &index, &order, &z10, &p);
    println!(
        "densest z14 tile {}/{}/{}: {} merchants",
        densest.z,
        densest.x,
        densest.y,
        order.range(densest).len()
    );

    // Other layers at z14 (and the coverage grid uncached, which the server caches).
    let scoring = ScoringParams::builtin().expect("params");
    let stats = estimate(
        &index,
        &scoring,
        &ecomap::network::Walking::straight(scoring.detour_factor),
    );
    let cov = CoverageParams::builtin().expect("params");
    let zero = |_: u32| 0.0;
    let inputs = tiles::CoverageInputs {
        stats: &stats,
        priority_of: &zero,
        params: &cov,
    };
    for layer in [
        TileLayer::Outlets,
        TileLayer::Communities,
        TileLayer::Areas,
        TileLayer::Coverage,
    ] {
        let mut ms = Vec::new();
        let mut n = 0usize;
        for &t in z14.iter().take(200) {
            let proj = Projector::new(t, Crs::Wgs84);
            let start = Instant::now();
            let f = match layer {
                TileLayer::Outlets => tiles::outlets(&index, &proj, &Scope::All, &p),
                TileLayer::Communities => tiles::communities(&index, &proj, &Scope::All, &p),
                TileLayer::Areas => tiles::areas(&index, &proj, &Scope::All, &p),
                _ => tiles::coverage_grid(&index, &proj, &Scope::All, &inputs, &p),
            };
            n += f.len();
            black_box(encode_mvt(layer, &f));
            ms.push(start.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "{} z14 (200 tiles): {:.0} features per tile; p50 {:.3} ms, p99 {:.3} ms",
            layer.code(),
            n as f64 / ms.len() as f64,
            pct(&mut ms, 0.5),
            pct(&mut ms, 0.99)
        );
    }

    let mut g = c.benchmark_group("tiles");
    let mut i = 0;
    g.bench_function("merchants z14 around outlets (round-robin)", |b| {
        b.iter(|| {
            i = (i + 1) % z14.len();
            merchant_tile(&index, &order, z14[i], &p)
        })
    });
    g.bench_function("merchants z14 densest tile", |b| {
        b.iter(|| merchant_tile(&index, &order, densest, &p))
    });
    let mut j = 0;
    g.bench_function("merchants z10 (round-robin)", |b| {
        b.iter(|| {
            j = (j + 1) % z10.len();
            merchant_tile(&index, &order, z10[j], &p)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = bench
}
criterion_main!(benches);
