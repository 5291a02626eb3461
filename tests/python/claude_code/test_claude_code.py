"""Claude Code, the real CLI, runs a scripted agent session through bivio to the mock upstream.

The mock answers the main conversation in two steps: first a `Bash` tool_use that writes a marker file,
then (once Claude Code has sent the tool_result back) the final text. The test checks the CLI's result,
that the tool really ran, what the upstream saw, and that every call went through bivio.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from claude_code_harness import UPSTREAM_KEY, Service, claude_binary, http_json, stop_process

CLAUDE = claude_binary()
pytestmark = pytest.mark.skipif(
    CLAUDE is None,
    reason="Claude Code CLI not installed (run `scripts/deps.sh test`, or set BIVIO_CLAUDE_BIN)",
)

MODEL = "claude-sonnet-4-5"
SMALL_MODEL = "claude-haiku-4-5"
CLIENT_KEY = "sk-test-claude-code-client"
CLAUDE_TIMEOUT_S = 180
TOOL_ID = "toolu_bivio_cc_01"
MARKER_FILE = "marker.txt"
MARKER_TEXT = "bivio-ok"
FINAL_TEXT = "DONE-bivio"

FIELD_RE = re.compile(r'(\w+)=("[^"]*"|\S+)')


def claude_env(home: Path, bivio: Service) -> dict[str, str]:
    """A clean environment: only bivio is reachable, no user config, nothing phones home."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "TMPDIR": str(home / "tmp"),
        "ANTHROPIC_BASE_URL": bivio.url,
        "ANTHROPIC_API_KEY": CLIENT_KEY,
        "ANTHROPIC_MODEL": MODEL,
        "ANTHROPIC_SMALL_FAST_MODEL": SMALL_MODEL,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": MODEL,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": SMALL_MODEL,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_BUG_COMMAND": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_NON_ESSENTIAL_MODEL_CALLS": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def run_claude(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Runs the CLI in its own process group so a timeout also kills any shell it spawned."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        text=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=CLAUDE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        stop_process(proc)
        stdout, stderr = proc.communicate()
        pytest.fail(f"claude did not finish within {CLAUDE_TIMEOUT_S}s\nstdout:\n{stdout}\nstderr:\n{stderr}")
    finally:
        stop_process(proc)
    return proc.returncode, stdout, stderr


def texts(value: object) -> list[str]:
    """Every `text` (and string content) in a message or block tree."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for item in value for t in texts(item)]
    if isinstance(value, dict):
        out = [value["text"]] if isinstance(value.get("text"), str) else []
        return out + texts(value.get("content", []))
    return []


def blocks(message: dict) -> list[dict]:
    content = message.get("content")
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def finished_requests(bivio: Service) -> list[dict[str, str]]:
    """bivio's `request finished` log lines, as field dicts."""
    out = []
    for line in bivio.log().splitlines():
        if "request finished" in line:
            out.append({k: v.strip('"') for k, v in FIELD_RE.findall(line)})
    return out


def test_claude_code_tool_round_trip_through_bivio(cc_workdir: Path, cc_mock: Service, cc_bivio: Service) -> None:
    started = time.monotonic()
    key = f"cc-{uuid.uuid4().hex[:12]}"
    http_json(
        "POST",
        f"{cc_mock.url}/_mock/scripts",
        {
            "key": key,
            "script": {
                "steps": [
                    {
                        "content": [
                            {"type": "text", "text": "I will write the marker file."},
                            {
                                "type": "tool_use",
                                "id": TOOL_ID,
                                "name": "Bash",
                                "input": {
                                    "command": f"echo {MARKER_TEXT} > {MARKER_FILE}",
                                    "description": "Write the marker file",
                                },
                            },
                        ]
                    },
                    {"content": [{"type": "text", "text": FINAL_TEXT}]},
                ]
            },
        },
    )

    home, work = cc_workdir / "home", cc_workdir / "work"
    for d in (home, home / "tmp", work):
        d.mkdir(parents=True, exist_ok=True)
    prompt = f"[[mock:{key}]] Create {MARKER_FILE} containing {MARKER_TEXT} with the Bash tool, then say {FINAL_TEXT}."
    argv = [
        str(CLAUDE),
        "-p",
        prompt,
        "--output-format",
        "json",
        "--model",
        MODEL,
        "--allowedTools",
        "Bash",
        "--max-turns",
        "3",
    ]
    rc, stdout, stderr = run_claude(argv, work, claude_env(home, cc_bivio))
    context = f"\nclaude stdout:\n{stdout}\nclaude stderr:\n{stderr}\nbivio log:\n{cc_bivio.log()}\nmock log:\n{cc_mock.log()}"

    # The CLI succeeded and reported the scripted final text.
    assert rc == 0, f"claude exited {rc}{context}"
    result = json.loads(stdout)
    assert result.get("type") == "result" and result.get("subtype") == "success", context
    assert result.get("is_error") is False, context
    assert FINAL_TEXT in result.get("result", ""), context
    assert result.get("num_turns", 0) >= 2, context

    # The tool really ran, in the session's working directory.
    marker = work / MARKER_FILE
    assert marker.is_file(), f"{MARKER_FILE} was not written{context}"
    assert marker.read_text().strip() == MARKER_TEXT

    # What the upstream saw: only known API paths, and the main conversation as scripted.
    calls = http_json("GET", f"{cc_mock.url}/_mock/calls")
    assert isinstance(calls, list)
    paths = [(c["method"], c["path"]) for c in calls]
    known = {("POST", "/v1/messages"), ("POST", "/v1/messages/count_tokens"), ("GET", "/v1/models")}
    assert set(paths) <= known, f"unexpected upstream paths {paths}{context}"
    messages_calls = [c for c in calls if c["path"] == "/v1/messages"]
    main = [
        c
        for c in messages_calls
        if c["body"].get("tools") and any(f"[[mock:{key}]]" in t for t in texts(c["body"].get("messages", [])))
    ]
    assert len(main) >= 2, f"expected ≥2 main-conversation calls, got {len(main)} of {paths}{context}"
    for call in main:
        assert call["body"]["model"] == MODEL

    first, second = main[0]["body"]["messages"], main[1]["body"]["messages"]
    assert [m["role"] for m in first] == ["user"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    tool_uses = [b for b in blocks(second[1]) if b.get("type") == "tool_use"]
    assert [(b["id"], b["name"]) for b in tool_uses] == [(TOOL_ID, "Bash")]
    assert tool_uses[0]["input"]["command"] == f"echo {MARKER_TEXT} > {MARKER_FILE}"
    tool_results = [b for b in blocks(second[2]) if b.get("type") == "tool_result"]
    assert [b["tool_use_id"] for b in tool_results] == [TOOL_ID], second[2]
    assert not tool_results[0].get("is_error"), tool_results[0]

    # Everything went through bivio: the mock demands bivio's upstream key, the client's key never
    # reaches it, and bivio finished exactly one successful request per upstream messages call.
    for call in calls:
        headers = dict(call["headers"])
        assert headers.get("x-api-key") == UPSTREAM_KEY, headers
        assert CLIENT_KEY not in json.dumps(call["headers"])
    deadline = time.monotonic() + 5
    while len(finished := finished_requests(cc_bivio)) < len(messages_calls) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(finished) == len(messages_calls), f"{finished}{context}"
    assert all(f.get("outcome") == "ok" and f.get("api") == "anthropic" for f in finished), finished
    stats = http_json("GET", f"{cc_mock.url}/_mock/stats")
    assert stats["calls"] == len(calls)
    assert stats["streams_cancelled"] == 0, stats

    print(
        f"\nclaude code via bivio: {len(calls)} upstream calls "
        f"{[(c['path'], c['body'].get('model'), len(c['body'].get('messages', []))) for c in calls]}, "
        f"{time.monotonic() - started:.1f}s"
    )
