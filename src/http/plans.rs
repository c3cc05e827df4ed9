//! Visit plans over HTTP: `GET /api/outlets/{id}/plan` (an afternoon's walking route for the
//! outlet's staff) and `GET /api/outlets/{id}/plan/week` (a week of them), from the planner of
//! `visits::plan`, as JSON with a GeoJSON map, as CSV, or as a printable page.
//!
//! Candidates are the outlet's own territory in the caller's scope, ranked by priority from the
//! outlet; the pipeline adds to them (`visits::agenda`): follow-ups that are due are planned as
//! must-visits, merchants flagged closed or not found, visited already, or whose follow-up is
//! later are left out, and the answer lists them with the reason.

use crate::index::MerchantRef;
use std::collections::HashSet;
use std::fmt::Write as _;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};

use super::auth::Caller;
use super::error::ApiError;
use super::params::Params;
use super::printable::esc;
use super::Shared;
use crate::domain::Outlet;
use crate::geo::crs::{from_wgs84, Crs};
use crate::index::SpatialIndex;
use crate::network::Walking;
use crate::storage::visits::PipelineRow;
use crate::visits::agenda::{Agenda, Mark};
use crate::visits::hours::hhmm;
use crate::visits::params::parse_window;
use crate::visits::plan::{
    plan, plan_week, workdays, Candidate, Plan, PlanRequest, SolverOptions, WeekRequest, MAX_STAFF,
};

/// Most days in a week plan.
pub const MAX_DAYS: usize = 10;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Html,
}

/// Everything a day or week plan is made from.
struct Inputs {
    outlet: Outlet,
    request: PlanRequest,
    agenda: Agenda,
    /// Of the merchants the plan mentions (candidates, the pipeline's), those the outlet may
    /// plan: its territory, in the caller's scope.
    ours: HashSet<u32>,
    crs: Crs,
    format: Format,
}

fn parse_date(p: &Params, key: &str) -> Result<NaiveDate, ApiError> {
    match p.str(key) {
        None => Ok(crate::domain::today()),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| ApiError::bad(key, format!("{d:?}: use YYYY-MM-DD"))),
    }
}

/// Reads the parameters both plans share, finds the outlet and builds the candidates: the
/// outlet's ranked territory, plus due follow-ups and hand-picked merchants wherever they
/// rank, minus what the pipeline leaves out for the days `from..=until`. Priorities decay with
/// the walking metres from the outlet as `walking` walks them (the plan's own).
/// `rows` are the pipeline's (`Store::pipelines_to_plan(from)`), read before the index was
/// taken: a merchant missing from the index (deleted since) is simply not planned. Slots refer
/// to `index`, which the caller holds until the plan is rendered.
#[allow(clippy::too_many_arguments)]
fn inputs(
    app: &Shared,
    index: &SpatialIndex,
    walking: &Walking,
    caller: &Caller,
    outlet_id: &str,
    p: &Params,
    rows: &[PipelineRow],
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Inputs, ApiError> {
    let crs = p.crs()?;
    let format = match p.str("format") {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some("html") => Format::Html,
        Some(v) => {
            return Err(ApiError::bad(
                "format",
                format!("{v:?}: use json, csv or html"),
            ))
        }
    };
    let params = &app.visits;
    let outlet = index
        .outlets
        .get(outlet_id)
        .filter(|o| caller.scope.sees_outlet(o) && o.is_ours())
        .ok_or_else(|| ApiError::not_found("outlet", outlet_id))?
        .clone();
    let mut request = PlanRequest::new(params, outlet.location, from);
    if let Some(w) = p.str("window") {
        let iv = parse_window("window", w).map_err(|e| ApiError::bad(&e.field, e.reason))?;
        request.window_start = iv.start;
        request.window_end = iv.end;
    }
    request.staff = p.usize_in("staff", 1, 1, MAX_STAFF)?;
    request.walking_kmh = p.f64_in("walking_kmh", params.walking_kmh, 1.0, 8.0)?;
    let in_scope = |slot: u32| {
        caller
            .scope
            .contains(index.merchants.item(slot).owner_org_id())
    };
    let mut hand_picked = Vec::new();
    if let Some(list) = p.str("must") {
        for id in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let slot = index
                .merchants
                .slot_of(id)
                .filter(|&s| in_scope(s))
                .ok_or_else(|| ApiError::bad("must", format!("no merchant {id:?} of yours")))?;
            hand_picked.push(slot);
        }
    }

    let marks = rows.iter().filter_map(|r| {
        Some(Mark {
            slot: index.merchants.slot_of(&r.merchant_id)?,
            next_follow_up: r.state.next_follow_up,
            flag: r.state.flag,
            last_visit: r.state.last_visit,
        })
    });
    let agenda = Agenda::new(marks, from, until);

    let warm = app.warm();
    let outlet_slot = index.outlets.slot_of(&outlet.id);
    // The outlet's own territory, in the caller's scope: asked only of the merchants a plan can
    // touch (those ranked around the outlet, the pipeline's and the hand-picked), never of the
    // whole city.
    let is_ours = |slot: u32| {
        outlet_slot.is_some()
            && warm
                .territories
                .outlet_of
                .get(slot as usize)
                .copied()
                .flatten()
                == outlet_slot
            && in_scope(slot)
    };
    let effective = app.effective_weights(Some(&outlet.id));
    let keep = |m: MerchantRef<'_>| is_ours(m.slot()) && agenda.left_out(m.slot()).is_none();
    let ranked = crate::scoring::priority::rank(
        index,
        &warm.stats,
        &app.ranking.params,
        &effective.weights,
        walking,
        outlet.location,
        params.candidate_radius_m,
        &keep,
        params.max_candidates,
    );
    request.candidates = ranked
        .iter()
        .map(|r| {
            Candidate::from_merchant(
                r.merchant_slot,
                index.merchants.item(r.merchant_slot),
                r.score,
            )
        })
        .collect();
    // Follow-ups and hand-picked merchants are planned wherever they rank (a signed merchant
    // due for a maintenance visit scores nothing but is still a must-visit).
    let mut have: HashSet<u32> = request.candidates.iter().map(|c| c.slot).collect();
    let extra: Vec<u32> = agenda
        .follow_ups
        .iter()
        .map(|&(s, _)| s)
        .filter(|&s| is_ours(s))
        .chain(hand_picked.iter().copied())
        .filter(|&s| have.insert(s))
        .collect();
    let to: Vec<_> = extra
        .iter()
        .map(|&s| index.merchants.item(s).location())
        .collect();
    // One search for all of them.
    let walks = if to.is_empty() {
        Vec::new()
    } else {
        walking.distances(outlet.location, &to)
    };
    for ((&slot, at), walk) in extra.iter().zip(&to).zip(walks) {
        let score = crate::scoring::priority::score_walked(
            index,
            &warm.stats,
            &app.ranking.params,
            &effective.weights,
            slot,
            outlet.location.distance_m(at),
            walk,
        )
        .map_or(0.0, |s| s.score);
        request.candidates.push(Candidate::from_merchant(
            slot,
            index.merchants.item(slot),
            score,
        ));
    }
    // Which of the merchants the plan and its answer mention are the outlet's own.
    let ours: HashSet<u32> = request
        .candidates
        .iter()
        .map(|c| c.slot)
        .chain(agenda.follow_ups.iter().map(|&(s, _)| s))
        .chain(agenda.left_out.iter().map(|&(s, _)| s))
        .filter(|&s| is_ours(s))
        .collect();
    request.must_visit = hand_picked;
    Ok(Inputs {
        outlet,
        request,
        agenda,
        ours,
        crs,
        format,
    })
}

/// Walking distances for the plan's legs: the street network when one is loaded, else straight
/// line × detour (the answer's `distance` says which).
fn solver_walking(app: &Shared) -> crate::network::Walking {
    app.walking()
}

/// `GET /api/outlets/{id}/plan?date=&window=14:00-17:30&staff=&walking_kmh=&must=&format=&crs=`
pub async fn outlet_plan(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&[
        "date",
        "window",
        "staff",
        "walking_kmh",
        "must",
        "format",
        "crs",
    ])?;
    let date = parse_date(&p, "date")?;
    let walking = solver_walking(&app);
    let rows = app.store.pipelines_to_plan(date).await?;
    let index = app.index();
    let mut inp = inputs(
        &app, &index, &walking, &caller, &path, &p, &rows, date, date,
    )?;
    // Due follow-ups of the outlet's own are must-visits today, with the hand-picked ones.
    let due: Vec<u32> = inp
        .agenda
        .due_on(date)
        .filter(|s| inp.ours.contains(s))
        .collect();
    inp.request.must_visit.extend(due);
    inp.request
        .validate()
        .map_err(|e| ApiError::bad(&e.field, e.reason))?;
    let planned = plan(&inp.request, &walking, &SolverOptions::default())
        .map_err(|e| ApiError::bad(&e.field, e.reason))?;
    let ctx = Ctx {
        index: &index,
        inp: &inp,
    };
    match inp.format {
        Format::Csv => ctx.csv(&[&planned], &format!("plan-{}-{date}.csv", inp.outlet.id)),
        Format::Html => Ok(ctx.html(&[&planned], &[])),
        Format::Json => {
            let (mut day, features) = ctx.day_json(&planned);
            let map = json!({"type": "FeatureCollection", "features": features});
            let head = json!({
                "outlet_id": inp.outlet.id,
                "date": date.to_string(),
                "staff": inp.request.staff,
                "walking_kmh": inp.request.walking_kmh,
                "distance": walking.model(),
                "candidates": inp.request.candidates.len(),
                "left_out": ctx.left_out_json(),
                "map": map,
                "crs": inp.crs.code(),
            });
            if let (Value::Object(d), Value::Object(h)) = (&mut day, head) {
                d.extend(h);
            }
            Ok(HttpResponse::Ok().json(day))
        }
    }
}

/// `GET /api/outlets/{id}/plan/week?from=&days=5&window=&staff=&walking_kmh=&must=&format=&crs=`:
/// the next `days` workdays (Monday to Friday) from `from` on.
pub async fn outlet_week(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&[
        "from",
        "days",
        "window",
        "staff",
        "walking_kmh",
        "must",
        "format",
        "crs",
    ])?;
    let from = parse_date(&p, "from")?;
    let days = workdays(from, p.usize_in("days", 5, 1, MAX_DAYS)?);
    let until = days.last().copied().unwrap_or(from);
    let walking = solver_walking(&app);
    let rows = app.store.pipelines_to_plan(from).await?;
    let index = app.index();
    let inp = inputs(
        &app, &index, &walking, &caller, &path, &p, &rows, from, until,
    )?;
    let week = WeekRequest {
        day: inp.request.clone(),
        follow_ups: inp
            .agenda
            .follow_ups
            .iter()
            .copied()
            .filter(|(s, _)| inp.ours.contains(s))
            .collect(),
        days: days.clone(),
    };
    let ours = |s: u32| inp.ours.contains(&s);
    let planned = plan_week(&week, &ours, &walking, &SolverOptions::default())
        .map_err(|e| ApiError::bad(&e.field, e.reason))?;
    let ctx = Ctx {
        index: &index,
        inp: &inp,
    };
    let refs: Vec<&Plan> = planned.days.iter().collect();
    match inp.format {
        Format::Csv => ctx.csv(&refs, &format!("week-{}-{from}.csv", inp.outlet.id)),
        Format::Html => Ok(ctx.html(&refs, &planned.unplanned)),
        Format::Json => {
            let mut features = Vec::new();
            let day_list: Vec<Value> = planned
                .days
                .iter()
                .map(|d| {
                    let (j, f) = ctx.day_json(d);
                    features.extend(f.into_iter().map(|mut f| {
                        f["properties"]["date"] = json!(d.date.to_string());
                        f
                    }));
                    j
                })
                .collect();
            Ok(HttpResponse::Ok().json(json!({
                "outlet_id": inp.outlet.id,
                "from": from.to_string(),
                "dates": days.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                "staff": inp.request.staff,
                "walking_kmh": inp.request.walking_kmh,
                "distance": walking.model(),
                "candidates": inp.request.candidates.len(),
                "total_priority": planned.total_priority,
                "days": day_list,
                "unplanned": ctx.unplanned_json(&planned.unplanned),
                "left_out": ctx.left_out_json(),
                "map": {"type": "FeatureCollection", "features": features},
                "crs": inp.crs.code(),
            })))
        }
    }
}

/// Renders plans for one request.
struct Ctx<'a> {
    index: &'a SpatialIndex,
    inp: &'a Inputs,
}

const WEEKDAYS_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

fn minutes(m: f64) -> String {
    hhmm(m.round().max(0.0) as u32)
}

impl Ctx<'_> {
    fn merchant(&self, slot: u32) -> MerchantRef<'_> {
        self.index.merchants.item(slot)
    }

    fn pos(&self, l: &crate::domain::Location) -> Value {
        let (a, b) = from_wgs84(self.inp.crs, l.lon(), l.lat());
        json!([a, b])
    }

    fn unplanned_json(&self, list: &[crate::visits::plan::Unplanned]) -> Vec<Value> {
        list.iter()
            .map(|u| {
                let m = self.merchant(u.slot);
                json!({"merchant_id": m.id(), "name": m.name(), "reason": u.reason.code(),
                       "reason_zh": u.reason.zh(),
                       "follow_up": self.inp.agenda.follow_up(u.slot).map(|d| d.to_string())})
            })
            .collect()
    }

    /// The outlet's merchants the pipeline left out.
    fn left_out_json(&self) -> Vec<Value> {
        self.inp
            .agenda
            .left_out
            .iter()
            .filter(|(s, _)| self.inp.ours.contains(s))
            .map(|&(s, why)| {
                let m = self.merchant(s);
                json!({"merchant_id": m.id(), "name": m.name(), "reason": why.code(),
                       "reason_zh": why.zh(), "date": why.date().map(|d| d.to_string())})
            })
            .collect()
    }

    /// A day's plan as JSON, and its map features (stops, then each route's line).
    fn day_json(&self, planned: &Plan) -> (Value, Vec<Value>) {
        let outlet = &self.inp.outlet;
        let mut features = Vec::new();
        let routes: Vec<Value> = planned
            .routes
            .iter()
            .map(|r| {
                let mut line = vec![self.pos(&outlet.location)];
                let stops: Vec<Value> = r
                    .stops
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let m = self.merchant(s.slot);
                        line.push(self.pos(&m.location()));
                        features.push(json!({
                            "type": "Feature",
                            "geometry": {"type": "Point", "coordinates": self.pos(&m.location())},
                            "properties": {"kind": "stop", "staff": r.staff + 1, "n": i + 1,
                                "merchant_id": m.id(), "name": m.name(),
                                "arrive": minutes(s.arrive)},
                        }));
                        json!({
                            "n": i + 1,
                            "merchant_id": m.id(),
                            "name": m.name(),
                            "category": m.category(),
                            "status": m.status().code(),
                            "address": m.address(),
                            "priority": s.priority,
                            "must_visit": s.must_visit,
                            "follow_up": self.inp.agenda.follow_up(s.slot).map(|d| d.to_string()),
                            "hours_unknown": s.hours_unknown,
                            "opening_hours": m.opening_hours(),
                            "arrive": minutes(s.arrive),
                            "start": minutes(s.start),
                            "leave": minutes(s.leave),
                            "walk_m": s.leg.metres.round(),
                            "walk_min": (s.leg.minutes * 10.0).round() / 10.0,
                        })
                    })
                    .collect();
                line.push(self.pos(&outlet.location));
                features.push(json!({
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": line},
                    "properties": {"kind": "route", "staff": r.staff + 1},
                }));
                json!({
                    "staff": r.staff + 1,
                    "depart": minutes(r.depart),
                    "end": minutes(r.end),
                    "stops": stops,
                    "back_m": r.back.metres.round(),
                    "back_min": (r.back.minutes * 10.0).round() / 10.0,
                    "total_priority": r.total_priority,
                    "walking_m": r.walking_m.round(),
                    "walking_min": r.walking_min.round(),
                    "visiting_min": r.visiting_min.round(),
                    "waiting_min": r.waiting_min.round(),
                })
            })
            .collect();
        let day = json!({
            "date": planned.date.to_string(),
            "window": [hhmm(planned.window_start), hhmm(planned.window_end)],
            "feasible_candidates": planned.feasible_candidates,
            "total_priority": planned.total_priority,
            "routes": routes,
            "unplanned_must": self.unplanned_json(&planned.unplanned_must),
        });
        (day, features)
    }

    /// One CSV row per stop (UTF-8 with a BOM, so that Excel reads the Chinese).
    fn csv(&self, plans: &[&Plan], filename: &str) -> Result<HttpResponse, ApiError> {
        let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
        let header = [
            "日期 date",
            "员工 staff",
            "顺序 stop",
            "商户编号 merchant_id",
            "商户 name",
            "业态 category",
            "到达 arrive",
            "开始 start",
            "离开 leave",
            "步行米 walk_m",
            "步行分钟 walk_min",
            "优先级 priority",
            "必访 must_visit",
            "回访日期 follow_up",
        ];
        let err = |e: csv::Error| ApiError::Internal(Box::new(e));
        w.write_record(header).map_err(err)?;
        for p in plans {
            for r in &p.routes {
                for (i, s) in r.stops.iter().enumerate() {
                    let m = self.merchant(s.slot);
                    w.write_record([
                        p.date.to_string(),
                        (r.staff + 1).to_string(),
                        (i + 1).to_string(),
                        m.id().to_string(),
                        crate::export::safe_cell(m.name()),
                        m.category().to_string(),
                        minutes(s.arrive),
                        minutes(s.start),
                        minutes(s.leave),
                        format!("{:.0}", s.leg.metres),
                        format!("{:.0}", s.leg.minutes),
                        format!("{:.1}", s.priority),
                        if s.must_visit { "是" } else { "" }.to_string(),
                        self.inp
                            .agenda
                            .follow_up(s.slot)
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                    ])
                    .map_err(err)?;
                }
            }
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ApiError::Internal(e.to_string().into()))?;
        Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{filename}\""),
            ))
            .body(bytes))
    }

    /// A printable page: per day and staff member, the stops in order with times, walks,
    /// opening hours and empty columns for the outcome and notes, to fill in by hand.
    fn html(&self, plans: &[&Plan], unplanned: &[crate::visits::plan::Unplanned]) -> HttpResponse {
        let o = &self.inp.outlet;
        let mut h = String::new();
        let title = if plans.len() == 1 {
            format!("{} 拜访路线 {}", o.name, plans[0].date)
        } else {
            format!("{} 拜访周计划 {} 起", o.name, plans[0].date)
        };
        let _ = write!(
            h,
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{t}</title><style>{PRINT_CSS}</style></head><body><h1>{t}</h1>\
             <p class=\"meta\">网点 {id} · {addr} · 步行 {kmh} km/h · 距离按直线 × 绕行系数估算</p>",
            t = esc(&title),
            id = esc(&o.id),
            addr = esc(o.address.as_deref().unwrap_or("")),
            kmh = self.inp.request.walking_kmh,
        );
        for p in plans {
            let wd = WEEKDAYS_ZH[p.date.weekday().num_days_from_monday() as usize];
            for r in &p.routes {
                let _ = write!(
                    h,
                    "<section class=\"route\" data-date=\"{date}\" data-staff=\"{staff}\"><h2>{date} {wd} \
                     · 时段 {ws}–{we} · 员工 {staff}</h2><p class=\"meta\">出发 {dep} · 返回 {end} · \
                     {n} 家 · 步行 {wm} m（{wmin} 分钟）· 优先级合计 {pri:.1}</p>",
                    date = p.date,
                    ws = hhmm(p.window_start),
                    we = hhmm(p.window_end),
                    staff = r.staff + 1,
                    dep = minutes(r.depart),
                    end = minutes(r.end),
                    n = r.stops.len(),
                    wm = r.walking_m.round(),
                    wmin = r.walking_min.round(),
                    pri = r.total_priority,
                );
                if r.stops.is_empty() {
                    h.push_str("<p>无拜访安排</p></section>");
                    continue;
                }
                h.push_str(
                    "<table><thead><tr><th>序号</th><th>商户</th><th>业态</th><th>地址</th>\
                     <th>营业时间</th><th>到达</th><th>离开</th><th>步行</th><th>优先级</th>\
                     <th>结果</th><th>备注</th></tr></thead><tbody>",
                );
                for (i, s) in r.stops.iter().enumerate() {
                    let m = self.merchant(s.slot);
                    let mut badges = String::new();
                    if let Some(f) = self.inp.agenda.follow_up(s.slot) {
                        let _ = write!(badges, " <span class=\"badge\">回访 {f}</span>");
                    } else if s.must_visit {
                        badges.push_str(" <span class=\"badge\">必访</span>");
                    }
                    if s.hours_unknown {
                        badges.push_str(" <span class=\"badge\">营业时间未知</span>");
                    }
                    let _ = write!(
                        h,
                        "<tr data-merchant-id=\"{id}\"><td>{n}</td><td>{name}{badges}<br><small>{id}</small></td>\
                         <td>{cat}</td><td>{addr}</td><td>{hours}</td><td>{arr}</td><td>{leave}</td>\
                         <td>{wm} m / {wmin} 分</td><td>{pri:.1}</td><td class=\"fill\"></td>\
                         <td class=\"fill\"></td></tr>",
                        id = esc(m.id()),
                        n = i + 1,
                        name = esc(m.name()),
                        cat = esc(m.category()),
                        addr = esc(m.address().unwrap_or("")),
                        hours = esc(m.opening_hours().unwrap_or("未知")),
                        arr = minutes(s.arrive),
                        leave = minutes(s.leave),
                        wm = s.leg.metres.round(),
                        wmin = s.leg.minutes.round(),
                        pri = s.priority,
                    );
                }
                let _ = write!(
                    h,
                    "<tr class=\"back\"><td></td><td>返回网点</td><td colspan=\"4\"></td>\
                     <td>{end}</td><td></td><td>{bm} m / {bmin} 分</td><td colspan=\"3\"></td></tr>\
                     </tbody></table></section>",
                    end = minutes(r.end),
                    bm = r.back.metres.round(),
                    bmin = r.back.minutes.round(),
                );
            }
            let mut missed: Vec<_> = p.unplanned_must.iter().collect();
            if plans.len() > 1 {
                missed.clear();
            }
            if !missed.is_empty() {
                self.html_unplanned(&mut h, "未能安排的必访商户", missed.into_iter());
            }
        }
        if !unplanned.is_empty() {
            self.html_unplanned(&mut h, "本周未能安排的必访/回访商户", unplanned.iter());
        }
        let left: Vec<_> = self
            .inp
            .agenda
            .left_out
            .iter()
            .filter(|(s, _)| self.inp.ours.contains(s))
            .collect();
        if !left.is_empty() {
            h.push_str("<h2>未列入计划</h2><ul class=\"left-out\">");
            for &&(s, why) in &left {
                let m = self.merchant(s);
                let _ = write!(
                    h,
                    "<li data-merchant-id=\"{}\">{}（{}）：{}{}</li>",
                    esc(m.id()),
                    esc(m.name()),
                    esc(m.id()),
                    why.zh(),
                    why.date().map(|d| format!(" {d}")).unwrap_or_default()
                );
            }
            h.push_str("</ul>");
        }
        h.push_str("<p class=\"meta\">ecomap 生态圈地图 · 打印后随身携带，结果请在手机上记录</p></body></html>");
        super::printable::page(h)
    }

    fn html_unplanned<'b>(
        &self,
        h: &mut String,
        title: &str,
        list: impl Iterator<Item = &'b crate::visits::plan::Unplanned>,
    ) {
        let _ = write!(h, "<h2>{title}</h2><ul class=\"unplanned\">");
        for u in list {
            let m = self.merchant(u.slot);
            let _ = write!(
                h,
                "<li data-merchant-id=\"{}\">{}（{}）：{}</li>",
                esc(m.id()),
                esc(m.name()),
                esc(m.id()),
                u.reason.zh()
            );
        }
        h.push_str("</ul>");
    }
}

const PRINT_CSS: &str =
    "body{font-family:\"Noto Sans CJK SC\",\"PingFang SC\",\"Microsoft YaHei\",\
sans-serif;margin:16px;color:#222}h1{font-size:20px}h2{font-size:16px;margin:18px 0 4px}\
.meta{color:#555;font-size:12px}table{border-collapse:collapse;width:100%;font-size:12px}\
th,td{border:1px solid #999;padding:4px;vertical-align:top;text-align:left}\
td.fill{min-width:60px}.badge{border:1px solid #c60;color:#c60;border-radius:3px;padding:0 3px;\
font-size:11px}.back td{color:#555}section.route{break-inside:avoid}\
@media print{body{margin:0}a{display:none}}";
