//! Suites: where items come from. `--suite` takes a comma-separated list of specs, each `NAME` or
//! `NAME=PATH`:
//!
//! | spec | items | default file |
//! |---|---|---|
//! | `gsm8k[=FILE]` | GSM8K JSONL (`question`, `answer` ending `#### N`) | `gsm8k/test.jsonl` in the datasets directory |
//! | `humaneval[=FILE]` | HumanEval JSONL, optionally gzipped | `humaneval/HumanEval.jsonl.gz` |
//! | `mmlu=PATH`, `gpqa=PATH` | multiple choice: a CSV/JSONL file or a directory of them | — |
//! | `tooluse[=FILE]` | function-calling tasks | built in |
//! | `custom=FILE` (or `NAME=FILE.jsonl` for any other name) | custom JSONL | — |
//!
//! The datasets directory is `$BIVIO_DATASETS`, else the first of `./datasets`, `../shared/datasets`,
//! `~/.cache/bivio/datasets` that exists.

pub mod choice;
pub mod custom;
pub mod gsm8k;
pub mod humaneval;
pub mod tooluse;

use std::path::{Path, PathBuf};

use crate::EvalError;
use crate::item::Item;

/// A loaded suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The name runs are stored and reported under (`gsm8k`, `mmlu`, `custom:refunds` …).
    pub name: String,
    /// Where the items came from (a path, or `built-in`).
    pub source: String,
    /// Identifies the items' content: a run resumes only over the same items.
    pub fingerprint: String,
    pub items: Vec<Item>,
}

impl Suite {
    pub fn needs_sandbox(&self) -> bool {
        self.items.iter().any(|i| matches!(i.reference, crate::item::Reference::Code { .. }))
    }

    pub fn needs_judge(&self) -> bool {
        self.items.iter().any(|i| {
            matches!(i.reference, crate::item::Reference::Custom(crate::score::custom::Check::LlmJudge { .. }))
        })
    }
}

/// One `--suite` entry before loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    pub path: Option<PathBuf>,
}

/// Splits `gsm8k,mmlu=data/test,custom=mine.jsonl`.
pub fn parse_specs(text: &str) -> Result<Vec<Spec>, EvalError> {
    let mut specs = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, path) = match part.split_once('=') {
            Some((name, path)) => (name.trim(), Some(PathBuf::from(path.trim()))),
            None => (part, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c)) {
            return Err(EvalError::usage(format!("--suite: `{name}` is not a suite name")));
        }
        specs.push(Spec { name: name.to_owned(), path });
    }
    if specs.is_empty() {
        return Err(EvalError::usage("--suite: name at least one suite"));
    }
    Ok(specs)
}

/// Loads a suite; `seed` shuffles GPQA-style options reproducibly.
pub fn load(spec: &Spec, seed: u64) -> Result<Suite, EvalError> {
    let need_path =
        |what: &str| spec.path.clone().ok_or_else(|| EvalError::usage(format!("--suite {}=PATH: {what}", spec.name)));
    match spec.name.as_str() {
        "gsm8k" => gsm8k::load(&dataset(spec, "gsm8k/test.jsonl")?),
        "humaneval" => humaneval::load(&dataset(spec, "humaneval/HumanEval.jsonl.gz")?),
        "tooluse" => match &spec.path {
            Some(path) => tooluse::load_file(path),
            None => tooluse::builtin(),
        },
        "mmlu" | "gpqa" | "mc" => choice::load(
            &spec.name,
            &need_path("a CSV/JSONL file or a directory of them (see docs/evaluation.md)")?,
            seed,
        ),
        "custom" => custom::load("custom", &need_path("a JSONL file")?),
        other => match &spec.path {
            Some(path) => custom::load(other, path),
            None => Err(EvalError::usage(format!(
                "--suite: unknown suite `{other}` (built in: gsm8k, humaneval, tooluse; with a file: mmlu=, gpqa=, custom=)"
            ))),
        },
    }
}

/// The file for a built-in suite: the spec's path, else `relative` in the datasets directory.
fn dataset(spec: &Spec, relative: &str) -> Result<PathBuf, EvalError> {
    match &spec.path {
        Some(path) => Ok(path.clone()),
        None => dataset_file(relative).map_err(|tried| {
            EvalError::usage(format!(
                "suite `{}`: no dataset file (tried {tried}); pass {}=FILE or set BIVIO_DATASETS",
                spec.name, spec.name
            ))
        }),
    }
}

/// `relative` in the first datasets directory that has it; `Err` lists the places tried.
pub fn dataset_file(relative: &str) -> Result<PathBuf, String> {
    let mut tried = Vec::new();
    for dir in dataset_dirs() {
        let path = dir.join(relative);
        if path.is_file() {
            return Ok(path);
        }
        tried.push(path.display().to_string());
    }
    Err(tried.join(", "))
}

fn dataset_dirs() -> Vec<PathBuf> {
    if let Ok(dir) = std::env::var("BIVIO_DATASETS") {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = vec![PathBuf::from("datasets"), PathBuf::from("../shared/datasets")];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cache/bivio/datasets"));
    }
    dirs
}

/// FNV-1a over the bytes: a stable fingerprint (not a security hash) of a dataset's content.
pub fn fingerprint(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Reads a whole file, naming it on failure.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, EvalError> {
    std::fs::read(path).map_err(|err| EvalError::read(path, err))
}

/// A JSONL record and its 1-based line number.
pub(crate) type Record = (usize, serde_json::Map<String, serde_json::Value>);

/// JSONL records as objects, with 1-based line numbers; blank lines are skipped.
pub(crate) fn jsonl_objects(path: &Path, text: &str) -> Result<Vec<Record>, EvalError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(map)) => out.push((line_no, map)),
            Ok(_) => return Err(EvalError::data(path, line_no, "expected a JSON object")),
            Err(err) => return Err(EvalError::data(path, line_no, format!("not valid JSON: {err}"))),
        }
    }
    Ok(out)
}

/// A required string field of a JSONL record.
pub(crate) fn string_field(
    path: &Path,
    line: usize,
    record: &serde_json::Map<String, serde_json::Value>,
    field: &str,
) -> Result<String, EvalError> {
    match record.get(field) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(EvalError::data(path, line, format!("field `{field}`: expected a string, got {other}"))),
        None => Err(EvalError::data(path, line, format!("field `{field}`: missing"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let specs = parse_specs("gsm8k, mmlu=data/test,custom=a.jsonl").unwrap();
        assert_eq!(specs.len(), 3);
        assert_eq!(specs[1], Spec { name: "mmlu".into(), path: Some("data/test".into()) });
        assert!(parse_specs(" , ").is_err());
        assert!(parse_specs("gs m").is_err());
        assert!(load(&Spec { name: "nope".into(), path: None }, 0).unwrap_err().to_string().contains("unknown suite"));
        assert!(load(&Spec { name: "mmlu".into(), path: None }, 0).unwrap_err().to_string().contains("mmlu=PATH"));
    }

    #[test]
    fn fingerprints_differ() {
        assert_ne!(fingerprint(b"a"), fingerprint(b"b"));
        assert_eq!(fingerprint(b""), "cbf29ce484222325");
    }
}
