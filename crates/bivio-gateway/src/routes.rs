//! Routes. Each handler extracts, calls the pipeline, and returns; errors are rendered in the API shape of
//! the route (or, for unknown routes, the shape the request's headers suggest).

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use bivio_protocol::{Api, ApiError, ErrorKind, anthropic};
use bivio_router::AUTO_MODEL;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::pipeline::{self, new_request_id};
use crate::routing;
use crate::{AppState, respond};

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn messages(State(state): State<AppState>, request: Request) -> Response {
    let (headers, body) = match read_body(&state, Api::Anthropic, request).await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    pipeline::chat(state, Api::Anthropic, headers, body).await
}

async fn chat_completions(State(state): State<AppState>, request: Request) -> Response {
    let (headers, body) = match read_body(&state, Api::OpenAi, request).await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    pipeline::chat(state, Api::OpenAi, headers, body).await
}

/// The body, refused with a 413 in the API's shape when it exceeds `server.max_body_bytes`.
async fn read_body(state: &AppState, api: Api, request: Request) -> Result<(HeaderMap, Bytes), Response> {
    let (parts, body) = request.into_parts();
    let limit = state.config.max_body_bytes;
    let too_large = || {
        let err = ApiError::new(ErrorKind::RequestTooLarge, format!("the request body exceeds {limit} bytes"));
        respond::error(api, &err, &new_request_id())
    };
    if parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|len| len > limit)
    {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok((parts.headers, bytes)),
        Err(err) => {
            let over =
                std::error::Error::source(&err).is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if over {
                Err(too_large())
            } else {
                let err = ApiError::invalid("the request body could not be read");
                Err(respond::error(api, &err, &new_request_id()))
            }
        }
    }
}

/// `POST /v1/messages/count_tokens`: Claude counts for Claude models and the embedded model counts exactly
/// with its tokenizer; other backends get an estimate
/// ([`bivio_protocol::ir::ChatRequest::estimated_input_tokens`]), since OpenAI-compatible servers have no
/// standard counting endpoint.
async fn count_tokens(State(state): State<AppState>, request: Request) -> Response {
    let request_id = new_request_id();
    let (headers, body) = match read_body(&state, Api::Anthropic, request).await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    match count_tokens_inner(&state, &headers, &body).await {
        Ok(tokens) => {
            respond::json(StatusCode::OK, Bytes::from(json!({ "input_tokens": tokens }).to_string()), &request_id)
        }
        Err(err) => respond::error(Api::Anthropic, &err, &request_id),
    }
}

async fn count_tokens_inner(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<u64, ApiError> {
    let mut value: Value =
        serde_json::from_slice(body).map_err(|err| ApiError::invalid(format!("the body is not valid JSON: {err}")))?;
    let Some(object) = value.as_object_mut() else {
        return Err(ApiError::invalid("the body does not match the API schema: expected a JSON object"));
    };
    // A count request is a Messages request without `max_tokens`: validate it as one.
    let had_max_tokens = object.contains_key("max_tokens");
    object.entry("max_tokens").or_insert(json!(1));
    let request = anthropic::parse_request(value.to_string().as_bytes())?;
    // Counted by the model the request would go to. A cloud model only counts what the guard lets it see
    // as is: anything sensitive is estimated here instead of being sent for counting.
    let plan = routing::plan(&state.config, &request, headers);
    let estimate = plan.estimated_input_tokens;
    let model = *plan.chain?.first().ok_or_else(|| ApiError::new(ErrorKind::Unavailable, "no model to count with"))?;
    let may_see = model.local || plan.inspection.decision == bivio_guard::GuardDecision::Allow;
    if may_see {
        if let Some(object) = value.as_object_mut() {
            if !had_max_tokens {
                object.remove("max_tokens");
            }
            object.insert("model".into(), json!(model.upstream_model));
        }
        let forward = pipeline::forwarded_headers(Api::Anthropic, model, headers);
        if let Some(tokens) = model.provider.count_tokens(value, forward).await? {
            return Ok(tokens);
        }
    }
    Ok(estimate.max(1))
}

/// `GET /v1/models`: Anthropic's shape when the client sends `anthropic-version`, OpenAI's otherwise.
async fn models(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let request_id = new_request_id();
    // `bivio/auto` first: the name that lets the policy choose.
    let auto = (AUTO_MODEL, "bivio (routed by policy)", "bivio");
    let models = std::iter::once(auto).chain(
        state.config.models.values().map(|m| (m.name.as_str(), m.display_name.as_str(), m.provider_name.as_str())),
    );
    let body = if headers.contains_key("anthropic-version") {
        let data: Vec<Value> = models
            .map(|(id, display_name, _)| json!({ "type": "model", "id": id, "display_name": display_name, "created_at": "2025-01-01T00:00:00Z" }))
            .collect();
        let first_id = data.first().map(|m| m["id"].clone());
        let last_id = data.last().map(|m| m["id"].clone());
        json!({ "data": data, "has_more": false, "first_id": first_id, "last_id": last_id })
    } else {
        let data: Vec<Value> = models
            .map(|(id, _, owner)| json!({ "id": id, "object": "model", "created": 0, "owned_by": owner }))
            .collect();
        json!({ "object": "list", "data": data })
    };
    respond::json(StatusCode::OK, Bytes::from(body.to_string()), &request_id)
}

/// `GET /metrics`: Prometheus text exposition.
async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = Response::new(Body::from(state.metrics.render(&state.ledger)));
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

async fn healthz() -> Response {
    respond::json(StatusCode::OK, Bytes::from_static(b"{\"status\":\"ok\"}"), &new_request_id())
}

/// Ready once the config is loaded and at least one model is routable.
async fn readyz(State(state): State<AppState>) -> Response {
    let (status, body) = if state.config.models.is_empty() {
        (StatusCode::SERVICE_UNAVAILABLE, json!({ "status": "no models configured" }))
    } else {
        (StatusCode::OK, json!({ "status": "ready", "models": state.config.models.len() }))
    };
    respond::json(status, Bytes::from(body.to_string()), &new_request_id())
}

async fn not_found(request: Request<Body>) -> Response {
    let api = respond::guess_api(request.headers(), request.uri().path());
    let err = ApiError::new(ErrorKind::NotFound, format!("no route for {} {}", request.method(), request.uri().path()));
    respond::error(api, &err, &new_request_id())
}

async fn method_not_allowed(request: Request<Body>) -> Response {
    let api = respond::guess_api(request.headers(), request.uri().path());
    let err = ApiError::new(
        ErrorKind::InvalidRequest,
        format!("method {} is not allowed on {}", request.method(), request.uri().path()),
    );
    let mut response = respond::error(api, &err, &new_request_id());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
