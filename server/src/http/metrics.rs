//! `GET /metrics` in Prometheus' text format.
//!
//! Metrics tell an outsider how busy the shops are, how often logins fail
//! and which routes are slow, so they are never public:
//!
//! - Prometheus scrapes the separate listener at `BIKRI_METRICS_ADDR` (bind
//!   it to loopback or a private network; it has no login of its own, like
//!   any scrape target), built by [`listener_router`].
//! - On the public address `/metrics` answers only signed-in staff who passed
//!   their second factor (the route policy, and the [`StaffSession`]
//!   extractor again): anonymous visitors are sent to the login page, staff
//!   without their second factor to it, owners get 403.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bikriagent_app::web::StaffSession;
use sqlx::PgPool;

use super::AppState;

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `/metrics` on the public address, for staff; wrapped in sessions and identity by the caller.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(for_staff))
}

/// The private metrics listener: `/metrics` for the scraper, nothing else.
pub fn listener_router(pool: PgPool) -> Router {
    Router::new().route("/metrics", get(for_scraper)).with_state(pool)
}

async fn for_staff(_staff: StaffSession, State(state): State<AppState>) -> Response {
    exposition(&state.pool).await
}

async fn for_scraper(State(pool): State<PgPool>) -> Response {
    exposition(&pool).await
}

async fn exposition(pool: &PgPool) -> Response {
    let body = bikriagent::metrics::scrape(pool).await;
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}
