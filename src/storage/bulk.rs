//! Bulk writes for generated data (`ecomap gen`): the rows that `rows::upsert_*` writes, with the
//! same columns and encodings, written in large chunks over one dedicated connection and not
//! through the App (so nothing is indexed in memory).
//!
//! - PostgreSQL: `COPY … FROM STDIN` (text format). Into an empty table the rows go straight in;
//!   into a table that already has rows they go through a temporary staging table and
//!   `INSERT … ON CONFLICT (id) DO UPDATE`, so that a second run updates instead of failing.
//!   The session runs with `synchronous_commit = off` (a crash can lose the last chunks, never
//!   corrupt the database).
//! - SQLite: one `BEGIN IMMEDIATE` transaction per chunk of prepared multi-row
//!   `INSERT … ON CONFLICT (id) DO UPDATE` statements with anonymous parameters, in WAL mode with
//!   `synchronous = NORMAL`, a 256 MiB page cache and temporary data in memory.
//!
//! A chunk is one transaction: a run that fails part-way leaves the chunks before the failure.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Executor};

use super::{normalise_url, Backend, StorageError, Store};
use crate::domain::{Area, Community, CommunityShape, Merchant, OrgUnit, Outlet};

/// One value of a row. Text borrows from the domain value where it can.
enum Cell<'a> {
    Text(Option<Cow<'a, str>>),
    Int(Option<i64>),
    Real(Option<f64>),
}

fn text(s: &str) -> Cell<'_> {
    Cell::Text(Some(Cow::Borrowed(s)))
}

fn opt_text(s: &Option<String>) -> Cell<'_> {
    Cell::Text(s.as_deref().map(Cow::Borrowed))
}

/// A table and its columns, the id first: the same lists as `rows::upsert_*`.
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
}

const ORG_UNITS: Table = Table {
    name: "org_units",
    columns: super::rows::ORG_UNIT_COLUMNS,
};

const OUTLETS: Table = Table {
    name: "outlets",
    columns: super::rows::OUTLET_COLUMNS,
};

const MERCHANTS: Table = Table {
    name: "merchants",
    columns: super::rows::MERCHANT_COLUMNS,
};

const COMMUNITIES: Table = Table {
    name: "communities",
    columns: super::rows::COMMUNITY_COLUMNS,
};

const AREAS: Table = Table {
    name: "areas",
    columns: super::rows::AREA_COLUMNS,
};

fn org_unit_cells<'a>(u: &'a OrgUnit, ts: &'a str, out: &mut Vec<Cell<'a>>) {
    out.extend([
        text(&u.id),
        text(&u.name),
        text(u.level.code()),
        opt_text(&u.parent_id),
        text(ts),
    ]);
}

fn outlet_cells<'a>(o: &'a Outlet, ts: &'a str, out: &mut Vec<Cell<'a>>) {
    out.extend([
        text(&o.id),
        text(&o.name),
        opt_text(&o.competitor_bank),
        text(o.kind.code()),
        opt_text(&o.parent_org_id),
        opt_text(&o.address),
        Cell::Real(Some(o.location.lon())),
        Cell::Real(Some(o.location.lat())),
        text(ts),
    ]);
}

fn merchant_cells<'a>(m: &'a Merchant, ts: &'a str, out: &mut Vec<Cell<'a>>) {
    let contact = m.contact.as_ref();
    out.extend([
        text(&m.id),
        text(&m.name),
        text(&m.category),
        Cell::Real(Some(m.location.lon())),
        Cell::Real(Some(m.location.lat())),
        opt_text(&m.address),
        Cell::Int(m.footfall_daily.map(i64::from)),
        Cell::Real(m.avg_spend_cny),
        Cell::Real(m.rating),
        opt_text(&m.opening_hours),
        Cell::Int(Some(i64::from(m.accepts_ecny))),
        opt_text(&m.competitor_signed),
        opt_text(&m.chain),
        text(m.status.code()),
        Cell::Text(m.status_since.map(|d| Cow::Owned(d.to_string()))),
        opt_text(&m.owner_org_id),
        Cell::Text(contact.and_then(|c| c.name.as_deref()).map(Cow::Borrowed)),
        Cell::Text(contact.and_then(|c| c.phone.as_deref()).map(Cow::Borrowed)),
        text(ts),
    ]);
}

fn community_cells<'a>(c: &'a Community, ts: &'a str, out: &mut Vec<Cell<'a>>) {
    let polygon = match &c.shape {
        CommunityShape::Polygon(p) => serde_json::to_string(&p.rings()).ok(),
        CommunityShape::Point(_) => None,
    };
    out.extend([
        text(&c.id),
        text(&c.name),
        Cell::Real(Some(c.location.lon())),
        Cell::Real(Some(c.location.lat())),
        Cell::Text(polygon.map(Cow::Owned)),
        opt_text(&c.address),
        Cell::Int(Some(i64::from(c.households))),
        Cell::Int(c.population.map(i64::from)),
        Cell::Real(c.avg_house_price_cny_m2),
        Cell::Int(c.bank_customers.map(i64::from)),
        opt_text(&c.owner_org_id),
        text(ts),
    ]);
}

fn area_cells<'a>(a: &'a Area, ts: &'a str, out: &mut Vec<Cell<'a>>) {
    out.extend([
        text(&a.id),
        text(&a.name),
        text(a.kind.code()),
        Cell::Text(
            serde_json::to_string(&a.polygon.rings())
                .ok()
                .map(Cow::Owned),
        ),
        opt_text(&a.owner_org_id),
        text(ts),
    ]);
}

/// SQLite allows 32,766 parameters per statement; stay under it (as `rows::upsert` does).
const SQLITE_MAX_PARAMS: usize = 30_000;

/// PostgreSQL COPY data is sent in pieces of about this size.
const COPY_PIECE: usize = 1 << 20;

enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// One connection for bulk writes; see the module doc.
pub struct BulkWriter {
    conn: Conn,
    /// SQLite: statements by (table, rows), built once each.
    statements: HashMap<(&'static str, usize), String>,
    /// PostgreSQL: whether a table was empty when first written to (then COPY goes straight in).
    empty: HashMap<&'static str, bool>,
}

impl BulkWriter {
    /// Migrates the database (as every command does), then opens the bulk connection.
    pub async fn connect(db: &str) -> Result<Self, StorageError> {
        Store::connect(db).await?.close().await;
        let (url, backend) = normalise_url(db)?;
        let conn = match backend {
            Backend::Sqlite => {
                let conn = SqliteConnectOptions::from_str(&url)?
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30))
                    .synchronous(SqliteSynchronous::Normal)
                    .pragma("cache_size", "-262144")
                    .pragma("temp_store", "MEMORY")
                    .connect()
                    .await?;
                Conn::Sqlite(conn)
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&url).await?;
                conn.execute("SET synchronous_commit = off").await?;
                Conn::Postgres(conn)
            }
        };
        Ok(Self {
            conn,
            statements: HashMap::new(),
            empty: HashMap::new(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.conn {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Org units, parents before children (the foreign key holds inside one chunk).
    pub async fn org_units(&mut self, items: &[OrgUnit]) -> Result<(), StorageError> {
        let mut sorted: Vec<&OrgUnit> = items.iter().collect();
        sorted.sort_by_key(|u| u.level);
        let ts = super::rows::now();
        let mut cells = Vec::with_capacity(items.len() * ORG_UNITS.columns.len());
        for u in sorted {
            org_unit_cells(u, &ts, &mut cells);
        }
        self.write(&ORG_UNITS, &cells).await
    }

    pub async fn outlets(&mut self, items: &[Outlet]) -> Result<(), StorageError> {
        let ts = super::rows::now();
        let mut cells = Vec::with_capacity(items.len() * OUTLETS.columns.len());
        for o in items {
            outlet_cells(o, &ts, &mut cells);
        }
        self.write(&OUTLETS, &cells).await
    }

    pub async fn merchants(&mut self, items: &[Merchant]) -> Result<(), StorageError> {
        let ts = super::rows::now();
        let mut cells = Vec::with_capacity(items.len() * MERCHANTS.columns.len());
        for m in items {
            merchant_cells(m, &ts, &mut cells);
        }
        self.write(&MERCHANTS, &cells).await
    }

    pub async fn communities(&mut self, items: &[Community]) -> Result<(), StorageError> {
        let ts = super::rows::now();
        let mut cells = Vec::with_capacity(items.len() * COMMUNITIES.columns.len());
        for c in items {
            community_cells(c, &ts, &mut cells);
        }
        self.write(&COMMUNITIES, &cells).await
    }

    pub async fn areas(&mut self, items: &[Area]) -> Result<(), StorageError> {
        let ts = super::rows::now();
        let mut cells = Vec::with_capacity(items.len() * AREAS.columns.len());
        for a in items {
            area_cells(a, &ts, &mut cells);
        }
        self.write(&AREAS, &cells).await
    }

    /// Tidies up after the last chunk: SQLite folds the write-ahead log back into the database;
    /// PostgreSQL refreshes the planner's statistics.
    pub async fn finish(mut self) -> Result<(), StorageError> {
        match &mut self.conn {
            Conn::Sqlite(c) => {
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
            }
            Conn::Postgres(c) => {
                c.execute("ANALYZE org_units, outlets, merchants, communities, areas")
                    .await?;
            }
        }
        match self.conn {
            Conn::Sqlite(c) => c.close().await?,
            Conn::Postgres(c) => c.close().await?,
        }
        Ok(())
    }

    async fn write(&mut self, table: &Table, cells: &[Cell<'_>]) -> Result<(), StorageError> {
        if cells.is_empty() {
            return Ok(());
        }
        match &mut self.conn {
            Conn::Sqlite(conn) => {
                conn.execute("BEGIN IMMEDIATE").await?;
                match sqlite_insert(conn, &mut self.statements, table, cells).await {
                    Ok(()) => {
                        conn.execute("COMMIT").await?;
                        Ok(())
                    }
                    Err(e) => {
                        // The error is what matters; a failed rollback adds nothing to it.
                        let _ = conn.execute("ROLLBACK").await;
                        Err(e)
                    }
                }
            }
            Conn::Postgres(conn) => {
                let empty = match self.empty.get(table.name) {
                    Some(&e) => e,
                    None => {
                        let sql = format!("SELECT NOT EXISTS (SELECT 1 FROM {})", table.name);
                        let e: bool = sqlx::query_scalar(&sql).fetch_one(&mut *conn).await?;
                        self.empty.insert(table.name, e);
                        e
                    }
                };
                if empty {
                    pg_copy(conn, table.name, table, cells).await
                } else {
                    pg_upsert(conn, table, cells).await
                }
            }
        }
    }
}

fn upsert_clause(table: &Table) -> String {
    let updates = table.columns[1..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(" ON CONFLICT (id) DO UPDATE SET {updates}")
}

/// Prepared multi-row upserts with anonymous parameters (numbered ones cost SQLite a quadratic
/// name lookup; see `rows::upsert`).
async fn sqlite_insert(
    conn: &mut SqliteConnection,
    statements: &mut HashMap<(&'static str, usize), String>,
    table: &Table,
    cells: &[Cell<'_>],
) -> Result<(), StorageError> {
    let width = table.columns.len();
    let per_statement = (SQLITE_MAX_PARAMS / width).max(1);
    for chunk in cells.chunks(per_statement * width) {
        let rows = chunk.len() / width;
        let sql = statements.entry((table.name, rows)).or_insert_with(|| {
            let one = format!("({})", vec!["?"; width].join(", "));
            format!(
                "INSERT INTO {} ({}) VALUES {}{}",
                table.name,
                table.columns.join(", "),
                vec![one; rows].join(", "),
                upsert_clause(table)
            )
        });
        let mut q = sqlx::query(sql.as_str());
        for c in chunk {
            q = match c {
                Cell::Text(t) => q.bind(t.as_deref()),
                Cell::Int(i) => q.bind(*i),
                Cell::Real(r) => q.bind(*r),
            };
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// COPY into `target` (the table itself, or a staging table shaped like it).
async fn pg_copy(
    conn: &mut PgConnection,
    target: &str,
    table: &Table,
    cells: &[Cell<'_>],
) -> Result<(), StorageError> {
    let width = table.columns.len();
    let sql = format!("COPY {target} ({}) FROM STDIN", table.columns.join(", "));
    let mut copy = conn.copy_in_raw(&sql).await?;
    let mut buf = String::with_capacity(COPY_PIECE + 4_096);
    let mut sent = Ok(());
    for row in cells.chunks(width) {
        for (i, c) in row.iter().enumerate() {
            if i > 0 {
                buf.push('\t');
            }
            copy_value(&mut buf, c);
        }
        buf.push('\n');
        if buf.len() >= COPY_PIECE {
            if let Err(e) = copy.send(buf.as_bytes()).await {
                sent = Err(e);
                break;
            }
            buf.clear();
        }
    }
    if sent.is_ok() && !buf.is_empty() {
        sent = copy.send(buf.as_bytes()).await.map(|_| ());
    }
    match sent {
        Ok(()) => {
            copy.finish().await?;
            Ok(())
        }
        Err(e) => {
            // The send's error is the one to report; the abort only frees the connection.
            let _ = copy.abort("ecomap gen: sending the data failed").await;
            Err(e.into())
        }
    }
}

/// A table that already has rows: COPY into a staging table, then upsert from it, in one
/// transaction.
async fn pg_upsert(
    conn: &mut PgConnection,
    table: &Table,
    cells: &[Cell<'_>],
) -> Result<(), StorageError> {
    let stage = format!("ecomap_gen_{}", table.name);
    conn.execute(
        format!(
            "CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {} INCLUDING DEFAULTS)",
            table.name
        )
        .as_str(),
    )
    .await?;
    let mut tx = conn.begin().await?;
    sqlx::query(&format!("TRUNCATE {stage}"))
        .execute(&mut *tx)
        .await?;
    pg_copy(&mut tx, &stage, table, cells).await?;
    let columns = table.columns.join(", ");
    sqlx::query(&format!(
        "INSERT INTO {} ({columns}) SELECT {columns} FROM {stage}{}",
        table.name,
        upsert_clause(table)
    ))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A value in COPY's text format: `\N` for NULL; backslash, tab, newline and carriage return
/// escaped. Numbers print exactly: Rust prints the shortest decimal that reads back as the same
/// f64, and PostgreSQL reads it back so.
fn copy_value(buf: &mut String, c: &Cell<'_>) {
    match c {
        Cell::Text(None) | Cell::Int(None) | Cell::Real(None) => buf.push_str("\\N"),
        Cell::Text(Some(t)) => {
            for ch in t.chars() {
                match ch {
                    '\\' => buf.push_str("\\\\"),
                    '\t' => buf.push_str("\\t"),
                    '\n' => buf.push_str("\\n"),
                    '\r' => buf.push_str("\\r"),
                    c => buf.push(c),
                }
            }
        }
        Cell::Int(Some(i)) => {
            let _ = write!(buf, "{i}");
        }
        Cell::Real(Some(r)) => {
            let _ = write!(buf, "{r}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_reads_specially() {
        let mut buf = String::new();
        copy_value(&mut buf, &text("a\tb\\c\nd\re"));
        assert_eq!(buf, "a\\tb\\\\c\\nd\\re");
        buf.clear();
        copy_value(&mut buf, &Cell::Text(None));
        assert_eq!(buf, "\\N");
    }

    #[test]
    fn copy_numbers_read_back_as_the_same_f64() {
        for r in [103.761_234_567_891_23, 29.5, 0.1 + 0.2, 1e-7, 123_456_789.0] {
            let mut buf = String::new();
            copy_value(&mut buf, &Cell::Real(Some(r)));
            assert!(!buf.contains('e'), "{buf}");
            assert_eq!(buf.parse::<f64>().unwrap(), r);
        }
    }
}
