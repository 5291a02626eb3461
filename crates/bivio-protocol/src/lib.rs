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

/// Parses a JSON body into a wire type; failures become a 400 naming what was wrong and where.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let not_json = |err: serde_json::Error| ApiError::invalid(format!("the body is not valid JSON: {err}"));
    if body.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|&b| b != b'{') {
        // serde would read an array as a struct's fields in order, and blame element 0.
        return Err(ApiError::invalid("the body does not match the API schema: expected a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => not_json(inner),
            _ if path.is_empty() || path == "." => {
                ApiError::invalid(format!("the body does not match the API schema: {inner}"))
            }
            _ => ApiError::invalid(format!("{path}: {inner}")),
        }
    })?;
    deserializer.end().map_err(not_json)?;
    Ok(value)
}
