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
from click.testing import CliRunner

from prsynth.cli import cli
from prsynth.crawl.lock import crawl_lock
from prsynth.crawl.run import crawl_github
from prsynth.sources.github.client import GitHubClient, RetryPolicy
from tests.support.github_server import GitHubServer, binary_file, text_file
from tests.support.storeprobe import stored_pr_count
from tests.support.tasks import FILTERS_OFF, FILTERS_OFF_TOML

FAST = RetryPolicy(max_retries=3, max_failures=6, backoff=0.02, secondary_wait=0.1, max_wait=5)
FAST_CONFIG = ("[github]\nbackoff = 0.02\nsecondary_wait = 0.1\nmax_retries = 3\nmax_failures = 6\n"
               + FILTERS_OFF_TOML)


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
    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)

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
    [report] = crawl_github(store, ["acme/big"], client=client, tasks=FILTERS_OFF)
    assert report.new == 230
    assert len(store.get_pr("acme/big#1").files) == 150
    assert store.get_pr("acme/big#1").diff.count("diff --git") == 150
    assert server.count(r"/pulls/1/files") == 2
    assert server.count(r"/pulls\?") == 3
    assert store.github_cursor("acme/big").updated_at == max(
        p["updated_at"] for p in server.repos["acme/big"].pulls.values())
    assert all("per_page=100" in r.path for r in server.requests(r"/pulls\?direction"))


def test_limit_and_since_bound_what_is_stored(store, server, client):
    server.add_repo("acme/app")
    for number in range(1, 6):
        server.add_pull("acme/app", number, updated=number * 60 * 24)  # one a day
    [report] = crawl_github(store, ["acme/app"], client=client, limit=2, tasks=FILTERS_OFF)
    assert report.new == 2 and store.pr_ids() == {"acme/app#5", "acme/app#4"}

    [report] = crawl_github(store, ["acme/app"], client=client, since="2024-01-04",
                            tasks=FILTERS_OFF)
    assert report.new == 1 and "acme/app#3" in store.pr_ids()  # merged 2024-01-04
    assert store.pr_ids() == {"acme/app#5", "acme/app#4", "acme/app#3"}


# --- 3: incremental runs and conditional requests --------------------------------------

def test_unchanged_rerun_costs_only_conditional_requests(store, server, client):
    acme_app(server)
    crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
    first = len(server.log)

    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
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
    crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
    first = len(server.log)

    server.touch_pull("acme/app", 17, title="Retitled after merge")
    server.add_pull("acme/app", 251, title="Brand new")
    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)

    assert (report.new, report.updated, report.unchanged) == (1, 1, 1)  # 1: the newest
    edited = store.get_pr("acme/app#17")
    assert edited.title == "Retitled after merge" and "diff --git" in edited.diff
    # A merged PR's files cannot change: the edit costs no files request.
    routes = [r.route for r in server.log[first:]]
    assert routes == ["/repos/acme/app", "/repos/acme/app/pulls",
                      "/repos/acme/app/pulls/251/files"]
    assert store.count_prs() == 251


def test_pr_merged_after_being_seen_unmerged_is_stored_later(store, server, client):
    server.add_repo("acme/app")
    server.add_pull("acme/app", 1, merged=False)
    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
    assert report.skipped == {"not_merged": 1}
    server.touch_pull("acme/app", 1, merged_at="2024-02-01T00:00:00Z")
    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
    assert report.new == 1 and store.drop_counts() == []


# --- 4: rate limits and faults ----------------------------------------------------------

def two_repos(server: GitHubServer, prs: int = 4) -> None:
    for name in ("acme/app", "acme/lib"):
        server.add_repo(name)
        for number in range(1, prs + 1):
            server.add_pull(name, number)


@pytest.mark.parametrize("kind", ["primary", "primary429"])
def test_primary_rate_limit_waits_for_the_reset_and_sends_nothing_meanwhile(
        store, server, client, notes, kind):
    two_repos(server)
    server.fail(r"/acme/app/pulls/3/files", kind, reset_in=1.5)
    reports = crawl_github(store, ["acme/app", "acme/lib"], client=client, tasks=FILTERS_OFF)

    assert [r.new for r in reports] == [4, 4] and not any(r.failed for r in reports)
    assert len(notes) == 1 and "rate limit reached; waiting" in notes[0]
    # The server answers 403 to anything sent before the reset: exactly one 403 means
    # nothing was sent during the wait, and the next request came after the reset.
    [limited] = [i for i, r in enumerate(server.log) if r.status in (403, 429)]
    assert server.log[limited + 1].wall >= server.limited_until
    assert server.log[limited + 1].path == server.log[limited].path
    assert server.log[limited + 1].status == 200


def test_rate_limit_message_without_headers_waits_instead_of_failing(store, server, client,
                                                                    notes):
    two_repos(server, prs=2)
    server.window = 2  # the reset the earlier answers announced
    server.fail(r"/acme/app/pulls/1/files", "primary_message")
    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
    assert report.new == 2 and not report.failed
    assert "rate limit reached; waiting" in notes[0]
    limited = server.requests(r"/pulls/1/files")
    assert [r.status for r in limited] == [403, 200]
    announced = server.log[server.log.index(limited[0]) - 1].answer_headers["X-RateLimit-Reset"]
    assert limited[1].wall >= int(announced)


def test_a_reset_later_than_the_longest_wait_gives_up_the_repository(store, server, client):
    two_repos(server, prs=2)
    server.fail(r"/acme/app/pulls/1/files", "primary", reset_in=60)
    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
    assert report.new == 1 and "later than this run waits (5 s)" in report.error


def test_spent_limit_in_a_good_answer_pauses_before_the_next_request(
        store, server, client, notes):
    two_repos(server, prs=2)
    server.fail(r"/acme/app$", "spent", reset_in=1.2)
    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
    assert report.new == 2
    assert "rate limit reached" in notes[0]
    assert server.log[1].at - server.log[0].at >= 0.9
    assert [r.status for r in server.log] == [200, 200, 200, 200]


@pytest.mark.parametrize("kind", ["secondary", "secondary429"])
def test_secondary_rate_limit_honours_retry_after(store, server, client, notes, kind):
    two_repos(server, prs=2)
    server.fail(r"/acme/app/pulls\?", kind, retry_after=1)
    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
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
    server.fail(r"/pulls/1/files", "cut")
    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
    assert report.new == 3 and not report.failed
    assert [r.status for r in server.requests(r"/pulls/2/files")] == [0, 200]
    assert [r.status for r in server.requests(r"/pulls/1/files")] == [-1, 200]
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


# --- 5: resumable and safe --------------------------------------------------------------

def test_kill_9_mid_crawl_then_rerun_loses_and_duplicates_nothing(server, tmp_path):
    server.add_repo("acme/big")
    for number in range(1, 301):
        server.add_pull("acme/big", number)
    server.delay = 0.01
    store = tmp_path / "kill.db"
    (tmp_path / "prsynth.toml").write_text(FAST_CONFIG)
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
    env["PYTHONPATH"] = os.getcwd()
    cmd = [sys.executable, "-m", "prsynth", "--store", str(store), "crawl", "github",
           "acme/big", "--api-url", server.api_url]
    process = subprocess.Popen(cmd, env=env, cwd=tmp_path, stderr=subprocess.DEVNULL)
    stored = 0
    second = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        stored = stored_pr_count(store)
        if stored >= 10 and second is None:  # a second crawl meanwhile exits at once
            second = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
        if stored >= 40 and second is not None and second.poll() is not None:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait()
    assert 40 <= stored < 300
    _, second_stderr = second.communicate(timeout=30)
    assert second.returncode == 1 and second_stderr.strip().splitlines()[-1] == (
        f"Error: another crawl (pid {process.pid}) is running on store {store};"
        " wait for it to finish")

    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        survived = db.execute("SELECT count(*) FROM prs").fetchone()[0]
    first_run = server.count(r"/files")
    subprocess.run(cmd, env=env, cwd=tmp_path, check=True, capture_output=True)
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*), count(DISTINCT id) FROM prs").fetchone() == (
            300, 300)
        assert db.execute("SELECT count(*) FROM github_seen").fetchone()[0] == 300
    # Every PR stored before the kill was skipped, not fetched again.
    assert server.count(r"/files") - first_run == 300 - survived


def test_a_second_crawl_on_the_same_store_exits_at_once(fast_cli, server, store_path):
    two_repos(server)
    with crawl_lock(store_path):
        result = fast_cli("crawl", "github", "acme/app", "--api-url", server.api_url)
        assert result.exit_code == 1
        assert result.output.strip().splitlines()[-1] == (
            f"Error: another crawl (pid {os.getpid()}) is running on store {store_path};"
            " wait for it to finish")
        assert len(server.log) == 0
        result = fast_cli("crawl", "git", ".", "--repo", "acme/app")
        assert result.exit_code == 1 and "another crawl" in result.output
    result = fast_cli("crawl", "github", "acme/app", "--api-url", server.api_url)
    assert result.exit_code == 0, result.output


# --- 1, 6: the command line, config-driven runs ------------------------------------------

def test_cli_crawl_github_says_once_that_it_runs_anonymously(fast_cli, server):
    acme_app(server)
    result = fast_cli("crawl", "github", "acme/app", "--api-url", server.api_url, "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("GITHUB_TOKEN is not set: crawling anonymously") == 1
    [report] = json.loads(result.stdout)
    assert report["new"] == 2 and report["skipped"] == {"bot_author": 1, "not_merged": 1}
    assert report["requests"] == 7 and report["rate_limit_left"] == 4993
    assert "Authorization" not in server.log[0].headers
    assert result.stderr.strip().splitlines()[-1] == (
        "acme/app: 2 new, 0 updated, skipped: 1 bot_author, 1 not_merged;"
        " 7 requests, rate limit 4993 left")


def test_config_driven_crawl_runs_every_source_with_its_filters(
        fast_cli, server, store_path, tmp_path, gitrepo):
    acme_app(server)
    server.add_pull("acme/lib", 1, title="Lib change")
    server.add_pull("acme/lib", 2, files=[text_file("package-lock.json")])
    server.add_pull("acme/lib", 3, files=[text_file("src/big.py", lines=500)])
    server.add_repo("acme/gpl", license="GPL-3.0")
    server.add_pull("acme/gpl", 1)
    gitrepo.commit({"a.txt": "1\n"}, "init")
    gitrepo.squash_pr(2, "gina", "Change a", "", {"a.txt": "1\n2\n"})
    dump = tmp_path / "dump.jsonl"
    dump.write_text(json.dumps({
        "repo": "other/dump", "number": 1, "title": "Imported", "merged_at": "2024-01-01",
        "files": [{"path": "x.py", "status": "modified", "additions": 1, "deletions": 0}],
        "diff": "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1,2 @@\n x\n+y\n",
    }) + "\n")
    config = tmp_path / "crawl.toml"
    config.write_text(f"""store = "{tmp_path / 'from-config.db'}"
""" + FAST_CONFIG + f"""
[[sources]]
kind = "github"
api_url = "{server.api_url}"
repos = ["acme/app", "acme/lib", "acme/gpl"]
max_changed_lines = 100
exclude_paths = ["docs/*"]
licenses = ["Apache-2.0", "MIT"]

[[sources]]
kind = "git"
path = "{gitrepo.path}"
repo = "acme/clone"

[[sources]]
kind = "import"
path = "{dump}"
""")
    result = fast_cli("crawl", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    reports = {r["source"]: r for r in json.loads(result.stdout)}
    assert list(reports) == ["acme/app", "acme/lib", "acme/gpl", "acme/clone", str(dump)]
    assert reports["acme/lib"]["new"] == 1
    assert reports["acme/lib"]["skipped"] == {
        "only_excluded_paths": 1, "too_many_changed_lines": 1}
    assert reports["acme/gpl"]["skipped"] == {"license_not_allowed": 1}
    assert reports["acme/clone"]["new"] == 1 and reports[str(dump)]["new"] == 1
    lines = [line for line in result.stderr.splitlines() if not line.startswith("prsynth:")]
    assert len(lines) == 5 and lines[1].startswith("acme/lib: 1 new, 0 updated, skipped: ")
    # --store was given, so it wins over the config's `store`.
    assert store_path.exists() and not (tmp_path / "from-config.db").exists()

    again = CliRunner().invoke(cli, ["crawl", "--config", str(config)])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "from-config.db").exists()


@pytest.mark.parametrize("body, message", [
    ('[[sources]]\nkind = "github"\nrepo = ["acme/app"]\n',
     "config key 'sources[0].repo' must be str, got list"),
    ('[[sources]]\nkind = "github"\nrepos = ["acme/app"]\nmax_line = 3\n',
     "config key 'sources[0].max_line' is unknown"),
    ('[[sources]]\nkind = "gitlab"\nrepos = ["acme/app"]\n',
     "config key 'sources[0].kind' must be one of github, git, import, got 'gitlab'"),
    ('[[sources]]\nkind = "git"\npath = "x"\n', "config sources[0]: a git source needs"),
    ('[github]\nbackoff = "fast"\n', "config key 'github.backoff' must be float"),
    ('store = "x.db"\n', "the config has no [[sources]] entries"),
])
def test_bad_config_is_a_one_line_error_naming_the_key(fast_cli, tmp_path, body, message):
    config = tmp_path / "bad.toml"
    config.write_text(body)
    result = fast_cli("crawl", "--config", str(config))
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and message in result.output
    assert "Traceback" not in result.output


# --- 7: the token stays secret ----------------------------------------------------------

def test_token_never_reaches_store_logs_errors_json_or_exports(
        run_cli, server, store_path, tmp_path, monkeypatch):
    token = "ghp_SeCrEt0123456789abcdefTOKENxyz"
    monkeypatch.setenv("GITHUB_TOKEN", token)
    (tmp_path / "prsynth.toml").write_text(FAST_CONFIG)
    acme_app(server)
    server.token = token
    server.fail(r"/acme/app/pulls/10/files", "502")
    server.fail(r"/repos/acme/lib$", "403")
    server.fail(r"/pulls\?", "secondary", retry_after=0)
    result = run_cli("-v", "crawl", "github", "acme/app", "acme/lib", "acme/none",
                     "--api-url", server.api_url, "--json")
    assert result.exit_code == 3, result.output
    assert "anonymously" not in result.stderr
    assert all(r.headers.get("Authorization") == f"token {token}" for r in server.log)

    monkeypatch.setenv("GITHUB_TOKEN", token + "-wrong")
    refused = run_cli("crawl", "github", "acme/app", "--api-url", server.api_url, "--json")
    assert refused.exit_code == 1
    assert "GitHub refused the credentials (401); check GITHUB_TOKEN" in refused.stderr

    export = tmp_path / "prs.jsonl"
    exported = run_cli("export", "prs", "--format", "jsonl", "-o", str(export))
    assert exported.exit_code == 0, exported.output
    assert json.loads(export.read_text().splitlines()[0])["repo"] == "acme/app"
    outputs = [result.stdout, result.stderr, refused.stdout, refused.stderr, exported.output]
    files = [p for p in tmp_path.iterdir() if p.name.startswith(store_path.name)] + [export]
    for secret in (token, token[4:20]):
        assert not any(secret in text for text in outputs)
        assert not any(secret.encode() in path.read_bytes() for path in files)


# --- 8: bad input -----------------------------------------------------------------------

def test_bad_repositories_are_one_line_errors_and_the_others_still_run(fast_cli, server):
    two_repos(server, prs=2)
    server.add_repo("acme/private")
    server.fail(r"/repos/acme/private$", "403", times=0)
    server.add_repo("acme/locked")
    server.fail(r"/repos/acme/locked$", "401", times=0)
    result = fast_cli("crawl", "github", "acme/missing", "acme/private", "not-a-repo",
                      "acme/locked", "acme/app", "--api-url", server.api_url)
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("prsynth: GITHUB_TOKEN is not set")
    assert lines[1] == (
        "acme/missing: 0 new, 0 updated, skipped: none; 1 requests, rate limit 4999 left;"
        f" FAILED: repository acme/missing not found at {server.api_url} (404);"
        " check the name, or set GITHUB_TOKEN if it is private")
    assert lines[2].endswith(
        "FAILED: repository acme/private: access denied (HTTP 403: Resource not accessible"
        " by personal access token); check the token's access")
    assert lines[3] == ("not-a-repo: 0 new, 0 updated, skipped: none; FAILED: repository"
                        " 'not-a-repo' is not of the form OWNER/NAME (e.g. pallets/click)")
    assert "GitHub refused the credentials (401)" in lines[4]
    assert lines[5].startswith("acme/app: 2 new")
    assert lines[6] == "Error: 4 of 5 sources failed or were cut short; the rest is stored"
    assert server.count(r"/acme/(private|locked)") == 2  # not retried
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, code, message", [
    (["bad name"], 2, "Error: repository 'bad name' is not of the form OWNER/NAME"),
    (["acme/missing"], 1, "Error: repository acme/missing not found at"),
    (["acme/missing", "acme/gone"], 1, "Error: all 2 sources failed"),
])
def test_a_run_where_everything_failed_exits_1_or_2_for_bad_usage(
        fast_cli, server, args, code, message):
    result = fast_cli("crawl", "github", *args, "--api-url", server.api_url)
    assert result.exit_code == code
    assert result.stderr.strip().splitlines()[-1].startswith(message)


def test_other_filters_look_again_at_prs_dropped_before(store, server, client):
    acme_app(server)
    crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
    assert store.get_pr("acme/app#9") is None
    first = len(server.log)
    [report] = crawl_github(store, ["acme/app"], client=client, include_bots=True,
                            tasks=FILTERS_OFF)
    assert report.new == 1 and store.get_pr("acme/app#9").author_is_bot
    files = [r.route for r in server.log[first:] if r.route.endswith("/files")]
    assert files == ["/repos/acme/app/pulls/9/files"]  # the stored PRs were not fetched again


def test_a_pr_pushed_onto_a_later_page_mid_crawl_is_not_fetched_twice(store, server, client):
    server.add_repo("acme/app")
    for number in range(1, 151):
        server.add_pull("acme/app", number)
    # While page 2 is served, #120 (on page 1) is edited: it jumps to the top and
    # #51, last on page 1 when it was read, is now listed first on page 2.
    server.fail(r"/pulls\?.*page=2", "call",
                action=lambda: server.touch_pull("acme/app", 120, title="Edited"))
    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
    assert report.new == 150 and server.count(r"/pulls/51/files") == 1
    [report] = crawl_github(store, ["acme/app"], client=client, tasks=FILTERS_OFF)
    assert report.updated == 1 and store.get_pr("acme/app#120").title == "Edited"


def test_an_answer_that_is_not_github_json_is_a_one_line_error(fast_cli, server):
    server.add_repo("acme/app")
    original = server._route

    def proxy_page_for_lists(entry):
        return (200, {}, {"html": "proxy login"}) if "pulls" in entry.path else original(entry)

    server._route = proxy_page_for_lists
    result = fast_cli("crawl", "github", "acme/app", "--api-url", server.api_url)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: /repos/acme/app/pulls: the server's answer is not GitHub API JSON;"
        " check --api-url")
    result = fast_cli("crawl", "github", "acme/app", "--api-url", "ftp://example.com")
    assert result.exit_code == 2 and "is not an http(s) URL" in result.output


def test_store_mixins_do_not_shadow_each_other():
    from prsynth.store import Store

    owners = {}
    for mixin in Store.__mro__[1:]:
        for name, value in vars(mixin).items():
            if callable(value) and not name.startswith("__"):
                owners.setdefault(name, []).append(mixin.__name__)
    assert {n: o for n, o in owners.items() if len(o) > 1} == {}
