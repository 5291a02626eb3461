//! The OpenAI-compatible endpoint, checked against the documented wire format.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test crate: helpers outside #[test] fns assert by unwrapping too"
)]

mod common;

use bivio_mock_upstream::{Block, MockOptions, MockUpstream, OpenAiQuirk, Response, UsageSpec};
use common::{frames, openai, user};
use serde_json::{Value, json};

fn request(text: &str, stream: bool, include_usage: bool) -> Value {
    let mut body = json!({"model": "gpt-test", "stream": stream, "messages": [user(text)]});
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

fn tools_script() -> Response {
    Response {
        usage: Some(UsageSpec {
            input_tokens: Some(10),
            output_tokens: Some(6),
            cache_read_input_tokens: 4,
            cache_creation_input_tokens: 2,
        }),
        ..Response::blocks([
            Block::thinking("need two lookups", "sig"),
            Block::text("Looking up."),
            Block::tool_use("call_a", "get_weather", json!({"city": "Rome"})),
            Block::tool_use("call_b", "get_time", json!({"tz": "Europe/Rome"})),
        ])
    }
}

/// Chunks of a stream (the `[DONE]` marker checked and removed).
async fn chunks(resp: reqwest::Response) -> Vec<Value> {
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let frames = frames(&resp.text().await.unwrap());
    assert!(frames.iter().all(|f| f.event.is_none()));
    let (done, rest) = frames.split_last().unwrap();
    assert_eq!(done.data, "[DONE]");
    rest.iter().map(|f| f.json()).collect()
}

#[tokio::test]
async fn non_stream_echo_has_the_completion_shape() {
    let mock = MockUpstream::start().await.unwrap();
    let body: Value = openai(&mock.openai_base(), "/chat/completions", &request("hi there", false, false))
        .await
        .json()
        .await
        .unwrap();
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(body["model"], "gpt-test");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "echo: hi there");
    assert!(choice["message"].get("tool_calls").is_none());
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["logprobs"], Value::Null);
    assert_eq!(body["usage"]["prompt_tokens"], 2);
    assert_eq!(body["usage"]["completion_tokens"], 3);
    assert_eq!(body["usage"]["total_tokens"], 5);
}

#[tokio::test]
async fn non_stream_tool_calls_and_usage_mapping() {
    let mock = MockUpstream::start().await.unwrap();
    let mut only_tools = Response::blocks([Block::tool_use("call_x", "f", json!({"a": [1, 2]}))]);
    only_tools.stop_reason = Some("tool_use".into());
    mock.add_script("tools", tools_script());
    mock.add_script("only", only_tools);

    let body: Value = openai(&mock.openai_base(), "/chat/completions", &request("[[mock:tools]]", false, false))
        .await
        .json()
        .await
        .unwrap();
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], "Looking up.");
    assert_eq!(message["reasoning_content"], "need two lookups");
    assert_eq!(
        message["tool_calls"],
        json!([
            {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}},
            {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"Europe/Rome\"}"}},
        ])
    );
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        body["usage"],
        json!({
            "prompt_tokens": 16, "completion_tokens": 6, "total_tokens": 22,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 3},
        })
    );

    let body: Value = openai(&mock.openai_base(), "/chat/completions", &request("[[mock:only]]", false, false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], Value::Null);
}

#[tokio::test]
async fn finish_reasons_follow_the_mapping_table() {
    let mock = MockUpstream::start().await.unwrap();
    for (stop, finish) in
        [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("refusal", "content_filter")]
    {
        let mut script = Response::text("x");
        script.stop_reason = Some(stop.into());
        mock.add_script(stop, script);
        let marker = format!("[[mock:{stop}]]");
        let body: Value = openai(&mock.openai_base(), "/chat/completions", &request(&marker, false, false))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["choices"][0]["finish_reason"], finish, "{stop}");
        let chunks =
            chunks(openai(&mock.openai_base(), "/chat/completions", &request(&marker, true, false)).await).await;
        assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], finish, "{stop}");
    }
}

#[tokio::test]
async fn stream_chunks_follow_the_documented_shape() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("tools", tools_script());
    let chunks =
        chunks(openai(&mock.openai_base(), "/chat/completions", &request("[[mock:tools]]", true, false)).await).await;

    let id = chunks[0]["id"].as_str().unwrap().to_owned();
    let created = chunks[0]["created"].clone();
    assert!(id.starts_with("chatcmpl-"));
    for c in &chunks {
        assert_eq!(c["id"], id.as_str());
        assert_eq!(c["created"], created);
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["model"], "gpt-test");
        assert!(c.get("usage").is_none(), "no usage without include_usage: {c}");
        assert_eq!(c["choices"].as_array().unwrap().len(), 1);
    }
    let deltas: Vec<&Value> = chunks.iter().map(|c| &c["choices"][0]["delta"]).collect();
    assert_eq!(deltas[0], &json!({"role": "assistant", "content": ""}));

    let reasoning: String = deltas.iter().filter_map(|d| d["reasoning_content"].as_str()).collect();
    assert_eq!(reasoning, "need two lookups");
    let content: String = deltas.iter().filter_map(|d| d["content"].as_str()).collect();
    assert_eq!(content, "Looking up.");

    // Tool calls: the first fragment of each call has index, id, type, name and "" arguments;
    // later fragments only index + arguments; index counts tool calls only.
    let fragments: Vec<&Value> = deltas
        .iter()
        .filter_map(|d| d.get("tool_calls"))
        .map(|calls| {
            assert_eq!(calls.as_array().unwrap().len(), 1);
            &calls[0]
        })
        .collect();
    let mut args = [String::new(), String::new()];
    let mut seen_head = [false, false];
    for f in fragments {
        let index = usize::try_from(f["index"].as_u64().unwrap()).unwrap();
        let obj = f.as_object().unwrap();
        if !seen_head[index] {
            seen_head[index] = true;
            assert_eq!(f["id"], ["call_a", "call_b"][index]);
            assert_eq!(f["type"], "function");
            assert_eq!(f["function"]["name"], ["get_weather", "get_time"][index]);
            assert_eq!(f["function"]["arguments"], "");
        } else {
            let mut keys: Vec<&String> = obj.keys().collect();
            keys.sort();
            assert_eq!(keys, ["function", "index"]);
            assert_eq!(f["function"].as_object().unwrap().len(), 1);
            args[index].push_str(f["function"]["arguments"].as_str().unwrap());
        }
    }
    assert_eq!(seen_head, [true, true]);
    assert_eq!(serde_json::from_str::<Value>(&args[0]).unwrap(), json!({"city": "Rome"}));
    assert_eq!(serde_json::from_str::<Value>(&args[1]).unwrap(), json!({"tz": "Europe/Rome"}));

    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["delta"], json!({}));
    assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
    assert!(chunks[..chunks.len() - 1].iter().all(|c| c["choices"][0]["finish_reason"].is_null()));
}

#[tokio::test]
async fn include_usage_adds_one_usage_chunk_only_when_asked() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("tools", tools_script());
    let with =
        chunks(openai(&mock.openai_base(), "/chat/completions", &request("[[mock:tools]]", true, true)).await).await;
    let (usage_chunk, rest) = with.split_last().unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["usage"]["prompt_tokens"], 16);
    assert_eq!(usage_chunk["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
    assert_eq!(usage_chunk["id"], rest[0]["id"]);
    assert_eq!(rest.last().unwrap()["choices"][0]["finish_reason"], "tool_calls");
    assert!(rest.iter().all(|c| c["usage"].is_null()));

    let without =
        chunks(openai(&mock.openai_base(), "/chat/completions", &request("[[mock:tools]]", true, false)).await).await;
    assert!(without.iter().all(|c| c.get("usage").is_none()));
    assert_eq!(without.len(), with.len() - 1);
}

#[tokio::test]
async fn quirks_emulate_real_backends() {
    let mock = MockUpstream::start().await.unwrap();
    let mut script = tools_script();
    script.stream.openai_quirks = vec![
        OpenAiQuirk::StopWithToolCalls,
        OpenAiQuirk::ReasoningField,
        OpenAiQuirk::UsageAlways,
        OpenAiQuirk::EmptyToolCallsWithText,
        OpenAiQuirk::AllCallsIndex0,
    ];
    mock.add_script("q", script);
    let chunks =
        chunks(openai(&mock.openai_base(), "/chat/completions", &request("[[mock:q]]", true, false)).await).await;
    let (usage, rest) = chunks.split_last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(rest.last().unwrap()["choices"][0]["finish_reason"], "stop");
    let deltas: Vec<&Value> = rest.iter().map(|c| &c["choices"][0]["delta"]).collect();
    assert!(deltas.iter().any(|d| d.get("reasoning").is_some()));
    assert!(deltas.iter().all(|d| d.get("reasoning_content").is_none()));
    assert!(
        deltas
            .iter()
            .filter(|d| d.get("content").is_some() && d["content"] != "")
            .all(|d| d["tool_calls"] == json!([]))
    );
    let indices: Vec<&Value> = deltas.iter().filter_map(|d| d["tool_calls"].get(0)).map(|f| &f["index"]).collect();
    assert!(!indices.is_empty() && indices.iter().all(|i| **i == 0));

    let body: Value = openai(&mock.openai_base(), "/chat/completions", &request("[[mock:q]]", false, false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["choices"][0]["message"]["reasoning"], "need two lookups");
}

#[tokio::test]
async fn errors_have_the_openai_shape() {
    let mock = MockUpstream::start().await.unwrap();
    let mut limited = Response::error(429, None);
    limited.retry_after = Some(3);
    mock.add_script("429", limited);
    let resp = openai(&mock.openai_base(), "/chat/completions", &request("[[mock:429]]", true, false)).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "3");
    let err: Value = resp.json().await.unwrap();
    let keys: Vec<&String> = err["error"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["message", "type", "param", "code"]);
    assert_eq!(err["error"]["param"], Value::Null);
    assert_eq!(err["error"]["code"], "rate_limit_exceeded");

    for body in [json!({"model": "m"}), json!({"messages": [user("x")]})] {
        let resp = openai(&mock.openai_base(), "/chat/completions", &body).await;
        assert_eq!(resp.status(), 400);
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["type"], "invalid_request_error");
    }

    let guarded = MockUpstream::start_with(MockOptions { require_key: Some("k".into()) }).await.unwrap();
    let resp = openai(&guarded.openai_base(), "/chat/completions", &request("x", false, false)).await;
    assert_eq!(resp.status(), 401);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid_api_key");
}

#[tokio::test]
async fn models_list_has_the_openai_shape_without_anthropic_version() {
    let mock = MockUpstream::start().await.unwrap();
    let models: Value =
        common::client().get(format!("{}/models", mock.openai_base())).send().await.unwrap().json().await.unwrap();
    assert_eq!(models["object"], "list");
    for m in models["data"].as_array().unwrap() {
        assert_eq!(m["object"], "model");
        assert!(m["id"].is_string() && m["created"].is_u64() && m["owned_by"].is_string());
    }
}
