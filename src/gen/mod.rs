//! Synthetic city generator (`ecomap gen`): deterministic data for the demo, tests and benches.
//!
//! PLACEHOLDER: uniform random points; to be replaced by the realistic Leshan generator.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::{Dataset, Merchant, MerchantDraft, Outlet, OutletDraft};

/// What to generate. `Default` is the Leshan demo.
#[derive(Debug, Clone)]
pub struct GenConfig {
    pub seed: u64,
    pub merchants: usize,
    pub outlets_ours: usize,
    pub outlets_competitors: usize,
    pub communities: usize,
    /// Centre of the city, WGS-84 `[lon, lat]`.
    pub center: [f64; 2],
}

impl Default for GenConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            merchants: 1_600,
            outlets_ours: 6,
            outlets_competitors: 4,
            communities: 64,
            center: [103.7610, 29.5690],
        }
    }
}

/// Generates a whole city, deterministically from `cfg.seed`.
pub fn generate(cfg: &GenConfig) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut ds = Dataset::default();
    for i in 0..cfg.merchants {
        let d = MerchantDraft {
            id: format!("m{i}"),
            name: format!("商户{i}"),
            category: "dining".into(),
            lon: cfg.center[0] + rng.random_range(-0.05..0.05),
            lat: cfg.center[1] + rng.random_range(-0.05..0.05),
            ..Default::default()
        };
        if let Ok(m) = Merchant::try_from(d) {
            ds.merchants.push(m);
        }
    }
    for i in 0..cfg.outlets_ours + cfg.outlets_competitors {
        let d = OutletDraft {
            id: format!("o{i}"),
            name: format!("网点{i}"),
            lon: cfg.center[0] + rng.random_range(-0.05..0.05),
            lat: cfg.center[1] + rng.random_range(-0.05..0.05),
            ..Default::default()
        };
        if let Ok(o) = Outlet::try_from(d) {
            ds.outlets.push(o);
        }
    }
    ds
}
