//! Helpers shared by the integration tests: IR builders, SSE plumbing, a stream summariser and a checker of
//! the IR stream invariants documented in `ir.rs`.
#![allow(dead_code)]

use bivio_protocol::ApiError;
use bivio_protocol::ir::{
    Block, BlockDelta, BlockStart, ChatRequest, ImageSource, Message, Role, StopReason, StreamEvent, ToolResultContent,
    Usage,
};
use bivio_protocol::sse::{Frame, SseParser};
use bivio_protocol::{anthropic, openai};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------------------
// IR builders

pub fn text(text: &str) -> Block {
    Block::text(text)
}

pub fn user(content: Vec<Block>) -> Message {
    Message { role: Role::User, content }
}

pub fn assistant(content: Vec<Block>) -> Message {
    Message { role: Role::Assistant, content }
}

pub fn tool_use(id: &str, name: &str, input: Value) -> Block {
    Block::ToolUse { id: id.into(), name: name.into(), input, cache_control: None }
}

pub fn tool_result(id: &str, content: &str) -> Block {
    Block::ToolResult {
        tool_use_id: id.into(),
        content: ToolResultContent::Text(content.into()),
        is_error: false,
        cache_control: None,
    }
}

pub fn image_b64(media_type: &str, data: &str) -> Block {
    Block::Image {
        source: ImageSource::Base64 { media_type: media_type.into(), data: data.into() },
        cache_control: None,
    }
}

pub fn image_url(url: &str) -> Block {
    Block::Image { source: ImageSource::Url { url: url.into() }, cache_control: None }
}

pub fn request(messages: Vec<Message>) -> ChatRequest {
    ChatRequest { model: "client-model".into(), messages, ..ChatRequest::default() }
}

// ---------------------------------------------------------------------------------------------------------
// SSE plumbing

/// Every frame in `bytes`, fed in one piece; the stream must end cleanly.
pub fn frames(bytes: &[u8]) -> Vec<Frame> {
    frames_cut(bytes, &[])
}

/// Every frame in `bytes`, fed in pieces split at `cuts` (any order, any values; reduced modulo the length).
pub fn frames_cut(bytes: &[u8], cuts: &[usize]) -> Vec<Frame> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    let mut start = 0;
    for point in points.into_iter().chain([bytes.len()]) {
        out.extend(parser.feed(&bytes[start..point]).unwrap());
        start = point;
    }
    parser.finish().unwrap();
    out
}

/// An OpenAI-style body: one `data:` frame per chunk, then `data: [DONE]` when `done`.
pub fn openai_sse(chunks: &[Value], done: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend_from_slice(format!("data: {chunk}\n\n").as_bytes());
    }
    if done {
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
    out
}

/// An Anthropic-style body: `event: TYPE` + `data: JSON` per event.
pub fn anthropic_sse(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for event in events {
        let kind = event["type"].as_str().unwrap();
        out.extend_from_slice(format!("event: {kind}\ndata: {event}\n\n").as_bytes());
    }
    out
}

/// Decodes an OpenAI body (split at `cuts`) into IR events, calling `end_of_input` at the end.
pub fn decode_openai_cut(bytes: &[u8], cuts: &[usize]) -> Vec<StreamEvent> {
    let mut decoder = openai::StreamDecoder::new();
    let mut events = Vec::new();
    for frame in frames_cut(bytes, cuts) {
        events.extend(decoder.decode(&frame).unwrap());
    }
    events.extend(decoder.end_of_input());
    events
}

pub fn decode_openai(bytes: &[u8]) -> Vec<StreamEvent> {
    decode_openai_cut(bytes, &[])
}

pub fn decode_openai_chunks(chunks: &[Value], done: bool) -> Vec<StreamEvent> {
    decode_openai(&openai_sse(chunks, done))
}

/// Decodes an Anthropic body (split at `cuts`) into IR events.
pub fn decode_anthropic_cut(bytes: &[u8], cuts: &[usize]) -> Vec<StreamEvent> {
    let mut decoder = anthropic::StreamDecoder::new();
    frames_cut(bytes, cuts).iter().filter_map(|frame| decoder.decode(frame).unwrap()).collect()
}

pub fn decode_anthropic(bytes: &[u8]) -> Vec<StreamEvent> {
    decode_anthropic_cut(bytes, &[])
}

/// Encodes IR events with the OpenAI encoder into one byte string.
pub fn encode_openai(events: &[StreamEvent], include_usage: bool) -> Vec<u8> {
    let mut encoder = openai::StreamEncoder::new("chatcmpl-1", "client-model", 1_700_000_000, include_usage);
    events.iter().flat_map(|e| encoder.encode(e)).flat_map(|b| b.to_vec()).collect()
}

/// Encodes IR events with the Anthropic encoder into one byte string.
pub fn encode_anthropic(events: &[StreamEvent]) -> Vec<u8> {
    let mut encoder = anthropic::StreamEncoder::new("client-model");
    events.iter().flat_map(|e| encoder.encode(e).to_vec()).collect()
}

/// The JSON payloads of an OpenAI body, `[DONE]` as a JSON string.
pub fn openai_payloads(bytes: &[u8]) -> Vec<Value> {
    frames(bytes)
        .into_iter()
        .filter_map(|f| f.data)
        .map(|d| if d == "[DONE]" { Value::String(d) } else { serde_json::from_str(&d).unwrap() })
        .collect()
}

/// (event line, JSON payload) of every frame of an Anthropic body.
pub fn anthropic_payloads(bytes: &[u8]) -> Vec<(String, Value)> {
    frames(bytes)
        .into_iter()
        .map(|f| (f.event.unwrap_or_default(), serde_json::from_str(&f.data.unwrap_or_default()).unwrap()))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Stream summaries and invariants

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

impl ToolCall {
    pub fn new(id: &str, name: &str, arguments: &str) -> ToolCall {
        ToolCall { id: id.into(), name: name.into(), arguments: arguments.into() }
    }

    /// The arguments parsed as JSON (`{}` when empty, as the Anthropic SDK does).
    pub fn input(&self) -> Value {
        if self.arguments.is_empty() { serde_json::json!({}) } else { serde_json::from_str(&self.arguments).unwrap() }
    }
}

/// What a client would assemble from a stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub id: Option<String>,
    pub model: Option<String>,
    pub text: String,
    pub thinking: String,
    pub signature: String,
    pub tool_calls: Vec<ToolCall>,
    pub stop_reason: Option<StopReason>,
    pub stop_sequence: Option<String>,
    pub usage: Option<Usage>,
    pub error: Option<ApiError>,
    pub stopped: bool,
}

pub fn summarize(events: &[StreamEvent]) -> Summary {
    let mut summary = Summary::default();
    let mut tool_of_index: Vec<(usize, usize)> = Vec::new();
    for event in events {
        match event {
            StreamEvent::MessageStart { id, model, .. } => {
                summary.id = Some(id.clone());
                summary.model = Some(model.clone());
            }
            StreamEvent::BlockStart { index, block: BlockStart::ToolUse { id, name } } => {
                tool_of_index.push((*index, summary.tool_calls.len()));
                summary.tool_calls.push(ToolCall::new(id, name, ""));
            }
            StreamEvent::BlockStart { .. } | StreamEvent::BlockStop { .. } | StreamEvent::Ping => {}
            StreamEvent::BlockDelta { index, delta } => match delta {
                BlockDelta::Text(t) => summary.text.push_str(t),
                BlockDelta::Thinking(t) => summary.thinking.push_str(t),
                BlockDelta::Signature(s) => summary.signature.push_str(s),
                BlockDelta::InputJson(j) => {
                    let (_, call) = tool_of_index.iter().find(|(i, _)| i == index).unwrap();
                    summary.tool_calls[*call].arguments.push_str(j);
                }
            },
            StreamEvent::MessageDelta { stop_reason, stop_sequence, usage } => {
                summary.stop_reason = *stop_reason;
                summary.stop_sequence = stop_sequence.clone();
                summary.usage = Some(*usage);
            }
            StreamEvent::MessageStop => summary.stopped = true,
            StreamEvent::Error(err) => summary.error = Some(err.clone()),
        }
    }
    summary
}

/// Panics unless `events` follow the IR stream grammar: `MessageStart`, blocks in index order
/// (`BlockStart` → matching `BlockDelta`* → `BlockStop`), `MessageDelta`, `MessageStop`; `Ping` anywhere;
/// `Error` ends the stream early. A stream cut by an error need not be complete.
pub fn assert_well_formed(events: &[StreamEvent]) {
    #[derive(PartialEq)]
    enum Phase {
        Start,
        Blocks,
        Delta,
        Done,
    }
    let mut phase = Phase::Start;
    let mut next_index = 0;
    let mut open: Option<(usize, &BlockStart)> = None;
    for (position, event) in events.iter().enumerate() {
        let at = format!("event {position} ({event:?}) in {events:#?}");
        assert!(phase != Phase::Done, "nothing may follow MessageStop or Error: {at}");
        match event {
            StreamEvent::Ping => {}
            StreamEvent::Error(_) => phase = Phase::Done,
            StreamEvent::MessageStart { .. } => {
                assert!(phase == Phase::Start, "MessageStart must come first, once: {at}");
                phase = Phase::Blocks;
            }
            StreamEvent::BlockStart { index, block } => {
                assert!(phase == Phase::Blocks, "BlockStart outside the block phase: {at}");
                assert!(open.is_none(), "BlockStart while another block is open: {at}");
                assert_eq!(*index, next_index, "blocks must be numbered 0, 1, 2…: {at}");
                next_index += 1;
                open = Some((*index, block));
            }
            StreamEvent::BlockDelta { index, delta } => {
                let Some((open_index, block)) = open else { panic!("BlockDelta with no open block: {at}") };
                assert_eq!(*index, open_index, "BlockDelta for a block that is not open: {at}");
                let fits = matches!(
                    (block, delta),
                    (BlockStart::Text, BlockDelta::Text(_))
                        | (BlockStart::ToolUse { .. }, BlockDelta::InputJson(_))
                        | (BlockStart::Thinking, BlockDelta::Thinking(_) | BlockDelta::Signature(_))
                );
                assert!(fits, "delta kind does not fit its block: {at}");
            }
            StreamEvent::BlockStop { index } => {
                let Some((open_index, _)) = open else { panic!("BlockStop with no open block: {at}") };
                assert_eq!(*index, open_index, "BlockStop for a block that is not open: {at}");
                open = None;
            }
            StreamEvent::MessageDelta { .. } => {
                assert!(phase == Phase::Blocks, "MessageDelta must follow MessageStart, once: {at}");
                assert!(open.is_none(), "MessageDelta while a block is open: {at}");
                phase = Phase::Delta;
            }
            StreamEvent::MessageStop => {
                assert!(phase == Phase::Delta, "MessageStop must follow MessageDelta: {at}");
                phase = Phase::Done;
            }
        }
    }
}

/// Like [`assert_well_formed`], and the stream must have completed with `MessageStop`.
pub fn assert_complete(events: &[StreamEvent]) {
    assert_well_formed(events);
    assert!(matches!(events.last(), Some(StreamEvent::MessageStop)), "stream did not complete: {events:#?}");
}
