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
    ledger: Option<bivio_ledger::Ledger>,
    /// The ledger's SQLite file (in `_dir`).
    pub ledger_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Models: `claude` (anthropic provider), `local` (openai_compatible, on premises), `dead` (on premises, nothing listens there),
/// `slow` (anthropic provider with a 1 s response timeout and 1 s stream idle timeout).
pub async fn start() -> Harness {
    start_with_extra("").await
}

pub async fn start_with_extra(extra: &str) -> Harness {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger_path = dir.path().join("ledger.sqlite3");
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
        local = true
        [providers.dead]
        kind = "openai_compatible"
        api_base = "http://127.0.0.1:{dead_port}/v1"
        local = true
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
        [ledger]
        path = "{ledger}"
        flush_interval_ms = 0
        {extra}
        "#,
        anthropic = mock.anthropic_base(),
        openai = mock.openai_base(),
        ledger = ledger_path.display(),
    );
    let config = Config::load_str(&config, &|var| (var == "TEST_UPSTREAM_KEY").then(|| SECRET.to_owned())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let ledger = bivio_ledger::Ledger::open(&config.ledger).await.unwrap();
    let state = AppState::new(config, ledger.writer()).unwrap();
    tokio::spawn(bivio_gateway::serve(listener, state, async {
        let _ = rx.await;
    }));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    Harness { mock, base, http, shutdown: Some(tx), ledger: Some(ledger), ledger_path, _dir: dir }
}

/// The key bivio holds for the `claude` provider; it must reach the upstream and nothing else.
pub const SECRET: &str = "sk-ant-test-secret-4f9a";

impl Harness {
    /// Flushes the ledger (as a shutdown would) and returns every request row as JSON objects, oldest first.
    pub async fn ledger_rows(&mut self) -> Vec<serde_json::Value> {
        if let Some(ledger) = self.ledger.take() {
            ledger.shutdown().await;
        }
        let db = rusqlite::Connection::open(&self.ledger_path).unwrap();
        let mut statement = db.prepare("SELECT * FROM ledger_requests ORDER BY id").unwrap();
        let names: Vec<String> = statement.column_names().into_iter().map(str::to_owned).collect();
        statement
            .query_map([], |row| {
                let mut object = serde_json::Map::new();
                for (i, name) in names.iter().enumerate() {
                    let value = match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => serde_json::Value::Null,
                        rusqlite::types::ValueRef::Integer(n) => serde_json::json!(n),
                        rusqlite::types::ValueRef::Real(f) => serde_json::json!(f),
                        rusqlite::types::ValueRef::Text(t) => serde_json::json!(String::from_utf8_lossy(t)),
                        rusqlite::types::ValueRef::Blob(_) => serde_json::json!("<blob>"),
                    };
                    object.insert(name.clone(), value);
                }
                Ok(serde_json::Value::Object(object))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Attempt rows of one request.
    pub fn attempt_rows(&self, request_id: &str) -> Vec<(i64, String, String)> {
        let db = rusqlite::Connection::open(&self.ledger_path).unwrap();
        let mut statement = db
            .prepare("SELECT attempt, provider, status FROM ledger_attempts WHERE request_id = ?1 ORDER BY attempt")
            .unwrap();
        statement
            .query_map([request_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

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
