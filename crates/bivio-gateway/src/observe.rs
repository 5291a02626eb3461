//! What happened to one request: timings, usage and outcome, collected as the request flows through the
//! pipeline and egress, and reported exactly once when it ends — completed, failed, or abandoned by the
//! client (on drop). The report is one ledger record (plus its upstream attempt), one metrics sample and one
//! log line; none of them carries prompt or answer content.
//!
//! Timings: `total` runs from the first byte of the request to the last byte of the answer; `upstream`
//! from sending to the upstream until its last byte arrived; the gateway's overhead is their difference.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bivio_ledger::{AttemptRecord, LedgerRecord, LedgerWriter, Pricing, Status};
use bivio_protocol::ir::{StreamEvent, Usage};
use bivio_protocol::{Api, ErrorKind};
use rust_decimal::prelude::ToPrimitive;
use uuid::Uuid;

use crate::config::Model;
use crate::metrics::{Metrics, RequestSample};
use crate::privacy::Inspection;
use crate::routing::Labels;

/// One upstream attempt: where it went and how long it took.
#[derive(Debug, Clone)]
struct Attempt {
    provider: String,
    upstream_model: String,
    local: bool,
    pricing: Pricing,
    started: Instant,
    finished: Option<Instant>,
    /// Set when the attempt failed before an answer began (the next model in the chain was tried).
    error: Option<ErrorKind>,
}

#[derive(Debug)]
pub struct Observer {
    id: Uuid,
    request_id: String,
    api: Api,
    ts_ms: i64,
    started: Instant,
    requested_model: String,
    streamed: bool,
    labels: Labels,
    sensitivity_kinds: Vec<String>,
    guard_action: Option<&'static str>,
    /// In order; the last one is the one that answered (or failed last).
    attempts: Vec<Attempt>,
    first_token: Option<Instant>,
    usage: Usage,
    error: Option<ErrorKind>,
    reported: bool,
    ledger: LedgerWriter,
    metrics: Arc<Metrics>,
}

/// How the request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Error(ErrorKind),
    /// The client went away before the answer was complete.
    Cancelled,
}

impl Observer {
    /// Starts observing a request that arrived now.
    pub fn start(api: Api, ledger: LedgerWriter, metrics: Arc<Metrics>) -> Observer {
        let id = bivio_ledger::record::new_id();
        let ts_ms =
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
        Observer {
            id,
            request_id: format!("req_{}", id.simple()),
            api,
            ts_ms,
            started: Instant::now(),
            requested_model: String::new(),
            streamed: false,
            labels: Labels::default(),
            sensitivity_kinds: Vec::new(),
            guard_action: None,
            attempts: Vec::new(),
            first_token: None,
            usage: Usage::default(),
            error: None,
            reported: false,
            ledger,
            metrics,
        }
    }

    /// The id clients see (`request-id`), which is also the ledger record's id.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The request parsed: the model it names and whether it streams.
    pub fn requested(&mut self, model: &str, streamed: bool) {
        model.clone_into(&mut self.requested_model);
        self.streamed = streamed;
    }

    /// The routing decision and what the guard found (labels only).
    pub fn routed(&mut self, labels: &Labels, inspection: &Inspection) {
        self.labels = labels.clone();
        self.sensitivity_kinds.clone_from(&inspection.kinds);
        self.guard_action = inspection.action_label();
    }

    /// A reason learnt after routing (a fallback).
    pub fn reason(&mut self, reason: String) {
        self.labels.reasons.push(reason);
    }

    /// The request is about to be sent to `model`'s provider (a new attempt).
    pub fn upstream_call(&mut self, model: &Model) {
        self.upstream_done();
        self.attempts.push(Attempt {
            provider: model.provider_name.clone(),
            upstream_model: model.upstream_model.clone(),
            local: model.local,
            pricing: model.pricing,
            started: Instant::now(),
            finished: None,
            error: None,
        });
    }

    /// The current attempt failed before an answer began; another model may be tried.
    pub fn attempt_failed(&mut self, kind: ErrorKind) {
        if let Some(attempt) = self.attempts.last_mut() {
            attempt.error = Some(kind);
        }
        self.upstream_done();
    }

    /// The upstream's last byte arrived (or it failed).
    pub fn upstream_done(&mut self) {
        if let Some(attempt) = self.attempts.last_mut() {
            attempt.finished.get_or_insert_with(Instant::now);
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
        self.upstream_done();
        self.report(Outcome::Ok);
    }

    /// The request failed before an answer began.
    pub fn failed(&mut self, kind: ErrorKind) {
        self.upstream_done();
        self.report(Outcome::Error(kind));
    }

    /// The client stream ended; `complete` is whether a terminator or error was sent.
    pub fn stream_closed(&mut self, complete: bool) {
        self.upstream_done();
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
        let now = Instant::now();
        let total_us = micros(now - self.started);
        let ttft_us = self.first_token.map(|t| micros(t - self.started));
        let (status, error_kind) = match outcome {
            Outcome::Ok => (Status::Ok, None),
            Outcome::Error(kind) => (Status::Error, Some(kind.label())),
            Outcome::Cancelled => (Status::Cancelled, Some("cancelled")),
        };

        let mut record = LedgerRecord::new(self.id, self.ts_ms, self.api, self.requested_model.clone(), status);
        record.error_kind = error_kind;
        record.usage = self.usage;
        record.ttft_us = ttft_us;
        record.total_us = total_us;
        record.streamed = self.streamed;
        record.category = (!self.labels.category.is_empty()).then(|| self.labels.category.clone());
        record.route = (!self.labels.route.is_empty()).then(|| self.labels.route.clone());
        record.reasons.clone_from(&self.labels.reasons);
        record.sensitivity_kinds.clone_from(&self.sensitivity_kinds);
        record.guard_action = self.guard_action;
        let mut attempts = Vec::with_capacity(self.attempts.len());
        let last = self.attempts.len().saturating_sub(1);
        for (index, attempt) in self.attempts.iter().enumerate() {
            let upstream_us = micros(attempt.finished.unwrap_or(now) - attempt.started);
            // Only the serving (last) attempt produced tokens; failed ones cost their machine time at most.
            let serving = index == last;
            let usage = if serving { self.usage } else { Usage::default() };
            let cost = attempt.pricing.cost(&usage, upstream_us);
            let (status, error_kind) = match attempt.error {
                Some(kind) => (Status::Error, Some(kind.label())),
                None => (status, error_kind),
            };
            record.cost_usd += cost;
            *record.upstream_us.get_or_insert(0) += upstream_us;
            attempts.push(AttemptRecord {
                attempt: u32::try_from(index + 1).unwrap_or(u32::MAX),
                ts_ms: self.ts_ms,
                provider: attempt.provider.clone(),
                upstream_model: attempt.upstream_model.clone(),
                local: attempt.local,
                status,
                error_kind,
                usage,
                cost_usd: cost,
                ttft_us: if serving { ttft_us } else { None },
                total_us: upstream_us,
            });
        }
        if let Some(serving) = self.attempts.last() {
            record.provider = Some(serving.provider.clone());
            record.upstream_model = Some(serving.upstream_model.clone());
            record.local = serving.local;
        }

        let overhead_us = record.overhead_us();
        self.metrics.observe(&RequestSample {
            api: self.api.label(),
            model: if self.attempts.is_empty() { "unknown" } else { &self.requested_model },
            provider: record.provider.as_deref().unwrap_or("none"),
            category: record.category.as_deref().unwrap_or("none"),
            status: status.label(),
            error_kind,
            latency_s: total_us as f64 / 1e6,
            ttft_s: ttft_us.map(|t| t as f64 / 1e6),
            overhead_s: overhead_us.map(|t| t as f64 / 1e6),
            tokens: [
                ("input", self.usage.input_tokens),
                ("output", self.usage.output_tokens),
                ("cache_read", self.usage.cache_read_tokens),
                ("cache_write", self.usage.cache_write_tokens),
                ("reasoning", self.usage.reasoning_tokens.unwrap_or(0)),
            ],
            cost_usd: record.cost_usd.to_f64().unwrap_or(0.0),
        });
        tracing::info!(
            request_id = %self.request_id,
            api = self.api.label(),
            model = %self.requested_model,
            provider = record.provider.as_deref().unwrap_or("none"),
            category = record.category.as_deref().unwrap_or("none"),
            route = record.route.as_deref().unwrap_or("none"),
            sensitivity = %self.sensitivity_kinds.join(","),
            attempts = self.attempts.len(),
            streamed = self.streamed,
            outcome = error_kind.unwrap_or("ok"),
            input_tokens = self.usage.input_tokens,
            output_tokens = self.usage.output_tokens,
            cache_read_tokens = self.usage.cache_read_tokens,
            cache_write_tokens = self.usage.cache_write_tokens,
            cost_usd = %record.cost_usd,
            total_ms = total_us as f64 / 1000.0,
            ttft_ms = ttft_us.map(|t| t as f64 / 1000.0),
            overhead_ms = overhead_us.map(|t| t as f64 / 1000.0),
            "request finished"
        );
        self.ledger.record(record, attempts);
    }
}

fn micros(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

impl Drop for Observer {
    fn drop(&mut self) {
        if !self.reported {
            self.report(Outcome::Cancelled);
        }
    }
}
