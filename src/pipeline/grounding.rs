//! What a reply may be grounded in: one owner's data, loaded for one
//! conversation, and the conversation's own state.
//!
//! The reply engine, the LLM client and the safety filter are pure functions
//! of these values. Everything a reply states (prices, stock, delivery
//! charges, payment instructions, phone numbers, links) must come from here
//! or from the customer's own messages; the store loads it under the owner's
//! tenant scope, so another owner's data can never reach a reply.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::store::{DeliveryArea, FaqEntry, PaymentMethod, Profile, Rules, VariantRow};

/// One owner's data, as the reply engine, the LLM and the safety filter see it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grounding {
    pub profile: Profile,
    /// The owner's active, unarchived products most relevant to the
    /// conversation (found with pg_trgm / full text on the message, plus the
    /// products already under discussion), at most [`MAX_GROUNDED_PRODUCTS`].
    pub products: Vec<GroundedProduct>,
    /// How many active products the owner has in all (for "what do you sell?").
    pub catalog_size: i64,
    pub delivery_areas: Vec<DeliveryArea>,
    pub payment_methods: Vec<PaymentMethod>,
    pub rules: Rules,
    pub faq: Vec<FaqEntry>,
    /// Domains a reply may link to (the owner's own site, shop pages), lowercase,
    /// without scheme. Empty: no links at all.
    pub link_domains: Vec<String>,
    /// The owner's own contact phone numbers a reply may state (from the
    /// profile and the payment instructions), digits only.
    pub owner_phones: Vec<String>,
    /// The shop's address, as the owner wrote it ("" when none).
    pub owner_address: String,
}

/// At most this many products are given to the engine for one message.
pub const MAX_GROUNDED_PRODUCTS: usize = 12;

/// A product with everything a reply may say about it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GroundedProduct {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub name_bn: Option<String>,
    pub description: String,
    pub price_minor: i64,
    pub sale_price_minor: Option<i64>,
    /// `None`: made to order (always available).
    pub stock: Option<i32>,
    pub tags: Vec<String>,
    pub variants: Vec<VariantRow>,
}

impl GroundedProduct {
    /// What one unit costs now (the sale price when there is one).
    pub fn unit_price_minor(&self) -> i64 {
        self.sale_price_minor.unwrap_or(self.price_minor)
    }

    /// What one unit of `variant` costs now.
    pub fn variant_price_minor(&self, variant: &VariantRow) -> i64 {
        self.unit_price_minor().saturating_add(variant.price_delta_minor)
    }
}

/// What the agent remembers about one conversation between messages: the
/// product under discussion and the order being collected. Stored encrypted
/// (it holds the customer's name, phone and address).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConversationState {
    /// The product the customer last asked about, so "dam koto?" or "order
    /// korbo" after a product question refers to it.
    pub last_product: Option<Uuid>,
    /// The option of `last_product` the customer named, if exactly one.
    #[serde(default)]
    pub last_variant: Option<Uuid>,
    /// The products offered when the last message fitted several ("Which
    /// one do you mean?"), so "koto?" or "XL e maroon pabo?" next can refer
    /// to them.
    #[serde(default)]
    pub last_choices: Vec<Uuid>,
    /// The order being collected, if the customer wants to buy.
    pub order: Option<OrderDraft>,
    /// Whether the first automatic reply (with the bot disclosure) was sent.
    pub disclosed: bool,
    /// The language the conversation is in (see
    /// [`crate::pipeline::classifier::conversation_language`]); `None`
    /// before the first answer. Absent in states stored before it existed.
    #[serde(default)]
    pub language: Option<crate::pipeline::classifier::Language>,
}

/// An order being collected over the conversation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderDraft {
    pub product_id: Option<Uuid>,
    pub variant_id: Option<Uuid>,
    pub quantity: Option<i32>,
    pub customer_name: Option<String>,
    /// Digits only, e.g. `01712345678`.
    pub phone: Option<String>,
    pub address: Option<String>,
    pub delivery_area_id: Option<Uuid>,
    /// The summary with the total was read back; the next "yes" places the order.
    pub awaiting_confirmation: bool,
    /// Earlier products of the same order ("… ar sundarban modhu ekta"),
    /// complete; the fields above are the item being chosen now.
    #[serde(default)]
    pub items: Vec<DraftItem>,
    /// The detail the assistant asked for last, and how many times in a row
    /// (so a question is never asked a third time: the owner takes over).
    #[serde(default)]
    pub asked: Option<String>,
    #[serde(default)]
    pub asked_times: u8,
}

/// A product already chosen in an order of several.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DraftItem {
    pub product_id: Uuid,
    pub variant_id: Option<Uuid>,
    pub quantity: i32,
}

/// One more item of a confirmed order, with the unit price the customer saw.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequestItem {
    pub product_id: Uuid,
    pub variant_id: Option<Uuid>,
    pub quantity: i32,
    pub unit_price_minor: i64,
}

/// An order the customer confirmed, for the store to create (with stock
/// reserved in the same transaction).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderRequest {
    pub product_id: Uuid,
    pub variant_id: Option<Uuid>,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub delivery_charge_minor: i64,
    pub total_minor: i64,
    pub customer_name: String,
    pub phone: String,
    pub address: String,
    pub delivery_area_id: Option<Uuid>,
    /// The order's other products, besides the one above; `total_minor`
    /// includes them.
    #[serde(default)]
    pub extra: Vec<RequestItem>,
}

impl OrderRequest {
    /// Every item of the order, in the order the customer chose them (the
    /// `extra` ones first, then the one above).
    pub fn items(&self) -> Vec<RequestItem> {
        self.extra
            .iter()
            .cloned()
            .chain(std::iter::once(RequestItem {
                product_id: self.product_id,
                variant_id: self.variant_id,
                quantity: self.quantity,
                unit_price_minor: self.unit_price_minor,
            }))
            .collect()
    }
}

/// The customer's own contact details, which a reply may repeat back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFacts {
    /// Numbers the customer wrote in this conversation (quantities, their
    /// phone), digits only.
    pub numbers: Vec<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}
