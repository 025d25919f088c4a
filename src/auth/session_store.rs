//! tower-sessions store in PostgreSQL.
//!
//! Only the SHA-256 of the session id is stored. The account id, IP and user
//! agent are copied out of the session data into columns so the account
//! security page can list sessions and "log out everywhere" is one DELETE.
//!
//! A session that ended stays ended. tower-sessions calls [`SessionStore::save`]
//! at the end of every request that changed its session, and a request may
//! still be running when the owner logs out everywhere, changes the password
//! or ends that session from another device. So:
//!
//! - `save` only updates a row that exists: a request in flight never brings
//!   back a session that was deleted under it;
//! - rows are inserted only by `create`, which tower-sessions calls for a new
//!   session and after `cycle_id` (a new id for the same data). Every session
//!   belongs to a *family*, a random id stored in its data that survives id
//!   rotation and is replaced at sign-in (which clears the data). Ending
//!   sessions remembers their families in `session_revocations` for
//!   [`REVOCATION_MEMORY`], and `create` refuses a record whose family was
//!   revoked: a request in flight that rotates its id after its session ended
//!   (a second factor, a password change) does not start it again.
//!
//! Refused writes are not errors: the request finishes, and its cookie names
//! a session that does not exist, so the next request is anonymous.

use async_trait::async_trait;
use sha2::{Digest as _, Sha256};
use sqlx::{PgConnection, PgPool};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};
use uuid::Uuid;

/// Session data keys the store understands.
pub const ACCOUNT_ID: &str = "account_id";
pub const IP: &str = "ip";
pub const USER_AGENT: &str = "user_agent";
/// The session's family (see the module documentation). Set by the store.
pub const FAMILY: &str = "session_family";

/// How long an ended session's family is remembered: far longer than any
/// request may run (bodies must arrive within the read timeout, handlers
/// take seconds), so no request that held the session is still running.
pub const REVOCATION_MEMORY: time::Duration = time::Duration::hours(1);

#[derive(Debug, Clone)]
pub struct PgSessionStore {
    pool: PgPool,
}

impl PgSessionStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// The hex key of a session id, as stored (see `sessions::SessionInfo::key`).
pub fn session_key(id: &Id) -> String {
    hex::encode(id_hash(id))
}

fn id_hash(id: &Id) -> Vec<u8> {
    Sha256::digest(id.0.to_le_bytes()).to_vec()
}

fn backend(error: impl std::fmt::Display) -> Error {
    Error::Backend(error.to_string())
}

/// The columns copied out of a record's data.
struct Columns {
    account: Option<Uuid>,
    ip: Option<String>,
    user_agent: Option<String>,
    family: Option<Uuid>,
}

fn columns(record: &Record) -> Columns {
    let text = |key: &str| record.data.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    Columns {
        account: text(ACCOUNT_ID).and_then(|s| s.parse().ok()),
        ip: text(IP),
        user_agent: text(USER_AGENT).map(|ua| ua.chars().take(300).collect()),
        family: text(FAMILY).and_then(|s| s.parse().ok()),
    }
}

fn encode(record: &Record) -> Result<serde_json::Value> {
    serde_json::to_value(&record.data).map_err(|e| Error::Encode(e.to_string()))
}

/// Inserts `record` unless its id is taken; `false` on a collision.
async fn insert(conn: &mut PgConnection, record: &Record, family: Uuid) -> Result<bool> {
    let columns = columns(record);
    let inserted = sqlx::query(
        "insert into sessions (id_hash, account_id, data, expires_at, ip, user_agent, family) \
         values ($1, $2, $3, $4, $5, $6, $7) on conflict (id_hash) do nothing",
    )
    .bind(id_hash(&record.id))
    .bind(columns.account)
    .bind(encode(record)?)
    .bind(record.expiry_date)
    .bind(columns.ip)
    .bind(columns.user_agent)
    .bind(family)
    .execute(&mut *conn)
    .await
    .map_err(backend)?
    .rows_affected();
    Ok(inserted == 1)
}

#[async_trait]
impl SessionStore for PgSessionStore {
    /// A new session, or an existing one under a new id (`cycle_id`). A record
    /// that carries a family and an account continues that family: it is
    /// written only while the family is not revoked.
    async fn create(&self, record: &mut Record) -> Result<()> {
        let continued = columns(record);
        let family = match (continued.family, continued.account) {
            (Some(family), Some(account)) => Some((family, account)),
            _ => None,
        };
        let Some((family, account)) = family else {
            // A fresh session (or a fresh sign-in, which clears the data).
            let family = Uuid::new_v4();
            record.data.insert(FAMILY.to_owned(), family.to_string().into());
            let mut conn = self.pool.acquire().await.map_err(backend)?;
            while !insert(&mut conn, record, family).await? {
                record.id = Id::default();
            }
            return Ok(());
        };
        let mut tx = crate::db::begin(&self.pool).await.map_err(backend)?;
        // Wait for a revocation of this account in progress (it holds the
        // account row `for update` until it commits), then look with a fresh
        // snapshot: a revocation either sees this row or is seen here.
        sqlx::query("select 1 from accounts where id = $1 for key share")
            .bind(account)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let revoked: bool = sqlx::query_scalar("select exists(select 1 from session_revocations where family = $1)")
            .bind(family)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if revoked {
            tracing::info!("not restarting a session that ended while its request was running");
            return Ok(());
        }
        while !insert(&mut tx, record, family).await? {
            record.id = Id::default();
        }
        crate::db::commit(tx).await.map_err(backend)?;
        Ok(())
    }

    /// Updates the session if it still exists; a session that ended stays ended.
    async fn save(&self, record: &Record) -> Result<()> {
        let columns = columns(record);
        let updated = sqlx::query(
            "update sessions set account_id = $2, data = $3, expires_at = $4, ip = $5, user_agent = $6, \
                    last_seen_at = now() \
              where id_hash = $1",
        )
        .bind(id_hash(&record.id))
        .bind(columns.account)
        .bind(encode(record)?)
        .bind(record.expiry_date)
        .bind(columns.ip)
        .bind(columns.user_agent)
        .execute(&self.pool)
        .await
        .map_err(backend)?
        .rows_affected();
        if updated == 0 {
            tracing::info!("not saving a session that ended while its request was running");
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let row: Option<(serde_json::Value, time::OffsetDateTime)> =
            sqlx::query_as("select data, expires_at from sessions where id_hash = $1 and expires_at > now()")
                .bind(id_hash(id))
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        match row {
            Some((data, expiry_date)) => {
                let data = serde_json::from_value(data).map_err(|e| Error::Decode(e.to_string()))?;
                Ok(Some(Record {
                    id: *id,
                    data,
                    expiry_date,
                }))
            }
            None => Ok(None),
        }
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sqlx::query("delete from sessions where id_hash = $1")
            .bind(id_hash(id))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// Ends every session of an account (logout everywhere, password reset,
/// suspension) in the caller's transaction; returns how many ended.
pub async fn end_account_sessions(conn: &mut PgConnection, account: Uuid) -> std::result::Result<u64, sqlx::Error> {
    end_sessions(conn, account, None, None).await
}

/// Ends the account's sessions: all of them, only the one whose id hash is
/// `only`, or all but the one whose id hash is `keep`. Their families are
/// remembered, so a request still running in one of them cannot start it
/// again (see the module documentation).
pub(crate) async fn end_sessions(
    conn: &mut PgConnection,
    account: Uuid,
    only: Option<&[u8]>,
    keep: Option<&[u8]>,
) -> std::result::Result<u64, sqlx::Error> {
    // Serialises with `create` of this account's sessions (`for key share`).
    sqlx::query("select 1 from accounts where id = $1 for update")
        .bind(account)
        .execute(&mut *conn)
        .await?;
    let ended: Vec<Option<Uuid>> = sqlx::query_scalar(
        "delete from sessions where account_id = $1 \
            and ($2::bytea is null or id_hash = $2) and ($3::bytea is null or id_hash <> $3) \
         returning family",
    )
    .bind(account)
    .bind(only)
    .bind(keep)
    .fetch_all(&mut *conn)
    .await?;
    let families: Vec<Uuid> = ended.iter().flatten().copied().collect();
    sqlx::query(
        "insert into session_revocations (family, expires_at) \
         select unnest($1::uuid[]), now() + $2 on conflict (family) do update set expires_at = excluded.expires_at",
    )
    .bind(&families)
    .bind(REVOCATION_MEMORY)
    .execute(&mut *conn)
    .await?;
    Ok(ended.len() as u64)
}

/// [`end_account_sessions`] in a transaction of its own.
pub async fn delete_account_sessions(pool: &PgPool, account: Uuid) -> std::result::Result<u64, sqlx::Error> {
    let mut tx = crate::db::begin(pool).await?;
    let ended = end_account_sessions(&mut tx, account).await?;
    crate::db::commit(tx).await?;
    Ok(ended)
}

/// Removes sessions expired at `now` and the revocations nobody can need
/// any more (run by the periodic cleanup).
pub async fn delete_expired(pool: &PgPool, now: time::OffsetDateTime) -> std::result::Result<u64, sqlx::Error> {
    sqlx::query("delete from session_revocations where expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(sqlx::query("delete from sessions where expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected())
}
