//! Mail through SMTP against a fake SMTP server on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

use crate::helpers::spawn_app_with;

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
    bikriagent::mail::enqueue(
        &mut conn,
        None,
        "test",
        "owner@example.com",
        "Hello owner",
        "Line one\nLine two",
    )
    .await
    .unwrap();
    bikriagent::mail::enqueue(&mut conn, None, "test", "reject@example.com", "Nope", "x")
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
