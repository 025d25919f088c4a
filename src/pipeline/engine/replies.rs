//! Reply templates in English, Bangla and Banglish.
//!
//! Templates hold no digits of their own: every number in a reply is copied
//! from the owner's data (prices, stock, charges, days) or from the order
//! being collected, because the safety filter refuses any other number.

use crate::catalog::money::{Money, format_money};
use crate::catalog::store::{DeliveryArea, PaymentMethod, VariantRow};
use crate::pipeline::classifier::Language;
use crate::pipeline::grounding::{GroundedProduct, Grounding, OrderRequest};

use super::lookup::variant_label;
use super::order::Totals;

/// Whether a product or variant can be sold now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Availability {
    /// No stock is tracked: made to order, always available.
    MadeToOrder,
    InStock(i32),
    Out,
}

impl Availability {
    pub(super) fn of(stock: Option<i32>) -> Availability {
        match stock {
            None => Availability::MadeToOrder,
            Some(n) if n > 0 => Availability::InStock(n),
            Some(_) => Availability::Out,
        }
    }

    /// A variant without its own count follows the product's.
    pub(super) fn of_variant(product: &GroundedProduct, variant: &VariantRow) -> Availability {
        Availability::of(variant.stock.or(product.stock))
    }
}

/// Whether nothing of `product` can be sold now (every variant, if it has any).
pub(super) fn sold_out(product: &GroundedProduct) -> bool {
    if product.variants.is_empty() {
        Availability::of(product.stock) == Availability::Out
    } else {
        product
            .variants
            .iter()
            .all(|variant| Availability::of_variant(product, variant) == Availability::Out)
    }
}

/// What to say about a product.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct InfoRequest<'a> {
    pub price: bool,
    pub stock: bool,
    pub offer_order: bool,
    /// Indexes of the variants the customer named; empty lists them all.
    pub variants: &'a [usize],
}

/// Writes replies for one owner in one language.
pub(super) struct Writer<'a> {
    pub g: &'a Grounding,
    pub lang: Language,
}

impl Writer<'_> {
    fn pick(&self, en: &'static str, bn: &'static str, banglish: &'static str) -> &'static str {
        match self.lang {
            Language::En => en,
            Language::Bn => bn,
            Language::Banglish => banglish,
        }
    }

    /// Owners choose 'friendly' or 'formal'; formal drops the emoji and the
    /// casual openers.
    fn formal(&self) -> bool {
        self.g.rules.tone.trim().eq_ignore_ascii_case("formal")
    }

    fn smile(&self) -> &'static str {
        if self.formal() { "" } else { " 😊" }
    }

    pub(super) fn money(&self, minor: i64) -> String {
        format_money(Money::from_minor(minor), &self.g.profile.currency)
    }

    /// The product's name as this customer knows it: the Bangla name for
    /// Bangla-script messages when the owner gave one.
    pub(super) fn name<'p>(&self, product: &'p GroundedProduct) -> &'p str {
        match (self.lang, product.name_bn.as_deref().map(str::trim)) {
            (Language::Bn, Some(bn)) if !bn.is_empty() => bn,
            _ => product.name.trim(),
        }
    }

    fn shop(&self) -> String {
        let name = self.g.profile.name.trim();
        if name.is_empty() {
            self.pick("this shop", "এই দোকান", "ei dokan").to_owned()
        } else {
            name.to_owned()
        }
    }

    // ------------------------------------------------------------ products

    /// "৳1,100 (regular price ৳1,250)" or "৳1,250".
    fn price_of(&self, product: &GroundedProduct) -> String {
        let now = self.money(product.unit_price_minor());
        match product.sale_price_minor {
            Some(sale) if sale != product.price_minor => {
                let was = self.money(product.price_minor);
                let regular = self.pick("regular price", "আগের দাম", "ager dam");
                format!("{now} ({regular} {was})")
            }
            _ => now,
        }
    }

    /// "- Red Cotton Saree: ৳1,250", with "(out of stock)" when sold out.
    pub(super) fn product_line(&self, product: &GroundedProduct) -> String {
        let mut line = format!("- {}: {}", self.name(product), self.price_of(product));
        if sold_out(product) {
            line.push_str(&format!(" ({})", self.stock_words(Availability::Out)));
        }
        line
    }

    fn stock_words(&self, stock: Availability) -> String {
        match (stock, self.lang) {
            (Availability::MadeToOrder, _) => self.pick("available", "পাওয়া যাবে", "paowa jabe").to_owned(),
            (Availability::Out, _) => self.pick("out of stock", "স্টকে নেই", "stock e nei").to_owned(),
            (Availability::InStock(n), Language::En) => format!("{n} in stock"),
            (Availability::InStock(n), Language::Bn) => format!("{n}টি আছে"),
            (Availability::InStock(n), Language::Banglish) => format!("{n} ta ache"),
        }
    }

    fn price_sentence(&self, product: &GroundedProduct) -> String {
        let name = self.name(product);
        let price = self.price_of(product);
        match self.lang {
            Language::En => format!("The price of {name} is {price}."),
            Language::Bn => format!("{name}-এর দাম {price}।"),
            Language::Banglish => format!("{name} er dam {price}."),
        }
    }

    fn availability_sentence(&self, product: &GroundedProduct, stock: Availability) -> String {
        let name = self.name(product);
        match (stock, self.lang) {
            (Availability::Out, _) => self.out_of_stock(name),
            (Availability::MadeToOrder, Language::En) => format!("Yes, {name} is available."),
            (Availability::MadeToOrder, Language::Bn) => format!("জি, {name} পাওয়া যাবে।"),
            (Availability::MadeToOrder, Language::Banglish) => format!("Ji, {name} paowa jabe."),
            (Availability::InStock(n), Language::En) => format!("Yes, {name} is in stock ({n} available)."),
            (Availability::InStock(n), Language::Bn) => format!("জি, {name} স্টকে আছে ({n}টি)।"),
            (Availability::InStock(n), Language::Banglish) => format!("Ji, {name} stock e ache ({n} ta)."),
        }
    }

    fn call_to_order(&self) -> &'static str {
        self.pick(
            "Would you like to order?",
            "অর্ডার করতে চাইলে জানাবেন।",
            "Order korte chaile janaben.",
        )
    }

    /// Price and availability of one product, per variant when it has any
    /// (only `variants` when the customer named some); with `offer_order`,
    /// an invitation to order when it can be sold.
    pub(super) fn product_info(&self, product: &GroundedProduct, ask: InfoRequest<'_>) -> String {
        let InfoRequest {
            price,
            stock,
            offer_order,
            variants,
        } = ask;
        let mut parts = Vec::new();
        if !product.variants.is_empty() {
            let named: Vec<&VariantRow> = variants.iter().filter_map(|&i| product.variants.get(i)).collect();
            let listed: Vec<&VariantRow> = if named.is_empty() {
                product.variants.iter().collect()
            } else {
                named
            };
            parts.push(self.variants_list(product, &listed));
        } else {
            let state = Availability::of(product.stock);
            if price || !stock {
                parts.push(self.price_sentence(product));
            }
            if stock && !price {
                parts.push(self.availability_sentence(product, state));
            } else if state == Availability::Out {
                parts.push(self.out_of_stock(self.name(product)));
            } else if let Availability::InStock(n) = state {
                parts.push(match self.lang {
                    Language::En => format!("{n} in stock."),
                    Language::Bn => format!("স্টকে আছে {n}টি।"),
                    Language::Banglish => format!("Stock e ache {n} ta."),
                });
            }
        }
        if offer_order && !sold_out(product) {
            parts.push(self.call_to_order().to_owned());
        }
        let separator = if product.variants.is_empty() { " " } else { "\n" };
        parts.join(separator)
    }

    fn variant_line(&self, product: &GroundedProduct, variant: &VariantRow) -> String {
        let label = variant_label(variant);
        let label = if label.is_empty() {
            self.name(product).to_owned()
        } else {
            label
        };
        let price = self.money(product.variant_price_minor(variant));
        let stock = self.stock_words(Availability::of_variant(product, variant));
        format!("- {label}: {price}, {stock}")
    }

    /// Variants with their price and stock.
    pub(super) fn variants_list(&self, product: &GroundedProduct, variants: &[&VariantRow]) -> String {
        let name = self.name(product);
        let header = match self.lang {
            Language::En => format!("{name} comes in:"),
            Language::Bn => format!("{name}-এর অপশনগুলো:"),
            Language::Banglish => format!("{name} er option gulo:"),
        };
        let lines = variants.iter().map(|variant| self.variant_line(product, variant));
        std::iter::once(header).chain(lines).collect::<Vec<_>>().join("\n")
    }

    /// A product has no variants to list; say so with its price instead.
    pub(super) fn no_variants(&self, product: &GroundedProduct) -> String {
        let name = self.name(product);
        let price = self.price_of(product);
        match self.lang {
            Language::En => format!("{name} comes in one option only: {price}."),
            Language::Bn => format!("{name} একটি অপশনেই আছে: {price}।"),
            Language::Banglish => format!("{name} ekta option e ache: {price}."),
        }
    }

    /// A few products with prices, for "what do you sell?" or "which one?".
    pub(super) fn catalog(&self, products: &[&GroundedProduct]) -> String {
        let header = self.pick(
            "Here are some of our products:",
            "আমাদের কিছু পণ্য:",
            "Amader kichu product:",
        );
        let footer = self.pick(
            "Which one would you like to know more about?",
            "কোনটি সম্পর্কে জানতে চান?",
            "Kon ta somporke jante chan?",
        );
        self.list(header, products, footer)
    }

    /// The customer named several products equally well.
    pub(super) fn which_one(&self, products: &[&GroundedProduct]) -> String {
        let header = self.pick(
            "Which one do you mean?",
            "আপনি কোনটির কথা বলছেন?",
            "Apni kon ta bolchen?",
        );
        self.list(header, products, "")
    }

    fn list(&self, header: &str, products: &[&GroundedProduct], footer: &str) -> String {
        let mut lines = vec![header.to_owned()];
        lines.extend(products.iter().map(|product| self.product_line(product)));
        if !footer.is_empty() {
            lines.push(footer.to_owned());
        }
        lines.join("\n")
    }

    /// "Sorry, X is out of stock right now."
    pub(super) fn out_of_stock(&self, name: &str) -> String {
        match self.lang {
            Language::En => format!("Sorry, {name} is out of stock right now."),
            Language::Bn => format!("দুঃখিত, {name} এই মুহূর্তে স্টকে নেই।"),
            Language::Banglish => format!("Sorry, {name} ekhon stock e nei."),
        }
    }

    // ------------------------------------------------- delivery, payment, shop

    fn days(&self, area: &DeliveryArea) -> String {
        let (min, max) = (area.min_days, area.max_days);
        let range = if min == max {
            min.to_string()
        } else {
            format!("{min}–{max}")
        };
        match self.lang {
            Language::En if min == max && min == 1 => format!("{range} day"),
            Language::En => format!("{range} days"),
            Language::Bn => format!("{range} দিন"),
            Language::Banglish => format!("{range} din"),
        }
    }

    fn area_line(&self, area: &DeliveryArea, with_days: bool) -> String {
        let charge = self.money(area.charge_minor);
        if with_days {
            format!("- {}: {charge}, {}", area.name.trim(), self.days(area))
        } else {
            format!("- {}: {charge}", area.name.trim())
        }
    }

    /// Charge and time for each area.
    pub(super) fn delivery(&self, areas: &[&DeliveryArea]) -> String {
        let header = self.pick(
            "Delivery charge and time:",
            "ডেলিভারি চার্জ ও সময়:",
            "Delivery charge o shomoy:",
        );
        let lines = areas.iter().map(|area| self.area_line(area, true));
        std::iter::once(header.to_owned())
            .chain(lines)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Payment methods with the owner's instructions, verbatim.
    pub(super) fn payment(&self, methods: &[&PaymentMethod]) -> String {
        let header = self.pick("You can pay by:", "যেভাবে পেমেন্ট করতে পারবেন:", "Payment korte parben:");
        std::iter::once(header.to_owned())
            .chain(methods.iter().map(|method| payment_line(method)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub(super) fn opening_hours(&self, hours: &str) -> String {
        let label = self.pick("Our opening hours:", "আমাদের খোলার সময়:", "Amader kholar shomoy:");
        format!("{label} {}", hours.trim())
    }

    pub(super) fn shop_address(&self, address: &str) -> String {
        let label = self.pick("Our shop's address:", "আমাদের ঠিকানা:", "Amader thikana:");
        format!("{label} {}", address.trim())
    }

    /// The named products side by side: price, stock and the owner's
    /// description; which costs less when their prices differ.
    pub(super) fn comparison(&self, products: &[&GroundedProduct]) -> String {
        let mut lines = Vec::new();
        for product in products {
            let mut line = self.product_line(product);
            if !sold_out(product)
                && let Availability::InStock(n) = Availability::of(product.stock)
            {
                line.push_str(&format!(", {}", self.stock_words(Availability::InStock(n))));
            }
            let description = product.description.trim();
            if !description.is_empty() {
                let short: String = description.chars().take(160).collect();
                let ellipsis = if description.chars().count() > 160 { "…" } else { "" };
                line.push_str(&format!("\n  {short}{ellipsis}"));
            }
            lines.push(line);
        }
        let cheapest = products.iter().min_by_key(|p| p.unit_price_minor());
        let all_same = products
            .iter()
            .all(|p| Some(p.unit_price_minor()) == cheapest.map(|c| c.unit_price_minor()));
        if let Some(cheapest) = cheapest.filter(|_| !all_same) {
            let name = self.name(cheapest);
            lines.push(match self.lang {
                Language::En => format!("{name} costs less."),
                Language::Bn => format!("{name}-এর দাম কম।"),
                Language::Banglish => format!("{name} er dam kom."),
            });
        }
        lines.push(
            self.pick("Which one would you like?", "কোনটি নেবেন?", "Kon ta niben?")
                .to_owned(),
        );
        lines.join("\n")
    }

    pub(super) fn return_policy(&self, policy: &str) -> String {
        let label = self.pick("Our return policy:", "আমাদের রিটার্ন নীতি:", "Amader return policy:");
        format!("{label} {}", policy.trim())
    }

    // ---------------------------------------------------------- small talk

    pub(super) fn salam(&self) -> &'static str {
        self.pick("Walaikum assalam!", "ওয়ালাইকুম আসসালাম!", "Walaikum assalam!")
    }

    /// The owner's own greeting when they wrote one.
    pub(super) fn greeting(&self, salam: bool) -> String {
        let own = self.g.rules.greeting.trim();
        if !own.is_empty() {
            return own.to_owned();
        }
        let opener = if salam {
            self.salam()
        } else if self.formal() {
            self.pick("Hello.", "আসসালামু আলাইকুম।", "Assalamu alaikum.")
        } else {
            self.pick("Hi!", "হ্যালো!", "Hi!")
        };
        let help = if self.formal() {
            self.pick(
                "How may I help you?",
                "কীভাবে সাহায্য করতে পারি?",
                "Kivabe sahajjo korte pari?",
            )
        } else {
            self.pick(
                "How can I help you today?",
                "কীভাবে সাহায্য করতে পারি?",
                "Kivabe help korte pari?",
            )
        };
        format!("{opener}{} {help}", self.smile())
    }

    pub(super) fn thanks(&self) -> String {
        let text = self.pick(
            "You're welcome! Let us know if you need anything else.",
            "আপনাকেও ধন্যবাদ! আর কিছু লাগলে জানাবেন।",
            "Apnakeo dhonnobad! Ar kichu lagle janaben.",
        );
        format!("{text}{}", self.smile())
    }

    pub(super) fn bye(&self) -> String {
        let text = self.pick("Thank you, goodbye!", "ধন্যবাদ! ভালো থাকবেন।", "Dhonnobad! Valo thakben.");
        format!("{text}{}", self.smile())
    }

    pub(super) fn ack(&self) -> &'static str {
        self.pick(
            "Okay! Let us know if you need anything else.",
            "ঠিক আছে! আর কিছু লাগলে জানাবেন।",
            "Thik ache! Ar kichu lagle janaben.",
        )
    }

    /// "This is BikriAgent, <shop>'s automatic assistant; type HUMAN for a person."
    pub(super) fn disclosure(&self) -> String {
        let shop = self.shop();
        match self.lang {
            Language::En => format!("This is BikriAgent, {shop}'s automatic assistant; type HUMAN for a person."),
            Language::Bn => format!("এটি BikriAgent, {shop}-এর স্বয়ংক্রিয় সহকারী; মানুষের সাথে কথা বলতে \"মানুষ\" লিখুন।"),
            Language::Banglish => {
                format!("Ami BikriAgent, {shop} er automatic assistant; manush er sathe kotha bolte \"manush\" likhun.")
            }
        }
    }

    // --------------------------------------------------------- order capture

    pub(super) fn ask_product(&self, products: &[&GroundedProduct]) -> String {
        let header = self.pick(
            "Which product would you like to order?",
            "কোন পণ্যটি অর্ডার করতে চান?",
            "Kon product ta order korte chan?",
        );
        self.list(header, products, "")
    }

    pub(super) fn ask_variant(&self, product: &GroundedProduct, variants: &[&VariantRow]) -> String {
        let name = self.name(product);
        let header = match self.lang {
            Language::En => format!("Which option of {name} would you like?"),
            Language::Bn => format!("{name}-এর কোন অপশনটি নেবেন?"),
            Language::Banglish => format!("{name} er kon option ta niben?"),
        };
        let lines = variants.iter().map(|variant| self.variant_line(product, variant));
        std::iter::once(header).chain(lines).collect::<Vec<_>>().join("\n")
    }

    pub(super) fn variant_out_of_stock(&self, product: &GroundedProduct, variant: &VariantRow) -> String {
        let name = format!("{} ({})", self.name(product), variant_label(variant));
        self.out_of_stock(&name)
    }

    pub(super) fn no_such_option(&self) -> &'static str {
        self.pick(
            "Sorry, we don't have that option.",
            "দুঃখিত, এই অপশনটি নেই।",
            "Sorry, ei option ta nei.",
        )
    }

    pub(super) fn ask_quantity(&self, product: &GroundedProduct) -> String {
        let name = self.name(product);
        match self.lang {
            Language::En => format!("How many {name} would you like?"),
            Language::Bn => format!("{name} কয়টি নেবেন?"),
            Language::Banglish => format!("{name} koyta niben?"),
        }
    }

    /// What the chosen products come to so far, before delivery: "3 ×
    /// ৳690 = ৳2,070, plus the delivery charge."
    pub(super) fn order_so_far(&self, lines: &[(i32, i64)], items_minor: i64) -> String {
        let parts: Vec<String> = lines
            .iter()
            .map(|(quantity, unit)| format!("{quantity} × {}", self.money(*unit)))
            .collect();
        let sum = format!("{} = {}", parts.join(" + "), self.money(items_minor));
        match self.lang {
            Language::En => format!("For your order: {sum}, plus the delivery charge."),
            Language::Bn => format!("আপনার অর্ডারে: {sum}, সাথে ডেলিভারি চার্জ।"),
            Language::Banglish => format!("Apnar order e: {sum}, sathe delivery charge."),
        }
    }

    pub(super) fn at_least_one(&self) -> &'static str {
        self.pick(
            "Please order at least one.",
            "কমপক্ষে একটি নিতে হবে।",
            "Kompokkhe ekta nite hobe.",
        )
    }

    pub(super) fn only_left(&self, product: &GroundedProduct, variant: Option<&VariantRow>, left: i32) -> String {
        let name = match variant.map(variant_label).filter(|label| !label.is_empty()) {
            Some(label) => format!("{} ({label})", self.name(product)),
            None => self.name(product).to_owned(),
        };
        match self.lang {
            Language::En => format!("Sorry, only {left} of {name} left."),
            Language::Bn => format!("দুঃখিত, {name} মাত্র {left}টি আছে।"),
            Language::Banglish => format!("Sorry, {name} matro {left} ta ache."),
        }
    }

    pub(super) fn ask_name(&self) -> &'static str {
        self.pick("Please tell me your name.", "আপনার নামটি বলবেন?", "Apnar nam ta bolben?")
    }

    pub(super) fn ask_phone(&self) -> &'static str {
        self.pick(
            "Please send your mobile number.",
            "আপনার মোবাইল নম্বরটি দিন।",
            "Apnar mobile number ta din.",
        )
    }

    pub(super) fn invalid_phone(&self) -> &'static str {
        self.pick(
            "That doesn't look like a Bangladeshi mobile number. Please check it and send it again.",
            "নম্বরটি সঠিক বাংলাদেশি মোবাইল নম্বর মনে হচ্ছে না। দয়া করে দেখে আবার পাঠান।",
            "Number ta sothik Bangladeshi mobile number mone hocche na. Ektu check kore abar pathan.",
        )
    }

    pub(super) fn ask_address(&self) -> &'static str {
        self.pick(
            "Please send your full delivery address.",
            "ডেলিভারির জন্য আপনার পুরো ঠিকানা দিন।",
            "Delivery er jonno apnar full thikana din.",
        )
    }

    pub(super) fn ask_area(&self, areas: &[&DeliveryArea]) -> String {
        let header = self.pick(
            "Which delivery area are you in?",
            "আপনি কোন ডেলিভারি এলাকায় আছেন?",
            "Apni kon delivery area te achen?",
        );
        let lines = areas.iter().map(|area| self.area_line(area, false));
        std::iter::once(header.to_owned())
            .chain(lines)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The read-back before the customer confirms.
    pub(super) fn summary(&self, totals: &Totals<'_>) -> String {
        let labels = match self.lang {
            Language::En => [
                "Please check your order:",
                "Product",
                "Option",
                "Quantity",
                "Unit price",
                "Subtotal",
                "Delivery charge",
                "Total",
                "Name",
                "Phone",
                "Address",
                "Delivery area",
            ],
            Language::Bn => [
                "আপনার অর্ডারটি মিলিয়ে নিন:",
                "পণ্য",
                "অপশন",
                "পরিমাণ",
                "একটির দাম",
                "পণ্যের দাম",
                "ডেলিভারি চার্জ",
                "সর্বমোট",
                "নাম",
                "ফোন",
                "ঠিকানা",
                "ডেলিভারি এলাকা",
            ],
            Language::Banglish => [
                "Apnar order ta check korun:",
                "Product",
                "Option",
                "Quantity",
                "Protita",
                "Subtotal",
                "Delivery charge",
                "Total",
                "Nam",
                "Phone",
                "Thikana",
                "Delivery area",
            ],
        };
        let [
            title,
            product,
            option,
            quantity,
            unit,
            subtotal,
            delivery,
            total,
            name,
            phone,
            address,
            area,
        ] = labels;
        let mut lines = vec![title.to_owned()];
        let items = totals
            .extra
            .iter()
            .map(|item| (item.product, item.variant, item.quantity, item.unit_minor))
            .chain(std::iter::once((
                totals.product,
                totals.variant,
                totals.quantity,
                totals.unit_minor,
            )));
        for (item_product, item_variant, item_quantity, item_unit) in items {
            lines.push(format!("{product}: {}", self.name(item_product)));
            if let Some(variant) = item_variant {
                lines.push(format!("{option}: {}", variant_label(variant)));
            }
            lines.push(format!("{quantity}: {item_quantity}"));
            lines.push(format!("{unit}: {}", self.money(item_unit)));
        }
        lines.push(format!("{subtotal}: {}", self.money(totals.items_minor)));
        lines.push(format!("{delivery}: {}", self.money(totals.delivery_minor)));
        lines.push(format!("{total}: {}", self.money(totals.total_minor)));
        lines.push(format!("{name}: {}", totals.customer_name));
        lines.push(format!("{phone}: {}", totals.phone));
        lines.push(format!("{address}: {}", totals.address));
        if let Some(chosen) = totals.area {
            lines.push(format!("{area}: {}", chosen.name.trim()));
        }
        lines.push(self.confirm_prompt().to_owned());
        lines.join("\n")
    }

    pub(super) fn confirm_prompt(&self) -> &'static str {
        self.pick(
            "Reply YES to confirm the order or NO to cancel it.",
            "সব ঠিক থাকলে \"হ্যাঁ\" লিখুন, বাতিল করতে \"না\" লিখুন।",
            "Sob thik thakle \"ha\" likhun, cancel korte \"na\" likhun.",
        )
    }

    pub(super) fn cancelled(&self) -> &'static str {
        self.pick(
            "Okay, I have cancelled this order. Let us know if you need anything else.",
            "ঠিক আছে, অর্ডারটি বাতিল করা হলো। আর কিছু লাগলে জানাবেন।",
            "Thik ache, order ta cancel kora holo. Ar kichu lagle janaben.",
        )
    }

    /// Confirmation after the store created the order, with how to pay.
    pub(super) fn order_placed(&self, order_number: i64, request: &OrderRequest) -> String {
        let name = request.customer_name.trim();
        let total = self.money(request.total_minor);
        let delivery = self.money(request.delivery_charge_minor);
        let address = request.address.trim();
        let mut text = match self.lang {
            Language::En => format!(
                "Thank you, {name}! Your order #{order_number} has been placed. Total: {total} (including \
                 {delivery} delivery). Delivery address: {address}."
            ),
            Language::Bn => format!(
                "ধন্যবাদ, {name}! আপনার অর্ডার নম্বর {order_number} গ্রহণ করা হয়েছে। সর্বমোট: {total} \
                 (ডেলিভারি চার্জ {delivery} সহ)। ডেলিভারি ঠিকানা: {address}।"
            ),
            Language::Banglish => format!(
                "Dhonnobad, {name}! Apnar order number {order_number} neya hoyeche. Total: {total} (delivery \
                 charge {delivery} soho). Delivery thikana: {address}."
            ),
        };
        text.push_str(self.smile());
        if !self.g.payment_methods.is_empty() {
            let methods: Vec<&PaymentMethod> = self.g.payment_methods.iter().collect();
            text.push_str("\n\n");
            text.push_str(&self.payment(&methods));
        }
        text
    }
}

/// "- bKash: Send money to …" exactly as the owner wrote it.
fn payment_line(method: &PaymentMethod) -> String {
    let (label, instructions) = (method.label.trim(), method.instructions.trim());
    if instructions.is_empty() {
        format!("- {label}")
    } else {
        format!("- {label}: {instructions}")
    }
}
