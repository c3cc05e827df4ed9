//! Tiles against brute force over the generated Leshan city: every merchant lands in exactly
//! the tile its position falls in, clusters add up, scope and limits hold, polygons reach every
//! tile they touch.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::auth::Scope;
use crate::gen::{generate, GenConfig};
use crate::scoring::{estimate, ScoringParams};

fn leshan() -> SpatialIndex {
    SpatialIndex::build(generate(&GenConfig::default()))
}

/// The tile at zoom `z` holding `[lon, lat]`.
fn tile_at(z: u8, lon: f64, lat: f64) -> TileId {
    let [x, y] = mercator(lon, lat);
    let n = f64::from(1u32 << z);
    TileId::new(z, (x * n) as u32, (y * n) as u32, 22).unwrap()
}

fn centre(index: &SpatialIndex) -> (f64, f64) {
    let n = index.merchants.len() as f64;
    let lon = index
        .merchants
        .iter()
        .map(|(_, m)| m)
        .map(|m| m.location().lon())
        .sum::<f64>()
        / n;
    let lat = index
        .merchants
        .iter()
        .map(|(_, m)| m)
        .map(|m| m.location().lat())
        .sum::<f64>()
        / n;
    (lon, lat)
}

fn str_prop<'a>(f: &'a TileFeature<'_>, key: &str) -> Option<&'a str> {
    f.props
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| match v {
            Prop::Str(s) | Prop::Unique(s) => Some(*s),
            Prop::Text(s) => Some(s.as_str()),
            _ => None,
        })
}

fn int_prop(f: &TileFeature<'_>, key: &str) -> Option<i64> {
    f.props
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| match v {
            Prop::Int(i) => Some(*i),
            _ => None,
        })
}

/// Merchants whose position falls inside the tile, by brute force over every merchant.
fn brute_force(
    index: &SpatialIndex,
    t: TileId,
    keep: impl Fn(crate::index::MerchantRef<'_>) -> bool,
) -> HashSet<String> {
    index
        .merchants
        .iter()
        .map(|(_, m)| m)
        .filter(|m| keep(*m))
        .filter(|m| {
            let [x, y] = t.to_tile(mercator(m.location().lon(), m.location().lat()));
            (0.0..4096.0).contains(&x) && (0.0..4096.0).contains(&y)
        })
        .map(|m| m.id().to_string())
        .collect()
}

#[test]
fn a_detail_tile_holds_exactly_the_merchants_inside_it_at_their_positions() {
    let index = leshan();
    let order = MerchantOrder::build(&index, 1);
    let (lon, lat) = centre(&index);
    let t = tile_at(15, lon, lat);
    let proj = Projector::new(t, Crs::Wgs84);
    let features = merchants(&index, &order, &proj, None, &TileParams::default());
    let expected = brute_force(&index, t, |_| true);
    assert!(expected.len() > 50, "a busy tile: {}", expected.len());
    let got: HashSet<String> = features
        .iter()
        .map(|f| str_prop(f, "id").unwrap().to_string())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(features.len(), expected.len(), "no merchant twice");
    for f in &features {
        let m = index.merchants.get(str_prop(f, "id").unwrap()).unwrap();
        let TileGeom::Point(p) = f.geom else {
            panic!("merchants are points")
        };
        let exact = t.to_tile(mercator(m.location().lon(), m.location().lat()));
        assert!(
            (f64::from(p[0]) - exact[0]).abs() <= 1.0 && (f64::from(p[1]) - exact[1]).abs() <= 1.0
        );
        assert_eq!(str_prop(f, "category"), Some(m.category()));
        assert_eq!(str_prop(f, "status"), Some(m.status().code()));
        assert_eq!(
            int_prop(f, "signed"),
            Some(i64::from(crate::coverage::is_signed(m)))
        );
        assert_eq!(int_prop(f, "cluster"), Some(0));
    }
}

#[test]
fn below_the_detail_zoom_clusters_add_up_to_the_tiles_merchants() {
    let index = leshan();
    let order = MerchantOrder::build(&index, 1);
    let (lon, lat) = centre(&index);
    for z in [8u8, 11, 13] {
        let t = tile_at(z, lon, lat);
        let features = merchants(
            &index,
            &order,
            &Projector::new(t, Crs::Wgs84),
            None,
            &TileParams::default(),
        );
        let expected = brute_force(&index, t, |_| true);
        let signed = brute_force(&index, t, crate::coverage::is_signed);
        assert!(features.iter().all(|f| int_prop(f, "cluster") == Some(1)));
        assert!(features.len() <= 64 * 64);
        let count: i64 = features.iter().map(|f| int_prop(f, "count").unwrap()).sum();
        let s: i64 = features
            .iter()
            .map(|f| int_prop(f, "signed").unwrap())
            .sum();
        assert_eq!(count as usize, expected.len(), "z{z}");
        assert_eq!(s as usize, signed.len(), "z{z}");
        for f in &features {
            let TileGeom::Point(p) = f.geom else { panic!() };
            assert!((0..=4096).contains(&p[0]) && (0..=4096).contains(&p[1]));
        }
        if z == 13 {
            assert!(features.len() > 1, "clusters split the tile");
        }
    }
}

#[test]
fn a_tile_over_the_point_limit_falls_back_to_clusters() {
    let index = leshan();
    let order = MerchantOrder::build(&index, 1);
    let (lon, lat) = centre(&index);
    let t = tile_at(15, lon, lat);
    let n = brute_force(&index, t, |_| true).len();
    let tight = TileParams {
        max_points: n - 1,
        ..TileParams::default()
    };
    let f = merchants(&index, &order, &Projector::new(t, Crs::Wgs84), None, &tight);
    assert!(f.iter().all(|f| int_prop(f, "cluster") == Some(1)));
    assert_eq!(
        f.iter().map(|f| int_prop(f, "count").unwrap()).sum::<i64>() as usize,
        n
    );
    let roomy = TileParams {
        max_points: n,
        ..TileParams::default()
    };
    let f = merchants(&index, &order, &Projector::new(t, Crs::Wgs84), None, &roomy);
    assert_eq!(f.len(), n);
    assert!(f.iter().all(|f| int_prop(f, "cluster") == Some(0)));
}

#[test]
fn a_branch_sees_only_its_own_merchants_in_tiles() {
    let index = leshan();
    let order = MerchantOrder::build(&index, 1);
    let (lon, lat) = centre(&index);
    let owners: HashSet<&str> = index
        .merchants
        .iter()
        .map(|(_, m)| m)
        .filter_map(|m| m.owner_org_id())
        .collect();
    let mine = *owners.iter().min().unwrap();
    let scope = Scope::Nodes {
        own: HashSet::from([mine.to_string()]),
        above: HashSet::new(),
    };
    let visible = visible_owners(&order, &scope).unwrap();
    for z in [12u8, 15] {
        let t = tile_at(z, lon, lat);
        let f = merchants(
            &index,
            &order,
            &Projector::new(t, Crs::Wgs84),
            Some(&visible),
            &TileParams::default(),
        );
        let expected = brute_force(&index, t, |m| m.owner_org_id() == Some(mine));
        let all = brute_force(&index, t, |_| true);
        assert!(
            expected.len() < all.len(),
            "the tile holds others' merchants too"
        );
        if z >= 14 {
            let got: HashSet<String> = f
                .iter()
                .map(|f| str_prop(f, "id").unwrap().to_string())
                .collect();
            assert_eq!(got, expected);
        } else {
            let count: i64 = f.iter().map(|f| int_prop(f, "count").unwrap()).sum();
            assert_eq!(count as usize, expected.len());
        }
    }
}

#[test]
fn tiles_in_gcj02_place_merchants_at_their_converted_positions() {
    let index = leshan();
    let order = MerchantOrder::build(&index, 1);
    let (lon, lat) = centre(&index);
    let (glon, glat) = from_wgs84(Crs::Gcj02, lon, lat);
    let t = tile_at(15, glon, glat);
    let f = merchants(
        &index,
        &order,
        &Projector::new(t, Crs::Gcj02),
        None,
        &TileParams::default(),
    );
    let expected: HashSet<String> = index
        .merchants
        .iter()
        .map(|(_, m)| m)
        .filter(|m| {
            let (a, b) = from_wgs84(Crs::Gcj02, m.location().lon(), m.location().lat());
            let [x, y] = t.to_tile(mercator(a, b));
            (0.0..4096.0).contains(&x) && (0.0..4096.0).contains(&y)
        })
        .map(|m| m.id().to_string())
        .collect();
    assert!(!expected.is_empty());
    let got: HashSet<String> = f
        .iter()
        .map(|f| str_prop(f, "id").unwrap().to_string())
        .collect();
    assert_eq!(got, expected);
    // Not the WGS-84 set: the shift (hundreds of metres) moves merchants across the edges.
    assert_ne!(expected, brute_force(&index, t, |_| true));
}

#[test]
fn an_area_reaches_every_tile_it_touches_and_is_simplified_when_zoomed_out() {
    let index = leshan();
    let a = index.areas.first().expect("the demo has areas");
    let [w, s, e, n] = a.polygon.bbox();
    let z = 18;
    let t0 = tile_at(z, w, n);
    let t1 = tile_at(z, e, s);
    assert!(
        t1.x > t0.x || t1.y > t0.y,
        "the area spans several z18 tiles"
    );
    let hits = (t0.x..=t1.x)
        .flat_map(|x| (t0.y..=t1.y).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let t = TileId::new(z, x, y, 22).unwrap();
            areas(
                &index,
                &Projector::new(t, Crs::Wgs84),
                &Scope::All,
                &TileParams::default(),
            )
            .iter()
            .any(|f| str_prop(f, "id") == Some(a.id.as_str()))
        })
        .count();
    assert!(hits >= 2, "the area is in {hits} tiles");
    // The tile holding its representative point always has it.
    let c = a.polygon.representative_point();
    let tc = tile_at(z, c.lon(), c.lat());
    let f = areas(
        &index,
        &Projector::new(tc, Crs::Wgs84),
        &Scope::All,
        &TileParams::default(),
    );
    assert!(f.iter().any(|f| str_prop(f, "id") == Some(a.id.as_str())));
    // A tile far away does not.
    let far = tile_at(z, c.lon() + 0.5, c.lat());
    assert!(areas(
        &index,
        &Projector::new(far, Crs::Wgs84),
        &Scope::All,
        &TileParams::default()
    )
    .is_empty());
    // Zoomed out, outlines keep fewer vertices (or vanish below a pixel).
    let vertices = |z: u8| {
        let t = tile_at(z, c.lon(), c.lat());
        areas(
            &index,
            &Projector::new(t, Crs::Wgs84),
            &Scope::All,
            &TileParams::default(),
        )
        .iter()
        .filter(|f| str_prop(f, "id") == Some(a.id.as_str()))
        .map(|f| match &f.geom {
            TileGeom::Polygon(r) => r.iter().map(Vec::len).sum::<usize>(),
            TileGeom::Point(_) => 1,
        })
        .sum::<usize>()
    };
    assert!(vertices(10) <= vertices(18));
}

#[test]
fn coverage_hexes_count_their_whole_hex_even_at_a_tile_edge() {
    let index = leshan();
    let scoring = ScoringParams::builtin().unwrap();
    let stats = estimate(
        &index,
        &scoring,
        &crate::network::Walking::straight(scoring.detour_factor),
    );
    let params = crate::coverage::CoverageParams::builtin().unwrap();
    let zero = |_: u32| 0.0;
    let inputs = CoverageInputs {
        stats: &stats,
        priority_of: &zero,
        params: &params,
    };
    let (lon, lat) = centre(&index);
    let t = tile_at(14, lon, lat);
    let hexes = coverage_grid(
        &index,
        &Projector::new(t, Crs::Wgs84),
        &Scope::All,
        &inputs,
        &TileParams::default(),
    );
    assert!(hexes.len() > 10);
    // Brute force: every merchant counted into its res-10 cell.
    let mut per_cell: HashMap<String, i64> = HashMap::new();
    for m in index.merchants.table().to_vec() {
        let cell = h3o::LatLng::new(m.location.lat(), m.location.lon())
            .unwrap()
            .to_cell(coverage_resolution(14));
        *per_cell.entry(cell.to_string()).or_default() += 1;
    }
    let mut edge_hexes = 0;
    for h in &hexes {
        let cell = str_prop(h, "cell").unwrap();
        assert_eq!(
            int_prop(h, "merchants"),
            per_cell.get(cell).copied().or(Some(0)),
            "{cell}"
        );
        let TileGeom::Polygon(r) = &h.geom else {
            panic!()
        };
        if r[0]
            .iter()
            .any(|p| p[0] < 0 || p[1] < 0 || p[0] > 4096 || p[1] > 4096)
        {
            edge_hexes += 1;
        }
    }
    assert!(edge_hexes > 0, "hexes crossing the edge are in the tile");
    // Below the coverage layer's zoom there is nothing.
    let low = tile_at(9, lon, lat);
    assert!(coverage_grid(
        &index,
        &Projector::new(low, Crs::Wgs84),
        &Scope::All,
        &inputs,
        &TileParams::default()
    )
    .is_empty());
}

#[test]
fn tile_ids_outside_the_grid_are_refused_and_bounds_round_trip() {
    assert!(TileId::new(3, 8, 0, 22).is_err());
    assert!(TileId::new(23, 0, 0, 22).is_err());
    let t = TileId::new(14, 12_914, 6_782, 22).unwrap();
    let [w, s, e, n] = t.bounds();
    assert!(w < e && s < n);
    let [x, y] = t.to_tile(mercator(w, n));
    assert!(x.abs() < 1e-6 && y.abs() < 1e-6);
    let [x, y] = t.to_tile(mercator(e, s));
    assert!((x - 4096.0).abs() < 1e-6 && (y - 4096.0).abs() < 1e-6);
}

#[test]
fn geojson_of_a_tile_carries_the_same_features() {
    let index = leshan();
    let order = MerchantOrder::build(&index, 1);
    let (lon, lat) = centre(&index);
    let t = tile_at(15, lon, lat);
    let f = merchants(
        &index,
        &order,
        &Projector::new(t, Crs::Wgs84),
        None,
        &TileParams::default(),
    );
    let g: serde_json::Value =
        serde_json::from_str(&to_geojson(TileLayer::Merchants, t, Crs::Wgs84, &f)).unwrap();
    let feats = g["features"].as_array().unwrap();
    assert_eq!(feats.len(), f.len());
    for (a, b) in feats.iter().zip(&f) {
        assert_eq!(a["properties"]["id"], str_prop(b, "id").unwrap());
        let m = index.merchants.get(str_prop(b, "id").unwrap()).unwrap();
        let c = &a["geometry"]["coordinates"];
        // Within a tile unit (about 1 m at z15) of the merchant.
        assert!((c[0].as_f64().unwrap() - m.location().lon()).abs() < 2e-5);
        assert!((c[1].as_f64().unwrap() - m.location().lat()).abs() < 2e-5);
    }
}
