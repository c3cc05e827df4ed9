//! OpenStreetMap imports on both backends, checked against counts made without ecomap: the
//! pyosmium counts shipped with the extract (`*.expected_counts.json`) and a plain `osmpbf`
//! pass in this file. Only the rule for what is a name is restated here (name, name:zh…,
//! brand), to count the POIs an import leaves out for having none.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ecomap::app::{Access, App, AppError, Limits};
use ecomap::auth::{Role, Scope};
use ecomap::domain::{Categories, PipelineStatus};
use ecomap::ingest::osm::{OsmKinds, OsmOptions, OsmReport};
use ecomap::ingest::{ImportKind, ImportOptions};
use ecomap::visits::outcome::{NewVisit, Outcome};
use ecomap::visits_app::Recorder;
use osmpbf::{Element, ElementReader};
use serde_json::Value;

use crate::both_backends;
use crate::support::TestDb;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/osm/");
const EXTRACT: &str = "liechtenstein-2013-08-03.osm.pbf";
const CLIPPED: &str = "vaduz-clipped-renamed.osm.pbf";

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}{name}")).unwrap()
}

fn expected() -> Value {
    let text = std::fs::read_to_string(format!(
        "{DIR}liechtenstein-2013-08-03.expected_counts.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `node:amenity=restaurant` from the JSON's tag counts, 0 when absent.
fn tag_count(json: &Value, key: &str) -> usize {
    json["tag_counts"][key].as_u64().unwrap_or(0) as usize
}

/// One OSM object as the plain pass sees it.
struct Obj {
    id: String,
    tags: HashMap<String, String>,
    /// Way: node ids; relation: member way ids.
    refs: Vec<i64>,
}

impl Obj {
    fn is(&self, key: &str, value: &str) -> bool {
        self.tags
            .get(key)
            .is_some_and(|v| value == "*" || v == value)
    }

    fn named(&self) -> bool {
        [
            "name:zh",
            "name:zh-Hans",
            "name:zh-CN",
            "name:zh-Hant",
            "name",
            "brand:zh",
            "brand",
        ]
        .iter()
        .any(|k| self.tags.get(*k).is_some_and(|v| !v.trim().is_empty()))
    }
}

/// Every tagged object of a file and the ids of its nodes and ways, read with osmpbf alone.
struct Plain {
    objects: Vec<Obj>,
    nodes: HashSet<i64>,
    ways: HashSet<i64>,
}

fn plain(name: &str) -> Plain {
    let mut p = Plain {
        objects: Vec::new(),
        nodes: HashSet::new(),
        ways: HashSet::new(),
    };
    let tags = |t: &mut dyn Iterator<Item = (&str, &str)>| -> HashMap<String, String> {
        t.map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    ElementReader::from_path(format!("{DIR}{name}"))
        .unwrap()
        .for_each(|el| {
            let (id, tags, refs) = match el {
                Element::Node(n) => {
                    p.nodes.insert(n.id());
                    (format!("osm:n{}", n.id()), tags(&mut n.tags()), vec![])
                }
                Element::DenseNode(n) => {
                    p.nodes.insert(n.id());
                    (format!("osm:n{}", n.id()), tags(&mut n.tags()), vec![])
                }
                Element::Way(w) => {
                    p.ways.insert(w.id());
                    (
                        format!("osm:w{}", w.id()),
                        tags(&mut w.tags()),
                        w.refs().collect(),
                    )
                }
                Element::Relation(r) => (
                    format!("osm:r{}", r.id()),
                    tags(&mut r.tags()),
                    r.members().map(|m| m.member_id).collect(),
                ),
            };
            if !tags.is_empty() {
                p.objects.push(Obj { id, tags, refs });
            }
        })
        .unwrap();
    p
}

async fn app(db: &TestDb) -> Arc<App> {
    App::start(
        db.store().await,
        Categories::builtin().unwrap(),
        Limits::default(),
    )
    .await
    .unwrap()
}

fn options() -> OsmOptions {
    OsmOptions::builtin().unwrap()
}

async fn import(
    app: &App,
    name: &str,
    opts: &OsmOptions,
    access: &Access,
) -> Result<OsmReport, AppError> {
    app.import_osm(Some(name), &bytes(name), opts, access, &mut |_| {})
        .await
}

async fn the_extract_imports_what_independent_counts_say_and_again_as_updates(db: &TestDb) {
    let app = app(db).await;
    let json = expected();
    let truth = plain(EXTRACT);
    let mut opts = options();
    opts.our_banks = vec!["Liechtensteinische Landesbank".into()];
    let r = import(&app, EXTRACT, &opts, &Access::system("test"))
        .await
        .unwrap();
    assert_eq!(
        (r.elements.nodes, r.elements.ways, r.elements.relations),
        (
            json["counts_total"]["nodes"].as_u64().unwrap() as usize,
            json["counts_total"]["ways"].as_u64().unwrap() as usize,
            json["counts_total"]["relations"].as_u64().unwrap() as usize,
        )
    );
    let in_index = {
        let index = app.index();

        // Restaurants: every named one is a dining merchant; the unnamed ones are left out and
        // reported (the report's unnamed dining places also include fast food, bakeries…).
        let restaurants: Vec<&Obj> = truth
            .objects
            .iter()
            .filter(|o| o.is("amenity", "restaurant"))
            .collect();
        assert_eq!(
            restaurants.len(),
            tag_count(&json, "node:amenity=restaurant")
                + tag_count(&json, "way:amenity=restaurant")
                + tag_count(&json, "relation:amenity=restaurant")
        );
        let unnamed = restaurants.iter().filter(|o| !o.named()).count();
        let mut imported = 0;
        for o in restaurants.iter().filter(|o| o.named()) {
            let m = index
                .merchants
                .get(&o.id)
                .unwrap_or_else(|| panic!("{}", o.id));
            assert_eq!(m.category(), "dining", "{}", o.id);
            imported += 1;
        }
        assert_eq!(imported, restaurants.len() - unnamed);
        assert!(unnamed > 0, "the extract has unnamed restaurants");
        assert!(r.unnamed_by_category["dining"] >= unnamed);

        // Shops: every named shop is a merchant (of whatever category its tags give).
        let shops: Vec<&Obj> = truth.objects.iter().filter(|o| o.is("shop", "*")).collect();
        assert_eq!(
            shops.len(),
            tag_count(&json, "node:shop=*")
                + tag_count(&json, "way:shop=*")
                + tag_count(&json, "relation:shop=*")
        );
        let named_shops: Vec<&&Obj> = shops.iter().filter(|o| o.named()).collect();
        assert!(named_shops.len() < shops.len());
        for o in &named_shops {
            assert!(index.merchants.get(&o.id).is_some(), "{}", o.id);
        }

        // Banks: the three of the JSON, where it puts them; ours by operator or name.
        let banks = json["amenity_bank_features"].as_array().unwrap();
        assert_eq!(banks.len(), tag_count(&json, "node:amenity=bank"));
        assert_eq!(index.outlets.len(), banks.len());
        for b in banks {
            let id = format!("osm:n{}", b["id"]);
            let o = index.outlets.get(&id).unwrap();
            assert_eq!(o.name, b["name"].as_str().unwrap());
            assert!((o.location.lon() - b["lon"].as_f64().unwrap()).abs() < 1e-6);
            assert!((o.location.lat() - b["lat"].as_f64().unwrap()).abs() < 1e-6);
        }
        let ours: HashSet<&str> = index
            .outlets
            .items()
            .iter()
            .filter(|o| o.is_ours())
            .map(|o| o.id.as_str())
            .collect();
        // n6254 is named "Liechtensteinische Landesbank"; n22526 "LLB Geschäftsstelle Schaan",
        // operated by "Liechtensteinische Landesbank AG"; Volksbank is a competitor.
        assert_eq!(ours, HashSet::from(["osm:n6254", "osm:n22526"]));
        assert_eq!(
            index
                .outlets
                .get("osm:n31651")
                .unwrap()
                .competitor_bank
                .as_deref(),
            Some("Volksbank AG")
        );

        // Residential areas: the JSON's assembled areas, each imported or reported as skipped.
        let areas = json["landuse_residential_features"].as_array().unwrap();
        assert_eq!(
            areas.len(),
            json["landuse_residential_assembled_areas"]
                .as_u64()
                .unwrap() as usize
        );
        let skipped: HashSet<&str> = r
            .skipped_examples
            .iter()
            .filter(|s| s.role == "residential_area")
            .map(|s| s.id.as_str())
            .collect();
        let mut found = 0;
        for a in areas {
            let letter = &a["osm_type"].as_str().unwrap()[..1];
            let id = format!("osm:{letter}{}", a["id"]);
            if let Some(c) = index.communities.get(&id) {
                if let Some(name) = a["name"].as_str() {
                    assert_eq!(c.name, name);
                }
                found += 1;
            } else {
                assert!(
                    skipped.contains(id.as_str()),
                    "{id} neither imported nor skipped"
                );
            }
        }
        assert_eq!(found + r.skipped_of("residential_area"), areas.len());
        assert_eq!(found, areas.len(), "no area of the whole extract is broken");

        // Counts per kind, and households flagged as estimates that add up.
        assert_eq!(r.merchants.found, index.merchants.len());
        assert_eq!(r.communities.found, index.communities.len());
        assert_eq!(
            (
                r.merchants.inserted,
                r.communities.inserted,
                r.outlets.inserted
            ),
            (r.merchants.found, r.communities.found, r.outlets.found)
        );
        assert_eq!(
            r.merchants_by_category.values().sum::<usize>(),
            r.merchants.found
        );
        assert!(r.households.estimated);
        assert_eq!(
            r.households.total,
            index
                .communities
                .items()
                .iter()
                .map(|c| u64::from(c.households))
                .sum::<u64>()
        );
        (
            index.merchants.len(),
            index.communities.len(),
            index.outlets.len(),
        )
    };
    let stored = app.store.load().await.unwrap();
    assert_eq!(
        (
            stored.merchants.len(),
            stored.communities.len(),
            stored.outlets.len()
        ),
        in_index
    );

    // Again: the same rows, all updated, none new; nothing else changes.
    let again = import(&app, EXTRACT, &opts, &Access::system("test"))
        .await
        .unwrap();
    for (k, first) in [
        (again.merchants, r.merchants),
        (again.communities, r.communities),
        (again.outlets, r.outlets),
    ] {
        assert_eq!((k.inserted, k.updated), (0, first.found));
    }
    assert_eq!(app.store.load().await.unwrap().merchants, stored.merchants);
}
both_backends!(the_extract_imports_what_independent_counts_say_and_again_as_updates);

/// A newer, clipped extract of part of the country: the objects it holds whole are updated
/// (one restaurant got a Chinese name), none is new, and those cut at its edge are skipped
/// and counted, as a plain pass over the file counts them.
async fn a_clipped_newer_extract_updates_by_osm_id_and_counts_what_it_cut(db: &TestDb) {
    let app = app(db).await;
    let sys = Access::system("test");
    import(&app, EXTRACT, &options(), &sys).await.unwrap();
    let before = app
        .index()
        .merchants
        .get("osm:n5257")
        .unwrap()
        .to_merchant();
    assert_eq!(before.name, "Ratskeller");
    // Meanwhile the bank signed it and counted its footfall (a CSV import with the OSM id).
    let csv = format!(
        "id,name,category,lon,lat,status,footfall\nosm:n5257,Ratskeller,dining,{},{},已签约,300\n",
        before.location.lon(),
        before.location.lat()
    );
    app.import(
        ImportKind::Merchants,
        Some("signed.csv"),
        csv.as_bytes(),
        &ImportOptions::default(),
        &sys,
        &mut |_| {},
    )
    .await
    .unwrap();
    // … and staff visited another restaurant of the box, which is now interested.
    let truth = plain(CLIPPED);
    let visited = truth
        .objects
        .iter()
        .find(|o| o.id != "osm:n5257" && o.is("amenity", "restaurant") && o.named())
        .unwrap()
        .id
        .clone();
    app.record_visit(
        Recorder {
            username: "staff".into(),
            user_id: None,
            display_name: None,
            scope: Scope::All,
        },
        NewVisit {
            merchant_id: visited.clone(),
            outcome: Outcome::Interested,
            reason: None,
            notes: None,
            next_follow_up: Some(chrono::Utc::now().date_naive() + chrono::Days::new(7)),
            visited_at: chrono::Utc::now(),
            owner_name: None,
            owner_phone: None,
            client_id: None,
        },
    )
    .await
    .unwrap();
    let r = import(&app, CLIPPED, &options(), &sys).await.unwrap();
    assert_eq!(
        (
            r.merchants.inserted,
            r.communities.inserted,
            r.outlets.inserted
        ),
        (0, 0, 0)
    );
    // The visit's status stays, and the import added no event of its own.
    assert_eq!(
        app.index().merchants.get(&visited).unwrap().status(),
        PipelineStatus::Interested
    );
    let (_, events) = app.store.merchant_events(&visited).await.unwrap();
    assert_eq!(events.len(), 1);
    assert!(r.merchants.updated > 50, "{}", r.merchants.updated);
    // OSM gives the name; the bank's pipeline status and figures stay.
    let after = app
        .index()
        .merchants
        .get("osm:n5257")
        .unwrap()
        .to_merchant();
    assert_eq!(after.name, "市政厅酒窖餐厅");
    assert_eq!(after.location, before.location);
    assert_eq!(after.status, PipelineStatus::Signed);
    assert_eq!(after.footfall_daily, Some(300));
    let stored = app.store.load().await.unwrap();
    let stored = stored
        .merchants
        .iter()
        .find(|m| m.id == "osm:n5257")
        .unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.status, stored.footfall_daily),
        ("市政厅酒窖餐厅", PipelineStatus::Signed, Some(300))
    );

    let cut: HashSet<&str> = truth
        .objects
        .iter()
        .filter(|o| o.id.starts_with("osm:w") && o.is("landuse", "residential"))
        .filter(|o| o.refs.iter().any(|n| !truth.nodes.contains(n)))
        .map(|o| o.id.as_str())
        .collect();
    assert!(!cut.is_empty(), "the box cuts a residential area");
    let reported: HashSet<&str> = r
        .skipped_examples
        .iter()
        .filter(|s| s.role == "residential_area")
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(reported, cut);
    assert_eq!(r.skipped["residential_area"]["missing_nodes"], cut.len());
    // Every skipped object of any role is one the plain pass finds cut.
    for s in &r.skipped_examples {
        let o = truth.objects.iter().find(|o| o.id == s.id).unwrap();
        let whole = if s.id.starts_with("osm:w") {
            o.refs.iter().all(|n| truth.nodes.contains(n))
        } else {
            o.refs.iter().all(|w| truth.ways.contains(w))
        };
        assert!(!whole, "{} was skipped ({}) but is whole", s.id, s.reason);
    }
    // The cut area keeps its row from the whole extract.
    for id in &cut {
        assert!(app.index().communities.get(id).is_some(), "{id}");
    }
}
both_backends!(a_clipped_newer_extract_updates_by_osm_id_and_counts_what_it_cut);

async fn a_file_that_is_not_a_whole_pbf_is_refused_and_nothing_is_written(db: &TestDb) {
    let app = app(db).await;
    let sys = Access::system("test");
    let whole = bytes(EXTRACT);
    let garbage = b"id,name,lon,lat\nX,not osm,9.5,47.1\n".to_vec();
    for (what, data) in [
        ("truncated", whole[..whole.len() * 2 / 3].to_vec()),
        ("garbage", garbage),
        ("empty", Vec::new()),
    ] {
        let e = app
            .import_osm(Some(what), &data, &options(), &sys, &mut |_| {})
            .await
            .unwrap_err();
        let AppError::Import(e) = e else {
            panic!("{what}: {e}");
        };
        assert_eq!(e.errors[0].field, "file", "{what}");
        assert!(
            e.errors[0].reason.contains("PBF"),
            "{what}: {}",
            e.errors[0].reason
        );
    }
    let ds = app.store.load().await.unwrap();
    assert!(ds.merchants.is_empty() && ds.communities.is_empty() && ds.outlets.is_empty());
    let imports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM imports")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(imports, 0);
}
both_backends!(a_file_that_is_not_a_whole_pbf_is_refused_and_nothing_is_written);

async fn branch(app: &App, node: &str) -> Access {
    let user = app
        .store
        .create_user(
            &format!("osm_{node}"),
            "osm",
            "x",
            Role::Branch,
            Some(node),
            false,
        )
        .await
        .unwrap();
    Access {
        actor: user.username.clone(),
        scope: app.scope_of(&user),
        default_owner: user.org_node_id.clone(),
        may_change_org: false,
        client: None,
    }
}

/// A branch user imports merchants and communities into their own unit, never outlets; what
/// another branch imported first stays theirs.
async fn branch_users_import_into_their_scope_and_never_outlets(db: &TestDb) {
    let app = crate::api::demo_app(db).await;
    let (sb01, sb02) = (branch(&app, "SB01").await, branch(&app, "SB02").await);
    let outlets_before = app.index().outlets.len();
    let e = import(&app, EXTRACT, &options(), &sb01).await.unwrap_err();
    assert!(matches!(e, AppError::Forbidden(_)), "{e}");
    assert_eq!(app.index().outlets.len(), outlets_before);

    let mut opts = options();
    opts.kinds = "merchants,communities".parse::<OsmKinds>().unwrap();
    // An owner outside the user's scope is refused, and nothing is written.
    let mut elsewhere = opts.clone();
    elsewhere.owner = Some("SB02".into());
    let e = import(&app, EXTRACT, &elsewhere, &sb01).await.unwrap_err();
    assert!(matches!(e, AppError::Import(_)), "{e}");
    assert!(app.index().merchants.get("osm:n5257").is_none());

    let r = import(&app, EXTRACT, &opts, &sb01).await.unwrap();
    assert_eq!(r.outlets.found, 0);
    assert!(r.merchants.inserted > 0);
    {
        let index = app.index();
        assert_eq!(index.outlets.len(), outlets_before);
        let m = index.merchants.get("osm:n5257").unwrap();
        assert_eq!(m.owner_org_id(), Some("SB01"));
        let c = index.communities.get("osm:w241").unwrap();
        assert_eq!(c.owner_org_id.as_deref(), Some("SB01"));
    }
    // The other branch's import leaves SB01's rows alone and says so.
    let r2 = import(&app, EXTRACT, &opts, &sb02).await.unwrap();
    assert_eq!(
        (r2.merchants.inserted, r2.merchants.updated),
        (0, 0),
        "{:?}",
        r2.merchants
    );
    assert_eq!(r2.merchants.kept_other_owner, r.merchants.found);
    assert_eq!(r2.communities.kept_other_owner, r.communities.found);
    assert_eq!(
        app.index()
            .merchants
            .get("osm:n5257")
            .unwrap()
            .owner_org_id(),
        Some("SB01")
    );
}
both_backends!(branch_users_import_into_their_scope_and_never_outlets);

/// The walking network comes with an administrator's import, is stored, survives a restart,
/// and the API then walks the streets: isochrones say `street_network` and are nested, a plan's
/// legs too; without a network both say straight line × detour.
async fn the_imported_network_is_used_and_said(db: &TestDb) {
    use actix_web::{test, App as ActixApp};
    let first = app(db).await;
    let check = |a: Arc<App>| async move {
        let a2 = a.clone();
        let svc = test::init_service(
            ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
        )
        .await;
        let token = crate::api::bearer(&a, Role::Admin, None, false).await;
        let req = test::TestRequest::get()
            .uri("/api/outlets/osm:n6254/isochrones?minutes=5,10,15")
            .insert_header(token.clone())
            .to_request();
        let (s, iso) = crate::api::body_json(test::call_service(&svc, req).await).await;
        (s, iso, svc, token)
    };
    // No network yet: the outlet is not there either, so import as an administrator.
    let mut opts = options();
    opts.our_banks = vec!["Liechtensteinische Landesbank".into()];
    let r = import(&first, EXTRACT, &opts, &Access::system("test"))
        .await
        .unwrap();
    let built = r
        .network
        .expect("an administrator's import stores the network");
    assert!(built["edges"].as_u64().unwrap_or(0) > 1000, "{built}");
    drop(first);
    // A restart loads it from the database.
    let again = app(db).await;
    let (s, iso, svc, token) = check(again.clone()).await;
    assert_eq!(s, 200, "{iso}");
    assert_eq!(iso["distance"], "street_network");
    let areas: Vec<f64> = iso["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["area_m2"].as_f64().unwrap())
        .collect();
    assert_eq!(areas.len(), 3);
    assert!(
        areas[0] > 0.0 && areas[0] < areas[1] && areas[1] < areas[2],
        "{areas:?}"
    );
    // A street network's 15-minute area is smaller than the straight-line circle of the same
    // walk (1,125 m at 4.5 km/h, as the crow flies ÷ 1.3).
    let circle = std::f64::consts::PI * (1125.0f64 / 1.3).powi(2);
    assert!(areas[2] < circle, "{} vs {circle}", areas[2]);
    let req = test::TestRequest::get()
        .uri("/api/outlets/osm:n6254/plan?date=2026-12-01")
        .insert_header(token.clone())
        .to_request();
    let (s, plan) = crate::api::body_json(test::call_service(&svc, req).await).await;
    assert_eq!(s, 200, "{plan}");
    assert_eq!(plan["distance"], "street_network");
}
both_backends!(the_imported_network_is_used_and_said);

/// Without an imported network, everything says it is straight line × detour.
async fn without_a_network_distances_are_straight_lines_and_say_so(db: &TestDb) {
    use actix_web::{test, App as ActixApp};
    let a = crate::api::demo_app(db).await;
    let a2 = a.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let token = crate::api::bearer(&a, Role::Admin, None, false).await;
    let req = test::TestRequest::get()
        .uri("/api/outlets/OUT01/isochrones")
        .insert_header(token.clone())
        .to_request();
    let (s, iso) = crate::api::body_json(test::call_service(&svc, req).await).await;
    assert_eq!(s, 200, "{iso}");
    assert_eq!(iso["distance"], "straight_line_x_detour");
    let feats = iso["features"].as_array().unwrap();
    // The life circles: 300/500/1000 m walking as circles of radius walk / 1.3.
    for (f, walk) in feats.iter().zip([300.0, 500.0, 1000.0]) {
        let r: f64 = walk / 1.3;
        let area = f["properties"]["area_m2"].as_f64().unwrap();
        let want = std::f64::consts::PI * r * r;
        assert!((area - want).abs() / want < 0.02, "{area} vs {want}");
    }
    let req = test::TestRequest::get()
        .uri("/api/outlets/OUT01/plan")
        .insert_header(token.clone())
        .to_request();
    let (_, plan) = crate::api::body_json(test::call_service(&svc, req).await).await;
    assert_eq!(plan["distance"], "straight_line_x_detour");
    // Bad times name the parameter; another branch's outlet is not there for OUT01's staff.
    for bad in ["abc", "0", "90", "1,2,3,4,5,6,7"] {
        let req = test::TestRequest::get()
            .uri(&format!("/api/outlets/OUT01/isochrones?minutes={bad}"))
            .insert_header(token.clone())
            .to_request();
        let (s, e) = crate::api::body_json(test::call_service(&svc, req).await).await;
        assert_eq!(
            (s, e["param"].as_str()),
            (400, Some("minutes")),
            "{bad}: {e}"
        );
    }
    let staff = crate::api::bearer(&a, Role::Staff, Some("OUT01"), false).await;
    for (outlet, want) in [("OUT01", 200), ("OUT03", 404)] {
        let req = test::TestRequest::get()
            .uri(&format!("/api/outlets/{outlet}/isochrones?minutes=5"))
            .insert_header(staff.clone())
            .to_request();
        let (s, _) = crate::api::body_json(test::call_service(&svc, req).await).await;
        assert_eq!(s, want, "{outlet}");
    }
}
both_backends!(without_a_network_distances_are_straight_lines_and_say_so);

/// On an imported network the life circles are walked: every circle says `street_network`, is
/// drawn as the isochrone of its walking metres, and counts exactly the merchants, communities
/// and households whose walk from the outlet (asked one by one, independently of the circle
/// code) is within it; the community coverage counts the communities within the outer walk.
async fn life_circles_on_the_network_count_what_the_streets_reach(db: &TestDb) {
    use actix_web::{test, App as ActixApp};
    let a = app(db).await;
    let mut opts = options();
    opts.our_banks = vec!["Liechtensteinische Landesbank".into()];
    import(&a, EXTRACT, &opts, &Access::system("test"))
        .await
        .unwrap();
    let a2 = a.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let token = crate::api::bearer(&a, Role::Admin, None, false).await;
    let get = |uri: String| {
        test::TestRequest::get()
            .uri(&uri)
            .insert_header(token.clone())
            .to_request()
    };
    let walking = a.walking();
    assert_eq!(walking.model(), "street_network");
    let mut checked_outlets = 0;
    // Circles that the straight line × detour would have counted differently.
    let mut differ = 0;
    let outlets: Vec<(String, ecomap::domain::Location)> = a
        .index()
        .outlets
        .items()
        .iter()
        .map(|o| (o.id.clone(), o.location))
        .collect();
    for (id, at) in outlets {
        let (s, c) = crate::api::body_json(
            test::call_service(&svc, get(format!("/api/outlets/{id}/circles"))).await,
        )
        .await;
        assert_eq!(s, 200, "{c}");
        let on_network = match &walking {
            ecomap::network::Walking::Network(n) => n.snap(at).is_some(),
            _ => false,
        };
        let want_model = if on_network {
            "street_network"
        } else {
            "straight_line_x_detour"
        };
        assert_eq!(c["distance"], want_model, "{id}");
        let feats = c["features"].as_array().unwrap();
        assert_eq!(feats.len(), 3);
        let (merchants, communities, straight): (Vec<_>, Vec<_>, Vec<_>) = {
            let index = a.index();
            (
                index
                    .merchants
                    .table()
                    .to_vec()
                    .iter()
                    .map(|m| walking.distance(at, m.location).metres)
                    .collect(),
                index
                    .communities
                    .items()
                    .iter()
                    .map(|c| (walking.distance(at, c.location).metres, c.households))
                    .collect(),
                index
                    .merchants
                    .table()
                    .to_vec()
                    .iter()
                    .map(|m| m.location.distance_m(&at) * walking.detour())
                    .collect(),
            )
        };
        for f in feats {
            let p = &f["properties"];
            let walk = p["walking_m"].as_f64().unwrap();
            assert_eq!(p["distance"], want_model);
            if on_network {
                assert_eq!(f["geometry"]["type"], "MultiPolygon", "{id}");
            }
            let n = merchants.iter().filter(|&&d| d <= walk).count() as u64;
            assert_eq!(p["merchants"].as_u64(), Some(n), "{id} {walk} m");
            differ += usize::from(straight.iter().filter(|&&d| d <= walk).count() as u64 != n);
            let near: Vec<_> = communities.iter().filter(|(d, _)| *d <= walk).collect();
            assert_eq!(p["communities"].as_u64(), Some(near.len() as u64), "{id}");
            let hh: u64 = near.iter().map(|(_, h)| u64::from(*h)).sum();
            assert_eq!(p["households"].as_u64(), Some(hh), "{id}");
            if walk == 1000.0 {
                assert_eq!(
                    c["community_coverage"]["communities"].as_u64(),
                    Some(near.len() as u64),
                    "{id}"
                );
            }
        }
        if on_network {
            checked_outlets += 1;
        }
    }
    assert!(
        checked_outlets >= 3,
        "{checked_outlets} outlets on the network"
    );
    assert!(differ > 0, "the streets change some circle's count");
}
both_backends!(life_circles_on_the_network_count_what_the_streets_reach);
