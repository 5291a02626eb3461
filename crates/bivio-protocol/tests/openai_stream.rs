//! OpenAI chunk streams: decoding what OpenAI-compatible backends really send, and encoding IR events for
//! OpenAI clients.

// Test-only crate: lets clippy's allow-unwrap-in-tests cover the helpers too.
#![cfg(test)]

mod common;

use bivio_protocol::ir::{BlockDelta, BlockStart, StopReason, StreamEvent, Usage};
use bivio_protocol::sse::Frame;
use bivio_protocol::{ApiError, ErrorKind, openai};
use common::*;
use serde_json::{Value, json};

fn chunk(delta: Value) -> Value {
    json!({
        "id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "qwen",
        "choices": [{ "index": 0, "delta": delta, "finish_reason": null }],
    })
}

fn finish(reason: &str) -> Value {
    json!({
        "id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "qwen",
        "choices": [{ "index": 0, "delta": {}, "finish_reason": reason }],
    })
}

fn usage_chunk(prompt: u64, completion: u64, cached: u64) -> Value {
    json!({
        "id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "qwen", "choices": [],
        "usage": { "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                   "prompt_tokens_details": { "cached_tokens": cached } },
    })
}

fn call(index: Option<u32>, id: Option<&str>, name: Option<&str>, arguments: Value) -> Value {
    let mut call = json!({ "function": { "arguments": arguments } });
    if let Some(index) = index {
        call["index"] = json!(index);
    }
    if let Some(id) = id {
        call["id"] = json!(id);
        call["type"] = json!("function");
    }
    if let Some(name) = name {
        call["function"]["name"] = json!(name);
    }
    call
}

fn calls(list: Vec<Value>) -> Value {
    chunk(json!({ "tool_calls": list }))
}

fn data_frame(data: &str) -> Frame {
    let mut frames = frames(format!("data: {data}\n\n").as_bytes());
    frames.remove(0)
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

#[test]
fn decodes_a_plain_text_stream_exactly() {
    let events = decode_openai_chunks(
        &[
            chunk(json!({ "role": "assistant", "content": "" })),
            chunk(json!({ "content": "Hel" })),
            chunk(json!({ "content": "lo" })),
            finish("stop"),
            usage_chunk(12, 2, 0),
        ],
        true,
    );
    assert_eq!(
        events,
        vec![
            StreamEvent::MessageStart { id: "chatcmpl-up".into(), model: "qwen".into(), usage: Usage::default() },
            StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("Hel".into()) },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("lo".into()) },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::EndTurn),
                stop_sequence: None,
                usage: Usage { input_tokens: 12, output_tokens: 2, ..Usage::default() },
            },
            StreamEvent::MessageStop,
        ]
    );
}

#[test]
fn holds_message_delta_until_usage_or_done() {
    let mut decoder = openai::StreamDecoder::new();
    let frame = |v: &Value| data_frame(&v.to_string());
    let first = decoder.decode(&frame(&chunk(json!({ "content": "x" })))).unwrap();
    assert!(matches!(first[0], StreamEvent::MessageStart { .. }));
    let at_finish = decoder.decode(&frame(&finish("length"))).unwrap();
    assert!(
        !at_finish.iter().any(|e| matches!(e, StreamEvent::MessageDelta { .. })),
        "the finish chunk must not emit message_delta before usage: {at_finish:?}"
    );
    assert!(!decoder.finished());
    let at_usage = decoder.decode(&frame(&usage_chunk(100, 7, 60))).unwrap();
    assert!(at_usage.is_empty(), "{at_usage:?}");
    let at_done = decoder.decode(&data_frame("[DONE]")).unwrap();
    assert!(decoder.finished());
    assert_eq!(
        at_done,
        vec![
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::MaxTokens),
                stop_sequence: None,
                usage: Usage { input_tokens: 40, output_tokens: 7, cache_read_tokens: 60, ..Usage::default() },
            },
            StreamEvent::MessageStop,
        ]
    );
    assert!(decoder.end_of_input().is_empty(), "a finished stream needs nothing more");
}

#[test]
fn empty_tool_calls_beside_text_are_ignored() {
    let events = decode_openai_chunks(
        &[
            chunk(json!({ "content": "hi", "tool_calls": [] })),
            chunk(json!({ "content": "!", "tool_calls": null })),
            finish("stop"),
        ],
        true,
    );
    assert_complete(&events);
    let summary = summarize(&events);
    assert_eq!(summary.text, "hi!");
    assert!(summary.tool_calls.is_empty());
    assert_eq!(summary.stop_reason, Some(StopReason::EndTurn));
}

#[test]
fn continuation_deltas_with_null_id_and_name() {
    let events = decode_openai_chunks(
        &[
            calls(vec![
                json!({ "index": 0, "id": "call_1", "type": "function", "function": { "name": "get", "arguments": "" } }),
            ]),
            calls(vec![
                json!({ "index": 0, "id": null, "type": null, "function": { "name": null, "arguments": "{\"ci" } }),
            ]),
            calls(vec![json!({ "index": 0, "id": "", "function": { "name": "", "arguments": "ty\":\"Oslo\"}" } })]),
            finish("tool_calls"),
        ],
        true,
    );
    assert_complete(&events);
    let summary = summarize(&events);
    assert_eq!(summary.tool_calls, vec![ToolCall::new("call_1", "get", "{\"city\":\"Oslo\"}")]);
    assert_eq!(summary.stop_reason, Some(StopReason::ToolUse));
}

#[test]
fn continuations_that_repeat_the_id_and_name() {
    let events = decode_openai_chunks(
        &[
            calls(vec![call(Some(0), Some("call_1"), Some("get"), json!("{\"a\":"))]),
            calls(vec![call(Some(0), Some("call_1"), Some("get"), json!("1}"))]),
            finish("tool_calls"),
        ],
        true,
    );
    assert_complete(&events);
    assert_eq!(summarize(&events).tool_calls, vec![ToolCall::new("call_1", "get", "{\"a\":1}")]);

    // The name repeated without the id: still the same call.
    let events = decode_openai_chunks(
        &[
            calls(vec![call(Some(0), Some("call_1"), Some("get"), json!("{\"a\":"))]),
            calls(vec![call(Some(0), None, Some("get"), json!("1}"))]),
            finish("tool_calls"),
        ],
        true,
    );
    assert_complete(&events);
    assert_eq!(summarize(&events).tool_calls, vec![ToolCall::new("call_1", "get", "{\"a\":1}")]);
}

#[test]
fn calls_without_index_and_without_type() {
    // Two calls in one chunk without `index`, then continuations without `index` either.
    let events = decode_openai_chunks(
        &[
            calls(vec![
                json!({ "id": "a", "function": { "name": "f", "arguments": "{\"x\":1}" } }),
                json!({ "id": "b", "function": { "name": "g", "arguments": "{\"y\":" } }),
            ]),
            calls(vec![json!({ "index": 1, "function": { "arguments": "2}" } })]),
            finish("tool_calls"),
        ],
        true,
    );
    assert_complete(&events);
    assert_eq!(
        summarize(&events).tool_calls,
        vec![ToolCall::new("a", "f", "{\"x\":1}"), ToolCall::new("b", "g", "{\"y\":2}")]
    );

    let events = decode_openai_chunks(
        &[
            calls(vec![json!({ "id": "a", "function": { "name": "f", "arguments": "{\"x\"" } })]),
            calls(vec![json!({ "function": { "arguments": ":1}" } })]),
            finish("tool_calls"),
        ],
        true,
    );
    assert_complete(&events);
    assert_eq!(summarize(&events).tool_calls, vec![ToolCall::new("a", "f", "{\"x\":1}")]);
}

#[test]
fn every_call_at_index_zero_with_distinct_ids() {
    let events = decode_openai_chunks(
        &[
            calls(vec![call(Some(0), Some("call_a"), Some("f"), json!(""))]),
            calls(vec![call(Some(0), None, None, json!("{\"n\":1}"))]),
            calls(vec![call(Some(0), Some("call_b"), Some("g"), json!("{\"n\""))]),
            calls(vec![call(Some(0), None, None, json!(":2}"))]),
            calls(vec![call(Some(0), Some("call_c"), Some("h"), json!("{}"))]),
            finish("tool_calls"),
        ],
        true,
    );
    assert_complete(&events);
    assert_eq!(
        summarize(&events).tool_calls,
        vec![
            ToolCall::new("call_a", "f", "{\"n\":1}"),
            ToolCall::new("call_b", "g", "{\"n\":2}"),
            ToolCall::new("call_c", "h", "{}"),
        ]
    );
}

#[test]
fn a_whole_call_in_one_chunk_with_finish() {
    let mut whole = calls(vec![call(Some(0), Some("call_1"), Some("get_time"), json!("{\"tz\":\"UTC\"}"))]);
    whole["choices"][0]["finish_reason"] = json!("tool_calls");
    let events = decode_openai_chunks(&[whole], true);
    assert_complete(&events);
    let summary = summarize(&events);
    assert_eq!(summary.tool_calls, vec![ToolCall::new("call_1", "get_time", "{\"tz\":\"UTC\"}")]);
    assert_eq!(summary.stop_reason, Some(StopReason::ToolUse));
}

#[test]
fn arguments_sent_as_an_object() {
    let events = decode_openai_chunks(
        &[calls(vec![call(Some(0), Some("call_1"), Some("f"), json!({ "k": [1, "two"] }))]), finish("tool_calls")],
        true,
    );
    assert_complete(&events);
    assert_eq!(summarize(&events).tool_calls[0].input(), json!({ "k": [1, "two"] }));
}

#[test]
fn a_call_with_no_arguments_at_all() {
    let events = decode_openai_chunks(
        &[
            calls(vec![json!({ "index": 0, "id": "call_1", "type": "function", "function": { "name": "now" } })]),
            finish("tool_calls"),
        ],
        true,
    );
    assert_complete(&events);
    let summary = summarize(&events);
    assert_eq!(summary.tool_calls, vec![ToolCall::new("call_1", "now", "")]);
    assert_eq!(summary.tool_calls[0].input(), json!({}));
}

#[test]
fn tool_calls_with_finish_reason_stop_are_tool_use() {
    let events = decode_openai_chunks(
        &[calls(vec![call(Some(0), Some("call_1"), Some("f"), json!("{}"))]), finish("stop")],
        true,
    );
    assert_eq!(summarize(&events).stop_reason, Some(StopReason::ToolUse));
}

#[test]
fn missing_ids_are_generated_valid_and_distinct() {
    let events = decode_openai_chunks(
        &[
            calls(vec![call(Some(0), None, Some("f"), json!("{}")), call(Some(1), None, Some("g"), json!("{}"))]),
            finish("tool_calls"),
        ],
        true,
    );
    assert_complete(&events);
    let summary = summarize(&events);
    assert_eq!(summary.tool_calls.len(), 2);
    let (a, b) = (&summary.tool_calls[0].id, &summary.tool_calls[1].id);
    assert_ne!(a, b);
    for id in [a, b] {
        assert!(!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "{id}");
    }
}

#[test]
fn text_then_tools_then_text_make_separate_blocks() {
    let events = decode_openai_chunks(
        &[
            chunk(json!({ "content": "Let me look." })),
            calls(vec![call(Some(0), Some("c1"), Some("f"), json!("{}"))]),
            calls(vec![call(Some(1), Some("c2"), Some("g"), json!("{}"))]),
            chunk(json!({ "content": "Done." })),
            finish("stop"),
        ],
        true,
    );
    assert_complete(&events);
    let starts: Vec<&BlockStart> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::BlockStart { block, .. } => Some(block),
            _ => None,
        })
        .collect();
    assert_eq!(
        starts,
        [
            &BlockStart::Text,
            &BlockStart::ToolUse { id: "c1".into(), name: "f".into() },
            &BlockStart::ToolUse { id: "c2".into(), name: "g".into() },
            &BlockStart::Text,
        ]
    );
    assert_eq!(summarize(&events).text, "Let me look.Done.");
}

#[test]
fn reasoning_and_reasoning_content_become_thinking() {
    for key in ["reasoning", "reasoning_content"] {
        let events = decode_openai_chunks(
            &[
                chunk(json!({ "role": "assistant", "content": null, key: "Let me " })),
                chunk(json!({ key: "think." })),
                chunk(json!({ key: "", "content": "Answer" })),
                finish("stop"),
            ],
            true,
        );
        assert_complete(&events);
        assert!(events.contains(&StreamEvent::BlockStart { index: 0, block: BlockStart::Thinking }), "{key}");
        assert!(events.contains(&StreamEvent::BlockStart { index: 1, block: BlockStart::Text }), "{key}");
        let summary = summarize(&events);
        assert_eq!(summary.thinking, "Let me think.", "{key}");
        assert_eq!(summary.text, "Answer", "{key}");
    }
}

#[test]
fn usage_only_chunks_anywhere() {
    // Before any delta (some servers), between deltas (vLLM's continuous usage), and after finish (OpenAI).
    let events = decode_openai_chunks(
        &[
            usage_chunk(5, 0, 0),
            chunk(json!({ "content": "a" })),
            usage_chunk(5, 1, 0),
            finish("stop"),
            usage_chunk(5, 2, 3),
        ],
        true,
    );
    assert_complete(&events);
    let summary = summarize(&events);
    assert_eq!(summary.text, "a");
    assert_eq!(
        summary.usage,
        Some(Usage { input_tokens: 2, output_tokens: 2, cache_read_tokens: 3, ..Usage::default() })
    );
    assert_eq!(summary.id.as_deref(), Some("chatcmpl-up"));
}

#[test]
fn a_stream_without_done_but_with_finish_reason_completes() {
    let events =
        decode_openai_chunks(&[chunk(json!({ "content": "ok" })), finish("stop"), usage_chunk(3, 1, 0)], false);
    assert_complete(&events);
    let summary = summarize(&events);
    assert_eq!(summary.text, "ok");
    assert_eq!(summary.usage.unwrap().output_tokens, 1);
    assert!(summary.error.is_none());
}

#[test]
fn a_stream_cut_before_finish_ends_in_an_error() {
    let events = decode_openai_chunks(&[chunk(json!({ "content": "partial" }))], false);
    assert_well_formed(&events);
    let Some(StreamEvent::Error(err)) = events.last() else { panic!("{events:?}") };
    assert_eq!(err.kind, ErrorKind::BadGateway);
    assert!(!events.iter().any(|e| matches!(e, StreamEvent::MessageStop)));

    // Nothing at all.
    let events = decode_openai(b"");
    assert!(matches!(&events[..], [StreamEvent::Error(_)]), "{events:?}");
}

#[test]
fn an_error_chunk_becomes_an_error_event() {
    let events = decode_openai_chunks(
        &[
            chunk(json!({ "content": "par" })),
            json!({ "error": { "message": "model overloaded", "type": "overloaded_error", "param": null, "code": null } }),
        ],
        false,
    );
    assert_well_formed(&events);
    assert_eq!(events.last(), Some(&StreamEvent::Error(ApiError::new(ErrorKind::Overloaded, "model overloaded"))));

    for (error, kind) in [
        (json!({ "message": "slow down", "type": "rate_limit_exceeded" }), ErrorKind::RateLimit),
        (json!({ "message": "huh" }), ErrorKind::Api),
        (json!({ "message": "bad", "type": "invalid_request_error" }), ErrorKind::InvalidRequest),
    ] {
        let events = decode_openai_chunks(&[json!({ "error": error })], true);
        assert_well_formed(&events);
        let Some(StreamEvent::Error(err)) = events.first() else { panic!("{events:?}") };
        assert_eq!(err.kind, kind, "{error}");
        assert_eq!(events.len(), 1, "nothing follows an error, not even for [DONE]: {events:?}");
    }

    // Some servers send the error as a bare string.
    let events = decode_openai_chunks(&[json!({ "error": "context length exceeded" })], false);
    let Some(StreamEvent::Error(err)) = events.first() else { panic!("{events:?}") };
    assert_eq!(err.message, "context length exceeded");
}

#[test]
fn a_null_error_field_is_not_an_error() {
    let mut with_null_error = chunk(json!({ "content": "fine" }));
    with_null_error["error"] = Value::Null;
    let events = decode_openai_chunks(&[with_null_error, finish("stop")], true);
    assert_complete(&events);
    assert_eq!(summarize(&events).text, "fine");
}

#[test]
fn nothing_is_decoded_after_done() {
    let mut body = openai_sse(&[chunk(json!({ "content": "a" })), finish("stop")], true);
    body.extend(openai_sse(&[chunk(json!({ "content": "late" }))], true));
    let events = decode_openai(&body);
    assert_complete(&events);
    assert_eq!(summarize(&events).text, "a");
}

#[test]
fn only_the_first_choice_is_streamed() {
    let mut two = chunk(json!({ "content": "zero" }));
    two["choices"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "index": 1, "delta": { "content": "one" }, "finish_reason": null }));
    let events = decode_openai_chunks(&[two, finish("stop")], true);
    assert_eq!(summarize(&events).text, "zero");
}

#[test]
fn an_empty_answer_still_has_the_full_skeleton() {
    let events = decode_openai_chunks(&[chunk(json!({ "role": "assistant", "content": "" })), finish("stop")], true);
    assert_eq!(
        events,
        vec![
            StreamEvent::MessageStart { id: "chatcmpl-up".into(), model: "qwen".into(), usage: Usage::default() },
            StreamEvent::MessageDelta {
                stop_reason: Some(StopReason::EndTurn),
                stop_sequence: None,
                usage: Usage::default()
            },
            StreamEvent::MessageStop,
        ]
    );
    let events = decode_openai(b"data: [DONE]\n\n");
    assert_complete(&events);
}

#[test]
fn comments_and_unreadable_chunks() {
    let body = b": OPENROUTER PROCESSING\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n: ping\n\ndata: [DONE]\n\n";
    let events = decode_openai(body);
    assert_complete(&events);
    assert_eq!(summarize(&events).text, "x");

    let mut decoder = openai::StreamDecoder::new();
    let err = decoder.decode(&data_frame("{\"choices\": [")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadGateway);
    let err = decoder.decode(&data_frame("{\"choices\": 5}")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadGateway);
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

fn sample_events() -> Vec<StreamEvent> {
    vec![
        StreamEvent::MessageStart {
            id: "msg_up".into(),
            model: "claude-up".into(),
            usage: Usage { input_tokens: 10, cache_read_tokens: 90, cache_write_tokens: 5, ..Usage::default() },
        },
        StreamEvent::Ping,
        StreamEvent::BlockStart { index: 0, block: BlockStart::Thinking },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Thinking("hmm".into()) },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Signature("sig".into()) },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::BlockStart { index: 1, block: BlockStart::Text },
        StreamEvent::BlockDelta { index: 1, delta: BlockDelta::Text("Checking.".into()) },
        StreamEvent::BlockStop { index: 1 },
        StreamEvent::BlockStart { index: 2, block: BlockStart::ToolUse { id: "toolu_1".into(), name: "get".into() } },
        StreamEvent::BlockDelta { index: 2, delta: BlockDelta::InputJson("{\"city\":".into()) },
        StreamEvent::BlockDelta { index: 2, delta: BlockDelta::InputJson("\"Rome\"}".into()) },
        StreamEvent::BlockStop { index: 2 },
        StreamEvent::BlockStart { index: 3, block: BlockStart::ToolUse { id: "toolu_2".into(), name: "time".into() } },
        StreamEvent::BlockDelta { index: 3, delta: BlockDelta::InputJson("{}".into()) },
        StreamEvent::BlockStop { index: 3 },
        StreamEvent::MessageDelta {
            stop_reason: Some(StopReason::ToolUse),
            stop_sequence: None,
            usage: Usage {
                input_tokens: 10,
                output_tokens: 30,
                cache_read_tokens: 90,
                cache_write_tokens: 5,
                reasoning_tokens: None,
            },
        },
        StreamEvent::MessageStop,
    ]
}

#[test]
fn encoder_chunks_share_id_created_and_model() {
    for include_usage in [false, true] {
        let payloads = openai_payloads(&encode_openai(&sample_events(), include_usage));
        assert_eq!(payloads.last(), Some(&json!("[DONE]")));
        for payload in &payloads[..payloads.len() - 1] {
            assert_eq!(payload["id"], "chatcmpl-1");
            assert_eq!(payload["created"], 1_700_000_000);
            assert_eq!(payload["model"], "client-model");
            assert_eq!(payload["object"], "chat.completion.chunk");
        }
    }
}

#[test]
fn encoder_frames_are_data_only() {
    let bytes = encode_openai(&sample_events(), true);
    for frame in frames(&bytes) {
        assert_eq!(frame.event, None);
        assert!(frame.raw.starts_with(b"data: ") && frame.raw.ends_with(b"\n\n"), "{:?}", frame.raw);
    }
    assert!(bytes.ends_with(b"data: [DONE]\n\n"));
}

#[test]
fn encoder_first_delta_is_role_and_empty_content() {
    let payloads = openai_payloads(&encode_openai(&sample_events(), false));
    assert_eq!(payloads[0]["choices"][0]["delta"], json!({ "role": "assistant", "content": "" }));
    assert_eq!(payloads[0]["choices"][0]["finish_reason"], Value::Null);
    assert_eq!(payloads[0]["choices"][0]["index"], 0);
}

#[test]
fn encoder_tool_call_fragments() {
    let payloads = openai_payloads(&encode_openai(&sample_events(), false));
    let tool_deltas: Vec<&Value> =
        payloads.iter().filter_map(|p| p["choices"][0]["delta"].get("tool_calls")).map(|t| &t[0]).collect();
    assert_eq!(
        tool_deltas,
        [
            &json!({ "index": 0, "id": "toolu_1", "type": "function", "function": { "name": "get", "arguments": "" } }),
            &json!({ "index": 0, "function": { "arguments": "{\"city\":" } }),
            &json!({ "index": 0, "function": { "arguments": "\"Rome\"}" } }),
            &json!({ "index": 1, "id": "toolu_2", "type": "function", "function": { "name": "time", "arguments": "" } }),
            &json!({ "index": 1, "function": { "arguments": "{}" } }),
        ],
        "index counts tool calls only, not the thinking and text blocks before them"
    );
}

#[test]
fn encoder_text_reasoning_finish_and_ignored_events() {
    let payloads = openai_payloads(&encode_openai(&sample_events(), false));
    let deltas: Vec<&Value> = payloads[..payloads.len() - 1].iter().map(|p| &p["choices"][0]["delta"]).collect();
    assert!(deltas.contains(&&json!({ "reasoning_content": "hmm" })));
    assert!(deltas.contains(&&json!({ "content": "Checking." })));
    assert!(!payloads.iter().any(|p| p.to_string().contains("sig")), "signatures are Anthropic-only");
    // role, thinking, text, 2+3 tool fragments, finish, [DONE]: pings, starts and stops add nothing.
    assert_eq!(payloads.len(), 1 + 1 + 1 + 5 + 1 + 1);
    let finish = &payloads[payloads.len() - 2];
    assert_eq!(finish["choices"][0]["delta"], json!({}));
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn encoder_usage_chunk_only_with_include_usage() {
    let without = openai_payloads(&encode_openai(&sample_events(), false));
    assert!(without.iter().all(|p| p.get("usage").is_none()), "no usage key at all without include_usage");
    assert!(without.iter().all(|p| p.get("choices").is_none_or(|c| !c.as_array().unwrap().is_empty())));

    let with = openai_payloads(&encode_openai(&sample_events(), true));
    let n = with.len();
    assert_eq!(with.len(), without.len() + 1);
    assert_eq!(with[n - 1], json!("[DONE]"));
    let usage = &with[n - 2];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["id"], "chatcmpl-1");
    assert_eq!(
        usage["usage"],
        json!({
            "prompt_tokens": 105, "completion_tokens": 30, "total_tokens": 135,
            "prompt_tokens_details": { "cached_tokens": 90 },
            "completion_tokens_details": { "reasoning_tokens": 0 },
        })
    );
    for payload in &with[..n - 2] {
        assert_eq!(payload["usage"], Value::Null, "every other chunk says usage: null");
        assert_eq!(payload["choices"].as_array().unwrap().len(), 1);
    }
}

#[test]
fn encoder_finish_reason_follows_the_table_without_tools() {
    for (stop, finish) in [
        (Some(StopReason::EndTurn), "stop"),
        (Some(StopReason::StopSequence), "stop"),
        (Some(StopReason::MaxTokens), "length"),
        (Some(StopReason::Refusal), "content_filter"),
        (Some(StopReason::ToolUse), "tool_calls"),
        (None, "stop"),
    ] {
        let events = [
            StreamEvent::MessageStart { id: "i".into(), model: "m".into(), usage: Usage::default() },
            StreamEvent::MessageDelta { stop_reason: stop, stop_sequence: None, usage: Usage::default() },
            StreamEvent::MessageStop,
        ];
        let payloads = openai_payloads(&encode_openai(&events, false));
        assert_eq!(payloads[1]["choices"][0]["finish_reason"], finish, "{stop:?}");
    }
}

#[test]
fn encoder_error_frame() {
    let events = [
        StreamEvent::MessageStart { id: "i".into(), model: "m".into(), usage: Usage::default() },
        StreamEvent::Error(ApiError::new(ErrorKind::Overloaded, "try later")),
    ];
    let bytes = encode_openai(&events, true);
    let payloads = openai_payloads(&bytes);
    assert_eq!(
        payloads[1],
        json!({ "error": { "message": "try later", "type": "overloaded_error", "param": null, "code": "overloaded" } })
    );
    assert!(!bytes.ends_with(b"data: [DONE]\n\n"));
    let frame = openai::error_frame(&ApiError::invalid("bad input"));
    assert_eq!(openai_payloads(&frame)[0]["error"]["type"], "invalid_request_error");
    assert_eq!(&openai::done_frame()[..], b"data: [DONE]\n\n");
}

#[test]
fn encoder_output_decodes_back() {
    let events = sample_events();
    let decoded = decode_openai(&encode_openai(&events, true));
    assert_complete(&decoded);
    let summary = summarize(&decoded);
    assert_eq!(summary.text, "Checking.");
    assert_eq!(summary.thinking, "hmm");
    assert_eq!(
        summary.tool_calls,
        vec![ToolCall::new("toolu_1", "get", "{\"city\":\"Rome\"}"), ToolCall::new("toolu_2", "time", "{}")]
    );
    assert_eq!(summary.stop_reason, Some(StopReason::ToolUse));
    assert_eq!(
        summary.usage,
        Some(Usage {
            input_tokens: 15,
            output_tokens: 30,
            cache_read_tokens: 90,
            cache_write_tokens: 0,
            reasoning_tokens: Some(0)
        }),
        "OpenAI has no cache-write counter: those tokens come back as plain input"
    );
}

#[test]
fn encoder_snapshot() {
    let bytes = encode_openai(&sample_events(), true);
    insta::assert_snapshot!(String::from_utf8(bytes).unwrap());
}
