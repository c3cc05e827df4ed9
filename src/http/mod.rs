//! The HTTP API (actix-web) and the static map app. Handlers are thin: they parse parameters,
//! read the index and shape GeoJSON; errors go through `error::ApiError`.

mod auth;
mod campaign_views;
mod campaigns;
mod coverage;
mod error;
mod exports;
mod imports;
mod merchants;
mod meta;
mod outlets;
mod params;
mod places;
mod plans;
mod printable;
mod scoring;
mod tiles;
mod visits;

use std::path::PathBuf;
use std::sync::Arc;

use actix_web::{web, App as ActixApp, HttpServer};

use crate::app::App;

pub use auth::{check_node, SESSION_COOKIE};
pub use error::ApiError;
pub use meta::OPENAPI;

type Shared = web::Data<App>;

/// The base map the map app draws under ecomap's layers, and the coordinate system its tiles
/// use (OSM-style maps are WGS-84; AMap and Tencent tiles are GCJ-02). None: a plain background.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Basemap {
    /// A tile URL template (`https://…/{z}/{x}/{y}.png`) or, for `vector`, a style URL.
    pub url: Option<String>,
    /// `raster` or `vector`.
    #[serde(rename = "type")]
    pub kind: String,
    pub crs: crate::geo::crs::Crs,
    pub attribution: Option<String>,
}

/// The map app: where its files are and what it is configured with.
#[derive(Debug, Clone)]
pub struct WebApp {
    pub dir: PathBuf,
    pub basemap: Basemap,
}

impl WebApp {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            basemap: Basemap {
                kind: "raster".into(),
                ..Basemap::default()
            },
        }
    }
}

/// Registers every API route and, if given, the map app at `/` (with its `/config.json`).
pub fn configure(cfg: &mut web::ServiceConfig, app: Arc<App>, web_app: Option<WebApp>) {
    let csp = content_security_policy(web_app.as_ref().and_then(|w| w.basemap.url.as_deref()));
    cfg.app_data(web::Data::from(app))
        .app_data(web::PathConfig::default().error_handler(|e, _| error::from_actix(e.into())))
        .app_data(
            web::JsonConfig::default()
                .limit(64 * 1024)
                .error_handler(|e, _| error::from_actix(e.into())),
        )
        .service(
            web::scope("/api")
                .wrap(security_headers(&csp))
                .route("/health", web::get().to(meta::health))
                .route("/openapi.json", web::get().to(meta::openapi))
                .route("/categories", web::get().to(meta::categories))
                .route("/outlets", web::get().to(outlets::list))
                .route("/outlets/{id}", web::get().to(outlets::get))
                .route("/outlets/{id}/nearby", web::get().to(merchants::nearby))
                .route("/merchants", web::get().to(merchants::list))
                .route("/merchants/{id}", web::get().to(merchants::get))
                .route("/merchants/{id}/contact", web::get().to(merchants::contact))
                .route(
                    "/export/merchants.csv",
                    web::get().to(exports::merchants_csv),
                )
                .route("/login", web::post().to(auth::login))
                .route("/logout", web::post().to(auth::logout))
                .route("/session", web::get().to(auth::session))
                .route("/users", web::get().to(auth::users))
                .route("/users", web::post().to(auth::add_user))
                .route("/users/{username}", web::patch().to(auth::change_user))
                .route("/audit", web::get().to(auth::audit))
                .route(
                    "/outlets/{id}/priorities",
                    web::get().to(scoring::priorities),
                )
                .route("/scoring/weights", web::get().to(scoring::get_weights))
                .route("/scoring/weights", web::put().to(scoring::put_weights))
                .route("/territories", web::get().to(scoring::territories))
                .route("/models/huff", web::post().to(scoring::huff_tool))
                .route("/outlets/{id}/circles", web::get().to(coverage::circles))
                .route(
                    "/outlets/{id}/isochrones",
                    web::get().to(coverage::isochrones),
                )
                .route("/outlets/{id}/plan", web::get().to(plans::outlet_plan))
                .route("/outlets/{id}/plan/week", web::get().to(plans::outlet_week))
                .route("/campaigns", web::get().to(campaigns::list))
                .route("/campaigns", web::post().to(campaigns::create))
                .route("/campaigns/preview", web::post().to(campaigns::preview))
                .route("/campaigns/{id}", web::get().to(campaigns::get))
                .route("/campaigns/{id}", web::put().to(campaigns::update))
                .route("/campaigns/{id}", web::delete().to(campaigns::delete))
                .route("/campaigns/{id}/history", web::get().to(campaigns::history))
                .route("/campaigns/{id}/plan", web::get().to(campaigns::plan))
                .route("/coverage/grid", web::get().to(coverage::grid))
                .route(
                    "/coverage/outlets",
                    web::get().to(coverage::compare_outlets),
                )
                .route("/areas/{id}/survey", web::get().to(coverage::area_survey))
                .route("/survey", web::post().to(coverage::drawn_survey))
                .route("/communities", web::get().to(places::communities))
                .route("/communities/{id}", web::get().to(places::community))
                .route("/areas", web::get().to(places::areas))
                .route("/areas/{id}", web::get().to(places::area))
                .route(
                    "/areas/{id}/merchants",
                    web::get().to(places::area_merchants),
                )
                .route("/import/{kind}", web::post().to(imports::import))
                .route("/visits", web::post().to(visits::record))
                .route("/visits", web::get().to(visits::list))
                .route("/visits/funnel", web::get().to(visits::funnel))
                .route("/merchants/{id}/visits", web::get().to(visits::history))
                .default_service(web::to(|req: actix_web::HttpRequest| async move {
                    Err::<actix_web::HttpResponse, _>(ApiError::NotFound(format!(
                        "no API endpoint {} {}; see /api/openapi.json",
                        req.method(),
                        req.path()
                    )))
                })),
        )
        .service(
            web::scope("/tiles")
                .wrap(security_headers(&csp))
                .route("/{layer}/{z}/{x}/{y}", web::get().to(tiles::tile))
                .route("/{name}", web::get().to(tiles::tilejson)),
        );
    if let Some(WebApp { dir, basemap }) = web_app.filter(|w| w.dir.join("public").is_dir()) {
        let config = serde_json::json!({ "basemap": basemap });
        let mut site = web::scope("").wrap(security_headers(&csp)).route(
            "/config.json",
            web::get().to(move || {
                let config = config.clone();
                async move { actix_web::HttpResponse::Ok().json(config) }
            }),
        );
        let vendor = dir.join("node_modules/maplibre-gl/dist");
        if vendor.is_dir() {
            site = site.service(actix_files::Files::new("/vendor/maplibre-gl", vendor));
        } else {
            tracing::warn!(
                "{} is missing: run `npm ci --prefix web` for the map library",
                vendor.display()
            );
        }
        cfg.service(
            site.service(actix_files::Files::new("/", dir.join("public")).index_file("index.html")),
        );
    }
}

/// Headers on every response: no sniffing, no framing, no referrer beyond the origin, and a
/// content security policy that allows only ecomap's own scripts (and the base map's host).
fn security_headers(csp: &str) -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("Content-Security-Policy", csp.to_string()))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
}

/// The CSP. MapLibre needs blob: workers and data:/blob: images; inline style attributes are
/// allowed (the app sets colours inline), inline scripts are not.
pub fn content_security_policy(basemap_url: Option<&str>) -> String {
    let extra = basemap_url.and_then(source_of).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:{extra}; connect-src 'self'{extra}; worker-src 'self' blob:; \
         child-src blob:; font-src 'self' data:; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// `https://{s}.tile.example.com/{z}/{x}/{y}.png` → ` https://*.tile.example.com`.
fn source_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    let host = if host.contains('{') {
        let (_, tail) = host.split_once('.')?;
        format!("*.{tail}")
    } else {
        host.to_string()
    };
    if host.is_empty() || host.contains(['{', '}', ' ', ';', '\'']) {
        return None;
    }
    Some(format!(" {scheme}://{host}"))
}

/// Where the map app lives (`web/`: `public/` is served at `/`, MapLibre from `node_modules/`):
/// `ECOMAP_WEB_DIR`, else `web/` in the working directory, else the source tree's `web/`.
pub fn default_web_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("ECOMAP_WEB_DIR") {
        return Some(PathBuf::from(d));
    }
    [
        PathBuf::from("web"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web"),
    ]
    .into_iter()
    .find(|d| d.join("public/index.html").is_file())
}

/// Binds and runs the server until it is stopped. `bind` may use port 0; the bound addresses
/// are returned through `on_bound` before serving starts (tests use this).
pub async fn serve(
    app: Arc<App>,
    bind: &str,
    web_app: Option<WebApp>,
    on_bound: impl FnOnce(Vec<std::net::SocketAddr>),
) -> std::io::Result<()> {
    let server = HttpServer::new(move || {
        let app = app.clone();
        let web_app = web_app.clone();
        // The request line without its query string: queries may carry names being searched.
        ActixApp::new()
            .wrap(actix_web::middleware::Logger::new("%m %U %s %Dms").log_target("ecomap::http"))
            .configure(move |cfg| configure(cfg, app, web_app))
    })
    // A client must send its request head within 10 s, and a response must be taken within 5 s
    // of the connection closing; imports are bounded by their size limit.
    .client_request_timeout(std::time::Duration::from_secs(10))
    .client_disconnect_timeout(std::time::Duration::from_secs(5))
    .keep_alive(std::time::Duration::from_secs(75))
    .bind(bind)?;
    on_bound(server.addrs());
    server.run().await
}
