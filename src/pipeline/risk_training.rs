//! Training and measuring risk triage on the labelled corpus: what
//! `bikriagent train-risk` and `bikriagent eval-risk` run.
//!
//! Training reads only `corpus/train.jsonl`, and reports 5-fold
//! cross-validation on it (each message scored by a model that did not see
//! it). The held-out split is read only by `eval-risk`, to report.

use std::fmt::Write as _;

use serde::Deserialize;

use super::classifier::{self, Language, Risk};
use super::risk_model::{Example, Model, TrainOptions};

/// β² of the F-score thresholds are chosen by: 1 weighs a miss and a false
/// alarm alike. On cross-validation, β² = 4 (recall four times precision)
/// chose 0.2 everywhere: 91% of risky messages flagged but 29% of safe ones
/// too, so the agent would stop answering nearly a third of ordinary questions.
const B2: f32 = 1.0;

/// Folds of the cross-validation.
pub const FOLDS: usize = 5;

/// One line of the corpus.
#[derive(Debug, Clone, Deserialize)]
pub struct Labelled {
    pub text: String,
    pub labels: Vec<String>,
    pub language: String,
    #[serde(default)]
    pub negated: bool,
    #[serde(default)]
    pub origin: String,
}

impl Labelled {
    fn risks(&self) -> Vec<Risk> {
        self.labels.iter().filter_map(|l| Risk::parse(l)).collect()
    }

    fn example(&self) -> Example {
        Example {
            text: self.text.clone(),
            labels: self.risks(),
        }
    }
}

/// Reads a corpus file; the error names the line that does not parse.
pub fn read_corpus(jsonl: &str) -> Result<Vec<Labelled>, String> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let row: Labelled = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            if let Some(bad) = row.labels.iter().find(|l| Risk::parse(l).is_none()) {
                return Err(format!("line {}: unknown label {bad:?}", i + 1));
            }
            if Language::parse(&row.language).is_none() {
                return Err(format!("line {}: unknown language {:?}", i + 1, row.language));
            }
            Ok(row)
        })
        .collect()
}

/// Which decider a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decider {
    Rules,
    Model,
    /// What the pipeline uses ([`classifier::classify`]): the rules, plus
    /// the model's flags above its floor ([`classifier::decide`]).
    Both,
}

/// The categories `decider` flags for `text`.
pub fn decide(model: &Model, decider: Decider, text: &str) -> Vec<Risk> {
    let rules = || classifier::classify_by_rules(text);
    let learned = || model.flagged(&model.probabilities(text));
    match decider {
        Decider::Rules => rules(),
        Decider::Model => learned(),
        Decider::Both => classifier::classify(text).categories,
    }
}

/// Counts behind one report.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Per category: (true positives, false positives, false negatives).
    pub per_category: [(u32, u32, u32); 6],
    /// Per language (en, bn, banglish): (risky found, risky total).
    pub risky_by_language: [(u32, u32); 3],
    /// Per origin (written, real): (risky found, risky total, safe left, safe total).
    pub by_origin: [(u32, u32, u32, u32); 2],
    pub safe_left: u32,
    pub safe_total: u32,
    pub negated_left: u32,
    pub negated_total: u32,
}

fn language_index(language: &str) -> usize {
    match language {
        "bn" => 1,
        "banglish" => 2,
        _ => 0,
    }
}

/// Tallies `decide` against the labels of `rows`.
pub fn tally(rows: &[Labelled], decide: impl Fn(&str) -> Vec<Risk>) -> Tally {
    let mut t = Tally::default();
    for row in rows {
        let truth = row.risks();
        let found = decide(&row.text);
        for (i, risk) in Risk::ALL.iter().enumerate() {
            let (want, got) = (truth.contains(risk), found.contains(risk));
            let cell = &mut t.per_category[i];
            match (want, got) {
                (true, true) => cell.0 += 1,
                (false, true) => cell.1 += 1,
                (true, false) => cell.2 += 1,
                (false, false) => {}
            }
        }
        let origin = usize::from(row.origin == "real");
        if truth.is_empty() {
            t.safe_total += 1;
            t.by_origin[origin].3 += 1;
            if found.is_empty() {
                t.safe_left += 1;
                t.by_origin[origin].2 += 1;
            }
            if row.negated {
                t.negated_total += 1;
                t.negated_left += u32::from(found.is_empty());
            }
        } else {
            let language = &mut t.risky_by_language[language_index(&row.language)];
            language.1 += 1;
            t.by_origin[origin].1 += 1;
            if !found.is_empty() {
                language.0 += 1;
                t.by_origin[origin].0 += 1;
            }
        }
    }
    t
}

fn percent(part: u32, whole: u32) -> String {
    if whole == 0 {
        "—".to_owned()
    } else {
        format!("{:.1}% ({part}/{whole})", 100.0 * f64::from(part) / f64::from(whole))
    }
}

impl Tally {
    /// Risky messages flagged with any category.
    pub fn risky_recall(&self) -> (u32, u32) {
        self.risky_by_language
            .iter()
            .fold((0, 0), |(a, b), (found, total)| (a + found, b + total))
    }

    /// A Markdown table of the tally.
    pub fn markdown(&self, title: &str) -> String {
        let mut out = format!("#### {title}\n\n| | recall | precision |\n|---|---|---|\n");
        for (risk, (tp, fp, fn_)) in Risk::ALL.iter().zip(self.per_category) {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                risk.as_str(),
                percent(tp, tp + fn_),
                percent(tp, tp + fp)
            );
        }
        let (found, total) = self.risky_recall();
        let _ = writeln!(out, "\n- risky flagged (any category): {}", percent(found, total));
        for (name, (found, total)) in ["English", "Bangla", "Banglish"].iter().zip(self.risky_by_language) {
            let _ = writeln!(out, "  - {name}: {}", percent(found, total));
        }
        let _ = writeln!(out, "- safe left alone: {}", percent(self.safe_left, self.safe_total));
        let _ = writeln!(
            out,
            "- negated risk words left alone: {}",
            percent(self.negated_left, self.negated_total)
        );
        for (name, (found, total, left, safe)) in ["written", "real"].iter().zip(self.by_origin) {
            if total + safe > 0 {
                let _ = writeln!(
                    out,
                    "- {name} text: risky flagged {}, safe left alone {}",
                    percent(found, total),
                    percent(left, safe)
                );
            }
        }
        out
    }
}

fn fold_of(index: usize) -> usize {
    index % FOLDS
}

/// Out-of-fold probabilities for every row of `train`.
pub fn cross_validated_probabilities(train: &[Labelled], options: TrainOptions) -> Vec<[f32; 6]> {
    let mut out = vec![[0.0; 6]; train.len()];
    for fold in 0..FOLDS {
        let examples: Vec<Example> = train
            .iter()
            .enumerate()
            .filter(|(i, _)| fold_of(*i) != fold)
            .map(|(_, row)| row.example())
            .collect();
        let model = Model::train(&examples, options);
        for (i, row) in train.iter().enumerate().filter(|(i, _)| fold_of(*i) == fold) {
            if let Some(slot) = out.get_mut(i) {
                *slot = model.probabilities(&row.text);
            }
        }
    }
    out
}

/// Per category, the threshold (0.20 to 0.80, in steps of 0.05) with the
/// best F-score ([`B2`]) on the out-of-fold probabilities.
pub fn choose_thresholds(train: &[Labelled], probabilities: &[[f32; 6]]) -> [f32; 6] {
    let mut thresholds = [super::risk_model::DEFAULT_THRESHOLD; 6];
    for (category, risk) in Risk::ALL.iter().enumerate() {
        let mut best = (f32::MIN, super::risk_model::DEFAULT_THRESHOLD);
        for step in 0..=12u8 {
            let threshold = 0.2 + 0.05 * f32::from(step);
            let (mut tp, mut fp, mut fn_) = (0.0f32, 0.0f32, 0.0f32);
            for (row, p) in train.iter().zip(probabilities) {
                match (row.risks().contains(risk), p[category] >= threshold) {
                    (true, true) => tp += 1.0,
                    (false, true) => fp += 1.0,
                    (true, false) => fn_ += 1.0,
                    (false, false) => {}
                }
            }
            let score = (1.0 + B2) * tp / ((1.0 + B2) * tp + B2 * fn_ + fp).max(1.0);
            if score > best.0 {
                best = (score, threshold);
            }
        }
        thresholds[category] = best.1;
    }
    thresholds
}

/// Trains the embedded model on all of `train`, with thresholds from 5-fold
/// cross-validation, and reports that cross-validation. Returns the model
/// and the report.
pub fn train(train: &[Labelled], options: TrainOptions) -> (Model, String) {
    let probabilities = cross_validated_probabilities(train, options);
    let thresholds = choose_thresholds(train, &probabilities);
    let examples: Vec<Example> = train.iter().map(Labelled::example).collect();
    let mut model = Model::train(&examples, options);
    model.thresholds = thresholds;
    // The cross-validated report uses each row's out-of-fold probabilities.
    let by_text: std::collections::HashMap<&str, [f32; 6]> = train
        .iter()
        .zip(&probabilities)
        .map(|(row, p)| (row.text.as_str(), *p))
        .collect();
    let oof = |text: &str| -> Vec<Risk> {
        let p = by_text.get(text).copied().unwrap_or([0.0; 6]);
        Risk::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| p[*i] >= thresholds[*i])
            .map(|(_, r)| *r)
            .collect()
    };
    let model_only = tally(train, oof);
    let both = tally(train, |text| {
        let p = by_text.get(text).copied().unwrap_or([0.0; 6]);
        classifier::decide(text, classifier::classify_by_rules(text), &p, &thresholds)
    });
    let mut report = format!(
        "thresholds: {}\n\n",
        Risk::ALL
            .iter()
            .zip(thresholds)
            .map(|(r, t)| format!("{} {t:.3}", r.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    report.push_str(&model_only.markdown(&format!("{FOLDS}-fold cross-validation, model alone")));
    report.push('\n');
    report.push_str(&both.markdown(&format!("{FOLDS}-fold cross-validation, as the pipeline decides")));
    (model, report)
}

/// Reports rules, model and both on `rows` (the held-out split).
pub fn evaluate(model: &Model, rows: &[Labelled]) -> String {
    let mut out = String::new();
    for (decider, name) in [
        (Decider::Rules, "rules alone"),
        (Decider::Model, "model alone"),
        (Decider::Both, "rules and model (what the pipeline uses)"),
    ] {
        out.push_str(&tally(rows, |text| decide(model, decider, text)).markdown(name));
        out.push('\n');
    }
    out
}
