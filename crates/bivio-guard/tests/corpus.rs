//! The labelled corpus (`tests/corpus/*.jsonl`): precision and recall per detector. Asserts recall ≥ 0.99 on
//! the checksum-validated kinds and precision ≥ 0.95 overall, and prints the table (`--nocapture`).
//!
//! A prediction is a true positive when it overlaps a labelled occurrence of the same kind; each labelled
//! occurrence without one is a false negative.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::collections::BTreeMap;

use bivio_guard::{CustomRegex, CustomTerms, GuardConfig, Scanner};
use serde::Deserialize;

#[derive(Deserialize)]
struct Line {
    text: String,
    labels: Vec<Label>,
}

#[derive(Deserialize)]
struct Label {
    kind: String,
    value: String,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

pub fn corpus_config() -> GuardConfig {
    GuardConfig {
        custom_terms: vec![CustomTerms {
            name: "clients".into(),
            terms: vec!["Acme Corp".into(), "Globex".into()],
            action: None,
        }],
        custom_regexes: vec![CustomRegex {
            name: "project_codes".into(),
            pattern: r"\bPRJ-[0-9]{4}\b".into(),
            action: None,
        }],
        ..GuardConfig::default()
    }
}

fn load() -> Vec<Line> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut lines = Vec::new();
    for file in files {
        for (i, line) in std::fs::read_to_string(&file).unwrap().lines().enumerate() {
            let parsed: Line =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), i + 1));
            lines.push(parsed);
        }
    }
    lines
}

#[test]
fn corpus_precision_and_recall() {
    let scanner = Scanner::new(&corpus_config()).unwrap();
    let lines = load();
    let mut per_kind: BTreeMap<String, Counts> = BTreeMap::new();
    let mut positives = 0;
    let mut errors = Vec::new();
    for line in &lines {
        let mut expected: Vec<(String, usize, usize, bool)> = Vec::new();
        for label in &line.labels {
            let found: Vec<_> = line.text.match_indices(&label.value).collect();
            assert!(!found.is_empty(), "label value not in text: {}", line.text);
            for (start, value) in found {
                expected.push((label.kind.clone(), start, start + value.len(), false));
            }
        }
        positives += expected.len();
        for finding in scanner.scan_text(&line.text) {
            let label = finding.kind.label().into_owned();
            let hit =
                expected.iter_mut().find(|(kind, s, e, _)| *kind == label && finding.start < *e && *s < finding.end);
            let counts = per_kind.entry(label.clone()).or_default();
            match hit {
                Some(expected) => {
                    counts.tp += 1;
                    expected.3 = true;
                }
                None => {
                    counts.fp += 1;
                    errors.push(format!("FP {label}: {:?} in {:?}", &line.text[finding.start..finding.end], line.text));
                }
            }
        }
        for (kind, s, e, hit) in expected {
            if !hit {
                per_kind.entry(kind.clone()).or_default().fn_ += 1;
                errors.push(format!("FN {kind}: {:?} in {:?}", &line.text[s..e], line.text));
            }
        }
    }
    for error in &errors {
        println!("{error}");
    }
    let negatives = lines.iter().filter(|l| l.labels.is_empty()).count();
    println!("\ncorpus: {} lines ({} without sensitive data), {positives} labelled values\n", lines.len(), negatives);
    println!("| kind | labelled | TP | FP | FN | precision | recall |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut total = Counts::default();
    for (kind, c) in &per_kind {
        total.tp += c.tp;
        total.fp += c.fp;
        total.fn_ += c.fn_;
        println!(
            "| {kind} | {} | {} | {} | {} | {:.3} | {:.3} |",
            c.tp + c.fn_,
            c.tp,
            c.fp,
            c.fn_,
            ratio(c.tp, c.tp + c.fp),
            ratio(c.tp, c.tp + c.fn_)
        );
    }
    let precision = ratio(total.tp, total.tp + total.fp);
    let recall = ratio(total.tp, total.tp + total.fn_);
    println!(
        "| **all** | {} | {} | {} | {} | **{precision:.3}** | **{recall:.3}** |",
        total.tp + total.fn_,
        total.tp,
        total.fp,
        total.fn_
    );
    for kind in ["iban", "payment_card", "codice_fiscale", "partita_iva"] {
        let c = per_kind.get(kind).copied().unwrap_or_default();
        assert!(c.tp > 0, "no {kind} in the corpus");
        assert!(ratio(c.tp, c.tp + c.fn_) >= 0.99, "{kind} recall below 0.99");
    }
    assert!(precision >= 0.95, "overall precision {precision:.3} below 0.95");
    assert!(recall >= 0.95, "overall recall {recall:.3} below 0.95");
}
