//! tower-sessions store in PostgreSQL.
//!
//! Only the SHA-256 of the session id is stored. The account id, IP and user
//! agent are copied out of the session data into columns so the account
//! security page can list sessions and "log out everywhere" is one DELETE.

use async_trait::async_trait;
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};
use uuid::Uuid;

/// Session data keys the store understands.
pub const ACCOUNT_ID: &str = "account_id";
pub const IP: &str = "ip";
pub const USER_AGENT: &str = "user_agent";

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

fn columns(record: &Record) -> (Option<Uuid>, Option<String>, Option<String>) {
    let text = |key: &str| record.data.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let account = text(ACCOUNT_ID).and_then(|s| s.parse().ok());
    (
        account,
        text(IP),
        text(USER_AGENT).map(|ua| ua.chars().take(300).collect()),
    )
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        loop {
            let (account, ip, user_agent) = columns(record);
            let data = serde_json::to_value(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
            let inserted = sqlx::query(
                "insert into sessions (id_hash, account_id, data, expires_at, ip, user_agent) \
                 values ($1, $2, $3, $4, $5, $6) on conflict (id_hash) do nothing",
            )
            .bind(id_hash(&record.id))
            .bind(account)
            .bind(data)
            .bind(record.expiry_date)
            .bind(ip)
            .bind(user_agent)
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (account, ip, user_agent) = columns(record);
        let data = serde_json::to_value(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        sqlx::query(
            "insert into sessions (id_hash, account_id, data, expires_at, ip, user_agent) \
             values ($1, $2, $3, $4, $5, $6) \
             on conflict (id_hash) do update set account_id = excluded.account_id, data = excluded.data, \
                 expires_at = excluded.expires_at, ip = excluded.ip, user_agent = excluded.user_agent, \
                 last_seen_at = now()",
        )
        .bind(id_hash(&record.id))
        .bind(account)
        .bind(data)
        .bind(record.expiry_date)
        .bind(ip)
        .bind(user_agent)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
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

/// Ends every session of an account (logout everywhere, password reset, suspension).
pub async fn delete_account_sessions(pool: &PgPool, account: Uuid) -> std::result::Result<u64, sqlx::Error> {
    Ok(sqlx::query("delete from sessions where account_id = $1")
        .bind(account)
        .execute(pool)
        .await?
        .rows_affected())
}

/// Removes sessions expired at `now` (run by the periodic cleanup).
pub async fn delete_expired(pool: &PgPool, now: time::OffsetDateTime) -> std::result::Result<u64, sqlx::Error> {
    Ok(sqlx::query("delete from sessions where expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected())
}
