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
cargo test --workspace --quiet

"$CACHE/venv/bin/python" -m pytest tests/python -q -p no:cacheprovider
