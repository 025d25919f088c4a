//! Outgoing mail: an outbox table, sent by a worker.
//!
//! Enqueueing inserts the message and its `send_mail` job in the caller's
//! transaction, so mail is sent if and only if the change that caused it
//! committed. Without `SMTP_URL` the worker writes each message to a local
//! mailbox folder and logs "mail written to …" (never the address or body).

use std::path::PathBuf;

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::jobs::{self, JobError};

pub const SEND_MAIL_JOB: &str = "send_mail";

/// Queues a message in the caller's transaction.
pub async fn enqueue(
    conn: &mut PgConnection,
    account: Option<Uuid>,
    kind: &str,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "insert into mail_outbox (account_id, kind, to_address, subject, body_text) \
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(account)
    .bind(kind)
    .bind(to)
    .bind(subject)
    .bind(body)
    .fetch_one(&mut *conn)
    .await?;
    jobs::enqueue(
        &mut *conn,
        SEND_MAIL_JOB,
        &json!({ "id": id }),
        Some(&format!("mail:{id}")),
    )
    .await?;
    Ok(id)
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Transport {
    /// One `.eml` file per message in this folder.
    Mailbox(PathBuf),
}

/// Sends the outbox message named by a `send_mail` job.
pub async fn send_job(pool: &PgPool, transport: &Transport, payload: &serde_json::Value) -> Result<(), JobError> {
    let id = payload
        .get("id")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| JobError::Permanent("no id".into()))?;
    let row: Option<(String, String, String, String, Option<time::OffsetDateTime>)> =
        sqlx::query_as("select kind, to_address, subject, body_text, sent_at from mail_outbox where id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
    let Some((kind, to, subject, body, sent_at)) = row else {
        return Err(JobError::Permanent(format!("mail {id} is gone")));
    };
    if sent_at.is_some() {
        return Ok(()); // a retry after the send was recorded
    }
    match transport {
        Transport::Mailbox(dir) => {
            let path = dir.join(format!("{id:08}-{kind}.eml"));
            let message = format!(
                "To: {to}\r\nFrom: BikriAgent <no-reply@bikriagent.local>\r\nSubject: {subject}\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
            );
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            tokio::fs::write(&path, message)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            tracing::info!(mail_id = id, kind = %kind, "mail written to {}", path.display());
        }
    }
    sqlx::query("update mail_outbox set sent_at = now() where id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    Ok(())
}
