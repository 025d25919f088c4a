//! The periodic cleanup: one runner for every purge.
//!
//! Several tables only grow unless something deletes from them: sessions,
//! rate-limit windows, login attempts, one-time tokens, finished jobs, sent
//! mail, lanes' pacing clocks that have run out, and the data kept under the
//! retention periods (message bodies, closed review cases, old deliveries).
//! [`run_once`] purges all of them; `serve` and `worker` call it every
//! [`CleanupConfig::interval`] through [`run_periodically`]. A PostgreSQL
//! advisory lock lets one instance at a time run it, however many are
//! started; the others skip that round. Only counts are logged.
//!
//! The audit log (`security_events`) is append-only in the database for a
//! year at least (a trigger refuses UPDATE, and DELETE of any event younger
//! than 365 days, for every role); the runner deletes events older than
//! [`CleanupConfig::security_event_days`].

use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::auth::session_store;
use crate::clock::SharedClock;
use crate::deletion::{self, PurgeReport, Retention};
use crate::ratelimit;

/// What is kept how long, and how often the runner runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupConfig {
    /// Message bodies, send drafts and closed review cases (`BIKRI_RETENTION_DAYS`,
    /// `BIKRI_REVIEW_RETENTION_DAYS`).
    pub retention: Retention,
    /// Finished jobs, and mail no longer waiting to be sent, are deleted this
    /// many days after they were finished or queued (`BIKRI_JOB_RETENTION_DAYS`).
    pub finished_days: i64,
    /// Audit log events are deleted this many days after they happened
    /// (`BIKRI_SECURITY_EVENT_RETENTION_DAYS`, at least [`SECURITY_EVENT_FLOOR_DAYS`]).
    pub security_event_days: i64,
    /// Time between two runs (`BIKRI_CLEANUP_INTERVAL_MINUTES`).
    pub interval: Duration,
}

/// The database refuses to delete an audit event younger than this.
pub const SECURITY_EVENT_FLOOR_DAYS: i64 = 365;

impl Default for CleanupConfig {
    fn default() -> Self {
        Self {
            retention: Retention::default(),
            finished_days: 7,
            security_event_days: 730,
            interval: Duration::from_secs(3600),
        }
    }
}

/// What one run deleted or erased (counts only: safe to log).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CleanupCounts {
    pub sessions: u64,
    pub rate_limits: u64,
    pub login_attempts: u64,
    pub auth_tokens: u64,
    pub jobs: u64,
    pub mail: u64,
    /// `lane_pacing` rows whose time had passed (the same as no row).
    pub lanes: u64,
    pub security_events: u64,
    pub retention: PurgeReport,
}

/// The advisory lock key of the runner ("bikri" + 2).
pub const CLEANUP_LOCK: i64 = 0x6269_6b72_6902;

/// Login throttling reads attempts of the last day at most
/// (`Accounts::check_throttle`): older ones only take space.
const LOGIN_ATTEMPTS_KEPT: time::Duration = time::Duration::days(1);

/// The first run after a start comes this soon (or after one interval, if shorter).
const FIRST_RUN: Duration = Duration::from_secs(60);

/// Runs every purge once, unless another instance is running them (then
/// `None`). `now` is the app's clock.
pub async fn run_once(
    pool: &PgPool,
    now: OffsetDateTime,
    config: &CleanupConfig,
) -> Result<Option<CleanupCounts>, sqlx::Error> {
    // A session lock on a connection of its own, closed at the end: the lock
    // goes with the connection even if this future is dropped half-way, and
    // no pooled connection ever keeps it.
    let mut lock = pool.acquire().await?.detach();
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(CLEANUP_LOCK)
        .fetch_one(&mut lock)
        .await?;
    let outcome = if locked {
        let outcome = purge(pool, now, config).await.map(Some);
        // Released before the connection closes: the server ends a closed
        // session a moment later, and the next run must find the lock free.
        let _ = sqlx::query("select pg_advisory_unlock($1)")
            .bind(CLEANUP_LOCK)
            .execute(&mut lock)
            .await;
        outcome
    } else {
        Ok(None)
    };
    let _ = sqlx::Connection::close(lock).await;
    outcome
}

/// Every purge, without the lock (see [`run_once`]).
pub async fn purge(pool: &PgPool, now: OffsetDateTime, config: &CleanupConfig) -> Result<CleanupCounts, sqlx::Error> {
    let finished_before = now - time::Duration::days(config.finished_days);
    let sessions = session_store::delete_expired(pool, now).await?;
    let rate_limits = ratelimit::prune(pool, now).await?;
    let login_attempts = sqlx::query("delete from login_attempts where at < $1")
        .bind(now - LOGIN_ATTEMPTS_KEPT)
        .execute(pool)
        .await?
        .rows_affected();
    let auth_tokens = sqlx::query("delete from auth_tokens where expires_at < $1")
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected();
    // Mail first, while the jobs that say whether it is still waiting exist.
    let mail = sqlx::query(
        "delete from mail_outbox m where m.created_at < $1 \
            and not exists (select 1 from jobs j where j.dedupe_key = 'mail:' || m.id \
                              and j.state in ('queued', 'running'))",
    )
    .bind(finished_before)
    .execute(pool)
    .await?
    .rows_affected();
    let jobs = sqlx::query("delete from jobs where state in ('done', 'failed') and finished_at < $1")
        .bind(finished_before)
        .execute(pool)
        .await?
        .rows_affected();
    // A lane whose clock has passed is no longer paced; without its row it
    // starts again with its whole burst. Compared with the database's clock,
    // which set it. Rows an ingest batch holds are skipped, so the purge
    // never waits on (or deadlocks with) ingest.
    let lanes = sqlx::query(
        "delete from lane_pacing where lane in \
           (select lane from lane_pacing where next_free_at < now() for update skip locked)",
    )
    .execute(pool)
    .await?
    .rows_affected();
    let security_events = sqlx::query("delete from security_events where created_at < $1")
        .bind(now - time::Duration::days(config.security_event_days.max(SECURITY_EVENT_FLOOR_DAYS)))
        .execute(pool)
        .await?
        .rows_affected();
    let retention = deletion::purge(pool, config.retention, now).await?;
    Ok(CleanupCounts {
        sessions,
        rate_limits,
        login_attempts,
        auth_tokens,
        jobs,
        mail,
        lanes,
        security_events,
        retention,
    })
}

/// Runs [`run_once`] shortly after the start and then every
/// `config.interval` until `stop` turns true. Failures are logged and
/// retried at the next interval; a round another instance runs is skipped.
pub async fn run_periodically(
    pool: PgPool,
    clock: SharedClock,
    config: CleanupConfig,
    mut stop: watch::Receiver<bool>,
) {
    let mut wait = config.interval.min(FIRST_RUN);
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        wait = config.interval;
        match run_once(&pool, clock.now(), &config).await {
            Ok(Some(counts)) => tracing::info!(
                sessions = counts.sessions,
                rate_limits = counts.rate_limits,
                login_attempts = counts.login_attempts,
                auth_tokens = counts.auth_tokens,
                jobs = counts.jobs,
                mail = counts.mail,
                lanes = counts.lanes,
                message_bodies = counts.retention.message_bodies,
                send_bodies = counts.retention.send_bodies,
                review_cases = counts.retention.review_cases,
                pending_connections = counts.retention.pending_connections,
                inspection_rows = counts.retention.inspection_rows,
                old_inbound = counts.retention.old_inbound,
                "cleanup finished"
            ),
            Ok(None) => tracing::debug!("cleanup skipped: another instance is running it"),
            Err(error) => tracing::warn!(%error, "cleanup failed; trying again at the next interval"),
        }
    }
}
