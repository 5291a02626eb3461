//! The runner end to end against in-process fake providers: answers are stored with their scores,
//! concurrency is bounded, failed items leave the run unfinished and a second invocation resumes it,
//! skipping what was scored. The OpenAI-wire fake exercises the same decode path as a real backend.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bivio_eval::progress::Silent;
use bivio_eval::runner::{Options, run};
use bivio_eval::score::Scorers;
use bivio_eval::store::Store;
use bivio_eval::suites::{self, Spec};
use bivio_eval::target::Target;
use bivio_ledger::{Price, Pricing};
use bivio_protocol::ir::{Block, ChatRequest, ChatResponse, StopReason, Usage};
use bivio_protocol::{Api, ApiError, ErrorKind};
use bivio_providers::{Completion, EventStream, Provider, UpstreamBody, UpstreamCall};
use futures::future::BoxFuture;

/// Answers "Paris" to everything except prompts containing `fail` (which fail while `failing` is set).
#[derive(Debug, Default)]
struct Fake {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    calls: AtomicUsize,
    failing: Mutex<HashSet<String>>,
}

impl Provider for Fake {
    fn wire_api(&self) -> Option<Api> {
        None
    }

    fn complete(&self, call: UpstreamCall) -> BoxFuture<'_, Result<Completion, ApiError>> {
        Box::pin(async move {
            let UpstreamBody::Ir(request) = call.body else {
                return Err(ApiError::new(ErrorKind::Api, "expected the IR"));
            };
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let text = user_text(&request);
            if self.failing.lock().map(|f| f.contains(&text)).unwrap_or(false) {
                return Err(ApiError::new(ErrorKind::Overloaded, "try later"));
            }
            Ok(Completion::Ir(ChatResponse {
                id: "x".into(),
                model: request.model.clone(),
                content: vec![Block::text("Paris")],
                stop_reason: Some(StopReason::EndTurn),
                stop_sequence: None,
                usage: Usage { input_tokens: 10, output_tokens: 4, ..Usage::default() },
            }))
        })
    }

    fn stream(&self, _: UpstreamCall) -> BoxFuture<'_, Result<EventStream, ApiError>> {
        Box::pin(async { Err(ApiError::new(ErrorKind::Api, "not used")) })
    }
}

fn user_text(request: &ChatRequest) -> String {
    request
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|b| if let Block::Text { text, .. } = b { Some(text.clone()) } else { None })
        .collect()
}

fn target(name: &str, provider: Arc<dyn Provider>) -> Arc<Target> {
    let price = Price { input: "1".parse().unwrap(), output: "2".parse().unwrap(), ..Price::default() };
    Arc::new(Target {
        name: name.into(),
        provider,
        upstream_model: name.into(),
        local: true,
        pricing: Pricing::PerToken(price),
    })
}

#[tokio::test]
async fn stores_scores_bounds_concurrency_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("capitals.jsonl");
    let mut lines = Vec::new();
    for i in 0..12 {
        let prompt = if i == 5 { "fail".to_owned() } else { format!("Capital of France? ({i})") };
        let expected = if i % 3 == 0 { "Rome" } else { "Paris" };
        lines.push(serde_json::json!({"id": i, "prompt": prompt, "scorer": "exact", "expected": expected}).to_string());
    }
    std::fs::write(&file, lines.join("\n")).unwrap();
    let suite = suites::load(&Spec { name: "custom".into(), path: Some(file.clone()) }, 0).unwrap();
    let fake = Arc::new(Fake::default());
    fake.failing.lock().unwrap().insert("fail".into());
    let targets = vec![target("fake", fake.clone())];
    let store = Store::open(&dir.path().join("ledger.sqlite3")).unwrap();
    let options = Options { concurrency: 3, ..Options::default() };

    let first =
        run(&store, std::slice::from_ref(&suite), &targets, &Scorers::default(), &options, &Silent).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].scored, first[0].errors, first[0].finished, first[0].resumed), (11, 1, false, false));
    assert_eq!(fake.max_in_flight.load(Ordering::SeqCst), 3, "concurrency is bounded and used");

    let items = store.items(&first[0].run_id).unwrap();
    assert_eq!(items.len(), 12);
    let failed: Vec<_> = items.iter().filter(|i| i.error.is_some()).collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].error.as_deref().unwrap_or("").contains("try later"));
    let good = items.iter().find(|i| i.item_id == "custom/1").unwrap();
    assert_eq!(
        (good.score, good.response.as_str(), good.input_tokens, good.output_tokens),
        (Some(1.0), "Paris", 10, 4)
    );
    // 10 input × $1/M + 4 output × $2/M.
    assert_eq!(good.cost_usd, "0.000018");
    assert_eq!(items.iter().find(|i| i.item_id == "custom/0").unwrap().score, Some(0.0));

    // Second invocation: the failed item is retried, the 11 scored ones are skipped.
    fake.failing.lock().unwrap().clear();
    let calls_before = fake.calls.load(Ordering::SeqCst);
    let second =
        run(&store, std::slice::from_ref(&suite), &targets, &Scorers::default(), &options, &Silent).await.unwrap();
    assert_eq!(second[0].run_id, first[0].run_id);
    assert_eq!((second[0].scored, second[0].skipped, second[0].errors, second[0].finished), (1, 11, 0, true));
    assert_eq!(fake.calls.load(Ordering::SeqCst) - calls_before, 1);
    assert!(store.items(&first[0].run_id).unwrap().iter().all(|i| i.error.is_none()));

    // A finished run is history: the next invocation starts a new run.
    let third = run(&store, &[suite], &targets, &Scorers::default(), &options, &Silent).await.unwrap();
    assert_ne!(third[0].run_id, first[0].run_id);
    assert_eq!(store.runs().unwrap().len(), 2);

    let rows = bivio_eval::report::rows(&store, &bivio_eval::report::select_runs(&store, &[]).unwrap()).unwrap();
    assert_eq!(rows.len(), 1, "the report shows the latest run per suite and model");
    assert!((rows[0].score - 8.0 / 12.0).abs() < 1e-12);
}

/// An OpenAI-compatible backend answering with a tool call, as raw wire JSON.
#[derive(Debug)]
struct ToolCaller;

impl Provider for ToolCaller {
    fn wire_api(&self) -> Option<Api> {
        Some(Api::OpenAi)
    }

    fn complete(&self, call: UpstreamCall) -> BoxFuture<'_, Result<Completion, ApiError>> {
        Box::pin(async move {
            let UpstreamBody::Wire(body) = call.body else {
                return Err(ApiError::new(ErrorKind::Api, "expected a wire body"));
            };
            assert!(body["tools"].is_array(), "tools are sent in OpenAI's shape: {body}");
            let answer = serde_json::json!({
                "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                    "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59}
            });
            Ok(Completion::Wire { api: Api::OpenAi, body: answer.to_string().into() })
        })
    }

    fn stream(&self, _: UpstreamCall) -> BoxFuture<'_, Result<EventStream, ApiError>> {
        Box::pin(async { Err(ApiError::new(ErrorKind::Api, "not used")) })
    }
}

#[tokio::test]
async fn tool_calls_come_back_through_the_wire_decoder() {
    let suite = suites::load(&Spec { name: "tooluse".into(), path: None }, 0).unwrap();
    let store = Store::in_memory().unwrap();
    let targets = vec![target("caller", Arc::new(ToolCaller))];
    let options = Options { limit: Some(2), ..Options::default() };
    let summary = run(&store, &[suite], &targets, &Scorers::default(), &options, &Silent).await.unwrap();
    let items = store.items(&summary[0].run_id).unwrap();
    let by_id = |id: &str| items.iter().find(|i| i.item_id == id).unwrap();
    // weather-basic expects get_weather(city=Paris): pass; weather-unit expects Chicago in fahrenheit: fail.
    assert_eq!(by_id("tooluse/weather-basic").score, Some(1.0));
    assert_eq!(by_id("tooluse/weather-unit").score, Some(0.0));
    assert!(
        by_id("tooluse/weather-unit").detail.contains("/city is \"Paris\", expected \"Chicago\""),
        "{}",
        by_id("tooluse/weather-unit").detail
    );
    assert_eq!(by_id("tooluse/weather-basic").input_tokens, 50);
}
