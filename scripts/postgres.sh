#!/usr/bin/env bash
# A local PostgreSQL for the ledger's Postgres tests — installed, started and provisioned idempotently
# (about 0.1 s when it is already up). The last line on stdout is the URL for the tests:
#   export BIVIO_TEST_PG_URL=postgres://bivio:…@127.0.0.1:54329/bivio_test
# so callers can `eval "$(bash scripts/postgres.sh)"`. Progress goes to stderr.
#
# As root (CI, the dev machines): Debian's `postgresql` package and a dedicated cluster `bivio` made with
# pg_createcluster on port $BIVIO_PG_PORT, run by pg_ctlcluster as the postgres user. Its data lives in
# /var/lib/postgresql/<version>/bivio, not under ~/.cache: the postgres user cannot enter root's home.
# Not root: initdb into $BIVIO_CACHE/pg with PostgreSQL's binaries (PATH or /usr/lib/postgresql/*/bin),
# run as yourself.
#
# A throwaway test database on loopback: the password below is not a secret.
set -euo pipefail

# Everything the tools print (pg_ctlcluster says "Removed stale pid file." on stdout, apt chats) goes to
# stderr; only the final export line reaches the caller's eval, through fd 3. The server must not inherit
# fd 3 (`3>&-` where it starts), or the caller's $(…) would wait for the daemon to exit.
exec 3>&1 1>&2

PORT="${BIVIO_PG_PORT:-54329}"
CACHE="${BIVIO_CACHE:-$HOME/.cache/bivio}"
ROLE=bivio
PASSWORD=bivio-test-only
DB=bivio_test
URL="postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"

log() { printf '[postgres] %s\n' "$*" >&2; }
done_() { printf 'export BIVIO_TEST_PG_URL=%s\n' "$URL" >&3; exit 0; }

pg_bin() {
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && echo "$dir"
}

# Fast path: already up and provisioned.
BIN=$(pg_bin || true)
if [ -n "$BIN" ] && PGPASSWORD=$PASSWORD PGCONNECT_TIMEOUT=3 "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d "$DB" -Atqc 'SELECT 1' >/dev/null 2>&1; then
  done_
fi

if [ "$(id -u)" = 0 ]; then
  if ! command -v pg_createcluster >/dev/null 2>&1 || [ -z "$(pg_bin || true)" ]; then
    log "apt-get install postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  fi
  BIN=$(pg_bin)
  VERSION=$(basename "$(dirname "$BIN")")
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  if ! pg_lsclusters -h | awk '{print $1 "/" $2}' | grep -qx "$VERSION/bivio"; then
    log "creating cluster $VERSION/bivio on port $PORT"
    pg_createcluster "$VERSION" bivio -p "$PORT" -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  fi
  if ! pg_lsclusters -h | awk '$1 "/" $2 == "'"$VERSION/bivio"'" {print $4}' | grep -q online; then
    log "starting cluster $VERSION/bivio"
    pg_ctlcluster "$VERSION" bivio start 3>&-
  fi
  as_admin() { su postgres -s /bin/sh -c "$BIN/psql -p $PORT -v ON_ERROR_STOP=1 -Atq $*"; }
else
  [ -n "$BIN" ] || { log "PostgreSQL is not installed and this is not root: install postgresql first"; exit 1; }
  DATA="$CACHE/pg"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    log "initdb $DATA"
    mkdir -p "$DATA"
    "$BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  fi
  if ! "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "starting $DATA on port $PORT"
    "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
      -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1" start >/dev/null 3>&-
  fi
  as_admin() { sh -c "$BIN/psql -h $DATA -p $PORT -U postgres -v ON_ERROR_STOP=1 -Atq $*"; }
fi

for _ in $(seq 1 50); do
  "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
  sleep 0.2
done

if [ "$(as_admin "-c \"SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'\"")" != 1 ]; then
  log "creating role $ROLE"
  as_admin "-c \"CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'\""
fi
if [ "$(as_admin "-c \"SELECT 1 FROM pg_database WHERE datname = '$DB'\"")" != 1 ]; then
  log "creating database $DB"
  as_admin "-c \"CREATE DATABASE $DB OWNER $ROLE\""
fi
done_
