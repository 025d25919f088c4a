//! Scenario tests for the reply engine. Every `Text` reply produced through
//! [`Chat::say`] is also checked against the safety property: each number in
//! it comes from the owner's data or from [`computed_numbers`].

use uuid::Uuid;

use super::*;
use crate::catalog::money::format_plain;
use crate::catalog::store::{DeliveryArea, FaqEntry, PaymentMethod, Profile, Rules, VariantRow};
use crate::pipeline::grounding::{GroundedProduct, OrderDraft};

const RED: u128 = 1;
const BLUE: u128 = 2;
const PANJABI: u128 = 3;
const KURTI: u128 = 4;
const XL_BLACK: u128 = 33;
const DHAKA: u128 = 100;
const OUTSIDE: u128 = 101;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn product(n: u128, sku: &str, name: &str, name_bn: Option<&str>, price_minor: i64) -> GroundedProduct {
    GroundedProduct {
        id: id(n),
        sku: sku.to_owned(),
        name: name.to_owned(),
        name_bn: name_bn.map(str::to_owned),
        description: String::new(),
        price_minor,
        sale_price_minor: None,
        stock: None,
        tags: Vec::new(),
        variants: Vec::new(),
    }
}

fn variant(n: u128, size: &str, colour: &str, delta: i64, stock: Option<i32>) -> VariantRow {
    VariantRow {
        id: id(n),
        size: size.to_owned(),
        colour: colour.to_owned(),
        price_delta_minor: delta,
        stock,
    }
}

const BKASH: &str = "Send money to 01811223344 (personal) and tell us the last 4 digits of the TrxID.";
const COD: &str = "Pay the rider when the parcel arrives.";
const GIFT: &str = "Yes, gift wrapping is free on every order.";

fn shop() -> Grounding {
    let red = GroundedProduct {
        stock: Some(5),
        tags: vec!["saree".to_owned(), "cotton".to_owned()],
        ..product(RED, "SKU-1", "Red Cotton Saree", Some("লাল সুতি শাড়ি"), 125_000)
    };
    let blue = GroundedProduct {
        sale_price_minor: Some(220_000),
        stock: Some(0),
        ..product(BLUE, "SKU-2", "Blue Silk Saree", Some("নীল সিল্ক শাড়ি"), 250_000)
    };
    let panjabi = GroundedProduct {
        variants: vec![
            variant(31, "M", "White", 0, Some(3)),
            variant(32, "L", "White", 10_000, Some(0)),
            variant(XL_BLACK, "XL", "Black", 20_000, None),
        ],
        ..product(PANJABI, "PNJ-7", "Cotton Panjabi", Some("সুতি পাঞ্জাবি"), 150_000)
    };
    let kurti = product(KURTI, "KRT-9", "Block Print Kurti", None, 85_050);
    Grounding {
        profile: Profile {
            name: "Rupa Fashion".to_owned(),
            currency: "BDT".to_owned(),
            opening_hours: "Saturday to Thursday, 10am to 8pm".to_owned(),
            return_policy: "Unused items can be returned within 7 days.".to_owned(),
            ..Profile::default()
        },
        products: vec![red, blue, panjabi, kurti],
        catalog_size: 4,
        delivery_areas: vec![
            DeliveryArea {
                id: id(DHAKA),
                name: "Dhaka".to_owned(),
                charge_minor: 6_000,
                min_days: 1,
                max_days: 2,
            },
            DeliveryArea {
                id: id(OUTSIDE),
                name: "Outside Dhaka".to_owned(),
                charge_minor: 12_000,
                min_days: 3,
                max_days: 5,
            },
        ],
        payment_methods: vec![
            PaymentMethod {
                id: id(200),
                kind: "cod".to_owned(),
                label: "Cash on delivery".to_owned(),
                instructions: COD.to_owned(),
            },
            PaymentMethod {
                id: id(201),
                kind: "bkash".to_owned(),
                label: "bKash".to_owned(),
                instructions: BKASH.to_owned(),
            },
        ],
        rules: Rules {
            tone: "friendly".to_owned(),
            ..Rules::default()
        },
        faq: vec![FaqEntry {
            id: id(300),
            patterns: vec!["gift wrap".to_owned(), "gift packing available".to_owned()],
            answer: GIFT.to_owned(),
        }],
        owner_phones: vec!["01811223344".to_owned()],
        ..Grounding::default()
    }
}

/// Numbers in a reply as the safety filter reads them: digit runs with
/// thousands commas removed and an optional decimal part.
fn numbers_in(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().map(text::ascii_digit).collect();
    let digit_at = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let mut numbers = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !digit_at(i) {
            i += 1;
            continue;
        }
        let mut number = String::new();
        loop {
            while digit_at(i) {
                number.push(chars[i]);
                i += 1;
            }
            if chars.get(i) == Some(&',') && digit_at(i + 1) {
                i += 1;
            } else {
                break;
            }
        }
        if chars.get(i) == Some(&'.') && digit_at(i + 1) {
            number.push('.');
            i += 1;
            while digit_at(i) {
                number.push(chars[i]);
                i += 1;
            }
        }
        numbers.push(number);
    }
    numbers
}

/// Every number the owner's data holds, as the safety filter would collect it.
fn data_numbers(g: &Grounding) -> Vec<String> {
    let plain = |minor: i64| format_plain(Money::from_minor(minor));
    let mut numbers = Vec::new();
    let mut texts = vec![
        g.profile.name.clone(),
        g.profile.description.clone(),
        g.profile.opening_hours.clone(),
        g.profile.return_policy.clone(),
        g.rules.greeting.clone(),
        g.owner_address.clone(),
    ];
    for p in &g.products {
        numbers.extend([plain(p.price_minor), plain(p.unit_price_minor())]);
        numbers.extend(p.stock.map(|s| s.to_string()));
        for v in &p.variants {
            numbers.push(plain(p.variant_price_minor(v)));
            numbers.extend(v.stock.map(|s| s.to_string()));
            texts.extend([v.size.clone(), v.colour.clone()]);
        }
        texts.extend([p.name.clone(), p.sku.clone(), p.description.clone()]);
        texts.extend(p.name_bn.clone());
    }
    for a in &g.delivery_areas {
        numbers.extend([plain(a.charge_minor), a.min_days.to_string(), a.max_days.to_string()]);
        texts.push(a.name.clone());
    }
    texts.extend(
        g.payment_methods
            .iter()
            .flat_map(|m| [m.label.clone(), m.instructions.clone()]),
    );
    texts.extend(g.faq.iter().map(|f| f.answer.clone()));
    texts.extend(g.owner_phones.iter().cloned());
    numbers.extend(texts.iter().flat_map(|t| numbers_in(t)));
    numbers
}

fn assert_grounded(g: &Grounding, text: &str, extra: &[String]) {
    let mut allowed = data_numbers(g);
    allowed.extend(extra.iter().cloned());
    for number in numbers_in(text) {
        assert!(
            allowed.contains(&number),
            "number {number} is not grounded in reply:\n{text}"
        );
    }
}

/// A conversation with one shop, checking every reply's numbers.
struct Chat {
    g: Grounding,
    state: ConversationState,
    texts: usize,
}

impl Chat {
    fn new(g: Grounding) -> Chat {
        Chat {
            g,
            state: ConversationState::default(),
            texts: 0,
        }
    }

    fn say(&mut self, text: &str, lang: Language) -> EngineTurn {
        let turn = respond(&self.g, &self.state, text, lang);
        assert!(!turn.why.is_empty());
        if let EngineReply::Text(reply) = &turn.reply {
            assert_grounded(&self.g, reply, &computed_numbers(&self.g, &turn.state));
            self.texts += 1;
        }
        self.state = turn.state.clone();
        turn
    }

    fn text(&mut self, text: &str, lang: Language) -> String {
        let turn = self.say(text, lang);
        match turn.reply {
            EngineReply::Text(reply) => reply,
            other => panic!("expected a text reply to {text:?}, got {other:?}\nwhy: {:?}", turn.why),
        }
    }
}

fn ask(text: &str, lang: Language) -> String {
    Chat::new(shop()).text(text, lang)
}

fn needs_owner(g: &Grounding, text: &str, lang: Language) -> String {
    let turn = respond(g, &ConversationState::default(), text, lang);
    match turn.reply {
        EngineReply::NeedsOwner { reason } => reason,
        other => panic!("expected NeedsOwner for {text:?}, got {other:?}"),
    }
}

// ------------------------------------------------------------------ answers

#[test]
fn price_in_english() {
    let mut chat = Chat::new(shop());
    let reply = chat.text("How much is the Red Cotton Saree?", Language::En);
    assert!(reply.contains("Red Cotton Saree"), "{reply}");
    assert!(reply.contains("৳1,250"), "{reply}");
    assert!(reply.contains("5 in stock"), "{reply}");
    assert_eq!(chat.state.last_product, Some(id(RED)));
}

#[test]
fn price_in_bangla() {
    let reply = ask("লাল সুতি শাড়ির দাম কত?", Language::Bn);
    assert!(reply.contains("লাল সুতি শাড়ি-এর দাম ৳1,250।"), "{reply}");
}

#[test]
fn price_in_banglish() {
    let reply = ask("red saree er dam koto?", Language::Banglish);
    assert!(reply.contains("Red Cotton Saree er dam ৳1,250."), "{reply}");
}

#[test]
fn sale_price_shows_both_prices() {
    let reply = ask("blue silk saree price?", Language::En);
    assert!(reply.contains("৳2,200 (regular price ৳2,500)"), "{reply}");
    assert!(reply.contains("out of stock"), "{reply}");
    assert!(!reply.contains("Would you like to order"), "{reply}");
}

#[test]
fn misspelled_and_bangla_names_match() {
    let reply = ask("red sharee ache?", Language::Banglish);
    assert!(reply.contains("Red Cotton Saree stock e ache (5 ta)"), "{reply}");
    let reply = ask("cotton sharee available?", Language::En);
    assert!(reply.contains("Red Cotton Saree is in stock"), "{reply}");
    // ী for ি: a different spelling of the Bangla name.
    let reply = ask("লাল শাড়ী কত?", Language::Bn);
    assert!(reply.contains("৳1,250"), "{reply}");
    let reply = ask("kurtii ta koto", Language::Banglish);
    assert!(reply.contains("৳850.50"), "{reply}");
}

#[test]
fn sku_matches_exactly() {
    let reply = ask("PNJ-7 price", Language::En);
    assert!(reply.contains("Cotton Panjabi comes in:"), "{reply}");
}

#[test]
fn follow_up_uses_the_last_product() {
    let mut chat = Chat::new(shop());
    chat.text("red saree er dam koto?", Language::Banglish);
    let reply = chat.text("ache?", Language::Banglish);
    assert!(reply.contains("Red Cotton Saree stock e ache (5 ta)"), "{reply}");
    let reply = chat.text("dam koto?", Language::Banglish);
    assert!(reply.contains("৳1,250"), "{reply}");
    // Something the catalog does not have is not the product discussed.
    let turn = chat.say("shoes ache?", Language::Banglish);
    assert!(matches!(turn.reply, EngineReply::NeedsOwner { .. }), "{turn:?}");
}

#[test]
fn ambiguous_names_ask_which_one() {
    let mut chat = Chat::new(shop());
    let reply = chat.text("saree dam koto?", Language::Banglish);
    assert!(reply.contains("Apni kon ta bolchen?"), "{reply}");
    assert!(reply.contains("Red Cotton Saree: ৳1,250"), "{reply}");
    assert!(reply.contains("Blue Silk Saree: ৳2,200"), "{reply}");
    assert_eq!(chat.state.last_product, None);
}

#[test]
fn out_of_stock_is_said_and_not_ordered() {
    let reply = ask("Is the Blue Silk Saree available?", Language::En);
    assert!(
        reply.contains("Sorry, Blue Silk Saree is out of stock right now."),
        "{reply}"
    );
    let mut chat = Chat::new(shop());
    let reply = chat.text("blue silk saree order korbo", Language::Banglish);
    assert_eq!(reply, "Sorry, Blue Silk Saree ekhon stock e nei.");
    assert_eq!(chat.state.order, None);
}

#[test]
fn variants_with_price_and_stock() {
    let reply = ask("cotton panjabi sizes?", Language::En);
    assert!(reply.contains("- M / White: ৳1,500, 3 in stock"), "{reply}");
    assert!(reply.contains("- L / White: ৳1,600, out of stock"), "{reply}");
    assert!(reply.contains("- XL / Black: ৳1,700, available"), "{reply}");
    let reply = ask("সুতি পাঞ্জাবি কি সাইজে আছে?", Language::Bn);
    assert!(reply.contains("- M / White: ৳1,500, 3টি আছে"), "{reply}");
}

#[test]
fn delivery_charge_from_data() {
    let reply = ask("delivery charge koto?", Language::Banglish);
    assert!(reply.contains("- Dhaka: ৳60, 1–2 din"), "{reply}");
    assert!(reply.contains("- Outside Dhaka: ৳120, 3–5 din"), "{reply}");
    let reply = ask("Outside Dhaka delivery charge?", Language::En);
    assert!(reply.contains("- Outside Dhaka: ৳120, 3–5 days"), "{reply}");
    assert!(!reply.contains("৳60"), "{reply}");
    let reply = ask("ডেলিভারি চার্জ কত?", Language::Bn);
    assert!(reply.contains("ঢাকা") || reply.contains("Dhaka: ৳60"), "{reply}");
}

#[test]
fn when_it_will_arrive_asks_about_delivery_in_customers_words() {
    for (text, lang, wanted) in [
        ("when will it reach?", Language::En, "1–2 days"),
        ("will it come in 2 days?", Language::En, "1–2 days"),
        ("kobe hate pabo?", Language::Banglish, "1–2 din"),
        ("কবে হাতে পাব?", Language::Bn, "ঢাকা"),
    ] {
        let reply = ask(text, lang);
        assert!(
            reply.contains(wanted) || reply.contains("Dhaka: ৳60"),
            "{text}: {reply}"
        );
    }
}

#[test]
fn what_else_is_sold_lists_the_catalog() {
    let reply = ask("what else do you make apart from sarees?", Language::En);
    assert!(reply.contains("Block Print Kurti"), "{reply}");
}

#[test]
fn payment_instructions_verbatim() {
    let reply = ask("bkash e pay korbo", Language::Banglish);
    assert!(reply.contains(&format!("- bKash: {BKASH}")), "{reply}");
    assert!(!reply.contains(COD), "{reply}");
    let reply = ask("What payment methods do you accept?", Language::En);
    assert!(reply.contains(&format!("- Cash on delivery: {COD}")), "{reply}");
    assert!(reply.contains(BKASH), "{reply}");
    let reply = ask("cash on delivery hobe?", Language::Banglish);
    assert!(reply.contains(COD) && !reply.contains("Delivery charge"), "{reply}");
}

#[test]
fn faq_answer_verbatim() {
    assert_eq!(ask("Do you do gift wrap?", Language::En), GIFT);
    assert_eq!(ask("is gift packing available for eid?", Language::En), GIFT);
}

#[test]
fn catalog_hours_and_returns() {
    let reply = ask("ki ki ache?", Language::Banglish);
    assert!(reply.contains("Amader kichu product:"), "{reply}");
    assert!(reply.contains("- Block Print Kurti: ৳850.50"), "{reply}");
    let reply = ask("What are your opening hours?", Language::En);
    assert_eq!(reply, "Our opening hours: Saturday to Thursday, 10am to 8pm");
    let reply = ask("return policy ki?", Language::Banglish);
    assert!(reply.contains("Unused items can be returned within 7 days."), "{reply}");
}

#[test]
fn greetings_thanks_and_the_owners_greeting() {
    let reply = ask("Assalamu alaikum", Language::Banglish);
    assert!(reply.starts_with("Walaikum assalam!"), "{reply}");
    assert!(ask("thanks!", Language::En).starts_with("You're welcome!"));
    let mut g = shop();
    g.rules.greeting = "Welcome to Rupa Fashion!".to_owned();
    assert_eq!(Chat::new(g).text("hello", Language::En), "Welcome to Rupa Fashion!");
    let mut g = shop();
    g.rules.tone = "formal".to_owned();
    let reply = Chat::new(g).text("hi", Language::En);
    assert_eq!(reply, "Hello. How may I help you?");
}

#[test]
fn unknown_question_goes_to_the_owner() {
    let reason = needs_owner(&shop(), "Is the fabric washable in hot water?", Language::En);
    assert_eq!(reason, answer::CANNOT_ANSWER);
    needs_owner(&shop(), "", Language::En);
    needs_owner(&shop(), "amar parcel kothay?", Language::Banglish);
}

#[test]
fn missing_data_goes_to_the_owner() {
    let mut g = shop();
    g.delivery_areas.clear();
    g.payment_methods.clear();
    g.profile.opening_hours.clear();
    assert!(needs_owner(&g, "delivery charge koto?", Language::Banglish).contains("no delivery areas"));
    assert!(needs_owner(&g, "bkash number?", Language::En).contains("no payment methods"));
    assert!(needs_owner(&g, "opening hours?", Language::En).contains("opening hours"));
}

#[test]
fn never_say_phrases_are_never_sent() {
    let mut g = shop();
    g.rules.never_say = vec!["WOULD YOU LIKE TO ORDER".to_owned()];
    let reason = needs_owner(&g, "How much is the Red Cotton Saree?", Language::En);
    assert!(reason.contains("WOULD YOU LIKE TO ORDER"), "{reason}");
}

#[test]
fn review_topics_go_to_the_owner() {
    let mut g = shop();
    g.rules.review_topics = vec!["Wholesale".to_owned()];
    let reason = needs_owner(&g, "wholesale price koto?", Language::Banglish);
    assert!(reason.contains("Wholesale"), "{reason}");
}

// ------------------------------------------------------------------- orders

/// Each item's option and quantity, in a fixed order.
fn options_ordered(request: &OrderRequest) -> Vec<(Option<Uuid>, i32)> {
    let mut options: Vec<(Option<Uuid>, i32)> = request.items().iter().map(|i| (i.variant_id, i.quantity)).collect();
    options.sort();
    options
}

fn placed(turn: EngineTurn) -> OrderRequest {
    match turn.reply {
        EngineReply::PlaceOrder(request) => request,
        other => panic!("expected PlaceOrder, got {other:?}\nwhy: {:?}", turn.why),
    }
}

#[test]
fn order_in_english_over_several_turns() {
    let mut chat = Chat::new(shop());
    let en = Language::En;
    // The quantity is read with the product; none said would be one.
    let reply = chat.text("I want to order 2 of the Red Cotton Saree", en);
    assert_eq!(reply, "Please tell me your name.");
    assert_eq!(
        chat.text("My name is Rahim Uddin", en),
        "Please send your mobile number."
    );
    assert_eq!(
        chat.text("+880 1712-345678", en),
        "Please send your full delivery address."
    );
    // Dhanmondi is an area of Dhaka city (the gazetteer): the owner's "Dhaka"
    // area is taken without asking which area.
    let summary = chat.text("House 5, Road 3, Dhanmondi", en);
    for line in [
        "Product: Red Cotton Saree",
        "Quantity: 2",
        "Unit price: ৳1,250",
        "Subtotal: ৳2,500",
        "Delivery charge: ৳60",
        "Total: ৳2,560",
        "Name: Rahim Uddin",
        "Phone: 01712345678",
        "Address: House 5, Road 3, Dhanmondi",
        "Delivery area: Dhaka",
    ] {
        assert!(summary.contains(line), "missing {line:?} in\n{summary}");
    }
    assert!(chat.state.order.as_ref().is_some_and(|o| o.awaiting_confirmation));
    let request = placed(chat.say("yes", en));
    assert_eq!(
        request,
        OrderRequest {
            product_id: id(RED),
            variant_id: None,
            quantity: 2,
            unit_price_minor: 125_000,
            delivery_charge_minor: 6_000,
            total_minor: 256_000,
            customer_name: "Rahim Uddin".to_owned(),
            phone: "01712345678".to_owned(),
            address: "House 5, Road 3, Dhanmondi".to_owned(),
            delivery_area_id: Some(id(DHAKA)),
            extra: Vec::new(),
        }
    );
    assert_eq!(chat.state.order, None);
    assert_eq!(chat.state.last_product, Some(id(RED)));
    assert!(chat.texts >= 4);
}

#[test]
fn order_in_banglish_with_a_variant() {
    let mut chat = Chat::new(shop());
    let bl = Language::Banglish;
    let reply = chat.text("cotton panjabi order korbo", bl);
    assert!(reply.starts_with("Cotton Panjabi er kon option ta niben?"), "{reply}");
    assert!(reply.contains("- XL / Black: ৳1,700, paowa jabe"), "{reply}");
    assert!(
        !reply.contains("L / White"),
        "an option that ran out is not offered: {reply}"
    );
    assert_eq!(chat.text("XL duita", bl), "Apnar nam ta bolben?");
    assert_eq!(chat.text("amar nam Karim", bl), "Apnar mobile number ta din.");
    assert_eq!(
        chat.text("01812345678", bl),
        "Delivery er jonno apnar full thikana din."
    );
    let summary = chat.text("thikana: Mirpur 10, Dhaka", bl);
    assert!(summary.contains("Option: XL / Black"), "{summary}");
    assert!(summary.contains("Protita: ৳1,700"), "{summary}");
    assert!(summary.contains("Total: ৳3,460"), "{summary}");
    let request = placed(chat.say("ha", bl));
    assert_eq!(request.variant_id, Some(id(XL_BLACK)));
    assert_eq!(request.quantity, 2);
    assert_eq!(request.unit_price_minor, 170_000);
    assert_eq!(request.total_minor, 170_000 * 2 + 6_000);
    assert_eq!(request.address, "Mirpur 10, Dhaka");
}

#[test]
fn order_in_bangla() {
    let mut chat = Chat::new(shop());
    let bn = Language::Bn;
    assert_eq!(chat.text("লাল সুতি শাড়ি ৩টা অর্ডার করব", bn), "আপনার নামটি বলবেন?");
    assert_eq!(chat.text("আমার নাম রহিমা খাতুন", bn), "আপনার মোবাইল নম্বরটি দিন।");
    assert_eq!(chat.text("০১৯১২৩৪৫৬৭৮", bn), "ডেলিভারির জন্য আপনার পুরো ঠিকানা দিন।");
    // চট্টগ্রাম is outside Dhaka (the gazetteer): no question about the area.
    let summary = chat.text("ঠিকানা: বাসা ১২, রোড ৪, চট্টগ্রাম", bn);
    assert!(summary.contains("সর্বমোট: ৳3,870"), "{summary}");
    assert!(summary.contains("নাম: রহিমা খাতুন"), "{summary}");
    let request = placed(chat.say("হ্যাঁ", bn));
    assert_eq!(request.quantity, 3);
    assert_eq!(request.phone, "01912345678");
    assert_eq!(request.total_minor, 125_000 * 3 + 12_000);
    assert_eq!(request.delivery_area_id, Some(id(OUTSIDE)));
}

#[test]
fn a_place_in_a_product_name_is_not_the_customers_place() {
    let mut g = shop();
    if let Some(product) = g.products.first_mut() {
        product.name = "Tangail Cotton Saree".to_owned();
    }
    let reply = Chat::new(g).text("Tangail Cotton Saree delivery charge koto?", Language::Banglish);
    assert!(
        reply.contains("60") && reply.contains("120"),
        "every area, not Tangail's: {reply}"
    );
}

#[test]
fn an_address_with_no_known_place_still_asks_for_the_area() {
    let mut chat = Chat::new(shop());
    let en = Language::En;
    chat.text("I want to order the Red Cotton Saree", en);
    chat.text("1", en);
    chat.text("My name is Rahim Uddin", en);
    chat.text("01712345678", en);
    let reply = chat.text("House 5, Road 3, Notunpara", en);
    assert!(reply.starts_with("Which delivery area are you in?"), "{reply}");
}

#[test]
fn delivery_to_a_named_place_answers_with_that_zone_only() {
    for (question, charge, other, lang) in [
        ("Sylhet e delivery charge koto?", "120", "60", Language::Banglish),
        ("চট্টগ্রাম ডেলিভারি চার্জ কত?", "120", "60", Language::Bn),
        ("delivery charge to Mirpur?", "60", "120", Language::En),
        ("dhakar baire delivery koto?", "120", "60", Language::Banglish),
        // A place with a case ending, and a place alone.
        ("খুলনায় ডেলিভারি চার্জ?", "120", "60", Language::Bn),
        ("sylhete pathaite koto niben?", "120", "60", Language::Banglish),
        ("Rajshahi?", "120", "60", Language::En),
        ("noakhali te hobe?", "120", "60", Language::Banglish),
        ("মিরপুরে কত নিবেন?", "60", "120", Language::Bn),
    ] {
        let reply = ask(question, lang);
        assert!(reply.contains(charge) && !reply.contains(other), "{question}: {reply}");
    }
}

#[test]
fn order_in_one_message() {
    let mut chat = Chat::new(shop());
    let summary = chat.text(
        "I want to order 2 Red Cotton Saree. My name is Rahim Uddin, phone 01712345678, address: House 5, \
         Road 3, Dhanmondi, Dhaka",
        Language::En,
    );
    assert!(summary.contains("Total: ৳2,560"), "{summary}");
    assert!(
        summary.contains("Address: House 5, Road 3, Dhanmondi, Dhaka"),
        "{summary}"
    );
    let request = placed(chat.say("confirm", Language::En));
    assert_eq!(request.total_minor, 256_000);
    assert_eq!(request.customer_name, "Rahim Uddin");
}

#[test]
fn order_without_delivery_areas_charges_nothing() {
    let mut g = shop();
    g.delivery_areas.clear();
    let mut chat = Chat::new(g);
    let summary = chat.text(
        "kurti 2 ta nibo, amar nam Karim, 01812345678, thikana: Road 4, Sylhet",
        Language::Banglish,
    );
    assert!(summary.contains("Delivery charge: ৳0"), "{summary}");
    assert!(summary.contains("Total: ৳1,701"), "{summary}");
    let request = placed(chat.say("ji", Language::Banglish));
    assert_eq!((request.delivery_charge_minor, request.total_minor), (0, 170_100));
    assert_eq!(request.delivery_area_id, None);
}

#[test]
fn order_follows_up_on_the_product_discussed() {
    let mut chat = Chat::new(shop());
    chat.text("block print kurti dam koto?", Language::Banglish);
    assert_eq!(chat.text("ji", Language::Banglish), "Apnar nam ta bolben?");
    assert_eq!(chat.state.order.as_ref().and_then(|o| o.product_id), Some(id(KURTI)));
}

#[test]
fn cancel_clears_the_order() {
    let mut chat = Chat::new(shop());
    chat.text("red saree nibo", Language::Banglish);
    assert!(chat.state.order.is_some());
    let reply = chat.text("cancel", Language::Banglish);
    assert!(reply.contains("cancel kora holo"), "{reply}");
    assert_eq!(chat.state.order, None);

    let mut chat = Chat::new(shop());
    chat.text(
        "order red saree 1 ta, amar nam Karim, 01812345678, thikana: Mirpur, Dhaka",
        Language::Banglish,
    );
    assert!(chat.state.order.as_ref().is_some_and(|o| o.awaiting_confirmation));
    let reply = chat.text("na", Language::Banglish);
    assert!(reply.contains("cancel kora holo"), "{reply}");
    assert_eq!(chat.state.order, None);
}

#[test]
fn quantity_above_stock_is_refused() {
    let mut chat = Chat::new(shop());
    let reply = chat.text("red saree 7 ta nibo", Language::Banglish);
    assert!(reply.starts_with("Sorry, Red Cotton Saree matro 5 ta ache."), "{reply}");
    assert!(reply.ends_with("Red Cotton Saree koyta niben?"), "{reply}");
    assert_eq!(chat.state.order.as_ref().and_then(|o| o.quantity), Some(0));
    assert_eq!(chat.text("5", Language::Banglish), "Apnar nam ta bolben?");
    let reply = chat.text("0", Language::Banglish);
    assert!(reply.contains("Apnar nam ta bolben?"), "{reply}");
}

#[test]
fn questions_in_the_middle_of_an_order() {
    let mut chat = Chat::new(shop());
    chat.text("red saree 2 ta nibo", Language::Banglish);
    chat.text("amar nam Karim", Language::Banglish);
    let reply = chat.text("delivery charge koto?", Language::Banglish);
    assert!(reply.contains("- Dhaka: ৳60, 1–2 din"), "{reply}");
    assert!(reply.ends_with("Apnar mobile number ta din."), "{reply}");
    let reply = chat.text("017123456", Language::Banglish);
    assert!(reply.contains("sothik Bangladeshi mobile number"), "{reply}");
    let turn = chat.say("eta ki pure cotton naki mixed fabric?", Language::Banglish);
    assert!(matches!(turn.reply, EngineReply::NeedsOwner { .. }), "{turn:?}");
    assert_eq!(
        turn.state.order.as_ref().and_then(|o| o.customer_name.as_deref()),
        Some("Karim")
    );
}

#[test]
fn overflow_goes_to_the_owner() {
    let mut g = shop();
    if let Some(kurti) = g.products.iter_mut().find(|p| p.id == id(KURTI)) {
        kurti.price_minor = i64::MAX / 2;
    }
    let mut chat = Chat::new(g);
    let turn = chat.say(
        "order Block Print Kurti 3 ta, amar nam Karim, 01812345678, thikana: Mirpur, Dhaka",
        Language::Banglish,
    );
    match turn.reply {
        EngineReply::NeedsOwner { reason } => assert!(reason.contains("too large"), "{reason}"),
        other => panic!("expected NeedsOwner, got {other:?}"),
    }
}

#[test]
fn stale_product_in_the_draft_is_asked_again() {
    let mut chat = Chat::new(shop());
    chat.state.order = Some(OrderDraft {
        product_id: Some(id(999)),
        quantity: Some(1),
        ..OrderDraft::default()
    });
    let reply = chat.text("hello", Language::En);
    assert!(reply.starts_with("Which product would you like to order?"), "{reply}");
}

// --------------------------------------------------------------- other texts

#[test]
fn placed_order_text_and_disclosure() {
    let g = shop();
    let request = OrderRequest {
        product_id: id(RED),
        variant_id: None,
        quantity: 2,
        unit_price_minor: 125_000,
        delivery_charge_minor: 6_000,
        total_minor: 256_000,
        customer_name: "Rahim".to_owned(),
        phone: "01712345678".to_owned(),
        address: "House 5, Dhaka".to_owned(),
        delivery_area_id: Some(id(DHAKA)),
        extra: Vec::new(),
    };
    let text = order_placed_text(&g, 1042, &request, Language::En);
    assert!(
        text.contains("#1042") && text.contains("Total: ৳2,560") && text.contains(BKASH),
        "{text}"
    );
    assert_grounded(&g, &text, &placed_order_numbers(1042, &request));
    let text = order_placed_text(&g, 7, &request, Language::Bn);
    assert!(text.contains("অর্ডার নম্বর 7"), "{text}");

    assert_eq!(
        disclosure(&g, Language::En),
        "This is BikriAgent, Rupa Fashion's automatic assistant; type HUMAN for a person."
    );
    assert!(disclosure(&g, Language::Bn).contains("মানুষ"));
    assert!(disclosure(&g, Language::Banglish).contains("manush"));
    assert_eq!(
        out_of_stock_text(&g, "Blue Silk Saree", Language::Banglish),
        "Sorry, Blue Silk Saree ekhon stock e nei."
    );
}

#[test]
fn computed_numbers_cover_the_summary() {
    let g = shop();
    let state = ConversationState {
        order: Some(OrderDraft {
            product_id: Some(id(PANJABI)),
            variant_id: Some(id(XL_BLACK)),
            quantity: Some(2),
            delivery_area_id: Some(id(DHAKA)),
            phone: Some("01712345678".to_owned()),
            address: Some("Road 12".to_owned()),
            ..OrderDraft::default()
        }),
        ..ConversationState::default()
    };
    let numbers = computed_numbers(&g, &state);
    for expected in ["1700", "3400", "60", "3460", "2", "01712345678", "12"] {
        assert!(
            numbers.contains(&expected.to_owned()),
            "{expected} missing from {numbers:?}"
        );
    }
}

// ------------------------------------------------------------ robustness

#[test]
fn odd_input_never_panics_and_never_invents_numbers() {
    let mut inputs: Vec<String> = [
        "",
        " ",
        "\n\n\n",
        "😀😀😀",
        "🇧🇩",
        "?",
        "৳",
        "০",
        "0",
        "-1 ta",
        "99999999999999999999999 ta",
        "order 2147483648 ta",
        "order -5 pcs",
        "\u{200D}\u{200C}",
        "\u{0301}\u{09CD}",
        "ক্ষ্ম্য",
        "İİİ",
        "ǅǆ",
        "a\u{0000}b",
        "<script>alert(1)</script>",
        "DROP TABLE orders;",
        "ignore previous instructions",
        "+880",
        "+8801",
        "01712345678 01812345678",
        "amar nam",
        "address:",
        "thikana",
        "nam:",
        "my name is",
        "1,000,000,000 ta",
        "x",
        "xl xl xl xl",
        "দাম?",
        "koto",
        "ache",
        "ha",
        "na",
        "yes",
        "cancel",
        "১২৩৪৫৬৭৮৯০১২৩৪৫৬৭৮৯০",
        "Red Cotton Saree ".repeat(300).as_str(),
        "ড়ড়ড়ড়ড়ড়",
        "ﷺ",
        "𝕆𝕣𝕕𝕖𝕣",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    inputs.push("a".repeat(10_000));
    inputs.push("১".repeat(5_000));
    inputs.push("order ".repeat(2_000));
    // Deterministic pseudo-random strings from a pool of awkward characters.
    let pool: Vec<char> = "aAzZ09 ,.:-+\n৳০৯কখশাি্ড়়\u{200D}😀ßİ\u{0301}redsaoktaphn"
        .chars()
        .collect();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..300 {
        let mut s = String::new();
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let len = (seed >> 58) as usize;
        for _ in 0..len {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            s.push(pool[(seed >> 33) as usize % pool.len()]);
        }
        inputs.push(s);
    }
    let g = shop();
    let drafts = [
        None,
        Some(OrderDraft::default()),
        Some(OrderDraft {
            product_id: Some(id(PANJABI)),
            ..OrderDraft::default()
        }),
        Some(OrderDraft {
            product_id: Some(id(RED)),
            quantity: Some(1),
            customer_name: Some("Karim".to_owned()),
            phone: Some("01812345678".to_owned()),
            address: Some("Mirpur".to_owned()),
            delivery_area_id: Some(id(DHAKA)),
            awaiting_confirmation: true,
            ..OrderDraft::default()
        }),
    ];
    let languages = [Language::En, Language::Bn, Language::Banglish];
    for draft in drafts {
        for (i, input) in inputs.iter().enumerate() {
            let state = ConversationState {
                last_product: Some(id(RED)),
                last_variant: None,
                last_choices: Vec::new(),
                order: draft.clone(),
                disclosed: true,
                language: None,
            };
            let turn = respond(&g, &state, input, languages[i % languages.len()]);
            assert!(turn.state.disclosed);
            if let EngineReply::Text(reply) = &turn.reply {
                assert!(!reply.trim().is_empty(), "empty reply to {input:?}");
                assert_grounded(&g, reply, &computed_numbers(&g, &turn.state));
            }
        }
    }
}

#[test]
fn empty_shop_never_panics() {
    let g = Grounding::default();
    for text in [
        "hi",
        "dam koto",
        "order korbo",
        "delivery?",
        "ki ki ache",
        "yes",
        "01712345678",
    ] {
        let turn = respond(&g, &ConversationState::default(), text, Language::Banglish);
        if let EngineReply::Text(reply) = &turn.reply {
            assert_grounded(&g, reply, &computed_numbers(&g, &turn.state));
        }
    }
}

// ------------------------------------------------- address, comparison, discount

fn shop_with_address() -> Grounding {
    Grounding {
        owner_address: "House 12, Road 5, Dhanmondi, Dhaka".to_owned(),
        ..shop()
    }
}

#[test]
fn the_shop_address_is_given_in_three_languages() {
    for (text, lang) in [
        ("Where is your shop?", Language::En),
        ("apnader dokan kothay?", Language::Banglish),
        ("আপনাদের দোকান কোথায়?", Language::Bn),
        ("shop address ta den", Language::Banglish),
    ] {
        let reply = Chat::new(shop_with_address()).text(text, lang);
        assert!(reply.contains("Dhanmondi"), "{text}: {reply}");
    }
    let reason = needs_owner(&shop(), "Where is your shop?", Language::En);
    assert!(reason.contains("no address"), "{reason}");
}

#[test]
fn the_shop_address_is_found_when_the_words_are_apart() {
    for (text, lang) in [
        (
            "where is ur shop exactly? want to come see the sarees before buying",
            Language::En,
        ),
        ("Where's your shop? is it somewhere in Mirpur?", Language::En),
        ("আপনাদের ঠিকানাটা একটু দিবেন?", Language::Bn),
        ("whats the shop number?", Language::En),
        ("dokan ta mirpur er kothay?", Language::Banglish),
    ] {
        let reply = Chat::new(shop_with_address()).text(text, lang);
        assert!(reply.contains("Dhanmondi"), "{text}: {reply}");
        assert!(!reply.contains("order"), "a visit is not an order: {text}: {reply}");
    }
    // The customer's own address is not a question about the shop's.
    let turn = respond(
        &shop_with_address(),
        &ConversationState::default(),
        "my address is House 3, Mirpur, where do you deliver?",
        Language::En,
    );
    assert!(!format!("{:?}", turn.reply).contains("Dhanmondi"), "{:?}", turn.why);
}

#[test]
fn exchange_questions_in_other_words_get_the_return_policy() {
    for (text, lang) in [
        ("if the size doesnt fit, can i change it?", Language::En),
        ("can i send it back if i change my mind?", Language::En),
        ("paye na hole bodle dite parbo to?", Language::Banglish),
    ] {
        let reply = Chat::new(shop()).text(text, lang);
        assert!(reply.contains("within 7 days"), "{text}: {reply}");
    }
    // "If I buy the red saree and it doesn't fit": a question, not an order.
    let turn = respond(
        &shop(),
        &ConversationState::default(),
        "if i buy the red cotton saree and it doesnt fit, can i exchange it?",
        Language::En,
    );
    assert!(turn.state.order.is_none(), "{:?}", turn.why);
}

#[test]
fn an_faq_pattern_matches_across_scripts_and_customer_words() {
    let mut g = shop();
    g.faq.push(FaqEntry {
        id: id(303),
        patterns: vec!["kotodin rakha".to_owned(), "shelf life".to_owned()],
        answer: "Pickles keep for 6 months outside the fridge.".to_owned(),
    });
    g.faq.push(FaqEntry {
        id: id(304),
        patterns: vec!["preservative".to_owned()],
        answer: "No preservatives, only mustard oil.".to_owned(),
    });
    g.faq.push(FaqEntry {
        id: id(305),
        patterns: vec!["photo cake".to_owned()],
        answer: "A photo print on top costs 300 taka.".to_owned(),
    });
    for (text, lang, wanted) in [
        ("কতদিন রাখা যায়?", Language::Bn, "6 months"),
        (
            "do you put any chemicals in it to keep it fresh?",
            Language::En,
            "No preservatives",
        ),
        ("cake er upor chobi dile koto extra?", Language::Banglish, "300 taka"),
    ] {
        let turn = respond(&g, &ConversationState::default(), text, lang);
        assert!(format!("{:?}", turn.reply).contains(wanted), "{text}: {:?}", turn.why);
    }
}

#[test]
fn a_comparison_states_both_products_and_the_cheaper_one() {
    let reply = ask("which is cheaper, red cotton saree or blue silk saree?", Language::En);
    assert!(reply.contains("৳1,250") && reply.contains("৳2,200"), "{reply}");
    assert!(reply.contains("Red Cotton Saree costs less."), "{reply}");
    let reply = ask("লাল সুতি শাড়ি আর নীল সিল্ক শাড়ির মধ্যে পার্থক্য কী?", Language::Bn);
    assert!(
        reply.contains("লাল সুতি শাড়ি") && reply.contains("নীল সিল্ক শাড়ি"),
        "{reply}"
    );
    // The product under discussion is the other side of "ar ... konta valo?".
    let mut chat = Chat::new(shop());
    chat.text("red cotton saree dam koto?", Language::Banglish);
    let reply = chat.text("ar kurti konta sosta?", Language::Banglish);
    assert!(reply.contains("Block Print Kurti er dam kom."), "{reply}");
}

#[test]
fn a_discount_request_goes_to_the_owner_and_no_discount_is_invented() {
    for (text, lang) in [
        ("any discount on the red cotton saree?", Language::En),
        ("ektu kom hobe na apu?", Language::Banglish),
        ("একটু কম রাখেন", Language::Bn),
        ("last price koto?", Language::Banglish),
    ] {
        let reason = needs_owner(&shop(), text, lang);
        assert!(reason.contains("discount"), "{text}: {reason}");
    }
}

#[test]
fn an_faq_about_a_named_product_wins_over_the_price_template() {
    let mut g = shop();
    g.faq.push(FaqEntry {
        id: id(301),
        patterns: vec!["original".to_owned(), "asol".to_owned()],
        answer: "Every saree is woven by our own weavers in Tangail.".to_owned(),
    });
    let reply = Chat::new(g.clone()).text("is the red cotton saree original?", Language::En);
    assert!(reply.starts_with("Every saree is woven"), "{reply}");
    assert!(!reply.contains("৳"), "{reply}");
    // A price asked at the same time is answered as well.
    let reply = Chat::new(g).text("red cotton saree asol? dam koto?", Language::Banglish);
    assert!(
        reply.contains("Every saree is woven") && reply.contains("৳1,250"),
        "{reply}"
    );
}

#[test]
fn a_colour_word_alone_does_not_name_a_product() {
    let mut g = shop();
    g.products.push(GroundedProduct {
        variants: vec![
            variant(51, "", "White", 0, Some(4)),
            variant(52, "", "Black", 0, Some(2)),
        ],
        ..product(5, "EAR-1", "Wireless Earbuds", Some("ওয়্যারলেস ইয়ারবাড"), 190_000)
    });
    g.products
        .push(product(6, "PNJ-W", "White Cotton Panjabi", None, 165_000));
    let reply = Chat::new(g.clone()).text("earbuds in white?", Language::En);
    assert!(
        reply.contains("Wireless Earbuds") && !reply.contains("Panjabi"),
        "{reply}"
    );
    assert!(reply.contains("White") && reply.contains("৳1,900"), "{reply}");
    let reply = Chat::new(g).text("white panjabi dam koto?", Language::Banglish);
    assert!(reply.contains("White Cotton Panjabi er dam ৳1,650."), "{reply}");
}

#[test]
fn an_all_in_one_order_message_needs_no_labels() {
    let mut chat = Chat::new(shop());
    let en = Language::En;
    let summary = chat.text(
        "I want 2 red cotton saree, Nusrat Jahan, 01712345678, House 5, Road 3, Mirpur 10, Dhaka",
        en,
    );
    assert!(summary.contains("Nusrat Jahan"), "{summary}");
    assert!(summary.contains("House 5, Road 3, Mirpur 10, Dhaka"), "{summary}");
    let request = placed(chat.say("yes confirm", en));
    assert_eq!(request.quantity, 2);
    assert_eq!(request.customer_name, "Nusrat Jahan");
    assert_eq!(request.address, "House 5, Road 3, Mirpur 10, Dhaka");
    assert_eq!(request.delivery_area_id, Some(id(DHAKA)));
    assert_eq!(request.total_minor, 125_000 * 2 + 6_000);

    // In Bangla, on separate lines, the phone in Bangla digits.
    let mut chat = Chat::new(shop());
    let bn = Language::Bn;
    chat.text("লাল সুতি শাড়ি ১টা নিব", bn);
    let summary = chat.text("রুমানা আক্তার\n০১৮১২৩৪৫৬৭৮\nবাসা ৭, গ্রাম পলাশবাড়ী, সিলেট", bn);
    assert!(summary.contains("রুমানা আক্তার"), "{summary}");
    let request = placed(chat.say("জি কনফার্ম", bn));
    assert_eq!(request.phone, "01812345678");
    assert_eq!(request.delivery_area_id, Some(id(OUTSIDE)));
}

#[test]
fn a_name_right_before_or_after_the_phone_is_read() {
    let bl = Language::Banglish;
    for (details, name) in [
        (
            "Rafiq Islam 01612378945, Mirpur 2, Block C, Road 5, House 19",
            "Rafiq Islam",
        ),
        ("01865432190 Maliha, House 17, Road 3, Mirpur 10", "Maliha"),
    ] {
        let mut chat = Chat::new(shop());
        chat.text("red cotton saree 1ta nibo", bl);
        let summary = chat.text(details, bl);
        assert!(summary.contains(name), "{details}: {summary}");
        let request = placed(chat.say("confirm", bl));
        assert_eq!(request.customer_name, name);
    }
}

#[test]
fn a_count_taken_back_is_replaced_and_a_purpose_is_not_an_item() {
    let bl = Language::Banglish;
    let mut chat = Chat::new(shop());
    chat.text("red cotton saree 3ta nibo", bl);
    let turn = chat.say("sorry 3ta na 2ta dien", bl);
    assert_eq!(
        turn.state.order.as_ref().and_then(|o| o.quantity),
        Some(2),
        "{:?}",
        turn.why
    );
    let mut chat = Chat::new(shop());
    chat.text("red cotton saree x3 please", Language::En);
    let turn = chat.say("sorry, 2 is enough", Language::En);
    assert_eq!(
        turn.state.order.as_ref().and_then(|o| o.quantity),
        Some(2),
        "{:?}",
        turn.why
    );
    // "silk" is another saree's word: the purpose is not a second item.
    let turn = Chat::new(shop()).say(
        "red cotton saree x2 please, for my sister's silk anniversary",
        Language::En,
    );
    let order = turn.state.order.expect("an order started");
    assert!(order.items.is_empty(), "{:?}", turn.why);
    assert_eq!(order.quantity, Some(2));
}

#[test]
fn a_unit_names_an_option_never_another_product() {
    let mut g = shop();
    g.products.push(GroundedProduct {
        variants: vec![
            variant(61, "1 litre", "", 0, Some(9)),
            variant(62, "5 litre", "", 70_000, Some(9)),
        ],
        ..product(60, "OIL", "Mustard Oil", None, 30_000)
    });
    g.products.push(product(63, "HONEY", "Litchi Honey", None, 45_000));
    let turn = Chat::new(g).say("Two bottles of mustard oil: one 5 litre and one 1 litre", Language::En);
    let order = turn.state.order.expect("an order started");
    let products: Vec<Uuid> = order
        .product_id
        .into_iter()
        .chain(order.items.iter().map(|item| item.product_id))
        .collect();
    assert!(products.contains(&id(60)), "{:?}", turn.why);
    assert!(!products.contains(&id(63)), "'litre' is not 'Litchi': {:?}", turn.why);
}

#[test]
fn the_same_question_is_asked_at_most_twice_then_the_owner_takes_over() {
    let mut chat = Chat::new(shop());
    let bl = Language::Banglish;
    let first = chat.text("red cotton saree order korbo, amar nam Karim", bl);
    let second = chat.text("hmm", bl);
    assert_eq!(first, second, "the phone question is asked again once");
    let turn = chat.say("ummm", bl);
    assert!(
        matches!(&turn.reply, EngineReply::NeedsOwner { reason } if reason.contains("asked twice")),
        "{:?}",
        turn.reply
    );
}

#[test]
fn products_are_named_across_scripts() {
    // Banglish words against the Bangla name.
    let reply = ask("lal suti shari dam koto?", Language::Banglish);
    assert!(reply.contains("Red Cotton Saree er dam ৳1,250."), "{reply}");
    // Bangla words against the English name read as Banglish.
    let mut g = shop();
    if let Some(panjabi) = g.products.iter_mut().find(|p| p.sku == "PNJ-7") {
        panjabi.name_bn = None;
    }
    let reply = Chat::new(g).text("পাঞ্জাবির দাম কত?", Language::Bn);
    assert!(reply.contains("Cotton Panjabi") && reply.contains("৳1,500"), "{reply}");
}

#[test]
fn an_option_named_before_the_order_is_kept_in_it() {
    let mut chat = Chat::new(shop());
    let bl = Language::Banglish;
    let reply = chat.text("cotton panjabi black ache?", bl);
    assert!(reply.contains("XL / Black"), "{reply}");
    // Contact details start the order of the product and option discussed.
    let summary = chat.text("amar nam Karim, 01812345678, House 5, Road 3, Mirpur 10, Dhaka", bl);
    assert!(summary.contains("Option: XL / Black"), "{summary}");
    let request = placed(chat.say("ha", bl));
    assert_eq!(request.variant_id, Some(id(XL_BLACK)));
}

#[test]
fn a_name_after_the_address_and_a_number_in_a_product_name_are_read_right() {
    let mut g = shop();
    g.products.push(GroundedProduct {
        stock: Some(8),
        ..product(7, "PB-20K", "Redmi 20000mAh Power Bank", None, 215_000)
    });
    let mut chat = Chat::new(g);
    let bl = Language::Banglish;
    // "20000" belongs to the name: no quantity of twenty thousand.
    assert_eq!(
        chat.text("redmi 20000 power bank ta nite chai", bl),
        "Apnar nam ta bolben?"
    );
    let summary = chat.text("House 22, Road 7, Sector 10, Uttara. Naim Hasan. 01912345000", bl);
    assert!(summary.contains("Nam: Naim Hasan"), "{summary}");
    assert!(
        summary.contains("Thikana: House 22, Road 7, Sector 10, Uttara\n"),
        "{summary}"
    );
    assert!(summary.contains("Quantity: 1"), "{summary}");

    let mut chat = Chat::new(shop());
    let bn = Language::Bn;
    chat.text("লাল সুতি শাড়ি ২টা লাগবে", bn);
    let summary = chat.text("বাসা ৭, রোড ২, মিরপুর ১০, ঢাকা। রিনা বেগম ০১৭১৫৬৭৮৯০২", bn);
    assert!(summary.contains("নাম: রিনা বেগম"), "{summary}");
    let request = placed(chat.say("হ্যাঁ", bn));
    assert_eq!(request.address, "বাসা ৭, রোড ২, মিরপুর ১০, ঢাকা");
    assert_eq!(request.quantity, 2);
}

#[test]
fn an_order_can_hold_several_products() {
    let mut chat = Chat::new(shop());
    let bl = Language::Banglish;
    assert_eq!(chat.text("red cotton saree 2 ta nibo", bl), "Apnar nam ta bolben?");
    // "ar … ekta": one more product, not a different one.
    let reply = chat.text("ar block print kurti ekta", bl);
    assert_eq!(reply, "Apnar nam ta bolben?");
    let summary = chat.text("amar nam Karim, 01812345678, House 5, Road 3, Mirpur 10, Dhaka", bl);
    for line in [
        "Product: Red Cotton Saree",
        "Quantity: 2",
        "Product: Block Print Kurti",
        "Subtotal: ৳3,350.50",
        "Total: ৳3,410.50",
    ] {
        assert!(summary.contains(line), "missing {line:?} in\n{summary}");
    }
    let request = placed(chat.say("ha", bl));
    assert_eq!(request.product_id, id(KURTI));
    assert_eq!(request.extra.len(), 1);
    assert_eq!((request.extra[0].product_id, request.extra[0].quantity), (id(RED), 2));
    assert_eq!(request.total_minor, 125_000 * 2 + 85_050 + 6_000);
    let text = order_placed_text(&chat.g, 1001, &request, bl);
    assert_grounded(&chat.g, &text, &placed_order_numbers(1001, &request));
}

#[test]
fn several_products_in_one_message_each_keep_their_quantity() {
    let mut chat = Chat::new(shop());
    let en = Language::En;
    let summary = chat.text(
        "1 red cotton saree and 2 block print kurti to Karim Ahmed, 01812345678, House 5, Road 3, Mirpur 10, Dhaka",
        en,
    );
    for line in [
        "Product: Red Cotton Saree",
        "Quantity: 1",
        "Product: Block Print Kurti",
        "Quantity: 2",
        "Name: Karim Ahmed",
    ] {
        assert!(summary.contains(line), "missing {line:?} in\n{summary}");
    }
    let request = placed(chat.say("yes", en));
    assert_eq!((request.product_id, request.quantity), (id(KURTI), 2));
    assert_eq!(request.extra.len(), 1);
    assert_eq!((request.extra[0].product_id, request.extra[0].quantity), (id(RED), 1));
    assert_eq!(request.total_minor, 125_000 + 85_050 * 2 + 6_000);

    // "+" between items; a product followed by its option in the next part
    // is one item, not two.
    let mut chat = Chat::new(shop());
    let reply = chat.text("Order: 1 blue silk saree + 1 cotton panjabi, XL", en);
    assert_eq!(reply, "Please tell me your name.", "both items complete");
    chat.text("Karim Ahmed, 01812345678, House 5, Road 3, Mirpur 10, Dhaka", en);
    let request = placed(chat.say("yes", en));
    assert_eq!(
        (request.product_id, request.variant_id, request.quantity),
        (id(PANJABI), Some(id(XL_BLACK)), 1)
    );
    assert_eq!((request.extra[0].product_id, request.extra[0].quantity), (id(BLUE), 1));
}

#[test]
fn options_after_a_product_make_an_item_each() {
    let mut chat = Chat::new(shop());
    let en = Language::En;
    chat.text("I want 2 cotton panjabi, one M and one XL", en);
    let summary = chat.text("Karim Ahmed, 01812345678, House 5, Road 3, Mirpur 10, Dhaka", en);
    assert_eq!(summary.matches("Product: Cotton Panjabi").count(), 2, "{summary}");
    let request = placed(chat.say("yes", en));
    assert_eq!(options_ordered(&request), [(Some(id(31)), 1), (Some(id(XL_BLACK)), 1)]);
}

#[test]
fn an_english_option_written_in_bangla_letters_is_chosen() {
    let mut chat = Chat::new(shop());
    let bn = Language::Bn;
    // "ব্ল্যাক" is Black: the only black option is XL.
    let reply = chat.text("সুতি পাঞ্জাবি ব্ল্যাক একটা নিব", bn);
    assert!(!reply.contains("অপশন"), "the option is not asked: {reply}");
    chat.text("নাম করিম, ০১৮১২৩৪৫৬৭৮, বাসা ৫, রোড ৩, মিরপুর ১০, ঢাকা", bn);
    let request = placed(chat.say("হ্যাঁ", bn));
    assert_eq!(request.variant_id, Some(id(XL_BLACK)));
}

#[test]
fn deliver_to_a_place_is_the_whole_address() {
    let mut chat = Chat::new(shop());
    let en = Language::En;
    chat.text("I want the red cotton saree", en);
    chat.text("Deliver to Zindabazar, Sylhet", en);
    chat.text("Name Tahmid, phone 01812223344", en);
    let request = placed(chat.say("yes", en));
    assert_eq!(request.address, "Zindabazar, Sylhet");
    assert_eq!(request.delivery_area_id, Some(id(OUTSIDE)));
}

#[test]
fn an_faq_pattern_counts_only_as_whole_words() {
    let mut g = shop();
    g.faq.push(FaqEntry {
        id: id(301),
        patterns: vec!["hat".to_owned(), "মাপ".to_owned()],
        answer: "Our sarees are 12 hands long.".to_owned(),
    });
    // "hat" is inside "what": not the FAQ.
    let reply = respond(
        &g,
        &ConversationState::default(),
        "What sarees do you have?",
        Language::En,
    );
    let text = format!("{:?}", reply.reply);
    assert!(!text.contains("12 hands"), "{text}");
    // A whole word, and a Bangla word with its case ending, are.
    for question in ["saree koto hat?", "শাড়ির মাপটা কত?"] {
        let reply = respond(&g, &ConversationState::default(), question, Language::Banglish);
        let text = format!("{:?}", reply.reply);
        assert!(text.contains("12 hands"), "{question}: {text}");
    }
}

#[test]
fn what_kinds_do_you_have_lists_every_product_of_the_kind() {
    let g = shop();
    for (question, lang) in [
        ("What sarees do you have?", Language::En),
        ("ki ki saree ache?", Language::Banglish),
        ("কি কি শাড়ি আছে?", Language::Bn),
    ] {
        let reply = respond(&g, &ConversationState::default(), question, lang);
        let text = format!("{:?}", reply.reply);
        for price in ["1,250", "2,500"] {
            assert!(
                text.contains(price),
                "{question}: both sarees, {text}\nwhy: {:?}",
                reply.why
            );
        }
        assert!(!text.contains("850.50"), "{question}: not the kurti, {text}");
    }
    // Options of a product are not a list of products.
    let reply = respond(
        &g,
        &ConversationState::default(),
        "Which colours do you have?",
        Language::En,
    );
    assert!(
        !reply.why.iter().any(|why| why.contains("of the kind asked about")),
        "{:?}",
        reply.why
    );
}

#[test]
fn the_price_asked_during_an_order_is_what_the_order_comes_to() {
    let mut chat = Chat::new(shop());
    let bn = Language::Bn;
    chat.text("লাল সুতি শাড়ি ৩টা লাগবে", bn);
    let reply = chat.text("দাম কত পড়বে?", bn);
    assert!(reply.contains("3 × ৳1,250 = ৳3,750"), "{reply}");
}

#[test]
fn after_which_one_an_option_or_a_price_question_refers_to_the_choices() {
    let mut chat = Chat::new(shop());
    let bl = Language::Banglish;
    // Two sarees fit "saree": the customer is asked which.
    let which = chat.text("saree ache?", bl);
    assert!(
        which.contains("Red Cotton Saree") && which.contains("Blue Silk Saree"),
        "{which}"
    );
    // "koto?" gets the choices with their prices.
    let prices = chat.text("koto?", bl);
    assert!(prices.contains("1,250") && prices.contains("2,500"), "{prices}");
}

#[test]
fn a_price_the_customer_names_and_wholesale_go_to_the_owner() {
    let g = shop();
    for (text, lang) in [
        ("red cotton saree 1000 e den na vai", Language::Banglish),
        ("লাল সুতি শাড়ি ১০০০ তে দিবেন?", Language::Bn),
        ("Can you do 1000 for the red cotton saree?", Language::En),
        (
            "bon er biyete 300 pis kurti lagbe, rate koto porbe?",
            Language::Banglish,
        ),
    ] {
        let reason = needs_owner(&g, text, lang);
        assert!(
            reason.contains("price") || reason.contains("wholesale"),
            "{text}: {reason}"
        );
    }
    // A house number before "e" and a delivery question is not a price offer.
    let reply = ask("House 55 e delivery charge koto?", Language::Banglish);
    assert!(reply.contains("60"), "{reply}");
}

#[test]
fn items_end_where_the_details_begin() {
    let mut chat = Chat::new(shop());
    let en = Language::En;
    let summary = chat.text(
        "Please send 1 red cotton saree and 1 block print kurti to House 8, Road 27, Gulshan 1. Mehnaz Karim, 01711908765",
        en,
    );
    for line in [
        "Product: Red Cotton Saree",
        "Product: Block Print Kurti",
        "Name: Mehnaz Karim",
    ] {
        assert!(summary.contains(line), "missing {line:?} in\n{summary}");
    }
    // Two options of one product, each with its count.
    let mut chat = Chat::new(shop());
    chat.text("cotton panjabi M 2ta ar XL 1ta nibo", Language::Banglish);
    let summary = chat.text(
        "Karim, 01812345678, House 5, Road 3, Mirpur 10, Dhaka",
        Language::Banglish,
    );
    assert_eq!(summary.matches("Product: Cotton Panjabi").count(), 2, "{summary}");
    assert!(
        summary.contains("Quantity: 2") && summary.contains("Quantity: 1"),
        "{summary}"
    );
}

#[test]
fn a_name_before_the_phone_is_read_when_it_was_asked_for() {
    let mut chat = Chat::new(shop());
    let en = Language::En;
    chat.text("I want the red cotton saree", en);
    let summary = chat.text("Ruma Akter, 01678123450, Mirpur 2, road 4, house 10", en);
    assert!(summary.contains("Name: Ruma Akter"), "{summary}");
}

#[test]
fn small_and_big_choose_among_amounts() {
    let mut g = shop();
    let mut pickle = product(900, "ACHAR-1", "Mango Pickle", Some("আমের আচার"), 35_000);
    pickle.variants = vec![
        variant(901, "400g", "", 0, Some(5)),
        variant(902, "800g", "", 30_000, Some(5)),
    ];
    g.products.push(pickle);
    let mut chat = Chat::new(g.clone());
    chat.text("mango pickle er boro ta 1 ta nibo", Language::Banglish);
    chat.text(
        "Karim, 01812345678, House 5, Road 3, Mirpur 10, Dhaka",
        Language::Banglish,
    );
    let request = placed(chat.say("ha", Language::Banglish));
    assert_eq!(request.variant_id, Some(id(902)));
    let mut chat = Chat::new(g);
    chat.text("I want one small mango pickle", Language::En);
    chat.text("Karim, 01812345678, House 5, Road 3, Mirpur 10, Dhaka", Language::En);
    let request = placed(chat.say("yes", Language::En));
    assert_eq!(request.variant_id, Some(id(901)));
}

#[test]
fn a_number_inside_a_tag_names_the_product() {
    let mut g = shop();
    if let Some(kurti) = g.products.iter_mut().find(|p| p.id == id(KURTI)) {
        kurti.tags.push("3 piece".to_owned());
    }
    let turn = respond(
        &g,
        &ConversationState::default(),
        "how much for the kurti 3 piece",
        Language::En,
    );
    assert!(
        turn.state.order.is_none(),
        "a price question, not an order of three: {:?}",
        turn.why
    );
    let text = format!("{:?}", turn.reply);
    assert!(text.contains("850.50"), "{text}");
}

#[test]
fn two_options_with_their_counts_replace_the_item_being_ordered() {
    let mut chat = Chat::new(shop());
    let bl = Language::Banglish;
    chat.text("cotton panjabi XL 3ta nibo", bl);
    // Only one XL left would be asked about; the customer splits the order.
    chat.text("tahole 1ta XL ar 1ta M dien", bl);
    let summary = chat.text("Karim, 01812345678, House 5, Road 3, Mirpur 10, Dhaka", bl);
    assert_eq!(summary.matches("Product: Cotton Panjabi").count(), 2, "{summary}");
    let request = placed(chat.say("ha", bl));
    assert_eq!(options_ordered(&request), [(Some(id(31)), 1), (Some(id(XL_BLACK)), 1)]);
}

#[test]
fn an_offer_question_gets_the_owners_sale_price_and_bargaining_the_owner() {
    let g = shop();
    let reply = ask("blue silk saree still discounted?", Language::En);
    assert!(reply.contains("2,200"), "{reply}");
    for text in [
        "blue silk saree ar kichu kom hobe?",
        "blue silk saree discount dile nibo",
        "any discount on the blue silk saree if i buy 2?",
    ] {
        let reason = needs_owner(&g, text, Language::Banglish);
        assert!(reason.contains("price"), "{text}: {reason}");
    }
}

#[test]
fn a_day_of_the_week_or_how_fast_are_questions_the_data_answers() {
    for (text, lang, wanted) in [
        ("r u guys open friday morning?", Language::En, "Saturday to Thursday"),
        (
            "mongolbar e dokan khola thake?",
            Language::Banglish,
            "Saturday to Thursday",
        ),
        ("how fast to mirpur", Language::En, "1–2"),
        ("if i order today to mirpur when will it arrive", Language::En, "1–2"),
    ] {
        let turn = respond(&shop(), &ConversationState::default(), text, lang);
        assert!(turn.state.order.is_none(), "{text}: not an order: {:?}", turn.why);
        let reply = format!("{:?}", turn.reply);
        assert!(reply.contains(wanted), "{text}: {reply}");
    }
}

#[test]
fn an_faq_pattern_is_found_through_a_synonym() {
    let mut g = shop();
    g.faq.push(FaqEntry {
        id: id(302),
        patterns: vec!["advance".to_owned()],
        answer: "We take half in advance for made-to-order items.".to_owned(),
    });
    let turn = respond(
        &g,
        &ConversationState::default(),
        "do i have to pay upfront?",
        Language::En,
    );
    assert!(
        format!("{:?}", turn.reply).contains("half in advance"),
        "{:?}",
        turn.why
    );
}

#[test]
fn a_model_number_does_not_make_an_offer_question_a_bargain() {
    let mut g = shop();
    if let Some(blue) = g.products.iter_mut().find(|p| p.id == id(BLUE)) {
        blue.tags.push("bs2".to_owned());
    }
    let reply = Chat::new(g).text("blue silk saree bs2 er offer price koto ekhon?", Language::Banglish);
    assert!(reply.contains("2,200"), "{reply}");
}

#[test]
fn one_word_of_a_colour_names_it_after_the_product_was_discussed() {
    let mut g = shop();
    if let Some(panjabi) = g.products.iter_mut().find(|p| p.sku == "PNJ-7") {
        panjabi.variants.push(variant(33, "L", "Navy Blue", 0, Some(2)));
    }
    let mut chat = Chat::new(g);
    chat.text("cotton panjabi koto?", Language::Banglish);
    let reply = chat.text("ar navy?", Language::Banglish);
    assert!(reply.contains("Navy Blue") && !reply.contains("White"), "{reply}");
    // A modifier alone names no colour: nothing to answer.
    let turn = chat.say("off?", Language::Banglish);
    assert!(matches!(turn.reply, EngineReply::NeedsOwner { .. }), "{:?}", turn.reply);
}

#[test]
fn a_product_picked_from_the_list_just_shown() {
    let mut g = shop();
    g.products.push(GroundedProduct {
        tags: vec!["orna".to_owned()],
        ..product(900, "ORN-1", "Silk Orna", None, 45_000)
    });
    // Without a list, "silk" fits the saree and the orna alike.
    let reply = Chat::new(g.clone()).text("silk ta koto?", Language::Banglish);
    assert!(
        reply.contains("Silk Orna") && reply.contains("Blue Silk Saree"),
        "{reply}"
    );
    let mut chat = Chat::new(g);
    let list = chat.text("saree ki ki ache?", Language::Banglish);
    assert!(
        list.contains("Blue Silk Saree") && !list.contains("Silk Orna"),
        "{list}"
    );
    let reply = chat.text("silk ta koto?", Language::Banglish);
    assert!(
        reply.contains("Blue Silk Saree") && !reply.contains("Silk Orna"),
        "{reply}"
    );
}

#[test]
fn an_options_amount_and_english_words_are_not_counts() {
    let mut g = shop();
    g.products.push(GroundedProduct {
        variants: vec![
            variant(901, "1 litre", "", 0, Some(9)),
            variant(902, "2 litre", "", 30_000, Some(9)),
        ],
        ..product(900, "OIL-1", "Mustard Oil", None, 35_000)
    });
    // "2 litre" is the option: one bottle of it, with the kurti.
    let summary = Chat::new(g.clone()).text(
        "2 litre mustard oil ar 1 block print kurti. Rupa, 01823344556, House 30, Road 6, Mirpur 12, Dhaka",
        Language::Banglish,
    );
    assert!(
        summary.contains("Quantity: 1") && !summary.contains("Quantity: 2"),
        "{summary}"
    );
    assert!(summary.contains("৳1,560.50"), "650 + 850.50 + 60 delivery: {summary}");
    // "then" folds like "ten" but is not a number.
    let summary = Chat::new(g).text(
        "then the block print kurti is fine, and 1 red cotton saree. Rupa, 01823344556, House 30, Road 6, \
         Mirpur 12, Dhaka",
        Language::En,
    );
    assert!(!summary.contains("Quantity: 10"), "{summary}");
    assert!(summary.contains("৳2,160.50"), "850.50 + 1,250 + 60 delivery: {summary}");
}

#[test]
fn make_it_n_before_adding_a_product_counts_the_item_before() {
    let mut chat = Chat::new(shop());
    chat.text("I want 3 Red Cotton Saree", Language::En);
    chat.text("actually make it 4, and add the block print kurti", Language::En);
    let summary = chat.text(
        "Rahim Uddin, 01712345678, House 5, Road 3, Dhanmondi, Dhaka",
        Language::En,
    );
    assert!(summary.contains("Quantity: 4"), "{summary}");
    assert!(summary.contains("৳5,910.50"), "4 × 1,250 + 850.50 + 60: {summary}");
}

#[test]
fn a_question_about_something_else_does_not_start_an_order() {
    let mut g = shop();
    if let Some(red) = g.products.first_mut() {
        red.tags.push("party".to_owned());
    }
    let turn = Chat::new(g).say("do you make kacchi biryani? need it for a party", Language::En);
    assert!(turn.state.order.is_none(), "{:?}", turn.why);
}

/// A shop with one frock in ages and colours, as kids' shops list them.
fn frock_shop() -> Grounding {
    let mut g = shop();
    g.products.push(GroundedProduct {
        variants: vec![
            variant(401, "1-2 years", "Yellow", 0, Some(6)),
            variant(402, "3-4 years", "Yellow", 0, Some(5)),
            variant(403, "3-4 years", "Sky Blue", 0, Some(4)),
            variant(404, "4-5 years", "White", 0, Some(5)),
            variant(405, "6-7 years", "White", 10_000, Some(3)),
            variant(406, "6-7 years", "Olive", 10_000, Some(2)),
        ],
        ..product(400, "FROCK-COTTON", "Cotton Printed Frock", Some("সুতি ফ্রক"), 65_000)
    });
    g
}

#[test]
fn a_part_that_narrows_the_options_holds_for_the_items_after_it() {
    let mut chat = Chat::new(frock_shop());
    let en = Language::En;
    // "size 3-4 years" picks no option alone; "one yellow" and "one sky
    // blue" pick among the 3-4 year ones.
    chat.text(
        "I'd like two cotton frocks, size 3-4 years, one yellow and one sky blue",
        en,
    );
    let summary = chat.text("Lubna Karim, 01716224589, House 3, Road 1, Mohammadpur", en);
    assert_eq!(summary.matches("Product: Cotton Printed Frock").count(), 2, "{summary}");
    let request = placed(chat.say("confirm", en));
    assert_eq!(options_ordered(&request), [(Some(id(402)), 1), (Some(id(403)), 1)]);
}

#[test]
fn ages_in_bangla_and_a_colour_in_bangla_letters_pick_the_option() {
    let mut chat = Chat::new(frock_shop());
    let bn = Language::Bn;
    // "৪-৫ বছরের" is "4-5 years" with a case ending; "অলিভ" is Olive.
    let reply = chat.text("সুতি ফ্রক সাদা ৪-৫ বছরের একটা আর অলিভ ৬-৭ বছরের একটা", bn);
    assert!(!reply.contains("অপশন"), "no option is asked: {reply}");
    chat.text("রাজশাহী, উপশহর, সেক্টর ২, বাসা ১৮। মুনিরা, ০১৭৪১২৩৯৮৭৬", bn);
    let request = placed(chat.say("কনফার্ম", bn));
    assert_eq!(options_ordered(&request), [(Some(id(404)), 1), (Some(id(406)), 1)]);
    // A single number is a count, not an age: "৪টা" picks no option.
    let mut chat = Chat::new(frock_shop());
    let reply = chat.text("সুতি ফ্রক ৪টা নিব", bn);
    assert!(reply.contains("অপশন"), "the option is asked: {reply}");
}

#[test]
fn a_counted_product_is_an_order_even_when_an_faq_word_is_in_it() {
    let mut g = shop();
    g.faq.push(FaqEntry {
        id: id(310),
        patterns: vec!["packet".to_owned()],
        answer: "Every parcel is sealed in a zip packet.".to_owned(),
    });
    let en = Language::En;
    let mut chat = Chat::new(g.clone());
    let reply = chat.text("red cotton saree, 3 packets please", en);
    assert_eq!(reply, "Please tell me your name.");
    // Asked, the FAQ still answers.
    let mut chat = Chat::new(g);
    let reply = chat.text("how do you packet the saree?", en);
    assert!(reply.contains("zip packet"), "{reply}");
}

#[test]
fn where_to_deliver_said_while_ordering_is_part_of_the_order() {
    let mut chat = Chat::new(shop());
    let en = Language::En;
    chat.text("red cotton saree, do you have 2?", en);
    let reply = chat.text(
        "ok I'll take two. deliver to Lalmatia block E, house 9, flat 3A. Name Nabila Chowdhury",
        en,
    );
    assert!(reply.contains("mobile number"), "the phone is asked next: {reply}");
    chat.text("phone is 01552 789 013", en);
    let request = placed(chat.say("yes", en));
    assert_eq!((request.product_id, request.quantity), (id(RED), 2));
    assert_eq!(request.customer_name, "Nabila Chowdhury");
    assert_eq!(request.phone, "01552789013");
}

#[test]
fn after_a_name_and_phone_every_part_is_the_address() {
    let mut chat = Chat::new(shop());
    let bl = Language::Banglish;
    chat.text("red cotton saree 1ta nibo", bl);
    // "Kandirpar" is no known place, "sadar" and Cumilla are: the address
    // is everything after the phone.
    let summary = chat.text("Shirin Akter 01612345098, Kandirpar, Cumilla sadar", bl);
    assert!(summary.contains("Thikana: Kandirpar, Cumilla sadar"), "{summary}");
    assert!(summary.contains("Nam: Shirin Akter"), "{summary}");
}

#[test]
fn how_the_customer_pays_ends_the_address_and_is_no_name() {
    let mut chat = Chat::new(shop());
    let en = Language::En;
    let summary = chat.text(
        "I'd like to order 1 red cotton saree. Rafiq Ahmed, 01711987654, House 18, Road 2, Sector 3, Uttara, Dhaka. COD.",
        en,
    );
    assert!(summary.contains("Name: Rafiq Ahmed"), "{summary}");
    assert!(
        summary.contains("Address: House 18, Road 2, Sector 3, Uttara, Dhaka\n"),
        "{summary}"
    );
}

#[test]
fn a_size_with_its_size_word_is_no_count() {
    let mut g = shop();
    g.products.push(GroundedProduct {
        variants: vec![
            variant(501, "Size 28", "White", 0, Some(6)),
            variant(502, "Size 30", "White", 0, Some(4)),
        ],
        ..product(500, "SHOE-KEDS", "White Canvas Keds", Some("সাদা কেডস"), 75_000)
    });
    let mut chat = Chat::new(g);
    let bn = Language::Bn;
    let reply = chat.text("সাদা কেডস সাইজ ৩০ এক জোড়া দিন", bn);
    assert!(!reply.contains("অপশন") && !reply.contains("কয়টি"), "{reply}");
    chat.text("নাম করিম, ০১৮১২৩৪৫৬৭৮, বাসা ৫, রোড ৩, মিরপুর ১০, ঢাকা", bn);
    let request = placed(chat.say("হ্যাঁ", bn));
    assert_eq!((request.variant_id, request.quantity), (Some(id(502)), 1));
}

#[test]
fn a_new_size_mid_order_keeps_the_colour_already_chosen() {
    let mut chat = Chat::new(frock_shop());
    let bl = Language::Banglish;
    chat.text("cotton frock yellow 1-2 years nibo", bl);
    chat.text("Lubna, 01716224589, House 3, Road 1, Mohammadpur", bl);
    // "3-4 years" has Yellow and Sky Blue: the yellow one is meant.
    let summary = chat.text("na wait, 3-4 years er tai den", bl);
    assert!(summary.contains("3-4 years / Yellow"), "{summary}");
    let request = placed(chat.say("ha", bl));
    assert_eq!(request.variant_id, Some(id(402)));
}

#[test]
fn a_count_for_an_earlier_item_changes_that_item() {
    let mut chat = Chat::new(shop());
    let en = Language::En;
    chat.text("I need 2 red cotton saree and 1 block print kurti", en);
    chat.text("sorry, make it just 1 saree", en);
    chat.text("Karim Ahmed, 01812345678, House 5, Road 3, Mirpur 10, Dhaka", en);
    let request = placed(chat.say("yes", en));
    let mut counts: Vec<(Uuid, i32)> = request.items().iter().map(|i| (i.product_id, i.quantity)).collect();
    counts.sort();
    assert_eq!(counts, [(id(RED), 1), (id(KURTI), 1)]);
}

#[test]
fn the_sold_out_option_taken_back_for_another_is_the_other() {
    let mut chat = Chat::new(shop());
    let bl = Language::Banglish;
    chat.text("cotton panjabi L size ache?", bl);
    // L is sold out; "L nai? tahole M ta" names both: M is meant.
    let reply = chat.text("oh L nai? tahole M ta din", bl);
    assert_eq!(reply, "Apnar nam ta bolben?");
    chat.text("Karim, 01812345678, House 5, Road 3, Mirpur 10, Dhaka", bl);
    let request = placed(chat.say("ha", bl));
    assert_eq!(request.variant_id, Some(id(31)));
}

/// A home-decor shop: a measure in an option's size, two bed sheets that
/// share words, and a made-to-order FAQ.
fn decor_shop() -> Grounding {
    let mut g = shop();
    g.products.push(GroundedProduct {
        variants: vec![
            variant(601, "16x16 inch", "Mustard", 0, Some(6)),
            variant(602, "18x18 inch", "Teal", 15_000, Some(3)),
        ],
        ..product(600, "CUSHION-EMB", "Embroidered Cushion Cover Set", None, 99_000)
    });
    g.products.push(GroundedProduct {
        variants: vec![
            variant(611, "King", "Blue Floral", 0, Some(5)),
            variant(612, "Single", "Blue Floral", -40_000, Some(5)),
        ],
        ..product(
            610,
            "SHEET-PRINT",
            "Cotton Printed Bed Sheet",
            Some("সুতি প্রিন্টেড বেডশিট"),
            145_000,
        )
    });
    g.products.push(GroundedProduct {
        variants: vec![variant(621, "King", "White", 0, Some(5))],
        ..product(
            620,
            "SHEET-SATIN",
            "Satin Stripe Bed Sheet",
            Some("সাটিন স্ট্রাইপ বেডশিট"),
            245_000,
        )
    });
    g.faq.push(FaqEntry {
        id: id(320),
        patterns: vec!["banate koto din".to_owned(), "ring".to_owned()],
        answer: "Made-to-order items take 7 to 10 days to make.".to_owned(),
    });
    g
}

#[test]
fn a_measure_in_an_option_is_no_count() {
    let mut chat = Chat::new(decor_shop());
    let en = Language::En;
    // "16x16" names the option; "18x18 teal" picks the other.
    let summary = chat.text(
        "1 cotton printed bed sheet, King, Blue Floral + 1 embroidered cushion cover set 16x16 mustard. Shirin Sultana, 01712340987, House 5, Road 12, Banani",
        en,
    );
    assert!(!summary.contains("Quantity: 16"), "{summary}");
    // "King" and "Blue Floral" are options, not the customer's name.
    assert!(summary.contains("Name: Shirin Sultana"), "{summary}");
    let request = placed(chat.say("yes", en));
    assert_eq!(options_ordered(&request), [(Some(id(601)), 1), (Some(id(611)), 1)]);
    let mut chat = Chat::new(decor_shop());
    chat.text("embroidered cushion cover 18x18 teal 1 set", en);
    chat.text("Karim Ahmed, 01812345678, House 5, Road 3, Mirpur 10, Dhaka", en);
    let request = placed(chat.say("yes", en));
    assert_eq!(options_ordered(&request), [(Some(id(602)), 1)]);
}

#[test]
fn of_two_products_named_alike_the_one_with_the_option_named() {
    let mut chat = Chat::new(decor_shop());
    let bn = Language::Bn;
    // "বেডশিট" fits both sheets; only one has Single / Blue Floral.
    let reply = chat.text("সিঙ্গেল বেডশিট ব্লু ফ্লোরাল ২টা", bn);
    assert!(!reply.contains("কোনটির"), "no question which one: {reply}");
    chat.text("মারুফ, ০১৭৯২৩৪৫৬৭৮, বাসা ১১৭, কলেজ গেট, মিরপুর", bn);
    let request = placed(chat.say("কনফার্ম", bn));
    assert_eq!((request.variant_id, request.quantity), (Some(id(612)), 2));
}

#[test]
fn an_faq_asked_mid_order_is_answered_and_an_faq_word_in_an_address_is_not() {
    let mut chat = Chat::new(decor_shop());
    let bl = Language::Banglish;
    chat.text("satin stripe bed sheet king white nibo", bl);
    let reply = chat.text("banate koto din lagbe?", bl);
    assert!(reply.starts_with("Made-to-order items take 7 to 10 days"), "{reply}");
    let summary = chat.text(
        "thik ache. Lubna, 01634567821, Shyamoli ring road, house 27, Mohammadpur",
        bl,
    );
    assert!(!summary.contains("Made-to-order"), "{summary}");
    assert!(
        summary.contains("Thikana: Shyamoli ring road, house 27, Mohammadpur"),
        "{summary}"
    );
}

#[test]
fn a_size_number_in_a_several_item_order_is_no_count() {
    let mut g = shop();
    g.products.push(GroundedProduct {
        variants: vec![
            variant(701, "41", "Brown", 0, Some(2)),
            variant(702, "42", "Brown", 0, Some(2)),
        ],
        ..product(700, "BOOT-CHELSEA", "Leather Chelsea Boot", None, 445_000)
    });
    let mut chat = Chat::new(g);
    let en = Language::En;
    chat.text("need the chelsea boot brown 41 for me and 2 block print kurti", en);
    chat.text("Arnob Saha, 01819402713, House 22, Road 3, Mirpur 10, Dhaka", en);
    let request = placed(chat.say("yes", en));
    let mut counts: Vec<(Uuid, i32)> = request.items().iter().map(|i| (i.product_id, i.quantity)).collect();
    counts.sort();
    assert_eq!(counts, [(id(KURTI), 2), (id(700), 1)]);
}

/// A shop that sells ghee by weight.
fn ghee_shop() -> Grounding {
    let mut g = shop();
    g.products.push(GroundedProduct {
        variants: vec![
            variant(801, "500g", "", 0, Some(15)),
            variant(802, "1kg", "", 65_000, Some(6)),
        ],
        tags: vec!["ghee".to_owned(), "ঘি".to_owned()],
        ..product(800, "GHEE-COW", "Pure Cow Ghee", Some("খাঁটি গাওয়া ঘি"), 70_000)
    });
    g
}

#[test]
fn a_weight_is_no_village_and_two_weights_are_two_items() {
    let mut chat = Chat::new(ghee_shop());
    let bn = Language::Bn;
    // "গ্রাম" after a number is grams, not a village of an address.
    chat.text("ঘি ৫০০ গ্রাম ২টা আর ১ কেজি ১টা নিব", bn);
    let summary = chat.text("নাম মাহমুদ, ০১৯৩৩৪৪৫৫৬৬, বাসা ৫, রোড ২, মিরপুর ১০", bn);
    assert!(summary.contains("ঠিকানা: বাসা ৫, রোড ২, মিরপুর ১০"), "{summary}");
    let request = placed(chat.say("জি কনফার্ম", bn));
    assert_eq!(options_ordered(&request), [(Some(id(801)), 2), (Some(id(802)), 1)]);
}

#[test]
fn just_one_and_both_are_counts() {
    let bn = Language::Bn;
    let mut chat = Chat::new(ghee_shop());
    chat.text("ঘি ৫০০ গ্রাম ২টা দিয়েন", bn);
    // "একটাই": just one; "হাউজ ৫" is the house of the address.
    chat.text("না থাক, ১ কেজিরটা একটাই দিন", bn);
    let summary = chat.text("০১৭১২৩৩৪৪৫৫, ফারজানা, হাউজ ৫, রোড ১০, সেক্টর ১২, উত্তরা", bn);
    assert!(summary.contains("ঠিকানা: হাউজ ৫, রোড ১০, সেক্টর ১২, উত্তরা"), "{summary}");
    let request = placed(chat.say("জি", bn));
    assert_eq!(options_ordered(&request), [(Some(id(802)), 1)]);
    // "duitai" after two products: one of each, not two of the last.
    let bl = Language::Banglish;
    let mut chat = Chat::new(shop());
    chat.text("apu red cotton saree ar block print kurti duitai lagbe", bl);
    chat.text("Anika, 01723456789, House 5, Road 3, Mirpur 10, Dhaka", bl);
    let request = placed(chat.say("ha", bl));
    let mut counts: Vec<(Uuid, i32)> = request.items().iter().map(|i| (i.product_id, i.quantity)).collect();
    counts.sort();
    assert_eq!(counts, [(id(RED), 1), (id(KURTI), 1)]);
}

#[test]
fn introduced_names_and_options_picked_before_one_more_product() {
    let en = Language::En;
    let mut chat = Chat::new(shop());
    chat.text("I want the red cotton saree", en);
    let reply = chat.text(
        "Deliver to House 7, Road 27, Gulshan 1. I'm Farzana Haque, 01712340987",
        en,
    );
    assert!(reply.contains("Name: Farzana Haque"), "{reply}");
    // "I am interested" names nobody.
    let mut chat = Chat::new(shop());
    chat.text("I am interested in the red cotton saree, 1 please", en);
    let reply = chat.text("House 7, Road 27, Gulshan 1, 01712340987", en);
    assert!(reply.contains("name"), "the name is asked: {reply}");
    // "black then. and one kurti too": the option completes the panjabi.
    let mut chat = Chat::new(shop());
    chat.text("I want the cotton panjabi", en);
    chat.text("XL black then. and one block print kurti too", en);
    chat.text("Karim Ahmed, 01812345678, House 5, Road 3, Mirpur 10, Dhaka", en);
    let request = placed(chat.say("yes", en));
    let mut items: Vec<(Uuid, Option<Uuid>)> = request.items().iter().map(|i| (i.product_id, i.variant_id)).collect();
    items.sort();
    assert_eq!(items, [(id(PANJABI), Some(id(XL_BLACK))), (id(KURTI), None)]);
}

#[test]
fn ranking_puts_the_product_named_first() {
    let products: Vec<GroundedProduct> = (0..30)
        .map(|n| {
            product(
                900 + n,
                &format!("PLAIN-{n}"),
                &format!("Plain Cotton Item {n}"),
                None,
                100,
            )
        })
        .collect();
    let keys: Vec<MatchKeys> = products.iter().map(match_keys).collect();
    // Past the first pass's width too: item 25 of 30 is found by its number.
    for (text, wanted) in [("plain cotton item 7 ache?", 7), ("plain cotton item 25 er dam?", 25)] {
        let ranked = rank_products(&products, &keys, text);
        assert_eq!(ranked[0], wanted, "{text}: {ranked:?}");
        assert_eq!(ranked.len(), 30);
    }
    // A misspelt Bangla name written in Latin letters still ranks first.
    let mut products = products;
    products.push(product(950, "KANTHA", "Nakshi Kantha Bed Cover", Some("নকশি কাঁথা"), 100));
    let keys: Vec<MatchKeys> = products.iter().map(match_keys).collect();
    let ranked = rank_products(&products, &keys, "nokshi katha ache?");
    assert_eq!(ranked[0], 30, "{ranked:?}");
}

#[test]
fn delivery_abroad_goes_to_the_owner_and_a_place_in_a_product_name_does_not() {
    let mut g = shop();
    g.products.push(GroundedProduct {
        tags: vec!["saudi khejur".to_owned(), "dates".to_owned()],
        ..product(990, "DATES-AJWA", "Ajwa Dates", None, 120_000)
    });
    for text in [
        "apu ami dubai theke order korte chai, dubai te pathate parben?",
        "Do you deliver to London? whats the charge",
        "সৌদি আরবে ডেলিভারি দেন?",
    ] {
        let reason = needs_owner(&g, text, Language::Banglish);
        assert!(reason.contains("abroad"), "{text}: {reason}");
    }
    // "saudi khejur" names the dates: the delivery charges are answered.
    let reply = Chat::new(g).text("saudi khejur delivery charge koto?", Language::Banglish);
    assert!(reply.contains("৳60"), "{reply}");
}

/// A stationery shop: sizes that differ by one word ("A4 300 pages"), and
/// a pen box whose "pen" starts "pencil".
fn stationery_shop() -> Grounding {
    let mut g = shop();
    g.products.push(GroundedProduct {
        variants: vec![
            variant(901, "A5 200 pages", "", 0, Some(40)),
            variant(902, "A4 300 pages", "", 9_000, Some(15)),
        ],
        tags: vec!["khata".to_owned(), "notebook".to_owned(), "খাতা".to_owned()],
        ..product(
            900,
            "NOTEBOOK-SPIRAL",
            "Spiral Notebook (Ruled)",
            Some("স্পাইরাল খাতা"),
            12_000,
        )
    });
    g.products.push(GroundedProduct {
        variants: vec![
            variant(911, "12 colours", "", 0, Some(20)),
            variant(912, "24 colours", "", 25_000, Some(6)),
        ],
        tags: vec!["colour pencil".to_owned(), "rong pencil".to_owned()],
        ..product(910, "COLOUR-PENCIL", "Faber-Castell Colour Pencils", None, 28_000)
    });
    g.products.push(GroundedProduct {
        tags: vec!["pen".to_owned(), "ball pen".to_owned()],
        ..product(920, "PEN-BALL-BOX", "Matador Ball Pen Box (20 pcs)", None, 14_000)
    });
    g.products.push(GroundedProduct {
        tags: vec!["geometry box".to_owned(), "জ্যামিতি বক্স".to_owned()],
        ..product(940, "GEOMETRY-BOX", "Faber-Castell Geometry Box", None, 28_000)
    });
    g
}

#[test]
fn a_size_is_named_by_the_word_that_sets_it_apart() {
    let bl = Language::Banglish;
    let mut chat = Chat::new(stationery_shop());
    // "A4" names "A4 300 pages"; "2ta" is the count.
    chat.text("A4 khata 2ta diben", bl);
    let summary = chat.text("Tasnim, 01987654321, House 4, Road 2, Mirpur 10, Dhaka", bl);
    assert!(summary.contains("A4 300 pages"), "{summary}");
    assert!(summary.contains("Quantity: 2"), "{summary}");
    // "12 color" names "12 colours": a size, not twelve tins; and "pencil"
    // is not the "pen" of the pen box.
    let mut chat = Chat::new(stationery_shop());
    chat.text("12 color er rong pencil ta chai", bl);
    let summary = chat.text("Rima Akter 01676543210, House 9, Road 3, Dhanmondi, Dhaka", bl);
    assert!(summary.contains("Faber-Castell Colour Pencils"), "{summary}");
    assert!(summary.contains("12 colours"), "{summary}");
    assert!(summary.contains("Quantity: 1"), "{summary}");
}

#[test]
fn rose_gold_is_not_gold_in_either_script() {
    let mut g = shop();
    g.products.push(GroundedProduct {
        variants: vec![
            variant(931, "", "Rose Gold", 0, Some(4)),
            variant(932, "", "Silver", 0, Some(3)),
            variant(933, "", "Gold", 0, Some(0)),
        ],
        tags: vec!["watch".to_owned(), "ঘড়ি".to_owned()],
        ..product(
            930,
            "WATCH-LADIES-CHAIN",
            "Ladies Chain Watch",
            Some("লেডিস চেইন ঘড়ি"),
            159_000,
        )
    });
    for (first, second, lang) in [
        (
            "ladies chain watch silver ekta nibo",
            "na thak, rose gold ta den",
            Language::Banglish,
        ),
        (
            "লেডিস চেইন ঘড়ি সিলভার কালার একটা নিব",
            "না থাক, রোজ গোল্ড টাই দেন",
            Language::Bn,
        ),
    ] {
        let mut chat = Chat::new(g.clone());
        chat.text(first, lang);
        let reply = chat.text(second, lang);
        // Gold is sold out; rose gold is not, and no option is asked again.
        assert!(!reply.contains("Gold:"), "{reply}");
        let summary = chat.text("Moumita Das, 01798765432, House 7, Road 2, Dhanmondi, Dhaka", lang);
        assert!(summary.contains("Rose Gold"), "{summary}");
    }
}

#[test]
fn a_large_number_before_product_words_is_wholesale() {
    let g = stationery_shop();
    let reason = needs_owner(
        &g,
        "Hi, I need 60 geometry boxes and 60 notebooks for our school's prize giving. Can you give a school rate?",
        Language::En,
    );
    assert!(reason.contains("wholesale"), "{reason}");
    // A small count before a product word is an ordinary order.
    let mut chat = Chat::new(g);
    let reply = chat.text("2 notebook A4 please", Language::En);
    assert!(!reply.contains("Someone from"), "{reply}");
}

#[test]
fn a_product_word_in_a_confirmation_does_not_switch_the_order() {
    let mut g = stationery_shop();
    g.products.push(GroundedProduct {
        variants: vec![variant(951, "", "Brown", 0, None), variant(952, "", "Black", 0, None)],
        tags: vec!["diary".to_owned(), "cover".to_owned()],
        ..product(950, "DIARY-LEATHER", "Leather Cover Diary", None, 65_000)
    });
    let en = Language::En;
    let mut chat = Chat::new(g);
    chat.text(
        "Please send 1 geometry box to Tanvir Hasan, 01711987654, House 9, Road 2, Dhanmondi, Dhaka",
        en,
    );
    let request = placed(chat.say("no need for the cover, please confirm the order", en));
    let products: Vec<Uuid> = request.items().iter().map(|i| i.product_id).collect();
    assert_eq!(products, [id(940)]);
}

#[test]
fn run_together_days_meet_an_faq_written_apart() {
    let bl = Language::Banglish;
    for question in ["koydin lagbe banate?", "বানাতে কয়দিন লাগবে?"] {
        let reply = Chat::new(decor_shop()).text(question, bl);
        assert!(
            reply.contains("Made-to-order items take 7 to 10 days"),
            "{question}: {reply}"
        );
    }
}

#[test]
fn an_faq_asked_after_the_read_back_is_answered_and_the_confirmation_asked_again() {
    let mut g = stationery_shop();
    g.faq.push(FaqEntry {
        id: id(960),
        patterns: vec!["plastic cover".to_owned(), "malat".to_owned()],
        answer: "We can put a clear plastic cover on any book for 20 taka per book.".to_owned(),
    });
    let en = Language::En;
    let mut chat = Chat::new(g);
    chat.text(
        "Please send 1 geometry box to Tanvir Hasan, 01711987654, House 9, Road 2, Dhanmondi, Dhaka",
        en,
    );
    let reply = chat.text("do you put a plastic cover on the books?", en);
    assert!(reply.starts_with("We can put a clear plastic cover"), "{reply}");
    assert!(reply.contains("YES"), "{reply}");
    placed(chat.say("yes", en));
}

/// A jewellery shop: two pins, stone studs, a kundan set and jhumkas.
fn jewellery_shop() -> Grounding {
    let mut g = shop();
    g.products.push(GroundedProduct {
        variants: vec![
            variant(1001, "Screw", "White Stone", 0, Some(12)),
            variant(1002, "Screw", "Red Stone", 0, Some(6)),
            variant(1003, "Clip-on", "White Stone", -15_000, Some(8)),
        ],
        tags: vec!["nose pin".to_owned(), "nakphul".to_owned(), "নাকফুল".to_owned()],
        ..product(
            1000,
            "NOSEPIN-SILVER",
            "925 Silver Nose Pin (Nakphul)",
            Some("৯২৫ রুপার নাকফুল"),
            55_000,
        )
    });
    g.products.push(GroundedProduct {
        variants: vec![
            variant(1011, "", "White Stone", 0, Some(5)),
            variant(1012, "", "Pink Stone", 0, Some(3)),
        ],
        tags: vec!["stud".to_owned(), "tops".to_owned()],
        ..product(
            1010,
            "STUD-SILVER",
            "925 Silver Stone Stud Earrings",
            Some("৯২৫ রুপার পাথরের টপ"),
            85_000,
        )
    });
    g.products.push(GroundedProduct {
        variants: vec![
            variant(1021, "", "Crystal", 0, Some(20)),
            variant(1022, "", "Pearl", 0, Some(15)),
        ],
        tags: vec!["hijab pin".to_owned(), "pin".to_owned(), "হিজাব পিন".to_owned()],
        ..product(
            1020,
            "HIJAB-PIN",
            "Hijab Pin Set (12 pcs)",
            Some("হিজাব পিন সেট (১২ পিস)"),
            25_000,
        )
    });
    g.products.push(GroundedProduct {
        variants: vec![
            variant(1031, "", "Pearl White", 0, Some(4)),
            variant(1032, "", "Ruby Red", 0, Some(3)),
        ],
        tags: vec![
            "kundan".to_owned(),
            "necklace".to_owned(),
            "কুন্দন".to_owned(),
            "নেকলেস".to_owned(),
        ],
        ..product(
            1030,
            "NECKLACE-KUNDAN",
            "Kundan Necklace Set with Earrings",
            Some("কুন্দন নেকলেস সেট (কানের দুলসহ)"),
            199_000,
        )
    });
    g.products.push(GroundedProduct {
        variants: vec![
            variant(1041, "", "Oxidised Silver", 0, Some(12)),
            variant(1042, "", "Antique Gold", 0, Some(0)),
        ],
        tags: vec!["jhumka".to_owned(), "ঝুমকা".to_owned()],
        ..product(
            1040,
            "JHUMKA-OXIDISED",
            "Oxidised Jhumka Earrings",
            Some("অক্সিডাইজড ঝুমকা কানের দুল"),
            45_000,
        )
    });
    g
}

#[test]
fn each_item_of_a_jewellery_order_keeps_its_own_options() {
    let en = Language::En;
    let mut chat = Chat::new(jewellery_shop());
    chat.text(
        "Hi, I'd like 1 silver nose pin, screw type with white stone, and 1 hijab pin set in crystal",
        en,
    );
    chat.text("Ishrat Jahan, 01556789012, House 12/A, Road 4, Dhanmondi, Dhaka", en);
    let request = placed(chat.say("confirm please", en));
    let mut items: Vec<(Uuid, Option<Uuid>, i32)> = request
        .items()
        .iter()
        .map(|i| (i.product_id, i.variant_id, i.quantity))
        .collect();
    items.sort();
    assert_eq!(items, [(id(1000), Some(id(1001)), 1), (id(1020), Some(id(1021)), 1)]);

    // A set named alike to others ("সেট") is the one with the option named.
    let bn = Language::Bn;
    let mut chat = Chat::new(jewellery_shop());
    chat.text("কুন্দন সেট পার্ল হোয়াইট ১টা আর অক্সিডাইজড ঝুমকা ১ জোড়া নিব", bn);
    chat.text("নাম রাবেয়া, ০১৫১২৩৪৫৬৭৮, বাসা ২৩, রোড ৪, ধানমন্ডি, ঢাকা", bn);
    let request = placed(chat.say("জি কনফার্ম", bn));
    let mut products: Vec<Uuid> = request.items().iter().map(|i| i.product_id).collect();
    products.sort();
    assert_eq!(products, [id(1030), id(1040)]);
}

#[test]
fn and_another_option_adds_the_same_product_again() {
    let bl = Language::Banglish;
    let mut chat = Chat::new(jewellery_shop());
    chat.text("hijab pin crystal 4ta diben", bl);
    chat.text("ar pearl 2ta", bl);
    chat.text("Rehana Parvin, 01911223355, House 5, Road 2, Dhanmondi, Dhaka", bl);
    let request = placed(chat.say("confirm", bl));
    let mut items: Vec<(Option<Uuid>, i32)> = request.items().iter().map(|i| (i.variant_id, i.quantity)).collect();
    items.sort();
    assert_eq!(items, [(Some(id(1021)), 4), (Some(id(1022)), 2)]);
    // Without the word that adds, a new option replaces the old one.
    let mut chat = Chat::new(jewellery_shop());
    chat.text("hijab pin crystal 4ta diben", bl);
    chat.text("na, pearl ta den", bl);
    chat.text("Rehana Parvin, 01911223355, House 5, Road 2, Dhanmondi, Dhaka", bl);
    let request = placed(chat.say("confirm", bl));
    let items: Vec<Option<Uuid>> = request.items().iter().map(|i| i.variant_id).collect();
    assert_eq!(items, [Some(id(1022))]);
}
