//! Restoring redacted values in answers. A cloud model that saw `[[EMAIL_1]]` answers with `[[EMAIL_1]]`;
//! the client must read the real address — in text, thinking and tool-call arguments, whole or streamed.
//!
//! Streams: each content block gets its own [`Restorer`] (text mode for text and thinking, JSON-string mode
//! for tool-call argument fragments, so restored values are escaped and the arguments stay valid JSON). A
//! placeholder split across deltas is held back until it is complete; whatever is held when the block
//! stops is flushed as one last delta before the stop.

use std::collections::HashMap;

use bivio_guard::{Redactor, RestoreMode, Restorer};
use bivio_protocol::ir::{Block, BlockDelta, BlockStart, ChatResponse, StreamEvent};
use serde_json::Value;

/// Restores a complete answer in place.
pub fn response(redactor: &Redactor, response: &mut ChatResponse) {
    for block in &mut response.content {
        match block {
            Block::Text { text, .. } => *text = redactor.restore_text(text),
            Block::Thinking { thinking, .. } => *thinking = redactor.restore_text(thinking),
            Block::ToolUse { input, .. } => json(redactor, input),
            _ => {}
        }
    }
}

/// Every key and string of a tool call's input.
fn json(redactor: &Redactor, value: &mut Value) {
    match value {
        Value::String(text) => *text = redactor.restore_text(text),
        Value::Array(items) => items.iter_mut().for_each(|item| json(redactor, item)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                json(redactor, &mut item);
                map.insert(redactor.restore_text(&key), item);
            }
        }
        _ => {}
    }
}

/// Restores a stream of events, block by block.
#[derive(Debug)]
pub struct StreamRestorer {
    redactor: Redactor,
    blocks: HashMap<usize, (Restorer, Part)>,
}

/// What kind of delta a block's held-back tail is flushed as.
#[derive(Debug, Clone, Copy)]
enum Part {
    Text,
    Thinking,
    Arguments,
}

impl StreamRestorer {
    pub fn new(redactor: Redactor) -> StreamRestorer {
        StreamRestorer { redactor, blocks: HashMap::new() }
    }

    /// The events to emit for `event` (none while a placeholder is incomplete, two when a block stops with
    /// a held-back tail).
    pub fn apply(&mut self, event: StreamEvent, out: &mut Vec<StreamEvent>) {
        match event {
            StreamEvent::BlockStart { index, ref block } => {
                let (mode, part) = match block {
                    BlockStart::ToolUse { .. } => (RestoreMode::JsonString, Part::Arguments),
                    BlockStart::Thinking => (RestoreMode::Text, Part::Thinking),
                    BlockStart::Text | BlockStart::RedactedThinking { .. } => (RestoreMode::Text, Part::Text),
                };
                self.blocks.insert(index, (self.redactor.restorer(mode), part));
                out.push(event);
            }
            StreamEvent::BlockDelta { index, delta } => {
                let Some((restorer, _)) = self.blocks.get_mut(&index) else {
                    out.push(StreamEvent::BlockDelta { index, delta });
                    return;
                };
                let delta = match delta {
                    BlockDelta::Text(text) => BlockDelta::Text(restorer.push(&text)),
                    BlockDelta::Thinking(text) => BlockDelta::Thinking(restorer.push(&text)),
                    BlockDelta::InputJson(text) => BlockDelta::InputJson(restorer.push(&text)),
                    signature @ BlockDelta::Signature(_) => signature,
                };
                if !is_empty(&delta) {
                    out.push(StreamEvent::BlockDelta { index, delta });
                }
            }
            StreamEvent::BlockStop { index } => {
                if let Some((mut restorer, part)) = self.blocks.remove(&index) {
                    let tail = restorer.finish();
                    if !tail.is_empty() {
                        let delta = match part {
                            Part::Text => BlockDelta::Text(tail),
                            Part::Thinking => BlockDelta::Thinking(tail),
                            Part::Arguments => BlockDelta::InputJson(tail),
                        };
                        out.push(StreamEvent::BlockDelta { index, delta });
                    }
                }
                out.push(StreamEvent::BlockStop { index });
            }
            other => out.push(other),
        }
    }
}

fn is_empty(delta: &BlockDelta) -> bool {
    match delta {
        BlockDelta::Text(s) | BlockDelta::Thinking(s) | BlockDelta::InputJson(s) => s.is_empty(),
        BlockDelta::Signature(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bivio_guard::{GuardConfig, Kind, Scanner};

    fn redactor() -> Redactor {
        let scanner = Scanner::new(&GuardConfig::default()).unwrap();
        let mut redactor = Redactor::new();
        let redacted = redactor.redact_with(&scanner, "mail mario.rossi@example.com now", &|_: &Kind| true);
        assert_eq!(redacted, "mail [[EMAIL_1]] now");
        redactor
    }

    fn run(events: Vec<StreamEvent>) -> Vec<StreamEvent> {
        let mut restorer = StreamRestorer::new(redactor());
        let mut out = Vec::new();
        for event in events {
            restorer.apply(event, &mut out);
        }
        out
    }

    fn collect(events: &[StreamEvent], index: usize) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::BlockDelta { index: i, delta: BlockDelta::Text(s) | BlockDelta::InputJson(s) }
                    if *i == index =>
                {
                    Some(s.as_str())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn split_placeholders_are_restored_in_text_and_arguments() {
        let out = run(vec![
            StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("write to [[EM".into()) },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("AIL_1]] today [[".into()) },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::BlockStart { index: 1, block: BlockStart::ToolUse { id: "t".into(), name: "send".into() } },
            StreamEvent::BlockDelta { index: 1, delta: BlockDelta::InputJson("{\"to\":\"[[EMAIL".into()) },
            StreamEvent::BlockDelta { index: 1, delta: BlockDelta::InputJson("_1]]\"}".into()) },
            StreamEvent::BlockStop { index: 1 },
        ]);
        assert_eq!(collect(&out, 0), "write to mario.rossi@example.com today [[");
        let args: Value = serde_json::from_str(&collect(&out, 1)).unwrap();
        assert_eq!(args["to"], "mario.rossi@example.com");
        // The held-back `[[` is flushed before its block's stop.
        let stop = out.iter().position(|e| matches!(e, StreamEvent::BlockStop { index: 0 })).unwrap();
        assert!(matches!(&out[stop - 1], StreamEvent::BlockDelta { delta: BlockDelta::Text(t), .. } if t == "[["));
    }

    #[test]
    fn complete_answers_are_restored_everywhere() {
        let mut answer = ChatResponse {
            id: "m".into(),
            model: "x".into(),
            content: vec![
                Block::text("hi [[EMAIL_1]]"),
                Block::ToolUse {
                    id: "t".into(),
                    name: "send".into(),
                    input: serde_json::json!({"to": ["[[EMAIL_1]]"], "[[EMAIL_1]]": 1}),
                    cache_control: None,
                },
            ],
            stop_reason: None,
            stop_sequence: None,
            usage: Default::default(),
        };
        response(&redactor(), &mut answer);
        assert!(matches!(&answer.content[0], Block::Text { text, .. } if text == "hi mario.rossi@example.com"));
        let Block::ToolUse { input, .. } = &answer.content[1] else { panic!("tool use") };
        assert_eq!(input["to"][0], "mario.rossi@example.com");
        assert_eq!(input["mario.rossi@example.com"], 1);
    }
}
