//! One arena run: every model answers every prompt (multi-turn prompts turn by turn, with its own earlier
//! answers as history), then, with a judge, every pair is judged in both orders. Everything is stored as
//! it arrives; the leaderboard is computed from the stored votes.

use std::sync::Arc;

use bivio_protocol::ir::{Block, Message, Role};
use futures::StreamExt;
use rust_decimal::Decimal;

use crate::EvalError;
use crate::arena::parse_verdict;
use crate::arena::prompts::{ArenaPrompt, JudgeTemplates};
use crate::item::Prompt;
use crate::progress::Progress;
use crate::store::{AnswerRow, ArenaRunRow, Store, VoteRow, now_ms};
use crate::target::{Sampling, Target};

#[derive(Debug, Clone)]
pub struct ArenaOptions {
    pub concurrency: usize,
    pub max_tokens: u32,
    /// The judge's answer length (its explanation, then the verdict).
    pub judge_max_tokens: u32,
    pub sampling: Sampling,
}

pub struct Judge<'a> {
    pub target: Arc<Target>,
    pub templates: &'a JudgeTemplates,
}

pub async fn run(
    store: &Store,
    source: &str,
    prompts: &[ArenaPrompt],
    models: &[Arc<Target>],
    judge: Option<Judge<'_>>,
    options: &ArenaOptions,
    progress: &dyn Progress,
) -> Result<String, EvalError> {
    if models.len() < 2 {
        return Err(EvalError::usage("--models: an arena needs at least two models"));
    }
    let run_id = format!("arena_{}", uuid::Uuid::now_v7().simple());
    store.create_arena_run(&ArenaRunRow {
        id: run_id.clone(),
        prompts: source.to_owned(),
        models: models.iter().map(|m| m.name.clone()).collect(),
        judge: judge.as_ref().map(|j| j.target.name.clone()),
        started_at_ms: now_ms(),
        finished_at_ms: None,
    })?;
    let pairs = models.len() * (models.len() - 1) / 2;
    let judgements = if judge.is_some() { prompts.len() * pairs * 2 } else { 0 };
    progress.start((prompts.len() * models.len() + judgements) as u64);

    let jobs = prompts.iter().flat_map(|p| models.iter().map(move |m| (p, m.clone())));
    let mut answers =
        futures::stream::iter(jobs.map(|(p, m)| async move { (p, m.name.clone(), converse(&m, p, options).await) }))
            .buffer_unordered(options.concurrency.max(1));
    let mut failures = 0;
    while let Some((prompt, model, result)) = answers.next().await {
        match result {
            Ok(row) => store.save_answer(&run_id, &row)?,
            Err(err) => {
                failures += 1;
                tracing::warn!(prompt = %prompt.id, model, error = %err, "arena answer failed");
            }
        }
        progress.advance("answers");
    }
    drop(answers);

    if let Some(judge) = judge {
        let stored = store.answers(&run_id)?;
        let find = |p: &str, m: &str| stored.iter().find(|a| a.prompt_id == p && a.model == m);
        let mut jobs = Vec::new();
        for p in prompts {
            for i in 0..models.len() {
                for j in i + 1..models.len() {
                    let (Some(x), Some(y)) = (find(&p.id, &models[i].name), find(&p.id, &models[j].name)) else {
                        continue;
                    };
                    jobs.push((p, x, y));
                    jobs.push((p, y, x));
                }
            }
        }
        let judge = &judge;
        let mut verdicts =
            futures::stream::iter(jobs.into_iter().enumerate().map(|(seq, (p, first, second))| async move {
                let (system, user) = judge.templates.render(&p.turns, &first.answers, &second.answers);
                let prompt =
                    Prompt { system: Some(system), user, max_tokens: options.judge_max_tokens, ..Prompt::default() };
                let result = judge.target.answer(&prompt, &[], Sampling::default()).await;
                (seq, p, first, second, result)
            }))
            .buffer_unordered(options.concurrency.max(1));
        while let Some((seq, p, first, second, result)) = verdicts.next().await {
            match result {
                Ok(answer) => store.save_vote(
                    &run_id,
                    &VoteRow {
                        prompt_id: p.id.clone(),
                        category: p.category.clone(),
                        first: first.model.clone(),
                        second: second.model.clone(),
                        judge: format!("model:{}", judge.target.name),
                        verdict: parse_verdict(&answer.text).unwrap_or("invalid").to_owned(),
                        explanation: answer.text,
                        created_at_ms: now_ms(),
                        seq: seq as i64,
                    },
                )?,
                Err(err) => {
                    failures += 1;
                    tracing::warn!(prompt = %p.id, error = %err, "judgement failed");
                }
            }
            progress.advance("judgements");
        }
    }
    progress.finish();
    if failures == 0 {
        store.finish_arena_run(&run_id, now_ms())?;
    }
    Ok(run_id)
}

/// A model's answers to every turn of a prompt.
async fn converse(target: &Target, prompt: &ArenaPrompt, options: &ArenaOptions) -> Result<AnswerRow, EvalError> {
    let mut history: Vec<Message> = Vec::new();
    let mut answers = Vec::new();
    let (mut latency_ms, mut output_tokens, mut cost) = (0, 0, Decimal::ZERO);
    for turn in &prompt.turns {
        let p = Prompt { user: turn.clone(), max_tokens: options.max_tokens, ..Prompt::default() };
        let answer = target.answer(&p, &history, options.sampling).await?;
        history.push(Message { role: Role::User, content: vec![Block::text(turn.clone())] });
        // Some APIs reject an empty assistant turn; the next turn still needs one in the history.
        let said = if answer.text.trim().is_empty() { "(no answer)".to_owned() } else { answer.text.clone() };
        history.push(Message { role: Role::Assistant, content: vec![Block::text(said)] });
        latency_ms += answer.latency_ms as i64;
        output_tokens += answer.usage.output_tokens as i64;
        cost += answer.cost_usd;
        answers.push(answer.text);
    }
    Ok(AnswerRow {
        prompt_id: prompt.id.clone(),
        model: target.name.clone(),
        category: prompt.category.clone(),
        turns: prompt.turns.clone(),
        answers,
        latency_ms,
        output_tokens,
        cost_usd: cost.normalize().to_string(),
    })
}
