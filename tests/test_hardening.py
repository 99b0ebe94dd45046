"""Edges a careless or hostile user reaches: odd diffs from GitHub, secrets in cached API
answers, stores reached through symlinks, read-only or damaged stores, terminals."""

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from prsynth.config import FiltersConfig
from prsynth.crawl.filters import default_filters
from prsynth.crawl.lock import crawl_lock
from prsynth.crawl.run import crawl_github
from prsynth.errors import PrsynthError, StoreError
from prsynth.sources.github.client import GitHubClient, RetryPolicy
from prsynth.store import Store
from prsynth.text.diffs import clean_diff, normalized_diff_hash
from prsynth.text.terminal import terminal_text
from tests.support.github_server import GitHubServer, text_file

FAST = RetryPolicy(max_retries=2, max_failures=4, backoff=0.02, secondary_wait=0.1, max_wait=5)
TASK_FILTERS_OFF = ("[filters]\nrelease = false\ndependency_bump = false\nno_source_code = false\n"
                    "typo_or_format = false\nmin_changed_lines = 0\n")
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY8EXAMPLEKEY"


@pytest.fixture
def server():
    with GitHubServer() as running:
        yield running


def odd_patch(path: str, patch: str) -> dict:
    entry = text_file(path)
    entry["patch"] = patch
    return entry


def test_prs_with_unparseable_diffs_are_stored_cleaned_and_later_crawls_do_not_crash(
        store, server):
    server.add_repo("acme/app")
    server.add_pull("acme/app", 1, title="Empty line in a hunk", files=[
        odd_patch("a.py", "@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n")])
    server.add_pull("acme/app", 2, title="Binary patch", files=[
        odd_patch("logo.png", "GIT binary patch\nliteral 12\nzcmV+abc\n\nliteral 0\nHcmV?d0\n"),
        text_file("b.py")])
    server.add_pull("acme/app", 3, title="NUL bytes and trailing blank lines", files=[
        odd_patch("c.py", "@@ -1 +1 @@\n-a\x00\n+b\x00\n\n\n\n")])
    server.add_pull("acme/app", 4, title="Header only", files=[odd_patch("d.py", "diff --git ")])
    client = GitHubClient(server.api_url, policy=FAST)
    chain = default_filters(tasks=FiltersConfig.off())

    [first] = crawl_github(store, ["acme/app"], client=client, filters=chain)
    [again] = crawl_github(store, ["acme/app"], client=client, filters=chain)

    assert not first.failed and not again.failed
    assert first.new + sum(first.skipped.values()) == 4
    assert store.pr_ids() >= {"acme/app#1", "acme/app#2", "acme/app#3"}
    assert "\x00" not in store.get_pr("acme/app#3").diff
    assert "zcmV" not in store.get_pr("acme/app#2").diff


def test_the_etag_cache_never_holds_an_unredacted_issue_body(store, server):
    server.add_repo("acme/app")
    server.add_issue("acme/app", 3, "Leaked key", f"our AWS secret key is {AWS_SECRET} oops")
    server.add_pull("acme/app", 7, title="Rotate keys", body="Fixes #3",
                    files=[text_file("app.py")])
    crawl_github(store, ["acme/app"], client=GitHubClient(server.api_url, policy=FAST),
                 filters=default_filters(tasks=FiltersConfig.off()))

    cached = " ".join(row[0] for row in store.db.execute("SELECT body FROM http_etags"))
    assert "Leaked key" in cached and AWS_SECRET not in cached
    assert AWS_SECRET not in store.get_pr("acme/app#7").linked_issues[0]["body"]


@pytest.mark.parametrize("diff", [
    "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n",
    "diff --git \n", "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\x00\n+b\n\n\n",
])
def test_diff_parsing_never_raises_on_odd_sections(diff):
    assert len(normalized_diff_hash(diff)) == len(normalized_diff_hash(clean_diff(diff))) == 64
    assert "\x00" not in clean_diff(diff) and not clean_diff(diff).endswith("\n\n")


def test_a_store_reached_through_a_symlink_shares_the_crawl_lock(tmp_path):
    Store(tmp_path / "real.db").close()
    (tmp_path / "link.db").symlink_to(tmp_path / "real.db")
    with crawl_lock(tmp_path / "real.db"):
        with pytest.raises(PrsynthError, match="another crawl"):
            with crawl_lock(tmp_path / "link.db"):
                pass


def test_a_migrations_table_that_disagrees_with_the_schema_version_is_refused(tmp_path):
    Store(tmp_path / "s.db").close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute("DELETE FROM migrations WHERE number = (SELECT max(number) FROM migrations)")
    with pytest.raises(StoreError, match="inconsistent.*restore a backup"):
        Store(tmp_path / "s.db")


def test_terminal_text_strips_escape_sequences_and_control_characters():
    hostile = "Fix\x1b[2J\x1b]0;owned\x07 parser\x07\x9b\r\nnext\tline"
    assert terminal_text(hostile) == "Fix parser\nnext\tline"
    assert terminal_text(hostile, one_line=True) == "Fix parser next line"


def test_escape_sequences_in_pr_text_never_reach_the_terminal(run_cli, tmp_path):
    hostile = "Fix \x1b[2J\x1b]0;pwned\x07parser crash\x07 on empty input"
    diff = "diff --git a/p.py b/p.py\n--- a/p.py\n+++ b/p.py\n@@ -1 +1 @@\n-a\n+b\n"
    (tmp_path / "prsynth.toml").write_text(TASK_FILTERS_OFF)
    dump = tmp_path / "dump.jsonl"
    dump.write_text(json.dumps({"repo": "acme/app", "number": 1, "title": hostile,
                                "body": f"{hostile}\n\nThe parser crashes.", "diff": diff}))
    assert run_cli("crawl", "import", str(dump)).exit_code == 0
    assert run_cli("synth", "--llm", "offline").exit_code == 0
    query_id = json.loads(run_cli("export", "queries").stdout)["id"]
    assert run_cli("mark", query_id, "--pin", "--note", hostile).exit_code == 0

    for args in (["score", "--explain", query_id], ["mark", "--list"]):
        shown = run_cli(*args)
        assert shown.exit_code == 0, shown.output
        assert "parser" in shown.output
        assert not any(c in shown.output for c in "\x1b\x07\x9b"), repr(shown.output)


def test_without_git_on_path_only_the_commands_that_run_git_fail_in_one_line(tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    with Store(tmp_path / "prs.db"):
        pass
    empty = tmp_path / "no-git"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_PYTHON")}
    env["PATH"] = str(empty)  # python is called by its full path; git is nowhere

    def prsynth(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "prsynth", "--store",
                               str(tmp_path / "prs.db"), *args],
                              env=env, capture_output=True, text=True, timeout=120)

    stats = prsynth("stats")
    assert stats.returncode == 0, stats.stderr
    crawl = prsynth("crawl", "git", str(repo), "--repo", "acme/app")
    assert crawl.returncode == 2
    assert crawl.stderr.strip().splitlines() == [
        "Error: git is not installed or not on PATH; install it (e.g. apt-get install git) "
        "or add its folder to PATH, then re-run"]
