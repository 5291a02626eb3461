//! Benchmark: score the 164 canonical HumanEval solutions in bivio's sandbox, as many at once as the
//! machine has cores. `cargo run --release -p bivio-eval --example humaneval_scoring [HumanEval.jsonl.gz]`
//! (see bench/eval.sh and docs/benchmarks.md). Prints one JSON line.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use bivio_eval::score::sandbox::{Sandbox, SandboxSettings};
use bivio_eval::suites::humaneval::problems;
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/datasets/humaneval/HumanEval.jsonl.gz"));
    let (problems, _) = problems(&path)?;
    let sandbox = Arc::new(Sandbox::probe(SandboxSettings::default()).await?);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let verdicts: Vec<bool> = futures::stream::iter(problems.iter().map(|p| {
        let sandbox = sandbox.clone();
        let program = Sandbox::program(&p.prompt, &p.canonical_solution, &p.test, &p.entry_point);
        async move { sandbox.run(&program).await.map(|v| v.passed).unwrap_or(false) }
    }))
    .buffer_unordered(cores)
    .collect()
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let passed = verdicts.iter().filter(|p| **p).count();
    let line = serde_json::json!({
        "problems": problems.len(),
        "passed": passed,
        "parallel": cores,
        "isolation": sandbox.isolation().label(),
        "seconds": (elapsed * 100.0).round() / 100.0,
        "ms_per_problem": (elapsed * 1000.0 / problems.len() as f64 * 10.0).round() / 10.0,
    });
    writeln!(std::io::stdout(), "{line}")?;
    Ok(())
}
