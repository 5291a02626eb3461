"""`bivio serve` with no config at all: the embedded llama.cpp model serves both official SDKs, the policy
routes with Claude switched off (no ANTHROPIC_API_KEY) and says so, count_tokens is exact, concurrent
requests are all answered, and a client that goes away mid-stream is recorded as cancelled.

The model is a tiny base model (gibberish answers): what is tested is the plumbing and the routing.
Skipped only when the model file is absent (scripts/deps.sh fetches it).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import anthropic
import openai
import pytest

from bivio_harness import (
    BIVIO_BIN,
    CLIENT_KEY,
    LLAMA_MODEL,
    Gateway,
    anthropic_reply,
    collect_openai_stream,
    openai_reply,
)

MODEL = "gemma-3-270m"
CLIENT_TIMEOUT_S = 120.0
GREEDY = {"temperature": 0}


@pytest.fixture(scope="module")
def data_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bivio-test-zero-config-"))


@pytest.fixture(scope="module")
def zero(data_dir: Path) -> Gateway:
    if not LLAMA_MODEL.exists():
        pytest.skip(f"model file {LLAMA_MODEL} is absent: run scripts/deps.sh test")
    # An empty key counts as unset: the cloud route is off.
    gateway = Gateway(None, env={"ANTHROPIC_API_KEY": "", "BIVIO_DATA_DIR": str(data_dir), "BIVIO_LOG": "warn"})
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def claude_sdk(zero: Gateway):
    client = anthropic.Anthropic(base_url=zero.url, api_key=CLIENT_KEY, max_retries=0, timeout=CLIENT_TIMEOUT_S)
    yield client
    client.close()


@pytest.fixture(scope="module")
def openai_sdk(zero: Gateway):
    client = openai.OpenAI(base_url=f"{zero.url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=CLIENT_TIMEOUT_S)
    yield client
    client.close()


def ask(text: str, model: str = "bivio/auto", max_tokens: int = 8, **extra) -> dict:
    return dict(model=model, max_tokens=max_tokens, messages=[{"role": "user", "content": text}], **extra)


def test_start_up_banner_says_what_is_live(zero: Gateway):
    out = zero.child.stdout_path.read_text()
    assert f"local route: {MODEL} (embedded)" in out, out
    assert "cloud route: off (ANTHROPIC_API_KEY is not set)" in out, out
    assert f"ANTHROPIC_BASE_URL={zero.url}" in out, out
    assert f"OPENAI_BASE_URL={zero.url}/v1" in out, out


def test_models_list_the_auto_alias_and_both_routes(openai_sdk):
    ids = [m.id for m in openai_sdk.models.list().data]
    assert ids[0] == "bivio/auto"
    assert MODEL in ids and "claude-sonnet-4-5" in ids


def test_anthropic_sdk_on_the_embedded_model(claude_sdk):
    raw = claude_sdk.messages.with_raw_response.create(**ask("What is the capital of France?", extra_body=GREEDY))
    assert raw.headers["x-bivio-route"] == "local"
    assert raw.headers["x-bivio-category"] == "chat"
    reply = anthropic_reply(raw.parse())
    assert reply.model == MODEL, "bivio/auto answers name the model that served them"
    assert reply.stop in ("end_turn", "max_tokens")
    assert 0 < reply.usage["output_tokens"] <= 8
    assert reply.usage["input_tokens"] > 0

    # Streamed, greedy: the same text as the non-streamed answer.
    with claude_sdk.messages.stream(**ask("What is the capital of France?", extra_body=GREEDY)) as stream:
        deltas = [event.text for event in stream if event.type == "text"]
        final = anthropic_reply(stream.get_final_message())
    assert "".join(deltas) == final.text == reply.text
    assert final.usage["output_tokens"] == reply.usage["output_tokens"]


def test_openai_sdk_on_the_embedded_model(openai_sdk):
    reply = openai_reply(openai_sdk.chat.completions.create(**ask("Name a colour.", **GREEDY)))
    assert reply.stop in ("stop", "length")
    assert reply.usage["total_tokens"] == reply.usage["prompt_tokens"] + reply.usage["completion_tokens"]
    streamed = collect_openai_stream(
        openai_sdk.chat.completions.create(stream=True, stream_options={"include_usage": True}, **ask("Name a colour.", **GREEDY))
    )
    assert streamed.usage_chunk is not None
    assert streamed.reply.text == reply.text


def test_cloud_work_falls_back_to_local_and_says_why(claude_sdk):
    tools = [{"name": "book_flight", "description": "Books a flight", "input_schema": {"type": "object"}}]
    raw = claude_sdk.messages.with_raw_response.create(**ask("Book me a flight to Rome", tools=tools))
    assert raw.headers["x-bivio-category"] == "agentic"
    assert raw.headers["x-bivio-route"] == "local"
    assert "cloud unavailable: falling back to local" in raw.headers["x-bivio-reason"]
    raw.parse()

    # Naming a Claude model (as Claude Code does) gets the same treatment.
    raw = claude_sdk.messages.with_raw_response.create(**ask("hello", model="claude-sonnet-4-5"))
    assert raw.headers["x-bivio-route"] == "local"
    reason = raw.headers["x-bivio-reason"]
    assert "claude-sonnet-4-5 unavailable (ANTHROPIC_API_KEY is not set): falling back to local" in reason


def test_count_tokens_is_exact_on_the_embedded_model(claude_sdk):
    messages = [{"role": "user", "content": "Count the tokens of this sentence, please."}]
    counted = claude_sdk.messages.count_tokens(model=MODEL, messages=messages).input_tokens
    used = claude_sdk.messages.create(model=MODEL, max_tokens=1, messages=messages).usage.input_tokens
    assert counted == used > 5


def test_concurrent_requests_are_all_answered(claude_sdk):
    """The default config has one slot and a queue: parallel requests wait their turn, none is lost."""
    prompts = [f"Say the number {i}." for i in range(6)]

    def one(text: str):
        return claude_sdk.messages.create(**ask(text, model=MODEL, max_tokens=6))

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(prompts)) as pool:
        replies = list(pool.map(one, prompts))
    assert len(replies) == len(prompts)
    for message in replies:
        assert 0 < message.usage.output_tokens <= 6
        assert message.usage.input_tokens > 0


def test_a_client_that_disconnects_is_recorded_as_cancelled(zero: Gateway, claude_sdk, data_dir: Path):
    with claude_sdk.messages.stream(**ask("Tell me a very long story about the sea.", model=MODEL, max_tokens=2000)) as stream:
        for event in stream:
            if event.type == "text":
                break  # leaving the block closes the connection mid-answer
    # The slot is free again: the next request is served.
    assert claude_sdk.messages.create(**ask("hi", model=MODEL, max_tokens=2)).usage.output_tokens > 0

    ledger = data_dir / "ledger.sqlite3"
    deadline = time.monotonic() + 20
    rows = []
    while time.monotonic() < deadline:
        if ledger.exists():
            with sqlite3.connect(ledger) as db:
                rows = db.execute(
                    "SELECT status, error_kind, output_tokens FROM ledger_requests WHERE status = 'cancelled'"
                ).fetchall()
        if rows:
            break
        time.sleep(0.2)
    assert rows, "the abandoned stream is in the ledger as cancelled"
    status, error_kind, output_tokens = rows[0]
    assert error_kind == "cancelled"
    assert output_tokens < 2000


def run_bivio(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BIVIO_DATA_DIR": str(data_dir), "ANTHROPIC_API_KEY": "", "BIVIO_LOG": "warn"}
    env.pop("BIVIO_CONFIG", None)
    return subprocess.run([str(BIVIO_BIN), *args], env=env, capture_output=True, text=True, timeout=120)


def test_audit_says_where_sensitive_requests_went(claude_sdk, data_dir: Path):
    iban = "IT60 X054 2811 1010 0000 0123 456"
    raw = claude_sdk.messages.with_raw_response.create(**ask(f"Is {iban} valid?", model="claude-sonnet-4-5"))
    assert raw.headers["x-bivio-route"] == "local"
    assert raw.headers["x-bivio-reason"].startswith("guard: iban=1 -> local_only")
    raw.parse()

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        report = json.loads(run_bivio("audit", "--format", "json", data_dir=data_dir).stdout or "{}")
        if report.get("sensitive", {}).get("requests"):
            break
        time.sleep(0.3)
    kinds = {row["label"]: row for row in report["by_kind"]}
    assert kinds["iban"]["stayed_local"] >= 1
    assert kinds["iban"]["reached_cloud"] == 0
    assert report["cloud_requests_total"] == 0
    table = run_bivio("audit", data_dir=data_dir)
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("None of the"), table.stdout
    assert iban not in table.stdout and "X054" not in json.dumps(report)


def test_route_explain_prints_the_decision_without_calling_a_model(tmp_path: Path, data_dir: Path):
    body = {
        "model": "bivio/auto",
        "max_tokens": 100,
        "tools": [{"name": "get_weather", "description": "Weather by city", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "What's the weather in Rome? Use the tool."}],
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body))
    result = run_bivio("route", "explain", str(path), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "category:   agentic" in out, out
    assert "route:      local" in out, out
    assert "cloud unavailable: falling back to local" in out, out
    assert "tool definitions" in out, out

    path.write_text(json.dumps({**body, "messages": [{"role": "user", "content": "{"}], "max_tokens": "x"}))
    result = run_bivio("route", "explain", str(path), data_dir=data_dir)
    assert result.returncode == 2
    assert "max_tokens" in result.stderr, result.stderr
