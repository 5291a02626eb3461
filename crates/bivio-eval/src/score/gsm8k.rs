//! GSM8K answer extraction and matching exactly as lm-evaluation-harness's `gsm8k` task does it
//! (`lm_eval/tasks/gsm8k/gsm8k.yaml`, harness 0.4.x):
//!
//! - **strict-match**: the first `#### (-?[0-9.,]+)` in the answer;
//! - **flexible-extract**: the *last* match of `(-?[$0-9.,]{2,})|(-?[0-9]+)`, first non-empty group;
//! - no match → `[invalid]`; both sides then go through `exact_match` with `regexes_to_ignore`
//!   `,` · `\$` · `(?s).*#### ` · `\.$` (applied in that order) and `ignore_case`.
//!
//! bivio reports **flexible-extract** as the headline score (chat models asked zero-shot rarely keep the
//! `#### N` format even when asked, and the seed's tables quote accuracy on the final number); the strict
//! score is stored beside it for every item. Parity with the harness's own code is tested in
//! `tests/parity_gsm8k.rs`.

use std::sync::LazyLock;

use regex::Regex;

use crate::item::Score;

/// What the harness's regex filter returns when nothing matches.
pub const FALLBACK: &str = "[invalid]";

// The patterns are constants: a failure to compile them is a bug the unit tests catch; `None` only keeps the
// library free of panics (it would extract nothing).
static STRICT: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"#### (\-?[0-9\.\,]+)").ok());
static FLEXIBLE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(-?[$0-9.,]{2,})|(-?[0-9]+)").ok());
static BEFORE_HASHES: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?s).*#### ").ok());

/// strict-match: group 1 of the first `#### N`.
pub fn strict(text: &str) -> String {
    STRICT
        .as_ref()
        .and_then(|re| re.captures(text))
        .and_then(|c| c.get(1))
        .map_or_else(|| FALLBACK.to_owned(), |m| m.as_str().trim().to_owned())
}

/// flexible-extract: the last number-like run (Python's `findall(...)[-1]`, first non-empty group).
pub fn flexible(text: &str) -> String {
    let Some(last) = FLEXIBLE.as_ref().and_then(|re| re.captures_iter(text).last()) else {
        return FALLBACK.to_owned();
    };
    let group = (1..=2).filter_map(|i| last.get(i)).map(|m| m.as_str()).find(|s| !s.is_empty());
    group.map_or_else(|| FALLBACK.to_owned(), |s| s.trim().to_owned())
}

/// `exact_match`'s normalisation: the four `regexes_to_ignore`, then lower case.
pub fn normalise(text: &str) -> String {
    let text = text.replace([',', '$'], "");
    let text = match BEFORE_HASHES.as_ref() {
        Some(re) => re.replace_all(&text, "").into_owned(),
        None => text,
    };
    // Python's `\.$` also matches a dot just before a final newline.
    let text = if let Some(head) = text.strip_suffix(".\n") {
        format!("{head}\n")
    } else if let Some(head) = text.strip_suffix('.') {
        head.to_owned()
    } else {
        text
    };
    text.to_lowercase()
}

/// Whether an extracted answer equals the gold answer (the dataset's whole `answer` field).
pub fn matches(extracted: &str, gold: &str) -> bool {
    normalise(extracted) == normalise(gold)
}

pub fn score(response: &str, gold: &str) -> Score {
    let strict = strict(response);
    let flexible = flexible(response);
    let strict_ok = matches(&strict, gold);
    let flexible_ok = matches(&flexible, gold);
    Score {
        value: if flexible_ok { 1.0 } else { 0.0 },
        alt: Some(if strict_ok { 1.0 } else { 0.0 }),
        detail: format!("strict={strict} flexible={flexible} gold={}", normalise(gold)),
        extracted: Some(flexible),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLD: &str = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.\n#### 18";

    #[test]
    fn strict_takes_the_first_hash_answer() {
        assert_eq!(strict("so #### 18 and later #### 19"), "18");
        assert_eq!(strict("The answer is 18"), FALLBACK);
        assert_eq!(strict("#### 1,234.5"), "1,234.5");
    }

    #[test]
    fn flexible_takes_the_last_number() {
        assert_eq!(flexible("She has 3 apples and 15 pears, so 18."), "18.");
        assert_eq!(flexible("It costs $1,000"), "$1,000");
        assert_eq!(flexible("x = -7"), "-7");
        assert_eq!(flexible("no digits here"), FALLBACK);
        // A lone `.` or `,` of two characters is a match of the first alternative, as in Python.
        assert_eq!(flexible("a 5 b .."), "..");
    }

    #[test]
    fn normalisation_follows_the_harness() {
        assert_eq!(normalise(GOLD), "18");
        assert_eq!(normalise("$1,000."), "1000");
        assert_eq!(normalise("18.\n"), "18\n");
        assert!(matches("$18.", GOLD));
        assert!(!matches("18.0", GOLD));
    }

    #[test]
    fn score_reports_flexible_with_strict_beside_it() {
        let s = score("9 eggs at $2 is 18 dollars", GOLD);
        assert_eq!((s.value, s.alt), (1.0, Some(0.0)));
        let s = score("#### 18", GOLD);
        assert_eq!((s.value, s.alt), (1.0, Some(1.0)));
        let s = score("#### 17", GOLD);
        assert_eq!((s.value, s.alt), (0.0, Some(0.0)));
    }
}
