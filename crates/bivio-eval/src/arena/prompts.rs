//! Arena prompts and judge templates. Prompts: MT-Bench's `question.jsonl` (`question_id`, `category`,
//! `turns`) or any JSONL with `id`/`question_id`, optional `category`, and `prompt` or `turns`. Judge
//! templates: MT-Bench's `judge_prompts.jsonl` (`pair-v2` for one turn, `pair-v2-multi-turn` for two).

use std::path::Path;

use serde_json::Value;

use crate::EvalError;
use crate::suites::{jsonl_objects, read};

#[derive(Debug, Clone, PartialEq)]
pub struct ArenaPrompt {
    pub id: String,
    pub category: String,
    pub turns: Vec<String>,
}

pub fn load_prompts(path: &Path) -> Result<Vec<ArenaPrompt>, EvalError> {
    let bytes = read(path)?;
    let mut out = Vec::new();
    for (line, record) in jsonl_objects(path, &String::from_utf8_lossy(&bytes))? {
        let id = match record.get("question_id").or_else(|| record.get("id")) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => format!("{line}"),
        };
        let turns: Vec<String> = match (record.get("turns"), record.get("prompt")) {
            (Some(Value::Array(t)), _) => t.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            (None, Some(Value::String(p))) => vec![p.clone()],
            _ => {
                return Err(EvalError::data(
                    path,
                    line,
                    "field `turns` (array of strings) or `prompt` (string): missing",
                ));
            }
        };
        if turns.is_empty() || turns.len() > 2 {
            return Err(EvalError::data(path, line, "field `turns`: one or two turns are supported"));
        }
        let category = record.get("category").and_then(Value::as_str).unwrap_or("general").to_owned();
        out.push(ArenaPrompt { id, category, turns });
    }
    Ok(out)
}

/// A pairwise judge template: the system prompt and the user template with `{question}`-style slots.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeTemplate {
    pub system: String,
    pub template: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JudgeTemplates {
    pub single: JudgeTemplate,
    pub multi: JudgeTemplate,
}

pub fn load_judge_templates(path: &Path) -> Result<JudgeTemplates, EvalError> {
    let bytes = read(path)?;
    let (mut single, mut multi) = (None, None);
    for (line, record) in jsonl_objects(path, &String::from_utf8_lossy(&bytes))? {
        let get = |k: &str| record.get(k).and_then(Value::as_str).map(str::to_owned);
        let template = match (get("system_prompt"), get("prompt_template")) {
            (Some(system), Some(template)) => JudgeTemplate { system, template },
            _ => continue,
        };
        match get("name").as_deref() {
            Some("pair-v2") => single = Some(template),
            Some("pair-v2-multi-turn") => multi = Some(template),
            _ => {}
        }
        let _ = line;
    }
    match (single, multi) {
        (Some(single), Some(multi)) => Ok(JudgeTemplates { single, multi }),
        _ => Err(EvalError::data(path, 0, "no `pair-v2` and `pair-v2-multi-turn` templates")),
    }
}

impl JudgeTemplates {
    /// The judge's (system, user) messages for `turns` answered by A (shown first) and B.
    pub fn render(&self, turns: &[String], a: &[String], b: &[String]) -> (String, String) {
        let get = |v: &[String], i: usize| v.get(i).cloned().unwrap_or_default();
        if turns.len() >= 2 {
            let user = self
                .multi
                .template
                .replace("{question_1}", &get(turns, 0))
                .replace("{question_2}", &get(turns, 1))
                .replace("{answer_a_1}", &get(a, 0))
                .replace("{answer_a_2}", &get(a, 1))
                .replace("{answer_b_1}", &get(b, 0))
                .replace("{answer_b_2}", &get(b, 1));
            (self.multi.system.clone(), user)
        } else {
            let user = self
                .single
                .template
                .replace("{question}", &get(turns, 0))
                .replace("{answer_a}", &get(a, 0))
                .replace("{answer_b}", &get(b, 0));
            (self.single.system.clone(), user)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_and_templates() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.jsonl");
        std::fs::write(
            &p,
            "{\"question_id\":81,\"category\":\"writing\",\"turns\":[\"a\",\"b\"]}\n{\"id\":\"x\",\"prompt\":\"hi\"}\n",
        )
        .unwrap();
        let prompts = load_prompts(&p).unwrap();
        assert_eq!(
            prompts[0],
            ArenaPrompt { id: "81".into(), category: "writing".into(), turns: vec!["a".into(), "b".into()] }
        );
        assert_eq!(prompts[1].category, "general");
        std::fs::write(&p, "{\"id\":\"x\"}\n").unwrap();
        assert!(load_prompts(&p).unwrap_err().to_string().contains("p.jsonl:1: field `turns`"));
        let j = dir.path().join("j.jsonl");
        std::fs::write(&j, "{\"name\":\"pair-v2\",\"system_prompt\":\"S\",\"prompt_template\":\"Q={question} A={answer_a} B={answer_b}\"}\n{\"name\":\"pair-v2-multi-turn\",\"system_prompt\":\"M\",\"prompt_template\":\"{question_1}{answer_a_2}\"}\n").unwrap();
        let t = load_judge_templates(&j).unwrap();
        assert_eq!(t.render(&["q".into()], &["x".into()], &["y".into()]), ("S".into(), "Q=q A=x B=y".into()));
        assert_eq!(t.render(&["q".into(), "r".into()], &["x".into(), "z".into()], &[]).1, "qz");
    }
}
