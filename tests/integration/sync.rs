//! Several ecomap processes on one database (issue 10, part 3): two `ecomap serve` processes
//! share a database; an import, a visit outcome and a weight change made through one are
//! answered by the other within a second. Run on PostgreSQL (LISTEN/NOTIFY) and on SQLite (two
//! processes on one file, polling). Also in one process: two `App`s on one store catch up with
//! each other's writes and never re-apply their own.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ecomap::app::{Access, App, Limits};
use ecomap::domain::Categories;
use ecomap::ingest::{ImportKind, ImportOptions};
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::TestDb;

/// What the issue asks: a write through one instance is in every other's index within this.
const WITHIN: Duration = Duration::from_secs(1);

fn ecomap(db: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ecomap"))
        .arg("--db")
        .arg(&db.url)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("the ecomap binary runs")
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &TestDb) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_ecomap"))
        .args([
            "--db",
            &db.url,
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "error")
        .env("ECOMAP_WEB_DIR", "/nonexistent")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port };
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("ecomap serve did not start on port {port}");
}

/// One HTTP/1.1 request as the bearer of `token`: (status, JSON body).
fn http(port: u16, method: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// GET a tile as the bearer of `token`, with `If-None-Match: etag` if given: (status, ETag).
fn tile(port: u16, path: &str, token: &str, etag: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let inm = etag
        .map(|e| format!("If-None-Match: {e}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\n{inm}\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let out = String::from_utf8_lossy(&out);
    let head = out.split("\r\n\r\n").next().unwrap_or("");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let etag = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("etag:")
                .then(|| l[5..].trim().to_string())
        })
        .unwrap_or_default();
    (status, etag)
}

/// Asks `check` until it holds; the time it took, or a panic naming `what` after 5 s.
fn until(what: &str, check: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if check() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{what}: not seen by the other instance after 5 s");
}

/// Two `ecomap serve` processes on one database: writes through A are answered by B within a
/// second — a new merchant from an import, a visit outcome's status, a weight change.
async fn a_write_through_one_server_is_in_the_others_answers_within_a_second(db: &TestDb) {
    let out = ecomap(db, &["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ecomap(db, &["token", "create", "--user", "admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (a, b) = (serve(db), serve(db));
    let get = |port: u16, path: &str| http(port, "GET", path, &token, "");

    // 1. An import through A: B answers for the new merchant.
    let (s, _) = get(b.port, "/api/merchants/SYNC1");
    assert_eq!(s, 404, "B does not have it yet");
    let csv = "id,name,category,lon,lat\nSYNC1,同步测试面馆,dining,103.7612,29.5688\n";
    let (s, r) = http(
        a.port,
        "POST",
        "/api/import/merchants?crs=wgs84",
        &token,
        csv,
    );
    assert_eq!(s, 200, "{r}");
    let took = until("imported merchant", || {
        get(b.port, "/api/merchants/SYNC1").0 == 200
    });
    assert!(took <= WITHIN, "import reached B after {took:?}");
    eprintln!(
        "import reached B after {took:?} ({})",
        db.url.split(':').next().unwrap_or("")
    );
    let (_, m) = get(b.port, "/api/merchants/SYNC1");
    assert_eq!(m["properties"]["name"], "同步测试面馆", "{m}");

    // 2. A visit outcome through A: B's merchant is signed.
    let visit = json!({"merchant_id": "SYNC1", "outcome": "signed"}).to_string();
    let (s, r) = http(a.port, "POST", "/api/visits", &token, &visit);
    assert!(s == 200 || s == 201, "{s} {r}");
    let took = until("signed status", || {
        get(b.port, "/api/merchants/SYNC1").1["properties"]["status"] == "signed"
    });
    assert!(took <= WITHIN, "visit outcome reached B after {took:?}");
    eprintln!(
        "visit outcome reached B after {took:?} ({})",
        db.url.split(':').next().unwrap_or("")
    );

    // 3. A weight change through A: B's effective weights are the new version.
    let w = json!({"category": 0.0, "footfall": 0.0, "avg_spend": 0.0, "distance": 1.0,
        "agglomeration": 0.0, "ecny": 0.0, "competitor_signed": 0.0, "cside": 0.0});
    let (s, r) = http(
        a.port,
        "PUT",
        "/api/scoring/weights?org=SB01",
        &token,
        &w.to_string(),
    );
    assert_eq!(s, 200, "{r}");
    let took = until("weights", || {
        get(b.port, "/api/scoring/weights?org=SB01").1["effective"]["source"] == "SB01"
    });
    assert!(took <= WITHIN, "weights reached B after {took:?}");
    eprintln!(
        "weights reached B after {took:?} ({})",
        db.url.split(':').next().unwrap_or("")
    );
    let (_, got) = get(b.port, "/api/scoring/weights?org=SB01");
    assert_eq!(got["effective"]["weights"], w, "{got}");

    // And the other way round: B's write reaches A.
    let csv = "id,name,category,lon,lat\nSYNC2,反向同步超市,supermarket,103.7615,29.5690\n";
    let (s, r) = http(
        b.port,
        "POST",
        "/api/import/merchants?crs=wgs84",
        &token,
        csv,
    );
    assert_eq!(s, 200, "{r}");
    let took = until("B's import on A", || {
        get(a.port, "/api/merchants/SYNC2").0 == 200
    });
    assert!(took <= WITHIN, "import reached A after {took:?}");
    eprintln!(
        "import reached A after {took:?} ({})",
        db.url.split(':').next().unwrap_or("")
    );
    // A tile's ETag from A is A's: B re-sends the tile rather than a 304 for a tag it did not
    // make (the two processes count their changes separately); A revalidates its own.
    let path = "/tiles/merchants/14/13106/6799.mvt";
    let (s, etag) = tile(a.port, path, &token, None);
    assert_eq!(s, 200);
    assert!(!etag.is_empty());
    assert_eq!(tile(a.port, path, &token, Some(&etag)).0, 304);
    assert_eq!(tile(b.port, path, &token, Some(&etag)).0, 200);
    drop((a, b));
}
both_backends!(a_write_through_one_server_is_in_the_others_answers_within_a_second);

async fn app(db: &TestDb) -> std::sync::Arc<App> {
    App::start(
        db.store().await,
        Categories::builtin().unwrap(),
        Limits::default(),
    )
    .await
    .unwrap()
}

/// Two `App`s on one database: each catches up with the other's writes (by id, the rows as
/// stored), and has nothing to apply of its own.
async fn catch_up_applies_the_others_changes_and_skips_its_own(db: &TestDb) {
    let a = app(db).await;
    let b = app(db).await;
    let opts = ImportOptions::default();
    let csv = "id,name,category,lon,lat\nC1,一号店,dining,103.76,29.56\nC2,二号店,dining,103.761,29.561\n";
    a.import(
        ImportKind::Merchants,
        Some("c.csv"),
        csv.as_bytes(),
        &opts,
        &Access::system("test"),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(b.index().merchants.get("C1").is_none());
    let before = b.generation();
    assert_eq!(ecomap::sync::catch_up(&b).await.unwrap(), 1);
    assert!(
        b.generation() > before,
        "the change is marked (caches follow)"
    );
    for id in ["C1", "C2"] {
        let (ma, mb) = (a.index(), b.index());
        assert_eq!(ma.merchants.get(id), mb.merchants.get(id), "{id}");
    }
    assert_eq!(
        ecomap::sync::catch_up(&a).await.unwrap(),
        0,
        "its own write"
    );
    assert_eq!(
        ecomap::sync::catch_up(&b).await.unwrap(),
        0,
        "already applied"
    );
    // An update through B reaches A.
    let csv = "id,name,category,lon,lat\nC1,一号店（新址）,dining,103.762,29.562\n";
    b.import(
        ImportKind::Merchants,
        Some("c2.csv"),
        csv.as_bytes(),
        &opts,
        &Access::system("test"),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(ecomap::sync::catch_up(&a).await.unwrap(), 1);
    assert_eq!(
        a.index().merchants.get("C1").unwrap().name(),
        "一号店（新址）"
    );
    assert_eq!(a.index().merchants.get("C1"), b.index().merchants.get("C1"));
    // A street network imported through A: B walks on it after catching up, with the
    // imported outlets, merchants and communities.
    assert_eq!(b.walking().model(), "straight_line_x_detour");
    let pbf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/osm/vaduz-clipped-renamed.osm.pbf"
    ))
    .unwrap();
    let report = a
        .import_osm(
            Some("vaduz.osm.pbf"),
            &pbf,
            &ecomap::ingest::osm::OsmOptions::builtin().unwrap(),
            &Access::system("test"),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert!(report.network.is_some());
    ecomap::sync::catch_up(&b).await.unwrap();
    assert_eq!(b.walking().model(), "street_network");
    let (ia, ib) = (a.index(), b.index());
    assert_eq!(ia.merchants.len(), ib.merchants.len());
    assert_eq!(ia.outlets.len(), ib.outlets.len());
    assert_eq!(ia.communities.len(), ib.communities.len());
}
both_backends!(catch_up_applies_the_others_changes_and_skips_its_own);

/// A change too big to list its ids (an import of more than `MAX_IDS` merchants elsewhere):
/// the other process rebuilds its merchant layer from the database, and it then answers as the
/// writer does, row for row.
async fn a_large_import_elsewhere_rebuilds_the_merchant_layer(db: &TestDb) {
    let a = app(db).await;
    let b = app(db).await;
    let n = ecomap::storage::changes::MAX_IDS + 1;
    let mut csv = String::from("id,name,category,lon,lat,rating\n");
    for i in 0..n {
        let (lon, lat) = (
            103.70 + (i % 200) as f64 * 1e-3,
            29.50 + (i / 200) as f64 * 1e-3,
        );
        csv.push_str(&format!(
            "BIG{i},大批商户{i},dining,{lon},{lat},{}\n",
            i % 5
        ));
    }
    let before = b.index().merchants.len();
    a.import(
        ImportKind::Merchants,
        Some("big.csv"),
        csv.as_bytes(),
        &ImportOptions::default(),
        &Access::system("test"),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(ecomap::sync::catch_up(&b).await.unwrap(), 1);
    let (ia, ib) = (a.index(), b.index());
    assert_eq!(ib.merchants.len(), before + n);
    assert_eq!(ia.merchants.len(), ib.merchants.len());
    for i in [0, 1, n / 2, n - 1] {
        let id = format!("BIG{i}");
        assert!(ib.merchants.get(&id).is_some(), "{id}");
        assert_eq!(ia.merchants.get(&id), ib.merchants.get(&id), "{id}");
    }
    // Found where they are, through B's rebuilt tree.
    let at = ecomap::domain::Location::new(103.70, 29.50).unwrap();
    let near: Vec<String> = ib
        .merchants
        .within_radius(at, 1.0)
        .iter()
        .map(|h| ib.merchants.id(h.slot).to_string())
        .collect();
    assert_eq!(near, ["BIG0"]);
}
both_backends!(a_large_import_elsewhere_rebuilds_the_merchant_layer);
