//! Tests of the index against brute force over the same items.

use std::collections::HashMap;

use geo::{Destination, Haversine, Point};
use proptest::prelude::*;

use super::*;
use crate::domain::{AreaDraft, BBox, MerchantDraft, OutletDraft, ValidPolygon};

fn loc(lon: f64, lat: f64) -> Location {
    Location::new(lon, lat).unwrap()
}

fn merchant(id: &str, category: &str, at: Location) -> Merchant {
    Merchant::try_from(MerchantDraft {
        id: id.into(),
        name: format!("商户 {id}"),
        category: category.into(),
        lon: at.lon(),
        lat: at.lat(),
        ..Default::default()
    })
    .unwrap()
}

fn outlet(id: &str, at: Location) -> Outlet {
    Outlet::try_from(OutletDraft {
        id: id.into(),
        name: format!("网点 {id}"),
        lon: at.lon(),
        lat: at.lat(),
        ..Default::default()
    })
    .unwrap()
}

/// The point `distance_m` from `from` on the bearing, by the same haversine sphere.
fn destination(from: Location, bearing_deg: f64, distance_m: f64) -> Location {
    let p = Haversine.destination(Point::new(from.lon(), from.lat()), bearing_deg, distance_m);
    loc(p.x(), p.y())
}

fn ids<T: Located + Sync, S: Slots<Item = T>>(layer: &Layer<T, S>, slots: &[u32]) -> Vec<String> {
    slots.iter().map(|&s| layer.id(s).to_string()).collect()
}

fn brute_force_hits<T: Located + Sync, S: Slots<Item = T>>(
    layer: &Layer<T, S>,
    center: Location,
    radius_m: f64,
) -> Vec<Hit> {
    let mut hits: Vec<Hit> = (0..layer.len() as u32)
        .map(|slot| Hit {
            slot,
            distance_m: layer.location(slot).distance_m(&center),
        })
        .filter(|h| h.distance_m <= radius_m)
        .collect();
    hits.sort_by(|a, b| {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then_with(|| layer.id(a.slot).cmp(layer.id(b.slot)))
    });
    hits
}

fn brute_force_filter<T: Located + Sync, S: Slots<Item = T>>(
    layer: &Layer<T, S>,
    keep: impl Fn(Location) -> bool,
) -> Vec<u32> {
    let mut slots: Vec<u32> = (0..layer.len() as u32)
        .filter(|&s| keep(layer.location(s)))
        .collect();
    slots.sort_by(|&a, &b| layer.id(a).cmp(layer.id(b)));
    slots
}

/// A random case: a centre anywhere in China's latitudes, a radius, and points scattered
/// around it, many placed right at the radius (by construction and a hair either side).
#[derive(Debug, Clone)]
struct Case {
    center: Location,
    radius_m: f64,
    points: Vec<Location>,
    k: usize,
    max_radius_m: Option<f64>,
    bbox: BBox,
    polygon: ValidPolygon,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (75.0..134.0f64, 18.0..54.0f64),
        1.0..5_000.0f64,
        prop::collection::vec((-0.08..0.08f64, -0.08..0.08f64), 0..250),
        prop::collection::vec((0.0..360.0f64, 0usize..7), 0..60),
        (0usize..40, prop::option::of(1.0..8_000.0f64)),
        (0.0..0.08f64, 0.0..0.08f64, 0.0..0.08f64, 0.0..0.08f64),
        prop::collection::vec(0.005..0.08f64, 3..9),
    )
        .prop_map(
            |((lon, lat), radius_m, scatter, ring, (k, max_radius_m), bx, spokes)| {
                let center = loc(lon, lat);
                let mut points: Vec<Location> = scatter
                    .iter()
                    .map(|&(dx, dy)| loc(lon + dx, lat + dy))
                    .collect();
                // At the radius, just inside and just outside it, at several scales of "just".
                let offsets = [0.0, -1e-9, 1e-9, -1e-6, 1e-6, -0.3, 0.3];
                for &(bearing, o) in &ring {
                    points.push(destination(center, bearing, radius_m + offsets[o]));
                }
                let bbox = BBox::new(lon - bx.0, lat - bx.1, lon + bx.2, lat + bx.3).unwrap();
                // Points exactly on the box's edges and corners.
                points.push(loc(bbox.min.lon(), lat));
                points.push(loc(bbox.max.lon(), bbox.max.lat()));
                points.push(loc(lon, bbox.min.lat()));
                // Ties: the same place twice under different ids.
                if let Some(&p) = points.first() {
                    points.push(p);
                }
                // A star-shaped polygon (one vertex per spoke at evenly spread angles) is simple.
                let n = spokes.len() as f64;
                let mut ring: Vec<[f64; 2]> = spokes
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let a = std::f64::consts::TAU * i as f64 / n;
                        [lon + r * a.cos(), lat + r * a.sin()]
                    })
                    .collect();
                ring.push(ring[0]);
                let polygon = ValidPolygon::from_rings(&[ring]).unwrap();
                Case {
                    center,
                    radius_m,
                    points,
                    k,
                    max_radius_m,
                    bbox,
                    polygon,
                }
            },
        )
}

/// Builds half of the items in bulk and upserts the rest, so both tree paths are exercised.
fn layer_of(points: &[Location]) -> MerchantLayer {
    let categories = ["dining", "retail", "services"];
    let mut items: Vec<Merchant> = points
        .iter()
        .enumerate()
        .map(|(i, &p)| merchant(&format!("m{i}"), categories[i % 3], p))
        .collect();
    let later = items.split_off(items.len() / 2);
    let mut layer = MerchantLayer::build(items);
    for m in later {
        assert!(layer.upsert(m));
    }
    layer
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn queries_return_exactly_what_brute_force_finds(c in case()) {
        let layer = layer_of(&c.points);

        let expected = brute_force_hits(&layer, c.center, c.radius_m);
        prop_assert_eq!(&layer.within_radius(c.center, c.radius_m), &expected);

        let mut seen: Vec<(u32, f64)> = Vec::new();
        layer.for_each_within_radius(c.center, c.radius_m, |slot, d| seen.push((slot, d)));
        seen.sort_by_key(|&(slot, _)| slot);
        let mut expected_slots: Vec<u32> = expected.iter().map(|h| h.slot).collect();
        expected_slots.sort_unstable();
        prop_assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), expected_slots);
        for &(slot, d) in &seen {
            let exact = layer.item(slot).location().distance_m(&c.center);
            prop_assert!((d - exact).abs() < 2.0, "{} vs {}", d, exact);
        }

        let mut by_group = vec![0usize; layer.groups().len()];
        layer.for_each_within_radius_grouped(c.center, c.radius_m, |_, g, _| {
            by_group[g as usize] += 1;
        });
        for (code, name) in layer.groups().iter().enumerate() {
            let n = expected.iter().filter(|h| layer.item(h.slot).category() == name).count();
            prop_assert_eq!(by_group[code], n);
        }

        let mut nearest_expected = brute_force_hits(&layer, c.center, c.max_radius_m.unwrap_or(f64::INFINITY));
        nearest_expected.truncate(c.k);
        prop_assert_eq!(layer.nearest(c.center, c.k, c.max_radius_m), nearest_expected);

        prop_assert_eq!(
            ids(&layer, &layer.in_bbox(&c.bbox)),
            ids(&layer, &brute_force_filter(&layer, |l| c.bbox.contains(&l)))
        );
        prop_assert_eq!(
            ids(&layer, &layer.in_polygon(&c.polygon)),
            ids(&layer, &brute_force_filter(&layer, |l| c.polygon.contains(&l)))
        );
    }
}

#[test]
fn results_are_nearest_first_with_their_distances() {
    let center = loc(103.761, 29.569);
    let layer = MerchantLayer::build(vec![
        merchant("far", "dining", destination(center, 10.0, 400.0)),
        merchant("near", "dining", destination(center, 200.0, 50.0)),
        merchant("mid", "retail", destination(center, 90.0, 120.0)),
        merchant("out", "retail", destination(center, 90.0, 600.0)),
    ]);
    let hits = layer.within_radius(center, 500.0);
    assert_eq!(
        ids(&layer, &hits.iter().map(|h| h.slot).collect::<Vec<_>>()),
        ["near", "mid", "far"]
    );
    for (h, want) in hits.iter().zip([50.0, 120.0, 400.0]) {
        assert!((h.distance_m - want).abs() < 1e-6, "{h:?}");
    }
    let two = layer.nearest(center, 2, None);
    assert_eq!(two, hits[..2]);
    assert!(layer.nearest(center, 9, Some(100.0)).len() == 1);
}

#[test]
fn a_moved_item_is_found_at_its_new_place_and_not_at_its_old() {
    let old_place = loc(103.761, 29.569);
    let new_place = loc(103.80, 29.60);
    let mut layer = MerchantLayer::build(vec![
        merchant("m1", "dining", old_place),
        merchant("m2", "dining", loc(103.70, 29.50)),
    ]);
    let s = layer.slot_of("m1").unwrap();
    let old_cell = layer.cell(s);
    assert!(!layer.upsert(merchant("m1", "retail", new_place)));
    assert_eq!(layer.len(), 2);
    assert_eq!(layer.slot_of("m1"), Some(s));
    assert!(layer.within_radius(old_place, 100.0).is_empty());
    assert_eq!(layer.within_radius(new_place, 1.0)[0].slot, s);
    assert_eq!(layer.nearest(new_place, 1, None)[0].slot, s);
    assert_ne!(layer.cell(s), old_cell);
    let mut groups = Vec::new();
    layer.for_each_within_radius_grouped(new_place, 1.0, |_, g, _| groups.push(g));
    assert_eq!(groups, [layer.group_code("retail").unwrap()]);
    let bbox = BBox::new(103.75, 29.56, 103.77, 29.58).unwrap();
    assert!(layer.in_bbox(&bbox).is_empty());
}

#[test]
fn upserting_a_new_id_adds_it() {
    let mut layer = Layer::<Outlet>::build(vec![outlet("o1", loc(103.761, 29.569))]);
    assert!(layer.upsert(outlet("o2", loc(103.762, 29.569))));
    assert_eq!(layer.len(), 2);
    assert_eq!(layer.get("o2").unwrap().id, "o2");
    let near = layer.within_radius(loc(103.762, 29.569), 10.0);
    assert_eq!(ids(&layer, &[near[0].slot]), ["o2"]);
}

#[test]
fn removing_an_item_moves_the_last_into_its_slot() {
    let places = [loc(103.70, 29.50), loc(103.75, 29.55), loc(103.80, 29.60)];
    let mut layer = MerchantLayer::build(
        places
            .iter()
            .enumerate()
            .map(|(i, &p)| merchant(&format!("m{i}"), "dining", p))
            .collect(),
    );
    assert_eq!(layer.remove("m0").map(|m| m.id), Some("m0".to_string()));
    assert!(layer.remove("m0").is_none());
    assert_eq!(layer.len(), 2);
    assert!(layer.within_radius(places[0], 10.0).is_empty());
    let moved = layer.within_radius(places[2], 10.0);
    assert_eq!(moved[0].slot, 0);
    assert_eq!(layer.slot_of("m2"), Some(0));
    assert_eq!(layer.cell(0), layer.cell(layer.slot_of("m2").unwrap()));
}

#[test]
fn building_with_a_repeated_id_keeps_the_last_version() {
    let layer = MerchantLayer::build(vec![
        merchant("m1", "dining", loc(103.70, 29.50)),
        merchant("m2", "dining", loc(103.71, 29.50)),
        merchant("m1", "retail", loc(103.72, 29.50)),
    ]);
    assert_eq!(layer.len(), 2);
    assert_eq!(layer.get("m1").unwrap().category(), "retail");
    assert!(layer.within_radius(loc(103.70, 29.50), 10.0).is_empty());
}

#[test]
fn cells_are_at_the_index_resolution_and_contain_the_item() {
    let at = loc(103.761, 29.569);
    let layer = Layer::<Outlet>::build(vec![outlet("o1", at)]);
    let cell = layer.cell(0);
    assert_eq!(cell.resolution(), INDEX_RESOLUTION);
    let expected = h3o::LatLng::new(29.569, 103.761)
        .unwrap()
        .to_cell(INDEX_RESOLUTION);
    assert_eq!(cell, expected);
}

#[test]
fn nonsense_radii_and_k_zero_find_nothing() {
    let at = loc(103.761, 29.569);
    let layer = Layer::<Outlet>::build(vec![outlet("o1", at)]);
    assert!(layer.within_radius(at, -1.0).is_empty());
    assert!(layer.within_radius(at, f64::NAN).is_empty());
    assert!(layer.nearest(at, 0, None).is_empty());
    assert!(layer.nearest(at, 3, Some(f64::NAN)).is_empty());
    assert_eq!(layer.within_radius(at, 0.0).len(), 1);
    assert_eq!(layer.within_radius(loc(-70.0, -30.0), 1e9).len(), 1);
}

#[test]
fn the_index_finds_areas_by_id_after_upserts_and_removals() {
    let square = |id: &str, x: f64| {
        Area::try_from(AreaDraft {
            id: id.into(),
            name: format!("商圈 {id}"),
            polygon: vec![vec![
                [x, 29.0],
                [x + 0.01, 29.0],
                [x + 0.01, 29.01],
                [x, 29.01],
                [x, 29.0],
            ]],
            ..Default::default()
        })
        .unwrap()
    };
    let mut index = SpatialIndex::build(Dataset {
        areas: vec![square("a1", 103.0), square("a2", 103.1)],
        outlets: vec![outlet("o1", loc(103.0, 29.0))],
        ..Default::default()
    });
    assert_eq!(index.outlets.len(), 1);
    index.upsert_area(square("a1", 103.5));
    assert_eq!(index.areas.len(), 2);
    assert_eq!(index.area("a1").unwrap().polygon.bbox()[0], 103.5);
    assert_eq!(index.remove_area("a1").map(|a| a.id), Some("a1".into()));
    assert!(index.area("a1").is_none());
    assert_eq!(index.area("a2").unwrap().id, "a2");
    index.areas.insert(0, square("a3", 104.0));
    assert_eq!(index.area("a2").unwrap().id, "a2");
    index.upsert_area(square("a2", 105.0));
    assert_eq!(index.areas.len(), 2);
    assert_eq!(index.area("a3").unwrap().id, "a3");
}

#[test]
fn outlets_group_by_competitor_bank() {
    let at = loc(103.761, 29.569);
    let theirs = Outlet::try_from(OutletDraft {
        id: "c1".into(),
        name: "工行网点".into(),
        competitor_bank: Some("工商银行".into()),
        lon: at.lon(),
        lat: at.lat(),
        ..Default::default()
    })
    .unwrap();
    let layer = Layer::<Outlet>::build(vec![outlet("o1", at), theirs]);
    let mut counts: HashMap<String, usize> = HashMap::new();
    layer.for_each_within_radius_grouped(at, 10.0, |_, g, _| {
        *counts
            .entry(layer.groups()[g as usize].clone())
            .or_default() += 1;
    });
    assert_eq!(counts.get(""), Some(&1));
    assert_eq!(counts.get("工商银行"), Some(&1));
}

#[test]
fn many_upserts_at_once_equal_one_at_a_time() {
    let base = loc(103.76, 29.56);
    let first: Vec<Merchant> = (0..500)
        .map(|i| {
            merchant(
                &format!("M{i}"),
                "dining",
                destination(base, i as f64, 10.0 * i as f64),
            )
        })
        .collect();
    // Enough to take the bulk path: new ids, plus 200 old ids moved and recategorised.
    let mut more: Vec<Merchant> = (500..(500 + BULK_UPSERT))
        .map(|i| {
            merchant(
                &format!("M{i}"),
                "retail",
                destination(base, i as f64, (i % 3000) as f64),
            )
        })
        .collect();
    more.extend((0..200).map(|i| {
        merchant(
            &format!("M{i}"),
            "salon",
            destination(base, 90.0, 5_000.0 + i as f64),
        )
    }));
    let mut one_by_one = MerchantLayer::build(first.clone());
    for m in more.clone() {
        one_by_one.upsert(m);
    }
    let mut bulk = MerchantLayer::build(first);
    bulk.upsert_many(more);
    assert_eq!(bulk.len(), one_by_one.len());
    for m in one_by_one.table().to_vec() {
        assert_eq!(bulk.get(&m.id).map(|r| r.to_merchant()), Some(m));
    }
    for (center, r) in [(base, 800.0), (destination(base, 90.0, 5_100.0), 150.0)] {
        let mut a = ids(
            &bulk,
            &bulk
                .within_radius(center, r)
                .iter()
                .map(|h| h.slot)
                .collect::<Vec<_>>(),
        );
        let mut b = ids(
            &one_by_one,
            &one_by_one
                .within_radius(center, r)
                .iter()
                .map(|h| h.slot)
                .collect::<Vec<_>>(),
        );
        a.sort();
        b.sort();
        assert!(!a.is_empty());
        assert_eq!(a, b);
    }
    let salon = bulk.group_code("salon").unwrap();
    let mut n = 0;
    bulk.for_each_within_radius_grouped(destination(base, 90.0, 5_100.0), 150.0, |_, g, _| {
        n += usize::from(g == salon);
    });
    assert_eq!(n, 200, "moved items carry their new category code");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any mix of bulk builds, upserts (new and existing ids) and removals leaves every id
    /// findable at a slot that holds it, and nothing else findable (the id table keeps no
    /// copy of the ids, so a slot moved by a removal must be followed).
    #[test]
    fn ids_find_their_items_through_upserts_and_removals(
        initial in 0usize..40,
        ops in proptest::collection::vec((0u8..3, 0usize..60), 0..120),
    ) {
        let place = |i: usize| loc(103.70 + i as f64 * 1e-3, 29.50);
        let mut layer = MerchantLayer::build((0..initial).map(|i| merchant(&format!("m{i}"), "dining", place(i))).collect());
        let mut model: std::collections::BTreeMap<String, usize> = (0..initial).map(|i| (format!("m{i}"), i)).collect();
        for (op, i) in ops {
            let id = format!("m{i}");
            if op < 2 {
                let at = i + usize::from(op) * 7;
                let new = layer.upsert(merchant(&id, "retail", place(at)));
                prop_assert_eq!(new, model.insert(id, at).is_none());
            } else {
                prop_assert_eq!(layer.remove(&id).map(|m| m.id), model.remove(&id).map(|_| id.clone()));
            }
            prop_assert_eq!(layer.len(), model.len());
        }
        for (id, at) in &model {
            let got = layer.get(id);
            prop_assert!(got.is_some(), "{} lost", id);
            let got = got.unwrap();
            prop_assert_eq!(got.id(), id);
            prop_assert_eq!(got.location(), place(*at));
        }
        for i in 0..60 {
            let id = format!("m{i}");
            prop_assert_eq!(layer.get(&id).is_some(), model.contains_key(&id));
        }
    }
}
