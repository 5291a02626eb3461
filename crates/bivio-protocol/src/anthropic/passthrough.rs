//! An Anthropic client's body, forwarded to Claude with the fewest changes: the model name, and the removal
//! of what Claude would reject. Everything else — `cache_control`, signed thinking, new parameters — goes
//! through byte-exact.

use serde_json::{Value, json};

/// Rewrites `body` in place for the upstream:
/// - `model` → the upstream's name;
/// - thinking blocks without a signature are dropped: they come from open models (bivio streams their
///   reasoning as unsigned thinking), and Claude rejects thinking it did not sign. A message left empty by
///   this is dropped too.
pub fn prepare_passthrough(body: &mut Value, upstream_model: &str) {
    let Some(object) = body.as_object_mut() else { return };
    object.insert("model".into(), json!(upstream_model));
    let Some(Value::Array(messages)) = object.get_mut("messages") else { return };
    let mut changed = false;
    for message in messages.iter_mut() {
        if let Some(Value::Array(blocks)) = message.get_mut("content") {
            let before = blocks.len();
            blocks.retain(|block| !is_unsigned_thinking(block));
            changed |= blocks.len() != before;
        }
    }
    if changed {
        messages.retain(|m| !m.get("content").and_then(Value::as_array).is_some_and(Vec::is_empty));
    }
}

fn is_unsigned_thinking(block: &Value) -> bool {
    block.get("type").and_then(Value::as_str) == Some("thinking")
        && block.get("signature").and_then(Value::as_str).is_none_or(str::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_unsigned_thinking_and_keeps_signed_byte_exact() {
        let mut body = json!({
            "model": "alias",
            "max_tokens": 5,
            "new_param": { "x": [1, 2] },
            "messages": [
                { "role": "user", "content": "q" },
                { "role": "assistant", "content": [
                    { "type": "thinking", "thinking": "local musing", "signature": "" },
                    { "type": "thinking", "thinking": "claude's", "signature": "c2lnbmVk/+==" },
                    { "type": "text", "text": "a" }
                ]},
                { "role": "assistant", "content": [{ "type": "thinking", "thinking": "only this" }] },
                { "role": "user", "content": [{ "type": "text", "text": "q2", "cache_control": { "type": "ephemeral" } }] }
            ]
        });
        prepare_passthrough(&mut body, "up");
        assert_eq!(
            body,
            json!({
                "model": "up",
                "max_tokens": 5,
                "new_param": { "x": [1, 2] },
                "messages": [
                    { "role": "user", "content": "q" },
                    { "role": "assistant", "content": [
                        { "type": "thinking", "thinking": "claude's", "signature": "c2lnbmVk/+==" },
                        { "type": "text", "text": "a" }
                    ]},
                    { "role": "user", "content": [{ "type": "text", "text": "q2", "cache_control": { "type": "ephemeral" } }] }
                ]
            })
        );
    }
}
