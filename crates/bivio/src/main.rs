//! The `bivio` binary: parse the command line, run one subcommand, map the result to an exit code.

mod bench;
mod chat;
mod cli;
mod explain;
#[cfg(feature = "embedded")]
mod model;
mod output;
mod report;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use bivio_gateway::{AppState, Config};
use clap::Parser;

use crate::cli::{Cli, Command, ConfigCommand};

/// Exit codes: 0 success, 1 runtime failure, 2 bad configuration or usage.
const EXIT_FAILURE: u8 = 1;
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match try_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output::error(&format!("{:#}", failure.error));
            ExitCode::from(failure.code)
        }
    }
}

pub(crate) struct Failure {
    error: anyhow::Error,
    code: u8,
}

pub(crate) fn config_failure(error: impl Into<anyhow::Error>) -> Failure {
    Failure { error: error.into(), code: EXIT_CONFIG }
}

pub(crate) fn runtime_failure(error: impl Into<anyhow::Error>) -> Failure {
    Failure { error: error.into(), code: EXIT_FAILURE }
}

fn try_main(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve { config, listen } => serve(config.as_deref(), listen.as_deref()),
        Command::Config { command: ConfigCommand::Check { file } } => config_check(&file),
        #[cfg(feature = "embedded")]
        Command::Model { command: cli::ModelCommand::Pull { name } } => model::pull(&name),
        #[cfg(feature = "embedded")]
        Command::Model { command: cli::ModelCommand::List } => model::list(),
        Command::Report { config, since, by, format } => {
            report::report(config.as_deref(), since.as_deref(), by.as_deref(), &format)
        }
        Command::Roi { config, since, hardware_usd, power_w, kwh_usd, lifetime_months, format } => {
            let overrides = report::HardwareOverrides { hardware_usd, power_w, kwh_usd, lifetime_months };
            report::roi(config.as_deref(), since.as_deref(), &overrides, &format)
        }
        Command::Audit { ledger } => report::audit(ledger.config.as_deref(), ledger.since.as_deref(), &ledger.format),
        Command::Route { command: cli::RouteCommand::Explain { file, config, api } } => {
            explain::explain(&file, config.as_deref(), api.as_deref())
        }
        Command::Chat { url, model, max_tokens } => chat::chat(&url, &model, max_tokens),
        Command::Bench { command } => bench::bench(command),
        Command::Arena { command } => bench::arena(command),
    }
}

/// The config file's, or the built-in zero-config default.
pub(crate) fn load_or_default(config: Option<&Path>) -> Result<Config, Failure> {
    match config {
        Some(path) => load_config(path),
        None => zero_config(),
    }
}

#[cfg(feature = "embedded")]
fn zero_config() -> Result<Config, Failure> {
    model::ensure_default()?;
    Config::zero_config(&|var| std::env::var(var).ok())
        .context("the built-in zero-config default")
        .map_err(config_failure)
}

#[cfg(not(feature = "embedded"))]
fn zero_config() -> Result<Config, Failure> {
    Err(config_failure(anyhow::anyhow!(
        "no config file: pass --config FILE or set {} (this build has no embedded model to default to)",
        cli::ENV_CONFIG
    )))
}

pub(crate) fn load_config(path: &Path) -> Result<Config, Failure> {
    Config::load_file(path, &|var| std::env::var(var).ok())
        .with_context(|| format!("invalid config {}", path.display()))
        .map_err(config_failure)
}

/// `bivio config check FILE`: validates and prints a summary.
fn config_check(path: &Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    output::line(&format!("{}: ok — listen {}, {} model(s)", path.display(), config.listen, config.models.len()));
    for model in config.models.values() {
        output::line(&format!(
            "  {} → provider `{}`, upstream model `{}`",
            model.name, model.provider_name, model.upstream_model
        ));
    }
    Ok(())
}

/// How long shutdown waits for the ledger to flush before giving up (records still queued are then lost,
/// and the count is printed).
const LEDGER_FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `bivio serve`: runs the gateway until SIGINT/SIGTERM, lets in-flight requests finish, then flushes the
/// ledger so that every completed request is recorded.
fn serve(config: Option<&Path>, listen: Option<&str>) -> Result<(), Failure> {
    let mut config = load_or_default(config)?;
    if let Some(listen) = listen {
        config.listen = listen.parse().with_context(|| format!("--listen {listen}")).map_err(config_failure)?;
    }
    let runtime = tokio::runtime::Runtime::new().map_err(runtime_failure)?;
    runtime.block_on(async move {
        let ledger = bivio_ledger::Ledger::open(&config.ledger)
            .await
            .context("cannot open the ledger")
            .map_err(runtime_failure)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))
            .map_err(runtime_failure)?;
        let addr = listener.local_addr().map_err(runtime_failure)?;
        banner(&config, &addr, &ledger);
        let state = AppState::new(config, ledger.writer()).context("cannot set up metrics").map_err(runtime_failure)?;
        let served = bivio_gateway::serve(listener, state, shutdown_signal()).await;
        match tokio::time::timeout(LEDGER_FLUSH_TIMEOUT, ledger.shutdown()).await {
            Ok(stats) => tracing::info!(
                written = stats.written,
                dropped = stats.dropped,
                failed = stats.failed,
                "ledger flushed"
            ),
            Err(_) => tracing::error!("the ledger did not flush within {LEDGER_FLUSH_TIMEOUT:?}"),
        }
        served.map_err(runtime_failure)
    })
}

/// What a newcomer needs at start-up: where bivio listens, which routes are live, how to point clients at it.
fn banner(config: &Config, addr: &std::net::SocketAddr, ledger: &bivio_ledger::Ledger) {
    output::line(&format!("bivio listening on http://{addr}"));
    for (side, other, local) in [("local", "cloud", true), ("cloud", "local", false)] {
        let models: Vec<&bivio_gateway::config::Model> = config.models.values().filter(|m| m.local == local).collect();
        let live: Vec<String> = models
            .iter()
            .filter(|m| m.unavailable.is_none())
            .map(|m| format!("{} ({})", m.name, m.provider_name))
            .collect();
        if !live.is_empty() {
            output::line(&format!("  {side} route: {}", live.join(", ")));
        } else if let Some(why) = models.iter().find_map(|m| m.unavailable.as_deref()) {
            output::line(&format!("  {side} route: off ({why}): {side} work falls back to the {other} route"));
        } else {
            output::line(&format!("  {side} route: none configured"));
        }
    }
    let store = match &config.ledger.store {
        bivio_ledger::StoreSettings::Sqlite { path } => format!("SQLite {}", path.display()),
        bivio_ledger::StoreSettings::Postgres { .. } => "Postgres".to_owned(),
    };
    output::line(&format!("  ledger: {store} ({})", ledger.store().backend_name()));
    output::line("  model `bivio/auto` lets the policy choose; every answer says why in x-bivio-reason");
    output::line(&format!("  Anthropic SDK / Claude Code: export ANTHROPIC_BASE_URL=http://{addr}"));
    output::line(&format!("  OpenAI SDK: export OPENAI_BASE_URL=http://{addr}/v1 (any OPENAI_API_KEY)"));
    output::line(&format!("  try it: bivio chat --url http://{addr}"));
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env(cli::ENV_LOG)
        // llama.cpp narrates every model load at INFO (a hundred lines): only its warnings by default.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,llama-cpp-2=warn,llama_cpp_2=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
