//! Outgoing mail: an outbox table, sent by a worker.
//!
//! Enqueueing inserts the message and its `send_mail` job in the caller's
//! transaction, so mail is sent if and only if the change that caused it
//! committed. Without `SMTP_URL` the worker writes each message to a local
//! mailbox folder and logs "mail written to …" (never the address or body).

use std::path::PathBuf;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
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
#[derive(Clone)]
pub enum Transport {
    /// One `.eml` file per message in this folder.
    Mailbox(PathBuf),
    /// An SMTP server (`SMTP_URL`), sending as `from`.
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Box<Mailbox>,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The SMTP URL may hold a password: never print it.
        match self {
            Transport::Mailbox(dir) => write!(f, "Mailbox({})", dir.display()),
            Transport::Smtp { .. } => write!(f, "Smtp(..)"),
        }
    }
}

impl Transport {
    /// An SMTP transport from a URL such as `smtps://user:pass@smtp.example.com`
    /// or `smtp://relay.internal:25?tls=required` (lettre's URL format).
    pub fn smtp(url: &str, from: &str) -> Result<Transport, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP_URL is not a valid SMTP URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("MAIL_FROM is not a valid address: {e}"))?;
        Ok(Transport::Smtp {
            transport: Box::new(transport),
            from: Box::new(from),
        })
    }
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
        Transport::Smtp { transport, from } => {
            let to: Mailbox = to
                .parse()
                .map_err(|e| JobError::Permanent(format!("bad recipient: {e}")))?;
            let message = Message::builder()
                .from(Mailbox::clone(from))
                .to(to)
                .subject(subject)
                .header(ContentType::TEXT_PLAIN)
                .body(body)
                .map_err(|e| JobError::Permanent(format!("cannot build mail {id}: {e}")))?;
            transport.send(message).await.map_err(|e| {
                if e.is_permanent() {
                    JobError::Permanent(format!("SMTP refused mail {id}: {e}"))
                } else {
                    JobError::Retry(format!("SMTP failed for mail {id}: {e}"))
                }
            })?;
            tracing::info!(mail_id = id, kind = %kind, "mail sent by SMTP");
        }
    }
    sqlx::query("update mail_outbox set sent_at = now() where id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    Ok(())
}
