//! Reversible redaction. Each distinct value becomes a placeholder `[[NAME_n]]` — `[[EMAIL_1]]`,
//! `[[IBAN_2]]`, `[[SECRET_1]]`, `[[TERM_3]]` for custom rules — numbered per name, the same value always
//! getting the same placeholder within one `Redactor` (one request), so the model can still tell that two
//! mentions are the same person.
//!
//! Why this format: it is plain ASCII (no tokenizer or Unicode-normalisation surprises, unlike `⟦…⟧`, which
//! models sometimes "fix" to `[…]` and JSON encoders may emit as `\u27e6`); it contains nothing JSON, Markdown
//! code or shell would escape, so it survives verbatim inside tool-call arguments; an upper-case name plus a
//! number reads as an opaque identifier, which models copy rather than paraphrase; and `[[` is rare in prose
//! and code, so restoring scans for one byte, `[`, and almost never looks further. The name never carries a
//! custom rule's name (which may itself be a client's name). Only placeholders this redactor issued are
//! restored; any other `[[…]]` passes through unchanged.
//!
//! `Debug` prints counts only: the mapping holds the very values the guard exists to protect.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bivio_protocol::ir::{Block, ChatRequest, ResponseFormat, ToolResultContent};
use serde_json::Value;

use crate::kinds::{Finding, Kind};
use crate::restore::{RestoreMode, Restorer};
use crate::scan::Scanner;

/// Placeholder ↔ value mapping for one request.
#[derive(Clone, Default)]
pub struct Redactor {
    by_value: HashMap<String, String>,
    by_placeholder: Arc<HashMap<String, String>>,
    counters: HashMap<&'static str, usize>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor").field("placeholders", &self.by_placeholder.len()).finish()
    }
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Number of distinct values redacted.
    pub fn len(&self) -> usize {
        self.by_placeholder.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_placeholder.is_empty()
    }

    /// The placeholder for `value` of `kind`, issuing a new one on first sight.
    pub fn placeholder(&mut self, kind: &Kind, value: &str) -> String {
        if let Some(existing) = self.by_value.get(value) {
            return existing.clone();
        }
        let name = kind.placeholder_name();
        let counter = self.counters.entry(name).or_insert(0);
        *counter += 1;
        let placeholder = format!("[[{name}_{counter}]]");
        self.by_value.insert(value.to_owned(), placeholder.clone());
        Arc::make_mut(&mut self.by_placeholder).insert(placeholder.clone(), value.to_owned());
        placeholder
    }

    /// `text` with each finding's span replaced by its placeholder. `findings` are sorted and disjoint, as
    /// `Scanner::scan_text` returns them (spans past the text or not on char boundaries are skipped).
    pub fn redact_text<'f>(&mut self, text: &str, findings: impl IntoIterator<Item = &'f Finding>) -> String {
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        for finding in findings {
            let (Some(value), Some(gap)) = (text.get(finding.start..finding.end), text.get(pos..finding.start)) else {
                continue;
            };
            out.push_str(gap);
            let placeholder = self.placeholder(&finding.kind, value);
            out.push_str(&placeholder);
            pos = finding.end;
        }
        out.push_str(text.get(pos..).unwrap_or_default());
        out
    }

    /// Scans `text` and redacts the findings whose kind `redact` accepts.
    pub fn redact_with(&mut self, scanner: &Scanner, text: &str, redact: &dyn Fn(&Kind) -> bool) -> String {
        let findings = scanner.scan_text(text);
        self.redact_text(text, findings.iter().filter(|f| redact(&f.kind)))
    }

    /// Redacts, in place, every key and string of a JSON value (tool-call inputs, schemas); numbers that
    /// hold a finding become placeholder strings.
    pub fn redact_json(&mut self, scanner: &Scanner, value: &mut Value, redact: &dyn Fn(&Kind) -> bool) {
        match value {
            Value::String(text) => {
                let redacted = self.redact_with(scanner, text, redact);
                *text = redacted;
            }
            Value::Number(number) => {
                let text = number.to_string();
                let redacted = self.redact_with(scanner, &text, redact);
                if redacted != text {
                    *value = Value::String(redacted);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact_json(scanner, item, redact)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    let key = self.redact_with(scanner, &key, redact);
                    self.redact_json(scanner, &mut item, redact);
                    map.insert(key, item);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// A whole answer with every issued placeholder restored.
    pub fn restore_text(&self, text: &str) -> String {
        let mut restorer = self.restorer(RestoreMode::Text);
        let mut out = restorer.push(text);
        out.push_str(&restorer.finish());
        out
    }

    /// A streaming restorer over this redactor's placeholders (the mapping is shared, not copied).
    pub fn restorer(&self, mode: RestoreMode) -> Restorer {
        Restorer::new(Arc::clone(&self.by_placeholder), mode)
    }
}

/// What `Redactor::redact_request` could not redact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedactOutcome {
    /// Signed thinking blocks that hold a finding to redact. They are left untouched — changing them breaks
    /// their signature, which the upstream verifies — so the request must not go to the cloud as it is.
    pub signed_thinking_with_findings: usize,
}

impl RedactOutcome {
    /// Whether the redacted request is safe to send: every finding of a redacted kind was replaced.
    pub fn is_complete(&self) -> bool {
        self.signed_thinking_with_findings == 0
    }
}

impl Redactor {
    /// Redacts, in place, the findings of the kinds `redact` accepts everywhere `Scanner::scan_request`
    /// looks, with these exceptions: tool names (the APIs restrict them to `[A-Za-z0-9_-]`), image URLs
    /// (the upstream must still fetch them) and base64 document data are left as they are; signed thinking is
    /// left as it is and counted in the outcome. Stop sequences are redacted too, so that the model's
    /// placeholder still triggers them.
    pub fn redact_request(
        &mut self,
        scanner: &Scanner,
        request: &mut ChatRequest,
        redact: &dyn Fn(&Kind) -> bool,
    ) -> RedactOutcome {
        let mut outcome = RedactOutcome::default();
        for system in &mut request.system {
            system.text = self.redact_with(scanner, &system.text, redact);
        }
        for message in &mut request.messages {
            for block in &mut message.content {
                self.redact_block(scanner, block, redact, &mut outcome);
            }
        }
        for tool in &mut request.tools {
            if let Some(description) = &mut tool.description {
                *description = self.redact_with(scanner, description, redact);
            }
            self.redact_json(scanner, &mut tool.input_schema, redact);
        }
        for stop in &mut request.stop_sequences {
            *stop = self.redact_with(scanner, stop, redact);
        }
        if let Some(ResponseFormat::JsonSchema { schema, .. }) = &mut request.response_format {
            self.redact_json(scanner, schema, redact);
        }
        outcome
    }

    fn redact_block(
        &mut self,
        scanner: &Scanner,
        block: &mut Block,
        redact: &dyn Fn(&Kind) -> bool,
        outcome: &mut RedactOutcome,
    ) {
        match block {
            Block::Text { text, .. } => *text = self.redact_with(scanner, text, redact),
            Block::Thinking { thinking, signature } => {
                if signature.is_none() {
                    *thinking = self.redact_with(scanner, thinking, redact);
                } else if scanner.scan_text(thinking).iter().any(|f| redact(&f.kind)) {
                    outcome.signed_thinking_with_findings += 1;
                }
            }
            Block::ToolUse { input, .. } => self.redact_json(scanner, input, redact),
            Block::ToolResult { content, .. } => match content {
                ToolResultContent::Text(text) => *text = self.redact_with(scanner, text, redact),
                ToolResultContent::Blocks(blocks) => {
                    for inner in blocks {
                        if let Block::Text { text, .. } = inner {
                            *text = self.redact_with(scanner, text, redact);
                        }
                    }
                }
            },
            Block::Document { source, rest } => {
                if source.get("type").and_then(Value::as_str) != Some("base64") {
                    self.redact_json(scanner, source, redact);
                }
                for value in rest.values_mut() {
                    self.redact_json(scanner, value, redact);
                }
            }
            Block::Other(value) => self.redact_json(scanner, value, redact),
            Block::Image { .. } | Block::RedactedThinking { .. } => {}
        }
    }
}
