//! `bivio chat`: a small terminal chat through a running gateway. Each answer streams in as it is
//! generated, followed by where the gateway routed the message and why — the hybrid at work, visibly.
//! Reads lines from stdin (so it also works piped); `/quit` or end of input ends it.

use std::io::{BufRead as _, Write as _};

use anyhow::{Context, anyhow};
use bivio_protocol::sse::SseParser;
use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::{Failure, output, runtime_failure};

pub fn chat(url: &str, model: &str, max_tokens: u32) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(runtime_failure)?;
    let http = reqwest::Client::new();
    let endpoint = format!("{}/v1/messages", url.trim_end_matches('/'));
    output::line(&format!("bivio chat — {endpoint}, model {model}; /quit to leave"));
    let mut history: Vec<Value> = Vec::new();
    let stdin = std::io::stdin();
    loop {
        prompt("> ");
        let mut line = String::new();
        if stdin.lock().read_line(&mut line).map_err(runtime_failure)? == 0 {
            break;
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        if text == "/quit" {
            break;
        }
        history.push(json!({ "role": "user", "content": text }));
        let body = json!({ "model": model, "max_tokens": max_tokens, "stream": true, "messages": history });
        match runtime.block_on(turn(&http, &endpoint, &body)) {
            Ok(answer) => history.push(json!({ "role": "assistant", "content": answer })),
            Err(err) => {
                // The turn is dropped so the conversation stays well-formed; the user can retry.
                history.pop();
                output::error(&format!("{err:#}"));
            }
        }
    }
    Ok(())
}

/// One exchange: streams the answer to stdout, then prints the routing decision. Returns the answer text.
async fn turn(http: &reqwest::Client, endpoint: &str, body: &Value) -> anyhow::Result<String> {
    let response = http
        .post(endpoint)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .with_context(|| format!("cannot reach {endpoint}: is `bivio serve` running?"))?;
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    let routing =
        format!("[{} → {} | {}]", header("x-bivio-category"), header("x-bivio-route"), header("x-bivio-reason"));
    if !response.status().is_success() {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        return Err(anyhow!("HTTP {status}: {message} {routing}"));
    }
    let mut parser = SseParser::new();
    let mut answer = String::new();
    let mut bytes = response.bytes_stream();
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk.context("the stream broke")?;
        for frame in parser.feed(&chunk).map_err(|err| anyhow!("bad stream: {err}"))? {
            let Some(data) = frame.data else { continue };
            let Ok(event) = serde_json::from_str::<Value>(&data) else { continue };
            match event["type"].as_str() {
                Some("content_block_delta") => {
                    if let Some(text) = event["delta"]["text"].as_str() {
                        prompt(text);
                        answer.push_str(text);
                    }
                }
                Some("error") => {
                    return Err(anyhow!("{}", event["error"]["message"].as_str().unwrap_or("stream error")));
                }
                _ => {}
            }
        }
    }
    output::line("");
    output::line(&routing);
    Ok(answer)
}

/// Text without a newline, flushed at once (streamed tokens, the prompt).
fn prompt(text: &str) {
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
