//! Merchants: bbox listing with filters, and the nearby query around an outlet.

use crate::index::MerchantRef;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::params::{slots_in, Params};
use super::Shared;
use crate::domain::PipelineStatus;
use crate::features;

/// Category and status filters: comma-separated lists, checked against the catalogue.
pub(super) struct MerchantFilter {
    /// Only merchants owned inside the caller's scope.
    scope: crate::auth::Scope,
    /// `q`: part of the name (case-insensitive), for search boxes.
    name: Option<String>,
    categories: Option<Vec<String>>,
    statuses: Option<Vec<PipelineStatus>>,
}

impl MerchantFilter {
    pub(super) fn from_params(
        p: &Params,
        app: &crate::app::App,
        caller: &Caller,
    ) -> Result<Self, ApiError> {
        let categories = match p.str("category") {
            None => None,
            Some(v) => Some(
                v.split(',')
                    .map(|c| {
                        app.categories
                            .resolve(c)
                            .map(|cat| cat.code.clone())
                            .ok_or_else(|| {
                                ApiError::bad(
                                    "category",
                                    format!(
                                        "unknown category {c:?}; known codes: {}",
                                        app.categories
                                            .all()
                                            .iter()
                                            .map(|c| c.code.as_str())
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ),
                                )
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let statuses = match p.str("status") {
            None => None,
            Some(v) => Some(
                v.split(',')
                    .map(|s| {
                        PipelineStatus::parse(s).ok_or_else(|| {
                            ApiError::bad(
                                "status",
                                format!(
                                    "unknown status {s:?}; use {}",
                                    PipelineStatus::ALL.map(|s| s.code()).join(", ")
                                ),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(Self {
            scope: caller.scope.clone(),
            name: p.str("q").map(str::to_lowercase),
            categories,
            statuses,
        })
    }

    pub(super) fn matches(&self, m: MerchantRef<'_>) -> bool {
        self.scope.contains(m.owner_org_id())
            && self
                .name
                .as_ref()
                .is_none_or(|q| m.name().to_lowercase().contains(q))
            && self
                .categories
                .as_ref()
                .is_none_or(|c| c.iter().any(|x| x == m.category()))
            && self
                .statuses
                .as_ref()
                .is_none_or(|s| s.contains(&m.status()))
    }
}

/// `GET /api/merchants?bbox=&category=&status=&limit=&offset=&crs=`
pub async fn list(app: Shared, caller: Caller, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["bbox", "q", "category", "status", "limit", "offset", "crs"])?;
    let crs = p.crs()?;
    let page = p.page(app.limits.default_page, app.limits.max_page)?;
    let bbox = p.bbox(crs, app.limits.max_bbox_deg)?;
    let filter = MerchantFilter::from_params(&p, &app, &caller)?;
    let index = app.index();
    let layer = &index.merchants;
    let matching: Vec<MerchantRef<'_>> = slots_in(layer, bbox.as_ref())
        .into_iter()
        .map(|s| layer.item(s))
        .filter(|m| filter.matches(*m))
        .collect();
    Ok(HttpResponse::Ok().json(page.collection(
        matching,
        crs,
        |m| features::merchant(m, &app.categories, crs),
        json!({}),
    )))
}

/// `GET /api/merchants/{id}`
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
    let m = index
        .merchants
        .get(&path)
        .filter(|m| caller.scope.contains(m.owner_org_id()))
        .ok_or_else(|| ApiError::not_found("merchant", &path))?;
    Ok(HttpResponse::Ok().json(features::merchant(m, &app.categories, crs)))
}

/// `GET /api/outlets/{id}/nearby?radius_m=&category=&status=&limit=&crs=`: merchants within
/// `radius_m` metres (great circle) of the outlet, nearest first, each with `distance_m`.
pub async fn nearby(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["radius_m", "q", "category", "status", "limit", "crs"])?;
    let crs = p.crs()?;
    let radius_m = p.f64_in(
        "radius_m",
        app.limits.default_radius_m,
        1.0,
        app.limits.max_radius_m,
    )?;
    let limit = p.usize_in("limit", app.limits.max_page, 1, app.limits.max_page)?;
    let filter = MerchantFilter::from_params(&p, &app, &caller)?;
    let index = app.index();
    let outlet = index
        .outlets
        .get(&path)
        .filter(|o| caller.scope.sees_outlet(o))
        .ok_or_else(|| ApiError::not_found("outlet", &path))?;
    let hits: Vec<_> = index
        .merchants
        .within_radius(outlet.location, radius_m)
        .into_iter()
        .filter(|h| filter.matches(index.merchants.item(h.slot)))
        .collect();
    let total = hits.len();
    let features = hits
        .into_iter()
        .take(limit)
        .map(|h| {
            let m = index.merchants.item(h.slot);
            features::with_property(
                features::merchant(m, &app.categories, crs),
                "distance_m",
                json!((h.distance_m * 10.0).round() / 10.0),
            )
        })
        .collect();
    Ok(HttpResponse::Ok().json(features::collection(
        features,
        crs,
        json!({
            "outlet_id": outlet.id,
            "radius_m": radius_m,
            "distance": "great_circle",
            "total": total,
            "limit": limit,
            "truncated": total > limit,
        }),
    )))
}

/// `GET /api/merchants/{id}/contact`: the owner's name and phone unmasked. Needs the unmask
/// permission; every call is audited (who, which merchant, when; never the values).
pub async fn contact(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let contact = {
        let index = app.index();
        let m = index
            .merchants
            .get(&path)
            .filter(|m| caller.scope.contains(m.owner_org_id()))
            .ok_or_else(|| ApiError::not_found("merchant", &path))?;
        m.contact().cloned()
    };
    if !caller.user.can_unmask {
        return Err(ApiError::Forbidden(
            "seeing personal information unmasked needs the unmask permission".into(),
        ));
    }
    app.store
        .audit(
            Some(&caller.user.username),
            "unmask",
            Some(&format!("merchant:{}", path.as_str())),
            None,
            Some(&caller.client),
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "merchant_id": path.as_str(),
            "contact_name": contact.as_ref().and_then(|c| c.name.clone()),
            "contact_phone": contact.as_ref().and_then(|c| c.phone.clone()),
        })))
}
