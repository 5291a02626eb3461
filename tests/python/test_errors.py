"""Errors through the official SDKs: the right HTTP status, the right SDK exception class, the body in the
client's API shape (protocol-notes: Anthropic `{"type":"error","error":{type,message},"request_id"}`, OpenAI
`{"error":{message,type,param,code}}`), and never a silently truncated stream.

Clients are built with max_retries=0, so each test sees bivio's first answer and the upstream one call.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
import openai
import pytest

from bivio_harness import (
    CLIENT_KEY,
    DEAD_CLAUDE_MODEL,
    DEAD_LOCAL_MODEL,
    MAX_BODY_BYTES,
    SLOW_CLAUDE_MODEL,
    SLOW_LOCAL_MODEL,
    SLOW_TIMEOUT_S,
    Pairing,
    anthropic_reply,
    collect_openai_stream,
    openai_reply,
    sse_frames,
)

ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": CLIENT_KEY}
OPENAI_HEADERS = {"authorization": f"Bearer {CLIENT_KEY}"}
SDKS = ["anthropic", "openai"]


def assert_anthropic_error(body: Any, error_type: str) -> None:
    assert isinstance(body, dict), body
    assert body["type"] == "error", body
    assert body["error"]["type"] == error_type, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


def assert_openai_error(body: Any) -> dict[str, Any]:
    """The full body `{"error": {...}}`; returns the inner object."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert {"message", "type", "param", "code"} <= set(error), error
    assert isinstance(error["message"], str) and error["message"], error
    return error


def assert_sdk_error_body(sdk: str, exc: Any, anthropic_type: str) -> None:
    """The SDKs keep the parsed body: Anthropic's whole body, OpenAI's inner `error` object."""
    if sdk == "anthropic":
        assert_anthropic_error(exc.body, anthropic_type)
        assert exc.response.headers.get("request-id")
    else:
        assert_openai_error({"error": exc.body})


def call(pairing: Pairing, client: Any, text: str, *, model: str | None = None, stream: bool = False) -> Any:
    """One request through the pairing's SDK; a stream is fully consumed (errors surface from iteration)."""
    model = model or pairing.model
    messages = [{"role": "user", "content": text}]
    if pairing.sdk == "anthropic":
        if stream:
            with client.messages.stream(model=model, max_tokens=256, messages=messages) as s:
                return anthropic_reply(s.get_final_message())
        return anthropic_reply(client.messages.create(model=model, max_tokens=256, messages=messages))
    if stream:
        return collect_openai_stream(
            client.chat.completions.create(model=model, messages=messages, max_tokens=256, stream=True)
        ).reply
    return openai_reply(client.chat.completions.create(model=model, messages=messages, max_tokens=256))


def sdk_module(sdk: str):
    return anthropic if sdk == "anthropic" else openai


# --------------------------------------------------------------------------------------------------
# Request errors bivio detects itself
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
@pytest.mark.parametrize("sdk", SDKS)
def test_unknown_model_is_not_found(sdk, stream, anthropic_client, openai_client, mock):
    client = anthropic_client if sdk == "anthropic" else openai_client
    calls_before = mock.stats()["calls"]
    with pytest.raises(sdk_module(sdk).NotFoundError) as info:
        call(Pairing(sdk, "anthropic"), client, "hi", model="no-such-model", stream=stream)
    assert info.value.status_code == 404
    assert "no-such-model" in info.value.message
    assert_sdk_error_body(sdk, info.value, "not_found_error")
    assert mock.stats()["calls"] == calls_before, "an unknown model must not reach any upstream"


def test_missing_max_tokens_is_400_in_anthropic_shape(gateway):
    response = gateway.http.post(
        "/v1/messages",
        headers=ANTHROPIC_HEADERS,
        json={"model": "claude-test", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 400
    body = response.json()
    assert_anthropic_error(body, "invalid_request_error")
    assert "max_tokens" in body["error"]["message"]
    assert body["request_id"] == response.headers["request-id"]


@pytest.mark.parametrize("sdk", SDKS)
def test_sdk_bad_request(sdk, anthropic_client, openai_client):
    """A request bivio rejects (temperature out of range for the API) → BadRequestError."""
    with pytest.raises(sdk_module(sdk).BadRequestError) as info:
        if sdk == "anthropic":
            anthropic_client.messages.create(
                model="claude-test", max_tokens=16, messages=[{"role": "user", "content": "hi"}],
                extra_body={"temperature": 1.5},
            )
        else:
            openai_client.chat.completions.create(
                model="local-test", messages=[{"role": "user", "content": "hi"}], temperature=2.5
            )
    assert info.value.status_code == 400
    assert "temperature" in info.value.message
    assert_sdk_error_body(sdk, info.value, "invalid_request_error")


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions", "/v1/messages/count_tokens"])
def test_malformed_json_is_400_in_the_api_shape(path, gateway):
    headers = {"content-type": "application/json"}
    if "messages" in path:
        headers |= ANTHROPIC_HEADERS
    response = gateway.http.post(path, headers=headers, content=b'{"model": "claude-test", "messages": [')
    assert response.status_code == 400
    if path.startswith("/v1/messages"):
        assert_anthropic_error(response.json(), "invalid_request_error")
    else:
        assert assert_openai_error(response.json())["type"] == "invalid_request_error"


# --------------------------------------------------------------------------------------------------
# Upstream error statuses
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_upstream_429_is_rate_limit_with_retry_after(pairing, client, script, mock, stream):
    marker = script({"status": 429, "retry_after": 7, "error_message": "slow down please"})
    with pytest.raises(sdk_module(pairing.sdk).RateLimitError) as info:
        call(pairing, client, f"{marker} hi", stream=stream)
    assert info.value.status_code == 429
    assert info.value.response.headers.get("retry-after") == "7"
    assert "slow down please" in info.value.message, "the upstream's explanation is passed on"
    assert_sdk_error_body(pairing.sdk, info.value, "rate_limit_error")
    assert len(mock.calls_with(marker)) == 1


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_upstream_529_is_overloaded(pairing, client, script, stream):
    marker = script({"status": 529})
    # Both SDKs map >= 500 to InternalServerError (anthropic: a subclass of it for 529 where it has one).
    with pytest.raises(sdk_module(pairing.sdk).InternalServerError) as info:
        call(pairing, client, f"{marker} hi", stream=stream)
    assert info.value.status_code == 529
    assert_sdk_error_body(pairing.sdk, info.value, "overloaded_error")


def test_upstream_500_is_internal_server_error(pairing, client, script):
    marker = script({"status": 500, "error_message": "the backend fell over"})
    with pytest.raises(sdk_module(pairing.sdk).InternalServerError) as info:
        call(pairing, client, f"{marker} hi")
    assert info.value.status_code == 500
    assert_sdk_error_body(pairing.sdk, info.value, "api_error")


def test_upstream_400_message_is_passed_on(pairing, client, script):
    marker = script({"status": 400, "error_message": "prompt is too long: 300000 tokens > 200000 maximum"})
    with pytest.raises(sdk_module(pairing.sdk).BadRequestError) as info:
        call(pairing, client, f"{marker} hi")
    assert info.value.status_code == 400
    assert "prompt is too long" in info.value.message
    assert_sdk_error_body(pairing.sdk, info.value, "invalid_request_error")


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
@pytest.mark.parametrize("backend", ["anthropic", "openai"])
@pytest.mark.parametrize("sdk", SDKS)
def test_upstream_connection_refused_is_502(sdk, backend, stream, anthropic_client, openai_client):
    client = anthropic_client if sdk == "anthropic" else openai_client
    model = DEAD_CLAUDE_MODEL if backend == "anthropic" else DEAD_LOCAL_MODEL
    with pytest.raises(sdk_module(sdk).InternalServerError) as info:
        call(Pairing(sdk, backend), client, "hi", model=model, stream=stream)
    assert info.value.status_code == 502
    assert_sdk_error_body(sdk, info.value, "api_error")


@pytest.mark.parametrize("backend", ["anthropic", "openai"])
@pytest.mark.parametrize("sdk", SDKS)
def test_upstream_response_timeout_is_504(sdk, backend, anthropic_client, openai_client, script):
    client = anthropic_client if sdk == "anthropic" else openai_client
    model = SLOW_CLAUDE_MODEL if backend == "anthropic" else SLOW_LOCAL_MODEL
    marker = script({"delay_ms": 1000 * SLOW_TIMEOUT_S + 1500, "content": [{"type": "text", "text": "late"}]})
    started = time.monotonic()
    with pytest.raises(sdk_module(sdk).InternalServerError) as info:
        call(Pairing(sdk, backend), client, f"{marker} hi", model=model)
    assert info.value.status_code == 504
    assert time.monotonic() - started < SLOW_TIMEOUT_S + 1.4, "bivio must give up at its timeout"


# --------------------------------------------------------------------------------------------------
# Transport-level refusals
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content_length", "chunked"])
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions"])
def test_body_over_limit_is_413_in_the_api_shape(path, chunked, gateway):
    body = json.dumps(
        {"model": "claude-test", "max_tokens": 16, "messages": [{"role": "user", "content": "x" * (MAX_BODY_BYTES + 10)}]}
    ).encode()
    headers = {"content-type": "application/json"} | (ANTHROPIC_HEADERS if "messages" in path else OPENAI_HEADERS)
    # Without a Content-Length bivio only finds out while reading: both paths must answer 413.
    content = (body[i : i + 65536] for i in range(0, len(body), 65536)) if chunked else body
    response = gateway.http.post(path, headers=headers, content=content)
    assert response.status_code == 413
    if path == "/v1/messages":
        assert_anthropic_error(response.json(), "request_too_large")
    else:
        assert_openai_error(response.json())


@pytest.mark.parametrize("sdk", SDKS)
def test_body_over_limit_through_sdk(sdk, anthropic_client, openai_client):
    messages = [{"role": "user", "content": "x" * (MAX_BODY_BYTES + 10)}]
    with pytest.raises(sdk_module(sdk).APIStatusError) as info:
        if sdk == "anthropic":
            anthropic_client.messages.create(model="claude-test", max_tokens=16, messages=messages)
        else:
            openai_client.chat.completions.create(model="local-test", messages=messages)
    assert info.value.status_code == 413


@pytest.mark.parametrize("api", ["anthropic", "openai"])
def test_unknown_path_is_404_in_the_api_shape(api, gateway):
    headers = ANTHROPIC_HEADERS if api == "anthropic" else OPENAI_HEADERS
    response = gateway.http.post("/v1/no/such/route", headers=headers, json={})
    assert response.status_code == 404
    if api == "anthropic":
        assert_anthropic_error(response.json(), "not_found_error")
    else:
        assert_openai_error(response.json())


@pytest.mark.parametrize("sdk", SDKS)
def test_unknown_path_through_sdk(sdk, anthropic_client, openai_client):
    client = anthropic_client if sdk == "anthropic" else openai_client
    with pytest.raises(sdk_module(sdk).NotFoundError):
        client.get("/v1/no/such/route" if sdk == "anthropic" else "/no/such/route", cast_to=object)


@pytest.mark.parametrize(
    "method,path,api",
    [
        ("GET", "/v1/messages", "anthropic"),
        ("PUT", "/v1/messages/count_tokens", "anthropic"),
        ("GET", "/v1/chat/completions", "openai"),
        ("DELETE", "/v1/models", "openai"),
    ],
)
def test_wrong_method_is_405_in_the_api_shape(method, path, api, gateway):
    headers = ANTHROPIC_HEADERS if api == "anthropic" else OPENAI_HEADERS
    response = gateway.http.request(method, path, headers=headers)
    assert response.status_code == 405
    if api == "anthropic":
        assert_anthropic_error(response.json(), "invalid_request_error")
    else:
        assert_openai_error(response.json())


# --------------------------------------------------------------------------------------------------
# Broken upstream streams: an error the SDK raises, never a silently truncated success
# --------------------------------------------------------------------------------------------------

LONG_TEXT = "This answer is long enough to be cut in the middle of a sentence."
FAULTS = {
    # a clean but early EOF: no message_stop / [DONE]
    "cut": {"cut_after_frames": 5},
    # a frame whose data is not JSON
    "garbage": {"garbage_after_frames": 5},
    # the upstream's own in-stream error frame
    "error": {"error_after_frames": 5},
    # the connection breaks (chunked body never terminated)
    "abort": {"abort_after_frames": 5},
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_broken_upstream_stream_raises_in_the_sdk(pairing, client, script, fault):
    marker = script(
        {"content": [{"type": "text", "text": LONG_TEXT}], "stream": {"chunk_size": 3, **FAULTS[fault]}}
    )
    with pytest.raises(sdk_module(pairing.sdk).APIError):
        reply = call(pairing, client, f"{marker} hi", stream=True)
        pytest.fail(f"the stream ended as a success: {reply}")


@pytest.mark.parametrize("fault", list(FAULTS))
def test_broken_upstream_stream_ends_with_an_error_frame(pairing, gateway, script, fault):
    """On the wire: the last frame is the client API's in-stream error, and no terminator precedes it."""
    marker = script(
        {"content": [{"type": "text", "text": LONG_TEXT}], "stream": {"chunk_size": 3, **FAULTS[fault]}}
    )
    messages = [{"role": "user", "content": f"{marker} hi"}]
    if pairing.sdk == "anthropic":
        path, headers = "/v1/messages", ANTHROPIC_HEADERS
        body = {"model": pairing.model, "max_tokens": 256, "messages": messages, "stream": True}
    else:
        path, headers = "/v1/chat/completions", OPENAI_HEADERS
        body = {"model": pairing.model, "messages": messages, "stream": True}
    with gateway.http.stream("POST", path, json=body, headers=headers) as response:
        assert response.status_code == 200
        frames = sse_frames(response.read().decode())
    last = frames[-1]
    if pairing.sdk == "anthropic":
        assert last.get("event") == "error", frames[-3:]
        data = json.loads(last["data"])
        assert data["type"] == "error" and data["error"]["type"] and data["error"]["message"], data
        assert all(f.get("event") != "message_stop" for f in frames)
    else:
        chunks = [json.loads(f["data"]) for f in frames if f.get("data") not in (None, "[DONE]")]
        errors = [c for c in chunks if "error" in c]
        assert len(errors) == 1, chunks[-3:]
        assert_openai_error(errors[0])
        # The error is the last chunk, and nothing before it claimed the answer had finished.
        assert chunks[-1] is errors[0], chunks[-3:]
        assert all(choice.get("finish_reason") is None for c in chunks for choice in c.get("choices", []))


@pytest.mark.parametrize("sdk", SDKS)
def test_missing_done_after_finish_is_tolerated(sdk, anthropic_client, openai_client, script):
    """Some OpenAI-compatible servers omit `data: [DONE]`; after a finish_reason (and usage) the answer is
    complete, so clients get a normal ending (protocol-notes / stream decoder docs)."""
    # Frames: role, text, finish, usage (bivio always asks for it), [DONE] → cut the last one.
    marker = script({"content": [{"type": "text", "text": "complete"}], "stream": {"chunk_size": 0, "cut_after_frames": 4}})
    client = anthropic_client if sdk == "anthropic" else openai_client
    reply = call(Pairing(sdk, "openai"), client, f"{marker} hi", stream=True)
    assert reply.text == "complete"
    assert reply.stop == ("end_turn" if sdk == "anthropic" else "stop")


@pytest.mark.parametrize("sdk", SDKS)
def test_stream_idle_timeout_becomes_an_in_stream_error(sdk, anthropic_client, openai_client, script):
    """The upstream goes silent mid-stream for longer than stream_idle_timeout: the client gets an error, not a
    hang and not a truncated success."""
    backend = "anthropic" if sdk == "openai" else "openai"  # the translated pairings
    model = SLOW_CLAUDE_MODEL if backend == "anthropic" else SLOW_LOCAL_MODEL
    marker = script(
        {
            "content": [{"type": "text", "text": "ab"}],
            "stream": {"chunk_size": 1, "chunk_delay_ms": 1000 * SLOW_TIMEOUT_S + 1500},
        }
    )
    client = anthropic_client if sdk == "anthropic" else openai_client
    started = time.monotonic()
    with pytest.raises(sdk_module(sdk).APIError):
        call(Pairing(sdk, backend), client, f"{marker} hi", model=model, stream=True)
    assert time.monotonic() - started < SLOW_TIMEOUT_S + 1.4
