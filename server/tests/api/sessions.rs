//! Sessions stay dead: a request still running when its session ends does
//! not bring it back, and no client can take its time sending a request.

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use bikriagent::auth::session_store::{self, FAMILY, PgSessionStore};
use bikriagent::auth::sessions;
use reqwest::cookie::CookieStore as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::SessionStore as _;
use uuid::Uuid;

use crate::helpers::{
    OWNER_PASSWORD, PUBLIC_URL, TestApp, csrf_token, location, spawn_app, spawn_app_with, verified_owner,
};

/// A record of `account`'s session as the app writes it (no family yet).
fn signed_in_record(account: Uuid) -> Record {
    let mut data = std::collections::HashMap::new();
    data.insert("account_id".to_owned(), account.to_string().into());
    data.insert("csrf".to_owned(), "token".into());
    Record {
        id: Id::default(),
        data,
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(30),
    }
}

async fn rows(app: &TestApp, sql: &str, id: &Id) -> i64 {
    sqlx::query_scalar(sql)
        .bind(session_store::session_key(id))
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap()
}

/// Whether the session `id` has a row.
async fn stored(app: &TestApp, id: &Id) -> bool {
    rows(
        app,
        "select count(*) from sessions where encode(id_hash, 'hex') = $1",
        id,
    )
    .await
        == 1
}

/// What tower-sessions does for `cycle_id` and the save at the end of the
/// request: delete the old id, create the same data under a new one.
async fn cycle(store: &PgSessionStore, record: &mut Record) {
    store.delete(&record.id).await.unwrap();
    record.id = Id::default();
    store.create(record).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_never_writes_back_a_session_that_ended() {
    let app = spawn_app().await;
    let admin = app.db.admin_pool().await;
    let account: Uuid = sqlx::query_scalar(
        "insert into accounts (email, name, password_hash) values ('s@example.com', 'S', 'x') returning id",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    let store = PgSessionStore::new(app.pool.clone());

    // A session is created with a family, and saves update it.
    let mut laptop = signed_in_record(account);
    store.create(&mut laptop).await.unwrap();
    let family = laptop.data.get(FAMILY).and_then(|f| f.as_str()).map(str::to_owned);
    assert!(family.is_some(), "the store gave the session a family");
    laptop.data.insert("flash".to_owned(), "saved".into());
    store.save(&laptop).await.unwrap();
    assert_eq!(
        store.load(&laptop.id).await.unwrap().unwrap().data.get("flash"),
        Some(&"saved".into())
    );

    // Logged out everywhere: a save from a request still running does not
    // recreate it, and neither does an id rotation in such a request.
    assert_eq!(
        session_store::delete_account_sessions(&app.pool, account)
            .await
            .unwrap(),
        1
    );
    store.save(&laptop).await.unwrap();
    assert!(!stored(&app, &laptop.id).await, "save does not insert");
    assert!(store.load(&laptop.id).await.unwrap().is_none());
    cycle(&store, &mut laptop).await;
    assert!(
        !stored(&app, &laptop.id).await,
        "a rotation of an ended session is refused"
    );

    // Signing in again (the data is cleared, so no family) works.
    let mut phone = signed_in_record(account);
    store.create(&mut phone).await.unwrap();
    assert!(stored(&app, &phone.id).await);
    assert_ne!(
        phone.data.get(FAMILY).and_then(|f| f.as_str()).map(str::to_owned),
        family,
        "a new family"
    );
    // A live session rotates normally and keeps its family.
    let phone_family = phone.data.get(FAMILY).cloned();
    cycle(&store, &mut phone).await;
    assert!(stored(&app, &phone.id).await);
    assert_eq!(phone.data.get(FAMILY).cloned(), phone_family);

    // Ending one session (the security page) or all others (password change)
    // stops their rotations too, and leaves the kept one alone.
    let mut tablet = signed_in_record(account);
    store.create(&mut tablet).await.unwrap();
    let mut desktop = signed_in_record(account);
    store.create(&mut desktop).await.unwrap();
    assert!(
        sessions::revoke(&app.pool, account, &session_store::session_key(&tablet.id))
            .await
            .unwrap()
    );
    cycle(&store, &mut tablet).await;
    assert!(!stored(&app, &tablet.id).await);
    let kept = session_store::session_key(&phone.id);
    assert_eq!(
        sessions::revoke_others(&app.pool, account, Some(&kept)).await.unwrap(),
        1
    );
    cycle(&store, &mut desktop).await;
    assert!(!stored(&app, &desktop.id).await);
    assert!(stored(&app, &phone.id).await, "the kept session lives on");
    store.save(&phone).await.unwrap();
    assert!(stored(&app, &phone.id).await);

    // Anonymous sessions are unaffected.
    let mut visitor = Record {
        id: Id::default(),
        data: std::collections::HashMap::new(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(30),
    };
    store.create(&mut visitor).await.unwrap();
    cycle(&store, &mut visitor).await;
    assert!(stored(&app, &visitor.id).await);

    // Revocations are kept an hour, then the periodic cleanup drops them.
    let remembered: i64 = sqlx::query_scalar("select count(*) from session_revocations")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(remembered, 3, "laptop, tablet, desktop");
    sqlx::query("update session_revocations set expires_at = now() - interval '1 second'")
        .execute(&admin)
        .await
        .unwrap();
    session_store::delete_expired(&app.pool, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let remembered: i64 = sqlx::query_scalar("select count(*) from session_revocations")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(remembered, 0);
}

/// Logs `email` in on a client whose cookies the test can read.
async fn login_with_jar(app: &TestApp, email: &str) -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .default_headers(std::iter::once((reqwest::header::ACCEPT, "text/html".parse().unwrap())).collect())
        .build()
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
    let response = client
        .post(app.url("/api/login"))
        .header("x-forwarded-for", "192.0.2.10")
        .form(&[("email", email), ("password", OWNER_PASSWORD), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/dashboard");
    (client, jar)
}

/// The session cookie in `jar`: (name=value, id).
fn session_cookie(app: &TestApp, jar: &reqwest::cookie::Jar) -> (String, Id) {
    let url = reqwest::Url::parse(&app.url("/")).unwrap();
    let header = jar.cookies(&url).expect("a session cookie");
    let pair = header
        .to_str()
        .unwrap()
        .split("; ")
        .find(|c| c.starts_with("bikri_session="))
        .expect("the session cookie")
        .to_owned();
    let id = Id::from_str(pair.trim_start_matches("bikri_session=")).unwrap();
    (pair, id)
}

/// A raw HTTP/1.1 POST of a form, whose head and first `sent` body bytes go
/// out now; the caller sends the rest.
async fn start_post(app: &TestApp, path: &str, cookie: &str, body: &str, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nOrigin: {PUBLIC_URL}\r\n\
         Referer: {PUBLIC_URL}/account/security\r\nAccept: text/html\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        app.addr,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// Reads until the server closes (at most 20 s).
async fn read_all(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes")
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_across_log_out_everywhere_does_not_revive_the_session() {
    let app = spawn_app().await;
    let email = "slow@example.com";
    let desk = verified_owner(&app, email).await;
    let (laptop, jar) = login_with_jar(&app, email).await;
    let (cookie, id) = session_cookie(&app, &jar);
    assert!(stored(&app, &id).await);
    let html = laptop
        .get(app.url("/account/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&html).unwrap();

    // The laptop starts a form post (its answer sets a flash, which saves
    // the session) and sends its body slowly...
    let body = format!("key=00&csrf_token={token}");
    let mut slow = start_post(&app, "/api/revoke_session", &cookie, &body, 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // ...while the owner logs out everywhere from the desk.
    let html = desk
        .get(app.url("/account/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let everywhere = desk
        .post(app.url("/api/logout_everywhere"))
        .header("origin", PUBLIC_URL)
        .header("referer", format!("{PUBLIC_URL}/account/security"))
        .form(&[("csrf_token", csrf_token(&html).unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&everywhere), "/login");
    assert!(!stored(&app, &id).await);

    // The slow body completes, its request finishes.
    slow.write_all(&body.as_bytes()[5..]).await.unwrap();
    let answer = read_all(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");

    // The old cookie is refused and no row exists for it or the account.
    assert!(!stored(&app, &id).await, "the session was written back");
    let account_sessions: i64 =
        sqlx::query_scalar("select count(*) from sessions s join accounts a on a.id = s.account_id where a.email = $1")
            .bind(email)
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap();
    assert_eq!(account_sessions, 0);
    let dashboard = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/dashboard"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&dashboard), "/login", "the old cookie is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_bodies_are_cut_off_and_timely_ones_served() {
    let app = spawn_app_with(|env| env.push(("BIKRI_READ_TIMEOUT_MS".into(), "1000".into()))).await;

    // A body that stops coming: 408 once the timeout passed, connection closed.
    let mut stalled = start_post(
        &app,
        "/api/login",
        "bikri_session=none",
        "email=a%40b.c&password=xxxxxxxx",
        6,
    )
    .await;
    let started = std::time::Instant::now();
    let answer = read_all(&mut stalled).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );
    // The same for a webhook.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            b"POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              X-Hub-Signature-256: sha256=00\r\nContent-Length: 100\r\n\r\n{\"object\"",
        )
        .await
        .unwrap();
    let answer = read_all(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // Headers that never finish: the connection is closed, unanswered.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    assert_eq!(read_all(&mut stream).await, "", "closed without an answer");
    // A connection that sends nothing is closed as well.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    assert_eq!(read_all(&mut idle).await, "");

    // A signed webhook whose body comes in pieces within the timeout is served.
    let body = br#"{"object":"page","entry":[{"id":"1000000001","time":1,"messaging":[{"sender":{"id":"2000000001"},"recipient":{"id":"1000000001"},"timestamp":1,"message":{"mid":"m_slow_1","text":"dam koto?"}}]}]}"#;
    let signature = bikriagent::meta::signature::hub_signature(b"test-app-secret", body);
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         X-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(body.len() / 3 + 1) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        stream.write_all(piece).await.unwrap();
    }
    let answer = read_all(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "stored and acknowledged: {answer}");
}
