#!/usr/bin/env bash
# Ledger benchmarks: batched inserts (SQLite; Postgres too when it can be started) and report/ROI over the
# rows inserted. Numbers go to stdout; docs/benchmarks.md ("Ledger") records a run and its machine.
#   bash bench/ledger.sh                 # 1 000 000 rows into SQLite, 200 000 into Postgres
#   BIVIO_BENCH_ROWS=100000 bash bench/ledger.sh
#   BIVIO_BENCH_NO_PG=1 bash bench/ledger.sh    # SQLite only
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${BIVIO_BENCH_NO_PG:-}" ] && [ -z "${BIVIO_BENCH_PG_URL:-}" ]; then
  if url_line=$(bash scripts/postgres.sh); then
    eval "$url_line"
    export BIVIO_BENCH_PG_URL="$BIVIO_TEST_PG_URL"
  else
    echo "[bench] Postgres unavailable: SQLite only" >&2
  fi
fi
exec cargo bench -p bivio-ledger --bench ledger
