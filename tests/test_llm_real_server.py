"""`synth --llm openai` and `score --judge` against a real llama.cpp server (SmolLM2-135M,
4,096-token context) over a dozen real merged PRs of pallets/jinja, through the real
openai client: every PR gets a query, prompts fit the context, the server's json_schema
constrains the answers, and the cache and cost accounting hold. The model is tiny: these
tests check the mechanics, not the prose."""

import json

import pytest
from click.testing import CliRunner

from prsynth.cli import cli
from prsynth.llm.openai_chat import OpenAIChat
from prsynth.llm.prompts import load_template
from prsynth.store import Store
from tests.support.bundles import clone_bundle
from tests.support.llama_server import CONTEXT, start_llama_server

pytestmark = pytest.mark.slow

MODEL = "smollm2"
PRICE_IN, PRICE_OUT = 1.0, 2.0  # USD per million tokens, to check the accounting
PRS = 12
JUDGED = 4
JUDGE_WINDOW = 1536


@pytest.fixture(scope="session")
def llama():
    server = start_llama_server()
    yield server
    del server.server  # stops the server thread


@pytest.fixture(scope="module")
def run(llama, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real-server")
    clone = clone_bundle("pallets+jinja", tmp / "jinja")
    llm = (f'[llm]\nbase_url = "{llama.url}"\nmodel = "{MODEL}"\nconcurrency = 1\n'
           f"timeout = 600\nmax_retries = 1\n")
    prices = f'[llm.prices.{MODEL}]\ninput = {PRICE_IN}\noutput = {PRICE_OUT}\n'
    config = tmp / "prsynth.toml"
    config.write_text(llm + prices)
    # The judge is told a smaller window than the server's: a user's setting, and it
    # keeps this test's time down (prompt tokens are most of it on one thread).
    judge_config = tmp / "judge.toml"
    judge_config.write_text(llm + f"context_window = {JUDGE_WINDOW}\n" + prices)
    store = tmp / "prsynth.db"

    def invoke(*args: str, config=config):
        # A later --store wins over the first (click keeps the last value).
        return CliRunner().invoke(cli, ["--store", str(store), "--config", str(config), *args])

    crawled = invoke("crawl", "git", str(clone), "--repo", "pallets/jinja", "--limit", str(PRS))
    assert crawled.exit_code == 0, crawled.output
    synth = invoke("synth", "--llm", "openai", "--json")
    # The judge rates the offline baseline's requests for the first JUDGED PRs in a store
    # of their own: the same mechanics at a third of the server time.
    judged_store = tmp / "judged.db"
    for args in (("crawl", "git", str(clone), "--repo", "pallets/jinja", "--limit",
                  str(JUDGED)), ("synth", "--llm", "offline")):
        assert invoke("--store", str(judged_store), *args).exit_code == 0
    judge = invoke("--store", str(judged_store), "score", "--judge", "--llm", "openai",
                   "--json", config=judge_config)
    return {"store": store, "invoke": invoke, "synth": synth, "judge": judge,
            "judged_store": judged_store}


def test_every_real_pr_gets_a_query_from_a_4096_token_server(run):
    """No prompt is refused for its length. The 135M model sometimes writes its request
    past `max_tokens` (an answer cut mid-string, asked again twice): such a PR is dropped
    as invalid_answer, which is the model, not the fit; in three runs 12, 12 and 11 of 12
    got a query, so one such drop is tolerated."""
    assert run["synth"].exit_code in (0, 3), run["synth"].output
    report = json.loads(run["synth"].stdout)
    vibe = load_template("vibe_request")
    with Store(run["store"]) as store:
        queries = list(store.iter_queries())
        calls = store.llm_calls("vibe_request@1")
        assert store.count_prs() == PRS
    assert report["synthesized"] == len(queries) >= PRS - 1
    assert all(why.startswith("invalid_answer: ") for why in report["failed"].values())
    assert len(queries) + len(report["failed"]) == PRS
    assert {q.model for q in queries} == {MODEL}
    for q in queries:  # the answers match the template's schema
        assert q.query.strip() and q.fields["task_type"] in vibe.schema["properties"][
            "task_type"]["enum"]
        assert q.fields["difficulty"] in ("easy", "medium", "hard") and q.fields["skills"]
    # Each prompt, as the server counted it, left room for the longest answer; the
    # largest real PRs were trimmed to the window rather than refused.
    served = [c for c in calls if c.status == "ok"]
    assert len(served) == len(queries)
    assert all(c.tokens_in // c.attempts + vibe.max_tokens <= CONTEXT for c in served)
    assert max(c.tokens_in // c.attempts for c in served) > CONTEXT // 2


def test_costs_add_up_from_the_servers_token_counts(run):
    """The run's tokens are the server's counts over every call (a dropped PR's tries
    were paid for too); each stored query carries its own share."""
    report = json.loads(run["synth"].stdout)
    assert report["calls"] == PRS
    with Store(run["store"]) as store:
        queries = list(store.iter_queries())
        calls = store.llm_calls("vibe_request@1")
    tokens_in, tokens_out = sum(c.tokens_in for c in calls), sum(c.tokens_out for c in calls)
    assert (report["tokens_in"], report["tokens_out"]) == (tokens_in, tokens_out)
    expected = (tokens_in * PRICE_IN + tokens_out * PRICE_OUT) / 1e6
    assert report["cost_usd"] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    ok = {c.item: c for c in calls if c.status == "ok"}
    assert all((q.tokens_in, q.tokens_out) == (ok[q.pr_id].tokens_in, ok[q.pr_id].tokens_out)
               for q in queries)


def test_a_rerun_answers_from_the_cache_without_calling_the_server(run):
    stored = json.loads(run["synth"].stdout)["synthesized"]
    again = run["invoke"]("synth", "--llm", "openai", "--redo", "--dry-run", "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["from_cache"] == stored and report["calls"] == PRS - stored


def test_the_judge_rates_or_accounts_for_every_query_within_its_context(run):
    """The tiny model does not always fill the rubric validly: every query is either rated
    (1-10, stored) or recorded as failed at the judge with its reason; none is lost."""
    assert run["judge"].exit_code in (0, 3), run["judge"].output
    judge = load_template("judge")
    with Store(run["judged_store"]) as store:
        queries = {q.id for q in store.iter_queries()}  # the baseline skips some PRs
        ratings = store.judge_ratings()
        failed = store.dropped_items("judge")
        calls = [c for c in store.llm_calls() if c.status == "ok"]
    assert 1 <= len(queries) <= JUDGED
    assert ratings and all(1 <= rating <= 10 for rating, _ in ratings.values())
    assert set(ratings) | failed == queries and not set(ratings) & failed
    assert all(c.tokens_in // c.attempts + judge.max_tokens <= JUDGE_WINDOW for c in calls)


def test_the_server_honours_json_schema_and_tells_its_context(llama):
    chat = OpenAIChat(model=MODEL, base_url=llama.url, timeout=600)
    assert chat.context() == (CONTEXT, "llama.cpp /props")
    schema = {"type": "object", "required": ["rating"], "additionalProperties": False,
              "properties": {"rating": {"type": "integer", "minimum": 1, "maximum": 10}}}
    completion = chat.complete(
        [{"role": "user", "content": "Rate the weather today from 1 to 10."}], schema,
        max_tokens=20)
    assert completion.response_format == "json_schema" and completion.attempts == 1
    assert set(completion.data) == {"rating"}


def test_the_servers_context_refusal_is_recognised_with_its_numbers(llama):
    """Told a window larger than the server's, a long prompt is refused (the server only
    counts it: cheap); prsynth reads the window and the count from the refusal and keeps
    the window for the rest of the run. The retry after it: test_llm_faults.py."""
    from prsynth.llm.backend import ContextTooLong

    chat = OpenAIChat(model=MODEL, base_url=llama.url, timeout=600, context_window=32_000)
    long = " ".join(f"word{i}" for i in range(6000))
    with pytest.raises(ContextTooLong) as refused:
        chat.complete([{"role": "user", "content": long}], {"type": "object"}, max_tokens=20)
    assert refused.value.refusal.window == CONTEXT
    assert refused.value.refusal.prompt_tokens > CONTEXT
    assert chat.context() == (CONTEXT, "the server's refusal")
