use serde::{Deserialize, Serialize};

use super::{check_id, required_text, FieldError, ValidPolygon};

/// What an area groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AreaKind {
    /// 商圈
    #[default]
    BusinessDistrict,
    /// 美食街 / 好吃街
    FoodStreet,
}

impl AreaKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::BusinessDistrict => "business_district",
            Self::FoodStreet => "food_street",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::BusinessDistrict => "商圈",
            Self::FoodStreet => "美食街",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        let v = value.trim();
        [Self::BusinessDistrict, Self::FoodStreet]
            .into_iter()
            .find(|k| k.code().eq_ignore_ascii_case(v) || k.zh() == v)
            .or(match v {
                "" => Some(Self::BusinessDistrict),
                "好吃街" | "小吃街" | "美食街区" => Some(Self::FoodStreet),
                _ => None,
            })
    }
}

#[derive(Debug, Clone, Default)]
pub struct AreaDraft {
    pub id: String,
    pub name: String,
    pub kind: AreaKind,
    /// Rings of `[lon, lat]` in WGS-84.
    pub polygon: Vec<Vec<[f64; 2]>>,
    pub owner_org_id: Option<String>,
}

/// A business district or a food street (商圈 / 好吃街): a named polygon that groups merchants.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Area {
    pub id: String,
    pub name: String,
    pub kind: AreaKind,
    pub polygon: ValidPolygon,
    /// The org node that owns it; `None`: only administrators see it.
    pub owner_org_id: Option<String>,
}

impl TryFrom<AreaDraft> for Area {
    type Error = FieldError;

    fn try_from(d: AreaDraft) -> Result<Self, FieldError> {
        Ok(Self {
            id: check_id(&d.id)?,
            name: required_text("name", &d.name)?,
            kind: d.kind,
            polygon: ValidPolygon::from_rings(&d.polygon)?,
            owner_org_id: d
                .owner_org_id
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        })
    }
}
