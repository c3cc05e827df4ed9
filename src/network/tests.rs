//! Tests of the street network: the real Liechtenstein extract against counts made here
//! independently, searches against brute force, isochrones against hand-checked points, the
//! straight-line fallback, the stored form, and a synthetic grid whose answers are known.

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use geo::{Area, BooleanOps, Contains, Point, Validation};
use osmpbf::{Element, ElementReader};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::synthetic::{GridCity, River};
use super::*;
use crate::coverage::CoverageParams;
use crate::domain::Location;
use crate::visits::plan::{StraightLine, WalkingDistances};

const DETOUR: f64 = 1.3;
const KMH: f64 = 4.5;

fn loc(lon: f64, lat: f64) -> Location {
    Location::new(lon, lat).unwrap()
}

fn at(p: [f64; 2]) -> Location {
    loc(p[0], p[1])
}

/// The Liechtenstein extract (ODbL): tests/fixtures/osm/ when the importer's copy is there,
/// else shared/data/osm/ beside the repository (CI's layout) or at /work/shared.
fn fixture() -> PathBuf {
    let name = "liechtenstein-2013-08-03.osm.pbf";
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        root.join("tests/fixtures/osm").join(name),
        root.join("../shared/data/osm").join(name),
        PathBuf::from("/work/shared/data/osm").join(name),
    ];
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| panic!("the Liechtenstein fixture is in none of {candidates:?}"))
}

fn liechtenstein() -> &'static (StreetNetwork, BuildReport) {
    static NET: OnceLock<(StreetNetwork, BuildReport)> = OnceLock::new();
    NET.get_or_init(|| StreetNetwork::from_pbf(fixture(), &WalkRules::builtin().unwrap()).unwrap())
}

fn li_walking() -> NetworkDistances {
    NetworkDistances::new(
        Arc::new(liechtenstein().0.clone()),
        NetworkParams::builtin().unwrap(),
        DETOUR,
    )
}

// --- Rules ------------------------------------------------------------------------------------

#[test]
fn builtin_rules_and_params_load() {
    let rules = WalkRules::builtin().unwrap();
    assert!(rules.walkable.contains_key("footway"));
    assert!(rules.excluded.contains_key("motorway"));
    assert!(rules.walkable.values().all(|r| !r.is_empty()));
    assert_eq!(NetworkParams::builtin().unwrap(), NetworkParams::default());
}

#[test]
fn rules_classify_ways_by_their_tags() {
    let r = WalkRules::builtin().unwrap();
    let v = |tags: &[(&str, &str)]| r.classify(tags.iter().copied());
    assert_eq!(v(&[("building", "yes")]), Verdict::NotHighway);
    assert_eq!(
        v(&[("highway", "footway"), ("footway", "crossing")]),
        Verdict::Walkable(FootDirection::Both)
    );
    assert_eq!(
        v(&[("highway", "residential"), ("oneway", "yes")]),
        Verdict::Walkable(FootDirection::Both),
        "oneway is for vehicles"
    );
    assert_eq!(
        v(&[("highway", "footway"), ("oneway:foot", "yes")]),
        Verdict::Walkable(FootDirection::Forward)
    );
    assert_eq!(
        v(&[("highway", "path"), ("oneway:foot", "-1")]),
        Verdict::Walkable(FootDirection::Backward)
    );
    assert_eq!(
        v(&[("highway", "motorway")]),
        Verdict::Skipped("excluded highway=motorway".into())
    );
    assert_eq!(
        v(&[("highway", "trunk_link")]),
        Verdict::Skipped("excluded highway=trunk_link".into())
    );
    assert_eq!(
        v(&[("highway", "construction")]),
        Verdict::Skipped("excluded highway=construction".into())
    );
    assert_eq!(
        v(&[("highway", "bus_stop")]),
        Verdict::Skipped("unlisted highway=bus_stop".into())
    );
    assert_eq!(
        v(&[("highway", "cycleway"), ("foot", "no")]),
        Verdict::Skipped("foot=no".into())
    );
    assert_eq!(
        v(&[("highway", "bridleway")]),
        Verdict::Walkable(FootDirection::Both)
    );
    assert_eq!(
        v(&[("highway", "service"), ("access", "private")]),
        Verdict::Skipped("access=private".into())
    );
    assert_eq!(
        v(&[
            ("highway", "service"),
            ("access", "private"),
            ("foot", "yes")
        ]),
        Verdict::Walkable(FootDirection::Both)
    );
    assert_eq!(
        v(&[
            ("highway", "track"),
            ("access", "no"),
            ("foot", "designated")
        ]),
        Verdict::Walkable(FootDirection::Both)
    );
    assert_eq!(
        v(&[("highway", "pedestrian"), ("area", "yes")]),
        Verdict::Walkable(FootDirection::Both),
        "areas are walked along their outline"
    );
}

#[test]
fn rules_refuse_a_value_listed_twice() {
    let text = include_str!("../../data/network.toml").replace(
        "highway = [\"raceway\"",
        "highway = [\"footway\", \"raceway\"",
    );
    assert!(matches!(
        WalkRules::from_toml(&text),
        Err(NetworkError::Rules(_))
    ));
}

// --- Building from the real extract -----------------------------------------------------------

/// What the test's own pass over the file finds: the walkable ways by the rules,
/// written out here again rather than read from data/network.toml.
struct Independent {
    used_ways: u64,
    skipped: u64,
    vertices: usize,
    edges: usize,
    osm_nodes: usize,
    total_m: f64,
    components: usize,
    largest_share_by_length: f64,
}

fn independent_count() -> Independent {
    const WALKABLE: &[&str] = &[
        "footway",
        "path",
        "pedestrian",
        "steps",
        "crossing",
        "platform",
        "living_street",
        "residential",
        "service",
        "unclassified",
        "road",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
        "track",
        "cycleway",
        "bridleway",
    ];
    let mut coords: HashMap<i64, (f64, f64)> = HashMap::new();
    let mut ways: Vec<Vec<i64>> = Vec::new();
    let mut skipped = 0u64;
    ElementReader::from_path(fixture())
        .unwrap()
        .for_each(|e| match e {
            Element::DenseNode(n) => {
                coords.insert(n.id(), (n.lon(), n.lat()));
            }
            Element::Node(n) => {
                coords.insert(n.id(), (n.lon(), n.lat()));
            }
            Element::Way(w) => {
                let tags: HashMap<&str, &str> = w.tags().collect();
                let Some(hw) = tags.get("highway") else {
                    return;
                };
                let foot = tags.get("foot").copied();
                let ok = WALKABLE.contains(hw)
                    && !matches!(foot, Some("no" | "use_sidepath"))
                    && (!matches!(tags.get("access"), Some(&("no" | "private")))
                        || matches!(foot, Some("yes" | "designated" | "permissive")));
                if ok {
                    ways.push(w.refs().collect());
                } else {
                    skipped += 1;
                }
            }
            _ => {}
        })
        .unwrap();
    let mut uses: HashMap<i64, u32> = HashMap::new();
    let mut ends: HashSet<i64> = HashSet::new();
    let mut total_m = 0.0;
    let mut parent: HashMap<i64, i64> = HashMap::new();
    fn root(parent: &mut HashMap<i64, i64>, x: i64) -> i64 {
        let mut r = x;
        while let Some(&p) = parent.get(&r) {
            if p == r {
                break;
            }
            r = p;
        }
        parent.insert(x, r);
        r
    }
    let mut used_ways = 0;
    let mut clean: Vec<Vec<i64>> = Vec::new();
    for w in &ways {
        let mut list: Vec<i64> = w
            .iter()
            .copied()
            .filter(|r| coords.contains_key(r))
            .collect();
        list.dedup();
        if list.len() < 2 {
            skipped += 1;
            continue;
        }
        used_ways += 1;
        for &r in &list {
            *uses.entry(r).or_default() += 1;
            parent.entry(r).or_insert(r);
        }
        ends.insert(list[0]);
        ends.insert(list[list.len() - 1]);
        for pair in list.windows(2) {
            let (a, b) = (coords[&pair[0]], coords[&pair[1]]);
            // geo's haversine, not the module's.
            total_m += loc(a.0, a.1).distance_m(&loc(b.0, b.1));
            let (ra, rb) = (root(&mut parent, pair[0]), root(&mut parent, pair[1]));
            if ra != rb {
                parent.insert(ra, rb);
            }
        }
        clean.push(list);
    }
    let is_vertex = |r: &i64| ends.contains(r) || uses[r] >= 2;
    let vertices = uses.keys().filter(|r| is_vertex(r)).count();
    let edges: usize = clean
        .iter()
        .map(|l| l.iter().filter(|r| is_vertex(r)).count() - 1)
        .sum();
    let mut len_by_root: HashMap<i64, f64> = HashMap::new();
    for l in &clean {
        for pair in l.windows(2) {
            let (a, b) = (coords[&pair[0]], coords[&pair[1]]);
            let r = root(&mut parent, pair[0]);
            *len_by_root.entry(r).or_default() += loc(a.0, a.1).distance_m(&loc(b.0, b.1));
        }
    }
    let roots: HashSet<i64> = uses.keys().map(|&r| root(&mut parent, r)).collect();
    let largest = len_by_root.values().cloned().fold(0.0, f64::max);
    Independent {
        used_ways,
        skipped,
        vertices,
        edges,
        osm_nodes: uses.len(),
        total_m,
        components: roots.len(),
        largest_share_by_length: largest / total_m,
    }
}

#[test]
fn liechtenstein_build_matches_an_independent_count() {
    let (net, report) = liechtenstein();
    let ind = independent_count();
    let stats = net.stats();
    assert_eq!(
        report.ways_read, 7121,
        "the file's way count (expected_counts.json)"
    );
    assert_eq!(report.ways_used, ind.used_ways);
    assert_eq!(report.skipped.values().sum::<u64>(), ind.skipped);
    assert_eq!(report.ways_used + ind.skipped, report.highway_ways);
    assert_eq!(report.missing_node_refs, 0);
    assert_eq!(report.osm_nodes_used as usize, ind.osm_nodes);
    assert_eq!(stats.vertices, ind.vertices);
    assert_eq!(stats.edges, ind.edges);
    assert_eq!(stats.components, ind.components);
    // Lengths are rounded to the decimetre per edge: ±5 cm an edge at most.
    let tol = 0.05 * stats.edges as f64;
    assert!(
        (stats.total_km * 1000.0 - ind.total_m).abs() <= tol,
        "{} km vs {} m",
        stats.total_km,
        ind.total_m
    );
    assert!((stats.largest_component_length_share - ind.largest_share_by_length).abs() < 1e-4);
    // The figures the module doc quotes.
    assert_eq!(report.ways_used, 2742);
    assert_eq!(
        report.skipped.get("excluded highway=construction"),
        Some(&3)
    );
    assert!(stats.largest_component_vertex_share > 0.97);
    assert!((900.0..1000.0).contains(&stats.total_km));
}

#[test]
fn every_node_as_vertex_gives_the_same_distances_as_junctions() {
    let bytes = std::fs::read(fixture()).unwrap();
    let rules = WalkRules::builtin().unwrap();
    let (all, _) = StreetNetwork::from_pbf_bytes(&bytes, &rules, Compress::None).unwrap();
    let (chains, _) = liechtenstein();
    assert_eq!(
        all.vertex_count(),
        liechtenstein().1.osm_nodes_used as usize
    );
    assert!(chains.vertex_count() * 5 < all.vertex_count());
    let params = NetworkParams::default();
    let from = loc(9.5215, 47.1395);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let to: Vec<Location> = (0..30)
        .map(|_| {
            loc(
                9.50 + 0.04 * rng.random::<f64>(),
                47.12 + 0.04 * rng.random::<f64>(),
            )
        })
        .collect();
    let a = chains.distances(from, &to, &params);
    let b = all.distances(from, &to, &params);
    for (x, y) in a.iter().zip(&b) {
        match (x, y) {
            (Some(x), Some(y)) => assert!((x - y).abs() < 2.0, "{x} vs {y}"),
            (None, None) => {}
            _ => panic!("{x:?} vs {y:?}"),
        }
    }
}

// --- Stored form ------------------------------------------------------------------------------

#[test]
fn the_stored_form_round_trips_and_detects_damage() {
    let (net, _) = liechtenstein();
    let bytes = net.to_bytes();
    let back = StreetNetwork::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back.stats(), net.stats());
    assert_eq!(back.edges(), net.edges());
    let params = NetworkParams::default();
    let from = loc(9.5215, 47.1395);
    let to = [loc(9.5100, 47.1660), loc(9.5160, 47.1210), loc(9.57, 47.07)];
    assert_eq!(
        back.distances(from, &to, &params),
        net.distances(from, &to, &params)
    );
    let mut bad = bytes.clone();
    bad[bytes.len() / 2] ^= 1;
    assert!(matches!(
        StreetNetwork::from_bytes(&bad),
        Err(NetworkError::Corrupt(_))
    ));
    assert!(StreetNetwork::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(StreetNetwork::from_bytes(b"ECOMAPNW").is_err());
    // Under 12 bytes a node: compact enough for one database blob.
    assert!(bytes.len() < 12 * liechtenstein().1.osm_nodes_used as usize);
}

#[test]
fn from_edges_checks_its_input_and_keeps_one_way_edges() {
    assert!(StreetNetwork::from_edges(vec![[0.0, 0.0]], vec![edge(0, 1, 5.0, false)]).is_err());
    assert!(StreetNetwork::from_edges(vec![[200.0, 0.0]], vec![]).is_err());
    let net = StreetNetwork::from_edges(
        vec![[103.76, 29.55], [103.761, 29.55]],
        vec![edge(0, 1, 100.0, true)],
    )
    .unwrap();
    assert!(net.has_oneway());
    let back = StreetNetwork::from_bytes(&net.to_bytes()).unwrap();
    assert!(back.has_oneway());
    assert_eq!(back.neighbours(1).count(), 0);
    assert_eq!(back.neighbours(0).count(), 1);
}

// --- Searches against brute force ---------------------------------------------------------------

fn edge(a: u32, b: u32, m: f64, oneway: bool) -> EdgeInput {
    EdgeInput {
        a,
        b,
        shape: vec![],
        length_m: Some(m),
        oneway,
    }
}

/// A random graph of `n` vertices in a 1 km square with random (non-metric) lengths.
fn random_graph(rng: &mut ChaCha8Rng, n: u32, m: usize, oneway_share: f64) -> StreetNetwork {
    let v: Vec<[f64; 2]> = (0..n)
        .map(|_| {
            [
                103.76 + 0.01 * rng.random::<f64>(),
                29.55 + 0.01 * rng.random::<f64>(),
            ]
        })
        .collect();
    let e: Vec<EdgeInput> = (0..m)
        .map(|_| {
            edge(
                rng.random_range(0..n),
                rng.random_range(0..n),
                (rng.random_range(0..5_000) as f64) / 10.0,
                rng.random::<f64>() < oneway_share,
            )
        })
        .collect();
    StreetNetwork::from_edges(v, e).unwrap()
}

/// Floyd–Warshall over the edges, in decimetres (`u64::MAX`: no way).
fn floyd_warshall(net: &StreetNetwork) -> Vec<Vec<u64>> {
    let n = net.vertex_count();
    let mut d = vec![vec![u64::MAX; n]; n];
    for (i, row) in d.iter_mut().enumerate() {
        row[i] = 0;
    }
    for e in net.edges() {
        let (a, b, l) = (e.a as usize, e.b as usize, e.len_dm as u64);
        d[a][b] = d[a][b].min(l);
        if !e.oneway {
            d[b][a] = d[b][a].min(l);
        }
    }
    for k in 0..n {
        for i in 0..n {
            if d[i][k] == u64::MAX {
                continue;
            }
            for j in 0..n {
                if d[k][j] != u64::MAX && d[i][k] + d[k][j] < d[i][j] {
                    d[i][j] = d[i][k] + d[k][j];
                }
            }
        }
    }
    d
}

#[test]
fn dijkstra_agrees_with_floyd_warshall_bounded_or_not() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for round in 0..30 {
        let oneway = if round % 2 == 0 { 0.0 } else { 0.3 };
        let n = rng.random_range(2..40);
        let m = rng.random_range(1..(3 * n as usize));
        let net = random_graph(&mut rng, n, m, oneway);
        let fw = floyd_warshall(&net);
        let mut search = Search::new(&net);
        for s in 0..n {
            let bound = if round % 3 == 0 {
                u32::MAX - 1
            } else {
                rng.random_range(0..3_000)
            };
            search.run(&net, &[(s, 0)], bound, None);
            for t in 0..n {
                let want = fw[s as usize][t as usize];
                let got = search.dist_dm(t);
                if want <= bound as u64 {
                    assert_eq!(got as u64, want, "round {round}, {s} → {t}");
                } else {
                    assert_eq!(got, u32::MAX, "round {round}, {s} → {t} beyond {bound}");
                }
            }
            // Stopping at targets leaves them exact.
            let targets: Vec<u32> = (0..3).map(|_| rng.random_range(0..n)).collect();
            search.run(&net, &[(s, 0)], u32::MAX - 1, Some(&targets));
            for &t in &targets {
                let want = fw[s as usize][t as usize];
                if want != u64::MAX {
                    assert_eq!(search.dist_dm(t) as u64, want);
                }
            }
        }
    }
}

#[test]
fn point_to_point_walks_agree_with_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let params = NetworkParams {
        max_snap_m: 2_000.0,
        snap_min_component_m: 0.0,
        ..NetworkParams::default()
    };
    for round in 0..20 {
        let oneway = if round % 2 == 0 { 0.0 } else { 0.3 };
        let net = random_graph(&mut rng, 25, 50, oneway);
        let fw = floyd_warshall(&net);
        let pts: Vec<Location> = (0..12)
            .map(|_| {
                loc(
                    103.76 + 0.01 * rng.random::<f64>(),
                    29.55 + 0.01 * rng.random::<f64>(),
                )
            })
            .collect();
        let snaps: Vec<Snap> = pts
            .iter()
            .map(|p| net.snap(*p, params.max_snap_m, 0.0).unwrap())
            .collect();
        for (i, p) in pts.iter().enumerate() {
            let got = net.distances(*p, &pts, &params);
            for (j, g) in got.iter().enumerate() {
                let (s, t) = (&snaps[i], &snaps[j]);
                let (es, et) = (net.edges()[s.edge as usize], net.edges()[t.edge as usize]);
                // Leave by either end (forward only on a one-way edge), arrive by either end.
                let mut leave = vec![(es.b, s.to_b_dm as u64)];
                if !es.oneway {
                    leave.push((es.a, s.along_dm as u64));
                }
                let mut arrive = vec![(et.a, t.along_dm as u64)];
                if !et.oneway {
                    arrive.push((et.b, t.to_b_dm as u64));
                }
                let mut best = u64::MAX;
                for &(u, cu) in &leave {
                    for &(v, cv) in &arrive {
                        let d = fw[u as usize][v as usize];
                        if d != u64::MAX {
                            best = best.min(cu + d + cv);
                        }
                    }
                }
                if s.edge == t.edge && (t.along_dm >= s.along_dm || !es.oneway) {
                    best = best.min((t.along_dm as i64 - s.along_dm as i64).unsigned_abs());
                }
                let want = (best != u64::MAX && best as f64 / 10.0 <= params.max_search_m)
                    .then(|| best as f64 / 10.0 + (s.offset_m + t.offset_m));
                assert_eq!(*g, want, "round {round}: {i} → {j}");
            }
        }
    }
}

/// Plain unbounded Dijkstra over the public adjacency, written here.
fn reference_dijkstra(net: &StreetNetwork, s: u32) -> Vec<u64> {
    let mut d = vec![u64::MAX; net.vertex_count()];
    let mut heap = BinaryHeap::new();
    d[s as usize] = 0;
    heap.push(std::cmp::Reverse((0u64, s)));
    while let Some(std::cmp::Reverse((dv, v))) = heap.pop() {
        if dv > d[v as usize] {
            continue;
        }
        for (w, len, _) in net.neighbours(v) {
            let nd = dv + len as u64;
            if nd < d[w as usize] {
                d[w as usize] = nd;
                heap.push(std::cmp::Reverse((nd, w)));
            }
        }
    }
    d
}

/// 40 junctions of the largest component within 3 km of Vaduz's centre (seeded).
fn vaduz_vertices() -> Vec<u32> {
    let (net, _) = liechtenstein();
    let centre = [9.5215, 47.1395];
    let mut vs: Vec<u32> = (0..net.vertex_count() as u32)
        .filter(|&v| net.component(v) == 0 && haversine_m(net.vertex(v), centre) < 3_000.0)
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for i in (1..vs.len()).rev() {
        vs.swap(i, rng.random_range(0..=i));
    }
    vs.truncate(40);
    vs
}

#[test]
fn the_matrix_on_real_streets_is_exact_symmetric_and_metric() {
    let (net, _) = liechtenstein();
    let vs = vaduz_vertices();
    assert_eq!(vs.len(), 40);
    let pts: Vec<Location> = vs.iter().map(|&v| at(net.vertex(v))).collect();
    let nd = li_walking();
    let m = nd.matrix_with_models(&pts);
    assert_eq!(m.model, STREET_NETWORK);
    assert!(m.on_network.iter().all(|&b| b));
    let n = pts.len();
    for i in 0..n {
        let reference = reference_dijkstra(net, vs[i]);
        assert_eq!(m.metres[i * n + i], 0.0);
        for j in 0..n {
            let d = m.metres[i * n + j];
            // Exactly symmetric.
            assert_eq!(d, m.metres[j * n + i]);
            // Equal to the reference search between the junctions.
            assert!((d - reference[vs[j] as usize] as f64 / 10.0).abs() < 1e-6);
            // Never shorter than the straight line (less the rounding to decimetres).
            assert!(d >= pts[i].distance_m(&pts[j]) - 1.0, "{i} {j}");
            for k in 0..n {
                assert!(m.metres[i * n + k] <= d + m.metres[j * n + k] + 1e-6);
            }
        }
    }
}

#[test]
fn snapping_finds_the_nearest_street_of_a_big_enough_part() {
    use geo::{Closest, HaversineClosestPoint, LineString};
    let (net, _) = liechtenstein();
    let params = NetworkParams::default();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let lines: Vec<(u32, LineString<f64>)> = (0..net.edge_count() as u32)
        .filter(|&e| {
            let c = net.component(net.edges()[e as usize].a);
            net.component_length_m(c) >= params.snap_min_component_m
        })
        .map(|e| (e, LineString::from(net.edge_points(e).collect::<Vec<_>>())))
        .collect();
    for _ in 0..60 {
        let p = loc(
            9.49 + 0.06 * rng.random::<f64>(),
            47.10 + 0.08 * rng.random::<f64>(),
        );
        // Brute force on the sphere (geo), over every edge.
        let best = lines
            .iter()
            .filter_map(
                |(_, ls)| match ls.haversine_closest_point(&Point::new(p.lon(), p.lat())) {
                    Closest::SinglePoint(q) | Closest::Intersection(q) => {
                        Some(p.distance_m(&loc(q.x(), q.y())))
                    }
                    Closest::Indeterminate => None,
                },
            )
            .fold(f64::INFINITY, f64::min);
        match net.snap(p, params.max_snap_m, params.snap_min_component_m) {
            Some(s) => {
                assert!((s.offset_m - best).abs() < 0.5, "{} vs {best}", s.offset_m);
                let e = net.edges()[s.edge as usize];
                assert_eq!(s.along_dm + s.to_b_dm, e.len_dm);
            }
            None => assert!(best > params.max_snap_m - 0.5, "{best}"),
        }
    }
}

// --- Isochrones against hand-checked points ---------------------------------------------------

/// The origin: in the industrial quarter of south Vaduz, the junction of Industriestrasse and
/// the Rheindamm (the road and cycle track along the Rhine's flood dam), 1.1 km south of the
/// nearest bridge (the old wooden bridge to Sevelen at 47.1305° N).
const ORIGIN: [f64; 2] = [9.5159267, 47.1206734];
/// The junction of Industriestrasse, Schliessa and Messinastrasse, a 284 m walk from the
/// origin (224 m straight): inside the 5-minute isochrone (375 m at 4.5 km/h).
const ALONG: [f64; 2] = [9.5181366, 47.1220166];
/// Across the Rhine: a junction of the farm tracks on the Swiss (Sevelen) bank, 266 m straight
/// from the origin. In this extract the Swiss bank's paths (a 27 km connected part) do not meet the
/// bridges, so there is no way at all; in reality the walk is ~2.5 km, round by the bridge.
const ACROSS: [f64; 2] = [9.5146941, 47.1184313];
/// The Liechtensteinische Landesbank in Vaduz's centre (expected_counts.json), 2 km straight.
const FAR: [f64; 2] = [9.5223543, 47.1381542];

fn segments_cross(p: [f64; 2], q: [f64; 2], a: [f64; 2], b: [f64; 2]) -> bool {
    let side = |o: [f64; 2], u: [f64; 2], v: [f64; 2]| {
        (u[0] - o[0]) * (v[1] - o[1]) - (u[1] - o[1]) * (v[0] - o[0])
    };
    side(p, q, a) * side(p, q, b) < 0.0 && side(a, b, p) * side(a, b, q) < 0.0
}

/// The Rhine's centre line, read from the file (the way tagged waterway=river, name=Rhein).
fn rhine() -> Vec<[f64; 2]> {
    let mut refs: Vec<Vec<i64>> = Vec::new();
    let mut coords: HashMap<i64, [f64; 2]> = HashMap::new();
    ElementReader::from_path(fixture())
        .unwrap()
        .for_each(|e| match e {
            Element::Way(w) => {
                let tags: HashMap<&str, &str> = w.tags().collect();
                if tags.get("waterway") == Some(&"river") && tags.get("name") == Some(&"Rhein") {
                    refs.push(w.refs().collect());
                }
            }
            Element::DenseNode(n) => {
                coords.insert(n.id(), [n.lon(), n.lat()]);
            }
            _ => {}
        })
        .unwrap();
    let longest = refs.into_iter().max_by_key(|r| r.len()).unwrap();
    longest.iter().map(|r| coords[r]).collect()
}

#[test]
fn vaduz_isochrones_against_hand_checked_points() {
    let (net, _) = liechtenstein();
    let nd = li_walking();
    let river = rhine();
    assert!(river.len() > 100);
    let crosses =
        |p: [f64; 2], q: [f64; 2]| river.windows(2).any(|w| segments_cross(p, q, w[0], w[1]));

    // The across point is across the river, close as the crow flies ...
    assert!(crosses(ORIGIN, ACROSS));
    assert!(!crosses(ORIGIN, ALONG));
    let straight = at(ORIGIN).distance_m(&at(ACROSS));
    assert!((250.0..375.0).contains(&straight), "{straight}");
    // ... and no street of the network crosses the river within 1 km of the origin.
    let mut nearest_bridge = f64::INFINITY;
    for e in 0..net.edge_count() as u32 {
        let pts: Vec<[f64; 2]> = net.edge_points(e).collect();
        for w in pts.windows(2) {
            if crosses(w[0], w[1]) {
                nearest_bridge = nearest_bridge.min(haversine_m(ORIGIN, w[0]));
            }
        }
    }
    assert!(nearest_bridge > 1_000.0, "{nearest_bridge}");
    // The first three are junctions of the network, the bank 12 m from its street.
    for p in [ORIGIN, ALONG, ACROSS] {
        let s = nd.snap(at(p)).unwrap();
        assert!(s.offset_m < 0.01, "{p:?} is {} m off", s.offset_m);
    }
    assert!(nd.snap(at(FAR)).unwrap().offset_m < 15.0);

    let d = nd.distances(at(ORIGIN), &[at(ALONG), at(ACROSS), at(FAR)]);
    assert!(d.iter().all(|w| w.model == STREET_NETWORK));
    assert!((250.0..=350.0).contains(&d[0].metres), "{}", d[0].metres);
    assert_eq!(d[1].metres, f64::INFINITY, "no way across in this extract");
    assert!(
        d[2].metres > 2_000.0 && d[2].metres < 3_500.0,
        "{}",
        d[2].metres
    );

    let set = Walking::Network(nd.clone()).isochrones(at(ORIGIN), &[15.0, 5.0, 10.0], KMH);
    assert_eq!(set.model, STREET_NETWORK);
    let iso = &set.isochrones;
    assert_eq!(
        iso.iter().map(|i| i.minutes).collect::<Vec<_>>(),
        vec![5.0, 10.0, 15.0]
    );
    assert!((iso[0].walking_m - 375.0).abs() < 1e-9);
    let inside = |i: &Isochrone, p: [f64; 2]| i.polygon.contains(&Point::new(p[0], p[1]));
    for (k, i) in iso.iter().enumerate() {
        assert!(
            i.polygon.is_valid(),
            "{k}: {:?}",
            i.polygon.check_validation().err()
        );
        assert!(inside(i, ORIGIN));
        assert!(inside(i, ALONG), "{k}");
        assert!(!inside(i, ACROSS), "{k}");
        assert!(!inside(i, FAR), "{k}");
    }
    // The 5-minute isochrone is not a 375 m circle: it holds less than a third of one.
    let circle = std::f64::consts::PI * 375.0 * 375.0;
    assert!(iso[0].area_m2 < circle / 3.0, "{}", iso[0].area_m2);
    assert!(iso[0].area_m2 > 0.0);
    // Nested: each holds the smaller (up to the overlay's rounding, far below 1 m²).
    let m2_per_deg2 = 111_195.0f64.powi(2) * ORIGIN[1].to_radians().cos();
    for k in 0..2 {
        assert!(iso[k].area_m2 < iso[k + 1].area_m2);
        assert!(iso[k].reached_vertices <= iso[k + 1].reached_vertices);
        let outside = iso[k]
            .polygon
            .difference(&iso[k + 1].polygon)
            .unsigned_area()
            * m2_per_deg2;
        assert!(outside < 1.0, "{k}: {outside} m² outside the next");
    }
    // Every reached junction lies inside its isochrone.
    for (k, i) in iso.iter().enumerate() {
        let b = (i.walking_m * 10.0).round() as u32;
        let mut search = Search::new(net);
        let s = nd.snap(at(ORIGIN)).unwrap();
        search.run(net, &net.seeds_from(&s), b, None);
        let reached: Vec<u32> = (0..net.vertex_count() as u32)
            .filter(|&v| search.dist_dm(v) <= b)
            .collect();
        assert_eq!(reached.len(), i.reached_vertices);
        for v in reached {
            assert!(inside(i, net.vertex(v)), "{k}: vertex {v}");
        }
    }
}

#[test]
fn life_circles_become_isochrones() {
    let circles = CoverageParams::builtin().unwrap().circles;
    let set = Walking::Network(li_walking()).life_circles(at(ORIGIN), &circles);
    assert_eq!(set.model, STREET_NETWORK);
    let got: Vec<(f64, f64)> = set
        .isochrones
        .iter()
        .map(|i| (i.minutes, i.walking_m))
        .collect();
    let want: Vec<(f64, f64)> = circles
        .iter()
        .map(|c| (c.minutes as f64, c.walking_m))
        .collect();
    assert_eq!(got, want);
}

// --- Fallback -----------------------------------------------------------------------------------

/// In the mountains above Triesenberg, 819 m from the nearest mapped way.
const MOUNTAIN: [f64; 2] = [9.57, 47.07];

#[test]
fn a_point_far_from_any_street_falls_back_and_says_so() {
    let (net, _) = liechtenstein();
    let nd = li_walking();
    // Farther than max_snap_m from every edge (brute force over all segments).
    let nearest = (0..net.edge_count() as u32)
        .flat_map(|e| net.edge_points(e).collect::<Vec<_>>())
        .map(|p| haversine_m(p, MOUNTAIN))
        .fold(f64::INFINITY, f64::min);
    assert!(nearest > 500.0, "{nearest}");
    assert!(nd.snap(at(MOUNTAIN)).is_none());
    assert_eq!(
        net.distances(at(MOUNTAIN), &[at(ORIGIN)], &nd.params),
        vec![None]
    );

    let w = Walking::Network(nd.clone());
    assert_eq!(w.model(), STREET_NETWORK);
    let from_mountain = w.distances(at(MOUNTAIN), &[at(ORIGIN), at(FAR)]);
    for (walk, p) in from_mountain.iter().zip([ORIGIN, FAR]) {
        assert_eq!(walk.model, STRAIGHT_LINE_X_DETOUR);
        assert!((walk.metres - at(MOUNTAIN).distance_m(&at(p)) * DETOUR).abs() < 1e-6);
    }
    let to_mountain = w.distance(at(ORIGIN), at(MOUNTAIN));
    assert_eq!(to_mountain.model, STRAIGHT_LINE_X_DETOUR);
    assert_eq!(w.distance(at(ORIGIN), at(ALONG)).model, STREET_NETWORK);

    let set = w.isochrones(at(MOUNTAIN), &[5.0, 10.0], KMH);
    assert_eq!(set.model, STRAIGHT_LINE_X_DETOUR);
    assert!(set.snap.is_none());
    let r = 375.0 / DETOUR;
    let area = set.isochrones[0].area_m2;
    assert!(
        (area / (std::f64::consts::PI * r * r) - 1.0).abs() < 0.01,
        "{area}"
    );
    assert!(set.isochrones[0]
        .polygon
        .contains(&Point::new(MOUNTAIN[0], MOUNTAIN[1])));

    // In a matrix only its own pairs fall back.
    let pts = [at(ORIGIN), at(MOUNTAIN), at(ALONG)];
    let m = w.matrix_with_models(&pts);
    assert_eq!(m.on_network, vec![true, false, true]);
    assert_eq!(m.model, STREET_NETWORK);
    assert!((m.metres[1] - pts[0].distance_m(&pts[1]) * DETOUR).abs() < 1e-6);
    assert!((m.metres[2] - w.distance(pts[0], pts[2]).metres).abs() < 1e-9);
}

#[test]
fn an_empty_network_walks_straight_lines_everywhere() {
    let empty = Arc::new(StreetNetwork::from_edges(vec![], vec![]).unwrap());
    assert!(empty.is_empty());
    let params = NetworkParams::default();
    let w = Walking::new(Some(empty.clone()), params, DETOUR);
    assert_eq!(w.model(), STRAIGHT_LINE_X_DETOUR);
    assert_eq!(
        Walking::new(None, params, DETOUR).model(),
        STRAIGHT_LINE_X_DETOUR
    );
    assert_eq!(
        Walking::straight(0.5).detour(),
        1.0,
        "a detour below 1 is 1"
    );
    // Held as a network anyway, every point falls back.
    let nd = NetworkDistances::new(empty, params, DETOUR);
    let pts = [at(ORIGIN), at(ALONG), at(FAR), at(MOUNTAIN)];
    let straight = StraightLine {
        detour_factor: DETOUR,
    }
    .matrix(&pts);
    let m = nd.matrix_with_models(&pts);
    assert_eq!(m.model, STRAIGHT_LINE_X_DETOUR);
    assert_eq!(m.metres, straight);
    assert_eq!(w.matrix(&pts), straight);
    assert!(nd
        .distances(pts[0], &pts)
        .iter()
        .all(|d| d.model == STRAIGHT_LINE_X_DETOUR));
    assert_eq!(
        nd.isochrones_m(pts[0], &[5.0], &[300.0]).model,
        STRAIGHT_LINE_X_DETOUR
    );
}

#[test]
fn the_walking_distances_matrix_is_symmetric_with_a_zero_diagonal() {
    let (net, _) = liechtenstein();
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    // Merchants anywhere around Vaduz (most a few metres off the street), and one in the
    // mountains.
    let mut pts: Vec<Location> = (0..30)
        .map(|_| {
            loc(
                9.50 + 0.04 * rng.random::<f64>(),
                47.12 + 0.04 * rng.random::<f64>(),
            )
        })
        .collect();
    pts.push(at(MOUNTAIN));
    let w = Walking::Network(li_walking());
    let m = WalkingDistances::matrix(&w, &pts);
    let n = pts.len();
    assert_eq!(m.len(), n * n);
    let mut on_network = 0;
    for i in 0..n {
        assert_eq!(m[i * n + i], 0.0);
        for j in 0..n {
            assert_eq!(m[i * n + j], m[j * n + i], "{i} {j}");
            assert!(m[i * n + j] >= 0.0);
            if i != j && m[i * n + j].is_finite() && m[i * n + j] > 0.0 {
                on_network += 1;
            }
        }
    }
    assert!(on_network > n * (n - 1) / 2);
    assert!(!net.has_oneway());
}

#[test]
fn two_points_off_the_street_and_close_together_walk_straight() {
    // Two shops 10 m apart, both ~120 m from the only street: not 240 m via the street.
    let city = GridCity {
        size_m: 800.0,
        block_m: 800.0,
        nodes_per_block: 4,
        diagonal_every: 0,
        river: None,
        ..GridCity::default()
    };
    let (nodes, ways) = city.ways();
    let net = Arc::new(StreetNetwork::from_ways(&nodes, &ways, Compress::Chains).unwrap());
    let nd = NetworkDistances::new(net, NetworkParams::default(), DETOUR);
    let a = at(city.at(0.0, -280.0));
    let b = at(city.at(10.0, -280.0));
    let d = nd.distances(a, &[b])[0];
    assert_eq!(d.model, STREET_NETWORK);
    assert!((d.metres - 10.0).abs() < 0.1, "{}", d.metres);
}

// --- A synthetic grid whose answers are known -------------------------------------------------

fn grid(river: Option<River>, diagonal_every: u32) -> (GridCity, Arc<StreetNetwork>) {
    let city = GridCity {
        size_m: 4_000.0,
        block_m: 80.0,
        nodes_per_block: 3,
        diagonal_every,
        river,
        ..GridCity::default()
    };
    let (nodes, ways) = city.ways();
    let net = StreetNetwork::from_ways(&nodes, &ways, Compress::Chains).unwrap();
    (city, Arc::new(net))
}

#[test]
fn on_a_grid_walks_are_manhattan_and_a_river_forces_the_bridge() {
    let (city, net) = grid(None, 0);
    assert_eq!(net.vertex_count(), 51 * 51);
    assert_eq!(net.stats().components, 1);
    let nd = NetworkDistances::new(net, NetworkParams::default(), DETOUR);
    let o = at(city.at(0.0, 0.0));
    let targets = [(3, 4), (-5, 2), (10, -10), (0, 7)];
    let pts: Vec<Location> = targets
        .iter()
        .map(|&(i, j)| at(city.at(i as f64 * 80.0, j as f64 * 80.0)))
        .collect();
    for ((i, j), d) in targets.iter().zip(nd.distances(o, &pts)) {
        let want = 80.0 * (i32::abs(*i) + i32::abs(*j)) as f64;
        assert!(
            (d.metres / want - 1.0).abs() < 1e-3,
            "{i},{j}: {} vs {want}",
            d.metres
        );
    }

    // The river lies between the streets x = 0 and x = 160 m; bridges every 10 blocks, at
    // y = −2000 + 800 k, i.e. at y = −400 and y = 400 around the centre.
    let (city, net) = grid(
        Some(River {
            column: 25,
            bridge_every: 10,
        }),
        0,
    );
    let nd = NetworkDistances::new(net, NetworkParams::default(), DETOUR);
    let west = at(city.at(0.0, 80.0));
    let east = at(city.at(160.0, 80.0));
    let d = nd.distances(west, &[east])[0].metres;
    // North to the bridge at y = 400 (320 m), across (160 m), back south (320 m).
    assert!((d / 800.0 - 1.0).abs() < 1e-3, "{d}");
    let iso = nd.isochrones_m(west, &[10.0], &[750.0]).isochrones;
    assert!(!iso[0].polygon.contains(&Point::new(east.lon(), east.lat())));
    let iso = nd.isochrones_m(west, &[11.0], &[820.0]).isochrones;
    assert!(iso[0].polygon.contains(&Point::new(east.lon(), east.lat())));
}

/// The Huff estimate's way of walking: snaps made once, one search memory reused from origin to
/// origin, the search bounded. Within the bound it gives `distances`' answers exactly; beyond it,
/// the same or no way (infinite); points off the network are straight line × detour whatever the
/// bound.
#[test]
fn snapped_walks_with_a_reused_search_and_a_bound_agree_with_distances() {
    let (city, net) = grid(
        Some(River {
            column: 25,
            bridge_every: 10,
        }),
        0,
    );
    let nd = NetworkDistances::new(net.clone(), NetworkParams::default(), DETOUR);
    let mut to: Vec<Location> = (-6..=6)
        .flat_map(|i| (-6..=6).map(move |j| (i, j)))
        .map(|(i, j)| at(city.at(i as f64 * 75.0, j as f64 * 75.0 + 20.0)))
        .collect();
    // Off the grid (which ends at ±2 km): straight line × detour.
    to.push(at(city.at(0.0, 2_600.0)));
    let snaps: Vec<Option<Snap>> = to.iter().map(|p| nd.snap(*p)).collect();
    assert!(snaps.last().unwrap().is_none());
    let mut search = Search::new(&net);
    let bound = 600.0;
    let (mut within, mut beyond) = (0, 0);
    for origin in [(0.0, 0.0), (160.0, 80.0), (-300.0, 250.0), (400.0, -120.0)] {
        let from = at(city.at(origin.0, origin.1));
        let want = nd.distances(from, &to);
        let got = nd.distances_snapped(&mut search, from, &to, &snaps, bound);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.model, w.model);
            if w.model == STRAIGHT_LINE_X_DETOUR || w.metres <= bound {
                assert_eq!(g.metres, w.metres);
                within += 1;
            } else {
                // The bound is on the streets' part: a walk just beyond it may still be
                // found (its off-network legs on top); otherwise it is no way.
                assert!(
                    g.metres == w.metres || g.metres == f64::INFINITY,
                    "{} vs {}",
                    g.metres,
                    w.metres
                );
                beyond += usize::from(g.metres == f64::INFINITY);
            }
        }
    }
    assert!(within > 50 && beyond > 50, "{within} {beyond}");
}

#[test]
fn grid_isochrones_follow_the_streets() {
    let (city, net) = grid(None, 0);
    let params = NetworkParams::default();
    let nd = NetworkDistances::new(net, params, DETOUR);
    let o = at(city.at(0.0, 0.0));
    let set = nd.isochrones_m(o, &[5.0, 15.0], &[375.0, 1125.0]);
    let contains = |k: usize, x: f64, y: f64| {
        let p = city.at(x, y);
        set.isochrones[k].polygon.contains(&Point::new(p[0], p[1]))
    };
    // Along a street: reached to 375 m, plus the 30 m of land beyond its end.
    assert!(contains(0, 300.0, 0.0));
    assert!(contains(0, 0.0, -370.0));
    assert!(contains(0, 400.0, 0.0));
    assert!(!contains(0, 420.0, 0.0));
    // Off the axes: (160, 160) is a 320 m walk, (240, 240) a 480 m one.
    assert!(contains(0, 160.0, 160.0));
    assert!(!contains(0, 240.0, 240.0));
    // A 20 m × 20 m block core (over 30 m from every street) is filled as a small hole.
    assert!(contains(1, 40.0, 40.0));
    assert!(contains(1, 120.0, 120.0));
    // Areas: between the walked diamond (2 R²) and the diamond grown by the buffer.
    for (k, r) in [(0, 375.0), (1, 1125.0)] {
        let a = set.isochrones[k].area_m2;
        let lo = 2.0 * r * r;
        let hi = 2.0 * (r + 30.0 * std::f64::consts::SQRT_2).powi(2) + 4.0 * 30.0 * 30.0;
        assert!(a > lo && a < hi, "{k}: {a} not in {lo}..{hi}");
        assert!(set.isochrones[k].polygon.is_valid());
    }
    // With holes kept, the block cores appear: same outline, less area.
    let holes = NetworkDistances::new(
        nd.network.clone(),
        NetworkParams {
            isochrone_fill_holes_m2: 0.0,
            ..params
        },
        DETOUR,
    );
    let h = holes.isochrones_m(o, &[15.0], &[1125.0]).isochrones;
    let hole_count: usize = h[0].polygon.0.iter().map(|p| p.interiors().len()).sum();
    assert!(hole_count > 100, "{hole_count}");
    assert!(h[0].area_m2 < set.isochrones[1].area_m2);
    assert!(h[0].polygon.is_valid());
}

#[test]
fn one_way_footways_are_walked_one_way() {
    // A square a–b–c–d with a one-way footway a → b; the rest both ways.
    let v = vec![
        [103.76, 29.55],
        [103.761, 29.55],
        [103.761, 29.551],
        [103.76, 29.551],
    ];
    let e = vec![
        edge(0, 1, 100.0, true),
        edge(1, 2, 100.0, false),
        edge(2, 3, 100.0, false),
        edge(3, 0, 100.0, false),
    ];
    let net = Arc::new(StreetNetwork::from_edges(v.clone(), e).unwrap());
    let params = NetworkParams {
        snap_min_component_m: 0.0,
        ..NetworkParams::default()
    };
    let nd = NetworkDistances::new(net, params, DETOUR);
    let (a, b) = (at(v[0]), at(v[1]));
    assert!((nd.distances(a, &[b])[0].metres - 100.0).abs() < 0.01);
    assert!((nd.distances(b, &[a])[0].metres - 300.0).abs() < 0.01);
    let m = nd.matrix_with_models(&[a, b]);
    assert!((m.metres[1] - 100.0).abs() < 0.01, "{:?}", m.metres);
    assert!((m.metres[2] - 300.0).abs() < 0.01, "{:?}", m.metres);
}

#[test]
fn a_synthetic_city_is_large_and_connected() {
    let city = GridCity::default();
    let (nodes, ways) = city.ways();
    assert!(nodes.len() > 300_000);
    let net = StreetNetwork::from_ways(&nodes, &ways, Compress::None).unwrap();
    assert!(net.vertex_count() >= 200_000);
    assert_eq!(net.stats().components, 1, "the bridges join the banks");
}

#[test]
fn the_visit_planner_walks_the_network() {
    use crate::visits::hours::OpeningHours;
    use crate::visits::params::VisitParams;
    use crate::visits::plan::{plan, Candidate, PlanRequest, SolverOptions};
    let w = Walking::Network(li_walking());
    let date = chrono::NaiveDate::from_ymd_opt(2024, 5, 14).unwrap();
    let mut req = PlanRequest::new(&VisitParams::builtin().unwrap(), at(ORIGIN), date);
    req.candidates = [ALONG, ACROSS, FAR]
        .iter()
        .enumerate()
        .map(|(i, p)| Candidate {
            slot: i as u32,
            priority: 10.0,
            location: at(*p),
            category: "retail".into(),
            hours: OpeningHours::from_text(None),
        })
        .collect();
    let out = plan(&req, &w, &SolverOptions::default()).unwrap();
    let visited: Vec<u32> = out
        .routes
        .iter()
        .flat_map(|r| r.stops.iter().map(|s| s.slot))
        .collect();
    assert!(visited.contains(&0));
    // Across the river there is no way on foot in this extract: never visited.
    assert!(!visited.contains(&1), "{visited:?}");
    let first = &out.routes[0].stops[0];
    let want = w.distance(at(ORIGIN), at([ALONG, ACROSS, FAR][first.slot as usize]));
    assert!((first.leg.metres - want.metres).abs() < 1e-6);
}
