//! The policy: classification + request facts + configuration → an ordered chain of models, with reasons.
//!
//! Order of precedence, each step adding one payload-free reason:
//! 1. `x-bivio-route: local|cloud|<model>` when the key allows overrides ([`RouteError::OverrideForbidden`]
//!    otherwise); `auto` or an empty value means "no override".
//! 2. The first matching `[[router.rules]]`.
//! 3. The category's route — or `router.default` when the confidence is below `router.min_confidence`.
//!
//! Then, in this order, the chain is made servable:
//! - unavailable models are dropped; a chain left empty falls back to the other side ("cloud unavailable:
//!   falling back to local", e.g. no `ANTHROPIC_API_KEY`), except an explicit model override, which fails;
//! - **sensitive** requests keep only local models, whatever the override or rule said; with no local model
//!   left the decision fails closed ([`RouteError::SensitiveNoLocal`], a 503). The privacy guard performs its
//!   own final check before any upstream call: this filter is the first line, not the only one;
//! - **long context**: models whose window is smaller than the estimated prompt plus the output room are
//!   dropped; if none is left, the first available model (config order) that holds it is used (said in the reasons), else
//!   [`RouteError::LongContext`] (a 400 with the numbers). Models with an unknown window are assumed to fit.

use serde::Serialize;

use crate::ROUTE_HEADER;
use crate::category::Category;
use crate::classify::Classification;
use crate::config::{RouteSpec, RouteTarget, RouterConfig, Rule, When};
use crate::features::Features;

/// One model the gateway can call, as the router needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    pub name: String,
    /// Runs on premises: may receive sensitive data, belongs to the `local` chain by default.
    pub local: bool,
    /// Context window in tokens, when known.
    pub context_window: Option<u64>,
    /// Callable now (e.g. false for Claude models when no API key is configured).
    pub available: bool,
}

/// Everything `decide` looks at besides the config.
#[derive(Debug, Clone, Copy)]
pub struct RouteInput<'a> {
    pub features: &'a Features,
    pub classification: &'a Classification,
    /// The privacy guard found sensitive data.
    pub sensitive: bool,
    /// The virtual key's name.
    pub key: Option<&'a str>,
    /// The `x-bivio-route` header's value.
    pub override_header: Option<&'a str>,
    /// The key's policy allows `x-bivio-route`.
    pub override_allowed: bool,
    /// The gateway's models, in config order.
    pub models: &'a [ModelInfo],
}

/// Where a request goes and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub category: Category,
    pub confidence: f64,
    /// `local`, `cloud`, or a model name (explicit chains and model overrides): `x-bivio-route`.
    pub route_label: String,
    /// Model names to try, in order (the first is the primary, the rest fallbacks).
    pub chain: Vec<String>,
    /// Short, payload-free reasons, in the order they applied: `x-bivio-reason`.
    pub reasons: Vec<String>,
}

impl Decision {
    /// The reasons joined for a header or a ledger column.
    pub fn reason_line(&self) -> String {
        self.reasons.join("; ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error(
        "the request needs about {needed} tokens of context (prompt plus output room), more than any available model holds{}",
        largest.map(|l| format!(" (largest: {l} tokens)")).unwrap_or_default()
    )]
    LongContext { needed: u64, largest: Option<u64> },
    #[error("no available model for route {route}")]
    NoModel { route: String },
    #[error("this key may not choose its route: the {ROUTE_HEADER} header is not allowed")]
    OverrideForbidden,
    #[error("{ROUTE_HEADER}: {value:?} is neither local, cloud nor a configured model")]
    UnknownOverride { value: String },
    #[error("the request contains sensitive data and no local model is available to take it")]
    SensitiveNoLocal,
}

impl RouteError {
    /// A payload-free label for metrics and the ledger.
    pub fn kind(&self) -> &'static str {
        match self {
            RouteError::LongContext { .. } => "long_context",
            RouteError::NoModel { .. } => "no_model",
            RouteError::OverrideForbidden => "override_forbidden",
            RouteError::UnknownOverride { .. } => "unknown_override",
            RouteError::SensitiveNoLocal => "sensitive_no_local",
        }
    }

    /// The HTTP status the gateway should answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            RouteError::LongContext { .. } | RouteError::UnknownOverride { .. } => 400,
            RouteError::OverrideForbidden => 403,
            RouteError::NoModel { .. } | RouteError::SensitiveNoLocal => 503,
        }
    }
}

/// Decides the route of one request. Pure and cheap (no allocation beyond the result).
pub fn decide(config: &RouterConfig, input: &RouteInput<'_>) -> Result<Decision, RouteError> {
    let classification = input.classification;
    let mut reasons = Vec::new();

    // 1–3: what was asked for.
    let override_spec = parse_override(input)?;
    let explicit_model = matches!(override_spec, Some(RouteSpec::Models(_)));
    let spec = if let Some(spec) = override_spec {
        reasons.push(format!("override: {ROUTE_HEADER} {}", spec_label(&spec)));
        spec
    } else if let Some((index, rule)) = config.rules.iter().enumerate().find(|(_, r)| rule_matches(r, input)) {
        let why = rule.reason.clone().unwrap_or_else(|| describe_when(&rule.when));
        reasons.push(format!("rule {}: {why}", index + 1));
        rule.route.clone()
    } else if classification.confidence < config.min_confidence {
        reasons.push(format!(
            "confidence {:.2} < min_confidence {:.2}: default route {}",
            classification.confidence,
            config.min_confidence,
            spec_label(&config.default)
        ));
        config.default.clone()
    } else {
        let spec = config.category_route(classification.category);
        reasons.push(format!("category {} -> {}", classification.category, spec_label(&spec)));
        spec
    };

    // Availability, with the cross-side fallback.
    let mut chain: Vec<&ModelInfo> = expand(config, &spec, input.models).into_iter().filter(|m| m.available).collect();
    if chain.is_empty() {
        if explicit_model {
            return Err(RouteError::NoModel { route: spec_label(&spec) });
        }
        let wanted_cloud = targets_cloud(&spec, input.models);
        let (other, why) = if wanted_cloud {
            (RouteTarget::Local, "cloud unavailable: falling back to local")
        } else {
            (RouteTarget::Cloud, "local unavailable: falling back to cloud")
        };
        chain = named_chain(config, other, input.models).into_iter().filter(|m| m.available).collect();
        if chain.is_empty() {
            return Err(RouteError::NoModel { route: spec_label(&spec) });
        }
        reasons.push(why.to_owned());
    }

    // Sensitive data never leaves the premises.
    if input.sensitive {
        let before = chain.len();
        chain.retain(|m| m.local);
        if chain.is_empty() {
            // Filtered on `local` again: a misconfigured `local` chain naming a cloud model must not leak.
            chain = named_chain(config, RouteTarget::Local, input.models)
                .into_iter()
                .filter(|m| m.available && m.local)
                .collect();
            if chain.is_empty() {
                return Err(RouteError::SensitiveNoLocal);
            }
            reasons.push("sensitive: kept on local models".to_owned());
        } else if chain.len() < before {
            reasons.push("sensitive: non-local models removed".to_owned());
        }
    }

    // Long context: every model must hold the prompt plus the output room.
    let needed = input.features.estimated_tokens
        + input.features.max_output_tokens.map_or(config.context_reserve_tokens, u64::from);
    let fits = |m: &&ModelInfo| m.context_window.is_none_or(|w| w >= needed);
    let before = chain.len();
    chain.retain(fits);
    if chain.is_empty() {
        let pool: Vec<&ModelInfo> =
            input.models.iter().filter(|m| m.available && (m.local || !input.sensitive)).collect();
        match pool.iter().copied().find(fits) {
            Some(model) => {
                reasons.push(format!(
                    "long context: {needed} tokens exceed the chain's windows; using {} ({})",
                    model.name,
                    window_label(model.context_window)
                ));
                chain = vec![model];
            }
            None => {
                let largest = pool.iter().filter_map(|m| m.context_window).max();
                return Err(RouteError::LongContext { needed, largest });
            }
        }
    } else if chain.len() < before {
        reasons.push(format!("long context: dropped models with windows under {needed} tokens"));
    }

    let route_label = match (&spec, chain.first()) {
        (RouteSpec::Models(_), Some(first)) => first.name.clone(),
        (_, Some(first)) if first.local => RouteTarget::Local.as_str().to_owned(),
        _ => RouteTarget::Cloud.as_str().to_owned(),
    };
    Ok(Decision {
        category: classification.category,
        confidence: classification.confidence,
        route_label,
        chain: chain.iter().map(|m| m.name.clone()).collect(),
        reasons,
    })
}

fn parse_override(input: &RouteInput<'_>) -> Result<Option<RouteSpec>, RouteError> {
    let Some(value) = input.override_header.map(str::trim) else { return Ok(None) };
    if value.is_empty() || value.eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    if !input.override_allowed {
        return Err(RouteError::OverrideForbidden);
    }
    if value.eq_ignore_ascii_case("local") {
        return Ok(Some(RouteSpec::Target(RouteTarget::Local)));
    }
    if value.eq_ignore_ascii_case("cloud") {
        return Ok(Some(RouteSpec::Target(RouteTarget::Cloud)));
    }
    match input.models.iter().find(|m| m.name == value) {
        Some(model) => Ok(Some(RouteSpec::Models(vec![model.name.clone()]))),
        None => Err(RouteError::UnknownOverride { value: value.chars().take(100).collect() }),
    }
}

fn rule_matches(rule: &Rule, input: &RouteInput<'_>) -> bool {
    let w = &rule.when;
    let f = input.features;
    w.category.is_none_or(|c| c == input.classification.category)
        && w.sensitive.is_none_or(|s| s == input.sensitive)
        && w.tokens_over.is_none_or(|n| f.estimated_tokens > n)
        && w.key.as_deref().is_none_or(|k| input.key == Some(k))
        && w.has_images.is_none_or(|b| b == (f.images > 0))
        && w.has_tools.is_none_or(|b| b == f.is_agentic())
        && w.has_code.is_none_or(|b| b == (f.code_blocks > 0))
        && w.structured_output.is_none_or(|b| b == f.structured_output)
        && w.language.as_deref().is_none_or(|l| l == f.language.as_str())
        && w.confidence_below.is_none_or(|c| input.classification.confidence < c)
}

/// A rule's conditions as text, for rules without a `reason`. Key names are configuration, not payload.
fn describe_when(when: &When) -> String {
    let mut parts = Vec::new();
    if let Some(c) = when.category {
        parts.push(format!("category={c}"));
    }
    if let Some(s) = when.sensitive {
        parts.push(format!("sensitive={s}"));
    }
    if let Some(n) = when.tokens_over {
        parts.push(format!("tokens>{n}"));
    }
    if let Some(k) = &when.key {
        parts.push(format!("key={k}"));
    }
    if let Some(b) = when.has_images {
        parts.push(format!("has_images={b}"));
    }
    if let Some(b) = when.has_tools {
        parts.push(format!("has_tools={b}"));
    }
    if let Some(b) = when.has_code {
        parts.push(format!("has_code={b}"));
    }
    if let Some(b) = when.structured_output {
        parts.push(format!("structured_output={b}"));
    }
    if let Some(l) = &when.language {
        parts.push(format!("language={l}"));
    }
    if let Some(c) = when.confidence_below {
        parts.push(format!("confidence<{c}"));
    }
    if parts.is_empty() { "always".to_owned() } else { parts.join(",") }
}

fn spec_label(spec: &RouteSpec) -> String {
    match spec {
        RouteSpec::Target(t) => t.as_str().to_owned(),
        RouteSpec::Models(models) => models.join(","),
    }
}

fn window_label(window: Option<u64>) -> String {
    window.map_or_else(|| "window unknown".to_owned(), |w| format!("window {w}"))
}

/// A named chain: the configured names that exist, or every model of that side.
pub fn named_chain<'m>(config: &RouterConfig, target: RouteTarget, models: &'m [ModelInfo]) -> Vec<&'m ModelInfo> {
    let configured = match target {
        RouteTarget::Local => &config.local,
        RouteTarget::Cloud => &config.cloud,
    };
    if configured.is_empty() {
        let local = target == RouteTarget::Local;
        models.iter().filter(|m| m.local == local).collect()
    } else {
        configured.iter().filter_map(|name| models.iter().find(|m| &m.name == name)).collect()
    }
}

fn expand<'m>(config: &RouterConfig, spec: &RouteSpec, models: &'m [ModelInfo]) -> Vec<&'m ModelInfo> {
    match spec {
        RouteSpec::Target(target) => named_chain(config, *target, models),
        RouteSpec::Models(names) => names.iter().filter_map(|name| models.iter().find(|m| &m.name == name)).collect(),
    }
}

fn targets_cloud(spec: &RouteSpec, models: &[ModelInfo]) -> bool {
    match spec {
        RouteSpec::Target(target) => *target == RouteTarget::Cloud,
        RouteSpec::Models(names) => {
            names.iter().all(|name| models.iter().find(|m| &m.name == name).is_none_or(|m| !m.local))
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
