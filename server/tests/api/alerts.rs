//! Security alert emails: new-device logins, password changes and resets,
//! suspension, channels connected and disconnected, and the throttle that
//! keeps an attacker from flooding an inbox with them.

use bikriagent::alerts;
use bikriagent::audit::RequestMeta;
use secrecy::SecretString;
use uuid::Uuid;

use crate::helpers::{
    OWNER_PASSWORD, PUBLIC_URL, TestApp, app_with_fake_meta, browser, csrf_token, link_token, location, spawn_app,
    verified_owner,
};

const EMAIL: &str = "rahima@example.com";
const NEW_PASSWORD: &str = "quiet-harbor-stone-5531";
const LAPTOP: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0 (the laptop at the shop, with a long tail that is cut)";
const PHONE: &str = "Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile";

fn services(app: &TestApp) -> bikriagent_app::web::Services {
    let config = bikriagent_server::config::Config::from_vars(app.env.clone()).unwrap();
    bikriagent_server::startup::services(&app.pool, &config, std::sync::Arc::new(app.clock.clone()))
}

async fn account_id(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar("select id from accounts where email = $1")
        .bind(email)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap()
}

/// How many mails of `kind` the outbox holds for `to`.
async fn mails(app: &TestApp, to: &str, kind: &str) -> i64 {
    sqlx::query_scalar("select count(*) from mail_outbox where lower(to_address) = lower($1) and kind = $2")
        .bind(to)
        .bind(kind)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap()
}

/// Moves every queued mail `minutes` into the past (the throttle counts by the outbox's database time).
async fn age_outbox(app: &TestApp, minutes: i32) {
    sqlx::query("update mail_outbox set created_at = created_at - make_interval(mins => $1)")
        .bind(minutes)
        .execute(&app.db.admin_pool().await)
        .await
        .unwrap();
}

/// Logs in on a fresh browser from `ip` (the test app trusts `X-Forwarded-For`) with `user_agent`.
async fn login_from(app: &TestApp, email: &str, password: &str, ip: &str, user_agent: &str) -> reqwest::Client {
    let client = browser();
    let html = client
        .get(app.url("/login"))
        .header("user-agent", user_agent)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    let response = client
        .post(app.url("/api/login"))
        .header("x-forwarded-for", ip)
        .header("user-agent", user_agent)
        .form(&[("email", email), ("password", password), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/dashboard", "logged in from {ip}");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_from_a_new_device_mails_the_owner_and_a_known_one_does_not() {
    let app = spawn_app().await;
    // Signs up and logs in for the very first time: nothing to compare with, no alert.
    verified_owner(&app, EMAIL).await;
    assert_eq!(
        mails(&app, EMAIL, alerts::NEW_LOGIN).await,
        0,
        "no alert for the first login ever"
    );

    login_from(&app, EMAIL, OWNER_PASSWORD, "203.0.113.7", LAPTOP).await;
    assert_eq!(mails(&app, EMAIL, alerts::NEW_LOGIN).await, 1);
    let (subject, body) = app.last_mail(EMAIL, alerts::NEW_LOGIN).await.unwrap();
    assert_eq!(subject, "New sign-in to your BikriAgent account");
    assert!(body.contains("IP address: 203.0.113.7"), "{body}");
    let device = body.lines().find_map(|l| l.strip_prefix("Device: ")).unwrap();
    assert!(
        device.starts_with("Mozilla/5.0 (X11; Linux x86_64; rv:140.0)"),
        "{device}"
    );
    assert_eq!(device.chars().count(), alerts::DEVICE_CHARS, "the user agent is cut");
    assert!(body.contains(&format!("{PUBLIC_URL}/account/security")));
    assert!(!body.contains(OWNER_PASSWORD) && !body.contains("token="), "{body}");

    // Past the per-kind window, so only recognising the device can hold a mail back.
    age_outbox(&app, 11).await;
    login_from(&app, EMAIL, OWNER_PASSWORD, "203.0.113.7", LAPTOP).await;
    assert_eq!(
        mails(&app, EMAIL, alerts::NEW_LOGIN).await,
        1,
        "the same device again: no mail"
    );

    // The same browser on another network is new, and so is another browser on a known network.
    login_from(&app, EMAIL, OWNER_PASSWORD, "198.51.100.20", LAPTOP).await;
    assert_eq!(mails(&app, EMAIL, alerts::NEW_LOGIN).await, 2);
    assert!(
        app.last_mail(EMAIL, alerts::NEW_LOGIN)
            .await
            .unwrap()
            .1
            .contains("198.51.100.20")
    );
    age_outbox(&app, 11).await;
    login_from(&app, EMAIL, OWNER_PASSWORD, "203.0.113.7", PHONE).await;
    assert_eq!(mails(&app, EMAIL, alerts::NEW_LOGIN).await, 3);
    assert!(
        app.last_mail(EMAIL, alerts::NEW_LOGIN)
            .await
            .unwrap()
            .1
            .contains("Android 14")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_or_resetting_the_password_mails_the_owner() {
    let app = spawn_app().await;
    let client = verified_owner(&app, EMAIL).await;
    let html = client
        .get(app.url("/account/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    client
        .post(app.url("/api/change_password"))
        .header("x-forwarded-for", "203.0.113.9")
        .header("user-agent", PHONE)
        .form(&[
            ("current_password", OWNER_PASSWORD),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    let (subject, body) = app
        .last_mail(EMAIL, alerts::PASSWORD_CHANGED)
        .await
        .expect("a password change alert");
    assert_eq!(subject, "Your BikriAgent password was changed");
    assert!(body.contains("IP address: 203.0.113.9"), "{body}");
    assert!(body.contains("Device: Mozilla/5.0 (Linux; Android 14)"), "{body}");
    assert!(!body.contains(NEW_PASSWORD) && !body.contains(OWNER_PASSWORD));
    // The change really happened in the same transaction as its alert.
    login_from(&app, EMAIL, NEW_PASSWORD, "203.0.113.9", PHONE).await;

    // A wrong current password changes nothing and mails nothing.
    age_outbox(&app, 11).await;
    let accounts = services(&app).accounts;
    let id = account_id(&app, EMAIL).await;
    let secret = |s: &str| SecretString::from(s.to_owned());
    assert!(
        accounts
            .change_password(
                id,
                &secret("not-the-password-at-all"),
                &secret(OWNER_PASSWORD),
                &secret(OWNER_PASSWORD),
                &RequestMeta::default(),
            )
            .await
            .is_err()
    );
    assert_eq!(mails(&app, EMAIL, alerts::PASSWORD_CHANGED).await, 1);

    // A completed reset is an alert of its own, without the reset token.
    accounts
        .request_password_reset(EMAIL, &RequestMeta::default())
        .await
        .unwrap();
    let (_, reset_mail) = app.last_mail(EMAIL, "reset_password").await.unwrap();
    let reset_token = link_token(&reset_mail);
    assert_eq!(
        mails(&app, EMAIL, alerts::PASSWORD_RESET).await,
        0,
        "asking for a link is not a reset"
    );
    let meta = RequestMeta {
        ip: Some("192.0.2.44".to_owned()),
        user_agent: Some("curl/8.5".to_owned()),
    };
    accounts
        .reset_password(&reset_token, &secret(OWNER_PASSWORD), &secret(OWNER_PASSWORD), &meta)
        .await
        .unwrap();
    let (subject, body) = app.last_mail(EMAIL, alerts::PASSWORD_RESET).await.unwrap();
    assert_eq!(subject, "Your BikriAgent password was reset");
    assert!(
        body.contains("IP address: 192.0.2.44") && body.contains("Device: curl/8.5"),
        "{body}"
    );
    assert!(!body.contains(&reset_token), "the alert never repeats the token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_and_its_end_are_mailed_with_the_reason() {
    let app = spawn_app().await;
    verified_owner(&app, EMAIL).await;
    let id = account_id(&app, EMAIL).await;
    let accounts = services(&app).accounts;
    let staff = crate::helpers::insert_staff(
        &app.db,
        "sadia@bikriagent.example",
        bikriagent::auth::accounts::Role::Staff,
    )
    .await;
    let staff_meta = RequestMeta {
        ip: Some("10.9.8.7".to_owned()),
        user_agent: Some("staff browser".to_owned()),
    };
    assert!(accounts.suspend(id, "   ", staff, &staff_meta).await.is_err());
    assert_eq!(
        mails(&app, EMAIL, alerts::ACCOUNT_SUSPENDED).await,
        0,
        "a refused suspension mails nothing"
    );
    accounts
        .suspend(id, "Selling counterfeit goods", staff, &staff_meta)
        .await
        .unwrap();
    let (subject, body) = app.last_mail(EMAIL, alerts::ACCOUNT_SUSPENDED).await.unwrap();
    assert_eq!(subject, "Your BikriAgent account was suspended");
    assert!(body.contains("Reason: Selling counterfeit goods"), "{body}");
    assert!(
        !body.contains("10.9.8.7"),
        "staff's address is not the owner's business"
    );

    accounts.unsuspend(id, staff, &staff_meta).await.unwrap();
    let (subject, body) = app.last_mail(EMAIL, alerts::ACCOUNT_UNSUSPENDED).await.unwrap();
    assert_eq!(subject, "Your BikriAgent account is no longer suspended");
    assert!(body.contains(&format!("{PUBLIC_URL}/login")), "{body}");
    // Lifting a suspension that is not there is no news.
    age_outbox(&app, 11).await;
    accounts.unsuspend(id, staff, &staff_meta).await.unwrap();
    assert_eq!(mails(&app, EMAIL, alerts::ACCOUNT_UNSUSPENDED).await, 1);
}

/// Start → Meta's dialog (auto-approve) → callback → pick everything → connect.
async fn connect_everything(app: &TestApp, client: &reqwest::Client) {
    let start = client.get(app.url("/oauth/meta/start")).send().await.unwrap();
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
    let picked = client.get(app.url(&callback)).send().await.unwrap();
    let picker = location(&picked);
    assert!(picker.starts_with("/channels/connect?pending="), "{picker}");
    let html = client.get(app.url(&picker)).send().await.unwrap().text().await.unwrap();
    let mut form: Vec<(String, String)> = vec![
        ("csrf_token".into(), csrf_token(&html).unwrap()),
        (
            "pending".into(),
            picker.trim_start_matches("/channels/connect?pending=").to_owned(),
        ),
    ];
    let mut rest = html.as_str();
    while let Some(i) = rest.find(r#"name="choice" value=""#) {
        rest = &rest[i + r#"name="choice" value=""#.len()..];
        form.push(("choice".into(), rest[..rest.find('"').unwrap()].to_owned()));
    }
    let response = client
        .post(app.url("/api/connect_channels"))
        .header("x-forwarded-for", "203.0.113.50")
        .header("user-agent", LAPTOP)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/channels");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_and_disconnecting_channels_mails_the_owner() {
    let (app, _fake) = app_with_fake_meta().await;
    let client = verified_owner(&app, EMAIL).await;
    connect_everything(&app, &client).await;
    let admin = app.db.admin_pool().await;
    let connected: i64 = sqlx::query_scalar("select count(*) from channels where status = 'connected'")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(connected, 4);
    assert_eq!(
        mails(&app, EMAIL, alerts::CHANNEL_CONNECTED).await,
        1,
        "one alert for one connection, naming every channel"
    );
    let (subject, body) = app.last_mail(EMAIL, alerts::CHANNEL_CONNECTED).await.unwrap();
    assert_eq!(subject, "A channel was connected to your BikriAgent account");
    for part in [
        "- Rahima Fashion House (Facebook Page)",
        "- @rahima.fashion (Instagram)",
        "IP address: 203.0.113.50",
    ] {
        assert!(body.contains(part), "{part} in {body}");
    }
    assert!(!body.contains("EAAG"), "no token in the alert");

    let (channel, meta_user): (Uuid, String) =
        sqlx::query_as("select id, meta_user_id from channels where meta_id = '1000000001'")
            .fetch_one(&admin)
            .await
            .unwrap();
    let html = client
        .get(app.url("/channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    client
        .post(app.url("/api/disconnect_channel"))
        .header("x-forwarded-for", "203.0.113.51")
        .form(&[("id", channel.to_string().as_str()), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    let (subject, body) = app.last_mail(EMAIL, alerts::CHANNEL_DISCONNECTED).await.unwrap();
    assert_eq!(subject, "A channel was disconnected from your BikriAgent account");
    assert!(body.contains("- Rahima Fashion House (Facebook Page)\n"), "{body}");
    assert!(body.contains("IP address: 203.0.113.51"), "{body}");

    // Meta's deauthorize disconnects the other three: one alert, saying Meta asked.
    age_outbox(&app, 11).await;
    let keys = services(&app).accounts.keys;
    let removed = bikriagent::channels::deauthorize(&app.pool, &keys, &meta_user)
        .await
        .unwrap();
    assert_eq!(removed, 3);
    assert_eq!(
        mails(&app, EMAIL, alerts::CHANNEL_DISCONNECTED).await,
        2,
        "throttled to one per kind"
    );
    let (_, body) = app.last_mail(EMAIL, alerts::CHANNEL_DISCONNECTED).await.unwrap();
    assert!(body.contains("Meta told us"), "{body}");
    assert!(!body.contains("IP address"), "{body}");
}

/// One alert in its own committed transaction, as the app's pool (RLS and grants apply).
async fn alert(app: &TestApp, account: Uuid, kind: &str) -> bool {
    let mut tx = bikriagent::db::begin(&app.pool).await.unwrap();
    let sent = alerts::alert(&mut tx, &app.keys(), account, kind, "Subject", "Body")
        .await
        .unwrap();
    bikriagent::db::commit(tx).await.unwrap();
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_throttled_per_kind_and_per_hour() {
    let app = spawn_app().await;
    verified_owner(&app, EMAIL).await;
    let id = account_id(&app, EMAIL).await;
    // Mail that is not an alert (the signup's verification mail is sent by
    // a job and may come or not before the account is marked verified).
    let mut conn = app.pool.acquire().await.unwrap();
    bikriagent::mail::enqueue(
        &mut conn,
        &app.keys(),
        Some(id),
        "not_an_alert",
        EMAIL,
        "Subject",
        "Body",
    )
    .await
    .unwrap();
    drop(conn);

    // The same alert again and again: one mail in ten minutes.
    let mut sent = Vec::new();
    for _ in 0..6 {
        sent.push(alert(&app, id, alerts::NEW_LOGIN).await);
    }
    assert_eq!(sent, [true, false, false, false, false, false]);
    assert_eq!(mails(&app, EMAIL, alerts::NEW_LOGIN).await, 1);

    // Racing each other, they still count each other.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (pool, keys) = (app.pool.clone(), app.keys());
            tokio::spawn(async move {
                let mut tx = bikriagent::db::begin(&pool).await.unwrap();
                let sent = alerts::alert(&mut tx, &keys, id, alerts::PASSWORD_CHANGED, "Subject", "Body")
                    .await
                    .unwrap();
                bikriagent::db::commit(tx).await.unwrap();
                sent
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        won += i32::from(racer.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one of the concurrent alerts is mailed");

    // Nine minutes later still held back; past ten minutes it goes out again.
    age_outbox(&app, 9).await;
    assert!(!alert(&app, id, alerts::NEW_LOGIN).await);
    age_outbox(&app, 2).await;
    assert!(alert(&app, id, alerts::NEW_LOGIN).await);

    // Ten alerts an hour at most, whatever their kinds: three so far, six more make nine.
    let mut sent = Vec::new();
    for kind in alerts::KINDS.iter().filter(|k| {
        ![
            alerts::NEW_LOGIN,
            alerts::ACCOUNT_UNSUSPENDED,
            alerts::SECOND_FACTOR_LOCKED,
        ]
        .contains(k)
    }) {
        sent.push(alert(&app, id, kind).await);
    }
    assert_eq!(sent, [true; 6]);
    age_outbox(&app, 11).await;
    let mut sent = Vec::new();
    for kind in alerts::KINDS {
        sent.push(alert(&app, id, kind).await);
    }
    let mut expected = vec![false; alerts::KINDS.len()];
    expected[0] = true;
    assert_eq!(sent, expected, "the tenth of the hour, then the cap");
    let (alerts_in_last_hour, other_mail): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where kind = any($2)), count(*) filter (where kind = 'not_an_alert') \
           from mail_outbox where account_id = $1 and created_at > now() - interval '1 hour'",
    )
    .bind(id)
    .bind(alerts::KINDS)
    .fetch_one(&app.db.admin_pool().await)
    .await
    .unwrap();
    assert_eq!(alerts_in_last_hour, 10);
    assert_eq!(
        other_mail, 1,
        "mail that is not an alert does not count against the cap"
    );
    // An hour on, the cap has room again; other accounts were never affected.
    age_outbox(&app, 61).await;
    assert!(alert(&app, id, alerts::ACCOUNT_SUSPENDED).await);
    verified_owner(&app, "other@example.com").await;
    let other = account_id(&app, "other@example.com").await;
    assert!(alert(&app, other, alerts::NEW_LOGIN).await);
    // An account that does not exist gets nothing and breaks nothing.
    assert!(!alert(&app, Uuid::new_v4(), alerts::NEW_LOGIN).await);
}
