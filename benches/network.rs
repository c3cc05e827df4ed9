//! Benchmarks of the street network (issue 9) on a SYNTHETIC city grid
//! (`ecomap::network::synthetic::GridCity::default()`: 20 km × 20 km, 80 m blocks with two
//! intermediate nodes a side, diagonal paths every 2 km, a river with a bridge every 1.6 km:
//! 312,311 nodes) and on the real Liechtenstein extract (tests/fixtures/osm or shared/data/osm).
//!
//! `cargo bench --bench network` (about 3 minutes). Targets of the issue: one 15-minute
//! isochrone ≤ 20 ms; a 50 × 50 walking-distance matrix among points within 2 km ≤ 50 ms.
//! Measured on three graphs of the same city: junctions as vertices (`chains`, the default),
//! every node a vertex (`nodes`: 312k vertices), and a denser city of 40 m blocks whose 251k
//! junctions are all vertices (`dense`). Before the timed part it prints the build times and
//! sizes; then criterion times:
//!
//! - `isochrone_15min/<graph>`: one 15-minute isochrone at 4.5 km/h (1,125 m) from the centre;
//! - `isochrones_5_10_15/<graph>`: the three nested ones together;
//! - `matrix_50/<graph>`: a 50 × 50 matrix among 50 random points within 2 km of the centre;
//! - `dijkstra_3km/<impl>`: one search settling everything within 3 km of the centre (chains
//!   graph), our CSR loop against `pathfinding::dijkstra_reach` (bounded by stopping its
//!   iterator) and `petgraph::algo::dijkstra` (no bound: the whole graph), the measurement
//!   behind the choice of our own loop;
//! - `liechtenstein/*`: the real network's build, load and a 15-minute isochrone in Vaduz; the
//!   scoring warm state (Huff estimates + territories) on the extract's merchants and
//!   communities with straight-line and with network Huff distances (`warm_state_*`), and one
//!   outlet's priority list within 2 km either way (`rank_2km_*`). Only these:
//!   `cargo bench --bench network -- liechtenstein/`;
//! - `synthetic_warm/*`: the same warm state on the synthetic city's streets (chains graph)
//!   with the generator's city grown to 14,000 merchants and 600 communities.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ecomap::domain::Location;
use ecomap::index::SpatialIndex;
use ecomap::network::synthetic::GridCity;
use ecomap::network::{
    Compress, NetworkDistances, NetworkParams, Search, StreetNetwork, WalkRules, Walking,
};
use ecomap::scoring::{assign, estimate, rank, ScoringParams, TerritoryMethod};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const KMH: f64 = 4.5;

fn loc(p: [f64; 2]) -> Location {
    Location::new(p[0], p[1]).expect("a valid point")
}

fn fixture() -> Option<PathBuf> {
    let name = "liechtenstein-2013-08-03.osm.pbf";
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("tests/fixtures/osm").join(name),
        root.join("../shared/data/osm").join(name),
        PathBuf::from("/work/shared/data/osm").join(name),
    ]
    .into_iter()
    .find(|p| p.exists())
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    eprintln!("{what}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    out
}

/// 50 points uniformly spread within 2 km of the centre (seeded).
fn points(city: &GridCity) -> Vec<Location> {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    (0..50)
        .map(|_| {
            let r = 2_000.0 * rng.random::<f64>().sqrt();
            let t = std::f64::consts::TAU * rng.random::<f64>();
            loc(city.at(r * t.cos(), r * t.sin()))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let params = NetworkParams::builtin().expect("network params");
    let city = GridCity::default();
    let dense_city = GridCity {
        block_m: 40.0,
        nodes_per_block: 1,
        ..GridCity::default()
    };
    let (nodes, ways) = timed("synthetic city: nodes and ways", || city.ways());
    let (dnodes, dways) = dense_city.ways();
    eprintln!("synthetic city: {} nodes, {} ways", nodes.len(), ways.len());
    let chains = timed("build chains (junctions as vertices)", || {
        StreetNetwork::from_ways(&nodes, &ways, Compress::Chains).expect("chains")
    });
    let every = timed("build nodes (every node a vertex)", || {
        StreetNetwork::from_ways(&nodes, &ways, Compress::None).expect("nodes")
    });
    let dense = timed("build dense (40 m blocks)", || {
        StreetNetwork::from_ways(&dnodes, &dways, Compress::Chains).expect("dense")
    });
    let blob = timed("to_bytes (chains)", || chains.to_bytes());
    let _ = timed("from_bytes (chains)", || {
        StreetNetwork::from_bytes(&blob).expect("load")
    });
    eprintln!("stored chains network: {:.1} MB", blob.len() as f64 / 1e6);
    let chains_nd = NetworkDistances::new(Arc::new(chains.clone()), params, 1.3);
    let graphs = [("chains", chains), ("nodes", every), ("dense", dense)];
    for (name, g) in &graphs {
        eprintln!("{name}: {:?}", g.stats());
    }
    let centre = loc(city.at(0.0, 0.0));
    let pts = points(&city);

    let mut iso = c.benchmark_group("isochrone_15min");
    for (name, g) in &graphs {
        let nd = NetworkDistances::new(Arc::new(g.clone()), params, 1.3);
        let one = nd.isochrones_m(centre, &[15.0], &[15.0 * KMH * 1000.0 / 60.0]);
        if let Some(i) = one.isochrones.first() {
            eprintln!(
                "{name}: 15-min isochrone {:.2} km², {} vertices, {:.1} km of street, {} polygon points",
                i.area_m2 / 1e6,
                i.reached_vertices,
                i.reached_street_m / 1e3,
                i.polygon.0.iter().map(|p| p.exterior().0.len()).sum::<usize>()
            );
        }
        iso.bench_function(*name, |b| {
            b.iter(|| black_box(nd.isochrones_m(centre, &[15.0], &[1125.0])))
        });
    }
    iso.finish();

    let mut iso3 = c.benchmark_group("isochrones_5_10_15");
    for (name, g) in &graphs {
        let nd = NetworkDistances::new(Arc::new(g.clone()), params, 1.3);
        iso3.bench_function(*name, |b| {
            b.iter(|| {
                black_box(nd.isochrones_m(centre, &[5.0, 10.0, 15.0], &[375.0, 750.0, 1125.0]))
            })
        });
    }
    iso3.finish();

    let mut mx = c.benchmark_group("matrix_50");
    for (name, g) in &graphs {
        let nd = NetworkDistances::new(Arc::new(g.clone()), params, 1.3);
        let m = nd.matrix_with_models(&pts);
        let on = m.on_network.iter().filter(|&&b| b).count();
        let max = m.metres.iter().cloned().fold(0.0, f64::max);
        eprintln!("{name}: 50×50 matrix, {on} points on the network, longest walk {max:.0} m");
        mx.bench_function(*name, |b| b.iter(|| black_box(nd.matrix_with_models(&pts))));
    }
    mx.finish();

    // The shortest-path implementations on the same graph, source and bound.
    let g = &graphs[0].1;
    let snap = g
        .snap(centre, params.max_snap_m, params.snap_min_component_m)
        .expect("the centre is on the network");
    let source = g.edges()[snap.edge as usize].a;
    let bound_dm = 30_000u32;
    let mut search = Search::new(g);
    search.run(g, &[(source, 0)], bound_dm, None);
    eprintln!("dijkstra 3 km: {} vertices settled", search.settled);
    let mut dj = c.benchmark_group("dijkstra_3km");
    dj.bench_function("own_csr", |b| {
        b.iter(|| {
            search.run(g, &[(source, 0)], bound_dm, None);
            black_box(search.settled)
        })
    });
    dj.bench_function("pathfinding_dijkstra_reach", |b| {
        b.iter(|| {
            let n = pathfinding::directed::dijkstra::dijkstra_reach(&source, |&v| {
                g.neighbours(v).map(|(w, len, _)| (w, len))
            })
            .take_while(|item| item.total_cost <= bound_dm)
            .count();
            black_box(n)
        })
    });
    let mut pg: petgraph::graph::UnGraph<(), u32> =
        petgraph::graph::UnGraph::with_capacity(g.vertex_count(), g.edge_count());
    for _ in 0..g.vertex_count() {
        pg.add_node(());
    }
    for e in g.edges() {
        pg.add_edge(e.a.into(), e.b.into(), e.len_dm);
    }
    dj.sample_size(10);
    dj.bench_function("petgraph_dijkstra_unbounded", |b| {
        b.iter(|| {
            let m = petgraph::algo::dijkstra(&pg, source.into(), None, |e| *e.weight());
            black_box(m.len())
        })
    });
    dj.finish();

    // The scoring warm state on the synthetic city's streets: the generator's city grown to
    // 14,000 merchants (8.9 km radius, within the 20 × 20 km grid) and 600 communities.
    let data = SpatialIndex::build(ecomap::gen::generate(&ecomap::gen::GenConfig {
        seed: 42,
        merchants: 14_000,
        communities: 600,
        outlets_ours: 60,
        outlets_competitors: 20,
        center: city.center,
        ..Default::default()
    }));
    let sp = ScoringParams::builtin().expect("scoring params");
    let straight = Walking::straight(sp.detour_factor);
    let on_grid = Walking::Network(chains_nd);
    let warm = |w: &Walking| {
        (
            estimate(&data, &sp, w),
            assign(&data, &sp, TerritoryMethod::Nearest, None),
        )
    };
    timed(
        "synthetic warm state, straight line × 1.3 (once, cold)",
        || black_box(warm(&straight)),
    );
    timed("synthetic warm state, street network (once, cold)", || {
        black_box(warm(&on_grid))
    });
    let mut sw = c.benchmark_group("synthetic_warm");
    sw.sample_size(10).measurement_time(Duration::from_secs(10));
    sw.bench_function("warm_state_straight", |b| {
        b.iter(|| black_box(warm(&straight)))
    });
    sw.bench_function("warm_state_network", |b| {
        b.iter(|| black_box(warm(&on_grid)))
    });
    sw.finish();
    drop(data);

    let Some(path) = fixture() else {
        eprintln!("the Liechtenstein fixture is missing: its benchmarks are skipped");
        return;
    };
    let bytes = std::fs::read(&path).expect("fixture");
    let rules = WalkRules::builtin().expect("rules");
    let (li, report) =
        StreetNetwork::from_pbf_bytes(&bytes, &rules, Compress::Chains).expect("liechtenstein");
    eprintln!(
        "liechtenstein: {:?}",
        serde_json::to_string(&report).unwrap_or_default()
    );
    let li_blob = li.to_bytes();
    let vaduz = loc([9.5159267, 47.1206734]);
    let li_nd = NetworkDistances::new(Arc::new(li), params, 1.3);
    let mut lg = c.benchmark_group("liechtenstein");
    lg.sample_size(10).measurement_time(Duration::from_secs(5));
    lg.bench_function("from_pbf", |b| {
        b.iter(|| {
            black_box(StreetNetwork::from_pbf_bytes(
                &bytes,
                &rules,
                Compress::Chains,
            ))
        })
    });
    lg.bench_function("from_bytes", |b| {
        b.iter(|| black_box(StreetNetwork::from_bytes(&li_blob)))
    });
    lg.bench_function("isochrone_15min_vaduz", |b| {
        b.iter(|| black_box(li_nd.isochrones_m(vaduz, &[15.0], &[1125.0])))
    });

    // The scoring warm state (Huff footfall estimates + C side + territories, what
    // `App::warm` computes after every write) on the extract's own merchants and communities,
    // with Huff distances in a straight line × 1.3 and on the network; and one outlet's
    // priority list within 2 km (one search from the outlet).
    let mut opts = ecomap::ingest::osm::OsmOptions::builtin().expect("osm options");
    opts.our_banks = vec!["Liechtensteinische Landesbank".into()];
    let cats = ecomap::domain::Categories::builtin().expect("categories");
    let parsed = ecomap::ingest::osm::read(&bytes, &opts, &cats, &mut |_| {}).expect("osm");
    let index = SpatialIndex::build(ecomap::domain::Dataset {
        merchants: parsed.merchants,
        communities: parsed.communities,
        outlets: parsed.outlets,
        ..Default::default()
    });
    let sp = ScoringParams::builtin().expect("scoring params");
    let straight = Walking::straight(sp.detour_factor);
    let network = Walking::Network(li_nd.clone());
    let warm = |w: &Walking| {
        (
            estimate(&index, &sp, w),
            assign(&index, &sp, TerritoryMethod::Nearest, None),
        )
    };
    eprintln!(
        "liechtenstein data: {} merchants, {} communities, {} outlets",
        index.merchants.len(),
        index.communities.len(),
        index.outlets.len()
    );
    timed(
        "liechtenstein warm state, straight line × 1.3 (once, cold)",
        || black_box(warm(&straight)),
    );
    timed(
        "liechtenstein warm state, street network (once, cold)",
        || black_box(warm(&network)),
    );
    lg.bench_function("warm_state_straight", |b| {
        b.iter(|| black_box(warm(&straight)))
    });
    lg.bench_function("warm_state_network", |b| {
        b.iter(|| black_box(warm(&network)))
    });
    let stats = estimate(&index, &sp, &network);
    if let Some(o) = index.outlets.items().iter().find(|o| o.is_ours()) {
        for (name, w) in [
            ("rank_2km_straight", &straight),
            ("rank_2km_network", &network),
        ] {
            lg.bench_function(name, |b| {
                b.iter(|| {
                    black_box(rank(
                        &index,
                        &stats,
                        &sp,
                        &sp.weights,
                        w,
                        o.location,
                        2_000.0,
                        &|_| true,
                        usize::MAX,
                    ))
                })
            });
        }
    }
    lg.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
