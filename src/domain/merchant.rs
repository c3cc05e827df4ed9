use serde::{Deserialize, Serialize};

use super::{check_id_str, check_range, optional_str, required_str, FieldError, Location};

/// Where a merchant stands in our acquisition pipeline (拓展状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PipelineStatus {
    /// 未拓展
    #[default]
    Prospect,
    /// 已拜访
    Visited,
    /// 有意向
    Interested,
    /// 已签约
    Signed,
    /// 动销
    Active,
    /// 拒绝
    Rejected,
    /// 流失
    Churned,
}

impl PipelineStatus {
    pub const ALL: [PipelineStatus; 7] = [
        Self::Prospect,
        Self::Visited,
        Self::Interested,
        Self::Signed,
        Self::Active,
        Self::Rejected,
        Self::Churned,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Prospect => "prospect",
            Self::Visited => "visited",
            Self::Interested => "interested",
            Self::Signed => "signed",
            Self::Active => "active",
            Self::Rejected => "rejected",
            Self::Churned => "churned",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::Prospect => "未拓展",
            Self::Visited => "已拜访",
            Self::Interested => "有意向",
            Self::Signed => "已签约",
            Self::Active => "动销",
            Self::Rejected => "拒绝",
            Self::Churned => "流失",
        }
    }

    /// Accepts the code or the Chinese label (also 已入驻 for signed).
    pub fn parse(value: &str) -> Option<Self> {
        let v = value.trim();
        if v.is_empty() {
            return Some(Self::Prospect);
        }
        Self::ALL
            .into_iter()
            .find(|s| s.code().eq_ignore_ascii_case(v) || s.zh() == v)
            .or(match v {
                "已入驻" => Some(Self::Signed),
                _ => None,
            })
    }
}

/// A merchant (商户) as it comes from an import, before validation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MerchantDraft {
    pub id: String,
    pub name: String,
    /// A category code already resolved against the catalogue.
    pub category: String,
    pub lon: f64,
    pub lat: f64,
    pub address: Option<String>,
    pub footfall_daily: Option<f64>,
    pub avg_spend_cny: Option<f64>,
    pub rating: Option<f64>,
    pub opening_hours: Option<String>,
    pub accepts_ecny: bool,
    pub competitor_signed: Option<String>,
    pub chain: Option<String>,
    pub status: PipelineStatus,
    /// The day the status was last set (e.g. when the merchant said no), if the data says.
    pub status_since: Option<chrono::NaiveDate>,
    /// The org node (org unit or our outlet) that owns this merchant in our pipeline.
    pub owner_org_id: Option<String>,
    /// Owner or contact person (personal information under PIPL: stored only when given).
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

/// A validated merchant in WGS-84.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Merchant {
    pub id: String,
    pub name: String,
    pub category: String,
    pub location: Location,
    pub address: Option<String>,
    /// Observed daily visitors (客流量), when the data has them.
    pub footfall_daily: Option<u32>,
    /// Average spend per person in CNY (人均消费).
    pub avg_spend_cny: Option<f64>,
    /// Rating 0–5.
    pub rating: Option<f64>,
    /// Opening hours as written in the source (OSM syntax such as `10:00-22:00` or free text).
    pub opening_hours: Option<String>,
    /// Accepts e-CNY (数字人民币).
    pub accepts_ecny: bool,
    /// The competitor bank it has already signed with, if any.
    pub competitor_signed: Option<String>,
    /// The chain it belongs to; `None` for an independent.
    pub chain: Option<String>,
    pub status: PipelineStatus,
    /// The day the status was last set (a rejection's date starts its cool-down).
    pub status_since: Option<chrono::NaiveDate>,
    /// The org node (org unit or our outlet) that owns it; `None`: only administrators see it.
    pub owner_org_id: Option<String>,
    /// Personal information: shown masked unless the caller may unmask (and that is audited);
    /// never serialised from here, so it cannot leak through a derived JSON or a log line.
    /// Boxed: most merchants have none, and inline it would cost every merchant 48 bytes.
    #[serde(skip)]
    pub contact: Option<Box<Contact>>,
}

/// A merchant's owner or contact person. Personal information under PIPL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<String>,
}

impl Contact {
    /// The contact as lists, maps and exports show it by default: 张** and 138****5678.
    pub fn masked(&self) -> Contact {
        Contact {
            name: self.name.as_deref().map(mask_name),
            phone: self.phone.as_deref().map(mask_phone),
        }
    }
}

/// Keeps the first character (the family name) and hides the rest.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// Keeps the first three and last four digits of a mobile number (138****5678); shorter
/// numbers keep only their last two.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    let n = digits.len();
    if n >= 11 {
        let head: String = digits[..3].iter().collect();
        let tail: String = digits[n - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let tail: String = digits[n.saturating_sub(2)..].iter().collect();
        format!("{}{tail}", "*".repeat(n.saturating_sub(2)))
    }
}

fn check_phone_str(phone: Option<&str>) -> Result<Option<&str>, FieldError> {
    let Some(p) = optional_str(phone) else {
        return Ok(None);
    };
    let digits = p.chars().filter(|c| c.is_ascii_digit()).count();
    let ok_chars = p
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
    if !ok_chars || !(7..=15).contains(&digits) {
        return Err(FieldError::new(
            "contact_phone",
            "is not a phone number (7–15 digits; + - ( ) and spaces allowed)",
        ));
    }
    Ok(Some(p))
}

/// A [`MerchantDraft`] borrowed from where it is stored (a database row), not yet checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct MerchantRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub category: &'a str,
    pub lon: f64,
    pub lat: f64,
    pub address: Option<&'a str>,
    pub footfall_daily: Option<f64>,
    pub avg_spend_cny: Option<f64>,
    pub rating: Option<f64>,
    pub opening_hours: Option<&'a str>,
    pub accepts_ecny: bool,
    pub competitor_signed: Option<&'a str>,
    pub chain: Option<&'a str>,
    pub status: PipelineStatus,
    pub status_since: Option<chrono::NaiveDate>,
    pub owner_org_id: Option<&'a str>,
    pub contact_name: Option<&'a str>,
    pub contact_phone: Option<&'a str>,
}

/// A valid merchant's fields borrowed from where they are stored (a database row, the index's
/// columns): start-up reads tens of millions of rows, and building an owned [`Merchant`] for each
/// only to copy it into the index's columns cost a dozen allocations a row. Built from a
/// [`MerchantRow`] by the rules [`Merchant::try_from`] applies to a draft.
#[derive(Debug, Clone, Copy)]
pub struct MerchantFields<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub category: &'a str,
    pub location: Location,
    pub address: Option<&'a str>,
    pub footfall_daily: Option<u32>,
    pub avg_spend_cny: Option<f64>,
    pub rating: Option<f64>,
    pub opening_hours: Option<&'a str>,
    pub accepts_ecny: bool,
    pub competitor_signed: Option<&'a str>,
    pub chain: Option<&'a str>,
    pub status: PipelineStatus,
    pub status_since: Option<chrono::NaiveDate>,
    pub owner_org_id: Option<&'a str>,
    pub contact_name: Option<&'a str>,
    pub contact_phone: Option<&'a str>,
}

impl<'a> MerchantFields<'a> {
    /// The row as [`Merchant::try_from`] would accept it as a draft (trimmed, blanks as `None`,
    /// ranges and ids checked), or the first field that it would refuse.
    pub fn checked(raw: MerchantRow<'a>) -> Result<Self, FieldError> {
        Ok(Self {
            id: check_id_str(raw.id)?,
            name: required_str("name", raw.name)?,
            category: required_str("category", raw.category)?,
            location: Location::new(raw.lon, raw.lat)?,
            address: optional_str(raw.address),
            footfall_daily: check_range("footfall_daily", raw.footfall_daily, 0.0, 10_000_000.0)?
                .map(|v| v.round() as u32),
            avg_spend_cny: check_range("avg_spend_cny", raw.avg_spend_cny, 0.0, 1_000_000.0)?,
            rating: check_range("rating", raw.rating, 0.0, 5.0)?,
            opening_hours: optional_str(raw.opening_hours),
            accepts_ecny: raw.accepts_ecny,
            competitor_signed: optional_str(raw.competitor_signed),
            chain: optional_str(raw.chain),
            status: raw.status,
            status_since: check_since(raw.status_since)?,
            owner_org_id: optional_str(raw.owner_org_id),
            contact_name: optional_str(raw.contact_name),
            contact_phone: check_phone_str(raw.contact_phone)?,
        })
    }

    /// The fields of an owned merchant (already checked).
    pub fn of(m: &'a Merchant) -> Self {
        Self {
            id: &m.id,
            name: &m.name,
            category: &m.category,
            location: m.location,
            address: m.address.as_deref(),
            footfall_daily: m.footfall_daily,
            avg_spend_cny: m.avg_spend_cny,
            rating: m.rating,
            opening_hours: m.opening_hours.as_deref(),
            accepts_ecny: m.accepts_ecny,
            competitor_signed: m.competitor_signed.as_deref(),
            chain: m.chain.as_deref(),
            status: m.status,
            status_since: m.status_since,
            owner_org_id: m.owner_org_id.as_deref(),
            contact_name: m.contact.as_ref().and_then(|c| c.name.as_deref()),
            contact_phone: m.contact.as_ref().and_then(|c| c.phone.as_deref()),
        }
    }

    /// The merchant as an owned value.
    pub fn to_merchant(&self) -> Merchant {
        Merchant {
            id: self.id.to_string(),
            name: self.name.to_string(),
            category: self.category.to_string(),
            location: self.location,
            address: self.address.map(str::to_string),
            footfall_daily: self.footfall_daily,
            avg_spend_cny: self.avg_spend_cny,
            rating: self.rating,
            opening_hours: self.opening_hours.map(str::to_string),
            accepts_ecny: self.accepts_ecny,
            competitor_signed: self.competitor_signed.map(str::to_string),
            chain: self.chain.map(str::to_string),
            status: self.status,
            status_since: self.status_since,
            owner_org_id: self.owner_org_id.map(str::to_string),
            contact: self.contact().map(Box::new),
        }
    }

    /// The contact, when there is one.
    pub fn contact(&self) -> Option<Contact> {
        (self.contact_name.is_some() || self.contact_phone.is_some()).then(|| Contact {
            name: self.contact_name.map(str::to_string),
            phone: self.contact_phone.map(str::to_string),
        })
    }
}

fn check_since(since: Option<chrono::NaiveDate>) -> Result<Option<chrono::NaiveDate>, FieldError> {
    match since {
        Some(day) if day > crate::domain::today() + chrono::Duration::days(1) => Err(
            FieldError::new("status_since", format!("{day} is in the future")),
        ),
        other => Ok(other),
    }
}

impl TryFrom<MerchantDraft> for Merchant {
    type Error = FieldError;

    /// By the rules of [`MerchantFields::checked`] (one set of rules for imports and loads).
    fn try_from(d: MerchantDraft) -> Result<Self, FieldError> {
        let row = MerchantRow {
            id: &d.id,
            name: &d.name,
            category: &d.category,
            lon: d.lon,
            lat: d.lat,
            address: d.address.as_deref(),
            footfall_daily: d.footfall_daily,
            avg_spend_cny: d.avg_spend_cny,
            rating: d.rating,
            opening_hours: d.opening_hours.as_deref(),
            accepts_ecny: d.accepts_ecny,
            competitor_signed: d.competitor_signed.as_deref(),
            chain: d.chain.as_deref(),
            status: d.status,
            status_since: d.status_since,
            owner_org_id: d.owner_org_id.as_deref(),
            contact_name: d.contact_name.as_deref(),
            contact_phone: d.contact_phone.as_deref(),
        };
        Ok(MerchantFields::checked(row)?.to_merchant())
    }
}

impl Merchant {
    /// The draft this merchant was built from, e.g. to change one field and validate again.
    pub fn to_draft(&self) -> MerchantDraft {
        MerchantDraft {
            id: self.id.clone(),
            name: self.name.clone(),
            category: self.category.clone(),
            lon: self.location.lon(),
            lat: self.location.lat(),
            address: self.address.clone(),
            footfall_daily: self.footfall_daily.map(f64::from),
            avg_spend_cny: self.avg_spend_cny,
            rating: self.rating,
            opening_hours: self.opening_hours.clone(),
            accepts_ecny: self.accepts_ecny,
            competitor_signed: self.competitor_signed.clone(),
            chain: self.chain.clone(),
            status: self.status,
            status_since: self.status_since,
            owner_org_id: self.owner_org_id.clone(),
            contact_name: self.contact.as_ref().and_then(|c| c.name.clone()),
            contact_phone: self.contact.as_ref().and_then(|c| c.phone.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> MerchantDraft {
        MerchantDraft {
            id: "m1".into(),
            name: " 张公桥甜皮鸭 ".into(),
            category: "dining".into(),
            lon: 103.76,
            lat: 29.57,
            rating: Some(4.5),
            ..Default::default()
        }
    }

    #[test]
    fn builds_and_trims() {
        let m = Merchant::try_from(draft()).unwrap();
        assert_eq!(m.name, "张公桥甜皮鸭");
        assert_eq!(m.status, PipelineStatus::Prospect);
    }

    #[test]
    fn names_the_bad_field() {
        let mut d = draft();
        d.rating = Some(7.0);
        assert_eq!(Merchant::try_from(d).unwrap_err().field, "rating");
        let mut d = draft();
        d.name = "  ".into();
        assert_eq!(Merchant::try_from(d).unwrap_err().field, "name");
        let mut d = draft();
        d.lat = f64::NAN;
        assert_eq!(Merchant::try_from(d).unwrap_err().field, "lat");
    }

    #[test]
    fn contacts_are_masked_and_phones_checked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("+86 138-1234-5678"), "861****5678");
        assert_eq!(mask_phone("2123456"), "*****56");
        assert_eq!(mask_name("张三丰"), "张**");
        let mut d = draft();
        d.contact_phone = Some("call me".into());
        assert_eq!(Merchant::try_from(d).unwrap_err().field, "contact_phone");
        let mut d = draft();
        d.contact_name = Some("王老板".into());
        let m = Merchant::try_from(d).unwrap();
        assert_eq!(m.contact.unwrap().masked().name.as_deref(), Some("王**"));
        assert!(Merchant::try_from(draft()).unwrap().contact.is_none());
    }

    #[test]
    fn status_parses_codes_and_chinese() {
        assert_eq!(
            PipelineStatus::parse("已签约"),
            Some(PipelineStatus::Signed)
        );
        assert_eq!(
            PipelineStatus::parse("SIGNED"),
            Some(PipelineStatus::Signed)
        );
        assert_eq!(PipelineStatus::parse(""), Some(PipelineStatus::Prospect));
        assert_eq!(PipelineStatus::parse("maybe"), None);
    }
}
