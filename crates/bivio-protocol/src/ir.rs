//! The canonical request, response and stream-event model every other crate speaks.
//!
//! Content blocks are shaped like Anthropic's (and serialise exactly like them): Anthropic's block model is
//! the richer one (signed thinking, tool results as blocks, cache hints), so OpenAI's message parts map into it
//! without loss, while the reverse direction is where the translation rules of `protocol-notes.md` apply.
//!
//! Invariants:
//! - `ChatRequest::messages` holds only `user` and `assistant` turns; system text lives in `system`.
//! - `Usage::input_tokens` excludes cached tokens (Anthropic's convention); totals are derived, never stored.
//! - A stream is `MessageStart`, then blocks in index order (`BlockStart` → `BlockDelta`* → `BlockStop`),
//!   then `MessageDelta`, then `MessageStop`; `Ping` may appear anywhere and `Error` ends a stream early.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One chat request, whichever API it arrived on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub system: Vec<SystemText>,
    pub messages: Vec<Message>,
    pub max_tokens: Option<u32>,
    /// As the client sent it; encoders clamp to their API's range (Anthropic 0–1, OpenAI 0–2).
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    pub stop_sequences: Vec<String>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    /// `false` forbids more than one tool call per turn.
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<ResponseFormat>,
    /// Anthropic's `thinking` object, kept verbatim (enabled/disabled/adaptive and future variants).
    pub thinking: Option<Value>,
    pub reasoning_effort: Option<String>,
    pub seed: Option<i64>,
    /// Number of choices (OpenAI only). Anything but 1 cannot be served by an Anthropic backend.
    pub n: Option<u32>,
    /// End-user id for abuse tracking (`user` in OpenAI, `metadata.user_id` in Anthropic).
    pub user: Option<String>,
    pub stream: bool,
    /// OpenAI clients: `stream_options.include_usage`, a final usage chunk wanted on the stream.
    pub include_usage: bool,
}

impl ChatRequest {
    /// A rough input-token count, ⌈bytes of prompt text / 4⌉ (the usual rule of thumb for English and code):
    /// system, message text, tool calls and results, tool definitions. Images and documents are not
    /// counted. Used only where the backend gives no count.
    pub fn estimated_input_tokens(&self) -> u64 {
        let mut bytes: usize = self.system.iter().map(|s| s.text.len()).sum();
        for message in &self.messages {
            for block in &message.content {
                bytes += match block {
                    Block::Text { text, .. } => text.len(),
                    Block::ToolUse { name, input, .. } => name.len() + input.to_string().len(),
                    Block::ToolResult { content, .. } => content.joined_text().len(),
                    Block::Thinking { thinking, .. } => thinking.len(),
                    Block::Other(value) => value.to_string().len(),
                    Block::Image { .. } | Block::RedactedThinking { .. } | Block::Document { .. } => 0,
                };
            }
        }
        for tool in &self.tools {
            bytes += tool.name.len()
                + tool.description.as_ref().map_or(0, String::len)
                + tool.input_schema.to_string().len();
        }
        (bytes as u64).div_ceil(4)
    }
}

/// One piece of system prompt. Several system/developer messages become several pieces.
///
/// Serialises as Anthropic's system text block, `{"type":"text","text":…}`: Claude rejects system blocks
/// without `type`. Deserialising accepts the block with or without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "text")]
pub struct SystemText {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Block>,
}

/// A content block, serialised exactly as Anthropic's wire format.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Text {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    Image {
        source: ImageSource,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(default)]
        content: ToolResultContent,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    Thinking {
        thinking: String,
        /// Unsigned thinking (from open models) has none and is never sent to Claude.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    RedactedThinking {
        data: String,
    },
    /// A `document` block (PDF or text source), kept verbatim.
    Document {
        source: Value,
        #[serde(flatten)]
        rest: serde_json::Map<String, Value>,
    },
    /// A block type bivio does not model (`server_tool_use`, `web_search_tool_result`, `container_upload`,
    /// and whatever Anthropic adds next), kept verbatim — `type` included — so that it reaches an Anthropic
    /// backend unchanged; other backends get it as text.
    #[serde(untagged)]
    Other(Value),
}

/// The block types bivio models: a block of one of these types must be well-formed (its errors name the
/// missing or mistyped field); any other type becomes [`Block::Other`].
const MODELLED_BLOCK_TYPES: [&str; 7] =
    ["text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking", "document"];

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Block, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        match value.get("type").and_then(Value::as_str) {
            Some(kind) if MODELLED_BLOCK_TYPES.contains(&kind) => {
                modelled::Block::deserialize(value).map(Block::from).map_err(D::Error::custom)
            }
            Some(_) => Ok(Block::Other(value)),
            None => Err(D::Error::custom("a content block must be an object with a string `type`")),
        }
    }
}

/// The derived deserializer of the modelled block types (the same shapes as [`Block`]'s serializer).
mod modelled {
    use serde::Deserialize;
    use serde_json::Value;

    use super::{ImageSource, ToolResultContent};

    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub(super) enum Block {
        Text {
            text: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            cache_control: Option<Value>,
        },
        Image {
            source: ImageSource,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            cache_control: Option<Value>,
        },
        ToolUse {
            id: String,
            name: String,
            input: Value,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            cache_control: Option<Value>,
        },
        ToolResult {
            tool_use_id: String,
            #[serde(default)]
            content: ToolResultContent,
            #[serde(default, skip_serializing_if = "std::ops::Not::not")]
            is_error: bool,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            cache_control: Option<Value>,
        },
        Thinking {
            thinking: String,
            /// Unsigned thinking (from open models) has none and is never sent to Claude.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            signature: Option<String>,
        },
        RedactedThinking {
            data: String,
        },
        /// A `document` block (PDF or text source), kept verbatim.
        Document {
            source: Value,
            #[serde(flatten)]
            rest: serde_json::Map<String, Value>,
        },
    }
}

impl From<modelled::Block> for Block {
    fn from(block: modelled::Block) -> Block {
        use modelled::Block as M;
        match block {
            M::Text { text, cache_control } => Block::Text { text, cache_control },
            M::Image { source, cache_control } => Block::Image { source, cache_control },
            M::ToolUse { id, name, input, cache_control } => Block::ToolUse { id, name, input, cache_control },
            M::ToolResult { tool_use_id, content, is_error, cache_control } => {
                Block::ToolResult { tool_use_id, content, is_error, cache_control }
            }
            M::Thinking { thinking, signature } => Block::Thinking { thinking, signature },
            M::RedactedThinking { data } => Block::RedactedThinking { data },
            M::Document { source, rest } => Block::Document { source, rest },
        }
    }
}

impl Block {
    pub fn text(text: impl Into<String>) -> Block {
        Block::Text { text: text.into(), cache_control: None }
    }

    /// An unmodelled block as text, for backends that cannot take it as a block: `[type: {…json…}]`, so
    /// the model still sees what happened (a web search and its results, say) rather than losing it.
    pub fn unmodelled_as_text(value: &Value) -> String {
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("block");
        format!("[{kind}: {value}]")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSource {
    Base64 { media_type: String, data: String },
    Url { url: String },
}

/// Tool results are a string or a list of text/image blocks on Anthropic's wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolResultContent {
    Text(String),
    Blocks(Vec<Block>),
}

impl Default for ToolResultContent {
    fn default() -> Self {
        ToolResultContent::Text(String::new())
    }
}

impl ToolResultContent {
    /// The text of the result: block texts joined by newlines; images are not text.
    pub fn joined_text(&self) -> String {
        match self {
            ToolResultContent::Text(text) => text.clone(),
            ToolResultContent::Blocks(blocks) => blocks
                .iter()
                .filter_map(|block| match block {
                    Block::Text { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: Value,
    /// OpenAI's `strict` flag; Anthropic has no equivalent and drops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    /// Must call some tool (`any` / `required`).
    Any,
    None,
    /// Must call this tool.
    Tool(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { name: String, schema: Value, strict: Option<bool> },
}

/// A whole (non-streamed) answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub id: String,
    pub model: String,
    pub content: Vec<Block>,
    pub stop_reason: Option<StopReason>,
    pub stop_sequence: Option<String>,
    pub usage: Usage,
}

/// Why generation stopped, in Anthropic's vocabulary (the finer one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    ToolUse,
    PauseTurn,
    Refusal,
    ModelContextWindowExceeded,
}

/// Token counts. `input_tokens` excludes cache reads and writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// Reasoning tokens inside `output_tokens`, when the backend reports them.
    pub reasoning_tokens: Option<u64>,
}

impl Usage {
    /// Every prompt token, cached or not (OpenAI's `prompt_tokens`).
    pub fn total_input(&self) -> u64 {
        self.input_tokens + self.cache_read_tokens + self.cache_write_tokens
    }
}

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    MessageStart {
        id: String,
        model: String,
        usage: Usage,
    },
    BlockStart {
        index: usize,
        block: BlockStart,
    },
    BlockDelta {
        index: usize,
        delta: BlockDelta,
    },
    BlockStop {
        index: usize,
    },
    /// Usage here is cumulative for the whole message.
    MessageDelta {
        stop_reason: Option<StopReason>,
        stop_sequence: Option<String>,
        usage: Usage,
    },
    MessageStop,
    Ping,
    /// The upstream failed after the stream began; nothing follows.
    Error(crate::ApiError),
}

#[derive(Debug, Clone, PartialEq)]
pub enum BlockStart {
    Text,
    ToolUse { id: String, name: String },
    Thinking,
    RedactedThinking { data: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum BlockDelta {
    Text(String),
    /// A fragment of a tool call's JSON arguments; fragments concatenate to the whole.
    InputJson(String),
    Thinking(String),
    Signature(String),
}
