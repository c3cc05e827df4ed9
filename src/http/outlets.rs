//! Outlets (网点): ours and competitors'.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::params::{slots_in, Params};
use super::Shared;
use crate::features;

/// `GET /api/outlets?ours=&bbox=&limit=&offset=&crs=`
pub async fn list(app: Shared, caller: Caller, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["ours", "q", "bbox", "limit", "offset", "crs"])?;
    let q = p.str("q").map(str::to_lowercase);
    let crs = p.crs()?;
    let ours = p.bool("ours")?;
    let page = p.page(app.limits.max_page, app.limits.max_page)?;
    let bbox = p.bbox(crs, app.limits.max_bbox_deg)?;
    let index = app.index();
    let layer = &index.outlets;
    let matching: Vec<_> = slots_in(layer, bbox.as_ref())
        .into_iter()
        .map(|s| layer.item(s))
        .filter(|o| caller.scope.sees_outlet(o))
        .filter(|o| ours.is_none_or(|want| o.is_ours() == want))
        .filter(|o| q.as_ref().is_none_or(|q| o.name.to_lowercase().contains(q)))
        .collect();
    Ok(HttpResponse::Ok().json(page.collection(
        matching,
        crs,
        |o| features::outlet(o, crs),
        json!({}),
    )))
}

/// `GET /api/outlets/{id}?crs=`
pub async fn get(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["crs"])?;
    let crs = p.crs()?;
    let index = app.index();
    let o = index
        .outlets
        .get(&path)
        .filter(|o| caller.scope.sees_outlet(o))
        .ok_or_else(|| ApiError::not_found("outlet", &path))?;
    Ok(HttpResponse::Ok().json(features::outlet(o, crs)))
}
