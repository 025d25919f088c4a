//! Customer data deletion and retention.
//!
//! Deleting a customer removes their profile, conversations, messages,
//! drafts, review cases and sends, the global inbound rows that still name
//! them, and the personal fields of their orders (the orders keep items and
//! amounts for the owner's accounts). The same routine serves the owner's
//! button, staff acting on a verified request, and Meta's data deletion
//! callback. Retention runs daily as a job and only ever logs counts.

use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, RequestMeta};
use crate::auth::accounts::Role;
use crate::auth::authority::{AuthorityError, authorize};
use crate::conversations::PipelineError;
use crate::jobs;
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
async fn delete_in(tx: &mut PgConnection, owner: OwnerId, customer: Uuid) -> Result<DeletionReport, PipelineError> {
    let found: Option<(String, String, String)> = sqlx::query_as(
        "select cu.sender_id, ch.platform, ch.meta_id from customers cu join channels ch on ch.id = cu.channel_id \
          where cu.id = $1 and cu.owner_id = $2 for update of cu",
    )
    .bind(customer)
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let (sender_id, platform, channel_meta_id) = found.ok_or(PipelineError::NotFound)?;
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
    // The global ingest rows still carry the sender id (a WhatsApp number).
    let inbound_rows =
        sqlx::query("delete from inbound_messages where platform = $1 and channel_meta_id = $2 and sender_id = $3")
            .bind(&platform)
            .bind(&channel_meta_id)
            .bind(&sender_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
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
    owner: OwnerId,
    customer: Uuid,
    actor: Option<Uuid>,
    why: &str,
    meta: &RequestMeta,
) -> Result<DeletionReport, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let report = delete_in(&mut tx, owner, customer).await?;
    audit::record(
        &mut *tx,
        "customer_data_deleted",
        Some(owner.as_uuid()),
        actor,
        meta,
        json!({ "customer": customer, "why": why, "report": report }),
    )
    .await?;
    tx.commit().await?;
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
    tx.commit().await?;
    customer.ok_or(PipelineError::NotFound)
}

/// Staff, on a verified request: the customer of `owner` with this
/// platform-scoped id (what the person can prove: their WhatsApp number or
/// the id Meta gave the shop).
pub async fn customer_by_sender(pool: &PgPool, owner: OwnerId, sender_id: &str) -> Result<Vec<Uuid>, PipelineError> {
    let sender_id = sender_id.trim().trim_start_matches('+');
    if sender_id.is_empty() || sender_id.len() > 64 {
        return Err(PipelineError::Invalid(
            "Enter the customer's id or WhatsApp number.".into(),
        ));
    }
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let ids = sqlx::query_scalar("select id from customers where owner_id = $1 and sender_id = $2")
        .bind(owner.as_uuid())
        .bind(sender_id)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids)
}

/// Staff, on a verified request: deletes every customer of `owner` with this
/// platform-scoped id (see [`customer_by_sender`]), audited with the
/// request's reference. `actor` must be allowed to act on the owner
/// ([`crate::auth::authority`]). Returns what was deleted; no customer with
/// that id is an `Invalid` answer, so nothing is reported deleted that wasn't.
pub async fn staff_delete_customer(
    pool: &PgPool,
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
    let mut tx = pool.begin().await?;
    let role = authorize(&mut tx, actor, owner).await.map_err(|error| match error {
        AuthorityError::NotFound => PipelineError::NotFound,
        AuthorityError::Refused(refusal) => PipelineError::Refused(refusal.to_string()),
        AuthorityError::Database(error) => PipelineError::Database(error),
    })?;
    tx.commit().await?;
    if role != Role::Owner {
        return Err(PipelineError::NotFound);
    }
    let owner = OwnerId::from_verified(owner);
    let customers = customer_by_sender(pool, owner, sender_id).await?;
    if customers.is_empty() {
        return Err(PipelineError::Invalid(
            "This owner has no customer with that id.".into(),
        ));
    }
    let why = format!("verified request {request}");
    let mut total = DeletionReport::default();
    for customer in customers {
        let report = delete_customer(pool, owner, customer, Some(actor), &why, meta).await?;
        total += report;
    }
    Ok(total)
}

/// Every customer who wrote to `channel` (Meta's data deletion callback for
/// the person who granted it: the data we got through it goes).
pub async fn delete_channel_customers(
    pool: &PgPool,
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
    tx.commit().await?;
    let mut total = DeletionReport::default();
    for customer in customers {
        let report = delete_customer(pool, owner, customer, None, why, &RequestMeta::default()).await?;
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
    pub inspection_rows: u64,
    pub unmatched_inbound: u64,
}

pub const RETENTION_JOB: &str = "retention_purge";

/// Purges old bodies and closed cases for every owner, then the global
/// leftovers (unmatched deliveries and inspection copies past the message
/// period). Counts only are returned and logged.
pub async fn purge(pool: &PgPool, retention: Retention, now: OffsetDateTime) -> Result<PurgeReport, PipelineError> {
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
        tx.commit().await?;
    }
    report.inspection_rows = sqlx::query("delete from webhook_inspection where received_at < $1")
        .bind(messages_before)
        .execute(pool)
        .await?
        .rows_affected();
    report.unmatched_inbound =
        sqlx::query("delete from inbound_messages where state = 'unmatched' and received_at < $1")
            .bind(messages_before)
            .execute(pool)
            .await?
            .rows_affected();
    tracing::info!(
        message_bodies = report.message_bodies,
        send_bodies = report.send_bodies,
        review_cases = report.review_cases,
        inspection_rows = report.inspection_rows,
        unmatched_inbound = report.unmatched_inbound,
        "retention purge finished"
    );
    Ok(report)
}

/// Queues today's retention run (once per day, whichever instance starts first).
pub async fn schedule(pool: &PgPool, now: OffsetDateTime, delay: std::time::Duration) -> Result<(), sqlx::Error> {
    let day = (crate::pipeline::gates::shop_day_start(now) + time::Duration::hours(12)).date();
    jobs::enqueue_after(
        pool,
        RETENTION_JOB,
        &json!({}),
        Some(&format!("retention:{day}")),
        delay,
    )
    .await?;
    Ok(())
}
