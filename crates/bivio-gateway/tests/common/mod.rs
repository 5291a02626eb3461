//! Test harness: a mock upstream and a bivio gateway in-process, wired by a generated config.
#![allow(dead_code)]

use std::time::Duration;

use bivio_gateway::{AppState, Config};
use bivio_mock_upstream::MockUpstream;

pub struct Harness {
    pub mock: MockUpstream,
    pub base: String,
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Models: `claude` (anthropic provider), `local` (openai_compatible), `dead` (nothing listens there),
/// `slow` (anthropic provider with a 1 s response timeout and 1 s stream idle timeout).
pub async fn start() -> Harness {
    start_with_extra("").await
}

pub async fn start_with_extra(extra: &str) -> Harness {
    let mock = MockUpstream::start().await.unwrap();
    let dead_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        max_body_bytes = 65536
        [providers.claude]
        kind = "anthropic"
        api_base = "{anthropic}"
        api_key_env = "TEST_UPSTREAM_KEY"
        [providers.local]
        kind = "openai_compatible"
        api_base = "{openai}"
        [providers.dead]
        kind = "openai_compatible"
        api_base = "http://127.0.0.1:{dead_port}/v1"
        [providers.slow]
        kind = "anthropic"
        api_base = "{anthropic}"
        response_timeout_secs = 1
        stream_idle_timeout_secs = 1
        [models.claude]
        provider = "claude"
        upstream_model = "claude-upstream"
        [models.local]
        provider = "local"
        upstream_model = "local-upstream"
        [models.dead]
        provider = "dead"
        [models.slow]
        provider = "slow"
        {extra}
        "#,
        anthropic = mock.anthropic_base(),
        openai = mock.openai_base(),
    );
    let config = Config::load_str(&config, &|var| (var == "TEST_UPSTREAM_KEY").then(|| SECRET.to_owned())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bivio_gateway::serve(listener, AppState::new(config), async {
        let _ = rx.await;
    }));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    Harness { mock, base, http, shutdown: Some(tx) }
}

/// The key bivio holds for the `claude` provider; it must reach the upstream and nothing else.
pub const SECRET: &str = "sk-ant-test-secret-4f9a";

impl Harness {
    pub async fn anthropic(&self, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/messages", self.base))
            .header("anthropic-version", "2023-06-01")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn openai(&self, body: serde_json::Value) -> reqwest::Response {
        self.http.post(format!("{}/v1/chat/completions", self.base)).json(&body).send().await.unwrap()
    }

    pub async fn send(&self, api: &str, body: serde_json::Value) -> reqwest::Response {
        match api {
            "anthropic" => self.anthropic(body).await,
            _ => self.openai(body).await,
        }
    }
}

/// A chat body for `api` with one user message.
pub fn chat_body(api: &str, model: &str, text: &str, stream: bool) -> serde_json::Value {
    match api {
        "anthropic" => serde_json::json!({
            "model": model, "max_tokens": 64, "stream": stream,
            "messages": [{ "role": "user", "content": text }],
        }),
        _ => serde_json::json!({
            "model": model, "stream": stream,
            "messages": [{ "role": "user", "content": text }],
        }),
    }
}

/// SSE frames of a body: (event name, data).
pub fn frames(body: &str) -> Vec<(Option<String>, String)> {
    let mut parser = bivio_protocol::sse::SseParser::new();
    parser.feed(body.as_bytes()).unwrap().into_iter().filter_map(|f| f.data.map(|d| (f.event, d))).collect()
}

pub const PAIRINGS: [(&str, &str); 4] =
    [("anthropic", "claude"), ("anthropic", "local"), ("openai", "claude"), ("openai", "local")];
