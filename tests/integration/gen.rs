//! `ecomap gen` straight into the database: the presets' data (scaled down), streamed through
//! the bulk writer, is what the normal write path would store, the server starts on it and
//! sees it, and the same preset and seed give the same data on every run and backend.

use std::collections::HashSet;
use std::process::Command;

use ecomap::app::{App, Limits};
use ecomap::domain::{AreaKind, Categories, Dataset};
use ecomap::gen::write::write_plan;
use ecomap::gen::{try_generate, GenConfig, Plan, Preset};
use ecomap::storage::bulk::BulkWriter;
use ecomap::storage::Store;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::both_backends;
use crate::support::TestDb;

/// China's bounding box (mainland and Hainan), WGS-84.
const CHINA_LON: std::ops::Range<f64> = 73.4..135.1;
const CHINA_LAT: std::ops::Range<f64> = 18.1..53.6;

fn national(scale: f64, seed: u64) -> Plan {
    Plan::preset(
        Preset::National,
        Preset::National.sizes().scaled(scale),
        seed,
    )
    .unwrap()
}

/// Another fresh database of the same backend as `db`.
async fn sibling(db: &TestDb) -> TestDb {
    if db.url.starts_with("postgres") {
        TestDb::postgres().await
    } else {
        TestDb::sqlite().await
    }
}

/// Everything stored, as the server reads it, in a canonical order (PostgreSQL's collation may
/// sort ids differently from SQLite's bytes), hashed.
fn fingerprint(ds: &Dataset) -> String {
    let mut lines: Vec<String> = ds
        .merchants
        .iter()
        .map(|m| format!("{m:?} {:?}", m.contact))
        .chain(ds.outlets.iter().map(|o| format!("{o:?}")))
        .chain(ds.communities.iter().map(|c| format!("{c:?}")))
        .chain(ds.areas.iter().map(|a| format!("{a:?}")))
        .chain(ds.org_units.iter().map(|u| format!("{u:?}")))
        .collect();
    lines.sort();
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    format!("{:x}", h.finalize())
}

/// A tenth of a per cent of the national preset, written and served: counts, ids, positions and
/// food streets as the server sees them.
async fn a_scaled_national_preset_is_written_and_served(db: &TestDb) {
    let plan = national(0.002, 42);
    let totals = plan.totals();
    assert_eq!(totals.merchants, 60_000);
    let mut calls = 0;
    let written = write_plan(&db.url, plan, |p| {
        calls += 1;
        assert!(p.rows <= p.total_rows);
    })
    .await
    .unwrap();
    assert!(calls > 142);
    assert_eq!(written.merchants, 60_000);
    assert_eq!(written.communities, 1_200);
    assert_eq!(written.outlets, 40);

    let app = App::start(
        db.store().await,
        Categories::builtin().unwrap(),
        Limits::default(),
    )
    .await
    .unwrap();
    let index = app.index();
    assert_eq!(index.merchants.len(), 60_000);
    assert_eq!(index.communities.len(), 1_200);
    assert_eq!(index.outlets.len(), 40);
    assert_eq!(
        index.outlets.items().iter().filter(|o| o.is_ours()).count(),
        24
    );
    assert_eq!(index.org_units.len() as u64, written.org_units);
    ecomap::domain::check_tree(&index.org_units).unwrap();

    let mut ids = HashSet::new();
    let all = index.merchants.table().to_vec();
    for m in &all {
        assert!(ids.insert(m.id.as_str()), "duplicate {}", m.id);
        assert!(
            CHINA_LON.contains(&m.location.lon()) && CHINA_LAT.contains(&m.location.lat()),
            "{} at {:?}",
            m.id,
            m.location
        );
    }
    // 142 cities; every city of 300 merchants or more has a food street: 100+ merchants inside
    // its 40 m buffer (so within 500 m of its line), most of them food.
    let cities: HashSet<&str> = all.iter().filter_map(|m| m.id.split('-').next()).collect();
    assert_eq!(cities.len(), 142);
    let streets: Vec<_> = index
        .areas
        .iter()
        .filter(|a| a.kind == AreaKind::FoodStreet)
        .collect();
    assert!(streets.len() >= 40, "{} food streets", streets.len());
    for s in streets {
        let mid = s.polygon.representative_point();
        let hits = index.merchants.within_radius(mid, 500.0);
        let inside: Vec<_> = hits
            .iter()
            .map(|h| index.merchants.item(h.slot))
            .filter(|m| s.polygon.contains(&m.location()))
            .collect();
        let food = inside
            .iter()
            .filter(|m| m.category() == "dining" || m.category() == "tea_coffee")
            .count();
        assert!(inside.len() >= 100, "{} {}: {}", s.id, s.name, inside.len());
        assert!(
            food * 2 >= inside.len(),
            "{}: {food} of {}",
            s.id,
            inside.len()
        );
    }
}
both_backends!(a_scaled_national_preset_is_written_and_served);

/// The same preset and seed write the same data: twice into SQLite, once into PostgreSQL, and
/// again over what is there (the upsert path: nothing doubles, nothing changes). Another seed
/// writes other data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_data_is_the_same_on_every_run_and_backend() {
    let a = TestDb::sqlite().await;
    let b = TestDb::sqlite().await;
    let pg = TestDb::postgres().await;
    for db in [&a, &b, &pg] {
        write_plan(&db.url, national(0.0005, 42), |_| {})
            .await
            .unwrap();
    }
    let load = |db: &TestDb| {
        let url = db.url.clone();
        async move { Store::connect(&url).await.unwrap().load().await.unwrap() }
    };
    let first = load(&a).await;
    assert_eq!(first.merchants.len(), 15_000);
    let hash = fingerprint(&first);
    assert_eq!(fingerprint(&load(&b).await), hash, "a second SQLite run");
    assert_eq!(fingerprint(&load(&pg).await), hash, "PostgreSQL");

    for db in [&a, &pg] {
        let w = write_plan(&db.url, national(0.0005, 42), |_| {})
            .await
            .unwrap();
        assert_eq!(w.merchants, 15_000);
        let again = load(db).await;
        assert_eq!(again.merchants.len(), 15_000, "{}", db.url);
        assert_eq!(fingerprint(&again), hash, "rewritten: {}", db.url);
    }

    let c = TestDb::sqlite().await;
    write_plan(&c.url, national(0.0005, 43), |_| {})
        .await
        .unwrap();
    assert_ne!(fingerprint(&load(&c).await), hash);
    pg.cleanup().await;
}

/// Every stored column of a table except `updated_at`, row by row in id order, as text.
async fn raw_rows(store: &Store, table: &str, columns: &[(&str, char)]) -> Vec<String> {
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let sql = format!("SELECT {} FROM {table}", names.join(", "));
    let rows = sqlx::query(&sql).fetch_all(store.pool()).await.unwrap();
    let mut out: Vec<String> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|&(name, kind)| match kind {
                    'i' => format!("{:?}", r.try_get::<Option<i64>, _>(name).unwrap()),
                    'r' => format!("{:?}", r.try_get::<Option<f64>, _>(name).unwrap()),
                    _ => format!("{:?}", r.try_get::<Option<String>, _>(name).unwrap()),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    out.sort();
    out
}

const TABLES: &[(&str, &[(&str, char)])] = &[
    (
        "org_units",
        &[
            ("id", 't'),
            ("name", 't'),
            ("level", 't'),
            ("parent_id", 't'),
        ],
    ),
    (
        "outlets",
        &[
            ("id", 't'),
            ("name", 't'),
            ("competitor_bank", 't'),
            ("kind", 't'),
            ("parent_org_id", 't'),
            ("address", 't'),
            ("lon", 'r'),
            ("lat", 'r'),
        ],
    ),
    (
        "merchants",
        &[
            ("id", 't'),
            ("name", 't'),
            ("category", 't'),
            ("lon", 'r'),
            ("lat", 'r'),
            ("address", 't'),
            ("footfall_daily", 'i'),
            ("avg_spend_cny", 'r'),
            ("rating", 'r'),
            ("opening_hours", 't'),
            ("accepts_ecny", 'i'),
            ("competitor_signed", 't'),
            ("chain", 't'),
            ("status", 't'),
            ("status_since", 't'),
            ("owner_org_id", 't'),
            ("contact_name", 't'),
            ("contact_phone", 't'),
        ],
    ),
    (
        "communities",
        &[
            ("id", 't'),
            ("name", 't'),
            ("lon", 'r'),
            ("lat", 'r'),
            ("polygon", 't'),
            ("address", 't'),
            ("households", 'i'),
            ("population", 'i'),
            ("avg_house_price_cny_m2", 'r'),
            ("bank_customers", 'i'),
            ("owner_org_id", 't'),
        ],
    ),
    (
        "areas",
        &[
            ("id", 't'),
            ("name", 't'),
            ("kind", 't'),
            ("polygon", 't'),
            ("owner_org_id", 't'),
        ],
    ),
];

/// The bulk writer stores, column for column, what `Store::write_dataset` (the path of the demo
/// and the old `ecomap gen`) stores for the same dataset.
async fn bulk_rows_are_the_rows_of_the_normal_write_path(db: &TestDb) {
    let ds = try_generate(&GenConfig {
        merchants: 4_000,
        communities: 100,
        ..GenConfig::default()
    })
    .unwrap();
    let normal = db.store().await;
    normal.write_dataset(&ds).await.unwrap();

    let other = sibling(db).await;
    let mut w = BulkWriter::connect(&other.url).await.unwrap();
    w.org_units(&ds.org_units).await.unwrap();
    w.outlets(&ds.outlets).await.unwrap();
    w.areas(&ds.areas).await.unwrap();
    // In two chunks, as a stream would write them.
    let (m1, m2) = ds.merchants.split_at(1_500);
    w.merchants(m1).await.unwrap();
    w.merchants(m2).await.unwrap();
    w.communities(&ds.communities).await.unwrap();
    w.finish().await.unwrap();
    let bulk = other.store().await;

    for (table, columns) in TABLES {
        let want = raw_rows(&normal, table, columns).await;
        let got = raw_rows(&bulk, table, columns).await;
        assert!(!want.is_empty(), "{table}");
        assert_eq!(got.len(), want.len(), "{table}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{table}");
        }
    }
    // Contacts, rejection dates and owners made it too.
    let back = bulk.load().await.unwrap();
    assert!(back.merchants.iter().any(|m| m.contact.is_some()));
    assert!(back.merchants.iter().any(|m| m.status_since.is_some()));
    assert!(back.merchants.iter().all(|m| m.owner_org_id.is_some()));
    other.cleanup().await;
}
both_backends!(bulk_rows_are_the_rows_of_the_normal_write_path);

fn ecomap(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ecomap"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("the ecomap binary runs")
}

/// The command line: a preset with --scale into the database, the demo city as before, and
/// --out refusing the national preset.
#[test]
fn gen_presets_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gen.sqlite");
    let db = db.to_str().unwrap();
    let out = ecomap(db, &["gen", "--preset", "national", "--scale", "0.0002"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("6000 merchants"), "{stdout}");

    let out = ecomap(db, &["gen", "--merchants", "500", "--communities", "10"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains("500 merchants"), "{stdout}");

    let files = dir.path().join("files");
    let out = ecomap(
        db,
        &[
            "gen",
            "--preset",
            "national",
            "--scale",
            "0.0002",
            "--out",
            files.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
    let out = ecomap(db, &["gen", "--scale", "0.5"]);
    assert!(!out.status.success(), "--scale needs --preset");
}
