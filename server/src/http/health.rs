//! Liveness and readiness probes.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bikriagent::db::{self, Readiness};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is alive and serving.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers and every migration this binary knows is applied.
async fn readyz(State(state): State<AppState>) -> Response {
    match db::readiness(&state.pool).await {
        Readiness::Ready => (StatusCode::OK, "ready").into_response(),
        Readiness::Unreachable => {
            tracing::warn!("readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
        Readiness::MigrationsBehind { applied, expected } => {
            tracing::warn!(?applied, expected, "readiness: migrations behind");
            (StatusCode::SERVICE_UNAVAILABLE, "database migrations are not current").into_response()
        }
    }
}
