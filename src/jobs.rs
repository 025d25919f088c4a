//! A durable job queue in PostgreSQL.
//!
//! Jobs are claimed with `FOR UPDATE SKIP LOCKED` and held by a time-limited
//! lease rather than an open transaction, so any number of workers in any
//! number of app instances can share one queue, a worker that dies only
//! delays its job until the lease runs out, and no connection is pinned while
//! a handler talks to the outside world. Handlers must therefore be
//! idempotent: a job may run again after a crash.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::{Notify, watch};

/// Wakes an idle worker of this process. Workers also poll, so jobs queued
/// by other instances still run; the wakeup only saves the poll interval on
/// the path users feel (a webhook ack to its reply).
static JOB_QUEUED: Notify = Notify::const_new();

/// Tells this process's workers that a job became runnable. Call it after
/// the transaction that queued the job commits: a worker woken earlier would
/// not see the job yet.
pub fn wake_workers() {
    JOB_QUEUED.notify_one();
}

/// A claimed job.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
    /// How many times this job has been claimed, this time included.
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Why a handler did not finish a job.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (a timeout, a 5xx, the database restarting).
    #[error("retryable: {0}")]
    Retry(String),
    /// Trying again cannot help (bad payload, a 4xx): the job fails now.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Enqueues a job. With a `dedupe_key`, enqueueing the same key twice keeps
/// one job, so a retried request cannot schedule the same work twice.
/// Returns the job id, or `None` when the key was already queued.
pub async fn enqueue<'e, E>(
    executor: E,
    kind: &str,
    payload: &Value,
    dedupe_key: Option<&str>,
) -> Result<Option<i64>, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query_scalar(
        "insert into jobs (kind, payload, dedupe_key) values ($1, $2, $3) \
         on conflict (dedupe_key) do nothing returning id",
    )
    .bind(kind)
    .bind(payload)
    .bind(dedupe_key)
    .fetch_optional(executor)
    .await
}

/// Enqueues a job that becomes runnable `delay` from now (database time),
/// with the same de-duplication as [`enqueue`].
pub async fn enqueue_after<'e, E>(
    executor: E,
    kind: &str,
    payload: &Value,
    dedupe_key: Option<&str>,
    delay: Duration,
) -> Result<Option<i64>, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query_scalar(
        "insert into jobs (kind, payload, dedupe_key, run_at) values ($1, $2, $3, now() + make_interval(secs => $4)) \
         on conflict (dedupe_key) do nothing returning id",
    )
    .bind(kind)
    .bind(payload)
    .bind(dedupe_key)
    .bind(delay.as_secs_f64())
    .fetch_optional(executor)
    .await
}

/// Claims the oldest runnable job (queued and due, or running with an expired
/// lease) for `lease`.
pub async fn claim(pool: &PgPool, lease: Duration) -> Result<Option<Job>, sqlx::Error> {
    // Each half walks its own partial index; the expired half is read only
    // when no queued job is due (coalesce stops at the first non-null).
    sqlx::query_as(
        "with queued as (select id from jobs where state = 'queued' and run_at <= now() \
                          order by run_at limit 1 for update skip locked), \
              expired as (select id from jobs where state = 'running' and locked_until < now() \
                          order by locked_until limit 1 for update skip locked) \
         update jobs set state = 'running', attempts = attempts + 1, \
                locked_until = now() + make_interval(secs => $1) \
          where id = coalesce((select id from queued), (select id from expired)) \
          returning id, kind, payload, attempts, max_attempts",
    )
    .bind(lease.as_secs_f64())
    .fetch_optional(pool)
    .await
}

/// Marks a job done.
pub async fn complete(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update jobs set state = 'done', finished_at = now(), locked_until = null, \
                last_error = null where id = $1",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Backoff before attempt `attempts + 1`: 2 s, 4 s, 8 s … capped at 10 min.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 20) as u32;
    Duration::from_secs(2u64.saturating_pow(exp).min(600))
}

/// Records a failure: requeues with backoff, or fails the job for good when
/// the error is permanent or the attempts are used up.
pub async fn fail(pool: &PgPool, job: &Job, error: &JobError) -> Result<(), sqlx::Error> {
    let give_up = matches!(error, JobError::Permanent(_)) || job.attempts >= job.max_attempts;
    let message = error.to_string();
    if give_up {
        sqlx::query(
            "update jobs set state = 'failed', finished_at = now(), locked_until = null, \
                    last_error = $2 where id = $1",
        )
        .bind(job.id)
        .bind(&message)
        .execute(pool)
        .await?;
    } else {
        sqlx::query(
            "update jobs set state = 'queued', locked_until = null, last_error = $2, \
                    run_at = now() + make_interval(secs => $3) where id = $1",
        )
        .bind(job.id)
        .bind(&message)
        .bind(backoff(job.attempts).as_secs_f64())
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Queue depth and the age of the oldest runnable job, for readiness and metrics.
pub async fn depth(pool: &PgPool) -> Result<(i64, Option<f64>), sqlx::Error> {
    sqlx::query_as(
        "select count(*), extract(epoch from now() - min(run_at))::float8 \
           from jobs where state = 'queued' and run_at <= now()",
    )
    .fetch_one(pool)
    .await
}

type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type HandlerFn = dyn Fn(Job) -> HandlerFuture + Send + Sync;

/// Maps job kinds to their handlers.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<HandlerFn>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the handler for `kind`.
    pub fn on<F, Fut>(mut self, kind: &'static str, handler: F) -> Self
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.handlers
            .insert(kind, Arc::new(move |job| Box::pin(handler(job)) as HandlerFuture));
        self
    }

    /// Runs one job to its recorded outcome.
    pub async fn run_one(&self, pool: &PgPool, job: Job) -> Result<(), sqlx::Error> {
        let outcome = match self.handlers.get(job.kind.as_str()) {
            Some(handler) => handler(job.clone()).await,
            None => Err(JobError::Permanent(format!("no handler for job kind {}", job.kind))),
        };
        if let Err(error) = &outcome {
            tracing::warn!(job_id = job.id, kind = %job.kind, attempt = job.attempts, %error, "job failed");
        }
        record_outcome(pool, &job, &outcome).await
    }
}

/// Pauses between attempts to record a job's outcome while the database is
/// unreachable (a restart, a failover): about 15 s in all, well inside the
/// lease, so a job that finished is not left `running` for the whole lease
/// and then run again.
const OUTCOME_RECORD_PAUSES: &[Duration] = &[
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// Records `outcome`, trying again after each of [`OUTCOME_RECORD_PAUSES`]
/// when the database does not answer. Handlers are idempotent, so giving up
/// is safe: the job runs again once its lease expires.
async fn record_outcome(pool: &PgPool, job: &Job, outcome: &Result<(), JobError>) -> Result<(), sqlx::Error> {
    let mut pauses = OUTCOME_RECORD_PAUSES.iter();
    loop {
        let recorded = match outcome {
            Ok(()) => complete(pool, job.id).await,
            Err(error) => fail(pool, job, error).await,
        };
        match (recorded, pauses.next()) {
            (Ok(()), _) => return Ok(()),
            (Err(error), None) => return Err(error),
            (Err(error), Some(pause)) => {
                tracing::warn!(job_id = job.id, %error, "could not record a job's outcome; trying again");
                tokio::time::sleep(*pause).await;
            }
        }
    }
}

/// Settings of a worker loop.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How long a claimed job is protected from other workers.
    pub lease: Duration,
    /// How long to sleep when the queue is empty.
    pub idle_poll: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(250),
        }
    }
}

/// Claims and runs jobs until `shutdown` turns true. A job in progress when
/// shutdown is asked for is finished first.
pub async fn run_worker(pool: PgPool, registry: Registry, options: WorkerOptions, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            break;
        }
        match claim(&pool, options.lease).await {
            Ok(Some(job)) => {
                // There may be more: pass the wakeup on to an idle worker.
                // Wakeups spread while claims succeed and stop at the first
                // worker that finds the queue empty.
                JOB_QUEUED.notify_one();
                if let Err(error) = registry.run_one(&pool, job).await {
                    tracing::error!(%error, "could not record a job's outcome");
                }
                continue;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "could not claim a job"),
        }
        tokio::select! {
            _ = tokio::time::sleep(options.idle_poll) => {}
            _ = JOB_QUEUED.notified() => {}
            _ = shutdown.changed() => {}
        }
    }
}
