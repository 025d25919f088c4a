//! The PostgreSQL job queue.

use std::time::Duration;

use bikriagent::jobs::{self, JobError, Registry};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_never_share_a_job() {
    let app = spawn_app().await;
    app.stop(); // no in-process workers competing with the test
    let pool = app.db.admin_pool().await;
    for n in 0..20 {
        jobs::enqueue(&pool, "test", &json!({ "n": n }), None).await.unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = jobs::claim(&pool, Duration::from_secs(60)).await.unwrap() {
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, 20);
    assert_eq!(all.len(), 20, "each job claimed exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupe_keys_keep_one_job() {
    let app = spawn_app().await;
    let first = jobs::enqueue(&app.pool, "test", &json!({}), Some("k1")).await.unwrap();
    let second = jobs::enqueue(&app.pool, "test", &json!({}), Some("k1")).await.unwrap();
    assert!(first.is_some());
    assert_eq!(second, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_with_backoff_then_given_up() {
    let app = spawn_app().await;
    app.stop();
    let pool = bikriagent::db::connect_app_pool(&app.db.url, 2).await.unwrap();
    let id = jobs::enqueue(&pool, "flaky", &json!({}), None).await.unwrap().unwrap();
    sqlx::query("update jobs set max_attempts = 2 where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let registry = Registry::new().on("flaky", |_job| async { Err(JobError::Retry("upstream 503".into())) });

    let job = jobs::claim(&pool, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("claimable");
    registry.run_one(&pool, job).await.unwrap();
    let (state, run_in, error): (String, f64, Option<String>) =
        sqlx::query_as("select state, extract(epoch from run_at - now())::float8, last_error from jobs where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(state, "queued");
    assert!(run_in > 1.0, "backed off, runs in {run_in}s");
    assert_eq!(error.as_deref(), Some("retryable: upstream 503"));
    assert!(
        jobs::claim(&pool, Duration::from_secs(60)).await.unwrap().is_none(),
        "not before its time"
    );

    sqlx::query("update jobs set run_at = now() where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let job = jobs::claim(&pool, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("due again");
    assert_eq!(job.attempts, 2);
    registry.run_one(&pool, job).await.unwrap();
    let state: String = sqlx::query_scalar("select state from jobs where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "failed", "attempts used up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_lets_another_worker_take_the_job() {
    let app = spawn_app().await;
    app.stop();
    let pool = bikriagent::db::connect_app_pool(&app.db.url, 2).await.unwrap();
    let id = jobs::enqueue(&pool, "slow", &json!({}), None).await.unwrap().unwrap();
    let crashed = jobs::claim(&pool, Duration::from_millis(200)).await.unwrap().unwrap();
    assert_eq!(crashed.id, id);
    assert!(
        jobs::claim(&pool, Duration::from_secs(60)).await.unwrap().is_none(),
        "leased"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let retaken = jobs::claim(&pool, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("lease expired");
    assert_eq!(retaken.id, id);
    assert_eq!(retaken.attempts, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_process_workers_run_jobs_and_unknown_kinds_fail_permanently() {
    let app = spawn_app().await;
    let id = jobs::enqueue(&app.pool, "no-such-kind", &json!({}), None)
        .await
        .unwrap()
        .unwrap();
    let mut state = String::new();
    for _ in 0..100 {
        state = sqlx::query_scalar("select state from jobs where id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        if state == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "failed");
}

#[test]
fn backoff_grows_and_is_capped() {
    assert_eq!(jobs::backoff(1), Duration::from_secs(2));
    assert_eq!(jobs::backoff(3), Duration::from_secs(8));
    assert_eq!(jobs::backoff(30), Duration::from_secs(600));
}
