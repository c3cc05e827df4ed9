//! Visit outcomes and the pipeline status they imply. Pure: no HTTP, no SQL.
//!
//! A merchant's pipeline status is never set directly once it has events: it is [`derive`]d
//! from its baseline (the status it had before its first event, e.g. from an import) and all
//! of its events in the order they happened (`at`, then `id`). The rule, step by step
//! ([`PipelineState::apply`]):
//!
//! | outcome | from prospect / visited | from interested | from signed / active | from rejected / churned |
//! | --- | --- | --- | --- | --- |
//! | visited | → visited (unchanged if visited) | unchanged | unchanged | → visited (talking again) |
//! | interested | → interested | unchanged | unchanged | → interested |
//! | signed | → signed | → signed | unchanged | → signed |
//! | rejected (reason) | → rejected | → rejected | → churned (a signed merchant said no) | → rejected (the cool-down restarts) |
//! | closed | unchanged, flag closed | unchanged, flag closed | → churned, flag closed | unchanged, flag closed |
//! | not found | unchanged, flag not found | (same) | (same) | (same) |
//!
//! `status_since` is the visit date (China Standard Time) of the event that last changed the
//! status (and of every rejection: a rejection's date starts its cool-down). A closed or
//! not-found visit does not make up a new status: the merchant's relationship with us has not
//! changed, the shop has (closed) or our data has (not found). It keeps its status and is
//! flagged, so planners skip it and the data can be corrected; a signed merchant that closed is
//! lost to us, so it churns. Any later conversation (visited, interested, signed, rejected)
//! clears the flag: the shop reopened, or was found. The next follow-up is the one planned at
//! the latest visit (a visit without one clears it).

use std::fmt;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::{FieldError, PipelineStatus};

/// What happened at a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 已拜访: talked to the shop, no decision yet.
    Visited,
    /// 有意向: wants to sign; comes back on the follow-up date.
    Interested,
    /// 已签约: signed up.
    Signed,
    /// 拒绝: said no, with a reason.
    Rejected,
    /// 已停业: the shop has closed down.
    Closed,
    /// 未找到: no such shop at the address.
    NotFound,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Self::Visited,
        Self::Interested,
        Self::Signed,
        Self::Rejected,
        Self::Closed,
        Self::NotFound,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Visited => "visited",
            Self::Interested => "interested",
            Self::Signed => "signed",
            Self::Rejected => "rejected",
            Self::Closed => "closed",
            Self::NotFound => "not_found",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::Visited => "已拜访",
            Self::Interested => "有意向",
            Self::Signed => "已签约",
            Self::Rejected => "拒绝",
            Self::Closed => "已停业",
            Self::NotFound => "未找到",
        }
    }

    /// The code or the Chinese label.
    pub fn parse(value: &str) -> Option<Self> {
        let v = value.trim();
        Self::ALL
            .into_iter()
            .find(|o| o.code().eq_ignore_ascii_case(v) || o.zh() == v)
    }

    /// Whether someone at the shop talked with us (the funnel's first stage): not a closed or
    /// missing shop.
    pub fn is_conversation(self) -> bool {
        matches!(
            self,
            Self::Visited | Self::Interested | Self::Signed | Self::Rejected
        )
    }
}

/// Why a merchant said no (拒绝原因).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    NoNeed,
    Fees,
    Competitor,
    Settlement,
    Hassle,
    Security,
    OwnerAbsent,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Self::NoNeed,
        Self::Fees,
        Self::Competitor,
        Self::Settlement,
        Self::Hassle,
        Self::Security,
        Self::OwnerAbsent,
        Self::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::NoNeed => "no_need",
            Self::Fees => "fees",
            Self::Competitor => "competitor",
            Self::Settlement => "settlement",
            Self::Hassle => "hassle",
            Self::Security => "security",
            Self::OwnerAbsent => "owner_absent",
            Self::Other => "other",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::NoNeed => "不需要",
            Self::Fees => "费率高",
            Self::Competitor => "已签他行",
            Self::Settlement => "到账慢",
            Self::Hassle => "嫌麻烦",
            Self::Security => "担心资金安全",
            Self::OwnerAbsent => "老板不在，无法决定",
            Self::Other => "其他",
        }
    }

    /// The code or the Chinese label.
    pub fn parse(value: &str) -> Option<Self> {
        let v = value.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(v) || r.zh() == v)
            .or(match v {
                "老板不在" => Some(Self::OwnerAbsent),
                _ => None,
            })
    }
}

/// A mark on a merchant that its status does not carry: the shop closed, or was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Closed,
    NotFound,
}

impl Flag {
    pub fn code(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::NotFound => "not_found",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::Closed => "已停业",
            Self::NotFound => "未找到",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "closed" => Some(Self::Closed),
            "not_found" => Some(Self::NotFound),
            _ => None,
        }
    }
}

/// What one event says, for the status rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A visit's outcome (a rejection carries its reason).
    Outcome(Outcome, Option<Reason>),
    /// An import said the merchant's status is now this (e.g. 动销 from the transaction feed).
    Imported(PipelineStatus),
}

/// One event of a merchant, as the status rule sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Storage order: breaks ties between events at the same instant.
    pub id: i64,
    /// When it happened (the visit time, which a phone may post later).
    pub at: DateTime<Utc>,
    pub step: Step,
    /// The follow-up planned at this visit.
    pub next_follow_up: Option<NaiveDate>,
    /// The owner's name and phone if given at this visit (personal information).
    pub owner_name: Option<String>,
    pub owner_phone: Option<String>,
}

impl Event {
    /// The day it happened, in China Standard Time.
    pub fn date(&self) -> NaiveDate {
        local_date(self.at)
    }
}

/// Where a merchant stands after its events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineState {
    pub status: PipelineStatus,
    pub status_since: Option<NaiveDate>,
    /// The reason of the rejection that set the status (only while rejected).
    pub reason: Option<Reason>,
    pub flag: Option<Flag>,
    pub flag_since: Option<NaiveDate>,
    pub next_follow_up: Option<NaiveDate>,
    pub last_visit: Option<NaiveDate>,
    /// Visits (imports not counted).
    pub visits: u32,
    /// The owner's name and phone given at the latest visit that gave them (personal
    /// information: never serialised from here).
    #[serde(skip)]
    pub owner_name: Option<String>,
    #[serde(skip)]
    pub owner_phone: Option<String>,
}

impl PipelineState {
    /// The state of a merchant without events.
    pub fn baseline(status: PipelineStatus, since: Option<NaiveDate>) -> Self {
        Self {
            status,
            status_since: since,
            reason: None,
            flag: None,
            flag_since: None,
            next_follow_up: None,
            last_visit: None,
            visits: 0,
            owner_name: None,
            owner_phone: None,
        }
    }

    fn set(&mut self, status: PipelineStatus, day: NaiveDate) {
        if self.status != status {
            self.status = status;
            self.status_since = Some(day);
        }
    }

    /// The status rule for one event (see the module's table).
    pub fn apply(&mut self, e: &Event) {
        use PipelineStatus as S;
        let day = e.date();
        if let Some(n) = &e.owner_name {
            self.owner_name = Some(n.clone());
        }
        if let Some(p) = &e.owner_phone {
            self.owner_phone = Some(p.clone());
        }
        let (outcome, reason) = match e.step {
            Step::Imported(status) => {
                self.set(status, day);
                if self.status != S::Rejected {
                    self.reason = None;
                }
                return;
            }
            Step::Outcome(o, r) => (o, r),
        };
        self.visits += 1;
        self.last_visit = Some(self.last_visit.map_or(day, |d| d.max(day)));
        self.next_follow_up = e.next_follow_up;
        if outcome.is_conversation() {
            self.flag = None;
            self.flag_since = None;
        }
        let before = self.status;
        match outcome {
            Outcome::Visited => {
                if matches!(before, S::Prospect | S::Rejected | S::Churned) {
                    self.set(S::Visited, day);
                }
            }
            Outcome::Interested => {
                if matches!(before, S::Prospect | S::Visited | S::Rejected | S::Churned) {
                    self.set(S::Interested, day);
                }
            }
            Outcome::Signed => {
                if !matches!(before, S::Signed | S::Active) {
                    self.set(S::Signed, day);
                }
            }
            Outcome::Rejected => {
                if matches!(before, S::Signed | S::Active) {
                    self.set(S::Churned, day);
                } else {
                    // Also when already rejected: the cool-down starts again.
                    self.status = S::Rejected;
                    self.status_since = Some(day);
                    self.reason = reason;
                }
            }
            Outcome::Closed => {
                if matches!(before, S::Signed | S::Active) {
                    self.set(S::Churned, day);
                }
                if self.flag != Some(Flag::Closed) {
                    self.flag = Some(Flag::Closed);
                    self.flag_since = Some(day);
                }
            }
            Outcome::NotFound => {
                // A shop known to have closed stays closed when it cannot be found.
                if self.flag.is_none() {
                    self.flag = Some(Flag::NotFound);
                    self.flag_since = Some(day);
                }
            }
        }
        if self.status != S::Rejected {
            self.reason = None;
        }
    }
}

/// Sorts events into the order they happened: by time, then by storage order.
pub fn in_order(events: &mut [Event]) {
    events.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
}

/// A merchant's state after all its `events` (in any order), from its `baseline`.
pub fn derive(baseline: PipelineState, events: &[Event]) -> PipelineState {
    let mut sorted = events.to_vec();
    in_order(&mut sorted);
    sorted.iter().fold(baseline, |mut s, e| {
        s.apply(e);
        s
    })
}

/// The status right after each event, keyed by event id, replaying in order (for a history).
pub fn replay(baseline: PipelineState, events: &[Event]) -> Vec<(i64, PipelineStatus)> {
    let mut sorted = events.to_vec();
    in_order(&mut sorted);
    let mut s = baseline;
    sorted
        .iter()
        .map(|e| {
            s.apply(e);
            (e.id, s.status)
        })
        .collect()
}

/// China Standard Time (UTC+8, no daylight saving), the calendar of the banks' staff.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The calendar day of an instant in China Standard Time.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&cst()).date_naive()
}

/// The ISO week of a day, as `2026-W07` (weeks start on Monday; the year is the ISO year).
pub fn iso_week(day: NaiveDate) -> String {
    let w = day.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// The Monday of a day's ISO week.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Formats an instant as stored: RFC 3339 in UTC with milliseconds (sorts as text).
pub fn stored_instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A visit as posted, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVisit {
    pub merchant_id: String,
    pub outcome: Outcome,
    pub reason: Option<Reason>,
    pub notes: Option<String>,
    pub next_follow_up: Option<NaiveDate>,
    pub visited_at: DateTime<Utc>,
    pub owner_name: Option<String>,
    pub owner_phone: Option<String>,
    pub client_id: Option<String>,
}

/// How far back a visit may be dated (a phone that was offline for a while).
pub const MAX_BACKDATE_DAYS: i64 = 90;
/// How far ahead a follow-up may be planned.
pub const MAX_FOLLOW_UP_DAYS: i64 = 366;
/// Clock skew allowed for a phone's `visited_at`.
pub const MAX_CLOCK_SKEW_MINUTES: i64 = 10;
pub const MAX_NOTES_CHARS: usize = 2000;

const FIELDS: [&str; 9] = [
    "merchant_id",
    "outcome",
    "reason",
    "notes",
    "next_follow_up",
    "visited_at",
    "owner_name",
    "owner_phone",
    "client_id",
];

fn text_field(body: &Map<String, Value>, field: &str) -> Result<Option<String>, FieldError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let t = s.trim();
            Ok((!t.is_empty()).then(|| t.to_string()))
        }
        Some(other) => Err(FieldError::new(
            field,
            format!("must be a string, not {}", json_kind(other)),
        )),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `2026-03-01T14:30:00+08:00`, `…Z`, or without an offset (then China Standard Time).
pub fn parse_instant(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
    .and_then(|n| n.and_local_timezone(cst()).single())
    .map(|t| t.with_timezone(&Utc))
}

/// Checks a phone number as merchants' contacts are checked: 7–15 digits, `+ - ( )` and
/// spaces allowed.
fn check_phone(field: &str, p: &str) -> Result<(), FieldError> {
    let digits = p.chars().filter(|c| c.is_ascii_digit()).count();
    let ok_chars = p
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
    if !ok_chars || !(7..=15).contains(&digits) {
        return Err(FieldError::new(
            field,
            "is not a phone number (7–15 digits; + - ( ) and spaces allowed)",
        ));
    }
    Ok(())
}

/// Checks a posted visit (a JSON object) against the rules; `now` is the server's clock. The
/// error names the first bad field.
pub fn parse_visit(body: &Value, now: DateTime<Utc>) -> Result<NewVisit, FieldError> {
    let Value::Object(body) = body else {
        return Err(FieldError::new(
            "request",
            format!("must be a JSON object, not {}", json_kind(body)),
        ));
    };
    let mut unknown: Vec<&String> = body
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()))
        .collect();
    unknown.sort();
    if let Some(k) = unknown.first() {
        return Err(FieldError::new(
            k.as_str(),
            format!("unknown field; a visit has {}", FIELDS.join(", ")),
        ));
    }
    let merchant_id = text_field(body, "merchant_id")?
        .ok_or_else(|| FieldError::new("merchant_id", "is required"))?;
    if merchant_id.chars().count() > 64 {
        return Err(FieldError::new("merchant_id", "longer than 64 characters"));
    }
    let outcome_text = text_field(body, "outcome")?.ok_or_else(|| {
        FieldError::new(
            "outcome",
            format!(
                "is required: one of {}",
                Outcome::ALL.map(Outcome::code).join(", ")
            ),
        )
    })?;
    let outcome = Outcome::parse(&outcome_text).ok_or_else(|| {
        FieldError::new(
            "outcome",
            format!(
                "unknown outcome {outcome_text:?}; use {}",
                Outcome::ALL.map(Outcome::code).join(", ")
            ),
        )
    })?;
    let reasons = || {
        Reason::ALL
            .map(|r| format!("{} ({})", r.code(), r.zh()))
            .join(", ")
    };
    let reason = match text_field(body, "reason")? {
        None if outcome == Outcome::Rejected => {
            return Err(FieldError::new(
                "reason",
                format!("a rejection needs a reason: one of {}", reasons()),
            ))
        }
        None => None,
        Some(_) if outcome != Outcome::Rejected => {
            return Err(FieldError::new(
                "reason",
                "only a rejection has a reason (outcome rejected)",
            ))
        }
        Some(r) => Some(Reason::parse(&r).ok_or_else(|| {
            FieldError::new("reason", format!("unknown reason {r:?}; use {}", reasons()))
        })?),
    };
    let notes = text_field(body, "notes")?;
    if notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS)
    {
        return Err(FieldError::new(
            "notes",
            format!("longer than {MAX_NOTES_CHARS} characters"),
        ));
    }
    if reason == Some(Reason::Other) && notes.is_none() {
        return Err(FieldError::new(
            "notes",
            "a rejection for another reason (other) needs notes saying what it was",
        ));
    }
    let visited_at = match text_field(body, "visited_at")? {
        None => now,
        Some(v) => parse_instant(&v).ok_or_else(|| {
            FieldError::new(
                "visited_at",
                format!("{v:?} is not a time such as 2026-03-01T14:30:00+08:00"),
            )
        })?,
    };
    if visited_at > now + Duration::minutes(MAX_CLOCK_SKEW_MINUTES) {
        return Err(FieldError::new("visited_at", "is in the future"));
    }
    if visited_at < now - Duration::days(MAX_BACKDATE_DAYS) {
        return Err(FieldError::new(
            "visited_at",
            format!("is more than {MAX_BACKDATE_DAYS} days ago"),
        ));
    }
    let visit_day = local_date(visited_at);
    let next_follow_up = match text_field(body, "next_follow_up")? {
        None => None,
        Some(v) => Some(NaiveDate::parse_from_str(&v, "%Y-%m-%d").map_err(|_| {
            FieldError::new(
                "next_follow_up",
                format!("{v:?} is not a date (YYYY-MM-DD)"),
            )
        })?),
    };
    match (outcome, next_follow_up) {
        (Outcome::Interested, None) => {
            return Err(FieldError::new(
                "next_follow_up",
                "an interested merchant needs a follow-up date (YYYY-MM-DD)",
            ))
        }
        (Outcome::Closed, Some(_)) => {
            return Err(FieldError::new(
                "next_follow_up",
                "a closed shop has no follow-up",
            ))
        }
        (_, Some(d)) if d < visit_day => {
            return Err(FieldError::new(
                "next_follow_up",
                format!("{d} is before the visit ({visit_day})"),
            ))
        }
        (_, Some(d)) if d > visit_day + Duration::days(MAX_FOLLOW_UP_DAYS) => {
            return Err(FieldError::new(
                "next_follow_up",
                format!("{d} is more than a year after the visit"),
            ))
        }
        _ => {}
    }
    let owner_name = text_field(body, "owner_name")?;
    if owner_name.as_ref().is_some_and(|n| n.chars().count() > 50) {
        return Err(FieldError::new("owner_name", "longer than 50 characters"));
    }
    let owner_phone = text_field(body, "owner_phone")?;
    if let Some(p) = &owner_phone {
        check_phone("owner_phone", p)?;
    }
    let client_id = text_field(body, "client_id")?;
    if let Some(c) = &client_id {
        if c.len() > 64
            || !c
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.' | ':'))
        {
            return Err(FieldError::new(
                "client_id",
                "must be 1–64 characters of letters, digits, - _ . : (a UUID from the phone)",
            ));
        }
    }
    Ok(NewVisit {
        merchant_id,
        outcome,
        reason,
        notes,
        next_follow_up,
        visited_at,
        owner_name,
        owner_phone,
        client_id,
    })
}

/// What one merchant's visits in a period came to, for the funnel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    pub visits: u64,
    /// Which outcomes occurred at least once, in [`Outcome::ALL`] order.
    pub seen: [bool; 6],
}

impl Marks {
    pub fn add(&mut self, o: Outcome, events: u64) {
        self.visits += events;
        if let Some(i) = Outcome::ALL.iter().position(|x| *x == o) {
            self.seen[i] |= events > 0;
        }
    }

    pub fn merge(&mut self, other: &Marks) {
        self.visits += other.visits;
        for (a, b) in self.seen.iter_mut().zip(other.seen) {
            *a |= b;
        }
    }

    pub fn saw(&self, o: Outcome) -> bool {
        Outcome::ALL
            .iter()
            .position(|x| *x == o)
            .is_some_and(|i| self.seen[i])
    }
}

/// The funnel's stages over a set of merchants' [`Marks`] (see docs/VISITS.md): `visited` are
/// the merchants someone talked to (any outcome but closed and not found), `interested` those
/// that said interested or signed, `signed` those that signed, `rejected` those that said no.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stages {
    /// Visit events.
    pub visits: u64,
    /// Distinct merchants visited (any outcome).
    pub merchants: u64,
    pub visited: u64,
    pub interested: u64,
    pub signed: u64,
    pub rejected: u64,
    pub closed: u64,
    pub not_found: u64,
}

impl Stages {
    pub fn of<'a>(marks: impl IntoIterator<Item = &'a Marks>) -> Self {
        let mut s = Stages::default();
        for m in marks {
            if m.visits == 0 {
                continue;
            }
            s.visits += m.visits;
            s.merchants += 1;
            let talked = [
                Outcome::Visited,
                Outcome::Interested,
                Outcome::Signed,
                Outcome::Rejected,
            ]
            .iter()
            .any(|o| m.saw(*o));
            s.visited += u64::from(talked);
            s.interested += u64::from(m.saw(Outcome::Interested) || m.saw(Outcome::Signed));
            s.signed += u64::from(m.saw(Outcome::Signed));
            s.rejected += u64::from(m.saw(Outcome::Rejected));
            s.closed += u64::from(m.saw(Outcome::Closed));
            s.not_found += u64::from(m.saw(Outcome::NotFound));
        }
        s
    }

    /// Stage-to-stage conversion rates (`None` when the earlier stage is empty).
    pub fn conversion(&self) -> Conversion {
        let ratio =
            |a: u64, b: u64| (b > 0).then(|| ((a as f64 / b as f64) * 10_000.0).round() / 10_000.0);
        Conversion {
            visited_to_interested: ratio(self.interested, self.visited),
            interested_to_signed: ratio(self.signed, self.interested),
            visited_to_signed: ratio(self.signed, self.visited),
            visited_to_rejected: ratio(self.rejected, self.visited),
        }
    }
}

/// Conversion between the funnel's stages, as fractions (0.25 = 25 %).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Conversion {
    pub visited_to_interested: Option<f64>,
    pub interested_to_signed: Option<f64>,
    pub visited_to_signed: Option<f64>,
    pub visited_to_rejected: Option<f64>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use PipelineStatus as S;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
            .and_local_timezone(cst())
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ev(id: i64, day: u32, step: Step) -> Event {
        Event {
            id,
            at: at(day, 15),
            step,
            next_follow_up: None,
            owner_name: None,
            owner_phone: None,
        }
    }

    fn o(outcome: Outcome) -> Step {
        Step::Outcome(outcome, None)
    }

    fn d(day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2026, 3, day)
    }

    fn from(status: PipelineStatus) -> PipelineState {
        PipelineState::baseline(status, d(1))
    }

    /// The status after one event of each outcome from each status: the module's table.
    #[test]
    fn one_step_follows_the_table() {
        let rejected = Step::Outcome(Outcome::Rejected, Some(Reason::Fees));
        let cases: [(PipelineStatus, Step, PipelineStatus); 30] = [
            (S::Prospect, o(Outcome::Visited), S::Visited),
            (S::Visited, o(Outcome::Visited), S::Visited),
            (S::Interested, o(Outcome::Visited), S::Interested),
            (S::Signed, o(Outcome::Visited), S::Signed),
            (S::Active, o(Outcome::Visited), S::Active),
            (S::Rejected, o(Outcome::Visited), S::Visited),
            (S::Churned, o(Outcome::Visited), S::Visited),
            (S::Prospect, o(Outcome::Interested), S::Interested),
            (S::Visited, o(Outcome::Interested), S::Interested),
            (S::Signed, o(Outcome::Interested), S::Signed),
            (S::Rejected, o(Outcome::Interested), S::Interested),
            (S::Prospect, o(Outcome::Signed), S::Signed),
            (S::Interested, o(Outcome::Signed), S::Signed),
            (S::Active, o(Outcome::Signed), S::Active),
            (S::Churned, o(Outcome::Signed), S::Signed),
            (S::Prospect, rejected, S::Rejected),
            (S::Interested, rejected, S::Rejected),
            (S::Rejected, rejected, S::Rejected),
            (S::Signed, rejected, S::Churned),
            (S::Active, rejected, S::Churned),
            (S::Churned, rejected, S::Rejected),
            (S::Prospect, o(Outcome::Closed), S::Prospect),
            (S::Interested, o(Outcome::Closed), S::Interested),
            (S::Signed, o(Outcome::Closed), S::Churned),
            (S::Active, o(Outcome::Closed), S::Churned),
            (S::Rejected, o(Outcome::Closed), S::Rejected),
            (S::Prospect, o(Outcome::NotFound), S::Prospect),
            (S::Signed, o(Outcome::NotFound), S::Signed),
            (S::Visited, Step::Imported(S::Active), S::Active),
            (S::Signed, Step::Imported(S::Active), S::Active),
        ];
        for (before, step, after) in cases {
            let s = derive(from(before), &[ev(1, 5, step)]);
            assert_eq!(s.status, after, "{before:?} + {step:?}");
            let since = if after == before && !matches!(step, Step::Outcome(Outcome::Rejected, _)) {
                d(1)
            } else {
                d(5)
            };
            assert_eq!(s.status_since, since, "{before:?} + {step:?}");
        }
    }

    #[test]
    fn a_walk_through_the_pipeline() {
        let mut interested = ev(2, 3, o(Outcome::Interested));
        interested.next_follow_up = d(10);
        interested.owner_name = Some("王老板".into());
        let events = [
            ev(1, 2, o(Outcome::Visited)),
            interested,
            ev(3, 10, o(Outcome::Visited)),
            ev(4, 12, o(Outcome::Signed)),
        ];
        let s = derive(PipelineState::baseline(S::Prospect, None), &events);
        assert_eq!((s.status, s.status_since), (S::Signed, d(12)));
        assert_eq!((s.visits, s.last_visit), (4, d(12)));
        assert_eq!(s.next_follow_up, None, "the latest visit planned none");
        assert_eq!(s.owner_name.as_deref(), Some("王老板"));
        let r = replay(PipelineState::baseline(S::Prospect, None), &events);
        assert_eq!(
            r,
            vec![
                (1, S::Visited),
                (2, S::Interested),
                (3, S::Interested),
                (4, S::Signed)
            ]
        );
        // The interested visit's follow-up is due while it is the latest.
        let s = derive(PipelineState::baseline(S::Prospect, None), &events[..2]);
        assert_eq!(s.next_follow_up, d(10));
    }

    #[test]
    fn order_is_by_time_not_by_arrival() {
        // A phone posts yesterday's rejection after today's signing was recorded.
        let signed = ev(1, 6, o(Outcome::Signed));
        let late_rejection = ev(2, 5, Step::Outcome(Outcome::Rejected, Some(Reason::Fees)));
        let s = derive(from(S::Visited), &[signed.clone(), late_rejection.clone()]);
        assert_eq!((s.status, s.status_since), (S::Signed, d(6)));
        let s2 = derive(from(S::Visited), &[late_rejection, signed]);
        assert_eq!(s, s2);
        // Same instant: storage order decides.
        let mut a = ev(7, 5, o(Outcome::Signed));
        let b = ev(3, 5, Step::Outcome(Outcome::Rejected, Some(Reason::NoNeed)));
        a.at = b.at;
        assert_eq!(derive(from(S::Visited), &[a, b]).status, S::Signed);
    }

    #[test]
    fn closed_and_not_found_flag_and_a_conversation_clears_the_flag() {
        let s = derive(from(S::Interested), &[ev(1, 4, o(Outcome::NotFound))]);
        assert_eq!(
            (s.status, s.flag, s.flag_since),
            (S::Interested, Some(Flag::NotFound), d(4))
        );
        let s = derive(
            from(S::Interested),
            &[
                ev(1, 4, o(Outcome::NotFound)),
                ev(2, 6, o(Outcome::Closed)),
                ev(3, 8, o(Outcome::NotFound)),
            ],
        );
        assert_eq!((s.flag, s.flag_since), (Some(Flag::Closed), d(6)));
        let s = derive(
            from(S::Prospect),
            &[ev(1, 4, o(Outcome::Closed)), ev(2, 9, o(Outcome::Visited))],
        );
        assert_eq!((s.status, s.flag), (S::Visited, None));
        assert_eq!(s.visits, 2);
    }

    #[test]
    fn rejection_keeps_its_reason_until_the_status_moves_on() {
        let r = |id, day, reason| ev(id, day, Step::Outcome(Outcome::Rejected, Some(reason)));
        let s = derive(
            from(S::Visited),
            &[r(1, 3, Reason::Fees), r(2, 9, Reason::Competitor)],
        );
        assert_eq!(
            (s.status, s.status_since, s.reason),
            (S::Rejected, d(9), Some(Reason::Competitor))
        );
        let s = derive(
            from(S::Visited),
            &[r(1, 3, Reason::Fees), ev(2, 9, o(Outcome::Interested))],
        );
        assert_eq!((s.status, s.reason), (S::Interested, None));
        let s = derive(from(S::Signed), &[r(1, 3, Reason::Fees)]);
        assert_eq!((s.status, s.reason), (S::Churned, None));
    }

    #[test]
    fn dates_are_china_standard_time() {
        // 23:30 UTC on 1 March is 07:30 on 2 March in Leshan.
        let t = DateTime::parse_from_rfc3339("2026-03-01T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(local_date(t), NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        assert_eq!(parse_instant("2026-03-02T07:30"), Some(t));
        assert_eq!(parse_instant("2026-03-02T07:30:00+08:00"), Some(t));
        assert_eq!(
            iso_week(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
            "2026-W01"
        );
        assert_eq!(
            iso_week(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
            "2026-W53"
        );
        assert_eq!(
            week_start(NaiveDate::from_ymd_opt(2026, 3, 8).unwrap()),
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
        );
    }

    #[test]
    fn posted_visits_are_checked_field_by_field() {
        let now = at(20, 16);
        let ok = json!({"merchant_id": "M1", "outcome": "interested", "next_follow_up": "2026-03-27",
            "owner_name": "王老板", "owner_phone": "138 1234 5678", "client_id": "a1b2-c3"});
        let v = parse_visit(&ok, now).unwrap();
        assert_eq!((v.outcome, v.visited_at), (Outcome::Interested, now));
        assert_eq!(v.next_follow_up, d(27));
        let v = parse_visit(
            &json!({"merchant_id": "M1", "outcome": "拒绝", "reason": "费率高", "visited_at": "2026-03-19T10:00"}),
            now,
        )
        .unwrap();
        assert_eq!(
            (v.outcome, v.reason),
            (Outcome::Rejected, Some(Reason::Fees))
        );
        assert_eq!(v.visited_at, at(19, 10));
        let field = |body: Value| parse_visit(&body, now).unwrap_err().field;
        assert_eq!(field(json!([])), "request");
        assert_eq!(field(json!({"outcome": "visited"})), "merchant_id");
        assert_eq!(
            field(json!({"merchant_id": 5, "outcome": "visited"})),
            "merchant_id"
        );
        assert_eq!(field(json!({"merchant_id": "M1"})), "outcome");
        assert_eq!(
            field(json!({"merchant_id": "M1", "outcome": "won"})),
            "outcome"
        );
        assert_eq!(
            field(json!({"merchant_id": "M1", "outcome": "rejected"})),
            "reason"
        );
        assert_eq!(
            field(json!({"merchant_id": "M1", "outcome": "rejected", "reason": "bored"})),
            "reason"
        );
        assert_eq!(
            field(json!({"merchant_id": "M1", "outcome": "visited", "reason": "fees"})),
            "reason"
        );
        assert_eq!(
            field(json!({"merchant_id": "M1", "outcome": "rejected", "reason": "other"})),
            "notes"
        );
        assert_eq!(
            field(json!({"merchant_id": "M1", "outcome": "interested"})),
            "next_follow_up"
        );
        assert_eq!(
            field(
                json!({"merchant_id": "M1", "outcome": "interested", "next_follow_up": "next week"})
            ),
            "next_follow_up"
        );
        assert_eq!(
            field(
                json!({"merchant_id": "M1", "outcome": "visited", "next_follow_up": "2026-03-01"})
            ),
            "next_follow_up"
        );
        assert_eq!(
            field(
                json!({"merchant_id": "M1", "outcome": "closed", "next_follow_up": "2026-03-27"})
            ),
            "next_follow_up"
        );
        assert_eq!(
            field(
                json!({"merchant_id": "M1", "outcome": "visited", "visited_at": "2026-03-21T10:00"})
            ),
            "visited_at"
        );
        assert_eq!(
            field(
                json!({"merchant_id": "M1", "outcome": "visited", "visited_at": "2025-01-01T10:00"})
            ),
            "visited_at"
        );
        assert_eq!(
            field(json!({"merchant_id": "M1", "outcome": "visited", "visited_at": "yesterday"})),
            "visited_at"
        );
        assert_eq!(
            field(json!({"merchant_id": "M1", "outcome": "visited", "owner_phone": "call me"})),
            "owner_phone"
        );
        assert_eq!(
            field(json!({"merchant_id": "M1", "outcome": "visited", "client_id": "a b"})),
            "client_id"
        );
        assert_eq!(
            field(json!({"merchant_id": "M1", "outcome": "visited", "status": "signed"})),
            "status"
        );
        assert_eq!(
            field(json!({"merchant_id": "M1", "outcome": "visited", "notes": "x".repeat(2001)})),
            "notes"
        );
    }

    #[test]
    fn stages_count_merchants_once_per_stage() {
        let mut a = Marks::default();
        a.add(Outcome::Visited, 2);
        a.add(Outcome::Signed, 1);
        let mut b = Marks::default();
        b.add(Outcome::Rejected, 1);
        let mut c = Marks::default();
        c.add(Outcome::NotFound, 3);
        let s = Stages::of([&a, &b, &c]);
        assert_eq!(
            s,
            Stages {
                visits: 7,
                merchants: 3,
                visited: 2,
                interested: 1,
                signed: 1,
                rejected: 1,
                closed: 0,
                not_found: 1
            }
        );
        let c = s.conversion();
        assert_eq!(c.visited_to_interested, Some(0.5));
        assert_eq!(c.interested_to_signed, Some(1.0));
        assert_eq!(Stages::default().conversion().visited_to_signed, None);
        let mut m = a;
        m.merge(&b);
        assert!(m.saw(Outcome::Rejected) && m.saw(Outcome::Signed) && m.visits == 4);
    }

    proptest::proptest! {
        /// Whatever order events arrive in, the state is the same; and a merchant is signed
        /// only if it was, or an event signed it.
        #[test]
        fn the_state_depends_on_what_happened_not_on_arrival(
            raw in proptest::collection::vec((0usize..6, 1u32..28, 0u32..24, 0usize..8), 0..14),
            base in 0usize..7,
        ) {
            let events: Vec<Event> = raw
                .iter()
                .enumerate()
                .map(|(i, &(o, day, hour, r))| {
                    let outcome = Outcome::ALL[o];
                    let reason = (outcome == Outcome::Rejected).then_some(Reason::ALL[r]);
                    let mut e = ev(i as i64, day, Step::Outcome(outcome, reason));
                    e.at = at(day, hour);
                    e
                })
                .collect();
            let baseline = PipelineState::baseline(PipelineStatus::ALL[base], None);
            let want = derive(baseline.clone(), &events);
            let mut reversed = events.clone();
            reversed.reverse();
            proptest::prop_assert_eq!(&derive(baseline.clone(), &reversed), &want);
            let mut rotated = events.clone();
            rotated.rotate_left(events.len() / 2);
            proptest::prop_assert_eq!(&derive(baseline.clone(), &rotated), &want);
            if matches!(want.status, S::Signed) {
                proptest::prop_assert!(
                    matches!(baseline.status, S::Signed | S::Active)
                        || raw.iter().any(|&(o, ..)| Outcome::ALL[o] == Outcome::Signed)
                );
            }
            proptest::prop_assert_eq!(want.visits as usize, events.len());
        }
    }

    #[test]
    fn codes_and_labels_parse() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.code()), Some(o));
            assert_eq!(Outcome::parse(o.zh()), Some(o));
        }
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.code()), Some(r));
            assert_eq!(Reason::parse(r.zh()), Some(r));
        }
        assert_eq!(Reason::parse("老板不在"), Some(Reason::OwnerAbsent));
    }
}
