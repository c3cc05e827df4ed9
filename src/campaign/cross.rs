//! Cross-marketing (交叉营销, 异业联盟): complementary merchants a short walk apart, suggested as
//! joint offers (a restaurant and a cinema, a supermarket and a fresh-food shop, a kids' school
//! and a toy shop). The complementary pairs, their reasons and offer templates live in
//! `data/cross_marketing.toml` ([`CrossTable`]), compiled in.
//!
//! # Which pairs
//!
//! Among the merchants the caller passes (signed and target merchants, already scoped), two
//! merchants `x`, `y` make a suggestion for a table pair `p` when `x` matches side `a` of `p`
//! (its category, and one of the side's keywords in its name or chain if the side has any), `y`
//! matches side `b`, and their straight-line distance is at most `max_walking_m / detour` (the
//! walk it stands for is `distance × detour`, as everywhere in [`crate::coverage`]). Two merchants
//! that match several pairs make one suggestion, the best-scoring pair's (ties: table order).
//!
//! # Ranking
//!
//! 1. *Launchable* first: at least one side is signed (as the caller's `is_signed` says; signed
//!    or active by default). A signed partner can put the offer in the app and pitch it to the
//!    other; two prospects need two enrolments first.
//! 2. Then by `score = strength × √(q_a · q_b) × exp(−walking_m / distance_decay_m)`: the pair's
//!    strength, the geometric mean of the two merchants' quality (0..=1; [`quality`] by default,
//!    from footfall and rating) and a distance decay.
//! 3. Ties: the pair's place in the table, then the merchants' ids: the order is deterministic.
//!
//! Walking down that order, a suggestion is kept while both of its merchants are in fewer than
//! `per_merchant` kept suggestions (3 by default), until `limit` are kept.

use crate::index::MerchantRef;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::coverage::{is_signed, straight_m};
use crate::domain::{Categories, CategoryError};
use crate::index::SpatialIndex;

const BUILTIN: &str = include_str!("../../data/cross_marketing.toml");

/// One complementary pair of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairRule {
    pub code: String,
    pub a: String,
    pub b: String,
    /// Side `a` only for names (or chains) containing one of these; empty: the whole category.
    #[serde(default)]
    pub a_keywords: Vec<String>,
    #[serde(default)]
    pub b_keywords: Vec<String>,
    /// In `(0, 1]`.
    pub strength: f64,
    pub reason_zh: String,
    pub reason_en: String,
    /// `{a}` and `{b}` stand for the merchants' names.
    pub offer_zh: String,
    pub offer_en: String,
}

/// The cross-marketing table with its defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossTable {
    pub max_walking_m: f64,
    pub distance_decay_m: f64,
    pub per_merchant: usize,
    #[serde(rename = "pair")]
    pub pairs: Vec<PairRule>,
}

#[derive(Debug, thiserror::Error)]
pub enum CrossError {
    #[error("the cross-marketing table is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("cross-marketing table: {0}")]
    Invalid(String),
    #[error(transparent)]
    Categories(#[from] CategoryError),
}

fn invalid(msg: impl Into<String>) -> CrossError {
    CrossError::Invalid(msg.into())
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl CrossTable {
    /// The table shipped in `data/cross_marketing.toml`, checked against the built-in category
    /// catalogue.
    pub fn builtin() -> Result<Self, CrossError> {
        let t = Self::from_toml(BUILTIN)?;
        t.check_categories(&Categories::builtin()?)?;
        Ok(t)
    }

    /// Parses and checks a table: distances in range, `per_merchant ≥ 1`, at least one pair,
    /// unique lower_snake codes, two different categories per pair, strength in `(0, 1]`,
    /// non-empty texts and keywords, and no placeholder but `{a}` and `{b}` in the offers.
    pub fn from_toml(text: &str) -> Result<Self, CrossError> {
        let t: CrossTable = toml::from_str(text)?;
        if !(t.max_walking_m.is_finite() && (1.0..=5_000.0).contains(&t.max_walking_m)) {
            return Err(invalid("max_walking_m must be within 1..=5000"));
        }
        if !(t.distance_decay_m.is_finite() && (1.0..=50_000.0).contains(&t.distance_decay_m)) {
            return Err(invalid("distance_decay_m must be within 1..=50000"));
        }
        if t.per_merchant == 0 {
            return Err(invalid("per_merchant must be at least 1"));
        }
        if t.pairs.is_empty() {
            return Err(invalid("no pairs"));
        }
        let mut codes = HashSet::new();
        for p in &t.pairs {
            let at = |what: &str| format!("pair {:?}: {what}", p.code);
            if !is_code(&p.code) {
                return Err(invalid(at(
                    "the code must be lower-case ASCII, digits and '_'",
                )));
            }
            if !codes.insert(p.code.as_str()) {
                return Err(invalid(at("the code is used twice")));
            }
            if !is_code(&p.a) || !is_code(&p.b) {
                return Err(invalid(at("a and b must be category codes")));
            }
            if p.a == p.b {
                return Err(invalid(at("a and b must be different categories")));
            }
            if !(p.strength.is_finite() && p.strength > 0.0 && p.strength <= 1.0) {
                return Err(invalid(at("strength must be in (0, 1]")));
            }
            for (name, v) in [
                ("reason_zh", &p.reason_zh),
                ("reason_en", &p.reason_en),
                ("offer_zh", &p.offer_zh),
                ("offer_en", &p.offer_en),
            ] {
                if v.trim().is_empty() {
                    return Err(invalid(at(&format!("{name} is empty"))));
                }
            }
            for offer in [&p.offer_zh, &p.offer_en] {
                let stripped = offer.replace("{a}", "").replace("{b}", "");
                if stripped.contains('{') || stripped.contains('}') {
                    return Err(invalid(at(
                        "offers may use only the {a} and {b} placeholders",
                    )));
                }
            }
            if p.a_keywords
                .iter()
                .chain(&p.b_keywords)
                .any(|k| k.trim().is_empty())
            {
                return Err(invalid(at("a keyword is empty")));
            }
        }
        Ok(t)
    }

    /// Every category code of the table is in the catalogue.
    pub fn check_categories(&self, categories: &Categories) -> Result<(), CrossError> {
        for p in &self.pairs {
            for c in [&p.a, &p.b] {
                if categories.get(c).is_none() {
                    return Err(invalid(format!(
                        "pair {:?}: {c:?} is not a category code",
                        p.code
                    )));
                }
            }
        }
        Ok(())
    }
}

fn name_has(m: MerchantRef<'_>, keywords: &[String]) -> bool {
    if keywords.is_empty() {
        return true;
    }
    let name = m.name().to_ascii_lowercase();
    let chain = m.chain().unwrap_or("").to_ascii_lowercase();
    keywords.iter().any(|k| {
        let k = k.to_ascii_lowercase();
        name.contains(&k) || chain.contains(&k)
    })
}

impl PairRule {
    /// The merchant can be side `a` of this pair.
    pub fn matches_a(&self, m: MerchantRef<'_>) -> bool {
        m.category() == self.a && name_has(m, &self.a_keywords)
    }

    /// The merchant can be side `b` of this pair.
    pub fn matches_b(&self, m: MerchantRef<'_>) -> bool {
        m.category() == self.b && name_has(m, &self.b_keywords)
    }
}

/// A merchant's quality for a joint offer, 0.5..=1: `0.5 + 0.25 · f + 0.25 · r`, with
/// `f = min(ln(1 + footfall) / ln(1001), 1)` (1,000 visitors a day is a busy shop, as in
/// `data/scoring.toml`; 0.5 when unknown, about 30 a day) and `r = (rating − 2.5) / 2.5`
/// clamped to 0..=1 (3.5, the scoring's default, when unrated). `footfall` overrides the
/// merchant's observed figure (e.g. the Huff estimate of [`crate::scoring::MerchantStats`]).
/// The floor of 0.5 keeps a little-known shop in the list: its neighbour and the pair matter
/// more than its own figures.
pub fn quality(m: MerchantRef<'_>, footfall: Option<f64>) -> f64 {
    let f = footfall
        .or(m.footfall_daily().map(f64::from))
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map_or(0.5, |f| ((1.0 + f).ln() / 1001f64.ln()).min(1.0));
    let r = m
        .rating()
        .filter(|r| r.is_finite())
        .unwrap_or(crate::scoring::footfall::DEFAULT_RATING);
    let r = ((r - 2.5) / 2.5).clamp(0.0, 1.0);
    0.5 + 0.25 * f + 0.25 * r
}

/// `strength × √(q_a · q_b) × exp(−walking_m / decay_m)`; qualities clamped to 0..=1 (NaN: 0).
pub fn score(strength: f64, q_a: f64, q_b: f64, walking_m: f64, decay_m: f64) -> f64 {
    let q = |v: f64| if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
    strength * (q(q_a) * q(q_b)).sqrt() * (-walking_m / decay_m.max(1e-9)).exp()
}

/// A suggested joint offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// 1-based.
    pub rank: u32,
    pub a_slot: u32,
    pub a_id: String,
    pub a_name: String,
    pub a_category: String,
    pub a_status: &'static str,
    pub a_signed: bool,
    pub b_slot: u32,
    pub b_id: String,
    pub b_name: String,
    pub b_category: String,
    pub b_status: &'static str,
    pub b_signed: bool,
    pub pair_code: String,
    pub strength: f64,
    /// Straight line (haversine).
    pub distance_m: f64,
    /// `distance_m × detour`.
    pub walking_m: f64,
    pub score: f64,
    pub both_signed: bool,
    /// At least one side signed: ranked ahead of the rest.
    pub launchable: bool,
    /// The table's offers with the merchants' names filled in.
    pub offer_zh: String,
    pub offer_en: String,
    pub reason_zh: String,
    pub reason_en: String,
}

/// Everything [`suggest_with`] can be told.
#[derive(Clone, Copy)]
pub struct CrossOptions<'a> {
    pub max_walking_m: f64,
    pub detour: f64,
    pub distance_decay_m: f64,
    pub limit: usize,
    pub per_merchant: usize,
    /// Quality 0..=1 of a merchant slot.
    pub quality: &'a dyn Fn(u32) -> f64,
    pub is_signed: &'a dyn Fn(MerchantRef<'_>) -> bool,
}

impl<'a> CrossOptions<'a> {
    /// The table's distances and cap, `limit` suggestions, [`quality`] from the merchants' own
    /// figures (needs the index to read them) and [`crate::coverage::is_signed`].
    pub fn new(
        table: &CrossTable,
        detour: f64,
        limit: usize,
        quality: &'a dyn Fn(u32) -> f64,
    ) -> Self {
        Self {
            max_walking_m: table.max_walking_m,
            detour,
            distance_decay_m: table.distance_decay_m,
            limit,
            per_merchant: table.per_merchant,
            quality,
            is_signed: &is_signed,
        }
    }
}

/// The detour factor as [`straight_m`] uses it (below 1 or not finite: 1).
fn clean_detour(d: f64) -> f64 {
    if d.is_finite() && d >= 1.0 {
        d
    } else {
        1.0
    }
}

/// The suggestions among `merchants` with the table's decay and cap, [`quality`] from each
/// merchant's observed footfall and rating, and signed meaning signed or active.
pub fn suggest(
    index: &SpatialIndex,
    merchants: &[u32],
    table: &CrossTable,
    max_walking_m: f64,
    detour: f64,
    limit: usize,
) -> Vec<Suggestion> {
    let q = |s: u32| {
        index
            .merchants
            .table()
            .try_get(s)
            .map_or(0.0, |m| quality(m, None))
    };
    let opts = CrossOptions {
        max_walking_m,
        ..CrossOptions::new(table, detour, limit, &q)
    };
    suggest_with(index, merchants, table, &opts)
}

/// One merchant pair matched by one table pair.
#[derive(Debug, Clone, Copy)]
struct Found {
    a: u32,
    b: u32,
    pair: usize,
    distance_m: f64,
    score: f64,
    launchable: bool,
}

/// The ranking of the module docs: launchable first, higher score, table order, ids.
fn ranked(index: &SpatialIndex, x: &Found, y: &Found) -> std::cmp::Ordering {
    let id = |s: u32| index.merchants.item(s).id();
    y.launchable
        .cmp(&x.launchable)
        .then_with(|| y.score.total_cmp(&x.score))
        .then_with(|| x.pair.cmp(&y.pair))
        .then_with(|| id(x.a).cmp(id(y.a)))
        .then_with(|| id(x.b).cmp(id(y.b)))
}

/// The ranked suggestions among `merchants` (merchant slots; repeats and slots out of range are
/// ignored): see the module docs for the rules.
pub fn suggest_with(
    index: &SpatialIndex,
    merchants: &[u32],
    table: &CrossTable,
    opts: &CrossOptions<'_>,
) -> Vec<Suggestion> {
    let layer = &index.merchants;
    let detour = clean_detour(opts.detour);
    let radius = straight_m(opts.max_walking_m, detour);
    if !(radius.is_finite() && radius >= 0.0) || opts.limit == 0 || opts.per_merchant == 0 {
        return Vec::new();
    }
    let mut slots: Vec<u32> = merchants
        .iter()
        .copied()
        .filter(|&s| (s as usize) < layer.len())
        .collect();
    slots.sort_unstable();
    slots.dedup();
    // Which pairs each allowed merchant can be side a / side b of.
    let mut sides: HashMap<u32, (Vec<usize>, Vec<usize>)> = HashMap::with_capacity(slots.len());
    for &s in &slots {
        let m = layer.item(s);
        let a: Vec<usize> = (0..table.pairs.len())
            .filter(|&p| table.pairs[p].matches_a(m))
            .collect();
        let b: Vec<usize> = (0..table.pairs.len())
            .filter(|&p| table.pairs[p].matches_b(m))
            .collect();
        sides.insert(s, (a, b));
    }
    let signed: HashMap<u32, bool> = slots
        .iter()
        .map(|&s| (s, (opts.is_signed)(layer.item(s))))
        .collect();
    let qual: HashMap<u32, f64> = slots.iter().map(|&s| (s, (opts.quality)(s))).collect();

    // Best match per unordered merchant pair.
    let mut best: HashMap<(u32, u32), Found> = HashMap::new();
    for &x in &slots {
        let Some((x_a, _)) = sides.get(&x) else {
            continue;
        };
        if x_a.is_empty() {
            continue;
        }
        let at = layer.item(x).location();
        let mut hits: Vec<u32> = Vec::new();
        layer.for_each_within_radius(at, radius, |y, _| {
            if y != x {
                hits.push(y);
            }
        });
        for y in hits {
            let Some((_, y_b)) = sides.get(&y) else {
                continue; // not one of the caller's merchants
            };
            for &p in x_a {
                if !y_b.contains(&p) {
                    continue;
                }
                let distance_m = at.distance_m(&layer.item(y).location());
                let rule = &table.pairs[p];
                let f = Found {
                    a: x,
                    b: y,
                    pair: p,
                    distance_m,
                    score: score(
                        rule.strength,
                        qual.get(&x).copied().unwrap_or(0.0),
                        qual.get(&y).copied().unwrap_or(0.0),
                        distance_m * detour,
                        opts.distance_decay_m,
                    ),
                    launchable: signed.get(&x).copied().unwrap_or(false)
                        || signed.get(&y).copied().unwrap_or(false),
                };
                let key = (x.min(y), x.max(y));
                match best.get(&key) {
                    Some(old) if ranked(index, old, &f).is_le() => {}
                    _ => {
                        best.insert(key, f);
                    }
                }
            }
        }
    }
    let mut found: Vec<Found> = best.into_values().collect();
    found.sort_unstable_by(|x, y| ranked(index, x, y));

    let mut used: HashMap<u32, usize> = HashMap::new();
    let mut out: Vec<Suggestion> = Vec::new();
    for f in found {
        if out.len() >= opts.limit {
            break;
        }
        let (na, nb) = (
            used.get(&f.a).copied().unwrap_or(0),
            used.get(&f.b).copied().unwrap_or(0),
        );
        if na >= opts.per_merchant || nb >= opts.per_merchant {
            continue;
        }
        used.insert(f.a, na + 1);
        used.insert(f.b, nb + 1);
        let (ma, mb) = (layer.item(f.a), layer.item(f.b));
        let rule = &table.pairs[f.pair];
        let fill = |t: &str| t.replace("{a}", ma.name()).replace("{b}", mb.name());
        let (a_signed, b_signed) = (
            signed.get(&f.a).copied().unwrap_or(false),
            signed.get(&f.b).copied().unwrap_or(false),
        );
        out.push(Suggestion {
            rank: out.len() as u32 + 1,
            a_slot: f.a,
            a_id: ma.id().to_string(),
            a_name: ma.name().to_string(),
            a_category: ma.category().to_string(),
            a_status: ma.status().code(),
            a_signed,
            b_slot: f.b,
            b_id: mb.id().to_string(),
            b_name: mb.name().to_string(),
            b_category: mb.category().to_string(),
            b_status: mb.status().code(),
            b_signed,
            pair_code: rule.code.clone(),
            strength: rule.strength,
            distance_m: f.distance_m,
            walking_m: f.distance_m * detour,
            score: f.score,
            both_signed: a_signed && b_signed,
            launchable: f.launchable,
            offer_zh: fill(&rule.offer_zh),
            offer_en: fill(&rule.offer_en),
            reason_zh: rule.reason_zh.clone(),
            reason_en: rule.reason_en.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests;
