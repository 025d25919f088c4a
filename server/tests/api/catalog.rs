//! Business profile, products, variants, rules and imports over HTTP, and
//! the cross-tenant matrix.

use bikriagent::tenancy::{OwnerId, begin_tenant_tx};

use crate::helpers::{PUBLIC_URL, TestApp, browser, csrf_token, location, spawn_app, spawn_app_with};

const PASSWORD: &str = "purple-river-lamp-9417";

/// Signs up and logs in an owner on its own client.
async fn owner(app: &TestApp, email: &str, business: &str) -> reqwest::Client {
    let client = browser();
    let page = |path: &str| {
        let client = client.clone();
        let url = app.url(path);
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let token = csrf_token(&page("/signup").await).unwrap();
    client
        .post(app.url("/api/signup"))
        .form(&[
            ("name", "Test Owner"),
            ("email", email),
            ("phone", "01911-000000"),
            ("business_name", business),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    let token = csrf_token(&page("/login").await).unwrap();
    let response = client
        .post(app.url("/api/login"))
        .form(&[("email", email), ("password", PASSWORD), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/dashboard");
    client
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    // The session's token, from a page that always has a form.
    let html = client
        .get(app.url("/account/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).expect("a form with a CSRF token");
    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    client
        .post(app.url(action))
        .header("referer", format!("{PUBLIC_URL}{page}"))
        .header("origin", PUBLIC_URL)
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn text(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    client.get(app.url(path)).send().await.unwrap().text().await.unwrap()
}

async fn create_product(app: &TestApp, client: &reqwest::Client, sku: &str, name: &str, price: &str) -> String {
    let response = post(
        app,
        client,
        "/catalog/new",
        "/api/save_product",
        &[
            ("sku", sku),
            ("name", name),
            ("name_bn", "টাঙ্গাইল শাড়ি"),
            ("description", "Soft cotton"),
            ("price", price),
            ("sale_price", ""),
            ("stock", "5"),
            ("tags", "saree; cotton"),
            ("image_urls", ""),
            ("active", "on"),
        ],
    )
    .await;
    let to = location(&response);
    assert!(to.starts_with("/catalog/") && to.len() > 20, "created: {to}");
    to
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_manage_products_variants_profile_and_rules() {
    let app = spawn_app().await;
    let client = owner(&app, "a@example.com", "Shop A").await;
    let page = create_product(&app, &client, "SAREE-1", "Tangail saree", "1,250.50").await;
    let html = text(&app, &client, &page).await;
    assert!(html.contains(r#"value="1250.50""#), "price kept exactly in minor units");
    assert!(html.contains("টাঙ্গাইল শাড়ি"), "Bangla kept");

    // Bad input: errors next to the fields, input kept, nothing saved.
    let bad = post(
        &app,
        &client,
        "/catalog/new",
        "/api/save_product",
        &[
            ("sku", "bad sku!"),
            ("name", ""),
            ("name_bn", ""),
            ("description", ""),
            ("price", "12.345"),
            ("sale_price", ""),
            ("stock", "-1"),
            ("tags", ""),
            ("image_urls", "http://insecure.example/a.png"),
        ],
    )
    .await;
    assert_eq!(location(&bad), "/catalog/new");
    let html = text(&app, &client, "/catalog/new").await;
    for field in ["sku", "name", "price", "stock", "image_urls"] {
        assert!(html.contains(&format!(r#"id="{field}-error""#)), "{field} error shown");
    }
    assert!(html.contains(r#"value="bad sku!""#));

    // Edit and variants.
    let id = page.trim_start_matches("/catalog/").to_owned();
    post(
        &app,
        &client,
        &page,
        "/api/save_product",
        &[
            ("id", &id),
            ("sku", "SAREE-1"),
            ("name", "Tangail cotton saree"),
            ("name_bn", ""),
            ("description", ""),
            ("price", "1300"),
            ("sale_price", "1200"),
            ("stock", ""),
            ("tags", ""),
            ("image_urls", ""),
            ("active", "on"),
        ],
    )
    .await;
    post(
        &app,
        &client,
        &page,
        "/api/add_variant",
        &[
            ("product_id", &id),
            ("size", "Free"),
            ("colour", "Red"),
            ("price_delta", "-50"),
            ("variant_stock", "2"),
        ],
    )
    .await;
    let html = text(&app, &client, &page).await;
    assert!(html.contains("Tangail cotton saree"));
    assert!(html.contains("<td>1250</td>"), "variant price = 1300 - 50: {html}");
    let list = text(&app, &client, "/catalog?q=cotton").await;
    assert!(list.contains("Tangail cotton saree"));
    assert!(list.contains("1200"), "sale price listed");
    assert!(
        text(&app, &client, "/catalog?q=nothing-like-this")
            .await
            .contains("0 products")
    );

    // Archive hides it from the list.
    post(
        &app,
        &client,
        &page,
        "/api/archive_product",
        &[("id", &id), ("archive", "true")],
    )
    .await;
    assert!(!text(&app, &client, "/catalog").await.contains("Tangail cotton saree"));
    assert!(
        text(&app, &client, "/catalog?archived=1")
            .await
            .contains("Tangail cotton saree")
    );

    // Profile, delivery, payment, rules, FAQ.
    post(
        &app,
        &client,
        "/business",
        "/api/save_profile",
        &[
            ("name", "Shop A"),
            ("description", "Sarees"),
            ("city", "Dhaka"),
            ("currency", "BDT"),
            ("answers_english", "on"),
            ("answers_bangla", "on"),
            ("opening_hours", "10-8"),
            ("return_policy", "7 days"),
        ],
    )
    .await;
    post(
        &app,
        &client,
        "/business",
        "/api/add_delivery_area",
        &[
            ("area_name", "Inside Dhaka"),
            ("charge", "60"),
            ("min_days", "1"),
            ("max_days", "2"),
        ],
    )
    .await;
    post(
        &app,
        &client,
        "/business",
        "/api/add_payment_method",
        &[("kind", "bkash"), ("instructions", "Send to 01711-000000")],
    )
    .await;
    let html = text(&app, &client, "/business").await;
    assert!(html.contains("Inside Dhaka") && html.contains("৳60") && html.contains("1–2"));
    assert!(html.contains("Send to 01711-000000"));
    let no_language = post(
        &app,
        &client,
        "/business",
        "/api/save_profile",
        &[
            ("name", "Shop A"),
            ("description", ""),
            ("city", ""),
            ("currency", "BDT"),
            ("opening_hours", ""),
            ("return_policy", ""),
        ],
    )
    .await;
    assert_eq!(location(&no_language), "/business");
    assert!(
        text(&app, &client, "/business")
            .await
            .contains(r#"id="languages-error""#)
    );
    post(
        &app,
        &client,
        "/rules",
        "/api/save_rules",
        &[
            ("tone", "formal"),
            ("never_say", "free delivery"),
            ("review_topics", "wholesale"),
            ("greeting", "Assalamu alaikum!"),
            ("away_message", ""),
            ("holding_message", ""),
        ],
    )
    .await;
    post(
        &app,
        &client,
        "/rules",
        "/api/add_faq",
        &[
            ("patterns", "delivery koto din?\nডেলিভারি কত দিন?"),
            ("answer", "1-2 days in Dhaka."),
        ],
    )
    .await;
    let html = text(&app, &client, "/rules").await;
    assert!(html.contains("Assalamu alaikum!") && html.contains("ডেলিভারি কত দিন?") && html.contains("free delivery"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_a_cannot_touch_owner_b_through_any_page_or_function() {
    let app = spawn_app().await;
    let a = owner(&app, "a@example.com", "Shop A").await;
    let b = owner(&app, "b@example.com", "Shop B").await;
    let b_page = create_product(&app, &b, "B-SECRET", "B's secret product", "999").await;
    let b_id = b_page.trim_start_matches("/catalog/").to_owned();
    post(
        &app,
        &b,
        &b_page,
        "/api/add_variant",
        &[
            ("product_id", &b_id),
            ("size", "L"),
            ("colour", ""),
            ("price_delta", ""),
            ("variant_stock", ""),
        ],
    )
    .await;
    post(
        &app,
        &b,
        "/business",
        "/api/add_delivery_area",
        &[
            ("area_name", "B area"),
            ("charge", "10"),
            ("min_days", "1"),
            ("max_days", "1"),
        ],
    )
    .await;
    post(
        &app,
        &b,
        "/rules",
        "/api/add_faq",
        &[("patterns", "b?"), ("answer", "B answer")],
    )
    .await;

    // Read: 404, never the row.
    let response = a.get(app.url(&b_page)).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(!response.text().await.unwrap().contains("B's secret product"));
    assert!(!text(&app, &a, "/catalog?q=secret").await.contains("B-SECRET"));
    assert!(!text(&app, &a, "/business").await.contains("B area"));
    assert!(!text(&app, &a, "/rules").await.contains("B answer"));

    // Write: edit, archive, variants, delete-by-id all miss.
    let admin = app.db.admin_pool().await;
    let variant_id: String = sqlx::query_scalar("select id::text from product_variants")
        .fetch_one(&admin)
        .await
        .unwrap();
    let area_id: String = sqlx::query_scalar("select id::text from delivery_areas")
        .fetch_one(&admin)
        .await
        .unwrap();
    let faq_id: String = sqlx::query_scalar("select id::text from faq_entries")
        .fetch_one(&admin)
        .await
        .unwrap();
    post(
        &app,
        &a,
        "/catalog/new",
        "/api/save_product",
        &[
            ("id", &b_id),
            ("sku", "B-SECRET"),
            ("name", "hijacked"),
            ("name_bn", ""),
            ("description", ""),
            ("price", "1"),
            ("sale_price", ""),
            ("stock", ""),
            ("tags", ""),
            ("image_urls", ""),
            ("active", "on"),
        ],
    )
    .await;
    post(
        &app,
        &a,
        "/catalog",
        "/api/archive_product",
        &[("id", &b_id), ("archive", "true")],
    )
    .await;
    post(
        &app,
        &a,
        "/catalog",
        "/api/add_variant",
        &[
            ("product_id", &b_id),
            ("size", "XL"),
            ("colour", ""),
            ("price_delta", ""),
            ("variant_stock", ""),
        ],
    )
    .await;
    post(
        &app,
        &a,
        "/catalog",
        "/api/remove_variant",
        &[("product_id", &b_id), ("variant_id", &variant_id)],
    )
    .await;
    post(&app, &a, "/business", "/api/remove_delivery_area", &[("id", &area_id)]).await;
    post(&app, &a, "/rules", "/api/remove_faq", &[("id", &faq_id)]).await;
    let (name, archived, variants, areas, faqs): (String, bool, i64, i64, i64) = sqlx::query_as(
        "select name, archived_at is not null, (select count(*) from product_variants), \
                (select count(*) from delivery_areas), (select count(*) from faq_entries) from products where sku = 'B-SECRET'",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert_eq!(
        (name.as_str(), archived, variants, areas, faqs),
        ("B's secret product", false, 1, 1, 1)
    );

    // Import into B: A's confirmed import only ever writes A's rows.
    let a_id: uuid::Uuid = sqlx::query_scalar("select id from accounts where email = 'a@example.com'")
        .fetch_one(&admin)
        .await
        .unwrap();
    let b_import: uuid::Uuid = {
        let b_owner: uuid::Uuid = sqlx::query_scalar("select id from accounts where email = 'b@example.com'")
            .fetch_one(&admin)
            .await
            .unwrap();
        let preview =
            bikriagent::catalog::csv_import::parse_csv(bikriagent::catalog::csv_import::TEMPLATE_CSV.as_bytes());
        bikriagent::catalog::store::save_preview(&app.pool, OwnerId::from_verified(b_owner), "csv", &preview)
            .await
            .unwrap()
    };
    let response = post(
        &app,
        &a,
        "/catalog/import",
        "/api/confirm_import",
        &[("id", &b_import.to_string())],
    )
    .await;
    assert_eq!(location(&response), "/catalog/import");
    assert_eq!(
        app.get(&format!("/catalog/import/{b_import}")).await.status(),
        302,
        "anonymous: to login"
    );
    assert_eq!(
        a.get(app.url(&format!("/catalog/import/{b_import}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let a_products: i64 = sqlx::query_scalar("select count(*) from products where owner_id = $1")
        .bind(a_id)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(a_products, 0);

    // RLS alone: a query that forgets its owner filter sees only the scoped owner's rows.
    let mut tx = begin_tenant_tx(&app.pool, OwnerId::from_verified(a_id)).await.unwrap();
    for table in [
        "products",
        "product_variants",
        "delivery_areas",
        "faq_entries",
        "catalog_imports",
        "business_profiles",
    ] {
        let foreign: i64 = sqlx::query_scalar(&format!("select count(*) from {table} where owner_id <> $1"))
            .bind(a_id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(foreign, 0, "{table}: RLS hides other owners");
    }
}

async fn upload(app: &TestApp, client: &reqwest::Client, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let html = text(app, client, "/catalog/import").await;
    let start = html.find("/api/import_csv?csrf_token=").unwrap() + "/api/import_csv?csrf_token=".len();
    let token = &html[start..start + 43];
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str("text/csv")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    client
        .post(app.url(&format!("/api/import_csv?csrf_token={token}")))
        .header("origin", PUBLIC_URL)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_import_previews_then_imports_everything_or_nothing() {
    let app = spawn_app().await;
    let client = owner(&app, "a@example.com", "Shop A").await;
    let template = client.get(app.url("/catalog/template.csv")).send().await.unwrap();
    assert!(
        template.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let template = template.bytes().await.unwrap().to_vec();

    let response = upload(&app, &client, "products.csv", template.clone()).await;
    let preview_page = location(&response);
    assert!(preview_page.starts_with("/catalog/import/"), "{preview_page}");
    let html = text(&app, &client, &preview_page).await;
    assert!(
        html.contains("Import 2 products") || html.contains("Import 3 products"),
        "{html}"
    );
    let import_id = preview_page.trim_start_matches("/catalog/import/").to_owned();
    let count_products = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from products")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap()
    };
    assert_eq!(count_products().await, 0, "nothing saved before confirmation");
    let done = post(
        &app,
        &client,
        &preview_page,
        "/api/confirm_import",
        &[("id", &import_id)],
    )
    .await;
    assert_eq!(location(&done), "/catalog");
    let imported = count_products().await;
    assert!(imported >= 2);
    let bangla: i64 = sqlx::query_scalar("select count(*) from products where name_bn like '%শাড়ি%'")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(bangla, 1, "Bangla text intact");

    // One bad row: the preview shows its line, and nothing can be imported.
    let mut bad = String::from_utf8(template.clone()).unwrap();
    bad.push_str("BROKEN-1,Broken item,,,not-a-price,,,,,,,,,\n");
    let response = upload(&app, &client, "bad.csv", bad.into_bytes()).await;
    let page = location(&response);
    let html = text(&app, &client, &page).await;
    assert!(html.contains("rows have problems"), "{html}");
    assert!(!html.contains("/api/confirm_import"), "no import button");
    let forced = post(
        &app,
        &client,
        &page,
        "/api/confirm_import",
        &[("id", page.trim_start_matches("/catalog/import/"))],
    )
    .await;
    assert_eq!(location(&forced), "/catalog/import");
    assert_eq!(count_products().await, imported, "nothing half-imported");

    // A renamed binary is refused by content, whatever its name.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let response = upload(&app, &client, "products.csv", png).await;
    assert_eq!(location(&response), "/catalog/import");
    assert!(
        text(&app, &client, "/catalog/import")
            .await
            .contains(r#"id="file-error""#)
    );

    // Over 2 MiB is refused.
    let mut huge = template.clone();
    huge.resize(2 * 1024 * 1024 + 10, b' ');
    let response = upload(&app, &client, "huge.csv", huge).await;
    assert!(
        response.status() == 413 || location(&response) == "/catalog/import",
        "{}",
        response.status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_import_refuses_private_addresses_and_imports_are_rate_limited() {
    let app = spawn_app().await;
    let client = owner(&app, "a@example.com", "Shop A").await;
    for url in [
        "https://127.0.0.1/feed.json",
        "https://169.254.169.254/latest",
        "https://2130706433/feed",
        "https://metadata.google.internal/x",
    ] {
        let response = post(&app, &client, "/catalog/import", "/api/import_url", &[("url", url)]).await;
        assert_eq!(location(&response), "/catalog/import", "{url}");
        let html = text(&app, &client, "/catalog/import").await;
        assert!(html.contains(r#"id="url-error""#), "{url} refused with a message");
    }
    for _ in 0..6 {
        post(
            &app,
            &client,
            "/catalog/import",
            "/api/import_url",
            &[("url", "https://10.0.0.1/feed")],
        )
        .await;
    }
    let limited = post(
        &app,
        &client,
        "/catalog/import",
        "/api/import_url",
        &[("url", "https://10.0.0.1/feed")],
    )
    .await;
    assert_eq!(limited.status(), 429, "a readable 429 page");
    assert!(limited.headers().contains_key("retry-after"));
    assert!(limited.text().await.unwrap().contains("imported many times this hour"));
}

/// A fake Turnstile verifier: accepts the token "good", refuses others.
async fn fake_turnstile() -> String {
    let app = axum::Router::new().route(
        "/siteverify",
        axum::routing::post(|body: String| async move {
            let ok = body.contains("response=good") && body.contains("secret=test-turnstile-secret");
            axum::Json(serde_json::json!({ "success": ok, "error-codes": if ok { vec![] } else { vec!["invalid-input-response"] } }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/siteverify")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turnstile_guards_signup_when_configured() {
    let verify_url = fake_turnstile().await;
    let app = spawn_app_with(|env| {
        env.push(("TURNSTILE_SECRET".into(), "test-turnstile-secret".into()));
        env.push(("TURNSTILE_SITE_KEY".into(), "test-site-key".into()));
        env.push(("TURNSTILE_VERIFY_URL".into(), verify_url));
    })
    .await;
    let page = app.get("/signup").await;
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src https://challenges.cloudflare.com"), "{csp}");
    assert!(page.text().await.unwrap().contains(r#"data-sitekey="test-site-key""#));
    let fields = |token: &'static str| {
        vec![
            ("name", "Test Owner"),
            ("email", "t@example.com"),
            ("phone", "01911-000000"),
            ("business_name", "Test Shop"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("cf-turnstile-response", token),
        ]
    };
    let refused = app.submit("/signup", "/api/signup", &fields("bad")).await;
    assert_eq!(refused.status(), 403);
    let accounts = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from accounts")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap()
    };
    assert_eq!(accounts().await, 0);
    let accepted = app.submit("/signup", "/api/signup", &fields("good")).await;
    assert_eq!(location(&accepted), "/login");
    assert_eq!(accounts().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_turnstile_the_csp_allows_no_script_and_forms_still_work() {
    let app = spawn_app().await;
    let page = app.get("/signup").await;
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'none'")
    );
    assert!(!page.text().await.unwrap().contains("cf-turnstile"));
}

async fn upload_shop(app: &TestApp, client: &reqwest::Client, bytes: Vec<u8>) -> reqwest::Response {
    let html = text(app, client, "/catalog/import").await;
    let start = html.find("/api/import_shop?csrf_token=").unwrap() + "/api/import_shop?csrf_token=".len();
    let token = &html[start..start + 43];
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name("shop.json")
        .mime_str("application/json")
        .unwrap();
    client
        .post(app.url(&format!("/api/import_shop?csrf_token={token}")))
        .header("origin", PUBLIC_URL)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_file_uploads_from_the_import_page_all_or_nothing() {
    let app = spawn_app().await;
    let client = owner(&app, "shop@example.com", "Shop").await;
    let example = client
        .get(app.url("/catalog/shop-example.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count_products = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from products")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap()
    };
    // A bad value: every problem listed by field, nothing saved.
    let bad = example
        .replace("\"price\": \"1850\"", "\"price\": \"12x\"")
        .replace("\"kind\": \"cod\"", "\"kind\": \"paypal\"");
    let response = upload_shop(&app, &client, bad.into_bytes()).await;
    assert_eq!(location(&response), "/catalog/import");
    let html = text(&app, &client, "/catalog/import").await;
    assert!(html.contains(r#"id="shop_file-error""#), "{html}");
    assert!(
        html.contains(r#"<li>products[0].price: "12x" is not an amount"#),
        "{html}"
    );
    assert!(html.contains("The shop file was not imported"), "{html}");
    assert!(html.contains("payment_methods[0].kind"), "{html}");
    assert_eq!(count_products().await, 0, "nothing half-imported");
    // The example itself imports, then says what it did.
    let response = upload_shop(&app, &client, example.into_bytes()).await;
    assert_eq!(location(&response), "/catalog");
    let html = text(&app, &client, "/catalog").await;
    assert!(html.contains("Shop file imported: 2 products added"), "{html}");
    assert_eq!(count_products().await, 2);
}
