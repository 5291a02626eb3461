//! Wire types of the Anthropic Messages and OpenAI Chat Completions APIs, the canonical IR both map into,
//! the SSE codec, and every conversion between them. Pure: no I/O, no clocks, no randomness — so every
//! conversion is unit- and property-tested, and the crate is safe to fuzz.

pub mod anthropic;
mod error;
pub mod ir;
mod ir_util;
pub mod openai;
pub mod sse;
pub mod tool_ids;

pub use error::{ApiError, ErrorKind};

/// The two client-facing (and backend) APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    Anthropic,
    OpenAi,
}

impl Api {
    pub fn label(self) -> &'static str {
        match self {
            Api::Anthropic => "anthropic",
            Api::OpenAi => "openai",
        }
    }
}

/// Parses a JSON body into a wire type; failures become a 400 naming what was wrong.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|err| {
        let what = match err.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "the body is not valid JSON",
            _ => "the body does not match the API schema",
        };
        ApiError::invalid(format!("{what}: {err}"))
    })
}
