//! Egress: the upstream's answer, turned into the client's API.
//!
//! Same API on both sides → the upstream's bytes are forwarded untouched (frames as they arrive), while a
//! decoder watches them for usage and completeness. Different APIs (or an in-process model) → upstream
//! frames are decoded into IR events and re-encoded for the client. Either way:
//! - every frame is sent as soon as it is produced (no buffering of the answer);
//! - an upstream failure after the stream began becomes the client API's in-stream error, and a stream that
//!   ends without its terminator gets one too — a client never sees a silently truncated answer;
//! - dropping the client stream drops the upstream stream (that is how a disconnect cancels the call).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bivio_protocol::ir::{ChatResponse, StreamEvent};
use bivio_protocol::openai::ChunkUsage;
use bivio_protocol::sse::Frame;
use bivio_protocol::{Api, ApiError, ErrorKind, anthropic, openai};
use bivio_providers::{Completion, EventStream};
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};

use crate::observe::Observer;
use crate::restore::{self, StreamRestorer};
use bivio_guard::Redactor;

/// What the client asked for, as egress needs it.
#[derive(Debug, Clone)]
pub struct ClientView {
    pub api: Api,
    /// The model name the client used (answers carry it back).
    pub model: String,
    pub request_id: String,
    /// OpenAI clients: whether they asked for the final usage chunk.
    pub include_usage: bool,
    /// OpenAI passthrough: bivio asked the upstream for usage the client did not want, so drop that chunk.
    pub strip_usage_chunk: bool,
    /// Unix seconds, for OpenAI's `created`.
    pub created: u64,
    /// Input tokens to report if the backend reports no usage.
    pub prompt_estimate: u64,
    /// The upstream saw a redacted request: its placeholders are restored in the answer (which rules out
    /// byte-for-byte passthrough).
    pub restore: Option<Redactor>,
}

/// A complete answer in the client's API: the body to send, and what it says for accounting.
pub fn complete(client: &ClientView, completion: Completion, observer: &mut Observer) -> Result<Bytes, ApiError> {
    let response: ChatResponse = match completion {
        Completion::Wire { api, body } if api == client.api && client.restore.is_none() => {
            let usage = match api {
                Api::Anthropic => anthropic::parse_usage(&body),
                Api::OpenAi => openai::parse_usage(&body),
            };
            observer.finished(usage.unwrap_or_default());
            return Ok(body);
        }
        Completion::Wire { api: Api::Anthropic, body } => anthropic::parse_response(&body)?,
        Completion::Wire { api: Api::OpenAi, body } => openai::parse_response(&body)?,
        Completion::Ir(response) => response,
    };
    let mut response = ChatResponse { model: client.model.clone(), ..response };
    if let Some(redactor) = &client.restore {
        restore::response(redactor, &mut response);
    }
    observer.finished(response.usage);
    let body = match client.api {
        Api::Anthropic => anthropic::render_response(&response),
        Api::OpenAi => openai::render_response(&response, client.created),
    };
    Ok(Bytes::from(body.to_string()))
}

/// The client's SSE body for an upstream stream.
pub fn stream(client: ClientView, upstream: EventStream, observer: Observer) -> ClientStream {
    let (source, decoder, passthrough) = match upstream {
        EventStream::Wire { api, frames } => (
            Source::Frames(frames),
            Some(Decoder::new(api, client.prompt_estimate)),
            api == client.api && client.restore.is_none(),
        ),
        EventStream::Ir(events) => (Source::Events(events), None, false),
    };
    let encoder = if passthrough { None } else { Some(Encoder::new(&client)) };
    let restorer = client.restore.clone().map(StreamRestorer::new);
    ClientStream {
        restorer,
        source,
        decoder,
        encoder,
        client,
        observer,
        pending: VecDeque::new(),
        finished_cleanly: false,
        done: false,
        usage_chunk_sent: false,
        upstream_id: String::new(),
        upstream_model: String::new(),
        usage: bivio_protocol::ir::Usage::default(),
    }
}

enum Source {
    Frames(BoxStream<'static, Result<Frame, ApiError>>),
    Events(BoxStream<'static, StreamEvent>),
}

enum Decoder {
    Anthropic(anthropic::StreamDecoder),
    OpenAi(openai::StreamDecoder),
}

impl Decoder {
    fn new(api: Api, prompt_estimate: u64) -> Decoder {
        match api {
            Api::Anthropic => Decoder::Anthropic(anthropic::StreamDecoder::new()),
            Api::OpenAi => Decoder::OpenAi(openai::StreamDecoder::with_prompt_estimate(prompt_estimate)),
        }
    }

    fn decode(&mut self, frame: &Frame) -> Result<Vec<StreamEvent>, ApiError> {
        match self {
            Decoder::Anthropic(d) => d.decode(frame).map(|e| e.into_iter().collect()),
            Decoder::OpenAi(d) => d.decode(frame),
        }
    }

    /// Events owed at end of input: an error if the stream stopped early, or the OpenAI decoder's held-back
    /// `message_delta`/`message_stop` when the server omitted `[DONE]`.
    fn end(&mut self) -> Vec<StreamEvent> {
        match self {
            Decoder::Anthropic(d) if d.finished() => Vec::new(),
            Decoder::Anthropic(_) => vec![early_end()],
            Decoder::OpenAi(d) => d.end_of_input(),
        }
    }
}

enum Encoder {
    Anthropic(anthropic::StreamEncoder),
    OpenAi(openai::StreamEncoder),
}

impl Encoder {
    fn new(client: &ClientView) -> Encoder {
        match client.api {
            Api::Anthropic => Encoder::Anthropic(anthropic::StreamEncoder::new(client.model.clone())),
            Api::OpenAi => Encoder::OpenAi(openai::StreamEncoder::new(
                format!("chatcmpl-{}", client.request_id),
                client.model.clone(),
                client.created,
                client.include_usage,
            )),
        }
    }

    fn encode(&mut self, event: &StreamEvent, out: &mut VecDeque<Bytes>) {
        match self {
            Encoder::Anthropic(e) => out.push_back(e.encode(event)),
            Encoder::OpenAi(e) => out.extend(e.encode(event)),
        }
    }
}

fn early_end() -> StreamEvent {
    StreamEvent::Error(ApiError::new(
        ErrorKind::BadGateway,
        "the upstream closed the stream before the answer was complete",
    ))
}

/// The client's body stream. See the module docs.
pub struct ClientStream {
    source: Source,
    decoder: Option<Decoder>,
    /// `None` in passthrough mode.
    encoder: Option<Encoder>,
    /// Restores redacted values (never with passthrough).
    restorer: Option<StreamRestorer>,
    client: ClientView,
    observer: Observer,
    pending: VecDeque<Bytes>,
    /// A terminator (`message_stop`, `[DONE]`) or an error has been produced.
    finished_cleanly: bool,
    done: bool,
    /// OpenAI passthrough: the upstream's usage chunk reached the client.
    usage_chunk_sent: bool,
    /// From `MessageStart`: the upstream's response id and model, for a usage chunk bivio must add.
    upstream_id: String,
    upstream_model: String,
    usage: bivio_protocol::ir::Usage,
}

impl ClientStream {
    fn on_frame(&mut self, frame: Frame) {
        let events = match self.decoder.as_mut().map(|d| d.decode(&frame)) {
            Some(Ok(events)) => events,
            Some(Err(err)) => return self.fail(err),
            None => Vec::new(),
        };
        if self.encoder.is_none() {
            self.passthrough(frame, &events);
        } else {
            for event in events {
                self.on_event(event);
            }
        }
    }

    /// Same API: forward the frame untouched, watching its events. Two additions for OpenAI clients that
    /// asked for usage: the usage chunk bivio requested is dropped if they did not, and one is added before
    /// `[DONE]` if the backend sent none (some servers ignore `include_usage`).
    fn passthrough(&mut self, frame: Frame, events: &[StreamEvent]) {
        let usage = match &self.decoder {
            Some(Decoder::OpenAi(decoder)) => decoder.last_chunk_usage(),
            _ => ChunkUsage::None,
        };
        for event in events {
            self.observer.event(event);
            match event {
                StreamEvent::MessageStart { id, model, usage } => {
                    self.upstream_id.clone_from(id);
                    self.upstream_model.clone_from(model);
                    self.usage = *usage;
                }
                StreamEvent::MessageDelta { usage, .. } => self.usage = *usage,
                StreamEvent::MessageStop => {
                    self.finished_cleanly = true;
                    self.add_missing_usage_chunk();
                }
                StreamEvent::Error(_) => {
                    self.finished_cleanly = true;
                    self.done = true;
                }
                _ => {}
            }
        }
        match usage {
            ChunkUsage::Only if self.client.strip_usage_chunk => return,
            ChunkUsage::Only | ChunkUsage::Inline => self.usage_chunk_sent = true,
            ChunkUsage::None => {}
        }
        self.pending.push_back(frame.raw);
    }

    fn add_missing_usage_chunk(&mut self) {
        if self.client.api == Api::OpenAi && self.client.include_usage && !self.usage_chunk_sent {
            self.usage_chunk_sent = true;
            let id = if self.upstream_id.is_empty() { &self.client.request_id } else { &self.upstream_id };
            let model = if self.upstream_model.is_empty() { &self.client.model } else { &self.upstream_model };
            self.pending.push_back(openai::usage_chunk(id, model, self.client.created, &self.usage));
        }
    }

    fn on_event(&mut self, event: StreamEvent) {
        if let Some(restorer) = self.restorer.as_mut() {
            let mut restored = Vec::with_capacity(2);
            restorer.apply(event, &mut restored);
            for event in restored {
                self.emit(event);
            }
        } else {
            self.emit(event);
        }
    }

    fn emit(&mut self, event: StreamEvent) {
        self.observer.event(&event);
        if let Some(encoder) = self.encoder.as_mut() {
            encoder.encode(&event, &mut self.pending);
        }
        match event {
            StreamEvent::MessageStop => self.finished_cleanly = true,
            StreamEvent::Error(_) => {
                self.finished_cleanly = true;
                self.done = true;
            }
            _ => {}
        }
    }

    /// The upstream failed mid-stream: tell the client in its API's in-stream error shape, then stop.
    fn fail(&mut self, err: ApiError) {
        self.observer.event(&StreamEvent::Error(err.clone()));
        self.pending.push_back(match self.client.api {
            Api::Anthropic => anthropic::error_frame(&err),
            Api::OpenAi => openai::error_frame(&err),
        });
        self.finished_cleanly = true;
        self.done = true;
    }

    fn on_end(&mut self) {
        self.done = true;
        if self.finished_cleanly {
            return;
        }
        let owed = match self.decoder.as_mut() {
            Some(decoder) => decoder.end(),
            None => vec![early_end()],
        };
        if self.encoder.is_some() {
            for event in owed {
                self.on_event(event);
            }
            return;
        }
        // Passthrough: the client speaks the upstream's API, so errors and the missing `[DONE]` are rendered
        // here rather than forwarded.
        for event in owed {
            match event {
                StreamEvent::Error(err) => return self.fail(err),
                StreamEvent::MessageStop => {
                    self.observer.event(&event);
                    self.finished_cleanly = true;
                    if self.client.api == Api::OpenAi {
                        self.add_missing_usage_chunk();
                        self.pending.push_back(openai::done_frame());
                    }
                }
                StreamEvent::MessageDelta { usage, .. } => {
                    self.observer.event(&event);
                    self.usage = usage;
                }
                other => self.observer.event(&other),
            }
        }
    }
}

impl Stream for ClientStream {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(bytes) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(bytes)));
            }
            if this.done {
                this.observer.stream_closed(this.finished_cleanly);
                return Poll::Ready(None);
            }
            let item = match &mut this.source {
                Source::Frames(frames) => match frames.poll_next_unpin(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(frame))) => Some(Ok(frame)),
                    Poll::Ready(Some(Err(err))) => Some(Err(err)),
                    Poll::Ready(None) => None,
                },
                Source::Events(events) => match events.poll_next_unpin(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(event)) => {
                        this.on_event(event);
                        continue;
                    }
                    Poll::Ready(None) => None,
                },
            };
            match item {
                Some(Ok(frame)) => this.on_frame(frame),
                Some(Err(err)) => {
                    this.observer.upstream_done();
                    this.fail(err);
                }
                None => {
                    this.observer.upstream_done();
                    this.on_end();
                }
            }
        }
    }
}
