//! Durable, idempotent ingest of Meta webhook deliveries.
//!
//! The webhook handler verifies the signature, parses, and calls
//! [`store_delivery`], which inserts every customer message (unique on
//! platform + Meta's message id, so Meta's retries never make a second
//! message) and queues its processing job in the same transaction, before
//! Meta gets its 200. Processing starts with [`resolve`]: exactly one
//! connected channel of an active owner, or the pipeline stops.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::audit::{self, RequestMeta};
use crate::crypto::DataKeys;
use crate::jobs;
use crate::meta::webhook::{Delivery, Event};

pub const PROCESS_INBOUND_JOB: &str = "process_inbound";

/// What a delivery brought.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    /// New customer messages stored.
    pub stored: usize,
    /// Messages Meta sent again (already stored).
    pub duplicates: usize,
    /// Echoes, receipts and reactions: nothing to store for now.
    pub ignored: usize,
    /// Events of shapes we do not know (the delivery is kept for inspection).
    pub unknown: usize,
}

fn inbound_context(id: Uuid) -> String {
    format!("inbound:{id}")
}

/// Stores a parsed delivery in one transaction.
///
/// Echoes of messages our app sent (`app_id` = `our_app_id`) are ignored;
/// echoes from any other app are the owner answering in Meta's own apps, and
/// are stored (kind [`OWNER_ECHO`]) so processing can record them and hand
/// the conversation to the owner.
pub async fn store_delivery(
    pool: &PgPool,
    keys: &DataKeys,
    delivery: &Delivery,
    raw: &[u8],
    our_app_id: &str,
) -> Result<IngestOutcome, sqlx::Error> {
    let mut outcome = IngestOutcome::default();
    let mut tx = pool.begin().await?;
    for event in &delivery.events {
        match event {
            Event::Message(message) => {
                let kind = serde_json::to_value(message.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let stored = insert_inbound(
                    &mut tx,
                    keys,
                    &Inbound {
                        platform: message.platform.as_str(),
                        provider_message_id: &message.provider_message_id,
                        channel_meta_id: &message.channel_id,
                        sender_id: &message.sender_id,
                        kind: &kind,
                        text: message.text.as_deref(),
                        sender_name: message.sender_name.as_deref(),
                        sent_at_ms: message.timestamp_ms,
                    },
                )
                .await?;
                if stored {
                    outcome.stored += 1;
                } else {
                    outcome.duplicates += 1;
                }
            }
            Event::Echo {
                platform,
                channel_id,
                recipient_id,
                app_id,
                mid,
                text,
                timestamp_ms,
            } if app_id.as_deref() != Some(our_app_id) => {
                let stored = insert_inbound(
                    &mut tx,
                    keys,
                    &Inbound {
                        platform: platform.as_str(),
                        provider_message_id: mid,
                        channel_meta_id: channel_id,
                        sender_id: recipient_id,
                        kind: OWNER_ECHO,
                        text: text.as_deref(),
                        sender_name: None,
                        sent_at_ms: *timestamp_ms,
                    },
                )
                .await?;
                if stored {
                    outcome.stored += 1;
                } else {
                    outcome.duplicates += 1;
                }
            }
            Event::Unknown { .. } => outcome.unknown += 1,
            _ => outcome.ignored += 1,
        }
    }
    if outcome.unknown > 0 {
        keep_for_inspection(&mut tx, keys, "unknown shape", raw).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// The kind of an inbound row that is the owner's own message from Meta's apps.
pub const OWNER_ECHO: &str = "owner_echo";

/// One row of `inbound_messages`, before it is sealed.
struct Inbound<'a> {
    platform: &'a str,
    provider_message_id: &'a str,
    channel_meta_id: &'a str,
    sender_id: &'a str,
    kind: &'a str,
    text: Option<&'a str>,
    sender_name: Option<&'a str>,
    sent_at_ms: i64,
}

/// Inserts one message with its processing job; false when Meta sent it before.
async fn insert_inbound(tx: &mut sqlx::PgConnection, keys: &DataKeys, row: &Inbound<'_>) -> Result<bool, sqlx::Error> {
    let id = Uuid::new_v4();
    let context = inbound_context(id);
    let body = row.text.map(|text| keys.seal(text.as_bytes(), &context));
    let name = row
        .sender_name
        .map(|name| keys.seal(name.as_bytes(), &format!("{context}:name")));
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "insert into inbound_messages (id, platform, provider_message_id, channel_meta_id, sender_id, kind, \
                                       body_enc, sender_name_enc, sent_at_ms) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         on conflict (platform, provider_message_id) do nothing returning id",
    )
    .bind(id)
    .bind(row.platform)
    .bind(row.provider_message_id)
    .bind(row.channel_meta_id)
    .bind(row.sender_id)
    .bind(row.kind)
    .bind(body)
    .bind(name)
    .bind(row.sent_at_ms)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = inserted else { return Ok(false) };
    jobs::enqueue(
        &mut *tx,
        PROCESS_INBOUND_JOB,
        &json!({ "id": id }),
        Some(&format!("inbound:{id}")),
    )
    .await?;
    Ok(true)
}

/// Keeps a delivery we could not use, encrypted, for staff to inspect.
pub async fn keep_for_inspection(
    conn: &mut sqlx::PgConnection,
    keys: &DataKeys,
    reason: &str,
    raw: &[u8],
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    let sealed = keys.seal(raw, &format!("inspection:{id}"));
    sqlx::query("insert into webhook_inspection (id, reason, body_enc) values ($1, $2, $3)")
        .bind(id)
        .bind(reason)
        .bind(sealed)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// The text of a stored inbound message.
pub async fn inbound_text(pool: &PgPool, keys: &DataKeys, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let sealed: Option<Option<Vec<u8>>> = sqlx::query_scalar("select body_enc from inbound_messages where id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(sealed
        .flatten()
        .and_then(|sealed| keys.open(&sealed, &inbound_context(id)).ok())
        .and_then(|plain| String::from_utf8(plain).ok()))
}

/// Where a message belongs, or why the pipeline stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Exactly one connected channel of an active owner.
    Matched { owner: Uuid, channel: Uuid },
    /// No connected channel, or its owner is suspended: no reply; kept for staff.
    Unmatched { reason: &'static str },
}

/// Step 1 of processing: tie the message to exactly one owner and channel.
pub async fn resolve(pool: &PgPool, id: Uuid) -> Result<Resolution, sqlx::Error> {
    let (platform, channel_meta_id): (String, String) =
        sqlx::query_as("select platform, channel_meta_id from inbound_messages where id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?;
    let holders: Vec<(Uuid, Uuid, String)> =
        sqlx::query_as("select channel_id, owner_id, status from channel_holder($1, $2)")
            .bind(&platform)
            .bind(&channel_meta_id)
            .fetch_all(pool)
            .await?;
    let resolution = match holders.as_slice() {
        [(channel, owner, _)] => {
            let status: Option<String> = sqlx::query_scalar("select status from accounts where id = $1")
                .bind(owner)
                .fetch_optional(pool)
                .await?;
            match status.as_deref() {
                Some("suspended") => Resolution::Unmatched {
                    reason: "owner suspended",
                },
                Some(_) => Resolution::Matched {
                    owner: *owner,
                    channel: *channel,
                },
                None => Resolution::Unmatched { reason: "owner gone" },
            }
        }
        [] => Resolution::Unmatched {
            reason: "no connected channel",
        },
        _ => Resolution::Unmatched {
            reason: "more than one channel",
        },
    };
    match &resolution {
        Resolution::Matched { owner, .. } => {
            sqlx::query("update inbound_messages set state = 'matched', owner_id_resolved = $2 where id = $1")
                .bind(id)
                .bind(owner)
                .execute(pool)
                .await?;
        }
        Resolution::Unmatched { reason } => {
            let mut tx = pool.begin().await?;
            sqlx::query("update inbound_messages set state = 'unmatched' where id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit::record(
                &mut *tx,
                "unmatched_channel",
                None,
                None,
                &RequestMeta::default(),
                json!({ "platform": platform, "meta_id": channel_meta_id, "reason": reason, "message": id }),
            )
            .await?;
            tx.commit().await?;
        }
    }
    Ok(resolution)
}
