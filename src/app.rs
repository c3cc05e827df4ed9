//! The running application: the store, the in-memory index built from it, and the write path
//! that keeps the two in step (parse → one database transaction → index update).

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::auth::{Scope, User};
use crate::domain::{check_tree, Categories, Dataset};
use crate::index::SpatialIndex;
use crate::ingest::{self, ImportError, ImportKind, ImportOptions, Parsed, RowError};
use crate::storage::changes::ChangeKind;
use crate::storage::{self, StorageError, Store, WriteCounts};

/// Limits on what one request may ask for.
#[derive(Debug, Clone)]
pub struct Limits {
    pub default_page: usize,
    pub max_page: usize,
    pub default_radius_m: f64,
    pub max_radius_m: f64,
    /// A bbox may not be wider or taller than this many degrees (about 220 km): a city region,
    /// never a whole country. Country-wide views go through tiles.
    pub max_bbox_deg: f64,
    pub max_import_bytes: usize,
    pub max_import_rows: usize,
    /// Failed logins per username or client address in `login_window` before logins are refused.
    pub login_max_failures: usize,
    pub login_window: std::time::Duration,
    /// Each failed login waits this long before it answers (slows guessing).
    pub login_failure_delay: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            default_page: 100,
            max_page: 2_000,
            default_radius_m: 500.0,
            max_radius_m: 5_000.0,
            max_bbox_deg: 2.0,
            max_import_bytes: 64 * 1024 * 1024,
            max_import_rows: 1_000_000,
            login_max_failures: 5,
            login_window: std::time::Duration::from_secs(15 * 60),
            login_failure_delay: std::time::Duration::from_millis(400),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the category catalogue is unusable: {0}")]
    Categories(#[from] crate::domain::CategoryError),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(crate::domain::FieldError),
    #[error("scoring parameters: {0}")]
    Params(#[from] crate::scoring::params::ParamsError),
    #[error("coverage parameters: {0}")]
    CoverageParams(#[from] crate::coverage::ParamsError),
    #[error("visit parameters: {0}")]
    VisitParams(#[from] crate::visits::params::ParamsError),
    #[error("campaign defaults (data/campaign.toml): {0}")]
    CampaignDefaults(crate::domain::FieldError),
    #[error("{0}")]
    CrossTable(#[from] crate::campaign::cross::CrossError),
    #[error("street network: {0}")]
    Network(#[from] crate::network::NetworkError),
}

/// Who is writing, and what they may write: the audit actor, their scope, the owner given to
/// rows that name none, and whether they may change the organisation (outlets, org tree).
#[derive(Debug, Clone)]
pub struct Access {
    pub actor: String,
    pub scope: Scope,
    pub default_owner: Option<String>,
    pub may_change_org: bool,
    pub client: Option<String>,
}

impl Access {
    /// The command line, run by whoever holds the database: everything.
    pub fn system(actor: &str) -> Self {
        Self {
            actor: actor.to_string(),
            scope: Scope::All,
            default_owner: None,
            may_change_org: true,
            client: None,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub kind: String,
    pub crs: String,
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
}

pub struct App {
    pub store: Store,
    pub categories: Categories,
    pub limits: Limits,
    pub login_limiter: crate::auth::LoginLimiter,
    pub ranking: crate::ranking::Ranking,
    index: RwLock<SpatialIndex>,
    /// One writer at a time, so that the database commit and the index update happen in the
    /// same order for every write.
    pub(crate) writer: tokio::sync::Mutex<()>,
    /// Visit outcomes waiting to be group-committed (`visits_app`).
    pub(crate) visit_queue: crate::visits_app::VisitQueue,
    /// Bumped by every change to what readers see (data, org tree, weights): tiles' ETags and
    /// the caches below are keyed by it.
    generation: std::sync::atomic::AtomicU64,
    /// Coverage parameters (data/coverage.toml), parsed once.
    pub coverage: crate::coverage::CoverageParams,
    /// Visit-planning parameters (data/visits.toml), parsed once.
    pub visits: crate::visits::params::VisitParams,
    /// Campaign estimate defaults (`data/campaign.toml`).
    pub campaign_defaults: crate::campaign::estimate::Defaults,
    /// Cross-marketing pairs (`data/cross_marketing.toml`).
    pub cross_table: crate::campaign::cross::CrossTable,
    /// The walking network, when one was imported (`ecomap import osm`); see [`App::walking`].
    network: RwLock<Option<Arc<crate::network::StreetNetwork>>>,
    pub network_params: crate::network::NetworkParams,
    pub walk_rules: crate::network::WalkRules,
    /// Tile settings (zoom rules, feature limits).
    pub tile_params: crate::tiles::TileParams,
    /// Merchants in Z-order for tiles, for one generation; rebuilt lazily after a change.
    merchant_order: RwLock<Option<Arc<crate::tiles::MerchantOrder>>>,
    /// Encoded tiles that are costly to make (the coverage grid), by generation.
    pub tile_cache: crate::tiles::cache::TileCache<actix_web::web::Bytes>,
    /// Users' scopes for the current generation of the data.
    pub auth_cache: crate::auth::AuthCache,
    /// The last change-feed row this process has applied (or had in what it loaded); see
    /// [`crate::sync`].
    pub(crate) synced: std::sync::atomic::AtomicI64,
}

impl App {
    /// Loads everything from the store and builds the index.
    pub async fn start(
        store: Store,
        categories: Categories,
        limits: Limits,
    ) -> Result<Arc<Self>, AppError> {
        // Read where the feed stands before loading: a change committed meanwhile is applied
        // again by the sync loop, which is harmless (it reloads rows as they are).
        let synced = store.last_change().await?;
        let started = std::time::Instant::now();
        let mut merchants = crate::index::MerchantTable::default();
        // Two connections at once: the rest arrives while the merchants stream in.
        let (streamed, ds) = tokio::join!(
            store.for_each_merchant(|m| merchants.push_fields(m)),
            store.load_all_but_merchants()
        );
        streamed?;
        let ds = ds?;
        tracing::info!(
            merchants = merchants.len(),
            merchant_bytes = merchants.heap_bytes(),
            communities = ds.communities.len(),
            outlets = ds.outlets.len(),
            seconds = started.elapsed().as_secs_f64(),
            "loaded the data"
        );
        // A stored network that no longer loads (damaged, or from an incompatible version) is
        // reported and left out: distances fall back to straight lines until the next import.
        let network = match store.network().await? {
            None => None,
            Some(n) => match crate::network::StreetNetwork::from_bytes(&n.data) {
                Ok(net) => Some(Arc::new(net)),
                Err(e) => {
                    tracing::error!(error = %e, source = %n.source, "the stored street network does not load; using straight lines");
                    None
                }
            },
        };
        let ranking = crate::ranking::Ranking::new(
            crate::scoring::params::ScoringParams::builtin()?,
            store.all_weights().await?,
        );
        Ok(Arc::new(Self {
            ranking,
            store,
            categories,
            login_limiter: crate::auth::LoginLimiter::new(
                limits.login_max_failures,
                limits.login_window,
            ),
            limits,
            index: RwLock::new({
                let started = std::time::Instant::now();
                let index = SpatialIndex::build_with_merchants(ds, Some(merchants));
                tracing::info!(seconds = started.elapsed().as_secs_f64(), "built the index");
                index
            }),
            writer: tokio::sync::Mutex::new(()),
            visit_queue: crate::visits_app::VisitQueue::default(),
            generation: std::sync::atomic::AtomicU64::new(1),
            coverage: crate::coverage::CoverageParams::builtin()?,
            visits: crate::visits::params::VisitParams::builtin()?,
            campaign_defaults: crate::campaign::estimate::Defaults::builtin()
                .map_err(AppError::CampaignDefaults)?,
            cross_table: crate::campaign::cross::CrossTable::builtin()?,
            network: RwLock::new(network),
            network_params: crate::network::NetworkParams::builtin()?,
            walk_rules: crate::network::WalkRules::builtin()?,
            tile_params: crate::tiles::TileParams::default(),
            merchant_order: RwLock::new(None),
            tile_cache: crate::tiles::cache::TileCache::new(4_096),
            auth_cache: crate::auth::AuthCache::new(crate::storage::CREDENTIALS_TTL),
            synced: std::sync::atomic::AtomicI64::new(synced),
        }))
    }

    /// The generation of what readers see; changes with every write.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Marks a change (of the data, or of the street network): moves the generation on, then
    /// drops the scoring warm state (in that order: `App::warm` keeps what it computed only if
    /// the generation has not moved). Called with the index write lock held (or right after the
    /// change it marks).
    pub(crate) fn changed(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.ranking.invalidate();
    }

    /// Replaces the street network (another process imported one) and marks the change.
    pub(crate) fn set_network(&self, net: Option<Arc<crate::network::StreetNetwork>>) {
        let _index = self.index_mut();
        *self.network.write().unwrap_or_else(|e| e.into_inner()) = net;
        self.changed();
    }

    /// Moves the generation on without touching the data's warm state (a weights change).
    pub(crate) fn generation_bump(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The merchants in Z-order for `index` (which the caller holds read-locked, so the
    /// generation cannot move meanwhile), built now if a write made the last one stale.
    pub fn merchant_order(&self, index: &SpatialIndex) -> Arc<crate::tiles::MerchantOrder> {
        let generation = self.generation();
        if let Some(o) = self
            .merchant_order
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|o| o.generation == generation)
        {
            return o.clone();
        }
        let built = Arc::new(crate::tiles::MerchantOrder::build(index, generation));
        *self
            .merchant_order
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(built.clone());
        built
    }

    /// Read access to the index. Never held across an await.
    pub fn index(&self) -> RwLockReadGuard<'_, SpatialIndex> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn index_mut(&self) -> RwLockWriteGuard<'_, SpatialIndex> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Parses a file and stores it all or nothing, then brings the index up to date.
    pub async fn import(
        &self,
        kind: ImportKind,
        source: Option<&str>,
        bytes: &[u8],
        opts: &ImportOptions,
        access: &Access,
        progress: &mut dyn FnMut(usize),
    ) -> Result<ImportReport, AppError> {
        if kind == ImportKind::Outlets && !access.may_change_org {
            return Err(AppError::Forbidden(
                "only administrators import outlets (they are part of the organisation tree)"
                    .into(),
            ));
        }
        let mut parsed = ingest::parse(kind, source, bytes, opts, &self.categories, progress)?;
        let rows = parsed.len();
        let _w = self.writer.lock().await;
        self.check_owners(&mut parsed, access)?;
        let mut tx = self.store.begin_write().await?;
        let counts: WriteCounts = match &mut parsed {
            Parsed::Outlets(v) => storage::upsert_outlets(&mut tx, v).await?,
            Parsed::Merchants(v) => {
                // Merchants with visit events keep the status their events give them.
                storage::lock_events(&mut tx).await?;
                let counts = storage::upsert_merchants(&mut tx, v).await?;
                storage::settle_imported(&mut tx, v, &access.actor).await?;
                counts
            }
            Parsed::Communities(v) => storage::upsert_communities(&mut tx, v).await?,
            Parsed::Areas(v) => storage::upsert_areas(&mut tx, v).await?,
        };
        Store::record_import(&mut tx, kind.code(), source, opts.crs.code(), counts).await?;
        let (change, ids): (ChangeKind, Vec<&str>) = match &parsed {
            Parsed::Outlets(v) => (
                ChangeKind::Outlets,
                v.iter().map(|x| x.id.as_str()).collect(),
            ),
            Parsed::Merchants(v) => (
                ChangeKind::Merchants,
                v.iter().map(|x| x.id.as_str()).collect(),
            ),
            Parsed::Communities(v) => (
                ChangeKind::Communities,
                v.iter().map(|x| x.id.as_str()).collect(),
            ),
            Parsed::Areas(v) => (ChangeKind::Areas, v.iter().map(|x| x.id.as_str()).collect()),
        };
        self.store
            .record_change(&mut tx, change, Some(&ids))
            .await?;
        tx.commit().await.map_err(StorageError::from)?;
        self.apply(parsed);
        let report = ImportReport {
            kind: kind.code().to_string(),
            crs: opts.crs.code().to_string(),
            rows,
            inserted: counts.inserted,
            updated: counts.updated,
        };
        self.store
            .audit(
                Some(&access.actor),
                "import",
                Some(kind.code()),
                serde_json::to_value(&report).ok(),
                access.client.as_deref(),
            )
            .await?;
        Ok(report)
    }

    /// The scope a user's org node gives them in today's organisation tree.
    pub fn scope_of(&self, user: &User) -> Scope {
        let index = self.index();
        Scope::of(user, &index.org_units, index.outlets.items())
    }

    /// [`App::scope_of`], remembered for the current generation of the data.
    pub fn cached_scope_of(&self, user: &User) -> Scope {
        let generation = self.generation();
        if let Some(s) = self.auth_cache.scope(&user.id, generation) {
            return s;
        }
        let s = self.scope_of(user);
        self.auth_cache.put_scope(&user.id, generation, s.clone());
        s
    }

    /// Imports the organisation tree (CSV: id, name, level, parent_id), all or nothing; the
    /// merged tree must hold together (parents exist and sit above their children).
    pub async fn import_org_units(
        &self,
        bytes: &[u8],
        access: &Access,
    ) -> Result<ImportReport, AppError> {
        if !access.may_change_org {
            return Err(AppError::Forbidden(
                "only administrators change the organisation tree".into(),
            ));
        }
        let units = ingest::parse_org_units(bytes)?;
        let _w = self.writer.lock().await;
        let mut merged = self.index().org_units.clone();
        for u in &units {
            match merged.iter_mut().find(|x| x.id == u.id) {
                Some(old) => *old = u.clone(),
                None => merged.push(u.clone()),
            }
        }
        check_tree(&merged).map_err(|e| ImportError {
            errors: vec![RowError {
                row: None,
                feature: None,
                field: e.field,
                reason: e.reason,
            }],
            truncated: false,
        })?;
        let mut tx = self.store.begin_write().await?;
        let counts = storage::upsert_org_units(&mut tx, &units).await?;
        Store::record_import(&mut tx, "org", None, "none", counts).await?;
        let ids: Vec<&str> = units.iter().map(|u| u.id.as_str()).collect();
        self.store
            .record_change(&mut tx, ChangeKind::OrgUnits, Some(&ids))
            .await?;
        tx.commit().await.map_err(StorageError::from)?;
        self.index_mut().org_units = merged;
        self.changed();
        let report = ImportReport {
            kind: "org".into(),
            crs: "none".into(),
            rows: units.len(),
            inserted: counts.inserted,
            updated: counts.updated,
        };
        self.store
            .audit(
                Some(&access.actor),
                "import",
                Some("org"),
                serde_json::to_value(&report).ok(),
                access.client.as_deref(),
            )
            .await?;
        Ok(report)
    }

    /// Writes a generated dataset (demo, `ecomap gen`) and indexes it.
    pub async fn write_dataset(&self, ds: Dataset) -> Result<WriteCounts, AppError> {
        let _w = self.writer.lock().await;
        let counts = self.store.write_dataset(&ds).await?;
        let mut index = self.index_mut();
        self.changed();
        for u in ds.org_units {
            match index.org_units.iter_mut().find(|x| x.id == u.id) {
                Some(old) => *old = u,
                None => index.org_units.push(u),
            }
        }
        index.outlets.upsert_many(ds.outlets);
        index.merchants.upsert_many(ds.merchants);
        index.communities.upsert_many(ds.communities);
        for a in ds.areas {
            index.upsert_area(a);
        }
        Ok(counts)
    }

    /// Every row's owner (an outlet's parent) must be a node of the organisation tree and inside
    /// the writer's scope; rows without an owner get the writer's default; and a row may not
    /// overwrite (same id) an object owned outside the writer's scope.
    fn check_owners(&self, parsed: &mut Parsed, access: &Access) -> Result<(), ImportError> {
        let index = self.index();
        let known = |id: &str| {
            index.org_units.iter().any(|u| u.id == id)
                || index.outlets.get(id).is_some_and(|o| o.is_ours())
        };
        let mut errors = Vec::new();
        let mut check = |what: &str,
                         id: &str,
                         owner: &mut Option<String>,
                         existing: Option<Option<&str>>| {
            if owner.is_none() {
                owner.clone_from(&access.default_owner);
            }
            if let Some(o) = owner.as_deref() {
                if !known(o) {
                    errors.push(RowError {
                        row: None,
                        feature: None,
                        field: "owner_org_id".into(),
                        reason: format!("{what} {id}: org unit or outlet {o:?} does not exist"),
                    });
                    return;
                }
            }
            if !access.scope.contains(owner.as_deref()) {
                errors.push(RowError {
                    row: None,
                    feature: None,
                    field: "owner_org_id".into(),
                    reason: format!(
                        "{what} {id}: you may only write data owned inside your organisation"
                    ),
                });
            } else if let Some(prev) = existing {
                if !access.scope.contains(prev) {
                    errors.push(RowError {
                        row: None,
                        feature: None,
                        field: "id".into(),
                        reason: format!("{what} {id} exists and belongs to another organisation"),
                    });
                }
            }
        };
        match parsed {
            Parsed::Outlets(v) => {
                for o in v.iter_mut() {
                    let existing = index.outlets.get(&o.id).map(|x| x.parent_org_id.as_deref());
                    if o.is_ours() {
                        check("outlet", &o.id.clone(), &mut o.parent_org_id, existing);
                    }
                }
            }
            Parsed::Merchants(v) => {
                for m in v.iter_mut() {
                    let existing = index.merchants.get(&m.id).map(|x| x.owner_org_id());
                    check("merchant", &m.id.clone(), &mut m.owner_org_id, existing);
                }
            }
            Parsed::Communities(v) => {
                for c in v.iter_mut() {
                    let existing = index
                        .communities
                        .get(&c.id)
                        .map(|x| x.owner_org_id.as_deref());
                    check("community", &c.id.clone(), &mut c.owner_org_id, existing);
                }
            }
            Parsed::Areas(v) => {
                for a in v.iter_mut() {
                    let existing = index.area(&a.id).map(|x| x.owner_org_id.as_deref());
                    check("area", &a.id.clone(), &mut a.owner_org_id, existing);
                }
            }
        }
        if errors.is_empty() {
            return Ok(());
        }
        let truncated = errors.len() > ingest::MAX_ERRORS;
        errors.truncate(ingest::MAX_ERRORS);
        Err(ImportError { errors, truncated })
    }

    fn apply(&self, parsed: Parsed) {
        let mut index = self.index_mut();
        self.changed();
        match parsed {
            Parsed::Outlets(v) => index.outlets.upsert_many(v),
            Parsed::Merchants(v) => index.merchants.upsert_many(v),
            Parsed::Communities(v) => index.communities.upsert_many(v),
            Parsed::Areas(v) => v.into_iter().for_each(|a| index.upsert_area(a)),
        }
    }

    /// Walking distances: on the street network when one is loaded, else straight line ×
    /// the scoring's detour factor; `model()` says which. Used by isochrones, visit-plan legs,
    /// the priority's distance decay and the warm state's Huff estimates.
    pub fn walking(&self) -> crate::network::Walking {
        let net = self
            .network
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        crate::network::Walking::new(net, self.network_params, self.ranking.params.detour_factor)
    }

    /// Imports an OpenStreetMap extract (`.osm.pbf`, see `ingest::osm`): its merchants,
    /// communities and outlets in one transaction, all or nothing, then the index. Rows that
    /// exist keep what the bank knows about them (owner, figures, pipeline); rows owned outside
    /// the importer's scope are left as they are and counted. Outlets need an administrator.
    pub async fn import_osm(
        &self,
        source: Option<&str>,
        bytes: &[u8],
        opts: &ingest::osm::OsmOptions,
        access: &Access,
        progress: &mut dyn FnMut(ingest::osm::OsmProgress),
    ) -> Result<ingest::osm::OsmReport, AppError> {
        use ingest::osm::{self, OsmProgress, OsmStage};
        if opts.kinds.outlets && !access.may_change_org {
            return Err(AppError::Forbidden(
                "only administrators import outlets (they are part of the organisation tree): \
                 import merchants and communities only"
                    .into(),
            ));
        }
        let started = std::time::Instant::now();
        let osm::OsmParsed {
            mut merchants,
            mut communities,
            mut outlets,
            mut report,
        } = osm::read(bytes, opts, &self.categories, progress).map_err(ImportError::from)?;
        report.source = source.map(str::to_string);
        // The walking network of the same file (read once the file is known to be whole): shared
        // infrastructure, so it is stored by
        // administrators' imports only (a branch user's import leaves the network as it is).
        let network = if access.may_change_org {
            let (net, built) = crate::network::StreetNetwork::from_pbf_bytes(
                bytes,
                &self.walk_rules,
                crate::network::Compress::Chains,
            )
            .map_err(|e| {
                AppError::Invalid(crate::domain::FieldError::new("file", e.to_string()))
            })?;
            let built = serde_json::to_value(&built).unwrap_or(serde_json::Value::Null);
            (!net.is_empty()).then_some((net, built))
        } else {
            None
        };
        let _w = self.writer.lock().await;
        let access = Access {
            default_owner: opts.owner.clone().or_else(|| access.default_owner.clone()),
            ..access.clone()
        };
        // Our outlets hang under an org unit: the default owner only when it is one.
        let outlet_access = {
            let index = self.index();
            let in_scope = |o: Option<&str>| access.scope.contains(o);
            report.merchants.kept_other_owner = osm::keep_what_the_bank_knows_merchants(
                &mut merchants,
                |id| index.merchants.get(id).map(|m| m.to_merchant()),
                in_scope,
            );
            report.communities.kept_other_owner = osm::keep_what_the_bank_knows_communities(
                &mut communities,
                |id| index.communities.get(id),
                in_scope,
            );
            osm::keep_what_the_bank_knows_outlets(&mut outlets, |id| index.outlets.get(id));
            Access {
                default_owner: access
                    .default_owner
                    .clone()
                    .filter(|o| index.org_units.iter().any(|u| &u.id == o)),
                ..access.clone()
            }
        };
        let mut p = Parsed::Outlets(outlets);
        self.check_owners(&mut p, &outlet_access)?;
        let outlets = match p {
            Parsed::Outlets(v) => v,
            _ => Vec::new(),
        };
        let mut p = Parsed::Merchants(merchants);
        self.check_owners(&mut p, &access)?;
        let mut merchants = match p {
            Parsed::Merchants(v) => v,
            _ => Vec::new(),
        };
        let mut p = Parsed::Communities(communities);
        self.check_owners(&mut p, &access)?;
        let communities = match p {
            Parsed::Communities(v) => v,
            _ => Vec::new(),
        };

        progress(OsmProgress {
            stage: OsmStage::Write,
            done: 0,
            total: 1,
        });
        let write_started = std::time::Instant::now();
        let mut tx = self.store.begin_write().await?;
        let oc = storage::upsert_outlets(&mut tx, &outlets).await?;
        let mut mc = WriteCounts::default();
        if !merchants.is_empty() {
            storage::lock_events(&mut tx).await?;
            mc = storage::upsert_merchants(&mut tx, &merchants).await?;
            // OSM says nothing about the pipeline: merchants with events get back what their
            // events say (settled with no status of the file's, so no news), the others keep the
            // status they had (carried over above).
            let mut settled = merchants.clone();
            for m in settled.iter_mut() {
                m.status = crate::domain::PipelineStatus::Prospect;
                m.status_since = None;
            }
            storage::settle_imported(&mut tx, &mut settled, &access.actor).await?;
            for (m, s) in merchants.iter_mut().zip(settled) {
                if s.status != crate::domain::PipelineStatus::Prospect || s.status_since.is_some() {
                    m.status = s.status;
                    m.status_since = s.status_since;
                }
                m.contact = s.contact;
            }
        }
        let cc = storage::upsert_communities(&mut tx, &communities).await?;
        for (kind, wanted, counts) in [
            (ImportKind::Outlets, opts.kinds.outlets, oc),
            (ImportKind::Merchants, opts.kinds.merchants, mc),
            (ImportKind::Communities, opts.kinds.communities, cc),
        ] {
            if wanted {
                Store::record_import(&mut tx, kind.code(), source, "wgs84", counts).await?;
            }
        }
        for (change, ids) in [
            (
                ChangeKind::Outlets,
                outlets.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
            ),
            (
                ChangeKind::Merchants,
                merchants.iter().map(|x| x.id.as_str()).collect(),
            ),
            (
                ChangeKind::Communities,
                communities.iter().map(|x| x.id.as_str()).collect(),
            ),
        ] {
            if !ids.is_empty() {
                self.store
                    .record_change(&mut tx, change, Some(&ids))
                    .await?;
            }
        }
        if let Some((net, built)) = &network {
            self.store
                .record_change::<&str>(&mut tx, ChangeKind::Network, None)
                .await?;
            storage::network::save_network(
                &mut tx,
                source.unwrap_or("osm"),
                built,
                &net.to_bytes(),
                &access.actor,
            )
            .await?;
        }
        tx.commit().await.map_err(StorageError::from)?;
        {
            let mut index = self.index_mut();
            // The network changes with the data, under the same lock and the same mark: the
            // warm state's Huff estimates (walked on it) are dropped with it.
            if let Some((net, built)) = network {
                report.network = Some(built);
                *self.network.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(net));
            }
            self.changed();
            index.outlets.upsert_many(outlets);
            index.merchants.upsert_many(merchants);
            index.communities.upsert_many(communities);
        }
        for (k, c) in [
            (&mut report.outlets, oc),
            (&mut report.merchants, mc),
            (&mut report.communities, cc),
        ] {
            k.inserted = c.inserted;
            k.updated = c.updated;
        }
        report.timing.write_s = write_started.elapsed().as_secs_f64();
        report.timing.total_s = started.elapsed().as_secs_f64();
        progress(OsmProgress {
            stage: OsmStage::Write,
            done: 1,
            total: 1,
        });
        self.store
            .audit(
                Some(&access.actor),
                "import",
                Some("osm"),
                Some(serde_json::json!({
                    "source": source,
                    "merchants": report.merchants,
                    "communities": report.communities,
                    "outlets": report.outlets,
                    "skipped": report.skipped_total,
                    "households_estimated": report.households.estimated,
                })),
                access.client.as_deref(),
            )
            .await?;
        Ok(report)
    }
}
