//! Which merchants an outlet's staff should visit, and why: the visit priority score, the Huff
//! gravity model behind its footfall estimates, and outlet territories. Plain models: no HTTP,
//! no SQL; they read the [`crate::index::SpatialIndex`] and the parameters of
//! `data/scoring.toml` ([`ScoringParams`]). `docs/SCORING.md` explains them for users.
//!
//! # The score
//!
//! `score = Σ_k w_k · n_k`, each `n_k` in 0..=1 and each weight `w_k` in −1..=1 ([`Weights`]):
//!
//! | k | n_k |
//! |---|-----|
//! | category | the category's `weight` (how much a life app gains from it) |
//! | footfall | `ln(1 + f) / ln(1 + footfall_ref)`, capped at 1; f observed, else the Huff estimate |
//! | avg_spend | `min(spend / spend_ref_cny, 1)`, 0 if unknown |
//! | distance | `exp(−walking_m / distance_decay_m)`: walking metres on the street network, else `distance_m × detour_factor` |
//! | agglomeration | 1 in a food street, 0.7 in a business district, else 0 |
//! | ecny | 1 if it accepts e-CNY, else 0 |
//! | competitor_signed | 1 if signed with a competitor bank, else 0 (negative weight) |
//! | cside | `min(cside / cside_ref_households, 1)`, cside = unbanked households in reach |
//!
//! Signed, active and rejected merchants are not scored (see [`priority::excluded`]). Each
//! [`Factor`] reports raw value, normalised value, weight and contribution `w · n`; the
//! contributions add up to the score exactly.
//!
//! # Pipeline
//!
//! [`estimate`] (one pass over the communities, Huff distances as a
//! [`crate::network::Walking`] walks them) → [`MerchantStats`]; [`assign`] → which outlet owns
//! each merchant; [`score`] / [`score_walked`] / [`rank`] (with a `Walking`) → the explained
//! priorities. Where the street network is used and where straight lines stay: the
//! [`priority`] and [`footfall`] module docs.

pub mod footfall;
pub mod huff;
pub mod params;
pub mod priority;
pub mod territory;

pub use footfall::{estimate, MerchantStats};
pub use huff::{huff, shares, Destination, HuffError, HuffResult, Origin};
pub use params::{CategoryParams, ParamsError, ScoringParams, Weights};
pub use priority::{rank, score, score_walked, Factor, Priority};
pub use territory::{assign, Territories, TerritoryMethod};
