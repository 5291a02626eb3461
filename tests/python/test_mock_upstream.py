"""The mock upstream, driven directly by the official Anthropic and OpenAI Python SDKs.

bivio's end-to-end tests trust `bivio-mock-upstream` to play Anthropic's Messages API and an
OpenAI-compatible server. These tests prove that trust is deserved: if the SDKs parse every
response, stream, and error the mock sends (into the right types and exception classes), the
mock speaks the wire protocols the SDKs expect.

Run:  ~/.cache/bivio/venv/bin/python -m pytest tests/python/test_mock_upstream.py -q
The binary comes from $BIVIO_MOCK_BIN (default: target/debug/bivio-mock-upstream; build it with
`cargo build -p bivio-mock-upstream`).
"""

from __future__ import annotations

import json
import os
import pathlib
import selectors
import subprocess
import time
import urllib.request

import anthropic
import openai
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("BIVIO_MOCK_BIN", REPO / "target" / "debug" / "bivio-mock-upstream"))
MODEL_A = "claude-sonnet-4-5"
MODEL_O = "gpt-4o-mini"


class Mock:
    """A mock process plus its HTTP control API."""

    def __init__(self, *args: str) -> None:
        if not BIN.is_file():
            pytest.fail(f"{BIN} not found: run `cargo build -p bivio-mock-upstream` or set BIVIO_MOCK_BIN")
        self.proc = subprocess.Popen([str(BIN), *args], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=20):
            self.close()
            pytest.fail("mock upstream did not announce its address within 20s")
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening on http://"), line
        self.base = line.removeprefix("listening on ")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _call(self, method: str, path: str, body: object | None = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def script(self, key: str, script: dict) -> None:
        assert self._call("POST", "/_mock/scripts", {"key": key, "script": script}) == {"ok": True}

    def calls(self) -> list:
        return self._call("GET", "/_mock/calls")  # type: ignore[return-value]

    def stats(self) -> dict:
        return self._call("GET", "/_mock/stats")  # type: ignore[return-value]

    def reset(self) -> None:
        self._call("POST", "/_mock/reset", {})


@pytest.fixture(scope="module")
def server():
    mock = Mock()
    yield mock
    mock.close()


@pytest.fixture
def mock(server: Mock) -> Mock:
    server.reset()
    return server


@pytest.fixture
def claude(mock: Mock) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="test-key", base_url=mock.base, max_retries=0)


@pytest.fixture
def oai(mock: Mock) -> openai.OpenAI:
    return openai.OpenAI(api_key="test-key", base_url=mock.base + "/v1", max_retries=0)


RICH = {
    "content": [
        {"type": "thinking", "thinking": "The user wants weather; call the tool.", "signature": "sig-123"},
        {"type": "text", "text": "Let me check the weather in Rome."},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Rome", "days": [1, 2]}},
    ],
    "usage": {"input_tokens": 12, "output_tokens": 34, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 2},
}

TOOLS_OPENAI = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "array", "items": {"type": "integer"}}},
                "required": ["city", "days"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
]


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


# --- Anthropic ---------------------------------------------------------------------------------


def test_anthropic_create_echo(claude: anthropic.Anthropic, mock: Mock) -> None:
    msg = claude.messages.create(model=MODEL_A, max_tokens=64, messages=user("hello mock"))
    assert msg.id.startswith("msg_")
    assert msg.type == "message" and msg.role == "assistant" and msg.model == MODEL_A
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == "echo: hello mock"
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    assert msg.usage.input_tokens >= 1 and msg.usage.output_tokens == 3
    assert msg._request_id and msg._request_id.startswith("req_")
    (call,) = mock.calls()
    assert call["path"] == "/v1/messages"
    headers = dict(call["headers"])
    assert headers["anthropic-version"]  # the SDK pins its own version date
    # Depending on its version the SDK sends the key as x-api-key or as a bearer token.
    assert headers.get("x-api-key") == "test-key" or headers.get("authorization") == "Bearer test-key"
    assert call["body"]["max_tokens"] == 64


def test_anthropic_create_all_block_kinds(claude: anthropic.Anthropic, mock: Mock) -> None:
    mock.script("rich", RICH)
    msg = claude.messages.create(model=MODEL_A, max_tokens=64, messages=user("[[mock:rich]] weather?"))
    thinking, text, tool = msg.content
    assert isinstance(thinking, anthropic.types.ThinkingBlock)
    assert thinking.thinking.startswith("The user wants") and thinking.signature == "sig-123"
    assert isinstance(text, anthropic.types.TextBlock) and text.text == "Let me check the weather in Rome."
    assert isinstance(tool, anthropic.types.ToolUseBlock)
    assert tool.id == "toolu_01" and tool.name == "get_weather" and tool.input == {"city": "Rome", "days": [1, 2]}
    assert msg.stop_reason == "tool_use"
    assert msg.usage.cache_read_input_tokens == 5 and msg.usage.cache_creation_input_tokens == 2


def test_anthropic_stream_get_final_message(claude: anthropic.Anthropic, mock: Mock) -> None:
    mock.script("rich", {**RICH, "stream": {"chunk_size": 3}})
    seen: list[str] = []
    with claude.messages.stream(model=MODEL_A, max_tokens=64, messages=user("[[mock:rich]]")) as stream:
        for event in stream:
            seen.append(event.type)
        final = stream.get_final_message()
    assert seen[0] == "message_start" and seen[-1] == "message_stop"
    for helper_event in ("thinking", "signature", "text", "input_json", "content_block_stop", "message_delta"):
        assert helper_event in seen, helper_event
    thinking, text, tool = final.content
    assert thinking.type == "thinking" and thinking.thinking == "The user wants weather; call the tool."
    assert thinking.signature == "sig-123"
    assert text.type == "text" and text.text == "Let me check the weather in Rome."
    assert tool.type == "tool_use" and tool.input == {"city": "Rome", "days": [1, 2]}
    assert isinstance(tool.input, dict)
    assert final.stop_reason == "tool_use"
    assert final.usage.input_tokens == 12 and final.usage.output_tokens == 34
    assert final.usage.cache_read_input_tokens == 5
    assert mock.stats()["streams_completed"] == 1


def test_anthropic_text_stream(claude: anthropic.Anthropic, mock: Mock) -> None:
    with claude.messages.stream(model=MODEL_A, max_tokens=64, messages=user("stream me please")) as stream:
        text = "".join(stream.text_stream)
    assert text == "echo: stream me please"


def test_anthropic_raw_stream_event_order(claude: anthropic.Anthropic, mock: Mock) -> None:
    mock.script("rich", RICH)
    events = list(claude.messages.create(model=MODEL_A, max_tokens=64, messages=user("[[mock:rich]]"), stream=True))
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    starts = [e for e in events if e.type == "content_block_start"]
    assert [e.index for e in starts] == [0, 1, 2]
    assert [e.content_block.type for e in starts] == ["thinking", "text", "tool_use"]
    json_parts = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert json_parts[0] == "" and json.loads("".join(json_parts)) == {"city": "Rome", "days": [1, 2]}


def test_anthropic_tool_round_trip_with_steps(claude: anthropic.Anthropic, mock: Mock) -> None:
    mock.script(
        "weather",
        {"steps": [{"content": [RICH["content"][2]]}, {"content": [{"type": "text", "text": "Sunny, 24°C."}]}]},
    )
    messages: list[dict] = user("[[mock:weather]] weather in Rome?")
    first = claude.messages.create(model=MODEL_A, max_tokens=64, messages=messages)
    assert first.stop_reason == "tool_use"
    tool = first.content[0]
    messages += [
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "sunny"}]},
    ]
    with claude.messages.stream(model=MODEL_A, max_tokens=64, messages=messages) as stream:
        second = stream.get_final_message()
    assert second.content[0].text == "Sunny, 24°C." and second.stop_reason == "end_turn"


def test_anthropic_count_tokens_and_models(claude: anthropic.Anthropic) -> None:
    count = claude.messages.count_tokens(model=MODEL_A, messages=user("twelve chars"))
    assert count.input_tokens == 3
    models = list(claude.models.list())
    assert len(models) >= 1 and all(m.type == "model" and m.id.startswith("claude-") for m in models)


@pytest.mark.parametrize(
    ("status", "exc", "kind"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.InternalServerError, "overloaded_error"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_error_statuses(
    claude: anthropic.Anthropic, mock: Mock, status: int, exc: type, kind: str, stream: bool
) -> None:
    mock.script("err", {"status": status, "error_message": f"scripted {status}"})
    with pytest.raises(exc) as info:
        if stream:
            with claude.messages.stream(model=MODEL_A, max_tokens=8, messages=user("[[mock:err]]")) as s:
                s.get_final_message()
        else:
            claude.messages.create(model=MODEL_A, max_tokens=8, messages=user("[[mock:err]]"))
    assert info.value.status_code == status
    assert info.value.body["error"] == {"type": kind, "message": f"scripted {status}"}
    assert info.value.request_id and info.value.request_id.startswith("req_")


def test_anthropic_overloaded_subclass_when_the_sdk_has_one(claude: anthropic.Anthropic, mock: Mock) -> None:
    mock.script("busy", {"status": 529})
    overloaded = getattr(anthropic, "OverloadedError", anthropic.InternalServerError)
    with pytest.raises(overloaded):
        claude.messages.create(model=MODEL_A, max_tokens=8, messages=user("[[mock:busy]]"))


def test_anthropic_retry_after_is_honoured(mock: Mock) -> None:
    mock.script("limited", {"status": 429, "retry_after": 1})
    client = anthropic.Anthropic(api_key="k", base_url=mock.base, max_retries=1)
    started = time.monotonic()
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model=MODEL_A, max_tokens=8, messages=user("[[mock:limited]]"))
    assert time.monotonic() - started >= 0.9
    assert len(mock.calls()) == 2


def test_anthropic_in_stream_error(claude: anthropic.Anthropic, mock: Mock) -> None:
    mock.script(
        "boom", {"content": [{"type": "text", "text": "partial answer here"}], "stream": {"error_after_frames": 4}}
    )
    with pytest.raises(anthropic.APIStatusError) as info:
        with claude.messages.stream(model=MODEL_A, max_tokens=8, messages=user("[[mock:boom]]")) as s:
            s.get_final_message()
    assert info.value.body["error"]["type"] == "overloaded_error"


def test_anthropic_garbage_frame_fails_to_parse(claude: anthropic.Anthropic, mock: Mock) -> None:
    mock.script(
        "junk", {"content": [{"type": "text", "text": "partial answer"}], "stream": {"garbage_after_frames": 3}}
    )
    with pytest.raises(ValueError):
        with claude.messages.stream(model=MODEL_A, max_tokens=8, messages=user("[[mock:junk]]")) as s:
            s.get_final_message()


def test_anthropic_require_key() -> None:
    guarded = Mock("--require-key", "sekrit")
    try:
        wrong = anthropic.Anthropic(api_key="wrong", base_url=guarded.base, max_retries=0)
        with pytest.raises(anthropic.AuthenticationError):
            wrong.messages.create(model=MODEL_A, max_tokens=8, messages=user("hi"))
        by_key = anthropic.Anthropic(api_key="sekrit", base_url=guarded.base, max_retries=0)
        assert by_key.messages.create(model=MODEL_A, max_tokens=8, messages=user("hi")).content[0].text == "echo: hi"
        by_token = anthropic.Anthropic(auth_token="sekrit", base_url=guarded.base, max_retries=0)
        assert by_token.messages.create(model=MODEL_A, max_tokens=8, messages=user("hi")).content[0].text == "echo: hi"
    finally:
        guarded.close()


# --- OpenAI ------------------------------------------------------------------------------------


def test_openai_create_echo(oai: openai.OpenAI, mock: Mock) -> None:
    completion = oai.chat.completions.create(model=MODEL_O, messages=user("hello mock"))
    assert completion.id.startswith("chatcmpl-") and completion.object == "chat.completion"
    assert completion.model == MODEL_O
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.message.content == "echo: hello mock"
    assert choice.finish_reason == "stop" and choice.message.tool_calls is None
    assert completion.usage.completion_tokens == 3
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 3
    (call,) = mock.calls()
    assert call["path"] == "/v1/chat/completions"
    assert dict(call["headers"])["authorization"] == "Bearer test-key"


def test_openai_create_tool_calls(oai: openai.OpenAI, mock: Mock) -> None:
    second_call = {**RICH["content"][2], "id": "toolu_02"}
    mock.script("tools", {"content": [RICH["content"][2], second_call], "usage": RICH["usage"]})
    completion = oai.chat.completions.create(model=MODEL_O, messages=user("[[mock:tools]]"), tools=TOOLS_OPENAI)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert [c.id for c in calls] == ["toolu_01", "toolu_02"]
    assert all(c.type == "function" and c.function.name == "get_weather" for c in calls)
    assert json.loads(calls[0].function.arguments) == {"city": "Rome", "days": [1, 2]}
    assert completion.usage.prompt_tokens == 19  # 12 + 5 cached + 2 cache creation
    assert completion.usage.prompt_tokens_details.cached_tokens == 5
    assert completion.usage.completion_tokens == 34


def test_openai_reasoning_content(oai: openai.OpenAI, mock: Mock) -> None:
    mock.script("rich", RICH)
    completion = oai.chat.completions.create(model=MODEL_O, messages=user("[[mock:rich]]"))
    message = completion.choices[0].message
    assert message.content == "Let me check the weather in Rome."
    assert getattr(message, "reasoning_content") == "The user wants weather; call the tool."


def _collect(chunks) -> dict:
    """Reassembles a raw chunk stream the way a careful client would."""
    out: dict = {
        "ids": set(),
        "created": set(),
        "content": "",
        "reasoning": "",
        "calls": {},
        "finish": None,
        "usage": [],
    }
    for chunk in chunks:
        out["ids"].add(chunk.id)
        out["created"].add(chunk.created)
        assert chunk.object == "chat.completion.chunk"
        if chunk.usage is not None:
            assert chunk.choices == []
            out["usage"].append(chunk.usage)
            continue
        (choice,) = chunk.choices
        delta = choice.delta
        out["content"] += delta.content or ""
        out["reasoning"] += getattr(delta, "reasoning_content", None) or ""
        for call in delta.tool_calls or []:
            slot = out["calls"].setdefault(call.index, {"id": None, "name": None, "arguments": ""})
            if call.id is not None:
                assert slot["id"] is None, "only the first fragment carries the id"
                slot["id"], slot["name"] = call.id, call.function.name
                assert call.type == "function"
            out["calls"][call.index]["arguments"] += call.function.arguments or ""
        if choice.finish_reason is not None:
            out["finish"] = choice.finish_reason
    return out


def test_openai_raw_stream_with_include_usage(oai: openai.OpenAI, mock: Mock) -> None:
    mock.script("rich", {**RICH, "stream": {"chunk_size": 2}})
    stream = oai.chat.completions.create(
        model=MODEL_O,
        messages=user("[[mock:rich]]"),
        tools=TOOLS_OPENAI,
        stream=True,
        stream_options={"include_usage": True},
    )
    got = _collect(stream)
    assert len(got["ids"]) == 1 and len(got["created"]) == 1
    assert got["content"] == "Let me check the weather in Rome."
    assert got["reasoning"] == "The user wants weather; call the tool."
    assert list(got["calls"]) == [0]
    assert got["calls"][0]["id"] == "toolu_01" and got["calls"][0]["name"] == "get_weather"
    assert json.loads(got["calls"][0]["arguments"]) == {"city": "Rome", "days": [1, 2]}
    assert got["finish"] == "tool_calls"
    (usage,) = got["usage"]
    assert usage.prompt_tokens == 19 and usage.completion_tokens == 34
    assert usage.prompt_tokens_details.cached_tokens == 5


def test_openai_raw_stream_without_include_usage(oai: openai.OpenAI, mock: Mock) -> None:
    got = _collect(oai.chat.completions.create(model=MODEL_O, messages=user("plain"), stream=True))
    assert got["content"] == "echo: plain" and got["finish"] == "stop" and got["usage"] == []


def test_openai_stream_helper_final_completion(oai: openai.OpenAI, mock: Mock) -> None:
    oslo = {**RICH["content"][2], "id": "toolu_02", "input": {"city": "Oslo", "days": []}}
    mock.script("tools", {"content": [{"type": "text", "text": "Checking."}, RICH["content"][2], oslo]})
    with oai.chat.completions.stream(
        model=MODEL_O, messages=user("[[mock:tools]]"), tools=TOOLS_OPENAI, stream_options={"include_usage": True}
    ) as stream:
        kinds = {event.type for event in stream}
        final = stream.get_final_completion()
    assert {"content.delta", "tool_calls.function.arguments.delta", "tool_calls.function.arguments.done"} <= kinds
    message = final.choices[0].message
    assert message.content == "Checking."
    assert [c.function.parsed_arguments for c in message.tool_calls] == [
        {"city": "Rome", "days": [1, 2]},
        {"city": "Oslo", "days": []},
    ]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage is not None and final.usage.completion_tokens >= 1


def test_openai_stream_helper_tolerates_whole_call_quirk(oai: openai.OpenAI, mock: Mock) -> None:
    quirks = ["whole_call_in_one_chunk", "stop_with_tool_calls"]
    mock.script("quirky", {"content": [RICH["content"][2]], "stream": {"openai_quirks": quirks}})
    with oai.chat.completions.stream(model=MODEL_O, messages=user("[[mock:quirky]]"), tools=TOOLS_OPENAI) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.tool_calls[0].function.parsed_arguments == {"city": "Rome", "days": [1, 2]}


@pytest.mark.parametrize(
    ("status", "exc"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (403, openai.PermissionDeniedError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_openai_error_statuses(oai: openai.OpenAI, mock: Mock, status: int, exc: type, stream: bool) -> None:
    mock.script("err", {"status": status, "error_message": f"scripted {status}"})
    with pytest.raises(exc) as info:
        oai.chat.completions.create(model=MODEL_O, messages=user("[[mock:err]]"), stream=stream)
    assert info.value.status_code == status
    assert f"scripted {status}" in info.value.message
    assert info.value.body["message"] == f"scripted {status}"
    assert "param" in info.value.body and "code" in info.value.body


def test_openai_in_stream_error(oai: openai.OpenAI, mock: Mock) -> None:
    mock.script(
        "boom", {"content": [{"type": "text", "text": "partial answer"}], "stream": {"error_after_frames": 2}}
    )
    with pytest.raises(openai.APIError) as info:
        list(oai.chat.completions.create(model=MODEL_O, messages=user("[[mock:boom]]"), stream=True))
    assert info.value.body["type"] == "server_error"


def test_openai_models_and_require_key(mock: Mock) -> None:
    client = openai.OpenAI(api_key="k", base_url=mock.base + "/v1", max_retries=0)
    ids = [m.id for m in client.models.list()]
    assert MODEL_O in ids
    guarded = Mock("--require-key", "sekrit")
    try:
        wrong = openai.OpenAI(api_key="wrong", base_url=guarded.base + "/v1", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.chat.completions.create(model=MODEL_O, messages=user("hi"))
        right = openai.OpenAI(api_key="sekrit", base_url=guarded.base + "/v1", max_retries=0)
        reply = right.chat.completions.create(model=MODEL_O, messages=user("hi"))
        assert reply.choices[0].message.content == "echo: hi"
    finally:
        guarded.close()


def test_client_disconnect_counts_as_cancelled(oai: openai.OpenAI, mock: Mock) -> None:
    mock.script(
        "slow", {"content": [{"type": "text", "text": "x" * 400}], "stream": {"chunk_size": 1, "chunk_delay_ms": 20}}
    )
    stream = oai.chat.completions.create(model=MODEL_O, messages=user("[[mock:slow]]"), stream=True)
    next(iter(stream))
    stream.close()
    deadline = time.monotonic() + 5
    while mock.stats()["streams_cancelled"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    stats = mock.stats()
    assert (stats["streams_started"], stats["streams_completed"], stats["streams_cancelled"]) == (1, 0, 1)
