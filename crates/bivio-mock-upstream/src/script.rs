//! Scripts: what the mock answers, written once and rendered in either API's wire shape.
//!
//! A script is API-neutral on purpose: the same scripted answer can be requested through the Anthropic
//! endpoint or the OpenAI endpoint, so gateway tests can check that a translation preserves it.
//! Everything is serde so the HTTP control API and the Python tests register scripts as JSON.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One scripted response, or a list of steps chosen by how far the conversation has got.
///
/// JSON: either a [`Response`] object, or `{"steps": [response, …]}`. The step used is the number of
/// assistant messages in the request (clamped to the last step), which makes tool-use round trips
/// scriptable without server-side state: step 0 answers with `tool_use`, step 1 (the client has
/// sent back the assistant turn plus the `tool_result`) answers with the final text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[allow(
    clippy::large_enum_variant,
    reason = "a handful of scripts per test; an unboxed Response keeps them easy to build and match"
)]
pub enum Script {
    /// `{"steps": […]}`: selected by the number of assistant messages in the request.
    Steps {
        /// The answers, in conversation order.
        steps: Vec<Response>,
    },
    /// A single answer used for every request carrying the script's marker.
    Single(Response),
}

impl Script {
    /// A script that walks through `steps` as the conversation grows.
    pub fn steps(steps: impl IntoIterator<Item = Response>) -> Self {
        Script::Steps { steps: steps.into_iter().collect() }
    }

    /// A script answering with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Script::Single(Response::text(text))
    }

    /// The response for a request that already holds `assistant_turns` assistant messages;
    /// `None` only for an empty step list.
    pub fn pick(&self, assistant_turns: usize) -> Option<&Response> {
        match self {
            Script::Single(response) => Some(response),
            Script::Steps { steps } => steps.get(assistant_turns).or_else(|| steps.last()),
        }
    }
}

impl From<Response> for Script {
    fn from(response: Response) -> Self {
        Script::Single(response)
    }
}

/// Hand-written so a typo in a field name is reported precisely (an untagged enum would only say
/// "did not match any variant"), while `{"steps": …}` and a bare response stay distinguishable.
impl<'de> Deserialize<'de> for Script {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct StepsOnly {
            steps: Vec<Response>,
        }

        let value = Value::deserialize(deserializer)?;
        if value.get("steps").is_some() {
            let steps: StepsOnly = serde_json::from_value(value).map_err(D::Error::custom)?;
            Ok(Script::Steps { steps: steps.steps })
        } else {
            serde_json::from_value(value).map(Script::Single).map_err(D::Error::custom)
        }
    }
}

/// One answer. Every field is optional in JSON; the defaults give a successful, empty answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Response {
    /// HTTP status. Anything but 200 renders an error body in the requesting API's shape.
    pub status: u16,
    /// Message of the error body (a status-specific default otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Seconds for a `Retry-After` header on error responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Wait before sending the response headers (after the call has been recorded).
    pub delay_ms: u64,
    /// Content blocks, in order.
    pub content: Vec<Block>,
    /// `end_turn|max_tokens|stop_sequence|tool_use|…`; default: `tool_use` when `content` holds a
    /// tool_use block, else `end_turn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// The stop sequence that ended the turn (Anthropic `stop_sequence`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_sequence: Option<String>,
    /// Token counts; missing input/output counts are estimated from the request and the content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageSpec>,
    /// How a streamed answer is paced and broken.
    pub stream: StreamOpts,
}

impl Default for Response {
    fn default() -> Self {
        Response {
            status: 200,
            error_message: None,
            retry_after: None,
            delay_ms: 0,
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: None,
            stream: StreamOpts::default(),
        }
    }
}

impl Response {
    /// A successful answer with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Response { content: vec![Block::text(text)], ..Response::default() }
    }

    /// A successful answer made of `blocks`.
    pub fn blocks(blocks: impl IntoIterator<Item = Block>) -> Self {
        Response { content: blocks.into_iter().collect(), ..Response::default() }
    }

    /// An error answer with `status` (e.g. 429, 529) and an optional message.
    pub fn error(status: u16, message: Option<&str>) -> Self {
        Response { status, error_message: message.map(str::to_owned), ..Response::default() }
    }

    /// The stop reason actually sent: the scripted one, or the default derived from the content.
    pub fn effective_stop_reason(&self) -> String {
        match &self.stop_reason {
            Some(reason) => reason.clone(),
            None if self.content.iter().any(|b| matches!(b, Block::ToolUse { .. })) => "tool_use".to_owned(),
            None => "end_turn".to_owned(),
        }
    }
}

/// A content block, tagged by `type` exactly like Anthropic's blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Block {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// A tool call; `input` must be a JSON object (a missing one means `{}`).
    ToolUse {
        /// Tool call id (Anthropic requires `^[a-zA-Z0-9_-]+$`).
        id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        #[serde(default = "empty_object")]
        input: Value,
    },
    /// Extended thinking with its signature (OpenAI: `reasoning_content`).
    Thinking {
        /// The reasoning text.
        thinking: String,
        /// Opaque signature, sent as one `signature_delta` when streaming.
        #[serde(default)]
        signature: String,
    },
    /// Redacted thinking (Anthropic only; omitted from OpenAI responses).
    RedactedThinking {
        /// Opaque payload.
        data: String,
    },
}

impl Block {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Block::Text { text: text.into() }
    }

    /// A tool_use block.
    pub fn tool_use(id: impl Into<String>, name: impl Into<String>, input: Value) -> Self {
        Block::ToolUse { id: id.into(), name: name.into(), input }
    }

    /// A thinking block.
    pub fn thinking(thinking: impl Into<String>, signature: impl Into<String>) -> Self {
        Block::Thinking { thinking: thinking.into(), signature: signature.into() }
    }
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Scripted token counts. Input and output default to estimates; cache counts default to 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsageSpec {
    /// Uncached input tokens (Anthropic semantics: excludes cache reads/creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Tokens read from the prompt cache.
    pub cache_read_input_tokens: u64,
    /// Tokens written to the prompt cache.
    pub cache_creation_input_tokens: u64,
}

/// Pacing and fault injection for streamed answers. "Frames" are SSE events: for Anthropic every
/// `event:` frame including `ping`; for OpenAI every `data:` line including `[DONE]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamOpts {
    /// Characters per text/thinking/JSON delta; 0 sends each piece whole.
    pub chunk_size: usize,
    /// Sleep between frames, so tests can disconnect mid-stream.
    pub chunk_delay_ms: u64,
    /// End the body cleanly after N frames: no `message_stop` / `[DONE]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut_after_frames: Option<usize>,
    /// After N frames send one frame whose data is not JSON, then end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garbage_after_frames: Option<usize>,
    /// After N frames send the API's in-stream error frame, then end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_after_frames: Option<usize>,
    /// After N frames break the connection (the chunked body never terminates): a transport
    /// error on the client, unlike `cut_after_frames` which is a clean but early EOF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_after_frames: Option<usize>,
    /// Misbehaviours of real OpenAI-compatible backends to emulate.
    pub openai_quirks: Vec<OpenAiQuirk>,
}

impl Default for StreamOpts {
    fn default() -> Self {
        StreamOpts {
            chunk_size: 4,
            chunk_delay_ms: 0,
            cut_after_frames: None,
            garbage_after_frames: None,
            error_after_frames: None,
            abort_after_frames: None,
            openai_quirks: Vec::new(),
        }
    }
}

impl StreamOpts {
    /// Whether `quirk` is enabled.
    pub fn has(&self, quirk: OpenAiQuirk) -> bool {
        self.openai_quirks.contains(&quirk)
    }
}

/// Deviations from the OpenAI wire protocol seen in real OpenAI-compatible servers (Ollama,
/// llama.cpp, vLLM, …). They only affect the OpenAI endpoint; the ones marked "also non-stream"
/// change the non-streaming body too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenAiQuirk {
    /// `finish_reason: "stop"` although tool calls were sent (also non-stream).
    StopWithToolCalls,
    /// Every tool-call fragment has `index: 0` (only sensible with distinct ids).
    #[serde(rename = "all_calls_index_0")]
    AllCallsIndex0,
    /// Tool-call fragments carry no `index`.
    MissingIndex,
    /// Each tool call arrives whole in one fragment (id, name and full arguments).
    WholeCallInOneChunk,
    /// Text deltas carry `tool_calls: []` beside `content`.
    EmptyToolCallsWithText,
    /// Reasoning in `delta.reasoning` / `message.reasoning` instead of `reasoning_content` (also non-stream).
    ReasoningField,
    /// Send the usage chunk even when `stream_options.include_usage` was not asked for.
    UsageAlways,
    /// Continuation fragments carry `id: null`, `type: null` and `function.name: null`.
    NullContinuationFields,
    /// The first fragment of a tool call has no `type`.
    MissingType,
    /// `function.arguments` is a JSON object instead of a string (non-stream and whole-call chunks).
    ArgumentsAsObject,
}
