#!/usr/bin/env bash
# Embedded model vs llama-cpp-python's server: same GGUF, threads, prompt, max_tokens and greedy decoding,
# alternating rounds in one run so machine load affects both alike. Prints medians and the ratio, writes raw
# JSON lines and a markdown summary under bench/results/.
#
#   bench/embedded.sh [--rounds 3] [--reps 3] [--max-tokens 128] [--threads 2] [--model PATH]
#
# Needs: scripts/deps.sh run (llama-cpp-python server + the default model), a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${BIVIO_CACHE:-$HOME/.cache/bivio}"
MODEL="$CACHE/models/gemma-3-270m-q4_k_m.gguf"
PY="$CACHE/venv/bin/python"
ROUNDS=3 REPS=3 MAX_TOKENS=128 THREADS=2 PORT="${BENCH_PORT:-18461}" CTX=2048
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2;;
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
BENCH=target/release/examples/bench

echo "[bench] starting llama-cpp-python on :$PORT" >&2
"$PY" -m llama_cpp.server --model "$MODEL" --model_alias gemma --chat_format gemma --n_ctx "$CTX" \
  --n_threads "$THREADS" --n_threads_batch "$THREADS" --port "$PORT" >"$OUT/embedded-$STAMP-server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null || { echo "server did not start" >&2; exit 1; }

for round in $(seq 1 "$ROUNDS"); do
  echo "[bench] round $round/$ROUNDS: embedded" >&2
  "$BENCH" --model "$MODEL" --threads "$THREADS" --context "$CTX" --max-tokens "$MAX_TOKENS" --reps "$REPS" \
    --template gemma | tee -a "$RAW"
  echo "[bench] round $round/$ROUNDS: llama-cpp-python" >&2
  check=""; [ "$round" = 1 ] && check="--check-usage"
  "$PY" bench/embedded_client.py --port "$PORT" --max-tokens "$MAX_TOKENS" --reps "$REPS" $check | tee -a "$RAW"
done

"$PY" - "$RAW" "$SUMMARY" "$MAX_TOKENS" "$THREADS" <<'PYEOF'
import json, statistics, sys, platform, os
raw, summary, max_tokens, threads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = [json.loads(l) for l in open(raw) if l.strip()]
engines = ["bivio-embedded", "llama-cpp-python"]
med = {}
for e in engines:
    rs = [r for r in rows if r["engine"] == e]
    med[e] = {k: statistics.median(r[k] for r in rs) for k in ("ttft_ms", "decode_tps", "output_tokens", "total_s")}
    med[e]["n"] = len(rs)
b, p = med["bivio-embedded"], med["llama-cpp-python"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
lines = [
    f"threads={threads}, max_tokens={max_tokens}, temperature 0, n_ctx 2048; {cpu}, {os.cpu_count()} cores; "
    f"{b['n']} runs each, medians:",
    "",
    "| engine | TTFT (ms) | decode tokens/s | output tokens | total (s) |",
    "|---|---:|---:|---:|---:|",
]
for e in engines:
    m = med[e]
    lines.append(f"| {e} | {m['ttft_ms']:.1f} | {m['decode_tps']:.2f} | {m['output_tokens']:.0f} | {m['total_s']:.3f} |")
lines += [
    "",
    f"Ratio bivio/llama-cpp-python: decode tokens/s **{b['decode_tps'] / p['decode_tps']:.3f}×**, "
    f"TTFT {b['ttft_ms'] / p['ttft_ms']:.3f}× (lower is better).",
]
text = "\n".join(lines)
open(summary, "w").write(text + "\n")
print(text)
PYEOF
echo "[bench] raw: $RAW  summary: $SUMMARY" >&2
