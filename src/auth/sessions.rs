//! An account's active sessions, for the account security page.

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::session_store;

/// One session as the account owner sees it. `key` is the hex of the stored
/// id hash: it identifies the row without being usable as a cookie.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionInfo {
    pub key: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub async fn list(pool: &PgPool, account: Uuid) -> Result<Vec<SessionInfo>, sqlx::Error> {
    sqlx::query_as(
        "select encode(id_hash, 'hex') as key, created_at, last_seen_at, ip, user_agent \
           from sessions where account_id = $1 and expires_at > now() order by last_seen_at desc",
    )
    .bind(account)
    .fetch_all(pool)
    .await
}

/// Ends one of the account's own sessions; another account's key matches nothing.
pub async fn revoke(pool: &PgPool, account: Uuid, key: &str) -> Result<bool, sqlx::Error> {
    let Ok(hash) = hex::decode(key) else { return Ok(false) };
    let mut tx = crate::db::begin(pool).await?;
    let ended = session_store::end_sessions(&mut tx, account, Some(&hash), None).await?;
    crate::db::commit(tx).await?;
    Ok(ended == 1)
}

/// Ends every session of the account except `keep` (the current one).
pub async fn revoke_others(pool: &PgPool, account: Uuid, keep: Option<&str>) -> Result<u64, sqlx::Error> {
    let keep = keep.and_then(|k| hex::decode(k).ok()).unwrap_or_default();
    let mut tx = crate::db::begin(pool).await?;
    let ended = session_store::end_sessions(&mut tx, account, None, Some(&keep)).await?;
    crate::db::commit(tx).await?;
    Ok(ended)
}
