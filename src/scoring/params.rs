//! Scoring parameters: the factor weights, the Huff model's per-category constants and the
//! references that normalise each factor. The defaults live in `data/scoring.toml`, compiled in,
//! with the reason for every value written next to it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::FieldError;

/// The weight of each factor of the priority score (see [`crate::scoring`]), each in −1..=1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub category: f64,
    pub footfall: f64,
    pub avg_spend: f64,
    pub distance: f64,
    pub agglomeration: f64,
    pub ecny: f64,
    pub competitor_signed: f64,
    pub cside: f64,
}

impl Weights {
    /// The weights by factor code, in the order the score lists its factors.
    pub(crate) fn by_code(&self) -> [(&'static str, f64); 8] {
        [
            ("category", self.category),
            ("footfall", self.footfall),
            ("avg_spend", self.avg_spend),
            ("distance", self.distance),
            ("agglomeration", self.agglomeration),
            ("ecny", self.ecny),
            ("competitor_signed", self.competitor_signed),
            ("cside", self.cside),
        ]
    }

    /// Each weight finite and within −1..=1, and at least one positive (else every merchant
    /// would score 0 or less and the ranking would only reward what we do not want).
    pub fn validate(&self) -> Result<(), FieldError> {
        let all = self.by_code();
        for (code, w) in all {
            if !w.is_finite() {
                return Err(FieldError::new(code, "is not a finite number"));
            }
            if !(-1.0..=1.0).contains(&w) {
                return Err(FieldError::new(
                    code,
                    format!("{w} is outside the allowed range -1..=1"),
                ));
            }
        }
        if !all.iter().any(|&(_, w)| w > 0.0) {
            return Err(FieldError::new(
                "weights",
                "at least one weight must be positive",
            ));
        }
        Ok(())
    }
}

/// The Huff model's constants and the bank's interest for one merchant category.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryParams {
    /// Exponent of attractiveness (the rating), ≥ 0.
    pub alpha: f64,
    /// Exponent of distance decay, ≥ 0; larger for everyday goods.
    pub beta: f64,
    /// Straight-line radius of the category's market around a community, > 0.
    pub reach_m: f64,
    /// Visits per household per day to the category, ≥ 0.
    pub visit_rate: f64,
    /// 0..=1: how much a bank life app gains from signing the category.
    pub weight: f64,
}

impl CategoryParams {
    fn validate(&self, at: &str) -> Result<(), ParamsError> {
        let checks: [(&str, f64, f64, f64); 5] = [
            ("alpha", self.alpha, 0.0, 10.0),
            ("beta", self.beta, 0.0, 10.0),
            ("reach_m", self.reach_m, 1.0, 50_000.0),
            ("visit_rate", self.visit_rate, 0.0, 100.0),
            ("weight", self.weight, 0.0, 1.0),
        ];
        for (field, v, lo, hi) in checks {
            check(&format!("{at}.{field}"), v, lo, hi)?;
        }
        Ok(())
    }
}

/// Everything the scoring models need beyond the data.
#[derive(Debug, Clone)]
pub struct ScoringParams {
    pub weights: Weights,
    /// For a category code that has no entry in `categories`.
    pub default_category: CategoryParams,
    /// By category code (`data/categories.toml`).
    pub categories: HashMap<String, CategoryParams>,
    /// Days a rejecting merchant stays excluded, counted from its `status_since` date.
    pub cooldown_days: u32,
    /// Walking ≈ straight line × this, where no street network is known.
    pub detour_factor: f64,
    /// Distance factor `exp(−walking_m / distance_decay_m)`.
    pub distance_decay_m: f64,
    /// Daily footfall at which the footfall factor reaches 1.
    pub footfall_ref: f64,
    /// Average spend per person (CNY) at which the spend factor reaches 1.
    pub spend_ref_cny: f64,
    /// Unbanked households in reach at which the C-side factor reaches 1.
    pub cside_ref_households: f64,
    /// Huff distances are raised to at least this (d^−β is unbounded at 0).
    pub min_distance_m: f64,
}

/// Why scoring parameters could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("the scoring parameters are not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("scoring parameter {0}")]
    Invalid(#[from] FieldError),
}

/// The file's layout; `deny_unknown_fields` so that a misspelt key is an error, not a default.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsFile {
    cooldown_days: u32,
    detour_factor: f64,
    distance_decay_m: f64,
    footfall_ref: f64,
    spend_ref_cny: f64,
    cside_ref_households: f64,
    min_distance_m: f64,
    weights: Weights,
    default_category: CategoryParams,
    #[serde(default)]
    categories: HashMap<String, CategoryParams>,
}

/// The defaults shipped with ecomap, compiled in so that the binary works from any directory.
const BUILTIN: &str = include_str!("../../data/scoring.toml");

fn check(field: &str, v: f64, lo: f64, hi: f64) -> Result<(), FieldError> {
    if !v.is_finite() {
        return Err(FieldError::new(field, "is not a finite number"));
    }
    if v < lo || v > hi {
        return Err(FieldError::new(
            field,
            format!("{v} is outside the allowed range {lo}..={hi}"),
        ));
    }
    Ok(())
}

impl ScoringParams {
    /// The defaults of `data/scoring.toml`.
    pub fn builtin() -> Result<Self, ParamsError> {
        Self::from_toml(BUILTIN)
    }

    /// Parses and validates a parameter file in the layout of `data/scoring.toml`.
    pub fn from_toml(text: &str) -> Result<Self, ParamsError> {
        let f: ParamsFile = toml::from_str(text)?;
        f.weights
            .validate()
            .map_err(|e| FieldError::new(format!("weights.{}", e.field), e.reason))?;
        f.default_category.validate("default_category")?;
        for (code, c) in &f.categories {
            c.validate(&format!("categories.{code}"))?;
        }
        check("detour_factor", f.detour_factor, 1.0, 5.0)?;
        check("distance_decay_m", f.distance_decay_m, 1.0, 100_000.0)?;
        check("footfall_ref", f.footfall_ref, 1.0, 1e9)?;
        check("spend_ref_cny", f.spend_ref_cny, 0.01, 1e9)?;
        check("cside_ref_households", f.cside_ref_households, 1.0, 1e9)?;
        check("min_distance_m", f.min_distance_m, 0.01, 10_000.0)?;
        if f.cooldown_days > 3_650 {
            return Err(FieldError::new("cooldown_days", "more than ten years").into());
        }
        Ok(Self {
            weights: f.weights,
            default_category: f.default_category,
            categories: f.categories,
            cooldown_days: f.cooldown_days,
            detour_factor: f.detour_factor,
            distance_decay_m: f.distance_decay_m,
            footfall_ref: f.footfall_ref,
            spend_ref_cny: f.spend_ref_cny,
            cside_ref_households: f.cside_ref_households,
            min_distance_m: f.min_distance_m,
        })
    }

    /// The parameters of a category code, or the default ones if it has none.
    pub fn category(&self, code: &str) -> &CategoryParams {
        self.categories.get(code).unwrap_or(&self.default_category)
    }

    /// The largest reach of any category (the default's included): the radius one scan around
    /// a community needs to see every merchant that competes for it.
    pub(crate) fn max_reach_m(&self) -> f64 {
        self.categories
            .values()
            .map(|c| c.reach_m)
            .fold(self.default_category.reach_m, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Categories;

    #[test]
    fn builtin_loads_and_covers_every_catalogue_category() {
        let p = ScoringParams::builtin().unwrap();
        let cats = Categories::builtin().unwrap();
        for c in cats.all() {
            assert!(
                p.categories.contains_key(&c.code),
                "{} has no params",
                c.code
            );
        }
        assert_eq!(p.categories.len(), cats.all().len());
        assert_eq!(p.cooldown_days, 90);
        assert_eq!(p.detour_factor, 1.3);
        assert_eq!(p.weights.competitor_signed, -0.10);
        // Everyday goods decay faster and reach less far than destinations.
        let sm = p.category("supermarket");
        let hotel = p.category("hotel");
        assert!(sm.beta > hotel.beta && sm.reach_m < hotel.reach_m);
        assert_eq!(
            p.category("no_such_code").reach_m,
            p.default_category.reach_m
        );
        assert_eq!(p.max_reach_m(), 2500.0);
    }

    #[test]
    fn weights_are_checked_with_the_field_named() {
        let ok = ScoringParams::builtin().unwrap().weights;
        assert!(ok.validate().is_ok());
        let mut w = ok.clone();
        w.footfall = 1.5;
        assert_eq!(w.validate().unwrap_err().field, "footfall");
        let mut w = ok.clone();
        w.cside = f64::NAN;
        assert_eq!(w.validate().unwrap_err().field, "cside");
        let w = Weights {
            category: 0.0,
            footfall: 0.0,
            avg_spend: -0.2,
            distance: 0.0,
            agglomeration: 0.0,
            ecny: 0.0,
            competitor_signed: -1.0,
            cside: 0.0,
        };
        assert_eq!(w.validate().unwrap_err().field, "weights");
        let json = r#"{"category":0.1,"footfall":0.1,"avg_spend":0.1,"distance":0.1,
            "agglomeration":0.1,"ecny":0.1,"competitor_signed":0.1,"cside":0.1,"bogus":1}"#;
        assert!(serde_json::from_str::<Weights>(json).is_err());
    }

    #[test]
    fn bad_files_are_rejected() {
        let good = BUILTIN;
        assert!(ScoringParams::from_toml(good).is_ok());
        let bad = good.replace("detour_factor = 1.3", "detour_factor = 0.5");
        match ScoringParams::from_toml(&bad) {
            Err(ParamsError::Invalid(e)) => assert_eq!(e.field, "detour_factor"),
            other => panic!("{other:?}"),
        }
        let bad = good.replace("footfall = 0.25", "footfall = 2.0");
        match ScoringParams::from_toml(&bad) {
            Err(ParamsError::Invalid(e)) => assert_eq!(e.field, "weights.footfall"),
            other => panic!("{other:?}"),
        }
        let bad = good.replace("beta = 2.5          # convenience", "beta = -1.0 #");
        match ScoringParams::from_toml(&bad) {
            Err(ParamsError::Invalid(e)) => assert_eq!(e.field, "categories.supermarket.beta"),
            other => panic!("{other:?}"),
        }
        let typo = good.replace("cooldown_days = 90", "cooldown_days = 90\ncooldown = 3");
        assert!(matches!(
            ScoringParams::from_toml(&typo),
            Err(ParamsError::Toml(_))
        ));
    }
}
