//! Mail through SMTP against a fake SMTP server on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

use crate::helpers::{TestApp, link_token, pg_dump, spawn_app_with};

/// A minimal SMTP server: accepts everything, except recipients containing
/// "reject", which get a permanent 550. Records each message's DATA.
async fn fake_smtp() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 fake.smtp ESMTP\r\n").await;
                let mut in_data = false;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store.lock().unwrap().push(std::mem::take(&mut data));
                            let _ = write.write_all(b"250 2.0.0 queued\r\n").await;
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 fake.smtp\r\n"
                    } else if upper.starts_with("RCPT") && upper.contains("REJECT") {
                        b"550 5.1.1 no such user\r\n"
                    } else if upper.starts_with("DATA") {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_goes_through_smtp_when_configured_and_permanent_refusals_are_not_retried() {
    let (port, received) = fake_smtp().await;
    let app = spawn_app_with(|env| {
        env.push(("SMTP_URL".into(), format!("smtp://127.0.0.1:{port}")));
        env.push(("MAIL_FROM".into(), "BikriAgent <no-reply@bikri.test>".into()));
    })
    .await;
    let admin = app.db.admin_pool().await;
    let mut conn = admin.acquire().await.unwrap();
    let keys = app.keys();
    bikriagent::mail::enqueue(
        &mut conn,
        &keys,
        None,
        "test",
        "owner@example.com",
        "Hello owner",
        "Line one\nLine two",
    )
    .await
    .unwrap();
    bikriagent::mail::enqueue(&mut conn, &keys, None, "test", "reject@example.com", "Nope", "x")
        .await
        .unwrap();
    drop(conn);

    let mut delivered = Vec::new();
    for _ in 0..100 {
        delivered = received.lock().unwrap().clone();
        let failed: i64 = sqlx::query_scalar("select count(*) from jobs where state = 'failed'")
            .fetch_one(&admin)
            .await
            .unwrap();
        if !delivered.is_empty() && failed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert!(delivered[0].contains("Subject: Hello owner"), "{}", delivered[0]);
    assert!(delivered[0].contains("To: owner@example.com"));
    assert!(delivered[0].contains("Line two"));
    let (sent, state, attempts): (i64, String, i32) = sqlx::query_as(
        "select (select count(*) from mail_outbox where sent_at is not null), \
                (select state from jobs j where j.payload->>'id' = (select id::text from mail_outbox where to_address like 'reject%')), \
                (select attempts from jobs j where j.payload->>'id' = (select id::text from mail_outbox where to_address like 'reject%'))",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert_eq!(sent, 1);
    assert_eq!(state, "failed", "a 550 is permanent");
    assert_eq!(attempts, 1, "and not retried");
}

#[test]
fn a_malformed_smtp_url_is_a_config_error_naming_the_variable() {
    let mut env = crate::helpers::test_env("postgres://x@localhost/db");
    env.push(("SMTP_URL".into(), "smtp://".into()));
    let error = bikriagent_server::config::Config::from_vars(env).expect_err("refused");
    assert!(error.problems.iter().any(|p| p.starts_with("SMTP_URL:")), "{error}");
}

/// Claims the next due job and runs it with the app's handlers; its kind.
async fn run_next_job(app: &TestApp, registry: &bikriagent::jobs::Registry) -> String {
    let job = bikriagent::jobs::claim(&app.pool, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("a job is due");
    let kind = job.kind.clone();
    registry.run_one(&app.pool, job).await.unwrap();
    kind
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_link_is_never_in_clear_in_the_database_and_delivered_bodies_are_deleted() {
    // No workers: the test runs each job itself, to look between them.
    let app = spawn_app_with(|env| env.push(("BIKRI_WORKERS".into(), "0".into()))).await;
    let config = std::sync::Arc::new(bikriagent_server::config::Config::from_vars(app.env.clone()).unwrap());
    let pipeline = bikriagent_server::startup::pipeline(&app.pool, &config, std::sync::Arc::new(app.clock.clone()));
    let registry = bikriagent_server::startup::job_registry(&app.pool, &config, &pipeline);
    let admin = app.db.admin_pool().await;
    sqlx::query(
        "insert into accounts (email, name, password_hash, status, email_verified_at) \
         values ('nadia@example.com', 'Nadia', 'x', 'active', now())",
    )
    .execute(&admin)
    .await
    .unwrap();

    app.submit(
        "/forgot-password",
        "/api/request_password_reset",
        &[("email", "Nadia@Example.com")],
    )
    .await;
    // Run the jobs until the reset mail is queued (the account mail job
    // writes it), and not further.
    let queued = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from mail_outbox where kind = 'reset_password'")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap()
    };
    while queued().await == 0 {
        run_next_job(&app, &registry).await;
    }

    // Waiting to be sent: the body opens with the data key, and nothing in
    // a dump of the database holds the token or the link.
    let (id, sealed, clear): (i64, Option<Vec<u8>>, Option<String>) =
        sqlx::query_as("select id, body_sealed, body_text from mail_outbox where kind = 'reset_password'")
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(clear, None);
    let sealed = sealed.expect("a sealed body");
    let body = bikriagent::mail::open_body(&app.keys(), id, &sealed).unwrap();
    let token = link_token(&body);
    assert!(token.len() >= 20, "{token}");
    let dump = pg_dump(&app.db.url);
    assert!(dump.contains("mail_outbox"), "the dump ran");
    assert!(!dump.contains(&token), "the token is in the database in clear");
    assert!(!dump.contains("reset-password?token="));
    let hashed: bool =
        sqlx::query_scalar("select exists(select 1 from auth_tokens where token_hash = sha256($1::bytea))")
            .bind(token.as_bytes())
            .fetch_one(&admin)
            .await
            .unwrap();
    assert!(hashed, "the token is stored as its SHA-256");
    // The sealed body opens only in its own row.
    assert!(bikriagent::mail::open_body(&app.keys(), id + 1, &sealed).is_err());

    // Delivered: the body is gone, the row stays, the mail has the link.
    assert_eq!(run_next_job(&app, &registry).await, "send_mail");
    assert!(
        bikriagent::jobs::claim(&app.pool, Duration::from_secs(60))
            .await
            .unwrap()
            .is_none(),
        "nothing else was queued"
    );
    let (sealed, clear, sent): (Option<Vec<u8>>, Option<String>, Option<time::OffsetDateTime>) =
        sqlx::query_as("select body_sealed, body_text, sent_at from mail_outbox where id = $1")
            .bind(id)
            .fetch_one(&admin)
            .await
            .unwrap();
    assert!(sent.is_some());
    assert_eq!((sealed, clear), (None, None), "the body was deleted on delivery");
    assert_eq!(
        bikriagent::mail::pending_body(&app.pool, &app.keys(), id)
            .await
            .unwrap(),
        None
    );
    let delivered = std::fs::read_to_string(app.mailbox_dir().join(format!("{id:08}-reset_password.eml"))).unwrap();
    assert!(delivered.contains(&format!("/reset-password?token={token}")));
    assert!(!pg_dump(&app.db.url).contains(&token));
    // And a delivered row cannot hold a body again.
    let refilled = sqlx::query("update mail_outbox set body_text = 'x' where id = $1")
        .bind(id)
        .execute(&admin)
        .await;
    assert!(refilled.is_err(), "the check constraint holds");
}
