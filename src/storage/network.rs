//! The stored walking network: one blob per import (`network::StreetNetwork::to_bytes`), the
//! newest in use. Stored in the database, not beside it, so that every process of a deployment
//! loads the same network.

use sqlx::{Any, Row, Transaction};

use super::rows::now;
use super::{StorageError, Store};

/// A stored network.
#[derive(Debug, Clone)]
pub struct StoredNetwork {
    pub id: i64,
    pub source: String,
    /// The build report as JSON.
    pub report: serde_json::Value,
    pub data: Vec<u8>,
    pub built_by: String,
    pub built_at: String,
}

/// Adds a network in the caller's transaction (an OSM import writes it with the places).
pub async fn save_network(
    tx: &mut Transaction<'static, Any>,
    source: &str,
    report: &serde_json::Value,
    data: &[u8],
    built_by: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO street_networks (source, report, data, built_by, built_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(source)
    .bind(report.to_string())
    .bind(data.to_vec())
    .bind(built_by)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The newest network, if any was imported.
    pub async fn network(&self) -> Result<Option<StoredNetwork>, StorageError> {
        let row = sqlx::query(
            "SELECT id, source, report, data, built_by, built_at FROM street_networks \
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let report: String = r.try_get("report")?;
        Ok(Some(StoredNetwork {
            id: r.try_get("id")?,
            source: r.try_get("source")?,
            report: serde_json::from_str(&report).unwrap_or(serde_json::Value::Null),
            data: r.try_get("data")?,
            built_by: r.try_get("built_by")?,
            built_at: r.try_get("built_at")?,
        }))
    }
}
