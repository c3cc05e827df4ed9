//! An outlet's priorities over HTTP walk the streets once an OpenStreetMap import has stored a
//! street network, and say so; without one they are straight line × detour, and say that. On
//! both backends.

use std::sync::Arc;

use actix_web::{test, App as ActixApp};
use ecomap::app::{Access, App, Limits};
use ecomap::auth::Role;
use ecomap::domain::Categories;
use ecomap::ingest::osm::OsmOptions;
use serde_json::Value;

use crate::api::{bearer, body_json};
use crate::both_backends;
use crate::support::TestDb;

const EXTRACT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/osm/liechtenstein-2013-08-03.osm.pbf"
);
/// The Liechtensteinische Landesbank branch in Vaduz: ours after `--our-bank`.
const OUTLET: &str = "osm:n6254";

async fn get(app: &Arc<App>, uri: &str) -> (u16, Value) {
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let token = bearer(app, Role::Admin, None, false).await;
    let req = test::TestRequest::get()
        .uri(uri)
        .insert_header(token)
        .to_request();
    body_json(test::call_service(&svc, req).await).await
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Imports Liechtenstein as an administrator with the Landesbank as our bank, so that the
/// street network is stored and `osm:n6254` is one of our outlets; then its priority list:
/// every merchant's `walking_m` is the network's walk from the outlet (checked against
/// `App::walking()` asked separately), never shorter than the straight line, and everything
/// says `street_network`, the Huff footfall estimates included.
async fn priorities_walk_the_imported_streets_and_say_so(db: &TestDb) {
    let app = App::start(
        db.store().await,
        Categories::builtin().unwrap(),
        Limits::default(),
    )
    .await
    .unwrap();
    // No network yet: the warm state (Huff estimates) is computed in straight lines.
    assert_eq!(app.warm().stats.distance, "straight_line_x_detour");
    let mut opts = OsmOptions::builtin().unwrap();
    opts.our_banks = vec!["Liechtensteinische Landesbank".into()];
    let bytes = std::fs::read(EXTRACT).unwrap();
    let report = app
        .import_osm(
            Some("liechtenstein"),
            &bytes,
            &opts,
            &Access::system("test"),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert!(
        report.network.is_some(),
        "an administrator's import stores the network"
    );
    let walking = app.walking();
    assert_eq!(walking.model(), "street_network");
    // The warm state was dropped with the import (and its network) and is now walked on it.
    assert_eq!(app.warm().stats.distance, "street_network");

    let (s, fc) = get(
        &app,
        &format!("/api/outlets/{OUTLET}/priorities?radius_m=2000&limit=500"),
    )
    .await;
    assert_eq!(s, 200, "{fc}");
    assert_eq!(fc["distance"], "street_network", "{}", fc["distance"]);
    assert_eq!(fc["footfall_distance"], "street_network");
    let feats = fc["features"].as_array().unwrap();
    assert!(feats.len() >= 20, "{} merchants within 2 km", feats.len());
    assert_eq!(fc["total"].as_u64(), Some(feats.len() as u64));

    let (outlet, merchants) = {
        let index = app.index();
        let outlet = index.outlets.get(OUTLET).unwrap().location;
        let merchants: Vec<_> = feats
            .iter()
            .map(|f| {
                index
                    .merchants
                    .get(f["properties"]["id"].as_str().unwrap())
                    .unwrap()
                    .location()
            })
            .collect();
        (outlet, merchants)
    };
    let mut longer_than_straight_x_detour = 0;
    for (k, (f, at)) in feats.iter().zip(&merchants).enumerate() {
        let p = &f["properties"];
        assert_eq!(p["distance"], "street_network", "{p}");
        let walking_m = num(&p["walking_m"]);
        let distance_m = num(&p["distance_m"]);
        // Both are rounded to 0.1 m in the answer, and edge lengths are whole decimetres.
        assert!(
            walking_m >= distance_m - 0.5,
            "{walking_m} < {distance_m}: {p}"
        );
        if walking_m > 1.3 * distance_m {
            longer_than_straight_x_detour += 1;
        }
        // The distance factor's raw value is the walk, and it decays from there.
        let factor = p["factors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["code"] == "distance")
            .unwrap();
        assert!((num(&factor["raw"]) - walking_m).abs() <= 0.05, "{factor}");
        assert!((num(&factor["normalised"]) - (-num(&factor["raw"]) / 400.0).exp()).abs() < 1e-9);
        // Every fifth merchant: the same walk asked of the network on its own.
        if k % 5 == 0 {
            let w = walking.distance(outlet, *at);
            assert_eq!(w.model, "street_network");
            assert!(
                (walking_m - w.metres).abs() <= 0.05 + 1e-9,
                "{}: {walking_m} vs {}",
                p["id"],
                w.metres
            );
        }
    }
    // The streets are not straight lines × 1.3: for some merchants they are longer.
    assert!(longer_than_straight_x_detour > 0);
    // Best first.
    let scores: Vec<f64> = feats
        .iter()
        .map(|f| num(&f["properties"]["score"]))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}
both_backends!(priorities_walk_the_imported_streets_and_say_so);

/// Without a street network the list is straight line × detour, answer and merchants alike.
async fn without_a_network_priorities_are_straight_lines_and_say_so(db: &TestDb) {
    let app = crate::api::demo_app(db).await;
    let (s, fc) = get(&app, "/api/outlets/OUT01/priorities?radius_m=500&limit=20").await;
    assert_eq!(s, 200, "{fc}");
    assert_eq!(fc["distance"], "straight_line_x_detour");
    assert_eq!(fc["footfall_distance"], "straight_line_x_detour");
    let feats = fc["features"].as_array().unwrap();
    assert!(!feats.is_empty());
    for f in feats {
        let p = &f["properties"];
        assert_eq!(p["distance"], "straight_line_x_detour", "{p}");
        // × 1.3, each side rounded to 0.1 m.
        let (w, d) = (num(&p["walking_m"]), num(&p["distance_m"]));
        assert!((w - 1.3 * d).abs() <= 0.05 + 1.3 * 0.05, "{w} vs {d}");
    }
}
both_backends!(without_a_network_priorities_are_straight_lines_and_say_so);
