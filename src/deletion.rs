//! Customer data deletion and retention.
//!
//! Deleting a customer removes their profile, conversations, messages,
//! drafts, review cases and sends, the global inbound rows that still name
//! them, and the personal fields of their orders (the orders keep items and
//! amounts for the owner's accounts). The same routine serves the owner's
//! button, staff acting on a verified request, and Meta's data deletion
//! callback. Retention is part of the periodic cleanup (`cleanup`), which
//! only ever logs counts.

use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, AuditKind, RequestMeta};
use crate::auth::accounts::Role;
use crate::auth::authority::{AuthorityError, authorize};
use crate::channels::ChannelPlatform;
use crate::conversations::PipelineError;
use crate::crypto::DataKeys;
use crate::customer_ids;
use crate::tenancy::{OwnerId, begin_tenant_tx};

/// What one deletion removed (counts only: safe to log and audit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeletionReport {
    pub customers: u64,
    pub messages: u64,
    pub orders_anonymised: u64,
    pub inbound_rows: u64,
}

impl std::ops::AddAssign for DeletionReport {
    fn add_assign(&mut self, other: Self) {
        self.customers += other.customers;
        self.messages += other.messages;
        self.orders_anonymised += other.orders_anonymised;
        self.inbound_rows += other.inbound_rows;
    }
}

/// Deletes one customer inside the caller's tenant transaction.
async fn delete_in(
    tx: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    customer: Uuid,
) -> Result<DeletionReport, PipelineError> {
    let found: Option<(Vec<u8>, Vec<u8>, ChannelPlatform, String)> = sqlx::query_as(
        "select cu.sender_hash, cu.sender_enc, ch.platform, ch.meta_id \
           from customers cu join channels ch on ch.id = cu.channel_id \
          where cu.id = $1 and cu.owner_id = $2 for update of cu",
    )
    .bind(customer)
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let (stored_hash, sealed, platform, channel_meta_id) = found.ok_or(PipelineError::NotFound)?;
    // The global ingest rows that name the customer: those recorded as their
    // messages (found by the link, whatever key hashed them), and any not
    // recorded yet, by the customer's hash under every configured key. An id
    // that does not open still leaves the stored hash to search by.
    let mut hashes = customer_ids::open_customer(keys, owner, customer, &sealed)
        .map(|sender| keys.lookup_hashes(&sender))
        .unwrap_or_default();
    hashes.push(stored_hash);
    let recorded = sqlx::query(
        "delete from inbound_messages \
          where id in (select m.inbound_id from messages m where m.owner_id = $1 and m.inbound_id is not null \
                         and m.conversation_id in (select id from conversations where customer_id = $2))",
    )
    .bind(owner.as_uuid())
    .bind(customer)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let waiting = sqlx::query(
        "delete from inbound_messages where sender_hash = any($3) and platform = $1 and channel_meta_id = $2",
    )
    .bind(platform)
    .bind(&channel_meta_id)
    .bind(&hashes)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let inbound_rows = recorded + waiting;
    let orders_anonymised = sqlx::query(
        "update orders set customer_name_enc = null, phone_enc = null, address_enc = null, conversation_id = null, \
                updated_at = now() \
          where owner_id = $1 and conversation_id in (select id from conversations where customer_id = $2)",
    )
    .bind(owner.as_uuid())
    .bind(customer)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let messages = sqlx::query(
        "delete from messages where owner_id = $1 \
            and conversation_id in (select id from conversations where customer_id = $2)",
    )
    .bind(owner.as_uuid())
    .bind(customer)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // Conversations, review cases and sends go with the customer (cascades).
    sqlx::query("delete from customers where id = $1 and owner_id = $2")
        .bind(customer)
        .bind(owner.as_uuid())
        .execute(&mut *tx)
        .await?;
    Ok(DeletionReport {
        customers: 1,
        messages,
        orders_anonymised,
        inbound_rows,
    })
}

/// Deletes one customer's data, audited with counts only. `actor` is the
/// owner or the staff member; `why` says on what basis (shown in the audit log).
pub async fn delete_customer(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    customer: Uuid,
    actor: Option<Uuid>,
    why: &str,
    meta: &RequestMeta,
) -> Result<DeletionReport, PipelineError> {
    // The agent may be answering this customer at this very moment: a
    // conflict with its transaction (a deadlock, or a message it added
    // after ours were deleted) is resolved by deleting again, which then
    // takes that message too.
    let mut attempt = 0u32;
    loop {
        match delete_customer_once(pool, keys, owner, customer, actor, why, meta).await {
            Err(PipelineError::Database(error)) if attempt < DELETE_ATTEMPTS && races_the_agent(&error) => {
                attempt += 1;
                tracing::info!(attempt, "customer deletion raced the pipeline; deleting again");
                tokio::time::sleep(std::time::Duration::from_millis(25 * u64::from(attempt))).await;
            }
            outcome => return outcome,
        }
    }
}

/// Attempts at a deletion that lost a race with the pipeline.
const DELETE_ATTEMPTS: u32 = 5;

/// A deadlock or serialization failure, or a row referencing one of ours
/// that appeared meanwhile (foreign key violation).
fn races_the_agent(error: &sqlx::Error) -> bool {
    crate::ingest::is_transient_conflict(error)
        || matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("23503"))
}

async fn delete_customer_once(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    customer: Uuid,
    actor: Option<Uuid>,
    why: &str,
    meta: &RequestMeta,
) -> Result<DeletionReport, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let report = delete_in(&mut tx, keys, owner, customer).await?;
    audit::record(
        &mut *tx,
        AuditKind::CustomerDataDeleted,
        Some(owner.as_uuid()),
        actor,
        meta,
        json!({ "customer": customer, "why": why, "report": report }),
    )
    .await?;
    crate::db::commit(tx).await?;
    Ok(report)
}

/// The customer a conversation belongs to (the owner's button is on the conversation page).
pub async fn customer_of_conversation(
    pool: &PgPool,
    owner: OwnerId,
    conversation: Uuid,
) -> Result<Uuid, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let customer: Option<Uuid> =
        sqlx::query_scalar("select customer_id from conversations where id = $1 and owner_id = $2")
            .bind(conversation)
            .bind(owner.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    crate::db::commit(tx).await?;
    customer.ok_or(PipelineError::NotFound)
}

/// Staff, on a verified request: the customer of `owner` with this
/// platform-scoped id (what the person can prove: their WhatsApp number or
/// the id Meta gave the shop), found by its keyed hash.
pub async fn customer_by_sender(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    sender_id: &str,
) -> Result<Vec<Uuid>, PipelineError> {
    // As Meta writes it: a WhatsApp number without `+`, spaces or dashes.
    let sender_id: String = sender_id
        .trim()
        .trim_start_matches('+')
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if sender_id.is_empty() || sender_id.len() > 64 {
        return Err(PipelineError::Invalid(
            "Enter the customer's id or WhatsApp number.".into(),
        ));
    }
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let ids = sqlx::query_scalar("select id from customers where owner_id = $1 and sender_hash = any($2)")
        .bind(owner.as_uuid())
        .bind(keys.lookup_hashes(&sender_id))
        .fetch_all(&mut *tx)
        .await?;
    crate::db::commit(tx).await?;
    Ok(ids)
}

/// Staff, on a verified request: deletes every customer of `owner` with this
/// platform-scoped id (see [`customer_by_sender`]), audited with the
/// request's reference. `actor` must be allowed to act on the owner
/// ([`crate::auth::authority`]). Returns what was deleted; no customer with
/// that id is an `Invalid` answer, so nothing is reported deleted that wasn't.
pub async fn staff_delete_customer(
    pool: &PgPool,
    keys: &DataKeys,
    actor: Uuid,
    owner: Uuid,
    sender_id: &str,
    request: &str,
    meta: &RequestMeta,
) -> Result<DeletionReport, PipelineError> {
    let request = request.trim();
    if request.is_empty() || request.chars().count() > 200 {
        return Err(PipelineError::Invalid(
            "Give the verified request's reference (up to 200 characters).".into(),
        ));
    }
    let mut tx = crate::db::begin(pool).await?;
    let role = authorize(&mut tx, actor, owner).await.map_err(|error| match error {
        AuthorityError::NotFound => PipelineError::NotFound,
        AuthorityError::Refused(refusal) => PipelineError::Refused(refusal.to_string()),
        AuthorityError::Database(error) => PipelineError::Database(error),
    })?;
    crate::db::commit(tx).await?;
    if role != Role::Owner {
        return Err(PipelineError::NotFound);
    }
    let owner = OwnerId::from_verified(owner);
    let customers = customer_by_sender(pool, keys, owner, sender_id).await?;
    if customers.is_empty() {
        return Err(PipelineError::Invalid(
            "This owner has no customer with that id.".into(),
        ));
    }
    let why = format!("verified request {request}");
    let mut total = DeletionReport::default();
    for customer in customers {
        let report = delete_customer(pool, keys, owner, customer, Some(actor), &why, meta).await?;
        total += report;
    }
    Ok(total)
}

/// Every customer who wrote to `channel` (Meta's data deletion callback for
/// the person who granted it: the data we got through it goes).
pub async fn delete_channel_customers(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    channel: Uuid,
    why: &str,
) -> Result<DeletionReport, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let customers: Vec<Uuid> = sqlx::query_scalar("select id from customers where owner_id = $1 and channel_id = $2")
        .bind(owner.as_uuid())
        .bind(channel)
        .fetch_all(&mut *tx)
        .await?;
    crate::db::commit(tx).await?;
    let mut total = DeletionReport::default();
    for customer in customers {
        let report = delete_customer(pool, keys, owner, customer, None, why, &RequestMeta::default()).await?;
        total += report;
    }
    Ok(total)
}

// ------------------------------------------------------------------ retention

/// How long data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Message bodies (and drafts of sends) older than this are erased.
    pub message_days: i64,
    /// Closed review cases older than this are deleted.
    pub review_days: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            message_days: 180,
            review_days: 90,
        }
    }
}

/// What a retention run purged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub message_bodies: u64,
    pub send_bodies: u64,
    pub review_cases: u64,
    /// Channel choices the owner never finished (they expire after 15 minutes).
    pub pending_connections: u64,
    pub inspection_rows: u64,
    /// Unmatched and processed deliveries (processed ones hold ids only).
    pub old_inbound: u64,
}

/// Purges old bodies, closed cases and expired channel choices for every
/// owner, then the global leftovers (deliveries and inspection copies past
/// the message period). Part of the periodic cleanup (`cleanup::run_once`),
/// which logs the counts.
pub async fn purge(pool: &PgPool, retention: Retention, now: OffsetDateTime) -> Result<PurgeReport, sqlx::Error> {
    let messages_before = now - time::Duration::days(retention.message_days);
    let reviews_before = now - time::Duration::days(retention.review_days);
    let owners: Vec<Uuid> = sqlx::query_scalar("select id from accounts where role = 'owner'")
        .fetch_all(pool)
        .await?;
    let mut report = PurgeReport::default();
    for owner in owners {
        let owner = OwnerId::from_verified(owner);
        let mut tx = begin_tenant_tx(pool, owner).await?;
        report.message_bodies += sqlx::query(
            "update messages set body_enc = null where owner_id = $1 and created_at < $2 and body_enc is not null",
        )
        .bind(owner.as_uuid())
        .bind(messages_before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        report.send_bodies += sqlx::query(
            "update outbound_sends set body_enc = null where owner_id = $1 and created_at < $2 and body_enc is not null",
        )
        .bind(owner.as_uuid())
        .bind(messages_before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        report.review_cases += sqlx::query(
            "delete from review_items where owner_id = $1 and state <> 'open' and coalesce(resolved_at, created_at) < $2",
        )
        .bind(owner.as_uuid())
        .bind(reviews_before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        report.pending_connections +=
            sqlx::query("delete from pending_connections where owner_id = $1 and expires_at < $2")
                .bind(owner.as_uuid())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        crate::db::commit(tx).await?;
    }
    report.inspection_rows = sqlx::query("delete from webhook_inspection where received_at < $1")
        .bind(messages_before)
        .execute(pool)
        .await?
        .rows_affected();
    report.old_inbound =
        sqlx::query("delete from inbound_messages where state in ('unmatched', 'processed') and received_at < $1")
            .bind(messages_before)
            .execute(pool)
            .await?
            .rows_affected();
    Ok(report)
}
