//! Visit outcomes on both backends: statuses and history follow the events, nothing is
//! overwritten, scope and validation hold, retries are stored once, 200 concurrent posts are all
//! stored, the funnel equals a count of the stored events, imports keep what events gave; and
//! the real server killed mid-burst loses no acknowledged post.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix_web::{test, App as ActixApp};
use chrono::{Duration, Utc};
use ecomap::app::App;
use ecomap::auth::Role;
use ecomap::domain::PipelineStatus;
use ecomap::visits::outcome::{self, derive, PipelineState};
use serde_json::{json, Value};
use sqlx::Row;

use crate::api::{bearer, body_json, demo_app};
use crate::both_backends;
use crate::support::TestDb;

type Auth = (String, String);

macro_rules! service {
    ($app:expr) => {{
        let app = $app.clone();
        test::init_service(
            ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, app, None)),
        )
        .await
    }};
}

macro_rules! post {
    ($svc:expr, $auth:expr, $body:expr) => {{
        let req = test::TestRequest::post()
            .uri("/api/visits")
            .insert_header($auth.clone())
            .set_json($body)
            .to_request();
        body_json(test::call_service(&$svc, req).await).await
    }};
}

macro_rules! get {
    ($svc:expr, $auth:expr, $uri:expr) => {{
        let req = test::TestRequest::get()
            .uri(AsRef::<str>::as_ref(&$uri))
            .insert_header($auth.clone())
            .to_request();
        body_json(test::call_service(&$svc, req).await).await
    }};
}

/// Merchants owned by `outlet` with this status, by id.
fn merchants_of(app: &App, outlet: &str, status: PipelineStatus) -> Vec<String> {
    let mut v: Vec<String> = app
        .index()
        .merchants
        .table()
        .to_vec()
        .iter()
        .filter(|m| m.owner_org_id.as_deref() == Some(outlet) && m.status == status)
        .map(|m| m.id.clone())
        .collect();
    v.sort();
    v
}

async fn count(app: &App, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

fn at_days_ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339()
}

/// Every merchant with events: the stored status, the pipeline row and the index all equal the
/// status rule applied to its stored events.
async fn assert_statuses_follow_the_events(app: &App) {
    let stored = app.store.load().await.unwrap();
    let by_id: HashMap<&str, &ecomap::domain::Merchant> = stored
        .merchants
        .iter()
        .map(|m| (m.id.as_str(), m))
        .collect();
    let pipelines = app.store.pipelines(None).await.unwrap();
    assert!(!pipelines.is_empty());
    for p in pipelines {
        let (_, events) = app.store.merchant_events(&p.merchant_id).await.unwrap();
        let events: Vec<_> = events.iter().map(|e| e.to_event().unwrap()).collect();
        let want = derive(
            PipelineState::baseline(p.baseline.status, p.baseline.since),
            &events,
        );
        // The stored state (carried forward batch by batch) is the rule over all the events.
        let stored_state = PipelineState {
            owner_name: want.owner_name.clone(),
            owner_phone: want.owner_phone.clone(),
            ..p.state.clone()
        };
        assert_eq!(stored_state, want, "{}", p.merchant_id);
        assert_eq!(p.events, events.len() as u64);
        let m = by_id[p.merchant_id.as_str()];
        assert_eq!((m.status, m.status_since), (want.status, want.status_since));
        let index = app.index();
        let im = index.merchants.get(&p.merchant_id).unwrap();
        assert_eq!(
            (im.status(), im.status_since()),
            (want.status, want.status_since)
        );
    }
}

async fn statuses_and_history_follow_the_events(db: &TestDb) {
    let app = demo_app(db).await;
    let svc = service!(app);
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let id = merchants_of(&app, "OUT01", PipelineStatus::Prospect)[0].clone();
    let today = ecomap::domain::today().to_string();
    let generation = app.generation();

    let (status, body) = post!(svc, staff, json!({"merchant_id": id, "outcome": "visited"}));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["merchant"]["status"], "visited");
    assert_eq!(body["merchant"]["status_since"], today.as_str());
    assert_eq!(body["event"]["outcome_zh"], "已拜访");
    assert!(app.generation() > generation, "tiles and ETags move on");

    let follow_up = (ecomap::domain::today() + Duration::days(7)).to_string();
    let (status, body) = post!(
        svc,
        staff,
        json!({"merchant_id": id, "outcome": "interested", "next_follow_up": follow_up,
               "owner_name": "欧阳老板", "owner_phone": "13912345678", "notes": "想了解费率"})
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["merchant"]["status"], "interested");
    assert_eq!(body["merchant"]["next_follow_up"], follow_up.as_str());
    assert_eq!(body["event"]["owner_name"], "欧***");
    assert_eq!(body["event"]["owner_phone"], "139****5678");
    assert_eq!(body["merchant"]["contact_phone"], "139****5678");
    assert!(!body.to_string().contains("13912345678"));

    // A phone posts yesterday's rejection late: it happened before today's interest, so the
    // merchant stays interested.
    let (status, body) = post!(
        svc,
        staff,
        json!({"merchant_id": id, "outcome": "rejected", "reason": "fees", "visited_at": at_days_ago(1)})
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["merchant"]["status"], "interested");

    let (status, body) = post!(svc, staff, json!({"merchant_id": id, "outcome": "已签约"}));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["merchant"]["status"], "signed");

    // The history: all four, newest first, each with the status right after it.
    let (status, h) = get!(svc, staff, format!("/api/merchants/{id}/visits"));
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["total"], 4);
    let outcomes: Vec<&str> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["signed", "interested", "visited", "rejected"]);
    let after: Vec<&str> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status_after"].as_str().unwrap())
        .collect();
    assert_eq!(after, ["signed", "interested", "visited", "rejected"]);
    assert_eq!(h["events"][2]["reason"], Value::Null);
    assert_eq!(h["events"][3]["reason_zh"], "费率高");
    assert_eq!(h["merchant"]["status"], "signed");
    assert_eq!(h["baseline"]["status"], "prospect");
    assert!(!h.to_string().contains("13912345678"));

    // The map sees it, the database holds it, a restarted app loads it.
    let (_, f) = get!(svc, staff, format!("/api/merchants/{id}"));
    assert_eq!(f["properties"]["status"], "signed");
    assert_eq!(f["properties"]["status_since"], today.as_str());
    assert_statuses_follow_the_events(&app).await;
    let restarted = App::start(
        db.store().await,
        ecomap::domain::Categories::builtin().unwrap(),
        ecomap::app::Limits::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        restarted.index().merchants.get(&id).unwrap().status(),
        PipelineStatus::Signed
    );

    // The owner's phone: unmasked only through the audited contact call.
    let unmasker = bearer(&app, Role::Admin, None, true).await;
    let (status, c) = get!(svc, unmasker, format!("/api/merchants/{id}/contact"));
    assert_eq!(status, 200);
    assert_eq!(c["contact_phone"], "13912345678");
    assert_eq!(c["contact_name"], "欧阳老板");
    let (log, _) = app.store.audit_log(Some("unmask"), 10, 0).await.unwrap();
    assert_eq!(
        log[0].target.as_deref(),
        Some(format!("merchant:{id}").as_str())
    );

    // Nothing is overwritten: events cannot be changed or deleted, even by hand.
    for sql in [
        "UPDATE visit_events SET outcome = 'signed'",
        "DELETE FROM visit_events",
    ] {
        assert!(
            sqlx::query(sql).execute(app.store.pool()).await.is_err(),
            "{sql} was refused"
        );
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visit_events").await, 4);
    let notes: Option<String> =
        sqlx::query("SELECT notes FROM visit_events WHERE outcome = 'interested'")
            .fetch_one(app.store.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
    assert_eq!(notes.as_deref(), Some("想了解费率"));

    // Closed: a signed merchant that closed is lost (churned) and flagged.
    let (status, body) = post!(svc, staff, json!({"merchant_id": id, "outcome": "closed"}));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["merchant"]["status"], "churned");
    assert_eq!(body["merchant"]["flag"], "closed");
    // Not found: status kept, flagged.
    let other = merchants_of(&app, "OUT01", PipelineStatus::Interested)[0].clone();
    let (_, body) = post!(
        svc,
        staff,
        json!({"merchant_id": other, "outcome": "not_found"})
    );
    assert_eq!(
        (
            body["merchant"]["status"].as_str(),
            body["merchant"]["flag"].as_str()
        ),
        (Some("interested"), Some("not_found"))
    );
    assert_statuses_follow_the_events(&app).await;
}
both_backends!(statuses_and_history_follow_the_events);

async fn staff_write_only_their_outlets_merchants(db: &TestDb) {
    let app = demo_app(db).await;
    let svc = service!(app);
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let theirs = merchants_of(&app, "OUT03", PipelineStatus::Prospect)[0].clone();
    let before = app.index().merchants.get(&theirs).unwrap().status();
    let (status, body) = post!(
        svc,
        staff,
        json!({"merchant_id": theirs, "outcome": "signed"})
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, _) = post!(
        svc,
        staff,
        json!({"merchant_id": "NO-SUCH", "outcome": "signed"})
    );
    assert_eq!(status, 404);
    let (status, _) = get!(svc, staff, format!("/api/merchants/{theirs}/visits"));
    assert_eq!(status, 404);
    let (status, _) = get!(svc, staff, "/api/visits?outlet=OUT03");
    assert_eq!(status, 404);
    let (status, _) = get!(svc, staff, "/api/visits/funnel?branch=SB02");
    assert_eq!(status, 404);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visit_events").await, 0);
    assert_eq!(app.index().merchants.get(&theirs).unwrap().status(), before);

    // A branch user writes in their subtree (SB01: OUT01 and OUT02), not outside it.
    let branch = bearer(&app, Role::Branch, Some("SB01"), false).await;
    let out02 = merchants_of(&app, "OUT02", PipelineStatus::Prospect)[0].clone();
    let (status, body) = post!(
        svc,
        branch,
        json!({"merchant_id": out02, "outcome": "visited"})
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["event"]["org_node_id"], "OUT02");
    let (status, _) = post!(
        svc,
        branch,
        json!({"merchant_id": theirs, "outcome": "visited"})
    );
    assert_eq!(status, 404);
    // OUT01's staff do not see OUT02's visit; the branch does.
    let (_, list) = get!(svc, staff, "/api/visits");
    assert_eq!(list["total"], 0);
    let (_, list) = get!(svc, branch, "/api/visits");
    assert_eq!(list["total"], 1);
    // Unauthenticated: nothing.
    let req = test::TestRequest::post()
        .uri("/api/visits")
        .set_json(json!({"merchant_id": out02, "outcome": "visited"}))
        .to_request();
    assert_eq!(test::call_service(&svc, req).await.status().as_u16(), 401);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visit_events").await, 1);
}
both_backends!(staff_write_only_their_outlets_merchants);

async fn validation_errors_name_the_field_and_change_nothing(db: &TestDb) {
    let app = demo_app(db).await;
    let svc = service!(app);
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let id = merchants_of(&app, "OUT01", PipelineStatus::Visited)[0].clone();
    let generation = app.generation();
    let cases = [
        (json!({"outcome": "visited"}), "merchant_id"),
        (json!({"merchant_id": id}), "outcome"),
        (json!({"merchant_id": id, "outcome": "maybe"}), "outcome"),
        (json!({"merchant_id": id, "outcome": "rejected"}), "reason"),
        (
            json!({"merchant_id": id, "outcome": "rejected", "reason": "bored"}),
            "reason",
        ),
        (
            json!({"merchant_id": id, "outcome": "signed", "reason": "fees"}),
            "reason",
        ),
        (
            json!({"merchant_id": id, "outcome": "rejected", "reason": "other"}),
            "notes",
        ),
        (
            json!({"merchant_id": id, "outcome": "interested"}),
            "next_follow_up",
        ),
        (
            json!({"merchant_id": id, "outcome": "interested", "next_follow_up": "2020-01-01"}),
            "next_follow_up",
        ),
        (
            json!({"merchant_id": id, "outcome": "visited", "visited_at": "tomorrow"}),
            "visited_at",
        ),
        (
            json!({"merchant_id": id, "outcome": "visited", "visited_at": (Utc::now() + Duration::days(1)).to_rfc3339()}),
            "visited_at",
        ),
        (
            json!({"merchant_id": id, "outcome": "visited", "owner_phone": "12"}),
            "owner_phone",
        ),
        (
            json!({"merchant_id": id, "outcome": "visited", "client_id": "has space"}),
            "client_id",
        ),
        (
            json!({"merchant_id": id, "outcome": "visited", "status": "signed"}),
            "status",
        ),
        (
            json!({"merchant_id": id, "outcome": ["visited"]}),
            "outcome",
        ),
    ];
    for (body, field) in cases {
        let (status, resp) = post!(svc, staff, body.clone());
        assert_eq!(status, 400, "{body}: {resp}");
        assert_eq!(resp["param"], field, "{body}: {resp}");
        assert!(resp["message"].as_str().unwrap().starts_with(field));
    }
    let req = test::TestRequest::post()
        .uri("/api/visits")
        .insert_header(staff.clone())
        .insert_header(("content-type", "application/json"))
        .set_payload("{not json")
        .to_request();
    let (status, _) = body_json(test::call_service(&svc, req).await).await;
    assert_eq!(status, 400);
    let (status, resp) = get!(svc, staff, "/api/visits?from=yesterday");
    assert_eq!((status, resp["param"].as_str()), (400, Some("from")));
    let (status, resp) = get!(
        svc,
        staff,
        "/api/visits/funnel?from=2026-03-01&to=2026-02-01"
    );
    assert_eq!((status, resp["param"].as_str()), (400, Some("from")));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visit_events").await, 0);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM merchant_pipeline").await,
        0
    );
    assert_eq!(app.generation(), generation);
    assert_eq!(
        app.index().merchants.get(&id).unwrap().status(),
        PipelineStatus::Visited
    );
}
both_backends!(validation_errors_name_the_field_and_change_nothing);

async fn a_retried_post_is_stored_once(db: &TestDb) {
    let app = demo_app(db).await;
    let svc = service!(app);
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let other_staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let id = merchants_of(&app, "OUT01", PipelineStatus::Prospect)[0].clone();
    let body = json!({"merchant_id": id, "outcome": "visited", "client_id": "phone-7f3a-0001"});
    let (s1, first) = post!(svc, staff, body.clone());
    let (s2, again) = post!(svc, staff, body.clone());
    assert_eq!((s1, s2), (201, 200), "{again}");
    assert_eq!(again["replayed"], true);
    assert_eq!(first["event"]["id"], again["event"]["id"]);
    assert_eq!(again["merchant"]["status"], "visited");
    // The same key for a different visit is a client bug: refused, nothing stored.
    let (status, resp) = post!(
        svc,
        staff,
        json!({"merchant_id": id, "outcome": "signed", "client_id": "phone-7f3a-0001"})
    );
    assert_eq!((status, resp["param"].as_str()), (400, Some("client_id")));
    // Keys are per user: another phone may use the same one.
    let (status, _) = post!(svc, other_staff, body.clone());
    assert_eq!(status, 201);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visit_events").await, 2);

    // Retries racing each other: one stored, the rest answered as replays.
    let retry = json!({"merchant_id": id, "outcome": "interested", "client_id": "race-1",
                       "next_follow_up": (ecomap::domain::today() + Duration::days(3)).to_string()});
    let reqs = (0..8).map(|_| {
        let req = test::TestRequest::post()
            .uri("/api/visits")
            .insert_header(staff.clone())
            .set_json(retry.clone())
            .to_request();
        test::call_service(&svc, req)
    });
    let statuses: Vec<u16> = futures_util::future::join_all(reqs)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visit_events").await, 3);
}
both_backends!(a_retried_post_is_stored_once);

/// Runs the API on a real socket (four workers) in its own thread.
fn start_server(app: Arc<App>) -> (u16, actix_web::dev::ServerHandle) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let srv = actix_web::HttpServer::new(move || {
                let app = app.clone();
                ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, app, None))
            })
            .workers(4)
            .bind(("127.0.0.1", 0))
            .unwrap();
            let port = srv.addrs()[0].port();
            let server = srv.run();
            tx.send((port, server.handle())).unwrap();
            let _ = server.await;
        })
    });
    rx.recv().unwrap()
}

/// One HTTP/1.1 request on a plain socket; the status and body (an empty body when the
/// connection broke).
fn http(port: u16, method: &str, path: &str, auth: &Auth, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\n{}: {}\r\nContent-Length: {}\r\n\r\n{body}",
        auth.0,
        auth.1,
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut out = Vec::new();
    if s.read_to_end(&mut out).is_err() {
        return (0, String::new());
    }
    let out = String::from_utf8_lossy(&out).to_string();
    let Some((head, body)) = out.split_once("\r\n\r\n") else {
        return (0, String::new());
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

async fn two_hundred_concurrent_posts_are_all_stored(db: &TestDb) {
    let app = demo_app(db).await;
    let (port, server) = start_server(app.clone());
    // Six members of staff, one per outlet; 40 merchants, five posts each, all at once.
    let mut posts = Vec::new();
    for n in 1..=6 {
        let outlet = format!("OUT0{n}");
        let auth = bearer(&app, Role::Staff, Some(&outlet), false).await;
        let mut ms = merchants_of(&app, &outlet, PipelineStatus::Prospect);
        ms.truncate(if n <= 4 { 7 } else { 6 });
        for (j, m) in ms.into_iter().enumerate() {
            for k in 0..5 {
                let outcome =
                    ["visited", "interested", "rejected", "signed", "not_found"][(k + j) % 5];
                let mut body = json!({"merchant_id": m, "outcome": outcome,
                    "client_id": format!("c-{m}-{k}"),
                    "visited_at": (Utc::now() - Duration::minutes(60 - k as i64 * 7)).to_rfc3339()});
                match outcome {
                    "interested" => {
                        body["next_follow_up"] =
                            json!((ecomap::domain::today() + Duration::days(5)).to_string())
                    }
                    "rejected" => body["reason"] = json!("competitor"),
                    _ => {}
                }
                posts.push((auth.clone(), m.clone(), body.to_string()));
            }
        }
    }
    assert_eq!(posts.len(), 200);
    let barrier = Arc::new(std::sync::Barrier::new(posts.len()));
    let tasks: Vec<_> = posts
        .iter()
        .cloned()
        .map(|(auth, _, body)| {
            let barrier = barrier.clone();
            tokio::task::spawn_blocking(move || {
                barrier.wait();
                let t = std::time::Instant::now();
                let (status, body) = http(port, "POST", "/api/visits", &auth, &body);
                (status, body, t.elapsed())
            })
        })
        .collect();
    let mut ids = HashSet::new();
    let mut slowest = std::time::Duration::ZERO;
    for t in tasks {
        let (status, body, took) = t.await.unwrap();
        assert_eq!(status, 201, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(
            ids.insert(v["event"]["id"].as_i64().unwrap()),
            "ids are unique"
        );
        slowest = slowest.max(took);
    }
    eprintln!("200 concurrent posts: slowest answer {slowest:?} (debug build)");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visit_events").await, 200);
    let stored_clients: HashSet<String> = sqlx::query("SELECT client_id FROM visit_events")
        .fetch_all(app.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect();
    let posted: HashSet<String> = posts
        .iter()
        .map(|(_, _, b)| {
            serde_json::from_str::<Value>(b).unwrap()["client_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(stored_clients, posted);
    // Per merchant: five events, and a status the rule gives from them, in the database, the
    // pipeline and the index alike.
    let per_merchant: Vec<(String, i64)> =
        sqlx::query("SELECT merchant_id, COUNT(*) FROM visit_events GROUP BY merchant_id")
            .fetch_all(app.store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
            .collect();
    assert_eq!(per_merchant.len(), 40);
    assert!(per_merchant.iter().all(|(_, n)| *n == 5));
    assert_statuses_follow_the_events(&app).await;
    let (status, list) = {
        let auth = bearer(&app, Role::Admin, None, false).await;
        let (s, b) = tokio::task::spawn_blocking(move || {
            http(port, "GET", "/api/visits?limit=1", &auth, "")
        })
        .await
        .unwrap();
        (s, serde_json::from_str::<Value>(&b).unwrap())
    };
    assert_eq!((status, list["total"].as_u64()), (200, Some(200)));
    server.stop(true).await;
}
both_backends!(two_hundred_concurrent_posts_are_all_stored);

async fn funnel_numbers_equal_a_count_of_the_stored_events(db: &TestDb) {
    let app = demo_app(db).await;
    let svc = service!(app);
    let mut n = 0;
    // Visits over three weeks by two staff at OUT01 and one each at OUT02 and OUT03.
    for (outlet, people) in [("OUT01", 2), ("OUT02", 1), ("OUT03", 1)] {
        let ms = merchants_of(&app, outlet, PipelineStatus::Prospect);
        for p in 0..people {
            let auth = bearer(&app, Role::Staff, Some(outlet), false).await;
            for (i, m) in ms.iter().skip(p * 12).take(12).enumerate() {
                let days_ago = [15, 8, 1][i % 3];
                let outcome = [
                    "visited",
                    "interested",
                    "signed",
                    "rejected",
                    "closed",
                    "not_found",
                    "visited",
                ][(i + n) % 7];
                let mut body = json!({"merchant_id": m, "outcome": outcome, "visited_at": at_days_ago(days_ago)});
                match outcome {
                    "interested" => {
                        body["next_follow_up"] =
                            json!((ecomap::domain::today() + Duration::days(2)).to_string())
                    }
                    "rejected" => body["reason"] = json!("no_need"),
                    _ => {}
                }
                let (status, resp) = post!(svc, auth, body);
                assert_eq!(status, 201, "{resp}");
                // A second visit to some, later.
                if i % 4 == 0 {
                    let (status, _) =
                        post!(svc, auth, json!({"merchant_id": m, "outcome": "signed"}));
                    assert_eq!(status, 201);
                }
                n += 1;
            }
        }
    }
    let admin = bearer(&app, Role::Admin, None, false).await;
    let (status, f) = get!(svc, admin, "/api/visits/funnel");
    assert_eq!(status, 200, "{f}");
    // Counted straight from the stored events.
    let q = |node_sql: &str, extra: &str| {
        format!(
            "SELECT COUNT(DISTINCT merchant_id) FROM visit_events WHERE outcome <> 'imported' \
             AND org_node_id IN ({node_sql}) {extra}"
        )
    };
    for (node_sql, row) in [
        (
            "'OUT01'",
            f["outlets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["org_node_id"] == "OUT01")
                .unwrap(),
        ),
        (
            "'OUT03'",
            f["outlets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["org_node_id"] == "OUT03")
                .unwrap(),
        ),
        (
            "'OUT01', 'OUT02', 'SB01'",
            f["branches"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["org_unit_id"] == "SB01")
                .unwrap(),
        ),
        (
            "'OUT01', 'OUT02', 'OUT03', 'OUT04', 'OUT05', 'OUT06'",
            f["branches"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["org_unit_id"] == "LS")
                .unwrap(),
        ),
    ] {
        let visits = count(
            &app,
            &format!("SELECT COUNT(*) FROM visit_events WHERE org_node_id IN ({node_sql})"),
        )
        .await;
        assert_eq!(row["visits"], visits, "{node_sql}");
        assert_eq!(row["merchants"], count(&app, &q(node_sql, "")).await);
        assert_eq!(
            row["visited"],
            count(
                &app,
                &q(
                    node_sql,
                    "AND outcome IN ('visited', 'interested', 'signed', 'rejected')"
                )
            )
            .await
        );
        assert_eq!(
            row["interested"],
            count(
                &app,
                &q(node_sql, "AND outcome IN ('interested', 'signed')")
            )
            .await
        );
        assert_eq!(
            row["signed"],
            count(&app, &q(node_sql, "AND outcome = 'signed'")).await
        );
        assert_eq!(
            row["rejected"],
            count(&app, &q(node_sql, "AND outcome = 'rejected'")).await
        );
        assert_eq!(
            row["closed"],
            count(&app, &q(node_sql, "AND outcome = 'closed'")).await
        );
        assert_eq!(
            row["not_found"],
            count(&app, &q(node_sql, "AND outcome = 'not_found'")).await
        );
        let (i, v) = (
            row["interested"].as_f64().unwrap(),
            row["visited"].as_f64().unwrap(),
        );
        assert!(
            (row["conversion"]["visited_to_interested"].as_f64().unwrap() - i / v).abs() < 1e-4
        );
    }
    assert_eq!(
        f["total"]["visits"],
        count(&app, "SELECT COUNT(*) FROM visit_events").await
    );
    // Staff per ISO week.
    let rows = sqlx::query(
        "SELECT recorded_by, visit_week, COUNT(*), COUNT(DISTINCT merchant_id) FROM visit_events \
         GROUP BY recorded_by, visit_week",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    let sw = f["staff_weeks"].as_array().unwrap();
    assert_eq!(sw.len(), rows.len());
    assert!(rows.len() >= 8, "three weeks, four people");
    for r in rows {
        let (who, week): (String, String) = (r.try_get(0).unwrap(), r.try_get(1).unwrap());
        let got = sw
            .iter()
            .find(|w| w["staff"] == who.as_str() && w["week"] == week.as_str())
            .unwrap();
        assert_eq!(got["visits"], r.try_get::<i64, _>(2).unwrap());
        assert_eq!(got["merchants"], r.try_get::<i64, _>(3).unwrap());
        let start =
            chrono::NaiveDate::parse_from_str(got["week_start"].as_str().unwrap(), "%Y-%m-%d")
                .unwrap();
        assert_eq!(outcome::iso_week(start), week);
    }
    // A period: only the last week's visits.
    let from = (ecomap::domain::today() - Duration::days(3)).to_string();
    let (_, recent) = get!(svc, admin, format!("/api/visits/funnel?from={from}"));
    assert_eq!(
        recent["total"]["visits"],
        count(
            &app,
            &format!("SELECT COUNT(*) FROM visit_events WHERE visit_date >= '{from}'")
        )
        .await
    );
    // A staff member's funnel is their outlet's; a branch's, its subtree.
    let staff = bearer(&app, Role::Staff, Some("OUT02"), false).await;
    let (_, mine) = get!(svc, staff, "/api/visits/funnel");
    assert_eq!(mine["outlets"].as_array().unwrap().len(), 1);
    assert_eq!(mine["branches"].as_array().unwrap().len(), 0);
    assert_eq!(
        mine["total"]["visits"],
        count(
            &app,
            "SELECT COUNT(*) FROM visit_events WHERE org_node_id = 'OUT02'"
        )
        .await
    );
    let (_, sb01) = get!(svc, admin, "/api/visits/funnel?branch=SB01");
    assert_eq!(sb01["branches"].as_array().unwrap().len(), 1);
    assert_eq!(sb01["total"]["visits"], sb01["branches"][0]["visits"]);
    // The list agrees.
    let (_, list) = get!(svc, admin, "/api/visits?outlet=OUT01&limit=5");
    assert_eq!(
        list["total"],
        count(
            &app,
            "SELECT COUNT(*) FROM visit_events WHERE org_node_id = 'OUT01'"
        )
        .await
    );
    assert_eq!(list["visits"].as_array().unwrap().len(), 5);
    let times: Vec<&str> = list["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["visited_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
}
both_backends!(funnel_numbers_equal_a_count_of_the_stored_events);

async fn imports_keep_the_statuses_events_gave(db: &TestDb) {
    let app = demo_app(db).await;
    let svc = service!(app);
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let ms = merchants_of(&app, "OUT01", PipelineStatus::Prospect);
    let (a, b) = (ms[0].clone(), ms[1].clone());
    post!(svc, staff, json!({"merchant_id": a, "outcome": "signed"}));
    post!(
        svc,
        staff,
        json!({"merchant_id": b, "outcome": "visited", "owner_name": "李老板"})
    );
    // The demo again (its file says prospect for both): what the visits said stays.
    ecomap::demo::load(&app).await.unwrap();
    for (id, want) in [(&a, PipelineStatus::Signed), (&b, PipelineStatus::Visited)] {
        assert_eq!(app.index().merchants.get(id).unwrap().status(), want);
    }
    assert_eq!(
        app.index()
            .merchants
            .get(&b)
            .unwrap()
            .contact()
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("李老板")
    );
    assert_statuses_follow_the_events(&app).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visit_events").await, 2);
    // The transaction feed says A is now active (动销): news, recorded as an imported event.
    let m = app.index().merchants.get(&a).unwrap().to_merchant();
    let csv = format!(
        "id,name,category,lon,lat,status,owner_org_id\n{},{},{},{},{},动销,OUT01\n",
        m.id,
        m.name,
        m.category,
        m.location.lon(),
        m.location.lat()
    );
    let admin = bearer(&app, Role::Admin, None, false).await;
    for _ in 0..2 {
        let req = test::TestRequest::post()
            .uri("/api/import/merchants?crs=wgs84")
            .insert_header(admin.clone())
            .set_payload(csv.clone())
            .to_request();
        let (status, body) = body_json(test::call_service(&svc, req).await).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        app.index().merchants.get(&a).unwrap().status(),
        PipelineStatus::Active
    );
    let (_, h) = get!(svc, staff, format!("/api/merchants/{a}/visits"));
    assert_eq!(h["total"], 2, "the same file twice is news once: {h}");
    assert_eq!(h["events"][0]["outcome"], "imported");
    assert_eq!(h["events"][0]["imported_status"], "active");
    assert_eq!(h["merchant"]["status"], "active");
    // Imports are not visits.
    let (_, list) = get!(svc, admin, "/api/visits");
    assert_eq!(list["total"], 2);
    assert_statuses_follow_the_events(&app).await;
}
both_backends!(imports_keep_the_statuses_events_gave);

/// `ecomap serve` on a SQLite file, killed with SIGKILL in the middle of a burst of posts: every
/// post that was answered 201 is stored, none twice; posting everything again afterwards (the
/// phones' retries) leaves exactly one event per post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_burst_loses_no_acknowledged_post() {
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let db = TestDb::sqlite().await;
    let ecomap = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ecomap"))
            .arg("--db")
            .arg(&db.url)
            .args(args)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    assert!(ecomap(&["demo"]).status.success());
    let out = ecomap(&["token", "create", "--user", "out01"]);
    assert!(out.status.success());
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let auth: Auth = ("Authorization".into(), format!("Bearer {token}"));
    let merchants: Vec<String> = {
        let store = db.store().await;
        let mut v: Vec<String> = store
            .load()
            .await
            .unwrap()
            .merchants
            .into_iter()
            .filter(|m| m.owner_org_id.as_deref() == Some("OUT01"))
            .map(|m| m.id)
            .collect();
        v.sort();
        store.close().await;
        v
    };
    let posts: Vec<(String, String)> = (0..600)
        .map(|i| {
            let client = format!("burst-{i:04}");
            let m = &merchants[i % merchants.len()];
            let body = match i % 3 {
                0 => json!({"merchant_id": m, "outcome": "visited", "client_id": client}),
                1 => json!({"merchant_id": m, "outcome": "rejected", "reason": "hassle", "client_id": client}),
                _ => json!({"merchant_id": m, "outcome": "not_found", "client_id": client}),
            };
            (client, body.to_string())
        })
        .collect();
    let serve = || {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ecomap"))
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
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (child, port);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not start");
    };
    let (mut server, port) = serve();
    // 16 phones post in parallel; the server is killed once 150 posts were acknowledged.
    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let answered = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let posts = Arc::new(posts);
    let phones: Vec<_> = (0..16)
        .map(|_| {
            let (acked, answered, next, posts, auth) = (
                acked.clone(),
                answered.clone(),
                next.clone(),
                posts.clone(),
                auth.clone(),
            );
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((client, body)) = posts.get(i) else {
                    break;
                };
                let (status, _) = http(port, "POST", "/api/visits", &auth, body);
                if status == 201 {
                    acked.lock().unwrap().push(client.clone());
                    answered.fetch_add(1, Ordering::SeqCst);
                } else if status == 0 {
                    // The server is gone: this phone gives up for now.
                    break;
                } else {
                    panic!("unexpected status {status}");
                }
            })
        })
        .collect();
    let started = std::time::Instant::now();
    while answered.load(Ordering::SeqCst) < 150 {
        assert!(started.elapsed().as_secs() < 120, "the burst stalled");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for p in phones {
        p.join().unwrap();
    }
    let acked: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let sent = next.load(Ordering::SeqCst).min(posts.len());
    assert!(
        sent < posts.len(),
        "the kill came mid-burst ({sent} of {} sent)",
        posts.len()
    );
    let stored = |store: ecomap::storage::Store| async move {
        let rows = sqlx::query("SELECT client_id, COUNT(*) FROM visit_events GROUP BY client_id")
            .fetch_all(store.pool())
            .await
            .unwrap();
        let v: HashMap<String, i64> = rows
            .iter()
            .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
            .collect();
        store.close().await;
        v
    };
    let after_crash = stored(db.store().await).await;
    for c in &acked {
        assert_eq!(
            after_crash.get(c),
            Some(&1),
            "acknowledged post {c} is stored once"
        );
    }
    assert!(after_crash.values().all(|n| *n == 1));
    assert!(after_crash.len() >= acked.len());
    eprintln!(
        "killed after {} acknowledged of {sent} sent; {} stored",
        acked.len(),
        after_crash.len()
    );

    // Restart; the phones retry everything: acknowledged posts are replays, nothing doubles.
    let (mut server, port) = serve();
    let replays = (0..posts.len())
        .map(|i| {
            let (auth, posts) = (auth.clone(), posts.clone());
            tokio::task::spawn_blocking(move || {
                let (client, body) = &posts[i];
                (
                    client.clone(),
                    http(port, "POST", "/api/visits", &auth, body).0,
                )
            })
        })
        .collect::<Vec<_>>();
    for r in replays {
        let (client, status) = r.await.unwrap();
        if acked.contains(&client) || after_crash.contains_key(&client) {
            assert_eq!(status, 200, "{client} was stored before: a replay");
        } else {
            assert_eq!(status, 201, "{client}");
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let store = db.store().await;
    let app = App::start(
        store.clone(),
        ecomap::domain::Categories::builtin().unwrap(),
        ecomap::app::Limits::default(),
    )
    .await
    .unwrap();
    assert_statuses_follow_the_events(&app).await;
    let all = stored(store).await;
    assert_eq!(all.len(), posts.len());
    assert!(all.values().all(|n| *n == 1));
    db.cleanup().await;
}
