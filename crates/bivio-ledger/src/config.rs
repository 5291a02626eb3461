//! `[ledger]` in the gateway's TOML: the raw, serde-facing [`LedgerConfig`] (unknown keys are errors) and
//! the validated [`LedgerSettings`] that [`LedgerConfig::resolve`] builds from it. Every error names its
//! TOML path (`ledger.queue_capacity: …`).
//!
//! The Postgres URL holds a password, so the file never contains it: `url_env` names the environment
//! variable that does, and the URL is kept in a [`SecretString`] from then on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::cost::HardwareCost;

/// Environment variable that moves the default data directory (the SQLite file lives in it).
pub const DATA_DIR_ENV: &str = "BIVIO_DATA_DIR";
/// File name of the SQLite ledger inside the data directory.
pub const DEFAULT_SQLITE_FILE: &str = "ledger.sqlite3";
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
pub const DEFAULT_BATCH_SIZE: usize = 1_000;
pub const DEFAULT_FLUSH_INTERVAL_MS: u64 = 200;

/// Where the ledger is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// One embedded file (WAL). Right for one gateway process.
    #[default]
    Sqlite,
    /// A PostgreSQL database shared by several gateway replicas.
    Postgres,
}

/// `[ledger]` as written in the file. All keys are optional; see [`LedgerConfig::resolve`] for defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    /// `"sqlite"` (default) or `"postgres"`.
    #[serde(default)]
    pub backend: Backend,
    /// SQLite file. Default: `$BIVIO_DATA_DIR/ledger.sqlite3`, else `$XDG_DATA_HOME/bivio/…`, else
    /// `~/.local/share/bivio/…`. A relative path is relative to the config file's directory.
    pub path: Option<PathBuf>,
    /// Name of the environment variable holding the Postgres URL (required for `backend = "postgres"`).
    pub url_env: Option<String>,
    /// Records the queue holds before new ones are dropped (and counted). Default 10 000.
    pub queue_capacity: Option<usize>,
    /// Most records written in one transaction. Default 1 000.
    pub batch_size: Option<usize>,
    /// Longest a record waits for companions before its batch is written, in ms. Default 200; 0 writes
    /// whatever is queued at once.
    pub flush_interval_ms: Option<u64>,
    /// The model (a key of `[models]`) whose price re-prices local traffic for "savings versus an
    /// all-Claude baseline" in `bivio report` and `bivio roi`. The gateway resolves its price.
    pub baseline_model: Option<String>,
    /// The machine serving local models: prices local models that have no per-token price, and gives
    /// `bivio roi` its defaults.
    pub hardware: Option<HardwareCost>,
}

/// A validated ledger configuration.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    pub store: StoreSettings,
    pub writer: WriterSettings,
    pub baseline_model: Option<String>,
    pub hardware: Option<HardwareCost>,
}

/// Where to connect.
#[derive(Debug, Clone)]
pub enum StoreSettings {
    Sqlite {
        path: PathBuf,
    },
    /// The URL (with its password) read from the environment, never from the file.
    Postgres {
        url: SecretString,
    },
}

/// The background writer's knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterSettings {
    /// ≥ 1.
    pub queue_capacity: usize,
    /// ≥ 1.
    pub batch_size: usize,
    pub flush_interval: Duration,
}

impl Default for WriterSettings {
    fn default() -> Self {
        WriterSettings {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            batch_size: DEFAULT_BATCH_SIZE,
            flush_interval: Duration::from_millis(DEFAULT_FLUSH_INTERVAL_MS),
        }
    }
}

/// A config value that cannot be used, with the TOML path at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError { path: path.into(), message: message.into() }
    }
}

impl LedgerConfig {
    /// Applies defaults and validates. `config_dir` anchors a relative `path`; `env` reads environment
    /// variables (the process environment in production, a map in tests).
    pub fn resolve(
        &self,
        config_dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<LedgerSettings, ConfigError> {
        let store = match self.backend {
            Backend::Sqlite => {
                if self.url_env.is_some() {
                    return Err(ConfigError::new("ledger.url_env", "only for backend = \"postgres\""));
                }
                let path = match &self.path {
                    Some(path) if path.as_os_str().is_empty() => {
                        return Err(ConfigError::new("ledger.path", "must not be empty"));
                    }
                    Some(path) if path.is_relative() => match config_dir {
                        Some(dir) => dir.join(path),
                        None => path.clone(),
                    },
                    Some(path) => path.clone(),
                    None => default_sqlite_path(env),
                };
                StoreSettings::Sqlite { path }
            }
            Backend::Postgres => {
                if self.path.is_some() {
                    return Err(ConfigError::new("ledger.path", "only for backend = \"sqlite\""));
                }
                let var = self.url_env.as_deref().ok_or_else(|| {
                    ConfigError::new(
                        "ledger.url_env",
                        "required for backend = \"postgres\" (the name of the variable holding the URL)",
                    )
                })?;
                let url = env(var).filter(|url| !url.is_empty()).ok_or_else(|| {
                    ConfigError::new("ledger.url_env", format!("environment variable `{var}` is not set"))
                })?;
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err(ConfigError::new(
                        "ledger.url_env",
                        format!("`{var}` must hold a postgres:// or postgresql:// URL"),
                    ));
                }
                StoreSettings::Postgres { url: SecretString::from(url) }
            }
        };
        let queue_capacity = self.queue_capacity.unwrap_or(DEFAULT_QUEUE_CAPACITY);
        if queue_capacity == 0 {
            return Err(ConfigError::new("ledger.queue_capacity", "must be at least 1"));
        }
        let batch_size = self.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
        if batch_size == 0 {
            return Err(ConfigError::new("ledger.batch_size", "must be at least 1"));
        }
        let flush_interval_ms = self.flush_interval_ms.unwrap_or(DEFAULT_FLUSH_INTERVAL_MS);
        if flush_interval_ms > 60_000 {
            return Err(ConfigError::new("ledger.flush_interval_ms", "must be at most 60000"));
        }
        if let Some(model) = &self.baseline_model
            && model.is_empty()
        {
            return Err(ConfigError::new("ledger.baseline_model", "must not be empty"));
        }
        if let Some(hardware) = &self.hardware {
            hardware.validate("ledger.hardware")?;
        }
        Ok(LedgerSettings {
            store,
            writer: WriterSettings {
                queue_capacity,
                batch_size,
                flush_interval: Duration::from_millis(flush_interval_ms),
            },
            baseline_model: self.baseline_model.clone(),
            hardware: self.hardware,
        })
    }
}

/// `$BIVIO_DATA_DIR/ledger.sqlite3`, else the XDG data directory, else `./ledger.sqlite3`.
pub fn default_sqlite_path(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    let nonempty = |var: &str| env(var).filter(|value| !value.is_empty()).map(PathBuf::from);
    let dir = nonempty(DATA_DIR_ENV)
        .or_else(|| nonempty("XDG_DATA_HOME").map(|dir| dir.join("bivio")))
        .or_else(|| nonempty("HOME").map(|home| home.join(".local/share/bivio")))
        .unwrap_or_else(|| PathBuf::from("."));
    dir.join(DEFAULT_SQLITE_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use secrecy::ExposeSecret;

    fn parse(text: &str) -> LedgerConfig {
        toml::from_str(text).unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults() {
        let settings = LedgerConfig::default().resolve(None, &|var| (var == "HOME").then(|| "/home/u".into())).unwrap();
        match settings.store {
            StoreSettings::Sqlite { path } => {
                assert_eq!(path, PathBuf::from("/home/u/.local/share/bivio/ledger.sqlite3"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(settings.writer, WriterSettings::default());
        let settings =
            LedgerConfig::default().resolve(None, &|var| (var == DATA_DIR_ENV).then(|| "/d".into())).unwrap();
        assert!(matches!(settings.store, StoreSettings::Sqlite { path } if path == Path::new("/d/ledger.sqlite3")));
    }

    #[test]
    fn full_config_parses() {
        let config = parse(
            r#"
            backend = "sqlite"
            path = "data/ledger.db"
            queue_capacity = 50
            batch_size = 10
            flush_interval_ms = 0
            baseline_model = "claude-sonnet-4-5"
            hardware = { purchase_usd = 2000, lifetime_months = 36, power_w = 450, kwh_usd = 0.30 }
            "#,
        );
        let settings = config.resolve(Some(Path::new("/etc/bivio")), &no_env).unwrap();
        assert!(
            matches!(&settings.store, StoreSettings::Sqlite { path } if path == Path::new("/etc/bivio/data/ledger.db"))
        );
        assert_eq!(settings.writer.queue_capacity, 50);
        assert_eq!(settings.writer.flush_interval, Duration::ZERO);
        let hardware = settings.hardware.unwrap();
        assert_eq!(hardware.kwh_usd, Decimal::new(3, 1));
        assert_eq!(hardware.kwh_usd.to_string(), "0.3");
    }

    #[test]
    fn postgres_reads_the_url_from_the_environment() {
        let config = parse("backend = \"postgres\"\nurl_env = \"LEDGER_URL\"\n");
        let env = |var: &str| (var == "LEDGER_URL").then(|| "postgres://u:pw@db/bivio".to_owned());
        let settings = config.resolve(None, &env).unwrap();
        match settings.store {
            StoreSettings::Postgres { url } => assert_eq!(url.expose_secret(), "postgres://u:pw@db/bivio"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            config.resolve(None, &no_env).unwrap_err().to_string(),
            "ledger.url_env: environment variable `LEDGER_URL` is not set"
        );
        let config = parse("backend = \"postgres\"\n");
        assert!(config.resolve(None, &no_env).unwrap_err().to_string().starts_with("ledger.url_env: required"));
    }

    #[test]
    fn errors_name_the_path() {
        let err = toml::from_str::<LedgerConfig>("queue_capacty = 1\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `queue_capacty`"), "{err}");
        let cases = [
            ("queue_capacity = 0", "ledger.queue_capacity: must be at least 1"),
            ("batch_size = 0", "ledger.batch_size: must be at least 1"),
            ("flush_interval_ms = 60001", "ledger.flush_interval_ms: must be at most 60000"),
            ("url_env = \"X\"", "ledger.url_env: only for backend = \"postgres\""),
            (
                "hardware = { purchase_usd = 1, lifetime_months = 0, power_w = 1, kwh_usd = 1 }",
                "ledger.hardware.lifetime_months: must be at least 1",
            ),
            (
                "hardware = { purchase_usd = -1, lifetime_months = 1, power_w = 1, kwh_usd = 1 }",
                "ledger.hardware.purchase_usd: must be a non-negative number",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).resolve(None, &no_env).unwrap_err().to_string(), expected, "{text}");
        }
    }
}
