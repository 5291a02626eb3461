//! Shared by the integration tests: the real GGUF, a provider over it, and small request helpers.

#![allow(dead_code, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Duration;

use bivio_embedded::{EmbeddedConfig, EmbeddedProvider};
use bivio_protocol::ApiError;
use bivio_protocol::ir::{Block, ChatRequest, Message, Role, StreamEvent};
use bivio_providers::{EventStream, Provider, UpstreamBody, UpstreamCall};
use futures::StreamExt;
use futures::stream::BoxStream;

/// `BIVIO_TEST_GGUF`, else the default model in the cache. Missing: a failure under CI, a skip locally.
pub fn gguf() -> Option<PathBuf> {
    let path = match std::env::var_os("BIVIO_TEST_GGUF") {
        Some(path) => PathBuf::from(path),
        None => bivio_embedded::default_model_path(&bivio_embedded::pull::default_cache_dir()?),
    };
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{} is missing: run `scripts/deps.sh run` (or `bivio model pull default`)", path.display());
    }
    eprintln!("SKIPPED: {} is missing (run `bivio model pull default`, or set BIVIO_TEST_GGUF)", path.display());
    None
}

pub fn config(path: PathBuf, slots: usize, queue: usize) -> EmbeddedConfig {
    EmbeddedConfig {
        context_tokens: 1024,
        threads: 2,
        slots,
        queue,
        chat_template: Some("gemma".into()),
        default_max_tokens: 32,
        ..EmbeddedConfig::new(path)
    }
}

/// A provider over the test model, or `None` (skip) when the model is absent.
pub fn provider(slots: usize, queue: usize) -> Option<EmbeddedProvider> {
    let path = gguf()?;
    Some(EmbeddedProvider::load("test", &config(path, slots, queue)).unwrap())
}

pub fn request(text: &str, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        model: "local".into(),
        messages: vec![Message { role: Role::User, content: vec![Block::text(text)] }],
        max_tokens: Some(max_tokens),
        temperature: Some(0.0),
        stream: true,
        ..ChatRequest::default()
    }
}

pub fn call(request: ChatRequest) -> UpstreamCall {
    UpstreamCall { body: UpstreamBody::Ir(Box::new(request)), forward_headers: Vec::new() }
}

pub async fn stream(
    provider: &EmbeddedProvider,
    request: ChatRequest,
) -> Result<BoxStream<'static, StreamEvent>, ApiError> {
    match provider.stream(call(request)).await? {
        EventStream::Ir(events) => Ok(events),
        other => panic!("expected IR events, got {other:?}"),
    }
}

/// Every event of a stream, with a generous timeout.
pub async fn events(provider: &EmbeddedProvider, request: ChatRequest) -> Result<Vec<StreamEvent>, ApiError> {
    let events = stream(provider, request).await?;
    Ok(tokio::time::timeout(Duration::from_secs(120), events.collect::<Vec<_>>()).await.expect("stream timed out"))
}

/// The answer text of a stream's events.
pub fn text(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::BlockDelta { delta: bivio_protocol::ir::BlockDelta::Text(text), .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// Waits until `check` holds for the provider's stats.
pub async fn wait_for(provider: &EmbeddedProvider, check: impl Fn(&bivio_embedded::EmbeddedStats) -> bool) {
    for _ in 0..400 {
        if check(&provider.stats()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("stats never reached the expected state: {:?}", provider.stats());
}
