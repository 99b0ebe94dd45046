"""`prsynth run`: the scheduled job over a real history (tiangolo/typer from the bundles)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from prsynth.cli import cli
from prsynth.crawl.lock import crawl_lock
from prsynth.store.lock import store_lock
from tests.support.bundles import clone_bundle

SINCE = "2024-06-01"  # 82 squash-merged PRs in the bundle's last four months


@pytest.fixture(scope="module")
def typer(tmp_path_factory) -> Path:
    return clone_bundle("tiangolo+typer", tmp_path_factory.mktemp("clones") / "typer")


def write_config(folder: Path, typer: Path, *, extra: str = "", k: int = 8) -> Path:
    config = folder / "prsynth.toml"
    config.write_text(
        f'store = "{folder / "prsynth.db"}"\n'
        f"[llm]\nbackend = \"offline\"\n"
        f"[select]\nk = {k}\n"
        f'[run]\nout_dir = "{folder / "out"}"\nexports = ["selected", "queries", "prs"]\n'
        f'[[sources]]\nkind = "git"\npath = "{typer}"\nrepo = "tiangolo/typer"\n'
        f'since = "{SINCE}"\n' + extra,
        encoding="utf-8",
    )
    return config


def run(config: Path, *args: str):
    return CliRunner().invoke(cli, ["run", "--config", str(config), *args])


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_run_crawls_synthesizes_selects_and_writes_every_output(tmp_path, typer, minilm):
    result = run(write_config(tmp_path, typer))
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    prs, queries, selected = (lines(out / f"{name}.jsonl") for name in ("prs", "queries",
                                                                         "selected"))
    assert prs and len(queries) == len(prs)
    assert len(selected) == 8 and {r["repo"] for r in selected} == {"tiangolo/typer"}
    assert all(r["base_sha"] and r["query_id"].endswith("offline-baseline") for r in selected)
    assert "<html" in (out / "report.html").read_text(encoding="utf-8")
    for step in ("tiangolo/typer:", "synth:", "stages: ran embed, score, dedupe, cluster",
                 "select: 8 of", "wrote"):
        assert step in result.stderr


def test_second_run_adds_nothing_and_selects_the_same(tmp_path, typer, minilm):
    config = write_config(tmp_path, typer)
    assert run(config).exit_code == 0
    first = lines(tmp_path / "out" / "selected.jsonl")
    again = run(config, "--json")
    assert again.exit_code == 0, again.output
    assert "0 new" in again.stderr and "stages: all up to date" in again.stderr
    assert lines(tmp_path / "out" / "selected.jsonl") == first
    summary = json.loads(again.stdout)
    assert summary["problems"] == [] and summary["crawl"][0]["new"] == 0
    with sqlite3.connect(tmp_path / "prsynth.db") as db:
        assert db.execute("SELECT count(*) FROM selections").fetchone() == (1,)


def test_a_failing_source_makes_the_run_partial_and_the_rest_is_stored(tmp_path, typer, minilm):
    config = write_config(tmp_path, typer,
                          extra=f'[[sources]]\nkind = "import"\npath = "{tmp_path / "no.jsonl"}"\n')
    result = run(config)
    assert result.exit_code == 3, result.output
    assert "FAILED: import file" in result.stderr and "re-run to continue" in result.output
    assert len(lines(tmp_path / "out" / "selected.jsonl")) == 8


def test_bad_run_settings_are_refused_before_anything_runs(tmp_path, typer):
    config = write_config(tmp_path, typer)
    config.write_text(config.read_text().replace('"prs"]', '"everything"]'))
    result = run(config)
    assert result.exit_code == 2
    assert "run.exports" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "prsynth.db").exists() or _count(tmp_path / "prsynth.db") == 0


def test_a_second_run_on_the_same_store_exits_at_once(tmp_path, typer):
    config = write_config(tmp_path, typer)
    with crawl_lock(tmp_path / "prsynth.db"):
        result = run(config)
    assert result.exit_code == 1
    assert "another crawl" in result.output and "is running on store" in result.output


def test_a_run_does_not_start_while_a_synth_runs_on_the_store(tmp_path, typer):
    config = write_config(tmp_path, typer)
    with store_lock(tmp_path / "prsynth.db", "synth"):
        result = run(config)
    assert result.exit_code == 1
    assert "another synth" in result.output and _count(tmp_path / "prsynth.db") == 0


def test_kill_9_mid_run_then_rerun_finishes_without_duplicates(tmp_path, typer):
    config = write_config(tmp_path, typer)
    store = tmp_path / "prsynth.db"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    cmd = [sys.executable, "-m", "prsynth", "run", "--config", str(config)]
    process = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    killed_at = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if _count(store, "embeddings"):  # mid-pipeline: crawled, synthesized, embedding
            process.send_signal(signal.SIGKILL)
            killed_at = "embed"
            break
        time.sleep(0.01)
    process.wait()
    assert killed_at, "the run ended before it could be killed mid-pipeline"
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        prs = db.execute("SELECT count(*), count(DISTINCT id) FROM prs").fetchone()
        queries = db.execute("SELECT count(*), count(DISTINCT pr_id) FROM queries").fetchone()
    assert prs[0] == prs[1] == queries[0] == queries[1] > 0
    assert len(lines(tmp_path / "out" / "selected.jsonl")) == 8


def _count(store: Path, table: str = "prs") -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store) as db:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
