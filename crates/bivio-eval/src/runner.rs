//! Runs suites × models: one stored run per (suite, model), items answered and scored with bounded
//! concurrency, each result written as soon as it is scored so that an interrupted run loses at most the
//! items in flight. Starting the same run again (same suite content, model and parameters) resumes the
//! latest unfinished one and skips every sample already scored; failed samples (provider errors) are
//! retried. A run is marked finished once every sample is scored.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::json;

use crate::EvalError;
use crate::item::{Answer, Item, Score};
use crate::progress::Progress;
use crate::score::Scorers;
use crate::store::{ItemRow, RunRow, Store, now_ms};
use crate::suites::Suite;
use crate::target::{Sampling, Target};

#[derive(Debug, Clone)]
pub struct Options {
    /// First N items of each suite (file order, so runs stay comparable across models).
    pub limit: Option<usize>,
    /// Model calls in flight at once.
    pub concurrency: usize,
    /// Answers per item (HumanEval pass@k needs n > 1 with a temperature above 0).
    pub samples: u32,
    pub sampling: Sampling,
    /// Start new runs even where an unfinished one could be resumed.
    pub fresh: bool,
    /// Overrides every suite's answer length (a cap for quick or CI runs).
    pub max_tokens: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limit: None,
            concurrency: 4,
            samples: 1,
            sampling: Sampling::default(),
            fresh: false,
            max_tokens: None,
        }
    }
}

/// What one (suite, model) run did in this invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub run_id: String,
    pub suite: String,
    pub model: String,
    pub resumed: bool,
    /// Samples answered and scored now.
    pub scored: usize,
    /// Samples skipped because an earlier invocation scored them.
    pub skipped: usize,
    pub errors: usize,
    pub finished: bool,
}

pub async fn run(
    store: &Store,
    suites: &[Suite],
    targets: &[Arc<Target>],
    scorers: &Scorers,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Vec<Summary>, EvalError> {
    if options.concurrency == 0 || options.samples == 0 {
        return Err(EvalError::usage("--concurrency and --samples must be at least 1"));
    }
    // Plan every run first so the progress bar knows the whole amount of work.
    let mut plans = Vec::new();
    for suite in suites {
        let items: Vec<&Item> = suite.items.iter().take(options.limit.unwrap_or(usize::MAX)).collect();
        for target in targets {
            let params = json!({
                "limit": options.limit,
                "samples": options.samples,
                "temperature": options.sampling.temperature,
                "seed": options.sampling.seed,
                "max_tokens": options.max_tokens,
                // Only where it matters: the same gsm8k run must resume whether or not humaneval ran beside it.
                "sandbox": scorers.sandbox.as_ref().filter(|_| suite.needs_sandbox()).map(|s| s.isolation().label()),
            })
            .to_string();
            let existing = if options.fresh {
                None
            } else {
                store.resumable(&suite.name, &suite.fingerprint, &target.name, &params)?
            };
            let (run, resumed) = match existing {
                Some(run) => (run, true),
                None => {
                    let run = RunRow {
                        id: format!("run_{}", uuid::Uuid::now_v7().simple()),
                        suite: suite.name.clone(),
                        source: suite.source.clone(),
                        fingerprint: suite.fingerprint.clone(),
                        model: target.name.clone(),
                        upstream_model: target.upstream_model.clone(),
                        local: target.local,
                        params,
                        items_total: (items.len() * options.samples as usize) as i64,
                        started_at_ms: now_ms(),
                        finished_at_ms: None,
                    };
                    store.create_run(&run)?;
                    (run, false)
                }
            };
            let done = store.scored(&run.id)?;
            let pending: Vec<(&Item, u32)> = items
                .iter()
                .flat_map(|item| (0..options.samples).map(move |s| (*item, s)))
                .filter(|(item, s)| !done.contains(&(item.id.clone(), i64::from(*s))))
                .collect();
            let skipped = items.len() * options.samples as usize - pending.len();
            plans.push((run, target.clone(), pending, skipped, resumed));
        }
    }
    progress.start(plans.iter().map(|p| p.2.len() as u64).sum());

    let mut summaries = Vec::new();
    for (run, target, pending, skipped, resumed) in plans {
        let label = format!("{} · {}", run.suite, run.model);
        let results = futures::stream::iter(pending.into_iter().map(|(item, sample)| {
            let target = target.clone();
            let sampling = Sampling {
                // Each sample of an item gets its own seed, so n samples are n draws and reruns repeat them.
                seed: options.sampling.seed.map(|s| s.wrapping_add(i64::from(sample))),
                ..options.sampling
            };
            let max_tokens = options.max_tokens;
            async move { (item, sample, attempt(&target, item, sampling, max_tokens, scorers).await) }
        }))
        .buffer_unordered(options.concurrency);
        futures::pin_mut!(results);
        let (mut scored, mut errors) = (0, 0);
        while let Some((item, sample, outcome)) = results.next().await {
            let row = item_row(item, sample, outcome);
            if row.error.is_some() {
                errors += 1;
                tracing::warn!(item = %item.id, model = %run.model, error = row.error.as_deref().unwrap_or(""), "item failed");
            } else {
                scored += 1;
            }
            store.save_item(&run.id, &row)?;
            progress.advance(&label);
        }
        let finished = errors == 0;
        if finished {
            store.finish_run(&run.id, now_ms())?;
        }
        summaries.push(Summary {
            run_id: run.id,
            suite: run.suite,
            model: run.model,
            resumed,
            scored,
            skipped,
            errors,
            finished,
        });
    }
    progress.finish();
    Ok(summaries)
}

/// Answer then score; the answer is kept even when scoring fails.
async fn attempt(
    target: &Target,
    item: &Item,
    sampling: Sampling,
    max_tokens: Option<u32>,
    scorers: &Scorers,
) -> (Option<Answer>, Result<Score, EvalError>) {
    let capped;
    let prompt = match max_tokens {
        Some(max_tokens) => {
            capped = crate::item::Prompt { max_tokens, ..item.prompt.clone() };
            &capped
        }
        None => &item.prompt,
    };
    let answer = match target.answer(prompt, &[], sampling).await {
        Ok(answer) => answer,
        Err(err) => return (None, Err(err)),
    };
    let score = scorers.score(item, &answer).await;
    (Some(answer), score)
}

fn item_row(item: &Item, sample: u32, (answer, score): (Option<Answer>, Result<Score, EvalError>)) -> ItemRow {
    let answer = answer.unwrap_or_default();
    let (score, error) = match score {
        Ok(score) => (Some(score), None),
        Err(err) => (None, Some(err.to_string())),
    };
    ItemRow {
        item_id: item.id.clone(),
        sample: i64::from(sample),
        subject: item.subject.clone(),
        prompt: item.prompt.user.clone(),
        response: answer.text.clone(),
        extracted: score.as_ref().and_then(|s| s.extracted.clone()),
        score: score.as_ref().map(|s| s.value),
        alt_score: score.as_ref().and_then(|s| s.alt),
        detail: score.map(|s| s.detail).unwrap_or_default(),
        error,
        latency_ms: answer.latency_ms as i64,
        input_tokens: answer.usage.total_input() as i64,
        output_tokens: answer.usage.output_tokens as i64,
        cost_usd: answer.cost_usd.normalize().to_string(),
        created_at_ms: now_ms(),
    }
}
