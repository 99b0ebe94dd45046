"""`prsynth crawl github` and `prsynth crawl --config`: the real PyGithub client against a
local server speaking GitHub's REST API (tests/github_server.py)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from prsynth.crawl import crawl_github, crawl_lock
from prsynth.sources.github import GitHubClient, RetryPolicy
from tests.github_server import GitHubServer, binary_file, text_file

FAST = RetryPolicy(max_retries=3, max_failures=6, backoff=0.02, secondary_wait=0.1)
FAST_CONFIG = "[github]\nbackoff = 0.02\nsecondary_wait = 0.1\nmax_retries = 3\nmax_failures = 6\n"


@pytest.fixture
def server():
    with GitHubServer() as running:
        yield running


@pytest.fixture
def notes():
    return []


@pytest.fixture
def client(server, notes):
    return GitHubClient(server.api_url, policy=FAST, notify=notes.append)


@pytest.fixture
def fast_cli(run_cli, tmp_path, monkeypatch):
    """run_cli with a ./prsynth.toml of short retry waits and no token in the environment."""
    (tmp_path / "prsynth.toml").write_text(FAST_CONFIG)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    return run_cli


def acme_app(server: GitHubServer) -> GitHubServer:
    """acme/app: merged PRs with every kind of file, linked issues, an unmerged and a bot PR."""
    server.add_repo("acme/app", license="Apache-2.0", stars=1234, description="An app",
                    language="Python")
    server.add_repo("acme/lib", license="MIT", stars=7)
    server.add_issue("acme/app", 3, "Adding strings crashes", "TypeError on add('a', 'b')")
    server.add_issue("acme/lib", 5, "Export add", "Please export it")
    server.add_pull("acme/app", 7, title="Fix add for strings", author="alice",
                    body="Adding two strings crashed.\n\nFixes #3, closes acme/lib#5 and "
                         "resolves https://github.com/acme/app/issues/99",
                    files=[text_file("app.py"), text_file("tests/test_app.py", status="added"),
                           binary_file("docs/logo.png"),
                           text_file("new_name.py", status="renamed", previous="old_name.py"),
                           text_file("gone.py", status="removed")])
    server.add_pull("acme/app", 8, title="Closed without merging", merged=False)
    server.add_pull("acme/app", 9, title="Bump requests", author="dependabot[bot]",
                    files=[text_file("requirements.txt")])
    server.add_pull("acme/app", 10, title="Add sub", files=[text_file("app.py", lines=5)])
    return server


# --- 1, 2: fields of stored PRs, one files request per PR ------------------------------

def test_merged_prs_are_stored_with_files_diff_linked_issues_license_and_stars(
        store, server, client):
    acme_app(server)
    [report] = crawl_github(store, ["acme/app"], client=client)

    assert (report.new, report.updated) == (2, 0)
    assert report.skipped == {"not_merged": 1, "bot_author": 1}
    pr = store.get_pr("acme/app#7")
    assert pr.title == "Fix add for strings" and pr.author == "alice"
    assert pr.body.startswith("Adding two strings crashed.")
    assert pr.merged_at.endswith("Z") and pr.source == "github"
    assert pr.url == "https://github.com/acme/app/pull/7"
    listed = server.repos["acme/app"].pulls[7]
    assert (pr.base_sha, pr.head_sha, pr.merge_sha) == (
        listed["base"]["sha"], listed["head"]["sha"], listed["merge_commit_sha"])
    files = {f.path: f for f in pr.files}
    assert {p: f.status for p, f in files.items()} == {
        "app.py": "modified", "tests/test_app.py": "added", "docs/logo.png": "modified",
        "new_name.py": "renamed", "gone.py": "removed"}
    assert files["docs/logo.png"].binary and not files["app.py"].binary
    assert files["new_name.py"].previous_path == "old_name.py"
    assert (pr.additions, pr.deletions) == (12, 3)
    assert "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,2" in pr.diff
    assert "new file mode 100644\n--- /dev/null\n+++ b/tests/test_app.py" in pr.diff
    assert "deleted file mode 100644\n--- a/gone.py\n+++ /dev/null" in pr.diff
    assert "rename from old_name.py\nrename to new_name.py" in pr.diff
    assert "Binary files a/docs/logo.png and b/docs/logo.png differ" in pr.diff
    assert [(i["repo"], i["number"], i["title"]) for i in pr.linked_issues] == [
        ("acme/app", 3, "Adding strings crashes"), ("acme/lib", 5, "Export add"),
        ("acme/app", 99, "")]
    assert pr.linked_issues[0]["body"] == "TypeError on add('a', 'b')"
    assert pr.license == "Apache-2.0" and pr.stars == 1234
    assert store.repo_info("acme/app") == {
        "license": "Apache-2.0", "stars": 1234, "description": "An app", "language": "Python"}

    # The PR list gives the PR; one files request per merged, non-bot PR; nothing else.
    assert server.count(r"/pulls/\d+$") == 0
    assert server.count(r"/pulls/7/files") == server.count(r"/pulls/10/files") == 1
    assert server.count(r"/pulls/(8|9)/files") == 0
    assert server.count(r"/issues/") == 3
    assert report.requests == len(server.log) == 1 + 1 + 2 + 3


def test_many_files_and_many_prs_are_paginated_through_link_headers(store, server, client):
    server.add_repo("acme/big")
    server.add_pull("acme/big", 1, files=[text_file(f"src/f{i}.py") for i in range(150)])
    for number in range(2, 231):
        server.add_pull("acme/big", number)
    [report] = crawl_github(store, ["acme/big"], client=client)
    assert report.new == 230
    assert len(store.get_pr("acme/big#1").files) == 150
    assert store.get_pr("acme/big#1").diff.count("diff --git") == 150
    assert server.count(r"/pulls\?") == 3 and server.count(r"/pulls/1/files") == 2
    assert all("per_page=100" in r.path for r in server.requests(r"/pulls\?direction"))


def test_limit_and_since_bound_what_is_stored(store, server, client):
    server.add_repo("acme/app")
    for number in range(1, 6):
        server.add_pull("acme/app", number, updated=number * 60 * 24)  # one a day
    [report] = crawl_github(store, ["acme/app"], client=client, limit=2)
    assert report.new == 2 and store.pr_ids() == {"acme/app#5", "acme/app#4"}

    [report] = crawl_github(store, ["acme/app"], client=client, since="2024-01-04")
    assert report.new == 1 and "acme/app#3" in store.pr_ids()  # merged 2024-01-04
    assert store.pr_ids() == {"acme/app#5", "acme/app#4", "acme/app#3"}


# --- 3: incremental runs and conditional requests --------------------------------------

def test_unchanged_rerun_costs_only_conditional_requests(store, server, client):
    acme_app(server)
    crawl_github(store, ["acme/app"], client=client)
    first = len(server.log)

    [report] = crawl_github(store, ["acme/app"], client=client)
    again = server.log[first:]
    assert (report.new, report.updated) == (0, 0)
    assert [(r.route, r.status) for r in again] == [
        ("/repos/acme/app", 304), ("/repos/acme/app/pulls", 304)]
    assert all(r.headers.get("If-None-Match", "").startswith('W/"') for r in again)
    assert store.get_pr("acme/app#7").license == "Apache-2.0"  # kept from the cached answer


def test_second_run_fetches_only_what_changed_since_the_cursor(store, server, client):
    server.add_repo("acme/app")
    for number in range(1, 251):
        server.add_pull("acme/app", number)
    crawl_github(store, ["acme/app"], client=client)
    first = len(server.log)

    server.touch_pull("acme/app", 17, title="Retitled after merge")
    server.add_pull("acme/app", 251, title="Brand new")
    [report] = crawl_github(store, ["acme/app"], client=client)

    assert (report.new, report.updated, report.unchanged) == (1, 1, 1)  # 1: the newest
    assert store.get_pr("acme/app#17").title == "Retitled after merge"
    routes = [r.route for r in server.log[first:]]
    assert routes == ["/repos/acme/app", "/repos/acme/app/pulls",
                      "/repos/acme/app/pulls/251/files", "/repos/acme/app/pulls/17/files"]
    assert store.count_prs() == 251


def test_pr_merged_after_being_seen_unmerged_is_stored_later(store, server, client):
    server.add_repo("acme/app")
    server.add_pull("acme/app", 1, merged=False)
    [report] = crawl_github(store, ["acme/app"], client=client)
    assert report.skipped == {"not_merged": 1}
    server.touch_pull("acme/app", 1, merged_at="2024-02-01T00:00:00Z")
    [report] = crawl_github(store, ["acme/app"], client=client)
    assert report.new == 1 and store.drop_counts() == []


# --- 4: rate limits and faults ----------------------------------------------------------

def two_repos(server: GitHubServer, prs: int = 4) -> None:
    for name in ("acme/app", "acme/lib"):
        server.add_repo(name)
        for number in range(1, prs + 1):
            server.add_pull(name, number)


def test_primary_rate_limit_waits_for_the_reset_and_sends_nothing_meanwhile(
        store, server, client, notes):
    two_repos(server)
    server.fail(r"/acme/app/pulls/3/files", "primary", reset_in=1.5)
    started = time.time()
    reports = crawl_github(store, ["acme/app", "acme/lib"], client=client)

    assert [r.new for r in reports] == [4, 4] and not any(r.failed for r in reports)
    assert len(notes) == 1 and "rate limit reached; waiting" in notes[0]
    [limited] = [i for i, r in enumerate(server.log) if r.status == 403]
    gap = server.log[limited + 1].at - server.log[limited].at
    assert gap >= server.limited_until - started - 1.6 and gap >= 0.9
    assert server.log[limited + 1].status == 200  # the first request after the wait succeeds


def test_spent_limit_in_a_good_answer_pauses_before_the_next_request(
        store, server, client, notes):
    two_repos(server, prs=2)
    server.fail(r"/acme/app$", "spent", reset_in=1.2)
    [report] = crawl_github(store, ["acme/app"], client=client)
    assert report.new == 2
    assert "rate limit reached" in notes[0]
    assert server.log[1].at - server.log[0].at >= 0.9
    assert [r.status for r in server.log] == [200, 200, 200, 200]


@pytest.mark.parametrize("kind", ["secondary", "secondary429"])
def test_secondary_rate_limit_honours_retry_after(store, server, client, notes, kind):
    two_repos(server, prs=2)
    server.fail(r"/acme/app/pulls\?", kind, retry_after=1)
    [report] = crawl_github(store, ["acme/app"], client=client)
    assert report.new == 2
    assert "secondary rate limit; waiting 1 s" in notes[0]
    lists = server.requests(r"/acme/app/pulls\?")
    assert [r.status for r in lists] == [403 if kind == "secondary" else 429, 200]
    assert lists[1].at - lists[0].at >= 0.95


def test_server_errors_and_dropped_connections_are_retried(store, server, client):
    two_repos(server, prs=3)
    server.fail(r"/acme/app$", "502", times=2)
    server.fail(r"/pulls/2/files", "drop")
    server.fail(r"/pulls/3/files", "500")
    [report] = crawl_github(store, ["acme/app"], client=client)
    assert report.new == 3 and not report.failed
    assert [r.status for r in server.requests(r"/pulls/2/files")] == [0, 200]
    assert [r.status for r in server.requests(r"/acme/app$")] == [502, 502, 200]


def test_a_repository_failing_past_the_budget_is_given_up_and_the_next_one_runs(
        fast_cli, server, store_path):
    two_repos(server)
    server.fail(r"/acme/app/pulls/2/files", "500", times=0)  # always
    result = fast_cli("crawl", "github", "acme/app", "acme/lib", "--api-url", server.api_url,
                      "--json")
    assert result.exit_code == 3, result.output
    reports = json.loads(result.stdout)
    assert reports[0]["new"] == 2  # #4 and #3, before #2 kept failing
    assert "HTTP 500; gave up after 4 attempts" in reports[0]["error"]
    assert reports[1]["new"] == 4 and reports[1]["error"] == ""
    assert server.count(r"/acme/app/pulls/2/files") == 4  # 1 + max_retries, then it stopped
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "Error: 1 of 2 sources failed or were cut short; the rest is stored"
    assert lines[1].startswith("acme/app: 2 new") and "FAILED" in lines[1]

    server.faults.clear()
    result = fast_cli("crawl", "github", "acme/app", "acme/lib", "--api-url", server.api_url)
    assert result.exit_code == 0, result.output
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT count(*) FROM prs").fetchone()[0] == 8


def test_max_requests_caps_the_run_and_the_next_run_continues(fast_cli, server, store_path):
    two_repos(server)
    result = fast_cli("crawl", "github", "acme/app", "acme/lib", "--api-url", server.api_url,
                      "--max-requests", "5")
    assert result.exit_code == 3, result.output
    assert len(server.log) == 5
    assert "stopped after 5 API requests (--max-requests)" in result.stderr
    assert "acme/lib: 0 new" in result.stderr and "not crawled" in result.stderr

    result = fast_cli("crawl", "github", "acme/app", "acme/lib", "--api-url", server.api_url)
    assert result.exit_code == 0, result.output
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT count(*), count(DISTINCT id) FROM prs").fetchone() == (8, 8)
    assert server.count(r"/files") == 8  # no PR's files were fetched twice
