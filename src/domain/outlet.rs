use serde::{Deserialize, Serialize};

use super::{check_id, optional_text, required_text, FieldError, Location};

/// What kind of place an outlet (网点) serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OutletKind {
    /// 商圈型
    BusinessDistrict,
    /// 社区型
    Community,
    /// 综合型
    #[default]
    Mixed,
}

impl OutletKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::BusinessDistrict => "business_district",
            Self::Community => "community",
            Self::Mixed => "mixed",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::BusinessDistrict => "商圈型",
            Self::Community => "社区型",
            Self::Mixed => "综合型",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        let v = value.trim();
        [Self::BusinessDistrict, Self::Community, Self::Mixed]
            .into_iter()
            .find(|k| k.code().eq_ignore_ascii_case(v) || k.zh() == v)
            .or(match v {
                "" | "混合型" => Some(Self::Mixed),
                "商圈" => Some(Self::BusinessDistrict),
                "社区" => Some(Self::Community),
                _ => None,
            })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OutletDraft {
    pub id: String,
    pub name: String,
    /// `None` for our own bank's outlet; the bank's name for a competitor's.
    pub competitor_bank: Option<String>,
    pub kind: OutletKind,
    /// The org unit (usually a sub-branch) our outlet reports to; competitors have none.
    pub parent_org_id: Option<String>,
    pub address: Option<String>,
    pub lon: f64,
    pub lat: f64,
}

/// A bank outlet (网点), ours or a competitor's, in WGS-84.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Outlet {
    pub id: String,
    pub name: String,
    pub competitor_bank: Option<String>,
    pub kind: OutletKind,
    pub parent_org_id: Option<String>,
    pub address: Option<String>,
    pub location: Location,
}

impl Outlet {
    pub fn is_ours(&self) -> bool {
        self.competitor_bank.is_none()
    }

    pub fn to_draft(&self) -> OutletDraft {
        OutletDraft {
            id: self.id.clone(),
            name: self.name.clone(),
            competitor_bank: self.competitor_bank.clone(),
            kind: self.kind,
            parent_org_id: self.parent_org_id.clone(),
            address: self.address.clone(),
            lon: self.location.lon(),
            lat: self.location.lat(),
        }
    }
}

impl TryFrom<OutletDraft> for Outlet {
    type Error = FieldError;

    fn try_from(d: OutletDraft) -> Result<Self, FieldError> {
        let competitor_bank = optional_text(d.competitor_bank);
        let parent_org_id = optional_text(d.parent_org_id);
        if competitor_bank.is_some() && parent_org_id.is_some() {
            return Err(FieldError::new(
                "parent_org_id",
                "a competitor's outlet cannot belong to our organisation",
            ));
        }
        Ok(Self {
            id: check_id(&d.id)?,
            name: required_text("name", &d.name)?,
            competitor_bank,
            kind: d.kind,
            parent_org_id,
            address: optional_text(d.address),
            location: Location::new(d.lon, d.lat)?,
        })
    }
}
