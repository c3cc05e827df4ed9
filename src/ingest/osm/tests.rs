//! Hand-made element sets for the rules and shapes; the real extract for the reader.

use std::collections::HashMap;

use super::build::{build, levels, Role};
use super::classify::{address, classify, leading_number, BuildingUse, MerchantClass, Rules};
use super::geometry::{area_m2, relation_area, way_area, way_point, Skip};
use super::pbf::{Elements, Member, NodeCoords, Obj, OsmType};
use super::*;
use crate::domain::CommunityDraft;

fn cats() -> Categories {
    Categories::builtin().unwrap()
}

fn cfg() -> OsmConfig {
    OsmConfig::builtin().unwrap()
}

fn class_of(tags: &[(&str, &str)], kind: OsmType) -> classify::Class {
    let (cats, cfg) = (cats(), cfg());
    let rules = Rules::new(
        &cats,
        &cfg,
        OsmKinds::default(),
        &["Landesbank".to_string()],
    );
    classify(tags, &rules, kind)
}

fn merchant_of(tags: &[(&str, &str)]) -> MerchantClass {
    class_of(tags, OsmType::Node).merchant
}

fn named(category: &str, name: &str) -> MerchantClass {
    MerchantClass::Named {
        category: category.into(),
        name: name.into(),
    }
}

#[test]
fn the_shipped_rules_load_and_bad_rules_are_refused() {
    let c = cfg();
    assert_eq!(c.name_tags[0], "name:zh");
    assert!(c.outlets.tags.contains(&"amenity=bank".to_string()));
    let bad = BUILTIN.replace("flat_m2 = 90.0", "flat_m2 = 0.0");
    assert!(OsmConfig::from_toml(&bad)
        .unwrap_err()
        .to_string()
        .contains("flat_m2"));
    let bad = BUILTIN.replace("tags = [\"amenity=bank\"]", "tags = [\"amenity\"]");
    assert!(OsmConfig::from_toml(&bad).is_err());
    let bad = format!("{BUILTIN}\nsurprise = 1\n");
    assert!(OsmConfig::from_toml(&bad).is_err());
}

#[test]
fn kinds_parse_from_a_list() {
    let k: OsmKinds = "merchants, 小区".parse().unwrap();
    assert!(k.merchants && k.communities && !k.outlets);
    assert!("shops".parse::<OsmKinds>().is_err());
}

#[test]
fn chinese_names_come_first_then_name_then_brand() {
    assert_eq!(
        merchant_of(&[
            ("amenity", "restaurant"),
            ("name", "Golden Dragon"),
            ("name:zh", "金龙酒家")
        ]),
        named("dining", "金龙酒家")
    );
    assert_eq!(
        merchant_of(&[
            ("amenity", "restaurant"),
            ("name", "Golden Dragon"),
            ("name:zh-Hans", "金龙酒家"),
            ("name:zh-Hant", "金龍酒家")
        ]),
        named("dining", "金龙酒家")
    );
    assert_eq!(
        merchant_of(&[("amenity", "cafe"), ("brand", "Starbucks")]),
        named("tea_coffee", "Starbucks")
    );
    assert_eq!(
        merchant_of(&[("amenity", "restaurant"), ("name", "  ")]),
        MerchantClass::Unnamed {
            category: "dining".into()
        }
    );
}

#[test]
fn an_exact_tag_wins_over_a_fallback_and_non_businesses_stay_out() {
    // shop=yes alone is retail (shop=*), but amenity=cafe is an exact tag.
    assert_eq!(
        merchant_of(&[("shop", "yes"), ("amenity", "cafe"), ("name", "C")]),
        named("tea_coffee", "C")
    );
    assert_eq!(
        merchant_of(&[("shop", "yes"), ("name", "S")]),
        named("retail", "S")
    );
    // Multi-valued: the first value counts.
    assert_eq!(
        merchant_of(&[("shop", "bakery;cafe"), ("name", "B")]),
        named("dining", "B")
    );
    assert_eq!(
        merchant_of(&[("shop", "vacant"), ("name", "X")]),
        MerchantClass::Excluded {
            tag: "shop=vacant".into()
        }
    );
    assert_eq!(
        merchant_of(&[("amenity", "parking"), ("name", "P")]),
        MerchantClass::Unmapped {
            tag: "amenity=parking".into()
        }
    );
    assert_eq!(merchant_of(&[("highway", "bus_stop")]), MerchantClass::None);
    // A bank is an outlet, never a merchant, even with a shop tag.
    let c = class_of(
        &[("amenity", "bank"), ("shop", "yes"), ("name", "Bank")],
        OsmType::Node,
    );
    assert_eq!(c.merchant, MerchantClass::None);
    assert_eq!(c.outlet, Some(Some("Bank".into())));
    // A bank without a name is named by its operator, else it stays out.
    let c = class_of(&[("amenity", "bank"), ("operator", "LLB")], OsmType::Node);
    assert_eq!(c.outlet, Some(Some("LLB".into())));
    assert_eq!(
        class_of(&[("amenity", "bank")], OsmType::Node).outlet,
        Some(None)
    );
}

#[test]
fn areas_and_buildings_are_ways_and_multipolygons_only() {
    let tags = [("landuse", "residential"), ("building", "apartments")];
    let node = class_of(&tags, OsmType::Node);
    assert!(!node.residential_area && node.building.is_none());
    let way = class_of(&tags, OsmType::Way);
    assert!(way.residential_area);
    assert_eq!(way.building, Some(BuildingUse::Flats));
    assert!(!class_of(&tags, OsmType::Relation).wants_geometry());
    let mp = [("type", "multipolygon"), ("building", "house")];
    assert_eq!(
        class_of(&mp, OsmType::Relation).building,
        Some(BuildingUse::House)
    );
    assert!(class_of(&[("building", "yes")], OsmType::Way)
        .building
        .is_none());
}

#[test]
fn addresses_read_as_the_place_writes_them() {
    assert_eq!(
        address(&[
            ("addr:city", "乐山市"),
            ("addr:district", "市中区"),
            ("addr:street", "白塔街"),
            ("addr:housenumber", "121")
        ])
        .as_deref(),
        Some("乐山市市中区白塔街121号")
    );
    assert_eq!(
        address(&[
            ("addr:street", "Städtle"),
            ("addr:housenumber", "44"),
            ("addr:postcode", "9490"),
            ("addr:city", "Vaduz")
        ])
        .as_deref(),
        Some("Städtle 44, 9490 Vaduz")
    );
    assert_eq!(address(&[("addr:postcode", "9490")]), None);
    assert_eq!(
        address(&[("addr:full", "白塔街121号"), ("addr:street", "x")]).as_deref(),
        Some("白塔街121号")
    );
}

#[test]
fn floors_come_from_levels_then_height_then_the_default() {
    assert_eq!(leading_number("3;4"), Some(3.0));
    assert_eq!(leading_number("12.5 m"), Some(12.5));
    assert_eq!(leading_number("many"), None);
    assert_eq!(levels(&[("building:levels", "6")], 3.0, 3.0), (6.0, false));
    assert_eq!(levels(&[("height", "31 m")], 3.0, 3.0), (10.0, false));
    assert_eq!(levels(&[("building:levels", "0")], 3.0, 3.0), (3.0, true));
    assert_eq!(levels(&[], 3.0, 3.0), (3.0, true));
}

#[test]
fn ours_is_a_name_inside_brand_operator_or_name_whatever_the_case() {
    let (cats, cfg) = (cats(), cfg());
    let banks = ["工商银行".to_string(), "llb".to_string()];
    let rules = Rules::new(&cats, &cfg, OsmKinds::default(), &banks);
    assert!(rules.is_ours(&[("name", "中国工商银行乐山张公桥支行")]));
    assert!(rules.is_ours(&[("operator", "L L B AG")]));
    assert!(!rules.is_ours(&[("name", "中国建设银行"), ("brand", "建设银行")]));
    let none = Rules::new(&cats, &cfg, OsmKinds::default(), &[]);
    assert!(!none.is_ours(&[("name", "中国工商银行")]));
}

// ---- shapes -------------------------------------------------------------------------------

/// Node ids 1–4: a square of 0.001° at (103.76, 29.57); 5–8 a smaller square inside it.
fn coords() -> NodeCoords {
    NodeCoords::from_pairs(vec![
        (1, [103.760, 29.570]),
        (2, [103.761, 29.570]),
        (3, [103.761, 29.571]),
        (4, [103.760, 29.571]),
        (5, [103.7603, 29.5703]),
        (6, [103.7607, 29.5703]),
        (7, [103.7607, 29.5707]),
        (8, [103.7603, 29.5707]),
        (9, [103.7620, 29.5700]),
    ])
}

#[test]
fn a_closed_way_sits_at_its_centroid_and_an_open_one_on_its_line() {
    let c = coords();
    let p = way_point(&[1, 2, 3, 4, 1], &c).unwrap();
    assert!(
        (p[0] - 103.7605).abs() < 1e-9 && (p[1] - 29.5705).abs() < 1e-9,
        "{p:?}"
    );
    let p = way_point(&[1, 2], &c).unwrap();
    assert!(
        (p[0] - 103.7605).abs() < 1e-9 && (p[1] - 29.570).abs() < 1e-9,
        "{p:?}"
    );
    assert_eq!(
        way_point(&[1, 2, 99, 1], &c),
        Err(Skip::MissingNodes { missing: 1, of: 4 })
    );
    assert_eq!(way_area(&[1, 2, 3, 4], &c), Err(Skip::UnclosedRing));
    assert_eq!(way_area(&[1, 2, 1], &c), Err(Skip::TooFewNodes));
}

#[test]
fn areas_are_the_same_in_either_winding() {
    let c = coords();
    let ccw = way_area(&[1, 2, 3, 4, 1], &c).unwrap();
    let cw = way_area(&[1, 4, 3, 2, 1], &c).unwrap();
    let (a, b) = (area_m2(&ccw.0[0]), area_m2(&cw.0[0]));
    // 0.001° × 0.001° at 29.57° N: about 96.8 m × 110.9 m.
    assert!((a - 10_731.0).abs() < 50.0, "{a}");
    assert!((a - b).abs() < 1e-6, "{a} {b}");
}

#[test]
fn multipolygon_rings_join_from_pieces_in_any_direction_with_their_holes() {
    let c = coords();
    let ways: HashMap<i64, Vec<i64>> = [
        (10, vec![1, 2]),
        (11, vec![3, 2]), // reversed
        (12, vec![3, 4, 1]),
        (13, vec![5, 6, 7, 8, 5]),
    ]
    .into_iter()
    .collect();
    let m = |way, inner| Member { way, inner };
    let mp = relation_area(
        &[m(10, false), m(11, false), m(12, false), m(13, true)],
        &ways,
        &c,
    )
    .unwrap();
    assert_eq!(mp.0.len(), 1);
    assert_eq!(mp.0[0].exterior().0.len(), 5);
    assert_eq!(mp.0[0].interiors().len(), 1);
    assert_eq!(
        relation_area(&[m(10, false), m(11, false)], &ways, &c),
        Err(Skip::Unassembled)
    );
    assert_eq!(
        relation_area(&[m(10, false), m(77, false)], &ways, &c),
        Err(Skip::MissingMembers { missing: 1, of: 2 })
    );
    let clipped: HashMap<i64, Vec<i64>> = [(20, vec![1, 2, 99, 1])].into_iter().collect();
    assert_eq!(
        relation_area(&[m(20, false)], &clipped, &c),
        Err(Skip::MissingNodes { missing: 1, of: 4 })
    );
}

// ---- building drafts from hand-made elements ---------------------------------------------

type TagList<'a> = &'a [(&'a str, &'a str)];

fn obj<G>(rules: &Rules, kind: OsmType, id: i64, tags: TagList, geo: G) -> Obj<G> {
    Obj {
        id,
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        class: classify(tags, rules, kind),
        geo,
    }
}

/// A residential area (square 1–4) holding a block of flats (square 5–8, 6 floors), a house
/// and a shed-sized block; an empty area; a lone block of flats and a lone house; a restaurant
/// node, a bank, a supermarket on an open way; an unclosed, a clipped and a bow-tie area.
fn elements(rules: &Rules) -> Elements {
    // A second, empty residential square east of the first (ids 21–24), a lone block of flats
    // (31–34) and a lone house (41–44) outside both.
    let mut extra = vec![
        (21, [103.770, 29.570]),
        (22, [103.771, 29.570]),
        (23, [103.771, 29.571]),
        (24, [103.770, 29.571]),
        (31, [103.780, 29.570]),
        (32, [103.7804, 29.570]),
        (33, [103.7804, 29.5704]),
        (34, [103.780, 29.5704]),
        (41, [103.790, 29.570]),
        (42, [103.7902, 29.570]),
        (43, [103.7902, 29.5702]),
        (44, [103.790, 29.5702]),
        (51, [103.7608, 29.5708]),
        (52, [103.7609, 29.5708]),
        (53, [103.7609, 29.5709]),
        (54, [103.7608, 29.5709]),
        (61, [103.7601, 29.5708]),
        (62, [103.76013, 29.5708]),
        (63, [103.76013, 29.57083]),
        (64, [103.7601, 29.57083]),
    ];
    let base = coords();
    extra.extend((1..=9).filter_map(|i| base.get(i).map(|p| (i, p))));
    let c = NodeCoords::from_pairs(extra);
    let way = |id, tags, refs| obj(rules, OsmType::Way, id, tags, refs);
    Elements {
        nodes: vec![
            obj(
                rules,
                OsmType::Node,
                100,
                &[
                    ("amenity", "restaurant"),
                    ("name", "面馆"),
                    ("opening_hours", "10:00-21:00"),
                ],
                [103.7601, 29.5701],
            ),
            obj(
                rules,
                OsmType::Node,
                101,
                &[
                    ("amenity", "bank"),
                    ("name", "中国工商银行"),
                    ("brand", "工商银行"),
                ],
                [103.7602, 29.5702],
            ),
        ],
        ways: vec![
            way(
                200,
                &[("landuse", "residential"), ("name", "幸福小区")],
                vec![1, 2, 3, 4, 1],
            ),
            way(
                201,
                &[("building", "apartments"), ("building:levels", "6")],
                vec![5, 6, 7, 8, 5],
            ),
            way(
                202,
                &[("shop", "supermarket"), ("name", "超市")],
                vec![5, 6, 7],
            ),
            way(203, &[("landuse", "residential")], vec![1, 2, 3, 4]),
            way(204, &[("landuse", "residential")], vec![1, 2, 99, 4, 1]),
            way(205, &[("landuse", "residential")], vec![1, 3, 2, 4, 1]),
            way(206, &[("landuse", "residential")], vec![21, 22, 23, 24, 21]),
            way(
                207,
                &[("building", "residential")],
                vec![31, 32, 33, 34, 31],
            ),
            way(208, &[("building", "house")], vec![41, 42, 43, 44, 41]),
            way(209, &[("building", "house")], vec![51, 52, 53, 54, 51]),
            way(210, &[("building", "apartments")], vec![61, 62, 63, 64, 61]),
        ],
        coords: c,
        ..Elements::default()
    }
}

#[test]
fn drafts_come_with_their_reasons_and_households_are_estimated_from_buildings() {
    let (cats, cfg) = (cats(), cfg());
    let rules = Rules::new(&cats, &cfg, OsmKinds::default(), &[]);
    let el = elements(&rules);
    let b = build(&el, &rules);

    let names: Vec<&str> = b.merchants.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["面馆", "超市"]);
    assert_eq!(b.merchants[0].id, "osm:n100");
    assert_eq!(b.merchants[0].opening_hours.as_deref(), Some("10:00-21:00"));
    // An open way sits on its line: the supermarket's three nodes.
    assert!((b.merchants[1].lat - 29.5703).abs() < 1e-4);
    assert_eq!(b.outlets.len(), 1);
    assert_eq!(b.outlets[0].competitor_bank.as_deref(), Some("工商银行"));

    let skipped: Vec<(&str, Role, &str)> = b
        .skipped
        .iter()
        .map(|s| (s.id.as_str(), s.role, s.skip.code()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("osm:w203", Role::ResidentialArea, "unclosed_ring"),
            ("osm:w204", Role::ResidentialArea, "missing_nodes"),
            ("osm:w205", Role::ResidentialArea, "invalid_polygon"),
        ]
    );
    // The lone house (41–44, ~470 m²) is counted and left out.
    assert_eq!(b.households.houses_outside_areas, 1);
    assert_eq!(b.households.buildings_too_small, 1);

    let by_id: HashMap<&str, &CommunityDraft> =
        b.communities.iter().map(|c| (c.id.as_str(), c)).collect();
    assert_eq!(b.communities.len(), 3, "{:?}", by_id.keys());
    // The flats: 0.0004° × 0.0004° ≈ 38.7 m × 44.3 m ≈ 1,717 m² × 6 floors ÷ 90 m² ≈ 114.5,
    // and the house: 1.
    let happy = by_id["osm:w200"];
    assert_eq!(happy.name, "幸福小区");
    assert!(
        (happy.households - 115.5).abs() < 1.0,
        "{}",
        happy.households
    );
    // The empty area: 0.001° × 0.001° ≈ 10,731 m² × 1.0 ÷ 90 m² ≈ 119.2.
    let empty = by_id["osm:w206"];
    assert_eq!(empty.name, "住宅区 osm:w206");
    assert!(
        (empty.households - 119.2).abs() < 1.0,
        "{}",
        empty.households
    );
    // The lone block of flats, no levels: 3 floors, 1,717 m² × 3 ÷ 90 ≈ 57.2.
    let lone = by_id["osm:w207"];
    assert_eq!(lone.name, "住宅楼 osm:w207");
    assert!((lone.households - 57.2).abs() < 1.0, "{}", lone.households);
    let h = &b.households;
    assert_eq!(
        (
            h.buildings,
            h.buildings_in_areas,
            h.buildings_as_communities,
            h.areas_from_buildings,
            h.areas_from_land_area,
            h.buildings_levels_defaulted
        ),
        (4, 2, 1, 1, 1, 1)
    );
}

#[test]
fn villages_are_not_guessed_and_small_lone_buildings_are_homes() {
    let (cats, mut cfg) = (cats(), cfg());
    cfg.communities.land_estimate_max_m2 = 5_000.0;
    cfg.communities.min_standalone_households = 100.0;
    let rules = Rules::new(&cats, &cfg, OsmKinds::default(), &[]);
    let b = build(&elements(&rules), &rules);
    let ids: Vec<&str> = b.communities.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["osm:w200", "osm:w206"]);
    assert_eq!(b.communities[1].households, 0.0);
    let h = &b.households;
    assert_eq!(
        (
            h.areas_unknown,
            h.areas_from_land_area,
            h.small_buildings_outside_areas
        ),
        (1, 0, 1)
    );
}

#[test]
fn kinds_left_out_are_not_even_classified() {
    let (cats, cfg) = (cats(), cfg());
    let kinds = OsmKinds {
        outlets: false,
        communities: false,
        merchants: true,
    };
    let rules = Rules::new(&cats, &cfg, kinds, &[]);
    let b = build(&elements(&rules), &rules);
    assert!(b.outlets.is_empty() && b.communities.is_empty() && b.skipped.is_empty());
    assert_eq!(b.merchants.len(), 2);
}

#[test]
fn a_way_that_repeats_its_multipolygon_is_counted_once() {
    let (cats, cfg) = (cats(), cfg());
    let rules = Rules::new(&cats, &cfg, OsmKinds::default(), &[]);
    let mut el = elements(&rules);
    el.ways.truncate(1); // the residential area w200 alone
    el.relations = vec![obj(
        &rules,
        OsmType::Relation,
        300,
        &[("type", "multipolygon"), ("landuse", "residential")],
        vec![Member {
            way: 200,
            inner: false,
        }],
    )];
    el.member_ways.insert(200, vec![1, 2, 3, 4, 1]);
    let b = build(&el, &rules);
    let ids: Vec<&str> = b.communities.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["osm:r300"]);
    assert_eq!(b.duplicates, 1);
}

// ---- the reader, on the real extract ------------------------------------------------------

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/osm/liechtenstein-2013-08-03.osm.pbf"
);

fn fixture() -> Vec<u8> {
    std::fs::read(FIXTURE).unwrap()
}

fn read_all(bytes: &[u8]) -> Result<OsmParsed, OsmError> {
    read(bytes, &OsmOptions::builtin().unwrap(), &cats(), &mut |_| {})
}

#[test]
fn the_extract_is_read_whole_with_progress_for_every_block() {
    let bytes = fixture();
    let mut seen = Vec::new();
    let p = read(&bytes, &OsmOptions::builtin().unwrap(), &cats(), &mut |p| {
        seen.push(p)
    })
    .unwrap();
    let r = &p.report;
    assert_eq!(
        r.elements,
        ElementCounts {
            nodes: 65_733,
            ways: 7_121,
            relations: 113
        }
    );
    assert_eq!(p.outlets.len(), 3);
    assert!(p.outlets.iter().all(|o| !o.is_ours()));
    assert!(r.households.estimated);
    for stage in [
        OsmStage::Scan,
        OsmStage::MemberWays,
        OsmStage::Nodes,
        OsmStage::Build,
    ] {
        let last = seen.iter().rfind(|p| p.stage == stage).unwrap();
        assert_eq!(last.done, last.total, "{stage:?}");
    }
    assert_eq!(
        seen.iter().filter(|p| p.stage == OsmStage::Scan).count(),
        r.blocks + 1
    );
    // The same bytes give the same values (threads do not change the order).
    let again = read_all(&bytes).unwrap();
    assert_eq!(again.merchants, p.merchants);
    assert_eq!(again.communities, p.communities);
}

#[test]
fn what_is_not_a_pbf_file_says_so_and_a_cut_one_is_damaged() {
    for bytes in [
        &b""[..],
        b"name,lon,lat\n\xe9\xa4\x90,103.7,29.5\n",
        &[0u8; 64],
    ] {
        let e = read_all(bytes).unwrap_err();
        assert!(matches!(e, OsmError::NotPbf(_)), "{e}");
    }
    let bytes = fixture();
    for cut in [bytes.len() / 2, bytes.len() - 1, 200] {
        let e = read_all(&bytes[..cut]).unwrap_err();
        assert!(matches!(e, OsmError::Damaged(_)), "{cut}: {e}");
    }
    // Garbage inside a block.
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid..mid + 64].fill(0xAB);
    assert!(read_all(&bad).is_err());
    let e = ImportError::from(OsmError::NotPbf("x".into()));
    assert_eq!(e.errors[0].field, "file");
}

#[test]
fn too_many_objects_fail_the_import() {
    let mut opts = OsmOptions::builtin().unwrap();
    opts.max_objects = 10;
    let e = read(&fixture(), &opts, &cats(), &mut |_| {}).unwrap_err();
    assert!(matches!(e, OsmError::TooMany { limit: 10, .. }), "{e}");
}
