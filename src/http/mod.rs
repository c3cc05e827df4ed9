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

/// Registers every API route and, if `web_dir` exists, the map app at `/`.
pub fn configure(cfg: &mut web::ServiceConfig, app: Arc<App>, web_dir: Option<PathBuf>) {
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
    if let Some(dir) = web_dir.filter(|d| d.join("public").is_dir()) {
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
    web_dir: Option<PathBuf>,
    on_bound: impl FnOnce(Vec<std::net::SocketAddr>),
) -> std::io::Result<()> {
    let server = HttpServer::new(move || {
        let app = app.clone();
        let web_dir = web_dir.clone();
        ActixApp::new()
            .wrap(actix_web::middleware::Logger::new("%r %s %Dms").log_target("ecomap::http"))
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Referrer-Policy", "same-origin")),
            )
            .configure(move |cfg| configure(cfg, app, web_dir))
    })
    .bind(bind)?;
    on_bound(server.addrs());
    server.run().await
}
