//! Accounts, scopes and data protection, on both backends: a user of one branch gets nothing of
//! another's, personal information stays masked unless unmasking is allowed (and audited),
//! logins are slowed, cookies carry CSRF protection.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{test, App as ActixApp};
use ecomap::app::{App, Limits};
use ecomap::auth::Role;
use ecomap::domain::Categories;
use serde_json::{json, Value};

use crate::api::{bearer, body_json};
use crate::both_backends;
use crate::support::TestDb;

async fn demo(db: &TestDb) -> Arc<App> {
    let limits = Limits {
        login_failure_delay: Duration::from_millis(5),
        login_max_failures: 3,
        ..Limits::default()
    };
    let app = App::start(db.store().await, Categories::builtin().unwrap(), limits)
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

macro_rules! get {
    ($svc:expr, $uri:expr, $auth:expr) => {{
        let req = test::TestRequest::get()
            .uri(AsRef::<str>::as_ref(&$uri))
            .insert_header($auth.clone())
            .to_request();
        body_json(test::call_service(&$svc, req).await).await
    }};
}

/// The org nodes of a sub-branch's subtree: itself and its outlets.
fn subtree(app: &App, unit: &str) -> HashSet<String> {
    let mut s: HashSet<String> = app
        .index()
        .outlets
        .items()
        .iter()
        .filter(|o| o.parent_org_id.as_deref() == Some(unit))
        .map(|o| o.id.clone())
        .collect();
    s.insert(unit.to_string());
    s
}

async fn a_branch_user_gets_nothing_of_another_branch(db: &TestDb) {
    let app = demo(db).await;
    let svc = service!(app);
    let a = bearer(&app, Role::Branch, Some("SB01"), false).await;
    let a_nodes = subtree(&app, "SB01");
    let b_nodes = subtree(&app, "SB02");
    let (b_merchant, b_community, b_area, b_outlet, a_outlet) = {
        let index = app.index();
        let owned_by_b = |o: Option<&str>| o.is_some_and(|o| b_nodes.contains(o));
        (
            index
                .merchants
                .table()
                .to_vec()
                .iter()
                .find(|m| owned_by_b(m.owner_org_id.as_deref()))
                .unwrap()
                .id
                .clone(),
            index
                .communities
                .items()
                .iter()
                .find(|c| owned_by_b(c.owner_org_id.as_deref()))
                .map(|c| c.id.clone()),
            index
                .areas
                .iter()
                .find(|x| owned_by_b(x.owner_org_id.as_deref()))
                .map(|x| x.id.clone()),
            index
                .outlets
                .items()
                .iter()
                .find(|o| o.parent_org_id.as_deref() == Some("SB02"))
                .unwrap()
                .id
                .clone(),
            index
                .outlets
                .items()
                .iter()
                .find(|o| o.parent_org_id.as_deref() == Some("SB01"))
                .unwrap()
                .id
                .clone(),
        )
    };
    let in_a = |o: &Value| o.as_str().is_some_and(|o| a_nodes.contains(o));

    // Lists (with and without a bbox) hold only A's merchants, and all of them.
    let want = app
        .index()
        .merchants
        .table()
        .to_vec()
        .iter()
        .filter(|m| {
            m.owner_org_id
                .as_deref()
                .is_some_and(|o| a_nodes.contains(o))
        })
        .count();
    for uri in [
        "/api/merchants?limit=2000",
        "/api/merchants?limit=2000&bbox=103.70,29.52,103.82,29.62",
    ] {
        let (status, body) = get!(svc, uri, a);
        assert_eq!(status, 200);
        assert!(
            body["features"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| in_a(&f["properties"]["owner_org_id"])),
            "{uri}"
        );
        if !uri.contains("bbox") {
            assert_eq!(body["total"], want);
        }
    }
    // A's object by id: 200; B's: 404, on every path to it.
    let (status, _) = get!(svc, format!("/api/merchants/{b_merchant}"), a);
    assert_eq!(status, 404);
    let (status, _) = get!(svc, format!("/api/merchants/{b_merchant}/contact"), a);
    assert_eq!(status, 404);
    let (status, _) = get!(svc, format!("/api/outlets/{b_outlet}"), a);
    assert_eq!(status, 404);
    let (status, _) = get!(
        svc,
        format!("/api/outlets/{b_outlet}/nearby?radius_m=5000"),
        a
    );
    assert_eq!(status, 404);
    if let Some(c) = &b_community {
        let (status, _) = get!(svc, format!("/api/communities/{c}"), a);
        assert_eq!(status, 404);
    }
    if let Some(x) = &b_area {
        let (status, _) = get!(svc, format!("/api/areas/{x}"), a);
        assert_eq!(status, 404);
        let (status, _) = get!(svc, format!("/api/areas/{x}/merchants"), a);
        assert_eq!(status, 404);
    }
    // Nearby around A's own outlet, 5 km: only A's merchants, though B's are within reach.
    let (status, body) = get!(
        svc,
        format!("/api/outlets/{a_outlet}/nearby?radius_m=5000"),
        a
    );
    assert_eq!(status, 200);
    assert!(body["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| in_a(&f["properties"]["owner_org_id"])));
    // Outlets: ours only in A's subtree; competitors' are public reference data.
    let (_, body) = get!(svc, "/api/outlets", a);
    for f in body["features"].as_array().unwrap() {
        let p = &f["properties"];
        assert!(
            p["is_ours"] == false || a_nodes.contains(p["id"].as_str().unwrap()),
            "{p}"
        );
    }
    assert!(body["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["properties"]["is_ours"] == false));
    // Communities and areas: A's own and its parents' shared ones, never B's.
    let above: HashSet<&str> = ["LS", "SC", "HQ"].into();
    for uri in ["/api/communities?limit=2000", "/api/areas"] {
        let (_, body) = get!(svc, uri, a);
        for f in body["features"].as_array().unwrap() {
            let owner = f["properties"]["owner_org_id"].as_str().unwrap();
            assert!(
                a_nodes.contains(owner) || above.contains(owner),
                "{uri}: {owner}"
            );
        }
    }
    // The export holds exactly A's merchants.
    let req = test::TestRequest::get()
        .uri("/api/export/merchants.csv")
        .insert_header(a.clone())
        .to_request();
    let resp = test::call_service(&svc, req).await;
    assert_eq!(resp.status(), 200);
    let csv = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert_eq!(csv.lines().count() - 1, want);
    assert!(!csv.contains(&format!("{b_merchant},")));

    // Staff see their outlet's merchants only.
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let (_, body) = get!(svc, "/api/merchants?limit=2000", staff);
    let own = app
        .index()
        .merchants
        .table()
        .to_vec()
        .iter()
        .filter(|m| m.owner_org_id.as_deref() == Some("OUT01"))
        .count();
    assert_eq!(body["total"], own);
    assert!(body["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["properties"]["owner_org_id"] == "OUT01"));
    let (status, _) = get!(svc, format!("/api/merchants/{b_merchant}"), staff);
    assert_eq!(status, 404);
    // Admins see everything.
    let admin = bearer(&app, Role::Admin, None, true).await;
    let (_, body) = get!(svc, "/api/merchants?limit=1", admin);
    assert_eq!(body["total"], app.index().merchants.len());
}
both_backends!(a_branch_user_gets_nothing_of_another_branch);

async fn imports_write_only_inside_the_callers_scope(db: &TestDb) {
    let app = demo(db).await;
    let svc = service!(app);
    let a = bearer(&app, Role::Branch, Some("SB01"), false).await;
    let b_merchant = {
        let b = subtree(&app, "SB02");
        app.index()
            .merchants
            .table()
            .to_vec()
            .iter()
            .find(|m| m.owner_org_id.as_deref().is_some_and(|o| b.contains(o)))
            .unwrap()
            .id
            .clone()
    };
    let post = |csv: String, auth: (String, String)| {
        test::TestRequest::post()
            .uri("/api/import/merchants?crs=wgs84")
            .insert_header(auth)
            .set_payload(csv)
            .to_request()
    };
    // No owner column: the rows become the writer's own.
    let (status, body) = body_json(
        test::call_service(
            &svc,
            post(
                "id,name,category,lon,lat\nNEWA,新店,dining,103.76,29.57\n".into(),
                a.clone(),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.index().merchants.get("NEWA").unwrap().owner_org_id(),
        Some("SB01")
    );
    // Writing into another branch, or over its merchant, is refused; nothing changes.
    let before = app.store.load().await.unwrap().merchants;
    for csv in [
        "id,name,category,lon,lat,owner_org_id\nNEWB,他店,dining,103.76,29.57,SB02\n".to_string(),
        format!("id,name,category,lon,lat\n{b_merchant},改名,dining,103.76,29.57\n"),
    ] {
        let (status, body) = body_json(test::call_service(&svc, post(csv, a.clone())).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["code"], "import_rejected");
    }
    assert_eq!(app.store.load().await.unwrap().merchants, before);
    // Staff do not import; branch users do not change outlets.
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let (status, _) = body_json(
        test::call_service(
            &svc,
            post(
                "id,name,category,lon,lat\nS1,店,dining,103.76,29.57\n".into(),
                staff,
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, 403);
    let req = test::TestRequest::post()
        .uri("/api/import/outlets?crs=wgs84")
        .insert_header(a.clone())
        .set_payload("id,name,lon,lat\nX1,网点,103.76,29.57\n")
        .to_request();
    assert_eq!(test::call_service(&svc, req).await.status(), 403);
    // The import is in the audit log.
    let (entries, _) = app.store.audit_log(Some("import"), 100, 0).await.unwrap();
    assert!(entries
        .iter()
        .any(|e| e.actor.as_deref().is_some_and(|a| a.starts_with("tbranch"))));
}
both_backends!(imports_write_only_inside_the_callers_scope);

async fn contacts_are_masked_and_unmasking_is_a_permission_that_is_audited(db: &TestDb) {
    let app = demo(db).await;
    let svc = service!(app);
    let (id, phone) = {
        let index = app.index();
        let all = index.merchants.table().to_vec();
        let m = all
            .iter()
            .find(|m| m.contact.as_ref().is_some_and(|c| c.phone.is_some()))
            .unwrap();
        (
            m.id.clone(),
            m.contact.as_ref().unwrap().phone.clone().unwrap(),
        )
    };
    let masked = ecomap::domain::mask_phone(&phone);
    assert!(masked.contains("****"));
    let viewer = bearer(&app, Role::Admin, None, false).await;
    let (_, f) = get!(svc, format!("/api/merchants/{id}"), viewer);
    assert_eq!(f["properties"]["contact_phone"], masked.as_str());
    let (_, list) = get!(svc, "/api/merchants?limit=2000", viewer);
    assert!(!list.to_string().contains(&phone), "no full phone in lists");
    let req = test::TestRequest::get()
        .uri("/api/export/merchants.csv")
        .insert_header(viewer.clone())
        .to_request();
    let csv = test::read_body(test::call_service(&svc, req).await).await;
    let csv = String::from_utf8(csv.to_vec()).unwrap();
    assert!(
        csv.contains(&masked) && !csv.contains(&phone),
        "exports are masked by default"
    );
    let (status, _) = get!(svc, format!("/api/merchants/{id}/contact"), viewer);
    assert_eq!(status, 403);
    let (status, _) = get!(svc, "/api/export/merchants.csv?unmask=true", viewer);
    assert_eq!(status, 403);

    let unmasker = bearer(&app, Role::Admin, None, true).await;
    let (status, c) = get!(svc, format!("/api/merchants/{id}/contact"), unmasker);
    assert_eq!(status, 200);
    assert_eq!(c["contact_phone"], phone.as_str());
    let req = test::TestRequest::get()
        .uri("/api/export/merchants.csv?unmask=true")
        .insert_header(unmasker.clone())
        .to_request();
    let csv = String::from_utf8(
        test::read_body(test::call_service(&svc, req).await)
            .await
            .to_vec(),
    )
    .unwrap();
    assert!(csv.contains(&phone));
    let (_, log) = get!(svc, "/api/audit?limit=1000", unmasker);
    let entries = log["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"unmask")
            && actions.contains(&"export_unmasked")
            && actions.contains(&"export")
    );
    let unmask = entries.iter().find(|e| e["action"] == "unmask").unwrap();
    assert_eq!(unmask["target"], format!("merchant:{id}"));
    assert!(
        !log.to_string().contains(&phone),
        "the audit log names the merchant, not the phone"
    );
}
both_backends!(contacts_are_masked_and_unmasking_is_a_permission_that_is_audited);

async fn login_sets_a_protected_cookie_and_cookie_writes_need_the_csrf_token(db: &TestDb) {
    let app = demo(db).await;
    ecomap::demo::create_users(&app).await.unwrap();
    let svc = service!(app);
    let login = |body: Value| {
        test::TestRequest::post()
            .uri("/api/login")
            .set_json(body)
            .to_request()
    };
    let resp = test::call_service(
        &svc,
        login(json!({"username": "zgq", "password": "ecomap-branch-demo"})),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let cookie = resp
        .response()
        .cookies()
        .find(|c| c.name() == ecomap::http::SESSION_COOKIE)
        .unwrap()
        .into_owned();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(
        cookie.same_site(),
        Some(actix_web::cookie::SameSite::Strict)
    );
    let (_, body) = body_json(resp).await;
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    assert_eq!(body["user"]["role"], "branch");
    // Reads work with the cookie; a write without the CSRF header is refused, with it accepted.
    let req = test::TestRequest::get()
        .uri("/api/session")
        .cookie(cookie.clone())
        .to_request();
    let (_, s) = body_json(test::call_service(&svc, req).await).await;
    assert_eq!(s["user"]["username"], "zgq");
    let csv = "id,name,category,lon,lat\nCS1,店,dining,103.76,29.57\n";
    let req = test::TestRequest::post()
        .uri("/api/import/merchants?crs=wgs84")
        .cookie(cookie.clone())
        .set_payload(csv)
        .to_request();
    let (status, body) = body_json(test::call_service(&svc, req).await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (403, "forbidden"));
    assert!(app.index().merchants.get("CS1").is_none());
    let req = test::TestRequest::post()
        .uri("/api/import/merchants?crs=wgs84")
        .cookie(cookie.clone())
        .insert_header(("X-CSRF-Token", csrf.clone()))
        .set_payload(csv)
        .to_request();
    assert_eq!(test::call_service(&svc, req).await.status(), 200);
    // Logout ends the session.
    let req = test::TestRequest::post()
        .uri("/api/logout")
        .cookie(cookie.clone())
        .insert_header(("X-CSRF-Token", csrf))
        .to_request();
    assert_eq!(test::call_service(&svc, req).await.status(), 200);
    let req = test::TestRequest::get()
        .uri("/api/merchants")
        .cookie(cookie)
        .to_request();
    assert_eq!(test::call_service(&svc, req).await.status(), 401);
    // Unknown fields are rejected, not ignored.
    let (status, _) = body_json(
        test::call_service(
            &svc,
            login(json!({"username": "zgq", "password": "ecomap-branch-demo", "role": "admin"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
}
both_backends!(login_sets_a_protected_cookie_and_cookie_writes_need_the_csrf_token);

async fn bad_logins_are_audited_and_then_refused(db: &TestDb) {
    let app = demo(db).await;
    ecomap::demo::create_users(&app).await.unwrap();
    let svc = service!(app);
    let login = |pw: &str| {
        test::TestRequest::post()
            .uri("/api/login")
            .set_json(json!({"username": "out01", "password": pw}))
            .to_request()
    };
    // Unknown users get the same answer as wrong passwords.
    let req = test::TestRequest::post()
        .uri("/api/login")
        .set_json(json!({"username": "nobody", "password": "whatever-long"}))
        .to_request();
    let (status, body) = body_json(test::call_service(&svc, req).await).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (401, "bad_credentials")
    );
    // Two wrong passwords: with the unknown user, three failures from this client.
    for _ in 0..2 {
        let (status, body) =
            body_json(test::call_service(&svc, login("guess-guess-guess")).await).await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (401, "bad_credentials")
        );
    }
    // The limit (3 in this test) is reached: even the right password waits.
    let resp = test::call_service(&svc, login("ecomap-staff-demo")).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());
    let (failed, _) = app
        .store
        .audit_log(Some("login_failed"), 10, 0)
        .await
        .unwrap();
    assert_eq!(failed.len(), 3);
    assert_eq!(failed[0].actor.as_deref(), Some("out01"));
    assert_eq!(failed[2].actor.as_deref(), Some("nobody"));
}
both_backends!(bad_logins_are_audited_and_then_refused);

async fn every_data_endpoint_needs_a_live_credential(db: &TestDb) {
    let app = demo(db).await;
    let svc = service!(app);
    let spec: Value = serde_json::from_str(ecomap::http::OPENAPI).unwrap();
    let public = [
        "/api/health",
        "/api/openapi.json",
        "/api/session",
        "/api/login",
    ];
    let token = bearer(&app, Role::Admin, None, false).await;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        if public.contains(&path.as_str()) {
            continue;
        }
        let uri = path
            .replace("{id}", "X")
            .replace("{kind}", "merchants")
            .replace("{username}", "u");
        for method in ops.as_object().unwrap().keys() {
            let req = match method.as_str() {
                "get" => test::TestRequest::get(),
                "post" => test::TestRequest::post(),
                "patch" => test::TestRequest::patch(),
                "put" => test::TestRequest::put(),
                "delete" => test::TestRequest::delete(),
                m => panic!("{m}"),
            };
            let (status, body) =
                body_json(test::call_service(&svc, req.uri(&uri).to_request()).await).await;
            assert_eq!(
                (status, body["code"].as_str().unwrap()),
                (401, "unauthenticated"),
                "{method} {uri}"
            );
        }
    }
    // A revoked token and a disabled user's token stop working.
    let (_, ok) = get!(svc, "/api/categories", token);
    assert!(ok["categories"].is_array());
    let t = app.store.tokens().await.unwrap().pop().unwrap();
    app.store.revoke_token(&t.id).await.unwrap();
    let (status, _) = get!(svc, "/api/categories", token);
    assert_eq!(status, 401);
    let other = bearer(&app, Role::Branch, Some("SB01"), false).await;
    let mut u = app
        .store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role == Role::Branch)
        .unwrap();
    u.disabled = true;
    app.store.update_user(&u).await.unwrap();
    let (status, _) = get!(svc, "/api/categories", other);
    assert_eq!(status, 401);
}
both_backends!(every_data_endpoint_needs_a_live_credential);

async fn only_administrators_manage_users_and_read_the_audit_log(db: &TestDb) {
    let app = demo(db).await;
    let svc = service!(app);
    let admin = bearer(&app, Role::Admin, None, false).await;
    let branch = bearer(&app, Role::Branch, Some("SB01"), false).await;
    for uri in ["/api/users", "/api/audit"] {
        let (status, _) = get!(svc, uri.to_string(), branch);
        assert_eq!(status, 403, "{uri}");
    }
    let add = |auth: (String, String), body: Value| {
        test::TestRequest::post()
            .uri("/api/users")
            .insert_header(auth)
            .set_json(body)
            .to_request()
    };
    let newbie = json!({"username": "li", "password": "a-long-password", "role": "staff", "org_node_id": "OUT02"});
    let (status, _) =
        body_json(test::call_service(&svc, add(branch.clone(), newbie.clone())).await).await;
    assert_eq!(status, 403);
    let (status, body) =
        body_json(test::call_service(&svc, add(admin.clone(), newbie)).await).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["org_node_id"], "OUT02");
    // Fields a caller may not set are rejected, and nodes must fit roles.
    let (status, _) = body_json(test::call_service(&svc, add(admin.clone(), json!({"username": "x1", "password": "a-long-password", "role": "staff", "org_node_id": "OUT02", "owner": "HQ"}))).await).await;
    assert_eq!(status, 400);
    let (status, body) = body_json(test::call_service(&svc, add(admin.clone(), json!({"username": "x2", "password": "a-long-password", "role": "staff", "org_node_id": "SB01"}))).await).await;
    assert_eq!(
        (status, body["param"].as_str().unwrap()),
        (400, "org_node_id")
    );
    let req = test::TestRequest::patch()
        .uri("/api/users/li")
        .insert_header(admin.clone())
        .set_json(json!({"role": "branch", "org_node_id": "SB02"}))
        .to_request();
    let (status, body) = body_json(test::call_service(&svc, req).await).await;
    assert_eq!((status, body["role"].as_str().unwrap()), (200, "branch"));
    let (_, log) = get!(svc, "/api/audit", admin);
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"user_add") && actions.contains(&"user_change"),
        "{actions:?}"
    );
}
both_backends!(only_administrators_manage_users_and_read_the_audit_log);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_security_headers() {
    let db = TestDb::sqlite().await;
    let app = demo(&db).await;
    let svc = service!(app);
    let resp = test::call_service(
        &svc,
        test::TestRequest::get().uri("/api/health").to_request(),
    )
    .await;
    let h = resp.headers();
    let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("referrer-policy").unwrap(), "same-origin");
    db.cleanup().await;
}
