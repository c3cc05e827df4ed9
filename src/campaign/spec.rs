//! What a team writes down about a campaign (stored, editable): its name, owning org unit,
//! target area, period, types, budget, the assumptions it moved away from the defaults, its
//! seed communities and its calendar edits. Everything a plan shows is computed from this.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::estimate::{Assumptions, Defaults};
use super::CampaignType;
use crate::domain::{FieldError, ValidPolygon};

/// Longest campaign, in calendar months.
pub const MAX_MONTHS: u32 = 24;

/// Where a campaign works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// A stored area (商圈 / food street).
    Area { area_id: String },
    /// One of our outlets' life circles: the circle of `minutes` (5, 10 or 15).
    Outlet { outlet_id: String, minutes: u32 },
    /// A polygon drawn on the map: rings of `[lon, lat]` in WGS-84 (the HTTP layer converts).
    Polygon { coordinates: Vec<Vec<[f64; 2]>> },
}

impl Target {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Area { .. } => "area",
            Self::Outlet { .. } => "outlet",
            Self::Polygon { .. } => "polygon",
        }
    }
}

/// The budget: subsidy per transaction and per user, and the total subsidy budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// Total subsidy budget, CNY; `None`: no total cap.
    #[serde(default)]
    pub total_cny: Option<f64>,
    /// CNY per transaction (立减); default from `data/campaign.toml`.
    #[serde(default)]
    pub subsidy_per_txn_cny: Option<f64>,
    /// At most this much per user over the campaign; default from `data/campaign.toml`.
    #[serde(default)]
    pub cap_per_user_cny: Option<f64>,
}

/// A team's change to one month of the proposed calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarEdit {
    /// `YYYY-MM`.
    pub month: String,
    #[serde(default)]
    pub activity: Option<CampaignType>,
    #[serde(default)]
    pub theme_zh: Option<String>,
    #[serde(default)]
    pub theme_en: Option<String>,
}

impl CalendarEdit {
    /// The first day of the edited month.
    pub fn first_day(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(&format!("{}-01", self.month), "%Y-%m-%d").ok()
    }
}

/// A campaign as the team wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    pub name: String,
    /// The org unit that owns it (default: the creator's own node).
    #[serde(default)]
    pub owner_org_id: Option<String>,
    pub target: Target,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub types: Vec<CampaignType>,
    #[serde(default = "no_budget")]
    pub budget: BudgetSpec,
    /// Assumptions moved away from the defaults (`data/campaign.toml`), by name.
    #[serde(default)]
    pub assumptions: Map<String, Value>,
    /// Seed users; default from the seed communities' bank customers.
    #[serde(default)]
    pub seed_users: Option<f64>,
    /// Seed communities chosen by the team (ids); default: the proposed ones.
    #[serde(default)]
    pub seed_communities: Option<Vec<String>>,
    /// The weekly member day (`mon`…`sun` or 周一…周日); default Wednesday when the campaign
    /// is habit-forming.
    #[serde(default)]
    pub member_weekday: Option<String>,
    #[serde(default)]
    pub calendar: Vec<CalendarEdit>,
    #[serde(default)]
    pub notes: Option<String>,
}

fn no_budget() -> BudgetSpec {
    BudgetSpec {
        total_cny: None,
        subsidy_per_txn_cny: None,
        cap_per_user_cny: None,
    }
}

/// Calendar months from `start`'s to `end`'s, both included.
pub fn months_between(start: NaiveDate, end: NaiveDate) -> u32 {
    let a = start.year() * 12 + start.month0() as i32;
    let b = end.year() * 12 + end.month0() as i32;
    (b - a + 1).max(0) as u32
}

fn money(field: &str, v: Option<f64>) -> Result<(), FieldError> {
    match v {
        Some(x) if !x.is_finite() || !(0.0..=1e10).contains(&x) => Err(FieldError::new(
            field,
            "must be a number of CNY from 0 to 10,000,000,000",
        )),
        _ => Ok(()),
    }
}

impl CampaignSpec {
    /// Checks everything that does not need the data (the HTTP layer checks that the owner,
    /// the area or the outlet exist and are the caller's); the error names the field.
    pub fn validate(&self, defaults: &Defaults) -> Result<(), FieldError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(FieldError::new("name", "1 to 80 characters"));
        }
        if self.end < self.start {
            return Err(FieldError::new("end", "must not be before start"));
        }
        let months = months_between(self.start, self.end);
        if months > MAX_MONTHS {
            return Err(FieldError::new(
                "end",
                format!("a campaign lasts at most {MAX_MONTHS} months, this one {months}"),
            ));
        }
        if self.types.is_empty() {
            return Err(FieldError::new(
                "types",
                "at least one of referral, habit, event, welfare",
            ));
        }
        for (i, t) in self.types.iter().enumerate() {
            if self.types[..i].contains(t) {
                return Err(FieldError::new(
                    format!("types[{i}]"),
                    format!("{} is listed twice", t.code()),
                ));
            }
        }
        match &self.target {
            Target::Area { area_id } if area_id.trim().is_empty() => {
                return Err(FieldError::new("target.area_id", "is empty"));
            }
            Target::Outlet { minutes, .. } if ![5, 10, 15].contains(minutes) => {
                return Err(FieldError::new("target.minutes", "5, 10 or 15"));
            }
            Target::Polygon { coordinates } => {
                ValidPolygon::from_rings(coordinates).map_err(|e| {
                    FieldError::new(format!("target.coordinates: {}", e.field), e.reason)
                })?;
            }
            _ => {}
        }
        money("budget.total_cny", self.budget.total_cny)?;
        money(
            "budget.subsidy_per_txn_cny",
            self.budget.subsidy_per_txn_cny,
        )?;
        money("budget.cap_per_user_cny", self.budget.cap_per_user_cny)?;
        self.assumptions_over(&defaults.assumptions)?;
        if let Some(s) = self.seed_users {
            if !s.is_finite() || !(0.0..=1e7).contains(&s) {
                return Err(FieldError::new("seed_users", "must be 0..=10,000,000"));
            }
        }
        if let Some(w) = &self.member_weekday {
            if super::calendar::parse_weekday(w).is_none() {
                return Err(FieldError::new(
                    "member_weekday",
                    format!("{w:?}: use mon…sun or 周一…周日"),
                ));
            }
        }
        for (i, e) in self.calendar.iter().enumerate() {
            let Some(first) = e.first_day() else {
                return Err(FieldError::new(
                    format!("calendar[{i}].month"),
                    format!("{:?}: use YYYY-MM", e.month),
                ));
            };
            let start_month = self.start.with_day(1).unwrap_or(self.start);
            if first < start_month || first > self.end {
                return Err(FieldError::new(
                    format!("calendar[{i}].month"),
                    format!("{} is outside the campaign's period", e.month),
                ));
            }
        }
        if self
            .notes
            .as_ref()
            .is_some_and(|n| n.chars().count() > 4000)
        {
            return Err(FieldError::new("notes", "at most 4,000 characters"));
        }
        Ok(())
    }

    /// The defaults with this campaign's changes (the budget's per-transaction subsidy and
    /// per-user cap included); unknown names and values out of range name the field.
    pub fn assumptions_over(&self, base: &Assumptions) -> Result<Assumptions, FieldError> {
        let mut v = serde_json::to_value(base)
            .map_err(|e| FieldError::new("assumptions", e.to_string()))?;
        let Some(obj) = v.as_object_mut() else {
            return Err(FieldError::new("assumptions", "not an object"));
        };
        for (k, val) in &self.assumptions {
            if !obj.contains_key(k) {
                let known: Vec<&str> = obj.keys().map(String::as_str).collect();
                return Err(FieldError::new(
                    format!("assumptions.{k}"),
                    format!("unknown; known: {}", known.join(", ")),
                ));
            }
            if !val.is_number() {
                return Err(FieldError::new(
                    format!("assumptions.{k}"),
                    "must be a number",
                ));
            }
            obj.insert(k.clone(), val.clone());
        }
        if let Some(s) = self.budget.subsidy_per_txn_cny {
            obj.insert("subsidy_per_txn_cny".into(), Value::from(s));
        }
        if let Some(c) = self.budget.cap_per_user_cny {
            obj.insert("subsidy_cap_per_user_cny".into(), Value::from(c));
        }
        let a: Assumptions = serde_json::from_value(v).map_err(|e| {
            // A fraction where a whole number is wanted (generations).
            FieldError::new("assumptions", e.to_string())
        })?;
        a.validate("assumptions.")?;
        Ok(a)
    }

    pub fn months(&self) -> u32 {
        months_between(self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> CampaignSpec {
        serde_json::from_value(json!({
            "name": "张公桥好吃街生态圈",
            "target": {"kind": "area", "area_id": "A01"},
            "start": "2026-01-01", "end": "2026-12-31",
            "types": ["event", "referral", "habit"],
            "budget": {"total_cny": 200000},
            "assumptions": {"participation": 0.1}
        }))
        .unwrap()
    }

    #[test]
    fn a_campaign_from_json_with_defaults() {
        let d = Defaults::builtin().unwrap();
        let s = spec();
        s.validate(&d).unwrap();
        assert_eq!(s.months(), 12);
        let a = s.assumptions_over(&d.assumptions).unwrap();
        assert_eq!(a.participation, 0.1);
        assert_eq!(a.conversion, d.assumptions.conversion);
    }

    #[test]
    fn errors_name_the_field() {
        let d = Defaults::builtin().unwrap();
        let cases: Vec<(Value, &str)> = vec![
            (json!({"name": " "}), "name"),
            (json!({"end": "2025-12-01"}), "end"),
            (json!({"end": "2028-06-01"}), "end"),
            (json!({"types": []}), "types"),
            (json!({"types": ["event", "event"]}), "types[1]"),
            (
                json!({"assumptions": {"participaton": 0.1}}),
                "assumptions.participaton",
            ),
            (
                json!({"assumptions": {"participation": 2}}),
                "assumptions.participation",
            ),
            (
                json!({"assumptions": {"conversion": "high"}}),
                "assumptions.conversion",
            ),
            (json!({"budget": {"total_cny": -5}}), "budget.total_cny"),
            (
                json!({"target": {"kind": "outlet", "outlet_id": "OUT01", "minutes": 7}}),
                "target.minutes",
            ),
            (json!({"member_weekday": "someday"}), "member_weekday"),
            (
                json!({"calendar": [{"month": "2027-03"}]}),
                "calendar[0].month",
            ),
            (
                json!({"calendar": [{"month": "March"}]}),
                "calendar[0].month",
            ),
        ];
        for (patch, field) in cases {
            let mut v = serde_json::to_value(spec()).unwrap();
            for (k, val) in patch.as_object().unwrap() {
                v[k] = val.clone();
            }
            let s: CampaignSpec = serde_json::from_value(v).unwrap();
            let e = s.validate(&d).unwrap_err();
            assert_eq!(e.field, field, "{patch}: {e:?}");
        }
    }

    #[test]
    fn a_drawn_polygon_is_checked() {
        let d = Defaults::builtin().unwrap();
        let mut s = spec();
        s.target = Target::Polygon {
            coordinates: vec![vec![[103.7, 29.5], [103.71, 29.5], [103.7, 29.5]]],
        };
        let e = s.validate(&d).unwrap_err();
        assert!(e.field.starts_with("target.coordinates"), "{e:?}");
    }

    #[test]
    fn months_count_calendar_months() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(months_between(d("2026-01-15"), d("2026-01-20")), 1);
        assert_eq!(months_between(d("2026-11-15"), d("2027-02-01")), 4);
    }
}
