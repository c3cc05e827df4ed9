//! Visit events and the pipeline projection in the database (migrations `0005_visits.sql`).
//!
//! Events are only ever inserted (triggers refuse UPDATE and DELETE). Every write that adds
//! events to a merchant also recomputes that merchant's state from its baseline and all its
//! events ([`settle`]) and stores it in `merchant_pipeline` and on the merchant row, in the same
//! transaction. Writers hold the write lock while they do this (SQLite: BEGIN IMMEDIATE;
//! PostgreSQL: `visit_events` in EXCLUSIVE mode, which readers do not wait for), so each
//! recomputation sees every event committed before it, and event ids follow commit order.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Row, Transaction};

use super::rows::now;
use super::{StorageError, Store};
use crate::domain::{Contact, FieldError, Merchant, PipelineStatus};
use crate::visits::outcome::{self, Event, Flag, Outcome, PipelineState, Reason, Step};

/// One SQL argument.
#[derive(Debug, Clone)]
enum Arg {
    Text(Option<String>),
    Int(i64),
}

/// A statement under construction: placeholders are `?` on SQLite (see `rows::upsert` on why)
/// and `$N` on PostgreSQL, numbered in the order they are added.
struct Sql {
    text: String,
    args: Vec<Arg>,
    anonymous: bool,
}

impl Sql {
    fn new(anonymous: bool, text: &str) -> Self {
        Self {
            text: text.to_string(),
            args: Vec::new(),
            anonymous,
        }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn arg(&mut self, a: Arg) -> &mut Self {
        self.args.push(a);
        if self.anonymous {
            self.text.push('?');
        } else {
            self.text.push('$');
            self.text.push_str(&self.args.len().to_string());
        }
        self
    }

    fn text(&mut self, s: impl Into<String>) -> &mut Self {
        self.arg(Arg::Text(Some(s.into())))
    }

    fn int(&mut self, i: i64) -> &mut Self {
        self.arg(Arg::Int(i))
    }

    /// `(SELECT … )` over the members of a JSON array of strings, bound as one parameter: one
    /// statement text whatever the number of values, so it is prepared once and reused.
    fn json_list<'a>(&mut self, values: impl IntoIterator<Item = &'a String>) -> &mut Self {
        let json = serde_json::Value::from(values.into_iter().cloned().collect::<Vec<_>>());
        if self.anonymous {
            self.push("(SELECT value FROM json_each(")
                .text(json.to_string())
                .push("))")
        } else {
            self.push("(SELECT json_array_elements_text(")
                .text(json.to_string())
                .push("::json))")
        }
    }

    /// `SELECT <columns> FROM <the rows>`. SQLite: a `VALUES` list, one `?` per value (check
    /// the count with [`rows_per_statement`]). PostgreSQL: one parameter, a JSON array of
    /// objects read by `json_to_recordset`, so that the statement text is the same whatever the
    /// number of rows: prepared and planned once (planning a VALUES list of thousands of
    /// parameters cost milliseconds per batch). `columns` are (name, PostgreSQL type).
    fn records(&mut self, columns: &[(&str, &str)], rows: &[Vec<Arg>]) -> &mut Self {
        if self.anonymous {
            let names: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, (n, _))| format!("column{} AS {n}", i + 1))
                .collect();
            self.push(&format!("SELECT {} FROM (VALUES ", names.join(", ")));
            for (i, row) in rows.iter().enumerate() {
                self.push(if i == 0 { "(" } else { ", (" });
                for (j, v) in row.iter().enumerate() {
                    if j > 0 {
                        self.push(", ");
                    }
                    self.arg(v.clone());
                }
                self.push(")");
            }
            self.push(")")
        } else {
            let mut json = String::from("[");
            for (i, row) in rows.iter().enumerate() {
                json.push_str(if i == 0 { "{" } else { ",{" });
                for (j, ((name, _), v)) in columns.iter().zip(row).enumerate() {
                    if j > 0 {
                        json.push(',');
                    }
                    json.push('"');
                    json.push_str(name);
                    json.push_str("\":");
                    match v {
                        Arg::Text(Some(t)) => {
                            json.push_str(&serde_json::Value::from(t.as_str()).to_string())
                        }
                        Arg::Text(None) => json.push_str("null"),
                        Arg::Int(n) => json.push_str(&n.to_string()),
                    }
                }
                json.push('}');
            }
            json.push(']');
            let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
            let types: Vec<String> = columns.iter().map(|(n, t)| format!("{n} {t}")).collect();
            self.push(&format!(
                "SELECT {} FROM json_to_recordset(",
                names.join(", ")
            ))
            .text(json)
            .push(&format!("::json) AS r({})", types.join(", ")))
        }
    }

    fn query(&self) -> sqlx::query::Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Text(t) => q.bind(t.clone()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// How many rows of `columns` values one statement may carry: SQLite allows 32,766
/// parameters; PostgreSQL gets one (JSON) parameter however many rows.
fn rows_per_statement(anonymous: bool, columns: usize) -> usize {
    if anonymous {
        (30_000 / columns.max(1)).max(1)
    } else {
        usize::MAX
    }
}

fn text(s: impl Into<String>) -> Arg {
    Arg::Text(Some(s.into()))
}

fn opt(s: Option<impl Into<String>>) -> Arg {
    Arg::Text(s.map(Into::into))
}

fn is_sqlite(tx: &Transaction<'static, Any>) -> bool {
    tx.backend_name().eq_ignore_ascii_case("sqlite")
}

/// An event as stored, with the merchant's name and the recorder's display name when joined.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    pub merchant_id: String,
    pub merchant_name: Option<String>,
    /// A visit outcome's code, or `imported`.
    pub outcome: String,
    pub reason: Option<String>,
    pub imported_status: Option<String>,
    pub notes: Option<String>,
    pub next_follow_up: Option<String>,
    /// RFC 3339, UTC.
    pub visited_at: String,
    /// YYYY-MM-DD, China Standard Time.
    pub visit_date: String,
    /// ISO week, e.g. 2026-W09.
    pub visit_week: String,
    pub recorded_by: String,
    pub recorded_by_id: Option<String>,
    pub recorded_by_name: Option<String>,
    pub org_node_id: Option<String>,
    /// Personal information: mask before showing.
    pub owner_name: Option<String>,
    pub owner_phone: Option<String>,
    pub client_id: Option<String>,
    pub recorded_at: String,
}

const EVENT_COLUMNS: &str = "e.id, e.merchant_id, e.outcome, e.reason, e.imported_status, \
     e.notes, e.next_follow_up, e.visited_at, e.visit_date, e.visit_week, e.recorded_by, \
     e.recorded_by_id, e.org_node_id, e.owner_name, e.owner_phone, e.client_id, e.recorded_at";

fn corrupt(id: i64, field: &str) -> StorageError {
    StorageError::Corrupt {
        table: "visit_events",
        id: id.to_string(),
        source: FieldError::new(field, "unrecognised stored value"),
    }
}

fn stored_event(r: &AnyRow, joined: bool) -> Result<StoredEvent, StorageError> {
    Ok(StoredEvent {
        id: r.try_get("id")?,
        merchant_id: r.try_get("merchant_id")?,
        merchant_name: if joined {
            r.try_get("merchant_name")?
        } else {
            None
        },
        outcome: r.try_get("outcome")?,
        reason: r.try_get("reason")?,
        imported_status: r.try_get("imported_status")?,
        notes: r.try_get("notes")?,
        next_follow_up: r.try_get("next_follow_up")?,
        visited_at: r.try_get("visited_at")?,
        visit_date: r.try_get("visit_date")?,
        visit_week: r.try_get("visit_week")?,
        recorded_by: r.try_get("recorded_by")?,
        recorded_by_id: r.try_get("recorded_by_id")?,
        recorded_by_name: if joined {
            r.try_get("recorded_by_name")?
        } else {
            None
        },
        org_node_id: r.try_get("org_node_id")?,
        owner_name: r.try_get("owner_name")?,
        owner_phone: r.try_get("owner_phone")?,
        client_id: r.try_get("client_id")?,
        recorded_at: r.try_get("recorded_at")?,
    })
}

impl StoredEvent {
    /// The event as the status rule sees it.
    pub fn to_event(&self) -> Result<Event, StorageError> {
        let step = match self.outcome.as_str() {
            "imported" => Step::Imported(
                self.imported_status
                    .as_deref()
                    .and_then(PipelineStatus::parse)
                    .ok_or_else(|| corrupt(self.id, "imported_status"))?,
            ),
            o => Step::Outcome(
                Outcome::parse(o).ok_or_else(|| corrupt(self.id, "outcome"))?,
                match &self.reason {
                    None => None,
                    Some(r) => Some(Reason::parse(r).ok_or_else(|| corrupt(self.id, "reason"))?),
                },
            ),
        };
        Ok(Event {
            id: self.id,
            at: outcome::parse_instant(&self.visited_at)
                .ok_or_else(|| corrupt(self.id, "visited_at"))?,
            step,
            next_follow_up: match &self.next_follow_up {
                None => None,
                Some(d) => Some(d.parse().map_err(|_| corrupt(self.id, "next_follow_up"))?),
            },
            owner_name: self.owner_name.clone(),
            owner_phone: self.owner_phone.clone(),
        })
    }
}

/// An event to insert. `id` comes from [`next_event_id`] under the write lock.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: i64,
    pub merchant_id: String,
    pub step: Step,
    pub notes: Option<String>,
    pub next_follow_up: Option<NaiveDate>,
    pub visited_at: DateTime<Utc>,
    pub recorded_by: String,
    pub recorded_by_id: Option<String>,
    pub org_node_id: Option<String>,
    pub owner_name: Option<String>,
    pub owner_phone: Option<String>,
    pub client_id: Option<String>,
}

impl NewEvent {
    /// The event as the status rule sees it.
    pub fn to_event(&self) -> Event {
        Event {
            id: self.id,
            at: self.visited_at,
            step: self.step,
            next_follow_up: self.next_follow_up,
            owner_name: self.owner_name.clone(),
            owner_phone: self.owner_phone.clone(),
        }
    }

    /// The row this will be once stored (`recorded_at` as given).
    pub fn to_stored(&self, recorded_at: &str) -> StoredEvent {
        let (outcome, reason, imported) = match self.step {
            Step::Outcome(o, r) => (o.code().to_string(), r.map(|r| r.code().to_string()), None),
            Step::Imported(s) => ("imported".to_string(), None, Some(s.code().to_string())),
        };
        let day = outcome::local_date(self.visited_at);
        StoredEvent {
            id: self.id,
            merchant_id: self.merchant_id.clone(),
            merchant_name: None,
            outcome,
            reason,
            imported_status: imported,
            notes: self.notes.clone(),
            next_follow_up: self.next_follow_up.map(|d| d.to_string()),
            visited_at: outcome::stored_instant(self.visited_at),
            visit_date: day.to_string(),
            visit_week: outcome::iso_week(day),
            recorded_by: self.recorded_by.clone(),
            recorded_by_id: self.recorded_by_id.clone(),
            recorded_by_name: None,
            org_node_id: self.org_node_id.clone(),
            owner_name: self.owner_name.clone(),
            owner_phone: self.owner_phone.clone(),
            client_id: self.client_id.clone(),
            recorded_at: recorded_at.to_string(),
        }
    }
}

/// What the merchant row holds now (inside the transaction).
#[derive(Debug, Clone, PartialEq)]
pub struct MerchantRow {
    pub id: String,
    pub owner_org_id: Option<String>,
    pub status: PipelineStatus,
    pub status_since: Option<NaiveDate>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

/// A merchant's state after a write: what `merchant_pipeline` and the merchant row now hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub state: PipelineState,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

impl Settled {
    /// Puts the state on an indexed merchant; whether anything changed.
    pub fn apply_to(&self, m: &mut Merchant) -> bool {
        let contact = (self.contact_name.is_some() || self.contact_phone.is_some()).then(|| {
            Box::new(Contact {
                name: self.contact_name.clone(),
                phone: self.contact_phone.clone(),
            })
        });
        let changed = m.status != self.state.status
            || m.status_since != self.state.status_since
            || m.contact != contact;
        m.status = self.state.status;
        m.status_since = self.state.status_since;
        m.contact = contact;
        changed
    }
}

/// Takes the visit write lock: on PostgreSQL `visit_events` in EXCLUSIVE mode (other writers
/// wait; plain reads do not); on SQLite the transaction began IMMEDIATE and already holds the
/// database's write lock. Take it before touching merchant rows, so that writers queue in one
/// order.
pub async fn lock_events(tx: &mut Transaction<'static, Any>) -> Result<(), StorageError> {
    if !is_sqlite(tx) {
        sqlx::query("LOCK TABLE visit_events IN EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The next free event id (call with the lock held).
pub async fn next_event_id(tx: &mut Transaction<'static, Any>) -> Result<i64, StorageError> {
    let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM visit_events")
        .fetch_one(&mut **tx)
        .await?;
    Ok(max + 1)
}

/// Stored events with these (recorder, client id) keys.
pub async fn events_by_client(
    tx: &mut Transaction<'static, Any>,
    keys: &[(String, String)],
) -> Result<Vec<StoredEvent>, StorageError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: HashSet<&(String, String)> = keys.iter().collect();
    let clients: Vec<String> = keys
        .iter()
        .map(|k| k.1.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut sql = Sql::new(
        is_sqlite(tx),
        &format!("SELECT {EVENT_COLUMNS} FROM visit_events e WHERE e.client_id IN "),
    );
    sql.json_list(&clients);
    let mut out = Vec::new();
    for r in sql.query().fetch_all(&mut **tx).await? {
        let e = stored_event(&r, false)?;
        if let Some(c) = &e.client_id {
            if wanted.contains(&(e.recorded_by.clone(), c.clone())) {
                out.push(e);
            }
        }
    }
    Ok(out)
}

fn parse_day(v: Option<String>, id: &str, field: &str) -> Result<Option<NaiveDate>, StorageError> {
    match v {
        None => Ok(None),
        Some(d) => d.parse().map(Some).map_err(|_| StorageError::Corrupt {
            table: "merchants",
            id: id.to_string(),
            source: FieldError::new(field, "unrecognised stored value"),
        }),
    }
}

fn parse_status(v: &str, table: &'static str, id: &str) -> Result<PipelineStatus, StorageError> {
    PipelineStatus::parse(v).ok_or_else(|| StorageError::Corrupt {
        table,
        id: id.to_string(),
        source: FieldError::new("status", "unrecognised stored value"),
    })
}

/// The merchant rows with these ids, as they are inside the transaction.
pub async fn merchant_rows(
    tx: &mut Transaction<'static, Any>,
    ids: &[String],
) -> Result<HashMap<String, MerchantRow>, StorageError> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut sql = Sql::new(
        is_sqlite(tx),
        "SELECT id, owner_org_id, status, status_since, contact_name, contact_phone \
         FROM merchants WHERE id IN ",
    );
    sql.json_list(ids);
    for r in sql.query().fetch_all(&mut **tx).await? {
        let id: String = r.try_get("id")?;
        let status: String = r.try_get("status")?;
        out.insert(
            id.clone(),
            MerchantRow {
                status: parse_status(&status, "merchants", &id)?,
                status_since: parse_day(r.try_get("status_since")?, &id, "status_since")?,
                owner_org_id: r.try_get("owner_org_id")?,
                contact_name: r.try_get("contact_name")?,
                contact_phone: r.try_get("contact_phone")?,
                id,
            },
        );
    }
    Ok(out)
}

/// Appends events (ids already given), in one statement.
pub async fn insert_events(
    tx: &mut Transaction<'static, Any>,
    events: &[NewEvent],
) -> Result<String, StorageError> {
    const COLUMNS: [(&str, &str); 17] = [
        ("id", "BIGINT"),
        ("merchant_id", "TEXT"),
        ("outcome", "TEXT"),
        ("reason", "TEXT"),
        ("imported_status", "TEXT"),
        ("notes", "TEXT"),
        ("next_follow_up", "TEXT"),
        ("visited_at", "TEXT"),
        ("visit_date", "TEXT"),
        ("visit_week", "TEXT"),
        ("recorded_by_id", "TEXT"),
        ("recorded_by", "TEXT"),
        ("org_node_id", "TEXT"),
        ("owner_name", "TEXT"),
        ("owner_phone", "TEXT"),
        ("client_id", "TEXT"),
        ("recorded_at", "TEXT"),
    ];
    let recorded_at = now();
    if events.is_empty() {
        return Ok(recorded_at);
    }
    let rows: Vec<Vec<Arg>> = events
        .iter()
        .map(|e| {
            let s = e.to_stored(&recorded_at);
            vec![
                Arg::Int(s.id),
                text(s.merchant_id),
                text(s.outcome),
                opt(s.reason),
                opt(s.imported_status),
                opt(s.notes),
                opt(s.next_follow_up),
                text(s.visited_at),
                text(s.visit_date),
                text(s.visit_week),
                opt(s.recorded_by_id),
                text(s.recorded_by),
                opt(s.org_node_id),
                opt(s.owner_name),
                opt(s.owner_phone),
                opt(s.client_id),
                text(s.recorded_at),
            ]
        })
        .collect();
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    let anonymous = is_sqlite(tx);
    for chunk in rows.chunks(rows_per_statement(anonymous, COLUMNS.len())) {
        let mut sql = Sql::new(
            anonymous,
            &format!("INSERT INTO visit_events ({}) ", names.join(", ")),
        );
        sql.records(&COLUMNS, chunk);
        sql.query().execute(&mut **tx).await?;
    }
    Ok(recorded_at)
}

/// A merchant's baseline and the status imports last gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub status: PipelineStatus,
    pub since: Option<NaiveDate>,
    pub import_status: PipelineStatus,
}

const PIPELINE_COLUMNS: &str = "merchant_id, base_status, base_since, import_status, status, \
     status_since, reason, flag, flag_since, next_follow_up, last_visit, visits, events, \
     last_event_at";

/// The pipeline rows of these merchants (or all), inside the transaction.
async fn pipeline_rows_in(
    tx: &mut Transaction<'static, Any>,
    ids: Option<&[String]>,
) -> Result<HashMap<String, PipelineRow>, StorageError> {
    let mut out = HashMap::new();
    let mut sql = Sql::new(
        is_sqlite(tx),
        &format!("SELECT {PIPELINE_COLUMNS} FROM merchant_pipeline"),
    );
    if let Some(ids) = ids {
        if ids.is_empty() {
            return Ok(out);
        }
        sql.push(" WHERE merchant_id IN ").json_list(ids);
    }
    for r in sql.query().fetch_all(&mut **tx).await? {
        let p = pipeline_row(&r)?;
        out.insert(p.merchant_id.clone(), p);
    }
    Ok(out)
}

async fn events_of(
    tx: &mut Transaction<'static, Any>,
    ids: &[String],
) -> Result<HashMap<String, Vec<Event>>, StorageError> {
    let mut out: HashMap<String, Vec<Event>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    // Only what the status rule reads.
    let mut sql = Sql::new(
        is_sqlite(tx),
        "SELECT id, merchant_id, outcome, reason, imported_status, next_follow_up, visited_at, \
         owner_name, owner_phone FROM visit_events WHERE merchant_id IN ",
    );
    sql.json_list(ids);
    for r in sql.query().fetch_all(&mut **tx).await? {
        let e = StoredEvent {
            id: r.try_get("id")?,
            merchant_id: r.try_get("merchant_id")?,
            outcome: r.try_get("outcome")?,
            reason: r.try_get("reason")?,
            imported_status: r.try_get("imported_status")?,
            next_follow_up: r.try_get("next_follow_up")?,
            visited_at: r.try_get("visited_at")?,
            owner_name: r.try_get("owner_name")?,
            owner_phone: r.try_get("owner_phone")?,
            ..StoredEvent::default()
        };
        let event = e.to_event()?;
        out.entry(e.merchant_id).or_default().push(event);
    }
    Ok(out)
}

fn day_text(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// Recomputes the state of these merchants after `fresh` events (just inserted) and stores it
/// (`merchant_pipeline`, and status, status_since and contact on the merchant row). `rows` are
/// the merchants' rows as read in this transaction; a merchant's first settle takes its row's
/// status as its baseline. The result is always `derive(baseline, all its events)`: when every
/// fresh event of a merchant happened at or after its latest stored one (the usual case), its
/// stored state is carried forward by the fresh events alone; otherwise (a visit posted late,
/// a merchant's first events) all its events are read and folded again. Merchants without
/// fresh events are read, not written. With `full`, every merchant's events are folded again
/// and its row rewritten (after an import overwrote the rows). Returns each merchant's state.
pub async fn settle(
    tx: &mut Transaction<'static, Any>,
    ids: &[String],
    rows: &HashMap<String, MerchantRow>,
    fresh: &[NewEvent],
    full: bool,
) -> Result<HashMap<String, Settled>, StorageError> {
    let ids: Vec<String> = ids
        .iter()
        .filter(|id| rows.contains_key(*id))
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let current = pipeline_rows_in(tx, Some(&ids)).await?;
    let mut fresh_of: HashMap<&str, Vec<Event>> = HashMap::new();
    for e in fresh {
        fresh_of
            .entry(e.merchant_id.as_str())
            .or_default()
            .push(e.to_event());
    }
    let replay_all: Vec<String> = ids
        .iter()
        .filter(|id| {
            if full {
                return true;
            }
            let news = fresh_of.get(id.as_str());
            match current.get(*id) {
                None => true,
                Some(p) => news.is_some_and(|news| {
                    news.iter().any(|e| {
                        p.last_event_at
                            .as_deref()
                            .and_then(outcome::parse_instant)
                            .is_none_or(|last| e.at < last)
                    })
                }),
            }
        })
        .cloned()
        .collect();
    // A merchant without a pipeline row has no events but this write's: no need to read them.
    let (first, reread): (Vec<String>, Vec<String>) = replay_all
        .iter()
        .cloned()
        .partition(|id| !full && !current.contains_key(id) && fresh_of.contains_key(id.as_str()));
    let mut all_events = events_of(tx, &reread).await?;
    for id in first {
        if let Some(evs) = fresh_of.remove(id.as_str()) {
            all_events.insert(id, evs);
        }
    }
    let ts = now();
    let mut out = HashMap::new();
    let mut pipeline_rows = Vec::new();
    let mut merchant_updates = Vec::new();
    for id in &ids {
        let row = &rows[id];
        let news = fresh_of.remove(id.as_str()).unwrap_or_default();
        let prior = current.get(id);
        let base = prior.map(|p| p.baseline.clone()).unwrap_or(Baseline {
            status: row.status,
            since: row.status_since,
            import_status: row.status,
        });
        let (state, events, last_at) = match all_events.remove(id) {
            Some(evs) => {
                let state = outcome::derive(PipelineState::baseline(base.status, base.since), &evs);
                let last = evs.iter().map(|e| e.at).max();
                (state, evs.len() as u64, last)
            }
            None if replay_all.contains(id) => {
                // No events at all (nothing fresh, nothing stored): its row says it all.
                out.insert(
                    id.clone(),
                    Settled {
                        state: PipelineState::baseline(base.status, base.since),
                        contact_name: row.contact_name.clone(),
                        contact_phone: row.contact_phone.clone(),
                    },
                );
                continue;
            }
            None => {
                let Some(p) = prior else { continue };
                if news.is_empty() {
                    // Read only (a replayed post).
                    out.insert(
                        id.clone(),
                        Settled {
                            state: p.state.clone(),
                            contact_name: row.contact_name.clone(),
                            contact_phone: row.contact_phone.clone(),
                        },
                    );
                    continue;
                }
                let mut news = news;
                outcome::in_order(&mut news);
                let mut state = p.state.clone();
                for e in &news {
                    state.apply(e);
                }
                let last = news.iter().map(|e| e.at).max();
                (state, p.events + news.len() as u64, last)
            }
        };
        let settled = Settled {
            contact_name: state
                .owner_name
                .clone()
                .or_else(|| row.contact_name.clone()),
            contact_phone: state
                .owner_phone
                .clone()
                .or_else(|| row.contact_phone.clone()),
            state,
        };
        if settled.state.status != row.status
            || settled.state.status_since != row.status_since
            || settled.contact_name != row.contact_name
            || settled.contact_phone != row.contact_phone
        {
            merchant_updates.push((id.clone(), settled.clone()));
        }
        pipeline_rows.push((
            id.clone(),
            base,
            settled.state.clone(),
            events,
            last_at.map(outcome::stored_instant),
        ));
        out.insert(id.clone(), settled);
    }
    let anonymous = is_sqlite(tx);
    if !pipeline_rows.is_empty() {
        const COLUMNS: [(&str, &str); 15] = [
            ("merchant_id", "TEXT"),
            ("base_status", "TEXT"),
            ("base_since", "TEXT"),
            ("import_status", "TEXT"),
            ("status", "TEXT"),
            ("status_since", "TEXT"),
            ("reason", "TEXT"),
            ("flag", "TEXT"),
            ("flag_since", "TEXT"),
            ("next_follow_up", "TEXT"),
            ("last_visit", "TEXT"),
            ("visits", "BIGINT"),
            ("events", "BIGINT"),
            ("last_event_at", "TEXT"),
            ("updated_at", "TEXT"),
        ];
        let rows: Vec<Vec<Arg>> = pipeline_rows
            .iter()
            .map(|(id, base, s, n, last)| {
                vec![
                    text(id.clone()),
                    text(base.status.code()),
                    opt(day_text(base.since)),
                    text(base.import_status.code()),
                    text(s.status.code()),
                    opt(day_text(s.status_since)),
                    opt(s.reason.map(Reason::code)),
                    opt(s.flag.map(Flag::code)),
                    opt(day_text(s.flag_since)),
                    opt(day_text(s.next_follow_up)),
                    opt(day_text(s.last_visit)),
                    Arg::Int(i64::from(s.visits)),
                    Arg::Int(*n as i64),
                    opt(last.clone()),
                    text(ts.clone()),
                ]
            })
            .collect();
        let names: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
        for chunk in rows.chunks(rows_per_statement(anonymous, COLUMNS.len())) {
            let mut sql = Sql::new(
                anonymous,
                &format!("INSERT INTO merchant_pipeline ({}) ", names.join(", ")),
            );
            // `WHERE true`: SQLite needs it to tell the upsert's ON from a join's.
            sql.records(&COLUMNS, chunk).push(
                " WHERE true ON CONFLICT (merchant_id) DO UPDATE SET status = excluded.status, \
                 status_since = excluded.status_since, reason = excluded.reason, \
                 flag = excluded.flag, flag_since = excluded.flag_since, \
                 next_follow_up = excluded.next_follow_up, last_visit = excluded.last_visit, \
                 visits = excluded.visits, events = excluded.events, \
                 last_event_at = excluded.last_event_at, updated_at = excluded.updated_at",
            );
            sql.query().execute(&mut **tx).await?;
        }
    }
    if !merchant_updates.is_empty() {
        const COLUMNS: [(&str, &str); 6] = [
            ("id", "TEXT"),
            ("status", "TEXT"),
            ("status_since", "TEXT"),
            ("contact_name", "TEXT"),
            ("contact_phone", "TEXT"),
            ("updated_at", "TEXT"),
        ];
        let rows: Vec<Vec<Arg>> = merchant_updates
            .iter()
            .map(|(id, s)| {
                vec![
                    text(id.clone()),
                    text(s.state.status.code()),
                    opt(day_text(s.state.status_since)),
                    opt(s.contact_name.clone()),
                    opt(s.contact_phone.clone()),
                    text(ts.clone()),
                ]
            })
            .collect();
        for chunk in rows.chunks(rows_per_statement(anonymous, COLUMNS.len())) {
            let mut sql = Sql::new(
                anonymous,
                "UPDATE merchants SET status = x.status, status_since = x.status_since, \
                 contact_name = x.contact_name, contact_phone = x.contact_phone, \
                 updated_at = x.updated_at FROM (",
            );
            sql.records(&COLUMNS, chunk)
                .push(") AS x WHERE merchants.id = x.id");
            sql.query().execute(&mut **tx).await?;
        }
    }
    Ok(out)
}

/// After an import upserted `merchants` (inside its transaction, with [`lock_events`] taken
/// first): merchants that have events keep the status their events give them. The file's
/// status counts as news only when it differs from what imports said before and is not
/// `prospect` (a file without a status column says prospect); news is appended as an
/// `imported` event by `actor` (dated the file's status date if it has one), so it takes its
/// place in the history. The merchants are updated to their settled state for the index.
pub async fn settle_imported(
    tx: &mut Transaction<'static, Any>,
    merchants: &mut [Merchant],
    actor: &str,
) -> Result<usize, StorageError> {
    let bases = if merchants.len() <= 1_000 {
        let ids: Vec<String> = merchants.iter().map(|m| m.id.clone()).collect();
        pipeline_rows_in(tx, Some(&ids)).await?
    } else {
        pipeline_rows_in(tx, None).await?
    };
    let touched: Vec<usize> = (0..merchants.len())
        .filter(|&i| bases.contains_key(&merchants[i].id))
        .collect();
    if touched.is_empty() {
        return Ok(0);
    }
    let at_now = Utc::now();
    let mut next = next_event_id(tx).await?;
    let mut news = Vec::new();
    for &i in &touched {
        let m = &merchants[i];
        let base = &bases[&m.id];
        if m.status == PipelineStatus::Prospect || m.status == base.baseline.import_status {
            continue;
        }
        let at = m
            .status_since
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .and_then(|t| t.and_local_timezone(outcome::cst()).single())
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| *t <= at_now)
            .unwrap_or(at_now);
        news.push(NewEvent {
            id: next,
            merchant_id: m.id.clone(),
            step: Step::Imported(m.status),
            notes: None,
            next_follow_up: None,
            visited_at: at,
            recorded_by: actor.to_string(),
            recorded_by_id: None,
            org_node_id: m.owner_org_id.clone(),
            owner_name: None,
            owner_phone: None,
            client_id: None,
        });
        next += 1;
    }
    insert_events(tx, &news).await?;
    if !news.is_empty() {
        let rows: Vec<Vec<Arg>> = news
            .iter()
            .filter_map(|e| match e.step {
                Step::Imported(s) => Some(vec![text(e.merchant_id.clone()), text(s.code())]),
                Step::Outcome(..) => None,
            })
            .collect();
        let anonymous = is_sqlite(tx);
        for chunk in rows.chunks(rows_per_statement(anonymous, 2)) {
            let mut sql = Sql::new(
                anonymous,
                "UPDATE merchant_pipeline SET import_status = x.import_status FROM (",
            );
            sql.records(&[("merchant_id", "TEXT"), ("import_status", "TEXT")], chunk)
                .push(") AS x WHERE merchant_pipeline.merchant_id = x.merchant_id");
            sql.query().execute(&mut **tx).await?;
        }
    }
    let ids: Vec<String> = touched.iter().map(|&i| merchants[i].id.clone()).collect();
    let rows = merchant_rows(tx, &ids).await?;
    let settled = settle(tx, &ids, &rows, &news, true).await?;
    for &i in &touched {
        if let Some(s) = settled.get(&merchants[i].id) {
            s.apply_to(&mut merchants[i]);
        }
    }
    Ok(news.len())
}

/// Which events a list or funnel looks at.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events whose org node is one of these; `None`: all (administrators).
    pub nodes: Option<Vec<String>>,
    pub staff: Option<String>,
    pub merchant: Option<String>,
    pub outcome: Option<Outcome>,
    /// Visit dates, inclusive (China Standard Time).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl EventFilter {
    /// ` WHERE …` over `visit_events e`; imports are not visits.
    fn push_where(&self, sql: &mut Sql) {
        sql.push(" WHERE e.outcome <> 'imported'");
        if let Some(nodes) = &self.nodes {
            sql.push(" AND e.org_node_id IN ").json_list(nodes);
        }
        if let Some(s) = &self.staff {
            sql.push(" AND e.recorded_by = ").text(s.clone());
        }
        if let Some(m) = &self.merchant {
            sql.push(" AND e.merchant_id = ").text(m.clone());
        }
        if let Some(o) = self.outcome {
            sql.push(" AND e.outcome = ").text(o.code());
        }
        if let Some(d) = self.from {
            sql.push(" AND e.visit_date >= ").text(d.to_string());
        }
        if let Some(d) = self.to {
            sql.push(" AND e.visit_date <= ").text(d.to_string());
        }
    }
}

/// One group of the funnel's query: how many events of one outcome a merchant had from one
/// member of staff in one week, under one org node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelRow {
    pub org_node_id: Option<String>,
    pub merchant_id: String,
    pub recorded_by: String,
    pub recorded_by_name: Option<String>,
    pub visit_week: String,
    pub outcome: Outcome,
    pub events: u64,
}

/// A merchant's pipeline row.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineRow {
    pub merchant_id: String,
    pub baseline: Baseline,
    pub state: PipelineState,
    pub events: u64,
    /// When its latest event happened (RFC 3339, UTC).
    pub last_event_at: Option<String>,
}

fn anonymous(store: &Store) -> bool {
    store.backend() == super::Backend::Sqlite
}

impl Store {
    /// A merchant's events, in storage order, and its baseline (`None` without events).
    pub async fn merchant_events(
        &self,
        merchant_id: &str,
    ) -> Result<(Option<Baseline>, Vec<StoredEvent>), StorageError> {
        let mut sql = Sql::new(
            anonymous(self),
            &format!(
                "SELECT {EVENT_COLUMNS}, m.name AS merchant_name, u.display_name AS \
                 recorded_by_name FROM visit_events e LEFT JOIN merchants m ON m.id = \
                 e.merchant_id LEFT JOIN users u ON u.username = e.recorded_by WHERE \
                 e.merchant_id = "
            ),
        );
        sql.text(merchant_id).push(" ORDER BY e.id");
        let events = sql
            .query()
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| stored_event(r, true))
            .collect::<Result<Vec<_>, _>>()?;
        let mut sql = Sql::new(
            anonymous(self),
            "SELECT merchant_id, base_status, base_since, import_status FROM merchant_pipeline \
             WHERE merchant_id = ",
        );
        sql.text(merchant_id);
        let base = match sql.query().fetch_optional(self.pool()).await? {
            None => None,
            Some(r) => {
                let base: String = r.try_get("base_status")?;
                let import: String = r.try_get("import_status")?;
                Some(Baseline {
                    status: parse_status(&base, "merchant_pipeline", merchant_id)?,
                    since: parse_day(r.try_get("base_since")?, merchant_id, "base_since")?,
                    import_status: parse_status(&import, "merchant_pipeline", merchant_id)?,
                })
            }
        };
        Ok((base, events))
    }

    /// Visits (imports excluded) matching `filter`, newest first, and how many match in all.
    pub async fn list_visits(
        &self,
        filter: &EventFilter,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<StoredEvent>, u64), StorageError> {
        let mut count = Sql::new(anonymous(self), "SELECT COUNT(*) FROM visit_events e");
        filter.push_where(&mut count);
        let total: i64 = {
            let q = count.query();
            let row = q.fetch_one(self.pool()).await?;
            row.try_get(0)?
        };
        let mut sql = Sql::new(
            anonymous(self),
            &format!(
                "SELECT {EVENT_COLUMNS}, m.name AS merchant_name, u.display_name AS \
                 recorded_by_name FROM visit_events e LEFT JOIN merchants m ON m.id = \
                 e.merchant_id LEFT JOIN users u ON u.username = e.recorded_by"
            ),
        );
        filter.push_where(&mut sql);
        sql.push(" ORDER BY e.visited_at DESC, e.id DESC LIMIT ")
            .int(limit.min(i64::MAX as usize) as i64)
            .push(" OFFSET ")
            .int(offset.min(i64::MAX as usize) as i64);
        let events = sql
            .query()
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| stored_event(r, true))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, total.max(0) as u64))
    }

    /// The funnel's groups for `filter` (imports excluded).
    pub async fn funnel_rows(&self, filter: &EventFilter) -> Result<Vec<FunnelRow>, StorageError> {
        let mut sql = Sql::new(
            anonymous(self),
            "SELECT e.org_node_id, e.merchant_id, e.recorded_by, u.display_name AS \
             recorded_by_name, e.visit_week, e.outcome, COUNT(*) AS n FROM visit_events e \
             LEFT JOIN users u ON u.username = e.recorded_by",
        );
        filter.push_where(&mut sql);
        sql.push(
            " GROUP BY e.org_node_id, e.merchant_id, e.recorded_by, u.display_name, \
             e.visit_week, e.outcome",
        );
        sql.query()
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                let outcome: String = r.try_get("outcome")?;
                let n: i64 = r.try_get("n")?;
                Ok(FunnelRow {
                    org_node_id: r.try_get("org_node_id")?,
                    merchant_id: r.try_get("merchant_id")?,
                    recorded_by: r.try_get("recorded_by")?,
                    recorded_by_name: r.try_get("recorded_by_name")?,
                    visit_week: r.try_get("visit_week")?,
                    outcome: Outcome::parse(&outcome).ok_or_else(|| corrupt(0, "outcome"))?,
                    events: n.max(0) as u64,
                })
            })
            .collect()
    }

    /// The pipeline rows of merchants with events: those with these ids, or all.
    pub async fn pipelines(
        &self,
        ids: Option<&[String]>,
    ) -> Result<Vec<PipelineRow>, StorageError> {
        let mut sql = Sql::new(
            anonymous(self),
            &format!("SELECT {PIPELINE_COLUMNS} FROM merchant_pipeline"),
        );
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            sql.push(" WHERE merchant_id IN ").json_list(ids);
        }
        sql.push(" ORDER BY merchant_id");
        sql.query()
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(pipeline_row)
            .collect()
    }

    /// The pipeline rows a visit plan starting on `from` must know about: merchants with a
    /// follow-up date, with a flag (closed, not found), or visited on or after `from`.
    pub async fn pipelines_to_plan(
        &self,
        from: NaiveDate,
    ) -> Result<Vec<PipelineRow>, StorageError> {
        let mut sql = Sql::new(
            anonymous(self),
            &format!(
                "SELECT {PIPELINE_COLUMNS} FROM merchant_pipeline WHERE next_follow_up IS NOT \
                 NULL OR flag IS NOT NULL OR last_visit >= "
            ),
        );
        sql.text(from.to_string()).push(" ORDER BY merchant_id");
        sql.query()
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(pipeline_row)
            .collect()
    }
}

fn pipeline_row(r: &AnyRow) -> Result<PipelineRow, StorageError> {
    let id: String = r.try_get("merchant_id")?;
    let t = "merchant_pipeline";
    let base: String = r.try_get("base_status")?;
    let import: String = r.try_get("import_status")?;
    let status: String = r.try_get("status")?;
    let reason: Option<String> = r.try_get("reason")?;
    let flag: Option<String> = r.try_get("flag")?;
    let visits: i64 = r.try_get("visits")?;
    let events: i64 = r.try_get("events")?;
    let bad = |field: &str| StorageError::Corrupt {
        table: t,
        id: id.clone(),
        source: FieldError::new(field, "unrecognised stored value"),
    };
    Ok(PipelineRow {
        baseline: Baseline {
            status: parse_status(&base, t, &id)?,
            since: parse_day(r.try_get("base_since")?, &id, "base_since")?,
            import_status: parse_status(&import, t, &id)?,
        },
        state: PipelineState {
            status: parse_status(&status, t, &id)?,
            status_since: parse_day(r.try_get("status_since")?, &id, "status_since")?,
            reason: match reason {
                None => None,
                Some(r) => Some(Reason::parse(&r).ok_or_else(|| bad("reason"))?),
            },
            flag: match flag {
                None => None,
                Some(f) => Some(Flag::parse(&f).ok_or_else(|| bad("flag"))?),
            },
            flag_since: parse_day(r.try_get("flag_since")?, &id, "flag_since")?,
            next_follow_up: parse_day(r.try_get("next_follow_up")?, &id, "next_follow_up")?,
            last_visit: parse_day(r.try_get("last_visit")?, &id, "last_visit")?,
            visits: u32::try_from(visits).unwrap_or(u32::MAX),
            owner_name: None,
            owner_phone: None,
        },
        events: events.max(0) as u64,
        last_event_at: r.try_get("last_event_at")?,
        merchant_id: id,
    })
}
