//! Writes domain values as files that ecomap (and Excel, QGIS) can read back: CSV for points,
//! GeoJSON for polygons. Used for the demo dataset and `ecomap gen --out`.

use std::io::Write;

use crate::domain::{Area, Categories, Community, Merchant, OrgUnit, Outlet};
use crate::features;
use crate::geo::crs::{from_wgs84, Crs};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write GeoJSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Seven decimals is 1.1 cm; enough to survive a round trip through GCJ-02.
fn coord(v: f64) -> String {
    format!("{v:.7}")
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_default()
}

/// A text cell that Excel will not run as a formula: cells starting with = + - @ (or a tab or
/// carriage return) get a leading apostrophe (OWASP's CSV-injection advice).
pub fn safe_cell(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    }
}

fn safe_opt(v: &Option<String>) -> String {
    safe_cell(v.as_deref().unwrap_or(""))
}

/// How a file shows personal information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contacts {
    /// As stored: the data's own files (the demo).
    AsStored,
    /// 张** / 138****5678: every download unless unmasking is allowed and asked for.
    Masked,
}

pub fn org_units_csv(units: &[OrgUnit], out: impl Write) -> Result<(), ExportError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["id", "name", "level", "parent_id"])?;
    for u in units {
        w.write_record([
            u.id.as_str(),
            u.name.as_str(),
            u.level.code(),
            u.parent_id.as_deref().unwrap_or(""),
        ])?;
    }
    w.flush()?;
    Ok(())
}

pub fn outlets_csv(outlets: &[Outlet], crs: Crs, out: impl Write) -> Result<(), ExportError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "id",
        "name",
        "bank",
        "kind",
        "parent_org_id",
        "address",
        "lon",
        "lat",
    ])?;
    for o in outlets {
        let (lon, lat) = from_wgs84(crs, o.location.lon(), o.location.lat());
        w.write_record([
            o.id.clone(),
            o.name.clone(),
            o.competitor_bank.clone().unwrap_or_else(|| "ours".into()),
            o.kind.code().into(),
            opt(&o.parent_org_id),
            opt(&o.address),
            coord(lon),
            coord(lat),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Merchants with Chinese headers, the way a merchant list exported from AMap and edited in
/// Excel looks (UTF-8 with a BOM, so that Excel opens it correctly). Contacts are written as
/// given: this is for the data's own files (the demo); what users download goes through the
/// masked, audited export of the HTTP API.
pub fn merchants_csv(
    merchants: impl IntoIterator<Item = Merchant>,
    categories: &Categories,
    crs: Crs,
    contacts: Contacts,
    mut out: impl Write,
) -> Result<(), ExportError> {
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "编号",
        "名称",
        "类别",
        "经度",
        "纬度",
        "地址",
        "客流量",
        "人均消费",
        "评分",
        "营业时间",
        "数字人民币",
        "已签约他行",
        "连锁品牌",
        "状态",
        "状态日期",
        "所属网点",
        "联系人",
        "联系电话",
    ])?;
    for m in merchants {
        let (lon, lat) = from_wgs84(crs, m.location.lon(), m.location.lat());
        let cat = categories
            .get(&m.category)
            .map(|c| c.zh.clone())
            .unwrap_or_else(|| m.category.clone());
        let contact = match contacts {
            Contacts::AsStored => m.contact.clone(),
            Contacts::Masked => m.contact.as_ref().map(|c| Box::new(c.masked())),
        };
        w.write_record([
            safe_cell(&m.id),
            safe_cell(&m.name),
            cat,
            coord(lon),
            coord(lat),
            safe_opt(&m.address),
            opt(&m.footfall_daily),
            opt(&m.avg_spend_cny),
            opt(&m.rating),
            safe_opt(&m.opening_hours),
            if m.accepts_ecny { "是" } else { "否" }.into(),
            safe_opt(&m.competitor_signed),
            safe_opt(&m.chain),
            m.status.zh().into(),
            opt(&m.status_since),
            safe_opt(&m.owner_org_id),
            safe_opt(&contact.as_ref().and_then(|c| c.name.clone())),
            safe_opt(&contact.as_ref().and_then(|c| c.phone.clone())),
        ])?;
    }
    w.flush()?;
    Ok(())
}

pub fn communities_geojson(
    communities: &[Community],
    crs: Crs,
    out: impl Write,
) -> Result<(), ExportError> {
    let fc = geojson::FeatureCollection {
        bbox: None,
        features: communities
            .iter()
            .map(|c| features::community(c, crs))
            .collect(),
        foreign_members: None,
    };
    serde_json::to_writer(out, &fc)?;
    Ok(())
}

pub fn areas_geojson(areas: &[Area], crs: Crs, out: impl Write) -> Result<(), ExportError> {
    let fc = geojson::FeatureCollection {
        bbox: None,
        features: areas.iter().map(|a| features::area(a, crs)).collect(),
        foreign_members: None,
    };
    serde_json::to_writer_pretty(out, &fc)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+86 138"), "'+86 138");
        assert_eq!(safe_cell("-1"), "'-1");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("张公桥"), "张公桥");
    }
}
