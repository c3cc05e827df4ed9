//! The HTTP API (actix-web) and the static map app. Handlers are thin: they parse parameters,
//! read the index and shape GeoJSON; errors go through `error::ApiError`.

mod error;
mod imports;
mod merchants;
mod meta;
mod outlets;
mod params;
mod places;

use std::path::PathBuf;
use std::sync::Arc;

use actix_web::{web, App as ActixApp, HttpServer};

use crate::app::App;

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
    cfg.app_data(web::Data::from(app))
        .app_data(web::PathConfig::default().error_handler(|e, _| error::from_actix(e.into())))
        .service(
            web::scope("/api")
                .route("/health", web::get().to(meta::health))
                .route("/openapi.json", web::get().to(meta::openapi))
                .route("/categories", web::get().to(meta::categories))
                .route("/outlets", web::get().to(outlets::list))
                .route("/outlets/{id}", web::get().to(outlets::get))
                .route("/outlets/{id}/nearby", web::get().to(merchants::nearby))
                .route("/merchants", web::get().to(merchants::list))
                .route("/merchants/{id}", web::get().to(merchants::get))
                .route("/communities", web::get().to(places::communities))
                .route("/communities/{id}", web::get().to(places::community))
                .route("/areas", web::get().to(places::areas))
                .route("/areas/{id}", web::get().to(places::area))
                .route(
                    "/areas/{id}/merchants",
                    web::get().to(places::area_merchants),
                )
                .route("/import/{kind}", web::post().to(imports::import))
                .default_service(web::to(|req: actix_web::HttpRequest| async move {
                    Err::<actix_web::HttpResponse, _>(ApiError::NotFound(format!(
                        "no API endpoint {} {}; see /api/openapi.json",
                        req.method(),
                        req.path()
                    )))
                })),
        );
    if let Some(WebApp { dir, basemap }) = web_app.filter(|w| w.dir.join("public").is_dir()) {
        let config = serde_json::json!({ "basemap": basemap });
        cfg.route(
            "/config.json",
            web::get().to(move || {
                let config = config.clone();
                async move { actix_web::HttpResponse::Ok().json(config) }
            }),
        );
        let vendor = dir.join("node_modules/maplibre-gl/dist");
        if vendor.is_dir() {
            cfg.service(actix_files::Files::new("/vendor/maplibre-gl", vendor));
        } else {
            tracing::warn!(
                "{} is missing: run `npm ci --prefix web` for the map library",
                vendor.display()
            );
        }
        cfg.service(actix_files::Files::new("/", dir.join("public")).index_file("index.html"));
    }
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
        ActixApp::new()
            .wrap(actix_web::middleware::Logger::new("%r %s %Dms").log_target("ecomap::http"))
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Referrer-Policy", "same-origin")),
            )
            .configure(move |cfg| configure(cfg, app, web_app))
    })
    .bind(bind)?;
    on_bound(server.addrs());
    server.run().await
}
