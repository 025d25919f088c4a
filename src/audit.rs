//! The append-only security event log.
//!
//! Events name who, what, when and from where; never a password, token,
//! cookie or message body. The `detail` object holds only non-secret facts.

use serde_json::Value;
use uuid::Uuid;

/// Where a request came from, for audit rows and rate limits.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Records one event. Errors are returned: callers on a security path must
/// not carry on as if an event was recorded.
pub async fn record<'e, E>(
    executor: E,
    kind: &str,
    account: Option<Uuid>,
    actor: Option<Uuid>,
    meta: &RequestMeta,
    detail: Value,
) -> Result<(), sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    let user_agent: Option<String> = meta.user_agent.as_ref().map(|ua| ua.chars().take(300).collect());
    sqlx::query(
        "insert into security_events (kind, account_id, actor_id, ip, user_agent, detail) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind)
    .bind(account)
    .bind(actor)
    .bind(&meta.ip)
    .bind(user_agent)
    .bind(detail)
    .execute(executor)
    .await?;
    tracing::info!(security_event = kind, account = ?account, "security event");
    Ok(())
}
