//! Downloads: the caller's merchants as CSV (Excel-ready, UTF-8 with BOM), masked by default,
//! every export audited.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::merchants::MerchantFilter;
use super::params::{slots_in, Params};
use super::Shared;
use crate::export::{self, Contacts};

/// `GET /api/export/merchants.csv?bbox=&q=&category=&status=&crs=&unmask=`
pub async fn merchants_csv(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["bbox", "q", "category", "status", "crs", "unmask"])?;
    let crs = p.crs()?;
    let bbox = p.bbox(crs, app.limits.max_bbox_deg)?;
    let filter = MerchantFilter::from_params(&p, &app, &caller)?;
    let unmask = p.bool("unmask")?.unwrap_or(false);
    if unmask && !caller.user.can_unmask {
        return Err(ApiError::Forbidden(
            "an unmasked export needs the unmask permission".into(),
        ));
    }
    let mut body = Vec::new();
    let count = {
        let index = app.index();
        let layer = &index.merchants;
        let rows: Vec<_> = slots_in(layer, bbox.as_ref())
            .into_iter()
            .map(|s| layer.item(s))
            .filter(|m| filter.matches(*m))
            .collect();
        let contacts = if unmask {
            Contacts::AsStored
        } else {
            Contacts::Masked
        };
        export::merchants_csv(
            rows.iter().map(|m| m.to_merchant()),
            &app.categories,
            crs,
            contacts,
            &mut body,
        )
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
        rows.len()
    };
    app.store
        .audit(
            Some(&caller.user.username),
            if unmask { "export_unmasked" } else { "export" },
            Some("merchants.csv"),
            Some(json!({ "rows": count, "crs": crs.code(), "query": req.query_string() })),
            Some(&caller.client),
        )
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"merchants.csv\"",
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}
