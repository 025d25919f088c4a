//! Test support: fresh databases cloned from a migrated template, and the
//! real application spawned on a random port.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use bikriagent::clock::OffsetClock;
use bikriagent::db::MIGRATOR;
use bikriagent_server::config::Config;
use bikriagent_server::fake_meta::FakeMeta;
use bikriagent_server::startup::Application;
use rand::RngCore as _;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;

/// The server tests run against (`scripts/test.sh` starts one and sets this).
pub fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("tests need DATABASE_URL: run scripts/test.sh, which starts a throwaway PostgreSQL")
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let host_start = head.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = head[host_start..]
        .find('/')
        .map(|i| i + host_start)
        .unwrap_or(head.len());
    let mut out = format!("{}/{}", &head[..path_start], database);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// The template's name changes whenever a migration changes.
fn template_name() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for migration in MIGRATOR.iter() {
        for byte in migration.version.to_le_bytes().iter().chain(migration.checksum.iter()) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("bikri_template_{:012x}", hash & 0xffff_ffff_ffff)
}

async fn admin_pool(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await
        .expect("connect to the test server as its admin role")
}

/// Creates the migrated template once per migration set, across parallel test processes.
async fn ensure_template(admin: &PgPool, server: &str, template: &str) {
    let mut conn = admin.acquire().await.expect("admin connection");
    sqlx::query("select pg_advisory_lock(727272)")
        .execute(&mut *conn)
        .await
        .expect("lock");
    let exists: bool = sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
        .bind(template)
        .fetch_one(&mut *conn)
        .await
        .expect("query pg_database");
    if !exists {
        sqlx::query(&format!("create database {template}"))
            .execute(&mut *conn)
            .await
            .expect("create template");
        if let Err(error) = bikriagent::db::migrate(&with_database(server, template)).await {
            let _ = sqlx::query(&format!("drop database {template} with (force)"))
                .execute(&mut *conn)
                .await;
            panic!("migrations failed on the template: {error}");
        }
    }
    sqlx::query("select pg_advisory_unlock(727272)")
        .execute(&mut *conn)
        .await
        .expect("unlock");
}

/// A database of its own for one test, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    /// Connection string as the cluster's admin role.
    pub url: String,
    server: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let server = server_url();
        let admin = admin_pool(&server).await;
        let template = template_name();
        ensure_template(&admin, &server, &template).await;
        let name = format!("bikri_test_{}", uuid::Uuid::new_v4().simple());
        let mut attempt = 0;
        loop {
            // Two clones of one template at the same instant can collide; retry.
            match sqlx::query(&format!("create database {name} template {template}"))
                .execute(&admin)
                .await
            {
                Ok(_) => break,
                Err(error) if attempt < 50 => {
                    attempt += 1;
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(50 + 20 * attempt)).await;
                }
                Err(error) => panic!("could not create a test database: {error}"),
            }
        }
        admin.close().await;
        let url = with_database(&server, &name);
        Self { name, url, server }
    }

    /// A pool as the admin (owner) role: for seeding and for inspecting what the app cannot see.
    pub async fn admin_pool(&self) -> PgPool {
        admin_pool(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with its own. Tests
        // use the multi-threaded runtime so the app's pool keeps running while
        // this blocks (a connection frozen mid-authentication would stall
        // DROP DATABASE for a minute).
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(pool) = PgPoolOptions::new().max_connections(1).connect(&server).await {
                    let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                        .execute(&pool)
                        .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

pub fn random_key() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// The environment of a test app: production mode with explicit secrets.
pub fn test_env(database_url: &str) -> Vec<(String, String)> {
    [
        ("DATABASE_URL", database_url.to_owned()),
        ("BIKRI_ENV", "development".to_owned()),
        ("BIKRI_INSECURE_COOKIES", "true".to_owned()),
        ("BIKRI_TRUST_PROXY", "true".to_owned()),
        (
            "BIKRI_MAILBOX_DIR",
            // One folder per database: message ids restart in each.
            std::env::temp_dir()
                .join("bikri-test-mailbox")
                .join(
                    database_url
                        .rsplit('/')
                        .next()
                        .unwrap_or("db")
                        .split('?')
                        .next()
                        .unwrap_or("db"),
                )
                .display()
                .to_string(),
        ),
        ("BIKRI_ADDR", "127.0.0.1:0".to_owned()),
        ("BIKRI_PUBLIC_URL", PUBLIC_URL.to_owned()),
        ("BIKRI_DATA_KEY", random_key()),
        ("META_APP_ID", "1234567890".to_owned()),
        ("META_APP_SECRET", "test-app-secret".to_owned()),
        ("META_VERIFY_TOKEN", "test-verify-token".to_owned()),
        ("BIKRI_DB_MAX_CONNECTIONS", "5".to_owned()),
        ("BIKRI_WORKERS", "1".to_owned()),
        // Answer at once; the burst tests set their own quiet period.
        ("BIKRI_BURST_QUIET_MS", "0".to_owned()),
        // Tests replay hundreds of messages to one Page at once; the pacing
        // test sets its own.
        ("BIKRI_CHANNEL_MESSAGES_PER_SECOND", "100000".to_owned()),
        ("BIKRI_CHANNEL_BURST", "100000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

pub const PUBLIC_URL: &str = "http://bikri.test";

/// The real application, serving on a random loopback port.
pub struct TestApp {
    /// The environment the app was configured with.
    pub env: Vec<(String, String)>,
    /// The app's clock: tests advance it to expire sessions and locks.
    pub clock: OffsetClock,
    pub addr: SocketAddr,
    /// The private metrics listener, when `BIKRI_METRICS_ADDR` is set.
    pub metrics_addr: Option<SocketAddr>,
    /// The app's pool (application role, RLS applies).
    pub pool: PgPool,
    pub db: TestDb,
    pub client: reqwest::Client,
    stop: watch::Sender<bool>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    /// The app clock's current Unix time.
    pub fn clock_now(&self) -> u64 {
        use bikriagent::clock::Clock as _;
        self.clock.now().unix_timestamp() as u64
    }

    /// Posts `fields` with the CSRF token of the current session (read from `/login`'s form is
    /// not possible once signed in, so take it from a page the session may open).
    pub async fn submit_current(&self, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let html = self.page("/staff/totp").await;
        let token = csrf_token(&html).unwrap_or_default();
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        self.client
            .post(self.url(action))
            .form(&form)
            .send()
            .await
            .expect("post")
    }

    /// GETs a page and returns its HTML.
    pub async fn page(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body")
    }

    /// Loads `page` (for its CSRF token) and posts `fields` to `action` like a browser would.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let html = self.page(page).await;
        let token = csrf_token(&html).unwrap_or_default();
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        self.client
            .post(self.url(action))
            .header("origin", PUBLIC_URL)
            .header("referer", format!("{PUBLIC_URL}{page}"))
            .form(&form)
            .send()
            .await
            .expect("post")
    }

    /// The app's data keys, to open what it sealed.
    pub fn keys(&self) -> bikriagent::crypto::DataKeys {
        let config = Config::from_vars(self.env.clone()).expect("test config is valid");
        bikriagent_server::startup::data_keys(&config)
    }

    /// The app's mailbox folder (delivered mail, one `.eml` per message).
    pub fn mailbox_dir(&self) -> std::path::PathBuf {
        Config::from_vars(self.env.clone())
            .expect("test config is valid")
            .mailbox_dir
    }

    /// The newest mail of `kind` to `to`: (subject, body). Waits up to 10 s
    /// for it to be queued (account mails are written by a job after the
    /// answer). The body is opened from the outbox while the mail waits, and
    /// read from the mailbox folder once the worker delivered it (delivery
    /// deletes the body from the outbox).
    pub async fn last_mail(&self, to: &str, kind: &str) -> Option<(String, String)> {
        let admin = self.db.admin_pool().await;
        for _ in 0..100 {
            let row: Option<(i64, String, Option<Vec<u8>>)> = sqlx::query_as(
                "select id, subject, body_sealed from mail_outbox where lower(to_address) = lower($1) and kind = $2 \
                 order by id desc limit 1",
            )
            .bind(to)
            .bind(kind)
            .fetch_optional(&admin)
            .await
            .expect("outbox query");
            match row {
                Some((id, subject, Some(sealed))) => {
                    let body = bikriagent::mail::open_body(&self.keys(), id, &sealed).expect("the body opens");
                    return Some((subject, body));
                }
                Some((id, subject, None)) => {
                    let path = self.mailbox_dir().join(format!("{id:08}-{kind}.eml"));
                    let message = std::fs::read_to_string(&path).expect("a delivered mail is in the mailbox folder");
                    let body = message.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
                    return Some((subject, body.trim_end_matches("\r\n").to_owned()));
                }
                None => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        None
    }

    /// Stops the server and its workers.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after `adjust` edits its environment.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Vec<(String, String)>)) -> TestApp {
    let db = TestDb::new().await;
    let mut env = test_env(&db.url);
    adjust(&mut env);
    let config = Config::from_vars(env.clone()).expect("test config is valid");
    let clock = OffsetClock::default();
    let app = Application::build_with_clock(config, std::sync::Arc::new(clock.clone()))
        .await
        .expect("the app builds");
    let addr = app.local_addr();
    let metrics_addr = app.metrics_addr();
    let pool = app.pool().clone();
    let (stop, stop_rx) = watch::channel(false);
    tokio::spawn(app.run_until(stop_rx));
    TestApp {
        env,
        clock,
        addr,
        metrics_addr,
        pool,
        db,
        client: browser(),
        stop,
    }
}

/// An HTTP client that behaves like a browser with JavaScript off: keeps
/// cookies, asks for HTML, does not follow redirects (tests look at them).
pub fn browser() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        "text/html,application/xhtml+xml".parse().unwrap(),
    );
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .expect("client")
}

/// The CSRF token of the first form in `html`.
pub fn csrf_token(html: &str) -> Option<String> {
    let start = html.find(r#"name="csrf_token" value=""#)? + r#"name="csrf_token" value=""#.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The `token=` value of the first link in a mail body.
pub fn link_token(body: &str) -> String {
    let start = body.find("token=").expect("a link with a token") + "token=".len();
    body[start..].split_whitespace().next().expect("token").to_owned()
}

/// Where a redirect points (empty when it is not one).
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The password of owners made by [`verified_owner`].
pub const OWNER_PASSWORD: &str = "purple-river-lamp-9417";

/// The app talking to a fresh fake Meta.
pub async fn app_with_fake_meta() -> (TestApp, FakeMeta) {
    let fake = FakeMeta::spawn(0, "1234567890", "test-app-secret").await.unwrap();
    let (graph, dialog) = (fake.graph_url(), fake.dialog_url());
    let app = spawn_app_with(move |env| {
        env.push(("META_GRAPH_URL".into(), graph));
        env.push(("META_DIALOG_URL".into(), dialog));
    })
    .await;
    (app, fake)
}

/// A verified, logged-in owner on its own client.
pub async fn verified_owner(app: &TestApp, email: &str) -> reqwest::Client {
    verified_owner_on(app, email, browser()).await
}

/// Like [`browser`], with a cookie jar the test can read (for requests
/// sent by hand, such as paths no URL parser would leave as they are).
pub fn browser_with_jar() -> (reqwest::Client, std::sync::Arc<reqwest::cookie::Jar>) {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        "text/html,application/xhtml+xml".parse().unwrap(),
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .default_headers(headers)
        .build()
        .expect("client");
    (client, jar)
}

/// A verified owner signed up and logged in on `client`.
pub async fn verified_owner_on(app: &TestApp, email: &str, client: reqwest::Client) -> reqwest::Client {
    let get = |path: String| {
        let client = client.clone();
        async move { client.get(path).send().await.unwrap().text().await.unwrap() }
    };
    let token = csrf_token(&get(app.url("/signup")).await).unwrap();
    client
        .post(app.url("/api/signup"))
        .form(&[
            ("name", "Test Owner"),
            ("email", email),
            ("phone", "01911-000000"),
            ("business_name", "Test Shop"),
            ("password", OWNER_PASSWORD),
            ("password_confirm", OWNER_PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    sqlx::query(
        "update accounts set email_verified_at = now(), payment_verified_at = now(), status = 'active' where email = $1",
    )
        .bind(email)
        .execute(&app.db.admin_pool().await)
        .await
        .unwrap();
    let token = csrf_token(&get(app.url("/login")).await).unwrap();
    let response = client
        .post(app.url("/api/login"))
        .form(&[("email", email), ("password", OWNER_PASSWORD), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/dashboard");
    client
}

/// A staff member past their second factor, on its own client.
pub async fn staff_client(
    app: &TestApp,
    email: &str,
    role: bikriagent::auth::accounts::Role,
) -> (reqwest::Client, uuid::Uuid) {
    let (client, id, _) = staff_client_with_secret(app, email, role).await;
    (client, id)
}

/// An active staff or admin account written straight to the database (no
/// password that works, no second factor): an actor or a target for library
/// calls.
pub async fn insert_staff(db: &TestDb, email: &str, role: bikriagent::auth::accounts::Role) -> uuid::Uuid {
    sqlx::query_scalar(
        "insert into accounts (role, email, name, password_hash, status, email_verified_at) \
         values ($1, $2, 'Staff', 'x', 'active', now()) returning id",
    )
    .bind(role.as_str())
    .bind(email)
    .fetch_one(&db.admin_pool().await)
    .await
    .unwrap()
}

/// [`staff_client`], with the secret of the authenticator it enrolled.
pub async fn staff_client_with_secret(
    app: &TestApp,
    email: &str,
    role: bikriagent::auth::accounts::Role,
) -> (reqwest::Client, uuid::Uuid, bikriagent::auth::totp::TotpSecret) {
    let (client, id, secret) = staff_session_on(app, email, role, browser(), true).await;
    (client, id, secret.expect("enrolled"))
}

/// A staff member logged in on `client`, past their second factor when
/// `second_factor` (otherwise signed in with the password only).
pub async fn staff_client_on(
    app: &TestApp,
    email: &str,
    role: bikriagent::auth::accounts::Role,
    client: reqwest::Client,
    second_factor: bool,
) -> (reqwest::Client, uuid::Uuid) {
    let (client, id, _) = staff_session_on(app, email, role, client, second_factor).await;
    (client, id)
}

async fn staff_session_on(
    app: &TestApp,
    email: &str,
    role: bikriagent::auth::accounts::Role,
    client: reqwest::Client,
    second_factor: bool,
) -> (reqwest::Client, uuid::Uuid, Option<bikriagent::auth::totp::TotpSecret>) {
    let config = bikriagent_server::config::Config::from_vars(app.env.clone()).unwrap();
    let services = bikriagent_server::startup::services(&app.pool, &config, std::sync::Arc::new(app.clock.clone()));
    let staff_id = services
        .accounts
        .create_staff(
            email,
            "Sadia Islam",
            role,
            &secrecy::SecretString::from(OWNER_PASSWORD.to_owned()),
        )
        .await
        .unwrap();
    let html = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    client
        .post(app.url("/api/login"))
        .header("x-forwarded-for", "192.0.2.77")
        .form(&[("email", email), ("password", OWNER_PASSWORD), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    if !second_factor {
        return (client, staff_id, None);
    }
    let html = client
        .get(app.url("/staff/totp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();
    client
        .post(app.url("/api/totp_begin"))
        .form(&[("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    let html = client
        .get(app.url("/staff/totp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = html.find(r#"id="totp-secret">"#).unwrap() + r#"id="totp-secret">"#.len();
    let secret = bikriagent::auth::totp::TotpSecret::from_base32(&html[start..start + 32]).unwrap();
    let code = bikriagent::auth::totp::code_at(&secret, app.clock_now());
    let token = csrf_token(&html).unwrap();
    let confirmed = client
        .post(app.url("/api/totp_confirm"))
        .form(&[("code", code.as_str()), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&confirmed), "/staff");
    (client, staff_id, Some(secret))
}

/// A data-only dump of the database at `url` (what a backup holds).
pub fn pg_dump(url: &str) -> String {
    let bindir = std::env::var("BIKRI_TEST_PG_BINDIR").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".to_owned());
    let output = std::process::Command::new(format!("{bindir}/pg_dump"))
        .arg("--data-only")
        .arg("--inserts")
        .arg(url)
        .output()
        .expect("pg_dump runs");
    assert!(
        output.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Everything a global JSON log subscriber wrote, shared with the test.
/// Installed globally: the app runs on the runtime's worker threads, which a
/// thread-local default would not reach; nextest runs each test in its own
/// process, so the subscriber sees only that test's app.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Installs the process's subscriber with `filter`, writing here.
    pub fn install(filter: tracing_subscriber::EnvFilter) -> Self {
        let captured = CapturedLogs::default();
        let writer = captured.clone();
        bikriagent_server::telemetry::try_init_with(bikriagent_server::config::LogFormat::Json, filter, move || {
            writer.clone()
        })
        .expect("no subscriber yet: nextest runs each test in its own process");
        captured
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}
