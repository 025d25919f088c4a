//! The pipeline's steps after ingest, run by the job queue.
//!
//! 1. [`Pipeline::process_inbound`]: tie the stored message to exactly one
//!    owner and channel (or stop), record it in the owner's conversation
//!    with its risk classification, and queue its decision.
//! 2. [`Pipeline::decide`]: risky, unreadable or unanswerable messages go to
//!    the review queue; others get a reply from the embedded engine (or the
//!    LLM when the engine has no answer), checked by the safety filter, and
//!    decided as a send. Orders are placed here, with stock reserved.
//! 3. [`Pipeline::send`]: the send gates, then Meta (see [`crate::sending`]).
//!
//! Each step is idempotent, so a retried job never records, decides or
//! sends twice. The same decision code answers the owner's playground, which
//! stores nothing.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::AuditKind;
use crate::audit::RequestMeta;
use crate::catalog;
use crate::clock::SharedClock;
use crate::conversations::{self, ConversationMode, Incoming, MessageAuthor, PipelineError, ReviewReason, open_text};
use crate::crypto::DataKeys;
use crate::customer_ids;
use crate::ingest::{self, Resolution};
use crate::jobs::{self, Job, JobError};
use crate::orders;
use crate::pipeline::classifier::{self, Classification, Language};
use crate::pipeline::decision::{self, Draft, Message, Situation, Step};
use crate::pipeline::grounding::{ConversationState, CustomerFacts, Grounding};
use crate::pipeline::llm::{HistoryTurn, LlmClient};
use crate::pipeline::safety;
use crate::sending::{Author, NewSend, SendBy, SendOutcome, Sender};
use crate::tenancy::{OwnerId, begin_tenant_tx};

/// Step 1 for one stored delivery: [`Pipeline::process_inbound`]. Ingest
/// queues it in its batch statement (`crate::ingest`), which builds this
/// payload, `{"id": …}`, and its dedupe key, `inbound:<id>`, in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInboundJob {
    /// The `inbound_messages` row.
    pub id: Uuid,
}

impl Job for ProcessInboundJob {
    const JOB_NAME: &'static str = "process_inbound";
    type Context = Pipeline;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("inbound:{}", self.id))
    }

    async fn run(&self, pipeline: &Pipeline) -> Result<(), JobError> {
        pipeline.handle_inbound(self.id).await
    }
}

/// Step 2 for one recorded customer message: [`Pipeline::decide`], once per
/// message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideJob {
    pub owner: OwnerId,
    /// The customer's message in `messages`.
    pub message: Uuid,
}

impl Job for DecideJob {
    const JOB_NAME: &'static str = "decide_message";
    type Context = Pipeline;

    fn owner(&self) -> Option<Uuid> {
        Some(self.owner.as_uuid())
    }

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("decide:{}", self.message))
    }

    async fn run(&self, pipeline: &Pipeline) -> Result<(), JobError> {
        pipeline.answer(self.owner, self.message).await.map(|_| ())
    }
}

/// Everything the pipeline's jobs need.
#[derive(Clone)]
pub struct Pipeline {
    pub pool: PgPool,
    pub keys: DataKeys,
    pub clock: SharedClock,
    pub sender: Sender,
    /// Drafts answers the embedded engine has none for, when configured.
    pub llm: Option<LlmClient>,
    /// How long the agent waits after a customer's message for more of the
    /// same burst ("hi", "ei ta", "dam koto?") before answering them once.
    pub burst_quiet: std::time::Duration,
    /// After the owner took a conversation over, the agent answers again once
    /// the owner has been quiet this long; `None`: only when handed back.
    pub takeover_quiet: Option<time::Duration>,
}

/// A transaction scoped to one owner by [`begin_tenant_tx`].
type TenantTx = sqlx::Transaction<'static, sqlx::Postgres>;

/// The decision noted on the earlier messages of a burst.
pub const IN_A_BURST: &str = "in a burst: answered with the last message";

pub use crate::pipeline::decision::Decision;

/// What the playground shows: the same decision, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaygroundReport {
    pub language: String,
    pub categories: Vec<String>,
    pub why: Vec<String>,
    pub decision: Decision,
}

#[derive(sqlx::FromRow)]
struct InboundRow {
    state: String,
    owner_id_resolved: Option<Uuid>,
    platform: crate::meta::graph::Platform,
    channel_meta_id: String,
    sender_enc: Option<Vec<u8>>,
    kind: String,
    body_enc: Option<Vec<u8>>,
    sender_name_enc: Option<Vec<u8>>,
    sent_at_ms: i64,
    provider_message_id: String,
}

#[derive(sqlx::FromRow)]
struct SubjectRow {
    conversation_id: Uuid,
    kind: String,
    body_enc: Option<Vec<u8>>,
    categories: Vec<String>,
    language: Option<String>,
    decision: String,
    mode: ConversationMode,
    owner_active_at: Option<OffsetDateTime>,
    conversation_language: String,
    /// The engine's memory of the conversation, sealed.
    state_enc: Option<Vec<u8>>,
    /// A newer customer message of the same conversation will answer this one.
    newer: bool,
    /// The earlier messages of the burst (not answered yet, noted
    /// [`IN_A_BURST`]), oldest first, as parallel arrays.
    burst_ids: Vec<Uuid>,
    burst_kinds: Vec<String>,
    burst_bodies: Vec<Option<Vec<u8>>>,
    /// Each earlier message's categories, joined with commas.
    burst_categories: Vec<String>,
}

/// One customer message of a burst.
struct BurstPart {
    id: Uuid,
    kind: String,
    body_enc: Option<Vec<u8>>,
    categories: Vec<String>,
}

/// Where step 1 left a stored delivery.
enum Inbound {
    /// Recorded now as this customer message; with the tenant transaction
    /// still open when the caller decides it next (the one-step pipeline).
    Recorded {
        owner: OwnerId,
        message: Uuid,
        open: Option<TenantTx>,
    },
    /// Recorded by an earlier run (for this owner, when it was matched).
    RecordedBefore { owner: Option<OwnerId> },
    /// Not a customer message for an owner: unmatched, or the owner's echo.
    Stopped,
}

/// A customer message, as the decision sees it.
struct Subject {
    conversation: Uuid,
    /// The conversation's sealed state as read with the message.
    sealed_state: Option<Vec<u8>>,
    kind: String,
    text: Option<String>,
    classification: Option<Classification>,
    mode: ConversationMode,
    owner_active_at: Option<OffsetDateTime>,
    /// How many customer messages this decision answers (1 without a burst).
    burst: usize,
    /// The conversation's language, for a message without text.
    language: Language,
    /// The owner had taken the conversation over and has been quiet long
    /// enough: the agent answers again (`mode` is already `Agent`).
    handed_back: bool,
}

/// What was read in the first transaction of a decision.
struct Context {
    grounding: Grounding,
    state: ConversationState,
    sealed_state: Option<Vec<u8>>,
    customer: CustomerFacts,
    history: Vec<HistoryTurn>,
    disclosure_on: bool,
}

impl Context {
    fn situation(&self, mode: ConversationMode) -> Situation<'_> {
        Situation {
            grounding: &self.grounding,
            state: &self.state,
            customer: &self.customer,
            disclosure_on: self.disclosure_on,
            mode,
        }
    }
}

fn retry(error: impl std::fmt::Display) -> JobError {
    JobError::Retry(error.to_string())
}

/// Digits the customer wrote, which a reply may repeat (quantities, their phone).
fn customer_numbers(texts: &[String]) -> Vec<String> {
    texts.iter().flat_map(|text| safety::numbers_in(text)).collect()
}

impl Pipeline {
    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Step 1. Returns the recorded message, or `None` when the pipeline
    /// stopped (unmatched channel, suspended owner) or it was done before.
    ///
    /// # Errors
    ///
    /// [`JobError::Retry`] on database errors.
    pub async fn process_inbound(&self, inbound: Uuid) -> Result<Option<Uuid>, JobError> {
        Ok(match self.record_inbound(inbound, true).await? {
            Inbound::Recorded { message, .. } => Some(message),
            Inbound::RecordedBefore { .. } | Inbound::Stopped => None,
        })
    }

    /// The job of one stored delivery. With no burst wait it is the whole
    /// pipeline in one job: record, decide, send. With a burst wait it
    /// records and queues the decision for when the customer is quiet.
    /// A retry after a crash or a failed send resumes where the last run
    /// stopped: every step is idempotent.
    ///
    /// # Errors
    ///
    /// [`JobError::Retry`] on database errors and transient Meta failures.
    pub async fn handle_inbound(&self, inbound: Uuid) -> Result<(), JobError> {
        let one_step = self.burst_quiet.is_zero();
        let (owner, message) = match self.record_inbound(inbound, !one_step).await? {
            Inbound::Recorded {
                owner,
                message,
                open: Some(tx),
            } => {
                // Recorded, decided and stored in one transaction.
                let (_, sends) = self.decide_in(tx, owner, message, SendBy::Caller).await?;
                return self.run_sends(owner, sends).await;
            }
            Inbound::Recorded { owner, message, .. } => (owner, message),
            Inbound::RecordedBefore { owner: Some(owner) } if one_step => {
                let mut tx = begin_tenant_tx(&self.pool, owner).await.map_err(retry)?;
                let message: Option<Uuid> = sqlx::query_scalar(
                    "select id from messages where inbound_id = $1 and owner_id = $2 and author = 'customer'",
                )
                .bind(inbound)
                .bind(owner.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(retry)?;
                crate::db::commit(tx).await.map_err(retry)?;
                match message {
                    Some(message) => (owner, message),
                    None => return Ok(()),
                }
            }
            Inbound::RecordedBefore { .. } | Inbound::Stopped => return Ok(()),
        };
        if one_step {
            self.answer(owner, message).await?;
        }
        Ok(())
    }

    async fn record_inbound(&self, inbound: Uuid, queue_decision: bool) -> Result<Inbound, JobError> {
        let row: Option<InboundRow> = sqlx::query_as(
            "select state, owner_id_resolved, platform, channel_meta_id, sender_enc, kind, body_enc, sender_name_enc, sent_at_ms, provider_message_id \
               from inbound_messages where id = $1",
        )
        .bind(inbound)
        .fetch_optional(&self.pool)
        .await
        .map_err(retry)?;
        let Some(InboundRow {
            state,
            owner_id_resolved,
            platform,
            channel_meta_id,
            sender_enc,
            kind,
            body_enc: body,
            sender_name_enc: name,
            sent_at_ms,
            provider_message_id,
        }) = row
        else {
            return Err(JobError::Permanent("no such inbound message".into()));
        };
        match state.as_str() {
            "processed" => {
                return Ok(Inbound::RecordedBefore {
                    owner: owner_id_resolved.map(OwnerId::from_verified),
                });
            }
            "unmatched" => return Ok(Inbound::Stopped),
            _ => {}
        }
        let Resolution::Matched { owner, channel } = ingest::resolve(&self.pool, inbound, platform, &channel_meta_id)
            .await
            .map_err(retry)?
        else {
            return Ok(Inbound::Stopped);
        };
        let owner = OwnerId::from_verified(owner);
        // Retried rather than failed: the fix (the right BIKRI_OLD_DATA_KEYS) is a restart away.
        let sender_id = sender_enc
            .ok_or_else(|| JobError::Permanent("the inbound message has no sender".into()))
            .and_then(|sealed| {
                customer_ids::open_inbound(&self.keys, inbound, &sealed)
                    .map_err(|e| JobError::Retry(format!("the sender id does not open: {e}")))
            })?;
        let context = format!("inbound:{inbound}");
        let open = |sealed: Option<Vec<u8>>, context: &str| {
            sealed
                .and_then(|sealed| self.keys.open(&sealed, context).ok())
                .map(|plain| String::from_utf8_lossy(&plain).into_owned())
        };
        let text = open(body, &context);
        let sender_name = open(name, &format!("{context}:name"));
        let sent_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(sent_at_ms) * 1_000_000)
            .unwrap_or_else(|_| self.now());
        let incoming = Incoming {
            channel,
            sender_id,
            sender_name,
            kind,
            text,
            sent_at,
            inbound_id: Some(inbound),
            provider_message_id: Some(provider_message_id),
        };
        if incoming.kind == ingest::OWNER_ECHO {
            self.record_echo(owner, &incoming).await.map_err(retry)?;
            return Ok(Inbound::Stopped);
        }
        if queue_decision {
            let message = self.record(owner, &incoming, true).await.map_err(retry)?;
            return Ok(Inbound::Recorded {
                owner,
                message,
                open: None,
            });
        }
        let (tx, message) = self.record_open(owner, &incoming, false).await.map_err(retry)?;
        Ok(Inbound::Recorded {
            owner,
            message,
            open: Some(tx),
        })
    }

    /// Records a customer message, queues its decision (unless the caller
    /// decides it next) and clears the global copy of its text, in one
    /// tenant transaction.
    async fn record(&self, owner: OwnerId, incoming: &Incoming, queue_decision: bool) -> Result<Uuid, PipelineError> {
        let (tx, message) = self.record_open(owner, incoming, queue_decision).await?;
        crate::db::commit(tx).await?;
        Ok(message)
    }

    /// [`Pipeline::record`], leaving its transaction open for the caller.
    async fn record_open(
        &self,
        owner: OwnerId,
        incoming: &Incoming,
        queue_decision: bool,
    ) -> Result<(TenantTx, Uuid), PipelineError> {
        let classification = incoming.text.as_deref().map(classifier::classify);
        let mut tx = begin_tenant_tx(&self.pool, owner).await?;
        let recorded =
            conversations::record_customer_message(&mut tx, &self.keys, owner, incoming, classification.as_ref())
                .await?;
        if queue_decision {
            DecideJob {
                owner,
                message: recorded.message,
            }
            .enqueue_after(&mut *tx, self.burst_quiet)
            .await?;
        }
        if let Some(inbound) = incoming.inbound_id {
            sqlx::query(
                "update inbound_messages set state = 'processed', owner_id_resolved = $2, body_enc = null, \
                        sender_name_enc = null, sender_enc = null where id = $1",
            )
            .bind(inbound)
            .bind(owner.as_uuid())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(classification) = &classification {
            crate::metrics::METRICS.classified(classification);
        }
        Ok((tx, recorded.message))
    }

    /// The owner answered in Meta's own apps: record it, hand the
    /// conversation to the owner, clear the global copy.
    async fn record_echo(&self, owner: OwnerId, incoming: &Incoming) -> Result<(), PipelineError> {
        let mut tx = begin_tenant_tx(&self.pool, owner).await?;
        conversations::record_owner_echo(&mut tx, &self.keys, owner, incoming).await?;
        if let Some(inbound) = incoming.inbound_id {
            sqlx::query(
                "update inbound_messages set state = 'processed', owner_id_resolved = $2, body_enc = null, \
                        sender_enc = null where id = $1",
            )
            .bind(inbound)
            .bind(owner.as_uuid())
            .execute(&mut *tx)
            .await?;
        }
        crate::db::commit(tx).await?;
        Ok(())
    }

    /// The owner chats as a customer on their sandbox channel: the message
    /// goes through the same pipeline as a Meta delivery.
    pub async fn sandbox_say(&self, owner: OwnerId, text: &str) -> Result<Uuid, PipelineError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 2000 {
            return Err(PipelineError::Invalid(
                "Write a message of up to 2000 characters.".into(),
            ));
        }
        let channel = ensure_sandbox_channel(&self.pool, owner).await?;
        let incoming = Incoming {
            channel,
            sender_id: SANDBOX_CUSTOMER.to_owned(),
            sender_name: Some("Sandbox customer".to_owned()),
            kind: "text".to_owned(),
            text: Some(text.to_owned()),
            sent_at: self.now(),
            inbound_id: None,
            provider_message_id: None,
        };
        self.record(owner, &incoming, true).await?;
        sandbox_conversation(&self.pool, owner)
            .await?
            .ok_or(PipelineError::NotFound)
    }

    /// The message to decide, with the earlier messages of its burst; `None`
    /// when it was decided before, or a newer message of the same burst will
    /// answer it.
    async fn subject(
        &self,
        tx: &mut sqlx::PgConnection,
        owner: OwnerId,
        message: Uuid,
    ) -> Result<Option<Subject>, PipelineError> {
        // One statement: the message, its conversation (locked: the
        // decision is stored in this transaction), whether a newer message
        // of the same customer will answer it, and the earlier parts of its
        // burst (those since the last reply, noted as in a burst).
        let row: Option<SubjectRow> = sqlx::query_as(
            "select m.conversation_id, m.kind, m.body_enc, m.categories, m.language, m.decision, c.mode, \
                    c.owner_active_at, c.language as conversation_language, c.state_enc, \
                    exists(select 1 from messages n where n.conversation_id = m.conversation_id \
                              and n.author = 'customer' and (n.created_at, n.id) > (m.created_at, m.id)) as newer, \
                    coalesce(burst.ids, '{}') as burst_ids, coalesce(burst.kinds, '{}') as burst_kinds, \
                    coalesce(burst.bodies, '{}') as burst_bodies, coalesce(burst.categories, '{}') as burst_categories \
               from messages m join conversations c on c.id = m.conversation_id \
               left join lateral ( \
                    select array_agg(e.id order by e.created_at, e.id) as ids, \
                           array_agg(e.kind order by e.created_at, e.id) as kinds, \
                           array_agg(e.body_enc order by e.created_at, e.id) as bodies, \
                           array_agg(array_to_string(e.categories, ',') order by e.created_at, e.id) as categories \
                      from messages e \
                     where e.conversation_id = m.conversation_id and e.author = 'customer' and e.decision = $3 \
                       and e.created_at > coalesce((select max(o.created_at) from messages o \
                                                     where o.conversation_id = m.conversation_id \
                                                       and o.direction = 'out'), '-infinity')) burst on true \
              where m.id = $1 and m.owner_id = $2 and m.author = 'customer' \
                for update of c",
        )
        .bind(message)
        .bind(owner.as_uuid())
        .bind(IN_A_BURST)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or(PipelineError::NotFound)?;
        if !row.decision.is_empty() {
            return Ok(None);
        }
        if row.newer {
            sqlx::query("update messages set decision = $2 where id = $1 and decision = ''")
                .bind(message)
                .bind(IN_A_BURST)
                .execute(&mut *tx)
                .await?;
            return Ok(None);
        }
        let earlier: Vec<BurstPart> = row
            .burst_ids
            .iter()
            .zip(&row.burst_kinds)
            .zip(&row.burst_bodies)
            .zip(&row.burst_categories)
            .map(|(((id, kind), body_enc), categories)| BurstPart {
                id: *id,
                kind: kind.clone(),
                body_enc: body_enc.clone(),
                categories: categories
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
            .collect();
        let mut texts = Vec::new();
        let mut categories: Vec<classifier::Risk> = Vec::new();
        let mut unreadable = None;
        let this = BurstPart {
            id: message,
            kind: row.kind.clone(),
            body_enc: row.body_enc.clone(),
            categories: row.categories.clone(),
        };
        for part in earlier.iter().chain(std::iter::once(&this)) {
            match open_text(&self.keys, owner, "message", part.id, part.body_enc.as_deref())? {
                Some(text) => texts.push(text),
                None => unreadable = Some(part.kind.clone()),
            }
            categories.extend(part.categories.iter().filter_map(|c| classifier::Risk::parse(c)));
        }
        categories.sort();
        categories.dedup();
        // One unreadable part (an image, a voice note) makes the whole burst
        // unreadable: answering the text alone could pretend to understand it.
        let (kind, text) = match unreadable {
            Some(kind) => (kind, None),
            None => (row.kind, Some(texts.join("\n"))),
        };
        let classification = text.as_ref().map(|_| Classification {
            categories,
            language: row
                .language
                .as_deref()
                .and_then(Language::parse)
                .unwrap_or(Language::En),
            // A burst re-read from stored categories: the model is not run again.
            confidence: 100,
            model_only: false,
        });
        Ok(Some(Subject {
            conversation: row.conversation_id,
            kind,
            text,
            classification,
            mode: row.mode,
            owner_active_at: row.owner_active_at,
            burst: earlier.len() + 1,
            language: Language::parse(&row.conversation_language).unwrap_or(Language::En),
            handed_back: false,
            sealed_state: row.state_enc,
        }))
    }

    async fn context(
        &self,
        tx: &mut sqlx::PgConnection,
        owner: OwnerId,
        subject: &Subject,
    ) -> Result<Context, PipelineError> {
        let (conversation, text) = (subject.conversation, subject.text.as_deref().unwrap_or_default());
        let sealed_state = subject.sealed_state.clone();
        let state = conversations::open_state(&self.keys, owner, conversation, sealed_state.as_deref())?;
        let catalog::grounding::Loaded {
            grounding,
            bot_disclosure: disclosure_on,
        } = catalog::grounding::load_with_disclosure(&mut *tx, owner, text, &state).await?;
        let recent: Vec<(Uuid, MessageAuthor, Option<Vec<u8>>)> = sqlx::query_as(
            "select id, author, body_enc from messages where conversation_id = $1 and owner_id = $2 \
              order by created_at desc limit 12",
        )
        .bind(conversation)
        .bind(owner.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        let mut history = Vec::new();
        for (id, author, body) in recent.into_iter().rev() {
            if let Some(text) = open_text(&self.keys, owner, "message", id, body.as_deref())? {
                history.push(HistoryTurn {
                    from_customer: author == MessageAuthor::Customer,
                    text,
                });
            }
        }
        let customer_texts: Vec<String> = history
            .iter()
            .filter(|t| t.from_customer)
            .map(|t| t.text.clone())
            .collect();
        let order = state.order.clone().unwrap_or_default();
        let customer = CustomerFacts {
            numbers: customer_numbers(&customer_texts),
            phone: order.phone,
            address: order.address,
        };
        Ok(Context {
            grounding,
            state,
            sealed_state,
            customer,
            history,
            disclosure_on,
        })
    }

    /// The embedded engine's decision (see [`crate::pipeline::decision`]):
    /// a draft, or [`Step::NoAnswer`] only when an LLM is configured and may
    /// help. Pure and quick: it runs inside the decision's transaction.
    fn engine_draft(&self, subject: &Subject, context: &Context) -> Step {
        let situation = context.situation(subject.mode);
        let message = Message {
            kind: &subject.kind,
            text: subject.text.as_deref(),
            classification: subject.classification.as_ref(),
            fallback_language: subject.language,
            burst: subject.burst,
        };
        match decision::decide(&situation, &message) {
            Step::NoAnswer(pending) if self.llm.is_none() || !pending.llm_may_help() => {
                Step::Decided(pending.unanswered(&situation, None))
            }
            step => step,
        }
    }

    /// Finishes a decision the engine had no answer for with the LLM's reading.
    async fn llm_draft(&self, subject: &Subject, context: &Context, pending: decision::Pending) -> Draft {
        let situation = context.situation(subject.mode);
        let Some(llm) = self.llm.as_ref() else {
            return pending.unanswered(&situation, None);
        };
        let reading = llm
            .understand(&context.grounding, &context.history, pending.text())
            .await;
        pending.finish(&situation, reading)
    }

    /// The decision, with the LLM's call when the engine has no answer.
    async fn draft(&self, subject: &Subject, context: &Context) -> Draft {
        match self.engine_draft(subject, context) {
            Step::Decided(draft) => draft,
            Step::NoAnswer(pending) => self.llm_draft(subject, context, pending).await,
        }
    }

    /// Step 2 for one customer message.
    ///
    /// # Errors
    ///
    /// [`JobError::Retry`] on database errors or when the conversation
    /// moved on meanwhile (the retried job decides on the new state).
    pub async fn decide(&self, owner: OwnerId, message: Uuid) -> Result<Decision, JobError> {
        self.decide_by(owner, message, SendBy::Job)
            .await
            .map(|(decision, _)| decision)
    }

    /// Steps 2 and 3 in one job: the decision, then its sends. A retry
    /// (after a crash, or a transient Meta error) finds the message decided
    /// and runs the sends it left; [`Sender::run`] never sends one twice.
    ///
    /// # Errors
    ///
    /// As [`Pipeline::decide`] and [`Sender::run`].
    pub async fn answer(&self, owner: OwnerId, message: Uuid) -> Result<Decision, JobError> {
        let (decision, mut sends) = self.decide_by(owner, message, SendBy::Caller).await?;
        if decision == Decision::AlreadyDecided {
            let mut tx = begin_tenant_tx(&self.pool, owner).await.map_err(retry)?;
            sends = sqlx::query_scalar(
                "select id from outbound_sends where owner_id = $1 and reply_to = $2 and author = 'agent' \
                    and state in ('decided', 'sending') order by created_at, id",
            )
            .bind(owner.as_uuid())
            .bind(message)
            .fetch_all(&mut *tx)
            .await
            .map_err(retry)?;
            crate::db::commit(tx).await.map_err(retry)?;
        }
        self.run_sends(owner, sends).await?;
        Ok(decision)
    }

    /// Runs the sends a decision made, in order.
    async fn run_sends(&self, owner: OwnerId, sends: Vec<Uuid>) -> Result<(), JobError> {
        for send in sends {
            self.sender.run(owner, send, self.now()).await?;
        }
        Ok(())
    }

    async fn decide_by(&self, owner: OwnerId, message: Uuid, by: SendBy) -> Result<(Decision, Vec<Uuid>), JobError> {
        let tx = begin_tenant_tx(&self.pool, owner).await.map_err(retry)?;
        self.decide_in(tx, owner, message, by).await
    }

    /// Decides `message` in `tx`, a tenant transaction of `owner`: what the
    /// decision reads, the engine's decision and what it stores, in one
    /// transaction, unless the LLM is asked (outside any transaction).
    async fn decide_in(
        &self,
        mut tx: TenantTx,
        owner: OwnerId,
        message: Uuid,
        by: SendBy,
    ) -> Result<(Decision, Vec<Uuid>), JobError> {
        let Some(mut subject) = self.subject(&mut tx, owner, message).await.map_err(retry)? else {
            crate::db::commit(tx).await.map_err(retry)?;
            return Ok((Decision::AlreadyDecided, Vec::new()));
        };
        subject.handed_back = subject.mode == ConversationMode::Human
            && self
                .takeover_quiet
                .is_some_and(|quiet| subject.owner_active_at.is_some_and(|at| self.now() - at >= quiet));
        if subject.handed_back {
            subject.mode = ConversationMode::Agent;
        }
        let context = self.context(&mut tx, owner, &subject).await.map_err(retry)?;
        match self.engine_draft(&subject, &context) {
            // The engine's answer is stored in the same transaction, under
            // the conversation's lock taken with the read.
            Step::Decided(draft) => {
                self.store_decision(tx, owner, message, &subject, &context, draft, by)
                    .await
            }
            // The LLM's call runs outside any transaction; the decision is
            // stored in a new one if the conversation did not move meanwhile.
            Step::NoAnswer(pending) => {
                crate::db::commit(tx).await.map_err(retry)?;
                let draft = self.llm_draft(&subject, &context, pending).await;
                let mut tx = begin_tenant_tx(&self.pool, owner).await.map_err(retry)?;
                let current: Option<(Option<Vec<u8>>, String)> = sqlx::query_as(
                    "select c.state_enc, m.decision from conversations c join messages m on m.conversation_id = c.id \
                      where c.id = $1 and m.id = $2 for update of c",
                )
                .bind(subject.conversation)
                .bind(message)
                .fetch_optional(&mut *tx)
                .await
                .map_err(retry)?;
                let Some((sealed_state, decision)) = current else {
                    return Err(JobError::Permanent("the conversation is gone".into()));
                };
                if !decision.is_empty() {
                    return Ok((Decision::AlreadyDecided, Vec::new()));
                }
                if sealed_state != context.sealed_state {
                    return Err(JobError::Retry("the conversation changed while deciding".into()));
                }
                self.store_decision(tx, owner, message, &subject, &context, draft, by)
                    .await
            }
        }
    }

    /// Stores a decision in `tx`, which holds the conversation's lock and
    /// found the message undecided and the conversation's state as `context`
    /// read it.
    #[expect(clippy::too_many_arguments, reason = "one decision's parts, all borrowed")]
    async fn store_decision(
        &self,
        mut tx: TenantTx,
        owner: OwnerId,
        message: Uuid,
        subject: &Subject,
        context: &Context,
        draft: Draft,
        by: SendBy,
    ) -> Result<(Decision, Vec<Uuid>), JobError> {
        let mut sends = Vec::new();
        let now = self.now();
        let Draft {
            mut decision,
            mut state,
            order,
            language,
            ..
        } = draft;
        if let Some(request) = order {
            let placed = orders::place(&mut tx, &self.keys, owner, Some(subject.conversation), &request, now)
                .await
                .map_err(retry)?;
            let situation = context.situation(subject.mode);
            decision = match placed {
                Ok(placed) => decision::order_placed(&situation, &mut state, placed.number, &request, language),
                Err(refusal) => decision::order_refused(&situation, &mut state, &refusal, language),
            };
        }
        conversations::save_state(&mut tx, &self.keys, owner, subject.conversation, &state)
            .await
            .map_err(retry)?;
        let key = format!("auto:{message}");
        let send = |text| agent_send(subject.conversation, message, &key, text, now);
        match &decision {
            Decision::Reply { text } => {
                sends.extend(
                    crate::sending::decide_send_by(&mut tx, &self.keys, owner, &send(text), by)
                        .await
                        .map_err(retry)?,
                );
                let mut noted = if subject.burst > 1 {
                    format!("replied once to a burst of {} messages", subject.burst)
                } else {
                    "replied".to_owned()
                };
                if state.disclosed && !context.state.disclosed {
                    noted.push_str(" (with the bot disclosure)");
                }
                conversations::note_decision(&mut tx, message, subject.conversation, &noted, "")
                    .await
                    .map_err(retry)?;
            }
            Decision::Review {
                reason,
                detail,
                draft,
                holding,
            } => {
                conversations::open_review(
                    &mut tx,
                    &self.keys,
                    owner,
                    &conversations::NewReview {
                        conversation: subject.conversation,
                        message: Some(message),
                        reason: *reason,
                        detail,
                        draft: draft.as_deref(),
                    },
                )
                .await
                .map_err(retry)?;
                if let Some(holding) = holding {
                    // A request for a person hands the conversation over below;
                    // its acknowledgement still goes out (a key the takeover
                    // gate knows).
                    let handover_key = format!("{}{message}", crate::sending::HANDOVER_ACK_KEY);
                    let key = if *reason == ReviewReason::HumanRequest {
                        &handover_key
                    } else {
                        &key
                    };
                    sends.extend(
                        crate::sending::decide_send_by(
                            &mut tx,
                            &self.keys,
                            owner,
                            &agent_send(subject.conversation, message, key, holding, now),
                            by,
                        )
                        .await
                        .map_err(retry)?,
                    );
                }
                conversations::note_decision(
                    &mut tx,
                    message,
                    subject.conversation,
                    &format!("review: {reason}"),
                    &format!(
                        "Waiting for you in the review queue ({}).",
                        reason.as_str().replace('_', " ")
                    ),
                )
                .await
                .map_err(retry)?;
            }
            Decision::Quiet { note } => {
                conversations::note_decision(&mut tx, message, subject.conversation, "owner handles", note)
                    .await
                    .map_err(retry)?;
            }
            Decision::AlreadyDecided => {}
        }
        let mode_change = match &decision {
            Decision::Review {
                reason: ReviewReason::HumanRequest,
                ..
            } => Some((
                ConversationMode::Human,
                "The customer asked for a person, so the agent stays quiet until you hand the conversation back.",
            )),
            _ if subject.handed_back => Some((
                ConversationMode::Agent,
                "You were quiet for a while, so the agent answers again.",
            )),
            _ => None,
        };
        if let Some((mode, note)) = mode_change {
            sqlx::query("update conversations set mode = $2, last_note = $3 where id = $1")
                .bind(subject.conversation)
                .bind(mode)
                .bind(note)
                .execute(&mut *tx)
                .await
                .map_err(retry)?;
        }
        // No wakeup: the worker running this job sends, or claims the send next.
        crate::db::commit(tx).await.map_err(retry)?;
        Ok((decision, sends))
    }

    /// Step 3: one send job.
    ///
    /// # Errors
    ///
    /// See [`Sender::run`].
    pub async fn send(&self, owner: OwnerId, send: Uuid) -> Result<SendOutcome, JobError> {
        self.sender.run(owner, send, self.now()).await
    }

    /// What the agent would answer to `text` as a new customer, and why,
    /// without storing or sending anything.
    pub async fn playground(&self, owner: OwnerId, text: &str) -> Result<PlaygroundReport, PipelineError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 2000 {
            return Err(PipelineError::Invalid(
                "Write a message of up to 2000 characters.".into(),
            ));
        }
        let classification = classifier::classify(text);
        let mut tx = begin_tenant_tx(&self.pool, owner).await?;
        let state = ConversationState::default();
        let grounding = catalog::grounding::load(&mut tx, owner, text, &state).await?;
        crate::db::commit(tx).await?;
        let context = Context {
            grounding,
            state,
            sealed_state: None,
            customer: CustomerFacts {
                numbers: customer_numbers(&[text.to_owned()]),
                ..CustomerFacts::default()
            },
            history: vec![HistoryTurn {
                from_customer: true,
                text: text.to_owned(),
            }],
            disclosure_on: false,
        };
        let subject = Subject {
            conversation: Uuid::nil(),
            sealed_state: None,
            kind: "text".into(),
            text: Some(text.to_owned()),
            classification: Some(classification.clone()),
            mode: ConversationMode::Agent,
            owner_active_at: None,
            burst: 1,
            language: classification.language,
            handed_back: false,
        };
        let draft = self.draft(&subject, &context).await;
        let decision = match draft.order {
            Some(request) => Decision::Reply {
                text: format!(
                    "(would place an order for {} × item, total {}, reserving stock)",
                    request.quantity,
                    crate::catalog::money::format_money(
                        crate::catalog::money::Money::from_minor(request.total_minor),
                        &context.grounding.profile.currency
                    )
                ),
            },
            None => draft.decision,
        };
        Ok(PlaygroundReport {
            language: classification.language.as_str().to_owned(),
            categories: classification
                .categories
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            why: draft.why,
            decision,
        })
    }

    /// The owner's own reply from the inbox: the same send path (token,
    /// channel, Meta's window), once per idempotency key. Replying takes the
    /// conversation over from the agent. Returns false when this key was
    /// already used (a double-submitted form): nothing is sent twice.
    pub async fn owner_reply(
        &self,
        owner: OwnerId,
        conversation: Uuid,
        text: &str,
        idempotency_key: &str,
        actor: Uuid,
        meta: &RequestMeta,
    ) -> Result<bool, PipelineError> {
        let key = idempotency_key.trim();
        if key.is_empty() || key.len() > 100 {
            return Err(PipelineError::Invalid(
                "The form was incomplete; please reload the page.".into(),
            ));
        }
        let reply = OwnerSend {
            conversation,
            text,
            key: &format!("owner:{key}"),
            take_over: true,
        };
        self.send_as_owner(owner, &reply, actor, meta).await
    }

    /// Approves a review case: sends `text` (the draft, possibly edited) as
    /// the owner and closes the case. The conversation stays with the agent:
    /// approving one reply is not taking the conversation over (a customer
    /// who then confirms an approved order summary gets their order). The
    /// owner takes over with the inbox's own button.
    pub async fn approve_review(
        &self,
        owner: OwnerId,
        review: Uuid,
        text: &str,
        actor: Uuid,
        meta: &RequestMeta,
    ) -> Result<(), PipelineError> {
        // Checked before the case closes: an empty edit must leave the case
        // open, not mark it sent with nothing sent.
        owner_reply_text(text)?;
        let conversation = conversations::close_review(&self.pool, owner, review, "sent", actor, self.now()).await?;
        let reply = OwnerSend {
            conversation,
            text,
            key: &format!("review:{review}"),
            take_over: false,
        };
        self.send_as_owner(owner, &reply, actor, meta).await.map(|_| ())
    }

    /// Queues the owner's message; returns false when its key was used before.
    async fn send_as_owner(
        &self,
        owner: OwnerId,
        reply: &OwnerSend<'_>,
        actor: Uuid,
        meta: &RequestMeta,
    ) -> Result<bool, PipelineError> {
        let text = owner_reply_text(reply.text)?;
        let mut tx = begin_tenant_tx(&self.pool, owner).await?;
        let queued = crate::sending::decide_send(
            &mut tx,
            &self.keys,
            owner,
            &NewSend {
                conversation: reply.conversation,
                author: Author::Owner,
                reply_to: None,
                idempotency_key: reply.key,
                text,
                at: self.now(),
            },
        )
        .await?;
        if queued.is_some() {
            let changed = sqlx::query(
                "update conversations set \
                        mode = case when $3 then 'human'::conversation_mode else mode end, \
                        last_note = case when $3 then 'You replied, so the agent stays quiet until you hand it back.' \
                                         else last_note end \
                  where id = $1 and owner_id = $2",
            )
            .bind(reply.conversation)
            .bind(owner.as_uuid())
            .bind(reply.take_over)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Err(PipelineError::NotFound);
            }
            crate::audit::record(
                &mut *tx,
                AuditKind::OwnerReplyQueued,
                Some(owner.as_uuid()),
                Some(actor),
                meta,
                json!({ "conversation": reply.conversation }),
            )
            .await?;
        }
        crate::db::commit(tx).await?;
        if queued.is_some() {
            jobs::wake_workers();
        }
        Ok(queued.is_some())
    }
}

/// A message the owner sends from the inbox or the review queue.
struct OwnerSend<'a> {
    conversation: Uuid,
    text: &'a str,
    /// The send's idempotency key.
    key: &'a str,
    /// Whether sending hands the conversation to the owner (a reply typed in
    /// the inbox does; approving a held reply does not).
    take_over: bool,
}

/// An owner's reply as it will be sent, or why it cannot be.
fn owner_reply_text(text: &str) -> Result<&str, PipelineError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(PipelineError::Invalid("Write a reply first.".into()));
    }
    if text.chars().count() > safety::MAX_REPLY_CHARS * 2 {
        return Err(PipelineError::Invalid("Keep a reply under 2000 characters.".into()));
    }
    Ok(text)
}

/// The agent's automatic send for one customer message.
fn agent_send<'a>(conversation: Uuid, message: Uuid, key: &'a str, text: &'a str, at: OffsetDateTime) -> NewSend<'a> {
    NewSend {
        conversation,
        author: Author::Agent,
        reply_to: Some(message),
        idempotency_key: key,
        text,
        at,
    }
}

/// The sandbox's one customer id.
pub const SANDBOX_CUSTOMER: &str = "sandbox-customer";

/// The owner's sandbox channel, created on first use.
pub async fn ensure_sandbox_channel(pool: &PgPool, owner: OwnerId) -> Result<Uuid, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let meta_id = format!("sandbox:{owner}");
    let existing: Option<Uuid> =
        sqlx::query_scalar("select id from channels where owner_id = $1 and platform = 'sandbox' and meta_id = $2")
            .bind(owner.as_uuid())
            .bind(&meta_id)
            .fetch_optional(&mut *tx)
            .await?;
    let id = match existing {
        Some(id) => id,
        None => {
            let id = Uuid::new_v4();
            sqlx::query(
                "insert into channels (id, owner_id, platform, meta_id, display_name, status) \
                 values ($1, $2, 'sandbox', $3, 'Sandbox (test chat)', 'connected')",
            )
            .bind(id)
            .bind(owner.as_uuid())
            .bind(&meta_id)
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    crate::db::commit(tx).await?;
    Ok(id)
}

/// The sandbox conversation, once the owner wrote in it.
pub async fn sandbox_conversation(pool: &PgPool, owner: OwnerId) -> Result<Option<Uuid>, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let id = sqlx::query_scalar(
        "select c.id from conversations c join channels ch on ch.id = c.channel_id \
          where c.owner_id = $1 and ch.platform = 'sandbox' order by c.created_at limit 1",
    )
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    Ok(id)
}
