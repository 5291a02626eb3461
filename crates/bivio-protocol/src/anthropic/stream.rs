//! Anthropic Messages streams: decoding Claude's SSE events into IR events, and encoding IR events as the SSE
//! frames Anthropic clients expect (`event: TYPE` + `data: JSON`, the full skeleton even for empty output).

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::response::{WireUsage, render_usage};
use crate::ir::{BlockDelta, BlockStart, StopReason, StreamEvent, Usage};
use crate::sse::{Frame, event_frame};
use crate::{ApiError, ErrorKind};

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: WireMessageStart,
    },
    ContentBlockStart {
        index: usize,
        content_block: Value,
    },
    ContentBlockDelta {
        index: usize,
        delta: Value,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: WireMessageDelta,
        #[serde(default)]
        usage: WireUsage,
    },
    MessageStop,
    Ping,
    Error {
        error: WireError,
    },
}

#[derive(Debug, Deserialize)]
struct WireMessageStart {
    id: String,
    model: String,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Debug, Deserialize)]
struct WireMessageDelta {
    stop_reason: Option<StopReason>,
    stop_sequence: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireError {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

/// Turns Claude's SSE frames into IR events. Stateful to make `message_delta` usage cumulative, and to skip
/// the blocks it does not model.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    usage: Usage,
    finished: bool,
    /// Wire block index → IR block index, `None` for a block whose start yielded nothing (server tool uses and
    /// results). Its deltas and stop must yield nothing too, and the blocks after it are renumbered, so the IR
    /// keeps its grammar: every delta belongs to a started block, and blocks are numbered 0, 1, 2….
    blocks: Vec<(usize, Option<usize>)>,
    next_index: usize,
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder::default()
    }

    /// Whether `message_stop` (or an error) has been seen: the stream is complete.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Decodes one frame. Event and block types bivio does not model (newer server tools, citations) yield
    /// nothing rather than an error, so a forwarded stream keeps flowing.
    pub fn decode(&mut self, frame: &Frame) -> Result<Option<StreamEvent>, ApiError> {
        let Some(data) = &frame.data else { return Ok(None) };
        let value: Value = serde_json::from_str(data).map_err(|err| garbage(&err))?;
        let known = matches!(
            value.get("type").and_then(Value::as_str),
            Some(
                "message_start"
                    | "content_block_start"
                    | "content_block_delta"
                    | "content_block_stop"
                    | "message_delta"
                    | "message_stop"
                    | "ping"
                    | "error"
            )
        );
        if !known {
            return Ok(None);
        }
        let event: WireEvent = serde_json::from_value(value).map_err(|err| garbage(&err))?;
        Ok(match event {
            WireEvent::MessageStart { message } => {
                self.blocks.clear();
                self.next_index = 0;
                self.usage = message.usage.merge_into(Usage::default());
                Some(StreamEvent::MessageStart { id: message.id, model: message.model, usage: self.usage })
            }
            WireEvent::ContentBlockStart { index: wire, content_block } => {
                let block = block_start(&content_block);
                let index = block.is_some().then(|| {
                    self.next_index += 1;
                    self.next_index - 1
                });
                self.blocks.push((wire, index));
                block.zip(index).map(|(block, index)| StreamEvent::BlockStart { index, block })
            }
            WireEvent::ContentBlockDelta { index, delta } => self
                .ir_index(index)
                .and_then(|index| block_delta(&delta).map(|delta| StreamEvent::BlockDelta { index, delta })),
            WireEvent::ContentBlockStop { index } => self.ir_index(index).map(|index| StreamEvent::BlockStop { index }),
            WireEvent::MessageDelta { delta, usage } => {
                self.usage = usage.merge_into(self.usage);
                Some(StreamEvent::MessageDelta {
                    stop_reason: delta.stop_reason,
                    stop_sequence: delta.stop_sequence,
                    usage: self.usage,
                })
            }
            WireEvent::MessageStop => {
                self.finished = true;
                Some(StreamEvent::MessageStop)
            }
            WireEvent::Ping => Some(StreamEvent::Ping),
            WireEvent::Error { error } => {
                self.finished = true;
                Some(StreamEvent::Error(ApiError::new(ErrorKind::from_type_name(&error.kind), error.message)))
            }
        })
    }

    /// The IR index of a wire block; `None` for a skipped block. A block never started keeps its wire index.
    fn ir_index(&self, wire: usize) -> Option<usize> {
        match self.blocks.iter().rev().find(|(w, _)| *w == wire) {
            Some((_, index)) => *index,
            None => Some(wire),
        }
    }
}

fn garbage(err: &serde_json::Error) -> ApiError {
    ApiError::new(ErrorKind::BadGateway, format!("the upstream sent an unreadable stream event: {err}"))
}

fn block_start(block: &Value) -> Option<BlockStart> {
    let text = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    match block.get("type")?.as_str()? {
        "text" => Some(BlockStart::Text),
        "tool_use" => Some(BlockStart::ToolUse { id: text("id"), name: text("name") }),
        "thinking" => Some(BlockStart::Thinking),
        "redacted_thinking" => Some(BlockStart::RedactedThinking { data: text("data") }),
        _ => None,
    }
}

fn block_delta(delta: &Value) -> Option<BlockDelta> {
    let text = |key: &str| delta.get(key).and_then(Value::as_str).map(str::to_owned);
    match delta.get("type")?.as_str()? {
        "text_delta" => text("text").map(BlockDelta::Text),
        "input_json_delta" => text("partial_json").map(BlockDelta::InputJson),
        "thinking_delta" => text("thinking").map(BlockDelta::Thinking),
        "signature_delta" => text("signature").map(BlockDelta::Signature),
        _ => None,
    }
}

/// Renders IR events as Anthropic SSE frames.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    /// The model name the client asked for; it replaces the upstream's in `message_start`.
    model: String,
}

impl StreamEncoder {
    pub fn new(model: impl Into<String>) -> StreamEncoder {
        StreamEncoder { model: model.into() }
    }

    pub fn encode(&mut self, event: &StreamEvent) -> Bytes {
        match event {
            StreamEvent::MessageStart { id, usage, .. } => frame(
                "message_start",
                json!({
                    "type": "message_start",
                    "message": {
                        "id": id,
                        "type": "message",
                        "role": "assistant",
                        "model": self.model,
                        "content": [],
                        "stop_reason": null,
                        "stop_sequence": null,
                        "usage": render_usage(usage),
                    }
                }),
            ),
            StreamEvent::BlockStart { index, block } => {
                let content_block = match block {
                    BlockStart::Text => json!({ "type": "text", "text": "" }),
                    BlockStart::ToolUse { id, name } => {
                        json!({ "type": "tool_use", "id": crate::tool_ids::to_anthropic(id), "name": name, "input": {} })
                    }
                    BlockStart::Thinking => json!({ "type": "thinking", "thinking": "", "signature": "" }),
                    BlockStart::RedactedThinking { data } => json!({ "type": "redacted_thinking", "data": data }),
                };
                frame(
                    "content_block_start",
                    json!({ "type": "content_block_start", "index": index, "content_block": content_block }),
                )
            }
            StreamEvent::BlockDelta { index, delta } => {
                let delta = match delta {
                    BlockDelta::Text(text) => json!({ "type": "text_delta", "text": text }),
                    BlockDelta::InputJson(json) => json!({ "type": "input_json_delta", "partial_json": json }),
                    BlockDelta::Thinking(text) => json!({ "type": "thinking_delta", "thinking": text }),
                    BlockDelta::Signature(sig) => json!({ "type": "signature_delta", "signature": sig }),
                };
                frame("content_block_delta", json!({ "type": "content_block_delta", "index": index, "delta": delta }))
            }
            StreamEvent::BlockStop { index } => {
                frame("content_block_stop", json!({ "type": "content_block_stop", "index": index }))
            }
            StreamEvent::MessageDelta { stop_reason, stop_sequence, usage } => frame(
                "message_delta",
                json!({
                    "type": "message_delta",
                    "delta": { "stop_reason": stop_reason, "stop_sequence": stop_sequence },
                    "usage": render_usage(usage),
                }),
            ),
            StreamEvent::MessageStop => frame("message_stop", json!({ "type": "message_stop" })),
            StreamEvent::Ping => frame("ping", json!({ "type": "ping" })),
            StreamEvent::Error(error) => error_frame(error),
        }
    }
}

/// The in-stream error event Anthropic clients understand.
pub fn error_frame(error: &ApiError) -> Bytes {
    frame(
        "error",
        json!({ "type": "error", "error": { "type": error.kind.anthropic_type(), "message": error.message } }),
    )
}

fn frame(event: &str, data: Value) -> Bytes {
    event_frame(event, &data.to_string())
}
