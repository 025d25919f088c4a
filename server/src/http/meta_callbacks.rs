//! Meta's Deauthorize and Data Deletion Request callbacks.
//!
//! Both POST a form field `signed_request`, verified with the app secret
//! before anything else. Deauthorize disconnects everything that Meta user
//! granted; a deletion request is recorded, queued, and answered with the
//! status page URL and a confirmation code, as Meta expects.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use bikriagent::channels;
use bikriagent::meta::signature::{SignedRequest, verify_signed_request};
use secrecy::ExposeSecret as _;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/meta/deauthorize", post(deauthorize))
        .route("/webhooks/meta/data-deletion", post(data_deletion))
}

/// The verified request, or `None` (already logged) when it must be refused.
fn verify(state: &AppState, form: &HashMap<String, String>) -> Option<SignedRequest> {
    let now = state.services.clock.now().unix_timestamp();
    let raw = form.get("signed_request").map(String::as_str).unwrap_or("");
    verify_signed_request(state.config.meta_app_secret.expose_secret().as_bytes(), raw, now)
        .inspect_err(|error| {
            tracing::warn!(security_event = "meta_signed_request_refused", %error, "refused a Meta callback");
        })
        .ok()
}

fn refused() -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": "invalid signed_request" })),
    )
        .into_response()
}

async fn deauthorize(State(state): State<AppState>, Form(form): Form<HashMap<String, String>>) -> Response {
    let Some(request) = verify(&state, &form) else {
        return refused();
    };
    match channels::deauthorize(&state.pool, &state.services.accounts.keys, &request.user_id).await {
        Ok(count) => {
            tracing::info!(channels = count, "Meta deauthorized our app for a user");
            (StatusCode::OK, Json(serde_json::json!({ "success": true }))).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "deauthorize failed");
            // 5xx so Meta retries.
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn data_deletion(State(state): State<AppState>, Form(form): Form<HashMap<String, String>>) -> Response {
    let Some(request) = verify(&state, &form) else {
        return refused();
    };
    match channels::request_deletion(&state.pool, &request.user_id).await {
        Ok(code) => Json(serde_json::json!({
            "url": format!("{}/meta/deletion-status?code={code}", state.config.public_url),
            "confirmation_code": code,
        }))
        .into_response(),
        Err(error) => {
            tracing::error!(%error, "could not record a deletion request");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
