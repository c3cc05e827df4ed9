//! Ecosystem coverage over HTTP: circles agree with brute force on what the database holds,
//! the grid adds up, the food street's survey reads right, and all of it is scoped.

use actix_web::{test, App as ActixApp};
use ecomap::auth::Role;
use serde_json::{json, Value};

use crate::api::{bearer, body_json, demo_app};
use crate::both_backends;
use crate::support::TestDb;

async fn coverage_endpoints_agree_with_brute_force_and_are_scoped(db: &TestDb) {
    let app = demo_app(db).await;
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let admin = bearer(&app, Role::Admin, None, false).await;
    let get = |uri: &str, auth: &(String, String)| {
        test::TestRequest::get()
            .uri(uri)
            .insert_header(auth.clone())
            .to_request()
    };

    // Circles: merchants within walking/detour metres of OUT01, counted from the stored data.
    let (status, c): (u16, Value) =
        body_json(test::call_service(&svc, get("/api/outlets/OUT01/circles", &admin)).await).await;
    assert_eq!(status, 200, "{c}");
    let stored = app.store.load().await.unwrap();
    let out = stored
        .outlets
        .iter()
        .find(|o| o.id == "OUT01")
        .unwrap()
        .location;
    for f in c["features"].as_array().unwrap() {
        let p = &f["properties"];
        let r = p["radius_m"].as_f64().unwrap();
        let walking = p["walking_m"].as_f64().unwrap();
        assert!((r * 1.3 - walking).abs() < 1e-6);
        let inside: Vec<_> = stored
            .merchants
            .iter()
            .filter(|m| out.distance_m(&m.location) <= r)
            .collect();
        assert_eq!(
            p["merchants"].as_u64().unwrap() as usize,
            inside.len(),
            "{walking} m"
        );
        let signed = inside
            .iter()
            .filter(|m| matches!(m.status.code(), "signed" | "active"))
            .count();
        assert_eq!(p["signed"].as_u64().unwrap() as usize, signed);
        let hh: u64 = stored
            .communities
            .iter()
            .filter(|x| out.distance_m(&x.location) <= r)
            .map(|x| u64::from(x.households))
            .sum();
        assert_eq!(p["households"].as_u64().unwrap(), hh);
    }
    assert_eq!(c["distance"], "straight_line_x_detour");

    // Grid over the food street: hex sums equal the merchants inside.
    let street = stored
        .areas
        .iter()
        .find(|a| a.name.contains("张公桥"))
        .unwrap()
        .clone();
    let (status, g) = body_json(
        test::call_service(
            &svc,
            get(&format!("/api/coverage/grid?area={}", street.id), &admin),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{g}");
    let in_street = stored
        .merchants
        .iter()
        .filter(|m| street.polygon.contains(&m.location))
        .count();
    let sum: u64 = g["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["merchants"].as_u64().unwrap())
        .sum();
    assert_eq!(sum as usize, in_street);

    // Survey: mostly dining, competing banks listed, prospects unsigned.
    let (status, s) = body_json(
        test::call_service(
            &svc,
            get(&format!("/api/areas/{}/survey", street.id), &admin),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["merchants"].as_u64().unwrap() as usize, in_street);
    assert_eq!(s["mix"][0]["code"], "dining");
    assert!(!s["competitor_outlets"].as_array().unwrap().is_empty());
    assert!(s["top_prospects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| !matches!(p["status"].as_str().unwrap(), "signed" | "active")));
    // The same polygon, drawn, gives the same survey.
    let drawn = json!({"type": "Polygon", "coordinates": street.polygon.rings()});
    let req = test::TestRequest::post()
        .uri("/api/survey")
        .insert_header(admin.clone())
        .set_json(drawn)
        .to_request();
    let (status, d) = body_json(test::call_service(&svc, req).await).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["merchants"], s["merchants"]);

    // Compare: one row per outlet of ours.
    let (_, cmp) =
        body_json(test::call_service(&svc, get("/api/coverage/outlets", &admin)).await).await;
    assert_eq!(cmp["outlets"].as_array().unwrap().len(), 6);

    // Scope: szq (SB02) cannot see OUT01's circles; zgq's grid counts only SB01's merchants.
    let szq = bearer(&app, Role::Branch, Some("SB02"), false).await;
    let (status, _) =
        body_json(test::call_service(&svc, get("/api/outlets/OUT01/circles", &szq)).await).await;
    assert_eq!(status, 404);
    let (_, rows) =
        body_json(test::call_service(&svc, get("/api/coverage/outlets", &szq)).await).await;
    assert!(rows["outlets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["outlet_id"] != "OUT01"));
    let zgq = bearer(&app, Role::Branch, Some("SB01"), false).await;
    let (_, gz) = body_json(
        test::call_service(
            &svc,
            get(&format!("/api/coverage/grid?area={}", street.id), &zgq),
        )
        .await,
    )
    .await;
    let sb01: std::collections::HashSet<&str> = ["SB01"]
        .into_iter()
        .chain(
            stored
                .outlets
                .iter()
                .filter(|o| o.parent_org_id.as_deref() == Some("SB01"))
                .map(|o| o.id.as_str()),
        )
        .collect();
    let want = stored
        .merchants
        .iter()
        .filter(|m| {
            street.polygon.contains(&m.location)
                && m.owner_org_id.as_deref().is_some_and(|o| sb01.contains(o))
        })
        .count();
    let got: u64 = gz["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["merchants"].as_u64().unwrap())
        .sum();
    assert_eq!(got as usize, want);
}
both_backends!(coverage_endpoints_agree_with_brute_force_and_are_scoped);

/// Households and communities in every coverage answer are those the caller may see: a branch
/// user's figures add up over the communities they are shown, and none of a sibling branch's
/// communities counts.
async fn community_figures_follow_the_callers_scope(db: &TestDb) {
    let app = demo_app(db).await;
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let get = |uri: &str, auth: &(String, String)| {
        test::TestRequest::get()
            .uri(uri)
            .insert_header(auth.clone())
            .to_request()
    };
    let admin = bearer(&app, Role::Admin, None, false).await;
    let zgq = bearer(&app, Role::Branch, Some("SB01"), false).await;
    let visible: std::collections::HashMap<String, u64> = {
        let (_, c) =
            body_json(test::call_service(&svc, get("/api/communities?limit=2000", &zgq)).await)
                .await;
        c["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["properties"]["id"].as_str().unwrap().to_string(),
                    f["properties"]["households"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let total = app.index().communities.len();
    assert!(
        visible.len() < total,
        "SB01 sees some of the {total} communities"
    );

    // A survey over a box holding the whole demo: households = the listed communities' sum,
    // and every listed community is one SB01 may see.
    let (w, s, e, n) = (103.70, 29.50, 103.85, 29.65);
    let body =
        json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]});
    for (who, auth) in [("admin", &admin), ("zgq", &zgq)] {
        let (status, sv) = body_json(
            test::call_service(
                &svc,
                test::TestRequest::post()
                    .uri("/api/survey")
                    .insert_header(auth.clone())
                    .set_json(&body)
                    .to_request(),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{sv}");
        let listed = sv["communities_in_reach"].as_array().unwrap();
        let sum: u64 = listed
            .iter()
            .map(|c| c["households"].as_u64().unwrap())
            .sum();
        assert_eq!(sv["households_in_reach"].as_u64(), Some(sum), "{who}");
        if who == "zgq" {
            assert!(listed
                .iter()
                .all(|c| visible.contains_key(c["id"].as_str().unwrap())));
            assert_eq!(listed.len(), visible.len());
        } else {
            assert_eq!(listed.len(), total);
        }
    }

    // The grid over the same box: households add up to the visible communities' households.
    let (_, grid) = body_json(
        test::call_service(
            &svc,
            get(&format!("/api/coverage/grid?bbox={w},{s},{e},{n}"), &zgq),
        )
        .await,
    )
    .await;
    let hh: u64 = grid["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["households"].as_u64().unwrap())
        .sum();
    assert_eq!(hh, visible.values().sum::<u64>());

    // Circles: each circle's households come only from visible communities.
    let (_, c) =
        body_json(test::call_service(&svc, get("/api/outlets/OUT01/circles", &zgq)).await).await;
    let o = app.index().outlets.get("OUT01").unwrap().location;
    for f in c["features"].as_array().unwrap() {
        let r = f["properties"]["radius_m"].as_f64().unwrap();
        let want: u64 = app
            .index()
            .communities
            .items()
            .iter()
            .filter(|x| visible.contains_key(&x.id) && x.location.distance_m(&o) <= r)
            .map(|x| u64::from(x.households))
            .sum();
        assert_eq!(f["properties"]["households"].as_u64(), Some(want), "{r} m");
    }

    // The branch total of the comparison: each visible community within 15 minutes of any of
    // SB01's outlets, counted once.
    let (_, cmp) =
        body_json(test::call_service(&svc, get("/api/coverage/outlets", &zgq)).await).await;
    let outer = app
        .coverage
        .outer_circle()
        .radius_m(app.ranking.params.detour_factor);
    let index = app.index();
    let outlets: Vec<_> = cmp["outlets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            index
                .outlets
                .get(r["outlet_id"].as_str().unwrap())
                .unwrap()
                .location
        })
        .collect();
    assert!(!outlets.is_empty());
    let want: u64 = index
        .communities
        .items()
        .iter()
        .filter(|c| visible.contains_key(&c.id))
        .filter(|c| outlets.iter().any(|o| c.location.distance_m(o) <= outer))
        .map(|c| u64::from(c.households))
        .sum();
    let b = &cmp["branch_coverage"];
    assert_eq!(b["households"].as_u64(), Some(want));
    let covered = b["covered_households"].as_u64().unwrap();
    assert!(covered <= want);
    assert!((b["share"].as_f64().unwrap() - covered as f64 / want as f64).abs() < 1e-9);
}
both_backends!(community_figures_follow_the_callers_scope);
