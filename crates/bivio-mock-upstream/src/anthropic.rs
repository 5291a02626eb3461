//! Anthropic Messages API: `POST /v1/messages`, `/v1/messages/count_tokens`, models list, errors.
//!
//! Rendered with `json!` straight from the documented wire format (not from bivio's protocol
//! crate), so a misunderstanding in bivio cannot be mirrored here and cancel out in tests.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::faults::{self, FaultFrames};
use crate::request::{self, Resolved, Usage, chunks};
use crate::script::Block;
use crate::server::App;

/// Error `type` for an HTTP status, per the documented table.
pub(crate) fn error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

fn default_message(status: u16) -> &'static str {
    match status {
        400 => "Invalid request",
        401 => "invalid x-api-key",
        403 => "Your API key does not have permission to use the specified resource.",
        404 => "Not found",
        413 => "Request exceeds the maximum allowed number of bytes.",
        429 => "Number of request tokens has exceeded your per-minute rate limit",
        529 => "Overloaded",
        _ => "Internal server error",
    }
}

/// An error in Anthropic's shape, with `request-id` and optional `Retry-After` headers.
pub(crate) fn error_response(
    status: u16,
    message: Option<&str>,
    request_id: &str,
    retry_after: Option<u64>,
) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "type": "error",
        "error": {"type": error_type(status), "message": message.unwrap_or(default_message(status))},
        "request_id": request_id,
    });
    let mut response = (code, Json(body)).into_response();
    set_request_id(&mut response, request_id);
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn set_request_id(response: &mut Response, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("request-id", value);
    }
}

/// The fields the real API rejects a request without (minimal, but enough to catch a gateway
/// that forgets `max_tokens` when translating from OpenAI).
fn validate(body: &Value, need_max_tokens: bool) -> Result<(), String> {
    if !body.is_object() {
        return Err("request body must be a JSON object".to_owned());
    }
    if !body.get("model").is_some_and(Value::is_string) {
        return Err("model: Field required".to_owned());
    }
    if !body.get("messages").is_some_and(Value::is_array) {
        return Err("messages: Field required".to_owned());
    }
    if need_max_tokens && !body.get("max_tokens").is_some_and(Value::is_u64) {
        return Err("max_tokens: Field required".to_owned());
    }
    Ok(())
}

fn usage_json(usage: &Usage, output_tokens: u64) -> Value {
    json!({
        "input_tokens": usage.input,
        "cache_creation_input_tokens": usage.cache_creation,
        "cache_read_input_tokens": usage.cache_read,
        "output_tokens": output_tokens,
    })
}

fn block_json(block: &Block) -> Value {
    match block {
        Block::Text { text } => json!({"type": "text", "text": text}),
        Block::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": tool_input(input)})
        }
        Block::Thinking { thinking, signature } => {
            json!({"type": "thinking", "thinking": thinking, "signature": signature})
        }
        Block::RedactedThinking { data } => json!({"type": "redacted_thinking", "data": data}),
    }
}

/// A tool's input is an object on the wire; a script that left it null means `{}`.
pub(crate) fn tool_input(input: &Value) -> Value {
    if input.is_null() { json!({}) } else { input.clone() }
}

fn message_json(id: &str, model: &str, content: Value, stop: (Value, Value), usage: Value) -> Value {
    json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": model,
        "stop_reason": stop.0,
        "stop_sequence": stop.1,
        "usage": usage,
    })
}

fn frame(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// The complete, correct event stream for `resolved`, frame by frame.
fn stream_frames(id: &str, model: &str, resolved: &Resolved) -> Vec<Bytes> {
    let response = &resolved.response;
    let size = response.stream.chunk_size;
    let skeleton = message_json(id, model, json!([]), (Value::Null, Value::Null), usage_json(&resolved.usage, 1));
    let mut frames = vec![
        frame("message_start", &json!({"type": "message_start", "message": skeleton})),
        frame("ping", &json!({"type": "ping"})),
    ];
    for (index, block) in response.content.iter().enumerate() {
        let (start, deltas) = match block {
            Block::Text { text } => (
                json!({"type": "text", "text": ""}),
                chunks(text, size).into_iter().map(|t| json!({"type": "text_delta", "text": t})).collect::<Vec<_>>(),
            ),
            Block::ToolUse { id, name, input } => {
                // Like the real API: an empty first fragment, then the serialized input in pieces.
                let mut pieces = vec![String::new()];
                pieces.extend(chunks(&tool_input(input).to_string(), size));
                (
                    json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                    pieces.into_iter().map(|p| json!({"type": "input_json_delta", "partial_json": p})).collect(),
                )
            }
            Block::Thinking { thinking, signature } => {
                let mut deltas: Vec<Value> = chunks(thinking, size)
                    .into_iter()
                    .map(|t| json!({"type": "thinking_delta", "thinking": t}))
                    .collect();
                deltas.push(json!({"type": "signature_delta", "signature": signature}));
                (json!({"type": "thinking", "thinking": "", "signature": ""}), deltas)
            }
            Block::RedactedThinking { data } => (json!({"type": "redacted_thinking", "data": data}), Vec::new()),
        };
        frames.push(frame(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for delta in deltas {
            frames.push(frame(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
        frames.push(frame("content_block_stop", &json!({"type": "content_block_stop", "index": index})));
    }
    frames.push(frame(
        "message_delta",
        &json!({
            "type": "message_delta",
            "delta": {"stop_reason": resolved.stop_reason, "stop_sequence": response.stop_sequence},
            "usage": usage_json(&resolved.usage, resolved.usage.output),
        }),
    ));
    frames.push(frame("message_stop", &json!({"type": "message_stop"})));
    frames
}

fn fault_frames(request_id: &str) -> FaultFrames {
    FaultFrames {
        garbage: Bytes::from_static(b"event: content_block_delta\ndata: {not json\n\n"),
        error: frame(
            "error",
            &json!({
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"},
                "request_id": request_id,
            }),
        ),
    }
}

/// `POST /v1/messages`.
pub(crate) async fn messages(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = app.intake(&method, &uri, &headers, &body);
    let request_id = app.id("req_");
    if !app.authorized(&headers) {
        return error_response(401, None, &request_id, None);
    }
    let Some(request) = parsed else {
        return error_response(400, Some("request body is not valid JSON"), &request_id, None);
    };
    if let Err(message) = validate(&request, true) {
        return error_response(400, Some(&message), &request_id, None);
    }
    let resolved = {
        let scripts = app.scripts();
        request::resolve(&scripts, &request)
    };
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(message) => return error_response(500, Some(&message), &request_id, None),
    };
    let response = &resolved.response;
    if response.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(response.delay_ms)).await;
    }
    if response.status != 200 {
        return error_response(response.status, response.error_message.as_deref(), &request_id, response.retry_after);
    }
    let model = request.get("model").and_then(Value::as_str).unwrap_or_default();
    let id = app.id("msg_");
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        let frames = stream_frames(&id, model, &resolved);
        let guard = app.recorder.stream_started();
        let body = faults::body(frames, &response.stream, fault_frames(&request_id), guard);
        let mut http = Response::new(body);
        let headers = http.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        set_request_id(&mut http, &request_id);
        return http;
    }
    let content: Vec<Value> = response.content.iter().map(block_json).collect();
    let stop = (json!(resolved.stop_reason), json!(response.stop_sequence));
    let message = message_json(&id, model, json!(content), stop, usage_json(&resolved.usage, resolved.usage.output));
    let mut http = Json(message).into_response();
    set_request_id(&mut http, &request_id);
    http
}

/// `POST /v1/messages/count_tokens`: the same deterministic estimate the echo script reports.
pub(crate) async fn count_tokens(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = app.intake(&method, &uri, &headers, &body);
    let request_id = app.id("req_");
    if !app.authorized(&headers) {
        return error_response(401, None, &request_id, None);
    }
    let Some(request) = parsed else {
        return error_response(400, Some("request body is not valid JSON"), &request_id, None);
    };
    if let Err(message) = validate(&request, false) {
        return error_response(400, Some(&message), &request_id, None);
    }
    let mut http = Json(json!({"input_tokens": request::estimate_tokens(&request)})).into_response();
    set_request_id(&mut http, &request_id);
    http
}

/// Models the mock claims to serve (any model name is accepted on `/v1/messages`).
const MODELS: [(&str, &str, &str); 3] = [
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
    ("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
];

/// `GET /v1/models` for Anthropic clients; `has_more: false` stops the SDK's auto-pagination.
pub(crate) fn models(request_id: &str) -> Response {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|(id, name, created)| json!({"type": "model", "id": id, "display_name": name, "created_at": created}))
        .collect();
    let mut http = Json(json!({
        "data": data,
        "has_more": false,
        "first_id": MODELS.first().map(|m| m.0),
        "last_id": MODELS.last().map(|m| m.0),
    }))
    .into_response();
    set_request_id(&mut http, request_id);
    http
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Response as Scripted;

    #[test]
    fn stream_frames_follow_the_documented_order() {
        let resolved = Resolved {
            response: Scripted::blocks([Block::text("hi"), Block::tool_use("t1", "f", json!({"a": 1}))]),
            stop_reason: "tool_use".to_owned(),
            usage: Usage { input: 3, output: 2, cache_read: 0, cache_creation: 0 },
        };
        let events: Vec<String> = stream_frames("msg_1", "m", &resolved)
            .iter()
            .map(|f| {
                let text = String::from_utf8_lossy(f).into_owned();
                text.lines().next().unwrap().trim_start_matches("event: ").to_owned()
            })
            .collect();
        assert_eq!(
            events,
            [
                "message_start",
                "ping",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
    }

    #[test]
    fn error_types_follow_the_table() {
        assert_eq!(error_type(529), "overloaded_error");
        assert_eq!(error_type(413), "request_too_large");
        assert_eq!(error_type(418), "api_error");
    }
}
