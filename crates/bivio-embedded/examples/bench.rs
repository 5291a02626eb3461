//! Measures the embedded provider directly: time to first token and decode speed, one JSON line per run.
//!
//! `bench/embedded.sh` runs this next to llama-cpp-python's server on the same GGUF, threads and prompt.
//!
//! ```text
//! cargo run --release -p bivio-embedded --example bench -- --model M.gguf [--threads 2] [--max-tokens 128]
//!     [--reps 5] [--context 2048] [--template gemma] [--prompt TEXT] [--label NAME]
//! ```
//! Each run's prompt starts with its run number, so no run reuses another's prompt cache: TTFT includes
//! processing the whole prompt. Run 0 is a warm-up and is not printed.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line tool: stdout is its output")]

use std::time::Instant;

use bivio_embedded::{EmbeddedConfig, EmbeddedProvider};
use bivio_protocol::ir::{Block, BlockDelta, ChatRequest, Message, Role, StreamEvent};
use bivio_providers::{EventStream, Provider, UpstreamBody, UpstreamCall};
use futures::StreamExt;

const DEFAULT_PROMPT: &str = "Write a long, detailed story about a lighthouse keeper who finds a message in a \
bottle. Describe the sea, the weather, the keeper's daily routine, and what happens after the message is read.";

struct Args {
    model: String,
    threads: u32,
    max_tokens: u32,
    reps: usize,
    context: u32,
    template: String,
    prompt: String,
    label: String,
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
        label: "bivio-embedded".into(),
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
            "--label" => args.label = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.model.is_empty() {
        return Err("--model is required".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    for rep in 0..=args.reps {
        let request = ChatRequest {
            model: "bench".into(),
            messages: vec![Message {
                role: Role::User,
                content: vec![Block::text(format!("({rep}) {}", args.prompt))],
            }],
            max_tokens: Some(args.max_tokens),
            temperature: Some(0.0),
            stream: true,
            ..ChatRequest::default()
        };
        let call = UpstreamCall { body: UpstreamBody::Ir(Box::new(request)), forward_headers: Vec::new() };
        let start = Instant::now();
        let EventStream::Ir(mut events) = provider.stream(call).await? else {
            return Err("the embedded provider answered with a wire stream".into());
        };
        let (mut first, mut last, mut tokens, mut prompt_tokens) = (None, start, 0u64, 0u64);
        while let Some(event) = events.next().await {
            match event {
                StreamEvent::MessageStart { usage, .. } => prompt_tokens = usage.input_tokens,
                StreamEvent::BlockDelta { delta: BlockDelta::Text(_), .. } => {
                    let now = Instant::now();
                    first.get_or_insert(now);
                    last = now;
                }
                StreamEvent::MessageDelta { usage, .. } => tokens = usage.output_tokens,
                StreamEvent::Error(err) => return Err(err.into()),
                _ => {}
            }
        }
        let end = start.elapsed().as_secs_f64();
        let first = first.ok_or("no text was generated")?;
        let ttft = first.duration_since(start).as_secs_f64();
        let decode = last.duration_since(first).as_secs_f64();
        let decode_tps = if decode > 0.0 { (tokens.saturating_sub(1)) as f64 / decode } else { 0.0 };
        if rep > 0 {
            println!(
                "{{\"engine\":\"{}\",\"rep\":{rep},\"prompt_tokens\":{prompt_tokens},\"output_tokens\":{tokens},\
                 \"ttft_ms\":{:.1},\"decode_tps\":{decode_tps:.2},\"total_s\":{end:.3}}}",
                args.label,
                ttft * 1000.0
            );
        }
    }
    Ok(())
}
