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

    fn opt(&mut self, s: Option<String>) -> &mut Self {
        self.arg(Arg::Text(s))
    }

    fn int(&mut self, i: i64) -> &mut Self {
        self.arg(Arg::Int(i))
    }

    /// `(a, b, c)`; an empty list matches nothing (`(NULL)`).
    fn list<'a>(&mut self, values: impl IntoIterator<Item = &'a String>) -> &mut Self {
        self.push("(");
        let mut any = false;
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.text(v.clone());
            any = true;
        }
        if !any {
            self.push("NULL");
        }
        self.push(")")
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

fn is_sqlite(tx: &Transaction<'static, Any>) -> bool {
    tx.backend_name().eq_ignore_ascii_case("sqlite")
}

/// SQLite allows 32,766 parameters per statement, PostgreSQL 65,535; chunks stay well under.
const MAX_PARAMS: usize = 30_000;

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
        let contact =
            (self.contact_name.is_some() || self.contact_phone.is_some()).then(|| Contact {
                name: self.contact_name.clone(),
                phone: self.contact_phone.clone(),
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
    let mut out = Vec::new();
    let clients: Vec<String> = keys
        .iter()
        .map(|k| k.1.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for chunk in clients.chunks(MAX_PARAMS) {
        let mut sql = Sql::new(
            is_sqlite(tx),
            &format!("SELECT {EVENT_COLUMNS} FROM visit_events e WHERE e.client_id IN "),
        );
        sql.list(chunk);
        for r in sql.query().fetch_all(&mut **tx).await? {
            let e = stored_event(&r, false)?;
            if let Some(c) = &e.client_id {
                if wanted.contains(&(e.recorded_by.clone(), c.clone())) {
                    out.push(e);
                }
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
    for chunk in ids.chunks(MAX_PARAMS) {
        let mut sql = Sql::new(
            is_sqlite(tx),
            "SELECT id, owner_org_id, status, status_since, contact_name, contact_phone \
             FROM merchants WHERE id IN ",
        );
        sql.list(chunk);
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
    }
    Ok(out)
}

/// Appends events (ids already given).
pub async fn insert_events(
    tx: &mut Transaction<'static, Any>,
    events: &[NewEvent],
) -> Result<String, StorageError> {
    const COLUMNS: [&str; 17] = [
        "id",
        "merchant_id",
        "outcome",
        "reason",
        "imported_status",
        "notes",
        "next_follow_up",
        "visited_at",
        "visit_date",
        "visit_week",
        "recorded_by_id",
        "recorded_by",
        "org_node_id",
        "owner_name",
        "owner_phone",
        "client_id",
        "recorded_at",
    ];
    let recorded_at = now();
    let anonymous = is_sqlite(tx);
    for chunk in events.chunks(MAX_PARAMS / COLUMNS.len()) {
        let mut sql = Sql::new(
            anonymous,
            &format!("INSERT INTO visit_events ({}) VALUES ", COLUMNS.join(", ")),
        );
        for (i, e) in chunk.iter().enumerate() {
            let s = e.to_stored(&recorded_at);
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.int(s.id)
                .push(", ")
                .text(s.merchant_id)
                .push(", ")
                .text(s.outcome)
                .push(", ")
                .opt(s.reason)
                .push(", ")
                .opt(s.imported_status)
                .push(", ")
                .opt(s.notes)
                .push(", ")
                .opt(s.next_follow_up)
                .push(", ")
                .text(s.visited_at)
                .push(", ")
                .text(s.visit_date)
                .push(", ")
                .text(s.visit_week)
                .push(", ")
                .opt(s.recorded_by_id)
                .push(", ")
                .text(s.recorded_by)
                .push(", ")
                .opt(s.org_node_id)
                .push(", ")
                .opt(s.owner_name)
                .push(", ")
                .opt(s.owner_phone)
                .push(", ")
                .opt(s.client_id)
                .push(", ")
                .text(s.recorded_at)
                .push(")");
        }
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
    let all: Vec<String> = Vec::new();
    let chunks: Vec<&[String]> = match ids {
        Some(ids) => ids.chunks(MAX_PARAMS).collect(),
        None => vec![&all[..]],
    };
    for chunk in chunks {
        let mut sql = Sql::new(
            is_sqlite(tx),
            &format!("SELECT {PIPELINE_COLUMNS} FROM merchant_pipeline"),
        );
        if ids.is_some() {
            sql.push(" WHERE merchant_id IN ").list(chunk);
        }
        for r in sql.query().fetch_all(&mut **tx).await? {
            let p = pipeline_row(&r)?;
            out.insert(p.merchant_id.clone(), p);
        }
    }
    Ok(out)
}

async fn events_of(
    tx: &mut Transaction<'static, Any>,
    ids: &[String],
) -> Result<HashMap<String, Vec<Event>>, StorageError> {
    let mut out: HashMap<String, Vec<Event>> = HashMap::new();
    for chunk in ids.chunks(MAX_PARAMS) {
        // Only what the status rule reads.
        let mut sql = Sql::new(
            is_sqlite(tx),
            "SELECT id, merchant_id, outcome, reason, imported_status, next_follow_up, \
             visited_at, owner_name, owner_phone FROM visit_events WHERE merchant_id IN ",
        );
        sql.list(chunk);
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
    let mut all_events = events_of(tx, &replay_all).await?;
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
    for chunk in pipeline_rows.chunks(MAX_PARAMS / 15) {
        let mut sql = Sql::new(
            anonymous,
            "INSERT INTO merchant_pipeline (merchant_id, base_status, base_since, import_status, \
             status, status_since, reason, flag, flag_since, next_follow_up, last_visit, visits, \
             events, last_event_at, updated_at) VALUES ",
        );
        for (i, (id, base, s, n, last)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.text(id.clone())
                .push(", ")
                .text(base.status.code())
                .push(", ")
                .opt(day_text(base.since))
                .push(", ")
                .text(base.import_status.code())
                .push(", ")
                .text(s.status.code())
                .push(", ")
                .opt(day_text(s.status_since))
                .push(", ")
                .opt(s.reason.map(|r| r.code().to_string()))
                .push(", ")
                .opt(s.flag.map(|f| f.code().to_string()))
                .push(", ")
                .opt(day_text(s.flag_since))
                .push(", ")
                .opt(day_text(s.next_follow_up))
                .push(", ")
                .opt(day_text(s.last_visit))
                .push(", ")
                .int(i64::from(s.visits))
                .push(", ")
                .int(*n as i64)
                .push(", ")
                .opt(last.clone())
                .push(", ")
                .text(ts.clone())
                .push(")");
        }
        sql.push(
            " ON CONFLICT (merchant_id) DO UPDATE SET status = excluded.status, \
             status_since = excluded.status_since, reason = excluded.reason, \
             flag = excluded.flag, flag_since = excluded.flag_since, \
             next_follow_up = excluded.next_follow_up, last_visit = excluded.last_visit, \
             visits = excluded.visits, events = excluded.events, \
             last_event_at = excluded.last_event_at, updated_at = excluded.updated_at",
        );
        sql.query().execute(&mut **tx).await?;
    }
    // One statement for all changed merchants: UPDATE … FROM (VALUES …), whose columns are
    // column1… on both backends.
    for chunk in merchant_updates.chunks(MAX_PARAMS / 6) {
        let mut sql = Sql::new(
            anonymous,
            "UPDATE merchants SET status = v.column2, status_since = v.column3, \
             contact_name = v.column4, contact_phone = v.column5, updated_at = v.column6 \
             FROM (VALUES ",
        );
        for (i, (id, s)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.text(id.clone())
                .push(", ")
                .text(s.state.status.code())
                .push(", ")
                .opt(day_text(s.state.status_since))
                .push(", ")
                .opt(s.contact_name.clone())
                .push(", ")
                .opt(s.contact_phone.clone())
                .push(", ")
                .text(ts.clone())
                .push(")");
        }
        sql.push(") AS v WHERE merchants.id = v.column1");
        sql.query().execute(&mut **tx).await?;
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
    let anonymous = is_sqlite(tx);
    for e in &news {
        if let Step::Imported(s) = e.step {
            let mut sql = Sql::new(anonymous, "UPDATE merchant_pipeline SET import_status = ");
            sql.text(s.code())
                .push(" WHERE merchant_id = ")
                .text(e.merchant_id.clone());
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
            sql.push(" AND e.org_node_id IN ").list(nodes);
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
        let mut out = Vec::new();
        let all: Vec<String> = Vec::new();
        let chunks: Vec<&[String]> = match ids {
            Some(ids) => ids.chunks(MAX_PARAMS).collect(),
            None => vec![&all[..]],
        };
        for chunk in chunks {
            let mut sql = Sql::new(
                anonymous(self),
                &format!("SELECT {PIPELINE_COLUMNS} FROM merchant_pipeline"),
            );
            if ids.is_some() {
                sql.push(" WHERE merchant_id IN ").list(chunk);
            }
            sql.push(" ORDER BY merchant_id");
            for r in sql.query().fetch_all(self.pool()).await? {
                out.push(pipeline_row(&r)?);
            }
        }
        Ok(out)
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
