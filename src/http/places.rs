//! Communities (小区) and areas (商圈 / 好吃街).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::merchants::MerchantFilter;
use super::params::{slots_in, Params};
use super::Shared;
use crate::features;

/// `GET /api/communities?bbox=&limit=&offset=&crs=`
pub async fn communities(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["bbox", "limit", "offset", "crs"])?;
    let crs = p.crs()?;
    let page = p.page(app.limits.default_page, app.limits.max_page)?;
    let bbox = p.bbox(crs, app.limits.max_bbox_deg)?;
    let index = app.index();
    let layer = &index.communities;
    let visible: Vec<u32> = slots_in(layer, bbox.as_ref())
        .into_iter()
        .filter(|&s| {
            caller
                .scope
                .sees_shared(layer.item(s).owner_org_id.as_deref())
        })
        .collect();
    Ok(HttpResponse::Ok().json(page.collection(
        visible,
        crs,
        |s| features::community(layer.item(s), crs),
        json!({}),
    )))
}

/// `GET /api/communities/{id}?crs=`
pub async fn community(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["crs"])?;
    let crs = p.crs()?;
    let index = app.index();
    let c = index
        .communities
        .get(&path)
        .filter(|c| caller.scope.sees_shared(c.owner_org_id.as_deref()))
        .ok_or_else(|| ApiError::not_found("community", &path))?;
    Ok(HttpResponse::Ok().json(features::community(c, crs)))
}

/// `GET /api/areas?crs=`
pub async fn areas(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["crs"])?;
    let crs = p.crs()?;
    let index = app.index();
    let features: Vec<_> = index
        .areas
        .iter()
        .filter(|a| caller.scope.sees_shared(a.owner_org_id.as_deref()))
        .map(|a| features::area(a, crs))
        .collect();
    let total = features.len();
    Ok(HttpResponse::Ok().json(features::collection(
        features,
        crs,
        json!({ "total": total }),
    )))
}

/// `GET /api/areas/{id}?crs=`
pub async fn area(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["crs"])?;
    let crs = p.crs()?;
    let index = app.index();
    let a = index
        .area(&path)
        .filter(|a| caller.scope.sees_shared(a.owner_org_id.as_deref()))
        .ok_or_else(|| ApiError::not_found("area", &path))?;
    Ok(HttpResponse::Ok().json(features::area(a, crs)))
}

/// `GET /api/areas/{id}/merchants?category=&status=&limit=&offset=&crs=`: merchants inside the
/// area's polygon, by id.
pub async fn area_merchants(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["q", "category", "status", "limit", "offset", "crs"])?;
    let crs = p.crs()?;
    let page = p.page(app.limits.max_page, app.limits.max_page)?;
    let filter = MerchantFilter::from_params(&p, &app, &caller)?;
    let index = app.index();
    let a = index
        .area(&path)
        .filter(|a| caller.scope.sees_shared(a.owner_org_id.as_deref()))
        .ok_or_else(|| ApiError::not_found("area", &path))?;
    let matching: Vec<_> = index
        .merchants
        .in_polygon(&a.polygon)
        .into_iter()
        .map(|s| index.merchants.item(s))
        .filter(|m| filter.matches(*m))
        .collect();
    Ok(HttpResponse::Ok().json(page.collection(
        matching,
        crs,
        |m| features::merchant(m, &app.categories, crs),
        json!({ "area_id": a.id }),
    )))
}
