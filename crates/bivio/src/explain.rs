//! `bivio route explain FILE`: the routing decision for a request body, computed exactly as the gateway
//! would (same guard, same router, same config) but without calling any model.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context, anyhow};
use bivio_gateway::routing;
use bivio_protocol::{Api, anthropic, openai};
use bivio_router::{Decision, Features, classify, explain as render};
use serde_json::Value;

use crate::{Failure, config_failure, load_or_default, output, runtime_failure};

pub fn explain(file: &Path, config: Option<&Path>, api: Option<&str>) -> Result<(), Failure> {
    let body = read(file).map_err(config_failure)?;
    let api = match api {
        Some("anthropic") => Api::Anthropic,
        Some("openai") => Api::OpenAi,
        Some(other) => return Err(config_failure(anyhow!("--api: `{other}` is neither anthropic nor openai"))),
        None => guess_api(&body),
    };
    let request = match api {
        Api::Anthropic => anthropic::parse_request(&body),
        Api::OpenAi => openai::parse_request(&body),
    }
    .map_err(|err| {
        config_failure(anyhow!("{} is not a valid {} request: {}", file.display(), api.label(), err.message))
    })?;
    let config = load_or_default(config)?;

    let plan = routing::plan(&config, &request, &http::HeaderMap::new());
    let features = Features::extract(&request);
    let classification = classify(&request, &features);
    output::line(&format!(
        "request:    {} API, model {}, {} message(s)",
        api.label(),
        request.model,
        request.messages.len()
    ));
    let guard = plan.inspection.reason().unwrap_or_else(|| "guard: nothing sensitive found".to_owned());
    output::line(&format!("{guard}{}", if plan.redacted.is_some() { " (cloud models get placeholders)" } else { "" }));
    match &plan.chain {
        Ok(chain) => {
            let decision = Decision {
                category: classification.category,
                confidence: classification.confidence,
                route_label: plan.labels.route.clone(),
                chain: chain.iter().map(|m| m.name.clone()).collect(),
                reasons: plan.labels.reasons.clone(),
            };
            output::line(render(&features, &classification, &Ok(decision)).trim_end());
        }
        Err(err) => {
            output::line(&format!("refused:    HTTP {} ({}): {}", err.kind.status(), err.kind.label(), err.message));
            output::line(&format!("reasons:    {}", plan.labels.reasons.join("; ")));
        }
    }
    if plan.chain.is_err() { Err(runtime_failure(anyhow!("the gateway would refuse this request"))) } else { Ok(()) }
}

fn read(file: &Path) -> anyhow::Result<Vec<u8>> {
    if file == Path::new("-") {
        let mut body = Vec::new();
        std::io::stdin().read_to_end(&mut body).context("cannot read stdin")?;
        return Ok(body);
    }
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

/// OpenAI bodies put system prompts and tool results in messages with their own roles; Anthropic bodies
/// have a top-level `system` and `max_tokens`. Ambiguous bodies (one user message) read the same either way.
fn guess_api(body: &[u8]) -> Api {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return Api::Anthropic };
    let openai_roles = value["messages"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| matches!(m["role"].as_str(), Some("system" | "developer" | "tool"))));
    let anthropic_shape = value.get("system").is_some() || value.get("max_tokens").is_some();
    if openai_roles || !anthropic_shape { Api::OpenAi } else { Api::Anthropic }
}
