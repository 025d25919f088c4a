//! Durable, idempotent ingest of Meta webhook deliveries.
//!
//! The webhook handler verifies the signature, parses, and calls
//! [`store_delivery`], which inserts every customer message (unique on
//! platform + Meta's message id, so Meta's retries never make a second
//! message) and queues its processing job in the same transaction, before
//! Meta gets its 200. Processing starts with [`resolve`]: exactly one
//! connected channel of an active owner, or the pipeline stops.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;
use sqlx::PgPool;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::audit::{self, AuditKind, RequestMeta};
use crate::crypto::DataKeys;
use crate::customer_ids;
use crate::jobs::{self, Job as _};
use crate::meta::graph::Platform;
use crate::meta::webhook::{Delivery, Event};
use crate::processing::ProcessInboundJob;

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

/// One `inbound_messages` row, sealed, before it is inserted.
#[derive(Debug, Clone)]
pub struct SealedInbound {
    id: Uuid,
    platform: Platform,
    provider_message_id: String,
    channel_meta_id: String,
    /// The customer's platform id as a keyed hash and sealed (`customer_ids`).
    sender_hash: Vec<u8>,
    sender_enc: Vec<u8>,
    kind: String,
    body_enc: Option<Vec<u8>>,
    sender_name_enc: Option<Vec<u8>>,
    sent_at_ms: i64,
}

/// The rows a delivery brings, sealed, and the counts of what it brought
/// besides (`stored` and `duplicates` are left for the insert to fill).
///
/// Echoes of messages our app sent (`app_id` = `our_app_id`) are ignored;
/// echoes from any other app are the owner answering in Meta's own apps, and
/// are stored (kind [`OWNER_ECHO`]) so processing can record them and hand
/// the conversation to the owner.
pub fn seal_rows(keys: &DataKeys, delivery: &Delivery, our_app_id: &str) -> (Vec<SealedInbound>, IngestOutcome) {
    let mut outcome = IngestOutcome::default();
    let mut rows = Vec::new();
    let mut row = |platform: Platform,
                   mid: &str,
                   channel: &str,
                   sender: &str,
                   kind: &str,
                   text: Option<&str>,
                   name: Option<&str>,
                   sent_at_ms: i64| {
        let id = Uuid::new_v4();
        let context = inbound_context(id);
        let (sender_hash, sender_enc) = customer_ids::seal_inbound(keys, id, sender);
        rows.push(SealedInbound {
            id,
            platform,
            provider_message_id: mid.to_owned(),
            channel_meta_id: channel.to_owned(),
            sender_hash,
            sender_enc,
            kind: kind.to_owned(),
            body_enc: text.map(|text| keys.seal(text.as_bytes(), &context)),
            sender_name_enc: name.map(|name| keys.seal(name.as_bytes(), &format!("{context}:name"))),
            sent_at_ms,
        });
    };
    for event in &delivery.events {
        match event {
            Event::Message(message) => {
                let kind = serde_json::to_value(message.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                row(
                    message.platform,
                    &message.provider_message_id,
                    &message.channel_id,
                    &message.sender_id,
                    &kind,
                    message.text.as_deref(),
                    message.sender_name.as_deref(),
                    message.timestamp_ms,
                );
            }
            Event::Echo {
                platform,
                channel_id,
                recipient_id,
                app_id,
                mid,
                text,
                timestamp_ms,
            } if app_id.as_deref() != Some(our_app_id) => row(
                *platform,
                mid,
                channel_id,
                recipient_id,
                OWNER_ECHO,
                text.as_deref(),
                None,
                *timestamp_ms,
            ),
            Event::Unknown { .. } => outcome.unknown += 1,
            _ => outcome.ignored += 1,
        }
    }
    (rows, outcome)
}

/// How fast one channel's messages are processed once it has a backlog.
///
/// A channel's first `burst` messages in a row run at once; each message
/// beyond them is scheduled `1 / per_second` after the one before, so a
/// flooded channel (a spammer, a bot loop) is processed at `per_second`
/// while every other channel's messages stay at the front of the queue. The
/// burst comes back at `per_second` while the channel is quiet (a token
/// bucket, kept per lane in `lane_pacing` by the ingest statement). Nothing is
/// dropped: paced messages are stored before the 200 and processed later.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelPace {
    pub per_second: f64,
    pub burst: i64,
}

impl Default for ChannelPace {
    fn default() -> Self {
        Self {
            per_second: 10.0,
            burst: 3,
        }
    }
}

/// Inserts rows with their processing jobs in one statement (one round trip
/// however many rows); returns the ids of the rows that were new. A row Meta
/// sent before (same platform and message id), even twice in one batch, is
/// skipped and gets no second job. Each job joins its channel's lane, paced
/// by `pace` past the lane's burst.
///
/// Pacing costs O(1) per lane and batch whatever the backlog: each lane
/// keeps a virtual clock in `lane_pacing` (the earliest time its next paced
/// job may run), moved forward by the same statement (GCRA):
///
/// - `base = greatest(now() - (burst - 1) / per_second, next_free_at)`
///   (a lane without a row, or idle long enough, has its whole burst free);
/// - the lane's k-th new job (from 0, in the order the messages were sent)
///   runs at `greatest(now(), base + k / per_second)`;
/// - `next_free_at` becomes `base + added / per_second` (in the upsert,
///   `excluded.next_free_at - idle.base` is that `added / per_second`).
///
/// So a lane's first `burst` messages run at once and each one past them
/// `1 / per_second` after the one before, as [`ChannelPace`] says. The
/// upsert reads and writes the lane's row under its lock, so concurrent
/// batches of one lane are spaced as if they were one.
///
/// Locks are taken in one order by every batch: rows are inserted in the
/// order of the unique key (platform, message id), then the lanes' rows are
/// updated in lane order (only once every message row is in). Two batches
/// that hold some of the same messages (Meta retrying while the first
/// attempt is still in flight) or the same lanes wait on each other in one
/// order and do not deadlock.
async fn insert_rows<'e, E>(executor: E, rows: &[&SealedInbound], pace: ChannelPace) -> Result<Vec<Uuid>, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| (a.platform, &a.provider_message_id).cmp(&(b.platform, &b.provider_message_id)));
    sqlx::query_scalar(
        "with new as ( \
             insert into inbound_messages (id, platform, provider_message_id, channel_meta_id, sender_hash, \
                                           sender_enc, kind, body_enc, sender_name_enc, sent_at_ms) \
             select * from unnest($1::uuid[], $2::channel_platform[], $3::text[], $4::text[], $5::bytea[], $13::bytea[], \
                                  $6::text[], $7::bytea[], $8::bytea[], $9::int8[]) \
             on conflict (platform, provider_message_id) do nothing \
             returning id, sent_at_ms, platform::text || ':' || channel_meta_id as lane), \
         idle as (select now() - make_interval(secs => ($12 - 1) / $11) as base), \
         lanes as (select lane, count(*) as added from new group by lane), \
         paced as ( \
             insert into lane_pacing as p (lane, next_free_at) \
             select l.lane, i.base + make_interval(secs => l.added / $11) from lanes l, idle i order by l.lane \
             on conflict (lane) do update \
                set next_free_at = greatest((select base from idle), p.next_free_at) \
                                   + (excluded.next_free_at - (select base from idle)) \
             returning lane, next_free_at), \
         queued as ( \
             insert into jobs (kind, payload, dedupe_key, lane, run_at) \
             select $10, jsonb_build_object('id', n.id), 'inbound:' || n.id, n.lane, \
                    greatest(now(), p.next_free_at - make_interval(secs => (l.added - n.k) / $11)) \
               from (select id, lane, row_number() over (partition by lane order by sent_at_ms, id) - 1 as k \
                       from new) n \
               join lanes l using (lane) \
               join paced p using (lane) \
             on conflict (dedupe_key) do nothing) \
         select id from new",
    )
    .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.platform).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.provider_message_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.channel_meta_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.sender_hash.as_slice()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.body_enc.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.sender_name_enc.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.sent_at_ms).collect::<Vec<_>>())
    .bind(ProcessInboundJob::JOB_NAME)
    .bind(pace.per_second)
    .bind(pace.burst)
    .bind(rows.iter().map(|r| r.sender_enc.as_slice()).collect::<Vec<_>>())
    .fetch_all(executor)
    .await
}

/// Whether `error` is a conflict between concurrent transactions (deadlock
/// or serialization failure) that the same statement can simply run again.
pub fn is_transient_conflict(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40P01" | "40001")))
}

/// Attempts at a batch that lost a conflict to a concurrent batch.
const CONFLICT_ATTEMPTS: u32 = 5;

/// Runs `attempt` again (after a short, growing pause) while it fails with a
/// transient conflict, so a conflict between our own batches never reaches
/// Meta as an error.
async fn retry_conflicts<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(error) if tries < CONFLICT_ATTEMPTS && is_transient_conflict(&error) => {
                tracing::warn!(attempt = tries, "ingest batch lost a conflict; running it again");
                tokio::time::sleep(std::time::Duration::from_millis(5 << tries)).await;
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Stores a parsed delivery in one transaction (with the delivery itself
/// kept for inspection when it holds events of unknown shapes).
pub async fn store_delivery(
    pool: &PgPool,
    keys: &DataKeys,
    delivery: &Delivery,
    raw: &[u8],
    our_app_id: &str,
    pace: ChannelPace,
) -> Result<IngestOutcome, sqlx::Error> {
    let (rows, mut outcome) = seal_rows(keys, delivery, our_app_id);
    let refs: Vec<&SealedInbound> = rows.iter().collect();
    let inserted = retry_conflicts(|| async {
        let mut tx = crate::db::begin(pool).await?;
        let inserted = if refs.is_empty() {
            Vec::new()
        } else {
            insert_rows(&mut *tx, &refs, pace).await?
        };
        if outcome.unknown > 0 {
            keep_for_inspection(&mut tx, keys, "unknown shape", raw).await?;
        }
        crate::db::commit(tx).await?;
        Ok(inserted)
    })
    .await?;
    outcome.stored = inserted.len();
    outcome.duplicates = rows.len() - inserted.len();
    if outcome.stored > 0 {
        jobs::wake_workers();
    }
    Ok(outcome)
}

/// The kind of an inbound row that is the owner's own message from Meta's apps.
pub const OWNER_ECHO: &str = "owner_echo";

/// Rows of one batch statement at most.
const MAX_BATCH_ROWS: usize = 256;

/// Deliveries waiting for a batch writer, at most (then webhooks wait).
const QUEUE_DEPTH: usize = 4096;

/// The message could not be stored (the database did not answer); nothing
/// of the delivery is committed unless a retry finds it, so Meta must retry.
#[derive(Debug, thiserror::Error)]
#[error("could not store the delivery: {0}")]
pub struct NotStored(String);

struct Waiting {
    rows: Vec<SealedInbound>,
    done: oneshot::Sender<Result<Vec<Uuid>, NotStored>>,
}

/// Group commit for webhook deliveries: each delivery waits for the batch
/// it joins to commit (so its 200 still means "durably stored"), and a
/// batch is whatever arrived while the previous one was being written. One
/// delivery alone is written at once; under load many share one statement,
/// one commit and one WAL flush.
#[derive(Clone)]
pub struct IngestQueue {
    sender: mpsc::Sender<Waiting>,
    pace: ChannelPace,
}

impl IngestQueue {
    /// Starts `writers` batch writers on `pool`. They stop when the last
    /// clone of the queue is dropped, after writing what was queued.
    pub fn start(pool: &PgPool, writers: usize, pace: ChannelPace) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            tokio::spawn(write_batches(pool.clone(), receiver.clone(), pace));
        }
        Self { sender, pace }
    }

    /// Stores a delivery: through a batch when it holds only messages, in its
    /// own transaction when part of it must be kept for inspection.
    pub async fn store(
        &self,
        pool: &PgPool,
        keys: &DataKeys,
        delivery: &Delivery,
        raw: &[u8],
        our_app_id: &str,
    ) -> Result<IngestOutcome, NotStored> {
        let (rows, mut outcome) = seal_rows(keys, delivery, our_app_id);
        if outcome.unknown > 0 {
            return store_delivery(pool, keys, delivery, raw, our_app_id, self.pace)
                .await
                .map_err(|error| NotStored(error.to_string()));
        }
        if rows.is_empty() {
            return Ok(outcome);
        }
        let count = rows.len();
        let (done, result) = oneshot::channel();
        self.sender
            .send(Waiting { rows, done })
            .await
            .map_err(|_| NotStored("the ingest writers stopped".to_owned()))?;
        let inserted = result
            .await
            .map_err(|_| NotStored("the ingest writer went away".to_owned()))??;
        outcome.stored = inserted.len();
        outcome.duplicates = count - inserted.len();
        Ok(outcome)
    }
}

async fn write_batches(pool: PgPool, receiver: Arc<Mutex<mpsc::Receiver<Waiting>>>, pace: ChannelPace) {
    loop {
        let mut batch = Vec::new();
        {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else { return };
            let mut rows = first.rows.len();
            batch.push(first);
            while rows < MAX_BATCH_ROWS {
                let Ok(next) = receiver.try_recv() else { break };
                rows += next.rows.len();
                batch.push(next);
            }
        }
        let rows: Vec<&SealedInbound> = batch.iter().flat_map(|waiting| waiting.rows.iter()).collect();
        match retry_conflicts(|| insert_rows(&pool, &rows, pace)).await {
            Ok(inserted) => {
                if !inserted.is_empty() {
                    jobs::wake_workers();
                }
                let inserted: HashSet<Uuid> = inserted.into_iter().collect();
                for waiting in batch {
                    let own = waiting
                        .rows
                        .iter()
                        .map(|r| r.id)
                        .filter(|id| inserted.contains(id))
                        .collect();
                    let _ = waiting.done.send(Ok(own));
                }
            }
            Err(error) => {
                let error = error.to_string();
                for waiting in batch {
                    let _ = waiting.done.send(Err(NotStored(error.clone())));
                }
            }
        }
    }
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
    /// Exactly one connected channel; its owner may be suspended (the send gate then holds replies).
    Matched { owner: Uuid, channel: Uuid },
    /// No connected channel (or more than one), or its owner is gone: no
    /// reply; kept for staff.
    Unmatched { reason: &'static str },
}

/// Step 1 of processing: tie the message to exactly one owner and channel,
/// in one statement. A match is written down by the caller with the
/// recorded message (`owner_id_resolved`); a refusal here, with its audit.
pub async fn resolve(
    pool: &PgPool,
    id: Uuid,
    platform: Platform,
    channel_meta_id: &str,
) -> Result<Resolution, sqlx::Error> {
    let (holders, channel, owner, owner_exists): (i64, Option<Uuid>, Option<Uuid>, bool) = sqlx::query_as(
        "select count(*), (array_agg(h.channel_id))[1], (array_agg(h.owner_id))[1], \
                coalesce(bool_and(exists (select 1 from accounts a where a.id = h.owner_id)), false) \
           from channel_holder($1, $2) h",
    )
    .bind(platform)
    .bind(channel_meta_id)
    .fetch_one(pool)
    .await?;
    // A suspended owner's messages are still theirs: they are recorded, and
    // the send gate holds every reply for review, so the owner finds them
    // once the suspension is lifted.
    let resolution = match (holders, channel, owner) {
        (1, Some(channel), Some(owner)) if owner_exists => Resolution::Matched { owner, channel },
        (1, _, _) => Resolution::Unmatched { reason: "owner gone" },
        (0, _, _) => Resolution::Unmatched {
            reason: "no connected channel",
        },
        _ => Resolution::Unmatched {
            reason: "more than one channel",
        },
    };
    if let Resolution::Unmatched { reason } = &resolution {
        let mut tx = crate::db::begin(pool).await?;
        sqlx::query("update inbound_messages set state = 'unmatched' where id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut *tx,
            AuditKind::UnmatchedChannel,
            None,
            None,
            &RequestMeta::default(),
            json!({ "platform": platform, "meta_id": channel_meta_id, "reason": reason, "message": id }),
        )
        .await?;
        crate::db::commit(tx).await?;
    }
    Ok(resolution)
}
