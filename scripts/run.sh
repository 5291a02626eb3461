#!/usr/bin/env bash
# The main job: install what is missing, build bivio, start the local llama.cpp server (the open-model side),
# and run the gateway in the foreground. Idempotent; a second run starts in seconds.
#   BIVIO_PORT (8787)  LLAMA_PORT (8081)  ANTHROPIC_API_KEY (optional: enables the Claude models)
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${BIVIO_CACHE:-$HOME/.cache/bivio}"
LLAMA_PORT="${LLAMA_PORT:-8081}"
BIVIO_PORT="${BIVIO_PORT:-8787}"
GGUF="$CACHE/models/gemma-3-270m-q4_k_m.gguf"

bash scripts/deps.sh run
cargo build --release --bin bivio

if ! curl -sf "http://127.0.0.1:$LLAMA_PORT/v1/models" >/dev/null 2>&1; then
  echo "[run] starting llama.cpp server on :$LLAMA_PORT (log: $CACHE/llama-server.log)" >&2
  nohup "$CACHE/venv/bin/python" -m llama_cpp.server --model "$GGUF" --model_alias gemma-3-270m \
    --chat_format gemma --n_ctx 2048 --n_threads 2 --host 127.0.0.1 --port "$LLAMA_PORT" \
    >"$CACHE/llama-server.log" 2>&1 &
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$LLAMA_PORT/v1/models" >/dev/null 2>&1 && break
    sleep 0.5
  done
  curl -sf "http://127.0.0.1:$LLAMA_PORT/v1/models" >/dev/null || { echo "[run] llama.cpp server did not start" >&2; exit 1; }
fi

CONFIG=examples/local.toml
[ -n "${ANTHROPIC_API_KEY:-}" ] && CONFIG=examples/hybrid.toml
exec target/release/bivio serve --config "$CONFIG" --listen "127.0.0.1:$BIVIO_PORT"
