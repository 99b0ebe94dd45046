"""Servers that misbehave, through the real openai client and the CLI: HTML pages with
200 or 502, bodies that are not JSON, refused connections, context-length refusals.
Each ends in one clear line; a server that keeps failing stops the run with exit 3 and
keeps what was done; the next run continues without duplicates."""

import json
import re
import socket

import pytest

from prsynth.llm.context import PromptLimit, context_refusal, discover_window, safe_token_estimate
from prsynth.llm.prompts import load_template, render_pr
from prsynth.records import PullRequest
from prsynth.resources import sample_prs_path
from prsynth.store import Store
from tests.support.openai_server import chat_server_fixture

server = chat_server_fixture()

REPO = "tiangolo/typer"  # 38 coding-task PRs in the real sample
HTML = "<!DOCTYPE html><html><body><h1>Sign in to continue</h1></body></html>"
FAULTS = {
    "html_200": ({"status": 200, "body": HTML}, "HTTP 200 with an HTML page"),
    "html_502": ({"status": 502, "body": "<html><body>502 Bad Gateway</body></html>"},
                 "HTTP 502 with an HTML page"),
    "not_json": ({"status": 200, "body": "upstream said: ok", "content_type":
                  "application/json"}, "HTTP 200 with a body that is not JSON"),
}


def configure(tmp_path, url: str) -> None:
    (tmp_path / "prsynth.toml").write_text(
        f'[llm]\nbase_url = "{url}"\nmodel = "test-model"\nconcurrency = 2\n'
        "max_retries = 2\nmax_server_failures = 3\n"
        '[llm.prices.test-model]\ninput = 1.0\noutput = 2.0\n')


def queries_in(store_path) -> list[str]:
    with Store(store_path) as store:
        return [q.pr_id for q in store.iter_queries()]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failing_server_stops_the_run_with_one_line_and_exit_3(
        fault, run_cli, tmp_path, store_path, server):
    behaviour, said = FAULTS[fault]
    configure(tmp_path, server.url)
    run_cli("crawl", "import", str(sample_prs_path()))
    assert run_cli("synth", "--llm", "openai", "--repo", REPO, "--limit", "3").exit_code == 0
    server.fault = behaviour
    stopped = run_cli("synth", "--llm", "openai", "--repo", REPO)
    assert stopped.exit_code == 3, stopped.output
    lines = stopped.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stopped.output
    # 3 in a row stop it (2 run at once, so the other may fail a fourth meanwhile).
    assert re.search(rf"failed [34] requests in a row \(last: {said}", lines[0]), lines[0]
    assert "run the same command again to continue" in lines[0]
    assert len(queries_in(store_path)) == 3  # kept what was done
    server.fault = None
    resumed = run_cli("synth", "--llm", "openai", "--repo", REPO, "--json")
    assert resumed.exit_code == 0, resumed.output
    done = queries_in(store_path)
    assert len(done) == len(set(done)) == json.loads(resumed.stdout)["prs"]


def test_connection_refused_stops_with_exit_3_and_how_to_resume(run_cli, tmp_path, store_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    configure(tmp_path, f"http://127.0.0.1:{port}/v1")
    run_cli("crawl", "import", str(sample_prs_path()))
    result = run_cli("synth", "--llm", "openai", "--limit", "4")
    assert result.exit_code == 3 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert f"127.0.0.1:{port}" in line and "run the same command again to continue" in line
    assert queries_in(store_path) == []


def big_pr(hunks: int = 60) -> PullRequest:
    """One file, many hunks (an excerpt is cut at hunk boundaries)."""
    diff = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n" + "".join(
        f"@@ -{10 * h} +{10 * h},8 @@\n" + "".join(
            f"+value_{h}_{i} = compute(value_{h}_{i - 1}, scale={i})\n" for i in range(8))
        for h in range(hunks))
    return PullRequest(repo="a/b", number=1, title="Compute all values",
                       body="The chain is long.", additions=8 * hunks, diff=diff)


def test_a_context_refusal_is_shrunk_once_and_noted_in_the_call_log(store, server):
    from prsynth.llm.openai_chat import OpenAIChat
    from prsynth.stages.synth import SynthOptions, synthesize

    store.put_pr(big_pr())
    server.push({"status": 400, "message": "request (6000 tokens) exceeds the available "
                 "context size (4096 tokens), try increasing it"})
    chat = OpenAIChat(model="test-model", base_url=server.url, backoff=0.001)
    report = synthesize(store, chat, SynthOptions())
    assert report.synthesized == 1 and not report.failed
    refused, retried = server.requests
    count = PromptLimit(10**9).messages_tokens
    # Re-rendered so that, scaled by how far the estimate fell short of the server's
    # count, it leaves room for the answer in the window the server named.
    shortfall = 6000 / count(refused.body["messages"])
    assert count(retried.body["messages"]) * shortfall <= 4096 - 700
    (call,) = store.llm_calls()
    assert call.note == "prompt shrunk to fit 4096-token context after a refusal"
    assert call.attempts == 2 and call.status == "ok"
    assert chat.context() == (4096, "the server's refusal")


def test_refusals_of_llama_cpp_vllm_and_openai_are_recognised():
    llama = context_refusal("Error code: 400", {"code": 400, "n_ctx": 4096,
                                                "n_prompt_tokens": 4989,
                                                "type": "exceed_context_size_error"})
    assert (llama.window, llama.prompt_tokens) == (4096, 4989)
    vllm = context_refusal("This model's maximum context length is 8192 tokens. However, you "
                           "requested 9000 tokens (8300 in the messages, 700 in the completion)")
    assert (vllm.window, vllm.prompt_tokens) == (8192, 8300)
    openai = context_refusal("bad", {"message": "too long", "code": "context_length_exceeded"})
    assert openai is not None and openai.window is None
    assert context_refusal("response_format json_schema is not supported") is None


def test_the_safe_estimate_counts_non_ascii_text_by_its_bytes():
    assert safe_token_estimate("a" * 100) == 40
    assert safe_token_estimate("\u0300" * 10) == 20  # combining marks: two bytes each
    template = load_template("vibe_request")
    pr = big_pr(hunks=25)
    pr.diff = pr.diff.replace("compute", "\u0300\u0301\u05b0\u0610")  # 4 chars, 8 bytes
    assert len(pr.diff) < 4 * template.budget_tokens  # the template's budget alone: all in
    limit = PromptLimit(2000)
    rendered = render_pr(template, pr, limit=limit, persona_text="p", length_text="l")
    assert limit.messages_tokens(rendered.messages) <= 2000
    assert "partly cut" in rendered.variables["dropped_summary"]


def test_no_server_means_no_window_and_nothing_breaks():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert discover_window(f"http://127.0.0.1:{port}/v1", "m", timeout=1.0) is None
