//! Same-API requests are forwarded with the fewest changes; cross-API requests are translated; credentials
//! reach the upstream and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{SECRET, chat_body, frames};
use serde_json::{Value, json};

#[tokio::test]
async fn anthropic_passthrough_keeps_unmodelled_fields_blocks_and_beta_headers() {
    let h = common::start().await;
    let body = json!({
        "model": "claude",
        "max_tokens": 32,
        "some_new_param": { "x": 1, "nested": [1.5, "a"] },
        "system": [{ "type": "text", "text": "be brief", "cache_control": { "type": "ephemeral" } }],
        "messages": [
            { "role": "user", "content": "first" },
            { "role": "assistant", "content": [
                { "type": "thinking", "thinking": "hmm", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDSc/sig==" },
                // Server tools: block types bivio does not model travel untouched.
                { "type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": { "query": "q" } },
                { "type": "web_search_tool_result", "tool_use_id": "srvtoolu_1",
                  "content": [{ "type": "web_search_result", "url": "https://example.com", "title": "t",
                                "encrypted_content": "Eq…", "page_age": null }] },
                { "type": "text", "text": "ok" }
            ]},
            { "role": "user", "content": [{ "type": "text", "text": "second", "cache_control": { "type": "ephemeral" } }] }
        ]
    });
    let response = h
        .http
        .post(format!("{}/v1/messages", h.base))
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .header("x-api-key", "client-key-not-forwarded")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let calls = h.mock.calls();
    let call = calls.last().unwrap();
    let mut expected = body.clone();
    expected["model"] = json!("claude-upstream");
    assert_eq!(call.body, expected, "only the model name changes");
    assert_eq!(call.header("anthropic-beta"), Some("interleaved-thinking-2025-05-14"));
    assert_eq!(call.header("anthropic-version"), Some("2023-06-01"));
    // bivio's own key goes upstream, never the client's.
    assert_eq!(call.header("x-api-key"), Some(SECRET));
}

#[tokio::test]
async fn openai_passthrough_keeps_unmodelled_fields() {
    let h = common::start().await;
    let body = json!({
        "model": "local",
        "messages": [{ "role": "user", "content": "hi" }],
        "logit_bias": { "42": -100 },
        "vendor_extension": { "mirostat": 2 },
        "max_completion_tokens": 9
    });
    assert_eq!(h.openai(body.clone()).await.status(), 200);
    let mut expected = body;
    expected["model"] = json!("local-upstream");
    // Local servers ignore max_completion_tokens: bivio sends it as max_tokens.
    let limit = expected.as_object_mut().unwrap().remove("max_completion_tokens").unwrap();
    expected["max_tokens"] = limit;
    assert_eq!(h.mock.calls().last().unwrap().body, expected);
}

#[tokio::test]
async fn openai_passthrough_stream_asks_for_usage_but_only_forwards_it_when_requested() {
    let h = common::start().await;
    let text = h.openai(chat_body("openai", "local", "hello", true)).await.text().await.unwrap();
    let upstream = h.mock.calls().last().unwrap().body.clone();
    assert_eq!(upstream["stream_options"]["include_usage"], true, "bivio needs usage for accounting");
    let chunks: Vec<Value> = frames(&text)
        .into_iter()
        .filter(|(_, d)| d != "[DONE]")
        .map(|(_, d)| serde_json::from_str(&d).unwrap())
        .collect();
    assert!(chunks.iter().all(|c| !c["choices"].as_array().unwrap().is_empty()), "no usage-only chunk: {text}");
    assert!(text.ends_with("data: [DONE]\n\n"));

    let mut body = chat_body("openai", "local", "hello", true);
    body["stream_options"] = json!({ "include_usage": true });
    let text = h.openai(body).await.text().await.unwrap();
    let chunks: Vec<Value> = frames(&text)
        .into_iter()
        .filter(|(_, d)| d != "[DONE]")
        .map(|(_, d)| serde_json::from_str(&d).unwrap())
        .collect();
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert!(last["usage"]["completion_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn translation_sends_the_backends_own_shape() {
    let h = common::start().await;
    // OpenAI client → Claude: system collapsed, max_tokens defaulted, temperature clamped, n=1 fine.
    let body = json!({
        "model": "claude",
        "temperature": 1.7,
        "messages": [
            { "role": "system", "content": "rule one" },
            { "role": "developer", "content": "rule two" },
            { "role": "user", "content": "hi" }
        ]
    });
    assert_eq!(h.openai(body).await.status(), 200);
    let sent = h.mock.calls().last().unwrap().body.clone();
    assert_eq!(sent["model"], "claude-upstream");
    assert_eq!(sent["max_tokens"], bivio_protocol::anthropic::DEFAULT_MAX_TOKENS);
    assert_eq!(sent["temperature"], 1.0);
    assert_eq!(sent["system"], json!([{ "type": "text", "text": "rule one" }, { "type": "text", "text": "rule two" }]));
    assert_eq!(sent["messages"], json!([{ "role": "user", "content": [{ "type": "text", "text": "hi" }] }]));

    // Anthropic client → OpenAI-compatible: one leading system message, max_tokens (not max_completion_tokens).
    let body = json!({ "model": "local", "max_tokens": 20, "system": "be kind", "messages": [{ "role": "user", "content": "yo" }], "stream": true });
    let text = h.anthropic(body).await.text().await.unwrap();
    assert!(text.contains("event: message_stop"));
    let sent = h.mock.calls().last().unwrap().body.clone();
    assert_eq!(
        sent["messages"],
        json!([{ "role": "system", "content": "be kind" }, { "role": "user", "content": "yo" }])
    );
    assert_eq!(sent["max_tokens"], 20);
    assert_eq!(sent["stream_options"]["include_usage"], true);

    // n > 1 cannot be served by Claude: a clear 400 before any upstream call.
    let calls_before = h.mock.stats().calls;
    let response =
        h.openai(json!({ "model": "claude", "n": 2, "messages": [{ "role": "user", "content": "x" }] })).await;
    assert_eq!(response.status(), 400);
    assert_eq!(h.mock.stats().calls, calls_before);
}

#[tokio::test]
async fn the_upstream_key_never_appears_in_responses() {
    let h = common::start().await;
    h.mock.add_script(
        "401",
        bivio_mock_upstream::Script::Single(serde_json::from_value(json!({ "status": 401 })).unwrap()),
    );
    for (api, model) in common::PAIRINGS {
        for stream in [false, true] {
            let response = h.send(api, chat_body(api, model, "[[mock:401]] x", stream)).await;
            let headers = format!("{:?}", response.headers());
            let body = response.text().await.unwrap();
            assert!(!body.contains(SECRET) && !headers.contains(SECRET));
        }
    }
}

#[tokio::test]
async fn models_and_count_tokens() {
    let h = common::start().await;
    let openai: Value = h.http.get(format!("{}/v1/models", h.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(openai["object"], "list");
    assert!(openai["data"].as_array().unwrap().iter().any(|m| m["id"] == "claude"));
    let anthropic: Value = h
        .http
        .get(format!("{}/v1/models", h.base))
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anthropic["has_more"], false);
    assert_eq!(anthropic["data"][0]["type"], "model");
    assert_eq!(anthropic["first_id"], anthropic["data"][0]["id"]);

    // Claude models: counted by the upstream; others: estimated locally (bytes / 4).
    let body = json!({ "model": "claude", "messages": [{ "role": "user", "content": "count these words please" }] });
    let counted: Value = h
        .http
        .post(format!("{}/v1/messages/count_tokens", h.base))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(counted["input_tokens"].as_u64().unwrap() >= 1);
    assert_eq!(h.mock.calls().last().unwrap().path, "/v1/messages/count_tokens");
    assert_eq!(h.mock.calls().last().unwrap().body["model"], "claude-upstream");
    let body = json!({ "model": "local", "messages": [{ "role": "user", "content": "x".repeat(40) }] });
    let estimated: Value = h
        .http
        .post(format!("{}/v1/messages/count_tokens", h.base))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(estimated["input_tokens"], 10, "40 bytes of text / 4");
}
