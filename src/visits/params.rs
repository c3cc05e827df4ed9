//! Visit-planning parameters: walking speed, minutes per visit by category, the restaurants'
//! rush windows, the week's workdays and how candidates are picked. The defaults live in
//! `data/visits.toml`, compiled in, with the reason for every value written next to it.

use std::collections::HashMap;

use serde::Deserialize;

use crate::domain::FieldError;

use super::hours::{Interval, Rush};

#[derive(Debug, Clone, PartialEq)]
pub struct VisitParams {
    /// Staff walking speed, km/h.
    pub walking_kmh: f64,
    /// Minutes at a merchant whose category has no entry in `visit_minutes`.
    pub default_visit_minutes: u32,
    /// Minutes per visit by category code.
    pub visit_minutes: HashMap<String, u32>,
    /// Days in a weekly plan (Monday first).
    pub workdays: u32,
    /// The planning window when the caller gives none.
    pub default_window: Interval,
    /// Candidates: the best `max_candidates` by priority within this straight-line radius.
    pub candidate_radius_m: f64,
    pub max_candidates: usize,
    pub rush: Rush,
}

#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("the visit parameters are not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("visit parameter {0}")]
    Invalid(#[from] FieldError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RushFile {
    categories: Vec<String>,
    windows: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsFile {
    walking_kmh: f64,
    default_visit_minutes: u32,
    workdays: u32,
    default_window: String,
    candidate_radius_m: f64,
    max_candidates: usize,
    #[serde(default)]
    visit_minutes: HashMap<String, u32>,
    rush: RushFile,
}

const BUILTIN: &str = include_str!("../../data/visits.toml");

/// Longest visit accepted anywhere (a whole working day).
pub const MAX_VISIT_MINUTES: u32 = 480;

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

fn check_minutes(field: &str, v: u32) -> Result<(), FieldError> {
    if v == 0 || v > MAX_VISIT_MINUTES {
        return Err(FieldError::new(
            field,
            format!("{v} is outside the allowed range 1..={MAX_VISIT_MINUTES}"),
        ));
    }
    Ok(())
}

/// A window `HH:MM-HH:MM` within one day, named by `field` when it is not.
pub fn parse_window(field: &str, text: &str) -> Result<Interval, FieldError> {
    Interval::parse_day(text).ok_or_else(|| {
        FieldError::new(
            field,
            format!("{text:?} is not a time range HH:MM-HH:MM within one day"),
        )
    })
}

impl VisitParams {
    /// The defaults of `data/visits.toml`.
    pub fn builtin() -> Result<Self, ParamsError> {
        Self::from_toml(BUILTIN)
    }

    /// Parses and validates a parameter file in the layout of `data/visits.toml`.
    pub fn from_toml(text: &str) -> Result<Self, ParamsError> {
        let f: ParamsFile = toml::from_str(text)?;
        check("walking_kmh", f.walking_kmh, 0.5, 30.0)?;
        check_minutes("default_visit_minutes", f.default_visit_minutes)?;
        for (code, &m) in &f.visit_minutes {
            check_minutes(&format!("visit_minutes.{code}"), m)?;
        }
        if !(1..=7).contains(&f.workdays) {
            return Err(FieldError::new("workdays", "must be 1..=7").into());
        }
        let default_window = parse_window("default_window", &f.default_window)?;
        check("candidate_radius_m", f.candidate_radius_m, 1.0, 50_000.0)?;
        if !(1..=5_000).contains(&f.max_candidates) {
            return Err(FieldError::new("max_candidates", "must be 1..=5000").into());
        }
        let mut windows = Vec::with_capacity(f.rush.windows.len());
        for (i, w) in f.rush.windows.iter().enumerate() {
            windows.push(parse_window(&format!("rush.windows[{i}]"), w)?);
        }
        windows.sort_unstable();
        if let Some(i) = (1..windows.len()).find(|&i| windows[i].start < windows[i - 1].end) {
            return Err(
                FieldError::new(format!("rush.windows[{i}]"), "rush windows overlap").into(),
            );
        }
        for (i, c) in f.rush.categories.iter().enumerate() {
            if c.trim().is_empty() {
                return Err(FieldError::new(format!("rush.categories[{i}]"), "is empty").into());
            }
        }
        Ok(Self {
            walking_kmh: f.walking_kmh,
            default_visit_minutes: f.default_visit_minutes,
            visit_minutes: f.visit_minutes,
            workdays: f.workdays,
            default_window,
            candidate_radius_m: f.candidate_radius_m,
            max_candidates: f.max_candidates,
            rush: Rush {
                categories: f.rush.categories,
                windows,
            },
        })
    }

    /// Minutes a visit to a merchant of `category` takes.
    pub fn visit_minutes(&self, category: &str) -> u32 {
        self.visit_minutes
            .get(category)
            .copied()
            .unwrap_or(self.default_visit_minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Categories;

    #[test]
    fn builtin_loads_with_known_categories() {
        let p = VisitParams::builtin().unwrap();
        assert_eq!(p.walking_kmh, 4.5);
        assert_eq!(p.default_visit_minutes, 20);
        assert_eq!(p.visit_minutes("dining"), 15);
        assert_eq!(p.visit_minutes("beauty"), 20);
        assert_eq!(p.workdays, 5);
        assert_eq!(p.default_window.to_string(), "14:00-17:30");
        assert_eq!(p.rush.categories, ["dining"]);
        let w: Vec<String> = p.rush.windows.iter().map(|w| w.to_string()).collect();
        assert_eq!(w, ["11:30-13:30", "17:30-19:30"]);
        let cats = Categories::builtin().unwrap();
        let known: Vec<&str> = cats.all().iter().map(|c| c.code.as_str()).collect();
        for code in p.visit_minutes.keys().chain(p.rush.categories.iter()) {
            assert!(known.contains(&code.as_str()), "{code} is not a category");
        }
    }

    #[test]
    fn bad_files_name_the_field() {
        let field = |text: &str| match VisitParams::from_toml(text) {
            Err(ParamsError::Invalid(e)) => e.field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(&BUILTIN.replace("walking_kmh = 4.5", "walking_kmh = 0.0")),
            "walking_kmh"
        );
        assert_eq!(
            field(&BUILTIN.replace("hotel = 30", "hotel = 0")),
            "visit_minutes.hotel"
        );
        assert_eq!(
            field(&BUILTIN.replace("\"17:30-19:30\"", "\"17:30-29:30\"")),
            "rush.windows[1]"
        );
        assert_eq!(
            field(&BUILTIN.replace("\"17:30-19:30\"", "\"12:30-19:30\"")),
            "rush.windows[1]"
        );
        assert_eq!(
            field(&BUILTIN.replace("workdays = 5", "workdays = 8")),
            "workdays"
        );
        assert!(matches!(
            VisitParams::from_toml(&BUILTIN.replace("workdays = 5", "workdays = 5\nweekdays = 5")),
            Err(ParamsError::Toml(_))
        ));
    }
}
