//! Structural features of a request: what the classifier and the policy look at besides wording.
//!
//! Extraction is one pass over the request's text (microseconds for typical prompts) and keeps no user text:
//! a [`Features`] value is safe to log, store and print.

use bivio_protocol::ir::{Block, ChatRequest, ResponseFormat, Role};
use serde::Serialize;

use crate::text::{normalise, split_code};

/// A last user message longer than this (estimated tokens) counts as pasted long context.
pub const LONG_TEXT_TOKENS: u64 = 1_500;

/// A last user message of at least this many words that also asks something counts as "text + question"
/// (a pasted passage to answer from).
pub const PASTED_TEXT_WORDS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    It,
    Unknown,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::It => "it",
            Language::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Features {
    /// Tool definitions offered to the model.
    pub tools: usize,
    /// Tool calls made by the assistant earlier in the conversation.
    pub tool_calls: usize,
    /// Tool results sent back by the client.
    pub tool_results: usize,
    /// Messages in the conversation (user and assistant).
    pub turns: usize,
    /// `ChatRequest::estimated_input_tokens`: ⌈prompt bytes / 4⌉.
    pub estimated_tokens: u64,
    /// The client's `max_tokens`, when given: the output room a model must have besides the prompt.
    pub max_output_tokens: Option<u32>,
    /// A JSON `response_format`, or wording asking for JSON output.
    pub structured_output: bool,
    /// Fenced code blocks in the last user message.
    pub code_blocks: usize,
    /// Their language tags, deduplicated, in order of appearance.
    pub code_languages: Vec<String>,
    /// Bytes of code in the last user message's fenced blocks.
    pub code_bytes: usize,
    /// `document` blocks anywhere in the conversation.
    pub documents: usize,
    /// Image blocks anywhere in the conversation (tool results included).
    pub images: usize,
    /// Estimated tokens of the last user message's text.
    pub last_user_tokens: u64,
    /// Words of prose (outside code fences) in the last user message.
    pub last_user_words: usize,
    /// The last user message asks something (a `?`, or a question/instruction word).
    pub asks_question: bool,
    /// A long pasted text (≥ [`LONG_TEXT_TOKENS`]) or a document: the request carries its own context.
    pub long_context: bool,
    /// A passage of ≥ [`PASTED_TEXT_WORDS`] words together with a question.
    pub pasted_text: bool,
    /// English or Italian, by stop-word counts over the last user message.
    pub language: Language,
    /// Numbers (digit runs) in the last user message's prose.
    pub numbers: usize,
    /// Arithmetic symbols (`= + * / ^ % !`, `²`, `√`) in that prose.
    pub math_symbols: usize,
}

impl Features {
    pub fn extract(request: &ChatRequest) -> Features {
        let mut tool_calls = 0;
        let mut tool_results = 0;
        let mut documents = 0;
        let mut images = 0;
        for message in &request.messages {
            for block in &message.content {
                match block {
                    Block::ToolUse { .. } => tool_calls += 1,
                    Block::ToolResult { content, .. } => {
                        tool_results += 1;
                        if let bivio_protocol::ir::ToolResultContent::Blocks(blocks) = content {
                            images += blocks.iter().filter(|b| matches!(b, Block::Image { .. })).count();
                        }
                    }
                    Block::Document { .. } => documents += 1,
                    Block::Image { .. } => images += 1,
                    // Server tools (`server_tool_use`, `web_search_tool_result`, …) are tool use too.
                    Block::Other(value) => match value.get("type").and_then(serde_json::Value::as_str) {
                        Some(kind) if kind.ends_with("tool_use") => tool_calls += 1,
                        Some(kind) if kind.ends_with("tool_result") => tool_results += 1,
                        _ => {}
                    },
                    Block::Text { .. } | Block::Thinking { .. } | Block::RedactedThinking { .. } => {}
                }
            }
        }

        let last_text = last_user_text(request);
        let split = split_code(&last_text);
        let mut code_languages: Vec<String> = Vec::new();
        for (lang, _) in &split.blocks {
            if !lang.is_empty() && !code_languages.contains(lang) {
                code_languages.push(lang.clone());
            }
        }
        let code_bytes = split.blocks.iter().map(|(_, len)| len).sum();
        let norm = normalise(&split.prose);
        let words = norm.split_whitespace().count();
        let language = detect_language(&norm);
        let asks_question = split.prose.contains('?') || asks(&norm);
        let last_user_tokens = (last_text.len() as u64).div_ceil(4);
        let structured_output =
            matches!(request.response_format, Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. }))
                || wants_json(&norm);

        Features {
            tools: request.tools.len(),
            tool_calls,
            tool_results,
            turns: request.messages.len(),
            estimated_tokens: request.estimated_input_tokens(),
            max_output_tokens: request.max_tokens,
            structured_output,
            code_blocks: split.blocks.len(),
            code_languages,
            code_bytes,
            documents,
            images,
            last_user_tokens,
            last_user_words: words,
            asks_question,
            long_context: documents > 0 || last_user_tokens >= LONG_TEXT_TOKENS,
            pasted_text: words >= PASTED_TEXT_WORDS && asks_question,
            language,
            numbers: count_numbers(&split.prose),
            math_symbols: split.prose.chars().filter(|c| "=+*/^%!²³√".contains(*c)).count(),
        }
    }

    /// Tools offered, called or answered: the conversation is (part of) an agent loop.
    pub fn is_agentic(&self) -> bool {
        self.tools > 0 || self.tool_calls > 0 || self.tool_results > 0
    }
}

/// The text of the last user message that has any text (tool-result-only turns are skipped), blocks joined.
pub(crate) fn last_user_text(request: &ChatRequest) -> String {
    for message in request.messages.iter().rev() {
        if message.role != Role::User {
            continue;
        }
        let texts: Vec<&str> = message
            .content
            .iter()
            .filter_map(|b| match b {
                Block::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        if !texts.is_empty() {
            return texts.join("\n");
        }
    }
    String::new()
}

fn count_numbers(prose: &str) -> usize {
    let mut count = 0;
    let mut in_number = false;
    for ch in prose.chars() {
        let digit = ch.is_ascii_digit();
        if digit && !in_number {
            count += 1;
        }
        // "1.5" and "1,000" are one number.
        in_number = digit || (in_number && (ch == '.' || ch == ','));
    }
    count
}

const EN_STOPWORDS: &[&str] = &[
    " the ", " and ", " is ", " of ", " to ", " in ", " that ", " it ", " for ", " you ", " with ", " this ", " what ",
    " how ", " my ", " are ", " can ", " be ", " on ", " write ", " please ",
];
const IT_STOPWORDS: &[&str] = &[
    " il ", " di ", " che ", " e ", " la ", " per ", " un ", " una ", " non ", " sono ", " con ", " del ", " della ",
    " come ", " mi ", " questo ", " questa ", " cosa ", " scrivi ", " gli ", " le ", " è ",
];

fn count_any(norm: &str, words: &[&str]) -> usize {
    words.iter().map(|w| norm.matches(w).count()).sum()
}

fn detect_language(norm: &str) -> Language {
    let en = count_any(norm, EN_STOPWORDS);
    let it = count_any(norm, IT_STOPWORDS);
    match (en, it) {
        (0, 0) => Language::Unknown,
        (en, it) if it > en => Language::It,
        (en, it) if en > it => Language::En,
        _ => Language::Unknown,
    }
}

fn asks(norm: &str) -> bool {
    const CUES: &[&str] = &[
        " what ",
        " why ",
        " how ",
        " when ",
        " which ",
        " who ",
        " does ",
        " is there ",
        " explain ",
        " cosa ",
        " perché ",
        " come ",
        " quando ",
        " quale ",
        " quali ",
        " chi ",
        " spiega ",
    ];
    CUES.iter().any(|c| norm.contains(c))
}

fn wants_json(norm: &str) -> bool {
    const CUES: &[&str] = &[
        " as json ",
        " in json ",
        " json object",
        " json format",
        " json array",
        " valid json ",
        " formato json ",
        " come json ",
        " in formato json ",
        " respond with json ",
        " rispondi in json ",
    ];
    CUES.iter().any(|c| norm.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bivio_protocol::ir::{Message, Tool};
    use serde_json::json;

    fn user(text: &str) -> Message {
        Message { role: Role::User, content: vec![Block::text(text)] }
    }

    #[test]
    fn structural_features() {
        let request = ChatRequest {
            messages: vec![user("Fix this please:\n```python\nprint(1)\n```\n```rust\nfn x() {}\n```")],
            tools: vec![Tool { name: "t".into(), description: None, input_schema: json!({}), strict: None }],
            response_format: Some(ResponseFormat::JsonObject),
            ..ChatRequest::default()
        };
        let f = Features::extract(&request);
        assert_eq!(f.tools, 1);
        assert!(f.is_agentic());
        assert!(f.structured_output);
        assert_eq!(f.code_blocks, 2);
        assert_eq!(f.code_languages, vec!["python".to_owned(), "rust".to_owned()]);
        assert_eq!(f.turns, 1);
    }

    #[test]
    fn languages() {
        let en = ChatRequest {
            messages: vec![user("What is the capital of France and how big is it?")],
            ..Default::default()
        };
        let it = ChatRequest {
            messages: vec![user("Qual è la capitale della Francia e come si chiama il fiume?")],
            ..Default::default()
        };
        assert_eq!(Features::extract(&en).language, Language::En);
        assert_eq!(Features::extract(&it).language, Language::It);
    }

    #[test]
    fn json_wording_and_long_text() {
        let request = ChatRequest {
            messages: vec![user(&format!("{} What does it say? Answer in JSON.", "word ".repeat(2000)))],
            ..Default::default()
        };
        let f = Features::extract(&request);
        assert!(f.structured_output);
        assert!(f.long_context);
        assert!(f.pasted_text);
    }
}
