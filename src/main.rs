//! The `ecomap` command: parse the command line and call into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ecomap::app::{Access, App, AppError, Limits};
use ecomap::auth::Role;
use ecomap::domain::Categories;
use ecomap::gen::{GenConfig, Plan, Preset, Sizes};
use ecomap::geo::crs::Crs;
use ecomap::ingest::{Encoding, Format, ImportKind, ImportOptions};
use ecomap::storage::Store;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(
    name = "ecomap",
    version,
    about = "Maps a bank outlet's local-life ecosystem (生态圈地图)"
)]
struct Cli {
    /// Database: a SQLite file path or sqlite:// URL (default), or a postgres:// URL.
    #[arg(
        long,
        global = true,
        env = "ECOMAP_DB",
        default_value = "ecomap.sqlite"
    )]
    db: String,
    /// Category catalogue (TOML); the built-in data/categories.toml when absent.
    #[arg(long, global = true, env = "ECOMAP_CATEGORIES")]
    categories: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the map app.
    Serve {
        #[arg(long, env = "ECOMAP_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Load the Leshan demo first if the database has no merchants yet.
        #[arg(long)]
        demo: bool,
        /// Directory of the map app (default: ./web or the source tree's web/).
        #[arg(long, env = "ECOMAP_WEB_DIR")]
        web_dir: Option<PathBuf>,
        /// Base map for the map app: a raster tile URL template or a vector style URL.
        /// Without it the map draws ecomap's layers on a plain background (works offline).
        #[arg(long, env = "ECOMAP_BASEMAP_URL")]
        basemap_url: Option<String>,
        /// raster or vector.
        #[arg(long, env = "ECOMAP_BASEMAP_TYPE", default_value = "raster")]
        basemap_type: String,
        /// The base map's coordinate system: wgs84 (OSM-style), gcj02 (AMap, Tencent), bd09.
        #[arg(long, env = "ECOMAP_BASEMAP_CRS", default_value = "wgs84")]
        basemap_crs: String,
        /// Attribution text shown on the map for the base map.
        #[arg(long, env = "ECOMAP_BASEMAP_ATTRIBUTION")]
        basemap_attribution: Option<String>,
    },
    /// Import a CSV or GeoJSON file, all or nothing; rows update by the file's id.
    /// `import osm FILE.osm.pbf` imports merchants, communities and outlets from OpenStreetMap.
    Import {
        /// outlets, merchants, communities, areas, org (the organisation tree, CSV) or osm.
        kind: String,
        file: PathBuf,
        /// The file's coordinate system: wgs84, gcj02 (AMap, Tencent) or bd09 (Baidu).
        #[arg(long)]
        crs: Option<String>,
        /// auto (UTF-8 with or without BOM, else GB18030), utf8 or gbk.
        #[arg(long, default_value = "auto")]
        encoding: String,
        /// csv or geojson; detected from the name or content when absent.
        #[arg(long)]
        format: Option<String>,
        /// osm: our bank's name as OSM writes it in brand, operator or name (repeatable); every
        /// other bank is a competitor.
        #[arg(long = "our-bank")]
        our_bank: Vec<String>,
        /// osm: the org unit or outlet that owns new rows.
        #[arg(long)]
        owner: Option<String>,
        /// osm: what to import, e.g. merchants,communities (default: merchants, communities and
        /// outlets).
        #[arg(long)]
        only: Option<String>,
    },
    /// Load the built-in Leshan demo into the database (and its demo logins).
    Demo,
    /// Rank the merchants an outlet should win first, with each score's breakdown.
    Score {
        #[arg(long)]
        outlet: String,
        #[arg(long, default_value_t = 1000.0)]
        radius_m: f64,
        #[arg(long, default_value_t = 30)]
        limit: usize,
        /// CSV (UTF-8 with BOM, for Excel) instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Manage users: add, list, disable.
    User {
        #[command(subcommand)]
        action: UserCmd,
    },
    /// Manage API tokens for scripts: create, list, revoke.
    Token {
        #[command(subcommand)]
        action: TokenCmd,
    },
    /// Generate synthetic data, deterministic from the seed: the Leshan demo city, or a preset
    /// streamed straight into the database (docs/GENERATED_DATA.md).
    Gen {
        /// city: Chengdu, 1,000,000 merchants, 1,200 + 800 outlets, 20,000 communities.
        /// national: 142 cities, 30,000,000 merchants, 12,000 + 8,000 outlets, 600,000
        /// communities. Explicit sizes below override the preset's.
        #[arg(long)]
        preset: Option<Preset>,
        /// Multiplies the preset's sizes (e.g. 0.001 for a quick national run).
        #[arg(long, requires = "preset")]
        scale: Option<f64>,
        /// Default: 1 for the demo city, 42 with a preset.
        #[arg(long)]
        seed: Option<u64>,
        /// Merchants in total [default: 1600, or the preset's].
        #[arg(long)]
        merchants: Option<usize>,
        /// Our own outlets [default: 6, or the preset's].
        #[arg(long)]
        outlets: Option<usize>,
        /// Competitors' outlets [default: 4, or the preset's].
        #[arg(long)]
        competitors: Option<usize>,
        /// Residential communities [default: 64, or the preset's].
        #[arg(long)]
        communities: Option<usize>,
        /// Write files (the demo's layout) to this directory instead of the database (one city
        /// only: not the national preset).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user. The password is read from standard input (one line) or, when it is a
    /// terminal, generated and printed once.
    Add {
        username: String,
        /// admin (管理员), branch (分支行用户: an org unit's subtree) or staff (网点员工: one outlet).
        #[arg(long)]
        role: String,
        /// The org unit (branch) or outlet (staff) the user works in.
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// May see personal information unmasked (audited).
        #[arg(long)]
        can_unmask: bool,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    List,
    Disable {
        username: String,
    },
    Enable {
        username: String,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create a bearer token for a user; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "script")]
        name: String,
    },
    List,
    Revoke {
        id: String,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Storage(#[from] ecomap::storage::StorageError),
    #[error(transparent)]
    Categories(#[from] ecomap::domain::CategoryError),
    #[error(transparent)]
    Export(#[from] ecomap::export::ExportError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Gen(#[from] ecomap::gen::GenError),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::App(AppError::Import(e))) => {
            eprintln!("导入失败，未写入任何数据 / import rejected, nothing was written:");
            for err in &e.errors {
                eprintln!("  {err}");
            }
            if e.truncated {
                eprintln!(
                    "  … (only the first {} problems are listed)",
                    e.errors.len()
                );
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn start(
    cli_db: &str,
    categories: &Option<PathBuf>,
) -> Result<std::sync::Arc<App>, CliError> {
    let cats = match categories {
        Some(p) => Categories::load(p)?,
        None => Categories::builtin()?,
    };
    let store = Store::connect(cli_db).await?;
    Ok(App::start(store, cats, Limits::default()).await?)
}

fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} [{elapsed}] {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg.to_string());
    pb
}

async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve {
            bind,
            demo,
            web_dir,
            basemap_url,
            basemap_type,
            basemap_crs,
            basemap_attribution,
        } => {
            if !matches!(basemap_type.as_str(), "raster" | "vector") {
                return Err(CliError::Usage(format!(
                    "--basemap-type {basemap_type:?}: use raster or vector"
                )));
            }
            let basemap = ecomap::http::Basemap {
                url: basemap_url,
                kind: basemap_type,
                crs: basemap_crs
                    .parse()
                    .map_err(|e| CliError::Usage(format!("--basemap-crs: {e}")))?,
                attribution: basemap_attribution,
            };
            let app = start(&cli.db, &cli.categories).await?;
            if demo {
                if app.index().merchants.is_empty() {
                    let reports = ecomap::demo::load(&app).await?;
                    for r in reports {
                        tracing::info!(kind = %r.kind, rows = r.rows, "demo loaded");
                    }
                }
                print_demo_logins(&ecomap::demo::create_users(&app).await?);
            }
            // Other processes' writes on the same database reach this one's index.
            let _sync = ecomap::sync::spawn(app.clone());
            let web_app = web_dir
                .or_else(ecomap::http::default_web_dir)
                .map(|dir| ecomap::http::WebApp { dir, basemap });
            if web_app.is_none() {
                tracing::warn!("no web/ directory found: serving the API only");
            }
            ecomap::http::serve(app, &bind, web_app, |addrs| {
                for a in addrs {
                    tracing::info!("ecomap is listening: open http://{a}/");
                }
            })
            .await?;
            Ok(())
        }
        Command::Import {
            kind,
            file,
            crs,
            encoding,
            format,
            our_bank,
            owner,
            only,
        } => {
            if kind == "osm" {
                return import_osm(&cli.db, &cli.categories, &file, our_bank, owner, only).await;
            }
            let bytes = std::fs::read(&file)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
            let app = start(&cli.db, &cli.categories).await?;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            if kind == "org" {
                let r = app.import_org_units(&bytes, &Access::system("cli")).await?;
                println!("{}", serde_json::to_string(&r).unwrap_or_default());
                return Ok(());
            }
            let kind: ImportKind = kind.parse().map_err(|_| {
                CliError::Usage(format!(
                    "unknown kind {kind:?}: use outlets, merchants, communities, areas or org"
                ))
            })?;
            let crs: Crs = crs
                .ok_or_else(|| {
                    CliError::Usage(
                        "--crs is required: say which system the file is in (wgs84, gcj02 for AMap/Tencent, bd09 for Baidu)".into(),
                    )
                })?
                .parse()
                .map_err(|e| CliError::Usage(format!("--crs: {e}")))?;
            let encoding: Encoding = encoding.parse().map_err(|_| {
                CliError::Usage(format!("--encoding {encoding:?}: use auto, utf8 or gbk"))
            })?;
            let format: Option<Format> =
                match format {
                    None => None,
                    Some(f) => Some(f.parse().map_err(|_| {
                        CliError::Usage(format!("--format {f:?}: use csv or geojson"))
                    })?),
                };
            let opts = ImportOptions {
                crs,
                encoding,
                format,
                max_rows: app.limits.max_import_rows,
            };
            let pb = spinner(&format!("reading {}", file.display()));
            let report = app
                .import(
                    kind,
                    name.as_deref(),
                    &bytes,
                    &opts,
                    &Access::system("cli"),
                    &mut |n| pb.set_position(n as u64),
                )
                .await;
            pb.finish_and_clear();
            let report = report?;
            println!(
                "imported {} {}: {} new, {} updated (from {})",
                report.rows, report.kind, report.inserted, report.updated, report.crs
            );
            Ok(())
        }
        Command::Demo => {
            let app = start(&cli.db, &cli.categories).await?;
            for r in ecomap::demo::load(&app).await? {
                println!(
                    "demo {}: {} rows ({} new, {} updated)",
                    r.kind, r.rows, r.inserted, r.updated
                );
            }
            print_demo_logins(&ecomap::demo::create_users(&app).await?);
            Ok(())
        }
        Command::Score {
            outlet,
            radius_m,
            limit,
            csv,
        } => score(&cli.db, &cli.categories, &outlet, radius_m, limit, csv).await,
        Command::User { action } => users(&cli.db, &cli.categories, action).await,
        Command::Token { action } => tokens(&cli.db, &cli.categories, action).await,
        Command::Gen {
            preset,
            scale,
            seed,
            merchants,
            outlets,
            competitors,
            communities,
            out,
        } => {
            let plan = match preset {
                None => {
                    let d = GenConfig::default();
                    Plan::single(GenConfig {
                        seed: seed.unwrap_or(d.seed),
                        merchants: merchants.unwrap_or(d.merchants),
                        outlets_ours: outlets.unwrap_or(d.outlets_ours),
                        outlets_competitors: competitors.unwrap_or(d.outlets_competitors),
                        communities: communities.unwrap_or(d.communities),
                        ..d
                    })
                }
                Some(p) => {
                    let factor = scale.unwrap_or(1.0);
                    if !(factor.is_finite() && factor > 0.0) {
                        return Err(CliError::Usage(format!(
                            "--scale must be a positive number, not {factor}"
                        )));
                    }
                    let base = p.sizes().scaled(factor);
                    let sizes = Sizes {
                        merchants: merchants.unwrap_or(base.merchants),
                        outlets_ours: outlets.unwrap_or(base.outlets_ours),
                        outlets_competitors: competitors.unwrap_or(base.outlets_competitors),
                        communities: communities.unwrap_or(base.communities),
                    };
                    Plan::preset(p, sizes, seed.unwrap_or(Preset::SEED))?
                }
            };
            match out {
                Some(dir) => {
                    if plan.cities.len() > 1 {
                        return Err(CliError::Usage(
                            "--out writes one city; write the national preset to --db".into(),
                        ));
                    }
                    let cats = match &cli.categories {
                        Some(p) => Categories::load(p)?,
                        None => Categories::builtin()?,
                    };
                    let pb = spinner("generating");
                    let ds = plan.collect();
                    pb.finish_and_clear();
                    let ds = ds?;
                    ecomap::demo::write_files(&ds, &cats, &dir)?;
                    println!(
                        "wrote {} merchants to {}",
                        ds.merchants.len(),
                        dir.display()
                    );
                }
                None => {
                    use ecomap::gen::write::{write_plan, WriteError};
                    let pb = ProgressBar::new(plan.totals().rows());
                    pb.set_style(
                        ProgressStyle::with_template(
                            "{msg} [{bar:30}] {human_pos}/{human_len} rows, {per_sec} [{elapsed_precise}, eta {eta}]",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    let started = std::time::Instant::now();
                    let written = write_plan(&cli.db, plan, |p| {
                        pb.set_message(format!("{} ({}/{})", p.city, p.city_index + 1, p.cities));
                        pb.set_position(p.rows);
                    })
                    .await;
                    pb.finish_and_clear();
                    let w = written.map_err(|e| match e {
                        WriteError::Gen(e) => CliError::Gen(e),
                        WriteError::Storage(e) => CliError::Storage(e),
                        WriteError::Thread(m) => CliError::Io(std::io::Error::other(m)),
                    })?;
                    let secs = started.elapsed().as_secs_f64();
                    println!(
                        "generated {} rows in {secs:.1} s ({:.0} rows/s): {} merchants, {} communities, {} outlets, {} areas, {} org units",
                        w.total(),
                        w.total() as f64 / secs.max(1e-9),
                        w.merchants,
                        w.communities,
                        w.outlets,
                        w.areas,
                        w.org_units
                    );
                }
            }
            Ok(())
        }
    }
}

/// `ecomap import osm FILE.osm.pbf`: a progress bar per pass, then the report.
async fn import_osm(
    db: &str,
    cats: &Option<PathBuf>,
    file: &std::path::Path,
    our_banks: Vec<String>,
    owner: Option<String>,
    only: Option<String>,
) -> Result<(), CliError> {
    use ecomap::ingest::osm::{OsmKinds, OsmOptions, OsmReport};
    let bytes = std::fs::read(file)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
    let mut opts = OsmOptions::builtin().map_err(|e| CliError::Usage(e.to_string()))?;
    opts.our_banks = our_banks;
    opts.owner = owner;
    if let Some(only) = only {
        opts.kinds = only
            .parse::<OsmKinds>()
            .map_err(|e| CliError::Usage(format!("--only: {e}")))?;
    }
    let app = start(db, cats).await?;
    opts.max_objects = app.limits.max_import_rows;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = app
        .import_osm(
            name.as_deref(),
            &bytes,
            &opts,
            &Access::system("cli"),
            &mut |p| {
                pb.set_message(p.stage.label());
                pb.set_length(p.total as u64);
                pb.set_position(p.done as u64);
            },
        )
        .await;
    pb.finish_and_clear();
    let r: OsmReport = report?;
    let counts = |what: &str, k: &ecomap::ingest::osm::KindCounts| {
        println!(
            "  {what:<22} {:>7}  (新增 new {}, 更新 updated {}{})",
            k.found,
            k.inserted,
            k.updated,
            if k.kept_other_owner > 0 {
                format!(
                    ", 他人所有未改 kept, owned by others {}",
                    k.kept_other_owner
                )
            } else {
                String::new()
            }
        )
    };
    println!(
        "OSM 导入完成 / OSM import done: {} ({:.1} MB; {} nodes, {} ways, {} relations)",
        name.as_deref().unwrap_or("-"),
        r.bytes as f64 / 1e6,
        r.elements.nodes,
        r.elements.ways,
        r.elements.relations
    );
    counts("商户 merchants", &r.merchants);
    counts("小区 communities", &r.communities);
    counts("网点 outlets", &r.outlets);
    println!(
        "  网点 outlets: 本行 ours {}, 同业 competitors {}",
        r.outlets_ours, r.outlets_competitors
    );
    println!(
        "  户数均为估算 / households are estimates: {} in total ({} areas from buildings, {} \
         from land area, {} unknown)",
        r.households.total,
        r.households.areas_from_buildings,
        r.households.areas_from_land_area,
        r.households.areas_unknown
    );
    println!(
        "  未命名未导入 / unnamed, not imported: {} POIs, {} banks; 未映射 / unmapped: {}; \
         排除 / excluded: {}",
        r.unnamed_merchants, r.unnamed_outlets, r.unmapped, r.excluded
    );
    if r.skipped_total > 0 {
        let reasons: Vec<String> = r
            .skipped
            .iter()
            .flat_map(|(role, m)| m.iter().map(move |(why, n)| format!("{role} {why} {n}")))
            .collect();
        println!(
            "  几何问题跳过 / skipped for their shape: {} ({})",
            r.skipped_total,
            reasons.join(", ")
        );
    }
    let t = &r.timing;
    println!(
        "  耗时 / time: read {:.2} s (scan {:.2}, members {:.2}, nodes {:.2}), build {:.2} s, \
         write {:.2} s, total {:.2} s; {:.1} MB/s, {:.0} objects/s (read + build)",
        t.scan_s + t.member_ways_s + t.nodes_s,
        t.scan_s,
        t.member_ways_s,
        t.nodes_s,
        t.build_s,
        t.write_s,
        t.total_s,
        t.read_mb_per_s,
        t.read_objects_per_s
    );
    println!("  © OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)");
    Ok(())
}

fn print_demo_logins(made: &[(String, String, Role)]) {
    if made.is_empty() {
        return;
    }
    println!("演示账号 / demo logins (for the demo database only):");
    for (user, password, role) in made {
        println!("  {:<8} {:<10} {user} / {password}", role.zh(), role.code());
    }
}

async fn users(db: &str, cats: &Option<PathBuf>, action: UserCmd) -> Result<(), CliError> {
    let app = start(db, cats).await?;
    match action {
        UserCmd::Add {
            username,
            role,
            org,
            name,
            can_unmask,
            password_stdin,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                CliError::Usage(format!("--role {role:?}: use admin, branch or staff"))
            })?;
            let username = ecomap::auth::check_username(&username)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            ecomap::http::check_node(&app, role, org.as_deref()).map_err(CliError::Usage)?;
            if app.store.user_by_name(&username).await?.is_some() {
                return Err(CliError::Usage(format!("user {username:?} exists")));
            }
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (ecomap::auth::new_secret("")[..20].to_string(), true)
            };
            ecomap::auth::check_password(&password).map_err(|e| CliError::Usage(e.to_string()))?;
            let hash = ecomap::auth::hash_password(&password)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let u = app
                .store
                .create_user(
                    &username,
                    name.as_deref().unwrap_or(&username),
                    &hash,
                    role,
                    org.as_deref(),
                    can_unmask,
                )
                .await?;
            app.store
                .audit(Some("cli"), "user_add", Some(&u.username), Some(serde_json::json!({"role": role.code(), "org_node_id": org, "can_unmask": can_unmask})), None)
                .await?;
            println!(
                "added {} ({}, {})",
                u.username,
                role.code(),
                org.as_deref().unwrap_or("all")
            );
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserCmd::List => {
            for u in app.store.users().await? {
                println!(
                    "{:<16} {:<7} {:<10} unmask={} {}",
                    u.username,
                    u.role.code(),
                    u.org_node_id.as_deref().unwrap_or("-"),
                    u.can_unmask,
                    if u.disabled { "DISABLED" } else { "" }
                );
            }
        }
        UserCmd::Disable { username } => set_disabled(&app, &username, true).await?,
        UserCmd::Enable { username } => set_disabled(&app, &username, false).await?,
    }
    Ok(())
}

async fn set_disabled(app: &App, username: &str, disabled: bool) -> Result<(), CliError> {
    let mut u = app
        .store
        .user_by_name(username)
        .await?
        .ok_or_else(|| CliError::Usage(format!("no user {username:?}")))?;
    u.disabled = disabled;
    app.store.update_user(&u).await?;
    app.store
        .audit(
            Some("cli"),
            if disabled {
                "user_disable"
            } else {
                "user_enable"
            },
            Some(username),
            None,
            None,
        )
        .await?;
    println!(
        "{username} {}",
        if disabled {
            "disabled (sessions ended, tokens revoked)"
        } else {
            "enabled"
        }
    );
    Ok(())
}

async fn tokens(db: &str, cats: &Option<PathBuf>, action: TokenCmd) -> Result<(), CliError> {
    let app = start(db, cats).await?;
    match action {
        TokenCmd::Create { user, name } => {
            let u = app
                .store
                .user_by_name(&user)
                .await?
                .ok_or_else(|| CliError::Usage(format!("no user {user:?}")))?;
            let secret = ecomap::auth::new_secret("ecm_");
            let id = app
                .store
                .create_token(&u.id, &name, &ecomap::auth::secret_hash(&secret))
                .await?;
            app.store
                .audit(
                    Some("cli"),
                    "token_create",
                    Some(&u.username),
                    Some(serde_json::json!({"token_id": id})),
                    None,
                )
                .await?;
            eprintln!("token {id} for {user} (shown once; use it as Authorization: Bearer …):");
            println!("{secret}");
        }
        TokenCmd::List => {
            for t in app.store.tokens().await? {
                println!(
                    "{} user={} name={} created={} {}",
                    t.id,
                    t.user_id,
                    t.name,
                    t.created_at,
                    t.revoked_at
                        .map(|r| format!("revoked={r}"))
                        .unwrap_or_default()
                );
            }
        }
        TokenCmd::Revoke { id } => {
            if !app.store.revoke_token(&id).await? {
                return Err(CliError::Usage(format!("no live token {id:?}")));
            }
            app.store
                .audit(Some("cli"), "token_revoke", Some(&id), None, None)
                .await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

async fn score(
    db: &str,
    cats: &Option<PathBuf>,
    outlet_id: &str,
    radius_m: f64,
    limit: usize,
    csv_out: bool,
) -> Result<(), CliError> {
    let app = start(db, cats).await?;
    let outlet = app
        .index()
        .outlets
        .get(outlet_id)
        .filter(|o| o.is_ours())
        .cloned()
        .ok_or_else(|| CliError::Usage(format!("{outlet_id:?} is not one of our outlets")))?;
    let warm = app.warm();
    let effective = app.effective_weights(Some(outlet_id));
    let walking = app.walking();
    let index = app.index();
    let ranked = ecomap::scoring::priority::rank(
        &index,
        &warm.stats,
        &app.ranking.params,
        &effective.weights,
        &walking,
        outlet.location,
        radius_m,
        &|_| true,
        limit,
    );
    let factor_columns: Vec<String> = ecomap::scoring::priority::FACTORS
        .iter()
        .map(|f| format!("factor_{}", f.0))
        .collect();
    if csv_out {
        let mut out = std::io::stdout().lock();
        std::io::Write::write_all(&mut out, "\u{feff}".as_bytes())?;
        let mut w = csv::Writer::from_writer(out);
        let mut header = vec![
            "rank",
            "id",
            "name",
            "category",
            "status",
            "score",
            "distance_m",
            "walking_m",
            "distance",
            "footfall_source",
        ];
        header.extend(factor_columns.iter().map(String::as_str));
        w.write_record(&header)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        for (i, p) in ranked.iter().enumerate() {
            let m = index.merchants.item(p.merchant_slot);
            let mut row = vec![
                (i + 1).to_string(),
                ecomap::export::safe_cell(m.id()),
                ecomap::export::safe_cell(m.name()),
                m.category().to_string(),
                m.status().code().to_string(),
                format!("{:.4}", p.score),
                format!("{:.0}", p.distance_m),
                // Empty where the street network has no way to the merchant.
                if p.walking_m.is_finite() {
                    format!("{:.0}", p.walking_m)
                } else {
                    String::new()
                },
                p.distance.to_string(),
                p.footfall_source.to_string(),
            ];
            // `+ 0.0` turns a negative zero into a plain 0.
            row.extend(
                p.factors
                    .iter()
                    .map(|f| format!("{:.4}", f.contribution + 0.0)),
            );
            w.write_record(&row)
                .map_err(|e| CliError::Usage(e.to_string()))?;
        }
        w.flush()?;
    } else {
        println!(
            "{} {} — weights: {}{} — walking: {}",
            outlet.id,
            outlet.name,
            effective.source,
            effective
                .version
                .map(|v| format!(" v{v}"))
                .unwrap_or_default(),
            walking.model()
        );
        for (i, p) in ranked.iter().enumerate() {
            let m = index.merchants.item(p.merchant_slot);
            let why: Vec<String> = p
                .factors
                .iter()
                .filter(|f| f.contribution.abs() >= 0.005)
                .map(|f| format!("{} {:+.3}", f.zh, f.contribution))
                .collect();
            let walk = if p.walking_m.is_finite() {
                format!("{:.0} m", p.walking_m)
            } else {
                "no way".to_string()
            };
            println!(
                "{:>3}. {:.3}  {:<16} {:>5.0} m (walk {walk})  {}",
                i + 1,
                p.score,
                m.name(),
                p.distance_m,
                why.join(", ")
            );
        }
    }
    Ok(())
}
