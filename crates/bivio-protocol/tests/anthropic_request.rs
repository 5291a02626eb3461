//! Anthropic Messages requests: parsing client bodies into the IR, and encoding the IR for Claude.

// Test-only crate: lets clippy's allow-unwrap-in-tests cover the helpers too.
#![cfg(test)]

mod common;

use bivio_protocol::ir::{
    Block, ChatRequest, ImageSource, ResponseFormat, Role, SystemText, Tool, ToolChoice, ToolResultContent,
};
use bivio_protocol::{ApiError, ErrorKind, anthropic};
use common::*;
use serde_json::{Value, json};

fn parse(body: Value) -> ChatRequest {
    anthropic::parse_request(body.to_string().as_bytes()).unwrap()
}

fn parse_err(body: &str) -> ApiError {
    let err = anthropic::parse_request(body.as_bytes()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest, "{err:?}");
    assert_eq!(err.kind.status(), 400);
    err
}

fn encode(request: &ChatRequest) -> Value {
    anthropic::encode_request(request, "claude-upstream").unwrap()
}

fn minimal(extra: Value) -> Value {
    let mut body = json!({
        "model": "claude-x",
        "max_tokens": 100,
        "messages": [{ "role": "user", "content": "hi" }],
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

#[test]
fn parses_a_minimal_request() {
    let request = parse(minimal(json!({})));
    assert_eq!(request.model, "claude-x");
    assert_eq!(request.max_tokens, Some(100));
    assert_eq!(request.messages, vec![user(vec![text("hi")])]);
    assert!(request.system.is_empty());
    assert!(!request.stream);
    assert_eq!(request.temperature, None);
    assert_eq!(request.tool_choice, None);
    assert_eq!(request.parallel_tool_calls, None);
    assert_eq!(request.n, None);
}

#[test]
fn parses_system_as_string_or_blocks() {
    let request = parse(minimal(json!({ "system": "be brief" })));
    assert_eq!(request.system, vec![SystemText { text: "be brief".into(), cache_control: None }]);

    let request = parse(minimal(json!({ "system": "" })));
    assert!(request.system.is_empty(), "an empty system string is no system prompt");

    let request = parse(minimal(json!({ "system": [
        { "type": "text", "text": "one" },
        { "type": "text", "text": "two", "cache_control": { "type": "ephemeral" } },
    ] })));
    assert_eq!(
        request.system,
        vec![
            SystemText { text: "one".into(), cache_control: None },
            SystemText { text: "two".into(), cache_control: Some(json!({ "type": "ephemeral" })) },
        ]
    );
}

#[test]
fn merges_consecutive_turns_of_the_same_role() {
    let request = parse(minimal(json!({ "messages": [
        { "role": "user", "content": "a" },
        { "role": "user", "content": [{ "type": "text", "text": "b" }] },
        { "role": "assistant", "content": "c" },
        { "role": "assistant", "content": "d" },
    ] })));
    assert_eq!(request.messages, vec![user(vec![text("a"), text("b")]), assistant(vec![text("c"), text("d")])]);
}

#[test]
fn parses_every_block_kind() {
    let request = parse(minimal(json!({ "messages": [
        { "role": "user", "content": [
            { "type": "text", "text": "look", "cache_control": { "type": "ephemeral" } },
            { "type": "image", "source": { "type": "base64", "media_type": "image/png", "data": "iVBOR" } },
            { "type": "image", "source": { "type": "url", "url": "https://example.com/a.png" } },
            { "type": "document", "source": { "type": "text", "media_type": "text/plain", "data": "doc" },
              "title": "T" },
        ] },
        { "role": "assistant", "content": [
            { "type": "thinking", "thinking": "hmm", "signature": "c2ln" },
            { "type": "redacted_thinking", "data": "opaque" },
            { "type": "tool_use", "id": "toolu_1", "name": "get", "input": { "q": 1 } },
        ] },
        { "role": "user", "content": [
            { "type": "tool_result", "tool_use_id": "toolu_1", "content": "ok" },
            { "type": "tool_result", "tool_use_id": "toolu_2", "is_error": true,
              "content": [{ "type": "text", "text": "bad" }] },
            { "type": "tool_result", "tool_use_id": "toolu_3" },
        ] },
    ] })));
    let [first, second, third] = &request.messages[..] else { panic!("{:?}", request.messages) };
    assert_eq!(first.content[0], Block::Text { text: "look".into(), cache_control: Some(json!({"type":"ephemeral"})) });
    assert_eq!(first.content[1], image_b64("image/png", "iVBOR"));
    assert_eq!(first.content[2], image_url("https://example.com/a.png"));
    let Block::Document { source, rest } = &first.content[3] else { panic!("{:?}", first.content[3]) };
    assert_eq!(source["data"], "doc");
    assert_eq!(rest["title"], "T");
    assert_eq!(
        second.content,
        vec![
            Block::Thinking { thinking: "hmm".into(), signature: Some("c2ln".into()) },
            Block::RedactedThinking { data: "opaque".into() },
            tool_use("toolu_1", "get", json!({ "q": 1 })),
        ]
    );
    assert_eq!(third.content[0], tool_result("toolu_1", "ok"));
    assert_eq!(
        third.content[1],
        Block::ToolResult {
            tool_use_id: "toolu_2".into(),
            content: ToolResultContent::Blocks(vec![text("bad")]),
            is_error: true,
            cache_control: None,
        }
    );
    assert_eq!(third.content[2], tool_result("toolu_3", ""), "absent content is an empty result");
}

#[test]
fn parses_parameters() {
    let request = parse(minimal(json!({
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["END", "STOP"],
        "metadata": { "user_id": "u-1" },
        "stream": true,
        "thinking": { "type": "enabled", "budget_tokens": 2048 },
    })));
    assert_eq!(request.temperature, Some(0.5));
    assert_eq!(request.top_p, Some(0.9));
    assert_eq!(request.top_k, Some(40));
    assert_eq!(request.stop_sequences, vec!["END", "STOP"]);
    assert_eq!(request.user.as_deref(), Some("u-1"));
    assert!(request.stream);
    assert_eq!(request.thinking, Some(json!({ "type": "enabled", "budget_tokens": 2048 })));
}

#[test]
fn parses_tools_and_tool_choice() {
    let tools = json!([
        { "name": "get", "description": "Get it", "input_schema": { "type": "object" } },
        { "name": "bare", "input_schema": { "type": "object", "properties": {} } },
    ]);
    let request = parse(minimal(json!({ "tools": tools })));
    assert_eq!(
        request.tools,
        vec![
            Tool {
                name: "get".into(),
                description: Some("Get it".into()),
                input_schema: json!({ "type": "object" }),
                strict: None
            },
            Tool {
                name: "bare".into(),
                description: None,
                input_schema: json!({ "type": "object", "properties": {} }),
                strict: None
            },
        ]
    );

    let cases = [
        (json!({ "type": "auto" }), ToolChoice::Auto, None),
        (json!({ "type": "any" }), ToolChoice::Any, None),
        (json!({ "type": "none" }), ToolChoice::None, None),
        (json!({ "type": "tool", "name": "get" }), ToolChoice::Tool("get".into()), None),
        (json!({ "type": "auto", "disable_parallel_tool_use": true }), ToolChoice::Auto, Some(false)),
        (json!({ "type": "any", "disable_parallel_tool_use": true }), ToolChoice::Any, Some(false)),
        (
            json!({ "type": "tool", "name": "get", "disable_parallel_tool_use": true }),
            ToolChoice::Tool("get".into()),
            Some(false),
        ),
        (json!({ "type": "auto", "disable_parallel_tool_use": false }), ToolChoice::Auto, None),
    ];
    for (wire, choice, parallel) in cases {
        let request = parse(minimal(json!({ "tools": tools, "tool_choice": wire })));
        assert_eq!(request.tool_choice, Some(choice), "{wire}");
        assert_eq!(request.parallel_tool_calls, parallel, "{wire}");
    }
}

#[test]
fn refuses_server_tools_without_input_schema() {
    let body = minimal(json!({ "tools": [{ "type": "web_search_20250305", "name": "web_search" }] }));
    let err = parse_err(&body.to_string());
    assert!(err.message.contains("web_search"), "{}", err.message);
    assert!(err.message.starts_with("tools:"), "{}", err.message);
}

#[test]
fn invalid_bodies_are_400s_naming_the_problem() {
    let err = parse_err("{not json");
    assert!(err.message.contains("not valid JSON"), "{}", err.message);

    let err = parse_err("");
    assert!(err.message.contains("not valid JSON"), "{}", err.message);

    let err = parse_err(r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#);
    assert!(err.message.contains("max_tokens"), "{}", err.message);

    let err = parse_err(r#"{"model":"m","max_tokens":10}"#);
    assert!(err.message.contains("messages"), "{}", err.message);

    let err = parse_err(r#"{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#);
    assert!(err.message.contains("model"), "{}", err.message);

    let err = parse_err(r#"{"model":"m","max_tokens":10,"messages":[]}"#);
    assert!(err.message.starts_with("messages:"), "{}", err.message);

    let err = parse_err(r#"{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}"#);
    assert!(err.message.starts_with("max_tokens:"), "{}", err.message);

    let err = parse_err(&minimal(json!({ "temperature": 1.5 })).to_string());
    assert!(err.message.starts_with("temperature:"), "{}", err.message);
    let err = parse_err(&minimal(json!({ "temperature": -0.1 })).to_string());
    assert!(err.message.starts_with("temperature:"), "{}", err.message);
}

#[test]
fn wrong_types_are_400s() {
    // Each error names the field at fault (or the body, when the whole body is of the wrong shape).
    let cases = [
        (minimal(json!({ "max_tokens": "100" })), "max_tokens: invalid type"),
        (minimal(json!({ "max_tokens": -1 })), "max_tokens: invalid value"),
        (minimal(json!({ "messages": "hi" })), "messages: invalid type"),
        (minimal(json!({ "messages": [{ "role": "system", "content": "hi" }] })), "messages[0].role: unknown variant"),
        (minimal(json!({ "messages": [{ "role": "user", "content": 5 }] })), "messages[0].content:"),
        (minimal(json!({ "messages": [{ "role": "user" }] })), "messages[0]: missing field `content`"),
        (minimal(json!({ "stop_sequences": "END" })), "stop_sequences: invalid type"),
        (minimal(json!({ "tool_choice": { "type": "sometimes" } })), "tool_choice"),
        (minimal(json!({ "temperature": "hot" })), "temperature: invalid type"),
        (minimal(json!({ "system": 7 })), "system:"),
        (json!([1, 2, 3]), "does not match the API schema"),
    ];
    for (body, expected) in cases {
        let err = parse_err(&body.to_string());
        assert!(err.message.contains(expected), "{body}: {} (expected {expected})", err.message);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding for Claude

#[test]
fn encodes_model_and_default_max_tokens() {
    let body = encode(&request(vec![user(vec![text("hi")])]));
    assert_eq!(body["model"], "claude-upstream");
    assert_eq!(body["max_tokens"], anthropic::DEFAULT_MAX_TOKENS);
    assert_eq!(anthropic::DEFAULT_MAX_TOKENS, 4096);
    assert_eq!(body["messages"], json!([{ "role": "user", "content": [{ "type": "text", "text": "hi" }] }]));
    for absent in ["system", "temperature", "top_p", "top_k", "stop_sequences", "tools", "tool_choice", "stream"] {
        assert!(body.get(absent).is_none(), "{absent} should be absent: {body}");
    }

    let mut with_max = request(vec![user(vec![text("hi")])]);
    with_max.max_tokens = Some(77);
    assert_eq!(encode(&with_max)["max_tokens"], 77);
}

#[test]
fn encodes_system_as_typed_text_blocks() {
    let mut r = request(vec![user(vec![text("hi")])]);
    r.system = vec![
        SystemText { text: "one".into(), cache_control: None },
        SystemText { text: "two".into(), cache_control: Some(json!({ "type": "ephemeral" })) },
    ];
    let body = encode(&r);
    assert_eq!(
        body["system"],
        json!([
            { "type": "text", "text": "one" },
            { "type": "text", "text": "two", "cache_control": { "type": "ephemeral" } },
        ])
    );
}

#[test]
fn drops_empty_system_parts() {
    let mut r = request(vec![user(vec![text("hi")])]);
    r.system = vec![
        SystemText { text: "".into(), cache_control: None },
        SystemText { text: " \n".into(), cache_control: None },
        SystemText { text: "real".into(), cache_control: None },
    ];
    assert_eq!(encode(&r)["system"], json!([{ "type": "text", "text": "real" }]));
    r.system.truncate(2);
    assert!(encode(&r).get("system").is_none());
}

#[test]
fn a_system_only_request_still_has_a_user_turn() {
    let mut r = request(vec![]);
    r.system = vec![
        SystemText { text: "You are terse.".into(), cache_control: None },
        SystemText { text: "Say hi.".into(), cache_control: None },
    ];
    let body = encode(&r);
    assert!(body.get("system").is_none(), "{body}");
    assert_eq!(
        body["messages"],
        json!([{ "role": "user", "content": [{ "type": "text", "text": "You are terse.\n\nSay hi." }] }])
    );

    // Messages that vanish (only empty text) count as none.
    let mut r = request(vec![user(vec![text("  ")])]);
    r.system = vec![SystemText { text: "Say hi.".into(), cache_control: None }];
    let body = encode(&r);
    assert_eq!(body["messages"], json!([{ "role": "user", "content": [{ "type": "text", "text": "Say hi." }] }]));

    // Nothing at all: still a valid (non-empty) user turn rather than an empty text block Claude rejects.
    let body = encode(&request(vec![user(vec![text("")])]));
    let text = body["messages"][0]["content"][0]["text"].as_str().unwrap();
    assert_eq!(body["messages"][0]["role"], "user");
    assert!(!text.trim().is_empty(), "{body}");
}

#[test]
fn drops_empty_and_whitespace_text_blocks_and_merges_what_remains() {
    let r = request(vec![
        user(vec![text("hello"), text(""), text(" \n\t ")]),
        assistant(vec![text("   ")]),
        user(vec![text("again")]),
        assistant(vec![text("answer"), text("")]),
        user(vec![text("more")]),
    ]);
    let body = encode(&r);
    assert_eq!(
        body["messages"],
        json!([
            { "role": "user", "content": [{ "type": "text", "text": "hello" }, { "type": "text", "text": "again" }] },
            { "role": "assistant", "content": [{ "type": "text", "text": "answer" }] },
            { "role": "user", "content": [{ "type": "text", "text": "more" }] },
        ])
    );
}

#[test]
fn trims_trailing_whitespace_of_a_final_assistant_turn_only() {
    let r = request(vec![
        user(vec![text("q1")]),
        assistant(vec![text("a1 \n")]),
        user(vec![text("q2 ")]),
        assistant(vec![text("  Sure, here \n")]),
    ]);
    let body = encode(&r);
    assert_eq!(body["messages"][1]["content"][0]["text"], "a1 \n", "only the final turn is a prefill");
    assert_eq!(body["messages"][2]["content"][0]["text"], "q2 ", "user turns are left alone");
    assert_eq!(body["messages"][3]["content"][0]["text"], "  Sure, here", "leading whitespace is fine");
}

#[test]
fn sanitises_tool_ids_identically_and_objects_inputs() {
    let r = request(vec![
        user(vec![text("weather?")]),
        assistant(vec![
            tool_use("functions.get_weather:0", "get_weather", json!({ "city": "Paris" })),
            tool_use("call 2/é", "get_time", json!("not an object")),
            tool_use("", "noop", Value::Null),
        ]),
        user(vec![
            tool_result("functions.get_weather:0", "sunny"),
            tool_result("call 2/é", "noon"),
            tool_result("", ""),
        ]),
    ]);
    let body = encode(&r);
    let uses = &body["messages"][1]["content"];
    let results = &body["messages"][2]["content"];
    assert_eq!(uses[0]["id"], "functions_get_weather_0");
    assert_eq!(results[0]["tool_use_id"], "functions_get_weather_0");
    assert_eq!(uses[1]["id"], results[1]["tool_use_id"]);
    assert_eq!(uses[2]["id"], results[2]["tool_use_id"]);
    for i in 0..3 {
        let id = uses[i]["id"].as_str().unwrap();
        assert!(!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "{id}");
    }
    assert_eq!(uses[0]["input"], json!({ "city": "Paris" }));
    assert_eq!(uses[1]["input"], json!({}), "Claude requires an object input");
    assert_eq!(uses[2]["input"], json!({}));
}

#[test]
fn places_tool_results_first_in_a_user_turn() {
    let r = request(vec![
        user(vec![text("go")]),
        assistant(vec![tool_use("a", "f", json!({})), tool_use("b", "f", json!({}))]),
        user(vec![text("here you are"), tool_result("a", "1"), image_url("https://x/y.png"), tool_result("b", "2")]),
    ]);
    let body = encode(&r);
    let kinds: Vec<&str> =
        body["messages"][2]["content"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["tool_result", "tool_result", "text", "image"]);
    assert_eq!(body["messages"][2]["content"][0]["tool_use_id"], "a");
    assert_eq!(body["messages"][2]["content"][1]["tool_use_id"], "b");
}

#[test]
fn thinking_unsigned_is_dropped_and_signed_is_kept_exactly() {
    let signature = "EqQBCkgIARABGAIiQL+/weird==\\u0000";
    let r = request(vec![
        user(vec![text("q")]),
        assistant(vec![
            Block::Thinking { thinking: "open model musing".into(), signature: None },
            Block::Thinking { thinking: "streamed from an open model".into(), signature: Some(String::new()) },
            Block::Thinking { thinking: "Claude's\nthoughts ✓".into(), signature: Some(signature.into()) },
            Block::RedactedThinking { data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT".into() },
            text("answer"),
        ]),
        user(vec![text("next")]),
    ]);
    let body = encode(&r);
    assert_eq!(
        body["messages"][1]["content"],
        json!([
            { "type": "thinking", "thinking": "Claude's\nthoughts ✓", "signature": signature },
            { "type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT" },
            { "type": "text", "text": "answer" },
        ])
    );
}

#[test]
fn signed_thinking_from_a_client_body_survives_byte_for_byte() {
    // The thinking text and signature strings reach Claude unchanged through parse → encode.
    let body = minimal(json!({ "messages": [
        { "role": "user", "content": "q" },
        { "role": "assistant", "content": [
            { "type": "thinking", "thinking": "a\u{2028}b \"quoted\" \\ tab\t", "signature": "Sig+/=\n==" },
            { "type": "tool_use", "id": "toolu_01", "name": "f", "input": { "z": 1, "a": [1.5, "x"] } },
        ] },
        { "role": "user", "content": [{ "type": "tool_result", "tool_use_id": "toolu_01", "content": "ok" }] },
    ] }));
    let encoded = encode(&parse(body.clone()));
    assert_eq!(encoded["messages"], string_contents_as_blocks(&body["messages"]));
}

/// String contents become one text block, as the IR stores them.
fn string_contents_as_blocks(messages: &Value) -> Value {
    let mut messages = messages.clone();
    for message in messages.as_array_mut().unwrap() {
        if let Some(s) = message["content"].as_str() {
            message["content"] = json!([{ "type": "text", "text": s }]);
        }
    }
    messages
}

#[test]
fn n_other_than_one_is_a_400() {
    let mut r = request(vec![user(vec![text("hi")])]);
    r.n = Some(1);
    assert!(anthropic::encode_request(&r, "m").is_ok());
    for n in [0, 2, 5] {
        r.n = Some(n);
        let err = anthropic::encode_request(&r, "m").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidRequest);
        assert_eq!(err.kind.status(), 400);
        assert!(err.message.starts_with("n:"), "{}", err.message);
    }
}

#[test]
fn clamps_temperature_and_passes_sampling_parameters() {
    for (given, sent) in [(1.7, 1.0), (2.0, 1.0), (-0.5, 0.0), (0.3, 0.3), (1.0, 1.0), (0.0, 0.0)] {
        let mut r = request(vec![user(vec![text("hi")])]);
        r.temperature = Some(given);
        assert_eq!(encode(&r)["temperature"], json!(sent), "{given}");
    }
    let mut r = request(vec![user(vec![text("hi")])]);
    r.top_p = Some(0.9);
    r.top_k = Some(12);
    r.stop_sequences = vec!["\n\nHuman:".into(), "END".into()];
    r.user = Some("u-9".into());
    r.thinking = Some(json!({ "type": "adaptive" }));
    r.stream = true;
    r.seed = Some(4);
    r.reasoning_effort = Some("high".into());
    let body = encode(&r);
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["top_k"], 12);
    assert_eq!(body["stop_sequences"], json!(["\n\nHuman:", "END"]));
    assert_eq!(body["metadata"], json!({ "user_id": "u-9" }));
    assert_eq!(body["thinking"], json!({ "type": "adaptive" }));
    assert_eq!(body["stream"], true);
    assert!(body.get("seed").is_none() && body.get("reasoning_effort").is_none(), "{body}");
}

#[test]
fn encodes_tools_and_tool_choice() {
    let tool = Tool {
        name: "get".into(),
        description: Some("Get".into()),
        input_schema: json!({ "type": "object", "properties": { "q": { "type": "string" } } }),
        strict: Some(true),
    };
    let mut r = request(vec![user(vec![text("hi")])]);
    r.tools = vec![tool, Tool { name: "bare".into(), description: None, input_schema: json!({}), strict: None }];
    let body = encode(&r);
    assert_eq!(
        body["tools"],
        json!([
            { "name": "get", "description": "Get",
              "input_schema": { "type": "object", "properties": { "q": { "type": "string" } } } },
            { "name": "bare", "input_schema": {} },
        ])
    );
    assert!(body.get("tool_choice").is_none());

    let cases = [
        (Some(ToolChoice::Auto), None, Some(json!({ "type": "auto" }))),
        (Some(ToolChoice::Any), None, Some(json!({ "type": "any" }))),
        (Some(ToolChoice::None), None, Some(json!({ "type": "none" }))),
        (Some(ToolChoice::Tool("get".into())), None, Some(json!({ "type": "tool", "name": "get" }))),
        (Some(ToolChoice::Auto), Some(true), Some(json!({ "type": "auto" }))),
        (Some(ToolChoice::Auto), Some(false), Some(json!({ "type": "auto", "disable_parallel_tool_use": true }))),
        (Some(ToolChoice::Any), Some(false), Some(json!({ "type": "any", "disable_parallel_tool_use": true }))),
        (
            Some(ToolChoice::Tool("get".into())),
            Some(false),
            Some(json!({ "type": "tool", "name": "get", "disable_parallel_tool_use": true })),
        ),
        (None, Some(false), Some(json!({ "type": "auto", "disable_parallel_tool_use": true }))),
        (None, Some(true), None),
        // `none` takes no parallel flag.
        (Some(ToolChoice::None), Some(false), Some(json!({ "type": "none" }))),
    ];
    for (choice, parallel, expected) in cases {
        r.tool_choice = choice.clone();
        r.parallel_tool_calls = parallel;
        assert_eq!(encode(&r).get("tool_choice").cloned(), expected, "{choice:?} {parallel:?}");
    }

    // Without tools, parallel_tool_calls alone sends no tool_choice.
    let mut r = request(vec![user(vec![text("hi")])]);
    r.parallel_tool_calls = Some(false);
    assert!(encode(&r).get("tool_choice").is_none());
}

#[test]
fn response_format_becomes_a_system_instruction() {
    let mut r = request(vec![user(vec![text("hi")])]);
    r.system = vec![SystemText { text: "base".into(), cache_control: None }];
    r.response_format = Some(ResponseFormat::Text);
    assert_eq!(encode(&r)["system"].as_array().unwrap().len(), 1);

    r.response_format = Some(ResponseFormat::JsonObject);
    let body = encode(&r);
    assert_eq!(body["system"][0]["text"], "base");
    assert!(body["system"][1]["text"].as_str().unwrap().contains("JSON object"), "{body}");

    r.response_format = Some(ResponseFormat::JsonSchema {
        name: "answer".into(),
        schema: json!({ "type": "object", "required": ["x"] }),
        strict: Some(true),
    });
    let body = encode(&r);
    let instruction = body["system"][1]["text"].as_str().unwrap();
    assert!(instruction.contains(r#""required":["x"]"#), "{instruction}");
    assert!(body.get("response_format").is_none());
}

#[test]
fn passes_images_documents_and_cache_control() {
    let document = Block::Document {
        source: json!({ "type": "base64", "media_type": "application/pdf", "data": "JVBER" }),
        rest: serde_json::from_value(json!({ "title": "paper", "citations": { "enabled": true } })).unwrap(),
    };
    let r = request(vec![user(vec![
        Block::Text { text: "see".into(), cache_control: Some(json!({ "type": "ephemeral" })) },
        image_b64("image/jpeg", "/9j/4AAQ"),
        image_url("https://example.com/cat.png"),
        document,
    ])]);
    let body = encode(&r);
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            { "type": "text", "text": "see", "cache_control": { "type": "ephemeral" } },
            { "type": "image", "source": { "type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ" } },
            { "type": "image", "source": { "type": "url", "url": "https://example.com/cat.png" } },
            { "type": "document", "source": { "type": "base64", "media_type": "application/pdf", "data": "JVBER" },
              "title": "paper", "citations": { "enabled": true } },
        ])
    );
}

#[test]
fn a_claude_code_style_body_survives_parse_and_encode() {
    let body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "system": [
            { "type": "text", "text": "You are Claude Code.", "cache_control": { "type": "ephemeral" } },
        ],
        "messages": [
            { "role": "user", "content": [{ "type": "text", "text": "list files" }] },
            { "role": "assistant", "content": [
                { "type": "text", "text": "Running ls." },
                { "type": "tool_use", "id": "toolu_01ABC", "name": "Bash", "input": { "command": "ls" } },
            ] },
            { "role": "user", "content": [
                { "type": "tool_result", "tool_use_id": "toolu_01ABC", "content": "a\nb",
                  "cache_control": { "type": "ephemeral" } },
            ] },
        ],
        "tools": [{ "name": "Bash", "description": "Run", "input_schema": { "type": "object" } }],
        "tool_choice": { "type": "auto", "disable_parallel_tool_use": true },
        "temperature": 1,
        "metadata": { "user_id": "user_abc" },
        "stream": true,
    });
    let mut encoded = encode(&parse(body.clone()));
    encoded["model"] = json!("claude-sonnet-4-5");
    encoded["temperature"] = json!(1);
    assert_eq!(encoded, body);
}

#[test]
fn roles_in_the_ir_are_user_and_assistant_only() {
    let request = parse(minimal(json!({ "messages": [
        { "role": "user", "content": "a" }, { "role": "assistant", "content": "b" },
    ] })));
    let roles: Vec<Role> = request.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant]);
    let source = ImageSource::Url { url: "u".into() };
    assert_eq!(serde_json::to_value(&source).unwrap(), json!({ "type": "url", "url": "u" }));
}

/// Server tools (web search, code execution) put block types in the history that bivio does not model; they
/// must reach Claude exactly as sent, and reach other backends as text.
#[test]
fn unmodelled_block_types_are_kept_verbatim() {
    let server_call = json!({
        "type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": { "query": "rome weather" }
    });
    let results = json!({
        "type": "web_search_tool_result", "tool_use_id": "srvtoolu_1",
        "content": [{ "type": "web_search_result", "url": "https://example.com", "title": "Rome",
                      "encrypted_content": "EqgfCio…", "page_age": null }]
    });
    let body = json!({
        "model": "m", "max_tokens": 10,
        "messages": [
            { "role": "user", "content": "weather in rome?" },
            { "role": "assistant", "content": [server_call, results, { "type": "text", "text": "Sunny." }] },
            { "role": "user", "content": "thanks" },
        ],
    });
    let request = parse(body);
    assert_eq!(request.messages[1].content[0], Block::Other(server_call.clone()));
    assert_eq!(request.messages[1].content[1], Block::Other(results.clone()));
    let encoded = encode(&request);
    assert_eq!(encoded["messages"][1]["content"][0], server_call);
    assert_eq!(encoded["messages"][1]["content"][1], results);

    let openai = bivio_protocol::openai::encode_request(&request, "local").unwrap();
    let assistant = openai["messages"][1]["content"].as_str().unwrap();
    assert!(assistant.starts_with("[server_tool_use: {"), "{assistant}");
    assert!(assistant.contains("rome weather") && assistant.ends_with("Sunny."), "{assistant}");
}

#[test]
fn modelled_block_types_must_still_be_well_formed() {
    // A `text` block without text is an error, not an "unmodelled" block passed along; the error names the
    // block and the field.
    for (content, expected) in [
        (r#"[{"type":"text","text":"ok"},{"type":"text"}]"#, "messages[0].content[1]: missing field `text`"),
        (r#"[{"type":"text","text":5}]"#, "messages[0].content[0]: invalid type: integer `5`, expected a string"),
        (r#"[{"text":"no type"}]"#, "messages[0].content[0]: a content block must be an object with a string `type`"),
        (r#"5"#, "messages[0].content: invalid type: integer `5`, expected a string or an array of content blocks"),
    ] {
        let body = format!(r#"{{"model":"m","max_tokens":5,"messages":[{{"role":"user","content":{content}}}]}}"#);
        let err = parse_err(&body);
        assert!(err.message.starts_with(expected), "{content}: {}", err.message);
    }
    let block: Result<Block, _> = serde_json::from_value(json!({"type": "tool_use", "id": "t", "name": "n"}));
    assert!(block.unwrap_err().to_string().contains("missing field `input`"));
}
