//! Stripe webhooks over HTTP: the signature table, owners verified by a paid
//! Checkout Session, replays acting once, unmatched payments flagged for
//! staff, other events ignored, 404 when Stripe is off, 503 when the
//! database is down.

use std::time::Duration;

use bikriagent::stripe::sign;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const SECRET: &str = "whsec_test_secret";

async fn stripe_app() -> TestApp {
    spawn_app_with(|env| {
        env.push(("STRIPE_WEBHOOK_SECRET".into(), SECRET.into()));
        env.push(("STRIPE_PAYMENT_LINK".into(), "https://buy.stripe.com/test_abc".into()));
    })
    .await
}

/// An owner with a verified email, in trial.
async fn owner(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar(
        "insert into accounts (email, name, password_hash, status, email_verified_at) \
         values ($1, 'Rahima', 'x', 'active', now()) returning id",
    )
    .bind(email)
    .fetch_one(&app.db.admin_pool().await)
    .await
    .unwrap()
}

/// A `checkout.session.completed` event as Stripe sends it (trimmed).
fn checkout_event(event_id: &str, reference: serde_json::Value, payment_status: &str) -> Vec<u8> {
    json!({
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_770_000_000,
        "livemode": false,
        "type": "checkout.session.completed",
        "data": { "object": {
            "id": format!("cs_test_{}", event_id.trim_start_matches("evt_")),
            "object": "checkout.session",
            "amount_total": 150_000,
            "currency": "bdt",
            "client_reference_id": reference,
            "customer_details": { "email": "owner@example.com" },
            "mode": "payment",
            "payment_status": payment_status,
            "status": "complete"
        } }
    })
    .to_string()
    .into_bytes()
}

fn now(app: &TestApp) -> i64 {
    app.clock_now() as i64
}

async fn deliver(app: &TestApp, body: &[u8], signature: Option<String>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/webhooks/stripe"))
        .header("content-type", "application/json; charset=utf-8")
        .header("user-agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    request.send().await.unwrap()
}

/// Delivers `body` signed now with our secret.
async fn deliver_signed(app: &TestApp, body: &[u8]) -> reqwest::Response {
    deliver(app, body, Some(sign(SECRET.as_bytes(), now(app), body))).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap()
}

async fn verified(app: &TestApp, owner: Uuid) -> bool {
    sqlx::query_scalar("select payment_verified_at is not null from accounts where id = $1")
        .bind(owner)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap()
}

async fn events(app: &TestApp, kind: &str) -> i64 {
    sqlx::query_scalar("select count(*) from security_events where kind = $1::audit_kind")
        .bind(kind)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_checkout_verifies_the_owner() {
    let app = stripe_app().await;
    let email = "rahima@example.com";
    let id = owner(&app, email).await;
    assert!(!verified(&app, id).await);
    let body = checkout_event("evt_paid1", json!(id.to_string()), "paid");
    let response = deliver_signed(&app, &body).await;
    assert_eq!(response.status(), 200);
    assert!(verified(&app, id).await, "the owner is verified");
    let (amount, currency, method, reference, recorded_by, event): (i64, String, String, String, Option<Uuid>, String) =
        sqlx::query_as(
            "select amount_minor, currency, method, reference, recorded_by, stripe_event_id from payments \
              where account_id = $1",
        )
        .bind(id)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(
        (
            amount,
            currency.as_str(),
            method.as_str(),
            reference.as_str(),
            recorded_by,
            event.as_str()
        ),
        (150_000, "BDT", "stripe", "cs_test_paid1", None, "evt_paid1")
    );
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from security_events where kind = 'payment_verified' and account_id = $1 \
            and detail->>'method' = 'stripe'",
    )
    .bind(id)
    .fetch_one(&app.db.admin_pool().await)
    .await
    .unwrap();
    assert_eq!(audited, 1, "a payment_verified security event");
    let (subject, _) = app
        .last_mail(email, "payment_verified")
        .await
        .expect("a mail to the owner");
    assert!(subject.contains("verified"), "{subject}");
    assert_eq!(
        count(
            &app,
            "select count(*) from stripe_events where id = 'evt_paid1' and type = 'checkout.session.completed'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signature_table_over_http() {
    let app = stripe_app().await;
    let id = owner(&app, "table@example.com").await;
    let body = checkout_event("evt_table", json!(id.to_string()), "paid");
    let t = now(&app);
    let secret = SECRET.as_bytes();
    let good_v1 = |t: i64| sign(secret, t, &body).split_once(",v1=").unwrap().1.to_owned();
    let wrong_v1 = sign(b"whsec_other", t, &body).split_once(",v1=").unwrap().1.to_owned();
    let refused: Vec<(&str, Option<String>)> = vec![
        ("expired (6 minutes old)", Some(sign(secret, t - 360, &body))),
        ("just past the tolerance", Some(sign(secret, t - 310, &body))),
        ("from the future", Some(sign(secret, t + 360, &body))),
        ("wrong secret", Some(sign(b"whsec_other", t, &body))),
        ("signature of another body", Some(sign(secret, t, b"{}"))),
        ("missing header", None),
        ("empty header", Some(String::new())),
        ("garbled header", Some("garbage".into())),
        ("no timestamp", Some(format!("v1={}", good_v1(t)))),
        ("v0 only", Some(format!("t={t},v0={}", good_v1(t)))),
        ("timestamp changed", Some(format!("t={},v1={}", t - 1, good_v1(t)))),
    ];
    for (what, header) in refused {
        assert_eq!(deliver(&app, &body, header).await.status(), 400, "{what}");
    }
    assert!(!verified(&app, id).await, "nothing recorded");
    assert_eq!(count(&app, "select count(*) from payments").await, 0);
    assert_eq!(count(&app, "select count(*) from stripe_events").await, 0);
    assert_eq!(
        events(&app, "stripe_signature_invalid").await,
        1,
        "audited, but rate-limited: a flood leaves one row"
    );
    assert_eq!(events(&app, "payment_verified").await, 0);

    // Within the tolerance, and several v1 signatures where the second is right
    // (Stripe signs with every active secret while one is rolled).
    let rotated = format!("t={},v1={wrong_v1},v1={},v0=ignored", t - 240, good_v1(t - 240));
    assert_eq!(deliver(&app, &body, Some(rotated)).await.status(), 200);
    assert!(verified(&app, id).await);
    assert_eq!(count(&app, "select count(*) from payments").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_event_acts_once() {
    let app = stripe_app().await;
    let email = "replay@example.com";
    let id = owner(&app, email).await;
    let body = checkout_event("evt_replay", json!(id.to_string()), "paid");
    for attempt in 0..2 {
        assert_eq!(deliver_signed(&app, &body).await.status(), 200, "attempt {attempt}");
    }
    // Concurrent duplicates too.
    let (a, b) = tokio::join!(deliver_signed(&app, &body), deliver_signed(&app, &body));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    assert_eq!(count(&app, "select count(*) from payments").await, 1, "one payment row");
    assert_eq!(count(&app, "select count(*) from stripe_events").await, 1);
    assert_eq!(events(&app, "payment_verified").await, 1);
    let mails: i64 = sqlx::query_scalar("select count(*) from mail_outbox where kind = 'payment_verified'")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(mails, 1, "one mail");

    // A second, different payment of a verified owner is recorded but mails nothing new.
    let again = checkout_event("evt_second", json!(id.to_string()), "paid");
    assert_eq!(deliver_signed(&app, &again).await.status(), 200);
    assert_eq!(count(&app, "select count(*) from payments").await, 2);
    assert!(app.last_mail(email, "payment_verified").await.is_some());
    let mails: i64 = sqlx::query_scalar("select count(*) from mail_outbox where kind = 'payment_verified'")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(mails, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_for_no_known_owner_is_acknowledged_and_flagged() {
    let app = stripe_app().await;
    let bystander = owner(&app, "bystander@example.com").await;
    let cases = [
        ("evt_unknown", json!(Uuid::new_v4().to_string())),
        ("evt_noref", serde_json::Value::Null),
        ("evt_badref", json!("shop-42")),
    ];
    for (event, reference) in cases {
        let body = checkout_event(event, reference, "paid");
        // 200: Stripe must not retry forever; staff see the security event.
        assert_eq!(deliver_signed(&app, &body).await.status(), 200, "{event}");
        // Replayed: still flagged once.
        assert_eq!(deliver_signed(&app, &body).await.status(), 200, "{event}");
    }
    assert_eq!(count(&app, "select count(*) from payments").await, 0);
    assert!(!verified(&app, bystander).await);
    assert_eq!(events(&app, "stripe_payment_unmatched").await, 3);
    let detail: serde_json::Value = sqlx::query_scalar(
        "select detail from security_events where kind = 'stripe_payment_unmatched' \
            and detail->>'event_id' = 'evt_unknown'",
    )
    .fetch_one(&app.db.admin_pool().await)
    .await
    .unwrap();
    assert_eq!(detail["session_id"], "cs_test_unknown");
    assert_eq!(detail["amount_minor"], 150_000);
    assert_eq!(detail["currency"], "BDT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_events_are_acknowledged_and_malformed_ones_refused() {
    let app = stripe_app().await;
    let id = owner(&app, "other@example.com").await;
    let unpaid = checkout_event("evt_unpaid", json!(id.to_string()), "unpaid");
    let invoice = json!({ "id": "evt_invoice", "type": "invoice.paid", "data": { "object": { "id": "in_1" } } })
        .to_string()
        .into_bytes();
    for body in [&unpaid, &invoice] {
        assert_eq!(deliver_signed(&app, body).await.status(), 200);
    }
    assert!(!verified(&app, id).await);
    assert_eq!(count(&app, "select count(*) from payments").await, 0);
    assert_eq!(
        count(&app, "select count(*) from stripe_events").await,
        2,
        "seen, so replays stop early"
    );

    let malformed = br#"{"id":"evt_broken","type":"checkout.session.completed","data":{"object":{"id":"cs_1","payment_status":"paid"}}}"#;
    assert_eq!(deliver_signed(&app, malformed).await.status(), 400);
    assert_eq!(deliver_signed(&app, b"not json").await.status(), 400);
    assert_eq!(
        count(&app, "select count(*) from stripe_events").await,
        2,
        "not recorded: a fixed deployment handles Stripe's retry"
    );

    let huge = vec![b' '; 1024 * 1024 + 1];
    assert_eq!(deliver_signed(&app, &huge).await.status(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_webhook_secret_there_is_no_stripe_endpoint() {
    let app = spawn_app().await;
    let body = checkout_event("evt_off", json!(Uuid::new_v4().to_string()), "paid");
    assert_eq!(deliver_signed(&app, &body).await.status(), 404);
    assert_eq!(count(&app, "select count(*) from stripe_events").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_so_stripe_retries() {
    let app = stripe_app().await;
    let id = owner(&app, "outage@example.com").await;
    let admin = sqlx::PgPool::connect(&crate::helpers::server_url()).await.unwrap();
    sqlx::query(&format!("alter database {} allow_connections false", app.db.name))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1")
        .bind(&app.db.name)
        .execute(&admin)
        .await
        .unwrap();
    let body = checkout_event("evt_outage", json!(id.to_string()), "paid");
    assert_eq!(deliver_signed(&app, &body).await.status(), 503);
    sqlx::query(&format!("alter database {} allow_connections true", app.db.name))
        .execute(&admin)
        .await
        .unwrap();
    // Stripe's retry then lands.
    let mut status = 0;
    for _ in 0..50 {
        status = deliver_signed(&app, &body).await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
    assert!(verified(&app, id).await);
    assert_eq!(count(&app, "select count(*) from payments").await, 1);
    admin.close().await;
}
