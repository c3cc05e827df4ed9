//! Ecosystem coverage (生态圈覆盖): how much of what lies around an outlet, a community or a food
//! street is already ours, where the gaps (white space) are and where competitors stand. Plain
//! models: no HTTP, no SQL; they read the [`crate::index::SpatialIndex`], the scoring
//! statistics ([`crate::scoring::MerchantStats`]) and the parameters of `data/coverage.toml`
//! ([`CoverageParams`]). `docs/COVERAGE.md` explains them for users.
//!
//! # Distances
//!
//! There is no street network yet, so a walking distance R is searched as the straight-line
//! (great-circle) radius `R / detour` ([`straight_m`]), `detour` being
//! [`crate::scoring::ScoringParams::detour_factor`] (1.3). Outputs that depend on it carry
//! `"distance": "straight_line_x_detour"` ([`DISTANCE_MODEL`]).
//!
//! Convention: the walking distances of the parameters (circles, `community_circle_m`) are
//! *walking* metres; radii passed to functions (`radius_m`, `reach_m`) are *straight-line*
//! metres, as every `distance_m` in the outputs is.
//!
//! # Pieces
//!
//! - [`life_circles`]: the 5/10/15-minute circles around a point, cumulative.
//! - [`community_coverage`]: whether each community's own 10-minute circle holds `k` signed
//!   merchants of each essential category; [`share_around`] and [`share_of`] sum households.
//! - [`grid()`]: an H3 hex grid of merchants, signed merchants, prospects, households, footfall,
//!   priority and white space.
//! - [`survey()`]: the survey of a business district or food street (商圈 / 好吃街).
//! - [`compare()`]: one row of coverage figures per outlet.
//!
//! "Signed" always means signed or active (已签约 or 动销); "prospect" means prospect, visited
//! or interested (still in the pipeline).

pub mod circles;
pub mod community;
pub mod compare;
pub mod grid;
pub mod params;
pub mod survey;

pub use circles::{life_circles, life_circles_walked, CategoryCount, CircleSummary};
pub use community::{
    community_coverage, community_coverage_of, community_coverage_of_walked, share_around,
    share_of, CommunityCoverage, CoverageShare,
};
pub use compare::{compare, OutletRow};
pub use grid::{grid, Hex};
pub use params::{straight_m, Circle, CoverageParams, ParamsError};
pub use survey::{survey, MixRow, NearbyCommunity, NearbyOutlet, Prospect, Survey};

use crate::domain::PipelineStatus;
use crate::index::MerchantRef;

/// How distances were measured, as reported in outputs.
pub const DISTANCE_MODEL: &str = "straight_line_x_detour";

/// Signed or active: the merchant is in our ecosystem.
pub fn is_signed(m: MerchantRef<'_>) -> bool {
    matches!(m.status(), PipelineStatus::Signed | PipelineStatus::Active)
}

/// Prospect, visited or interested: still in the acquisition pipeline.
pub fn is_prospect(m: MerchantRef<'_>) -> bool {
    matches!(
        m.status(),
        PipelineStatus::Prospect | PipelineStatus::Visited | PipelineStatus::Interested
    )
}

/// Share `part / whole`, 0 when `whole` is 0.
pub(crate) fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}

#[cfg(test)]
pub(crate) mod tests;
