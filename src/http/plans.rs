//! Visit plans over HTTP: `GET /api/outlets/{id}/plan` — an afternoon's walking route for the
//! outlet's staff (the planner of `visits::plan`), as JSON with a GeoJSON map, or as CSV.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::params::Params;
use super::Shared;
use crate::geo::crs::from_wgs84;
use crate::visits::hours::hhmm;
use crate::visits::params::parse_window;
use crate::visits::plan::{plan, Candidate, PlanRequest, SolverOptions, StraightLine};

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
    let crs = p.crs()?;
    let params = &app.visits;
    let date = match p.str("date") {
        None => crate::domain::today(),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| ApiError::bad("date", format!("{d:?}: use YYYY-MM-DD")))?,
    };
    let csv = match p.str("format") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(v) => return Err(ApiError::bad("format", format!("{v:?}: use json or csv"))),
    };
    let warm = app.warm();
    let index = app.index();
    let outlet = index
        .outlets
        .get(&path)
        .filter(|o| caller.scope.sees_outlet(o) && o.is_ours())
        .ok_or_else(|| ApiError::not_found("outlet", &path))?;
    let outlet_slot = index.outlets.slot_of(&outlet.id);
    let mut request = PlanRequest::new(params, outlet.location, date);
    if let Some(w) = p.str("window") {
        let iv = parse_window("window", w).map_err(|e| ApiError::bad(&e.field, e.reason))?;
        request.window_start = iv.start;
        request.window_end = iv.end;
    }
    request.staff = p.usize_in("staff", 1, 1, crate::visits::plan::MAX_STAFF)?;
    request.walking_kmh = p.f64_in("walking_kmh", params.walking_kmh, 1.0, 8.0)?;
    let effective = app.effective_weights(Some(&outlet.id));
    // The outlet's own territory, in the caller's scope, scored from the outlet.
    let ours = |slot: u32| {
        warm.territories
            .outlet_of
            .get(slot as usize)
            .copied()
            .flatten()
            == outlet_slot
    };
    let keep = |m: &crate::domain::Merchant| {
        caller.scope.contains(m.owner_org_id.as_deref())
            && index.merchants.slot_of(&m.id).is_some_and(ours)
    };
    let ranked = crate::scoring::priority::rank(
        &index,
        &warm.stats,
        &app.ranking.params,
        &effective.weights,
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
    if let Some(list) = p.str("must") {
        for id in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let slot = index
                .merchants
                .slot_of(id)
                .filter(|&s| {
                    caller
                        .scope
                        .contains(index.merchants.item(s).owner_org_id.as_deref())
                })
                .ok_or_else(|| ApiError::bad("must", format!("no merchant {id:?} of yours")))?;
            request.must_visit.push(slot);
        }
    }
    request
        .validate()
        .map_err(|e| ApiError::bad(&e.field, e.reason))?;
    let walking = StraightLine {
        detour_factor: app.ranking.params.detour_factor,
    };
    let planned = plan(&request, &walking, &SolverOptions::default())
        .map_err(|e| ApiError::bad(&e.field, e.reason))?;

    let merchant = |slot: u32| index.merchants.item(slot);
    if csv {
        let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
        let header = [
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
        ];
        w.write_record(header)
            .map_err(|e| ApiError::Internal(Box::new(e)))?;
        for r in &planned.routes {
            for (i, s) in r.stops.iter().enumerate() {
                let m = merchant(s.slot);
                w.write_record([
                    (r.staff + 1).to_string(),
                    (i + 1).to_string(),
                    m.id.clone(),
                    crate::export::safe_cell(&m.name),
                    m.category.clone(),
                    hhmm(s.arrive.round() as u32),
                    hhmm(s.start.round() as u32),
                    hhmm(s.leave.round() as u32),
                    format!("{:.0}", s.leg.metres),
                    format!("{:.0}", s.leg.minutes),
                    format!("{:.1}", s.priority),
                ])
                .map_err(|e| ApiError::Internal(Box::new(e)))?;
            }
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ApiError::Internal(e.to_string().into()))?;
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"plan-{}-{date}.csv\"", outlet.id),
            ))
            .body(bytes));
    }

    let pos = |l: &crate::domain::Location| {
        let (a, b) = from_wgs84(crs, l.lon(), l.lat());
        json!([a, b])
    };
    let mut features = Vec::new();
    let routes: Vec<_> = planned
        .routes
        .iter()
        .map(|r| {
            let mut line = vec![pos(&outlet.location)];
            let stops: Vec<_> = r
                .stops
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let m = merchant(s.slot);
                    line.push(pos(&m.location));
                    features.push(json!({
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": pos(&m.location)},
                        "properties": {"kind": "stop", "staff": r.staff + 1, "n": i + 1,
                            "merchant_id": m.id, "name": m.name, "arrive": hhmm(s.arrive.round() as u32)},
                    }));
                    json!({
                        "n": i + 1,
                        "merchant_id": m.id,
                        "name": m.name,
                        "category": m.category,
                        "status": m.status.code(),
                        "priority": s.priority,
                        "must_visit": s.must_visit,
                        "hours_unknown": s.hours_unknown,
                        "opening_hours": m.opening_hours,
                        "arrive": hhmm(s.arrive.round() as u32),
                        "start": hhmm(s.start.round() as u32),
                        "leave": hhmm(s.leave.round() as u32),
                        "walk_m": s.leg.metres.round(),
                        "walk_min": (s.leg.minutes * 10.0).round() / 10.0,
                    })
                })
                .collect();
            line.push(pos(&outlet.location));
            features.push(json!({
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": line},
                "properties": {"kind": "route", "staff": r.staff + 1},
            }));
            json!({
                "staff": r.staff + 1,
                "depart": hhmm(r.depart.round() as u32),
                "end": hhmm(r.end.round() as u32),
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
    let unplanned: Vec<_> = planned
        .unplanned_must
        .iter()
        .map(|u| {
            json!({"merchant_id": merchant(u.slot).id, "reason": u.reason.code(), "reason_zh": u.reason.zh()})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "outlet_id": outlet.id,
        "date": date.to_string(),
        "window": [hhmm(planned.window_start), hhmm(planned.window_end)],
        "staff": request.staff,
        "walking_kmh": request.walking_kmh,
        "distance": crate::coverage::DISTANCE_MODEL,
        "candidates": request.candidates.len(),
        "feasible_candidates": planned.feasible_candidates,
        "total_priority": planned.total_priority,
        "routes": routes,
        "unplanned_must": unplanned,
        "map": {"type": "FeatureCollection", "features": features},
        "crs": crs.code(),
    })))
}
