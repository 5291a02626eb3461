"""Process and protocol helpers for bivio's Python conformance tests.

Starts the real binaries (bivio, bivio-mock-upstream, llama-cpp-python's server) as child processes with
bounded waits and guaranteed teardown, talks to the mock's control API, and turns the official SDKs'
answers into one small comparable shape (:class:`Reply`) so that a test can run unchanged over the four
pairings (Anthropic SDK | OpenAI SDK) x (Anthropic backend | OpenAI-compatible backend).

Nothing here knows bivio's internals: expectations are derived from docs/protocol-notes.md only.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("BIVIO_CACHE", Path.home() / ".cache" / "bivio"))
BIVIO_BIN = Path(os.environ.get("BIVIO_BIN", REPO_ROOT / "target" / "debug" / "bivio"))
MOCK_BIN = Path(os.environ.get("BIVIO_MOCK_BIN", REPO_ROOT / "target" / "debug" / "bivio-mock-upstream"))
LLAMA_MODEL = CACHE / "models" / "gemma-3-270m-q4_k_m.gguf"

#: Key the mock upstream demands; bivio gets it through `api_key_env`, clients never see it.
UPSTREAM_KEY = "sk-mock-upstream-key"
UPSTREAM_KEY_ENV = "BIVIO_TEST_UPSTREAM_KEY"
#: Key the SDK clients send to bivio; it must never reach an upstream.
CLIENT_KEY = "sk-client-key-not-for-upstream"

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
#: Set to keep the children's log files (in /tmp/bivio-test-*) after the session, for debugging.
KEEP_LOGS = bool(os.environ.get("BIVIO_TEST_KEEP_LOGS"))


# --------------------------------------------------------------------------------------------------
# Child processes
# --------------------------------------------------------------------------------------------------

_live: list["Child"] = []


def _kill_leftovers() -> None:
    """Last resort if a session fixture never reached its teardown (e.g. an interrupted run)."""
    for child in list(_live):
        child.stop()


atexit.register(_kill_leftovers)


class Child:
    """A child process whose stdout/stderr go to log files (so a chatty child can never block on a full
    pipe) and whose log is shown when start-up fails."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None):
        self.name = name
        self.argv = argv
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"bivio-test-{name}-"))
        self.stdout_path = self.log_dir / "stdout.log"
        self.stderr_path = self.log_dir / "stderr.log"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                # Own process group: a signal to the test runner's group does not hit it twice, and
                # stop() can take down any helper it spawned.
                start_new_session=True,
            )
        _live.append(self)

    def logs(self, limit: int = 4000) -> str:
        parts = []
        for path in (self.stdout_path, self.stderr_path):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                text = ""
            parts.append(f"--- {self.name} {path.name} ---\n{text[-limit:]}")
        return "\n".join(parts)

    def wait_for_line(self, pattern: str, timeout: float = START_TIMEOUT_S) -> re.Match[str]:
        """Polls stdout until a line matches `pattern` (the child's "listening on" line)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.stdout_path.read_text(errors="replace").splitlines():
                if match := regex.search(line):
                    return match
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}\n{self.logs()}")
            time.sleep(0.02)
        raise TimeoutError(f"{self.name}: no line matching {pattern!r} within {timeout}s\n{self.logs()}")

    def wait_for_http(self, url: str, timeout: float = START_TIMEOUT_S) -> None:
        """Polls `url` until it answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}\n{self.logs()}")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name}: {url} not ready within {timeout}s\n{self.logs()}")

    def stop(self) -> None:
        """SIGTERM, a bounded wait, then SIGKILL of the whole process group; then the logs go."""
        if self in _live:
            _live.remove(self)
        self._terminate()
        if not KEEP_LOGS:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def _terminate(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=STOP_TIMEOUT_S)


def free_port() -> int:
    """A port nothing listens on (bound then released; good enough for a 'connection refused' target)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_binaries() -> None:
    missing = [str(p) for p in (BIVIO_BIN, MOCK_BIN) if not p.exists()]
    if missing:
        raise RuntimeError(f"missing binaries {missing}: run `cargo build` first (or set BIVIO_BIN/BIVIO_MOCK_BIN)")


# --------------------------------------------------------------------------------------------------
# The mock upstream and its control API
# --------------------------------------------------------------------------------------------------


class MockUpstream:
    """`bivio-mock-upstream` as a process, plus its `/_mock` control API."""

    def __init__(self, require_key: str | None = UPSTREAM_KEY):
        require_binaries()
        argv = [str(MOCK_BIN), "--listen", "127.0.0.1:0"]
        if require_key:
            argv += ["--require-key", require_key]
        self.child = Child("mock-upstream", argv)
        try:
            self.url = self.child.wait_for_line(r"listening on (http://\S+)").group(1)
        except BaseException:
            self.child.stop()  # the exception already carries the log
            raise
        self.http = httpx.Client(base_url=self.url, timeout=10.0)
        self._keys = itertools.count()

    def stop(self) -> None:
        self.http.close()
        self.child.stop()

    @property
    def anthropic_base(self) -> str:
        return self.url

    @property
    def openai_base(self) -> str:
        return f"{self.url}/v1"

    def script(self, script: dict[str, Any], name: str = "s") -> str:
        """Registers `script` under a fresh key and returns the `[[mock:KEY]]` marker that selects it.
        Fresh keys keep tests independent without resetting the shared mock."""
        key = f"{re.sub(r'[^A-Za-z0-9_-]', '_', name)}-{next(self._keys)}"
        response = self.http.post("/_mock/scripts", json={"key": key, "script": script})
        assert response.status_code == 200, f"mock rejected script {script}: {response.text}"
        return f"[[mock:{key}]]"

    def calls(self) -> list[dict[str, Any]]:
        return self.http.get("/_mock/calls").json()

    def calls_with(self, marker: str) -> list[dict[str, Any]]:
        """Recorded API calls whose body mentions `marker`, in arrival order."""
        return [c for c in self.calls() if marker in json.dumps(c["body"], ensure_ascii=False)]

    def only_call_with(self, marker: str) -> dict[str, Any]:
        calls = self.calls_with(marker)
        assert len(calls) == 1, f"expected exactly one upstream call for {marker}, got {len(calls)}"
        return calls[0]

    def stats(self) -> dict[str, int]:
        return self.http.get("/_mock/stats").json()

    def wait_for_stats(self, done: Callable[[dict[str, int]], bool], timeout: float = 5.0) -> dict[str, int]:
        """Polls the counters until `done` holds or `timeout` passes; returns the last counters either way so
        the caller's assertion shows what was seen."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if done(stats) or time.monotonic() >= deadline:
                return stats
            time.sleep(0.02)

    def wait_streams_settled(self, timeout: float = 5.0) -> dict[str, int]:
        """Waits until every stream the mock started has ended one way or the other, so a test measuring a
        counter delta is not confused by an earlier test's stream ending late."""
        return self.wait_for_stats(
            lambda s: s["streams_started"] == s["streams_completed"] + s["streams_cancelled"], timeout
        )


def header(call: dict[str, Any], name: str) -> str | None:
    """First value of a recorded call's header (names are recorded lower-case)."""
    for key, value in call["headers"]:
        if key.lower() == name.lower():
            return value
    return None


# --------------------------------------------------------------------------------------------------
# bivio
# --------------------------------------------------------------------------------------------------

CLAUDE_MODEL = "claude-test"
LOCAL_MODEL = "local-test"
CLAUDE_UPSTREAM = "claude-sonnet-4-5"
LOCAL_UPSTREAM = "mock-local"
DEAD_CLAUDE_MODEL = "dead-claude"
DEAD_LOCAL_MODEL = "dead-local"
SLOW_CLAUDE_MODEL = "slow-claude"
SLOW_LOCAL_MODEL = "slow-local"
#: Response and stream-idle timeout of the slow providers (the mock's delays exceed it).
SLOW_TIMEOUT_S = 1
MAX_BODY_BYTES = 1_048_576


def gateway_config(mock: MockUpstream, dead_port: int) -> str:
    """Two live models (one per backend API), two whose provider points at a closed port, and two on the mock
    behind providers with 1-second timeouts."""
    return f"""
[server]
listen = "127.0.0.1:0"
max_body_bytes = {MAX_BODY_BYTES}

# These suites test the wire protocols: images must reach every backend. (With the default guard, images
# stay on local models; the privacy behaviour has its own tests.)
[guard]
images = "allow"

[providers.claude]
kind = "anthropic"
api_base = "{mock.anthropic_base}"
api_key_env = "{UPSTREAM_KEY_ENV}"

[providers.local]
kind = "openai_compatible"
api_base = "{mock.openai_base}"
api_key_env = "{UPSTREAM_KEY_ENV}"

[providers.dead_claude]
kind = "anthropic"
api_base = "http://127.0.0.1:{dead_port}"
connect_timeout_secs = 2

[providers.dead_local]
kind = "openai_compatible"
api_base = "http://127.0.0.1:{dead_port}/v1"
connect_timeout_secs = 2

[providers.slow_claude]
kind = "anthropic"
api_base = "{mock.anthropic_base}"
api_key_env = "{UPSTREAM_KEY_ENV}"
response_timeout_secs = {SLOW_TIMEOUT_S}
stream_idle_timeout_secs = {SLOW_TIMEOUT_S}

[providers.slow_local]
kind = "openai_compatible"
api_base = "{mock.openai_base}"
api_key_env = "{UPSTREAM_KEY_ENV}"
response_timeout_secs = {SLOW_TIMEOUT_S}
stream_idle_timeout_secs = {SLOW_TIMEOUT_S}

[models.{CLAUDE_MODEL}]
provider = "claude"
upstream_model = "{CLAUDE_UPSTREAM}"

[models.{LOCAL_MODEL}]
provider = "local"
upstream_model = "{LOCAL_UPSTREAM}"

[models.{DEAD_CLAUDE_MODEL}]
provider = "dead_claude"

[models.{DEAD_LOCAL_MODEL}]
provider = "dead_local"

[models.{SLOW_CLAUDE_MODEL}]
provider = "slow_claude"
upstream_model = "{CLAUDE_UPSTREAM}"

[models.{SLOW_LOCAL_MODEL}]
provider = "slow_local"
upstream_model = "{LOCAL_UPSTREAM}"
"""


class Gateway:
    """`bivio serve` on an ephemeral port (read back from its first stdout line), ready once /readyz is 200.
    `config_text=None` starts it with no config file: the built-in zero-config default."""

    def __init__(self, config_text: str | None, env: dict[str, str] | None = None):
        require_binaries()
        self.config_dir = Path(tempfile.mkdtemp(prefix="bivio-test-config-"))
        self.config_path = self.config_dir / "bivio.toml"
        argv = [str(BIVIO_BIN), "serve", "--listen", "127.0.0.1:0"]
        if config_text is not None:
            self.config_path.write_text(config_text)
            argv += ["--config", str(self.config_path)]
        self.child = Child("bivio", argv, env={"BIVIO_LOG": "warn", **(env or {})})
        try:
            self.url = self.child.wait_for_line(r"^bivio listening on (http://\S+)").group(1)
            self.child.wait_for_http(f"{self.url}/readyz")
        except BaseException:
            self.child.stop()  # the exception already carries the log
            shutil.rmtree(self.config_dir, ignore_errors=True)
            raise
        self.http = httpx.Client(base_url=self.url, timeout=30.0)

    def stop(self) -> None:
        self.http.close()
        self.child.stop()
        shutil.rmtree(self.config_dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Pairings and normalised replies
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairing:
    """Which SDK talks to bivio, and which backend API the model lives on."""

    sdk: str  # "anthropic" | "openai"
    backend: str  # "anthropic" | "openai"

    @property
    def model(self) -> str:
        return CLAUDE_MODEL if self.backend == "anthropic" else LOCAL_MODEL

    @property
    def upstream_model(self) -> str:
        return CLAUDE_UPSTREAM if self.backend == "anthropic" else LOCAL_UPSTREAM

    @property
    def passthrough(self) -> bool:
        """Same API on both sides: bivio forwards bodies and frames with only the model replaced."""
        return self.sdk == self.backend

    @property
    def id(self) -> str:
        return f"{self.sdk}_sdk-{self.backend}_backend"


PAIRINGS = [Pairing(sdk, backend) for sdk in ("anthropic", "openai") for backend in ("anthropic", "openai")]

# The table in protocol-notes.md.
FINISH_FOR_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
STOP_FOR_FINISH = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def expected_stop(pairing: Pairing, scripted: str) -> str:
    """The stop/finish reason the client should see for a scripted Anthropic stop reason. The mock renders
    the script in the backend's API (OpenAI backends get the table's finish_reason), then bivio maps it to
    the client's API."""
    on_wire = scripted if pairing.backend == "anthropic" else FINISH_FOR_STOP[scripted]
    if pairing.sdk == pairing.backend:
        return on_wire
    if pairing.sdk == "openai":
        return FINISH_FOR_STOP[on_wire]
    return STOP_FOR_FINISH.get(on_wire, "end_turn")


def anthropic_tool_id(raw: str) -> str:
    """Anthropic's id rule `^[a-zA-Z0-9_-]+$`, as protocol-notes asks bivio to map foreign ids."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", raw)


def client_tool_id(pairing: Pairing, upstream_id: str) -> str:
    """The tool-call id the client should see for an id the backend produced."""
    if pairing.sdk == "anthropic" and pairing.backend == "openai":
        return anthropic_tool_id(upstream_id)
    return upstream_id


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class Reply:
    """An answer reduced to what every pairing can compare. `usage` keeps the SDK's own field names."""

    text: str
    stop: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    thinking: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    model: str | None = None


def anthropic_reply(message: Any) -> Reply:
    """From an `anthropic.types.Message` (checked to be the real SDK type with real block types)."""
    import anthropic.types as at

    assert isinstance(message, at.Message), type(message)
    assert message.type == "message" and message.role == "assistant"
    text, thinking, calls = "", "", []
    for block in message.content:
        if block.type == "text":
            text += block.text
        elif block.type == "thinking":
            thinking += block.thinking
        elif block.type == "tool_use":
            # The SDK hands tool input over as a parsed object, never a JSON string.
            assert isinstance(block.input, dict), f"tool_use.input is {type(block.input)}"
            calls.append(ToolCall(block.id, block.name, block.input))
    return Reply(
        text=text,
        stop=message.stop_reason,
        tool_calls=calls,
        thinking=thinking,
        usage=message.usage.model_dump(),
        model=message.model,
    )


def openai_reply(completion: Any) -> Reply:
    """From an `openai.types.chat.ChatCompletion` (arguments are JSON strings and must parse)."""
    from openai.types.chat import ChatCompletion

    assert isinstance(completion, ChatCompletion), type(completion)
    assert completion.object == "chat.completion"
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    message = choice.message
    assert message.role == "assistant"
    calls = []
    for call in message.tool_calls or []:
        assert call.type == "function"
        assert isinstance(call.function.arguments, str), "OpenAI tool arguments must be a JSON string"
        calls.append(ToolCall(call.id, call.function.name, json.loads(call.function.arguments)))
    extra = message.model_extra or {}
    return Reply(
        text=message.content or "",
        stop=choice.finish_reason,
        tool_calls=calls,
        thinking=extra.get("reasoning_content") or extra.get("reasoning") or "",
        usage=completion.usage.model_dump() if completion.usage else {},
        model=completion.model,
    )


@dataclass
class OpenAIStream:
    """What a raw `create(stream=True)` produced, with the chunk-level contract checked on the way."""

    reply: Reply
    chunks: list[Any]
    usage_chunk: Any | None


def collect_openai_stream(chunks: Iterable[Any]) -> OpenAIStream:
    """Accumulates chunks the way a careful client does and checks protocol-notes' stream rules: one `id` and
    `created` throughout, a first delta with role assistant, tool-call fragments (first one with id, type,
    name; `index` counting tool calls), one finish_reason, usage only in a final `choices: []` chunk."""
    seen: list[Any] = []
    text, thinking, finish = "", "", None
    calls: dict[int, dict[str, Any]] = {}
    usage_chunk = None
    for chunk in chunks:
        seen.append(chunk)
        assert chunk.object == "chat.completion.chunk"
        assert chunk.id == seen[0].id, "every chunk must carry the same id"
        assert chunk.created == seen[0].created, "every chunk must carry the same created"
        assert usage_chunk is None, "the usage chunk must be the last one"
        if not chunk.choices:
            assert chunk.usage is not None, "a chunk without choices must carry usage"
            usage_chunk = chunk
            continue
        assert chunk.usage is None, "usage may only arrive in the final choices-less chunk"
        assert len(chunk.choices) == 1
        choice = chunk.choices[0]
        delta = choice.delta
        if len(seen) == 1:
            assert delta.role == "assistant", "the first delta must announce the assistant role"
        if delta.content:
            text += delta.content
        extra = delta.model_extra or {}
        thinking += extra.get("reasoning_content") or extra.get("reasoning") or ""
        for fragment in delta.tool_calls or []:
            assert fragment.index is not None
            if fragment.index not in calls:
                assert fragment.index == len(calls), "tool-call indexes must count calls from 0"
                assert fragment.id, "the first fragment of a call carries its id"
                assert fragment.type == "function"
                assert fragment.function and fragment.function.name
                calls[fragment.index] = {
                    "id": fragment.id,
                    "name": fragment.function.name,
                    "arguments": fragment.function.arguments or "",
                }
            else:
                assert not fragment.id, "continuation fragments must not restart the call"
                calls[fragment.index]["arguments"] += fragment.function.arguments or ""
        if choice.finish_reason is not None:
            assert finish is None, "exactly one chunk carries the finish_reason"
            finish = choice.finish_reason
    assert seen, "the stream produced no chunks"
    tool_calls = [
        ToolCall(c["id"], c["name"], json.loads(c["arguments"]) if c["arguments"] else {})
        for _, c in sorted(calls.items())
    ]
    reply = Reply(
        text=text,
        stop=finish,
        tool_calls=tool_calls,
        thinking=thinking,
        usage=usage_chunk.usage.model_dump() if usage_chunk else {},
        model=seen[0].model,
    )
    return OpenAIStream(reply, seen, usage_chunk)


def sse_frames(raw: str) -> list[dict[str, str]]:
    """Splits an SSE body into frames `{event?, data?}` (comment lines dropped)."""
    frames = []
    for block in re.split(r"\r?\n\r?\n", raw):
        frame: dict[str, str] = {}
        for line in block.splitlines():
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            frame[name] = frame[name] + "\n" + value if name in frame else value
        if frame:
            frames.append(frame)
    return frames


def text_of(content: Any) -> str:
    """Text of an Anthropic content value (string or blocks) or an OpenAI content value (string or parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))
