//! Multiple-choice letter extraction (MMLU, GPQA and any file in their format).
//!
//! Models answer in many shapes, so the extractor tries, in order, the forms that leave the least doubt and
//! stops at the first that yields one of the item's letters:
//! 1. an explicit statement — `answer is (C)`, `Answer: C`, `answer: **C**` (the last one wins: models often
//!    reason through options before concluding);
//! 2. the answer opening with the letter — `C`, `(C)`, `C)`, `C.`, `C:`, `**C**`;
//! 3. exactly one distinct option letter written as `(C)` anywhere.
//!
//! Anything else is "no answer", scored wrong — never a guess.

use std::sync::LazyLock;

use regex::Regex;

use crate::item::Score;

static STATED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\banswer(?:\s+is)?\s*[:\-]?\s*(?:\*\*|\()?\s*\(?([A-Z])\)?(?:\*\*)?(?:[\s\.\),:;]|$)").ok()
});
static OPENING: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*(?:\*\*|\()?\s*([A-Z])\s*(?:\*\*)?(?:[\)\.:]|\s|$)").ok());
static PARENTHESISED: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\(([A-Z])\)").ok());

/// The letter the answer chose, if it chose one of `letters`.
pub fn extract(text: &str, letters: &[char]) -> Option<char> {
    let valid = |c: char| letters.contains(&c);
    let upper = |m: regex::Match<'_>| m.as_str().chars().next().map(|c| c.to_ascii_uppercase());
    if let Some(re) = STATED.as_ref() {
        let stated = re.captures_iter(text).filter_map(|c| c.get(1).and_then(upper)).filter(|c| valid(*c)).last();
        if stated.is_some() {
            return stated;
        }
    }
    if let Some(re) = OPENING.as_ref()
        && let Some(c) = re.captures(text).and_then(|c| c.get(1)).and_then(upper).filter(|c| valid(*c))
    {
        return Some(c);
    }
    let re = PARENTHESISED.as_ref()?;
    let mut found: Vec<char> =
        re.captures_iter(text).filter_map(|c| c.get(1).and_then(upper)).filter(|c| valid(*c)).collect();
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}

pub fn score(text: &str, answer: char, letters: &[char]) -> Score {
    match extract(text, letters) {
        Some(c) => Score::binary(c == answer, Some(c.to_string()), format!("chose {c}, correct {answer}")),
        None => Score::binary(false, None, format!("no option letter found, correct {answer}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABCD: [char; 4] = ['A', 'B', 'C', 'D'];

    #[test]
    fn extracts_the_common_shapes() {
        for (text, want) in [
            ("C", Some('C')),
            ("(B) because …", Some('B')),
            ("D. Paris", Some('D')),
            ("**A**", Some('A')),
            ("The answer is (C).", Some('C')),
            ("Answer: b", Some('B')),
            ("A is wrong, B is wrong; the answer is D", Some('D')),
            ("I think (B) is most plausible", Some('B')),
            ("Either (A) or (B)", None),
            ("I don't know", None),
            ("The answer is E", None),
            ("", None),
        ] {
            assert_eq!(extract(text, &ABCD), want, "{text:?}");
        }
    }

    #[test]
    fn a_sentence_starting_with_a_is_not_option_a() {
        assert_eq!(extract("A cat is an animal", &ABCD), Some('A'), "ambiguous but leading letter wins");
        assert_eq!(extract("All of them", &ABCD), None);
    }

    #[test]
    fn scores() {
        assert!(score("Answer: C", 'C', &ABCD).passed());
        assert!(!score("Answer: A", 'C', &ABCD).passed());
    }
}
