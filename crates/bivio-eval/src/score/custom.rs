//! Custom suites' checks: `exact`, `regex`, `contains`, `json-schema`, `numeric` and `llm-judge`, parsed
//! from one JSONL record each (see docs/evaluation.md for the format) and applied to an answer's text.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::item::Score;
use crate::score::schema;

/// How a custom item is scored.
#[derive(Debug, Clone)]
pub enum Check {
    /// The trimmed answer equals `expected` (case-insensitively unless `case_sensitive`).
    Exact { expected: String, case_sensitive: bool },
    /// The pattern matches somewhere in the answer (`(?i)` etc. inside the pattern).
    Regex { pattern: Regex },
    /// `expected` occurs in the answer.
    Contains { expected: String, case_sensitive: bool },
    /// The answer (or its first fenced code block) is JSON valid against `schema`.
    JsonSchema { schema: Value },
    /// The last number in the answer is within `tolerance` (absolute) of `expected`.
    Numeric { expected: f64, tolerance: f64 },
    /// A judge model rates the answer 1–10 against `rubric` (and `expected`, when given); score = rating/10.
    LlmJudge { rubric: String, expected: Option<String> },
}

impl PartialEq for Check {
    fn eq(&self, other: &Check) -> bool {
        match (self, other) {
            (Check::Regex { pattern: a }, Check::Regex { pattern: b }) => a.as_str() == b.as_str(),
            (Check::Exact { expected: a, case_sensitive: x }, Check::Exact { expected: b, case_sensitive: y })
            | (
                Check::Contains { expected: a, case_sensitive: x },
                Check::Contains { expected: b, case_sensitive: y },
            ) => a == b && x == y,
            (Check::JsonSchema { schema: a }, Check::JsonSchema { schema: b }) => a == b,
            (Check::Numeric { expected: a, tolerance: x }, Check::Numeric { expected: b, tolerance: y }) => {
                a == b && x == y
            }
            (Check::LlmJudge { rubric: a, expected: x }, Check::LlmJudge { rubric: b, expected: y }) => {
                a == b && x == y
            }
            _ => false,
        }
    }
}

/// The scorer names a record may give.
pub const SCORERS: [&str; 6] = ["exact", "regex", "contains", "json-schema", "numeric", "llm-judge"];

impl Check {
    /// Builds the check of one record; errors name the field (the caller adds file and line).
    pub fn from_record(record: &serde_json::Map<String, Value>) -> Result<Check, String> {
        let scorer = record.get("scorer").and_then(Value::as_str).unwrap_or("exact");
        let case_sensitive = record.get("case_sensitive").and_then(Value::as_bool).unwrap_or(false);
        let expected_text = || match record.get("expected") {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(other) => Err(format!("`expected` must be a string for scorer `{scorer}`, got {other}")),
            None => Err(format!("`expected` is required for scorer `{scorer}`")),
        };
        match scorer {
            "exact" => Ok(Check::Exact { expected: expected_text()?, case_sensitive }),
            "contains" => Ok(Check::Contains { expected: expected_text()?, case_sensitive }),
            "regex" => {
                let pattern = expected_text()?;
                let pattern = Regex::new(&pattern).map_err(|err| format!("`expected` is not a valid regex: {err}"))?;
                Ok(Check::Regex { pattern })
            }
            "json-schema" => match record.get("schema").or_else(|| record.get("expected")) {
                Some(schema @ (Value::Object(_) | Value::Bool(_))) => Ok(Check::JsonSchema { schema: schema.clone() }),
                _ => Err("`schema` (a JSON Schema object) is required for scorer `json-schema`".into()),
            },
            "numeric" => {
                let expected = match record.get("expected") {
                    Some(Value::Number(n)) => n.as_f64(),
                    Some(Value::String(s)) => parse_number(s),
                    _ => None,
                }
                .ok_or("`expected` must be a number for scorer `numeric`")?;
                let tolerance = match record.get("tolerance") {
                    None => 1e-6,
                    Some(t) => t.as_f64().filter(|t| *t >= 0.0).ok_or("`tolerance` must be a number ≥ 0")?,
                };
                Ok(Check::Numeric { expected, tolerance })
            }
            "llm-judge" => {
                let rubric = record.get("rubric").and_then(Value::as_str).unwrap_or(DEFAULT_RUBRIC).to_owned();
                Ok(Check::LlmJudge { rubric, expected: expected_text().ok() })
            }
            other => Err(format!("`scorer`: unknown scorer `{other}` (one of {})", SCORERS.join(", "))),
        }
    }

    /// Scores an answer; `None` for `llm-judge`, which needs a judge model (see [`judge_prompt`]).
    pub fn score(&self, text: &str) -> Option<Score> {
        let score = match self {
            Check::Exact { expected, case_sensitive } => {
                let got = text.trim();
                let ok = if *case_sensitive {
                    got == expected.trim()
                } else {
                    got.to_lowercase() == expected.trim().to_lowercase()
                };
                Score::binary(ok, Some(got.to_owned()), "exact")
            }
            Check::Contains { expected, case_sensitive } => {
                let ok = if *case_sensitive {
                    text.contains(expected.as_str())
                } else {
                    text.to_lowercase().contains(&expected.to_lowercase())
                };
                Score::binary(ok, None, format!("contains {expected:?}"))
            }
            Check::Regex { pattern } => {
                let found = pattern.find(text).map(|m| m.as_str().to_owned());
                Score::binary(found.is_some(), found, format!("regex {:?}", pattern.as_str()))
            }
            Check::JsonSchema { schema } => match parse_json_answer(text) {
                Err(err) => Score::binary(false, None, format!("not JSON: {err}")),
                Ok(value) => match schema::validate(schema, &value) {
                    Ok(()) => Score::binary(true, Some(value.to_string()), "valid"),
                    Err(err) => Score::binary(false, Some(value.to_string()), err),
                },
            },
            Check::Numeric { expected, tolerance } => match last_number(text) {
                Some(got) => {
                    let ok = (got - expected).abs() <= *tolerance;
                    Score::binary(ok, Some(got.to_string()), format!("expected {expected} ± {tolerance}"))
                }
                None => Score::binary(false, None, "no number in the answer"),
            },
            Check::LlmJudge { .. } => return None,
        };
        Some(score)
    }
}

pub const DEFAULT_RUBRIC: &str = "Is the answer correct, complete and helpful?";

/// The judge's prompt for `llm-judge` (single-answer grading in MT-Bench's style: a 1–10 rating as `[[N]]`).
pub fn judge_prompt(question: &str, answer: &str, rubric: &str, expected: Option<&str>) -> String {
    let reference = expected.map(|e| format!("\n[Reference answer]\n{e}\n")).unwrap_or_default();
    format!(
        "Please act as an impartial judge and evaluate the answer below.\n[Criteria]\n{rubric}\n{reference}\n\
         [Question]\n{question}\n\n[Answer]\n{answer}\n\n\
         Explain briefly, then give a rating from 1 to 10 in exactly this format: \"[[rating]]\", e.g. \"[[7]]\"."
    )
}

static RATING: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\[\[(\d+(?:\.\d+)?)\]\]").ok());

/// The judge's rating as a score (rating / 10), or a zero score saying the judge gave none.
pub fn judge_score(judgement: &str) -> Score {
    let rating = RATING
        .as_ref()
        .and_then(|re| re.captures_iter(judgement).last())
        .and_then(|c| c.get(1))
        .and_then(|m| m.as_str().parse::<f64>().ok())
        .filter(|r| (1.0..=10.0).contains(r));
    match rating {
        Some(r) => {
            Score { value: r / 10.0, alt: None, extracted: Some(r.to_string()), detail: format!("judge rated {r}/10") }
        }
        None => Score::binary(false, None, "the judge gave no [[rating]]"),
    }
}

static NUMBER: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"-?\$?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?").ok());

fn parse_number(s: &str) -> Option<f64> {
    s.trim().replace([',', '$'], "").parse().ok()
}

/// The last number written in the text (thousands separators and `$` allowed).
pub fn last_number(text: &str) -> Option<f64> {
    NUMBER.as_ref()?.find_iter(text).filter_map(|m| parse_number(m.as_str())).last()
}

static FENCE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?s)```[a-zA-Z0-9_-]*\s*\n(.*?)```").ok());

/// The answer as JSON: the whole text, else its first fenced block, else the outermost `{…}`/`[…]`.
pub fn parse_json_answer(text: &str) -> Result<Value, String> {
    if let Ok(v) = serde_json::from_str(text.trim()) {
        return Ok(v);
    }
    if let Some(block) = FENCE.as_ref().and_then(|re| re.captures(text)).and_then(|c| c.get(1))
        && let Ok(v) = serde_json::from_str(block.as_str().trim())
    {
        return Ok(v);
    }
    let start = text.find(['{', '[']);
    let end = text.rfind(['}', ']']);
    match (start, end) {
        (Some(s), Some(e)) if e > s => serde_json::from_str(&text[s..=e]).map_err(|err| err.to_string()),
        _ => Err("no JSON value found".into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(record: Value) -> Check {
        Check::from_record(record.as_object().unwrap_or(&serde_json::Map::new())).unwrap()
    }

    #[test]
    fn each_scorer() {
        let exact = check(json!({"scorer": "exact", "expected": "Paris"}));
        assert!(exact.score(" paris \n").unwrap().passed());
        assert!(!exact.score("Paris, France").unwrap().passed());
        let strict = check(json!({"scorer": "exact", "expected": "Paris", "case_sensitive": true}));
        assert!(!strict.score("paris").unwrap().passed());
        let re = check(json!({"scorer": "regex", "expected": "(?i)\\bparis\\b"}));
        assert!(re.score("It is PARIS.").unwrap().passed());
        let contains = check(json!({"scorer": "contains", "expected": "Rome"}));
        assert!(contains.score("rome, of course").unwrap().passed());
        let num = check(json!({"scorer": "numeric", "expected": 2.72, "tolerance": 0.01}));
        assert!(num.score("about 2.7182").unwrap().passed());
        assert!(!num.score("maybe 2.8").unwrap().passed());
        assert!(check(json!({"scorer": "numeric", "expected": "1,000"})).score("$1,000").unwrap().passed());
        let schema = check(json!({"scorer": "json-schema", "schema": {"type": "object", "required": ["a"]}}));
        assert!(schema.score("Here:\n```json\n{\"a\": 1}\n```").unwrap().passed());
        assert!(!schema.score("{\"b\": 1}").unwrap().passed());
        let judge = check(json!({"scorer": "llm-judge", "rubric": "Polite?"}));
        assert!(judge.score("x").is_none());
    }

    #[test]
    fn record_errors_name_the_field() {
        let err = |v: Value| Check::from_record(v.as_object().unwrap_or(&serde_json::Map::new())).unwrap_err();
        assert!(err(json!({"scorer": "fuzzy"})).contains("unknown scorer `fuzzy`"));
        assert!(err(json!({"scorer": "exact"})).contains("`expected` is required"));
        assert!(err(json!({"scorer": "regex", "expected": "("})).contains("not a valid regex"));
        assert!(err(json!({"scorer": "numeric", "expected": "x"})).contains("must be a number"));
        assert!(err(json!({"scorer": "json-schema"})).contains("`schema`"));
    }

    #[test]
    fn judge_ratings() {
        assert_eq!(judge_score("fine. [[8]]").value, 0.8);
        assert_eq!(judge_score("Rating: [[11]]").value, 0.0);
        assert_eq!(judge_score("no rating").value, 0.0);
    }
}
