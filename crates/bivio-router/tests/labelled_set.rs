//! Accuracy of the classifier on the labelled prompt set (`tests/data/prompts.jsonl`).
//!
//! Each entry carries its expected category, why, and a split: `dev` prompts were written first and used
//! while tuning the lexicon; `heldout` prompts were written afterwards and never tuned on — their accuracy
//! is the honest estimate. Run with `--nocapture` to see the report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

mod common;

use std::collections::BTreeSet;

use bivio_router::Category;
use common::{Report, predict, request_of};
use serde_json::Value;

fn entries() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/prompts.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn labelled_set_is_well_formed() {
    let entries = entries();
    assert!(entries.len() >= 300, "{} prompts", entries.len());
    for category in Category::ALL {
        let n = entries.iter().filter(|e| e["category"] == category.as_str()).count();
        assert!(n >= 25, "{category}: {n} prompts");
    }
    let mut seen = BTreeSet::new();
    for e in &entries {
        assert!(Category::parse(e["category"].as_str().unwrap()).is_some(), "{e}");
        assert!(e["why"].as_str().is_some_and(|w| !w.is_empty()), "{e}");
        assert!(matches!(e["split"].as_str(), Some("dev" | "heldout")), "{e}");
        assert!(seen.insert(e.to_string()), "duplicate: {e}");
    }
}

#[test]
fn accuracy_per_category() {
    let mut all = Report::default();
    let mut heldout = Report::default();
    let mut misses = Vec::new();
    for e in entries() {
        let expected = e["category"].as_str().unwrap();
        let predicted = predict(&request_of(&e));
        all.add(expected, predicted);
        if e["split"] == "heldout" {
            heldout.add(expected, predicted);
        }
        if predicted.as_str() != expected {
            let text = e["prompt"].as_str().unwrap_or("(messages)");
            misses.push(format!(
                "[{}] {expected} → {predicted}: {}",
                e["split"],
                text.chars().take(90).collect::<String>()
            ));
        }
    }
    let exact = |row: &str, p: Category| row == p.as_str();
    let overall = all.correct(exact) as f64 / all.total() as f64;
    let held = heldout.correct(exact) as f64 / heldout.total().max(1) as f64;
    println!("## Labelled set: all {} prompts\n\n{}", all.total(), all.markdown(exact));
    println!("overall accuracy: {:.1}%\n", overall * 100.0);
    println!("## Held-out only ({} prompts)\n\n{}", heldout.total(), heldout.markdown(exact));
    println!("held-out accuracy: {:.1}%\n", held * 100.0);
    println!("misclassified:\n{}", misses.join("\n"));
    assert!(heldout.total() >= 80, "held-out prompts: {}", heldout.total());
    assert!(overall >= 0.90, "overall accuracy {overall:.3} < 0.90");
}

/// Features + classification stay in the microseconds per request (printed; loosely bounded even in debug).
#[test]
fn classification_is_fast() {
    let requests: Vec<_> = entries().iter().map(request_of).collect();
    let rounds = 5;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for request in &requests {
            std::hint::black_box(predict(request));
        }
    }
    let per_request = start.elapsed() / (rounds * requests.len() as u32);
    println!("features + classify: {per_request:?} per request (avg over {} requests)", requests.len());
    assert!(per_request < std::time::Duration::from_millis(5), "{per_request:?}");
}
