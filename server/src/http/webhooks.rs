//! Meta's webhook endpoint: the subscription check.
//!
//! Meta verifies a callback URL with a GET carrying `hub.mode=subscribe`,
//! `hub.verify_token` and `hub.challenge`; we echo the challenge only when
//! the token matches ours, compared in constant time.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret as _;
use subtle::ConstantTimeEq as _;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/meta", get(verify_subscription))
}

async fn verify_subscription(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    let mode_ok = params.get("hub.mode").map(String::as_str) == Some("subscribe");
    let expected = state.config.meta_verify_token.expose_secret().as_bytes();
    let token_ok = params
        .get("hub.verify_token")
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected)));
    match params.get("hub.challenge") {
        Some(challenge) if mode_ok && token_ok && challenge.len() <= 256 => {
            (StatusCode::OK, challenge.clone()).into_response()
        }
        _ => {
            tracing::warn!(
                security_event = "webhook_verify_refused",
                "refused a webhook subscription check"
            );
            (StatusCode::FORBIDDEN, "forbidden").into_response()
        }
    }
}
