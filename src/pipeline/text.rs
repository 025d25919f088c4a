//! The one text layer every reader of customer text uses: the risk
//! classifier (rules and model), the reply engine and the safety filter.
//!
//! Customers write English, Bangla (বাংলা) and Banglish (Bangla in Latin
//! letters, spelled freely), often in one message. The layer:
//!
//! - splits text into words, with letters and digits apart ("2ta" → "2 ta",
//!   "২টা" → "2 টা") and punctuation and emoji as separators;
//! - lowercases, and reads digits of every script Bangladeshi phones produce
//!   (Bangla, Devanagari, Arabic-Indic, full-width) as ASCII digits;
//! - folds spelling variants: in Latin words the "h" of aspirates, "z"→"j"
//!   and doubled letters ("bhai"/"vai", "sharee"/"saree"); in Bangla words
//!   vowel lengths, sibilants, ণ/ন, ড়/ড, য়/য, ৎ/ত, অ্যা/এ, hasanta,
//!   chandrabindu, nukta and zero-width joiners, so precomposed and
//!   decomposed spellings read the same;
//! - transliterates Banglish into Bangla script with the Avro phonetic rules
//!   (the `okkhor` crate), so one Bangla lexicon also reads "taka ferot chai"
//!   as "টাকা ফেরত চাই".
//!
//! Every fold is one character in, at most one out (or none), per word, so
//! a [`Token`] keeps the byte range of the customer's own wording.

use std::sync::LazyLock;

/// What a token is made of; digits are split from letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Latin,
    Bengali,
    Digit,
}

/// One word of a message.
#[derive(Debug, Clone)]
pub struct Token {
    /// Lowercase, with digits of every script as ASCII digits.
    pub text: String,
    /// [`Token::text`] with spelling variants folded, for comparisons.
    pub folded: String,
    pub script: Script,
    /// Byte range in the message, so the customer's own wording (a name, an
    /// address) can be copied out exactly as typed.
    pub start: usize,
    pub end: usize,
}

/// Splits text into lowercase, folded words; punctuation and emoji separate words.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut current: Option<Token> = None;
    for (at, raw) in text.char_indices() {
        let end = at + raw.len_utf8();
        if is_joiner(raw) {
            // Zero-width (non-)joiners sit inside Bangla words.
            if let Some(token) = current.as_mut() {
                token.end = end;
            }
            continue;
        }
        let c = fold_width(raw);
        let script = script_of(c);
        let continues = matches!((&current, script), (Some(token), Some(script)) if token.script == script);
        if !continues {
            if let Some(done) = current.take() {
                tokens.push(finish(done));
            }
            current = script.map(|script| Token {
                text: String::new(),
                folded: String::new(),
                script,
                start: at,
                end,
            });
        }
        if let Some(token) = current.as_mut() {
            token.end = end;
            token.text.extend(c.to_lowercase().map(ascii_digit));
        }
    }
    if let Some(done) = current.take() {
        tokens.push(finish(done));
    }
    tokens
}

/// The folded words of `text`, in order.
pub fn folded_words(text: &str) -> Vec<String> {
    tokenize(text).into_iter().map(|token| token.folded).collect()
}

fn finish(mut token: Token) -> Token {
    token.folded = fold(&token.text, token.script);
    token
}

fn is_joiner(c: char) -> bool {
    c == '\u{200C}' || c == '\u{200D}'
}

/// Full-width ASCII (from some phone keyboards) as ASCII.
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFF01 + 0x21).unwrap_or(c),
        other => other,
    }
}

/// Where the decimal digits of a script start: Bangla, Devanagari,
/// Arabic-Indic, Extended Arabic-Indic.
const DIGIT_ZEROS: [u32; 4] = [0x09E6, 0x0966, 0x0660, 0x06F0];

fn non_ascii_digit(c: char) -> Option<u32> {
    let code = u32::from(c);
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&code))
        .map(|zero| code - zero)
}

/// Bengali-block letters and signs, without its digits and currency signs.
pub fn is_bengali_letter(c: char) -> bool {
    ('\u{0980}'..='\u{09E5}').contains(&c) || ('\u{09F0}'..='\u{09F1}').contains(&c)
}

fn script_of(c: char) -> Option<Script> {
    if c.is_ascii_digit() || non_ascii_digit(c).is_some() {
        Some(Script::Digit)
    } else if is_bengali_letter(c) {
        Some(Script::Bengali)
    } else if c.is_alphanumeric() {
        Some(Script::Latin)
    } else {
        None
    }
}

/// Digits of every script as ASCII digits; anything else unchanged.
pub fn ascii_digit(c: char) -> char {
    non_ascii_digit(c).and_then(|d| char::from_digit(d, 10)).unwrap_or(c)
}

/// Folds spelling variants of one lowercase word of the given script.
pub fn fold(word: &str, script: Script) -> String {
    match script {
        Script::Latin => fold_latin(word),
        Script::Bengali => fold_bengali(word),
        Script::Digit => word.to_owned(),
    }
}

/// Banglish spellings vary in the "h" of aspirated consonants and in doubled
/// letters ("bhai"/"vai", "sharee"/"saree", "dhonnobad"/"donobad").
pub fn fold_latin(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next_is_h = chars.get(i + 1) == Some(&'h');
        let mapped = match c {
            'p' if next_is_h => 'f',
            'b' if next_is_h => 'v',
            'z' => 'j',
            other => other,
        };
        if next_is_h && matches!(c, 'p' | 'b' | 's' | 'c' | 't' | 'k' | 'd' | 'g' | 'j') {
            i += 1;
        }
        if !out.ends_with(mapped) {
            out.push(mapped);
        }
        i += 1;
    }
    out
}

/// Bangla is written with interchangeable vowel lengths, sibilants and
/// nasal marks ("শাড়ী"/"শাড়ি", "দাম"/"দাম্"), folded to one spelling.
/// Characters of other scripts pass unchanged.
pub fn fold_bengali(word: &str) -> String {
    // অ্যা and এ্যা are both written for the "æ" sound that এ also spells.
    let word = word
        .replace("\u{0985}\u{09CD}\u{09AF}\u{09BE}", "\u{098F}")
        .replace("\u{098F}\u{09CD}\u{09AF}\u{09BE}", "\u{098F}");
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        let mapped = match c {
            '\u{09BC}' | '\u{0981}' | '\u{09CD}' | '\u{200C}' | '\u{200D}' => continue, // nukta, chandrabindu, hasanta, joiners
            '\u{09DC}' => '\u{09A1}',                                                   // ড় → ড
            '\u{09DD}' => '\u{09A2}',                                                   // ঢ় → ঢ
            '\u{09DF}' => '\u{09AF}',                                                   // য় → য
            '\u{09C0}' => '\u{09BF}',                                                   // ী → ি
            '\u{09C2}' => '\u{09C1}',                                                   // ূ → ু
            '\u{0988}' => '\u{0987}',                                                   // ঈ → ই
            '\u{098A}' => '\u{0989}',                                                   // ঊ → উ
            '\u{09CE}' => '\u{09A4}',                                                   // ৎ → ত
            '\u{09B6}' | '\u{09B7}' => '\u{09B8}',                                      // শ, ষ → স
            '\u{09A3}' => '\u{09A8}',                                                   // ণ → ন
            other => other,
        };
        out.push(mapped);
    }
    out
}

static AVRO: LazyLock<okkhor::parser::Parser> = LazyLock::new(okkhor::parser::Parser::new_phonetic);

/// A Banglish word in Bangla script by the Avro phonetic rules, folded like
/// any Bangla word: "ferot" → "ফেরত", "taka" → "টাকা". Free spelling
/// leaves some words off by a letter; the fold and character n-grams absorb
/// most of that.
/// Only ASCII letters are transliterated: okkhor 0.10 slices its input by
/// bytes and panics on other characters; anything else comes back as given.
pub fn banglish_to_bengali(word: &str) -> String {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_alphabetic()) {
        return word.to_owned();
    }
    fold_bengali(&AVRO.convert(&word.to_ascii_lowercase()))
}

/// Bangla letters in rough Latin, for words customers write in Bangla
/// letters but the owner wrote in English ("গোল্ড" → "gold", "পিচ" →
/// "pich", "ব্ল্যাক" → "blak"). No inherent vowel is added: "গোল্ড" is
/// not "golod". Other characters pass unchanged.
pub fn romanize_bengali(word: &str) -> String {
    // য়, ড়, ঢ় typed as a letter and a nukta.
    let word = word
        .replace("\u{09AF}\u{09BC}", "\u{09DF}")
        .replace("\u{09A1}\u{09BC}", "\u{09DC}")
        .replace("\u{09A2}\u{09BC}", "\u{09DD}");
    let mut out = String::with_capacity(word.len());
    let mut after_hasanta = false;
    for c in word.chars() {
        // য after a hasanta is the ya-phala ("ব্ল্যাক"): a vowel colour, not a letter.
        if after_hasanta && c == '\u{09AF}' {
            after_hasanta = false;
            continue;
        }
        after_hasanta = c == '\u{09CD}';
        let latin = match c {
            'ক' => "k",
            'খ' => "kh",
            'গ' => "g",
            'ঘ' => "gh",
            'ঙ' | 'ং' => "n",
            'চ' | 'ছ' => "ch",
            'জ' | 'য' => "j",
            'ঝ' => "jh",
            'ঞ' | 'ণ' | 'ন' => "n",
            'ট' | 'ত' | 'ৎ' => "t",
            'ঠ' | 'থ' => "th",
            'ড' | 'দ' => "d",
            'ঢ' | 'ধ' => "dh",
            'প' => "p",
            'ফ' => "f",
            'ব' => "b",
            'ভ' => "v",
            'ম' => "m",
            'র' | '\u{09DC}' | '\u{09DD}' => "r",
            'ল' => "l",
            'শ' | 'ষ' => "sh",
            'স' => "s",
            'হ' | 'ঃ' => "h",
            '\u{09DF}' => "y",
            'অ' | 'ও' | 'ো' => "o",
            'আ' | 'া' => "a",
            'ই' | 'ঈ' | 'ি' | 'ী' => "i",
            'উ' | 'ঊ' | 'ু' | 'ূ' => "u",
            'ঋ' | 'ৃ' => "ri",
            'এ' | 'ে' => "e",
            'ঐ' | 'ৈ' => "oi",
            'ঔ' | 'ৌ' => "ou",
            '\u{09CD}' | '\u{0981}' | '\u{09BC}' | '\u{200C}' | '\u{200D}' => "",
            other => {
                out.push(other);
                continue;
            }
        };
        out.push_str(latin);
    }
    out
}

/// The consonants of a Latin word as they sound, so an English word and
/// its Bangla spelling (romanized) compare equal: "black" and "blak" are
/// "blk", "peach" and "pich" are "pc", "white" and "hoyait" are "ht".
pub fn consonant_skeleton(latin: &str) -> String {
    let word = latin
        .to_lowercase()
        // "natural" is said (and written in Bangla) "nachural".
        .replace("tur", "Cur")
        // "litchi", "watch": the t is silent before "ch".
        .replace("tch", "ch")
        .replace("ck", "k")
        .replace("ch", "C")
        .replace("ph", "f")
        .replace("sh", "s")
        .replace("th", "t")
        .replace("dh", "d")
        .replace("kh", "k")
        .replace("gh", "g")
        .replace("bh", "v")
        .replace(['c', 'q'], "k")
        .replace('z', "j")
        .replace('x', "ks")
        .replace('C', "c");
    let mut out = String::new();
    for c in word
        .chars()
        .filter(|c| c.is_ascii_alphabetic() && !"aeiouyw".contains(*c))
    {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// [`consonant_skeleton`], and when an "s" stands between vowels ("rose",
/// "blouse", "casual"), also with it said "z", as Bangla writes such words.
pub fn consonant_skeletons(latin: &str) -> Vec<String> {
    let plain = consonant_skeleton(latin);
    let chars: Vec<char> = latin.to_lowercase().chars().collect();
    let is_vowel = |c: Option<&char>| c.is_some_and(|c| "aeiou".contains(*c));
    let voiced: String = chars
        .iter()
        .enumerate()
        .map(|(at, &c)| {
            let between_vowels = at > 0 && is_vowel(chars.get(at - 1)) && is_vowel(chars.get(at + 1));
            if c == 's' && between_vowels { 'z' } else { c }
        })
        .collect();
    let voiced = consonant_skeleton(&voiced);
    if voiced == plain {
        vec![plain]
    } else {
        vec![plain, voiced]
    }
}

/// The first `max_chars` characters of `text`.
pub fn truncate(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => text.get(..cut).unwrap_or(text),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Latin option names written in Bangla letters reach the same
    /// consonants; other words do not.
    #[test]
    fn bangla_spellings_of_english_words_share_their_consonants() {
        let same = [
            ("গোল্ড", "Gold"),
            ("পিচ", "Peach"),
            ("মিন্ট", "Mint"),
            ("ব্ল্যাক", "Black"),
            ("হোয়াইট", "White"),
            ("রেড", "Red"),
            ("ব্লু", "Blue"),
            ("সিলভার", "Silver"),
            ("নেভি", "Navy"),
            ("পিংক", "Pink"),
            ("ক্রিম", "Cream"),
            ("মেরুন", "Maroon"),
        ];
        for (bangla, english) in same {
            assert_eq!(
                consonant_skeleton(&romanize_bengali(bangla)),
                consonant_skeleton(english),
                "{bangla} / {english}"
            );
        }
        for (bangla, english) in [("লাল", "Red"), ("গোলাপি", "Gold"), ("মিষ্টি", "Mint"), ("পাঁচটা", "Peach")]
        {
            assert_ne!(
                consonant_skeleton(&romanize_bengali(bangla)),
                consonant_skeleton(english),
                "{bangla} / {english}"
            );
        }
    }

    /// An "s" between vowels may be said "z": "Rose" is also "রোজ", while
    /// "Silver" and "Base" keep their "s".
    #[test]
    fn an_s_between_vowels_may_be_a_z() {
        for (bangla, english) in [("রোজ", "Rose"), ("ব্লাউজ", "Blouse"), ("বেস", "Base")] {
            assert!(
                consonant_skeletons(english).contains(&consonant_skeleton(&romanize_bengali(bangla))),
                "{bangla} / {english}"
            );
        }
        assert_eq!(consonant_skeletons("Silver"), [consonant_skeleton("Silver")]);
        assert!(!consonant_skeletons("Rose").contains(&consonant_skeleton(&romanize_bengali("রেড"))));
    }

    /// One table pins the layer: input, then the folded words.
    #[test]
    fn the_text_layer_table() {
        let table: &[(&str, &[&str])] = &[
            ("Sharee 2ta, দুইটা শাড়ী ১২!", &["sare", "2", "ta", "দুইটা", "সাডি", "12"]),
            ("BHAI vai", &["vai", "vai"]),
            ("plzzz plz", &["plj", "plj"]),
            ("zinis", &["jinis"]),
            // Precomposed and decomposed ড় / য় read the same.
            ("শাড়ি শাড\u{09BC}ি", &["সাডি", "সাডি"]),
            ("নয়া নয\u{09BC}া", &["নযা", "নযা"]),
            // ী/ি, ূ/ু, শ/ষ/স, ণ/ন, ৎ/ত, hasanta, chandrabindu.
            ("শীত সিত", &["সিত", "সিত"]),
            ("দাম্ দাম", &["দাম", "দাম"]),
            ("চাঁদ চাদ", &["চাদ", "চাদ"]),
            ("অ্যালার্জি এলার্জি", &["এলারজি", "এলারজি"]),
            ("কারণ কারন", &["কারন", "কারন"]),
            ("হঠাৎ হঠাত", &["হঠাত", "হঠাত"]),
            // Zero-width joiners inside a word.
            ("র\u{200D}্যাশ", &["রযাস"]),
            // Digits of every script, full-width letters.
            ("০১৭১১ ०१२ ٠١٢ ۰۱۲", &["01711", "012", "012", "012"]),
            ("ＴＡＫＡ５００", &["taka", "500"]),
            ("price?? 😡😡", &["price"]),
        ];
        for (input, expected) in table {
            assert_eq!(folded_words(input), *expected, "{input}");
        }
    }

    #[test]
    fn banglish_transliterates_into_the_bangla_lexicon() {
        // Avro reads a lowercase "t" as dental ত: "taka" is তাকা, one letter
        // from টাকা, which the shared character n-grams mostly bridge.
        assert_eq!(banglish_to_bengali("taka"), fold_bengali("তাকা"));
        assert_eq!(banglish_to_bengali("ferot"), fold_bengali("ফেরত"));
        // …and "ch" as ছ (Avro spells চ "c").
        assert_eq!(banglish_to_bengali("chai"), fold_bengali("ছাই"));
        // Characters okkhor cannot take pass through instead of panicking.
        for odd in ["৷", "é", "naïve", "x৷", "12", "ＴＡ", ""] {
            assert_eq!(banglish_to_bengali(odd), odd);
        }
    }

    #[test]
    fn offsets_point_into_the_message() {
        let text = "নাম: রহিম ＴＡＫＡ ০১৭";
        for token in tokenize(text) {
            assert!(text.get(token.start..token.end).is_some());
        }
    }
}
