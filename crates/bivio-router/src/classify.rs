//! The task classifier: one [`Category`] and a confidence, from weighted cues.
//!
//! Deliberately transparent rather than learned: each category has a list of English and Italian word cues
//! ([`crate::lexicon`]) with weights, and structural features add fixed scores (tool use ⇒ agentic, a document
//! or a pasted passage with a question ⇒ rag, JSON output ⇒ extraction, code blocks ⇒ code review). The
//! highest score wins; `chat` has a small base score, so a request with no cue is simple chat. Every point
//! of score is listed in `reasons` by cue name — never by user text.
//!
//! Only the last user turn's wording counts (earlier turns are context, and the latest instruction is what
//! the model must do now); the structure of the whole conversation counts through [`Features`].
//! Cues are matched on fenced code's surrounding prose only, and for long texts only on their start and end,
//! where instructions are (a pasted contract is not a legal question unless the user asks one).

use bivio_protocol::ir::ChatRequest;
use serde::Serialize;

use crate::category::Category;
use crate::features::{Features, last_user_text};
use crate::lexicon::{CHAT_BASE, cues};
use crate::text::{instruction_window, normalise, split_code};

/// Prose longer than this (bytes) is matched on its first and last halves of this size only.
const INSTRUCTION_WINDOW: usize = 1_200;

/// At most this many score contributions are listed in `reasons`.
const MAX_REASONS: usize = 6;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub category: Category,
    /// 0..1: how far the winner is ahead of the runner-up, damped when the evidence is thin.
    pub confidence: f64,
    /// The strongest cues that fired, as `category: cue (+weight)`.
    pub reasons: Vec<String>,
    /// Every category's score, in [`Category::ALL`] order (for `bivio route explain`).
    pub scores: Vec<(Category, f64)>,
}

/// Classifies a request; `features` must be `Features::extract(request)`.
pub fn classify(request: &ChatRequest, features: &Features) -> Classification {
    let text = last_user_text(request);
    let split = split_code(&text);
    let norm = normalise(&instruction_window(&split.prose, INSTRUCTION_WINDOW));
    classify_text(&norm, features)
}

/// Scores of every category, plus the contributions that made them.
struct Scores {
    score: [f64; Category::ALL.len()],
    hits: Vec<(f64, String)>,
}

impl Scores {
    fn add(&mut self, category: Category, weight: f64, cue: &str) {
        if let Some(i) = Category::ALL.iter().position(|c| *c == category) {
            self.score[i] += weight;
        }
        self.hits.push((weight, format!("{category}: {cue} (+{weight:.1})")));
    }
}

fn classify_text(norm: &str, f: &Features) -> Classification {
    let mut s = Scores { score: [0.0; Category::ALL.len()], hits: Vec::new() };
    s.score[position(Category::Chat)] = CHAT_BASE;

    for category in Category::ALL {
        for cue in cues(category) {
            if norm.contains(cue.0) {
                s.add(category, cue.1, cue.0.trim());
            }
        }
    }

    // Structure of the conversation.
    if f.tools > 0 {
        s.add(Category::Agentic, 3.0, "tool definitions");
    }
    if f.tool_results > 0 || f.tool_calls > 0 {
        s.add(Category::Agentic, 3.5, "tool calls/results in conversation");
    }
    if f.documents > 0 {
        s.add(Category::Rag, 3.0, "document attached");
    } else if f.long_context && f.asks_question {
        s.add(Category::Rag, 2.0, "long pasted text with a question");
    } else if f.pasted_text && f.code_blocks == 0 {
        s.add(Category::Rag, 1.0, "pasted passage with a question");
    }
    if f.structured_output {
        s.add(Category::Extraction, 1.5, "JSON output requested");
    }
    if f.code_blocks > 0 {
        s.add(Category::CodeReview, 1.0, "code block supplied");
    }
    if f.numbers >= 2 && f.math_symbols >= 1 && f.code_blocks == 0 {
        s.add(Category::Math, 1.5, "numbers with arithmetic symbols");
    }

    let mut ranked: Vec<(Category, f64)> = Category::ALL.iter().copied().zip(s.score).collect();
    let scores = ranked.clone();
    // Stable sort: ties go to the earlier category in ALL (cloud-leaning categories first: the safer error).
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (category, top) = ranked[0];
    let second = ranked.get(1).map_or(0.0, |r| r.1);
    let margin = if top > 0.0 { top / (top + second) } else { 0.0 };
    // 0.5 (tie) → 0, clear win → 1; damped when the winner's evidence is thin (< 2 points).
    let confidence = ((margin - 0.5) * 2.0 * 0.6 + 0.4 * (top / 2.0).min(1.0)).clamp(0.0, 1.0);

    s.hits.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut reasons: Vec<String> = s.hits.into_iter().take(MAX_REASONS).map(|h| h.1).collect();
    if reasons.is_empty() {
        reasons.push("no cue: simple chat".to_owned());
    }
    Classification { category, confidence: (confidence * 100.0).round() / 100.0, reasons, scores }
}

fn position(category: Category) -> usize {
    Category::ALL.iter().position(|c| *c == category).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bivio_protocol::ir::{Block, Message, Role};

    fn classify_str(text: &str) -> Classification {
        let request = ChatRequest {
            messages: vec![Message { role: Role::User, content: vec![Block::text(text)] }],
            ..ChatRequest::default()
        };
        classify(&request, &Features::extract(&request))
    }

    #[test]
    fn plain_question_is_chat() {
        let c = classify_str("Zyx qwerty?");
        assert_eq!(c.category, Category::Chat);
        assert_eq!(c.reasons, vec!["no cue: simple chat".to_owned()]);
    }

    #[test]
    fn clear_cases() {
        assert_eq!(classify_str("Write a Python function that reverses a linked list").category, Category::CodeGen);
        assert_eq!(classify_str("Scrivi una poesia sul mare d'inverno").category, Category::Writing);
        assert_eq!(classify_str("Solve the equation 3x + 5 = 20").category, Category::Math);
    }

    #[test]
    fn reasons_never_carry_user_text() {
        let c = classify_str("Extract the names from: Zorblax Quentin, invoice 4411");
        assert!(c.reasons.iter().all(|r| !r.contains("zorblax") && !r.contains("Zorblax") && !r.contains("4411")));
    }
}
