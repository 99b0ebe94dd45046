"""`synth --batch` and `score --judge --batch`: the OpenAI Batch API through the real openai
client against a loopback server playing /v1/files and /v1/batches."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prsynth.crawl.run import crawl_import
from prsynth.llm.openai_chat import OpenAIChat
from prsynth.resources import sample_prs_path
from prsynth.stages.synth import SynthOptions, synthesize
from prsynth.store import Store
from tests.support.batch_api import BatchAPI
from tests.support.openai_server import chat_server_fixture, default_answer

server = chat_server_fixture()

REPO = "tiangolo/typer"  # 38 coding-task PRs in the real sample
PRICES = {"test-model": {"input": 1.0, "output": 2.0}}
ROOT = Path(__file__).resolve().parent.parent


def chat(server, **options):
    return OpenAIChat(**{"model": "test-model", "base_url": server.url, "backoff": 0.001,
                         "prices": PRICES, "batch_poll": 0.01, **options})


@pytest.fixture
def sample(store):
    crawl_import(store, sample_prs_path())
    return store


def test_a_batch_run_stores_every_query_at_half_the_synchronous_cost(sample, server, tmp_path):
    api = BatchAPI(server, polls=3)
    report = synthesize(sample, chat(server), SynthOptions(repo=REPO, batch=True))
    assert report.synthesized == report.todo == len(list(sample.iter_queries())) > 20
    assert len(api.batches) == 1 and server.requests == []  # no synchronous call
    (upload,) = api.uploads
    lines = [json.loads(line) for line in upload.decode().splitlines()]
    assert len(lines) == report.todo and lines[0]["url"] == "/v1/chat/completions"
    assert lines[0]["body"]["response_format"]["type"] == "json_schema"
    calls = sample.llm_calls()
    assert {c.note for c in calls} == {"batch batch_1"} and len(calls) == report.todo
    with Store(tmp_path / "sync.db") as sync:
        crawl_import(sync, sample_prs_path())
        direct = synthesize(sync, chat(server), SynthOptions(repo=REPO))
    assert (direct.tokens_in, direct.tokens_out) == (report.tokens_in, report.tokens_out)
    assert report.cost_usd == pytest.approx(direct.cost_usd / 2, rel=1e-4)


def test_a_batch_that_could_exceed_max_cost_is_not_submitted(sample, server):
    from prsynth.errors import ConfigError

    api = BatchAPI(server)
    with pytest.raises(ConfigError, match="could cost up to .* over --max-cost"):
        synthesize(sample, chat(server), SynthOptions(repo=REPO, batch=True,
                                                      max_cost=0.001))
    assert api.batches == {} and api.uploads == []


def test_invalid_answers_are_asked_again_in_a_follow_up_batch(sample, server):
    api = BatchAPI(server)

    def answer(request):
        # A third of the first answers are broken; every re-asked one is fine.
        if "That answer is invalid" not in request.text and len(request.text) % 3 == 0:
            return "not json"
        return default_answer(request)

    server.answer = answer
    report = synthesize(sample, chat(server), SynthOptions(repo=REPO, batch=True))
    first, second = (api.files[b["input_file_id"]].decode().splitlines()
                     for b in api.batches.values())
    assert 0 < len(second) < len(first)
    assert all("That answer is invalid: not valid JSON" in line for line in second)
    assert report.synthesized == len(first) and not report.failed


def test_a_batch_run_killed_while_waiting_resumes_without_resubmitting(
        run_cli, server, tmp_path, store_path):
    api = BatchAPI(server, hold=True)
    run_cli("crawl", "import", str(sample_prs_path()))
    config = tmp_path / "prsynth.toml"
    config.write_text(f'[llm]\nbase_url = "{server.url}"\nmodel = "test-model"\n'
                      "batch_poll = 0.05\n[llm.prices.test-model]\ninput = 1.0\noutput = 2.0\n")
    command = [sys.executable, "-m", "prsynth", "--store", str(store_path), "--config",
               str(config), "synth", "--llm", "openai", "--repo", REPO, "--batch", "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    waiting = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while sum(api._looks.values()) < 2:  # submitted, recorded in the store, waiting
        assert time.monotonic() < deadline and waiting.poll() is None
        time.sleep(0.05)
    waiting.send_signal(signal.SIGKILL)
    waiting.wait()
    api.hold = False
    resumed = run_cli(*command[command.index("synth"):])  # in-process, same store/config
    assert resumed.exit_code == 0, resumed.output
    report = json.loads(resumed.stdout)
    assert len(api.batches) == 1 and len(api.uploads) == 1  # resumed, not resubmitted
    with Store(store_path) as store:
        assert store.count_queries() == report["synthesized"] == report["todo"] > 20
        assert store.open_batches("vibe_request@1/test-model") == []
    again = run_cli(*command[command.index("synth"):])
    assert json.loads(again.stdout)["synthesized"] == 0 and len(api.batches) == 1


def test_the_judge_runs_through_a_batch_too(run_cli, tmp_path, server):
    api = BatchAPI(server)
    (tmp_path / "prsynth.toml").write_text(
        f'[llm]\nbase_url = "{server.url}"\nmodel = "test-model"\nbatch_poll = 0.01\n')
    run_cli("crawl", "import", str(sample_prs_path()))
    assert run_cli("synth", "--llm", "offline", "--repo", REPO).exit_code == 0
    assert run_cli("score", "--batch").exit_code == 2  # --batch is for the judge
    offline = run_cli("score", "--judge", "--llm", "offline", "--batch")
    assert offline.exit_code == 2 and "--batch needs --llm openai" in offline.output
    result = run_cli("score", "--judge", "--llm", "openai", "--batch")
    assert result.exit_code == 0, result.output
    with Store(tmp_path / "prsynth.db") as store:
        ratings = store.judge_ratings()
        assert len(ratings) == store.count_queries() > 20
    assert len(api.batches) == 1 and server.requests == []
