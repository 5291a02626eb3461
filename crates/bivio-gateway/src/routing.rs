//! Where a request goes, and why: the privacy guard's verdict first, then the router.
//!
//! - The guard scans the request. `block` refuses it (403); `local_only` makes it *sensitive*: only local
//!   models may take it, whatever the model name, rule or override says; `redact` lets cloud models see a
//!   redacted copy (made here, once) — unless redaction cannot be complete, which makes it sensitive too.
//! - `bivio/auto`, or any request with an `x-bivio-route` header, is routed by the policy
//!   ([`bivio_router::decide`]). A concrete model name is served by that model — except a cloud model for a
//!   sensitive request, which is replaced by the local chain (fail closed: 503 when there is none).
//! - The category is classified for every request, so the ledger and `x-bivio-category` always say what
//!   kind of work it was.
//!
//! The result is a [`Plan`]: labels for the response headers and the ledger, and the chain of models to try.

use bivio_guard::GuardDecision;
use bivio_protocol::ir::ChatRequest;
use bivio_protocol::{ApiError, ErrorKind};
use bivio_router::{
    Features, ROUTE_HEADER, RouteError, RouteInput, RouteTarget, classify, decide, is_auto, named_chain,
};
use http::HeaderMap;

use crate::config::{Config, Model};
use crate::privacy::{Inspection, Redacted};

/// What the response headers and the ledger say about the routing of one request.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    /// The task category (`x-bivio-category`).
    pub category: String,
    /// `local`, `cloud`, a model name, or `refused` (`x-bivio-route`).
    pub route: String,
    /// Payload-free reasons, in the order they applied (`x-bivio-reason`).
    pub reasons: Vec<String>,
}

/// The routing of one request.
#[derive(Debug)]
pub struct Plan<'a> {
    pub labels: Labels,
    pub inspection: Inspection,
    /// Only local models may see this request.
    pub sensitive: bool,
    /// The copy cloud models get when the guard's decision is `redact`.
    pub redacted: Option<Redacted>,
    /// Models to try in order, or why there are none.
    pub chain: Result<Vec<&'a Model>, ApiError>,
    /// `ChatRequest::estimated_input_tokens`, computed once for the router's features and reused by egress.
    pub estimated_input_tokens: u64,
}

pub fn plan<'a>(config: &'a Config, request: &ChatRequest, headers: &HeaderMap) -> Plan<'a> {
    let inspection = config.guard.inspect(request);
    let features = Features::extract(request);
    let estimated_input_tokens = features.estimated_tokens;
    let classification = classify(request, &features);
    let mut labels = Labels { category: classification.category.as_str().to_owned(), ..Labels::default() };
    labels.reasons.extend(inspection.reason());

    let mut sensitive = inspection.local_only();
    let mut redacted = None;
    match &inspection.decision {
        GuardDecision::Block { .. } => {
            labels.route = "refused".to_owned();
            let err = ApiError::new(
                ErrorKind::Permission,
                format!(
                    "the privacy policy blocks this request: it contains {}",
                    inspection.reason().unwrap_or_else(|| "blocked data".to_owned())
                ),
            );
            return Plan { labels, inspection, sensitive: true, redacted, chain: Err(err), estimated_input_tokens };
        }
        GuardDecision::Redact { .. } => match config.guard.redact(request) {
            Some(copy) => redacted = Some(copy),
            None => {
                sensitive = true;
                labels.reasons.push("guard: a signed thinking block cannot be redacted -> local_only".to_owned());
            }
        },
        GuardDecision::Allow | GuardDecision::LocalOnly { .. } => {}
    }

    let override_header = match headers.get(ROUTE_HEADER).map(|value| value.to_str()) {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => {
            labels.route = "refused".to_owned();
            let err = ApiError::invalid(format!("{ROUTE_HEADER}: the value is not visible ASCII"));
            return Plan { labels, inspection, sensitive, redacted, chain: Err(err), estimated_input_tokens };
        }
    };

    // `auto` (or an empty value) in the header means "no override", as in the router.
    let overrides = override_header.is_some_and(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("auto"));
    let chain = if is_auto(&request.model) || overrides {
        let input = RouteInput {
            features: &features,
            classification: &classification,
            sensitive,
            key: None,
            override_header,
            // No virtual keys yet: every client may choose its route.
            override_allowed: true,
            models: &config.route_models,
        };
        match decide(&config.router, &input) {
            Ok(decision) => {
                labels.route = decision.route_label;
                labels.reasons.extend(decision.reasons);
                Ok(decision.chain.iter().filter_map(|name| config.models.get(name)).collect())
            }
            Err(err) => {
                labels.route = "refused".to_owned();
                Err(route_error(&err))
            }
        }
    } else {
        named(config, &request.model, sensitive, &mut labels)
    };
    Plan { labels, inspection, sensitive, redacted, chain, estimated_input_tokens }
}

/// A concrete model name: that model, unless it is a cloud model and the request is sensitive.
fn named<'a>(config: &'a Config, name: &str, sensitive: bool, labels: &mut Labels) -> Result<Vec<&'a Model>, ApiError> {
    let Some(model) = config.models.get(name) else {
        labels.route = "refused".to_owned();
        return Err(ApiError::new(
            ErrorKind::NotFound,
            format!("model `{name}` is not configured; GET /v1/models lists the available models"),
        ));
    };
    labels.reasons.push(format!("model {name} requested"));
    if let Some(why) = &model.unavailable {
        // Zero-config without an API key: the work still gets done, locally, and the client is told.
        let chain = local_chain(config);
        if chain.is_empty() {
            labels.route = "refused".to_owned();
            return Err(ApiError::new(ErrorKind::Unavailable, format!("model `{name}` is unavailable: {why}")));
        }
        labels.route = "local".to_owned();
        labels.reasons.push(format!("{name} unavailable ({why}): falling back to local"));
        return Ok(chain);
    }
    if !sensitive || model.local {
        labels.route = if model.local { "local" } else { "cloud" }.to_owned();
        return Ok(vec![model]);
    }
    let chain = local_chain(config);
    if chain.is_empty() {
        labels.route = "refused".to_owned();
        return Err(route_error(&RouteError::SensitiveNoLocal));
    }
    labels.route = "local".to_owned();
    labels.reasons.push(format!("sensitive: {name} is a cloud model; kept on local models"));
    Ok(chain)
}

/// The router's `local` chain, available local models only (as the policy filters sensitive chains).
fn local_chain(config: &Config) -> Vec<&Model> {
    named_chain(&config.router, RouteTarget::Local, &config.route_models)
        .into_iter()
        .filter(|m| m.local && m.available)
        .filter_map(|m| config.models.get(&m.name))
        .collect()
}

fn route_error(err: &RouteError) -> ApiError {
    let kind = match err.http_status() {
        400 => ErrorKind::InvalidRequest,
        403 => ErrorKind::Permission,
        _ => ErrorKind::Unavailable,
    };
    ApiError::new(kind, err.to_string())
}
