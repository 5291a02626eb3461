#!/usr/bin/env bash
# Evaluation lab benchmarks (docs/benchmarks.md, "Evaluation lab"):
#   1. scoring the 164 canonical HumanEval solutions in the sandbox (design target: < 60 s on 2 cores);
#   2. the runner's own overhead per item (instant in-process provider, exact-match scoring, SQLite writes).
#   bash bench/eval.sh                         # datasets from $BIVIO_DATASETS or ../shared/datasets
#   BIVIO_BENCH_ITEMS=5000 bash bench/eval.sh  # more items for the overhead run (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."

DATASETS="${BIVIO_DATASETS:-../shared/datasets}"
echo "[bench] HumanEval canonical solutions ($(nproc) cores)" >&2
cargo run --release --quiet -p bivio-eval --example humaneval_scoring -- "$DATASETS/humaneval/HumanEval.jsonl.gz"
echo "[bench] runner overhead" >&2
cargo run --release --quiet -p bivio-eval --example runner_overhead -- "${BIVIO_BENCH_ITEMS:-2000}"
