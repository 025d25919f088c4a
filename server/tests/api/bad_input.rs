//! Bad input never gets a 500: control characters in any form field or
//! search box, and page numbers of any size or shape.

use bikriagent::auth::access::Audience;
use bikriagent::auth::accounts::Role;
use bikriagent_server::http::policy::{self, Kind, ROUTES};

use crate::helpers::{
    OWNER_PASSWORD, PUBLIC_URL, TestApp, browser, csrf_token, location, spawn_app, staff_client, verified_owner,
};

/// The server functions' sources: their signatures name the form fields.
const FN_SOURCES: &[&str] = &[
    include_str!("../../../app/src/account_fns.rs"),
    include_str!("../../../app/src/catalog_fns.rs"),
    include_str!("../../../app/src/channel_fns.rs"),
    include_str!("../../../app/src/inbox_fns.rs"),
    include_str!("../../../app/src/staff_fns.rs"),
];

/// Form posts answered by axum handlers instead of server functions, with
/// their fields.
const AXUM_FORMS: &[(&str, &[&str])] = &[("/api/connect_channels", &["pending", "choice"])];

/// The uploads, multipart forms: their files are checked by the CSV and
/// shop file readers.
const UPLOADS: &[&str] = &["/api/import_csv", "/api/import_shop"];

/// Every form post's path and field names: a server function's are read
/// from its `#[server(endpoint = "…")] pub async fn name(a: String, …)`
/// signature, so a new function is checked as soon as it is listed.
pub(crate) fn signatures() -> Vec<(String, Vec<String>)> {
    const MARK: &str = "#[server(endpoint = \"";
    let mut found = Vec::new();
    for source in FN_SOURCES {
        let mut rest = *source;
        while let Some(at) = rest.find(MARK) {
            rest = &rest[at + MARK.len()..];
            let endpoint = &rest[..rest.find('"').unwrap()];
            let function = rest.find("pub async fn ").unwrap();
            let open = function + rest[function..].find('(').unwrap();
            let close = open + rest[open..].find(')').unwrap();
            let params = rest[open + 1..close]
                .split(',')
                .filter_map(|param| param.split(':').next())
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect();
            found.push((format!("/api/{endpoint}"), params));
        }
    }
    for (path, fields) in AXUM_FORMS {
        found.push(((*path).to_owned(), fields.iter().map(|f| (*f).to_owned()).collect()));
    }
    found
}

#[test]
fn the_signature_reader_finds_every_listed_server_function() {
    let signatures = signatures();
    for path in ROUTES.iter().filter(|r| r.kind == Kind::Form).map(|r| r.route) {
        if UPLOADS.contains(&path) {
            continue;
        }
        assert!(
            signatures.iter().any(|(p, _)| p == path),
            "{path}: add its source file to FN_SOURCES (or its fields to AXUM_FORMS)"
        );
    }
    let (_, signup) = signatures.iter().find(|(p, _)| p == "/api/signup").unwrap();
    assert_eq!(
        signup,
        &[
            "name",
            "email",
            "phone",
            "business_name",
            "password",
            "password_confirm"
        ]
    );
}

/// A client for each kind of caller, with the page its CSRF token comes from.
struct Callers {
    anonymous: reqwest::Client,
    owner: reqwest::Client,
    staff: reqwest::Client,
}

impl Callers {
    async fn new(app: &TestApp) -> Self {
        let owner = verified_owner(app, "karim@example.com").await;
        let (staff, _) = staff_client(app, "admin@bikri.test", Role::Admin).await;
        Self {
            anonymous: browser(),
            owner,
            staff,
        }
    }

    fn of(&self, access: Audience) -> (&reqwest::Client, &'static str) {
        match access {
            Audience::Anyone | Audience::Machine => (&self.anonymous, "/login"),
            Audience::Authenticated | Audience::Owner | Audience::VerifiedOwner => (&self.owner, "/business"),
            Audience::StaffPassword | Audience::Staff | Audience::Admin => (&self.staff, "/staff/totp"),
        }
    }
}

async fn token(app: &TestApp, client: &reqwest::Client, page: &str) -> String {
    let html = client.get(app.url(page)).send().await.unwrap().text().await.unwrap();
    csrf_token(&html).unwrap_or_else(|| panic!("{page} has no form: {html}"))
}

/// Every text field of every server function, filled with a NUL or another
/// control character: a 400 naming the fields (no page to go back to), and
/// the function never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_any_field_of_any_server_function_get_a_clear_error() {
    let app = spawn_app().await;
    let callers = Callers::new(&app).await;
    let audit_before: i64 = sqlx::query_scalar("select count(*) from security_events")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (path, params) in signatures() {
        if params.is_empty() {
            continue;
        }
        let access = policy::lookup(&path).map(|p| p.audience).unwrap();
        let (client, page) = callers.of(access);
        for bad in ["a\u{0}b", "a\u{1b}[31mb", "a\u{7f}b"] {
            let token = token(&app, client, page).await;
            let mut form: Vec<(&str, &str)> = params.iter().map(|p| (p.as_str(), bad)).collect();
            form.push(("csrf_token", &token));
            let response = client.post(app.url(&path)).form(&form).send().await.unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            let named = params.iter().all(|p| body.contains(&p.replace('_', " ")));
            if status != 400 || !body.contains("characters we can't accept") || !named {
                wrong.push(format!("{path} with {bad:?}: {status}"));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(checked >= 100, "{checked}");
    let audit_after: i64 = sqlx::query_scalar("select count(*) from security_events")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(audit_before, audit_after, "no function ran");
}

/// Loads `page` (for its CSRF token) and posts `fields` to `action` from it,
/// as a browser does (with the page as `Referer`).
async fn post_from(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = token(app, client, page).await;
    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    client
        .post(app.url(action))
        .header("origin", PUBLIC_URL)
        .header("referer", format!("{PUBLIC_URL}{page}"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn page_of(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// From a page, a refused form goes back to it with an error next to each
/// refused field and every other value kept (control characters removed,
/// passwords never), and nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_goes_back_to_its_page_with_field_errors_and_the_values_kept() {
    let app = spawn_app().await;
    let client = browser();
    let response = post_from(
        &app,
        &client,
        "/signup",
        "/api/signup",
        &[
            ("name", "Karim\u{0} Uddin"),
            ("email", "karim@example.com"),
            ("phone", "01711-000000"),
            ("business_name", "Karim\u{1b}[2J Electronics"),
            ("password", OWNER_PASSWORD),
            ("password_confirm", OWNER_PASSWORD),
        ],
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), "/signup");
    let html = page_of(&app, &client, "/signup").await;
    assert!(html.contains("Some fields hold characters we"), "{html}");
    assert!(html.contains(r#"id="name-error""#), "an error next to the name: {html}");
    assert!(html.contains(r#"id="business_name-error""#), "{html}");
    assert!(!html.contains(r#"id="email-error""#), "the email was fine: {html}");
    assert!(html.contains(r#"value="Karim Uddin""#), "kept without the NUL: {html}");
    assert!(html.contains(r#"value="Karim[2J Electronics""#), "{html}");
    assert!(html.contains(r#"value="karim@example.com""#), "{html}");
    assert!(!html.contains(OWNER_PASSWORD), "passwords are never kept");
    let accounts: i64 = sqlx::query_scalar("select count(*) from accounts")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(accounts, 0, "the function never ran");
}

/// A text area keeps its line breaks and tabs; a single-line field holds none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_areas_hold_line_breaks_and_tabs_and_single_line_fields_do_not() {
    let app = spawn_app().await;
    let owner = verified_owner(&app, "rahima@example.com").await;
    let description = "Cotton sarees\r\n\tand panjabis";
    let response = post_from(
        &app,
        &owner,
        "/business",
        "/api/save_profile",
        &[
            ("name", "Rahima Fashion"),
            ("description", description),
            ("city", "Dhaka"),
            ("currency", "BDT"),
            ("answers_english", "on"),
            ("opening_hours", "10am to 8pm"),
            ("return_policy", "Exchange within 3 days\nif unused"),
        ],
    )
    .await;
    assert_eq!(location(&response), "/business");
    let saved: String = sqlx::query_scalar("select description from business_profiles")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(saved, "Cotton sarees\r\n\tand panjabis".trim());
    // A line break in the business name is refused; the other forms of the
    // page keep showing what is saved.
    let response = post_from(
        &app,
        &owner,
        "/business",
        "/api/save_profile",
        &[
            ("name", "Rahima\nFashion"),
            ("description", "New description\nover two lines"),
            ("city", "Dhaka"),
            ("currency", "BDT"),
            ("opening_hours", "10am to 8pm"),
            ("return_policy", ""),
        ],
    )
    .await;
    assert_eq!(location(&response), "/business");
    let html = page_of(&app, &owner, "/business").await;
    assert!(html.contains(r#"id="name-error""#), "{html}");
    assert!(!html.contains(r#"id="description-error""#), "{html}");
    assert!(
        html.contains("New description\nover two lines"),
        "the text area is kept: {html}"
    );
    assert!(html.contains(r#"value="RahimaFashion""#), "{html}");
    let saved: String = sqlx::query_scalar("select name from business_profiles")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(saved, "Rahima Fashion", "nothing saved");
}

/// Search boxes and links carry text in the query string: a control
/// character there finds nothing, and never fails the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_query_strings_never_fail_a_page() {
    let app = spawn_app().await;
    let owner = verified_owner(&app, "rahima@example.com").await;
    let (staff, _) = staff_client(&app, "admin@bikri.test", Role::Admin).await;
    let anonymous = browser();
    let pages: [(&reqwest::Client, &str); 10] = [
        (&owner, "/catalog?q=a%00b"),
        (&owner, "/catalog?q=%1b%5b2J&archived=1"),
        (&owner, "/playground?message=saree%00dam%20koto"),
        (&owner, "/channels/connect?pending=a%00b"),
        (&staff, "/staff/audit?kind=a%00b&email=x%00y"),
        (&staff, "/staff/owners?email=a%00b"),
        (&anonymous, "/reset-password?token=a%00b"),
        (&anonymous, "/verify-email?token=a%00b"),
        (&anonymous, "/meta/deletion-status?code=a%00b"),
        (&anonymous, "/login?next=a%00b"),
    ];
    for (client, path) in pages {
        let response = client.get(app.url(path)).send().await.unwrap();
        let status = response.status();
        assert!(status.is_success(), "{path}: {status}");
        let body = response.text().await.unwrap();
        assert!(!body.contains('\u{0}'), "{path} echoes no NUL");
    }
}

/// Page numbers of any size or shape give the first or the last page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_numbers_of_any_size_or_shape_give_a_page() {
    let app = spawn_app().await;
    let owner = verified_owner(&app, "rahima@example.com").await;
    let (staff, _) = staff_client(&app, "admin@bikri.test", Role::Admin).await;
    let created = post_from(
        &app,
        &owner,
        "/catalog/new",
        "/api/save_product",
        &[
            ("sku", "SAREE-1"),
            ("name", "Red Cotton Saree"),
            ("name_bn", ""),
            ("description", ""),
            ("price", "1250"),
            ("sale_price", ""),
            ("stock", "3"),
            ("tags", ""),
            ("image_urls", ""),
            ("active", "on"),
        ],
    )
    .await;
    assert!(location(&created).starts_with("/catalog/"), "{}", location(&created));
    let values = [
        ("9223372036854775807", "Page 10000 of 1"),
        ("99999999999999999999999", "Page 10000 of 1"),
        ("10001", "Page 10000 of 1"),
        ("-9223372036854775808", "Page 1 of 1"),
        ("-1", "Page 1 of 1"),
        ("0", "Page 1 of 1"),
        ("abc", "Page 1 of 1"),
        ("", "Page 1 of 1"),
        ("1e9", "Page 1 of 1"),
        ("%00", "Page 1 of 1"),
    ];
    for (value, shown) in values {
        let catalog = page_of(&app, &owner, &format!("/catalog?page={value}")).await;
        assert!(catalog.contains(shown), "catalog page={value}: {catalog}");
        let first = shown == "Page 1 of 1";
        assert_eq!(catalog.contains("Red Cotton Saree"), first, "catalog page={value}");
        let inbox = page_of(&app, &owner, &format!("/inbox?page={value}")).await;
        assert!(!inbox.contains("could not be loaded"), "inbox page={value}: {inbox}");
        assert_eq!(
            inbox.contains("No older conversations"),
            !first,
            "inbox page={value}: {inbox}"
        );
        let audit = page_of(&app, &staff, &format!("/staff/audit?page={value}")).await;
        assert!(!audit.contains("could not be loaded"), "audit page={value}: {audit}");
        assert_eq!(audit.contains("admin@bikri.test"), first, "audit page={value}");
        // Lists shown whole (up to their limit) ignore the parameter.
        for path in ["/review", "/orders"] {
            page_of(&app, &owner, &format!("{path}?page={value}")).await;
        }
        page_of(&app, &staff, &format!("/staff/owners?page={value}")).await;
    }
}

/// The upload is multipart, so not checked field by field: the importer
/// refuses a file with control characters and names the line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_csv_with_control_characters_is_refused_by_line() {
    let app = spawn_app().await;
    let owner = verified_owner(&app, "rahima@example.com").await;
    let html = page_of(&app, &owner, "/catalog/import").await;
    let start = html.find("/api/import_csv?csrf_token=").unwrap() + "/api/import_csv?csrf_token=".len();
    let token = &html[start..start + 43];
    let csv = "sku,name,price\nSAREE-1,Red\u{0}Saree,1250\n";
    let part = reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
        .file_name("products.csv")
        .mime_str("text/csv")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("cf-turnstile-response", "a\u{0}b");
    let response = owner
        .post(app.url(&format!("/api/import_csv?csrf_token={token}")))
        .header("origin", PUBLIC_URL)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/catalog/import");
    let html = page_of(&app, &owner, "/catalog/import").await;
    assert!(html.contains("Line 2 contains hidden control characters"), "{html}");
    let imports: i64 = sqlx::query_scalar("select count(*) from catalog_imports")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(imports, 0);
}
