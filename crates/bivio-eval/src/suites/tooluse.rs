//! The built-in tool-use suite: function-calling tasks (where the seed says Claude leads) with the tool
//! that must be called and the arguments it must get. Tasks name tools from a shared catalogue
//! (`tooluse_tools.json`); categories: single call, argument extraction, enum arguments, choosing among
//! many tools, answering without a tool, Italian prompts. A file in the same format (with the catalogue
//! inline as `"tools": [{name, description, input_schema}]` objects) can replace it: `tooluse=FILE`.

use std::collections::BTreeMap;
use std::path::Path;

use bivio_protocol::ir::Tool;
use serde_json::Value;

use crate::EvalError;
use crate::item::{Item, Prompt, Reference};
use crate::suites::{Suite, fingerprint, jsonl_objects, read, string_field};

const TASKS: &str = include_str!("tooluse.jsonl");
const CATALOGUE: &str = include_str!("tooluse_tools.json");
const SYSTEM: &str = "You are an assistant with access to tools. Call a tool when it is needed to fulfil the request; \
                      otherwise answer directly.";

pub fn builtin() -> Result<Suite, EvalError> {
    let path = Path::new("built-in:tooluse.jsonl");
    let catalogue: BTreeMap<String, Value> = serde_json::from_str(CATALOGUE)
        .map_err(|err| EvalError::data(Path::new("built-in:tooluse_tools.json"), err.line(), err.to_string()))?;
    let mut suite = parse(path, TASKS, &catalogue)?;
    suite.source = "built-in".into();
    Ok(suite)
}

pub fn load_file(path: &Path) -> Result<Suite, EvalError> {
    let bytes = read(path)?;
    parse(path, &String::from_utf8_lossy(&bytes), &BTreeMap::new())
}

fn parse(path: &Path, text: &str, catalogue: &BTreeMap<String, Value>) -> Result<Suite, EvalError> {
    let mut items = Vec::new();
    for (line, record) in jsonl_objects(path, text)? {
        let id = string_field(path, line, &record, "id")?;
        let prompt = string_field(path, line, &record, "prompt")?;
        let Some(Value::Array(tool_refs)) = record.get("tools") else {
            return Err(EvalError::data(path, line, "field `tools`: expected an array"));
        };
        let mut tools = Vec::new();
        for t in tool_refs {
            let (name, spec) = match t {
                Value::String(name) => match catalogue.get(name) {
                    Some(spec) => (name.clone(), spec.clone()),
                    None => return Err(EvalError::data(path, line, format!("field `tools`: unknown tool `{name}`"))),
                },
                Value::Object(spec) => match spec.get("name").and_then(Value::as_str) {
                    Some(name) => (name.to_owned(), t.clone()),
                    None => return Err(EvalError::data(path, line, "field `tools`: a tool object needs `name`")),
                },
                _ => return Err(EvalError::data(path, line, "field `tools`: expected names or tool objects")),
            };
            let input_schema =
                spec.get("input_schema").cloned().unwrap_or_else(|| serde_json::json!({"type": "object"}));
            let description = spec.get("description").and_then(Value::as_str).map(str::to_owned);
            tools.push(Tool { name, description, input_schema, strict: None });
        }
        let expected = record.get("expected").and_then(Value::as_object).ok_or_else(|| {
            EvalError::data(path, line, "field `expected`: expected {\"name\": …, \"arguments\": {…}}")
        })?;
        let name = match expected.get("name") {
            Some(Value::String(n)) if tools.iter().any(|t| &t.name == n) => Some(n.clone()),
            Some(Value::String(n)) => {
                return Err(EvalError::data(path, line, format!("field `expected.name`: `{n}` is not among `tools`")));
            }
            Some(Value::Null) | None => None,
            Some(_) => return Err(EvalError::data(path, line, "field `expected.name`: expected a string or null")),
        };
        let arguments = expected.get("arguments").cloned().unwrap_or(Value::Object(Default::default()));
        items.push(Item {
            id: format!("tooluse/{id}"),
            subject: record.get("category").and_then(Value::as_str).map(str::to_owned),
            prompt: Prompt { system: Some(SYSTEM.into()), user: prompt, tools, max_tokens: 256, stop: Vec::new() },
            reference: Reference::ToolCall { name, arguments },
        });
    }
    Ok(Suite {
        name: "tooluse".into(),
        source: path.display().to_string(),
        fingerprint: fingerprint(text.as_bytes()),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_suite_is_valid() {
        let suite = builtin().unwrap();
        assert!(suite.items.len() >= 20);
        let mut ids: Vec<&str> = suite.items.iter().map(|i| i.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), suite.items.len(), "ids must be unique");
        assert!(suite.items.iter().any(|i| matches!(&i.reference, Reference::ToolCall { name: None, .. })));
    }

    #[test]
    fn expected_arguments_satisfy_their_tool_schema() {
        // A typo in the built-in expectations would make a task impossible to pass.
        for item in builtin().unwrap().items {
            let Reference::ToolCall { name: Some(name), arguments } = &item.reference else { continue };
            let tool = item.prompt.tools.iter().find(|t| &t.name == name).unwrap();
            let mut schema = tool.input_schema.clone();
            // Expected arguments may be a subset: check types and enums, not `required`.
            if let Some(map) = schema.as_object_mut() {
                map.remove("required");
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            assert_eq!(crate::score::schema::validate(&schema, arguments), Ok(()), "{}", item.id);
        }
    }

    #[test]
    fn errors_name_line_and_field() {
        let cat = BTreeMap::new();
        let err =
            parse(Path::new("t.jsonl"), "{\"id\":\"a\",\"prompt\":\"p\",\"tools\":[\"nope\"]}", &cat).unwrap_err();
        assert_eq!(err.to_string(), "t.jsonl:1: field `tools`: unknown tool `nope`");
        let line = "{\"id\":\"a\",\"prompt\":\"p\",\"tools\":[{\"name\":\"f\"}],\"expected\":{\"name\":\"g\"}}";
        let err = parse(Path::new("t.jsonl"), line, &cat).unwrap_err();
        assert_eq!(err.to_string(), "t.jsonl:1: field `expected.name`: `g` is not among `tools`");
    }
}
