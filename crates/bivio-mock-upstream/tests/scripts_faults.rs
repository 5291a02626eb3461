//! Script selection, the control API, call recording and stream fault injection.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test crate: helpers outside #[test] fns assert by unwrapping too"
)]

mod common;

use std::time::{Duration, Instant};

use bivio_mock_upstream::{Block, MockUpstream, Response, Script, StreamOpts};
use common::{anthropic, frames, openai, user};
use serde_json::{Value, json};

fn anthropic_request(messages: Value, stream: bool) -> Value {
    json!({"model": "m", "max_tokens": 64, "stream": stream, "messages": messages})
}

fn streamed(opts: StreamOpts) -> Response {
    Response { stream: opts, ..Response::text("one two three four five six") }
}

#[tokio::test]
async fn steps_are_chosen_by_assistant_turns_for_a_tool_round_trip() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script(
        "weather",
        Script::steps([
            Response::blocks([Block::tool_use("toolu_1", "get_weather", json!({"city": "Rome"}))]),
            Response::text("It is sunny in Rome."),
        ]),
    );
    // Anthropic round trip.
    let first = json!([user("[[mock:weather]] weather in Rome?")]);
    let step0: Value =
        anthropic(&mock.anthropic_base(), "/v1/messages", &anthropic_request(first, false)).await.json().await.unwrap();
    assert_eq!(step0["stop_reason"], "tool_use");
    let second = json!([
        user("[[mock:weather]] weather in Rome?"),
        {"role": "assistant", "content": step0["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
    ]);
    let step1: Value = anthropic(&mock.anthropic_base(), "/v1/messages", &anthropic_request(second, false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(step1["content"][0]["text"], "It is sunny in Rome.");
    assert_eq!(step1["stop_reason"], "end_turn");

    // OpenAI round trip: assistant with tool_calls, then a tool message.
    let messages = json!([
        {"role": "system", "content": "[[mock:weather]]"},
        user("weather?"),
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
    ]);
    let body: Value = openai(&mock.openai_base(), "/chat/completions", &json!({"model": "m", "messages": messages}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "It is sunny in Rome.");
}

#[tokio::test]
async fn unknown_script_is_a_loud_500() {
    let mock = MockUpstream::start().await.unwrap();
    let resp =
        anthropic(&mock.anthropic_base(), "/v1/messages", &anthropic_request(json!([user("[[mock:typo]]")]), false))
            .await;
    assert_eq!(resp.status(), 500);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "api_error");
    assert!(err["error"]["message"].as_str().unwrap().contains("unknown script"));
    let resp =
        openai(&mock.openai_base(), "/chat/completions", &json!({"model": "m", "messages": [user("[[mock:typo]]")]}))
            .await;
    assert_eq!(resp.status(), 500);
}

#[tokio::test]
async fn control_api_registers_scripts_and_exposes_calls_stats_reset() {
    let mock = MockUpstream::start().await.unwrap();
    let c = common::client();
    let base = mock.anthropic_base();
    let ok = c
        .post(format!("{base}/_mock/scripts"))
        .json(&json!({"key": "k", "script": {"content": [{"type": "text", "text": "from json"}], "usage": {"output_tokens": 9}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let bad = c
        .post(format!("{base}/_mock/scripts"))
        .json(&json!({"key": "k", "script": {"content": [{"type": "txt"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("txt"));

    let body: Value = anthropic(&base, "/v1/messages", &anthropic_request(json!([user("[[mock:k]]")]), false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["content"][0]["text"], "from json");
    assert_eq!(body["usage"]["output_tokens"], 9);

    let raw = c.post(format!("{base}/v1/messages")).body("not json").send().await.unwrap();
    assert_eq!(raw.status(), 400);
    let lost = c.get(format!("{base}/v1/nowhere?x=1")).header("anthropic-version", "2023-06-01").send().await.unwrap();
    assert_eq!(lost.status(), 404);
    let lost: Value = lost.json().await.unwrap();
    assert_eq!(lost["error"]["type"], "not_found_error");

    let calls: Value = c.get(format!("{base}/_mock/calls")).send().await.unwrap().json().await.unwrap();
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0]["method"], "POST");
    assert_eq!(calls[0]["path"], "/v1/messages");
    assert_eq!(calls[0]["body"]["messages"][0]["content"], "[[mock:k]]");
    assert_eq!(calls[0]["body_is_json"], true);
    assert!(calls[0]["headers"].as_array().unwrap().contains(&json!(["x-api-key", "test-key"])));
    assert_eq!(calls[1]["body"], "not json");
    assert_eq!(calls[1]["body_is_json"], false);
    assert_eq!(calls[2]["path"], "/v1/nowhere");
    assert_eq!(calls[2]["query"], "x=1");
    assert_eq!(mock.calls()[0].header("Anthropic-Version"), Some("2023-06-01"));

    let stats: Value = c.get(format!("{base}/_mock/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats, json!({"calls": 3, "streams_started": 0, "streams_completed": 0, "streams_cancelled": 0}));

    let reset = c.post(format!("{base}/_mock/reset")).send().await.unwrap();
    assert_eq!(reset.status(), 200);
    assert!(mock.calls().is_empty());
    assert_eq!(mock.stats().calls, 0);
    let after = anthropic(&base, "/v1/messages", &anthropic_request(json!([user("[[mock:k]]")]), false)).await;
    assert_eq!(after.status(), 500, "scripts are forgotten on reset");
}

#[tokio::test]
async fn delay_ms_holds_back_the_headers() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("slow", Response { delay_ms: 300, ..Response::text("late") });
    let started = Instant::now();
    let resp =
        anthropic(&mock.anthropic_base(), "/v1/messages", &anthropic_request(json!([user("[[mock:slow]]")]), false))
            .await;
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(mock.stats().calls, 1, "recorded before the delay");
}

async fn anthropic_stream(mock: &MockUpstream, key: &str) -> reqwest::Response {
    anthropic(
        &mock.anthropic_base(),
        "/v1/messages",
        &anthropic_request(json!([user(&format!("[[mock:{key}]]"))]), true),
    )
    .await
}

async fn openai_stream(mock: &MockUpstream, key: &str) -> reqwest::Response {
    let body = json!({"model": "m", "stream": true, "messages": [user(&format!("[[mock:{key}]]"))]});
    openai(&mock.openai_base(), "/chat/completions", &body).await
}

#[tokio::test]
async fn cut_ends_the_body_cleanly_but_early() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("cut", streamed(StreamOpts { cut_after_frames: Some(4), ..StreamOpts::default() }));
    let got = frames(&anthropic_stream(&mock, "cut").await.text().await.unwrap());
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|f| f.event.as_deref() != Some("message_stop")));
    assert_eq!(got[3].event.as_deref(), Some("content_block_delta"));

    let got = frames(&openai_stream(&mock, "cut").await.text().await.unwrap());
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|f| f.data != "[DONE]"));
    assert_eq!(mock.stats().streams_completed, 2);
}

#[tokio::test]
async fn garbage_sends_one_non_json_frame_then_ends() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("junk", streamed(StreamOpts { garbage_after_frames: Some(3), ..StreamOpts::default() }));
    let got = frames(&anthropic_stream(&mock, "junk").await.text().await.unwrap());
    assert_eq!(got.len(), 4);
    assert!(serde_json::from_str::<Value>(&got[3].data).is_err());
    assert!(got[3].event.is_some(), "the SDK ignores frames without an event line");
    let got = frames(&openai_stream(&mock, "junk").await.text().await.unwrap());
    assert_eq!(got.len(), 4);
    assert!(serde_json::from_str::<Value>(&got[3].data).is_err());
}

#[tokio::test]
async fn error_sends_the_in_stream_error_then_ends() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("boom", streamed(StreamOpts { error_after_frames: Some(2), ..StreamOpts::default() }));
    let got = frames(&anthropic_stream(&mock, "boom").await.text().await.unwrap());
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].event.as_deref(), Some("error"));
    let err = got[2].json();
    assert_eq!(err["type"], "error");
    assert_eq!(err["error"]["type"], "overloaded_error");

    let got = frames(&openai_stream(&mock, "boom").await.text().await.unwrap());
    assert_eq!(got.len(), 3);
    let err = got[2].json();
    assert!(err["error"]["message"].is_string());
    assert_eq!(err["error"]["param"], Value::Null);
}

#[tokio::test]
async fn abort_breaks_the_connection() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("abort", streamed(StreamOpts { abort_after_frames: Some(2), ..StreamOpts::default() }));
    let mut resp = anthropic_stream(&mock, "abort").await;
    assert_eq!(resp.status(), 200);
    let mut received = Vec::new();
    let error = loop {
        match resp.chunk().await {
            Ok(Some(bytes)) => received.extend_from_slice(&bytes),
            Ok(None) => panic!("an aborted body must not end cleanly"),
            Err(err) => break err,
        }
    };
    assert!(error.is_body() || error.is_decode() || error.is_request(), "{error:?}");
    let got = frames(&String::from_utf8(received).unwrap());
    let events: Vec<_> = got.iter().map(|f| f.event.as_deref().unwrap()).collect();
    assert_eq!(events, ["message_start", "ping"], "the frames before the abort arrive");
}
