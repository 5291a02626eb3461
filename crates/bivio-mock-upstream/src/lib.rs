//! A scripted stand-in for Anthropic's Messages API and an OpenAI-compatible Chat Completions server.
//!
//! bivio's tests point the gateway at this mock to play the upstream: it answers in the exact wire
//! shapes the official SDKs parse, follows scripts registered per test (selected by a
//! `[[mock:KEY]]` marker in the conversation), injects faults (statuses, delays, cut/garbled/
//! erroring streams, OpenAI-compatible backend quirks), and records every call and how every
//! stream ended — a client disconnect shows up as `streams_cancelled`.
//!
//! It is deliberately written without bivio's protocol crate, so a misreading of the protocol in
//! bivio cannot be reproduced here and go unnoticed.

mod anthropic;
mod faults;
mod openai;
mod recorder;
mod request;
pub mod script;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use recorder::{RecordedCall, Stats};
pub use script::{Block, OpenAiQuirk, Response, Script, StreamOpts, UsageSpec};

use server::Shared;

/// Options for [`MockUpstream::start_with`].
#[derive(Debug, Clone, Default)]
pub struct MockOptions {
    /// When set, API requests must carry `x-api-key: KEY` or `Authorization: Bearer KEY`;
    /// otherwise they get a 401 in the requesting API's shape.
    pub require_key: Option<String>,
}

/// A running mock server. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl MockUpstream {
    /// Starts on an ephemeral port of 127.0.0.1 with default options.
    pub async fn start() -> anyhow::Result<MockUpstream> {
        Self::start_with(MockOptions::default()).await
    }

    /// Starts on an ephemeral port of 127.0.0.1.
    pub async fn start_with(opts: MockOptions) -> anyhow::Result<MockUpstream> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), opts).await
    }

    /// Starts on `addr` (the binary's `--listen`).
    pub async fn bind(addr: SocketAddr, opts: MockOptions) -> anyhow::Result<MockUpstream> {
        let listener = TcpListener::bind(addr).await.with_context(|| format!("binding mock upstream to {addr}"))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let shared = Arc::new(Shared::new(opts.require_key));
        let app = server::router(shared.clone());
        // TCP_NODELAY, like a real API server: frames leave as written, so the mock adds no Nagle stalls.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        tracing::debug!(%addr, "mock upstream listening");
        Ok(MockUpstream { addr, shared, server: Some(server) })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL for Anthropic clients, `http://127.0.0.1:PORT` (they append `/v1/messages`).
    pub fn anthropic_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL for OpenAI clients, `http://127.0.0.1:PORT/v1` (they append `/chat/completions`).
    pub fn openai_base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Registers (or replaces) the script selected by `[[mock:KEY]]`.
    pub fn add_script(&self, key: &str, script: impl Into<Script>) {
        self.shared.scripts().insert(key.to_owned(), script.into());
    }

    /// Every API request received so far, in arrival order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.recorder.calls()
    }

    /// Call and stream counters.
    pub fn stats(&self) -> Stats {
        self.shared.recorder.stats()
    }

    /// Forgets scripts, calls and counters. Streams still in flight count into the fresh counters
    /// when they end.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Polls the counters until `done` holds or `timeout` passes; returns the last counters either
    /// way, so the caller's assertion shows what was seen. Stream outcomes are only known once the
    /// HTTP server drops the body, which trails the client's disconnect slightly.
    pub async fn wait_for_stats(&self, timeout: Duration, done: impl Fn(&Stats) -> bool) -> Stats {
        let deadline = Instant::now() + timeout;
        loop {
            let stats = self.stats();
            if done(&stats) || Instant::now() >= deadline {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Serves until the server fails (the binary's main loop).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        match self.server.take() {
            Some(server) => Ok(server.await.context("mock server task")??),
            None => Ok(()),
        }
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
