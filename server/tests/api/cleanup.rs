//! The periodic cleanup: rows of each kind past their age go, fresh ones
//! stay, one instance at a time runs it, and the loop stops when asked.

use std::sync::Arc;
use std::time::Duration;

use bikriagent::cleanup::{self, CLEANUP_LOCK, CleanupConfig};
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::pipeline::{Shop, shop};

async fn count(admin: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(admin).await.unwrap()
}

async fn session(admin: &PgPool, marker: u8, expires: &str) {
    sqlx::query(&format!(
        "insert into sessions (id_hash, data, expires_at) values ($1, '{{}}', now() + interval '{expires}')"
    ))
    .bind(vec![marker; 32])
    .execute(admin)
    .await
    .unwrap();
}

/// A job in `state`, finished (or, when queued, created) `age` ago.
async fn job(admin: &PgPool, key: &str, state: &str, age: &str) {
    sqlx::query(&format!(
        "insert into jobs (kind, dedupe_key, state, created_at, finished_at, run_at) \
         values ('test', $1, $2, now() - interval '{age}', \
                 case when $2 in ('done', 'failed') then now() - interval '{age}' end, now() + interval '1 day')"
    ))
    .bind(key)
    .bind(state)
    .execute(admin)
    .await
    .unwrap();
}

/// A mail queued `age` ago, sent or not, with its send job in `job_state`.
async fn mail(admin: &PgPool, age: &str, sent: bool, job_state: &str) -> i64 {
    let id: i64 = sqlx::query_scalar(&format!(
        "insert into mail_outbox (kind, to_address, subject, body_text, created_at, sent_at) \
         values ('test', 'owner@example.com', 'Hello', case when $1 then null else 'Body' end, now() - interval '{age}', \
                 case when $1 then now() - interval '{age}' end) returning id"
    ))
    .bind(sent)
    .fetch_one(admin)
    .await
    .unwrap();
    job(admin, &format!("mail:{id}"), job_state, age).await;
    id
}

async fn inbound(admin: &PgPool, mid: &str, age: &str) {
    sqlx::query(&format!(
        "insert into inbound_messages (id, platform, provider_message_id, channel_meta_id, sender_hash, kind, \
                                       sent_at_ms, state, received_at) \
         values ($1, 'messenger', $2, '1000000001', $3, 'text', 0, 'processed', now() - interval '{age}')"
    ))
    .bind(Uuid::new_v4())
    .bind(mid)
    .bind(vec![1u8; 34])
    .execute(admin)
    .await
    .unwrap();
}

/// Old and fresh rows of every kind the cleanup purges.
async fn seed(shop: &Shop) {
    let admin = shop.db.admin_pool().await;
    let owner = shop.owner.as_uuid();
    session(&admin, 1, "-1 minute").await;
    session(&admin, 2, "1 day").await;
    sqlx::query(
        "insert into rate_limits (key, window_start, hits) values \
         ('signup-ip:192.0.2.1', now() - interval '2 hours', 3), ('signup-ip:192.0.2.2', now() - interval '5 minutes', 3)",
    )
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query(
        "insert into login_attempts (email_key, succeeded, at) values \
         ('old@example.com', false, now() - interval '2 days'), ('new@example.com', false, now() - interval '1 hour')",
    )
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query(
        "insert into auth_tokens (token_hash, account_id, purpose, expires_at) values \
         ($1, $3, 'reset_password', now() - interval '1 hour'), ($2, $3, 'verify_email', now() + interval '1 hour')",
    )
    .bind(vec![1u8; 32])
    .bind(vec![2u8; 32])
    .bind(owner)
    .execute(&admin)
    .await
    .unwrap();
    job(&admin, "old-done", "done", "8 days").await;
    job(&admin, "old-failed", "failed", "8 days").await;
    job(&admin, "new-done", "done", "1 day").await;
    job(&admin, "old-queued", "queued", "30 days").await;
    job(&admin, "old-running", "running", "30 days").await;
    mail(&admin, "8 days", true, "done").await;
    mail(&admin, "1 day", true, "done").await;
    mail(&admin, "8 days", false, "queued").await;
    mail(&admin, "8 days", false, "failed").await;
    sqlx::query(
        "insert into pending_connections (id, owner_id, data_enc, expires_at) values \
         ($1, $3, '\\x00', now() - interval '1 hour'), ($2, $3, '\\x00', now() + interval '10 minutes')",
    )
    .bind(Uuid::new_v4())
    .bind(Uuid::new_v4())
    .bind(owner)
    .execute(&admin)
    .await
    .unwrap();
    inbound(&admin, "m_old", "200 days").await;
    sqlx::query(
        "insert into lane_pacing (lane, next_free_at) values \
         ('messenger:1000000001', now() - interval '1 second'), ('messenger:1000000002', now() + interval '1 minute')",
    )
    .execute(&admin)
    .await
    .unwrap();
    inbound(&admin, "m_new", "1 day").await;
    // Told apart by a tag in their detail (the kind is one of the audit kinds).
    for (tag, age) in [
        ("audit_old", "800 days"),
        ("audit_kept", "400 days"),
        ("audit_new", "1 day"),
    ] {
        sqlx::query(&format!(
            "insert into security_events (kind, detail, created_at) \
             values ('logout', jsonb_build_object('tag', $1::text), now() - interval '{age}')"
        ))
        .bind(tag)
        .execute(&admin)
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_past_their_age_go_and_fresh_ones_stay() {
    let shop = shop().await;
    let admin = shop.db.admin_pool().await;
    seed(&shop).await;
    let config = CleanupConfig::default();

    let counts = cleanup::run_once(&shop.pool, shop.now(), &config)
        .await
        .unwrap()
        .expect("no other instance holds the lock");
    assert_eq!(
        (
            counts.sessions,
            counts.rate_limits,
            counts.login_attempts,
            counts.auth_tokens
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(counts.mail, 2, "the old sent mail and the old one that failed for good");
    assert_eq!(
        counts.jobs, 4,
        "old done and failed jobs, and the old mails' finished send jobs"
    );
    assert_eq!(counts.retention.pending_connections, 1);
    assert_eq!(counts.retention.old_inbound, 1);
    assert_eq!(counts.lanes, 1, "a lane whose pacing clock has passed");
    assert_eq!(counts.security_events, 1, "audit events past two years go");
    let mut audit: Vec<String> = sqlx::query_scalar("select detail->>'tag' from security_events where detail ? 'tag'")
        .fetch_all(&admin)
        .await
        .unwrap();
    audit.sort_unstable();
    assert_eq!(audit, ["audit_kept", "audit_new"]);

    assert_eq!(
        count(&admin, "select count(*) from sessions where expires_at > now()").await,
        1
    );
    assert_eq!(count(&admin, "select count(*) from sessions").await, 1);
    let limits: Vec<String> = sqlx::query_scalar("select key from rate_limits")
        .fetch_all(&admin)
        .await
        .unwrap();
    assert_eq!(limits, ["signup-ip:192.0.2.2"]);
    let attempts: Vec<String> = sqlx::query_scalar("select email_key from login_attempts")
        .fetch_all(&admin)
        .await
        .unwrap();
    assert_eq!(attempts, ["new@example.com"]);
    let tokens: Vec<String> = sqlx::query_scalar("select purpose from auth_tokens")
        .fetch_all(&admin)
        .await
        .unwrap();
    assert_eq!(tokens, ["verify_email"]);
    let mut jobs: Vec<String> =
        sqlx::query_scalar("select dedupe_key from jobs where kind = 'test' and dedupe_key not like 'mail:%'")
            .fetch_all(&admin)
            .await
            .unwrap();
    jobs.sort_unstable();
    assert_eq!(
        jobs,
        ["new-done", "old-queued", "old-running"],
        "work not finished stays however old"
    );
    let mail: Vec<(bool, String)> = sqlx::query_as(
        "select sent_at is not null, (select state from jobs where dedupe_key = 'mail:' || m.id) \
           from mail_outbox m where kind = 'test' order by created_at",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(
        mail,
        [(false, "queued".to_owned()), (true, "done".to_owned())],
        "mail still waiting to be sent stays, and recent mail"
    );
    assert_eq!(
        count(
            &admin,
            "select count(*) from pending_connections where expires_at > now()"
        )
        .await,
        1
    );
    assert_eq!(count(&admin, "select count(*) from pending_connections").await, 1);
    let kept: Vec<String> = sqlx::query_scalar("select provider_message_id from inbound_messages")
        .fetch_all(&admin)
        .await
        .unwrap();
    assert_eq!(kept, ["m_new"]);
    let lanes: Vec<String> = sqlx::query_scalar("select lane from lane_pacing")
        .fetch_all(&admin)
        .await
        .unwrap();
    assert_eq!(lanes, ["messenger:1000000002"], "a lane still paced keeps its clock");

    let again = cleanup::run_once(&shop.pool, shop.now(), &config)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, cleanup::CleanupCounts::default(), "nothing twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_at_a_time_runs_it() {
    let shop = shop().await;
    let admin = shop.db.admin_pool().await;
    session(&admin, 1, "-1 minute").await;
    // Another instance is cleaning up: it holds the lock.
    let holder = shop.db.admin_pool().await;
    let mut other = holder.acquire().await.unwrap();
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(CLEANUP_LOCK)
        .fetch_one(&mut *other)
        .await
        .unwrap();
    assert!(locked);
    let skipped = cleanup::run_once(&shop.pool, shop.now(), &CleanupConfig::default())
        .await
        .unwrap();
    assert_eq!(skipped, None, "this round belongs to the other instance");
    assert_eq!(count(&admin, "select count(*) from sessions").await, 1);
    let _: bool = sqlx::query_scalar("select pg_advisory_unlock($1)")
        .bind(CLEANUP_LOCK)
        .fetch_one(&mut *other)
        .await
        .unwrap();
    let ran = cleanup::run_once(&shop.pool, shop.now(), &CleanupConfig::default())
        .await
        .unwrap()
        .expect("the lock is free again");
    assert_eq!(ran.sessions, 1);
    // The lock went with its connection: the next round can take it.
    assert!(
        cleanup::run_once(&shop.pool, shop.now(), &CleanupConfig::default())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_runs_every_interval_until_stopped() {
    let shop = shop().await;
    let admin = shop.db.admin_pool().await;
    let (stop_tx, stop_rx) = watch::channel(false);
    let config = CleanupConfig {
        interval: Duration::from_millis(20),
        ..CleanupConfig::default()
    };
    let runner = tokio::spawn(cleanup::run_periodically(
        shop.pool.clone(),
        Arc::new(shop.clock.clone()),
        config,
        stop_rx,
    ));
    // Two sessions expiring one after the other: the second is only purged by a later round.
    session(&admin, 1, "-1 minute").await;
    let gone = |marker: u8| {
        let admin = admin.clone();
        async move {
            for _ in 0..600 {
                let left: i64 = sqlx::query_scalar("select count(*) from sessions where id_hash = $1")
                    .bind(vec![marker; 32])
                    .fetch_one(&admin)
                    .await
                    .unwrap();
                if left == 0 {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        }
    };
    assert!(gone(1).await, "the first round purged the expired session");
    session(&admin, 2, "-1 minute").await;
    assert!(gone(2).await, "a later round purged the next one");
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), runner)
        .await
        .expect("the runner stops when asked")
        .unwrap();
}

/// The database keeps every audit event for a year, whatever the app asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_role_can_delete_an_audit_event_younger_than_a_year() {
    let shop = shop().await;
    let admin = shop.db.admin_pool().await;
    sqlx::query(
        "insert into security_events (kind, detail, created_at) \
         values ('logout', '{\"tag\": \"young\"}', now() - interval '364 days')",
    )
    .execute(&admin)
    .await
    .unwrap();
    for pool in [&shop.pool, &admin] {
        let refused = sqlx::query("delete from security_events where detail->>'tag' = 'young'")
            .execute(pool)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
    }
    let config = CleanupConfig {
        security_event_days: 1,
        ..CleanupConfig::default()
    };
    let counts = cleanup::run_once(&shop.pool, shop.now(), &config)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counts.security_events, 0);
}
