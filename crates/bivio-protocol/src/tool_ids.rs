//! Tool-call ids across APIs. Anthropic accepts only `^[a-zA-Z0-9_-]+$`; OpenAI-compatible backends produce
//! ids such as `functions.get_weather:0`. The mapping is deterministic, so a `tool_use.id` and the
//! `tool_result.tool_use_id` that answers it always map to the same string.

/// The id as Anthropic accepts it: invalid characters become `_`, an empty id becomes `toolu_empty`.
pub fn to_anthropic(id: &str) -> String {
    if id.is_empty() {
        return "toolu_empty".to_owned();
    }
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// An id for a tool call a backend sent without one; `seed` is unique within the response.
pub fn generated(response_id: &str, seed: usize) -> String {
    to_anthropic(&format!("toolu_{response_id}_{seed}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn maps_foreign_ids() {
        assert_eq!(to_anthropic("functions.get_weather:0"), "functions_get_weather_0");
        assert_eq!(to_anthropic("call_abc-1"), "call_abc-1");
        assert_eq!(to_anthropic(""), "toolu_empty");
    }

    proptest! {
        #[test]
        fn always_valid_and_idempotent(id in ".{0,40}") {
            let mapped = to_anthropic(&id);
            prop_assert!(!mapped.is_empty());
            prop_assert!(mapped.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
            prop_assert_eq!(to_anthropic(&mapped), mapped);
        }
    }
}
