//! Which OpenStreetMap ways are walkable ([`WalkRules`]) and the network's parameters
//! ([`NetworkParams`]), both read from `data/network.toml` (compiled in), where every value is
//! written next to its reason.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::FieldError;

use super::NetworkError;

const BUILTIN: &str = include_str!("../../data/network.toml");

/// The rules that decide which ways are walkable: by `highway=*`, then `foot=*` and `access=*`.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkRules {
    /// `highway` value → the reason it is walkable.
    pub walkable: BTreeMap<String, String>,
    /// `highway` value → the reason it is not.
    pub excluded: BTreeMap<String, String>,
    /// `foot` values that forbid walking on any way.
    pub foot_forbidden: Vec<String>,
    /// `access` values that close a way, unless `foot` is one of `foot_allowed`.
    pub access_forbidden: Vec<String>,
    pub foot_allowed: Vec<String>,
}

/// Which way a pedestrian may walk a way: both (the rule: `oneway` is for vehicles), or only
/// along (`oneway:foot=yes`) or against (`oneway:foot=-1`) the order of its nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FootDirection {
    Both,
    Forward,
    Backward,
}

/// What the rules say about one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No `highway` tag: not a street at all (buildings, land use, rivers…).
    NotHighway,
    Walkable(FootDirection),
    /// Skipped, with the reason as the build report counts it.
    Skipped(String),
}

impl WalkRules {
    /// The rules of `data/network.toml`.
    pub fn builtin() -> Result<Self, NetworkError> {
        Ok(parse(BUILTIN)?.0)
    }

    pub fn from_toml(text: &str) -> Result<Self, NetworkError> {
        Ok(parse(text)?.0)
    }

    /// The verdict on a way with these tags (`key`, `value` pairs; the first of a repeated key
    /// counts).
    pub fn classify<'a, I>(&self, tags: I) -> Verdict
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut highway = None;
        let mut foot = None;
        let mut access = None;
        let mut oneway_foot = None;
        for (k, v) in tags {
            let slot = match k {
                "highway" => &mut highway,
                "foot" => &mut foot,
                "access" => &mut access,
                "oneway:foot" => &mut oneway_foot,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(v);
            }
        }
        let Some(highway) = highway else {
            return Verdict::NotHighway;
        };
        if self.excluded.contains_key(highway) {
            return Verdict::Skipped(format!("excluded highway={highway}"));
        }
        if !self.walkable.contains_key(highway) {
            return Verdict::Skipped(format!("unlisted highway={highway}"));
        }
        if let Some(f) = foot {
            if self.foot_forbidden.iter().any(|x| x == f) {
                return Verdict::Skipped(format!("foot={f}"));
            }
        }
        if let Some(a) = access {
            let reopened = foot.is_some_and(|f| self.foot_allowed.iter().any(|x| x == f));
            if self.access_forbidden.iter().any(|x| x == a) && !reopened {
                return Verdict::Skipped(format!("access={a}"));
            }
        }
        Verdict::Walkable(match oneway_foot {
            Some("yes" | "1" | "true") => FootDirection::Forward,
            Some("-1" | "reverse") => FootDirection::Backward,
            _ => FootDirection::Both,
        })
    }
}

/// The network's parameters (see `data/network.toml` for the reasons).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NetworkParams {
    /// Farther than this from every street, a point is not on the network.
    pub max_snap_m: f64,
    /// Points snap only onto connected parts with at least this many metres of street.
    pub snap_min_component_m: f64,
    /// Isochrones: land within this distance of a reached street is reached.
    pub isochrone_buffer_m: f64,
    /// Isochrones: the cell of the distance grid they are drawn from.
    pub isochrone_cell_m: f64,
    /// Isochrones: holes smaller than this are filled.
    pub isochrone_fill_holes_m2: f64,
    /// The farthest one walking-distance search goes; farther is "no way".
    pub max_search_m: f64,
}

impl NetworkParams {
    /// The parameters of `data/network.toml`.
    pub fn builtin() -> Result<Self, NetworkError> {
        Ok(parse(BUILTIN)?.1)
    }

    pub fn from_toml(text: &str) -> Result<Self, NetworkError> {
        Ok(parse(text)?.1)
    }
}

impl Default for NetworkParams {
    /// The values of `data/network.toml`, written out for callers that cannot handle an error
    /// (the file is compiled in and tested, so `builtin()` gives the same).
    fn default() -> Self {
        Self {
            max_snap_m: 200.0,
            snap_min_component_m: 1000.0,
            isochrone_buffer_m: 30.0,
            isochrone_cell_m: 10.0,
            isochrone_fill_holes_m2: 20_000.0,
            max_search_m: 12_000.0,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    highway: Vec<String>,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    max_snap_m: f64,
    snap_min_component_m: f64,
    isochrone_buffer_m: f64,
    isochrone_cell_m: f64,
    isochrone_fill_holes_m2: f64,
    max_search_m: f64,
    walkable: Vec<Group>,
    excluded: Vec<Group>,
    foot_forbidden: Vec<String>,
    access_forbidden: Vec<String>,
    foot_allowed: Vec<String>,
}

fn check(field: &str, v: f64, lo: f64, hi: f64) -> Result<(), FieldError> {
    if !v.is_finite() || v < lo || v > hi {
        return Err(FieldError::new(
            field,
            format!("{v} is outside the allowed range {lo}..={hi}"),
        ));
    }
    Ok(())
}

fn groups(
    list: Vec<Group>,
    name: &str,
    into: &mut BTreeMap<String, String>,
    other: &BTreeMap<String, String>,
) -> Result<(), FieldError> {
    for (i, g) in list.into_iter().enumerate() {
        if g.reason.trim().is_empty() {
            return Err(FieldError::new(format!("{name}[{i}].reason"), "is empty"));
        }
        for h in g.highway {
            if h.trim().is_empty() || other.contains_key(&h) || into.contains_key(&h) {
                return Err(FieldError::new(
                    format!("{name}[{i}].highway"),
                    format!("{h:?} is empty or listed twice"),
                ));
            }
            into.insert(h, g.reason.clone());
        }
    }
    Ok(())
}

fn parse(text: &str) -> Result<(WalkRules, NetworkParams), NetworkError> {
    let f: RulesFile = toml::from_str(text).map_err(|e| NetworkError::Rules(e.to_string()))?;
    let invalid = |e: FieldError| NetworkError::Rules(e.to_string());
    check("max_snap_m", f.max_snap_m, 0.0, 5_000.0).map_err(invalid)?;
    check("snap_min_component_m", f.snap_min_component_m, 0.0, 1e7).map_err(invalid)?;
    check("isochrone_buffer_m", f.isochrone_buffer_m, 1.0, 500.0).map_err(invalid)?;
    check("isochrone_cell_m", f.isochrone_cell_m, 0.5, 100.0).map_err(invalid)?;
    check(
        "isochrone_fill_holes_m2",
        f.isochrone_fill_holes_m2,
        0.0,
        1e9,
    )
    .map_err(invalid)?;
    check("max_search_m", f.max_search_m, 100.0, 400_000.0).map_err(invalid)?;
    let mut walkable = BTreeMap::new();
    let mut excluded = BTreeMap::new();
    groups(f.walkable, "walkable", &mut walkable, &BTreeMap::new()).map_err(invalid)?;
    groups(f.excluded, "excluded", &mut excluded, &walkable).map_err(invalid)?;
    if walkable.is_empty() {
        return Err(invalid(FieldError::new("walkable", "lists no highway")));
    }
    Ok((
        WalkRules {
            walkable,
            excluded,
            foot_forbidden: f.foot_forbidden,
            access_forbidden: f.access_forbidden,
            foot_allowed: f.foot_allowed,
        },
        NetworkParams {
            max_snap_m: f.max_snap_m,
            snap_min_component_m: f.snap_min_component_m,
            isochrone_buffer_m: f.isochrone_buffer_m,
            isochrone_cell_m: f.isochrone_cell_m,
            isochrone_fill_holes_m2: f.isochrone_fill_holes_m2,
            max_search_m: f.max_search_m,
        },
    ))
}
