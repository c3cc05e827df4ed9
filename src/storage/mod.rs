//! Persistence through sqlx: SQLite (a file; the default) or PostgreSQL (a `postgres://` URL).
//!
//! Both go through sqlx's `Any` driver with one set of queries (`$N` placeholders work on both;
//! flags are 0/1 integers because `Any` cannot decode SQLite integers as booleans). Each
//! backend has its own migrations in `migrations/{sqlite,postgres}`, run on connect.
//! SQLite runs in WAL mode with foreign keys on, and write transactions begin IMMEDIATE so
//! that concurrent writers wait (busy timeout) instead of failing with SQLITE_BUSY on upgrade.

pub mod accounts;
pub mod bulk;
pub mod campaigns;
pub mod changes;
mod copy_out;
pub mod network;
mod rows;
pub mod visits;
pub mod weights;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Transaction};

use crate::domain::Outlet;
use crate::domain::{Area, Community, Dataset, FieldError, Merchant, MerchantFields, OrgUnit};

pub(crate) use rows::now as now_string;
pub use rows::WriteCounts;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "unsupported database URL {0:?}: use a SQLite file path, sqlite://FILE or postgres://…"
    )]
    BadUrl(String),
    #[error("stored {table} row {id:?} is invalid: {source}")]
    Corrupt {
        table: &'static str,
        id: String,
        #[source]
        source: FieldError,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How long a session's or token's user is remembered between database lookups. A change made
/// through this store clears them at once; one made by another process (the command line, a
/// second server) takes effect within this time. Measured: tiles under load went from 3,800 to
/// 8,000 per second with it (docs/BENCHMARKS.md).
pub const CREDENTIALS_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// A connection pool to ecomap's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Sessions' and tokens' users, for a few seconds (see `auth::AuthCache`); cleared by
    /// every change to users, sessions or tokens made through this store.
    credentials: std::sync::Arc<crate::auth::AuthCache>,
    /// The sqlx URL connected to (a PostgreSQL listener opens its own connection with it).
    url: String,
    /// This store's name in the change feed (`changes`): unique per connected store, so that a
    /// process skips the changes it made itself, and two stores in one process (tests) do not.
    origin: String,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Turns what a user passes as `--db` into a sqlx URL: a bare path means a SQLite file.
pub fn normalise_url(db: &str) -> Result<(String, Backend), StorageError> {
    let db = db.trim();
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return Ok((db.to_string(), Backend::Postgres));
    }
    if let Some(rest) = db.strip_prefix("sqlite:") {
        let rest = rest.trim_start_matches("//");
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let query = if query.is_empty() {
            "mode=rwc".to_string()
        } else {
            query.to_string()
        };
        return Ok((format!("sqlite://{path}?{query}"), Backend::Sqlite));
    }
    if db.contains("://") || db.is_empty() {
        return Err(StorageError::BadUrl(db.to_string()));
    }
    Ok((format!("sqlite://{db}?mode=rwc"), Backend::Sqlite))
}

impl Store {
    /// Connects and brings the schema up to date.
    pub async fn connect(db: &str) -> Result<Self, StorageError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = normalise_url(db)?;
        let opts = sqlx::any::AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        static STORES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let origin = format!(
            "{}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_micros(),
            STORES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        Ok(Self {
            pool,
            backend,
            credentials: std::sync::Arc::new(crate::auth::AuthCache::new(CREDENTIALS_TTL)),
            url,
            origin,
        })
    }

    /// The sqlx URL of the database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// This store's name in the change feed.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a write transaction: IMMEDIATE on SQLite so that it takes the write lock up front.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, StorageError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Reads everything, validated again on the way in (a stored row that no longer
    /// validates is reported, not silently dropped).
    pub async fn load(&self) -> Result<Dataset, StorageError> {
        Ok(Dataset {
            merchants: self
                .fetch_decoded(rows::SELECT_MERCHANTS, rows::merchant)
                .await?,
            ..self.load_all_but_merchants().await?
        })
    }

    /// Calls `each` with every merchant, in no particular order, as the rows arrive: start-up
    /// puts them straight into the index's columns, so that a national dataset's 30M merchants
    /// never exist as `Merchant` values all at once (that alone would take ≈ 10 GB).
    pub async fn for_each_merchant(
        &self,
        mut each: impl FnMut(&MerchantFields<'_>),
    ) -> Result<(), StorageError> {
        match self.backend {
            // Binary COPY, read without an owned copy of each row (see copy_out).
            Backend::Postgres => copy_out::for_each_merchant(&self.url, each).await,
            Backend::Sqlite => {
                self.fetch_each(rows::SELECT_MERCHANTS_UNORDERED, rows::merchant, |m| {
                    each(&MerchantFields::of(&m))
                })
                .await
            }
        }
    }

    /// As [`Store::load`] with `merchants` left empty (see [`Store::for_each_merchant`]).
    pub async fn load_all_but_merchants(&self) -> Result<Dataset, StorageError> {
        Ok(Dataset {
            org_units: self
                .fetch_decoded(rows::SELECT_ORG_UNITS, rows::org_unit)
                .await?,
            outlets: self
                .fetch_decoded(rows::SELECT_OUTLETS, rows::outlet)
                .await?,
            merchants: Vec::new(),
            communities: self
                .fetch_decoded(rows::SELECT_COMMUNITIES, rows::community)
                .await?,
            areas: self.fetch_decoded(rows::SELECT_AREAS, rows::area).await?,
        })
    }

    /// Every row of `sql`, decoded as it arrives, so that the driver's rows of a whole table never
    /// sit in memory at once beside the values decoded from them.
    pub(crate) async fn fetch_decoded<T>(
        &self,
        sql: &'static str,
        decode: fn(&AnyRow) -> Result<T, StorageError>,
    ) -> Result<Vec<T>, StorageError> {
        let mut out = Vec::new();
        self.fetch_each(sql, decode, |x| out.push(x)).await?;
        Ok(out)
    }

    /// Calls `each` with every row of `sql`, decoded, as it arrives.
    pub(crate) async fn fetch_each<T>(
        &self,
        sql: &'static str,
        decode: fn(&AnyRow) -> Result<T, StorageError>,
        mut each: impl FnMut(T),
    ) -> Result<(), StorageError> {
        use futures_util::TryStreamExt as _;
        let mut rows = sqlx::query(sql).fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            each(decode(&row)?);
        }
        Ok(())
    }

    pub async fn upsert_org_units(&self, items: &[OrgUnit]) -> Result<WriteCounts, StorageError> {
        let mut tx = self.begin_write().await?;
        let c = rows::upsert_org_units(&mut tx, items).await?;
        let ids: Vec<&str> = items.iter().map(|x| x.id.as_str()).collect();
        self.record_change(&mut tx, changes::ChangeKind::OrgUnits, Some(&ids))
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn upsert_outlets(&self, items: &[Outlet]) -> Result<WriteCounts, StorageError> {
        let mut tx = self.begin_write().await?;
        let c = rows::upsert_outlets(&mut tx, items).await?;
        let ids: Vec<&str> = items.iter().map(|x| x.id.as_str()).collect();
        self.record_change(&mut tx, changes::ChangeKind::Outlets, Some(&ids))
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn upsert_merchants(&self, items: &[Merchant]) -> Result<WriteCounts, StorageError> {
        let mut tx = self.begin_write().await?;
        let c = rows::upsert_merchants(&mut tx, items).await?;
        let ids: Vec<&str> = items.iter().map(|x| x.id.as_str()).collect();
        self.record_change(&mut tx, changes::ChangeKind::Merchants, Some(&ids))
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn upsert_communities(
        &self,
        items: &[Community],
    ) -> Result<WriteCounts, StorageError> {
        let mut tx = self.begin_write().await?;
        let c = rows::upsert_communities(&mut tx, items).await?;
        let ids: Vec<&str> = items.iter().map(|x| x.id.as_str()).collect();
        self.record_change(&mut tx, changes::ChangeKind::Communities, Some(&ids))
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn upsert_areas(&self, items: &[Area]) -> Result<WriteCounts, StorageError> {
        let mut tx = self.begin_write().await?;
        let c = rows::upsert_areas(&mut tx, items).await?;
        let ids: Vec<&str> = items.iter().map(|x| x.id.as_str()).collect();
        self.record_change(&mut tx, changes::ChangeKind::Areas, Some(&ids))
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Writes a whole dataset in one transaction (the demo, `ecomap gen`): all or nothing.
    pub async fn write_dataset(&self, ds: &Dataset) -> Result<WriteCounts, StorageError> {
        use changes::ChangeKind as K;
        let mut tx = self.begin_write().await?;
        let mut total = WriteCounts::default();
        total += rows::upsert_org_units(&mut tx, &ds.org_units).await?;
        total += rows::upsert_outlets(&mut tx, &ds.outlets).await?;
        total += rows::upsert_merchants(&mut tx, &ds.merchants).await?;
        total += rows::upsert_communities(&mut tx, &ds.communities).await?;
        total += rows::upsert_areas(&mut tx, &ds.areas).await?;
        let kinds: [(K, Vec<&str>); 5] = [
            (
                K::OrgUnits,
                ds.org_units.iter().map(|x| x.id.as_str()).collect(),
            ),
            (
                K::Outlets,
                ds.outlets.iter().map(|x| x.id.as_str()).collect(),
            ),
            (
                K::Merchants,
                ds.merchants.iter().map(|x| x.id.as_str()).collect(),
            ),
            (
                K::Communities,
                ds.communities.iter().map(|x| x.id.as_str()).collect(),
            ),
            (K::Areas, ds.areas.iter().map(|x| x.id.as_str()).collect()),
        ];
        for (kind, v) in kinds {
            if !v.is_empty() {
                self.record_change(&mut tx, kind, Some(&v)).await?;
            }
        }
        tx.commit().await?;
        Ok(total)
    }

    /// Records a finished import inside its own transaction.
    pub async fn record_import(
        tx: &mut Transaction<'static, Any>,
        kind: &str,
        source: Option<&str>,
        crs: &str,
        counts: WriteCounts,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO imports (kind, source, crs, inserted, updated, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(kind)
        .bind(source)
        .bind(crs)
        .bind(counts.inserted as i64)
        .bind(counts.updated as i64)
        .bind(rows::now())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

pub use rows::{
    upsert_areas, upsert_communities, upsert_merchants, upsert_org_units, upsert_outlets,
};
pub use visits::{lock_events, settle_imported, EventFilter, StoredEvent};
