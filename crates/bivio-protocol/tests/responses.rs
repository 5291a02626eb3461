//! Whole (non-streamed) responses in both APIs, the stop-reason and usage mappings, and error rendering.

// Test-only crate: lets clippy's allow-unwrap-in-tests cover the helpers too.
#![cfg(test)]

mod common;

use bivio_protocol::ir::{Block, ChatResponse, StopReason, Usage};
use bivio_protocol::{ApiError, ErrorKind, anthropic, openai};
use common::*;
use serde_json::{Value, json};

const ALL_STOP_REASONS: [StopReason; 7] = [
    StopReason::EndTurn,
    StopReason::MaxTokens,
    StopReason::StopSequence,
    StopReason::ToolUse,
    StopReason::PauseTurn,
    StopReason::Refusal,
    StopReason::ModelContextWindowExceeded,
];

fn response(content: Vec<Block>, stop_reason: Option<StopReason>) -> ChatResponse {
    ChatResponse {
        id: "msg_1".into(),
        model: "m".into(),
        content,
        stop_reason,
        stop_sequence: None,
        usage: Usage::default(),
    }
}

fn openai_body(message: Value, finish_reason: Value, usage: Value) -> Vec<u8> {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "local",
        "choices": [{ "index": 0, "message": message, "finish_reason": finish_reason }],
        "usage": usage,
    })
    .to_string()
    .into_bytes()
}

fn parse_openai(message: Value, finish_reason: &str) -> ChatResponse {
    openai::parse_response(&openai_body(message, json!(finish_reason), Value::Null)).unwrap()
}

// ---------------------------------------------------------------------------------------------------------
// Stop reason ⇄ finish reason

#[test]
fn stop_reason_to_finish_reason_table() {
    let expected = [
        (StopReason::EndTurn, "stop"),
        (StopReason::StopSequence, "stop"),
        (StopReason::PauseTurn, "stop"),
        (StopReason::MaxTokens, "length"),
        (StopReason::ModelContextWindowExceeded, "length"),
        (StopReason::ToolUse, "tool_calls"),
        (StopReason::Refusal, "content_filter"),
    ];
    assert_eq!(expected.len(), ALL_STOP_REASONS.len());
    for (stop, finish) in expected {
        let body = openai::render_response(&response(vec![text("x")], Some(stop)), 0);
        assert_eq!(body["choices"][0]["finish_reason"], finish, "{stop:?}");

        // The same table drives the stream encoder.
        let events = [
            bivio_protocol::ir::StreamEvent::MessageStart {
                id: "i".into(),
                model: "m".into(),
                usage: Usage::default(),
            },
            bivio_protocol::ir::StreamEvent::MessageDelta {
                stop_reason: Some(stop),
                stop_sequence: None,
                usage: Usage::default(),
            },
            bivio_protocol::ir::StreamEvent::MessageStop,
        ];
        let payloads = openai_payloads(&encode_openai(&events, false));
        assert_eq!(payloads[1]["choices"][0]["finish_reason"], finish, "{stop:?}");
    }
    let body = openai::render_response(&response(vec![text("x")], None), 0);
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
}

#[test]
fn finish_reason_to_stop_reason_table() {
    for (finish, stop) in [
        ("stop", StopReason::EndTurn),
        ("length", StopReason::MaxTokens),
        ("tool_calls", StopReason::ToolUse),
        ("function_call", StopReason::ToolUse),
        ("content_filter", StopReason::EndTurn),
        ("eos", StopReason::EndTurn),
    ] {
        let parsed = parse_openai(json!({ "role": "assistant", "content": "x" }), finish);
        assert_eq!(parsed.stop_reason, Some(stop), "{finish}");
    }
    let parsed = openai::parse_response(&openai_body(json!({ "content": "x" }), Value::Null, Value::Null)).unwrap();
    assert_eq!(parsed.stop_reason, Some(StopReason::EndTurn));
}

#[test]
fn tool_use_is_decided_by_the_presence_of_tool_calls() {
    let message = json!({ "role": "assistant", "content": null, "tool_calls": [
        { "id": "call_1", "type": "function", "function": { "name": "f", "arguments": "{}" } },
    ] });
    for finish in ["stop", "length", "tool_calls", "weird"] {
        assert_eq!(parse_openai(message.clone(), finish).stop_reason, Some(StopReason::ToolUse), "{finish}");
    }
    // And the other way: an Anthropic response with tool_use blocks renders `tool_calls` whatever it said.
    let r = response(vec![tool_use("toolu_1", "f", json!({}))], Some(StopReason::EndTurn));
    assert_eq!(openai::render_response(&r, 0)["choices"][0]["finish_reason"], "tool_calls");
}

// ---------------------------------------------------------------------------------------------------------
// Usage

#[test]
fn usage_anthropic_to_openai_counts_every_prompt_token() {
    let usage = Usage {
        input_tokens: 10,
        output_tokens: 7,
        cache_read_tokens: 100,
        cache_write_tokens: 1000,
        reasoning_tokens: Some(3),
    };
    assert_eq!(usage.total_input(), 1110);
    let r = ChatResponse { usage, ..response(vec![text("x")], Some(StopReason::EndTurn)) };
    assert_eq!(
        openai::render_response(&r, 0)["usage"],
        json!({
            "prompt_tokens": 1110,
            "completion_tokens": 7,
            "total_tokens": 1117,
            "prompt_tokens_details": { "cached_tokens": 100 },
            "completion_tokens_details": { "reasoning_tokens": 3 },
        })
    );
}

#[test]
fn usage_openai_to_anthropic_excludes_cached_tokens() {
    let body = openai_body(
        json!({ "content": "x" }),
        json!("stop"),
        json!({
            "prompt_tokens": 1200,
            "completion_tokens": 40,
            "total_tokens": 1240,
            "prompt_tokens_details": { "cached_tokens": 1024 },
            "completion_tokens_details": { "reasoning_tokens": 12 },
        }),
    );
    let parsed = openai::parse_response(&body).unwrap();
    assert_eq!(
        parsed.usage,
        Usage {
            input_tokens: 176,
            output_tokens: 40,
            cache_read_tokens: 1024,
            cache_write_tokens: 0,
            reasoning_tokens: Some(12)
        }
    );
    assert_eq!(openai::parse_usage(&body), Some(parsed.usage));
    assert_eq!(
        anthropic::render_response(&parsed)["usage"],
        json!({ "input_tokens": 176, "output_tokens": 40, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024 })
    );

    // Missing details, nulls, and inconsistent counts never underflow.
    for (usage, input, cached) in [
        (json!({ "prompt_tokens": 5, "completion_tokens": 1 }), 5, 0),
        (json!({ "prompt_tokens": 5, "completion_tokens": 1, "prompt_tokens_details": null }), 5, 0),
        (json!({ "prompt_tokens": 5, "prompt_tokens_details": { "cached_tokens": null } }), 5, 0),
        (json!({ "prompt_tokens": 5, "prompt_tokens_details": { "cached_tokens": 9 } }), 0, 9),
        (json!({}), 0, 0),
    ] {
        let parsed = openai::parse_response(&openai_body(json!({ "content": "x" }), json!("stop"), usage.clone()));
        let parsed = parsed.unwrap().usage;
        assert_eq!((parsed.input_tokens, parsed.cache_read_tokens), (input, cached), "{usage}");
    }
    let no_usage = openai::parse_response(&openai_body(json!({ "content": "x" }), json!("stop"), Value::Null));
    assert_eq!(no_usage.unwrap().usage, Usage::default());
    assert_eq!(openai::parse_usage(b"{\"id\":\"x\"}"), None);
}

#[test]
fn anthropic_usage_parses_and_renders_with_cache_counters() {
    let body = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
        "content": [{ "type": "text", "text": "hi" }],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": { "input_tokens": 3, "output_tokens": 9, "cache_creation_input_tokens": 20, "cache_read_input_tokens": 500 },
    })
    .to_string();
    let parsed = anthropic::parse_response(body.as_bytes()).unwrap();
    let expected = Usage {
        input_tokens: 3,
        output_tokens: 9,
        cache_read_tokens: 500,
        cache_write_tokens: 20,
        reasoning_tokens: None,
    };
    assert_eq!(parsed.usage, expected);
    assert_eq!(anthropic::parse_usage(body.as_bytes()), Some(expected));
    assert_eq!(openai::render_response(&parsed, 0)["usage"]["prompt_tokens"], 523);
    assert_eq!(openai::render_response(&parsed, 0)["usage"]["prompt_tokens_details"]["cached_tokens"], 500);

    let sparse = json!({ "usage": { "output_tokens": 2, "cache_read_input_tokens": null } }).to_string();
    assert_eq!(anthropic::parse_usage(sparse.as_bytes()), Some(Usage { output_tokens: 2, ..Usage::default() }));
    assert_eq!(anthropic::parse_usage(b"not json"), None);
}

// ---------------------------------------------------------------------------------------------------------
// OpenAI responses

#[test]
fn parses_openai_text_reasoning_and_tool_calls() {
    let parsed = parse_openai(
        json!({
            "role": "assistant",
            "content": "Checking.",
            "reasoning_content": "the user wants weather",
            "tool_calls": [
                { "id": "call_1", "type": "function", "function": { "name": "get", "arguments": "{\"city\":\"Oslo\"}" } },
                { "id": "call_2", "type": "function", "function": { "name": "obj", "arguments": { "k": true } } },
                { "id": "call_3", "type": "function", "function": { "name": "empty", "arguments": "" } },
            ],
        }),
        "tool_calls",
    );
    assert_eq!(parsed.id, "chatcmpl-1");
    assert_eq!(parsed.model, "local");
    assert_eq!(
        parsed.content,
        vec![
            Block::Thinking { thinking: "the user wants weather".into(), signature: None },
            text("Checking."),
            tool_use("call_1", "get", json!({ "city": "Oslo" })),
            tool_use("call_2", "obj", json!({ "k": true })),
            tool_use("call_3", "empty", json!({})),
        ]
    );
    assert_eq!(parsed.stop_reason, Some(StopReason::ToolUse));
    assert_eq!(parsed.stop_sequence, None);

    let parsed = parse_openai(json!({ "content": "hi", "reasoning": "ollama style" }), "stop");
    assert_eq!(parsed.content[0], Block::Thinking { thinking: "ollama style".into(), signature: None });
}

#[test]
fn content_null_with_tool_calls_yields_no_text_block() {
    let parsed = parse_openai(
        json!({ "role": "assistant", "content": null, "tool_calls": [
            { "id": "c", "type": "function", "function": { "name": "f", "arguments": "{}" } },
        ] }),
        "tool_calls",
    );
    assert_eq!(parsed.content, vec![tool_use("c", "f", json!({}))]);
    let parsed = parse_openai(json!({ "role": "assistant", "content": "" }), "stop");
    assert!(parsed.content.is_empty());
}

#[test]
fn tool_calls_without_ids_get_distinct_generated_ids() {
    let parsed = parse_openai(
        json!({ "content": null, "tool_calls": [
            { "id": "", "type": "function", "function": { "name": "f", "arguments": "{}" } },
            { "type": "function", "function": { "name": "g", "arguments": "{}" } },
            { "id": null, "type": "function", "function": { "name": "h", "arguments": "{}" } },
        ] }),
        "tool_calls",
    );
    let ids: Vec<&str> = parsed
        .content
        .iter()
        .map(|b| match b {
            Block::ToolUse { id, .. } => id.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids.len(), 3);
    for id in &ids {
        assert!(!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "{id}");
    }
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "{ids:?}");
}

#[test]
fn unreadable_openai_completions_are_bad_gateway() {
    for body in [&b"<html>"[..], b"{\"choices\":[]}", b"{\"error\":{\"message\":\"x\"}}"] {
        let err = openai::parse_response(body).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadGateway, "{}", String::from_utf8_lossy(body));
        assert_eq!(err.kind.status(), 502);
    }
}

#[test]
fn renders_openai_completions() {
    let r = ChatResponse {
        id: "msg_9".into(),
        model: "client-model".into(),
        content: vec![
            Block::Thinking { thinking: "think".into(), signature: Some("sig".into()) },
            text("Hello"),
            text(" there"),
            tool_use("toolu_1", "get", json!({ "a": 1 })),
        ],
        stop_reason: Some(StopReason::ToolUse),
        stop_sequence: None,
        usage: Usage { input_tokens: 1, output_tokens: 2, ..Usage::default() },
    };
    let body = openai::render_response(&r, 1_700_000_123);
    assert_eq!(body["id"], "msg_9");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["created"], 1_700_000_123);
    assert_eq!(body["model"], "client-model");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["logprobs"], Value::Null);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Hello there");
    assert_eq!(choice["message"]["reasoning_content"], "think");
    assert_eq!(
        choice["message"]["tool_calls"],
        json!([{ "id": "toolu_1", "type": "function", "function": { "name": "get", "arguments": "{\"a\":1}" } }])
    );
    assert_eq!(body["usage"]["total_tokens"], 3);

    let only_tools = openai::render_response(&response(vec![tool_use("t", "f", json!({}))], None), 0);
    assert_eq!(only_tools["choices"][0]["message"]["content"], Value::Null);
    assert_eq!(only_tools["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], "{}");

    let empty = openai::render_response(&response(vec![], Some(StopReason::MaxTokens)), 0);
    assert_eq!(empty["choices"][0]["message"]["content"], "", "no tool calls: content is a string");
    assert!(empty["choices"][0]["message"].get("tool_calls").is_none());
    assert_eq!(empty["choices"][0]["finish_reason"], "length");
}

// ---------------------------------------------------------------------------------------------------------
// Anthropic responses

#[test]
fn parses_and_renders_anthropic_messages() {
    let body = json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-upstream",
        "content": [
            { "type": "thinking", "thinking": "t", "signature": "sig" },
            { "type": "text", "text": "Hi" },
            { "type": "tool_use", "id": "toolu_01", "name": "f", "input": { "x": [1] } },
        ],
        "stop_reason": "stop_sequence", "stop_sequence": "END",
        "usage": { "input_tokens": 1, "output_tokens": 2, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0 },
    });
    let parsed = anthropic::parse_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(parsed.stop_reason, Some(StopReason::StopSequence));
    assert_eq!(parsed.stop_sequence.as_deref(), Some("END"));
    assert_eq!(parsed.content.len(), 3);
    assert_eq!(anthropic::render_response(&parsed), body);

    for stop in ALL_STOP_REASONS {
        let rendered = anthropic::render_response(&response(vec![], Some(stop)));
        let wire = serde_json::to_value(stop).unwrap();
        assert_eq!(rendered["stop_reason"], wire);
        let back: StopReason = serde_json::from_value(wire).unwrap();
        assert_eq!(back, stop);
    }
    assert_eq!(
        serde_json::to_value(ALL_STOP_REASONS).unwrap(),
        json!([
            "end_turn",
            "max_tokens",
            "stop_sequence",
            "tool_use",
            "pause_turn",
            "refusal",
            "model_context_window_exceeded"
        ])
    );
}

#[test]
fn anthropic_rendering_of_a_translated_answer_has_valid_tool_ids() {
    // An OpenAI-compatible backend's id, rendered for an Anthropic client: it must pass Claude's id pattern, and
    // match what the streaming encoder would have sent for the same call.
    let parsed = parse_openai(
        json!({ "content": null, "tool_calls": [
            { "id": "functions.get_weather:0", "type": "function", "function": { "name": "get_weather", "arguments": "{}" } },
        ] }),
        "tool_calls",
    );
    let rendered = anthropic::render_response(&parsed);
    assert_eq!(rendered["content"][0]["id"], "functions_get_weather_0");
    assert_eq!(rendered["stop_reason"], "tool_use");
}

#[test]
fn anthropic_rendering_of_an_empty_answer_is_complete() {
    let rendered = anthropic::render_response(&response(vec![], Some(StopReason::MaxTokens)));
    assert_eq!(
        rendered,
        json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
            "stop_reason": "max_tokens", "stop_sequence": null,
            "usage": { "input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0 },
        })
    );
}

#[test]
fn unreadable_anthropic_messages_are_bad_gateway() {
    for body in [&b""[..], b"{}", b"{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"x\"}}"] {
        let err = anthropic::parse_response(body).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadGateway);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Errors

const ALL_KINDS: [ErrorKind; 11] = [
    ErrorKind::InvalidRequest,
    ErrorKind::Authentication,
    ErrorKind::Permission,
    ErrorKind::NotFound,
    ErrorKind::RequestTooLarge,
    ErrorKind::RateLimit,
    ErrorKind::Api,
    ErrorKind::BadGateway,
    ErrorKind::Unavailable,
    ErrorKind::Timeout,
    ErrorKind::Overloaded,
];

#[test]
fn error_kinds_render_with_their_status_and_type_names() {
    let table = [
        (ErrorKind::InvalidRequest, 400, "invalid_request_error", "invalid_request_error"),
        (ErrorKind::Authentication, 401, "authentication_error", "authentication_error"),
        (ErrorKind::Permission, 403, "permission_error", "permission_error"),
        (ErrorKind::NotFound, 404, "not_found_error", "not_found_error"),
        (ErrorKind::RequestTooLarge, 413, "request_too_large", "invalid_request_error"),
        (ErrorKind::RateLimit, 429, "rate_limit_error", "rate_limit_exceeded"),
        (ErrorKind::Api, 500, "api_error", "api_error"),
        (ErrorKind::BadGateway, 502, "api_error", "api_error"),
        (ErrorKind::Unavailable, 503, "overloaded_error", "overloaded_error"),
        (ErrorKind::Timeout, 504, "timeout_error", "timeout"),
        (ErrorKind::Overloaded, 529, "overloaded_error", "overloaded_error"),
    ];
    assert_eq!(table.len(), ALL_KINDS.len());
    for (kind, status, anthropic_type, openai_type) in table {
        assert_eq!(kind.status(), status, "{kind:?}");
        assert_eq!(kind.anthropic_type(), anthropic_type, "{kind:?}");
        assert_eq!(kind.openai_type(), openai_type, "{kind:?}");

        let err = ApiError::new(kind, "something broke");
        assert_eq!(
            err.anthropic_body("req_1"),
            json!({ "type": "error", "error": { "type": anthropic_type, "message": "something broke" }, "request_id": "req_1" })
        );
        assert_eq!(
            err.openai_body(),
            json!({ "error": { "message": "something broke", "type": openai_type, "param": null, "code": kind.label() } })
        );
        assert_eq!(err.to_string(), "something broke");
    }
    let labels: std::collections::HashSet<&str> = ALL_KINDS.iter().map(|k| k.label()).collect();
    assert_eq!(labels.len(), ALL_KINDS.len(), "labels are distinct");
}

#[test]
fn error_kinds_from_upstream_statuses_and_type_names() {
    for kind in ALL_KINDS {
        assert_eq!(ErrorKind::from_status(kind.status()), kind, "{kind:?}");
    }
    for (status, kind) in
        [(422, ErrorKind::InvalidRequest), (408, ErrorKind::Timeout), (418, ErrorKind::Api), (501, ErrorKind::Api)]
    {
        assert_eq!(ErrorKind::from_status(status), kind, "{status}");
    }
    for kind in ALL_KINDS {
        // Type names are lossy (api_error is both 500 and 502, overloaded_error both 503 and 529) but map to a
        // kind of the same family.
        let from_anthropic = ErrorKind::from_type_name(kind.anthropic_type());
        assert_eq!(from_anthropic.anthropic_type(), kind.anthropic_type(), "{kind:?}");
        let from_openai = ErrorKind::from_type_name(kind.openai_type());
        assert_eq!(from_openai.openai_type(), kind.openai_type(), "{kind:?}");
    }
    assert_eq!(ErrorKind::from_type_name("brand_new_error"), ErrorKind::Api);
}

#[test]
fn invalid_constructor_is_a_400() {
    let err = ApiError::invalid("x");
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert_eq!(err.retry_after, None);
}
