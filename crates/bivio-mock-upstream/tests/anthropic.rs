//! The Anthropic endpoint, checked against the documented wire format.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test crate: helpers outside #[test] fns assert by unwrapping too"
)]

mod common;

use bivio_mock_upstream::{Block, MockOptions, MockUpstream, Response, Script, UsageSpec};
use common::{anthropic, frames, user};
use serde_json::{Value, json};

fn request(text: &str, stream: bool) -> Value {
    json!({"model": "claude-test", "max_tokens": 100, "stream": stream, "messages": [user(text)]})
}

fn rich_script() -> Response {
    Response {
        usage: Some(UsageSpec {
            input_tokens: Some(10),
            output_tokens: Some(20),
            cache_read_input_tokens: 7,
            cache_creation_input_tokens: 3,
        }),
        ..Response::blocks([
            Block::thinking("Let me think about the weather.", "sig-abc"),
            Block::text("Checking Rome."),
            Block::tool_use("toolu_01", "get_weather", json!({"city": "Rome", "units": ["c", "f"], "n": 1.5})),
        ])
    }
}

#[tokio::test]
async fn non_stream_echo_has_the_message_shape() {
    let mock = MockUpstream::start().await.unwrap();
    let resp = anthropic(&mock.anthropic_base(), "/v1/messages", &request("hello mock world", false)).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["request-id"].to_str().unwrap().starts_with("req_"));
    let body: Value = resp.json().await.unwrap();
    assert!(body["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "claude-test");
    assert_eq!(body["content"], json!([{"type": "text", "text": "echo: hello mock world"}]));
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["stop_sequence"], Value::Null);
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 4, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 4})
    );
}

#[tokio::test]
async fn non_stream_script_renders_all_block_kinds() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("rich", Script::from(rich_script()));
    let body: Value =
        anthropic(&mock.anthropic_base(), "/v1/messages", &request("[[mock:rich]]", false)).await.json().await.unwrap();
    assert_eq!(
        body["content"],
        json!([
            {"type": "thinking", "thinking": "Let me think about the weather.", "signature": "sig-abc"},
            {"type": "text", "text": "Checking Rome."},
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Rome", "units": ["c", "f"], "n": 1.5}},
        ])
    );
    assert_eq!(body["stop_reason"], "tool_use");
    assert_eq!(body["usage"]["cache_read_input_tokens"], 7);
}

#[tokio::test]
async fn stream_frames_come_in_the_documented_order() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("rich", rich_script());
    let resp = anthropic(&mock.anthropic_base(), "/v1/messages", &request("[[mock:rich]]", true)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert!(resp.headers().contains_key("request-id"));
    let frames = frames(&resp.text().await.unwrap());

    // Every frame names its event, and the event matches the data's `type`.
    for f in &frames {
        assert_eq!(f.event.as_deref(), f.json()["type"].as_str(), "{f:?}");
    }
    let start = frames[0].json();
    assert_eq!(frames[0].event.as_deref(), Some("message_start"));
    assert_eq!(start["message"]["content"], json!([]));
    assert_eq!(start["message"]["stop_reason"], Value::Null);
    assert_eq!(start["message"]["model"], "claude-test");
    assert_eq!(start["message"]["usage"]["input_tokens"], 10);
    assert_eq!(start["message"]["usage"]["output_tokens"], 1);
    assert_eq!(frames[1].event.as_deref(), Some("ping"));

    // Blocks: start → deltas → stop, indices 0,1,2 in order, never interleaved.
    let mut current: Option<u64> = None;
    let mut next_index = 0;
    let mut deltas_by_block: Vec<Vec<Value>> = Vec::new();
    let mut starts = Vec::new();
    let body_frames = &frames[2..frames.len() - 2];
    for f in body_frames {
        let data = f.json();
        match f.event.as_deref().unwrap() {
            "content_block_start" => {
                assert_eq!(current, None);
                assert_eq!(data["index"], next_index);
                current = Some(next_index);
                starts.push(data["content_block"].clone());
                deltas_by_block.push(Vec::new());
            }
            "content_block_delta" => {
                assert_eq!(Some(data["index"].as_u64().unwrap()), current);
                deltas_by_block.last_mut().unwrap().push(data["delta"].clone());
            }
            "content_block_stop" => {
                assert_eq!(Some(data["index"].as_u64().unwrap()), current);
                current = None;
                next_index += 1;
            }
            other => panic!("unexpected {other} inside the block section"),
        }
    }
    assert_eq!(next_index, 3);
    assert_eq!(starts[0], json!({"type": "thinking", "thinking": "", "signature": ""}));
    assert_eq!(starts[1], json!({"type": "text", "text": ""}));
    assert_eq!(starts[2], json!({"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}}));

    // Thinking: thinking_delta pieces, then exactly one signature_delta at the end.
    let thinking = &deltas_by_block[0];
    let (signature, pieces) = thinking.split_last().unwrap();
    assert_eq!(signature, &json!({"type": "signature_delta", "signature": "sig-abc"}));
    assert!(pieces.iter().all(|d| d["type"] == "thinking_delta"));
    let thought: String = pieces.iter().map(|d| d["thinking"].as_str().unwrap()).collect();
    assert_eq!(thought, "Let me think about the weather.");

    // Text in 4-char chunks by default.
    let text = &deltas_by_block[1];
    assert!(text.iter().all(|d| d["type"] == "text_delta" && d["text"].as_str().unwrap().chars().count() <= 4));
    let joined: String = text.iter().map(|d| d["text"].as_str().unwrap()).collect();
    assert_eq!(joined, "Checking Rome.");

    // Tool input: first fragment "", fragments concatenate to the input's JSON.
    let json_deltas = &deltas_by_block[2];
    assert!(json_deltas.iter().all(|d| d["type"] == "input_json_delta"));
    assert_eq!(json_deltas[0]["partial_json"], "");
    assert!(json_deltas.len() > 2);
    let partial: String = json_deltas.iter().map(|d| d["partial_json"].as_str().unwrap()).collect();
    let input: Value = serde_json::from_str(&partial).unwrap();
    assert_eq!(input, json!({"city": "Rome", "units": ["c", "f"], "n": 1.5}));

    let delta = frames[frames.len() - 2].json();
    assert_eq!(frames[frames.len() - 2].event.as_deref(), Some("message_delta"));
    assert_eq!(delta["delta"], json!({"stop_reason": "tool_use", "stop_sequence": null}));
    assert_eq!(delta["usage"]["output_tokens"], 20);
    assert_eq!(delta["usage"]["input_tokens"], 10);
    assert_eq!(frames.last().unwrap().event.as_deref(), Some("message_stop"));
    assert_eq!(mock.stats().streams_completed, 1);
}

#[tokio::test]
async fn empty_content_still_streams_the_full_skeleton() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("empty", Response::default());
    let resp = anthropic(&mock.anthropic_base(), "/v1/messages", &request("[[mock:empty]]", true)).await;
    let events: Vec<String> = frames(&resp.text().await.unwrap()).into_iter().map(|f| f.event.unwrap()).collect();
    assert_eq!(events, ["message_start", "ping", "message_delta", "message_stop"]);
}

#[tokio::test]
async fn stop_sequence_and_chunk_size_are_honoured() {
    let mock = MockUpstream::start().await.unwrap();
    let mut script = Response::text("abcdefghij");
    script.stop_reason = Some("stop_sequence".into());
    script.stop_sequence = Some("STOP".into());
    script.stream.chunk_size = 3;
    mock.add_script("s", script);
    let resp = anthropic(&mock.anthropic_base(), "/v1/messages", &request("[[mock:s]]", true)).await;
    let frames = frames(&resp.text().await.unwrap());
    let texts: Vec<String> = frames
        .iter()
        .filter(|f| f.event.as_deref() == Some("content_block_delta"))
        .map(|f| f.json()["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["abc", "def", "ghi", "j"]);
    let delta = frames[frames.len() - 2].json();
    assert_eq!(delta["delta"], json!({"stop_reason": "stop_sequence", "stop_sequence": "STOP"}));
}

#[tokio::test]
async fn missing_required_fields_are_rejected_like_the_real_api() {
    let mock = MockUpstream::start().await.unwrap();
    for (missing, body) in [
        ("max_tokens", json!({"model": "m", "messages": [user("x")]})),
        ("messages", json!({"model": "m", "max_tokens": 5})),
        ("model", json!({"max_tokens": 5, "messages": [user("x")]})),
    ] {
        let resp = anthropic(&mock.anthropic_base(), "/v1/messages", &body).await;
        assert_eq!(resp.status(), 400);
        let request_id = resp.headers()["request-id"].to_str().unwrap().to_owned();
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["type"], "error");
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert!(err["error"]["message"].as_str().unwrap().contains(missing), "{err}");
        assert_eq!(err["request_id"], request_id.as_str());
    }
    assert_eq!(mock.calls().len(), 3, "rejected calls are recorded too");
}

#[tokio::test]
async fn scripted_statuses_map_to_error_types() {
    let mock = MockUpstream::start().await.unwrap();
    let table = [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
        (503, "api_error"),
    ];
    for (status, kind) in table {
        let mut script = Response::error(status, Some("scripted failure"));
        script.retry_after = Some(7);
        mock.add_script(&format!("e{status}"), script);
        let resp =
            anthropic(&mock.anthropic_base(), "/v1/messages", &request(&format!("[[mock:e{status}]]"), true)).await;
        assert_eq!(resp.status().as_u16(), status);
        assert_eq!(resp.headers()["retry-after"], "7");
        assert_eq!(resp.headers()["content-type"], "application/json");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"], json!({"type": kind, "message": "scripted failure"}));
        assert!(err["request_id"].as_str().unwrap().starts_with("req_"));
    }
}

#[tokio::test]
async fn count_tokens_and_models() {
    let mock = MockUpstream::start().await.unwrap();
    let body = json!({"model": "m", "system": "abcd", "messages": [user("efghijkl")]});
    let count: Value =
        anthropic(&mock.anthropic_base(), "/v1/messages/count_tokens", &body).await.json().await.unwrap();
    assert_eq!(count, json!({"input_tokens": 3}));

    let models: Value = common::client()
        .get(format!("{}/v1/models", mock.anthropic_base()))
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["has_more"], false);
    let data = models["data"].as_array().unwrap();
    assert!(data.iter().all(|m| m["type"] == "model" && m["created_at"].as_str().unwrap().ends_with('Z')));
    assert_eq!(models["first_id"], data[0]["id"]);
    assert_eq!(models["last_id"], data.last().unwrap()["id"]);
}

#[tokio::test]
async fn require_key_accepts_either_header_and_rejects_others() {
    let mock = MockUpstream::start_with(MockOptions { require_key: Some("sekrit".into()) }).await.unwrap();
    let url = format!("{}/v1/messages", mock.anthropic_base());
    let body = request("hi", false);
    let c = common::client();
    let bad = c.post(&url).header("x-api-key", "nope").json(&body).send().await.unwrap();
    assert_eq!(bad.status(), 401);
    let err: Value = bad.json().await.unwrap();
    assert_eq!(err["error"]["type"], "authentication_error");
    let missing = c.post(&url).json(&body).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let by_key = c.post(&url).header("x-api-key", "sekrit").json(&body).send().await.unwrap();
    assert_eq!(by_key.status(), 200);
    let by_bearer = c.post(&url).bearer_auth("sekrit").json(&body).send().await.unwrap();
    assert_eq!(by_bearer.status(), 200);
}
