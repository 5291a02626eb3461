"""SIGTERM to a loaded gateway: in-flight requests finish, and every completed request is in the ledger.

Uses its own bivio process (the session gateway must survive) with a SQLite ledger in a temp dir, a
slow scripted stream so that requests are genuinely in flight when the signal arrives, and a mix of
streamed and non-streamed calls on both APIs.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bivio_harness import UPSTREAM_KEY, UPSTREAM_KEY_ENV, Gateway, MockUpstream

CONCURRENT = 24


def test_sigterm_drains_in_flight_requests_and_flushes_the_ledger(mock: MockUpstream) -> None:
    ledger_dir = Path(tempfile.mkdtemp(prefix="bivio-ledger-test-"))
    ledger_path = ledger_dir / "ledger.sqlite3"
    config = f"""
[providers.claude]
kind = "anthropic"
api_base = "{mock.anthropic_base}"
api_key_env = "{UPSTREAM_KEY_ENV}"
[providers.local]
kind = "openai_compatible"
api_base = "{mock.openai_base}"
api_key_env = "{UPSTREAM_KEY_ENV}"
local = true
[models.claude]
provider = "claude"
price = {{ input = 3, output = 15 }}
[models.local]
provider = "local"
[ledger]
path = "{ledger_path}"
flush_interval_ms = 1000
"""
    marker = mock.script(
        {"content": [{"type": "text", "text": "slow words arriving one by one"}], "stream": {"chunk_delay_ms": 60, "chunk_size": 3}},
        name="drain",
    )
    gateway = Gateway(config, env={UPSTREAM_KEY_ENV: UPSTREAM_KEY})
    results: list[tuple[int, bool, str]] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        model = "claude" if i % 2 else "local"
        stream = i % 3 != 0
        if i % 4 < 2:
            url, body = "/v1/messages", {"model": model, "max_tokens": 64, "stream": stream,
                                         "messages": [{"role": "user", "content": f"{marker} request {i}"}]}
        else:
            url, body = "/v1/chat/completions", {"model": model, "stream": stream,
                                                 "messages": [{"role": "user", "content": f"{marker} request {i}"}]}
        with httpx.Client(base_url=gateway.url, timeout=30.0) as client:
            response = client.post(url, json=body)
            complete = response.status_code == 200 and (
                not stream or "message_stop" in response.text or "[DONE]" in response.text
            )
            with lock:
                results.append((response.status_code, complete, response.headers.get("request-id", "")))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(CONCURRENT)]
    try:
        for thread in threads:
            thread.start()
        # Wait until every request reached the upstream, so all are in flight, then ask bivio to stop.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(mock.calls_with(marker)) < CONCURRENT:
            time.sleep(0.02)
        assert len(mock.calls_with(marker)) == CONCURRENT
        gateway.child.proc.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(timeout=30)
        exit_code = gateway.child.proc.wait(timeout=30)
    finally:
        gateway.stop()

    assert exit_code == 0
    assert len(results) == CONCURRENT
    assert all(complete for _, complete, _ in results), f"an in-flight request was cut by shutdown: {results}"

    db = sqlite3.connect(ledger_path)
    rows = db.execute("SELECT id, status, requested_model, streamed, output_tokens, cost_usd FROM ledger_requests").fetchall()
    ids = {f"req_{row[0].replace('-', '')}" for row in rows}
    missing = {request_id for _, _, request_id in results} - ids
    assert not missing, f"completed requests missing from the ledger: {missing}"
    assert len(rows) == CONCURRENT
    assert all(row[1] == "ok" and row[4] > 0 for row in rows), rows
    # Claude is priced, the local model is not: costs follow the model.
    assert all((float(row[5]) > 0) == (row[2] == "claude") for row in rows), rows
    attempts = db.execute("SELECT COUNT(*) FROM ledger_attempts").fetchone()[0]
    assert attempts == CONCURRENT
