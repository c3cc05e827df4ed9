//! OpenStreetMap imports (`ecomap import osm FILE.osm.pbf`): merchants, residential communities
//! and bank outlets from one PBF extract. Pure like the rest of `ingest`: bytes in, validated
//! domain values and a report out; `App::import_osm` writes all three in one transaction.
//! The rules live in `data/osm.toml`; docs/OSM.md explains them with measured figures.
//!
//! Decisions, in short:
//! - **Reader**: the `osmpbf` crate, blocks decoded on all cores, in three passes (`pbf`):
//!   tagged objects, then the member ways multipolygons need, then only the node positions
//!   that kept ways use. Memory follows what is imported, not the size of the extract.
//! - **Ids**: `osm:n6254`, `osm:w167`, `osm:r112`, stable per OSM object, so that importing the
//!   same or a newer extract updates the same rows.
//! - **Merchants**: nodes, ways and multipolygon relations whose `amenity`, `shop`, `healthcare`,
//!   `tourism`, `leisure`, `craft` or `office` tag `data/categories.toml` maps (exact tags before
//!   `key=*` fallbacks, keys in the order of `data/osm.toml`). A way sits at the centroid of its
//!   polygon (of its line when open), a relation at the centroid of its assembled rings.
//!   Named by `name:zh` > `name:zh-Hans` > `name:zh-CN` > `name:zh-Hant` > `name` > `brand`;
//!   objects with none are skipped and counted by category: a merchant list is worked by staff
//!   who look places up by name, and "餐饮美食 #17" cannot be found on the street or in a
//!   phone's map app. `opening_hours`, `addr:*` and `brand` (the chain) are read.
//! - **Outlets**: `amenity=bank` (never merchants). Ours when brand, operator or name contains
//!   one of our bank's names (`data/osm.toml` plus `--our-bank`), else a competitor named by
//!   brand > operator > name.
//! - **Communities**: `landuse=residential` closed ways and multipolygons (the largest part of a
//!   multi-part area; the others are counted), and residential buildings. A building inside a
//!   residential area adds its households to that area; flats outside every area are a community
//!   of their own (from 10 households); houses outside every area are counted and left out (a
//!   house is not a 小区). Households are ESTIMATES, which the report says
//!   (`households.estimated`): flats = footprint (geodesic m²) × `building:levels` (else
//!   `height` ÷ 3 m, else 3) ÷ 90 m² per flat, a house = 1, an area without residential
//!   buildings = land area × floor-area ratio 1.0 ÷ 90 m² up to 20 ha, else unknown (0).
//!   `Community` has no "estimated" flag; docs/OSM.md says that OSM-imported households are all
//!   estimates. Population stays unknown.
//! - **Re-import** keeps what the bank knows (owner, pipeline status, figures, contact) and
//!   leaves rows owned outside the importer's scope alone, counted (`keep_what_the_bank_knows_*`).
//! - **Broken shapes** (nodes or member ways missing at the extract's edge, unclosed areas, rings
//!   that do not join, polygons geo calls invalid) skip that object, counted by role and reason
//!   with examples; never fatal. A file that is not a PBF, or is damaged, fails the import with
//!   nothing written.
//! - **Coordinates**: OSM is WGS-84, ecomap's own system: no conversion.

mod build;
mod classify;
mod geometry;
mod pbf;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::domain::{Categories, Community, Merchant, Outlet};
use crate::ingest::{ImportError, RowError};

/// The rules shipped in `data/osm.toml`, compiled in.
const BUILTIN: &str = include_str!("../../data/osm.toml");

/// How OSM tags become merchants, outlets and communities (`data/osm.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsmConfig {
    /// Tags tried in order for an object's name.
    pub name_tags: Vec<String>,
    pub merchants: MerchantRules,
    pub outlets: OutletRules,
    pub communities: HouseholdRules,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantRules {
    /// Keys looked up in the category catalogue, in order of precedence.
    pub keys: Vec<String>,
    /// `key=value` tags that are never merchants.
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutletRules {
    /// `key=value` tags of bank outlets.
    pub tags: Vec<String>,
    /// Our bank's names as OSM writes them in brand, operator or name.
    pub our_bank: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdRules {
    /// Gross floor area per household, m².
    pub flat_m2: f64,
    /// Floors assumed when a building says neither `building:levels` nor `height`.
    pub default_levels: f64,
    /// Storey height for `height` → floors, m.
    pub level_height_m: f64,
    /// Residential buildings with a smaller footprint are left out (sheds, mapping slips), m².
    pub min_footprint_m2: f64,
    /// `building=*` values whose households come from floor area.
    pub flats: Vec<String>,
    /// `building=*` values that are one household each.
    pub houses: Vec<String>,
    /// Floor area per land area of a residential area without residential buildings.
    pub area_floor_area_ratio: f64,
    /// Larger areas without buildings get no land-area estimate (households unknown: 0), m².
    pub land_estimate_max_m2: f64,
    /// Flats outside every area with fewer households are homes, not a community.
    pub min_standalone_households: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum OsmConfigError {
    #[error("cannot read the OSM rules: {0}")]
    Io(#[from] std::io::Error),
    #[error("the OSM rules are not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("OSM rules: {0}")]
    Invalid(String),
}

impl OsmConfig {
    pub fn builtin() -> Result<Self, OsmConfigError> {
        Self::from_toml(BUILTIN)
    }

    pub fn load(path: &std::path::Path) -> Result<Self, OsmConfigError> {
        Self::from_toml(&std::fs::read_to_string(path)?)
    }

    pub fn from_toml(text: &str) -> Result<Self, OsmConfigError> {
        let cfg: Self = toml::from_str(text)?;
        let bad = |why: String| Err(OsmConfigError::Invalid(why));
        if cfg.name_tags.is_empty() {
            return bad("name_tags is empty".into());
        }
        for t in cfg.merchants.exclude.iter().chain(&cfg.outlets.tags) {
            if !t.contains('=') || t.ends_with("=*") {
                return bad(format!("{t:?} must be key=value"));
            }
        }
        let c = &cfg.communities;
        for (name, v, min) in [
            ("flat_m2", c.flat_m2, 10.0),
            ("default_levels", c.default_levels, 1.0),
            ("level_height_m", c.level_height_m, 2.0),
            ("min_footprint_m2", c.min_footprint_m2, 0.0),
            ("area_floor_area_ratio", c.area_floor_area_ratio, 0.0),
            ("land_estimate_max_m2", c.land_estimate_max_m2, 0.0),
            (
                "min_standalone_households",
                c.min_standalone_households,
                1.0,
            ),
        ] {
            if !v.is_finite() || v < min || v > 1e9 {
                return bad(format!("communities.{name} = {v} is out of range"));
            }
        }
        Ok(cfg)
    }
}

/// Which kinds an import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OsmKinds {
    pub merchants: bool,
    pub communities: bool,
    pub outlets: bool,
}

impl Default for OsmKinds {
    fn default() -> Self {
        Self {
            merchants: true,
            communities: true,
            outlets: true,
        }
    }
}

impl std::str::FromStr for OsmKinds {
    type Err = super::UnknownOption;

    /// A comma-separated list: `merchants,communities` (Chinese names too).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut k = OsmKinds {
            merchants: false,
            communities: false,
            outlets: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "merchants" | "merchant" | "商户" => k.merchants = true,
                "communities" | "community" | "小区" => k.communities = true,
                "outlets" | "outlet" | "网点" => k.outlets = true,
                _ => {
                    return Err(super::UnknownOption {
                        what: "kind",
                        value: part.to_string(),
                        expected: "merchants, communities or outlets",
                    })
                }
            }
        }
        Ok(k)
    }
}

/// How to import one extract.
#[derive(Debug, Clone)]
pub struct OsmOptions {
    pub config: OsmConfig,
    /// More names of our bank, added to `config.outlets.our_bank` (`--our-bank`).
    pub our_banks: Vec<String>,
    /// The org node that owns new rows (`--owner`); else the importing user's node.
    pub owner: Option<String>,
    pub kinds: OsmKinds,
    /// More merchants + communities + outlets than this fail the import.
    pub max_objects: usize,
}

impl OsmOptions {
    /// The shipped rules, every kind, no owner.
    pub fn builtin() -> Result<Self, OsmConfigError> {
        Ok(Self {
            config: OsmConfig::builtin()?,
            our_banks: Vec::new(),
            owner: None,
            kinds: OsmKinds::default(),
            max_objects: 1_000_000,
        })
    }
}

/// Why a file could not be read; nothing is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OsmError {
    #[error("not an OpenStreetMap PBF file (.osm.pbf): {0}")]
    NotPbf(String),
    #[error("the PBF file is damaged: {0}")]
    Damaged(String),
    #[error("the PBF file needs features ecomap cannot read: {0}")]
    Unsupported(String),
    #[error("the extract gives {found} merchants, communities and outlets, more than the limit of {limit}: import a smaller extract")]
    TooMany { found: usize, limit: usize },
}

impl From<OsmError> for ImportError {
    fn from(e: OsmError) -> Self {
        ImportError {
            errors: vec![RowError {
                row: None,
                feature: None,
                field: "file".into(),
                reason: e.to_string(),
            }],
            truncated: false,
        }
    }
}

/// The step an import is at, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OsmStage {
    /// Pass 1: every block, tagged objects.
    Scan,
    /// Pass 2: member ways of multipolygons.
    MemberWays,
    /// Pass 3: node positions.
    Nodes,
    /// Shapes, households, validation.
    Build,
    /// The database transaction.
    Write,
}

impl OsmStage {
    pub fn label(self) -> &'static str {
        match self {
            OsmStage::Scan => "读取对象 / reading objects",
            OsmStage::MemberWays => "读取多边形成员 / reading multipolygon members",
            OsmStage::Nodes => "读取节点坐标 / reading node positions",
            OsmStage::Build => "生成商户与小区 / building merchants and communities",
            OsmStage::Write => "写入数据库 / writing to the database",
        }
    }
}

/// Progress: `done` of `total` blocks (or steps) of `stage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsmProgress {
    pub stage: OsmStage,
    pub done: usize,
    pub total: usize,
}

/// Objects of each type in the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ElementCounts {
    pub nodes: usize,
    pub ways: usize,
    pub relations: usize,
}

/// One kind's outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    /// Made from the file (before the write).
    pub found: usize,
    pub inserted: usize,
    pub updated: usize,
    /// Rows that exist and belong outside the importer's scope: left as they are.
    pub kept_other_owner: usize,
}

/// How households were estimated. Every figure is an estimate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HouseholdReport {
    /// Always true: OSM has no household counts; every one is computed from shapes.
    pub estimated: bool,
    pub method: String,
    /// Residential buildings with a usable footprint.
    pub buildings: usize,
    /// … counted into the residential area that holds them.
    pub buildings_in_areas: usize,
    /// … flats outside every area, imported as communities of their own.
    pub buildings_as_communities: usize,
    /// … houses outside every area, not imported.
    pub houses_outside_areas: usize,
    /// … flats outside every area with too few households to be a community, not imported.
    pub small_buildings_outside_areas: usize,
    /// Flats without `building:levels` or `height` (the default floors were assumed).
    pub buildings_levels_defaulted: usize,
    /// Residential buildings under the minimum footprint, left out.
    pub buildings_too_small: usize,
    /// Residential areas estimated from their buildings, and from their land area.
    pub areas_from_buildings: usize,
    pub areas_from_land_area: usize,
    /// Residential areas without buildings too large for a land-area estimate: households 0.
    pub areas_unknown: usize,
    /// Households over the imported communities (rounded per community).
    pub total: u64,
}

/// A tag and how many objects carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagCount {
    pub tag: String,
    pub count: usize,
}

/// One object left out for its shape (the first ones of an import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedObject {
    pub id: String,
    /// `merchant`, `outlet`, `residential_area` or `residential_building`.
    pub role: String,
    pub reason: String,
    pub detail: String,
}

/// Seconds per step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct OsmTiming {
    pub scan_s: f64,
    pub member_ways_s: f64,
    pub nodes_s: f64,
    pub build_s: f64,
    pub write_s: f64,
    pub total_s: f64,
    /// File size over read + build time (the write excluded), MB/s (10⁶ bytes).
    pub read_mb_per_s: f64,
    /// Nodes + ways + relations in the file over read + build time.
    pub read_objects_per_s: f64,
}

/// What an OSM import found, did and left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OsmReport {
    pub source: Option<String>,
    /// The walking network built from the same file (`network::BuildReport` as JSON), when the
    /// import stored one (administrators' imports); `None` otherwise.
    pub network: Option<serde_json::Value>,
    pub bytes: usize,
    pub blocks: usize,
    pub elements: ElementCounts,
    pub merchants: KindCounts,
    pub communities: KindCounts,
    pub outlets: KindCounts,
    pub outlets_ours: usize,
    pub outlets_competitors: usize,
    pub merchants_by_category: BTreeMap<String, usize>,
    /// POIs of a mapped category without any name tag: not imported.
    pub unnamed_merchants: usize,
    pub unnamed_by_category: BTreeMap<String, usize>,
    /// Banks without a name or operator: not imported.
    pub unnamed_outlets: usize,
    /// Objects with a merchant key whose value the catalogue does not map.
    pub unmapped: usize,
    /// The most frequent of them (at most 20).
    pub unmapped_tags: Vec<TagCount>,
    /// Objects with a tag configured as "not a business" (`shop=vacant`).
    pub excluded: usize,
    /// Objects left out for their shape: role → reason → count.
    pub skipped: BTreeMap<String, BTreeMap<String, usize>>,
    pub skipped_total: usize,
    /// The first 200 of them.
    pub skipped_examples: Vec<SkippedObject>,
    /// Parts of multi-part residential areas left out (a community holds one polygon).
    pub area_parts_dropped: usize,
    /// Ways that repeat the multipolygon they are the outer ring of.
    pub duplicates_of_relations: usize,
    pub households: HouseholdReport,
    pub timing: OsmTiming,
}

const MAX_EXAMPLES: usize = 200;
const MAX_UNMAPPED_TAGS: usize = 20;

impl OsmReport {
    fn skip(&mut self, id: &str, role: &str, reason: &str, detail: String) {
        *self
            .skipped
            .entry(role.to_string())
            .or_default()
            .entry(reason.to_string())
            .or_default() += 1;
        self.skipped_total += 1;
        if self.skipped_examples.len() < MAX_EXAMPLES {
            self.skipped_examples.push(SkippedObject {
                id: id.to_string(),
                role: role.to_string(),
                reason: reason.to_string(),
                detail,
            });
        }
    }

    /// How many objects of `role` were skipped, over all reasons.
    pub fn skipped_of(&self, role: &str) -> usize {
        self.skipped.get(role).map_or(0, |r| r.values().sum())
    }
}

/// What an extract gives: validated values and the report so far (the write fills in
/// inserted/updated and the write time).
#[derive(Debug, Clone)]
pub struct OsmParsed {
    pub merchants: Vec<Merchant>,
    pub communities: Vec<Community>,
    pub outlets: Vec<Outlet>,
    pub report: OsmReport,
}

/// Reads a whole `.osm.pbf` extract. `progress` is called as blocks are done.
pub fn read(
    bytes: &[u8],
    opts: &OsmOptions,
    categories: &Categories,
    progress: &mut dyn FnMut(OsmProgress),
) -> Result<OsmParsed, OsmError> {
    let started = Instant::now();
    let rules = classify::Rules::new(categories, &opts.config, opts.kinds, &opts.our_banks);
    let (el, times) = pbf::read(bytes, &rules, progress)?;
    progress(OsmProgress {
        stage: OsmStage::Build,
        done: 0,
        total: 1,
    });
    let build_started = Instant::now();
    let built = build::build(&el, &rules);
    let mut report = OsmReport {
        bytes: bytes.len(),
        blocks: el.blocks,
        elements: el.counts,
        area_parts_dropped: built.parts_dropped,
        duplicates_of_relations: built.duplicates,
        households: built.households,
        ..OsmReport::default()
    };
    for s in &built.skipped {
        report.skip(&s.id, s.role.code(), s.skip.code(), s.skip.detail());
    }
    let notes = el.notes;
    report.unnamed_merchants = notes.unnamed_merchants.values().sum();
    report.unnamed_by_category = notes.unnamed_merchants;
    report.unnamed_outlets = notes.unnamed_outlets;
    report.unmapped = notes.unmapped.values().sum();
    let mut unmapped: Vec<TagCount> = notes
        .unmapped
        .into_iter()
        .map(|(tag, count)| TagCount { tag, count })
        .collect();
    unmapped.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.tag.cmp(&b.tag)));
    unmapped.truncate(MAX_UNMAPPED_TAGS);
    report.unmapped_tags = unmapped;
    report.excluded = notes.excluded.values().sum();

    // Validation: what the domain refuses is skipped like a broken shape, with its reason.
    let mut merchants = Vec::with_capacity(built.merchants.len());
    for d in built.merchants {
        let id = d.id.clone();
        match Merchant::try_from(d) {
            Ok(m) => merchants.push(m),
            Err(e) => report.skip(&id, "merchant", &invalid(&e.field), e.reason),
        }
    }
    let mut communities = Vec::with_capacity(built.communities.len());
    for d in built.communities {
        let id = d.id.clone();
        match Community::try_from(d) {
            Ok(c) => communities.push(c),
            Err(e) => report.skip(&id, "community", &invalid(&e.field), e.reason),
        }
    }
    let mut outlets = Vec::with_capacity(built.outlets.len());
    for d in built.outlets {
        let id = d.id.clone();
        match Outlet::try_from(d) {
            Ok(o) => outlets.push(o),
            Err(e) => report.skip(&id, "outlet", &invalid(&e.field), e.reason),
        }
    }
    let found = merchants.len() + communities.len() + outlets.len();
    if found > opts.max_objects {
        return Err(OsmError::TooMany {
            found,
            limit: opts.max_objects,
        });
    }
    for m in &merchants {
        *report
            .merchants_by_category
            .entry(m.category.clone())
            .or_default() += 1;
    }
    report.merchants.found = merchants.len();
    report.communities.found = communities.len();
    report.outlets.found = outlets.len();
    report.outlets_ours = outlets.iter().filter(|o| o.is_ours()).count();
    report.outlets_competitors = outlets.len() - report.outlets_ours;
    let c = &opts.config.communities;
    report.households.estimated = true;
    report.households.method = format!(
        "flats: footprint m² × floors (building:levels, else height ÷ {} m, else {}) ÷ {} m² \
         per household; a house: 1; a residential area: the sum of the residential buildings \
         inside it, else (up to {} m²) land area × {} ÷ {} m², else unknown (0)",
        c.level_height_m,
        c.default_levels,
        c.flat_m2,
        c.land_estimate_max_m2,
        c.area_floor_area_ratio,
        c.flat_m2
    );
    report.households.total = communities.iter().map(|c| u64::from(c.households)).sum();
    let build_s = build_started.elapsed().as_secs_f64();
    let read_s = started.elapsed().as_secs_f64();
    report.timing = OsmTiming {
        scan_s: times.scan_s,
        member_ways_s: times.member_ways_s,
        nodes_s: times.nodes_s,
        build_s,
        write_s: 0.0,
        total_s: read_s,
        read_mb_per_s: bytes.len() as f64 / 1e6 / read_s.max(1e-9),
        read_objects_per_s: (el.counts.nodes + el.counts.ways + el.counts.relations) as f64
            / read_s.max(1e-9),
    };
    progress(OsmProgress {
        stage: OsmStage::Build,
        done: 1,
        total: 1,
    });
    Ok(OsmParsed {
        merchants,
        communities,
        outlets,
        report,
    })
}

fn invalid(field: &str) -> String {
    if field == "geometry" {
        "invalid_polygon".into()
    } else {
        format!("invalid_{field}")
    }
}

/// Re-import keeps what the bank knows about a merchant that exists (owner, figures, contact,
/// pipeline status) and takes from OSM what OSM knows (name, category, position; address, hours
/// and chain when OSM has them). Rows owned outside `in_scope` are left as they are and dropped
/// from `new`; returns how many.
pub fn keep_what_the_bank_knows_merchants(
    new: &mut Vec<Merchant>,
    existing: impl Fn(&str) -> Option<Merchant>,
    in_scope: impl Fn(Option<&str>) -> bool,
) -> usize {
    let mut kept = 0;
    new.retain_mut(|m| {
        let Some(old) = existing(&m.id) else {
            return true;
        };
        if !in_scope(old.owner_org_id.as_deref()) {
            kept += 1;
            return false;
        }
        m.owner_org_id.clone_from(&old.owner_org_id);
        m.status = old.status;
        m.status_since = old.status_since;
        m.footfall_daily = old.footfall_daily;
        m.avg_spend_cny = old.avg_spend_cny;
        m.rating = old.rating;
        m.accepts_ecny = old.accepts_ecny;
        m.competitor_signed.clone_from(&old.competitor_signed);
        m.contact.clone_from(&old.contact);
        if m.address.is_none() {
            m.address.clone_from(&old.address);
        }
        if m.opening_hours.is_none() {
            m.opening_hours.clone_from(&old.opening_hours);
        }
        if m.chain.is_none() {
            m.chain.clone_from(&old.chain);
        }
        true
    });
    kept
}

/// As for merchants: a community that exists keeps its owner, population, house price, bank
/// customers (and address when OSM has none); OSM gives the shape and the household estimate.
pub fn keep_what_the_bank_knows_communities<'a>(
    new: &mut Vec<Community>,
    existing: impl Fn(&str) -> Option<&'a Community>,
    in_scope: impl Fn(Option<&str>) -> bool,
) -> usize {
    let mut kept = 0;
    new.retain_mut(|c| {
        let Some(old) = existing(&c.id) else {
            return true;
        };
        if !in_scope(old.owner_org_id.as_deref()) {
            kept += 1;
            return false;
        }
        c.owner_org_id.clone_from(&old.owner_org_id);
        c.population = old.population;
        c.avg_house_price_cny_m2 = old.avg_house_price_cny_m2;
        c.bank_customers = old.bank_customers;
        if c.address.is_none() {
            c.address.clone_from(&old.address);
        }
        true
    });
    kept
}

/// An outlet that exists keeps its type (商圈型/社区型) and, while it stays ours, its place in
/// the organisation tree.
pub fn keep_what_the_bank_knows_outlets<'a>(
    new: &mut [Outlet],
    existing: impl Fn(&str) -> Option<&'a Outlet>,
) {
    for o in new.iter_mut() {
        if let Some(old) = existing(&o.id) {
            o.kind = old.kind;
            if o.is_ours() && old.is_ours() {
                o.parent_org_id.clone_from(&old.parent_org_id);
            }
        }
    }
}
