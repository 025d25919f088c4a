//! Loads what one reply may be grounded in, inside the owner's tenant
//! transaction: RLS guarantees no other owner's row can be part of it.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::catalog::store::{DeliveryArea, FaqEntry, PaymentMethod, Profile, Rules, VariantRow};
use crate::pipeline::grounding::{ConversationState, GroundedProduct, Grounding, MAX_GROUNDED_PRODUCTS};
use crate::tenancy::OwnerId;

type ProductTuple = (
    Uuid,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
    Option<i32>,
    Vec<String>,
    i64,
);

/// The owner's data for a reply to `text`: the products whose names best
/// match the message (pg_trgm word similarity on English and Bangla names,
/// plus the SKU written out), the products the conversation is already
/// about, and everything else the engine may quote. `tx` must be a tenant
/// transaction of `owner`.
pub async fn load(
    tx: &mut PgConnection,
    owner: OwnerId,
    text: &str,
    state: &ConversationState,
) -> Result<Grounding, sqlx::Error> {
    let profile: Option<(Profile, String, String)> = sqlx::query_as::<
        _,
        (
            String,
            String,
            String,
            String,
            Vec<String>,
            String,
            String,
            String,
            String,
        ),
    >(
        "select name, description, city, currency, languages, opening_hours, return_policy, contact_phone, address \
           from business_profiles where owner_id = $1",
    )
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?
    .map(
        |(name, description, city, currency, languages, opening_hours, return_policy, phone, address)| {
            (
                Profile {
                    name,
                    description,
                    city,
                    currency,
                    languages,
                    opening_hours,
                    return_policy,
                },
                phone,
                address,
            )
        },
    );
    let (profile, contact_phone, owner_address) = profile.unwrap_or_default();
    let mentioned: Vec<Uuid> = state
        .last_product
        .into_iter()
        .chain(state.order.as_ref().and_then(|o| o.product_id))
        .collect();
    let query: String = text.chars().take(500).collect::<String>().to_lowercase();
    let rows: Vec<ProductTuple> = sqlx::query_as(
        "select id, sku, name, name_bn, description, price_minor, sale_price_minor, stock, tags, \
                count(*) over () as catalog_size \
           from products \
          where owner_id = $1 and active and archived_at is null \
          order by (id = any($3)) desc, \
                   greatest(word_similarity(lower(name), $2), word_similarity(coalesce(name_bn, ''), $2), \
                            case when position(lower(sku) in $2) > 0 then 1 else 0 end, \
                            (select coalesce(max(word_similarity(lower(t), $2)), 0) from unnest(tags) t)) desc, \
                   created_at desc \
          limit $4",
    )
    .bind(owner.as_uuid())
    .bind(&query)
    .bind(&mentioned)
    .bind(MAX_GROUNDED_PRODUCTS as i64)
    .fetch_all(&mut *tx)
    .await?;
    // Counted over every active product before the limit.
    let catalog_size: i64 = rows.first().map_or(0, |row| row.9);
    let ids: Vec<Uuid> = rows.iter().map(|row| row.0).collect();
    let variants: Vec<(Uuid, Uuid, String, String, i64, Option<i32>)> = sqlx::query_as(
        "select product_id, id, size, colour, price_delta_minor, stock from product_variants \
          where owner_id = $1 and product_id = any($2) order by size, colour",
    )
    .bind(owner.as_uuid())
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let products = rows
        .into_iter()
        .map(
            |(id, sku, name, name_bn, description, price_minor, sale_price_minor, stock, tags, _)| GroundedProduct {
                id,
                sku,
                name,
                name_bn,
                description,
                price_minor,
                sale_price_minor,
                stock,
                tags,
                variants: variants
                    .iter()
                    .filter(|v| v.0 == id)
                    .map(|(_, id, size, colour, delta, stock)| VariantRow {
                        id: *id,
                        size: size.clone(),
                        colour: colour.clone(),
                        price_delta_minor: *delta,
                        stock: *stock,
                    })
                    .collect(),
            },
        )
        .collect();
    let delivery_areas: Vec<DeliveryArea> = sqlx::query_as(
        "select id, name, charge_minor, min_days, max_days from delivery_areas where owner_id = $1 order by position, name",
    )
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    let payment_methods: Vec<PaymentMethod> = sqlx::query_as(
        "select id, kind, label, instructions from payment_methods where owner_id = $1 order by position, label",
    )
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    let rules: Option<(Rules, Vec<String>)> =
        sqlx::query_as::<_, (String, Vec<String>, Vec<String>, String, String, String, Vec<String>)>(
            "select tone, never_say, review_topics, greeting, away_message, holding_message, link_domains \
           from reply_rules where owner_id = $1",
        )
        .bind(owner.as_uuid())
        .fetch_optional(&mut *tx)
        .await?
        .map(
            |(tone, never_say, review_topics, greeting, away_message, holding_message, domains)| {
                (
                    Rules {
                        tone,
                        never_say,
                        review_topics,
                        greeting,
                        away_message,
                        holding_message,
                    },
                    domains,
                )
            },
        );
    let (rules, link_domains) = rules.unwrap_or_else(|| {
        (
            Rules {
                tone: "friendly".to_owned(),
                ..Rules::default()
            },
            Vec::new(),
        )
    });
    let faq: Vec<FaqEntry> = sqlx::query_as(
        "select id, patterns, answer from faq_entries where owner_id = $1 order by position, created_at",
    )
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    let owner_phones = Some(contact_phone.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|digits| digits.len() >= 6)
        .into_iter()
        .collect();
    Ok(Grounding {
        profile,
        products,
        catalog_size,
        delivery_areas,
        payment_methods,
        rules,
        faq,
        link_domains: link_domains.into_iter().map(|d| d.to_lowercase()).collect(),
        owner_phones,
        owner_address,
    })
}
