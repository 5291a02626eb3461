//! Encoding IR events as the chunk stream OpenAI clients expect: one `id` and `created` throughout, a first
//! delta `{role:"assistant",content:""}`, tool-call fragments indexed by tool call, a finish reason, the
//! usage chunk only when the client asked for it, and `data: [DONE]`.

use bytes::Bytes;
use serde_json::{Value, json};

use super::response::{finish_reason, render_usage};
use crate::ApiError;
use crate::ir::{BlockDelta, BlockStart, StreamEvent, Usage};
use crate::sse::data_frame;

/// See the module docs.
#[derive(Debug)]
pub struct StreamEncoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    /// IR block index → OpenAI tool-call index (which counts tool calls only).
    tool_slots: Vec<(usize, usize)>,
    usage: Usage,
}

impl StreamEncoder {
    /// `id` and `created` are fixed for the whole stream; `model` is the name the client asked for.
    pub fn new(id: impl Into<String>, model: impl Into<String>, created: u64, include_usage: bool) -> StreamEncoder {
        StreamEncoder {
            id: id.into(),
            model: model.into(),
            created,
            include_usage,
            tool_slots: Vec::new(),
            usage: Usage::default(),
        }
    }

    /// The frames for one event (none for events OpenAI has no counterpart for).
    pub fn encode(&mut self, event: &StreamEvent) -> Vec<Bytes> {
        match event {
            StreamEvent::MessageStart { usage, .. } => {
                self.usage = *usage;
                vec![self.chunk(json!({ "role": "assistant", "content": "" }), None)]
            }
            StreamEvent::BlockStart { index, block: BlockStart::ToolUse { id, name } } => {
                let slot = self.tool_slots.len();
                self.tool_slots.push((*index, slot));
                let call = json!({
                    "index": slot,
                    "id": id,
                    "type": "function",
                    "function": { "name": name, "arguments": "" },
                });
                vec![self.chunk(json!({ "tool_calls": [call] }), None)]
            }
            StreamEvent::BlockStart { .. } | StreamEvent::BlockStop { .. } | StreamEvent::Ping => Vec::new(),
            StreamEvent::BlockDelta { index, delta } => match delta {
                BlockDelta::Text(text) => vec![self.chunk(json!({ "content": text }), None)],
                BlockDelta::Thinking(text) => vec![self.chunk(json!({ "reasoning_content": text }), None)],
                BlockDelta::InputJson(fragment) => {
                    let Some(slot) = self.tool_slots.iter().find(|(i, _)| i == index).map(|(_, s)| *s) else {
                        return Vec::new();
                    };
                    let call = json!({ "index": slot, "function": { "arguments": fragment } });
                    vec![self.chunk(json!({ "tool_calls": [call] }), None)]
                }
                BlockDelta::Signature(_) => Vec::new(),
            },
            StreamEvent::MessageDelta { stop_reason, usage, .. } => {
                self.usage = *usage;
                let finish = if self.tool_slots.is_empty() { finish_reason(*stop_reason) } else { "tool_calls" };
                vec![self.chunk(json!({}), Some(finish))]
            }
            StreamEvent::MessageStop => {
                let mut frames = Vec::with_capacity(2);
                if self.include_usage {
                    frames.push(self.usage_chunk());
                }
                frames.push(done_frame());
                frames
            }
            StreamEvent::Error(error) => vec![error_frame(error)],
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Bytes {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish, "logprobs": null }],
        });
        if self.include_usage {
            // With include_usage every chunk carries `usage: null` except the last one.
            chunk["usage"] = Value::Null;
        }
        data_frame(&chunk.to_string())
    }

    fn usage_chunk(&self) -> Bytes {
        usage_chunk(&self.id, &self.model, self.created, &self.usage)
    }
}

/// The final `choices: []` chunk that carries usage (sent only to clients that asked for it).
pub fn usage_chunk(id: &str, model: &str, created: u64, usage: &Usage) -> Bytes {
    let chunk = json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": render_usage(usage),
    });
    data_frame(&chunk.to_string())
}

/// The stream terminator.
pub fn done_frame() -> Bytes {
    data_frame("[DONE]")
}

/// The in-stream error OpenAI clients understand (the SDK raises `APIError` on a chunk with `error`).
pub fn error_frame(error: &ApiError) -> Bytes {
    data_frame(&error.openai_body().to_string())
}
