//! An afternoon's visit plan over HTTP, as outlet staff ask for it.

use std::collections::HashSet;

use actix_web::{test, App as ActixApp};
use ecomap::auth::Role;
use ecomap::visits::hours::OpeningHours;
use serde_json::json;

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
            let m = app.index().merchants.get(id).unwrap().to_merchant();
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

/// The pipeline shapes the plans: a due follow-up is a must-visit wherever it ranks (a signed
/// merchant's maintenance visit included), a merchant flagged closed, one visited today and one
/// whose follow-up is later are left out with the reason; a week brings follow-ups back on
/// their day and not before; the printable page lists the same stops.
async fn follow_ups_and_flags_shape_day_and_week_plans(db: &TestDb) {
    let app = demo_app(db).await;
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let staff = bearer(&app, Role::Staff, Some("OUT01"), false).await;
    let get = |uri: String| {
        test::TestRequest::get()
            .uri(&uri)
            .insert_header(staff.clone())
            .to_request()
    };
    let post = |body: serde_json::Value| {
        test::TestRequest::post()
            .uri("/api/visits")
            .insert_header(staff.clone())
            .set_json(body)
            .to_request()
    };
    let today = ecomap::domain::today();
    let tomorrow = today + chrono::Duration::days(1);
    let stop_ids = |plan: &serde_json::Value| -> Vec<String> {
        plan["routes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["stops"].as_array().unwrap().iter())
            .map(|s| s["merchant_id"].as_str().unwrap().to_string())
            .collect()
    };
    let left = |plan: &serde_json::Value, id: &str| -> Option<String> {
        plan["left_out"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["merchant_id"] == id)
            .map(|l| l["reason"].as_str().unwrap().to_string())
    };
    let (s, before) = body_json(
        test::call_service(
            &svc,
            get(format!("/api/outlets/OUT01/plan?date={tomorrow}")),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{before}");
    let planned = stop_ids(&before);
    assert!(planned.len() >= 3, "{before}");
    assert!(before["left_out"].as_array().unwrap().is_empty());

    // A low-ranked prospect of OUT01 that the plan left out, and a signed merchant of OUT01.
    let (_, ranked) = body_json(
        test::call_service(
            &svc,
            get("/api/outlets/OUT01/priorities?territory=own&limit=200".into()),
        )
        .await,
    )
    .await;
    let low = ranked["features"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|f| f["properties"]["id"].as_str().unwrap().to_string())
        .find(|id| !planned.contains(id))
        .expect("a ranked merchant outside the plan");
    let signed = app
        .index()
        .merchants
        .table()
        .to_vec()
        .iter()
        .find(|m| {
            m.owner_org_id.as_deref() == Some("OUT01")
                && m.status == ecomap::domain::PipelineStatus::Signed
                && OpeningHours::from_text(m.opening_hours.as_deref())
                    .on(tomorrow)
                    .iter()
                    .any(|iv| iv.start <= 14 * 60 && iv.end >= 17 * 60)
        })
        .map(|m| m.id.clone())
        .expect("a signed merchant of OUT01");
    let record = |id: &str, outcome: &str, follow: Option<chrono::NaiveDate>| {
        let mut b = json!({"merchant_id": id, "outcome": outcome});
        if let Some(f) = follow {
            b["next_follow_up"] = json!(f.to_string());
        }
        post(b)
    };
    for req in [
        record(&low, "interested", Some(tomorrow)),
        record(&signed, "visited", Some(tomorrow)),
        record(&planned[0], "closed", None),
        record(
            &planned[1],
            "interested",
            Some(today + chrono::Duration::days(40)),
        ),
        record(&planned[2], "visited", None),
    ] {
        let (s, b) = body_json(test::call_service(&svc, req).await).await;
        assert_eq!(s, 201, "{b}");
    }

    // Tomorrow: the two follow-ups are must-visits; the closed one and the later follow-up
    // are left out with their reasons. Today: the merchant visited today is left out.
    let (s, after) = body_json(
        test::call_service(
            &svc,
            get(format!("/api/outlets/OUT01/plan?date={tomorrow}")),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{after}");
    let ids = stop_ids(&after);
    for must in [&low, &signed] {
        let stop = after["routes"][0]["stops"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["merchant_id"] == must.as_str())
            .unwrap_or_else(|| panic!("follow-up {must} planned: {after}"));
        assert_eq!(stop["must_visit"], true);
        assert_eq!(stop["follow_up"], tomorrow.to_string());
    }
    assert!(!ids.contains(&planned[0]) && !ids.contains(&planned[1]));
    assert_eq!(left(&after, &planned[0]).as_deref(), Some("flagged_closed"));
    assert_eq!(
        left(&after, &planned[1]).as_deref(),
        Some("follow_up_later")
    );
    let (_, now) = body_json(
        test::call_service(&svc, get(format!("/api/outlets/OUT01/plan?date={today}"))).await,
    )
    .await;
    assert_eq!(left(&now, &planned[2]).as_deref(), Some("visited"), "{now}");
    assert!(!stop_ids(&now).contains(&planned[2]));

    // A week from tomorrow: the follow-up comes back on its day and not before; nothing twice.
    let days = ecomap::visits::plan::workdays(tomorrow, 5);
    let third = days[2];
    let (s, b) =
        body_json(test::call_service(&svc, record(&planned[3], "interested", Some(third))).await)
            .await;
    assert_eq!(s, 201, "{b}");
    let (s, week) = body_json(
        test::call_service(
            &svc,
            get(format!(
                "/api/outlets/OUT01/plan/week?from={tomorrow}&days=5"
            )),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{week}");
    let week_days = week["days"].as_array().unwrap();
    assert_eq!(week_days.len(), 5);
    let mut seen = HashSet::new();
    for (d, day) in days.iter().zip(week_days) {
        assert_eq!(day["date"], d.to_string());
        for id in stop_ids(day) {
            assert!(seen.insert(id.clone()), "{id} planned twice in the week");
            assert_eq!(
                app.index().merchants.get(&id).unwrap().owner_org_id(),
                Some("OUT01")
            );
            if id == planned[3] {
                assert_eq!(*d, third, "the follow-up is planned on its day");
            }
        }
    }
    assert!(seen.contains(&planned[3]) && seen.contains(&low));
    assert_eq!(left(&week, &planned[1]).as_deref(), Some("follow_up_later"));

    // The printable page: the day's stops in order, names escaped, its own strict CSP.
    let (_, again) = body_json(
        test::call_service(
            &svc,
            get(format!("/api/outlets/OUT01/plan?date={tomorrow}")),
        )
        .await,
    )
    .await;
    let ids = stop_ids(&again);
    let resp = test::call_service(
        &svc,
        get(format!(
            "/api/outlets/OUT01/plan?date={tomorrow}&format=html"
        )),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let csp = resp
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    let rows: Vec<&str> = html
        .split("<tr data-merchant-id=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    assert_eq!(rows, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(html.contains("已标记停业") && html.contains("拜访路线"));
    // And CSV of the week: one row per stop of every day.
    let resp = test::call_service(
        &svc,
        get(format!(
            "/api/outlets/OUT01/plan/week?from={tomorrow}&format=csv"
        )),
    )
    .await;
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert_eq!(body.lines().count(), 1 + seen.len());
}
both_backends!(follow_ups_and_flags_shape_day_and_week_plans);
