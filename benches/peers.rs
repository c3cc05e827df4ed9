//! ecomap's side of the peer benchmark (issue 10): the same generated files that
//! `benches/peers/run.sh` loads into PostGIS, GeoPandas and Martin, loaded here through ecomap's
//! own import parser and index, and the same work measured the same way.
//!
//! Not run by CI. `bash benches/peers/run.sh` runs it as
//! `cargo bench --bench peers -- --data DIR --work DIR [--quick]`; it writes `ecomap.json`
//! (every figure, the per-query answer counts the peers are checked against) and the inputs
//! the peers share with it: `tiles.txt` (the z14 tiles) and `routes.json` (the visit-route
//! instances with ecomap's plans). See docs/PEERS_BENCHMARK.md.
//!
//! Query points are our outlets in file order (`outlets.csv`), so every peer asks the same
//! questions in the same order.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use ecomap::domain::{Categories, Dataset, Location, Outlet};
use ecomap::geo::crs::Crs;
use ecomap::index::{MerchantLayer, SpatialIndex, INDEX_RESOLUTION};
use ecomap::ingest::{self, Encoding, ImportKind, ImportOptions, Parsed};
use ecomap::network::Walking;
use ecomap::scoring::{estimate, rank, ScoringParams};
use ecomap::tiles::{self, encode_mvt, mercator, MerchantOrder, Projector, TileId, TileLayer};
use ecomap::visits::hours::{OpeningHours, Rush};
use ecomap::visits::params::VisitParams;
use ecomap::visits::plan::{
    plan, Candidate, PlanRequest, SolverOptions, StraightLine, WalkingDistances,
};
use serde_json::{json, Value};

struct Args {
    data: PathBuf,
    work: PathBuf,
    quick: bool,
}

fn args() -> Args {
    let mut data = None;
    let mut work = PathBuf::from("target/peers");
    let mut quick = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--data" => data = it.next().map(PathBuf::from),
            "--work" => work = it.next().map(PathBuf::from).unwrap_or(work),
            "--quick" => quick = true,
            // cargo bench passes --bench to harness = false binaries.
            "--bench" => {}
            other => eprintln!("peers: ignoring argument {other:?}"),
        }
    }
    let Some(data) = data else {
        eprintln!(
            "usage: cargo bench --bench peers -- --data DIR [--work DIR] [--quick]\n\
             (DIR is the output of `ecomap gen --out DIR`; bash benches/peers/run.sh does all)"
        );
        std::process::exit(2);
    };
    Args { data, work, quick }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// The median of `runs` timings of `f` (after one warm-up call), and the last result.
fn median_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut last = f();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        last = f();
        times.push(t.elapsed());
    }
    times.sort_unstable();
    (times[times.len() / 2], last)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn parse(
    kind: ImportKind,
    dir: &Path,
    name: &str,
    crs: Crs,
    cats: &Categories,
) -> (Parsed, Duration, Duration) {
    let t = Instant::now();
    let bytes = read(&dir.join(name));
    let read_t = t.elapsed();
    let opts = ImportOptions {
        crs,
        encoding: Encoding::Auto,
        format: None,
        max_rows: usize::MAX,
    };
    let t = Instant::now();
    let parsed = ingest::parse(kind, Some(name), &bytes, &opts, cats, &mut |_| {})
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    (parsed, read_t, t.elapsed())
}

/// Counts merchants within `radius_m` of each point, by category (as benches/index.rs), timing
/// each query; returns the per-query microseconds and totals.
fn radius_queries(layer: &MerchantLayer, at: &[Location], radius_m: f64) -> (Vec<f64>, Vec<u64>) {
    let mut counts = vec![0u32; layer.groups().len()];
    // One untimed pass so that both passes see warm caches as PostGIS's second pass does.
    for &p in at.iter().take(200) {
        counts.fill(0);
        layer.for_each_within_radius_grouped(p, radius_m, |_, g, _| counts[g as usize] += 1);
    }
    let mut times = Vec::with_capacity(at.len());
    let mut totals = Vec::with_capacity(at.len());
    for &p in at {
        let t = Instant::now();
        counts.fill(0);
        layer.for_each_within_radius_grouped(p, radius_m, |_, g, _| counts[g as usize] += 1);
        black_box(&counts);
        times.push(us(t.elapsed()));
        totals.push(counts.iter().map(|&c| u64::from(c)).sum());
    }
    (times, totals)
}

fn count_within(layer: &MerchantLayer, at: &[Location], radius_m: f64) -> u64 {
    let mut n = 0u64;
    for &p in at {
        layer.for_each_within_radius(p, radius_m, |_, _| n += 1);
    }
    n
}

fn count_within_2_threads(layer: &MerchantLayer, at: &[Location], radius_m: f64) -> u64 {
    let (a, b) = at.split_at(at.len() / 2);
    std::thread::scope(|s| {
        let other = s.spawn(|| count_within(layer, b, radius_m));
        count_within(layer, a, radius_m) + other.join().unwrap_or(0)
    })
}

fn tile_at(z: u8, p: Location) -> TileId {
    let [x, y] = mercator(p.lon(), p.lat());
    let n = f64::from(1u32 << z);
    TileId::new(z, (x * n) as u32, (y * n) as u32, 22).expect("tile in range")
}

fn main() {
    let a = args();
    std::fs::create_dir_all(&a.work).expect("work dir");
    let cats = Categories::builtin().expect("categories");
    let mut out = serde_json::Map::new();
    let mut rows = serde_json::Map::new();

    // ---- Load: the same files as the peers, through the import parser. ------------------
    eprintln!("ecomap: loading {} ...", a.data.display());
    let (outlets, _, _) = parse(
        ImportKind::Outlets,
        &a.data,
        "outlets.csv",
        Crs::Wgs84,
        &cats,
    );
    let (communities, _, comm_parse) = parse(
        ImportKind::Communities,
        &a.data,
        "communities.geojson",
        Crs::Wgs84,
        &cats,
    );
    let (areas, _, _) = parse(
        ImportKind::Areas,
        &a.data,
        "areas.geojson",
        Crs::Wgs84,
        &cats,
    );
    let org_units = ingest::parse_org_units(&read(&a.data.join("org_units.csv"))).expect("org");
    let (merchants, m_read, m_parse) = parse(
        ImportKind::Merchants,
        &a.data,
        "merchants.csv",
        Crs::Gcj02,
        &cats,
    );
    let (
        Parsed::Outlets(outlets),
        Parsed::Merchants(merchants),
        Parsed::Communities(communities),
        Parsed::Areas(areas),
    ) = (outlets, merchants, communities, areas)
    else {
        panic!("parsed kinds do not match")
    };
    let n_merchants = merchants.len();
    let ours: Vec<Outlet> = outlets.iter().filter(|o| o.is_ours()).cloned().collect();
    // Query-ready: the whole index (merchants' R-tree and H3 cells, and the outlets' and
    // communities' layers, which the peers' import figures do not include).
    let t = Instant::now();
    let index = SpatialIndex::build(Dataset {
        org_units,
        outlets,
        merchants,
        communities,
        areas,
    });
    let build_all = t.elapsed();
    let import_s = (m_read + m_parse + build_all).as_secs_f64();
    eprintln!(
        "ecomap: {} merchants: read {:.2} s, parse (GCJ-02 → WGS-84) {:.2} s, index (R-trees + \
         H3 cells, {} communities too) {:.2} s = {:.2} s (communities parsed in {:.2} s)",
        n_merchants,
        m_read.as_secs_f64(),
        m_parse.as_secs_f64(),
        index.communities.len(),
        build_all.as_secs_f64(),
        import_s,
        comm_parse.as_secs_f64()
    );
    out.insert(
        "sizes".into(),
        json!({
            "merchants": n_merchants,
            "outlets": index.outlets.len(),
            "ours": ours.len(),
            "communities": index.communities.len(),
        }),
    );
    rows.insert(
        "import".into(),
        json!({
            "s": import_s,
            "read_s": m_read.as_secs_f64(),
            "parse_s": m_parse.as_secs_f64(),
            "index_s": build_all.as_secs_f64(),
        }),
    );

    let at: Vec<Location> = ours.iter().map(|o| o.location).collect();
    let layer = &index.merchants;

    // ---- Radius queries: 500 m and 3 km around each of our outlets, counts by category. ----
    for (key, r) in [("radius_500", 500.0), ("radius_3000", 3_000.0)] {
        let (times, totals) = radius_queries(layer, &at, r);
        let s = sorted(times);
        let mean_hits = totals.iter().sum::<u64>() as f64 / totals.len().max(1) as f64;
        eprintln!(
            "ecomap: {r} m around {} outlets: {mean_hits:.0} merchants on average; p50 {:.2} µs, \
             p99 {:.2} µs",
            at.len(),
            pct(&s, 0.5),
            pct(&s, 0.99)
        );
        rows.insert(
            key.into(),
            json!({
                "p50_us": pct(&s, 0.5), "p90_us": pct(&s, 0.9), "p99_us": pct(&s, 0.99),
                "mean_us": s.iter().sum::<f64>() / s.len().max(1) as f64,
                "queries": s.len(), "mean_hits": mean_hits, "counts": totals,
            }),
        );
    }

    // ---- Merchants within 1 km of each of the first 2,000 outlets of ours. -----------------
    let join_at = &at[..at.len().min(2_000)];
    let (d1, pairs) = median_of(5, || count_within(layer, join_at, 1_000.0));
    let (d2, pairs2) = median_of(5, || count_within_2_threads(layer, join_at, 1_000.0));
    assert_eq!(pairs, pairs2);
    eprintln!(
        "ecomap: 1 km around {} outlets: {pairs} pairs in {:.1} ms (2 threads {:.1} ms)",
        join_at.len(),
        ms(d1),
        ms(d2)
    );
    rows.insert(
        "join_1km".into(),
        json!({"ms": ms(d1), "ms_2_threads": ms(d2), "pairs": pairs, "outlets": join_at.len()}),
    );

    // ---- Full re-score: footfall estimate + each outlet's ranked list within 3 km. --------
    let params = ScoringParams::builtin().expect("scoring params");
    let straight = Walking::straight(params.detour_factor);
    let t = Instant::now();
    let stats = estimate(&index, &params, &straight);
    let est = t.elapsed();
    let rank_all = |part: &[Location]| {
        let mut n = 0usize;
        for &p in part {
            n += rank(
                &index,
                &stats,
                &params,
                &params.weights,
                &straight,
                p,
                3_000.0,
                &|_| true,
                50,
            )
            .len();
        }
        n
    };
    let t = Instant::now();
    let listed = rank_all(&at);
    let ranks_1 = t.elapsed();
    let t = Instant::now();
    let listed2 = {
        let (x, y) = at.split_at(at.len() / 2);
        std::thread::scope(|s| {
            let other = s.spawn(|| rank_all(y));
            rank_all(x) + other.join().unwrap_or(0)
        })
    };
    let ranks_2 = t.elapsed();
    assert_eq!(listed, listed2);
    eprintln!(
        "ecomap: re-score: estimate {:.0} ms ({} communities) + {} outlets ranked within 3 km \
         {:.0} ms (2 threads {:.0} ms)",
        ms(est),
        index.communities.len(),
        at.len(),
        ms(ranks_1),
        ms(ranks_2)
    );
    rows.insert(
        "rescore".into(),
        json!({
            "ms": ms(est + ranks_1), "estimate_ms": ms(est), "ranks_ms": ms(ranks_1),
            "ranks_ms_2_threads": ms(ranks_2), "ms_2_threads": ms(est + ranks_2),
            "outlets": at.len(),
        }),
    );

    // ---- H3 res-9 counts of every merchant. ------------------------------------------------
    let (d_index, cells) = median_of(3, || {
        let mut c: HashMap<u64, u32> = HashMap::new();
        for slot in 0..layer.len() as u32 {
            *c.entry(u64::from(layer.cell(slot))).or_default() += 1;
        }
        c
    });
    let h3_loop = |items: &[Location]| {
        let mut c: HashMap<u64, u32> = HashMap::new();
        for l in items {
            let cell = h3o::LatLng::new(l.lat(), l.lon())
                .map(|ll| u64::from(ll.to_cell(INDEX_RESOLUTION)))
                .unwrap_or(0);
            *c.entry(cell).or_default() += 1;
        }
        c
    };
    let (d_loop, cells_loop) = median_of(1, || h3_loop(layer.table().locations()));
    let (d_loop2, cells_loop2) = median_of(1, || {
        let (x, y) = layer.table().locations().split_at(layer.len() / 2);
        let (mut c1, c2) = std::thread::scope(|s| {
            let other = s.spawn(|| h3_loop(y));
            (h3_loop(x), other.join().unwrap_or_default())
        });
        for (k, v) in c2 {
            *c1.entry(k).or_default() += v;
        }
        c1
    });
    assert_eq!(cells.len(), cells_loop.len());
    assert_eq!(cells_loop.len(), cells_loop2.len());
    let max_in_cell = cells.values().copied().max().unwrap_or(0);
    eprintln!(
        "ecomap: H3 res 9: {} cells (max {} merchants): from the index's cells {:.0} ms; \
         cells computed from scratch (the h3o loop) {:.0} ms, on 2 threads {:.0} ms",
        cells.len(),
        max_in_cell,
        ms(d_index),
        ms(d_loop),
        ms(d_loop2)
    );
    rows.insert(
        "h3".into(),
        json!({
            "ms": ms(d_index), "from_scratch_ms": ms(d_loop), "from_scratch_ms_2_threads": ms(d_loop2),
            "cells": cells.len(), "max_in_cell": max_in_cell,
        }),
    );
    drop(cells);
    drop(cells_loop);
    drop(cells_loop2);

    // ---- Vector tiles: z14 over our outlets, at most TileParams::max_points merchants. -----
    let tp = tiles::TileParams::default();
    let t = Instant::now();
    let order = MerchantOrder::build(&index, 1);
    let order_ms = ms(t.elapsed());
    let mut ts: Vec<(TileId, usize)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut too_dense = 0usize;
    for &p in &at {
        let t = tile_at(14, p);
        if !seen.insert((t.x, t.y)) {
            continue;
        }
        let n = order.range(t).len();
        if n == 0 {
            continue;
        }
        if n > tp.max_points {
            too_dense += 1;
            continue;
        }
        ts.push((t, n));
    }
    let mut tile_us = Vec::with_capacity(ts.len());
    let mut bytes = 0usize;
    for _pass in 0..2 {
        tile_us.clear();
        bytes = 0;
        for &(t, _) in &ts {
            let start = Instant::now();
            let f = tiles::merchants(&index, &order, &Projector::new(t, Crs::Wgs84), None, &tp);
            bytes += black_box(encode_mvt(TileLayer::Merchants, &f)).len();
            tile_us.push(us(start.elapsed()));
        }
    }
    let s = sorted(tile_us);
    let mean_pts = ts.iter().map(|t| t.1).sum::<usize>() as f64 / ts.len().max(1) as f64;
    let max_pts = ts.iter().map(|t| t.1).max().unwrap_or(0);
    eprintln!(
        "ecomap: {} z14 tiles with 1..={} merchants ({too_dense} denser left out), {mean_pts:.0} \
         merchants (max {max_pts}) and {:.1} KiB each on average; no HTTP: p50 {:.3} ms, p99 \
         {:.3} ms (Z-order copy {order_ms:.0} ms)",
        ts.len(),
        tp.max_points,
        bytes as f64 / ts.len().max(1) as f64 / 1024.0,
        pct(&s, 0.5) / 1e3,
        pct(&s, 0.99) / 1e3
    );
    let tile_list: String = ts
        .iter()
        .map(|(t, n)| format!("{}/{}/{} {n}\n", t.z, t.x, t.y))
        .collect();
    std::fs::write(a.work.join("tiles.txt"), tile_list).expect("tiles.txt");
    rows.insert(
        "tile_lib".into(),
        json!({
            "p50_ms": pct(&s, 0.5) / 1e3, "p99_ms": pct(&s, 0.99) / 1e3, "tiles": ts.len(),
            "mean_points": mean_pts, "max_points": max_pts, "too_dense": too_dense,
            "mean_kib": bytes as f64 / ts.len().max(1) as f64 / 1024.0, "order_ms": order_ms,
        }),
    );
    drop(order);

    // ---- Visit routes: 40 candidates, one walker, 14:00–17:30, straight-line walks. --------
    let vp = VisitParams::builtin().expect("visit params");
    let walk = StraightLine {
        detour_factor: params.detour_factor,
    };
    let date = NaiveDate::from_ymd_opt(2026, 3, 4).expect("date");
    let want = if a.quick { 5 } else { 20 };
    let m_per_min = vp.walking_kmh * 1000.0 / 60.0;
    let mut instances = Vec::new();
    let mut route_ms = Vec::new();
    for o in &ours {
        if instances.len() == want {
            break;
        }
        let ranked = rank(
            &index,
            &stats,
            &params,
            &params.weights,
            &straight,
            o.location,
            vp.candidate_radius_m,
            &|_| true,
            40,
        );
        if ranked.len() < 40 || ranked.iter().any(|p| p.score <= 0.0) {
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
        let opts = SolverOptions::default();
        let (d, p) = median_of(5, || plan(&req, &walk, &opts).expect("plan"));
        route_ms.push(ms(d));
        let mut points = vec![o.location];
        points.extend(req.candidates.iter().map(|c| c.location));
        let minutes: Vec<f64> = walk
            .matrix(&points)
            .into_iter()
            .map(|m| m / m_per_min)
            .collect();
        instances.push(json!({
            "outlet": o.id,
            "budget_min": f64::from(req.window_end - req.window_start),
            "priorities": req.candidates.iter().map(|c| c.priority).collect::<Vec<_>>(),
            "service_min": req.candidates.iter().map(|c| req.visit_minutes_for(&c.category)).collect::<Vec<_>>(),
            "slots": req.candidates.iter().map(|c| c.slot).collect::<Vec<_>>(),
            "walk_min": minutes,
            "ecomap": {
                "ms": ms(d),
                "total_priority": p.total_priority,
                "stops": p.slots().collect::<Vec<_>>(),
            },
        }));
    }
    let s = sorted(route_ms.clone());
    eprintln!(
        "ecomap: {} route instances of 40 candidates: plan median {:.2} ms, worst {:.2} ms",
        instances.len(),
        pct(&s, 0.5),
        pct(&s, 1.0)
    );
    std::fs::write(
        a.work.join("routes.json"),
        serde_json::to_vec(&json!({ "instances": instances })).expect("json"),
    )
    .expect("routes.json");
    rows.insert(
        "routes".into(),
        json!({"median_ms": pct(&s, 0.5), "worst_ms": pct(&s, 1.0), "instances": s.len()}),
    );

    out.insert("rows".into(), Value::Object(rows));
    out.insert(
        "outlets_in_order".into(),
        json!(ours.iter().map(|o| o.id.as_str()).collect::<Vec<_>>()),
    );
    let path = a.work.join("ecomap.json");
    std::fs::write(
        &path,
        serde_json::to_vec(&Value::Object(out)).expect("json"),
    )
    .expect("ecomap.json");
    eprintln!("ecomap: wrote {}", path.display());
}
