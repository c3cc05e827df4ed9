//! Health, the category catalogue and the OpenAPI description.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::params::Params;
use super::Shared;

/// `GET /api/health`: up and which backend (public); how much is indexed only for
/// administrators.
pub async fn health(app: Shared, caller: Option<Caller>) -> Result<HttpResponse, ApiError> {
    sqlx::query("SELECT 1")
        .execute(app.store.pool())
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let admin = caller.is_some_and(|c| c.user.role == crate::auth::Role::Admin);
    let index = app.index();
    let counts = admin.then(|| {
        json!({
            "org_units": index.org_units.len(),
            "outlets": index.outlets.len(),
            "merchants": index.merchants.len(),
            "communities": index.communities.len(),
            "areas": index.areas.len(),
        })
    });
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "backend": match app.store.backend() {
            crate::storage::Backend::Sqlite => "sqlite",
            crate::storage::Backend::Postgres => "postgres",
        },
        "counts": counts,
    })))
}

/// `GET /api/categories`: codes with Chinese and English names.
pub async fn categories(
    app: Shared,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    Params::parse(req.query_string())?.allow_only(&[])?;
    let list: Vec<_> = app
        .categories
        .all()
        .iter()
        .map(|c| json!({ "code": c.code, "zh": c.zh, "en": c.en }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "categories": list })))
}

/// The hand-written OpenAPI 3.1 description; a test checks that every path in it answers.
pub const OPENAPI: &str = include_str!("openapi.json");

/// `GET /api/openapi.json`
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}
