//! Anthropic Messages requests: the wire shape, parsing into the IR, and encoding the IR for Claude.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::ir::{Block, ChatRequest, Message, ResponseFormat, Role, SystemText, Tool, ToolChoice};
use crate::{ApiError, tool_ids};

/// `max_tokens` sent to Claude when the client (an OpenAI client) gave none; Anthropic requires one.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

#[derive(Debug, Deserialize)]
struct WireRequest {
    model: String,
    max_tokens: u32,
    messages: Vec<WireMessage>,
    #[serde(default)]
    system: Option<WireSystem>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<u32>,
    #[serde(default)]
    stop_sequences: Option<Vec<String>>,
    #[serde(default)]
    tools: Option<Vec<WireTool>>,
    tool_choice: Option<WireToolChoice>,
    metadata: Option<WireMetadata>,
    #[serde(default)]
    stream: Option<bool>,
    thinking: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WireSystem {
    Text(String),
    Blocks(Vec<SystemText>),
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    role: Role,
    content: WireContent,
}

#[derive(Debug)]
enum WireContent {
    Text(String),
    Blocks(Vec<Block>),
}

/// By hand rather than `#[serde(untagged)]`: an untagged enum reports only "did not match any variant",
/// while this reports the block and field at fault (`messages[0].content[1]: missing field `text``).
impl<'de> Deserialize<'de> for WireContent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<WireContent, D::Error> {
        struct ContentVisitor;
        impl<'de> serde::de::Visitor<'de> for ContentVisitor {
            type Value = WireContent;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of content blocks")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<WireContent, E> {
                Ok(WireContent::Text(text.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<WireContent, E> {
                Ok(WireContent::Text(text))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<WireContent, A::Error> {
                let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(block) = seq.next_element::<Block>()? {
                    blocks.push(block);
                }
                Ok(WireContent::Blocks(blocks))
            }
        }
        deserializer.deserialize_any(ContentVisitor)
    }
}

#[derive(Debug, Deserialize)]
struct WireTool {
    name: String,
    description: Option<String>,
    input_schema: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireToolChoice {
    Auto {
        #[serde(default)]
        disable_parallel_tool_use: bool,
    },
    Any {
        #[serde(default)]
        disable_parallel_tool_use: bool,
    },
    Tool {
        name: String,
        #[serde(default)]
        disable_parallel_tool_use: bool,
    },
    None,
}

#[derive(Debug, Deserialize)]
struct WireMetadata {
    user_id: Option<String>,
}

/// Parses and validates a `/v1/messages` body.
pub fn parse_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let wire: WireRequest = crate::parse_json(body)?;
    if wire.messages.is_empty() {
        return Err(ApiError::invalid("messages: at least one message is required"));
    }
    if wire.max_tokens == 0 {
        return Err(ApiError::invalid("max_tokens: must be at least 1"));
    }
    if let Some(t) = wire.temperature
        && !(0.0..=1.0).contains(&t)
    {
        return Err(ApiError::invalid("temperature: must be between 0 and 1"));
    }
    let system = match wire.system {
        None => Vec::new(),
        Some(WireSystem::Text(text)) if text.is_empty() => Vec::new(),
        Some(WireSystem::Text(text)) => vec![SystemText { text, cache_control: None }],
        Some(WireSystem::Blocks(blocks)) => blocks,
    };
    let mut messages: Vec<Message> = Vec::with_capacity(wire.messages.len());
    for message in wire.messages {
        let content = match message.content {
            WireContent::Text(text) => vec![Block::text(text)],
            WireContent::Blocks(blocks) => blocks,
        };
        crate::ir_util::push_merged(&mut messages, message.role, content);
    }
    let mut tools = Vec::new();
    for tool in wire.tools.unwrap_or_default() {
        let Some(input_schema) = tool.input_schema else {
            let kind = tool.kind.unwrap_or_default();
            return Err(ApiError::invalid(format!(
                "tools: server tool `{}` ({kind}) has no input_schema; bivio only routes client tools through translation",
                tool.name
            )));
        };
        tools.push(Tool { name: tool.name, description: tool.description, input_schema, strict: None });
    }
    let (tool_choice, parallel_tool_calls) = match wire.tool_choice {
        None => (None, None),
        Some(WireToolChoice::Auto { disable_parallel_tool_use }) => {
            (Some(ToolChoice::Auto), no_parallel(disable_parallel_tool_use))
        }
        Some(WireToolChoice::Any { disable_parallel_tool_use }) => {
            (Some(ToolChoice::Any), no_parallel(disable_parallel_tool_use))
        }
        Some(WireToolChoice::Tool { name, disable_parallel_tool_use }) => {
            (Some(ToolChoice::Tool(name)), no_parallel(disable_parallel_tool_use))
        }
        Some(WireToolChoice::None) => (Some(ToolChoice::None), None),
    };
    Ok(ChatRequest {
        model: wire.model,
        system,
        messages,
        max_tokens: Some(wire.max_tokens),
        temperature: wire.temperature,
        top_p: wire.top_p,
        top_k: wire.top_k,
        stop_sequences: wire.stop_sequences.unwrap_or_default(),
        tools,
        tool_choice,
        parallel_tool_calls,
        response_format: None,
        thinking: wire.thinking,
        reasoning_effort: None,
        seed: None,
        n: None,
        user: wire.metadata.and_then(|m| m.user_id),
        stream: wire.stream.unwrap_or(false),
        include_usage: false,
    })
}

fn no_parallel(disable: bool) -> Option<bool> {
    disable.then_some(false)
}

/// Encodes the IR as a Messages request body for Claude, under the upstream model name.
pub fn encode_request(request: &ChatRequest, upstream_model: &str) -> Result<Value, ApiError> {
    if request.n.is_some_and(|n| n != 1) {
        return Err(ApiError::invalid("n: Claude returns one choice per request; send n=1"));
    }
    // Claude rejects empty (or whitespace-only) system text blocks, as it does message text blocks.
    let mut system: Vec<SystemText> = request.system.iter().filter(|s| !s.text.trim().is_empty()).cloned().collect();
    if let Some(instruction) = response_format_instruction(request.response_format.as_ref()) {
        system.push(SystemText { text: instruction, cache_control: None });
    }
    let mut messages: Vec<Message> = Vec::with_capacity(request.messages.len());
    for message in &request.messages {
        let content: Vec<Block> = message.content.iter().filter_map(claude_block).collect();
        if !content.is_empty() {
            crate::ir_util::push_merged(&mut messages, message.role, content);
        }
    }
    for message in &mut messages {
        // Anthropic wants a user turn's tool results before anything else in it.
        if message.role == Role::User {
            message.content.sort_by_key(|block| !matches!(block, Block::ToolResult { .. }));
        }
    }
    if messages.is_empty() {
        // A request with only a system prompt: Claude needs a user turn, so the prompt becomes it.
        let text = system.drain(..).map(|s| s.text).collect::<Vec<_>>().join("\n\n");
        // Nothing at all to say: Claude rejects an empty text block, so send a placeholder, as the OpenAI
        // encoder does for chat templates.
        let text = if text.is_empty() { String::from(".") } else { text };
        messages.push(Message { role: Role::User, content: vec![Block::text(text)] });
    }
    trim_final_assistant(&mut messages);

    let mut body = Map::new();
    body.insert("model".into(), json!(upstream_model));
    body.insert("max_tokens".into(), json!(request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)));
    body.insert("messages".into(), serde_json::to_value(&messages).map_err(internal)?);
    if !system.is_empty() {
        body.insert("system".into(), serde_json::to_value(&system).map_err(internal)?);
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t.clamp(0.0, 1.0)));
    }
    if let Some(p) = request.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if let Some(k) = request.top_k {
        body.insert("top_k".into(), json!(k));
    }
    if !request.stop_sequences.is_empty() {
        body.insert("stop_sequences".into(), json!(request.stop_sequences));
    }
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                let mut out = json!({ "name": tool.name, "input_schema": tool.input_schema });
                if let Some(d) = &tool.description {
                    out["description"] = json!(d);
                }
                out
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = encode_tool_choice(request) {
        body.insert("tool_choice".into(), choice);
    }
    if let Some(user) = &request.user {
        body.insert("metadata".into(), json!({ "user_id": user }));
    }
    if let Some(thinking) = &request.thinking {
        body.insert("thinking".into(), thinking.clone());
    }
    if request.stream {
        body.insert("stream".into(), json!(true));
    }
    Ok(Value::Object(body))
}

fn internal(err: serde_json::Error) -> ApiError {
    ApiError::new(crate::ErrorKind::Api, format!("could not encode the upstream request: {err}"))
}

/// A block as Claude accepts it, or `None` where Claude would reject it.
fn claude_block(block: &Block) -> Option<Block> {
    match block {
        // Empty or whitespace-only text blocks are rejected by the API.
        Block::Text { text, .. } if text.trim().is_empty() => None,
        // Unsigned thinking comes from open models and would fail Claude's signature check. An empty signature
        // is unsigned too: the Anthropic stream encoder opens thinking blocks with `"signature": ""`, so a
        // client echoing back reasoning streamed from an open model sends exactly that.
        Block::Thinking { signature, .. } if signature.as_deref().is_none_or(str::is_empty) => None,
        Block::ToolUse { id, name, input, cache_control } => Some(Block::ToolUse {
            id: tool_ids::to_anthropic(id),
            name: name.clone(),
            input: if input.is_object() { input.clone() } else { json!({}) },
            cache_control: cache_control.clone(),
        }),
        Block::ToolResult { tool_use_id, content, is_error, cache_control } => Some(Block::ToolResult {
            tool_use_id: tool_ids::to_anthropic(tool_use_id),
            content: content.clone(),
            is_error: *is_error,
            cache_control: cache_control.clone(),
        }),
        other => Some(other.clone()),
    }
}

/// Claude rejects a final assistant (prefill) turn that ends in whitespace.
fn trim_final_assistant(messages: &mut [Message]) {
    let Some(last) = messages.last_mut() else { return };
    if last.role != Role::Assistant {
        return;
    }
    if let Some(Block::Text { text, .. }) = last.content.last_mut() {
        let trimmed = text.trim_end().len();
        text.truncate(trimmed);
    }
}

fn encode_tool_choice(request: &ChatRequest) -> Option<Value> {
    let disable_parallel = request.parallel_tool_calls == Some(false);
    let mut choice = match &request.tool_choice {
        None if disable_parallel && !request.tools.is_empty() => json!({ "type": "auto" }),
        None => return None,
        Some(ToolChoice::Auto) => json!({ "type": "auto" }),
        Some(ToolChoice::Any) => json!({ "type": "any" }),
        Some(ToolChoice::None) => return Some(json!({ "type": "none" })),
        Some(ToolChoice::Tool(name)) => json!({ "type": "tool", "name": name }),
    };
    if disable_parallel {
        choice["disable_parallel_tool_use"] = json!(true);
    }
    Some(choice)
}

/// Claude has no `response_format`; an OpenAI client asking for JSON gets the request as an instruction.
fn response_format_instruction(format: Option<&ResponseFormat>) -> Option<String> {
    match format? {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some("Respond with a single valid JSON object and nothing else.".into()),
        ResponseFormat::JsonSchema { schema, .. } => Some(format!(
            "Respond with a single valid JSON object that conforms to this JSON Schema, and nothing else:\n{schema}"
        )),
    }
}
