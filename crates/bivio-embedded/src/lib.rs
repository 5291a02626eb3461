//! An in-process model: llama.cpp (through the `llama-cpp-2` crate) serving the IR directly.
//!
//! The gateway hands [`EmbeddedProvider`] the IR (its `wire_api()` is `None`) and gets IR events back, so
//! both client APIs are served by the same path, and egress re-encodes as it does for any translated
//! backend. Any GGUF that llama.cpp loads works; `pull` fetches bivio's default small model.
//!
//! How a request runs:
//! 1. on the caller's task: IR → text turns → the model's chat template → tokens; validated against the
//!    context window (a prompt that does not fit is the client's error, said with both numbers);
//! 2. admission into a fixed set of slots with a bounded queue (`slots.rs`): beyond it, `Overloaded` at once;
//! 3. a slot thread (`worker.rs`) decodes and samples, sending `StreamEvent`s through a channel whose
//!    receiver is the returned stream. Dropping the stream is the cancellation signal.
//!
//! Invariants:
//! - Events follow the IR's order: `MessageStart` (usage: prompt tokens) → text block → `MessageDelta`
//!   (stop reason, exact usage) → `MessageStop`, or an `Error` event if llama.cpp fails mid-way.
//! - `usage.output_tokens` is the number of tokens sampled (end-of-generation tokens excluded) and never
//!   exceeds `max_tokens`.
//! - No prompt or answer text is logged.

mod config;
pub mod pull;
mod sampling;
mod slots;
mod stop;
mod template;
mod utf8;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bivio_protocol::ir::{Block, BlockDelta, BlockStart, ChatRequest, ChatResponse, StreamEvent, ToolChoice, Usage};
use bivio_protocol::{Api, ApiError, ErrorKind};
use bivio_providers::{Completion, EventStream, Provider, UpstreamBody, UpstreamCall};
use futures::StreamExt;
use futures::future::BoxFuture;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::mpsc;

pub use config::{EmbeddedConfig, MIN_CONTEXT_TOKENS};
pub use slots::EmbeddedStats;
pub use template::TemplateSource;

use sampling::Sampling;
use slots::{Job, SlotPool};
use template::{ChatTemplate, Conversation};
use worker::SlotSettings;

/// Events buffered between a slot and its client before generation waits for the client.
const EVENT_BUFFER: usize = 256;

/// What was loaded, for logs and status output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    pub path: PathBuf,
    /// The context window each slot actually has (the configured one, capped at the model's).
    pub context_tokens: u32,
    /// The context the model was trained with.
    pub trained_context_tokens: u32,
    pub parameters: u64,
    pub size_bytes: u64,
    pub template: TemplateSource,
    pub threads: u32,
    pub slots: usize,
    pub queue: usize,
}

/// llama.cpp running in this process, serving one GGUF.
pub struct EmbeddedProvider {
    name: String,
    model: Arc<LlamaModel>,
    template: ChatTemplate,
    pool: Arc<SlotPool>,
    info: ModelInfo,
    default_max_tokens: u32,
    /// The model name reported when a request carries none.
    label: String,
}

impl std::fmt::Debug for EmbeddedProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedProvider").field("name", &self.name).field("info", &self.info).finish()
    }
}

/// llama.cpp's backend is process-global and may be initialised once: every provider shares this one.
fn backend() -> Result<&'static LlamaBackend, ApiError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp's own log lines (many at model load) go to tracing, not straight to stderr.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|err| load_error(format!("llama.cpp could not start: {err}")))
}

fn load_error(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Api, message)
}

impl EmbeddedProvider {
    /// Loads the model and starts the slot threads. Blocking (about half a second for a small model):
    /// call it at startup or from `spawn_blocking`. Errors name the config key to change.
    pub fn load(name: impl Into<String>, config: &EmbeddedConfig) -> Result<EmbeddedProvider, ApiError> {
        let name = name.into();
        config.validate().map_err(load_error)?;
        let resolved = pull::resolve_model_path(&config.model_path);
        let path = &resolved;
        if !path.is_file() {
            return Err(load_error(format!(
                "`model_path` {} does not exist (the default model is fetched by `bivio model pull default`)",
                path.display()
            )));
        }
        let backend = backend()?;
        let started = std::time::Instant::now();
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|err| load_error(format!("`model_path` {} is not a loadable GGUF: {err}", path.display())))?;
        // The default model is a base model without a template; its family's built-in one is known.
        let known = path
            .file_name()
            .is_some_and(|name| name == pull::DEFAULT_MODEL.file_name)
            .then_some(pull::DEFAULT_MODEL_TEMPLATE);
        let template = ChatTemplate::resolve(&model, config.chat_template.as_deref(), known).map_err(load_error)?;
        let trained = model.n_ctx_train();
        let context_tokens =
            if trained >= MIN_CONTEXT_TOKENS { config.context_tokens.min(trained) } else { config.context_tokens };
        let info = ModelInfo {
            path: path.clone(),
            context_tokens,
            trained_context_tokens: trained,
            parameters: model.n_params(),
            size_bytes: model.size(),
            template: template.source.clone(),
            threads: config.threads,
            slots: config.slots,
            queue: config.queue,
        };
        let model = Arc::new(model);
        let pool = Arc::new(SlotPool::new(config.slots, config.queue));
        let settings = SlotSettings { context_tokens, threads: config.threads };
        for index in 0..config.slots {
            if let Err(message) = worker::spawn_slot(index, backend, model.clone(), pool.clone(), settings) {
                pool.shutdown();
                return Err(load_error(format!("{message} (`context_tokens` = {context_tokens}, slot {index})")));
            }
        }
        tracing::info!(
            provider = %name,
            path = %path.display(),
            context_tokens,
            slots = config.slots,
            threads = config.threads,
            template = %template.describe(),
            load_ms = started.elapsed().as_millis() as u64,
            "local model loaded"
        );
        let label = path.file_stem().map_or_else(|| name.clone(), |stem| stem.to_string_lossy().into_owned());
        Ok(EmbeddedProvider { name, model, template, pool, info, default_max_tokens: config.default_max_tokens, label })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Load and history counters (busy slots, queue depth, completed / cancelled generations, …).
    pub fn stats(&self) -> EmbeddedStats {
        self.pool.stats()
    }

    /// The prompt's tokens, exactly as a generation would see them.
    pub fn prompt_tokens(&self, request: &ChatRequest) -> Result<Vec<LlamaToken>, ApiError> {
        let conversation = Conversation::from_request(request)?;
        let text = self.template.render(&self.model, &conversation)?;
        let mut tokens = self.model.vocab().tokenize(text.as_bytes(), true, true);
        // A template that writes BOS itself, plus the tokenizer's own: keep one.
        let bos = self.model.vocab().bos();
        if tokens.len() >= 2 && tokens[0] == bos && tokens[1] == bos {
            tokens.remove(0);
        }
        Ok(tokens)
    }

    /// Validates, tokenises and admits a request; the receiver carries its events.
    fn start(&self, call: UpstreamCall) -> Result<mpsc::Receiver<StreamEvent>, ApiError> {
        let UpstreamBody::Ir(request) = call.body else {
            return Err(ApiError::new(ErrorKind::Api, "the embedded provider takes IR requests, not wire bodies"));
        };
        if request.n.is_some_and(|n| n != 1) {
            return Err(ApiError::invalid("n: this local model returns exactly one choice"));
        }
        // Tools are not offered to the model (see `template.rs`): with `auto` a text answer is a valid one, but
        // a request that requires a tool call cannot be honoured.
        if matches!(request.tool_choice, Some(ToolChoice::Any | ToolChoice::Tool(_))) {
            return Err(ApiError::invalid(
                "tool_choice: this local model does not call tools; route tool-using requests to another model",
            ));
        }
        let sampling = Sampling::from_request(&request)?;
        let prompt = self.prompt_tokens(&request)?;
        if prompt.is_empty() {
            return Err(ApiError::invalid("the request has no text for the model to continue"));
        }
        let window = self.info.context_tokens as usize;
        if prompt.len() >= window {
            return Err(ApiError::invalid(format!(
                "the prompt is {} tokens, but this model's context window is {window} tokens (prompt and answer \
                 together; `context_tokens` in the provider's config)",
                prompt.len()
            )));
        }
        let (events, receiver) = mpsc::channel(EVENT_BUFFER);
        let model = if request.model.is_empty() { self.label.clone() } else { request.model.clone() };
        self.pool.submit(Job {
            id: format!("msg_{}", uuid::Uuid::now_v7().simple()),
            model,
            prompt,
            max_tokens: request.max_tokens.unwrap_or(self.default_max_tokens),
            sampling,
            stop_sequences: request.stop_sequences.clone(),
            events,
        })?;
        Ok(receiver)
    }
}

impl Drop for EmbeddedProvider {
    fn drop(&mut self) {
        // Slot threads finish their current generation (or see its client gone) and exit.
        self.pool.shutdown();
    }
}

fn event_stream(mut receiver: mpsc::Receiver<StreamEvent>) -> futures::stream::BoxStream<'static, StreamEvent> {
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx)).boxed()
}

/// Folds a finished event stream into the whole answer.
async fn collect(mut events: futures::stream::BoxStream<'static, StreamEvent>) -> Result<ChatResponse, ApiError> {
    let mut response = ChatResponse {
        id: String::new(),
        model: String::new(),
        content: Vec::new(),
        stop_reason: None,
        stop_sequence: None,
        usage: Usage::default(),
    };
    while let Some(event) = events.next().await {
        match event {
            StreamEvent::MessageStart { id, model, usage } => {
                response.id = id;
                response.model = model;
                response.usage = usage;
            }
            StreamEvent::BlockStart { block: BlockStart::Text, .. } => response.content.push(Block::text("")),
            StreamEvent::BlockDelta { delta: BlockDelta::Text(piece), .. } => {
                if let Some(Block::Text { text, .. }) = response.content.last_mut() {
                    text.push_str(&piece);
                }
            }
            StreamEvent::MessageDelta { stop_reason, stop_sequence, usage } => {
                response.stop_reason = stop_reason;
                response.stop_sequence = stop_sequence;
                response.usage = usage;
            }
            StreamEvent::MessageStop => return Ok(response),
            StreamEvent::Error(err) => return Err(err),
            StreamEvent::BlockStart { .. } | StreamEvent::BlockDelta { .. } | StreamEvent::BlockStop { .. } => {}
            StreamEvent::Ping => {}
        }
    }
    Err(ApiError::new(ErrorKind::Api, "the local generation ended before its answer was complete"))
}

impl Provider for EmbeddedProvider {
    fn wire_api(&self) -> Option<Api> {
        None
    }

    fn complete(&self, call: UpstreamCall) -> BoxFuture<'_, Result<Completion, ApiError>> {
        let started = self.start(call);
        Box::pin(async move { Ok(Completion::Ir(collect(event_stream(started?)).await?)) })
    }

    fn stream(&self, call: UpstreamCall) -> BoxFuture<'_, Result<EventStream, ApiError>> {
        let started = self.start(call);
        Box::pin(async move { Ok(EventStream::Ir(event_stream(started?))) })
    }

    /// Exact: the Anthropic-shaped body is templated and tokenised as a generation would be.
    fn count_tokens(
        &self,
        mut body: serde_json::Value,
        _forward_headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    ) -> BoxFuture<'_, Result<Option<u64>, ApiError>> {
        Box::pin(async move {
            // `count_tokens` bodies have no `max_tokens`; the parser wants one.
            if let Some(object) = body.as_object_mut() {
                object.entry("max_tokens").or_insert(serde_json::Value::from(1));
            }
            let bytes = serde_json::to_vec(&body).map_err(|err| ApiError::invalid(err.to_string()))?;
            let request = bivio_protocol::anthropic::parse_request(&bytes)?;
            Ok(Some(self.prompt_tokens(&request)?.len() as u64))
        })
    }
}

/// Where `bivio model pull default` puts the default model (`model_path = "default"` resolves here).
pub fn default_model_path(cache_dir: &Path) -> PathBuf {
    pull::models_dir(cache_dir).join(pull::DEFAULT_MODEL.file_name)
}
