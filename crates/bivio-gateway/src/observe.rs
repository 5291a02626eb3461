//! What happened to one request: timings, usage and outcome, collected as the answer flows through egress
//! and reported once when the request ends — completed, failed, or abandoned by the client (on drop).
//! Today the report is a structured log line without payloads; the ledger takes the same record.

use std::time::Instant;

use bivio_protocol::ir::{StreamEvent, Usage};
use bivio_protocol::{Api, ErrorKind};

#[derive(Debug)]
pub struct Observer {
    pub request_id: String,
    pub client_api: Api,
    pub model: String,
    pub provider: String,
    pub streamed: bool,
    started: Instant,
    first_token: Option<Instant>,
    usage: Usage,
    error: Option<ErrorKind>,
    reported: bool,
}

/// How the request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Error(ErrorKind),
    /// The client went away before the answer was complete.
    Cancelled,
}

impl Observer {
    pub fn new(request_id: String, client_api: Api, model: String, provider: String, streamed: bool) -> Observer {
        Observer {
            request_id,
            client_api,
            model,
            provider,
            streamed,
            started: Instant::now(),
            first_token: None,
            usage: Usage::default(),
            error: None,
            reported: false,
        }
    }

    /// Watches one stream event.
    pub fn event(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::BlockDelta { .. } => {
                self.first_token.get_or_insert_with(Instant::now);
            }
            StreamEvent::MessageStart { usage, .. } | StreamEvent::MessageDelta { usage, .. } => self.usage = *usage,
            StreamEvent::Error(err) => self.error = Some(err.kind),
            _ => {}
        }
    }

    /// A complete (non-streamed) answer was produced.
    pub fn finished(&mut self, usage: Usage) {
        self.usage = usage;
        self.report(Outcome::Ok);
    }

    /// The request failed before an answer began.
    pub fn failed(&mut self, kind: ErrorKind) {
        self.report(Outcome::Error(kind));
    }

    /// The client stream ended; `complete` is whether a terminator or error was sent.
    pub fn stream_closed(&mut self, complete: bool) {
        let outcome = match (self.error, complete) {
            (Some(kind), _) => Outcome::Error(kind),
            (None, true) => Outcome::Ok,
            (None, false) => Outcome::Error(ErrorKind::BadGateway),
        };
        self.report(outcome);
    }

    fn report(&mut self, outcome: Outcome) {
        if self.reported {
            return;
        }
        self.reported = true;
        let total_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let ttft_ms = self.first_token.map(|t| (t - self.started).as_secs_f64() * 1000.0);
        let outcome = match outcome {
            Outcome::Ok => "ok",
            Outcome::Error(kind) => kind.label(),
            Outcome::Cancelled => "cancelled",
        };
        tracing::info!(
            request_id = %self.request_id,
            api = self.client_api.label(),
            model = %self.model,
            provider = %self.provider,
            streamed = self.streamed,
            outcome,
            input_tokens = self.usage.input_tokens,
            output_tokens = self.usage.output_tokens,
            cache_read_tokens = self.usage.cache_read_tokens,
            cache_write_tokens = self.usage.cache_write_tokens,
            total_ms,
            ttft_ms,
            "request finished"
        );
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        if !self.reported {
            self.report(Outcome::Cancelled);
        }
    }
}
