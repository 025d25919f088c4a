//! Finding the owner's things a message talks about: products, variants,
//! delivery areas and FAQ entries.
//!
//! The database already picked products that look relevant, but it does not
//! know whether the customer actually named one: every match here has a
//! score and a threshold, and a near tie is reported as ambiguous so the
//! engine asks instead of guessing.

use crate::catalog::store::{DeliveryArea, FaqEntry, VariantRow};
use crate::pipeline::grounding::GroundedProduct;

use super::intent::is_stopword;
use super::text::{Script, Token, find_sequence, folded_words, similarity, word_match};
use crate::pipeline::text::banglish_to_bengali;

/// A product counts as mentioned from this score on.
const MENTION_THRESHOLD: f64 = 0.5;

/// A message word stands for a product word from this similarity on.
const WORD_THRESHOLD: f64 = 0.6;

/// Two products closer than this are too close to pick one.
const AMBIGUITY_MARGIN: f64 = 0.09;

/// At most this many products are offered when asking "which one?".
pub(super) const MAX_CHOICES: usize = 5;

/// Which product, if any, a message names.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Mention {
    None,
    One {
        index: usize,
        score: f64,
        how: &'static str,
    },
    /// Indexes of the close candidates, best first.
    Ambiguous(Vec<usize>),
}

/// Scores every product against the message and decides which one it names.
/// `content` marks the tokens that may be product words (not keywords or filler).
pub(super) fn find_product(products: &[GroundedProduct], tokens: &[Token], content: &[bool]) -> Mention {
    let mut scored: Vec<(usize, f64, &'static str)> = score_all(products, tokens, content)
        .into_iter()
        .enumerate()
        .map(|(index, (score, how))| (index, score, how))
        .filter(|(_, score, _)| *score >= MENTION_THRESHOLD)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let Some(&(best_index, best_score, how)) = scored.first() else {
        return Mention::None;
    };
    let close: Vec<usize> = scored
        .iter()
        .take_while(|(_, score, _)| best_score - score < AMBIGUITY_MARGIN)
        .map(|(index, _, _)| *index)
        .take(MAX_CHOICES)
        .collect();
    if close.len() > 1 {
        Mention::Ambiguous(close)
    } else {
        Mention::One {
            index: best_index,
            score: best_score,
            how,
        }
    }
}

/// How well the message names each product (0 to 1), and by what: SKU,
/// name, Bangla name, their words, tags, or Banglish words meeting a
/// Bangla name.
pub(super) fn score_all<'p>(
    products: impl IntoIterator<Item = &'p GroundedProduct>,
    tokens: &[Token],
    content: &[bool],
) -> Vec<(f64, &'static str)> {
    // Each distinct word once: a pasted wall of repeated words costs no more
    // than one copy of it.
    let mut content_tokens: Vec<&Token> = Vec::new();
    // Numbers (quantities, weights, phones) do not name products; SKUs and
    // names with digits are matched as sequences before this.
    for (token, is_content) in tokens.iter().zip(content) {
        if *is_content
            && token.script != Script::Digit
            && !content_tokens.iter().any(|seen| seen.folded == token.folded)
        {
            content_tokens.push(token);
        }
    }
    // The customer's Banglish words in Bangla script, to meet Bangla names
    // ("lal suti" → "লাল সুতি").
    let transliterated: Vec<Token> = content_tokens
        .iter()
        .filter(|token| token.script == Script::Latin)
        .map(|token| Token {
            folded: banglish_to_bengali(&token.text),
            script: Script::Bengali,
            ..(*token).clone()
        })
        .collect();
    let transliterated: Vec<&Token> = transliterated.iter().collect();
    products
        .into_iter()
        .map(|product| {
            best_of(
                score_product(product, tokens, &content_tokens),
                across_scripts(product, &content_tokens, &transliterated),
            )
        })
        .collect()
}

/// Words that separate the products of a comparison ("X or Y", "X ar Y",
/// "X নাকি Y").
const SEPARATORS: &str = "or vs versus and with than ar ba naki na kintu আর বা নাকি এবং অথবা চেয়ে চাইতে থেকে";

/// Each product named on its own in a part of the message, in order: "red
/// saree or blue saree" names two products that a single look-up would
/// call ambiguous.
pub(super) fn find_products_each(products: &[GroundedProduct], tokens: &[Token], content: &[bool]) -> Vec<usize> {
    let separators = folded_words(SEPARATORS);
    let mut found = Vec::new();
    let mut start = 0;
    for end in 0..=tokens.len() {
        let at_separator = tokens.get(end).is_some_and(|token| separators.contains(&token.folded));
        if end < tokens.len() && !at_separator {
            continue;
        }
        if end > start
            && let (Some(part), Some(part_content)) = (tokens.get(start..end), content.get(start..end))
        {
            let index = find_product_in_part(products, tokens, content, part, part_content);
            if let Some(index) = index
                && !found.contains(&index)
            {
                found.push(index);
            }
        }
        start = end + 1;
    }
    found
}

/// The one product a part of a message names. "baseus ar xiaomi power
/// bank": when the part alone fits several (the Baseus products), the one the
/// whole message also describes.
pub(super) fn find_product_in_part(
    products: &[GroundedProduct],
    tokens: &[Token],
    content: &[bool],
    part: &[Token],
    part_content: &[bool],
) -> Option<usize> {
    match find_product(products, part, part_content) {
        Mention::One { index, .. } => Some(index),
        Mention::Ambiguous(candidates) => {
            let all: Vec<&Token> = tokens
                .iter()
                .zip(content)
                .filter(|(_, c)| **c)
                .map(|(t, _)| t)
                .collect();
            let mut scored: Vec<(usize, f64)> = candidates
                .iter()
                .filter_map(|&i| products.get(i).map(|p| (i, word_overlap(&folded_words(&p.name), &all))))
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1));
            match scored.as_slice() {
                [(best, top), (_, next), ..] if top - next >= AMBIGUITY_MARGIN => Some(*best),
                _ => by_option_named(products, &candidates, part),
            }
        }
        Mention::None => None,
    }
}

/// Of products named alike, the one that has the option the message names
/// ("সিঙ্গেল বেডশিট ব্লু ফ্লোরাল", "কুন্দন সেট পার্ল হোয়াইট"); of several
/// that have it, the one more of whose option words were named ("queen
/// size ... champagne": the sheet that comes in both).
pub(super) fn by_option_named(products: &[GroundedProduct], candidates: &[usize], tokens: &[Token]) -> Option<usize> {
    let fit: Vec<(usize, usize)> = candidates
        .iter()
        .filter_map(|&index| {
            let pick = pick_variants(products.get(index)?, tokens)?;
            (!pick.candidates.is_empty()).then_some((index, pick.used_tokens.len()))
        })
        .collect();
    let most = fit.iter().map(|(_, words)| *words).max().unwrap_or(0);
    match fit
        .iter()
        .filter(|(_, words)| *words == most)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [(index, _)] => Some(*index),
        _ => None,
    }
}

/// How strongly the message names `product`, and by what.
fn score_product(product: &GroundedProduct, tokens: &[Token], content: &[&Token]) -> (f64, &'static str) {
    let sku = folded_words(&product.sku);
    let sku_is_distinctive = product.sku.chars().filter(|c| c.is_alphanumeric()).count() >= 3;
    if sku_is_distinctive && find_sequence(tokens, &sku, 1.0).is_some() {
        return (1.0, "sku");
    }
    let name = folded_words(&product.name);
    if find_sequence(tokens, &name, 0.85).is_some() {
        return (1.0, "name");
    }
    let name_bn = product.name_bn.as_deref().map(folded_words).unwrap_or_default();
    if find_sequence(tokens, &name_bn, 0.85).is_some() {
        return (1.0, "Bangla name");
    }
    // "Mango Pickle (Aamer Achar)": each way of naming it counts on its own,
    // so "amer achar" covers one name fully instead of half of both.
    let by_name = (
        "name words",
        name_alternatives(&product.name)
            .iter()
            .map(|alternative| word_overlap(alternative, content))
            .fold(word_overlap(&name, content), f64::max),
    );
    let by_bn = ("Bangla name words", word_overlap(&name_bn, content));
    let by_tags = ("tag", tag_score(&product.tags, tokens, content));
    let (how, score) = [by_name, by_bn, by_tags]
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(("", 0.0));
    (score, how)
}

fn best_of(a: (f64, &'static str), b: (f64, &'static str)) -> (f64, &'static str) {
    if b.0 > a.0 { b } else { a }
}

/// A transliterated match counts a little less than a match as written.
const ACROSS_SCRIPTS: f64 = 0.9;

/// How strongly the message names `product` in the other script: Banglish
/// words against the Bangla name, Bangla words against the English name and
/// tags read as Banglish ("পাঞ্জাবি" names the "Cotton Panjabi").
fn across_scripts(product: &GroundedProduct, content: &[&Token], transliterated: &[&Token]) -> (f64, &'static str) {
    let name_bn = product.name_bn.as_deref().map(folded_words).unwrap_or_default();
    let by_bn = word_overlap(&name_bn, transliterated);
    let bengali: Vec<&Token> = content
        .iter()
        .copied()
        .filter(|t| t.script == Script::Bengali)
        .collect();
    let latin_in_bengali = |text: &str| -> Vec<String> {
        folded_words(text)
            .iter()
            .map(|word| banglish_to_bengali(word))
            .collect()
    };
    let by_name = word_overlap(&latin_in_bengali(&product.name), &bengali);
    let by_tags = product
        .tags
        .iter()
        .map(|tag| word_overlap(&latin_in_bengali(tag), &bengali).min(MENTION_THRESHOLD))
        .fold(0.0, f64::max);
    let (how, score) = [
        ("Bangla name, transliterated", by_bn),
        ("name, transliterated", by_name),
        ("tag, transliterated", by_tags),
    ]
    .into_iter()
    .max_by(|a, b| a.1.total_cmp(&b.1))
    .unwrap_or(("", 0.0));
    (score * ACROSS_SCRIPTS, how)
}

/// The parts of a name written with another in brackets or after a slash
/// ("Mango Pickle (Aamer Achar)" → "Mango Pickle", "Aamer Achar").
fn name_alternatives(name: &str) -> Vec<Vec<String>> {
    name.split(['(', ')', '/', '|'])
        .map(folded_words)
        .filter(|words| !words.is_empty())
        .collect()
}

/// Mostly the best single-word match, plus the share of the name covered
/// and the share of the customer's words the name explains: "saree" alone
/// names a saree, "red saree" names the red one better, and "cotton sharee"
/// names the cotton saree rather than the cotton panjabi.
fn word_overlap(name: &[String], content: &[&Token]) -> f64 {
    let words: Vec<&String> = name.iter().filter(|word| is_name_word(word)).collect();
    if words.is_empty() || content.is_empty() {
        return 0.0;
    }
    // matches[w][t]: how well content token t stands for name word w, when it does.
    let matches: Vec<Vec<f64>> = words
        .iter()
        .map(|word| {
            content
                .iter()
                .map(|token| word_match(word, &token.folded))
                .map(|score| if score >= WORD_THRESHOLD { score } else { 0.0 })
                .collect()
        })
        .collect();
    let sims: Vec<f64> = matches
        .iter()
        .map(|row| row.iter().copied().fold(0.0, f64::max))
        .collect();
    // A colour alone does not name a product: "earbuds in white" asks for
    // white earbuds, not the "White Cotton Panjabi". Colours still count
    // towards coverage, so "red saree" picks the red one of two sarees.
    let best = words
        .iter()
        .zip(&sims)
        .filter(|(word, _)| !is_colour_word(word))
        .map(|(_, sim)| *sim)
        .fold(0.0, f64::max);
    if best == 0.0 {
        return 0.0;
    }
    let coverage = sims.iter().sum::<f64>() / sims.len() as f64;
    let explained = (0..content.len())
        .filter(|&t| matches.iter().any(|row| row.get(t).is_some_and(|score| *score > 0.0)))
        .count();
    let explained = explained as f64 / content.len() as f64;
    0.4 * best + 0.4 * coverage + 0.2 * explained
}

/// Whether a folded word names a colour in one of the three languages.
fn is_colour_word(word: &str) -> bool {
    static FOLDED: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        COLOURS
            .iter()
            .flat_map(|names| names.iter().flat_map(|name| folded_words(name)))
            .collect()
    });
    FOLDED.iter().any(|colour| colour == word)
}

/// Words worth comparing: not filler, and long enough to mean something.
fn is_name_word(word: &str) -> bool {
    let is_bengali = word.chars().any(|c| ('\u{0980}'..='\u{09FF}').contains(&c));
    let min_len = if is_bengali { 2 } else { 3 };
    word.chars().count() >= min_len && !is_stopword(word)
}

/// A tag named in full is a weaker mention than the product's own name.
fn tag_score(tags: &[String], tokens: &[Token], content: &[&Token]) -> f64 {
    let named = tags.iter().any(|tag| {
        let words = folded_words(tag);
        match words.as_slice() {
            [] => false,
            [word] => is_name_word(word) && content.iter().any(|token| word_match(word, &token.folded) >= 0.85),
            _ => find_sequence(tokens, &words, 0.85).is_some(),
        }
    });
    if named { MENTION_THRESHOLD } else { 0.0 }
}

/// Which of a product's variants a message picks.
#[derive(Debug, Clone, Default)]
pub(super) struct VariantPick {
    /// Variants consistent with every size and colour mentioned (may be empty
    /// when that combination does not exist).
    pub candidates: Vec<usize>,
    /// Tokens used for sizes and colours, so "42" the size is not read as a quantity.
    pub used_tokens: Vec<usize>,
}

/// Colour names customers use for the same colour in the three languages.
const COLOURS: &[&[&str]] = &[
    &["red", "lal", "লাল"],
    &["blue", "nil", "neel", "নীল"],
    &["green", "sobuj", "shobuj", "সবুজ"],
    &["black", "kalo", "কালো"],
    &["white", "sada", "shada", "সাদা"],
    &["yellow", "holud", "হলুদ"],
    &["pink", "golapi", "গোলাপি"],
    &["orange", "komola", "কমলা"],
    &["purple", "beguni", "বেগুনি"],
    &["brown", "badami", "বাদামি", "khoyeri", "খয়েরি"],
    &["grey", "gray", "chai", "ধূসর", "ছাই"],
    &["maroon", "meroon", "মেরুন"],
    &["navy", "নেভি"],
    &["golden", "gold", "sonali", "সোনালি"],
    &["silver", "rupali", "রুপালি"],
];

/// Units of sizes and weights, as customers write them in three languages.
pub(super) const UNITS: &[&[&str]] = &[
    &["kg", "kilo", "কেজি"],
    &["g", "gm", "gram", "গ্রাম"],
    &["pound", "lb", "paund", "পাউন্ড"],
    &["ml", "এমএল"],
    &["l", "litre", "liter", "লিটার"],
    &["years", "year", "yrs", "bochor", "বছর"],
    &["inch", "inches", "ইঞ্চি"],
    &["feet", "foot", "ft", "ফুট"],
    &["cm", "সেমি"],
];

/// Whether a word (lowercase, as written) is a unit of [`UNITS`]: in "one
/// 5 litre and one 1 litre" it names an option, never a product ("litre"
/// is not "Litchi").
pub(super) fn is_unit(word: &str) -> bool {
    UNITS.iter().any(|group| group.contains(&word))
}

/// Size names customers write instead of the letter the owner used.
const SIZES: &[&[&str]] = &[
    &["s", "small", "এস", "স্মল"],
    &["m", "medium", "এম", "মিডিয়াম"],
    &["l", "large", "এল", "লার্জ"],
    &["xl", "extra large", "এক্সএল", "এক্স এল"],
    &["xxl", "2xl", "ডাবল এক্সএল", "এক্সএক্সএল"],
];

/// The variants of `product` consistent with the sizes and colours in the
/// message; `None` when the message mentions none.
pub(super) fn pick_variants(product: &GroundedProduct, tokens: &[Token]) -> Option<VariantPick> {
    let mut used_tokens = Vec::new();
    // How many words named each one: "rose gold" names "Rose Gold" with
    // two, and "Gold" with one, so it is not the gold one.
    let mut hits_of = |value: fn(&VariantRow) -> &str, synonyms: &[&[&str]], by_one_word: bool| -> Vec<bool> {
        let words: Vec<usize> = product
            .variants
            .iter()
            .map(|variant| {
                let mut used = Vec::new();
                if attribute_mentioned(value(variant), synonyms, by_one_word, tokens, &mut used) {
                    used.sort_unstable();
                    used.dedup();
                    used_tokens.extend(used.iter().copied());
                    used.len().max(1)
                } else {
                    0
                }
            })
            .collect();
        let most = words.iter().copied().max().unwrap_or(0);
        words.iter().map(|&n| n > 0 && n == most).collect()
    };
    let size_hits = hits_of(|variant| &variant.size, SIZES, false);
    let colour_hits = hits_of(|variant| &variant.colour, COLOURS, true);
    let mut size_hits = size_hits;
    if !size_hits.contains(&true)
        && let Some(by_word) = distinctive_size_word(product, tokens, &mut used_tokens)
    {
        size_hits = by_word;
    }
    if !size_hits.contains(&true)
        && let Some(by_size) = small_or_big(product, tokens, &mut used_tokens)
    {
        size_hits = by_size;
    }
    let size_named = size_hits.contains(&true);
    let colour_named = colour_hits.contains(&true);
    if !size_named && !colour_named {
        return None;
    }
    let candidates = (0..product.variants.len())
        .filter(|&i| {
            (!size_named || size_hits.get(i).copied().unwrap_or(false))
                && (!colour_named || colour_hits.get(i).copied().unwrap_or(false))
        })
        .collect();
    used_tokens.sort_unstable();
    used_tokens.dedup();
    Some(VariantPick {
        candidates,
        used_tokens,
    })
}

/// A size named by the one word that sets it apart from the product's other
/// sizes: "A4 khata" for "A4 300 pages", "science er ta" for "Science (Ka
/// Unit)", "12 color er" for "12 colours". A word of letters needs four of
/// them, and a number counts only with the letter written against it ("A4")
/// or the start of the word after it ("12 color"), since "2 ta" alone is a
/// count.
fn distinctive_size_word(product: &GroundedProduct, tokens: &[Token], used: &mut Vec<usize>) -> Option<Vec<bool>> {
    let sizes: Vec<Vec<String>> = product
        .variants
        .iter()
        .map(|variant| folded_words(&variant.size))
        .collect();
    let in_how_many = |word: &String| sizes.iter().filter(|size| size.contains(word)).count();
    let mut hits = vec![false; sizes.len()];
    let mut taken = Vec::new();
    for (hit, size) in hits.iter_mut().zip(&sizes) {
        for (at, word) in size.iter().enumerate() {
            if in_how_many(word) != 1 || is_unit(word) {
                continue;
            }
            let letters = word.chars().filter(|c| c.is_alphabetic()).count();
            let found = if letters >= 4 && !is_stopword(word) {
                find_sequence(tokens, std::slice::from_ref(word), 0.85).map(|i| vec![i])
            } else if letters == 0 {
                // "A4": the letter written against the number, as the owner did.
                let glued = at
                    .checked_sub(1)
                    .and_then(|before| size.get(before))
                    .filter(|before| before.chars().count() <= 2 && before.chars().all(char::is_alphabetic))
                    .and_then(|before| {
                        tokens.windows(2).position(|pair| {
                            matches!(pair, [letter, number] if letter.folded == *before
                                && number.folded == *word && letter.end == number.start)
                        })
                    });
                // "12 color": the number with the start of the word after it.
                let next: Option<String> = size.get(at + 1).map(|w| w.chars().take(3).collect());
                let with_next = next
                    .filter(|next| next.chars().count() == 3 && next.chars().all(char::is_alphabetic))
                    .and_then(|next| {
                        tokens.windows(2).position(|pair| {
                            matches!(pair, [number, after] if number.folded == *word
                                && after.folded.starts_with(next.as_str()))
                        })
                    });
                glued.or(with_next).map(|i| vec![i, i + 1])
            } else {
                None
            };
            if let Some(found) = found {
                *hit = true;
                taken.extend(found);
            }
        }
    }
    if !hits.contains(&true) {
        return None;
    }
    used.extend(taken);
    Some(hits)
}

/// "the small one", "boro boyam", "ছোটটা": the smallest or the largest of
/// options whose sizes are amounts (400g / 800g, 125ml / 250ml, 1 pound /
/// 2 pound). Letter sizes (S, M, L) are named, not compared.
fn small_or_big(product: &GroundedProduct, tokens: &[Token], used: &mut Vec<usize>) -> Option<Vec<bool>> {
    static SMALL: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| folded_words("small smaller smallest choto chhoto soto ছোট ছোটটা ছোটো"));
    static BIG: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| folded_words("big bigger biggest boro baro বড় বড়টা বড়ো"));
    let amount = |size: &str| -> Option<f64> {
        let digits: String = size
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let unit = size.trim().get(digits.len()..)?.trim().to_lowercase();
        let scale = match unit.as_str() {
            "kg" | "l" | "litre" | "liter" => 1000.0,
            "g" | "gm" | "ml" | "pound" | "lb" | "pcs" | "pc" | "" => 1.0,
            _ => return None,
        };
        // Pounds and grams do not mix, but one product's sizes share a kind.
        digits.parse::<f64>().ok().map(|value| value * scale)
    };
    let amounts: Vec<f64> = product
        .variants
        .iter()
        .map(|variant| amount(&variant.size))
        .collect::<Option<Vec<f64>>>()?;
    if amounts.len() < 2 {
        return None;
    }
    let (at, big) = tokens.iter().enumerate().find_map(|(at, token)| {
        if SMALL.contains(&token.folded) {
            Some((at, false))
        } else if BIG.contains(&token.folded) {
            Some((at, true))
        } else {
            None
        }
    })?;
    let pick = if big {
        amounts.iter().copied().fold(f64::MIN, f64::max)
    } else {
        amounts.iter().copied().fold(f64::MAX, f64::min)
    };
    used.push(at);
    Some(
        amounts
            .iter()
            .map(|value| (value - pick).abs() < f64::EPSILON)
            .collect(),
    )
}

/// Whether the message names `value` (a size or colour as the owner wrote it)
/// directly or by one of its synonyms; records the tokens it used.
fn attribute_mentioned(
    value: &str,
    synonyms: &[&[&str]],
    by_one_word: bool,
    tokens: &[Token],
    used: &mut Vec<usize>,
) -> bool {
    let words = folded_words(value);
    if words.is_empty() {
        return false;
    }
    let mut spellings = vec![words.clone()];
    for group in synonyms {
        let group: Vec<Vec<String>> = group.iter().map(|word| folded_words(word)).collect();
        if group.contains(&words) {
            spellings.extend(group);
        }
    }
    // Units written another way: "1kg" is "১ কেজি", "2 pound" is "2 পাউন্ড".
    let mut with_units = Vec::new();
    for spelling in &spellings {
        for (at, word) in spelling.iter().enumerate() {
            for group in UNITS {
                let group: Vec<String> = group.iter().flat_map(|unit| folded_words(unit)).collect();
                if group.contains(word) {
                    for other in group.iter().filter(|other| *other != word) {
                        let mut respelled = spelling.clone();
                        if let Some(slot) = respelled.get_mut(at) {
                            other.clone_into(slot);
                        }
                        with_units.push(respelled);
                    }
                }
            }
        }
    }
    spellings.extend(with_units);
    let mut found = false;
    for spelling in &spellings {
        // Short sizes ("M", "L") must be exact; a weight with its number
        // may carry a Bangla ending ("১ কেজিরটা").
        let has_number = spelling.iter().any(|word| word.chars().all(|c| c.is_ascii_digit()));
        let min_score = if spelling.iter().all(|word| word.chars().count() >= 4) {
            0.85
        } else if has_number
            && spelling
                .iter()
                .all(|word| word.chars().all(|c| c.is_ascii_digit()) || word.chars().count() >= 2)
        {
            0.9
        } else {
            1.0
        };
        if let Some(start) = find_sequence(tokens, spelling, min_score) {
            used.extend(start..start + spelling.len());
            found = true;
        }
    }
    if !found && let Some(at) = find_marked_size(tokens, &words) {
        used.push(at);
        found = true;
    }
    if !found && let Some(span) = find_amount(tokens, &words) {
        used.extend(span);
        found = true;
    }
    // As the owner wrote it: folding takes the "h" of "ch" that the sound needs.
    let written: Vec<String> = value.split_whitespace().map(str::to_lowercase).collect();
    if !found && !written.is_empty() {
        found = in_bangla_letters(&written, tokens, used);
    }
    // "navy" for "Navy Blue", "mint" for "Mint Green", "blue" for both
    // "Navy Blue" and "Sky Blue" (the reply then lists both). Modifiers
    // alone ("off", "light", "dark") name nothing.
    if !found && by_one_word && words.len() >= 2 {
        const MODIFIERS: &[&str] = &[
            "off", "light", "dark", "deep", "pale", "soft", "color", "colour", "and", "with",
        ];
        for word in words
            .iter()
            .filter(|word| word.chars().count() >= 3 && !MODIFIERS.contains(&word.as_str()))
        {
            let min_score = if word.chars().count() >= 4 { 0.85 } else { 1.0 };
            if let Some(at) = find_sequence(tokens, std::slice::from_ref(word), min_score) {
                used.push(at);
                found = true;
            }
        }
    }
    found
}

/// An amount option ("4-5 years", "500 g", "2 feet") as customers write it:
/// its numbers exactly, then its unit in any spelling of [`UNITS`] with a
/// Bangla ending ("৪-৫ বছরের", "৫০০ গ্রামের"); a range ("3-4") needs no
/// unit, since no count is written that way. The tokens it takes.
fn find_amount(tokens: &[Token], words: &[String]) -> Option<std::ops::Range<usize>> {
    // The numbers, with the "x" of a measure ("18x18 inch") between them.
    let is_number = |word: &String| !word.is_empty() && word.chars().all(|c| c.is_ascii_digit());
    let body = words
        .iter()
        .take_while(|word| is_number(word) || word.as_str() == "x" || word.as_str() == "×")
        .count();
    let (unit, rest) = match words.get(body..)? {
        [] => (None, 0),
        [unit] => (Some(unit), 1),
        _ => return None,
    };
    let numbers_in_body = words.iter().take(body).filter(|word| is_number(word)).count();
    if numbers_in_body == 0 || (numbers_in_body == 1 && unit.is_none()) {
        return None;
    }
    let numbers = body;
    let spellings: Vec<String> = unit
        .and_then(|unit| {
            UNITS.iter().find_map(|group| {
                let group: Vec<String> = group.iter().flat_map(|u| folded_words(u)).collect();
                group.contains(unit).then_some(group)
            })
        })
        .unwrap_or_default();
    if unit.is_some() && spellings.is_empty() {
        return None;
    }
    let unit_at = |at: usize| {
        tokens.get(at).is_some_and(|token| {
            spellings
                .iter()
                .any(|spelling| spelling.chars().count() >= 2 && token.folded.starts_with(spelling.as_str()))
        })
    };
    let start = (0..tokens.len()).find(|&start| {
        let numbers_match = (0..numbers).all(|offset| {
            tokens
                .get(start + offset)
                .zip(words.get(offset))
                .is_some_and(|(token, word)| token.text == *word)
        });
        // The number must not be part of a longer one ("14-5").
        let starts_clean = start == 0
            || tokens
                .get(start - 1)
                .is_none_or(|before| before.script != Script::Digit);
        let unit_ok = rest == 0 || numbers_in_body >= 2 || unit_at(start + numbers);
        numbers_match && starts_clean && unit_ok
    })?;
    let end = start + numbers + usize::from(rest == 1 && unit_at(start + numbers));
    Some(start..end)
}

/// Whether a folded word is "size" in some script ("saiz", "সাইজের").
pub(super) fn is_size_word(folded: &str) -> bool {
    static SIZE: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| folded_words("size saiz sise sz সাইজ সাইজের সাইজে সাইজটা"));
    SIZE.iter().any(|word| word == folded)
}

/// A size the owner wrote as "Size 30" named by its number with a size word
/// in any script before or after it ("সাইজ ৩০", "30 size", "৪২ নম্বর"),
/// so "30" alone (a count) is not it. The index of the number.
fn find_marked_size(tokens: &[Token], words: &[String]) -> Option<usize> {
    static AFTER: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        folded_words("size saiz sz সাইজ সাইজের সাইজটা সাইজেরটা number nombor nambar no নম্বর নাম্বার নাম্বারের নম্বরের")
    });
    let [marker, number] = words else {
        return None;
    };
    if !is_size_word(marker) || !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    (0..tokens.len()).find(|&at| {
        tokens.get(at).is_some_and(|token| token.text == *number)
            && (at
                .checked_sub(1)
                .and_then(|before| tokens.get(before))
                .is_some_and(|before| is_size_word(&before.folded))
                || tokens.get(at + 1).is_some_and(|after| AFTER.contains(&after.folded)))
    })
}

/// Words next to an option that say it is a colour ("পিচ কালারটা").
const COLOUR_MARKERS: &[&str] = &[
    "কালার",
    "কালারের",
    "কালারটা",
    "কালারটি",
    "কালারে",
    "রং",
    "রঙ",
    "রঙের",
    "রংটা",
    "রঙটা",
    "color",
    "colour",
    "colar",
    "kalar",
];

/// An English option written in Bangla letters: "গোল্ড" for Gold, "মিন্ট"
/// for Mint, "নেভি ব্লু" for Navy Blue, "পিচ কালার" for Peach. Equal
/// consonants are enough when there are three of them; two ("পিচ") need a
/// colour word beside them, so "পাঁচ" (five) is not Peach.
fn in_bangla_letters(option: &[String], tokens: &[Token], used: &mut Vec<usize>) -> bool {
    // "Off-white" is said as two words ("অফ হোয়াইট").
    let option: Vec<String> = option
        .iter()
        .flat_map(|word| word.split('-').filter(|part| !part.is_empty()).map(str::to_owned))
        .collect();
    let option = option.as_slice();
    if option.iter().any(|word| !word.chars().all(|c| c.is_ascii_alphabetic())) {
        return false;
    }
    // Each word's consonants, also as said when an "s" between vowels
    // sounds "z" ("rose" is "রোজ", "blouse" is "ব্লাউজ").
    let wanted: Vec<Vec<String>> = option
        .iter()
        .map(|word| crate::pipeline::text::consonant_skeletons(word))
        .collect();
    let letters: usize = wanted.iter().filter_map(|ways| ways.first()).map(String::len).sum();
    if letters < 2 || wanted.iter().any(|ways| ways.iter().any(String::is_empty)) {
        return false;
    }
    let markers: Vec<String> = COLOUR_MARKERS.iter().flat_map(|w| folded_words(w)).collect();
    let beside_marker = |first: usize, last: usize| {
        [first.checked_sub(1), Some(last + 1)]
            .into_iter()
            .flatten()
            .filter_map(|i| tokens.get(i))
            .any(|token| markers.contains(&token.folded))
    };
    let fits = |at: usize| {
        wanted.iter().enumerate().all(|(k, ways)| {
            tokens.get(at + k).is_some_and(|token| {
                token.script == Script::Bengali
                    && ways.contains(&crate::pipeline::text::consonant_skeleton(
                        &crate::pipeline::text::romanize_bengali(&token.text),
                    ))
            })
        })
    };
    // "অলিভ" for Olive: a word that starts with a vowel both ways is as
    // sure as a third consonant ("পাঁচ", five, is not Peach).
    let vowel_first = |at: usize| {
        option
            .first()
            .is_some_and(|word| word.starts_with(['a', 'e', 'i', 'o', 'u']))
            && tokens.get(at).is_some_and(|token| {
                token
                    .text
                    .starts_with(['অ', 'আ', 'ই', 'ঈ', 'উ', 'ঊ', 'এ', 'ঐ', 'ও', 'ঔ', 'ঋ'])
            })
    };
    let hit = (0..tokens.len())
        .find(|&at| fits(at) && (letters >= 3 || vowel_first(at) || beside_marker(at, at + wanted.len() - 1)));
    match hit {
        Some(at) => {
            used.extend(at..at + wanted.len());
            true
        }
        None => false,
    }
}

/// What a variant is called for people: "M / Red", or whichever is set.
pub(super) fn variant_label(variant: &VariantRow) -> String {
    match (variant.size.trim(), variant.colour.trim()) {
        ("", "") => String::new(),
        (size, "") => size.to_owned(),
        ("", colour) => colour.to_owned(),
        (size, colour) => format!("{size} / {colour}"),
    }
}

/// Which delivery area a message or address names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AreaMatch {
    None,
    One(usize),
}

/// The owner's area a customer's place falls in: an area named in the
/// message first; otherwise a place of Bangladesh in the message
/// (gazetteer), mapped by its zone to the one area whose name says that
/// zone ("Inside Dhaka" / "Dhaka city", "Outside Dhaka", "Dhaka suburbs").
/// No match when no area's name says the place's zone, or several do.
///
/// Words of the shop's product names are not read as places: "Tangail saree"
/// or "Bogura doi" says nothing about where the customer lives.
pub(super) fn find_area_or_place(areas: &[DeliveryArea], products: &[GroundedProduct], tokens: &[Token]) -> AreaMatch {
    let outside_products = tokens_outside_products(products, tokens, false);
    let place = crate::pipeline::gazetteer::place_in(&outside_products);
    // "dhakar baire" names a zone: it must not pick an area called "Dhaka".
    if let Some(place) = &place
        && place.zone_phrase
        && let AreaMatch::One(index) = area_for_zone(areas, place.zone)
    {
        return AreaMatch::One(index);
    }
    let named = find_area(areas, tokens, false);
    if named != AreaMatch::None {
        return named;
    }
    place.map_or(AreaMatch::None, |place| area_for_zone(areas, place.zone))
}

/// The tokens that are no word of a product's name or Bangla name (and, with
/// `tags`, of its tags): a place in a name ("Sundarban Honey", "Dhakai
/// Jamdani", "saudi khejur") is not where to deliver.
pub(super) fn tokens_outside_products(products: &[GroundedProduct], tokens: &[Token], tags: bool) -> Vec<Token> {
    let product_words: Vec<String> = products
        .iter()
        .flat_map(|p| {
            let mut words = folded_words(&p.name);
            words.extend(p.name_bn.as_deref().map(folded_words).unwrap_or_default());
            if tags {
                words.extend(p.tags.iter().flat_map(|tag| folded_words(tag)));
            }
            words
        })
        .collect();
    tokens
        .iter()
        .filter(|t| !product_words.contains(&t.folded))
        .cloned()
        .collect()
}

const OUTSIDE_WORDS: &[&str] = &[
    "outside",
    "baire",
    "bahire",
    "বাইরে",
    "sara",
    "all",
    "other",
    "anywhere",
    "সারা",
    "অন্য",
];
const INSIDE_WORDS: &[&str] = &["inside", "vitore", "bitore", "ভিতরে", "ভেতরে", "city", "সিটি", "metro"];
const SUBURB_WORDS: &[&str] = &[
    "suburb",
    "suburbs",
    "sub",
    "around",
    "near",
    "pasher",
    "আশেপাশে",
    "উপশহর",
    "shohortoli",
];

const DHAKA_WORDS: &[&str] = &["dhaka", "dhakar", "ঢাকা", "ঢাকার"];

fn area_for_zone(areas: &[DeliveryArea], zone: crate::pipeline::gazetteer::Zone) -> AreaMatch {
    use crate::pipeline::gazetteer::Zone;
    let folded = |list: &[&str]| -> Vec<String> { list.iter().map(|w| folded_words(w).join(" ")).collect() };
    let (outside_words, inside_words, suburb_words, dhaka_words) = (
        folded(OUTSIDE_WORDS),
        folded(INSIDE_WORDS),
        folded(SUBURB_WORDS),
        folded(DHAKA_WORDS),
    );
    let fits: Vec<usize> = areas
        .iter()
        .enumerate()
        .filter(|(_, area)| {
            let words = folded_words(&area.name);
            let has = |list: &[String]| words.iter().any(|word| list.contains(word));
            let (outside, suburb) = (has(&outside_words), has(&suburb_words));
            match zone {
                Zone::Outside => outside,
                Zone::Suburb => suburb && !outside,
                Zone::Inside => !outside && !suburb && (has(&inside_words) || has(&dhaka_words)),
            }
        })
        .map(|(index, _)| index)
        .collect();
    match fits.as_slice() {
        [one] => AreaMatch::One(*one),
        _ => AreaMatch::None,
    }
}

/// Finds the delivery area named in full ("Outside Dhaka" beats "Dhaka" when
/// both fit). With `allow_partial` (the customer is answering "which area?")
/// a unique best partial match also counts, so "inside" picks "Inside Dhaka".
/// A partial match is never taken from an address: "Mirpur, Dhaka" must not
/// pick "Outside Dhaka".
pub(super) fn find_area(areas: &[DeliveryArea], tokens: &[Token], allow_partial: bool) -> AreaMatch {
    let full = areas
        .iter()
        .enumerate()
        .filter_map(|(index, area)| {
            let words = folded_words(&area.name);
            find_sequence(tokens, &words, 0.85).map(|_| (index, words.len()))
        })
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
    if let Some((index, _)) = full {
        return AreaMatch::One(index);
    }
    if !allow_partial {
        return AreaMatch::None;
    }
    let mut partial: Vec<(usize, f64)> = areas
        .iter()
        .enumerate()
        .map(|(index, area)| {
            let words = folded_words(&area.name);
            let hits = words
                .iter()
                .filter(|word| tokens.iter().any(|token| word_match(word, &token.folded) >= 0.85))
                .count();
            (
                index,
                if words.is_empty() {
                    0.0
                } else {
                    hits as f64 / words.len() as f64
                },
            )
        })
        .filter(|(_, share)| *share > 0.0)
        .collect();
    partial.sort_by(|a, b| b.1.total_cmp(&a.1));
    match partial.as_slice() {
        [(index, _)] => AreaMatch::One(*index),
        [(index, best), (_, second), ..] if best - second > 0.01 => AreaMatch::One(*index),
        _ => AreaMatch::None,
    }
}

/// An FAQ entry a message matched.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FaqHit {
    pub index: usize,
    pub pattern: String,
    /// The pattern appears in the message as written (not only its words).
    pub exact: bool,
}

/// The FAQ entry whose pattern the message contains (longest pattern wins),
/// or else the one whose pattern words mostly appear in the message.
pub(super) fn find_faq(faq: &[FaqEntry], lower: &str, tokens: &[Token]) -> Option<FaqHit> {
    find_faq_as_written(faq, lower, tokens).or_else(|| {
        let spelled = spelled_out(lower)?;
        find_faq_as_written(faq, &spelled, &crate::pipeline::text::tokenize(&spelled))
    })
}

/// Words customers run together that owners write apart: "koydin lagbe"
/// asks what the pattern "koto din lagbe" says.
const RUN_TOGETHER: &[(&str, &str)] = &[
    ("koydin", "koto din"),
    ("koidin", "koto din"),
    ("kodin", "koto din"),
    ("kotodin", "koto din"),
    ("কয়দিন", "কত দিন"),
    ("কয\u{09BC}দিন", "কত দিন"),
    ("কদিন", "কত দিন"),
    ("কতদিন", "কত দিন"),
];

/// `lower` with run-together words written apart; `None` when it has none.
fn spelled_out(lower: &str) -> Option<String> {
    let mut changed = false;
    let words: Vec<String> = lower
        .split(' ')
        .map(|word| {
            let bare = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\u{09BC}');
            match RUN_TOGETHER.iter().find(|(joined, _)| *joined == bare) {
                Some((joined, apart)) => {
                    changed = true;
                    word.replacen(joined, apart, 1)
                }
                None => word.to_owned(),
            }
        })
        .collect();
    changed.then(|| words.join(" "))
}

fn find_faq_as_written(faq: &[FaqEntry], lower: &str, tokens: &[Token]) -> Option<FaqHit> {
    find_faq_in(faq, lower, tokens).or_else(|| {
        // Across scripts: the owner wrote "kotodin rakha", the customer
        // "কতদিন রাখা যায়?" (or the other way round). Both sides in Bangla
        // letters, Banglish by the Avro rules.
        let bengali: Vec<Token> = tokens.iter().map(in_bengali).collect();
        let patterns: Vec<FaqEntry> = faq
            .iter()
            .map(|entry| FaqEntry {
                patterns: entry
                    .patterns
                    .iter()
                    .map(|pattern| pattern_in_bengali(pattern))
                    .collect(),
                ..entry.clone()
            })
            .collect();
        let lower_bengali = bengali
            .iter()
            .map(|token| token.folded.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        find_faq_in(&patterns, &lower_bengali, &bengali).map(|hit| FaqHit {
            // The owner's own pattern, for the note.
            pattern: faq[hit.index]
                .patterns
                .iter()
                .find(|pattern| pattern_in_bengali(pattern) == hit.pattern)
                .cloned()
                .unwrap_or(hit.pattern),
            ..hit
        })
    })
}

/// A token in Bangla letters: Banglish transliterated, others as they are.
fn in_bengali(token: &Token) -> Token {
    match token.script {
        Script::Latin => Token {
            folded: banglish_to_bengali(&token.text),
            script: Script::Bengali,
            ..token.clone()
        },
        _ => token.clone(),
    }
}

/// An FAQ pattern with its Latin words in Bangla letters, folded.
fn pattern_in_bengali(pattern: &str) -> String {
    crate::pipeline::text::tokenize(pattern)
        .iter()
        .map(|token| in_bengali(token).folded)
        .collect::<Vec<_>>()
        .join(" ")
}

fn find_faq_in(faq: &[FaqEntry], lower: &str, tokens: &[Token]) -> Option<FaqHit> {
    let exact = faq
        .iter()
        .enumerate()
        .flat_map(|(index, entry)| entry.patterns.iter().map(move |pattern| (index, pattern.trim())))
        .filter(|(_, pattern)| {
            pattern.chars().count() >= 3
                && ((lower.contains(&pattern.to_lowercase()) && pattern_in_words(pattern, tokens))
                    || synonym_in_words(pattern, tokens))
        })
        .max_by_key(|(_, pattern)| pattern.chars().count());
    if let Some((index, pattern)) = exact {
        return Some(FaqHit {
            index,
            pattern: pattern.to_owned(),
            exact: true,
        });
    }
    faq.iter()
        .enumerate()
        .flat_map(|(index, entry)| entry.patterns.iter().map(move |pattern| (index, pattern)))
        .filter_map(|(index, pattern)| pattern_overlap(pattern, tokens).map(|share| (index, pattern, share)))
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(index, pattern, share)| FaqHit {
            index,
            pattern: pattern.trim().to_owned(),
            // Every word of a pattern of several, in any order and spelling
            // ("আচার কতদিন ভালো থাকে" for "কতদিন থাকে"), counts as written.
            exact: share >= 1.0,
        })
}

/// The share of a pattern's meaningful words found in the message, when it is
/// high enough (at least two words and three quarters of them).
/// Whether the pattern's words stand in the message as words: "hat" is not
/// in "what", "wash" is in "wash" and "washes". A Bangla word may carry a
/// case ending ("মাপ" in "মাপটা"), a Latin one a plural.
fn pattern_in_words(pattern: &str, tokens: &[Token]) -> bool {
    let words = folded_words(pattern);
    let Some(last) = words.len().checked_sub(1) else {
        return false;
    };
    tokens.windows(words.len()).any(|window| {
        window.iter().zip(&words).enumerate().all(|(at, (token, word))| {
            if token.folded == *word {
                return true;
            }
            let Some(rest) = token.folded.strip_prefix(word.as_str()) else {
                return false;
            };
            at == last
                && match token.script {
                    Script::Bengali => rest.chars().count() <= 3,
                    _ => matches!(rest, "s" | "es"),
                }
        })
    })
}

/// Words customers use for what an owner's FAQ pattern says another way
/// ("upfront" for "advance", "genuine" for "original"), in three languages.
const FAQ_SYNONYMS: &[&[&str]] = &[
    &[
        "advance",
        "upfront",
        "agrim",
        "ogrim",
        "অগ্রিম",
        "prepay",
        "prepaid",
        "beforehand",
    ],
    &[
        "original",
        "authentic",
        "genuine",
        "asol",
        "আসল",
        "orginal",
        "fake",
        "copy",
        "কপি",
        "nokol",
        "নকল",
        "real",
        "pure",
        "khati",
        "khanti",
        "খাঁটি",
        "vejal",
        "bhejal",
        "ভেজাল",
        "adulterated",
        "adulteration",
        "mixed",
    ],
    &[
        "warranty",
        "guarantee",
        "guaranty",
        "garanti",
        "warenty",
        "waranty",
        "গ্যারান্টি",
        "ওয়ারেন্টি",
    ],
    &[
        "wash",
        "washing",
        "dhoya",
        "dhuile",
        "dhule",
        "dhuye",
        "dhobo",
        "dhubo",
        "ধোয়া",
        "ধুলে",
        "ধোয়ার",
        "ধুতে",
        "ধোবো",
    ],
    &[
        "shelf",
        "expiry",
        "expire",
        "expired",
        "expires",
        "meyad",
        "mayad",
        "মেয়াদ",
        "spoil",
        "spoils",
        "rotten",
        "nosto",
        "noshto",
        "নষ্ট",
    ],
    &["ingredient", "ingredients", "upadan", "উপাদান", "upokoron", "উপকরণ"],
    &[
        "preservative",
        "preservatives",
        "chemical",
        "chemicals",
        "kemical",
        "formalin",
        "কেমিক্যাল",
        "ক্যামিকেল",
        "ফরমালিন",
    ],
    &["photo", "picture", "pic", "chobi", "chhobi", "ছবি", "image"],
    &["noise", "awaj", "awaz", "আওয়াজ", "শব্দ", "shobdo"],
    &[
        "crystal",
        "crystals",
        "crystallize",
        "grainy",
        "granules",
        "jome",
        "jomat",
        "জমে",
        "জমাট",
        "dana",
        "দানা",
        "shokto",
        "শক্ত",
        "hard",
        "solid",
    ],
    &[
        "itch",
        "itchy",
        "itching",
        "scratchy",
        "chulkay",
        "chulkani",
        "চুলকায়",
        "চুলকানি",
        "khoskhos",
        "খসখস",
        "kharkhare",
    ],
    &[
        "use",
        "apply",
        "lagabo",
        "lagaben",
        "lagate",
        "makhbo",
        "makhte",
        "মাখব",
        "মাখতে",
        "মাখবো",
        "লাগাব",
        "লাগাতে",
        "ব্যবহার",
    ],
    &["gift", "wrap", "wrapping", "uphar", "upohar", "উপহার", "গিফট", "গিফ্ট"],
    &["battery", "backup", "ব্যাটারি", "ব্যাকআপ"],
    &["fabric", "material", "cloth", "kapor", "kapod", "কাপড়"],
    &["soft", "narom", "norom", "নরম", "comfortable", "comfy"],
    &["smell", "smells", "odour", "odor", "gondho", "gondo", "গন্ধ"],
    &["leak", "leaks", "leaking", "লিক"],
    &["sugar", "chini", "চিনি", "diabetic", "diabetes", "sugarfree"],
    &["height", "tall", "uchchota", "উচ্চতা", "lomba", "লম্বা"],
    &["halal", "হালাল"],
    &["spicy", "jhal", "ঝাল"],
];

/// The other words of a word's synonym group, folded; empty when it has none.
fn synonyms_of(word: &str) -> Vec<String> {
    static GROUPS: std::sync::LazyLock<Vec<Vec<String>>> = std::sync::LazyLock::new(|| {
        // Each word also in Bangla letters, for the across-scripts pass.
        FAQ_SYNONYMS
            .iter()
            .map(|group| {
                group
                    .iter()
                    .flat_map(|word| folded_words(word))
                    .chain(group.iter().map(|word| banglish_to_bengali(word)))
                    .collect()
            })
            .collect()
    });
    GROUPS
        .iter()
        .filter(|group| group.iter().any(|member| member == word))
        .flat_map(|group| group.iter().filter(|member| *member != word).cloned())
        .collect()
}

/// A one-word pattern said with a synonym ("do I have to pay upfront?" for
/// the pattern "advance").
fn synonym_in_words(pattern: &str, tokens: &[Token]) -> bool {
    let words = folded_words(pattern);
    let [word] = words.as_slice() else {
        return false;
    };
    let synonyms = synonyms_of(word);
    tokens.iter().any(|token| synonyms.contains(&token.folded))
}

fn pattern_overlap(pattern: &str, tokens: &[Token]) -> Option<f64> {
    let words: Vec<String> = folded_words(pattern)
        .into_iter()
        .filter(|word| !is_stopword(word))
        .collect();
    if words.len() < 2 {
        return None;
    }
    let hits = words
        .iter()
        .filter(|word| {
            let synonyms = synonyms_of(word);
            tokens.iter().any(|token| {
                token.folded == **word
                    || synonyms.contains(&token.folded)
                    || (token.script != Script::Digit && similarity(word, &token.folded) >= 0.8)
            })
        })
        .count();
    let share = hits as f64 / words.len() as f64;
    (hits >= 2 && share >= 0.75).then_some(share)
}
