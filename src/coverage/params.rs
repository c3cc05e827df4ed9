//! Coverage parameters: the life circles, the essential categories a covered community needs,
//! the white-space thresholds and the default grid resolution. The defaults live in
//! `data/coverage.toml`, compiled in, with the reason for every value written next to it.

use serde::{Deserialize, Serialize};

use crate::domain::FieldError;

/// One life circle (生活圈): a walk of `minutes`, planned as `walking_m` metres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Circle {
    pub minutes: u32,
    /// Walking metres; searched as the straight-line radius `walking_m / detour_factor`.
    pub walking_m: f64,
}

impl Circle {
    /// The straight-line radius searched for this circle.
    pub fn radius_m(&self, detour: f64) -> f64 {
        straight_m(self.walking_m, detour)
    }
}

/// The straight-line radius that stands for a walking distance: `walking_m / detour`, with a
/// detour factor below 1 (or NaN) treated as 1 so that a bad factor never widens a circle.
pub fn straight_m(walking_m: f64, detour: f64) -> f64 {
    let d = if detour.is_finite() && detour >= 1.0 {
        detour
    } else {
        1.0
    };
    walking_m / d
}

#[derive(Debug, Clone, PartialEq)]
pub struct CoverageParams {
    /// Ascending by `walking_m`, at least one; cumulative.
    pub circles: Vec<Circle>,
    /// `(category code, k)`: a covered community has at least `k` signed merchants of each.
    pub essential: Vec<(String, u32)>,
    /// Walking metres of the circle a community's own coverage is judged in (10 minutes).
    pub community_circle_m: f64,
    pub whitespace_min_households: f64,
    pub whitespace_min_footfall: f64,
    pub default_h3_resolution: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("the coverage parameters are not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("coverage parameter {0}")]
    Invalid(#[from] FieldError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Essential {
    category: String,
    k: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsFile {
    default_h3_resolution: u8,
    community_circle_m: f64,
    whitespace_min_households: f64,
    whitespace_min_footfall: f64,
    circles: Vec<Circle>,
    essential: Vec<Essential>,
}

const BUILTIN: &str = include_str!("../../data/coverage.toml");

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

impl CoverageParams {
    pub fn builtin() -> Result<Self, ParamsError> {
        Self::from_toml(BUILTIN)
    }

    pub fn from_toml(text: &str) -> Result<Self, ParamsError> {
        let f: ParamsFile = toml::from_str(text)?;
        if f.circles.is_empty() {
            return Err(FieldError::new("circles", "at least one circle is needed").into());
        }
        for (i, c) in f.circles.iter().enumerate() {
            check(
                &format!("circles[{i}].walking_m"),
                c.walking_m,
                1.0,
                50_000.0,
            )?;
            if i > 0 && c.walking_m <= f.circles[i - 1].walking_m {
                return Err(FieldError::new(
                    format!("circles[{i}].walking_m"),
                    "circles must be in ascending order of walking_m",
                )
                .into());
            }
        }
        check("community_circle_m", f.community_circle_m, 1.0, 50_000.0)?;
        check(
            "whitespace_min_households",
            f.whitespace_min_households,
            0.0,
            1e9,
        )?;
        check(
            "whitespace_min_footfall",
            f.whitespace_min_footfall,
            0.0,
            1e12,
        )?;
        if !(8..=10).contains(&f.default_h3_resolution) {
            return Err(FieldError::new(
                "default_h3_resolution",
                format!("{} is outside 8..=10", f.default_h3_resolution),
            )
            .into());
        }
        let mut essential: Vec<(String, u32)> = Vec::with_capacity(f.essential.len());
        for (i, e) in f.essential.into_iter().enumerate() {
            if e.k == 0 || e.k > 1_000 {
                return Err(
                    FieldError::new(format!("essential[{i}].k"), "must be 1..=1000").into(),
                );
            }
            if e.category.trim().is_empty() {
                return Err(FieldError::new(format!("essential[{i}].category"), "is empty").into());
            }
            if essential.iter().any(|(c, _)| *c == e.category) {
                return Err(FieldError::new(
                    format!("essential[{i}].category"),
                    format!("{} is listed twice", e.category),
                )
                .into());
            }
            essential.push((e.category, e.k));
        }
        Ok(Self {
            circles: f.circles,
            essential,
            community_circle_m: f.community_circle_m,
            whitespace_min_households: f.whitespace_min_households,
            whitespace_min_footfall: f.whitespace_min_footfall,
            default_h3_resolution: f.default_h3_resolution,
        })
    }

    /// The largest circle (15 minutes by default).
    pub fn outer_circle(&self) -> Circle {
        // `from_toml` refuses an empty list; a hand-built empty one falls back to the community
        // circle rather than panicking.
        self.circles.last().cloned().unwrap_or(Circle {
            minutes: 10,
            walking_m: self.community_circle_m,
        })
    }

    /// The default grid resolution as an h3o value (9 if the field was set out of range by hand).
    pub fn default_resolution(&self) -> h3o::Resolution {
        h3o::Resolution::try_from(self.default_h3_resolution).unwrap_or(h3o::Resolution::Nine)
    }
}
