//! Benchmarks of the spatial index on a city of a million merchants and 2,000 outlets.
//!
//! `cargo bench --bench index`. Before the timed part it prints, for context, how many
//! merchants the queries find per outlet and the p50/p90/p99 of single 500 m queries.

use std::cell::Cell;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ecomap::domain::{Dataset, Location};
use ecomap::gen::{generate, GenConfig};
use ecomap::index::{MerchantLayer, INDEX_RESOLUTION};

fn city() -> Dataset {
    generate(&GenConfig {
        seed: 42,
        merchants: 1_000_000,
        outlets_ours: 1_600,
        outlets_competitors: 400,
        communities: 20_000,
        ..Default::default()
    })
}

/// Counts merchants by category code within the radius; `counts` is reset first.
fn count_by_category(layer: &MerchantLayer, at: Location, radius_m: f64, counts: &mut [u32]) {
    counts.fill(0);
    layer.for_each_within_radius_grouped(at, radius_m, |_, group, _| {
        counts[group as usize] += 1;
    });
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Figures that put the timings in context, printed once.
fn print_context(layer: &MerchantLayer, outlets: &[Location]) {
    let mut counts = vec![0u32; layer.groups().len()];
    for radius_m in [500.0, 1_000.0] {
        let mut total = 0u64;
        let mut times = Vec::with_capacity(outlets.len());
        for &at in outlets {
            let t = Instant::now();
            count_by_category(layer, at, radius_m, &mut counts);
            times.push(t.elapsed());
            total += counts.iter().map(|&c| u64::from(c)).sum::<u64>();
        }
        times.sort_unstable();
        eprintln!(
            "context: {radius_m} m around each of {} outlets: {:.0} merchants on average; \
             single query p50 {:?}, p90 {:?}, p99 {:?}",
            outlets.len(),
            total as f64 / outlets.len() as f64,
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            percentile(&times, 0.99),
        );
    }
    eprintln!(
        "context: {} merchants, {} categories",
        layer.len(),
        layer.groups().len()
    );
}

fn benches(c: &mut Criterion) {
    let ds = city();
    let outlets: Vec<Location> = ds.outlets.iter().map(|o| o.location).collect();
    let merchants = ds.merchants;

    let mut g = c.benchmark_group("build");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(12));
    g.bench_function("layer_of_1m_merchants_with_h3_cells", |b| {
        b.iter_batched(
            || merchants.clone(),
            MerchantLayer::build,
            BatchSize::LargeInput,
        )
    });
    g.bench_function("h3_cells_alone_for_1m_points", |b| {
        b.iter(|| {
            merchants
                .iter()
                .map(|m| {
                    h3o::LatLng::new(m.location.lat(), m.location.lon())
                        .map(|ll| ll.to_cell(INDEX_RESOLUTION))
                        .ok()
                })
                .fold(0u64, |acc, c| acc ^ c.map_or(0, u64::from))
        })
    });
    g.finish();

    let layer = MerchantLayer::build(merchants);
    print_context(&layer, &outlets);

    let mut g = c.benchmark_group("query");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let next = Cell::new(0usize);
    let round_robin = || {
        let i = next.get();
        next.set((i + 1) % outlets.len());
        outlets[i]
    };
    let mut counts = vec![0u32; layer.groups().len()];
    g.bench_function("count_by_category_500m_one_outlet", |b| {
        b.iter(|| {
            count_by_category(&layer, round_robin(), 500.0, &mut counts);
            black_box(&counts);
        })
    });
    // The same through the items' category strings, to show what the group code saves.
    g.bench_function("count_by_category_500m_one_outlet_reading_items", |b| {
        let mut map: HashMap<&str, u32> = HashMap::new();
        b.iter(|| {
            map.clear();
            layer.for_each_within_radius(round_robin(), 500.0, |slot, _| {
                *map.entry(layer.item(slot).category()).or_default() += 1;
            });
            black_box(&map);
        })
    });
    g.bench_function("within_radius_500m_sorted_hits", |b| {
        b.iter(|| black_box(layer.within_radius(round_robin(), 500.0).len()))
    });
    g.bench_function("nearest_20", |b| {
        b.iter(|| black_box(layer.nearest(round_robin(), 20, None)))
    });
    g.finish();

    let mut g = c.benchmark_group("all_outlets");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    g.bench_function("count_within_1km_of_all_2000_outlets", |b| {
        b.iter(|| {
            let mut total = 0u64;
            for &at in &outlets {
                layer.for_each_within_radius(at, 1_000.0, |_, _| total += 1);
            }
            black_box(total)
        })
    });
    // The machine has two cores; a caller can split the outlets between them.
    g.bench_function("count_within_1km_of_all_2000_outlets_on_2_threads", |b| {
        b.iter(|| {
            let (a, z) = outlets.split_at(outlets.len() / 2);
            let count = |part: &[Location]| {
                let mut total = 0u64;
                for &at in part {
                    layer.for_each_within_radius(at, 1_000.0, |_, _| total += 1);
                }
                total
            };
            let total = std::thread::scope(|s| {
                let other = s.spawn(|| count(z));
                count(a) + other.join().unwrap_or(0)
            });
            black_box(total)
        })
    });
    g.finish();
}

criterion_group!(index, benches);
criterion_main!(index);
