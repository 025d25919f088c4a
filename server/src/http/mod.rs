//! The HTTP surface: one router per feature, merged here, wrapped in the
//! layers every response goes through.

mod assets;
pub mod headers;
mod health;
mod pages;
mod request_id;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::config::Config;

pub use request_id::RequestId;

/// Largest body accepted by pages and forms.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;
/// Largest body accepted by webhooks (Meta batches can be large).
pub const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let headers = headers::SecurityHeaders::new(&state.config);
    let webhooks = webhooks::router().layer(RequestBodyLimitLayer::new(WEBHOOK_BODY_LIMIT));
    let site = Router::new()
        .merge(health::router())
        .merge(assets::router())
        .merge(pages::router())
        .layer(RequestBodyLimitLayer::new(FORM_BODY_LIMIT));
    Router::new()
        .merge(webhooks)
        .merge(site)
        .with_state(state)
        .layer(CatchPanicLayer::custom(pages::panic_response))
        .layer(axum::middleware::from_fn(move |req, next| {
            let headers = headers.clone();
            async move { headers.apply(req, next).await }
        }))
        .layer(axum::middleware::from_fn(request_id::trace_request))
}
