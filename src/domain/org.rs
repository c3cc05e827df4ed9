use serde::{Deserialize, Serialize};

use super::{check_id, required_text, FieldError};

/// A level of the organisation tree: head office 总行 > province branch 省分行 > city branch
/// 市分行 > sub-branch 支行. Outlets (网点) are the leaves, stored as `Outlet`s with a parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgLevel {
    HeadOffice,
    ProvinceBranch,
    CityBranch,
    SubBranch,
}

impl OrgLevel {
    pub fn code(self) -> &'static str {
        match self {
            Self::HeadOffice => "head_office",
            Self::ProvinceBranch => "province_branch",
            Self::CityBranch => "city_branch",
            Self::SubBranch => "sub_branch",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::HeadOffice => "总行",
            Self::ProvinceBranch => "省分行",
            Self::CityBranch => "市分行",
            Self::SubBranch => "支行",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        let v = value.trim();
        [
            Self::HeadOffice,
            Self::ProvinceBranch,
            Self::CityBranch,
            Self::SubBranch,
        ]
        .into_iter()
        .find(|l| l.code() == v || l.zh() == v)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgUnitDraft {
    pub id: String,
    pub name: String,
    pub level: OrgLevel,
    pub parent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OrgUnit {
    pub id: String,
    pub name: String,
    pub level: OrgLevel,
    pub parent_id: Option<String>,
}

impl TryFrom<OrgUnitDraft> for OrgUnit {
    type Error = FieldError;

    fn try_from(d: OrgUnitDraft) -> Result<Self, FieldError> {
        match (d.level, &d.parent_id) {
            (OrgLevel::HeadOffice, Some(_)) => {
                return Err(FieldError::new(
                    "parent_id",
                    "the head office has no parent",
                ))
            }
            (l, None) if l != OrgLevel::HeadOffice => {
                return Err(FieldError::new(
                    "parent_id",
                    "every unit below the head office needs a parent",
                ))
            }
            _ => {}
        }
        Ok(Self {
            id: check_id(&d.id)?,
            name: required_text("name", &d.name)?,
            level: d.level,
            parent_id: d.parent_id,
        })
    }
}

/// Checks a whole tree: parents exist, each child sits strictly below its parent, no cycles.
pub fn check_tree(units: &[OrgUnit]) -> Result<(), FieldError> {
    use std::collections::HashMap;
    let by_id: HashMap<&str, &OrgUnit> = units.iter().map(|u| (u.id.as_str(), u)).collect();
    for u in units {
        if let Some(p) = &u.parent_id {
            let Some(parent) = by_id.get(p.as_str()) else {
                return Err(FieldError::new(
                    "parent_id",
                    format!("{}: parent {p} does not exist", u.id),
                ));
            };
            if parent.level >= u.level {
                return Err(FieldError::new(
                    "level",
                    format!(
                        "{} ({}) cannot sit under {} ({})",
                        u.id,
                        u.level.code(),
                        parent.id,
                        parent.level.code()
                    ),
                ));
            }
        }
    }
    Ok(())
}
