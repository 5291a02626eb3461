//! What the gateway hands the ledger: one [`LedgerRecord`] per request, one [`AttemptRecord`] per upstream
//! attempt. Write-only types: reports read aggregates, not records.
//!
//! Conventions:
//! - Ids are UUIDv7 ([`new_id`]): time-ordered, so the newest records sort last in both backends.
//! - Timestamps are unix milliseconds (UTC); durations are integer microseconds (exact, 64-bit, no float
//!   rounding in storage; reports convert to milliseconds).
//! - A request's usage and cost are its totals over all attempts (what it cost, failed attempts included);
//!   `provider`, `upstream_model` and `local` are those of the attempt that produced the answer (the last).
//! - Nothing here carries prompt or answer text except [`StoredContent`], which the gateway sets only when
//!   the config enables content storage for the request's key. Error kinds are `&'static str` labels
//!   (`ErrorKind::label()`), so they cannot carry request data either.

use bivio_protocol::Api;
use bivio_protocol::ir::Usage;
use rust_decimal::Decimal;
use uuid::Uuid;

/// A new time-ordered id.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// How a request (or attempt) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    Error,
    /// The client went away before the answer was complete.
    Cancelled,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Cancelled => "cancelled",
        }
    }
}

/// Prompt and answer text, stored only where the config enables it for the request's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContent {
    /// The request as the client sent it (or a rendering of its messages — the gateway decides).
    pub prompt: String,
    pub response: String,
}

/// One request through the gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRecord {
    /// UUIDv7 ([`new_id`]).
    pub id: Uuid,
    /// When the request arrived, unix ms.
    pub ts_ms: i64,
    /// The virtual key's id (never the key itself).
    pub key_id: Option<String>,
    /// The API the client spoke.
    pub ingress: Api,
    /// The model name the client asked for.
    pub requested_model: String,
    /// Router output: task category, route taken and the reasons for it.
    pub category: Option<String>,
    pub route: Option<String>,
    pub reasons: Vec<String>,
    /// The serving attempt's provider and upstream model; `None` when no upstream was called.
    pub provider: Option<String>,
    pub upstream_model: Option<String>,
    /// Served on premises (a local model): counts toward "share served locally" and savings.
    pub local: bool,
    pub status: Status,
    /// A payload-free error label, e.g. `ErrorKind::label()`.
    pub error_kind: Option<&'static str>,
    /// Totals over all attempts; `input_tokens` excludes cache reads and writes.
    pub usage: Usage,
    /// Total cost over all attempts, USD (see [`crate::cost`]).
    pub cost_usd: Decimal,
    /// Arrival to first output token, µs (streamed answers).
    pub ttft_us: Option<u64>,
    /// Arrival to the end of the answer, µs.
    pub total_us: u64,
    /// Time spent waiting on upstreams, µs; `total_us − upstream_us` is the gateway's overhead.
    pub upstream_us: Option<u64>,
    pub streamed: bool,
    /// Kinds of sensitive data the guard found (e.g. `"email"`), never the values.
    pub sensitivity_kinds: Vec<String>,
    /// The privacy guard's decision: `allow`, `redact`, `local_only` or `block` (`None`: nothing found).
    pub guard_action: Option<&'static str>,
    pub content: Option<StoredContent>,
}

impl LedgerRecord {
    /// A record with the required fields set and everything else empty, zero or `false`.
    pub fn new(id: Uuid, ts_ms: i64, ingress: Api, requested_model: impl Into<String>, status: Status) -> LedgerRecord {
        LedgerRecord {
            id,
            ts_ms,
            key_id: None,
            ingress,
            requested_model: requested_model.into(),
            category: None,
            route: None,
            reasons: Vec::new(),
            provider: None,
            upstream_model: None,
            local: false,
            status,
            error_kind: None,
            usage: Usage::default(),
            cost_usd: Decimal::ZERO,
            ttft_us: None,
            total_us: 0,
            upstream_us: None,
            streamed: false,
            sensitivity_kinds: Vec::new(),
            guard_action: None,
            content: None,
        }
    }

    /// Total time minus time spent waiting on upstreams, µs.
    pub fn overhead_us(&self) -> Option<u64> {
        self.upstream_us.map(|upstream| self.total_us.saturating_sub(upstream))
    }

    /// Output tokens per second of generation (see [`output_tokens_per_s`]).
    pub fn output_tokens_per_s(&self) -> Option<f64> {
        output_tokens_per_s(self.usage.output_tokens, self.total_us, self.ttft_us)
    }
}

/// One call to an upstream on behalf of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// 1 for the first call, 2 for the first fallback, …
    pub attempt: u32,
    /// When the call started, unix ms.
    pub ts_ms: i64,
    pub provider: String,
    pub upstream_model: String,
    pub local: bool,
    pub status: Status,
    pub error_kind: Option<&'static str>,
    pub usage: Usage,
    pub cost_usd: Decimal,
    /// Call start to first output token, µs.
    pub ttft_us: Option<u64>,
    /// Call start to its end, µs.
    pub total_us: u64,
}

impl AttemptRecord {
    pub fn output_tokens_per_s(&self) -> Option<f64> {
        output_tokens_per_s(self.usage.output_tokens, self.total_us, self.ttft_us)
    }
}

/// Output tokens per second of generation: `output ÷ (total − ttft)` when a first token was seen, else
/// `output ÷ total` (a non-streamed answer's time includes reading the prompt). `None` without output or
/// without time.
pub fn output_tokens_per_s(output_tokens: u64, total_us: u64, ttft_us: Option<u64>) -> Option<f64> {
    let generation_us = generation_us(total_us, ttft_us);
    (output_tokens > 0 && generation_us > 0).then(|| output_tokens as f64 * 1e6 / generation_us as f64)
}

/// Time spent generating, µs (see [`output_tokens_per_s`]).
pub(crate) fn generation_us(total_us: u64, ttft_us: Option<u64>) -> u64 {
    match ttft_us {
        Some(ttft) if ttft < total_us => total_us - ttft,
        _ => total_us,
    }
}

/// A request and its attempts, as queued.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub record: LedgerRecord,
    pub attempts: Vec<AttemptRecord>,
}

/// u64 → i64 for storage (both backends store signed 64-bit integers); saturates, never wraps.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Stored i64 → u64; negative values (never written) read as 0.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_timings() {
        let mut record = LedgerRecord::new(new_id(), 0, Api::Anthropic, "m", Status::Ok);
        record.total_us = 2_500_000;
        record.ttft_us = Some(500_000);
        record.upstream_us = Some(2_480_000);
        record.usage.output_tokens = 100;
        assert_eq!(record.overhead_us(), Some(20_000));
        assert_eq!(record.output_tokens_per_s(), Some(50.0));
        record.ttft_us = None;
        assert_eq!(record.output_tokens_per_s(), Some(40.0));
        record.usage.output_tokens = 0;
        assert_eq!(record.output_tokens_per_s(), None);
        record.upstream_us = Some(3_000_000);
        assert_eq!(record.overhead_us(), Some(0));
    }

    #[test]
    fn ids_are_time_ordered() {
        let a = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id();
        assert!(a.to_string() < b.to_string());
        assert_eq!(a.get_version_num(), 7);
    }
}
