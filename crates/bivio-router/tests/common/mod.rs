//! Shared by the accuracy tests: building IR requests from the labelled set, and the confusion-matrix report.

use std::collections::BTreeMap;

use bivio_protocol::ir::{Block, ChatRequest, Message, ResponseFormat, Role, Tool, ToolResultContent};
use bivio_router::{Category, Features, classify};
use serde_json::{Value, json};

/// Builds the request a labelled entry describes: `prompt` (one user turn) or `messages`, plus optional
/// `tools`, `tool_result` (a tool call and its result precede the last user text), `document` (a document
/// block in the last turn) and `response_format: "json"`.
pub fn request_of(entry: &Value) -> ChatRequest {
    let mut messages = Vec::new();
    if let Some(turns) = entry["messages"].as_array() {
        for turn in turns {
            let role = if turn["role"] == "assistant" { Role::Assistant } else { Role::User };
            messages.push(Message { role, content: vec![Block::text(turn["content"].as_str().unwrap())] });
        }
    }
    let mut last = Vec::new();
    if entry["tool_result"].as_bool() == Some(true) {
        messages.push(Message { role: Role::User, content: vec![Block::text("Please handle this for me.")] });
        messages.push(Message {
            role: Role::Assistant,
            content: vec![Block::ToolUse {
                id: "t1".into(),
                name: "lookup".into(),
                input: json!({}),
                cache_control: None,
            }],
        });
        last.push(Block::ToolResult {
            tool_use_id: "t1".into(),
            content: ToolResultContent::Text("{\"status\":\"ok\"}".into()),
            is_error: false,
            cache_control: None,
        });
    }
    if let Some(doc) = entry["document"].as_str() {
        let source = json!({"type": "text", "media_type": "text/plain", "data": doc});
        last.push(Block::Document { source, rest: serde_json::Map::new() });
    }
    if let Some(prompt) = entry["prompt"].as_str() {
        last.push(Block::text(prompt));
    }
    if !last.is_empty() {
        messages.push(Message { role: Role::User, content: last });
    }
    let tools = entry["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .map(|t| Tool {
                    name: t["name"].as_str().unwrap().to_owned(),
                    description: t["description"].as_str().map(str::to_owned),
                    input_schema: json!({"type": "object"}),
                    strict: None,
                })
                .collect()
        })
        .unwrap_or_default();
    let response_format = (entry["response_format"] == "json").then_some(ResponseFormat::JsonObject);
    ChatRequest { model: "bivio/auto".into(), messages, tools, response_format, ..ChatRequest::default() }
}

pub fn predict(request: &ChatRequest) -> Category {
    classify(request, &Features::extract(request)).category
}

/// Accuracy per expected category and a confusion matrix (rows: expected, columns: predicted).
#[derive(Default)]
pub struct Report {
    pub matrix: BTreeMap<(String, Category), usize>,
    pub rows: Vec<String>,
}

impl Report {
    pub fn add(&mut self, expected: &str, predicted: Category) {
        if !self.rows.iter().any(|r| r == expected) {
            self.rows.push(expected.to_owned());
        }
        *self.matrix.entry((expected.to_owned(), predicted)).or_default() += 1;
    }

    pub fn total(&self) -> usize {
        self.matrix.values().sum()
    }

    /// Correct predictions, where `correct(expected_row, predicted)` says what counts.
    pub fn correct(&self, correct: impl Fn(&str, Category) -> bool) -> usize {
        self.matrix.iter().filter(|((row, p), _)| correct(row, *p)).map(|(_, n)| n).sum()
    }

    pub fn row_total(&self, row: &str) -> usize {
        self.matrix.iter().filter(|((r, _), _)| r == row).map(|(_, n)| n).sum()
    }

    /// A Markdown table: one row per expected label, one column per predicted category, then accuracy.
    pub fn markdown(&self, correct: impl Fn(&str, Category) -> bool) -> String {
        let short = |c: Category| match c {
            Category::Agentic => "agt",
            Category::CodeReview => "rev",
            Category::Critical => "crit",
            Category::BusinessFinance => "biz",
            Category::CodeGen => "gen",
            Category::Extraction => "ext",
            Category::Rag => "rag",
            Category::Chat => "chat",
            Category::Math => "math",
            Category::Writing => "wri",
        };
        let mut out = String::from("| expected \\ predicted |");
        for c in Category::ALL {
            out.push_str(&format!(" {} |", short(c)));
        }
        out.push_str(" n | accuracy |\n|---|");
        for _ in Category::ALL {
            out.push_str("---:|");
        }
        out.push_str("---:|---:|\n");
        for row in &self.rows {
            out.push_str(&format!("| {row} |"));
            let mut ok = 0;
            for c in Category::ALL {
                let n = self.matrix.get(&(row.clone(), c)).copied().unwrap_or(0);
                if correct(row, c) {
                    ok += n;
                }
                if n == 0 { out.push_str(" · |") } else { out.push_str(&format!(" {n} |")) }
            }
            let total = self.row_total(row);
            out.push_str(&format!(" {total} | {:.1}% |\n", 100.0 * ok as f64 / total.max(1) as f64));
        }
        out
    }
}
