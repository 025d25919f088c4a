//! Turning customer text into comparable words.
//!
//! Customers spell freely: "sharee", "saree" and "sarree" are one word, and
//! Bangla has several spellings for the same sounds. Folding both the
//! message and the owner's words the same way lets the engine recognise
//! products and keywords without a dictionary.

/// The longest message the engine reads, in characters. Longer input is cut
/// so the word-by-word similarity checks stay cheap on pasted walls of text.
pub(super) const MAX_CHARS: usize = 1_500;

/// Words longer than this are compared only for equality: no real product
/// word is this long, and edit distance is quadratic in the length.
const MAX_FUZZY_CHARS: usize = 40;

/// What a token is made of; digits are split from letters so "2ta" reads as
/// "2 ta" and "2টা" as "2 টা".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Script {
    Latin,
    Bengali,
    Digit,
}

/// One word of a message.
#[derive(Debug, Clone)]
pub(super) struct Token {
    /// Lowercase, with Bangla digits as ASCII digits.
    pub text: String,
    /// [`Token::text`] with spelling variants folded, for comparisons.
    pub folded: String,
    pub script: Script,
    /// Byte range in the message, so the customer's own wording (a name, an
    /// address) can be copied out exactly as typed.
    pub start: usize,
    pub end: usize,
}

/// The first `max_chars` characters of `text`.
pub(super) fn truncate(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => text.get(..cut).unwrap_or(text),
        None => text,
    }
}

/// Splits text into lowercase, folded words; punctuation and emoji separate words.
pub(super) fn tokenize(text: &str) -> Vec<Token> {
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
        let script = script_of(raw);
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
            token.text.extend(raw.to_lowercase().map(ascii_digit));
        }
    }
    if let Some(done) = current.take() {
        tokens.push(finish(done));
    }
    tokens
}

fn finish(mut token: Token) -> Token {
    token.folded = fold(&token.text, token.script);
    token
}

fn is_joiner(c: char) -> bool {
    c == '\u{200C}' || c == '\u{200D}'
}

fn is_bengali_digit(c: char) -> bool {
    ('\u{09E6}'..='\u{09EF}').contains(&c)
}

/// Bengali-block letters and signs, without its digits and currency signs.
fn is_bengali_letter(c: char) -> bool {
    ('\u{0980}'..='\u{09E5}').contains(&c) || ('\u{09F0}'..='\u{09F1}').contains(&c)
}

fn script_of(c: char) -> Option<Script> {
    if c.is_ascii_digit() || is_bengali_digit(c) {
        Some(Script::Digit)
    } else if is_bengali_letter(c) {
        Some(Script::Bengali)
    } else if c.is_alphanumeric() {
        Some(Script::Latin)
    } else {
        None
    }
}

/// Bangla digits as ASCII digits; anything else unchanged.
pub(super) fn ascii_digit(c: char) -> char {
    if is_bengali_digit(c) {
        char::from_digit(u32::from(c) - 0x09E6, 10).unwrap_or(c)
    } else {
        c
    }
}

/// Folds spelling variants of one lowercase word of the given script.
pub(super) fn fold(word: &str, script: Script) -> String {
    match script {
        Script::Latin => fold_latin(word),
        Script::Bengali => fold_bengali(word),
        Script::Digit => word.to_owned(),
    }
}

/// Banglish spellings vary in the "h" of aspirated consonants and in doubled
/// letters ("bhai"/"vai", "sharee"/"saree", "dhonnobad"/"donobad").
fn fold_latin(word: &str) -> String {
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
fn fold_bengali(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        let mapped = match c {
            '\u{09BC}' | '\u{0981}' | '\u{09CD}' => continue, // nukta, chandrabindu, hasanta
            '\u{09DC}' => '\u{09A1}',                         // ড় → ড
            '\u{09DD}' => '\u{09A2}',                         // ঢ় → ঢ
            '\u{09DF}' => '\u{09AF}',                         // য় → য
            '\u{09C0}' => '\u{09BF}',                         // ী → ি
            '\u{09C2}' => '\u{09C1}',                         // ূ → ু
            '\u{0988}' => '\u{0987}',                         // ঈ → ই
            '\u{098A}' => '\u{0989}',                         // ঊ → উ
            '\u{09CE}' => '\u{09A4}',                         // ৎ → ত
            '\u{09B6}' | '\u{09B7}' => '\u{09B8}',            // শ, ষ → স
            '\u{09A3}' => '\u{09A8}',                         // ণ → ন
            other => other,
        };
        out.push(mapped);
    }
    out
}

/// How alike two folded words are, from 0 (nothing shared) to 1 (equal):
/// the better of trigram overlap and edit distance, so both transposed
/// letters ("sarre") and a changed vowel ("sari") score well.
pub(super) fn similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    let (len_a, len_b) = (a.chars().count(), b.chars().count());
    if len_a == 0 || len_b == 0 || len_a > MAX_FUZZY_CHARS || len_b > MAX_FUZZY_CHARS {
        return 0.0;
    }
    let trigram = trigram_similarity(a, b);
    // Bangla vowel signs are characters of their own, so one changed letter
    // is two edits apart and edit distance rates unrelated words as close
    // ("কুর্তি"/"সুতি"); trigrams (and folding) serve Bangla better.
    let bengali = a
        .chars()
        .chain(b.chars())
        .any(|c| ('\u{0980}'..='\u{09FF}').contains(&c));
    let edit = if len_a.min(len_b) >= 4 && !bengali {
        let longest = len_a.max(len_b) as f64;
        1.0 - levenshtein(a, b) as f64 / longest
    } else {
        0.0
    };
    trigram.max(edit)
}

/// How well a message word stands for a word of the owner's (a product name,
/// an area): equal words, the word with a suffix ("sarees", "শাড়িটা"), or a
/// near spelling.
pub(super) fn word_match(owner_word: &str, message_word: &str) -> f64 {
    if owner_word == message_word {
        return 1.0;
    }
    let owner_len = owner_word.chars().count();
    let extra = message_word.chars().count().saturating_sub(owner_len);
    if owner_len >= 2 && (1..=3).contains(&extra) && message_word.starts_with(owner_word) {
        return 0.9;
    }
    if owner_len < 3 || owner_word.chars().all(|c| c.is_ascii_digit()) {
        return 0.0;
    }
    similarity(owner_word, message_word)
}

fn trigrams(word: &str) -> Vec<[char; 3]> {
    let padded: Vec<char> = "  ".chars().chain(word.chars()).chain(" ".chars()).collect();
    let mut out: Vec<[char; 3]> = padded
        .windows(3)
        .filter_map(|window| match window {
            [a, b, c] => Some([*a, *b, *c]),
            _ => None,
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn trigram_similarity(a: &str, b: &str) -> f64 {
    let (left, right) = (trigrams(a), trigrams(b));
    let shared = left.iter().filter(|gram| right.binary_search(gram).is_ok()).count();
    let union = left.len() + right.len() - shared;
    if union == 0 { 0.0 } else { shared as f64 / union as f64 }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current.fill(0);
        if let Some(first) = current.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let deletion = previous.get(j + 1).copied().unwrap_or(0) + 1;
            let insertion = current.get(j).copied().unwrap_or(0) + 1;
            if let Some(cell) = current.get_mut(j + 1) {
                *cell = substitution.min(deletion).min(insertion);
            }
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous.last().copied().unwrap_or(0)
}

/// The folded words of a phrase the owner wrote (a name, an area, a size).
pub(super) fn folded_words(text: &str) -> Vec<String> {
    tokenize(text).into_iter().map(|token| token.folded).collect()
}

/// Where `words` occur one after another in `tokens`, each word matching with
/// at least `min_score` per [`word_match`]; the index of the first token.
pub(super) fn find_sequence(tokens: &[Token], words: &[String], min_score: f64) -> Option<usize> {
    if words.is_empty() || words.len() > tokens.len() {
        return None;
    }
    (0..=tokens.len() - words.len()).find(|&start| {
        words.iter().enumerate().all(|(offset, word)| {
            tokens
                .get(start + offset)
                .is_some_and(|token| word_match(word, &token.folded) >= min_score)
        })
    })
}

/// Runs of digits in `text` (Bangla digits as ASCII), for the numbers a reply
/// repeats back from the customer's own words.
pub(super) fn digit_runs(text: &str) -> Vec<String> {
    tokenize(text)
        .into_iter()
        .filter(|token| token.script == Script::Digit)
        .map(|token| token.text)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_digits_from_letters_and_folds_spellings() {
        let tokens = tokenize("Sharee 2ta, দুইটা শাড়ী ১২!");
        let folded: Vec<&str> = tokens.iter().map(|t| t.folded.as_str()).collect();
        assert_eq!(folded, ["sare", "2", "ta", "দুইটা", "সাডি", "12"]);
        assert_eq!(fold_latin("saree"), fold_latin("sharee"));
    }

    #[test]
    fn offsets_point_into_the_message() {
        let text = "নাম: রহিম";
        for token in tokenize(text) {
            assert!(text.get(token.start..token.end).is_some());
        }
    }

    #[test]
    fn similarity_tolerates_spelling() {
        assert!(word_match("সুতি", "কুরতি") < 0.6);
        assert!(similarity("sari", "sare") >= 0.6);
        assert!(similarity("panjabi", "punjabi") >= 0.8);
        assert!(similarity("red", "bed") < 0.5);
        assert!(word_match("sare", "sares") >= 0.9);
    }
}
