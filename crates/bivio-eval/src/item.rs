//! What a suite asks ([`Item`]), what a model answered ([`Answer`]) and what that was worth ([`Score`]).

use bivio_protocol::ir::{Tool, Usage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One benchmark question.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Stable within its suite (`gsm8k/17`, `HumanEval/0`, `astronomy/3`): resuming matches on it.
    pub id: String,
    /// MMLU subject, tool-use category, custom tag: reports break scores down by it.
    pub subject: Option<String>,
    pub prompt: Prompt,
    pub reference: Reference,
}

/// The request sent for an item (one user turn; tools when the suite tests tool use).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prompt {
    pub system: Option<String>,
    pub user: String,
    pub tools: Vec<Tool>,
    /// Answer length; suites pick what their answers need.
    pub max_tokens: u32,
    pub stop: Vec<String>,
}

/// How an answer is scored.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// GSM8K: the gold answer text (lm-evaluation-harness compares after the same normalisation).
    Gsm8k { gold: String },
    /// HumanEval: the function prompt, its tests and the function the tests check.
    Code { prompt: String, test: String, entry_point: String },
    /// Multiple choice: the correct letter among `letters`.
    Choice { answer: char, letters: Vec<char> },
    /// Tool use: the tool that must be called and the arguments it must get (a subset match: every
    /// expected key must be present with an equal value; extra optional arguments are allowed). `None`:
    /// the model must answer without calling a tool.
    ToolCall { name: Option<String>, arguments: Value },
    /// Custom suites.
    Custom(crate::score::custom::Check),
}

/// A model's answer to an item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    pub latency_ms: u64,
    pub cost_usd: rust_decimal::Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub name: String,
    pub arguments: Value,
}

/// What an answer was worth.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Score {
    /// 0 ..= 1 (1 = correct). Binary for every built-in suite; llm-judge and numeric tolerance may give partials.
    pub value: f64,
    /// A second metric some suites report beside the headline one (GSM8K: the strict `#### N` match).
    pub alt: Option<f64>,
    /// What the scorer extracted from the answer (the number, the letter, the tool name …).
    pub extracted: Option<String>,
    /// Why, in a few words (`failed: AssertionError`, `strict=42 flexible=42`).
    pub detail: String,
}

impl Score {
    pub fn binary(passed: bool, extracted: Option<String>, detail: impl Into<String>) -> Score {
        Score { value: if passed { 1.0 } else { 0.0 }, alt: None, extracted, detail: detail.into() }
    }

    pub fn passed(&self) -> bool {
        self.value >= 1.0
    }
}
