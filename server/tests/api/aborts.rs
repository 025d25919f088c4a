//! Requests whose client goes away mid-flight: the work they started ends
//! by commit or rollback, never leaves a pooled connection inside a
//! transaction, and logs no warning.
//!
//! A form post or a page render is held on a table lock taken by the test,
//! so the client can leave while the request's transaction is open for
//! certain. Without the run-to-completion task in `read_body_within`, hyper
//! dropped such a request's future: the post was rolled back and, when the
//! drop fell inside sqlx's `begin()` or `commit()`, the connection went back
//! to the pool inside a transaction.

use std::time::Duration;

use bikriagent::metrics::METRICS;
use sqlx::PgPool;
use tracing_subscriber::EnvFilter;

use crate::helpers::{CapturedLogs, PUBLIC_URL, TestApp, csrf_token, spawn_app, verified_owner};

/// The transaction warnings among the captured logs.
fn transaction_warnings(logs: &CapturedLogs) -> Vec<String> {
    logs.text()
        .lines()
        .filter(|line| line.contains("transaction"))
        .map(str::to_owned)
        .collect()
}

/// No backend idle in a transaction, no connection closed by the pool's
/// check, no transaction warning in the logs.
async fn assert_nothing_leaked(admin: &PgPool, logs: &CapturedLogs, context: &str) {
    assert_eq!(
        idle_in_transaction(admin).await,
        0,
        "no connection was left inside a transaction {context}"
    );
    assert_eq!(
        METRICS.leaked_transactions(),
        0,
        "the pool closed no connection for an open transaction {context}"
    );
    assert_eq!(
        transaction_warnings(logs),
        Vec::<String>::new(),
        "no transaction warning was logged {context}"
    );
}

/// Waits until a backend of this database waits on a lock with a statement
/// that contains `statement`.
async fn wait_for_lock_wait(admin: &PgPool, statement: &str) {
    for _ in 0..200 {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity \
              where datname = current_database() and wait_event_type = 'Lock' and query ilike $1",
        )
        .bind(format!("%{statement}%"))
        .fetch_one(admin)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no request came to wait on the lock ({statement})");
}

/// Backends of this database left inside a transaction.
async fn idle_in_transaction(admin: &PgPool) -> i64 {
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity \
          where datname = current_database() and pid <> pg_backend_pid() \
            and state like 'idle in transaction%'",
    )
    .fetch_one(admin)
    .await
    .unwrap()
}

async fn product_form(app: &TestApp, client: &reqwest::Client, sku: &str) -> Vec<(String, String)> {
    let html = client
        .get(app.url("/catalog/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    [
        ("sku", sku),
        ("name", "Tangail saree"),
        ("name_bn", ""),
        ("description", "Soft cotton"),
        ("price", "1250"),
        ("sale_price", ""),
        ("stock", "5"),
        ("tags", "saree"),
        ("image_urls", ""),
        ("active", "on"),
        ("csrf_token", &csrf_token(&html).unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn post_product(app: &TestApp, client: &reqwest::Client, form: Vec<(String, String)>) -> tokio::task::JoinHandle<()> {
    let request = client
        .post(app.url("/api/save_product"))
        .header("origin", PUBLIC_URL)
        .header("referer", format!("{PUBLIC_URL}/catalog/new"))
        .form(&form);
    tokio::spawn(async move {
        let _ = request.send().await;
    })
}

async fn products_with_sku(admin: &PgPool, sku: &str) -> i64 {
    sqlx::query_scalar("select count(*) from products where sku = $1")
        .bind(sku)
        .fetch_one(admin)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_post_whose_client_leaves_mid_transaction_is_applied_once_and_leaks_nothing() {
    let logs = CapturedLogs::install(EnvFilter::new("warn"));
    let app = spawn_app().await;
    let admin = app.db.admin_pool().await;
    let client = verified_owner(&app, "aborts@example.com").await;
    let form = product_form(&app, &client, "ABORT-1").await;

    // Inserts into products wait behind this lock; reads do not.
    let blocking_pool = app.db.admin_pool().await;
    let mut blocker = bikriagent::db::begin(&blocking_pool).await.unwrap();
    sqlx::query("lock table products in exclusive mode")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let request = post_product(&app, &client, form);
    wait_for_lock_wait(&admin, "insert into products").await;
    // The client goes away while the post's transaction waits on the lock.
    request.abort();
    let _ = request.await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    bikriagent::db::commit(blocker).await.unwrap();

    let mut stored = 0;
    for _ in 0..200 {
        stored = products_with_sku(&admin, "ABORT-1").await;
        if stored > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(stored, 1, "the post whose client left was applied, once");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_nothing_leaked(&admin, &logs, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_render_whose_client_leaves_mid_query_leaks_nothing() {
    let logs = CapturedLogs::install(EnvFilter::new("warn"));
    let app = spawn_app().await;
    let admin = app.db.admin_pool().await;
    let client = verified_owner(&app, "render-aborts@example.com").await;

    // Every read of products waits behind this lock.
    let blocking_pool = app.db.admin_pool().await;
    let mut blocker = bikriagent::db::begin(&blocking_pool).await.unwrap();
    sqlx::query("lock table products in access exclusive mode")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let page = client.get(app.url("/catalog"));
    let request = tokio::spawn(async move {
        let _ = page.send().await;
    });
    wait_for_lock_wait(&admin, "products").await;
    request.abort();
    let _ = request.await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    bikriagent::db::commit(blocker).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let again = client.get(app.url("/catalog")).send().await.unwrap();
    assert_eq!(again.status(), 200, "the app still serves the page");
    assert_nothing_leaked(&admin, &logs, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_dropped_at_random_moments_leak_nothing() {
    let logs = CapturedLogs::install(EnvFilter::new("warn"));
    let app = spawn_app().await;
    let admin = app.db.admin_pool().await;
    let client = verified_owner(&app, "random-aborts@example.com").await;

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    println!("seed {seed}");
    let mut state = seed | 1;
    let mut next = move || {
        // xorshift64: enough to spread the drop points.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let rounds = 60;
    for round in 0..rounds {
        let form = product_form(&app, &client, &format!("RANDOM-{round}")).await;
        let post = post_product(&app, &client, form);
        let page = client.get(app.url("/catalog"));
        let render = tokio::spawn(async move {
            let _ = page.send().await;
        });
        tokio::time::sleep(Duration::from_micros(next() % 15_000)).await;
        post.abort();
        render.abort();
        let _ = post.await;
        let _ = render.await;
    }
    // Let the posts that reached the server finish.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let after = client.get(app.url("/catalog")).send().await.unwrap();
    assert_eq!(after.status(), 200, "the app still serves pages (seed {seed})");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_nothing_leaked(&admin, &logs, &format!("(seed {seed})")).await;
}
