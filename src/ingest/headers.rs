//! Column names: the fields an import understands, their English and Chinese aliases, and how a
//! header row (or a GeoJSON feature's property keys) is mapped onto them. Shared by the CSV and
//! GeoJSON readers so that both accept exactly the same names.

use std::collections::HashMap;

use crate::domain::FieldError;

use super::ImportKind;

/// A field that an import can fill, whatever the column is called in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Field {
    Id,
    Name,
    Category,
    /// AMap's `typecode`, kept apart from `category` because AMap exports carry both a `type`
    /// text ("餐饮服务;中餐厅;中餐厅") and a `typecode` ("050100"): treating them as aliases of one
    /// field would reject every AMap export as having a duplicate column.
    TypeCode,
    Lon,
    Lat,
    Address,
    Households,
    Population,
    AvgHousePrice,
    BankCustomers,
    Footfall,
    AvgSpend,
    Rating,
    OpeningHours,
    AcceptsEcny,
    CompetitorSigned,
    Chain,
    Status,
    StatusSince,
    Bank,
    Kind,
    ParentOrgId,
    OwnerOrgId,
    ContactName,
    ContactPhone,
    Geometry,
}

/// Aliases, lower-case (matching lower-cases ASCII; Chinese has no case). `序号` (a row counter
/// Excel users add) is deliberately not an id alias: it is renumbered whenever rows are sorted,
/// so it would give the same place a different id on every import.
const ALIASES: &[(Field, &[&str])] = &[
    (
        Field::Id,
        &["id", "编号", "商户编号", "网点编号", "小区编号", "poi_id"],
    ),
    (
        Field::Name,
        &[
            "name",
            "名称",
            "商户名称",
            "网点名称",
            "小区名称",
            "商圈名称",
        ],
    ),
    (
        Field::Category,
        &["category", "type", "类别", "类型", "业态", "分类", "行业"],
    ),
    (Field::TypeCode, &["typecode", "type_code", "类型编码"]),
    (Field::Lon, &["lon", "lng", "longitude", "x", "经度"]),
    (Field::Lat, &["lat", "latitude", "y", "纬度"]),
    (Field::Address, &["address", "地址"]),
    (Field::Households, &["households", "户数", "总户数"]),
    (Field::Population, &["population", "人口", "常住人口"]),
    (
        Field::AvgHousePrice,
        &[
            "avg_house_price_cny_m2",
            "avg_house_price",
            "均价",
            "房价",
            "房屋均价",
        ],
    ),
    (
        Field::BankCustomers,
        &["bank_customers", "我行客户数", "本行客户数"],
    ),
    (
        Field::Footfall,
        &["footfall_daily", "footfall", "客流量", "日客流量"],
    ),
    (
        Field::AvgSpend,
        &["avg_spend_cny", "avg_spend", "人均消费", "人均"],
    ),
    (Field::Rating, &["rating", "评分"]),
    (Field::OpeningHours, &["opening_hours", "营业时间"]),
    (
        Field::AcceptsEcny,
        &["accepts_ecny", "数字人民币", "支持数字人民币"],
    ),
    (
        Field::CompetitorSigned,
        &["competitor_signed", "已签约他行", "签约他行"],
    ),
    (Field::Chain, &["chain", "连锁品牌", "品牌"]),
    (Field::Status, &["status", "状态", "拓展状态"]),
    (
        Field::StatusSince,
        &[
            "status_since",
            "status_date",
            "状态日期",
            "状态更新日期",
            "拒绝日期",
        ],
    ),
    (Field::Bank, &["bank", "银行", "所属银行"]),
    (Field::Kind, &["kind", "网点类型", "商圈类型"]),
    (
        Field::ParentOrgId,
        &["parent_org_id", "所属机构", "所属支行"],
    ),
    (
        Field::OwnerOrgId,
        &["owner_org_id", "owner", "所属网点", "归属网点", "归属机构"],
    ),
    (
        Field::ContactName,
        &["contact_name", "contact", "联系人", "负责人", "店主"],
    ),
    (
        Field::ContactPhone,
        &[
            "contact_phone",
            "phone",
            "tel",
            "联系电话",
            "电话",
            "手机",
            "手机号",
        ],
    ),
    (Field::Geometry, &["geometry", "wkt", "边界", "范围"]),
];

impl Field {
    /// The canonical name, used in error messages and by API clients.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Name => "name",
            Field::Category => "category",
            Field::TypeCode => "typecode",
            Field::Lon => "lon",
            Field::Lat => "lat",
            Field::Address => "address",
            Field::Households => "households",
            Field::Population => "population",
            Field::AvgHousePrice => "avg_house_price_cny_m2",
            Field::BankCustomers => "bank_customers",
            Field::Footfall => "footfall_daily",
            Field::AvgSpend => "avg_spend_cny",
            Field::Rating => "rating",
            Field::OpeningHours => "opening_hours",
            Field::AcceptsEcny => "accepts_ecny",
            Field::CompetitorSigned => "competitor_signed",
            Field::Chain => "chain",
            Field::Status => "status",
            Field::StatusSince => "status_since",
            Field::Bank => "bank",
            Field::Kind => "kind",
            Field::ParentOrgId => "parent_org_id",
            Field::OwnerOrgId => "owner_org_id",
            Field::ContactName => "contact_name",
            Field::ContactPhone => "contact_phone",
            Field::Geometry => "geometry",
        }
    }

    /// The Chinese column name we suggest in messages (the first Chinese alias).
    pub(crate) fn zh(self) -> Option<&'static str> {
        ALIASES
            .iter()
            .find(|(f, _)| *f == self)
            .and_then(|(_, names)| names.iter().find(|n| !n.is_ascii()).copied())
    }

    /// Whether this kind of import reads the field; other columns are ignored.
    pub(crate) fn used_by(self, kind: ImportKind) -> bool {
        use Field::*;
        match kind {
            ImportKind::Outlets => matches!(
                self,
                Id | Name | Lon | Lat | Address | Bank | Kind | ParentOrgId | Geometry
            ),
            ImportKind::Merchants => matches!(
                self,
                Id | Name
                    | Category
                    | TypeCode
                    | Lon
                    | Lat
                    | Address
                    | Footfall
                    | AvgSpend
                    | Rating
                    | OpeningHours
                    | AcceptsEcny
                    | CompetitorSigned
                    | Chain
                    | Status
                    | StatusSince
                    | OwnerOrgId
                    | ContactName
                    | ContactPhone
                    | Geometry
            ),
            ImportKind::Communities => matches!(
                self,
                Id | Name
                    | Lon
                    | Lat
                    | Address
                    | Households
                    | Population
                    | AvgHousePrice
                    | BankCustomers
                    | OwnerOrgId
                    | Geometry
            ),
            ImportKind::Areas => matches!(self, Id | Name | Kind | OwnerOrgId | Geometry),
        }
    }
}

/// "name (名称)": how a field is named to a user who may write either language.
pub(crate) fn describe(field: Field) -> String {
    match field.zh() {
        Some(zh) => format!("{} ({zh})", field.name()),
        None => field.name().to_string(),
    }
}

/// Normalises a header: strips a BOM, spaces, `*` required-markers and a trailing bracketed
/// note such as a unit or coordinate system ("经度(GCJ-02)", "均价（元/㎡）"), then lower-cases.
pub(crate) fn normalize(header: &str) -> String {
    let mut h = header
        .trim_start_matches('\u{feff}')
        .trim()
        .trim_matches('*');
    for open in ['(', '（', '[', '【'] {
        if let Some(i) = h.find(open) {
            if i > 0 {
                h = &h[..i];
            }
        }
    }
    h.trim().to_lowercase()
}

/// The field a header names, if any.
pub(crate) fn resolve(header: &str) -> Option<Field> {
    let h = normalize(header);
    ALIASES
        .iter()
        .find(|(_, names)| names.contains(&h.as_str()))
        .map(|(f, _)| *f)
}

/// Maps column names onto fields for one kind of import: `None` for a column that is ignored.
/// Errors name fields that more than one column means.
///
/// Outlets and areas have no category, so a lone `type`/`类型` column there means the outlet or
/// area type (网点类型 / 商圈类型) rather than being ignored.
pub(crate) fn resolve_columns(
    kind: ImportKind,
    names: &[&str],
) -> (Vec<Option<Field>>, Vec<FieldError>) {
    let mut fields: Vec<Option<Field>> = names.iter().map(|n| resolve(n)).collect();
    if matches!(kind, ImportKind::Outlets | ImportKind::Areas)
        && !fields.contains(&Some(Field::Kind))
        && fields
            .iter()
            .filter(|f| **f == Some(Field::Category))
            .count()
            == 1
    {
        for f in fields.iter_mut().filter(|f| **f == Some(Field::Category)) {
            *f = Some(Field::Kind);
        }
    }
    let mut first: HashMap<Field, usize> = HashMap::new();
    let mut errors = Vec::new();
    for (i, f) in fields.iter_mut().enumerate() {
        let Some(field) = *f else { continue };
        if !field.used_by(kind) {
            *f = None;
            continue;
        }
        match first.get(&field) {
            Some(&j) => {
                errors.push(FieldError::new(
                    field.name(),
                    format!(
                        "columns {:?} and {:?} both mean {}; keep one",
                        names[j].trim_start_matches('\u{feff}').trim(),
                        names[i].trim(),
                        field.name()
                    ),
                ));
                *f = None;
            }
            None => {
                first.insert(field, i);
            }
        }
    }
    (fields, errors)
}

/// The columns a CSV file of `kind` must have, given the fields it has; one error per missing
/// column. A geometry column stands in for lon/lat.
pub(crate) fn missing_columns(kind: ImportKind, present: &[Field]) -> Vec<FieldError> {
    let has = |f: Field| present.contains(&f);
    let mut missing = Vec::new();
    if !has(Field::Name) {
        missing.push(Field::Name);
    }
    match kind {
        ImportKind::Areas => {
            if !has(Field::Geometry) {
                missing.push(Field::Geometry);
            }
        }
        _ => {
            if !has(Field::Geometry) {
                for f in [Field::Lon, Field::Lat] {
                    if !has(f) {
                        missing.push(f);
                    }
                }
            }
        }
    }
    if kind == ImportKind::Merchants && !has(Field::Category) && !has(Field::TypeCode) {
        missing.push(Field::Category);
    }
    if kind == ImportKind::Communities && !has(Field::Households) {
        missing.push(Field::Households);
    }
    missing
        .into_iter()
        .map(|f| {
            let hint = match (kind, f) {
                (ImportKind::Areas, Field::Geometry) => {
                    " (an area needs a polygon as WKT or GeoJSON)".to_string()
                }
                (_, Field::Lon | Field::Lat) => " (or a geometry column)".to_string(),
                _ => String::new(),
            };
            FieldError::new(f.name(), format!("missing column {}{hint}", describe(f)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_alias_belongs_to_two_fields() {
        let mut seen = HashMap::new();
        for (f, names) in ALIASES {
            for n in *names {
                assert_eq!(n.to_lowercase(), *n, "alias {n} must be lower-case");
                if let Some(prev) = seen.insert(*n, *f) {
                    panic!("{n} maps to {prev:?} and {f:?}");
                }
            }
        }
    }

    #[test]
    fn every_field_has_aliases_including_its_canonical_name() {
        for (f, names) in ALIASES {
            assert!(names.contains(&f.name()), "{f:?}");
        }
    }

    #[test]
    fn headers_match_in_either_language_ignoring_case_space_and_bom() {
        assert_eq!(resolve("\u{feff}名称"), Some(Field::Name));
        assert_eq!(resolve("  Longitude "), Some(Field::Lon));
        assert_eq!(resolve("LAT"), Some(Field::Lat));
        assert_eq!(resolve("经度（GCJ-02）"), Some(Field::Lon));
        assert_eq!(resolve("*名称"), Some(Field::Name));
        assert_eq!(resolve("均价(元/㎡)"), Some(Field::AvgHousePrice));
        assert_eq!(resolve("序号"), None);
        assert_eq!(resolve("备注"), None);
    }

    #[test]
    fn two_columns_meaning_the_same_field_are_an_error() {
        let (fields, errors) = resolve_columns(ImportKind::Merchants, &["name", "名称", "lon"]);
        assert_eq!(fields, vec![Some(Field::Name), None, Some(Field::Lon)]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "name");
        assert!(errors[0].reason.contains("名称"), "{}", errors[0].reason);
    }

    #[test]
    fn duplicate_columns_the_kind_does_not_read_are_ignored() {
        let (_, errors) = resolve_columns(ImportKind::Merchants, &["户数", "总户数", "name"]);
        assert!(errors.is_empty());
    }

    #[test]
    fn a_type_column_in_an_outlet_file_means_the_outlet_kind() {
        let (fields, _) = resolve_columns(ImportKind::Outlets, &["名称", "类型"]);
        assert_eq!(fields[1], Some(Field::Kind));
        let (fields, _) = resolve_columns(ImportKind::Outlets, &["名称", "类型", "网点类型"]);
        assert_eq!(fields[1], None);
        assert_eq!(fields[2], Some(Field::Kind));
    }

    #[test]
    fn missing_columns_are_named_in_both_languages() {
        let e = missing_columns(ImportKind::Merchants, &[Field::Name, Field::Lon]);
        let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["lat", "category"]);
        assert!(e[0].reason.contains("纬度"));
        assert!(missing_columns(
            ImportKind::Communities,
            &[Field::Name, Field::Geometry, Field::Households]
        )
        .is_empty());
        let e = missing_columns(ImportKind::Areas, &[Field::Name, Field::Lon, Field::Lat]);
        assert_eq!(e[0].field, "geometry");
    }
}
