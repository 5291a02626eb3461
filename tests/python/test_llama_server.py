"""bivio in front of a real third-party OpenAI-compatible server: llama-cpp-python's, serving a tiny gemma-3
270M base model. Its answers are gibberish; what is tested is the plumbing: both SDKs, streaming and not,
token limits honoured, usage counted, stop reasons mapped, streamed text equal to the deltas.

Skipped only when the model file is absent (scripts/test-deps.sh fetches it).
"""

from __future__ import annotations

import sys

import anthropic
import openai
import pytest

from bivio_harness import (
    CACHE,
    CLIENT_KEY,
    LLAMA_MODEL,
    Child,
    Gateway,
    anthropic_reply,
    collect_openai_stream,
    free_port,
    openai_reply,
)

MODEL = "gemma-local"
MAX_TOKENS = 16
PROMPT = "Write one short sentence about the sea."
# Greedy decoding: the same prompt gives the same tokens, streamed or not.
GREEDY = {"temperature": 0}
LLAMA_START_TIMEOUT_S = 120.0
CLIENT_TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def llama_url() -> str:
    if not LLAMA_MODEL.exists():
        pytest.skip(f"model file {LLAMA_MODEL} is absent: run scripts/test-deps.sh")
    python = CACHE / "venv" / "bin" / "python"
    port = free_port()
    argv = [
        str(python if python.exists() else sys.executable), "-m", "llama_cpp.server",
        "--model", str(LLAMA_MODEL), "--model_alias", "gemma", "--chat_format", "gemma",
        "--n_ctx", "2048", "--n_threads", "2", "--host", "127.0.0.1", "--port", str(port),
    ]
    child = Child("llama-server", argv)
    try:
        child.wait_for_http(f"http://127.0.0.1:{port}/v1/models", timeout=LLAMA_START_TIMEOUT_S)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        child.stop()


@pytest.fixture(scope="module")
def llama_gateway(llama_url: str) -> Gateway:
    config = f"""
[server]
listen = "127.0.0.1:0"

[providers.llama]
kind = "openai_compatible"
api_base = "{llama_url}"

[models.{MODEL}]
provider = "llama"
upstream_model = "gemma"
"""
    gateway = Gateway(config)
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def anthropic_llama(llama_gateway: Gateway):
    client = anthropic.Anthropic(base_url=llama_gateway.url, api_key=CLIENT_KEY, max_retries=0, timeout=CLIENT_TIMEOUT_S)
    yield client
    client.close()


@pytest.fixture(scope="module")
def openai_llama(llama_gateway: Gateway):
    client = openai.OpenAI(
        base_url=f"{llama_gateway.url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=CLIENT_TIMEOUT_S
    )
    yield client
    client.close()


def anthropic_kwargs(max_tokens: int = MAX_TOKENS) -> dict:
    return dict(
        model=MODEL,
        max_tokens=max_tokens,
        messages=[{"role": "user", "content": PROMPT}],
        extra_body=GREEDY,  # this SDK version has no temperature keyword
    )


def openai_kwargs(max_tokens: int = MAX_TOKENS) -> dict:
    return dict(model=MODEL, max_tokens=max_tokens, messages=[{"role": "user", "content": PROMPT}], **GREEDY)


def check_anthropic(reply, max_tokens: int = MAX_TOKENS) -> None:
    assert reply.stop in ("end_turn", "max_tokens"), reply
    assert reply.text.strip() or reply.stop == "end_turn", reply
    assert 0 < reply.usage["output_tokens"] <= max_tokens, reply.usage
    if reply.stop == "max_tokens":
        assert reply.usage["output_tokens"] == max_tokens, reply.usage
    assert reply.model == MODEL


def check_openai(reply, max_tokens: int = MAX_TOKENS) -> None:
    assert reply.stop in ("stop", "length"), reply
    assert reply.text.strip() or reply.stop == "stop", reply
    assert 0 < reply.usage["completion_tokens"] <= max_tokens, reply.usage
    assert reply.usage["prompt_tokens"] > 0
    assert reply.usage["total_tokens"] == reply.usage["prompt_tokens"] + reply.usage["completion_tokens"]
    if reply.stop == "length":
        assert reply.usage["completion_tokens"] == max_tokens, reply.usage


def test_anthropic_sdk_nonstream(anthropic_llama):
    reply = anthropic_reply(anthropic_llama.messages.create(**anthropic_kwargs()))
    check_anthropic(reply)
    assert reply.usage["input_tokens"] > 0


def anthropic_stream(client) -> tuple[object, list[str]]:
    text_deltas = []
    with client.messages.stream(**anthropic_kwargs()) as stream:
        for event in stream:
            if event.type == "text":
                text_deltas.append(event.text)
        final = stream.get_final_message()
    return anthropic_reply(final), text_deltas


def test_anthropic_sdk_stream(anthropic_llama):
    reply, text_deltas = anthropic_stream(anthropic_llama)
    assert "".join(text_deltas) == reply.text
    assert reply.stop in ("end_turn", "max_tokens"), reply
    assert reply.text.strip() or reply.stop == "end_turn", reply
    assert reply.model == MODEL
    # Greedy decoding: the stream says what the non-streamed answer says.
    assert reply.text == anthropic_reply(anthropic_llama.messages.create(**anthropic_kwargs())).text


def test_anthropic_sdk_stream_usage(anthropic_llama):
    reply, _ = anthropic_stream(anthropic_llama)
    check_anthropic(reply)
    assert reply.usage["input_tokens"] > 0


def test_anthropic_sdk_max_tokens_maps_to_stop_reason(anthropic_llama):
    """A 3-token budget on a base model ends by length → Anthropic's `max_tokens`."""
    reply = anthropic_reply(anthropic_llama.messages.create(**anthropic_kwargs(max_tokens=3)))
    assert reply.stop == "max_tokens", reply
    assert reply.usage["output_tokens"] == 3


def test_openai_sdk_nonstream(openai_llama):
    reply = openai_reply(openai_llama.chat.completions.create(**openai_kwargs()))
    check_openai(reply)
    assert reply.model


def test_openai_sdk_stream(openai_llama):
    result = collect_openai_stream(
        openai_llama.chat.completions.create(stream=True, stream_options={"include_usage": True}, **openai_kwargs())
    )
    reply = result.reply
    assert reply.stop in ("stop", "length")
    assert reply.text.strip() or reply.stop == "stop"
    # Greedy decoding: the stream says what the non-streamed answer says.
    assert reply.text == openai_reply(openai_llama.chat.completions.create(**openai_kwargs())).text


def test_openai_sdk_stream_usage_chunk(openai_llama):
    result = collect_openai_stream(
        openai_llama.chat.completions.create(stream=True, stream_options={"include_usage": True}, **openai_kwargs())
    )
    assert result.usage_chunk is not None, "the client asked for include_usage"
    check_openai(result.reply)


def test_openai_sdk_stream_without_usage(openai_llama):
    result = collect_openai_stream(openai_llama.chat.completions.create(stream=True, **openai_kwargs()))
    assert result.usage_chunk is None
    assert result.reply.stop in ("stop", "length")
    assert result.reply.text.strip() or result.reply.stop == "stop"


def test_openai_sdk_stream_helper(openai_llama):
    """The SDK's stream helper; it raises LengthFinishReasonError on a `length` finish (likely at 16 tokens of a
    base model), carrying the accumulated completion, which must still match the deltas."""
    deltas: list[str] = []
    try:
        with openai_llama.chat.completions.stream(**openai_kwargs()) as stream:
            for event in stream:
                if event.type == "content.delta":
                    deltas.append(event.delta)
            final = stream.get_final_completion()
    except openai.LengthFinishReasonError as err:
        final = err.completion
        assert final.choices[0].finish_reason == "length"
    assert final.choices[0].finish_reason in ("stop", "length")
    assert "".join(deltas) == (final.choices[0].message.content or "")
    assert deltas, "a 16-token answer arrives in pieces"


def test_openai_sdk_length_finish_reason(openai_llama):
    reply = openai_reply(openai_llama.chat.completions.create(**openai_kwargs(max_tokens=3)))
    assert reply.stop == "length", reply
    assert reply.usage["completion_tokens"] == 3


def test_anthropic_system_prompt_reaches_a_template_without_system_role(anthropic_llama):
    """gemma's template has no system role; bivio sends one leading system message and the server copes."""
    reply = anthropic_reply(
        anthropic_llama.messages.create(system="You are a poet.", **anthropic_kwargs())
    )
    check_anthropic(reply)


def test_openai_developer_message(openai_llama):
    reply = openai_reply(
        openai_llama.chat.completions.create(
            model=MODEL,
            max_tokens=MAX_TOKENS,
            temperature=0,
            messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": PROMPT}],
        )
    )
    check_openai(reply)
