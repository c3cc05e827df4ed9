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
