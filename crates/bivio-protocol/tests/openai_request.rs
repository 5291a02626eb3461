//! OpenAI Chat Completions requests: parsing client bodies into the IR, and encoding the IR for
//! OpenAI-compatible backends.

// Test-only crate: lets clippy's allow-unwrap-in-tests cover the helpers too.
#![cfg(test)]

mod common;

use bivio_protocol::ir::{
    Block, ChatRequest, ImageSource, ResponseFormat, SystemText, Tool, ToolChoice, ToolResultContent,
};
use bivio_protocol::{ApiError, ErrorKind, openai};
use common::*;
use serde_json::{Value, json};

fn parse(body: Value) -> ChatRequest {
    openai::parse_request(body.to_string().as_bytes()).unwrap()
}

fn parse_err(body: &str) -> ApiError {
    let err = openai::parse_request(body.as_bytes()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest, "{err:?}");
    err
}

fn encode(request: &ChatRequest) -> Value {
    openai::encode_request(request, "local-model").unwrap()
}

fn with_messages(messages: Value) -> Value {
    json!({ "model": "gpt-x", "messages": messages })
}

fn minimal(extra: Value) -> Value {
    let mut body = with_messages(json!([{ "role": "user", "content": "hi" }]));
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn system(text: &str) -> SystemText {
    SystemText { text: text.into(), cache_control: None }
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

#[test]
fn parses_a_minimal_request() {
    let request = parse(minimal(json!({})));
    assert_eq!(request.model, "gpt-x");
    assert_eq!(request.messages, vec![user(vec![text("hi")])]);
    assert_eq!(request.max_tokens, None, "no default on the OpenAI side; encoders pick one");
    assert!(request.system.is_empty());
    assert!(!request.stream);
}

#[test]
fn collapses_system_and_developer_messages_into_system() {
    let request = parse(with_messages(json!([
        { "role": "system", "content": "one" },
        { "role": "user", "content": "hi" },
        { "role": "developer", "content": [{ "type": "text", "text": "two" }, { "type": "text", "text": "three" }] },
        { "role": "system", "content": "" },
        { "role": "assistant", "content": "hello" },
    ])));
    assert_eq!(request.system, vec![system("one"), system("two\nthree")]);
    assert_eq!(request.messages, vec![user(vec![text("hi")]), assistant(vec![text("hello")])]);
}

#[test]
fn only_system_messages_parse_to_no_turns() {
    let request = parse(with_messages(json!([{ "role": "system", "content": "be nice" }])));
    assert_eq!(request.system, vec![system("be nice")]);
    assert!(request.messages.is_empty());
}

#[test]
fn parses_user_content_parts_and_images() {
    let request = parse(with_messages(json!([{ "role": "user", "content": [
        { "type": "text", "text": "what is this?" },
        { "type": "image_url", "image_url": { "url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high" } },
        { "type": "image_url", "image_url": { "url": "https://example.com/cat.jpg" } },
        { "type": "image_url", "image_url": { "url": "http://example.com/dog.gif" } },
        { "type": "image_url", "image_url": { "url": "data:image/svg+xml,<svg/>" } },
    ] }])));
    assert_eq!(
        request.messages[0].content,
        vec![
            text("what is this?"),
            image_b64("image/png", "iVBORw0KGgo="),
            image_url("https://example.com/cat.jpg"),
            image_url("http://example.com/dog.gif"),
            // Not base64: nothing Anthropic's base64 source could carry; passed on as a URL.
            image_url("data:image/svg+xml,<svg/>"),
        ]
    );
}

#[test]
fn refusal_parts_are_text_and_audio_or_file_parts_are_refused() {
    let request = parse(with_messages(json!([
        { "role": "user", "content": "q" },
        { "role": "assistant", "content": [{ "type": "refusal", "refusal": "I can't." }] },
    ])));
    assert_eq!(request.messages[1].content, vec![text("I can't.")]);

    for part in [
        json!({ "type": "input_audio", "input_audio": { "data": "AAA", "format": "wav" } }),
        json!({ "type": "file", "file": { "file_id": "f" } }),
    ] {
        let err = parse_err(&with_messages(json!([{ "role": "user", "content": [part] }])).to_string());
        assert!(err.message.contains("messages[0]"), "{}", err.message);
    }
    let err = parse_err(
        &with_messages(json!([{ "role": "system", "content": [
            { "type": "image_url", "image_url": { "url": "https://x" } },
        ] }]))
        .to_string(),
    );
    assert!(err.message.contains("only text"), "{}", err.message);
}

#[test]
fn assistant_tool_calls_become_tool_use_blocks() {
    let request = parse(with_messages(json!([
        { "role": "user", "content": "weather?" },
        { "role": "assistant", "content": null, "tool_calls": [
            { "id": "call_1", "type": "function", "function": { "name": "get", "arguments": "{\"city\":\"Paris\"}" } },
            { "id": "call_2", "function": { "name": "noargs", "arguments": "" } },
            { "id": "call_3", "type": "function", "function": { "name": "obj", "arguments": { "already": "object" } } },
            { "id": "call_4", "type": "function", "function": { "name": "ws", "arguments": "  " } },
            { "id": "call_5", "type": "function", "function": { "name": "absent" } },
        ] },
    ])));
    assert_eq!(
        request.messages[1].content,
        vec![
            tool_use("call_1", "get", json!({ "city": "Paris" })),
            tool_use("call_2", "noargs", json!({})),
            tool_use("call_3", "obj", json!({ "already": "object" })),
            tool_use("call_4", "ws", json!({})),
            tool_use("call_5", "absent", json!({})),
        ],
        "content:null with tool calls yields no text block"
    );

    let request = parse(with_messages(json!([
        { "role": "user", "content": "q" },
        { "role": "assistant", "content": "", "tool_calls": [
            { "id": "c", "type": "function", "function": { "name": "f", "arguments": "{}" } },
        ] },
    ])));
    assert_eq!(request.messages[1].content, vec![tool_use("c", "f", json!({}))], "empty content is no text block");

    let request = parse(with_messages(json!([
        { "role": "user", "content": "q" },
        { "role": "assistant", "content": "Let me check.", "tool_calls": [
            { "id": "c", "type": "function", "function": { "name": "f", "arguments": "{\"a\":[1,2]}" } },
        ] },
    ])));
    assert_eq!(request.messages[1].content, vec![text("Let me check."), tool_use("c", "f", json!({ "a": [1, 2] }))]);
}

#[test]
fn malformed_tool_call_arguments_are_a_400() {
    let err = parse_err(
        &with_messages(json!([
            { "role": "user", "content": "q" },
            { "role": "assistant", "tool_calls": [
                { "id": "c", "type": "function", "function": { "name": "f", "arguments": "{\"a\":" } },
            ] },
        ]))
        .to_string(),
    );
    assert!(err.message.contains("messages[1].tool_calls"), "{}", err.message);
}

#[test]
fn a_client_tool_call_without_id_is_a_400() {
    let err = parse_err(
        &with_messages(json!([
            { "role": "user", "content": "q" },
            { "role": "assistant", "tool_calls": [
                { "id": "ok", "type": "function", "function": { "name": "f", "arguments": "{}" } },
                { "type": "function", "function": { "name": "f", "arguments": "{}" } },
            ] },
        ]))
        .to_string(),
    );
    assert!(err.message.starts_with("messages[1].tool_calls[1].id"), "{}", err.message);
}

#[test]
fn consecutive_tool_messages_become_one_user_turn_of_tool_results() {
    let request = parse(with_messages(json!([
        { "role": "user", "content": "go" },
        { "role": "assistant", "tool_calls": [
            { "id": "a", "type": "function", "function": { "name": "f", "arguments": "{}" } },
            { "id": "b", "type": "function", "function": { "name": "g", "arguments": "{}" } },
        ] },
        { "role": "tool", "tool_call_id": "a", "content": "result a" },
        { "role": "tool", "tool_call_id": "b", "content": [{ "type": "text", "text": "result" }, { "type": "text", "text": "b" }] },
        { "role": "user", "content": "thanks" },
    ])));
    assert_eq!(request.messages.len(), 3);
    assert_eq!(
        request.messages[2],
        user(vec![
            tool_result("a", "result a"),
            Block::ToolResult {
                tool_use_id: "b".into(),
                content: ToolResultContent::Text("result\nb".into()),
                is_error: false,
                cache_control: None,
            },
            text("thanks"),
        ])
    );
}

#[test]
fn parses_parameters() {
    let request = parse(minimal(json!({
        "max_tokens": 50,
        "temperature": 1.8,
        "top_p": 0.5,
        "top_k": 20,
        "stop": "END",
        "n": 2,
        "seed": -7,
        "user": "u-1",
        "reasoning_effort": "low",
        "stream": true,
        "stream_options": { "include_usage": true },
        "logprobs": false,
        "frequency_penalty": 0.1,
    })));
    assert_eq!(request.max_tokens, Some(50));
    assert_eq!(request.temperature, Some(1.8), "the IR keeps the client's value; encoders clamp");
    assert_eq!(request.top_p, Some(0.5));
    assert_eq!(request.top_k, Some(20));
    assert_eq!(request.stop_sequences, vec!["END"]);
    assert_eq!(request.n, Some(2));
    assert_eq!(request.seed, Some(-7));
    assert_eq!(request.user.as_deref(), Some("u-1"));
    assert_eq!(request.reasoning_effort.as_deref(), Some("low"));
    assert!(request.stream);

    let request = parse(minimal(json!({ "stop": ["a", "b"], "max_tokens": 10, "max_completion_tokens": 20 })));
    assert_eq!(request.stop_sequences, vec!["a", "b"]);
    assert_eq!(request.max_tokens, Some(20), "max_completion_tokens wins over the deprecated max_tokens");

    let request = parse(minimal(json!({ "stop": null, "max_completion_tokens": 30 })));
    assert!(request.stop_sequences.is_empty());
    assert_eq!(request.max_tokens, Some(30));
}

#[test]
fn parses_tools_tool_choice_and_parallel_tool_calls() {
    let request = parse(minimal(json!({
        "tools": [
            { "type": "function", "function": { "name": "get", "description": "Get", "parameters": { "type": "object" }, "strict": true } },
            { "type": "function", "function": { "name": "bare" } },
        ],
        "parallel_tool_calls": false,
    })));
    assert_eq!(
        request.tools,
        vec![
            Tool {
                name: "get".into(),
                description: Some("Get".into()),
                input_schema: json!({ "type": "object" }),
                strict: Some(true)
            },
            Tool {
                name: "bare".into(),
                description: None,
                input_schema: json!({ "type": "object", "properties": {} }),
                strict: None
            },
        ]
    );
    assert_eq!(request.parallel_tool_calls, Some(false));

    let cases = [
        (json!("auto"), ToolChoice::Auto),
        (json!("none"), ToolChoice::None),
        (json!("required"), ToolChoice::Any),
        (json!({ "type": "function", "function": { "name": "get" } }), ToolChoice::Tool("get".into())),
    ];
    for (wire, choice) in cases {
        assert_eq!(parse(minimal(json!({ "tool_choice": wire }))).tool_choice, Some(choice), "{wire}");
    }
    for wire in [json!("sometimes"), json!({ "type": "function" }), json!(3)] {
        let err = parse_err(&minimal(json!({ "tool_choice": wire })).to_string());
        assert!(err.message.starts_with("tool_choice:"), "{}", err.message);
    }
}

#[test]
fn parses_response_format() {
    let cases = [
        (json!({ "type": "text" }), ResponseFormat::Text),
        (json!({ "type": "json_object" }), ResponseFormat::JsonObject),
        (
            json!({ "type": "json_schema", "json_schema": { "name": "x", "schema": { "type": "object" }, "strict": true } }),
            ResponseFormat::JsonSchema { name: "x".into(), schema: json!({ "type": "object" }), strict: Some(true) },
        ),
    ];
    for (wire, format) in cases {
        assert_eq!(parse(minimal(json!({ "response_format": wire }))).response_format, Some(format), "{wire}");
    }
    let err = parse_err(&minimal(json!({ "response_format": { "type": "yaml" } })).to_string());
    assert!(err.message.starts_with("response_format:"), "{}", err.message);
}

#[test]
fn invalid_bodies_are_400s_naming_the_problem() {
    let err = parse_err("{\"model\": ");
    assert!(err.message.contains("not valid JSON"), "{}", err.message);

    let err = parse_err(r#"{"model":"m"}"#);
    assert!(err.message.contains("messages"), "{}", err.message);

    let err = parse_err(r#"{"messages":[{"role":"user","content":"hi"}]}"#);
    assert!(err.message.contains("model"), "{}", err.message);

    let err = parse_err(r#"{"model":"m","messages":[]}"#);
    assert!(err.message.starts_with("messages:"), "{}", err.message);

    for t in [2.5, -1.0] {
        let err = parse_err(&minimal(json!({ "temperature": t })).to_string());
        assert!(err.message.starts_with("temperature:"), "{}", err.message);
    }

    // Each error names the field at fault.
    for (body, expected) in [
        (minimal(json!({ "max_tokens": "many" })), "max_tokens: invalid type"),
        (minimal(json!({ "n": -1 })), "n: invalid value"),
        (minimal(json!({ "stop": 5 })), "stop:"),
        (with_messages(json!([{ "role": "function", "content": "x", "name": "f" }])), "messages[0]"),
        (with_messages(json!([{ "role": "user" }])), "messages[0]"),
        (with_messages(json!([{ "role": "tool", "content": "x" }])), "messages[0]"),
        (with_messages(json!([{ "content": "x" }])), "messages[0]"),
        (with_messages(json!({ "role": "user", "content": "x" })), "messages: invalid type"),
    ] {
        let err = parse_err(&body.to_string());
        assert!(err.message.contains(expected), "{body}: {} (expected {expected})", err.message);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding for OpenAI-compatible backends

#[test]
fn encodes_one_leading_system_message_never_developer() {
    let mut r = request(vec![user(vec![text("hi")]), assistant(vec![text("hello")]), user(vec![text("bye")])]);
    r.system = vec![system("one"), system("two")];
    let body = encode(&r);
    assert_eq!(body["model"], "local-model");
    assert_eq!(
        body["messages"],
        json!([
            { "role": "system", "content": "one\n\ntwo" },
            { "role": "user", "content": "hi" },
            { "role": "assistant", "content": "hello" },
            { "role": "user", "content": "bye" },
        ])
    );
    let roles: Vec<&str> = body["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles.iter().filter(|r| **r == "system").count(), 1);
    assert!(!roles.contains(&"developer"));
}

#[test]
fn a_system_only_request_still_has_a_user_message() {
    let mut r = request(vec![]);
    r.system = vec![system("Tell a joke.")];
    let body = encode(&r);
    assert_eq!(body["messages"], json!([{ "role": "user", "content": "Tell a joke." }]));

    let body = encode(&request(vec![]));
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["role"], "user");
    assert!(!messages[0]["content"].as_str().unwrap().is_empty());

    // A prefill-only conversation gets a user turn in front of it.
    let mut r = request(vec![assistant(vec![text("Once upon")])]);
    r.system = vec![system("Write a story.")];
    let body = encode(&r);
    assert_eq!(
        body["messages"],
        json!([{ "role": "user", "content": "Write a story." }, { "role": "assistant", "content": "Once upon" }])
    );
}

#[test]
fn tool_results_become_tool_messages_before_the_rest_of_the_user_turn() {
    let r = request(vec![
        user(vec![text("go")]),
        assistant(vec![
            text("Calling."),
            tool_use("toolu_a", "f", json!({ "x": 1 })),
            tool_use("toolu_b", "g", json!({})),
        ]),
        user(vec![
            text("also this"),
            tool_result("toolu_a", "A"),
            Block::ToolResult {
                tool_use_id: "toolu_b".into(),
                content: ToolResultContent::Blocks(vec![text("line1"), text("line2"), image_b64("image/png", "QUJD")]),
                is_error: true,
                cache_control: None,
            },
        ]),
    ]);
    let body = encode(&r);
    assert_eq!(
        body["messages"],
        json!([
            { "role": "user", "content": "go" },
            { "role": "assistant", "content": "Calling.", "tool_calls": [
                { "id": "toolu_a", "type": "function", "function": { "name": "f", "arguments": "{\"x\":1}" } },
                { "id": "toolu_b", "type": "function", "function": { "name": "g", "arguments": "{}" } },
            ] },
            { "role": "tool", "tool_call_id": "toolu_a", "content": "A" },
            { "role": "tool", "tool_call_id": "toolu_b", "content": "Error: line1\nline2" },
            { "role": "user", "content": [
                { "type": "text", "text": "also this" },
                { "type": "image_url", "image_url": { "url": "data:image/png;base64,QUJD" } },
            ] },
        ])
    );
}

#[test]
fn a_user_turn_of_only_tool_results_sends_only_tool_messages() {
    let r = request(vec![
        user(vec![text("go")]),
        assistant(vec![tool_use("a", "f", json!({}))]),
        user(vec![tool_result("a", "done")]),
    ]);
    let body = encode(&r);
    assert_eq!(
        body["messages"][1],
        json!({ "role": "assistant", "content": null, "tool_calls": [
            { "id": "a", "type": "function", "function": { "name": "f", "arguments": "{}" } },
        ] })
    );
    assert_eq!(body["messages"][2], json!({ "role": "tool", "tool_call_id": "a", "content": "done" }));
    assert_eq!(body["messages"].as_array().unwrap().len(), 3);
}

#[test]
fn encodes_images_as_data_or_http_urls() {
    let r = request(vec![user(vec![
        text("compare"),
        image_b64("image/webp", "UklGR"),
        image_url("https://example.com/b.png"),
    ])]);
    assert_eq!(
        encode(&r)["messages"][0]["content"],
        json!([
            { "type": "text", "text": "compare" },
            { "type": "image_url", "image_url": { "url": "data:image/webp;base64,UklGR" } },
            { "type": "image_url", "image_url": { "url": "https://example.com/b.png" } },
        ])
    );
}

#[test]
fn user_text_blocks_become_one_string_and_text_documents_are_inlined() {
    let document = Block::Document {
        source: json!({ "type": "text", "media_type": "text/plain", "data": "the doc" }),
        rest: serde_json::Map::new(),
    };
    let r = request(vec![user(vec![text("a"), text("b"), document])]);
    assert_eq!(encode(&r)["messages"][0]["content"], "a\nb\nthe doc");

    let pdf = Block::Document {
        source: json!({ "type": "base64", "media_type": "application/pdf", "data": "JVBER" }),
        rest: serde_json::Map::new(),
    };
    let err = openai::encode_request(&request(vec![user(vec![pdf])]), "m").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
}

#[test]
fn assistant_thinking_is_not_sent_and_texts_join() {
    let r = request(vec![
        user(vec![text("q")]),
        assistant(vec![
            Block::Thinking { thinking: "hmm".into(), signature: Some("s".into()) },
            Block::RedactedThinking { data: "x".into() },
            text("Hello, "),
            text("world"),
        ]),
    ]);
    assert_eq!(encode(&r)["messages"][1], json!({ "role": "assistant", "content": "Hello, world" }));
}

#[test]
fn encodes_parameters() {
    let mut r = request(vec![user(vec![text("hi")])]);
    r.max_tokens = Some(256);
    r.temperature = Some(2.7);
    r.top_p = Some(0.8);
    r.top_k = Some(5);
    r.stop_sequences = vec!["END".into()];
    r.seed = Some(3);
    r.n = Some(2);
    r.user = Some("u".into());
    r.reasoning_effort = Some("medium".into());
    r.thinking = Some(json!({ "type": "enabled", "budget_tokens": 1024 }));
    let body = encode(&r);
    assert_eq!(body["max_tokens"], 256);
    assert!(body.get("max_completion_tokens").is_none(), "local backends ignore max_completion_tokens");
    assert_eq!(body["temperature"], 2.0, "clamped to OpenAI's 0–2");
    assert_eq!(body["top_p"], 0.8);
    assert_eq!(body["top_k"], 5);
    assert_eq!(body["stop"], json!(["END"]));
    assert_eq!(body["seed"], 3);
    assert_eq!(body["n"], 2);
    assert_eq!(body["user"], "u");
    assert_eq!(body["reasoning_effort"], "medium");
    assert!(body.get("thinking").is_none());
    assert!(body.get("stream").is_none() && body.get("stream_options").is_none());

    r.temperature = Some(-1.0);
    assert_eq!(encode(&r)["temperature"], 0.0);
    r.temperature = Some(0.7);
    assert_eq!(encode(&r)["temperature"], 0.7);

    let bare = encode(&request(vec![user(vec![text("hi")])]));
    for absent in ["max_tokens", "temperature", "stop", "tools", "tool_choice", "parallel_tool_calls", "n", "seed"] {
        assert!(bare.get(absent).is_none(), "{absent}: {bare}");
    }
}

#[test]
fn streaming_requests_always_ask_for_usage() {
    let mut r = request(vec![user(vec![text("hi")])]);
    r.stream = true;
    let body = encode(&r);
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({ "include_usage": true }));
}

#[test]
fn encodes_tools_tool_choice_and_parallel_tool_calls() {
    let mut r = request(vec![user(vec![text("hi")])]);
    r.tools = vec![
        Tool {
            name: "get".into(),
            description: Some("Get".into()),
            input_schema: json!({ "type": "object" }),
            strict: Some(true),
        },
        Tool { name: "bare".into(), description: None, input_schema: json!({ "type": "object" }), strict: None },
    ];
    r.parallel_tool_calls = Some(false);
    let body = encode(&r);
    assert_eq!(
        body["tools"],
        json!([
            { "type": "function", "function": { "name": "get", "parameters": { "type": "object" }, "description": "Get", "strict": true } },
            { "type": "function", "function": { "name": "bare", "parameters": { "type": "object" } } },
        ])
    );
    assert_eq!(body["parallel_tool_calls"], false);

    for (choice, wire) in [
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::Any, json!("required")),
        (ToolChoice::None, json!("none")),
        (ToolChoice::Tool("get".into()), json!({ "type": "function", "function": { "name": "get" } })),
    ] {
        r.tool_choice = Some(choice);
        assert_eq!(encode(&r)["tool_choice"], wire);
    }

    // parallel_tool_calls without tools is rejected by OpenAI; it is not sent.
    let mut r = request(vec![user(vec![text("hi")])]);
    r.parallel_tool_calls = Some(false);
    assert!(encode(&r).get("parallel_tool_calls").is_none());
}

#[test]
fn encodes_response_format() {
    let mut r = request(vec![user(vec![text("hi")])]);
    for (format, wire) in [
        (ResponseFormat::Text, json!({ "type": "text" })),
        (ResponseFormat::JsonObject, json!({ "type": "json_object" })),
        (
            ResponseFormat::JsonSchema { name: "n".into(), schema: json!({ "type": "object" }), strict: None },
            json!({ "type": "json_schema", "json_schema": { "name": "n", "schema": { "type": "object" } } }),
        ),
        (
            ResponseFormat::JsonSchema { name: "n".into(), schema: json!({}), strict: Some(false) },
            json!({ "type": "json_schema", "json_schema": { "name": "n", "schema": {}, "strict": false } }),
        ),
    ] {
        r.response_format = Some(format);
        assert_eq!(encode(&r)["response_format"], wire);
    }
}

#[test]
fn an_openai_body_survives_parse_and_encode() {
    let body = json!({
        "model": "gpt-x",
        "messages": [
            { "role": "system", "content": "sys" },
            { "role": "user", "content": "weather in Paris?" },
            { "role": "assistant", "content": null, "tool_calls": [
                { "id": "call_9", "type": "function", "function": { "name": "get", "arguments": "{\"city\":\"Paris\"}" } },
            ] },
            { "role": "tool", "tool_call_id": "call_9", "content": "sunny" },
        ],
        "tools": [{ "type": "function", "function": { "name": "get", "parameters": { "type": "object" } } }],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "max_tokens": 64,
        "temperature": 0.2,
        "stop": ["x"],
        "stream": true,
        "stream_options": { "include_usage": true },
    });
    let mut encoded = encode(&parse(body.clone()));
    encoded["model"] = json!("gpt-x");
    assert_eq!(encoded, body);
}

#[test]
fn image_sources_serialise_like_anthropic() {
    let parsed = parse(with_messages(json!([{ "role": "user", "content": [
        { "type": "image_url", "image_url": { "url": "data:image/gif;base64,R0lG" } },
    ] }])));
    let Block::Image { source, .. } = &parsed.messages[0].content[0] else { panic!() };
    assert_eq!(*source, ImageSource::Base64 { media_type: "image/gif".into(), data: "R0lG".into() });
    assert_eq!(
        serde_json::to_value(source).unwrap(),
        json!({ "type": "base64", "media_type": "image/gif", "data": "R0lG" })
    );
}
