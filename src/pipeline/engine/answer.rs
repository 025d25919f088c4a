//! Answering questions (no order being collected) from the owner's data.

use crate::catalog::store::{DeliveryArea, PaymentMethod};
use crate::pipeline::grounding::{ConversationState, GroundedProduct};

use super::intent::{Intent, Intents, is_stopword};
use super::lookup::{self, AreaMatch, MAX_CHOICES, Mention};
use super::replies::InfoRequest;
use super::text::folded_words;
use super::{Ctx, EngineReply};

/// The reason given to the owner when nothing in their data answers the message.
pub(super) const CANNOT_ANSWER: &str = "the assistant could not answer this from your catalog";

/// Where answers are given: on their own, or in the middle of an order
/// (where listing products or offering to order again would be noise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Answer,
    InOrder,
}

/// Which questions a message asks that the data can answer.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Wants {
    pub price: bool,
    pub stock: bool,
    pub variants: bool,
    pub delivery: bool,
    pub payment: bool,
    pub hours: bool,
    pub location: bool,
    pub returns: bool,
    pub catalog: bool,
}

impl Wants {
    /// With `weak_too`, "koto?" / "ache?" alone count as price / availability
    /// questions, but only when nothing else was asked ("delivery charge
    /// koto?" asks about delivery, not the product's price).
    pub(super) fn from_intents(intents: &Intents, weak_too: bool) -> Wants {
        let only_weak = weak_too && !intents.has_question();
        Wants {
            price: intents.has(Intent::Price) || (only_weak && intents.has(Intent::PriceWeak)),
            stock: intents.has(Intent::Stock) || (only_weak && intents.has(Intent::StockWeak)),
            variants: intents.has(Intent::Variants),
            delivery: intents.has(Intent::Delivery),
            payment: intents.has(Intent::Payment),
            hours: intents.has(Intent::Hours),
            location: intents.has(Intent::Location),
            returns: intents.has(Intent::Returns),
            catalog: intents.has(Intent::Catalog),
        }
    }

    pub(super) fn about_product(&self) -> bool {
        self.price || self.stock || self.variants
    }

    pub(super) fn any(&self) -> bool {
        self.about_product()
            || self.delivery
            || self.payment
            || self.hours
            || self.location
            || self.returns
            || self.catalog
    }
}

/// Answers a message when no order is being collected.
pub(super) fn answer(ctx: &mut Ctx<'_>, state: &ConversationState) -> EngineReply {
    let intents = &ctx.msg.intents;
    if intents.has(Intent::Human) {
        return owner(ctx, "the customer asked to talk to a person");
    }
    if intents.has(Intent::OrderStatus) {
        return owner(ctx, "the customer asks about an order they already placed");
    }
    let focus = ctx.focus(state);
    // "koto?" with no product in view is not a question the data answers.
    let mut wants = Wants::from_intents(&ctx.msg.intents, focus.is_some());
    if !wants.delivery && asks_about_a_place(ctx) {
        // "Rajshahi?", "noakhali te hobe?", "feni r jonno koto?": a place
        // and nothing else asks whether and for how much it is delivered.
        ctx.why
            .push("a place of Bangladesh named: asking about delivery there".to_owned());
        wants.delivery = true;
        wants.price = ctx.msg.intents.has(Intent::Price);
        wants.stock = ctx.msg.intents.has(Intent::Stock);
    }
    // "dubai te pathate parben?": delivery abroad is no area's charge to
    // quote; only the owner can say. A place in a product's name ("saudi
    // khejur") is not where to deliver.
    if wants.delivery
        && let Some(place) = crate::pipeline::gazetteer::abroad_in(&lookup::tokens_outside_products(
            &ctx.g.products,
            &ctx.msg.tokens,
            true,
        ))
    {
        ctx.why.push(format!("delivery abroad asked: {place}"));
        return owner(
            ctx,
            "the customer asks about delivery abroad, which your delivery areas do not cover",
        );
    }
    // The owner's own answer comes first whenever the message names one of
    // its patterns ("is it original?", "warranty koto din?"), also about a
    // named product: a template would answer a different question.
    if let Some(faq) = faq_text(ctx, true) {
        if !wants.any() || wants.catalog {
            return EngineReply::Text(faq);
        }
        let mut parts = vec![faq];
        // Only what else was asked: no product list when no product is named.
        let named = focus.is_some();
        let also = Wants {
            price: wants.price && named,
            stock: wants.stock && named,
            variants: wants.variants && named,
            catalog: false,
            ..wants
        };
        if also.any()
            && let Ok(more) = sections(ctx, focus, &also, Mode::Answer)
        {
            parts.extend(more);
        }
        return text_reply(ctx, parts);
    }
    if ctx.msg.intents.has(Intent::Discount) {
        // "beef achar still discounted?", "জামদানি শাড়ির অফার চলছে?": the
        // owner's own sale price answers it; asking for more goes to them.
        if let Some(product) = ctx.mentioned()
            && product.sale_price_minor.is_some()
            && asks_about_the_offer_only(&ctx.msg.tokens)
        {
            ctx.why.push("answer: the sale price the owner set".to_owned());
            let info = InfoRequest {
                price: true,
                stock: false,
                offer_order: true,
                variants: &[],
            };
            return text_reply(ctx, vec![ctx.writer().product_info(product, info)]);
        }
        return owner(
            ctx,
            "the customer asks for a discount or a lower price, and only you decide prices",
        );
    }
    if ctx.msg.intents.has(Intent::Comparison)
        && let Some(reply) = comparison(ctx, state)
    {
        return reply;
    }
    if let (Some(product), Mention::None) = (focus, &ctx.msg.mention)
        && wants.about_product()
    {
        ctx.why.push(format!(
            "no product named; following up on {} '{}'",
            product.sku, product.name
        ));
    }
    if wants.catalog
        && !wants.about_product()
        && let Some(reply) = category(ctx)
    {
        return reply;
    }
    if wants.any() {
        return match sections(ctx, focus, &wants, Mode::Answer) {
            Ok(parts) if parts.iter().any(|part| !part.trim().is_empty()) => text_reply(ctx, parts),
            Ok(_) => product_only(ctx)
                .or_else(|| category(ctx))
                .unwrap_or_else(|| owner(ctx, CANNOT_ANSWER)),
            Err(reason) => owner(ctx, &reason),
        };
    }
    if let Some(reply) = variant_follow_up(ctx, state) {
        return reply;
    }
    if let Some(faq) = faq_text(ctx, false) {
        return EngineReply::Text(faq);
    }
    if let Some(reply) = product_only(ctx) {
        return reply;
    }
    small_talk(ctx).unwrap_or_else(|| owner(ctx, CANNOT_ANSWER))
}

/// A message that names a place of Bangladesh the owner's areas cover, no
/// product, and nothing the engine would answer otherwise but "how much" or
/// "is there": a question about delivering there.
fn asks_about_a_place(ctx: &Ctx<'_>) -> bool {
    let intents = &ctx.msg.intents;
    let other_question = [
        Intent::Price,
        Intent::Variants,
        Intent::Payment,
        Intent::Hours,
        Intent::Location,
        Intent::Returns,
        Intent::Catalog,
        Intent::Comparison,
        Intent::Discount,
    ]
    .into_iter()
    .any(|intent| intents.has(intent));
    !other_question
        && matches!(ctx.msg.mention, Mention::None)
        && matches!(
            lookup::find_area_or_place(&ctx.g.delivery_areas, &ctx.g.products, &ctx.msg.tokens),
            AreaMatch::One(_)
        )
}

/// Whether a discount message only asks about an offer ("offer ache?",
/// "still discounted?") rather than for a lower price ("kom hobe?", "last
/// price", "ar kichu kom", a price of the customer's own).
fn asks_about_the_offer_only(tokens: &[super::text::Token]) -> bool {
    static OFFER: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| folded_words("offer offers discount discounted discounts sale অফার ডিসকাউন্ট সেল"));
    static MORE: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        folded_words(
            "kom কম last final lowest less free ফ্রি ছাড় komano komaben kombe paikari পাইকারি wholesale bulk \
             extra more aro আরো আরও beshi বেশি coupon promo voucher dile diben den dien দিলে দিবেন দেন give \
             if jodi যদি nile নিলে kinle কিনলে buy",
        )
    });
    let offer = tokens.iter().any(|token| OFFER.contains(&token.folded));
    // A price of the customer's own ("1400 e hobe?"), not a model number ("t13").
    let names_a_price = |token: &super::text::Token| {
        token.script == super::text::Script::Digit && token.text.parse::<u64>().is_ok_and(|value| value >= 50)
    };
    let more = tokens
        .iter()
        .any(|token| MORE.contains(&token.folded) || names_a_price(token));
    offer && !more
}

/// A product named this clearly is what the message is about even with a
/// few words the engine does not know ("the kids panjabi for my son, 4-5
/// years"): its price and stock answer it.
const CLEAR_MENTION: f64 = 0.7;

/// The message only names a product ("red saree?"): its price and stock.
fn product_only(ctx: &mut Ctx<'_>) -> Option<EngineReply> {
    let writer = ctx.writer();
    if let Some(product) = ctx.mentioned() {
        let clear = matches!(ctx.msg.mention, Mention::One { score, .. } if score >= CLEAR_MENTION);
        let allowed = if clear { 3 } else { 1 };
        if ctx.unexplained(Some(product)) > allowed {
            return None;
        }
        ctx.why.push("answer: product price and stock".to_owned());
        let named = lookup::pick_variants(product, &ctx.msg.tokens).map(|pick| pick.candidates);
        let info = InfoRequest {
            price: true,
            stock: true,
            offer_order: true,
            variants: named.as_deref().unwrap_or_default(),
        };
        return Some(text_reply(ctx, vec![writer.product_info(product, info)]));
    }
    let choices = ctx.ambiguous();
    if choices.is_empty() || ctx.unexplained(None) > choices.len() + 1 {
        return None;
    }
    ctx.why.push("answer: asked which product".to_owned());
    Some(text_reply(ctx, vec![writer.which_one(&choices)]))
}

/// "achar ki ki ache?", "What panjabis do you have?": the products whose
/// name, Bangla name or tags hold a word of the message, when there are
/// some; `None` otherwise (the general catalog answers).
fn category(ctx: &mut Ctx<'_>) -> Option<EngineReply> {
    let words: Vec<String> = ctx
        .msg
        .tokens
        .iter()
        .zip(&ctx.msg.content)
        .filter(|(token, content)| **content && token.script != super::text::Script::Digit)
        .map(|(token, _)| token.folded.clone())
        .collect();
    if words.is_empty() {
        return None;
    }
    // "what else do you make apart from pickles?", "আচার ছাড়া আর কী
    // আছে?": every product but the kind named.
    static APART: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| folded_words("else apart other except besides chara ছাড়া ছাড়াও বাদে"));
    let apart = ctx.msg.tokens.iter().any(|token| APART.contains(&token.folded));
    let matching: Vec<&GroundedProduct> = ctx
        .g
        .products
        .iter()
        .filter(|product| {
            let mut names = folded_words(&product.name);
            names.extend(product.name_bn.as_deref().map(folded_words).unwrap_or_default());
            names.extend(product.tags.iter().flat_map(|tag| folded_words(tag)));
            let of_the_kind = names
                .iter()
                .any(|name| words.iter().any(|word| super::text::word_match(name, word) >= 0.85));
            of_the_kind != apart
        })
        .take(CATEGORY_LIST)
        .collect();
    if matching.is_empty() {
        return None;
    }
    ctx.why
        .push(format!("answer: {} products of the kind asked about", matching.len()));
    ctx.listed = Some(matching.iter().map(|product| product.id).collect());
    Some(text_reply(ctx, vec![ctx.writer().catalog(&matching)]))
}

/// At most this many products are listed for "what X do you have?".
const CATEGORY_LIST: usize = 8;

/// "ar maroon ta?", "white ache?": an option of the product discussed before.
fn variant_follow_up(ctx: &mut Ctx<'_>, state: &ConversationState) -> Option<EngineReply> {
    if !matches!(ctx.msg.mention, Mention::None) {
        return None;
    }
    let product = state.last_product.and_then(|id| ctx.product(id))?;
    let pick = lookup::pick_variants(product, &ctx.msg.tokens)?;
    if pick.candidates.is_empty() {
        return None;
    }
    ctx.why
        .push(format!("answer: options of {} asked after it", product.sku));
    let info = InfoRequest {
        price: true,
        stock: true,
        offer_order: true,
        variants: &pick.candidates,
    };
    Some(text_reply(ctx, vec![ctx.writer().product_info(product, info)]))
}

fn small_talk(ctx: &mut Ctx<'_>) -> Option<EngineReply> {
    let intents = &ctx.msg.intents;
    if intents.all().is_empty() || !intents.only_small_talk() || ctx.unexplained(None) > 1 {
        return None;
    }
    let writer = ctx.writer();
    let (kind, text) = if intents.has(Intent::Salam) || intents.has(Intent::Greeting) {
        ("greeting", writer.greeting(intents.has(Intent::Salam)))
    } else if intents.has(Intent::Thanks) {
        ("thanks", writer.thanks())
    } else if intents.has(Intent::Bye) {
        ("goodbye", writer.bye())
    } else {
        ("acknowledgement", writer.ack().to_owned())
    };
    ctx.why.push(format!("answer: {kind}"));
    Some(EngineReply::Text(text))
}

/// Joins answer paragraphs, returning the customer's salam first.
fn text_reply(ctx: &Ctx<'_>, parts: Vec<String>) -> EngineReply {
    let mut text = parts.join("\n\n");
    if ctx.msg.intents.has(Intent::Salam) {
        text = format!("{}\n{text}", ctx.writer().salam());
    }
    EngineReply::Text(text)
}

pub(super) fn owner(ctx: &mut Ctx<'_>, reason: &str) -> EngineReply {
    ctx.why.push(format!("needs owner: {reason}"));
    EngineReply::NeedsOwner {
        reason: reason.to_owned(),
    }
}

/// The owner's own answer when the message matches one of their FAQ
/// patterns: written as-is (`exact`) or by most of its words.
pub(super) fn faq_text(ctx: &mut Ctx<'_>, exact: bool) -> Option<String> {
    let hit = lookup::find_faq(&ctx.g.faq, &ctx.msg.lower, &ctx.msg.tokens).filter(|hit| hit.exact == exact)?;
    let answer = ctx.g.faq.get(hit.index)?.answer.trim();
    if answer.is_empty() {
        return None;
    }
    ctx.why.push(format!("FAQ matched pattern \"{}\"", hit.pattern));
    Some(answer.to_owned())
}

/// "Which is cheaper, X or Y?": the facts of each product named (price,
/// stock, the owner's description), and which costs less when asked. The
/// engine never judges "better": it states what the data says. `None` when
/// fewer than two products are named, so the message is read as usual.
fn comparison(ctx: &mut Ctx<'_>, state: &ConversationState) -> Option<EngineReply> {
    let mut named = lookup::find_products_each(&ctx.g.products, &ctx.msg.tokens, &ctx.msg.content);
    if named.len() == 1
        && let Some(last) = state
            .last_product
            .and_then(|id| ctx.g.products.iter().position(|p| p.id == id))
        && !named.contains(&last)
    {
        named.insert(0, last);
    }
    let products: Vec<&GroundedProduct> = named.iter().filter_map(|&i| ctx.g.products.get(i)).collect();
    if products.len() < 2 {
        return None;
    }
    ctx.why.push(format!(
        "answer: compared {}",
        products.iter().map(|p| p.sku.as_str()).collect::<Vec<_>>().join(", ")
    ));
    Some(text_reply(ctx, vec![ctx.writer().comparison(&products)]))
}

/// One paragraph per question asked, each copied from the owner's data.
/// `Err` gives the owner the reason when the data has no answer.
pub(super) fn sections(
    ctx: &mut Ctx<'_>,
    focus: Option<&GroundedProduct>,
    wants: &Wants,
    mode: Mode,
) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    if wants.about_product()
        && let Some(part) = product_section(ctx, focus, wants, mode)?
    {
        parts.push(part);
    }
    if wants.catalog && (focus.is_none() || !wants.about_product()) && ctx.mentioned().is_none() {
        parts.push(catalog_section(ctx)?);
    }
    if wants.delivery {
        parts.push(delivery_section(ctx)?);
    }
    if wants.payment {
        parts.push(payment_section(ctx)?);
    }
    if wants.hours {
        let hours = ctx.g.profile.opening_hours.trim();
        if hours.is_empty() {
            return Err("the customer asked about opening hours, which your profile does not give".to_owned());
        }
        ctx.why.push("answer: opening hours from the profile".to_owned());
        parts.push(ctx.writer().opening_hours(hours));
    }
    if wants.location {
        let address = ctx.g.owner_address.trim();
        if address.is_empty() {
            return Err("the customer asked where your shop is, and your profile has no address".to_owned());
        }
        ctx.why.push("answer: the shop's address from the profile".to_owned());
        parts.push(ctx.writer().shop_address(address));
    }
    if wants.returns {
        let policy = ctx.g.profile.return_policy.trim();
        if policy.is_empty() {
            return Err("the customer asked about returns, and your profile has no return policy".to_owned());
        }
        ctx.why.push("answer: return policy from the profile".to_owned());
        parts.push(ctx.writer().return_policy(policy));
    }
    Ok(parts)
}

fn product_section(
    ctx: &mut Ctx<'_>,
    focus: Option<&GroundedProduct>,
    wants: &Wants,
    mode: Mode,
) -> Result<Option<String>, String> {
    let writer = ctx.writer();
    if let Some(product) = focus {
        ctx.why
            .push(format!("answer: {} of {}", what_about(wants), product.sku));
        let named = lookup::pick_variants(product, &ctx.msg.tokens).map(|pick| pick.candidates);
        let text = if wants.variants && product.variants.is_empty() {
            writer.no_variants(product)
        } else {
            let info = InfoRequest {
                price: wants.price,
                stock: wants.stock,
                offer_order: mode == Mode::Answer,
                variants: named.as_deref().unwrap_or_default(),
            };
            writer.product_info(product, info)
        };
        return Ok(Some(text));
    }
    if mode == Mode::InOrder {
        return Ok(None);
    }
    let choices = ctx.ambiguous();
    if !choices.is_empty() {
        ctx.why.push("answer: asked which product".to_owned());
        return Ok(Some(writer.which_one(&choices)));
    }
    if wants.catalog {
        // The catalog section lists products already.
        return Ok(None);
    }
    catalog_section(ctx).map(Some)
}

fn what_about(wants: &Wants) -> &'static str {
    match (wants.price, wants.stock, wants.variants) {
        (_, _, true) => "options",
        (true, _, _) => "price",
        _ => "availability",
    }
}

fn catalog_section(ctx: &mut Ctx<'_>) -> Result<String, String> {
    let products: Vec<&GroundedProduct> = ctx.g.products.iter().take(MAX_CHOICES).collect();
    if products.is_empty() {
        return Err("the customer asked about products, but none matched in your catalog".to_owned());
    }
    ctx.why.push(format!("answer: listed {} products", products.len()));
    ctx.listed = Some(products.iter().map(|product| product.id).collect());
    Ok(ctx.writer().catalog(&products))
}

/// Every area's charge and time, or only the area the message names.
fn delivery_section(ctx: &mut Ctx<'_>) -> Result<String, String> {
    let areas = &ctx.g.delivery_areas;
    if areas.is_empty() {
        return Err("the customer asked about delivery, but you have no delivery areas set up".to_owned());
    }
    let chosen: Vec<&DeliveryArea> = match lookup::find_area_or_place(areas, &ctx.g.products, &ctx.msg.tokens) {
        AreaMatch::One(index) => areas.get(index).into_iter().collect(),
        AreaMatch::None => areas.iter().collect(),
    };
    ctx.why
        .push(format!("answer: delivery charge for {} area(s)", chosen.len()));
    Ok(ctx.writer().delivery(&chosen))
}

/// Every payment method, or only those the message names ("bkash e pay korbo").
fn payment_section(ctx: &mut Ctx<'_>) -> Result<String, String> {
    let methods = &ctx.g.payment_methods;
    if methods.is_empty() {
        return Err("the customer asked about payment, but you have no payment methods set up".to_owned());
    }
    let named: Vec<&PaymentMethod> = methods.iter().filter(|method| names_method(ctx, method)).collect();
    let chosen: Vec<&PaymentMethod> = if named.is_empty() {
        methods.iter().collect()
    } else {
        named
    };
    ctx.why.push(format!(
        "answer: {} payment method(s) with your instructions",
        chosen.len()
    ));
    Ok(ctx.writer().payment(&chosen))
}

/// Words of method labels that name no method in particular ("Cash on
/// delivery" is not named by asking about delivery).
const GENERIC_METHOD_WORDS: &str = "delivery payment pay transfer money send mobile banking account";

fn names_method(ctx: &Ctx<'_>, method: &PaymentMethod) -> bool {
    let generic = folded_words(GENERIC_METHOD_WORDS);
    let mut words = folded_words(&method.kind);
    words.extend(folded_words(&method.label));
    words
        .iter()
        .filter(|word| word.chars().count() >= 3 && !is_stopword(word) && !generic.contains(word))
        .any(|word| ctx.msg.tokens.iter().any(|token| token.folded == *word))
}
