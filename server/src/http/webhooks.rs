//! Meta's webhook endpoint.
//!
//! GET: Meta verifies the callback URL with `hub.mode=subscribe`,
//! `hub.verify_token` and `hub.challenge`; we echo the challenge only when
//! the token matches ours, compared in constant time.
//!
//! POST: the raw body's `X-Hub-Signature-256` is checked in constant time
//! before anything is parsed (401 and nothing stored otherwise); messages
//! are stored durably and idempotently before the 200; malformed JSON with a
//! valid signature is kept for inspection and answered 400; if the database
//! is down the answer is 503 so Meta retries. The ack never waits for
//! classification or sending: a job does that.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bikriagent::metrics::{METRICS, WebhookOutcome};
use secrecy::ExposeSecret as _;
use subtle::ConstantTimeEq as _;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/meta", get(verify_subscription).post(receive))
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

/// Unix second of the last logged signature failure: attackers must not be
/// able to flood the logs or the audit table.
static LAST_SIGNATURE_LOG: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    let secret = state.config.meta_app_secret.expose_secret().as_bytes();
    if let Err(error) = bikriagent::meta::signature::verify_hub_signature(secret, &body, signature) {
        METRICS.webhook(WebhookOutcome::BadSignature, 1);
        let now = state.services.clock.now().unix_timestamp();
        let last = LAST_SIGNATURE_LOG.load(std::sync::atomic::Ordering::Relaxed);
        if now - last >= 10
            && LAST_SIGNATURE_LOG
                .compare_exchange(
                    last,
                    now,
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_ok()
        {
            tracing::warn!(security_event = "webhook_signature_refused", %error, "refused a webhook delivery");
            let _ = bikriagent::audit::record(
                &state.pool,
                bikriagent::audit::AuditKind::WebhookSignatureRefused,
                None,
                None,
                &bikriagent::audit::RequestMeta::default(),
                serde_json::json!({ "error": error.to_string() }),
            )
            .await;
        }
        return (StatusCode::UNAUTHORIZED, "invalid signature").into_response();
    }
    let keys = &state.services.accounts.keys;
    let delivery = match bikriagent::meta::webhook::parse(&body) {
        Ok(delivery) => delivery,
        Err(error) => {
            let kept = match state.pool.acquire().await {
                Ok(mut conn) => bikriagent::ingest::keep_for_inspection(&mut conn, keys, &error.to_string(), &body)
                    .await
                    .is_ok(),
                Err(_) => false,
            };
            if !kept {
                METRICS.webhook(WebhookOutcome::Unavailable, 1);
                return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
            }
            METRICS.webhook(WebhookOutcome::Malformed, 1);
            tracing::warn!(%error, "a signed delivery was not usable; kept for inspection");
            return (StatusCode::BAD_REQUEST, "malformed delivery").into_response();
        }
    };
    let stored = state
        .ingest
        .store(&state.pool, keys, &delivery, &body, &state.config.meta_app_id)
        .await;
    match stored {
        Ok(outcome) => {
            METRICS.webhook(WebhookOutcome::Stored, outcome.stored);
            METRICS.webhook(WebhookOutcome::Duplicate, outcome.duplicates);
            METRICS.webhook(WebhookOutcome::Ignored, outcome.ignored);
            METRICS.webhook(WebhookOutcome::Unknown, outcome.unknown);
            // Debug: the access log already has a line per delivery, and the
            // counts are metrics; a second info line per delivery cost a
            // tenth of ingest throughput (BENCHMARKS.md).
            tracing::debug!(
                object = %delivery.object,
                stored = outcome.stored,
                duplicates = outcome.duplicates,
                ignored = outcome.ignored,
                unknown = outcome.unknown,
                "webhook delivery stored"
            );
            (StatusCode::OK, "EVENT_RECEIVED").into_response()
        }
        Err(error) => {
            // Not stored: Meta must retry.
            METRICS.webhook(WebhookOutcome::Unavailable, 1);
            tracing::error!(%error, "could not store a webhook delivery");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}
