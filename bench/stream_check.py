#!/usr/bin/env python3
"""Streaming checks for bench/gateway.sh, standard library only.

1. Time to first byte, sequentially (one request at a time on one keep-alive connection): the time from
   sending a streaming request to the first SSE frame, and to the end of the stream, client -> mock directly
   vs client -> bivio -> mock. The load generator (oha) only reports whole-response latency, so this is where
   TTFB comes from.
2. Pacing: the mock sends each frame `--delay-ms` after the previous one (script `chunk_delay_ms`); through
   bivio the frames must arrive spaced the same way, not bunched at the end. Prints every inter-arrival gap.

Writes a Markdown report (stdout or --out) and exits 1 if a pacing check fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse

PROMPT = "Benchmark prompt: the quick brown fox jumps over the lazy dog."
PACE_KEY = "bench-pace"
PACE_TEXT = "one two three four five"  # 5 text deltas at chunk_size 5


def body(api: str, model: str, text: str) -> bytes:
    del api  # the same minimal body is valid in both APIs
    payload = {"model": model, "max_tokens": 256, "stream": True, "messages": [{"role": "user", "content": text}]}
    return json.dumps(payload).encode()


def path_and_headers(api: str) -> tuple[str, dict[str, str]]:
    headers = {"content-type": "application/json", "accept": "text/event-stream"}
    if api == "anthropic":
        headers["anthropic-version"] = "2023-06-01"
        return "/v1/messages", headers
    return "/v1/chat/completions", headers


class Target:
    """One (base URL, client API, model) to stream from, on a persistent connection."""

    def __init__(self, label: str, base: str, api: str, model: str):
        self.label = label
        self.api = api
        self.model = model
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.conn: http.client.HTTPConnection | None = None

    def stream(self, text: str) -> tuple[float, list[float], int]:
        """Sends one streaming request; returns (send time, arrival time of each SSE frame, status)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        path, headers = path_and_headers(self.api)
        payload = body(self.api, self.model, text)
        sent = time.perf_counter()
        self.conn.request("POST", path, body=payload, headers=headers)
        resp = self.conn.getresponse()
        arrivals: list[float] = []
        in_frame = False
        while True:
            line = resp.readline()
            if not line:
                break
            if line.strip():
                if not in_frame:
                    arrivals.append(time.perf_counter())
                    in_frame = True
            else:
                in_frame = False
        if resp.status != 200:
            raise RuntimeError(f"{self.label}: HTTP {resp.status}")
        if resp.will_close:
            self.conn.close()
            self.conn = None
        return sent, arrivals, resp.status


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def ttfb_section(targets: list[tuple[Target, Target | None]], n: int, warmup: int) -> list[str]:
    lines = [
        f"Sequential streaming requests ({n} per row after {warmup} warm-up, one keep-alive connection, "
        "Python http.client): time to the first SSE frame (TTFB) and to the end of the stream, in ms.",
        "",
        "| path | hop | TTFB p50 | TTFB p99 | total p50 | total p99 | frames | added TTFB p50 | added TTFB p99 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    baselines: dict[str, tuple[float, float]] = {}
    for target, baseline in targets:
        ttfb: list[float] = []
        total: list[float] = []
        frames = 0
        for i in range(warmup + n):
            sent, arrivals, _ = target.stream(PROMPT)
            if i >= warmup:
                ttfb.append((arrivals[0] - sent) * 1000)
                total.append((arrivals[-1] - sent) * 1000)
                frames = len(arrivals)
        p50, p99 = pct(ttfb, 50), pct(ttfb, 99)
        baselines[target.label] = (p50, p99)
        added = ["", ""]
        if baseline is not None:
            b50, b99 = baselines[baseline.label]
            added = [f"{p50 - b50:+.3f}", f"{p99 - b99:+.3f}"]
        hop = "direct" if baseline is None else "via bivio"
        lines.append(
            f"| {target.label} | {hop} | {p50:.3f} | {p99:.3f} | {pct(total, 50):.3f} | {pct(total, 99):.3f} "
            f"| {frames} | {added[0]} | {added[1]} |"
        )
    return lines


def register_pace_script(mock: str, delay_ms: int) -> None:
    url = urllib.parse.urlsplit(mock)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    script = {
        "key": PACE_KEY,
        "script": {"content": [{"type": "text", "text": PACE_TEXT}], "stream": {"chunk_size": 5, "chunk_delay_ms": delay_ms}},
    }
    conn.request("POST", "/_mock/scripts", body=json.dumps(script), headers={"content-type": "application/json"})
    resp = conn.getresponse()
    answer = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"registering the pacing script failed: {resp.status} {answer!r}")
    conn.close()


def pacing_section(targets: list[Target], delay_ms: int) -> tuple[list[str], bool]:
    lines = [
        f"Mock script: text `{PACE_TEXT}` in 5-character deltas, `chunk_delay_ms = {delay_ms}` before every frame "
        "after the first. Gaps are the inter-arrival times of SSE frames at the client, in ms.",
        "",
        "| path | hop | frames | first frame | last frame | gap min | gap median | gap max | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    details: list[str] = []
    ok_all = True
    for target in targets:
        sent, arrivals, _ = target.stream(f"[[mock:{PACE_KEY}]] pace check")
        times = [(t - sent) * 1000 for t in arrivals]
        gaps = [b - a for a, b in zip(times, times[1:])]
        span = times[-1] - times[0]
        # Bunching (frames held back and released together) shows as a short span and near-zero gaps.
        # Translated streams may merge or split frames, so the median gap may be 0 or 2x the delay for some
        # frames; the span must still cover most of the upstream's pacing.
        median = statistics.median(gaps) if gaps else 0.0
        ok = len(gaps) >= 3 and span >= 0.6 * delay_ms * len(gaps) and median >= 0.8 * delay_ms
        ok_all &= ok
        hop = "direct" if "direct" in target.label else "via bivio"
        lines.append(
            f"| {target.label} | {hop} | {len(times)} | {times[0]:.1f} | {times[-1]:.1f} | {min(gaps):.1f} "
            f"| {median:.1f} | {max(gaps):.1f} | {'ok' if ok else 'BUNCHED'} |"
        )
        details.append(f"- {target.label}: arrivals (ms) " + ", ".join(f"{t:.0f}" for t in times))
    return lines + ["", *details], ok_all


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mock", required=True, help="mock base URL, http://127.0.0.1:PORT")
    parser.add_argument("--bivio", required=True, help="bivio base URL, http://127.0.0.1:PORT")
    parser.add_argument("-n", type=int, default=300, help="measured requests per TTFB row")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--delay-ms", type=int, default=100)
    parser.add_argument("--out", help="write the Markdown here instead of stdout")
    args = parser.parse_args()

    direct_a = Target("Anthropic → Anthropic (direct: mock /v1/messages)", args.mock, "anthropic", "claude-mock")
    direct_o = Target("OpenAI → OpenAI (direct: mock /v1/chat/completions)", args.mock, "openai", "local-mock")
    bivio_aa = Target("Anthropic client → anthropic backend", args.bivio, "anthropic", "bench-claude")
    bivio_oo = Target("OpenAI client → openai backend", args.bivio, "openai", "bench-local")
    bivio_oa = Target("OpenAI client → anthropic backend (translated)", args.bivio, "openai", "bench-claude")

    out = ["### Streaming: time to first byte", ""]
    out += ttfb_section(
        [(direct_a, None), (bivio_aa, direct_a), (bivio_oa, direct_a), (direct_o, None), (bivio_oo, direct_o)],
        args.n,
        args.warmup,
    )
    register_pace_script(args.mock, args.delay_ms)
    pace_direct_a = Target("mock /v1/messages (direct)", args.mock, "anthropic", "claude-mock")
    pace_direct_o = Target("mock /v1/chat/completions (direct)", args.mock, "openai", "local-mock")
    section, ok = pacing_section([pace_direct_a, bivio_aa, pace_direct_o, bivio_oo, bivio_oa], args.delay_ms)
    out += ["", "### Streaming: frames forwarded as they arrive", "", *section]
    text = "\n".join(out) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    if not ok:
        print("stream_check: a pacing check failed (frames bunched)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
