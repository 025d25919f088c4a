//! Sending to customers, automatic or by the owner, through one path.
//!
//! A send is first *decided*: a row in `outbound_sends` with a unique
//! idempotency key (`auto:<message>` for the agent, one per customer
//! message; the form's key for the owner), committed together with the job
//! that sends it. The job then checks the gates, moves the row to `sending`
//! in its own commit, calls Meta, and records the outcome. A crash between
//! the call and the record leaves the row in `sending`; the retried job finds
//! it there and marks it `uncertain` for the owner instead of sending again,
//! so no reply is ever sent twice.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::channels;
use crate::channels::{ChannelPlatform, ChannelStatus};
use crate::conversations::{self, ConversationMode, MessageAuthor, PipelineError, ReviewReason, open_text, seal_text};
use crate::crypto::DataKeys;
use crate::customer_ids;
use crate::jobs::{Job, JobError};
use crate::meta::graph::{ErrorKind, GraphClient, GraphError};
use crate::names::named_enum;
use crate::pipeline::gates::{self, Gate, GateInputs, SendLimits};
use crate::tenancy::{OwnerId, begin_tenant_tx};

/// Step 3 for one decided send: the gates, then Meta ([`Sender::run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendJob {
    pub owner: OwnerId,
    /// The `outbound_sends` row.
    pub send: Uuid,
}

impl Job for SendJob {
    const JOB_NAME: &'static str = "send_reply";
    type Context = crate::processing::Pipeline;

    fn owner(&self) -> Option<Uuid> {
        Some(self.owner.as_uuid())
    }

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("send:{}", self.send))
    }

    async fn run(&self, pipeline: &crate::processing::Pipeline) -> Result<(), JobError> {
        pipeline.send(self.owner, self.send).await.map(|_| ())
    }
}

/// After this many attempts a send that keeps meeting 5xx or timeouts goes to review.
pub const MAX_SEND_ATTEMPTS: i32 = 5;

/// The first key of the per-owner advisory lock that serialises the send
/// gates' counts (the second is a hash of the owner's id).
const SEND_GATE_LOCK: i32 = 0x5e4d_0001;

/// Who a send is from (`outbound_sends.author`): the database type
/// `message_author` without the customer, who never sends through us (a
/// CHECK keeps the column to these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "message_author", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The agent: every gate applies.
    Agent,
    /// The owner from the inbox or the review queue: only the channel and
    /// Meta's window apply.
    Owner,
}

named_enum!(Author {
    Agent => "agent",
    Owner => "owner",
});

impl From<Author> for MessageAuthor {
    fn from(author: Author) -> Self {
        match author {
            Author::Agent => MessageAuthor::Agent,
            Author::Owner => MessageAuthor::Owner,
        }
    }
}

/// Where a send is (`outbound_sends.state`): decided → sending → sent, or
/// blocked by a gate, failed at Meta, or uncertain after a crash mid-send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "send_state", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Decided and queued; not yet through the gates.
    Decided,
    /// Claimed by a send job that is calling Meta.
    Sending,
    Sent,
    /// Meta refused it (or kept failing): the text went to review.
    Failed,
    /// A gate stopped it (`blocked_by` says which).
    Blocked,
    /// Interrupted while sending: Meta may or may not have it; never resent.
    Uncertain,
}

named_enum!(SendState {
    Decided => "decided",
    Sending => "sending",
    Sent => "sent",
    Failed => "failed",
    Blocked => "blocked",
    Uncertain => "uncertain",
});

/// A send to decide.
#[derive(Debug, Clone)]
pub struct NewSend<'a> {
    pub conversation: Uuid,
    pub author: Author,
    pub reply_to: Option<Uuid>,
    pub idempotency_key: &'a str,
    pub text: &'a str,
    pub at: OffsetDateTime,
}

/// The idempotency key prefix of the agent's acknowledgement of a request
/// for a person (`handover:<message>`), which the takeover gate lets through
/// (see [`gates::GateInputs::handover_ack`]).
pub const HANDOVER_ACK_KEY: &str = "handover:";

/// Who runs a decided send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendBy {
    /// A [`SendJob`] committed with the send.
    Job,
    /// The job that decided it, right after its commit: that job is still
    /// leased, so if it dies first it runs again and finds the send still
    /// `decided` (see [`crate::processing::Pipeline::answer`]).
    Caller,
}

/// Decides a send and queues its job, in the caller's tenant transaction.
/// Returns `None` when a send with this idempotency key already exists (a
/// retried job, a double-submitted form): nothing new is sent. A
/// conversation this owner does not have is `NotFound`.
pub async fn decide_send(
    tx: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    send: &NewSend<'_>,
) -> Result<Option<Uuid>, PipelineError> {
    decide_send_by(tx, keys, owner, send, SendBy::Job).await
}

/// [`decide_send`], with the choice of who sends it.
pub async fn decide_send_by(
    tx: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    send: &NewSend<'_>,
    by: SendBy,
) -> Result<Option<Uuid>, PipelineError> {
    let id = Uuid::new_v4();
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "insert into outbound_sends (id, owner_id, conversation_id, channel_id, idempotency_key, author, reply_to, \
                                     body_enc, created_at) \
         select $1, $2, c.id, c.channel_id, $4, $5, $6, $7, $8 from conversations c where c.id = $3 and c.owner_id = $2 \
         on conflict (owner_id, idempotency_key) do nothing returning id",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .bind(send.conversation)
    .bind(send.idempotency_key)
    .bind(send.author)
    .bind(send.reply_to)
    .bind(seal_text(keys, owner, "outbound", id, send.text))
    .bind(send.at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = inserted else {
        // Nothing inserted: a duplicate of an earlier send, or no such
        // conversation for this owner, which is not "already sent".
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from conversations where id = $1 and owner_id = $2)")
                .bind(send.conversation)
                .bind(owner.as_uuid())
                .fetch_one(&mut *tx)
                .await?;
        return if exists { Ok(None) } else { Err(PipelineError::NotFound) };
    };
    if by == SendBy::Job {
        SendJob { owner, send: id }.enqueue(&mut *tx).await?;
    }
    Ok(Some(id))
}

/// What the send job needs.
#[derive(Clone)]
pub struct Sender {
    pub pool: PgPool,
    pub keys: DataKeys,
    pub graph: GraphClient,
    pub limits: SendLimits,
    pub public_url: String,
}

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent {
        provider_message_id: String,
    },
    Blocked(Gate),
    /// Meta refused (4xx) or kept failing: the text went to the review queue.
    Failed {
        error: String,
    },
    /// Interrupted mid-send earlier: not sent again.
    Uncertain,
    /// Already finished by an earlier run.
    AlreadyDone,
}

#[derive(sqlx::FromRow)]
struct SendRow {
    state: SendState,
    author: Author,
    #[sqlx(rename = "conversation_id")]
    conversation: Uuid,
    #[sqlx(rename = "channel_id")]
    channel: Uuid,
    reply_to: Option<Uuid>,
    #[sqlx(rename = "body_enc")]
    body: Option<Vec<u8>>,
    attempts: i32,
    idempotency_key: String,
}

async fn lock_send(tx: &mut PgConnection, owner: OwnerId, id: Uuid) -> Result<SendRow, PipelineError> {
    sqlx::query_as(
        "select state, author, conversation_id, channel_id, reply_to, body_enc, attempts, idempotency_key \
           from outbound_sends \
          where id = $1 and owner_id = $2 for update",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(PipelineError::NotFound)
}

/// Where a send goes, read with its gate inputs.
struct Destination {
    platform: ChannelPlatform,
    /// The Page, Instagram account or WhatsApp number that sends.
    sender_meta_id: String,
    /// The customer's platform id.
    recipient: String,
    /// The channel's sealed token (none for the sandbox).
    sealed_token: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
struct GateRow {
    auto_send_enabled: Option<bool>,
    channel_status: ChannelStatus,
    platform: ChannelPlatform,
    meta_id: String,
    token_enc: Option<Vec<u8>>,
    mode: ConversationMode,
    last_customer_at: Option<OffsetDateTime>,
    customer: Uuid,
    sender_enc: Vec<u8>,
    owner_sent_today: i64,
    channel_sent_today: i64,
    conversation_sent_last_minute: i64,
}

/// Loads what the gates look at, and where the send would go, in the
/// send's transaction: the owner's standing, then everything else in one
/// statement.
async fn gate_inputs(
    tx: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    conversation: Uuid,
    channel: Uuid,
    now: OffsetDateTime,
    limits: SendLimits,
) -> Result<(GateInputs, Destination), PipelineError> {
    let standing = crate::owners::standing(&mut *tx, owner.as_uuid())
        .await
        .map_err(|e| match e {
            crate::owners::OwnerError::Database(e) => PipelineError::Database(e),
            _ => PipelineError::NotFound,
        })?;
    let permissions = crate::owners::permissions(standing.state, standing.allowance, standing.overrides, limits);
    let day_start = gates::shop_day_start(now);
    let row: GateRow = sqlx::query_as(
        "select (select auto_send_enabled from platform_settings) as auto_send_enabled, \
                ch.status as channel_status, ch.platform, ch.meta_id, ch.token_enc, c.mode, c.last_customer_at, \
                cu.id as customer, cu.sender_enc, sent.owner_sent_today, sent.channel_sent_today, \
                sent.conversation_sent_last_minute \
           from conversations c \
           join channels ch on ch.id = c.channel_id \
           join customers cu on cu.id = c.customer_id \
          cross join (select count(*) as owner_sent_today, \
                             count(*) filter (where channel_id = $3) as channel_sent_today, \
                             count(*) filter (where conversation_id = $1 \
                                              and created_at > $5 - interval '60 seconds') \
                               as conversation_sent_last_minute \
                        from outbound_sends \
                       where owner_id = $2 and author = 'agent' and state in ('sending', 'sent', 'uncertain') \
                         and created_at >= $4) sent \
          where c.id = $1 and c.owner_id = $2",
    )
    .bind(conversation)
    .bind(owner.as_uuid())
    .bind(channel)
    .bind(day_start)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(PipelineError::NotFound)?;
    let inputs = GateInputs {
        auto_send_enabled: row.auto_send_enabled.unwrap_or(false),
        owner_state: standing.state,
        auto_send_allowed: permissions.auto_send,
        sandbox: row.platform == ChannelPlatform::Sandbox,
        channel_status: row.channel_status,
        conversation_mode: row.mode,
        // Set by the caller, which knows the send.
        handover_ack: false,
        last_customer_at: row.last_customer_at,
        now,
        owner_sent_today: row.owner_sent_today,
        channel_sent_today: row.channel_sent_today,
        conversation_sent_last_minute: row.conversation_sent_last_minute,
        limits: permissions.limits,
    };
    let destination = Destination {
        platform: row.platform,
        sender_meta_id: row.meta_id,
        recipient: customer_ids::open_customer(keys, owner, row.customer, &row.sender_enc)?,
        sealed_token: row.token_enc,
    };
    Ok((inputs, destination))
}

impl Sender {
    /// Runs one send job. Idempotent: a finished send is not touched again.
    ///
    /// # Errors
    ///
    /// [`JobError::Retry`] on a database error or a transient Meta failure
    /// (the job is retried with backoff).
    pub async fn run(&self, owner: OwnerId, id: Uuid, now: OffsetDateTime) -> Result<SendOutcome, JobError> {
        let outcome = self.run_inner(owner, id, now).await;
        if let Ok(outcome) = &outcome {
            crate::metrics::METRICS.send(outcome);
        }
        outcome.map_err(|e| match e {
            SendFailure::Retry(reason) => JobError::Retry(reason),
            SendFailure::Store(PipelineError::NotFound) => JobError::Permanent("no such send".into()),
            SendFailure::Store(error) => JobError::Retry(error.to_string()),
        })
    }

    async fn run_inner(&self, owner: OwnerId, id: Uuid, now: OffsetDateTime) -> Result<SendOutcome, SendFailure> {
        let mut tx = begin_tenant_tx(&self.pool, owner).await.map_err(PipelineError::from)?;
        let row = lock_send(&mut tx, owner, id).await?;
        match row.state {
            SendState::Decided => {}
            SendState::Sending => {
                // An earlier run crashed after claiming: Meta may have the message.
                mark(
                    &mut tx,
                    id,
                    SendState::Uncertain,
                    None,
                    Some("interrupted while sending"),
                )
                .await?;
                if let Some(message) = row.reply_to {
                    conversations::note_decision(&mut tx, message, row.conversation, "not sent again: uncertain", "")
                        .await?;
                }
                self.to_review(&mut tx, owner, &row, id, ReviewReason::SendUncertain,
                    "The reply may or may not have reached the customer (sending was interrupted). It was not sent again; check the conversation before resending.").await?;
                crate::db::commit(tx).await.map_err(PipelineError::from)?;
                return Ok(SendOutcome::Uncertain);
            }
            SendState::Sent | SendState::Failed | SendState::Blocked | SendState::Uncertain => {
                return Ok(SendOutcome::AlreadyDone);
            }
        }
        if row.author == Author::Agent {
            // Counting today's sends and claiming this one (`sending`, below)
            // are one step per owner: two workers counting at the same time
            // would both find room under a limit and both send.
            sqlx::query("select pg_advisory_xact_lock($1, hashtext($2))")
                .bind(SEND_GATE_LOCK)
                .bind(owner.as_uuid().to_string())
                .execute(&mut *tx)
                .await
                .map_err(PipelineError::from)?;
        }
        let (mut inputs, destination) = gate_inputs(
            &mut tx,
            &self.keys,
            owner,
            row.conversation,
            row.channel,
            now,
            self.limits,
        )
        .await?;
        inputs.handover_ack = row.author == Author::Agent && row.idempotency_key.starts_with(HANDOVER_ACK_KEY);
        let gate = if row.author == Author::Agent {
            gates::check_automatic(&inputs)
        } else {
            gates::check_manual(&inputs)
        };
        if let Err(gate) = gate {
            sqlx::query("update outbound_sends set state = 'blocked', blocked_by = $2 where id = $1")
                .bind(id)
                .bind(gate.as_str())
                .execute(&mut *tx)
                .await
                .map_err(PipelineError::from)?;
            if row.author == Author::Agent {
                self.to_review(&mut tx, owner, &row, id, ReviewReason::Gate, gate.describe())
                    .await?;
            }
            if matches!(gate, Gate::OwnerDailyLimit | Gate::ChannelDailyLimit) {
                let which = if gate == Gate::OwnerDailyLimit {
                    "Your daily limit of automatic replies"
                } else {
                    "A channel's daily limit of automatic replies"
                };
                let day = (gates::shop_day_start(now) + time::Duration::hours(12)).date();
                crate::owners::notice_limit_reached(&mut tx, &self.keys, owner.as_uuid(), day, which)
                    .await
                    .map_err(PipelineError::from)?;
            }
            if let Some(message) = row.reply_to {
                conversations::note_decision(
                    &mut tx,
                    message,
                    row.conversation,
                    &format!("not sent: {}", gate.as_str()),
                    gate.describe(),
                )
                .await?;
            }
            crate::db::commit(tx).await.map_err(PipelineError::from)?;
            return Ok(SendOutcome::Blocked(gate));
        }
        let text = open_text(&self.keys, owner, "outbound", id, row.body.as_deref())?.unwrap_or_default();
        // Opened before the send is claimed: a token that does not open (the
        // right BIKRI_OLD_DATA_KEYS missing) leaves it `decided` for a retry.
        let token = match destination.platform.meta() {
            Some(_) => Some(
                channels::open_token(&self.keys, owner, row.channel, destination.sealed_token)
                    .map_err(|e| SendFailure::Retry(format!("channel token: {e}")))?,
            ),
            None => None,
        };
        sqlx::query("update outbound_sends set state = 'sending', attempts = attempts + 1 where id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(PipelineError::from)?;
        crate::db::commit(tx).await.map_err(PipelineError::from)?;

        let result = match (destination.platform.meta(), token) {
            (Some(platform), Some(token)) => {
                self.graph
                    .send_text(
                        platform,
                        &destination.sender_meta_id,
                        &token,
                        &destination.recipient,
                        &text,
                    )
                    .await
            }
            // The sandbox channel: the dashboard is the customer's screen.
            _ => Ok(format!("sandbox-{}", Uuid::new_v4())),
        };

        let mut tx = begin_tenant_tx(&self.pool, owner).await.map_err(PipelineError::from)?;
        let row = lock_send(&mut tx, owner, id).await?;
        match result {
            Ok(provider_message_id) => {
                sqlx::query(
                    "update outbound_sends set state = 'sent', provider_message_id = $2, sent_at = $3 where id = $1",
                )
                .bind(id)
                .bind(&provider_message_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(PipelineError::from)?;
                conversations::record_outgoing_message(
                    &mut tx,
                    &self.keys,
                    owner,
                    &conversations::Outgoing {
                        conversation: row.conversation,
                        author: row.author.into(),
                        text: &text,
                        provider_message_id: &provider_message_id,
                        at: now,
                    },
                )
                .await?;
                crate::db::commit(tx).await.map_err(PipelineError::from)?;
                Ok(SendOutcome::Sent { provider_message_id })
            }
            Err(error) => self.failed(tx, owner, &row, id, &error).await,
        }
    }

    async fn failed(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        owner: OwnerId,
        row: &SendRow,
        id: Uuid,
        error: &GraphError,
    ) -> Result<SendOutcome, SendFailure> {
        let (kind, described) = match error {
            GraphError::Api {
                kind, code, subcode, ..
            } => (
                *kind,
                format!(
                    "Meta refused the message (code {code}{})",
                    subcode.map(|s| format!(", subcode {s}")).unwrap_or_default()
                ),
            ),
            GraphError::Network(_) => (ErrorKind::Transient, "Meta could not be reached".to_owned()),
            GraphError::Malformed(_) => (ErrorKind::Transient, "Meta answered something unexpected".to_owned()),
        };
        let retryable = matches!(kind, ErrorKind::Transient | ErrorKind::RateLimited);
        if retryable && row.attempts < MAX_SEND_ATTEMPTS {
            // Back to decided: the retried job checks the gates again and sends.
            mark(&mut tx, id, SendState::Decided, None, Some(&described)).await?;
            crate::db::commit(tx).await.map_err(PipelineError::from)?;
            return Err(SendFailure::Retry(described));
        }
        mark(&mut tx, id, SendState::Failed, None, Some(&described)).await?;
        let detail = format!("{described}. The reply was not sent.");
        self.to_review(&mut tx, owner, row, id, ReviewReason::SendFailed, &detail)
            .await?;
        if let Some(message) = row.reply_to {
            conversations::note_decision(&mut tx, message, row.conversation, "not sent: Meta refused", &detail).await?;
        }
        if kind == ErrorKind::UserUnavailable {
            sqlx::query("update conversations set mode = 'human', last_note = $2 where id = $1")
                .bind(row.conversation)
                .bind("Meta says this person cannot receive messages now; the agent stopped sending here.")
                .execute(&mut *tx)
                .await
                .map_err(PipelineError::from)?;
        }
        crate::db::commit(tx).await.map_err(PipelineError::from)?;
        if matches!(kind, ErrorKind::InvalidToken | ErrorKind::Permission) {
            channels::mark_token_invalid(&self.pool, &self.keys, owner, row.channel, &self.public_url)
                .await
                .map_err(|e| SendFailure::Retry(e.to_string()))?;
        }
        Ok(SendOutcome::Failed { error: described })
    }

    /// Puts the unsent text in the review queue so the owner can send it by hand.
    async fn to_review(
        &self,
        tx: &mut PgConnection,
        owner: OwnerId,
        row: &SendRow,
        id: Uuid,
        reason: ReviewReason,
        detail: &str,
    ) -> Result<(), SendFailure> {
        let text = open_text(&self.keys, owner, "outbound", id, row.body.as_deref())?;
        conversations::open_review(
            tx,
            &self.keys,
            owner,
            &conversations::NewReview {
                conversation: row.conversation,
                message: row.reply_to,
                reason,
                detail,
                draft: text.as_deref(),
            },
        )
        .await?;
        Ok(())
    }
}

async fn mark(
    tx: &mut PgConnection,
    id: Uuid,
    state: SendState,
    gate: Option<&str>,
    error: Option<&str>,
) -> Result<(), PipelineError> {
    sqlx::query(
        "update outbound_sends set state = $2, blocked_by = coalesce($3, blocked_by), error = $4 where id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(gate)
    .bind(error)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

enum SendFailure {
    Retry(String),
    Store(PipelineError),
}

impl From<PipelineError> for SendFailure {
    fn from(error: PipelineError) -> Self {
        SendFailure::Store(error)
    }
}
