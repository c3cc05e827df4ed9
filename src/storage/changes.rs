//! The change feed: how several ecomap processes on one database keep their in-memory indexes
//! equal (issue 10). Every write that changes what a process holds in memory adds a row to
//! `change_feed` inside its own transaction: the kind of object, the ids changed (or none: "the
//! whole kind") and the writing process's `origin`. The other processes are woken by
//! PostgreSQL's `NOTIFY ecomap_changes` (sent by the same transaction, so delivered at commit)
//! or poll the table (SQLite), read the rows after the last one they applied
//! ([`Store::changes_after`]) and reload only those objects ([`Store::merchants_by_ids`] …).
//! The loop that does it is [`crate::sync`].
//!
//! Order: on PostgreSQL a writer takes a transaction-level advisory lock before adding its row
//! and keeps it to commit, so sequence numbers are handed out in commit order and a reader that
//! has seen `seq` has seen everything before it. SQLite has one writer at a time anyway.
//! Reloading reads the rows as they are now, so applying a change twice, or late, is harmless.

use sqlx::{Any, Row, Transaction};

use super::{rows, Backend, StorageError, Store};
use crate::domain::{Area, Community, Merchant, OrgUnit, Outlet};

/// The PostgreSQL channel the feed notifies on.
pub const CHANNEL: &str = "ecomap_changes";

/// The advisory lock that orders writers to the feed (an arbitrary constant: "ecomap" in ASCII).
const FEED_LOCK: i64 = 0x0000_6563_6f6d_6170;

/// Above this many ids a change says "the whole kind" (reloading a million rows by id is no
/// cheaper than reading the table).
pub const MAX_IDS: usize = 20_000;

/// What a change is about; each has its own reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    OrgUnits,
    Outlets,
    Merchants,
    Communities,
    Areas,
    Weights,
    Network,
}

impl ChangeKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::OrgUnits => "org_units",
            Self::Outlets => "outlets",
            Self::Merchants => "merchants",
            Self::Communities => "communities",
            Self::Areas => "areas",
            Self::Weights => "weights",
            Self::Network => "network",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [
            Self::OrgUnits,
            Self::Outlets,
            Self::Merchants,
            Self::Communities,
            Self::Areas,
            Self::Weights,
            Self::Network,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }
}

/// One row of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    /// `None` for a kind this version does not know (a newer process wrote it): the reader
    /// reloads everything.
    pub kind: Option<ChangeKind>,
    /// `None`: every object of the kind.
    pub ids: Option<Vec<String>>,
    pub origin: String,
}

impl Store {
    /// Adds a change to the feed inside `tx` (and, on PostgreSQL, the notification that goes
    /// out when `tx` commits). `ids: None` or more than [`MAX_IDS`]: the whole kind.
    pub async fn record_change<S: AsRef<str>>(
        &self,
        tx: &mut Transaction<'static, Any>,
        kind: ChangeKind,
        ids: Option<&[S]>,
    ) -> Result<(), StorageError> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(FEED_LOCK)
                .execute(&mut **tx)
                .await?;
        }
        let ids = ids.filter(|v| v.len() <= MAX_IDS).map(|v| {
            serde_json::Value::Array(
                v.iter()
                    .map(|s| serde_json::Value::String(s.as_ref().to_string()))
                    .collect(),
            )
            .to_string()
        });
        sqlx::query(
            "INSERT INTO change_feed (kind, ids, origin, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(kind.code())
        .bind(ids)
        .bind(self.origin())
        .bind(rows::now())
        .execute(&mut **tx)
        .await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(kind.code())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// The newest sequence number in the feed (0 when empty).
    pub async fn last_change(&self) -> Result<i64, StorageError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM change_feed")
            .fetch_one(self.pool())
            .await?;
        Ok(seq.unwrap_or(0))
    }

    /// The changes after `seq`, oldest first, at most `limit`.
    pub async fn changes_after(&self, seq: i64, limit: i64) -> Result<Vec<Change>, StorageError> {
        let rows = sqlx::query(
            "SELECT seq, kind, ids, origin FROM change_feed WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let ids: Option<String> = r.try_get("ids")?;
                Ok(Change {
                    seq: r.try_get("seq")?,
                    kind: ChangeKind::parse(&kind),
                    ids: ids.and_then(|s| serde_json::from_str(&s).ok()),
                    origin: r.try_get("origin")?,
                })
            })
            .collect()
    }

    /// Rows of `select` (one of the `rows::SELECT_*`, ending in `ORDER BY id`) whose id is one
    /// of `ids`, decoded; ids with no row are left out.
    async fn by_ids<T>(
        &self,
        select: &str,
        ids: &[String],
        decode: fn(&sqlx::any::AnyRow) -> Result<T, StorageError>,
    ) -> Result<Vec<T>, StorageError> {
        let base = select.trim_end_matches(" ORDER BY id");
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1_000) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("{base} WHERE id IN ({})", marks.join(", "));
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for r in q.fetch_all(self.pool()).await? {
                out.push(decode(&r)?);
            }
        }
        Ok(out)
    }

    pub async fn merchants_by_ids(&self, ids: &[String]) -> Result<Vec<Merchant>, StorageError> {
        self.by_ids(rows::SELECT_MERCHANTS, ids, rows::merchant)
            .await
    }

    pub async fn outlets_by_ids(&self, ids: &[String]) -> Result<Vec<Outlet>, StorageError> {
        self.by_ids(rows::SELECT_OUTLETS, ids, rows::outlet).await
    }

    pub async fn communities_by_ids(&self, ids: &[String]) -> Result<Vec<Community>, StorageError> {
        self.by_ids(rows::SELECT_COMMUNITIES, ids, rows::community)
            .await
    }

    pub async fn areas_by_ids(&self, ids: &[String]) -> Result<Vec<Area>, StorageError> {
        self.by_ids(rows::SELECT_AREAS, ids, rows::area).await
    }

    /// Every row of one kind (a change without ids).
    pub async fn all_outlets(&self) -> Result<Vec<Outlet>, StorageError> {
        self.fetch_decoded(rows::SELECT_OUTLETS, rows::outlet).await
    }

    pub async fn all_communities(&self) -> Result<Vec<Community>, StorageError> {
        self.fetch_decoded(rows::SELECT_COMMUNITIES, rows::community)
            .await
    }

    pub async fn all_areas(&self) -> Result<Vec<Area>, StorageError> {
        self.fetch_decoded(rows::SELECT_AREAS, rows::area).await
    }

    pub async fn all_org_units(&self) -> Result<Vec<OrgUnit>, StorageError> {
        self.fetch_decoded(rows::SELECT_ORG_UNITS, rows::org_unit)
            .await
    }
}
