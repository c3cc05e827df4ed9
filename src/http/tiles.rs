//! Vector tiles over HTTP: `/tiles/{layer}/{z}/{x}/{y}.mvt` (Mapbox Vector Tile) and `.geojson`
//! (the same features), and `/tiles/{layer}.json` (TileJSON 3.0 for MapLibre).
//!
//! Tiles are scoped like the API (a caller sees their own merchants, shared communities and
//! areas, competitors' outlets) and revalidated, not re-sent: the ETag names the process, the
//! data's generation in it, the caller's scope and the coordinate system, so a tile that has
//! not changed answers `304 Not Modified` before anything is computed (and a tag made by
//! another process, or before a restart, is never taken for a current one).

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::params::Params;
use super::Shared;
use crate::auth::Scope;
use crate::geo::crs::Crs;
use crate::tiles::{self, Projector, TileId, TileLayer};

const MVT_TYPE: &str = "application/vnd.mapbox-vector-tile";

fn layer_of(code: &str) -> Result<TileLayer, ApiError> {
    TileLayer::parse(code).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no tile layer {code:?}; layers: {}",
            TileLayer::ALL.map(|l| l.code()).join(", ")
        ))
    })
}

/// A short fingerprint of what the caller may see.
fn scope_key(scope: &Scope) -> u64 {
    match scope {
        Scope::All => 0,
        Scope::Nodes { own, above } => {
            let mut own: Vec<&String> = own.iter().collect();
            own.sort();
            let mut above: Vec<&String> = above.iter().collect();
            above.sort();
            let text = format!("{own:?}|{above:?}");
            tiles::feature_id(&text)
        }
    }
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.{mvt|geojson}?crs=`
pub async fn tile(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, u8, u32, String)>,
) -> Result<HttpResponse, ApiError> {
    let (layer, z, x, y_ext) = path.into_inner();
    let layer = layer_of(&layer)?;
    let (y, format) = y_ext
        .rsplit_once('.')
        .ok_or_else(|| ApiError::bad("y", "end the path in .mvt or .geojson"))?;
    let geojson = match format {
        "mvt" | "pbf" => false,
        "geojson" | "json" => true,
        other => {
            return Err(ApiError::bad(
                "format",
                format!("unknown tile format {other:?}: use .mvt or .geojson"),
            ))
        }
    };
    let y: u32 = y
        .parse()
        .map_err(|_| ApiError::bad("y", format!("{y:?} is not a tile row")))?;
    let t = TileId::new(z, x, y, app.tile_params.max_zoom).map_err(|e| ApiError::bad("z", e))?;
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["crs"])?;
    let crs = p.crs()?;
    let generation = app.generation();
    let scope = scope_key(&caller.scope);
    // The generation counts this process's changes; the store's origin names the process
    // (and its start), so that a tag from another process behind the same load balancer, or
    // from before a restart, never matches by accident.
    let etag = format!(
        "\"t{}.{generation:x}-{scope:x}-{}\"",
        app.store.origin(),
        crs.code()
    );
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim() == etag || e.trim() == "*"));
    let respond = |mut r: actix_web::HttpResponseBuilder| {
        r.insert_header((header::ETAG, etag.clone()))
            .insert_header((header::CACHE_CONTROL, "private, no-cache"))
            .insert_header((header::VARY, "Cookie, Authorization"));
        r
    };
    if fresh {
        return Ok(respond(HttpResponse::NotModified()).finish());
    }
    let body = if layer == TileLayer::Coverage {
        // Scores every merchant of its hexes: cached, and off the async workers.
        let key = format!(
            "{}/{z}/{x}/{y}/{}/{scope}/{geojson}",
            layer.code(),
            crs.code()
        );
        match app.tile_cache.get(&key, generation) {
            Some(b) => b,
            None => {
                let app2 = app.clone();
                let caller = caller.clone();
                let b = web::block(move || render(&app2, &caller, layer, t, crs, geojson))
                    .await
                    .map_err(|e| ApiError::Internal(Box::new(e)))?;
                let b = web::Bytes::from(b);
                app.tile_cache.put(key, generation, b.clone());
                b
            }
        }
    } else {
        web::Bytes::from(render(&app, &caller, layer, t, crs, geojson))
    };
    let mut r = respond(HttpResponse::Ok());
    r.content_type(if geojson {
        "application/geo+json"
    } else {
        MVT_TYPE
    });
    Ok(r.body(body))
}

/// Makes one tile of one layer.
fn render(
    app: &crate::app::App,
    caller: &Caller,
    layer: TileLayer,
    t: TileId,
    crs: Crs,
    geojson: bool,
) -> Vec<u8> {
    let p = &app.tile_params;
    let proj = Projector::new(t, crs);
    let warm = (layer == TileLayer::Coverage).then(|| app.warm());
    let weights = (layer == TileLayer::Coverage).then(|| {
        app.effective_weights(caller.user.org_node_id.as_deref())
            .weights
    });
    let index = app.index();
    let order = (layer == TileLayer::Merchants).then(|| app.merchant_order(&index));
    let features = match layer {
        TileLayer::Merchants => {
            let Some(order) = order.as_deref() else {
                return Vec::new();
            };
            let visible = tiles::visible_owners(order, &caller.scope);
            tiles::merchants(&index, order, &proj, visible.as_deref(), p)
        }
        TileLayer::Outlets => tiles::outlets(&index, &proj, &caller.scope, p),
        TileLayer::Communities => tiles::communities(&index, &proj, &caller.scope, p),
        TileLayer::Areas => tiles::areas(&index, &proj, &caller.scope, p),
        TileLayer::Coverage => match (&warm, &weights) {
            (Some(warm), Some(weights)) => {
                let priority_of = |slot: u32| {
                    crate::scoring::priority::score(
                        &index,
                        &warm.stats,
                        &app.ranking.params,
                        weights,
                        slot,
                        0.0,
                    )
                    .map_or(0.0, |s| s.score)
                };
                let inputs = tiles::CoverageInputs {
                    stats: &warm.stats,
                    priority_of: &priority_of,
                    params: &app.coverage,
                };
                tiles::coverage_grid(&index, &proj, &caller.scope, &inputs, p)
            }
            _ => Vec::new(),
        },
    };
    if geojson {
        tiles::to_geojson(layer, t, crs, &features).into_bytes()
    } else {
        tiles::encode_mvt(layer, &features)
    }
}

/// `GET /tiles/{layer}.json?crs=`: TileJSON 3.0 describing a layer for MapLibre.
pub async fn tilejson(
    app: Shared,
    _caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let code = name.strip_suffix(".json").unwrap_or(&name);
    let layer = layer_of(code)?;
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["crs"])?;
    let crs = p.crs()?;
    let info = req.connection_info();
    let query = match crs {
        Crs::Wgs84 => String::new(),
        c => format!("?crs={}", c.code()),
    };
    let url = format!(
        "{}://{}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt{query}",
        info.scheme(),
        info.host(),
        layer.code()
    );
    let tp = &app.tile_params;
    let fields: serde_json::Map<String, serde_json::Value> = layer
        .fields()
        .iter()
        .map(|(k, v)| ((*k).to_string(), json!(v)))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "tilejson": "3.0.0",
        "name": layer.code(),
        "description": layer.zh(),
        "scheme": "xyz",
        "tiles": [url],
        "minzoom": layer.min_zoom(tp),
        "maxzoom": tp.max_zoom,
        "bounds": [-180.0, -85.0511, 180.0, 85.0511],
        "vector_layers": [{
            "id": layer.code(),
            "description": layer.zh(),
            "minzoom": layer.min_zoom(tp),
            "maxzoom": tp.max_zoom,
            "fields": fields,
        }],
    })))
}
