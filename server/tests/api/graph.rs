//! The Graph API client against the fake Meta, over real HTTP: the Login
//! dialog URL, the whole code flow with PKCE, asset listing, webhook
//! subscriptions, sending, and how Meta's errors are classified.

use bikriagent::meta::graph::{ErrorKind, GraphClient, GraphError, Platform, SCOPES};
use bikriagent_server::fake_meta::FakeMeta;
use reqwest::Url;
use secrecy::{ExposeSecret as _, SecretString};

const APP_ID: &str = "1234567890";
const APP_SECRET: &str = "test-app-secret";
const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/meta/callback";

async fn fake_and_client() -> (FakeMeta, GraphClient) {
    let fake = FakeMeta::spawn(0, APP_ID, APP_SECRET).await.unwrap();
    let client = GraphClient::new(&fake.graph_url(), APP_ID, SecretString::from(APP_SECRET)).unwrap();
    (fake, client)
}

/// Follows the dialog with `auto=1` like a browser that approves, without
/// following the redirect, and returns the callback URL it points to.
async fn approve(dialog_url: &str) -> Url {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser.get(format!("{dialog_url}&auto=1")).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()[reqwest::header::LOCATION].to_str().unwrap();
    Url::parse(location).unwrap()
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A code for the client's app, ready to be exchanged with the returned verifier.
async fn fresh_code(fake: &FakeMeta, client: &GraphClient) -> (String, String) {
    let start = client.authorize_url(&fake.dialog_url(), REDIRECT_URI).unwrap();
    let callback = approve(&start.url).await;
    (query_param(&callback, "code").unwrap(), start.pkce_verifier)
}

fn assert_api_error(result: Result<impl std::fmt::Debug, GraphError>, want_status: u16, want_kind: ErrorKind) {
    match result {
        Err(GraphError::Api { status, kind, .. }) => {
            assert_eq!((status, kind), (want_status, want_kind));
        }
        other => panic!("expected an API error {want_status}/{want_kind:?}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_url_asks_for_every_scope_with_state_and_pkce() {
    let (fake, client) = fake_and_client().await;
    let start = client.authorize_url(&fake.dialog_url(), REDIRECT_URI).unwrap();
    let url = Url::parse(&start.url).unwrap();
    assert!(start.url.starts_with(&fake.dialog_url()));
    assert_eq!(query_param(&url, "client_id").as_deref(), Some(APP_ID));
    assert_eq!(query_param(&url, "redirect_uri").as_deref(), Some(REDIRECT_URI));
    assert_eq!(query_param(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(query_param(&url, "state"), Some(start.state.clone()));
    assert!(start.state.len() >= 16);
    let scope = query_param(&url, "scope").unwrap();
    let granted: Vec<&str> = scope.split([' ', ',']).collect();
    for wanted in SCOPES {
        assert!(granted.contains(wanted), "{wanted} missing from {scope}");
    }
    assert_eq!(query_param(&url, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(
        query_param(&url, "code_challenge"),
        Some(bikriagent::meta::graph::pkce_challenge_s256(&start.pkce_verifier))
    );
    assert!(
        !start.url.contains(&start.pkce_verifier),
        "the verifier must stay server-side"
    );
    assert!(!start.url.contains(APP_SECRET));
    assert!(!format!("{start:?}").contains(&start.pkce_verifier));

    // Each start is fresh.
    let again = client.authorize_url(&fake.dialog_url(), REDIRECT_URI).unwrap();
    assert_ne!(again.state, start.state);
    assert_ne!(again.pkce_verifier, start.pkce_verifier);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_code_flow_lists_pages_instagram_and_whatsapp() {
    let (fake, client) = fake_and_client().await;
    let start = client.authorize_url(&fake.dialog_url(), REDIRECT_URI).unwrap();

    // Without auto=1 the dialog is a page with a plain Continue link.
    let page = reqwest::get(&start.url).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Fake Meta: BikriAgent wants to manage your Pages"));
    assert!(html.contains("Continue"));
    assert!(!html.contains("<script"));

    let callback = approve(&start.url).await;
    assert!(callback.as_str().starts_with(REDIRECT_URI));
    assert_eq!(query_param(&callback, "state"), Some(start.state.clone()));
    let code = query_param(&callback, "code").unwrap();

    // Spawned: the exchange must be usable from a multi-threaded handler.
    let exchange = {
        let client = client.clone();
        let verifier = start.pkce_verifier.clone();
        tokio::spawn(async move { client.exchange_code(&code, REDIRECT_URI, &verifier).await })
    };
    let short = exchange.await.unwrap().unwrap();
    assert!(short.token.expose_secret().starts_with("EAAGfakeUserToken"));
    assert_eq!(short.expires_in, Some(5_183_944));
    assert_eq!(fake.exchanges(), 1);

    // Only long-lived tokens may list assets.
    assert_api_error(client.pages(&short.token).await, 400, ErrorKind::InvalidToken);

    let long = client.long_lived(&short.token).await.unwrap();
    assert!(long.token.expose_secret().starts_with("EAAGfakeLongLivedToken"));
    assert!(long.expires_in.is_some());
    assert_eq!(fake.exchanges(), 2);

    let pages = client.pages(&long.token).await.unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].page_id, "1000000001");
    assert_eq!(pages[0].name, "Rahima Fashion House");
    assert_eq!(pages[0].access_token.expose_secret(), "EAAGfakePageToken1000000001");
    let instagram = pages[0].instagram.as_ref().unwrap();
    assert_eq!(
        (instagram.id.as_str(), instagram.username.as_str()),
        ("1784000000001", "rahima.fashion")
    );
    assert_eq!(pages[1].page_id, "1000000002");
    assert!(pages[1].instagram.is_none());
    assert_eq!(pages.iter().filter(|page| page.instagram.is_some()).count(), 1);
    // Debug output never shows tokens.
    assert!(!format!("{pages:?}").contains("EAAGfakePageToken"));

    let numbers = client.whatsapp_numbers(&long.token).await.unwrap();
    assert_eq!(numbers.len(), 1);
    assert_eq!(numbers[0].phone_number_id, "2000000001");
    assert_eq!(numbers[0].display_phone_number, "+880 1711-000000");
    assert_eq!(numbers[0].verified_name, "Rahima Fashion House");
    assert_eq!(numbers[0].waba_id, "3000000001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pkce_verifier_is_refused() {
    let (fake, client) = fake_and_client().await;
    let (code, _verifier) = fresh_code(&fake, &client).await;
    let other = client.authorize_url(&fake.dialog_url(), REDIRECT_URI).unwrap();
    let refused = client.exchange_code(&code, REDIRECT_URI, &other.pkce_verifier).await;
    match refused {
        Err(GraphError::Api {
            status: 400,
            code: 100,
            kind: ErrorKind::Other,
            ..
        }) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(fake.exchanges(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_bound_to_another_redirect_uri_is_refused() {
    let (fake, client) = fake_and_client().await;
    let (code, verifier) = fresh_code(&fake, &client).await;
    let refused = client
        .exchange_code(&code, "http://127.0.0.1:9/elsewhere", &verifier)
        .await;
    assert_api_error(refused, 400, ErrorKind::Other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_works_only_once() {
    let (fake, client) = fake_and_client().await;
    let (code, verifier) = fresh_code(&fake, &client).await;
    client.exchange_code(&code, REDIRECT_URI, &verifier).await.unwrap();
    match client.exchange_code(&code, REDIRECT_URI, &verifier).await {
        Err(GraphError::Api {
            status: 400,
            code: 100,
            subcode: Some(36009),
            kind: ErrorKind::Other,
        }) => {}
        other => panic!("expected the reused code to be refused, got {other:?}"),
    }
    assert_eq!(fake.exchanges(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_app_secret_is_refused_and_not_echoed() {
    let (fake, client) = fake_and_client().await;
    let (code, verifier) = fresh_code(&fake, &client).await;
    let impostor = GraphClient::new(&fake.graph_url(), APP_ID, SecretString::from("not-the-secret")).unwrap();
    let error = impostor
        .exchange_code(&code, REDIRECT_URI, &verifier)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            GraphError::Api {
                status: 400,
                code: 100,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains("not-the-secret"));
    // The code was not burned by the failed attempt.
    client.exchange_code(&code, REDIRECT_URI, &verifier).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_recorded_and_need_the_right_token() {
    let (fake, client) = fake_and_client().await;
    let page_token = SecretString::from("EAAGfakePageToken1000000001");
    client.subscribe_page("1000000001", &page_token).await.unwrap();
    client.unsubscribe_page("1000000001", &page_token).await.unwrap();

    let user_token = SecretString::from(fake.issue_user_token());
    client.subscribe_waba("3000000001", &user_token).await.unwrap();

    assert_eq!(
        fake.subscriptions(),
        vec![
            ("1000000001".to_owned(), true),
            ("1000000001".to_owned(), false),
            ("3000000001".to_owned(), true),
        ]
    );

    // Another Page's token does not work.
    let wrong = SecretString::from("EAAGfakePageToken1000000002");
    assert_api_error(
        client.subscribe_page("1000000001", &wrong).await,
        400,
        ErrorKind::InvalidToken,
    );
    assert_api_error(
        client.subscribe_waba("3000000001", &wrong).await,
        400,
        ErrorKind::InvalidToken,
    );
    assert_eq!(fake.subscriptions().len(), 3);

    // Ids that could change the path are refused before any request.
    assert!(matches!(
        client.subscribe_page("../me", &page_token).await,
        Err(GraphError::Malformed(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_text_uses_each_platforms_shape_and_returns_the_message_id() {
    let (fake, client) = fake_and_client().await;
    let page_token = SecretString::from("EAAGfakePageToken1000000001");
    let user_token = SecretString::from(fake.issue_user_token());

    let messenger_id = client
        .send_text(
            Platform::Messenger,
            "1000000001",
            &page_token,
            "7000000001",
            "Dam 1200 taka",
        )
        .await
        .unwrap();
    assert!(messenger_id.starts_with("m_"));

    let instagram_id = client
        .send_text(
            Platform::Instagram,
            "1784000000001",
            &page_token,
            "7100000001",
            "Ache, apu",
        )
        .await
        .unwrap();
    assert!(instagram_id.starts_with("m_"));

    let whatsapp_id = client
        .send_text(
            Platform::Whatsapp,
            "2000000001",
            &user_token,
            "8801711000001",
            "Order confirmed",
        )
        .await
        .unwrap();
    assert!(whatsapp_id.starts_with("wamid."));

    let sent = fake.sent();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].sender_id, "1000000001");
    assert_eq!(sent[0].token, "EAAGfakePageToken1000000001");
    assert_eq!(
        sent[0].body,
        serde_json::json!({
            "recipient": { "id": "7000000001" },
            "messaging_type": "RESPONSE",
            "message": { "text": "Dam 1200 taka" },
        })
    );
    assert_eq!(sent[1].sender_id, "1784000000001");
    assert_eq!(sent[1].body["recipient"]["id"], "7100000001");
    assert_eq!(sent[2].sender_id, "2000000001");
    assert_eq!(sent[2].token, user_token.expose_secret());
    assert_eq!(
        sent[2].body,
        serde_json::json!({
            "messaging_product": "whatsapp",
            "to": "8801711000001",
            "type": "text",
            "text": { "body": "Order confirmed" },
        })
    );

    // The wrong token is refused and nothing is recorded.
    let wrong = SecretString::from("EAAGfakePageToken1000000002");
    assert_api_error(
        client
            .send_text(Platform::Messenger, "1000000001", &wrong, "7000000001", "x")
            .await,
        400,
        ErrorKind::InvalidToken,
    );
    assert_api_error(
        client
            .send_text(Platform::Whatsapp, "2000000001", &page_token, "8801711000001", "x")
            .await,
        400,
        ErrorKind::InvalidToken,
    );
    assert_eq!(fake.sent().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_are_classified_by_code() {
    let (fake, client) = fake_and_client().await;
    let page_token = SecretString::from("EAAGfakePageToken1000000001");
    let send = || client.send_text(Platform::Messenger, "1000000001", &page_token, "7000000001", "hello");

    let cases: [(u16, i64, Option<i64>, ErrorKind); 6] = [
        (400, 190, None, ErrorKind::InvalidToken),
        (400, 10, None, ErrorKind::Permission),
        (400, 613, None, ErrorKind::RateLimited),
        (400, 551, None, ErrorKind::UserUnavailable),
        (400, 100, Some(1_545_041), ErrorKind::UserUnavailable),
        (500, 1, None, ErrorKind::Transient),
    ];
    for (status, code, subcode, kind) in cases {
        fake.fail_next("/messages", status, code, subcode, 1);
        match send().await {
            Err(GraphError::Api {
                status: got_status,
                code: got_code,
                subcode: got_subcode,
                kind: got_kind,
            }) => {
                assert_eq!(
                    (got_status, got_code, got_subcode, got_kind),
                    (status, code, subcode, kind)
                );
            }
            other => panic!("expected {status}/{code}, got {other:?}"),
        }
    }
    // The failures were used up: the next send goes through.
    send().await.unwrap();
    assert_eq!(fake.sent().len(), 1);

    // `times` counts, and only matching paths fail.
    fake.fail_next("subscribed_apps", 503, 2, None, 2);
    send().await.unwrap();
    for _ in 0..2 {
        assert_api_error(
            client.subscribe_page("1000000001", &page_token).await,
            503,
            ErrorKind::Transient,
        );
    }
    client.subscribe_page("1000000001", &page_token).await.unwrap();

    // Token endpoints too.
    let user_token = SecretString::from(fake.issue_user_token());
    fake.fail_next("oauth/access_token", 400, 190, Some(463), 1);
    assert_api_error(client.long_lived(&user_token).await, 400, ErrorKind::InvalidToken);
    let (code, verifier) = fresh_code(&fake, &client).await;
    fake.fail_next("oauth/access_token", 500, 2, None, 1);
    assert_api_error(
        client.exchange_code(&code, REDIRECT_URI, &verifier).await,
        500,
        ErrorKind::Transient,
    );
    client.exchange_code(&code, REDIRECT_URI, &verifier).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_errors_are_network_and_do_not_leak_secrets() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = GraphClient::new(
        &format!("http://127.0.0.1:{port}/v21.0"),
        APP_ID,
        SecretString::from(APP_SECRET),
    )
    .unwrap();
    let token = SecretString::from("EAAGfakeUserTokenSECRET");
    let error = client.long_lived(&token).await.unwrap_err();
    assert!(matches!(error, GraphError::Network(_)), "{error:?}");
    let text = format!("{error} {error:?}");
    assert!(!text.contains("SECRET") && !text.contains(APP_SECRET), "{text}");
}

#[test]
fn error_kinds_follow_metas_codes() {
    let table: &[(u16, i64, Option<i64>, ErrorKind)] = &[
        (400, 190, None, ErrorKind::InvalidToken),
        (400, 190, Some(463), ErrorKind::InvalidToken),
        (401, 190, Some(460), ErrorKind::InvalidToken),
        (403, 10, None, ErrorKind::Permission),
        (403, 200, None, ErrorKind::Permission),
        (403, 230, None, ErrorKind::Permission),
        (403, 299, None, ErrorKind::Permission),
        (400, 4, None, ErrorKind::RateLimited),
        (400, 17, None, ErrorKind::RateLimited),
        (400, 32, None, ErrorKind::RateLimited),
        (400, 613, None, ErrorKind::RateLimited),
        (400, 368, None, ErrorKind::TemporarilyBlocked),
        (400, 551, None, ErrorKind::UserUnavailable),
        (400, 100, Some(1_545_041), ErrorKind::UserUnavailable),
        (500, 1, None, ErrorKind::Transient),
        (500, 2, None, ErrorKind::Transient),
        (400, 2, None, ErrorKind::Transient),
        (503, 0, None, ErrorKind::Transient),
        (502, 100, None, ErrorKind::Transient),
        (400, 100, None, ErrorKind::Other),
        (400, 100, Some(33), ErrorKind::Other),
        (404, 0, None, ErrorKind::Other),
        (400, 300, None, ErrorKind::Other),
    ];
    for &(status, code, subcode, kind) in table {
        assert_eq!(
            ErrorKind::classify(status, code, subcode),
            kind,
            "status {status}, code {code}, subcode {subcode:?}"
        );
    }
}

#[test]
fn platforms_have_stable_names() {
    for (platform, name) in [
        (Platform::Messenger, "messenger"),
        (Platform::Instagram, "instagram"),
        (Platform::Whatsapp, "whatsapp"),
    ] {
        assert_eq!(platform.as_str(), name);
        assert_eq!(Platform::parse(name), Some(platform));
        assert_eq!(serde_json::to_value(platform).unwrap(), serde_json::json!(name));
    }
    assert_eq!(Platform::parse("facebook"), None);
}
