//! Scoring weights per org node, versioned: a change adds a row, nothing is overwritten.

use sqlx::Row;

use super::rows::now;
use super::{StorageError, Store};

/// One stored version of a node's weights (the weights as JSON, validated by the caller).
#[derive(Debug, Clone, serde::Serialize)]
pub struct WeightsVersion {
    pub org_node_id: String,
    pub version: i64,
    pub weights: serde_json::Value,
    pub changed_by: String,
    pub changed_at: String,
}

impl Store {
    /// Adds the next version for `org_node_id`; returns its number.
    pub async fn put_weights(
        &self,
        org_node_id: &str,
        weights: &serde_json::Value,
        changed_by: &str,
    ) -> Result<i64, StorageError> {
        let mut tx = self.begin_write().await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM scoring_weights WHERE org_node_id = $1")
                .bind(org_node_id)
                .fetch_one(&mut *tx)
                .await?;
        let version = last.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO scoring_weights (org_node_id, version, weights, changed_by, changed_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org_node_id)
        .bind(version)
        .bind(weights.to_string())
        .bind(changed_by)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        self.record_change(
            &mut tx,
            super::changes::ChangeKind::Weights,
            Some(&[org_node_id]),
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Every version of every node, oldest first (small: one row per change).
    pub async fn all_weights(&self) -> Result<Vec<WeightsVersion>, StorageError> {
        let rows = sqlx::query(
            "SELECT org_node_id, version, weights, changed_by, changed_at FROM scoring_weights \
             ORDER BY org_node_id, version",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let w: String = r.try_get("weights")?;
                Ok(WeightsVersion {
                    org_node_id: r.try_get("org_node_id")?,
                    version: r.try_get("version")?,
                    weights: serde_json::from_str(&w).unwrap_or(serde_json::Value::Null),
                    changed_by: r.try_get("changed_by")?,
                    changed_at: r.try_get("changed_at")?,
                })
            })
            .collect()
    }
}
