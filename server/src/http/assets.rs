//! Embedded static files under content-hashed names, cached for a year.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bikriagent_app::assets;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/{*file}", get(serve_asset))
        .route("/favicon.ico", get(favicon))
}

async fn serve_asset(Path(file): Path<String>) -> Response {
    match assets::by_url(&format!("/assets/{file}")) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        None => super::pages::not_found_response(StatusCode::NOT_FOUND),
    }
}

/// Browsers ask for `/favicon.ico` on their own: answer with the icon.
async fn favicon() -> Response {
    match assets::by_name("favicon.svg") {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
            ],
            asset.bytes,
        )
            .into_response(),
        None => super::pages::not_found_response(StatusCode::NOT_FOUND),
    }
}
