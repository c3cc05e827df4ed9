//! Merchant-acquisition priorities, the scoring weights, territories and the Huff tool.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::merchants::MerchantFilter;
use super::params::Params;
use super::Shared;
use crate::auth::Role;
use crate::features;
use crate::geo::crs::{to_wgs84, Crs};
use crate::scoring::huff::{huff, Destination, Origin};
use crate::scoring::params::Weights;
use crate::scoring::priority::rank;
use crate::scoring::territory::{assign, TerritoryMethod};

/// `GET /api/outlets/{id}/priorities?radius_m=&category=&status=&q=&territory=&limit=&crs=`:
/// which merchants this outlet should win first, best first, each with its breakdown. The
/// circle is `radius_m` in a straight line; the distance factor decays with walking metres, on
/// the street network when one is loaded (`distance` says which, for the answer and for each
/// merchant; `walking_m` is `null` where the network has no way to the merchant).
pub async fn priorities(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&[
        "radius_m",
        "category",
        "status",
        "q",
        "territory",
        "limit",
        "crs",
    ])?;
    let crs = p.crs()?;
    let radius_m = p.f64_in("radius_m", 1_000.0, 1.0, app.limits.max_radius_m)?;
    let limit = p.usize_in("limit", 50, 1, app.limits.max_page)?;
    let own_territory = match p.str("territory") {
        None | Some("all") => false,
        Some("own") => true,
        Some(v) => return Err(ApiError::bad("territory", format!("{v:?}: use own or all"))),
    };
    let filter = MerchantFilter::from_params(&p, &app, &caller)?;
    let warm = app.warm();
    let (outlet, outlet_slot) = {
        let index = app.index();
        let o = index
            .outlets
            .get(&path)
            .filter(|o| caller.scope.sees_outlet(o))
            .ok_or_else(|| ApiError::not_found("outlet", &path))?;
        if !o.is_ours() {
            return Err(ApiError::bad(
                "id",
                "priorities are for our own outlets; a competitor's outlet has none",
            ));
        }
        (o.clone(), index.outlets.slot_of(&path))
    };
    let effective = app.effective_weights(Some(&outlet.id));
    let index = app.index();
    let keep = |m: crate::index::MerchantRef<'_>| {
        filter.matches(m)
            && (!own_territory
                || Some(m.slot()).and_then(|s| {
                    warm.territories
                        .outlet_of
                        .get(s as usize)
                        .copied()
                        .flatten()
                }) == outlet_slot)
    };
    // Rank the whole circle (a few thousand merchants at most) so that `total` counts them all;
    // on a street network, one search from the outlet walks to all of them.
    let walking = app.walking();
    let mut ranked = rank(
        &index,
        &warm.stats,
        &app.ranking.params,
        &effective.weights,
        &walking,
        outlet.location,
        radius_m,
        &keep,
        usize::MAX,
    );
    let total = ranked.len();
    ranked.truncate(limit);
    let features: Vec<_> = ranked
        .iter()
        .enumerate()
        .map(|(i, pr)| {
            let m = index.merchants.item(pr.merchant_slot);
            let territory = warm
                .territories
                .outlet_of
                .get(pr.merchant_slot as usize)
                .copied()
                .flatten()
                .map(|s| index.outlets.item(s).id.clone());
            let mut f = features::merchant(m, &app.categories, crs);
            f.set_property("rank", i + 1);
            f.set_property("score", (pr.score * 10_000.0).round() / 10_000.0);
            f.set_property("distance_m", (pr.distance_m * 10.0).round() / 10.0);
            // `null` where the network has no way to the merchant.
            f.set_property(
                "walking_m",
                json!(pr
                    .walking_m
                    .is_finite()
                    .then(|| (pr.walking_m * 10.0).round() / 10.0)),
            );
            f.set_property("distance", pr.distance);
            f.set_property(
                "footfall_estimate",
                warm.stats.footfall[pr.merchant_slot as usize].round(),
            );
            f.set_property("footfall_source", pr.footfall_source);
            f.set_property("territory_outlet_id", json!(territory));
            f.set_property("factors", json!(pr.factors));
            f
        })
        .collect();
    Ok(HttpResponse::Ok().json(features::collection(
        features,
        crs,
        json!({
            "outlet_id": outlet.id,
            "radius_m": radius_m,
            // The walking model in use (each merchant says how its `walking_m` was measured:
            // one off the network falls back to straight line × detour), and the one the Huff
            // footfall estimates were walked with.
            "distance": walking.model(),
            "footfall_distance": warm.stats.distance,
            "detour_factor": app.ranking.params.detour_factor,
            "weights": effective,
            "total": total,
            "limit": limit,
            "truncated": total > limit,
        }),
    )))
}

/// The org node a weights request is about: `?org=`, else the caller's own (the bank-wide
/// default, `HQ`-level, for administrators without one).
fn weights_node(app: &crate::app::App, caller: &Caller, p: &Params) -> Result<String, ApiError> {
    let node = match (p.str("org"), &caller.user.org_node_id) {
        (Some(n), _) => n.to_string(),
        (None, Some(n)) => n.clone(),
        (None, None) => {
            let index = app.index();
            index
                .org_units
                .iter()
                .find(|u| u.parent_id.is_none())
                .map(|u| u.id.clone())
                .ok_or_else(|| ApiError::bad("org", "no organisation tree yet: give ?org="))?
        }
    };
    let index = app.index();
    let exists = index.org_units.iter().any(|u| u.id == node)
        || index.outlets.get(&node).is_some_and(|o| o.is_ours());
    if !exists || !caller.scope.sees_shared(Some(&node)) {
        return Err(ApiError::not_found("org node", &node));
    }
    Ok(node)
}

/// `GET /api/scoring/weights?org=`: the weights in force at a node, where they come from, and
/// the node's own history of versions.
pub async fn get_weights(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["org"])?;
    let node = weights_node(&app, &caller, &p)?;
    Ok(HttpResponse::Ok().json(json!({
        "org_node_id": node,
        "effective": app.effective_weights(Some(&node)),
        "defaults": app.ranking.params.weights,
        "history": app.ranking.history(&node),
        "may_edit": caller.user.role != Role::Staff && caller.scope.contains(Some(&node)),
    })))
}

/// `PUT /api/scoring/weights?org=` with a full `Weights` body: a new version for that node
/// (branch users: their own subtree; administrators: any). Audited; applies at once.
pub async fn put_weights(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Weights>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["org"])?;
    if caller.user.role == Role::Staff {
        return Err(ApiError::Forbidden(
            "scoring weights are set by branch users and administrators".into(),
        ));
    }
    let node = weights_node(&app, &caller, &p)?;
    if !caller.scope.contains(Some(&node)) {
        return Err(ApiError::Forbidden(format!(
            "{node} is above your part of the organisation; set weights for your own units"
        )));
    }
    let weights = body.into_inner();
    let version = app
        .set_weights(&node, &weights, &caller.user.username)
        .await?;
    app.store
        .audit(
            Some(&caller.user.username),
            "weights_change",
            Some(&node),
            Some(json!({ "version": version, "weights": weights })),
            Some(&caller.client),
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "org_node_id": node,
        "version": version,
        "effective": app.effective_weights(Some(&node)),
    })))
}

/// `GET /api/territories?outlet=`: how many merchants each of our (visible) outlets owns;
/// with `outlet`, that outlet's merchants' ids.
pub async fn territories(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["outlet", "method", "balance", "limit", "offset"])?;
    let page = p.page(app.limits.max_page, app.limits.max_page)?;
    let method = match p.str("method") {
        None | Some("nearest") => TerritoryMethod::Nearest,
        Some("huff") => TerritoryMethod::Huff,
        Some(v) => {
            return Err(ApiError::bad(
                "method",
                format!("{v:?}: use nearest or huff"),
            ))
        }
    };
    let balance = match p.str("balance") {
        None => None,
        Some(_) => Some(p.f64_in("balance", 1.2, 1.0, 10.0)?),
    };
    let warm = app.warm();
    // The default (nearest, unbalanced) is the warm state; other choices are computed now.
    let computed;
    let territories = if method == TerritoryMethod::Nearest && balance.is_none() {
        &warm.territories
    } else {
        computed = assign(&app.index(), &app.ranking.params, method, balance);
        &computed
    };
    let index = app.index();
    let outlets: Vec<_> = index
        .outlets
        .items()
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_ours() && caller.scope.contains(Some(&o.id)))
        .map(|(slot, o)| {
            json!({
                "outlet_id": o.id,
                "name": o.name,
                "merchants": territories.load.get(slot).copied().unwrap_or(0),
            })
        })
        .collect();
    let mut body = json!({
        "method": method,
        "balance": balance,
        "detour_factor": app.ranking.params.detour_factor,
        "outlets": outlets,
    });
    if let Some(id) = p.str("outlet") {
        let slot = index
            .outlets
            .slot_of(id)
            .filter(|&s| {
                let o = index.outlets.item(s);
                o.is_ours() && caller.scope.contains(Some(&o.id))
            })
            .ok_or_else(|| ApiError::not_found("outlet", id))?;
        let ids: Vec<&str> = territories
            .outlet_of
            .iter()
            .enumerate()
            .filter(|(_, o)| **o == Some(slot))
            .map(|(m, _)| index.merchants.item(m as u32))
            .filter(|m| caller.scope.contains(m.owner_org_id()))
            .map(|m| m.id())
            .collect();
        body["total"] = json!(ids.len());
        body["merchant_ids"] = json!(ids
            .into_iter()
            .skip(page.offset)
            .take(page.limit)
            .collect::<Vec<_>>());
    }
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuffRequest {
    origins: Vec<Origin>,
    destinations: Vec<Destination>,
    #[serde(default = "one")]
    alpha: f64,
    beta: f64,
    #[serde(default)]
    crs: Crs,
    #[serde(default = "min_distance")]
    min_distance_m: f64,
    max_distance_m: Option<f64>,
}

fn one() -> f64 {
    1.0
}

fn min_distance() -> f64 {
    25.0
}

/// `POST /api/models/huff`: the Huff model on the caller's own origins and destinations.
pub async fn huff_tool(
    _caller: Caller,
    body: web::Json<HuffRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let conv = |lon: f64, lat: f64| to_wgs84(b.crs, lon, lat);
    let origins: Vec<Origin> = b
        .origins
        .iter()
        .map(|o| {
            let (lon, lat) = conv(o.lon, o.lat);
            Origin {
                lon,
                lat,
                weight: o.weight,
            }
        })
        .collect();
    let destinations: Vec<Destination> = b
        .destinations
        .iter()
        .map(|d| {
            let (lon, lat) = conv(d.lon, d.lat);
            Destination {
                lon,
                lat,
                attractiveness: d.attractiveness,
            }
        })
        .collect();
    let result = huff(
        &origins,
        &destinations,
        b.alpha,
        b.beta,
        b.min_distance_m,
        b.max_distance_m,
    )
    .map_err(|e| ApiError::bad("body", e.to_string()))?;
    Ok(HttpResponse::Ok().json(json!({
        "alpha": b.alpha,
        "beta": b.beta,
        "distance": "great_circle",
        "probabilities": result.probabilities,
        "expected": result.expected,
    })))
}
