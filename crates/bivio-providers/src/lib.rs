//! Backends behind one narrow trait. A provider knows how to reach one upstream and nothing about routing,
//! accounting or the client's API: the gateway hands it a body already in the provider's wire format (or the
//! IR, for in-process models) and gets back the upstream's answer, untranslated.
//!
//! Invariants:
//! - Secrets live in [`secrecy::SecretString`] and are only exposed when a request header is built.
//! - Errors are [`ApiError`]s whose messages are safe to show a client: upstream error *messages* are passed
//!   on (they explain bad requests), upstream bodies and credentials never are.
//! - Dropping a returned stream drops the upstream connection: that is how a client disconnect cancels.

mod anthropic;
mod http_util;
mod openai_compat;

use std::fmt::Debug;
use std::time::Duration;

use bivio_protocol::ir::{ChatRequest, ChatResponse, StreamEvent};
use bivio_protocol::sse::Frame;
use bivio_protocol::{Api, ApiError};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

pub use anthropic::AnthropicProvider;
pub use openai_compat::OpenAiCompatProvider;

/// What a provider is asked to send.
#[derive(Debug, Clone)]
pub struct UpstreamCall {
    pub body: UpstreamBody,
    /// Headers from the client worth passing on (`anthropic-version`, `anthropic-beta`), already filtered.
    pub forward_headers: Vec<(::http::HeaderName, ::http::HeaderValue)>,
}

#[derive(Debug, Clone)]
pub enum UpstreamBody {
    /// A body in the provider's own wire API (see [`Provider::wire_api`]).
    Wire(serde_json::Value),
    /// The IR, for providers without a wire API (in-process models).
    Ir(Box<ChatRequest>),
}

/// A whole answer.
#[derive(Debug)]
pub enum Completion {
    /// The upstream's body, untranslated, in `api`'s format.
    Wire {
        api: Api,
        body: Bytes,
    },
    Ir(ChatResponse),
}

/// A streamed answer. Items arrive as the upstream sends them.
pub enum EventStream {
    /// SSE frames exactly as received, in `api`'s format. An `Err` item ends the stream.
    Wire {
        api: Api,
        frames: BoxStream<'static, Result<Frame, ApiError>>,
    },
    Ir(BoxStream<'static, StreamEvent>),
}

impl Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventStream::Wire { api, .. } => write!(f, "EventStream::Wire({api:?})"),
            EventStream::Ir(_) => write!(f, "EventStream::Ir"),
        }
    }
}

/// One backend.
pub trait Provider: Send + Sync + Debug {
    /// The wire API this provider speaks, or `None` if it takes the IR.
    fn wire_api(&self) -> Option<Api>;

    /// Sends a request and waits for the whole answer.
    fn complete(&self, call: UpstreamCall) -> BoxFuture<'_, Result<Completion, ApiError>>;

    /// Sends a streaming request; resolves once the upstream has accepted it (status and headers received).
    fn stream(&self, call: UpstreamCall) -> BoxFuture<'_, Result<EventStream, ApiError>>;

    /// Counts input tokens for an Anthropic-shaped body, when the backend can; `None` means "estimate".
    fn count_tokens(
        &self,
        _body: serde_json::Value,
        _forward_headers: Vec<(::http::HeaderName, ::http::HeaderValue)>,
    ) -> BoxFuture<'_, Result<Option<u64>, ApiError>> {
        Box::pin(async { Ok(None) })
    }
}

/// Time limits for one upstream.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// From sending the request to the response headers (and, when not streaming, the whole body).
    pub response: Duration,
    /// Longest silence between two chunks of a stream.
    pub stream_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            response: Duration::from_secs(600),
            stream_idle: Duration::from_secs(120),
        }
    }
}

/// Trims a configured base URL so paths can be appended (`…/v1/` and `…/v1` are the same).
pub fn normalise_base(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}
