//! The safety filter every outgoing reply passes, whichever engine wrote it
//! (the embedded reply engine, the optional LLM, an owner's template).
//!
//! A reply may only state what the owner's data or the conversation
//! supports. A wrong price, a made-up delivery charge, a stranger's bKash
//! number or a phishing link costs a customer money and the shop its name,
//! while a refused good reply costs the owner one tap in the review queue.
//! So the filter is deliberately strict, and it explains every refusal in a
//! sentence the owner can act on ([`Refusal::describe`]).
//!
//! What it checks, in one pass over the draft:
//!
//! - the reply is neither empty nor longer than [`MAX_REPLY_CHARS`];
//! - every link's host is one of the owner's [`Grounding::link_domains`];
//! - every phone number is the owner's or the customer's;
//! - every other number (digit runs, Bangla digits, `1,250`, `1250.50`) is in
//!   the owner's data, the customer's messages, or what the engine computed;
//! - every street address ("House 12, Road 5", "বাড়ি ১২") is the shop's or
//!   the customer's;
//! - the reply does not repeat the LLM's instructions;
//! - the reply says none of the owner's "never say" phrases.
//!
//! Pure: no I/O, no clock, and no panics on any input, so it runs on every
//! reply and is driven by unit tests and a fuzz loop.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::Serialize;

use super::grounding::{CustomerFacts, Grounding};
use crate::catalog::money::{Money, format_plain};

/// The longest reply sent automatically, in characters. Messenger allows
/// more, but a shop answer longer than this is either rambling or a model
/// that lost its way (dumping the catalog or its prompt).
pub const MAX_REPLY_CHARS: usize = 1000;

/// A run of this many consecutive words shared with the instructions counts
/// as repeating them: long enough that ordinary shop talk never matches,
/// short enough to catch a paraphrase that quotes a sentence.
const INSTRUCTION_WINDOW: usize = 8;

/// Digit runs at least this long are read as phone numbers, not quantities
/// or prices (Bangladeshi landlines have 8+ digits with the area code).
const MIN_PHONE_DIGITS: usize = 8;

/// The longest phone number (E.164); a phone span stops growing past it, so
/// a long run of spaced digits cannot make the scan quadratic.
const MAX_PHONE_DIGITS: usize = 15;

/// Refusals quote at most this many characters of the draft, so the review
/// queue stays readable whatever the draft holds.
const MAX_QUOTED_CHARS: usize = 80;

/// Why a draft reply may not be sent. Serialised (snake_case) into the
/// review queue entry, so the owner sees every reason, not only the first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Nothing but whitespace.
    Empty,
    /// Longer than [`MAX_REPLY_CHARS`].
    TooLong { chars: usize, max: usize },
    /// A number (normalised: ASCII digits, no thousands separators) found
    /// nowhere in the owner's data, the customer's messages or the engine's
    /// computations.
    UnknownNumber(String),
    /// A link whose host (lowercase, without `www.`) is not one of the
    /// owner's link domains.
    Link(String),
    /// A phone number (digits, `+880…` written as `0…`) that is neither the
    /// owner's nor the customer's.
    PhoneNumber(String),
    /// An address fragment, as written in the draft, that is neither the
    /// shop's address nor the customer's.
    Address(String),
    /// The draft repeats part of the LLM's instructions.
    InstructionText,
    /// The draft contains one of the owner's "never say" phrases (as the
    /// owner wrote it).
    NeverSay(String),
}

impl Refusal {
    /// One English sentence for the owner's review queue, saying what in the
    /// draft was refused and why.
    pub fn describe(&self) -> String {
        match self {
            Refusal::Empty => "The reply is empty.".to_owned(),
            Refusal::TooLong { chars, max } => {
                format!("The reply is {chars} characters long, and at most {max} are sent automatically.")
            }
            Refusal::UnknownNumber(number) => {
                format!("The reply states the number {number}, which is not in your catalog.")
            }
            Refusal::Link(host) => {
                format!("The reply links to {host}, which is not one of your own websites.")
            }
            Refusal::PhoneNumber(phone) => {
                format!("The reply gives the phone number {phone}, which is neither yours nor the customer's.")
            }
            Refusal::Address(fragment) => {
                format!(
                    "The reply mentions the address \"{fragment}\", which is neither your shop's nor the customer's."
                )
            }
            Refusal::InstructionText => "The reply repeats the assistant's internal instructions.".to_owned(),
            Refusal::NeverSay(phrase) => {
                format!("The reply says \"{phrase}\", which you asked never to say.")
            }
        }
    }
}

/// Checks a draft reply before it is sent.
///
/// `grounding` is the owner's data the reply may quote; `customer` what the
/// customer told us (their numbers, phone and address may be repeated back);
/// `computed` the amounts the engine worked out for this reply (order
/// totals, line totals), in any format [`numbers_in`] reads; `instructions`
/// the LLM's system prompt ([`super::llm::system_instructions`]), or `""`
/// for replies that no model wrote.
///
/// # Errors
///
/// Every reason the draft may not be sent, without duplicates, in the order
/// found: emptiness alone for an empty draft, otherwise length, links,
/// phones, numbers, addresses, instructions and never-say phrases.
pub fn check(
    draft: &str,
    grounding: &Grounding,
    customer: &CustomerFacts,
    computed: &[String],
    instructions: &str,
) -> Result<(), Vec<Refusal>> {
    if draft.trim().is_empty() {
        return Err(vec![Refusal::Empty]);
    }
    let mut refusals = Refusals::default();
    let chars = draft.chars().count();
    if chars > MAX_REPLY_CHARS {
        refusals.push(Refusal::TooLong {
            chars,
            max: MAX_REPLY_CHARS,
        });
    }

    let allowed = Allowed::new(grounding, customer, computed);
    let text = Chars::new(draft);
    let mut mask = vec![false; text.len()];

    for link in find_links(&text) {
        mask_span(&mut mask, link.start, link.end);
        if !allowed.link_ok(&link) {
            refusals.push(Refusal::Link(shorten(&link.host)));
        }
    }
    let phones = find_phones(&text, &mask, |candidates| allowed.choose_phone(candidates));
    for phone in phones {
        mask_span(&mut mask, phone.start, phone.end);
        if !allowed.phone_ok(&phone) {
            refusals.push(Refusal::PhoneNumber(shorten(&phone.digits)));
        }
    }
    for number in find_numbers(&text, &mask) {
        if !allowed.numbers.contains(&number) {
            refusals.push(Refusal::UnknownNumber(shorten(&number)));
        }
    }
    for address in find_addresses(&text) {
        if !allowed.address_ok(&address) {
            refusals.push(Refusal::Address(address.quoted));
        }
    }
    if repeats_instructions(draft, instructions) {
        refusals.push(Refusal::InstructionText);
    }
    let haystack = simplify_phrase(draft);
    for phrase in &grounding.rules.never_say {
        let needle = simplify_phrase(phrase);
        if !needle.is_empty() && haystack.contains(&needle) {
            refusals.push(Refusal::NeverSay(phrase.trim().to_owned()));
        }
    }
    refusals.finish()
}

/// The numbers stated in `text`, normalised the way [`check`] compares them,
/// in order of appearance and without duplicates: Bangla (and other
/// scripts') digits become ASCII, thousands separators go (`১,২৫০` →
/// `1250`), leading zeros go (`05` → `5`), decimals keep two places
/// (`1250.5` → `1250.50`, `1250.00` → `1250`), phone numbers keep their
/// digits with `+880`/`880` written as `0` (`+880 1711-000000` →
/// `01711000000`). Digits inside links are not numbers the text states.
///
/// The engine uses it to collect [`CustomerFacts::numbers`] from the
/// customer's messages.
pub fn numbers_in(text: &str) -> Vec<String> {
    let chars = Chars::new(text);
    let mut mask = vec![false; chars.len()];
    for link in find_links(&chars) {
        mask_span(&mut mask, link.start, link.end);
    }
    // Phones and numbers are found in two passes; put them back in text order.
    let mut found: Vec<(usize, String)> = Vec::new();
    for phone in find_phones(&chars, &mask, likely_phone) {
        mask_span(&mut mask, phone.start, phone.end);
        found.push((phone.start, phone.digits));
    }
    found.extend(find_numbers_at(&chars, &mask));
    found.sort_by_key(|(start, _)| *start);
    let mut seen = HashSet::new();
    found
        .into_iter()
        .filter_map(|(_, number)| seen.insert(number.clone()).then_some(number))
        .collect()
}

// ------------------------------------------------------------ refusals

/// Refusals in the order found, each once.
#[derive(Default)]
struct Refusals {
    list: Vec<Refusal>,
    seen: HashSet<Refusal>,
}

impl Refusals {
    fn push(&mut self, refusal: Refusal) {
        if self.seen.insert(refusal.clone()) {
            self.list.push(refusal);
        }
    }

    fn finish(self) -> Result<(), Vec<Refusal>> {
        if self.list.is_empty() { Ok(()) } else { Err(self.list) }
    }
}

// ------------------------------------------------------------ characters

/// A text as characters, with every decimal digit (Bangla ০-৯, Devanagari,
/// Arabic-Indic, fullwidth) replaced by its ASCII digit, so one scan reads
/// every script. Positions are character indices, the same in both vectors,
/// so spans found in `norm` quote `orig` exactly.
struct Chars {
    orig: Vec<char>,
    norm: Vec<char>,
}

impl Chars {
    fn new(text: &str) -> Self {
        let orig: Vec<char> = text.chars().collect();
        let norm = orig.iter().map(|&c| ascii_digit(c).unwrap_or(c)).collect();
        Chars { orig, norm }
    }

    fn len(&self) -> usize {
        self.norm.len()
    }

    fn at(&self, index: usize) -> Option<char> {
        self.norm.get(index).copied()
    }

    /// The normalised characters in `start..end` (empty when out of range).
    fn norm_text(&self, start: usize, end: usize) -> String {
        self.norm
            .get(start..end)
            .map(|s| s.iter().collect())
            .unwrap_or_default()
    }

    /// The characters in `start..end` as the draft wrote them, shortened
    /// for quoting.
    fn quote(&self, start: usize, end: usize) -> String {
        let text: String = self
            .orig
            .get(start..end)
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        shorten(text.trim())
    }
}

/// The ASCII digit a decimal digit of a script we may meet stands for. A
/// model must not get a price past the filter by writing it in another
/// script's digits.
fn ascii_digit(c: char) -> Option<char> {
    let zero = match c {
        '0'..='9' => return Some(c),
        '\u{09E6}'..='\u{09EF}' => 0x09E6, // Bengali
        '\u{0966}'..='\u{096F}' => 0x0966, // Devanagari
        '\u{0660}'..='\u{0669}' => 0x0660, // Arabic-Indic
        '\u{06F0}'..='\u{06F9}' => 0x06F0, // Extended Arabic-Indic
        '\u{FF10}'..='\u{FF19}' => 0xFF10, // Fullwidth
        _ => return None,
    };
    char::from_digit(u32::from(c) - zero, 10)
}

fn is_bengali_block(c: char) -> bool {
    ('\u{0980}'..='\u{09FF}').contains(&c)
}

/// Letters and digits of any script, Bangla vowel signs and virama (which
/// are not all alphanumeric in Unicode), and the joiners Bangla conjuncts use.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_bengali_block(c) || c == '\u{200C}' || c == '\u{200D}'
}

fn mask_span(mask: &mut [bool], start: usize, end: usize) {
    if let Some(span) = mask.get_mut(start..end) {
        span.fill(true);
    }
}

fn is_masked(mask: &[bool], index: usize) -> bool {
    mask.get(index).copied().unwrap_or(true)
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED_CHARS {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(MAX_QUOTED_CHARS).collect();
        short.push('…');
        short
    }
}

// ------------------------------------------------------------ what is allowed

/// Everything a reply may state, gathered once per check.
struct Allowed {
    /// Normalised numbers (see [`numbers_in`]).
    numbers: HashSet<String>,
    /// Normalised phone numbers.
    phones: HashSet<String>,
    /// Email addresses the owner wrote, lowercase.
    emails: HashSet<String>,
    /// The owner's link domains, lowercase, without scheme or `www.`.
    link_domains: Vec<String>,
    /// The shop's address and the customer's.
    addresses: Vec<AddressSource>,
}

impl Allowed {
    fn new(grounding: &Grounding, customer: &CustomerFacts, computed: &[String]) -> Self {
        let mut allowed = Allowed {
            numbers: HashSet::new(),
            phones: HashSet::new(),
            emails: HashSet::new(),
            link_domains: grounding
                .link_domains
                .iter()
                .map(|domain| normalise_domain(domain))
                .filter(|domain| !domain.is_empty())
                .collect(),
            addresses: Vec::new(),
        };

        for text in owner_texts(grounding) {
            allowed.collect(text);
        }
        let mut amount = |minor: i64| allowed.collect(&format_plain(Money::from_minor(minor)));
        for product in &grounding.products {
            amount(product.price_minor);
            if let Some(sale) = product.sale_price_minor {
                amount(sale);
                // "You save ৳200" is as true as either price.
                amount(product.price_minor.saturating_sub(sale));
            }
            for variant in &product.variants {
                amount(product.variant_price_minor(variant));
                amount(variant.price_delta_minor);
            }
        }
        for area in &grounding.delivery_areas {
            amount(area.charge_minor);
        }
        let mut counts: Vec<i64> = vec![grounding.catalog_size];
        for product in &grounding.products {
            counts.extend(product.stock.map(i64::from));
            counts.extend(product.variants.iter().filter_map(|v| v.stock.map(i64::from)));
        }
        for area in &grounding.delivery_areas {
            counts.push(i64::from(area.min_days));
            counts.push(i64::from(area.max_days));
        }
        for count in counts {
            allowed.collect(&count.to_string());
        }
        for phone in &grounding.owner_phones {
            allowed.add_phone(phone);
        }

        if let Some(phone) = &customer.phone {
            allowed.add_phone(phone);
        }
        for number in &customer.numbers {
            allowed.collect(number);
            allowed.add_phone(number);
        }
        if let Some(address) = &customer.address {
            allowed.collect(address);
        }
        for value in computed {
            allowed.collect(value);
        }

        allowed.addresses = [Some(grounding.owner_address.as_str()), customer.address.as_deref()]
            .into_iter()
            .flatten()
            .filter(|address| !address.trim().is_empty())
            .map(AddressSource::new)
            .collect();
        allowed
    }

    /// Adds every number, phone and email in `text` (scanned like a draft,
    /// but keeping every reading of a phone-like span).
    fn collect(&mut self, text: &str) {
        let chars = Chars::new(text);
        let mut mask = vec![false; chars.len()];
        for link in find_links(&chars) {
            mask_span(&mut mask, link.start, link.end);
            if let Some(email) = link.email {
                self.emails.insert(email);
            }
        }
        let phones = &mut self.phones;
        let found = find_phones(&chars, &mask, |candidates| {
            phones.extend(candidates.iter().map(|candidate| candidate.digits.clone()));
            0
        });
        for phone in found {
            mask_span(&mut mask, phone.start, phone.end);
        }
        self.numbers.extend(find_numbers(&chars, &mask));
    }

    /// A phone given as data (digits, perhaps with `+`, spaces or dashes).
    fn add_phone(&mut self, phone: &str) {
        let digits: String = phone.chars().filter_map(ascii_digit).collect();
        if digits.len() >= MIN_PHONE_DIGITS {
            self.phones.insert(normalise_phone(&digits));
        }
    }

    /// Which reading of a phone-like span to take: the longest one we know
    /// (a known phone followed by a quantity), else [`likely_phone`].
    fn choose_phone(&self, candidates: &[PhoneCandidate]) -> usize {
        candidates
            .iter()
            .rposition(|candidate| self.phones.contains(&candidate.digits) || self.numbers.contains(&candidate.raw))
            .unwrap_or_else(|| likely_phone(candidates))
    }

    fn phone_ok(&self, phone: &PhoneHit) -> bool {
        // A long number from the data (an order number, a SKU) is not a
        // phone anyone invented.
        self.phones.contains(&phone.digits) || self.numbers.contains(&phone.raw)
    }

    fn link_ok(&self, link: &LinkHit) -> bool {
        let domain_ok = self.link_domains.iter().any(|domain| {
            link.host
                .strip_suffix(domain.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
        });
        domain_ok || link.email.as_ref().is_some_and(|email| self.emails.contains(email))
    }

    fn address_ok(&self, address: &AddressHit) -> bool {
        self.addresses.iter().any(|source| {
            address.units.iter().all(|unit| source.units.contains(unit))
                || source.flat.contains(&format!(" {} ", address.flat))
        })
    }
}

/// Every text the owner wrote that a reply may quote from. The "never say"
/// phrases and review topics are deliberately absent: they say what not to
/// say, so they must not make anything sayable.
fn owner_texts(grounding: &Grounding) -> Vec<&str> {
    let profile = &grounding.profile;
    let mut texts: Vec<&str> = vec![
        &profile.name,
        &profile.description,
        &profile.city,
        &profile.currency,
        &profile.opening_hours,
        &profile.return_policy,
        &grounding.rules.tone,
        &grounding.rules.greeting,
        &grounding.rules.away_message,
        &grounding.rules.holding_message,
        &grounding.owner_address,
    ];
    texts.extend(profile.languages.iter().map(String::as_str));
    for product in &grounding.products {
        texts.extend([
            product.name.as_str(),
            product.sku.as_str(),
            product.description.as_str(),
        ]);
        texts.extend(product.name_bn.as_deref());
        texts.extend(product.tags.iter().map(String::as_str));
        for variant in &product.variants {
            texts.extend([variant.size.as_str(), variant.colour.as_str()]);
        }
    }
    for area in &grounding.delivery_areas {
        texts.push(&area.name);
    }
    for method in &grounding.payment_methods {
        texts.extend([
            method.kind.as_str(),
            method.label.as_str(),
            method.instructions.as_str(),
        ]);
    }
    for entry in &grounding.faq {
        texts.push(&entry.answer);
    }
    texts
}

// ------------------------------------------------------------ links

/// Top-level domains a bare `name.tld` (without scheme, `www.` or a path)
/// is read as a link for. Any other `word.word` is more likely a missing
/// space after a full stop ("ok.thanks") than a link; with a path
/// ("name.anything/…") it is a link whatever the ending.
const LINK_TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "io", "co", "me", "ly", "gl", "gd", "app", "dev", "shop", "store", "online",
    "site", "website", "xyz", "link", "page", "top", "club", "live", "bd", "pk", "uk", "us", "ai", "tv", "cc", "ws",
    "ru", "cn", "sg", "ae", "lk", "np", "edu", "gov", "asia", "tech", "space", "fun", "icu", "cloud", "digital",
    "news", "blog", "click", "buzz", "vip", "pro", "mobi", "one", "world", "today", "sale", "deals", "market", "email",
];

/// A link or email address in a text, with its span in characters.
struct LinkHit {
    start: usize,
    end: usize,
    /// Lowercase, without `www.`, port or user info.
    host: String,
    /// For an email address, the whole address, lowercase.
    email: Option<String>,
}

/// Characters that end a word when looking for links. Not `.`, `/`, `:`,
/// `@`, `?`, `#` or `-`, which belong inside URLs.
fn is_link_separator(c: char) -> bool {
    c.is_whitespace() || "()[]{}<>\"'`|,;!“”‘’«»।॥".contains(c)
}

fn find_links(text: &Chars) -> Vec<LinkHit> {
    let mut hits = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text.at(i).is_none_or(is_link_separator) {
            i += 1;
            continue;
        }
        let start = i;
        while text.at(i).is_some_and(|c| !is_link_separator(c)) {
            i += 1;
        }
        let word = text.norm_text(start, i).to_lowercase();
        if let Some((host, email)) = classify_word(&word) {
            hits.push(LinkHit {
                start,
                end: i,
                host,
                email,
            });
        }
    }
    hits
}

/// Whether a word is a link (returning its host) or an email address
/// (returning its domain and the address).
fn classify_word(word: &str) -> Option<(String, Option<String>)> {
    if let Some((_, rest)) = word.split_once("://") {
        let host = host_of(rest);
        return Some((if host.is_empty() { shorten(word) } else { host }, None));
    }
    let word = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    if word.starts_with("www.") {
        let host = host_of(word);
        return Some((if host.is_empty() { shorten(word) } else { host }, None));
    }
    if let Some((local, domain)) = word.rsplit_once('@') {
        // "@shop.page" is a social handle, not an address or a link.
        let local = local
            .rsplit(|c: char| !(c.is_alphanumeric() || "._%+-".contains(c)))
            .next()?;
        let domain = domain_prefix(domain);
        if local.is_empty() || !is_domain(domain, true) {
            return None;
        }
        let host = strip_www(domain).to_owned();
        return Some((host, Some(format!("{local}@{domain}"))));
    }
    let host = domain_prefix(word);
    let rest = word.get(host.len()..).unwrap_or_default();
    let has_path = rest.starts_with('/')
        || rest
            .strip_prefix(':')
            .is_some_and(|port| port.starts_with(|c: char| c.is_ascii_digit()));
    // A bare domain names a site only if some label has a letter: "250.shop"
    // after a price is a missing space, not a link.
    let labels_have_letter = host
        .rsplit_once('.')
        .is_some_and(|(labels, _)| labels.chars().any(char::is_alphabetic));
    if labels_have_letter && is_domain(host, has_path) {
        return Some((strip_www(host).to_owned(), None));
    }
    None
}

/// The longest prefix of `text` that could be a host name, without a
/// trailing dot or dash.
fn domain_prefix(text: &str) -> &str {
    let end = text
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .map_or(text.len(), |(index, _)| index);
    text.get(..end).unwrap_or_default().trim_end_matches(['.', '-'])
}

/// Whether `host` has the shape of a domain name: two or more non-empty
/// labels and an alphabetic top-level domain of two or more letters, which
/// must be a common one unless `any_tld`.
fn is_domain(host: &str, any_tld: bool) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let Some(tld) = labels.last() else {
        return false;
    };
    labels.len() >= 2
        && labels
            .iter()
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_')))
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && (any_tld || LINK_TLDS.contains(tld))
}

/// The host of a URL after its scheme: up to the path, query or fragment
/// (a backslash counts as a slash, as browsers read it), after any user
/// info (`good.com@evil.com` goes to evil.com), without port, trailing dot
/// or `www.`.
fn host_of(authority_and_path: &str) -> String {
    let authority = authority_and_path
        .split(['/', '?', '#', '\\'])
        .next()
        .unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    strip_www(host.trim_end_matches('.')).to_owned()
}

fn strip_www(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

/// A link domain as the owner configured it, in the form hosts are compared.
fn normalise_domain(domain: &str) -> String {
    let lower = domain.trim().to_lowercase();
    let without_scheme = lower.split_once("://").map_or(lower.as_str(), |(_, rest)| rest);
    host_of(without_scheme)
}

// ------------------------------------------------------------ phones

/// One way to read a phone-like span: up to `end`, with these digits.
struct PhoneCandidate {
    end: usize,
    /// Normalised (see [`normalise_phone`]).
    digits: String,
    /// As written, digits only.
    raw: String,
}

struct PhoneHit {
    start: usize,
    end: usize,
    digits: String,
    raw: String,
}

/// What may sit between the digit groups of one phone number, one or two
/// at a time: `01711-000000`, `+880 1711 000000`, `(+880) 1711000000`.
fn is_phone_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '(' | ')' | '\u{00A0}' | '\u{2011}')
}

/// Phone numbers in `text` outside `mask`. A phone is a run of 8+ digits,
/// or digit groups joined by single spaces or dashes that start with `+`,
/// `0` or `880` (how Bangladeshi numbers are written: `01711-000000`,
/// `+880 1711 000000`). Such a span may run on into a quantity ("01711000000
/// 2 ta"), so each group boundary with 8+ digits before it is a candidate
/// and `choose` picks one (an index into the candidates, shortest first).
fn find_phones(text: &Chars, mask: &[bool], mut choose: impl FnMut(&[PhoneCandidate]) -> usize) -> Vec<PhoneHit> {
    let free_digit = |k: usize| !is_masked(mask, k) && text.at(k).is_some_and(|c| c.is_ascii_digit());
    let mut hits = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let plus = text.at(i) == Some('+') && !is_masked(mask, i) && free_digit(i + 1);
        let after_digit = i > 0 && text.at(i - 1).is_some_and(|c| c.is_ascii_digit());
        let starts = plus || (free_digit(i) && !after_digit);
        if !starts {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = if plus { i + 1 } else { i };
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut total = 0;
        loop {
            let group_start = j;
            while free_digit(j) {
                j += 1;
            }
            groups.push((group_start, j));
            total += j - group_start;
            let separators = (j..j + 2)
                .take_while(|&k| !is_masked(mask, k) && text.at(k).is_some_and(is_phone_separator))
                .count();
            if separators > 0 && free_digit(j + separators) && total <= MAX_PHONE_DIGITS {
                j += separators;
            } else {
                break;
            }
        }
        let candidates = phone_candidates(text, &groups, plus);
        if candidates.is_empty() {
            // Not a phone: the first group is read as a number later, and the
            // next group may start a phone of its own.
            i = groups.first().map_or(i + 1, |(_, end)| *end).max(i + 1);
            continue;
        }
        let pick = choose(&candidates).min(candidates.len() - 1);
        if let Some(candidate) = candidates.into_iter().nth(pick) {
            i = candidate.end.max(i + 1);
            hits.push(PhoneHit {
                start,
                end: candidate.end,
                digits: candidate.digits,
                raw: candidate.raw,
            });
        } else {
            i += 1;
        }
    }
    hits
}

fn phone_candidates(text: &Chars, groups: &[(usize, usize)], plus: bool) -> Vec<PhoneCandidate> {
    let mut candidates = Vec::new();
    let Some(&(first_start, first_end)) = groups.first() else {
        return candidates;
    };
    let first = text.norm_text(first_start, first_end);
    let prefixed = plus || first.starts_with('0') || first.starts_with("880");
    if groups.len() == 1 || !prefixed {
        if first.len() >= MIN_PHONE_DIGITS {
            candidates.push(PhoneCandidate {
                end: first_end,
                digits: normalise_phone(&first),
                raw: normalise_integer(&first),
            });
        }
        return candidates;
    }
    let mut digits = String::new();
    for &(start, end) in groups {
        digits.push_str(&text.norm_text(start, end));
        if digits.len() >= MIN_PHONE_DIGITS {
            candidates.push(PhoneCandidate {
                end,
                digits: normalise_phone(&digits),
                raw: normalise_integer(&digits),
            });
        }
    }
    candidates
}

/// One spelling per Bangladeshi number: `8801711000000` (from `+880…`)
/// and `1711000000` (after `(+880)`) are `01711000000`.
fn normalise_phone(digits: &str) -> String {
    match digits.strip_prefix("880") {
        Some(rest) if rest.len() >= 7 => format!("0{rest}"),
        _ if is_mobile_without_zero(digits) => format!("0{digits}"),
        _ => digits.to_owned(),
    }
}

/// `17xxxxxxxx`: a Bangladeshi mobile number (operator codes 13–19)
/// without its leading 0.
fn is_mobile_without_zero(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    bytes.len() == 10 && bytes.first() == Some(&b'1') && bytes.get(1).is_some_and(|b| (b'3'..=b'9').contains(b))
}

/// Without knowing which phones are allowed, the reading of a phone-like
/// span to take: the one that is a whole Bangladeshi mobile number
/// (`01` and 11 digits) if any, else the shortest.
fn likely_phone(candidates: &[PhoneCandidate]) -> usize {
    candidates
        .iter()
        .position(|candidate| candidate.digits.len() == 11 && candidate.digits.starts_with("01"))
        .unwrap_or(0)
}

// ------------------------------------------------------------ numbers

/// The numbers in `text` outside `mask`, normalised (see [`numbers_in`]).
fn find_numbers(text: &Chars, mask: &[bool]) -> Vec<String> {
    find_numbers_at(text, mask)
        .into_iter()
        .map(|(_, number)| number)
        .collect()
}

/// [`find_numbers`] with each number's start.
fn find_numbers_at(text: &Chars, mask: &[bool]) -> Vec<(usize, String)> {
    let free_digit = |k: usize| !is_masked(mask, k) && text.at(k).is_some_and(|c| c.is_ascii_digit());
    let free_is = |k: usize, want: char| !is_masked(mask, k) && text.at(k) == Some(want);
    let mut hits = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let Some(c) = text.at(i) else { break };
        if is_masked(mask, i) {
            i += 1;
            continue;
        }
        if !c.is_ascii_digit() {
            // Other numerals (½, Ⅻ, superscripts) cannot be read as a value;
            // they pass only if the owner wrote the same character.
            if c.is_numeric() {
                hits.push((i, c.to_string()));
            }
            i += 1;
            continue;
        }
        // Right after "12." in "12.05.2024" or "1.2.3": part of a dotted
        // chain (a date, a version), not a decimal.
        let in_chain = i >= 2 && text.at(i - 1) == Some('.') && text.at(i - 2).is_some_and(|c| c.is_ascii_digit());
        let start = i;
        let mut groups: Vec<(usize, String)> = Vec::new();
        let mut j = i;
        loop {
            let group_start = j;
            while free_digit(j) {
                j += 1;
            }
            groups.push((group_start, text.norm_text(group_start, j)));
            if free_is(j, ',') && free_digit(j + 1) {
                j += 1;
            } else {
                break;
            }
        }
        let mut fraction = None;
        if !in_chain && free_is(j, '.') && free_digit(j + 1) {
            let mut k = j + 1;
            while free_digit(k) {
                k += 1;
            }
            if !(free_is(k, '.') && free_digit(k + 1)) {
                fraction = Some(text.norm_text(j + 1, k));
                j = k;
            }
        }
        let strings: Vec<&str> = groups.iter().map(|(_, group)| group.as_str()).collect();
        if groups.len() == 1 || thousands_grouped(&strings) {
            hits.push((start, with_fraction(&strings.concat(), fraction.as_deref())));
        } else {
            // "38,40,42" is a list of sizes, not one number.
            let last = groups.len() - 1;
            for (index, (group_start, group)) in groups.iter().enumerate() {
                let fraction = if index == last { fraction.as_deref() } else { None };
                hits.push((*group_start, with_fraction(group, fraction)));
            }
        }
        i = j.max(i + 1);
    }
    hits
}

/// Whether comma-separated digit groups are one number with thousands
/// separators, international (`1,250,000`) or Bangladeshi lakh style
/// (`12,50,000`): a first group of 1–3 digits, a last one of 3, and 2 or 3
/// in between.
fn thousands_grouped(groups: &[&str]) -> bool {
    let Some((first, rest)) = groups.split_first() else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return false;
    };
    (1..=3).contains(&first.len()) && last.len() == 3 && middle.iter().all(|group| (2..=3).contains(&group.len()))
}

fn normalise_integer(digits: &str) -> String {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// `1250` + `5` → `1250.50`, `1250` + `00` → `1250`: the form
/// [`format_plain`] writes amounts in.
fn with_fraction(integer: &str, fraction: Option<&str>) -> String {
    let integer = normalise_integer(integer);
    let fraction = fraction.unwrap_or_default().trim_end_matches('0');
    match fraction.len() {
        0 => integer,
        1 => format!("{integer}.{fraction}0"),
        _ => format!("{integer}.{fraction}"),
    }
}

// ------------------------------------------------------------ addresses

/// A word of a text: letters or digits, never both, with its span.
struct Token {
    start: usize,
    end: usize,
    /// Lowercase and Bangla-folded for words; leading zeros dropped for numbers.
    text: String,
    number: bool,
}

/// Splits into words, with letters and digits apart ("House12" → "house",
/// "12"), so the same address matches however it is spaced.
fn tokens(text: &Chars) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let Some(c) = text.at(i) else { break };
        if !is_word_char(c) {
            i += 1;
            continue;
        }
        let number = c.is_ascii_digit();
        let start = i;
        while text
            .at(i)
            .is_some_and(|c| is_word_char(c) && c.is_ascii_digit() == number)
        {
            i += 1;
        }
        let raw = text.norm_text(start, i);
        let text = if number {
            normalise_integer(&raw)
        } else {
            fold_bangla(&raw.to_lowercase())
        };
        tokens.push(Token {
            start,
            end: i,
            text,
            number,
        });
    }
    tokens
}

/// Folds Bangla spelling variants with the shared text layer (other
/// scripts pass unchanged), so addresses compare however they are spelled.
fn fold_bangla(word: &str) -> String {
    super::text::fold_bengali(word)
}

/// Words that start an address part when a number follows, with the part
/// they name. English, Bangla and Banglish spellings.
static ADDRESS_WORDS: LazyLock<Vec<(String, &'static str)>> = LazyLock::new(|| {
    [
        ("house", "house"),
        ("bari", "house"),
        ("basa", "house"),
        ("basha", "house"),
        ("বাড়ি", "house"),
        ("বাসা", "house"),
        ("হাউস", "house"),
        ("road", "road"),
        ("rd", "road"),
        ("রোড", "road"),
        ("flat", "flat"),
        ("apartment", "flat"),
        ("apt", "flat"),
        ("ফ্ল্যাট", "flat"),
        ("ফ্লাট", "flat"),
        ("sector", "sector"),
        ("সেক্টর", "sector"),
        ("block", "block"),
        ("ব্লক", "block"),
        ("lane", "lane"),
        ("লেন", "lane"),
        ("avenue", "avenue"),
        ("ave", "avenue"),
        ("street", "street"),
        ("plot", "plot"),
        ("প্লট", "plot"),
    ]
    .into_iter()
    .map(|(word, part)| (fold_bangla(word), part))
    .collect()
});

/// Words between an address word and its number ("House no. 12", "বাড়ি নং ১২").
const ADDRESS_FILLERS: &[&str] = &["no", "nong", "number", "নং", "নম্বর", "নাম্বার"];

/// Words after a number that make it an amount, not an address part
/// ("flat 50 taka off").
const AMOUNT_WORDS: &[&str] = &["tk", "taka", "টাকা", "off", "percent", "discount", "ছাড়"];

/// An address fragment in a text: one or more (part, number) units, like
/// ("house", "12"), ("road", "5").
struct AddressHit {
    quoted: String,
    units: Vec<(&'static str, String)>,
    /// The units as text, `house 12 road 5`, for containment checks.
    flat: String,
}

fn address_word(text: &Chars, token: &Token) -> Option<&'static str> {
    if token.number {
        return None;
    }
    // "H#12, R#5" is how many Dhaka addresses are written.
    if text.at(token.end) == Some('#') {
        match token.text.as_str() {
            "h" => return Some("house"),
            "r" => return Some("road"),
            _ => {}
        }
    }
    ADDRESS_WORDS
        .iter()
        .find(|(word, _)| *word == token.text)
        .map(|(_, part)| *part)
}

/// Whether only punctuation that can sit inside an address lies between two
/// tokens.
fn address_gap(text: &Chars, from: usize, to: usize, separators: &str) -> bool {
    to >= from
        && to - from <= 4
        && (from..to).all(|k| text.at(k).is_some_and(|c| c.is_whitespace() || separators.contains(c)))
}

/// An address unit starting at token `at`: its part, its number, and the
/// index of the number token.
fn address_unit(text: &Chars, tokens: &[Token], at: usize) -> Option<(usize, (&'static str, String))> {
    let part = address_word(text, tokens.get(at)?)?;
    let mut previous_end = tokens.get(at)?.end;
    let mut k = at + 1;
    loop {
        let token = tokens.get(k)?;
        if !address_gap(text, previous_end, token.start, "#:-.–") {
            return None;
        }
        if token.number {
            let percent = text.at(token.end) == Some('%');
            let amount = tokens.get(k + 1).is_some_and(|next| {
                AMOUNT_WORDS.contains(&next.text.as_str()) && address_gap(text, token.end, next.start, "")
            });
            return (!percent && !amount).then(|| (k, (part, token.text.clone())));
        }
        if k - at > 2 || !ADDRESS_FILLERS.contains(&token.text.as_str()) {
            return None;
        }
        previous_end = token.end;
        k += 1;
    }
}

/// Address fragments: address units in a row ("House 12, Road 5, Flat 3B").
fn find_addresses(text: &Chars) -> Vec<AddressHit> {
    let tokens = tokens(text);
    let mut hits = Vec::new();
    let mut at = 0;
    while at < tokens.len() {
        let Some((mut last, unit)) = address_unit(text, &tokens, at) else {
            at += 1;
            continue;
        };
        let start = tokens.get(at).map_or(0, |token| token.start);
        let mut units = vec![unit];
        loop {
            let mut end = tokens.get(last).map_or(start, |token| token.end);
            let mut next = last + 1;
            // A unit letter: "12/A", "১২/এ", "3B" (but not the Bangla
            // postposition in "রোড ৫ এ").
            if let Some(token) = tokens.get(next)
                && token.text.chars().count() == 1
                && token.text.chars().all(char::is_alphabetic)
                && (end..token.start).all(|k| text.at(k).is_some_and(|c| matches!(c, '/' | '-')))
                && (token.start > end || token.text.is_ascii())
            {
                end = token.end;
                next += 1;
            }
            let follows = tokens
                .get(next)
                .is_some_and(|token| address_gap(text, end, token.start, ",/-"));
            match address_unit(text, &tokens, next).filter(|_| follows) {
                Some((number_at, unit)) => {
                    units.push(unit);
                    last = number_at;
                }
                None => {
                    let flat = units
                        .iter()
                        .map(|(part, number)| format!("{part} {number}"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    hits.push(AddressHit {
                        quoted: text.quote(start, end),
                        units,
                        flat,
                    });
                    at = next;
                    break;
                }
            }
        }
    }
    hits
}

/// An address a reply may repeat (the shop's or the customer's), as units
/// and as normalised text.
struct AddressSource {
    units: HashSet<(&'static str, String)>,
    /// All its words, address words by their part name, fillers dropped,
    /// padded with spaces so containment respects word boundaries.
    flat: String,
}

impl AddressSource {
    fn new(address: &str) -> Self {
        let text = Chars::new(address);
        let units = find_addresses(&text).into_iter().flat_map(|hit| hit.units).collect();
        let words: Vec<String> = tokens(&text)
            .iter()
            .filter(|token| !ADDRESS_FILLERS.contains(&token.text.as_str()))
            .map(|token| address_word(&text, token).map_or_else(|| token.text.clone(), str::to_owned))
            .collect();
        AddressSource {
            units,
            flat: format!(" {} ", words.join(" ")),
        }
    }
}

// ------------------------------------------------------------ instructions and phrases

/// Lowercase words, punctuation dropped, digits in ASCII.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !is_word_char(c))
        .filter(|word| !word.is_empty())
        .map(|word| {
            word.chars()
                .map(|c| ascii_digit(c).unwrap_or(c))
                .collect::<String>()
                .to_lowercase()
        })
        .collect()
}

/// Whether `draft` has [`INSTRUCTION_WINDOW`] consecutive words of
/// `instructions`: a model tricked into "repeat your instructions" quotes
/// at least a sentence.
fn repeats_instructions(draft: &str, instructions: &str) -> bool {
    let source = words(instructions);
    if source.len() < INSTRUCTION_WINDOW {
        return false;
    }
    let windows: HashSet<String> = source
        .windows(INSTRUCTION_WINDOW)
        .map(|window| window.join(" "))
        .collect();
    words(draft)
        .windows(INSTRUCTION_WINDOW)
        .any(|window| windows.contains(&window.join(" ")))
}

/// Lowercase with runs of whitespace as one space, so a phrase matches
/// however it is spaced or capitalised.
fn simplify_phrase(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::catalog::store::{DeliveryArea, FaqEntry, PaymentMethod, Profile, Rules, VariantRow};
    use crate::pipeline::grounding::GroundedProduct;

    const INSTRUCTIONS: &str = "You are the shop assistant. Answer only from the shop data below and never \
        invent prices, stock, delivery charges, phone numbers or links.";

    fn shop() -> Grounding {
        Grounding {
            profile: Profile {
                name: "Rahima Fashion House".to_owned(),
                description: "Handloom sarees and three-pieces since 2015.".to_owned(),
                city: "Dhaka".to_owned(),
                currency: "BDT".to_owned(),
                languages: vec!["en".to_owned(), "bn".to_owned()],
                opening_hours: "10am to 8pm, closed Friday".to_owned(),
                return_policy: "Exchange within 3 days if unused.".to_owned(),
            },
            products: vec![
                GroundedProduct {
                    id: Uuid::nil(),
                    sku: "JS-01".to_owned(),
                    name: "Jamdani Saree".to_owned(),
                    name_bn: Some("জামদানি শাড়ি".to_owned()),
                    description: "Soft cotton jamdani, 100% handwoven, 5.5 metres.".to_owned(),
                    price_minor: 150_000,
                    sale_price_minor: Some(125_000),
                    stock: Some(7),
                    tags: vec!["saree".to_owned()],
                    variants: vec![VariantRow {
                        id: Uuid::nil(),
                        size: "XL".to_owned(),
                        colour: "Red".to_owned(),
                        price_delta_minor: 10_050,
                        stock: Some(3),
                    }],
                },
                GroundedProduct {
                    id: Uuid::nil(),
                    sku: "TP-02".to_owned(),
                    name: "Three-piece".to_owned(),
                    name_bn: None,
                    description: "Lawn three-piece, sizes 38,40,42.".to_owned(),
                    price_minor: 185_050,
                    sale_price_minor: None,
                    stock: None,
                    tags: vec![],
                    variants: vec![],
                },
            ],
            catalog_size: 45,
            delivery_areas: vec![DeliveryArea {
                id: Uuid::nil(),
                name: "Inside Dhaka".to_owned(),
                charge_minor: 6_000,
                min_days: 2,
                max_days: 3,
            }],
            payment_methods: vec![PaymentMethod {
                id: Uuid::nil(),
                kind: "bkash".to_owned(),
                label: "bKash".to_owned(),
                instructions: "Send Money to 01812-345678 (personal) and share the last 4 digits.".to_owned(),
            }],
            rules: Rules {
                tone: "friendly".to_owned(),
                never_say: vec!["Guaranteed   original".to_owned(), "  ".to_owned()],
                review_topics: vec!["refund 777".to_owned()],
                greeting: "Assalamu alaikum! Welcome to Rahima Fashion House.".to_owned(),
                away_message: String::new(),
                holding_message: "The owner will reply within 2 hours.".to_owned(),
            },
            faq: vec![FaqEntry {
                id: Uuid::nil(),
                patterns: vec!["cash on delivery 999?".to_owned()],
                answer: "Yes, cash on delivery inside Dhaka. Email rahima@gmail.com for bulk orders.".to_owned(),
            }],
            link_domains: vec!["rahima.shop".to_owned(), "https://www.Facebook.com/".to_owned()],
            owner_phones: vec!["8801711000000".to_owned()],
            owner_address: "House 12, Road 5, Dhanmondi, Dhaka 1209".to_owned(),
        }
    }

    fn customer() -> CustomerFacts {
        CustomerFacts {
            numbers: vec!["2".to_owned(), "01911222333".to_owned()],
            phone: Some("01911222333".to_owned()),
            address: Some("বাসা ৪২, রোড ৭, মিরপুর ১০".to_owned()),
        }
    }

    fn run(draft: &str) -> Result<(), Vec<Refusal>> {
        check(draft, &shop(), &customer(), &["2560".to_owned()], INSTRUCTIONS)
    }

    fn refused(draft: &str) -> Vec<Refusal> {
        match run(draft) {
            Ok(()) => panic!("expected a refusal for {draft:?}"),
            Err(refusals) => refusals,
        }
    }

    fn accept(draft: &str) {
        assert_eq!(run(draft), Ok(()), "{draft}");
    }

    #[test]
    fn accepts_a_realistic_english_reply() {
        accept(
            "Assalamu alaikum! The Jamdani Saree (JS-01) is ৳1,250 now, down from ৳1,500, so you save ৳250. \
             The red XL is ৳1,350.50 and we have 3 left (7 in all). Delivery inside Dhaka costs ৳60 and takes \
             2-3 days. For 2 pieces the total is ৳2,560. Pay by bKash to 01812-345678 or call +880 1711-000000. \
             See https://rahima.shop/p/js-01?ref=fb or www.facebook.com/rahimafashion. We are at House 12, Road 5, \
             Dhanmondi. Open 10am to 8pm.",
        );
    }

    #[test]
    fn accepts_a_realistic_bangla_reply_with_bangla_digits() {
        accept(
            "জামদানি শাড়ির দাম এখন ৳১,২৫০। ঢাকার ভেতরে ডেলিভারি চার্জ ৬০ টাকা, ২-৩ দিনে পৌঁছে যাবে। \
             বিকাশ করুন ০১৮১২-৩৪৫৬৭৮ নম্বরে। আপনার ঠিকানা: বাসা নং ৪২, রোড ৭, মিরপুর ১০ — ঠিক আছে?",
        );
        assert_eq!(numbers_in("৳১,২৫০"), vec!["1250"]);
    }

    #[test]
    fn accepts_a_realistic_banglish_reply() {
        accept(
            "Apu, Jamdani Saree er dam ekhon 1250tk. Dhaka-r moddhe delivery 60 taka, 2-3 diner moddhe pouche \
             jabe. 2ta nile total 2560 taka. bKash korben 01812345678 e, apnar number 01911-222333 e call dibo. \
             Aro dekhte rahima.shop/sarees e jan.",
        );
    }

    #[test]
    fn an_empty_reply_is_refused_alone() {
        assert_eq!(refused(""), vec![Refusal::Empty]);
        assert_eq!(refused(" \n\t "), vec![Refusal::Empty]);
    }

    #[test]
    fn a_long_reply_is_refused() {
        let draft = "ok ".repeat(400);
        assert_eq!(
            refused(&draft),
            vec![Refusal::TooLong {
                chars: 1200,
                max: MAX_REPLY_CHARS
            }]
        );
        accept(&"ok".repeat(500));
    }

    #[test]
    fn unknown_numbers_are_refused_in_any_script() {
        assert_eq!(
            refused("It costs ৳999."),
            vec![Refusal::UnknownNumber("999".to_owned())]
        );
        assert_eq!(refused("দাম ৳৯৯৯"), vec![Refusal::UnknownNumber("999".to_owned())]);
        assert_eq!(refused("दाम ९९९"), vec![Refusal::UnknownNumber("999".to_owned())]);
        assert_eq!(refused("Only ৳1,200!"), vec![Refusal::UnknownNumber("1200".to_owned())]);
        assert_eq!(refused("½ price"), vec![Refusal::UnknownNumber("½".to_owned())]);
    }

    #[test]
    fn prices_match_in_poisha_precision() {
        // 185050 poisha is 1850.50 taka, however it is written.
        accept("The three-piece is ৳1,850.50.");
        accept("The three-piece is 1850.5 taka.");
        accept("The saree is ৳1,250.00.");
        assert_eq!(
            refused("It is ৳1,850.51."),
            vec![Refusal::UnknownNumber("1850.51".to_owned())]
        );
        assert_eq!(refused("It is ৳1850."), vec![Refusal::UnknownNumber("1850".to_owned())]);
        // The minor units themselves are never a price.
        assert_eq!(
            refused("It is 125000."),
            vec![Refusal::UnknownNumber("125000".to_owned())]
        );
    }

    #[test]
    fn a_part_of_a_grouped_price_is_not_a_price() {
        // "1,850.50" is one number: "850.50" is not a price of the shop.
        accept("৳1,850.50");
        assert_eq!(refused("৳850.50"), vec![Refusal::UnknownNumber("850.50".to_owned())]);
        // Lists of sizes stay separate numbers.
        accept("Sizes 38,40,42.");
    }

    #[test]
    fn owner_texts_and_conversation_numbers_are_allowed() {
        accept("We have 45 products; 100% handwoven, 5.5 metres, since 2015. Exchange within 3 days.");
        accept("Your address: Mirpur 10.");
        accept("The owner will reply within 2 hours.");
        // The never-say list and review topics make nothing sayable.
        assert_eq!(refused("refund 777"), vec![Refusal::UnknownNumber("777".to_owned())]);
        // Neither do FAQ patterns, which customers wrote.
        assert_eq!(refused("999"), vec![Refusal::UnknownNumber("999".to_owned())]);
    }

    #[test]
    fn unknown_phone_numbers_are_refused() {
        assert_eq!(
            refused("Send money to 01799-999999."),
            vec![Refusal::PhoneNumber("01799999999".to_owned())]
        );
        assert_eq!(
            refused("Call +880 1799 999999 now"),
            vec![Refusal::PhoneNumber("01799999999".to_owned())]
        );
        assert_eq!(
            refused("call ০১৭৯৯৯৯৯৯৯৯"),
            vec![Refusal::PhoneNumber("01799999999".to_owned())]
        );
        assert_eq!(
            refused("id 12345678"),
            vec![Refusal::PhoneNumber("12345678".to_owned())]
        );
    }

    #[test]
    fn known_phone_numbers_pass_however_written() {
        accept("Call 01711000000, +8801711000000, 880-1711-000000 or +880 1711 000000.");
        accept("bKash: 01812 345678 (personal).");
        accept("We will call you at +880 1911 222333.");
        accept("Call (+880) 1711000000 or 01711 000 000.");
        // A known phone followed by a quantity.
        accept("01711000000 2 ta");
    }

    #[test]
    fn prices_next_to_each_other_are_not_a_phone() {
        accept("৳1500 1250");
        accept("1500-1250");
    }

    #[test]
    fn links_outside_the_owner_domains_are_refused() {
        assert_eq!(
            refused("Pay at https://evil.com/pay"),
            vec![Refusal::Link("evil.com".to_owned())]
        );
        assert_eq!(refused("see bit.ly/abc"), vec![Refusal::Link("bit.ly".to_owned())]);
        assert_eq!(refused("see evil.shop"), vec![Refusal::Link("evil.shop".to_owned())]);
        assert_eq!(refused("WWW.EVIL.COM"), vec![Refusal::Link("evil.com".to_owned())]);
        assert_eq!(
            refused("https://rahima.shop@evil.com/x"),
            vec![Refusal::Link("evil.com".to_owned())]
        );
        assert_eq!(
            refused("https://rahima.shop.evil.com/"),
            vec![Refusal::Link("rahima.shop.evil.com".to_owned())]
        );
        assert_eq!(
            refused("http://notrahima.shop"),
            vec![Refusal::Link("notrahima.shop".to_owned())]
        );
        // A Cyrillic "а" is not the owner's domain.
        assert_eq!(
            refused("https://rahim\u{0430}.shop/"),
            vec![Refusal::Link("rahim\u{0430}.shop".to_owned())]
        );
        assert_eq!(
            refused("write to x@evil.com"),
            vec![Refusal::Link("evil.com".to_owned())]
        );
        // Digits inside a link are the link's, not numbers stated.
        assert_eq!(
            refused("https://evil.com/999"),
            vec![Refusal::Link("evil.com".to_owned())]
        );
    }

    #[test]
    fn owner_links_and_emails_pass() {
        accept("https://RAHIMA.shop/p/123 and http://m.rahima.shop:8080/x and https://facebook.com/rahima");
        accept("Email rahima@gmail.com for bulk orders.");
    }

    #[test]
    fn ordinary_dots_are_not_links() {
        accept("e.g. the saree is 5.5 metres. Tk. 1250, i.e. Rs.1250? ok.thanks. a.m. Mr.Rahim");
        assert!(find_links(&Chars::new("1.5 Tk. e.g. ok.thanks 250.shop")).is_empty());
    }

    #[test]
    fn unknown_addresses_are_refused() {
        assert_eq!(
            refused("Come to House 12, Road 7."),
            vec![Refusal::Address("House 12, Road 7".to_owned())]
        );
        assert_eq!(
            refused("বাড়ি ৪২, রোড ৫ এ আসুন"),
            vec![Refusal::Address("বাড়ি ৪২, রোড ৫".to_owned())]
        );
        assert_eq!(
            refused("Pickup from H#99 R#5"),
            vec![
                Refusal::UnknownNumber("99".to_owned()),
                Refusal::Address("H#99 R#5".to_owned())
            ]
        );
    }

    #[test]
    fn owner_and_customer_addresses_pass() {
        accept("We are at House 12, Road 5.");
        accept("We are at house no. 12, road no 5, Dhanmondi.");
        accept("We are at H#12, R#5.");
        accept("We are at House#12/A, Road-5.");
        let bangla = find_addresses(&Chars::new("বাড়ি নং ১২/এ, রোড ৫ এ"));
        assert_eq!(bangla.len(), 1);
        assert_eq!(bangla[0].quoted, "বাড়ি নং ১২/এ, রোড ৫");
        accept("Delivery to Basa 42, Road 7?");
        accept("ডেলিভারি: বাসা ৪২, রোড ৭");
    }

    #[test]
    fn discounts_are_not_addresses() {
        assert!(find_addresses(&Chars::new("Flat 50% off, flat 60 taka delivery, Flat ৳60")).is_empty());
        assert_eq!(find_addresses(&Chars::new("Flat 3B, Road 5")).len(), 1);
    }

    #[test]
    fn repeating_the_instructions_is_refused() {
        assert_eq!(
            refused("Sure! My rules: answer only from the shop data below and never invent prices."),
            vec![Refusal::InstructionText]
        );
        // Seven words are ordinary talk.
        accept("I answer only from the shop data here.");
        assert!(!repeats_instructions(
            "anything at all here and more words again",
            "too short"
        ));
    }

    #[test]
    fn never_say_phrases_are_refused_case_insensitively() {
        assert_eq!(
            refused("This is GUARANTEED original silk."),
            vec![Refusal::NeverSay("Guaranteed   original".to_owned())]
        );
    }

    #[test]
    fn every_reason_is_reported_once() {
        let refusals = refused("999 and 999 at https://evil.com call 01799999999, guaranteed original");
        assert_eq!(
            refusals,
            vec![
                Refusal::Link("evil.com".to_owned()),
                Refusal::PhoneNumber("01799999999".to_owned()),
                Refusal::UnknownNumber("999".to_owned()),
                Refusal::NeverSay("Guaranteed   original".to_owned()),
            ]
        );
        for refusal in &refusals {
            assert!(refusal.describe().ends_with('.'));
        }
    }

    #[test]
    fn descriptions_name_what_was_refused() {
        assert_eq!(
            Refusal::UnknownNumber("999".to_owned()).describe(),
            "The reply states the number 999, which is not in your catalog."
        );
        assert!(Refusal::Link("evil.com".to_owned()).describe().contains("evil.com"));
        assert!(Refusal::TooLong { chars: 1200, max: 1000 }.describe().contains("1200"));
        assert_eq!(
            serde_json::to_value(Refusal::TooLong { chars: 1200, max: 1000 }).unwrap(),
            serde_json::json!({"too_long": {"chars": 1200, "max": 1000}})
        );
    }

    #[test]
    fn numbers_in_normalises() {
        assert_eq!(
            numbers_in("২টা নিবো, আমার নম্বর +৮৮০ ১৯১১-২২২৩৩৩, দাম ১,২৫০.৫ আর 12,50,000 ও 007"),
            vec!["2", "01911222333", "1250.50", "1250000", "7"]
        );
        assert_eq!(numbers_in("12.05.2024, v1.2.3"), vec!["12", "5", "2024", "1", "2", "3"]);
        assert_eq!(numbers_in("https://x.com/123 and 4"), vec!["4"]);
        assert_eq!(numbers_in("no digits"), Vec::<String>::new());
        // Without a known phone, a whole mobile number is the likely reading.
        assert_eq!(numbers_in("01711 000 000"), vec!["01711000000"]);
        assert_eq!(
            numbers_in("(+880) 1711000000, 01711000000 (2)"),
            vec!["01711000000", "2"]
        );
    }

    #[test]
    fn an_empty_grounding_allows_no_numbers_links_or_phones() {
        let result = check(
            "৳100 at x.com or 01711000000, House 1",
            &Grounding::default(),
            &CustomerFacts::default(),
            &[],
            "",
        );
        assert_eq!(
            result,
            Err(vec![
                Refusal::Link("x.com".to_owned()),
                Refusal::PhoneNumber("01711000000".to_owned()),
                Refusal::UnknownNumber("100".to_owned()),
                Refusal::UnknownNumber("1".to_owned()),
                Refusal::Address("House 1".to_owned()),
            ])
        );
        assert_eq!(
            check("Thank you!", &Grounding::default(), &CustomerFacts::default(), &[], ""),
            Ok(())
        );
    }

    /// A small deterministic generator (xorshift64*), so the fuzz loop needs
    /// no extra crate and every failure reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn odd_inputs_never_panic() {
        // Pieces joined by "|" (which is not one of them), to keep the list short.
        const PIECES: &str = "0|1|9|০|৯|৳|,|.|..|/|:|://|@|#|+|-| |\n|\t|\u{A0}|http://|https://|www.|.com|.shop|rahima|evil|House|Road|H#|R#|বাড়ি|রোড|নং|flat|%|taka|\u{09BC}|\u{09CD}|\u{200D}|\u{200C}|\u{202E}|\u{0}|½|Ⅻ|٣|９|𝟗|🙂|1️⃣|ß|İ|ǅ|guaranteed original|\\|?|&|'|\"|।|880|+880|01711000000|1,250|1,25,000|.5|5.|e.g.|Tk.|xn--|[|]|(|)|<|>|a|Z|🇧🇩";
        let pieces: Vec<&str> = PIECES.split('|').collect();
        let grounding = shop();
        let customer = customer();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..4000 {
            let length = rng.below(60);
            let mut draft = String::new();
            for _ in 0..length {
                draft.push_str(pieces[rng.below(pieces.len())]);
            }
            let first = check(&draft, &grounding, &customer, &["2560".to_owned()], INSTRUCTIONS);
            let second = check(&draft, &grounding, &customer, &["2560".to_owned()], INSTRUCTIONS);
            assert_eq!(first, second, "not deterministic for {draft:?}");
            if let Err(refusals) = first {
                assert!(!refusals.is_empty());
                for refusal in refusals {
                    assert!(!refusal.describe().is_empty());
                }
            }
            let _ = numbers_in(&draft);
        }
        // Long runs exercise the bounds on phone spans and quoting.
        let long = "0 ".repeat(20_000) + &"৯".repeat(20_000) + &"a.".repeat(20_000);
        assert!(check(&long, &grounding, &customer, &[], INSTRUCTIONS).is_err());
        let _ = numbers_in(&long);
    }
}
