//! Outgoing mail: an outbox table, sent by a worker.
//!
//! Enqueueing inserts the message and its `send_mail` job in the caller's
//! transaction, so mail is sent if and only if the change that caused it
//! committed. The body is sealed with the data key, bound to its row
//! (`mail_outbox:<id>`): reset and verification links, alert details and
//! names never sit in clear in the database or its backups. Once the message
//! is delivered its body is deleted; the row (kind, address, subject, times)
//! stays for the alert throttle and for staff. Without `SMTP_URL` the worker
//! writes each message to a local mailbox folder and logs "mail written to
//! …" (never the address or body).

use std::path::PathBuf;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::crypto::{CryptoError, DataKeys};
use crate::jobs::{Job, JobError};

/// Delivers one outbox message ([`send_job`]); queued by [`enqueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMailJob {
    /// The `mail_outbox` row.
    pub id: i64,
}

impl Job for SendMailJob {
    const JOB_NAME: &'static str = "send_mail";
    type Context = Mailer;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("mail:{}", self.id))
    }

    async fn run(&self, mailer: &Mailer) -> Result<(), JobError> {
        send_job(&mailer.pool, &mailer.keys, &mailer.transport, self.id).await
    }
}

/// What delivering mail needs.
#[derive(Debug, Clone)]
pub struct Mailer {
    pub pool: PgPool,
    pub keys: DataKeys,
    pub transport: Transport,
}

/// The associated data of a sealed body: it opens only in its own row.
fn body_context(id: i64) -> String {
    format!("mail_outbox:{id}")
}

/// Queues a message in the caller's transaction, its body sealed with `keys`.
pub async fn enqueue(
    conn: &mut PgConnection,
    keys: &DataKeys,
    account: Option<Uuid>,
    kind: &str,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<i64, sqlx::Error> {
    // The id first: the sealed body is bound to it.
    let id: i64 = sqlx::query_scalar("select nextval('mail_outbox_id_seq')")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(
        "insert into mail_outbox (id, account_id, kind, to_address, subject, body_sealed) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(account)
    .bind(kind)
    .bind(to)
    .bind(subject)
    .bind(keys.seal(body.as_bytes(), &body_context(id)))
    .execute(&mut *conn)
    .await?;
    SendMailJob { id }.enqueue(&mut *conn).await?;
    Ok(id)
}

/// Opens the sealed body of outbox message `id`.
pub fn open_body(keys: &DataKeys, id: i64, sealed: &[u8]) -> Result<String, CryptoError> {
    let plain = keys.open(sealed, &body_context(id))?;
    String::from_utf8(plain).map_err(|_| CryptoError::Malformed)
}

/// The body of outbox message `id` while it waits to be delivered; `None`
/// once it was delivered (or when there is no such message).
pub async fn pending_body(pool: &PgPool, keys: &DataKeys, id: i64) -> Result<Option<String>, MailError> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> =
        sqlx::query_as("select body_sealed, body_text from mail_outbox where id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    match row {
        Some((Some(sealed), _)) => Ok(Some(open_body(keys, id, &sealed)?)),
        Some((None, legacy)) => Ok(legacy),
        None => Ok(None),
    }
}

/// Re-seals the bodies of mail still waiting under the current key (part of
/// `bikriagent rotate-keys`); returns (re-sealed, could not be opened).
pub async fn rotate_keys(pool: &PgPool, keys: &DataKeys) -> Result<(usize, usize), sqlx::Error> {
    let rows: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("select id, body_sealed from mail_outbox where body_sealed is not null")
            .fetch_all(pool)
            .await?;
    let (mut rotated, mut failed) = (0, 0);
    for (id, sealed) in rows {
        if !keys.is_stale(&sealed) {
            continue;
        }
        let Ok(plain) = keys.open(&sealed, &body_context(id)) else {
            tracing::warn!(mail_id = id, "a mail body does not open with the configured keys");
            failed += 1;
            continue;
        };
        // Delivered meanwhile: its body is gone and stays gone.
        sqlx::query("update mail_outbox set body_sealed = $2 where id = $1 and body_sealed is not null")
            .bind(id)
            .bind(keys.seal(&plain, &body_context(id)))
            .execute(pool)
            .await?;
        rotated += 1;
    }
    Ok((rotated, failed))
}

/// Why an outbox body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the mail body does not open: {0}")]
    Crypto(#[from] CryptoError),
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

/// Sends outbox message `id` (the work of a [`SendMailJob`]), then deletes its body.
pub async fn send_job(pool: &PgPool, keys: &DataKeys, transport: &Transport, id: i64) -> Result<(), JobError> {
    type Row = (
        String,
        String,
        String,
        Option<Vec<u8>>,
        Option<String>,
        Option<time::OffsetDateTime>,
    );
    let row: Option<Row> = sqlx::query_as(
        "select kind, to_address, subject, body_sealed, body_text, sent_at from mail_outbox where id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|e| JobError::Retry(e.to_string()))?;
    let Some((kind, to, subject, sealed, legacy_body, sent_at)) = row else {
        return Err(JobError::Permanent(format!("mail {id} is gone")));
    };
    if sent_at.is_some() {
        return Ok(()); // a retry after the send was recorded
    }
    let body = match (sealed, legacy_body) {
        (Some(sealed), _) => open_body(keys, id, &sealed)
            .map_err(|e| JobError::Permanent(format!("the body of mail {id} does not open: {e}")))?,
        // Queued before bodies were sealed (migration 20261207100200).
        (None, Some(legacy)) => legacy,
        (None, None) => return Err(JobError::Permanent(format!("mail {id} has no body"))),
    };
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
    // Delivered: the body is not needed any more, and must not linger.
    sqlx::query("update mail_outbox set sent_at = now(), body_sealed = null, body_text = null where id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    Ok(())
}
