//! Catalog storage. Every function takes the owner and runs in a tenant
//! transaction, and every query also filters by `owner_id`: a query that
//! forgot it would still see nothing of other owners (RLS), but we do not
//! rely on one layer alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::csv_import::{CsvPreview, ProductDraft, Stock, VariantDraft};
use super::money::{Money, parse_money};
use crate::input::page::Page;
use crate::input::text::{Shape, strip_controls};
use crate::tenancy::{OwnerId, begin_tenant_tx};

/// Field name → message for people.
pub type FieldErrors = BTreeMap<&'static str, String>;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("some fields need attention")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

fn invalid(field: &'static str, message: impl Into<String>) -> CatalogError {
    let mut errors = FieldErrors::new();
    errors.insert(field, message.into());
    CatalogError::Invalid(errors)
}

fn text(errors: &mut FieldErrors, field: &'static str, value: &str, label: &str, min: usize, max: usize) -> String {
    let value = value.trim();
    let count = value.chars().count();
    if count < min {
        errors.insert(field, format!("Enter the {label}."));
    } else if count > max {
        errors.insert(field, format!("Keep the {label} under {max} characters."));
    } else if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        errors.insert(field, format!("The {label} contains characters we can't accept."));
    }
    value.to_owned()
}

// ---------------------------------------------------------------- profile

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub city: String,
    pub currency: String,
    pub languages: Vec<String>,
    pub opening_hours: String,
    pub return_policy: String,
}

/// What the profile form sends.
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    pub name: String,
    pub description: String,
    pub city: String,
    pub currency: String,
    pub answers_english: bool,
    pub answers_bangla: bool,
    pub opening_hours: String,
    pub return_policy: String,
}

pub async fn load_profile_in(tx: &mut PgConnection, owner: OwnerId) -> Result<Profile, CatalogError> {
    let profile = sqlx::query_as(
        "select name, description, city, currency, languages, opening_hours, return_policy \
           from business_profiles where owner_id = $1",
    )
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    profile.ok_or(CatalogError::NotFound)
}

/// [`load_profile_in`] in a transaction of its own.
pub async fn load_profile(pool: &PgPool, owner: OwnerId) -> Result<Profile, CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let done = load_profile_in(&mut tx, owner).await?;
    crate::db::commit(tx).await?;
    Ok(done)
}

/// The profile form's checks (also used by the shop file).
pub fn validate_profile(input: &ProfileInput) -> Result<Profile, CatalogError> {
    let mut errors = FieldErrors::new();
    let name = text(&mut errors, "name", &input.name, "business name", 1, 200);
    let description = text(&mut errors, "description", &input.description, "description", 0, 2000);
    let city = text(&mut errors, "city", &input.city, "city", 0, 100);
    let opening_hours = text(
        &mut errors,
        "opening_hours",
        &input.opening_hours,
        "opening hours",
        0,
        500,
    );
    let return_policy = text(
        &mut errors,
        "return_policy",
        &input.return_policy,
        "return policy",
        0,
        3000,
    );
    let currency = input.currency.trim().to_uppercase();
    if !(currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase())) {
        errors.insert("currency", "Use a three-letter currency code such as BDT.".to_owned());
    }
    let mut languages = Vec::new();
    if input.answers_english {
        languages.push("en".to_owned());
    }
    if input.answers_bangla {
        languages.push("bn".to_owned());
    }
    if languages.is_empty() {
        errors.insert(
            "languages",
            "Choose at least one language your shop answers in.".to_owned(),
        );
    }
    if !errors.is_empty() {
        return Err(CatalogError::Invalid(errors));
    }
    Ok(Profile {
        name,
        description,
        city,
        currency,
        languages,
        opening_hours,
        return_policy,
    })
}

pub async fn save_profile_in(tx: &mut PgConnection, owner: OwnerId, input: &ProfileInput) -> Result<(), CatalogError> {
    let Profile {
        name,
        description,
        city,
        currency,
        languages,
        opening_hours,
        return_policy,
    } = validate_profile(input)?;
    sqlx::query(
        "update business_profiles set name = $2, description = $3, city = $4, currency = $5, languages = $6, \
                opening_hours = $7, return_policy = $8, updated_at = now() where owner_id = $1",
    )
    .bind(owner.as_uuid())
    .bind(name)
    .bind(description)
    .bind(city)
    .bind(currency)
    .bind(languages)
    .bind(opening_hours)
    .bind(return_policy)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// [`save_profile_in`] in a transaction of its own.
pub async fn save_profile(pool: &PgPool, owner: OwnerId, input: &ProfileInput) -> Result<(), CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    save_profile_in(&mut tx, owner, input).await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// What the agent may share beyond the catalog: the shop's phone and
/// address, the domains it may link to, and whether its first reply says it
/// is an automatic assistant.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Contact {
    pub contact_phone: String,
    pub address: String,
    pub bot_disclosure: bool,
    pub link_domains: Vec<String>,
}

pub async fn load_contact_in(tx: &mut PgConnection, owner: OwnerId) -> Result<Contact, CatalogError> {
    let row: Option<(String, String, bool, Option<Vec<String>>)> = sqlx::query_as(
        "select b.contact_phone, b.address, b.bot_disclosure, r.link_domains from business_profiles b \
           left join reply_rules r on r.owner_id = b.owner_id where b.owner_id = $1",
    )
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let (contact_phone, address, bot_disclosure, domains) = row.ok_or(CatalogError::NotFound)?;
    Ok(Contact {
        contact_phone,
        address,
        bot_disclosure,
        link_domains: domains.unwrap_or_default(),
    })
}

/// [`load_contact_in`] in a transaction of its own.
pub async fn load_contact(pool: &PgPool, owner: OwnerId) -> Result<Contact, CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let done = load_contact_in(&mut tx, owner).await?;
    crate::db::commit(tx).await?;
    Ok(done)
}

/// A domain an owner may let the agent link to: `shop.example.com` (a
/// scheme, `www.` and a path are dropped), letters, digits, dots, hyphens.
pub fn parse_link_domain(raw: &str) -> Result<String, String> {
    let lower = raw.trim().to_lowercase();
    let without_scheme = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let host = without_scheme.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.strip_prefix("www.").unwrap_or(host);
    let valid = host.len() <= 253
        && host.contains('.')
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        Ok(host.to_owned())
    } else {
        Err(format!("{} is not a domain name like shop.example.com.", raw.trim()))
    }
}

/// The contact form's checks (also used by the shop file): the phone,
/// address and link domains as they will be stored.
pub fn validate_contact(
    contact_phone: &str,
    address: &str,
    link_domains: &str,
) -> Result<(String, String, Vec<String>), CatalogError> {
    let mut errors = FieldErrors::new();
    let phone = text(&mut errors, "contact_phone", contact_phone, "phone number", 0, 40);
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !phone.is_empty()
        && (!(6..=15).contains(&digits) || !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)))
    {
        errors.insert("contact_phone", "Enter a phone number such as 01711-000000.".to_owned());
    }
    let address = text(&mut errors, "address", address, "address", 0, 500);
    let mut domains = Vec::new();
    match lines(link_domains, 20, 253) {
        Ok(items) => {
            for item in items {
                match parse_link_domain(&item) {
                    Ok(domain) if !domains.contains(&domain) => domains.push(domain),
                    Ok(_) => {}
                    Err(message) => {
                        errors.insert("link_domains", message);
                        break;
                    }
                }
            }
        }
        Err(message) => {
            errors.insert("link_domains", message);
        }
    }
    if !errors.is_empty() {
        return Err(CatalogError::Invalid(errors));
    }
    Ok((phone, address, domains))
}

pub async fn save_contact_in(
    tx: &mut PgConnection,
    owner: OwnerId,
    contact_phone: &str,
    address: &str,
    bot_disclosure: bool,
    link_domains: &str,
) -> Result<(), CatalogError> {
    let (phone, address, domains) = validate_contact(contact_phone, address, link_domains)?;
    sqlx::query(
        "update business_profiles set contact_phone = $2, address = $3, bot_disclosure = $4, updated_at = now() \
          where owner_id = $1",
    )
    .bind(owner.as_uuid())
    .bind(&phone)
    .bind(&address)
    .bind(bot_disclosure)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into reply_rules (owner_id, link_domains) values ($1, $2) \
         on conflict (owner_id) do update set link_domains = excluded.link_domains, updated_at = now()",
    )
    .bind(owner.as_uuid())
    .bind(&domains)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// [`save_contact_in`] in a transaction of its own.
pub async fn save_contact(
    pool: &PgPool,
    owner: OwnerId,
    contact_phone: &str,
    address: &str,
    bot_disclosure: bool,
    link_domains: &str,
) -> Result<(), CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    save_contact_in(&mut tx, owner, contact_phone, address, bot_disclosure, link_domains).await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// Tables whose rows an owner deletes by id.
#[derive(Debug, Clone, Copy)]
enum OwnedTable {
    DeliveryAreas,
    PaymentMethods,
    FaqEntries,
}

/// Deletes one of the owner's rows: by id *and* owner, in a tenant transaction.
async fn delete_owned(pool: &PgPool, owner: OwnerId, table: OwnedTable, id: Uuid) -> Result<(), CatalogError> {
    // A fixed table name per variant: nothing from the request reaches the SQL text.
    let sql = match table {
        OwnedTable::DeliveryAreas => "delete from delivery_areas where id = $1 and owner_id = $2",
        OwnedTable::PaymentMethods => "delete from payment_methods where id = $1 and owner_id = $2",
        OwnedTable::FaqEntries => "delete from faq_entries where id = $1 and owner_id = $2",
    };
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let removed = sqlx::query(sql)
        .bind(id)
        .bind(owner.as_uuid())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    crate::db::commit(tx).await?;
    if removed == 0 {
        Err(CatalogError::NotFound)
    } else {
        Ok(())
    }
}

// ------------------------------------------------------ delivery, payment

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryArea {
    pub id: Uuid,
    pub name: String,
    pub charge_minor: i64,
    pub min_days: i32,
    pub max_days: i32,
}

pub async fn list_delivery_areas(pool: &PgPool, owner: OwnerId) -> Result<Vec<DeliveryArea>, CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let rows = sqlx::query_as(
        "select id, name, charge_minor, min_days, max_days from delivery_areas where owner_id = $1 \
          order by position, name",
    )
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    Ok(rows)
}

/// The delivery area form's checks (also used by the shop file): name,
/// charge, shortest and longest days.
pub fn validate_delivery_area(
    name: &str,
    charge: &str,
    min_days: &str,
    max_days: &str,
) -> Result<(String, Money, i32, i32), CatalogError> {
    let mut errors = FieldErrors::new();
    let name = text(&mut errors, "area_name", name, "area name", 1, 100);
    let charge = match parse_money(charge) {
        Ok(charge) => charge,
        Err(error) => {
            errors.insert("charge", error.to_string());
            Money::ZERO
        }
    };
    let days = |raw: &str| raw.trim().parse::<i32>().ok().filter(|d| (0..=60).contains(d));
    let (min, max) = (days(min_days), days(max_days));
    match (min, max) {
        (Some(min), Some(max)) if min <= max => {}
        (Some(_), Some(_)) => {
            errors.insert(
                "max_days",
                "The longest time can't be shorter than the shortest.".to_owned(),
            );
        }
        _ => {
            errors.insert("max_days", "Enter whole days from 0 to 60, like 1 and 2.".to_owned());
        }
    }
    if !errors.is_empty() {
        return Err(CatalogError::Invalid(errors));
    }
    Ok((name, charge, min.unwrap_or(0), max.unwrap_or(0)))
}

pub async fn add_delivery_area(
    pool: &PgPool,
    owner: OwnerId,
    name: &str,
    charge: &str,
    min_days: &str,
    max_days: &str,
) -> Result<(), CatalogError> {
    let (name, charge, min, max) = validate_delivery_area(name, charge, min_days, max_days)?;
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let inserted = sqlx::query(
        "insert into delivery_areas (owner_id, name, charge_minor, min_days, max_days, position) \
         values ($1, $2, $3, $4, $5, (select count(*) from delivery_areas where owner_id = $1)) \
         on conflict (owner_id, name) do nothing",
    )
    .bind(owner.as_uuid())
    .bind(&name)
    .bind(charge.minor())
    .bind(min)
    .bind(max)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    crate::db::commit(tx).await?;
    if inserted == 0 {
        return Err(invalid(
            "area_name",
            format!("You already have a delivery area called {name}."),
        ));
    }
    Ok(())
}

/// Adds a delivery area, or updates the charge and days of the one with
/// this name (an import describes the areas it names; it adds no twins).
/// Returns whether it was new.
pub async fn save_delivery_area_in(
    tx: &mut PgConnection,
    owner: OwnerId,
    name: &str,
    charge: &str,
    min_days: &str,
    max_days: &str,
) -> Result<bool, CatalogError> {
    let (name, charge, min, max) = validate_delivery_area(name, charge, min_days, max_days)?;
    let inserted: bool = sqlx::query_scalar(
        "insert into delivery_areas (owner_id, name, charge_minor, min_days, max_days, position) \
         values ($1, $2, $3, $4, $5, (select count(*) from delivery_areas where owner_id = $1)) \
         on conflict (owner_id, name) do update set charge_minor = excluded.charge_minor, \
             min_days = excluded.min_days, max_days = excluded.max_days \
         returning xmax = 0",
    )
    .bind(owner.as_uuid())
    .bind(&name)
    .bind(charge.minor())
    .bind(min)
    .bind(max)
    .fetch_one(&mut *tx)
    .await?;
    Ok(inserted)
}

pub async fn remove_delivery_area(pool: &PgPool, owner: OwnerId, id: Uuid) -> Result<(), CatalogError> {
    delete_owned(pool, owner, OwnedTable::DeliveryAreas, id).await
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentMethod {
    pub id: Uuid,
    pub kind: String,
    pub label: String,
    pub instructions: String,
}

pub const PAYMENT_KINDS: &[(&str, &str)] = &[
    ("cod", "Cash on delivery"),
    ("bkash", "bKash"),
    ("nagad", "Nagad"),
    ("rocket", "Rocket"),
    ("card", "Card"),
    ("bank", "Bank transfer"),
    ("other", "Other"),
];

pub async fn list_payment_methods(pool: &PgPool, owner: OwnerId) -> Result<Vec<PaymentMethod>, CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let rows = sqlx::query_as(
        "select id, kind, label, instructions from payment_methods where owner_id = $1 order by position, label",
    )
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    Ok(rows)
}

pub async fn add_payment_method_in(
    tx: &mut PgConnection,
    owner: OwnerId,
    kind: &str,
    instructions: &str,
) -> Result<(), CatalogError> {
    let Some((kind, label)) = PAYMENT_KINDS.iter().find(|(k, _)| *k == kind.trim()) else {
        return Err(invalid("kind", "Choose a payment method from the list."));
    };
    let mut errors = FieldErrors::new();
    let instructions = text(&mut errors, "instructions", instructions, "instructions", 0, 1000);
    if !errors.is_empty() {
        return Err(CatalogError::Invalid(errors));
    }
    let inserted = sqlx::query(
        "insert into payment_methods (owner_id, kind, label, instructions, position) \
         values ($1, $2, $3, $4, (select count(*) from payment_methods where owner_id = $1)) \
         on conflict (owner_id, label) do update set instructions = excluded.instructions",
    )
    .bind(owner.as_uuid())
    .bind(kind)
    .bind(label)
    .bind(instructions)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    debug_assert!(inserted <= 1);
    Ok(())
}

/// [`add_payment_method_in`] in a transaction of its own.
pub async fn add_payment_method(
    pool: &PgPool,
    owner: OwnerId,
    kind: &str,
    instructions: &str,
) -> Result<(), CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    add_payment_method_in(&mut tx, owner, kind, instructions).await?;
    crate::db::commit(tx).await?;
    Ok(())
}

pub async fn remove_payment_method(pool: &PgPool, owner: OwnerId, id: Uuid) -> Result<(), CatalogError> {
    delete_owned(pool, owner, OwnedTable::PaymentMethods, id).await
}

// ---------------------------------------------------------------- products

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct ProductRow {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub name_bn: Option<String>,
    pub price_minor: i64,
    pub sale_price_minor: Option<i64>,
    pub stock: Option<i32>,
    pub active: bool,
    pub archived: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct VariantRow {
    pub id: Uuid,
    pub size: String,
    pub colour: String,
    pub price_delta_minor: i64,
    pub stock: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Product {
    pub id: Uuid,
    pub draft: ProductDraft,
    pub archived: bool,
    pub variants: Vec<VariantRow>,
}

/// One page of the product list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProductPage {
    pub rows: Vec<ProductRow>,
    pub total: i64,
    pub page: Page,
    pub per_page: i64,
}

pub const PER_PAGE: i64 = 20;

/// Products matching `query` (name, Bangla name, SKU or tag), newest first.
pub async fn list_products(
    pool: &PgPool,
    owner: OwnerId,
    query: &str,
    page: Page,
    include_archived: bool,
) -> Result<ProductPage, CatalogError> {
    // No stored text holds a control character; PostgreSQL refuses a NUL.
    let query = strip_controls(query, Shape::Line);
    let pattern = format!(
        "%{}%",
        query
            .trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let filter = "owner_id = $1 and ($2 or archived_at is null) \
                  and (name ilike $3 or coalesce(name_bn, '') ilike $3 or sku ilike $3 \
                       or exists (select 1 from unnest(tags) t where t ilike $3))";
    let total: i64 = sqlx::query_scalar(&format!("select count(*) from products where {filter}"))
        .bind(owner.as_uuid())
        .bind(include_archived)
        .bind(&pattern)
        .fetch_one(&mut *tx)
        .await?;
    let rows = sqlx::query_as(&format!(
        "select id, sku, name, name_bn, price_minor, sale_price_minor, stock, active, archived_at is not null as archived \
           from products where {filter} order by created_at desc, sku limit $4 offset $5"
    ))
    .bind(owner.as_uuid())
    .bind(include_archived)
    .bind(&pattern)
    .bind(PER_PAGE)
    .bind(page.offset(PER_PAGE))
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    Ok(ProductPage {
        rows,
        total,
        page,
        per_page: PER_PAGE,
    })
}

fn stock_column(stock: &Stock) -> Option<i32> {
    match stock {
        Stock::Quantity(n) => Some(*n),
        Stock::MadeToOrder => None,
    }
}

fn stock_from_column(stock: Option<i32>) -> Stock {
    stock.map(Stock::Quantity).unwrap_or(Stock::MadeToOrder)
}

pub async fn get_product(pool: &PgPool, owner: OwnerId, id: Uuid) -> Result<Product, CatalogError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        sku: String,
        name: String,
        name_bn: Option<String>,
        description: String,
        price_minor: i64,
        sale_price_minor: Option<i64>,
        stock: Option<i32>,
        tags: Vec<String>,
        image_urls: Vec<String>,
        active: bool,
        archived: bool,
    }
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let row: Option<Row> = sqlx::query_as(
        "select sku, name, name_bn, description, price_minor, sale_price_minor, stock, tags, image_urls, active, \
                archived_at is not null as archived \
           from products where id = $1 and owner_id = $2",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let row = row.ok_or(CatalogError::NotFound)?;
    let variants: Vec<VariantRow> = sqlx::query_as(
        "select id, size, colour, price_delta_minor, stock from product_variants \
          where product_id = $1 and owner_id = $2 order by size, colour",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    Ok(Product {
        id,
        archived: row.archived,
        draft: ProductDraft {
            sku: row.sku,
            name: row.name,
            name_bn: row.name_bn,
            description: row.description,
            price: Money::from_minor(row.price_minor),
            sale_price: row.sale_price_minor.map(Money::from_minor),
            stock: stock_from_column(row.stock),
            tags: row.tags,
            active: row.active,
            image_urls: row.image_urls,
            variants: variants
                .iter()
                .map(|v| VariantDraft {
                    size: v.size.clone(),
                    colour: v.colour.clone(),
                    price_delta: Money::from_minor(v.price_delta_minor),
                    stock: stock_from_column(v.stock),
                })
                .collect(),
        },
        variants,
    })
}

/// What the product form sends, as typed.
#[derive(Debug, Clone, Default)]
pub struct ProductInput {
    pub sku: String,
    pub name: String,
    pub name_bn: String,
    pub description: String,
    pub price: String,
    pub sale_price: String,
    pub stock: String,
    pub tags: String,
    pub image_urls: String,
    pub active: bool,
}

impl ProductInput {
    /// Validates the form into a draft, with a message per field.
    pub fn validate(&self) -> Result<ProductDraft, CatalogError> {
        let mut errors = FieldErrors::new();
        let sku = self.sku.trim().to_owned();
        let sku_ok = sku.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && sku.len() <= 64
            && sku
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !sku_ok {
            errors.insert(
                "sku",
                "Use letters, digits, dots, dashes or underscores, like SAREE-01.".to_owned(),
            );
        }
        let name = text(&mut errors, "name", &self.name, "product name", 1, 200);
        let name_bn = text(&mut errors, "name_bn", &self.name_bn, "Bangla name", 0, 200);
        let description = text(&mut errors, "description", &self.description, "description", 0, 5000);
        let price = match parse_money(&self.price) {
            Ok(price) => price,
            Err(error) => {
                errors.insert("price", error.to_string());
                Money::ZERO
            }
        };
        let sale_price = if self.sale_price.trim().is_empty() {
            None
        } else {
            match parse_money(&self.sale_price) {
                Ok(sale) if sale < price => Some(sale),
                Ok(_) => {
                    errors.insert("sale_price", "The sale price must be lower than the price.".to_owned());
                    None
                }
                Err(error) => {
                    errors.insert("sale_price", error.to_string());
                    None
                }
            }
        };
        let stock = parse_stock(&self.stock).unwrap_or_else(|message| {
            errors.insert("stock", message);
            Stock::MadeToOrder
        });
        let mut tags: Vec<String> = Vec::new();
        // Semicolons, as in the CSV import (a tag may contain a comma).
        for tag in self.tags.split(';').map(str::trim).filter(|t| !t.is_empty()) {
            if tag.chars().count() > 40 {
                errors.insert("tags", "Keep each tag under 40 characters.".to_owned());
            } else if !tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
                tags.push(tag.to_owned());
            }
        }
        if tags.len() > 20 {
            errors.insert("tags", "Use at most 20 tags.".to_owned());
        }
        let image_urls: Vec<String> = self
            .image_urls
            .split([' ', ';', '\n', '\r'])
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        if image_urls
            .iter()
            .any(|u| !u.starts_with("https://") || u.len() > 2000 || u.chars().any(char::is_control))
        {
            errors.insert("image_urls", "Image links must start with https://.".to_owned());
        } else if image_urls.len() > 10 {
            errors.insert("image_urls", "Use at most 10 image links.".to_owned());
        }
        if !errors.is_empty() {
            return Err(CatalogError::Invalid(errors));
        }
        Ok(ProductDraft {
            sku,
            name,
            name_bn: (!name_bn.is_empty()).then_some(name_bn),
            description,
            price,
            sale_price,
            stock,
            tags,
            active: self.active,
            image_urls,
            variants: Vec::new(),
        })
    }
}

/// `""`/"made to order" → made to order; else a whole number 0..=1,000,000.
pub fn parse_stock(raw: &str) -> Result<Stock, String> {
    let raw = raw.trim();
    let lower = raw.to_ascii_lowercase();
    if raw.is_empty() || lower == "made to order" || lower == "made-to-order" || lower == "mto" {
        return Ok(Stock::MadeToOrder);
    }
    match raw.parse::<i32>() {
        Ok(n) if (0..=1_000_000).contains(&n) => Ok(Stock::Quantity(n)),
        _ => Err("Enter how many are in stock (0 or more), or leave it empty for made to order.".to_owned()),
    }
}

fn sku_taken(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.constraint() == Some("products_owner_id_sku_key"))
}

pub async fn create_product_in(
    tx: &mut PgConnection,
    owner: OwnerId,
    input: &ProductInput,
) -> Result<Uuid, CatalogError> {
    let draft = input.validate()?;
    let id: Result<Uuid, sqlx::Error> = sqlx::query_scalar(
        "insert into products (owner_id, sku, name, name_bn, description, price_minor, sale_price_minor, stock, \
                               tags, image_urls, active) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
    )
    .bind(owner.as_uuid())
    .bind(&draft.sku)
    .bind(&draft.name)
    .bind(&draft.name_bn)
    .bind(&draft.description)
    .bind(draft.price.minor())
    .bind(draft.sale_price.map(Money::minor))
    .bind(stock_column(&draft.stock))
    .bind(&draft.tags)
    .bind(&draft.image_urls)
    .bind(draft.active)
    .fetch_one(&mut *tx)
    .await;
    match id {
        Ok(id) => Ok(id),
        Err(error) if sku_taken(&error) => Err(invalid(
            "sku",
            format!("You already have a product with SKU {}.", draft.sku),
        )),
        Err(error) => Err(error.into()),
    }
}

/// [`create_product_in`] in a transaction of its own.
pub async fn create_product(pool: &PgPool, owner: OwnerId, input: &ProductInput) -> Result<Uuid, CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let done = create_product_in(&mut tx, owner, input).await?;
    crate::db::commit(tx).await?;
    Ok(done)
}

pub async fn update_product_in(
    tx: &mut PgConnection,
    owner: OwnerId,
    id: Uuid,
    input: &ProductInput,
) -> Result<(), CatalogError> {
    let draft = input.validate()?;
    let updated = sqlx::query(
        "update products set sku = $3, name = $4, name_bn = $5, description = $6, price_minor = $7, \
                sale_price_minor = $8, stock = $9, tags = $10, image_urls = $11, active = $12, updated_at = now() \
          where id = $1 and owner_id = $2",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .bind(&draft.sku)
    .bind(&draft.name)
    .bind(&draft.name_bn)
    .bind(&draft.description)
    .bind(draft.price.minor())
    .bind(draft.sale_price.map(Money::minor))
    .bind(stock_column(&draft.stock))
    .bind(&draft.tags)
    .bind(&draft.image_urls)
    .bind(draft.active)
    .execute(&mut *tx)
    .await;
    match updated {
        Ok(done) if done.rows_affected() == 1 => Ok(()),
        Ok(_) => Err(CatalogError::NotFound),
        Err(error) if sku_taken(&error) => Err(invalid(
            "sku",
            format!("You already have a product with SKU {}.", draft.sku),
        )),
        Err(error) => Err(error.into()),
    }
}

/// [`update_product_in`] in a transaction of its own.
pub async fn update_product(pool: &PgPool, owner: OwnerId, id: Uuid, input: &ProductInput) -> Result<(), CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    update_product_in(&mut tx, owner, id, input).await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// Archives (hides from the agent and the list) or restores a product.
pub async fn set_archived_in(
    tx: &mut PgConnection,
    owner: OwnerId,
    id: Uuid,
    archived: bool,
) -> Result<(), CatalogError> {
    let done = sqlx::query(
        "update products set archived_at = case when $3 then coalesce(archived_at, now()) end, \
                active = case when $3 then false else active end, updated_at = now() \
          where id = $1 and owner_id = $2",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .bind(archived)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 { Err(CatalogError::NotFound) } else { Ok(()) }
}

/// [`set_archived_in`] in a transaction of its own.
pub async fn set_archived(pool: &PgPool, owner: OwnerId, id: Uuid, archived: bool) -> Result<(), CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    set_archived_in(&mut tx, owner, id, archived).await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// A variant as the owner typed it, checked (the product form's rules, also
/// used by the shop file).
pub fn validate_variant(
    size: &str,
    colour: &str,
    price_delta: &str,
    stock: &str,
) -> Result<VariantDraft, CatalogError> {
    let mut errors = FieldErrors::new();
    let size = text(&mut errors, "size", size, "size", 0, 50);
    let colour = text(&mut errors, "colour", colour, "colour", 0, 50);
    if size.is_empty() && colour.is_empty() && !errors.contains_key("size") {
        errors.insert("size", "Enter a size, a colour, or both.".to_owned());
    }
    let delta = price_delta.trim();
    let (negative, magnitude) = match delta.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, delta.strip_prefix('+').unwrap_or(delta)),
    };
    let price_delta = if magnitude.is_empty() {
        Money::ZERO
    } else {
        match parse_money(magnitude) {
            Ok(m) if negative => Money::from_minor(-m.minor()),
            Ok(m) => m,
            Err(error) => {
                errors.insert("price_delta", error.to_string());
                Money::ZERO
            }
        }
    };
    let stock = parse_stock(stock).unwrap_or_else(|message| {
        errors.insert("variant_stock", message);
        Stock::MadeToOrder
    });
    if !errors.is_empty() {
        return Err(CatalogError::Invalid(errors));
    }
    Ok(VariantDraft {
        size,
        colour,
        price_delta,
        stock,
    })
}

/// The price of `product`, which a variant's price difference must not take
/// below zero.
async fn check_variant_price(
    tx: &mut PgConnection,
    owner: OwnerId,
    product: Uuid,
    variant: &VariantDraft,
) -> Result<(), CatalogError> {
    let product_price: Option<i64> =
        sqlx::query_scalar("select price_minor from products where id = $1 and owner_id = $2")
            .bind(product)
            .bind(owner.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    let price = product_price.ok_or(CatalogError::NotFound)?;
    if price + variant.price_delta.minor() < 0 {
        return Err(invalid("price_delta", "The variant's price would be below zero."));
    }
    Ok(())
}

pub async fn add_variant(
    pool: &PgPool,
    owner: OwnerId,
    product: Uuid,
    size: &str,
    colour: &str,
    price_delta: &str,
    stock: &str,
) -> Result<(), CatalogError> {
    let variant = validate_variant(size, colour, price_delta, stock)?;
    let mut tx = begin_tenant_tx(pool, owner).await?;
    check_variant_price(&mut tx, owner, product, &variant).await?;
    let inserted = sqlx::query(
        "insert into product_variants (owner_id, product_id, size, colour, price_delta_minor, stock) \
         values ($1, $2, $3, $4, $5, $6) on conflict (product_id, size, colour) do nothing",
    )
    .bind(owner.as_uuid())
    .bind(product)
    .bind(&variant.size)
    .bind(&variant.colour)
    .bind(variant.price_delta.minor())
    .bind(stock_column(&variant.stock))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    crate::db::commit(tx).await?;
    if inserted == 0 {
        return Err(invalid("size", "This product already has that size and colour."));
    }
    Ok(())
}

/// Adds a variant to `product`, or updates the price difference and stock
/// of the one with the same size and colour (its id, which orders and
/// conversations refer to, stays).
pub async fn save_variant_in(
    tx: &mut PgConnection,
    owner: OwnerId,
    product: Uuid,
    variant: &VariantDraft,
) -> Result<(), CatalogError> {
    check_variant_price(tx, owner, product, variant).await?;
    sqlx::query(
        "insert into product_variants (owner_id, product_id, size, colour, price_delta_minor, stock) \
         values ($1, $2, $3, $4, $5, $6) on conflict (product_id, size, colour) do update \
         set price_delta_minor = excluded.price_delta_minor, stock = excluded.stock",
    )
    .bind(owner.as_uuid())
    .bind(product)
    .bind(&variant.size)
    .bind(&variant.colour)
    .bind(variant.price_delta.minor())
    .bind(stock_column(&variant.stock))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn remove_variant(pool: &PgPool, owner: OwnerId, product: Uuid, variant: Uuid) -> Result<(), CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let removed = sqlx::query("delete from product_variants where id = $1 and product_id = $2 and owner_id = $3")
        .bind(variant)
        .bind(product)
        .bind(owner.as_uuid())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    crate::db::commit(tx).await?;
    if removed == 0 {
        Err(CatalogError::NotFound)
    } else {
        Ok(())
    }
}

// ------------------------------------------------------------------ rules

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct Rules {
    pub tone: String,
    pub never_say: Vec<String>,
    pub review_topics: Vec<String>,
    pub greeting: String,
    pub away_message: String,
    pub holding_message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct FaqEntry {
    pub id: Uuid,
    pub patterns: Vec<String>,
    pub answer: String,
}

pub async fn load_rules_in(tx: &mut PgConnection, owner: OwnerId) -> Result<Rules, CatalogError> {
    let rules: Option<Rules> = sqlx::query_as(
        "select tone, never_say, review_topics, greeting, away_message, holding_message from reply_rules \
          where owner_id = $1",
    )
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    Ok(rules.unwrap_or_else(|| Rules {
        tone: "friendly".to_owned(),
        ..Rules::default()
    }))
}

/// [`load_rules_in`] in a transaction of its own.
pub async fn load_rules(pool: &PgPool, owner: OwnerId) -> Result<Rules, CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let done = load_rules_in(&mut tx, owner).await?;
    crate::db::commit(tx).await?;
    Ok(done)
}

fn lines(raw: &str, max_items: usize, max_len: usize) -> Result<Vec<String>, String> {
    let items: Vec<String> = raw
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if items.len() > max_items {
        return Err(format!("Use at most {max_items} lines."));
    }
    if items.iter().any(|i| i.chars().count() > max_len) {
        return Err(format!("Keep each line under {max_len} characters."));
    }
    Ok(items)
}

/// The rules form's checks (also used by the shop file): the lists are
/// one item per line.
pub fn validate_rules(
    tone: &str,
    never_say: &str,
    review_topics: &str,
    greeting: &str,
    away_message: &str,
    holding_message: &str,
) -> Result<Rules, CatalogError> {
    let mut errors = FieldErrors::new();
    let tone = tone.trim();
    if tone != "friendly" && tone != "formal" {
        errors.insert("tone", "Choose friendly or formal.".to_owned());
    }
    let never_say = lines(never_say, 50, 200).unwrap_or_else(|m| {
        errors.insert("never_say", m);
        Vec::new()
    });
    let review_topics = lines(review_topics, 50, 100).unwrap_or_else(|m| {
        errors.insert("review_topics", m);
        Vec::new()
    });
    let greeting = text(&mut errors, "greeting", greeting, "greeting", 0, 1000);
    let away_message = text(&mut errors, "away_message", away_message, "away message", 0, 1000);
    let holding_message = text(
        &mut errors,
        "holding_message",
        holding_message,
        "holding message",
        0,
        1000,
    );
    if !errors.is_empty() {
        return Err(CatalogError::Invalid(errors));
    }
    Ok(Rules {
        tone: tone.to_owned(),
        never_say,
        review_topics,
        greeting,
        away_message,
        holding_message,
    })
}

#[expect(clippy::too_many_arguments, reason = "one per field of the rules form")]
pub async fn save_rules_in(
    tx: &mut PgConnection,
    owner: OwnerId,
    tone: &str,
    never_say: &str,
    review_topics: &str,
    greeting: &str,
    away_message: &str,
    holding_message: &str,
) -> Result<(), CatalogError> {
    let Rules {
        tone,
        never_say,
        review_topics,
        greeting,
        away_message,
        holding_message,
    } = validate_rules(tone, never_say, review_topics, greeting, away_message, holding_message)?;
    sqlx::query(
        "insert into reply_rules (owner_id, tone, never_say, review_topics, greeting, away_message, holding_message) \
         values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict (owner_id) do update set tone = excluded.tone, never_say = excluded.never_say, \
             review_topics = excluded.review_topics, greeting = excluded.greeting, \
             away_message = excluded.away_message, holding_message = excluded.holding_message, updated_at = now()",
    )
    .bind(owner.as_uuid())
    .bind(tone)
    .bind(never_say)
    .bind(review_topics)
    .bind(greeting)
    .bind(away_message)
    .bind(holding_message)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// [`save_rules_in`] in a transaction of its own.
#[expect(clippy::too_many_arguments, reason = "one per field of the rules form")]
pub async fn save_rules(
    pool: &PgPool,
    owner: OwnerId,
    tone: &str,
    never_say: &str,
    review_topics: &str,
    greeting: &str,
    away_message: &str,
    holding_message: &str,
) -> Result<(), CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    save_rules_in(
        &mut tx,
        owner,
        tone,
        never_say,
        review_topics,
        greeting,
        away_message,
        holding_message,
    )
    .await?;
    crate::db::commit(tx).await?;
    Ok(())
}

pub async fn list_faq(pool: &PgPool, owner: OwnerId) -> Result<Vec<FaqEntry>, CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let rows = sqlx::query_as(
        "select id, patterns, answer from faq_entries where owner_id = $1 order by position, created_at",
    )
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    Ok(rows)
}

/// A question and answer as the owner typed them, checked.
fn faq_fields(patterns: &str, answer: &str) -> Result<(Vec<String>, String), CatalogError> {
    let mut errors = FieldErrors::new();
    let patterns = lines(patterns, 20, 200).unwrap_or_else(|m| {
        errors.insert("patterns", m);
        Vec::new()
    });
    if patterns.is_empty() && !errors.contains_key("patterns") {
        errors.insert(
            "patterns",
            "Write at least one way a customer might ask, one per line.".to_owned(),
        );
    }
    let answer = text(&mut errors, "answer", answer, "answer", 1, 2000);
    if !errors.is_empty() {
        return Err(CatalogError::Invalid(errors));
    }
    Ok((patterns, answer))
}

pub async fn add_faq(pool: &PgPool, owner: OwnerId, patterns: &str, answer: &str) -> Result<(), CatalogError> {
    let (patterns, answer) = faq_fields(patterns, answer)?;
    let mut tx = begin_tenant_tx(pool, owner).await?;
    insert_faq(&mut tx, owner, &patterns, &answer).await?;
    crate::db::commit(tx).await?;
    Ok(())
}

async fn insert_faq(
    tx: &mut PgConnection,
    owner: OwnerId,
    patterns: &[String],
    answer: &str,
) -> Result<(), CatalogError> {
    sqlx::query(
        "insert into faq_entries (owner_id, patterns, answer, position) \
         values ($1, $2, $3, (select count(*) from faq_entries where owner_id = $1))",
    )
    .bind(owner.as_uuid())
    .bind(patterns)
    .bind(answer)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Adds a question and answer, or, when the owner already has an entry with
/// this very answer, replaces its patterns (so importing a file twice adds
/// no twins). Returns whether it was new.
pub async fn save_faq_in(
    tx: &mut PgConnection,
    owner: OwnerId,
    patterns: &str,
    answer: &str,
) -> Result<bool, CatalogError> {
    let (patterns, answer) = faq_fields(patterns, answer)?;
    let updated = sqlx::query("update faq_entries set patterns = $3 where owner_id = $1 and answer = $2")
        .bind(owner.as_uuid())
        .bind(&answer)
        .bind(&patterns)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        insert_faq(tx, owner, &patterns, &answer).await?;
    }
    Ok(updated == 0)
}

pub async fn remove_faq(pool: &PgPool, owner: OwnerId, id: Uuid) -> Result<(), CatalogError> {
    delete_owned(pool, owner, OwnedTable::FaqEntries, id).await
}

// ----------------------------------------------------------------- import

/// Keeps a parsed file until the owner confirms it on the preview page.
pub async fn save_preview(
    pool: &PgPool,
    owner: OwnerId,
    source: &str,
    preview: &CsvPreview,
) -> Result<Uuid, CatalogError> {
    let rows = serde_json::to_value(preview).map_err(|e| CatalogError::Database(sqlx::Error::Decode(Box::new(e))))?;
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let id: Uuid = sqlx::query_scalar(
        "insert into catalog_imports (owner_id, source, rows, valid) values ($1, $2, $3, $4) returning id",
    )
    .bind(owner.as_uuid())
    .bind(source)
    .bind(rows)
    .bind(preview.is_valid())
    .fetch_one(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    Ok(id)
}

pub async fn load_preview(pool: &PgPool, owner: OwnerId, id: Uuid) -> Result<(CsvPreview, bool), CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let row: Option<(serde_json::Value, Option<time::OffsetDateTime>)> = sqlx::query_as(
        "select rows, imported_at from catalog_imports where id = $1 and owner_id = $2 \
            and created_at > now() - interval '1 day'",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    let (rows, imported_at) = row.ok_or(CatalogError::NotFound)?;
    let preview = serde_json::from_value(rows).map_err(|e| CatalogError::Database(sqlx::Error::Decode(Box::new(e))))?;
    Ok((preview, imported_at.is_some()))
}

/// Imports a confirmed preview in one transaction: every product is created
/// or updated by SKU (its variants replaced), or nothing is.
pub async fn commit_import(pool: &PgPool, owner: OwnerId, id: Uuid) -> Result<usize, CatalogError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let row: Option<serde_json::Value> = sqlx::query_scalar(
        "select rows from catalog_imports where id = $1 and owner_id = $2 and valid and imported_at is null \
            and created_at > now() - interval '1 day' for update",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let preview: CsvPreview = serde_json::from_value(row.ok_or(CatalogError::NotFound)?)
        .map_err(|e| CatalogError::Database(sqlx::Error::Decode(Box::new(e))))?;
    if !preview.is_valid() {
        return Err(invalid("file", "Fix the file's errors and upload it again."));
    }
    for product in &preview.products {
        let product_id: Uuid = sqlx::query_scalar(
            "insert into products (owner_id, sku, name, name_bn, description, price_minor, sale_price_minor, stock, \
                                   tags, image_urls, active) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             on conflict (owner_id, sku) do update set name = excluded.name, name_bn = excluded.name_bn, \
                 description = excluded.description, price_minor = excluded.price_minor, \
                 sale_price_minor = excluded.sale_price_minor, stock = excluded.stock, tags = excluded.tags, \
                 image_urls = excluded.image_urls, active = excluded.active, archived_at = null, updated_at = now() \
             returning id",
        )
        .bind(owner.as_uuid())
        .bind(&product.sku)
        .bind(&product.name)
        .bind(&product.name_bn)
        .bind(&product.description)
        .bind(product.price.minor())
        .bind(product.sale_price.map(Money::minor))
        .bind(stock_column(&product.stock))
        .bind(&product.tags)
        .bind(&product.image_urls)
        .bind(product.active)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("delete from product_variants where product_id = $1 and owner_id = $2")
            .bind(product_id)
            .bind(owner.as_uuid())
            .execute(&mut *tx)
            .await?;
        for variant in &product.variants {
            sqlx::query(
                "insert into product_variants (owner_id, product_id, size, colour, price_delta_minor, stock) \
                 values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(owner.as_uuid())
            .bind(product_id)
            .bind(&variant.size)
            .bind(&variant.colour)
            .bind(variant.price_delta.minor())
            .bind(stock_column(&variant.stock))
            .execute(&mut *tx)
            .await?;
        }
    }
    sqlx::query("update catalog_imports set imported_at = now() where id = $1 and owner_id = $2")
        .bind(id)
        .bind(owner.as_uuid())
        .execute(&mut *tx)
        .await?;
    crate::db::commit(tx).await?;
    Ok(preview.products.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_domains_are_normalised_and_checked() {
        assert_eq!(
            parse_link_domain("https://www.Rahima.shop/sarees?x=1"),
            Ok("rahima.shop".to_owned())
        );
        assert_eq!(parse_link_domain("facebook.com"), Ok("facebook.com".to_owned()));
        for bad in [
            "localhost",
            "javascript:alert(1)",
            "exa mple.com",
            "-bad.com",
            "a..b",
            "",
        ] {
            assert!(parse_link_domain(bad).is_err(), "{bad}");
        }
    }
}
