//! Reading order details out of a customer's message: phone, quantity,
//! name and address, in English, Bangla and Banglish, alone or all at once.

use std::ops::Range;
use std::sync::LazyLock;

use super::intent::is_stopword;
use super::text::{Script, Token, ascii_digit, folded_words};

/// Where a Bangladeshi mobile number sits in a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PhoneScan {
    /// Eleven digits, `01[3-9]XXXXXXXX`.
    pub phone: Option<String>,
    /// Byte range of the number as written, so it is not read as a quantity
    /// or kept inside an address.
    pub span: Option<Range<usize>>,
    /// A long digit run that is not a valid mobile number (a typo to point out).
    pub invalid: bool,
}

/// A run of digits with its byte range.
struct DigitGroup {
    digits: String,
    span: Range<usize>,
}

/// Finds a Bangladeshi mobile number written with ASCII or Bangla digits,
/// spaces or dashes, with or without the `+880`/`880` country code.
pub(crate) fn find_phone(text: &str) -> PhoneScan {
    let mut scan = PhoneScan::default();
    for run in digit_runs(text) {
        if let Some((phone, span)) = phone_in_run(&run) {
            scan.phone = Some(phone);
            scan.span = Some(span);
            return scan;
        }
        if run.iter().map(|group| group.digits.len()).sum::<usize>() >= 9 {
            scan.invalid = true;
        }
    }
    scan
}

/// Groups of digits separated by at most two spaces, dashes or dots.
fn digit_runs(text: &str) -> Vec<Vec<DigitGroup>> {
    let mut runs: Vec<Vec<DigitGroup>> = Vec::new();
    let mut run: Vec<DigitGroup> = Vec::new();
    let mut separators = 0usize;
    for (at, c) in text.char_indices() {
        let digit = ascii_digit(c);
        if digit.is_ascii_digit() {
            let end = at + c.len_utf8();
            match run.last_mut() {
                Some(group) if separators == 0 => {
                    group.digits.push(digit);
                    group.span.end = end;
                }
                _ => run.push(DigitGroup {
                    digits: digit.to_string(),
                    span: at..end,
                }),
            }
            separators = 0;
        } else if matches!(c, ' ' | '-' | '.' | '\u{2013}') && !run.is_empty() && separators < 2 {
            separators += 1;
        } else {
            if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
            separators = 0;
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// The first consecutive groups of a run that spell a valid mobile number.
fn phone_in_run(run: &[DigitGroup]) -> Option<(String, Range<usize>)> {
    run.iter().enumerate().find_map(|(start, first)| {
        let mut digits = String::new();
        for group in run.iter().skip(start) {
            digits.push_str(&group.digits);
            if digits.len() > 13 {
                return None;
            }
            if let Some(phone) = normalise_phone(&digits) {
                return Some((phone, first.span.start..group.span.end));
            }
        }
        None
    })
}

/// `01XXXXXXXXX`, `8801XXXXXXXXX` or `88001XXXXXXXXX`… as the eleven local digits.
pub(super) fn normalise_phone(digits: &str) -> Option<String> {
    let local = if digits.len() == 13 && digits.starts_with("880") {
        format!("0{}", digits.get(3..)?)
    } else if digits.len() == 11 {
        digits.to_owned()
    } else {
        return None;
    };
    let bytes = local.as_bytes();
    let valid = bytes.len() == 11
        && bytes.iter().all(u8::is_ascii_digit)
        && local.starts_with("01")
        && bytes.get(2).is_some_and(|third| (b'3'..=b'9').contains(third));
    valid.then_some(local)
}

/// Number words by the value they stand for. Words like "ekta" ("one
/// piece") are how Bangla counts things.
const NUMBER_WORDS: &[(i64, &str)] = &[
    (1, "ekta ekti একটা একটি একখানা ektai ektii একটাই একটিই"),
    (
        2,
        "dui duita duiti duto duti two দুই দুইটা দুইটি দুটো দুটি duitai dutoi দুইটাই দুটোই দুইটিই",
    ),
    (3, "tin tinta tinti three তিন তিনটা তিনটি tintai তিনটাই তিনটিই"),
    (4, "char charta charti four চার চারটা চারটি"),
    (5, "pach pachta panch panchta five পাঁচ পাঁচটা পাঁচটি"),
    (6, "choy choyta six ছয় ছয়টা ছয়টি"),
    (7, "sat satta seven সাত সাতটা সাতটি"),
    (8, "aat atta eight আট আটটা আটটি"),
    (9, "nine"),
    (10, "dosh doshta ten দশ দশটা দশটি"),
];

/// Words that mean one only when they are the whole answer to "how many?".
const BARE_ONE: &[&str] = &["one", "ek", "এক"];

/// Words after a number that make it a count ("2 ta", "2 pcs", "২টি").
const COUNT_AFTER: &str = "ta ti pcs pc piece pieces pis set sets pair pairs jora khana box boxes packet packets pack packs jar jars panel panels \
    bottle bottles unit units of tai টা টি টাই টিই খানা জোড়া সেট পিস বক্স প্যাকেট বোতল";

/// Words before a number that make it a count ("qty 2", "x2").
const COUNT_BEFORE: &str = "qty quantity poriman x just only make পরিমাণ";

fn folded_list(words: &str) -> Vec<String> {
    words.split_whitespace().flat_map(folded_words).collect()
}

static AFTER: LazyLock<Vec<String>> = LazyLock::new(|| folded_list(COUNT_AFTER));

/// Whether a folded word after a number makes it a count ("ta", "pcs", "টা").
pub(super) fn is_count_word(folded: &str) -> bool {
    AFTER.iter().any(|word| word == folded)
}
static BEFORE: LazyLock<Vec<String>> = LazyLock::new(|| folded_list(COUNT_BEFORE));
/// Number words: Latin ones as written (folded, "then" would be "ten" and
/// "sat" seven), Bangla ones folded.
static WORDS: LazyLock<Vec<(String, i64)>> = LazyLock::new(|| {
    NUMBER_WORDS
        .iter()
        .flat_map(|(value, words)| {
            words.split_whitespace().map(move |word| {
                let key = if word.is_ascii() {
                    word.to_owned()
                } else {
                    folded_words(word).concat()
                };
                (key, *value)
            })
        })
        .collect()
});

/// How [`WORDS`] keys a token.
fn number_word_key(token: &Token) -> String {
    if token.text.is_ascii() {
        token.text.to_ascii_lowercase()
    } else {
        token.folded.clone()
    }
}
static BARE: LazyLock<Vec<String>> = LazyLock::new(|| BARE_ONE.iter().flat_map(|word| folded_words(word)).collect());

/// Finds how many the customer wants. A number counts when a count word is
/// next to it ("2 ta", "qty 2"), when it is a number word ("dui"), or, with
/// `bare_allowed` (an order message, or the answer to "how many?"), when it
/// is the only number left. `skip` marks tokens that belong to something
/// else (the phone, the address, a size). Returns the number as written;
/// the caller checks the range.
pub(super) fn find_quantity(tokens: &[Token], skip: &[bool], bare_allowed: bool) -> Option<i64> {
    let is_free = |i: usize| !skip.get(i).copied().unwrap_or(true);
    let numbers: Vec<(usize, i64)> = tokens
        .iter()
        .enumerate()
        .filter(|(i, token)| is_free(*i) && token.script == Script::Digit)
        .map(|(i, token)| (i, parse_count(&token.text)))
        .collect();
    let word_at = |at: usize| Some(at).filter(|&a| is_free(a)).and_then(|a| tokens.get(a));
    let marked: Vec<&(usize, i64)> = numbers
        .iter()
        .filter(|(i, _)| {
            let after = word_at(i + 1);
            let before = i.checked_sub(1).and_then(word_at);
            // "make it 4": the count word two before.
            let make_it = before.is_some_and(|t| t.folded == "it")
                && i.checked_sub(2).and_then(word_at).is_some_and(|t| t.folded == "make");
            // "2 is enough", "2 enough".
            let enough = after.is_some_and(|t| t.text == "enough")
                || (after.is_some_and(|t| t.text == "is") && word_at(i + 2).is_some_and(|t| t.text == "enough"));
            after.is_some_and(|t| AFTER.contains(&t.folded))
                || before.is_some_and(|t| BEFORE.contains(&t.folded))
                || make_it
                || enough
        })
        .collect();
    // "3ta na 2ta dien", "not 3, 2 pcs": a count taken back for a later one.
    static TAKEN_BACK: LazyLock<Vec<String>> = LazyLock::new(|| folded_list("na না not no noy নয়"));
    if let [first, .., last] = marked.as_slice()
        && tokens
            .get(first.0 + 1..last.0)
            .is_some_and(|between| between.iter().any(|t| TAKEN_BACK.contains(&t.folded)))
    {
        return Some(last.1);
    }
    if let Some((_, value)) = marked.first() {
        return Some(*value);
    }
    // "এক জোড়া", "ek packet", "one pair": one, said with what is counted.
    let one_counted = (0..tokens.len()).any(|i| {
        word_at(i).is_some_and(|t| BARE.contains(&t.folded))
            && word_at(i + 1).is_some_and(|t| AFTER.contains(&t.folded))
    });
    if one_counted {
        return Some(1);
    }
    let word = tokens
        .iter()
        .enumerate()
        .filter(|(i, _)| is_free(*i))
        .find_map(|(_, token)| {
            WORDS
                .iter()
                .find(|(word, _)| *word == number_word_key(token))
                .map(|(_, value)| *value)
        });
    if word.is_some() {
        return word;
    }
    if !bare_allowed {
        return None;
    }
    match numbers.as_slice() {
        [(_, value)] => Some(*value),
        [] if tokens.len() <= 2 && tokens.iter().any(|token| BARE.contains(&token.folded)) => Some(1),
        _ => None,
    }
}

/// A count as written; absurdly long numbers become `i64::MAX` so the range
/// check refuses them instead of the parse failing silently.
fn parse_count(digits: &str) -> i64 {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().unwrap_or(i64::MAX)
    }
}

/// Phrases that introduce the customer's name.
const NAME_MARKERS: &[&str] = &[
    "my name is",
    "my name",
    "name is",
    "name",
    "amar nam",
    "amar naam",
    "nam",
    "naam",
    "আমার নাম",
    "নাম",
];

/// Phrases that introduce the delivery address.
const ADDRESS_MARKERS: &[&str] = &[
    "delivery address",
    "shipping address",
    "address is",
    "address",
    "adress",
    "addres",
    "addr",
    "thikana holo",
    "thikana",
    "ঠিকানা",
    "ঠিকানাঃ",
];

/// Words that start another field, where a name or an address ends.
const FIELD_WORDS: &str = "\
    name nam naam phone mobile mob number num no contact cell phn address adress addr thikana and ar ebong \
    from theke delivery area order quantity qty নাম ফোন মোবাইল নম্বর নাম্বার ঠিকানা এবং আর থেকে";

/// Words between a marker and the value ("name is", "thikana holo").
const LINKING_WORDS: &str = "is holo hocche hoilo = হলো হচ্ছে";

/// Short titles written with a dot inside names ("Md. Rahim").
const TITLES: &str = "md mr mrs ms dr mst mohammad";

static NAME_MARKER_WORDS: LazyLock<Vec<Vec<String>>> =
    LazyLock::new(|| NAME_MARKERS.iter().map(|m| folded_words(m)).collect());
static ADDRESS_MARKER_WORDS: LazyLock<Vec<Vec<String>>> =
    LazyLock::new(|| ADDRESS_MARKERS.iter().map(|m| folded_words(m)).collect());
static FIELD: LazyLock<Vec<String>> = LazyLock::new(|| folded_list(FIELD_WORDS));
static LINKING: LazyLock<Vec<String>> = LazyLock::new(|| folded_list(LINKING_WORDS));
/// Words that start another field inside an address: a name or phone
/// ("..., phone 01…"), or how the customer pays ("Uttara, Dhaka. COD").
const FIELD_START_WORDS: &str = "name nam naam phone mobile contact phn নাম ফোন মোবাইল \
    cod bkash bikash nagad payment cash ক্যাশ বিকাশ নগদ পেমেন্ট";

static FIELD_STARTS: LazyLock<Vec<String>> = LazyLock::new(|| folded_list(FIELD_START_WORDS));
static TITLE: LazyLock<Vec<String>> = LazyLock::new(|| folded_list(TITLES));

/// The first place a marker phrase occurs: (first token, token after the marker).
fn find_marker(tokens: &[Token], markers: &[Vec<String>]) -> Option<(usize, usize)> {
    (0..tokens.len()).find_map(|start| {
        markers.iter().find_map(|marker| {
            let fits = !marker.is_empty()
                && marker
                    .iter()
                    .enumerate()
                    .all(|(offset, word)| tokens.get(start + offset).is_some_and(|t| t.folded == *word));
            fits.then_some((start, start + marker.len()))
        })
    })
}

/// The customer's name after "my name is" / "amar nam" / "আমার নাম", as typed:
/// up to four words, ending at punctuation, a digit or another field.
pub(super) fn find_name(text: &str, tokens: &[Token], keyword: &[bool]) -> Option<String> {
    let Some((_, mut at)) = find_marker(tokens, &NAME_MARKER_WORDS) else {
        return introduced_name(text, tokens);
    };
    while tokens.get(at).is_some_and(|t| LINKING.contains(&t.folded)) {
        at += 1;
    }
    name_words(text, tokens, keyword, at, 4).map(|(name, _)| name)
}

/// "I'm Farzana Haque, 017…", "this is Karim Ahmed": one to three words
/// written with capitals after "I'm" / "I am" / "this is", ending the part
/// ("I am interested in the saree" names nobody).
fn introduced_name(text: &str, tokens: &[Token]) -> Option<String> {
    let after = (0..tokens.len()).find_map(|at| {
        let word = |offset: usize| tokens.get(at + offset).map(|t| t.folded.as_str());
        match (word(0), word(1)) {
            (Some("i"), Some("m" | "am")) | (Some("this"), Some("is")) => Some(at + 2),
            _ => None,
        }
    })?;
    let capitalised = |token: &Token| {
        token.script == Script::Latin
            && text
                .get(token.start..token.end)
                .is_some_and(|raw| raw.chars().next().is_some_and(char::is_uppercase))
    };
    let words: Vec<&Token> = tokens
        .get(after..)?
        .iter()
        .take_while(|t| capitalised(t))
        .take(4)
        .collect();
    let (first, last) = (words.first()?, words.last()?);
    if words.len() > 3 {
        return None;
    }
    // The name ends its part: punctuation, a number or the end follows.
    let next = tokens.get(after + words.len());
    let gap = next.map_or("", |next| text.get(last.end..next.start).unwrap_or(""));
    let ends = next.is_none_or(|next| next.script == Script::Digit || gap.contains([',', '.', ';', '\n']));
    ends.then(|| text.get(first.start..last.end).map(str::to_owned))
        .flatten()
}

/// A whole message that is just a name (the answer to "your name?"): up to
/// four words after an optional "ami" / "I am" / "this is".
pub(super) fn bare_name(text: &str, tokens: &[Token], keyword: &[bool]) -> Option<String> {
    if text.trim().contains('\n') || tokens.len() > 6 {
        return None;
    }
    let at = tokens.iter().take_while(|t| is_stopword(&t.folded)).count();
    let (name, last) = name_words(text, tokens, keyword, at, 4)?;
    (last + 1 == tokens.len()).then_some(name)
}

/// Up to `max` name words from token `at`, joined only by spaces (or the dot
/// of a title), copied from the message as typed; with the last token's index.
fn name_words(text: &str, tokens: &[Token], keyword: &[bool], at: usize, max: usize) -> Option<(String, usize)> {
    let first = tokens.get(at)?;
    if is_stopword(&first.folded) {
        return None;
    }
    let mut last = at;
    for (i, token) in tokens.iter().enumerate().skip(at) {
        let filler = i > at && is_stopword(&token.folded);
        if !is_name_token(token, keyword.get(i).copied().unwrap_or(false)) || filler || i - at == max {
            break;
        }
        if i > at {
            let previous = tokens.get(i - 1)?;
            let gap = text.get(previous.end..token.start).unwrap_or(",");
            let title_dot = gap.trim() == "." && TITLE.contains(&previous.folded);
            if !(gap.chars().all(|c| c == ' ') || title_dot) {
                break;
            }
        }
        last = i;
    }
    if !is_name_token(first, keyword.get(at).copied().unwrap_or(false)) {
        return None;
    }
    let name = text.get(first.start..tokens.get(last)?.end)?.trim();
    (!name.is_empty()).then(|| (name.to_owned(), last))
}

/// Letters that are not a keyword and do not start another field.
fn is_name_token(token: &Token, is_keyword: bool) -> bool {
    token.script != Script::Digit && !FIELD.contains(&token.folded) && !is_keyword
}

/// The longest an address is kept, in characters.
const MAX_ADDRESS_CHARS: usize = 300;

/// The address after "address:" / "thikana" / "ঠিকানা", up to the next field
/// (name, phone) or the phone number itself. Also returns the byte range it
/// came from, so numbers in it ("House 5") are not read as a quantity.
pub(super) fn find_address(
    text: &str,
    tokens: &[Token],
    phone: Option<&Range<usize>>,
) -> Option<(String, Range<usize>)> {
    let (marker_start, mut at) = find_marker(tokens, &ADDRESS_MARKER_WORDS)?;
    while tokens.get(at).is_some_and(|t| LINKING.contains(&t.folded)) {
        at += 1;
    }
    let start = tokens.get(at)?.start;
    let next_field = tokens
        .iter()
        .enumerate()
        .skip(at + 1)
        .find(|(_, t)| FIELD_STARTS.contains(&t.folded))
        .map(|(_, t)| t.start);
    let phone_start = phone.map(|span| span.start).filter(|&s| s > start);
    let end = [next_field, phone_start]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(text.len());
    let address = clean_address(text.get(start..end)?)?;
    let inside = |t: &&Token| t.start >= start && t.end <= end;
    if tokens.iter().filter(inside).all(|t| is_stopword(&t.folded)) {
        return None;
    }
    let region_start = tokens.get(marker_start).map_or(start, |t| t.start);
    Some((address, region_start..end))
}

/// Words that only appear in addresses, in the three languages.
const ADDRESS_WORDS: &str = "\
    house h holding flat floor road rd lane goli gali sector block avenue ave street st village vill gram \
    para bazar bazaar mor more thana ps upazila upozila zila district post po union ward moholla mohalla \
    nagar bari basha basa building tower plot bhaban mansion apartment apt sadar sador sodor \
    বাসা বাড়ি বাড়ী রোড সড়ক লেন গলি সেক্টর ব্লক গ্রাম পাড়া বাজার মোড় থানা উপজেলা জেলা পোস্ট ইউনিয়ন ওয়ার্ড \
    মহল্লা নগর ফ্ল্যাট তলা হোল্ডিং ভবন প্লট সদর হাউজ হাউস অ্যাপার্টমেন্ট এপার্টমেন্ট";

static ADDRESS_WORD_SET: LazyLock<Vec<String>> = LazyLock::new(|| folded_list(ADDRESS_WORDS));

/// Words before an address that are not part of it ("deliver to", "send it to", "pathan").
static DELIVER_TO: LazyLock<Vec<String>> = LazyLock::new(|| {
    folded_list(
        "deliver delivery send ship it to please pls at in pathan pathiye diben den dien korben পাঠান পাঠিয়ে দিবেন",
    )
});

/// Whether the message opens as a place to deliver to: "Deliver to
/// Zindabazar, Sylhet", "send it to Mirpur 10", "pathiye din Gazipur".
pub(super) fn opens_with_deliver_to(tokens: &[Token]) -> bool {
    static VERBS: LazyLock<Vec<String>> = LazyLock::new(|| folded_list("deliver send ship pathan pathiye পাঠান পাঠিয়ে"));
    tokens.iter().take(3).any(|token| VERBS.contains(&token.folded))
        && tokens.iter().any(|token| token.folded == "to" || token.folded == "e")
}

/// Whether a folded word starts another field inside an address ("phone", "COD").
pub(super) fn is_field_start(folded: &str) -> bool {
    FIELD_STARTS.iter().any(|word| word == folded)
}

/// The words that introduce a name ("nam", "name", "নাম"), folded.
pub(super) fn name_marker_words() -> &'static [String] {
    static MARKERS: LazyLock<Vec<String>> = LazyLock::new(|| folded_list("name nam naam নাম"));
    &MARKERS
}

/// Whether a folded word only appears in addresses ("house", "road", "বাসা").
pub(super) fn is_address_word(folded: &str) -> bool {
    ADDRESS_WORD_SET.iter().any(|word| word == folded)
}

/// Whether the token at `at` labels a part of an address: an address word
/// before a number or a short code ("house 22", "Block E", "রোড ৫"), and not
/// a unit after a number ("500 gram 2ta": "gram" is a weight, not a village).
pub(super) fn is_address_label(tokens: &[Token], at: usize) -> bool {
    let Some(token) = tokens.get(at) else {
        return false;
    };
    let after_a_number = at
        .checked_sub(1)
        .and_then(|before| tokens.get(before))
        .is_some_and(|before| before.script == Script::Digit);
    is_address_word(&token.folded)
        && !(after_a_number && super::lookup::is_unit(&token.text))
        && tokens
            .get(at + 1)
            .is_some_and(|next| next.script == Script::Digit || next.text.chars().count() <= 2)
}

/// Separators between the parts of an all-in-one message ("Nusrat, 017…, House 5…").
/// Whether the place at token `at` is the first word of a person's name
/// ("Ruma Akter, 017…": Ruma is also an upazila): it opens its part of the
/// message, and the part's other one or two words are letters that are
/// neither places nor address words.
fn opens_a_name(text: &str, tokens: &[Token], at: usize) -> bool {
    let Some(first) = tokens.get(at) else {
        return false;
    };
    let part_start = text
        .get(..first.start)
        .and_then(|before| before.rfind(is_part_separator))
        .map_or(0, |i| i + 1);
    let opens_part = text
        .get(part_start..first.start)
        .is_some_and(|gap| gap.trim().is_empty());
    if !opens_part {
        return false;
    }
    let part_end = text
        .get(first.end..)
        .and_then(|after| after.find(is_part_separator))
        .map_or(text.len(), |i| first.end + i);
    let rest: Vec<&Token> = tokens
        .iter()
        .skip(at + 1)
        .take_while(|token| token.end <= part_end)
        .collect();
    (1..=2).contains(&rest.len())
        && rest.iter().all(|token| {
            token.script != Script::Digit
                && token.text.chars().count() >= 3
                && !ADDRESS_WORD_SET.contains(&token.folded)
                && crate::pipeline::gazetteer::place_in(std::slice::from_ref(*token)).is_none()
        })
}

fn is_part_separator(c: char) -> bool {
    matches!(c, ',' | '\n' | ';' | '।' | '|')
}

/// Where a part ends for a name: a separator, or a full stop that ends a
/// sentence ("Karim Uddin. 01534567890"), not the dot of "Md." inside one.
fn ends_name_part(text: &str, at: usize, c: char) -> bool {
    is_part_separator(c)
        || (c == '.'
            && text
                .get(at + 1..)
                .is_some_and(|rest| rest.starts_with(' ') || rest.is_empty())
            && {
                let word: String = text
                    .get(..at)
                    .unwrap_or_default()
                    .chars()
                    .rev()
                    .take_while(|c| c.is_alphabetic())
                    .collect();
                !TITLE.contains(&word.chars().rev().collect::<String>().to_lowercase())
            })
}

/// An address written without a label, inside an all-in-one message or as
/// the whole message: it starts at the part (between commas or lines) holding
/// the first address word ("House", "Road", "বাসা") or a place of the
/// gazetteer, and runs to the end of the message, stopping at the phone
/// number or another field. `place_allowed`: a place alone (no address
/// word) counts only when the caller expects an address; `skip` marks
/// tokens that cannot start one (words of the shop's product names).
pub(super) fn unlabelled_address(
    text: &str,
    tokens: &[Token],
    phone: Option<&Range<usize>>,
    place_allowed: bool,
    skip: &[bool],
) -> Option<(String, Range<usize>)> {
    // "Deliver to Zindabazar, Sylhet": everything after "to" is the address,
    // though only "Sylhet" is a known place.
    if phone.is_none() && opens_with_deliver_to(tokens) {
        let to = tokens.iter().take(5).find(|t| t.folded == "to" || t.folded == "e")?;
        let end = text.len();
        if let Some(address) = text.get(to.end..end).and_then(clean_address)
            && (tokens
                .iter()
                .any(|t| t.start >= to.end && ADDRESS_WORD_SET.contains(&t.folded))
                || (place_allowed
                    && (0..tokens.len()).any(|i| {
                        tokens.get(i).is_some_and(|t| t.start >= to.end)
                            && tokens
                                .get(i..)
                                .and_then(crate::pipeline::gazetteer::place_in_prefix)
                                .is_some()
                    })))
        {
            return Some((address, to.end..end));
        }
    }
    let usable = |i: usize| !skip.get(i).copied().unwrap_or(false);
    // "৮০০ গ্রাম" is a weight, not a village ("gram").
    let a_unit = |i: usize| {
        i.checked_sub(1)
            .and_then(|before| tokens.get(before))
            .is_some_and(|before| before.script == Script::Digit)
            && tokens.get(i).is_some_and(|t| super::lookup::is_unit(&t.text))
    };
    let by_word = tokens.iter().enumerate().position(|(i, t)| {
        usable(i) && t.script != Script::Digit && ADDRESS_WORD_SET.contains(&t.folded) && !a_unit(i)
    });
    let by_place = if place_allowed {
        (0..tokens.len()).find(|&i| {
            usable(i)
                && tokens
                    .get(i..)
                    .and_then(crate::pipeline::gazetteer::place_in_prefix)
                    .is_some()
                // After the phone, the name was most likely given before it
                // ("Mitu, 017…, Khilgaon Tilpapara, road 7").
                && !(opens_a_name(text, tokens, i)
                    && phone.is_none_or(|span| tokens.get(i).is_some_and(|t| t.start < span.start)))
        })
    } else {
        None
    };
    let first = [by_word, by_place].into_iter().flatten().min()?;
    let hit = tokens.get(first)?;
    // Back to the start of the part the hit is in ("5/A, Road 3": from "5/A"
    // only when it is in the same part); a sentence's end also ends a part
    // ("Just one. Deliver to House 8").
    let before = text.get(..hit.start)?;
    let part_start = [
        before.rfind(is_part_separator).map(|i| {
            i + before
                .get(i..)
                .and_then(|rest| rest.chars().next())
                .map_or(1, char::len_utf8)
        }),
        before.rfind(". ").map(|i| i + 2),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);
    // "Deliver to House 8", "pathan Mirpur 10": the verb is not the address.
    let part_start = tokens
        .iter()
        .filter(|t| t.start >= part_start && t.start < hit.start)
        .take_while(|t| DELIVER_TO.contains(&t.folded))
        .last()
        .map_or(part_start, |t| t.end);
    let start = match phone {
        Some(span) if span.end <= hit.start && span.end > part_start => span.end,
        _ => part_start,
    };
    let next_field = tokens
        .iter()
        .filter(|t| t.start > hit.start)
        .find(|t| FIELD_STARTS.contains(&t.folded))
        .map(|t| t.start);
    let phone_start = phone.map(|span| span.start).filter(|&s| s > hit.start);
    let end = [next_field, phone_start]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(text.len());
    let address = clean_address(text.get(start..end)?)?;
    Some((address, start..end))
}

/// The customer's name in an all-in-one message with no "name:" label: a
/// part of one to four words (between commas or lines) before the phone or
/// address, that holds no keyword, digit, filler, place or product word.
/// The part may end where `before` starts ("Rafiq Islam 01612…, Mirpur 2").
/// Tokens inside `skip` (the phone, when the name follows it: "01865…
/// Maliha, Agrabad") are left out. `is_product_word` tells which folded
/// words belong to the shop's products.
pub(super) fn unlabelled_name(
    text: &str,
    tokens: &[Token],
    keyword: &[bool],
    before: usize,
    skip: Option<&Range<usize>>,
    is_product_word: impl Fn(&str) -> bool,
) -> Option<String> {
    let mut part_start = 0;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ','))) {
        if !ends_name_part(text, i, c) {
            continue;
        }
        let (mut start, end) = (part_start, i.min(before));
        part_start = i + c.len_utf8();
        if start >= before {
            break;
        }
        if let Some(skip) = skip.filter(|skip| skip.start >= start && skip.start < end) {
            // Only a phone at the start of the part: the name follows it.
            if tokens.iter().any(|t| t.start >= start && t.end <= skip.start) {
                continue;
            }
            start = skip.end;
        }
        // "Please send 1 COSRX essence to Mehedi Hasan, 017…": the words after
        // the last "to" of the part.
        if let Some(to) = tokens
            .iter()
            .rfind(|t| t.start >= start && t.end <= end && t.folded == "to")
        {
            start = to.end;
        }
        let inside: Vec<(usize, &Token)> = tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| t.start >= start && t.end <= end)
            .collect();
        if inside.is_empty() || inside.len() > 4 {
            continue;
        }
        let all_name_words = inside.iter().all(|(index, t)| {
            t.script != Script::Digit
                && t.text.chars().count() >= 2
                && !keyword.get(*index).copied().unwrap_or(true)
                && !is_stopword(&t.folded)
                && !FIELD.contains(&t.folded)
                && !ADDRESS_WORD_SET.contains(&t.folded)
                && !is_product_word(&t.folded)
        });
        let words: Vec<Token> = inside.iter().map(|(_, t)| (*t).clone()).collect();
        // "Savar", "Dhanmondi Dhaka" are places; "Ruma Akter" is a person,
        // though Ruma is also an upazila: one word that is no place is enough.
        let all_places = words
            .iter()
            .all(|word| crate::pipeline::gazetteer::place_in(std::slice::from_ref(word)).is_some());
        let is_place = crate::pipeline::gazetteer::place_in(&words).is_some() && (words.len() == 1 || all_places);
        if all_name_words && !is_place {
            let name = text.get(start..end)?.trim();
            if !name.is_empty() {
                return Some(name.to_owned());
            }
        }
    }
    None
}

/// A name written at the end of an unlabelled address, before the phone
/// ("Flat 6C, Road 27, Dhanmondi, Dhaka. Nasrin Sultana. 017…", "বাসা ৭,
/// মিরপুর ১০, ঢাকা। রিনা বেগম ০১৭…"): the last part, one to three words
/// with no digit, place or address word; Latin ones capitalised. Returns
/// the name and the address without it.
pub(super) fn name_at_end_of_address(address: &str) -> Option<(String, String)> {
    let cut = address.rfind([',', '.', '।'])?;
    let separator_len = address.get(cut..)?.chars().next()?.len_utf8();
    let (rest, last) = (address.get(..cut)?, address.get(cut + separator_len..)?.trim());
    let words: Vec<&str> = last.split_whitespace().collect();
    let looks_like_name = (1..=3).contains(&words.len())
        && words.iter().all(|word| {
            let bengali = word.chars().all(crate::pipeline::text::is_bengali_letter);
            let latin_name =
                word.chars().next().is_some_and(char::is_uppercase) && word.chars().all(char::is_alphabetic);
            (bengali || latin_name)
                && word.chars().count() >= 2
                && !ADDRESS_WORD_SET.contains(
                    &super::text::tokenize(word)
                        .first()
                        .map(|t| t.folded.clone())
                        .unwrap_or_default(),
                )
        })
        && crate::pipeline::gazetteer::place_in(&super::text::tokenize(last)).is_none();
    looks_like_name.then(|| {
        (
            last.to_owned(),
            rest.trim().trim_end_matches([',', '.', '।']).to_owned(),
        )
    })
}

/// A whole message that is just an address (the answer to "your address?").
pub(super) fn bare_address(text: &str) -> Option<String> {
    let address = clean_address(text)?;
    let words = address.split_whitespace().count();
    (words >= 2 || address.chars().count() >= 6).then_some(address)
}

/// One line, single spaces, no dangling separators, at most [`MAX_ADDRESS_CHARS`].
/// A question ("address ta ki?") is not an address.
fn clean_address(raw: &str) -> Option<String> {
    if raw.trim_end().ends_with(['?', '？']) {
        return None;
    }
    let joined = raw
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let single: String = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    let separators: &[char] = &[':', '-', '=', ',', '.', ';', '।', 'ঃ', ' ', '|'];
    let trimmed = single.trim_matches(separators);
    let kept: String = trimmed.chars().take(MAX_ADDRESS_CHARS).collect();
    (kept.chars().count() >= 3).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::engine::text::tokenize;

    #[test]
    fn phones_in_every_spelling() {
        for text in [
            "01712345678",
            "my number 01712-345678 thanks",
            "+8801712345678",
            "+880 1712 345 678",
            "০১৭১২৩৪৫৬৭৮",
            "8801712345678",
        ] {
            assert_eq!(find_phone(text).phone.as_deref(), Some("01712345678"), "{text}");
        }
        assert_eq!(find_phone("01212345678").phone, None);
        assert!(find_phone("0171234567").invalid);
        assert_eq!(find_phone("2 ta 01812345678").phone.as_deref(), Some("01812345678"));
    }

    #[test]
    fn quantities() {
        let q = |text: &str, bare: bool| {
            let tokens = tokenize(text);
            find_quantity(&tokens, &vec![false; tokens.len()], bare)
        };
        assert_eq!(q("2 ta dao", false), Some(2));
        assert_eq!(q("২টি", false), Some(2));
        assert_eq!(q("duita nibo", false), Some(2));
        assert_eq!(q("দুইটা", false), Some(2));
        assert_eq!(q("qty 3", false), Some(3));
        assert_eq!(q("3", false), None);
        assert_eq!(q("3", true), Some(3));
        assert_eq!(q("one", true), Some(1));
        assert_eq!(q("sorry 3ta na 2ta dien", false), Some(2));
        assert_eq!(q("sorry, 2 is enough", false), Some(2));
        assert_eq!(q("3ta, 2ta blue", false), Some(3));
    }

    #[test]
    fn names_and_addresses() {
        let name = |text: &str| {
            let tokens = tokenize(text);
            find_name(text, &tokens, &vec![false; tokens.len()])
        };
        assert_eq!(
            name("My name is Rahim Uddin, phone 017").as_deref(),
            Some("Rahim Uddin")
        );
        assert_eq!(name("amar nam Md. Karim").as_deref(), Some("Md. Karim"));
        assert_eq!(name("আমার নাম রহিম।").as_deref(), Some("রহিম"));
        assert_eq!(name("product er nam ki?"), None);
        let text = "address: House 5, Road 3, Dhanmondi, phone 01712345678";
        let tokens = tokenize(text);
        let phone = find_phone(text);
        let (address, _) = find_address(text, &tokens, phone.span.as_ref()).unwrap();
        assert_eq!(address, "House 5, Road 3, Dhanmondi");
        for question in ["apnader address ta ki?", "address ki", "ঠিকানা কোথায়?"] {
            assert_eq!(find_address(question, &tokenize(question), None), None, "{question}");
        }
    }
}
