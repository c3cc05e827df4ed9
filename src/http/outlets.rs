//! Outlets (网点): ours and competitors'.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::error::ApiError;
use super::params::Params;
use super::Shared;
use crate::features;

/// `GET /api/outlets?ours=&bbox=&limit=&offset=&crs=`
pub async fn list(app: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["ours", "bbox", "limit", "offset", "crs"])?;
    let crs = p.crs()?;
    let ours = p.bool("ours")?;
    let limit = p.usize_in("limit", app.limits.max_page, 1, app.limits.max_page)?;
    let offset = p.usize_in("offset", 0, 0, usize::MAX)?;
    let bbox = p.bbox(crs, app.limits.max_bbox_deg)?;
    let index = app.index();
    let layer = &index.outlets;
    let slots: Vec<u32> = match &bbox {
        Some(b) => layer.in_bbox(b),
        None => (0..layer.len() as u32).collect(),
    };
    let matching: Vec<_> = slots
        .into_iter()
        .map(|s| layer.item(s))
        .filter(|o| ours.is_none_or(|want| o.is_ours() == want))
        .collect();
    let total = matching.len();
    let features = matching
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|o| features::outlet(o, crs))
        .collect();
    Ok(HttpResponse::Ok().json(features::collection(
        features,
        crs,
        json!({ "total": total, "limit": limit, "offset": offset }),
    )))
}

/// `GET /api/outlets/{id}?crs=`
pub async fn get(
    app: Shared,
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
        .ok_or_else(|| ApiError::not_found("outlet", &path))?;
    Ok(HttpResponse::Ok().json(features::outlet(o, crs)))
}
