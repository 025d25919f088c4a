//! Customers' platform ids at rest.
//!
//! A customer is known by the id Meta gives them: a Page- or
//! Instagram-scoped id, or on WhatsApp their phone number. None is stored in
//! clear. Every row that names a customer keeps
//!
//! - `sender_hash`, the keyed lookup hash ([`DataKeys::lookup_hash`]) that
//!   finds the customer's rows: one customer per channel and hash, deletion,
//!   staff looking a customer up by the number a person gives them;
//! - `sender_enc`, the id sealed to its row, opened to send a reply and to
//!   show its last digits.
//!
//! The global `inbound_messages` row holds both until the message is recorded
//! for the owner, then only the hash (a deletion still finds it).
//!
//! Rows written before this existed keep the id in `legacy_sender_id` until
//! [`backfill`] rewrites them, once, when the new version starts (SQL cannot:
//! it has no key). [`rotate`] rewrites hashes and ciphertexts made under an
//! older data key (`bikriagent rotate-keys`); until then lookups also match
//! hashes of older keys ([`DataKeys::lookup_hashes`]), so a new key never
//! splits a customer in two.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::conversations::sealed_context;
use crate::crypto::{CryptoError, DataKeys};
use crate::tenancy::{OwnerId, begin_tenant_tx};

/// What a customer's sealed id is bound to (with the owner and the customer row).
pub const CUSTOMER_SENDER: &str = "customer-sender";

/// What an inbound row's sealed sender id is bound to.
pub fn inbound_context(inbound: Uuid) -> String {
    format!("inbound:{inbound}:sender")
}

/// The lookup hash and the sealed id of an inbound row's sender.
pub fn seal_inbound(keys: &DataKeys, inbound: Uuid, sender: &str) -> (Vec<u8>, Vec<u8>) {
    (
        keys.lookup_hash(sender),
        keys.seal(sender.as_bytes(), &inbound_context(inbound)),
    )
}

/// Opens an inbound row's sealed sender id.
pub fn open_inbound(keys: &DataKeys, inbound: Uuid, sealed: &[u8]) -> Result<String, CryptoError> {
    let plain = keys.open(sealed, &inbound_context(inbound))?;
    String::from_utf8(plain).map_err(|_| CryptoError::Malformed)
}

/// The sealed id of a customer row.
pub fn seal_customer(keys: &DataKeys, owner: OwnerId, customer: Uuid, sender: &str) -> Vec<u8> {
    keys.seal(sender.as_bytes(), &sealed_context(owner, CUSTOMER_SENDER, customer))
}

/// Opens a customer row's sealed id.
pub fn open_customer(keys: &DataKeys, owner: OwnerId, customer: Uuid, sealed: &[u8]) -> Result<String, CryptoError> {
    let plain = keys.open(sealed, &sealed_context(owner, CUSTOMER_SENDER, customer))?;
    String::from_utf8(plain).map_err(|_| CryptoError::Malformed)
}

/// The customer of `channel` with this platform id, made when new. `tx`
/// must be a tenant transaction of `owner`. A customer hashed under an older
/// key is found as well, so a key rotation never makes a second customer.
pub async fn upsert_customer(
    tx: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    channel: Uuid,
    sender: &str,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    let hashes = keys.lookup_hashes(sender);
    sqlx::query_scalar(
        "with found as (select id from customers where channel_id = $3 and sender_hash = any($6) limit 1), \
              inserted as (insert into customers (id, owner_id, channel_id, sender_hash, sender_enc) \
                           select $1, $2, $3, $4, $5 where not exists (select 1 from found) \
                           on conflict (channel_id, sender_hash) do update set sender_hash = excluded.sender_hash \
                           returning id) \
         select id from found union all select id from inserted",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .bind(channel)
    .bind(&hashes[0])
    .bind(seal_customer(keys, owner, id, sender))
    .bind(&hashes)
    .fetch_one(&mut *tx)
    .await
}

/// The name under which [`backfill`] records that it ran.
const BACKFILL: &str = "customer_sender_ids";

/// Held while one instance backfills, so two starting at once do not both
/// rewrite (the second waits, then finds it done).
const BACKFILL_LOCK: i64 = 0x6269_6b72_6901;

/// Rows [`backfill`] rewrites per transaction.
const BATCH: i64 = 500;

/// What [`backfill`] rewrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackfillReport {
    pub inbound_rows: u64,
    pub customers: u64,
}

/// Rewrites rows stored before customers' ids were protected: each
/// `legacy_sender_id` becomes a lookup hash and a sealed id, and is emptied.
/// Runs once per database (recorded in `data_backfills`), under an advisory
/// lock, before the workers of a new version start; later calls cost one
/// query. Returns `None` when it had already run.
pub async fn backfill(pool: &PgPool, keys: &DataKeys) -> Result<Option<BackfillReport>, sqlx::Error> {
    // A connection of its own, closed at the end: the session lock goes with
    // it even if this future is dropped half-way.
    let mut lock = pool.acquire().await?.detach();
    loop {
        let locked: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
            .bind(BACKFILL_LOCK)
            .fetch_one(&mut lock)
            .await?;
        if locked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let done: bool = sqlx::query_scalar("select exists(select 1 from data_backfills where name = $1)")
        .bind(BACKFILL)
        .fetch_one(pool)
        .await?;
    if done {
        return Ok(None);
    }
    let mut report = BackfillReport::default();
    loop {
        let mut tx = crate::db::begin(pool).await?;
        let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
            "select id, legacy_sender_id, state from inbound_messages where legacy_sender_id is not null \
              limit $1 for update",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for (id, sender, state) in &rows {
            let (hash, sealed) = seal_inbound(keys, *id, sender);
            // A processed row needs only the hash (processing clears the sealed id).
            let sealed = (state != "processed").then_some(sealed);
            sqlx::query(
                "update inbound_messages set sender_hash = $2, sender_enc = $3, legacy_sender_id = null where id = $1",
            )
            .bind(id)
            .bind(hash)
            .bind(sealed)
            .execute(&mut *tx)
            .await?;
        }
        crate::db::commit(tx).await?;
        report.inbound_rows += rows.len() as u64;
    }
    let owners: Vec<Uuid> = sqlx::query_scalar("select id from accounts where role = 'owner'")
        .fetch_all(pool)
        .await?;
    for owner in owners {
        let owner = OwnerId::from_verified(owner);
        let mut tx = begin_tenant_tx(pool, owner).await?;
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "select id, legacy_sender_id from customers where owner_id = $1 and legacy_sender_id is not null for update",
        )
        .bind(owner.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        for (customer, sender) in &rows {
            sqlx::query(
                "update customers set sender_hash = $2, sender_enc = $3, legacy_sender_id = null where id = $1",
            )
            .bind(customer)
            .bind(keys.lookup_hash(sender))
            .bind(seal_customer(keys, owner, *customer, sender))
            .execute(&mut *tx)
            .await?;
        }
        crate::db::commit(tx).await?;
        report.customers += rows.len() as u64;
    }
    sqlx::query("insert into data_backfills (name) values ($1) on conflict do nothing")
        .bind(BACKFILL)
        .execute(pool)
        .await?;
    // Ending the lock's session releases it.
    let _ = sqlx::Connection::close(lock).await;
    tracing::info!(
        inbound_rows = report.inbound_rows,
        customers = report.customers,
        "customers' platform ids of earlier versions are now hashed and sealed"
    );
    Ok(Some(report))
}

/// Rewrites customers' lookup hashes and sealed ids made under an older key
/// with the current one (`bikriagent rotate-keys`). Inbound rows already
/// recorded for the owner keep only their hash, which cannot be rewritten
/// without the id: deletion finds them through the owner's messages instead.
/// Returns (rewritten, could not be opened); a value that does not open is
/// left as it is and reported.
pub async fn rotate(pool: &PgPool, keys: &DataKeys) -> Result<(usize, usize), sqlx::Error> {
    let mut rotated = 0;
    let mut failed = 0;
    let stale = |hash: &[u8], sealed: &[u8]| keys.is_stale(hash) || keys.is_stale(sealed);
    let inbound: Vec<(Uuid, Vec<u8>, Vec<u8>)> =
        sqlx::query_as("select id, sender_hash, sender_enc from inbound_messages where sender_enc is not null")
            .fetch_all(pool)
            .await?;
    for (id, hash, sealed) in inbound {
        if !stale(&hash, &sealed) {
            continue;
        }
        let Ok(sender) = open_inbound(keys, id, &sealed) else {
            tracing::warn!(inbound = %id, "an inbound sender id does not open with the configured keys");
            failed += 1;
            continue;
        };
        let (hash, sealed) = seal_inbound(keys, id, &sender);
        sqlx::query("update inbound_messages set sender_hash = $2, sender_enc = $3 where id = $1")
            .bind(id)
            .bind(hash)
            .bind(sealed)
            .execute(pool)
            .await?;
        rotated += 1;
    }
    let owners: Vec<Uuid> = sqlx::query_scalar("select id from accounts where role = 'owner'")
        .fetch_all(pool)
        .await?;
    for owner in owners {
        let owner = OwnerId::from_verified(owner);
        let mut tx = begin_tenant_tx(pool, owner).await?;
        let rows: Vec<(Uuid, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "select id, sender_hash, sender_enc from customers where owner_id = $1 and sender_enc is not null for update",
        )
        .bind(owner.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        for (customer, hash, sealed) in rows {
            if !stale(&hash, &sealed) {
                continue;
            }
            let Ok(sender) = open_customer(keys, owner, customer, &sealed) else {
                tracing::warn!(customer = %customer, "a customer's id does not open with the configured keys");
                failed += 1;
                continue;
            };
            sqlx::query("update customers set sender_hash = $2, sender_enc = $3 where id = $1")
                .bind(customer)
                .bind(keys.lookup_hash(&sender))
                .bind(seal_customer(keys, owner, customer, &sender))
                .execute(&mut *tx)
                .await?;
            rotated += 1;
        }
        crate::db::commit(tx).await?;
    }
    Ok((rotated, failed))
}
