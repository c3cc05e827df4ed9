//! Campaigns over HTTP: stored, versioned, scoped campaigns (`/api/campaigns…`) and their plans
//! (B side, C side, calendar, estimates, cross-marketing) as JSON, GeoJSON, CSV or a printable
//! page. The plan is computed by `campaign::plan` from the spec and the data of the moment.
//!
//! Who may do what: everybody signed in reads the campaigns of their part of the organisation
//! and of the units above it (staff carry out their branch's campaigns); branch users and
//! administrators create, edit and delete campaigns owned by a unit in their subtree.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::error::ApiError;
use super::params::Params;
use super::Shared;
use crate::auth::Role;
use crate::campaign::plan::{build, CampaignPlan, PlanContext};
use crate::campaign::spec::{CampaignSpec, Target};
use crate::geo::crs::{to_wgs84, Crs};
use crate::storage::campaigns::{CampaignVersion, Saved};

/// A save: the spec and the version it is based on (absent for a new campaign).
#[derive(Deserialize)]
pub struct SaveBody {
    #[serde(default)]
    version: Option<i64>,
    #[serde(flatten)]
    spec: Value,
}

fn parse_spec(value: Value) -> Result<CampaignSpec, ApiError> {
    // serde_path_to_error names where in the body the error is (`types[0]`, `target.minutes`).
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // An unknown or missing field is named by serde's message, not by the path.
        // A missing field is named by serde's message; the path stops at its parent.
        let field = match inner.split('`').nth(1) {
            Some(f) if inner.starts_with("missing field") && path == "." => f.to_string(),
            Some(f) if inner.starts_with("missing field") => format!("{path}.{f}"),
            _ if path == "." => "body".to_string(),
            _ => path,
        };
        ApiError::bad(&field, inner)
    })
}

/// Converts a drawn polygon from the request's `crs` to WGS-84.
fn to_canonical(spec: &mut CampaignSpec, crs: Crs) {
    if let Target::Polygon { coordinates } = &mut spec.target {
        for ring in coordinates.iter_mut() {
            for p in ring.iter_mut() {
                let (x, y) = to_wgs84(crs, p[0], p[1]);
                *p = [x, y];
            }
        }
    }
}

/// Checks the spec against the data and the caller: the owner is a unit in the caller's
/// subtree, the target exists and is visible to the caller.
/// `saving`: the owner must also be in the caller's subtree (a preview may be owned above).
fn check_spec(
    app: &Shared,
    caller: &Caller,
    spec: &mut CampaignSpec,
    saving: bool,
) -> Result<(), ApiError> {
    spec.validate(&app.campaign_defaults)
        .map_err(|e| ApiError::bad(&e.field, e.reason))?;
    let index = app.index();
    if spec.owner_org_id.is_none() {
        spec.owner_org_id = caller.user.org_node_id.clone().or_else(|| {
            index
                .org_units
                .iter()
                .find(|u| u.parent_id.is_none())
                .map(|u| u.id.clone())
        });
    }
    let owner = spec.owner_org_id.clone().unwrap_or_default();
    let exists = index.org_units.iter().any(|u| u.id == owner)
        || index.outlets.get(&owner).is_some_and(|o| o.is_ours());
    if !exists || !caller.scope.sees_shared(Some(&owner)) {
        return Err(ApiError::bad(
            "owner_org_id",
            format!("no org unit {owner:?} of yours"),
        ));
    }
    if saving && !caller.scope.contains(Some(&owner)) {
        return Err(ApiError::Forbidden(format!(
            "{owner} is above your part of the organisation; own the campaign with one of your units"
        )));
    }
    match &spec.target {
        Target::Area { area_id } => {
            if !index
                .areas
                .iter()
                .any(|a| &a.id == area_id && caller.scope.sees_shared(a.owner_org_id.as_deref()))
            {
                return Err(ApiError::bad(
                    "target.area_id",
                    format!("no area {area_id:?} of yours"),
                ));
            }
        }
        Target::Outlet { outlet_id, .. } => {
            if !index
                .outlets
                .get(outlet_id)
                .is_some_and(|o| o.is_ours() && caller.scope.sees_outlet(o))
            {
                return Err(ApiError::bad(
                    "target.outlet_id",
                    format!("no outlet {outlet_id:?} of ours in your scope"),
                ));
            }
        }
        Target::Polygon { .. } => {}
    }
    Ok(())
}

fn may_write(caller: &Caller) -> Result<(), ApiError> {
    if caller.user.role == Role::Staff {
        return Err(ApiError::Forbidden(
            "campaigns are designed by branch users and administrators".into(),
        ));
    }
    Ok(())
}

fn summary(v: &CampaignVersion) -> Value {
    let s = &v.spec;
    json!({
        "id": v.campaign_id,
        "name": v.name,
        "owner_org_id": v.owner_org_id,
        "target_kind": s["target"]["kind"],
        "start": s["start"],
        "end": s["end"],
        "types": s["types"],
        "version": v.version,
        "changed_by": v.changed_by,
        "changed_at": v.changed_at,
    })
}

fn full(v: &CampaignVersion) -> Value {
    let mut out = summary(v);
    out["spec"] = v.spec.clone();
    out
}

/// The newest version of a campaign the caller may read; 404 otherwise (or when deleted).
async fn readable(app: &Shared, caller: &Caller, id: &str) -> Result<CampaignVersion, ApiError> {
    app.store
        .campaign(id)
        .await?
        .filter(|v| !v.deleted && caller.scope.sees_shared(v.owner_org_id.as_deref()))
        .ok_or_else(|| ApiError::not_found("campaign", id))
}

/// `GET /api/campaigns?limit=&offset=`: the campaigns the caller can read, by id.
pub async fn list(app: Shared, caller: Caller, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["limit", "offset"])?;
    let page = p.page(100, app.limits.max_page)?;
    let all: Vec<CampaignVersion> = app
        .store
        .campaigns()
        .await?
        .into_iter()
        .filter(|v| caller.scope.sees_shared(v.owner_org_id.as_deref()))
        .collect();
    let items: Vec<Value> = all
        .iter()
        .skip(page.offset)
        .take(page.limit)
        .map(|v| {
            let mut s = summary(v);
            s["may_edit"] = json!(
                caller.user.role != Role::Staff && caller.scope.contains(v.owner_org_id.as_deref())
            );
            s
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "campaigns": items,
        "total": all.len(),
        "limit": page.limit,
        "offset": page.offset,
    })))
}

/// `POST /api/campaigns?crs=`: a new campaign (201, version 1).
pub async fn create(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["crs"])?;
    may_write(&caller)?;
    let mut spec = parse_spec(body.into_inner())?;
    to_canonical(&mut spec, p.crs()?);
    check_spec(&app, &caller, &mut spec, true)?;
    // What only the data can tell (seed communities in reach, calendar edits that fit the
    // proposal) is checked by planning it once.
    plan_of(&app, &caller, &spec)?;
    let id = format!("CMP-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
    let value = serde_json::to_value(&spec).map_err(|e| ApiError::Internal(Box::new(e)))?;
    match app
        .store
        .save_campaign(
            &id,
            0,
            spec.owner_org_id.as_deref(),
            spec.name.trim(),
            &value,
            false,
            &caller.user.username,
        )
        .await?
    {
        Saved::Version(_) => {}
        Saved::Conflict(_) => {
            return Err(ApiError::Conflict {
                message: "a campaign with this id was created at the same moment; post again"
                    .into(),
                current: None,
            })
        }
    }
    let v = readable(&app, &caller, &id).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/campaigns/{id}")))
        .json(full(&v)))
}

/// `GET /api/campaigns/{id}`
pub async fn get(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let v = readable(&app, &caller, &path).await?;
    let mut out = full(&v);
    out["may_edit"] =
        json!(caller.user.role != Role::Staff && caller.scope.contains(v.owner_org_id.as_deref()));
    Ok(HttpResponse::Ok().json(out))
}

/// The newest version, checked writable by the caller.
async fn writable(app: &Shared, caller: &Caller, id: &str) -> Result<CampaignVersion, ApiError> {
    may_write(caller)?;
    let v = readable(app, caller, id).await?;
    if !caller.scope.contains(v.owner_org_id.as_deref()) {
        return Err(ApiError::Forbidden(format!(
            "campaign {id} belongs to {}, above your part of the organisation",
            v.owner_org_id.as_deref().unwrap_or("-")
        )));
    }
    Ok(v)
}

fn conflict(id: &str, base: i64, current: Option<i64>) -> ApiError {
    ApiError::Conflict {
        message: format!(
            "campaign {id} was changed by someone else since version {base} (now version {}); \
             reload it, apply your change again and save",
            current.unwrap_or(0)
        ),
        current,
    }
}

/// `PUT /api/campaigns/{id}?crs=` with `{version, …spec}`: saves a new version based on
/// `version`; 409 when someone saved since.
pub async fn update(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Json<SaveBody>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["crs"])?;
    let id = path.into_inner();
    writable(&app, &caller, &id).await?;
    let body = body.into_inner();
    let base = body
        .version
        .ok_or_else(|| ApiError::bad("version", "required: the version your edit is based on"))?;
    let mut spec = parse_spec(body.spec)?;
    to_canonical(&mut spec, p.crs()?);
    check_spec(&app, &caller, &mut spec, true)?;
    // What only the data can tell (seed communities in reach, calendar edits that fit the
    // proposal) is checked by planning it once.
    plan_of(&app, &caller, &spec)?;
    let value = serde_json::to_value(&spec).map_err(|e| ApiError::Internal(Box::new(e)))?;
    match app
        .store
        .save_campaign(
            &id,
            base,
            spec.owner_org_id.as_deref(),
            spec.name.trim(),
            &value,
            false,
            &caller.user.username,
        )
        .await?
    {
        Saved::Version(_) => {}
        Saved::Conflict(current) => return Err(conflict(&id, base, current)),
    }
    let v = readable(&app, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(full(&v)))
}

/// `DELETE /api/campaigns/{id}?version=`: marks it deleted (its history stays).
pub async fn delete(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["version"])?;
    let id = path.into_inner();
    let v = writable(&app, &caller, &id).await?;
    let base = match p.str("version") {
        None => {
            return Err(ApiError::bad(
                "version",
                "required: the version you are deleting",
            ))
        }
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| ApiError::bad("version", format!("{s:?} is not a number")))?,
    };
    match app
        .store
        .save_campaign(
            &id,
            base,
            v.owner_org_id.as_deref(),
            &v.name,
            &v.spec,
            true,
            &caller.user.username,
        )
        .await?
    {
        Saved::Version(n) => {
            Ok(HttpResponse::Ok().json(json!({"id": id, "deleted": true, "version": n})))
        }
        Saved::Conflict(current) => Err(conflict(&id, base, current)),
    }
}

/// `GET /api/campaigns/{id}/history`: every version, oldest first.
pub async fn history(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    readable(&app, &caller, &path).await?;
    let versions: Vec<Value> = app
        .store
        .campaign_history(&path)
        .await?
        .iter()
        .map(|v| {
            let mut s = full(v);
            s["deleted"] = json!(v.deleted);
            s
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"id": path.as_str(), "versions": versions})))
}

fn plan_of(app: &Shared, caller: &Caller, spec: &CampaignSpec) -> Result<CampaignPlan, ApiError> {
    let warm = app.warm();
    let index = app.index();
    let weights = match &spec.target {
        Target::Outlet { outlet_id, .. } => app.effective_weights(Some(outlet_id)),
        _ => app.effective_weights(spec.owner_org_id.as_deref()),
    };
    let keep = |m: crate::index::MerchantRef<'_>| caller.scope.contains(m.owner_org_id());
    let keep_community =
        |c: &crate::domain::Community| caller.scope.sees_shared(c.owner_org_id.as_deref());
    let ctx = PlanContext {
        index: &index,
        stats: &warm.stats,
        scoring: &app.ranking.params,
        weights: &weights.weights,
        coverage: &app.coverage,
        defaults: &app.campaign_defaults,
        cross: &app.cross_table,
        keep: &keep,
        keep_community: &keep_community,
    };
    build(&ctx, spec).map_err(|e| ApiError::bad(&e.field, e.reason))
}

/// `GET /api/campaigns/{id}/plan?format=json|geojson|csv|html&crs=`
pub async fn plan(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["format", "part", "crs"])?;
    let v = readable(&app, &caller, &path).await?;
    let spec: CampaignSpec =
        serde_json::from_value(v.spec.clone()).map_err(|e| ApiError::Internal(Box::new(e)))?;
    let planned = plan_of(&app, &caller, &spec)?;
    super::campaign_views::respond(&app, &p, Some(&v), &spec, &planned)
}

/// `POST /api/campaigns/preview?format=&crs=` with a spec: the plan of a campaign not saved
/// (the builder's sliders), nothing stored.
pub async fn preview(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["format", "part", "crs"])?;
    let mut value = body.into_inner();
    if let Some(o) = value.as_object_mut() {
        o.remove("version");
    }
    let mut spec = parse_spec(value)?;
    to_canonical(&mut spec, p.crs()?);
    // Anyone who reads campaigns may preview one (staff too); saving is checked on save.
    check_spec(&app, &caller, &mut spec, false)?;
    let planned = plan_of(&app, &caller, &spec)?;
    super::campaign_views::respond(&app, &p, None, &spec, &planned)
}
