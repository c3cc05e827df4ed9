//! Merchant-acquisition priorities over HTTP, on both backends: the Huff tool, ranked and
//! explained lists, weights that change the order at once (versioned, scoped), territories.

use std::sync::Arc;

use actix_web::{test, App as ActixApp};
use ecomap::app::{App, Limits};
use ecomap::auth::Role;
use ecomap::domain::{Categories, Location};
use serde_json::{json, Value};

use crate::api::{bearer, body_json};
use crate::both_backends;
use crate::support::TestDb;

async fn demo(db: &TestDb) -> Arc<App> {
    let app = App::start(
        db.store().await,
        Categories::builtin().unwrap(),
        Limits::default(),
    )
    .await
    .unwrap();
    ecomap::demo::load(&app).await.unwrap();
    app
}

macro_rules! service {
    ($app:expr) => {{
        let app = $app.clone();
        test::init_service(
            ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, app, None)),
        )
        .await
    }};
}

macro_rules! call {
    ($svc:expr, $req:expr) => {{
        body_json(test::call_service(&$svc, $req.to_request()).await).await
    }};
}

async fn huff_tool_matches_the_hand_computed_shares(db: &TestDb) {
    let app = demo(db).await;
    let svc = service!(app);
    let auth = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let o = Location::new(103.76, 29.57).unwrap();
    let d1 = Location::new(103.76, 29.579).unwrap();
    let d2 = Location::new(103.76, 29.588).unwrap();
    let body = json!({
        "origins": [{"lon": 103.76, "lat": 29.57, "weight": 1200.0}],
        "destinations": [{"lon": 103.76, "lat": 29.579, "attractiveness": 2.0}, {"lon": 103.76, "lat": 29.588, "attractiveness": 1.0}],
        "alpha": 1.0, "beta": 2.0
    });
    let (status, r) = call!(
        svc,
        test::TestRequest::post()
            .uri("/api/models/huff")
            .insert_header(auth.clone())
            .set_json(body)
    );
    assert_eq!(status, 200, "{r}");
    // P_1 = 2·d1⁻² / (2·d1⁻² + 1·d2⁻²), on the same great-circle distances.
    let (a, b) = (2.0 * o.distance_m(&d1).powi(-2), o.distance_m(&d2).powi(-2));
    let p1 = a / (a + b);
    let got = r["probabilities"][0][0].as_f64().unwrap();
    assert!((got - p1).abs() < 1e-12, "{got} vs {p1}");
    assert!((r["expected"][0].as_f64().unwrap() - 1200.0 * p1).abs() < 1e-9);
    let (status, e) = call!(
        svc,
        test::TestRequest::post()
            .uri("/api/models/huff")
            .insert_header(auth.clone())
            .set_json(json!({"origins": [], "destinations": [], "beta": -1.0}))
    );
    assert_eq!(
        (status, e["code"].as_str().unwrap()),
        (400, "bad_parameter")
    );
    let (status, _) = call!(
        svc,
        test::TestRequest::post()
            .uri("/api/models/huff")
            .insert_header(auth)
            .set_json(json!({"origins": [], "destinations": [], "beta": 2.0, "gamma": 1}))
    );
    assert_eq!(status, 400, "unknown fields are rejected");
}
both_backends!(huff_tool_matches_the_hand_computed_shares);

fn ids(fc: &Value) -> Vec<String> {
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

async fn food_street_outlet_ranks_unsigned_food_street_merchants_first_and_explains_them(
    db: &TestDb,
) {
    let app = demo(db).await;
    let svc = service!(app);
    let zgq = bearer(&app, Role::Branch, Some("SB01"), false).await;
    let (status, fc) = call!(
        svc,
        test::TestRequest::get()
            .uri("/api/outlets/OUT01/priorities?radius_m=500&limit=10")
            .insert_header(zgq.clone())
    );
    assert_eq!(status, 200, "{fc}");
    let street = app
        .index()
        .areas
        .iter()
        .find(|a| a.name.contains("张公桥"))
        .unwrap()
        .clone();
    let feats = fc["features"].as_array().unwrap();
    assert_eq!(feats.len(), 10);
    assert!(
        fc["total"].as_u64().unwrap() > 10 && fc["truncated"] == true,
        "total counts the whole circle"
    );
    let mut on_street = 0;
    let mut last = f64::INFINITY;
    for f in feats {
        let p = &f["properties"];
        assert!(
            !matches!(p["status"].as_str().unwrap(), "signed" | "active"),
            "{p}"
        );
        let m = app
            .index()
            .merchants
            .get(f["id"].as_str().unwrap())
            .unwrap()
            .to_merchant();
        if street.polygon.contains(&m.location) {
            on_street += 1;
        }
        let score = p["score"].as_f64().unwrap();
        assert!(score <= last + 1e-9, "best first");
        last = score;
        let sum: f64 = p["factors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["contribution"].as_f64().unwrap())
            .sum();
        assert!(
            (sum - score).abs() < 1e-3,
            "breakdown adds up: {sum} vs {score}"
        );
        for x in p["factors"].as_array().unwrap() {
            let (n, w, c) = (
                x["normalised"].as_f64().unwrap(),
                x["weight"].as_f64().unwrap(),
                x["contribution"].as_f64().unwrap(),
            );
            assert!((0.0..=1.0).contains(&n) && (n * w - c).abs() < 1e-9, "{x}");
        }
        assert!(["observed", "estimated"].contains(&p["footfall_source"].as_str().unwrap()));
    }
    assert!(
        on_street >= 7,
        "top 10 of the food-street outlet: {on_street} on the street"
    );
    // Another branch's outlet is out of scope.
    let szq = bearer(&app, Role::Branch, Some("SB02"), false).await;
    let (status, _) = call!(
        svc,
        test::TestRequest::get()
            .uri("/api/outlets/OUT01/priorities")
            .insert_header(szq)
    );
    assert_eq!(status, 404);
}
both_backends!(food_street_outlet_ranks_unsigned_food_street_merchants_first_and_explains_them);

async fn changing_weights_reorders_at_once_and_is_versioned_and_scoped(db: &TestDb) {
    let app = demo(db).await;
    let svc = service!(app);
    let zgq = bearer(&app, Role::Branch, Some("SB01"), false).await;
    let uri = "/api/outlets/OUT01/priorities?radius_m=1000&limit=30";
    let (_, before) = call!(
        svc,
        test::TestRequest::get().uri(uri).insert_header(zgq.clone())
    );
    let (_, current) = call!(
        svc,
        test::TestRequest::get()
            .uri("/api/scoring/weights?org=SB01")
            .insert_header(zgq.clone())
    );
    assert_eq!(current["effective"]["source"], "default");
    assert_eq!(current["may_edit"], true);
    // Only distance counts now: the list becomes nearest first.
    let w = json!({"category": 0.0, "footfall": 0.0, "avg_spend": 0.0, "distance": 1.0, "agglomeration": 0.0, "ecny": 0.0, "competitor_signed": 0.0, "cside": 0.0});
    let (status, r) = call!(
        svc,
        test::TestRequest::put()
            .uri("/api/scoring/weights?org=SB01")
            .insert_header(zgq.clone())
            .set_json(w.clone())
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["version"], 1);
    let (_, after) = call!(
        svc,
        test::TestRequest::get().uri(uri).insert_header(zgq.clone())
    );
    assert_ne!(
        ids(&before),
        ids(&after),
        "the order changed without a restart"
    );
    let d: Vec<f64> = after["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["distance_m"].as_f64().unwrap())
        .collect();
    assert!(
        d.windows(2).all(|x| x[0] <= x[1] + 0.2),
        "distance-only weights rank nearest first: {d:?}"
    );
    assert_eq!(after["weights"]["source"], "SB01");
    // A second version; history keeps both, with who and when.
    let mut w2 = w.clone();
    w2["footfall"] = json!(0.5);
    call!(
        svc,
        test::TestRequest::put()
            .uri("/api/scoring/weights?org=SB01")
            .insert_header(zgq.clone())
            .set_json(w2)
    );
    let (_, got) = call!(
        svc,
        test::TestRequest::get()
            .uri("/api/scoring/weights?org=OUT01")
            .insert_header(zgq.clone())
    );
    assert_eq!(
        got["effective"]["source"], "SB01",
        "outlets inherit their sub-branch's weights"
    );
    assert_eq!(got["effective"]["version"], 2);
    let (_, hist) = call!(
        svc,
        test::TestRequest::get()
            .uri("/api/scoring/weights?org=SB01")
            .insert_header(zgq.clone())
    );
    assert_eq!(hist["history"].as_array().unwrap().len(), 2);
    assert!(hist["history"][0]["changed_by"]
        .as_str()
        .unwrap()
        .starts_with("tbranch"));
    // Bad weights, unknown fields, staff, other branches and units above: refused, nothing stored.
    let mut bad = w.clone();
    bad["distance"] = json!(3.0);
    let (status, _) = call!(
        svc,
        test::TestRequest::put()
            .uri("/api/scoring/weights?org=SB01")
            .insert_header(zgq.clone())
            .set_json(bad)
    );
    assert_eq!(status, 400);
    let mut extra = w.clone();
    extra["owner"] = json!("HQ");
    let (status, _) = call!(
        svc,
        test::TestRequest::put()
            .uri("/api/scoring/weights?org=SB01")
            .insert_header(zgq.clone())
            .set_json(extra)
    );
    assert_eq!(status, 400);
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let (status, _) = call!(
        svc,
        test::TestRequest::put()
            .uri("/api/scoring/weights?org=OUT01")
            .insert_header(staff)
            .set_json(w.clone())
    );
    assert_eq!(status, 403);
    let szq = bearer(&app, Role::Branch, Some("SB02"), false).await;
    let (status, _) = call!(
        svc,
        test::TestRequest::put()
            .uri("/api/scoring/weights?org=SB01")
            .insert_header(szq)
            .set_json(w.clone())
    );
    assert_eq!(status, 404);
    let (status, _) = call!(
        svc,
        test::TestRequest::put()
            .uri("/api/scoring/weights?org=LS")
            .insert_header(zgq.clone())
            .set_json(w.clone())
    );
    assert_eq!(status, 403);
    assert_eq!(app.store.all_weights().await.unwrap().len(), 2);
    let (log, _) = app
        .store
        .audit_log(Some("weights_change"), 10, 0)
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    // A restart reads the stored versions.
    let again = App::start(
        db.store().await,
        Categories::builtin().unwrap(),
        Limits::default(),
    )
    .await
    .unwrap();
    assert_eq!(again.effective_weights(Some("OUT01")).version, Some(2));
}
both_backends!(changing_weights_reorders_at_once_and_is_versioned_and_scoped);

async fn every_merchant_has_exactly_one_of_our_outlets_as_territory(db: &TestDb) {
    let app = demo(db).await;
    let svc = service!(app);
    let admin = bearer(&app, Role::Admin, None, false).await;
    let (status, t) = call!(
        svc,
        test::TestRequest::get()
            .uri("/api/territories")
            .insert_header(admin.clone())
    );
    assert_eq!(status, 200, "{t}");
    let outlets = t["outlets"].as_array().unwrap();
    assert_eq!(outlets.len(), 6, "ours only");
    let total: u64 = outlets
        .iter()
        .map(|o| o["merchants"].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, app.index().merchants.len());
    let (_, one) = call!(
        svc,
        test::TestRequest::get()
            .uri("/api/territories?outlet=OUT01")
            .insert_header(admin.clone())
    );
    let n = outlets.iter().find(|o| o["outlet_id"] == "OUT01").unwrap()["merchants"]
        .as_u64()
        .unwrap();
    assert_eq!(one["total"].as_u64().unwrap(), n);
    // Balanced: nobody above ceil(1.1 × mean); every merchant still has one outlet.
    let (status, b) = call!(
        svc,
        test::TestRequest::get()
            .uri("/api/territories?balance=1.1")
            .insert_header(admin.clone())
    );
    assert_eq!(status, 200, "{b}");
    let loads: Vec<u64> = b["outlets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["merchants"].as_u64().unwrap())
        .collect();
    let total: u64 = loads.iter().sum();
    assert_eq!(total as usize, app.index().merchants.len());
    let cap = (1.1 * total as f64 / loads.len() as f64).ceil() as u64;
    assert!(loads.iter().all(|&l| l <= cap), "{loads:?} cap {cap}");
    let (status, h) = call!(
        svc,
        test::TestRequest::get()
            .uri("/api/territories?method=huff")
            .insert_header(admin)
    );
    assert_eq!((status, h["method"].as_str().unwrap()), (200, "huff"));
}
both_backends!(every_merchant_has_exactly_one_of_our_outlets_as_territory);
