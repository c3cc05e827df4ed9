//! Several ecomap processes on one database (issue 10): each keeps its own in-memory index, and
//! a write through any of them (an import, a visit outcome, a weight change, a street network)
//! reaches the others' indexes through the change feed ([`crate::storage::changes`]).
//!
//! [`spawn`] runs one loop per process. On PostgreSQL it `LISTEN`s on
//! [`crate::storage::changes::CHANNEL`] (the writer's transaction sends `NOTIFY` at commit) and
//! catches up as soon as a notification arrives; it also catches up every [`POLL`] whatever
//! happens, so a lost notification or a dropped listener connection costs at most that long.
//! On SQLite (several processes on one file) it polls the feed's newest sequence number every
//! [`SQLITE_POLL`] (one indexed `MAX(seq)`, microseconds).
//!
//! [`catch_up`] reads the rows after the last one applied, skips those this process wrote (it
//! applied them when it wrote them), merges the rest by kind and reloads just those objects from
//! the database — by id, or the whole kind when a change was too big to list its ids — under
//! the writer lock, then marks the change (the generation moves, caches and the scoring's warm
//! state follow). Reloading reads rows as they are now, so a change applied twice or late
//! converges to the database. Nothing is ever deleted by ecomap's writes, so reloads only
//! upsert.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::app::{App, AppError};
use crate::storage::changes::{ChangeKind, CHANNEL};
use crate::storage::Backend;

/// The longest a change waits on PostgreSQL when its notification is lost.
pub const POLL: Duration = Duration::from_millis(500);
/// How often a process on SQLite looks at the feed.
pub const SQLITE_POLL: Duration = Duration::from_millis(100);
/// Feed rows read per round.
const BATCH: i64 = 1_000;

/// What one round reloads: per kind, the ids (or `None`: everything of the kind).
type Wanted = BTreeMap<ChangeKind, Option<HashSet<String>>>;

/// Applies every change in the feed after the last one this process applied; returns how many
/// other processes' changes it applied.
pub async fn catch_up(app: &App) -> Result<usize, AppError> {
    let mut applied = 0;
    loop {
        let after = app.synced.load(Ordering::Acquire);
        let changes = app.store.changes_after(after, BATCH).await?;
        let Some(last) = changes.last().map(|c| c.seq) else {
            return Ok(applied);
        };
        let mut wanted: Wanted = BTreeMap::new();
        for c in changes.iter().filter(|c| c.origin != app.store.origin()) {
            applied += 1;
            match c.kind {
                // A kind this version does not know: reload everything it can.
                None => {
                    for k in ALL {
                        wanted.insert(k, None);
                    }
                }
                Some(k) => {
                    let entry = wanted.entry(k).or_insert_with(|| Some(HashSet::new()));
                    match (entry.as_mut(), &c.ids) {
                        (Some(set), Some(ids)) => set.extend(ids.iter().cloned()),
                        _ => *entry = None,
                    }
                }
            }
        }
        if !wanted.is_empty() {
            reload(app, wanted).await?;
        }
        app.synced.fetch_max(last, Ordering::AcqRel);
        if (changes.len() as i64) < BATCH {
            return Ok(applied);
        }
    }
}

const ALL: [ChangeKind; 7] = [
    ChangeKind::OrgUnits,
    ChangeKind::Outlets,
    ChangeKind::Merchants,
    ChangeKind::Communities,
    ChangeKind::Areas,
    ChangeKind::Weights,
    ChangeKind::Network,
];

/// Reloads what `wanted` names from the database into the index, under the writer lock.
async fn reload(app: &App, wanted: Wanted) -> Result<(), AppError> {
    let _w = app.writer.lock().await;
    let store = &app.store;
    let ids = |set: &HashSet<String>| -> Vec<String> {
        let mut v: Vec<String> = set.iter().cloned().collect();
        v.sort();
        v
    };
    for (kind, which) in wanted {
        match kind {
            ChangeKind::OrgUnits => {
                let units = store.all_org_units().await?;
                app.index_mut().org_units = units;
                app.changed();
            }
            ChangeKind::Outlets => {
                let rows = match &which {
                    Some(set) => store.outlets_by_ids(&ids(set)).await?,
                    None => store.all_outlets().await?,
                };
                let mut index = app.index_mut();
                app.changed();
                index.outlets.upsert_many(rows);
            }
            ChangeKind::Merchants => match &which {
                Some(set) => {
                    let rows = store.merchants_by_ids(&ids(set)).await?;
                    let mut index = app.index_mut();
                    app.changed();
                    index.merchants.upsert_many(rows);
                }
                None => {
                    // Many changed (a large import elsewhere): the layer is rebuilt from the
                    // database, streamed into columns and built off the async threads, and
                    // swapped in whole; the writer lock keeps this process's own writes out
                    // meanwhile, so nothing written here is lost.
                    let mut table = crate::index::MerchantTable::default();
                    store.for_each_merchant(|m| table.push_fields(m)).await?;
                    let layer = tokio::task::spawn_blocking(move || {
                        crate::index::MerchantLayer::from_slots(table)
                    })
                    .await
                    // Blocking tasks are never cancelled, so this is a panic: pass it on.
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                    let mut index = app.index_mut();
                    app.changed();
                    index.merchants = layer;
                }
            },
            ChangeKind::Communities => {
                let rows = match &which {
                    Some(set) => store.communities_by_ids(&ids(set)).await?,
                    None => store.all_communities().await?,
                };
                let mut index = app.index_mut();
                app.changed();
                index.communities.upsert_many(rows);
            }
            ChangeKind::Areas => {
                let rows = match &which {
                    Some(set) => store.areas_by_ids(&ids(set)).await?,
                    None => store.all_areas().await?,
                };
                let mut index = app.index_mut();
                app.changed();
                for a in rows {
                    index.upsert_area(a);
                }
            }
            ChangeKind::Weights => {
                app.ranking.replace_weights(store.all_weights().await?);
                app.generation_bump();
            }
            ChangeKind::Network => {
                let net = match store.network().await? {
                    None => None,
                    Some(n) => match crate::network::StreetNetwork::from_bytes(&n.data) {
                        Ok(net) => Some(Arc::new(net)),
                        Err(e) => {
                            tracing::error!(error = %e, source = %n.source, "another process stored a street network that does not load here; using straight lines");
                            None
                        }
                    },
                };
                app.set_network(net);
            }
        }
    }
    Ok(())
}

/// Starts the loop that keeps this process's index up to date with the others' writes (see
/// the module docs). Runs until aborted.
pub fn spawn(app: Arc<App>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match app.store.backend() {
            Backend::Postgres => listen(app).await,
            Backend::Sqlite => poll(app).await,
        }
    })
}

async fn round(app: &App) {
    match catch_up(app).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(changes = n, "applied other processes' changes"),
        Err(e) => tracing::warn!(error = %e, "cannot read the change feed; retrying"),
    }
}

async fn poll(app: Arc<App>) {
    loop {
        tokio::time::sleep(SQLITE_POLL).await;
        match app.store.last_change().await {
            Ok(seq) if seq > app.synced.load(Ordering::Acquire) => round(&app).await,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the change feed; retrying"),
        }
    }
}

async fn listen(app: Arc<App>) {
    let mut listener: Option<sqlx::postgres::PgListener> = None;
    loop {
        if listener.is_none() {
            match sqlx::postgres::PgListener::connect(app.store.url()).await {
                Ok(mut l) => match l.listen(CHANNEL).await {
                    Ok(()) => listener = Some(l),
                    Err(e) => tracing::warn!(error = %e, "cannot LISTEN for changes; polling"),
                },
                Err(e) => tracing::warn!(error = %e, "cannot LISTEN for changes; polling"),
            }
        }
        match listener.as_mut() {
            Some(l) => match tokio::time::timeout(POLL, l.recv()).await {
                // A notification, or the poll's time: catch up either way.
                Ok(Ok(_)) | Err(_) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the change listener dropped; reconnecting");
                    listener = None;
                }
            },
            None => tokio::time::sleep(POLL).await,
        }
        round(&app).await;
    }
}
