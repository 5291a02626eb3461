//! Custom rules from config: literal terms (one case-insensitive alternation for all of them, whole words
//! only) and regexes (each run over the text: their cost is the operator's).
//!
//! Terms are compiled into one `regex` alternation rather than an Aho-Corasick automaton: with case
//! folding, the automaton loses its literal prefilters and walks every byte (~400 MB/s), while `regex`
//! expands the case variants of the terms' prefixes into a SIMD (Teddy) prefilter and skips most of the text.

use regex::{Regex, RegexBuilder};

use crate::config::{GuardConfig, GuardConfigError};
use crate::kinds::{Finding, Kind};

#[derive(Debug, Clone, Default)]
pub(crate) struct CustomDetector {
    /// One alternation over every term (longest first), and each term's rule kind keyed by lower-cased term.
    terms: Option<(Regex, Vec<(String, Kind)>)>,
    regexes: Vec<(Regex, Kind)>,
}

impl CustomDetector {
    pub(crate) fn new(config: &GuardConfig) -> Result<CustomDetector, GuardConfigError> {
        let mut terms: Vec<(String, Kind)> = Vec::new();
        for rule in &config.custom_terms {
            for term in &rule.terms {
                terms.push((term.trim().to_lowercase(), Kind::Custom(rule.name.clone())));
            }
        }
        // Longest first: the alternation is leftmost-first, and "Acme Corp" must win over "Acme".
        terms.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        let terms = if terms.is_empty() {
            None
        } else {
            let alternation = terms.iter().map(|(t, _)| regex::escape(t)).collect::<Vec<_>>().join("|");
            let regex =
                RegexBuilder::new(&alternation).case_insensitive(true).size_limit(64 << 20).build().map_err(|e| {
                    GuardConfigError::InvalidRegex { path: "guard.custom_terms".into(), message: e.to_string() }
                })?;
            Some((regex, terms))
        };
        let mut regexes = Vec::new();
        for (i, rule) in config.custom_regexes.iter().enumerate() {
            let regex = Regex::new(&rule.pattern).map_err(|e| GuardConfigError::InvalidRegex {
                path: format!("guard.custom_regexes[{i}].pattern"),
                message: e.to_string(),
            })?;
            regexes.push((regex, Kind::Custom(rule.name.clone())));
        }
        Ok(CustomDetector { terms, regexes })
    }

    pub(crate) fn scan(&self, text: &str, out: &mut Vec<Finding>) {
        if let Some((regex, terms)) = &self.terms {
            for m in regex.find_iter(text) {
                if !whole_word(text, m.start(), m.end()) {
                    continue;
                }
                let lower = m.as_str().to_lowercase();
                if let Some((_, kind)) = terms.iter().find(|(t, _)| *t == lower) {
                    out.push(Finding::new(kind.clone(), m.start(), m.end()));
                }
            }
        }
        for (regex, kind) in &self.regexes {
            for m in regex.find_iter(text) {
                if !m.is_empty() {
                    out.push(Finding::new(kind.clone(), m.start(), m.end()));
                }
            }
        }
    }
}

/// Neither neighbour is a letter, digit or underscore (Unicode-aware: `Acme` is not found in `Acmeè`).
fn whole_word(text: &str, start: usize, end: usize) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let before_ok = text.get(..start).and_then(|s| s.chars().next_back()).is_none_or(|c| !word(c));
    let after_ok = text.get(end..).and_then(|s| s.chars().next()).is_none_or(|c| !word(c));
    before_ok && after_ok
}
