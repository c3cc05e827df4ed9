//! `ecomap gen` into the database: a plan generated on its own thread, chunk by chunk, and
//! written by the bulk writer as the chunks arrive — never through the App (which would index
//! every merchant in memory) and never the whole dataset at once.

use super::plan::{Batch, Plan};
use super::GenError;
use crate::storage::bulk::BulkWriter;
use crate::storage::changes::ChangeKind;
use crate::storage::{StorageError, Store};

/// Merchants or communities per batch: one transaction (SQLite) or one COPY (PostgreSQL) each.
pub const CHUNK: usize = 20_000;

/// Batches generated ahead of the writer: generation and writing overlap, memory stays bounded.
const AHEAD: usize = 4;

/// Where a run is, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The city being written and its place in the plan.
    pub city: &'a str,
    pub city_index: usize,
    pub cities: usize,
    /// Merchants, outlets and communities written so far, of `total_rows`.
    pub rows: u64,
    pub total_rows: u64,
}

/// Rows written, by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Written {
    pub org_units: u64,
    pub outlets: u64,
    pub merchants: u64,
    pub communities: u64,
    pub areas: u64,
}

impl Written {
    pub fn total(&self) -> u64 {
        self.org_units + self.outlets + self.merchants + self.communities + self.areas
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Gen(#[from] GenError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the generator thread failed: {0}")]
    Thread(String),
}

/// Generates `plan` and writes it into `db` (a SQLite path or URL, or a `postgres://` URL; the
/// schema is migrated first). Rows with an id already stored are updated, as the normal import
/// path does. `progress` is called after every batch.
pub async fn write_plan(
    db: &str,
    plan: Plan,
    mut progress: impl FnMut(&Progress<'_>),
) -> Result<Written, WriteError> {
    let total_rows = plan.totals().rows();
    let cities = plan.cities.len();
    let mut writer = BulkWriter::connect(db).await?;

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Batch, GenError>>(AHEAD);
    let generator = std::thread::Builder::new()
        .name("ecomap-gen".into())
        .spawn(move || {
            for batch in plan.stream(CHUNK) {
                if tx.blocking_send(batch).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| WriteError::Thread(e.to_string()))?;

    let mut written = Written::default();
    let mut city = String::new();
    let mut city_index = 0;
    let mut rows = 0u64;
    let result = async {
        while let Some(batch) = rx.recv().await {
            match batch? {
                Batch::City { index, name, .. } => {
                    city = name;
                    city_index = index;
                }
                Batch::OrgUnits(v) => {
                    writer.org_units(&v).await?;
                    written.org_units += v.len() as u64;
                }
                Batch::Outlets(v) => {
                    writer.outlets(&v).await?;
                    written.outlets += v.len() as u64;
                    rows += v.len() as u64;
                }
                Batch::Areas(v) => {
                    writer.areas(&v).await?;
                    written.areas += v.len() as u64;
                }
                Batch::Merchants(v) => {
                    writer.merchants(&v).await?;
                    written.merchants += v.len() as u64;
                    rows += v.len() as u64;
                }
                Batch::Communities(v) => {
                    writer.communities(&v).await?;
                    written.communities += v.len() as u64;
                    rows += v.len() as u64;
                }
            }
            progress(&Progress {
                city: &city,
                city_index,
                cities,
                rows,
                total_rows,
            });
        }
        writer.finish().await?;
        Ok::<(), WriteError>(())
    }
    .await;
    // On an error the receiver goes first, so that the generator's next send fails and it stops.
    drop(rx);
    let joined = tokio::task::spawn_blocking(move || generator.join())
        .await
        .map_err(|e| WriteError::Thread(e.to_string()))?;
    result?;
    joined.map_err(|_| WriteError::Thread("the generator panicked".into()))?;
    announce(db, &written).await?;
    Ok(written)
}

/// Tells running servers (the change feed) that whole kinds changed, as a normal write would:
/// they reload them.
async fn announce(db: &str, written: &Written) -> Result<(), StorageError> {
    let store = Store::connect(db).await?;
    let mut tx = store.begin_write().await?;
    for (kind, n) in [
        (ChangeKind::OrgUnits, written.org_units),
        (ChangeKind::Outlets, written.outlets),
        (ChangeKind::Merchants, written.merchants),
        (ChangeKind::Communities, written.communities),
        (ChangeKind::Areas, written.areas),
    ] {
        if n > 0 {
            store.record_change::<&str>(&mut tx, kind, None).await?;
        }
    }
    tx.commit().await?;
    store.close().await;
    Ok(())
}
