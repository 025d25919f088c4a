//! A durable job queue in PostgreSQL.
//!
//! Jobs are claimed with `FOR UPDATE SKIP LOCKED` and held by a time-limited
//! lease rather than an open transaction, so any number of workers in any
//! number of app instances can share one queue, a worker that dies only
//! delays its job until the lease runs out, and no connection is pinned while
//! a handler talks to the outside world. Handlers must therefore be
//! idempotent: a job may run again after a crash.
//!
//! Each kind of job is a type implementing [`Job`], in the spirit of
//! crates.io's `BackgroundJob`: the value is its payload (stored as JSON),
//! `JOB_NAME` is the stored `jobs.kind`, and [`Job::run`] does the work.
//! Enqueueing takes a typed value (`SendJob { owner, send }.enqueue(&mut tx)`),
//! and the [`Registry`] registers types, parses each payload once and runs
//! every job in a span carrying its id, kind and owner.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::types::Json;
use tokio::sync::{Notify, watch};
use tracing::Instrument as _;
use uuid::Uuid;

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

/// A kind of job: a payload type whose value is the job.
///
/// `JOB_NAME` and the payload's JSON shape are what a queued row holds: keep
/// both as they are once released (a job queued by the previous version must
/// still parse), or add a new kind.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The stored `jobs.kind`.
    const JOB_NAME: &'static str;

    /// What running it needs (the pipeline, a pool and keys…), given to
    /// [`Registry::register`] once.
    type Context: Clone + Send + Sync + 'static;

    /// The owner the job works for, when it has one: recorded on its span.
    fn owner(&self) -> Option<Uuid> {
        None
    }

    /// With a key, enqueueing the same work twice keeps one job, so a retried
    /// request or job cannot schedule it twice.
    fn dedupe_key(&self) -> Option<String> {
        None
    }

    /// Does the work. It must be idempotent: a job may run again after a crash.
    fn run(&self, context: &Self::Context) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Enqueues this job (with its [`Job::dedupe_key`]), usually in the
    /// caller's transaction; see [`enqueue_job`].
    fn enqueue<'e, E>(&self, executor: E) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send
    where
        E: sqlx::PgExecutor<'e>,
    {
        let key = self.dedupe_key();
        async move { enqueue_job(executor, self, key.as_deref()).await }
    }

    /// Enqueues this job to become runnable `delay` from now; see [`enqueue_job_after`].
    fn enqueue_after<'e, E>(
        &self,
        executor: E,
        delay: Duration,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send
    where
        E: sqlx::PgExecutor<'e>,
    {
        let key = self.dedupe_key();
        async move { enqueue_job_after(executor, self, key.as_deref(), delay).await }
    }
}

/// A claimed job, its payload not parsed yet.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
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

/// Enqueues `job` under its `JOB_NAME`, its value as the payload. With a
/// `dedupe_key`, enqueueing the same key twice keeps one job, so a retried
/// request cannot schedule the same work twice. Returns the job id, or
/// `None` when the key was already queued.
pub async fn enqueue_job<'e, E, J>(executor: E, job: &J, dedupe_key: Option<&str>) -> Result<Option<i64>, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
    J: Job,
{
    sqlx::query_scalar(
        "insert into jobs (kind, payload, dedupe_key) values ($1, $2, $3) \
         on conflict (dedupe_key) do nothing returning id",
    )
    .bind(J::JOB_NAME)
    .bind(Json(job))
    .bind(dedupe_key)
    .fetch_optional(executor)
    .await
}

/// [`enqueue_job`] for a job that becomes runnable `delay` from now (database time).
pub async fn enqueue_job_after<'e, E, J>(
    executor: E,
    job: &J,
    dedupe_key: Option<&str>,
    delay: Duration,
) -> Result<Option<i64>, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
    J: Job,
{
    sqlx::query_scalar(
        "insert into jobs (kind, payload, dedupe_key, run_at) values ($1, $2, $3, now() + make_interval(secs => $4)) \
         on conflict (dedupe_key) do nothing returning id",
    )
    .bind(J::JOB_NAME)
    .bind(Json(job))
    .bind(dedupe_key)
    .bind(delay.as_secs_f64())
    .fetch_optional(executor)
    .await
}

/// Claims the oldest runnable job (queued and due, or running with an expired
/// lease) for `lease`.
pub async fn claim(pool: &PgPool, lease: Duration) -> Result<Option<ClaimedJob>, sqlx::Error> {
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
pub async fn fail(pool: &PgPool, job: &ClaimedJob, error: &JobError) -> Result<(), sqlx::Error> {
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

/// A job whose payload parsed: whom it works for, and its run.
struct Parsed {
    owner: Option<Uuid>,
    run: Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>,
}

type Handler = dyn Fn(Value) -> Result<Parsed, JobError> + Send + Sync;

/// The job types a worker runs, by their `JOB_NAME`.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<Handler>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers job type `J`, run with `context`.
    ///
    /// # Panics
    ///
    /// When another type with the same `JOB_NAME` is registered: two kinds
    /// of work under one stored name is a mistake to catch at start.
    pub fn register<J: Job>(mut self, context: J::Context) -> Self {
        let handler = move |payload: Value| -> Result<Parsed, JobError> {
            let job: J = serde_json::from_value(payload).map_err(|error| {
                JobError::Permanent(format!("the payload of a {} job does not parse: {error}", J::JOB_NAME))
            })?;
            let context = context.clone();
            Ok(Parsed {
                owner: job.owner(),
                run: Box::pin(async move { job.run(&context).await }),
            })
        };
        let earlier = self.handlers.insert(J::JOB_NAME, Arc::new(handler));
        assert!(earlier.is_none(), "two job types are named {}", J::JOB_NAME);
        self
    }

    /// The stored names of the registered types.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = self.handlers.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    /// Parses a claimed job's payload (once) and runs it, in the current
    /// span, whose `owner` field it fills when the job has an owner (see
    /// [`job_span`]). A kind nothing registered, or a payload that does not
    /// parse, fails permanently: trying again cannot help.
    pub async fn run(&self, job: &ClaimedJob) -> Result<(), JobError> {
        let Some(handler) = self.handlers.get(job.kind.as_str()) else {
            return Err(JobError::Permanent(format!("no handler for job kind {}", job.kind)));
        };
        let parsed = handler(job.payload.clone())?;
        if let Some(owner) = parsed.owner {
            tracing::Span::current().record("owner", tracing::field::display(owner));
        }
        parsed.run.await
    }

    /// Runs one job to its recorded outcome, in its [`job_span`].
    pub async fn run_one(&self, pool: &PgPool, job: ClaimedJob) -> Result<(), sqlx::Error> {
        let span = job_span(&job);
        async {
            let outcome = self.run(&job).await;
            if let Err(error) = &outcome {
                tracing::warn!(job_id = job.id, kind = %job.kind, attempt = job.attempts, %error, "job failed");
            }
            record_outcome(pool, &job, &outcome).await
        }
        .instrument(span)
        .await
    }
}

/// The span a job runs in: its id, kind and attempt, and its owner once the
/// payload parsed (empty for jobs without one). Everything logged while the
/// job runs carries them.
pub fn job_span(job: &ClaimedJob) -> tracing::Span {
    tracing::info_span!(
        "job",
        job_id = job.id,
        kind = %job.kind,
        attempt = job.attempts,
        owner = tracing::field::Empty,
    )
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
async fn record_outcome(pool: &PgPool, job: &ClaimedJob, outcome: &Result<(), JobError>) -> Result<(), sqlx::Error> {
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
