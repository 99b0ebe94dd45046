"""Task filters: on a real history built in the test, only coding tasks reach synthesis,
every other PR is counted by reason, and a store crawled before gets the same verdicts."""

from __future__ import annotations

import json

import pytest

from prsynth.config import FiltersConfig
from prsynth.crawl.run import crawl_git
from prsynth.llm.offline import OfflineBaseline
from prsynth.stages.synth import SynthOptions, synthesize
from tests.support.gitrepos import GitRepoBuilder

LOADER = "".join(f"def load_{i}(name):\n    return open(name).read()\n\n\n" for i in range(8))
ALL_OFF = FiltersConfig.off()


def fix(n: int) -> dict[str, str]:
    """A real fix: a code change with a test, a dozen lines."""
    return {"src/app/loader.py": LOADER.replace(f"def load_{n}(name):\n    return open(name)",
                                                f"def load_{n}(name):\n    if not name:\n"
                                                f"        raise ValueError('empty name')\n"
                                                f"    return open(name)"),
            f"tests/test_loader_{n}.py": f"from app.loader import load_{n}\n\n\n"
                                         f"def test_load_{n}_rejects_an_empty_name():\n"
                                         f"    import pytest\n\n"
                                         f"    with pytest.raises(ValueError):\n"
                                         f"        load_{n}('')\n"}


@pytest.fixture
def mixed_history(gitrepo: GitRepoBuilder) -> GitRepoBuilder:
    """Shapes pallets/jinja and tiangolo/typer really have: every kind of non-task PR,
    bots that only their branch or head commit gives away, and two real fixes."""
    repo = gitrepo
    repo.commit({"src/app/loader.py": LOADER, "src/app/__init__.py": '__version__ = "3.1.5"\n',
                 "CHANGES.rst": "Version 3.1.5\n-------------\n", "docs/index.rst": "Docs\n",
                 "requirements/dev.txt": "tox==3.20.0\n",
                 ".github/workflows/tests.yaml": "uses: actions/checkout@v3\n"}, "init")
    repo.squash_pr(10, "davidism", "release version 3.1.6", "",
                   {"src/app/__init__.py": '__version__ = "3.1.6"\n',
                    "CHANGES.rst": "Version 3.1.6\n-------------\n\nReleased 2025-03-05\n"})
    # A merge-button merge whose author is the branch owner; the branch is dependabot's.
    repo.merge_pr(11, "pallets", "dependabot/pip/tox-3.20.1", "Bump tox from 3.20.0 to 3.20.1",
                  "Signed-off-by: dependabot[bot] <support@github.com>",
                  {"requirements/dev.txt": "tox==3.20.1\n"})
    repo.merge_pr(12, "pallets", "pre-commit-ci-update-config", "[pre-commit.ci] autoupdate",
                  "", {".github/workflows/tests.yaml": "uses: actions/checkout@v4\n"})
    repo.squash_pr(13, "davidism", "Bump the github-actions group with 2 updates", "",
                   {".github/workflows/tests.yaml": "uses: actions/checkout@v4.1\n"})
    repo.squash_pr(14, "ann", "document the loader", "",
                   {"docs/index.rst": "Docs\n\n" + "Loading templates is easy.\n" * 12})
    repo.squash_pr(15, "ann", "Merge branch '3.1.x' into main", "", fix(1))
    repo.squash_pr(16, "ann", 'Revert "Add load_1 check"', "", fix(2))
    repo.squash_pr(17, "ann", "✏️ Fix typos in loader docstrings", "", fix(3))
    repo.squash_pr(18, "ann", "Fix load_4 on empty names", "",
                   {"src/app/loader.py": LOADER.replace("def load_4(name):",
                                                        "def load_4(name):  # noqa")})
    repo.squash_pr(19, "ann", "Fix load_5 crashing on an empty name", "Fixes #7.", fix(5))
    repo.squash_pr(20, "bob", "Reject empty names in load_6", "", fix(6))
    return repo


NON_TASKS = {"release": 1, "bot_author": 2, "dependency_bump": 1, "docs_only": 1,
             "branch_sync": 1, "revert": 1, "typo_or_format": 1, "too_few_changed_lines": 1}


def test_crawl_keeps_only_coding_tasks_and_counts_every_drop_by_reason(store, mixed_history):
    report = crawl_git(store, mixed_history.path, "pallets/jinja")
    assert dict(report.skipped) == NON_TASKS
    assert store.pr_ids() == {"pallets/jinja#19", "pallets/jinja#20"}
    assert report.new == 2


def test_stats_and_the_report_funnel_show_the_drops(run_cli, mixed_history, store_path):
    assert run_cli("crawl", "git", str(mixed_history.path), "--repo", "acme/app").exit_code == 0
    stats = json.loads(run_cli("stats", "--json").stdout)
    assert stats["dropped"]["crawl"] == NON_TASKS
    assert stats["repos"]["acme/app"]["prs"] == 2


def test_each_filter_switches_off_and_docs_tasks_can_be_asked_for(run_cli, mixed_history,
                                                                     tmp_path):
    (tmp_path / "prsynth.toml").write_text(
        "[filters]\nrelease = false\nallow_docs = true\nmin_changed_lines = 0\n")
    assert run_cli("crawl", "git", str(mixed_history.path), "--repo", "acme/app",
                   "--json").exit_code == 0
    stats = json.loads(run_cli("stats", "--json").stdout)
    kept = {"release": 1, "docs_only": 1, "too_few_changed_lines": 1}
    assert stats["dropped"]["crawl"] == {k: v for k, v in NON_TASKS.items() if k not in kept}
    assert stats["repos"]["acme/app"]["prs"] == 2 + sum(kept.values())


def test_a_store_crawled_before_gets_the_drops_on_the_next_crawl(store, mixed_history):
    first = crawl_git(store, mixed_history.path, "acme/app", tasks=ALL_OFF)
    assert first.new == 9 and dict(first.skipped) == {"bot_author": 2}
    synthesize(store, OfflineBaseline(), SynthOptions())
    assert store.count_queries() == 9

    again = crawl_git(store, mixed_history.path, "acme/app")
    assert again.new == 0
    assert dict(again.rechecked) == {k: v for k, v in NON_TASKS.items() if k != "bot_author"}
    assert store.count_prs() == 9  # kept, not deleted: a looser config brings them back
    assert store.task_dropped_pr_ids() == {f"acme/app#{n}" for n in (10, 13, 14, 15, 16, 17, 18)}
    # synth skips them from now on; a third crawl finds nothing new to drop
    report = synthesize(store, OfflineBaseline(), SynthOptions(redo=True))
    assert report.skipped["not_a_task"] == 7 and report.synthesized == 2
    assert dict(crawl_git(store, mixed_history.path, "acme/app").rechecked) == {}

    loose = crawl_git(store, mixed_history.path, "acme/app", tasks=ALL_OFF)
    assert dict(loose.rechecked) == {} and store.task_dropped_pr_ids() == set()


def test_bots_are_known_by_branch_sign_off_and_head_commit_author(store, gitrepo):
    gitrepo.commit({"src/a.py": "x = 1\n"}, "init")
    body = {"src/a.py": "".join(f"x{i} = {i}\n" for i in range(12))}
    gitrepo.merge_pr(1, "pallets", "renovate/major-deps", "Update all of x", "", body)
    gitrepo.git("checkout", "-q", "-b", "topic")
    gitrepo.commit({"src/b.py": "".join(f"y{i} = {i}\n" for i in range(12))},
                   "refresh", author="pre-commit-ci[bot]")
    gitrepo.git("checkout", "-q", "main")
    gitrepo.git("merge", "-q", "--no-ff", "topic", "-m",
                "Merge pull request #2 from pallets/topic\n\nRefresh the y values")
    gitrepo.squash_pr(3, "ann", "Refresh z values", "Signed-off-by: dependabot[bot] <x@y.io>",
                      {"src/c.py": "".join(f"z{i} = {i}\n" for i in range(12))})
    report = crawl_git(store, gitrepo.path, "acme/app", tasks=ALL_OFF)
    assert dict(report.skipped) == {"bot_author": 3}
