//! The staff second factor over HTTP: wrong codes (TOTP or recovery) are
//! counted and the fifth locks it for 15 minutes (the right code is refused
//! meanwhile, and the staff member is mailed), and every code works once.

use bikriagent::auth::accounts::Role;
use bikriagent::auth::totp::{TotpSecret, code_at};
use time::Duration;

use crate::helpers::{OWNER_PASSWORD, TestApp, browser, csrf_token, location, spawn_app, staff_client_with_secret};

const EMAIL: &str = "sadia@bikriagent.example";

/// A new browser that passed the password only: it stands at `/staff/totp`.
async fn password_only(app: &TestApp) -> reqwest::Client {
    let client = browser();
    let html = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    let response = client
        .post(app.url("/api/login"))
        .header("x-forwarded-for", "192.0.2.77")
        .form(&[("email", EMAIL), ("password", OWNER_PASSWORD), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/staff");
    let gate = client.get(app.url("/staff")).send().await.unwrap();
    assert_eq!(location(&gate), "/staff/totp", "the second factor is still to come");
    client
}

/// Posts `code` to the second-factor form; returns where it redirected and
/// the page the browser lands on.
async fn enter(app: &TestApp, client: &reqwest::Client, code: &str) -> (String, String) {
    let html = client
        .get(app.url("/staff/totp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    let response = client
        .post(app.url("/api/totp_verify"))
        .form(&[("code", code), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    let to = location(&response);
    let page = client.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    (to, page)
}

/// A six-digit code that is none of the three the server accepts now.
fn wrong_code(secret: &TotpSecret, now: u64) -> String {
    let window = [now - 30, now, now + 30].map(|t| code_at(secret, t));
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !window.contains(c))
        .unwrap()
}

/// The recovery codes shown once on the console after enrolment.
async fn recovery_codes(app: &TestApp, client: &reqwest::Client) -> Vec<String> {
    let html = client
        .get(app.url("/staff"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = html.find(r#"<pre id="recovery-codes">"#).expect("codes shown") + r#"<pre id="recovery-codes">"#.len();
    let end = html[start..].find("</pre>").unwrap() + start;
    html[start..end].split_whitespace().map(str::to_owned).collect()
}

async fn scalar<T>(app: &TestApp, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .bind(EMAIL)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_codes_lock_the_second_factor_for_fifteen_minutes_and_mail_an_alert() {
    let app = spawn_app().await;
    let (enrolled, _, secret) = staff_client_with_secret(&app, EMAIL, Role::Staff).await;
    let recovery = recovery_codes(&app, &enrolled).await;
    assert_eq!(recovery.len(), 10);
    let client = password_only(&app).await;

    // Three wrong TOTP codes and two wrong recovery codes: five wrong codes.
    let wrong = wrong_code(&secret, app.clock_now());
    for (n, code) in [
        wrong.as_str(),
        wrong.as_str(),
        wrong.as_str(),
        "abcd-efgh-jkmn",
        "wxyz-wxyz-wxyz",
    ]
    .into_iter()
    .enumerate()
    {
        let (to, page) = enter(&app, &client, code).await;
        assert_eq!(to, "/staff/totp", "wrong code {n} is refused");
        if n < 4 {
            assert!(page.contains("That code is not right."), "{page}");
        }
    }
    let failures: i64 = scalar(
        &app,
        "select count(*) from security_events e join accounts a on a.id = e.account_id \
          where a.email = $1 and e.kind = 'second_factor_failed'",
    )
    .await;
    assert_eq!(failures, 5, "every wrong code is audited");

    // Locked: the right code (of the next step, never used) is refused, and
    // says when to try again.
    let right = code_at(&secret, app.clock_now() + 30);
    let (to, page) = enter(&app, &client, &right).await;
    assert_eq!(to, "/staff/totp");
    assert!(
        page.contains("Too many wrong codes: two-step verification is locked. Try again in 15 minutes"),
        "{page}"
    );
    assert_eq!(
        location(&client.get(app.url("/staff")).send().await.unwrap()),
        "/staff/totp",
        "no way in while locked"
    );
    // An unused recovery code is refused too, and not used up.
    let (to, _) = enter(&app, &client, &recovery[0]).await;
    assert_eq!(to, "/staff/totp");
    let used: i64 = scalar(
        &app,
        "select count(*) from recovery_codes r join accounts a on a.id = r.account_id \
          where a.email = $1 and r.used_at is not null",
    )
    .await;
    assert_eq!(used, 0, "a code refused while locked is not used up");

    // The staff member hears of it, once.
    let (subject, body) = app
        .last_mail(EMAIL, bikriagent::alerts::SECOND_FACTOR_LOCKED)
        .await
        .expect("an alert is queued");
    assert!(subject.contains("locked"), "{subject}");
    assert!(
        body.contains("5 wrong two-step verification codes") && body.contains("IP address: 127.0.0.1"),
        "{body}"
    );
    let alerts: i64 = scalar(
        &app,
        "select count(*) from mail_outbox where lower(to_address) = $1 and kind = 'second_factor_locked'",
    )
    .await;
    assert_eq!(alerts, 1);

    // Fifteen minutes later the right code works, and so does a recovery code.
    app.clock.advance(Duration::minutes(15) + Duration::seconds(1));
    let (to, _) = enter(&app, &client, &code_at(&secret, app.clock_now())).await;
    assert_eq!(to, "/staff", "the right code works after the lock");
    assert_eq!(client.get(app.url("/staff")).send().await.unwrap().status(), 200);
    let other = password_only(&app).await;
    let (to, _) = enter(&app, &other, &recovery[0]).await;
    assert_eq!(to, "/staff", "a recovery code works after the lock");
    let failures_now: i32 = scalar(&app, "select totp_failures from accounts where email = $1").await;
    assert_eq!(failures_now, 0, "a right code clears the count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_works_once() {
    let app = spawn_app().await;
    let (enrolled, _, secret) = staff_client_with_secret(&app, EMAIL, Role::Staff).await;
    let recovery = recovery_codes(&app, &enrolled).await;
    // The enrolment used the current step: move on to a fresh one.
    app.clock.advance(Duration::seconds(60));
    let code = code_at(&secret, app.clock_now());

    let first = password_only(&app).await;
    let (to, _) = enter(&app, &first, &code).await;
    assert_eq!(to, "/staff");
    let second = password_only(&app).await;
    let (to, page) = enter(&app, &second, &code).await;
    assert_eq!(to, "/staff/totp", "the same code again is refused");
    assert!(page.contains("That code was already used"), "{page}");
    // An older code of the window is refused as well.
    let (to, _) = enter(&app, &second, &code_at(&secret, app.clock_now() - 30)).await;
    assert_eq!(to, "/staff/totp");
    assert_eq!(
        location(&second.get(app.url("/staff")).send().await.unwrap()),
        "/staff/totp"
    );

    // A recovery code works once.
    let (to, _) = enter(&app, &second, &recovery[3].to_uppercase()).await;
    assert_eq!(to, "/staff", "recovery codes are read case-insensitively");
    let third = password_only(&app).await;
    let (to, page) = enter(&app, &third, &recovery[3]).await;
    assert_eq!(to, "/staff/totp");
    assert!(page.contains("That code was already used"), "{page}");
}
