//! Reversible redaction and streaming restoration: any chunking of a redacted answer restores to the
//! original, in text and in JSON-string mode (tool-call arguments stay valid JSON).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bivio_guard::{GuardConfig, Kind, Redactor, RestoreMode, Scanner};
use proptest::prelude::*;
use serde_json::json;

fn scanner() -> Scanner {
    Scanner::new(&GuardConfig::default()).unwrap()
}

const VALUES: [&str; 8] = [
    "mario.rossi@example.com",
    "IT60X0542811101000000123456",
    "4111 1111 1111 1111",
    "RSSMRA85T10A562S",
    "+39 347 555 0192",
    "203.0.113.77",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "536-90-4399",
];

const FILLER: [&str; 8] =
    ["Hello ", "il conto è ", ", then ", " [not a [[placeholder]] ", "\n", "→ ünïcode ", "[[", "]]"];

fn restore_chunked(redactor: &Redactor, mode: RestoreMode, text: &str, cuts: &[usize]) -> String {
    let mut restorer = redactor.restorer(mode);
    let mut out = String::new();
    let mut last = 0;
    let mut positions: Vec<usize> = cuts.iter().map(|c| c % (text.len() + 1)).collect();
    positions.sort_unstable();
    for cut in positions {
        if cut < last || !text.is_char_boundary(cut) {
            continue;
        }
        out.push_str(&restorer.push(&text[last..cut]));
        last = cut;
    }
    out.push_str(&restorer.push(&text[last..]));
    out.push_str(&restorer.finish());
    out
}

#[test]
fn placeholders_are_consistent_and_restore() {
    let scanner = scanner();
    let mut redactor = Redactor::new();
    let text = "Write to mario.rossi@example.com (again: mario.rossi@example.com) or anna@example.org.";
    let redacted = redactor.redact_with(&scanner, text, &|_| true);
    assert_eq!(redacted, "Write to [[EMAIL_1]] (again: [[EMAIL_1]]) or [[EMAIL_2]].");
    assert_eq!(redactor.restore_text(&redacted), text);
    assert_eq!(redactor.len(), 2);
    // Debug never shows values.
    assert!(!format!("{redactor:?}").contains("mario"));
}

#[test]
fn only_issued_placeholders_are_restored() {
    let mut redactor = Redactor::new();
    let p = redactor.placeholder(&Kind::Email, "a@b.co");
    assert_eq!(p, "[[EMAIL_1]]");
    assert_eq!(redactor.restore_text("[[EMAIL_1]] [[EMAIL_2]] [[x]] [[EMAIL_1"), "a@b.co [[EMAIL_2]] [[x]] [[EMAIL_1");
}

#[test]
fn custom_rule_names_do_not_reach_placeholders() {
    let mut redactor = Redactor::new();
    assert_eq!(redactor.placeholder(&Kind::Custom("acme_clients".into()), "Acme"), "[[TERM_1]]");
}

#[test]
fn split_placeholder_is_held_back_then_restored() {
    let mut redactor = Redactor::new();
    redactor.placeholder(&Kind::Iban, "IT60X0542811101000000123456");
    let mut restorer = redactor.restorer(RestoreMode::Text);
    assert_eq!(restorer.push("pay to [[IB"), "pay to ");
    assert_eq!(restorer.push("AN_1]"), "");
    assert_eq!(restorer.push("] now"), "IT60X0542811101000000123456 now");
    assert_eq!(restorer.finish(), "");
}

#[test]
fn json_mode_escapes_restored_values() {
    let mut redactor = Redactor::new();
    redactor.placeholder(&Kind::Custom("x".into()), "say \"hi\"\\\n");
    let mut restorer = redactor.restorer(RestoreMode::JsonString);
    let mut out = restorer.push(r#"{"text": "[[TE"#);
    out.push_str(&restorer.push(r#"RM_1]]"}"#));
    out.push_str(&restorer.finish());
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["text"], "say \"hi\"\\\n");
}

#[test]
fn redact_json_redacts_keys_strings_and_numbers() {
    let scanner = scanner();
    let mut redactor = Redactor::new();
    let mut input =
        json!({"to": "mario.rossi@example.com", "card": 4111111111111111u64, "mario.rossi@example.com": true});
    redactor.redact_json(&scanner, &mut input, &|_| true);
    assert_eq!(input, json!({"to": "[[EMAIL_1]]", "card": "[[CARD_1]]", "[[EMAIL_1]]": true}));
}

proptest! {
    #[test]
    fn any_chunking_restores_text(
        parts in prop::collection::vec((0usize..8, 0usize..8), 1..12),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let scanner = scanner();
        let mut original = String::new();
        for (f, v) in parts {
            original.push_str(FILLER[f]);
            original.push_str(VALUES[v]);
            original.push(' ');
        }
        let mut redactor = Redactor::new();
        let redacted = redactor.redact_with(&scanner, &original, &|_| true);
        for value in VALUES {
            prop_assert!(!redacted.contains(value));
        }
        prop_assert_eq!(restore_chunked(&redactor, RestoreMode::Text, &redacted, &cuts), original);
    }

    #[test]
    fn any_chunking_restores_tool_arguments(
        values in prop::collection::vec(0usize..8, 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let scanner = scanner();
        let original = json!({
            "recipients": values.iter().map(|&v| format!("to \"{}\"\n", VALUES[v])).collect::<Vec<_>>(),
            "note": "[[ not ours ]]",
        });
        let mut redactor = Redactor::new();
        let mut redacted = original.clone();
        redactor.redact_json(&scanner, &mut redacted, &|_| true);
        let wire = serde_json::to_string(&redacted).unwrap();
        let restored = restore_chunked(&redactor, RestoreMode::JsonString, &wire, &cuts);
        let parsed: serde_json::Value = serde_json::from_str(&restored).unwrap();
        prop_assert_eq!(parsed, original);
    }

    #[test]
    fn scanning_never_panics_and_spans_are_char_boundaries(text in "\\PC{0,200}|[0-9 +()./:@a-fA-F-]{0,80}") {
        let scanner = scanner();
        for finding in scanner.scan_text(&text) {
            prop_assert!(finding.start < finding.end && finding.end <= text.len());
            prop_assert!(text.is_char_boundary(finding.start) && text.is_char_boundary(finding.end));
        }
    }
}
