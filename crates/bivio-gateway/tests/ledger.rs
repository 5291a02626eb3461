//! Every request through the gateway leaves one ledger record (and one attempt), with exact costs —
//! including Anthropic cache tokens and OpenAI cached tokens — and consistent timings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use bivio_mock_upstream::Script;
use common::chat_body;
use serde_json::{Value, json};

const PRICED: &str = r#"
[models.claude-priced]
provider = "claude"
upstream_model = "claude-upstream"
price = { input = 3, output = 15, cache_read = 0.30, cache_write = 3.75 }
[models.local-priced]
provider = "local"
upstream_model = "local-upstream"
price = { input = 1, output = 2, cache_read = 0.1 }
"#;

fn usage_script(cache_write: u64) -> Script {
    Script::Single(
        serde_json::from_value(json!({
            "content": [{ "type": "text", "text": "counted words" }],
            "usage": { "input_tokens": 100, "output_tokens": 50, "cache_read_input_tokens": 1000, "cache_creation_input_tokens": cache_write },
        }))
        .unwrap(),
    )
}

fn row<'a>(rows: &'a [Value], model: &str, streamed: bool) -> &'a Value {
    rows.iter()
        .find(|r| r["requested_model"] == model && r["streamed"] == i64::from(streamed))
        .unwrap_or_else(|| panic!("no row for {model} streamed={streamed} in {rows:#?}"))
}

#[tokio::test]
async fn costs_are_exact_with_cache_tokens_on_both_apis() {
    let mut h = common::start_with_extra(PRICED).await;
    h.mock.add_script("claude-usage", usage_script(200));
    h.mock.add_script("local-usage", usage_script(0));
    // Anthropic client → Claude, not streamed.
    assert_eq!(
        h.anthropic(chat_body("anthropic", "claude-priced", "[[mock:claude-usage]] q", false)).await.status(),
        200
    );
    // OpenAI client → local OpenAI-compatible backend, streamed (cached tokens arrive as prompt_tokens_details).
    let mut body = chat_body("openai", "local-priced", "[[mock:local-usage]] q", true);
    body["stream_options"] = json!({ "include_usage": true });
    let text = h.openai(body).await.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));

    let rows = h.ledger_rows().await;
    assert_eq!(rows.len(), 2);
    // (100 × 3 + 50 × 15 + 1000 × 0.30 + 200 × 3.75) / 1e6 = 2100 / 1e6
    let claude = row(&rows, "claude-priced", false);
    assert_eq!(claude["cost_usd"], "0.0021");
    assert_eq!(claude["input_tokens"], 100);
    assert_eq!(claude["cache_read_tokens"], 1000);
    assert_eq!(claude["cache_write_tokens"], 200);
    assert_eq!(claude["provider"], "claude");
    assert_eq!(claude["upstream_model"], "claude-upstream");
    assert_eq!(claude["ingress_api"], "anthropic");
    assert_eq!(claude["status"], "ok");
    assert_eq!(claude["local"], 0);
    // OpenAI reports prompt_tokens 1100 with cached_tokens 1000: 100 uncached at 1, 1000 cached at 0.1.
    // (100 × 1 + 50 × 2 + 1000 × 0.1) / 1e6 = 300 / 1e6
    let local = row(&rows, "local-priced", true);
    assert_eq!(local["cost_usd"], "0.0003");
    assert_eq!(local["input_tokens"], 100);
    assert_eq!(local["cache_read_tokens"], 1000);
    assert_eq!(local["ingress_api"], "openai");
    for row in &rows {
        assert_eq!(
            h.attempt_rows(row["id"].as_str().unwrap()),
            vec![(1, row["provider"].as_str().unwrap().to_owned(), "ok".to_owned())]
        );
    }
}

#[tokio::test]
async fn streams_record_ttft_and_overhead_within_total() {
    let mut h = common::start().await;
    h.mock.add_script(
        "paced",
        Script::Single(
            serde_json::from_value(json!({
                "content": [{ "type": "text", "text": "one two three four" }],
                "stream": { "chunk_delay_ms": 30, "chunk_size": 4 },
            }))
            .unwrap(),
        ),
    );
    for (api, model) in common::PAIRINGS {
        let text = h.send(api, chat_body(api, model, "[[mock:paced]] go", true)).await.text().await.unwrap();
        assert!(!text.is_empty());
    }
    let rows = h.ledger_rows().await;
    assert_eq!(rows.len(), 4);
    for row in &rows {
        let total = row["total_us"].as_i64().unwrap();
        let ttft = row["ttft_us"].as_i64().expect("streams have a TTFT");
        let upstream = row["upstream_us"].as_i64().unwrap();
        let overhead = row["overhead_us"].as_i64().unwrap();
        assert!(ttft > 0 && ttft < total, "{row}");
        // The mock paces frames 30 ms apart: the first token cannot come before the first gap.
        assert!(ttft >= 25_000, "{row}");
        assert!(upstream <= total && overhead == total - upstream && overhead >= 0, "{row}");
        assert_eq!(row["streamed"], 1);
        assert!(row["output_tokens"].as_i64().unwrap() > 0);
        assert!(row["output_tps"].as_f64().unwrap() > 0.0);
    }
}

#[tokio::test]
async fn failures_and_cancellations_are_recorded_without_payloads() {
    let mut h = common::start().await;
    h.mock.add_script(
        "slow",
        Script::Single(
            serde_json::from_value(json!({
                "content": [{ "type": "text", "text": "a b c d e f g h i j k l m n o p" }],
                "stream": { "chunk_delay_ms": 200, "chunk_size": 1 },
            }))
            .unwrap(),
        ),
    );
    let response = h.anthropic(chat_body("anthropic", "nope", "secret prompt text", false)).await;
    assert_eq!(response.status(), 404);
    let response = h.openai(chat_body("openai", "dead", "secret prompt text", false)).await;
    assert_eq!(response.status(), 502);
    let mut response = h.openai(chat_body("openai", "claude", "[[mock:slow]] secret prompt text", true)).await;
    response.chunk().await.unwrap();
    drop(response);
    h.mock.wait_for_stats(Duration::from_secs(10), |s| s.streams_cancelled >= 1).await;

    let rows = h.ledger_rows().await;
    assert_eq!(rows.len(), 3, "{rows:#?}");
    let unknown = row(&rows, "nope", false);
    assert_eq!((unknown["status"].as_str(), unknown["error_kind"].as_str()), (Some("error"), Some("not_found")));
    assert!(unknown["provider"].is_null());
    let dead = row(&rows, "dead", false);
    assert_eq!((dead["status"].as_str(), dead["error_kind"].as_str()), (Some("error"), Some("bad_gateway")));
    assert_eq!(dead["provider"], "dead");
    let cancelled = row(&rows, "claude", true);
    assert_eq!(cancelled["status"], "cancelled");
    // Nothing the client wrote is stored: no content table rows, no prompt text in any column.
    let everything = serde_json::to_string(&rows).unwrap();
    assert!(!everything.contains("secret prompt text"));
    let db = rusqlite::Connection::open(&h.ledger_path).unwrap();
    let stored: i64 = db.query_row("SELECT COUNT(*) FROM ledger_content", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn request_ids_are_ledger_ids() {
    let mut h = common::start().await;
    let response = h.anthropic(chat_body("anthropic", "claude", "hello", false)).await;
    let request_id = response.headers()["request-id"].to_str().unwrap().to_owned();
    let rows = h.ledger_rows().await;
    let id = rows[0]["id"].as_str().unwrap().replace('-', "");
    assert_eq!(request_id, format!("req_{id}"));
}

#[tokio::test]
async fn metrics_expose_requests_tokens_and_the_ledger_queue() {
    let h = common::start_with_extra(PRICED).await;
    h.mock.add_script("claude-usage", usage_script(200));
    h.anthropic(chat_body("anthropic", "claude-priced", "[[mock:claude-usage]] q", false)).await;
    h.openai(chat_body("openai", "nope", "q", false)).await;
    let text = h.http.get(format!("{}/metrics", h.base)).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains(r#"bivio_requests_total{api="anthropic",model="claude-priced",provider="claude",status="ok"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"bivio_errors_total{kind="not_found"} 1"#));
    assert!(
        text.contains(r#"bivio_tokens_total{category="chat",kind="cache_read",model="claude-priced"} 1000"#),
        "{text}"
    );
    assert!(text.contains(r#"bivio_cost_usd_total{category="chat",model="claude-priced"} 0.0021"#), "{text}");
    assert!(text.contains("bivio_request_duration_seconds_bucket"));
    assert!(text.contains("bivio_gateway_overhead_seconds_bucket"));
    assert!(text.contains("bivio_ledger_queue_depth "));
    assert!(text.contains("bivio_ledger_dropped_records 0"));
}
