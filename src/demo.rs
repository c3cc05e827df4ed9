//! The Leshan (乐山) demo: synthetic files in `data/demo/`, made by `ecomap gen --seed 1 --out
//! data/demo`, compiled into the binary so that `ecomap serve --demo` works from any directory,
//! and loaded through the same import path as a user's files.

use std::path::Path;

use crate::app::{Access, App, AppError, ImportReport};
use crate::auth::Role;
use crate::domain::{Categories, Dataset};
use crate::export::{self, ExportError};
use crate::geo::crs::Crs;
use crate::ingest::{Encoding, ImportKind, ImportOptions};

/// Each demo file, its kind and its coordinate system. The merchant list is in GCJ-02 with
/// Chinese headers, as an AMap export would be, so the demo exercises the conversion.
pub const FILES: [(&str, ImportKind, Crs); 4] = [
    ("outlets.csv", ImportKind::Outlets, Crs::Wgs84),
    ("merchants.csv", ImportKind::Merchants, Crs::Gcj02),
    ("communities.geojson", ImportKind::Communities, Crs::Wgs84),
    ("areas.geojson", ImportKind::Areas, Crs::Wgs84),
];

pub const ORG_UNITS_FILE: &str = "org_units.csv";

fn embedded(name: &str) -> &'static [u8] {
    match name {
        "org_units.csv" => include_bytes!("../data/demo/org_units.csv"),
        "outlets.csv" => include_bytes!("../data/demo/outlets.csv"),
        "merchants.csv" => include_bytes!("../data/demo/merchants.csv"),
        "communities.geojson" => include_bytes!("../data/demo/communities.geojson"),
        "areas.geojson" => include_bytes!("../data/demo/areas.geojson"),
        _ => &[],
    }
}

/// Loads the demo into `app` (org tree first, then each file), all through the import path.
pub async fn load(app: &App) -> Result<Vec<ImportReport>, AppError> {
    let access = Access::system("demo");
    let mut reports = vec![
        app.import_org_units(embedded(ORG_UNITS_FILE), &access)
            .await?,
    ];
    for (name, kind, crs) in FILES {
        let opts = ImportOptions {
            crs,
            encoding: Encoding::Auto,
            format: None,
            max_rows: app.limits.max_import_rows,
        };
        reports.push(
            app.import(
                kind,
                Some(name),
                embedded(name),
                &opts,
                &access,
                &mut |_| {},
            )
            .await?,
        );
    }
    Ok(reports)
}

/// Writes a dataset as the demo's set of files (used by `ecomap gen --out DIR`).
pub fn write_files(ds: &Dataset, categories: &Categories, dir: &Path) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir)?;
    let file = |name: &str| std::fs::File::create(dir.join(name)).map(std::io::BufWriter::new);
    export::org_units_csv(&ds.org_units, file(ORG_UNITS_FILE)?)?;
    for (name, kind, crs) in FILES {
        let out = file(name)?;
        match kind {
            ImportKind::Outlets => export::outlets_csv(&ds.outlets, crs, out)?,
            ImportKind::Merchants => export::merchants_csv(
                ds.merchants.iter().cloned(),
                categories,
                crs,
                export::Contacts::AsStored,
                out,
            )?,
            ImportKind::Communities => export::communities_geojson(&ds.communities, crs, out)?,
            ImportKind::Areas => export::areas_geojson(&ds.areas, crs, out)?,
        }
    }
    Ok(())
}

/// The demo's logins, one per role (and a second branch, to see scopes at work). Their
/// passwords are public: they exist only in a database that `--demo` filled.
pub const DEMO_USERS: [(&str, &str, &str, Role, Option<&str>); 4] = [
    (
        "admin",
        "ecomap-admin-demo",
        "演示管理员",
        Role::Admin,
        None,
    ),
    (
        "zgq",
        "ecomap-branch-demo",
        "张公桥支行演示用户",
        Role::Branch,
        Some("SB01"),
    ),
    (
        "szq",
        "ecomap-branch-demo",
        "市中区支行演示用户",
        Role::Branch,
        Some("SB02"),
    ),
    (
        "out01",
        "ecomap-staff-demo",
        "张公桥营业部员工",
        Role::Staff,
        Some("OUT01"),
    ),
];

/// Creates the demo logins if the database has no users yet; returns the ones created.
pub async fn create_users(app: &App) -> Result<Vec<(String, String, Role)>, AppError> {
    if app.store.count_users().await? > 0 {
        return Ok(Vec::new());
    }
    let mut made = Vec::new();
    for (username, password, name, role, node) in DEMO_USERS {
        let hash =
            crate::auth::hash_password(password).map_err(|e| AppError::Forbidden(e.to_string()))?;
        app.store
            .create_user(username, name, &hash, role, node, role == Role::Admin)
            .await?;
        made.push((username.to_string(), password.to_string(), role));
    }
    Ok(made)
}
