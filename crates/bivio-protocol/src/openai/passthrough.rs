//! An OpenAI client's body, forwarded to an OpenAI-compatible backend with the fewest changes that keep it
//! working there. Everything else — parameters bivio does not model included — goes through untouched.

use serde_json::{Map, Value, json};

/// Rewrites `body` in place for the upstream and returns whether bivio added `include_usage` the client did
/// not ask for (the usage chunk must then not reach the client). Changes, and why:
/// - `model` → the upstream's name;
/// - `system`/`developer` messages → one leading `system` message: local chat templates reject `developer`
///   (llama-cpp-python answers 500) and often a second system turn;
/// - `max_completion_tokens` → `max_tokens` when the latter is absent: Ollama and llama-cpp-python ignore
///   `max_completion_tokens` and would generate without limit;
/// - streams ask for usage (`stream_options.include_usage`), which accounting needs; other stream options stay.
pub fn prepare_passthrough(body: &mut Value, upstream_model: &str) -> bool {
    let Some(object) = body.as_object_mut() else { return false };
    object.insert("model".into(), json!(upstream_model));
    if let Some(Value::Array(messages)) = object.get_mut("messages") {
        collapse_system_messages(messages);
    }
    if !object.contains_key("max_tokens")
        && let Some(limit) = object.remove("max_completion_tokens")
    {
        object.insert("max_tokens".into(), limit);
    }
    if object.get("stream").and_then(Value::as_bool) != Some(true) {
        return false;
    }
    let options = object.entry("stream_options").or_insert_with(|| Value::Object(Map::new()));
    if !options.is_object() {
        *options = Value::Object(Map::new());
    }
    let wanted = options.get("include_usage").and_then(Value::as_bool) == Some(true);
    options["include_usage"] = json!(true);
    !wanted
}

fn is_system(message: &Value) -> bool {
    matches!(message.get("role").and_then(Value::as_str), Some("system" | "developer"))
}

fn collapse_system_messages(messages: &mut Vec<Value>) {
    let count = messages.iter().filter(|m| is_system(m)).count();
    let already_one_leading_system = count == 1 && messages.first().is_some_and(|m| m["role"] == "system");
    if count == 0 || already_one_leading_system {
        return;
    }
    let texts: Vec<String> = messages.iter().filter(|m| is_system(m)).map(|m| content_text(&m["content"])).collect();
    messages.retain(|m| !is_system(m));
    messages.insert(0, json!({ "role": "system", "content": texts.join("\n\n") }));
}

/// A message's text, whether `content` is a string or a list of text parts.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_system_and_developer_into_one_leading_system() {
        let mut body = json!({
            "model": "alias",
            "messages": [
                { "role": "developer", "content": "rule one" },
                { "role": "user", "content": "hi" },
                { "role": "system", "content": [{ "type": "text", "text": "rule two" }] }
            ],
            "vendor_field": 1
        });
        assert!(!prepare_passthrough(&mut body, "up"));
        assert_eq!(
            body,
            json!({
                "model": "up",
                "messages": [
                    { "role": "system", "content": "rule one\n\nrule two" },
                    { "role": "user", "content": "hi" }
                ],
                "vendor_field": 1
            })
        );
    }

    #[test]
    fn a_single_leading_system_message_is_left_alone() {
        let original = json!({ "model": "a", "messages": [
            { "role": "system", "content": [{ "type": "text", "text": "x" }] }, { "role": "user", "content": "y" }
        ]});
        let mut body = original.clone();
        prepare_passthrough(&mut body, "a");
        assert_eq!(body, original);
    }

    #[test]
    fn max_completion_tokens_becomes_max_tokens() {
        let mut body = json!({ "model": "a", "messages": [], "max_completion_tokens": 8 });
        prepare_passthrough(&mut body, "a");
        assert_eq!(body["max_tokens"], 8);
        assert!(body.get("max_completion_tokens").is_none());
        let mut body = json!({ "model": "a", "messages": [], "max_completion_tokens": 8, "max_tokens": 5 });
        prepare_passthrough(&mut body, "a");
        assert_eq!(body["max_tokens"], 5, "an explicit max_tokens wins");
    }

    #[test]
    fn streams_ask_for_usage_keeping_other_options() {
        let mut body = json!({ "model": "a", "messages": [], "stream": true, "stream_options": { "x": 1 } });
        assert!(prepare_passthrough(&mut body, "a"), "added, so the client must not see it");
        assert_eq!(body["stream_options"], json!({ "x": 1, "include_usage": true }));
        let mut body =
            json!({ "model": "a", "messages": [], "stream": true, "stream_options": { "include_usage": true } });
        assert!(!prepare_passthrough(&mut body, "a"), "the client asked for it");
        let mut body = json!({ "model": "a", "messages": [] });
        assert!(!prepare_passthrough(&mut body, "a"));
        assert!(body.get("stream_options").is_none());
    }
}
