//! The `ecomap` binary as a user runs it: imports from files, errors on the terminal, the demo.

use std::process::Command;

use ecomap::geo::crs::{to_wgs84, Crs};

use crate::both_backends;
use crate::support::TestDb;

fn ecomap(db: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ecomap"))
        .arg("--db")
        .arg(&db.url)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("the ecomap binary runs")
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

async fn import_gbk_and_bom_fixtures_from_the_command_line(db: &TestDb) {
    for file in ["merchants_gbk.csv", "merchants_utf8_bom.csv"] {
        let out = ecomap(
            db,
            &["import", "merchants", &fixture(file), "--crs", "gcj02"],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("imported 5 merchants"), "{stdout}");
    }
    // The second file has the same ids: it updated, it did not duplicate.
    let store = db.store().await;
    let stored = store.load().await.unwrap();
    assert_eq!(stored.merchants.len(), 5);
    // Every stored point is the WGS-84 of the GCJ-02 point in the file.
    let text = std::fs::read_to_string(fixture("merchants_utf8_bom.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (lon_c, lat_c, name_c) = (col("经度"), col("纬度"), col("名称"));
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let (g_lon, g_lat): (f64, f64) = (rec[lon_c].parse().unwrap(), rec[lat_c].parse().unwrap());
        let m = stored
            .merchants
            .iter()
            .find(|m| m.name == rec[name_c])
            .unwrap();
        let (w_lon, w_lat) = to_wgs84(Crs::Gcj02, g_lon, g_lat);
        assert!((m.location.lon() - w_lon).abs() < 1e-9 && (m.location.lat() - w_lat).abs() < 1e-9);
        // GCJ-02 is offset by hundreds of metres here: the conversion really happened.
        assert!((m.location.lon() - g_lon).abs() > 1e-3);
    }
    store.close().await;
}
both_backends!(import_gbk_and_bom_fixtures_from_the_command_line);

async fn a_bad_file_exits_non_zero_names_the_row_and_writes_nothing(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(
        &path,
        "名称,类别,经度,纬度\n好店,餐饮美食,103.76,29.57\n坏店,外星美食,103.76,29.57\n",
    )
    .unwrap();
    let out = ecomap(
        db,
        &[
            "import",
            "merchants",
            path.to_str().unwrap(),
            "--crs",
            "wgs84",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("row 3"), "{stderr}");
    assert!(stderr.contains("category"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    let store = db.store().await;
    assert!(store.load().await.unwrap().merchants.is_empty());
    store.close().await;

    let out = ecomap(db, &["import", "merchants", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--crs is required"));
}
both_backends!(a_bad_file_exits_non_zero_names_the_row_and_writes_nothing);

async fn demo_command_loads_leshan_and_is_idempotent(db: &TestDb) {
    for _ in 0..2 {
        let out = ecomap(db, &["demo"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = db.store().await;
    let ds = store.load().await.unwrap();
    assert!(ds.merchants.len() >= 1500);
    assert!(ds.communities.len() >= 60);
    assert_eq!(ds.outlets.iter().filter(|o| o.is_ours()).count(), 6);
    assert_eq!(ds.outlets.iter().filter(|o| !o.is_ours()).count(), 4);
    assert!(ds.areas.iter().any(|a| a.name.contains("张公桥")));
    store.close().await;
}
both_backends!(demo_command_loads_leshan_and_is_idempotent);

/// One HTTP/1.1 request over a plain socket (enough for a test; no client library needed).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

/// Logs carry no personal data, password or token, even at debug level for ecomap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_personal_data_passwords_or_tokens() {
    let db = TestDb::sqlite().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path =
        std::path::PathBuf::from(db.url.trim_start_matches("sqlite://")).with_extension("log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_ecomap"))
        .args([
            "--db",
            &db.url,
            "serve",
            "--demo",
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "info,ecomap=debug")
        .env("ECOMAP_WEB_DIR", "/nonexistent")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "the server started");
    let password = "ecomap-admin-demo";
    let (status, head, body) = http(
        port,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        &format!(r#"{{"username":"admin","password":"{password}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let session = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = serde_json::from_str::<serde_json::Value>(&body).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    // A bad login too (its password must not be logged either).
    http(
        port,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        r#"{"username":"admin","password":"wrong-secret-xyz"}"#,
    );
    // Unmask a stored contact, and import one.
    let store = db.store().await;
    let m = store
        .load()
        .await
        .unwrap()
        .merchants
        .into_iter()
        .find(|m| m.contact.is_some())
        .unwrap();
    let contact = m.contact.clone().unwrap();
    let (status, _, body) = http(
        port,
        "GET",
        &format!("/api/merchants/{}/contact", m.id),
        &[("Cookie", &session)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let csv = "id,name,category,lon,lat,联系人,联系电话\nPII1,隐私测试店,dining,103.76,29.57,欧阳秘密,13987654321\n";
    let (status, _, body) = http(
        port,
        "POST",
        "/api/import/merchants?crs=wgs84",
        &[("Cookie", &session), ("X-CSRF-Token", &csrf)],
        csv,
    );
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = http(
        port,
        "GET",
        "/api/export/merchants.csv?unmask=true",
        &[("Cookie", &session)],
        "",
    );
    assert_eq!(status, 200);
    server.kill().unwrap();
    server.wait().unwrap();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logged.contains("/api/login"),
        "the requests were logged: {logged}"
    );
    let token = session.split_once('=').unwrap().1;
    for secret in [
        password,
        "wrong-secret-xyz",
        token,
        &csrf,
        "13987654321",
        "欧阳秘密",
        contact.phone.as_deref().unwrap_or("-"),
        contact.name.as_deref().unwrap_or("-"),
    ] {
        assert!(!logged.contains(secret), "{secret:?} appears in the log");
    }
    store.close().await;
    db.cleanup().await;
}

/// `ecomap user` and `ecomap token`: add a user with a password from stdin, give them a token,
/// disable them (which revokes the token); `demo` prints a login for each role.
async fn user_and_token_commands_manage_accounts(db: &TestDb) {
    use std::io::Write;
    let out = ecomap(db, &["demo"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for login in [
        "admin / ecomap-admin-demo",
        "zgq / ecomap-branch-demo",
        "out01 / ecomap-staff-demo",
    ] {
        assert!(stdout.contains(login), "{stdout}");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecomap"))
        .args([
            "--db",
            &db.url,
            "user",
            "add",
            "wang",
            "--role",
            "staff",
            "--org",
            "OUT02",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-staff-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = ecomap(
        db,
        &["user", "add", "zhao", "--role", "staff", "--org", "SB01"],
    );
    assert!(
        !bad.status.success(),
        "staff belong to an outlet, not a sub-branch"
    );
    let out = ecomap(db, &["token", "create", "--user", "wang"]);
    assert!(out.status.success());
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("ecm_") && token.len() == 68, "{token}");
    let store = db.store().await;
    let user = store
        .token_user(&ecomap::auth::secret_hash(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (user.username.as_str(), user.org_node_id.as_deref()),
        ("wang", Some("OUT02"))
    );
    let (u, hash) = store.user_for_login("wang").await.unwrap().unwrap();
    assert!(ecomap::auth::verify_password("a-long-staff-password", &hash) && !u.disabled);
    let listed = String::from_utf8_lossy(&ecomap(db, &["user", "list"]).stdout).to_string();
    assert!(
        listed.contains("wang") && listed.contains("OUT02"),
        "{listed}"
    );
    assert!(ecomap(db, &["user", "disable", "wang"]).status.success());
    // Another process changed the user: this store may remember the token's user for up to
    // CREDENTIALS_TTL, and not longer.
    tokio::time::sleep(ecomap::storage::CREDENTIALS_TTL + std::time::Duration::from_millis(100))
        .await;
    assert!(store
        .token_user(&ecomap::auth::secret_hash(&token))
        .await
        .unwrap()
        .is_none());
    let (log, _) = store.audit_log(None, 100, 0).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"user_add")
            && actions.contains(&"token_create")
            && actions.contains(&"user_disable")
    );
    store.close().await;
}
both_backends!(user_and_token_commands_manage_accounts);

/// `ecomap score --outlet OUT01 --csv`: the ranked list with every factor, for Excel.
async fn score_command_prints_the_ranked_list_as_csv(db: &TestDb) {
    assert!(ecomap(db, &["demo"]).status.success());
    let out = ecomap(
        db,
        &[
            "score",
            "--outlet",
            "OUT01",
            "--radius-m",
            "500",
            "--limit",
            "10",
            "--csv",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert!(
        headers.iter().any(|h| h == "factor_footfall")
            && headers.iter().any(|h| h == "factor_cside")
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 10);
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let factors: Vec<usize> = [
        "category",
        "footfall",
        "avg_spend",
        "distance",
        "agglomeration",
        "ecny",
        "competitor_signed",
        "cside",
    ]
    .iter()
    .map(|n| col(&format!("factor_{n}")))
    .collect();
    let mut last = f64::INFINITY;
    for r in &rows {
        let score: f64 = r[col("score")].parse().unwrap();
        assert!(score <= last);
        last = score;
        let sum: f64 = factors.iter().map(|&i| r[i].parse::<f64>().unwrap()).sum();
        assert!((sum - score).abs() < 1e-3, "{sum} vs {score}");
        assert!(!matches!(&r[col("status")], "signed" | "active"));
    }
    let bad = ecomap(db, &["score", "--outlet", "CMP01"]);
    assert!(
        !bad.status.success(),
        "a competitor's outlet has no priorities"
    );
}
both_backends!(score_command_prints_the_ranked_list_as_csv);
