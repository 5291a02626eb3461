//! Custom JSONL suites: one item per line,
//! `{"id"?, "prompt", "system"?, "subject"?, "max_tokens"?, "scorer", "expected", …scorer options}` —
//! see `score::custom` for the scorers and their options.

use std::path::Path;

use serde_json::Value;

use crate::EvalError;
use crate::item::{Item, Prompt, Reference};
use crate::score::custom::Check;
use crate::suites::{Suite, fingerprint, jsonl_objects, read, string_field};

pub fn load(name: &str, path: &Path) -> Result<Suite, EvalError> {
    let bytes = read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut items = Vec::new();
    for (n, (line, record)) in jsonl_objects(path, &text)?.into_iter().enumerate() {
        let prompt = string_field(path, line, &record, "prompt")?;
        let check = Check::from_record(&record).map_err(|message| EvalError::data(path, line, message))?;
        let id = match record.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(x)) => x.to_string(),
            _ => n.to_string(),
        };
        let max_tokens = match record.get("max_tokens") {
            None => 512,
            Some(v) => v
                .as_u64()
                .and_then(|m| u32::try_from(m).ok())
                .filter(|m| *m > 0)
                .ok_or_else(|| EvalError::data(path, line, "field `max_tokens`: expected a positive integer"))?,
        };
        items.push(Item {
            id: format!("{name}/{id}"),
            subject: record.get("subject").and_then(Value::as_str).map(str::to_owned),
            prompt: Prompt {
                system: record.get("system").and_then(Value::as_str).map(str::to_owned),
                user: prompt,
                max_tokens,
                ..Prompt::default()
            },
            reference: Reference::Custom(check),
        });
    }
    let mut ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(EvalError::data(path, 0, format!("field `id`: `{}` appears twice", w[0])));
    }
    let name = if name == "custom" {
        format!("custom:{}", path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default())
    } else {
        name.to_owned()
    };
    Ok(Suite { name, source: path.display().to_string(), fingerprint: fingerprint(&bytes), items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_and_names_the_suite_after_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capitals.jsonl");
        std::fs::write(&path, "{\"id\":\"it\",\"prompt\":\"Capital of Italy?\",\"scorer\":\"contains\",\"expected\":\"Rome\"}\n{\"prompt\":\"2+2\",\"scorer\":\"numeric\",\"expected\":4}\n").unwrap();
        let suite = load("custom", &path).unwrap();
        assert_eq!(suite.name, "custom:capitals");
        assert_eq!(suite.items[1].id, "custom/1");
        std::fs::write(&path, "{\"prompt\":\"x\",\"scorer\":\"numeric\",\"expected\":\"n\"}\n").unwrap();
        let err = load("custom", &path).unwrap_err().to_string();
        assert!(err.ends_with("capitals.jsonl:1: `expected` must be a number for scorer `numeric`"), "{err}");
    }
}
