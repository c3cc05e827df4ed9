//! Vector tiles over HTTP: signed in and scoped, revalidated by ETag until the data changes, and
//! readable by an independent decoder (GDAL's MVT driver, `ogr2ogr`) with the same features as
//! the tile's GeoJSON.

use std::collections::HashSet;

use actix_web::{test, App as ActixApp};
use ecomap::app::App;
use ecomap::auth::Role;
use ecomap::tiles::{mercator, TileId};
use serde_json::Value;

use crate::api::{bearer, body_json, demo_app};
use crate::both_backends;
use crate::support::TestDb;

fn tile_at(z: u8, lon: f64, lat: f64) -> TileId {
    let [x, y] = mercator(lon, lat);
    let n = f64::from(1u32 << z);
    TileId::new(z, (x * n) as u32, (y * n) as u32, 22).unwrap()
}

/// The tile at zoom `z` over the food-street outlet OUT01.
fn demo_tile(app: &App, z: u8) -> TileId {
    let o = app.index().outlets.get("OUT01").unwrap().location;
    tile_at(z, o.lon(), o.lat())
}

fn url(layer: &str, t: TileId, ext: &str) -> String {
    format!("/tiles/{layer}/{}/{}/{}.{ext}", t.z, t.x, t.y)
}

/// Merchants whose position falls in the tile, from the index, kept by `keep`.
fn merchants_in(
    app: &App,
    t: TileId,
    keep: impl Fn(&ecomap::domain::Merchant) -> bool,
) -> HashSet<String> {
    app.index()
        .merchants
        .table()
        .to_vec()
        .iter()
        .filter(|m| keep(m))
        .filter(|m| {
            let [x, y] = t.to_tile(mercator(m.location.lon(), m.location.lat()));
            (0.0..4096.0).contains(&x) && (0.0..4096.0).contains(&y)
        })
        .map(|m| m.id.clone())
        .collect()
}

fn ids(geojson: &Value) -> HashSet<String> {
    geojson["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn tiles_need_a_signed_in_caller_and_show_only_their_scope(db: &TestDb) {
    let app = demo_app(db).await;
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let t = demo_tile(&app, 15);
    let anon = test::call_service(
        &svc,
        test::TestRequest::get()
            .uri(&url("merchants", t, "mvt"))
            .to_request(),
    )
    .await;
    assert_eq!(anon.status(), 401);

    let admin = bearer(&app, Role::Admin, None, false).await;
    let branch = bearer(&app, Role::Branch, Some("SB01"), false).await;
    let get = |u: String, auth: &(String, String)| {
        test::TestRequest::get()
            .uri(&u)
            .insert_header(auth.clone())
            .to_request()
    };
    let (status, all) =
        body_json(test::call_service(&svc, get(url("merchants", t, "geojson"), &admin)).await)
            .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&all), merchants_in(&app, t, |_| true));
    assert!(ids(&all).len() > 20);

    let (_, mine) =
        body_json(test::call_service(&svc, get(url("merchants", t, "geojson"), &branch)).await)
            .await;
    let sb01 = app.scope_of(
        &app.store
            .user_for_login(&branch_name(&app, "SB01").await)
            .await
            .unwrap()
            .unwrap()
            .0,
    );
    let expected = merchants_in(&app, t, |m| sb01.contains(m.owner_org_id.as_deref()));
    assert_eq!(ids(&mine), expected);
    assert!(
        expected.len() < ids(&all).len(),
        "SB01 sees fewer merchants than the head office"
    );

    // The MVT answer is a tile, typed as one; the two scopes get different ETags.
    let r1 = test::call_service(&svc, get(url("merchants", t, "mvt"), &admin)).await;
    assert_eq!(r1.status(), 200);
    assert_eq!(
        r1.headers().get("content-type").unwrap(),
        "application/vnd.mapbox-vector-tile"
    );
    let e1 = r1
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let r2 = test::call_service(&svc, get(url("merchants", t, "mvt"), &branch)).await;
    assert_ne!(r2.headers().get("etag").unwrap().to_str().unwrap(), e1);

    // Bad addresses say what is wrong.
    for (u, code, field) in [
        ("/tiles/merchants/3/9/0.mvt", 400, "z"),
        ("/tiles/merchants/23/0/0.mvt", 400, "z"),
        ("/tiles/merchants/14/1/x.mvt", 400, "y"),
        ("/tiles/merchants/14/1/1.png", 400, "format"),
        ("/tiles/shops/14/1/1.mvt", 404, ""),
        ("/tiles/merchants/14/1/1.mvt?bbox=1", 400, "bbox"),
    ] {
        let (s, body) = body_json(test::call_service(&svc, get(u.into(), &admin)).await).await;
        assert_eq!(s, code, "{u}: {body}");
        if !field.is_empty() {
            assert_eq!(
                body["param"].as_str().or(body["field"].as_str()),
                Some(field),
                "{u}: {body}"
            );
        }
    }

    // TileJSON points MapLibre at the tiles.
    let (s, tj) =
        body_json(test::call_service(&svc, get("/tiles/coverage.json".into(), &admin)).await).await;
    assert_eq!(s, 200);
    assert!(tj["tiles"][0]
        .as_str()
        .unwrap()
        .ends_with("/tiles/coverage/{z}/{x}/{y}.mvt"));
    assert_eq!(tj["vector_layers"][0]["id"], "coverage");
    assert_eq!(tj["minzoom"], 10);
}
both_backends!(tiles_need_a_signed_in_caller_and_show_only_their_scope);

/// The username of a new branch user at `node` (created for the scope lookup).
async fn branch_name(app: &App, node: &str) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!(
        "scope{}",
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    app.store
        .create_user(&name, &name, "x", Role::Branch, Some(node), false)
        .await
        .unwrap();
    name
}

async fn an_unchanged_tile_answers_304_until_an_import_changes_it(db: &TestDb) {
    let app = demo_app(db).await;
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let admin = bearer(&app, Role::Admin, None, false).await;
    let t = demo_tile(&app, 16);
    let get = |etag: Option<&str>| {
        let mut r = test::TestRequest::get()
            .uri(&url("merchants", t, "geojson"))
            .insert_header(admin.clone());
        if let Some(e) = etag {
            r = r.insert_header(("If-None-Match", e.to_string()));
        }
        r.to_request()
    };
    let first = test::call_service(&svc, get(None)).await;
    assert_eq!(first.status(), 200);
    assert!(first
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("private"));
    let etag = first
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let again = test::call_service(&svc, get(Some(&etag))).await;
    assert_eq!(again.status(), 304);
    assert!(test::read_body(again).await.is_empty());

    // A new merchant in the middle of the tile.
    let [w, s, e, n] = t.bounds();
    let csv = format!(
        "id,name,category,lon,lat,owner_org_id\nTILE1,瓦片测试店,dining,{},{},SB01\n",
        (w + e) / 2.0,
        (s + n) / 2.0
    );
    let resp = test::call_service(
        &svc,
        test::TestRequest::post()
            .uri("/api/import/merchants?crs=wgs84")
            .insert_header(admin.clone())
            .set_payload(csv)
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let changed = test::call_service(&svc, get(Some(&etag))).await;
    assert_eq!(changed.status(), 200, "the import made the old ETag stale");
    assert_ne!(
        changed.headers().get("etag").unwrap().to_str().unwrap(),
        etag
    );
    let (_, body) = body_json(changed).await;
    assert!(ids(&body).contains("TILE1"));
}
both_backends!(an_unchanged_tile_answers_304_until_an_import_changes_it);

/// GDAL's MVT driver reads `bytes` as tile `t` and returns its features in WGS-84.
fn gdal_read(bytes: &[u8], t: TileId) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tile.mvt");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("ogr2ogr")
        .args(["-f", "GeoJSON", "/vsistdout/"])
        .arg(&path)
        .args([
            "-oo",
            &format!("X={}", t.x),
            "-oo",
            &format!("Y={}", t.y),
            "-oo",
            &format!("Z={}", t.z),
        ])
        .args(["-oo", "CLIP=NO"]) // ecomap leaves polygons unclipped; so must the reader
        .args(["-t_srs", "EPSG:4326", "-lco", "RFC7946=YES"])
        .output()
        .expect("ogr2ogr (GDAL, Debian package gdal-bin) must be installed: .ci/run installs it");
    assert!(
        out.status.success(),
        "ogr2ogr failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// First coordinate of a feature's geometry.
fn first_point(geometry: &Value) -> [f64; 2] {
    let mut c = &geometry["coordinates"];
    while c[0].is_array() {
        c = &c[0];
    }
    [c[0].as_f64().unwrap(), c[1].as_f64().unwrap()]
}

/// Every vertex of a geometry, without the closing repeat of each ring.
fn vertices(geometry: &Value) -> Vec<[f64; 2]> {
    fn walk(c: &Value, out: &mut Vec<[f64; 2]>) {
        if c[0].is_array() {
            let items = c.as_array().unwrap();
            let ring = items.len() > 3 && items.first() == items.last() && !items[0][0].is_array();
            let n = if ring { items.len() - 1 } else { items.len() };
            items[..n].iter().for_each(|i| walk(i, out));
        } else {
            out.push([c[0].as_f64().unwrap(), c[1].as_f64().unwrap()]);
        }
    }
    let mut out = Vec::new();
    walk(&geometry["coordinates"], &mut out);
    out
}

async fn gdal_decodes_every_layer_to_the_same_features_as_the_geojson(db: &TestDb) {
    let app = demo_app(db).await;
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let admin = bearer(&app, Role::Admin, None, false).await;
    for (layer, z, key) in [
        ("merchants", 15, "id"),
        ("merchants", 11, "count"),
        ("outlets", 13, "id"),
        ("communities", 14, "id"),
        ("areas", 15, "id"),
        ("coverage", 14, "cell"),
    ] {
        let t = demo_tile(&app, z);
        let get = |ext: &str| {
            test::TestRequest::get()
                .uri(&url(layer, t, ext))
                .insert_header(admin.clone())
                .to_request()
        };
        let mvt = test::read_body(test::call_service(&svc, get("mvt")).await).await;
        let (_, ours) = body_json(test::call_service(&svc, get("geojson")).await).await;
        let gdal = gdal_read(&mvt, t);
        let ours = ours["features"].as_array().unwrap();
        let theirs = gdal["features"].as_array().unwrap();
        assert!(!ours.is_empty(), "{layer} z{z}: the demo has features here");
        assert_eq!(theirs.len(), ours.len(), "{layer} z{z}");
        // Pair each of our features with GDAL's: by a key property, or for clusters by the
        // nearest position; then every property and the first vertex must agree (GDAL works
        // in EPSG:3857 metres and back; a tile unit is at most 10 m here).
        for fa in ours {
            let [x1, y1] = first_point(&fa["geometry"]);
            let fb = if key == "count" {
                theirs
                    .iter()
                    .min_by(|p, q| {
                        let d = |f: &Value| {
                            let [x, y] = first_point(&f["geometry"]);
                            (x - x1).powi(2) + (y - y1).powi(2)
                        };
                        d(p).total_cmp(&d(q))
                    })
                    .unwrap()
            } else {
                let k = &fa["properties"][key];
                theirs
                    .iter()
                    .find(|f| &f["properties"][key] == k)
                    .unwrap_or_else(|| panic!("{layer} z{z}: GDAL lacks {k}"))
            };
            for (prop, v) in fa["properties"].as_object().unwrap() {
                let w = &fb["properties"][prop];
                match (v.as_f64(), w.as_f64()) {
                    (Some(x), Some(y)) => {
                        assert!((x - y).abs() < 1e-9, "{layer} {prop}: {v} vs {w}")
                    }
                    _ => assert_eq!(v, w, "{layer} {prop}"),
                }
            }
            assert_eq!(fa["geometry"]["type"], fb["geometry"]["type"], "{layer}");
            // Same vertices (rings may start elsewhere: MVT fixes the winding).
            let (va, vb) = (vertices(&fa["geometry"]), vertices(&fb["geometry"]));
            assert_eq!(va.len(), vb.len(), "{layer} {x1},{y1}");
            for [x, y] in &va {
                assert!(
                    vb.iter()
                        .any(|[u, v]| (x - u).abs() < 1e-4 && (y - v).abs() < 1e-4),
                    "{layer}: vertex {x},{y} missing in GDAL's feature"
                );
            }
        }
    }
}
both_backends!(gdal_decodes_every_layer_to_the_same_features_as_the_geojson);
