//! What an OSM object becomes, from its tags alone: a merchant of a category (or a POI left out,
//! and why), a bank outlet, a residential area, a residential building. Also the tag readers
//! the builders share: names (Chinese first), addresses, numbers.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::pbf::OsmType;
use super::{OsmConfig, OsmKinds};
use crate::domain::Categories;

/// Everything `classify` needs, prepared once per import.
pub(crate) struct Rules<'a> {
    pub cats: &'a Categories,
    pub cfg: &'a OsmConfig,
    pub kinds: OsmKinds,
    /// Merchant keys in order of precedence.
    keys: Vec<String>,
    /// The catalogue's exact `key=value` tags (not the `key=*` fallbacks).
    exact: HashSet<String>,
    exclude: HashSet<String>,
    outlet_tags: Vec<(String, String)>,
    /// Our bank's names, folded (lower case, no white space).
    our_banks: Vec<String>,
    flats: HashSet<String>,
    houses: HashSet<String>,
}

impl<'a> Rules<'a> {
    pub(crate) fn new(
        cats: &'a Categories,
        cfg: &'a OsmConfig,
        kinds: OsmKinds,
        extra_banks: &[String],
    ) -> Self {
        let mut keys = cfg.merchants.keys.clone();
        let mut exact = HashSet::new();
        let mut more: Vec<String> = Vec::new();
        for tag in cats.all().iter().flat_map(|c| c.osm.iter()) {
            let Some((k, v)) = tag.split_once('=') else {
                continue;
            };
            if v != "*" {
                exact.insert(tag.clone());
            }
            if !keys.iter().any(|x| x == k) && !more.iter().any(|x| x == k) {
                more.push(k.to_string());
            }
        }
        more.sort();
        keys.extend(more);
        let outlet_tags = cfg
            .outlets
            .tags
            .iter()
            .filter_map(|t| t.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let our_banks = cfg
            .outlets
            .our_bank
            .iter()
            .chain(extra_banks)
            .map(|b| fold(b))
            .filter(|b| !b.is_empty())
            .collect();
        Self {
            cats,
            cfg,
            kinds,
            keys,
            exact,
            exclude: cfg.merchants.exclude.iter().cloned().collect(),
            outlet_tags,
            our_banks,
            flats: cfg.communities.flats.iter().cloned().collect(),
            houses: cfg.communities.houses.iter().cloned().collect(),
        }
    }

    /// Whether a bank with these tags is ours: brand, operator or name contains one of our
    /// bank's names (case and white space ignored).
    pub(crate) fn is_ours(&self, tags: &[(&str, &str)]) -> bool {
        [
            "brand:zh",
            "brand",
            "operator:zh",
            "operator",
            "name:zh",
            "name",
        ]
        .iter()
        .filter_map(|k| get(tags, k))
        .map(fold)
        .any(|v| self.our_banks.iter().any(|b| v.contains(b.as_str())))
    }
}

/// Lower case without white space, for name matching.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// What an object would be as a merchant.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum MerchantClass {
    /// Not a POI of a merchant key at all.
    #[default]
    None,
    Named {
        category: String,
        name: String,
    },
    /// Mapped to a category but has no name: skipped (a list staff work from needs names).
    Unnamed {
        category: String,
    },
    /// A merchant key whose value the catalogue does not map (`amenity=parking`).
    Unmapped {
        tag: String,
    },
    /// A tag configured as "not a business" (`shop=vacant`).
    Excluded {
        tag: String,
    },
}

/// What a residential building counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BuildingUse {
    /// Flats: households from floor area.
    Flats,
    /// One household.
    House,
}

/// Everything an object becomes (an object can be several: a shop in a block of flats).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Class {
    pub merchant: MerchantClass,
    /// A bank outlet: `Some(name)`, or `Some(None)` when it has no name at all.
    pub outlet: Option<Option<String>>,
    pub residential_area: bool,
    pub building: Option<BuildingUse>,
}

impl Class {
    /// Whether the object becomes something that needs its position or shape.
    pub(crate) fn wants_geometry(&self) -> bool {
        matches!(self.merchant, MerchantClass::Named { .. })
            || matches!(self.outlet, Some(Some(_)))
            || self.residential_area
            || self.building.is_some()
    }
}

/// Counts of objects left out for their tags (no geometry needed to know).
#[derive(Debug, Clone, Default)]
pub(crate) struct Notes {
    pub unnamed_merchants: BTreeMap<String, usize>,
    pub unnamed_outlets: usize,
    pub unmapped: HashMap<String, usize>,
    pub excluded: BTreeMap<String, usize>,
}

impl Notes {
    pub(crate) fn note(&mut self, class: &Class) {
        match &class.merchant {
            MerchantClass::Unnamed { category } => {
                *self.unnamed_merchants.entry(category.clone()).or_default() += 1
            }
            MerchantClass::Unmapped { tag } => *self.unmapped.entry(tag.clone()).or_default() += 1,
            MerchantClass::Excluded { tag } => *self.excluded.entry(tag.clone()).or_default() += 1,
            MerchantClass::None | MerchantClass::Named { .. } => {}
        }
        if class.outlet == Some(None) {
            self.unnamed_outlets += 1;
        }
    }

    pub(crate) fn merge(&mut self, o: Notes) {
        for (k, v) in o.unnamed_merchants {
            *self.unnamed_merchants.entry(k).or_default() += v;
        }
        self.unnamed_outlets += o.unnamed_outlets;
        for (k, v) in o.unmapped {
            *self.unmapped.entry(k).or_default() += v;
        }
        for (k, v) in o.excluded {
            *self.excluded.entry(k).or_default() += v;
        }
    }
}

/// A tag's value, trimmed; `None` when absent or blank.
pub(crate) fn get<'t>(tags: &[(&'t str, &'t str)], key: &str) -> Option<&'t str> {
    tags.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The first value of a multi-valued tag (`bakery;cafe` → `bakery`).
fn first_value(v: &str) -> &str {
    v.split(';').next().unwrap_or(v).trim()
}

/// The object's name: the first configured name tag present (Chinese first).
pub(crate) fn name(tags: &[(&str, &str)], rules: &Rules) -> Option<String> {
    rules
        .cfg
        .name_tags
        .iter()
        .find_map(|k| get(tags, k))
        .map(|v| v.chars().take(200).collect::<String>().trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Decides what an object becomes. Nodes are never areas or buildings (they have no footprint);
/// relations count only as `type=multipolygon`.
pub(crate) fn classify(tags: &[(&str, &str)], rules: &Rules, kind: OsmType) -> Class {
    let mut class = Class::default();
    if kind == OsmType::Relation && get(tags, "type") != Some("multipolygon") {
        return class;
    }
    let is_outlet = rules
        .outlet_tags
        .iter()
        .any(|(k, v)| get(tags, k).is_some_and(|x| first_value(x) == v));
    if is_outlet {
        if rules.kinds.outlets {
            class.outlet = Some(name(tags, rules).or_else(|| {
                ["operator:zh", "operator"]
                    .iter()
                    .find_map(|k| get(tags, k))
                    .map(str::to_string)
            }));
        }
    } else if rules.kinds.merchants {
        class.merchant = merchant_class(tags, rules);
    }
    if kind != OsmType::Node && rules.kinds.communities {
        class.residential_area = get(tags, "landuse").is_some_and(|v| v == "residential");
        class.building = get(tags, "building").and_then(|v| {
            if rules.flats.contains(v) {
                Some(BuildingUse::Flats)
            } else if rules.houses.contains(v) {
                Some(BuildingUse::House)
            } else {
                None
            }
        });
    }
    class
}

/// The category by the catalogue: exact tags first (in key order), then `key=*` fallbacks, so
/// that `amenity=cafe` on an object also tagged `shop=yes` is a café, not retail.
fn merchant_class(tags: &[(&str, &str)], rules: &Rules) -> MerchantClass {
    let present: Vec<(&str, &str)> = rules
        .keys
        .iter()
        .filter_map(|k| get(tags, k).map(|v| (k.as_str(), first_value(v))))
        .collect();
    if present.is_empty() {
        return MerchantClass::None;
    }
    let mut excluded = None;
    let usable: Vec<(&str, &str)> = present
        .iter()
        .copied()
        .filter(|(k, v)| {
            let tag = format!("{k}={v}");
            if rules.exclude.contains(&tag) {
                excluded.get_or_insert(tag);
                false
            } else {
                true
            }
        })
        .collect();
    let category = usable
        .iter()
        .find(|(k, v)| rules.exact.contains(&format!("{k}={v}")))
        .or_else(|| {
            usable
                .iter()
                .find(|(k, v)| rules.cats.from_osm(k, v).is_some())
        })
        .and_then(|(k, v)| rules.cats.from_osm(k, v))
        .map(|c| c.code.clone());
    match (category, excluded) {
        (Some(category), _) => match name(tags, rules) {
            Some(name) => MerchantClass::Named { category, name },
            None => MerchantClass::Unnamed { category },
        },
        (None, Some(tag)) => MerchantClass::Excluded { tag },
        (None, None) => MerchantClass::Unmapped {
            tag: format!("{}={}", present[0].0, present[0].1),
        },
    }
}

fn has_cjk(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '\u{3400}'..='\u{9fff}' | '\u{f900}'..='\u{faff}'))
}

/// The address: `addr:full`, else the parts in the order the place writes them: Chinese from
/// province to house number without spaces (四川省乐山市市中区白塔街121号), others as
/// "street number, postcode city".
pub(crate) fn address(tags: &[(&str, &str)]) -> Option<String> {
    if let Some(full) = get(tags, "addr:full") {
        return Some(full.to_string());
    }
    let street = get(tags, "addr:street").or_else(|| get(tags, "addr:place"));
    let number = get(tags, "addr:housenumber");
    let parts = [
        get(tags, "addr:province"),
        get(tags, "addr:city"),
        get(tags, "addr:district"),
        street,
        number,
    ];
    if parts.iter().flatten().any(|p| has_cjk(p)) {
        let mut s: String = parts[..4].iter().flatten().copied().collect();
        if let Some(n) = number {
            s.push_str(n);
            if n.chars().all(|c| c.is_ascii_digit()) {
                s.push('号');
            }
        }
        return Some(s);
    }
    let line1 = match (street, number) {
        (Some(s), Some(n)) => Some(format!("{s} {n}")),
        (Some(s), None) => Some(s.to_string()),
        (None, Some(n)) => Some(n.to_string()),
        (None, None) => None,
    };
    let line2 = match (get(tags, "addr:postcode"), get(tags, "addr:city")) {
        (Some(p), Some(c)) => Some(format!("{p} {c}")),
        (p, c) => p.or(c).map(str::to_string),
    };
    match (line1, line2) {
        (Some(a), Some(b)) => Some(format!("{a}, {b}")),
        (a, _) => a,
    }
}

/// The leading number of a value (`3`, `3.5`, `12 m`, `3;4` → 3, 3.5, 12, 3).
pub(crate) fn leading_number(v: &str) -> Option<f64> {
    let v = v.trim();
    let end = v
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(v.len(), |(i, _)| i);
    v[..end].parse::<f64>().ok().filter(|x| x.is_finite())
}
