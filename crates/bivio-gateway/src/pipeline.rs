//! The request path for chat requests, top to bottom:
//!
//! 1. ingress — parse and validate the body into the IR (errors in the client's API shape);
//! 2. plan — the privacy guard's verdict and the router's chain of models (see [`crate::routing`]);
//! 3. for each model of the chain, until one answers:
//!    - upstream body — same API: the client's JSON with only the model replaced (fields bivio does not
//!      model survive untouched); otherwise, or when the guard redacted it, the IR encoded in the provider's
//!      API;
//!    - call — the provider, streaming or not; a failure before the answer began (down, overloaded, slow)
//!      moves on to the next model — never from local to cloud for a sensitive request, whose chain holds
//!      local models only;
//! 4. egress — the answer in the client's API (see [`crate::egress`]), redacted values restored, observed
//!    for accounting. Every response carries `x-bivio-category`, `x-bivio-route` and `x-bivio-reason`.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::response::Response;
use bivio_protocol::ir::ChatRequest;
use bivio_protocol::{Api, ApiError, ErrorKind, anthropic, openai};
use bivio_providers::{UpstreamBody, UpstreamCall};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::AppState;
use crate::config::Model;
use crate::egress::{self, ClientView};
use crate::observe::Observer;
use crate::respond;
use crate::routing::{self, Labels};

/// Client headers passed on to an Anthropic upstream when the client is an Anthropic client: they select
/// API versions and beta features the body may depend on.
const FORWARDED_ANTHROPIC_HEADERS: [&str; 2] = ["anthropic-version", "anthropic-beta"];

pub async fn chat(state: AppState, api: Api, headers: HeaderMap, body: Bytes) -> Response {
    let observer = Observer::start(api, state.ledger.clone(), state.metrics.clone());
    let request_id = observer.request_id().to_owned();
    // The observer travels with the request; whoever ends it (egress, or the error path here) reports.
    let mut observer = Some(observer);
    let mut labels = None;
    let response = match chat_inner(&state, api, &headers, &body, &mut observer, &mut labels).await {
        Ok(response) => response,
        Err(err) => {
            tracing::debug!(request_id, kind = err.kind.label(), "request failed");
            if let Some(observer) = observer.as_mut() {
                observer.failed(err.kind);
            }
            respond::error(api, &err, &request_id)
        }
    };
    match labels {
        Some(labels) => respond::with_route_headers(response, &labels),
        None => response,
    }
}

async fn chat_inner(
    state: &AppState,
    api: Api,
    headers: &HeaderMap,
    body: &[u8],
    observer: &mut Option<Observer>,
    labels_out: &mut Option<Labels>,
) -> Result<Response, ApiError> {
    let request = match api {
        Api::Anthropic => anthropic::parse_request(body)?,
        Api::OpenAi => openai::parse_request(body)?,
    };
    let watch = observer.as_mut().ok_or_else(observed_twice)?;
    watch.requested(&request.model, request.stream);
    let plan = routing::plan(&state.config, &request, headers);
    watch.routed(&plan.labels, &plan.inspection);
    let labels = labels_out.insert(plan.labels.clone());
    let chain = plan.chain?;
    let request_id = watch.request_id().to_owned();

    let mut last_error = None;
    for (index, model) in chain.iter().copied().enumerate() {
        // Cloud models get the redacted copy when the guard asked for redaction; local models the original.
        let redacted = if model.local { None } else { plan.redacted.as_ref() };
        let sent = redacted.map_or(&request, |r| &r.request);
        let (upstream_body, strip_usage_chunk) = upstream_body(api, sent, model, body, redacted.is_none())?;
        let call = UpstreamCall { body: upstream_body, forward_headers: forwarded_headers(api, model, headers) };
        let client = ClientView {
            api,
            // `bivio/auto` answers name the model that served them.
            model: if bivio_router::is_auto(&request.model) { model.name.clone() } else { request.model.clone() },
            request_id: request_id.clone(),
            include_usage: request.include_usage,
            strip_usage_chunk,
            created: unix_now(),
            prompt_estimate: plan.estimated_input_tokens,
            restore: redacted.map(|r| r.redactor.clone()),
        };
        let watch = observer.as_mut().ok_or_else(observed_twice)?;
        watch.upstream_call(model);
        let answer = if request.stream {
            model.provider.stream(call).await.map(Answer::Stream)
        } else {
            model.provider.complete(call).await.map(Answer::Complete)
        };
        match answer {
            Ok(Answer::Stream(upstream)) => {
                let observer = observer.take().ok_or_else(observed_twice)?;
                return Ok(respond::sse(egress::stream(client, upstream, observer), &request_id));
            }
            Ok(Answer::Complete(completion)) => {
                let body = egress::complete(&client, completion, watch)?;
                return Ok(respond::json(StatusCode::OK, body, &request_id));
            }
            Err(err) if worth_another_model(&err) && index + 1 < chain.len() => {
                let reason = format!("fallback: {} failed ({})", model.name, err.kind.label());
                watch.attempt_failed(err.kind);
                watch.reason(reason.clone());
                labels.reasons.push(reason);
            }
            Err(err) => {
                last_error = Some(err);
                break;
            }
        }
    }
    let err = last_error.unwrap_or_else(|| ApiError::new(ErrorKind::Unavailable, "no model to serve the request"));
    Err(if plan.sensitive && worth_another_model(&err) { fail_closed(&err) } else { err })
}

/// The outcome of one upstream call that did not fail.
enum Answer {
    Stream(bivio_providers::EventStream),
    Complete(bivio_providers::Completion),
}

/// Failures where another model may well succeed: the backend is down, overloaded or slow. A request the
/// backend refused as invalid would be refused by the next one too.
fn worth_another_model(err: &ApiError) -> bool {
    matches!(
        err.kind,
        ErrorKind::Api
            | ErrorKind::BadGateway
            | ErrorKind::Unavailable
            | ErrorKind::Timeout
            | ErrorKind::Overloaded
            | ErrorKind::RateLimit
    )
}

/// Every local model failed a sensitive request: say so, and that it went nowhere else.
fn fail_closed(err: &ApiError) -> ApiError {
    ApiError::new(
        ErrorKind::Unavailable,
        format!(
            "the request contains sensitive data and no local model could serve it ({}: {}); \
             it was not sent to a cloud model",
            err.kind.label(),
            err.message
        ),
    )
}

fn observed_twice() -> ApiError {
    ApiError::new(ErrorKind::Api, "request observed twice")
}

/// The body for the provider, and whether bivio added `include_usage` the client did not ask for.
///
/// `passthrough`: whether the client's own bytes may be forwarded (not when the request was redacted).
fn upstream_body(
    api: Api,
    request: &ChatRequest,
    model: &Model,
    raw: &[u8],
    passthrough: bool,
) -> Result<(UpstreamBody, bool), ApiError> {
    match model.provider.wire_api() {
        Some(wire) if wire == api && passthrough => {
            // Same API: the client's JSON with the fewest changes (see each API's `prepare_passthrough`).
            let mut body: Value = serde_json::from_slice(raw).map_err(|err| ApiError::invalid(err.to_string()))?;
            let forced_usage = match api {
                Api::Anthropic => {
                    anthropic::prepare_passthrough(&mut body, &model.upstream_model);
                    false
                }
                Api::OpenAi => openai::prepare_passthrough(&mut body, &model.upstream_model),
            };
            Ok((UpstreamBody::Wire(body), forced_usage))
        }
        Some(Api::Anthropic) => {
            Ok((UpstreamBody::Wire(anthropic::encode_request(request, &model.upstream_model)?), false))
        }
        Some(Api::OpenAi) => Ok((UpstreamBody::Wire(openai::encode_request(request, &model.upstream_model)?), false)),
        None => {
            let request = ChatRequest { model: model.upstream_model.clone(), ..request.clone() };
            Ok((UpstreamBody::Ir(Box::new(request)), false))
        }
    }
}

pub fn forwarded_headers(api: Api, model: &Model, headers: &HeaderMap) -> Vec<(http::HeaderName, http::HeaderValue)> {
    if api != Api::Anthropic || model.provider.wire_api() != Some(Api::Anthropic) {
        return Vec::new();
    }
    FORWARDED_ANTHROPIC_HEADERS
        .iter()
        .filter_map(|name| headers.get(*name).map(|value| (http::HeaderName::from_static(name), value.clone())))
        .collect()
}

/// A request id for responses that are not chat requests (and so have no ledger record).
pub fn new_request_id() -> String {
    format!("req_{}", uuid::Uuid::now_v7().simple())
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
