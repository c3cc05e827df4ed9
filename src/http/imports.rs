//! `POST /api/import/{kind}`: the same all-or-nothing import as `ecomap import`, over HTTP.

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;

use super::auth::Caller;
use super::error::ApiError;
use super::params::Params;
use super::Shared;
use crate::ingest::{Encoding, Format, ImportKind, ImportOptions};

/// The body is the file itself (CSV or GeoJSON). `crs` is required: a file's coordinate
/// system cannot be guessed safely, and a wrong guess moves every point 100–700 m.
pub async fn import(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if caller.user.role == crate::auth::Role::Staff {
        return Err(ApiError::Forbidden(
            "outlet staff record visits; imports are for branch users and administrators".into(),
        ));
    }
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["crs", "encoding", "format", "filename"])?;
    let kind: ImportKind = path
        .parse()
        .map_err(|_| ApiError::not_found("import kind", &path))?;
    let crs = match p.str("crs") {
        Some(_) => p.crs()?,
        None => {
            return Err(ApiError::bad(
                "crs",
                "required: say which system the file is in (wgs84, gcj02 or bd09)",
            ))
        }
    };
    let encoding: Encoding = match p.str("encoding") {
        None => Encoding::Auto,
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::bad("encoding", format!("{v:?}: use auto, utf8 or gbk")))?,
    };
    let format: Option<Format> = match p.str("format") {
        None => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| ApiError::bad("format", format!("{v:?}: use csv or geojson")))?,
        ),
    };
    // Read the body ourselves so that an oversize upload gets our JSON 413, not a bare one.
    let limit = app.limits.max_import_bytes;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad("body", format!("could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(ApiError::bad(
            "body",
            "empty: send the file as the request body",
        ));
    }
    let opts = ImportOptions {
        crs,
        encoding,
        format,
        max_rows: app.limits.max_import_rows,
    };
    let source = p.str("filename").map(str::to_string);
    let report = app
        .import(
            kind,
            source.as_deref(),
            &body,
            &opts,
            &caller.access(),
            &mut |_| {},
        )
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
