//! Plain domain types and their rules: no HTTP, no SQL. Every value here is validated when it is
//! built (through `new`/`TryFrom` on a draft), so the rest of ecomap can trust it.

mod area;
mod category;
mod community;
mod error;
mod location;
mod merchant;
mod org;
mod outlet;
mod polygon;

pub use area::{Area, AreaDraft, AreaKind};
pub use category::{Categories, Category, CategoryError};
pub use community::{Community, CommunityDraft, CommunityShape};
pub use error::FieldError;
pub use location::{BBox, Location};
pub use merchant::{
    mask_name, mask_phone, Contact, Merchant, MerchantDraft, MerchantFields, MerchantRow,
    PipelineStatus,
};
pub use org::{check_tree, OrgLevel, OrgUnit, OrgUnitDraft};
pub use outlet::{Outlet, OutletDraft, OutletKind};
pub use polygon::ValidPolygon;

/// Everything ecomap stores, as loaded from the database at start.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub org_units: Vec<OrgUnit>,
    pub outlets: Vec<Outlet>,
    pub merchants: Vec<Merchant>,
    pub communities: Vec<Community>,
    pub areas: Vec<Area>,
}

/// Checks a required, trimmed, non-empty text field.
pub(crate) fn required_text(field: &'static str, value: &str) -> Result<String, FieldError> {
    required_str(field, value).map(str::to_string)
}

/// [`required_text`] without a copy: the trimmed text.
pub(crate) fn required_str<'a>(field: &'static str, value: &'a str) -> Result<&'a str, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    // A text of at most 200 bytes has at most 200 characters: count only longer ones (start-up
    // checks 30M names this way).
    if v.len() > 200 && v.chars().count() > 200 {
        return Err(FieldError::new(field, "longer than 200 characters"));
    }
    Ok(v)
}

/// An optional text field: blank becomes `None`.
pub(crate) fn optional_text(value: Option<String>) -> Option<String> {
    value
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// [`optional_text`] without a copy.
pub(crate) fn optional_str(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|s| !s.is_empty())
}

/// Checks that an optional number is finite and within `[min, max]`.
pub(crate) fn check_range(
    field: &'static str,
    value: Option<f64>,
    min: f64,
    max: f64,
) -> Result<Option<f64>, FieldError> {
    match value {
        None => Ok(None),
        Some(v) if !v.is_finite() => Err(FieldError::new(field, "is not a finite number")),
        Some(v) if v < min || v > max => Err(FieldError::new(
            field,
            format!("{v} is outside the allowed range {min}..={max}"),
        )),
        Some(v) => Ok(Some(v)),
    }
}

/// Checks that an id is usable in URLs and files: 1–64 characters, no whitespace or slash.
pub(crate) fn check_id(value: &str) -> Result<String, FieldError> {
    check_id_str(value).map(str::to_string)
}

/// [`check_id`] without a copy: the trimmed id.
pub(crate) fn check_id_str(value: &str) -> Result<&str, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new("id", "must not be empty"));
    }
    if v.len() > 64 && v.chars().count() > 64 {
        return Err(FieldError::new("id", "longer than 64 characters"));
    }
    if v.chars()
        .any(|c| c.is_whitespace() || c == '/' || c == '?' || c == '#')
    {
        return Err(FieldError::new(
            "id",
            format!("{v:?} contains whitespace, '/', '?' or '#'"),
        ));
    }
    Ok(v)
}

/// Today in China Standard Time (UTC+8), the calendar the banks' users live by.
pub fn today() -> chrono::NaiveDate {
    let now = chrono::Utc::now();
    chrono::FixedOffset::east_opt(8 * 3600).map_or_else(
        || now.date_naive(),
        |cst| now.with_timezone(&cst).date_naive(),
    )
}
