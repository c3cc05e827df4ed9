//! An afternoon's visit plan over HTTP, as outlet staff ask for it.

use std::collections::HashSet;

use actix_web::{test, App as ActixApp};
use ecomap::auth::Role;

use crate::api::{bearer, body_json, demo_app};
use crate::both_backends;
use crate::support::TestDb;

fn minutes(hhmm: &str) -> u32 {
    let (h, m) = hhmm.split_once(':').unwrap();
    h.parse::<u32>().unwrap() * 60 + m.parse::<u32>().unwrap()
}

async fn staff_plan_an_afternoon_within_their_territory(db: &TestDb) {
    let app = demo_app(db).await;
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let get = |uri: &str| {
        test::TestRequest::get()
            .uri(uri)
            .insert_header(staff.clone())
            .to_request()
    };
    // A merchant of OUT01 that is open in the afternoon, picked by hand.
    let (_, ranked) = body_json(
        test::call_service(
            &svc,
            get("/api/outlets/OUT01/priorities?territory=own&limit=60"),
        )
        .await,
    )
    .await;
    let pick = ranked["features"].as_array().unwrap()[40]["properties"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, plan) = body_json(
        test::call_service(
            &svc,
            get(&format!(
                "/api/outlets/OUT01/plan?date=2026-12-01&window=14:00-17:30&staff=2&must={pick}"
            )),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{plan}");
    let mut seen = HashSet::new();
    let mut total = 0.0;
    for r in plan["routes"].as_array().unwrap() {
        let mut t = minutes("14:00");
        for s in r["stops"].as_array().unwrap() {
            let id = s["merchant_id"].as_str().unwrap();
            assert!(seen.insert(id.to_string()), "{id} twice");
            let m = app.index().merchants.get(id).unwrap().clone();
            assert_eq!(m.owner_org_id.as_deref(), Some("OUT01"), "{id} is OUT01's");
            let (a, st, l) = (
                minutes(s["arrive"].as_str().unwrap()),
                minutes(s["start"].as_str().unwrap()),
                minutes(s["leave"].as_str().unwrap()),
            );
            assert!(t <= a + 1 && a <= st && st < l, "{s}");
            t = l;
            total += s["priority"].as_f64().unwrap();
        }
        assert!(minutes(r["end"].as_str().unwrap()) <= minutes("17:30"));
    }
    assert!(
        seen.len() >= 5,
        "an afternoon holds several visits: {}",
        seen.len()
    );
    assert!(seen.contains(&pick), "the hand-picked merchant is planned");
    assert!((total - plan["total_priority"].as_f64().unwrap()).abs() < 1e-6);
    // The map: one line per route from the outlet and back, one point per stop.
    let feats = plan["map"]["features"].as_array().unwrap();
    let lines = feats
        .iter()
        .filter(|f| f["geometry"]["type"] == "LineString")
        .count();
    let points = feats
        .iter()
        .filter(|f| f["geometry"]["type"] == "Point")
        .count();
    assert_eq!((lines, points), (2, seen.len()));

    // CSV for Excel: a header and one row per stop.
    let resp = test::call_service(
        &svc,
        get("/api/outlets/OUT01/plan?date=2026-12-01&format=csv"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(body.starts_with('\u{feff}') && body.contains("商户编号"));
    assert!(body.lines().count() > 3);

    // Another branch's outlet is not there; a bad window names the field.
    let (s, _) = body_json(test::call_service(&svc, get("/api/outlets/OUT03/plan")).await).await;
    assert_eq!(s, 404);
    let (s, e) = body_json(
        test::call_service(&svc, get("/api/outlets/OUT01/plan?window=17:00-14:00")).await,
    )
    .await;
    assert_eq!((s, e["param"].as_str()), (400, Some("window")), "{e}");
}
both_backends!(staff_plan_an_afternoon_within_their_territory);
