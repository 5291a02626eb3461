//! OpenAI Chat Completions responses: parsing a backend's answer into the IR, rendering the IR for OpenAI
//! clients, and the finish-reason and usage mappings both directions share.

use serde::Deserialize;
use serde_json::{Value, json};

use super::request::WireToolCall;
use crate::ir::{Block, ChatResponse, StopReason, Usage};
use crate::{ApiError, ErrorKind, tool_ids};

#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl WireUsage {
    /// `prompt_tokens` includes cached tokens; the IR's `input_tokens` does not.
    pub fn to_ir(self) -> Usage {
        let cached = self.prompt_tokens_details.and_then(|d| d.cached_tokens).unwrap_or(0);
        Usage {
            input_tokens: self.prompt_tokens.saturating_sub(cached),
            output_tokens: self.completion_tokens,
            cache_read_tokens: cached,
            cache_write_tokens: 0,
            reasoning_tokens: self.completion_tokens_details.and_then(|d| d.reasoning_tokens),
        }
    }
}

#[derive(Debug, Deserialize)]
struct WireResponse {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    choices: Vec<WireChoice>,
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct WireChoice {
    message: WireMessage,
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
    /// vLLM and DeepSeek say `reasoning_content`, Ollama and OpenRouter `reasoning`.
    #[serde(default, alias = "reasoning")]
    reasoning_content: Option<String>,
}

/// Parses a complete Chat Completions response (the first choice).
pub fn parse_response(body: &[u8]) -> Result<ChatResponse, ApiError> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(|err| {
        ApiError::new(ErrorKind::BadGateway, format!("the upstream sent an unreadable completion: {err}"))
    })?;
    let choice = wire
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::new(ErrorKind::BadGateway, "the upstream sent a completion without choices"))?;
    let mut content = Vec::new();
    if let Some(reasoning) = choice.message.reasoning_content.filter(|r| !r.is_empty()) {
        content.push(Block::Thinking { thinking: reasoning, signature: None });
    }
    if let Some(text) = choice.message.content.filter(|t| !t.is_empty()) {
        content.push(Block::text(text));
    }
    let calls = choice.message.tool_calls.unwrap_or_default();
    let has_calls = !calls.is_empty();
    for (position, call) in calls.iter().enumerate() {
        let mut block = Block::from(call);
        if let Block::ToolUse { id, .. } = &mut block
            && id.is_empty()
        {
            *id = tool_ids::generated(&wire.id, position);
        }
        content.push(block);
    }
    Ok(ChatResponse {
        id: wire.id,
        model: wire.model,
        content,
        stop_reason: Some(stop_reason(choice.finish_reason.as_deref(), has_calls)),
        stop_sequence: None,
        usage: wire.usage.unwrap_or_default().to_ir(),
    })
}

/// Only the usage of a completion: what a forwarded (untranslated) answer is accounted by.
pub fn parse_usage(body: &[u8]) -> Option<Usage> {
    #[derive(Deserialize)]
    struct UsageOnly {
        usage: WireUsage,
    }
    serde_json::from_slice::<UsageOnly>(body).ok().map(|u| u.usage.to_ir())
}

/// OpenAI's finish reason → Anthropic's stop reason. Tool use is decided by whether calls are present,
/// because several backends say `stop` while returning tool calls.
pub(crate) fn stop_reason(finish_reason: Option<&str>, has_tool_calls: bool) -> StopReason {
    if has_tool_calls {
        return StopReason::ToolUse;
    }
    match finish_reason {
        Some("length") => StopReason::MaxTokens,
        Some("tool_calls") | Some("function_call") => StopReason::ToolUse,
        _ => StopReason::EndTurn,
    }
}

/// Anthropic's stop reason → OpenAI's finish reason.
pub(crate) fn finish_reason(stop: Option<StopReason>) -> &'static str {
    match stop {
        None | Some(StopReason::EndTurn | StopReason::StopSequence | StopReason::PauseTurn) => "stop",
        Some(StopReason::MaxTokens | StopReason::ModelContextWindowExceeded) => "length",
        Some(StopReason::ToolUse) => "tool_calls",
        Some(StopReason::Refusal) => "content_filter",
    }
}

pub(crate) fn render_usage(usage: &Usage) -> Value {
    let prompt = usage.total_input();
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": { "cached_tokens": usage.cache_read_tokens },
        "completion_tokens_details": { "reasoning_tokens": usage.reasoning_tokens.unwrap_or(0) },
    })
}

/// Renders the IR as a Chat Completions body. `created` is the Unix time the caller stamps.
pub fn render_response(response: &ChatResponse, created: u64) -> Value {
    let text: String = response
        .content
        .iter()
        .filter_map(|b| match b {
            Block::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let reasoning: String = response
        .content
        .iter()
        .filter_map(|b| match b {
            Block::Thinking { thinking, .. } => Some(thinking.as_str()),
            _ => None,
        })
        .collect();
    let tool_calls: Vec<Value> = response
        .content
        .iter()
        .filter_map(|b| match b {
            Block::ToolUse { id, name, input, .. } => Some(json!({
                "id": id,
                "type": "function",
                "function": { "name": name, "arguments": input.to_string() },
            })),
            _ => None,
        })
        .collect();
    let has_calls = !tool_calls.is_empty();
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && has_calls { Value::Null } else { json!(text) },
        "refusal": null,
    });
    if has_calls {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    if !reasoning.is_empty() {
        message["reasoning_content"] = json!(reasoning);
    }
    let finish = if has_calls { "tool_calls" } else { finish_reason(response.stop_reason) };
    json!({
        "id": response.id,
        "object": "chat.completion",
        "created": created,
        "model": response.model,
        "choices": [{ "index": 0, "message": message, "finish_reason": finish, "logprobs": null }],
        "usage": render_usage(&response.usage),
    })
}
