//! Orders captured in conversations, with stock reserved in the same
//! transaction that creates them.
//!
//! Stock is taken with a conditional update (`stock >= quantity`), so two
//! customers ordering the last item at once cannot both get it and stock
//! never goes negative (the column's CHECK backs this up). Cancelling gives
//! the stock back. The customer's name, phone and address are sealed.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, AuditKind, RequestMeta};
use crate::conversations::{PipelineError, open_text, seal_text};
use crate::crypto::DataKeys;
use crate::pipeline::grounding::{OrderRequest, RequestItem};
use crate::tenancy::{OwnerId, begin_tenant_tx};

/// Why an order could not be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRefusal {
    /// Not enough stock left (someone else may just have bought it).
    OutOfStock { product: String },
    /// The product or variant was archived or deleted meanwhile.
    ProductGone,
    /// The price changed since the summary was read back: read it back again.
    PriceChanged { product: String },
}

/// A placed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub id: Uuid,
    pub number: i64,
}

/// Creates an order in `pending_owner_confirmation` and reserves its stock,
/// inside the caller's tenant transaction (rolled back together with it).
pub async fn place(
    outer: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    conversation: Option<Uuid>,
    request: &OrderRequest,
    now: OffsetDateTime,
) -> Result<Result<Placed, OrderRefusal>, PipelineError> {
    if request.quantity <= 0 {
        return Err(PipelineError::Invalid("The quantity must be at least one.".into()));
    }
    // A savepoint: a refusal after part of the stock was taken undoes it
    // without rolling back the caller's other work.
    let mut tx = sqlx::Connection::begin(&mut *outer).await?;
    let outcome = place_in(&mut tx, keys, owner, conversation, request, now).await?;
    if outcome.is_ok() {
        // Releasing a savepoint: a caller cancelled here drops the outer
        // transaction too, which rolls back as a whole.
        #[expect(clippy::disallowed_methods, reason = "a savepoint, not a transaction")]
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(outcome)
}

async fn place_in(
    tx: &mut PgConnection,
    keys: &DataKeys,
    owner: OwnerId,
    conversation: Option<Uuid>,
    request: &OrderRequest,
    now: OffsetDateTime,
) -> Result<Result<Placed, OrderRefusal>, PipelineError> {
    // Every item: still sold, at the price the customer confirmed, and its
    // stock taken (a conditional update, so it never goes negative).
    let mut lines: Vec<(RequestItem, String, String, i64)> = Vec::new();
    let mut items_total: i64 = 0;
    let mut currency = String::new();
    for item in request.items() {
        let product: Option<(String, i64, Option<i64>, String)> = sqlx::query_as(
            "select p.name, p.price_minor, p.sale_price_minor, b.currency from products p \
               join business_profiles b on b.owner_id = p.owner_id \
              where p.id = $1 and p.owner_id = $2 and p.active and p.archived_at is null",
        )
        .bind(item.product_id)
        .bind(owner.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((name, price, sale, product_currency)) = product else {
            return Ok(Err(OrderRefusal::ProductGone));
        };
        currency = product_currency;
        let mut unit = sale.unwrap_or(price);
        let mut variant_label = String::new();
        if let Some(variant) = item.variant_id {
            let found: Option<(String, String, i64)> = sqlx::query_as(
                "select size, colour, price_delta_minor from product_variants where id = $1 and product_id = $2 and owner_id = $3",
            )
            .bind(variant)
            .bind(item.product_id)
            .bind(owner.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((size, colour, delta)) = found else {
                return Ok(Err(OrderRefusal::ProductGone));
            };
            unit = unit.saturating_add(delta);
            variant_label = self::variant_label(&size, &colour);
            if unit != item.unit_price_minor {
                return Ok(Err(OrderRefusal::PriceChanged { product: name }));
            }
            let taken = sqlx::query(
                "update product_variants set stock = stock - $3 \
                  where id = $1 and owner_id = $2 and (stock is null or stock >= $3)",
            )
            .bind(variant)
            .bind(owner.as_uuid())
            .bind(item.quantity)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if taken == 0 {
                return Ok(Err(OrderRefusal::OutOfStock { product: name }));
            }
        }
        if unit != item.unit_price_minor {
            return Ok(Err(OrderRefusal::PriceChanged { product: name }));
        }
        if item.quantity <= 0 {
            return Err(PipelineError::Invalid("The quantity must be at least one.".into()));
        }
        let taken = sqlx::query(
            "update products set stock = stock - $3, updated_at = now() \
              where id = $1 and owner_id = $2 and (stock is null or stock >= $3)",
        )
        .bind(item.product_id)
        .bind(owner.as_uuid())
        .bind(item.quantity)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken == 0 {
            return Ok(Err(OrderRefusal::OutOfStock { product: name }));
        }
        let (line, _) = totals(unit, item.quantity, 0)
            .ok_or_else(|| PipelineError::Invalid("The order total is too large.".into()))?;
        items_total = items_total
            .checked_add(line)
            .ok_or_else(|| PipelineError::Invalid("The order total is too large.".into()))?;
        lines.push((item, name, variant_label, unit));
    }
    let total = items_total
        .checked_add(request.delivery_charge_minor)
        .ok_or_else(|| PipelineError::Invalid("The order total is too large.".into()))?;
    let area: String = match request.delivery_area_id {
        Some(area) => sqlx::query_scalar("select name from delivery_areas where id = $1 and owner_id = $2")
            .bind(area)
            .bind(owner.as_uuid())
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or_default(),
        None => String::new(),
    };
    // The profile row is the per-owner counter; its lock orders concurrent orders.
    let number: i64 = sqlx::query_scalar(
        "update business_profiles set last_order_number = last_order_number + 1 where owner_id = $1 \
         returning last_order_number",
    )
    .bind(owner.as_uuid())
    .fetch_one(&mut *tx)
    .await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into orders (id, owner_id, number, conversation_id, customer_name_enc, phone_enc, address_enc, \
                             delivery_area, delivery_charge_minor, items_total_minor, total_minor, currency, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .bind(number)
    .bind(conversation)
    .bind(seal_text(keys, owner, "order-name", id, &request.customer_name))
    .bind(seal_text(keys, owner, "order-phone", id, &request.phone))
    .bind(seal_text(keys, owner, "order-address", id, &request.address))
    .bind(area)
    .bind(request.delivery_charge_minor)
    .bind(items_total)
    .bind(total)
    .bind(currency)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for (item, name, variant_label, unit) in &lines {
        sqlx::query(
            "insert into order_items (id, owner_id, order_id, product_id, variant_id, name, variant_label, quantity, unit_price_minor) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(Uuid::new_v4())
        .bind(owner.as_uuid())
        .bind(id)
        .bind(item.product_id)
        .bind(item.variant_id)
        .bind(name)
        .bind(variant_label)
        .bind(item.quantity)
        .bind(unit)
        .execute(&mut *tx)
        .await?;
    }
    Ok(Ok(Placed { id, number }))
}

/// An order's items total and total with delivery, in minor units, for
/// `quantity` items at `unit_minor`; `None` when they overflow.
pub fn totals(unit_minor: i64, quantity: i32, delivery_minor: i64) -> Option<(i64, i64)> {
    let items = unit_minor.checked_mul(i64::from(quantity))?;
    Some((items, items.checked_add(delivery_minor)?))
}

/// How an order item names its variant: "M / Red", "M", "Red".
pub fn variant_label(size: &str, colour: &str) -> String {
    [size.trim(), colour.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// One line of the orders list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderRow {
    pub id: Uuid,
    pub number: i64,
    pub status: String,
    pub customer_name: String,
    pub total_minor: i64,
    pub currency: String,
    pub created_at: OffsetDateTime,
}

/// One item of an order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct OrderItem {
    pub name: String,
    pub variant_label: String,
    pub quantity: i32,
    pub unit_price_minor: i64,
}

/// An order with its contact details, for its owner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderDetail {
    pub row: OrderRow,
    pub phone: String,
    pub address: String,
    pub delivery_area: String,
    pub delivery_charge_minor: i64,
    pub items_total_minor: i64,
    pub conversation: Option<Uuid>,
    pub items: Vec<OrderItem>,
}

#[derive(sqlx::FromRow)]
struct OrderRecord {
    id: Uuid,
    number: i64,
    status: String,
    customer_name_enc: Option<Vec<u8>>,
    total_minor: i64,
    currency: String,
    created_at: OffsetDateTime,
    phone_enc: Option<Vec<u8>>,
    address_enc: Option<Vec<u8>>,
    delivery_area: String,
    delivery_charge_minor: i64,
    items_total_minor: i64,
    conversation_id: Option<Uuid>,
}

type OrderTuple = (Uuid, i64, String, Option<Vec<u8>>, i64, String, OffsetDateTime);

fn order_row(keys: &DataKeys, owner: OwnerId, row: OrderTuple) -> Result<OrderRow, PipelineError> {
    let (id, number, status, name, total, currency, created_at) = row;
    Ok(OrderRow {
        id,
        number,
        status,
        customer_name: open_text(keys, owner, "order-name", id, name.as_deref())?.unwrap_or_default(),
        total_minor: total,
        currency,
        created_at,
    })
}

/// The owner's orders, newest first, optionally of one status.
pub async fn list(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    status: Option<&str>,
) -> Result<Vec<OrderRow>, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let rows: Vec<OrderTuple> = sqlx::query_as(
        "select id, number, status, customer_name_enc, total_minor, currency, created_at from orders \
          where owner_id = $1 and ($2::text is null or status = $2) order by created_at desc limit 200",
    )
    .bind(owner.as_uuid())
    .bind(status)
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    rows.into_iter().map(|row| order_row(keys, owner, row)).collect()
}

pub async fn get(pool: &PgPool, keys: &DataKeys, owner: OwnerId, id: Uuid) -> Result<OrderDetail, PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let row: Option<OrderRecord> = sqlx::query_as(
        "select id, number, status, customer_name_enc, total_minor, currency, created_at, phone_enc, address_enc, \
                delivery_area, delivery_charge_minor, items_total_minor, conversation_id \
           from orders where id = $1 and owner_id = $2",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let items: Vec<OrderItem> = sqlx::query_as(
        "select name, variant_label, quantity, unit_price_minor from order_items where order_id = $1 and owner_id = $2",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    let order = row.ok_or(PipelineError::NotFound)?;
    let id = order.id;
    Ok(OrderDetail {
        row: order_row(
            keys,
            owner,
            (
                id,
                order.number,
                order.status,
                order.customer_name_enc,
                order.total_minor,
                order.currency,
                order.created_at,
            ),
        )?,
        phone: open_text(keys, owner, "order-phone", id, order.phone_enc.as_deref())?.unwrap_or_default(),
        address: open_text(keys, owner, "order-address", id, order.address_enc.as_deref())?.unwrap_or_default(),
        delivery_area: order.delivery_area,
        delivery_charge_minor: order.delivery_charge_minor,
        items_total_minor: order.items_total_minor,
        conversation: order.conversation_id,
        items,
    })
}

/// The statuses an order may move to from `from`.
pub fn next_statuses(from: &str) -> &'static [&'static str] {
    match from {
        "pending_owner_confirmation" => &["confirmed", "cancelled"],
        "confirmed" => &["shipped", "cancelled"],
        "shipped" => &["delivered"],
        _ => &[],
    }
}

/// Moves an order on (confirm, ship, deliver, cancel); cancelling gives the stock back.
pub async fn set_status(
    pool: &PgPool,
    owner: OwnerId,
    id: Uuid,
    to: &str,
    actor: Uuid,
    meta: &RequestMeta,
) -> Result<(), PipelineError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let from: Option<String> =
        sqlx::query_scalar("select status from orders where id = $1 and owner_id = $2 for update")
            .bind(id)
            .bind(owner.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    let from = from.ok_or(PipelineError::NotFound)?;
    if !next_statuses(&from).contains(&to) {
        return Err(PipelineError::Invalid(format!(
            "An order that is {} cannot become {}.",
            from.replace('_', " "),
            to.replace('_', " ")
        )));
    }
    sqlx::query("update orders set status = $3, updated_at = now() where id = $1 and owner_id = $2")
        .bind(id)
        .bind(owner.as_uuid())
        .bind(to)
        .execute(&mut *tx)
        .await?;
    if to == "cancelled" {
        let items: Vec<(Option<Uuid>, Option<Uuid>, i32)> = sqlx::query_as(
            "select product_id, variant_id, quantity from order_items where order_id = $1 and owner_id = $2",
        )
        .bind(id)
        .bind(owner.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        for (product, variant, quantity) in items {
            sqlx::query("update products set stock = stock + $3 where id = $1 and owner_id = $2 and stock is not null")
                .bind(product)
                .bind(owner.as_uuid())
                .bind(quantity)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "update product_variants set stock = stock + $3 where id = $1 and owner_id = $2 and stock is not null",
            )
            .bind(variant)
            .bind(owner.as_uuid())
            .bind(quantity)
            .execute(&mut *tx)
            .await?;
        }
    }
    audit::record(
        &mut *tx,
        AuditKind::OrderStatusChanged,
        Some(owner.as_uuid()),
        Some(actor),
        meta,
        serde_json::json!({ "order": id, "from": from, "to": to }),
    )
    .await?;
    crate::db::commit(tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_variant_labels() {
        assert_eq!(totals(125_000, 2, 6_000), Some((250_000, 256_000)));
        assert_eq!(totals(i64::MAX, 2, 0), None);
        assert_eq!(variant_label("M", "Red"), "M / Red");
        assert_eq!(variant_label("", " Red "), "Red");
    }

    #[test]
    fn orders_only_move_forward_or_get_cancelled_before_shipping() {
        assert_eq!(next_statuses("pending_owner_confirmation"), ["confirmed", "cancelled"]);
        assert!(!next_statuses("shipped").contains(&"cancelled"));
        assert!(next_statuses("delivered").is_empty());
        assert!(next_statuses("cancelled").is_empty());
    }
}
