//! Presets and plans: which cities `ecomap gen` makes, with how many of everything, in which
//! order, and the stream of chunks that carries them to the database.
//!
//! A plan is a head (the head office and the province branches) and a list of city configs. The
//! `city` preset is one city (Chengdu); `national` is every city of [`super::cities::CITIES`],
//! each with a share of the totals proportional to its weight. Every city has its own seed,
//! derived from the plan's seed and the city's code, so a city's data depends on the seed and
//! its own sizes only.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use super::cities::{self, City};
use super::{CitySpec, CityStream, GenConfig, GenError};
use crate::domain::{
    check_tree, Area, Community, Dataset, Merchant, OrgLevel, OrgUnit, OrgUnitDraft, Outlet,
};

/// A named size of generated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// One big city (Chengdu): 1,000,000 merchants, 1,200 + 800 outlets, 20,000 communities.
    City,
    /// 142 real cities: 30,000,000 merchants, 12,000 + 8,000 outlets, 600,000 communities.
    National,
}

impl Preset {
    /// The seed a preset uses unless one is given.
    pub const SEED: u64 = 42;

    pub fn sizes(self) -> Sizes {
        match self {
            // Ours : competitors = 3 : 2 — most of the per-outlet work (coverage, ranking, plans)
            // is for our outlets, and competitors are dense enough that one stands within a
            // walk of most of ours in the core, where they matter on the map.
            Preset::City => Sizes {
                merchants: 1_000_000,
                outlets_ours: 1_200,
                outlets_competitors: 800,
                communities: 20_000,
            },
            Preset::National => Sizes {
                merchants: 30_000_000,
                outlets_ours: 12_000,
                outlets_competitors: 8_000,
                communities: 600_000,
            },
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::City => "city",
            Preset::National => "national",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "city" => Ok(Preset::City),
            "national" => Ok(Preset::National),
            other => Err(format!("unknown preset {other:?}: use city or national")),
        }
    }
}

/// How much to generate, in total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub merchants: usize,
    pub outlets_ours: usize,
    pub outlets_competitors: usize,
    pub communities: usize,
}

impl Sizes {
    /// Every size times `factor`, rounded (`--scale`).
    pub fn scaled(self, factor: f64) -> Self {
        let s = |n: usize| (n as f64 * factor).round().max(0.0) as usize;
        Self {
            merchants: s(self.merchants),
            outlets_ours: s(self.outlets_ours),
            outlets_competitors: s(self.outlets_competitors),
            communities: s(self.communities),
        }
    }

    /// Merchants, outlets and communities: the rows a progress bar counts.
    pub fn rows(&self) -> u64 {
        (self.merchants + self.outlets_ours + self.outlets_competitors + self.communities) as u64
    }
}

/// The city of the `city` preset: Chengdu (成都), the capital of the demo's province, a city
/// where a million merchants is a plausible count.
pub const CITY_PRESET: &str = "CD";

/// The head office's id; a generic city's branch hangs under it or under a province branch
/// `P-{code}` (`P-SC` is 四川省分行).
pub const HEAD_OFFICE_ID: &str = "HQ";

/// What to generate: the units above the cities' branches, then each city.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The head office and the province branches (empty for the Leshan demo, whose config makes
    /// its own tree).
    pub head: Vec<OrgUnit>,
    pub cities: Vec<GenConfig>,
}

impl Plan {
    /// One config as it is (the Leshan demo, or any explicit config).
    pub fn single(cfg: GenConfig) -> Self {
        Self {
            head: Vec::new(),
            cities: vec![cfg],
        }
    }

    /// A preset with the given sizes and seed.
    pub fn preset(preset: Preset, sizes: Sizes, seed: u64) -> Result<Self, GenError> {
        let list: Vec<&'static City> = match preset {
            Preset::City => vec![cities::city(CITY_PRESET)
                .ok_or_else(|| GenError::Cities(format!("no city {CITY_PRESET}")))?],
            Preset::National => cities::CITIES.iter().collect(),
        };
        Self::over(&list, sizes, seed)
    }

    /// The totals shared out over `list` by weight (largest remainders, so the totals are exact).
    pub fn over(list: &[&'static City], sizes: Sizes, seed: u64) -> Result<Self, GenError> {
        let weights: Vec<f64> = list.iter().map(|c| c.weight).collect();
        let merchants = share(sizes.merchants, &weights);
        let ours = share(sizes.outlets_ours, &weights);
        let competitors = share(sizes.outlets_competitors, &weights);
        let communities = share(sizes.communities, &weights);

        let mut head = vec![unit(
            HEAD_OFFICE_ID.into(),
            "总行".into(),
            OrgLevel::HeadOffice,
            None,
        )?];
        let mut configs = Vec::with_capacity(list.len());
        for (i, c) in list.iter().enumerate() {
            let province = cities::province(c.province).ok_or_else(|| {
                GenError::Cities(format!("{} has no province {}", c.code, c.province))
            })?;
            let parent_id = if province.municipality {
                HEAD_OFFICE_ID.to_string()
            } else {
                let id = format!("P-{}", province.code);
                if !head.iter().any(|u| u.id == id) {
                    head.push(unit(
                        id.clone(),
                        format!("{}分行", province.name),
                        OrgLevel::ProvinceBranch,
                        Some(HEAD_OFFICE_ID.into()),
                    )?);
                }
                id
            };
            configs.push(GenConfig {
                seed: city_seed(seed, c.code),
                merchants: merchants[i],
                outlets_ours: ours[i],
                outlets_competitors: competitors[i],
                communities: communities[i],
                center: c.center,
                city: Some(CitySpec {
                    code: c.code.to_string(),
                    name: c.name.to_string(),
                    parent_id,
                    municipality: province.municipality,
                    house_price_cny_m2: house_price(c.weight),
                }),
            });
        }
        Ok(Self {
            head,
            cities: configs,
        })
    }

    /// What the plan makes in total.
    pub fn totals(&self) -> Sizes {
        let mut t = Sizes {
            merchants: 0,
            outlets_ours: 0,
            outlets_competitors: 0,
            communities: 0,
        };
        for c in &self.cities {
            t.merchants += c.merchants;
            t.outlets_ours += c.outlets_ours;
            t.outlets_competitors += c.outlets_competitors;
            t.communities += c.communities;
        }
        t
    }

    /// The plan as a stream of batches of at most `chunk` merchants or communities.
    pub fn stream(self, chunk: usize) -> PlanStream {
        PlanStream {
            head_units: self.head.clone(),
            head: Some(self.head),
            cities: self.cities.into_iter().enumerate().collect(),
            current: None,
            queue: VecDeque::new(),
            chunk: chunk.max(1),
            failed: false,
        }
    }

    /// Everything in memory: for files (`--out`) and tests, not for the national preset.
    pub fn collect(self) -> Result<Dataset, GenError> {
        let mut ds = Dataset::default();
        for b in self.stream(65_536) {
            match b? {
                Batch::City { .. } => {}
                Batch::OrgUnits(v) => ds.org_units.extend(v),
                Batch::Outlets(v) => ds.outlets.extend(v),
                Batch::Areas(v) => ds.areas.extend(v),
                Batch::Merchants(v) => ds.merchants.extend(v),
                Batch::Communities(v) => ds.communities.extend(v),
            }
        }
        Ok(ds)
    }
}

fn unit(
    id: String,
    name: String,
    level: OrgLevel,
    parent_id: Option<String>,
) -> Result<OrgUnit, GenError> {
    let draft = OrgUnitDraft {
        id: id.clone(),
        name,
        level,
        parent_id,
    };
    OrgUnit::try_from(draft).map_err(|source| GenError::Invalid {
        rejected: 1,
        kind: "org unit",
        id,
        source,
    })
}

/// A city's house price at its centre, CNY/m², from its size: about 8,000 in a prefecture-level
/// city, 30,000–40,000 in the biggest provincial capitals, 50,000+ in Beijing, Shanghai and
/// Shenzhen. A rough model: prices depend on much more than size.
fn house_price(weight: f64) -> f64 {
    (6_000.0 + 2_500.0 * weight).clamp(8_000.0, 60_000.0)
}

/// `total` shared out in proportion to `weights`: each gets the floor of its quota, and the
/// remainder goes one by one to the largest fractional parts (ties to the earlier).
pub fn share(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let quotas: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut out: Vec<usize> = quotas.iter().map(|q| q.floor() as usize).collect();
    let given: usize = out.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = quotas[a] - quotas[a].floor();
        let fb = quotas[b] - quotas[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(total.saturating_sub(given)) {
        out[i] += 1;
    }
    out
}

/// A city's seed: the plan's seed mixed with the city's code (FNV-1a, then SplitMix64).
fn city_seed(seed: u64, code: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in code.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = (seed ^ h).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One piece of a plan, in the order it must be written (parents before children).
#[derive(Debug)]
pub enum Batch {
    /// A city starts (for progress reports).
    City {
        index: usize,
        code: String,
        name: String,
    },
    OrgUnits(Vec<OrgUnit>),
    Outlets(Vec<Outlet>),
    Areas(Vec<Area>),
    Merchants(Vec<Merchant>),
    Communities(Vec<Community>),
}

/// A plan, city after city, in batches: the head units, then for each city its org units,
/// outlets and areas, its merchants and its communities. Only one city's layout and outlets and
/// one batch are in memory at a time. Ends after the first error.
pub struct PlanStream {
    head: Option<Vec<OrgUnit>>,
    head_units: Vec<OrgUnit>,
    cities: VecDeque<(usize, GenConfig)>,
    current: Option<CityStream>,
    queue: VecDeque<Batch>,
    chunk: usize,
    failed: bool,
}

impl Iterator for PlanStream {
    type Item = Result<Batch, GenError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.advance();
        if matches!(next, Some(Err(_))) {
            self.failed = true;
        }
        next
    }
}

impl PlanStream {
    fn advance(&mut self) -> Option<Result<Batch, GenError>> {
        if let Some(head) = self.head.take() {
            if !head.is_empty() {
                return Some(Ok(Batch::OrgUnits(head)));
            }
        }
        loop {
            if let Some(b) = self.queue.pop_front() {
                return Some(Ok(b));
            }
            let Some(city) = self.current.as_mut() else {
                let (index, cfg) = self.cities.pop_front()?;
                if let Err(e) = self.start_city(index, &cfg) {
                    return Some(Err(e));
                }
                continue;
            };
            let batch = if city.merchants_left() > 0 {
                Batch::Merchants(city.next_merchants(self.chunk))
            } else if city.communities_left() > 0 {
                Batch::Communities(city.next_communities(self.chunk))
            } else {
                self.current = None;
                continue;
            };
            if let Some(e) = city.error() {
                return Some(Err(e));
            }
            return Some(Ok(batch));
        }
    }

    fn start_city(&mut self, index: usize, cfg: &GenConfig) -> Result<(), GenError> {
        let mut city = CityStream::new(cfg)?;
        let header = city.take_header();
        if let Some(e) = city.error() {
            return Err(e);
        }
        // A generic city's branch hangs under the head units: check them together.
        if cfg.city.is_some() {
            let mut tree = self.head_units.clone();
            tree.extend(header.org_units.iter().cloned());
            check_tree(&tree).map_err(|source| GenError::Invalid {
                rejected: 1,
                kind: "org tree",
                id: String::new(),
                source,
            })?;
        }
        let (code, name) = match &cfg.city {
            Some(c) => (c.code.clone(), c.name.clone()),
            None => (String::new(), "乐山".to_string()),
        };
        self.queue.push_back(Batch::City { index, code, name });
        if !header.org_units.is_empty() {
            self.queue.push_back(Batch::OrgUnits(header.org_units));
        }
        if !header.outlets.is_empty() {
            self.queue.push_back(Batch::Outlets(header.outlets));
        }
        if !header.areas.is_empty() {
            self.queue.push_back(Batch::Areas(header.areas));
        }
        self.current = Some(city);
        Ok(())
    }
}
