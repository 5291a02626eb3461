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
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file (including that named environment variables are set) and exit.
    Check { file: PathBuf },
}
