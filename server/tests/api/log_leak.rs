//! What the logs of a whole journey hold: signup, email verification,
//! login, connecting channels through the fake Meta, a signed webhook
//! delivery and the agent's reply, logged by the binary's own JSON
//! subscriber at debug level for our crates. No password, token, cookie,
//! secret, message text, email address or phone number may appear.
//!
//! The subscriber is installed globally: the app runs on the runtime's
//! worker threads, which a thread-local default would not reach. nextest
//! runs each test in its own process, so this test's subscriber sees only
//! this test's app.

use std::time::Duration;

use bikriagent::meta::signature::hub_signature;
use bikriagent_server::telemetry;
use tracing_subscriber::EnvFilter;

use crate::helpers::{CapturedLogs, PUBLIC_URL, TestApp, app_with_fake_meta, csrf_token, link_token, location};
use crate::pipeline::messenger;

const EMAIL: &str = "rahima.khatun@example.com";
const PASSWORD: &str = "saffron-Tiger-lantern-8264";
const OWNER_PHONE: &str = "01711-234567";
const CUSTOMER_TEXT: &str = "white panjabi price koto? amar number 01812-345678";

/// The `bikri_session` cookie values a response sets.
fn session_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.strip_prefix("bikri_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Start → the fake Meta's dialog (auto-approve) → our callback → connect every offered channel.
/// Returns the OAuth code seen in the callback.
async fn connect_through_meta(app: &TestApp) -> String {
    let start = app.get("/oauth/meta/start").await;
    assert_eq!(start.status(), 302);
    let outside = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let approved = outside
        .get(format!("{}&auto=1", location(&start)))
        .send()
        .await
        .unwrap();
    let callback = location(&approved).trim_start_matches(PUBLIC_URL).to_owned();
    let code = callback
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("code="))
        .expect("an OAuth code")
        .to_owned();
    let picker = location(&app.get(&callback).await);
    assert!(picker.starts_with("/channels/connect?pending="), "{picker}");
    let html = app.page(&picker).await;
    let mut form = vec![
        ("csrf_token".to_owned(), csrf_token(&html).unwrap()),
        (
            "pending".to_owned(),
            picker.trim_start_matches("/channels/connect?pending=").to_owned(),
        ),
    ];
    let mut rest = html.as_str();
    while let Some(i) = rest.find(r#"name="choice" value=""#) {
        rest = &rest[i + r#"name="choice" value=""#.len()..];
        form.push(("choice".to_owned(), rest[..rest.find('"').unwrap()].to_owned()));
    }
    let connected = app
        .client
        .post(app.url("/api/connect_channels"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&connected), "/channels");
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_journey_logs_no_secret_body_or_contact_detail() {
    let captured = CapturedLogs::install(EnvFilter::new(format!(
        "{},bikriagent=debug,bikriagent_server=debug,bikriagent_app=debug",
        telemetry::DEFAULT_FILTER
    )));

    let (app, fake) = app_with_fake_meta().await;
    let mut cookies = Vec::new();

    // Signup (password, email, phone), then the emailed link.
    let signup = app
        .submit(
            "/signup",
            "/api/signup",
            &[
                ("name", "Rahima Khatun"),
                ("email", EMAIL),
                ("phone", OWNER_PHONE),
                ("business_name", "Rahima Fashion House"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&signup), "/login");
    cookies.extend(session_cookies(&signup));
    let mut verify_mail = None;
    for _ in 0..100 {
        verify_mail = app.last_mail(EMAIL, "verify_email").await;
        if verify_mail.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, body) = verify_mail.expect("the verification mail");
    let verify_token = link_token(&body);
    let verified = app
        .submit(
            &format!("/verify-email?token={verify_token}"),
            "/api/verify_email",
            &[("token", &verify_token)],
        )
        .await;
    assert_eq!(verified.status(), 302);
    // Staff verify the payment.
    sqlx::query("update accounts set payment_verified_at = now() where email = $1")
        .bind(EMAIL)
        .execute(&app.db.admin_pool().await)
        .await
        .unwrap();

    // A wrong password first, then the right one.
    app.submit(
        "/login",
        "/api/login",
        &[("email", EMAIL), ("password", "wrong-Password-1111")],
    )
    .await;
    let login = app
        .submit("/login", "/api/login", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    assert_eq!(location(&login), "/dashboard");
    cookies.extend(session_cookies(&login));
    assert!(!cookies.is_empty(), "the session cookie was seen");

    let oauth_code = connect_through_meta(&app).await;

    // A product to ask about, and a signed delivery from a customer.
    let owner: uuid::Uuid = sqlx::query_scalar("select id from accounts where email = $1")
        .bind(EMAIL)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    bikriagent::catalog::store::create_product(
        &app.pool,
        bikriagent::tenancy::OwnerId::from_verified(owner),
        &bikriagent::catalog::store::ProductInput {
            sku: "PANJABI-1".into(),
            name: "White Panjabi".into(),
            price: "2200".into(),
            stock: "5".into(),
            active: true,
            ..bikriagent::catalog::store::ProductInput::default()
        },
    )
    .await
    .unwrap();
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let body = messenger("m_leak", "5551234", CUSTOMER_TEXT, now_ms);
    let delivered = app
        .client
        .post(app.url("/webhooks/meta"))
        .header("x-hub-signature-256", hub_signature(b"test-app-secret", &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), 200);
    let mut sent = Vec::new();
    for _ in 0..200 {
        sent = fake.sent();
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sent.len(), 1, "the agent replied");
    let reply = sent[0]
        .body
        .pointer("/message/text")
        .and_then(|t| t.as_str())
        .unwrap_or_default()
        .to_owned();
    // The owner reads the conversation.
    let inbox = app.page("/inbox").await;
    assert!(inbox.contains("Customer"), "{inbox}");

    // Let the last lines (the send's job, the mail job) be written.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Text that is not ours to choose (an SMTP server's refusal, say) is
    // masked on its way out by the writer the binary uses.
    tracing::warn!(error = %format!("550 <{EMAIL}> rejected, call {OWNER_PHONE}"), "third-party error");
    let logs = captured.text();
    let refusal = logs
        .lines()
        .find(|l| l.contains("third-party error"))
        .expect("the test's own line");
    assert!(
        refusal.contains("550 <r***@example.com> rejected, call +880*******567"),
        "{refusal}"
    );

    // The capture works and holds the journey, one JSON object per line.
    for expected in ["webhook delivery stored", "request finished", "security event"] {
        assert!(logs.contains(expected), "{expected:?} was logged:\n{logs}");
    }
    for line in logs.lines() {
        let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(parsed.get("level").is_some(), "{line}");
    }

    let data_key = app
        .env
        .iter()
        .find(|(k, _)| k == "BIKRI_DATA_KEY")
        .map(|(_, v)| v.clone())
        .unwrap();
    let lowercase = logs.to_lowercase();
    let mut forbidden: Vec<(&str, String)> = vec![
        ("the password", PASSWORD.to_owned()),
        ("any Meta token", "EAAGfake".to_owned()),
        ("the app secret", "test-app-secret".to_owned()),
        ("the verify token", "test-verify-token".to_owned()),
        ("the data key", data_key),
        ("the email verification token", verify_token.clone()),
        ("the OAuth code", oauth_code),
        ("the customer's message", CUSTOMER_TEXT.to_owned()),
        ("part of the customer's message", "panjabi price koto".to_owned()),
        ("the email address", EMAIL.to_owned()),
        ("the email's local part", "rahima.khatun@".to_owned()),
        ("the owner's phone", OWNER_PHONE.to_owned()),
        ("the owner's phone", "01711234567".to_owned()),
        ("the owner's phone", "8801711234567".to_owned()),
        ("the customer's phone", "01812-345678".to_owned()),
        ("the customer's phone", "01812345678".to_owned()),
        ("the customer's phone", "8801812345678".to_owned()),
    ];
    if reply.len() >= 12 {
        forbidden.push(("the reply", reply.clone()));
    }
    for cookie in &cookies {
        forbidden.push(("the session cookie", cookie.clone()));
    }
    for (what, value) in &forbidden {
        assert!(
            !lowercase.contains(&value.to_lowercase()),
            "{what} ({value}) appears in the logs:\n{}",
            logs.lines()
                .filter(|l| l.to_lowercase().contains(&value.to_lowercase()))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
