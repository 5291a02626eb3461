//! Decoding an OpenAI-compatible backend's chunk stream into IR events.
//!
//! Chunks carry interleaved deltas with no block structure, so the decoder opens and closes IR blocks as the
//! kind of delta changes, and holds `MessageDelta` back until usage (or `[DONE]`) has arrived. It tolerates
//! what real backends send: `tool_calls: []` beside text, continuation deltas with null id/name, a missing
//! `index`, every call at index 0, a missing `type`, a whole call in one chunk, usage-only chunks, arguments
//! sent as an object, and reasoning in `reasoning` or `reasoning_content`.

use serde::Deserialize;
use serde_json::Value;

use super::response::{WireUsage, stop_reason};
use crate::ir::{BlockDelta, BlockStart, StreamEvent, Usage};
use crate::sse::Frame;
use crate::{ApiError, ErrorKind, tool_ids};

#[derive(Debug, Deserialize)]
struct WireChunk {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct WireChunkChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: WireDelta,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireDelta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCallDelta>>,
}

#[derive(Debug, Deserialize)]
struct WireToolCallDelta {
    index: Option<u32>,
    id: Option<String>,
    function: Option<WireFunctionDelta>,
}

#[derive(Debug, Deserialize)]
struct WireFunctionDelta {
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
    /// A tool call; `slot` is the backend's `index` for it.
    Tool {
        slot: u32,
    },
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    finished: bool,
    /// The block being streamed and its IR index.
    open: Option<(Open, usize)>,
    next_index: usize,
    /// (slot, id) of every tool call seen, to recognise continuations.
    calls: Vec<(u32, String)>,
    finish_reason: Option<String>,
    /// Usage as reported by the backend; `None` until a chunk carries it.
    usage: Option<Usage>,
    /// Chunks that carried generated content: the output-token count when the backend reports no usage
    /// (llama.cpp-style servers stream one token per chunk and some ignore `include_usage`).
    content_chunks: u64,
    /// Input-token estimate used when the backend reports no usage.
    prompt_estimate: u64,
    response_id: String,
    /// Where the last decoded chunk carried usage (for passthrough egress, which forwards chunks as they are).
    last_chunk_usage: ChunkUsage,
}

/// Where an OpenAI chunk carried usage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChunkUsage {
    #[default]
    None,
    /// The dedicated final chunk: `choices: []` and `usage` (what `include_usage` asks for).
    Only,
    /// Usage on a chunk that also has choices (some servers do this).
    Inline,
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder::default()
    }

    /// A decoder that, should the backend report no usage, falls back to `prompt_estimate` input tokens and
    /// one output token per content chunk.
    pub fn with_prompt_estimate(prompt_estimate: u64) -> StreamDecoder {
        StreamDecoder { prompt_estimate, ..StreamDecoder::default() }
    }

    /// Whether the stream reached `[DONE]` (or an error).
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Whether the frame `decode` saw last carried usage, and how.
    pub fn last_chunk_usage(&self) -> ChunkUsage {
        self.last_chunk_usage
    }

    /// Decodes one frame into zero or more IR events.
    pub fn decode(&mut self, frame: &Frame) -> Result<Vec<StreamEvent>, ApiError> {
        self.last_chunk_usage = ChunkUsage::None;
        let Some(data) = frame.data.as_deref() else { return Ok(Vec::new()) };
        // After `[DONE]` or an error the IR stream is over (`MessageStop`/`Error` end it); anything a server sends
        // after that must not produce events that would follow them.
        if self.finished {
            return Ok(Vec::new());
        }
        let mut events = Vec::new();
        if data.trim() == "[DONE]" {
            self.finish_into(&mut events);
            return Ok(events);
        }
        let value: Value = serde_json::from_str(data).map_err(|err| garbage(&err))?;
        // Some servers put `"error": null` on ordinary chunks; only a present error ends the stream. The error is
        // usually `{message, type}`, but a few servers send a bare string.
        if let Some(error) = value.get("error").filter(|error| !error.is_null()) {
            self.finished = true;
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .or_else(|| error.as_str())
                .unwrap_or("the upstream failed");
            let kind = error.get("type").and_then(Value::as_str).map_or(ErrorKind::Api, ErrorKind::from_type_name);
            events.push(StreamEvent::Error(ApiError::new(kind, message)));
            return Ok(events);
        }
        let chunk: WireChunk = serde_json::from_value(value).map_err(|err| garbage(&err))?;
        if !self.started {
            self.started = true;
            self.response_id = chunk.id.clone().unwrap_or_default();
            events.push(StreamEvent::MessageStart {
                id: chunk.id.unwrap_or_default(),
                model: chunk.model.unwrap_or_default(),
                usage: Usage::default(),
            });
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.to_ir());
            self.last_chunk_usage = if chunk.choices.is_empty() { ChunkUsage::Only } else { ChunkUsage::Inline };
        }
        // Only the first choice is streamed; n > 1 is not translated.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            let events_before = events.len();
            let reasoning = choice.delta.reasoning_content.or(choice.delta.reasoning);
            if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
                self.delta(&mut events, Open::Thinking, BlockDelta::Thinking(text));
            }
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                self.delta(&mut events, Open::Text, BlockDelta::Text(text));
            }
            for (position, call) in choice.delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
                self.tool_call(&mut events, call, position);
            }
            if events[events_before..].iter().any(|e| matches!(e, StreamEvent::BlockDelta { .. })) {
                self.content_chunks += 1;
            }
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
            }
        }
        Ok(events)
    }

    /// Call when the upstream body ends. A stream that never reached `[DONE]` but did report a finish reason is
    /// completed (some servers omit `[DONE]`); one that stopped mid-answer is an error.
    pub fn end_of_input(&mut self) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        if self.finished {
            return events;
        }
        if self.finish_reason.is_some() {
            self.finish_into(&mut events);
        } else {
            self.finished = true;
            events.push(StreamEvent::Error(ApiError::new(
                ErrorKind::BadGateway,
                "the upstream closed the stream before the answer was complete",
            )));
        }
        events
    }

    fn delta(&mut self, events: &mut Vec<StreamEvent>, kind: Open, delta: BlockDelta) {
        let index = match self.open {
            Some((open, index)) if open == kind => index,
            _ => self.open_block(events, kind, block_start_for(kind)),
        };
        events.push(StreamEvent::BlockDelta { index, delta });
    }

    fn open_block(&mut self, events: &mut Vec<StreamEvent>, kind: Open, block: BlockStart) -> usize {
        self.close_block(events);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((kind, index));
        events.push(StreamEvent::BlockStart { index, block });
        index
    }

    fn close_block(&mut self, events: &mut Vec<StreamEvent>) {
        if let Some((_, index)) = self.open.take() {
            events.push(StreamEvent::BlockStop { index });
        }
    }

    fn tool_call(&mut self, events: &mut Vec<StreamEvent>, call: WireToolCallDelta, position: usize) {
        let slot = call.index.unwrap_or(position as u32);
        let id = call.id.filter(|id| !id.is_empty());
        let (name, arguments) = match call.function {
            Some(f) => (f.name.filter(|n| !n.is_empty()), f.arguments),
            None => (None, None),
        };
        // A new call: an id we have not seen at this slot, or a name for a slot never seen.
        let known = self.calls.iter().find(|(s, _)| *s == slot).map(|(_, id)| id.clone());
        let is_new = match (&id, &known) {
            (Some(id), Some(known)) => id != known,
            (Some(_), None) => true,
            (None, None) => name.is_some(),
            (None, Some(_)) => false,
        };
        if is_new {
            let id = id.unwrap_or_else(|| tool_ids::generated(&self.response_id, self.calls.len()));
            self.calls.retain(|(s, _)| *s != slot);
            self.calls.push((slot, id.clone()));
            let name = name.unwrap_or_default();
            self.open_block(events, Open::Tool { slot }, BlockStart::ToolUse { id, name });
        }
        let fragment = match arguments {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        if fragment.is_empty() {
            return;
        }
        let index = match self.open {
            Some((Open::Tool { slot: open_slot }, index)) if open_slot == slot => index,
            // A continuation for a call that is no longer open (interleaved parallel calls) or arguments with no
            // call at all: attach to the open tool block if there is one, else drop what cannot be placed.
            Some((Open::Tool { .. }, index)) => index,
            _ => return,
        };
        events.push(StreamEvent::BlockDelta { index, delta: BlockDelta::InputJson(fragment) });
    }

    fn finish_into(&mut self, events: &mut Vec<StreamEvent>) {
        if self.finished {
            return;
        }
        self.finished = true;
        if !self.started {
            self.started = true;
            events.push(StreamEvent::MessageStart { id: String::new(), model: String::new(), usage: Usage::default() });
        }
        self.close_block(events);
        events.push(StreamEvent::MessageDelta {
            stop_reason: Some(stop_reason(self.finish_reason.as_deref(), !self.calls.is_empty())),
            stop_sequence: None,
            usage: self.usage.unwrap_or(Usage {
                input_tokens: self.prompt_estimate,
                output_tokens: self.content_chunks,
                ..Usage::default()
            }),
        });
        events.push(StreamEvent::MessageStop);
    }
}

fn block_start_for(kind: Open) -> BlockStart {
    match kind {
        Open::Text => BlockStart::Text,
        Open::Thinking => BlockStart::Thinking,
        // Tool blocks are opened by `tool_call` with their id and name; never reached through `delta`.
        Open::Tool { .. } => BlockStart::ToolUse { id: String::new(), name: String::new() },
    }
}

fn garbage(err: &serde_json::Error) -> ApiError {
    ApiError::new(ErrorKind::BadGateway, format!("the upstream sent an unreadable stream chunk: {err}"))
}
