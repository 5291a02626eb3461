#!/usr/bin/env python3
"""Streams chat completions from an OpenAI-compatible server and prints one JSON line per run, in the same
shape as `cargo run --example bench -p bivio-embedded` (TTFT, decode tokens/s).

llama-cpp-python's server does not report usage in streams, so tokens are counted as content chunks (it
sends one chunk per generated token); one final non-streamed call with run 1's prompt reports the exact
`completion_tokens`, to check that count. Standard library only.
"""
import argparse
import http.client
import json
import sys
import time

DEFAULT_PROMPT = (
    "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle. Describe the sea, "
    "the weather, the keeper's daily routine, and what happens after the message is read."
)


def run(host, port, model, prompt, max_tokens, stream=True):
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": stream,
    }
    conn = http.client.HTTPConnection(host, port, timeout=300)
    start = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise SystemExit(f"HTTP {resp.status}: {resp.read()[:300]!r}")
    if not stream:
        data = json.loads(resp.read())
        conn.close()
        return data["usage"]
    first = last = None
    chunks = 0
    buf = b""
    while True:
        line = resp.readline()
        if not line:
            break
        line = line.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        event = json.loads(data)
        for choice in event.get("choices", []):
            if (choice.get("delta") or {}).get("content"):
                now = time.perf_counter()
                first = first or now
                last = now
                chunks += 1
    end = time.perf_counter() - start
    conn.close()
    return {"start": start, "first": first, "last": last, "chunks": chunks, "end": end}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--model", default="gemma")
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--prompt", default=DEFAULT_PROMPT)
    p.add_argument("--label", default="llama-cpp-python")
    p.add_argument("--check-usage", action="store_true")
    a = p.parse_args()
    for rep in range(0, a.reps + 1):
        r = run(a.host, a.port, a.model, f"({rep}) {a.prompt}", a.max_tokens)
        if r["first"] is None:
            raise SystemExit("no text was generated")
        ttft = (r["first"] - r["start"]) * 1000
        decode = r["last"] - r["first"]
        tps = (r["chunks"] - 1) / decode if decode > 0 else 0.0
        if rep > 0:  # run 0 warms up
            print(json.dumps({"engine": a.label, "rep": rep, "output_tokens": r["chunks"], "ttft_ms": round(ttft, 1),
                              "decode_tps": round(tps, 2), "total_s": round(r["end"], 3)}), flush=True)
    if a.check_usage:
        usage = run(a.host, a.port, a.model, f"(1) {a.prompt}", a.max_tokens, stream=False)
        print(json.dumps({"engine": a.label, "usage_check": usage}), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
