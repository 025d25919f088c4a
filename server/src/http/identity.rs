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
use axum::extract::MatchedPath;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bikriagent::audit::{AuditKind, RequestMeta};
use bikriagent::auth::access::{Admission, Caller, ip_limit_key};
use bikriagent::auth::accounts::Status;
use bikriagent::auth::tokens::{constant_time_eq, random_token};
use bikriagent::ratelimit;
use bikriagent_app::web::{CSRF_FIELD, Flash, RequestContext, keys};
use time::Duration;
use tower_sessions::Session;

use super::policy::{self, Kind, Per, RoutePolicy};
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

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
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

/// The readable 404 page for any address no route matched.
pub fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "We could not find that page",
        "The address may be mistyped, or the page may have moved.",
    )
}

/// The readable 405 page.
pub fn method_not_allowed(message: &str) -> Response {
    error_page(StatusCode::METHOD_NOT_ALLOWED, "Not allowed", message)
}

/// The readable 429 page.
pub fn too_many(message: &str) -> Response {
    error_page(StatusCode::TOO_MANY_REQUESTS, "Too many attempts", message)
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

fn caller(ctx: &RequestContext) -> Caller {
    Caller {
        role: ctx.principal.as_ref().map(|p| p.role),
        second_factor: ctx.second_factor,
        email_verified: ctx.principal.as_ref().is_some_and(|p| p.email_verified),
    }
}

/// What a refused caller gets (`None` when admitted): pages send people
/// where they can go on, forms answer the status with a readable page.
async fn refusal(
    admission: Admission,
    policy: &RoutePolicy,
    ctx: &RequestContext,
    session: Option<&Session>,
) -> Option<Response> {
    let is_page = policy.kind == Kind::Page;
    Some(match admission {
        Admission::Admit => return None,
        Admission::LogIn if is_page => redirect("/login"),
        Admission::LogIn => error_page(StatusCode::UNAUTHORIZED, "Please log in", "Log in to do this."),
        Admission::SecondFactor if is_page => redirect("/staff/totp"),
        Admission::ConfirmEmail => {
            if let Some(session) = session {
                let flash = Flash::error("Confirm your email address first: then you can connect your Page or number.");
                let _ = session.insert(keys::FLASH, flash).await;
            }
            redirect("/dashboard")
        }
        Admission::Forbidden if ctx.staff().is_some() && policy.staff_go_to.is_some() => {
            redirect(policy.staff_go_to.unwrap_or("/staff"))
        }
        Admission::Forbidden if is_page => error_page(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your account cannot open this page.",
        ),
        Admission::SecondFactor | Admission::Forbidden => {
            error_page(StatusCode::FORBIDDEN, "Not allowed", "Your account cannot do this.")
        }
    })
}

/// The route the router matched: a server function's exact path (the path
/// is canonical by now, and the dispatcher looks functions up by it), or
/// the pattern axum matched.
fn matched_route(req: &Request) -> Option<&'static RoutePolicy> {
    let path = req.uri().path();
    if path.starts_with("/api/") {
        return policy::lookup(path);
    }
    req.extensions()
        .get::<MatchedPath>()
        .and_then(|matched| policy::lookup(matched.as_str()))
}

/// Counts the route's limits; the readable 429 when one is reached.
async fn over_limit(
    state: &AppState,
    policy: &RoutePolicy,
    ctx: &RequestContext,
    query: Option<&str>,
) -> Option<Response> {
    let ip = ip_limit_key(ctx.meta.ip.as_deref().unwrap_or_default());
    let now = state.services.clock.now();
    for rule in policy.limits {
        if let Some(field) = rule.only_with_query {
            let asked = query
                .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == field && !v.trim().is_empty()));
            if !asked {
                continue;
            }
        }
        let key = match (rule.per, &ctx.principal) {
            (Per::Account, Some(principal)) => principal.id.to_string(),
            _ => ip.clone(),
        };
        if let Err(retry_after) = ratelimit::hit(&state.pool, rule.limit, &key, now).await {
            tracing::warn!(
                security_event = "rate_limited",
                limit = rule.limit.name,
                "rate limit reached"
            );
            let message = if rule.limit.name == ratelimit::IMPORT_PER_OWNER.name {
                "You have imported many times this hour. Please wait a while and try again."
            } else if rule.per == Per::Account {
                "You have done this many times recently. Please wait a while and try again."
            } else {
                "You have tried this too many times from this network. Please wait a while and try again."
            };
            let mut response = too_many(message);
            if let Ok(value) = retry_after.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return Some(response);
        }
    }
    None
}

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

/// Enforces the route policy on the route the router matched: the method,
/// who may use it, its rate limits, and for forms the origin, the CSRF
/// token and the bot check. A route missing from the table is closed.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ctx = req
        .extensions()
        .get::<Arc<RequestContext>>()
        .cloned()
        .unwrap_or_default();
    let Some(policy) = matched_route(&req) else {
        return if req.uri().path().starts_with("/api/") {
            error_page(
                StatusCode::NOT_FOUND,
                "We could not find that page",
                "There is no form at this address.",
            )
        } else {
            not_found()
        };
    };
    let reads = req.method() == Method::GET || req.method() == Method::HEAD;
    match policy.kind {
        Kind::Page | Kind::Machine if !reads => return method_not_allowed("This address only opens pages."),
        Kind::Form if req.method() != Method::POST => return method_not_allowed("This address only accepts forms."),
        _ => {}
    }
    let admission = policy.audience.admit(caller(&ctx));
    let session = req.extensions().get::<Session>().cloned();
    if let Some(refused) = refusal(admission, policy, &ctx, session.as_ref()).await {
        return refused;
    }
    if policy.kind != Kind::Form {
        if let Some(limited) = over_limit(&state, policy, &ctx, req.uri().query()).await {
            return limited;
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
    if let Some(limited) = over_limit(&state, policy, &ctx, req.uri().query()).await {
        return limited;
    }
    let path = policy.route;

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
    if policy.turnstile
        && let Some(turnstile) = &state.services.turnstile
    {
        let token = field("cf-turnstile-response").unwrap_or_default();
        if let Err(error) = turnstile.verify(&token, ctx.meta.ip.as_deref()).await {
            tracing::warn!(security_event = "turnstile_failed", %error, "bot check failed");
            let _ = bikriagent::audit::record(
                &state.pool,
                AuditKind::TurnstileFailed,
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
