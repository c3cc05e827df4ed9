//! Tests of the coverage models: hand-built indexes whose answers are known, and the Leshan demo
//! checked against brute force.

use crate::index::MerchantRef;
use std::collections::HashSet;

use geo::Contains;

use super::*;
use crate::domain::{
    Categories, Community, CommunityDraft, Dataset, Location, Merchant, MerchantDraft, Outlet,
    OutletDraft, PipelineStatus,
};
use crate::gen::{generate, GenConfig};
use crate::index::SpatialIndex;
use crate::scoring::{estimate, priority, MerchantStats, ScoringParams};

const LON: f64 = 103.76;
const LAT: f64 = 29.50;
const DETOUR: f64 = 1.3;

fn params() -> CoverageParams {
    CoverageParams::builtin().unwrap()
}

/// The point `north_m` metres north of (LON, LAT) along the meridian (haversine-exact).
fn lat_north(north_m: f64) -> f64 {
    LAT + (north_m / crate::index::EARTH_RADIUS_M).to_degrees()
}

fn at() -> Location {
    Location::new(LON, LAT).unwrap()
}

fn merchant(id: &str, category: &str, north_m: f64, status: PipelineStatus) -> Merchant {
    Merchant::try_from(MerchantDraft {
        id: id.into(),
        name: format!("shop {id}"),
        category: category.into(),
        lon: LON,
        lat: lat_north(north_m),
        status,
        ..Default::default()
    })
    .unwrap()
}

fn community(id: &str, north_m: f64, households: f64) -> Community {
    Community::try_from(CommunityDraft {
        id: id.into(),
        name: format!("compound {id}"),
        lon: Some(LON),
        lat: Some(lat_north(north_m)),
        households,
        ..Default::default()
    })
    .unwrap()
}

fn outlet(id: &str, north_m: f64, competitor: Option<&str>) -> Outlet {
    Outlet::try_from(OutletDraft {
        id: id.into(),
        name: format!("outlet {id}"),
        competitor_bank: competitor.map(str::to_string),
        lon: LON,
        lat: lat_north(north_m),
        ..Default::default()
    })
    .unwrap()
}

fn leshan() -> (SpatialIndex, MerchantStats, ScoringParams) {
    let index = SpatialIndex::build(generate(&GenConfig::default()));
    let scoring = ScoringParams::builtin().unwrap();
    let stats = estimate(
        &index,
        &scoring,
        &crate::network::Walking::straight(scoring.detour_factor),
    );
    (index, stats, scoring)
}

fn all(_: MerchantRef<'_>) -> bool {
    true
}

fn every_community(_: &crate::domain::Community) -> bool {
    true
}

#[test]
fn builtin_params_load_with_the_gb50180_circles_and_catalogue_categories() {
    let p = params();
    let walks: Vec<(u32, f64)> = p.circles.iter().map(|c| (c.minutes, c.walking_m)).collect();
    assert_eq!(walks, [(5, 300.0), (10, 500.0), (15, 1000.0)]);
    assert_eq!(p.community_circle_m, 500.0);
    assert_eq!(p.default_h3_resolution, 9);
    let cats = Categories::builtin().unwrap();
    for (code, k) in &p.essential {
        assert!(cats.get(code).is_some(), "{code} is not a catalogue code");
        assert!(*k >= 1);
    }
    assert_eq!(
        p.essential,
        [
            ("supermarket".to_string(), 1),
            ("fresh_food".to_string(), 1),
            ("dining".to_string(), 2),
            ("health".to_string(), 1)
        ]
    );
    assert!((straight_m(1000.0, DETOUR) - 769.230_769).abs() < 1e-5);
}

#[test]
fn bad_coverage_files_are_rejected_with_the_field_named() {
    let good = include_str!("../../data/coverage.toml");
    let field = |text: &str| match CoverageParams::from_toml(text) {
        Err(ParamsError::Invalid(e)) => e.field,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field(&good.replace("walking_m = 500.0", "walking_m = 200.0")),
        "circles[1].walking_m"
    );
    assert_eq!(
        field(&good.replace("default_h3_resolution = 9", "default_h3_resolution = 12")),
        "default_h3_resolution"
    );
    assert_eq!(field(&good.replace("k = 2", "k = 0")), "essential[2].k");
    assert_eq!(
        field(&good.replace("\"health\"", "\"dining\"")),
        "essential[3].category"
    );
    assert!(matches!(
        CoverageParams::from_toml(&good.replace("k = 2", "k = 2\nkk = 1")),
        Err(ParamsError::Toml(_))
    ));
}

/// Our outlet O at 0 m and a competitor's at 350 m; merchants at 100 m (signed dining),
/// 200 m (prospect supermarket signed with a competitor bank), 300 m (active dining), 700 m
/// (visited health), 800 m (signed dining, outside every circle) and 50 m (rejected retail,
/// which `keep` drops in one check); communities at 100 m (500 households) and 600 m (300).
/// Straight radii with detour 1.3: 230.8, 384.6 and 769.2 m.
fn hand_built() -> SpatialIndex {
    use PipelineStatus::*;
    let mut m2 = merchant("M200", "supermarket", 200.0, Prospect);
    m2.competitor_signed = Some("建设银行".into());
    SpatialIndex::build(Dataset {
        outlets: vec![outlet("O", 0.0, None), outlet("X", 350.0, Some("建设银行"))],
        merchants: vec![
            merchant("M100", "dining", 100.0, Signed),
            m2,
            merchant("M300", "dining", 300.0, Active),
            merchant("M700", "health", 700.0, Visited),
            merchant("M800", "dining", 800.0, Signed),
            merchant("M050", "retail", 50.0, Rejected),
        ],
        communities: vec![
            community("C100", 100.0, 500.0),
            community("C600", 600.0, 300.0),
        ],
        ..Default::default()
    })
}

#[test]
fn circles_on_a_hand_built_index_count_exactly_and_cumulatively() {
    let index = hand_built();
    let p = params();
    let c = life_circles(&index, at(), &p, DETOUR, &all, &every_community);
    assert_eq!(c.len(), 3);
    assert_eq!(c.iter().map(|c| c.minutes).collect::<Vec<_>>(), [5, 10, 15]);
    assert!((c[0].radius_m - 300.0 / 1.3).abs() < 1e-9);
    assert_eq!(c[0].distance, "straight_line_x_detour");
    // 5 minutes (230.8 m): M050, M100, M200; C100.
    assert_eq!(c[0].merchants, 3);
    assert_eq!(c[0].signed, 1);
    assert!((c[0].signed_share - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(c[0].by_status["rejected"], 1);
    assert_eq!(c[0].by_status["signed"], 1);
    assert_eq!(c[0].by_status["prospect"], 1);
    assert_eq!(c[0].by_status["active"], 0);
    assert_eq!(c[0].by_status.len(), 7);
    assert_eq!(
        c[0].by_category["dining"],
        CategoryCount {
            total: 1,
            signed: 1
        }
    );
    assert_eq!(c[0].communities, 1);
    assert_eq!(c[0].households, 500);
    assert!(c[0].competitor_outlets.is_empty());
    assert_eq!(c[0].competitor_signed_merchants, 1);
    // 10 minutes (384.6 m): adds M300 (active) and the competitor X at 350 m.
    assert_eq!(c[1].merchants, 4);
    assert_eq!(c[1].signed, 2);
    assert_eq!(c[1].signed_share, 0.5);
    assert_eq!(
        c[1].by_category["dining"],
        CategoryCount {
            total: 2,
            signed: 2
        }
    );
    assert_eq!(c[1].competitor_outlets, ["X"]);
    assert_eq!(c[1].households, 500);
    // 15 minutes (769.2 m): adds M700 and C600; M800 stays outside.
    assert_eq!(c[2].merchants, 5);
    assert_eq!(c[2].signed, 2);
    assert_eq!(c[2].by_status["visited"], 1);
    assert_eq!(c[2].by_category["health"].total, 1);
    assert!(!c[2].by_category.contains_key("auto"));
    assert_eq!(c[2].communities, 2);
    assert_eq!(c[2].households, 800);
    assert_eq!(c[2].competitor_outlets, ["X"]);
    // keep applies to merchants only.
    let scoped = life_circles(
        &index,
        at(),
        &p,
        DETOUR,
        &|m| m.category() != "retail",
        &every_community,
    );
    assert_eq!(scoped[0].merchants, 2);
    assert_eq!(scoped[0].by_status["rejected"], 0);
    assert_eq!(scoped[2].households, 800);
    assert!(!scoped[2].by_category.contains_key("retail"));
}

#[test]
fn a_merchant_on_a_circle_edge_is_inside_and_just_beyond_is_not() {
    let p = params();
    let r = straight_m(300.0, DETOUR);
    let index = SpatialIndex::build(Dataset {
        merchants: vec![
            merchant("IN", "dining", r - 0.0005, PipelineStatus::Prospect),
            merchant("OUT", "dining", r + 0.0005, PipelineStatus::Prospect),
        ],
        ..Default::default()
    });
    let exact: Vec<f64> = index
        .merchants
        .iter()
        .map(|(_, m)| m)
        .map(|m| m.location().distance_m(&at()))
        .collect();
    let expected = exact.iter().filter(|&&d| d <= r).count();
    let c = life_circles(&index, at(), &p, DETOUR, &all, &every_community);
    assert_eq!(c[0].merchants, expected);
    assert_eq!(c[1].merchants, 2);
}

#[test]
fn leshan_circles_agree_with_a_brute_force_scan_of_every_merchant() {
    let (index, _, _) = leshan();
    let p = params();
    let mut points: Vec<Location> = index.outlets.items().iter().map(|o| o.location).collect();
    points.extend(
        index
            .communities
            .items()
            .iter()
            .step_by(9)
            .map(|c| c.location),
    );
    for at in points {
        let circles = life_circles(
            &index,
            at,
            &p,
            DETOUR,
            &|m| m.category() != "auto",
            &every_community,
        );
        for c in &circles {
            let inside: Vec<MerchantRef<'_>> = index
                .merchants
                .iter()
                .map(|(_, m)| m)
                .filter(|m| m.category() != "auto" && m.location().distance_m(&at) <= c.radius_m)
                .collect();
            assert_eq!(c.merchants, inside.len());
            assert_eq!(c.signed, inside.iter().filter(|m| is_signed(**m)).count());
            let dining = inside.iter().filter(|m| m.category() == "dining").count();
            assert_eq!(c.by_category.get("dining").map_or(0, |d| d.total), dining);
            let hh: u64 = index
                .communities
                .items()
                .iter()
                .filter(|x| x.location.distance_m(&at) <= c.radius_m)
                .map(|x| u64::from(x.households))
                .sum();
            assert_eq!(c.households, hh);
            let comp = index
                .outlets
                .items()
                .iter()
                .filter(|o| !o.is_ours() && o.location.distance_m(&at) <= c.radius_m)
                .count();
            assert_eq!(c.competitor_outlets.len(), comp);
            let total: usize = c.by_category.values().map(|x| x.total).sum();
            assert_eq!(total, c.merchants);
            assert_eq!(c.by_status.values().sum::<usize>(), c.merchants);
        }
        for w in circles.windows(2) {
            assert!(w[0].merchants <= w[1].merchants && w[0].households <= w[1].households);
        }
    }
}

/// A community at 0 m and, within 100 m of it, the essential merchants `signed` lists (signed),
/// plus an unsigned supermarket and a signed supermarket 1 km away (outside its circle).
fn with_signed(signed: &[&str]) -> SpatialIndex {
    let mut merchants: Vec<Merchant> = signed
        .iter()
        .enumerate()
        .map(|(i, cat)| {
            merchant(
                &format!("S{i}"),
                cat,
                10.0 * i as f64,
                PipelineStatus::Signed,
            )
        })
        .collect();
    merchants.push(merchant(
        "U",
        "supermarket",
        20.0,
        PipelineStatus::Interested,
    ));
    merchants.push(merchant(
        "FAR",
        "supermarket",
        1_000.0,
        PipelineStatus::Signed,
    ));
    SpatialIndex::build(Dataset {
        merchants,
        communities: vec![community("C", 0.0, 700.0)],
        ..Default::default()
    })
}

#[test]
fn a_community_with_k_signed_merchants_of_every_essential_category_is_covered() {
    let p = params();
    let index = with_signed(&["supermarket", "fresh_food", "dining", "dining", "health"]);
    let cov = community_coverage(&index, &p, DETOUR, &all);
    assert_eq!(cov.len(), 1);
    assert_eq!(cov[0].community_id, "C");
    assert_eq!(cov[0].households, 700);
    assert!(cov[0].covered, "{:?}", cov[0].missing);
    assert!(cov[0].missing.is_empty());
}

#[test]
fn a_community_one_short_is_not_covered_and_names_the_missing_category() {
    let p = params();
    let index = with_signed(&["supermarket", "fresh_food", "dining", "health"]);
    let cov = community_coverage(&index, &p, DETOUR, &all);
    assert!(!cov[0].covered);
    assert_eq!(cov[0].missing, [("dining".to_string(), 1, 2)]);
    // Out of scope counts as missing too.
    let scoped = community_coverage(&index, &p, DETOUR, &|m| m.category() != "health");
    assert_eq!(
        scoped[0].missing,
        [("dining".to_string(), 1, 2), ("health".to_string(), 0, 1)]
    );
    // An unsigned supermarket does not count; the far signed one is outside the circle.
    let index = with_signed(&["fresh_food", "dining", "dining", "health"]);
    let cov = community_coverage(&index, &p, DETOUR, &all);
    assert_eq!(cov[0].missing, [("supermarket".to_string(), 0, 1)]);
}

#[test]
fn coverage_shares_sum_households_around_a_point_and_over_a_set() {
    let p = params();
    let (index, _, _) = leshan();
    let cov = community_coverage(&index, &p, DETOUR, &all);
    assert_eq!(cov.len(), index.communities.len());
    for (slot, row) in cov.iter().enumerate() {
        assert_eq!(row.community_id, index.communities.item(slot as u32).id);
    }
    let covered = cov.iter().filter(|c| c.covered).count();
    let mut short: std::collections::BTreeMap<&str, usize> = Default::default();
    for row in &cov {
        for (cat, _, _) in &row.missing {
            *short.entry(cat.as_str()).or_default() += 1;
        }
    }
    eprintln!(
        "Leshan demo: {covered} of {} communities covered; short of: {short:?}",
        cov.len()
    );
    let out = index.outlets.get("OUT01").unwrap().location;
    let r = p.outer_circle().radius_m(DETOUR);
    let s = share_around(&index, &cov, out, r);
    let ids: HashSet<&str> = index
        .communities
        .items()
        .iter()
        .filter(|c| c.location.distance_m(&out) <= r)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(s, share_of(&cov, &ids));
    assert_eq!(s.communities, ids.len());
    assert!(s.communities > 0);
    assert!((0.0..=1.0).contains(&s.share));
    let hh: u64 = cov
        .iter()
        .filter(|c| ids.contains(c.community_id.as_str()))
        .map(|c| u64::from(c.households))
        .sum();
    assert_eq!(s.households, hh);
    assert_eq!(share_of(&cov, &HashSet::new()), CoverageShare::default());
    // A coverage list out of slot order is looked up by id.
    let mut shuffled = cov.clone();
    shuffled.reverse();
    assert_eq!(share_around(&index, &shuffled, out, r), s);
}

fn slots_within(index: &SpatialIndex, at: Location, r: f64) -> (Vec<u32>, Vec<u32>) {
    let m = index
        .merchants
        .within_radius(at, r)
        .iter()
        .map(|h| h.slot)
        .collect();
    let c = index
        .communities
        .within_radius(at, r)
        .iter()
        .map(|h| h.slot)
        .collect();
    (m, c)
}

#[test]
fn hex_sums_equal_the_inputs_and_boundaries_contain_their_merchants() {
    let (index, stats, _) = leshan();
    let p = params();
    let out = index.outlets.get("OUT01").unwrap().location;
    let (ms, cs) = slots_within(&index, out, 1_500.0);
    let prio = |s: u32| f64::from(s % 7);
    for res in [
        h3o::Resolution::Eight,
        h3o::Resolution::Nine,
        h3o::Resolution::Ten,
    ] {
        let hexes = grid(&index, &stats, &prio, &ms, &cs, res, &p);
        assert!(hexes.windows(2).all(|w| w[0].cell < w[1].cell));
        assert!(hexes.iter().all(|h| h.resolution == u8::from(res)));
        assert!(hexes.iter().all(|h| h.merchants > 0 || h.households > 0));
        assert_eq!(hexes.iter().map(|h| h.merchants).sum::<usize>(), ms.len());
        let signed = ms
            .iter()
            .filter(|&&s| is_signed(index.merchants.item(s)))
            .count();
        assert_eq!(hexes.iter().map(|h| h.signed).sum::<usize>(), signed);
        let prospects = ms
            .iter()
            .filter(|&&s| is_prospect(index.merchants.item(s)))
            .count();
        assert_eq!(hexes.iter().map(|h| h.prospects).sum::<usize>(), prospects);
        let hh: u64 = cs
            .iter()
            .map(|&s| u64::from(index.communities.item(s).households))
            .sum();
        assert_eq!(hexes.iter().map(|h| h.households).sum::<u64>(), hh);
        let ff: f64 = ms.iter().map(|&s| stats.footfall[s as usize]).sum();
        let got: f64 = hexes.iter().map(|h| h.footfall).sum();
        assert!((got - ff).abs() < 1e-6 * ff.max(1.0));
        let pr: f64 = ms.iter().map(|&s| prio(s)).sum();
        assert_eq!(hexes.iter().map(|h| h.priority_sum).sum::<f64>(), pr);
        // Every merchant lies inside the boundary of its hex.
        let polys: std::collections::HashMap<&str, geo::Polygon<f64>> = hexes
            .iter()
            .map(|h| {
                assert_eq!(h.boundary.first(), h.boundary.last());
                assert_eq!(h.boundary.len(), 7);
                let ring: Vec<(f64, f64)> = h.boundary.iter().map(|p| (p[0], p[1])).collect();
                (h.cell.as_str(), geo::Polygon::new(ring.into(), vec![]))
            })
            .collect();
        for &s in &ms {
            let loc = index.merchants.item(s).location();
            let cell = h3o::LatLng::new(loc.lat(), loc.lon()).unwrap().to_cell(res);
            let poly = &polys[cell.to_string().as_str()];
            assert!(
                poly.contains(&geo::Point::new(loc.lon(), loc.lat())),
                "{} not in {cell}",
                index.merchants.item(s).id()
            );
        }
    }
}

#[test]
fn whitespace_flags_a_hex_with_households_and_no_signed_merchant() {
    let p = params();
    // Hex A (around 0 m): a big compound and one prospect. Hex B (3 km north): the same compound
    // size and a signed merchant. Hex C (6 km north): a prospect and few households.
    let index = SpatialIndex::build(Dataset {
        merchants: vec![
            merchant("A1", "dining", 0.0, PipelineStatus::Prospect),
            merchant("B1", "dining", 3_000.0, PipelineStatus::Signed),
            merchant("C1", "dining", 6_000.0, PipelineStatus::Prospect),
        ],
        communities: vec![
            community("CA", 10.0, 900.0),
            community("CB", 3_010.0, 900.0),
            community("CC", 6_010.0, 50.0),
        ],
        ..Default::default()
    });
    let stats = MerchantStats {
        footfall: vec![10.0; 3],
        estimated: vec![true; 3],
        cside: vec![0.0; 3],
        area: vec![None; 3],
        distance: crate::network::STRAIGHT_LINE_X_DETOUR,
    };
    let hexes = grid(
        &index,
        &stats,
        &|_| 0.0,
        &[0, 1, 2],
        &[0, 1, 2],
        h3o::Resolution::Nine,
        &p,
    );
    assert_eq!(hexes.len(), 3);
    let of = |m: u32| {
        let cell = index.merchants.cell(m).to_string();
        hexes.iter().find(|h| h.cell == cell).unwrap()
    };
    assert!(of(0).whitespace);
    assert_eq!(of(0).households, 900);
    assert!(!of(1).whitespace, "a signed merchant fills the hex");
    assert!(
        !of(2).whitespace,
        "50 households and 10 visitors are not demand"
    );
    // Footfall alone makes white space.
    let busy = MerchantStats {
        footfall: vec![10.0, 10.0, 2_000.0],
        ..stats
    };
    let hexes = grid(
        &index,
        &busy,
        &|_| 0.0,
        &[2],
        &[],
        h3o::Resolution::Nine,
        &p,
    );
    assert!(hexes[0].whitespace);
}

#[test]
fn whitespace_defaults_mark_a_minority_of_the_leshan_hexes() {
    let (index, stats, _) = leshan();
    let p = params();
    let ms: Vec<u32> = (0..index.merchants.len() as u32).collect();
    let cs: Vec<u32> = (0..index.communities.len() as u32).collect();
    for res in [
        h3o::Resolution::Eight,
        h3o::Resolution::Nine,
        h3o::Resolution::Ten,
    ] {
        let hexes = grid(&index, &stats, &|_| 0.0, &ms, &cs, res, &p);
        let white = hexes.iter().filter(|h| h.whitespace).count();
        let share = white as f64 / hexes.len() as f64;
        eprintln!(
            "Leshan demo, res {res}: {white} of {} hexes are white space ({:.1}%); {} with no signed merchant",
            hexes.len(),
            100.0 * share,
            hexes.iter().filter(|h| h.signed == 0).count()
        );
        if res == h3o::Resolution::Nine {
            assert!((0.05..=0.35).contains(&share), "{share}");
        }
    }
}

#[test]
fn survey_of_the_leshan_food_street_reads_like_a_meeting_brief() {
    let (index, stats, scoring) = leshan();
    let street = index
        .areas
        .iter()
        .find(|a| a.name == "张公桥好吃街")
        .unwrap()
        .polygon
        .clone();
    let s = survey(
        &index,
        &stats,
        &scoring,
        &scoring.weights,
        &street,
        Some("张公桥好吃街"),
        1_000.0 / DETOUR,
        &all,
        &every_community,
    );
    eprintln!(
        "survey: {} merchants on {:.0} m², signed {:.0}%, mix {:?}, {} communities / {} households in reach, competitors {:?}, ours {:?}",
        s.merchants,
        s.area_m2,
        100.0 * s.signed_share,
        s.mix.iter().map(|r| (r.code.as_str(), r.count)).collect::<Vec<_>>(),
        s.communities_in_reach.len(),
        s.households_in_reach,
        s.competitor_outlets.iter().map(|o| (&o.name, o.distance_m.round())).collect::<Vec<_>>(),
        s.our_outlets.iter().map(|o| &o.name).collect::<Vec<_>>(),
    );
    assert_eq!(s.area_name.as_deref(), Some("张公桥好吃街"));
    assert!(s.merchants >= 150, "{}", s.merchants);
    assert!(
        s.area_m2 > 10_000.0 && s.area_m2 < 500_000.0,
        "{}",
        s.area_m2
    );
    assert!(matches!(s.mix[0].code.as_str(), "dining" | "tea_coffee"));
    assert!(matches!(s.mix[1].code.as_str(), "dining" | "tea_coffee"));
    assert!(s.mix.windows(2).all(|w| w[0].count >= w[1].count));
    assert_eq!(s.mix.iter().map(|r| r.count).sum::<usize>(), s.merchants);
    assert_eq!(s.mix.iter().map(|r| r.signed).sum::<usize>(), s.signed);
    assert!((s.mix.iter().map(|r| r.share).sum::<f64>() - 1.0).abs() < 1e-9);
    assert_eq!(s.top_prospects.len(), 15);
    for pr in &s.top_prospects {
        let m = index.merchants.get(&pr.id).unwrap();
        assert!(
            !priority::excluded(m, &ScoringParams::builtin().unwrap()),
            "{} is {:?}",
            m.id(),
            m.status()
        );
        assert!(street.contains(&m.location()));
        assert!(pr.nearest_outlet_id.is_some());
    }
    assert!(s.top_prospects.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(!s.competitor_outlets.is_empty());
    assert!(s.competitor_outlets.iter().all(|o| o.bank.is_some()));
    assert!(!s.our_outlets.is_empty());
    assert!(s.households_in_reach > 0);
    // Reach agrees with brute force over the outline samples' disks: every community listed is
    // within reach of the polygon's outline, and every one near a vertex is listed.
    let listed: HashSet<&str> = s
        .communities_in_reach
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let vertices: Vec<Location> = street.rings()[0]
        .iter()
        .map(|p| Location::new(p[0], p[1]).unwrap())
        .collect();
    for c in index.communities.items() {
        let near_vertex = vertices
            .iter()
            .any(|v| v.distance_m(&c.location) <= s.reach_m);
        if near_vertex || street.contains(&c.location) {
            assert!(listed.contains(c.id.as_str()), "{} missing", c.id);
        }
    }
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["distance"], "straight_line_x_detour");
}

#[test]
fn compare_returns_one_row_per_outlet_with_shares_in_0_to_1() {
    let (index, stats, _) = leshan();
    let p = params();
    let cov = community_coverage(&index, &p, DETOUR, &all);
    let ours: Vec<u32> = (0..index.outlets.len() as u32)
        .filter(|&s| index.outlets.item(s).is_ours())
        .collect();
    let rows = compare(
        &index,
        &stats,
        &cov,
        &ours,
        &p,
        DETOUR,
        &all,
        &every_community,
    );
    assert_eq!(rows.len(), ours.len());
    for (row, &slot) in rows.iter().zip(&ours) {
        eprintln!("{row:?}");
        let o = index.outlets.item(slot);
        assert_eq!(row.outlet_id, o.id);
        for share in [
            row.signed_share_500m,
            row.signed_share_1km,
            row.covered_households_share,
        ] {
            assert!((0.0..=1.0).contains(&share), "{share}");
        }
        assert!(row.merchants_500m <= row.merchants_1km);
        assert!(row.signed_500m <= row.merchants_500m);
        let circles = life_circles(&index, o.location, &p, DETOUR, &all, &every_community);
        assert_eq!(row.merchants_500m, circles[1].merchants);
        assert_eq!(row.merchants_1km, circles[2].merchants);
        assert_eq!(row.households_1km, circles[2].households);
        assert_eq!(
            row.competitor_outlets_1km,
            circles[2].competitor_outlets.len()
        );
        for g in &row.gaps {
            assert!(circles[1].by_category.get(g).is_none_or(|c| c.signed == 0));
        }
    }
    assert!(compare(
        &index,
        &stats,
        &cov,
        &[u32::MAX],
        &p,
        DETOUR,
        &all,
        &every_community
    )
    .is_empty());
}

#[test]
fn coverage_of_some_communities_equals_their_rows_of_the_whole_city() {
    let p = params();
    let (index, _, _) = leshan();
    let in_scope = |m: MerchantRef<'_>| m.owner_org_id() == Some("OUT01");
    let all_rows = community_coverage(&index, &p, DETOUR, &in_scope);
    let slots: Vec<u32> = (0..index.communities.len() as u32).step_by(3).collect();
    let some = community_coverage_of(&index, &p, DETOUR, &in_scope, &slots);
    assert_eq!(some.len(), slots.len());
    for (row, &slot) in some.iter().zip(&slots) {
        let want = &all_rows[slot as usize];
        assert_eq!(
            (&row.community_id, row.covered, &row.missing),
            (&want.community_id, want.covered, &want.missing)
        );
    }
    // And the share around an outlet is the same from either.
    let at = index.outlets.get("OUT01").unwrap().location;
    let r = p.outer_circle().radius_m(DETOUR);
    let around: Vec<u32> = index
        .communities
        .within_radius(at, r)
        .iter()
        .map(|h| h.slot)
        .collect();
    let near = community_coverage_of(&index, &p, DETOUR, &in_scope, &around);
    let (a, b) = (
        share_around(&index, &all_rows, at, r),
        share_around(&index, &near, at, r),
    );
    assert_eq!(
        (a.households, a.covered_households),
        (b.households, b.covered_households)
    );
}
