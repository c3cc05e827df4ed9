//! Campaigns, versioned: a save adds a row with the whole spec (JSON, validated by the caller);
//! the newest version is the campaign. A save names the version it was based on; when that is
//! no longer the newest, nothing is written and the caller hears of the conflict.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::now;
use super::{StorageError, Store};

/// One stored version of a campaign.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CampaignVersion {
    pub campaign_id: String,
    pub version: i64,
    pub owner_org_id: Option<String>,
    pub name: String,
    /// The `CampaignSpec` as JSON.
    pub spec: serde_json::Value,
    pub deleted: bool,
    pub changed_by: String,
    pub changed_at: String,
}

/// What a save found.
#[derive(Debug, Clone, PartialEq)]
pub enum Saved {
    /// Written as this version.
    Version(i64),
    /// Not written: the newest version is this one, not the one the save was based on
    /// (`None`: there is no such campaign).
    Conflict(Option<i64>),
}

const COLUMNS: &str =
    "campaign_id, version, owner_org_id, name, spec, deleted, changed_by, changed_at";

fn version_row(r: &AnyRow) -> Result<CampaignVersion, StorageError> {
    let id: String = r.try_get("campaign_id")?;
    let spec: String = r.try_get("spec")?;
    let spec = serde_json::from_str(&spec).map_err(|e| StorageError::Corrupt {
        table: "campaign_versions",
        id: id.clone(),
        source: crate::domain::FieldError::new("spec", e.to_string()),
    })?;
    let deleted: i64 = r.try_get("deleted")?;
    Ok(CampaignVersion {
        version: r.try_get("version")?,
        owner_org_id: r.try_get("owner_org_id")?,
        name: r.try_get("name")?,
        spec,
        deleted: deleted != 0,
        changed_by: r.try_get("changed_by")?,
        changed_at: r.try_get("changed_at")?,
        campaign_id: id,
    })
}

impl Store {
    /// Saves a version of campaign `id` based on `base` (0 for a new campaign): written as
    /// `base + 1` when `base` is the newest version (or 0 and the campaign is new), otherwise
    /// a conflict. `deleted` marks the campaign deleted from this version on.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_campaign(
        &self,
        id: &str,
        base: i64,
        owner_org_id: Option<&str>,
        name: &str,
        spec: &serde_json::Value,
        deleted: bool,
        changed_by: &str,
    ) -> Result<Saved, StorageError> {
        let mut tx = self.begin_write().await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM campaign_versions WHERE campaign_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if last.unwrap_or(0) != base {
            return Ok(Saved::Conflict(last));
        }
        let inserted = sqlx::query(
            "INSERT INTO campaign_versions (campaign_id, version, owner_org_id, name, spec, \
             deleted, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(base + 1)
        .bind(owner_org_id)
        .bind(name)
        .bind(spec.to_string())
        .bind(i64::from(deleted))
        .bind(changed_by)
        .bind(now())
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // Another save of the same base won the race (PostgreSQL's read committed lets
            // both read the same MAX): the primary key refuses the second.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Ok(Saved::Conflict(Some(base + 1)));
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(Saved::Version(base + 1))
    }

    /// The newest version of every campaign that is not deleted, by id.
    pub async fn campaigns(&self) -> Result<Vec<CampaignVersion>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM campaign_versions v WHERE version = (SELECT MAX(version) \
             FROM campaign_versions w WHERE w.campaign_id = v.campaign_id) AND deleted = 0 \
             ORDER BY campaign_id"
        );
        sqlx::query(&sql)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(version_row)
            .collect()
    }

    /// Every version of one campaign, oldest first (empty when there is none).
    pub async fn campaign_history(&self, id: &str) -> Result<Vec<CampaignVersion>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM campaign_versions WHERE campaign_id = $1 ORDER BY version"
        );
        sqlx::query(&sql)
            .bind(id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(version_row)
            .collect()
    }

    /// The newest version of one campaign, deleted or not.
    pub async fn campaign(&self, id: &str) -> Result<Option<CampaignVersion>, StorageError> {
        Ok(self.campaign_history(id).await?.pop())
    }
}
