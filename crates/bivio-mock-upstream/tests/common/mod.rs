//! Helpers shared by the integration tests: plain HTTP calls and a strict SSE splitter.
#![allow(dead_code, reason = "each test crate uses a different subset")]
#![allow(clippy::unwrap_used, clippy::panic, reason = "test helpers: a failed unwrap is a failed assertion")]

use serde_json::Value;

/// One SSE frame: the `event:` line (if any) and the `data:` line.
#[derive(Debug, Clone)]
pub struct Frame {
    pub event: Option<String>,
    pub data: String,
}

impl Frame {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("frame data is not JSON ({e}): {}", self.data))
    }
}

/// Splits a complete SSE body into frames, insisting on the `\n\n` framing the APIs use.
pub fn frames(body: &str) -> Vec<Frame> {
    assert!(body.is_empty() || body.ends_with("\n\n"), "body does not end with a blank line: {body:?}");
    body.split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| {
            let mut frame = Frame { event: None, data: String::new() };
            for line in f.lines() {
                if let Some(event) = line.strip_prefix("event: ") {
                    frame.event = Some(event.to_owned());
                } else if let Some(data) = line.strip_prefix("data: ") {
                    frame.data = data.to_owned();
                } else {
                    panic!("unexpected SSE line {line:?}");
                }
            }
            frame
        })
        .collect()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// POSTs `body` to the mock's Anthropic endpoint `path` with the usual Anthropic headers.
pub async fn anthropic(base: &str, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{base}{path}"))
        .header("anthropic-version", "2023-06-01")
        .header("x-api-key", "test-key")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// POSTs `body` to the mock's OpenAI `path` (relative to the `/v1` base).
pub async fn openai(base: &str, path: &str, body: &Value) -> reqwest::Response {
    client().post(format!("{base}{path}")).bearer_auth("test-key").json(body).send().await.unwrap()
}

pub fn user(text: &str) -> Value {
    serde_json::json!({"role": "user", "content": text})
}
