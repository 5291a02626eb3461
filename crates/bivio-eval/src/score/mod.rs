//! Scoring: one function from (item, answer) to a [`Score`]. Every scorer but two is a pure function of
//! the answer text; HumanEval runs the program in the [`sandbox`], and `llm-judge` asks a judge model.

pub mod choice;
pub mod code;
pub mod custom;
pub mod gsm8k;
pub mod passk;
pub mod sandbox;
pub mod schema;
pub mod tools;

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::EvalError;
use crate::item::{Answer, Item, Prompt, Reference, Score};
use crate::target::{Sampling, Target};

/// What scorers may need beyond the answer.
#[derive(Debug, Clone, Default)]
pub struct Scorers {
    /// Required by suites with code (HumanEval).
    pub sandbox: Option<sandbox::Sandbox>,
    /// Programs run at once: the sandbox is CPU-bound, so at most the machine's cores.
    pub sandbox_slots: Option<Arc<Semaphore>>,
    /// Required by `llm-judge` items.
    pub judge: Option<Arc<Target>>,
}

impl Scorers {
    pub async fn score(&self, item: &Item, answer: &Answer) -> Result<Score, EvalError> {
        match &item.reference {
            Reference::Gsm8k { gold } => Ok(gsm8k::score(&answer.text, gold)),
            Reference::Choice { answer: correct, letters } => Ok(choice::score(&answer.text, *correct, letters)),
            Reference::ToolCall { name, arguments } => Ok(tools::score(&answer.tool_calls, name.as_deref(), arguments)),
            Reference::Code { prompt, test, entry_point } => {
                let sandbox =
                    self.sandbox.as_ref().ok_or_else(|| EvalError::Sandbox("no sandbox for a code item".into()))?;
                let completion = code::completion(&answer.text);
                let program = sandbox::Sandbox::program(prompt, &completion, test, entry_point);
                let _slot = match &self.sandbox_slots {
                    Some(slots) => Some(slots.acquire().await.map_err(|err| EvalError::Sandbox(err.to_string()))?),
                    None => None,
                };
                let verdict = sandbox.run(&program).await?;
                Ok(Score::binary(verdict.passed, None, verdict.result))
            }
            Reference::Custom(check) => match check.score(&answer.text) {
                Some(score) => Ok(score),
                None => self.judge(item, answer, check).await,
            },
        }
    }

    async fn judge(&self, item: &Item, answer: &Answer, check: &custom::Check) -> Result<Score, EvalError> {
        let custom::Check::LlmJudge { rubric, expected } = check else {
            return Err(EvalError::usage("internal: judge called for a non-judge check"));
        };
        let judge = self
            .judge
            .as_ref()
            .ok_or_else(|| EvalError::usage(format!("item {} uses `llm-judge`: pass --judge MODEL", item.id)))?;
        let prompt = Prompt {
            user: custom::judge_prompt(&item.prompt.user, &answer.text, rubric, expected.as_deref()),
            max_tokens: 512,
            ..Prompt::default()
        };
        let judgement = judge.answer(&prompt, &[], Sampling::default()).await?;
        Ok(custom::judge_score(&judgement.text))
    }
}
