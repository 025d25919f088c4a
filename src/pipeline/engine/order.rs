//! Order capture over several messages: product, option, quantity, name,
//! phone, address and delivery area, then a read-back and a confirmation.
//!
//! Customers send details one at a time or all at once, so every message is
//! read for every field, and the next missing one is asked for. Nothing is
//! ordered until the customer confirms the summary with its total.

use uuid::Uuid;

use crate::catalog::money::{Money, format_plain};
use crate::catalog::store::{DeliveryArea, VariantRow};
use crate::pipeline::grounding::{
    ConversationState, DraftItem, GroundedProduct, Grounding, OrderDraft, OrderRequest, RequestItem,
};

use super::answer::{self, Wants};
use super::fields::{self, PhoneScan};
use super::intent::Intent;
use super::lookup::{self, AreaMatch, MAX_CHOICES, Mention};
use super::replies::{Availability, sold_out};
use super::text::{self, folded_words};
use super::{Ctx, EngineReply};

/// The reasons given when a message in the middle of an order is not understood.
pub(super) const ORDER_NOT_UNDERSTOOD: &str =
    "the customer wrote something the assistant could not understand while placing an order";
pub(super) const SUMMARY_NOT_UNDERSTOOD: &str =
    "the customer replied to the order summary with something the assistant could not understand";

/// Words that add a product to an order rather than replace it (folded).
const ALSO: &[&str] = &[
    "ar",
    "and",
    "also",
    "plus",
    "aro",
    "arekta",
    "another",
    "আর",
    "আরো",
    "আরও",
    "সাথে",
    "sathe",
    "satheh",
];

/// More than this many of one product is a wholesale order for the owner
/// ("300 pis patishapta", "40 power banks for the office").
pub(super) const LARGE_ORDER: i32 = 20;

/// How many times in a row the same detail is asked for before the owner
/// takes over.
const MAX_SAME_QUESTION: u8 = 2;

/// A detail an order needs, in the order they are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Product,
    Variant,
    Quantity,
    Name,
    Phone,
    Address,
    Area,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Product => "product",
            Field::Variant => "option (size/colour)",
            Field::Quantity => "quantity",
            Field::Name => "name",
            Field::Phone => "phone",
            Field::Address => "address",
            Field::Area => "delivery area",
        }
    }
}

/// Whether this message (with no order in progress) starts one: "order
/// korbo", "red saree nibo", or "yes" right after discussing a product.
/// "I want to know the price" is a question, not an order.
pub(super) fn wants_to_start(ctx: &Ctx<'_>, state: &ConversationState) -> bool {
    let intents = &ctx.msg.intents;
    let refuses = [
        Intent::Human,
        Intent::OrderStatus,
        Intent::Cancel,
        Intent::No,
        Intent::Discount,
    ];
    if refuses.iter().any(|intent| intents.has(*intent)) {
        return false;
    }
    // "if i order today to dhanmondi when will it arrive", "order dile kobe
    // pabo?": a question about ordering, not an order.
    static IF: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| folded_words("if jodi jdi যদি korle dile করলে দিলে"));
    let conditional = ctx.msg.tokens.iter().any(|token| IF.contains(&token.folded));
    let about_ordering = [Intent::Delivery, Intent::Hours, Intent::Payment, Intent::Returns]
        .iter()
        .any(|intent| intents.has(*intent));
    if conditional && about_ordering && fields::find_phone(ctx.msg.raw).phone.is_none() {
        return false;
    }
    // "where is your shop? want to see the sarees before buying": a visit
    // to the shop, not an order here.
    if intents.has(Intent::Location) && fields::find_phone(ctx.msg.raw).phone.is_none() {
        return false;
    }
    // Several products with their counts and the customer's details ("1
    // CeraVe cleanser and 1 Simple toner to House 8 …, 017…"): an order,
    // whatever else the message mentions, unless it ends as a question.
    let ends_asking = ctx.msg.raw.trim_end().ends_with(['?', '？']);
    let ordering =
        intents.has(Intent::Order) || intents.has(Intent::OrderWeak) || fields::find_phone(ctx.msg.raw).phone.is_some();
    if ordering && !ends_asking && several_items(ctx).is_some() {
        return true;
    }
    let names_product = !matches!(ctx.msg.mention, Mention::None);
    let follow_up = state.last_product.and_then(|id| ctx.product(id));
    let product_at_hand = ctx.mentioned().or(follow_up).is_some_and(|product| !sold_out(product));
    // "ok I'll take two. deliver to Lalmatia block E, house 9": where to
    // deliver, said in an order, is a detail of it, not a delivery question.
    if intents.has(Intent::Order) && !ends_asking && product_at_hand && gives_contact(ctx) && !asks_in_words(ctx) {
        return true;
    }
    // "khejur gur 1kg, 3 packets please": a product and how many of it,
    // asking nothing, is an order; so is a product with the customer's phone
    // ("three piece XL 1ta, Tania, 017…, Shantinagar. cash on delivery").
    let with_phone = fields::find_phone(ctx.msg.raw).phone.is_some() && !asks_in_words(ctx);
    if (counted_without_asking(ctx) || with_phone) && matches!(ctx.msg.mention, Mention::One { .. }) && product_at_hand
    {
        return true;
    }
    // "pink ta 1pc nibo", "2 white panjabis, size L": an option named in an
    // order is part of it, not a question about the options.
    let asks_more = intents
        .all()
        .iter()
        .any(|intent| intent.is_question() && *intent != Intent::Variants)
        || ctx.msg.raw.trim_end().ends_with(['?', '？']);
    if intents.has(Intent::Order) {
        return names_product || !asks_more;
    }
    if intents.has(Intent::OrderWeak) {
        // "I want red saree" or a bare "I want", not "I want a refund", and
        // not a question about something else: "do you make kacchi biryani?
        // need it for a party", where only "party" (a cake's tag) fits.
        let asks_anywhere = ctx.msg.raw.contains(['?', '？']);
        let product_fits = match &ctx.msg.mention {
            Mention::One { score, .. } => {
                *score >= 0.7
                    || ctx
                        .mentioned()
                        .is_some_and(|product| ctx.unexplained_besides_options(product) <= 1)
            }
            Mention::Ambiguous(_) => true,
            Mention::None => false,
        };
        return !asks_more
            && (!asks_anywhere || product_fits)
            && (names_product || ctx.unexplained(None) == 0 || several_items(ctx).is_some());
    }
    // Contact details or a quantity right after a product was discussed
    // ("Sumaiya, 01811223344, Ambarkhana, Sylhet", "নাম নুসরাত", "দুইটা")
    // mean the customer is ordering it.
    let gives_details = fields::find_phone(ctx.msg.raw).phone.is_some()
        || fields::find_name(ctx.msg.raw, &ctx.msg.tokens, &intents.keyword).is_some()
        || fields::find_quantity(&ctx.msg.tokens, &not_a_count(ctx, follow_up), false).is_some();
    let asks = intents.has_question() || ctx.msg.raw.trim_end().ends_with(['?', '？']);
    if gives_details && !asks && follow_up.is_some_and(|product| !sold_out(product)) {
        return true;
    }
    intents.has(Intent::Yes)
        && intents.only_small_talk()
        && !names_product
        && ctx.unexplained(None) == 0
        && follow_up.is_some_and(|product| !sold_out(product))
}

/// Whether the message gives a phone number, a name after its marker, or an
/// address (an address word with a number: "house 9", "road 3").
fn gives_contact(ctx: &Ctx<'_>) -> bool {
    let tokens = &ctx.msg.tokens;
    fields::find_phone(ctx.msg.raw).phone.is_some()
        || fields::find_name(ctx.msg.raw, tokens, &ctx.msg.intents.keyword).is_some()
        || (0..tokens.len()).any(|at| fields::is_address_label(tokens, at))
}

/// Whether the message asks with a question word ("koto", "how much",
/// "kobe", "কত", "when") or ends with a question mark.
fn asks_in_words(ctx: &Ctx<'_>) -> bool {
    // "does the jamdani come with …", "is it cotton": an English question
    // opens with its verb.
    static OPENS_A_QUESTION: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        folded_words("do does did is are was can could will would should have has shall may")
    });
    if ctx
        .msg
        .tokens
        .first()
        .is_some_and(|first| first.script == text::Script::Latin && OPENS_A_QUESTION.contains(&first.folded))
    {
        return true;
    }
    static ASKING: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        folded_words(
            "how what when which where why koto kto koy kobe kokhon kothay keno ki kno কত কতো কবে কখন কোথায় কেন কী কি কোনটা",
        )
    });
    ctx.msg.raw.trim_end().ends_with(['?', '？']) || ctx.msg.tokens.iter().any(|token| ASKING.contains(&token.folded))
}

/// Whether the message orders outright, so an FAQ word in it ("leather",
/// "packet") does not make it a question: it counts a product it names and
/// asks nothing, or says "order" with the customer's phone and no question.
pub(super) fn orders_outright(ctx: &Ctx<'_>) -> bool {
    if asks_in_words(ctx) {
        return false;
    }
    let counted = matches!(ctx.msg.mention, Mention::One { .. }) && counted_without_asking(ctx);
    // "nakshi kantha bed cover queen size order dite chai": "size" is an
    // FAQ word, but the message orders.
    let says_order = ctx.msg.intents.has(Intent::Order) && !matches!(ctx.msg.mention, Mention::None);
    let with_phone = fields::find_phone(ctx.msg.raw).phone.is_some();
    counted || says_order || with_phone
}

/// Whether the message counts something ("3 packets", "2ta") and asks
/// nothing, in words or by its intents.
pub(super) fn counted_without_asking(ctx: &Ctx<'_>) -> bool {
    let product = ctx.mentioned();
    // "৪০ সাইজ ৩ জোড়া": naming a size is choosing it, not asking.
    let asks_by_intent = ctx
        .msg
        .intents
        .all()
        .iter()
        .any(|intent| intent.is_question() && *intent != Intent::Variants);
    !asks_in_words(ctx)
        && !asks_by_intent
        && fields::find_quantity(&ctx.msg.tokens, &not_a_count(ctx, product), false).is_some()
}

/// Moves the order in `state` one step on with this message.
pub(super) fn run(ctx: &mut Ctx<'_>, state: &mut ConversationState) -> EngineReply {
    let draft = state.order.take().unwrap_or_else(|| {
        ctx.why.push("order: started".to_owned());
        OrderDraft::default()
    });
    let (reply, kept) = step(ctx, (state.last_product, state.last_variant), draft);
    state.order = kept;
    reply
}

/// What one message did to the order, besides the draft's own fields.
#[derive(Debug, Default)]
struct Turn {
    /// Sentences to put before the next question ("only 3 left").
    notes: Vec<String>,
    /// A field was set or cleared.
    changed: bool,
    /// The customer sent a number that is not a valid mobile number.
    phone_invalid: bool,
    /// The message narrowed the options without picking one.
    variant_choices: Option<Vec<usize>>,
    /// The message named a size or colour.
    variant_named: bool,
    /// Token indexes that are not a quantity: phone, address, sizes.
    not_quantity: Vec<bool>,
    /// The message named several products, each read in its own part
    /// (with its own option and quantity).
    several: bool,
}

/// One step of the order; the draft to keep (`None` ends the order).
/// The product (and option) discussed before the order started.
type Discussed = (Option<Uuid>, Option<Uuid>);

fn step(ctx: &mut Ctx<'_>, discussed: Discussed, mut draft: OrderDraft) -> (EngineReply, Option<OrderDraft>) {
    if wants_cancel(ctx) {
        ctx.why.push("order: cancelled by the customer".to_owned());
        return (EngineReply::Text(ctx.writer().cancelled().to_owned()), None);
    }
    if ctx.msg.intents.has(Intent::Discount) {
        let reason = "the customer asks for a discount or a lower price, and only you decide prices";
        return (answer::owner(ctx, reason), Some(draft));
    }
    forget_stale(ctx, &mut draft);
    let turn = match read_details(ctx, &mut draft, discussed) {
        Ok(turn) => turn,
        Err(Stop::SoldOut(text)) => return (EngineReply::Text(text), None),
        Err(Stop::Owner(reason)) => return (answer::owner(ctx, reason), Some(draft)),
    };
    if draft.awaiting_confirmation {
        return confirm(ctx, draft);
    }
    let sections = match questions(ctx, &draft, &turn) {
        Ok(sections) => sections,
        Err(reason) => return (answer::owner(ctx, &reason), Some(draft)),
    };
    let understood = turn.changed
        || !turn.notes.is_empty()
        || !sections.is_empty()
        || turn.phone_invalid
        || !ctx.ambiguous().is_empty();
    let product = draft.product_id.and_then(|id| ctx.product(id));
    if !understood && ctx.unexplained(product) > 1 {
        return (answer::owner(ctx, ORDER_NOT_UNDERSTOOD), Some(draft));
    }
    ask_next(ctx, draft, turn, sections)
}

/// Why reading a message ended the step early.
enum Stop {
    /// The product ran out: the order ends with this text.
    SoldOut(String),
    /// Only the owner can go on (the reason is for them).
    Owner(&'static str),
}

/// Reads every detail the message gives into the draft. A change reopens a
/// summary already read back, so the customer confirms what will be ordered.
fn read_details(ctx: &mut Ctx<'_>, draft: &mut OrderDraft, discussed: Discussed) -> Result<Turn, Stop> {
    let pending = next_missing(ctx.g, draft);
    let mut turn = Turn {
        not_quantity: vec![false; ctx.msg.tokens.len()],
        ..Turn::default()
    };
    let product_before = draft.product_id;
    choose_product(ctx, draft, &mut turn, pending, discussed);
    // A product named now brings its option with it ("white panjabi in M"),
    // whatever detail was asked for.
    let product_named_now = draft.product_id != product_before;
    let contact_before = (draft.customer_name.clone(), draft.phone.clone(), draft.address.clone());
    read_contact(ctx, draft, &mut turn, pending);
    let gave_contact = contact_before != (draft.customer_name.clone(), draft.phone.clone(), draft.address.clone());
    let product = draft.product_id.and_then(|id| ctx.product(id));
    if let Some(product) = product {
        if sold_out(product) {
            ctx.why
                .push(format!("order: {} is out of stock; order dropped", product.sku));
            let writer = ctx.writer();
            return Err(Stop::SoldOut(writer.out_of_stock(writer.name(product))));
        }
        // While a name or address is asked for, option words may be part of
        // it ("Rupa", "Road 5"); a message that gives neither changes the
        // option ("na wait, 3-4 years er tai den").
        let option_may_change =
            product_named_now || !matches!(pending, Some(Field::Name | Field::Address)) || !gave_contact;
        if !turn.several && option_may_change {
            choose_variant(ctx, product, draft, &mut turn);
        }
    }
    if !turn.several && !recount_earlier_item(ctx, draft, &mut turn) {
        read_quantity(ctx, product, draft, &mut turn, pending).map_err(Stop::Owner)?;
    }
    read_area(ctx, draft, &mut turn, pending);
    if let Some(product) = product {
        check_quantity(ctx, product, draft, &mut turn);
    }
    if turn.changed {
        draft.awaiting_confirmation = false;
    }
    Ok(turn)
}

/// "make it just 1 charger" when the charger is an earlier item of the order
/// (not the one being completed): its count changes. Whether it did.
fn recount_earlier_item(ctx: &mut Ctx<'_>, draft: &mut OrderDraft, turn: &mut Turn) -> bool {
    // "1 saree" when two sarees match: the one in the order.
    let named: Vec<&GroundedProduct> = ctx.mentioned().map_or_else(|| ctx.ambiguous(), |one| vec![one]);
    let in_order: Vec<&GroundedProduct> = named
        .into_iter()
        .filter(|product| {
            draft.product_id == Some(product.id) || draft.items.iter().any(|item| item.product_id == product.id)
        })
        .collect();
    let [product] = in_order.as_slice() else {
        return false;
    };
    let product: &GroundedProduct = product;
    if draft.product_id == Some(product.id) {
        return false;
    }
    let (id, sku) = (product.id, product.sku.clone());
    let mut matching = draft.items.iter_mut().filter(|item| item.product_id == id);
    let (Some(item), None) = (matching.next(), matching.next()) else {
        return false;
    };
    let mut skip = turn.not_quantity.clone();
    for (flag, name) in skip.iter_mut().zip(not_a_count(ctx, Some(product))) {
        *flag |= name;
    }
    let Some(count) = fields::find_quantity(&ctx.msg.tokens, &skip, true)
        .and_then(|count| i32::try_from(count).ok())
        .filter(|count| (1..=LARGE_ORDER).contains(count))
    else {
        return false;
    };
    if item.quantity != count {
        item.quantity = count;
        turn.changed = true;
        ctx.why.push(format!("order: quantity {count} of {sku}"));
    }
    true
}

/// "cancel", "বাতিল", or a bare "no" / "na" (not the "no" of "phone no 017…").
fn wants_cancel(ctx: &Ctx<'_>) -> bool {
    let intents = &ctx.msg.intents;
    if intents.has(Intent::Cancel) {
        return true;
    }
    let only_refusal = intents.all().iter().all(|intent| {
        matches!(
            intent,
            Intent::No | Intent::Thanks | Intent::Ack | Intent::Bye | Intent::OrderWeak
        )
    });
    let has_digits = ctx.msg.tokens.iter().any(|token| token.script == text::Script::Digit);
    intents.has(Intent::No) && only_refusal && !has_digits && ctx.unexplained(None) == 0
}

/// Drops ids the owner's data no longer has (an archived product, a removed
/// area), so they are asked for again instead of quoted from memory.
fn forget_stale(ctx: &mut Ctx<'_>, draft: &mut OrderDraft) {
    let before = draft.items.len();
    draft
        .items
        .retain(|item| ctx.g.products.iter().any(|p| p.id == item.product_id));
    if draft.items.len() != before {
        ctx.why
            .push("order: a product of the order is no longer in the catalog".to_owned());
        draft.awaiting_confirmation = false;
    }
    let product = draft.product_id.and_then(|id| ctx.product(id));
    if draft.product_id.is_some() && product.is_none() {
        ctx.why
            .push("order: the product is no longer in the catalog; asking again".to_owned());
        draft.product_id = None;
        draft.variant_id = None;
        draft.awaiting_confirmation = false;
    }
    let variant_known = |id: Uuid| product.is_some_and(|p| p.variants.iter().any(|v| v.id == id));
    if draft.variant_id.is_some_and(|id| !variant_known(id)) {
        draft.variant_id = None;
        draft.awaiting_confirmation = false;
    }
    if draft
        .delivery_area_id
        .is_some_and(|id| !ctx.g.delivery_areas.iter().any(|area| area.id == id))
    {
        draft.delivery_area_id = None;
        draft.awaiting_confirmation = false;
    }
}

/// The first detail the order still needs.
pub(super) fn next_missing(g: &Grounding, draft: &OrderDraft) -> Option<Field> {
    let Some(product) = draft.product_id.and_then(|id| g.products.iter().find(|p| p.id == id)) else {
        return Some(Field::Product);
    };
    let variant_ok = product.variants.is_empty()
        || draft
            .variant_id
            .is_some_and(|id| product.variants.iter().any(|v| v.id == id));
    let area_ok = g.delivery_areas.is_empty()
        || draft
            .delivery_area_id
            .is_some_and(|id| g.delivery_areas.iter().any(|a| a.id == id));
    [
        (Field::Variant, variant_ok),
        // No quantity said is one: the summary shows it before anything is
        // ordered, so "ekta nibo" and "order korbo" need no question. Zero
        // marks a quantity refused for stock, which must be asked again.
        (Field::Quantity, draft.quantity != Some(0)),
        (Field::Name, draft.customer_name.is_some()),
        (Field::Phone, draft.phone.is_some()),
        (Field::Address, draft.address.is_some()),
        (Field::Area, area_ok),
    ]
    .into_iter()
    .find(|(_, ok)| !ok)
    .map(|(field, _)| field)
}

/// Takes the product the message names, or (when starting) the one the
/// conversation was about. A named product replaces the order's product only
/// when the customer says they want it, not while giving a name or address.
fn choose_product(
    ctx: &mut Ctx<'_>,
    draft: &mut OrderDraft,
    turn: &mut Turn,
    pending: Option<Field>,
    (last_product, last_variant): Discussed,
) {
    // "tahole 1ta black ar 1ta off white dien": options of the product
    // being ordered, each with its count, replace it.
    let current = draft
        .product_id
        .and_then(|id| ctx.g.products.iter().position(|p| p.id == id));
    let several = if draft.items.is_empty() {
        match current {
            None => several_items(ctx),
            Some(index) => {
                several_items_of(ctx, Some(index)).filter(|items| items.iter().all(|item| item.product == index))
            }
        }
    } else {
        None
    };
    if let Some(several) = several {
        let named: Vec<String> = several
            .iter()
            .filter_map(|item| ctx.g.products.get(item.product).map(|p| p.sku.clone()))
            .collect();
        ctx.why
            .push(format!("order: several products in one message, {}", named.join(", ")));
        let mut items: Vec<DraftItem> = Vec::new();
        let mut current = None;
        for item in several {
            let Some(product) = ctx.g.products.get(item.product) else {
                continue;
            };
            let complete = product.variants.is_empty() || item.variant.is_some();
            let draft_item = DraftItem {
                product_id: product.id,
                variant_id: item.variant,
                quantity: item.quantity.unwrap_or(1),
            };
            if complete || current.is_some() {
                items.push(draft_item);
            } else {
                current = Some(draft_item);
            }
        }
        // The one still without its option is chosen now; else the last.
        let current = current.or_else(|| items.pop());
        if let Some(current) = current {
            draft.items = items;
            draft.product_id = Some(current.product_id);
            draft.variant_id = current.variant_id;
            draft.quantity = Some(current.quantity);
            turn.changed = true;
            turn.several = true;
            return;
        }
    }
    if another_option_of_current(ctx, draft, turn) {
        return;
    }
    if let Some(product) = ctx.mentioned() {
        // "ar sundarban modhu ekta", "and 1 Biore sunscreen": one more
        // product for the same order, once the current one is complete.
        let also = ctx.msg.tokens.iter().any(|token| ALSO.contains(&token.folded.as_str()));
        let also_at = ctx
            .msg
            .tokens
            .iter()
            .position(|token| ALSO.contains(&token.folded.as_str()))
            .unwrap_or(0);
        let before_also = ctx.msg.tokens.get(..also_at).unwrap_or_default();
        // "fine, black then. and one anker charger too": the option picked
        // before the word that adds completes the current item.
        let option_before = draft
            .product_id
            .and_then(|id| ctx.product(id))
            .and_then(|current| {
                lookup::pick_variants(current, before_also)
                    .and_then(|pick| match pick.candidates.as_slice() {
                        [index] => current.variants.get(*index),
                        _ => None,
                    })
                    .filter(|variant| Availability::of_variant(current, variant) != Availability::Out)
            })
            .map(|variant| variant.id);
        let missing = next_missing(ctx.g, draft);
        let current_done = draft.product_id.is_some_and(|id| id != product.id)
            && (!matches!(missing, Some(Field::Product | Field::Variant))
                || (missing == Some(Field::Variant) && option_before.is_some()));
        if also
            && current_done
            && let Some(current) = draft.product_id
        {
            if let Some(variant) = option_before {
                draft.variant_id = Some(variant);
                ctx.why.push("order: the option of the item before".to_owned());
            }
            // "make it 4, and add the anker charger": a count before the
            // word that adds is the current item's, not the new one's.
            let counted_before = fields::find_quantity(before_also, &vec![false; before_also.len()], false)
                .and_then(|count| i32::try_from(count).ok())
                .filter(|count| (1..=LARGE_ORDER).contains(count));
            if let Some(count) = counted_before {
                turn.not_quantity.iter_mut().take(also_at).for_each(|flag| *flag = true);
                ctx.why.push(format!("order: quantity {count} of the item before"));
            }
            draft.items.push(DraftItem {
                product_id: current,
                variant_id: draft.variant_id,
                quantity: counted_before.or(draft.quantity.filter(|q| *q >= 1)).unwrap_or(1),
            });
            draft.product_id = Some(product.id);
            draft.variant_id = None;
            draft.quantity = None;
            turn.changed = true;
            ctx.why.push(format!("order: one more product, {}", product.sku));
            return;
        }
        let wants_it = ctx.msg.intents.has(Intent::Order) || pending == Some(Field::Product);
        let giving_details = matches!(pending, Some(Field::Name | Field::Address));
        // "no need for the cover, please confirm the order": a product word
        // in a confirmation of the read-back does not start another order.
        let confirming = draft.awaiting_confirmation && ctx.msg.intents.has(Intent::Yes);
        let switch = draft.product_id.is_some_and(|id| id != product.id) && wants_it && !giving_details && !confirming;
        if draft.product_id.is_none() || switch {
            draft.product_id = Some(product.id);
            draft.variant_id = None;
            turn.changed = true;
            ctx.why.push(format!("order: product {}", product.sku));
        }
        return;
    }
    if draft.product_id.is_none()
        && ctx.msg.mention == Mention::None
        && let Some(product) = last_product.and_then(|id| ctx.product(id))
    {
        draft.product_id = Some(product.id);
        draft.variant_id = last_variant.filter(|id| product.variants.iter().any(|v| v.id == *id));
        turn.changed = true;
        ctx.why.push(format!(
            "order: product {} from earlier in the conversation",
            product.sku
        ));
    }
}

/// "আর অফ হোয়াইট ২টা" after four natural ones: the same product in another
/// option, as one more item, when the message begins with the word that
/// adds and names no other product. Whether it did.
fn another_option_of_current(ctx: &mut Ctx<'_>, draft: &mut OrderDraft, turn: &mut Turn) -> bool {
    let begins_adding = ctx
        .msg
        .tokens
        .first()
        .is_some_and(|token| ALSO.contains(&token.folded.as_str()));
    let (Some(current_id), Some(current_variant)) = (draft.product_id, draft.variant_id) else {
        return false;
    };
    let other_product_named = ctx.mentioned().is_some_and(|product| product.id != current_id);
    if !begins_adding || other_product_named {
        return false;
    }
    let Some(current) = ctx.product(current_id) else {
        return false;
    };
    let Some(variant) = lookup::pick_variants(current, &ctx.msg.tokens)
        .and_then(|pick| match pick.candidates.as_slice() {
            [index] => current.variants.get(*index),
            _ => None,
        })
        .filter(|variant| variant.id != current_variant)
    else {
        return false;
    };
    draft.items.push(DraftItem {
        product_id: current_id,
        variant_id: Some(current_variant),
        quantity: draft.quantity.filter(|q| *q >= 1).unwrap_or(1),
    });
    draft.variant_id = Some(variant.id);
    draft.quantity = None;
    turn.changed = true;
    ctx.why
        .push(format!("order: one more item, {} in another option", current.sku));
    true
}

/// Per token: digits that name a product rather than count it. "xiaomi
/// 20000 power bank", "Galaxy A15", "SKU-1": a number of any product's name
/// or SKU; "lawn 3 piece": a tag of `product` with a number in it; and
/// whatever else [`name_numbers`] marks (phones, option amounts, measures).
fn not_a_count(ctx: &Ctx<'_>, product: Option<&GroundedProduct>) -> Vec<bool> {
    let mut skip = name_numbers(ctx);
    if let Some(product) = product {
        let tags = product
            .tags
            .iter()
            .filter(|tag| tag.chars().any(|c| c.is_ascii_digit()));
        for words in [folded_words(&product.name), folded_words(&product.sku)]
            .into_iter()
            .chain(tags.map(|tag| folded_words(tag)))
        {
            if let Some(start) = text::find_sequence(&ctx.msg.tokens, &words, 0.85) {
                for flag in skip.iter_mut().skip(start).take(words.len()) {
                    *flag = true;
                }
            }
        }
    }
    skip
}

/// One product of a message that names several.
struct NamedItem {
    /// Index into the grounding's products.
    product: usize,
    variant: Option<Uuid>,
    quantity: Option<i32>,
}

/// Words between the products of one order ("X and Y", "X ar Y").
const ITEM_SEPARATORS: &[&str] = &["and", "ar", "plus", "আর", "এবং", "সাথে", "sathe"];

/// The products of a message that names several, each read in its own part
/// with its own option and quantity: "1 COSRX essence and 1 Biore
/// sunscreen", "skin1004 sun serum 1 ta ar aloe gel 1 ta", "1 Anker charger
/// plus 1 Baseus cable", "2 power banks, one black and one white" (options
/// of the product before them). `None` unless two items are found, and when
/// more than one of them still lacks its option (one is asked at a time).
fn several_items(ctx: &Ctx<'_>) -> Option<Vec<NamedItem>> {
    several_items_of(ctx, None)
}

/// [`several_items`], where options named before any product ("1ta black
/// ar 1ta white") are options of `current`, the product being ordered.
fn several_items_of(ctx: &Ctx<'_>, current: Option<usize>) -> Option<Vec<NamedItem>> {
    let tokens = &ctx.msg.tokens;
    let separators: Vec<String> = ITEM_SEPARATORS.iter().flat_map(|w| folded_words(w)).collect();
    let not_count = name_numbers(ctx);
    let mut parts: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    for i in 0..=tokens.len() {
        let boundary = match tokens.get(i) {
            None => true,
            Some(token) if separators.contains(&token.folded) => true,
            Some(token) => {
                i > 0
                    && tokens.get(i - 1).is_some_and(|before| {
                        ctx.msg.raw.get(before.end..token.start).is_some_and(|gap| {
                            // "Rom&nd": a sign inside a name is not a separator.
                            gap.contains([',', ';', '\n', '،'])
                                || (gap.contains(['+', '&']) && gap.contains(char::is_whitespace))
                        })
                    })
            }
        };
        if !boundary {
            continue;
        }
        if i > start {
            parts.push(start..i);
        }
        // A separator word is not part of either side; punctuation is not a token.
        start = if tokens.get(i).is_some_and(|t| separators.contains(&t.folded)) {
            i + 1
        } else {
            i
        };
    }
    if parts.len() < 2 {
        return None;
    }
    let mut items: Vec<NamedItem> = Vec::new();
    // Per item: whether it only named the product that options after it choose.
    let mut header: Vec<bool> = Vec::new();
    // Words of a part that narrowed a product's options without picking
    // one, which the parts after it pick among.
    let mut narrowing: Option<(usize, Vec<text::Token>)> = None;
    let phone = fields::find_phone(ctx.msg.raw).span;
    let name_markers = fields::name_marker_words();
    for part in parts {
        // Contact details are not items: an item's part ends where they
        // begin ("1 Simple toner to House 8"), and a part that is only a
        // place ("Banani, Dhaka") is not "Dhakai Jamdani".
        let detail_at = tokens.get(part.clone()).and_then(|words| {
            words.iter().enumerate().position(|(at, token)| {
                // "house 22", "flat 4B", not "Block Print Kurti".
                fields::is_address_label(words, at)
                    || name_markers.contains(&token.folded)
                    || phone
                        .as_ref()
                        .is_some_and(|span| token.start >= span.start && token.end <= span.end)
            })
        });
        let part = match detail_at {
            Some(at) => part.start..part.start + at,
            None => part,
        };
        let only_a_place = tokens.get(part.clone()).is_some_and(|words| {
            crate::pipeline::gazetteer::place_in(words).is_some()
                // "2 kurti to Karim Ahmed": a count makes it an item.
                && !words.iter().any(|token| token.script == text::Script::Digit)
        });
        if part.is_empty() || only_a_place {
            continue;
        }
        let (Some(words), Some(content), Some(skip)) = (
            tokens.get(part.clone()),
            ctx.msg.content.get(part.clone()),
            not_count.get(part.clone()),
        ) else {
            continue;
        };
        let quantity = fields::find_quantity(words, skip, true).and_then(|q| i32::try_from(q).ok());
        // "x3 please, for a birthday party", "bhaigna er jonno": what the
        // order is for, not another item ("party" is a frock's tag).
        static PURPOSE: std::sync::LazyLock<(Vec<String>, Vec<String>)> =
            std::sync::LazyLock::new(|| (folded_words("for"), folded_words("jonno jonne জন্য জন্যে")));
        let purpose = words.first().is_some_and(|first| PURPOSE.0.contains(&first.folded))
            || words.last().is_some_and(|last| PURPOSE.1.contains(&last.folded));
        if purpose && quantity.is_none() && !items.is_empty() {
            continue;
        }
        let content: Vec<bool> = words
            .iter()
            .zip(content)
            .map(|(word, is_content)| *is_content && !lookup::is_unit(&word.text))
            .collect();
        let one_variant = |product: &GroundedProduct, words: &[text::Token]| {
            lookup::pick_variants(product, words).and_then(|pick| match pick.candidates.as_slice() {
                [index] => product.variants.get(*index).map(|v| v.id),
                _ => None,
            })
        };
        // "1 silver nose pin, screw type with white stone": the option of
        // the item before, not the stone studs its words also name.
        let options_of_last = items.last().is_some_and(|last| {
            last.variant.is_none()
                && last.quantity.is_some()
                && ctx
                    .g
                    .products
                    .get(last.product)
                    .is_some_and(|product| one_variant(product, words).is_some())
        });
        let named = lookup::find_product_in_part(&ctx.g.products, tokens, &ctx.msg.content, words, &content)
            .filter(|&index| !options_of_last || items.last().is_some_and(|last| last.product == index));
        // The count, without the words that name an option ("chelsea boot
        // brown 41" is size 41, one pair).
        let count_of = |product: &GroundedProduct| {
            let mut skip = skip.to_vec();
            for at in lookup::pick_variants(product, words)
                .map(|pick| pick.used_tokens)
                .unwrap_or_default()
            {
                if let Some(flag) = skip.get_mut(at) {
                    *flag = true;
                }
            }
            fields::find_quantity(words, &skip, true).and_then(|q| i32::try_from(q).ok())
        };
        match named {
            Some(index) => {
                let Some(product) = ctx.g.products.get(index) else {
                    continue;
                };
                let quantity = count_of(product);
                let variant = one_variant(product, words);
                if narrowing.as_ref().is_some_and(|(of, _)| *of != index) {
                    narrowing = None;
                }
                // "Salt & Pepper Chips", "the tint, in Litchi Coral": one
                // product's name, or a product and its option, split in two.
                if let Some(last) = items.last_mut()
                    && last.product == index
                    && (last.variant == variant || last.variant.is_none() || variant.is_none())
                {
                    last.variant = last.variant.or(variant);
                    last.quantity = last.quantity.or(quantity);
                    continue;
                }
                items.push(NamedItem {
                    product: index,
                    variant,
                    quantity,
                });
                header.push(false);
            }
            None => {
                // "one black": an option of the product named before, or of
                // the one being ordered.
                let Some(product_index) = items.last().map(|last| last.product).or(current) else {
                    continue;
                };
                let Some(product) = ctx.g.products.get(product_index) else {
                    continue;
                };
                let quantity = count_of(product);
                // With the options a part before narrowed to ("size 3-4
                // years, one yellow and one sky blue").
                let narrowed = narrowing
                    .as_ref()
                    .filter(|(of, _)| *of == product_index)
                    .map(|(_, before)| before.iter().chain(words).cloned().collect::<Vec<_>>());
                let variant = one_variant(product, words)
                    .or_else(|| narrowed.as_deref().and_then(|all| one_variant(product, all)));
                let Some(variant) = variant else {
                    if lookup::pick_variants(product, words).is_some_and(|pick| !pick.candidates.is_empty()) {
                        narrowing = Some((product_index, words.to_vec()));
                    }
                    continue;
                };
                // "2 white panjabis, size L": the option of the item before.
                if quantity.is_none()
                    && let Some(last) = items.last_mut()
                    && last.variant.is_none()
                {
                    last.variant = Some(variant);
                    continue;
                }
                if let (Some(last_header), Some(None)) = (header.last_mut(), items.last().map(|last| last.variant)) {
                    *last_header = true;
                }
                items.push(NamedItem {
                    product: product_index,
                    variant: Some(variant),
                    quantity,
                });
                header.push(false);
            }
        }
    }
    let mut items: Vec<NamedItem> = items
        .into_iter()
        .zip(header)
        .filter(|(_, header)| !header)
        .map(|(item, _)| item)
        .collect();
    // "niacinamide serum ar biore sunscreen duitai lagbe", "figfig ar
    // litchi coral 2 tai": "both of them", one of each, not two of the last.
    // As written: folded, "both" would be "boot".
    const BOTH: &[&str] = &["both", "duitai", "dutoi", "দুইটাই", "দুটোই", "দুইটিই"];
    let emphatic_count = tokens.iter().enumerate().any(|(at, token)| {
        BOTH.contains(&token.text.as_str())
            || (token.text == items.len().to_string()
                && tokens
                    .get(at + 1)
                    .is_some_and(|next| ["tai", "টাই", "টিই"].contains(&next.text.as_str())))
    });
    if emphatic_count
        && items.len() == 2
        && let [first, last] = items.as_mut_slice()
        && first.quantity.is_none()
        && last.quantity.is_none_or(|count| count == 2)
    {
        first.quantity = Some(1);
        last.quantity = Some(1);
    }
    // "40 power banks and 1 cable": wholesale, which the single-product
    // path hands to the owner.
    if items
        .iter()
        .any(|item| item.quantity.is_some_and(|count| !(1..=LARGE_ORDER).contains(&count)))
    {
        return None;
    }
    let incomplete = items
        .iter()
        .filter(|item| {
            item.variant.is_none() && ctx.g.products.get(item.product).is_some_and(|p| !p.variants.is_empty())
        })
        .count();
    (items.len() >= 2 && incomplete <= 1).then_some(items)
}

/// Per token: digits that are not a count: a number of some product's own
/// name or SKU ("20W", "skin1004"), a phone number, or the amount of an
/// option ("2 litre sorishar tel" is one bottle of the 2 litre option), or
/// a measure ("16x16", "5 x 7": not 16 cushions).
pub(super) fn name_numbers(ctx: &Ctx<'_>) -> Vec<bool> {
    static UNIT_WORDS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        lookup::UNITS
            .iter()
            .flat_map(|group| group.iter().flat_map(|unit| folded_words(unit)))
            .collect()
    });
    let numbers: Vec<String> = ctx
        .g
        .products
        .iter()
        .flat_map(|p| text::digit_runs(&format!("{} {}", p.name, p.sku)))
        .collect();
    let option_amounts: Vec<String> = ctx
        .g
        .products
        .iter()
        .flat_map(|p| p.variants.iter().flat_map(|v| text::digit_runs(&v.size)))
        .collect();
    let tokens = &ctx.msg.tokens;
    tokens
        .iter()
        .enumerate()
        .map(|(at, token)| {
            // "500 gram", and "সাইজ ৩০" / "40 size" (a size, not 30 pairs);
            // never "সাইজ ২টা" (two of that size).
            let counted = tokens
                .get(at + 1)
                .is_some_and(|next| fields::is_count_word(&next.folded));
            let an_option_amount = !counted
                && option_amounts.contains(&token.text)
                && (tokens
                    .get(at + 1)
                    .is_some_and(|next| UNIT_WORDS.contains(&next.folded) || lookup::is_size_word(&next.folded))
                    || at
                        .checked_sub(1)
                        .and_then(|before| tokens.get(before))
                        .is_some_and(|before| lookup::is_size_word(&before.folded)));
            let by = |at: Option<usize>| {
                at.and_then(|at| tokens.get(at))
                    .is_some_and(|t| t.text == "x" || t.text == "×")
            };
            let digit = |at: Option<usize>| {
                at.and_then(|at| tokens.get(at))
                    .is_some_and(|t| t.script == text::Script::Digit)
            };
            let a_measure =
                (by(Some(at + 1)) && digit(Some(at + 2))) || (by(at.checked_sub(1)) && digit(at.checked_sub(2)));
            token.script == text::Script::Digit
                // A count is never six digits: that is a phone number or a postcode.
                && (token.text.len() >= 6
                    || (token.text.len() >= 2 && numbers.contains(&token.text))
                    || an_option_amount
                    || a_measure)
        })
        .collect()
}

/// Phone, address and name, from markers ("amar nam", "address:") or, when
/// that is what was just asked for, from the whole message.
fn read_contact(ctx: &mut Ctx<'_>, draft: &mut OrderDraft, turn: &mut Turn, pending: Option<Field>) {
    let msg = &ctx.msg;
    let scan = fields::find_phone(msg.raw);
    if let Some(phone) = &scan.phone {
        set_field(&mut draft.phone, phone.clone(), turn, &mut ctx.why, "phone");
    } else if scan.invalid && pending == Some(Field::Phone) {
        turn.phone_invalid = true;
        ctx.why
            .push("order: the number sent is not a Bangladeshi mobile number".to_owned());
    }
    mark_span(ctx, turn, scan.span.clone());
    let marked = fields::find_address(msg.raw, &msg.tokens, scan.span.as_ref());
    let has_address_marker = marked.is_some();
    if let Some((address, span)) = marked {
        set_field(&mut draft.address, address, turn, &mut ctx.why, "address");
        mark_span(ctx, turn, Some(span));
    }
    let named = fields::find_name(msg.raw, &msg.tokens, &msg.intents.keyword);
    let has_name_marker = named.is_some();
    let nothing_else = msg.intents.all().is_empty() && msg.mention == Mention::None;
    let name = named.or_else(|| {
        (pending == Some(Field::Name) && nothing_else && scan == PhoneScan::default())
            .then(|| fields::bare_name(msg.raw, &msg.tokens, &msg.intents.keyword))
            .flatten()
    });
    if let Some(name) = name {
        set_field(&mut draft.customer_name, name, turn, &mut ctx.why, "name");
    }
    let only_address_words = msg.intents.all().iter().all(|intent| *intent == Intent::AddressMarker);
    let bare_address_expected = pending == Some(Field::Address)
        && !has_address_marker
        && !has_name_marker
        && only_address_words
        && scan == PhoneScan::default();
    if bare_address_expected && let Some(address) = fields::bare_address(msg.raw) {
        set_field(&mut draft.address, address, turn, &mut ctx.why, "address");
        turn.not_quantity.fill(true);
        return;
    }
    // An all-in-one message ("2 ta, Nusrat Jahan, 01712345678, House 5,
    // Road 3, Mirpur 10") gives the address and name without labels.
    let product_words = product_word_mask(ctx);
    let asked_for_address = matches!(pending, Some(Field::Address | Field::Area));
    let mut address_start = None;
    if !has_address_marker && draft.address.is_none() && !msg.raw.trim_end().ends_with(['?', '？']) {
        // A place alone may be a question ("Sylhet?"); with a name, a phone
        // or "deliver to" it is where the order goes.
        let place_allowed =
            asked_for_address || scan.phone.is_some() || has_name_marker || fields::opens_with_deliver_to(&msg.tokens);
        if let Some((address, span)) =
            fields::unlabelled_address(msg.raw, &msg.tokens, scan.span.as_ref(), place_allowed, &product_words)
        {
            address_start = Some(span.start);
            let address = match fields::name_at_end_of_address(&address) {
                Some((name, rest)) if draft.customer_name.is_none() && !has_name_marker => {
                    set_field(&mut draft.customer_name, name, turn, &mut ctx.why, "name");
                    rest
                }
                _ => address,
            };
            set_field(&mut draft.address, address, turn, &mut ctx.why, "address");
            mark_span(ctx, turn, Some(span));
        }
    }
    if !has_name_marker && draft.customer_name.is_none() && scan.phone.is_some() {
        let before = [scan.span.as_ref().map(|span| span.start), address_start]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(msg.raw.len());
        let tokens = &ctx.msg.tokens;
        let is_product_word = |word: &str| {
            tokens
                .iter()
                .zip(&product_words)
                .any(|(token, is_product)| *is_product && token.folded == word)
        };
        let name_before_phone =
            fields::unlabelled_name(msg.raw, tokens, &msg.intents.keyword, before, None, is_product_word);
        // "Shirin Akter 017…, Kandirpar, Cumilla sadar": with the name
        // before the phone, every part after the phone is the address, the
        // unknown place before the known one included.
        if name_before_phone.is_some()
            && let (Some(phone), Some(start)) = (scan.span.as_ref(), address_start)
            && phone.end < start
            && let Some(gap) = msg.raw.get(phone.end..start)
            && let Some(address) = draft.address.clone()
        {
            let gap = gap.trim_matches(|c: char| c.is_whitespace() || ",;।.-:".contains(c));
            let only_place_words = fields::bare_address(gap).is_some()
                && gap.split_whitespace().count() <= 4
                && !tokens
                    .iter()
                    .filter(|t| t.start >= phone.end && t.end <= start)
                    .any(|t| fields::is_field_start(&t.folded) || is_product_word(&t.folded));
            if only_place_words && !gap.is_empty() {
                draft.address = Some(format!("{gap}, {address}"));
                ctx.why.push("order: the address starts after the phone".to_owned());
            }
        }
        let name = name_before_phone.or_else(|| {
            // The name after the phone, before the address.
            let phone = scan.span.as_ref()?;
            let before = address_start.unwrap_or(msg.raw.len());
            fields::unlabelled_name(
                msg.raw,
                tokens,
                &msg.intents.keyword,
                before,
                Some(phone),
                is_product_word,
            )
        });
        if let Some(name) = name {
            set_field(&mut draft.customer_name, name, turn, &mut ctx.why, "name");
        }
    }
}

/// Per token: a word of one of the shop's product names, Bangla names, tags
/// or SKUs ("Tangail" of "Tangail saree" is not the customer's place).
/// "60 geometry boxes and 60 notebooks": a number above [`LARGE_ORDER`]
/// right before a word of a product counts it, with no "ta" or "pcs"
/// needed. `names` are the message's [`name_numbers`]. The product words are
/// looked up only when such a number is there.
pub(super) fn wholesale_before_product(ctx: &Ctx<'_>, names: &[bool]) -> bool {
    let tokens = &ctx.msg.tokens;
    let large: Vec<usize> = (0..tokens.len())
        .filter(|&at| !names.get(at).copied().unwrap_or(true))
        .filter(|&at| {
            tokens.get(at).is_some_and(|token| {
                token.script == text::Script::Digit
                    && token
                        .folded
                        .parse::<i64>()
                        .is_ok_and(|count| count > i64::from(LARGE_ORDER))
            })
        })
        .collect();
    if large.is_empty() {
        return false;
    }
    let products = product_word_mask(ctx);
    large.iter().any(|&at| products.get(at + 1).copied().unwrap_or(false))
}

fn product_word_mask(ctx: &Ctx<'_>) -> Vec<bool> {
    let words: Vec<String> = ctx
        .g
        .products
        .iter()
        .flat_map(|p| {
            let mut words = folded_words(&p.name);
            words.extend(p.name_bn.as_deref().map(folded_words).unwrap_or_default());
            words.extend(p.tags.iter().flat_map(|tag| folded_words(tag)));
            // Option words too: "King, Blue Floral" is no customer's name.
            words.extend(
                p.variants
                    .iter()
                    .flat_map(|v| folded_words(&format!("{} {}", v.size, v.colour)))
                    .filter(|word| word.chars().count() >= 3 && word.chars().all(char::is_alphabetic)),
            );
            words
        })
        .collect();
    ctx.msg
        .tokens
        .iter()
        .map(|token| token.script != text::Script::Digit && words.contains(&token.folded))
        .collect()
}

fn set_field(slot: &mut Option<String>, value: String, turn: &mut Turn, why: &mut Vec<String>, field: &str) {
    if slot.as_deref() != Some(value.as_str()) {
        *slot = Some(value);
        turn.changed = true;
        why.push(format!("order: read {field}"));
    }
}

/// Marks the tokens inside a byte range as not being a quantity.
fn mark_span(ctx: &Ctx<'_>, turn: &mut Turn, span: Option<std::ops::Range<usize>>) {
    let Some(span) = span else { return };
    for (token, flag) in ctx.msg.tokens.iter().zip(turn.not_quantity.iter_mut()) {
        if token.start >= span.start && token.end <= span.end {
            *flag = true;
        }
    }
}

/// Picks the option (size/colour) the message names; a product with one
/// option needs no choice. An option that ran out is refused here.
fn choose_variant(ctx: &mut Ctx<'_>, product: &GroundedProduct, draft: &mut OrderDraft, turn: &mut Turn) {
    if product.variants.is_empty() {
        return;
    }
    // One option to sell (the only one, or the only one in stock) is chosen.
    let available: Vec<&VariantRow> = product
        .variants
        .iter()
        .filter(|variant| Availability::of_variant(product, variant) != Availability::Out)
        .collect();
    if let ([only], None) = (available.as_slice(), draft.variant_id) {
        draft.variant_id = Some(only.id);
        turn.changed = true;
    }
    if let Some(pick) = lookup::pick_variants(product, &ctx.msg.tokens) {
        turn.variant_named = true;
        for index in &pick.used_tokens {
            if let Some(flag) = turn.not_quantity.get_mut(*index) {
                *flag = true;
            }
        }
        let chosen = draft
            .variant_id
            .and_then(|id| product.variants.iter().position(|v| v.id == id));
        match pick.candidates.as_slice() {
            [index] => {
                if let Some(variant) = product.variants.get(*index)
                    && draft.variant_id != Some(variant.id)
                {
                    draft.variant_id = Some(variant.id);
                    turn.changed = true;
                    ctx.why
                        .push(format!("order: option {}", lookup::variant_label(variant)));
                }
            }
            [] => turn.notes.push(ctx.writer().no_such_option().to_owned()),
            many => {
                // "na, 3-4 years er ta den" while pink 5-6 years is chosen:
                // the option that keeps what was not said (pink); "sada nai?
                // tahole lal ta" while white (sold out) is chosen: the only
                // one of those named still in stock.
                let current = chosen.and_then(|index| product.variants.get(index));
                let current_named = chosen.is_some_and(|index| many.contains(&index));
                let in_stock = |variant: &VariantRow| Availability::of_variant(product, variant) != Availability::Out;
                let keeps = |variant: &VariantRow| {
                    current.is_some_and(|current| {
                        (!current.colour.is_empty() && variant.colour == current.colour)
                            || (!current.size.is_empty() && variant.size == current.size)
                    })
                };
                let only = |wanted: &dyn Fn(&VariantRow) -> bool| {
                    let fits: Vec<&VariantRow> = many
                        .iter()
                        .filter_map(|index| product.variants.get(*index))
                        .filter(|variant| wanted(variant))
                        .collect();
                    match fits.as_slice() {
                        [one] => Some(one.id),
                        _ => None,
                    }
                };
                let pick = match (current_named, current.is_some_and(in_stock)) {
                    (true, true) => None,
                    (true, false) => only(&in_stock),
                    (false, _) => only(&keeps).or_else(|| only(&in_stock)),
                };
                match pick {
                    Some(id) => {
                        draft.variant_id = Some(id);
                        turn.changed = true;
                        if let Some(variant) = product.variants.iter().find(|v| v.id == id) {
                            ctx.why
                                .push(format!("order: option {}", lookup::variant_label(variant)));
                        }
                    }
                    None if !current_named => turn.variant_choices = Some(many.to_vec()),
                    None => {}
                }
            }
        }
    }
    let chosen = draft
        .variant_id
        .and_then(|id| product.variants.iter().find(|v| v.id == id));
    if let Some(variant) = chosen
        && Availability::of_variant(product, variant) == Availability::Out
    {
        turn.notes.push(ctx.writer().variant_out_of_stock(product, variant));
        ctx.why.push(format!(
            "order: option {} is out of stock",
            lookup::variant_label(variant)
        ));
        draft.variant_id = None;
        turn.changed = true;
    }
}

/// Reads how many; `Err` (for the owner) when the number is absurd.
fn read_quantity(
    ctx: &mut Ctx<'_>,
    product: Option<&GroundedProduct>,
    draft: &mut OrderDraft,
    turn: &mut Turn,
    pending: Option<Field>,
) -> Result<(), &'static str> {
    let mut skip = turn.not_quantity.clone();
    for (flag, name) in skip.iter_mut().zip(not_a_count(ctx, product)) {
        *flag |= name;
    }
    let intents = &ctx.msg.intents;
    let bare = pending == Some(Field::Quantity) || intents.has(Intent::Order) || intents.has(Intent::OrderWeak);
    let Some(quantity) = fields::find_quantity(&ctx.msg.tokens, &skip, bare) else {
        return Ok(());
    };
    if quantity < 1 {
        turn.notes.push(ctx.writer().at_least_one().to_owned());
        return Ok(());
    }
    let quantity = i32::try_from(quantity).map_err(|_| "the customer asked for an unusually large quantity")?;
    if quantity > LARGE_ORDER {
        return Err(
            "the customer asks for a large quantity, which is wholesale: its price and delivery are yours to set",
        );
    }
    if draft.quantity != Some(quantity) {
        draft.quantity = Some(quantity);
        turn.changed = true;
        ctx.why.push(format!("order: quantity {quantity}"));
    }
    Ok(())
}

/// The delivery area named in the message or in the address; when the
/// customer is answering "which area?", a partial name is enough.
fn read_area(ctx: &mut Ctx<'_>, draft: &mut OrderDraft, turn: &mut Turn, pending: Option<Field>) {
    let areas = &ctx.g.delivery_areas;
    if areas.is_empty() {
        return;
    }
    let mut found = lookup::find_area_or_place(areas, &ctx.g.products, &ctx.msg.tokens);
    if found == AreaMatch::None
        && draft.delivery_area_id.is_none()
        && let Some(address) = &draft.address
    {
        found = lookup::find_area_or_place(areas, &ctx.g.products, &text::tokenize(address));
    }
    if found == AreaMatch::None && pending == Some(Field::Area) {
        found = lookup::find_area(areas, &ctx.msg.tokens, true);
    }
    if let AreaMatch::One(index) = found
        && let Some(area) = areas.get(index)
        && draft.delivery_area_id != Some(area.id)
    {
        draft.delivery_area_id = Some(area.id);
        turn.changed = true;
        ctx.why.push(format!("order: delivery area '{}'", area.name));
    }
}

/// Refuses more than the stock the owner has (saying how many are left).
fn check_quantity(ctx: &mut Ctx<'_>, product: &GroundedProduct, draft: &mut OrderDraft, turn: &mut Turn) {
    let Some(quantity) = draft.quantity else { return };
    let variant = draft
        .variant_id
        .and_then(|id| product.variants.iter().find(|v| v.id == id));
    let stock = match variant {
        Some(variant) => Availability::of_variant(product, variant),
        None if product.variants.is_empty() => Availability::of(product.stock),
        None => return,
    };
    if let Availability::InStock(left) = stock
        && quantity > left
    {
        turn.notes.push(ctx.writer().only_left(product, variant, left));
        ctx.why
            .push(format!("order: asked for {quantity}, only {left} in stock"));
        draft.quantity = Some(0);
        turn.changed = true;
    }
}

/// The read-back was sent: "yes" places the order, a question is answered
/// with the confirmation asked again.
fn confirm(ctx: &mut Ctx<'_>, mut draft: OrderDraft) -> (EngineReply, Option<OrderDraft>) {
    let intents = &ctx.msg.intents;
    if intents.has(Intent::Yes) || intents.has(Intent::Ack) {
        return place(ctx, draft);
    }
    let writer = ctx.writer();
    let focus = ctx
        .mentioned()
        .or_else(|| draft.product_id.and_then(|id| ctx.product(id)));
    let wants = Wants::from_intents(&ctx.msg.intents, false);
    // "do you put a plastic cover on the books?" after the read-back: the
    // owner's FAQ answer, then the confirmation asked again.
    let faq = asks_in_words(ctx).then(|| answer::faq_text(ctx, true)).flatten();
    let mut parts = match answer::sections(ctx, focus, &wants, answer::Mode::InOrder) {
        Ok(parts) => parts,
        Err(reason) => return (answer::owner(ctx, &reason), Some(draft)),
    };
    if let Some(faq) = faq {
        parts.insert(0, faq);
    }
    if parts.is_empty() && ctx.unexplained(focus) > 1 {
        return (answer::owner(ctx, SUMMARY_NOT_UNDERSTOOD), Some(draft));
    }
    ctx.why.push("order: waiting for confirmation".to_owned());
    parts.push(writer.confirm_prompt().to_owned());
    draft.awaiting_confirmation = true;
    (EngineReply::Text(parts.join("\n\n")), Some(draft))
}

fn place(ctx: &mut Ctx<'_>, mut draft: OrderDraft) -> (EngineReply, Option<OrderDraft>) {
    match totals(ctx.g, &draft) {
        Ok(totals) => {
            let request = OrderRequest {
                product_id: totals.product.id,
                variant_id: totals.variant.map(|variant| variant.id),
                quantity: totals.quantity,
                unit_price_minor: totals.unit_minor,
                delivery_charge_minor: totals.delivery_minor,
                total_minor: totals.total_minor,
                customer_name: totals.customer_name.to_owned(),
                phone: totals.phone.to_owned(),
                address: totals.address.to_owned(),
                delivery_area_id: totals.area.map(|area| area.id),
                extra: totals
                    .extra
                    .iter()
                    .map(|item| RequestItem {
                        product_id: item.product.id,
                        variant_id: item.variant.map(|variant| variant.id),
                        quantity: item.quantity,
                        unit_price_minor: item.unit_minor,
                    })
                    .collect(),
            };
            ctx.why.push(format!(
                "order: confirmed; total {}",
                format_plain(Money::from_minor(request.total_minor))
            ));
            (EngineReply::PlaceOrder(request), None)
        }
        Err(error) => {
            draft.awaiting_confirmation = false;
            (answer::owner(ctx, error.reason()), Some(draft))
        }
    }
}

/// Answers to questions asked in the middle of an order ("delivery charge
/// koto?"), put before the next order question.
fn questions(ctx: &mut Ctx<'_>, draft: &OrderDraft, turn: &Turn) -> Result<Vec<String>, String> {
    // "banate koto din lagbe?" mid-order: the owner's FAQ answer comes first,
    // when the message asks (an FAQ word in an address, "ring road", is no
    // question).
    let faq = asks_in_words(ctx).then(|| answer::faq_text(ctx, true)).flatten();
    let mut sections = questions_by_template(ctx, draft, turn)?;
    if let Some(faq) = faq {
        sections.insert(0, faq);
    }
    Ok(sections)
}

/// The answers the engine's own templates give to questions asked mid-order.
fn questions_by_template(ctx: &mut Ctx<'_>, draft: &OrderDraft, turn: &Turn) -> Result<Vec<String>, String> {
    let mut wants = Wants::from_intents(&ctx.msg.intents, false);
    wants.catalog = false;
    if turn.variant_named || next_missing(ctx.g, draft) == Some(Field::Variant) {
        // The option question lists them anyway.
        wants.variants = false;
    }
    if !wants.any() {
        return Ok(Vec::new());
    }
    let focus = ctx
        .mentioned()
        .or_else(|| draft.product_id.and_then(|id| ctx.product(id)));
    let mut sections = answer::sections(ctx, focus, &wants, answer::Mode::InOrder)?;
    // "দাম কত পড়বে?" after "৩টা লাগবে": what the order comes to, not only the unit price.
    if wants.price
        && ctx.mentioned().is_none_or(|named| Some(named.id) == draft.product_id)
        && let Some((lines, items_minor)) = chosen_so_far(ctx.g, draft)
        && (lines.len() > 1 || lines.iter().any(|(quantity, _)| *quantity > 1))
    {
        ctx.why.push("answer: what the order comes to so far".to_owned());
        sections.push(ctx.writer().order_so_far(&lines, items_minor));
    }
    Ok(sections)
}

/// Quantity and unit price of every product chosen so far (the current one
/// once its option is known), and their sum; `None` while the current
/// product lacks its option, or on overflow.
fn chosen_so_far(g: &Grounding, draft: &OrderDraft) -> Option<(Vec<(i32, i64)>, i64)> {
    let product = draft.product_id.and_then(|id| g.products.iter().find(|p| p.id == id))?;
    let variant = match draft.variant_id {
        Some(id) => Some(product.variants.iter().find(|v| v.id == id)?),
        None if product.variants.is_empty() => None,
        None => return None,
    };
    let quantity = draft.quantity.filter(|q| *q >= 1).unwrap_or(1);
    let mut lines = Vec::new();
    for item in &draft.items {
        let product = g.products.iter().find(|p| p.id == item.product_id)?;
        let variant = item
            .variant_id
            .and_then(|id| product.variants.iter().find(|v| v.id == id));
        lines.push((item.quantity, unit_price(product, variant)?.minor()));
    }
    lines.push((quantity, unit_price(product, variant)?.minor()));
    let mut sum = Money::ZERO;
    for (quantity, unit) in &lines {
        sum = sum.checked_add(Money::from_minor(*unit).checked_mul(i64::from(*quantity))?)?;
    }
    Some((lines, sum.minor()))
}

/// Asks for the next missing detail, or reads the whole order back.
fn ask_next(
    ctx: &mut Ctx<'_>,
    mut draft: OrderDraft,
    turn: Turn,
    sections: Vec<String>,
) -> (EngineReply, Option<OrderDraft>) {
    let writer = ctx.writer();
    let product = draft.product_id.and_then(|id| ctx.product(id));
    let next = next_missing(ctx.g, &draft);
    let ask = match (next, product) {
        (None, _) => match totals(ctx.g, &draft) {
            Ok(totals) => {
                ctx.why.push(format!(
                    "order: complete; read back the summary (total {})",
                    format_plain(Money::from_minor(totals.total_minor))
                ));
                let summary = writer.summary(&totals);
                draft.awaiting_confirmation = true;
                summary
            }
            Err(error) => return (answer::owner(ctx, error.reason()), Some(draft)),
        },
        (Some(Field::Variant), Some(product)) => {
            let choices: Vec<&VariantRow> = match &turn.variant_choices {
                Some(indexes) => indexes.iter().filter_map(|&i| product.variants.get(i)).collect(),
                None => product.variants.iter().collect(),
            };
            let in_stock: Vec<&VariantRow> = choices
                .into_iter()
                .filter(|variant| Availability::of_variant(product, variant) != Availability::Out)
                .collect();
            writer.ask_variant(product, &in_stock)
        }
        (Some(Field::Quantity), Some(product)) => writer.ask_quantity(product),
        (Some(Field::Name), _) => writer.ask_name().to_owned(),
        (Some(Field::Phone), _) if turn.phone_invalid => writer.invalid_phone().to_owned(),
        (Some(Field::Phone), _) => writer.ask_phone().to_owned(),
        (Some(Field::Address), _) => writer.ask_address().to_owned(),
        (Some(Field::Area), _) => {
            let areas: Vec<&DeliveryArea> = ctx.g.delivery_areas.iter().collect();
            writer.ask_area(&areas)
        }
        (Some(_), _) => {
            let mut choices = ctx.ambiguous();
            if choices.is_empty() {
                choices = ctx
                    .g
                    .products
                    .iter()
                    .filter(|p| !sold_out(p))
                    .take(MAX_CHOICES)
                    .collect();
            }
            if choices.is_empty() {
                let reason = "the customer wants to order, but no product in your catalog matched";
                return (answer::owner(ctx, reason), Some(draft));
            }
            writer.ask_product(&choices)
        }
    };
    if let Some(field) = next {
        ctx.why.push(format!("order: waiting for {}", field.name()));
        // The same question a third time in a row (the customer answered a
        // question of theirs in between does not count) would be a loop: a
        // person takes over instead.
        let repeated = draft.asked.as_deref() == Some(field.name()) && sections.is_empty();
        draft.asked_times = if repeated {
            draft.asked_times.saturating_add(1)
        } else {
            1
        };
        draft.asked = Some(field.name().to_owned());
        if draft.asked_times > MAX_SAME_QUESTION {
            let reason = format!(
                "the customer did not give the order's {} after the assistant asked twice",
                field.name()
            );
            draft.asked_times = 0;
            return (answer::owner(ctx, &reason), Some(draft));
        }
    } else {
        draft.asked = None;
        draft.asked_times = 0;
    }
    let mut paragraphs = sections;
    let mut last = turn.notes;
    last.push(ask);
    paragraphs.push(last.join("\n"));
    (EngineReply::Text(paragraphs.join("\n\n")), Some(draft))
}

/// An order with every detail, priced.
pub(super) struct Totals<'a> {
    /// The order's earlier products, each priced.
    pub extra: Vec<ItemTotal<'a>>,
    /// Every product's line together.
    pub items_minor: i64,
    pub product: &'a GroundedProduct,
    pub variant: Option<&'a VariantRow>,
    pub area: Option<&'a DeliveryArea>,
    pub quantity: i32,
    pub unit_minor: i64,
    pub delivery_minor: i64,
    pub total_minor: i64,
    pub customer_name: &'a str,
    pub phone: &'a str,
    pub address: &'a str,
}

/// One earlier product of an order, priced.
pub(super) struct ItemTotal<'a> {
    pub product: &'a GroundedProduct,
    pub variant: Option<&'a VariantRow>,
    pub quantity: i32,
    pub unit_minor: i64,
}

/// Why an order could not be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TotalsError {
    Incomplete,
    Overflow,
    NegativePrice,
}

impl TotalsError {
    fn reason(self) -> &'static str {
        match self {
            TotalsError::Incomplete => "the order details are incomplete",
            TotalsError::Overflow => "the order total is too large to compute",
            TotalsError::NegativePrice => "the price of the chosen option is below zero; check its price difference",
        }
    }
}

/// Prices a complete draft with checked arithmetic: unit × quantity + delivery.
pub(super) fn totals<'a>(g: &'a Grounding, draft: &'a OrderDraft) -> Result<Totals<'a>, TotalsError> {
    use TotalsError::Incomplete;
    let product = draft
        .product_id
        .and_then(|id| g.products.iter().find(|p| p.id == id))
        .ok_or(Incomplete)?;
    let variant = match draft.variant_id {
        Some(id) => Some(product.variants.iter().find(|v| v.id == id).ok_or(Incomplete)?),
        None if product.variants.is_empty() => None,
        None => return Err(Incomplete),
    };
    let area = if g.delivery_areas.is_empty() {
        None
    } else {
        let id = draft.delivery_area_id.ok_or(Incomplete)?;
        Some(g.delivery_areas.iter().find(|a| a.id == id).ok_or(Incomplete)?)
    };
    let quantity = Some(draft.quantity.unwrap_or(1))
        .filter(|q| *q >= 1)
        .ok_or(Incomplete)?;
    let unit = unit_price(product, variant).ok_or(TotalsError::Overflow)?;
    if unit.minor() < 0 {
        return Err(TotalsError::NegativePrice);
    }
    let line = unit.checked_mul(i64::from(quantity)).ok_or(TotalsError::Overflow)?;
    let mut extra = Vec::new();
    let mut items = Money::ZERO;
    for item in &draft.items {
        let product = g.products.iter().find(|p| p.id == item.product_id).ok_or(Incomplete)?;
        let variant = match item.variant_id {
            Some(id) => Some(product.variants.iter().find(|v| v.id == id).ok_or(Incomplete)?),
            None => None,
        };
        let unit = unit_price(product, variant).ok_or(TotalsError::Overflow)?;
        if unit.minor() < 0 {
            return Err(TotalsError::NegativePrice);
        }
        let line = unit
            .checked_mul(i64::from(item.quantity))
            .ok_or(TotalsError::Overflow)?;
        items = items.checked_add(line).ok_or(TotalsError::Overflow)?;
        extra.push(ItemTotal {
            product,
            variant,
            quantity: item.quantity,
            unit_minor: unit.minor(),
        });
    }
    let items = items.checked_add(line).ok_or(TotalsError::Overflow)?;
    let delivery = Money::from_minor(area.map_or(0, |a| a.charge_minor));
    let total = items.checked_add(delivery).ok_or(TotalsError::Overflow)?;
    Ok(Totals {
        extra,
        items_minor: items.minor(),
        product,
        variant,
        area,
        quantity,
        unit_minor: unit.minor(),
        delivery_minor: delivery.minor(),
        total_minor: total.minor(),
        customer_name: draft.customer_name.as_deref().ok_or(Incomplete)?,
        phone: draft.phone.as_deref().ok_or(Incomplete)?,
        address: draft.address.as_deref().ok_or(Incomplete)?,
    })
}

fn unit_price(product: &GroundedProduct, variant: Option<&VariantRow>) -> Option<Money> {
    let base = Money::from_minor(product.unit_price_minor());
    match variant {
        Some(variant) => base.checked_add(Money::from_minor(variant.price_delta_minor)),
        None => Some(base),
    }
}

/// The numbers a reply about this draft may state (see `computed_numbers`).
pub(super) fn draft_numbers(g: &Grounding, draft: &OrderDraft) -> Vec<String> {
    let mut numbers = Vec::new();
    let product = draft.product_id.and_then(|id| g.products.iter().find(|p| p.id == id));
    let variant = product.and_then(|p| draft.variant_id.and_then(|id| p.variants.iter().find(|v| v.id == id)));
    let unit = product.and_then(|p| unit_price(p, variant));
    let line = unit.and_then(|unit| unit.checked_mul(i64::from(draft.quantity.unwrap_or(1))));
    let delivery = if g.delivery_areas.is_empty() {
        Some(Money::ZERO)
    } else {
        draft
            .delivery_area_id
            .and_then(|id| g.delivery_areas.iter().find(|a| a.id == id))
            .map(|area| Money::from_minor(area.charge_minor))
    };
    let mut items = line;
    for item in &draft.items {
        let product = g.products.iter().find(|p| p.id == item.product_id);
        let variant = product.and_then(|p| item.variant_id.and_then(|id| p.variants.iter().find(|v| v.id == id)));
        let unit = product.and_then(|p| unit_price(p, variant));
        let line = unit.and_then(|unit| unit.checked_mul(i64::from(item.quantity)));
        numbers.extend([unit, line].into_iter().flatten().map(format_plain));
        numbers.push(item.quantity.to_string());
        items = items.zip(line).and_then(|(items, line)| items.checked_add(line));
    }
    let total = items
        .zip(delivery)
        .and_then(|(items, delivery)| items.checked_add(delivery));
    numbers.extend(
        [unit, line, items, delivery, total]
            .into_iter()
            .flatten()
            .map(format_plain),
    );
    numbers.push(draft.quantity.unwrap_or(1).to_string());
    numbers.extend(draft.phone.iter().cloned());
    numbers.extend(draft.address.iter().flat_map(|address| text::digit_runs(address)));
    numbers.extend(draft.customer_name.iter().flat_map(|name| text::digit_runs(name)));
    numbers
}
