//! Prometheus metrics, exposed as text on `GET /metrics`. Updated once per request when it ends (a handful
//! of atomic operations); the ledger queue's gauges are read at scrape time. Labels are bounded: model and
//! provider names come from the config, categories from the router, error kinds from a fixed list — never
//! anything a client sends.

use bivio_ledger::LedgerWriter;
use prometheus::{
    CounterVec, Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Latency buckets in seconds: sub-millisecond gateway overheads up to multi-minute generations.
const SECONDS_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    errors: IntCounterVec,
    latency: HistogramVec,
    ttft: HistogramVec,
    overhead: HistogramVec,
    tokens: IntCounterVec,
    cost: CounterVec,
    ledger_queue_depth: IntGauge,
    ledger_dropped: IntGauge,
}

/// What one finished request contributes.
#[derive(Debug)]
pub struct RequestSample<'a> {
    pub api: &'a str,
    pub model: &'a str,
    pub provider: &'a str,
    pub category: &'a str,
    pub status: &'a str,
    pub error_kind: Option<&'a str>,
    pub latency_s: f64,
    pub ttft_s: Option<f64>,
    pub overhead_s: Option<f64>,
    pub tokens: [(&'static str, u64); 5],
    pub cost_usd: f64,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("bivio".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("requests_total", "Requests, by client API, model, provider and outcome"),
            &["api", "model", "provider", "status"],
        )?;
        let errors = IntCounterVec::new(Opts::new("errors_total", "Failed requests by error kind"), &["kind"])?;
        let histogram = |name: &str, help: &str| {
            HistogramVec::new(HistogramOpts::new(name, help).buckets(SECONDS_BUCKETS.to_vec()), &["model"])
        };
        let latency = histogram("request_duration_seconds", "Total request latency")?;
        let ttft = histogram("time_to_first_token_seconds", "Time to the first generated token (streams)")?;
        let overhead = histogram("gateway_overhead_seconds", "Request latency not spent waiting on the upstream")?;
        let tokens = IntCounterVec::new(
            Opts::new(
                "tokens_total",
                "Tokens by model, category and kind (input, output, cache_read, cache_write, reasoning)",
            ),
            &["model", "category", "kind"],
        )?;
        let cost =
            CounterVec::new(Opts::new("cost_usd_total", "Cost in USD by model and category"), &["model", "category"])?;
        let ledger_queue_depth = IntGauge::new("ledger_queue_depth", "Ledger records waiting to be written")?;
        let ledger_dropped =
            IntGauge::new("ledger_dropped_records", "Ledger records dropped because the queue was full")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(ttft.clone()))?;
        registry.register(Box::new(overhead.clone()))?;
        registry.register(Box::new(tokens.clone()))?;
        registry.register(Box::new(cost.clone()))?;
        registry.register(Box::new(ledger_queue_depth.clone()))?;
        registry.register(Box::new(ledger_dropped.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            errors,
            latency,
            ttft,
            overhead,
            tokens,
            cost,
            ledger_queue_depth,
            ledger_dropped,
        })
    }

    pub fn observe(&self, sample: &RequestSample<'_>) {
        self.requests.with_label_values(&[sample.api, sample.model, sample.provider, sample.status]).inc();
        if let Some(kind) = sample.error_kind {
            self.errors.with_label_values(&[kind]).inc();
        }
        self.latency.with_label_values(&[sample.model]).observe(sample.latency_s);
        if let Some(ttft) = sample.ttft_s {
            self.ttft.with_label_values(&[sample.model]).observe(ttft);
        }
        if let Some(overhead) = sample.overhead_s {
            self.overhead.with_label_values(&[sample.model]).observe(overhead);
        }
        for (kind, count) in sample.tokens {
            if count > 0 {
                self.tokens.with_label_values(&[sample.model, sample.category, kind]).inc_by(count);
            }
        }
        if sample.cost_usd > 0.0 {
            self.cost.with_label_values(&[sample.model, sample.category]).inc_by(sample.cost_usd);
        }
    }

    /// The text exposition, with the ledger's queue read now.
    pub fn render(&self, ledger: &LedgerWriter) -> String {
        self.ledger_queue_depth.set(i64::try_from(ledger.queue_depth()).unwrap_or(i64::MAX));
        self.ledger_dropped.set(i64::try_from(ledger.dropped()).unwrap_or(i64::MAX));
        let mut out = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(%err, "could not encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
