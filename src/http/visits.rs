//! Visit outcomes over HTTP: record one (`POST /api/visits`), a merchant's history, the list of
//! visits and the funnel. Personal information (the owner's name and phone given at a visit)
//! is masked in every answer; unmasking is `GET /api/merchants/{id}/contact` (audited).

use std::collections::{BTreeMap, HashMap, HashSet};

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use super::auth::Caller;
use super::error::ApiError;
use super::params::Params;
use super::Shared;
use crate::app::App;
use crate::auth::{Role, Scope, User};
use crate::domain::{mask_name, mask_phone, Merchant, PipelineStatus};
use crate::storage::visits::{EventFilter, Settled, StoredEvent};
use crate::visits::outcome::{
    self, derive, parse_visit, replay, Marks, Outcome, PipelineState, Reason, Stages,
};
use crate::visits_app::{Recorder, VisitError};

impl From<VisitError> for ApiError {
    fn from(e: VisitError) -> Self {
        match e {
            VisitError::MerchantNotFound(id) => ApiError::not_found("merchant", &id),
            VisitError::Invalid(f) => ApiError::bad(&f.field, f.reason),
            VisitError::Storage(s) => s.into(),
            VisitError::Lost => ApiError::Internal(Box::new(VisitError::Lost)),
        }
    }
}

fn local_time(stored: &str) -> String {
    outcome::parse_instant(stored)
        .map(|t| {
            t.with_timezone(&outcome::cst())
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        })
        .unwrap_or_else(|| stored.to_string())
}

/// An event as the API shows it: the owner's name and phone masked, times in +08:00.
fn event_json(e: &StoredEvent, status_after: Option<PipelineStatus>) -> Value {
    let outcome_zh = match e.outcome.as_str() {
        "imported" => Some("导入"),
        o => Outcome::parse(o).map(Outcome::zh),
    };
    let mut v = json!({
        "id": e.id,
        "merchant_id": e.merchant_id,
        "merchant_name": e.merchant_name,
        "outcome": e.outcome,
        "outcome_zh": outcome_zh,
        "reason": e.reason,
        "reason_zh": e.reason.as_deref().and_then(Reason::parse).map(Reason::zh),
        "notes": e.notes,
        "next_follow_up": e.next_follow_up,
        "visited_at": local_time(&e.visited_at),
        "visit_date": e.visit_date,
        "week": e.visit_week,
        "recorded_by": e.recorded_by,
        "recorded_by_name": e.recorded_by_name,
        "org_node_id": e.org_node_id,
        "owner_name": e.owner_name.as_deref().map(mask_name),
        "owner_phone": e.owner_phone.as_deref().map(mask_phone),
        "client_id": e.client_id,
        "recorded_at": local_time(&e.recorded_at),
    });
    if let Some(s) = &e.imported_status {
        v["imported_status"] = json!(s);
    }
    if let Some(s) = status_after {
        v["status_after"] = json!(s.code());
        v["status_after_zh"] = json!(s.zh());
    }
    v
}

/// Where a merchant stands, with its contact masked.
fn state_json(
    id: &str,
    name: Option<&str>,
    s: &PipelineState,
    contact_name: Option<&str>,
    contact_phone: Option<&str>,
) -> Value {
    json!({
        "id": id,
        "name": name,
        "status": s.status.code(),
        "status_zh": s.status.zh(),
        "status_since": s.status_since.map(|d| d.to_string()),
        "reason": s.reason.map(Reason::code),
        "reason_zh": s.reason.map(Reason::zh),
        "flag": s.flag.map(|f| f.code()),
        "flag_zh": s.flag.map(|f| f.zh()),
        "flag_since": s.flag_since.map(|d| d.to_string()),
        "next_follow_up": s.next_follow_up.map(|d| d.to_string()),
        "last_visit": s.last_visit.map(|d| d.to_string()),
        "visits": s.visits,
        "contact_name": contact_name.map(mask_name),
        "contact_phone": contact_phone.map(mask_phone),
    })
}

fn settled_json(id: &str, name: Option<&str>, s: &Settled) -> Value {
    state_json(
        id,
        name,
        &s.state,
        s.contact_name.as_deref(),
        s.contact_phone.as_deref(),
    )
}

/// `POST /api/visits`: records a visit's outcome. 201 with the event and the merchant's new
/// state; 200 with `replayed: true` when the client id was used before by this user (nothing
/// new is stored).
pub async fn record(
    app: Shared,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let visit =
        parse_visit(&body, chrono::Utc::now()).map_err(|e| ApiError::bad(&e.field, e.reason))?;
    let who = Recorder {
        username: caller.user.username.clone(),
        user_id: Some(caller.user.id.clone()),
        display_name: Some(caller.user.display_name.clone()),
        scope: caller.scope.clone(),
    };
    // On its own task: a client that hangs up must not abandon a batch it is writing.
    let recorded = app
        .into_inner()
        .spawn_record_visit(who, visit)
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))??;
    let body = json!({
        "event": event_json(&recorded.event, None),
        "merchant": settled_json(&recorded.event.merchant_id, recorded.merchant_name.as_deref(), &recorded.merchant),
        "replayed": recorded.replayed,
    });
    Ok(if recorded.replayed {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::Created().json(body)
    })
}

/// `GET /api/merchants/{id}/visits`: the merchant's whole history, newest first, each event
/// with the status right after it, and where the merchant stands.
pub async fn history(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let m: Merchant = app
        .index()
        .merchants
        .get(&path)
        .filter(|m| caller.scope.contains(m.owner_org_id()))
        .map(|m| m.to_merchant())
        .ok_or_else(|| ApiError::not_found("merchant", &path))?;
    let (base, mut stored) = app.store.merchant_events(&m.id).await?;
    let events = stored
        .iter()
        .map(StoredEvent::to_event)
        .collect::<Result<Vec<_>, _>>()?;
    let baseline = match &base {
        Some(b) => PipelineState::baseline(b.status, b.since),
        None => PipelineState::baseline(m.status, m.status_since),
    };
    let state = derive(baseline.clone(), &events);
    let after: HashMap<i64, PipelineStatus> = replay(baseline, &events).into_iter().collect();
    stored.sort_by(|a, b| b.visited_at.cmp(&a.visited_at).then(b.id.cmp(&a.id)));
    let contact = m.contact.as_ref();
    Ok(HttpResponse::Ok().json(json!({
        "merchant": state_json(
            &m.id,
            Some(&m.name),
            &state,
            contact.and_then(|c| c.name.as_deref()),
            contact.and_then(|c| c.phone.as_deref()),
        ),
        "baseline": base.map(|b| json!({
            "status": b.status.code(),
            "status_since": b.since.map(|d| d.to_string()),
        })),
        "events": stored.iter().map(|e| event_json(e, after.get(&e.id).copied())).collect::<Vec<_>>(),
        "total": stored.len(),
    })))
}

fn date_param(p: &Params, key: &str) -> Result<Option<NaiveDate>, ApiError> {
    p.str(key)
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| ApiError::bad(key, format!("{v:?} is not a date (YYYY-MM-DD)")))
        })
        .transpose()
}

/// The organisation as the funnel needs it: parents, names, levels.
struct Org {
    parent: HashMap<String, String>,
    name: HashMap<String, String>,
    /// Org units and their level code; our outlets are not in it.
    units: BTreeMap<String, &'static str>,
}

impl Org {
    fn of(app: &App) -> Self {
        let index = app.index();
        let mut parent = HashMap::new();
        let mut name = HashMap::new();
        let mut units = BTreeMap::new();
        for u in &index.org_units {
            name.insert(u.id.clone(), u.name.clone());
            units.insert(u.id.clone(), u.level.code());
            if let Some(p) = &u.parent_id {
                parent.insert(u.id.clone(), p.clone());
            }
        }
        for o in index.outlets.items().iter().filter(|o| o.is_ours()) {
            name.insert(o.id.clone(), o.name.clone());
            if let Some(p) = &o.parent_org_id {
                parent.insert(o.id.clone(), p.clone());
            }
        }
        Self {
            parent,
            name,
            units,
        }
    }

    /// The node and the units above it, nearest first.
    fn chain(&self, node: &str) -> Vec<String> {
        let mut out = vec![node.to_string()];
        let mut at = node;
        while let Some(p) = self.parent.get(at) {
            if out.contains(p) || out.len() > 32 {
                break;
            }
            out.push(p.clone());
            at = p;
        }
        out
    }

    fn subtree(&self, app: &App, unit: &str) -> HashSet<String> {
        let probe = User {
            id: String::new(),
            username: String::new(),
            display_name: String::new(),
            role: Role::Branch,
            org_node_id: Some(unit.to_string()),
            can_unmask: false,
            disabled: false,
        };
        match app.scope_of(&probe) {
            Scope::Nodes { own, .. } => own,
            Scope::All => HashSet::new(),
        }
    }
}

/// Which org nodes' events a request looks at (`None`: all, for administrators), from
/// `outlet=` or `branch=` inside the caller's scope.
fn nodes_in_view(
    app: &App,
    org: &Org,
    caller: &Caller,
    p: &Params,
) -> Result<Option<Vec<String>>, ApiError> {
    match (p.str("outlet"), p.str("branch")) {
        (Some(_), Some(_)) => Err(ApiError::bad("branch", "give outlet or branch, not both")),
        (Some(o), None) => {
            if !org.name.contains_key(o) || !caller.scope.contains(Some(o)) {
                return Err(ApiError::not_found("outlet", o));
            }
            Ok(Some(vec![o.to_string()]))
        }
        (None, Some(b)) => {
            if !org.units.contains_key(b) || !caller.scope.contains(Some(b)) {
                return Err(ApiError::not_found("branch", b));
            }
            let mut nodes: Vec<String> = org.subtree(app, b).into_iter().collect();
            nodes.sort();
            Ok(Some(nodes))
        }
        (None, None) => Ok(match &caller.scope {
            Scope::All => None,
            Scope::Nodes { own, .. } => {
                let mut nodes: Vec<String> = own.iter().cloned().collect();
                nodes.sort();
                Some(nodes)
            }
        }),
    }
}

/// `GET /api/visits?outlet=|branch=&staff=&merchant=&outcome=&from=&to=&limit=&offset=`:
/// visits in the caller's scope, newest first.
pub async fn list(app: Shared, caller: Caller, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&[
        "outlet", "branch", "staff", "merchant", "outcome", "from", "to", "limit", "offset",
    ])?;
    let page = p.page(app.limits.default_page, app.limits.max_page)?;
    let org = Org::of(&app);
    let filter = EventFilter {
        nodes: nodes_in_view(&app, &org, &caller, &p)?,
        staff: p.str("staff").map(str::to_string),
        merchant: p.str("merchant").map(str::to_string),
        outcome: p
            .str("outcome")
            .map(|o| {
                Outcome::parse(o).ok_or_else(|| {
                    ApiError::bad(
                        "outcome",
                        format!(
                            "unknown outcome {o:?}; use {}",
                            Outcome::ALL.map(Outcome::code).join(", ")
                        ),
                    )
                })
            })
            .transpose()?,
        from: date_param(&p, "from")?,
        to: date_param(&p, "to")?,
    };
    let (events, total) = app
        .store
        .list_visits(&filter, page.limit, page.offset)
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "visits": events.iter().map(|e| event_json(e, None)).collect::<Vec<_>>(),
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    })))
}

fn stages_json(head: Value, stages: &Stages) -> Value {
    let mut v = head;
    if let (Value::Object(o), Ok(Value::Object(s))) = (&mut v, serde_json::to_value(stages)) {
        o.extend(s);
        o.insert("conversion".into(), json!(stages.conversion()));
    }
    v
}

/// `GET /api/visits/funnel?outlet=|branch=&from=&to=`: visits per member of staff per ISO
/// week, and the pipeline funnel per outlet (org node) and per branch (org unit), over visit
/// dates `from`..=`to` (default: the last 12 ISO weeks up to today). Definitions: docs/VISITS.md.
pub async fn funnel(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["outlet", "branch", "from", "to"])?;
    let today = crate::domain::today();
    let to = date_param(&p, "to")?.unwrap_or(today);
    let from = date_param(&p, "from")?.unwrap_or(outcome::week_start(to) - Duration::weeks(11));
    if from > to {
        return Err(ApiError::bad("from", format!("{from} is after to ({to})")));
    }
    if (to - from).num_days() > 731 {
        return Err(ApiError::bad("from", "the period is longer than two years"));
    }
    let org = Org::of(&app);
    let nodes = nodes_in_view(&app, &org, &caller, &p)?;
    let filter = EventFilter {
        nodes,
        from: Some(from),
        to: Some(to),
        ..EventFilter::default()
    };
    let rows = app.store.funnel_rows(&filter).await?;

    // Which units get a branch row: the one asked for and the units under it, or every unit in
    // the caller's scope; none when one outlet was asked for.
    let reported: HashSet<String> = match (p.str("outlet"), p.str("branch")) {
        (Some(_), _) => HashSet::new(),
        (None, Some(b)) => org
            .subtree(&app, b)
            .into_iter()
            .filter(|n| org.units.contains_key(n))
            .collect(),
        (None, None) => org
            .units
            .keys()
            .filter(|u| caller.scope.contains(Some(u)))
            .cloned()
            .collect(),
    };
    let mut by_node: BTreeMap<Option<String>, HashMap<&str, Marks>> = BTreeMap::new();
    let mut by_unit: BTreeMap<String, HashMap<&str, Marks>> = BTreeMap::new();
    let mut all: HashMap<&str, Marks> = HashMap::new();
    struct StaffWeek<'a> {
        name: Option<&'a str>,
        merchants: HashSet<&'a str>,
        outcomes: [u64; 6],
    }
    let mut staff: BTreeMap<(&str, &str), StaffWeek> = BTreeMap::new();
    let mut chains: HashMap<&str, Vec<String>> = HashMap::new();
    for r in &rows {
        let mut one = Marks::default();
        one.add(r.outcome, r.events);
        by_node
            .entry(r.org_node_id.clone())
            .or_default()
            .entry(&r.merchant_id)
            .or_default()
            .merge(&one);
        all.entry(&r.merchant_id).or_default().merge(&one);
        if let Some(node) = &r.org_node_id {
            let chain = chains
                .entry(node.as_str())
                .or_insert_with(|| org.chain(node));
            for u in chain.iter().filter(|u| reported.contains(*u)) {
                by_unit
                    .entry(u.clone())
                    .or_default()
                    .entry(&r.merchant_id)
                    .or_default()
                    .merge(&one);
            }
        }
        let w = staff
            .entry((r.visit_week.as_str(), r.recorded_by.as_str()))
            .or_insert_with(|| StaffWeek {
                name: r.recorded_by_name.as_deref(),
                merchants: HashSet::new(),
                outcomes: [0; 6],
            });
        w.merchants.insert(&r.merchant_id);
        if let Some(i) = Outcome::ALL.iter().position(|o| *o == r.outcome) {
            w.outcomes[i] += r.events;
        }
    }
    let outlets: Vec<Value> = by_node
        .iter()
        .map(|(node, marks)| {
            let kind = match node.as_deref() {
                None => None,
                Some(n) if org.units.contains_key(n) => Some("org_unit"),
                Some(_) => Some("outlet"),
            };
            stages_json(
                json!({
                    "org_node_id": node,
                    "name": node.as_ref().and_then(|n| org.name.get(n)),
                    "kind": kind,
                }),
                &Stages::of(marks.values()),
            )
        })
        .collect();
    let branches: Vec<Value> = by_unit
        .iter()
        .map(|(u, marks)| {
            stages_json(
                json!({
                    "org_unit_id": u,
                    "name": org.name.get(u),
                    "level": org.units.get(u),
                }),
                &Stages::of(marks.values()),
            )
        })
        .collect();
    let staff_weeks: Vec<Value> = staff
        .iter()
        .map(|((week, who), w)| {
            let start = week
                .split_once("-W")
                .and_then(|(y, n)| Some((y.parse().ok()?, n.parse().ok()?)))
                .and_then(|(y, n)| NaiveDate::from_isoywd_opt(y, n, chrono::Weekday::Mon));
            let outcomes: serde_json::Map<String, Value> = Outcome::ALL
                .iter()
                .zip(w.outcomes)
                .map(|(o, n)| (o.code().to_string(), json!(n)))
                .collect();
            json!({
                "staff": who,
                "display_name": w.name,
                "week": week,
                "week_start": start.map(|d| d.to_string()),
                "visits": w.outcomes.iter().sum::<u64>(),
                "merchants": w.merchants.len(),
                "outcomes": outcomes,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "from": from.to_string(),
        "to": to.to_string(),
        "outlet": p.str("outlet"),
        "branch": p.str("branch"),
        "total": stages_json(json!({}), &Stages::of(all.values())),
        "outlets": outlets,
        "branches": branches,
        "staff_weeks": staff_weeks,
        "definitions": {
            "visits": "visit events recorded in the period (by visit date, China Standard Time)",
            "merchants": "distinct merchants with at least one visit in the period",
            "visited": "merchants someone talked to: a visited, interested, signed or rejected outcome in the period",
            "interested": "merchants with an interested or signed outcome in the period",
            "signed": "merchants with a signed outcome in the period",
            "rejected": "merchants with a rejected outcome in the period",
            "conversion": "visited_to_interested = interested / visited; interested_to_signed = signed / interested; visited_to_signed = signed / visited; visited_to_rejected = rejected / visited",
            "outlets": "grouped by the org node that owned the merchant when the visit was recorded",
            "branches": "every org unit: the visits under it, each merchant counted once",
        },
    })))
}
