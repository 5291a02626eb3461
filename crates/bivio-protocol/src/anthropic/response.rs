//! Anthropic Messages responses: parsing Claude's answer into the IR and rendering the IR for Anthropic clients.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::ir::{Block, ChatResponse, StopReason, Usage};
use crate::{ApiError, tool_ids};

/// Anthropic's `usage` object. Absent counters are zero.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Applies the counters present here over `base` (stream usage is cumulative and may be partial).
    pub fn merge_into(self, base: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.unwrap_or(base.input_tokens),
            output_tokens: self.output_tokens.unwrap_or(base.output_tokens),
            cache_read_tokens: self.cache_read_input_tokens.unwrap_or(base.cache_read_tokens),
            cache_write_tokens: self.cache_creation_input_tokens.unwrap_or(base.cache_write_tokens),
            reasoning_tokens: base.reasoning_tokens,
        }
    }
}

#[derive(Debug, Deserialize)]
struct WireResponse {
    id: String,
    model: String,
    content: Vec<Block>,
    stop_reason: Option<StopReason>,
    stop_sequence: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

/// Parses a complete Messages response.
pub fn parse_response(body: &[u8]) -> Result<ChatResponse, ApiError> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(|err| {
        ApiError::new(crate::ErrorKind::BadGateway, format!("the upstream sent an unreadable message: {err}"))
    })?;
    Ok(ChatResponse {
        id: wire.id,
        model: wire.model,
        content: wire.content,
        stop_reason: wire.stop_reason,
        stop_sequence: wire.stop_sequence,
        usage: wire.usage.merge_into(Usage::default()),
    })
}

/// Only the usage of a Messages response: what a forwarded (untranslated) answer is accounted by.
pub fn parse_usage(body: &[u8]) -> Option<Usage> {
    #[derive(Deserialize)]
    struct UsageOnly {
        usage: WireUsage,
    }
    serde_json::from_slice::<UsageOnly>(body).ok().map(|u| u.usage.merge_into(Usage::default()))
}

/// Renders the IR as a Messages response body.
pub fn render_response(response: &ChatResponse) -> Value {
    // Tool ids from OpenAI-compatible backends (`functions.get_weather:0`) must be mapped exactly as the stream
    // encoder maps them: Anthropic clients send them back to Claude, which accepts only `^[a-zA-Z0-9_-]+$`.
    let content: Vec<Block> = response
        .content
        .iter()
        .map(|block| match block {
            Block::ToolUse { id, name, input, cache_control } => Block::ToolUse {
                id: tool_ids::to_anthropic(id),
                name: name.clone(),
                input: input.clone(),
                cache_control: cache_control.clone(),
            },
            other => other.clone(),
        })
        .collect();
    json!({
        "id": response.id,
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": content,
        "stop_reason": response.stop_reason,
        "stop_sequence": response.stop_sequence,
        "usage": render_usage(&response.usage),
    })
}

pub(crate) fn render_usage(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
    })
}
