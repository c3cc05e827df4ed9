//! Tests of the generic cities, the presets and the streaming of plans.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::cities::{CITIES, PROVINCES};
use super::plan::{share, Batch, Plan, Preset, Sizes, CITY_PRESET};
use super::*;

/// China's bounding box (mainland and Hainan), WGS-84.
const CHINA: ([f64; 2], [f64; 2]) = ([73.4, 18.1], [135.1, 53.6]);

fn sizes(merchants: usize, ours: usize, competitors: usize, communities: usize) -> Sizes {
    Sizes {
        merchants,
        outlets_ours: ours,
        outlets_competitors: competitors,
        communities,
    }
}

/// A generic city config of the national list, with its own sizes.
fn generic(code: &str, s: Sizes) -> GenConfig {
    let city = cities::city(code).unwrap();
    Plan::over(&[city], s, 42).unwrap().cities.remove(0)
}

fn stream_hash(plan: Plan, chunk: usize) -> String {
    let mut h = Sha256::new();
    for b in plan.stream(chunk) {
        let line = match b.unwrap() {
            Batch::City { index, code, name } => format!("city {index} {code} {name}"),
            Batch::OrgUnits(v) => v.iter().map(|x| format!("{x:?}\n")).collect(),
            Batch::Outlets(v) => v.iter().map(|x| format!("{x:?}\n")).collect(),
            Batch::Areas(v) => v.iter().map(|x| format!("{x:?}\n")).collect(),
            Batch::Merchants(v) => v
                .iter()
                .map(|x| format!("{x:?} {:?}\n", x.contact))
                .collect(),
            Batch::Communities(v) => v.iter().map(|x| format!("{x:?}\n")).collect(),
        };
        h.update(line.as_bytes());
    }
    format!("{:x}", h.finalize())
}

fn lines(ds: &Dataset) -> Vec<String> {
    let mut v: Vec<String> = ds
        .merchants
        .iter()
        .map(|m| format!("{m:?} {:?}", m.contact))
        .chain(ds.outlets.iter().map(|o| format!("{o:?}")))
        .chain(ds.communities.iter().map(|c| format!("{c:?}")))
        .chain(ds.areas.iter().map(|a| format!("{a:?}")))
        .chain(ds.org_units.iter().map(|u| format!("{u:?}")))
        .collect();
    v.sort();
    v
}

#[test]
fn the_city_list_is_consistent() {
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    for c in CITIES {
        assert!(codes.insert(c.code), "duplicate code {}", c.code);
        assert!(names.insert(c.name), "duplicate name {}", c.name);
        assert!(
            c.code.chars().all(|ch| ch.is_ascii_uppercase()),
            "{}",
            c.code
        );
        assert!(cities::province(c.province).is_some(), "{}", c.province);
        let [lon, lat] = c.center;
        assert!((CHINA.0[0]..CHINA.1[0]).contains(&lon), "{}", c.name);
        assert!((CHINA.0[1]..CHINA.1[1]).contains(&lat), "{}", c.name);
        assert!(c.weight > 0.0);
    }
    assert_eq!(CITIES.len(), 142);
    // Every province-level division has at least one city; the list is largest first.
    for p in PROVINCES {
        assert!(CITIES.iter().any(|c| c.province == p.code), "{}", p.name);
    }
    assert!(CITIES.windows(2).all(|w| w[0].weight >= w[1].weight));
    assert!(cities::city(CITY_PRESET).is_some());
}

#[test]
fn shares_add_up_exactly_and_follow_the_weights() {
    assert_eq!(share(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
    assert_eq!(share(0, &[1.0, 2.0]), vec![0, 0]);
    assert_eq!(share(7, &[]), Vec::<usize>::new());
    let weights: Vec<f64> = CITIES.iter().map(|c| c.weight).collect();
    for total in [0, 1, 20, 141, 142, 143, 20_000, 30_000_000] {
        let s = share(total, &weights);
        assert_eq!(s.iter().sum::<usize>(), total);
        // Largest remainders: each share is its quota rounded down or up.
        let sum: f64 = weights.iter().sum();
        for (n, w) in s.iter().zip(&weights) {
            let q = total as f64 * w / sum;
            assert!((*n as f64 - q).abs() < 1.0 + 1e-9, "{n} vs {q}");
        }
    }
}

#[test]
fn presets_have_their_documented_sizes_and_share_them_out_exactly() {
    let city = Plan::preset(Preset::City, Preset::City.sizes(), 42).unwrap();
    assert_eq!(city.cities.len(), 1);
    assert_eq!(
        city.totals(),
        sizes(1_000_000, 1_200, 800, 20_000),
        "the city preset"
    );
    assert_eq!(city.cities[0].city.as_ref().unwrap().name, "成都");

    let national = Plan::preset(Preset::National, Preset::National.sizes(), 42).unwrap();
    assert_eq!(national.cities.len(), 142);
    assert_eq!(national.totals(), sizes(30_000_000, 12_000, 8_000, 600_000));
    let by_code: HashMap<&str, &GenConfig> = national
        .cities
        .iter()
        .map(|c| (c.city.as_ref().unwrap().code.as_str(), c))
        .collect();
    // Tier-1 cities are far bigger than prefecture-level ones.
    assert!(by_code["SH"].merchants > 1_400_000);
    assert!(by_code["LS"].merchants < 40_000);
    assert!(by_code["SH"].merchants > 15 * by_code["LES"].merchants);
    // Seeds differ between cities; the head is the head office and the province branches.
    let seeds: HashSet<u64> = national.cities.iter().map(|c| c.seed).collect();
    assert_eq!(seeds.len(), 142);
    assert_eq!(national.head[0].id, "HQ");
    assert_eq!(national.head.len(), 1 + PROVINCES.len() - 4);

    assert_eq!(
        Preset::National.sizes().scaled(0.001),
        sizes(30_000, 12, 8, 600)
    );
    assert_eq!("national".parse::<Preset>().unwrap(), Preset::National);
    assert!("country".parse::<Preset>().is_err());
}

#[test]
fn a_city_streamed_in_chunks_is_the_city_generated_at_once() {
    for cfg in [
        GenConfig {
            merchants: 3_000,
            communities: 90,
            ..GenConfig::default()
        },
        generic("LES", sizes(4_000, 9, 5, 120)),
    ] {
        let whole = try_generate(&cfg).unwrap();
        let mut city = CityStream::new(&cfg).unwrap();
        let header = city.take_header();
        let mut ds = Dataset {
            org_units: header.org_units,
            outlets: header.outlets,
            areas: header.areas,
            ..Dataset::default()
        };
        while city.merchants_left() > 0 {
            ds.merchants.extend(city.next_merchants(7));
        }
        while city.communities_left() > 0 {
            ds.communities.extend(city.next_communities(5));
        }
        assert!(city.error().is_none());
        assert_eq!(lines(&ds), lines(&whole));
        assert_eq!(ds.merchants.len(), cfg.merchants);
    }
}

#[test]
fn plans_are_deterministic_and_the_seed_changes_them() {
    let plan = |seed| {
        Plan::preset(
            Preset::National,
            Preset::National.sizes().scaled(0.0005),
            seed,
        )
        .unwrap()
    };
    let a = stream_hash(plan(42), 1_000);
    // The chunk size changes the batches, not the data.
    assert_eq!(a, stream_hash(plan(42), 333));
    assert_ne!(a, stream_hash(plan(43), 1_000));
}

#[test]
fn a_national_plan_makes_one_org_tree_and_unique_ids_inside_china() {
    let plan = Plan::preset(Preset::National, Preset::National.sizes().scaled(0.001), 42).unwrap();
    let totals = plan.totals();
    let ds = plan.collect().unwrap();
    assert_eq!(ds.merchants.len(), totals.merchants);
    assert_eq!(ds.communities.len(), totals.communities);
    assert_eq!(
        ds.outlets.len(),
        totals.outlets_ours + totals.outlets_competitors
    );
    check_tree(&ds.org_units).unwrap();
    let units: HashMap<&str, &OrgUnit> = ds.org_units.iter().map(|u| (u.id.as_str(), u)).collect();
    // head office → province branch → city branch → sub-branch → outlet (municipalities: one
    // level less).
    assert_eq!(units["P-SC"].parent_id.as_deref(), Some("HQ"));
    assert_eq!(units["CD-BR"].parent_id.as_deref(), Some("P-SC"));
    assert_eq!(units["CD-BR"].name, "成都分行");
    assert_eq!(units["BJ-BR"].parent_id.as_deref(), Some("HQ"));
    assert_eq!(units["BJ-BR"].level, OrgLevel::ProvinceBranch);
    for o in ds.outlets.iter().filter(|o| o.is_ours()) {
        let parent = units[o.parent_org_id.as_deref().unwrap()];
        assert_eq!(parent.level, OrgLevel::SubBranch);
        let code = o.id.split('-').next().unwrap();
        assert!(parent.id.starts_with(&format!("{code}-")), "{}", o.id);
    }
    let mut seen = HashSet::new();
    for id in ds
        .merchants
        .iter()
        .map(|m| &m.id)
        .chain(ds.outlets.iter().map(|o| &o.id))
        .chain(ds.communities.iter().map(|c| &c.id))
        .chain(ds.areas.iter().map(|a| &a.id))
        .chain(ds.org_units.iter().map(|u| &u.id))
    {
        assert!(seen.insert(id.as_str()), "duplicate id {id}");
    }
    for m in &ds.merchants {
        let (lon, lat) = (m.location.lon(), m.location.lat());
        assert!(
            (CHINA.0[0]..CHINA.1[0]).contains(&lon) && (CHINA.0[1]..CHINA.1[1]).contains(&lat),
            "{} at {lon},{lat}",
            m.id
        );
    }
    // Every merchant of a city is near that city's centre.
    for m in &ds.merchants {
        let code = m.id.split('-').next().unwrap();
        let c = cities::city(code).unwrap();
        let centre = Location::new(c.center[0], c.center[1]).unwrap();
        assert!(m.location.distance_m(&centre) < 40_000.0, "{}", m.id);
    }
}

/// Merchants per km² in a ring round the centre.
fn density(ds: &Dataset, centre: Location, from_m: f64, to_m: f64) -> f64 {
    let n = ds
        .merchants
        .iter()
        .filter(|m| (from_m..to_m).contains(&m.location.distance_m(&centre)))
        .count();
    let area_km2 = std::f64::consts::PI * (to_m * to_m - from_m * from_m) / 1e6;
    n as f64 / area_km2
}

#[test]
fn a_generic_city_has_a_dense_core_sparse_edges_and_full_food_streets() {
    let cfg = generic("CD", sizes(200_000, 240, 160, 4_000));
    let ds = try_generate(&cfg).unwrap();
    let centre = Location::new(cfg.center[0], cfg.center[1]).unwrap();
    let b = clark_b_m(cfg.merchants);
    let core = density(&ds, centre, 0.0, 1_000.0);
    let edge = density(&ds, centre, 4.0 * b, 5.0 * b);
    assert!(core > 2_000.0, "core {core:.0}/km²");
    assert!(core > 30.0 * edge, "core {core:.0}/km², edge {edge:.0}/km²");

    let streets: Vec<&Area> = ds
        .areas
        .iter()
        .filter(|a| a.kind == AreaKind::FoodStreet)
        .collect();
    assert_eq!(streets.len(), 200_000 / GENERIC_MERCHANTS_PER_STREET);
    for s in &streets {
        let mid = s.polygon.representative_point();
        let inside: Vec<&Merchant> = ds
            .merchants
            .iter()
            .filter(|m| m.location.distance_m(&mid) < 500.0 && s.polygon.contains(&m.location))
            .collect();
        assert!(inside.len() >= 100, "{}: {}", s.name, inside.len());
        let food = inside
            .iter()
            .filter(|m| m.category == "dining" || m.category == "tea_coffee")
            .count();
        // At the core the street's buffer also holds the dense core's other shops.
        assert!(
            food >= 100 && food * 2 >= inside.len(),
            "{}: {food} of {}",
            s.name,
            inside.len()
        );
    }
    // Prices fall from the centre outwards; ids carry the city's code.
    let price = |from: f64, to: f64| {
        let v: Vec<f64> = ds
            .communities
            .iter()
            .filter(|c| (from..to).contains(&c.location.distance_m(&centre)))
            .filter_map(|c| c.avg_house_price_cny_m2)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    assert!(price(0.0, 3_000.0) > 1.3 * price(2.0 * b, 5.0 * b));
    assert!(ds.merchants.iter().all(|m| m.id.starts_with("CD-M")));
    assert!(ds.outlets.iter().any(|o| o.name == "成都分行营业部"));
}

#[test]
fn a_small_city_still_gets_a_full_food_street_and_a_tiny_one_none() {
    let ds = try_generate(&generic("LS", sizes(400, 1, 1, 10))).unwrap();
    let street = ds
        .areas
        .iter()
        .find(|a| a.kind == AreaKind::FoodStreet)
        .unwrap();
    let inside = ds
        .merchants
        .iter()
        .filter(|m| street.polygon.contains(&m.location))
        .count();
    assert!(inside >= 100, "{inside}");
    let tiny = try_generate(&generic("LS", sizes(120, 0, 0, 3))).unwrap();
    assert!(tiny.areas.iter().all(|a| a.kind != AreaKind::FoodStreet));
    assert!(!tiny.areas.is_empty());
}
