#!/usr/bin/env bash
# The whole test suite: installs what it needs, then Rust tests (unit, property, integration against the
# test upstream), then the Python suites (official SDKs, llama.cpp server end to end, Claude Code).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${BIVIO_CACHE:-$HOME/.cache/bivio}"
bash scripts/deps.sh test

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --workspace --bins --quiet
eval "$(bash scripts/postgres.sh)"
cargo test --workspace --quiet

# Gateways started by the Python suites keep their ledgers in a throw-away data directory.
BIVIO_DATA_DIR="$(mktemp -d)"
export BIVIO_DATA_DIR
trap 'rm -rf "$BIVIO_DATA_DIR"' EXIT
"$CACHE/venv/bin/python" -m pytest tests/python -q -p no:cacheprovider
