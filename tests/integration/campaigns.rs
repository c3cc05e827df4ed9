//! The campaign designer over HTTP, as a branch team uses it: the Leshan food-street campaign
//! from creation to export, edits with versions, scope, validation.

use std::collections::{HashMap, HashSet};

use actix_web::{test, App as ActixApp};
use ecomap::auth::Role;
use serde_json::{json, Value};

use crate::api::{bearer, body_json, demo_app};
use crate::both_backends;
use crate::support::TestDb;

macro_rules! call {
    ($svc:expr, $req:expr) => {{
        body_json(test::call_service(&$svc, $req.to_request()).await).await
    }};
}

fn food_street_campaign() -> Value {
    json!({
        "name": "张公桥好吃街生态圈",
        "target": {"kind": "area", "area_id": "A01"},
        "start": "2026-01-01", "end": "2026-12-31",
        "types": ["event", "referral", "habit", "welfare"],
        "budget": {"total_cny": 200000, "subsidy_per_txn_cny": 5},
        "member_weekday": "周三",
    })
}

async fn a_branch_team_builds_the_food_street_campaign(db: &TestDb) {
    let app = demo_app(db).await;
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let team = bearer(&app, Role::Branch, Some("SB01"), false).await;
    let get = |uri: &str| {
        test::TestRequest::get()
            .uri(uri)
            .insert_header(team.clone())
    };

    let (s, created) = call!(
        svc,
        test::TestRequest::post()
            .uri("/api/campaigns")
            .insert_header(team.clone())
            .set_json(food_street_campaign())
    );
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["version"], 1);
    assert_eq!(created["owner_org_id"], "SB01");
    let id = created["id"].as_str().unwrap().to_string();

    let (s, plan) = call!(svc, get(&format!("/api/campaigns/{id}/plan")));
    assert_eq!(s, 200, "{plan}");

    // B side: exactly the merchants inside the food street (all SB01's), by category.
    // A copy of the data: the index's lock is not held across the requests below.
    let (area, merchants, communities) = {
        let index = app.index();
        (
            index.areas.iter().find(|a| a.id == "A01").unwrap().clone(),
            index.merchants.table().to_vec().to_vec(),
            index.communities.items().to_vec(),
        )
    };
    let inside: HashSet<String> = merchants
        .iter()
        .filter(|m| area.polygon.contains(&m.location))
        .map(|m| m.id.clone())
        .collect();
    assert!(
        inside.len() > 50,
        "the demo's food street has many merchants"
    );
    assert_eq!(plan["b_side"]["merchants"], inside.len());
    let listed: HashSet<String> = plan["b_side"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, inside);
    let by_cat: usize = plan["b_side"]["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["merchants"].as_u64().unwrap() as usize)
        .sum();
    assert_eq!(by_cat, inside.len());

    // The recommended set covers what it claims: with the picks enrolled, every community the
    // plan calls covered has k signed merchants of each essential category within its circle
    // (recounted here by brute force over every merchant).
    let picks: HashSet<String> = plan["b_side"]["cover"]["picks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["merchant_id"].as_str().unwrap().to_string())
        .collect();
    for p in &picks {
        assert!(inside.contains(p), "pick {p} is a merchant of the street");
        let m = merchants.iter().find(|m| &m.id == p).unwrap();
        assert!(!is_signed_owned(m), "pick {p} is not signed yet");
    }
    let radius = ecomap::coverage::straight_m(
        app.coverage.community_circle_m,
        app.ranking.params.detour_factor,
    );
    let mut claimed_covered = 0;
    let mut newly_covered = 0;
    for c in plan["c_side"]["communities"].as_array().unwrap() {
        let community = communities.iter().find(|k| k.id == c["id"]).unwrap();
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for m in &merchants {
            if (is_signed_owned(m) || picks.contains(&m.id))
                && m.location.distance_m(&community.location) <= radius
            {
                *counts.entry(m.category.as_str()).or_default() += 1;
            }
        }
        let covered = app
            .coverage
            .essential
            .iter()
            .all(|(cat, k)| counts.get(cat.as_str()).copied().unwrap_or(0) >= *k);
        if c["covered_after"] == true {
            claimed_covered += 1;
            assert!(covered, "{} claimed covered: {counts:?}", c["id"]);
            if c["covered_now"] == false {
                newly_covered += 1;
            }
        }
    }
    assert!(
        claimed_covered > 0 && newly_covered > 0,
        "the picks cover new communities"
    );
    let cover = &plan["b_side"]["cover"];
    assert!(cover["lower_bound"].as_u64().unwrap() <= picks.len() as u64);
    assert!(cover["demands_met_after"].as_u64() >= cover["demands_met_before"].as_u64());

    // C side: the communities within a 10-minute walk of the street, with their households.
    let hh: u64 = plan["c_side"]["communities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["households"].as_u64().unwrap())
        .sum();
    assert_eq!(plan["c_side"]["households"].as_u64(), Some(hh));
    assert!(hh > 0);
    let seeds = plan["c_side"]["seeds"].as_array().unwrap();
    assert!(!seeds.is_empty() && seeds.len() <= 3);

    // The calendar: twelve months, Spring Festival 2026 anchors February, member days are
    // Wednesdays.
    let cal = plan["calendar"].as_array().unwrap();
    assert_eq!(cal.len(), 12);
    assert_eq!(cal[1]["anchor"], "spring_festival");
    assert_eq!(cal[1]["anchor_date"], "2026-02-17");
    for m in cal {
        for d in m["member_days"].as_array().unwrap() {
            let d = chrono::NaiveDate::parse_from_str(d.as_str().unwrap(), "%Y-%m-%d").unwrap();
            assert_eq!(chrono::Datelike::weekday(&d), chrono::Weekday::Wed);
        }
    }

    // Estimates: low < base < high, referral bounded by the reachable residents and equal to
    // the closed form's partial sum; every figure says how.
    let est = plan["estimates"].as_array().unwrap();
    assert_eq!(est.len(), 3);
    let users: Vec<f64> = est
        .iter()
        .map(|e| e["new_users"].as_f64().unwrap())
        .collect();
    assert!(users[0] < users[1] && users[1] < users[2], "{users:?}");
    for e in est {
        assert!(e["new_users"].as_f64() <= e["reachable"].as_f64());
        for f in e["figures"].as_array().unwrap() {
            assert!(!f["how"].as_str().unwrap().is_empty());
        }
    }
    let base = &est[1];
    let k = base["k"].as_f64().unwrap();
    let seeds_n = plan["population"]["seeds"].as_f64().unwrap();
    assert!(k < 1.0);
    assert!((base["closed_form"].as_f64().unwrap() - seeds_n / (1.0 - k)).abs() < 1e-6);
    assert!(base["referral_users"].as_f64().unwrap() <= seeds_n / (1.0 - k) + 1e-6);

    // Cross-marketing: complementary pairs of the street's merchants within a short walk,
    // launchable ones (a signed side) first.
    let table = ecomap::campaign::cross::CrossTable::builtin().unwrap();
    let cross = plan["cross"].as_array().unwrap();
    assert!(!cross.is_empty());
    let mut launchable_seen_after = false;
    for (i, x) in cross.iter().enumerate() {
        let (a, b) = (x["a_id"].as_str().unwrap(), x["b_id"].as_str().unwrap());
        assert!(inside.contains(a) && inside.contains(b), "{x}");
        let rule = table
            .pairs
            .iter()
            .find(|r| x["pair_code"] == r.code.as_str())
            .unwrap_or_else(|| panic!("{x}"));
        let cats = (
            x["a_category"].as_str().unwrap(),
            x["b_category"].as_str().unwrap(),
        );
        assert!(cats == (rule.a.as_str(), rule.b.as_str()), "{x}");
        assert!(x["walking_m"].as_f64().unwrap() <= table.max_walking_m + 1e-9);
        let (ma, mb) = (
            merchants.iter().find(|m| m.id == a).unwrap(),
            merchants.iter().find(|m| m.id == b).unwrap(),
        );
        let walk = ma.location.distance_m(&mb.location) * app.ranking.params.detour_factor;
        assert!((walk - x["walking_m"].as_f64().unwrap()).abs() < 0.5, "{x}");
        if i > 0 && x["launchable"] == true && cross[i - 1]["launchable"] == false {
            launchable_seen_after = true;
        }
    }
    assert!(!launchable_seen_after, "launchable pairs come first");

    // Edits: a calendar change saved as version 2; a stale save is refused and changes nothing.
    let mut edited = food_street_campaign();
    edited["version"] = json!(1);
    edited["calendar"] =
        json!([{"month": "2026-04", "activity": "event", "theme_zh": "春季美食节"}]);
    let (s, v2) = call!(
        svc,
        test::TestRequest::put()
            .uri(&format!("/api/campaigns/{id}"))
            .insert_header(team.clone())
            .set_json(&edited)
    );
    assert_eq!((s, v2["version"].as_i64()), (200, Some(2)), "{v2}");
    edited["name"] = json!("改名");
    let (s, e) = call!(
        svc,
        test::TestRequest::put()
            .uri(&format!("/api/campaigns/{id}"))
            .insert_header(team.clone())
            .set_json(&edited)
    );
    assert_eq!((s, e["code"].as_str()), (409, Some("conflict")), "{e}");
    assert_eq!(e["current_version"], 2);
    let (_, now) = call!(svc, get(&format!("/api/campaigns/{id}")));
    assert_eq!(now["name"], "张公桥好吃街生态圈");
    let (_, plan2) = call!(svc, get(&format!("/api/campaigns/{id}/plan")));
    let april = &plan2["calendar"][3];
    assert_eq!(
        (april["theme_zh"].as_str(), april["edited"].as_bool()),
        (Some("春季美食节"), Some(true))
    );
    let (_, hist) = call!(svc, get(&format!("/api/campaigns/{id}/history")));
    assert_eq!(hist["versions"].as_array().unwrap().len(), 2);

    // A slider moved in the builder: the preview answers without storing anything.
    let mut moved = food_street_campaign();
    moved["assumptions"] = json!({"participation": 0.2});
    let (s, preview) = call!(
        svc,
        test::TestRequest::post()
            .uri("/api/campaigns/preview")
            .insert_header(team.clone())
            .set_json(&moved)
    );
    assert_eq!(s, 200, "{preview}");
    assert!(
        preview["estimates"][1]["direct_users"].as_f64() > base["direct_users"].as_f64(),
        "a higher participation reaches more"
    );
    let (_, list) = call!(svc, get("/api/campaigns"));
    assert_eq!(list["total"], 1);

    // Exports: CSV for Excel, the printable page, the map.
    let resp = test::call_service(
        &svc,
        get(&format!(
            "/api/campaigns/{id}/plan?format=csv&part=merchants"
        ))
        .to_request(),
    )
    .await;
    let csv = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        csv.starts_with('\u{feff}'),
        "{}",
        &csv[..csv.len().min(300)]
    );
    assert!(csv.starts_with('\u{feff}') && csv.contains("商户"));
    assert_eq!(csv.lines().count(), inside.len() + 1);
    for part in ["communities", "calendar", "estimates", "cross"] {
        let resp = test::call_service(
            &svc,
            get(&format!("/api/campaigns/{id}/plan?format=csv&part={part}")).to_request(),
        )
        .await;
        assert_eq!(resp.status(), 200, "{part}");
    }
    let resp = test::call_service(
        &svc,
        get(&format!("/api/campaigns/{id}/plan?format=html")).to_request(),
    )
    .await;
    let html = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(html.contains("张公桥好吃街生态圈") && html.contains("春季美食节"));
    assert_eq!(html.matches("<tr data-month=").count(), 12);
    let (s, map) = call!(
        svc,
        get(&format!("/api/campaigns/{id}/plan?format=geojson"))
    );
    assert_eq!(s, 200);
    let feats = map["features"].as_array().unwrap();
    assert_eq!(feats[0]["properties"]["kind"], "target");
    assert_eq!(
        feats
            .iter()
            .filter(|f| f["properties"]["kind"] == "merchant")
            .count(),
        inside.len()
    );

    // Scope: another sub-branch does not see it; staff of the branch's outlet read it but do
    // not edit it.
    let other = bearer(&app, Role::Branch, Some("SB02"), false).await;
    let (s, _) = call!(
        svc,
        test::TestRequest::get()
            .uri(&format!("/api/campaigns/{id}"))
            .insert_header(other.clone())
    );
    assert_eq!(s, 404);
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let (s, _) = call!(
        svc,
        test::TestRequest::get()
            .uri(&format!("/api/campaigns/{id}/plan"))
            .insert_header(staff.clone())
    );
    assert_eq!(s, 200);
    let mut by_staff = food_street_campaign();
    by_staff["version"] = json!(2);
    let (s, _) = call!(
        svc,
        test::TestRequest::put()
            .uri(&format!("/api/campaigns/{id}"))
            .insert_header(staff.clone())
            .set_json(&by_staff)
    );
    assert_eq!(s, 403);

    // Deleting keeps the history.
    let (s, _) = call!(
        svc,
        test::TestRequest::delete()
            .uri(&format!("/api/campaigns/{id}?version=2"))
            .insert_header(team.clone())
    );
    assert_eq!(s, 200);
    let (s, _) = call!(svc, get(&format!("/api/campaigns/{id}")));
    assert_eq!(s, 404);
    let (_, list) = call!(svc, get("/api/campaigns"));
    assert_eq!(list["total"], 0);
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM campaign_versions")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(versions, 3);
}
both_backends!(a_branch_team_builds_the_food_street_campaign);

async fn bad_campaigns_name_the_field_and_store_nothing(db: &TestDb) {
    let app = demo_app(db).await;
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let team = bearer(&app, Role::Branch, Some("SB01"), false).await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"name": ""}), 400, "name"),
        (json!({"end": "2025-06-01"}), 400, "end"),
        (json!({"types": ["party"]}), 400, "types[0]"),
        (
            json!({"target": {"kind": "area", "area_id": "A02"}}),
            400,
            "target.area_id",
        ),
        (
            json!({"target": {"kind": "outlet", "outlet_id": "OUT01", "minutes": 20}}),
            400,
            "target.minutes",
        ),
        (json!({"owner_org_id": "SB02"}), 400, "owner_org_id"),
        (
            json!({"assumptions": {"conversion": 3}}),
            400,
            "assumptions.conversion",
        ),
        (
            json!({"calendar": [{"month": "2027-05"}]}),
            400,
            "calendar[0].month",
        ),
        (
            json!({"seed_communities": ["nowhere"]}),
            400,
            "seed_communities[0]",
        ),
        (json!({"colour": "red"}), 400, "colour"),
    ];
    for (patch, status, field) in cases {
        let mut body = food_street_campaign();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, e) = call!(
            svc,
            test::TestRequest::post()
                .uri("/api/campaigns")
                .insert_header(team.clone())
                .set_json(&body)
        );
        assert_eq!(
            (s, e["param"].as_str()),
            (status, Some(field)),
            "{patch}: {e}"
        );
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM campaign_versions")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Staff do not design campaigns.
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let (s, _) = call!(
        svc,
        test::TestRequest::post()
            .uri("/api/campaigns")
            .insert_header(staff)
            .set_json(food_street_campaign())
    );
    assert_eq!(s, 403);
}
both_backends!(bad_campaigns_name_the_field_and_store_nothing);

/// The other two kinds of target: a polygon drawn on an AMap (GCJ-02) base map lands on the
/// same merchants as the stored area it traces; an outlet's 10-minute circle holds exactly the
/// merchants and communities within its radius.
async fn drawn_and_outlet_targets_hold_the_right_places(db: &TestDb) {
    let app = demo_app(db).await;
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let admin = bearer(&app, Role::Admin, None, false).await;
    let preview = |body: Value, crs: &str| {
        test::TestRequest::post()
            .uri(&format!("/api/campaigns/preview?crs={crs}"))
            .insert_header(admin.clone())
            .set_json(body)
    };
    let (area, outlet, merchants, communities) = {
        let index = app.index();
        (
            index.areas.iter().find(|a| a.id == "A01").unwrap().clone(),
            index.outlets.get("OUT01").unwrap().clone(),
            index.merchants.table().to_vec().to_vec(),
            index.communities.items().to_vec(),
        )
    };
    let gcj: Vec<Vec<[f64; 2]>> = area
        .polygon
        .rings()
        .iter()
        .map(|r| {
            r.iter()
                .map(|p| {
                    let (x, y) =
                        ecomap::geo::crs::from_wgs84(ecomap::geo::crs::Crs::Gcj02, p[0], p[1]);
                    [x, y]
                })
                .collect()
        })
        .collect();
    let mut drawn = food_street_campaign();
    drawn["target"] = json!({"kind": "polygon", "coordinates": gcj});
    let (s, by_drawing) = call!(svc, preview(drawn, "gcj02"));
    assert_eq!(s, 200, "{by_drawing}");
    let (_, by_area) = call!(svc, preview(food_street_campaign(), "wgs84"));
    assert_eq!(
        by_drawing["b_side"]["merchants"],
        by_area["b_side"]["merchants"]
    );
    assert_eq!(
        by_drawing["c_side"]["households"],
        by_area["c_side"]["households"]
    );
    assert_eq!(by_drawing["target"]["kind"], "polygon");
    // The map comes back in the page's system: the outline's first vertex is the one drawn.
    let first = &by_drawing["map"]["features"][0]["geometry"]["coordinates"][0][0];
    assert!(
        (first[0].as_f64().unwrap() - gcj[0][0][0]).abs() < 1e-7,
        "{first}"
    );

    let mut circle = food_street_campaign();
    circle["target"] = json!({"kind": "outlet", "outlet_id": "OUT01", "minutes": 10});
    let (s, plan) = call!(svc, preview(circle, "wgs84"));
    assert_eq!(s, 200, "{plan}");
    let walk = app
        .coverage
        .circles
        .iter()
        .find(|c| c.minutes == 10)
        .unwrap();
    let radius = walk.radius_m(app.ranking.params.detour_factor);
    let n_merchants = merchants
        .iter()
        .filter(|m| m.location.distance_m(&outlet.location) <= radius)
        .count();
    let n_communities = communities
        .iter()
        .filter(|c| c.location.distance_m(&outlet.location) <= radius)
        .count();
    assert!(n_merchants > 0);
    assert_eq!(plan["b_side"]["merchants"], n_merchants);
    assert_eq!(
        plan["c_side"]["communities"].as_array().unwrap().len(),
        n_communities
    );
}
both_backends!(drawn_and_outlet_targets_hold_the_right_places);

fn is_signed_owned(m: &ecomap::domain::Merchant) -> bool {
    ecomap::coverage::is_signed(
        ecomap::index::MerchantTable::from_merchants(vec![m.clone()]).get(0),
    )
}
