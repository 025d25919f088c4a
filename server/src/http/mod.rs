//! The HTTP surface: one router per feature, merged here, wrapped in the
//! layers every response goes through.

mod assets;
pub mod headers;
mod health;
pub mod identity;
mod import;
mod meta_callbacks;
pub mod metrics;
mod oauth;
mod pages;
pub mod policy;
mod request_id;
mod stripe;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use bikriagent::auth::session_store::PgSessionStore;
use bikriagent_app::web::Services;
use http_body_util::BodyExt as _;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use sqlx::PgPool;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;

pub use request_id::RequestId;

/// Largest body accepted by pages and forms.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;
/// Largest body accepted by webhooks (Meta batches can be large).
pub const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;
/// Least time a CSV upload (up to 2 MiB) gets to arrive: 60 s is enough at
/// 300 kbit/s.
pub const UPLOAD_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub services: Services,
    /// Group commit of webhook deliveries.
    pub ingest: bikriagent::ingest::IngestQueue,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let headers = headers::SecurityHeaders::new(&state.config);
    let read_timeout = state.config.read_timeout;
    let webhooks = webhooks::router()
        .merge(meta_callbacks::router())
        .merge(stripe::router())
        .layer(axum::middleware::from_fn_with_state(read_timeout, read_body_within))
        .layer(RequestBodyLimitLayer::new(WEBHOOK_BODY_LIMIT));
    let site = with_identity(
        Router::new()
            .merge(pages::router())
            .merge(import::template_router())
            .merge(oauth::router())
            .merge(metrics::router())
            .route("/api/{*fn_name}", post(server_fn)),
        &state,
        FORM_BODY_LIMIT,
        read_timeout,
    );
    let uploads = with_identity(
        import::upload_router(),
        &state,
        import::CSV_LIMIT + 64 * 1024,
        read_timeout.max(UPLOAD_READ_TIMEOUT),
    );
    let static_routes = Router::new()
        .merge(health::router())
        .merge(assets::router())
        .layer(axum::middleware::from_fn_with_state(read_timeout, read_body_within))
        .layer(RequestBodyLimitLayer::new(FORM_BODY_LIMIT));
    Router::new()
        .merge(webhooks)
        .merge(static_routes)
        .merge(uploads)
        .merge(site)
        .with_state(state)
        .layer(CatchPanicLayer::custom(pages::panic_response))
        .layer(axum::middleware::from_fn(readable_errors))
        .layer(axum::middleware::from_fn(policy::refuse_non_canonical))
        .layer(axum::middleware::from_fn(move |req, next| {
            let headers = headers.clone();
            async move { headers.apply(req, next).await }
        }))
        .layer(axum::middleware::from_fn(request_id::trace_request))
}

/// Errors that layers and the router answer on their own (a body over the
/// limit, a method the route does not take) get the readable error page
/// instead of their plain text, with their status kept.
async fn readable_errors(req: Request, next: axum::middleware::Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_html = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let (title, message) = match status {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => ("Too much data", "The form sent too much data."),
        axum::http::StatusCode::METHOD_NOT_ALLOWED => {
            ("Not allowed", "This address does not take that kind of request.")
        }
        _ => return response,
    };
    if is_html {
        return response;
    }
    let mut readable = identity::error_page(status, title, message);
    for name in [axum::http::header::ALLOW, axum::http::header::CONNECTION] {
        if let Some(value) = response.headers().get(&name) {
            readable.headers_mut().insert(name, value.clone());
        }
    }
    readable
}

/// Wraps routes in sessions, identity and the guard (origin, CSRF, roles,
/// rate limits), with a body limit of `limit` bytes that must arrive within
/// `read_timeout`. The body is read before the session is loaded.
fn with_identity(router: Router<AppState>, state: &AppState, limit: usize, read_timeout: Duration) -> Router<AppState> {
    let (cookie_name, secure) = if state.config.insecure_cookies {
        ("bikri_session", false)
    } else {
        ("__Host-bikri_session", true)
    };
    let sessions = SessionManagerLayer::new(PgSessionStore::new(state.pool.clone()))
        .with_name(cookie_name)
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(identity::IDLE_TIMEOUT));
    router
        .layer(axum::middleware::from_fn_with_state(state.clone(), identity::guard))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            identity::load_identity,
        ))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(read_timeout, read_body_within))
        .layer(RequestBodyLimitLayer::new(limit))
}

/// Reads the whole request body (already capped by the route's body limit)
/// within `timeout` of its headers, before any other layer or handler runs:
/// a body that does not arrive in time is answered `408` and the connection
/// closed. Nothing, sessions included, waits on a slow client.
pub async fn read_body_within(State(timeout): State<Duration>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(timeout, body.collect()).await {
        Ok(Ok(collected)) => {
            run_to_completion(next, Request::from_parts(parts, Body::from(collected.to_bytes()))).await
        }
        Ok(Err(error)) => {
            let too_large = std::iter::successors(Some(&error as &dyn std::error::Error), |e| e.source())
                .any(|e| e.is::<http_body_util::LengthLimitError>());
            if too_large {
                (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded").into_response()
            } else {
                tracing::info!(%error, "could not read a request body");
                (StatusCode::BAD_REQUEST, "the request body could not be read").into_response()
            }
        }
        Err(_) => {
            tracing::info!(path = %parts.uri.path(), "a request body did not arrive within the read timeout");
            (
                StatusCode::REQUEST_TIMEOUT,
                [(header::CONNECTION, "close")],
                "the request body did not arrive in time",
            )
                .into_response()
        }
    }
}

/// Runs the rest of the request (session, guard, handler) as its own task,
/// so a client that goes away cannot cancel it halfway.
///
/// hyper drops a request's future when its connection closes. A future
/// dropped inside sqlx's `begin()` or `commit()` leaves the connection inside
/// a transaction that nothing rolls back (sqlx 0.8.6 raises its transaction
/// depth only after BEGIN's round trip, transact-rs/sqlx#4393), or sends a
/// ROLLBACK after a COMMIT the server already ran ("no transaction in
/// progress"). Both were seen after form posts. A spawned task is not dropped
/// with the connection: every transaction of the request ends by commit or
/// rollback, and a form posted just before the client left is applied once,
/// as if its answer had arrived. The body is already in memory, so the task
/// never waits on the client. A panic is passed on to the panic layer.
async fn run_to_completion(next: Next, req: Request) -> Response {
    use tracing::Instrument as _;
    match tokio::spawn(next.run(req).in_current_span()).await {
        Ok(response) => response,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => pages::internal_error_response(),
    }
}

/// Runs a Leptos server function. Its role and CSRF checks already passed in
/// [`identity::guard`]. An unexpected error becomes the generic 500 page
/// instead of leptos' redirect with the error text in the URL.
async fn server_fn(State(state): State<AppState>, req: Request) -> Response {
    let services = state.services.clone();
    let response = leptos_axum::handle_server_fns_with_context(move || provide_context(services.clone()), req)
        .await
        .into_response();
    let error = response
        .headers()
        .get(axum::http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| {
            l.split_once("__err=")
                .map(|(_, e)| e.split('&').next().unwrap_or_default().to_owned())
        });
    let error = match error {
        Some(encoded) => Some(
            base64::engine::general_purpose::URL_SAFE
                .decode(percent_decode(&encoded))
                .unwrap_or_default(),
        ),
        None if response.status().is_server_error() => {
            let (_, body) = response.into_parts();
            Some(
                axum::body::to_bytes(body, 64 * 1024)
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default(),
            )
        }
        None => return response,
    };
    // Leptos names what it could not decode "Args" (a missing or malformed
    // field): that is the sender's mistake, not ours.
    if error
        .as_deref()
        .is_some_and(|e| e.starts_with(b"Args|") || e.starts_with(b"Deserialization|"))
    {
        return identity::error_page(
            axum::http::StatusCode::BAD_REQUEST,
            "This form was incomplete",
            "Go back, reload the page and send the form again.",
        );
    }
    pages::internal_error_response()
}

/// `%XX` escapes decoded (the error in leptos' redirect is percent-encoded base64).
fn percent_decode(value: &str) -> Vec<u8> {
    form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())
        .unwrap_or_default()
}
