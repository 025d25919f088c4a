//! The learned half of risk triage: a linear model over hashed character
//! and word features, one logistic regression per risk category.
//!
//! Rules catch what someone thought to write down; the model generalises
//! from the labelled corpus (`src/pipeline/corpus/`) to wordings nobody
//! listed. The classifier flags the union of both, and recall comes first:
//! each category's threshold is set low, from cross-validation, so a weak
//! signal still reaches the owner's review queue.
//!
//! Features (the hashing trick, [`BUCKETS`] buckets, FNV-1a):
//! - every folded word of the shared text layer, and each pair of
//!   neighbouring words;
//! - character 2–4-grams of each word with its edges marked, so misspellings
//!   and inflections ("ferot"/"ferat", "ফেরত"/"ফেরতের") share most features;
//! - for Latin words, the same again for their Bangla-script transliteration
//!   (Avro rules), so Banglish and Bangla teach one model;
//! - negation scope: words within three of a negator ("no", "not", "na",
//!   "nai", "না", "নাই", "নেই", "নয়", …) also emit a negated copy, so
//!   "no allergy issue" can weigh differently from "allergy issue".
//!
//! Training (`bikriagent train-risk`) is plain stochastic gradient descent
//! with AdaGrad steps and L2 decay, deterministic for a given corpus. The
//! weights are stored as 16-bit integers with one scale per category
//! (`risk_model.bin`, embedded in the binary); scoring a message takes
//! microseconds.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::classifier::Risk;
use super::text::{self, Script};

/// Hash buckets per category. 2^17 keeps collisions rare for a corpus of a
/// few thousand messages and the embedded weights at 1.5 MiB.
pub const BUCKETS: usize = 1 << 17;

const CATEGORIES: usize = Risk::ALL.len();

/// The probability at which a category is flagged. Chosen on 5-fold
/// cross-validation of the train split: thresholds set per category for 98.5%
/// (or even 90%) recall of the model alone fell to a few percent, where it
/// flags most safe messages; at 0.5 the union with the rules found 82% of
/// risky messages (rules alone 53%) and left 76% of safe ones alone (84%).
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// Words that negate what is near them, folded like message words.
const NEGATORS: &[&str] = &[
    "no",
    "not",
    "never",
    "dont",
    "don",
    "didnt",
    "doesnt",
    "isnt",
    "without",
    "nothing",
    "na",
    "nai",
    "nei",
    "nah",
    "nay",
    "noi",
    "noy",
    "ni",
    "নয",
    "না",
    "নাই",
    "নেই",
    "নি",
    "নাহ",
    "ছাড়া",
];

/// How many words on each side of a negator its scope reaches.
const NEGATION_SCOPE: usize = 3;

fn fnv1a(parts: &[&[u8]]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for part in parts {
        for byte in *part {
            hash ^= u32::from(*byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

fn bucket(kind: &str, value: &str) -> u32 {
    fnv1a(&[kind.as_bytes(), value.as_bytes()]) % BUCKETS as u32
}

fn char_ngrams(kind: &str, word: &str, out: &mut Vec<u32>) {
    let chars: Vec<char> = std::iter::once('<')
        .chain(word.chars())
        .chain(std::iter::once('>'))
        .collect();
    for n in 2..=4 {
        for window in chars.windows(n) {
            let gram: String = window.iter().collect();
            out.push(bucket(kind, &gram));
        }
    }
}

fn is_negator(word: &str) -> bool {
    NEGATORS.contains(&word)
}

/// The feature buckets of a message, each at most once.
pub fn features(message: &str) -> Vec<u32> {
    let tokens = text::tokenize(text::truncate(message, 2_000));
    let words: Vec<&str> = tokens.iter().map(|t| t.folded.as_str()).collect();
    let mut out = Vec::with_capacity(words.len() * 24);
    out.push(bucket("bias", ""));
    let negated: Vec<bool> = (0..words.len())
        .map(|i| {
            let from = i.saturating_sub(NEGATION_SCOPE);
            let to = (i + NEGATION_SCOPE + 1).min(words.len());
            (from..to).any(|j| j != i && words.get(j).is_some_and(|w| is_negator(w)))
        })
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        let word = token.folded.as_str();
        out.push(bucket("w", word));
        if let Some(next) = words.get(i + 1) {
            out.push(fnv1a(&[b"b", word.as_bytes(), next.as_bytes()]) % BUCKETS as u32);
        }
        if token.script == Script::Digit {
            // The length of a number tells a phone from a price from a TrxID.
            out.push(bucket("digits", &word.len().min(12).to_string()));
            continue;
        }
        char_ngrams("c", word, &mut out);
        if token.script == Script::Latin {
            let bengali = text::banglish_to_bengali(&token.text);
            out.push(bucket("w", &bengali));
            char_ngrams("c", &bengali, &mut out);
        }
        if negated.get(i).copied().unwrap_or(false) {
            out.push(bucket("neg", word));
        }
    }
    // The hand-written rules' verdicts are features too: the model learns
    // how far to trust each of them next to the words.
    for risk in super::classifier::classify_by_rules(message) {
        out.push(bucket("rule", risk.as_str()));
    }
    let mut seen = HashSet::with_capacity(out.len());
    out.retain(|b| seen.insert(*b));
    out
}

/// One labelled message for training or evaluation.
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub labels: Vec<Risk>,
}

/// Weights per category, and the probability at which each is flagged.
#[derive(Debug, Clone)]
pub struct Model {
    /// `BUCKETS` weights per category, category-major.
    weights: Vec<f32>,
    /// Flag a category at or above this probability.
    pub thresholds: [f32; CATEGORIES],
}

/// Settings of a training run.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    /// Weight of a positive example: above 1 trades precision for recall.
    pub positive_weight: f32,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 15,
            learning_rate: 0.3,
            l2: 1e-6,
            positive_weight: 2.0,
            seed: 0x5eed,
        }
    }
}

/// Each present feature counts 1/√n, so long and short messages score on
/// one scale.
fn feature_value(count: usize) -> f32 {
    1.0 / (count.max(1) as f32).sqrt()
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

impl Model {
    /// The probability of each category, in [`Risk::ALL`] order.
    pub fn probabilities(&self, message: &str) -> [f32; CATEGORIES] {
        self.probabilities_of(&features(message))
    }

    fn probabilities_of(&self, features: &[u32]) -> [f32; CATEGORIES] {
        let mut out = [0.0; CATEGORIES];
        let value = feature_value(features.len());
        for (category, p) in out.iter_mut().enumerate() {
            let base = category * BUCKETS;
            let z: f32 = features
                .iter()
                .map(|&f| self.weights.get(base + f as usize).copied().unwrap_or(0.0))
                .sum();
            *p = sigmoid(z * value);
        }
        out
    }

    /// The categories at or above their thresholds.
    pub fn flagged(&self, probabilities: &[f32; CATEGORIES]) -> Vec<Risk> {
        Risk::ALL
            .into_iter()
            .zip(probabilities.iter().zip(self.thresholds))
            .filter(|(_, (p, threshold))| **p >= *threshold)
            .map(|(risk, _)| risk)
            .collect()
    }

    /// Trains one logistic regression per category on `examples`.
    pub fn train(examples: &[Example], options: TrainOptions) -> Model {
        let featurised: Vec<(Vec<u32>, [bool; CATEGORIES])> = examples
            .iter()
            .map(|example| {
                let mut labels = [false; CATEGORIES];
                for (i, risk) in Risk::ALL.iter().enumerate() {
                    labels[i] = example.labels.contains(risk);
                }
                (features(&example.text), labels)
            })
            .collect();
        let mut weights = vec![0.0f32; CATEGORIES * BUCKETS];
        let mut squared = vec![1e-2f32; CATEGORIES * BUCKETS];
        let mut order: Vec<usize> = (0..featurised.len()).collect();
        let mut state = options.seed | 1;
        for _ in 0..options.epochs {
            // Fisher–Yates with xorshift: deterministic per seed.
            for i in (1..order.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                order.swap(i, (state % (i as u64 + 1)) as usize);
            }
            for &index in &order {
                let Some((features, labels)) = featurised.get(index) else {
                    continue;
                };
                let value = feature_value(features.len());
                for (category, &positive) in labels.iter().enumerate() {
                    let base = category * BUCKETS;
                    let z: f32 = features.iter().map(|&f| weights[base + f as usize]).sum();
                    let target = if positive { 1.0 } else { 0.0 };
                    let weight = if positive { options.positive_weight } else { 1.0 };
                    let gradient = (sigmoid(z * value) - target) * weight * value;
                    for &f in features {
                        let at = base + f as usize;
                        let g = gradient + options.l2 * weights[at];
                        squared[at] += g * g;
                        weights[at] -= options.learning_rate * g / squared[at].sqrt();
                    }
                }
            }
        }
        Model {
            weights,
            thresholds: [DEFAULT_THRESHOLD; CATEGORIES],
        }
    }

    /// The model as bytes: a magic, the thresholds, then per category a
    /// scale and `BUCKETS` weights as little-endian `i16`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + CATEGORIES * (8 + BUCKETS * 2));
        out.extend_from_slice(b"BKRISK01");
        for threshold in self.thresholds {
            out.extend_from_slice(&threshold.to_le_bytes());
        }
        for category in self.weights.chunks(BUCKETS) {
            let largest = category.iter().fold(0.0f32, |m, w| m.max(w.abs()));
            let scale = if largest > 0.0 {
                largest / f32::from(i16::MAX)
            } else {
                1.0
            };
            out.extend_from_slice(&scale.to_le_bytes());
            for weight in category {
                let quantised = (weight / scale).round().clamp(-32767.0, 32767.0) as i16;
                out.extend_from_slice(&quantised.to_le_bytes());
            }
        }
        out
    }

    /// Reads [`Model::to_bytes`]; `None` when the bytes are not a model.
    pub fn from_bytes(bytes: &[u8]) -> Option<Model> {
        let rest = bytes.strip_prefix(b"BKRISK01")?;
        let (threshold_bytes, mut rest) = rest.split_at_checked(4 * CATEGORIES)?;
        let mut thresholds = [0.0; CATEGORIES];
        for (threshold, chunk) in thresholds.iter_mut().zip(threshold_bytes.chunks_exact(4)) {
            *threshold = f32::from_le_bytes(chunk.try_into().ok()?);
        }
        let mut weights = Vec::with_capacity(CATEGORIES * BUCKETS);
        for _ in 0..CATEGORIES {
            let (scale, after) = rest.split_at_checked(4)?;
            let scale = f32::from_le_bytes(scale.try_into().ok()?);
            let (category, after) = after.split_at_checked(BUCKETS * 2)?;
            weights.extend(
                category
                    .chunks_exact(2)
                    .map(|pair| f32::from(i16::from_le_bytes([pair[0], pair[1]])) * scale),
            );
            rest = after;
        }
        rest.is_empty().then_some(Model { weights, thresholds })
    }
}

/// The trained model embedded in the binary, or `None` when none has been
/// trained yet (the rules then decide alone).
pub static EMBEDDED: LazyLock<Option<Model>> = LazyLock::new(|| Model::from_bytes(include_bytes!("risk_model.bin")));

#[cfg(test)]
mod tests {
    use super::*;

    fn example(text: &str, labels: &[Risk]) -> Example {
        Example {
            text: text.to_owned(),
            labels: labels.to_vec(),
        }
    }

    #[test]
    fn features_read_banglish_and_bangla_alike_and_mark_negation() {
        let banglish: HashSet<u32> = features("taka ferot chai").into_iter().collect();
        let bangla: HashSet<u32> = features("টাকা ফেরত চাই").into_iter().collect();
        let shared = banglish.intersection(&bangla).count();
        assert!(shared >= bangla.len() / 2, "{shared} of {}", bangla.len());
        let allergy = text::fold_latin("allergy");
        assert!(features("no allergy").contains(&bucket("neg", &allergy)));
        assert!(!features("allergy ache").contains(&bucket("neg", &allergy)));
    }

    #[test]
    fn a_small_model_learns_and_survives_a_round_trip() {
        let mut examples = Vec::new();
        for _ in 0..5 {
            examples.push(example("i want a refund", &[Risk::Refund]));
            examples.push(example("taka ferot chai", &[Risk::Refund]));
            examples.push(example("what is the price", &[]));
            examples.push(example("dam koto", &[]));
        }
        let model = Model::train(&examples, TrainOptions::default());
        let refund = Risk::ALL.iter().position(|r| *r == Risk::Refund).unwrap();
        assert!(model.probabilities("please refund me")[refund] > 0.5);
        assert!(model.probabilities("price koto")[refund] < 0.5);
        let bytes = model.to_bytes();
        let back = Model::from_bytes(&bytes).expect("a model");
        let (a, b) = (model.probabilities("refund"), back.probabilities("refund"));
        assert!((a[refund] - b[refund]).abs() < 0.01, "{a:?} {b:?}");
        assert!(Model::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        assert!(Model::from_bytes(b"not a model").is_none());
    }
}
