//! Sessions, identity, CSRF and the API guard.
//!
//! For every page and server-function request: load the session, end it if
//! it is idle for 30 minutes or older than 12 hours (checked here against the
//! app's clock, tower-sessions has no absolute lifetime), load the account
//! fresh (a suspended account loses its session at once), and hand pages and
//! server functions a [`RequestContext`]. State-changing requests must come
//! from our own origin and carry the session's CSRF token.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bikriagent::audit::RequestMeta;
use bikriagent::auth::accounts::{Role, Status};
use bikriagent::auth::tokens::{constant_time_eq, random_token};
use bikriagent::ratelimit;
use bikriagent_app::account_fns::{ACCESS, Access};
use bikriagent_app::web::{CSRF_FIELD, Flash, RequestContext, keys};
use time::Duration;
use tower_sessions::Session;

use super::{AppState, FORM_BODY_LIMIT};

pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
pub const ABSOLUTE_LIFETIME: Duration = Duration::hours(12);
/// How stale `last_seen` may get before it is written again.
const TOUCH_EVERY: i64 = 60;

/// Pages whose forms need a CSRF token before anyone is signed in.
const ANONYMOUS_FORM_PAGES: &[&str] = &[
    "/login",
    "/signup",
    "/verify-email",
    "/forgot-password",
    "/reset-password",
];

fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        bikriagent_app::error_document(status.as_u16(), title, message),
    )
        .into_response()
}

/// The client's address: the socket peer, or with `BIKRI_TRUST_PROXY` the
/// last hop of `X-Forwarded-For` (the one our proxy appended).
pub fn client_meta(req: &Request, trust_proxy: bool) -> RequestMeta {
    let forwarded = trust_proxy
        .then(|| req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()))
        .flatten()
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| v.parse::<std::net::IpAddr>().is_ok());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(300).collect());
    RequestMeta {
        ip: forwarded.or(peer),
        user_agent,
    }
}

async fn session_i64(session: &Session, key: &str) -> Option<i64> {
    session.get::<i64>(key).await.ok().flatten()
}

/// Loads the principal and builds the [`RequestContext`].
pub async fn load_identity(State(state): State<AppState>, session: Session, mut req: Request, next: Next) -> Response {
    let meta = client_meta(&req, state.config.trust_proxy);
    let now = state.services.clock.now().unix_timestamp();
    let mut ctx = RequestContext {
        meta,
        ..RequestContext::default()
    };

    let account: Option<uuid::Uuid> = session
        .get::<String>(keys::ACCOUNT_ID)
        .await
        .ok()
        .flatten()
        .and_then(|id| id.parse().ok());
    if let Some(account) = account {
        let auth_at = session_i64(&session, keys::AUTH_AT).await.unwrap_or(0);
        let last_seen = session_i64(&session, keys::LAST_SEEN).await.unwrap_or(0);
        let expired =
            now - auth_at > ABSOLUTE_LIFETIME.whole_seconds() || now - last_seen > IDLE_TIMEOUT.whole_seconds();
        let principal = if expired {
            None
        } else {
            match state.services.accounts.principal(account).await {
                Ok(principal) => principal,
                Err(error) => {
                    tracing::error!(%error, "could not load the session's account");
                    return error_page(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "We are having trouble right now",
                        "Please try again in a minute.",
                    );
                }
            }
        };
        match principal {
            Some(principal) if principal.status != Status::Suspended => {
                if now - last_seen >= TOUCH_EVERY {
                    let _ = session.insert(keys::LAST_SEEN, now).await;
                }
                ctx.second_factor = session
                    .get::<bool>(keys::SECOND_FACTOR)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(false);
                ctx.principal = Some(principal);
            }
            _ => {
                let _ = session.flush().await;
            }
        }
    }

    let is_get = req.method() == Method::GET || req.method() == Method::HEAD;
    let path = req.uri().path().to_owned();
    let mut csrf = session.get::<String>(keys::CSRF).await.ok().flatten();
    if csrf.is_none() && is_get && ANONYMOUS_FORM_PAGES.contains(&path.as_str()) {
        let token = random_token();
        if session.insert(keys::CSRF, &token).await.is_ok() {
            csrf = Some(token);
        }
    }
    ctx.csrf = csrf;
    // Every signed-in page shows a banner while the kill switch is engaged.
    if ctx.principal.is_some() && is_get && !path.starts_with("/api/") {
        ctx.kill_switch_engaged = sqlx::query_scalar::<_, bool>("select not auto_send_enabled from platform_settings")
            .fetch_optional(&state.pool)
            .await
            .ok()
            .flatten()
            .unwrap_or(false);
    }
    // Only a page the person navigates to reads (and so ends) the flash: not
    // an image, a prefetch or anything else the browser asks for meanwhile.
    let navigation = req
        .headers()
        .get("sec-fetch-dest")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|dest| dest == "document");
    if is_get && navigation && !path.starts_with("/api/") {
        ctx.flash = session.remove::<Flash>(keys::FLASH).await.ok().flatten();
    }
    req.extensions_mut().insert(session);
    req.extensions_mut().insert(Arc::new(ctx));
    next.run(req).await
}

/// The readable 429 page.
pub fn too_many(message: &str) -> Response {
    error_page(StatusCode::TOO_MANY_REQUESTS, "Too many attempts", message)
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

/// Who may open a page, decided before it renders: anonymous visitors go to
/// the login page, a signed-in account without the role gets 403, staff
/// without their second factor go to it.
pub fn page_refusal(path: &str, ctx: &RequestContext) -> Option<Response> {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    let forbidden = || {
        Some(error_page(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your account cannot open this page.",
        ))
    };
    if under("/staff") {
        return match (ctx.staff(), ctx.principal.is_some()) {
            (None, false) => Some(redirect("/login")),
            (None, true) => forbidden(),
            (Some(_), _) if path == "/staff/totp" => None,
            (Some(_), _) if !ctx.second_factor => Some(redirect("/staff/totp")),
            _ => None,
        };
    }
    if under("/account") {
        return match (&ctx.principal, ctx.staff().is_some() && !ctx.second_factor) {
            (None, _) => Some(redirect("/login")),
            (Some(_), true) => Some(redirect("/staff/totp")),
            _ => None,
        };
    }
    let owner_pages = [
        "/business",
        "/catalog",
        "/rules",
        "/channels",
        "/oauth",
        "/inbox",
        "/review",
        "/orders",
    ];
    if owner_pages.into_iter().any(under) || under("/playground") || under("/sandbox") {
        return match (ctx.owner(), ctx.principal.is_some()) {
            (Some(_), _) => None,
            (None, true) => forbidden(),
            (None, false) => Some(redirect("/login")),
        };
    }
    if under("/dashboard") {
        return match (ctx.owner(), ctx.staff()) {
            (Some(_), _) => None,
            (None, Some(_)) => Some(redirect("/staff")),
            (None, None) => Some(redirect("/login")),
        };
    }
    None
}

/// Forms protected by Turnstile when it is configured.
const TURNSTILE_PATHS: &[&str] = &["/api/signup", "/api/request_password_reset", "/api/import_url"];

fn token_matches(expected: Option<&str>, given: Option<&str>) -> bool {
    matches!((expected, given), (Some(expected), Some(given)) if constant_time_eq(expected, given))
}

fn csrf_refusal() -> Response {
    tracing::warn!(
        security_event = "csrf_token_invalid",
        "refused a form post without a valid CSRF token"
    );
    error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "Go back, reload the page and send the form again.",
    )
}

/// Refuses cross-site state changes, checks the CSRF token, applies per-IP
/// limits, and checks the role a server function needs before it runs.
pub async fn guard_api(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ctx = req
        .extensions()
        .get::<Arc<RequestContext>>()
        .cloned()
        .unwrap_or_default();
    if req.method() == Method::GET || req.method() == Method::HEAD || req.method() == Method::OPTIONS {
        if req.uri().path().starts_with("/api/") {
            return error_page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not allowed",
                "This address only accepts forms.",
            );
        }
        if let Some(refusal) = page_refusal(req.uri().path(), &ctx) {
            return refusal;
        }
        return next.run(req).await;
    }
    let headers = req.headers();
    let cross_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site");
    let foreign_origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin != state.config.public_url);
    if cross_site || foreign_origin {
        tracing::warn!(security_event = "csrf_foreign_origin", "refused a cross-site form post");
        return error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form was sent from another website.",
        );
    }

    let path = req.uri().path().to_owned();
    let Some(access) = ACCESS.iter().find(|(p, _)| *p == path).map(|(_, a)| *a) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "We could not find that page",
            "There is no form at this address.",
        );
    };
    let allowed = match access {
        Access::Public => true,
        Access::Authenticated => ctx.owner().is_some() || (ctx.staff().is_some() && ctx.second_factor),
        Access::Owner => ctx.owner().is_some(),
        Access::StaffPassword => ctx.staff().is_some(),
        Access::Staff => ctx.staff().is_some() && ctx.second_factor,
        Access::Admin => ctx.principal.as_ref().is_some_and(|p| p.role == Role::Admin) && ctx.second_factor,
    };
    if !allowed {
        return if ctx.principal.is_none() {
            error_page(StatusCode::UNAUTHORIZED, "Please log in", "Log in to do this.")
        } else {
            error_page(StatusCode::FORBIDDEN, "Not allowed", "Your account cannot do this.")
        };
    }

    let ip = ctx.meta.ip.clone().unwrap_or_default();
    let now = state.services.clock.now();
    // Per IP for the anonymous forms, per owner for imports.
    let owner_key = ctx.owner().map(|p| p.id.to_string()).unwrap_or_default();
    let (limit, key) = match path.as_str() {
        "/api/login" => (Some(ratelimit::LOGIN_PER_IP), &ip),
        "/api/signup" => (Some(ratelimit::SIGNUP_PER_IP), &ip),
        "/api/request_password_reset" => (Some(ratelimit::RESET_PER_IP), &ip),
        "/api/import_url" | "/api/import_csv" => (Some(ratelimit::IMPORT_PER_OWNER), &owner_key),
        _ => (None, &ip),
    };
    if let Some(limit) = limit
        && let Err(retry_after) = ratelimit::hit(&state.pool, limit, key, now).await
    {
        tracing::warn!(
            security_event = "rate_limited",
            limit = limit.name,
            "rate limit reached"
        );
        let message = if limit.name == ratelimit::IMPORT_PER_OWNER.name {
            "You have imported many times this hour. Please wait a while and try again."
        } else {
            "You have tried this too many times from this network. Please wait a while and try again."
        };
        let mut response = too_many(message);
        if let Ok(value) = retry_after.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }

    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    if is_multipart {
        // File uploads carry the token in the form's action URL: the guard
        // does not read (or buffer) a multipart body.
        let submitted = req.uri().query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.into_owned())
        });
        if !token_matches(ctx.csrf.as_deref(), submitted.as_deref()) {
            return csrf_refusal();
        }
        return next.run(req).await;
    }

    // The CSRF token is a form field: read the (size-limited) body, check it, put it back.
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_BODY_LIMIT).await else {
        return error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too much data",
            "The form sent too much data.",
        );
    };
    let field = |name: &str| {
        form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if !token_matches(ctx.csrf.as_deref(), field(CSRF_FIELD).as_deref()) {
        return csrf_refusal();
    }
    if TURNSTILE_PATHS.contains(&path.as_str())
        && let Some(turnstile) = &state.services.turnstile
    {
        let token = field("cf-turnstile-response").unwrap_or_default();
        if let Err(error) = turnstile.verify(&token, ctx.meta.ip.as_deref()).await {
            tracing::warn!(security_event = "turnstile_failed", %error, "bot check failed");
            let _ = bikriagent::audit::record(
                &state.pool,
                "turnstile_failed",
                ctx.principal.as_ref().map(|p| p.id),
                None,
                &ctx.meta,
                serde_json::json!({ "path": path }),
            )
            .await;
            return error_page(
                StatusCode::FORBIDDEN,
                "Please complete the check",
                "We could not confirm you are a person. Go back, complete the check and send the form again.",
            );
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
