//! Reading an incoming request (either API) far enough to pick and complete a script.
//!
//! Both APIs put conversation text under `messages[].content` (a string, or parts/blocks with a
//! `text` field, tool results nesting further `content`) and Anthropic adds a top-level `system`,
//! so one structural walk serves both without modelling either protocol.

use std::collections::HashMap;

use serde_json::Value;

use crate::script::{Block, Response, Script};

/// Marker that selects a registered script: `[[mock:KEY]]` anywhere in the conversation text.
const MARKER_OPEN: &str = "[[mock:";
const MARKER_CLOSE: &str = "]]";

/// Concrete token counts for one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_creation: u64,
}

/// A script response with everything the renderers need filled in.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub response: Response,
    pub stop_reason: String,
    pub usage: Usage,
}

/// Every text of the conversation (system first, then messages in order).
pub(crate) fn conversation_texts(body: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    if let Some(system) = body.get("system") {
        collect_text(system, &mut out);
    }
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        for message in messages {
            if let Some(content) = message.get("content") {
                collect_text(content, &mut out);
            }
        }
    }
    out
}

fn collect_text<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|item| collect_text(item, out)),
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get("text") {
                out.push(text);
            }
            // tool_result blocks nest their own content.
            if let Some(content) = map.get("content") {
                collect_text(content, out);
            }
        }
        _ => {}
    }
}

/// Deterministic token estimate: a quarter of the characters, at least 1.
pub(crate) fn estimate_tokens(body: &Value) -> u64 {
    let chars: usize = conversation_texts(body).iter().map(|t| t.chars().count()).sum();
    u64::try_from(chars.div_ceil(4)).unwrap_or(u64::MAX).max(1)
}

/// The key of the last `[[mock:KEY]]` marker in the conversation, so a later turn can switch scripts.
pub(crate) fn marker(body: &Value) -> Option<String> {
    let mut found = None;
    for text in conversation_texts(body) {
        let mut rest = text;
        while let Some(start) = rest.find(MARKER_OPEN) {
            let after = &rest[start + MARKER_OPEN.len()..];
            match after.find(MARKER_CLOSE) {
                Some(end) => {
                    found = Some(after[..end].to_owned());
                    rest = &after[end + MARKER_CLOSE.len()..];
                }
                None => break,
            }
        }
    }
    found
}

fn assistant_turns(body: &Value) -> usize {
    body.get("messages").and_then(Value::as_array).map_or(0, |messages| {
        messages.iter().filter(|m| m.get("role").and_then(Value::as_str) == Some("assistant")).count()
    })
}

fn last_user_text(body: &Value) -> String {
    let last_user = body
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|messages| messages.iter().rev().find(|m| m.get("role").and_then(Value::as_str) == Some("user")));
    let mut texts = Vec::new();
    if let Some(content) = last_user.and_then(|m| m.get("content")) {
        collect_text(content, &mut texts);
    }
    texts.join("\n")
}

fn words(text: &str) -> u64 {
    u64::try_from(text.split_whitespace().count()).unwrap_or(u64::MAX)
}

/// Output estimate: words of everything the answer says, at least 1.
fn estimate_output(content: &[Block]) -> u64 {
    content
        .iter()
        .map(|block| match block {
            Block::Text { text } => words(text),
            Block::Thinking { thinking, .. } => words(thinking),
            Block::ToolUse { input, .. } => words(&input.to_string().replace([',', ':'], " ")),
            Block::RedactedThinking { .. } => 1,
        })
        .sum::<u64>()
        .max(1)
}

/// Picks the script for `body` (marker → registered script; none → echo) and completes it.
/// An unknown key is an error so a test with a typo fails loudly instead of getting an echo.
pub(crate) fn resolve(scripts: &HashMap<String, Script>, body: &Value) -> Result<Resolved, String> {
    let response = match marker(body) {
        Some(key) => {
            let script = scripts.get(&key).ok_or_else(|| format!("mock upstream: unknown script {key:?}"))?;
            script
                .pick(assistant_turns(body))
                .cloned()
                .ok_or_else(|| format!("mock upstream: script {key:?} has no steps"))?
        }
        None => Response::text(format!("echo: {}", last_user_text(body))),
    };
    let spec = response.usage.clone().unwrap_or_default();
    let usage = Usage {
        input: spec.input_tokens.unwrap_or_else(|| estimate_tokens(body)),
        output: spec.output_tokens.unwrap_or_else(|| estimate_output(&response.content)),
        cache_read: spec.cache_read_input_tokens,
        cache_creation: spec.cache_creation_input_tokens,
    };
    Ok(Resolved { stop_reason: response.effective_stop_reason(), response, usage })
}

/// Splits `text` into pieces of `size` characters (never inside a UTF-8 sequence); 0 = one piece.
/// Empty text yields no pieces.
pub(crate) fn chunks(text: &str, size: usize) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    if size == 0 {
        return vec![text.to_owned()];
    }
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn marker_is_found_in_nested_tool_results_and_last_wins() {
        let body = json!({"system": "sys [[mock:a]]", "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                "content": [{"type": "text", "text": "x [[mock:b]] y"}]}]},
        ]});
        assert_eq!(marker(&body).as_deref(), Some("b"));
        assert_eq!(marker(&json!({"messages": [{"role": "user", "content": "[[mock:open"}]})), None);
    }

    #[test]
    fn echo_uses_last_user_text_and_estimates() {
        let body = json!({"messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "x"},
            {"role": "user", "content": [{"type": "text", "text": "hello there"}]},
        ]});
        let resolved = resolve(&HashMap::new(), &body).unwrap();
        assert_eq!(resolved.response.content, vec![Block::text("echo: hello there")]);
        assert_eq!(resolved.stop_reason, "end_turn");
        assert_eq!(resolved.usage.input, 5); // 17 chars
        assert_eq!(resolved.usage.output, 3);
    }

    #[test]
    fn steps_follow_assistant_turns_and_clamp() {
        let mut scripts = HashMap::new();
        scripts.insert("k".to_owned(), Script::steps([Response::text("a"), Response::text("b")]));
        let turn = |n: usize| {
            let mut messages = vec![json!({"role": "user", "content": "[[mock:k]]"})];
            for _ in 0..n {
                messages.push(json!({"role": "assistant", "content": "."}));
                messages.push(json!({"role": "user", "content": "."}));
            }
            resolve(&scripts, &json!({ "messages": messages })).unwrap().response.content
        };
        assert_eq!(turn(0), vec![Block::text("a")]);
        assert_eq!(turn(1), vec![Block::text("b")]);
        assert_eq!(turn(5), vec![Block::text("b")]);
        let unknown = json!({"messages": [{"role": "user", "content": "[[mock:nope]]"}]});
        assert!(resolve(&scripts, &unknown).unwrap_err().contains("unknown script"));
    }

    #[test]
    fn chunks_respect_char_boundaries() {
        assert_eq!(chunks("héllo", 2), vec!["hé", "ll", "o"]);
        assert_eq!(chunks("abc", 0), vec!["abc"]);
        assert!(chunks("", 3).is_empty());
    }

    #[test]
    fn script_json_round_trips_and_rejects_typos() {
        let script: Script = serde_json::from_value(json!({"steps": [
            {"content": [{"type": "tool_use", "id": "t1", "name": "f"}]},
            {"status": 429, "retry_after": 2},
        ]}))
        .unwrap();
        let Script::Steps { steps } = &script else { panic!("steps expected") };
        assert_eq!(steps[0].effective_stop_reason(), "tool_use");
        assert_eq!(steps[0].content[0], Block::tool_use("t1", "f", json!({})));
        assert_eq!(steps[1].status, 429);
        let back: Script = serde_json::from_value(serde_json::to_value(&script).unwrap()).unwrap();
        assert_eq!(back, script);
        let err = serde_json::from_value::<Script>(json!({"stauts": 500})).unwrap_err();
        assert!(err.to_string().contains("stauts"), "{err}");
        let quirks: Script =
            serde_json::from_value(json!({"stream": {"openai_quirks": ["all_calls_index_0"]}})).unwrap();
        let Script::Single(r) = quirks else { panic!("single expected") };
        assert!(r.stream.has(crate::script::OpenAiQuirk::AllCallsIndex0));
    }
}
