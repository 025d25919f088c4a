//! The public pages: server-rendered, no script at all.

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_landing_page_explains_the_product_and_links_to_signup_and_login() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let html = response.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..80.min(html.len())]);
    assert!(html.contains("<title>BikriAgent"), "title set through leptos_meta");
    assert!(html.contains(r#"href="/signup""#));
    assert!(html.contains(r#"href="/login""#));
    assert!(html.contains("never ask for your Facebook"));
    assert!(html.contains(bikriagent_app::assets::url("main.css")));
    assert!(!html.to_lowercase().contains("<script"), "pages carry no script");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resources"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_get_a_friendly_404_without_internals() {
    let app = spawn_app().await;
    let response = app.get("/products/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("We could not find that page"));
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("leptos") && !html.contains("axum"));
}

#[test]
fn assets_have_content_hashed_names() {
    let css = bikriagent_app::assets::by_name("main.css").expect("main.css embedded");
    assert!(css.url.starts_with("/assets/main."), "{}", css.url);
    assert!(css.url.ends_with(".css"));
    let hash = css.url.trim_start_matches("/assets/main.").trim_end_matches(".css");
    assert_eq!(hash.len(), 12);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(bikriagent_app::assets::by_name("favicon.svg").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_favicon_is_served_where_browsers_look_for_it() {
    let app = crate::helpers::spawn_app().await;
    let response = app.get("/favicon.ico").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
}
