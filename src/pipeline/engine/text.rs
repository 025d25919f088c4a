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

// Splitting and folding are the shared text layer's, so the engine, the
// classifier and the safety filter read a message the same way.
pub(super) use crate::pipeline::text::{Script, Token, ascii_digit, folded_words, tokenize, truncate};

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

/// Endings Banglish and English add to a word ("sarees", "panjabita",
/// "pencil er"): only these make a longer word the same word, so "pencil"
/// is not "pen" and "cartoon" is not "cart".
const LATIN_ENDINGS: &[&str] = &[
    "s", "es", "er", "r", "ra", "der", "ta", "ti", "tu", "to", "te", "tay", "tar", "ke", "e", "y", "ay", "o", "ar",
    "re", "d", "ed", "ing", "gula", "gulo", "guli", "ri",
];

/// How well a message word stands for a word of the owner's (a product name,
/// an area): equal words, the word with a suffix ("sarees", "শাড়িটা"), or a
/// near spelling.
pub(super) fn word_match(owner_word: &str, message_word: &str) -> f64 {
    if owner_word == message_word {
        return 1.0;
    }
    let owner_len = owner_word.chars().count();
    let extra = message_word.chars().count().saturating_sub(owner_len);
    if owner_len >= 2
        && (1..=3).contains(&extra)
        && let Some(ending) = message_word.strip_prefix(owner_word)
        && (!ending.is_ascii() || LATIN_ENDINGS.contains(&ending))
    {
        return 0.9;
    }
    if owner_len < 3 || owner_word.chars().all(|c| c.is_ascii_digit()) {
        return 0.0;
    }
    similarity(owner_word, message_word)
}

pub(super) fn trigrams(word: &str) -> Vec<[char; 3]> {
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
    fn similarity_tolerates_spelling() {
        assert!(word_match("সুতি", "কুরতি") < 0.6);
        assert!(similarity("sari", "sare") >= 0.6);
        assert!(similarity("panjabi", "punjabi") >= 0.8);
        assert!(similarity("red", "bed") < 0.5);
        assert!(word_match("sare", "sares") >= 0.9);
    }
}
