//! The scoring models' warm state inside the running application: footfall estimates,
//! catchments and territories computed once from the index (Huff distances on the street network
//! when one is loaded, see [`crate::scoring::footfall`]) and dropped on every write, and on a new
//! network (an administrator's OSM import), and the
//! versioned scoring weights per org node (a change applies at once, without a restart).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::app::{App, AppError};
use crate::domain::FieldError;
use crate::scoring::footfall::{estimate, MerchantStats};
use crate::scoring::params::{ScoringParams, Weights};
use crate::scoring::territory::{assign, Territories, TerritoryMethod};
use crate::storage::weights::WeightsVersion;

/// What the scores of the current data rest on; rebuilt lazily after a write.
pub struct Warm {
    pub stats: MerchantStats,
    pub territories: Territories,
}

/// Scoring configuration and caches held by the application.
pub struct Ranking {
    pub params: ScoringParams,
    warm: RwLock<Option<Arc<Warm>>>,
    /// Every stored weights version, by org node, oldest first.
    weights: RwLock<HashMap<String, Vec<WeightsVersion>>>,
}

/// The weights that apply at an org node, and where they come from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Effective {
    pub weights: Weights,
    /// `default` (data/scoring.toml) or the node whose version applies.
    pub source: String,
    pub version: Option<i64>,
    pub changed_by: Option<String>,
    pub changed_at: Option<String>,
}

impl Ranking {
    pub fn new(params: ScoringParams, stored: Vec<WeightsVersion>) -> Self {
        let mut weights: HashMap<String, Vec<WeightsVersion>> = HashMap::new();
        for v in stored {
            weights.entry(v.org_node_id.clone()).or_default().push(v);
        }
        Self {
            params,
            warm: RwLock::new(None),
            weights: RwLock::new(weights),
        }
    }

    /// Drops the warm state: the data or the street network changed.
    pub fn invalidate(&self) {
        *self.warm.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Replaces every stored weights version (another process changed some).
    pub(crate) fn replace_weights(&self, stored: Vec<WeightsVersion>) {
        let mut weights: HashMap<String, Vec<WeightsVersion>> = HashMap::new();
        for v in stored {
            weights.entry(v.org_node_id.clone()).or_default().push(v);
        }
        *self.weights.write().unwrap_or_else(|e| e.into_inner()) = weights;
    }

    pub fn history(&self, node: &str) -> Vec<WeightsVersion> {
        self.weights
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(node)
            .cloned()
            .unwrap_or_default()
    }
}

impl App {
    /// The warm state, computed now if a write dropped it.
    pub fn warm(&self) -> Arc<Warm> {
        if let Some(w) = self
            .ranking
            .warm
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            return w.clone();
        }
        let index = self.index();
        // Changes to the data and to the street network are marked (`App::changed`) under the
        // index's write lock, so neither moves while this holds the read lock.
        let generation = self.generation();
        let walking = self.walking();
        let warm = Arc::new(Warm {
            stats: estimate(&index, &self.ranking.params, &walking),
            territories: assign(&index, &self.ranking.params, TerritoryMethod::Nearest, None),
        });
        drop(index);
        let mut kept = self.ranking.warm.write().unwrap_or_else(|e| e.into_inner());
        // A change marked since the index was read has dropped the state this one was computed
        // from (and moved the generation on before dropping it): answer with it, but do not keep
        // it. (A weights change moves the generation too; the next call then computes again.)
        if self.generation() == generation {
            *kept = Some(warm.clone());
        }
        warm
    }

    /// The chain of org nodes from `node` up to the head office (an outlet, its sub-branch, …).
    pub fn ancestry(&self, node: &str) -> Vec<String> {
        let index = self.index();
        let mut chain = vec![node.to_string()];
        let mut at = node.to_string();
        for _ in 0..32 {
            let parent = index
                .outlets
                .get(&at)
                .and_then(|o| o.parent_org_id.clone())
                .or_else(|| {
                    index
                        .org_units
                        .iter()
                        .find(|u| u.id == at)
                        .and_then(|u| u.parent_id.clone())
                });
            match parent {
                Some(p) if !chain.contains(&p) => {
                    chain.push(p.clone());
                    at = p;
                }
                _ => break,
            }
        }
        chain
    }

    /// The weights that apply at `node`: the newest version stored for it or the nearest unit
    /// above it; else the defaults.
    pub fn effective_weights(&self, node: Option<&str>) -> Effective {
        let stored = self
            .ranking
            .weights
            .read()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(node) = node {
            for n in self.ancestry(node) {
                let Some(v) = stored.get(&n).and_then(|vs| vs.last()) else {
                    continue;
                };
                if let Ok(w) = serde_json::from_value::<Weights>(v.weights.clone()) {
                    return Effective {
                        weights: w,
                        source: n,
                        version: Some(v.version),
                        changed_by: Some(v.changed_by.clone()),
                        changed_at: Some(v.changed_at.clone()),
                    };
                }
            }
        }
        Effective {
            weights: self.ranking.params.weights.clone(),
            source: "default".into(),
            version: None,
            changed_by: None,
            changed_at: None,
        }
    }

    /// Stores a new version of `node`'s weights and applies it at once.
    pub async fn set_weights(
        &self,
        node: &str,
        weights: &Weights,
        by: &str,
    ) -> Result<i64, AppError> {
        weights
            .validate()
            .map_err(|e: FieldError| AppError::Invalid(e))?;
        let json = serde_json::to_value(weights).unwrap_or(serde_json::Value::Null);
        let version = self.store.put_weights(node, &json, by).await?;
        let v = WeightsVersion {
            org_node_id: node.to_string(),
            version,
            weights: json,
            changed_by: by.to_string(),
            changed_at: crate::storage::now_string(),
        };
        self.ranking
            .weights
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(node.to_string())
            .or_default()
            .push(v);
        // Scores change with the weights: tiles that carry them (the coverage grid) too.
        self.generation_bump();
        Ok(version)
    }
}
