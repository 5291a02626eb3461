//! Whole translations as the gateway performs them: a client body in one API to a backend body in the other,
//! and a backend answer back into the client's API.

// Test-only crate: lets clippy's allow-unwrap-in-tests cover the helpers too.
#![cfg(test)]

mod common;

use bivio_protocol::ir::{Block, StopReason};
use bivio_protocol::{ErrorKind, anthropic, openai};
use serde_json::{Value, json};

fn openai_to_claude(body: Value) -> Value {
    let request = openai::parse_request(body.to_string().as_bytes()).unwrap();
    anthropic::encode_request(&request, "claude-up").unwrap()
}

fn claude_to_openai(body: Value) -> Value {
    let request = anthropic::parse_request(body.to_string().as_bytes()).unwrap();
    openai::encode_request(&request, "local-up").unwrap()
}

#[test]
fn an_openai_agent_conversation_becomes_a_valid_claude_request() {
    let body = json!({
        "model": "gpt-4o",
        "messages": [
            { "role": "developer", "content": "Be terse." },
            { "role": "system", "content": "Use tools." },
            { "role": "user", "content": [
                { "type": "text", "text": "What's in this picture, and the weather there?" },
                { "type": "image_url", "image_url": { "url": "data:image/jpeg;base64,/9j/4AAQ" } },
            ] },
            { "role": "assistant", "content": null, "tool_calls": [
                { "id": "functions.where:0", "type": "function", "function": { "name": "where", "arguments": "" } },
                { "id": "functions.weather:1", "type": "function", "function": { "name": "weather", "arguments": "{\"city\":\"Oslo\"}" } },
            ] },
            { "role": "tool", "tool_call_id": "functions.where:0", "content": "Oslo" },
            { "role": "tool", "tool_call_id": "functions.weather:1", "content": "Rain" },
            { "role": "assistant", "content": "It's Oslo, and it rains.  " },
        ],
        "tools": [
            { "type": "function", "function": { "name": "where", "parameters": { "type": "object", "properties": {} } } },
            { "type": "function", "function": { "name": "weather", "description": "Weather", "strict": true,
              "parameters": { "type": "object", "properties": { "city": { "type": "string" } } } } },
        ],
        "tool_choice": "required",
        "parallel_tool_calls": false,
        "temperature": 1.6,
        "stop": "###",
        "max_completion_tokens": 300,
        "user": "end-user-7",
        "stream": true,
    });
    assert_eq!(
        openai_to_claude(body),
        json!({
            "model": "claude-up",
            "max_tokens": 300,
            "system": [{ "type": "text", "text": "Be terse." }, { "type": "text", "text": "Use tools." }],
            "messages": [
                { "role": "user", "content": [
                    { "type": "text", "text": "What's in this picture, and the weather there?" },
                    { "type": "image", "source": { "type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ" } },
                ] },
                { "role": "assistant", "content": [
                    { "type": "tool_use", "id": "functions_where_0", "name": "where", "input": {} },
                    { "type": "tool_use", "id": "functions_weather_1", "name": "weather", "input": { "city": "Oslo" } },
                ] },
                { "role": "user", "content": [
                    { "type": "tool_result", "tool_use_id": "functions_where_0", "content": "Oslo" },
                    { "type": "tool_result", "tool_use_id": "functions_weather_1", "content": "Rain" },
                ] },
                { "role": "assistant", "content": [{ "type": "text", "text": "It's Oslo, and it rains." }] },
            ],
            "temperature": 1.0,
            "stop_sequences": ["###"],
            "tools": [
                { "name": "where", "input_schema": { "type": "object", "properties": {} } },
                { "name": "weather", "description": "Weather",
                  "input_schema": { "type": "object", "properties": { "city": { "type": "string" } } } },
            ],
            "tool_choice": { "type": "any", "disable_parallel_tool_use": true },
            "metadata": { "user_id": "end-user-7" },
            "stream": true,
        })
    );
}

#[test]
fn an_openai_request_claude_cannot_serve_is_a_clear_400() {
    let request = openai::parse_request(
        json!({ "model": "m", "n": 3, "messages": [{ "role": "user", "content": "hi" }] }).to_string().as_bytes(),
    )
    .unwrap();
    let err = anthropic::encode_request(&request, "claude").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert_eq!(err.anthropic_body("r")["error"]["type"], "invalid_request_error");
    assert_eq!(err.openai_body()["error"]["type"], "invalid_request_error");
}

#[test]
fn a_claude_code_conversation_becomes_a_valid_openai_request() {
    let body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 8000,
        "system": [
            { "type": "text", "text": "You are Claude Code.", "cache_control": { "type": "ephemeral" } },
            { "type": "text", "text": "Be careful." },
        ],
        "messages": [
            { "role": "user", "content": "fix the bug" },
            { "role": "assistant", "content": [
                { "type": "thinking", "thinking": "Look first.", "signature": "sig" },
                { "type": "text", "text": "Reading the file." },
                { "type": "tool_use", "id": "toolu_01", "name": "Read", "input": { "path": "a.rs" } },
            ] },
            { "role": "user", "content": [
                { "type": "text", "text": "(the file follows)" },
                { "type": "tool_result", "tool_use_id": "toolu_01", "content": [{ "type": "text", "text": "fn main() {}" }] },
            ] },
        ],
        "tools": [{ "name": "Read", "description": "Read a file", "input_schema": { "type": "object" } }],
        "tool_choice": { "type": "tool", "name": "Read", "disable_parallel_tool_use": true },
        "stop_sequences": ["</done>"],
        "temperature": 0.5,
        "top_k": 40,
        "thinking": { "type": "enabled", "budget_tokens": 4000 },
        "stream": true,
    });
    assert_eq!(
        claude_to_openai(body),
        json!({
            "model": "local-up",
            "messages": [
                { "role": "system", "content": "You are Claude Code.\n\nBe careful." },
                { "role": "user", "content": "fix the bug" },
                { "role": "assistant", "content": "Reading the file.", "tool_calls": [
                    { "id": "toolu_01", "type": "function", "function": { "name": "Read", "arguments": "{\"path\":\"a.rs\"}" } },
                ] },
                { "role": "tool", "tool_call_id": "toolu_01", "content": "fn main() {}" },
                { "role": "user", "content": "(the file follows)" },
            ],
            "max_tokens": 8000,
            "temperature": 0.5,
            "top_k": 40,
            "stop": ["</done>"],
            "tools": [{ "type": "function", "function": { "name": "Read", "parameters": { "type": "object" }, "description": "Read a file" } }],
            "parallel_tool_calls": false,
            "tool_choice": { "type": "function", "function": { "name": "Read" } },
            "stream": true,
            "stream_options": { "include_usage": true },
        })
    );
}

#[test]
fn an_openai_backend_answer_for_an_anthropic_client() {
    let upstream = json!({
        "id": "chatcmpl-9", "object": "chat.completion", "created": 1, "model": "qwen",
        "choices": [{ "index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": null, "reasoning_content": "need weather",
            "tool_calls": [{ "id": "functions.weather:0", "type": "function",
                             "function": { "name": "weather", "arguments": "{\"city\":\"Oslo\"}" } }],
        } }],
        "usage": { "prompt_tokens": 50, "completion_tokens": 10, "prompt_tokens_details": { "cached_tokens": 32 } },
    });
    let response = openai::parse_response(upstream.to_string().as_bytes()).unwrap();
    assert_eq!(response.stop_reason, Some(StopReason::ToolUse), "tool calls present, whatever finish_reason says");
    let rendered = anthropic::render_response(&response);
    assert_eq!(
        rendered["content"],
        json!([
            { "type": "thinking", "thinking": "need weather" },
            { "type": "tool_use", "id": "functions_weather_0", "name": "weather", "input": { "city": "Oslo" } },
        ])
    );
    assert_eq!(rendered["stop_reason"], "tool_use");
    assert_eq!(
        rendered["usage"],
        json!({ "input_tokens": 18, "output_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 32 })
    );

    // The client sends that history back toward Claude: the unsigned thinking is dropped, and the tool id it
    // echoes is accepted as is.
    let next = anthropic::parse_request(
        json!({
            "model": "m", "max_tokens": 10,
            "messages": [
                { "role": "user", "content": "weather?" },
                { "role": "assistant", "content": rendered["content"] },
                { "role": "user", "content": [{ "type": "tool_result", "tool_use_id": "functions_weather_0", "content": "rain" }] },
            ],
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let claude = anthropic::encode_request(&next, "claude").unwrap();
    assert_eq!(claude["messages"][1]["content"].as_array().unwrap().len(), 1);
    assert_eq!(claude["messages"][1]["content"][0]["id"], "functions_weather_0");
    assert_eq!(claude["messages"][2]["content"][0]["tool_use_id"], "functions_weather_0");
}

#[test]
fn a_claude_answer_for_an_openai_client() {
    let upstream = json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-up",
        "content": [
            { "type": "thinking", "thinking": "hmm", "signature": "sig" },
            { "type": "text", "text": "Refusing." },
        ],
        "stop_reason": "refusal", "stop_sequence": null,
        "usage": { "input_tokens": 5, "output_tokens": 2, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1000 },
    });
    let response = anthropic::parse_response(upstream.to_string().as_bytes()).unwrap();
    let rendered = openai::render_response(&response, 42);
    assert_eq!(rendered["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(rendered["choices"][0]["message"]["content"], "Refusing.");
    assert_eq!(rendered["usage"]["prompt_tokens"], 1105);
    assert_eq!(rendered["usage"]["prompt_tokens_details"]["cached_tokens"], 1000);
    assert_eq!(rendered["usage"]["total_tokens"], 1107);
    assert!(matches!(response.content[0], Block::Thinking { .. }));
}
