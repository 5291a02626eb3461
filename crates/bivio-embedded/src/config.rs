//! The provider's configuration: what the gateway's `[providers.NAME]` table of `kind = "embedded"` holds.
//!
//! Defaults suit the machines bivio targets (a few cores, one small model): one slot — a second llama
//! context on two cores only splits the same compute — and all cores for that slot.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// An in-process llama.cpp model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedConfig {
    /// The GGUF file (any llama.cpp-supported architecture), or `default`: the model `bivio model pull
    /// default` puts in the cache (`$BIVIO_CACHE`, else `~/.cache/bivio`, then `models/`).
    pub model_path: PathBuf,
    /// Context window per slot, in tokens (prompt + answer). Capped at the model's training context.
    #[serde(default = "default_context_tokens")]
    pub context_tokens: u32,
    /// CPU threads per slot, for prompt processing and generation.
    #[serde(default = "default_threads")]
    pub threads: u32,
    /// Generations that run at once; each slot is one llama.cpp context (its own KV cache).
    #[serde(default = "default_slots")]
    pub slots: usize,
    /// Requests that may wait for a free slot; beyond `slots + queue` requests are refused as overloaded.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// A llama.cpp built-in template name (`gemma`, `chatml`, `llama3`, `mistral-v7`, `phi4`, …). When set it
    /// overrides the GGUF's own template; when the GGUF has none (base models) it is required, except for the
    /// default model, which gets `gemma`.
    #[serde(default)]
    pub chat_template: Option<String>,
    /// Answer length when the request does not say (OpenAI's `max_tokens` is optional).
    #[serde(default = "default_max_tokens")]
    pub default_max_tokens: u32,
}

impl EmbeddedConfig {
    /// A configuration with every default, for the model at `model_path`.
    pub fn new(model_path: impl Into<PathBuf>) -> EmbeddedConfig {
        EmbeddedConfig {
            model_path: model_path.into(),
            context_tokens: default_context_tokens(),
            threads: default_threads(),
            slots: default_slots(),
            queue: default_queue(),
            chat_template: None,
            default_max_tokens: default_max_tokens(),
        }
    }

    /// Checks the values that do not need the model; the error names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        if self.slots == 0 {
            return Err("`slots` must be at least 1".into());
        }
        if self.threads == 0 {
            return Err("`threads` must be at least 1".into());
        }
        if self.context_tokens < MIN_CONTEXT_TOKENS {
            return Err(format!("`context_tokens` must be at least {MIN_CONTEXT_TOKENS}"));
        }
        if self.default_max_tokens == 0 {
            return Err("`default_max_tokens` must be at least 1".into());
        }
        if self.chat_template.as_deref().is_some_and(|name| name.trim().is_empty()) {
            return Err("`chat_template` must not be empty (leave it out to use the GGUF's template)".into());
        }
        Ok(())
    }
}

/// Below this a chat prompt hardly fits.
pub const MIN_CONTEXT_TOKENS: u32 = 64;

fn default_context_tokens() -> u32 {
    4096
}

fn default_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
}

fn default_slots() -> usize {
    1
}

fn default_queue() -> usize {
    16
}

fn default_max_tokens() -> u32 {
    1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_everything_but_the_path() {
        let config: EmbeddedConfig = toml::from_str(r#"model_path = "/m.gguf""#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config, EmbeddedConfig::new("/m.gguf"));
        assert_eq!((config.slots, config.queue, config.context_tokens), (1, 16, 4096));
        assert!(config.threads >= 1);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<EmbeddedConfig>("model_path = \"/m.gguf\"\nslot = 2").err();
        assert!(err.is_some_and(|e| e.to_string().contains("unknown field `slot`")));
    }

    #[test]
    fn invalid_values_name_their_key() {
        let base = EmbeddedConfig::new("/m.gguf");
        let cases = [
            (EmbeddedConfig { slots: 0, ..base.clone() }, "`slots`"),
            (EmbeddedConfig { threads: 0, ..base.clone() }, "`threads`"),
            (EmbeddedConfig { context_tokens: 10, ..base.clone() }, "`context_tokens`"),
            (EmbeddedConfig { default_max_tokens: 0, ..base.clone() }, "`default_max_tokens`"),
            (EmbeddedConfig { chat_template: Some(" ".into()), ..base.clone() }, "`chat_template`"),
        ];
        for (config, key) in cases {
            assert!(config.validate().is_err_and(|e| e.contains(key)), "{key}");
        }
    }
}
