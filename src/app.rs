//! The running application: the store, the in-memory index built from it, and the write path
//! that keeps the two in step (parse → one database transaction → index update).

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::domain::{check_tree, Categories, Dataset};
use crate::index::SpatialIndex;
use crate::ingest::{self, ImportError, ImportKind, ImportOptions, Parsed, RowError};
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
    index: RwLock<SpatialIndex>,
    /// One writer at a time, so that the database commit and the index update happen in the
    /// same order for every write.
    writer: tokio::sync::Mutex<()>,
}

impl App {
    /// Loads everything from the store and builds the index.
    pub async fn start(
        store: Store,
        categories: Categories,
        limits: Limits,
    ) -> Result<Arc<Self>, AppError> {
        let ds = store.load().await?;
        Ok(Arc::new(Self {
            store,
            categories,
            limits,
            index: RwLock::new(SpatialIndex::build(ds)),
            writer: tokio::sync::Mutex::new(()),
        }))
    }

    /// Read access to the index. Never held across an await.
    pub fn index(&self) -> RwLockReadGuard<'_, SpatialIndex> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn index_mut(&self) -> RwLockWriteGuard<'_, SpatialIndex> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Parses a file and stores it all or nothing, then brings the index up to date.
    pub async fn import(
        &self,
        kind: ImportKind,
        source: Option<&str>,
        bytes: &[u8],
        opts: &ImportOptions,
        progress: &mut dyn FnMut(usize),
    ) -> Result<ImportReport, AppError> {
        let parsed = ingest::parse(kind, source, bytes, opts, &self.categories, progress)?;
        if let Parsed::Outlets(outlets) = &parsed {
            self.check_outlet_parents(outlets)?;
        }
        let rows = parsed.len();
        let _w = self.writer.lock().await;
        let mut tx = self.store.begin_write().await?;
        let counts: WriteCounts = match &parsed {
            Parsed::Outlets(v) => storage::upsert_outlets(&mut tx, v).await?,
            Parsed::Merchants(v) => storage::upsert_merchants(&mut tx, v).await?,
            Parsed::Communities(v) => storage::upsert_communities(&mut tx, v).await?,
            Parsed::Areas(v) => storage::upsert_areas(&mut tx, v).await?,
        };
        Store::record_import(&mut tx, kind.code(), source, opts.crs.code(), counts).await?;
        tx.commit().await.map_err(StorageError::from)?;
        self.apply(parsed);
        Ok(ImportReport {
            kind: kind.code().to_string(),
            crs: opts.crs.code().to_string(),
            rows,
            inserted: counts.inserted,
            updated: counts.updated,
        })
    }

    /// Imports the organisation tree (CSV: id, name, level, parent_id), all or nothing; the
    /// merged tree must hold together (parents exist and sit above their children).
    pub async fn import_org_units(&self, bytes: &[u8]) -> Result<ImportReport, AppError> {
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
        tx.commit().await.map_err(StorageError::from)?;
        self.index_mut().org_units = merged;
        Ok(ImportReport {
            kind: "org".into(),
            crs: "none".into(),
            rows: units.len(),
            inserted: counts.inserted,
            updated: counts.updated,
        })
    }

    /// Writes a generated dataset (demo, `ecomap gen`) and indexes it.
    pub async fn write_dataset(&self, ds: Dataset) -> Result<WriteCounts, AppError> {
        let _w = self.writer.lock().await;
        let counts = self.store.write_dataset(&ds).await?;
        let mut index = self.index_mut();
        for u in ds.org_units {
            match index.org_units.iter_mut().find(|x| x.id == u.id) {
                Some(old) => *old = u,
                None => index.org_units.push(u),
            }
        }
        for o in ds.outlets {
            index.outlets.upsert(o);
        }
        for m in ds.merchants {
            index.merchants.upsert(m);
        }
        for c in ds.communities {
            index.communities.upsert(c);
        }
        for a in ds.areas {
            index.upsert_area(a);
        }
        Ok(counts)
    }

    /// An outlet's parent must be a known org unit; checked here because the file alone
    /// cannot know the organisation tree.
    fn check_outlet_parents(&self, outlets: &[crate::domain::Outlet]) -> Result<(), ImportError> {
        let index = self.index();
        let errors: Vec<RowError> = outlets
            .iter()
            .filter_map(|o| {
                let p = o.parent_org_id.as_deref()?;
                if index.org_units.iter().any(|u| u.id == p) {
                    return None;
                }
                Some(RowError {
                    row: None,
                    feature: None,
                    field: "parent_org_id".into(),
                    reason: format!("outlet {}: org unit {p:?} does not exist", o.id),
                })
            })
            .take(100)
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ImportError {
                errors,
                truncated: false,
            })
        }
    }

    fn apply(&self, parsed: Parsed) {
        let mut index = self.index_mut();
        match parsed {
            Parsed::Outlets(v) => v.into_iter().for_each(|o| {
                index.outlets.upsert(o);
            }),
            Parsed::Merchants(v) => v.into_iter().for_each(|m| {
                index.merchants.upsert(m);
            }),
            Parsed::Communities(v) => v.into_iter().for_each(|c| {
                index.communities.upsert(c);
            }),
            Parsed::Areas(v) => v.into_iter().for_each(|a| index.upsert_area(a)),
        }
    }
}
