"""Requests worth training on, proven on the real sample (480 merged PRs of pallets/jinja,
tiangolo/typer and sindresorhus/ky) and on histories built in the test: no personal
data anywhere, a fair offline baseline, and a quality score about the task."""

from __future__ import annotations

import json
import re
from collections import Counter
from statistics import median

import pytest

from prsynth.config import Config
from prsynth.crawl.run import crawl_git, crawl_import
from prsynth.llm.offline import OfflineBaseline
from prsynth.llm.openai_chat import OpenAIChat
from prsynth.llm.wording import clean_title
from prsynth.resources import invented_prs_path, sample_prs_path
from prsynth.stages.judge import judge_queries
from prsynth.stages.registry import run_stage
from prsynth.stages.score import FEATURES, PR_PRIORS, REQUEST_SIDE, explain
from prsynth.stages.synth import SynthOptions, synthesize
from prsynth.store import Store
from prsynth.text.diffs import path_kind, split_patch
from prsynth.text.leakage import approach_leakage
from prsynth.text.personal import has_personal_data
from prsynth.text.testlinks import static_verifiability
from tests.support.openai_server import chat_server_fixture

server = chat_server_fixture()
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
TRAILER = re.compile(r"(?i)\b(?:co-authored-by|signed-off-by):")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The real sample, imported and written up by the offline baseline."""
    with Store(tmp_path_factory.mktemp("real") / "prsynth.db") as store:
        crawl_import(store, sample_prs_path())
        synthesize(store, OfflineBaseline(), SynthOptions())
        yield store


def test_the_real_sample_carries_trailers_and_emails_that_never_reach_the_store(real):
    raw = sample_prs_path().read_text()
    assert raw.count("Co-authored-by:") > 20 and raw.count("Signed-off-by:") > 5
    for pr in real.iter_prs():
        assert not has_personal_data(f"{pr.title}\n{pr.body}"), pr.id
    for query in real.iter_queries():
        assert not EMAIL.search(query.query) and not TRAILER.search(query.query), query.id


def test_trailers_and_emails_never_reach_the_llm_or_its_stored_answers(store, gitrepo, server):
    gitrepo.commit({"src/app.py": "def run():\n    return 1\n"}, "init")
    gitrepo.squash_pr(4, "ann", "Make run return the exit code",
                      "Callers need the exit code; mail jane.doe@corp.example.org for context.\n\n"
                      "* first try\n\nCo-authored-by: Jane Doe <jane.doe@corp.example.org>\n"
                      "Signed-off-by: Ann <ann@example.net>",
                      {"src/app.py": "def run(code=0):\n    print('contact: ann@example.net')\n"
                                     + "".join(f"    step_{i}()\n" for i in range(10))
                                     + "    return code\n"})
    crawl_git(store, gitrepo.path, "acme/app")
    server.push({"content": json.dumps({
        "query": "Make run return the code; ask ann@example.net. Co-authored-by: Ann <a@b.io>",
        "task_type": "bugfix", "difficulty": "easy", "skills": ["python"]})})
    synthesize(store, OpenAIChat(model="test-model", base_url=server.url, backoff=0.001,
                                 max_retries=1, prices={}), SynthOptions())
    sent = "\n".join(r.text for r in server.requests)
    assert "Callers need the exit code" in sent
    assert not EMAIL.search(sent) and not TRAILER.search(sent)
    (query,) = store.iter_queries()
    assert not EMAIL.search(query.query) and not TRAILER.search(query.query)
    assert "ann@example.net" in store.get_pr("acme/app#4").diff  # the patch stays exact


def test_offline_requests_have_no_stock_sentence_in_more_than_5_percent(real):
    queries = [q.query for q in real.iter_queries()]
    assert len(queries) > 150
    counts = Counter(s for q in queries
                     for s in {p.strip(" -") for p in re.split(r"(?<=[.!?])\s+|\n+", q)}
                     if s)
    sentence, times = counts.most_common(1)[0]
    assert times <= 0.05 * len(queries), (sentence, times)


def test_offline_requests_restate_the_title_instead_of_copying_it(real):
    copied = []
    verb_led = 0
    for query in real.iter_queries():
        title = clean_title(real.get_pr(query.pr_id).title)
        if len(title.split()) < 4:
            continue
        if re.match(r"(?i)(fix|add|allow|don't|make|support|improve|remove)\b", title):
            verb_led += 1
            if title.lower() in query.query.lower():
                copied.append((title, query.query))
    assert verb_led > 60 and copied == []


def test_offline_requests_point_at_code_not_changelogs_and_grow_with_the_change(real):
    words: dict[str, list[int]] = {"small": [], "large": []}
    pointing, to_code = 0, 0
    for query in real.iter_queries():
        pr = real.get_pr(query.pr_id)
        named = [f.path for f in pr.files if f.path in query.query]
        code = [f.path for f in pr.files if path_kind(f.path) == "code"]
        if code and named:
            first = min(named, key=query.query.index)
            assert path_kind(first) != "changelog", (query.id, first)
            pointing += 1
            to_code += any(path_kind(p) in ("code", "test") for p in named)
        size = pr.additions + pr.deletions
        if size <= 30 or size > 400:
            words["small" if size <= 30 else "large"].append(len(query.query.split()))
    assert to_code >= 0.9 * pointing
    assert median(words["large"]) > 1.5 * median(words["small"])


def test_a_pr_that_closes_an_issue_is_asked_for_in_the_issue_s_words(store):
    record = json.loads(sample_prs_path().read_text().splitlines()[-1])
    record["linked_issues"] = [{"number": 600, "title": "Timeouts are not retried",
                                "body": "When a request times out, ky gives up at once even "
                                        "though retry is set to 3. I expected three tries."}]
    dump = store.path.with_name("one.jsonl")
    dump.write_text(json.dumps(record) + "\n")
    crawl_import(store, dump)
    synthesize(store, OfflineBaseline(), SynthOptions())
    (query,) = store.iter_queries()
    assert "Timeouts are not retried" in query.query or "ky gives up at once" in query.query


def test_static_verifiability_matches_tests_to_the_changed_symbols(real):
    linked = {1.0: 0, 0.6: 0, 0.3: 0, 0.0: 0}
    for pr in real.iter_prs():
        linked[static_verifiability(*split_patch(pr.diff))[0]] += 1
    # Real test patches name the changed symbol, only its module, or neither; some PRs
    # come without tests: every tier occurs, and linked ones outnumber the untested.
    assert all(linked.values()) and linked[1.0] + linked[0.6] > linked[0.0]
    code = ("diff --git a/src/rows.py b/src/rows.py\n--- a/src/rows.py\n+++ b/src/rows.py\n"
            "@@ -1,2 +1,3 @@ def parse_rows(text):\n+    text = text.strip()\n")
    test = ("diff --git a/tests/t.py b/tests/t.py\n--- a/tests/t.py\n+++ b/tests/t.py\n"
            "@@ -1 +1,3 @@\n+def test_x():\n+    assert {call}('a ') == ['a']\n")
    assert static_verifiability(code, test.format(call="parse_rows")) == (1.0, ["parse_rows"])
    assert static_verifiability(code, test.format(call="rows.other"))[0] == 0.6
    assert static_verifiability(code, test.format(call="other"))[0] == 0.3
    assert static_verifiability(code, "")[0] == 0.0


@pytest.mark.parametrize(("path", "is_test"), [
    ("tests/test_api.py", True), ("jinja2/testsuite/doctests.py", True),
    ("src/FooTest.java", True), ("Sources/BarTests.swift", True), ("x_test.go", True),
    ("source/utils.test.ts", True), ("conftest.py", True),
    # Real paths from the bundles that an older rule called tests: a requirements file
    # (its change belongs to the code patch) and words that merely end in "test".
    ("requirements-tests.txt", False), ("app/contest.py", False), ("docs/latest.md", False),
    ("lib/greatest.go", False),
])
def test_test_files_are_told_from_code_by_path(path, is_test):
    assert (path_kind(path) == "test") is is_test


def test_leakage_counts_the_approach_words_of_a_title_that_states_the_solution():
    share, words = approach_leakage("Cache the chunk index so reads stop rescanning.",
                                    "Cache the chunk index")
    assert share == 1.0 and words == ["cache", "chunk", "index"]
    assert approach_leakage("Reads are slow on big files.", "Cache the chunk index")[0] == 0.0
    assert approach_leakage("run hangs", "Fix hang when using streams")[0] == 0.0


def test_pr_side_priors_weigh_less_than_every_request_side_feature():
    assert max(FEATURES[p].weight for p in PR_PRIORS) < min(
        FEATURES[r].weight for r in REQUEST_SIDE)


def test_score_explain_shows_test_links_and_the_judge_rubric(real, run_cli, store_path):
    judge_queries(real, OfflineBaseline(), limit=5)
    run_stage(real, Config(), "score")
    judged = next(iter(real.judge_ratings().items()))
    assert re.match(r"realism \d, specificity \d, agreement \d, verifiability \d, leakage \d: ",
                    judged[1][1])
    detail = explain(real, judged[0])
    assert {"test_match", "judge", "leakage"} <= {row["feature"] for row in detail["features"]}
    assert detail["evidence"]["judge_reason"] == judged[1][1]
    linked = next(q.id for q in real.iter_queries()
                  if explain(real, q.id)["evidence"]["test_match"])
    shown = run_cli("--store", str(real.path), "score", "--explain", linked)
    assert shown.exit_code == 0 and "tests name the changed:" in shown.output


def test_invented_hazards_are_marked_and_kept_apart_from_the_real_sample():
    invented = [json.loads(line) for line in invented_prs_path().read_text().splitlines()]
    assert {r["repo"] for r in invented} == {"prsynth-invented/hazards"}
    assert "prsynth-invented" not in sample_prs_path().read_text()
