//! A JSON Schema validator for the `json-schema` scorer: the structural core of draft 2020-12 that answer
//! checks need — `type` (one or a list), `enum`, `const`, `properties`, `required`, `additionalProperties`
//! (bool or schema), `items` (a schema), `minItems`/`maxItems`, `minimum`/`maximum`/`exclusiveMinimum`/
//! `exclusiveMaximum`, `minLength`/`maxLength` (in characters), `pattern`, `allOf`/`anyOf`/`oneOf`/`not`.
//! Keywords outside that list are ignored, as the specification says of unknown keywords; `$ref` is not
//! supported and is reported as an error rather than silently passing.

use regex::Regex;
use serde_json::Value;

/// The first violation, as `JSON pointer: message`; `Ok` when the instance is valid.
pub fn validate(schema: &Value, instance: &Value) -> Result<(), String> {
    check(schema, instance, "")
}

fn fail(path: &str, message: impl std::fmt::Display) -> Result<(), String> {
    let at = if path.is_empty() { "/" } else { path };
    Err(format!("{at}: {message}"))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(v: &Value, wanted: &str) -> bool {
    let actual = type_name(v);
    actual == wanted || (wanted == "number" && actual == "integer")
}

fn check(schema: &Value, v: &Value, path: &str) -> Result<(), String> {
    let schema = match schema {
        Value::Bool(true) => return Ok(()),
        Value::Bool(false) => return fail(path, "no value is allowed here"),
        Value::Object(map) => map,
        _ => return fail(path, "the schema is not an object or a boolean"),
    };
    if schema.contains_key("$ref") {
        return fail(path, "`$ref` is not supported by bivio's schema scorer");
    }
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(name) => has_type(v, name),
            Value::Array(names) => names.iter().filter_map(Value::as_str).any(|name| has_type(v, name)),
            _ => true,
        };
        if !ok {
            return fail(path, format!("expected type {t}, got {}", type_name(v)));
        }
    }
    if let Some(Value::Array(options)) = schema.get("enum")
        && !options.iter().any(|o| json_eq(o, v))
    {
        return fail(path, format!("{v} is not one of {}", Value::Array(options.clone())));
    }
    if let Some(c) = schema.get("const")
        && !json_eq(c, v)
    {
        return fail(path, format!("expected {c}, got {v}"));
    }
    check_number(schema, v, path)?;
    check_string(schema, v, path)?;
    check_array(schema, v, path)?;
    check_object(schema, v, path)?;
    if let Some(Value::Array(all)) = schema.get("allOf") {
        for s in all {
            check(s, v, path)?;
        }
    }
    if let Some(Value::Array(any)) = schema.get("anyOf")
        && !any.iter().any(|s| check(s, v, path).is_ok())
    {
        return fail(path, "matches none of `anyOf`");
    }
    if let Some(Value::Array(one)) = schema.get("oneOf") {
        let n = one.iter().filter(|s| check(s, v, path).is_ok()).count();
        if n != 1 {
            return fail(path, format!("matches {n} of `oneOf`, expected exactly 1"));
        }
    }
    if let Some(not) = schema.get("not")
        && check(not, v, path).is_ok()
    {
        return fail(path, "matches `not`");
    }
    Ok(())
}

fn check_number(schema: &serde_json::Map<String, Value>, v: &Value, path: &str) -> Result<(), String> {
    let Some(x) = v.as_f64() else { return Ok(()) };
    let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
    if let Some(m) = bound("minimum").filter(|m| x < *m) {
        return fail(path, format!("{x} < minimum {m}"));
    }
    if let Some(m) = bound("maximum").filter(|m| x > *m) {
        return fail(path, format!("{x} > maximum {m}"));
    }
    if let Some(m) = bound("exclusiveMinimum").filter(|m| x <= *m) {
        return fail(path, format!("{x} <= exclusiveMinimum {m}"));
    }
    if let Some(m) = bound("exclusiveMaximum").filter(|m| x >= *m) {
        return fail(path, format!("{x} >= exclusiveMaximum {m}"));
    }
    Ok(())
}

fn check_string(schema: &serde_json::Map<String, Value>, v: &Value, path: &str) -> Result<(), String> {
    let Value::String(s) = v else { return Ok(()) };
    let len = s.chars().count() as u64;
    if let Some(m) = schema.get("minLength").and_then(Value::as_u64).filter(|m| len < *m) {
        return fail(path, format!("length {len} < minLength {m}"));
    }
    if let Some(m) = schema.get("maxLength").and_then(Value::as_u64).filter(|m| len > *m) {
        return fail(path, format!("length {len} > maxLength {m}"));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        let re = Regex::new(pattern).map_err(|err| format!("{path}: invalid pattern {pattern:?}: {err}"))?;
        if !re.is_match(s) {
            return fail(path, format!("does not match pattern {pattern:?}"));
        }
    }
    Ok(())
}

fn check_array(schema: &serde_json::Map<String, Value>, v: &Value, path: &str) -> Result<(), String> {
    let Value::Array(items) = v else { return Ok(()) };
    let n = items.len() as u64;
    if let Some(m) = schema.get("minItems").and_then(Value::as_u64).filter(|m| n < *m) {
        return fail(path, format!("{n} items < minItems {m}"));
    }
    if let Some(m) = schema.get("maxItems").and_then(Value::as_u64).filter(|m| n > *m) {
        return fail(path, format!("{n} items > maxItems {m}"));
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{path}/{i}"))?;
        }
    }
    Ok(())
}

fn check_object(schema: &serde_json::Map<String, Value>, v: &Value, path: &str) -> Result<(), String> {
    let Value::Object(fields) = v else { return Ok(()) };
    if let Some(Value::Array(required)) = schema.get("required") {
        for key in required.iter().filter_map(Value::as_str) {
            if !fields.contains_key(key) {
                return fail(path, format!("missing required property `{key}`"));
            }
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    for (key, value) in fields {
        let child = format!("{path}/{key}");
        match properties.and_then(|p| p.get(key)) {
            Some(s) => check(s, value, &child)?,
            None => match schema.get("additionalProperties") {
                Some(Value::Bool(false)) => return fail(path, format!("property `{key}` is not allowed")),
                Some(s @ Value::Object(_)) => check(s, value, &child)?,
                _ => {}
            },
        }
    }
    Ok(())
}

/// JSON equality with numbers compared by value (`1` equals `1.0`, as the specification requires).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn validates_the_supported_keywords() {
        let schema = json!({
            "type": "object",
            "required": ["name", "tags"],
            "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "minLength": 2, "pattern": "^[a-z]+$"},
                "age": {"type": "integer", "minimum": 0, "exclusiveMaximum": 150},
                "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
                "kind": {"anyOf": [{"const": 1}, {"type": "null"}]}
            }
        });
        assert_eq!(validate(&schema, &json!({"name": "bo", "tags": ["a"], "age": 3.0, "kind": 1.0})), Ok(()));
        for (bad, why) in [
            (json!({"tags": []}), "missing required property `name`"),
            (json!({"name": "Bo", "tags": []}), "/name: does not match pattern"),
            (json!({"name": "bo", "tags": ["c"]}), "/tags/0: \"c\" is not one of"),
            (json!({"name": "bo", "tags": [], "age": 150}), "/age: 150 >= exclusiveMaximum"),
            (json!({"name": "bo", "tags": [], "age": 1.5}), "/age: expected type \"integer\""),
            (json!({"name": "bo", "tags": [], "x": 1}), "property `x` is not allowed"),
            (json!({"name": "bo", "tags": [], "kind": 2}), "/kind: matches none of `anyOf`"),
            (json!([1]), "/: expected type \"object\", got array"),
        ] {
            let err = validate(&schema, &bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn refs_are_refused_not_ignored() {
        assert!(validate(&json!({"$ref": "#/x"}), &json!(1)).is_err());
        assert!(validate(&json!(false), &json!(1)).is_err());
        assert!(validate(&json!(true), &json!(1)).is_ok());
    }
}
