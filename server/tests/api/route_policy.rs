//! The route policy: every route the router knows is in the table, and
//! every route × role × spelling of its path shows unauthorised callers no
//! content. Paths are sent byte for byte over a raw connection (URL parsers
//! would resolve `..` and `%2e` before the server saw them).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bikriagent::auth::access::{Admission, Audience, Caller};
use bikriagent::auth::accounts::Role;
use bikriagent::tenancy::OwnerId;
use bikriagent_server::http::policy::{self, Kind, ROUTES};
use reqwest::cookie::{CookieStore as _, Jar};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::{TestApp, browser_with_jar, spawn_app, staff_client_on, verified_owner_on};

/// Every route the router knows: the Leptos pages, the server functions,
/// and the routes written by hand in server/src/http (read from the
/// source, so a new `.route(...)` cannot skip the table) — and nothing in
/// the table that the router does not know.
#[test]
fn every_route_the_router_knows_is_in_the_table_and_nothing_else() {
    let mut known = BTreeSet::new();
    for route in leptos_axum::generate_route_list(bikriagent_app::App) {
        known.insert(route.path().to_owned());
    }
    for (path, _) in server_fn::axum::server_fn_paths() {
        known.insert(path.to_owned());
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
    let mut hand_written = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        // The private metrics listener is its own server, not this router.
        let source = source.split("pub fn listener_router").next().unwrap_or_default();
        for piece in source.split(".route(").skip(1) {
            let Some(quoted) = piece.trim_start().strip_prefix('"') else {
                continue;
            };
            let route = quoted.split('"').next().unwrap();
            if route != "/api/{*fn_name}" {
                known.insert(route.to_owned());
                hand_written += 1;
            }
        }
    }
    assert!(hand_written >= 10, "the source scan found the hand-written routes");
    for route in &known {
        assert!(
            policy::lookup(route).is_some(),
            "{route} is missing from the route policy"
        );
    }
    for entry in ROUTES {
        assert!(
            known.contains(entry.route),
            "{} is in the table but not in the router",
            entry.route
        );
    }
}

/// One signed-in (or anonymous) caller and the cookie that makes them so.
struct Signed {
    name: &'static str,
    caller: Caller,
    cookie: String,
    /// Owner A's objects are this caller's own.
    is_owner_a: bool,
}

async fn session_cookie(app: &TestApp, jar: &Jar) -> String {
    let url = reqwest::Url::parse(&app.url("/")).unwrap();
    jar.cookies(&url)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// `(status, body)` of a request sent exactly as written.
async fn raw(app: &TestApp, method: &str, path: &str, cookie: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/html\r\nConnection: close\r\n\
         Cookie: {cookie}\r\nContent-Length: 0\r\n\r\n",
        app.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status for {method} {path}: {head}"));
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// The ways one path can be spelled: `(spelling, must_be_refused_as_not_canonical)`.
fn spellings(path: &str) -> Vec<(String, bool)> {
    let rest = &path[1..];
    let inner_slashes = rest.contains('/');
    let backslashed = if inner_slashes {
        format!("/{}", rest.replace('/', "\\"))
    } else {
        format!("{path}\\")
    };
    let encoded_slash = if inner_slashes {
        format!("/{}", rest.replacen('/', "%2F", 1))
    } else {
        format!("/x%2F..%2F{rest}")
    };
    let mut all = vec![
        (format!("/x/..{path}"), true),
        (format!("/%2e%2e{path}"), true),
        (format!("/.%2e{path}"), true),
        (format!("/%2e{path}"), true),
        (format!("/x/%2E%2E{path}"), true),
        (backslashed, true),
        (encoded_slash, true),
        (format!("/{path}"), true),
        (format!("/.{path}"), true),
        (format!("{path}/."), true),
        (format!("{path}/.."), true),
        (format!("{path}%3B"), true),
        (format!("{path};"), false),
        (format!("{path}/"), false),
        (path.to_uppercase(), false),
        (path.to_owned(), false),
    ];
    all.dedup();
    all
}

struct World {
    app: TestApp,
    roles: Vec<Signed>,
    /// Strings only owner A's pages (and staff's views of A) contain.
    a_markers: Vec<String>,
    /// Strings only owner B's pages (and staff's views of B) contain.
    b_markers: Vec<String>,
    /// A concrete path for each route pattern, using owner A's objects.
    concrete: Vec<(&'static str, String)>,
}

async fn owner_with_data(app: &TestApp, who: &str) -> (reqwest::Client, Arc<Jar>, uuid::Uuid, Vec<String>) {
    let (client, jar) = browser_with_jar();
    let email = format!("{who}.owner@example.com");
    let client = verified_owner_on(app, &email, client).await;
    let admin = app.db.admin_pool().await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from accounts where email = $1")
        .bind(&email)
        .fetch_one(&admin)
        .await
        .unwrap();
    let product = format!("{who}MarkerProduct");
    bikriagent::catalog::store::create_product(
        &app.pool,
        OwnerId::from_verified(id),
        &bikriagent::catalog::store::ProductInput {
            sku: format!("{who}-1"),
            name: product.clone(),
            name_bn: String::new(),
            description: String::new(),
            price: "500".into(),
            sale_price: String::new(),
            stock: "3".into(),
            tags: String::new(),
            image_urls: String::new(),
            active: true,
        },
    )
    .await
    .unwrap();
    // A risky customer message in the sandbox: a conversation and a review case.
    let customer = format!("{who}MarkerCustomer");
    let html = client
        .get(app.url("/sandbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = crate::helpers::csrf_token(&html).unwrap();
    let text = format!("{customer} here, I am allergic to this, I want a refund");
    let sent = client
        .post(app.url("/api/sandbox_say"))
        .header("origin", crate::helpers::PUBLIC_URL)
        .form(&[("text", text.as_str()), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(crate::helpers::location(&sent), "/sandbox");
    for _ in 0..200 {
        let cases: i64 = sqlx::query_scalar("select count(*) from review_items where owner_id = $1")
            .bind(id)
            .fetch_one(&admin)
            .await
            .unwrap();
        if cases > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (client, jar, id, vec![email, product, customer])
}

async fn world() -> World {
    let app = spawn_app().await;
    let (_a, a_jar, a_id, a_markers) = owner_with_data(&app, "alpha").await;
    let (_b, b_jar, _b_id, b_markers) = owner_with_data(&app, "bravo").await;
    let admin = app.db.admin_pool().await;
    let one = |sql: &'static str| {
        let admin = admin.clone();
        async move {
            sqlx::query_scalar::<_, uuid::Uuid>(sql)
                .bind(a_id)
                .fetch_one(&admin)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .to_string()
        }
    };
    let product = one("select id from products where owner_id = $1").await;
    let conversation = one("select id from conversations where owner_id = $1").await;
    let case = one("select id from review_items where owner_id = $1").await;
    let nobody = uuid::Uuid::new_v4().to_string();
    let concrete = ROUTES
        .iter()
        .filter(|r| r.kind == Kind::Page)
        .map(|r| {
            let path = r
                .route
                .replace("/catalog/import/{id}", &format!("/catalog/import/{nobody}"))
                .replace("/catalog/{id}", &format!("/catalog/{product}"))
                .replace("/inbox/{id}", &format!("/inbox/{conversation}"))
                .replace("/orders/{id}", &format!("/orders/{nobody}"))
                .replace("/staff/owners/{id}", &format!("/staff/owners/{a_id}"))
                .replace("{case}", &case);
            assert!(!path.contains('{'), "{path}: give the test an object for this route");
            (r.route, path)
        })
        .collect();

    let mut roles = vec![Signed {
        name: "anonymous",
        caller: Caller::default(),
        cookie: String::new(),
        is_owner_a: false,
    }];
    let owner = |name, cookie, is_owner_a| Signed {
        name,
        caller: Caller {
            role: Some(Role::Owner),
            second_factor: false,
            email_verified: true,
        },
        cookie,
        is_owner_a,
    };
    roles.push(owner("owner A", session_cookie(&app, &a_jar).await, true));
    roles.push(owner("owner B", session_cookie(&app, &b_jar).await, false));
    for (name, email, role, second_factor) in [
        ("staff without second factor", "half@bikri.test", Role::Staff, false),
        ("staff", "staff@bikri.test", Role::Staff, true),
        ("admin", "admin@bikri.test", Role::Admin, true),
    ] {
        let (client, jar) = browser_with_jar();
        staff_client_on(&app, email, role, client, second_factor).await;
        roles.push(Signed {
            name,
            caller: Caller {
                role: Some(role),
                second_factor,
                email_verified: true,
            },
            cookie: session_cookie(&app, &jar).await,
            is_owner_a: false,
        });
    }
    World {
        app,
        roles,
        a_markers,
        b_markers,
        concrete,
    }
}

/// The markers `role` must never see on a page it may not open.
fn forbidden_markers<'w>(world: &'w World, role: &Signed) -> Vec<&'w str> {
    let a = world.a_markers.iter().map(String::as_str);
    let b = world.b_markers.iter().map(String::as_str);
    match (role.caller.role, role.is_owner_a) {
        (Some(Role::Owner), true) => b.collect(),
        (Some(Role::Owner), false) => a.collect(),
        _ => a.chain(b).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_for_every_role_and_spelling_shows_unauthorised_callers_nothing() {
    let world = world().await;
    let app = &world.app;
    // The world is what the test thinks it is: owner A sees their own
    // conversation, and staff see owner A on the console.
    let conversation = &world.concrete.iter().find(|(r, _)| *r == "/inbox/{id}").unwrap().1;
    let (status, body) = raw(app, "GET", conversation, &world.roles[1].cookie).await;
    assert_eq!(status, 200);
    assert!(body.contains(&world.a_markers[2]), "owner A reads their customer");
    let staff_view = &world
        .concrete
        .iter()
        .find(|(r, _)| *r == "/staff/owners/{id}")
        .unwrap()
        .1;
    let (status, body) = raw(app, "GET", staff_view, &world.roles[4].cookie).await;
    assert_eq!(status, 200);
    assert!(body.contains(&world.a_markers[0]), "staff read owner A's detail");

    let mut checked = 0;
    for (route, path) in &world.concrete {
        let audience = policy::lookup(route).unwrap().audience;
        for role in &world.roles {
            let admitted = audience.admit(role.caller) == Admission::Admit;
            let forbidden = forbidden_markers(&world, role);
            for (spelling, not_canonical) in spellings(path) {
                let (status, body) = raw(app, "GET", &spelling, &role.cookie).await;
                let what = format!("GET {spelling} as {} → {status}", role.name);
                if not_canonical {
                    assert_eq!(status, 400, "{what}: not canonical");
                }
                if !admitted || not_canonical || spelling != *path {
                    // Whatever the answer, it carries none of the content.
                    for marker in &forbidden {
                        assert!(!body.contains(marker), "{what} shows {marker}");
                    }
                }
                if !admitted {
                    assert!(!(200..300).contains(&status), "{what}: refused callers get no page");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 3000, "{checked} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_b_gets_not_found_on_every_page_of_owner_a() {
    let world = world().await;
    let app = &world.app;
    let owner_b = &world.roles[2];
    let mut checked = 0;
    for (route, path) in &world.concrete {
        let audience = policy::lookup(route).unwrap().audience;
        if audience != Audience::Owner || !route.contains('{') {
            continue;
        }
        let (status, body) = raw(app, "GET", path, &owner_b.cookie).await;
        assert_eq!(status, 404, "GET {path} as owner B");
        for marker in &world.a_markers {
            assert!(!body.contains(marker.as_str()), "GET {path} as owner B shows {marker}");
        }
        checked += 1;
    }
    assert!(checked >= 4, "{checked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_refuses_other_spellings_of_its_path_before_anything_runs() {
    let app = spawn_app().await;
    let (client, jar) = browser_with_jar();
    staff_client_on(&app, "admin@bikri.test", Role::Admin, client, true).await;
    let admin = session_cookie(&app, &jar).await;
    for route in ROUTES.iter().filter(|r| r.kind == Kind::Form) {
        for cookie in ["", admin.as_str()] {
            for (spelling, not_canonical) in spellings(route.route) {
                if spelling == route.route {
                    continue;
                }
                let (status, _) = raw(&app, "POST", &spelling, cookie).await;
                let expected = if not_canonical { 400 } else { 404 };
                assert_eq!(status, expected, "POST {spelling}");
            }
        }
    }
    // Nothing ran: the kill switch is still off and nobody was suspended.
    let engaged: bool = sqlx::query_scalar("select not auto_send_enabled from platform_settings")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert!(!engaged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_and_unknown_addresses_get_the_readable_error_page() {
    let app = spawn_app().await;
    for (method, path, status) in [
        ("POST", "/login", 405),
        ("DELETE", "/inbox", 405),
        ("GET", "/api/login", 405),
        ("PUT", "/api/login", 405),
        ("GET", "/no/such/page", 404),
        ("POST", "/api/no_such_function", 404),
        ("GET", "/Login", 404),
        ("GET", "/webhooks/meta/deauthorize", 405),
    ] {
        let (got, body) = raw(&app, method, path, "").await;
        assert_eq!(got, status, "{method} {path}");
        assert!(
            body.contains("<!DOCTYPE html>") || body.contains("<!doctype html>"),
            "{method} {path}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_form_gets_the_readable_413() {
    let app = spawn_app().await;
    let big = "x".repeat(200 * 1024);
    let response = app
        .client
        .post(app.url("/api/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body = response.text().await.unwrap();
    assert!(body.contains("Too much data"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_server_function_post_gets_a_readable_400() {
    let app = spawn_app().await;
    let token = crate::helpers::csrf_token(&app.page("/login").await).unwrap();
    for accept in ["text/html", "*/*"] {
        // `email` and `password` are missing.
        let response = app
            .client
            .post(app.url("/api/login"))
            .header("accept", accept)
            .header("referer", format!("{}/login", crate::helpers::PUBLIC_URL))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "accept {accept}");
        assert!(response.text().await.unwrap().contains("This form was incomplete"));
    }
}

/// Per-IP limits count an IPv6 client per /64: rotating the last 64 bits
/// does not reset the count, another /64 has its own. (Password reset
/// requests: no password hashing, so the test stays light.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipv6_client_counts_per_64_network() {
    let app = spawn_app().await;
    let token = crate::helpers::csrf_token(&app.page("/forgot-password").await).unwrap();
    let ask = |ip: String| {
        let (app, token) = (&app, token.clone());
        async move {
            app.client
                .post(app.url("/api/request_password_reset"))
                .header("x-forwarded-for", ip)
                .form(&[("email", "nobody@example.com"), ("csrf_token", token.as_str())])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let limit = bikriagent::ratelimit::RESET_PER_IP.max;
    for n in 1..=limit {
        assert_ne!(ask(format!("2001:db8:1:2:{n:x}::1")).await, 429, "request {n}");
    }
    assert_eq!(ask("2001:db8:1:2:ffff::9".to_owned()).await, 429, "same /64");
    assert_ne!(ask("2001:db8:1:3::1".to_owned()).await, 429, "another /64");
}

/// Each limit of the table is wired to its route and key: with the count
/// one short of the limit, one more request passes and the next gets the
/// readable 429 with `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_new_limit_is_counted_on_its_route() {
    use bikriagent::ratelimit::{
        OAUTH_START_PER_ACCOUNT, PASSWORD_CHANGE_PER_ACCOUNT, PLAYGROUND_PER_OWNER, RESEND_VERIFICATION_PER_ACCOUNT,
        SANDBOX_PER_OWNER,
    };
    let app = spawn_app().await;
    let admin = app.db.admin_pool().await;
    let client = crate::helpers::verified_owner(&app, "limits@example.com").await;
    let owner: uuid::Uuid = sqlx::query_scalar("select id from accounts where email = 'limits@example.com'")
        .fetch_one(&admin)
        .await
        .unwrap();
    let token = crate::helpers::csrf_token(
        &client
            .get(app.url("/account/security"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let post = |path: &'static str| {
        let (client, app, token) = (client.clone(), &app, token.clone());
        async move {
            client
                .post(app.url(path))
                .header("origin", crate::helpers::PUBLIC_URL)
                .form(&[("csrf_token", token.as_str()), ("text", "hello")])
                .send()
                .await
                .unwrap()
        }
    };
    let get = |path: &'static str| {
        let (client, app) = (client.clone(), &app);
        async move { client.get(app.url(path)).send().await.unwrap() }
    };
    // A playground page without a question is not counted.
    sqlx::query("insert into rate_limits (key, window_start, hits) values ($1, now(), $2)")
        .bind(format!("{}:{owner}", PLAYGROUND_PER_OWNER.name))
        .bind(PLAYGROUND_PER_OWNER.max)
        .execute(&admin)
        .await
        .unwrap();
    assert_eq!(get("/playground").await.status(), 200);
    let limited = get("/playground?message=dam+koto").await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    for (limit, path, is_post) in [
        (RESEND_VERIFICATION_PER_ACCOUNT, "/api/resend_verification", true),
        (SANDBOX_PER_OWNER, "/api/sandbox_say", true),
        (PASSWORD_CHANGE_PER_ACCOUNT, "/api/change_password", true),
        (OAUTH_START_PER_ACCOUNT, "/oauth/meta/start", false),
    ] {
        sqlx::query("insert into rate_limits (key, window_start, hits) values ($1, now(), $2)")
            .bind(format!("{}:{owner}", limit.name))
            .bind(limit.max - 1)
            .execute(&admin)
            .await
            .unwrap();
        let send = || async { if is_post { post(path).await } else { get(path).await } };
        assert_ne!(send().await.status(), 429, "{path}: the last allowed one");
        let limited = send().await;
        assert_eq!(limited.status(), 429, "{path}");
        assert!(limited.headers().contains_key("retry-after"), "{path}");
        assert!(limited.text().await.unwrap().contains("Please wait"), "{path}");
    }
}
