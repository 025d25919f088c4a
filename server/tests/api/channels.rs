//! Connecting channels through the fake Meta, tokens at rest, pause, and
//! Meta's deauthorize and data deletion callbacks.

use bikriagent::channels::ChannelStatus;
use bikriagent::meta::signature::sign_request;
use bikriagent::tenancy::OwnerId;
use bikriagent_server::fake_meta::FakePage;

use crate::helpers::{PUBLIC_URL, TestApp, app_with_fake_meta, csrf_token, location, pg_dump, verified_owner};

/// Start → Meta's dialog (auto-approve) → our callback. Returns the callback response.
async fn through_meta(app: &TestApp, client: &reqwest::Client) -> (reqwest::Response, String) {
    let start = client.get(app.url("/oauth/meta/start")).send().await.unwrap();
    assert_eq!(start.status(), 302);
    let dialog = location(&start);
    let outside = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let approved = outside.get(format!("{dialog}&auto=1")).send().await.unwrap();
    let callback = location(&approved);
    assert!(
        callback.starts_with(&format!("{PUBLIC_URL}/oauth/meta/callback?")),
        "{callback}"
    );
    let path = callback.trim_start_matches(PUBLIC_URL).to_owned();
    (client.get(app.url(&path)).send().await.unwrap(), path)
}

async fn connect_all(app: &TestApp, client: &reqwest::Client) -> reqwest::Response {
    let (callback, _) = through_meta(app, client).await;
    let picker = location(&callback);
    assert!(picker.starts_with("/channels/connect?pending="), "{picker}");
    let html = client.get(app.url(&picker)).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("EAAGfake"), "no token is ever rendered");
    let token = csrf_token(&html).unwrap();
    let pending = picker.trim_start_matches("/channels/connect?pending=").to_owned();
    let mut form: Vec<(String, String)> = vec![("csrf_token".into(), token), ("pending".into(), pending)];
    let mut rest = html.as_str();
    while let Some(i) = rest.find(r#"name="choice" value=""#) {
        rest = &rest[i + r#"name="choice" value=""#.len()..];
        form.push(("choice".into(), rest[..rest.find('"').unwrap()].to_owned()));
    }
    assert!(form.len() >= 3, "something to connect is offered: {form:?}");
    client
        .post(app.url("/api/connect_channels"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_connect_flow_through_the_fake_meta() {
    let (app, fake) = app_with_fake_meta().await;
    let client = verified_owner(&app, "a@example.com").await;
    let start = client.get(app.url("/oauth/meta/start")).send().await.unwrap();
    let dialog = location(&start);
    assert!(dialog.starts_with(&fake.dialog_url()), "{dialog}");
    let (callback, _) = through_meta(&app, &client).await;
    let picker = client
        .get(app.url(&location(&callback)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        picker.matches(r#"name="choice""#).count(),
        4,
        "two Pages, one Instagram account, one WhatsApp number"
    );
    for part in [
        "client_id=1234567890",
        "state=",
        "code_challenge=",
        "code_challenge_method=S256",
        "pages_messaging",
        "instagram_manage_messages",
        "whatsapp_business_messaging",
    ] {
        assert!(dialog.contains(part), "{part} in {dialog}");
    }
    let response = connect_all(&app, &client).await;
    assert_eq!(location(&response), "/channels");
    let page = client
        .get(app.url("/channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Rahima Fashion House (Facebook Page)"), "{page}");
    assert!(page.contains("@rahima.fashion (Instagram)"));
    assert!(page.contains("(WhatsApp)"));
    assert!(!page.contains("EAAGfake"));
    assert!(
        fake.subscriptions().iter().any(|(id, on)| id == "1000000001" && *on),
        "app subscribed to the Page"
    );
    assert!(
        fake.subscriptions().iter().any(|(id, on)| id == "3000000001" && *on),
        "app subscribed to the WABA"
    );

    let admin = app.db.admin_pool().await;
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select token_enc from channels")
        .fetch_all(&admin)
        .await
        .unwrap();
    assert_eq!(stored.len(), 4);
    for sealed in &stored {
        assert!(
            !String::from_utf8_lossy(sealed).contains("EAAG"),
            "tokens are encrypted"
        );
    }
    let events: Vec<String> =
        sqlx::query_scalar("select kind::text from security_events where kind = 'channel_connected'")
            .fetch_all(&admin)
            .await
            .unwrap();
    assert_eq!(events.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_mismatched_reused_or_foreign_state_is_refused() {
    let (app, _fake) = app_with_fake_meta().await;
    let client = verified_owner(&app, "a@example.com").await;
    // No state in the session at all.
    let response = client
        .get(app.url("/oauth/meta/callback?code=abc&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // A real flow, but the state altered.
    let start = client.get(app.url("/oauth/meta/start")).send().await.unwrap();
    let dialog = location(&start);
    let outside = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let callback = location(&outside.get(format!("{dialog}&auto=1")).send().await.unwrap());
    let path = callback.trim_start_matches(PUBLIC_URL).to_owned();
    let tampered = path.replace("state=", "state=x");
    assert_eq!(client.get(app.url(&tampered)).send().await.unwrap().status(), 400);
    // The state was consumed by the failed attempt: the genuine one no longer works either.
    assert_eq!(client.get(app.url(&path)).send().await.unwrap().status(), 400);
    // Another session (another owner) cannot use a state started elsewhere.
    let other = verified_owner(&app, "b@example.com").await;
    let (first, path) = through_meta(&app, &client).await;
    assert_eq!(first.status(), 302, "the genuine callback works once");
    assert_eq!(
        other.get(app.url(&path)).send().await.unwrap().status(),
        400,
        "foreign session"
    );
    assert_eq!(client.get(app.url(&path)).send().await.unwrap().status(), 400, "replay");
    let mismatches: i64 =
        sqlx::query_scalar("select count(*) from security_events where kind = 'oauth_state_mismatch'")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap();
    assert_eq!(mismatches, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_owner_cannot_start_connecting() {
    let (app, _fake) = app_with_fake_meta().await;
    let client = verified_owner(&app, "a@example.com").await;
    sqlx::query("update accounts set email_verified_at = null")
        .execute(&app.db.admin_pool().await)
        .await
        .unwrap();
    let response = client.get(app.url("/oauth/meta/start")).send().await.unwrap();
    assert_eq!(location(&response), "/dashboard");
    assert!(
        client
            .get(app.url("/dashboard"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Confirm your email")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_page_cannot_belong_to_two_owners() {
    let (app, _fake) = app_with_fake_meta().await;
    let a = verified_owner(&app, "a@example.com").await;
    connect_all(&app, &a).await;
    let b = verified_owner(&app, "b@example.com").await;
    let response = connect_all(&app, &b).await;
    assert_eq!(location(&response), "/channels");
    let page = b.get(app.url("/channels")).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Already connected to another BikriAgent account"),
        "{page}"
    );
    let admin = app.db.admin_pool().await;
    let b_channels: i64 = sqlx::query_scalar(
        "select count(*) from channels c join accounts a on a.id = c.owner_id where a.email = 'b@example.com'",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert_eq!(b_channels, 0);
    let conflicts: i64 =
        sqlx::query_scalar("select count(*) from security_events where kind = 'channel_claim_conflict'")
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(conflicts, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_decrypt_only_in_their_row_and_survive_key_rotation_with_no_plaintext_in_a_dump() {
    let (app, fake) = app_with_fake_meta().await;
    fake.set_pages(vec![FakePage {
        id: "1000000009".into(),
        name: "Unique Page".into(),
        token: "EAAGuniqueSecretPageToken777".into(),
        instagram: None,
    }]);
    let client = verified_owner(&app, "a@example.com").await;
    connect_all(&app, &client).await;
    let admin = app.db.admin_pool().await;
    let (owner, channel): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("select owner_id, id from channels where meta_id = '1000000009'")
            .fetch_one(&admin)
            .await
            .unwrap();
    let owner = OwnerId::from_verified(owner);
    let config = bikriagent_server::config::Config::from_vars(app_env(&app)).unwrap();
    let keys = bikriagent_server::startup::data_keys(&config);
    let token = bikriagent::channels::token(&app.pool, &keys, owner, channel)
        .await
        .unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&token),
        "EAAGuniqueSecretPageToken777"
    );

    // No plaintext token anywhere in a full dump.
    let dump = pg_dump(&app.db.url);
    assert!(dump.contains("channels"), "the dump ran");
    assert!(!dump.contains("EAAGuniqueSecretPageToken777"));
    assert!(!dump.contains("EAAGfake"));

    // Rotation: new key 2 seals, key 1 still opens; after rotate-keys key 1 is not needed.
    let new_key = [42u8; 32];
    let rotated_keys = bikriagent::crypto::DataKeys::new(2, &new_key, &[(1, *config.data_key_bytes())]);
    let (rotated, failed) = bikriagent::channels::rotate_keys(&app.pool, &rotated_keys)
        .await
        .unwrap();
    assert_eq!((rotated, failed), (2, 0), "the Page and the WhatsApp number");
    let only_new = bikriagent::crypto::DataKeys::new(2, &new_key, &[]);
    let token = bikriagent::channels::token(&app.pool, &only_new, owner, channel)
        .await
        .unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&token),
        "EAAGuniqueSecretPageToken777"
    );
    assert!(
        bikriagent::channels::token(&app.pool, &keys, owner, channel)
            .await
            .is_err(),
        "the old key alone no longer opens it"
    );
    // Copied into another row, the ciphertext does not open (AAD binds it to its row).
    let other: uuid::Uuid = sqlx::query_scalar("select id from channels where id <> $1 limit 1")
        .bind(channel)
        .fetch_one(&admin)
        .await
        .unwrap();
    sqlx::query("update channels set token_enc = (select token_enc from channels where id = $1) where id = $2")
        .bind(channel)
        .bind(other)
        .execute(&admin)
        .await
        .unwrap();
    assert!(
        bikriagent::channels::token(&app.pool, &only_new, owner, other)
            .await
            .is_err()
    );
    let (rotated, failed) = bikriagent::channels::rotate_keys(&app.pool, &only_new).await.unwrap();
    assert_eq!(
        (rotated, failed),
        (0, 0),
        "the copied value is already under the current key: nothing to do"
    );
}

fn app_env(app: &TestApp) -> Vec<(String, String)> {
    app.env.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_takes_effect_at_once_and_disconnect_deletes_the_token() {
    let (app, fake) = app_with_fake_meta().await;
    let client = verified_owner(&app, "a@example.com").await;
    connect_all(&app, &client).await;
    let admin = app.db.admin_pool().await;
    let (owner, channel): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("select owner_id, id from channels where meta_id = '1000000001'")
            .fetch_one(&admin)
            .await
            .unwrap();
    let owner = OwnerId::from_verified(owner);
    let html = client
        .get(app.url("/channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    let id = channel.to_string();
    client
        .post(app.url("/api/pause_channel"))
        .form(&[("id", id.as_str()), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        bikriagent::channels::status(&app.pool, owner, channel).await.unwrap(),
        ChannelStatus::Paused,
        "the very next read sees it"
    );
    client
        .post(app.url("/api/resume_channel"))
        .form(&[("id", id.as_str()), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        bikriagent::channels::status(&app.pool, owner, channel).await.unwrap(),
        ChannelStatus::Connected
    );
    client
        .post(app.url("/api/disconnect_channel"))
        .form(&[("id", id.as_str()), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    let (status, token_enc): (ChannelStatus, Option<Vec<u8>>) =
        sqlx::query_as("select status, token_enc from channels where id = $1")
            .bind(channel)
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(status, ChannelStatus::Disconnected);
    assert!(token_enc.is_none(), "token deleted");
    assert!(
        fake.subscriptions().iter().any(|(id, on)| id == "1000000001" && !*on),
        "unsubscribed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deauthorize_and_data_deletion_callbacks_verify_the_signed_request() {
    let (app, fake) = app_with_fake_meta().await;
    let client = verified_owner(&app, "a@example.com").await;
    connect_all(&app, &client).await;
    let user = fake.user_id();
    let now = app.clock_now();
    let signed = sign_request(
        b"test-app-secret",
        &format!(r#"{{"algorithm":"HMAC-SHA256","user_id":"{user}","issued_at":{now}}}"#),
    );
    let outside = reqwest::Client::new();
    let post = |path: &'static str, value: String| {
        let outside = outside.clone();
        let url = app.url(path);
        async move {
            outside
                .post(url)
                .form(&[("signed_request", value)])
                .send()
                .await
                .unwrap()
        }
    };
    // Wrong secret and tampered payloads are refused.
    let wrong = sign_request(
        b"not-the-secret",
        &format!(r#"{{"algorithm":"HMAC-SHA256","user_id":"{user}"}}"#),
    );
    assert_eq!(post("/webhooks/meta/deauthorize", wrong).await.status(), 400);
    let tampered = format!("{}x", &signed);
    assert_eq!(post("/webhooks/meta/deauthorize", tampered).await.status(), 400);
    let admin = app.db.admin_pool().await;
    let connected = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from channels where status <> 'disconnected'")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap()
    };
    assert_eq!(connected().await, 4);

    // Data deletion: JSON with a status URL and a confirmation code; the page shows progress.
    let response = post("/webhooks/meta/data-deletion", signed.clone()).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let code = body["confirmation_code"].as_str().unwrap().to_owned();
    assert_eq!(body["url"], format!("{PUBLIC_URL}/meta/deletion-status?code={code}"));
    let mut page = String::new();
    for _ in 0..100 {
        page = app.page(&format!("/meta/deletion-status?code={code}")).await;
        if page.contains("Completed") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(page.contains("Completed"), "{page}");
    assert_eq!(connected().await, 0, "the deletion disconnected the user's channels");
    assert!(
        app.page("/meta/deletion-status?code=unknown")
            .await
            .contains("We do not know this confirmation code")
    );

    // Deauthorize with a genuine signed request (after a reconnect): the
    // deletion's one was used and is refused.
    connect_all(&app, &client).await;
    assert_eq!(connected().await, 4);
    assert_eq!(post("/webhooks/meta/deauthorize", signed).await.status(), 400);
    assert_eq!(connected().await, 4);
    let deauthorize = sign_request(
        b"test-app-secret",
        &format!(
            r#"{{"algorithm":"HMAC-SHA256","user_id":"{user}","issued_at":{}}}"#,
            now - 1
        ),
    );
    assert_eq!(post("/webhooks/meta/deauthorize", deauthorize).await.status(), 200);
    assert_eq!(connected().await, 0);
    let left: i64 = sqlx::query_scalar("select count(*) from channels where token_enc is not null")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// A signed_request for `user` issued at `issued_at` (none when `None`).
fn signed_for(user: &str, issued_at: Option<i64>) -> String {
    let issued_at = issued_at.map(|t| format!(r#","issued_at":{t}"#)).unwrap_or_default();
    sign_request(
        b"test-app-secret",
        &format!(r#"{{"algorithm":"HMAC-SHA256","user_id":"{user}"{issued_at}}}"#),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_callbacks_refuse_undated_old_future_and_replayed_signed_requests() {
    use bikriagent::meta::signature::{CLOCK_SKEW, SIGNED_REQUEST_MAX_AGE};

    let (app, fake) = app_with_fake_meta().await;
    let client = verified_owner(&app, "a@example.com").await;
    connect_all(&app, &client).await;
    let user = fake.user_id();
    let now = app.clock_now() as i64;
    let outside = reqwest::Client::new();
    let post = |path: &'static str, value: String| {
        let outside = outside.clone();
        let url = app.url(path);
        async move {
            outside
                .post(url)
                .form(&[("signed_request", value)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let requests = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from meta_deletion_requests")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap()
    };
    let connected = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from channels where status <> 'disconnected'")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap()
    };

    // Undated, older than an hour, or ahead of the clock by more than the
    // skew: refused by both callbacks, and nothing happens.
    for refused in [
        signed_for(&user, None),
        signed_for(&user, Some(now - SIGNED_REQUEST_MAX_AGE - 1)),
        signed_for(&user, Some(now + CLOCK_SKEW + 60)),
    ] {
        assert_eq!(post("/webhooks/meta/data-deletion", refused.clone()).await, 400);
        assert_eq!(post("/webhooks/meta/deauthorize", refused).await, 400);
    }
    assert_eq!(requests().await, 0);
    assert_eq!(connected().await, 4);

    // Just inside the hour: accepted once.
    let old = signed_for(&user, Some(now - SIGNED_REQUEST_MAX_AGE + 60));
    assert_eq!(post("/webhooks/meta/deauthorize", old.clone()).await, 200);
    assert_eq!(connected().await, 0);
    // The owner reconnects; a replay of the old deauthorization changes nothing.
    connect_all(&app, &client).await;
    assert_eq!(connected().await, 4);
    assert_eq!(post("/webhooks/meta/deauthorize", old).await, 400);
    assert_eq!(connected().await, 4);

    // Ahead of our clock within the skew: accepted once.
    let ahead = signed_for(&user, Some(now + CLOCK_SKEW - 10));
    assert_eq!(post("/webhooks/meta/data-deletion", ahead.clone()).await, 200);
    assert_eq!(requests().await, 1);
    assert_eq!(
        post("/webhooks/meta/data-deletion", ahead.clone()).await,
        400,
        "replayed"
    );
    // Padding the signature's base64 does not make it new.
    let (signature, payload) = ahead.split_once('.').unwrap();
    assert_eq!(
        post("/webhooks/meta/data-deletion", format!("{signature}=.{payload}")).await,
        400
    );
    // Nor does sending it to the other callback.
    assert_eq!(post("/webhooks/meta/deauthorize", ahead).await, 400);
    assert_eq!(requests().await, 1, "one deletion request");
    let remembered: i64 = sqlx::query_scalar("select count(*) from meta_signed_requests")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(remembered, 2, "the two accepted requests, as hashes");

    // Remembered until they would be too old anyway: an hour later a new
    // callback clears them.
    app.clock
        .advance(time::Duration::seconds(SIGNED_REQUEST_MAX_AGE + CLOCK_SKEW + 120));
    let later = signed_for(&user, Some(app.clock_now() as i64));
    assert_eq!(post("/webhooks/meta/data-deletion", later).await, 200);
    let remembered: i64 = sqlx::query_scalar("select count(*) from meta_signed_requests")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(remembered, 1, "only the new one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_token_marks_the_channel_and_mails_the_owner_once() {
    let (app, _fake) = app_with_fake_meta().await;
    let client = verified_owner(&app, "a@example.com").await;
    connect_all(&app, &client).await;
    let admin = app.db.admin_pool().await;
    let (owner, channel): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("select owner_id, id from channels where meta_id = '1000000001'")
            .fetch_one(&admin)
            .await
            .unwrap();
    let owner = OwnerId::from_verified(owner);
    for _ in 0..2 {
        bikriagent::channels::mark_token_invalid(&app.pool, &app.keys(), owner, channel, PUBLIC_URL)
            .await
            .unwrap();
    }
    assert_eq!(
        bikriagent::channels::status(&app.pool, owner, channel).await.unwrap(),
        ChannelStatus::TokenInvalid
    );
    let mails: i64 = sqlx::query_scalar("select count(*) from mail_outbox where kind = 'channel_token_invalid'")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(mails, 1, "told once");
    let page = client
        .get(app.url("/channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Needs reconnecting"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_can_pause_any_owners_channel_and_owners_cannot_use_the_staff_function() {
    let (app, _fake) = app_with_fake_meta().await;
    let owner_client = verified_owner(&app, "a@example.com").await;
    connect_all(&app, &owner_client).await;
    let admin = app.db.admin_pool().await;
    let (owner, channel): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("select owner_id, id from channels where meta_id = '1000000001'")
            .fetch_one(&admin)
            .await
            .unwrap();
    let (staff, staff_id) = crate::helpers::staff_client(
        &app,
        "sadia@bikriagent.example",
        bikriagent::auth::accounts::Role::Staff,
    )
    .await;
    let page = staff
        .get(app.url("/staff/channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("a@example.com") && page.contains("Rahima Fashion House (Facebook Page)"),
        "{page}"
    );
    assert!(!page.contains("EAAG"), "staff never see tokens");
    let token = csrf_token(&page).unwrap();
    let (owner_s, channel_s) = (owner.to_string(), channel.to_string());
    // A staff pause needs a reason: without one the field says so and nothing changes.
    let response = staff
        .post(app.url("/api/staff_pause_channel"))
        .form(&[
            ("owner_id", owner_s.as_str()),
            ("channel_id", channel_s.as_str()),
            ("reason", "   "),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/staff/channels");
    let page = staff
        .get(app.url("/staff/channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(
            r#"id="reason-error-{channel}" class="field-error">Say why: the owner sees this reason"#
        )),
        "the error is next to this channel's reason field: {page}"
    );
    assert_eq!(
        bikriagent::channels::status(&app.pool, OwnerId::from_verified(owner), channel)
            .await
            .unwrap(),
        ChannelStatus::Connected
    );
    let response = staff
        .post(app.url("/api/staff_pause_channel"))
        .form(&[
            ("owner_id", owner_s.as_str()),
            ("channel_id", channel_s.as_str()),
            ("reason", "Customers report orders paid and never sent"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/staff/channels");
    assert_eq!(
        bikriagent::channels::status(&app.pool, OwnerId::from_verified(owner), channel)
            .await
            .unwrap(),
        ChannelStatus::Paused
    );
    let actor: Option<uuid::Uuid> =
        sqlx::query_scalar("select actor_id from security_events where kind = 'channel_paused'")
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(actor, Some(staff_id), "the staff member is recorded");

    let html = owner_client
        .get(app.url("/channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    let refused = owner_client
        .post(app.url("/api/staff_resume_channel"))
        .form(&[
            ("owner_id", owner_s.as_str()),
            ("channel_id", channel_s.as_str()),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        owner_client
            .get(app.url("/staff/channels"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

/// The channel of `meta_id` that is not disconnected, and its owner.
async fn live_channel(app: &TestApp, meta_id: &str) -> (OwnerId, uuid::Uuid) {
    let (owner, channel): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("select owner_id, id from channels where meta_id = $1 and status <> 'disconnected'")
            .bind(meta_id)
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap();
    (OwnerId::from_verified(owner), channel)
}

/// Posts `fields` from the page at `page` (for its CSRF token).
async fn post_from(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = client.get(app.url(page)).send().await.unwrap().text().await.unwrap();
    let token = csrf_token(&html).unwrap();
    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    client.post(app.url(action)).form(&form).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_pause_is_a_lock_only_staff_lift() {
    let (app, _fake) = app_with_fake_meta().await;
    let owner_client = verified_owner(&app, "a@example.com").await;
    connect_all(&app, &owner_client).await;
    let (owner, channel) = live_channel(&app, "1000000001").await;
    let (staff, _) = crate::helpers::staff_client(
        &app,
        "sadia@bikriagent.example",
        bikriagent::auth::accounts::Role::Staff,
    )
    .await;
    let (owner_s, channel_s) = (owner.as_uuid().to_string(), channel.to_string());
    let reason = "Customers report orders paid and never sent";
    let response = post_from(
        &app,
        &staff,
        "/staff/channels",
        "/api/staff_pause_channel",
        &[("owner_id", &owner_s), ("channel_id", &channel_s), ("reason", reason)],
    )
    .await;
    assert_eq!(location(&response), "/staff/channels");
    let status = || async { bikriagent::channels::status(&app.pool, owner, channel).await.unwrap() };
    assert_eq!(status().await, ChannelStatus::Paused);

    // The owner sees that staff paused it and why, and gets no Resume button.
    let page = owner_client
        .get(app.url("/channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Paused by BikriAgent staff"), "{page}");
    assert!(page.contains(&format!("Reason: {reason}.")), "{page}");
    assert_eq!(page.matches(">Resume</button>").count(), 0, "{page}");

    // The owner's resume (posted anyway) is refused with the reason, and the channel stays paused.
    let id = channel_s.as_str();
    let response = post_from(&app, &owner_client, "/channels", "/api/resume_channel", &[("id", id)]).await;
    assert_eq!(location(&response), "/channels");
    let page = owner_client
        .get(app.url("/channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(
            r#"role="alert" class="notice error">BikriAgent staff paused automatic replies on this channel."#
        ) && page.contains("Only BikriAgent staff can resume it"),
        "{page}"
    );
    assert_eq!(status().await, ChannelStatus::Paused);
    // Pausing it again changes nothing.
    post_from(&app, &owner_client, "/channels", "/api/pause_channel", &[("id", id)]).await;
    post_from(&app, &owner_client, "/channels", "/api/resume_channel", &[("id", id)]).await;
    assert_eq!(status().await, ChannelStatus::Paused);

    // Reconnecting does not lift it, nor does disconnecting and connecting again.
    connect_all(&app, &owner_client).await;
    assert_eq!(status().await, ChannelStatus::Paused, "reconnected in place");
    post_from(
        &app,
        &owner_client,
        "/channels",
        "/api/disconnect_channel",
        &[("id", id)],
    )
    .await;
    connect_all(&app, &owner_client).await;
    let (_, again) = live_channel(&app, "1000000001").await;
    assert_eq!(again, channel, "the same row comes back after a disconnect");
    let (status_again, reason_again): (ChannelStatus, Option<String>) =
        sqlx::query_as("select status, pause_reason from channels where id = $1 and paused_by_staff")
            .bind(again)
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap();
    assert_eq!(
        (status_again, reason_again.as_deref()),
        (ChannelStatus::Paused, Some(reason))
    );

    // Staff lift it; the owner's own pause and resume work again.
    let again_s = again.to_string();
    let response = post_from(
        &app,
        &staff,
        "/staff/channels",
        "/api/staff_resume_channel",
        &[("owner_id", &owner_s), ("channel_id", &again_s)],
    )
    .await;
    assert_eq!(location(&response), "/staff/channels");
    let now = || async { bikriagent::channels::status(&app.pool, owner, again).await.unwrap() };
    assert_eq!(now().await, ChannelStatus::Connected);
    let page = owner_client
        .get(app.url("/channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Paused by BikriAgent staff"), "{page}");
    post_from(
        &app,
        &owner_client,
        "/channels",
        "/api/pause_channel",
        &[("id", &again_s)],
    )
    .await;
    assert_eq!(now().await, ChannelStatus::Paused);
    // An owner's pause is the owner's: staff have no lock to lift there.
    let response = post_from(
        &app,
        &staff,
        "/staff/channels",
        "/api/staff_resume_channel",
        &[("owner_id", &owner_s), ("channel_id", &again_s)],
    )
    .await;
    assert_eq!(location(&response), "/staff/channels");
    assert_eq!(now().await, ChannelStatus::Paused);
    post_from(
        &app,
        &owner_client,
        "/channels",
        "/api/resume_channel",
        &[("id", &again_s)],
    )
    .await;
    assert_eq!(now().await, ChannelStatus::Connected);
}
