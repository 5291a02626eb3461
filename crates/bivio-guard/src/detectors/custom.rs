//! Custom rules from config: literal terms (one Aho-Corasick automaton for all of them, ASCII
//! case-insensitive, whole words only) and regexes (each run over the text: their cost is the operator's).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use crate::config::{GuardConfig, GuardConfigError};
use crate::kinds::{Finding, Kind};

#[derive(Debug, Clone, Default)]
pub(crate) struct CustomDetector {
    /// Automaton over every term, and the rule kind of each pattern index.
    terms: Option<(AhoCorasick, Vec<Kind>)>,
    regexes: Vec<(Regex, Kind)>,
}

impl CustomDetector {
    pub(crate) fn new(config: &GuardConfig) -> Result<CustomDetector, GuardConfigError> {
        let mut patterns = Vec::new();
        let mut kinds = Vec::new();
        for rule in &config.custom_terms {
            for term in &rule.terms {
                patterns.push(term.trim().to_owned());
                kinds.push(Kind::Custom(rule.name.clone()));
            }
        }
        let terms = if patterns.is_empty() {
            None
        } else {
            let automaton = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .map_err(|e| GuardConfigError::InvalidRegex {
                    path: "guard.custom_terms".into(),
                    message: e.to_string(),
                })?;
            Some((automaton, kinds))
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
        if let Some((automaton, kinds)) = &self.terms {
            for m in automaton.find_iter(text) {
                if whole_word(text, m.start(), m.end())
                    && let Some(kind) = kinds.get(m.pattern().as_usize())
                {
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
