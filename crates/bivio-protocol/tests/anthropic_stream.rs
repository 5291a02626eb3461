//! Anthropic Messages streams: decoding Claude's events, and encoding IR events for Anthropic clients.

// Test-only crate: lets clippy's allow-unwrap-in-tests cover the helpers too.
#![cfg(test)]

mod common;

use bivio_protocol::ir::{BlockDelta, BlockStart, StopReason, StreamEvent, Usage};
use bivio_protocol::{ApiError, ErrorKind, anthropic};
use common::*;
use serde_json::{Value, json};

fn message_start(usage: Value) -> Value {
    json!({ "type": "message_start", "message": {
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-up", "content": [],
        "stop_reason": null, "stop_sequence": null, "usage": usage,
    } })
}

fn block_start(index: usize, block: Value) -> Value {
    json!({ "type": "content_block_start", "index": index, "content_block": block })
}

fn block_delta(index: usize, delta: Value) -> Value {
    json!({ "type": "content_block_delta", "index": index, "delta": delta })
}

fn block_stop(index: usize) -> Value {
    json!({ "type": "content_block_stop", "index": index })
}

fn message_delta(stop_reason: &str, usage: Value) -> Value {
    json!({ "type": "message_delta", "delta": { "stop_reason": stop_reason, "stop_sequence": null }, "usage": usage })
}

fn message_stop() -> Value {
    json!({ "type": "message_stop" })
}

/// A Claude stream as the API sends it: thinking, text, a tool call, with pings.
fn claude_stream() -> Vec<Value> {
    vec![
        message_start(
            json!({ "input_tokens": 25, "output_tokens": 1, "cache_creation_input_tokens": 7, "cache_read_input_tokens": 300 }),
        ),
        block_start(0, json!({ "type": "thinking", "thinking": "" })),
        block_delta(0, json!({ "type": "thinking_delta", "thinking": "Let me think" })),
        block_delta(0, json!({ "type": "signature_delta", "signature": "EqQBCkgI" })),
        block_stop(0),
        json!({ "type": "ping" }),
        block_start(1, json!({ "type": "text", "text": "" })),
        block_delta(1, json!({ "type": "text_delta", "text": "Okay" })),
        block_stop(1),
        block_start(2, json!({ "type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {} })),
        block_delta(2, json!({ "type": "input_json_delta", "partial_json": "" })),
        block_delta(2, json!({ "type": "input_json_delta", "partial_json": "{\"city\": \"Par" })),
        block_delta(2, json!({ "type": "input_json_delta", "partial_json": "is\"}" })),
        block_stop(2),
        message_delta("tool_use", json!({ "output_tokens": 89 })),
        message_stop(),
    ]
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

#[test]
fn decodes_a_claude_stream_exactly() {
    let events = decode_anthropic(&anthropic_sse(&claude_stream()));
    let start_usage = Usage {
        input_tokens: 25,
        output_tokens: 1,
        cache_read_tokens: 300,
        cache_write_tokens: 7,
        reasoning_tokens: None,
    };
    assert_eq!(
        events,
        vec![
            StreamEvent::MessageStart { id: "msg_01".into(), model: "claude-up".into(), usage: start_usage },
            StreamEvent::BlockStart { index: 0, block: BlockStart::Thinking },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Thinking("Let me think".into()) },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Signature("EqQBCkgI".into()) },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::Ping,
            StreamEvent::BlockStart { index: 1, block: BlockStart::Text },
            StreamEvent::BlockDelta { index: 1, delta: BlockDelta::Text("Okay".into()) },
            StreamEvent::BlockStop { index: 1 },
            StreamEvent::BlockStart {
                index: 2,
                block: BlockStart::ToolUse { id: "toolu_01".into(), name: "get_weather".into() }
            },
            StreamEvent::BlockDelta { index: 2, delta: BlockDelta::InputJson("".into()) },
            StreamEvent::BlockDelta { index: 2, delta: BlockDelta::InputJson("{\"city\": \"Par".into()) },
            StreamEvent::BlockDelta { index: 2, delta: BlockDelta::InputJson("is\"}".into()) },
            StreamEvent::BlockStop { index: 2 },
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::ToolUse),
                stop_sequence: None,
                usage: Usage { output_tokens: 89, ..start_usage },
            },
            StreamEvent::MessageStop,
        ]
    );
    assert_complete(&events);
}

#[test]
fn message_delta_usage_is_cumulative_over_message_start() {
    let stream = |delta_usage: Value| {
        let events = decode_anthropic(&anthropic_sse(&[
            message_start(json!({ "input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 5 })),
            message_delta("end_turn", delta_usage),
            message_stop(),
        ]));
        summarize(&events).usage.unwrap()
    };
    assert_eq!(
        stream(json!({ "output_tokens": 50 })),
        Usage { input_tokens: 10, output_tokens: 50, cache_read_tokens: 5, ..Usage::default() }
    );
    // Newer API versions repeat (and may revise) the input counters in message_delta.
    assert_eq!(
        stream(
            json!({ "input_tokens": 12, "output_tokens": 50, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 3 })
        ),
        Usage {
            input_tokens: 12,
            output_tokens: 50,
            cache_read_tokens: 5,
            cache_write_tokens: 3,
            reasoning_tokens: None
        }
    );
    assert_eq!(
        stream(json!({ "output_tokens": 50, "input_tokens": null })),
        Usage { input_tokens: 10, output_tokens: 50, cache_read_tokens: 5, ..Usage::default() }
    );

    // A message_delta without usage keeps what message_start said.
    let events = decode_anthropic(&anthropic_sse(&[
        message_start(json!({ "input_tokens": 10, "output_tokens": 1 })),
        json!({ "type": "message_delta", "delta": { "stop_reason": "max_tokens", "stop_sequence": null } }),
        message_stop(),
    ]));
    let summary = summarize(&events);
    assert_eq!(summary.usage, Some(Usage { input_tokens: 10, output_tokens: 1, ..Usage::default() }));
    assert_eq!(summary.stop_reason, Some(StopReason::MaxTokens));
}

#[test]
fn stop_sequence_and_every_stop_reason_decode() {
    let events = decode_anthropic(&anthropic_sse(&[
        message_start(json!({})),
        json!({ "type": "message_delta", "delta": { "stop_reason": "stop_sequence", "stop_sequence": "END" }, "usage": { "output_tokens": 1 } }),
        message_stop(),
    ]));
    let summary = summarize(&events);
    assert_eq!(summary.stop_reason, Some(StopReason::StopSequence));
    assert_eq!(summary.stop_sequence.as_deref(), Some("END"));

    for reason in ["end_turn", "max_tokens", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"] {
        let events = decode_anthropic(&anthropic_sse(&[
            message_start(json!({})),
            message_delta(reason, json!({})),
            message_stop(),
        ]));
        let stop = summarize(&events).stop_reason.unwrap();
        assert_eq!(serde_json::to_value(stop).unwrap(), reason);
    }
}

#[test]
fn unknown_event_and_block_types_yield_nothing() {
    let events = decode_anthropic(&anthropic_sse(&[
        message_start(json!({ "input_tokens": 1 })),
        json!({ "type": "future_event", "payload": 1 }),
        block_start(0, json!({ "type": "text", "text": "" })),
        block_delta(0, json!({ "type": "text_delta", "text": "Searching." })),
        block_delta(0, json!({ "type": "citations_delta", "citation": { "type": "char_location" } })),
        block_stop(0),
        // A server tool: its block, its input deltas and its stop are all unknown to the IR.
        block_start(1, json!({ "type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {} })),
        block_delta(1, json!({ "type": "input_json_delta", "partial_json": "{\"query\": \"x\"}" })),
        block_stop(1),
        block_start(2, json!({ "type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [] })),
        block_stop(2),
        block_start(3, json!({ "type": "text", "text": "" })),
        block_delta(3, json!({ "type": "text_delta", "text": " Found it." })),
        block_stop(3),
        message_delta("end_turn", json!({ "output_tokens": 9 })),
        message_stop(),
    ]));
    // Nothing of the unknown blocks comes out, and the blocks after them are renumbered: 0, 1.
    assert_complete(&events);
    let summary = summarize(&events);
    assert_eq!(summary.text, "Searching. Found it.");
    assert!(summary.tool_calls.is_empty());
    assert!(events.contains(&StreamEvent::BlockStart { index: 1, block: BlockStart::Text }));
    assert!(events.contains(&StreamEvent::BlockDelta { index: 1, delta: BlockDelta::Text(" Found it.".into()) }));
}

#[test]
fn redacted_thinking_starts_carry_their_data() {
    let events = decode_anthropic(&anthropic_sse(&[
        message_start(json!({})),
        block_start(0, json!({ "type": "redacted_thinking", "data": "EmwKAhgB" })),
        block_stop(0),
        message_delta("end_turn", json!({})),
        message_stop(),
    ]));
    assert_eq!(
        events[1],
        StreamEvent::BlockStart { index: 0, block: BlockStart::RedactedThinking { data: "EmwKAhgB".into() } }
    );
    assert_complete(&events);
}

#[test]
fn error_events_end_the_stream() {
    let mut decoder = anthropic::StreamDecoder::new();
    let bytes = anthropic_sse(&[
        message_start(json!({})),
        json!({ "type": "error", "error": { "type": "overloaded_error", "message": "Overloaded" } }),
    ]);
    let events: Vec<StreamEvent> = frames(&bytes).iter().filter_map(|f| decoder.decode(f).unwrap()).collect();
    assert!(decoder.finished());
    assert_eq!(events[1], StreamEvent::Error(ApiError::new(ErrorKind::Overloaded, "Overloaded")));
    assert_well_formed(&events);

    for (kind_name, kind) in [
        ("api_error", ErrorKind::Api),
        ("rate_limit_error", ErrorKind::RateLimit),
        ("invalid_request_error", ErrorKind::InvalidRequest),
        ("something_new", ErrorKind::Api),
    ] {
        let events = decode_anthropic(&anthropic_sse(&[
            json!({ "type": "error", "error": { "type": kind_name, "message": "m" } }),
        ]));
        assert_eq!(events, vec![StreamEvent::Error(ApiError::new(kind, "m"))], "{kind_name}");
    }
}

#[test]
fn finished_only_after_message_stop() {
    let mut decoder = anthropic::StreamDecoder::new();
    let body = anthropic_sse(&claude_stream());
    let all = frames(&body);
    for frame in &all[..all.len() - 1] {
        decoder.decode(frame).unwrap();
        assert!(!decoder.finished());
    }
    decoder.decode(&all[all.len() - 1]).unwrap();
    assert!(decoder.finished());
}

#[test]
fn comments_frames_without_event_lines_and_garbage() {
    let mut decoder = anthropic::StreamDecoder::new();
    let comment = frames(b": keep-alive\n\n").remove(0);
    assert_eq!(decoder.decode(&comment).unwrap(), None);

    // The type comes from the data; the event line is informational.
    let bare = frames(b"data: {\"type\":\"ping\"}\n\n").remove(0);
    assert_eq!(decoder.decode(&bare).unwrap(), Some(StreamEvent::Ping));

    let garbage = frames(b"event: message_start\ndata: {\"type\":\n\n").remove(0);
    assert_eq!(decoder.decode(&garbage).unwrap_err().kind, ErrorKind::BadGateway);
    let wrong_shape = frames(b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n").remove(0);
    assert_eq!(decoder.decode(&wrong_shape).unwrap_err().kind, ErrorKind::BadGateway);
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

#[test]
fn encodes_the_full_skeleton_for_an_empty_answer() {
    let usage = Usage {
        input_tokens: 3,
        output_tokens: 0,
        cache_read_tokens: 2,
        cache_write_tokens: 1,
        reasoning_tokens: None,
    };
    let events = [
        StreamEvent::MessageStart { id: "msg_x".into(), model: "upstream-model".into(), usage },
        StreamEvent::MessageDelta { stop_reason: Some(StopReason::EndTurn), stop_sequence: None, usage },
        StreamEvent::MessageStop,
    ];
    let payloads = anthropic_payloads(&encode_anthropic(&events));
    let usage_json = json!({ "input_tokens": 3, "output_tokens": 0, "cache_creation_input_tokens": 1, "cache_read_input_tokens": 2 });
    assert_eq!(
        payloads,
        vec![
            (
                "message_start".to_owned(),
                json!({ "type": "message_start", "message": {
                    "id": "msg_x", "type": "message", "role": "assistant", "model": "client-model", "content": [],
                    "stop_reason": null, "stop_sequence": null, "usage": usage_json,
                } })
            ),
            (
                "message_delta".to_owned(),
                json!({ "type": "message_delta", "delta": { "stop_reason": "end_turn", "stop_sequence": null }, "usage": usage_json })
            ),
            ("message_stop".to_owned(), json!({ "type": "message_stop" })),
        ]
    );
}

#[test]
fn every_frame_has_an_event_line_matching_its_type() {
    let events = decode_anthropic(&anthropic_sse(&claude_stream()));
    let bytes = encode_anthropic(&events);
    for frame in frames(&bytes) {
        let event = frame.event.clone().expect("the SDK ignores frames without an event line");
        let data: Value = serde_json::from_str(frame.data.as_deref().unwrap()).unwrap();
        assert_eq!(data["type"], event);
        assert!(frame.raw.starts_with(format!("event: {event}\ndata: ").as_bytes()));
        assert!(frame.raw.ends_with(b"\n\n"));
    }
    let order: Vec<String> = anthropic_payloads(&bytes).into_iter().map(|(event, _)| event).collect();
    assert_eq!(order.first().map(String::as_str), Some("message_start"));
    assert_eq!(&order[order.len() - 2..], ["message_delta", "message_stop"]);
}

#[test]
fn block_starts_and_deltas_have_anthropic_shapes() {
    let events = [
        StreamEvent::MessageStart { id: "m".into(), model: "x".into(), usage: Usage::default() },
        StreamEvent::BlockStart { index: 0, block: BlockStart::Thinking },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Thinking("t".into()) },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Signature("s".into()) },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::BlockStart { index: 1, block: BlockStart::RedactedThinking { data: "d".into() } },
        StreamEvent::BlockStop { index: 1 },
        StreamEvent::BlockStart { index: 2, block: BlockStart::Text },
        StreamEvent::BlockDelta { index: 2, delta: BlockDelta::Text("hi".into()) },
        StreamEvent::BlockStop { index: 2 },
        StreamEvent::BlockStart {
            index: 3,
            block: BlockStart::ToolUse { id: "functions.lookup:0".into(), name: "lookup".into() },
        },
        StreamEvent::BlockDelta { index: 3, delta: BlockDelta::InputJson("{\"q\":1}".into()) },
        StreamEvent::BlockStop { index: 3 },
        StreamEvent::Ping,
        StreamEvent::MessageDelta {
            stop_reason: Some(StopReason::ToolUse),
            stop_sequence: None,
            usage: Usage::default(),
        },
        StreamEvent::MessageStop,
    ];
    let data: Vec<Value> = anthropic_payloads(&encode_anthropic(&events)).into_iter().map(|(_, d)| d).collect();
    assert_eq!(data[1]["content_block"], json!({ "type": "thinking", "thinking": "", "signature": "" }));
    assert_eq!(data[2]["delta"], json!({ "type": "thinking_delta", "thinking": "t" }));
    assert_eq!(data[3]["delta"], json!({ "type": "signature_delta", "signature": "s" }));
    assert_eq!(data[4], json!({ "type": "content_block_stop", "index": 0 }));
    assert_eq!(data[5]["content_block"], json!({ "type": "redacted_thinking", "data": "d" }));
    assert_eq!(
        data[7],
        json!({ "type": "content_block_start", "index": 2, "content_block": { "type": "text", "text": "" } })
    );
    assert_eq!(
        data[8],
        json!({ "type": "content_block_delta", "index": 2, "delta": { "type": "text_delta", "text": "hi" } })
    );
    assert_eq!(
        data[10]["content_block"],
        json!({ "type": "tool_use", "id": "functions_lookup_0", "name": "lookup", "input": {} }),
        "foreign tool ids are sanitised"
    );
    assert_eq!(data[11]["delta"], json!({ "type": "input_json_delta", "partial_json": "{\"q\":1}" }));
    assert_eq!(data[13], json!({ "type": "ping" }));
    assert_eq!(data[14]["delta"]["stop_reason"], "tool_use");
}

#[test]
fn encodes_errors_as_error_events() {
    let bytes = encode_anthropic(&[StreamEvent::Error(ApiError::new(ErrorKind::Overloaded, "busy"))]);
    assert_eq!(
        anthropic_payloads(&bytes),
        vec![(
            "error".to_owned(),
            json!({ "type": "error", "error": { "type": "overloaded_error", "message": "busy" } })
        )]
    );
    assert_eq!(anthropic::error_frame(&ApiError::new(ErrorKind::RateLimit, "slow")), {
        let mut encoder = anthropic::StreamEncoder::new("m");
        encoder.encode(&StreamEvent::Error(ApiError::new(ErrorKind::RateLimit, "slow")))
    });
}

#[test]
fn claude_stream_round_trips_through_the_encoder() {
    let events = decode_anthropic(&anthropic_sse(&claude_stream()));
    let again = decode_anthropic(&encode_anthropic(&events));
    let expected: Vec<StreamEvent> = events
        .into_iter()
        .map(|event| match event {
            StreamEvent::MessageStart { id, usage, .. } => {
                StreamEvent::MessageStart { id, model: "client-model".into(), usage }
            }
            other => other,
        })
        .collect();
    assert_eq!(again, expected);
}

#[test]
fn an_openai_backend_stream_becomes_a_valid_anthropic_stream() {
    // The common translation: a local model's chunks, decoded and re-encoded for an Anthropic client.
    let upstream = openai_sse(
        &[
            json!({ "id": "c", "model": "qwen", "choices": [{ "index": 0, "delta": { "role": "assistant", "content": "" } }] }),
            json!({ "id": "c", "model": "qwen", "choices": [{ "index": 0, "delta": { "reasoning_content": "hm" } }] }),
            json!({ "id": "c", "model": "qwen", "choices": [{ "index": 0, "delta": { "content": "Sure." } }] }),
            json!({ "id": "c", "model": "qwen", "choices": [{ "index": 0, "delta": { "tool_calls": [
                { "index": 0, "id": "functions.get:0", "type": "function", "function": { "name": "get", "arguments": "{\"a\"" } },
            ] } }] }),
            json!({ "id": "c", "model": "qwen", "choices": [{ "index": 0, "delta": { "tool_calls": [
                { "index": 0, "function": { "arguments": ":1}" } },
            ] } }] }),
            json!({ "id": "c", "model": "qwen", "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }] }),
            json!({ "id": "c", "model": "qwen", "choices": [], "usage": { "prompt_tokens": 20, "completion_tokens": 5,
                    "prompt_tokens_details": { "cached_tokens": 16 } } }),
        ],
        true,
    );
    let bytes = encode_anthropic(&decode_openai(&upstream));
    let payloads = anthropic_payloads(&bytes);
    let kinds: Vec<&str> = payloads.iter().map(|(event, _)| event.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    assert_eq!(payloads[7].1["content_block"]["id"], "functions_get_0");
    assert_eq!(payloads[11].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(
        payloads[11].1["usage"],
        json!({ "input_tokens": 4, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 16 })
    );
    let decoded = decode_anthropic(&bytes);
    assert_complete(&decoded);
    assert_eq!(summarize(&decoded).tool_calls[0].input(), json!({ "a": 1 }));
}

#[test]
fn encoder_snapshot() {
    let events = decode_anthropic(&anthropic_sse(&claude_stream()));
    insta::assert_snapshot!(String::from_utf8(encode_anthropic(&events)).unwrap());
}
