//! Security headers on every kind of response.

use bikriagent_server::http::headers::{CSP, HSTS, PERMISSIONS_POLICY, REFERRER_POLICY};

use crate::helpers::spawn_app;

fn assert_security_headers(what: &str, response: &reqwest::Response) {
    let headers = response.headers();
    let expect = |name: &str, value: &str| {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{what}: header {name}"
        );
    };
    expect("content-security-policy", CSP);
    expect("strict-transport-security", "max-age=63072000; includeSubDomains");
    expect("x-content-type-options", "nosniff");
    expect("referrer-policy", "strict-origin-when-cross-origin");
    expect("permissions-policy", "camera=(), microphone=(), geolocation=()");
    expect("cross-origin-opener-policy", "same-origin");
    expect("cross-origin-resource-policy", "same-origin");
    assert!(headers.get("server").is_none(), "{what}: no server banner");
    assert!(headers.get("x-powered-by").is_none(), "{what}: no x-powered-by");
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert_eq!(request_id.len(), 32, "{what}: a request id");
}

#[test]
fn the_policy_constants_are_the_exact_required_values() {
    assert_eq!(HSTS, "max-age=63072000; includeSubDomains");
    assert_eq!(REFERRER_POLICY, "strict-origin-when-cross-origin");
    assert_eq!(PERMISSIONS_POLICY, "camera=(), microphone=(), geolocation=()");
    for directive in [
        "script-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(CSP.split("; ").any(|d| d == directive), "CSP lacks {directive}");
    }
    assert!(!CSP.contains("unsafe-inline") && !CSP.contains("unsafe-eval"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = spawn_app().await;

    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    assert_security_headers("page", &page);
    assert_eq!(page.headers()["cache-control"], "no-store");

    let asset = app.get(bikriagent_app::assets::url("main.css")).await;
    assert_eq!(asset.status(), 200);
    assert_security_headers("asset", &asset);
    assert_eq!(asset.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(asset.headers()["content-type"], "text/css; charset=utf-8");

    let missing = app.get("/no/such/page").await;
    assert_eq!(missing.status(), 404);
    assert_security_headers("404", &missing);

    let missing_asset = app.get("/assets/main.000000000000.css").await;
    assert_eq!(missing_asset.status(), 404);
    assert_security_headers("404 asset", &missing_asset);

    let refused = app
        .get("/webhooks/meta?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=42")
        .await;
    assert_eq!(refused.status(), 403);
    assert_security_headers("webhook refusal", &refused);

    let accepted = app
        .get("/webhooks/meta?hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=1158201444")
        .await;
    assert_eq!(accepted.status(), 200);
    assert_security_headers("webhook", &accepted);
    assert_eq!(accepted.text().await.unwrap(), "1158201444");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_ours_and_unique() {
    let app = spawn_app().await;
    let forged = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "forged-id")
        .send()
        .await
        .unwrap();
    let second = app.get("/healthz").await;
    let first_id = forged.headers()["x-request-id"].to_str().unwrap().to_owned();
    let second_id = second.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(first_id, "forged-id");
    assert!(first_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(first_id, second_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_form_bodies_are_refused() {
    let app = spawn_app().await;
    let body = "a=".to_owned() + &"x".repeat(bikriagent_server::http::FORM_BODY_LIMIT + 1);
    let response = app
        .client
        .post(app.url("/api/anything"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", body.len().to_string())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_security_headers("413", &response);
}
