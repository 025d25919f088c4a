//! Password reset, the account security page, staff second factor, roles.

use bikriagent::auth::access::Audience;
use bikriagent::auth::accounts::Role;
use bikriagent_server::http::policy::{Kind, ROUTES};
use secrecy::SecretString;

use crate::helpers::{TestApp, browser, csrf_token, link_token, location, spawn_app};

const PASSWORD: &str = "purple-river-lamp-9417";
const NEW_PASSWORD: &str = "quiet-harbor-stone-5531";

async fn owner(app: &TestApp, email: &str) {
    app.submit(
        "/signup",
        "/api/signup",
        &[
            ("name", "Karim Uddin"),
            ("email", email),
            ("phone", "+8801811000000"),
            ("business_name", "Karim Electronics"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ],
    )
    .await;
}

async fn login(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
    // Each login from its own address, so the per-IP login limit never
    // interferes with tests that log in many times.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ip = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
    let html = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    client
        .post(app.url("/api/login"))
        .header("x-forwarded-for", ip)
        .form(&[("email", email), ("password", password), ("csrf_token", &token)])
        .send()
        .await
        .unwrap()
}

async fn sessions_of(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("select count(*) from sessions s join accounts a on a.id = s.account_id where a.email = $1")
        .bind(email)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_is_single_use_ends_sessions_and_does_not_enumerate() {
    let app = spawn_app().await;
    owner(&app, "karim@example.com").await;
    let laptop = browser();
    assert_eq!(
        location(&login(&app, &laptop, "karim@example.com", PASSWORD).await),
        "/dashboard"
    );
    assert_eq!(sessions_of(&app, "karim@example.com").await, 1);

    let known = app
        .submit(
            "/forgot-password",
            "/api/request_password_reset",
            &[("email", "karim@example.com")],
        )
        .await;
    let known_page = app.page("/login").await;
    let unknown = app
        .submit(
            "/forgot-password",
            "/api/request_password_reset",
            &[("email", "ghost@example.com")],
        )
        .await;
    let unknown_page = app.page("/login").await;
    assert_eq!(location(&known), location(&unknown));
    assert_eq!(known_page, unknown_page, "same answer for known and unknown emails");
    assert!(known_page.contains("If that email has an account"));

    let (_, body) = app
        .last_mail("karim@example.com", "reset_password")
        .await
        .expect("reset mail");
    let token = link_token(&body);
    let page = format!("/reset-password?token={token}");
    // A weak password is refused with the token still usable.
    let weak = app
        .submit(
            &page,
            "/api/reset_password",
            &[
                ("token", &token),
                ("password", "karimuddin12345"),
                ("password_confirm", "karimuddin12345"),
            ],
        )
        .await;
    assert!(location(&weak).starts_with("/reset-password?token="));
    assert!(app.page(&page).await.contains(r#"id="password-error""#));
    let ok = app
        .submit(
            &page,
            "/api/reset_password",
            &[
                ("token", &token),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&ok), "/login");
    assert_eq!(sessions_of(&app, "karim@example.com").await, 0, "every session ended");
    let laptop_after = laptop.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(location(&laptop_after), "/login");
    // Single use.
    let again = app
        .submit(
            &page,
            "/api/reset_password",
            &[
                ("token", &token),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&again), "/forgot-password");
    assert_eq!(
        location(&login(&app, &browser(), "karim@example.com", PASSWORD).await),
        "/login"
    );
    assert_eq!(
        location(&login(&app, &browser(), "karim@example.com", NEW_PASSWORD).await),
        "/dashboard"
    );
    let events: Vec<String> = sqlx::query_scalar("select kind::text from security_events order by id")
        .fetch_all(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert!(events.contains(&"password_reset".to_owned()), "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_page_lists_and_ends_sessions() {
    let app = spawn_app().await;
    owner(&app, "karim@example.com").await;
    let phone = browser();
    login(&app, &phone, "karim@example.com", PASSWORD).await;
    login(&app, &app.client, "karim@example.com", PASSWORD).await;
    let page = app.page("/account/security").await;
    assert_eq!(
        page.matches("<tr>").count(),
        1 + 2,
        "header row and two sessions: {page}"
    );
    assert!(page.contains("This session"));

    // End the phone's session from the laptop.
    let start = page.find(r#"name="key" value=""#).unwrap() + r#"name="key" value=""#.len();
    let key = &page[start..start + 64];
    let response = app
        .submit("/account/security", "/api/revoke_session", &[("key", key)])
        .await;
    assert_eq!(location(&response), "/account/security");
    assert_eq!(
        location(&phone.get(app.url("/dashboard")).send().await.unwrap()),
        "/login"
    );
    assert_eq!(app.get("/dashboard").await.status(), 200, "this session stays");

    // Another owner's session key does nothing.
    owner(&app, "other@example.com").await;
    let other = browser();
    login(&app, &other, "other@example.com", PASSWORD).await;
    let other_key: String = sqlx::query_scalar(
        "select encode(id_hash, 'hex') from sessions s join accounts a on a.id = s.account_id where a.email = 'other@example.com'",
    )
    .fetch_one(&app.db.admin_pool().await)
    .await
    .unwrap();
    app.submit("/account/security", "/api/revoke_session", &[("key", &other_key)])
        .await;
    assert_eq!(other.get(app.url("/dashboard")).send().await.unwrap().status(), 200);

    // Log out everywhere.
    login(&app, &phone, "karim@example.com", PASSWORD).await;
    let response = app.submit("/account/security", "/api/logout_everywhere", &[]).await;
    assert_eq!(location(&response), "/login");
    assert_eq!(sessions_of(&app, "karim@example.com").await, 0);
    assert_eq!(
        location(&phone.get(app.url("/dashboard")).send().await.unwrap()),
        "/login"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    owner(&app, "karim@example.com").await;
    let phone = browser();
    login(&app, &phone, "karim@example.com", PASSWORD).await;
    login(&app, &app.client, "karim@example.com", PASSWORD).await;
    let wrong = app
        .submit(
            "/account/security",
            "/api/change_password",
            &[
                ("current_password", "not-my-password-at-all"),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&wrong), "/account/security");
    assert!(
        app.page("/account/security")
            .await
            .contains(r#"id="current_password-error""#)
    );
    app.submit(
        "/account/security",
        "/api/change_password",
        &[
            ("current_password", PASSWORD),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(app.get("/dashboard").await.status(), 200, "this session continues");
    assert_eq!(
        location(&phone.get(app.url("/dashboard")).send().await.unwrap()),
        "/login"
    );
    assert_eq!(sessions_of(&app, "karim@example.com").await, 1);
}

async fn staff(app: &TestApp, email: &str) {
    let services = bikriagent_server::startup::services(
        &app.pool,
        &bikriagent_server::config::Config::from_vars(crate::helpers::test_env(&app.db.url)).unwrap(),
        std::sync::Arc::new(app.clock.clone()),
    );
    services
        .accounts
        .create_staff(
            email,
            "Sadia Islam",
            Role::Staff,
            &SecretString::from(PASSWORD.to_owned()),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_must_enrol_totp_before_any_staff_page() {
    let app = spawn_app().await;
    staff(&app, "sadia@bikriagent.example").await;
    let response = login(&app, &app.client, "sadia@bikriagent.example", PASSWORD).await;
    assert_eq!(location(&response), "/staff");
    assert_eq!(
        location(&app.get("/staff").await),
        "/staff/totp",
        "no staff page before TOTP"
    );
    assert_eq!(location(&app.get("/account/security").await), "/staff/totp");

    let start_page = app.page("/staff/totp").await;
    assert!(!start_page.contains(r#"id="totp-secret""#), "no secret is made on GET");
    let begin = app.submit_current("/api/totp_begin", &[]).await;
    assert_eq!(location(&begin), "/staff/totp");
    let page = app.page("/staff/totp").await;
    let start = page.find(r#"id="totp-secret">"#).unwrap() + r#"id="totp-secret">"#.len();
    let secret = &page[start..start + 32];
    let secret = bikriagent::auth::totp::TotpSecret::from_base32(secret).unwrap();
    let now = app.clock_now();
    let wrong = app.submit_current("/api/totp_confirm", &[("code", "000000")]).await;
    assert_eq!(location(&wrong), "/staff/totp");
    let code = bikriagent::auth::totp::code_at(&secret, now);
    let ok = app.submit_current("/api/totp_confirm", &[("code", &code)]).await;
    assert_eq!(location(&ok), "/staff");
    let home = app.page("/staff").await;
    assert!(home.contains("Staff console"));
    assert!(home.contains(r#"id="recovery-codes""#), "recovery codes shown once");
    assert!(!app.page("/staff").await.contains(r#"id="recovery-codes""#));

    // A new login needs a code again; a replayed code is refused, a recovery code works once.
    let fresh = browser();
    login(&app, &fresh, "sadia@bikriagent.example", PASSWORD).await;
    assert_eq!(
        location(&fresh.get(app.url("/staff")).send().await.unwrap()),
        "/staff/totp"
    );
    let html = fresh
        .get(app.url("/staff/totp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    let replay = fresh
        .post(app.url("/api/totp_verify"))
        .form(&[("code", code.as_str()), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&replay), "/staff/totp", "a TOTP code works once");
    let start = home.find(r#"id="recovery-codes">"#).unwrap() + r#"id="recovery-codes">"#.len();
    let recovery = home[start..].split_whitespace().next().unwrap().to_owned();
    let html = fresh
        .get(app.url("/staff/totp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    let ok = fresh
        .post(app.url("/api/totp_verify"))
        .form(&[("code", recovery.as_str()), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&ok), "/staff");
    assert_eq!(fresh.get(app.url("/staff")).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_for_server_functions_and_staff_pages() {
    let app = spawn_app().await;
    owner(&app, "karim@example.com").await;
    let anonymous = browser();
    let mut owner_client = browser();
    login(&app, &owner_client, "karim@example.com", PASSWORD).await;

    let routes = leptos_axum::generate_route_list(bikriagent_app::App);
    let staff_pages: Vec<String> = routes
        .iter()
        .map(|r| r.path().to_owned())
        .filter(|p| p == "/staff" || p.starts_with("/staff/"))
        .collect();
    assert!(staff_pages.len() >= 2, "{staff_pages:?}");
    for page in &staff_pages {
        let anon = anonymous.get(app.url(page)).send().await.unwrap();
        assert_eq!(location(&anon), "/login", "{page} anonymous");
        let as_owner = owner_client.get(app.url(page)).send().await.unwrap();
        assert_eq!(as_owner.status(), 403, "{page} as owner");
    }

    for (path, access) in ROUTES
        .iter()
        .filter(|r| r.kind == Kind::Form)
        .map(|r| (r.route, r.audience))
    {
        // A new owner session only when the last function ended it (logout,
        // sign out everywhere): each login is an argon2 hash, slow in tests.
        let page = owner_client.get(app.url("/account/security")).send().await.unwrap();
        let page = if page.status().is_redirection() {
            owner_client = browser();
            login(&app, &owner_client, "karim@example.com", PASSWORD).await;
            owner_client.get(app.url("/account/security")).send().await.unwrap()
        } else {
            page
        };
        let html = page.text().await.unwrap();
        let token = csrf_token(&html).unwrap();
        let as_owner = owner_client
            .post(app.url(path))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        match access {
            Audience::Staff | Audience::StaffPassword | Audience::Admin => {
                assert_eq!(as_owner.status(), 403, "{path} must refuse an owner")
            }
            _ => assert_ne!(as_owner.status(), 403, "{path} must let an owner through the guard"),
        }
        if access != Audience::Anyone {
            let html = anonymous
                .get(app.url("/login"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let token = csrf_token(&html).unwrap();
            let anon = anonymous
                .post(app.url(path))
                .form(&[("csrf_token", token.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(anon.status(), 401, "{path} must refuse an anonymous request");
        }
    }
}

/// Waits (at most 10 s) until every account_mail job has run; how many there were.
async fn account_mail_jobs_done(app: &TestApp) -> i64 {
    let admin = app.db.admin_pool().await;
    for _ in 0..100 {
        let (all, open): (i64, i64) = sqlx::query_as(
            "select count(*), count(*) filter (where state <> 'done') from jobs where kind = 'account_mail'",
        )
        .fetch_one(&admin)
        .await
        .unwrap();
        if open == 0 {
            return all;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("account mail jobs did not finish within 10 s");
}

async fn outbox_count(app: &TestApp, to: &str) -> i64 {
    sqlx::query_scalar("select count(*) from mail_outbox where lower(to_address) = lower($1)")
        .bind(to)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap()
}

/// Status, location and body of an answer, then the page it leads to.
async fn answer_and_page(app: &TestApp, response: reqwest::Response) -> (u16, String, String, String) {
    let status = response.status().as_u16();
    let to = location(&response);
    let body = response.text().await.unwrap();
    let page = app.page(&to).await;
    (status, to, body, page)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_and_signup_answer_alike_for_known_and_unknown_emails_and_mail_after_the_answer() {
    let app = spawn_app().await;
    owner(&app, "karim@example.com").await;
    app.last_mail("karim@example.com", "verify_email")
        .await
        .expect("verification mail");

    // Password reset: the same answer, and the request only queues the work.
    let known = app
        .submit(
            "/forgot-password",
            "/api/request_password_reset",
            &[("email", "karim@example.com")],
        )
        .await;
    let known = answer_and_page(&app, known).await;
    let unknown = app
        .submit(
            "/forgot-password",
            "/api/request_password_reset",
            &[("email", "ghost@example.com")],
        )
        .await;
    let unknown = answer_and_page(&app, unknown).await;
    assert_eq!(known, unknown, "status, location, body and the page after");
    assert_eq!(known.0, 302);
    let queued: Vec<String> = sqlx::query_scalar(
        "select payload->>'email' from jobs where kind = 'account_mail' and payload->>'mail' = 'password_reset' order by id",
    )
    .fetch_all(&app.db.admin_pool().await)
    .await
    .unwrap();
    assert_eq!(
        queued,
        ["karim@example.com", "ghost@example.com"],
        "one job each, nothing else"
    );
    // After the answer: the link for the account, nothing for the stranger.
    let (_, body) = app
        .last_mail("karim@example.com", "reset_password")
        .await
        .expect("reset mail");
    assert!(body.contains("/reset-password?token="));
    account_mail_jobs_done(&app).await;
    assert_eq!(outbox_count(&app, "ghost@example.com").await, 0);

    // Signup: a new address and a taken one answer alike; the new one gets a
    // verification link, the owner of the taken one a notice.
    let fresh = signup_as(&app, "nadia@example.com").await;
    let fresh = answer_and_page(&app, fresh).await;
    let taken = signup_as(&app, "Karim@Example.com").await;
    let taken = answer_and_page(&app, taken).await;
    assert_eq!(fresh, taken);
    assert_eq!(fresh.1, "/login");
    assert!(app.last_mail("nadia@example.com", "verify_email").await.is_some());
    assert!(app.last_mail("karim@example.com", "signup_existing").await.is_some());
    assert_eq!(
        account_mail_jobs_done(&app).await,
        5,
        "two signups, two resets, one signup notice"
    );
    assert_eq!(
        outbox_count(&app, "nadia@example.com").await,
        1,
        "only the verification link"
    );
}

async fn signup_as(app: &TestApp, email: &str) -> reqwest::Response {
    app.submit(
        "/signup",
        "/api/signup",
        &[
            ("name", "Nadia Islam"),
            ("email", email),
            ("phone", "+8801811000001"),
            ("business_name", "Nadia Crafts"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ],
    )
    .await
}
