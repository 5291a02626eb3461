//! OpenAI Chat Completions: `POST /v1/chat/completions`, models list, errors, backend quirks.
//!
//! Built with `json!` from the documented wire format, independently of bivio's protocol crate.
//! The correct shape is the default; `openai_quirks` bend it the way real OpenAI-compatible
//! servers do, so the gateway's tolerance can be tested one deviation at a time.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::anthropic::tool_input;
use crate::faults::{self, FaultFrames};
use crate::request::{self, Resolved, Usage, chunks};
use crate::script::{Block, OpenAiQuirk, StreamOpts};
use crate::server::{App, unix_now};

/// Error `type` and `code` for a status, as OpenAI's API reports them.
fn error_kind(status: u16) -> (&'static str, Option<&'static str>) {
    match status {
        401 => ("invalid_request_error", Some("invalid_api_key")),
        404 => ("invalid_request_error", Some("not_found")),
        413 => ("invalid_request_error", Some("request_too_large")),
        429 => ("requests", Some("rate_limit_exceeded")),
        s if s >= 500 => ("server_error", None),
        _ => ("invalid_request_error", None),
    }
}

fn default_message(status: u16) -> &'static str {
    match status {
        400 => "Invalid request",
        401 => "Incorrect API key provided",
        403 => "You are not allowed to access this resource",
        404 => "Not found",
        429 => "Rate limit reached for requests",
        s if s >= 500 => "The server had an error while processing your request",
        _ => "Request failed",
    }
}

fn error_json(status: u16, message: Option<&str>) -> Value {
    let (kind, code) = error_kind(status);
    json!({"error": {
        "message": message.unwrap_or(default_message(status)),
        "type": kind,
        "param": null,
        "code": code,
    }})
}

/// An error in OpenAI's shape, with an optional `Retry-After` header.
pub(crate) fn error_response(status: u16, message: Option<&str>, retry_after: Option<u64>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (code, Json(error_json(status, message))).into_response();
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn validate(body: &Value) -> Result<(), String> {
    if !body.is_object() {
        return Err("request body must be a JSON object".to_owned());
    }
    if !body.get("model").is_some_and(Value::is_string) {
        return Err("you must provide a model parameter".to_owned());
    }
    if !body.get("messages").is_some_and(Value::is_array) {
        return Err("Missing required parameter: 'messages'.".to_owned());
    }
    Ok(())
}

/// Anthropic stop reason → OpenAI finish reason (the table in the protocol notes).
fn finish_reason(resolved: &Resolved) -> &'static str {
    let has_tools = resolved.response.content.iter().any(|b| matches!(b, Block::ToolUse { .. }));
    let reason = match resolved.stop_reason.as_str() {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    };
    if reason == "tool_calls" && has_tools && resolved.response.stream.has(OpenAiQuirk::StopWithToolCalls) {
        "stop"
    } else {
        reason
    }
}

fn reasoning_key(opts: &StreamOpts) -> &'static str {
    if opts.has(OpenAiQuirk::ReasoningField) { "reasoning" } else { "reasoning_content" }
}

fn thinking_text(resolved: &Resolved) -> String {
    resolved
        .response
        .content
        .iter()
        .filter_map(|b| match b {
            Block::Thinking { thinking, .. } => Some(thinking.as_str()),
            _ => None,
        })
        .collect()
}

/// `prompt_tokens` counts cached tokens too (Anthropic's `input_tokens` does not).
fn usage_json(usage: &Usage, reasoning_tokens: u64) -> Value {
    let prompt = usage.input + usage.cache_read + usage.cache_creation;
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": usage.output,
        "total_tokens": prompt + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read},
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    })
}

fn reasoning_tokens(resolved: &Resolved) -> u64 {
    let words = thinking_text(resolved).split_whitespace().count();
    u64::try_from(words).unwrap_or(u64::MAX).min(resolved.usage.output)
}

fn arguments(input: &Value, opts: &StreamOpts) -> Value {
    let input = tool_input(input);
    if opts.has(OpenAiQuirk::ArgumentsAsObject) { input } else { Value::String(input.to_string()) }
}

fn completion_json(id: &str, created: u64, model: &str, resolved: &Resolved) -> Value {
    let opts = &resolved.response.stream;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in &resolved.response.content {
        match block {
            Block::Text { text: t } => text.push_str(t),
            Block::ToolUse { id, name, input } => tool_calls.push(json!({
                "id": id,
                "type": "function",
                "function": {"name": name, "arguments": arguments(input, opts)},
            })),
            Block::Thinking { .. } | Block::RedactedThinking { .. } => {}
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    let content = if text.is_empty() && !tool_calls.is_empty() { Value::Null } else { Value::String(text) };
    message.insert("content".into(), content);
    message.insert("refusal".into(), Value::Null);
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    let thinking = thinking_text(resolved);
    if !thinking.is_empty() {
        message.insert(reasoning_key(opts).into(), Value::String(thinking));
    }
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": finish_reason(resolved),
            "logprobs": null,
        }],
        "usage": usage_json(&resolved.usage, reasoning_tokens(resolved)),
    })
}

fn data_frame(data: &Value) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

/// Chunk header shared by every frame of one stream (same `id` and `created` throughout).
struct ChunkBase<'a> {
    id: &'a str,
    created: u64,
    model: &'a str,
    /// Real OpenAI sends `"usage": null` on every chunk when usage was asked for.
    usage_null: bool,
}

impl ChunkBase<'_> {
    fn chunk(&self, delta: Value, finish_reason: Option<&str>) -> Bytes {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        });
        if self.usage_null {
            chunk["usage"] = Value::Null;
        }
        data_frame(&chunk)
    }

    fn usage_chunk(&self, usage: Value) -> Bytes {
        data_frame(&json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage,
        }))
    }
}

/// One tool-call fragment, shaped per the quirks in force.
fn tool_fragment(index: usize, opts: &StreamOpts, head: Option<(&str, &str)>, arguments: Value) -> Value {
    let mut fragment = Map::new();
    if !opts.has(OpenAiQuirk::MissingIndex) {
        let index = if opts.has(OpenAiQuirk::AllCallsIndex0) { 0 } else { index };
        fragment.insert("index".into(), json!(index));
    }
    let mut function = Map::new();
    match head {
        Some((id, name)) => {
            fragment.insert("id".into(), json!(id));
            if !opts.has(OpenAiQuirk::MissingType) {
                fragment.insert("type".into(), json!("function"));
            }
            function.insert("name".into(), json!(name));
        }
        None if opts.has(OpenAiQuirk::NullContinuationFields) => {
            fragment.insert("id".into(), Value::Null);
            fragment.insert("type".into(), Value::Null);
            function.insert("name".into(), Value::Null);
        }
        None => {}
    }
    function.insert("arguments".into(), arguments);
    fragment.insert("function".into(), Value::Object(function));
    json!({"tool_calls": [fragment]})
}

/// The complete chunk stream for `resolved`, ending in `[DONE]`.
fn stream_frames(base: &ChunkBase<'_>, resolved: &Resolved, include_usage: bool) -> Vec<Bytes> {
    let opts = &resolved.response.stream;
    let size = opts.chunk_size;
    let mut frames = vec![base.chunk(json!({"role": "assistant", "content": ""}), None)];
    let mut call_index = 0;
    for block in &resolved.response.content {
        match block {
            Block::Text { text } => {
                for piece in chunks(text, size) {
                    let mut delta = json!({"content": piece});
                    if opts.has(OpenAiQuirk::EmptyToolCallsWithText) {
                        delta["tool_calls"] = json!([]);
                    }
                    frames.push(base.chunk(delta, None));
                }
            }
            Block::Thinking { thinking, .. } => {
                for piece in chunks(thinking, size) {
                    frames.push(base.chunk(json!({ reasoning_key(opts): piece }), None));
                }
            }
            Block::ToolUse { id, name, input } => {
                let head = Some((id.as_str(), name.as_str()));
                if opts.has(OpenAiQuirk::WholeCallInOneChunk) {
                    let fragment = tool_fragment(call_index, opts, head, arguments(input, opts));
                    frames.push(base.chunk(fragment, None));
                } else {
                    frames.push(base.chunk(tool_fragment(call_index, opts, head, json!("")), None));
                    for piece in chunks(&tool_input(input).to_string(), size) {
                        let fragment = tool_fragment(call_index, opts, None, json!(piece));
                        frames.push(base.chunk(fragment, None));
                    }
                }
                call_index += 1;
            }
            Block::RedactedThinking { .. } => {}
        }
    }
    frames.push(base.chunk(json!({}), Some(finish_reason(resolved))));
    if include_usage || opts.has(OpenAiQuirk::UsageAlways) {
        frames.push(base.usage_chunk(usage_json(&resolved.usage, reasoning_tokens(resolved))));
    }
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    frames
}

fn fault_frames() -> FaultFrames {
    FaultFrames {
        garbage: Bytes::from_static(b"data: {not json\n\n"),
        error: data_frame(&error_json(500, Some("The server had an error while processing your request"))),
    }
}

/// `POST /v1/chat/completions`.
pub(crate) async fn chat_completions(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = app.intake(&method, &uri, &headers, &body);
    if !app.authorized(&headers) {
        return error_response(401, None, None);
    }
    let Some(request) = parsed else {
        return error_response(400, Some("request body is not valid JSON"), None);
    };
    if let Err(message) = validate(&request) {
        return error_response(400, Some(&message), None);
    }
    let resolved = {
        let scripts = app.scripts();
        request::resolve(&scripts, &request)
    };
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(message) => return error_response(500, Some(&message), None),
    };
    let response = &resolved.response;
    if response.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(response.delay_ms)).await;
    }
    if response.status != 200 {
        return error_response(response.status, response.error_message.as_deref(), response.retry_after);
    }
    let model = request.get("model").and_then(Value::as_str).unwrap_or_default();
    let id = app.id("chatcmpl-");
    let created = unix_now();
    if request.get("stream").and_then(Value::as_bool) != Some(true) {
        return Json(completion_json(&id, created, model, &resolved)).into_response();
    }
    let include_usage = request.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true);
    let base = ChunkBase { id: &id, created, model, usage_null: include_usage };
    let frames = stream_frames(&base, &resolved, include_usage);
    let guard = app.recorder.stream_started();
    let mut http = Response::new(faults::body(frames, &response.stream, fault_frames(), guard));
    let headers = http.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    http
}

/// Models the mock claims to serve (any model name is accepted on chat completions).
const MODELS: [&str; 3] = ["gpt-4o-mini", "gpt-4o", "mock-local"];

/// `GET /v1/models` for OpenAI clients.
pub(crate) fn models() -> Response {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_715_367_049, "owned_by": "bivio-mock"}))
        .collect();
    Json(json!({"object": "list", "data": data})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Response as Scripted;

    fn resolved(stream: StreamOpts) -> Resolved {
        Resolved {
            response: Scripted {
                stream,
                ..Scripted::blocks([Block::tool_use("a", "f", json!({"x": 1})), Block::tool_use("b", "g", json!({}))])
            },
            stop_reason: "tool_use".to_owned(),
            usage: Usage { input: 1, output: 1, cache_read: 0, cache_creation: 0 },
        }
    }

    fn deltas(stream: StreamOpts) -> Vec<Value> {
        let base = ChunkBase { id: "c", created: 1, model: "m", usage_null: false };
        stream_frames(&base, &resolved(stream), false)
            .iter()
            .filter_map(|f| {
                let text = String::from_utf8_lossy(f).into_owned();
                serde_json::from_str::<Value>(text.trim_start_matches("data: ").trim()).ok()
            })
            .map(|chunk| chunk["choices"][0]["delta"].clone())
            .collect()
    }

    #[test]
    fn quirks_bend_tool_fragments() {
        let whole = deltas(StreamOpts {
            openai_quirks: vec![OpenAiQuirk::WholeCallInOneChunk, OpenAiQuirk::AllCallsIndex0],
            ..StreamOpts::default()
        });
        let calls: Vec<&Value> = whole.iter().filter(|d| d.get("tool_calls").is_some()).collect();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1]["tool_calls"][0]["index"], 0);
        assert_eq!(calls[1]["tool_calls"][0]["id"], "b");
        assert_eq!(calls[0]["tool_calls"][0]["function"]["arguments"], "{\"x\":1}");

        let bare = deltas(StreamOpts {
            openai_quirks: vec![
                OpenAiQuirk::MissingIndex,
                OpenAiQuirk::MissingType,
                OpenAiQuirk::NullContinuationFields,
            ],
            ..StreamOpts::default()
        });
        let first = &bare[1]["tool_calls"][0];
        assert!(first.get("index").is_none() && first.get("type").is_none());
        assert_eq!(bare[2]["tool_calls"][0]["function"]["name"], Value::Null);
    }

    #[test]
    fn stop_with_tool_calls_quirk_changes_finish_reason() {
        let mut r = resolved(StreamOpts::default());
        assert_eq!(finish_reason(&r), "tool_calls");
        r.response.stream.openai_quirks.push(OpenAiQuirk::StopWithToolCalls);
        assert_eq!(finish_reason(&r), "stop");
    }
}
