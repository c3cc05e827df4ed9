//! Issue 6: the counts in circles, hexes and areas agree with an independent spatial database.
//!
//! The same data (the Leshan demo, then a larger generated city) is loaded into ecomap and into
//! a fresh PostgreSQL database with PostGIS. ecomap's figures come from its HTTP API (the
//! answer path of the map app); PostGIS's come from plain SQL over `geometry`/`geography`
//! columns (`ST_DWithin`, `ST_Contains`, `ST_Covers`), with no ecomap code on that side. Every
//! outlet, area, drawn polygon and hex is compared, and the first mismatches are reported with
//! ids and distances.
//!
//! The models being compared, and how PostGIS is asked for the same thing:
//!
//! - **Distances** are great-circle distances on a sphere. ecomap's sphere has the radius
//!   [`EARTH_RADIUS_M`] (6,371,008.8 m, geo's mean radius); PostGIS's `use_spheroid = false`
//!   sphere has (2a + b) / 3 of WGS-84 (6,371,008.7714 m). The same angle is 4.5e-9 shorter
//!   there (3.5 µm at 769 m), so PostGIS is asked `ST_DWithin(m, o, r · R_pg / R_ecomap,
//!   false)`: exactly "within `r` on ecomap's sphere". The test also reports how many pairs the
//!   uncorrected radius would have got wrong, and how near to a circle's edge the data comes.
//! - **Circles** are 300/500/1000 m walks searched as straight-line radii walk / 1.3 (the
//!   detour factor of `data/scoring.toml`), edge included (`d <= r`). Communities count by their
//!   representative point.
//! - **Areas** (stored or drawn) hold the points strictly inside: geo's `Contains`, like OGC
//!   `ST_Contains`, leaves out points on the outline. PostGIS counts with `ST_Contains` on
//!   `geometry` (SRID 4326, planar in degrees, as geo is); the points on an outline are counted
//!   and reported. Drawn rectangles put merchants exactly on an edge and on a corner, and drawn
//!   stars have merchants as vertices, so the boundary rule is exercised on purpose.
//! - **Hexes** are H3 cells. PostGIS counts the points that the hex polygon the API returns
//!   covers (`ST_Covers` on `geometry`), within the query's region (PostGIS decides the region
//!   too). A returned ring is the cell's vertices joined by straight lines in degrees, whereas
//!   H3's true edges are great-circle arcs (straight in its gnomonic projection): the two differ
//!   by up to a few millimetres at res 8. A point in that sliver is the only allowed
//!   disagreement: each such merchant must lie within [`HEX_EDGE_TOLERANCE_M`] of the ring, and
//!   `ST_Covers` on `geography` (great-circle edges) must place it where ecomap does. Everything
//!   else must be equal, and every merchant of a region must be covered by exactly one hex.
//!   Grids are asked at res 8, 9 and 10 around every outlet of ours, at res 10 over every stored
//!   area, and at res 8 and 9 over a box whose edges run through merchants. When a grid
//!   differs, the report says whether ecomap's counts are those of each item's res-9 cell's
//!   parent, which is not always the hexagon that holds the item (H3 cells do not nest exactly).
//!
//! Runs in about 25 s on an idle machine (debug build): the demo, then a generated city of
//! 40,000 merchants, 40 outlets and 400 communities (seed 7), plus 540 merchants placed 1 mm,
//! 20 µm and 2 µm inside and outside each circle of each outlet of ours.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, App as ActixApp};
use ecomap::app::{App, Limits};
use ecomap::auth::Role;
use ecomap::domain::{Categories, CommunityShape, Dataset, Location};
use ecomap::gen::{generate, GenConfig};
use ecomap::index::EARTH_RADIUS_M;
use serde_json::{json, Value};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Row};

use crate::api::{bearer, body_json};
use crate::support::{pg_admin_url, TestDb};

/// The life circles' walks (data/coverage.toml) and the detour factor (data/scoring.toml).
const WALKS_M: [f64; 3] = [300.0, 500.0, 1000.0];
const DETOUR: f64 = 1.3;

/// How far from a hex's straight-edged ring a merchant may be when ecomap (H3, great-circle
/// edges) and PostGIS (`geometry`, straight edges in degrees) put it in different hexes. The
/// gap between an edge of length L and its chord in degrees is about L² tan(lat) / 8R: 2 mm for
/// a res-8 edge (461 m) at Leshan's 29.6°N; 5 cm leaves room for any latitude in China.
const HEX_EDGE_TOLERANCE_M: f64 = 0.05;

/// Pairs closer than this to a circle's edge are beyond what two floating-point evaluations of
/// the same distance can be trusted to order the same way; the test insists there are none.
const CIRCLE_AMBIGUITY_M: f64 = 1e-6;

const SIGNED: [&str; 2] = ["signed", "active"];
const PROSPECT: [&str; 3] = ["prospect", "visited", "interested"];

// ---------------------------------------------------------------------------------------------
// The PostGIS database.

/// A database of its own on the test server, with PostGIS; dropped when the value is.
struct PostGis {
    name: String,
    pool: PgPool,
    /// `R_pg / R_ecomap`: multiply an ecomap radius by it to ask PostGIS's sphere.
    scale: f64,
}

impl PostGis {
    async fn create() -> Self {
        let admin = pg_admin_url();
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("the PostGIS test needs a PostgreSQL server at {admin} (ECOMAP_TEST_PG): {e}")
        });
        let available: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
                .fetch_optional(&mut conn)
                .await
                .unwrap();
        assert!(
            available.is_some(),
            "PostGIS is not installed on the PostgreSQL server at {admin}. This test never \
             skips: install it (Debian: apt-get install postgresql-15-postgis-3, as .ci/run does)"
        );
        let name = format!(
            "ecomap_postgis_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let base = admin.rsplit_once('/').unwrap().0;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(&format!("{base}/{name}"))
            .await
            .unwrap();
        let mut db = Self {
            name,
            pool,
            scale: 1.0,
        };
        sqlx::query("CREATE EXTENSION postgis")
            .execute(&db.pool)
            .await
            .unwrap();
        // PostGIS's sphere, measured: one radian of a meridian.
        let r_pg: f64 = sqlx::query_scalar(
            "SELECT ST_Distance('SRID=4326;POINT(0 0)'::geography, \
             'SRID=4326;POINT(0 1)'::geography, false) / radians(1)",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert!((r_pg - EARTH_RADIUS_M).abs() < 1.0, "PostGIS sphere {r_pg}");
        db.scale = r_pg / EARTH_RADIUS_M;
        let version: String = sqlx::query_scalar("SELECT postgis_lib_version()")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        println!(
            "PostGIS {version} in {}: sphere radius {r_pg} m, ecomap's {EARTH_RADIUS_M} m",
            db.name
        );
        db
    }

    /// (Re)creates the tables and loads what ecomap's store holds.
    async fn load(&self, ds: &Dataset) {
        sqlx::raw_sql(
            "DROP TABLE IF EXISTS merchants, communities, outlets, areas, hexes, region_m, region_c;
             CREATE TABLE merchants (id text PRIMARY KEY, category text NOT NULL,
                 status text NOT NULL, geom geometry(Point, 4326) NOT NULL,
                 geog geography(Point, 4326) NOT NULL);
             CREATE TABLE communities (id text PRIMARY KEY, households int8 NOT NULL,
                 geom geometry(Point, 4326) NOT NULL, geog geography(Point, 4326) NOT NULL);
             CREATE TABLE outlets (id text PRIMARY KEY, ours bool NOT NULL,
                 geom geometry(Point, 4326) NOT NULL, geog geography(Point, 4326) NOT NULL);
             CREATE TABLE areas (id text PRIMARY KEY, geom geometry(Polygon, 4326) NOT NULL);
             CREATE TABLE hexes (q int4, cell text, geom geometry(Polygon, 4326) NOT NULL,
                 PRIMARY KEY (q, cell));
             CREATE TABLE region_m (q int4, id text, PRIMARY KEY (q, id));
             CREATE TABLE region_c (q int4, id text, PRIMARY KEY (q, id));",
        )
        .execute(&self.pool)
        .await
        .unwrap();

        let (lon, lat) = lon_lat(ds.merchants.iter().map(|m| m.location));
        sqlx::query(
            "INSERT INTO merchants (id, category, status, geom, geog)
             SELECT id, category, status, p, p::geography
             FROM (SELECT id, category, status, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS p
                   FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[])
                        AS t(id, category, status, lon, lat)) s",
        )
        .bind(
            ds.merchants
                .iter()
                .map(|m| m.id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            ds.merchants
                .iter()
                .map(|m| m.category.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            ds.merchants
                .iter()
                .map(|m| m.status.code().to_string())
                .collect::<Vec<_>>(),
        )
        .bind(lon)
        .bind(lat)
        .execute(&self.pool)
        .await
        .unwrap();

        let (lon, lat) = lon_lat(ds.communities.iter().map(|c| c.location));
        sqlx::query(
            "INSERT INTO communities (id, households, geom, geog)
             SELECT id, households, p, p::geography
             FROM (SELECT id, households, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS p
                   FROM unnest($1::text[], $2::int8[], $3::float8[], $4::float8[])
                        AS t(id, households, lon, lat)) s",
        )
        .bind(
            ds.communities
                .iter()
                .map(|c| c.id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            ds.communities
                .iter()
                .map(|c| i64::from(c.households))
                .collect::<Vec<_>>(),
        )
        .bind(lon)
        .bind(lat)
        .execute(&self.pool)
        .await
        .unwrap();

        let (lon, lat) = lon_lat(ds.outlets.iter().map(|o| o.location));
        sqlx::query(
            "INSERT INTO outlets (id, ours, geom, geog)
             SELECT id, ours, p, p::geography
             FROM (SELECT id, ours, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS p
                   FROM unnest($1::text[], $2::bool[], $3::float8[], $4::float8[])
                        AS t(id, ours, lon, lat)) s",
        )
        .bind(ds.outlets.iter().map(|o| o.id.clone()).collect::<Vec<_>>())
        .bind(ds.outlets.iter().map(|o| o.is_ours()).collect::<Vec<_>>())
        .bind(lon)
        .bind(lat)
        .execute(&self.pool)
        .await
        .unwrap();

        let areas: Vec<(String, Vec<Vec<[f64; 2]>>)> = ds
            .areas
            .iter()
            .map(|a| (a.id.clone(), a.polygon.rings()))
            .collect();
        self.insert_polygons(&areas).await;

        sqlx::raw_sql(
            "CREATE INDEX ON merchants USING gist (geom);
             CREATE INDEX ON merchants USING gist (geog);
             CREATE INDEX ON communities USING gist (geom);
             CREATE INDEX ON communities USING gist (geog);
             ANALYZE merchants; ANALYZE communities; ANALYZE outlets; ANALYZE areas;",
        )
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// Adds polygons to `areas` (as exact EWKB: no decimal round trip) and checks that PostGIS
    /// finds them valid too.
    async fn insert_polygons(&self, polygons: &[(String, Vec<Vec<[f64; 2]>>)]) {
        let ids: Vec<String> = polygons.iter().map(|p| p.0.clone()).collect();
        let wkb: Vec<Vec<u8>> = polygons.iter().map(|p| ewkb_polygon(&p.1)).collect();
        sqlx::query(
            "INSERT INTO areas (id, geom)
             SELECT id, ST_GeomFromEWKB(wkb) FROM unnest($1::text[], $2::bytea[]) AS t(id, wkb)",
        )
        .bind(ids)
        .bind(wkb)
        .execute(&self.pool)
        .await
        .unwrap();
        let invalid: Vec<String> =
            sqlx::query_scalar("SELECT id FROM areas WHERE NOT ST_IsValid(geom) ORDER BY id")
                .fetch_all(&self.pool)
                .await
                .unwrap();
        assert!(invalid.is_empty(), "PostGIS finds invalid: {invalid:?}");
    }
}

impl Drop for PostGis {
    fn drop(&mut self) {
        // Also on a panic: on a thread of its own, since the test's runtime may be unwinding.
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&pg_admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                }
            });
        })
        .join();
    }
}

fn lon_lat(points: impl Iterator<Item = Location>) -> (Vec<f64>, Vec<f64>) {
    points.map(|p| (p.lon(), p.lat())).unzip()
}

/// A polygon as little-endian EWKB with SRID 4326.
fn ewkb_polygon(rings: &[Vec<[f64; 2]>]) -> Vec<u8> {
    let mut b = vec![1u8];
    b.extend((3u32 | 0x2000_0000).to_le_bytes());
    b.extend(4326u32.to_le_bytes());
    b.extend((rings.len() as u32).to_le_bytes());
    for ring in rings {
        b.extend((ring.len() as u32).to_le_bytes());
        for [x, y] in ring {
            b.extend(x.to_le_bytes());
            b.extend(y.to_le_bytes());
        }
    }
    b
}

// ---------------------------------------------------------------------------------------------
// ecomap's answers over HTTP.

async fn call<S, R, E>(svc: &S, req: R, what: &str) -> Value
where
    S: Service<R, Response = ServiceResponse, Error = E>,
    E: std::fmt::Debug,
{
    let (status, v) = body_json(test::call_service(svc, req).await).await;
    assert_eq!(status, 200, "{what}: {v}");
    v
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// What one life circle holds, as ecomap reports it and as PostGIS counts it.
#[derive(Debug, Default, PartialEq)]
struct CircleCounts {
    merchants: u64,
    signed: u64,
    /// Non-zero statuses only.
    by_status: BTreeMap<String, u64>,
    /// category → (total, signed)
    by_category: BTreeMap<String, (u64, u64)>,
    communities: u64,
    households: u64,
    /// Nearest first.
    competitor_outlets: Vec<String>,
}

impl CircleCounts {
    fn from_api(p: &Value) -> Self {
        Self {
            merchants: u(&p["merchants"]),
            signed: u(&p["signed"]),
            by_status: p["by_status"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), u(v)))
                .filter(|&(_, n)| n > 0)
                .collect(),
            by_category: p["by_category"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), (u(&v["total"]), u(&v["signed"]))))
                .collect(),
            communities: u(&p["communities"]),
            households: u(&p["households"]),
            competitor_outlets: p["competitor_outlets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect(),
        }
    }
}

/// The merchants inside an area, as the survey reports them.
#[derive(Debug, Default, PartialEq)]
struct AreaCounts {
    merchants: u64,
    signed: u64,
    /// category → (count, signed)
    mix: BTreeMap<String, (u64, u64)>,
}

impl AreaCounts {
    fn from_api(s: &Value) -> Self {
        Self {
            merchants: u(&s["merchants"]),
            signed: u(&s["signed"]),
            mix: s["mix"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["code"].as_str().unwrap().to_string(),
                        (u(&r["count"]), u(&r["signed"])),
                    )
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct HexCounts {
    merchants: u64,
    signed: u64,
    prospects: u64,
    households: u64,
}

/// A grid request and the region PostGIS selects for it.
#[derive(Debug, Clone)]
enum Region {
    /// Our outlet's 15-minute circle.
    Outlet(String),
    /// A stored area (strictly inside).
    Area(String),
    /// `[min_lon, min_lat, max_lon, max_lat]`, edges included.
    BBox([f64; 4]),
}

struct GridQuery {
    region: Region,
    resolution: u8,
    /// cell → counts and the ring as returned.
    hexes: BTreeMap<String, (HexCounts, Vec<[f64; 2]>)>,
}

impl GridQuery {
    fn uri(&self) -> String {
        let r = match &self.region {
            Region::Outlet(id) => format!("outlet={id}"),
            Region::Area(id) => format!("area={id}"),
            Region::BBox(b) => format!("bbox={},{},{},{}", b[0], b[1], b[2], b[3]),
        };
        format!("/api/coverage/grid?{r}&resolution={}", self.resolution)
    }
}

/// Polygons drawn for the survey endpoint, chosen to put merchants on outlines.
fn drawn_polygons(ds: &Dataset, communities: usize, every: usize) -> Vec<Vec<Vec<[f64; 2]>>> {
    let mut out = Vec::new();
    // Real-shaped polygons: the communities' footprints.
    for c in ds.communities.iter().take(communities) {
        if let CommunityShape::Polygon(p) = &c.shape {
            out.push(p.rings());
        }
    }
    let mut by_id: Vec<&ecomap::domain::Merchant> = ds.merchants.iter().collect();
    by_id.sort_by(|a, b| a.id.cmp(&b.id));
    let d = 0.002; // about 200 m
    for m in by_id.iter().step_by(every) {
        let (x, y) = (m.location.lon(), m.location.lat());
        // The merchant on the middle of the west edge, on the south edge, and on a corner.
        out.push(rect(x, y - d, x + 2.0 * d, y + d));
        out.push(rect(x - d, y, x + d, y + 2.0 * d));
        out.push(rect(x, y, x + d, y + d));
    }
    // Stars whose vertices are merchants: the nearest merchant in each 45° sector around an
    // outlet, within 400 m, joined in angle order (a simple polygon around the outlet).
    for o in &ds.outlets {
        let mut best: [Option<(f64, f64, [f64; 2])>; 8] = [None; 8];
        for m in &ds.merchants {
            let dist = o.location.distance_m(&m.location);
            if !(1.0..=400.0).contains(&dist) {
                continue;
            }
            let dx = (m.location.lon() - o.location.lon()) * o.location.lat().to_radians().cos();
            let dy = m.location.lat() - o.location.lat();
            let angle = dy.atan2(dx).rem_euclid(std::f64::consts::TAU);
            let sector = ((angle / std::f64::consts::FRAC_PI_4) as usize).min(7);
            if best[sector].is_none_or(|b| dist < b.0) {
                best[sector] = Some((dist, angle, m.location.to_array()));
            }
        }
        let mut ring: Vec<(f64, [f64; 2])> = best.iter().flatten().map(|b| (b.1, b.2)).collect();
        if ring.len() < 6 {
            continue;
        }
        ring.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut pts: Vec<[f64; 2]> = ring.into_iter().map(|r| r.1).collect();
        pts.push(pts[0]);
        out.push(vec![pts]);
    }
    out
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<Vec<[f64; 2]>> {
    vec![vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]
}

// ---------------------------------------------------------------------------------------------
// The comparison.

/// Mismatches of one kind: how many, and the first few described.
#[derive(Default)]
struct Mismatches {
    count: usize,
    first: Vec<String>,
}

impl Mismatches {
    fn push(&mut self, what: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.len() < 5 {
            self.first.push(what());
        }
    }

    fn report(&self, label: &str, out: &mut String) {
        if self.count > 0 {
            let _ = writeln!(out, "{label}: {} mismatches; the first:", self.count);
            for m in &self.first {
                let _ = writeln!(out, "  {m}");
            }
        }
    }
}

/// Loads `app`'s stored data into PostGIS and compares circles, areas and hexes.
async fn compare(label: &str, app: &Arc<App>, pg: &PostGis, sizes: Sizes) -> String {
    let t0 = Instant::now();
    let ds = app.store.load().await.unwrap();
    pg.load(&ds).await;
    let a2 = app.clone();
    let svc = test::init_service(
        ActixApp::new().configure(move |cfg| ecomap::http::configure(cfg, a2, None)),
    )
    .await;
    let admin = bearer(app, Role::Admin, None, false).await;
    let get = |uri: &str| {
        test::TestRequest::get()
            .uri(uri)
            .insert_header(admin.clone())
            .to_request()
    };
    let ours: Vec<&ecomap::domain::Outlet> = ds.outlets.iter().filter(|o| o.is_ours()).collect();
    let radii: Vec<f64> = WALKS_M.iter().map(|w| w / DETOUR).collect();
    let mut failures = String::new();

    // 1. Circles ------------------------------------------------------------------------------
    let mut eco: BTreeMap<(String, usize), CircleCounts> = BTreeMap::new();
    for o in &ours {
        let uri = format!("/api/outlets/{}/circles", o.id);
        let c = call(&svc, get(&uri), &uri).await;
        let mut features: Vec<&Value> = c["features"].as_array().unwrap().iter().collect();
        features.reverse(); // the API lists the largest first
        assert_eq!(features.len(), radii.len(), "{uri}");
        for (k, f) in features.iter().enumerate() {
            let p = &f["properties"];
            assert_eq!(p["walking_m"].as_f64(), Some(WALKS_M[k]), "{uri}");
            assert_eq!(p["radius_m"].as_f64(), Some(radii[k]), "{uri}");
            eco.insert((o.id.clone(), k), CircleCounts::from_api(p));
        }
    }
    let mut pgc: BTreeMap<(String, usize), CircleCounts> = eco
        .keys()
        .map(|k| (k.clone(), CircleCounts::default()))
        .collect();
    let ks: Vec<i32> = (0..radii.len() as i32).collect();
    let pg_radii: Vec<f64> = radii.iter().map(|r| r * pg.scale).collect();
    let rows = sqlx::query(
        "WITH c(k, r) AS (SELECT * FROM unnest($1::int4[], $2::float8[]))
         SELECT o.id, c.k, m.status, m.category, count(*) AS n
         FROM outlets o CROSS JOIN c
         JOIN merchants m ON ST_DWithin(m.geog, o.geog, c.r, false)
         WHERE o.ours GROUP BY 1, 2, 3, 4",
    )
    .bind(&ks)
    .bind(&pg_radii)
    .fetch_all(&pg.pool)
    .await
    .unwrap();
    for r in rows {
        let key = (r.get::<String, _>(0), r.get::<i32, _>(1) as usize);
        let status: String = r.get(2);
        let n = r.get::<i64, _>(4) as u64;
        let signed = if SIGNED.contains(&status.as_str()) {
            n
        } else {
            0
        };
        let c = pgc.get_mut(&key).unwrap();
        c.merchants += n;
        c.signed += signed;
        *c.by_status.entry(status).or_default() += n;
        let e = c.by_category.entry(r.get(3)).or_default();
        e.0 += n;
        e.1 += signed;
    }
    let rows = sqlx::query(
        "WITH c(k, r) AS (SELECT * FROM unnest($1::int4[], $2::float8[]))
         SELECT o.id, c.k, count(*), sum(x.households)::int8
         FROM outlets o CROSS JOIN c
         JOIN communities x ON ST_DWithin(x.geog, o.geog, c.r, false)
         WHERE o.ours GROUP BY 1, 2",
    )
    .bind(&ks)
    .bind(&pg_radii)
    .fetch_all(&pg.pool)
    .await
    .unwrap();
    for r in rows {
        let c = pgc
            .get_mut(&(r.get::<String, _>(0), r.get::<i32, _>(1) as usize))
            .unwrap();
        c.communities = r.get::<i64, _>(2) as u64;
        c.households = r.get::<i64, _>(3) as u64;
    }
    let rows = sqlx::query(
        "WITH c(k, r) AS (SELECT * FROM unnest($1::int4[], $2::float8[]))
         SELECT o.id, c.k, array_agg(x.id ORDER BY ST_Distance(x.geog, o.geog, false), x.id)
         FROM outlets o CROSS JOIN c
         JOIN outlets x ON NOT x.ours AND ST_DWithin(x.geog, o.geog, c.r, false)
         WHERE o.ours GROUP BY 1, 2",
    )
    .bind(&ks)
    .bind(&pg_radii)
    .fetch_all(&pg.pool)
    .await
    .unwrap();
    for r in rows {
        pgc.get_mut(&(r.get::<String, _>(0), r.get::<i32, _>(1) as usize))
            .unwrap()
            .competitor_outlets = r.get(2);
    }
    // How near the data comes to a circle's edge, on ecomap's sphere, by PostGIS's distance.
    let near_edge = sqlx::query(
        "WITH c(k, r) AS (SELECT * FROM unnest($1::int4[], $2::float8[])),
         items AS (SELECT 'merchant' AS kind, id, geog FROM merchants
                   UNION ALL SELECT 'community', id, geog FROM communities),
         pairs AS (
           SELECT o.id AS outlet, c.k, c.r, x.kind, x.id,
                  ST_Distance(x.geog, o.geog, false) / $3 AS d,
                  ST_DWithin(x.geog, o.geog, c.r, false) AS uncorrected
           FROM outlets o CROSS JOIN c
           JOIN items x ON ST_DWithin(x.geog, o.geog, c.r * $3 + 1, false)
                       AND NOT ST_DWithin(x.geog, o.geog, c.r * $3 - 1, false)
           WHERE o.ours)
         SELECT outlet, k, kind, id, d - r, uncorrected <> (d <= r)
         FROM pairs ORDER BY abs(d - r), outlet, k, id",
    )
    .bind(&ks)
    .bind(&radii)
    .bind(pg.scale)
    .fetch_all(&pg.pool)
    .await
    .unwrap();
    let margins: Vec<(String, i32, String, String, f64, bool)> = near_edge
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get::<f64, _>(4),
                r.get(5),
            )
        })
        .collect();
    let within = |m: f64| margins.iter().filter(|x| x.4.abs() < m).count();
    let uncorrected = margins.iter().filter(|x| x.5).count();
    let ambiguous: Vec<_> = margins
        .iter()
        .filter(|x| x.4.abs() < CIRCLE_AMBIGUITY_M)
        .collect();
    assert!(
        ambiguous.is_empty(),
        "{label}: points within {CIRCLE_AMBIGUITY_M} m of a circle's edge, where two \
         evaluations of the distance may disagree; change the seed: {ambiguous:?}"
    );
    let mut circle_mm = Mismatches::default();
    for (key, e) in &eco {
        let p = &pgc[key];
        if e != p {
            let near: Vec<String> = margins
                .iter()
                .filter(|x| x.0 == key.0 && x.1 as usize == key.1 && x.4.abs() < 0.5)
                .map(|x| format!("{} {} at r{:+.6} m", x.2, x.3, x.4))
                .collect();
            circle_mm.push(|| {
                format!(
                    "outlet {} circle {} m: ecomap {e:?} / PostGIS {p:?}; points within 0.5 m of \
                     the edge: {near:?}",
                    key.0, WALKS_M[key.1]
                )
            });
        }
    }
    circle_mm.report(&format!("{label}: circles"), &mut failures);
    let merchant_hits: u64 = eco.values().map(|c| c.merchants).sum();
    println!(
        "{label}: circles of {} outlets × {}: {} circle-merchant memberships, {} communities \
         ({} households) — {} mismatches. Nearest approach to an edge: {:.3e} m ({} {} of \
         {} at {} m); within 1 mm: {}, 1 cm: {}, 1 m: {}; pairs the uncorrected PostGIS \
         radius would misplace: {uncorrected}",
        ours.len(),
        radii.len(),
        merchant_hits,
        eco.values().map(|c| c.communities).sum::<u64>(),
        eco.values().map(|c| c.households).sum::<u64>(),
        circle_mm.count,
        margins.first().map_or(f64::NAN, |m| m.4),
        margins.first().map_or("", |m| m.2.as_str()),
        margins.first().map_or("", |m| m.3.as_str()),
        margins.first().map_or("", |m| m.0.as_str()),
        margins.first().map_or(0.0, |m| WALKS_M[m.1 as usize]),
        within(1e-3),
        within(1e-2),
        margins.len(),
    );

    // 2. Areas: the stored ones, then drawn polygons ------------------------------------------
    let mut eco_areas: BTreeMap<String, AreaCounts> = BTreeMap::new();
    for a in &ds.areas {
        let uri = format!("/api/areas/{}/survey", a.id);
        let s = call(&svc, get(&uri), &uri).await;
        eco_areas.insert(a.id.clone(), AreaCounts::from_api(&s));
    }
    let drawn = drawn_polygons(&ds, sizes.drawn_communities, sizes.rect_every);
    let mut drawn_rows = Vec::new();
    for (i, rings) in drawn.iter().enumerate() {
        let id = format!("drawn{i:05}");
        let req = test::TestRequest::post()
            .uri("/api/survey")
            .insert_header(admin.clone())
            .set_json(json!({"type": "Polygon", "coordinates": rings}))
            .to_request();
        let s = call(&svc, req, &id).await;
        eco_areas.insert(id.clone(), AreaCounts::from_api(&s));
        drawn_rows.push((id, rings.clone()));
    }
    pg.insert_polygons(&drawn_rows).await;
    let rows = sqlx::query(
        "SELECT a.id, m.category, count(*),
                count(*) FILTER (WHERE m.status = ANY($1))
         FROM areas a JOIN merchants m ON ST_Contains(a.geom, m.geom)
         GROUP BY 1, 2",
    )
    .bind(SIGNED.map(String::from).to_vec())
    .fetch_all(&pg.pool)
    .await
    .unwrap();
    let mut pga: BTreeMap<String, AreaCounts> = eco_areas
        .keys()
        .map(|k| (k.clone(), AreaCounts::default()))
        .collect();
    for r in rows {
        let a = pga.get_mut(&r.get::<String, _>(0)).unwrap();
        let (n, s) = (r.get::<i64, _>(2) as u64, r.get::<i64, _>(3) as u64);
        a.merchants += n;
        a.signed += s;
        a.mix.insert(r.get(1), (n, s));
    }
    // Merchants on an outline: ST_Covers but not ST_Contains. ecomap leaves them out.
    let on_outline = sqlx::query(
        "SELECT a.id, m.id, ST_Distance(ST_Boundary(a.geom)::geography, m.geog, false)
         FROM areas a JOIN merchants m ON ST_Covers(a.geom, m.geom)
                                       AND NOT ST_Contains(a.geom, m.geom)
         ORDER BY 1, 2",
    )
    .fetch_all(&pg.pool)
    .await
    .unwrap();
    let on_outline: Vec<(String, String, f64)> = on_outline
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let mut area_mm = Mismatches::default();
    for (id, e) in &eco_areas {
        let p = &pga[id];
        if e != p {
            let edge: Vec<&String> = on_outline
                .iter()
                .filter(|x| &x.0 == id)
                .map(|x| &x.1)
                .collect();
            let near = sqlx::query(
                "SELECT m.id, ST_Contains(a.geom, m.geom),
                        ST_Distance(ST_Boundary(a.geom)::geography, m.geog, false) AS d
                 FROM areas a JOIN merchants m ON ST_DWithin(ST_Boundary(a.geom)::geography, m.geog, 0.01, false)
                 WHERE a.id = $1 ORDER BY d LIMIT 10",
            )
            .bind(id)
            .fetch_all(&pg.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} inside={} {:.3e} m from the outline",
                    r.get::<String, _>(0),
                    r.get::<bool, _>(1),
                    r.get::<f64, _>(2)
                )
            })
            .collect::<Vec<_>>();
            area_mm.push(|| {
                format!(
                    "area {id}: ecomap {e:?} / PostGIS {p:?}; on the outline: {edge:?}; within \
                     1 cm of it: {near:?}"
                )
            });
        }
    }
    area_mm.report(&format!("{label}: areas"), &mut failures);
    println!(
        "{label}: areas: {} stored + {} drawn polygons, {} merchants inside in all, {} merchants \
         exactly on an outline (left out by both) — {} mismatches",
        ds.areas.len(),
        drawn_rows.len(),
        eco_areas.values().map(|a| a.merchants).sum::<u64>(),
        on_outline.len(),
        area_mm.count
    );

    // 3. Hexes --------------------------------------------------------------------------------
    let mut queries: Vec<GridQuery> = Vec::new();
    for o in &ours {
        for resolution in [8, 9, 10] {
            queries.push(GridQuery {
                region: Region::Outlet(o.id.clone()),
                resolution,
                hexes: BTreeMap::new(),
            });
        }
    }
    for a in &ds.areas {
        queries.push(GridQuery {
            region: Region::Area(a.id.clone()),
            resolution: 10,
            hexes: BTreeMap::new(),
        });
    }
    // A box whose edges run through merchants (so some lie on them), around the first outlet.
    if let Some(o) = ours.first() {
        let c = o.location;
        let pick = |dx: f64, dy: f64| {
            ds.merchants
                .iter()
                .min_by(|a, b| {
                    let t = Location::new(c.lon() + dx, c.lat() + dy).unwrap();
                    a.location
                        .distance_m(&t)
                        .total_cmp(&b.location.distance_m(&t))
                })
                .unwrap()
                .location
        };
        let b = [
            pick(-0.015, 0.0).lon(),
            pick(0.0, -0.012).lat(),
            pick(0.015, 0.0).lon(),
            pick(0.0, 0.012).lat(),
        ];
        for resolution in [8, 9] {
            queries.push(GridQuery {
                region: Region::BBox(b),
                resolution,
                hexes: BTreeMap::new(),
            });
        }
    }
    let mut hex_rows: (Vec<i32>, Vec<String>, Vec<Vec<u8>>) = Default::default();
    for (q, gq) in queries.iter_mut().enumerate() {
        let uri = gq.uri();
        let g = call(&svc, get(&uri), &uri).await;
        for f in g["features"].as_array().unwrap() {
            let p = &f["properties"];
            let cell = p["cell"].as_str().unwrap().to_string();
            assert_eq!(u(&p["resolution"]), u64::from(gq.resolution), "{uri}");
            let ring: Vec<[f64; 2]> = f["geometry"]["coordinates"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| [c[0].as_f64().unwrap(), c[1].as_f64().unwrap()])
                .collect();
            hex_rows.0.push(q as i32);
            hex_rows.1.push(cell.clone());
            hex_rows.2.push(ewkb_polygon(std::slice::from_ref(&ring)));
            let counts = HexCounts {
                merchants: u(&p["merchants"]),
                signed: u(&p["signed"]),
                prospects: u(&p["prospects"]),
                households: u(&p["households"]),
            };
            gq.hexes.insert(cell, (counts, ring));
        }
    }
    sqlx::query(
        "INSERT INTO hexes (q, cell, geom)
         SELECT q, cell, ST_GeomFromEWKB(wkb)
         FROM unnest($1::int4[], $2::text[], $3::bytea[]) AS t(q, cell, wkb)",
    )
    .bind(&hex_rows.0)
    .bind(&hex_rows.1)
    .bind(&hex_rows.2)
    .execute(&pg.pool)
    .await
    .unwrap();
    sqlx::raw_sql("CREATE INDEX ON hexes USING gist (geom); ANALYZE hexes;")
        .execute(&pg.pool)
        .await
        .unwrap();
    // The regions, decided by PostGIS.
    let outer_pg = radii[radii.len() - 1] * pg.scale;
    for (q, gq) in queries.iter().enumerate() {
        for (table, layer) in [("region_m", "merchants"), ("region_c", "communities")] {
            let q = q as i32;
            let sql = match &gq.region {
                Region::Outlet(_) => format!(
                    "INSERT INTO {table} SELECT $1, x.id FROM {layer} x JOIN outlets o
                     ON o.id = $2 AND ST_DWithin(x.geog, o.geog, $3, false)"
                ),
                Region::Area(_) => format!(
                    "INSERT INTO {table} SELECT $1, x.id FROM {layer} x JOIN areas a
                     ON a.id = $2 AND ST_Contains(a.geom, x.geom)"
                ),
                Region::BBox(_) => format!(
                    "INSERT INTO {table} SELECT $1, x.id FROM {layer} x
                     WHERE ST_Covers(ST_MakeEnvelope($2, $3, $4, $5, 4326), x.geom)"
                ),
            };
            let query = sqlx::query(&sql).bind(q);
            match &gq.region {
                Region::Outlet(id) => query.bind(id).bind(outer_pg),
                Region::Area(id) => query.bind(id),
                Region::BBox(b) => query.bind(b[0]).bind(b[1]).bind(b[2]).bind(b[3]),
            }
            .execute(&pg.pool)
            .await
            .unwrap();
        }
    }
    sqlx::raw_sql("ANALYZE region_m; ANALYZE region_c;")
        .execute(&pg.pool)
        .await
        .unwrap();
    // Every item of every region with the returned hexes near it (index-assisted), and whether
    // each covers it as a straight-edged polygon (geometry) and as a great-circle one
    // (geography); where the two disagree, how far the item is from the ring.
    let rows = sqlx::query(
        "WITH items AS (
           SELECT r.q, 'merchant' AS kind, x.id, x.status, 0::int8 AS households, x.geom, x.geog
           FROM region_m r JOIN merchants x USING (id)
           UNION ALL
           SELECT r.q, 'community', x.id, NULL, x.households, x.geom, x.geog
           FROM region_c r JOIN communities x USING (id)),
         near AS (
           SELECT i.q, i.kind, i.id, i.status, i.households, i.geog, h.cell, h.geom AS hex,
                  coalesce(ST_Covers(h.geom, i.geom), false) AS planar,
                  coalesce(ST_Covers(h.geom::geography, i.geog), false) AS spherical
           FROM items i LEFT JOIN hexes h ON h.q = i.q AND ST_DWithin(h.geom, i.geom, 1e-5))
         SELECT q, kind, id, status, households, cell, planar, spherical,
                CASE WHEN planar <> spherical
                     THEN ST_Distance(ST_ExteriorRing(hex)::geography, geog, false) END
         FROM near",
    )
    .fetch_all(&pg.pool)
    .await
    .unwrap();
    #[derive(Default)]
    struct Item {
        status: Option<String>,
        households: i64,
        planar: Vec<String>,
        spherical: Vec<String>,
        /// Where the two coverings disagree: the distance to that hex's ring.
        sliver_m: Vec<f64>,
    }
    let mut items: BTreeMap<(i32, String, String), Item> = BTreeMap::new();
    for r in &rows {
        let it = items
            .entry((r.get(0), r.get(1), r.get(2)))
            .or_insert_with(|| Item {
                status: r.get(3),
                households: r.get(4),
                ..Item::default()
            });
        if let Some(cell) = r.get::<Option<String>, _>(5) {
            if r.get(6) {
                it.planar.push(cell.clone());
            }
            if r.get(7) {
                it.spherical.push(cell);
            }
        }
        if let Some(d) = r.get::<Option<f64>, _>(8) {
            it.sliver_m.push(d);
        }
    }
    let add = |counts: &mut HashMap<String, HexCounts>, cell: &str, it: &Item| {
        let c = counts.entry(cell.to_string()).or_default();
        match it.status.as_deref() {
            Some(s) => {
                c.merchants += 1;
                c.signed += u64::from(SIGNED.contains(&s));
                c.prospects += u64::from(PROSPECT.contains(&s));
            }
            None => c.households += it.households as u64,
        }
    };
    let located: HashMap<(&str, &str), Location> = ds
        .merchants
        .iter()
        .map(|m| (("merchant", m.id.as_str()), m.location))
        .chain(
            ds.communities
                .iter()
                .map(|c| (("community", c.id.as_str()), c.location)),
        )
        .collect();
    let mut hex_mm = Mismatches::default();
    let mut tolerated = Vec::new();
    let mut hexes_compared = 0usize;
    let mut merchants_in_hexes = 0u64;
    let mut slivers = 0usize;
    for (q, gq) in queries.iter().enumerate() {
        let q = q as i32;
        let mine: Vec<(&(i32, String, String), &Item)> = items
            .range((q, String::new(), String::new())..(q + 1, String::new(), String::new()))
            .collect();
        let (mut planar, mut spherical) = (HashMap::new(), HashMap::new());
        let mut not_once = Vec::new();
        let mut sliver = Vec::new();
        for (key, it) in &mine {
            match it.planar.as_slice() {
                [cell] => add(&mut planar, cell, it),
                _ => not_once.push(format!(
                    "{} {} is covered by {:?} (geometry), {:?} (geography)",
                    key.1, key.2, it.planar, it.spherical
                )),
            }
            if let [cell] = it.spherical.as_slice() {
                add(&mut spherical, cell, it);
            }
            if it.planar != it.spherical {
                sliver.push((key, *it));
            }
        }
        let total = mine.iter().filter(|(_, it)| it.status.is_some()).count() as u64;
        let eco_total: u64 = gq.hexes.values().map(|h| h.0.merchants).sum();
        merchants_in_hexes += eco_total;
        hexes_compared += gq.hexes.len();
        let differs = |pg: &HashMap<String, HexCounts>| -> Vec<String> {
            gq.hexes
                .iter()
                .filter_map(|(cell, (e, _))| {
                    let p = pg.get(cell).copied().unwrap_or_default();
                    (*e != p).then(|| format!("{cell}: ecomap {e:?} / PostGIS {p:?}"))
                })
                .collect()
        };
        let differing = differs(&planar);
        if eco_total == total && differing.is_empty() && not_once.is_empty() {
            continue;
        }
        // The one allowed difference: items in the sliver between a straight edge and H3's
        // great-circle edge, where the great-circle hexes agree with ecomap.
        let in_sliver = |it: &Item| it.sliver_m.iter().all(|&d| d < HEX_EDGE_TOLERANCE_M);
        if eco_total == total
            && differs(&spherical).is_empty()
            && mine.iter().all(|(_, it)| it.spherical.len() == 1)
            && sliver.iter().all(|(_, it)| in_sliver(it))
        {
            slivers += sliver.len();
            tolerated.push(format!(
                "{}: {:?}",
                gq.uri(),
                sliver
                    .iter()
                    .map(|(k, it)| format!("{} {} {:?} m from the ring", k.1, k.2, it.sliver_m))
                    .collect::<Vec<_>>()
            ));
            continue;
        }
        // Diagnosis: are ecomap's counts those of each item's res-9 cell's parent rather than of
        // the hexagon that holds it? (H3 cells do not nest exactly: a res-9 cell near the edge
        // of its parent sticks out of it.)
        let res = h3o::Resolution::try_from(gq.resolution).unwrap();
        let mut by_parent = HashMap::new();
        let mut moved = Vec::new();
        for (key, it) in &mine {
            let at = located[&(key.1.as_str(), key.2.as_str())];
            let ll = h3o::LatLng::new(at.lat(), at.lon()).unwrap();
            let nine = ll.to_cell(h3o::Resolution::Nine);
            let parent = nine
                .parent(res)
                .unwrap_or_else(|| ll.to_cell(res))
                .to_string();
            add(&mut by_parent, &parent, it);
            if it.planar != [parent.clone()] && it.status.is_some() {
                moved.push(format!(
                    "{} at ({}, {}) lies in hexagon {:?} (PostGIS ST_Covers) but its res-9 cell \
                     {nine}'s parent is {parent}",
                    key.2,
                    at.lon(),
                    at.lat(),
                    it.planar
                ));
            }
        }
        let hint = if differs(&by_parent).is_empty() {
            format!(
                " ecomap's counts are exactly those of each item's res-9 cell's parent: {} of \
                 {total} merchants are counted in a hex that does not contain them, e.g. {:?}",
                moved.len(),
                &moved[..moved.len().min(2)]
            )
        } else {
            String::new()
        };
        hex_mm.push(|| {
            format!(
                "{}: ecomap's hexes hold {eco_total} merchants, PostGIS's region {total}; {} \
                 hexes differ: {:?}; not covered once: {not_once:?}.{hint}",
                gq.uri(),
                differing.len(),
                &differing[..differing.len().min(3)]
            )
        });
    }
    hex_mm.report(&format!("{label}: hexes"), &mut failures);
    println!(
        "{label}: hexes: {} grid requests, {hexes_compared} hexes, {merchants_in_hexes} \
         merchant-hex memberships — {} mismatches; {} requests differ only by {slivers} points \
         in a ring's straight-vs-great-circle sliver: {tolerated:#?}",
        queries.len(),
        hex_mm.count,
        tolerated.len()
    );
    let distinct: BTreeSet<&String> = queries.iter().flat_map(|g| g.hexes.keys()).collect();
    println!(
        "{label}: {} merchants, {} communities, {} outlets ({} ours), {} distinct hexes; {:.1} s",
        ds.merchants.len(),
        ds.communities.len(),
        ds.outlets.len(),
        ours.len(),
        distinct.len(),
        t0.elapsed().as_secs_f64()
    );
    failures
}

/// Merchants placed just inside and just outside every circle of every outlet of ours, on
/// ecomap's sphere: 1 mm, 20 µm and 2 µm from the edge on either side. The ones 2 µm outside
/// are inside on PostGIS's slightly smaller sphere unless the radius is corrected.
fn edge_merchants(ds: &Dataset) -> Vec<ecomap::domain::Merchant> {
    let template = &ds.merchants[0];
    let mut out = Vec::new();
    for (i, o) in ds.outlets.iter().filter(|o| o.is_ours()).enumerate() {
        for (k, walk) in WALKS_M.iter().enumerate() {
            for (j, offset) in [-1e-3, -2e-5, -2e-6, 2e-6, 2e-5, 1e-3]
                .into_iter()
                .enumerate()
            {
                let bearing = (i * 31 + k * 7 + j) as f64 * 0.7;
                let mut m = template.clone();
                m.id = format!("EDGE{i:03}{k}{j}");
                m.location = destination(o.location, bearing, walk / DETOUR + offset);
                m.status = ecomap::domain::PipelineStatus::ALL[(i + k + j) % 7];
                out.push(m);
            }
        }
    }
    out
}

/// The point `d` metres from `from` along `bearing` (radians from north), on a sphere of
/// radius [`EARTH_RADIUS_M`] (exact to well below a micrometre at these distances).
fn destination(from: Location, bearing: f64, d: f64) -> Location {
    let delta = d / EARTH_RADIUS_M;
    let (phi1, lambda1) = (from.lat().to_radians(), from.lon().to_radians());
    let phi2 = (phi1.sin() * delta.cos() + phi1.cos() * delta.sin() * bearing.cos()).asin();
    let lambda2 = lambda1
        + (bearing.sin() * delta.sin() * phi1.cos()).atan2(delta.cos() - phi1.sin() * phi2.sin());
    Location::new(lambda2.to_degrees(), phi2.to_degrees()).unwrap()
}

/// How much of a dataset to draw polygons over.
#[derive(Clone, Copy)]
struct Sizes {
    /// The first this-many communities' footprints become drawn surveys.
    drawn_communities: usize,
    /// Every this-many-th merchant (by id) gets three rectangles through it.
    rect_every: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_counts_agree_with_postgis() {
    let pg = PostGis::create().await;
    let mut failures = String::new();

    let db = TestDb::sqlite().await;
    let app = App::start(
        db.store().await,
        Categories::builtin().unwrap(),
        Limits::default(),
    )
    .await
    .unwrap();
    ecomap::demo::load(&app).await.unwrap();
    failures += &compare(
        "Leshan demo",
        &app,
        &pg,
        Sizes {
            drawn_communities: usize::MAX,
            rect_every: 40,
        },
    )
    .await;
    drop(app);

    // The generated city goes into a PostgreSQL store in one write and is read back by a fresh
    // start, which bulk-loads the index as `ecomap serve` does.
    let t = Instant::now();
    let mut ds = generate(&GenConfig {
        seed: 7,
        merchants: 40_000,
        outlets_ours: 30,
        outlets_competitors: 10,
        communities: 400,
        ..GenConfig::default()
    });
    let edge = edge_merchants(&ds);
    ds.merchants.extend(edge);
    let t_gen = t.elapsed().as_secs_f64();
    let db2 = TestDb::postgres().await;
    db2.store().await.write_dataset(&ds).await.unwrap();
    let t_write = t.elapsed().as_secs_f64();
    let app = App::start(
        db2.store().await,
        Categories::builtin().unwrap(),
        Limits::default(),
    )
    .await
    .unwrap();
    println!(
        "generated city: generated in {t_gen:.1} s, stored by {t_write:.1} s, started by {:.1} s",
        t.elapsed().as_secs_f64()
    );
    failures += &compare(
        "generated city (seed 7)",
        &app,
        &pg,
        Sizes {
            drawn_communities: 200,
            rect_every: 500,
        },
    )
    .await;

    drop(app);
    drop(pg);
    db.cleanup().await;
    db2.cleanup().await;
    assert!(
        failures.is_empty(),
        "ecomap and PostGIS disagree:\n{failures}"
    );
}
