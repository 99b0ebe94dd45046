"""`prsynth crawl git`: merged PRs mined from real repositories built in the test."""

import json
import subprocess

import pytest

from prsynth.crawl.run import crawl_git
from prsynth.errors import ConfigError, SourceError
from tests.support.gitrepos import GitRepoBuilder
from tests.support.storeprobe import stored_pr_count
from tests.support.tasks import FILTERS_OFF, FILTERS_OFF_TOML


@pytest.fixture(autouse=True)
def mechanics_config(tmp_path):
    """CLI runs here read ./prsynth.toml: these small PRs test crawl mechanics, not tasks."""
    (tmp_path / "prsynth.toml").write_text(FILTERS_OFF_TOML)


@pytest.fixture
def history(gitrepo: GitRepoBuilder) -> GitRepoBuilder:
    """main with: a merge-button PR, a squash PR, a bot PR, a PR on a maintenance branch."""
    gitrepo.commit({"app.py": "def add(a, b):\n    return a + b\n", "README.md": "app\n",
                    "LICENSE": "MIT License\n\nPermission is hereby granted, free of charge, "
                               "to any person obtaining a copy\n"}, "Initial commit")
    gitrepo.git("checkout", "-q", "-b", "release-1.x")
    gitrepo.git("checkout", "-q", "main")
    gitrepo.commit({"README.md": "app\n\nusage\n"}, "Direct commit, not a PR")
    gitrepo.merge_pr(
        7, "alice", "fix-add", "Fix add for strings",
        "Adding two strings crashed.\n\nFixes #3",
        {"app.py": "def add(a, b):\n    return str(a) + str(b)\n",
         "tests/test_app.py": "from app import add\n\n\ndef test_add():\n"
                              "    assert add(1, 2) == '12'\n"},
    )
    gitrepo.squash_pr(9, "bob", "Add subtract helper", "Needed by the CLI.",
                      {"app.py": "def add(a, b):\n    return str(a) + str(b)\n\n\n"
                                 "def sub(a, b):\n    return a - b\n"})
    gitrepo.squash_pr(10, "dependabot[bot]", "Bump requests from 2.31 to 2.32", "",
                      {"requirements.txt": "requests==2.32\n"})
    gitrepo.merge_pr(11, "carol", "backport-fix", "[1.x] Fix add for strings", "Backport of #7",
                     {"app.py": "def add(a, b):\n    return str(a) + str(b)\n"},
                     into="release-1.x")
    gitrepo.git("checkout", "-q", "main")
    return gitrepo


def test_merge_and_squash_prs_are_mined_with_their_fields(store, history):
    report = crawl_git(store, history.path, "acme/app", tasks=FILTERS_OFF)

    assert report.new == 3 and report.skipped == {"bot_author": 1}
    merged = store.get_pr("acme/app#7")
    parents = history.git("log", "-1", "--format=%P", merged.merge_sha).split()
    assert merged.title == "Fix add for strings"
    assert merged.body == "Adding two strings crashed.\n\nFixes #3"
    assert merged.author == "alice" and merged.author_is_bot is False
    assert merged.head_sha == parents[1]
    assert merged.base_sha == history.git("merge-base", parents[0], parents[1])
    assert merged.url == "https://github.com/acme/app/pull/7"
    assert merged.license == "MIT" and merged.source == "git"
    assert {(f.path, f.status) for f in merged.files} == {
        ("app.py", "modified"), ("tests/test_app.py", "added")}
    assert merged.additions == 6 and merged.deletions == 1
    assert merged.diff == history.git("diff", "-M", "--full-index", merged.base_sha,
                                      merged.head_sha) + "\n"
    assert merged.merged_at.endswith("Z")

    squashed = store.get_pr("acme/app#9")
    assert squashed.title == "Add subtract helper" and squashed.body == "Needed by the CLI."
    assert squashed.base_sha == history.head(f"{squashed.merge_sha}~1")
    assert squashed.head_sha == squashed.merge_sha
    assert "+def sub(a, b):" in squashed.diff


def test_prs_merged_into_maintenance_branches_count(store, history):
    crawl_git(store, history.path, "acme/app", tasks=FILTERS_OFF)
    backport = store.get_pr("acme/app#11")
    assert backport.title == "[1.x] Fix add for strings"
    assert backport.author == "carol"


def test_bots_are_dropped_and_counted_unless_included(store, history):
    crawl_git(store, history.path, "acme/app", tasks=FILTERS_OFF)
    assert store.get_pr("acme/app#10") is None
    assert store.drop_counts() == [("crawl", "acme/app", "bot_author", 1)]

    report = crawl_git(store, history.path, "acme/app", include_bots=True, tasks=FILTERS_OFF)
    assert report.new == 1
    assert store.get_pr("acme/app#10").author_is_bot is True
    assert store.drop_counts() == []


def test_rerun_adds_only_new_prs_and_never_duplicates(store, history):
    crawl_git(store, history.path, "acme/app", tasks=FILTERS_OFF)
    again = crawl_git(store, history.path, "acme/app", tasks=FILTERS_OFF)
    assert again.new == 0 and store.count_prs() == 3

    history.squash_pr(12, "dave", "Document sub", "", {"README.md": "app\n\nsub(a, b)\n"})
    third = crawl_git(store, history.path, "acme/app", tasks=FILTERS_OFF)
    assert third.new == 1 and store.count_prs() == 4


def test_limit_and_since_bound_what_is_stored(store, history):
    report = crawl_git(store, history.path, "acme/app", limit=1, tasks=FILTERS_OFF)
    assert report.new == 1
    assert store.pr_ids() == {"acme/app#11"}  # newest first

    merged_at = store.get_pr("acme/app#11").merged_at
    fresh = crawl_git(store, history.path, "acme/app", since=merged_at, tasks=FILTERS_OFF)
    assert fresh.new == 0


def test_title_with_pr_number_and_two_parents_is_a_merge(store, gitrepo):
    gitrepo.commit({"a.txt": "1\n"}, "init")
    gitrepo.git("checkout", "-q", "-b", "topic")
    gitrepo.commit({"b.txt": "2\n"}, "work", author="erin")
    gitrepo.git("checkout", "-q", "main")
    gitrepo.commit({"a.txt": "1\n2\n"}, "main moves on")
    gitrepo.git("merge", "-q", "--no-ff", "topic", "-m", "Add b (#5)\n\nBody of five")
    crawl_git(store, gitrepo.path, "acme/app", tasks=FILTERS_OFF)
    pr = store.get_pr("acme/app#5")
    assert pr.title == "Add b (#5)"[:-5] and pr.body == "Body of five"
    assert [f.path for f in pr.files] == ["b.txt"]  # not main's own change to a.txt


def test_renames_binary_and_non_utf8_files(store, gitrepo):
    gitrepo.commit({"old_name.py": "x = 1\n" * 20, "logo.png": b"\x89PNG\x00\x01"}, "init")
    gitrepo.squash_pr(3, "frank", "Rename module, new logo, latin-1 notes", "", {
        "old_name.py": None, "new_name.py": "x = 1\n" * 20,
        "logo.png": b"\x89PNG\x00\x02", "notes.txt": "caf\xe9\n".encode("latin-1"),
    })
    crawl_git(store, gitrepo.path, "acme/app", tasks=FILTERS_OFF)
    pr = store.get_pr("acme/app#3")
    files = {f.path: f for f in pr.files}
    assert files["new_name.py"].status == "renamed"
    assert files["new_name.py"].previous_path == "old_name.py"
    assert files["logo.png"].binary and files["notes.txt"].binary
    assert "Binary files a/notes.txt and b/notes.txt differ" in pr.diff
    pr.diff.encode("utf-8")


def test_files_without_hunks_and_line_counts_match_git_numstat(store, gitrepo):
    """Counts come from the patch, not `--numstat`: a moved image, a mode change and an
    empty file have no hunks, and lines that start with "++" or "--" still count once."""
    gitrepo.commit({"img/logo.png": b"\x89PNG\x00" + bytes(range(256)) * 8,
                    "run.sh": "echo hi\n", "a.py": "-- x\n++ y\nz = 1\n" * 3}, "init")
    base = gitrepo.head()
    (gitrepo.path / "assets").mkdir()
    gitrepo.git("mv", "img/logo.png", "assets/logo.png")
    gitrepo.git("update-index", "--chmod=+x", "run.sh")
    gitrepo.squash_pr(6, "ivy", "Move the logo, make run.sh runnable", "", {
        "empty.py": "", "a.py": "--- x\n+++ y\nz = 2\n" * 2 + "\\ tail\n",
    })
    crawl_git(store, gitrepo.path, "acme/app", tasks=FILTERS_OFF)
    files = {f.path: f for f in store.get_pr("acme/app#6").files}
    logo, run, empty, code = (files[p] for p in ("assets/logo.png", "run.sh", "empty.py", "a.py"))
    assert logo.binary and logo.status == "renamed" and logo.previous_path == "img/logo.png"
    assert not run.binary and (run.additions, run.deletions) == (0, 0)
    assert not empty.binary and empty.status == "added"
    added, deleted, _ = gitrepo.git("diff", "--numstat", base, "HEAD", "--", "a.py").split("\t")
    assert (code.additions, code.deletions) == (int(added), int(deleted)) == (7, 9)


def test_binary_only_and_empty_prs_are_counted_skips(store, gitrepo):
    gitrepo.commit({"a.txt": "1\n"}, "init")
    gitrepo.squash_pr(2, "gina", "Update icon", "", {"icon.bin": b"\x00\x01\x02"})
    gitrepo.squash_pr(3, "gina", "Empty merge", "", {})
    report = crawl_git(store, gitrepo.path, "acme/app", tasks=FILTERS_OFF)
    assert report.skipped == {"binary_only_diff": 1, "empty_diff": 1}
    assert store.count_prs() == 0


def test_huge_diffs_are_truncated_at_file_boundaries_and_marked(store, gitrepo):
    gitrepo.commit({"a.txt": "1\n"}, "init")
    gitrepo.squash_pr(4, "hal", "Big change", "", {
        "a.txt": "".join(f"line {i}\n" for i in range(50)),
        "b.txt": "".join(f"row {i}\n" for i in range(5000)),
    })
    crawl_git(store, gitrepo.path, "acme/app", max_diff_bytes=2000, tasks=FILTERS_OFF)
    pr = store.get_pr("acme/app#4")
    assert pr.diff_truncated is True
    assert len(pr.diff.encode()) <= 2000
    assert "+line 49" in pr.diff and "b.txt" not in pr.diff
    assert {f.path for f in pr.files} == {"a.txt", "b.txt"}  # the file list stays whole


def test_not_a_repository_and_bad_repo_names_are_one_line_errors(store, tmp_path):
    with pytest.raises(SourceError, match="not a git repository"):
        crawl_git(store, tmp_path, "acme/app", tasks=FILTERS_OFF)
    with pytest.raises(SourceError, match="no such folder"):
        crawl_git(store, tmp_path / "missing", "acme/app", tasks=FILTERS_OFF)
    with pytest.raises(ConfigError, match="OWNER/NAME"):
        crawl_git(store, tmp_path, "https://github.com/acme/app", tasks=FILTERS_OFF)


def test_cli_crawl_git_reports_and_errors(run_cli, history, tmp_path):
    result = run_cli("crawl", "git", str(history.path), "--repo", "acme/app", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new"] == 3

    result = run_cli("crawl", "git", str(tmp_path), "--repo", "acme/app")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: git source {tmp_path}: not a git repository; pass the folder of a clone"]

    result = run_cli("crawl", "git", str(history.path), "--repo", "not-a-repo")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "OWNER/NAME" in result.output

    result = run_cli("crawl", "git", str(history.path), "--repo", "acme/app", "--since", "soon")
    assert result.exit_code == 2 and "--since 'soon' is not a date" in result.output


def test_kill_9_mid_crawl_loses_nothing_committed(tmp_path):
    """A crawl killed at random leaves a sound store; the re-run completes it exactly."""
    import os
    import signal
    import sqlite3
    import sys
    import time

    from tests.support.gitrepos import synthetic_history

    clone = synthetic_history(tmp_path / "big", 2500)
    store = tmp_path / "kill.db"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    config = tmp_path / "mechanics.toml"
    config.write_text(FILTERS_OFF_TOML)
    cmd = [sys.executable, "-m", "prsynth", "--store", str(store), "--config", str(config),
           "crawl", "git", str(clone), "--repo", "acme/big", "--include-bots"]
    process = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    stored = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        stored = stored_pr_count(store)
        if stored >= 100:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait()
    assert stored >= 100

    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        survived = db.execute("SELECT count(*) FROM prs").fetchone()[0]
    assert survived >= stored

    subprocess.run(cmd, env=env, check=True, capture_output=True)
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*), count(DISTINCT id) FROM prs").fetchone() == (
            2500, 2500)
