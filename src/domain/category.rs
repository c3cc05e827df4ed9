//! The merchant category catalogue (业态), read from `data/categories.toml`: stable codes with
//! Chinese and English names, and the mappings from AMap POI type codes and OSM tags.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// One category: a stable code (used in the database and the API) and its names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub code: String,
    pub zh: String,
    pub en: String,
    /// AMap type-code prefixes (2, 4 or 6 digits) that map here; the longest prefix wins.
    #[serde(default)]
    pub amap: Vec<String>,
    /// OSM tags `key=value` (or `key=*` as a fallback for the whole key) that map here.
    #[serde(default)]
    pub osm: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CategoryError {
    #[error("cannot read the category file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the category file is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("category catalogue: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct CatalogueFile {
    category: Vec<Category>,
}

/// The catalogue with its lookup tables.
#[derive(Debug, Clone)]
pub struct Categories {
    list: Vec<Category>,
    by_name: HashMap<String, usize>,
    by_amap: HashMap<String, usize>,
    by_osm: HashMap<String, usize>,
}

/// The catalogue shipped with ecomap, compiled in so that the binary works from any directory.
const BUILTIN: &str = include_str!("../../data/categories.toml");

impl Categories {
    pub fn builtin() -> Result<Self, CategoryError> {
        Self::from_toml(BUILTIN)
    }

    pub fn load(path: &std::path::Path) -> Result<Self, CategoryError> {
        Self::from_toml(&std::fs::read_to_string(path)?)
    }

    pub fn from_toml(text: &str) -> Result<Self, CategoryError> {
        let file: CatalogueFile = toml::from_str(text)?;
        let mut by_name = HashMap::new();
        let mut by_amap = HashMap::new();
        let mut by_osm = HashMap::new();
        for (i, c) in file.category.iter().enumerate() {
            if c.code.is_empty()
                || !c
                    .code
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_' || ch.is_ascii_digit())
            {
                return Err(CategoryError::Invalid(format!(
                    "code {:?} must be lower-case ASCII letters, digits and '_'",
                    c.code
                )));
            }
            for key in [c.code.clone(), c.zh.clone(), c.en.to_lowercase()] {
                if let Some(prev) = by_name.insert(key.clone(), i) {
                    if prev != i {
                        return Err(CategoryError::Invalid(format!(
                            "name {key:?} is used by two categories"
                        )));
                    }
                }
            }
            for p in &c.amap {
                if !matches!(p.len(), 2 | 4 | 6) || !p.chars().all(|ch| ch.is_ascii_digit()) {
                    return Err(CategoryError::Invalid(format!(
                        "AMap prefix {p:?} of {} must be 2, 4 or 6 digits",
                        c.code
                    )));
                }
                if by_amap.insert(p.clone(), i).is_some() {
                    return Err(CategoryError::Invalid(format!(
                        "AMap prefix {p} is mapped twice"
                    )));
                }
            }
            for t in &c.osm {
                if !t.contains('=') {
                    return Err(CategoryError::Invalid(format!(
                        "OSM tag {t:?} of {} must be key=value",
                        c.code
                    )));
                }
                if by_osm.insert(t.clone(), i).is_some() {
                    return Err(CategoryError::Invalid(format!(
                        "OSM tag {t} is mapped twice"
                    )));
                }
            }
        }
        if file.category.is_empty() {
            return Err(CategoryError::Invalid("no categories".into()));
        }
        Ok(Self {
            list: file.category,
            by_name,
            by_amap,
            by_osm,
        })
    }

    pub fn all(&self) -> &[Category] {
        &self.list
    }

    pub fn get(&self, code: &str) -> Option<&Category> {
        self.by_name
            .get(code)
            .map(|&i| &self.list[i])
            .filter(|c| c.code == code)
    }

    /// Resolves what a user typed in a category column: our code, the Chinese or English name
    /// (any case), or a six-digit AMap type code (also `050100|050101` lists, first one wins).
    pub fn resolve(&self, value: &str) -> Option<&Category> {
        let v = value.trim();
        if let Some(&i) = self
            .by_name
            .get(v)
            .or_else(|| self.by_name.get(&v.to_lowercase()))
        {
            return Some(&self.list[i]);
        }
        let first = v.split(['|', ';', ',']).next().unwrap_or(v).trim();
        if first.len() == 6 && first.chars().all(|c| c.is_ascii_digit()) {
            return self.from_amap(first);
        }
        None
    }

    /// Maps a six-digit AMap type code by its longest mapped prefix.
    pub fn from_amap(&self, code: &str) -> Option<&Category> {
        [6, 4, 2]
            .into_iter()
            .filter(|&n| code.len() >= n)
            .find_map(|n| self.by_amap.get(&code[..n]))
            .map(|&i| &self.list[i])
    }

    /// Maps one OSM tag: the exact `key=value` first, then `key=*`.
    pub fn from_osm(&self, key: &str, value: &str) -> Option<&Category> {
        self.by_osm
            .get(&format!("{key}={value}"))
            .or_else(|| self.by_osm.get(&format!("{key}=*")))
            .map(|&i| &self.list[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> Categories {
        Categories::builtin().unwrap()
    }

    fn code_of(c: Option<&Category>) -> Option<&str> {
        c.map(|c| c.code.as_str())
    }

    #[test]
    fn builtin_catalogue_loads_with_the_acquisition_categories() {
        let cats = builtin();
        for code in [
            "dining",
            "tea_coffee",
            "supermarket",
            "fresh_food",
            "beauty",
            "education",
            "health",
            "leisure",
            "sports",
            "hotel",
            "auto",
            "daily_service",
            "retail",
        ] {
            assert!(cats.get(code).is_some(), "{code} missing");
        }
        assert!((12..=14).contains(&cats.all().len()));
    }

    #[test]
    fn get_takes_only_the_code() {
        let cats = builtin();
        assert_eq!(code_of(cats.get("dining")), Some("dining"));
        assert!(cats.get("餐饮美食").is_none());
    }

    #[test]
    fn resolve_accepts_code_chinese_and_english_in_any_case() {
        let cats = builtin();
        assert_eq!(code_of(cats.resolve("dining")), Some("dining"));
        assert_eq!(code_of(cats.resolve(" 餐饮美食 ")), Some("dining"));
        assert_eq!(code_of(cats.resolve("DINING")), Some("dining"));
        assert_eq!(code_of(cats.resolve("Tea & Coffee")), Some("tea_coffee"));
        assert_eq!(code_of(cats.resolve("tea & COFFEE")), Some("tea_coffee"));
        assert_eq!(code_of(cats.resolve("医疗药店")), Some("health"));
    }

    #[test]
    fn resolve_maps_six_digit_amap_codes_by_longest_prefix() {
        let cats = builtin();
        // 050101 综合酒楼 (Chinese restaurant)
        assert_eq!(code_of(cats.resolve("050101")), Some("dining"));
        // 050500 咖啡厅 and 050700 冷饮店 are carved out of 05.
        assert_eq!(code_of(cats.resolve("050501")), Some("tea_coffee"));
        assert_eq!(code_of(cats.resolve("050700")), Some("tea_coffee"));
        // 060400 超市, 060200 便利店
        assert_eq!(code_of(cats.resolve("060400")), Some("supermarket"));
        assert_eq!(code_of(cats.resolve("060201")), Some("supermarket"));
        // 060411 屈臣氏 is filed under supermarkets by AMap but is personal-care retail.
        assert_eq!(code_of(cats.resolve("060411")), Some("retail"));
        // 060705 蔬菜市场 out of 0607 综合市场 (retail)
        assert_eq!(code_of(cats.resolve("060705")), Some("fresh_food"));
        assert_eq!(code_of(cats.resolve("060701")), Some("retail"));
        // 090601 药房
        assert_eq!(code_of(cats.resolve("090601")), Some("health"));
        // 090201 整形美容 out of 09
        assert_eq!(code_of(cats.resolve("090201")), Some("beauty"));
        assert_eq!(code_of(cats.resolve("071100")), Some("beauty"));
        assert_eq!(code_of(cats.resolve("100105")), Some("hotel"));
        assert_eq!(code_of(cats.resolve("010101")), Some("auto"));
        assert_eq!(code_of(cats.resolve("080302")), Some("leisure"));
        assert_eq!(code_of(cats.resolve("080111")), Some("sports"));
        // AMap exports list several codes; the first one decides.
        assert_eq!(code_of(cats.resolve("050117|060400")), Some("dining"));
    }

    #[test]
    fn from_osm_takes_the_exact_tag_before_the_key_fallback() {
        let cats = builtin();
        assert_eq!(
            code_of(cats.from_osm("amenity", "restaurant")),
            Some("dining")
        );
        assert_eq!(
            code_of(cats.from_osm("shop", "supermarket")),
            Some("supermarket")
        );
        assert_eq!(
            code_of(cats.from_osm("shop", "hairdresser")),
            Some("beauty")
        );
        assert_eq!(code_of(cats.from_osm("shop", "clothes")), Some("retail"));
        assert_eq!(
            code_of(cats.from_osm("craft", "tailor")),
            Some("daily_service")
        );
        assert_eq!(
            code_of(cats.from_osm("healthcare", "physiotherapist")),
            Some("health")
        );
    }

    #[test]
    fn unknown_values_give_none() {
        let cats = builtin();
        assert!(cats.resolve("spaceport").is_none());
        assert!(cats.resolve("").is_none());
        // 120302 住宅区 (residential) and 160100 银行 (banks) are not merchants.
        assert!(cats.resolve("120302").is_none());
        assert!(cats.resolve("160100").is_none());
        assert!(cats.from_osm("amenity", "bench").is_none());
        assert!(cats.from_osm("highway", "bus_stop").is_none());
    }

    #[test]
    fn malformed_catalogues_are_rejected() {
        let one = |extra: &str| {
            format!("[[category]]\ncode = \"dining\"\nzh = \"餐饮美食\"\nen = \"Dining\"\n{extra}")
        };
        assert!(Categories::from_toml(&one("amap = [\"05\"]")).is_ok());
        for bad_prefix in ["\"5\"", "\"050\"", "\"05a1\"", "\"0501011\""] {
            let text = one(&format!("amap = [{bad_prefix}]"));
            assert!(
                matches!(Categories::from_toml(&text), Err(CategoryError::Invalid(_))),
                "{bad_prefix} accepted"
            );
        }
        let dup_prefix = one("amap = [\"05\"]\n")
            + "[[category]]\ncode = \"cafe\"\nzh = \"咖啡\"\nen = \"Cafe\"\namap = [\"05\"]\n";
        assert!(matches!(
            Categories::from_toml(&dup_prefix),
            Err(CategoryError::Invalid(_))
        ));
        let dup_tag = one("osm = [\"amenity=cafe\", \"amenity=cafe\"]");
        assert!(Categories::from_toml(&dup_tag).is_err());
        let no_equals = one("osm = [\"amenity\"]");
        assert!(Categories::from_toml(&no_equals).is_err());
        let bad_code = one("").replace("\"dining\"", "\"Dining Out\"");
        assert!(Categories::from_toml(&bad_code).is_err());
        assert!(matches!(
            Categories::from_toml("category = 3"),
            Err(CategoryError::Toml(_))
        ));
        assert!(Categories::from_toml("category = []").is_err());
    }
}
