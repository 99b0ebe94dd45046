"""The HTML report: data from the store, escaping, self-containment, and a real browser."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from prsynth.config import Config
from prsynth.errors import MissingStageError
from prsynth.outputs.report import report_data, write_report
from prsynth.stages.registry import run_stage, stale_stages
from prsynth.store import Store
from tests.support.browser import open_page
from tests.support.vectordata import PARAPHRASES, add_query, fill_topics

XSS_TITLE = "<script>alert(1)</script>"


def clustered_store(store):
    """24 requests on four topics, one paraphrase (a duplicate), one hostile PR title."""
    fill_topics(store)
    add_query(store, "q900", PARAPHRASES[0][1], repo="acme/frontend", number=900,
              merged_at="2025-01-01T00:00:00Z")
    add_query(store, "q901", "Escape the PR title in the dashboard header so markup shows as text",
              repo="evil/site", number=901)
    pr = store.get_pr("evil/site#901")
    pr.title = XSS_TITLE
    pr.url = "javascript:alert(2)"
    store.put_pr(pr)
    config = Config()
    config.cluster.k = "4"
    for stage in stale_stages(store, config):
        run_stage(store, config, stage)
    return store


def selected_records(store, k=6):
    """Selected records (docs/architecture.md's fields) for the first k non-duplicates."""
    labels = store.cluster_labels()
    clusters = store.clusters()
    sources = {s.query_id: s for s in store.query_sources()}
    chosen = sorted(q for q in clusters if q != "q901")[: k - 1] + ["q901"]
    rows = []
    for rank, query_id in enumerate(chosen, 1):
        pr = store.get_pr(sources[query_id].pr_id)
        cluster = clusters[query_id][0]
        rows.append({
            "rank": rank, "query_id": query_id, "query": sources[query_id].text, "pr_id": pr.id,
            "repo": pr.repo, "pr_url": pr.url, "base_sha": pr.base_sha, "cluster": cluster,
            "cluster_label": labels[cluster], "quality": 0.5 + rank / 100, "task_type": "feature",
            "why": {"coverage_gain": 1.0 / rank, "quality_gain": 0.1},
        })
    return rows


def test_report_needs_clusters_and_says_what_to_run(store):
    fill_topics(store)
    with pytest.raises(MissingStageError, match="prsynth select --k 78"):
        report_data(store, Config(), [])


def test_report_data_covers_every_query_and_marks_duplicates_and_selected(store, minilm):
    clustered_store(store)
    data = report_data(store, Config(), selected_records(store))
    points = data.points
    assert len(points["id"]) == store.count_queries() == 26
    flags = dict(zip(points["id"], points["flags"], strict=False))
    # The paraphrase and its original form one group; the better-scored one is kept.
    assert (flags["q900"] & 1) != (flags["q013"] & 1)
    assert sum(1 for f in flags.values() if f & 2) == 6
    assert sum(card["size"] for card in data.clusters) == 25  # duplicates are not clustered
    assert sum(len(card["selected"]) for card in data.clusters) == 6
    # A duplicate is drawn in its representative's colour.
    cluster_of = dict(zip(points["id"], points["cluster"], strict=False))
    assert cluster_of["q900"] == cluster_of["q013"] >= 0
    assert data.funnel["queries"] == 26 and data.funnel["selected"] == 6
    hostile = next(r for r in data.selected if r["query_id"] == "q901")
    assert hostile["pr_url"] == ""  # a javascript: link never becomes clickable


def test_report_escapes_untrusted_text_and_is_self_contained(store, minilm, tmp_path):
    clustered_store(store)
    data = report_data(store, Config(), selected_records(store))
    html = write_report(data, tmp_path / "report.html").read_text(encoding="utf-8")
    assert XSS_TITLE not in html
    payload = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    ).group(1)
    assert "<" not in payload
    assert XSS_TITLE in json.loads(payload)["points"]["title"]
    # Nothing is fetched when the page opens: no external scripts, styles, images or fonts.
    external = r"""<(?:script|img|iframe)[^>]+src=|<link[^>]+href=|url\(\s*['"]?http"""
    assert not re.search(external, html)
    assert not (tmp_path / "report.html.partial").exists()


@pytest.mark.browser
def test_report_in_a_real_browser(store, minilm, tmp_path):
    clustered_store(store)
    records = selected_records(store)
    path = write_report(report_data(store, Config(), records), tmp_path / "report.html")
    with open_page(path) as (page, errors):
        canvas = page.locator("#map")
        assert canvas.get_attribute("data-points") == "26"
        assert canvas.get_attribute("data-visible") == "26"
        assert page.locator("#selected tbody tr").count() == len(records) == 6
        # The hostile title shows as text in the hover card and runs nothing.
        assert page.locator("script").count() == 2  # the page's own data and code, no more
        spot = page.evaluate("window.prsynthReport.pagePosition('q901')")
        page.mouse.move(spot["x"] - page.evaluate("window.scrollX"),
                        spot["y"] - page.evaluate("window.scrollY"))
        expect(page.locator("#tooltip")).to_contain_text(f"evil/site#901 — {XSS_TITLE}")
        assert page.locator("#selected a[href^='javascript']").count() == 0
        # Clicking a cluster card filters the map and the table to that cluster.
        card = page.locator("#clusters .card").first
        cluster = int(card.get_attribute("data-cluster"))
        cards = report_data(store, Config(), records).clusters
        size = next(c["size"] for c in cards if c["id"] == cluster)
        card.click()
        cluster_points = page.evaluate(
            "(c) => { const P = window.prsynthReport.data.points;"
            " return P.cluster.filter((x) => x === c).length; }", cluster)
        assert int(canvas.get_attribute("data-visible")) == cluster_points >= size
        in_cluster = sum(1 for r in records if r["cluster"] == cluster)
        assert page.locator("#selected tbody tr:not([hidden])").count() == in_cluster
        assert f"Cluster {cluster}" in page.locator("#filter-status").inner_text()
        page.locator("#clear-filter").click()
        assert canvas.get_attribute("data-visible") == "26"
        # Search narrows the map to matching requests.
        page.locator("#search").fill("dark mode")
        expect(canvas).to_have_attribute("data-visible", "2")
        page.locator("#search").fill("")
        expect(canvas).to_have_attribute("data-visible", "26")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert (tmp_path / "report.png").stat().st_size > 10_000
        assert errors == []


def test_report_command_before_select_says_which_command_to_run(run_cli, store_path):
    Store(store_path).close()  # `report` only reads the store: it never creates one
    result = run_cli("report")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: no selection yet; run `prsynth select --k 78` first"
    )
