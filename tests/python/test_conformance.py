"""Conformance of bivio with the official Anthropic and OpenAI Python SDKs.

Every test runs the real SDK against the real `bivio` binary, which talks to the scripted mock upstream.
Most tests run over the four pairings (SDK x backend API); expectations come from
/work/shared/docs/protocol-notes.md, and what the upstream received is checked through the mock's
`GET /_mock/calls` (each test finds its calls by its own `[[mock:KEY]]` marker).
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import anthropic
import openai
import pytest

from bivio_harness import (
    CLAUDE_MODEL,
    CLAUDE_UPSTREAM,
    CLIENT_KEY,
    DEAD_CLAUDE_MODEL,
    DEAD_LOCAL_MODEL,
    LOCAL_MODEL,
    LOCAL_UPSTREAM,
    PAIRINGS,
    SLOW_CLAUDE_MODEL,
    SLOW_LOCAL_MODEL,
    UPSTREAM_KEY,
    Pairing,
    Reply,
    anthropic_reply,
    anthropic_tool_id,
    client_tool_id,
    collect_openai_stream,
    expected_stop,
    header,
    openai_reply,
    sse_frames,
    text_of,
)

ANTHROPIC_PAIRINGS = [p for p in PAIRINGS if p.sdk == "anthropic"]
OPENAI_PAIRINGS = [p for p in PAIRINGS if p.sdk == "openai"]
BACKENDS = ["anthropic", "openai"]

# Scripted usage (Anthropic semantics: input excludes cache reads). protocol-notes: OpenAI clients see
# prompt_tokens = input + cache_read (+ cache_creation) with cached_tokens = cache_read; Anthropic clients of
# an OpenAI backend see input = prompt - cached. With cache_creation 0 every pairing sees the same numbers.
USAGE = {"input_tokens": 11, "output_tokens": 7, "cache_read_input_tokens": 5}


def ids(pairings):
    return [p.id for p in pairings]


# --------------------------------------------------------------------------------------------------
# Helpers: one request through either SDK
# --------------------------------------------------------------------------------------------------


def ask(pairing: Pairing, client: Any, text: str, *, stream: bool = False, max_tokens: int = 256, **extra) -> Reply:
    """Sends one user message through the pairing's SDK and normalises the answer (streams are accumulated
    by the SDK's own helpers or, for OpenAI, by a checker of the chunk contract)."""
    messages = [{"role": "user", "content": text}]
    if pairing.sdk == "anthropic":
        kwargs = dict(model=pairing.model, max_tokens=max_tokens, messages=messages, **extra)
        if not stream:
            return anthropic_reply(client.messages.create(**kwargs))
        return anthropic_stream(client, **kwargs)[0]
    kwargs = dict(model=pairing.model, max_tokens=max_tokens, messages=messages, **extra)
    if not stream:
        return openai_reply(client.chat.completions.create(**kwargs))
    chunks = client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kwargs)
    return collect_openai_stream(chunks).reply


def anthropic_stream(client: anthropic.Anthropic, **kwargs) -> tuple[Reply, list[Any]]:
    """`messages.stream()` → the SDK's final message, plus every event for ordering checks. The text the
    SDK's `text` events delivered must add up to the final message's text."""
    events = []
    with client.messages.stream(**kwargs) as stream:
        for event in stream:
            events.append(event)
        final = stream.get_final_message()
    reply = anthropic_reply(final)
    assert "".join(e.text for e in events if e.type == "text") == reply.text
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-1] == "message_stop", types
    assert "message_delta" in types
    return reply, events


def assert_usage(pairing: Pairing, usage: dict[str, Any], *, input_tokens=11, cache_read=5, output=7) -> None:
    """Usage in the client's API, mapped per protocol-notes."""
    if pairing.sdk == "anthropic":
        assert usage["input_tokens"] == input_tokens, usage
        assert usage["cache_read_input_tokens"] == cache_read, usage
        assert usage["output_tokens"] == output, usage
        assert usage.get("cache_creation_input_tokens") in (0, None), usage
    else:
        prompt = input_tokens + cache_read
        assert usage["prompt_tokens"] == prompt, usage
        assert usage["completion_tokens"] == output, usage
        assert usage["total_tokens"] == prompt + output, usage
        assert usage["prompt_tokens_details"]["cached_tokens"] == cache_read, usage


def upstream_path(pairing: Pairing) -> str:
    return "/v1/messages" if pairing.backend == "anthropic" else "/v1/chat/completions"


# --------------------------------------------------------------------------------------------------
# 1. Plain calls
# --------------------------------------------------------------------------------------------------


def test_plain_call(pairing, client, script, mock):
    marker = script({"content": [{"type": "text", "text": "Hello from the mock."}], "usage": USAGE})
    reply = ask(pairing, client, f"{marker} say hello")
    assert reply.text == "Hello from the mock."
    assert reply.stop == expected_stop(pairing, "end_turn")
    assert reply.tool_calls == []
    assert_usage(pairing, reply.usage)
    if not pairing.passthrough:
        # A translated answer names the model the client asked for (a forwarded one may name the upstream's).
        assert reply.model == pairing.model
    else:
        assert reply.model in (pairing.model, pairing.upstream_model)


def test_upstream_sees_provider_key_and_model(pairing, client, script, mock):
    """The upstream gets the provider's key from `api_key_env` and the upstream model name; the client's own
    key never leaves bivio."""
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    ask(pairing, client, f"{marker} hi")
    call = mock.only_call_with(marker)
    assert call["method"] == "POST" and call["path"] == upstream_path(pairing)
    assert call["body"]["model"] == pairing.upstream_model
    if pairing.backend == "anthropic":
        assert header(call, "x-api-key") == UPSTREAM_KEY
        assert header(call, "anthropic-version"), "Claude requires anthropic-version"
    else:
        assert header(call, "authorization") == f"Bearer {UPSTREAM_KEY}"
    assert all(CLIENT_KEY not in value for _, value in call["headers"]), "client key leaked upstream"


@pytest.mark.parametrize("sdk", ["anthropic", "openai"])
def test_responses_carry_request_id(sdk, anthropic_client, openai_client, script):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    messages = [{"role": "user", "content": f"{marker} hi"}]
    if sdk == "anthropic":
        raw = anthropic_client.messages.with_raw_response.create(model=CLAUDE_MODEL, max_tokens=16, messages=messages)
    else:
        raw = openai_client.chat.completions.with_raw_response.create(model=LOCAL_MODEL, messages=messages)
    assert raw.headers.get("request-id"), dict(raw.headers)
    raw.parse()


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_usage_with_cache_creation_for_openai_client(openai_client, script, stream):
    """Anthropic → OpenAI: prompt_tokens counts cache writes too (input + cache_read + cache_creation)."""
    usage = {"input_tokens": 11, "output_tokens": 7, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 3}
    marker = script({"content": [{"type": "text", "text": "ok"}], "usage": usage})
    reply = ask(Pairing("openai", "anthropic"), openai_client, marker, stream=stream)
    assert reply.usage["prompt_tokens"] == 19
    assert reply.usage["prompt_tokens_details"]["cached_tokens"] == 5
    assert reply.usage["total_tokens"] == 26


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
@pytest.mark.parametrize("scripted", ["end_turn", "max_tokens", "stop_sequence", "refusal"])
def test_stop_reason_mapping(pairing, client, script, scripted, stream):
    body: dict[str, Any] = {"content": [{"type": "text", "text": "Some words."}], "stop_reason": scripted}
    if scripted == "stop_sequence":
        body["stop_sequence"] = "END"
    marker = script(body)
    reply = ask(pairing, client, f"{marker} go", stream=stream)
    assert reply.text == "Some words."
    assert reply.stop == expected_stop(pairing, scripted)


# --------------------------------------------------------------------------------------------------
# 2. Streaming
# --------------------------------------------------------------------------------------------------

STREAM_TEXT = "Streaming works, one small piece at a time."


@pytest.mark.parametrize("pairing", ANTHROPIC_PAIRINGS, ids=ids(ANTHROPIC_PAIRINGS))
def test_anthropic_stream_final_message(pairing, anthropic_client, script):
    marker = script({"content": [{"type": "text", "text": STREAM_TEXT}], "usage": USAGE, "stream": {"chunk_size": 3}})
    reply, events = anthropic_stream(
        anthropic_client, model=pairing.model, max_tokens=256, messages=[{"role": "user", "content": f"{marker} go"}]
    )
    assert reply.text == STREAM_TEXT
    assert reply.stop == "end_turn"
    assert_usage(pairing, reply.usage)
    # The text really arrived in pieces, not as one block at the end.
    assert sum(1 for e in events if e.type == "text") >= len(STREAM_TEXT) // 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_anthropic_raw_stream_frames(backend, gateway, script):
    """Wire-level check of protocol-notes' event order: every frame has `event:`; message_start,
    content_block_start/delta/stop per block with increasing indexes, message_delta with usage, message_stop."""
    pairing = Pairing("anthropic", backend)
    marker = script({"content": [{"type": "text", "text": "ab cd"}], "usage": USAGE, "stream": {"chunk_size": 2}})
    body = {"model": pairing.model, "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": marker}]}
    with gateway.http.stream(
        "POST", "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01", "x-api-key": CLIENT_KEY}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = sse_frames(response.read().decode())
    assert all("event" in f and "data" in f for f in frames), frames
    events = [f["event"] for f in frames if f["event"] != "ping"]
    assert events[0] == "message_start" and events[-2:] == ["message_delta", "message_stop"], events
    for frame in frames:
        assert json.loads(frame["data"])["type"] == frame["event"]
    start = json.loads(frames[0]["data"])["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["role"] == "assistant"
    delta = next(json.loads(f["data"]) for f in frames if f["event"] == "message_delta")
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == 7
    block_events = [(f["event"], json.loads(f["data"])["index"]) for f in frames if f["event"].startswith("content_block")]
    assert block_events[0] == ("content_block_start", 0) and block_events[-1] == ("content_block_stop", 0)
    text = "".join(
        json.loads(f["data"])["delta"]["text"] for f in frames if f["event"] == "content_block_delta"
    )
    assert text == "ab cd"


@pytest.mark.parametrize("pairing", OPENAI_PAIRINGS, ids=ids(OPENAI_PAIRINGS))
def test_openai_stream_helper_final_completion(pairing, openai_client, script):
    """The SDK's `chat.completions.stream()` helper accumulates chunks into a final completion."""
    marker = script({"content": [{"type": "text", "text": STREAM_TEXT}], "usage": USAGE})
    deltas = []
    with openai_client.chat.completions.stream(
        model=pairing.model,
        messages=[{"role": "user", "content": f"{marker} go"}],
        max_tokens=256,
        stream_options={"include_usage": True},
    ) as stream:
        for event in stream:
            if event.type == "content.delta":
                deltas.append(event.delta)
        final = stream.get_final_completion()
    assert "".join(deltas) == STREAM_TEXT
    choice = final.choices[0]
    assert choice.message.content == STREAM_TEXT
    assert choice.finish_reason == "stop"
    assert_usage(pairing, final.usage.model_dump())


@pytest.mark.parametrize("pairing", OPENAI_PAIRINGS, ids=ids(OPENAI_PAIRINGS))
def test_openai_stream_include_usage(pairing, openai_client, script):
    marker = script({"content": [{"type": "text", "text": STREAM_TEXT}], "usage": USAGE})
    result = collect_openai_stream(
        openai_client.chat.completions.create(
            model=pairing.model,
            messages=[{"role": "user", "content": f"{marker} go"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert result.reply.text == STREAM_TEXT
    assert result.reply.stop == "stop"
    assert result.usage_chunk is result.chunks[-1], "usage must come in the very last chunk"
    assert result.usage_chunk.choices == []
    assert_usage(pairing, result.reply.usage)


@pytest.mark.parametrize("pairing", OPENAI_PAIRINGS, ids=ids(OPENAI_PAIRINGS))
def test_openai_stream_without_include_usage(pairing, openai_client, gateway, script):
    """Without include_usage no chunk carries usage and none has empty choices, even though bivio itself asks
    the backend for usage (it needs it for accounting)."""
    marker = script({"content": [{"type": "text", "text": STREAM_TEXT}], "usage": USAGE})
    messages = [{"role": "user", "content": f"{marker} go"}]
    result = collect_openai_stream(
        openai_client.chat.completions.create(model=pairing.model, messages=messages, stream=True)
    )
    assert result.reply.text == STREAM_TEXT
    assert result.usage_chunk is None
    assert all(chunk.choices for chunk in result.chunks)
    # And on the wire: no usage object anywhere, and the stream ends with [DONE].
    body = {"model": pairing.model, "messages": messages, "stream": True}
    with gateway.http.stream("POST", "/v1/chat/completions", json=body) as response:
        frames = sse_frames(response.read().decode())
    assert frames[-1]["data"] == "[DONE]"
    for frame in frames[:-1]:
        chunk = json.loads(frame["data"])
        assert chunk.get("usage") is None, chunk
        assert chunk["choices"], chunk


# --------------------------------------------------------------------------------------------------
# 3./4. Tool use
# --------------------------------------------------------------------------------------------------

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TIME_SCHEMA = {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}


def tools_for(sdk: str, names=("get_weather",)) -> list[dict[str, Any]]:
    schemas = {"get_weather": WEATHER_SCHEMA, "get_time": TIME_SCHEMA}
    if sdk == "anthropic":
        return [{"name": n, "description": f"{n} tool", "input_schema": schemas[n]} for n in names]
    return [
        {"type": "function", "function": {"name": n, "description": f"{n} tool", "parameters": schemas[n]}}
        for n in names
    ]


def upstream_tool_id(backend: str, n: int = 0) -> str:
    """Ids as each backend family makes them: Claude's are already Anthropic-safe; OpenAI-compatible servers
    produce ids like `functions.get_weather:0` that Anthropic clients must get mapped."""
    return f"toolu_01Mock{n}" if backend == "anthropic" else f"functions.get_weather:{n}"


def test_tool_use_round_trip(pairing, client, script, mock):
    tool_id = upstream_tool_id(pairing.backend)
    marker = script(
        {
            "steps": [
                {
                    "content": [
                        {"type": "text", "text": "Let me check."},
                        {"type": "tool_use", "id": tool_id, "name": "get_weather", "input": {"city": "Rome"}},
                    ]
                },
                {"content": [{"type": "text", "text": "It is 22°C and sunny in Rome."}]},
            ]
        }
    )
    seen_id = client_tool_id(pairing, tool_id)
    question = f"{marker} What is the weather in Rome?"
    if pairing.sdk == "anthropic":
        messages: list[Any] = [{"role": "user", "content": question}]
        first = client.messages.create(
            model=pairing.model, max_tokens=256, tools=tools_for("anthropic"), messages=messages
        )
        assert first.stop_reason == "tool_use"
        assert [b.type for b in first.content] == ["text", "tool_use"]
        call = first.content[1]
        assert (call.id, call.name, call.input) == (seen_id, "get_weather", {"city": "Rome"})
        messages += [
            # The SDK's own block objects go back as they came, as real agent loops do.
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "22°C, sunny"}]},
        ]
        final = anthropic_reply(
            client.messages.create(model=pairing.model, max_tokens=256, tools=tools_for("anthropic"), messages=messages)
        )
    else:
        messages = [{"role": "user", "content": question}]
        first = client.chat.completions.create(model=pairing.model, tools=tools_for("openai"), messages=messages)
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content == "Let me check."
        (call,) = choice.message.tool_calls
        assert (call.id, call.function.name) == (seen_id, "get_weather")
        assert json.loads(call.function.arguments) == {"city": "Rome"}
        messages += [
            choice.message,  # the SDK's message object, as the OpenAI docs' agent loop does
            {"role": "tool", "tool_call_id": call.id, "content": "22°C, sunny"},
        ]
        final = openai_reply(
            client.chat.completions.create(model=pairing.model, tools=tools_for("openai"), messages=messages)
        )
    assert final.text == "It is 22°C and sunny in Rome."
    assert final.stop == expected_stop(pairing, "end_turn")

    # What the upstream received on the second call, in its own wire shape.
    calls = mock.calls_with(marker)
    assert len(calls) == 2
    sent = calls[1]["body"]
    if pairing.backend == "openai":
        roles = [m["role"] for m in sent["messages"]]
        assert roles == ["user", "assistant", "tool"], roles
        assistant, tool = sent["messages"][1], sent["messages"][2]
        assert text_of(assistant.get("content")) == "Let me check."
        (upstream_call,) = assistant["tool_calls"]
        assert upstream_call["type"] == "function"
        assert upstream_call["function"]["name"] == "get_weather"
        assert json.loads(upstream_call["function"]["arguments"]) == {"city": "Rome"}
        # Whatever id the client used, the assistant's call and the tool message must agree.
        assert upstream_call["id"] == tool["tool_call_id"] == seen_id
        assert text_of(tool["content"]) == "22°C, sunny"
    else:
        roles = [m["role"] for m in sent["messages"]]
        assert roles == ["user", "assistant", "user"], roles
        assistant_blocks = sent["messages"][1]["content"]
        tool_use = next(b for b in assistant_blocks if b["type"] == "tool_use")
        assert {k: tool_use.get(k) for k in ("id", "name", "input")} == {
            "id": tool_id,
            "name": "get_weather",
            "input": {"city": "Rome"},
        }
        assert any(b["type"] == "text" and b["text"] == "Let me check." for b in assistant_blocks)
        result_blocks = sent["messages"][2]["content"]
        assert result_blocks[0]["type"] == "tool_result", "tool results come first in the user turn"
        assert result_blocks[0]["tool_use_id"] == tool_id
        assert text_of(result_blocks[0]["content"]) == "22°C, sunny"


def parallel_script(backend: str) -> dict[str, Any]:
    return {
        "content": [
            {"type": "tool_use", "id": upstream_tool_id(backend, 0), "name": "get_weather", "input": {"city": "Rome"}},
            {
                "type": "tool_use",
                "id": upstream_tool_id(backend, 1),
                "name": "get_time",
                "input": {"timezone": "Europe/Rome"},
            },
        ],
        # Small pieces, so arguments arrive in several fragments.
        "stream": {"chunk_size": 5},
    }


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_parallel_tool_calls(pairing, client, script, stream):
    marker = script(parallel_script(pairing.backend))
    reply = ask(pairing, client, f"{marker} weather and time in Rome?", stream=stream,
                tools=tools_for(pairing.sdk, ("get_weather", "get_time")))
    assert reply.stop == expected_stop(pairing, "tool_use")
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        (client_tool_id(pairing, upstream_tool_id(pairing.backend, 0)), "get_weather", {"city": "Rome"}),
        (client_tool_id(pairing, upstream_tool_id(pairing.backend, 1)), "get_time", {"timezone": "Europe/Rome"}),
    ]
    assert reply.text == ""


# Deviations of real OpenAI-compatible servers (the mock's `openai_quirks`); protocol-notes lists them as
# edge cases bivio must absorb when it translates for Anthropic clients.
QUIRKS = [
    "stop_with_tool_calls",
    "all_calls_index_0",
    "missing_index",
    "whole_call_in_one_chunk",
    "null_continuation_fields",
    "missing_type",
    "arguments_as_object",
]


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
@pytest.mark.parametrize("quirk", QUIRKS)
def test_openai_backend_tool_quirks_for_anthropic_client(quirk, stream, anthropic_client, script):
    # The mock only sends object arguments in whole-call chunks when streaming.
    quirks = [quirk, "whole_call_in_one_chunk"] if quirk == "arguments_as_object" and stream else [quirk]
    body = parallel_script("openai")
    body["stream"]["openai_quirks"] = quirks
    marker = script(body)
    pairing = Pairing("anthropic", "openai")
    reply = ask(pairing, anthropic_client, f"{marker} go", stream=stream, tools=tools_for("anthropic", ("get_weather", "get_time")))
    assert reply.stop == "tool_use"
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        (anthropic_tool_id(upstream_tool_id("openai", 0)), "get_weather", {"city": "Rome"}),
        (anthropic_tool_id(upstream_tool_id("openai", 1)), "get_time", {"timezone": "Europe/Rome"}),
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
@pytest.mark.parametrize("quirk", ["empty_tool_calls_with_text", "reasoning_field", "usage_always"])
def test_openai_backend_text_quirks_for_anthropic_client(quirk, stream, anthropic_client, script):
    marker = script(
        {
            "content": [{"type": "thinking", "thinking": "Hmm, let me think."}, {"type": "text", "text": "Plain text."}],
            "usage": USAGE,
            "stream": {"openai_quirks": [quirk]},
        }
    )
    pairing = Pairing("anthropic", "openai")
    reply = ask(pairing, anthropic_client, f"{marker} go", stream=stream)
    assert reply.text == "Plain text."
    assert reply.thinking == "Hmm, let me think."
    assert reply.stop == "end_turn"
    assert reply.tool_calls == []
    assert_usage(pairing, reply.usage)


def test_tool_choice_openai_client_to_claude(openai_client, script, mock):
    """`required` → `any`, `parallel_tool_calls: false` → `disable_parallel_tool_use: true`; the tool's
    `parameters` become `input_schema`."""
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    openai_client.chat.completions.create(
        model=CLAUDE_MODEL,
        messages=[{"role": "user", "content": marker}],
        tools=tools_for("openai"),
        tool_choice="required",
        parallel_tool_calls=False,
    )
    sent = mock.only_call_with(marker)["body"]
    assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert sent["tools"] == [{"name": "get_weather", "description": "get_weather tool", "input_schema": WEATHER_SCHEMA}]


def test_tool_choice_anthropic_client_to_openai_backend(anthropic_client, script, mock):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    anthropic_client.messages.create(
        model=LOCAL_MODEL,
        max_tokens=32,
        messages=[{"role": "user", "content": marker}],
        tools=tools_for("anthropic"),
        tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
    )
    sent = mock.only_call_with(marker)["body"]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert sent["parallel_tool_calls"] is False
    (tool,) = sent["tools"]
    assert tool["type"] == "function"
    assert tool["function"]["name"] == "get_weather"
    assert tool["function"]["parameters"] == WEATHER_SCHEMA


def test_foreign_tool_ids_are_mapped_toward_claude(openai_client, script, mock):
    """An OpenAI client replaying a history made on a local model (`functions.get_weather:0`) to a Claude
    model: the id must become Anthropic-safe, identically on tool_use.id and tool_result.tool_use_id, and the
    consecutive tool messages become one user turn of tool_result blocks."""
    marker = script({"content": [{"type": "text", "text": "Both done."}]})
    messages = [
        {"role": "user", "content": f"{marker} weather and time"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "functions.get_weather:0", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
                {"id": "functions.get_time:1", "type": "function",
                 "function": {"name": "get_time", "arguments": ""}},
            ],
        },
        {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "sunny"},
        {"role": "tool", "tool_call_id": "functions.get_time:1", "content": "noon"},
    ]
    reply = openai_reply(
        openai_client.chat.completions.create(
            model=CLAUDE_MODEL, messages=messages, tools=tools_for("openai", ("get_weather", "get_time"))
        )
    )
    assert reply.text == "Both done."
    sent = mock.only_call_with(marker)["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    uses = [b for b in sent[1]["content"] if b["type"] == "tool_use"]
    assert [(u["id"], u["input"]) for u in uses] == [
        ("functions_get_weather_0", {"city": "Rome"}),
        ("functions_get_time_1", {}),  # empty arguments → {}
    ]
    assert [b["type"] for b in sent[2]["content"]] == ["tool_result", "tool_result"]
    assert [b["tool_use_id"] for b in sent[2]["content"]] == ["functions_get_weather_0", "functions_get_time_1"]
    assert [text_of(b["content"]) for b in sent[2]["content"]] == ["sunny", "noon"]


# --------------------------------------------------------------------------------------------------
# 5. Images
# --------------------------------------------------------------------------------------------------

# A 1x1 transparent PNG.
PNG_B64 = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()
IMAGE_URL = "https://example.com/cat.png"


def test_images_reach_upstream_in_its_shape(pairing, client, script, mock):
    marker = script({"content": [{"type": "text", "text": "Two images."}]})
    prompt = f"{marker} describe these"
    if pairing.sdk == "anthropic":
        content: list[dict[str, Any]] = [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
            {"type": "image", "source": {"type": "url", "url": IMAGE_URL}},
            {"type": "text", "text": prompt},
        ]
    else:
        content = [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
            {"type": "image_url", "image_url": {"url": IMAGE_URL}},
            {"type": "text", "text": prompt},
        ]
    messages = [{"role": "user", "content": content}]
    if pairing.sdk == "anthropic":
        reply = anthropic_reply(client.messages.create(model=pairing.model, max_tokens=64, messages=messages))
    else:
        reply = openai_reply(client.chat.completions.create(model=pairing.model, messages=messages))
    assert reply.text == "Two images."

    (user,) = mock.only_call_with(marker)["body"]["messages"]
    parts = user["content"]
    if pairing.backend == "anthropic":
        assert [p["type"] for p in parts] == ["image", "image", "text"]
        assert parts[0]["source"] == {"type": "base64", "media_type": "image/png", "data": PNG_B64}
        assert parts[1]["source"] == {"type": "url", "url": IMAGE_URL}
        assert parts[2]["text"] == prompt
    else:
        assert [p["type"] for p in parts] == ["image_url", "image_url", "text"]
        assert parts[0]["image_url"]["url"] == f"data:image/png;base64,{PNG_B64}"
        assert parts[1]["image_url"]["url"] == IMAGE_URL
        assert parts[2]["text"] == prompt


# --------------------------------------------------------------------------------------------------
# 6. System prompts
# --------------------------------------------------------------------------------------------------


def system_texts_sent(backend: str, body: dict[str, Any]) -> list[str]:
    """The system prompt the upstream received, as a list of texts, after checking its shape: Anthropic has
    a top-level `system` and no system role in messages; OpenAI has exactly one leading `system` message."""
    if backend == "anthropic":
        assert all(m["role"] in ("user", "assistant") for m in body["messages"])
        system = body.get("system")
        if isinstance(system, str):
            return [system]
        assert all(block["type"] == "text" for block in system), system
        return [block["text"] for block in system]
    roles = [m["role"] for m in body["messages"]]
    assert "developer" not in roles, roles
    assert roles.count("system") == 1 and roles[0] == "system", roles
    return [text_of(body["messages"][0]["content"])]


@pytest.mark.parametrize("backend", BACKENDS)
def test_anthropic_system_string(backend, anthropic_client, script, mock):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    pairing = Pairing("anthropic", backend)
    anthropic_client.messages.create(
        model=pairing.model, max_tokens=32, system="You are terse.", messages=[{"role": "user", "content": marker}]
    )
    body = mock.only_call_with(marker)["body"]
    assert system_texts_sent(backend, body) == ["You are terse."]
    if backend == "anthropic":
        assert body["system"] == "You are terse."  # forwarded as sent


@pytest.mark.parametrize("backend", BACKENDS)
def test_anthropic_system_blocks(backend, anthropic_client, script, mock):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    pairing = Pairing("anthropic", backend)
    system = [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Answer in English.", "cache_control": {"type": "ephemeral"}},
    ]
    anthropic_client.messages.create(
        model=pairing.model, max_tokens=32, system=system, messages=[{"role": "user", "content": marker}]
    )
    body = mock.only_call_with(marker)["body"]
    texts = system_texts_sent(backend, body)
    if backend == "anthropic":
        assert body["system"] == system  # cache_control survives
    else:
        (joined,) = texts
        assert joined.index("You are terse.") < joined.index("Answer in English."), joined


OPENAI_SYSTEM_MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "developer", "content": "Answer in English."},
    {"role": "system", "content": [{"type": "text", "text": "Never apologise."}]},
]


def test_openai_system_and_developer_to_claude(openai_client, script, mock):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    openai_client.chat.completions.create(
        model=CLAUDE_MODEL, messages=[*OPENAI_SYSTEM_MESSAGES, {"role": "user", "content": marker}]
    )
    body = mock.only_call_with(marker)["body"]
    assert system_texts_sent("anthropic", body) == ["You are terse.", "Answer in English.", "Never apologise."]
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_openai_system_and_developer_to_openai_backend(openai_client, script, mock):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    openai_client.chat.completions.create(
        model=LOCAL_MODEL, messages=[*OPENAI_SYSTEM_MESSAGES, {"role": "user", "content": marker}]
    )
    body = mock.only_call_with(marker)["body"]
    (joined,) = system_texts_sent("openai", body)
    positions = [joined.index(t) for t in ("You are terse.", "Answer in English.", "Never apologise.")]
    assert positions == sorted(positions)


def test_request_without_user_turn_to_openai_backend_gets_one(anthropic_client, script, mock):
    """protocol-notes: a request with only a system prompt still needs a user message (chat templates of
    local models fail without one). An Anthropic request of system + assistant prefill has no user turn."""
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    anthropic_client.messages.create(
        model=LOCAL_MODEL,
        max_tokens=16,
        system=f"{marker} be nice",
        messages=[{"role": "assistant", "content": "Sure,"}],
    )
    body = mock.only_call_with(marker)["body"]
    assert any(m["role"] == "user" for m in body["messages"]), body["messages"]


# --------------------------------------------------------------------------------------------------
# Thinking / reasoning
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_thinking(pairing, client, script, stream):
    """Claude's thinking (with signature) ⇄ `reasoning_content` of OpenAI-compatible backends."""
    marker = script(
        {
            "content": [
                {"type": "thinking", "thinking": "The user wants a greeting.", "signature": "sig-123"},
                {"type": "text", "text": "Hello!"},
            ],
            "stream": {"chunk_size": 6},
        }
    )
    extra = {"thinking": {"type": "enabled", "budget_tokens": 1024}} if pairing.sdk == "anthropic" else {}
    reply = ask(pairing, client, f"{marker} greet me", stream=stream, max_tokens=2048, **extra)
    assert reply.text == "Hello!"
    assert reply.thinking == "The user wants a greeting."
    assert reply.stop == expected_stop(pairing, "end_turn")


def test_signed_thinking_goes_back_to_claude_byte_exact(anthropic_client, script, mock):
    """protocol-notes: thinking blocks must return to Claude exactly as received (signatures)."""
    marker = script(
        {
            "steps": [
                {
                    "content": [
                        {"type": "thinking", "thinking": "Need the weather tool.", "signature": "EqQBCkYIARgC+/=="},
                        {"type": "tool_use", "id": "toolu_01T", "name": "get_weather", "input": {"city": "Rome"}},
                    ]
                },
                {"content": [{"type": "text", "text": "Sunny."}]},
            ]
        }
    )
    messages: list[Any] = [{"role": "user", "content": f"{marker} weather?"}]
    kwargs = dict(model=CLAUDE_MODEL, max_tokens=2048, tools=tools_for("anthropic"),
                  thinking={"type": "enabled", "budget_tokens": 1024})
    first = anthropic_client.messages.create(messages=messages, **kwargs)
    messages += [
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01T", "content": "sunny"}]},
    ]
    assert anthropic_reply(anthropic_client.messages.create(messages=messages, **kwargs)).text == "Sunny."
    sent = mock.calls_with(marker)[1]["body"]["messages"][1]["content"]
    assert sent[0] == {"type": "thinking", "thinking": "Need the weather tool.", "signature": "EqQBCkYIARgC+/=="}


# --------------------------------------------------------------------------------------------------
# Parameters across APIs
# --------------------------------------------------------------------------------------------------


def test_openai_parameters_to_claude(openai_client, script, mock):
    """stop → stop_sequences, temperature clamped 0–2 → 0–1, a default max_tokens (Claude requires one),
    `user` → metadata.user_id."""
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    openai_client.chat.completions.create(
        model=CLAUDE_MODEL,
        messages=[{"role": "user", "content": marker}],
        stop=["END", "STOP"],
        temperature=1.5,
        top_p=0.9,
        user="user-42",
    )
    body = mock.only_call_with(marker)["body"]
    assert body["stop_sequences"] == ["END", "STOP"]
    assert body["temperature"] == 1.0
    assert body["top_p"] == 0.9
    assert isinstance(body["max_tokens"], int) and body["max_tokens"] > 0
    assert body["metadata"] == {"user_id": "user-42"}


def test_openai_max_completion_tokens_to_claude(openai_client, script, mock):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    openai_client.chat.completions.create(
        model=CLAUDE_MODEL, messages=[{"role": "user", "content": marker}], max_completion_tokens=77
    )
    assert mock.only_call_with(marker)["body"]["max_tokens"] == 77


def test_anthropic_parameters_to_openai_backend(anthropic_client, script, mock):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    anthropic_client.messages.create(
        model=LOCAL_MODEL,
        max_tokens=99,
        messages=[{"role": "user", "content": marker}],
        stop_sequences=["END"],
        # This SDK version has no sampling keyword arguments; the wire fields still exist.
        extra_body={"temperature": 0.3, "top_p": 0.8},
    )
    body = mock.only_call_with(marker)["body"]
    # llama-cpp-python and Ollama ignore max_completion_tokens, so max_tokens it must be.
    assert body["max_tokens"] == 99
    assert "max_completion_tokens" not in body
    assert body["stop"] == ["END"]
    assert body["temperature"] == 0.3
    assert body["top_p"] == 0.8


def test_openai_max_completion_tokens_to_openai_backend(openai_client, script, mock):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    openai_client.chat.completions.create(
        model=LOCAL_MODEL, messages=[{"role": "user", "content": marker}], max_completion_tokens=77
    )
    assert mock.only_call_with(marker)["body"].get("max_tokens") == 77


def test_openai_n_greater_than_one_to_claude_is_a_clear_400(openai_client, script):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    with pytest.raises(openai.BadRequestError) as info:
        openai_client.chat.completions.create(model=CLAUDE_MODEL, messages=[{"role": "user", "content": marker}], n=2)
    assert "n" in str(info.value.message)


# --------------------------------------------------------------------------------------------------
# 8. Models and token counting
# --------------------------------------------------------------------------------------------------

ALL_MODELS = {CLAUDE_MODEL, LOCAL_MODEL, DEAD_CLAUDE_MODEL, DEAD_LOCAL_MODEL, SLOW_CLAUDE_MODEL, SLOW_LOCAL_MODEL}


def test_models_list_anthropic_sdk(anthropic_client):
    page = anthropic_client.models.list()
    assert page.has_more is False
    models = list(page)  # auto-pagination must stop (has_more false)
    # `bivio/auto` (the policy's alias) first, then every configured model.
    assert models[0].id == "bivio/auto"
    assert {m.id for m in models} == ALL_MODELS | {"bivio/auto"}
    for model in models:
        assert model.type == "model"
        assert model.display_name
        assert model.created_at is not None
    assert page.first_id == "bivio/auto" and page.last_id in ALL_MODELS


def test_models_list_openai_sdk(openai_client):
    models = list(openai_client.models.list())
    assert models[0].id == "bivio/auto"
    assert {m.id for m in models} == ALL_MODELS | {"bivio/auto"}
    for model in models:
        assert model.object == "model"
        assert isinstance(model.created, int)
        assert model.owned_by


def test_count_tokens_on_claude_is_claudes_count(anthropic_client, mock):
    """For Claude models the count comes from Claude's endpoint (the mock: ceil(chars / 4) of the texts)."""
    text = "[[count]] How many tokens is this sentence, roughly?"
    result = anthropic_client.messages.count_tokens(
        model=CLAUDE_MODEL, system="Be brief.", messages=[{"role": "user", "content": text}]
    )
    assert result.input_tokens == math.ceil((len("Be brief.") + len(text)) / 4)
    call = mock.only_call_with("[[count]]")
    assert call["path"] == "/v1/messages/count_tokens"
    assert call["body"]["model"] == CLAUDE_UPSTREAM


def test_count_tokens_on_local_model_is_an_estimate(anthropic_client):
    text = "How many tokens is this sentence, roughly? " * 10
    result = anthropic_client.messages.count_tokens(model=LOCAL_MODEL, messages=[{"role": "user", "content": text}])
    # An estimate: positive and within a sane band of the usual 4-characters-per-token rule.
    assert len(text) / 8 <= result.input_tokens <= len(text) / 2


def test_count_tokens_unknown_model(anthropic_client):
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client.messages.count_tokens(model="no-such-model", messages=[{"role": "user", "content": "x"}])


# --------------------------------------------------------------------------------------------------
# 9. Same-API passthrough keeps what bivio does not model
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_anthropic_passthrough_keeps_unknown_fields(anthropic_client, script, mock, stream):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": f"{marker} long context", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                {"type": "text", "text": "question"},
            ],
        }
    ]
    kwargs = dict(
        model=CLAUDE_MODEL,
        max_tokens=64,
        messages=messages,
        metadata={"user_id": "u-1"},
        extra_body={"some_new_param": {"x": 1}, "context_management": {"edits": []}},
        extra_headers={"anthropic-beta": "some-beta-2099-01-01"},
    )
    if stream:
        with anthropic_client.messages.stream(**kwargs) as s:
            assert s.get_final_message().content[0].text == "ok"
    else:
        assert anthropic_client.messages.create(**kwargs).content[0].text == "ok"
    call = mock.only_call_with(marker)
    expected = {
        "model": CLAUDE_UPSTREAM,
        "max_tokens": 64,
        "messages": messages,
        "metadata": {"user_id": "u-1"},
        "some_new_param": {"x": 1},
        "context_management": {"edits": []},
    }
    if stream:
        expected["stream"] = True
    assert call["body"] == expected
    assert header(call, "anthropic-beta") == "some-beta-2099-01-01"


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_openai_passthrough_keeps_unknown_fields(openai_client, script, mock, stream):
    marker = script({"content": [{"type": "text", "text": "ok"}]})
    messages = [{"role": "user", "content": f"{marker} hi"}]
    kwargs = dict(
        model=LOCAL_MODEL,
        messages=messages,
        max_tokens=64,
        logit_bias={"42": -100},
        extra_body={"some_new_param": {"x": 1}, "chat_template_kwargs": {"enable_thinking": False}},
    )
    if stream:
        result = collect_openai_stream(openai_client.chat.completions.create(stream=True, **kwargs))
        assert result.reply.text == "ok"
    else:
        assert openai_client.chat.completions.create(**kwargs).choices[0].message.content == "ok"
    body = mock.only_call_with(marker)["body"]
    expected = {
        "model": LOCAL_UPSTREAM,
        "messages": messages,
        "max_tokens": 64,
        "logit_bias": {"42": -100},
        "some_new_param": {"x": 1},
        "chat_template_kwargs": {"enable_thinking": False},
    }
    if stream:
        # bivio asks for usage for its own accounting (and drops the usage chunk for the client).
        expected["stream"] = True
        expected["stream_options"] = {"include_usage": True}
    assert body == expected


# --------------------------------------------------------------------------------------------------
# 10. A client disconnect cancels the upstream stream
# --------------------------------------------------------------------------------------------------


def test_client_disconnect_cancels_upstream(pairing, client, script, mock):
    # ~200 frames 50 ms apart: the upstream would need ~10 s to finish, far longer than the wait below.
    marker = script(
        {"content": [{"type": "text", "text": "x" * 200}], "stream": {"chunk_size": 1, "chunk_delay_ms": 50}}
    )
    before = mock.wait_streams_settled()
    messages = [{"role": "user", "content": f"{marker} talk slowly"}]
    if pairing.sdk == "anthropic":
        with client.messages.stream(model=pairing.model, max_tokens=512, messages=messages) as stream:
            first = next(e for e in stream if e.type == "text")
            assert first.text == "x"
        # Leaving the block closes the HTTP response mid-stream.
    else:
        stream = client.chat.completions.create(model=pairing.model, messages=messages, stream=True)
        assert next(c for c in stream if c.choices and c.choices[0].delta.content).choices[0].delta.content == "x"
        stream.close()
    after = mock.wait_for_stats(lambda s: s["streams_cancelled"] > before["streams_cancelled"], timeout=5.0)
    assert after["streams_cancelled"] == before["streams_cancelled"] + 1, (before, after)
    assert after["streams_completed"] == before["streams_completed"], (before, after)


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_text_then_tool_call(pairing, client, script, stream):
    """Text before a tool call, streamed or not: the text block and the call both arrive intact."""
    tool_id = upstream_tool_id(pairing.backend)
    marker = script(
        {
            "content": [
                {"type": "text", "text": "Checking the weather now."},
                {"type": "tool_use", "id": tool_id, "name": "get_weather", "input": {"city": "Rome"}},
            ],
            "stream": {"chunk_size": 4},
        }
    )
    reply = ask(pairing, client, f"{marker} weather?", stream=stream, tools=tools_for(pairing.sdk))
    assert reply.text == "Checking the weather now."
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        (client_tool_id(pairing, tool_id), "get_weather", {"city": "Rome"})
    ]
    assert reply.stop == expected_stop(pairing, "tool_use")


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_tool_call_without_arguments(pairing, client, script, stream):
    """A call with empty input: Anthropic clients get `{}`, OpenAI clients a JSON string that parses to `{}`."""
    marker = script({"content": [{"type": "tool_use", "id": upstream_tool_id(pairing.backend), "name": "get_time"}]})
    reply = ask(pairing, client, f"{marker} time?", stream=stream, tools=tools_for(pairing.sdk, ("get_time",)))
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("get_time", {})]


@pytest.mark.parametrize("backend", BACKENDS)
def test_tool_result_error_flag_and_blocks(backend, anthropic_client, script, mock):
    """An Anthropic tool_result with is_error and block content: forwarded as is to Claude; toward OpenAI
    backends a `tool` message whose text says it is an error (OpenAI has no error flag)."""
    marker = script({"content": [{"type": "text", "text": "Sorry about that."}]})
    pairing = Pairing("anthropic", backend)
    messages = [
        {"role": "user", "content": f"{marker} weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01E", "name": "get_weather", "input": {"city": "Atlantis"}}]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01E", "is_error": True,
                 "content": [{"type": "text", "text": "unknown city"}]},
                {"type": "text", "text": "Try again?"},
            ],
        },
    ]
    reply = anthropic_reply(
        anthropic_client.messages.create(model=pairing.model, max_tokens=64, tools=tools_for("anthropic"), messages=messages)
    )
    assert reply.text == "Sorry about that."
    sent = mock.only_call_with(marker)["body"]["messages"]
    if backend == "anthropic":
        assert sent == messages
    else:
        assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]
        tool = sent[2]
        assert tool["tool_call_id"] == "toolu_01E"
        assert "unknown city" in text_of(tool["content"]) and "error" in text_of(tool["content"]).lower()
        assert text_of(sent[3]["content"]) == "Try again?"


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_empty_answer(pairing, client, script, stream):
    """protocol-notes: always emit the full skeleton, even for empty output."""
    marker = script({"content": [], "usage": USAGE})
    reply = ask(pairing, client, f"{marker} say nothing", stream=stream)
    assert reply.text == "" and reply.tool_calls == []
    assert reply.stop == expected_stop(pairing, "end_turn")
    assert_usage(pairing, reply.usage)


UNICODE_TEXT = "Ciao, città! Straße → 東京 🌍🚀 — fin."


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_unicode_text_split_into_single_characters(pairing, client, script, stream):
    """Multi-byte characters (and astral-plane emoji) streamed one character per frame survive re-encoding."""
    marker = script({"content": [{"type": "text", "text": UNICODE_TEXT}], "stream": {"chunk_size": 1}})
    assert ask(pairing, client, f"{marker} unicode", stream=stream).text == UNICODE_TEXT


def test_response_format_json_schema_to_claude(openai_client, script, mock):
    """Claude has no response_format: bivio turns it into a system instruction that carries the schema."""
    marker = script({"content": [{"type": "text", "text": '{"city": "Rome"}'}]})
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    reply = openai_reply(
        openai_client.chat.completions.create(
            model=CLAUDE_MODEL,
            messages=[{"role": "system", "content": "Be helpful."}, {"role": "user", "content": marker}],
            response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema}},
        )
    )
    assert json.loads(reply.text) == {"city": "Rome"}
    body = mock.only_call_with(marker)["body"]
    texts = system_texts_sent("anthropic", body)
    assert texts[0] == "Be helpful."
    instruction = texts[-1]
    assert "JSON" in instruction
    assert json.loads(instruction[instruction.index("{"):]) == schema, instruction
    assert "response_format" not in body


def test_concurrent_requests_do_not_cross(pairing, client, script):
    """Eight requests in flight at once, each with its own script: every answer matches its own request."""
    from concurrent.futures import ThreadPoolExecutor

    markers = [
        script({"content": [{"type": "text", "text": f"answer number {i}"}], "stream": {"chunk_size": 2, "chunk_delay_ms": 5}})
        for i in range(8)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda im: ask(pairing, client, f"{im[1]} q", stream=im[0] % 2 == 0), enumerate(markers)))
    assert [r.text for r in replies] == [f"answer number {i}" for i in range(8)]


def test_unsigned_thinking_from_a_local_model_is_not_sent_to_claude(anthropic_client, script, mock):
    """A conversation started on a local model (its reasoning became a thinking block without a signature)
    continues on Claude: the unsigned block must not reach Claude."""
    local = script({"content": [{"type": "thinking", "thinking": "local musings"}, {"type": "text", "text": "Hi!"}]})
    messages: list[Any] = [{"role": "user", "content": f"{local} hello"}]
    with anthropic_client.messages.stream(model=LOCAL_MODEL, max_tokens=256, messages=messages) as stream:
        first = stream.get_final_message()
    thinking = [b for b in first.content if b.type == "thinking"]
    assert thinking and not thinking[0].signature, "precondition: local reasoning arrives unsigned"
    claude = script({"content": [{"type": "text", "text": "ok"}]})
    messages += [{"role": "assistant", "content": first.content}, {"role": "user", "content": f"{claude} go on"}]
    anthropic_client.messages.create(model=CLAUDE_MODEL, max_tokens=256, messages=messages)
    sent = mock.only_call_with(claude)["body"]["messages"][1]["content"]
    assert all(block["type"] != "thinking" for block in sent), sent


def test_health_and_readiness(gateway):
    assert gateway.http.get("/healthz").json()["status"] == "ok"
    ready = gateway.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
