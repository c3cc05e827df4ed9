//! Who is asking: the session cookie (browser, with a CSRF token on every state-changing
//! request) or a bearer API token (scripts). Login with rate limiting, logout, the session,
//! user administration and the audit log.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::params::Params;
use super::Shared;
use crate::app::{Access, App};
use crate::auth::{self, Role, Scope, User};

pub const SESSION_COOKIE: &str = "ecomap_session";
const SESSION_HOURS: i64 = 12;

/// The signed-in caller of a request, with the scope their org node gives them.
#[derive(Clone)]
pub struct Caller {
    pub user: User,
    pub scope: Scope,
    /// The session's CSRF token when signed in by cookie; `None` for a bearer token.
    pub csrf: Option<String>,
    pub client: String,
}

impl Caller {
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.user.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden("administrators only".into()))
        }
    }

    /// What this caller may write in an import.
    pub fn access(&self) -> Access {
        Access {
            actor: self.user.username.clone(),
            scope: self.scope.clone(),
            default_owner: self.user.org_node_id.clone(),
            may_change_org: self.user.role == Role::Admin,
            client: Some(self.client.clone()),
        }
    }
}

fn client_of(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let h = req.headers().get("authorization")?.to_str().ok()?;
    let t = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))?;
    Some(t.trim().to_string())
}

async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let app = req
        .app_data::<Shared>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    let client = client_of(&req);
    let (user, csrf) = if let Some(token) = bearer(&req) {
        let user = app
            .store
            .token_user(&auth::secret_hash(&token))
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        (user, None)
    } else if let Some(c) = req.cookie(SESSION_COOKIE) {
        let (user, csrf) = app
            .store
            .session(&auth::secret_hash(c.value()))
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        if !req.method().is_safe() {
            let sent = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if sent.is_empty() || sent != csrf {
                return Err(ApiError::Forbidden(
                    "missing or wrong X-CSRF-Token header (GET /api/session gives it)".into(),
                ));
            }
        }
        (user, Some(csrf))
    } else {
        return Err(ApiError::Unauthenticated);
    };
    let scope = app.cached_scope_of(&user);
    Ok(Caller {
        user,
        scope,
        csrf,
        client,
    })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

fn user_json(u: &User) -> serde_json::Value {
    json!({
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role.code(),
        "role_zh": u.role.zh(),
        "org_node_id": u.org_node_id,
        "can_unmask": u.can_unmask,
        "disabled": u.disabled,
    })
}

/// Cookies are Secure unless the server is reached on loopback (the demo, tests).
fn is_loopback(req: &HttpRequest) -> bool {
    let info = req.connection_info();
    let host = info.host().to_ascii_lowercase();
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

/// `POST /api/login {username, password}`: sets the session cookie; returns the user and the
/// CSRF token to send as `X-CSRF-Token`. Failed attempts are slowed and rate-limited.
pub async fn login(
    app: Shared,
    req: HttpRequest,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let client = client_of(&req);
    let username = body.username.trim().to_string();
    if let Some(wait) = app.login_limiter.blocked(&username, &client) {
        return Err(ApiError::TooManyRequests {
            retry_after_s: wait.as_secs().max(1),
        });
    }
    let found = app.store.user_for_login(&username).await?;
    let password = body.password.clone();
    // Argon2id takes tens of milliseconds: off the async workers.
    let ok_user = web::block(move || match found {
        Some((u, hash)) if !u.disabled && auth::verify_password(&password, &hash) => Some(u),
        Some(_) | None => {
            // Same work for an unknown user, so timing does not reveal who exists.
            let _ = auth::verify_password(&password, crate::auth::DUMMY_HASH);
            None
        }
    })
    .await
    .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let Some(user) = ok_user else {
        app.login_limiter.failed(&username, &client);
        app.store
            .audit(Some(&username), "login_failed", None, None, Some(&client))
            .await?;
        tokio::time::sleep(app.limits.login_failure_delay).await;
        return Err(ApiError::BadCredentials);
    };
    app.login_limiter.succeeded(&username);
    let token = auth::new_secret("ecs_");
    let csrf = auth::new_secret("");
    let expires = chrono::Utc::now() + chrono::Duration::hours(SESSION_HOURS);
    app.store
        .create_session(
            &user.id,
            &auth::secret_hash(&token),
            &csrf,
            &expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
        .await?;
    app.store
        .audit(Some(&user.username), "login", None, None, Some(&client))
        .await?;
    let cookie = Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(!is_loopback(&req))
        .max_age(actix_web::cookie::time::Duration::hours(SESSION_HOURS))
        .finish();
    Ok(HttpResponse::Ok()
        .cookie(cookie)
        .json(json!({ "user": user_json(&user), "csrf_token": csrf })))
}

/// `POST /api/logout`
pub async fn logout(
    app: Shared,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        app.store
            .delete_session(&auth::secret_hash(c.value()))
            .await?;
    }
    app.store
        .audit(
            Some(&caller.user.username),
            "logout",
            None,
            None,
            Some(&caller.client),
        )
        .await?;
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::Ok()
        .cookie(gone)
        .json(json!({ "status": "signed_out" })))
}

/// `GET /api/session`: who am I, and the CSRF token for this session; `{"user": null}` when
/// not signed in (so that the map app can show its login form without an error).
pub async fn session(caller: Option<Caller>) -> Result<HttpResponse, ApiError> {
    let Some(caller) = caller else {
        return Ok(HttpResponse::Ok().json(json!({ "user": null })));
    };
    Ok(HttpResponse::Ok().json(json!({
        "user": user_json(&caller.user),
        "csrf_token": caller.csrf,
        "scope": if caller.scope.is_all() { json!("all") } else { json!(caller.user.org_node_id) },
    })))
}

/// `GET /api/users` (administrators)
pub async fn users(app: Shared, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let list: Vec<_> = app.store.users().await?.iter().map(user_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "users": list, "total": list.len() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    display_name: Option<String>,
    password: String,
    role: Role,
    org_node_id: Option<String>,
    #[serde(default)]
    can_unmask: bool,
}

/// Checks that a role's org node fits: admins have none; branch users an org unit; staff one
/// of our outlets.
pub fn check_node(app: &App, role: Role, node: Option<&str>) -> Result<(), String> {
    let index = app.index();
    match (role, node) {
        (Role::Admin, None) => Ok(()),
        (Role::Admin, Some(_)) => Err("administrators see everything: give no org_node_id".into()),
        (_, None) => Err("branch users and staff need an org_node_id".into()),
        (Role::Branch, Some(n)) if index.org_units.iter().any(|u| u.id == n) => Ok(()),
        (Role::Branch, Some(n)) => Err(format!("org unit {n:?} does not exist")),
        (Role::Staff, Some(n)) if index.outlets.get(n).is_some_and(|o| o.is_ours()) => Ok(()),
        (Role::Staff, Some(n)) => Err(format!("{n:?} is not one of our outlets")),
    }
}

/// `POST /api/users` (administrators)
pub async fn add_user(
    app: Shared,
    caller: Caller,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let b = body.into_inner();
    let username =
        auth::check_username(&b.username).map_err(|e| ApiError::bad("username", e.reason))?;
    auth::check_password(&b.password).map_err(|e| ApiError::bad("password", e.reason))?;
    check_node(&app, b.role, b.org_node_id.as_deref())
        .map_err(|m| ApiError::bad("org_node_id", m))?;
    if app.store.user_by_name(&username).await?.is_some() {
        return Err(ApiError::bad("username", format!("{username:?} is taken")));
    }
    let password = b.password;
    let hash = web::block(move || auth::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let user = app
        .store
        .create_user(
            &username,
            b.display_name.as_deref().unwrap_or(&username),
            &hash,
            b.role,
            b.org_node_id.as_deref(),
            b.can_unmask,
        )
        .await?;
    app.store
        .audit(
            Some(&caller.user.username),
            "user_add",
            Some(&user.username),
            Some(json!({ "role": user.role.code(), "org_node_id": user.org_node_id, "can_unmask": user.can_unmask })),
            Some(&caller.client),
        )
        .await?;
    Ok(HttpResponse::Created().json(user_json(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    display_name: Option<String>,
    role: Option<Role>,
    org_node_id: Option<Option<String>>,
    can_unmask: Option<bool>,
    disabled: Option<bool>,
}

/// `PATCH /api/users/{username}` (administrators): role, org node, unmask permission, disabled.
pub async fn change_user(
    app: Shared,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UserChange>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let mut u = app
        .store
        .user_by_name(&path)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &path))?;
    let before = user_json(&u);
    let b = body.into_inner();
    if let Some(n) = b.display_name {
        u.display_name = n;
    }
    if let Some(r) = b.role {
        u.role = r;
    }
    if let Some(n) = b.org_node_id {
        u.org_node_id = n;
    }
    if let Some(c) = b.can_unmask {
        u.can_unmask = c;
    }
    if let Some(d) = b.disabled {
        if d && u.id == caller.user.id {
            return Err(ApiError::bad("disabled", "you cannot disable yourself"));
        }
        u.disabled = d;
    }
    check_node(&app, u.role, u.org_node_id.as_deref())
        .map_err(|m| ApiError::bad("org_node_id", m))?;
    app.store.update_user(&u).await?;
    let after = user_json(&u);
    app.store
        .audit(
            Some(&caller.user.username),
            if u.disabled {
                "user_disable"
            } else {
                "user_change"
            },
            Some(&u.username),
            Some(json!({ "before": before, "after": after })),
            Some(&caller.client),
        )
        .await?;
    Ok(HttpResponse::Ok().json(after))
}

/// `GET /api/audit?action=&limit=&offset=` (administrators), newest first.
pub async fn audit(
    app: Shared,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let p = Params::parse(req.query_string())?;
    p.allow_only(&["action", "limit", "offset"])?;
    let page = p.page(100, 1000)?;
    let (entries, total) = app
        .store
        .audit_log(p.str("action"), page.limit, page.offset)
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "entries": entries, "total": total, "limit": page.limit, "offset": page.offset,
    })))
}
