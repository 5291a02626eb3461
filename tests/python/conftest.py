"""Session fixtures: one mock upstream, one bivio in front of it, SDK clients pointed at bivio.

Both processes live for the whole session (start-up is the slow part); tests stay independent because every
test registers its scripts under fresh `[[mock:KEY]]` markers and finds its own upstream calls by marker.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bivio_harness import (  # noqa: E402
    CLIENT_KEY,
    PAIRINGS,
    UPSTREAM_KEY,
    UPSTREAM_KEY_ENV,
    Gateway,
    MockUpstream,
    Pairing,
    free_port,
    gateway_config,
)

# Generous enough for a debug build on a busy 2-core machine, small enough that a hang fails fast.
CLIENT_TIMEOUT_S = 20.0


@pytest.fixture(scope="session")
def mock() -> MockUpstream:
    upstream = MockUpstream(require_key=UPSTREAM_KEY)
    try:
        yield upstream
    finally:
        upstream.stop()


@pytest.fixture(scope="session")
def gateway(mock: MockUpstream) -> Gateway:
    gw = Gateway(gateway_config(mock, dead_port=free_port()), env={UPSTREAM_KEY_ENV: UPSTREAM_KEY})
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="session")
def anthropic_client(gateway: Gateway):
    import anthropic

    # max_retries=0: a retry would hide which status bivio answered and double the upstream calls.
    client = anthropic.Anthropic(
        base_url=gateway.url, api_key=CLIENT_KEY, max_retries=0, timeout=CLIENT_TIMEOUT_S
    )
    yield client
    client.close()


@pytest.fixture(scope="session")
def openai_client(gateway: Gateway):
    import openai

    client = openai.OpenAI(
        base_url=f"{gateway.url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=CLIENT_TIMEOUT_S
    )
    yield client
    client.close()


@pytest.fixture(params=PAIRINGS, ids=lambda p: p.id)
def pairing(request) -> Pairing:
    """(Anthropic SDK | OpenAI SDK) x (model on the Anthropic backend | on the OpenAI-compatible backend)."""
    return request.param


@pytest.fixture
def client(pairing: Pairing, anthropic_client, openai_client):
    """The SDK client of the pairing."""
    return anthropic_client if pairing.sdk == "anthropic" else openai_client


@pytest.fixture
def script(mock: MockUpstream, request):
    """`script(dict) -> marker`: registers a mock script under a key unique to this test."""

    def register(body: dict) -> str:
        return mock.script(body, name=request.node.name)

    return register
