//! Time to first token and decode speed of the embedded provider, optionally interleaved run by run with an
//! OpenAI-compatible server (llama-cpp-python's) on the same GGUF, prompt and settings. One JSON line per run.
//!
//! ```text
//! cargo run --release -p bivio-embedded --example bench -- --model M.gguf [--threads 2] [--max-tokens 128]
//!     [--reps 5] [--context 2048] [--template gemma] [--prompt TEXT] [--compare-url http://127.0.0.1:P/v1]
//! ```
//! Runs alternate (embedded, server, embedded, server, …) so that load from other processes falls on both
//! alike. Each run's prompt starts with its run number, so no run reuses another's prompt cache: TTFT always
//! includes processing the prompt. Run 0 of each engine is a warm-up and is not printed.
//!
//! Tokens: the embedded provider reports exact usage. llama-cpp-python's server reports none in streams but
//! sends one chunk per token, so its chunks are counted; one non-streamed call at the end reports its exact
//! `completion_tokens` for run 1's prompt, to check that count (printed to stderr).

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line tool: stdout is its output")]

use std::time::Instant;

use bivio_embedded::{EmbeddedConfig, EmbeddedProvider};
use bivio_protocol::ir::{Block, BlockDelta, ChatRequest, Message, Role, StreamEvent};
use bivio_protocol::sse::SseParser;
use bivio_providers::{EventStream, Provider, UpstreamBody, UpstreamCall};
use futures::StreamExt;
use serde_json::{Value, json};

const DEFAULT_PROMPT: &str = "Write a long, detailed story about a lighthouse keeper who finds a message in a \
bottle. Describe the sea, the weather, the keeper's daily routine, and what happens after the message is read.";

type Error = Box<dyn std::error::Error>;

struct Args {
    model: String,
    threads: u32,
    max_tokens: u32,
    reps: usize,
    context: u32,
    template: String,
    prompt: String,
    compare_url: Option<String>,
    compare_label: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        model: String::new(),
        threads: 2,
        max_tokens: 128,
        reps: 5,
        context: 2048,
        template: "gemma".into(),
        prompt: DEFAULT_PROMPT.into(),
        compare_url: None,
        compare_label: "llama-cpp-python".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u32>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--model" => args.model = value,
            "--threads" => args.threads = number(&value)?,
            "--max-tokens" => args.max_tokens = number(&value)?,
            "--reps" => args.reps = number(&value)? as usize,
            "--context" => args.context = number(&value)?,
            "--template" => args.template = value,
            "--prompt" => args.prompt = value,
            "--compare-url" => args.compare_url = Some(value.trim_end_matches('/').to_owned()),
            "--compare-label" => args.compare_label = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.model.is_empty() {
        return Err("--model is required".into());
    }
    Ok(args)
}

/// One measured run.
struct Run {
    prompt_tokens: Option<u64>,
    output_tokens: u64,
    ttft_s: f64,
    /// From the first to the last text: (tokens − 1) / that time.
    decode_s: f64,
    total_s: f64,
}

impl Run {
    fn print(&self, engine: &str, rep: usize) {
        let tps = if self.decode_s > 0.0 { self.output_tokens.saturating_sub(1) as f64 / self.decode_s } else { 0.0 };
        let prompt = self.prompt_tokens.map_or_else(|| "null".to_owned(), |n| n.to_string());
        println!(
            "{{\"engine\":\"{engine}\",\"rep\":{rep},\"prompt_tokens\":{prompt},\"output_tokens\":{},\
             \"ttft_ms\":{:.1},\"decode_tps\":{tps:.2},\"total_s\":{:.3}}}",
            self.output_tokens,
            self.ttft_s * 1000.0,
            self.total_s
        );
    }
}

async fn embedded_run(provider: &EmbeddedProvider, prompt: String, max_tokens: u32) -> Result<Run, Error> {
    let request = ChatRequest {
        model: "bench".into(),
        messages: vec![Message { role: Role::User, content: vec![Block::text(prompt)] }],
        max_tokens: Some(max_tokens),
        temperature: Some(0.0),
        stream: true,
        ..ChatRequest::default()
    };
    let call = UpstreamCall { body: UpstreamBody::Ir(Box::new(request)), forward_headers: Vec::new() };
    let start = Instant::now();
    let EventStream::Ir(mut events) = provider.stream(call).await? else {
        return Err("the embedded provider answered with a wire stream".into());
    };
    let (mut first, mut last, mut output_tokens, mut prompt_tokens) = (None, start, 0, 0);
    while let Some(event) = events.next().await {
        match event {
            StreamEvent::MessageStart { usage, .. } => prompt_tokens = usage.input_tokens,
            StreamEvent::BlockDelta { delta: BlockDelta::Text(_), .. } => {
                let now = Instant::now();
                first.get_or_insert(now);
                last = now;
            }
            StreamEvent::MessageDelta { usage, .. } => output_tokens = usage.output_tokens,
            StreamEvent::Error(err) => return Err(err.into()),
            _ => {}
        }
    }
    let first = first.ok_or("no text was generated")?;
    Ok(Run {
        prompt_tokens: Some(prompt_tokens),
        output_tokens,
        ttft_s: first.duration_since(start).as_secs_f64(),
        decode_s: last.duration_since(first).as_secs_f64(),
        total_s: start.elapsed().as_secs_f64(),
    })
}

fn chat_body(prompt: &str, max_tokens: u32, stream: bool) -> Value {
    json!({
        "model": "gemma",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": stream,
    })
}

async fn server_run(client: &reqwest::Client, url: &str, prompt: String, max_tokens: u32) -> Result<Run, Error> {
    let start = Instant::now();
    let response = client
        .post(format!("{url}/chat/completions"))
        .json(&chat_body(&prompt, max_tokens, true))
        .send()
        .await?
        .error_for_status()?;
    let mut body = response.bytes_stream();
    let mut parser = SseParser::new();
    let (mut first, mut last, mut chunks) = (None, start, 0u64);
    while let Some(bytes) = body.next().await {
        for frame in parser.feed(&bytes?)? {
            let Some(data) = frame.data.filter(|data| data != "[DONE]") else { continue };
            let chunk: Value = serde_json::from_str(&data)?;
            let content = chunk.pointer("/choices/0/delta/content").and_then(Value::as_str).unwrap_or_default();
            if !content.is_empty() {
                let now = Instant::now();
                first.get_or_insert(now);
                last = now;
                chunks += 1;
            }
        }
    }
    let first = first.ok_or("no text was generated")?;
    Ok(Run {
        prompt_tokens: None,
        output_tokens: chunks,
        ttft_s: first.duration_since(start).as_secs_f64(),
        decode_s: last.duration_since(first).as_secs_f64(),
        total_s: start.elapsed().as_secs_f64(),
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = parse_args()?;
    let config = EmbeddedConfig {
        context_tokens: args.context,
        threads: args.threads,
        chat_template: Some(args.template.clone()),
        ..EmbeddedConfig::new(&args.model)
    };
    let loaded = Instant::now();
    let provider = EmbeddedProvider::load("bench", &config)?;
    eprintln!("loaded {} in {:.2}s", args.model, loaded.elapsed().as_secs_f64());
    let client = reqwest::Client::new();
    for rep in 0..=args.reps {
        let prompt = format!("({rep}) {}", args.prompt);
        let run = embedded_run(&provider, prompt.clone(), args.max_tokens).await?;
        if rep > 0 {
            run.print("bivio-embedded", rep);
        }
        if let Some(url) = &args.compare_url {
            let run = server_run(&client, url, prompt, args.max_tokens).await?;
            if rep > 0 {
                run.print(&args.compare_label, rep);
            }
        }
    }
    if let Some(url) = &args.compare_url {
        let prompt = format!("(1) {}", args.prompt);
        let body: Value = client
            .post(format!("{url}/chat/completions"))
            .json(&chat_body(&prompt, args.max_tokens, false))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        eprintln!("{} usage for run 1's prompt: {}", args.compare_label, body["usage"]);
    }
    Ok(())
}
