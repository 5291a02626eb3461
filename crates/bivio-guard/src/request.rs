//! `Scanner::scan_request`: everything the upstream would receive — system prompt, every message block
//! (text, thinking, tool calls' names and input JSON, tool results, documents' text, image URLs), tool
//! definitions (names, descriptions, schemas), stop sequences and the response-format schema.
//!
//! JSON values are walked depth-first in document order; every object key, string and number is one
//! "string" of the walk, numbered from 0, so a finding in JSON is located by that ordinal (never by a path,
//! which could itself contain the value).

use std::collections::BTreeMap;

use bivio_protocol::ir::{Block, ChatRequest, ImageSource, ResponseFormat, ToolResultContent};
use serde_json::Value;

use crate::kinds::{Finding, Kind};
use crate::scan::Scanner;

/// Where in a request a finding is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    System { index: usize },
    Message { index: usize, block: usize, part: BlockPart },
    ToolDefinition { index: usize, part: ToolPart },
    StopSequence { index: usize },
    ResponseFormat { string: usize },
}

/// The part of a content block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockPart {
    Text,
    Thinking,
    ToolName,
    /// The `string`-th key, string or number of the call's input JSON.
    ToolInput {
        string: usize,
    },
    /// A string result (`block` 0) or the text of the result's `block`-th block.
    ToolResult {
        block: usize,
    },
    /// The `string`-th key/string/number of the document block (a base64 source's data is not read).
    Document {
        string: usize,
    },
    ImageUrl,
    /// The `string`-th key/string/number of a block type bivio does not model (server tool calls, their
    /// results), which goes upstream verbatim.
    Unmodelled {
        string: usize,
    },
}

/// The part of a tool definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolPart {
    Name,
    Description,
    Schema { string: usize },
}

/// A finding and where it is; the span is relative to that string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub place: Place,
    pub finding: Finding,
}

/// What a request contains, for the policy, the ledger (labels and counts only) and redaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sensitivity {
    /// Findings per kind.
    pub counts: BTreeMap<Kind, usize>,
    pub findings: Vec<Located>,
    /// Image blocks (in messages and tool results): the guard cannot read them; the policy decides.
    pub images: usize,
    /// Documents with binary (base64) sources the guard cannot read.
    pub opaque_documents: usize,
}

impl Sensitivity {
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    /// The kinds found, in label order.
    pub fn kinds(&self) -> impl Iterator<Item = &Kind> {
        self.counts.keys()
    }

    /// `label=count` pairs joined by commas (e.g. `email=2,iban=1`): safe for logs and the ledger.
    pub fn summary(&self) -> String {
        self.counts.iter().map(|(k, c)| format!("{}={c}", k.label())).collect::<Vec<_>>().join(",")
    }

    fn add(&mut self, place: Place, findings: Vec<Finding>) {
        for finding in findings {
            *self.counts.entry(finding.kind.clone()).or_insert(0) += 1;
            self.findings.push(Located { place: place.clone(), finding });
        }
    }
}

impl Scanner {
    /// Scans every part of `request` the upstream would receive.
    pub fn scan_request(&self, request: &ChatRequest) -> Sensitivity {
        let mut s = Sensitivity::default();
        for (index, system) in request.system.iter().enumerate() {
            s.add(Place::System { index }, self.scan_text(&system.text));
        }
        for (index, message) in request.messages.iter().enumerate() {
            for (block, content) in message.content.iter().enumerate() {
                let place = |part| Place::Message { index, block, part };
                self.scan_block(content, &mut s, &place);
            }
        }
        for (index, tool) in request.tools.iter().enumerate() {
            let place = |part| Place::ToolDefinition { index, part };
            s.add(place(ToolPart::Name), self.scan_text(&tool.name));
            if let Some(description) = &tool.description {
                s.add(place(ToolPart::Description), self.scan_text(description));
            }
            self.scan_json(&tool.input_schema, &mut s, &|string| place(ToolPart::Schema { string }));
        }
        for (index, stop) in request.stop_sequences.iter().enumerate() {
            s.add(Place::StopSequence { index }, self.scan_text(stop));
        }
        if let Some(ResponseFormat::JsonSchema { name, schema, .. }) = &request.response_format {
            s.add(Place::ResponseFormat { string: 0 }, self.scan_text(name));
            let mut ordinal = 1;
            self.walk_json(schema, &mut ordinal, &mut s, &|string| Place::ResponseFormat { string });
        }
        s
    }

    fn scan_block(&self, content: &Block, s: &mut Sensitivity, place: &dyn Fn(BlockPart) -> Place) {
        match content {
            Block::Text { text, .. } => s.add(place(BlockPart::Text), self.scan_text(text)),
            Block::Thinking { thinking, .. } => s.add(place(BlockPart::Thinking), self.scan_text(thinking)),
            Block::RedactedThinking { .. } => {}
            Block::Image { source, .. } => {
                s.images += 1;
                if let ImageSource::Url { url } = source {
                    s.add(place(BlockPart::ImageUrl), self.scan_text(url));
                }
            }
            Block::ToolUse { name, input, .. } => {
                s.add(place(BlockPart::ToolName), self.scan_text(name));
                self.scan_json(input, s, &|string| place(BlockPart::ToolInput { string }));
            }
            Block::ToolResult { content, .. } => match content {
                ToolResultContent::Text(text) => s.add(place(BlockPart::ToolResult { block: 0 }), self.scan_text(text)),
                ToolResultContent::Blocks(blocks) => {
                    for (block, inner) in blocks.iter().enumerate() {
                        match inner {
                            Block::Text { text, .. } => {
                                s.add(place(BlockPart::ToolResult { block }), self.scan_text(text));
                            }
                            Block::Image { .. } => s.images += 1,
                            _ => {}
                        }
                    }
                }
            },
            Block::Other(value) => self.scan_json(value, s, &|string| place(BlockPart::Unmodelled { string })),
            Block::Document { source, rest } => {
                let binary = source.get("type").and_then(Value::as_str) == Some("base64");
                let mut ordinal = 0;
                if binary {
                    s.opaque_documents += 1;
                    if let Some(media_type) = source.get("media_type") {
                        self.walk_json(media_type, &mut ordinal, s, &|string| place(BlockPart::Document { string }));
                    }
                } else {
                    self.walk_json(source, &mut ordinal, s, &|string| place(BlockPart::Document { string }));
                }
                for (key, value) in rest {
                    s.add(place(BlockPart::Document { string: ordinal }), self.scan_text(key));
                    ordinal += 1;
                    self.walk_json(value, &mut ordinal, s, &|string| place(BlockPart::Document { string }));
                }
            }
        }
    }

    fn scan_json(&self, value: &Value, s: &mut Sensitivity, place: &dyn Fn(usize) -> Place) {
        let mut ordinal = 0;
        self.walk_json(value, &mut ordinal, s, place);
    }

    /// Depth-first, document order; keys before their values.
    fn walk_json(&self, value: &Value, ordinal: &mut usize, s: &mut Sensitivity, place: &dyn Fn(usize) -> Place) {
        match value {
            Value::String(text) => {
                s.add(place(*ordinal), self.scan_text(text));
                *ordinal += 1;
            }
            Value::Number(number) => {
                s.add(place(*ordinal), self.scan_text(&number.to_string()));
                *ordinal += 1;
            }
            Value::Array(items) => {
                for item in items {
                    self.walk_json(item, ordinal, s, place);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    s.add(place(*ordinal), self.scan_text(key));
                    *ordinal += 1;
                    self.walk_json(item, ordinal, s, place);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
}
