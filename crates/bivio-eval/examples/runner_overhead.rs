//! Benchmark: the runner's own cost per item — building the request, calling a provider that answers at
//! once (in-process, no model), decoding, scoring (exact match) and writing the item to a SQLite file —
//! over N items. `cargo run --release -p bivio-eval --example runner_overhead [N]`. Prints JSON lines,
//! one per concurrency.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use bivio_eval::progress::Silent;
use bivio_eval::runner::{Options, run};
use bivio_eval::score::Scorers;
use bivio_eval::store::Store;
use bivio_eval::suites::{self, Spec};
use bivio_eval::target::Target;
use bivio_ledger::{Price, Pricing};
use bivio_protocol::ir::{Block, ChatResponse, StopReason, Usage};
use bivio_protocol::{Api, ApiError, ErrorKind};
use bivio_providers::{Completion, EventStream, Provider, UpstreamBody, UpstreamCall};
use futures::future::BoxFuture;

#[derive(Debug)]
struct Instant0;

impl Provider for Instant0 {
    fn wire_api(&self) -> Option<Api> {
        None
    }

    fn complete(&self, call: UpstreamCall) -> BoxFuture<'_, Result<Completion, ApiError>> {
        Box::pin(async move {
            let UpstreamBody::Ir(request) = call.body else {
                return Err(ApiError::new(ErrorKind::Api, "expected the IR"));
            };
            Ok(Completion::Ir(ChatResponse {
                id: "x".into(),
                model: request.model,
                content: vec![Block::text("Paris")],
                stop_reason: Some(StopReason::EndTurn),
                stop_sequence: None,
                usage: Usage { input_tokens: 20, output_tokens: 2, ..Usage::default() },
            }))
        })
    }

    fn stream(&self, _: UpstreamCall) -> BoxFuture<'_, Result<EventStream, ApiError>> {
        Box::pin(async { Err(ApiError::new(ErrorKind::Api, "not used")) })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("overhead.jsonl");
    let lines: Vec<String> = (0..n)
        .map(|i| serde_json::json!({"id": i, "prompt": format!("Capital of France? ({i})"), "scorer": "exact", "expected": "Paris"}).to_string())
        .collect();
    std::fs::write(&file, lines.join("\n"))?;
    let suite = suites::load(&Spec { name: "custom".into(), path: Some(file) }, 0)?;
    let target = Arc::new(Target {
        name: "instant".into(),
        provider: Arc::new(Instant0),
        upstream_model: "instant".into(),
        local: true,
        pricing: Pricing::PerToken(Price::default()),
    });
    for concurrency in [1, 4] {
        let store = Store::open(&dir.path().join(format!("ledger-{concurrency}.sqlite3")))?;
        let options = Options { concurrency, ..Options::default() };
        let started = Instant::now();
        let summary = run(
            &store,
            std::slice::from_ref(&suite),
            std::slice::from_ref(&target),
            &Scorers::default(),
            &options,
            &Silent,
        )
        .await?;
        let elapsed = started.elapsed().as_secs_f64();
        let line = serde_json::json!({
            "items": summary[0].scored,
            "concurrency": concurrency,
            "seconds": (elapsed * 1000.0).round() / 1000.0,
            "us_per_item": (elapsed * 1e6 / n as f64).round(),
        });
        writeln!(std::io::stdout(), "{line}")?;
    }
    Ok(())
}
