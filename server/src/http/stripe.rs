//! Stripe's webhook endpoint: card payments verify owners.
//!
//! `POST /webhooks/stripe`, no session, the webhook body limit. Answers:
//! - 404 when `STRIPE_WEBHOOK_SECRET` is unset (Stripe is off);
//! - 400 when `Stripe-Signature` does not verify over the raw body (checked
//!   before anything is parsed; logged and audited at most every 10 s);
//! - 400 when a signed body is not an event we can read (not recorded, so
//!   Stripe's retries reach a fixed deployment);
//! - 200 for an event already handled (Stripe delivers at least once), for
//!   event types we ignore, for a paid session recorded with
//!   [`bikriagent::owners::record_payment`], and for a paid session we cannot
//!   match to an owner (warned and audited for staff: retrying would not help);
//! - 503 when the database is unavailable, so Stripe retries.
//!
//! Each event acts once: an id already in `stripe_events` is answered 200
//! with nothing done; otherwise the event is acted on first and its id
//! recorded after (`insert … on conflict do nothing`), so a failure in
//! between leaves nothing that would make Stripe's retry skip it. The payment
//! itself is idempotent by its unique `stripe_event_id`, and an unmatched
//! payment is flagged in the transaction that records the id, so duplicates
//! delivered at the same moment still act once. The payload and the secret
//! are never logged.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bikriagent::audit::{self, AuditKind, RequestMeta};
use bikriagent::owners::{self, OwnerError, Payment};
use bikriagent::stripe::{self as stripe_events, CheckoutCompleted, Event};
use secrecy::ExposeSecret as _;
use serde_json::json;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/stripe", post(receive))
}

/// Unix second of the last logged signature failure: forged deliveries must
/// not be able to flood the logs or the audit table.
static LAST_SIGNATURE_LOG: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// True at most once every 10 seconds.
fn may_log_signature_failure(now: i64) -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    let last = LAST_SIGNATURE_LOG.load(Relaxed);
    now - last >= 10 && LAST_SIGNATURE_LOG.compare_exchange(last, now, Relaxed, Relaxed).is_ok()
}

/// What became of a verified event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Handled before: nothing done.
    Replayed,
    /// Not an event we act on.
    Ignored,
    /// The payment was recorded and the owner verified.
    Recorded,
    /// The payment was already recorded under this event id.
    AlreadyRecorded,
    /// A paid session staff must match by hand.
    Unmatched,
}

#[tracing::instrument(name = "stripe_webhook", skip_all)]
async fn receive(State(state): State<AppState>, request: Request) -> Response {
    let Some(stripe) = state.config.stripe.as_ref() else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let meta = super::identity::client_meta(&request, state.config.trust_proxy);
    let (parts, body) = request.into_parts();
    let Ok(body): Result<Bytes, _> = axum::body::to_bytes(body, super::WEBHOOK_BODY_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "too large").into_response();
    };
    let now = state.services.clock.now();
    let verified = match parts.headers.get("stripe-signature") {
        None => Err(stripe_events::SignatureError::Missing),
        Some(value) => match value.to_str() {
            Ok(header) => stripe_events::verify_signature(
                header,
                &body,
                stripe.webhook_secret.expose_secret().as_bytes(),
                now,
                stripe_events::TOLERANCE,
            ),
            Err(_) => Err(stripe_events::SignatureError::Malformed),
        },
    };
    if let Err(error) = verified {
        if may_log_signature_failure(now.unix_timestamp()) {
            tracing::warn!(security_event = "stripe_signature_invalid", %error, "refused a Stripe delivery");
            let _ = audit::record(
                &state.pool,
                AuditKind::StripeSignatureInvalid,
                None,
                None,
                &meta,
                json!({ "error": error.to_string() }),
            )
            .await;
        }
        return (StatusCode::BAD_REQUEST, "invalid signature").into_response();
    }
    let event = match stripe_events::parse_event(&body) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "a signed Stripe delivery was not usable");
            return (StatusCode::BAD_REQUEST, "malformed event").into_response();
        }
    };
    match handle(&state, &event).await {
        Ok(outcome) => {
            tracing::info!(event_id = %event.id, event_type = %event.kind, ?outcome, "Stripe event handled");
            (StatusCode::OK, "ok").into_response()
        }
        Err(error) => {
            // Not recorded: Stripe must retry.
            tracing::error!(event_id = %event.id, event_type = %event.kind, %error, "could not handle a Stripe event");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}

/// Acts on a verified event once, holding one connection at a time (the
/// payment is recorded on its own transaction, so nothing here may keep a
/// second connection waiting for it).
async fn handle(state: &AppState, event: &Event) -> Result<Outcome, sqlx::Error> {
    let seen: bool = sqlx::query_scalar("select exists(select 1 from stripe_events where id = $1)")
        .bind(&event.id)
        .fetch_one(&state.pool)
        .await?;
    if seen {
        return Ok(Outcome::Replayed);
    }
    let Some(checkout) = &event.checkout else {
        mark_seen(&state.pool, event).await?;
        return Ok(Outcome::Ignored);
    };
    let Some(owner) = checkout.owner else {
        return unmatched(
            state,
            event,
            checkout,
            "the session has no owner id (client_reference_id)",
        )
        .await;
    };
    let payment = Payment {
        amount_minor: checkout.amount_minor,
        currency: &checkout.currency,
        method: "stripe",
        reference: &checkout.session_id,
        stripe_event_id: Some(&event.id),
    };
    // Idempotent by itself (unique stripe_event_id): a duplicate delivered
    // meanwhile, or Stripe's retry after a failure below, finds its row.
    let outcome = match owners::record_payment(
        &state.pool,
        &state.services.accounts.keys,
        owner,
        &payment,
        None,
        &RequestMeta::default(),
    )
    .await
    {
        Ok(true) => Outcome::Recorded,
        Ok(false) => Outcome::AlreadyRecorded,
        Err(OwnerError::NotFound) => return unmatched(state, event, checkout, "no owner has this id").await,
        Err(OwnerError::Invalid(message) | OwnerError::Refused(message)) => {
            return unmatched(state, event, checkout, &message).await;
        }
        Err(OwnerError::Database(error)) => return Err(error),
    };
    mark_seen(&state.pool, event).await?;
    Ok(outcome)
}

/// Records the event as handled; false when it already was.
async fn mark_seen<'e>(executor: impl sqlx::PgExecutor<'e>, event: &Event) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query("insert into stripe_events (id, type) values ($1, $2) on conflict do nothing")
        .bind(&event.id)
        .bind(&event.kind)
        .execute(executor)
        .await?
        .rows_affected();
    Ok(inserted == 1)
}

/// A paid session we cannot attach to an owner: Stripe has the money, staff
/// must find the owner (the session id leads to it in Stripe's dashboard).
/// Flagged in the same transaction that marks the event seen, so once only.
async fn unmatched(
    state: &AppState,
    event: &Event,
    checkout: &CheckoutCompleted,
    reason: &str,
) -> Result<Outcome, sqlx::Error> {
    let mut tx = bikriagent::db::begin(&state.pool).await?;
    if !mark_seen(&mut *tx, event).await? {
        return Ok(Outcome::Replayed);
    }
    tracing::warn!(
        security_event = "stripe_payment_unmatched",
        event_id = %event.id,
        session_id = %checkout.session_id,
        reason,
        "a Stripe payment matches no owner; staff must record it by hand"
    );
    audit::record(
        &mut *tx,
        AuditKind::StripePaymentUnmatched,
        None,
        None,
        &RequestMeta::default(),
        json!({
            "event_id": event.id,
            "session_id": checkout.session_id,
            "client_reference_id": checkout.owner,
            "amount_minor": checkout.amount_minor,
            "currency": checkout.currency,
            "reason": reason,
        }),
    )
    .await?;
    bikriagent::db::commit(tx).await?;
    Ok(Outcome::Unmatched)
}
