#!/usr/bin/env python3
"""Turns a bench/gateway.sh results directory into Markdown (stdout). Exits 1 if any request failed.

Reads OUT/meta.json, OUT/raw/{ns,st}_{target}_{rate|max}.json (oha --output-format json) and OUT/stream.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# bivio target -> (label, direct target it is compared with)
BIVIO_TARGETS = {
    "bivio-a2a": ("Anthropic client → anthropic backend", "direct-anthropic"),
    "bivio-o2o": ("OpenAI client → openai backend", "direct-openai"),
    "bivio-o2a": ("OpenAI client → anthropic backend (translated)", "direct-anthropic"),
    "bivio-a2o": ("Anthropic client → openai backend (translated)", "direct-openai"),
}
DIRECT_LABELS = {
    "direct-anthropic": "mock `/v1/messages`",
    "direct-openai": "mock `/v1/chat/completions`",
}
MODES = {"ns": "non-streaming", "st": "streaming"}


class Run:
    def __init__(self, path: Path):
        data = json.loads(path.read_text())
        self.rps: float = data["summary"]["requestsPerSec"]
        pct = data["latencyPercentiles"]
        self.p50_ms = (pct["p50"] or 0) * 1000
        self.p99_ms = (pct["p99"] or 0) * 1000
        codes = {int(k): v for k, v in (data.get("statusCodeDistribution") or {}).items()}
        self.requests = sum(codes.values())
        self.failed = sum(v for k, v in codes.items() if k != 200) + sum((data.get("errorDistribution") or {}).values())
        # CPU time of bivio and of the mock during the run, and the run's wall time (gateway.sh, oha_run).
        cpu = Path(f"{path}.cpu")
        self.bivio_ns, self.mock_ns, self.wall_ns = (
            (int(x) for x in cpu.read_text().split()) if cpu.exists() else (0, 0, 0)
        )

    def bivio_us_per_request(self) -> str:
        return f"{self.bivio_ns / self.requests / 1000:.0f}" if self.requests and self.bivio_ns else "–"

    def per_cpu_capacity(self) -> str:
        return f"{self.requests * 1e9 / self.bivio_ns:,.0f}" if self.requests and self.bivio_ns else "–"

    def bivio_busy(self) -> str:
        return f"{100 * self.bivio_ns / self.wall_ns:.0f}%" if self.wall_ns else "–"


def load(out: Path, mode: str, target: str, rate: str) -> Run | None:
    path = out / "raw" / f"{mode}_{target}_{rate}.json"
    return Run(path) if path.exists() else None


def main() -> int:
    out = Path(sys.argv[1])
    meta = json.loads((out / "meta.json").read_text())
    failures: list[str] = []
    lines = [
        f"Command: `{meta['command']}` — {meta['date']}, revision {meta['revision']}",
        "",
        f"Machine: {meta['nproc']} CPUs, {meta['cpu']}, Linux {meta['kernel']}. "
        f"Placement: {meta['pinning']}; priority: {meta['priority']}. Load generator: {meta['oha']} (HTTP/1.1 keep-alive).",
        f"Mock upstream TCP_NODELAY shim: {'on' if meta['mock_nodelay'] else 'off'}; "
        f"bivio TCP_NODELAY shim: {'on' if meta['bivio_nodelay'] else 'off (bivio as built)'}. "
        f"Other processes' CPU use: {meta['busy_before']}% of the machine just before the run, "
        f"{meta['others_during']}% during the measurements.",
        "",
        f"### Latency at fixed rates ({meta['fixed_secs']} s per run, {meta['conns']} connections, "
        "oha `-q RATE --latency-correction`), ms",
        "",
        "Added = via bivio − direct, percentile by percentile (not the percentile of per-request differences). "
        "Streaming latency is the whole streamed response (oha reads to the end of the body).",
        "",
        "bivio CPU = CPU time bivio used during the run (all threads, from `/proc/PID/task/*/schedstat`) divided "
        "by the requests answered.",
        "",
        "| path | mode | rate | direct p50 | direct p99 | via bivio p50 | via bivio p99 | added p50 | added p99 "
        "| bivio CPU µs/req |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    targets = [t for t in BIVIO_TARGETS if (out / "raw" / f"ns_{t}_max.json").exists()]
    for mode, mode_label in MODES.items():
        for rate in meta["rates"]:
            for target in targets:
                label, baseline = BIVIO_TARGETS[target]
                direct, via = load(out, mode, baseline, rate), load(out, mode, target, rate)
                if direct is None or via is None:
                    continue
                cells = []
                for name, run in ((DIRECT_LABELS[baseline], direct), (label, via)):
                    if run.failed:
                        failures.append(f"{mode_label} {name} at {rate} req/s: {run.failed} of {run.requests} failed")
                    note = "" if run.rps >= 0.95 * float(rate) else f" (only {run.rps:.0f} req/s)"
                    cells += [f"{run.p50_ms:.3f}", f"{run.p99_ms:.3f}{note}"]
                added = [f"{via.p50_ms - direct.p50_ms:+.3f}", f"{via.p99_ms - direct.p99_ms:+.3f}"]
                cells += added + [via.bivio_us_per_request()]
                lines.append(f"| {label} | {mode_label} | {rate} | " + " | ".join(cells) + " |")

    lines += [
        "",
        f"### Maximum throughput ({meta['max_secs']} s per run, {meta['max_conns']} connections, no rate limit), req/s",
        "",
        "bivio busy = bivio's CPU time during the run as a share of one CPU (it is pinned to one): well under 100% "
        "means the limit was elsewhere (CPU 1, shared by the mock and oha, or other processes on the machine). "
        "bivio CPU µs/req at this load, and its inverse, are what one CPU of bivio could serve if it were the "
        "only limit.",
        "",
        "| path | mode | direct | via bivio | via bivio / direct | bivio busy | bivio CPU µs/req | ≈ req/s per bivio CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, mode_label in MODES.items():
        for target in targets:
            label, baseline = BIVIO_TARGETS[target]
            direct, via = load(out, mode, baseline, "max"), load(out, mode, target, "max")
            if direct is None or via is None:
                continue
            for name, run in ((DIRECT_LABELS[baseline], direct), (label, via)):
                if run.failed:
                    failures.append(f"{mode_label} {name} at max rate: {run.failed} of {run.requests} failed")
            lines.append(
                f"| {label} | {mode_label} | {direct.rps:,.0f} | {via.rps:,.0f} | {via.rps / direct.rps:.2f} "
                f"| {via.bivio_busy()} | {via.bivio_us_per_request()} | {via.per_cpu_capacity()} |"
            )
    lines.append("")
    if failures:
        lines += ["**Failed requests:**", "", *[f"- {f}" for f in failures], ""]
    stream = out / "stream.md"
    if stream.exists():
        lines += [stream.read_text().rstrip(), ""]
    sys.stdout.write("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
