//! The owner's side of the pipeline: customers, conversations, messages and
//! the review queue, all tenant-scoped.
//!
//! Message bodies, drafts, customer names and platform ids (see
//! `customer_ids`) and the engine's conversation state are sealed with the
//! data key and bound to their owner and row, so a
//! database dump holds no message text and a ciphertext copied into another
//! owner's row does not open. Owners read them decrypted here; staff lists
//! never call these readers.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, AuditKind, RequestMeta};
use crate::channels::{ChannelPlatform, ChannelStatus};
use crate::crypto::{CryptoError, DataKeys};
use crate::customer_ids::{self, CUSTOMER_SENDER};
use crate::input::page::Page;
use crate::names::named_enum;
use crate::pipeline::classifier::{Classification, Risk};
use crate::pipeline::gates::MESSAGING_WINDOW;
use crate::pipeline::grounding::ConversationState;
use crate::sending::SendState;
use crate::tenancy::{OwnerId, begin_tenant_tx};

/// Who answers a conversation (`conversations.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "conversation_mode", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ConversationMode {
    /// Automatic replies allowed.
    Agent,
    /// The owner took over: the agent stays quiet.
    Human,
}

named_enum!(ConversationMode {
    Agent => "agent",
    Human => "human",
});

/// Who wrote a message (`messages.author`). A send's author is
/// [`crate::sending::Author`], the same type without the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "message_author", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MessageAuthor {
    Customer,
    Agent,
    Owner,
}

named_enum!(MessageAuthor {
    Customer => "customer",
    Agent => "agent",
    Owner => "owner",
});

/// Why a case is in the owner's review queue (`review_items.reason`): one of
/// the classifier's risk categories, or the pipeline's own reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "review_reason", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    Allergy,
    Refund,
    PaymentIssue,
    AngryComplaint,
    PromptInjection,
    HumanRequest,
    /// An image, a voice note…: nothing the agent can read.
    NoText,
    /// The engine (and the LLM, when configured) had no answer from the owner's data.
    Engine,
    /// The safety filter held the draft back.
    Safety,
    /// A send gate blocked an automatic reply.
    Gate,
    /// Meta refused the reply, or kept failing.
    SendFailed,
    /// Sending was interrupted: the reply may or may not have arrived.
    SendUncertain,
}

named_enum!(ReviewReason {
    Allergy => "allergy",
    Refund => "refund",
    PaymentIssue => "payment_issue",
    AngryComplaint => "angry_complaint",
    PromptInjection => "prompt_injection",
    HumanRequest => "human_request",
    NoText => "no_text",
    Engine => "engine",
    Safety => "safety",
    Gate => "gate",
    SendFailed => "send_failed",
    SendUncertain => "send_uncertain",
});

impl From<Risk> for ReviewReason {
    fn from(risk: Risk) -> Self {
        match risk {
            Risk::Allergy => ReviewReason::Allergy,
            Risk::Refund => ReviewReason::Refund,
            Risk::PaymentIssue => ReviewReason::PaymentIssue,
            Risk::AngryComplaint => ReviewReason::AngryComplaint,
            Risk::PromptInjection => ReviewReason::PromptInjection,
            Risk::HumanRequest => ReviewReason::HumanRequest,
        }
    }
}

/// Why a store call of the pipeline failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("not found")]
    NotFound,
    /// Bad input from a person, with a message meant for them.
    #[error("{0}")]
    Invalid(String),
    /// A staff member may not act on this account (see
    /// [`crate::auth::authority`]), with the message for them.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("stored data does not open: {0}")]
    Crypto(#[from] CryptoError),
}

/// What a sealed value of one kind in one row is bound to.
pub fn sealed_context(owner: OwnerId, kind: &str, id: Uuid) -> String {
    format!("{kind}:{owner}:{id}")
}

pub(crate) fn seal_text(keys: &DataKeys, owner: OwnerId, kind: &str, id: Uuid, text: &str) -> Vec<u8> {
    keys.seal(text.as_bytes(), &sealed_context(owner, kind, id))
}

/// Opens a sealed text; `None` for a missing value. A value that does not
/// open is an error, not an empty text, so tampering is never silent.
pub(crate) fn open_text(
    keys: &DataKeys,
    owner: OwnerId,
    kind: &str,
    id: Uuid,
    sealed: Option<&[u8]>,
) -> Result<Option<String>, PipelineError> {
    let Some(sealed) = sealed else { return Ok(None) };
    let plain = keys.open(sealed, &sealed_context(owner, kind, id))?;
    Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
}

/// A customer message arriving in the owner's data.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub channel: Uuid,
    pub sender_id: String,
    pub sender_name: Option<String>,
    /// `text`, `image`, `audio`, … (see `meta::webhook::MessageKind`).
    pub kind: String,
    pub text: Option<String>,
    /// When the customer sent it (Meta's timestamp): the 24-hour window runs from here.
    pub sent_at: OffsetDateTime,
    /// The global inbound row it came from; `None` for the sandbox.
    pub inbound_id: Option<Uuid>,
    pub provider_message_id: Option<String>,
}

/// Where a recorded message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub message: Uuid,
    pub conversation: Uuid,
    /// False when the message was already recorded (a retried job).
    pub new: bool,
}

/// Records a customer message: upserts the customer and the conversation
/// and inserts the message with its classification. Idempotent on the
/// inbound id, so a retried job records it once. `tx` must be a tenant
/// transaction of `owner`.
pub async fn record_customer_message(
    tx: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    incoming: &Incoming,
    classification: Option<&Classification>,
) -> Result<Recorded, PipelineError> {
    if let Some(inbound) = incoming.inbound_id {
        let existing: Option<(Uuid, Uuid)> =
            sqlx::query_as("select id, conversation_id from messages where inbound_id = $1")
                .bind(inbound)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((message, conversation)) = existing {
            return Ok(Recorded {
                message,
                conversation,
                new: false,
            });
        }
    }
    let customer = customer_ids::upsert_customer(tx, keys, owner, incoming.channel, &incoming.sender_id).await?;
    if let Some(name) = &incoming.sender_name {
        sqlx::query("update customers set name_enc = $2 where id = $1")
            .bind(customer)
            .bind(seal_text(keys, owner, "customer-name", customer, name))
            .execute(&mut *tx)
            .await?;
    }
    // An image or a voice note has no language: the conversation keeps its own,
    // so its holding reply is written in it.
    let language = classification.map(|c| c.language.as_str());
    let risk = classification.and_then(|c| c.risk()).map(|r| r.as_str());
    // Locks the conversation row until commit, so messages of one
    // conversation are recorded and decided one at a time.
    let conversation: Uuid = sqlx::query_scalar(
        "insert into conversations (id, owner_id, channel_id, customer_id, language, last_customer_at, last_message_at, last_risk) \
         values ($1, $2, $3, $4, coalesce($5::text, 'en'), $6, $6, $7) \
         on conflict (customer_id) do update set \
             language = coalesce($5::text, conversations.language), \
             last_customer_at = greatest(conversations.last_customer_at, excluded.last_customer_at), \
             last_message_at = greatest(conversations.last_message_at, excluded.last_message_at), \
             last_risk = coalesce(excluded.last_risk, conversations.last_risk) \
         returning id",
    )
    .bind(Uuid::new_v4())
    .bind(owner.as_uuid())
    .bind(incoming.channel)
    .bind(customer)
    .bind(language)
    .bind(incoming.sent_at)
    .bind(risk)
    .fetch_one(&mut *tx)
    .await?;
    let message = Uuid::new_v4();
    let body = incoming
        .text
        .as_ref()
        .map(|text| seal_text(keys, owner, "message", message, text));
    let categories: Vec<&str> =
        classification.map_or_else(Vec::new, |c| c.categories.iter().map(|r| r.as_str()).collect());
    sqlx::query(
        "insert into messages (id, owner_id, conversation_id, direction, author, kind, body_enc, inbound_id, \
                               provider_message_id, risk, categories, language, created_at) \
         values ($1, $2, $3, 'in', 'customer', $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(message)
    .bind(owner.as_uuid())
    .bind(conversation)
    .bind(&incoming.kind)
    .bind(body)
    .bind(incoming.inbound_id)
    .bind(&incoming.provider_message_id)
    .bind(risk)
    .bind(&categories)
    .bind(classification.map(|c| c.language.as_str()))
    .bind(incoming.sent_at)
    .execute(&mut *tx)
    .await?;
    Ok(Recorded {
        message,
        conversation,
        new: true,
    })
}

/// The owner answered from Meta's own apps (an echo from another app):
/// recorded as the owner's message, and the conversation is handed to the
/// owner at once. Idempotent on the inbound id. Returns the conversation.
pub async fn record_owner_echo(
    tx: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    incoming: &Incoming,
) -> Result<Uuid, PipelineError> {
    if let Some(inbound) = incoming.inbound_id {
        let existing: Option<Uuid> = sqlx::query_scalar("select conversation_id from messages where inbound_id = $1")
            .bind(inbound)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(conversation) = existing {
            return Ok(conversation);
        }
    }
    let customer = customer_ids::upsert_customer(tx, keys, owner, incoming.channel, &incoming.sender_id).await?;
    let conversation: Uuid = sqlx::query_scalar(
        "insert into conversations (id, owner_id, channel_id, customer_id, mode, owner_active_at, last_message_at, last_note) \
         values ($1, $2, $3, $4, 'human', $5, $5, $6) \
         on conflict (customer_id) do update set mode = 'human', \
             owner_active_at = greatest(conversations.owner_active_at, excluded.owner_active_at), \
             last_message_at = greatest(conversations.last_message_at, excluded.last_message_at), \
             last_note = excluded.last_note \
         returning id",
    )
    .bind(Uuid::new_v4())
    .bind(owner.as_uuid())
    .bind(incoming.channel)
    .bind(customer)
    .bind(incoming.sent_at)
    .bind(TAKEN_OVER_IN_META_APP)
    .fetch_one(&mut *tx)
    .await?;
    let message = Uuid::new_v4();
    sqlx::query(
        "insert into messages (id, owner_id, conversation_id, direction, author, kind, body_enc, inbound_id, \
                               provider_message_id, decision, created_at) \
         values ($1, $2, $3, 'out', 'owner', 'text', $4, $5, $6, $8, $7)",
    )
    .bind(message)
    .bind(owner.as_uuid())
    .bind(conversation)
    .bind(
        incoming
            .text
            .as_ref()
            .map(|text| seal_text(keys, owner, "message", message, text)),
    )
    .bind(incoming.inbound_id)
    .bind(&incoming.provider_message_id)
    .bind(incoming.sent_at)
    .bind(SENT_FROM_META_APP)
    .execute(&mut *tx)
    .await?;
    Ok(conversation)
}

/// The decision noted on an owner's message seen as an echo.
pub const SENT_FROM_META_APP: &str = "sent from Meta's app";

/// Why the agent went quiet after the owner answered in Meta's apps.
pub const TAKEN_OVER_IN_META_APP: &str =
    "You answered from Facebook/Instagram, so the agent stays quiet in this conversation until you hand it back.";

/// A message that went out to the customer.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub conversation: Uuid,
    pub author: MessageAuthor,
    pub text: &'a str,
    pub provider_message_id: &'a str,
    pub at: OffsetDateTime,
}

/// Records a message sent to the customer (by the agent or the owner).
pub async fn record_outgoing_message(
    tx: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    sent: &Outgoing<'_>,
) -> Result<Uuid, PipelineError> {
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into messages (id, owner_id, conversation_id, direction, author, kind, body_enc, provider_message_id, \
                               decision, created_at) \
         values ($1, $2, $3, 'out', $4, 'text', $5, $6, '', $7)",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .bind(sent.conversation)
    .bind(sent.author)
    .bind(seal_text(keys, owner, "message", id, sent.text))
    .bind(sent.provider_message_id)
    .bind(sent.at)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update conversations set last_message_at = greatest(last_message_at, $2) where id = $1")
        .bind(sent.conversation)
        .bind(sent.at)
        .execute(&mut *tx)
        .await?;
    Ok(id)
}

/// Notes on a message what the pipeline decided for it, and on the
/// conversation why the agent did not answer (empty when it did).
pub async fn note_decision(
    tx: &mut PgConnection,
    message: Uuid,
    conversation: Uuid,
    decision: &str,
    conversation_note: &str,
) -> Result<(), PipelineError> {
    sqlx::query("update messages set decision = $2 where id = $1")
        .bind(message)
        .bind(decision)
        .execute(&mut *tx)
        .await?;
    sqlx::query("update conversations set last_note = $2 where id = $1")
        .bind(conversation)
        .bind(conversation_note)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The engine's memory of a conversation from its sealed column
/// (`conversations.state_enc`, read by the caller's own query).
pub fn open_state(
    keys: &DataKeys,
    owner: OwnerId,
    conversation: Uuid,
    sealed: Option<&[u8]>,
) -> Result<ConversationState, PipelineError> {
    Ok(match sealed {
        Some(bytes) => {
            let plain = keys.open(bytes, &sealed_context(owner, "conversation-state", conversation))?;
            serde_json::from_slice(&plain).unwrap_or_default()
        }
        None => ConversationState::default(),
    })
}

/// Saves the engine's memory of a conversation.
pub async fn save_state(
    tx: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    conversation: Uuid,
    state: &ConversationState,
) -> Result<(), PipelineError> {
    let plain = serde_json::to_vec(state).map_err(|e| PipelineError::Invalid(e.to_string()))?;
    let sealed = keys.seal(&plain, &sealed_context(owner, "conversation-state", conversation));
    sqlx::query("update conversations set state_enc = $2 where id = $1")
        .bind(conversation)
        .bind(sealed)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// A case for the owner's review queue.
#[derive(Debug, Clone, Copy)]
pub struct NewReview<'a> {
    pub conversation: Uuid,
    /// The customer message it is about, if any.
    pub message: Option<Uuid>,
    pub reason: ReviewReason,
    /// Why, in words for the owner.
    pub detail: &'a str,
    /// A reply the owner may approve or edit.
    pub draft: Option<&'a str>,
}

/// Puts a message in the owner's review queue (once per message and reason).
pub async fn open_review(
    tx: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    review: &NewReview<'_>,
) -> Result<Uuid, PipelineError> {
    let id = Uuid::new_v4();
    let draft = review.draft.map(|d| seal_text(keys, owner, "review-draft", id, d));
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "insert into review_items (id, owner_id, conversation_id, message_id, reason, detail, draft_enc) \
         values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict (message_id, reason) where message_id is not null do nothing returning id",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .bind(review.conversation)
    .bind(review.message)
    .bind(review.reason)
    .bind(review.detail.chars().take(1000).collect::<String>())
    .bind(draft)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(inserted.unwrap_or(id))
}

/// How a customer is shown: their profile name when Meta gave one, else a
/// masked id (never the full phone number of a WhatsApp customer).
fn customer_label(name: Option<String>, sender_id: &str) -> String {
    match name {
        Some(name) if !name.trim().is_empty() => name,
        _ => {
            let tail: String = sender_id
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("Customer ••{tail}")
        }
    }
}

/// One line of the inbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InboxRow {
    pub conversation: Uuid,
    pub customer: String,
    pub channel: String,
    pub platform: ChannelPlatform,
    /// `token_invalid` or `disconnected`: the inbox says the channel needs reconnecting.
    pub channel_status: ChannelStatus,
    pub last_message_at: OffsetDateTime,
    /// The last message, cut short.
    pub preview: String,
    pub last_risk: Option<String>,
    pub mode: ConversationMode,
    pub window_open: bool,
    pub open_reviews: i64,
    pub note: String,
}

pub const INBOX_PAGE: i64 = 50;

fn preview(text: Option<String>, kind: &str) -> String {
    match text {
        Some(text) => {
            let cut: String = text.chars().take(80).collect();
            if cut.len() < text.len() {
                format!("{cut}…")
            } else {
                cut
            }
        }
        None => format!("[{kind}]"),
    }
}

/// The owner's conversations, most recent first.
pub async fn inbox(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    now: OffsetDateTime,
    page: Page,
) -> Result<Vec<InboxRow>, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    // The page of conversations is chosen first, from the inbox index, so the
    // joins and the last-message lookups run for those 50 rows only, however
    // many conversations the owner has.
    let rows: Vec<InboxRecord> = sqlx::query_as(
        "select c.id, cu.sender_enc, cu.name_enc, cu.id as customer, ch.display_name, ch.platform, \
                ch.status as channel_status, c.last_message_at, c.last_risk, c.mode, c.last_customer_at, c.last_note, \
                (select count(*) from review_items r where r.conversation_id = c.id and r.state = 'open') as open_reviews, \
                lm.id as last_id, lm.kind as last_kind, lm.body_enc as last_body \
           from (select * from conversations where owner_id = $1 \
                  order by last_message_at desc limit $2 offset $3) c \
           join customers cu on cu.id = c.customer_id join channels ch on ch.id = c.channel_id \
           left join lateral (select m.id, m.kind, m.body_enc from messages m \
                               where m.owner_id = $1 and m.conversation_id = c.id \
                               order by m.created_at desc limit 1) lm on true \
          order by c.last_message_at desc",
    )
    .bind(owner.as_uuid())
    .bind(INBOX_PAGE)
    .bind(page.offset(INBOX_PAGE))
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    rows.into_iter()
        .map(|row| {
            let name = open_text(keys, owner, "customer-name", row.customer, row.name_enc.as_deref())?;
            let preview = match row.last_id {
                Some(message) => preview(
                    open_text(keys, owner, "message", message, row.last_body.as_deref())?,
                    row.last_kind.as_deref().unwrap_or("text"),
                ),
                None => String::new(),
            };
            Ok(InboxRow {
                conversation: row.id,
                customer: customer_label(
                    name,
                    &open_text(keys, owner, CUSTOMER_SENDER, row.customer, row.sender_enc.as_deref())?
                        .unwrap_or_default(),
                ),
                channel: row.display_name,
                platform: row.platform,
                channel_status: row.channel_status,
                last_message_at: row.last_message_at,
                preview,
                last_risk: row.last_risk,
                mode: row.mode,
                window_open: row.last_customer_at.is_some_and(|at| now - at <= MESSAGING_WINDOW),
                open_reviews: row.open_reviews,
                note: row.last_note,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct InboxRecord {
    id: Uuid,
    sender_enc: Option<Vec<u8>>,
    name_enc: Option<Vec<u8>>,
    customer: Uuid,
    display_name: String,
    platform: ChannelPlatform,
    channel_status: ChannelStatus,
    last_message_at: OffsetDateTime,
    last_risk: Option<String>,
    mode: ConversationMode,
    last_customer_at: Option<OffsetDateTime>,
    last_note: String,
    open_reviews: i64,
    last_id: Option<Uuid>,
    last_kind: Option<String>,
    last_body: Option<Vec<u8>>,
}

/// One message as the owner reads it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MessageView {
    pub id: Uuid,
    pub direction: String,
    pub author: MessageAuthor,
    pub kind: String,
    pub text: Option<String>,
    pub risk: Option<String>,
    pub categories: Vec<String>,
    pub decision: String,
    pub at: OffsetDateTime,
}

/// A conversation with its messages, for the owner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConversationView {
    pub id: Uuid,
    pub customer: String,
    pub channel: String,
    pub platform: ChannelPlatform,
    pub channel_status: ChannelStatus,
    pub mode: ConversationMode,
    pub language: String,
    pub window_open: bool,
    pub window_closes_at: Option<OffsetDateTime>,
    pub note: String,
    pub messages: Vec<MessageView>,
    /// Sends that did not go out, with why.
    pub problems: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct ConversationHead {
    sender_enc: Option<Vec<u8>>,
    name_enc: Option<Vec<u8>>,
    customer: Uuid,
    display_name: String,
    platform: ChannelPlatform,
    channel_status: ChannelStatus,
    mode: ConversationMode,
    language: String,
    last_customer_at: Option<OffsetDateTime>,
    last_note: String,
}

/// The last this many messages of a conversation are shown.
pub const CONVERSATION_MESSAGES: i64 = 200;

pub async fn conversation(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<ConversationView, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let head: Option<ConversationHead> = sqlx::query_as(
        "select cu.sender_enc, cu.name_enc, cu.id as customer, ch.display_name, ch.platform, ch.status as channel_status, \
                c.mode, c.language, c.last_customer_at, c.last_note \
           from conversations c join customers cu on cu.id = c.customer_id join channels ch on ch.id = c.channel_id \
          where c.id = $1 and c.owner_id = $2",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let head = head.ok_or(PipelineError::NotFound)?;
    type MessageRow = (
        Uuid,
        String,
        MessageAuthor,
        String,
        Option<Vec<u8>>,
        Option<String>,
        Vec<String>,
        String,
        OffsetDateTime,
    );
    let mut rows: Vec<MessageRow> = sqlx::query_as(
        "select id, direction, author, kind, body_enc, risk, categories, decision, created_at from messages \
          where conversation_id = $1 and owner_id = $2 order by created_at desc, id limit $3",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .bind(CONVERSATION_MESSAGES)
    .fetch_all(&mut *tx)
    .await?;
    rows.reverse();
    let problems: Vec<(SendState, Option<String>, Option<String>)> = sqlx::query_as(
        "select state, blocked_by, error from outbound_sends \
          where conversation_id = $1 and owner_id = $2 and state in ('blocked', 'failed', 'uncertain') \
          order by created_at desc limit 5",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    let messages = rows
        .into_iter()
        .map(
            |(message, direction, author, kind, body, risk, categories, decision, at)| {
                Ok(MessageView {
                    id: message,
                    direction,
                    author,
                    kind,
                    text: open_text(keys, owner, "message", message, body.as_deref())?,
                    risk,
                    categories,
                    decision,
                    at,
                })
            },
        )
        .collect::<Result<Vec<_>, PipelineError>>()?;
    Ok(ConversationView {
        id,
        customer: customer_label(
            open_text(keys, owner, "customer-name", head.customer, head.name_enc.as_deref())?,
            &open_text(keys, owner, CUSTOMER_SENDER, head.customer, head.sender_enc.as_deref())?.unwrap_or_default(),
        ),
        channel: head.display_name,
        platform: head.platform,
        channel_status: head.channel_status,
        mode: head.mode,
        language: head.language,
        window_open: head.last_customer_at.is_some_and(|at| now - at <= MESSAGING_WINDOW),
        window_closes_at: head.last_customer_at.map(|at| at + MESSAGING_WINDOW),
        note: head.last_note,
        messages,
        problems: problems
            .into_iter()
            .map(|(state, gate, error)| match (state, gate, error) {
                (SendState::Blocked, Some(gate), _) => format!("A reply was held back: {gate}"),
                (SendState::Uncertain, _, _) => "A reply may or may not have reached the customer (interrupted while sending); it was not sent again.".to_owned(),
                (_, _, Some(error)) => format!("A reply could not be sent: {error}"),
                _ => "A reply could not be sent.".to_owned(),
            })
            .collect(),
    })
}

/// Hands a conversation to the owner (`human`) or back to the agent (`agent`).
pub async fn set_mode(
    pool: &PgPool,
    owner: OwnerId,
    conversation: Uuid,
    mode: ConversationMode,
    actor: Uuid,
    meta: &RequestMeta,
) -> Result<(), PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let changed = sqlx::query(
        "update conversations set mode = $3, \
                owner_active_at = case when $3 = 'human' then now() else owner_active_at end, \
                last_note = case when $3 = 'human' then 'You took over this conversation.' else '' end \
          where id = $1 and owner_id = $2",
    )
    .bind(conversation)
    .bind(owner.as_uuid())
    .bind(mode)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(PipelineError::NotFound);
    }
    audit::record(
        &mut *tx,
        match mode {
            ConversationMode::Human => AuditKind::ConversationTakenOver,
            ConversationMode::Agent => AuditKind::ConversationHandedBack,
        },
        Some(owner.as_uuid()),
        Some(actor),
        meta,
        serde_json::json!({ "conversation": conversation }),
    )
    .await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// One open case of the review queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReviewRow {
    pub id: Uuid,
    pub conversation: Uuid,
    pub customer: String,
    pub reason: ReviewReason,
    pub detail: String,
    pub message: Option<String>,
    pub draft: Option<String>,
    pub at: OffsetDateTime,
}

/// Open review cases the review page shows at once, oldest first.
pub const REVIEW_PAGE: i64 = 50;

/// The oldest [`REVIEW_PAGE`] open review cases (answer in order), and how
/// many are open in all.
pub async fn review_queue(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
) -> Result<(Vec<ReviewRow>, i64), PipelineError> {
    let rows = open_cases(pool, keys, owner, None).await?;
    let open = if (rows.len() as i64) < REVIEW_PAGE {
        rows.len() as i64
    } else {
        let mut tx = begin_tenant_tx(pool, owner).await?;
        let open: i64 = sqlx::query_scalar("select count(*) from review_items where owner_id = $1 and state = 'open'")
            .bind(owner.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
        crate::db::commit(tx).await?;
        open
    };
    Ok((rows, open))
}

/// Open review cases, all of them or only `only` (decrypting nothing else).
async fn open_cases(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    only: Option<Uuid>,
) -> Result<Vec<ReviewRow>, PipelineError> {
    type Row = (
        Uuid,
        Uuid,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Uuid,
        ReviewReason,
        String,
        Option<Vec<u8>>,
        Option<Uuid>,
        Option<Vec<u8>>,
        OffsetDateTime,
    );
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let rows: Vec<Row> = sqlx::query_as(
        "select r.id, r.conversation_id, cu.sender_enc, cu.name_enc, cu.id, r.reason, r.detail, r.draft_enc, \
                r.message_id, m.body_enc, r.created_at \
           from (select * from review_items where owner_id = $1 and state = 'open' \
                   and ($2::uuid is null or id = $2) order by created_at limit $3) r \
           join lateral (select customer_id from conversations where id = r.conversation_id and owner_id = $1) c \
             on true \
           join customers cu on cu.id = c.customer_id left join messages m on m.id = r.message_id \
          order by r.created_at",
    )
    .bind(owner.as_uuid())
    .bind(only)
    .bind(REVIEW_PAGE)
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    rows.into_iter()
        .map(
            |(id, conversation, sender, name, customer, reason, detail, draft, message, body, at)| {
                Ok(ReviewRow {
                    id,
                    conversation,
                    customer: customer_label(
                        open_text(keys, owner, "customer-name", customer, name.as_deref())?,
                        &open_text(keys, owner, CUSTOMER_SENDER, customer, sender.as_deref())?.unwrap_or_default(),
                    ),
                    reason,
                    detail,
                    message: match message {
                        Some(message) => open_text(keys, owner, "message", message, body.as_deref())?,
                        None => None,
                    },
                    draft: open_text(keys, owner, "review-draft", id, draft.as_deref())?,
                    at,
                })
            },
        )
        .collect()
}

/// An open review case as staff see it in lists: no body, no customer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseSummary {
    pub id: Uuid,
    pub reason: ReviewReason,
    pub created_at: OffsetDateTime,
}

/// The owner's open review cases, for staff: reasons and times only.
pub async fn case_summaries(pool: &PgPool, owner: OwnerId) -> Result<Vec<CaseSummary>, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let rows = sqlx::query_as(
        "select id, reason, created_at from review_items where owner_id = $1 and state = 'open' \
          order by created_at desc limit 100",
    )
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    Ok(rows)
}

/// Staff open one review case with its message and draft. Opening is itself
/// audited (who, which case, from where) before anything is shown.
pub async fn staff_open_case(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    case: Uuid,
    staff: Uuid,
    meta: &RequestMeta,
) -> Result<ReviewRow, PipelineError> {
    let row = open_cases(pool, keys, owner, Some(case))
        .await?
        .into_iter()
        .next()
        .ok_or(PipelineError::NotFound)?;
    audit::record(
        pool,
        AuditKind::StaffOpenedReviewCase,
        Some(owner.as_uuid()),
        Some(staff),
        meta,
        serde_json::json!({ "case": case, "reason": row.reason }),
    )
    .await?;
    Ok(row)
}

/// Closes a review case as dismissed (nothing sent).
pub async fn dismiss_review(
    pool: &PgPool,
    owner: OwnerId,
    id: Uuid,
    actor: Uuid,
    now: OffsetDateTime,
) -> Result<(), PipelineError> {
    close_review(pool, owner, id, "dismissed", actor, now).await.map(|_| ())
}

/// Marks a case resolved; returns its conversation. Only an open case closes.
pub(crate) async fn close_review(
    pool: &PgPool,
    owner: OwnerId,
    id: Uuid,
    state: &str,
    actor: Uuid,
    now: OffsetDateTime,
) -> Result<Uuid, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let conversation: Option<Uuid> = sqlx::query_scalar(
        "update review_items set state = $3, resolved_at = $5, resolved_by = $4 \
          where id = $1 and owner_id = $2 and state = 'open' returning conversation_id",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .bind(state)
    .bind(actor)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    conversation.ok_or(PipelineError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_without_a_name_are_shown_by_a_masked_id() {
        assert_eq!(customer_label(None, "8801712345678"), "Customer ••5678");
        assert_eq!(customer_label(Some("  ".into()), "12"), "Customer ••12");
        assert_eq!(customer_label(Some("Rahim".into()), "8801712345678"), "Rahim");
    }

    #[test]
    fn previews_are_cut_on_characters_not_bytes() {
        let long = "দাম কত ".repeat(30);
        let cut = preview(Some(long), "text");
        assert!(cut.ends_with('…'));
        assert_eq!(cut.chars().count(), 81);
        assert_eq!(preview(None, "image"), "[image]");
    }
}
