//! Loads what one reply may be grounded in, inside the owner's tenant
//! transaction: RLS guarantees no other owner's row can be part of it.
//!
//! Two statements: the shop (profile, rules, delivery areas, payment
//! methods, FAQs, as JSON built by PostgreSQL, with a version of the
//! catalog) and the products that best match the message with their
//! variants. Every decision runs them, so each round trip saved here is
//! saved per answered message.
//!
//! Which products match is decided in Rust by the reply engine's own
//! matcher, over the names, Bangla names, SKUs and tags of the owner's
//! active products. Those are kept in memory per owner and read again (one
//! more statement) only when the catalog's version changes: ranking them in
//! PostgreSQL (trigram similarity over every product, for every message)
//! was the costliest part of a reply. The cache holds only what the owner's
//! own tenant transaction read, keyed by owner; the products statement reads
//! the chosen ids under RLS again, so no other owner's row can come of it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde::Deserialize;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::catalog::store::{DeliveryArea, FaqEntry, PaymentMethod, Profile, Rules, VariantRow};
use crate::pipeline::grounding::{ConversationState, GroundedProduct, Grounding, MAX_GROUNDED_PRODUCTS};
use crate::tenancy::OwnerId;

/// The business profile row with the columns a reply needs beyond [`Profile`].
#[derive(Deserialize)]
struct ProfileRow {
    #[serde(flatten)]
    profile: Profile,
    contact_phone: String,
    address: String,
    bot_disclosure: bool,
}

/// The reply rules row with the link allow-list.
#[derive(Deserialize)]
struct RulesRow {
    #[serde(flatten)]
    rules: Rules,
    link_domains: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct ShopRow {
    /// Changes whenever an active product is added, changed or removed:
    /// their count and the sum of their row versions (`xmin`).
    catalog_version: String,
    profile: Option<Json<ProfileRow>>,
    rules: Option<Json<RulesRow>>,
    delivery_areas: Json<Vec<DeliveryArea>>,
    payment_methods: Json<Vec<PaymentMethod>>,
    faq: Json<Vec<FaqEntry>>,
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: Uuid,
    sku: String,
    name: String,
    name_bn: Option<String>,
    description: String,
    price_minor: i64,
    sale_price_minor: Option<i64>,
    stock: Option<i32>,
    tags: Vec<String>,
    variants: Json<Vec<VariantRow>>,
}

/// What the matcher reads of one active product.
#[derive(sqlx::FromRow)]
struct MatchRow {
    id: Uuid,
    sku: String,
    name: String,
    name_bn: Option<String>,
    tags: Vec<String>,
}

/// One owner's active products as the matcher reads them, newest first,
/// and the catalog version they were read at.
struct CachedCatalog {
    version: String,
    products: Arc<MatchCatalog>,
}

/// The products as the matcher reads them, with their precomputed keys.
struct MatchCatalog {
    products: Vec<GroundedProduct>,
    keys: Vec<crate::pipeline::engine::MatchKeys>,
}

/// Owners' catalogs by owner id. Bounded: past this many owners it starts
/// over (a miss costs one statement).
static CATALOGS: LazyLock<Mutex<HashMap<Uuid, CachedCatalog>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
const MAX_CACHED_CATALOGS: usize = 10_000;

/// The owner's active products for matching, from memory when the version
/// is the one read now, else from the database (and remembered).
async fn match_catalog(tx: &mut PgConnection, owner: OwnerId, version: &str) -> Result<Arc<MatchCatalog>, sqlx::Error> {
    let key = owner.as_uuid();
    if let Some(cached) = CATALOGS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
        .filter(|cached| cached.version == version)
    {
        return Ok(Arc::clone(&cached.products));
    }
    let rows: Vec<MatchRow> = sqlx::query_as(
        "select id, sku, name, name_bn, tags from products \
          where owner_id = $1 and active and archived_at is null \
          order by created_at desc, id",
    )
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    let products: Vec<GroundedProduct> = rows
        .into_iter()
        .map(|row| GroundedProduct {
            id: row.id,
            sku: row.sku,
            name: row.name,
            name_bn: row.name_bn,
            description: String::new(),
            price_minor: 0,
            sale_price_minor: None,
            stock: None,
            tags: row.tags,
            variants: Vec::new(),
        })
        .collect();
    let keys = products.iter().map(crate::pipeline::engine::match_keys).collect();
    let products = Arc::new(MatchCatalog { products, keys });
    let mut catalogs = CATALOGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if catalogs.len() >= MAX_CACHED_CATALOGS {
        catalogs.clear();
    }
    catalogs.insert(
        key,
        CachedCatalog {
            version: version.to_owned(),
            products: Arc::clone(&products),
        },
    );
    Ok(products)
}

/// What [`load`] read: the grounding, and whether the owner discloses the bot.
pub struct Loaded {
    pub grounding: Grounding,
    pub bot_disclosure: bool,
}

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
    Ok(load_with_disclosure(tx, owner, text, state).await?.grounding)
}

/// [`load`], and the profile's bot disclosure setting from the same statement.
pub async fn load_with_disclosure(
    tx: &mut PgConnection,
    owner: OwnerId,
    text: &str,
    state: &ConversationState,
) -> Result<Loaded, sqlx::Error> {
    let shop: ShopRow = sqlx::query_as(
        "select \
           (select count(*) || ':' || coalesce(sum(xmin::text::int8), 0) \
              from products where owner_id = $1 and active and archived_at is null) as catalog_version, \
           (select json_build_object('name', name, 'description', description, 'city', city, \
                   'currency', currency, 'languages', languages, 'opening_hours', opening_hours, \
                   'return_policy', return_policy, 'contact_phone', contact_phone, 'address', address, \
                   'bot_disclosure', bot_disclosure) \
              from business_profiles where owner_id = $1) as profile, \
           (select json_build_object('tone', tone, 'never_say', never_say, 'review_topics', review_topics, \
                   'greeting', greeting, 'away_message', away_message, 'holding_message', holding_message, \
                   'link_domains', link_domains) \
              from reply_rules where owner_id = $1) as rules, \
           coalesce((select json_agg(json_build_object('id', id, 'name', name, 'charge_minor', charge_minor, \
                            'min_days', min_days, 'max_days', max_days) order by position, name) \
                       from delivery_areas where owner_id = $1), '[]') as delivery_areas, \
           coalesce((select json_agg(json_build_object('id', id, 'kind', kind, 'label', label, \
                            'instructions', instructions) order by position, label) \
                       from payment_methods where owner_id = $1), '[]') as payment_methods, \
           coalesce((select json_agg(json_build_object('id', id, 'patterns', patterns, 'answer', answer) \
                            order by position, created_at) \
                       from faq_entries where owner_id = $1), '[]') as faq",
    )
    .bind(owner.as_uuid())
    .fetch_one(&mut *tx)
    .await?;
    let mentioned: Vec<Uuid> = state
        .last_product
        .into_iter()
        .chain(state.order.as_ref().and_then(|o| o.product_id))
        .collect();
    // The products the conversation is about first, then the best matches.
    let catalog = match_catalog(tx, owner, &shop.catalog_version).await?;
    let mut chosen: Vec<Uuid> = mentioned
        .iter()
        .copied()
        .filter(|id| catalog.products.iter().any(|p| p.id == *id))
        .collect();
    chosen.dedup();
    for index in crate::pipeline::engine::rank_products(&catalog.products, &catalog.keys, text) {
        if chosen.len() >= MAX_GROUNDED_PRODUCTS {
            break;
        }
        if let Some(product) = catalog.products.get(index)
            && !chosen.contains(&product.id)
        {
            chosen.push(product.id);
        }
    }
    let rows: Vec<ProductRow> = sqlx::query_as(
        "select id, sku, name, name_bn, description, price_minor, sale_price_minor, stock, tags, \
                coalesce((select json_agg(json_build_object('id', v.id, 'size', v.size, 'colour', v.colour, \
                                 'price_delta_minor', v.price_delta_minor, 'stock', v.stock) \
                                 order by v.size, v.colour) \
                            from product_variants v \
                           where v.owner_id = $1 and v.product_id = p.id), '[]') as variants \
           from products p \
          where owner_id = $1 and id = any($2) and active and archived_at is null",
    )
    .bind(owner.as_uuid())
    .bind(&chosen)
    .fetch_all(&mut *tx)
    .await?;
    // Counted over every active product, not only those chosen.
    let catalog_size = i64::try_from(catalog.products.len()).unwrap_or(i64::MAX);
    let mut products: Vec<GroundedProduct> = rows
        .into_iter()
        .map(|row| GroundedProduct {
            id: row.id,
            sku: row.sku,
            name: row.name,
            name_bn: row.name_bn,
            description: row.description,
            price_minor: row.price_minor,
            sale_price_minor: row.sale_price_minor,
            stock: row.stock,
            tags: row.tags,
            variants: row.variants.0,
        })
        .collect();
    // In the order chosen: the engine lists and breaks ties by it.
    products.sort_by_key(|product| chosen.iter().position(|id| *id == product.id));
    let (profile, contact_phone, owner_address, bot_disclosure) = match shop.profile {
        Some(Json(row)) => (row.profile, row.contact_phone, row.address, row.bot_disclosure),
        None => (Profile::default(), String::new(), String::new(), true),
    };
    let (rules, link_domains) = match shop.rules {
        Some(Json(row)) => (row.rules, row.link_domains),
        None => (
            Rules {
                tone: "friendly".to_owned(),
                ..Rules::default()
            },
            Vec::new(),
        ),
    };
    let owner_phones = Some(contact_phone.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|digits| digits.len() >= 6)
        .into_iter()
        .collect();
    Ok(Loaded {
        grounding: Grounding {
            profile,
            products,
            catalog_size,
            delivery_areas: shop.delivery_areas.0,
            payment_methods: shop.payment_methods.0,
            rules,
            faq: shop.faq.0,
            link_domains: link_domains.into_iter().map(|d| d.to_lowercase()).collect(),
            owner_phones,
            owner_address,
        },
        bot_disclosure,
    })
}
