//! Leptos pages rendered on the server, with no script in the output.
//!
//! Stock leptos_axum rendering appends inline `<script>` chunks (hydration
//! data) that nothing reads without WebAssembly. [`html_only`] renders the
//! app in order, waits for its data, and returns only the HTML, so pages work
//! under `script-src 'none'` without a single CSP violation.

use std::any::Any;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt as _;
use leptos::prelude::*;
use leptos_axum::LeptosRoutes as _;
use leptos_integration_utils::{BoxedFnOnce, PinnedFuture, PinnedStream};

use super::AppState;

pub fn router() -> Router<AppState> {
    let routes = leptos_axum::generate_route_list(bikriagent_app::App);
    Router::new()
        .leptos_routes_with_handler(routes, get(render_page))
        // Only a route in the policy table renders the app: any other
        // address is a plain 404 (the guard answers it before this runs).
        .fallback(|| async { super::identity::not_found() })
}

/// Renders the Leptos app for this request, with the shared state in context.
pub async fn render_page(State(state): State<AppState>, req: Request<Body>) -> Response {
    let context = move || {
        provide_context(state.services.clone());
    };
    leptos_axum::handle_response_inner(context, bikriagent_app::shell, req, html_only).await
}

/// Renders the page and drops the hydration chunks leptos_axum would append.
fn html_only<IV>(
    app: IV,
    _hydration_chunks: BoxedFnOnce<PinnedStream<String>>,
    _supports_out_of_order: bool,
) -> PinnedFuture<PinnedStream<String>>
where
    IV: IntoView + 'static,
{
    Box::pin(async move {
        let html = app.to_html_stream_in_order().collect::<String>().await;
        Box::pin(futures::stream::once(async move { html })) as PinnedStream<String>
    })
}

fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// A friendly 404 outside the router (unknown assets).
pub fn not_found_response(status: StatusCode) -> Response {
    html_response(
        status,
        bikriagent_app::error_document(
            404,
            "We could not find that page",
            "The address may be mistyped, or the page may have moved.",
        ),
    )
}

/// A friendly 500 that names nothing internal. The panic is logged once here.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %detail, "handler panicked");
    internal_error_response()
}

/// The generic 500 page.
pub fn internal_error_response() -> Response {
    html_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        bikriagent_app::error_document(
            500,
            "Something went wrong on our side",
            "We have been told about it. Please try again in a minute; nothing you entered was lost.",
        ),
    )
}
