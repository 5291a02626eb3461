//! Votes recorded by people: JSONL, one vote per line,
//! `{"prompt_id": "81", "model_a": "x", "model_b": "y", "winner": "model_a" | "model_b" | "tie", "voter": "anna"}`
//! where `model_a` is the answer the person saw first (LMArena's column names). They join the run's
//! model-judge votes as judge `human:<voter>`.

use std::path::Path;

use serde_json::Value;

use crate::EvalError;
use crate::store::{AnswerRow, VoteRow, now_ms};
use crate::suites::{jsonl_objects, read, string_field};

/// Parses the votes; every vote must name a prompt and two models that answered it in this run.
pub fn load_votes(path: &Path, answers: &[AnswerRow], first_seq: i64) -> Result<Vec<VoteRow>, EvalError> {
    let bytes = read(path)?;
    let mut out = Vec::new();
    for (line, record) in jsonl_objects(path, &String::from_utf8_lossy(&bytes))? {
        let prompt_id = match record.get("prompt_id") {
            Some(Value::Number(n)) => n.to_string(),
            _ => string_field(path, line, &record, "prompt_id")?,
        };
        let first = string_field(path, line, &record, "model_a")?;
        let second = string_field(path, line, &record, "model_b")?;
        for model in [&first, &second] {
            if !answers.iter().any(|a| a.prompt_id == prompt_id && &a.model == model) {
                return Err(EvalError::data(
                    path,
                    line,
                    format!("`{model}` has no answer to prompt `{prompt_id}` in this run"),
                ));
            }
        }
        let verdict = match string_field(path, line, &record, "winner")?.as_str() {
            "model_a" => "A",
            "model_b" => "B",
            "tie" | "tie (bothbad)" | "both_bad" => "tie",
            other => {
                return Err(EvalError::data(
                    path,
                    line,
                    format!("field `winner`: `{other}` is not model_a, model_b or tie"),
                ));
            }
        };
        let voter = record.get("voter").and_then(Value::as_str).unwrap_or("anonymous");
        let category =
            answers.iter().find(|a| a.prompt_id == prompt_id).map(|a| a.category.clone()).unwrap_or_default();
        out.push(VoteRow {
            prompt_id,
            category,
            first,
            second,
            judge: format!("human:{voter}"),
            verdict: verdict.to_owned(),
            explanation: String::new(),
            created_at_ms: now_ms(),
            seq: first_seq + out.len() as i64,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(model: &str) -> AnswerRow {
        AnswerRow {
            prompt_id: "81".into(),
            model: model.into(),
            category: "writing".into(),
            turns: vec![],
            answers: vec![],
            latency_ms: 0,
            output_tokens: 0,
            cost_usd: "0".into(),
        }
    }

    #[test]
    fn parses_and_checks_votes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("votes.jsonl");
        let answers = [answer("x"), answer("y")];
        std::fs::write(
            &path,
            "{\"prompt_id\":81,\"model_a\":\"y\",\"model_b\":\"x\",\"winner\":\"model_b\",\"voter\":\"anna\"}\n",
        )
        .unwrap();
        let votes = load_votes(&path, &answers, 10).unwrap();
        assert_eq!(
            (votes[0].first.as_str(), votes[0].verdict.as_str(), votes[0].judge.as_str(), votes[0].seq),
            ("y", "B", "human:anna", 10)
        );
        std::fs::write(&path, "{\"prompt_id\":\"81\",\"model_a\":\"z\",\"model_b\":\"x\",\"winner\":\"tie\"}\n")
            .unwrap();
        assert!(load_votes(&path, &answers, 0).unwrap_err().to_string().contains("votes.jsonl:1: `z` has no answer"));
    }
}
