//! The organisation tree from CSV (`id, name, level, parent_id`, or 编号, 名称, 级别, 上级编号),
//! UTF-8 (BOM or not) or GB18030. Small files kept by administrators; all or nothing.

use std::collections::HashMap;

use super::{ImportError, RowError, MAX_ERRORS};
use crate::domain::{OrgLevel, OrgUnit, OrgUnitDraft};

fn decode(bytes: &[u8]) -> Result<String, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let (text, _, bad) = encoding_rs::GB18030.decode(bytes);
    if bad {
        return Err(one(None, "encoding", "neither UTF-8 nor GB18030"));
    }
    Ok(text.into_owned())
}

fn one(row: Option<usize>, field: &str, reason: &str) -> ImportError {
    ImportError {
        errors: vec![RowError {
            row,
            feature: None,
            field: field.into(),
            reason: reason.into(),
        }],
        truncated: false,
    }
}

pub fn parse_org_units(bytes: &[u8]) -> Result<Vec<OrgUnit>, ImportError> {
    let text = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| one(Some(1), "header", &e.to_string()))?
        .clone();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let id = col(&["id", "编号", "机构编号"]);
    let name = col(&["name", "名称", "机构名称"]);
    let level = col(&["level", "级别", "层级"]);
    let parent = col(&["parent_id", "上级编号", "上级机构"]);
    let (Some(id), Some(name), Some(level)) = (id, name, level) else {
        return Err(one(
            Some(1),
            "header",
            "the org file needs columns id, name, level (and parent_id)",
        ));
    };
    let mut units = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, rec) in reader.records().enumerate() {
        let row = i + 2;
        let mut err = |field: &str, reason: String| {
            errors.push(RowError {
                row: Some(row),
                feature: None,
                field: field.into(),
                reason,
            })
        };
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                err("row", e.to_string());
                continue;
            }
        };
        let get = |c: usize| rec.get(c).map(str::trim).unwrap_or("");
        let Some(lvl) = OrgLevel::parse(get(level)) else {
            err(
                "level",
                format!(
                    "{:?}: use head_office, province_branch, city_branch or sub_branch (总行/省分行/市分行/支行)",
                    get(level)
                ),
            );
            continue;
        };
        let parent_id = parent
            .map(get)
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        match OrgUnit::try_from(OrgUnitDraft {
            id: get(id).to_string(),
            name: get(name).to_string(),
            level: lvl,
            parent_id,
        }) {
            Ok(u) => {
                if let Some(first) = seen.insert(u.id.clone(), row) {
                    err("id", format!("{:?} already used on row {first}", u.id));
                } else {
                    units.push(u);
                }
            }
            Err(e) => err(&e.field, e.reason),
        }
        if errors.len() >= MAX_ERRORS {
            return Err(ImportError {
                errors,
                truncated: true,
            });
        }
    }
    if errors.is_empty() {
        Ok(units)
    } else {
        Err(ImportError {
            errors,
            truncated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_headers_and_levels_build_a_tree() {
        let csv = "编号,名称,级别,上级编号\nHO,总行,总行,\nSC,四川省分行,省分行,HO\n";
        let units = parse_org_units(csv.as_bytes()).unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(units[1].parent_id.as_deref(), Some("HO"));
        assert_eq!(units[1].level, OrgLevel::ProvinceBranch);
    }

    #[test]
    fn bad_level_and_duplicate_id_are_named_by_row() {
        let csv = "id,name,level,parent_id\nHO,总行,head_office,\nX,某行,village,HO\nHO,又一个,head_office,\n";
        let e = parse_org_units(csv.as_bytes()).unwrap_err();
        assert_eq!(e.errors.len(), 2);
        assert_eq!(
            (e.errors[0].row, e.errors[0].field.as_str()),
            (Some(3), "level")
        );
        assert_eq!(
            (e.errors[1].row, e.errors[1].field.as_str()),
            (Some(4), "id")
        );
    }
}
