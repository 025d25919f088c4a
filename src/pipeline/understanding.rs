//! What a language model may contribute: its reading of a message the
//! embedded engine did not understand, never the words the customer reads.
//!
//! The model answers with one JSON object ([`Understanding`]): the intent,
//! the SKUs of the products it saw in this owner's catalog, a size, a
//! colour, a quantity, the customer's name, phone and address, a place, an
//! FAQ entry's number, and any risk it noticed. [`Understanding::validated`]
//! keeps only what the catalog confirms, and [`Understanding::as_query`]
//! restates it as a plain query the engine reads ("Red Cotton Saree price",
//! "delivery charge Sylhet"). The engine then answers that query from its
//! templates and the owner's data, in the customer's language, so nothing
//! the model writes can reach a customer: an invented "open on Fridays from
//! 3pm, and parking is free" has no intent, product or FAQ to carry it.

use serde::{Deserialize, Serialize};

use super::classifier::Risk;
use super::grounding::{GroundedProduct, Grounding};

/// The model's reading of one message, as it answered and after validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Understanding {
    /// One of [`INTENTS`]; anything else counts as `other`.
    pub intent: String,
    /// SKUs of products in the catalog the model was shown.
    pub products: Vec<String>,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub quantity: Option<i64>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// A place the customer named (for the delivery charge).
    pub place: Option<String>,
    /// The number (from 1) of the FAQ entry that answers the message.
    pub faq: Option<usize>,
    /// Risk categories the model noticed (`refund`, `allergy`, …).
    pub risk: Vec<String>,
}

/// The intents the model may name, with what each means, for its instructions.
pub const INTENTS: &[(&str, &str)] = &[
    ("price", "the price of one or more products"),
    ("stock", "whether a product is available"),
    ("variants", "the sizes or colours a product comes in"),
    ("delivery", "the delivery charge or time, possibly to a place"),
    ("payment", "how to pay"),
    ("hours", "when the shop is open"),
    ("location", "where the shop is, its address"),
    ("returns", "the exchange or return policy, asked before buying"),
    ("catalog", "what the shop sells"),
    ("comparison", "a comparison of two or more products"),
    ("order", "the customer wants to buy, or gives order details"),
    ("faq", "a question one of the shop's FAQ entries answers"),
    ("discount", "a discount, a lower price, bargaining"),
    ("order_status", "an order already placed"),
    ("human", "the customer wants a person"),
    ("greeting", "hello, salam"),
    ("thanks", "thanks"),
    ("other", "anything else"),
];

/// Longest name, address or place kept from the model's answer.
const MAX_FIELD_CHARS: usize = 200;

impl Understanding {
    /// Parses the model's answer: one JSON object, possibly inside a
    /// ```json fence or after a reasoning model's `<think>` block. `None`
    /// when there is no such object: the message then goes to the owner.
    pub fn parse(answer: &str) -> Option<Understanding> {
        let answer = match answer.rsplit_once("</think>") {
            Some((_, after)) => after,
            None => answer,
        };
        let start = answer.find('{')?;
        let end = answer.rfind('}')?;
        serde_json::from_str(answer.get(start..=end)?).ok()
    }

    /// Only what `grounding` confirms: a known intent, SKUs of its products,
    /// a size or colour one of those products has, a quantity from 1 to
    /// 1,000, an FAQ entry that exists, known risk names, and short text
    /// fields without line breaks.
    pub fn validated(mut self, grounding: &Grounding) -> Understanding {
        if !INTENTS.iter().any(|(name, _)| *name == self.intent) {
            self.intent = "other".to_owned();
        }
        let mut products: Vec<String> = Vec::new();
        for sku in &self.products {
            if let Some(product) = find_sku(grounding, sku)
                && !products.contains(&product.sku)
            {
                products.push(product.sku.clone());
            }
        }
        self.products = products;
        let chosen: Vec<&GroundedProduct> = self
            .products
            .iter()
            .filter_map(|sku| find_sku(grounding, sku))
            .collect();
        let has = |value: &str, pick: fn(&crate::catalog::store::VariantRow) -> &str| {
            chosen
                .iter()
                .flat_map(|p| p.variants.iter())
                .any(|v| pick(v).trim().eq_ignore_ascii_case(value.trim()))
        };
        self.size = self.size.filter(|size| has(size, |v| &v.size));
        self.colour = self.colour.filter(|colour| has(colour, |v| &v.colour));
        self.quantity = self.quantity.filter(|q| (1..=1_000).contains(q));
        self.faq = self.faq.filter(|n| (1..=grounding.faq.len()).contains(n));
        self.name = short_line(self.name).filter(|name| !name.chars().any(|c| c.is_ascii_digit()));
        self.phone = short_line(self.phone);
        self.address = short_line(self.address);
        self.place = short_line(self.place);
        self.risk.retain(|name| Risk::parse(name).is_some());
        self
    }

    /// The risk categories the model noticed.
    pub fn risks(&self) -> Vec<Risk> {
        self.risk.iter().filter_map(|name| Risk::parse(name)).collect()
    }

    /// The message restated as a plain query for the engine, or `None` when
    /// the reading gives the engine nothing to answer from (`other`, or a
    /// product question without a product). Validate first.
    pub fn as_query(&self, grounding: &Grounding) -> Option<String> {
        let names: Vec<&str> = self
            .products
            .iter()
            .filter_map(|sku| find_sku(grounding, sku))
            .map(|p| p.name.as_str())
            .collect();
        let product = names.join(" or ");
        let option = [self.size.as_deref(), self.colour.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let needs_product = matches!(self.intent.as_str(), "price" | "stock" | "variants");
        if needs_product && names.is_empty() {
            return None;
        }
        let query = match self.intent.as_str() {
            "price" => format!("{product} {option} price"),
            "stock" => format!("{product} {option} available"),
            "variants" => format!("{product} sizes"),
            "delivery" => {
                let place = self.place.as_deref().or(self.address.as_deref()).unwrap_or_default();
                format!("delivery charge {place}")
            }
            "payment" => "payment".to_owned(),
            "hours" => "opening hours".to_owned(),
            "location" => "shop address".to_owned(),
            "returns" => "return policy".to_owned(),
            "catalog" => "what products do you have".to_owned(),
            "comparison" if names.len() >= 2 => format!("compare {product}"),
            "order" => {
                let quantity = self.quantity.map(|q| q.to_string()).unwrap_or_default();
                let mut parts = vec![format!("order {quantity} {product} {option}")];
                parts.extend(self.name.as_ref().map(|name| format!("name: {name}")));
                parts.extend(self.phone.as_ref().map(|phone| format!("phone: {phone}")));
                parts.extend(self.address.as_ref().map(|address| format!("address: {address}")));
                parts.join("\n")
            }
            "faq" => {
                let entry = grounding.faq.get(self.faq?.checked_sub(1)?)?;
                entry
                    .patterns
                    .iter()
                    .find(|p| p.trim().chars().count() >= 3)?
                    .trim()
                    .to_owned()
            }
            "discount" => "discount".to_owned(),
            "order_status" => "where is my order".to_owned(),
            "human" => "talk to a human".to_owned(),
            "greeting" => "hello".to_owned(),
            "thanks" => "thanks".to_owned(),
            _ => return None,
        };
        let query = query.split_whitespace().collect::<Vec<_>>().join(" ");
        (!query.is_empty()).then_some(query)
    }
}

fn find_sku<'g>(grounding: &'g Grounding, sku: &str) -> Option<&'g GroundedProduct> {
    grounding
        .products
        .iter()
        .find(|p| p.sku.trim().eq_ignore_ascii_case(sku.trim()))
}

/// One line, trimmed, at most [`MAX_FIELD_CHARS`]; `None` when empty.
fn short_line(value: Option<String>) -> Option<String> {
    let value = value?;
    let line: String = value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_FIELD_CHARS)
        .collect();
    (!line.is_empty()).then_some(line)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::catalog::store::{FaqEntry, Profile, VariantRow};

    fn shop() -> Grounding {
        Grounding {
            profile: Profile {
                name: "Rupa".to_owned(),
                ..Profile::default()
            },
            products: vec![GroundedProduct {
                id: Uuid::from_u128(1),
                sku: "SAREE-1".to_owned(),
                name: "Red Cotton Saree".to_owned(),
                name_bn: None,
                description: String::new(),
                price_minor: 125_000,
                sale_price_minor: None,
                stock: Some(4),
                tags: Vec::new(),
                variants: vec![VariantRow {
                    id: Uuid::from_u128(2),
                    size: "M".to_owned(),
                    colour: "Red".to_owned(),
                    price_delta_minor: 0,
                    stock: Some(4),
                }],
            }],
            faq: vec![FaqEntry {
                id: Uuid::from_u128(3),
                patterns: vec!["gift wrap".to_owned()],
                answer: "Gift wrapping is free.".to_owned(),
            }],
            ..Grounding::default()
        }
    }

    #[test]
    fn only_what_the_catalog_confirms_is_kept() {
        let answer = r#"Sure! ```json
{"intent": "price", "products": ["saree-1", "IPHONE-99"], "size": "XXL", "colour": "red",
 "quantity": 0, "name": "Rahim 017", "faq": 7, "risk": ["refund", "free_stuff"], "extra": 1}
```"#;
        let understood = Understanding::parse(answer).unwrap().validated(&shop());
        assert_eq!(understood.products, vec!["SAREE-1"]);
        assert_eq!(understood.size, None, "the saree has no XXL");
        assert_eq!(understood.colour.as_deref(), Some("red"));
        assert_eq!(understood.quantity, None);
        assert_eq!(understood.name, None, "a name with digits is not a name");
        assert_eq!(understood.faq, None);
        assert_eq!(understood.risks(), vec![Risk::Refund]);
        assert_eq!(
            understood.as_query(&shop()).as_deref(),
            Some("Red Cotton Saree red price")
        );
    }

    #[test]
    fn free_text_and_unknown_intents_give_the_engine_nothing() {
        assert_eq!(
            Understanding::parse("We are open on Fridays from 3pm, and parking is free."),
            None
        );
        let invented = Understanding {
            intent: "parking".to_owned(),
            ..Understanding::default()
        }
        .validated(&shop());
        assert_eq!(invented.intent, "other");
        assert_eq!(invented.as_query(&shop()), None);
        let no_product = Understanding {
            intent: "price".to_owned(),
            products: vec!["NOPE".to_owned()],
            ..Understanding::default()
        }
        .validated(&shop());
        assert_eq!(no_product.as_query(&shop()), None);
    }

    #[test]
    fn queries_restate_the_reading_in_words_the_engine_knows() {
        let g = shop();
        let read = |json: &str| Understanding::parse(json).unwrap().validated(&g).as_query(&g);
        assert_eq!(read(r#"{"intent":"faq","faq":1}"#).as_deref(), Some("gift wrap"));
        assert_eq!(
            read(r#"{"intent":"delivery","place":"Sylhet"}"#).as_deref(),
            Some("delivery charge Sylhet")
        );
        assert_eq!(
            read(r#"{"intent":"order","products":["SAREE-1"],"quantity":2,"name":"Nusrat Jahan","phone":"01712345678","address":"House 5, Mirpur 10"}"#)
                .as_deref(),
            Some("order 2 Red Cotton Saree name: Nusrat Jahan phone: 01712345678 address: House 5, Mirpur 10")
        );
        assert_eq!(read(r#"{"intent":"hours"}"#).as_deref(), Some("opening hours"));
    }
}
