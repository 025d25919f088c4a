//! Meta's `signed_request` callbacks (Deauthorize, Data Deletion), each
//! accepted once.
//!
//! [`signature::verify_signed_request`] checks the signature and the dates;
//! here a verified request is remembered (the SHA-256 of its signature, in
//! `meta_signed_requests`) until it would be refused as too old anyway, so
//! the same request sent again is refused: someone who saw one cannot
//! replay it after the person reconnected. When the callback's work fails,
//! the request is forgotten again, so Meta's retry of it is accepted.

use std::future::Future;

use sqlx::PgPool;
use time::OffsetDateTime;

use super::signature::{self, SIGNED_REQUEST_MAX_AGE, SignatureError, SignedRequest};

/// Why a callback was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError<E> {
    /// Not signed by Meta with our secret, or undated, too old, or from the future.
    #[error("refused: {0}")]
    Refused(#[from] SignatureError),
    /// Accepted before.
    #[error("this signed_request was already used")]
    Replayed,
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The callback's own work failed (the request is forgotten, so a retry works).
    #[error("{0}")]
    Work(E),
}

/// Verifies `raw` at `now`, records it as used (or refuses it as a replay),
/// and runs `work` with it. When `work` fails, the request is forgotten.
pub async fn accept_once<T, E, F, Fut>(
    pool: &PgPool,
    secret: &[u8],
    raw: &str,
    now: OffsetDateTime,
    work: F,
) -> Result<T, CallbackError<E>>
where
    F: FnOnce(SignedRequest) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let request = signature::verify_signed_request(secret, raw, now.unix_timestamp())?;
    if !remember(pool, &request, now).await.map_err(CallbackError::Database)? {
        return Err(CallbackError::Replayed);
    }
    let fingerprint = request.fingerprint;
    match work(request).await {
        Ok(done) => Ok(done),
        Err(error) => {
            if let Err(forget_error) = forget(pool, &fingerprint).await {
                tracing::error!(error = %forget_error, "could not forget a failed Meta callback; Meta's retry will be refused");
            }
            Err(CallbackError::Work(error))
        }
    }
}

/// Records a verified request; `false` when it was recorded before. Also
/// drops the records that are past their use.
pub async fn remember(pool: &PgPool, request: &SignedRequest, now: OffsetDateTime) -> Result<bool, sqlx::Error> {
    let issued_at = request.issued_at.unwrap_or_else(|| now.unix_timestamp());
    // A minute past the last instant the request is accepted.
    let keep_until = OffsetDateTime::from_unix_timestamp(issued_at.saturating_add(SIGNED_REQUEST_MAX_AGE + 60))
        .unwrap_or(now + time::Duration::seconds(SIGNED_REQUEST_MAX_AGE + 60));
    sqlx::query("delete from meta_signed_requests where expires_at < $1")
        .bind(now)
        .execute(pool)
        .await?;
    let inserted = sqlx::query(
        "insert into meta_signed_requests (fingerprint, expires_at) values ($1, $2) on conflict (fingerprint) do nothing",
    )
    .bind(&request.fingerprint[..])
    .bind(keep_until)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

async fn forget(pool: &PgPool, fingerprint: &[u8; 32]) -> Result<(), sqlx::Error> {
    sqlx::query("delete from meta_signed_requests where fingerprint = $1")
        .bind(&fingerprint[..])
        .execute(pool)
        .await?;
    Ok(())
}
