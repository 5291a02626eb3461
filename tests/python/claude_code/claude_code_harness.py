"""Harness for the Claude Code end-to-end test: the mock upstream and bivio as real processes.

Self-contained on purpose (stdlib + pytest, nothing from tests/python/conftest.py; a module name of
its own so it cannot collide with another conftest on sys.path): the test drives
the real `claude` CLI, so everything here is about starting and stopping processes with bounded
waits and keeping their logs for the failure message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
CACHE_DIR = Path(os.environ.get("BIVIO_CACHE", Path.home() / ".cache" / "bivio"))

START_TIMEOUT_S = 30
BUILD_TIMEOUT_S = 900
HTTP_TIMEOUT_S = 10

# The upstream key bivio sends; the mock refuses anything else, so a call the mock answered went
# through bivio (only bivio knows this key), and the client's own key must never show up upstream.
UPSTREAM_KEY = "sk-upstream-bivio-claude-code-test"
UPSTREAM_KEY_ENV = "BIVIO_CC_TEST_UPSTREAM_KEY"

ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def _target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target")) / "debug"


def _binaries() -> tuple[Path, Path]:
    """`bivio` and `bivio-mock-upstream`, built first if either is missing."""
    target = _target_dir()
    bivio, mock = target / "bivio", target / "bivio-mock-upstream"
    if not (bivio.exists() and mock.exists()):
        subprocess.run(
            ["cargo", "build", "--quiet", "--bins", "-p", "bivio", "-p", "bivio-mock-upstream"],
            cwd=REPO_ROOT,
            check=True,
            timeout=BUILD_TIMEOUT_S,
        )
    return bivio, mock


def claude_binary() -> Path | None:
    """The Claude Code CLI installed by scripts/deps.sh, else one on PATH; None when absent."""
    explicit = os.environ.get("BIVIO_CLAUDE_BIN")
    candidates = [Path(explicit)] if explicit else []
    candidates.append(CACHE_DIR / "node" / "node_modules" / ".bin" / "claude")
    on_path = shutil.which("claude")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def http_json(method: str, url: str, body: object | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
        return json.loads(response.read())


def stop_process(proc: subprocess.Popen, grace_s: float = 5) -> None:
    """Stops a process started in its own session: SIGTERM to its group, then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    # Children (e.g. a shell the CLI spawned) may outlive the leader; the group id is still ours.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass


@dataclass
class Service:
    """A started server process, its base URL and its log files."""

    name: str
    proc: subprocess.Popen
    url: str
    stdout: Path
    stderr: Path

    def log(self) -> str:
        parts = []
        for path in (self.stdout, self.stderr):
            try:
                parts.append(ANSI_RE.sub("", path.read_text(errors="replace")))
            except OSError:
                pass
        return "\n".join(parts)

    def stop(self) -> None:
        stop_process(self.proc)


def _start(name: str, argv: list[str], banner: str, workdir: Path, env: dict[str, str]) -> Service:
    """Starts `argv` and waits (bounded) for the stdout line `BANNER http://ADDR`."""
    out, err = workdir / f"{name}.stdout", workdir / f"{name}.stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env, start_new_session=True
        )
    pattern = re.compile(re.escape(banner) + r" (http://\S+)")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        match = pattern.search(out.read_text(errors="replace"))
        if match:
            return Service(name, proc, match.group(1), out, err)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    stop_process(proc)
    service = Service(name, proc, "", out, err)
    raise RuntimeError(f"{name} did not start (exit {proc.returncode}):\n{service.log()}")


@pytest.fixture
def cc_workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def cc_mock(cc_workdir: Path):
    _, mock_bin = _binaries()
    env = {**os.environ, "RUST_LOG": "warn"}
    env.pop("BIVIO_MOCK_REQUIRE_KEY", None)
    service = _start(
        "mock",
        [str(mock_bin), "--listen", "127.0.0.1:0", "--require-key", UPSTREAM_KEY],
        "listening on",
        cc_workdir,
        env,
    )
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def cc_bivio(cc_workdir: Path, cc_mock: Service):
    """bivio in front of the mock, serving the model names Claude Code is told to use."""
    bivio_bin, _ = _binaries()
    config = cc_workdir / "bivio.toml"
    config.write_text(
        f"""
[providers.claude]
kind = "anthropic"
api_base = "{cc_mock.url}"
api_key_env = "{UPSTREAM_KEY_ENV}"

[models.claude-sonnet-4-5]
provider = "claude"
upstream_model = "claude-sonnet-4-5"

[models.claude-haiku-4-5]
provider = "claude"
upstream_model = "claude-haiku-4-5"
"""
    )
    env = {**os.environ, UPSTREAM_KEY_ENV: UPSTREAM_KEY, "BIVIO_LOG": "info", "NO_COLOR": "1"}
    service = _start(
        "bivio",
        [str(bivio_bin), "serve", "--config", str(config), "--listen", "127.0.0.1:0"],
        "bivio listening on",
        cc_workdir,
        env,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{service.url}/readyz", timeout=HTTP_TIMEOUT_S) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline or service.proc.poll() is not None:
                raise RuntimeError(f"bivio never became ready:\n{service.log()}")
            time.sleep(0.1)
        yield service
    finally:
        service.stop()
