//! What a message asks for, from keywords in English, Bangla and Banglish.
//!
//! Keywords are written in natural spelling and folded like messages, so
//! "achhe" and "ache", "শাড়ী" and "শাড়ি" need one entry. A trailing `*`
//! on a word also accepts longer words starting with it, for Bangla suffixes
//! ("দামটা") and English inflections ("delivered").
//!
//! Phrases are matched in table order and a token used by one phrase is not
//! used again, so "cash on delivery" is a payment question and not a
//! delivery one, and the "koto" of "koto din" (how many days) is not a price
//! question.

use std::sync::LazyLock;

use super::text::{Script, Token, folded_words, tokenize};

/// One thing a message can ask for or say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Intent {
    /// About an order already placed ("where is my parcel"): only the owner knows.
    OrderStatus,
    /// Wants a person.
    Human,
    /// "delivery address": a field marker, not a delivery question.
    AddressMarker,
    /// Where the shop is: its address or location.
    Location,
    /// "Which is cheaper, X or Y?", "X ar Y er parthokko ki?".
    Comparison,
    /// Bargaining or asking for a discount: only the owner sets prices.
    Discount,
    Payment,
    Catalog,
    Delivery,
    Hours,
    Returns,
    Cancel,
    No,
    /// "order", "nibo", "কিনব": the customer wants to buy.
    Order,
    /// "I want", "chai", "লাগবে": wanting to buy, or wanting to know something.
    OrderWeak,
    Price,
    Variants,
    Stock,
    Salam,
    Greeting,
    Thanks,
    Bye,
    Yes,
    Ack,
    /// "koto" / "কত" / "how much": a price question only when nothing else was asked.
    PriceWeak,
    /// "ache" / "আছে": an availability question only when nothing else was asked.
    StockWeak,
}

impl Intent {
    /// The name shown on the owner's playground page.
    pub(super) fn name(self) -> &'static str {
        match self {
            Intent::OrderStatus => "order status",
            Intent::Human => "wants a person",
            Intent::AddressMarker => "address",
            Intent::Location => "shop address",
            Intent::Comparison => "comparison",
            Intent::Discount => "discount",
            Intent::Payment => "payment",
            Intent::Catalog => "catalog",
            Intent::Delivery => "delivery",
            Intent::Hours => "opening hours",
            Intent::Returns => "returns",
            Intent::Cancel => "cancel",
            Intent::No => "no",
            Intent::Order => "order",
            Intent::OrderWeak => "order (weak)",
            Intent::Price => "price",
            Intent::Variants => "sizes/colours",
            Intent::Stock => "availability",
            Intent::Salam => "salam",
            Intent::Greeting => "greeting",
            Intent::Thanks => "thanks",
            Intent::Bye => "bye",
            Intent::Yes => "yes",
            Intent::Ack => "ok",
            Intent::PriceWeak => "price (weak)",
            Intent::StockWeak => "availability (weak)",
        }
    }

    /// Questions the engine answers from the owner's data.
    pub(super) fn is_question(self) -> bool {
        matches!(
            self,
            Intent::Payment
                | Intent::Location
                | Intent::Comparison
                | Intent::Catalog
                | Intent::Delivery
                | Intent::Hours
                | Intent::Returns
                | Intent::Price
                | Intent::Variants
                | Intent::Stock
        )
    }

    /// Words that carry no question or field: greetings, thanks, "ok".
    pub(super) fn is_small_talk(self) -> bool {
        matches!(
            self,
            Intent::Salam | Intent::Greeting | Intent::Thanks | Intent::Bye | Intent::Ack | Intent::Yes
        )
    }
}

/// Keyword phrases per intent, in matching order (see the module docs).
const TABLE: &[(Intent, &[&str])] = &[
    (
        Intent::OrderStatus,
        &[
            "order status",
            "where is my order",
            "where is my parcel",
            "order kothay",
            "order kothai",
            "parcel kothay",
            "parcel kothai",
            "amar parcel",
            "tracking",
            "track*",
            "consignment",
            "অর্ডার কোথায়",
            "পার্সেল কোথায়",
            "আমার পার্সেল",
            "অর্ডারের কি অবস্থা",
            "order er ki obostha",
            "ordered",
            "order korsilam",
            "order korsi",
            "order kobe pabo",
            "order ta kobe",
            "amar order kobe",
            "kobe ashbe",
            "kobe asbe",
            "kokhon ashbe",
            "kokhon asbe",
            "আমার অর্ডার কবে",
            "অর্ডার কবে পাব*",
            "কখন আসবে",
            "কবে আসবে",
            "অর্ডার নম্বর",
            "order number",
            "order no",
            "order korechilam",
            "order korechi",
            "order dilam",
            "order disi",
            "order diyechi",
            "অর্ডার করেছি",
            "অর্ডার করেছিলাম",
            "অর্ডার দিয়েছি",
            "অর্ডার দিলাম",
        ],
    ),
    (
        Intent::Human,
        &[
            "human",
            "real person",
            "talk to owner",
            "talk to a person",
            "manush",
            "manuser sathe",
            "মানুষ*",
            "মালিকের সাথে",
        ],
    ),
    (
        Intent::AddressMarker,
        &[
            "delivery address",
            "shipping address",
            "delivery thikana",
            "delivery er thikana",
            "ডেলিভারি ঠিকানা",
            "ডেলিভারির ঠিকানা",
        ],
    ),
    (
        Intent::Location,
        &[
            "shop address",
            "store address",
            "office address",
            "your address",
            "apnader address",
            "apnar address",
            "apnader thikana",
            "address ki",
            "address koi",
            "address kothay",
            "address ta ki",
            "address den",
            "address din",
            "address please",
            "where is your shop",
            "where is the shop",
            "where is your store",
            "where is your office",
            "where are you located",
            "where are you",
            "your location",
            "location",
            "physical shop",
            "physical store",
            "showroom",
            "outlet",
            "shop kothay",
            "shop kothai",
            "dokan kothay",
            "dokan kothai",
            "office kothay",
            "office kothai",
            "apnara kothay",
            "apnader shop",
            "apnader dokan",
            "apnader office",
            "eshe nite",
            "ese nite",
            "giye nite",
            "আপনাদের ঠিকানা",
            "আপনার ঠিকানা",
            "শপের ঠিকানা",
            "দোকানের ঠিকানা",
            "ঠিকানা কী",
            "ঠিকানা কি",
            "ঠিকানা কোথায়",
            "দোকান কোথায়",
            "দোকানটা কোথায়",
            "শপ কোথায়",
            "অফিস কোথায়",
            "আপনারা কোথায়",
            "আপনাদের দোকান",
            "আপনাদের শপ",
            "আপনাদের অফিস",
            "লোকেশন*",
            "শোরুম*",
            "এসে নিতে",
            "গিয়ে নিতে",
            "niye ashte",
            "niye jete",
            "nite ashbo",
            "pick up",
            "pickup",
            "kitchen kothay",
            "apnader kitchen",
            "নিতে আসব",
            "নিয়ে আসতে",
            "which floor",
            "what floor",
            "kon floor",
            "kon flor",
            "koto tola",
            "koto tolay",
            "kon tola",
            "kon tolay",
            "কোন ফ্লোর",
            "কত তলা",
            "কত তলায়",
            "কোন তলা",
            "কোন তলায়",
        ],
    ),
    (
        Intent::Discount,
        &[
            "discount*",
            "coupon*",
            "promo*",
            "voucher*",
            "offer ache",
            "offer ase",
            "any offer",
            "kono offer",
            "offer price",
            "kom hobe",
            "kom hoy",
            "kom hoi",
            "kom koren",
            "kom korben",
            "kom korle",
            "kom rakhen",
            "kom den",
            "kom din",
            "ektu kom",
            "kichu kom",
            "komano",
            "komano jay",
            "komaben",
            "komate",
            "komano jabe",
            "last price",
            "final price",
            "fixed price",
            "best price",
            "lowest price",
            "less price",
            "bargain*",
            "ছাড়",
            "ছাড় আছে",
            "ডিসকাউন্ট*",
            "অফার*",
            "কম হবে",
            "কম হয়",
            "কম করেন",
            "কম করা",
            "কম রাখেন",
            "কম দেন",
            "একটু কম",
            "কিছু কম",
            "কমানো*",
            "কমাবেন",
            "কমানো যায়",
            "লাস্ট প্রাইস",
            "ফিক্সড প্রাইস",
            "শেষ দাম",
            "free korben",
            "free kore",
            "free diben",
            "free den",
            "ফ্রি করবেন",
            "ফ্রি দিবেন",
            "sesh dam",
            // Wholesale prices are the owner's too.
            "wholesale",
            "paikari",
            "paykari",
            "pikari",
            "পাইকারি",
            "পাইকারী",
            "reseller*",
            "রিসেলার*",
            "bulk order",
            "bulk price",
        ],
    ),
    (
        Intent::Comparison,
        &[
            "difference*",
            "different",
            "compare*",
            "comparison",
            "vs",
            "versus",
            "which is better",
            "which one is better",
            "which is cheaper",
            "which one is cheaper",
            "which is best",
            "which is more",
            "better",
            "cheaper",
            "cheapest",
            "parthokko",
            "parthakko",
            "partokko",
            "parthokyo",
            "tofat",
            "tofaat",
            "kon ta valo",
            "konta valo",
            "kontar valo",
            "kon ta beshi valo",
            "konta beshi valo",
            "konta sosta",
            "kon ta sosta",
            "kom dam konta",
            "পার্থক্য*",
            "তফাত*",
            "তফাৎ*",
            "কোনটা ভালো",
            "কোনটা ভাল",
            "কোনটি ভালো",
            "কোনটা বেশি ভালো",
            "কোনটা সস্তা",
            "কোনটার দাম কম",
            "তুলনা*",
        ],
    ),
    (
        Intent::Payment,
        &[
            "cash on delivery",
            "cash on",
            "ক্যাশ অন ডেলিভারি",
            "payment*",
            "pay",
            "paying",
            "bkash",
            "bikash",
            "b kash",
            "nagad",
            "nogod",
            "rocket",
            "roket",
            "cod",
            "card",
            "bank transfer",
            "bank account",
            "bank deposit",
            "bank e",
            "পেমেন্ট*",
            "বিকাশ*",
            "নগদ*",
            "রকেট*",
            "কার্ড*",
            "ব্যাংক ট্রান্সফার",
            "ব্যাংক একাউন্ট",
            "ব্যাংকে",
            "taka kivabe",
            "kivabe taka",
            "টাকা কিভাবে",
            "কিভাবে টাকা",
        ],
    ),
    (
        Intent::Catalog,
        &[
            "what do you sell",
            "what do you have",
            "what you have",
            "what products",
            "which products",
            "what items",
            "what else do you",
            "what else you",
            "what other",
            "apart from",
            "other than",
            "ar ki ki",
            "আর কি কি",
            "আর কী কী",
            "products",
            "product list",
            "catalog*",
            "collection*",
            "ki ki ache",
            "ki ki ase",
            "ki ki achhe",
            "ki ki pawa jay",
            "ki ki paowa jay",
            "ki ki product",
            "ki ki paben",
            "কি কি আছে",
            "কী কী আছে",
            "কি কি পাওয়া যায়",
            "কী কী পাওয়া যায়",
            "পণ্য*",
            "প্রোডাক্ট*",
            "কালেকশন*",
        ],
    ),
    (
        Intent::Delivery,
        &[
            "koto din*",
            "kotodin",
            "koy din*",
            "koydin",
            "koi din*",
            "koidin",
            "kobe pabo",
            "kobe paben",
            "kobe hate pabo",
            "hate pabo",
            "hate pete",
            "kobe ashbe",
            "kobe asbe",
            "kobe aste",
            "kobe pouchabe",
            "when will it reach",
            "will it reach",
            "reach by",
            "reach me",
            "when will it come",
            "will it come",
            "when will i receive",
            "when can i get",
            "when do i get",
            "when will i have",
            "কবে আসবে",
            "কবে পৌঁছাবে",
            "হাতে পাব*",
            "how long",
            "how fast",
            "how soon",
            "when will it arrive",
            "when will i get",
            "how many days",
            "deliver*",
            "shipping",
            "ship",
            "courier",
            "charge",
            "sundarban",
            "pathao",
            "কত দিন*",
            "কতদিন",
            "কয় দিন*",
            "কয়দিন",
            "কবে পাব*",
            "ডেলিভারি*",
            "চার্জ*",
            "কুরিয়ার*",
            "পৌঁছা*",
            "pouchabe",
            "pathaben",
            "pathate parben",
            "pathaite parben",
            "pathaite",
            "pathate",
            "পাঠাতে",
            "পাঠাইতে",
            "pathano jabe",
            "পাঠাবেন",
            "পাঠাতে পারবেন",
            "পাঠানো যাবে",
            "send to",
            "send it to",
            "pouchay",
            "pouchaben",
            "ডেলিভারি দেন",
            "delivery den",
        ],
    ),
    (
        Intent::Hours,
        &[
            // A day of the week asks when the shop is open.
            "saturday",
            "sunday",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "shonibar",
            "sonibar",
            "robibar",
            "sombar",
            "shombar",
            "mongolbar",
            "budhbar",
            "brihospotibar",
            "bisudbar",
            "shukrobar",
            "sukrobar",
            "শনিবার",
            "রবিবার",
            "সোমবার",
            "মঙ্গলবার",
            "বুধবার",
            "বৃহস্পতিবার",
            "শুক্রবার",
            "opening hours",
            "open hours",
            "are you open",
            "open on",
            "what time",
            "which time",
            "till when",
            "until when",
            "until what time",
            "till what time",
            "koyta porjonto",
            "koyta theke",
            "koytay",
            "koitay",
            "koyta te",
            "kokhon khule",
            "kokhon kholen",
            "kokhon bondho hoy",
            "কয়টায়",
            "কয়টা পর্যন্ত",
            "কয়টা থেকে",
            "কখন খোলে",
            "কখন খুলবে",
            "কখন বন্ধ",
            "খোলে",
            "খোলেন",
            "open today",
            "open now",
            "open tomorrow",
            "you open",
            "when are you open",
            "open thake",
            "opening",
            "hours",
            "closing",
            "timing",
            "office time",
            "shop time",
            "kokhon khola",
            "khola thake",
            "kokhon open",
            "kokhon bondho",
            "খোলা*",
            "বন্ধ*",
            "সময়সূচি",
        ],
    ),
    (
        Intent::Returns,
        &[
            "return*",
            "exchange*",
            "replace*",
            "replacement",
            "রিপ্লেস*",
            "রিপ্লেসমেন্ট",
            "ferot",
            "ferot dewa",
            "change kora jabe",
            "change korte",
            "change kore",
            "change kora",
            "can i change",
            "change it",
            "send it back",
            "send back",
            "give it back",
            "take it back",
            "money back",
            "change my mind",
            "doesnt fit",
            "doesn't fit",
            "does not fit",
            "dont fit",
            "don't fit",
            "fit na hole",
            "fit na hoy",
            "paye na hole",
            "paye na hoy",
            "mape na hole",
            "size na mille",
            "size na hole",
            "bodlano",
            "bodle*",
            "bodol*",
            "bodla*",
            "ferat",
            "firot",
            "feret",
            "পাল্টা*",
            "ফিট না হলে",
            "মাপে না হলে",
            "পায়ে না হলে",
            "সাইজ না হলে",
            "রিটার্ন*",
            "ফেরত*",
            "এক্সচেঞ্জ*",
            "বদল*",
            "পরিবর্তন*",
        ],
    ),
    (
        Intent::Cancel,
        &[
            "cancel*",
            "dont want",
            "don't want",
            "do not want",
            "batil",
            "বাতিল*",
            "ক্যান্সেল*",
            "ক্যানসেল*",
        ],
    ),
    (
        Intent::No,
        &[
            "lagbe na",
            "chai na",
            "nibo na",
            "nebo na",
            "লাগবে না",
            "চাই না",
            "নিব না",
            "নেব না",
            "no",
            "nope",
            "nah",
            "na",
            "naa",
            "না",
            "নাহ",
        ],
    ),
    (
        Intent::Order,
        &[
            "ekta din",
            "ekta den",
            "ekta dien",
            "একটা দিন",
            "একটা দেন",
            "একটা দিবেন",
            "pathiye din",
            "pathiye den",
            "pathiye diben",
            "pathaben",
            "pathan",
            "ta din",
            "ta den",
            "ta dien",
            "ta diben",
            "ti din",
            "পাঠিয়ে দিন",
            "পাঠিয়ে দিবেন",
            "পাঠাবেন",
            "টা দিন",
            "টা দেন",
            "টা দিবেন",
            "টি দিন",
            "send me",
            "order*",
            "buy",
            "buying",
            "purchase",
            "i'll take",
            "ill take",
            "i will take",
            "nibo",
            "nebo",
            "nite chai",
            "kinbo",
            "kinte chai",
            "kinmu",
            "অর্ডার*",
            // "I'll take"; "নিবেন" (will you take) asks a price instead.
            "নিব",
            "নিবো",
            "নিমু",
            "নেব",
            "নেবো",
            "কিনব*",
            "কিনতে",
        ],
    ),
    (
        Intent::OrderWeak,
        &[
            "i want",
            "i need",
            "need",
            "want",
            "i would like",
            "i d like",
            "id like",
            "i ll take",
            "i will take",
            "lagbe",
            "chai",
            "চাই",
            "লাগবে",
        ],
    ),
    (
        Intent::Price,
        &[
            "price*",
            "cost*",
            "rate",
            "dam",
            "daam",
            "koto taka",
            "how much is",
            "how much does",
            "দাম*",
            "মূল্য*",
            "কত টাকা",
        ],
    ),
    (
        Intent::Variants,
        &[
            "how big",
            "how large",
            "koto boro",
            "কত বড়",
            "size*",
            "colour*",
            "color*",
            "variant*",
            "rong",
            "rang",
            "kalar",
            "সাইজ*",
            "কালার*",
            "রং*",
            "রঙ*",
            "মাপ*",
        ],
    ),
    (
        Intent::Stock,
        &[
            "stock*",
            "in stock",
            "availabl*",
            "avail",
            "paowa jabe",
            "pawa jabe",
            "paoa jabe",
            "স্টক*",
            "পাওয়া যাবে",
        ],
    ),
    (
        Intent::Salam,
        &[
            "assalamu alaikum",
            "assalamualaikum",
            "asalamualaikum",
            "assalamu alaykum",
            "salamualaikum",
            "salam",
            "slm",
            "aslm",
            "আসসালামু আলাইকুম",
            "আসসালামুআলাইকুম",
            "আস্সালামু আলাইকুম",
            "সালাম",
        ],
    ),
    (
        Intent::Greeting,
        &[
            "hi",
            "hello",
            "hey",
            "helo",
            "hlw",
            "hlo",
            "hii",
            "good morning",
            "good evening",
            "good afternoon",
            "good night",
            "adab",
            "shuvo sokal",
            "shubho sokal",
            "shuvo shokal",
            "shuvo sondha",
            "shuvo shondha",
            "হ্যালো",
            "হাই",
            "আদাব",
            "নমস্কার",
            "শুভ সকাল",
            "শুভ সন্ধ্যা",
            "শুভ দুপুর",
            "শুভ রাত্রি",
            "শুভ অপরাহ্ন",
        ],
    ),
    (
        Intent::Thanks,
        &[
            "thanks",
            "thank you",
            "thank",
            "thx",
            "tnx",
            "ty",
            "dhonnobad",
            "dhonnobaad",
            "dhanyabad",
            "jazakallah",
            "ধন্যবাদ",
        ],
    ),
    (
        Intent::Bye,
        &[
            "bye",
            "goodbye",
            "allah hafez",
            "allahhafez",
            "khoda hafez",
            "আল্লাহ হাফেজ",
            "খোদা হাফেজ",
        ],
    ),
    (
        Intent::Yes,
        &[
            "yes",
            "yeah",
            "yep",
            "yup",
            "confirm*",
            "sure",
            "ha",
            "haa",
            "hae",
            "hay",
            "hya",
            "ji",
            "jee",
            "jii",
            "জি",
            "জ্বি",
            "হ্যাঁ",
            "হ্যা",
            "হা",
            "কনফার্ম*",
        ],
    ),
    (
        Intent::Ack,
        &[
            "ok",
            "okay",
            "oky",
            "okey",
            "alright",
            "got it",
            "thik ache",
            "thik ase",
            "thik achhe",
            "accha",
            "acha",
            "ঠিক আছে",
            "আচ্ছা",
            "ওকে",
        ],
    ),
    // "কত নিবেন" (how much will you take) is "koto" with a verb that is
    // not "I'll take": marked here so the order words do not claim it.
    (
        Intent::PriceWeak,
        &[
            "koto",
            "kto",
            "how much",
            "কত",
            "koto niben",
            "koto neben",
            "koto nibe",
            "koto rakhben",
            "কত নিবেন",
            "কত নেবেন",
            "কত নিবে",
            "কত রাখবেন",
        ],
    ),
    (Intent::StockWeak, &["ache", "achhe", "ase", "asey", "have", "আছে*"]),
];

/// One word of a keyword phrase.
struct Word {
    folded: String,
    prefix: bool,
}

/// The table with its phrases split into folded words, built once.
static PHRASES: LazyLock<Vec<(Intent, Vec<Vec<Word>>)>> = LazyLock::new(|| {
    TABLE
        .iter()
        .map(|(intent, phrases)| (*intent, phrases.iter().map(|phrase| compile(phrase)).collect()))
        .collect()
});

fn compile(phrase: &str) -> Vec<Word> {
    let mut words = Vec::new();
    for piece in phrase.split_whitespace() {
        let prefix = piece.ends_with('*');
        let pieces = tokenize(piece.trim_end_matches('*'));
        let last = pieces.len().saturating_sub(1);
        for (i, token) in pieces.into_iter().enumerate() {
            words.push(Word {
                folded: token.folded,
                prefix: prefix && i == last,
            });
        }
    }
    words
}

fn word_matches(word: &Word, token: &Token) -> bool {
    token.folded == word.folded || (word.prefix && token.folded.starts_with(&word.folded))
}

/// The intents found in a message, and which of its tokens were keywords.
#[derive(Debug, Clone, Default)]
pub(super) struct Intents {
    found: Vec<Intent>,
    /// Per token: part of a keyword phrase (so not a product word or a name).
    pub keyword: Vec<bool>,
}

impl Intents {
    pub(super) fn has(&self, intent: Intent) -> bool {
        self.found.contains(&intent)
    }

    pub(super) fn all(&self) -> &[Intent] {
        &self.found
    }

    /// Whether any question the engine answers from data was asked.
    pub(super) fn has_question(&self) -> bool {
        self.found.iter().any(|intent| intent.is_question())
    }

    /// Whether the message is only small talk (greetings, thanks, "ok", "yes").
    pub(super) fn only_small_talk(&self) -> bool {
        self.found.iter().all(|intent| intent.is_small_talk())
    }
}

/// Finds every intent in the tokens of one message.
pub(super) fn detect(tokens: &[Token]) -> Intents {
    let mut keyword = vec![false; tokens.len()];
    let mut found = Vec::new();
    for (intent, phrases) in PHRASES.iter() {
        for phrase in phrases {
            if mark_occurrences(phrase, tokens, &mut keyword) && !found.contains(intent) {
                found.push(*intent);
            }
        }
    }
    if !found.contains(&Intent::Catalog) && asks_what_kinds(tokens, &mut keyword) {
        found.push(Intent::Catalog);
    }
    if !found.contains(&Intent::Discount) && offers_a_price(tokens) {
        found.push(Intent::Discount);
    }
    if !found.contains(&Intent::Location)
        && !found.contains(&Intent::AddressMarker)
        && asks_where_the_shop_is(tokens, &mut keyword)
    {
        found.push(Intent::Location);
    }
    Intents { found, keyword }
}

/// "where is ur shop exactly?", "আপনাদের ঠিকানাটা একটু দিবেন?", "whats the
/// shop number in multiplan?", "dokan ta kon jaygay?": the shop and a
/// "where", or "your" and an address word, anywhere in the message, where
/// the phrase table needs the words side by side. A message about the
/// customer's own address ("amar address", "my address is") is not one.
fn asks_where_the_shop_is(tokens: &[Token], keyword: &mut [bool]) -> bool {
    static SHOP: LazyLock<Vec<String>> = LazyLock::new(|| {
        folded_words(
            "shop store dokan dukan office showroom outlet branch kitchen factory warehouse \
             দোকান দোকানটা দোকানে শপ শপটা অফিস শোরুম আউটলেট",
        )
    });
    static WHERE: LazyLock<Vec<String>> = LazyLock::new(|| {
        folded_words(
            "where wheres kothay kothai koi kothae jaygay jaygai located location address thikana \
             floor level কোথায় কোথায় কই জায়গায় ঠিকানা লোকেশন ফ্লোর",
        )
    });
    static YOUR: LazyLock<Vec<String>> =
        LazyLock::new(|| folded_words("your ur apnader apnar apnara tomader আপনাদের আপনার আপনারা তোমাদের"));
    static ADDRESS: LazyLock<Vec<String>> =
        LazyLock::new(|| folded_words("address addr thikana thikanata ঠিকানা ঠিকানাটা ঠিকানাটি লোকেশন location"));
    static MINE: LazyLock<Vec<String>> = LazyLock::new(|| folded_words("my amar amader আমার আমাদের"));
    let is_in = |list: &[String], token: &Token| {
        list.iter().any(|word| {
            token.folded == *word
                || (token.script == Script::Bengali
                    && token.folded.starts_with(word.as_str())
                    && token.folded.chars().count() <= word.chars().count() + 3)
        })
    };
    let shop: Vec<usize> = (0..tokens.len()).filter(|&i| is_in(&SHOP, &tokens[i])).collect();
    let place: Vec<usize> = (0..tokens.len()).filter(|&i| is_in(&WHERE, &tokens[i])).collect();
    let your: Vec<usize> = (0..tokens.len()).filter(|&i| is_in(&YOUR, &tokens[i])).collect();
    let address: Vec<usize> = (0..tokens.len()).filter(|&i| is_in(&ADDRESS, &tokens[i])).collect();
    let mine = tokens.iter().any(|token| is_in(&MINE, token));
    static SHOP_NUMBER: LazyLock<(Vec<String>, Vec<String>)> =
        LazyLock::new(|| (folded_words("shop store"), folded_words("number no nombor nambar")));
    let shop_number = tokens
        .windows(2)
        .any(|pair| SHOP_NUMBER.0.contains(&pair[0].folded) && SHOP_NUMBER.1.contains(&pair[1].folded));
    let asks = (!shop.is_empty() && !place.is_empty() && !mine)
        || (!your.is_empty() && !address.is_empty() && !mine)
        || shop_number;
    if asks {
        for index in shop.into_iter().chain(place).chain(address) {
            if let Some(flag) = keyword.get_mut(index) {
                *flag = true;
            }
        }
    }
    asks
}

/// The customer names their own price: "7000 e dile dien", "350 e den na
/// vai", "1400 te hobe?", "১২০০ তে দিবেন?", "Can you do 2000 for the
/// QCY?", "give it for 1400". Prices are the owner's to set.
fn offers_a_price(tokens: &[Token]) -> bool {
    static AT: LazyLock<Vec<String>> = LazyLock::new(|| folded_words("e te ey এ তে"));
    static AGREE: LazyLock<Vec<String>> = LazyLock::new(|| {
        folded_words(
            "den din dien diben deben dile dao hobe hoy chalbe rakhen দেন দিন দিবেন দেবেন দিলে হবে হয় চলবে রাখেন",
        )
    });
    static ENGLISH_BEFORE: LazyLock<Vec<String>> = LazyLock::new(|| folded_words("do for at"));
    static ASKING: LazyLock<Vec<Vec<String>>> = LazyLock::new(|| {
        ["can you", "could you", "will you", "would you", "can u", "give it"]
            .iter()
            .map(|phrase| folded_words(phrase))
            .collect()
    });
    let is_price = |token: &Token| {
        token.script == super::text::Script::Digit
            && token.text.len() <= 6
            && token.text.parse::<u32>().is_ok_and(|value| value >= 50)
    };
    let asking = ASKING.iter().any(|phrase| {
        tokens
            .windows(phrase.len())
            .any(|window| window.iter().zip(phrase).all(|(token, word)| token.folded == *word))
    });
    tokens.iter().enumerate().any(|(at, token)| {
        if !is_price(token) {
            return false;
        }
        let banglish = tokens.get(at + 1).is_some_and(|next| AT.contains(&next.folded))
            && tokens.get(at + 2).is_some_and(|next| AGREE.contains(&next.folded));
        let english = asking
            && at
                .checked_sub(1)
                .and_then(|before| tokens.get(before))
                .is_some_and(|before| ENGLISH_BEFORE.contains(&before.folded));
        banglish || english
    })
}

/// "What pickles do you have?", "which watches do you sell", "ki ki achar
/// ache?", "কি কি আচার আছে?": a question word, the kind, then "have". The
/// kind in between is left unmarked: it names what to list.
fn asks_what_kinds(tokens: &[Token], keyword: &mut [bool]) -> bool {
    static OPENERS: LazyLock<Vec<Vec<String>>> = LazyLock::new(|| {
        ["what", "which", "ki ki", "কি কি", "কী কী", "kon kon", "কোন কোন"]
            .iter()
            .map(|phrase| folded_words(phrase))
            .collect()
    });
    static HAVE: LazyLock<Vec<Vec<String>>> = LazyLock::new(|| {
        [
            "do you have",
            "do you sell",
            "you have",
            "have you got",
            "are available",
            "ache",
            "ase",
            "achhe",
            "pawa jay",
            "paowa jay",
            "আছে",
            "পাওয়া যায়",
        ]
        .iter()
        .map(|phrase| folded_words(phrase))
        .collect()
    });
    static OPTION_WORDS: LazyLock<Vec<String>> = LazyLock::new(|| {
        folded_words(
            "colour colours color colors size sizes rong kalar one ones option options type types model models \
             shade shades flavour flavours flavor flavors weight weights pound variant variants \
             রং রঙ কালার সাইজ অপশন শেড ফ্লেভার ওজন পাউন্ড",
        )
    });
    let starts_at = |words: &Vec<String>, at: usize| {
        words
            .iter()
            .enumerate()
            .all(|(i, word)| tokens.get(at + i).is_some_and(|token| token.folded == *word))
    };
    for (at, _) in tokens.iter().enumerate() {
        let Some(opener) = OPENERS.iter().find(|opener| starts_at(opener, at)) else {
            continue;
        };
        let kind_start = at + opener.len();
        // One to three words of kind, then "have". "Which colours do you
        // have" asks about a product's options, not for a list of products.
        for kind_len in 1..=3 {
            let have_at = kind_start + kind_len;
            let about_options = tokens
                .get(kind_start..have_at)
                .is_some_and(|kind| kind.iter().any(|token| OPTION_WORDS.contains(&token.folded)));
            if about_options {
                continue;
            }
            if let Some(have) = HAVE.iter().find(|have| starts_at(have, have_at)) {
                for index in (at..kind_start).chain(have_at..have_at + have.len()) {
                    if let Some(flag) = keyword.get_mut(index) {
                        *flag = true;
                    }
                }
                return true;
            }
        }
    }
    false
}

/// Marks every occurrence of `phrase` on tokens not yet used; whether any was found.
fn mark_occurrences(phrase: &[Word], tokens: &[Token], used: &mut [bool]) -> bool {
    if phrase.is_empty() || phrase.len() > tokens.len() {
        return false;
    }
    let mut any = false;
    for start in 0..=tokens.len() - phrase.len() {
        let fits = phrase.iter().enumerate().all(|(offset, word)| {
            let at = start + offset;
            !used.get(at).copied().unwrap_or(true) && tokens.get(at).is_some_and(|token| word_matches(word, token))
        });
        if fits {
            for flag in used.iter_mut().skip(start).take(phrase.len()) {
                *flag = true;
            }
            any = true;
        }
    }
    any
}

/// Filler words that are neither keywords nor product words, in the three
/// languages; a message made of these and keywords asks nothing else.
const STOPWORDS: &str = "\
    i me my mine you your we us our the a an is are am was were be this that these those it its of for to do \
    does did can could will would should please pls plz what which how much many there any some in on at and \
    or with want need get give send show tell about from by one ones item items also just so if then here sir \
    madam maam dear bro brother sister sis apu vai bhai vaiya bhaiya apa shop dokan page me piece pcs pc \
    ami amar amake amay amader apni apnar apnara apnake apnader tumi tomar tomader ki kii ta ti to te e er re ke eta ota eita \
    oita ei oi ekta ar o ba kon konta kontar kemon kivabe kibhabe hobe hoy hoi din den dao dite diben jodi \
    tahole kintu niye jonno theke sathe shathe r ekhon janaben janan bolen bolben korbo korben korte kore koren \
    korun kori dibo dibe jabe pabo paben hobe din dilam \
    আমি আমার আমাকে আপনি আপনার আপনাকে কি কী টা টি এটা ওটা এটি ওটি এই ওই ভাই আপু আর ও কোন কোনটা কেমন \
    কিভাবে কীভাবে হবে হয় দিন দেন দিবেন একটা জন্য থেকে সাথে যদি তাহলে কিন্তু পেজ দোকান প্লিজ এখন করব করবো \
    করতে করে করুন করি দিব দিবো দেব যাবে পাব পাবো";

static STOPWORD_SET: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut words: Vec<String> = tokenize(STOPWORDS).into_iter().map(|token| token.folded).collect();
    words.sort_unstable();
    words.dedup();
    words
});

/// Whether a folded word is filler (see [`STOPWORDS`]).
pub(super) fn is_stopword(folded: &str) -> bool {
    STOPWORD_SET.binary_search_by(|word| word.as_str().cmp(folded)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intents(text: &str) -> Vec<Intent> {
        detect(&tokenize(text)).all().to_vec()
    }

    #[test]
    fn finds_intents_in_three_languages() {
        assert!(intents("price?").contains(&Intent::Price));
        assert!(intents("শাড়িটার দামটা কত?").contains(&Intent::Price));
        assert!(intents("dam koto").contains(&Intent::Price));
        assert!(intents("ডেলিভারি চার্জ কত").contains(&Intent::Delivery));
        assert!(intents("bkash e pay korbo").contains(&Intent::Payment));
    }

    #[test]
    fn earlier_phrases_take_their_words() {
        let found = intents("cash on delivery hobe?");
        assert!(found.contains(&Intent::Payment));
        assert!(!found.contains(&Intent::Delivery));
        let found = intents("koto din lagbe");
        assert!(found.contains(&Intent::Delivery));
        assert!(!found.contains(&Intent::PriceWeak));
        assert!(intents("ki ki ache").contains(&Intent::Catalog));
        assert!(!intents("ki ki ache").contains(&Intent::StockWeak));
    }

    #[test]
    fn stopwords_are_folded_like_messages() {
        assert!(is_stopword("ami"));
        assert!(is_stopword("vai"));
        assert!(!is_stopword("sare"));
    }
}
