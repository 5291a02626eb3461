#!/usr/bin/env bash
# Gateway overhead benchmark: client -> mock upstream directly vs client -> bivio -> mock, in one run, for
# both APIs (same-API paths and one translated path), non-streaming and streaming: latency at fixed rates,
# maximum throughput, streaming time-to-first-byte and a frame-pacing check. See bench/README.md.
#
#   bash bench/gateway.sh        # ~5 min once built; results in bench/results/<UTC time>/summary.md
#
# Knobs (environment):
#   RATES="500 2000"   fixed request rates (req/s)      FIXED_SECS=10  seconds per fixed-rate run
#   MAX_SECS=4         seconds per max-throughput run   WARMUP_SECS=1  warm-up per target (discarded)
#   CONNS=32           connections, fixed-rate runs     MAX_CONNS=64   connections, max-throughput runs
#   PIN=1              bivio on CPU 0; mock, load generator and Python client on CPU 1 (0: no pinning)
#   MOCK_NODELAY=1     run the mock with TCP_NODELAY forced on accepted sockets (bench/nodelay_shim.c)
#   BIVIO_NODELAY=0    1: the same for bivio (previews the fix for the Nagle stall in docs/benchmarks.md)
#   EXTRA=0            1: also measure Anthropic client -> openai backend (adds ~50 s)
#   PRIO=rt            priority against other load on the machine: rt (SCHED_FIFO for fixed-rate runs, needs
#                      root), nice (nice -20), none
#   WAIT_QUIET=0       wait up to this many seconds for other processes to leave the CPUs (mostly) idle
#   OUT=bench/results/<UTC time>   where raw oha JSON, logs and summary.md go
# Loopback only; every run is bounded in time; the mock and bivio are killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CACHE="${BIVIO_CACHE:-$HOME/.cache/bivio}"
OHA_VERSION=1.16.0
RATES="${RATES:-500 2000}"
FIXED_SECS="${FIXED_SECS:-10}"
MAX_SECS="${MAX_SECS:-4}"
WARMUP_SECS="${WARMUP_SECS:-1}"
CONNS="${CONNS:-32}"
MAX_CONNS="${MAX_CONNS:-64}"
PIN="${PIN:-1}"
MOCK_NODELAY="${MOCK_NODELAY:-1}"
BIVIO_NODELAY="${BIVIO_NODELAY:-0}"
EXTRA="${EXTRA:-0}"
WAIT_QUIET="${WAIT_QUIET:-0}"
PRIO="${PRIO:-rt}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$ROOT/bench/results/$STAMP}"

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- tools --------------------------------------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 is required (summary and streaming checks)"
command -v curl >/dev/null || die "curl is required"
OHA="$CACHE/cargo-bin/bin/oha"
if ! { [ -x "$OHA" ] && "$OHA" --version 2>/dev/null | grep -qx "oha $OHA_VERSION"; }; then
  log "installing the load generator oha $OHA_VERSION into $CACHE/cargo-bin (first run only: ~12 min on 2 cores)"
  cargo install oha --version "$OHA_VERSION" --locked --root "$CACHE/cargo-bin"
fi

log "building release binaries (bivio, bivio-mock-upstream)"
# Only the two binaries: `--workspace` would also build the embedded llama.cpp crate, which they don't need.
cargo build --release -p bivio -p bivio-mock-upstream --bins
BIVIO_BIN="$ROOT/target/release/bivio"
MOCK_BIN="$ROOT/target/release/bivio-mock-upstream"

mkdir -p "$OUT/raw" "$OUT/logs" "$OUT/bodies"
SHIM="$OUT/nodelay_shim.so"
if [ "$MOCK_NODELAY" = 1 ] || [ "$BIVIO_NODELAY" = 1 ]; then
  cc -O2 -shared -fPIC -o "$SHIM" bench/nodelay_shim.c -ldl || die "cannot build bench/nodelay_shim.c (set MOCK_NODELAY=0)"
fi

# --- CPU placement ------------------------------------------------------------------------------------------
NCPU="$(nproc)"
BIVIO_CPU=() LOAD_CPU=() OHA_THREADS=() PINNING="none (all processes share all $NCPU CPUs)"
if [ "$PIN" = 1 ] && [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
  BIVIO_CPU=(taskset -c 0)
  LOAD_CPU=(taskset -c 1)
  OHA_THREADS=(--worker-threads 1)
  PINNING="bivio on CPU 0; mock upstream, oha (1 worker thread) and the Python client on CPU 1"
fi
# Priority against whatever else runs on the machine (a build, another test suite). With PRIO=rt (the default
# when allowed, i.e. as root): fixed-rate runs and the streaming checks run the mock, bivio, oha and the Python
# client under SCHED_FIFO, so a neighbour's process never delays a wake-up; max-throughput runs, which keep
# both CPUs busy, drop back to SCHED_OTHER at nice -20 so the neighbours are not starved. PRIO=nice: nice -20
# throughout. PRIO=none: default priority.
can_rt=0 can_nice=0
command -v chrt >/dev/null && chrt -f 10 true 2>/dev/null && can_rt=1
[ "$(nice -n -20 nice 2>/dev/null)" = -20 ] && can_nice=1
[ "$PRIO" = rt ] && [ "$can_rt$can_nice" != 11 ] && { log "no permission for real-time priority; using PRIO=none"; PRIO=none; }
[ "$PRIO" = nice ] && [ "$can_nice" != 1 ] && { log "no permission for nice -20; using PRIO=none"; PRIO=none; }
SERVER_PRIO=() FIXED_PRIO=() MAX_PRIO=()
case "$PRIO" in
  rt) SERVER_PRIO=(nice -n -20) FIXED_PRIO=(chrt -f 10) MAX_PRIO=(nice -n -20)
      PRIORITY="SCHED_FIFO 10 for fixed-rate runs and streaming checks, nice -20 for max-throughput runs" ;;
  nice) SERVER_PRIO=(nice -n -20) FIXED_PRIO=(nice -n -20) MAX_PRIO=(nice -n -20) PRIORITY="nice -20" ;;
  none) PRIORITY="default" ;;
  *) die "PRIO must be rt, nice or none" ;;
esac

# Switches the running mock and bivio (all their threads) between the fixed-rate and max-throughput policies.
server_policy() {
  [ "$PRIO" = rt ] || return 0
  local pid
  for pid in "$MOCK_PID" "$BIVIO_PID"; do
    # `|| true`: a thread may exit between chrt listing it and changing it (Tokio's idle blocking threads do).
    if [ "$1" = fixed ]; then
      chrt -a -f -p 10 "$pid" >/dev/null 2>&1 || true
    else
      chrt -a -o -p 0 "$pid" >/dev/null 2>&1 || true
    fi
  done
}

# Percentage of all CPUs busy over $1 seconds, from /proc/stat.
cpu_busy() {
  local a b
  a="$(head -1 /proc/stat)"
  sleep "${1:-2}"
  b="$(head -1 /proc/stat)"
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
    for (i = 2; i <= 9; i++) t += y[i] - x[i]; idle = (y[5] - x[5]) + (y[6] - x[6]);
    printf "%.0f", (t > 0 ? 100 * (t - idle) / t : 0) }'
}

# "busy total" jiffies of the whole machine, from /proc/stat.
machine_jiffies() {
  head -1 /proc/stat | awk '{ t = 0; for (i = 2; i <= 9; i++) t += $i; print (t - $5 - $6), t }'
}
# utime + stime + cutime + cstime of a process (children counted once waited for).
process_jiffies() {
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  s="${s##*) }"
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- $s
  echo $((${12} + ${13} + ${14} + ${15}))
}

BUSY="$(cpu_busy 2)"
if [ "$WAIT_QUIET" -gt 0 ]; then
  deadline=$((SECONDS + WAIT_QUIET))
  while [ "$BUSY" -gt 10 ] && [ "$SECONDS" -lt "$deadline" ]; do
    log "other processes keep the CPUs ${BUSY}% busy; waiting (up to ${WAIT_QUIET}s in all)"
    sleep 8
    # "busy total" jiffies of the whole machine, from /proc/stat.
machine_jiffies() {
  head -1 /proc/stat | awk '{ t = 0; for (i = 2; i <= 9; i++) t += $i; print (t - $5 - $6), t }'
}
# utime + stime + cutime + cstime of a process (children counted once waited for).
process_jiffies() {
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  s="${s##*) }"
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- $s
  echo $((${12} + ${13} + ${14} + ${15}))
}

BUSY="$(cpu_busy 2)"
  done
fi
[ "$BUSY" -gt 10 ] && log "warning: the CPUs were ${BUSY}% busy before the run (other processes); numbers will be noisy"

# --- processes ----------------------------------------------------------------------------------------------
MOCK_PID="" BIVIO_PID=""
cleanup() {
  local pid
  for pid in $BIVIO_PID $MOCK_PID; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $BIVIO_PID $MOCK_PID; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (at most 10 s) for a line matching $2 in file $1 and prints the first http://ADDR in it.
wait_for_url() {
  for _ in $(seq 1 100); do
    if grep -q "$2" "$1" 2>/dev/null; then
      grep -m1 "$2" "$1" | grep -o 'http://[0-9.:]*'
      return 0
    fi
    sleep 0.1
  done
  return 1
}

MOCK_ENV=(RUST_LOG=warn) BIVIO_ENV=(BIVIO_LOG=warn)
[ "$MOCK_NODELAY" = 1 ] && MOCK_ENV+=("LD_PRELOAD=$SHIM")
[ "$BIVIO_NODELAY" = 1 ] && BIVIO_ENV+=("LD_PRELOAD=$SHIM")

env "${MOCK_ENV[@]}" "${SERVER_PRIO[@]}" "${LOAD_CPU[@]}" "$MOCK_BIN" --listen 127.0.0.1:0 \
  >"$OUT/logs/mock.out" 2>"$OUT/logs/mock.err" &
MOCK_PID=$!
MOCK="$(wait_for_url "$OUT/logs/mock.out" '^listening on')" || die "the mock did not start (see $OUT/logs/mock.err)"

cat >"$OUT/bivio.toml" <<EOF
# Written by bench/gateway.sh: bivio in front of the mock upstream, both APIs.
[providers.mock_anthropic]
kind = "anthropic"
api_base = "$MOCK"

[providers.mock_openai]
kind = "openai_compatible"
api_base = "$MOCK/v1"

[models.bench-claude]
provider = "mock_anthropic"
upstream_model = "claude-mock"

[models.bench-local]
provider = "mock_openai"
upstream_model = "local-mock"
EOF
env "${BIVIO_ENV[@]}" "${SERVER_PRIO[@]}" "${BIVIO_CPU[@]}" "$BIVIO_BIN" serve --config "$OUT/bivio.toml" \
  --listen 127.0.0.1:0 >"$OUT/logs/bivio.out" 2>"$OUT/logs/bivio.err" &
BIVIO_PID=$!
BIVIO="$(wait_for_url "$OUT/logs/bivio.out" '^bivio listening on')" || die "bivio did not start (see $OUT/logs/bivio.err)"
log "mock upstream at $MOCK (pid $MOCK_PID), bivio at $BIVIO (pid $BIVIO_PID); pinning: $PINNING"

# --- targets ------------------------------------------------------------------------------------------------
PROMPT="Benchmark prompt: the quick brown fox jumps over the lazy dog."
# id | url | model | client API. Each bivio target is compared with the direct target of its upstream's API.
TARGETS=(
  "direct-anthropic|$MOCK/v1/messages|claude-mock|anthropic"
  "bivio-a2a|$BIVIO/v1/messages|bench-claude|anthropic"
  "bivio-o2a|$BIVIO/v1/chat/completions|bench-claude|openai"
  "direct-openai|$MOCK/v1/chat/completions|local-mock|openai"
  "bivio-o2o|$BIVIO/v1/chat/completions|bench-local|openai"
)
[ "$EXTRA" = 1 ] && TARGETS+=("bivio-a2o|$BIVIO/v1/messages|bench-local|anthropic")

for target in "${TARGETS[@]}"; do
  IFS='|' read -r id url model api <<<"$target"
  for mode in ns st; do
    stream=false
    [ "$mode" = st ] && stream=true
    printf '{"model":"%s","max_tokens":256,"stream":%s,"messages":[{"role":"user","content":"%s"}]}' \
      "$model" "$stream" "$PROMPT" >"$OUT/bodies/${id}_$mode.json"
  done
  # Sanity check: one request of each kind answers 200 before any load is applied.
  for mode in ns st; do
    code="$(curl -s -o "$OUT/logs/check_${id}_$mode.txt" -w '%{http_code}' --max-time 10 "$url" \
      -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' --data-binary "@$OUT/bodies/${id}_$mode.json")"
    [ "$code" = 200 ] || die "$id ($mode) answered HTTP $code: $(head -c 300 "$OUT/logs/check_${id}_$mode.txt")"
  done
done

# CPU time (ns) a process has used, all threads (from /proc/PID/task/*/schedstat).
cpu_ns() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f", t }'
}

# oha_run OUTFILE URL BODY API RATE|max SECONDS CONNECTIONS
# Also writes OUTFILE.cpu: CPU ns used by bivio and by the mock during the run, and the run's wall ns.
oha_run() {
  local out=$1 url=$2 body=$3 api=$4 rate=$5 secs=$6 conns=$7
  local args=(--no-tui -z "${secs}s" -w -t 10s -c "$conns" "${OHA_THREADS[@]}" -m POST -T application/json -D "$body"
    --output-format json)
  [ "$api" = anthropic ] && args+=(-H "anthropic-version: 2023-06-01")
  local prio=("${MAX_PRIO[@]}")
  if [ "$rate" != max ]; then
    args+=(-q "$rate" --latency-correction)
    prio=("${FIXED_PRIO[@]}")
  fi
  local b0 m0 t0
  b0=$(cpu_ns "$BIVIO_PID") m0=$(cpu_ns "$MOCK_PID") t0=$(date +%s%N)
  "${prio[@]}" "${LOAD_CPU[@]}" "$OHA" "${args[@]}" "$url" >"$out"
  echo "$(($(cpu_ns "$BIVIO_PID") - b0)) $(($(cpu_ns "$MOCK_PID") - m0)) $(($(date +%s%N) - t0))" >"$out.cpu"
}

# Both servers must outlive every run; a server that died makes the rest of the numbers meaningless.
check_alive() {
  kill -0 "$MOCK_PID" 2>/dev/null || die "the mock upstream (pid $MOCK_PID) exited during the run: $(tail -c 500 "$OUT/logs/mock.err")"
  kill -0 "$BIVIO_PID" 2>/dev/null || die "bivio (pid $BIVIO_PID) exited during the run: $(tail -c 500 "$OUT/logs/bivio.err")"
}

reset_mock() {
  check_alive
  curl -s -o /dev/null --max-time 10 -X POST "$MOCK/_mock/reset" || die "cannot reset the mock at $MOCK"
}

# --- load ---------------------------------------------------------------------------------------------------
START=$SECONDS
read -r MACHINE_BUSY0 MACHINE_TOTAL0 <<<"$(machine_jiffies)"
OURS0=$(($(process_jiffies $$) + $(process_jiffies "$MOCK_PID") + $(process_jiffies "$BIVIO_PID")))
for mode in ns st; do
  for target in "${TARGETS[@]}"; do
    IFS='|' read -r id url model api <<<"$target"
    body="$OUT/bodies/${id}_$mode.json"
    # The mock records every call in memory; forget them so its heap stays small between runs.
    reset_mock
    server_policy fixed
    oha_run "$OUT/raw/warmup.json" "$url" "$body" "$api" 500 "$WARMUP_SECS" "$CONNS"
    for rate in $RATES; do
      log "$mode $id: $rate req/s for ${FIXED_SECS}s"
      oha_run "$OUT/raw/${mode}_${id}_$rate.json" "$url" "$body" "$api" "$rate" "$FIXED_SECS" "$CONNS"
      check_alive
    done
    reset_mock
    server_policy max
    log "$mode $id: max throughput for ${MAX_SECS}s ($MAX_CONNS connections)"
    oha_run "$OUT/raw/${mode}_${id}_max.json" "$url" "$body" "$api" max "$MAX_SECS" "$MAX_CONNS"
    check_alive
  done
done
rm -f "$OUT/raw/warmup.json" "$OUT/raw/warmup.json.cpu"
log "load runs done in $((SECONDS - START))s; streaming checks"

reset_mock
server_policy fixed
stream_rc=0
"${FIXED_PRIO[@]}" "${LOAD_CPU[@]}" python3 bench/stream_check.py --mock "$MOCK" --bivio "$BIVIO" --out "$OUT/stream.md" || stream_rc=$?

# CPU that processes other than this benchmark's used while it measured, as a share of the whole machine.
read -r MACHINE_BUSY1 MACHINE_TOTAL1 <<<"$(machine_jiffies)"
OURS1=$(($(process_jiffies $$) + $(process_jiffies "$MOCK_PID") + $(process_jiffies "$BIVIO_PID")))
OTHERS=$(((100 * (MACHINE_BUSY1 - MACHINE_BUSY0 - (OURS1 - OURS0))) / (MACHINE_TOTAL1 - MACHINE_TOTAL0 + 1)))
[ "$OTHERS" -lt 0 ] && OTHERS=0
[ "$OTHERS" -gt 5 ] && log "warning: other processes used ${OTHERS}% of the CPUs during the measurements"

# --- summary ------------------------------------------------------------------------------------------------
git_rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ "$git_rev" != unknown ] && ! git diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null; then
  git_rev="$git_rev (crates/ modified in the working tree)"
fi
python3 - "$OUT/meta.json" <<EOF
import json, sys
json.dump({
    "command": "bash bench/gateway.sh",
    "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "nproc": "$NCPU",
    "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')",
    "kernel": "$(uname -r)",
    "revision": "$git_rev",
    "oha": "$("$OHA" --version)",
    "pinning": "$PINNING",
    "priority": "$PRIORITY",
    "mock_nodelay": "$MOCK_NODELAY" == "1",
    "bivio_nodelay": "$BIVIO_NODELAY" == "1",
    "busy_before": int("$BUSY"),
    "others_during": int("$OTHERS"),
    "rates": "$RATES".split(),
    "fixed_secs": $FIXED_SECS, "max_secs": $MAX_SECS, "conns": $CONNS, "max_conns": $MAX_CONNS,
}, open(sys.argv[1], "w"), indent=1)
EOF
summary_rc=0
python3 bench/summarize.py "$OUT" >"$OUT/summary.md" || summary_rc=$?
cat "$OUT/summary.md"
log "results: $OUT/summary.md (raw oha JSON in $OUT/raw)"
[ "$summary_rc" = 0 ] || die "some requests failed (see the summary)"
[ "$stream_rc" = 0 ] || die "the streaming pacing check failed (see the summary)"
