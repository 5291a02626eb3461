//! Tool-use scoring: the answer's first tool call must name the expected tool and carry every expected
//! argument with an equal value. Extra arguments are allowed (optional parameters); strings are compared
//! trimmed and case-insensitively (`"Paris"` and `"paris"` name the same city); numbers by value. An item
//! whose expected tool is `None` passes only when the model calls no tool.

use serde_json::Value;

use crate::item::{Score, ToolCall};

pub fn score(calls: &[ToolCall], expected_name: Option<&str>, expected_args: &Value) -> Score {
    let first = calls.first();
    match (expected_name, first) {
        (None, None) => Score::binary(true, None, "no tool call, as expected"),
        (None, Some(call)) => Score::binary(false, Some(call.name.clone()), "called a tool where none was needed"),
        (Some(name), None) => Score::binary(false, None, format!("no tool call (expected `{name}`)")),
        (Some(name), Some(call)) if call.name != name => {
            Score::binary(false, Some(call.name.clone()), format!("called `{}` instead of `{name}`", call.name))
        }
        (Some(_), Some(call)) => match subset_mismatch(expected_args, &call.arguments, "") {
            None => Score::binary(true, Some(call.name.clone()), "tool and arguments match"),
            Some(why) => Score::binary(false, Some(call.name.clone()), why),
        },
    }
}

/// The first place where `got` lacks or differs from `expected`.
fn subset_mismatch(expected: &Value, got: &Value, path: &str) -> Option<String> {
    match (expected, got) {
        (Value::Object(want), Value::Object(have)) => want.iter().find_map(|(key, value)| {
            let child = format!("{path}/{key}");
            match have.get(key) {
                None => Some(format!("argument {child} missing")),
                Some(actual) => subset_mismatch(value, actual, &child),
            }
        }),
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => {
            want.iter().zip(have).enumerate().find_map(|(i, (w, h))| subset_mismatch(w, h, &format!("{path}/{i}")))
        }
        (Value::String(w), Value::String(h)) if w.trim().eq_ignore_ascii_case(h.trim()) => None,
        (Value::Number(w), Value::Number(h)) if w.as_f64() == h.as_f64() => None,
        // Models often pass numbers as strings ("3") or the reverse: compare by value.
        (Value::Number(w), Value::String(h)) | (Value::String(h), Value::Number(w))
            if h.trim().parse::<f64>().ok() == w.as_f64() =>
        {
            None
        }
        (w, h) if w == h => None,
        (w, h) => Some(format!("argument {} is {h}, expected {w}", if path.is_empty() { "/" } else { path })),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn call(name: &str, args: Value) -> Vec<ToolCall> {
        vec![ToolCall { name: name.into(), arguments: args }]
    }

    #[test]
    fn matches_name_and_argument_subset() {
        let want = json!({"city": "Paris", "unit": "celsius"});
        assert!(
            score(
                &call("get_weather", json!({"city": "paris ", "unit": "celsius", "days": 1})),
                Some("get_weather"),
                &want
            )
            .passed()
        );
        let s = score(&call("get_weather", json!({"city": "Rome", "unit": "celsius"})), Some("get_weather"), &want);
        assert!(!s.passed() && s.detail.contains("/city"), "{}", s.detail);
        assert!(!score(&call("get_weather", json!({"city": "Paris"})), Some("get_weather"), &want).passed());
        assert!(!score(&call("search", want.clone()), Some("get_weather"), &want).passed());
        assert!(!score(&[], Some("get_weather"), &want).passed());
        assert!(score(&call("f", json!({"n": "3"})), Some("f"), &json!({"n": 3})).passed());
    }

    #[test]
    fn no_tool_expected() {
        assert!(score(&[], None, &Value::Null).passed());
        assert!(!score(&call("f", json!({})), None, &Value::Null).passed());
    }
}
