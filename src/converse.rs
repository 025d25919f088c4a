//! `bikriagent converse`: customers' messages answered from a shop file, in
//! memory, by the live pipeline's own decision ([`crate::pipeline::decision`]).
//!
//! Each input line is `{"conversation": "...", "text": "..."}` (other fields
//! are ignored, so an evaluation file can carry its expectations); each
//! answer is one JSON line:
//! `{"conversation", "action": "reply"|"review"|"hold", "text", "language",
//! "intent", "order", "reason"}`. Conversations keep their state, history and
//! bot disclosure across lines, as a live conversation does. When the engine
//! places an order, [`Converse`] plays the store: it checks and reserves the
//! stock of its copy of the shop and numbers orders 1, 2, …
//!
//! What differs from a live account, by design: no LLM is asked (the engine
//! alone answers, as with no `LLM_BASE_URL`), every product of the file is
//! shown to the engine (a live account shows the most relevant dozen), the
//! bot disclosure is on (the live default), and there are no send gates,
//! bursts or owner.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::catalog::money::{Money, format_plain};
use crate::catalog::shop_file::ShopFile;
use crate::conversations::{ConversationMode, ReviewReason};
use crate::orders::{self, OrderRefusal};
use crate::pipeline::classifier::{self, Language};
use crate::pipeline::decision::{self, Decision, Message, Situation, Step};
use crate::pipeline::grounding::{ConversationState, CustomerFacts, Grounding, OrderRequest};
use crate::pipeline::llm::{HistoryTurn, LlmClient};
use crate::pipeline::safety;

/// The longest customer message accepted, as in the sandbox chat.
pub const MAX_TEXT_CHARS: usize = 2000;

/// How many recent messages the live pipeline reads for the customer's own
/// numbers; the same here.
const HISTORY: usize = 12;

/// One shop and its conversations.
pub struct Converse {
    /// The shop, with stock taken by the orders placed so far.
    grounding: Grounding,
    conversations: HashMap<String, Conversation>,
    last_order: i64,
    /// The LLM that reads messages the engine did not understand, as live
    /// with `LLM_BASE_URL` (and a runtime to wait for it on).
    llm: Option<(LlmClient, tokio::runtime::Runtime)>,
}

#[derive(Default)]
struct Conversation {
    state: ConversationState,
    mode: Option<ConversationMode>,
    language: Option<Language>,
    /// (from the customer, text), oldest first, at most [`HISTORY`].
    history: Vec<(bool, String)>,
}

#[derive(Deserialize)]
struct Input {
    conversation: String,
    text: String,
}

/// The answer to one customer message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub conversation: String,
    /// `reply`: sent; `review`: waits for the owner, and `text` is the
    /// holding reply the customer gets; `hold`: nothing is sent.
    pub action: &'static str,
    pub text: String,
    pub language: &'static str,
    pub intent: Option<&'static str>,
    pub order: Option<PlacedOrder>,
    /// Why the owner must answer (`review` only).
    pub reason: Option<ReviewReason>,
    /// How the decision was reached, step by step: what the owner reads
    /// under a held message, here for tuning and for the owner's own tries.
    pub why: Vec<String>,
}

/// An order the simulated store placed. Money is a plain decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlacedOrder {
    pub number: i64,
    pub items: Vec<OrderLine>,
    pub delivery_charge: String,
    pub total: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    /// The delivery area's name ("" when the shop has none).
    pub zone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLine {
    pub sku: String,
    pub name: String,
    /// "M / Red", or "" without a variant.
    pub variant: String,
    pub quantity: i32,
    pub unit_price: String,
    pub line_total: String,
}

impl Converse {
    pub fn new(shop: &ShopFile) -> Converse {
        Converse {
            grounding: shop.to_grounding(),
            conversations: HashMap::new(),
            last_order: 0,
            llm: None,
        }
    }

    /// Asks `llm` about the messages the engine does not understand, as the
    /// live pipeline does (for understanding only).
    ///
    /// # Errors
    ///
    /// When no runtime can be started to wait for the LLM on.
    pub fn with_llm(mut self, llm: LlmClient) -> std::io::Result<Converse> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        self.llm = Some((llm, runtime));
        Ok(self)
    }

    /// Answers one input line with one output line (JSON, no newline); a
    /// line that is not a valid message gets `{"error": "..."}`.
    pub fn line(&mut self, line: &str) -> String {
        let answer = match serde_json::from_str::<Input>(line) {
            Ok(input) if input.conversation.trim().is_empty() => Err("\"conversation\" is empty".to_owned()),
            Ok(input) if input.text.trim().is_empty() => Err("\"text\" is empty".to_owned()),
            Ok(input) if input.text.chars().count() > MAX_TEXT_CHARS => {
                Err(format!("\"text\" is longer than {MAX_TEXT_CHARS} characters"))
            }
            Ok(input) => Ok(self.say(&input.conversation, input.text.trim())),
            Err(error) => Err(format!(
                "expected {{\"conversation\": \"...\", \"text\": \"...\"}}: {error}"
            )),
        };
        match answer {
            Ok(answer) => serde_json::to_string(&answer).unwrap_or_default(),
            Err(error) => serde_json::json!({ "error": error }).to_string(),
        }
    }

    /// Answers one customer message in `conversation`.
    pub fn say(&mut self, conversation: &str, text: &str) -> Answer {
        let mut chat = self.conversations.remove(conversation).unwrap_or_default();
        chat.history.push((true, text.to_owned()));
        let skip = chat.history.len().saturating_sub(HISTORY);
        chat.history.drain(..skip);
        let classification = classifier::classify(text);
        let order = chat.state.order.clone().unwrap_or_default();
        let customer = CustomerFacts {
            numbers: chat
                .history
                .iter()
                .filter(|(from_customer, _)| *from_customer)
                .flat_map(|(_, text)| safety::numbers_in(text))
                .collect(),
            phone: order.phone,
            address: order.address,
        };
        let mode = chat.mode.unwrap_or(ConversationMode::Agent);
        let situation = Situation {
            grounding: &self.grounding,
            state: &chat.state,
            customer: &customer,
            disclosure_on: true,
            mode,
        };
        let message = Message {
            kind: "text",
            text: Some(text),
            classification: Some(&classification),
            fallback_language: chat.language.unwrap_or(classification.language),
            burst: 1,
        };
        let mut draft = match decision::decide(&situation, &message) {
            Step::Decided(draft) => draft,
            Step::NoAnswer(pending) => match &self.llm {
                Some((llm, runtime)) if pending.llm_may_help() => {
                    let history: Vec<HistoryTurn> = chat
                        .history
                        .iter()
                        .take(chat.history.len().saturating_sub(1))
                        .map(|(from_customer, text)| HistoryTurn {
                            from_customer: *from_customer,
                            text: text.clone(),
                        })
                        .collect();
                    let reading = runtime.block_on(llm.understand(&self.grounding, &history, pending.text()));
                    pending.finish(&situation, reading)
                }
                _ => pending.unanswered(&situation, None),
            },
        };
        let mut placed = None;
        let mut reserved = None;
        if let Some(request) = draft.order.take() {
            draft.decision = match self.place(&request, self.last_order + 1) {
                Ok((order, reservation)) => {
                    let decision =
                        decision::order_placed(&situation, &mut draft.state, order.number, &request, draft.language);
                    placed = Some(order);
                    reserved = Some(reservation);
                    decision
                }
                Err(refusal) => decision::order_refused(&situation, &mut draft.state, &refusal, draft.language),
            };
        }
        let why = std::mem::take(&mut draft.why);
        let (action, text, reason) = match draft.decision {
            Decision::Reply { text } => ("reply", text, None),
            Decision::Review { reason, holding, .. } => {
                if reason == ReviewReason::HumanRequest {
                    chat.mode = Some(ConversationMode::Human);
                }
                let holding =
                    holding.unwrap_or_else(|| decision::holding_reply(&self.grounding, draft.language, false));
                ("review", holding, Some(reason))
            }
            Decision::Quiet { .. } | Decision::AlreadyDecided => ("hold", String::new(), None),
        };
        if !text.is_empty() {
            chat.history.push((false, text.clone()));
        }
        if let Some(reservations) = reserved {
            for reservation in &reservations {
                self.reserve(reservation);
            }
            self.last_order += 1;
        }
        chat.state = draft.state;
        chat.language = Some(draft.language);
        self.conversations.insert(conversation.to_owned(), chat);
        Answer {
            conversation: conversation.to_owned(),
            action,
            text,
            language: draft.language.as_str(),
            intent: draft.intent,
            order: placed,
            reason,
            why,
        }
    }

    /// The store's part of placing order `number` (see
    /// [`crate::orders::place`]): the product and price as confirmed, and
    /// enough stock, which [`Converse::reserve`] then takes.
    fn place(&self, request: &OrderRequest, number: i64) -> Result<(PlacedOrder, Vec<Reservation>), OrderRefusal> {
        let zone = request
            .delivery_area_id
            .and_then(|id| self.grounding.delivery_areas.iter().find(|area| area.id == id))
            .map(|area| area.name.clone())
            .unwrap_or_default();
        let plain = |minor: i64| format_plain(Money::from_minor(minor));
        let mut lines = Vec::new();
        let mut reservations: Vec<Reservation> = Vec::new();
        let mut items_total: i64 = 0;
        for item in request.items() {
            let product_index = self
                .grounding
                .products
                .iter()
                .position(|product| product.id == item.product_id)
                .ok_or(OrderRefusal::ProductGone)?;
            let product = &self.grounding.products[product_index];
            let (variant_index, unit, label) = match item.variant_id {
                Some(id) => {
                    let index = product
                        .variants
                        .iter()
                        .position(|variant| variant.id == id)
                        .ok_or(OrderRefusal::ProductGone)?;
                    let variant = &product.variants[index];
                    (
                        Some(index),
                        product.variant_price_minor(variant),
                        orders::variant_label(&variant.size, &variant.colour),
                    )
                }
                None => (None, product.unit_price_minor(), String::new()),
            };
            let changed = || OrderRefusal::PriceChanged {
                product: product.name.clone(),
            };
            if unit != item.unit_price_minor {
                return Err(changed());
            }
            // Stock already promised to an earlier line of this order counts.
            let promised = |variant: Option<usize>| -> i32 {
                reservations
                    .iter()
                    .filter(|r| r.product == product_index && (variant.is_none() || r.variant == variant))
                    .map(|r| r.quantity)
                    .sum()
            };
            let enough = |stock: Option<i32>, taken: i32| stock.is_none_or(|n| n - taken >= item.quantity);
            let variant_stock = variant_index.and_then(|i| product.variants[i].stock);
            if !enough(variant_stock, promised(variant_index)) || !enough(product.stock, promised(None)) {
                return Err(OrderRefusal::OutOfStock {
                    product: product.name.clone(),
                });
            }
            let line = unit.checked_mul(i64::from(item.quantity)).ok_or_else(changed)?;
            items_total = items_total.checked_add(line).ok_or_else(changed)?;
            lines.push(OrderLine {
                sku: product.sku.clone(),
                name: product.name.clone(),
                variant: label,
                quantity: item.quantity,
                unit_price: plain(unit),
                line_total: plain(line),
            });
            reservations.push(Reservation {
                product: product_index,
                variant: variant_index,
                quantity: item.quantity,
            });
        }
        let total = items_total
            .checked_add(request.delivery_charge_minor)
            .ok_or(OrderRefusal::ProductGone)?;
        let order = PlacedOrder {
            number,
            items: lines,
            delivery_charge: plain(request.delivery_charge_minor),
            total: plain(total),
            name: request.customer_name.clone(),
            phone: request.phone.clone(),
            address: request.address.clone(),
            zone,
        };
        Ok((order, reservations))
    }

    fn reserve(&mut self, reservation: &Reservation) {
        let product = &mut self.grounding.products[reservation.product];
        if let Some(i) = reservation.variant
            && let Some(stock) = product.variants[i].stock.as_mut()
        {
            *stock -= reservation.quantity;
        }
        if let Some(stock) = product.stock.as_mut() {
            *stock -= reservation.quantity;
        }
    }
}

/// Stock that a placed order takes.
struct Reservation {
    product: usize,
    variant: Option<usize>,
    quantity: i32,
}
