//! HumanEval: `{"task_id", "prompt", "canonical_solution", "test", "entry_point"}` per line, gzipped or not.

use std::io::Read;
use std::path::Path;

use crate::EvalError;
use crate::item::{Item, Prompt, Reference};
use crate::suites::{Suite, fingerprint, jsonl_objects, read, string_field};

pub const INSTRUCTION: &str =
    "Complete the following Python function. Answer with the complete function in a single ```python code block.";

/// A problem as the dataset has it (the canonical solution is kept for the scorer benchmark and parity tests).
#[derive(Debug, Clone)]
pub struct Problem {
    pub task_id: String,
    pub prompt: String,
    pub canonical_solution: String,
    pub test: String,
    pub entry_point: String,
}

pub fn problems(path: &Path) -> Result<(Vec<Problem>, String), EvalError> {
    let bytes = read(path)?;
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .map_err(|err| EvalError::data(path, 0, format!("not a valid gzip of UTF-8 text: {err}")))?;
        text
    } else {
        String::from_utf8(bytes.clone()).map_err(|_| EvalError::data(path, 0, "not UTF-8"))?
    };
    let mut out = Vec::new();
    for (line, record) in jsonl_objects(path, &text)? {
        let field = |name: &str| string_field(path, line, &record, name);
        out.push(Problem {
            task_id: field("task_id")?,
            prompt: field("prompt")?,
            canonical_solution: record.get("canonical_solution").and_then(|v| v.as_str()).unwrap_or("").to_owned(),
            test: field("test")?,
            entry_point: field("entry_point")?,
        });
    }
    Ok((out, fingerprint(&bytes)))
}

pub fn load(path: &Path) -> Result<Suite, EvalError> {
    let (problems, fingerprint) = problems(path)?;
    let items = problems
        .into_iter()
        .map(|p| Item {
            id: p.task_id,
            subject: None,
            prompt: Prompt {
                user: format!("{INSTRUCTION}\n\n```python\n{}```", p.prompt),
                max_tokens: 768,
                ..Prompt::default()
            },
            reference: Reference::Code { prompt: p.prompt, test: p.test, entry_point: p.entry_point },
        })
        .collect();
    Ok(Suite { name: "humaneval".into(), source: path.display().to_string(), fingerprint, items })
}
