//! The in-process model behind the gateway: both client APIs, streamed and not, accounted as local.
#![cfg(feature = "embedded")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod common;

use std::path::PathBuf;

use common::{chat_body, frames};
use serde_json::Value;

/// The default model, as `scripts/deps.sh` and `bivio model pull default` place it.
fn gguf() -> Option<PathBuf> {
    let path = std::env::var_os("BIVIO_TEST_GGUF").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("BIVIO_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/bivio"));
        cache.join("models/gemma-3-270m-q4_k_m.gguf")
    });
    if path.is_file() {
        return Some(path);
    }
    assert!(std::env::var_os("CI").is_none(), "CI must have the model at {}", path.display());
    eprintln!("skipping: no model at {}", path.display());
    None
}

#[tokio::test]
async fn both_apis_are_served_by_the_embedded_model() {
    let Some(model) = gguf() else { return };
    let extra = format!(
        r#"
        [providers.inproc]
        kind = "embedded"
        model_path = "{}"
        context_tokens = 1024
        chat_template = "gemma"
        [models.gemma]
        provider = "inproc"
        "#,
        model.display()
    );
    let mut h = common::start_with_extra(&extra).await;
    for api in ["anthropic", "openai"] {
        for stream in [false, true] {
            let mut body = chat_body(api, "gemma", "Name three colours.", stream);
            body["max_tokens"] = 8.into();
            body["temperature"] = 0.into();
            let response = h.send(api, body).await;
            assert_eq!(response.status(), 200, "{api} stream={stream}");
            let text = response.text().await.unwrap();
            if !stream {
                let body: Value = serde_json::from_str(&text).unwrap();
                let output = if api == "anthropic" {
                    body["usage"]["output_tokens"].as_u64()
                } else {
                    body["usage"]["completion_tokens"].as_u64()
                };
                assert!((1..=8).contains(&output.unwrap()), "{body}");
            } else if api == "anthropic" {
                let events: Vec<String> = frames(&text).into_iter().filter_map(|(e, _)| e).collect();
                assert_eq!(events.first().map(String::as_str), Some("message_start"));
                assert_eq!(events.last().map(String::as_str), Some("message_stop"));
            } else {
                assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
            }
        }
    }
    let rows = h.ledger_rows().await;
    assert_eq!(rows.len(), 4);
    for row in rows {
        assert_eq!(row["local"], 1, "an in-process model is local");
        assert_eq!(row["status"], "ok");
        assert!((1..=8).contains(&row["output_tokens"].as_i64().unwrap()), "{row}");
        assert!(row["input_tokens"].as_i64().unwrap() > 0);
    }
}
