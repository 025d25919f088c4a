//! The shop file (docs/SHOP_FILE.md): one JSON document describing a whole
//! shop, for `bikriagent converse` (answered from in memory, see
//! [`ShopFile::to_grounding`]) and for loading into a real account
//! ([`import`], from `bikriagent import-shop` or the catalog's import page).
//!
//! Reading is strict: unknown fields are refused (a misspelt `colr` would
//! otherwise vanish silently), and every problem is reported at once with
//! the path of the field it is about, e.g. `products[3].price: "12x" is not
//! an amount`. Values are checked with the same rules as the owner's forms
//! (the store's validators), so a file that reads is a file that imports.

use std::collections::HashMap;

use serde::Deserialize;
use sha1::{Digest as _, Sha1};
use sqlx::PgPool;
use uuid::Uuid;

use super::csv_import::{ProductDraft, Stock};
use super::money::{self, Money};
use super::store::{self, CatalogError, FieldErrors, PAYMENT_KINDS, ProductInput};
use crate::catalog::store::{DeliveryArea, FaqEntry, PaymentMethod, Profile, Rules, VariantRow};
use crate::pipeline::grounding::{GroundedProduct, Grounding};
use crate::tenancy::{OwnerId, begin_tenant_tx};

/// The largest shop file accepted, as for a CSV import.
pub const MAX_SHOP_FILE_BYTES: usize = super::csv_import::MAX_IMPORT_BYTES;

// ------------------------------------------------------------ the format

/// An amount as written in the file: `"1850"`, `"1,250.50"` or a plain JSON
/// number; parsed with [`money::parse_money`] when the file is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Amount(String);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(serde_json::Number),
        }
        match Raw::deserialize(deserializer) {
            Ok(Raw::Text(text)) => Ok(Amount(text)),
            Ok(Raw::Number(number)) => Ok(Amount(number.to_string())),
            Err(_) => Err(serde::de::Error::custom(
                "expected an amount such as \"1850\" or \"99.50\"",
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShop {
    profile: RawProfile,
    #[serde(default)]
    delivery_areas: Vec<RawArea>,
    #[serde(default)]
    payment_methods: Vec<RawPayment>,
    #[serde(default)]
    products: Vec<RawProduct>,
    #[serde(default)]
    faq: Vec<RawFaq>,
    #[serde(default)]
    rules: RawRules,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    description: Option<String>,
    city: Option<String>,
    address: Option<String>,
    phone: Option<String>,
    currency: Option<String>,
    languages: Option<Vec<String>>,
    opening_hours: Option<String>,
    return_policy: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArea {
    name: String,
    charge: Amount,
    #[serde(default)]
    min_days: i64,
    #[serde(default)]
    max_days: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayment {
    kind: String,
    #[serde(default)]
    instructions: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    sku: String,
    name: String,
    name_bn: Option<String>,
    #[serde(default)]
    description: String,
    price: Amount,
    sale_price: Option<Amount>,
    stock: Option<i64>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    image_urls: Vec<String>,
    #[serde(default)]
    variants: Vec<RawVariant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariant {
    #[serde(default)]
    size: String,
    #[serde(default)]
    colour: String,
    price_delta: Option<Amount>,
    stock: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaq {
    patterns: Vec<String>,
    answer: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    tone: Option<String>,
    #[serde(default)]
    never_say: Vec<String>,
    #[serde(default)]
    review_topics: Vec<String>,
    greeting: Option<String>,
    away_message: Option<String>,
    holding_message: Option<String>,
}

// ------------------------------------------------------- the checked file

/// A shop file that passed every check. Optional profile and rules fields
/// are `None` when the file left them out: an import keeps the account's
/// value, [`ShopFile::to_grounding`] uses the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopFile {
    pub profile: ShopProfile,
    pub delivery_areas: Vec<ShopArea>,
    pub payment_methods: Vec<ShopPayment>,
    pub products: Vec<ProductDraft>,
    pub faq: Vec<ShopFaq>,
    pub rules: ShopRules,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopProfile {
    pub name: String,
    pub description: Option<String>,
    pub city: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    /// Upper case, three letters.
    pub currency: Option<String>,
    /// `en` and/or `bn`.
    pub languages: Option<Vec<String>>,
    pub opening_hours: Option<String>,
    pub return_policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopArea {
    pub name: String,
    pub charge: Money,
    pub min_days: i32,
    pub max_days: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopPayment {
    /// One of [`PAYMENT_KINDS`].
    pub kind: String,
    pub instructions: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopFaq {
    pub patterns: Vec<String>,
    pub answer: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShopRules {
    pub tone: Option<String>,
    pub never_say: Vec<String>,
    pub review_topics: Vec<String>,
    pub greeting: Option<String>,
    pub away_message: Option<String>,
    pub holding_message: Option<String>,
}

/// Why a shop file was refused: every problem found, each naming its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ShopFileError {
    pub problems: Vec<String>,
}

impl ShopFileError {
    fn one(problem: impl Into<String>) -> Self {
        ShopFileError {
            problems: vec![problem.into()],
        }
    }
}

/// Collects problems under field paths.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, path: &str, message: impl std::fmt::Display) {
        self.0.push(format!("{path}: {message}"));
    }

    /// A store validator's field errors, under `path`; `rename` maps the
    /// form's field names to the file's.
    fn fields(&mut self, path: &str, errors: FieldErrors, rename: &[(&str, &str)]) {
        for (field, message) in errors {
            let field = rename
                .iter()
                .find(|(form, _)| *form == field)
                .map_or(field, |(_, file)| file);
            self.add(&format!("{path}.{field}"), message);
        }
    }

    fn amount(&mut self, path: &str, raw: &Amount) -> Option<Money> {
        match money::parse_money(&raw.0) {
            Ok(amount) => Some(amount),
            Err(error) => {
                self.add(path, format!("\"{}\" is not an amount ({error})", raw.0));
                None
            }
        }
    }

    /// Text for the store's line-based fields (patterns, rule lists): one
    /// item per line, so an item must not hold a line break itself.
    fn lines(&mut self, path: &str, items: &[String]) -> Vec<String> {
        let mut kept = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if item.chars().any(char::is_control) {
                self.add(&format!("{path}[{i}]"), "keep each item on one line");
            } else if !item.trim().is_empty() {
                kept.push(item.trim().to_owned());
            }
        }
        kept
    }
}

impl ShopFile {
    /// Reads and checks a shop file (UTF-8 JSON, a BOM allowed).
    ///
    /// # Errors
    ///
    /// Every problem found, each with the path of its field.
    pub fn from_json(bytes: &[u8]) -> Result<ShopFile, ShopFileError> {
        if bytes.len() > MAX_SHOP_FILE_BYTES {
            return Err(ShopFileError::one(
                "The shop file is larger than 2 MB. Split the products into several files.",
            ));
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let raw: RawShop = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if path == "." {
                ShopFileError::one(format!("The shop file is not valid: {inner}"))
            } else {
                ShopFileError::one(format!("{path}: {inner}"))
            }
        })?;
        deserializer
            .end()
            .map_err(|error| ShopFileError::one(format!("The shop file is not valid: {error}")))?;
        raw.check()
    }

    /// The shop as the reply engine, the safety filter and the order step
    /// see it, with no database: every product (a live account narrows them
    /// to the [`crate::pipeline::grounding::MAX_GROUNDED_PRODUCTS`] most
    /// relevant to each message). Ids are derived from the SKU or position
    /// (UUID v5), so the same file always gives the same grounding.
    pub fn to_grounding(&self) -> Grounding {
        let profile = &self.profile;
        let products: Vec<GroundedProduct> = self
            .products
            .iter()
            .map(|product| GroundedProduct {
                id: file_id(&format!("product:{}", product.sku)),
                sku: product.sku.clone(),
                name: product.name.clone(),
                name_bn: product.name_bn.clone(),
                description: product.description.clone(),
                price_minor: product.price.minor(),
                sale_price_minor: product.sale_price.map(Money::minor),
                stock: stock_count(&product.stock),
                tags: product.tags.clone(),
                variants: product
                    .variants
                    .iter()
                    .enumerate()
                    .map(|(i, variant)| VariantRow {
                        id: file_id(&format!("variant:{}:{i}", product.sku)),
                        size: variant.size.clone(),
                        colour: variant.colour.clone(),
                        price_delta_minor: variant.price_delta.minor(),
                        stock: stock_count(&variant.stock),
                    })
                    .collect(),
            })
            .collect();
        let phone_digits: String = profile
            .phone
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        Grounding {
            profile: Profile {
                name: profile.name.clone(),
                description: profile.description.clone().unwrap_or_default(),
                city: profile.city.clone().unwrap_or_default(),
                currency: profile.currency.clone().unwrap_or_else(|| "BDT".to_owned()),
                languages: profile
                    .languages
                    .clone()
                    .unwrap_or_else(|| vec!["en".to_owned(), "bn".to_owned()]),
                opening_hours: profile.opening_hours.clone().unwrap_or_default(),
                return_policy: profile.return_policy.clone().unwrap_or_default(),
            },
            catalog_size: products.len() as i64,
            products,
            delivery_areas: self
                .delivery_areas
                .iter()
                .enumerate()
                .map(|(i, area)| DeliveryArea {
                    id: file_id(&format!("area:{i}")),
                    name: area.name.clone(),
                    charge_minor: area.charge.minor(),
                    min_days: area.min_days,
                    max_days: area.max_days,
                })
                .collect(),
            payment_methods: self
                .payment_methods
                .iter()
                .map(|method| PaymentMethod {
                    id: file_id(&format!("payment:{}", method.kind)),
                    kind: method.kind.clone(),
                    label: payment_label(&method.kind).to_owned(),
                    instructions: method.instructions.clone(),
                })
                .collect(),
            rules: Rules {
                tone: self.rules.tone.clone().unwrap_or_else(|| "friendly".to_owned()),
                never_say: self.rules.never_say.clone(),
                review_topics: self.rules.review_topics.clone(),
                greeting: self.rules.greeting.clone().unwrap_or_default(),
                away_message: self.rules.away_message.clone().unwrap_or_default(),
                holding_message: self.rules.holding_message.clone().unwrap_or_default(),
            },
            faq: self
                .faq
                .iter()
                .enumerate()
                .map(|(i, entry)| FaqEntry {
                    id: file_id(&format!("faq:{i}")),
                    patterns: entry.patterns.clone(),
                    answer: entry.answer.clone(),
                })
                .collect(),
            link_domains: Vec::new(),
            // As a live account's: the profile's phone, when it is one.
            owner_phones: Some(phone_digits).filter(|d| d.len() >= 6).into_iter().collect(),
            owner_address: profile.address.clone().unwrap_or_default(),
        }
    }
}

/// The namespace of ids derived from a shop file.
const SHOP_FILE_NAMESPACE: Uuid = Uuid::from_u128(0x6b1e_5f0a_93c4_4d2e_8a51_0c7d_2f49_b318);

/// A UUID v5 (SHA-1 of the namespace and `name`), as `Uuid::new_v5` makes it.
fn file_id(name: &str) -> Uuid {
    let mut hash = Sha1::new();
    hash.update(SHOP_FILE_NAMESPACE.as_bytes());
    hash.update(name.as_bytes());
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

fn stock_count(stock: &Stock) -> Option<i32> {
    match stock {
        Stock::Quantity(n) => Some(*n),
        Stock::MadeToOrder => None,
    }
}

fn payment_label(kind: &str) -> &'static str {
    PAYMENT_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("Other", |(_, label)| label)
}

impl RawShop {
    fn check(self) -> Result<ShopFile, ShopFileError> {
        let mut problems = Problems::default();
        let profile = check_profile(self.profile, &mut problems);
        let mut delivery_areas: Vec<ShopArea> = Vec::new();
        for (i, area) in self.delivery_areas.into_iter().enumerate() {
            let path = format!("delivery_areas[{i}]");
            if let Some(first) = delivery_areas.iter().position(|a| a.name == area.name.trim()) {
                problems.add(
                    &format!("{path}.name"),
                    format!("\"{}\" is already delivery_areas[{first}]", area.name.trim()),
                );
                continue;
            }
            let charge = problems.amount(&format!("{path}.charge"), &area.charge);
            match store_area(&area) {
                Ok(()) if charge.is_some() => delivery_areas.push(ShopArea {
                    name: area.name.trim().to_owned(),
                    charge: charge.unwrap_or(Money::ZERO),
                    min_days: area.min_days as i32,
                    max_days: area.max_days as i32,
                }),
                Ok(()) => {}
                Err(errors) => problems.fields(&path, errors, &[("area_name", "name"), ("max_days", "max_days")]),
            }
        }
        let mut payment_methods: Vec<ShopPayment> = Vec::new();
        for (i, method) in self.payment_methods.into_iter().enumerate() {
            let path = format!("payment_methods[{i}]");
            let kind = method.kind.trim().to_lowercase();
            if !PAYMENT_KINDS.iter().any(|(k, _)| *k == kind) {
                let kinds: Vec<&str> = PAYMENT_KINDS.iter().map(|(k, _)| *k).collect();
                problems.add(
                    &format!("{path}.kind"),
                    format!("\"{}\" is not one of {}", method.kind, kinds.join(", ")),
                );
            } else if let Some(first) = payment_methods.iter().position(|m| m.kind == kind) {
                problems.add(
                    &format!("{path}.kind"),
                    format!("{kind} is already payment_methods[{first}]"),
                );
            } else if method.instructions.chars().count() > 1000 {
                problems.add(&format!("{path}.instructions"), "keep it under 1000 characters");
            } else if method
                .instructions
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                problems.add(&format!("{path}.instructions"), "remove the hidden control characters");
            } else {
                payment_methods.push(ShopPayment {
                    kind,
                    instructions: method.instructions.trim().to_owned(),
                });
            }
        }
        let products = check_products(self.products, &mut problems);
        let mut faq = Vec::new();
        for (i, entry) in self.faq.into_iter().enumerate() {
            let path = format!("faq[{i}]");
            let patterns = problems.lines(&format!("{path}.patterns"), &entry.patterns);
            if patterns.is_empty() {
                problems.add(
                    &format!("{path}.patterns"),
                    "write at least one way a customer might ask",
                );
            } else if patterns.len() > 20 || patterns.iter().any(|p| p.chars().count() > 200) {
                problems.add(
                    &format!("{path}.patterns"),
                    "use at most 20 patterns of up to 200 characters",
                );
            }
            let answer = entry.answer.trim().to_owned();
            if answer.is_empty() || answer.chars().count() > 2000 {
                problems.add(&format!("{path}.answer"), "write an answer of up to 2000 characters");
            }
            faq.push(ShopFaq { patterns, answer });
        }
        let rules = check_rules(self.rules, &mut problems);
        if problems.0.is_empty() {
            Ok(ShopFile {
                profile,
                delivery_areas,
                payment_methods,
                products,
                faq,
                rules,
            })
        } else {
            Err(ShopFileError { problems: problems.0 })
        }
    }
}

/// The delivery area form's checks (name, days) on a file's area.
fn store_area(area: &RawArea) -> Result<(), FieldErrors> {
    // The charge was checked on its own, with the file's wording.
    match store::validate_delivery_area(&area.name, "0", &area.min_days.to_string(), &area.max_days.to_string()) {
        Ok(_) => Ok(()),
        Err(CatalogError::Invalid(errors)) => Err(errors),
        Err(_) => Ok(()),
    }
}

fn check_profile(raw: RawProfile, problems: &mut Problems) -> ShopProfile {
    let input = store::ProfileInput {
        name: raw.name.clone(),
        description: raw.description.clone().unwrap_or_default(),
        city: raw.city.clone().unwrap_or_default(),
        currency: raw.currency.clone().unwrap_or_else(|| "BDT".to_owned()),
        answers_english: raw.languages.as_ref().is_none_or(|l| l.iter().any(|l| l == "en")),
        answers_bangla: raw.languages.as_ref().is_none_or(|l| l.iter().any(|l| l == "bn")),
        opening_hours: raw.opening_hours.clone().unwrap_or_default(),
        return_policy: raw.return_policy.clone().unwrap_or_default(),
    };
    if let Err(CatalogError::Invalid(errors)) = store::validate_profile(&input) {
        problems.fields("profile", errors, &[]);
    }
    if let Some(languages) = &raw.languages {
        for (i, language) in languages.iter().enumerate() {
            if language != "en" && language != "bn" {
                problems.add(
                    &format!("profile.languages[{i}]"),
                    format!("\"{language}\" is not en or bn"),
                );
            }
        }
    }
    if let Err(CatalogError::Invalid(errors)) = store::validate_contact(
        raw.phone.as_deref().unwrap_or_default(),
        raw.address.as_deref().unwrap_or_default(),
        "",
    ) {
        problems.fields("profile", errors, &[("contact_phone", "phone")]);
    }
    let trimmed = |value: Option<String>| value.map(|v| v.trim().to_owned());
    ShopProfile {
        name: raw.name.trim().to_owned(),
        description: trimmed(raw.description),
        city: trimmed(raw.city),
        address: trimmed(raw.address),
        phone: trimmed(raw.phone),
        currency: raw.currency.map(|c| c.trim().to_uppercase()),
        languages: raw.languages,
        opening_hours: trimmed(raw.opening_hours),
        return_policy: trimmed(raw.return_policy),
    }
}

fn check_rules(raw: RawRules, problems: &mut Problems) -> ShopRules {
    let never_say = problems.lines("rules.never_say", &raw.never_say);
    let review_topics = problems.lines("rules.review_topics", &raw.review_topics);
    if let Err(CatalogError::Invalid(errors)) = store::validate_rules(
        raw.tone.as_deref().unwrap_or("friendly"),
        &never_say.join("\n"),
        &review_topics.join("\n"),
        raw.greeting.as_deref().unwrap_or_default(),
        raw.away_message.as_deref().unwrap_or_default(),
        raw.holding_message.as_deref().unwrap_or_default(),
    ) {
        problems.fields("rules", errors, &[]);
    }
    let trimmed = |value: Option<String>| value.map(|v| v.trim().to_owned());
    ShopRules {
        tone: trimmed(raw.tone),
        never_say,
        review_topics,
        greeting: trimmed(raw.greeting),
        away_message: trimmed(raw.away_message),
        holding_message: trimmed(raw.holding_message),
    }
}

fn check_products(raw: Vec<RawProduct>, problems: &mut Problems) -> Vec<ProductDraft> {
    let mut products: Vec<ProductDraft> = Vec::new();
    // Lower-cased SKU → index of its first product, as in the CSV import:
    // owners and customers don't tell `abc-1` from `ABC-1`.
    let mut skus: HashMap<String, usize> = HashMap::new();
    for (i, product) in raw.into_iter().enumerate() {
        let path = format!("products[{i}]");
        let before = problems.0.len();
        let key = product.sku.trim().to_lowercase();
        if let Some(first) = skus.get(&key) {
            problems.add(
                &format!("{path}.sku"),
                format!("\"{}\" is already the SKU of products[{first}]", product.sku.trim()),
            );
        } else {
            skus.insert(key, i);
        }
        let price = problems.amount(&format!("{path}.price"), &product.price);
        let sale = product
            .sale_price
            .as_ref()
            .map(|sale| problems.amount(&format!("{path}.sale_price"), sale));
        if product.tags.iter().any(|tag| tag.contains(';')) {
            problems.add(&format!("{path}.tags"), "a tag can't contain a semicolon");
        }
        if product.image_urls.iter().any(|url| url.contains(';')) {
            problems.add(&format!("{path}.image_urls"), "a link can't contain a semicolon");
        }
        let mut variants = Vec::new();
        for (j, variant) in product.variants.iter().enumerate() {
            let vpath = format!("{path}.variants[{j}]");
            let delta = match &variant.price_delta {
                Some(raw) => match money::parse_signed_money(&raw.0) {
                    Ok(delta) => Some(delta),
                    Err(error) => {
                        problems.add(
                            &format!("{vpath}.price_delta"),
                            format!("\"{}\" is not an amount ({error})", raw.0),
                        );
                        None
                    }
                },
                None => Some(Money::ZERO),
            };
            let stock = variant.stock.map(|n| n.to_string()).unwrap_or_default();
            match store::validate_variant(&variant.size, &variant.colour, "0", &stock) {
                Ok(mut draft) => {
                    let same = |v: &super::csv_import::VariantDraft| {
                        v.size.to_lowercase() == draft.size.to_lowercase()
                            && v.colour.to_lowercase() == draft.colour.to_lowercase()
                    };
                    if let Some(first) = variants.iter().position(same) {
                        problems.add(&vpath, format!("the same size and colour as {path}.variants[{first}]"));
                    }
                    if let (Some(delta), Some(price)) = (delta, price) {
                        let below = |base: Money| base.checked_add(delta).is_none_or(|p| p < Money::ZERO);
                        if below(price) || sale.flatten().is_some_and(below) {
                            problems.add(&format!("{vpath}.price_delta"), "it would take the price below zero");
                        }
                        draft.price_delta = delta;
                    }
                    variants.push(draft);
                }
                Err(CatalogError::Invalid(errors)) => {
                    problems.fields(&vpath, errors, &[("variant_stock", "stock")]);
                }
                Err(_) => {}
            }
        }
        // "The product's stock is then the sum of its variants'", when each
        // variant counts its own.
        let counted: Option<i64> = (!variants.is_empty())
            .then(|| {
                variants
                    .iter()
                    .map(|v| stock_count(&v.stock).map(i64::from))
                    .sum::<Option<i64>>()
            })
            .flatten();
        let stock = match (product.stock, counted) {
            (Some(given), Some(sum)) if given != sum => {
                problems.add(
                    &format!("{path}.stock"),
                    format!("{given} is not the sum of its variants' stock ({sum}); leave it out"),
                );
                product.stock
            }
            (None, Some(sum)) => Some(sum),
            (given, _) => given,
        };
        let input = ProductInput {
            sku: product.sku.clone(),
            name: product.name.clone(),
            name_bn: product.name_bn.clone().unwrap_or_default(),
            description: product.description.clone(),
            // Checked above with the file's wording; a valid stand-in here
            // so the form's other checks (sale below price) still run.
            price: price.map_or_else(|| "0".to_owned(), money::format_plain),
            sale_price: sale.flatten().map(money::format_plain).unwrap_or_default(),
            stock: stock.map(|n| n.to_string()).unwrap_or_default(),
            tags: product.tags.join(";"),
            image_urls: product.image_urls.join(";"),
            active: true,
        };
        match input.validate() {
            Ok(mut draft) => {
                draft.variants = variants;
                if problems.0.len() == before {
                    products.push(draft);
                }
            }
            Err(CatalogError::Invalid(mut errors)) => {
                if price.is_none() {
                    // Reported above; "sale price below price" can't be judged.
                    errors.remove("price");
                    errors.remove("sale_price");
                }
                if sale.is_some_and(|s| s.is_none()) {
                    errors.remove("sale_price");
                }
                problems.fields(&path, errors, &[]);
            }
            Err(_) => {}
        }
    }
    products
}

// ------------------------------------------------------------- the import

/// What an import did, for the owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub products_created: usize,
    pub products_updated: usize,
    pub variants: usize,
    pub delivery_areas_created: usize,
    pub delivery_areas_updated: usize,
    pub payment_methods: usize,
    pub faq_created: usize,
    pub faq_updated: usize,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} products added and {} updated ({} variants), {} delivery areas added and {} updated, {} payment \
             methods, {} questions added and {} updated",
            self.products_created,
            self.products_updated,
            self.variants,
            self.delivery_areas_created,
            self.delivery_areas_updated,
            self.payment_methods,
            self.faq_created,
            self.faq_updated
        )
    }
}

/// Why an import failed; nothing of the file was saved.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A problem with the file's data, naming its field.
    #[error("{0}")]
    Invalid(String),
    /// The account has no business profile.
    #[error("the account has no shop profile")]
    NoProfile,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl ImportError {
    fn at(path: &str, error: CatalogError) -> ImportError {
        match error {
            CatalogError::Invalid(errors) => ImportError::Invalid(
                errors
                    .into_iter()
                    .map(|(field, message)| format!("{path}.{field}: {message}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            CatalogError::NotFound => ImportError::NoProfile,
            CatalogError::Database(error) => ImportError::Database(error),
        }
    }
}

/// Loads a shop file into `owner`'s account, in one transaction: all of it
/// or nothing. What the file names is added or updated, and nothing is
/// deleted:
/// - the profile, address and phone: the fields the file gives replace the
///   account's, the others stay;
/// - delivery areas by name, payment methods by kind, questions by their
///   answer: updated when the account has one already, else added;
/// - products by SKU: updated (and restored if archived) or added; their
///   variants by size and colour likewise, other variants stay;
/// - rules: the texts the file gives replace the account's; the never-say
///   phrases and review topics are added to the account's lists.
///
/// # Errors
///
/// [`ImportError::Invalid`] when a value is refused by the store's checks
/// (naming its field), [`ImportError::NoProfile`], or a database error.
pub async fn import(pool: &PgPool, owner: OwnerId, file: &ShopFile) -> Result<ImportReport, ImportError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let mut report = ImportReport::default();
    let current = store::load_profile_in(&mut tx, owner)
        .await
        .map_err(|e| ImportError::at("profile", e))?;
    let p = &file.profile;
    let languages = p.languages.clone().unwrap_or(current.languages);
    store::save_profile_in(
        &mut tx,
        owner,
        &store::ProfileInput {
            name: p.name.clone(),
            description: p.description.clone().unwrap_or(current.description),
            city: p.city.clone().unwrap_or(current.city),
            currency: p.currency.clone().unwrap_or(current.currency),
            answers_english: languages.iter().any(|l| l == "en"),
            answers_bangla: languages.iter().any(|l| l == "bn"),
            opening_hours: p.opening_hours.clone().unwrap_or(current.opening_hours),
            return_policy: p.return_policy.clone().unwrap_or(current.return_policy),
        },
    )
    .await
    .map_err(|e| ImportError::at("profile", e))?;
    let contact = store::load_contact_in(&mut tx, owner)
        .await
        .map_err(|e| ImportError::at("profile", e))?;
    store::save_contact_in(
        &mut tx,
        owner,
        p.phone.as_deref().unwrap_or(&contact.contact_phone),
        p.address.as_deref().unwrap_or(&contact.address),
        contact.bot_disclosure,
        &contact.link_domains.join("\n"),
    )
    .await
    .map_err(|e| ImportError::at("profile", e))?;
    for (i, area) in file.delivery_areas.iter().enumerate() {
        let created = store::save_delivery_area_in(
            &mut tx,
            owner,
            &area.name,
            &money::format_plain(area.charge),
            &area.min_days.to_string(),
            &area.max_days.to_string(),
        )
        .await
        .map_err(|e| ImportError::at(&format!("delivery_areas[{i}]"), e))?;
        if created {
            report.delivery_areas_created += 1;
        } else {
            report.delivery_areas_updated += 1;
        }
    }
    for (i, method) in file.payment_methods.iter().enumerate() {
        store::add_payment_method_in(&mut tx, owner, &method.kind, &method.instructions)
            .await
            .map_err(|e| ImportError::at(&format!("payment_methods[{i}]"), e))?;
        report.payment_methods += 1;
    }
    for (i, product) in file.products.iter().enumerate() {
        let path = format!("products[{i}]");
        let at = |e| ImportError::at(&path, e);
        let existing: Option<(Uuid, Vec<String>)> =
            sqlx::query_as("select id, image_urls from products where owner_id = $1 and sku = $2")
                .bind(owner.as_uuid())
                .bind(&product.sku)
                .fetch_optional(&mut *tx)
                .await?;
        let mut input = product_input(product);
        let id = match existing {
            Some((id, image_urls)) => {
                // A file without image links keeps the product's pictures.
                if product.image_urls.is_empty() {
                    input.image_urls = image_urls.join(";");
                }
                store::update_product_in(&mut tx, owner, id, &input).await.map_err(at)?;
                store::set_archived_in(&mut tx, owner, id, false).await.map_err(at)?;
                report.products_updated += 1;
                id
            }
            None => {
                report.products_created += 1;
                store::create_product_in(&mut tx, owner, &input).await.map_err(at)?
            }
        };
        for (j, variant) in product.variants.iter().enumerate() {
            store::save_variant_in(&mut tx, owner, id, variant)
                .await
                .map_err(|e| ImportError::at(&format!("{path}.variants[{j}]"), e))?;
            report.variants += 1;
        }
    }
    for (i, entry) in file.faq.iter().enumerate() {
        let created = store::save_faq_in(&mut tx, owner, &entry.patterns.join("\n"), &entry.answer)
            .await
            .map_err(|e| ImportError::at(&format!("faq[{i}]"), e))?;
        if created {
            report.faq_created += 1;
        } else {
            report.faq_updated += 1;
        }
    }
    let current = store::load_rules_in(&mut tx, owner)
        .await
        .map_err(|e| ImportError::at("rules", e))?;
    let r = &file.rules;
    let union = |mut mine: Vec<String>, theirs: &[String]| {
        for item in theirs {
            if !mine.iter().any(|m| m.eq_ignore_ascii_case(item)) {
                mine.push(item.clone());
            }
        }
        mine.join("\n")
    };
    store::save_rules_in(
        &mut tx,
        owner,
        r.tone.as_deref().unwrap_or(&current.tone),
        &union(current.never_say.clone(), &r.never_say),
        &union(current.review_topics.clone(), &r.review_topics),
        r.greeting.as_deref().unwrap_or(&current.greeting),
        r.away_message.as_deref().unwrap_or(&current.away_message),
        r.holding_message.as_deref().unwrap_or(&current.holding_message),
    )
    .await
    .map_err(|e| ImportError::at("rules", e))?;
    crate::db::commit(tx).await?;
    Ok(report)
}

/// A checked product as the product form would send it.
fn product_input(product: &ProductDraft) -> ProductInput {
    ProductInput {
        sku: product.sku.clone(),
        name: product.name.clone(),
        name_bn: product.name_bn.clone().unwrap_or_default(),
        description: product.description.clone(),
        price: money::format_plain(product.price),
        sale_price: product.sale_price.map(money::format_plain).unwrap_or_default(),
        stock: stock_count(&product.stock).map(|n| n.to_string()).unwrap_or_default(),
        tags: product.tags.join(";"),
        image_urls: product.image_urls.join(";"),
        active: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
      "profile": {"name": "Rangdhanu Fashion", "address": "House 12, Road 5, Dhanmondi", "phone": "01711000000",
                  "opening_hours": "10am to 9pm"},
      "delivery_areas": [
        {"name": "Inside Dhaka", "charge": "60", "min_days": 1, "max_days": 2},
        {"name": "Outside Dhaka", "charge": 120, "min_days": 2, "max_days": 5}
      ],
      "payment_methods": [{"kind": "cod"}, {"kind": "bkash", "instructions": "Send Money to 01711000000."}],
      "products": [
        {"sku": "SAREE-RED", "name": "Red Tangail Saree", "name_bn": "লাল শাড়ি", "price": "1,850",
         "tags": ["saree", "শাড়ি"],
         "variants": [{"colour": "Red", "stock": 7}, {"colour": "Maroon", "price_delta": "50", "stock": 5}]},
        {"sku": "CAKE-1", "name": "Birthday cake", "price": "1800", "sale_price": "1650.50", "stock": null}
      ],
      "faq": [{"patterns": ["original", "আসল"], "answer": "All our sarees are woven in Tangail."}],
      "rules": {"never_say": ["guaranteed"], "holding_message": ""}
    }"#;

    fn problems(json: &str) -> Vec<String> {
        ShopFile::from_json(json.as_bytes()).expect_err("refused").problems
    }

    #[test]
    fn a_good_file_reads_with_money_stock_and_defaults() {
        let file = ShopFile::from_json(GOOD.as_bytes()).unwrap();
        assert_eq!(file.products.len(), 2);
        let saree = &file.products[0];
        assert_eq!(saree.price, Money::from_minor(185_000));
        assert_eq!(saree.stock, Stock::Quantity(12), "the sum of its variants'");
        assert_eq!(saree.variants[1].price_delta, Money::from_minor(5_000));
        assert_eq!(file.products[1].sale_price, Some(Money::from_minor(165_050)));
        assert_eq!(file.products[1].stock, Stock::MadeToOrder);
        assert_eq!(file.delivery_areas[1].charge, Money::from_minor(12_000));
        let g = file.to_grounding();
        assert_eq!(g.profile.currency, "BDT");
        assert_eq!(g.rules.tone, "friendly");
        assert_eq!(g.owner_phones, ["01711000000"]);
        assert_eq!(g.payment_methods[1].label, "bKash");
        assert_eq!(g.products[0].variants[1].stock, Some(5));
        assert_eq!(g.catalog_size, 2);
        // The same file, the same ids; different products, different ids.
        assert_eq!(g, ShopFile::from_json(GOOD.as_bytes()).unwrap().to_grounding());
        assert_ne!(g.products[0].id, g.products[1].id);
        assert_eq!(g.products[0].id.get_version_num(), 5);
    }

    #[test]
    fn the_documented_example_reads() {
        let doc = include_str!("../../docs/SHOP_FILE.md");
        let start = doc.find("```json").unwrap() + "```json".len();
        let end = start + doc[start..].find("```").unwrap();
        let file = ShopFile::from_json(&doc.as_bytes()[start..end]).unwrap();
        assert_eq!(file.profile.name, "Rangdhanu Fashion");
    }

    #[test]
    fn an_unknown_field_is_refused_with_its_path() {
        let json = GOOD.replace(r#"{"colour": "Red", "stock": 7}"#, r#"{"colr": "Red", "stock": 7}"#);
        let found = problems(&json);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("products[0].variants[0]"), "{found:?}");
        assert!(found[0].contains("unknown field `colr`"), "{found:?}");
        let found = problems(&GOOD.replace("\"faq\"", "\"faqs\""));
        assert!(found[0].contains("unknown field `faqs`"), "{found:?}");
    }

    #[test]
    fn bad_money_names_the_field_and_the_value() {
        let json = GOOD.replace(r#""price": "1800""#, r#""price": "12x""#);
        assert_eq!(
            problems(&json),
            [
                "products[1].price: \"12x\" is not an amount (Enter a price like 1250 or 1,250.50, using only digits, \
              commas and one decimal point.)"
            ]
        );
        let json = GOOD.replace(r#""charge": "60""#, r#""charge": "-60""#);
        assert!(problems(&json)[0].starts_with("delivery_areas[0].charge: \"-60\" is not an amount"));
        let json = GOOD.replace(r#""charge": "60""#, r#""charge": true"#);
        assert!(problems(&json)[0].starts_with("delivery_areas[0].charge: expected an amount"));
    }

    #[test]
    fn a_duplicate_sku_and_every_other_problem_are_reported_together() {
        let json = GOOD
            .replace(r#""sku": "CAKE-1""#, r#""sku": "saree-red""#)
            .replace(r#""kind": "cod""#, r#""kind": "paypal""#)
            .replace(r#""max_days": 5"#, r#""max_days": 1"#);
        let found = problems(&json);
        assert!(
            found.contains(&"products[1].sku: \"saree-red\" is already the SKU of products[0]".to_owned()),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("payment_methods[0].kind: \"paypal\"")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.starts_with("delivery_areas[1].max_days:")),
            "{found:?}"
        );
        assert_eq!(found.len(), 3, "{found:?}");
    }

    #[test]
    fn inconsistent_values_are_refused() {
        let json = GOOD.replace(r#""price": "1,850","#, r#""price": "1,850", "stock": 3,"#);
        assert!(problems(&json)[0].contains("products[0].stock: 3 is not the sum of its variants' stock (12)"));
        let json = GOOD.replace(r#""sale_price": "1650.50""#, r#""sale_price": "1900""#);
        assert!(problems(&json)[0].starts_with("products[1].sale_price:"));
        let json = GOOD.replace(r#""price_delta": "50""#, r#""price_delta": "-2000""#);
        assert!(problems(&json)[0].starts_with("products[0].variants[1].price_delta: it would take the price"));
        let json = GOOD.replace(r#""name": "Rangdhanu Fashion""#, r#""name": "  ""#);
        assert!(problems(&json)[0].starts_with("profile.name:"));
        assert!(problems("[]")[0].starts_with("The shop file is not valid"));
        assert!(problems("{\"profile\": {\"name\": \"x\"}} trailing")[0].starts_with("The shop file is not valid"));
    }
}
