//! Accounts over HTTP: signup, verification, login, logout, throttling,
//! sessions and CSRF, as a browser with JavaScript off would use them.

use bikriagent::auth::access::Audience;
use bikriagent_server::http::policy::{self, Kind, ROUTES};
use time::Duration;

use crate::helpers::{PUBLIC_URL, TestApp, browser, link_token, location, spawn_app, spawn_app_with};

const PASSWORD: &str = "purple-river-lamp-9417";

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("bikri_session="))
        .map(str::to_owned)
}

async fn signup(app: &TestApp, email: &str) -> reqwest::Response {
    app.submit(
        "/signup",
        "/api/signup",
        &[
            ("name", "Rahima Khatun"),
            ("email", email),
            ("phone", "01711-000000"),
            ("business_name", "Rahima Fashion House"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ],
    )
    .await
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.submit("/login", "/api/login", &[("email", email), ("password", password)])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_verify_login_logout() {
    let app = spawn_app().await;
    let response = signup(&app, "rahima@example.com").await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), "/login");
    assert!(app.page("/login").await.contains("We sent a link to your email"));

    let (subject, body) = app
        .last_mail("rahima@example.com", "verify_email")
        .await
        .expect("verification mail");
    assert!(subject.contains("Confirm your email"));
    assert!(body.contains(&format!("{PUBLIC_URL}/verify-email?token=")));
    let token = link_token(&body);

    // The link opens a page; nothing changes until the person confirms (POST).
    let page = app.page(&format!("/verify-email?token={token}")).await;
    assert!(page.contains(&token));
    let verified_before: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select email_verified_at from accounts where email = 'rahima@example.com'")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap();
    assert!(verified_before.is_none());
    let response = app
        .submit(
            &format!("/verify-email?token={token}"),
            "/api/verify_email",
            &[("token", &token)],
        )
        .await;
    assert_eq!(response.status(), 302);
    let (status, verified): (String, Option<time::OffsetDateTime>) =
        sqlx::query_as("select status, email_verified_at from accounts where email = 'rahima@example.com'")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap();
    assert_eq!(status, "active");
    assert!(verified.is_some());
    // Single use.
    let again = app
        .submit(
            &format!("/verify-email?token={token}"),
            "/api/verify_email",
            &[("token", &token)],
        )
        .await;
    assert_eq!(location(&again), "/login");
    assert!(app.page("/login").await.contains("expired or was already used"));

    let response = login(&app, "RAHIMA@example.com", PASSWORD).await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), "/dashboard");
    let dashboard = app.page("/dashboard").await;
    assert!(dashboard.contains("Hello, Rahima Khatun"), "{dashboard}");

    let response = app.submit("/dashboard", "/api/logout", &[]).await;
    assert_eq!(location(&response), "/login");
    let after = app.get("/dashboard").await;
    assert_eq!(after.status(), 302);
    assert_eq!(location(&after), "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_errors_are_shown_next_to_fields_with_input_kept() {
    let app = spawn_app().await;
    let response = app
        .submit(
            "/signup",
            "/api/signup",
            &[
                ("name", "Rahima Khatun"),
                ("email", "not-an-email"),
                ("phone", "12345"),
                ("business_name", "Rahima Fashion House"),
                ("password", "rahimakhatun2024"),
                ("password_confirm", "rahimakhatun2024"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/signup");
    let page = app.page("/signup").await;
    assert!(page.contains(r#"id="email-error""#), "email error shown");
    assert!(page.contains(r#"id="phone-error""#), "phone error shown");
    assert!(page.contains(r#"id="password-error""#), "password error shown");
    assert!(page.contains(r#"value="Rahima Fashion House""#), "input kept");
    assert!(!page.contains("rahimakhatun2024"), "passwords are never echoed back");
    let accounts: i64 = sqlx::query_scalar("select count(*) from accounts")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(accounts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_account_enumeration_at_login_or_signup() {
    let app = spawn_app().await;
    signup(&app, "rahima@example.com").await;

    let wrong_password = login(&app, "rahima@example.com", "not-the-password-at-all").await;
    assert_eq!(location(&wrong_password), "/login");
    let wrong_page = app.page("/login").await;
    let unknown = login(&app, "nobody@example.com", "not-the-password-at-all").await;
    assert_eq!(location(&unknown), "/login");
    let unknown_page = app.page("/login").await;
    assert!(wrong_page.contains("don&#x27;t match an account") || wrong_page.contains("don't match an account"));
    assert_eq!(
        wrong_page.replace("rahima@example.com", "EMAIL"),
        unknown_page.replace("nobody@example.com", "EMAIL"),
        "same page for unknown email and wrong password (CSRF tokens equal within one session)"
    );

    // Signing up again with a taken email looks the same and mails the owner instead.
    let again = signup(&app, "Rahima@Example.com").await;
    assert_eq!(location(&again), "/login");
    assert!(app.last_mail("rahima@example.com", "signup_existing").await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_is_per_account_across_changing_ips() {
    let app = spawn_app().await;
    signup(&app, "rahima@example.com").await;
    for attempt in 0..10 {
        let html = app.page("/login").await;
        let token = crate::helpers::csrf_token(&html).unwrap();
        let response = app
            .client
            .post(app.url("/api/login"))
            .header("x-forwarded-for", format!("203.0.113.{attempt}"))
            .form(&[
                ("email", "rahima@example.com"),
                ("password", "wrong-password-guess"),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&response), "/login");
        // Wait out the growing delay so each guess really is checked.
        app.clock.advance(Duration::seconds(61));
    }
    let lock_mail = app.last_mail("rahima@example.com", "account_locked").await;
    assert!(lock_mail.is_some_and(|(_, body)| body.contains("/reset-password?token=")));

    // Locked: even the right password from a new address is refused, generically.
    let response = login(&app, "rahima@example.com", PASSWORD).await;
    assert_eq!(location(&response), "/login");
    assert!(app.page("/login").await.contains("Too many attempts"));

    app.clock.advance(Duration::minutes(16));
    let response = login(&app, "rahima@example.com", PASSWORD).await;
    assert_eq!(location(&response), "/dashboard");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_emails_are_throttled_like_real_ones() {
    let app = spawn_app().await;
    for _ in 0..5 {
        login(&app, "nobody@example.com", "wrong-password-guess").await;
    }
    login(&app, "nobody@example.com", "wrong-password-guess").await;
    assert!(
        app.page("/login").await.contains("Too many attempts"),
        "the 6th try must wait, as for a real account"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_id_changes_at_login_and_old_cookies_die_at_logout() {
    let app = spawn_app().await;
    signup(&app, "rahima@example.com").await;
    let before = session_cookie(&app.get("/login").await);
    let response = login(&app, "rahima@example.com", PASSWORD).await;
    let after = session_cookie(&response).expect("login sets a new session cookie");
    assert_ne!(before, Some(after.clone()), "session id rotated at login");
    let cookie_pair = after.split(';').next().unwrap().to_owned();

    // Replay the logged-in cookie from another client: it works before logout...
    let other = browser();
    let ok = other
        .get(app.url("/dashboard"))
        .header("cookie", &cookie_pair)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    app.submit("/dashboard", "/api/logout", &[]).await;
    // ...and not after.
    let refused = other
        .get(app.url("/dashboard"))
        .header("cookie", &cookie_pair)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 302);
    assert_eq!(location(&refused), "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_absolute_session_expiry() {
    let app = spawn_app().await;
    signup(&app, "rahima@example.com").await;
    login(&app, "rahima@example.com", PASSWORD).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        app.get("/dashboard").await.status(),
        200,
        "29 idle minutes: still signed in"
    );
    app.clock.advance(Duration::minutes(31));
    assert_eq!(
        location(&app.get("/dashboard").await),
        "/login",
        "31 idle minutes: signed out"
    );

    login(&app, "rahima@example.com", PASSWORD).await;
    for _ in 0..35 {
        app.clock.advance(Duration::minutes(20));
        if app.get("/dashboard").await.status() != 200 {
            break;
        }
    }
    // 35 × 20 min = 11 h 40 min of activity, then past 12 h.
    app.clock.advance(Duration::minutes(25));
    assert_eq!(
        location(&app.get("/dashboard").await),
        "/login",
        "12 hours after login: signed out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_owner_loses_sessions_and_cannot_log_in() {
    let app = spawn_app().await;
    signup(&app, "rahima@example.com").await;
    login(&app, "rahima@example.com", PASSWORD).await;
    assert_eq!(app.get("/dashboard").await.status(), 200);
    sqlx::query("update accounts set status = 'suspended' where email = 'rahima@example.com'")
        .execute(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(location(&app.get("/dashboard").await), "/login");
    let sessions: i64 = sqlx::query_scalar(
        "select count(*) from sessions s join accounts a on a.id = s.account_id where a.email = 'rahima@example.com'",
    )
    .fetch_one(&app.db.admin_pool().await)
    .await
    .unwrap();
    assert_eq!(sessions, 0);
    let response = login(&app, "rahima@example.com", PASSWORD).await;
    assert_eq!(location(&response), "/suspended");
    assert!(app.page("/suspended").await.contains("This account is suspended"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_cookies_are_host_prefixed_secure_httponly_lax() {
    let app = spawn_app_with(|env| {
        env.retain(|(k, _)| !matches!(k.as_str(), "BIKRI_ENV" | "BIKRI_INSECURE_COOKIES" | "BIKRI_PUBLIC_URL"));
        env.push(("BIKRI_PUBLIC_URL".into(), "https://bikri.test".into()));
    })
    .await;
    let cookie = session_cookie(&app.get("/login").await).expect("the login form starts a pre-session");
    assert!(cookie.starts_with("__Host-bikri_session="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} missing in {cookie}"
        );
    }
    assert!(!cookie.contains("Domain="), "__Host- cookies have no Domain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_refusals() {
    let app = spawn_app().await;
    let html = app.page("/login").await;
    let token = crate::helpers::csrf_token(&html).unwrap();
    let form = |token: &str| {
        vec![
            ("email", "a@example.com".to_owned()),
            ("password", "x".to_owned()),
            ("csrf_token", token.to_owned()),
        ]
    };

    let missing = app
        .client
        .post(app.url("/api/login"))
        .form(&form("")[..2])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 403);
    let wrong = app
        .client
        .post(app.url("/api/login"))
        .form(&form("forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let foreign = app
        .client
        .post(app.url("/api/login"))
        .header("origin", "https://evil.example")
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let cross_site = app
        .client
        .post(app.url("/api/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let attempts: i64 = sqlx::query_scalar("select count(*) from login_attempts")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(attempts, 0, "refused before any work");
    // The real form with its token goes through.
    let ok = app
        .client
        .post(app.url("/api/login"))
        .header("origin", PUBLIC_URL)
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 302);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_function_is_listed_and_guarded() {
    let app = spawn_app().await;
    let registered: Vec<String> = server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect();
    assert!(!registered.is_empty());
    for path in &registered {
        assert!(
            policy::lookup(path).is_some_and(|p| p.kind == Kind::Form),
            "{path} has no entry in the route policy"
        );
    }
    // Anonymous callers are refused (401) before any work by every non-public function.
    for (path, access) in ROUTES
        .iter()
        .filter(|r| r.kind == Kind::Form)
        .map(|r| (r.route, r.audience))
    {
        if access == Audience::Anyone {
            continue;
        }
        let html = app.page("/login").await;
        let token = crate::helpers::csrf_token(&html).unwrap();
        let response = app
            .client
            .post(app.url(path))
            .form(&[("csrf_token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
    // Unknown functions are closed.
    let unknown = app.client.post(app.url("/api/drop_everything")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_rate_limited_per_ip_with_a_readable_429() {
    let app = spawn_app().await;
    let html = app.page("/login").await;
    let token = crate::helpers::csrf_token(&html).unwrap();
    let post = |ip: &'static str, n: usize| {
        let email = format!("user{n}@example.com");
        let token = token.clone();
        let client = app.client.clone();
        let url = app.url("/api/login");
        async move {
            client
                .post(url)
                .header("x-forwarded-for", ip)
                .form(&[
                    ("email", email.as_str()),
                    ("password", "whatever-password"),
                    ("csrf_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    for n in 0..30 {
        assert_eq!(post("198.51.100.7", n).await.status(), 302, "attempt {n}");
    }
    let limited = post("198.51.100.7", 30).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert!(limited.text().await.unwrap().contains("Too many attempts"));
    assert_eq!(
        post("198.51.100.8", 31).await.status(),
        302,
        "other addresses are unaffected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weaker_stored_hash_is_upgraded_at_login() {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let app = spawn_app().await;
    signup(&app, "rahima@example.com").await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(4096, 1, 1, None).unwrap(),
    );
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let phc = weak.hash_password(PASSWORD.as_bytes(), &salt).unwrap().to_string();
    let admin = app.db.admin_pool().await;
    sqlx::query("update accounts set password_hash = $1")
        .bind(&phc)
        .execute(&admin)
        .await
        .unwrap();
    assert_eq!(
        location(&login(&app, "rahima@example.com", PASSWORD).await),
        "/dashboard"
    );
    let stored: String = sqlx::query_scalar("select password_hash from accounts")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_ends_every_session_at_once_and_is_audited() {
    let app = spawn_app().await;
    signup(&app, "rahima@example.com").await;
    login(&app, "rahima@example.com", PASSWORD).await;
    let other = browser();
    let html = other.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let token = crate::helpers::csrf_token(&html).unwrap();
    other
        .post(app.url("/api/login"))
        .form(&[
            ("email", "rahima@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    let admin = app.db.admin_pool().await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from accounts")
        .fetch_one(&admin)
        .await
        .unwrap();
    let config = bikriagent_server::config::Config::from_vars(crate::helpers::test_env(&app.db.url)).unwrap();
    let services = bikriagent_server::startup::services(&app.pool, &config, std::sync::Arc::new(app.clock.clone()));
    let meta = bikriagent::audit::RequestMeta::default();
    let staff = crate::helpers::insert_staff(
        &app.db,
        "sadia@bikriagent.example",
        bikriagent::auth::accounts::Role::Staff,
    )
    .await;
    assert!(
        services.accounts.suspend(id, "  ", staff, &meta).await.is_err(),
        "a reason is required"
    );
    services
        .accounts
        .suspend(id, "Selling counterfeit goods", staff, &meta)
        .await
        .unwrap();
    let sessions: i64 = sqlx::query_scalar("select count(*) from sessions where account_id = $1")
        .bind(id)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "ended at once, before any further request");
    let event: serde_json::Value =
        sqlx::query_scalar("select detail from security_events where kind = 'account_suspended' and account_id = $1")
            .bind(id)
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(event["sessions_ended"], 2);
    services.accounts.unsuspend(id, staff, &meta).await.unwrap();
    assert_eq!(
        location(&login(&app, "rahima@example.com", PASSWORD).await),
        "/dashboard"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_events_cannot_be_changed_or_deleted() {
    let app = spawn_app().await;
    signup(&app, "rahima@example.com").await;
    // The signup is recorded with its verification mail, by a job.
    app.last_mail("rahima@example.com", "verify_email")
        .await
        .expect("verification mail");
    for pool in [app.pool.clone(), app.db.admin_pool().await] {
        let update = sqlx::query("update security_events set kind = 'logout'")
            .execute(&pool)
            .await
            .expect_err("update refused");
        // The application role may not update at all; the owner role meets the trigger.
        let update = update.to_string();
        assert!(
            update.contains("append-only") || update.contains("permission denied"),
            "{update}"
        );
        let delete = sqlx::query("delete from security_events")
            .execute(&pool)
            .await
            .expect_err("delete refused");
        assert!(delete.to_string().contains("append-only"), "{delete}");
    }
    let count: i64 = sqlx::query_scalar("select count(*) from security_events where kind = 'signup'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}
