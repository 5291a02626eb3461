-- The ledger, version 1 (SQLite). Keep column names, order and meaning identical to
-- migrations/postgres/0001_init.sql; only the types differ (TEXT ids and decimals, INTEGER booleans).

CREATE TABLE ledger_requests (
    id                 TEXT    NOT NULL PRIMARY KEY,       -- UUIDv7, canonical hyphenated form
    ts_ms              INTEGER NOT NULL,                   -- arrival, unix ms
    key_id             TEXT,
    ingress_api        TEXT    NOT NULL,                   -- anthropic | openai
    requested_model    TEXT    NOT NULL,
    category           TEXT,
    route              TEXT,
    reasons            TEXT    NOT NULL DEFAULT '[]',      -- JSON array of strings
    provider           TEXT,
    upstream_model     TEXT,
    local              INTEGER NOT NULL CHECK (local IN (0, 1)),
    attempts           INTEGER NOT NULL,
    status             TEXT    NOT NULL,                   -- ok | error | cancelled
    error_kind         TEXT,
    input_tokens       INTEGER NOT NULL,                   -- excludes cache reads and writes
    output_tokens      INTEGER NOT NULL,                   -- includes reasoning
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER,
    cost_usd           TEXT    NOT NULL,                   -- exact decimal
    ttft_us            INTEGER,
    total_us           INTEGER NOT NULL,
    upstream_us        INTEGER,
    overhead_us        INTEGER,                            -- total_us - upstream_us
    output_tps         REAL,                               -- output tokens per second of generation
    streamed           INTEGER NOT NULL CHECK (streamed IN (0, 1)),
    sensitivity_kinds  TEXT    NOT NULL DEFAULT '[]'       -- JSON array of kind names, never values
);
CREATE INDEX ledger_requests_ts ON ledger_requests (ts_ms);

CREATE TABLE ledger_attempts (
    request_id         TEXT    NOT NULL,                   -- ledger_requests.id
    attempt            INTEGER NOT NULL,                   -- 1-based
    ts_ms              INTEGER NOT NULL,
    provider           TEXT    NOT NULL,
    upstream_model     TEXT    NOT NULL,
    local              INTEGER NOT NULL CHECK (local IN (0, 1)),
    status             TEXT    NOT NULL,
    error_kind         TEXT,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER,
    cost_usd           TEXT    NOT NULL,
    ttft_us            INTEGER,
    total_us           INTEGER NOT NULL,
    output_tps         REAL,
    PRIMARY KEY (request_id, attempt)
) WITHOUT ROWID;

-- Prompt and answer text: only rows whose key enables content storage; kept apart so the main table
-- stays narrow and content can be purged on its own.
CREATE TABLE ledger_content (
    request_id         TEXT    NOT NULL PRIMARY KEY,
    prompt             TEXT    NOT NULL,
    response           TEXT    NOT NULL
);
