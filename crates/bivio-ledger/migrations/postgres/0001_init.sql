-- The ledger, version 1 (PostgreSQL). Keep column names, order and meaning identical to
-- migrations/sqlite/0001_init.sql; only the types differ (UUID ids, NUMERIC decimals, BOOLEAN flags).

CREATE TABLE ledger_requests (
    id                 UUID             NOT NULL PRIMARY KEY,
    ts_ms              BIGINT           NOT NULL,
    key_id             TEXT,
    ingress_api        TEXT             NOT NULL,
    requested_model    TEXT             NOT NULL,
    category           TEXT,
    route              TEXT,
    reasons            TEXT             NOT NULL DEFAULT '[]',
    provider           TEXT,
    upstream_model     TEXT,
    local              BOOLEAN          NOT NULL,
    attempts           INTEGER          NOT NULL,
    status             TEXT             NOT NULL,
    error_kind         TEXT,
    input_tokens       BIGINT           NOT NULL,
    output_tokens      BIGINT           NOT NULL,
    cache_read_tokens  BIGINT           NOT NULL,
    cache_write_tokens BIGINT           NOT NULL,
    reasoning_tokens   BIGINT,
    cost_usd           NUMERIC          NOT NULL,
    ttft_us            BIGINT,
    total_us           BIGINT           NOT NULL,
    upstream_us        BIGINT,
    overhead_us        BIGINT,
    output_tps         DOUBLE PRECISION,
    streamed           BOOLEAN          NOT NULL,
    sensitivity_kinds  TEXT             NOT NULL DEFAULT '[]'
);
CREATE INDEX ledger_requests_ts ON ledger_requests (ts_ms);

CREATE TABLE ledger_attempts (
    request_id         UUID             NOT NULL,
    attempt            INTEGER          NOT NULL,
    ts_ms              BIGINT           NOT NULL,
    provider           TEXT             NOT NULL,
    upstream_model     TEXT             NOT NULL,
    local              BOOLEAN          NOT NULL,
    status             TEXT             NOT NULL,
    error_kind         TEXT,
    input_tokens       BIGINT           NOT NULL,
    output_tokens      BIGINT           NOT NULL,
    cache_read_tokens  BIGINT           NOT NULL,
    cache_write_tokens BIGINT           NOT NULL,
    reasoning_tokens   BIGINT,
    cost_usd           NUMERIC          NOT NULL,
    ttft_us            BIGINT,
    total_us           BIGINT           NOT NULL,
    output_tps         DOUBLE PRECISION,
    PRIMARY KEY (request_id, attempt)
);

CREATE TABLE ledger_content (
    request_id         UUID             NOT NULL PRIMARY KEY,
    prompt             TEXT             NOT NULL,
    response           TEXT             NOT NULL
);
