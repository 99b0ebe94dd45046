"""`prsynth demo`: the whole pipeline offline on the bundled sample, then its report in Chromium."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect

from prsynth.cli import cli
from prsynth.resources import invented_prs_path
from prsynth.store import Store
from tests.support.browser import open_page

SELECTED_FIELDS = {"rank", "query_id", "query", "pr_id", "repo", "pr_url", "base_sha", "patch",
                   "test_patch", "cluster", "cluster_label", "quality", "why"}
HOSTILE_PR = "prsynth-invented/hazards#1"  # its title is <script>alert(1)</script> …
NEW_FIELDS = {"title", "body", "linked_issues", "language", "license", "merged_at",
              "modified_files", "test_files", "test_names", "prompt", "model", "judge_score",
              "judge_reason", "score_breakdown"}
EMAIL_OR_TRAILER = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?i:co-authored-by|signed-off-by):")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_writes_78_selected_records_and_a_report(demo, minilm):
    out, output = demo
    records = [json.loads(line) for line in (out / "selected.jsonl").read_text().splitlines()]
    assert len(records) == 78
    assert [r["rank"] for r in records] == list(range(1, 79))
    assert all(SELECTED_FIELDS <= set(r) for r in records)
    assert all(r["base_sha"] and r["patch"].startswith("diff --git") for r in records)
    assert len({r["query_id"] for r in records}) == 78
    assert all(r["query_id"].endswith("/vibe_request/offline-baseline") for r in records)
    # It says what it ran, where the files are, and what to try next.
    assert "[4/4] write the HTML report" in output and "offline baseline, not an LLM" in output
    assert f"open {out / 'report.html'}" in output
    assert "prsynth crawl github" in output and "prsynth synth --llm openai" in output


def test_demo_again_adds_no_duplicates(demo, minilm):
    out, _ = demo
    with Store(out / "prsynth.db") as store:
        before = (store.count_prs(), store.count_queries())
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "0 new" in result.output
    with Store(out / "prsynth.db") as store:
        assert (store.count_prs(), store.count_queries()) == before == (180, 180)
        assert sorted(s["name"] for s in store.selections()) == ["selection-1", "selection-2"]


def test_demo_selects_real_tasks_with_their_provenance_and_no_personal_data(demo, minilm):
    out, _ = demo
    records = [json.loads(line) for line in (out / "selected.jsonl").read_text().splitlines()]
    assert all(NEW_FIELDS <= set(r) for r in records)
    assert {r["repo"] for r in records} == {"pallets/jinja", "tiangolo/typer", "sindresorhus/ky"}
    assert max(sum(r["repo"] == repo for r in records) for repo in {r["repo"] for r in records}
               ) <= 32  # the default cap: 40% of 78
    with Store(out / "prsynth.db") as store:
        not_tasks = store.task_dropped_pr_ids() | store.dropped_items("crawl")
    assert not {r["pr_id"] for r in records} & not_tasks
    assert sum(bool(r["test_patch"]) for r in records) >= 0.85 * 78
    assert sum(bool(r["test_names"]) for r in records) >= 0.5 * 78
    first = records[0]
    assert first["language"] in ("Python", "TypeScript") and first["license"] in (
        "MIT", "BSD-3-Clause")
    assert first["prompt"] == "vibe_request@1" and first["model"] == "offline-baseline"
    assert set(first["modified_files"]) | set(first["test_files"]) <= {
        f for r in records for f in r["modified_files"] + r["test_files"]}
    assert "test_match" in first["score_breakdown"]
    assert first["why"]["reason"].startswith("Chosen")
    # Patches stay byte-exact; everything written about the PR and the request is clean.
    assert not any(EMAIL_OR_TRAILER.search(r["query"] + r["body"] + r["title"]) for r in records)
    assert not EMAIL_OR_TRAILER.search((out / "report.html").read_text())


@pytest.mark.browser
def test_demo_report_in_a_real_browser(demo, minilm, tmp_path):
    demo_out, _ = demo
    out = tmp_path / "demo"
    shutil.copytree(demo_out, out)
    # The invented hazards join a copy of the demo: a title that is a script tag.
    for args in (["crawl", "import", str(invented_prs_path())], ["synth"],
                 ["select", "--k", "78"], ["report", "-o", str(out / "report.html")]):
        result = CliRunner().invoke(cli, ["--store", str(out / "prsynth.db"), *args])
        assert result.exit_code == 0, result.output
    with Store(out / "prsynth.db") as store:
        queries = store.count_queries()
        clusters = store.cluster_labels()
    with open_page(out / "report.html") as (page, errors):
        canvas = page.locator("#map")
        assert canvas.get_attribute("data-points") == str(queries)
        assert page.locator("#selected tbody tr").count() == 78
        assert page.locator("#clusters .card").count() == len(clusters)
        # Filter to the cluster of the first selected row by clicking its card.
        first = page.locator("#selected tbody tr").first
        cluster = first.get_attribute("data-cluster")
        page.locator(f"#clusters .card[data-cluster='{cluster}']").click()
        in_cluster = page.locator(f"#selected tbody tr[data-cluster='{cluster}']").count()
        expect(page.locator("#selected tbody tr:not([hidden])")).to_have_count(in_cluster)
        assert int(canvas.get_attribute("data-visible")) < queries
        page.locator("#clear-filter").click()
        expect(canvas).to_have_attribute("data-visible", str(queries))
        # The PR titled <script>alert(1)</script> is text: search finds it, nothing runs.
        page.locator("#search").fill("hazards#1")
        expect(canvas).to_have_attribute("data-visible", "1")
        spot = page.evaluate(
            "(() => { const P = window.prsynthReport.data.points;"
            f" const i = P.pr.indexOf('{HOSTILE_PR}');"
            " return window.prsynthReport.pagePosition(P.id[i]); })()"
        )
        page.mouse.move(spot["x"] - page.evaluate("window.scrollX"),
                        spot["y"] - page.evaluate("window.scrollY"))
        expect(page.locator("#tooltip")).to_contain_text("<script>alert(1)</script>")
        assert page.locator("script").count() == 2
        page.screenshot(path=str(tmp_path / "demo-report.png"), full_page=True)
        assert (tmp_path / "demo-report.png").stat().st_size > 10_000
        assert errors == []
