//! The router's configuration, embedded by the gateway as `[router]`.
//!
//! ```toml
//! [router]
//! min_confidence = 0.5          # below this, `default` applies instead of the category's route
//! default = "local"             # "local" | "cloud" | ["model", …]
//! local = ["qwen-local"]        # the local chain; empty = every local model, in config order
//! cloud = ["sonnet", "haiku"]   # the cloud chain; empty = every non-local model, in config order
//! context_reserve_tokens = 1024 # output room assumed when the request gives no max_tokens
//!
//! [router.categories.writing]
//! route = "cloud"               # override one category's seed default
//!
//! [[router.rules]]              # ordered; the first rule whose `when` matches wins
//! when = { key = "legal-team", category = "critical" }
//! route = ["sonnet"]
//! reason = "legal team: critical work on Sonnet"
//! ```
//!
//! Unknown keys are errors (`deny_unknown_fields`): a typo in a routing rule must stop start-up, not route
//! traffic somewhere unexpected.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::category::Category;

/// `local` or `cloud`: one of the two named chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteTarget {
    Local,
    Cloud,
}

impl RouteTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteTarget::Local => "local",
            RouteTarget::Cloud => "cloud",
        }
    }
}

/// Where a rule, category or default sends a request: a named chain or an explicit list of models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RouteSpec {
    Target(RouteTarget),
    Models(Vec<String>),
}

impl Default for RouteSpec {
    fn default() -> Self {
        RouteSpec::Target(RouteTarget::Local)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryConfig {
    pub route: RouteSpec,
}

/// Conditions of a rule; every condition given must hold (absent ones match anything).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    pub category: Option<Category>,
    pub sensitive: Option<bool>,
    /// Estimated input tokens strictly above this.
    pub tokens_over: Option<u64>,
    /// The virtual key's name.
    pub key: Option<String>,
    pub has_images: Option<bool>,
    /// Tools offered, called or answered in the conversation.
    pub has_tools: Option<bool>,
    pub has_code: Option<bool>,
    pub structured_output: Option<bool>,
    /// `en`, `it` or `unknown`.
    pub language: Option<String>,
    /// The classifier's confidence strictly below this.
    pub confidence_below: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub when: When,
    pub route: RouteSpec,
    /// Shown in `x-bivio-reason` and stored in the ledger; keep it free of secrets.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// Below this classifier confidence, `default` applies instead of the category's route.
    pub min_confidence: f64,
    /// The route for low-confidence classifications.
    pub default: RouteSpec,
    /// Per-category routes; categories not listed keep their seed default ([`Category::default_route`]).
    pub categories: BTreeMap<Category, CategoryConfig>,
    /// The `local` chain, in order. Empty: every available local model, in the order the gateway lists them.
    /// The gateway should reject names of non-local models here; the policy never sends sensitive requests to
    /// them regardless.
    pub local: Vec<String>,
    /// The `cloud` chain, in order. Empty: every available non-local model.
    pub cloud: Vec<String>,
    /// Ordered rules; the first match wins, before categories.
    pub rules: Vec<Rule>,
    /// Output tokens assumed when the request sets no `max_tokens`, for the context-window check.
    pub context_reserve_tokens: u64,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            min_confidence: 0.5,
            default: RouteSpec::default(),
            categories: BTreeMap::new(),
            local: Vec::new(),
            cloud: Vec::new(),
            rules: Vec::new(),
            context_reserve_tokens: 1024,
        }
    }
}

impl RouterConfig {
    /// The route for a category: the configured one, else the seed default.
    pub fn category_route(&self, category: Category) -> RouteSpec {
        self.categories.get(&category).map_or(RouteSpec::Target(category.default_route()), |c| c.route.clone())
    }

    /// Checks what serde cannot: ranges and non-empty lists. Messages name the TOML path under `router`.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(format!("router.min_confidence: {} is not within 0..=1", self.min_confidence));
        }
        let mut specs: Vec<(String, &RouteSpec)> = vec![("router.default".to_owned(), &self.default)];
        for (category, config) in &self.categories {
            specs.push((format!("router.categories.{category}.route"), &config.route));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            specs.push((format!("router.rules[{i}].route"), &rule.route));
            if let Some(lang) = &rule.when.language
                && !matches!(lang.as_str(), "en" | "it" | "unknown")
            {
                return Err(format!("router.rules[{i}].when.language: {lang:?} is not en, it or unknown"));
            }
        }
        for (path, spec) in specs {
            if let RouteSpec::Models(models) = spec
                && models.is_empty()
            {
                return Err(format!("{path}: an empty model list routes nowhere"));
            }
        }
        Ok(())
    }

    /// Every model name the config mentions, for the gateway to check against its `[models]`.
    pub fn referenced_models(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.local.iter().chain(&self.cloud).map(String::as_str).collect();
        let specs = std::iter::once(&self.default)
            .chain(self.categories.values().map(|c| &c.route))
            .chain(self.rules.iter().map(|r| &r.route));
        for spec in specs {
            if let RouteSpec::Models(models) = spec {
                names.extend(models.iter().map(String::as_str));
            }
        }
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_config() {
        let config: RouterConfig = toml::from_str(
            r#"
            min_confidence = 0.6
            default = "cloud"
            local = ["qwen"]
            cloud = ["sonnet"]
            [categories.writing]
            route = "cloud"
            [categories.math]
            route = ["qwen-math"]
            [[rules]]
            when = { category = "critical", sensitive = false, tokens_over = 100, key = "k", has_images = true, has_tools = false }
            route = ["sonnet"]
            reason = "why"
            "#,
        )
        .unwrap();
        assert_eq!(config.default, RouteSpec::Target(RouteTarget::Cloud));
        assert_eq!(config.category_route(Category::Writing), RouteSpec::Target(RouteTarget::Cloud));
        assert_eq!(config.category_route(Category::Math), RouteSpec::Models(vec!["qwen-math".into()]));
        assert_eq!(config.category_route(Category::Agentic), RouteSpec::Target(RouteTarget::Cloud));
        assert_eq!(config.category_route(Category::Chat), RouteSpec::Target(RouteTarget::Local));
        assert_eq!(config.rules[0].when.category, Some(Category::Critical));
        assert_eq!(config.referenced_models(), vec!["qwen", "qwen-math", "sonnet"]);
        config.validate().unwrap();
    }

    #[test]
    fn defaults_and_unknown_keys() {
        let config: RouterConfig = toml::from_str("").unwrap();
        assert_eq!(config, RouterConfig::default());
        assert!((config.min_confidence - 0.5).abs() < f64::EPSILON);
        assert!(toml::from_str::<RouterConfig>("min_confidense = 0.5").is_err());
        assert!(toml::from_str::<RouterConfig>("[categories.poetry]\nroute = \"local\"").is_err());
        assert!(toml::from_str::<RouterConfig>("[[rules]]\nwhen = { categry = \"chat\" }\nroute = \"local\"").is_err());
        assert!(toml::from_str::<RouterConfig>("default = \"elsewhere\"").is_err());
    }

    #[test]
    fn validation() {
        let config = RouterConfig { min_confidence: 1.5, ..Default::default() };
        assert!(config.validate().unwrap_err().contains("router.min_confidence"));
        let config = RouterConfig { default: RouteSpec::Models(vec![]), ..Default::default() };
        assert!(config.validate().unwrap_err().contains("router.default"));
    }
}
