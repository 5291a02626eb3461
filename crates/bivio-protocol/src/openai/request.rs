//! OpenAI Chat Completions requests: the wire shape, parsing into the IR, and encoding the IR for
//! OpenAI-compatible backends (vLLM, Ollama, llama.cpp, OpenAI, …).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::ir::{
    Block, ChatRequest, ImageSource, Message, ResponseFormat, Role, SystemText, Tool, ToolChoice, ToolResultContent,
};
use crate::ir_util::push_merged;
use crate::{ApiError, ErrorKind};

#[derive(Debug, Deserialize)]
struct WireRequest {
    model: String,
    messages: Vec<WireMessage>,
    max_tokens: Option<u32>,
    max_completion_tokens: Option<u32>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    /// Not OpenAI's, but vLLM, llama.cpp and Ollama accept it.
    top_k: Option<u32>,
    stop: Option<WireStop>,
    tools: Option<Vec<WireTool>>,
    tool_choice: Option<Value>,
    parallel_tool_calls: Option<bool>,
    response_format: Option<Value>,
    #[serde(default)]
    stream: Option<bool>,
    stream_options: Option<WireStreamOptions>,
    n: Option<u32>,
    seed: Option<i64>,
    user: Option<String>,
    reasoning_effort: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireStreamOptions {
    include_usage: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WireStop {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
enum WireMessage {
    System {
        content: WireContent,
    },
    Developer {
        content: WireContent,
    },
    User {
        content: WireContent,
    },
    Assistant {
        #[serde(default)]
        content: Option<WireContent>,
        #[serde(default)]
        tool_calls: Option<Vec<WireToolCall>>,
    },
    Tool {
        tool_call_id: String,
        content: WireContent,
    },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WireContent {
    Text(String),
    Parts(Vec<WirePart>),
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WirePart {
    Text { text: String },
    ImageUrl { image_url: WireImageUrl },
    InputAudio {},
    File {},
    Refusal { refusal: String },
}

#[derive(Debug, Deserialize)]
struct WireImageUrl {
    url: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireToolCall {
    /// Optional because some backends omit it (or send null) in responses; the response parser generates one,
    /// the request parser insists on it (a tool message must be able to answer the call).
    #[serde(default)]
    pub id: Option<String>,
    pub function: WireFunctionCall,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireFunctionCall {
    pub name: String,
    /// A JSON string per the spec; some backends send an object instead.
    #[serde(default)]
    pub arguments: Value,
}

#[derive(Debug, Deserialize)]
struct WireTool {
    function: WireFunction,
}

#[derive(Debug, Deserialize)]
struct WireFunction {
    name: String,
    description: Option<String>,
    parameters: Option<Value>,
    strict: Option<bool>,
}

/// Parses and validates a `/v1/chat/completions` body.
pub fn parse_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let wire: WireRequest = crate::parse_json(body)?;
    if wire.messages.is_empty() {
        return Err(ApiError::invalid("messages: at least one message is required"));
    }
    if let Some(t) = wire.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(ApiError::invalid("temperature: must be between 0 and 2"));
    }
    let mut system = Vec::new();
    let mut messages: Vec<Message> = Vec::with_capacity(wire.messages.len());
    for (position, message) in wire.messages.into_iter().enumerate() {
        match message {
            WireMessage::System { content } | WireMessage::Developer { content } => {
                let text = content_text(content, position)?;
                if !text.is_empty() {
                    system.push(SystemText { text, cache_control: None });
                }
            }
            WireMessage::User { content } => push_merged(&mut messages, Role::User, content_blocks(content, position)?),
            WireMessage::Assistant { content, tool_calls } => {
                let mut blocks = match content {
                    Some(content) => content_blocks(content, position)?,
                    None => Vec::new(),
                };
                blocks.retain(|b| !matches!(b, Block::Text { text, .. } if text.is_empty()));
                for (number, call) in tool_calls.unwrap_or_default().into_iter().enumerate() {
                    let Some(id) = call.id else {
                        return Err(ApiError::invalid(format!(
                            "messages[{position}].tool_calls[{number}].id: required"
                        )));
                    };
                    blocks.push(Block::ToolUse {
                        id,
                        name: call.function.name,
                        input: arguments_object(&call.function.arguments).map_err(|err| {
                            ApiError::invalid(format!("messages[{position}].tool_calls: arguments are not JSON: {err}"))
                        })?,
                        cache_control: None,
                    });
                }
                push_merged(&mut messages, Role::Assistant, blocks);
            }
            WireMessage::Tool { tool_call_id, content } => {
                let result = Block::ToolResult {
                    tool_use_id: tool_call_id,
                    content: ToolResultContent::Text(content_text(content, position)?),
                    is_error: false,
                    cache_control: None,
                };
                push_merged(&mut messages, Role::User, vec![result]);
            }
        }
    }
    let tools = wire
        .tools
        .unwrap_or_default()
        .into_iter()
        .map(|tool| Tool {
            name: tool.function.name,
            description: tool.function.description,
            input_schema: tool.function.parameters.unwrap_or_else(|| json!({ "type": "object", "properties": {} })),
            strict: tool.function.strict,
        })
        .collect();
    Ok(ChatRequest {
        model: wire.model,
        system,
        messages,
        max_tokens: wire.max_completion_tokens.or(wire.max_tokens),
        temperature: wire.temperature,
        top_p: wire.top_p,
        top_k: wire.top_k,
        stop_sequences: match wire.stop {
            None => Vec::new(),
            Some(WireStop::One(s)) => vec![s],
            Some(WireStop::Many(v)) => v,
        },
        tools,
        tool_choice: wire.tool_choice.as_ref().map(parse_tool_choice).transpose()?,
        parallel_tool_calls: wire.parallel_tool_calls,
        response_format: wire.response_format.as_ref().map(parse_response_format).transpose()?,
        thinking: None,
        reasoning_effort: wire.reasoning_effort,
        seed: wire.seed,
        n: wire.n,
        user: wire.user,
        stream: wire.stream.unwrap_or(false),
        include_usage: wire.stream_options.and_then(|o| o.include_usage).unwrap_or(false),
    })
}

/// Tool-call arguments as a JSON object: a JSON string is parsed, an object (some backends) kept, empty → `{}`.
pub(crate) fn arguments_object(arguments: &Value) -> Result<Value, serde_json::Error> {
    match arguments {
        Value::String(s) if s.trim().is_empty() => Ok(json!({})),
        Value::String(s) => serde_json::from_str(s),
        Value::Null => Ok(json!({})),
        other => Ok(other.clone()),
    }
}

fn content_text(content: WireContent, position: usize) -> Result<String, ApiError> {
    let blocks = content_blocks(content, position)?;
    let mut texts = Vec::new();
    for block in blocks {
        match block {
            Block::Text { text, .. } => texts.push(text),
            _ => {
                return Err(ApiError::invalid(format!(
                    "messages[{position}].content: only text is allowed in system, developer and tool messages"
                )));
            }
        }
    }
    Ok(texts.join("\n"))
}

fn content_blocks(content: WireContent, position: usize) -> Result<Vec<Block>, ApiError> {
    match content {
        WireContent::Text(text) => Ok(vec![Block::text(text)]),
        WireContent::Parts(parts) => parts
            .into_iter()
            .map(|part| match part {
                WirePart::Text { text } => Ok(Block::text(text)),
                WirePart::Refusal { refusal } => Ok(Block::text(refusal)),
                WirePart::ImageUrl { image_url } => {
                    Ok(Block::Image { source: image_source(&image_url.url), cache_control: None })
                }
                WirePart::InputAudio {} | WirePart::File {} => Err(ApiError::invalid(format!(
                    "messages[{position}].content: audio and file parts are not supported"
                ))),
            })
            .collect(),
    }
}

/// `data:` URLs carry the image inline (Anthropic's base64 source); anything else is fetched by the backend.
fn image_source(url: &str) -> ImageSource {
    if let Some(rest) = url.strip_prefix("data:")
        && let Some((meta, data)) = rest.split_once(',')
        && let Some(media_type) = meta.strip_suffix(";base64")
    {
        return ImageSource::Base64 { media_type: media_type.to_owned(), data: data.to_owned() };
    }
    ImageSource::Url { url: url.to_owned() }
}

fn parse_tool_choice(value: &Value) -> Result<ToolChoice, ApiError> {
    match value {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Any),
            other => Err(ApiError::invalid(format!("tool_choice: unknown value `{other}`"))),
        },
        Value::Object(obj) => obj
            .get("function")
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .map(|name| ToolChoice::Tool(name.to_owned()))
            .ok_or_else(|| {
                ApiError::invalid("tool_choice: expected {\"type\":\"function\",\"function\":{\"name\":…}}")
            }),
        _ => Err(ApiError::invalid("tool_choice: expected a string or an object")),
    }
}

fn parse_response_format(value: &Value) -> Result<ResponseFormat, ApiError> {
    match value.get("type").and_then(Value::as_str) {
        Some("text") => Ok(ResponseFormat::Text),
        Some("json_object") => Ok(ResponseFormat::JsonObject),
        Some("json_schema") => {
            let spec = value.get("json_schema").cloned().unwrap_or(Value::Null);
            Ok(ResponseFormat::JsonSchema {
                name: spec.get("name").and_then(Value::as_str).unwrap_or("response").to_owned(),
                schema: spec.get("schema").cloned().unwrap_or_else(|| json!({})),
                strict: spec.get("strict").and_then(Value::as_bool),
            })
        }
        _ => Err(ApiError::invalid("response_format: type must be text, json_object or json_schema")),
    }
}

/// Encodes the IR as a Chat Completions body for an OpenAI-compatible backend.
pub fn encode_request(request: &ChatRequest, upstream_model: &str) -> Result<Value, ApiError> {
    let mut messages: Vec<Value> = Vec::with_capacity(request.messages.len() + 1);
    let system_text = request.system.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("\n\n");
    if !system_text.is_empty() {
        // One leading `system` message: local chat templates often reject `developer` or several system turns.
        messages.push(json!({ "role": "system", "content": system_text }));
    }
    for message in &request.messages {
        match message.role {
            Role::User => push_user_turn(&mut messages, &message.content)?,
            Role::Assistant => messages.push(assistant_message(&message.content)),
        }
    }
    if request.messages.is_empty() || !messages.iter().any(|m| m["role"] == "user") {
        // Chat templates of local models fail without a user turn.
        let text = if system_text.is_empty() { String::from(".") } else { system_text.clone() };
        if !system_text.is_empty() {
            messages.retain(|m| m["role"] != "system");
        }
        messages.insert(0, json!({ "role": "user", "content": text }));
    }

    let mut body = Map::new();
    body.insert("model".into(), json!(upstream_model));
    body.insert("messages".into(), Value::Array(messages));
    if let Some(max) = request.max_tokens {
        // `max_tokens`, not `max_completion_tokens`: Ollama and llama-cpp-python ignore the latter.
        body.insert("max_tokens".into(), json!(max));
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t.clamp(0.0, 2.0)));
    }
    if let Some(p) = request.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if let Some(k) = request.top_k {
        body.insert("top_k".into(), json!(k));
    }
    if !request.stop_sequences.is_empty() {
        body.insert("stop".into(), json!(request.stop_sequences));
    }
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                let mut function = json!({ "name": tool.name, "parameters": tool.input_schema });
                if let Some(d) = &tool.description {
                    function["description"] = json!(d);
                }
                if let Some(strict) = tool.strict {
                    function["strict"] = json!(strict);
                }
                json!({ "type": "function", "function": function })
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        if let Some(parallel) = request.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), json!(parallel));
        }
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::Any => json!("required"),
            ToolChoice::None => json!("none"),
            ToolChoice::Tool(name) => json!({ "type": "function", "function": { "name": name } }),
        };
        body.insert("tool_choice".into(), choice);
    }
    if let Some(format) = &request.response_format {
        let format = match format {
            ResponseFormat::Text => json!({ "type": "text" }),
            ResponseFormat::JsonObject => json!({ "type": "json_object" }),
            ResponseFormat::JsonSchema { name, schema, strict } => {
                let mut spec = json!({ "name": name, "schema": schema });
                if let Some(strict) = strict {
                    spec["strict"] = json!(strict);
                }
                json!({ "type": "json_schema", "json_schema": spec })
            }
        };
        body.insert("response_format".into(), format);
    }
    if let Some(seed) = request.seed {
        body.insert("seed".into(), json!(seed));
    }
    if let Some(n) = request.n {
        body.insert("n".into(), json!(n));
    }
    if let Some(user) = &request.user {
        body.insert("user".into(), json!(user));
    }
    if let Some(effort) = &request.reasoning_effort {
        body.insert("reasoning_effort".into(), json!(effort));
    }
    if request.stream {
        body.insert("stream".into(), json!(true));
        // Always ask for usage: the ledger needs it, and Anthropic clients expect it in `message_delta`.
        body.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    Ok(Value::Object(body))
}

/// A user turn: its tool results become `tool` messages placed first, the rest one `user` message.
fn push_user_turn(messages: &mut Vec<Value>, content: &[Block]) -> Result<(), ApiError> {
    let mut parts: Vec<Value> = Vec::new();
    for block in content {
        match block {
            Block::ToolResult { tool_use_id, content, is_error, .. } => {
                let mut text = content.joined_text();
                if *is_error {
                    // OpenAI has no error flag on tool messages; say it in the content so the model knows.
                    text = format!("Error: {text}");
                }
                messages.push(json!({ "role": "tool", "tool_call_id": tool_use_id, "content": text }));
                if let ToolResultContent::Blocks(blocks) = content {
                    // Tool messages carry only text; images in results follow as user content.
                    parts.extend(blocks.iter().filter_map(image_part));
                }
            }
            Block::Text { text, .. } => parts.push(json!({ "type": "text", "text": text })),
            Block::Image { .. } => parts.extend(image_part(block)),
            Block::Document { source, .. } => match source.get("type").and_then(Value::as_str) {
                Some("text") => {
                    let text = source.get("data").and_then(Value::as_str).unwrap_or_default();
                    parts.push(json!({ "type": "text", "text": text }));
                }
                _ => {
                    return Err(ApiError::new(
                        ErrorKind::InvalidRequest,
                        "document blocks other than plain text cannot be sent to an OpenAI-compatible backend",
                    ));
                }
            },
            Block::Other(value) => parts.push(json!({ "type": "text", "text": Block::unmodelled_as_text(value) })),
            // Thinking and tool calls never appear in user turns; nothing to send.
            Block::ToolUse { .. } | Block::Thinking { .. } | Block::RedactedThinking { .. } => {}
        }
    }
    if parts.is_empty() {
        return Ok(());
    }
    let all_text = parts.iter().all(|p| p["type"] == "text");
    let content = if all_text {
        // Plain strings are understood by every chat template; part arrays are not.
        Value::String(parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n"))
    } else {
        Value::Array(parts)
    };
    messages.push(json!({ "role": "user", "content": content }));
    Ok(())
}

fn image_part(block: &Block) -> Option<Value> {
    let Block::Image { source, .. } = block else { return None };
    let url = match source {
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        ImageSource::Url { url } => url.clone(),
    };
    Some(json!({ "type": "image_url", "image_url": { "url": url } }))
}

fn assistant_message(content: &[Block]) -> Value {
    // Server tool calls and their results (unmodelled blocks) stay in the history as text.
    let text: String = content
        .iter()
        .filter_map(|b| match b {
            Block::Text { text, .. } => Some(std::borrow::Cow::Borrowed(text.as_str())),
            Block::Other(value) => Some(std::borrow::Cow::Owned(Block::unmodelled_as_text(value))),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("");
    let tool_calls: Vec<Value> = content
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
    let mut message =
        json!({ "role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) } });
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    message
}

impl From<&WireToolCall> for Block {
    fn from(call: &WireToolCall) -> Block {
        Block::ToolUse {
            id: call.id.clone().unwrap_or_default(),
            name: call.function.name.clone(),
            input: arguments_object(&call.function.arguments).unwrap_or_else(|_| json!({})),
            cache_control: None,
        }
    }
}
