//! Row mapping: domain values to SQL parameters and back, and chunked multi-row upserts.

use std::ops::AddAssign;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::StorageError;
use crate::domain::{
    Area, AreaDraft, AreaKind, Community, CommunityDraft, CommunityShape, FieldError, Merchant,
    MerchantDraft, OrgLevel, OrgUnit, OrgUnitDraft, Outlet, OutletDraft, OutletKind,
    PipelineStatus,
};

/// How many rows a write inserted and how many it updated (matched by id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriteCounts {
    pub inserted: usize,
    pub updated: usize,
}

impl AddAssign for WriteCounts {
    fn add_assign(&mut self, o: Self) {
        self.inserted += o.inserted;
        self.updated += o.updated;
    }
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One SQL parameter; `Any` needs a concrete type even for NULL.
enum Val {
    Text(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
}

fn text(s: &str) -> Val {
    Val::Text(Some(s.to_string()))
}

fn opt_text(s: &Option<String>) -> Val {
    Val::Text(s.clone())
}

/// SQLite allows 32,766 parameters per statement, PostgreSQL 65,535; stay under both.
const MAX_PARAMS: usize = 30_000;

/// Inserts or updates `rows` of `columns` (the first column is the id) in chunks, inside `tx`.
async fn upsert(
    tx: &mut Transaction<'static, Any>,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Val>>,
) -> Result<WriteCounts, StorageError> {
    if rows.is_empty() {
        return Ok(WriteCounts::default());
    }
    let count_sql = format!("SELECT COUNT(*) FROM {table}");
    let before: i64 = sqlx::query_scalar(&count_sql).fetch_one(&mut **tx).await?;
    let n = rows.len();
    // On SQLite, sqlx looks up each numbered parameter's name before binding it, and SQLite
    // finds a name by scanning the statement's list of named parameters: n numbered
    // parameters cost n²/2 steps (minutes for a million merchants). Anonymous `?` parameters
    // have no name to scan for, so SQLite gets those.
    let anonymous = tx.backend_name().eq_ignore_ascii_case("sqlite");
    let per_chunk = (MAX_PARAMS / columns.len()).max(1);
    let updates = columns[1..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Val>> = rows.by_ref().take(per_chunk).collect();
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut p = 1;
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..columns.len() {
                if c > 0 {
                    sql.push_str(", ");
                }
                if anonymous {
                    sql.push('?');
                } else {
                    sql.push('$');
                    sql.push_str(&p.to_string());
                }
                p += 1;
            }
            sql.push(')');
        }
        sql.push_str(&format!(" ON CONFLICT (id) DO UPDATE SET {updates}"));
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    Val::Text(t) => q.bind(t),
                    Val::Int(i) => q.bind(i),
                    Val::Real(Some(r)) => q.bind(r),
                    // sqlx 0.8.6's Any driver sends a NULL f64 typed as FLOAT4 (its Null(Double)
                    // maps to Option<f32>); PostgreSQL then caches the statement with a float4
                    // parameter and rejects the FLOAT8 of a later batch (22P03). A NULL f32 is
                    // sent as FLOAT8: the same swap, undone. Tested by a 60,000-merchant write.
                    Val::Real(None) => q.bind(None::<f32>),
                };
            }
        }
        q.execute(&mut **tx).await?;
    }
    let after: i64 = sqlx::query_scalar(&count_sql).fetch_one(&mut **tx).await?;
    let inserted = usize::try_from(after - before).unwrap_or(0);
    Ok(WriteCounts {
        inserted,
        updated: n.saturating_sub(inserted),
    })
}

pub(crate) const SELECT_ORG_UNITS: &str =
    "SELECT id, name, level, parent_id FROM org_units ORDER BY id";

/// The columns `upsert_org_units` writes (and `bulk` copies), the id first.
pub(crate) const ORG_UNIT_COLUMNS: &[&str] = &["id", "name", "level", "parent_id", "updated_at"];

/// The columns `upsert_outlets` writes (and `bulk` copies), the id first.
pub(crate) const OUTLET_COLUMNS: &[&str] = &[
    "id",
    "name",
    "competitor_bank",
    "kind",
    "parent_org_id",
    "address",
    "lon",
    "lat",
    "updated_at",
];

/// The columns `upsert_merchants` writes (and `bulk` copies), the id first.
pub(crate) const MERCHANT_COLUMNS: &[&str] = &[
    "id",
    "name",
    "category",
    "lon",
    "lat",
    "address",
    "footfall_daily",
    "avg_spend_cny",
    "rating",
    "opening_hours",
    "accepts_ecny",
    "competitor_signed",
    "chain",
    "status",
    "status_since",
    "owner_org_id",
    "contact_name",
    "contact_phone",
    "updated_at",
];

/// The columns `upsert_communities` writes (and `bulk` copies), the id first.
pub(crate) const COMMUNITY_COLUMNS: &[&str] = &[
    "id",
    "name",
    "lon",
    "lat",
    "polygon",
    "address",
    "households",
    "population",
    "avg_house_price_cny_m2",
    "bank_customers",
    "owner_org_id",
    "updated_at",
];

/// The columns `upsert_areas` writes (and `bulk` copies), the id first.
pub(crate) const AREA_COLUMNS: &[&str] = &[
    "id",
    "name",
    "kind",
    "polygon",
    "owner_org_id",
    "updated_at",
];

pub async fn upsert_org_units(
    tx: &mut Transaction<'static, Any>,
    items: &[OrgUnit],
) -> Result<WriteCounts, StorageError> {
    // Parents first, so that the foreign key holds inside one statement on every backend.
    let mut sorted: Vec<&OrgUnit> = items.iter().collect();
    sorted.sort_by_key(|u| u.level);
    let ts = now();
    let rows = sorted
        .into_iter()
        .map(|u| {
            vec![
                text(&u.id),
                text(&u.name),
                text(u.level.code()),
                opt_text(&u.parent_id),
                text(&ts),
            ]
        })
        .collect();
    upsert(tx, "org_units", ORG_UNIT_COLUMNS, rows).await
}

pub(crate) fn org_unit(r: &AnyRow) -> Result<OrgUnit, StorageError> {
    let id: String = r.try_get("id")?;
    let level: String = r.try_get("level")?;
    let draft = OrgUnitDraft {
        id: id.clone(),
        name: r.try_get("name")?,
        level: OrgLevel::parse(&level).ok_or_else(|| corrupt_field("org_units", &id, "level"))?,
        parent_id: r.try_get("parent_id")?,
    };
    OrgUnit::try_from(draft).map_err(|e| corrupt("org_units", &id, e))
}

pub(crate) const SELECT_OUTLETS: &str = "SELECT id, name, competitor_bank, kind, parent_org_id, \
     address, lon, lat FROM outlets ORDER BY id";

pub async fn upsert_outlets(
    tx: &mut Transaction<'static, Any>,
    items: &[Outlet],
) -> Result<WriteCounts, StorageError> {
    let ts = now();
    let rows = items
        .iter()
        .map(|o| {
            vec![
                text(&o.id),
                text(&o.name),
                opt_text(&o.competitor_bank),
                text(o.kind.code()),
                opt_text(&o.parent_org_id),
                opt_text(&o.address),
                Val::Real(Some(o.location.lon())),
                Val::Real(Some(o.location.lat())),
                text(&ts),
            ]
        })
        .collect();
    upsert(tx, "outlets", OUTLET_COLUMNS, rows).await
}

pub(crate) fn outlet(r: &AnyRow) -> Result<Outlet, StorageError> {
    let id: String = r.try_get("id")?;
    let kind: String = r.try_get("kind")?;
    let draft = OutletDraft {
        id: id.clone(),
        name: r.try_get("name")?,
        competitor_bank: r.try_get("competitor_bank")?,
        kind: OutletKind::parse(&kind).ok_or_else(|| corrupt_field("outlets", &id, "kind"))?,
        parent_org_id: r.try_get("parent_org_id")?,
        address: r.try_get("address")?,
        lon: r.try_get("lon")?,
        lat: r.try_get("lat")?,
    };
    Outlet::try_from(draft).map_err(|e| corrupt("outlets", &id, e))
}

macro_rules! select_merchants {
    () => {
        "SELECT id, name, category, lon, lat, address, footfall_daily, avg_spend_cny, rating, \
         opening_hours, accepts_ecny, competitor_signed, chain, status, status_since, \
         owner_org_id, contact_name, contact_phone FROM merchants"
    };
}

pub(crate) const SELECT_MERCHANTS: &str = concat!(select_merchants!(), " ORDER BY id");

/// As [`SELECT_MERCHANTS`] in no particular order, for the index (which orders its merchants
/// along a space-filling curve anyway): sorting 30M rows by id would cost the database seconds.
pub(crate) const SELECT_MERCHANTS_UNORDERED: &str = select_merchants!();

pub async fn upsert_merchants(
    tx: &mut Transaction<'static, Any>,
    items: &[Merchant],
) -> Result<WriteCounts, StorageError> {
    let ts = now();
    let rows = items
        .iter()
        .map(|m| {
            vec![
                text(&m.id),
                text(&m.name),
                text(&m.category),
                Val::Real(Some(m.location.lon())),
                Val::Real(Some(m.location.lat())),
                opt_text(&m.address),
                Val::Int(m.footfall_daily.map(i64::from)),
                Val::Real(m.avg_spend_cny),
                Val::Real(m.rating),
                opt_text(&m.opening_hours),
                Val::Int(Some(i64::from(m.accepts_ecny))),
                opt_text(&m.competitor_signed),
                opt_text(&m.chain),
                text(m.status.code()),
                Val::Text(m.status_since.map(|d| d.to_string())),
                opt_text(&m.owner_org_id),
                Val::Text(m.contact.as_ref().and_then(|c| c.name.clone())),
                Val::Text(m.contact.as_ref().and_then(|c| c.phone.clone())),
                text(&ts),
            ]
        })
        .collect();
    upsert(tx, "merchants", MERCHANT_COLUMNS, rows).await
}

pub(crate) fn merchant(r: &AnyRow) -> Result<Merchant, StorageError> {
    let id: String = r.try_get("id")?;
    let status: String = r.try_get("status")?;
    let footfall: Option<i64> = r.try_get("footfall_daily")?;
    let ecny: i64 = r.try_get("accepts_ecny")?;
    let draft = MerchantDraft {
        id: id.clone(),
        name: r.try_get("name")?,
        category: r.try_get("category")?,
        lon: r.try_get("lon")?,
        lat: r.try_get("lat")?,
        address: r.try_get("address")?,
        footfall_daily: footfall.map(|v| v as f64),
        avg_spend_cny: r.try_get("avg_spend_cny")?,
        rating: r.try_get("rating")?,
        opening_hours: r.try_get("opening_hours")?,
        accepts_ecny: ecny != 0,
        competitor_signed: r.try_get("competitor_signed")?,
        chain: r.try_get("chain")?,
        status: PipelineStatus::parse(&status)
            .ok_or_else(|| corrupt_field("merchants", &id, "status"))?,
        status_since: {
            let v: Option<String> = r.try_get("status_since")?;
            match v {
                Some(v) => Some(
                    v.parse()
                        .map_err(|_| corrupt_field("merchants", &id, "status_since"))?,
                ),
                None => None,
            }
        },
        owner_org_id: r.try_get("owner_org_id")?,
        contact_name: r.try_get("contact_name")?,
        contact_phone: r.try_get("contact_phone")?,
    };
    Merchant::try_from(draft).map_err(|e| corrupt("merchants", &id, e))
}

pub(crate) const SELECT_COMMUNITIES: &str = "SELECT id, name, lon, lat, polygon, address, \
     households, population, avg_house_price_cny_m2, bank_customers, owner_org_id FROM communities \
     ORDER BY id";

pub async fn upsert_communities(
    tx: &mut Transaction<'static, Any>,
    items: &[Community],
) -> Result<WriteCounts, StorageError> {
    let ts = now();
    let rows = items
        .iter()
        .map(|c| {
            let polygon = match &c.shape {
                CommunityShape::Polygon(p) => serde_json::to_string(&p.rings()).ok(),
                CommunityShape::Point(_) => None,
            };
            vec![
                text(&c.id),
                text(&c.name),
                Val::Real(Some(c.location.lon())),
                Val::Real(Some(c.location.lat())),
                Val::Text(polygon),
                opt_text(&c.address),
                Val::Int(Some(i64::from(c.households))),
                Val::Int(c.population.map(i64::from)),
                Val::Real(c.avg_house_price_cny_m2),
                Val::Int(c.bank_customers.map(i64::from)),
                opt_text(&c.owner_org_id),
                text(&ts),
            ]
        })
        .collect();
    upsert(tx, "communities", COMMUNITY_COLUMNS, rows).await
}

pub(crate) fn community(r: &AnyRow) -> Result<Community, StorageError> {
    let id: String = r.try_get("id")?;
    let polygon: Option<String> = r.try_get("polygon")?;
    let polygon = match polygon {
        Some(text) => Some(
            serde_json::from_str::<Vec<Vec<[f64; 2]>>>(&text)
                .map_err(|_| corrupt_field("communities", &id, "polygon"))?,
        ),
        None => None,
    };
    let (lon, lat) = if polygon.is_some() {
        (None, None)
    } else {
        (Some(r.try_get("lon")?), Some(r.try_get("lat")?))
    };
    let households: i64 = r.try_get("households")?;
    let population: Option<i64> = r.try_get("population")?;
    let customers: Option<i64> = r.try_get("bank_customers")?;
    let draft = CommunityDraft {
        id: id.clone(),
        name: r.try_get("name")?,
        polygon,
        lon,
        lat,
        address: r.try_get("address")?,
        households: households as f64,
        population: population.map(|v| v as f64),
        avg_house_price_cny_m2: r.try_get("avg_house_price_cny_m2")?,
        bank_customers: customers.map(|v| v as f64),
        owner_org_id: r.try_get("owner_org_id")?,
    };
    Community::try_from(draft).map_err(|e| corrupt("communities", &id, e))
}

pub(crate) const SELECT_AREAS: &str =
    "SELECT id, name, kind, polygon, owner_org_id FROM areas ORDER BY id";

pub async fn upsert_areas(
    tx: &mut Transaction<'static, Any>,
    items: &[Area],
) -> Result<WriteCounts, StorageError> {
    let ts = now();
    let rows = items
        .iter()
        .map(|a| {
            vec![
                text(&a.id),
                text(&a.name),
                text(a.kind.code()),
                Val::Text(serde_json::to_string(&a.polygon.rings()).ok()),
                opt_text(&a.owner_org_id),
                text(&ts),
            ]
        })
        .collect();
    upsert(tx, "areas", AREA_COLUMNS, rows).await
}

pub(crate) fn area(r: &AnyRow) -> Result<Area, StorageError> {
    let id: String = r.try_get("id")?;
    let kind: String = r.try_get("kind")?;
    let polygon: String = r.try_get("polygon")?;
    let draft = AreaDraft {
        id: id.clone(),
        name: r.try_get("name")?,
        kind: AreaKind::parse(&kind).ok_or_else(|| corrupt_field("areas", &id, "kind"))?,
        polygon: serde_json::from_str(&polygon)
            .map_err(|_| corrupt_field("areas", &id, "polygon"))?,
        owner_org_id: r.try_get("owner_org_id")?,
    };
    Area::try_from(draft).map_err(|e| corrupt("areas", &id, e))
}

pub(super) fn corrupt(table: &'static str, id: &str, source: FieldError) -> StorageError {
    StorageError::Corrupt {
        table,
        id: id.to_string(),
        source,
    }
}

pub(super) fn corrupt_field(table: &'static str, id: &str, field: &str) -> StorageError {
    corrupt(
        table,
        id,
        FieldError::new(field, "unrecognised stored value"),
    )
}
