//! PostgreSQL pools, migrations and the application role.
//!
//! Two roles touch the database. The *owner* role (from `DATABASE_ADMIN_URL`,
//! or `DATABASE_URL` when no admin URL is given) runs migrations and owns
//! every table. The *application* role [`APP_ROLE`] is what every query of the
//! running app executes as: it is neither superuser nor table owner and has no
//! `BYPASSRLS`, so Row Level Security always applies to it. The app pool
//! switches to it with `SET ROLE` on every new connection, which works whether
//! `DATABASE_URL` logs in as the owner (local development) or as a dedicated
//! login role that is a member of [`APP_ROLE`] (production).

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, PgPool, Postgres, Transaction};

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The non-owner role every application query runs as.
pub const APP_ROLE: &str = "bikri_app";

/// Errors from setting up the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database URL is not valid: {0}")]
    BadUrl(#[source] sqlx::Error),
    #[error("cannot reach the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("a migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the application role `{role}` is unsafe: {problem}. The app must run as a role that is \
         neither superuser nor table owner and has no BYPASSRLS"
    )]
    UnsafeAppRole { role: String, problem: &'static str },
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
}

fn connect_options(url: &str) -> Result<PgConnectOptions, DbError> {
    let options: PgConnectOptions = url.parse().map_err(DbError::BadUrl)?;
    // Statement logging would put bound values (emails, tokens) into logs.
    Ok(options.disable_statement_logging())
}

/// The pool the application uses: every connection runs as [`APP_ROLE`].
pub async fn connect_app_pool(url: &str, max_connections: u32) -> Result<PgPool, DbError> {
    let options = connect_options(url)?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(format!("SET ROLE {APP_ROLE}").as_str()).await?;
                // A connection left idle inside a transaction (a bug, a
                // dropped future) must not hold locks for long, and no query
                // may wait forever: the session ends and the pool replaces it.
                conn.execute("SET idle_in_transaction_session_timeout = '10s'").await?;
                conn.execute("SET lock_timeout = '10s'").await?;
                conn.execute("SET statement_timeout = '30s'").await?;
                Ok(())
            })
        })
        // A connection must come back outside any transaction: one left open
        // (seen when a render future is dropped mid-transaction) would swallow
        // the next user's statements and hold their locks. Inside a
        // transaction now() is the transaction's start, not the statement's.
        // The check goes over the simple query protocol: over the extended
        // one (Bind, then Execute) the two timestamps differ even outside any
        // transaction, which closed clean connections by the dozen.
        .after_release(|conn, _meta| {
            Box::pin(async move {
                use sqlx::{Executor as _, Row as _};
                // A bare string (no arguments) is sent as a simple Query message.
                let clean: bool = conn
                    .fetch_one("select now() = statement_timestamp()")
                    .await?
                    .try_get(0)?;
                if !clean {
                    crate::metrics::METRICS.leaked_transaction();
                    tracing::warn!("closing a pooled connection that was left inside a transaction");
                }
                Ok(clean)
            })
        })
        .connect_with(options)
        .await
        .map_err(DbError::Connect)?;
    verify_app_role(&pool).await?;
    Ok(pool)
}

/// Starts a transaction that a cancelled caller cannot leave open.
///
/// sqlx 0.8.6's `begin()` counts the transaction only after BEGIN's round
/// trip (transact-rs/sqlx#4393): a future dropped during that round trip
/// leaves the server inside a transaction that no drop guard rolls back, and
/// the next user of the pooled connection runs inside it. Here BEGIN runs in
/// its own task, so it always finishes; if the caller is gone by then, the
/// finished [`Transaction`] is dropped and rolled back as usual.
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    #[expect(clippy::disallowed_methods, reason = "the one cancel-safe wrapper")]
    tokio::spawn(async move { pool.begin().await })
        .await
        .unwrap_or(Err(sqlx::Error::WorkerCrashed))
}

/// Commits in its own task, so a cancelled caller cannot cut COMMIT's round
/// trip short: sqlx would then think the transaction still open and send a
/// ROLLBACK after the COMMIT ("there is no transaction in progress"), and
/// the caller could not know whether its work was saved.
pub async fn commit(tx: Transaction<'static, Postgres>) -> Result<(), sqlx::Error> {
    #[expect(clippy::disallowed_methods, reason = "the one cancel-safe wrapper")]
    tokio::spawn(tx.commit())
        .await
        .unwrap_or(Err(sqlx::Error::WorkerCrashed))
}

/// A short-lived pool as the owner role, for migrations and maintenance.
pub async fn connect_admin_pool(url: &str) -> Result<PgPool, DbError> {
    let options = connect_options(url)?;
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(DbError::Connect)
}

/// Applies pending migrations as the owner role.
pub async fn migrate(admin_url: &str) -> Result<(), DbError> {
    let pool = connect_admin_pool(admin_url).await?;
    let result = MIGRATOR.run(&pool).await;
    pool.close().await;
    result.map_err(DbError::from)
}

/// Refuses a pool whose role could read past Row Level Security.
pub async fn verify_app_role(pool: &PgPool) -> Result<(), DbError> {
    let (role, superuser, bypass_rls, owned): (String, bool, bool, i64) = sqlx::query_as(
        "select r.rolname::text, r.rolsuper, r.rolbypassrls, \
                (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                  where n.nspname = 'public' and c.relowner = r.oid) \
           from pg_roles r where r.rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    let problem = if superuser {
        Some("it is a superuser")
    } else if bypass_rls {
        Some("it has BYPASSRLS")
    } else if owned > 0 {
        Some("it owns tables")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(DbError::UnsafeAppRole { role, problem }),
        None => Ok(()),
    }
}

/// What `/readyz` reports about the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    Unreachable,
    MigrationsBehind { applied: Option<i64>, expected: i64 },
}

/// Whether the database answers and every embedded migration is applied.
pub async fn readiness(pool: &PgPool) -> Readiness {
    let expected = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let probe = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar::<_, Option<i64>>("select max(version) from _sqlx_migrations where success").fetch_one(pool),
    )
    .await;
    match probe {
        Ok(Ok(applied)) if applied == Some(expected) => Readiness::Ready,
        Ok(Ok(applied)) => Readiness::MigrationsBehind { applied, expected },
        Ok(Err(_)) | Err(_) => Readiness::Unreachable,
    }
}
