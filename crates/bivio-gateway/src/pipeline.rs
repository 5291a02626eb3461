//! The request path for chat requests, top to bottom:
//!
//! 1. ingress — parse and validate the body into the IR (errors in the client's API shape);
//! 2. resolve — the model the client named → its provider and upstream model name;
//! 3. upstream body — same API: the client's JSON with only the model replaced (fields bivio does not model
//!    survive untouched); otherwise the IR encoded in the provider's API;
//! 4. call — the provider, streaming or not;
//! 5. egress — the answer in the client's API (see [`crate::egress`]), observed for accounting.

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

/// Client headers passed on to an Anthropic upstream when the client is an Anthropic client: they select
/// API versions and beta features the body may depend on.
const FORWARDED_ANTHROPIC_HEADERS: [&str; 2] = ["anthropic-version", "anthropic-beta"];

pub async fn chat(state: AppState, api: Api, headers: HeaderMap, body: Bytes) -> Response {
    let observer = Observer::start(api, state.ledger.clone(), state.metrics.clone());
    let request_id = observer.request_id().to_owned();
    // The observer travels with the request; whoever ends it (egress, or the error path here) reports.
    let mut observer = Some(observer);
    match chat_inner(&state, api, &headers, &body, &mut observer).await {
        Ok(response) => response,
        Err(err) => {
            tracing::debug!(request_id, kind = err.kind.label(), "request failed");
            if let Some(observer) = observer.as_mut() {
                observer.failed(err.kind);
            }
            respond::error(api, &err, &request_id)
        }
    }
}

async fn chat_inner(
    state: &AppState,
    api: Api,
    headers: &HeaderMap,
    body: &[u8],
    observer: &mut Option<Observer>,
) -> Result<Response, ApiError> {
    let request = match api {
        Api::Anthropic => anthropic::parse_request(body)?,
        Api::OpenAi => openai::parse_request(body)?,
    };
    let watch = observer.as_mut().ok_or_else(|| ApiError::new(ErrorKind::Api, "request observed twice"))?;
    watch.requested(&request.model, request.stream);
    let model = resolve(state, &request.model)?;
    let include_usage = api == Api::OpenAi && wants_usage(body);
    let (upstream_body, strip_usage_chunk) = upstream_body(api, &request, model, body)?;
    let call = UpstreamCall { body: upstream_body, forward_headers: forwarded_headers(api, model, headers) };
    let request_id = watch.request_id().to_owned();
    let client = ClientView {
        api,
        model: request.model.clone(),
        request_id: request_id.clone(),
        include_usage,
        strip_usage_chunk,
        created: unix_now(),
        prompt_estimate: request.estimated_input_tokens(),
    };

    watch.upstream_call(model);
    if request.stream {
        let upstream = model.provider.stream(call).await?;
        let Some(observer) = observer.take() else {
            return Err(ApiError::new(ErrorKind::Api, "request observed twice"));
        };
        return Ok(respond::sse(egress::stream(client, upstream, observer), &request_id));
    }
    let completion = model.provider.complete(call).await?;
    let watch = observer.as_mut().ok_or_else(|| ApiError::new(ErrorKind::Api, "request observed twice"))?;
    let body = egress::complete(&client, completion, watch)?;
    Ok(respond::json(StatusCode::OK, body, &request_id))
}

pub fn resolve<'a>(state: &'a AppState, name: &str) -> Result<&'a Model, ApiError> {
    state.config.models.get(name).ok_or_else(|| {
        ApiError::new(
            ErrorKind::NotFound,
            format!("model `{name}` is not configured; GET /v1/models lists the available models"),
        )
    })
}

/// The body for the provider, and whether bivio added `include_usage` the client did not ask for.
fn upstream_body(api: Api, request: &ChatRequest, model: &Model, raw: &[u8]) -> Result<(UpstreamBody, bool), ApiError> {
    match model.provider.wire_api() {
        Some(wire) if wire == api => {
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

fn wants_usage(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Options {
        stream_options: Option<StreamOptions>,
    }
    #[derive(serde::Deserialize)]
    struct StreamOptions {
        include_usage: Option<bool>,
    }
    serde_json::from_slice::<Options>(body)
        .ok()
        .and_then(|o| o.stream_options)
        .and_then(|s| s.include_usage)
        .unwrap_or(false)
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
