#!/usr/bin/env bash
# Embedded model vs llama-cpp-python's server: same GGUF, threads, prompt, max_tokens and greedy decoding,
# alternating run by run so machine load affects both alike. Prints medians, bests and ratios, writes raw
# JSON lines and a markdown summary under bench/results/.
#
#   bench/embedded.sh [--reps 15] [--max-tokens 128] [--threads 2] [--model PATH]
#
# One process (crates/bivio-embedded/examples/bench.rs) alternates run by run: the embedded provider, then a
# streaming HTTP request to the server. Both report TTFT and decode tokens/s; the summary gives medians and
# bests (the best run is the least disturbed by other processes on a shared machine).
#
# Needs: scripts/deps.sh run (llama-cpp-python server + the default model), a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${BIVIO_CACHE:-$HOME/.cache/bivio}"
MODEL="$CACHE/models/gemma-3-270m-q4_k_m.gguf"
PY="$CACHE/venv/bin/python"
REPS=15 MAX_TOKENS=128 THREADS=2 PORT="${BENCH_PORT:-18461}" CTX=2048
# On a shared machine, BENCH_NICE=-10 (root) gives both engines the CPU first; the comparison stays fair.
NICE=(nice -n "${BENCH_NICE:-0}")
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS="$2"; shift 2;;
    --max-tokens) MAX_TOKENS="$2"; shift 2;;
    --threads) THREADS="$2"; shift 2;;
    --model) MODEL="$2"; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
[ -f "$MODEL" ] || { echo "missing $MODEL: run scripts/deps.sh run" >&2; exit 1; }
"$PY" -c 'import llama_cpp.server' 2>/dev/null || { echo "llama-cpp-python[server] missing: run scripts/deps.sh run" >&2; exit 1; }

OUT=bench/results
mkdir -p "$OUT"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW="$OUT/embedded-$STAMP.jsonl"
SUMMARY="$OUT/embedded-$STAMP.md"

echo "[bench] building the bench example (release)" >&2
cargo build --release -q -p bivio-embedded --example bench
BENCH="${CARGO_TARGET_DIR:-target}/release/examples/bench"

echo "[bench] starting llama-cpp-python on :$PORT" >&2
"${NICE[@]}" "$PY" -m llama_cpp.server --model "$MODEL" --model_alias gemma --chat_format gemma --n_ctx "$CTX" \
  --n_threads "$THREADS" --n_threads_batch "$THREADS" --port "$PORT" >"$OUT/embedded-$STAMP-server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null || { echo "server did not start" >&2; exit 1; }

echo "[bench] load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
"${NICE[@]}" "$BENCH" --model "$MODEL" --threads "$THREADS" --context "$CTX" --max-tokens "$MAX_TOKENS" \
  --reps "$REPS" --template gemma --compare-url "http://127.0.0.1:$PORT/v1" | tee -a "$RAW"
LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
echo "[bench] load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$PY" - "$RAW" "$SUMMARY" "$MAX_TOKENS" "$THREADS" "$LOAD_BEFORE" "$LOAD_AFTER" <<'PYEOF'
import json, statistics, sys, platform, os
raw, summary, max_tokens, threads, load_before, load_after = sys.argv[1:7]
rows = [json.loads(l) for l in open(raw) if l.strip()]
engines = ["bivio-embedded", "llama-cpp-python"]
stats = {}
for e in engines:
    rs = [r for r in rows if r["engine"] == e]
    stats[e] = {
        "n": len(rs),
        "ttft": statistics.median(r["ttft_ms"] for r in rs),
        "tps": statistics.median(r["decode_tps"] for r in rs),
        "ttft_best": min(r["ttft_ms"] for r in rs),
        "tps_best": max(r["decode_tps"] for r in rs),
        "tokens": statistics.median(r["output_tokens"] for r in rs),
        "prompt": next((r["prompt_tokens"] for r in rs if r.get("prompt_tokens")), None),
    }
b, p = stats["bivio-embedded"], stats["llama-cpp-python"]
# Runs alternate, so run i of each engine saw nearly the same machine: the median of per-pair ratios is the
# comparison least moved by other processes.
pairs = list(zip([r for r in rows if r["engine"] == engines[0]], [r for r in rows if r["engine"] == engines[1]]))
paired_tps = statistics.median(x["decode_tps"] / y["decode_tps"] for x, y in pairs)
paired_ttft = statistics.median(x["ttft_ms"] / y["ttft_ms"] for x, y in pairs)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
lines = [
    f"Same GGUF, prompt ({b['prompt']} tokens), threads={threads}, max_tokens={max_tokens}, temperature 0, n_ctx 2048; "
    f"{cpu}, {os.cpu_count()} cores; {b['n']} interleaved runs each; load average {load_before} before, {load_after} after; "
    f"nice {os.environ.get('BENCH_NICE', '0')}.",
    "",
    "| engine | TTFT median (ms) | TTFT best (ms) | decode tok/s median | decode tok/s best | output tokens |",
    "|---|---:|---:|---:|---:|---:|",
]
for e in engines:
    m = stats[e]
    lines.append(f"| {e} | {m['ttft']:.1f} | {m['ttft_best']:.1f} | {m['tps']:.2f} | {m['tps_best']:.2f} | {m['tokens']:.0f} |")
lines += [
    "",
    f"bivio / llama-cpp-python, decode tokens/s: **{paired_tps:.2f}×** (median of paired runs), "
    f"{b['tps'] / p['tps']:.2f}× (medians), {b['tps_best'] / p['tps_best']:.2f}× (bests).",
    f"bivio / llama-cpp-python, TTFT (lower is better): **{paired_ttft:.2f}×** (median of paired runs), "
    f"{b['ttft'] / p['ttft']:.2f}× (medians), {b['ttft_best'] / p['ttft_best']:.2f}× (bests).",
]
text = "\n".join(lines)
open(summary, "w").write(text + "\n")
print(text)
PYEOF
echo "[bench] raw: $RAW  summary: $SUMMARY" >&2
