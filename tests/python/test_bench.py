"""`bivio bench run` end to end on the real local model (the embedded llama.cpp provider, Gemma 3 270M):
GSM8K and HumanEval with a small --limit. The model is a tiny base model, so the scores are whatever it
earns; what is tested is that the run is complete and consistent — every item answered, scored, costed and
stored in the ledger database, the report agreeing with the stored items — and that rerunning resumes
instead of repeating work. Skipped only when the model file or the datasets are absent.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

from bivio_harness import BIVIO_BIN, LLAMA_MODEL, REPO_ROOT, UPSTREAM_KEY, UPSTREAM_KEY_ENV

DATASETS = Path(os.environ.get("BIVIO_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))
LIMIT = 3


def bivio(*args: str, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BIVIO_DATASETS": str(DATASETS), "BIVIO_LOG": "warn", UPSTREAM_KEY_ENV: UPSTREAM_KEY}
    env.pop("BIVIO_CONFIG", None)
    return subprocess.run(
        [str(BIVIO_BIN), *args, "--config", str(config)], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def setup() -> tuple[Path, Path]:
    if not LLAMA_MODEL.exists():
        pytest.skip(f"model file {LLAMA_MODEL} is absent: run scripts/deps.sh test")
    if not (DATASETS / "gsm8k" / "test.jsonl").exists():
        pytest.skip(f"no datasets at {DATASETS} (set BIVIO_DATASETS)")
    work = Path(tempfile.mkdtemp(prefix="bivio-test-bench-"))
    ledger = work / "ledger.sqlite3"
    config = work / "bench.toml"
    config.write_text(
        f"""
[providers.inproc]
kind = "embedded"
model_path = "default"

[models.gemma-3-270m]
provider = "inproc"
price = {{ input = 0.1, output = 0.4 }}

[ledger]
path = "{ledger}"
"""
    )
    return config, ledger


@pytest.fixture(scope="module")
def first_run(setup):
    config, _ = setup
    run = bivio(
        "bench", "run", "--suite", "gsm8k,humaneval", "--models", "gemma-3-270m",
        "--limit", str(LIMIT), "--max-tokens", "96", "--concurrency", "1", config=config,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    return run


def test_run_is_complete_and_stored(setup, first_run):
    _, ledger = setup
    with sqlite3.connect(ledger) as db:
        runs = db.execute("SELECT id, suite, model, items_total, finished_at_ms FROM eval_runs ORDER BY suite").fetchall()
        assert [(r[1], r[2], r[3]) for r in runs] == [("gsm8k", "gemma-3-270m", LIMIT), ("humaneval", "gemma-3-270m", LIMIT)]
        assert all(r[4] is not None for r in runs), "both runs finished"
        for run_id, suite, *_ in runs:
            items = db.execute(
                "SELECT item_id, prompt, score, error, latency_ms, input_tokens, output_tokens, cost_usd, detail "
                "FROM eval_items WHERE run_id = ?",
                (run_id,),
            ).fetchall()
            assert len(items) == LIMIT, suite
            for item_id, prompt, score, error, latency, tokens_in, tokens_out, cost, detail in items:
                assert error is None, (item_id, error)
                assert score in (0.0, 1.0), (item_id, score)
                assert prompt and latency > 0 and tokens_in > 0 and 0 < tokens_out <= 96, item_id
                # price = 0.1 / 0.4 USD per million tokens (cache reads, if any, are free here): exact decimals.
                assert 0 < Decimal(cost) <= (Decimal("0.1") * tokens_in + Decimal("0.4") * tokens_out) / 1_000_000
                assert detail, item_id
            if suite == "humaneval":
                assert {i[0] for i in items} == {f"HumanEval/{n}" for n in range(LIMIT)}
                assert all(d.startswith(("passed", "failed", "timed out")) for *_, d in items)
        migrations = db.execute("SELECT version FROM eval_migrations").fetchall()
        assert migrations == [(1,)]


def test_report_agrees_with_the_items(setup, first_run):
    config, ledger = setup
    report = bivio("bench", "report", "--format", "json", config=config)
    assert report.returncode == 0, report.stderr
    rows = {r["suite"]: r for r in json.loads(report.stdout)}
    assert set(rows) == {"gsm8k", "humaneval"}
    with sqlite3.connect(ledger) as db:
        for suite, row in rows.items():
            scores = [s for (s,) in db.execute(
                "SELECT score FROM eval_items JOIN eval_runs ON eval_runs.id = run_id WHERE suite = ?", (suite,)
            )]
            assert row["scored"] == LIMIT and row["errors"] == 0 and row["finished"]
            assert row["score"] == pytest.approx(sum(scores) / len(scores))
            assert row["ci_low"] <= row["score"] <= row["ci_high"]
            assert row["p50_latency_ms"] > 0 and row["tokens_per_s"] > 0
    assert rows["gsm8k"]["alt_score"] is not None, "GSM8K reports strict-match beside flexible-extract"
    html = bivio("bench", "report", "--format", "html", config=config)
    assert html.returncode == 0 and "<svg" in html.stdout and "<script" not in html.stdout


def test_an_interrupted_run_resumes(setup, first_run):
    config, ledger = setup
    # Simulate an interruption: forget one scored item and reopen its run.
    with sqlite3.connect(ledger) as db:
        (run_id,) = db.execute("SELECT id FROM eval_runs WHERE suite = 'gsm8k'").fetchone()
        db.execute("DELETE FROM eval_items WHERE run_id = ? AND item_id = 'gsm8k/1'", (run_id,))
        db.execute("UPDATE eval_runs SET finished_at_ms = NULL WHERE id = ?", (run_id,))
    again = bivio(
        "bench", "run", "--suite", "gsm8k", "--models", "gemma-3-270m",
        "--limit", str(LIMIT), "--max-tokens", "96", "--concurrency", "1", config=config,
    )
    assert again.returncode == 0, again.stderr
    assert f"1 scored, {LIMIT - 1} already scored (resumed), 0 failed — run {run_id}" in again.stdout, again.stdout
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT COUNT(*) FROM eval_items WHERE run_id = ?", (run_id,)).fetchone() == (LIMIT,)
        assert db.execute("SELECT finished_at_ms IS NOT NULL FROM eval_runs WHERE id = ?", (run_id,)).fetchone() == (1,)


def test_file_suites_on_the_local_model(setup, tmp_path: Path):
    """MMLU-format files (a directory of subject CSVs, as published), a custom JSONL suite and the built-in
    tool-use suite, through the same command: every item stored, per-subject and macro accuracy reported."""
    config, ledger = setup
    mmlu = tmp_path / "mmlu"
    mmlu.mkdir()
    (mmlu / "astronomy_test.csv").write_text('"What is the Sun, in fact?",A star,A planet,A moon,A comet,A\nQ2?,a,b,c,d,D\n')
    (mmlu / "virology_test.csv").write_text("What is a virus?,a,b,c,d,B\n")
    custom = tmp_path / "capitals.jsonl"
    custom.write_text(
        '{"id": "it", "prompt": "Capital of Italy?", "scorer": "contains", "expected": "Rome"}\n'
        '{"id": "sum", "prompt": "2+2=", "scorer": "numeric", "expected": 4}\n'
        '{"id": "json", "prompt": "A JSON object", "scorer": "json-schema", "schema": {"type": "object"}}\n'
    )
    run = bivio(
        "bench", "run", "--suite", f"mmlu={mmlu},custom={custom},tooluse", "--models", "gemma-3-270m",
        "--limit", "3", "--max-tokens", "16", "--concurrency", "1", config=config,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    report = json.loads(bivio("bench", "report", "--format", "json", config=config).stdout)
    rows = {r["suite"]: r for r in report}
    assert {"mmlu", "custom:capitals", "tooluse"} <= set(rows)
    mmlu_row = rows["mmlu"]
    assert mmlu_row["scored"] == 3 and [s["subject"] for s in mmlu_row["subjects"]] == ["astronomy", "virology"]
    assert mmlu_row["macro_score"] == pytest.approx(sum(s["score"] for s in mmlu_row["subjects"]) / 2)
    assert rows["custom:capitals"]["scored"] == 3 and rows["tooluse"]["scored"] == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("Q,a,b,c,d,E\n")
    refused = bivio("bench", "run", "--suite", f"mmlu={bad}", "--models", "gemma-3-270m", config=config)
    assert refused.returncode == 2 and "bad.csv:1: column `answer`: `E` is not an option letter" in refused.stderr


def test_arena_judged_in_both_orders_and_voted(setup, tmp_path: Path):
    """Two model names on the embedded provider, the same model as judge: answers and both-order
    judgements stored, people's votes added, leaderboards (overall and per category) from the votes."""
    config, ledger = setup
    arena_config = tmp_path / "arena.toml"
    arena_config.write_text(
        config.read_text().replace("[models.gemma-3-270m]", '[models.gemma-b]\nprovider = "inproc"\n\n[models.gemma-3-270m]')
    )
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        '{"id": "p1", "category": "writing", "prompt": "One sentence about the sea."}\n'
        '{"id": "p2", "category": "math", "turns": ["What is 2+2?", "And times 3?"]}\n'
    )
    (tmp_path / "judge_prompts.jsonl").write_text((DATASETS / "mt_bench" / "judge_prompts.jsonl").read_text())
    run = bivio(
        "arena", "run", "--models", "gemma-3-270m,gemma-b", "--prompts", str(prompts), "--judge", "gemma-3-270m",
        "--max-tokens", "16", "--judge-max-tokens", "24", "--concurrency", "1", "--bootstrap", "20",
        "--format", "json", config=arena_config,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    board = json.loads(run.stdout)
    run_id = board["run"]
    with sqlite3.connect(ledger) as db:
        answers = db.execute("SELECT prompt_id, model, answers FROM arena_answers WHERE run_id = ?", (run_id,)).fetchall()
        assert len(answers) == 4
        assert all(len(json.loads(a)) == (2 if p == "p2" else 1) for p, _, a in answers), "one answer per turn"
        votes = db.execute("SELECT prompt_id, first, second, verdict FROM arena_votes WHERE run_id = ?", (run_id,)).fetchall()
        assert len(votes) == 4, "each pair judged in both orders"
        assert {(p, f, s) for p, f, s, _ in votes} == {
            (p, a, b) for p in ("p1", "p2") for a, b in (("gemma-3-270m", "gemma-b"), ("gemma-b", "gemma-3-270m"))
        }
        assert all(v in ("A", "B", "tie", "invalid") for *_, v in votes)
    votes_file = tmp_path / "votes.jsonl"
    votes_file.write_text(
        '{"prompt_id": "p1", "model_a": "gemma-b", "model_b": "gemma-3-270m", "winner": "model_a", "voter": "anna"}\n'
        '{"prompt_id": "p2", "model_a": "gemma-3-270m", "model_b": "gemma-b", "winner": "tie", "voter": "anna"}\n'
    )
    voted = bivio("arena", "vote", "--run", run_id, "--file", str(votes_file), config=arena_config)
    assert voted.returncode == 0 and "2 vote(s) added" in voted.stdout, voted.stderr
    report = json.loads(bivio("arena", "report", "--run", run_id, "--format", "json", config=arena_config).stdout)
    boards = {b["category"]: b["standings"] for b in report["leaderboards"]}
    assert set(boards) >= {"overall", "writing", "math"}
    overall = {s["model"]: s for s in boards["overall"]}
    assert overall["gemma-b"]["battles"] >= 2 and overall["gemma-b"]["wins"] >= 1.5
    assert all(s["low"] <= s["rating"] <= s["high"] for s in boards["overall"])


def test_gap_between_the_local_model_and_a_cloud_api(setup, mock, tmp_path: Path):
    """A closed model behind the Anthropic provider (the mock upstream scripted to answer right) against the
    embedded open model: the request goes out in Anthropic's wire format with the upstream model name and the
    answer length asked for, the closed model's cost comes from its price, and `bench gap` reports the best
    open against the best closed model."""
    config, ledger = setup
    marker = mock.script({"content": [{"type": "text", "text": "Paris"}], "usage": {"input_tokens": 1000, "output_tokens": 10}}, name="bench-gap")
    both = tmp_path / "both.toml"
    both.write_text(
        config.read_text()
        + f"""
[providers.claude]
kind = "anthropic"
api_base = "{mock.anthropic_base}"
api_key_env = "{UPSTREAM_KEY_ENV}"

[models.claude-mock]
provider = "claude"
upstream_model = "claude-sonnet-4-5"
price = {{ input = 3, output = 15 }}
"""
    )
    suite = tmp_path / "capital.jsonl"
    suite.write_text(
        "".join(
            json.dumps({"id": i, "prompt": f"Capital of France? {marker}", "scorer": "exact", "expected": "Paris"}) + "\n"
            for i in range(2)
        )
    )
    run = bivio(
        "bench", "run", "--suite", f"custom={suite}", "--models", "gemma-3-270m,claude-mock",
        "--max-tokens", "16", "--concurrency", "1", config=both,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    calls = mock.calls_with(marker)
    assert len(calls) == 2
    assert calls[0]["body"]["model"] == "claude-sonnet-4-5" and calls[0]["body"]["max_tokens"] == 16
    with sqlite3.connect(ledger) as db:
        rows = db.execute(
            "SELECT score, cost_usd FROM eval_items JOIN eval_runs ON eval_runs.id = run_id WHERE model = 'claude-mock'"
        ).fetchall()
    # 1,000 input tokens at $3/M + 10 output tokens at $15/M.
    assert rows == [(1.0, "0.00315"), (1.0, "0.00315")]
    gap = json.loads(bivio("bench", "gap", "--format", "json", config=both).stdout)
    point = next(p for p in gap if p["suite"] == "custom:capital")
    assert point["best_closed"] == ["claude-mock", 1.0]
    assert point["best_open"][0] == "gemma-3-270m"
    assert point["gap"] == pytest.approx(1.0 - point["best_open"][1])
