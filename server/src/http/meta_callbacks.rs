//! Meta's Deauthorize and Data Deletion Request callbacks.
//!
//! Both POST a form field `signed_request`, verified with the app secret
//! before anything else, dated within the last hour (5 minutes of clock skew
//! allowed), and accepted once (`meta::signed_requests`). Deauthorize
//! disconnects everything that Meta user granted; a deletion request is
//! recorded, queued, and answered with the status page URL and a
//! confirmation code, as Meta expects.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use bikriagent::channels;
use bikriagent::meta::signed_requests::{CallbackError, accept_once};
use secrecy::ExposeSecret as _;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/meta/deauthorize", post(deauthorize))
        .route("/webhooks/meta/data-deletion", post(data_deletion))
}

fn signed_request(form: &HashMap<String, String>) -> &str {
    form.get("signed_request").map(String::as_str).unwrap_or("")
}

/// The answer to a callback that was not carried out.
fn failed<E: std::fmt::Display>(error: CallbackError<E>) -> Response {
    match error {
        CallbackError::Refused(_) | CallbackError::Replayed => {
            tracing::warn!(security_event = "meta_signed_request_refused", %error, "refused a Meta callback");
            (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": "invalid signed_request" })),
            )
                .into_response()
        }
        CallbackError::Database(_) | CallbackError::Work(_) => {
            tracing::error!(%error, "a Meta callback failed");
            // 5xx so Meta retries.
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn deauthorize(State(state): State<AppState>, Form(form): Form<HashMap<String, String>>) -> Response {
    let (pool, keys) = (&state.pool, &state.services.accounts.keys);
    let done = accept_once(
        &state.pool,
        state.config.meta_app_secret.expose_secret().as_bytes(),
        signed_request(&form),
        state.services.clock.now(),
        |request| async move { channels::deauthorize(pool, keys, &request.user_id).await },
    )
    .await;
    match done {
        Ok(count) => {
            tracing::info!(channels = count, "Meta deauthorized our app for a user");
            (StatusCode::OK, Json(serde_json::json!({ "success": true }))).into_response()
        }
        Err(error) => failed(error),
    }
}

async fn data_deletion(State(state): State<AppState>, Form(form): Form<HashMap<String, String>>) -> Response {
    let pool = &state.pool;
    let done = accept_once(
        &state.pool,
        state.config.meta_app_secret.expose_secret().as_bytes(),
        signed_request(&form),
        state.services.clock.now(),
        |request| async move { channels::request_deletion(pool, &request.user_id).await },
    )
    .await;
    match done {
        Ok(code) => Json(serde_json::json!({
            "url": format!("{}/meta/deletion-status?code={code}", state.config.public_url),
            "confirmation_code": code,
        }))
        .into_response(),
        Err(error) => failed(error),
    }
}
