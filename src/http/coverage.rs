//! Ecosystem coverage as JSON/GeoJSON: an outlet's life circles, the H3 coverage grid, the
//! survey of an area (商圈 / 好吃街) and the comparison of a branch's outlets. Distances are
//! straight line × detour until a street network is loaded; then the life circles (their
//! polygons, counts and the outlet's community coverage) and isochrones are walked on the
//! streets. Every answer says which.

use crate::index::MerchantRef;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::params::Params;
use super::Shared;
use crate::coverage;
use crate::domain::{Community, Location};
use crate::geo::crs::{from_wgs84, Crs};

/// A circle of `radius_m` around `at` as a closed ring in `crs` (64 segments).
fn ring(at: Location, radius_m: f64, crs: Crs) -> Vec<Vec<f64>> {
    crate::geo::circle_ring([at.lon(), at.lat()], radius_m)
        .into_iter()
        .map(|[lon, lat]| {
            let (x, y) = from_wgs84(crs, lon, lat);
            vec![x, y]
        })
        .collect()
}

/// A GeoJSON MultiPolygon's coordinates: polygons → rings → positions → `[lon, lat]`.
type MultiPolygonCoords = Vec<Vec<Vec<Vec<f64>>>>;

/// GeoJSON MultiPolygon coordinates of `mp` (WGS-84) in `crs`.
fn multipolygon_coords(mp: &geo::MultiPolygon<f64>, crs: Crs) -> MultiPolygonCoords {
    let conv = |c: &geo::Coord<f64>| {
        let (x, y) = from_wgs84(crs, c.x, c.y);
        vec![x, y]
    };
    mp.0.iter()
        .map(|poly| {
            std::iter::once(poly.exterior())
                .chain(poly.interiors())
                .map(|ring| ring.0.iter().map(conv).collect())
                .collect()
        })
        .collect()
}

/// `GET /api/outlets/{id}/circles?crs=`: the 5/10/15-minute life circles as polygons (the
/// isochrones, on a street network), each with
/// its merchants by category and status, signed share, communities and households, competitor
/// outlets and competitor-signed merchants; plus the outlet's community coverage share.
pub async fn circles(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["crs"])?;
    let crs = p.crs()?;
    let params = &app.coverage;
    let walking = app.walking();
    let index = app.index();
    let outlet = index
        .outlets
        .get(&path)
        .filter(|o| caller.scope.sees_outlet(o))
        .ok_or_else(|| ApiError::not_found("outlet", &path))?;
    let keep = |m: MerchantRef<'_>| caller.scope.contains(m.owner_org_id());
    let keep_c = |c: &Community| caller.scope.sees_shared(c.owner_org_id.as_deref());
    let summaries =
        coverage::life_circles_walked(&index, outlet.location, params, &walking, &keep, &keep_c);
    let model = summaries.first().map_or(walking.model(), |s| s.distance);
    // On the streets the circles are the isochrones of their walking metres; otherwise circles.
    let shapes: Option<Vec<MultiPolygonCoords>> =
        (model == crate::network::STREET_NETWORK).then(|| {
            let set = walking.life_circles(outlet.location, &params.circles);
            set.isochrones
                .iter()
                .map(|iso| multipolygon_coords(&iso.polygon, crs))
                .collect()
        });
    // Only the communities around this outlet: a request about one place stays cheap.
    let outer = params.outer_circle();
    let search_m = if shapes.is_some() {
        outer.walking_m
    } else {
        outer.radius_m(walking.detour())
    };
    let mut around: Vec<u32> = index
        .communities
        .within_radius(outlet.location, search_m)
        .iter()
        .map(|h| h.slot)
        .filter(|&s| keep_c(index.communities.item(s)))
        .collect();
    if shapes.is_some() {
        let at: Vec<Location> = around
            .iter()
            .map(|&s| index.communities.item(s).location)
            .collect();
        let walks = walking.distances(outlet.location, &at);
        let mut k = 0;
        around.retain(|_| {
            k += 1;
            walks[k - 1].metres <= outer.walking_m
        });
    }
    let cov = coverage::community_coverage_of_walked(&index, params, &walking, &keep, &around);
    let ids: std::collections::HashSet<&str> =
        cov.iter().map(|r| r.community_id.as_str()).collect();
    let share = coverage::share_of(&cov, &ids);
    let features: Vec<_> = summaries
        .iter()
        .enumerate()
        .rev()
        .map(|(i, s)| {
            let geometry = match shapes.as_ref().and_then(|v| v.get(i)) {
                Some(polys) => json!({ "type": "MultiPolygon", "coordinates": polys }),
                None => json!({
                    "type": "Polygon",
                    "coordinates": [ring(outlet.location, s.radius_m, crs)],
                }),
            };
            json!({ "type": "Feature", "geometry": geometry, "properties": s })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "type": "FeatureCollection",
        "features": features,
        "outlet_id": outlet.id,
        "distance": model,
        "community_coverage": share,
        "crs_code": crs.code(),
    })))
}

/// `GET /api/coverage/grid?outlet=|area=|bbox=&resolution=8..10&crs=`: H3 hexes with merchants,
/// signed, prospects, households, footfall, summed priority and a white-space flag.
pub async fn grid(app: Shared, caller: Caller, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["outlet", "area", "bbox", "resolution", "crs"])?;
    let crs = p.crs()?;
    let params = &app.coverage;
    let res = p.usize_in(
        "resolution",
        usize::from(params.default_h3_resolution),
        8,
        10,
    )?;
    let resolution = h3o::Resolution::try_from(res as u8)
        .map_err(|e| ApiError::bad("resolution", e.to_string()))?;
    let bbox = p.bbox(crs, app.limits.max_bbox_deg)?;
    let warm = app.warm();
    let effective = app.effective_weights(caller.user.org_node_id.as_deref());
    let index = app.index();
    let (merchants, communities): (Vec<u32>, Vec<u32>) = if let Some(id) = p.str("outlet") {
        let o = index
            .outlets
            .get(id)
            .filter(|o| caller.scope.sees_outlet(o))
            .ok_or_else(|| ApiError::not_found("outlet", id))?;
        let r = params
            .outer_circle()
            .radius_m(app.ranking.params.detour_factor);
        (
            index
                .merchants
                .within_radius(o.location, r)
                .iter()
                .map(|h| h.slot)
                .collect(),
            index
                .communities
                .within_radius(o.location, r)
                .iter()
                .map(|h| h.slot)
                .collect(),
        )
    } else if let Some(id) = p.str("area") {
        let a = index
            .area(id)
            .filter(|a| caller.scope.sees_shared(a.owner_org_id.as_deref()))
            .ok_or_else(|| ApiError::not_found("area", id))?;
        (
            index.merchants.in_polygon(&a.polygon),
            index.communities.in_polygon(&a.polygon),
        )
    } else if let Some(b) = &bbox {
        (index.merchants.in_bbox(b), index.communities.in_bbox(b))
    } else {
        return Err(ApiError::bad("outlet", "give outlet, area or bbox"));
    };
    let merchants: Vec<u32> = merchants
        .into_iter()
        .filter(|&s| {
            caller
                .scope
                .contains(index.merchants.item(s).owner_org_id())
        })
        .collect();
    let communities: Vec<u32> = communities
        .into_iter()
        .filter(|&s| {
            caller
                .scope
                .sees_shared(index.communities.item(s).owner_org_id.as_deref())
        })
        .collect();
    let priority_of = |slot: u32| {
        crate::scoring::priority::score(
            &index,
            &warm.stats,
            &app.ranking.params,
            &effective.weights,
            slot,
            0.0,
        )
        .map_or(0.0, |p| p.score)
    };
    let hexes = coverage::grid(
        &index,
        &warm.stats,
        &priority_of,
        &merchants,
        &communities,
        resolution,
        params,
    );
    let features: Vec<_> = hexes
        .iter()
        .map(|h| {
            let ring: Vec<Vec<f64>> = h
                .boundary
                .iter()
                .map(|[x, y]| {
                    let (a, b) = from_wgs84(crs, *x, *y);
                    vec![a, b]
                })
                .collect();
            let mut props = serde_json::to_value(h).unwrap_or_default();
            if let Some(o) = props.as_object_mut() {
                o.remove("boundary");
            }
            json!({ "type": "Feature", "id": h.cell, "geometry": { "type": "Polygon", "coordinates": [ring] }, "properties": props })
        })
        .collect();
    let whitespace = hexes.iter().filter(|h| h.whitespace).count();
    Ok(HttpResponse::Ok().json(json!({
        "type": "FeatureCollection",
        "features": features,
        "resolution": res,
        "hexes": hexes.len(),
        "whitespace_hexes": whitespace,
        "crs_code": crs.code(),
    })))
}

/// `GET /api/areas/{id}/survey`: the survey of a stored area (business mix, signed share, top
/// prospects, communities and households in reach, competing banks nearby).
pub async fn area_survey(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["reach_m"])?;
    let polygon = {
        let index = app.index();
        let a = index
            .area(&path)
            .filter(|a| caller.scope.sees_shared(a.owner_org_id.as_deref()))
            .ok_or_else(|| ApiError::not_found("area", &path))?;
        (a.polygon.clone(), a.name.clone())
    };
    survey_of(&app, &caller, &p, &polygon.0, Some(&polygon.1))
}

/// `POST /api/survey` with a GeoJSON Polygon geometry (WGS-84 unless `?crs=`): the survey of a
/// polygon drawn on the map.
pub async fn drawn_survey(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<geojson::Geometry>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["reach_m", "crs"])?;
    let crs = p.crs()?;
    let geojson::Value::Polygon(rings) = &body.value else {
        return Err(ApiError::bad("body", "send a GeoJSON Polygon geometry"));
    };
    let rings: Vec<Vec<[f64; 2]>> = rings
        .iter()
        .map(|r| {
            r.iter()
                .map(|pos| {
                    let (x, y) = crate::geo::crs::to_wgs84(
                        crs,
                        pos.first().copied().unwrap_or(f64::NAN),
                        pos.get(1).copied().unwrap_or(f64::NAN),
                    );
                    [x, y]
                })
                .collect()
        })
        .collect();
    let polygon = crate::domain::ValidPolygon::from_rings(&rings)
        .map_err(|e| ApiError::bad("body", format!("{}: {}", e.field, e.reason)))?;
    let [a, b, c, d] = polygon.bbox();
    if c - a > 0.2 || d - b > 0.2 {
        return Err(ApiError::bad(
            "body",
            "a surveyed area may span at most 0.2° (about 20 km)",
        ));
    }
    survey_of(&app, &caller, &p, &polygon, None)
}

fn survey_of(
    app: &crate::app::App,
    caller: &Caller,
    p: &Params,
    polygon: &crate::domain::ValidPolygon,
    name: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let detour = app.ranking.params.detour_factor;
    let reach_walking = p.f64_in("reach_m", 1000.0, 100.0, 3000.0)?;
    let warm = app.warm();
    let effective = app.effective_weights(caller.user.org_node_id.as_deref());
    let index = app.index();
    let keep = |m: MerchantRef<'_>| caller.scope.contains(m.owner_org_id());
    let keep_c = |c: &Community| caller.scope.sees_shared(c.owner_org_id.as_deref());
    let s = coverage::survey(
        &index,
        &warm.stats,
        &app.ranking.params,
        &effective.weights,
        polygon,
        name,
        reach_walking / detour,
        &keep,
        &keep_c,
    );
    Ok(HttpResponse::Ok().json(s))
}

/// `GET /api/coverage/outlets?branch=`: one row per our outlet in the caller's scope (or under
/// `branch`): circles' merchants and signed shares, covered households, white space, competitors,
/// and the essential categories missing around it.
pub async fn compare_outlets(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["branch"])?;
    let params = &app.coverage;
    let detour = app.ranking.params.detour_factor;
    let under: Option<std::collections::HashSet<String>> = match p.str("branch") {
        None => None,
        Some(b) => {
            if !caller.scope.sees_shared(Some(b)) {
                return Err(ApiError::not_found("org unit", b));
            }
            let ghost = crate::auth::User {
                id: String::new(),
                username: String::new(),
                display_name: String::new(),
                role: crate::auth::Role::Branch,
                org_node_id: Some(b.to_string()),
                can_unmask: false,
                disabled: false,
            };
            match app.scope_of(&ghost) {
                crate::auth::Scope::Nodes { own, .. } => Some(own),
                crate::auth::Scope::All => None,
            }
        }
    };
    let warm = app.warm();
    let index = app.index();
    let outlets: Vec<u32> = index
        .outlets
        .items()
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_ours() && caller.scope.contains(Some(&o.id)))
        .filter(|(_, o)| under.as_ref().is_none_or(|u| u.contains(&o.id)))
        .map(|(s, _)| s as u32)
        .collect();
    let keep = |m: MerchantRef<'_>| caller.scope.contains(m.owner_org_id());
    let keep_c = |c: &Community| caller.scope.sees_shared(c.owner_org_id.as_deref());
    // The coverage of the communities around these outlets only, not the whole city's.
    let outer_m = params.outer_circle().radius_m(detour);
    let mut around: Vec<u32> = outlets
        .iter()
        .flat_map(|&o| {
            index
                .communities
                .within_radius(index.outlets.item(o).location, outer_m)
                .into_iter()
                .map(|h| h.slot)
        })
        .filter(|&s| keep_c(index.communities.item(s)))
        .collect();
    around.sort_unstable();
    around.dedup();
    let cov = coverage::community_coverage_of(&index, params, detour, &keep, &around);
    let rows = coverage::compare(
        &index,
        &warm.stats,
        &cov,
        &outlets,
        params,
        detour,
        &keep,
        &keep_c,
    );
    // The branch as a whole: every community within 15 minutes of any of these outlets, once.
    let ids: std::collections::HashSet<&str> =
        cov.iter().map(|c| c.community_id.as_str()).collect();
    let branch = coverage::share_of(&cov, &ids);
    Ok(HttpResponse::Ok().json(json!({
        "outlets": rows,
        "branch_coverage": branch,
        "distance": coverage::DISTANCE_MODEL,
        "essential": params.essential,
    })))
}

/// `GET /api/outlets/{id}/isochrones?minutes=5,10,15&walking_kmh=&crs=`: the areas walkable
/// from the outlet within each time, as polygons. On the street network when one is loaded
/// (`ecomap import osm`), else circles of straight line × detour; `distance` says which.
/// Without `minutes`, the life circles of `data/coverage.toml` (5/10/15 minutes = 300/500/1000
/// walking metres).
pub async fn isochrones(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["minutes", "walking_kmh", "crs"])?;
    let crs = p.crs()?;
    let location = {
        let index = app.index();
        index
            .outlets
            .get(&path)
            .filter(|o| caller.scope.sees_outlet(o))
            .ok_or_else(|| ApiError::not_found("outlet", &path))?
            .location
    };
    let walking = app.walking();
    let set = match p.str("minutes") {
        None => walking.life_circles(location, &app.coverage.circles),
        Some(list) => {
            let mut minutes = Vec::new();
            for m in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let v: f64 = m
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite() && *v > 0.0 && *v <= 60.0)
                    .ok_or_else(|| ApiError::bad("minutes", format!("{m:?}: 1 to 60 minutes")))?;
                minutes.push(v);
            }
            if minutes.is_empty() || minutes.len() > 6 {
                return Err(ApiError::bad("minutes", "one to six times, e.g. 5,10,15"));
            }
            minutes.sort_by(f64::total_cmp);
            minutes.dedup();
            let kmh = p.f64_in("walking_kmh", app.visits.walking_kmh, 1.0, 8.0)?;
            walking.isochrones(location, &minutes, kmh)
        }
    };
    let features: Vec<serde_json::Value> = set
        .isochrones
        .iter()
        .map(|iso| {
            let polys = multipolygon_coords(&iso.polygon, crs);
            json!({
                "type": "Feature",
                "geometry": {"type": "MultiPolygon", "coordinates": polys},
                "properties": {"minutes": iso.minutes, "walking_m": iso.walking_m.round(),
                    "area_m2": iso.area_m2.round(), "distance": set.model},
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "type": "FeatureCollection",
        "features": features,
        "outlet_id": path.as_str(),
        "distance": set.model,
        "snap_m": set.snap.as_ref().map(|s| (s.offset_m * 10.0).round() / 10.0),
        "crs": crs.code(),
    })))
}
