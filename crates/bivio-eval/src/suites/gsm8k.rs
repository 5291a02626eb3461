//! GSM8K: `{"question": …, "answer": "… #### N"}` per line. Zero-shot chain of thought: the model is asked
//! to reason and end with `#### N`, and scored as lm-evaluation-harness scores (see `score::gsm8k`).

use std::path::Path;

use crate::EvalError;
use crate::item::{Item, Prompt, Reference};
use crate::suites::{Suite, fingerprint, jsonl_objects, read, string_field};

pub const INSTRUCTION: &str =
    "Solve the following math problem step by step. End your answer with a final line of the form \"#### <number>\".";

pub fn load(path: &Path) -> Result<Suite, EvalError> {
    let bytes = read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut items = Vec::new();
    for (n, (line, record)) in jsonl_objects(path, &text)?.into_iter().enumerate() {
        let question = string_field(path, line, &record, "question")?;
        let gold = string_field(path, line, &record, "answer")?;
        if !gold.contains("#### ") {
            return Err(EvalError::data(path, line, "field `answer`: no `#### N` final answer"));
        }
        items.push(Item {
            id: format!("gsm8k/{n}"),
            subject: None,
            prompt: Prompt {
                user: format!("{INSTRUCTION}\n\nQuestion: {question}\nAnswer:"),
                max_tokens: 512,
                stop: vec!["Question:".into()],
                ..Prompt::default()
            },
            reference: Reference::Gsm8k { gold },
        });
    }
    Ok(Suite { name: "gsm8k".into(), source: path.display().to_string(), fingerprint: fingerprint(&bytes), items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_and_reports_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.jsonl");
        std::fs::write(&path, "{\"question\":\"1+1?\",\"answer\":\"2\\n#### 2\"}\n\n{\"question\":\"x\"}\n").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.ends_with("g.jsonl:3: field `answer`: missing"), "{err}");
        std::fs::write(&path, "{\"question\":\"1+1?\",\"answer\":\"2\\n#### 2\"}\nnot json\n").unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("g.jsonl:2: not valid JSON"));
        std::fs::write(&path, "{\"question\":\"1+1?\",\"answer\":\"2\\n#### 2\"}\n").unwrap();
        let suite = load(&path).unwrap();
        assert_eq!(suite.items[0].id, "gsm8k/0");
    }
}
