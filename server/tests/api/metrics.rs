//! `/metrics`: the counters after a real delivery and reply, served on the
//! private listener, and refused on the public address to anyone but staff
//! past their second factor.
//!
//! The registry is process-wide; nextest runs each test in its own process,
//! so the values below are exactly this test's.

use std::time::Duration;

use bikriagent::auth::accounts::Role;
use bikriagent::catalog::store::{self, ProductInput};
use bikriagent::meta::signature::hub_signature;
use bikriagent::tenancy::OwnerId;
use bikriagent_server::config::Config;
use bikriagent_server::fake_meta::FakeMeta;
use bikriagent_server::startup;
use uuid::Uuid;

use crate::helpers::{TestApp, browser, csrf_token, spawn_app_with, staff_client, verified_owner};
use crate::pipeline::messenger;

/// The app with the fake Meta and a metrics listener on a random port.
async fn app_with_metrics() -> (TestApp, FakeMeta) {
    let fake = FakeMeta::spawn(0, "1234567890", "test-app-secret").await.unwrap();
    let (graph, dialog) = (fake.graph_url(), fake.dialog_url());
    let app = spawn_app_with(move |env| {
        env.push(("META_GRAPH_URL".into(), graph));
        env.push(("META_DIALOG_URL".into(), dialog));
        env.push(("BIKRI_METRICS_ADDR".into(), "127.0.0.1:0".into()));
    })
    .await;
    (app, fake)
}

/// What the private listener answers.
async fn scrape(app: &TestApp) -> String {
    let addr = app.metrics_addr.expect("BIKRI_METRICS_ADDR is set");
    let response = reqwest::get(format!("http://{addr}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// The value of one series (`name{labels}`), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Owner with a product and a connected Messenger Page.
async fn shop(app: &TestApp, fake: &FakeMeta, email: &str) -> (reqwest::Client, OwnerId) {
    let client = verified_owner(app, email).await;
    let owner: Uuid = sqlx::query_scalar("select id from accounts where email = $1")
        .bind(email)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    let owner = OwnerId::from_verified(owner);
    let config = Config::from_vars(app.env.clone()).unwrap();
    let keys = startup::data_keys(&config);
    store::create_product(
        &app.pool,
        owner,
        &ProductInput {
            sku: "PANJABI-1".into(),
            name: "White Panjabi".into(),
            price: "2200".into(),
            stock: "5".into(),
            active: true,
            ..ProductInput::default()
        },
    )
    .await
    .unwrap();
    crate::pipeline::connect_page(&app.pool, &keys, fake, owner, "Page").await;
    (client, owner)
}

async fn deliver(app: &TestApp, body: &[u8], signature: &str) -> u16 {
    app.client
        .post(app.url("/webhooks/meta"))
        .header("x-hub-signature-256", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_show_a_delivery_and_its_reply_on_the_metrics_listener() {
    let (app, fake) = app_with_metrics().await;
    let (client, _) = shop(&app, &fake, "metrics@example.com").await;
    let before = scrape(&app).await;
    assert_eq!(
        value(&before, r#"bikri_webhook_deliveries_total{outcome="stored"}"#),
        Some(0.0),
        "every series is there from the start: {before}"
    );
    assert_eq!(value(&before, r#"bikri_sends_total{outcome="sent"}"#), Some(0.0));

    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let body = messenger("m_metrics", "5551234", "white panjabi price?", now_ms);
    let signature = hub_signature(b"test-app-secret", &body);
    assert_eq!(deliver(&app, &body, &signature).await, 200);
    assert_eq!(deliver(&app, &body, &signature).await, 200, "Meta's retry");
    let forged = hub_signature(b"not-the-secret", &body);
    assert_eq!(deliver(&app, &body, &forged).await, 401);
    let signed_garbage = b"{not json".to_vec();
    let garbage_signature = hub_signature(b"test-app-secret", &signed_garbage);
    assert_eq!(deliver(&app, &signed_garbage, &garbage_signature).await, 400);

    // One wrong password.
    let login = browser();
    let html = login.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let token = csrf_token(&html).unwrap();
    login
        .post(app.url("/api/login"))
        .form(&[
            ("email", "metrics@example.com"),
            ("password", "not-the-password-1234"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();

    // The reply reaches the fake Meta; the counter follows once it is recorded.
    for _ in 0..100 {
        if value(&scrape(&app).await, r#"bikri_sends_total{outcome="sent"}"#) == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fake.sent().len(), 1, "one reply sent");

    // The owner reads the conversation: an id in the path, never in a label.
    let conversation: Uuid = sqlx::query_scalar("select id from conversations")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    let page = client
        .get(app.url(&format!("/inbox/{conversation}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let text = scrape(&app).await;
    for (series, expected) in [
        (r#"bikri_webhook_deliveries_total{outcome="stored"}"#, 1.0),
        (r#"bikri_webhook_deliveries_total{outcome="duplicate"}"#, 1.0),
        (r#"bikri_webhook_deliveries_total{outcome="ignored"}"#, 0.0),
        (r#"bikri_webhook_deliveries_total{outcome="unknown"}"#, 0.0),
        (r#"bikri_webhook_deliveries_total{outcome="bad_signature"}"#, 1.0),
        (r#"bikri_webhook_deliveries_total{outcome="malformed"}"#, 1.0),
        (r#"bikri_webhook_deliveries_total{outcome="unavailable"}"#, 0.0),
        (r#"bikri_sends_total{outcome="sent"}"#, 1.0),
        (r#"bikri_sends_total{outcome="failed"}"#, 0.0),
        (r#"bikri_sends_total{outcome="uncertain"}"#, 0.0),
        (r#"bikri_sends_blocked_total{gate="outside_24h_window"}"#, 0.0),
        (r#"bikri_messages_classified_total{category="none"}"#, 1.0),
        (r#"bikri_messages_classified_total{category="refund"}"#, 0.0),
        (r#"bikri_login_failures_total{reason="invalid_credentials"}"#, 1.0),
        (r#"bikri_rate_limit_hits_total{limit="login-ip"}"#, 0.0),
        (
            r#"bikri_http_request_duration_seconds_count{method="POST",route="/webhooks/meta"}"#,
            4.0,
        ),
        (
            r#"bikri_http_request_duration_seconds_count{method="GET",route="/inbox/{id}"}"#,
            1.0,
        ),
        ("bikri_database_up", 1.0),
    ] {
        assert_eq!(value(&text, series), Some(expected), "{series} in\n{text}");
    }
    assert!(value(&text, "bikri_job_queue_depth").is_some(), "{text}");
    assert!(value(&text, "bikri_job_queue_oldest_age_seconds").is_some(), "{text}");
    assert!(
        !text.contains(&conversation.to_string()) && !text.contains("5551234"),
        "no ids in labels: {text}"
    );

    // The private listener serves nothing but metrics.
    let addr = app.metrics_addr.unwrap();
    let other = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(other.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_address_shows_metrics_only_to_staff_past_their_second_factor() {
    let (app, _fake) = app_with_metrics().await;

    // Like every staff page: anonymous visitors are sent to the login page.
    let anonymous = browser().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 302);
    assert_eq!(anonymous.headers()["location"], "/login");
    assert!(!anonymous.text().await.unwrap().contains("bikri_"));

    let owner = verified_owner(&app, "owner@example.com").await;
    let refused = owner.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(!refused.text().await.unwrap().contains("bikri_"));

    // Staff who signed in with a password but not yet their second factor.
    let config = Config::from_vars(app.env.clone()).unwrap();
    let services = startup::services(&app.pool, &config, std::sync::Arc::new(app.clock.clone()));
    services
        .accounts
        .create_staff(
            "halfway@bikri.test",
            "Halfway Staff",
            Role::Staff,
            &secrecy::SecretString::from(crate::helpers::OWNER_PASSWORD.to_owned()),
        )
        .await
        .unwrap();
    let halfway = browser();
    let html = halfway
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    halfway
        .post(app.url("/api/login"))
        .form(&[
            ("email", "halfway@bikri.test"),
            ("password", crate::helpers::OWNER_PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    let refused = halfway.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 302, "sent to their second factor");
    assert_eq!(refused.headers()["location"], "/staff/totp");
    assert!(!refused.text().await.unwrap().contains("bikri_"));

    let (staff, _) = staff_client(&app, "ops@bikri.test", Role::Staff).await;
    let response = staff.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert_eq!(
        value(&text, r#"bikri_login_failures_total{reason="invalid_credentials"}"#),
        Some(0.0),
        "{text}"
    );
    assert!(value(&text, "bikri_job_queue_depth").is_some(), "{text}");
    // The same registry on both addresses (but for latency and the queue,
    // which move between the two requests).
    let counters = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with("bikri_http_request_duration_seconds") && !l.starts_with("bikri_job_queue"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(counters(&scrape(&app).await), counters(&text));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_hits_are_counted_by_limit() {
    let (app, _fake) = app_with_metrics().await;
    let client = browser();
    let html = client
        .get(app.url("/forgot-password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    let mut statuses = Vec::new();
    for i in 0..=bikriagent::ratelimit::RESET_PER_IP.max {
        let email = format!("nobody{i}@example.com");
        let response = client
            .post(app.url("/api/request_password_reset"))
            .header("x-forwarded-for", "198.51.100.9")
            .form(&[("email", email.as_str()), ("csrf_token", &token)])
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let text = scrape(&app).await;
    assert_eq!(
        value(&text, r#"bikri_rate_limit_hits_total{limit="reset-ip"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, r#"bikri_rate_limit_hits_total{limit="login-ip"}"#),
        Some(0.0)
    );
}
