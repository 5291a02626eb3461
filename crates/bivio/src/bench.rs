//! `bivio bench …` and `bivio arena …`: the command-line glue of the evaluation lab. Flags are parsed
//! here, the gateway config supplies the models (the same providers the gateway serves them with) and the
//! ledger database, and everything else is `bivio-eval`. The subcommands are defined here rather than in
//! cli.rs so the lab's flags stay in one file.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use bivio_eval::arena::{self, prompts};
use bivio_eval::render::{self, Format};
use bivio_eval::runner::{self, Options};
use bivio_eval::score::Scorers;
use bivio_eval::score::sandbox::{Sandbox, SandboxSettings};
use bivio_eval::store::Store;
use bivio_eval::target::{Sampling, Target};
use bivio_eval::{EvalError, report, suites};
use bivio_gateway::Config;
use clap::Subcommand;

use crate::cli::ENV_CONFIG;
use crate::{Failure, config_failure, load_or_default, output, runtime_failure};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Run suites on models; results go to the ledger database. Rerunning the same command resumes an
    /// unfinished run (scored items are skipped, failed ones retried).
    Run {
        /// Gateway config: its models and its ledger database (default: the zero-config default).
        #[arg(long, env = ENV_CONFIG)]
        config: Option<PathBuf>,
        /// Suites: gsm8k, humaneval, tooluse, mmlu=PATH, gpqa=PATH, custom=FILE (comma-separated;
        /// `NAME=FILE` overrides a built-in suite's file). See docs/evaluation.md.
        #[arg(long)]
        suite: String,
        /// Models (names from the config's [models]), comma-separated.
        #[arg(long)]
        models: String,
        /// Only the first N items of each suite.
        #[arg(long)]
        limit: Option<usize>,
        /// Model calls in flight at once.
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
        /// Sampling seed (sent to backends that take one; also shuffles GPQA options).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Answers per item (pass@k for HumanEval needs more than 1, with --temperature above 0).
        #[arg(long, default_value_t = 1)]
        samples: u32,
        /// Sampling temperature, 0–2 (0: greedy).
        #[arg(long, default_value_t = 0.0)]
        temperature: f64,
        /// The model that grades `llm-judge` items.
        #[arg(long)]
        judge: Option<String>,
        /// Start new runs instead of resuming unfinished ones.
        #[arg(long)]
        fresh: bool,
        /// Seconds each HumanEval program may run.
        #[arg(long, default_value_t = 3.0)]
        code_timeout: f64,
        /// Caps every answer's length (default: each suite's own).
        #[arg(long)]
        max_tokens: Option<u32>,
    },
    /// The results table: model × suite, score with 95% interval, cost per 100 items, p50 latency, tokens/s.
    Report {
        /// Gateway config: its models and its ledger database (default: the zero-config default).
        #[arg(long, env = ENV_CONFIG)]
        config: Option<PathBuf>,
        /// Run ids (repeatable); default: the latest run of every suite and model.
        #[arg(long)]
        run: Vec<String>,
        /// `table`, `markdown`, `json` or `html`.
        #[arg(long, default_value = "table")]
        format: String,
        /// Write to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Per suite and day: the best open (local) model against the best closed (cloud) one, across all runs.
    Gap {
        /// Gateway config: its models and its ledger database (default: the zero-config default).
        #[arg(long, env = ENV_CONFIG)]
        config: Option<PathBuf>,
        /// `table`, `markdown`, `json` or `html`.
        #[arg(long, default_value = "table")]
        format: String,
        /// Write to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Every stored run.
    List {
        /// Gateway config: its models and its ledger database (default: the zero-config default).
        #[arg(long, env = ENV_CONFIG)]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ArenaCommand {
    /// Models answer the prompts; with --judge every pair is judged in both orders and ranked.
    Run {
        /// Gateway config: its models and its ledger database (default: the zero-config default).
        #[arg(long, env = ENV_CONFIG)]
        config: Option<PathBuf>,
        /// At least two models, comma-separated.
        #[arg(long)]
        models: String,
        /// A JSONL file of prompts, or `mt_bench` (the 80 MT-Bench questions).
        #[arg(long)]
        prompts: String,
        /// The judge model (MT-Bench's pairwise judge prompts). Without one, record people's votes with
        /// `bivio arena vote`.
        #[arg(long)]
        judge: Option<String>,
        /// Only the first N prompts.
        #[arg(long)]
        limit: Option<usize>,
        /// Model calls in flight at once.
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
        /// Answer length per turn.
        #[arg(long, default_value_t = 512)]
        max_tokens: u32,
        /// The judge's answer length (explanation and verdict).
        #[arg(long, default_value_t = 1024)]
        judge_max_tokens: u32,
        /// Seeds sampling and the bootstrap.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Bootstrap rounds for the rating intervals.
        #[arg(long, default_value_t = 200)]
        bootstrap: usize,
        /// `table`, `markdown`, `json` or `html`.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Add people's votes (JSONL: prompt_id, model_a, model_b, winner, voter) to a run.
    Vote {
        /// Gateway config: its models and its ledger database (default: the zero-config default).
        #[arg(long, env = ENV_CONFIG)]
        config: Option<PathBuf>,
        /// The arena run the votes are for.
        #[arg(long)]
        run: String,
        /// The votes, JSONL.
        #[arg(long)]
        file: PathBuf,
    },
    /// Bradley–Terry (bootstrap 95% intervals) and online Elo leaderboards, overall and per category.
    Report {
        /// Gateway config: its models and its ledger database (default: the zero-config default).
        #[arg(long, env = ENV_CONFIG)]
        config: Option<PathBuf>,
        /// Default: the latest arena run.
        #[arg(long)]
        run: Option<String>,
        /// Bootstrap rounds for the rating intervals.
        #[arg(long, default_value_t = 200)]
        bootstrap: usize,
        /// Seeds the bootstrap.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// `table`, `markdown`, `json` or `html`.
        #[arg(long, default_value = "table")]
        format: String,
        /// Write to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

pub fn bench(command: BenchCommand) -> Result<(), Failure> {
    match command {
        BenchCommand::Run {
            config,
            suite,
            models,
            limit,
            concurrency,
            seed,
            samples,
            temperature,
            judge,
            fresh,
            code_timeout,
            max_tokens,
        } => {
            let config = load_or_default(config.as_deref())?;
            let specs = suites::parse_specs(&suite).map_err(config_failure)?;
            let loaded: Vec<suites::Suite> =
                specs.iter().map(|s| suites::load(s, seed)).collect::<Result<_, _>>().map_err(config_failure)?;
            let targets = targets(&config, &models)?;
            let judge = judge.as_deref().map(|j| target(&config, j)).transpose()?;
            if judge.is_none() && loaded.iter().any(suites::Suite::needs_judge) {
                return Err(config_failure(anyhow!("a suite uses the `llm-judge` scorer: pass --judge MODEL")));
            }
            if !(code_timeout > 0.0 && code_timeout <= 600.0) {
                return Err(config_failure(anyhow!("--code-timeout: between 0 and 600 seconds")));
            }
            if concurrency == 0 || samples == 0 || max_tokens == Some(0) {
                return Err(config_failure(anyhow!("--concurrency, --samples and --max-tokens must be at least 1")));
            }
            if !(0.0..=2.0).contains(&temperature) {
                return Err(config_failure(anyhow!("--temperature: between 0 and 2")));
            }
            let options = Options {
                limit,
                concurrency,
                samples,
                sampling: Sampling { temperature, seed: Some(seed as i64) },
                fresh,
                max_tokens,
            };
            let store = open_store(&config)?;
            runtime()?.block_on(async {
                let sandbox = if loaded.iter().any(suites::Suite::needs_sandbox) {
                    let settings = SandboxSettings {
                        timeout: std::time::Duration::from_secs_f64(code_timeout),
                        ..SandboxSettings::default()
                    };
                    Some(Sandbox::probe(settings).await.map_err(runtime_failure)?)
                } else {
                    None
                };
                let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
                let scorers =
                    Scorers { sandbox, sandbox_slots: Some(Arc::new(tokio::sync::Semaphore::new(cores))), judge };
                let bar = bivio_eval::progress::Bar::new();
                let summaries =
                    runner::run(&store, &loaded, &targets, &scorers, &options, &bar).await.map_err(runtime_failure)?;
                let mut failed = 0;
                for s in &summaries {
                    failed += s.errors;
                    output::line(&format!(
                        "{} · {}: {} scored, {} already scored{}, {} failed — run {}{}",
                        s.suite,
                        s.model,
                        s.scored,
                        s.skipped,
                        if s.resumed { " (resumed)" } else { "" },
                        s.errors,
                        s.run_id,
                        if s.finished { "" } else { " (unfinished)" }
                    ));
                }
                let runs: Vec<String> = summaries.iter().map(|s| s.run_id.clone()).collect();
                let selected = report::select_runs(&store, &runs).map_err(runtime_failure)?;
                let rows = report::rows(&store, &selected).map_err(runtime_failure)?;
                output::line("");
                output::line(render::bench(&rows, Format::Table).map_err(runtime_failure)?.trim_end());
                if failed > 0 {
                    return Err(runtime_failure(anyhow!(
                        "{failed} item(s) failed (see the log); run the same command again to retry them"
                    )));
                }
                Ok(())
            })
        }
        BenchCommand::Report { config, run, format, output: out } => {
            let format = parse_format(&format)?;
            let store = ledger_store(config.as_deref())?;
            let runs = report::select_runs(&store, &run).map_err(config_failure)?;
            let rows = report::rows(&store, &runs).map_err(runtime_failure)?;
            if rows.is_empty() {
                output::line("no runs yet: bivio bench run --suite … --models …");
                return Ok(());
            }
            emit(&render::bench(&rows, format).map_err(runtime_failure)?, out.as_deref())
        }
        BenchCommand::Gap { config, format, output: out } => {
            let format = parse_format(&format)?;
            let store = ledger_store(config.as_deref())?;
            let all = store.runs().map_err(runtime_failure)?;
            let rows = report::rows(&store, &all).map_err(runtime_failure)?;
            emit(&render::gap(&bivio_eval::gap::gap(&rows), format).map_err(runtime_failure)?, out.as_deref())
        }
        BenchCommand::List { config } => {
            let store = ledger_store(config.as_deref())?;
            for run in store.runs().map_err(runtime_failure)? {
                output::line(&format!(
                    "{}  {}  {:<12} {:<20} {} items  {}",
                    run.id,
                    render::started(run.started_at_ms),
                    run.suite,
                    run.model,
                    run.items_total,
                    if run.finished_at_ms.is_some() { "finished" } else { "unfinished" }
                ));
            }
            Ok(())
        }
    }
}

pub fn arena(command: ArenaCommand) -> Result<(), Failure> {
    match command {
        ArenaCommand::Run {
            config,
            models,
            prompts: source,
            judge,
            limit,
            concurrency,
            max_tokens,
            judge_max_tokens,
            seed,
            bootstrap,
            format,
        } => {
            let format = parse_format(&format)?;
            let config = load_or_default(config.as_deref())?;
            let targets = targets(&config, &models)?;
            let path = if source == "mt_bench" {
                suites::dataset_file("mt_bench/question.jsonl").map_err(|tried| {
                    config_failure(anyhow!("--prompts mt_bench: not found (tried {tried}); set BIVIO_DATASETS"))
                })?
            } else {
                PathBuf::from(&source)
            };
            let mut list = prompts::load_prompts(&path).map_err(config_failure)?;
            list.truncate(limit.unwrap_or(usize::MAX));
            let templates = match &judge {
                Some(_) => Some(judge_templates(&path)?),
                None => None,
            };
            let judge = judge.as_deref().map(|j| target(&config, j)).transpose()?;
            let store = open_store(&config)?;
            let options = arena::run::ArenaOptions {
                concurrency,
                max_tokens,
                judge_max_tokens,
                sampling: Sampling { temperature: 0.0, seed: Some(seed as i64) },
            };
            let run_id = runtime()?.block_on(async {
                let judge = match (judge, templates.as_ref()) {
                    (Some(target), Some(templates)) => Some(arena::run::Judge { target, templates }),
                    _ => None,
                };
                let bar = bivio_eval::progress::Bar::new();
                arena::run::run(&store, &path.display().to_string(), &list, &targets, judge, &options, &bar).await
            });
            let run_id = run_id.map_err(runtime_failure)?;
            if templates.is_none() {
                output::line(&format!(
                    "arena run {run_id}: answers stored; no judge, so no ratings yet — add votes with `bivio arena vote --run {run_id} --file VOTES.jsonl`"
                ));
                return Ok(());
            }
            leaderboard(&store, &run_id, bootstrap, seed, format, None)
        }
        ArenaCommand::Vote { config, run, file } => {
            let store = ledger_store(config.as_deref())?;
            let answers = store.answers(&run).map_err(runtime_failure)?;
            if answers.is_empty() {
                return Err(config_failure(anyhow!("--run: no arena run `{run}` with answers")));
            }
            let next = store.votes(&run).map_err(runtime_failure)?.iter().map(|v| v.seq + 1).max().unwrap_or(0);
            let votes = arena::human::load_votes(&file, &answers, next).map_err(config_failure)?;
            for vote in &votes {
                store.save_vote(&run, vote).map_err(runtime_failure)?;
            }
            output::line(&format!("{} vote(s) added to {run}", votes.len()));
            Ok(())
        }
        ArenaCommand::Report { config, run, bootstrap, seed, format, output: out } => {
            let format = parse_format(&format)?;
            let store = ledger_store(config.as_deref())?;
            let run = match run {
                Some(run) => run,
                None => match store.arena_runs().map_err(runtime_failure)?.pop() {
                    Some(latest) => latest.id,
                    None => {
                        output::line("no arena runs yet: bivio arena run --models A,B --prompts mt_bench --judge J");
                        return Ok(());
                    }
                },
            };
            leaderboard(&store, &run, bootstrap, seed, format, out.as_deref())
        }
    }
}

fn leaderboard(
    store: &Store,
    run: &str,
    rounds: usize,
    seed: u64,
    format: Format,
    out: Option<&Path>,
) -> Result<(), Failure> {
    let meta = store.arena_runs().map_err(runtime_failure)?.into_iter().find(|r| r.id == run);
    let models = meta.map(|m| m.models).ok_or_else(|| config_failure(anyhow!("--run: no arena run `{run}`")))?;
    let votes = store.votes(run).map_err(runtime_failure)?;
    let battles = arena::battles(&votes, &models);
    let boards = arena::leaderboards(&models, &battles, rounds, seed);
    emit(&render::arena(run, &boards, format).map_err(runtime_failure)?, out)
}

/// MT-Bench's judge templates: beside the prompts file, else in the datasets directory.
fn judge_templates(prompts: &Path) -> Result<prompts::JudgeTemplates, Failure> {
    let beside = prompts.with_file_name("judge_prompts.jsonl");
    let path = if beside.is_file() {
        beside
    } else {
        suites::dataset_file("mt_bench/judge_prompts.jsonl").map_err(|tried| {
            config_failure(anyhow!("--judge needs MT-Bench's judge_prompts.jsonl (tried {tried}); set BIVIO_DATASETS"))
        })?
    };
    prompts::load_judge_templates(&path).map_err(config_failure)
}

fn target(config: &Config, name: &str) -> Result<Arc<Target>, Failure> {
    let model = config.models.get(name).ok_or_else(|| {
        let known: Vec<&str> = config.models.keys().map(String::as_str).collect();
        config_failure(anyhow!("model `{name}` is not configured (configured: {})", known.join(", ")))
    })?;
    if let Some(why) = &model.unavailable {
        return Err(config_failure(anyhow!("model `{name}` is unavailable: {why}")));
    }
    Ok(Arc::new(Target {
        name: model.name.clone(),
        provider: model.provider.clone(),
        upstream_model: model.upstream_model.clone(),
        local: model.local,
        pricing: model.pricing,
    }))
}

fn targets(config: &Config, list: &str) -> Result<Vec<Arc<Target>>, Failure> {
    let names: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if names.is_empty() {
        return Err(config_failure(anyhow!("--models: name at least one model")));
    }
    names.into_iter().map(|n| target(config, n)).collect()
}

/// The ledger database of a loaded config (commands that call models).
fn open_store(config: &Config) -> Result<Store, Failure> {
    store_at(&config.ledger.store)
}

/// The ledger database named by the config file (or the zero-config default), reading only its ledger part:
/// commands that only read results load no model and need no API key.
fn ledger_store(config: Option<&Path>) -> Result<Store, Failure> {
    let what = config.map_or_else(|| "the zero-config default".to_owned(), |p| p.display().to_string());
    let view = Config::ledger_view(config, &|var| std::env::var(var).ok())
        .with_context(|| format!("invalid config {what}"))
        .map_err(config_failure)?;
    store_at(&view.ledger.store)
}

fn store_at(settings: &bivio_ledger::StoreSettings) -> Result<Store, Failure> {
    Store::open_ledger(settings).map_err(|err| match err {
        EvalError::Usage(_) => config_failure(err),
        other => runtime_failure(anyhow::Error::new(other).context("cannot open the ledger database")),
    })
}

fn parse_format(text: &str) -> Result<Format, Failure> {
    Format::from_str(text).map_err(config_failure)
}

fn emit(text: &str, out: Option<&Path>) -> Result<(), Failure> {
    match out {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))
                .map_err(runtime_failure)?;
            output::line(&format!("wrote {}", path.display()));
        }
        None => output::line(text.trim_end()),
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Runtime::new().map_err(runtime_failure)
}
