//! The HTTP API on both backends, in-process (actix test service over the real app and store).

use std::sync::Arc;

use actix_web::dev::ServiceResponse;
use actix_web::{test, App as ActixApp};
use ecomap::app::{App, Limits};
use ecomap::auth::Role;
use ecomap::domain::{Categories, Location};
use serde_json::Value;

use crate::both_backends;
use crate::support::TestDb;

pub async fn demo_app(db: &TestDb) -> Arc<App> {
    let store = db.store().await;
    let app = App::start(store, Categories::builtin().unwrap(), Limits::default())
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

/// A bearer-token header for a new user with this role and org node.
pub async fn bearer(
    app: &App,
    role: Role,
    node: Option<&str>,
    can_unmask: bool,
) -> (String, String) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!(
        "t{}_{}",
        role.code(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    // A cheap stand-in hash: these users never log in with a password.
    let u = app
        .store
        .create_user(&name, &name, "x", role, node, can_unmask)
        .await
        .unwrap();
    let secret = ecomap::auth::new_secret("ecm_");
    app.store
        .create_token(&u.id, "test", &ecomap::auth::secret_hash(&secret))
        .await
        .unwrap();
    ("Authorization".to_string(), format!("Bearer {secret}"))
}

pub async fn body_json(resp: ServiceResponse) -> (u16, Value) {
    let status = resp.status().as_u16();
    let bytes = test::read_body(resp).await;
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, v)
}

async fn nearby_returns_exactly_the_merchants_within_radius_nearest_first(db: &TestDb) {
    {
        let app = demo_app(db).await;
        let svc = service!(app);
        let auth = bearer(&app, Role::Admin, None, true).await;
        // Brute force over what the database holds, independent of the index.
        let stored = app.store.load().await.unwrap();
        for outlet in stored.outlets.iter().take(4) {
            let mut want: Vec<(f64, String)> = stored
                .merchants
                .iter()
                .map(|m| (outlet.location.distance_m(&m.location), m.id.clone()))
                .filter(|(d, _)| *d <= 500.0)
                .collect();
            want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let req = test::TestRequest::get()
                .insert_header(auth.clone())
                .uri(&format!("/api/outlets/{}/nearby?radius_m=500", outlet.id))
                .to_request();
            let (status, body) = body_json(test::call_service(&svc, req).await).await;
            assert_eq!(status, 200, "{body}");
            let got: Vec<&str> = body["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["properties"]["id"].as_str().unwrap())
                .collect();
            let want_ids: Vec<&str> = want.iter().map(|(_, id)| id.as_str()).collect();
            assert!(
                !want_ids.is_empty(),
                "the demo has merchants near {}",
                outlet.id
            );
            assert_eq!(got, want_ids, "outlet {}", outlet.id);
            assert_eq!(body["total"], want.len());
            let dists: Vec<f64> = body["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["properties"]["distance_m"].as_f64().unwrap())
                .collect();
            assert!(dists.windows(2).all(|w| w[0] <= w[1]));
            assert!(dists.iter().all(|d| *d <= 500.0));
        }
    }
}
both_backends!(nearby_returns_exactly_the_merchants_within_radius_nearest_first);

async fn gbk_and_bom_csv_in_gcj02_are_stored_in_wgs84_and_served_back_in_gcj02(db: &TestDb) {
    {
        let store = db.store().await;
        let app = App::start(store, Categories::builtin().unwrap(), Limits::default())
            .await
            .unwrap();
        let svc = service!(app);
        let auth = bearer(&app, Role::Admin, None, true).await;
        // Known pairs from an independent implementation (wandergis/coordtransform README):
        // WGS-84 (116.404, 39.915) is GCJ-02 (116.41024449916938, 39.91640428150164).
        let gbk_csv = "编号,名称,类别,经度,纬度,地址\nK1,天安门东商户,餐饮美食,116.41024449916938,39.91640428150164,北京东城\n";
        let (gbk, _, bad) = encoding_rs::GBK.encode(gbk_csv);
        assert!(!bad);
        for (file, body) in [
            ("gbk", gbk.into_owned()),
            (
                "bom",
                [
                    b"\xEF\xBB\xBF".as_slice(),
                    gbk_csv.replace("K1", "K2").as_bytes(),
                ]
                .concat(),
            ),
        ] {
            let req = test::TestRequest::post()
                .insert_header(auth.clone())
                .uri("/api/import/merchants?crs=gcj02")
                .set_payload(body)
                .to_request();
            let (status, report) = body_json(test::call_service(&svc, req).await).await;
            assert_eq!(status, 200, "{file}: {report}");
            assert_eq!(report["inserted"], 1);
        }
        let stored = app.store.load().await.unwrap();
        for id in ["K1", "K2"] {
            let m = stored.merchants.iter().find(|m| m.id == id).unwrap();
            assert_eq!(m.name, "天安门东商户");
            assert_eq!(m.category, "dining");
            assert!(
                (m.location.lon() - 116.404).abs() < 1e-6,
                "{}",
                m.location.lon()
            );
            assert!(
                (m.location.lat() - 39.915).abs() < 1e-6,
                "{}",
                m.location.lat()
            );
            let req = test::TestRequest::get()
                .insert_header(auth.clone())
                .uri(&format!("/api/merchants/{id}?crs=gcj02"))
                .to_request();
            let (status, f) = body_json(test::call_service(&svc, req).await).await;
            assert_eq!(status, 200);
            let c = &f["geometry"]["coordinates"];
            assert!((c[0].as_f64().unwrap() - 116.41024449916938).abs() < 1e-6);
            assert!((c[1].as_f64().unwrap() - 39.91640428150164).abs() < 1e-6);
        }
    }
}
both_backends!(gbk_and_bom_csv_in_gcj02_are_stored_in_wgs84_and_served_back_in_gcj02);

async fn one_bad_row_among_thousands_writes_nothing_and_names_the_row(db: &TestDb) {
    {
        let app = demo_app(db).await;
        let svc = service!(app);
        let auth = bearer(&app, Role::Admin, None, true).await;
        let before = app.store.load().await.unwrap().merchants.len();
        let mut csv = String::from("id,name,category,lon,lat\n");
        for i in 0..3000 {
            let lat = if i == 1234 {
                "north".to_string()
            } else {
                format!("{:.6}", 29.56 + (i as f64) * 1e-6)
            };
            csv.push_str(&format!("X{i},商户{i},dining,103.76,{lat}\n"));
        }
        let req = test::TestRequest::post()
            .insert_header(auth.clone())
            .uri("/api/import/merchants?crs=wgs84")
            .set_payload(csv)
            .to_request();
        let (status, body) = body_json(test::call_service(&svc, req).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["code"], "import_rejected");
        let errors = body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{body}");
        // Row 1 is the header; X1234 is on row 1236.
        assert_eq!(errors[0]["row"], 1236);
        assert_eq!(errors[0]["field"], "lat");
        assert_eq!(app.store.load().await.unwrap().merchants.len(), before);
        assert_eq!(app.index().merchants.len(), before);
    }
}
both_backends!(one_bad_row_among_thousands_writes_nothing_and_names_the_row);

async fn reimport_updates_and_the_index_follows_across_restarts(db: &TestDb) {
    {
        let app = demo_app(db).await;
        let svc = service!(app);
        let auth = bearer(&app, Role::Admin, None, true).await;
        let outlet = app
            .index()
            .outlets
            .items()
            .iter()
            .find(|o| o.is_ours())
            .unwrap()
            .clone();
        // Put a new merchant 100 m north of the outlet, then move it 2 km away.
        let north = Location::new(
            outlet.location.lon(),
            outlet.location.lat() + 100.0 / 111_195.0,
        )
        .unwrap();
        let far = Location::new(
            outlet.location.lon(),
            outlet.location.lat() + 2000.0 / 111_195.0,
        )
        .unwrap();
        for (loc, expect_near) in [(north, true), (far, false)] {
            let csv = format!(
                "id,name,category,lon,lat\nNEW1,新商户,dining,{},{}\n",
                loc.lon(),
                loc.lat()
            );
            let req = test::TestRequest::post()
                .insert_header(auth.clone())
                .uri("/api/import/merchants?crs=wgs84")
                .set_payload(csv)
                .to_request();
            assert_eq!(test::call_service(&svc, req).await.status(), 200);
            let req = test::TestRequest::get()
                .insert_header(auth.clone())
                .uri(&format!("/api/outlets/{}/nearby?radius_m=500", outlet.id))
                .to_request();
            let (_, body) = body_json(test::call_service(&svc, req).await).await;
            let found = body["features"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"] == "NEW1");
            assert_eq!(found, expect_near);
        }
        let count = app.index().merchants.len();
        // A restart builds the index from the database: same merchants, the moved one far away.
        let again = App::start(
            db.store().await,
            Categories::builtin().unwrap(),
            Limits::default(),
        )
        .await
        .unwrap();
        assert_eq!(again.index().merchants.len(), count);
        let m = again.index().merchants.get("NEW1").unwrap().to_merchant();
        assert!((m.location.distance_m(&outlet.location) - 2000.0).abs() < 1.0);
        let near = again
            .index()
            .merchants
            .within_radius(outlet.location, 500.0);
        assert!(near
            .iter()
            .all(|h| again.index().merchants.item(h.slot).id() != "NEW1"));
    }
}
both_backends!(reimport_updates_and_the_index_follows_across_restarts);

async fn bad_parameters_get_400_with_code_and_message(db: &TestDb) {
    {
        let app = demo_app(db).await;
        let svc = service!(app);
        let auth = bearer(&app, Role::Admin, None, true).await;
        let outlet = app.index().outlets.items()[0].id.clone();
        for (uri, param) in [
            ("/api/merchants?limit=abc".to_string(), "limit"),
            ("/api/merchants?limit=100000".to_string(), "limit"),
            ("/api/merchants?bbox=1,2,3".to_string(), "bbox"),
            ("/api/merchants?bbox=73,18,135,53".to_string(), "bbox"),
            ("/api/merchants?category=spaceships".to_string(), "category"),
            ("/api/merchants?crs=utm".to_string(), "crs"),
            ("/api/merchants?colour=red".to_string(), "colour"),
            (
                format!("/api/outlets/{outlet}/nearby?radius_m=-5"),
                "radius_m",
            ),
            (
                format!("/api/outlets/{outlet}/nearby?radius_m=999999"),
                "radius_m",
            ),
        ] {
            let req = test::TestRequest::get()
                .insert_header(auth.clone())
                .uri(&uri)
                .to_request();
            let (status, body) = body_json(test::call_service(&svc, req).await).await;
            assert_eq!(status, 400, "{uri}: {body}");
            assert_eq!(body["code"], "bad_parameter", "{uri}");
            assert_eq!(body["param"], param, "{uri}");
            assert!(body["message"].as_str().unwrap().starts_with(param));
        }
        let req = test::TestRequest::get()
            .insert_header(auth.clone())
            .uri("/api/outlets/NOPE")
            .to_request();
        let (status, body) = body_json(test::call_service(&svc, req).await).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (404, "not_found"));
        let req = test::TestRequest::post()
            .insert_header(auth.clone())
            .uri("/api/import/merchants")
            .set_payload("id")
            .to_request();
        let (status, body) = body_json(test::call_service(&svc, req).await).await;
        assert_eq!((status, body["param"].as_str().unwrap()), (400, "crs"));
    }
}
both_backends!(bad_parameters_get_400_with_code_and_message);

async fn bbox_category_and_status_filters_and_pages_agree_with_brute_force(db: &TestDb) {
    {
        let app = demo_app(db).await;
        let svc = service!(app);
        let auth = bearer(&app, Role::Admin, None, true).await;
        let stored = app.store.load().await.unwrap();
        let (min_lon, min_lat, max_lon, max_lat) = (103.755, 29.563, 103.768, 29.575);
        let mut want: Vec<&str> = stored
            .merchants
            .iter()
            .filter(|m| m.category == "dining")
            .filter(|m| {
                let (x, y) = (m.location.lon(), m.location.lat());
                x >= min_lon && x <= max_lon && y >= min_lat && y <= max_lat
            })
            .map(|m| m.id.as_str())
            .collect();
        want.sort();
        assert!(want.len() > 20, "the demo is dense here");
        let mut got = Vec::new();
        let mut offset = 0;
        loop {
            let uri = format!("/api/merchants?bbox={min_lon},{min_lat},{max_lon},{max_lat}&category=%E9%A4%90%E9%A5%AE%E7%BE%8E%E9%A3%9F&limit=7&offset={offset}");
            let req = test::TestRequest::get()
                .insert_header(auth.clone())
                .uri(&uri)
                .to_request();
            let (status, body) = body_json(test::call_service(&svc, req).await).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["total"], want.len());
            let page: Vec<String> = body["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_string())
                .collect();
            if page.is_empty() {
                break;
            }
            got.extend(page);
            offset += 7;
        }
        got.sort();
        assert_eq!(got, want);
        let req = test::TestRequest::get()
            .insert_header(auth.clone())
            .uri("/api/merchants?status=signed,active&limit=2000")
            .to_request();
        let (_, body) = body_json(test::call_service(&svc, req).await).await;
        let n = stored
            .merchants
            .iter()
            .filter(|m| matches!(m.status.code(), "signed" | "active"))
            .count();
        assert_eq!(body["total"], n);
        assert!(body["features"].as_array().unwrap().iter().all(|f| {
            let s = f["properties"]["status"].as_str().unwrap();
            s == "signed" || s == "active"
        }));
    }
}
both_backends!(bbox_category_and_status_filters_and_pages_agree_with_brute_force);

async fn areas_list_the_food_street_and_its_merchants(db: &TestDb) {
    {
        let app = demo_app(db).await;
        let svc = service!(app);
        let auth = bearer(&app, Role::Admin, None, true).await;
        let req = test::TestRequest::get()
            .insert_header(auth.clone())
            .uri("/api/areas")
            .to_request();
        let (_, body) = body_json(test::call_service(&svc, req).await).await;
        let street = body["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["properties"]["kind"] == "food_street")
            .expect("a food street")
            .clone();
        assert!(street["properties"]["name"]
            .as_str()
            .unwrap()
            .contains("张公桥"));
        assert_eq!(street["geometry"]["type"], "Polygon");
        let id = street["id"].as_str().unwrap();
        let area = app.index().area(id).unwrap().clone();
        let want = app
            .index()
            .merchants
            .table()
            .to_vec()
            .iter()
            .filter(|m| area.polygon.contains(&m.location))
            .count();
        let req = test::TestRequest::get()
            .insert_header(auth.clone())
            .uri(&format!("/api/areas/{id}/merchants"))
            .to_request();
        let (status, body) = body_json(test::call_service(&svc, req).await).await;
        assert_eq!(status, 200);
        assert_eq!(body["total"], want);
        assert!(want >= 150, "the food street is dense: {want}");
        let req = test::TestRequest::get()
            .insert_header(auth.clone())
            .uri("/api/communities?limit=2000")
            .to_request();
        let (_, body) = body_json(test::call_service(&svc, req).await).await;
        assert!(body["total"].as_u64().unwrap() >= 60);
        assert!(
            body["features"][0]["properties"]["households"]
                .as_u64()
                .unwrap()
                > 0
        );
    }
}
both_backends!(areas_list_the_food_street_and_its_merchants);

async fn every_path_in_the_openapi_spec_answers(db: &TestDb) {
    {
        let app = demo_app(db).await;
        let svc = service!(app);
        let auth = bearer(&app, Role::Admin, None, true).await;
        let spec: Value = serde_json::from_str(ecomap::http::OPENAPI).unwrap();
        let outlet = app.index().outlets.items()[0].id.clone();
        let merchant = app.index().merchants.table().to_vec()[0].id.clone();
        let community = app.index().communities.items()[0].id.clone();
        let area = app.index().areas[0].id.clone();
        let req = test::TestRequest::post()
            .insert_header(auth.clone())
            .uri("/api/campaigns")
            .set_json(
                serde_json::json!({"name": "spec check", "start": "2026-01-01",
                "end": "2026-06-30", "types": ["habit"],
                "target": {"kind": "area", "area_id": area}}),
            )
            .to_request();
        let (s, created) = body_json(test::call_service(&svc, req).await).await;
        assert_eq!(s, 201, "{created}");
        let campaign = created["id"].as_str().unwrap().to_string();
        for (path, ops) in spec["paths"].as_object().unwrap() {
            let uri = path
                .replace("/outlets/{id}", &format!("/outlets/{outlet}"))
                .replace("/merchants/{id}", &format!("/merchants/{merchant}"))
                .replace("/communities/{id}", &format!("/communities/{community}"))
                .replace("/areas/{id}", &format!("/areas/{area}"))
                .replace("/campaigns/{id}", &format!("/campaigns/{campaign}"))
                .replace("{kind}", "areas")
                .replace("{layer}", "merchants")
                .replace("{z}/{x}/{y}", "14/12914/6782")
                // The grid needs a place: an outlet's circle.
                .replace(
                    "/api/coverage/grid",
                    &format!("/api/coverage/grid?outlet={outlet}"),
                );
            for method in ops.as_object().unwrap().keys() {
                let status = match (method.as_str(), path.as_str()) {
                    ("get", _) => {
                        let req = test::TestRequest::get()
                            .insert_header(auth.clone())
                            .uri(&uri)
                            .to_request();
                        test::call_service(&svc, req).await.status().as_u16()
                    }
                    ("post", "/api/import/{kind}") => {
                        let req = test::TestRequest::post()
                            .insert_header(auth.clone())
                            .uri(&format!("{uri}?crs=wgs84"))
                            .set_payload(r#"{"type":"FeatureCollection","features":[]}"#)
                            .to_request();
                        test::call_service(&svc, req).await.status().as_u16()
                    }
                    // Other writes are exercised in the accounts tests: here, the route exists.
                    (m, _) => {
                        let req = test::TestRequest::default()
                            .method(m.to_uppercase().parse().unwrap())
                            .insert_header(auth.clone())
                            .uri(&uri.replace("{username}", "nobody"))
                            .set_json(serde_json::json!({}))
                            .to_request();
                        let s = test::call_service(&svc, req).await.status().as_u16();
                        assert!(
                            (uri.contains("{username}") || s != 404) && s != 405,
                            "{m} {uri}: {s}"
                        );
                        200
                    }
                };
                assert!(status == 200 || status == 422, "{method} {uri}: {status}");
            }
        }
        let req = test::TestRequest::get()
            .insert_header(auth.clone())
            .uri("/api/nothing-here")
            .to_request();
        let (status, body) = body_json(test::call_service(&svc, req).await).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (404, "not_found"));
    }
}
both_backends!(every_path_in_the_openapi_spec_answers);

/// `ecomap serve` serves the map app at `/` and MapLibre from npm (web/node_modules, installed
/// by the README's commands), next to the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_app_and_maplibre_are_served_next_to_the_api() {
    let db = TestDb::sqlite().await;
    let app = App::start(
        db.store().await,
        Categories::builtin().unwrap(),
        Limits::default(),
    )
    .await
    .unwrap();
    let web = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web");
    assert!(
        web.join("node_modules/maplibre-gl/dist/maplibre-gl.js")
            .is_file(),
        "run `npm ci --prefix web` (the README's commands do)"
    );
    let svc = test::init_service(ActixApp::new().configure(move |cfg| {
        ecomap::http::configure(cfg, app, Some(ecomap::http::WebApp::new(web)))
    }))
    .await;
    let resp = test::call_service(&svc, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(resp.status(), 200);
    let html = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(html.contains("lang=\"zh-CN\""));
    assert!(html.contains("生态圈地图"));
    for asset in [
        "/app.js",
        "/style.css",
        "/vendor/maplibre-gl/maplibre-gl.js",
        "/vendor/maplibre-gl/maplibre-gl.css",
    ] {
        let resp = test::call_service(&svc, test::TestRequest::get().uri(asset).to_request()).await;
        assert_eq!(resp.status(), 200, "{asset}");
    }
    let resp = test::call_service(
        &svc,
        test::TestRequest::get().uri("/api/health").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    db.cleanup().await;
}

/// An upload over the size limit is refused with JSON 413 and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_upload_gets_413_and_writes_nothing() {
    let db = TestDb::sqlite().await;
    let limits = Limits {
        max_import_bytes: 1_000,
        ..Limits::default()
    };
    let app = App::start(db.store().await, Categories::builtin().unwrap(), limits)
        .await
        .unwrap();
    let svc = service!(app);
    let auth = bearer(&app, Role::Admin, None, true).await;
    let mut csv = String::from("id,name,category,lon,lat\n");
    for i in 0..100 {
        csv.push_str(&format!("B{i},商户{i},dining,103.76,29.57\n"));
    }
    let req = test::TestRequest::post()
        .insert_header(auth.clone())
        .uri("/api/import/merchants?crs=wgs84")
        .set_payload(csv)
        .to_request();
    let (status, body) = body_json(test::call_service(&svc, req).await).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (413, "payload_too_large")
    );
    assert!(app.store.load().await.unwrap().merchants.is_empty());
    db.cleanup().await;
}

async fn search_by_name_finds_merchants_and_outlets(db: &TestDb) {
    let app = demo_app(db).await;
    let svc = service!(app);
    let auth = bearer(&app, Role::Admin, None, true).await;
    let (merchant, outlet) = {
        let index = app.index();
        (
            index.merchants.table().to_vec()[7].clone(),
            index.outlets.items()[0].clone(),
        )
    };
    // Search by a two-character piece of the Chinese name.
    let piece: String = merchant.name.chars().take(2).collect();
    let want = app
        .index()
        .merchants
        .table()
        .to_vec()
        .iter()
        .filter(|m| m.name.contains(&piece))
        .count();
    let uri = format!(
        "/api/merchants?limit=2000&q={}",
        url::form_urlencoded::byte_serialize(piece.as_bytes()).collect::<String>()
    );
    let (status, body) = body_json(
        test::call_service(
            &svc,
            test::TestRequest::get()
                .insert_header(auth.clone())
                .uri(&uri)
                .to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], want);
    assert!(body["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == merchant.id.as_str()));
    let uri = format!(
        "/api/outlets?q={}",
        url::form_urlencoded::byte_serialize(outlet.name.as_bytes()).collect::<String>()
    );
    let (_, body) = body_json(
        test::call_service(
            &svc,
            test::TestRequest::get()
                .insert_header(auth.clone())
                .uri(&uri)
                .to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(body["features"][0]["id"], outlet.id.as_str());
}
both_backends!(search_by_name_finds_merchants_and_outlets);
