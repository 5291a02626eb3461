//! Routing, shared state, request intake (recording, auth) and the `/_mock` control API.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::recorder::{RecordedCall, Recorder};
use crate::script::Script;
use crate::{anthropic, openai};

/// Big enough for image-heavy requests; the real APIs' limits are not what these tests probe.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// State shared by all handlers and the [`crate::MockUpstream`] handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub recorder: Recorder,
    scripts: Mutex<HashMap<String, Script>>,
    require_key: Option<String>,
    next_id: AtomicU64,
    /// Distinguishes ids of mocks started in the same second by different processes.
    id_seed: u64,
}

pub(crate) type App = Arc<Shared>;

impl Shared {
    pub fn new(require_key: Option<String>) -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let seed = u64::try_from(nanos % (1 << 40)).unwrap_or(0) ^ u64::from(std::process::id());
        Shared {
            recorder: Recorder::default(),
            scripts: Mutex::new(HashMap::new()),
            require_key,
            next_id: AtomicU64::new(1),
            id_seed: seed,
        }
    }

    /// Scripts survive a panicking test thread; take over a poisoned lock.
    pub fn scripts(&self) -> MutexGuard<'_, HashMap<String, Script>> {
        self.scripts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh id like `msg_0a1b…`: only `[0-9a-f]` after the prefix, so it satisfies Anthropic's
    /// `^[a-zA-Z0-9_-]+$` id rule whatever the prefix.
    pub fn id(&self, prefix: &str) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}01{:010x}{n:012x}", self.id_seed)
    }

    pub fn reset(&self) {
        self.scripts().clear();
        self.recorder.reset();
    }

    /// With `require_key`, either `x-api-key: KEY` or `Authorization: Bearer KEY` must match
    /// (both APIs' clients are accepted on both endpoints, as bivio's backends may use either).
    pub fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(key) = &self.require_key else {
            return true;
        };
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        header("x-api-key") == Some(key.as_str())
            || header("authorization").and_then(|v| v.strip_prefix("Bearer ")) == Some(key.as_str())
    }

    /// Records the call and returns its JSON body, if it has one.
    pub fn intake(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Option<Value> {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let recorded_body = match &parsed {
            Some(value) => value.clone(),
            None if body.is_empty() => Value::Null,
            None => Value::String(String::from_utf8_lossy(body).into_owned()),
        };
        self.recorder.record(RecordedCall {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect(),
            body: recorded_body,
            body_is_json: parsed.is_some(),
        });
        parsed
    }
}

/// Unix seconds, for OpenAI's `created`.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Anthropic clients always send `anthropic-version`; that is how `/v1/models` and unknown paths
/// decide which API's shape to answer in.
pub(crate) fn is_anthropic_client(headers: &HeaderMap) -> bool {
    headers.contains_key("anthropic-version")
}

pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/v1/messages", post(anthropic::messages).fallback(unknown))
        .route("/v1/messages/count_tokens", post(anthropic::count_tokens).fallback(unknown))
        .route("/v1/chat/completions", post(openai::chat_completions).fallback(unknown))
        .route("/v1/models", get(models).fallback(unknown))
        .route("/_mock/scripts", post(add_script))
        .route("/_mock/calls", get(calls))
        .route("/_mock/stats", get(stats))
        .route("/_mock/reset", post(reset))
        .fallback(unknown)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

async fn models(State(app): State<App>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    app.intake(&method, &uri, &headers, &body);
    let anthropic = is_anthropic_client(&headers);
    if !app.authorized(&headers) {
        return if anthropic {
            anthropic::error_response(401, None, &app.id("req_"), None)
        } else {
            openai::error_response(401, None, None)
        };
    }
    if anthropic { anthropic::models(&app.id("req_")) } else { openai::models() }
}

/// Wrong paths and methods are recorded too, so a gateway building a bad URL shows up in `calls`.
async fn unknown(State(app): State<App>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    app.intake(&method, &uri, &headers, &body);
    let message = format!("mock upstream: no route for {method} {}", uri.path());
    if is_anthropic_client(&headers) {
        anthropic::error_response(404, Some(&message), &app.id("req_"), None)
    } else {
        openai::error_response(404, Some(&message), None)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddScript {
    key: String,
    script: Script,
}

/// The raw body is parsed by hand so a malformed script gets serde's precise message back.
async fn add_script(State(app): State<App>, body: Bytes) -> Response {
    match serde_json::from_slice::<AddScript>(&body) {
        Ok(add) => {
            app.scripts().insert(add.key, add.script);
            Json(json!({"ok": true})).into_response()
        }
        Err(err) => (StatusCode::BAD_REQUEST, Json(json!({"ok": false, "error": err.to_string()}))).into_response(),
    }
}

async fn calls(State(app): State<App>) -> Response {
    Json(app.recorder.calls()).into_response()
}

async fn stats(State(app): State<App>) -> Response {
    Json(app.recorder.stats()).into_response()
}

async fn reset(State(app): State<App>) -> Response {
    app.reset();
    Json(json!({"ok": true})).into_response()
}
