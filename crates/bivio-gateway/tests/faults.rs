//! Failures, before and during streams, through every client/backend pairing: each ends in the documented
//! client-visible behaviour, in the client's API shape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use bivio_mock_upstream::Script;
use common::{PAIRINGS, chat_body, frames};
use serde_json::{Value, json};

fn script(value: Value) -> Script {
    Script::Single(serde_json::from_value(value).unwrap())
}

/// The last data frame of an SSE body must be the client API's in-stream error.
fn assert_ends_in_stream_error(api: &str, body: &str) {
    let frames = frames(body);
    let (event, data) = frames.last().expect("at least one frame");
    let data: Value = serde_json::from_str(data).unwrap();
    match api {
        "anthropic" => {
            assert_eq!(event.as_deref(), Some("error"), "body: {body}");
            assert_eq!(data["type"], "error");
            assert!(data["error"]["type"].is_string());
            assert!(!frames.iter().any(|(e, _)| e.as_deref() == Some("message_stop")));
        }
        _ => {
            assert!(data["error"]["message"].is_string(), "body: {body}");
            assert!(!body.contains("[DONE]"));
        }
    }
}

#[tokio::test]
async fn a_stream_cut_midway_ends_in_an_error_event() {
    let h = common::start().await;
    h.mock.add_script("cut", script(json!({ "content": [{"type":"text","text":"a long answer that is cut"}], "stream": { "cut_after_frames": 4 } })));
    for (api, model) in PAIRINGS {
        let response = h.send(api, chat_body(api, model, "[[mock:cut]] go", true)).await;
        assert_eq!(response.status(), 200, "{api}->{model}");
        assert_ends_in_stream_error(api, &response.text().await.unwrap());
    }
}

#[tokio::test]
async fn garbage_in_a_stream_ends_in_an_error_event() {
    let h = common::start().await;
    h.mock.add_script(
        "garbage",
        script(
            json!({ "content": [{"type":"text","text":"some text here"}], "stream": { "garbage_after_frames": 3 } }),
        ),
    );
    for (api, model) in PAIRINGS {
        let response = h.send(api, chat_body(api, model, "[[mock:garbage]] go", true)).await;
        assert_ends_in_stream_error(api, &response.text().await.unwrap());
    }
}

#[tokio::test]
async fn a_broken_connection_mid_stream_ends_in_an_error_event() {
    let h = common::start().await;
    h.mock.add_script(
        "abort",
        script(json!({ "content": [{"type":"text","text":"some text here"}], "stream": { "abort_after_frames": 3 } })),
    );
    for (api, model) in PAIRINGS {
        let response = h.send(api, chat_body(api, model, "[[mock:abort]] go", true)).await;
        assert_ends_in_stream_error(api, &response.text().await.unwrap());
    }
}

#[tokio::test]
async fn an_upstream_in_stream_error_reaches_the_client_in_its_shape() {
    let h = common::start().await;
    h.mock.add_script(
        "err",
        script(json!({ "content": [{"type":"text","text":"some text here"}], "stream": { "error_after_frames": 3 } })),
    );
    for (api, model) in PAIRINGS {
        let response = h.send(api, chat_body(api, model, "[[mock:err]] go", true)).await;
        assert_ends_in_stream_error(api, &response.text().await.unwrap());
    }
}

#[tokio::test]
async fn upstream_statuses_map_to_the_client_with_retry_after() {
    let h = common::start().await;
    h.mock.add_script("429", script(json!({ "status": 429, "retry_after": 7, "error_message": "slow down" })));
    h.mock.add_script("529", script(json!({ "status": 529 })));
    h.mock.add_script("500", script(json!({ "status": 500 })));
    for (api, model) in PAIRINGS {
        for stream in [false, true] {
            let response = h.send(api, chat_body(api, model, "[[mock:429]] go", stream)).await;
            assert_eq!(response.status(), 429, "{api}->{model}");
            assert_eq!(response.headers()["retry-after"], "7");
            let body: Value = response.json().await.unwrap();
            if api == "anthropic" {
                assert_eq!(body["error"]["type"], "rate_limit_error");
                assert_eq!(body["error"]["message"], "slow down");
            } else {
                assert_eq!(body["error"]["type"], "rate_limit_exceeded");
                assert_eq!(body["error"]["message"], "slow down");
            }
            let response = h.send(api, chat_body(api, model, "[[mock:529]] go", stream)).await;
            assert_eq!(response.status(), 529);
            let response = h.send(api, chat_body(api, model, "[[mock:500]] go", stream)).await;
            assert_eq!(response.status(), 500);
        }
    }
}

#[tokio::test]
async fn connection_refused_is_a_502_in_the_clients_shape() {
    let h = common::start().await;
    for api in ["anthropic", "openai"] {
        for stream in [false, true] {
            let response = h.send(api, chat_body(api, "dead", "hello", stream)).await;
            assert_eq!(response.status(), 502);
            let body: Value = response.json().await.unwrap();
            // Both APIs put the message at error.message.
            let message = &body["error"]["message"];
            assert_eq!(message, "could not connect to provider `dead`");
        }
    }
}

#[tokio::test]
async fn a_slow_upstream_times_out_with_504() {
    let h = common::start().await;
    h.mock.add_script("slow", script(json!({ "delay_ms": 3000, "content": [{"type":"text","text":"late"}] })));
    let response = h.send("anthropic", chat_body("anthropic", "slow", "[[mock:slow]] go", false)).await;
    assert_eq!(response.status(), 504);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "timeout_error");
}

#[tokio::test]
async fn a_silent_stream_times_out_in_stream() {
    let h = common::start().await;
    h.mock.add_script(
        "stall",
        script(json!({ "content": [{"type":"text","text":"slow words"}], "stream": { "chunk_delay_ms": 2500 } })),
    );
    let response = h.send("openai", chat_body("openai", "slow", "[[mock:stall]] go", true)).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert_ends_in_stream_error("openai", &body);
    assert!(body.contains("stopped sending the stream"), "{body}");
}

#[tokio::test]
async fn a_client_disconnect_cancels_the_upstream_stream() {
    let h = common::start().await;
    for (api, model) in PAIRINGS {
        // Reset clears scripts and counters alike.
        h.mock.reset();
        h.mock.add_script("slowstream", script(json!({ "content": [{"type":"text","text":"one two three four five six seven eight nine ten"}], "stream": { "chunk_delay_ms": 200, "chunk_size": 2 } })));
        let mut response = h.send(api, chat_body(api, model, "[[mock:slowstream]] go", true)).await;
        assert_eq!(response.status(), 200);
        // Read the first bytes, then hang up.
        let first = response.chunk().await.unwrap();
        assert!(first.is_some());
        drop(response);
        let stats = h.mock.wait_for_stats(Duration::from_secs(10), |s| s.streams_cancelled >= 1).await;
        assert_eq!(stats.streams_cancelled, 1, "{api}->{model}: {stats:?}");
        assert_eq!(stats.streams_completed, 0, "{api}->{model}");
    }
}

#[tokio::test]
async fn bad_input_gets_clear_errors_in_each_apis_shape() {
    let h = common::start().await;
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("anthropic", "/v1/messages", b"{not json".to_vec(), 400, "not valid JSON"),
        ("openai", "/v1/chat/completions", b"{not json".to_vec(), 400, "not valid JSON"),
        (
            "anthropic",
            "/v1/messages",
            br#"{"model":"claude","messages":[{"role":"user","content":"x"}]}"#.to_vec(),
            400,
            "max_tokens",
        ),
        ("anthropic", "/v1/messages", br#"{"model":"claude","max_tokens":5}"#.to_vec(), 400, "messages"),
        ("openai", "/v1/chat/completions", br#"{"model":"local"}"#.to_vec(), 400, "messages"),
        ("openai", "/v1/chat/completions", br#"{"model":"local","messages":"hi"}"#.to_vec(), 400, "invalid type"),
        (
            "anthropic",
            "/v1/messages",
            br#"{"model":"claude","max_tokens":"many","messages":[]}"#.to_vec(),
            400,
            "invalid type",
        ),
        (
            "anthropic",
            "/v1/messages",
            br#"{"model":"nope","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#.to_vec(),
            404,
            "model `nope` is not configured",
        ),
        (
            "openai",
            "/v1/chat/completions",
            br#"{"model":"nope","messages":[{"role":"user","content":"x"}]}"#.to_vec(),
            404,
            "model `nope` is not configured",
        ),
        ("openai", "/v1/chat/completions", vec![b' '; 70_000], 413, "exceeds"),
        ("anthropic", "/v1/messages", vec![b' '; 70_000], 413, "exceeds"),
    ];
    for (api, path, body, status, needle) in cases {
        let mut request = h.http.post(format!("{}{path}", h.base)).body(body);
        if api == "anthropic" {
            request = request.header("anthropic-version", "2023-06-01");
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{api} {path} {needle}");
        let body: Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{message} lacks {needle}");
        if api == "anthropic" {
            assert_eq!(body["type"], "error");
            assert!(body["request_id"].as_str().unwrap().starts_with("req_"));
        } else {
            assert!(body["error"]["type"].is_string());
        }
    }
    let response = h.http.get(format!("{}/v2/nothing", h.base)).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "not_found_error");
    let response = h.http.get(format!("{}/v1/messages", h.base)).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    // Nothing bad reached the upstream.
    assert_eq!(h.mock.stats().calls, 0);
}
