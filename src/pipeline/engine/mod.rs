//! The embedded reply engine: offline, deterministic answers grounded only
//! in one owner's data, and order capture over several messages.
//!
//! It runs when no language model is configured (or as its fallback), so a
//! shop gets useful automatic replies with no network and no cost. It never
//! makes anything up: prices, stock, delivery charges and payment
//! instructions are copied from the [`Grounding`], templates hold no digits
//! of their own, and anything the data cannot answer goes to the owner's
//! review queue as [`EngineReply::NeedsOwner`]. Every reply is still checked
//! by the safety filter afterwards.
//!
//! Customers write English, Bangla script and Banglish; the engine reads all
//! three (spelling is folded in `text`, keywords live in `intent`) and
//! answers in the language the classifier detected.

mod answer;
mod fields;
mod intent;
mod lookup;
mod order;
mod replies;
mod text;

#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::catalog::money::{Money, format_plain};
use crate::pipeline::classifier::Language;
use crate::pipeline::grounding::{ConversationState, GroundedProduct, Grounding, OrderRequest};

pub(crate) use self::fields::find_phone;
use self::intent::{Intents, is_stopword};
use self::lookup::Mention;
use self::replies::Writer;
use self::text::{Script, Token, folded_words, word_match};

/// What the engine decided for one customer message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineTurn {
    pub reply: EngineReply,
    /// The conversation state to store, whatever the reply: fields of an
    /// order given in this message are kept even when the owner must answer.
    pub state: ConversationState,
    /// Short English lines for the owner's playground page: what was matched
    /// and why this reply was chosen.
    pub why: Vec<String>,
    /// `false` when the engine did not understand the message (as opposed to
    /// understanding it and handing it to the owner on purpose): only then
    /// may a language model's reading of it help.
    pub understood: bool,
    /// The main intent read in the message (a question first, e.g. "price"),
    /// for `bikriagent converse` and evaluations; `None` when none was read.
    pub intent: Option<&'static str>,
}

/// The engine's decision for one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineReply {
    /// A reply to send (still checked by the safety filter afterwards).
    Text(String),
    /// The customer confirmed the read-back summary: the store creates the
    /// order (reserving stock) and then sends [`order_placed_text`].
    PlaceOrder(OrderRequest),
    /// The engine cannot answer from the owner's data: the message goes to
    /// the owner's review queue. `reason` is for the owner (English).
    NeedsOwner { reason: String },
}

/// A message naming no product right after "Which one do you mean?": an
/// option only one of the products offered has ("XL e maroon pabo?") names
/// that product; a bare price or stock question ("koto?") gets the choices
/// again, with their prices.
fn follow_up_on_choices(ctx: &mut Ctx<'_>, state: &ConversationState) {
    if state.last_choices.is_empty() || state.order.is_some() {
        return;
    }
    let offered: Vec<usize> = state
        .last_choices
        .iter()
        .filter_map(|id| ctx.g.products.iter().position(|p| p.id == *id))
        .collect();
    // "silk ta koto?" after a list of panjabis: of the products the words
    // fit, the one the list showed.
    if let Mention::Ambiguous(candidates) = &ctx.msg.mention {
        let shown: Vec<usize> = candidates.iter().copied().filter(|i| offered.contains(i)).collect();
        if let [index] = shown.as_slice() {
            ctx.why
                .push("of the products the words fit, one was offered before".to_owned());
            ctx.msg.mention = Mention::One {
                index: *index,
                score: 1.0,
                how: "one of the products offered before",
            };
        }
        return;
    }
    if ctx.msg.mention != Mention::None {
        return;
    }
    let fitting: Vec<usize> = offered
        .iter()
        .copied()
        .filter(|&index| {
            ctx.g.products.get(index).is_some_and(|product| {
                lookup::pick_variants(product, &ctx.msg.tokens).is_some_and(|pick| !pick.candidates.is_empty())
            })
        })
        .collect();
    if let [index] = fitting.as_slice() {
        ctx.why
            .push("the option named fits one of the products offered before".to_owned());
        ctx.msg.mention = Mention::One {
            index: *index,
            score: 1.0,
            how: "option of a product offered before",
        };
        return;
    }
    let intents = &ctx.msg.intents;
    let asks = [
        intent::Intent::Price,
        intent::Intent::PriceWeak,
        intent::Intent::Stock,
        intent::Intent::StockWeak,
    ]
    .iter()
    .any(|intent| intents.has(*intent));
    if asks && ctx.unexplained(None) == 0 && offered.len() >= 2 {
        ctx.why.push("asked about the products offered before".to_owned());
        ctx.msg.mention = Mention::Ambiguous(offered);
    }
}

/// Answers one customer message from the owner's data alone.
///
/// Pure and total: no I/O, the same input always gives the same output, and
/// no input (empty, huge, emoji, mixed scripts) makes it panic. `language`
/// is the customer's language as the classifier detected it; the reply is
/// written in it.
pub fn respond(grounding: &Grounding, state: &ConversationState, text: &str, language: Language) -> EngineTurn {
    let text = text::truncate(text, text::MAX_CHARS);
    let mut next = state.clone();
    let mut why = vec![format!("language: {}", language.as_str())];
    if let Some(topic) = review_topic(grounding, text) {
        why.push(format!("mentions review topic \"{topic}\""));
        let reason = format!("the message mentions \"{topic}\", which you asked to answer yourself");
        return EngineTurn {
            reply: EngineReply::NeedsOwner { reason },
            state: next,
            why,
            understood: true,
            intent: None,
        };
    }
    let mut ctx = Ctx {
        g: grounding,
        lang: language,
        msg: Message::read(grounding, text),
        why,
        listed: None,
    };
    ctx.explain_reading();
    follow_up_on_choices(&mut ctx, state);
    next.last_choices = match &ctx.msg.mention {
        Mention::Ambiguous(indexes) => indexes
            .iter()
            .filter_map(|&i| grounding.products.get(i).map(|p| p.id))
            .collect(),
        Mention::One { .. } => Vec::new(),
        Mention::None => next.last_choices,
    };
    if let Some(product) = ctx.mentioned() {
        if next.last_product != Some(product.id) {
            next.last_variant = None;
        }
        next.last_product = Some(product.id);
    }
    // The one option the customer named of the product discussed ("gold
    // colour"), so an order started later keeps it.
    if let Some(product) = next
        .last_product
        .and_then(|id| grounding.products.iter().find(|p| p.id == id))
        && let Some(pick) = lookup::pick_variants(product, &ctx.msg.tokens)
        && let [index] = pick.candidates.as_slice()
        && let Some(variant) = product.variants.get(*index)
    {
        next.last_variant = Some(variant.id);
    }
    // A question the owner's FAQ answers ("How early should I order a
    // cake?") is not the start of an order.
    // "khejur gur 1kg, 3 packets please" counts a product and asks nothing:
    // "packet" is not a question about packing.
    let faq_question = next.order.is_none()
        && !order::orders_outright(&ctx)
        && lookup::find_faq(&grounding.faq, &ctx.msg.lower, &ctx.msg.tokens).is_some_and(|hit| hit.exact);
    // "300 pis patishapta lagbe, rate koto?": wholesale, asked or ordered.
    let names = order::name_numbers(&ctx);
    let counted = fields::find_quantity(&ctx.msg.tokens, &names, false);
    let wholesale = counted.is_some_and(|count| count > i64::from(order::LARGE_ORDER))
        || order::wholesale_before_product(&ctx, &names);
    let reply = if wholesale && next.order.is_none() {
        ctx.why.push("a large quantity: wholesale".to_owned());
        answer::owner(
            &mut ctx,
            "the customer asks about a large quantity, which is wholesale: its price and delivery are yours to set",
        )
    } else if next.order.is_some() || (!faq_question && order::wants_to_start(&ctx, &next)) {
        order::run(&mut ctx, &mut next)
    } else {
        // The state before this message: a comparison needs the product
        // discussed before ("ar kurti konta sosta?").
        answer::answer(&mut ctx, state)
    };
    if let Some(listed) = ctx.listed.take() {
        next.last_choices = listed;
    }
    let reply = refuse_never_say(grounding, reply, &mut ctx.why);
    let understood = !matches!(
        &reply,
        EngineReply::NeedsOwner { reason }
            if [answer::CANNOT_ANSWER, order::ORDER_NOT_UNDERSTOOD, order::SUMMARY_NOT_UNDERSTOOD]
                .contains(&reason.as_str())
    );
    let intents = ctx.msg.intents.all();
    let intent = intents.iter().find(|i| i.is_question()).or(intents.first());
    EngineTurn {
        reply,
        state: next,
        why: ctx.why,
        understood,
        intent: intent.map(|i| i.name()),
    }
}

/// The message the customer gets once the store has created the order:
/// order number, total, delivery address and how to pay (the owner's
/// payment instructions, verbatim). Its numbers are listed by
/// [`placed_order_numbers`] for the safety filter.
pub fn order_placed_text(
    grounding: &Grounding,
    order_number: i64,
    request: &OrderRequest,
    language: Language,
) -> String {
    Writer {
        g: grounding,
        lang: language,
    }
    .order_placed(order_number, request)
}

/// The numbers [`order_placed_text`] may state beyond the owner's data (the
/// order number and the order's own amounts), as `format_plain` strings,
/// because [`computed_numbers`] no longer sees the order once it is placed.
pub fn placed_order_numbers(order_number: i64, request: &OrderRequest) -> Vec<String> {
    let mut numbers = vec![
        order_number.to_string(),
        request.quantity.to_string(),
        format_plain(Money::from_minor(request.unit_price_minor)),
        format_plain(Money::from_minor(request.delivery_charge_minor)),
        format_plain(Money::from_minor(request.total_minor)),
        request.phone.clone(),
    ];
    let mut items = Some(Money::ZERO);
    for item in request.items() {
        let unit = Money::from_minor(item.unit_price_minor);
        let line = unit.checked_mul(i64::from(item.quantity));
        numbers.push(item.quantity.to_string());
        numbers.push(format_plain(unit));
        numbers.extend(line.map(format_plain));
        items = items.zip(line).and_then(|(items, line)| items.checked_add(line));
    }
    numbers.extend(items.map(format_plain));
    numbers.extend(text::digit_runs(&request.address));
    numbers.extend(text::digit_runs(&request.customer_name));
    numbers
}

/// "Sorry, X is out of stock right now." in the customer's language, for the
/// store to send when stock ran out between the summary and the order.
pub fn out_of_stock_text(grounding: &Grounding, product_name: &str, language: Language) -> String {
    Writer {
        g: grounding,
        lang: language,
    }
    .out_of_stock(product_name.trim())
}

/// Short bot disclosure for the first automatic reply of a conversation, so
/// customers know they are talking to software and how to reach a person:
/// EN "This is BikriAgent, <shop>'s automatic assistant; type HUMAN for a
/// person."; the Bangla and Banglish versions name মানুষ / manush.
pub fn disclosure(grounding: &Grounding, language: Language) -> String {
    Writer {
        g: grounding,
        lang: language,
    }
    .disclosure()
}

/// Numbers a reply for this turn may legitimately state beyond the owner's
/// data, as `format_plain` strings, for the safety filter: the order being
/// collected (quantity, unit price, line total, delivery charge, total) and
/// the customer's own phone and address digits read back in the summary,
/// plus every variant's price (product price plus the variant's difference),
/// which is derived rather than stored. Pass the state [`respond`] returned.
pub fn computed_numbers(grounding: &Grounding, state: &ConversationState) -> Vec<String> {
    let mut numbers: Vec<String> = grounding
        .products
        .iter()
        .flat_map(|product| {
            product
                .variants
                .iter()
                .map(move |variant| format_plain(Money::from_minor(product.variant_price_minor(variant))))
        })
        .collect();
    if let Some(draft) = &state.order {
        numbers.extend(order::draft_numbers(grounding, draft));
    }
    numbers.sort();
    numbers.dedup();
    numbers
}

/// One message as the engine reads it.
struct Message<'a> {
    raw: &'a str,
    lower: String,
    tokens: Vec<Token>,
    intents: Intents,
    /// Per token: could be a product word, a name or a question the engine
    /// does not know (not a keyword, not filler).
    content: Vec<bool>,
    mention: Mention,
}

/// Per token: whether it may name a product (not an intent keyword, a
/// stopword, a one-letter word or an address label).
fn content_words(tokens: &[text::Token], intents: &intent::Intents) -> Vec<bool> {
    tokens
        .iter()
        .zip(&intents.keyword)
        .enumerate()
        .map(|(i, (token, keyword))| {
            let long_enough = token.script == Script::Digit || token.text.chars().count() >= 2;
            // "Block E", "Road 11", "Sector 4": part of an address, not a product word.
            let address_label = fields::is_address_label(tokens, i);
            !keyword && long_enough && !is_stopword(&token.folded) && !address_label
        })
        .collect()
}

/// A product's words (name, Bangla name, tags, SKU) as trigrams, computed
/// once per catalog read for the first pass of [`rank_products`].
#[derive(Debug, Clone, Default)]
pub struct MatchKeys {
    /// Sorted, without repeats.
    trigrams: Vec<[char; 3]>,
}

/// The [`MatchKeys`] of one product.
pub fn match_keys(product: &GroundedProduct) -> MatchKeys {
    let mut words = text::folded_words(&product.name);
    words.extend(product.name_bn.as_deref().map(text::folded_words).unwrap_or_default());
    words.extend(product.tags.iter().flat_map(|tag| text::folded_words(tag)));
    words.extend(text::folded_words(&product.sku));
    let mut trigrams: Vec<[char; 3]> = words.iter().flat_map(|word| text::trigrams(word)).collect();
    trigrams.sort_unstable();
    trigrams.dedup();
    MatchKeys { trigrams }
}

/// How many products the full matcher scores; the rest keep the order of
/// the first pass.
const FULLY_SCORED: usize = 8;

/// The indexes of `products` ordered by how well `text` names each, best
/// first; equal scores keep their order. `keys` are the products'
/// [`match_keys`], in the same order. The reply's grounding keeps the first
/// few, so the products a message is about are among them whatever the size
/// of the catalog.
///
/// Two passes, because the engine's full matcher (names, Bangla names,
/// tags, SKUs, typos, Banglish against Bangla) costs tens of microseconds
/// per product: the trigrams the message shares with each product's words
/// (Banglish words also in Bangla letters) pick the [`FULLY_SCORED`]
/// likeliest, and the full matcher orders those.
pub fn rank_products(products: &[GroundedProduct], keys: &[MatchKeys], text: &str) -> Vec<usize> {
    let text = text::truncate(text, text::MAX_CHARS);
    let tokens = text::tokenize(text);
    let intents = intent::detect(&tokens);
    let content = content_words(&tokens, &intents);
    let mut message: Vec<[char; 3]> = Vec::new();
    for (token, is_content) in tokens.iter().zip(&content) {
        if !is_content {
            continue;
        }
        message.extend(text::trigrams(&token.folded));
        if token.script == Script::Latin {
            message.extend(text::trigrams(&crate::pipeline::text::banglish_to_bengali(&token.text)));
        }
    }
    message.sort_unstable();
    message.dedup();
    let quick: Vec<usize> = keys
        .iter()
        .map(|key| {
            key.trigrams
                .iter()
                .filter(|gram| message.binary_search(gram).is_ok())
                .count()
        })
        .collect();
    let mut ranked: Vec<usize> = (0..products.len()).collect();
    ranked.sort_by(|a, b| {
        let shared = |i: &usize| quick.get(*i).copied().unwrap_or(0);
        shared(b).cmp(&shared(a)).then(a.cmp(b))
    });
    let head = ranked.len().min(FULLY_SCORED);
    let scores = lookup::score_all(
        ranked.iter().take(head).filter_map(|&i| products.get(i)),
        &tokens,
        &content,
    );
    // Of equal scores, a whole name or SKU written out ("plain cotton item
    // 7") before a name whose words are all there but its number.
    let mut scored: Vec<(usize, f64, bool)> = ranked
        .iter()
        .take(head)
        .zip(&scores)
        .map(|(&index, (score, how))| (index, *score, ["sku", "name", "Bangla name"].contains(how)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    let mut order: Vec<usize> = scored.into_iter().map(|(index, _, _)| index).collect();
    order.extend(ranked.into_iter().skip(head));
    order
}

impl<'a> Message<'a> {
    fn read(grounding: &Grounding, raw: &'a str) -> Message<'a> {
        let tokens = text::tokenize(raw);
        let intents = intent::detect(&tokens);
        let content = content_words(&tokens, &intents);
        let mut mention = lookup::find_product(&grounding.products, &tokens, &content);
        // "সিঙ্গেল বেডশিট ব্লু ফ্লোরাল": of the bed sheets, the one that has
        // the option named.
        if let Mention::Ambiguous(candidates) = &mention
            && let Some(index) = lookup::by_option_named(&grounding.products, candidates, &tokens)
        {
            mention = Mention::One {
                index,
                score: 1.0,
                how: "the only one of the products named with the option named",
            };
        }
        Message {
            raw,
            lower: raw.to_lowercase(),
            tokens,
            intents,
            content,
            mention,
        }
    }
}

/// Everything one turn works with.
struct Ctx<'a> {
    g: &'a Grounding,
    lang: Language,
    msg: Message<'a>,
    why: Vec<String>,
    /// The products a list in this reply showed ("Amader kichu product:
    /// ..."), which the next message may pick from ("silk ta koto?").
    listed: Option<Vec<uuid::Uuid>>,
}

impl<'a> Ctx<'a> {
    fn writer(&self) -> Writer<'a> {
        Writer {
            g: self.g,
            lang: self.lang,
        }
    }

    /// The product this message names, if exactly one.
    fn mentioned(&self) -> Option<&'a GroundedProduct> {
        match self.msg.mention {
            Mention::One { index, .. } => self.g.products.get(index),
            _ => None,
        }
    }

    /// The products this message names equally well.
    fn ambiguous(&self) -> Vec<&'a GroundedProduct> {
        match &self.msg.mention {
            Mention::Ambiguous(indexes) => indexes.iter().filter_map(|&i| self.g.products.get(i)).collect(),
            _ => Vec::new(),
        }
    }

    /// The product a question is about: the one named now, or else the one
    /// discussed before, so "dam koto?" follows up. A message with words the
    /// engine does not know ("shoes ache?") may name something not in the
    /// catalog, so it does not follow up.
    fn focus(&self, state: &ConversationState) -> Option<&'a GroundedProduct> {
        match self.msg.mention {
            Mention::One { .. } => self.mentioned(),
            Mention::Ambiguous(_) => None,
            // "price for 2 pound?": words of the product discussed, or of
            // its options, still follow up on it.
            Mention::None => state
                .last_product
                .and_then(|id| self.product(id))
                .filter(|product| self.unexplained_besides_options(product) == 0),
        }
    }

    fn product(&self, id: uuid::Uuid) -> Option<&'a GroundedProduct> {
        self.g.products.iter().find(|product| product.id == id)
    }

    /// Words of the message that are neither keywords, filler, nor words of
    /// `product`: a sign the customer asked something the engine cannot read.
    fn unexplained(&self, product: Option<&GroundedProduct>) -> usize {
        let product_words: Vec<String> = product
            .map(|p| {
                let mut words = folded_words(&p.name);
                words.extend(p.name_bn.as_deref().map(folded_words).unwrap_or_default());
                words.extend(p.tags.iter().flat_map(|tag| folded_words(tag)));
                words
            })
            .unwrap_or_default();
        self.msg
            .tokens
            .iter()
            .zip(&self.msg.content)
            .filter(|(token, content)| {
                **content
                    && token.script != Script::Digit
                    && !product_words.iter().any(|word| word_match(word, &token.folded) >= 0.6)
            })
            .count()
    }

    /// [`Ctx::unexplained`] with the words of the product's options (sizes,
    /// colours, weights) explained too.
    fn unexplained_besides_options(&self, product: &GroundedProduct) -> usize {
        let used = lookup::pick_variants(product, &self.msg.tokens)
            .map(|pick| pick.used_tokens)
            .unwrap_or_default();
        let product_words: Vec<String> = {
            let mut words = folded_words(&product.name);
            words.extend(product.name_bn.as_deref().map(folded_words).unwrap_or_default());
            words.extend(product.tags.iter().flat_map(|tag| folded_words(tag)));
            words
        };
        self.msg
            .tokens
            .iter()
            .zip(&self.msg.content)
            .enumerate()
            .filter(|(at, (token, content))| {
                **content
                    && token.script != Script::Digit
                    && !used.contains(at)
                    && !product_words.iter().any(|word| word_match(word, &token.folded) >= 0.6)
            })
            .count()
    }

    /// Records what was read, for the owner's playground page.
    fn explain_reading(&mut self) {
        let intents: Vec<&str> = self.msg.intents.all().iter().map(|intent| intent.name()).collect();
        if !intents.is_empty() {
            self.why.push(format!("intent: {}", intents.join(", ")));
        }
        match &self.msg.mention {
            Mention::One { index, score, how } => {
                if let Some(product) = self.g.products.get(*index) {
                    self.why.push(format!(
                        "matched product {} '{}' (score {score:.2}, by {how})",
                        product.sku, product.name
                    ));
                }
            }
            Mention::Ambiguous(_) => {
                let names: Vec<String> = self
                    .ambiguous()
                    .iter()
                    .map(|p| format!("{} '{}'", p.sku, p.name))
                    .collect();
                self.why
                    .push(format!("several products match equally well: {}", names.join(", ")));
            }
            Mention::None => {}
        }
    }
}

/// The first of the owner's review topics the message mentions.
fn review_topic(grounding: &Grounding, text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    grounding
        .rules
        .review_topics
        .iter()
        .map(|topic| topic.trim())
        .find(|topic| !topic.is_empty() && lower.contains(&topic.to_lowercase()))
        .map(str::to_owned)
}

/// Owners list phrases that must never be sent; a draft containing one goes
/// to the owner instead of being sent or reworded.
fn refuse_never_say(grounding: &Grounding, reply: EngineReply, why: &mut Vec<String>) -> EngineReply {
    let EngineReply::Text(text) = &reply else {
        return reply;
    };
    let lower = text.to_lowercase();
    let banned = grounding
        .rules
        .never_say
        .iter()
        .map(|phrase| phrase.trim())
        .find(|phrase| !phrase.is_empty() && lower.contains(&phrase.to_lowercase()));
    match banned {
        Some(phrase) => {
            why.push(format!("draft contained never-say phrase \"{phrase}\""));
            EngineReply::NeedsOwner {
                reason: format!("the drafted reply contained \"{phrase}\", which you never want said"),
            }
        }
        None => reply,
    }
}
