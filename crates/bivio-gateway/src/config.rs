//! Configuration in two phases: [`RawConfig`] mirrors the TOML file exactly (unknown keys are errors, so a
//! typo never silently changes behaviour), and [`Config::load`] validates it, resolves secrets from the
//! environment and builds the runtime objects. Every error names the TOML path it is about.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bivio_guard::GuardConfig;
use bivio_ledger::{LedgerConfig, LedgerSettings, Price, Pricing};
use bivio_providers::{AnthropicProvider, OpenAiCompatProvider, Provider, Timeouts};
use bivio_router::{ModelInfo, RouterConfig};
use secrecy::SecretString;
use serde::Deserialize;

/// Default listen address: loopback only, so a fresh install is not an open relay.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// Default request body limit: large enough for a few base64 images.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{0}")]
    Parse(String),
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { path: path.into(), message: message.into() }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    pub models: BTreeMap<String, RawModel>,
    /// Where every request is accounted. Absent: SQLite in the data directory.
    #[serde(default)]
    pub ledger: LedgerConfig,
    /// How `bivio/auto` requests are routed (see bivio-router).
    #[serde(default)]
    pub router: RouterConfig,
    /// What sensitive data may do (see bivio-guard). Absent: every detected kind stays local.
    #[serde(default)]
    pub guard: GuardConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub max_body_bytes: Option<usize>,
}

/// A backend, by the API it speaks (`kind`).
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RawProvider {
    Anthropic(RawHttpProvider),
    OpenaiCompatible(RawHttpProvider),
    /// llama.cpp in this process (always local).
    #[cfg(feature = "embedded")]
    Embedded(bivio_embedded::EmbeddedConfig),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpProvider {
    pub api_base: Option<String>,
    /// Name of the environment variable holding the key; the key itself never appears in the file.
    pub api_key_env: Option<String>,
    /// Whether the backend runs on premises (counts as local traffic; may receive sensitive data).
    /// Default false: a backend is treated as a cloud service unless the config says otherwise.
    pub local: Option<bool>,
    pub connect_timeout_secs: Option<u64>,
    pub response_timeout_secs: Option<u64>,
    pub stream_idle_timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub provider: String,
    pub upstream_model: Option<String>,
    pub display_name: Option<String>,
    pub context_window: Option<u64>,
    /// USD per million tokens (exact decimals).
    pub price: Option<Price>,
}

/// The validated, runtime configuration.
#[derive(Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub models: BTreeMap<String, Model>,
    pub ledger: LedgerSettings,
    /// The price local traffic is re-priced at for "savings versus all-Claude" (`ledger.baseline_model`).
    pub baseline: Option<(String, Price)>,
    pub router: RouterConfig,
    pub guard: crate::privacy::Guard,
    /// The models as the router sees them, in name order.
    pub route_models: Vec<ModelInfo>,
}

/// A model clients can name, and where it is served.
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub display_name: String,
    pub provider_name: String,
    pub provider: Arc<dyn Provider>,
    pub upstream_model: String,
    pub context_window: Option<u64>,
    /// Served on premises.
    pub local: bool,
    pub pricing: Pricing,
    /// Why the model cannot be called now (e.g. no API key in the zero-config default); `None`: available.
    pub unavailable: Option<String>,
}

impl Config {
    /// Reads, parses and validates a config file. `env` resolves `api_key_env` names (the process
    /// environment in production, a map in tests).
    pub fn load_file(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        let raw: RawConfig = toml::from_str(&text).map_err(|err| ConfigError::Parse(err.to_string()))?;
        Config::load(raw, path.parent(), env)
    }

    pub fn load_str(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|err| ConfigError::Parse(err.to_string()))?;
        Config::load(raw, None, env)
    }

    /// `config_dir` anchors relative paths in the file (the ledger's SQLite file).
    pub fn load(
        raw: RawConfig,
        config_dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let ledger = raw.ledger.resolve(config_dir, env).map_err(|err| invalid(err.path, err.message))?;
        let listen = raw.server.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen
            .parse()
            .map_err(|_| invalid("server.listen", format!("`{listen}` is not an address like 127.0.0.1:8787")))?;
        let max_body_bytes = raw.server.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }

        let mut providers: BTreeMap<String, (Arc<dyn Provider>, bool)> = BTreeMap::new();
        for (name, provider) in &raw.providers {
            providers.insert(name.clone(), build_provider(name, provider, env)?);
        }

        let mut models = BTreeMap::new();
        for (name, model) in raw.models {
            let path = format!("models.{name}");
            let (provider, local) = providers.get(&model.provider).cloned().ok_or_else(|| {
                invalid(format!("{path}.provider"), format!("no provider named `{}` in [providers]", model.provider))
            })?;
            if let Some(price) = &model.price {
                price.validate(&format!("{path}.price")).map_err(|err| invalid(err.path, err.message))?;
            }
            // An explicit price wins; a local model without one costs its machine's time when the ledger knows
            // the hardware; anything else is free.
            let pricing = match (model.price, local, ledger.hardware) {
                (Some(price), _, _) => Pricing::PerToken(price),
                (None, true, Some(hardware)) => Pricing::Hardware(hardware),
                (None, _, _) => Pricing::PerToken(Price::default()),
            };
            models.insert(
                name.clone(),
                Model {
                    display_name: model.display_name.unwrap_or_else(|| name.clone()),
                    upstream_model: model.upstream_model.unwrap_or_else(|| name.clone()),
                    provider_name: model.provider,
                    provider,
                    context_window: model.context_window,
                    local,
                    pricing,
                    unavailable: None,
                    name,
                },
            );
        }
        let baseline = match &ledger.baseline_model {
            None => None,
            Some(name) => match models.get(name).map(|m| m.pricing) {
                Some(Pricing::PerToken(price)) => Some((name.clone(), price)),
                Some(Pricing::Hardware(_)) => {
                    return Err(invalid("ledger.baseline_model", format!("`{name}` has no per-token price")));
                }
                None => return Err(invalid("ledger.baseline_model", format!("no model named `{name}` in [models]"))),
            },
        };
        raw.router.validate().map_err(ConfigError::Parse)?;
        for name in raw.router.referenced_models() {
            if !models.contains_key(name) {
                return Err(invalid("router", format!("names model `{name}`, which is not in [models]")));
            }
        }
        // The `local` chain is where sensitive requests go: a cloud model there would be a leak waiting for a
        // misread config (the policy filters on `local` regardless; this makes the mistake loud).
        if let Some(name) = raw.router.local.iter().find(|name| models.get(*name).is_some_and(|m| !m.local)) {
            return Err(invalid("router.local", format!("`{name}` is not a local model (its provider is not local)")));
        }
        let guard = crate::privacy::Guard::new(&raw.guard).map_err(|err| ConfigError::Parse(err.to_string()))?;
        let mut config = Config {
            listen,
            max_body_bytes,
            models,
            ledger,
            baseline,
            router: raw.router,
            guard,
            route_models: vec![],
        };
        config.refresh_route_models();
        Ok(config)
    }

    /// The zero-config default (`examples/zero-config.toml`): the embedded model as the local route, Claude
    /// as the cloud route when `ANTHROPIC_API_KEY` is set — otherwise its models are unavailable and the
    /// policy falls back to local, saying why.
    #[cfg(feature = "embedded")]
    pub fn zero_config(env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        const KEY_VAR: &str = "ANTHROPIC_API_KEY";
        let mut text = ZERO_CONFIG.to_owned();
        let has_key = env(KEY_VAR).is_some_and(|key| !key.is_empty());
        if has_key {
            text = text
                .replace("[providers.anthropic]\n", &format!("[providers.anthropic]\napi_key_env = \"{KEY_VAR}\"\n"));
        }
        let raw: RawConfig = toml::from_str(&text).map_err(|err| ConfigError::Parse(err.to_string()))?;
        let mut config = Config::load(raw, None, env)?;
        if !has_key {
            for model in config.models.values_mut().filter(|m| m.provider_name == "anthropic") {
                model.unavailable = Some(format!("{KEY_VAR} is not set"));
            }
            config.refresh_route_models();
        }
        Ok(config)
    }

    /// Only what `bivio report`, `roi` and `audit` need — the ledger and the baseline price — without
    /// building providers (no model is loaded, no API key is needed to read the ledger).
    pub fn ledger_view(path: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<LedgerView, ConfigError> {
        let (text, dir) = match path {
            Some(path) => (
                std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?,
                path.parent(),
            ),
            None => (ZERO_CONFIG_TEXT.to_owned(), None),
        };
        let raw: RawConfig = toml::from_str(&text).map_err(|err| ConfigError::Parse(err.to_string()))?;
        let ledger = raw.ledger.resolve(dir, env).map_err(|err| invalid(err.path, err.message))?;
        let baseline = match &ledger.baseline_model {
            None => None,
            Some(name) => {
                let model = raw
                    .models
                    .get(name)
                    .ok_or_else(|| invalid("ledger.baseline_model", format!("no model named `{name}` in [models]")))?;
                let price = model
                    .price
                    .ok_or_else(|| invalid("ledger.baseline_model", format!("`{name}` has no per-token price")))?;
                Some((name.clone(), price))
            }
        };
        Ok(LedgerView { ledger, baseline })
    }

    /// Recomputes the router's view of the models after their availability changed.
    fn refresh_route_models(&mut self) {
        self.route_models = self
            .models
            .values()
            .map(|m| ModelInfo {
                name: m.name.clone(),
                local: m.local,
                context_window: m.context_window,
                available: m.unavailable.is_none(),
            })
            .collect();
    }
}

/// The text of `examples/zero-config.toml`, built into the binary.
const ZERO_CONFIG_TEXT: &str = include_str!("../../../examples/zero-config.toml");
#[cfg(feature = "embedded")]
pub const ZERO_CONFIG: &str = ZERO_CONFIG_TEXT;

/// The ledger part of a config: where records are, and the price local traffic is compared with.
#[derive(Debug)]
pub struct LedgerView {
    pub ledger: LedgerSettings,
    pub baseline: Option<(String, Price)>,
}

/// The provider, and whether it runs on premises.
fn build_provider(
    name: &str,
    raw: &RawProvider,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Arc<dyn Provider>, bool), ConfigError> {
    let path = format!("providers.{name}");
    let (http, is_anthropic) = match raw {
        RawProvider::Anthropic(http) => (http, true),
        RawProvider::OpenaiCompatible(http) => (http, false),
        #[cfg(feature = "embedded")]
        RawProvider::Embedded(embedded) => {
            let provider =
                bivio_embedded::EmbeddedProvider::load(name, embedded).map_err(|err| invalid(path, err.message))?;
            return Ok((Arc::new(provider), true));
        }
    };
    let defaults = Timeouts::default();
    let timeouts = Timeouts {
        connect: http.connect_timeout_secs.map_or(defaults.connect, Duration::from_secs),
        response: http.response_timeout_secs.map_or(defaults.response, Duration::from_secs),
        stream_idle: http.stream_idle_timeout_secs.map_or(defaults.stream_idle, Duration::from_secs),
    };
    let api_key = match &http.api_key_env {
        None => None,
        Some(var) => match env(var) {
            Some(key) if !key.is_empty() => Some(SecretString::from(key)),
            // Naming a variable that is unset is a deployment mistake: say so at start-up, not on the first call.
            _ => {
                return Err(invalid(format!("{path}.api_key_env"), format!("environment variable `{var}` is not set")));
            }
        },
    };
    let api_base = match (is_anthropic, http.api_base.as_deref()) {
        (_, Some(base)) => base.to_owned(),
        (true, None) => "https://api.anthropic.com".to_owned(),
        (false, None) => return Err(invalid(format!("{path}.api_base"), "required for openai_compatible providers")),
    };
    if !(api_base.starts_with("http://") || api_base.starts_with("https://")) {
        return Err(invalid(format!("{path}.api_base"), "must start with http:// or https://"));
    }
    let built: Result<Arc<dyn Provider>, _> = if is_anthropic {
        AnthropicProvider::new(name, &api_base, api_key, timeouts).map(|p| Arc::new(p) as Arc<dyn Provider>)
    } else {
        OpenAiCompatProvider::new(name, &api_base, api_key, timeouts).map(|p| Arc::new(p) as Arc<dyn Provider>)
    };
    let provider = built.map_err(|err| invalid(path, err.message))?;
    Ok((provider, http.local.unwrap_or(false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn loads_a_complete_config() {
        let text = r#"
            [server]
            listen = "127.0.0.1:9000"
            [providers.claude]
            kind = "anthropic"
            api_key_env = "KEY"
            [providers.local]
            kind = "openai_compatible"
            api_base = "http://127.0.0.1:8080/v1"
            [models.sonnet]
            provider = "claude"
            upstream_model = "claude-sonnet-4-5"
            price = { input = 3, output = 15, cache_read = 0.3, cache_write = 3.75 }
            [models.gemma]
            provider = "local"
        "#;
        let config = Config::load_str(text, &|var| (var == "KEY").then(|| "sk-test".to_owned())).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.models["sonnet"].upstream_model, "claude-sonnet-4-5");
        let Pricing::PerToken(price) = config.models["sonnet"].pricing else { panic!("per-token") };
        assert_eq!(price.cache_read.to_string(), "0.3");
        assert!(!config.models["sonnet"].local);
        assert_eq!(config.models["gemma"].upstream_model, "gemma");
    }

    #[test]
    fn provider_keys_are_checked_per_kind() {
        let err =
            Config::load_str("[providers.c]\nkind = \"anthropic\"\nmodel_path = \"x.gguf\"\n", &no_env).unwrap_err();
        assert!(err.to_string().contains("unknown field `model_path`"), "{err}");
        let err = Config::load_str("[providers.c]\nkind = \"ollama\"\n", &no_env).unwrap_err();
        assert!(err.to_string().contains("unknown variant `ollama`"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = Config::load_str("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n", &no_env).unwrap_err();
        assert!(err.to_string().contains("unknown field `lisen`"), "{err}");
    }

    #[test]
    fn errors_name_the_path() {
        let text = "[models.x]\nprovider = \"nope\"\n";
        let err = Config::load_str(text, &no_env).unwrap_err();
        assert_eq!(err.to_string(), "models.x.provider: no provider named `nope` in [providers]");
        let text = "[providers.c]\nkind = \"anthropic\"\napi_key_env = \"MISSING_VAR\"\n";
        let err = Config::load_str(text, &no_env).unwrap_err();
        assert_eq!(err.to_string(), "providers.c.api_key_env: environment variable `MISSING_VAR` is not set");
        let text = "[providers.l]\nkind = \"openai_compatible\"\n";
        assert!(Config::load_str(text, &no_env).unwrap_err().to_string().starts_with("providers.l.api_base"));
        let text = "[providers.l]\nkind = \"openai_compatible\"\napi_base = \"http://x/v1\"\n[models.m]\nprovider = \"l\"\nprice = { input = -1 }\n";
        assert_eq!(
            Config::load_str(text, &no_env).unwrap_err().to_string(),
            "models.m.price.input: must be a non-negative number"
        );
    }
}
